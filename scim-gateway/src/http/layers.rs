//! The tower layers around every SCIM route: request ids, refusal of oversized headers, SCIM
//! bodies for every error a layer or the router answers, the request timeout, and the
//! credential the service's calls carry.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use http::{HeaderValue, StatusCode, header};
use identity_proto::metadata;

use crate::client::Credentials;
use crate::extract::{BodyLimit, RequestId};
use crate::scim::error::ScimError;
use crate::scim::render::SCIM_JSON;

/// Keeps the client's `x-request-id` when it is a sane token (the contract's rule), else issues
/// one; the answer carries it.
pub(crate) async fn request_id(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(metadata::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| metadata::is_valid_request_id(id))
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), str::to_owned);
    request.extensions_mut().insert(RequestId(id.clone()));
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(metadata::REQUEST_ID, value);
    }
    response
}

/// The span of one request, with its id.
pub(crate) fn span(request: &Request) -> tracing::Span {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map_or("", |id| id.0.as_str());
    tracing::info_span!(
        "scim",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

/// The most header bytes a request may carry: SCIM requests need a few hundred. (Hyper refuses
/// far larger header blocks itself, without a SCIM body.)
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The longest `Authorization` forwarded: our keys are under 80 characters.
const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// Refuses header blocks no SCIM client sends, before any work is done for them: an oversized
/// credential is an invalid one (401), other oversized headers a 431.
pub(crate) async fn check_headers(request: Request, next: Next) -> Response {
    let headers = request.headers();
    if headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.len() > MAX_AUTHORIZATION_BYTES)
    {
        return ScimError::new(StatusCode::UNAUTHORIZED, None, "invalid API key").into_response();
    }
    let total: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if total > MAX_HEADER_BYTES {
        return ScimError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            None,
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        )
        .into_response();
    }
    next.run(request).await
}

/// Gives every error answered without a SCIM body (the router's 404 and 405, the body limit's
/// 413, an extractor's 400) one, keeping its status.
pub(crate) async fn scim_errors(request: Request, next: Next) -> Response {
    let limit = request.extensions().get::<BodyLimit>().copied();
    let response = next.run(request).await;
    let status = response.status();
    let is_scim = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == SCIM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_scim {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => BodyLimit::exceeded(limit),
        StatusCode::METHOD_NOT_ALLOWED => ScimError::method_not_allowed(),
        StatusCode::NOT_FOUND => ScimError::not_found("no such resource"),
        StatusCode::BAD_REQUEST => ScimError::invalid_syntax("the request cannot be read"),
        other => ScimError::new(
            other,
            None,
            other.canonical_reason().unwrap_or("the request failed"),
        ),
    };
    let mut rewritten = error.into_response();
    for (name, value) in response.headers() {
        if name == header::ALLOW || name == header::RETRY_AFTER {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// The answer to a request that outlived the request timeout.
pub(crate) async fn timed_out(_: tower::BoxError) -> Response {
    ScimError::unavailable("the request timed out").into_response()
}

/// Puts the caller's credential (passed on as it came: the service decides) and the request id
/// where handlers take the service's call context from.
pub(crate) async fn credentials(mut request: Request, next: Next) -> Response {
    let id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    let credentials = Credentials::new(request.headers().get(header::AUTHORIZATION), &id);
    request.extensions_mut().insert(credentials);
    next.run(request).await
}

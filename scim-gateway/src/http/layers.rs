//! The tower layers around every SCIM route, none of which boxes a future: request ids,
//! refusal of oversized headers, SCIM bodies for every error a layer or the router answers,
//! the request timeout, and the credential the service's calls carry.

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, StatusCode, header};
use identity_proto::metadata;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::client::Credentials;
use crate::scim::error::ScimError;
use crate::scim::render::SCIM_JSON;

/// `x-request-id`, parsed once (a `&str` name is parsed again at every lookup).
pub(crate) static REQUEST_ID: HeaderName = HeaderName::from_static(metadata::REQUEST_ID);

/// Drops a client's `x-request-id` that is not a sane token (the contract's rule), so that one
/// is issued in its place.
pub(crate) fn drop_unusable_request_id(mut request: Request) -> Request {
    let usable = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .is_some_and(metadata::is_valid_request_id);
    if !usable {
        request.headers_mut().remove(&REQUEST_ID);
    }
    request
}

/// Issues request ids: UUIDv7, ordered by time like the service's ids.
#[derive(Debug, Clone, Copy)]
pub(crate) struct IssueRequestId;

impl MakeRequestId for IssueRequestId {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&uuid::Uuid::now_v7().to_string())
            .ok()
            .map(RequestId::new)
    }
}

/// The request id of a request the request-id layer has seen.
fn request_id<B>(request: &http::Request<B>) -> &str {
    request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

/// The span of one request, with its id.
pub(crate) fn span(request: &Request) -> tracing::Span {
    tracing::info_span!(
        "scim",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %request_id(request),
    )
}

/// The access log: one line per request, with its status and time.
pub(crate) fn log_response(response: &Response, latency: Duration, _: &tracing::Span) {
    tracing::info!(
        status = response.status().as_u16(),
        elapsed_ms = latency.as_secs_f64() * 1000.0,
        "request"
    );
}

/// Counts every SCIM request by method, route template (bounded: the declared routes, or
/// `unmatched`) and status, with its latency, and the requests in flight.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let started = Instant::now();
    let in_flight = metrics::gauge!("scim_requests_in_flight");
    in_flight.increment(1);
    let response = next.run(request).await;
    in_flight.decrement(1);
    let status = status_label(response.status());
    metrics::histogram!("scim_request_duration_seconds", "method" => method, "route" => route.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("scim_requests_total", "method" => method, "route" => route, "status" => status)
        .increment(1);
    response
}

fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::PATCH => "PATCH",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        _ => "other",
    }
}

/// The status as a label without an allocation (the statuses this gateway answers).
fn status_label(status: StatusCode) -> &'static str {
    const LABELS: [(u16, &str); 18] = [
        (200, "200"),
        (201, "201"),
        (204, "204"),
        (400, "400"),
        (401, "401"),
        (403, "403"),
        (404, "404"),
        (405, "405"),
        (409, "409"),
        (412, "412"),
        (413, "413"),
        (429, "429"),
        (431, "431"),
        (500, "500"),
        (501, "501"),
        (502, "502"),
        (503, "503"),
        (504, "504"),
    ];
    LABELS
        .iter()
        .find(|(code, _)| *code == status.as_u16())
        .map_or("other", |(_, label)| label)
}

/// The most header bytes a request may carry: SCIM requests need a few hundred. (Hyper refuses
/// far larger header blocks itself, without a SCIM body.)
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The longest `Authorization` forwarded: our keys are under 80 characters.
const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// Refuses header blocks no SCIM client sends, before any work is done for them: an oversized
/// credential is an invalid one (401), other oversized headers a 431.
pub(crate) fn check_headers(request: Request) -> Result<Request, ScimError> {
    let headers = request.headers();
    if headers
        .get(header::AUTHORIZATION)
        .is_some_and(|value| value.len() > MAX_AUTHORIZATION_BYTES)
    {
        return Err(ScimError::new(
            StatusCode::UNAUTHORIZED,
            None,
            "invalid API key",
        ));
    }
    let total: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if total > MAX_HEADER_BYTES {
        return Err(ScimError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            None,
            format!("the request headers are larger than {MAX_HEADER_BYTES} bytes"),
        ));
    }
    Ok(request)
}

/// Gives every error answered without a SCIM body (the router's 404 and 405, the body limit's
/// 413, an extractor's 400) one, keeping its status.
pub(crate) fn scim_errors(response: Response, body_limit: usize) -> Response {
    let status = response.status();
    let is_scim = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes() == SCIM_JSON.as_bytes());
    if !(status.is_client_error() || status.is_server_error()) || is_scim {
        return response;
    }
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => ScimError::new(
            status,
            None,
            format!("the body is larger than {body_limit} bytes"),
        ),
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
        if name == header::ALLOW || name == header::RETRY_AFTER || name == REQUEST_ID {
            rewritten.headers_mut().insert(name, value.clone());
        }
    }
    rewritten
}

/// The answer to a request a layer refused: its SCIM error, or (the timeout's) a 503.
pub(crate) async fn refused(error: tower::BoxError) -> Response {
    match error.downcast::<ScimError>() {
        Ok(error) => error.into_response(),
        Err(_) => ScimError::unavailable("the request timed out").into_response(),
    }
}

/// Puts the caller's credential (passed on as it came: the service decides) and the request id
/// where handlers take the service's call context from.
pub(crate) fn credentials(mut request: Request) -> Request {
    let credentials = Credentials::new(
        request.headers().get(header::AUTHORIZATION),
        request_id(&request),
    );
    request.extensions_mut().insert(credentials);
    request
}

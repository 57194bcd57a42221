//! Responses: always `application/scim+json`.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::Value;

pub const SCIM_JSON: &str = "application/scim+json";

pub fn scim_json(status: StatusCode, body: &Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// A single resource, with its `ETag` (and `Location` when it was just created).
pub fn resource(
    status: StatusCode,
    body: &Value,
    etag: Option<&str>,
    location: Option<&str>,
) -> Response {
    let mut response = scim_json(status, body);
    let headers = response.headers_mut();
    if let Some(value) = etag.and_then(|etag| HeaderValue::from_str(etag).ok()) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = location.and_then(|location| HeaderValue::from_str(location).ok()) {
        headers.insert(header::LOCATION, value);
    }
    response
}

pub fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

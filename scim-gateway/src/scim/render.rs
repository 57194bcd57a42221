//! Rendering: every answer is `application/scim+json`; resources carry `meta` (with the ETag
//! their version gives) and lists the ListResponse envelope.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde_json::{Value, json};

use super::schema;

pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// A document's JSON, written straight into bytes (`Value`'s `Display` goes through the
/// formatting machinery, a call per token).
pub(crate) fn json_bytes(document: &Value) -> Vec<u8> {
    serde_json::to_vec(document).unwrap_or_else(|error| {
        // Unreachable: a `Value` has string keys and a `Vec` takes every write.
        tracing::error!(%error, "a JSON document could not be written");
        Vec::new()
    })
}

pub(crate) fn scim_json(status: StatusCode, body: &Value) -> Response {
    scim_body(status, Body::from(json_bytes(body)))
}

/// An `application/scim+json` answer whose body is serialized already, or streamed.
fn scim_body(status: StatusCode, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// A single resource at `version`, with its `ETag` (and `Location` when it was just created).
pub(crate) fn resource(
    status: StatusCode,
    body: &Value,
    version: i64,
    location: Option<String>,
) -> Response {
    resource_body(status, Body::from(json_bytes(body)), version, location)
}

/// [`resource`] with its JSON already serialized, or streamed.
pub(crate) fn resource_body(
    status: StatusCode,
    body: Body,
    version: i64,
    location: Option<String>,
) -> Response {
    let mut response = scim_body(status, body);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&etag(version)) {
        headers.insert(header::ETAG, value);
    }
    if let Some(value) = location.and_then(|location| HeaderValue::from_str(&location).ok()) {
        headers.insert(header::LOCATION, value);
    }
    response
}

pub(crate) fn no_content() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    response
}

/// A 200 with a ListResponse.
pub(crate) fn list(total: i64, start_index: i64, resources: Vec<Value>) -> Response {
    scim_json(
        StatusCode::OK,
        &list_response(total, start_index, resources),
    )
}

/// A 200 with a ListResponse already serialized, or streamed.
pub(crate) fn list_body(body: Body) -> Response {
    scim_body(StatusCode::OK, body)
}

pub(crate) fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    // Built field by field: `json!` would serialize the resources into a copy of themselves.
    let mut list = serde_json::Map::new();
    list.insert("schemas".into(), json!([schema::LIST_RESPONSE]));
    list.insert("totalResults".into(), total.into());
    list.insert("startIndex".into(), start_index.into());
    list.insert("itemsPerPage".into(), resources.len().into());
    list.insert("Resources".into(), Value::Array(resources));
    Value::Object(list)
}

/// A weak ETag from a resource's version (`W/"3"`).
pub(crate) fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

fn format_time(time: Option<&prost_types::Timestamp>) -> Value {
    time.map(|time| Value::String(time.to_string()))
        .unwrap_or(Value::Null)
}

/// `<base URL>/Users/<id>`: a resource's `meta.location`, `Location` and `$ref`.
pub(crate) fn location(base_url: &str, resource_type: &schema::ResourceType, id: &str) -> String {
    format!("{base_url}{}/{id}", resource_type.endpoint)
}

/// What a resource's `meta` is made of.
pub(crate) struct Meta<'a> {
    pub resource_type: &'a schema::ResourceType,
    pub id: &'a str,
    pub created: Option<&'a prost_types::Timestamp>,
    pub last_modified: Option<&'a prost_types::Timestamp>,
    pub version: i64,
}

impl Meta<'_> {
    pub(crate) fn render(&self, base_url: &str) -> Value {
        json!({
            "resourceType": self.resource_type.name,
            "created": format_time(self.created),
            "lastModified": format_time(self.last_modified),
            "location": location(base_url, self.resource_type, self.id),
            "version": etag(self.version),
        })
    }
}

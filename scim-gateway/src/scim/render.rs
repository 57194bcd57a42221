//! Rendering: every answer is `application/scim+json`; resources carry `meta` (with the ETag
//! their version gives) and lists the ListResponse envelope.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde::ser::{Serialize, SerializeMap as _, Serializer};
use serde_json::{Value, json};
use startup::time::Rfc3339;

use super::schema;

pub(crate) const SCIM_JSON: &str = "application/scim+json";

/// A document's JSON, written straight into bytes (`Value`'s `Display` goes through the
/// formatting machinery, a call per token).
pub(crate) fn json_bytes(document: &impl Serialize) -> Vec<u8> {
    // Room for a user or a small group at once, rather than growing there from 128 bytes.
    let mut bytes = Vec::with_capacity(1024);
    match serde_json::to_writer(&mut bytes, document) {
        Ok(()) => bytes,
        Err(error) => {
            // Unreachable: documents have string keys and a `Vec` takes every write.
            tracing::error!(%error, "a JSON document could not be written");
            Vec::new()
        }
    }
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
    body: &impl Serialize,
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

/// A 200 with a ListResponse of `resources`, serialized straight into the body.
pub(crate) fn list<T: Serialize>(total: i64, start_index: i64, resources: &[T]) -> Response {
    struct ListResponse<'a, T> {
        total: i64,
        start_index: i64,
        resources: &'a [T],
    }
    impl<T: Serialize> Serialize for ListResponse<'_, T> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let mut list = serializer.serialize_map(Some(5))?;
            list.serialize_entry("schemas", &[schema::LIST_RESPONSE])?;
            list.serialize_entry("totalResults", &self.total)?;
            list.serialize_entry("startIndex", &self.start_index)?;
            list.serialize_entry("itemsPerPage", &self.resources.len())?;
            list.serialize_entry("Resources", self.resources)?;
            list.end()
        }
    }
    let body = json_bytes(&ListResponse {
        total,
        start_index,
        resources,
    });
    scim_body(StatusCode::OK, Body::from(body))
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
    ETag(version).to_string()
}

struct ETag(i64);

impl std::fmt::Display for ETag {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "W/\"{}\"", self.0)
    }
}

/// `<base URL>/Users/<id>`: a resource's `meta.location`, `Location` and `$ref`.
pub(crate) fn location(base_url: &str, resource_type: &schema::ResourceType, id: &str) -> String {
    Location {
        base_url,
        resource_type,
        id,
    }
    .to_string()
}

struct Location<'a> {
    base_url: &'a str,
    resource_type: &'a schema::ResourceType,
    id: &'a str,
}

impl std::fmt::Display for Location<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}{}/{}",
            self.base_url, self.resource_type.endpoint, self.id
        )
    }
}

/// What a resource's `meta` is made of.
pub(crate) struct Meta<'a> {
    pub resource_type: &'a schema::ResourceType,
    pub id: &'a str,
    pub created: Option<&'a prost_types::Timestamp>,
    pub last_modified: Option<&'a prost_types::Timestamp>,
    pub version: i64,
    /// Where the resources are served (`meta.location`'s prefix).
    pub base_url: &'a str,
}

impl Meta<'_> {
    pub(crate) fn render(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl Serialize for Meta<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// An RFC 3339 time, written without an intermediate string.
        struct Time<'a>(Option<&'a prost_types::Timestamp>);
        impl Serialize for Time<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let Some(time) = self.0 else {
                    return serializer.serialize_none();
                };
                match Rfc3339::new(time.seconds, time.nanos) {
                    Some(text) => serializer.serialize_str(text.as_str()),
                    // Outside the years 1970 to 9999: the same text, the slow way.
                    None => serializer.collect_str(time),
                }
            }
        }
        /// Written as it is formatted, without an intermediate string.
        struct Displayed<T>(T);
        impl<T: std::fmt::Display> Serialize for Displayed<T> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }
        let location = Location {
            base_url: self.base_url,
            resource_type: self.resource_type,
            id: self.id,
        };
        let mut meta = serializer.serialize_map(Some(5))?;
        meta.serialize_entry("resourceType", self.resource_type.name)?;
        meta.serialize_entry("created", &Time(self.created))?;
        meta.serialize_entry("lastModified", &Time(self.last_modified))?;
        meta.serialize_entry("location", &Displayed(location))?;
        meta.serialize_entry("version", &Displayed(ETag(self.version)))?;
        meta.end()
    }
}

//! Routing under the base path, parameters shared by the endpoints, and the gRPC call context
//! (the caller's credential and the request id travel as metadata; the service decides).

mod discovery;
mod groups;
mod users;

use axum::body::Bytes;
use axum::response::Response;
use http::{HeaderMap, Method, header};
use identity_proto::v1 as pb;
use serde_json::Value;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};

use crate::error::{ScimError, ScimResult};
use crate::resource::attribute_list;
use crate::server::Gateway;

/// Default and largest page (`count`); Okta pages with 100, so never below that.
pub const DEFAULT_COUNT: i64 = 100;
pub const MAX_COUNT: i64 = 1000;

/// Bodies up to this size are parsed and patched on the async worker; larger ones on the
/// blocking pool, so that no request holds up the others (below it the hand-off costs more than
/// the work).
const INLINE_BODY_BYTES: usize = 16 * 1024;

/// A JSON body; every malformed body is a 400 `invalidSyntax`.
pub fn json_body(body: &[u8]) -> ScimResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("a JSON body is required"));
    }
    serde_json::from_slice(body)
        .map_err(|error| ScimError::invalid_syntax(format!("the body is not valid JSON: {error}")))
}

/// Runs CPU work on the blocking pool when `large`, else here.
pub async fn off_worker<T: Send + 'static>(
    large: bool,
    work: impl FnOnce() -> ScimResult<T> + Send + 'static,
) -> ScimResult<T> {
    if !large {
        return work();
    }
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| ScimError::unavailable("the request's work was interrupted; retry"))?
}

/// One SCIM request, as the handlers see it.
pub struct Input {
    pub method: Method,
    pub segments: Vec<String>,
    pub query: Vec<(String, String)>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Input {
    /// A query parameter by name (case-insensitive; the last one wins).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn attributes(&self) -> (Vec<String>, Vec<String>) {
        (
            attribute_list(self.param("attributes")),
            attribute_list(self.param("excludedAttributes")),
        )
    }

    /// The JSON body; every malformed body is a 400 `invalidSyntax`.
    pub fn json(&self) -> ScimResult<Value> {
        json_body(&self.body)
    }

    /// Whether the body is large enough that the CPU work on it runs off the async workers.
    pub fn is_large(&self) -> bool {
        self.body.len() > INLINE_BODY_BYTES
    }

    pub fn json_object(&self) -> ScimResult<serde_json::Map<String, Value>> {
        match self.json()? {
            Value::Object(object) => Ok(object),
            _ => Err(ScimError::invalid_syntax("the body must be a JSON object")),
        }
    }

    /// The version an `If-Match` header demands: `None` without one (or with `*`).
    pub fn if_match(&self) -> ScimResult<Option<i64>> {
        let Some(value) = self.headers.get(header::IF_MATCH) else {
            return Ok(None);
        };
        let text = value.to_str().unwrap_or_default().trim();
        if text == "*" {
            return Ok(None);
        }
        let version = text
            .strip_prefix("W/")
            .unwrap_or(text)
            .trim_matches('"')
            .parse::<i64>()
            .ok()
            .filter(|version| *version > 0);
        match version {
            Some(version) => Ok(Some(version)),
            None => Err(ScimError::new(
                http::StatusCode::PRECONDITION_FAILED,
                None,
                format!("If-Match {text:?} does not match the resource's version"),
            )),
        }
    }
}

/// Credential and request id for the identity service.
#[derive(Clone)]
pub struct Call {
    authorization: Option<AsciiMetadataValue>,
    request_id: Option<AsciiMetadataValue>,
}

impl Call {
    pub fn new(headers: &HeaderMap, request_id: &str) -> Call {
        Call {
            authorization: headers
                .get(header::AUTHORIZATION)
                .and_then(|value| MetadataValue::try_from(value.as_bytes()).ok()),
            request_id: MetadataValue::try_from(request_id).ok(),
        }
    }

    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let metadata = request.metadata_mut();
        if let Some(authorization) = &self.authorization {
            metadata.insert("authorization", authorization.clone());
        }
        if let Some(request_id) = &self.request_id {
            metadata.insert("x-request-id", request_id.clone());
        }
        request
    }
}

/// `startIndex`, `count`, `filter` and the projection of a list or `.search`.
pub struct ListParams {
    pub filter: Option<String>,
    /// 1-based.
    pub start_index: i64,
    pub count: i64,
    pub attributes: Vec<String>,
    pub excluded: Vec<String>,
}

fn integer(name: &str, value: Option<&Value>) -> ScimResult<Option<i64>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number
            .as_i64()
            .or_else(|| number.as_f64().map(|float| float as i64))
            .map(Some)
            .ok_or_else(|| ScimError::invalid_value(format!("{name} must be an integer"))),
        Some(Value::String(text)) => text.trim().parse::<i64>().map(Some).map_err(|_| {
            ScimError::invalid_value(format!("{name} must be an integer, not {text:?}"))
        }),
        Some(_) => Err(ScimError::invalid_value(format!(
            "{name} must be an integer"
        ))),
    }
}

fn list_of(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(names)) => attribute_list(Some(names)),
        _ => Vec::new(),
    }
}

impl ListParams {
    fn new(
        filter: Option<String>,
        start_index: Option<i64>,
        count: Option<i64>,
        attributes: Vec<String>,
        excluded: Vec<String>,
    ) -> ListParams {
        ListParams {
            filter: filter.filter(|filter| !filter.trim().is_empty()),
            start_index: start_index.unwrap_or(1).max(1),
            count: count.unwrap_or(DEFAULT_COUNT).clamp(0, MAX_COUNT),
            attributes,
            excluded,
        }
    }

    pub fn from_query(input: &Input) -> ScimResult<ListParams> {
        let number = |name: &str| {
            integer(
                name,
                input
                    .param(name)
                    .map(|v| Value::String(v.to_owned()))
                    .as_ref(),
            )
        };
        let (attributes, excluded) = input.attributes();
        Ok(ListParams::new(
            input.param("filter").map(str::to_owned),
            number("startIndex")?,
            number("count")?,
            attributes,
            excluded,
        ))
    }

    /// `POST …/.search` with a SearchRequest body (names case-insensitive).
    pub fn from_search(input: &Input) -> ScimResult<ListParams> {
        let body = input.json_object()?;
        let field = |name: &str| {
            body.iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        };
        let filter = match field("filter") {
            None | Some(Value::Null) => None,
            Some(Value::String(filter)) => Some(filter.clone()),
            Some(_) => return Err(ScimError::invalid_filter("filter must be a string")),
        };
        Ok(ListParams::new(
            filter,
            integer("startIndex", field("startIndex"))?,
            integer("count", field("count"))?,
            list_of(field("attributes")),
            list_of(field("excludedAttributes")),
        ))
    }
}

/// What a request to `/Users…` or `/Groups…` asks for.
pub enum Endpoint<'i> {
    List(ListParams),
    Create,
    Get(&'i str),
    Replace(&'i str),
    Modify(&'i str),
    Delete(&'i str),
}

/// Routes a resource collection's request: list (GET or `POST .search`), create, and get /
/// replace / modify / delete by id; other methods 405; deeper paths 404.
pub fn endpoint<'i>(input: &'i Input, kind: &str) -> ScimResult<Endpoint<'i>> {
    let is_search = |segment: &str| segment.eq_ignore_ascii_case(".search");
    Ok(match (&input.method, &input.segments[1..]) {
        (&Method::GET, []) => Endpoint::List(ListParams::from_query(input)?),
        (&Method::POST, []) => Endpoint::Create,
        (&Method::POST, [search]) if is_search(search) => {
            Endpoint::List(ListParams::from_search(input)?)
        }
        (_, []) => return Err(ScimError::method_not_allowed()),
        (_, [search]) if is_search(search) => return Err(ScimError::method_not_allowed()),
        (method, [id]) => {
            check_id(id, kind)?;
            match *method {
                Method::GET => Endpoint::Get(id),
                Method::PUT => Endpoint::Replace(id),
                Method::PATCH => Endpoint::Modify(id),
                Method::DELETE => Endpoint::Delete(id),
                _ => return Err(ScimError::method_not_allowed()),
            }
        }
        _ => return Err(ScimError::not_found(format!("no such {kind} resource"))),
    })
}

/// Page size when a resource reads a whole list from the service (members, a user's groups).
const PAGE_SIZE: i32 = 1000;

/// Every item of a paged list call, at most `limit` (more: 400 `tooMany`, so that memory stays
/// bounded): `fetch(page)` returns one page's items and its `next_page_token`.
pub async fn all_pages<T, F, Fut>(limit: usize, mut fetch: F) -> ScimResult<Vec<T>>
where
    F: FnMut(pb::PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<pb::PageResponse>), tonic::Status>>,
{
    let mut items = Vec::new();
    let mut page_token = String::new();
    loop {
        let (page, next) = fetch(pb::PageRequest {
            page_size: PAGE_SIZE,
            page_token,
            ..Default::default()
        })
        .await?;
        if items.len() + page.len() > limit {
            return Err(ScimError::too_many(format!(
                "more than {limit} to return in one response"
            )));
        }
        items.extend(page);
        page_token = next.map(|next| next.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            return Ok(items);
        }
    }
}

pub fn list_response(total: i64, start_index: i64, resources: Vec<Value>) -> Value {
    serde_json::json!({
        "schemas": [crate::schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// Resource ids are UUIDs issued by the service: anything else is a 404 without a call.
pub fn check_id(id: &str, kind: &str) -> ScimResult<()> {
    match uuid::Uuid::try_parse(id) {
        Ok(_) => Ok(()),
        Err(_) => Err(ScimError::not_found(format!("{kind} {id:?} not found"))),
    }
}

/// A PUT body may repeat the resource's id, never name another one.
pub fn reject_other_id(body: &serde_json::Map<String, Value>, id: &str) -> ScimResult<()> {
    let sent = body
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("id"))
        .and_then(|(_, value)| value.as_str());
    match sent {
        Some(sent) if sent != id => Err(ScimError::mutability(format!(
            "id {sent:?} in the body does not match the resource {id:?}"
        ))),
        _ => Ok(()),
    }
}

pub async fn dispatch(gateway: &Gateway, call: &Call, input: Input) -> ScimResult<Response> {
    let Some(resource) = input.segments.first() else {
        return Err(ScimError::not_found(
            "no resource at this path; try /Users or /Groups",
        ));
    };
    if input.segments.len() == 1 && resource.eq_ignore_ascii_case(".search") {
        return Err(ScimError::new(
            http::StatusCode::NOT_IMPLEMENTED,
            None,
            "searching several resource types at once is not supported; use /Users/.search or /Groups/.search",
        ));
    }
    match resource.to_ascii_lowercase().as_str() {
        "users" => users::route(gateway, call, &input).await,
        "groups" => groups::route(gateway, call, &input).await,
        "serviceproviderconfig" | "resourcetypes" | "schemas" => discovery::route(gateway, &input),
        _ => Err(ScimError::not_found(format!("no resource at /{resource}"))),
    }
}

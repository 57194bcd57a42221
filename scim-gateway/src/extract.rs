//! What handlers extract from a request: its query, headers and body ([`Input`]), a resource id
//! from the path ([`Id`]), the list parameters of a list or `.search`, and the identity-service
//! call context ([`Call`], from what the credentials layer put in place).

use axum::body::Bytes;
use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::response::{IntoResponse as _, Response};
use http::request::Parts;
use http::{HeaderMap, StatusCode, header};
use identity_proto::v1 as pb;
use serde_json::Value;

use crate::client::{Call, Credentials, Identity};
use crate::scim::document::{Object, attribute_list};
use crate::scim::error::{ScimError, ScimResult};

/// Default and largest page (`count`); Okta pages with 100, so never below that.
pub(crate) const DEFAULT_COUNT: i64 = 100;
pub(crate) const MAX_COUNT: i64 = 1000;

/// Bodies up to this size are parsed and patched on the async worker; larger ones on the
/// blocking pool, so that no request holds up the others (below it the hand-off costs more than
/// the work).
const INLINE_BODY_BYTES: usize = 16 * 1024;

/// A JSON body; every malformed body is a 400 `invalidSyntax`.
pub(crate) fn json_body(body: &[u8]) -> ScimResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ScimError::invalid_syntax("a JSON body is required"));
    }
    serde_json::from_slice(body)
        .map_err(|error| ScimError::invalid_syntax(format!("the body is not valid JSON: {error}")))
}

/// Runs CPU work on the blocking pool when `large`, else here.
pub(crate) async fn off_worker<T: Send + 'static>(
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

/// One SCIM request's query parameters, headers and body.
pub(crate) struct Input {
    query: Vec<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Input {
    /// A body over the limit is a bare 413, which the SCIM-errors layer words (it knows the
    /// limit); anything else a SCIM 400.
    type Rejection = Response;

    async fn from_request(request: Request, _: &S) -> Result<Self, Response> {
        use http_body_util::BodyExt as _;
        let (parts, body) = request.into_parts();
        let query = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
        let body = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(error) => {
                let error = error.into_inner();
                let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
                while let Some(inner) = cause {
                    if inner.is::<http_body_util::LengthLimitError>() {
                        return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
                    }
                    cause = inner.source();
                }
                return Err(
                    ScimError::invalid_syntax(format!("cannot read the body: {error}"))
                        .into_response(),
                );
            }
        };
        Ok(Input {
            query,
            headers: parts.headers,
            body,
        })
    }
}

impl Input {
    /// A query parameter by name (case-insensitive; the last one wins).
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// `attributes=` and `excludedAttributes=`.
    pub(crate) fn attributes(&self) -> (Vec<String>, Vec<String>) {
        (
            attribute_list(self.param("attributes")),
            attribute_list(self.param("excludedAttributes")),
        )
    }

    pub(crate) fn body(&self) -> &Bytes {
        &self.body
    }

    /// The JSON body; every malformed body is a 400 `invalidSyntax`.
    pub(crate) fn json(&self) -> ScimResult<Value> {
        json_body(&self.body)
    }

    /// Whether the body is large enough that the CPU work on it runs off the async workers.
    pub(crate) fn is_large(&self) -> bool {
        self.body.len() > INLINE_BODY_BYTES
    }

    pub(crate) fn json_object(&self) -> ScimResult<Object> {
        match self.json()? {
            Value::Object(object) => Ok(object),
            _ => Err(ScimError::invalid_syntax("the body must be a JSON object")),
        }
    }

    /// The version an `If-Match` header demands: `None` without one (or with `*`).
    pub(crate) fn if_match(&self) -> ScimResult<Option<i64>> {
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
                StatusCode::PRECONDITION_FAILED,
                None,
                format!("If-Match {text:?} does not match the resource's version"),
            )),
        }
    }
}

impl FromRequestParts<Arc<Identity>> for Call {
    type Rejection = ScimError;

    async fn from_request_parts(
        parts: &mut Parts,
        identity: &Arc<Identity>,
    ) -> Result<Self, ScimError> {
        let credentials = match parts.extensions.get::<Credentials>() {
            Some(credentials) => credentials.clone(),
            // Outside the credentials layer (never in the served app): the headers as they are.
            None => {
                let id = parts
                    .headers
                    .get(identity_proto::metadata::REQUEST_ID)
                    .and_then(|value| value.to_str().ok())
                    .unwrap_or_default();
                Credentials::new(parts.headers.get(header::AUTHORIZATION), id)
            }
        };
        Ok(Call::new(Arc::clone(identity), credentials))
    }
}

/// A resource id from the path: a UUID issued by the service, anything else a 404 without a
/// call.
pub(crate) struct Id(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ScimError> {
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ScimError::not_found("no such resource"))?;
        match uuid::Uuid::try_parse(&id) {
            Ok(_) => Ok(Id(id)),
            Err(_) => Err(ScimError::not_found(format!(
                "{id:?} is not an id this service issued"
            ))),
        }
    }
}

/// `startIndex`, `count`, `filter` and the projection of a list or `.search`.
pub(crate) struct ListParams {
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

    /// The page of the service's list that answers these parameters, counted.
    pub(crate) fn page(&self) -> pb::PageRequest {
        pb::PageRequest {
            page_size: i32::try_from(self.count.max(1)).unwrap_or(i32::MAX),
            offset: self.start_index - 1,
            include_total_size: true,
            ..Default::default()
        }
    }

    /// `totalResults` and the items to show: none for `count=0`, which asks for the total only.
    /// Without a page response, the items are all the matches there are.
    pub(crate) fn answer<T>(&self, page: Option<pb::PageResponse>, items: Vec<T>) -> (i64, Vec<T>) {
        let total = match page {
            Some(page) => page.total_size.unwrap_or(0),
            None => i64::try_from(items.len()).unwrap_or(i64::MAX),
        };
        (total, if self.count > 0 { items } else { Vec::new() })
    }

    /// `GET /Users?filter=…&startIndex=…&count=…`.
    pub(crate) fn from_query(input: &Input) -> ScimResult<ListParams> {
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
    pub(crate) fn from_search(input: &Input) -> ScimResult<ListParams> {
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

/// A PUT body may repeat the resource's id, never name another one.
pub(crate) fn reject_other_id(body: &Object, id: &str) -> ScimResult<()> {
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

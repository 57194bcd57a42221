//! The tower layers around every SCIM route, none of which boxes a future: request ids,
//! refusal of oversized headers, SCIM bodies for every error a layer or the router answers,
//! the request timeout, and the credential the service's calls carry.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{MatchedPath, Request};
use axum::response::{IntoResponse as _, Response};
use metrics::{Counter, Gauge, Histogram};
use startup::handles::{ByLabel, Lazy};
use std::time::{Duration, Instant};

use http::{HeaderName, HeaderValue, StatusCode, header};
use identity_proto::metadata;
use tower_http::request_id::{MakeRequestId, RequestId};

use crate::client::Credentials;
use crate::report::Reporter;
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

/// The span of a request logged by its route template: for routes whose path holds a secret
/// (a portal link's token), which the raw path would write into the access log.
pub(crate) fn route_span(request: &Request) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", axum::extract::MatchedPath::as_str);
    tracing::info_span!(
        "portal",
        method = %request.method(),
        route = %route,
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

/// The handles SCIM requests are counted with, made once (the `metrics` macros build and look
/// up a key at every use).
struct RequestMetrics {
    in_flight: Gauge,
    routes: ByLabel<RouteMetrics>,
}

/// One route template's handles, by method and status.
struct RouteMetrics {
    route: String,
    durations: Lazy<Histogram, { METHODS.len() }>,
    requests: Vec<Lazy<Counter, { STATUSES.len() }>>,
}

/// Distinct route labels at most: the declared routes and `unmatched`.
const MAX_ROUTES: usize = 64;

impl RequestMetrics {
    fn new() -> Self {
        RequestMetrics {
            in_flight: metrics::gauge!("scim_requests_in_flight"),
            routes: ByLabel::new(MAX_ROUTES),
        }
    }
}

/// A request counted in flight until it is answered (or dropped).
struct Counted {
    handles: Arc<RequestMetrics>,
    route: Arc<RouteMetrics>,
    method: usize,
    started: Instant,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.handles.in_flight.decrement(1);
    }
}

impl RequestMetrics {
    /// Counts `request` in flight, by method and route template (bounded: the declared routes,
    /// or `unmatched`).
    fn start(self: &Arc<Self>, request: &Request) -> Counted {
        let route = self.routes.get(
            request
                .extensions()
                .get::<MatchedPath>()
                .map_or("unmatched", MatchedPath::as_str),
            |route| RouteMetrics {
                route: route.to_owned(),
                durations: Lazy::default(),
                requests: (0..METHODS.len()).map(|_| Lazy::default()).collect(),
            },
        );
        self.in_flight.increment(1);
        Counted {
            handles: Arc::clone(self),
            route,
            method: method_index(request.method()),
            started: Instant::now(),
        }
    }
}

impl Counted {
    /// Counts the answer by status, with the request's latency.
    fn finish(self, response: &Response) {
        let (route, method) = (&self.route, self.method);
        let status = status_index(response.status());
        route
            .durations
            .get(method, || {
                metrics::histogram!(
                    "scim_request_duration_seconds",
                    "method" => METHODS[method],
                    "route" => route.route.clone()
                )
            })
            .record(self.started.elapsed().as_secs_f64());
        if let Some(requests) = route.requests.get(method) {
            requests
                .get(status, || {
                    metrics::counter!(
                        "scim_requests_total",
                        "method" => METHODS[method],
                        "route" => route.route.clone(),
                        "status" => STATUSES[status]
                    )
                })
                .increment(1);
        }
    }
}

/// Observes every answered request: counts it in the metrics and queues its outcome for the
/// provisioning log (either may be off). A tower layer rather than two `from_fn` middlewares,
/// which clone and box the rest of the stack for every request.
#[derive(Clone)]
pub(crate) struct ObserveLayer {
    metrics: Option<Arc<RequestMetrics>>,
    reporter: Option<Reporter>,
}

impl ObserveLayer {
    /// The layer, or none when there is nothing to observe.
    pub(crate) fn new(metrics: bool, reporter: Option<Reporter>) -> Option<Self> {
        (metrics || reporter.is_some()).then(|| ObserveLayer {
            metrics: metrics.then(|| Arc::new(RequestMetrics::new())),
            reporter,
        })
    }
}

impl<S> tower::Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            layer: self.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Observe<S> {
    inner: S,
    layer: ObserveLayer,
}

impl<S> tower::Service<Request> for Observe<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let counted = self
            .layer
            .metrics
            .as_ref()
            .map(|metrics| metrics.start(&request));
        let started = self.layer.reporter.as_ref().and_then(|reporter| {
            let started = reporter.start(&request)?;
            Some((reporter.clone(), started))
        });
        let answer = self.inner.call(request);
        Box::pin(async move {
            let Ok(response) = answer.await;
            if let Some(counted) = counted {
                counted.finish(&response);
            }
            if let Some((reporter, started)) = started {
                reporter.finish(started, &response);
            }
            Ok(response)
        })
    }
}

/// Method labels; the last one stands for every other method.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "other"];

fn method_index(method: &http::Method) -> usize {
    METHODS
        .iter()
        .position(|label| *label == method.as_str())
        .unwrap_or(METHODS.len() - 1)
}

/// Status labels (the statuses this gateway answers); the last one stands for any other.
const STATUSES: [&str; 19] = [
    "200", "201", "204", "400", "401", "403", "404", "405", "409", "412", "413", "429", "431",
    "500", "501", "502", "503", "504", "other",
];

fn status_index(status: StatusCode) -> usize {
    let code = status.as_str();
    STATUSES
        .iter()
        .position(|label| *label == code)
        .unwrap_or(STATUSES.len() - 1)
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

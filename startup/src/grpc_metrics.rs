//! gRPC calls counted by method and code, with their latency: a tower layer for either side of
//! a connection (the service's server, the gateway's client). The code is the response's
//! `grpc-status` header, present when a call fails before its body (tonic answers every error
//! that way); a response without one counts as OK.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use metrics::{Counter, Gauge, Histogram};
use tower::{Layer, Service};

use crate::handles::{ByLabel, Lazy};

/// Which side of the call this process is: the `side` label.
#[derive(Debug, Clone, Copy)]
pub enum Side {
    Server,
    Client,
}

impl Side {
    fn as_str(self) -> &'static str {
        match self {
            Side::Server => "server",
            Side::Client => "client",
        }
    }
}

/// The handles every call of one method records to.
struct MethodMetrics {
    method: String,
    calls: Lazy<Counter, { CODES.len() }>,
    duration: Histogram,
}

/// The handles of one side's calls, shared by every clone of the layer.
struct Handles {
    side: Side,
    in_flight: Gauge,
    methods: ByLabel<MethodMetrics>,
}

/// Distinct method labels at most (the services' RPCs; anything more is `other`).
const MAX_METHODS: usize = 64;

impl Handles {
    fn method(&self, path: &str) -> Arc<MethodMetrics> {
        let side = self.side.as_str();
        self.methods
            .get(method_label(path), |method| MethodMetrics {
                method: method.to_owned(),
                calls: Lazy::default(),
                duration: metrics::histogram!(
                    "grpc_call_duration_seconds",
                    "side" => side,
                    "method" => method.to_owned()
                ),
            })
    }
}

/// Records the calls of one side; make it after the metrics recorder is installed.
#[derive(Clone)]
pub struct GrpcMetricsLayer(Arc<Handles>);

impl GrpcMetricsLayer {
    pub fn new(side: Side) -> Self {
        GrpcMetricsLayer(Arc::new(Handles {
            side,
            in_flight: metrics::gauge!("grpc_calls_in_flight", "side" => side.as_str()),
            methods: ByLabel::new(MAX_METHODS),
        }))
    }
}

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics {
            inner,
            handles: Arc::clone(&self.0),
        }
    }
}

#[derive(Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    handles: Arc<Handles>,
}

const CODES: [&str; 17] = [
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
];
const UNKNOWN: usize = 2;
const UNAVAILABLE: usize = 14;

/// The code of a `grpc-status` value, as an index into [`CODES`] (bounded: anything else is
/// UNKNOWN).
fn code(status: &[u8]) -> usize {
    std::str::from_utf8(status)
        .ok()
        .and_then(|text| text.parse::<usize>().ok())
        .filter(|code| *code < CODES.len())
        .unwrap_or(UNKNOWN)
}

/// The method label: the gRPC path of a known service, else one bounded value.
fn method_label(path: &str) -> &str {
    let known = path.starts_with("/identity.v1.") || path.starts_with("/grpc.health.v1.");
    if known && path.len() <= 64 {
        path.trim_start_matches('/')
    } else {
        crate::handles::OTHER
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for GrpcMetrics<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let method = self.handles.method(request.uri().path());
        let side = self.handles.side.as_str();
        let started = Instant::now();
        let in_flight = self.handles.in_flight.clone();
        in_flight.increment(1);
        let call = self.inner.call(request);
        Box::pin(async move {
            let outcome = call.await;
            in_flight.decrement(1);
            let code = match &outcome {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .map_or(0, |status| code(status.as_bytes())),
                Err(_) => UNAVAILABLE,
            };
            method
                .calls
                .get(code, || {
                    metrics::counter!(
                        "grpc_calls_total",
                        "side" => side,
                        "method" => method.method.clone(),
                        "code" => CODES[code]
                    )
                })
                .increment(1);
            method.duration.record(started.elapsed().as_secs_f64());
            outcome
        })
    }
}

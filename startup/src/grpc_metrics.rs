//! gRPC calls counted by method and code, with their latency: a tower layer for either side of
//! a connection (the service's server, the gateway's client). The code is the response's
//! `grpc-status` header, present when a call fails before its body (tonic answers every error
//! that way); a response without one counts as OK.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use tower::{Layer, Service};

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

#[derive(Debug, Clone, Copy)]
pub struct GrpcMetricsLayer(pub Side);

impl<S> Layer<S> for GrpcMetricsLayer {
    type Service = GrpcMetrics<S>;

    fn layer(&self, inner: S) -> GrpcMetrics<S> {
        GrpcMetrics {
            inner,
            side: self.0,
        }
    }
}

#[derive(Debug, Clone)]
pub struct GrpcMetrics<S> {
    inner: S,
    side: Side,
}

/// The code names of `grpc-status` values (bounded: anything else is "UNKNOWN").
fn code_name(status: &[u8]) -> &'static str {
    const NAMES: [&str; 17] = [
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
    std::str::from_utf8(status)
        .ok()
        .and_then(|text| text.parse::<usize>().ok())
        .and_then(|code| NAMES.get(code).copied())
        .unwrap_or("UNKNOWN")
}

/// The method label: the gRPC path of a known service, else one bounded value.
fn method_label(path: &str) -> String {
    let known = path.starts_with("/identity.v1.") || path.starts_with("/grpc.health.v1.");
    if known && path.len() <= 64 {
        path.trim_start_matches('/').to_owned()
    } else {
        "other".to_owned()
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
        let method = method_label(request.uri().path());
        let side = self.side.as_str();
        let started = Instant::now();
        let in_flight = metrics::gauge!("grpc_calls_in_flight", "side" => side);
        in_flight.increment(1);
        let call = self.inner.call(request);
        Box::pin(async move {
            let outcome = call.await;
            in_flight.decrement(1);
            let code = match &outcome {
                Ok(response) => response
                    .headers()
                    .get("grpc-status")
                    .map_or("OK", |status| code_name(status.as_bytes())),
                Err(_) => "UNAVAILABLE",
            };
            metrics::counter!("grpc_calls_total", "side" => side, "method" => method.clone(), "code" => code)
                .increment(1);
            metrics::histogram!("grpc_call_duration_seconds", "side" => side, "method" => method)
                .record(started.elapsed().as_secs_f64());
            outcome
        })
    }
}

//! The operations listener (`--metrics-listen`): `GET /metrics` (Prometheus text), `GET /healthz`
//! (200 while the process runs) and `GET /readyz` (200 while the process can serve, else 503),
//! apart from the traffic listener so that probes and scrapes never queue behind requests.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(#[from] BuildError),
    #[error("cannot listen on {addr} for metrics and probes: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// `--metrics-listen`: installs the metrics recorder, binds the operations listener and serves
/// it in the background (for as long as the runtime runs). Returns the sender through which
/// the process reports whether it is ready (not ready until it says so).
pub async fn start(addr: SocketAddr) -> Result<watch::Sender<bool>, OpsError> {
    let metrics = install_metrics()?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| OpsError::Bind { addr, source })?;
    let bound = listener.local_addr().unwrap_or(addr);
    let (ready, readiness) = watch::channel(false);
    tokio::spawn(async move {
        if let Err(error) = serve(listener, metrics, readiness, std::future::pending()).await {
            tracing::error!(%error, "the metrics and probes listener failed");
        }
    });
    tracing::info!(address = %bound, "metrics and probes listening (/metrics, /healthz, /readyz)");
    Ok(ready)
}

/// Asks the operations listener at `addr` (`host:port`) whether the process is ready: the
/// status of `GET /readyz`, for container probes that run the binary itself.
pub async fn probe_ready(addr: &str, timeout: Duration) -> std::io::Result<u16> {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                format!("GET /readyz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await?;
        let mut head = [0_u8; 64];
        let read = stream.read(&mut head).await?;
        let status = std::str::from_utf8(&head[..read])
            .ok()
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|code| code.parse().ok());
        status.ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer")
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer in time"))?
}

/// Installs the process's metrics recorder; what it records is rendered by the handle. Without
/// it, every metric the code records is a no-op.
pub fn install_metrics() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets(&[
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
        ])?
        // Counts, not seconds: how many writes SQLite's group commit committed together.
        .set_buckets_for_metric(
            Matcher::Suffix("_per_commit".into()),
            &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0],
        )?
        .install_recorder()?;
    // Histograms are drained into their buckets by upkeep.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

#[derive(Clone)]
struct Ops {
    metrics: PrometheusHandle,
    ready: watch::Receiver<bool>,
}

/// Serves the probes and metrics on `listener` until `shutdown` resolves; `ready` says whether
/// the process can serve its traffic.
pub async fn serve(
    listener: TcpListener,
    metrics: PrometheusHandle,
    ready: watch::Receiver<bool>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(render_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .with_state(Ops { metrics, ready });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

async fn render_metrics(State(ops): State<Ops>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        ops.metrics.render(),
    )
}

async fn readiness(State(ops): State<Ops>) -> impl IntoResponse {
    if *ops.ready.borrow() {
        (StatusCode::OK, "ready\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

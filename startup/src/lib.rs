//! How both binaries start and are operated: a tokio runtime sized by `--worker-threads`, logs
//! on stderr as text or JSON, a shutdown future for SIGINT and SIGTERM, the operations listener
//! (metrics and probes) and the gRPC call metrics both sides record.

pub mod coalesce;
pub mod grpc_metrics;
pub mod handles;
mod log;
pub mod ops;
pub mod time;

use std::future::Future;

/// Log format: text for people, json for log pipelines.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Logs to stderr in `format`, filtered by `RUST_LOG` (default `info`).
pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: escape codes in a log file get in the way of grep (and cost
    // formatting on every line).
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_timer(time::LogTime)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(log::Stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// The runtime: one worker per CPU by default; exactly one runs everything on the calling
/// thread, which saves cross-thread hand-offs when the process shares a few cores with others.
pub fn runtime(worker_threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    match worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(threads) => multi_thread().worker_threads(threads.max(1)).build(),
        None => multi_thread().build(),
    }
}

/// Workers write their held log lines when they go idle or stop (see [`log`]).
fn multi_thread() -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .enable_all()
        .on_thread_park(log::worker_idle)
        .on_thread_stop(log::worker_stopping);
    builder
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed now, not when first polled, so a
/// signal during start-up also stops the process gracefully. Call it inside the runtime.
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}

//! How both binaries start and are operated: a tokio runtime sized by `--worker-threads`, logs
//! on stderr as text or JSON, a shutdown future for SIGINT and SIGTERM, the operations listener
//! (metrics and probes) and the gRPC call metrics both sides record.

pub mod coalesce;
pub mod grpc_metrics;
pub mod handles;
pub mod ops;

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
        .with_timer(LogTime)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// Log lines' times, as tracing-subscriber's default writes them (`2026-12-02T23:41:44.485623Z`,
/// UTC), with the date and time of day worked out once a second per thread rather than for
/// every line (which cost an access log line a quarter of its formatting).
struct LogTime;

impl tracing_subscriber::fmt::time::FormatTime for LogTime {
    fn format_time(&self, w: &mut tracing_subscriber::fmt::format::Writer<'_>) -> std::fmt::Result {
        use std::cell::RefCell;
        use std::fmt::Write as _;
        thread_local! {
            /// The second last written, and its `YYYY-MM-DDTHH:MM:SS`.
            static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let (seconds, micros) = (now.as_secs(), now.subsec_micros());
        SECOND.with(|second| {
            let mut second = second.borrow_mut();
            if second.0 != seconds {
                let (year, month, day) = civil_date(seconds / 86_400);
                let time = seconds % 86_400;
                second.1.clear();
                write!(
                    second.1,
                    "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
                    time / 3600,
                    time / 60 % 60,
                    time % 60
                )?;
                second.0 = seconds;
            }
            write!(w, "{}.{micros:06}Z", second.1)
        })
    }
}

/// The proleptic Gregorian date `days` after 1970-01-01 (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// The runtime: one worker per CPU by default; exactly one runs everything on the calling
/// thread, which saves cross-thread hand-offs when the process shares a few cores with others.
pub fn runtime(worker_threads: Option<usize>) -> std::io::Result<tokio::runtime::Runtime> {
    match worker_threads {
        Some(1) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build(),
        Some(threads) => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .enable_all()
            .build(),
        None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build(),
    }
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

#[cfg(test)]
mod tests {
    use super::civil_date;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), (1970, 1, 1));
        assert_eq!(civil_date(59), (1970, 3, 1));
        // 2000 was a leap year, 2100 will not be.
        assert_eq!(civil_date(11_016), (2000, 2, 29));
        assert_eq!(civil_date(20_789), (2026, 12, 2));
        assert_eq!(civil_date(47_540), (2100, 2, 28));
        assert_eq!(civil_date(47_541), (2100, 3, 1));
        assert_eq!(civil_date(730_484), (3969, 12, 31));
    }
}

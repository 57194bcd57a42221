//! `scim-gateway`: serve SCIM 2.0 at `--base-path`, backed by the identity service.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use identity_proto::ClientTls;
use scim_gateway::server::{self, Config, RateLimit, Tls};
use startup::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "scim-gateway",
    version,
    about = "SCIM 2.0 gateway for Okta and Entra ID"
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, env = "SCIM_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The identity service's gRPC address.
    #[arg(
        long,
        env = "SCIM_IDENTITY_URL",
        default_value = "http://127.0.0.1:50051"
    )]
    identity_url: String,
    /// Path the SCIM API is served under.
    #[arg(long, env = "SCIM_BASE_PATH", default_value = "/scim/v2")]
    base_path: String,
    /// Externally visible origin (e.g. https://scim.eu.example.com) for meta.location and
    /// Location headers; defaults to http://<listen address>.
    #[arg(long, env = "SCIM_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
    /// Largest request body accepted, in bytes (larger: 413).
    #[arg(long, env = "SCIM_BODY_LIMIT", default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// Longest a request may take, in seconds (Okta and Entra give up at 60).
    #[arg(long, env = "SCIM_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout: u64,
    /// How long to wait for a connection to the identity service before answering 503, in
    /// milliseconds.
    #[arg(long, env = "SCIM_CONNECT_TIMEOUT_MS", default_value_t = 1000)]
    connect_timeout_ms: u64,
    /// Requests a second each SCIM key may make on this replica (0: no limit); over it, 429
    /// with Retry-After.
    #[arg(long, env = "SCIM_RATE_LIMIT", default_value_t = server::DEFAULT_RATE_LIMIT)]
    rate_limit: u32,
    /// Requests a SCIM key may make at once above its rate (at least the rate).
    #[arg(long, env = "SCIM_RATE_BURST", default_value_t = server::DEFAULT_RATE_BURST)]
    rate_burst: u32,
    /// Report every SCIM request's outcome (status, SCIM error, request id; never bodies or
    /// keys) to the identity service's provisioning log, where tenant admins read it.
    #[arg(long, env = "SCIM_PROVISIONING_LOG", default_value_t = true, action = clap::ArgAction::Set)]
    provisioning_log: bool,
    /// Certificate chain (PEM) to serve HTTPS with (Okta requires an https:// base URL; or
    /// terminate TLS in front of the gateway); needs --tls-key.
    #[arg(long, env = "SCIM_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "SCIM_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM) to check an https:// identity service's certificate against
    /// (default: the system's).
    #[arg(long, env = "SCIM_IDENTITY_CA")]
    identity_ca: Option<PathBuf>,
    /// Client certificate (PEM) to present to an identity service that requires one (mutual TLS).
    #[arg(
        long,
        env = "SCIM_IDENTITY_CLIENT_CERT",
        requires = "identity_client_key"
    )]
    identity_client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(
        long,
        env = "SCIM_IDENTITY_CLIENT_KEY",
        requires = "identity_client_cert"
    )]
    identity_client_key: Option<PathBuf>,
    /// Log format: text for people, json for log pipelines.
    #[arg(long, env = "SCIM_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Address for GET /metrics (Prometheus), /healthz and /readyz (ready while the identity
    /// service answers SERVING, checked twice a second); off unless set.
    #[arg(long, env = "SCIM_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Threads that serve requests (default: one per CPU). 1 runs everything on one thread,
    /// which saves cross-thread hand-offs when this process shares a few cores with others.
    #[arg(long, env = "SCIM_WORKER_THREADS")]
    worker_threads: Option<usize>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    /// Exit 0 when the gateway at --metrics-addr reports ready (GET /readyz), for container
    /// probes; without a command, the gateway serves.
    Healthcheck {
        /// The gateway's --metrics-listen address, as host:port.
        #[arg(long, env = "SCIM_METRICS_ADDR", default_value = "127.0.0.1:9465")]
        metrics_addr: String,
    },
}

/// See the workspace's `mimalloc` dependency: allocation is a sixth of a request's work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    startup::runtime(cli.worker_threads)?.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Healthcheck { metrics_addr }) = &cli.command {
        let status = startup::ops::probe_ready(metrics_addr, Duration::from_secs(5))
            .await
            .with_context(|| format!("cannot reach the gateway's probes at {metrics_addr}"))?;
        anyhow::ensure!(
            status == 200,
            "the gateway at {metrics_addr} is not ready ({status})"
        );
        #[allow(clippy::print_stdout)]
        {
            println!("READY");
        }
        return Ok(());
    }
    startup::init_tracing(cli.log_format);
    let shutdown = startup::shutdown_signal().context("cannot handle SIGINT and SIGTERM")?;
    let listener = tokio::net::TcpListener::bind(cli.listen)
        .await
        .with_context(|| format!("cannot listen on {}", cli.listen))?;
    let identity_tls = ClientTls {
        ca: cli.identity_ca.as_deref().map(read_file).transpose()?,
        identity: match (&cli.identity_client_cert, &cli.identity_client_key) {
            (Some(cert), Some(key)) => Some((read_file(cert)?, read_file(key)?)),
            _ => None,
        },
    };
    anyhow::ensure!(
        !identity_tls.is_configured() || cli.identity_url.starts_with("https://"),
        "--identity-ca and --identity-client-cert need an https:// --identity-url"
    );
    let config = Config {
        identity_url: cli.identity_url,
        base_path: cli.base_path,
        public_base_url: cli.public_base_url,
        body_limit: cli.body_limit,
        request_timeout: Duration::from_secs(cli.request_timeout.max(1)),
        connect_timeout: Duration::from_millis(cli.connect_timeout_ms.max(1)),
        metrics: cli.metrics_listen.is_some(),
        rate_limit: RateLimit::new(cli.rate_limit, cli.rate_burst),
        provisioning_log: cli.provisioning_log,
        tls: match (&cli.tls_cert, &cli.tls_key) {
            (Some(cert), Some(key)) => Some(Tls {
                cert: read_file(cert)?,
                key: read_file(key)?,
            }),
            _ => None,
        },
        identity_tls,
        readiness: match cli.metrics_listen {
            Some(addr) => Some(startup::ops::start(addr).await?),
            None => None,
        },
    };
    server::serve(config, listener, shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}

/// A certificate or key file, or an error that names it.
fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

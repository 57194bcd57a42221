//! `identity-service`: run the service, set up its database, and administer it over gRPC.

#![allow(clippy::print_stdout)]

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use identity_service::server::{self, ServeOptions};
use identity_service::store::{Store, StoreOptions};
use startup::LogFormat;

#[derive(Debug, Parser)]
#[command(
    name = "identity-service",
    version,
    about = "Identity service: tenants, users, groups and API keys over gRPC"
)]
struct Cli {
    /// Log format: text for people, json for log pipelines.
    #[arg(long, env = "IDENTITY_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Threads that serve requests (default: one per CPU). 1 runs everything on one thread,
    /// which saves cross-thread hand-offs when this process shares a few cores with others.
    #[arg(long, env = "IDENTITY_WORKER_THREADS", global = true)]
    worker_threads: Option<usize>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct DatabaseArgs {
    /// `sqlite://PATH` (or a bare path) or `postgres://USER@HOST/DB`.
    #[arg(
        long,
        env = "IDENTITY_DATABASE_URL",
        default_value = "sqlite://data/identity.db"
    )]
    database_url: String,
    /// Pooled database connections.
    #[arg(long, env = "IDENTITY_DATABASE_POOL_SIZE", default_value_t = 8)]
    pool_size: u32,
}

impl DatabaseArgs {
    async fn open(&self) -> anyhow::Result<Store> {
        let options = StoreOptions {
            pool_size: self.pool_size,
            ..StoreOptions::default()
        };
        Ok(Store::open(&self.database_url, options).await?)
    }
}

/// gRPC over TLS, and mutual TLS for internal callers.
#[derive(Debug, clap::Args)]
struct TlsArgs {
    /// Certificate chain (PEM) to serve gRPC over TLS with; needs --tls-key.
    #[arg(long, env = "IDENTITY_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, env = "IDENTITY_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM): every caller must present a client certificate they signed
    /// (mutual TLS). Needs --tls-cert.
    #[arg(long, env = "IDENTITY_TLS_CLIENT_CA", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
}

impl TlsArgs {
    fn load(&self) -> anyhow::Result<Option<server::Tls>> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        Ok(Some(server::Tls {
            cert: cli::read_file(cert)?,
            key: cli::read_file(key)?,
            client_ca: self
                .tls_client_ca
                .as_deref()
                .map(cli::read_file)
                .transpose()?,
        }))
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gRPC service (creating and migrating the database on first start).
    Serve {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Address to listen on.
        #[arg(long, env = "IDENTITY_LISTEN", default_value = "127.0.0.1:50051")]
        listen: SocketAddr,
        /// Days the change log keeps events (pruned hourly); 0 keeps them forever.
        #[arg(long, env = "IDENTITY_EVENT_RETENTION_DAYS", default_value_t = 90)]
        event_retention_days: u64,
        /// Days the provisioning log keeps the outcomes of SCIM requests (pruned hourly); 0
        /// keeps them forever.
        #[arg(
            long,
            env = "IDENTITY_PROVISIONING_LOG_RETENTION_DAYS",
            default_value_t = 30
        )]
        provisioning_log_retention_days: u64,
        /// Address for GET /metrics (Prometheus), /healthz and /readyz (ready while the
        /// database answers); off unless set.
        #[arg(long, env = "IDENTITY_METRICS_LISTEN")]
        metrics_listen: Option<SocketAddr>,
        /// Calls worked on at once; more are answered RESOURCE_EXHAUSTED (the gateway: 429)
        /// rather than queued. 0: no limit.
        #[arg(long, env = "IDENTITY_MAX_CONCURRENT_CALLS", default_value_t = server::DEFAULT_MAX_CONCURRENT_CALLS)]
        max_concurrent_calls: usize,
        #[command(flatten)]
        tls: TlsArgs,
        /// The admin portal's public URL, where portal links point: the SCIM gateway's public
        /// base URL and `/portal`, e.g. https://scim.example.com/portal. Unset: no links.
        #[arg(long, env = "IDENTITY_PORTAL_URL")]
        portal_url: Option<String>,
    },
    /// Create or migrate the database, then exit.
    Migrate {
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// First run: create the default tenant, a service key over all tenants and a SCIM key for
    /// the tenant, and print the keys once. Changes nothing if the database has a tenant already.
    Init {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Name of the default tenant.
        #[arg(long, env = "IDENTITY_INIT_TENANT_NAME", default_value = "default")]
        tenant_name: String,
        /// Print `{"tenant_id":…,"service_key":…,"scim_key":…}`.
        #[arg(long)]
        json: bool,
        /// When the database is initialised already, issue a new SCIM key for its tenant and
        /// revoke the ones init issued before (the quick start prints a working key on every
        /// run this way; keys issued with `key issue` are not touched).
        #[arg(long)]
        new_scim_key: bool,
        /// When the database is initialised already, issue a new read-write service key over
        /// all tenants: the way back for an operator with the database but no service key.
        #[arg(long)]
        new_service_key: bool,
    },
    /// Exit 0 when the service at --addr reports SERVING (for container probes).
    Healthcheck {
        #[command(flatten)]
        connect: cli::ConnectArgs,
    },
    #[command(flatten)]
    Admin(cli::AdminCommand),
}

/// See the workspace's `mimalloc` dependency: allocation is a sixth of a request's work.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    startup::runtime(cli.worker_threads)?.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    startup::init_tracing(cli.log_format);
    match cli.command {
        Command::Serve {
            database,
            listen,
            event_retention_days,
            provisioning_log_retention_days,
            metrics_listen,
            max_concurrent_calls,
            tls,
            portal_url,
        } => {
            let shutdown =
                startup::shutdown_signal().context("cannot handle SIGINT and SIGTERM")?;
            let readiness = match metrics_listen {
                Some(addr) => Some(startup::ops::start(addr).await?),
                None => None,
            };
            let store = database.open().await?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            tracing::info!(
                address = %listener.local_addr()?,
                backend = %store.backend(),
                "identity service listening"
            );
            let options = ServeOptions {
                event_retention: days(event_retention_days),
                provisioning_log_retention: days(provisioning_log_retention_days),
                readiness,
                metrics: metrics_listen.is_some(),
                max_concurrent_calls: (max_concurrent_calls > 0).then_some(max_concurrent_calls),
                tls: tls.load()?,
                portal_url,
                ..ServeOptions::default()
            };
            server::serve(store, listener, shutdown, options).await?;
            tracing::info!("stopped");
        }
        Command::Migrate { database } => {
            let store = database.open().await?;
            println!("{} database is migrated", store.backend());
        }
        Command::Init {
            database,
            tenant_name,
            json,
            new_scim_key,
            new_service_key,
        } => {
            let store = database.open().await?;
            let reissue = cli::Reissue {
                scim_key: new_scim_key,
                service_key: new_service_key,
            };
            cli::init(&store, &tenant_name, json, reissue).await?;
        }
        Command::Healthcheck { connect } => {
            cli::healthcheck(&connect, Duration::from_secs(5)).await?;
        }
        Command::Admin(command) => command.run().await?,
    }
    Ok(())
}

/// A retention in days; 0 keeps records forever.
fn days(days: u64) -> Option<Duration> {
    (days > 0).then(|| Duration::from_secs(days.saturating_mul(24 * 3600)))
}

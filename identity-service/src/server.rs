//! Serving: the gRPC services with health checking, reflection, tracing and graceful shutdown.

use std::future::Future;
use std::time::Duration;

use identity_proto::v1::events_server::EventsServer;
use identity_proto::v1::groups_server::GroupsServer;
use identity_proto::v1::portal_server::PortalServer;
use identity_proto::v1::provisioning_log_server::ProvisioningLogServer;
use identity_proto::v1::tenants_server::TenantsServer;
use identity_proto::v1::users_server::UsersServer;
use startup::coalesce::CoalescedWrites;
use startup::grpc_metrics::{GrpcMetricsLayer, Side};
use tokio::net::{TcpListener, TcpStream};
use tokio_stream::{Stream, StreamExt as _};
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

pub use crate::api::WatchOptions;
use crate::api::{
    AuthenticateLayer, EventsApi, GroupsApi, PortalApi, ProvisioningLogApi, ShedLayer, TenantsApi,
    UsersApi,
};
use crate::model::now_micros;
use crate::store::Store;

/// The services whose health is reported, besides the overall "" entry.
const SERVICE_NAMES: &[&str] = &[
    "identity.v1.Users",
    "identity.v1.Groups",
    "identity.v1.Tenants",
    "identity.v1.Events",
    "identity.v1.ProvisioningLog",
    "identity.v1.Portal",
];

/// Calls worked on at once by default: far above what the database's connections serve in
/// parallel, so that only a pile-up is shed.
pub const DEFAULT_MAX_CONCURRENT_CALLS: usize = 512;

/// How often SQLite's planner statistics are refreshed and old events and outcomes pruned.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct ServeOptions {
    /// How often the database is probed for the health service.
    pub health_interval: Duration,
    /// Events older than this are pruned (hourly); `None` keeps them forever.
    pub event_retention: Option<Duration>,
    /// Provisioning outcomes older than this are pruned (hourly); `None` keeps them forever.
    pub provisioning_log_retention: Option<Duration>,
    pub watch: WatchOptions,
    /// Told whether the service can serve (its database answers), for a readiness probe.
    pub readiness: Option<tokio::sync::watch::Sender<bool>>,
    /// Record the calls' metrics; off, their layer is left out.
    pub metrics: bool,
    /// At most this many `identity.v1` calls worked on at once (more: RESOURCE_EXHAUSTED);
    /// `None` is no limit.
    pub max_concurrent_calls: Option<usize>,
    /// Serve over TLS; `None`: plaintext HTTP/2.
    pub tls: Option<Tls>,
    /// The admin portal's public URL (the gateway's `<public base URL>/portal`), which portal
    /// links are made under; `None`: no links are made.
    pub portal_url: Option<String>,
}

/// The service's certificate, and the CAs whose client certificates it requires, if any; PEM.
#[derive(Clone)]
pub struct Tls {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    /// Set: every caller must present a certificate one of these signed (mutual TLS).
    pub client_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is a secret.
        f.debug_struct("Tls")
            .field("mutual", &self.client_ca.is_some())
            .finish_non_exhaustive()
    }
}

impl Tls {
    fn server_config(&self) -> ServerTlsConfig {
        let config = ServerTlsConfig::new().identity(Identity::from_pem(&self.cert, &self.key));
        match &self.client_ca {
            Some(ca) => config.client_ca_root(Certificate::from_pem(ca)),
            None => config,
        }
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions {
            health_interval: Duration::from_secs(5),
            event_retention: Some(Duration::from_secs(90 * 24 * 3600)),
            provisioning_log_retention: Some(Duration::from_secs(30 * 24 * 3600)),
            watch: WatchOptions::default(),
            readiness: None,
            metrics: false,
            max_concurrent_calls: Some(DEFAULT_MAX_CONCURRENT_CALLS),
            tls: None,
            portal_url: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

async fn set_health(reporter: &HealthReporter, status: ServingStatus) {
    reporter.set_service_status("", status).await;
    for name in SERVICE_NAMES {
        reporter.set_service_status(*name, status).await;
    }
}

/// Reports SERVING while the database answers, NOT_SERVING while it does not (to the health
/// service and the readiness probe), and samples the connection pool.
async fn watch_database(
    store: Store,
    reporter: HealthReporter,
    interval: Duration,
    readiness: Option<tokio::sync::watch::Sender<bool>>,
) {
    let mut healthy = true;
    loop {
        let now_healthy = match store.ping().await {
            Ok(()) => true,
            Err(error) => {
                if healthy {
                    tracing::warn!(%error, "database unreachable; reporting NOT_SERVING");
                }
                false
            }
        };
        if now_healthy != healthy {
            if now_healthy {
                tracing::info!("database reachable again; reporting SERVING");
            }
            healthy = now_healthy;
        }
        let status = if healthy {
            ServingStatus::Serving
        } else {
            ServingStatus::NotServing
        };
        set_health(&reporter, status).await;
        if let Some(readiness) = &readiness {
            readiness.send_replace(healthy);
        }
        let (in_use, idle) = store.pool_state();
        metrics::gauge!("identity_db_connections", "state" => "in_use").set(in_use);
        metrics::gauge!("identity_db_connections", "state" => "idle").set(idle);
        tokio::time::sleep(interval).await;
    }
}

/// How long the change log and the provisioning log keep what they record.
#[derive(Debug, Clone, Copy)]
struct Retention {
    events: Option<Duration>,
    outcomes: Option<Duration>,
}

/// The time before which records older than `retention` were made.
fn cutoff(retention: Duration) -> i64 {
    let age = i64::try_from(retention.as_micros()).unwrap_or(i64::MAX);
    now_micros().saturating_sub(age)
}

/// Periodic upkeep of the database: the logs' retention, then planner statistics.
async fn maintain(store: Store, interval: Duration, retention: Retention) {
    loop {
        if let Some(events) = retention.events {
            match store.prune_events(cutoff(events)).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "old events pruned"),
                Err(error) => tracing::warn!(%error, "pruning old events failed"),
            }
        }
        if let Some(outcomes) = retention.outcomes {
            match store.prune_outcomes(cutoff(outcomes)).await {
                Ok(0) => {}
                Ok(pruned) => tracing::info!(pruned, "old provisioning outcomes pruned"),
                Err(error) => tracing::warn!(%error, "pruning old provisioning outcomes failed"),
            }
        }
        // Links and sessions are kept a day after they stop working (to explain a refusal).
        match store
            .prune_portal_sessions(cutoff(Duration::from_secs(24 * 3600)))
            .await
        {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old portal links and sessions pruned"),
            Err(error) => tracing::warn!(%error, "pruning old portal sessions failed"),
        }
        tokio::time::sleep(interval).await;
        if let Err(error) = store.refresh_statistics().await {
            tracing::warn!(%error, "refreshing planner statistics failed");
        }
    }
}

fn request_span(request: &http::Request<()>) -> tracing::Span {
    let request_id = request
        .headers()
        .get(identity_proto::metadata::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "rpc",
        method = %request.uri().path(),
        request_id = %request_id,
        key_id = tracing::field::Empty,
    )
}

/// The connections `listener` accepts, with Nagle's algorithm off (gRPC answers are small
/// frames, and with Nagle on each one waits for the client's delayed ACK, ~40 ms a call) and
/// their writes coalesced: the answers finished in one pass of the runtime leave in one write
/// (see [`startup::coalesce`]).
pub fn incoming(
    listener: TcpListener,
) -> impl Stream<Item = std::io::Result<CoalescedWrites<TcpStream>>> + Send + 'static {
    TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .map(|accepted| accepted.map(CoalescedWrites::new))
}

/// Serves the identity API on `listener` until `shutdown` resolves, then reports NOT_SERVING
/// and lets in-flight calls finish.
pub async fn serve(
    store: Store,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
    options: ServeOptions,
) -> Result<(), ServeError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    set_health(&reporter, ServingStatus::Serving).await;
    let watcher = tokio::spawn(watch_database(
        store.clone(),
        reporter.clone(),
        options.health_interval,
        options.readiness.clone(),
    ));
    let upkeep = tokio::spawn(maintain(
        store.clone(),
        STATISTICS_INTERVAL,
        Retention {
            events: options.event_retention,
            outcomes: options.provisioning_log_retention,
        },
    ));
    let (stopping, stopping_watch) = tokio::sync::watch::channel(false);

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(identity_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // The error details every error carries (ErrorInfo, BadRequest, RetryInfo), so
            // that grpcurl decodes them.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1()?;
    let reflection_v1alpha = reflection().build_v1alpha()?;

    let shutdown_reporter = reporter.clone();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutting down: draining in-flight calls");
        // Watches end (telling their clients where to resume) so that draining finishes.
        let _ = stopping.send(true);
        watcher.abort();
        upkeep.abort();
        set_health(&shutdown_reporter, ServingStatus::NotServing).await;
    };

    let mut builder = Server::builder();
    if let Some(tls) = &options.tls {
        builder = builder.tls_config(tls.server_config())?;
    }
    builder
        .trace_fn(request_span)
        .layer(tower::util::option_layer(
            options.metrics.then(|| GrpcMetricsLayer::new(Side::Server)),
        ))
        .layer(tower::util::option_layer(
            options.max_concurrent_calls.map(ShedLayer::new),
        ))
        .layer(AuthenticateLayer::new(store.clone()))
        .add_service(health)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(UsersServer::new(UsersApi::new(store.clone())))
        .add_service(GroupsServer::new(GroupsApi::new(store.clone())))
        .add_service(TenantsServer::new(TenantsApi::new(store.clone())))
        .add_service(ProvisioningLogServer::new(ProvisioningLogApi::new(
            store.clone(),
        )))
        .add_service(PortalServer::new(PortalApi::new(
            store.clone(),
            options.portal_url,
        )))
        .add_service(EventsServer::new(EventsApi::new(
            store,
            options.watch,
            stopping_watch,
        )))
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await?;
    Ok(())
}

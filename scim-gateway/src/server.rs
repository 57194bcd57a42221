//! Serving: the gateway's configuration, and [`serve`], which runs the HTTP application on a
//! listener until shutdown.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use identity_proto::ClientTls;
use tokio::net::TcpListener;
use tonic::transport::Endpoint;

use crate::client::Identity;
pub use crate::http::RateLimit;
use crate::http::{KeyLimiter, Layers};
use crate::listen::{self, ClientAddr};
use crate::report::Reporter;

#[derive(Debug, Clone)]
pub struct Config {
    /// The identity service, e.g. `http://127.0.0.1:50051`.
    pub identity_url: String,
    /// Where the SCIM API is served, e.g. `/scim/v2`.
    pub base_path: String,
    /// The externally visible origin (`https://scim.eu.example.com`) that `meta.location` and
    /// `Location` are built from; `None` means `http://<listen address>`.
    pub public_base_url: Option<String>,
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// How long to wait for a connection to the identity service before answering 503.
    pub connect_timeout: Duration,
    /// Told, at least once a second, whether the identity service is reachable and SERVING.
    pub readiness: Option<tokio::sync::watch::Sender<bool>>,
    /// Record metrics (requests, calls to the service); off, their layers are left out.
    pub metrics: bool,
    /// Requests a second (and burst) each SCIM key may make on this replica; `None`: no limit.
    pub rate_limit: Option<RateLimit>,
    /// Report every SCIM request's outcome to the identity service's provisioning log.
    pub provisioning_log: bool,
    /// Serve HTTPS with this certificate; `None`: plain HTTP (behind a TLS-terminating proxy).
    pub tls: Option<Tls>,
    /// How to reach an `https://` identity service: the CA to trust, the client certificate.
    pub identity_tls: ClientTls,
}

/// The gateway's certificate chain and private key, PEM.
#[derive(Clone)]
pub struct Tls {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is a secret.
        f.write_str("Tls(…)")
    }
}

/// `--rate-limit`: far above what Okta or Entra send (tens a second at most), low enough that
/// one runaway client cannot take a replica from every other tenant.
pub const DEFAULT_RATE_LIMIT: u32 = 500;
/// How long a stopping gateway waits to report the outcomes still queued.
const FINAL_REPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// `--rate-burst`.
pub const DEFAULT_RATE_BURST: u32 = 1000;

impl Default for Config {
    fn default() -> Self {
        Config {
            identity_url: "http://127.0.0.1:50051".to_owned(),
            base_path: "/scim/v2".to_owned(),
            public_base_url: None,
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(1),
            readiness: None,
            metrics: false,
            rate_limit: RateLimit::new(DEFAULT_RATE_LIMIT, DEFAULT_RATE_BURST),
            provisioning_log: true,
            tls: None,
            identity_tls: ClientTls::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("invalid identity service URL {url:?}: {source}")]
    IdentityUrl {
        url: String,
        source: tonic::transport::Error,
    },
    #[error("invalid base path {0:?}: it starts with '/'")]
    BasePath(String),
    #[error("cannot read the listener's address: {0}")]
    Address(std::io::Error),
    #[error(transparent)]
    Tls(#[from] listen::TlsError),
    #[error("HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

fn normalise_base_path(path: &str) -> Result<String, ServeError> {
    let trimmed = path.trim_end_matches('/');
    if !path.starts_with('/') {
        return Err(ServeError::BasePath(path.to_owned()));
    }
    Ok(trimmed.to_owned())
}

/// Serves SCIM on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let base_path = normalise_base_path(&config.base_path)?;
    let tls = config
        .tls
        .as_ref()
        .map(|tls| listen::tls_config(&tls.cert, &tls.key))
        .transpose()?;
    let origin = match &config.public_base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!(
            "{}://{}",
            if tls.is_some() { "https" } else { "http" },
            listener.local_addr().map_err(ServeError::Address)?
        ),
    };
    let identity_url_error = |source| ServeError::IdentityUrl {
        url: config.identity_url.clone(),
        source,
    };
    let endpoint = Endpoint::from_shared(config.identity_url.clone())
        .and_then(|endpoint| config.identity_tls.apply(endpoint))
        .map_err(identity_url_error)?;
    let base_url = format!("{origin}{base_path}");
    tracing::info!(scim_base_url = %base_url, identity_url = %config.identity_url, "SCIM gateway listening");
    let identity = Identity::new(
        endpoint,
        config.connect_timeout,
        config.request_timeout,
        base_url,
        config.metrics,
    );
    let identity = Arc::new(identity);
    if let Some(ready) = config.readiness.clone() {
        let identity = Arc::clone(&identity);
        tokio::spawn(async move { identity.watch_readiness(ready).await });
    }
    let new_limiter = || {
        config.rate_limit.map(|limit| {
            let (limiter, housekeeping) = KeyLimiter::new(limit);
            tokio::spawn(housekeeping);
            limiter
        })
    };
    let limiter = new_limiter();
    // The portal's pages are limited like SCIM calls, per session (or client, before one).
    let portal = crate::portal::router(
        Arc::clone(&identity),
        new_limiter(),
        origin.starts_with("https://"),
        config.request_timeout,
    );
    let (reporter, reporting) = if config.provisioning_log {
        let (reporter, reporting) = Reporter::new(Arc::clone(&identity));
        (Some(reporter), Some(tokio::spawn(reporting)))
    } else {
        (None, None)
    };
    let app = crate::http::app(
        identity,
        base_path,
        Layers {
            body_limit: config.body_limit,
            request_timeout: config.request_timeout,
            metrics: config.metrics,
            limiter,
            reporter,
        },
    );
    let app = portal
        .fallback_service(app)
        .into_make_service_with_connect_info::<ClientAddr>();
    match tls {
        Some(tls) => {
            axum::serve(listen::tls(listener, tls)?, app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
        None => {
            axum::serve(listen::nodelay(listener), app)
                .with_graceful_shutdown(shutdown)
                .await?;
        }
    }
    // The application, and with it the queue's senders, are gone: what is queued is reported.
    if let Some(reporting) = reporting
        && tokio::time::timeout(FINAL_REPORT_TIMEOUT, reporting)
            .await
            .is_err()
    {
        tracing::warn!("the last provisioning outcomes could not be reported in time");
    }
    Ok(())
}

//! The HTTP server: one entry handler that assigns the request id, opens the span, reads the
//! body within its limit, applies the request timeout and routes under the base path. Every
//! failure leaves as a SCIM error body.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode};
use identity_proto::v1::groups_client::GroupsClient;
use identity_proto::v1::users_client::UsersClient;
use tokio::net::TcpListener;
use tonic::transport::{Channel, Endpoint};
use tracing::Instrument as _;

use crate::error::ScimError;
use crate::routes::{self, Call, Input};

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            identity_url: "http://127.0.0.1:50051".to_owned(),
            base_path: "/scim/v2".to_owned(),
            public_base_url: None,
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(1),
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
    #[error("HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Shared by every request: the service's clients (one lazily connected, self-healing channel)
/// and the configuration.
pub struct Gateway {
    channel: Channel,
    base_path: String,
    base_url: String,
    body_limit: usize,
    request_timeout: Duration,
}

impl Gateway {
    /// `<public base URL><base path>`: the prefix of every `meta.location`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    pub fn users(&self) -> UsersClient<Channel> {
        UsersClient::new(self.channel.clone())
    }

    pub fn groups(&self) -> GroupsClient<Channel> {
        GroupsClient::new(self.channel.clone())
    }
}

fn normalise_base_path(path: &str) -> Result<String, ServeError> {
    let trimmed = path.trim_end_matches('/');
    if !path.starts_with('/') {
        return Err(ServeError::BasePath(path.to_owned()));
    }
    Ok(trimmed.to_owned())
}

/// The connections `listener` accepts, with Nagle's algorithm off: SCIM answers are small, and
/// with Nagle on each waits for the client's delayed ACK.
pub fn nodelay(
    listener: TcpListener,
) -> impl axum::serve::Listener<Io = tokio::net::TcpStream, Addr = std::net::SocketAddr> {
    use axum::serve::ListenerExt as _;
    listener.tap_io(|stream| {
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "cannot set TCP_NODELAY on an accepted connection");
        }
    })
}

/// Serves SCIM on `listener` until `shutdown` completes, then drains in-flight requests.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let base_path = normalise_base_path(&config.base_path)?;
    let origin = match &config.public_base_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!(
            "http://{}",
            listener.local_addr().map_err(ServeError::Address)?
        ),
    };
    // Connected lazily and re-connected on demand: the gateway starts, and recovers, whether
    // or not the service is up. A refused connection fails at once; an unanswered one within
    // the connect timeout.
    let channel = Endpoint::from_shared(config.identity_url.clone())
        .map_err(|source| ServeError::IdentityUrl {
            url: config.identity_url.clone(),
            source,
        })?
        .connect_timeout(config.connect_timeout)
        .timeout(config.request_timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(5))
        .connect_lazy();
    let gateway = Arc::new(Gateway {
        channel,
        base_url: format!("{origin}{base_path}"),
        base_path,
        body_limit: config.body_limit,
        request_timeout: config.request_timeout,
    });
    tracing::info!(scim_base_url = %gateway.base_url, identity_url = %config.identity_url, "SCIM gateway listening");
    let app = Router::new().fallback(handle).with_state(gateway);
    axum::serve(nodelay(listener), app)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// A request id from the client (`x-request-id`), when it is a sane token; else a new one.
fn request_id(request: &Request) -> String {
    request
        .headers()
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .filter(|id| {
            !id.is_empty()
                && id.len() <= 128
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string())
}

async fn handle(State(gateway): State<Arc<Gateway>>, request: Request) -> Response {
    let started = Instant::now();
    let id = request_id(&request);
    let span = tracing::info_span!(
        "scim",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    );
    let mut response =
        async {
            let response =
                match tokio::time::timeout(gateway.request_timeout, route(&gateway, &id, request))
                    .await
                {
                    Ok(response) => response,
                    Err(_) => ScimError::unavailable("the request timed out").into_response(),
                };
            tracing::info!(
                status = response.status().as_u16(),
                elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
                "request"
            );
            response
        }
        .instrument(span)
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

fn decode_segment(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment)
        .decode_utf8_lossy()
        .into_owned()
}

/// The most header bytes a request may carry: SCIM requests need a few hundred. (Hyper refuses
/// far larger header blocks itself, without a SCIM body.)
const MAX_HEADER_BYTES: usize = 32 * 1024;
/// The longest `Authorization` forwarded: our keys are under 80 characters.
const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// Refuses header blocks no SCIM client sends, before any work is done for them: an oversized
/// credential is an invalid one (401), other oversized headers a 431.
fn check_headers(headers: &http::HeaderMap) -> Result<(), ScimError> {
    if headers
        .get(http::header::AUTHORIZATION)
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
    Ok(())
}

async fn route(gateway: &Gateway, request_id: &str, request: Request) -> Response {
    if let Err(error) = check_headers(request.headers()) {
        return error.into_response();
    }
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    let rest = match crate::schema::strip_prefix_ignore_case(path, &gateway.base_path) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => rest,
        _ => {
            return ScimError::not_found(format!(
                "nothing at {path}; the SCIM API is at {}",
                gateway.base_path
            ))
            .into_response();
        }
    };
    let segments = rest
        .split('/')
        .filter(|segment| !segment.is_empty())
        .map(decode_segment)
        .collect();
    let query = form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect();
    let body = match read_body(body, gateway.body_limit).await {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let call = Call::new(&parts.headers, request_id);
    let input = Input {
        method: parts.method,
        segments,
        query,
        headers: parts.headers,
        body,
    };
    match routes::dispatch(gateway, &call, input).await {
        Ok(response) => response,
        Err(error) => {
            if error.status.is_server_error() {
                tracing::warn!(status = error.status.as_u16(), detail = %error.detail, "request failed");
            }
            error.into_response()
        }
    }
}

async fn read_body(body: Body, limit: usize) -> Result<axum::body::Bytes, ScimError> {
    use http_body_util::BodyExt as _;
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => Err(ScimError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            None,
            format!("the body is larger than {limit} bytes"),
        )),
        Err(error) => Err(ScimError::invalid_syntax(format!(
            "cannot read the body: {error}"
        ))),
    }
}

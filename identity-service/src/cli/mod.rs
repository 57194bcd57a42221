//! The administrative commands, one module per command group. All but `init` talk to a running
//! service over gRPC, so they go through the same authentication and rules as every other
//! client.

mod events;
mod keys;
mod portal;
mod provisioning;
mod setup;
mod tenants;
mod users;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::{Args, Subcommand};
use identity_proto::v1 as pb;
use identity_proto::{AuthenticatedChannel, BearerAuth, ClientTls};
use tonic::transport::Endpoint;
use tonic_types::StatusExt as _;

pub use setup::{Reissue, healthcheck, init};

/// Where the service is, and how to reach it over TLS.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Address of the identity service: `host:port`, `http://…`, or `https://…` (TLS).
    #[arg(long, env = "IDENTITY_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// CA certificates (PEM) to check an https:// service's certificate against (default: the
    /// system's).
    #[arg(long, env = "IDENTITY_CA")]
    ca: Option<PathBuf>,
    /// Client certificate (PEM) to present to a service that requires one (mutual TLS).
    #[arg(long, env = "IDENTITY_CLIENT_CERT", requires = "client_key")]
    client_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, env = "IDENTITY_CLIENT_KEY", requires = "client_cert")]
    client_key: Option<PathBuf>,
}

impl ConnectArgs {
    /// The service's endpoint (TLS for `https://`), waiting at most `connect_timeout` to connect.
    fn endpoint(&self, connect_timeout: Duration) -> anyhow::Result<Endpoint> {
        let url = if self.addr.contains("://") {
            self.addr.clone()
        } else {
            format!("http://{}", self.addr)
        };
        let tls = ClientTls {
            ca: self.ca.as_deref().map(read_file).transpose()?,
            identity: match (&self.client_cert, &self.client_key) {
                (Some(cert), Some(key)) => Some((read_file(cert)?, read_file(key)?)),
                _ => None,
            },
        };
        if tls.is_configured() && !url.starts_with("https://") {
            anyhow::bail!("--ca and --client-cert need an https:// --addr");
        }
        let endpoint = Endpoint::from_shared(url)
            .with_context(|| format!("invalid address {:?}", self.addr))?
            .connect_timeout(connect_timeout);
        tls.apply(endpoint)
            .with_context(|| format!("cannot set up TLS to {}", self.addr))
    }

    fn addr(&self) -> &str {
        &self.addr
    }
}

/// A file the command needs (certificates, keys), or an error that names it.
pub fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    connect: ConnectArgs,
    /// A service key (as printed by `init` or `key issue`).
    #[arg(long, env = "IDENTITY_KEY", hide_env_values = true)]
    key: String,
}

impl ClientArgs {
    /// A channel to the service whose calls carry the key; `timeout` bounds each call
    /// (`None` for streams that last until interrupted).
    async fn connect(&self, timeout: Option<Duration>) -> anyhow::Result<AuthenticatedChannel> {
        let auth = BearerAuth::new(&self.key)
            .context("the key contains characters that cannot be sent")?;
        let mut endpoint = self.connect.endpoint(CONNECT_TIMEOUT)?;
        if let Some(timeout) = timeout {
            endpoint = endpoint.timeout(timeout);
        }
        let channel = endpoint.connect().await.with_context(|| {
            format!(
                "cannot reach the identity service at {}",
                self.connect.addr()
            )
        })?;
        Ok(tonic::service::interceptor::InterceptedService::new(
            channel, auth,
        ))
    }
}

/// How long a command waits to connect, and for each call.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const CALL_TIMEOUT: Option<Duration> = Some(Duration::from_secs(10));

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(tenants::TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// Read the change log.
    #[command(subcommand)]
    Events(events::EventsCommand),
    /// Read the provisioning log: what the SCIM gateway answered each tenant's identity
    /// provider.
    #[command(subcommand)]
    Provisioning(provisioning::ProvisioningCommand),
    /// Manage users' team roles.
    #[command(subcommand)]
    User(users::UserCommand),
    /// Links to the admin portal, for a tenant's admins.
    #[command(subcommand)]
    Portal(portal::PortalCommand),
}

impl AdminCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            AdminCommand::Tenant(command) => command.run().await,
            AdminCommand::Key(command) => command.run().await,
            AdminCommand::Events(command) => command.run().await,
            AdminCommand::Provisioning(command) => command.run().await,
            AdminCommand::User(command) => command.run().await,
            AdminCommand::Portal(command) => command.run().await,
        }
    }
}

/// Turns a gRPC error into a message that names its reason.
fn failure(status: tonic::Status) -> anyhow::Error {
    let details = status.get_error_details();
    let reason = details
        .error_info()
        .map(|info| format!(", {}", info.reason))
        .unwrap_or_default();
    anyhow::anyhow!("{} ({:?}{reason})", status.message(), status.code())
}

fn time(timestamp: Option<&prost_types::Timestamp>) -> String {
    timestamp.map_or_else(|| "-".to_owned(), |t| t.to_string())
}

/// Calls a paged list RPC until its last page: `fetch(page)` returns one page's items and its
/// page response; `each` sees every item in order.
async fn for_each_page<T, F, Fut>(mut fetch: F, mut each: impl FnMut(T)) -> anyhow::Result<()>
where
    F: FnMut(pb::PageRequest) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<pb::PageResponse>), tonic::Status>>,
{
    let mut page_token = String::new();
    loop {
        let (items, page) = fetch(pb::PageRequest {
            page_token,
            ..pb::PageRequest::default()
        })
        .await
        .map_err(failure)?;
        items.into_iter().for_each(&mut each);
        page_token = page.map(|page| page.next_page_token).unwrap_or_default();
        if page_token.is_empty() {
            return Ok(());
        }
    }
}

/// `90d`, `12h`, `30m`, `45s`.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{text:?}: add a unit (s, m, h or d)"))?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number followed by s, m, h or d"))?;
    let seconds_per_unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use s, m, h or d)"
            ));
        }
    };
    number
        .checked_mul(seconds_per_unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("{text:?}: too long"))
}

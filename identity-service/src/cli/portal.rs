//! `portal link`: a link to the admin portal for one of a tenant's admins.

use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;
use identity_proto::metadata;
use identity_proto::v1 as pb;
use identity_proto::v1::portal_client::PortalClient;

use super::{CALL_TIMEOUT, ClientArgs, failure, parse_duration, time};

#[derive(Debug, Subcommand)]
pub enum PortalCommand {
    /// Make a link that opens the admin portal once, as admin --acting-user of --tenant (give
    /// it to them, or redirect their browser to it). Prints the URL, a secret: do not log it.
    Link {
        #[arg(long)]
        tenant: String,
        /// The id of the tenant's admin the portal session acts as.
        #[arg(long)]
        acting_user: String,
        /// How long the link may wait to be followed, e.g. 15m, 1h, 2d (1 minute to 7 days).
        #[arg(long, value_parser = parse_duration, default_value = "1h")]
        ttl: Duration,
        /// Print `{"url": …, "expire_time": …}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

impl PortalCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            PortalCommand::Link {
                tenant,
                acting_user,
                ttl,
                json,
                client,
            } => {
                let mut portal = PortalClient::new(client.connect(CALL_TIMEOUT).await?);
                let mut request = tonic::Request::new(pb::CreatePortalLinkRequest {
                    tenant_id: tenant,
                    ttl: Some(prost_types::Duration {
                        seconds: i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX),
                        nanos: 0,
                    }),
                });
                request.metadata_mut().insert(
                    metadata::ACTING_USER_ID,
                    acting_user
                        .parse()
                        .context("--acting-user is not a user id")?,
                );
                let link = portal
                    .create_portal_link(request)
                    .await
                    .map_err(failure)?
                    .into_inner();
                let expire_time = time(link.expire_time.as_ref());
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"url": link.url, "expire_time": expire_time})
                    );
                } else {
                    println!("{}", link.url);
                    eprintln!("works once, until {expire_time}");
                }
                Ok(())
            }
        }
    }
}

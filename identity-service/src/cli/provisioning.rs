//! `provisioning log`: what the SCIM gateway answered a tenant's identity provider.

use std::time::SystemTime;

use clap::Subcommand;
use identity_proto::v1 as pb;
use identity_proto::v1::provisioning_log_client::ProvisioningLogClient;

use super::{CALL_TIMEOUT, ClientArgs, failure, parse_duration, time};

#[derive(Debug, Subcommand)]
pub enum ProvisioningCommand {
    /// The tenant's SCIM requests, newest first: status, SCIM error and detail, request id.
    Log {
        /// The tenant (required with a key over all tenants).
        #[arg(long)]
        tenant: Option<String>,
        /// Only failed requests (4xx and 5xx).
        #[arg(long)]
        failed: bool,
        /// Only requests since then: an age (`90m`, `24h`, `7d`) or an RFC 3339 time.
        #[arg(long, value_parser = since)]
        since: Option<prost_types::Timestamp>,
        /// Only requests about this user or group id.
        #[arg(long)]
        resource: Option<String>,
        /// Only the request with this x-request-id.
        #[arg(long)]
        request_id: Option<String>,
        /// At most this many requests.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// One JSON object per request (JSON Lines).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// An age before now, or an RFC 3339 time.
fn since(text: &str) -> Result<prost_types::Timestamp, String> {
    if let Ok(time) = text.parse::<prost_types::Timestamp>() {
        return Ok(time);
    }
    let age = parse_duration(text)
        .map_err(|error| format!("{error}; or give an RFC 3339 time (2026-12-01T09:00:00Z)"))?;
    let then = SystemTime::now()
        .checked_sub(age)
        .ok_or_else(|| format!("{text:?}: too long ago"))?;
    Ok(prost_types::Timestamp::from(then))
}

impl ProvisioningCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        let ProvisioningCommand::Log {
            tenant,
            failed,
            since,
            resource,
            request_id,
            limit,
            json,
            client,
        } = self;
        let mut log = ProvisioningLogClient::new(client.connect(CALL_TIMEOUT).await?);
        let mut request = pb::ListOutcomesRequest {
            tenant_id: tenant.unwrap_or_default(),
            status_class: if failed {
                pb::StatusClass::Failed.into()
            } else {
                pb::StatusClass::Unspecified.into()
            },
            start_time: since,
            resource_id: resource.unwrap_or_default(),
            request_id: request_id.unwrap_or_default(),
            ..Default::default()
        };
        let mut printed = 0;
        while printed < limit {
            request.page = Some(pb::PageRequest {
                page_size: i32::try_from((limit - printed).min(1000)).unwrap_or(1000),
                page_token: request
                    .page
                    .take()
                    .map(|page| page.page_token)
                    .unwrap_or_default(),
                ..Default::default()
            });
            let response = log
                .list_outcomes(request.clone())
                .await
                .map_err(failure)?
                .into_inner();
            for outcome in &response.outcomes {
                if json {
                    println!("{}", outcome_json(outcome));
                } else {
                    println!("{}", outcome_line(outcome));
                }
            }
            printed += response.outcomes.len();
            let next = response.page.unwrap_or_default().next_page_token;
            if next.is_empty() {
                break;
            }
            if let Some(page) = request.page.as_mut() {
                page.page_token = next;
            }
        }
        Ok(())
    }
}

fn latency_ms(outcome: &pb::ProvisioningOutcome) -> f64 {
    outcome.latency.map_or(0.0, |latency| {
        latency.seconds as f64 * 1000.0 + f64::from(latency.nanos) / 1_000_000.0
    })
}

fn outcome_json(outcome: &pb::ProvisioningOutcome) -> serde_json::Value {
    serde_json::json!({
        "sequence": outcome.sequence,
        "time": time(outcome.request_time.as_ref()),
        "tenant_id": outcome.tenant_id,
        "key_id": outcome.key_id,
        "request_id": outcome.request_id,
        "client_address": outcome.client_address,
        "user_agent": outcome.user_agent,
        "method": outcome.method,
        "route": outcome.route,
        "resource_id": outcome.resource_id,
        "status": outcome.status,
        "scim_type": outcome.scim_type,
        "detail": outcome.detail,
        "latency_ms": latency_ms(outcome),
    })
}

/// `TIME STATUS METHOD ROUTE [RESOURCE] [scimType: detail] (request ID, key KEY, N ms, UA)`
fn outcome_line(outcome: &pb::ProvisioningOutcome) -> String {
    let resource = if outcome.resource_id.is_empty() {
        String::new()
    } else {
        format!(" {}", outcome.resource_id)
    };
    let error = match (outcome.scim_type.as_str(), outcome.detail.as_str()) {
        (_, "") => String::new(),
        ("", detail) => format!(" {detail:?}"),
        (scim_type, detail) => format!(" {scim_type}: {detail:?}"),
    };
    format!(
        "{} {} {} {}{resource}{error} (request {}, key {}, {:.1} ms, {})",
        time(outcome.request_time.as_ref()),
        outcome.status,
        outcome.method,
        outcome.route,
        outcome.request_id,
        outcome.key_id,
        latency_ms(outcome),
        if outcome.user_agent.is_empty() {
            "no user agent"
        } else {
            &outcome.user_agent
        },
    )
}

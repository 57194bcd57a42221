//! `init` (on the database itself) and `healthcheck` (for container probes).

use std::time::Duration;

use anyhow::{Context as _, bail};
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::store::Store;

use super::{endpoint, failure};

/// Creates the default tenant and its first keys unless the database has a tenant already.
pub async fn init(
    store: &Store,
    tenant_name: &str,
    json: bool,
    new_scim_key: bool,
) -> anyhow::Result<()> {
    match bootstrap::initialise(store, tenant_name).await? {
        InitOutcome::Created {
            tenant,
            service_secret,
            scim_secret,
        } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "tenant_id": tenant.id,
                        "service_key": service_secret,
                        "scim_key": scim_secret,
                    })
                );
            } else {
                println!(
                    "Initialised: tenant {} ({}).",
                    tenant.id, tenant.fields.name
                );
                println!("Keys are shown this once; store them now.");
                println!("  service key (all tenants, read-write): {service_secret}");
                println!("  SCIM key (tenant {}): {scim_secret}", tenant.fields.name);
            }
        }
        InitOutcome::AlreadyDone { tenant } if new_scim_key => {
            let scim_secret =
                bootstrap::issue_scim_key(store, &tenant, "init: SCIM (reissued)").await?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({
                        "tenant_id": tenant.id,
                        "already_initialized": true,
                        "scim_key": scim_secret,
                    })
                );
            } else {
                println!(
                    "Already initialised (tenant {} \"{}\"); issued a new SCIM key, shown this once: {scim_secret}",
                    tenant.id, tenant.fields.name
                );
            }
        }
        InitOutcome::AlreadyDone { tenant } => {
            if json {
                println!(
                    "{}",
                    serde_json::json!({"tenant_id": tenant.id, "already_initialized": true})
                );
            } else {
                println!(
                    "Already initialised (tenant {} \"{}\" exists); nothing changed. Issue new keys with `identity-service key issue`.",
                    tenant.id, tenant.fields.name
                );
            }
        }
    }
    Ok(())
}

/// Succeeds when the service at `addr` reports SERVING.
pub async fn healthcheck(addr: &str, timeout: Duration) -> anyhow::Result<()> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let channel = endpoint(addr, timeout)?
        .timeout(timeout)
        .connect()
        .await
        .with_context(|| format!("cannot reach the identity service at {addr}"))?;
    let mut client = HealthClient::new(channel);
    let response = client
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map_err(failure)?
        .into_inner();
    if response.status() != ServingStatus::Serving {
        bail!(
            "the identity service at {addr} reports {:?}",
            response.status()
        );
    }
    println!("SERVING");
    Ok(())
}

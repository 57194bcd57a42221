//! `init` (on the database itself) and `healthcheck` (for container probes).

use std::time::Duration;

use anyhow::{Context as _, bail};
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::store::Store;

use super::{endpoint, failure};

/// Creates the default tenant and its first keys unless the database has a tenant already, and
/// prints what it did (with `json`, as one JSON object).
pub async fn init(
    store: &Store,
    tenant_name: &str,
    json: bool,
    new_scim_key: bool,
) -> anyhow::Result<()> {
    let (object, text) = match bootstrap::initialise(store, tenant_name).await? {
        InitOutcome::Created {
            tenant,
            service_secret,
            scim_secret,
        } => (
            serde_json::json!({
                "tenant_id": tenant.id.as_str(),
                "service_key": service_secret,
                "scim_key": scim_secret,
            }),
            format!(
                "Initialised: tenant {} ({}).\nKeys are shown this once; store them now.\n  \
                 service key (all tenants, read-write): {service_secret}\n  \
                 SCIM key (tenant {}): {scim_secret}",
                tenant.id, tenant.fields.name, tenant.fields.name
            ),
        ),
        InitOutcome::AlreadyDone { tenant } if new_scim_key => {
            let scim_secret = bootstrap::reissue_scim_key(store, &tenant).await?;
            (
                serde_json::json!({
                    "tenant_id": tenant.id.as_str(),
                    "already_initialized": true,
                    "scim_key": scim_secret,
                }),
                format!(
                    "Already initialised (tenant {} \"{}\"); issued a new SCIM key (the ones \
                     init issued before are revoked), shown this once: {scim_secret}",
                    tenant.id, tenant.fields.name
                ),
            )
        }
        InitOutcome::AlreadyDone { tenant } => (
            serde_json::json!({"tenant_id": tenant.id.as_str(), "already_initialized": true}),
            format!(
                "Already initialised (tenant {} \"{}\" exists); nothing changed. Issue new keys \
                 with `identity-service key issue`.",
                tenant.id, tenant.fields.name
            ),
        ),
    };
    if json {
        println!("{object}");
    } else {
        println!("{text}");
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

//! `init` (on the database itself) and `healthcheck` (for container probes).

use std::time::Duration;

use anyhow::{Context as _, bail};
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::store::Store;

use super::{ConnectArgs, failure};

/// What `init` issues anew when the database is initialised already.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reissue {
    /// A SCIM key for the tenant (the ones init issued before are revoked).
    pub scim_key: bool,
    /// A service key over all tenants, for an operator who lost theirs.
    pub service_key: bool,
}

/// Creates the default tenant and its first keys unless the database has a tenant already (then
/// issues what `reissue` asks for), and prints what it did (with `json`, as one JSON object).
pub async fn init(
    store: &Store,
    tenant_name: &str,
    json: bool,
    reissue: Reissue,
) -> anyhow::Result<()> {
    let tenant = match bootstrap::initialise(store, tenant_name).await? {
        InitOutcome::Created {
            tenant,
            service_secret,
            scim_secret,
        } => {
            if json {
                let object = serde_json::json!({
                    "tenant_id": tenant.id.as_str(),
                    "service_key": service_secret,
                    "scim_key": scim_secret,
                });
                println!("{object}");
            } else {
                println!(
                    "Initialised: tenant {} ({}).\nKeys are shown this once; store them now.\n  \
                     service key (all tenants, read-write): {service_secret}\n  \
                     SCIM key (tenant {}): {scim_secret}",
                    tenant.id, tenant.fields.name, tenant.fields.name
                );
            }
            return Ok(());
        }
        InitOutcome::AlreadyDone { tenant } => tenant,
    };
    let mut object =
        serde_json::json!({"tenant_id": tenant.id.as_str(), "already_initialized": true});
    let mut lines = Vec::new();
    if reissue.service_key {
        let secret = bootstrap::issue_service_key(store).await?;
        lines.push(format!(
            "New service key (all tenants, read-write), shown this once: {secret}"
        ));
        object["service_key"] = secret.into();
    }
    if reissue.scim_key {
        let secret = bootstrap::reissue_scim_key(store, &tenant).await?;
        lines.push(format!(
            "New SCIM key (the ones init issued before are revoked), shown this once: {secret}"
        ));
        object["scim_key"] = secret.into();
    }
    let outcome = if lines.is_empty() {
        "nothing changed. Issue new keys with `identity-service key issue`, or here with \
         --new-scim-key / --new-service-key"
    } else {
        "issued"
    };
    lines.insert(
        0,
        format!(
            "Already initialised (tenant {} \"{}\" exists); {outcome}.",
            tenant.id, tenant.fields.name
        ),
    );
    if json {
        println!("{object}");
    } else {
        println!("{}", lines.join("\n"));
    }
    Ok(())
}

/// Succeeds when the service at `addr` reports SERVING.
pub async fn healthcheck(connect: &ConnectArgs, timeout: Duration) -> anyhow::Result<()> {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let addr = connect.addr();
    let channel = connect
        .endpoint(timeout)?
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

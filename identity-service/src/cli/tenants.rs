//! `tenant …`: tenants, their SCIM switch and their verified domains.

use clap::{Subcommand, ValueEnum};
use identity_proto::v1 as pb;
use identity_proto::v1::tenants_client::TenantsClient;

use super::{CALL_TIMEOUT, ClientArgs, failure, for_each_page, time};

#[derive(Debug, Subcommand)]
pub enum TenantCommand {
    /// Create a tenant.
    Create {
        name: String,
        /// Enable SCIM provisioning for the tenant.
        #[arg(long)]
        scim_enabled: bool,
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List tenants.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// A tenant's verified domains (SCIM may change emails only to addresses in them).
    Domain {
        #[arg(value_enum)]
        action: DomainAction,
        /// The tenant.
        tenant: String,
        /// The domain (for add and remove).
        domain: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Turn SCIM provisioning on or off for a tenant (off: its SCIM keys get 403; data stays).
    Scim {
        #[arg(value_enum)]
        switch: ScimSwitch,
        /// The tenant.
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DomainAction {
    Add,
    List,
    Remove,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScimSwitch {
    Enable,
    Disable,
}

impl TenantCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            TenantCommand::Create {
                name,
                scim_enabled,
                json,
                client,
            } => {
                let mut tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
                let request = pb::CreateTenantRequest {
                    tenant: Some(pb::Tenant {
                        name,
                        scim_enabled,
                        ..pb::Tenant::default()
                    }),
                };
                let tenant = tenants
                    .create_tenant(request)
                    .await
                    .map_err(failure)?
                    .into_inner();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": tenant.id, "name": tenant.name, "scim_enabled": tenant.scim_enabled})
                    );
                } else {
                    println!("created tenant {} ({})", tenant.id, tenant.name);
                }
            }
            TenantCommand::Domain {
                action,
                tenant,
                domain,
                client,
            } => {
                let mut tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
                let named = || {
                    domain
                        .clone()
                        .ok_or_else(|| anyhow::anyhow!("name the domain to add or remove"))
                };
                let domains = match action {
                    DomainAction::Add => {
                        tenants
                            .add_verified_domain(pb::AddVerifiedDomainRequest {
                                tenant_id: tenant,
                                domain: named()?,
                            })
                            .await
                    }
                    DomainAction::Remove => {
                        tenants
                            .remove_verified_domain(pb::RemoveVerifiedDomainRequest {
                                tenant_id: tenant,
                                domain: named()?,
                            })
                            .await
                    }
                    DomainAction::List => {
                        tenants
                            .list_verified_domains(pb::ListVerifiedDomainsRequest {
                                tenant_id: tenant,
                            })
                            .await
                    }
                }
                .map_err(failure)?
                .into_inner()
                .domains;
                for domain in domains {
                    println!("{domain}");
                }
            }
            TenantCommand::Scim { switch, id, client } => {
                let mut tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
                let request = pb::UpdateTenantRequest {
                    tenant: Some(pb::Tenant {
                        id,
                        scim_enabled: switch == ScimSwitch::Enable,
                        ..pb::Tenant::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec![identity_proto::fields::tenant::SCIM_ENABLED.into()],
                    }),
                    expected_version: None,
                };
                let tenant = tenants
                    .update_tenant(request)
                    .await
                    .map_err(failure)?
                    .into_inner();
                println!(
                    "SCIM is {} for tenant {} ({})",
                    if tenant.scim_enabled {
                        "enabled"
                    } else {
                        "disabled"
                    },
                    tenant.id,
                    tenant.name
                );
            }
            TenantCommand::List { json, client } => {
                let tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
                let mut listed = Vec::new();
                if !json {
                    println!("{:<36}  {:<5}  NAME", "ID", "SCIM");
                }
                let fetch = |page| {
                    let mut tenants = tenants.clone();
                    async move {
                        let request = pb::ListTenantsRequest { page: Some(page) };
                        let response = tenants.list_tenants(request).await?.into_inner();
                        Ok((response.tenants, response.page))
                    }
                };
                for_each_page(fetch, |tenant: pb::Tenant| {
                    if json {
                        listed.push(serde_json::json!({
                            "id": tenant.id,
                            "name": tenant.name,
                            "scim_enabled": tenant.scim_enabled,
                            "create_time": time(tenant.create_time.as_ref()),
                        }));
                    } else {
                        let scim = if tenant.scim_enabled { "on" } else { "off" };
                        println!("{:<36}  {scim:<5}  {}", tenant.id, tenant.name);
                    }
                })
                .await?;
                if json {
                    println!("{}", serde_json::Value::Array(listed));
                }
            }
        }
        Ok(())
    }
}

//! Administrative commands. All but `init` talk to a running service over gRPC, so they go
//! through the same authentication and rules as every other client.

use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use identity_proto::v1 as pb;
use identity_proto::v1::tenants_client::TenantsClient;
use identity_proto::{AuthenticatedChannel, BearerAuth};
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::store::Store;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt as _;

#[derive(Debug, Args)]
pub struct ClientArgs {
    /// Address of the identity service.
    #[arg(long, env = "IDENTITY_ADDR", default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// A service key (as printed by `init` or `key issue`).
    #[arg(long, env = "IDENTITY_KEY", hide_env_values = true)]
    key: String,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Manage tenants.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Manage API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Read the change log.
    #[command(subcommand)]
    Events(EventsCommand),
    /// Manage users' team roles.
    #[command(subcommand)]
    User(UserCommand),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Member,
    Admin,
    SuperAdmin,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Set a user's role in its team (member, admin or super-admin).
    SetRole {
        /// The user.
        id: String,
        #[arg(value_enum)]
        role: RoleArg,
        /// The user's tenant (required with a key over all tenants).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print every event as it commits, one line each, until interrupted.
    Tail {
        /// Only this tenant's events (a key over all tenants sees every tenant's otherwise).
        #[arg(long)]
        tenant: Option<String>,
        /// Start after this sequence (0: from the oldest kept); default: from now.
        #[arg(long)]
        from: Option<i64>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

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

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    Scim,
    Service,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum AccessArg {
    ReadOnly,
    ReadWrite,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Issue a key and print its secret (shown this once).
    Issue {
        /// Tenant the key belongs to.
        #[arg(long, required_unless_present = "all_tenants")]
        tenant: Option<String>,
        /// A service key over every tenant instead.
        #[arg(long, conflicts_with = "tenant")]
        all_tenants: bool,
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Service keys only.
        #[arg(long, value_enum, default_value_t = AccessArg::ReadWrite)]
        access: AccessArg,
        #[arg(long, default_value = "")]
        name: String,
        /// Lifetime, e.g. 90d, 12h, 30m.
        #[arg(long, value_parser = parse_duration)]
        expires_in: Option<Duration>,
        /// Print `{"id":…,"secret":…}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List a tenant's keys (never their secrets).
    List {
        #[arg(long, required_unless_present = "all_tenants")]
        tenant: Option<String>,
        #[arg(long, conflicts_with = "tenant")]
        all_tenants: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Replace a key: a new one (secret shown once) with the same tenant, kind, access and
    /// name; the old one stops working at once, or after --grace.
    Rotate {
        id: String,
        /// How long the old key keeps working, e.g. 24h.
        #[arg(long, value_parser = parse_duration)]
        grace: Option<Duration>,
        /// Print `{"id":…,"secret":…,"retired":…}`.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Revoke a key: it stops working at once.
    Revoke {
        id: String,
        #[command(flatten)]
        client: ClientArgs,
    },
}

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

async fn channel(addr: &str, timeout: Duration) -> anyhow::Result<Channel> {
    endpoint(addr, timeout)?
        .timeout(timeout)
        .connect()
        .await
        .with_context(|| format!("cannot reach the identity service at {addr}"))
}

fn endpoint(addr: &str, connect_timeout: Duration) -> anyhow::Result<Endpoint> {
    Ok(Endpoint::from_shared(addr.to_owned())
        .with_context(|| format!("invalid address {addr:?}"))?
        .connect_timeout(connect_timeout))
}

/// Follows the change log, printing one line per event.
async fn tail_events(
    tenant: Option<String>,
    from: Option<i64>,
    client: &ClientArgs,
) -> anyhow::Result<()> {
    use identity_proto::v1::events_client::EventsClient;
    use pb::watch_events_request::Start;
    let auth =
        BearerAuth::new(&client.key).context("the key contains characters that cannot be sent")?;
    // No request timeout: the stream lasts until interrupted.
    let channel = endpoint(&client.addr, Duration::from_secs(10))?
        .connect()
        .await
        .with_context(|| format!("cannot reach the identity service at {}", client.addr))?;
    let mut events = EventsClient::with_interceptor(channel, auth);
    let request = pb::WatchEventsRequest {
        tenant_id: tenant.unwrap_or_default(),
        start: Some(match from {
            Some(after) => Start::AfterSequence(after),
            None => Start::FromNow(true),
        }),
    };
    let mut stream = events
        .watch_events(request)
        .await
        .map_err(failure)?
        .into_inner();
    while let Some(event) = stream.message().await.map_err(failure)? {
        println!("{}", event_line(&event));
    }
    Ok(())
}

/// `SEQ TIME TENANT ACTION TYPE/ID by KIND:KEY [request ID] field: old -> new; ...`
fn event_line(event: &pb::Event) -> String {
    let actor = event.actor.clone().unwrap_or_default();
    let kind = match pb::ApiKeyKind::try_from(actor.key_kind) {
        Ok(pb::ApiKeyKind::Service) => "service",
        Ok(pb::ApiKeyKind::Scim) => "scim",
        _ => "system",
    };
    let changes: Vec<String> = event
        .changes
        .iter()
        .map(|change| {
            format!(
                "{}: {} -> {}",
                change.field,
                change.old_value_json.as_deref().unwrap_or("-"),
                change.new_value_json.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let tenant = if event.tenant_id.is_empty() {
        "-"
    } else {
        &event.tenant_id
    };
    let request = if event.request_id.is_empty() {
        String::new()
    } else {
        format!(" [request {}]", event.request_id)
    };
    format!(
        "{} {} {} {} {}/{} by {kind}:{}{request} {}",
        event.sequence,
        time(event.create_time.as_ref()),
        tenant,
        event.action,
        event.resource_type,
        event.resource_id,
        actor.key_id,
        changes.join("; ")
    )
}

/// A Tenants client that sends the caller's key with every request.
async fn connect(args: &ClientArgs) -> anyhow::Result<TenantsClient<AuthenticatedChannel>> {
    let auth =
        BearerAuth::new(&args.key).context("the key contains characters that cannot be sent")?;
    let channel = channel(&args.addr, Duration::from_secs(10)).await?;
    Ok(TenantsClient::with_interceptor(channel, auth))
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

impl AdminCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            AdminCommand::User(UserCommand::SetRole {
                id,
                role,
                tenant,
                client,
            }) => {
                use identity_proto::v1::users_client::UsersClient;
                let auth = BearerAuth::new(&client.key)
                    .context("the key contains characters that cannot be sent")?;
                let channel = channel(&client.addr, Duration::from_secs(10)).await?;
                let mut users = UsersClient::with_interceptor(channel, auth);
                let role = match role {
                    RoleArg::Member => pb::Role::Member,
                    RoleArg::Admin => pb::Role::Admin,
                    RoleArg::SuperAdmin => pb::Role::SuperAdmin,
                };
                let user = users
                    .set_user_role(pb::SetUserRoleRequest {
                        tenant_id: tenant.unwrap_or_default(),
                        user_id: id,
                        role: role.into(),
                    })
                    .await
                    .map_err(failure)?
                    .into_inner();
                println!(
                    "{} ({}) is now {}",
                    user.user_name,
                    user.id,
                    user.role()
                        .as_str_name()
                        .trim_start_matches("ROLE_")
                        .to_lowercase()
                );
            }
            AdminCommand::Events(EventsCommand::Tail {
                tenant,
                from,
                client,
            }) => tail_events(tenant, from, &client).await?,
            AdminCommand::Tenant(TenantCommand::Create {
                name,
                scim_enabled,
                json,
                client,
            }) => {
                let mut tenants = connect(&client).await?;
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
            AdminCommand::Tenant(TenantCommand::Domain {
                action,
                tenant,
                domain,
                client,
            }) => {
                let mut tenants = connect(&client).await?;
                let named = || {
                    domain
                        .clone()
                        .ok_or_else(|| anyhow::anyhow!("name the domain to add or remove"))
                };
                let domains = match action {
                    DomainAction::Add => {
                        tenants
                            .add_verified_domain(pb::VerifiedDomainRequest {
                                tenant_id: tenant,
                                domain: named()?,
                            })
                            .await
                    }
                    DomainAction::Remove => {
                        tenants
                            .remove_verified_domain(pb::VerifiedDomainRequest {
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
            AdminCommand::Tenant(TenantCommand::Scim { switch, id, client }) => {
                let mut tenants = connect(&client).await?;
                let request = pb::UpdateTenantRequest {
                    tenant: Some(pb::Tenant {
                        id,
                        scim_enabled: switch == ScimSwitch::Enable,
                        ..pb::Tenant::default()
                    }),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["scim_enabled".into()],
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
            AdminCommand::Tenant(TenantCommand::List { client }) => {
                let mut tenants = connect(&client).await?;
                let mut page_token = String::new();
                println!("{:<36}  {:<5}  NAME", "ID", "SCIM");
                loop {
                    let request = pb::ListTenantsRequest {
                        page: Some(pb::PageRequest {
                            page_token: page_token.clone(),
                            ..pb::PageRequest::default()
                        }),
                    };
                    let response = tenants
                        .list_tenants(request)
                        .await
                        .map_err(failure)?
                        .into_inner();
                    for tenant in response.tenants {
                        let scim = if tenant.scim_enabled { "on" } else { "off" };
                        println!("{:<36}  {scim:<5}  {}", tenant.id, tenant.name);
                    }
                    page_token = response
                        .page
                        .map(|page| page.next_page_token)
                        .unwrap_or_default();
                    if page_token.is_empty() {
                        break;
                    }
                }
            }
            AdminCommand::Key(KeyCommand::Issue {
                tenant,
                all_tenants,
                kind,
                access,
                name,
                expires_in,
                json,
                client,
            }) => {
                let mut tenants = connect(&client).await?;
                let expire_time = expires_in.map(|lifetime| {
                    prost_types::Timestamp::from(std::time::SystemTime::now() + lifetime)
                });
                let request = pb::IssueApiKeyRequest {
                    tenant_id: tenant.unwrap_or_default(),
                    all_tenants,
                    kind: match kind {
                        KindArg::Scim => pb::ApiKeyKind::Scim,
                        KindArg::Service => pb::ApiKeyKind::Service,
                    }
                    .into(),
                    access: match access {
                        AccessArg::ReadOnly => pb::ApiKeyAccess::ReadOnly,
                        AccessArg::ReadWrite => pb::ApiKeyAccess::ReadWrite,
                    }
                    .into(),
                    name,
                    expire_time,
                };
                let issued = tenants
                    .issue_api_key(request)
                    .await
                    .map_err(failure)?
                    .into_inner();
                let key = issued.key.context("the service answered without the key")?;
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": key.id, "secret": issued.secret})
                    );
                } else {
                    println!("issued key {} ({})", key.id, key.prefix);
                    println!("secret (shown once): {}", issued.secret);
                }
            }
            AdminCommand::Key(KeyCommand::List {
                tenant,
                all_tenants,
                client,
            }) => {
                let mut tenants = connect(&client).await?;
                let mut page_token = String::new();
                println!(
                    "{:<36}  {:<7}  {:<10}  {:<7}  {:<15}  {:<27}  {:<27}  {:<36}  NAME",
                    "ID", "KIND", "ACCESS", "STATE", "PREFIX", "CREATED", "LAST USED", "CREATED BY"
                );
                loop {
                    let request = pb::ListApiKeysRequest {
                        tenant_id: tenant.clone().unwrap_or_default(),
                        all_tenants,
                        page: Some(pb::PageRequest {
                            page_token: page_token.clone(),
                            ..pb::PageRequest::default()
                        }),
                    };
                    let response = tenants
                        .list_api_keys(request)
                        .await
                        .map_err(failure)?
                        .into_inner();
                    for key in response.keys {
                        let kind = match key.kind() {
                            pb::ApiKeyKind::Scim => "scim",
                            _ => "service",
                        };
                        let access = match key.access() {
                            pb::ApiKeyAccess::ReadOnly => "read-only",
                            _ => "read-write",
                        };
                        let state = match key.state() {
                            pb::ApiKeyState::Active => "ACTIVE",
                            pb::ApiKeyState::Revoked => "REVOKED",
                            pb::ApiKeyState::Expired => "EXPIRED",
                            pb::ApiKeyState::Unspecified => "?",
                        };
                        println!(
                            "{:<36}  {kind:<7}  {access:<10}  {state:<7}  {:<15}  {:<27}  {:<27}  {:<36}  {}",
                            key.id,
                            key.prefix,
                            time(key.create_time.as_ref()),
                            time(key.last_use_time.as_ref()),
                            key.created_by,
                            key.name
                        );
                    }
                    page_token = response
                        .page
                        .map(|page| page.next_page_token)
                        .unwrap_or_default();
                    if page_token.is_empty() {
                        break;
                    }
                }
            }
            AdminCommand::Key(KeyCommand::Rotate {
                id,
                grace,
                json,
                client,
            }) => {
                let mut tenants = connect(&client).await?;
                let request = pb::RotateApiKeyRequest {
                    id,
                    grace_period: grace.map(|grace| prost_types::Duration {
                        seconds: i64::try_from(grace.as_secs()).unwrap_or(i64::MAX),
                        nanos: 0,
                    }),
                };
                let rotated = tenants
                    .rotate_api_key(request)
                    .await
                    .map_err(failure)?
                    .into_inner();
                let key = rotated.key.unwrap_or_default();
                let retired = rotated.retired.unwrap_or_default();
                if json {
                    println!(
                        "{}",
                        serde_json::json!({"id": key.id, "secret": rotated.secret, "retired": retired.id})
                    );
                } else {
                    println!(
                        "new key {} ({}); its secret, shown this once:",
                        key.id, key.prefix
                    );
                    println!("  {}", rotated.secret);
                    match retired.revoke_time.as_ref() {
                        Some(at) => println!("old key {} revoked at {at}", retired.id),
                        None => println!(
                            "old key {} keeps working until {}",
                            retired.id,
                            time(retired.expire_time.as_ref())
                        ),
                    }
                }
            }
            AdminCommand::Key(KeyCommand::Revoke { id, client }) => {
                let mut tenants = connect(&client).await?;
                let request = pb::RevokeApiKeyRequest { id };
                let key = tenants
                    .revoke_api_key(request)
                    .await
                    .map_err(failure)?
                    .into_inner();
                println!(
                    "revoked key {} ({}) at {}",
                    key.id,
                    key.prefix,
                    time(key.revoke_time.as_ref())
                );
            }
        }
        Ok(())
    }
}

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
    let mut client = HealthClient::new(channel(addr, timeout).await?);
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

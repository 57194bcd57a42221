//! `key …`: issuing, listing, rotating and revoking API keys.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use identity_proto::v1 as pb;
use identity_proto::v1::tenants_client::TenantsClient;

use super::{CALL_TIMEOUT, ClientArgs, failure, for_each_page, parse_duration, time};

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
        /// Only keys in this state.
        #[arg(long, value_enum)]
        state: Option<StateArg>,
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateArg {
    Active,
    Retiring,
    Revoked,
    Expired,
}

impl StateArg {
    fn matches(self, key: &pb::ApiKey) -> bool {
        let wanted = match self {
            StateArg::Active => pb::ApiKeyState::Active,
            StateArg::Retiring => pb::ApiKeyState::Retiring,
            StateArg::Revoked => pb::ApiKeyState::Revoked,
            StateArg::Expired => pb::ApiKeyState::Expired,
        };
        key.state() == wanted
    }
}

impl KeyCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            KeyCommand::Issue {
                tenant,
                all_tenants,
                kind,
                access,
                name,
                expires_in,
                json,
                client,
            } => {
                let mut tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
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
            KeyCommand::List {
                tenant,
                all_tenants,
                state,
                json,
                client,
            } => {
                let tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
                let mut listed = Vec::new();
                if !json {
                    println!(
                        "{:<36}  {:<7}  {:<10}  {:<7}  {:<15}  {:<27}  {:<27}  {:<27}  {:<36}  NAME",
                        "ID",
                        "KIND",
                        "ACCESS",
                        "STATE",
                        "PREFIX",
                        "CREATED",
                        "EXPIRES",
                        "LAST USED",
                        "CREATED BY"
                    );
                }
                let fetch = |page| {
                    let mut tenants = tenants.clone();
                    let request = pb::ListApiKeysRequest {
                        tenant_id: tenant.clone().unwrap_or_default(),
                        all_tenants,
                        page: Some(page),
                    };
                    async move {
                        let response = tenants.list_api_keys(request).await?.into_inner();
                        Ok((response.keys, response.page))
                    }
                };
                for_each_page(fetch, |key| {
                    if state.is_some_and(|state| !state.matches(&key)) {
                        return;
                    }
                    if json {
                        listed.push(key_json(&key));
                    } else {
                        println!("{}", key_line(&key));
                    }
                })
                .await?;
                if json {
                    println!("{}", serde_json::Value::Array(listed));
                }
            }
            KeyCommand::Rotate {
                id,
                grace,
                json,
                client,
            } => {
                let mut tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
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
            KeyCommand::Revoke { id, client } => {
                let mut tenants = TenantsClient::new(client.connect(CALL_TIMEOUT).await?);
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

/// A key's kind, access and state as the CLI names them.
fn key_words(key: &pb::ApiKey) -> (&'static str, &'static str, &'static str) {
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
        pb::ApiKeyState::Retiring => "RETIRING",
        pb::ApiKeyState::Revoked => "REVOKED",
        pb::ApiKeyState::Expired => "EXPIRED",
        pb::ApiKeyState::Unspecified => "?",
    };
    (kind, access, state)
}

/// One row of `key list`.
fn key_line(key: &pb::ApiKey) -> String {
    let (kind, access, state) = key_words(key);
    format!(
        "{:<36}  {kind:<7}  {access:<10}  {state:<8}  {:<15}  {:<27}  {:<27}  {:<27}  {:<36}  {}",
        key.id,
        key.prefix,
        time(key.create_time.as_ref()),
        time(key.expire_time.as_ref()),
        time(key.last_use_time.as_ref()),
        key.created_by,
        key.name
    )
}

/// One element of `key list --json` (never a secret: the API has none to give).
fn key_json(key: &pb::ApiKey) -> serde_json::Value {
    let (kind, access, state) = key_words(key);
    let optional = |time: Option<&prost_types::Timestamp>| time.map(ToString::to_string);
    serde_json::json!({
        "id": key.id,
        "tenant_id": key.tenant_id,
        "kind": kind,
        "access": access,
        "state": state,
        "name": key.name,
        "prefix": key.prefix,
        "create_time": time(key.create_time.as_ref()),
        "expire_time": optional(key.expire_time.as_ref()),
        "revoke_time": optional(key.revoke_time.as_ref()),
        "last_use_time": optional(key.last_use_time.as_ref()),
        "created_by": key.created_by,
    })
}

//! `user …`: team roles and bulk imports.

use std::io::BufRead as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Subcommand, ValueEnum};
use identity_proto::MAX_IMPORTED_USERS;
use identity_proto::v1 as pb;
use identity_proto::v1::users_client::UsersClient;
use serde::Deserialize;

use super::{CALL_TIMEOUT, ClientArgs, failure};

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
    /// Create users in bulk from JSON Lines: one user per line, e.g.
    /// `{"userName": "ada@example.com", "givenName": "Ada", "familyName": "Lovelace",
    /// "emails": [{"value": "ada@example.com", "primary": true}]}` (also `externalId`,
    /// `displayName`, `active`, default true; snake_case names too). Sent 1,000 at a time, each
    /// thousand created in one transaction or not at all.
    Import {
        /// The file to read (`-`: standard input).
        file: PathBuf,
        /// The users' tenant (required with a key over all tenants).
        #[arg(long)]
        tenant: Option<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
}

/// One line of an import file: the writable fields of `identity.v1.User`, named as in its JSON
/// form (lowerCamelCase) or as in the proto (snake_case).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ImportedUser {
    #[serde(alias = "user_name")]
    user_name: String,
    #[serde(alias = "external_id")]
    external_id: Option<String>,
    #[serde(alias = "display_name")]
    display_name: Option<String>,
    #[serde(alias = "given_name")]
    given_name: Option<String>,
    #[serde(alias = "family_name")]
    family_name: Option<String>,
    #[serde(default)]
    emails: Vec<ImportedEmail>,
    #[serde(default = "active_by_default")]
    active: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImportedEmail {
    value: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    primary: bool,
    #[serde(default)]
    display: String,
}

fn active_by_default() -> bool {
    true
}

impl From<ImportedUser> for pb::User {
    fn from(user: ImportedUser) -> pb::User {
        pb::User {
            user_name: user.user_name,
            external_id: user.external_id,
            display_name: user.display_name,
            given_name: user.given_name,
            family_name: user.family_name,
            emails: user
                .emails
                .into_iter()
                .map(|email| pb::Email {
                    value: email.value,
                    r#type: email.kind,
                    primary: email.primary,
                    display: email.display,
                })
                .collect(),
            active: user.active,
            ..pb::User::default()
        }
    }
}

/// A batch of a thousand users may take a while on a busy database.
const IMPORT_CALL_TIMEOUT: Option<Duration> = Some(Duration::from_secs(120));

/// Sends the users of `lines` a thousand at a time; returns how many were created.
async fn import(
    users: &mut UsersClient<identity_proto::AuthenticatedChannel>,
    tenant_id: &str,
    lines: impl Iterator<Item = std::io::Result<String>>,
) -> anyhow::Result<usize> {
    let mut imported = 0;
    let mut batch = Vec::with_capacity(MAX_IMPORTED_USERS);
    let mut first_line = 1;
    let mut lines = lines.enumerate().peekable();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        let line = line.with_context(|| format!("reading line {number}"))?;
        if !line.trim().is_empty() {
            let user: ImportedUser =
                serde_json::from_str(&line).with_context(|| format!("line {number}"))?;
            batch.push(pb::User::from(user));
        }
        if batch.len() == MAX_IMPORTED_USERS || (lines.peek().is_none() && !batch.is_empty()) {
            let sent = batch.len();
            users
                .import_users(pb::ImportUsersRequest {
                    tenant_id: tenant_id.to_owned(),
                    users: std::mem::take(&mut batch),
                })
                .await
                .map_err(failure)
                .with_context(|| {
                    format!(
                        "lines {first_line}-{number} were not imported (users[i] is the i-th user \
                         of these lines); {imported} users before them were"
                    )
                })?;
            imported += sent;
            first_line = number + 1;
            if imported % 100_000 == 0 {
                eprintln!("{imported} users imported");
            }
        }
    }
    Ok(imported)
}

impl UserCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        match self {
            UserCommand::SetRole {
                id,
                role,
                tenant,
                client,
            } => set_role(id, role, tenant, client).await,
            UserCommand::Import {
                file,
                tenant,
                client,
            } => {
                let mut users = UsersClient::new(client.connect(IMPORT_CALL_TIMEOUT).await?);
                let tenant = tenant.unwrap_or_default();
                let imported = if file.as_os_str() == "-" {
                    import(&mut users, &tenant, std::io::stdin().lock().lines()).await?
                } else {
                    let opened = std::fs::File::open(&file)
                        .with_context(|| format!("cannot open {}", file.display()))?;
                    import(&mut users, &tenant, std::io::BufReader::new(opened).lines()).await?
                };
                println!("{imported} users imported");
                Ok(())
            }
        }
    }
}

async fn set_role(
    id: String,
    role: RoleArg,
    tenant: Option<String>,
    client: ClientArgs,
) -> anyhow::Result<()> {
    let mut users = UsersClient::new(client.connect(CALL_TIMEOUT).await?);
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
    Ok(())
}

//! `user …`: team roles.

use clap::{Subcommand, ValueEnum};
use identity_proto::v1 as pb;
use identity_proto::v1::users_client::UsersClient;

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
}

impl UserCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        let UserCommand::SetRole {
            id,
            role,
            tenant,
            client,
        } = self;
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
}

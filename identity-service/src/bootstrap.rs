//! First run: the default tenant and the keys an operator needs to start.

use crate::auth::{self, RandomError};
use crate::model::{KeyAccess, KeyKind, KeyScope, Tenant, TenantFields};
use crate::store::{Initialisation, Store, StoreError};

/// What `init` did. Secrets appear here once and are never stored.
pub enum InitOutcome {
    Created {
        tenant: Tenant,
        /// A read-write service key over every tenant.
        service_secret: String,
        /// A SCIM key for the tenant.
        scim_secret: String,
    },
    AlreadyDone {
        tenant: Tenant,
    },
}

impl std::fmt::Debug for InitOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitOutcome::Created { tenant, .. } => f
                .debug_struct("Created")
                .field("tenant", &tenant.id)
                .finish_non_exhaustive(),
            InitOutcome::AlreadyDone { tenant } => f
                .debug_struct("AlreadyDone")
                .field("tenant", &tenant.id)
                .finish(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

/// Creates a tenant named `tenant_name` (SCIM enabled), a service key over all tenants and a
/// SCIM key for the tenant, in one transaction — unless the database has a tenant already, in
/// which case nothing changes.
pub async fn initialise(store: &Store, tenant_name: &str) -> Result<InitOutcome, InitError> {
    let (service_key, service_secret) = auth::new_key(
        KeyScope::AllTenants,
        KeyKind::Service,
        KeyAccess::ReadWrite,
        "init: administrator".to_owned(),
        None,
    )?;
    let (scim_template, scim_secret) = auth::new_key(
        KeyScope::AllTenants,
        KeyKind::Scim,
        KeyAccess::ReadWrite,
        INIT_SCIM_KEY.to_owned(),
        None,
    )?;
    let tenant = TenantFields {
        name: tenant_name.to_owned(),
        scim_enabled: true,
        settings: "{}".to_owned(),
    };
    let outcome = store
        .initialise(tenant, service_key, move |tenant| {
            let mut scim_key = scim_template;
            scim_key.scope = KeyScope::Tenant(tenant.id.clone());
            scim_key
        })
        .await?;
    Ok(match outcome {
        Initialisation::Created { tenant } => InitOutcome::Created {
            tenant,
            service_secret,
            scim_secret,
        },
        Initialisation::AlreadyDone { tenant } => InitOutcome::AlreadyDone { tenant },
    })
}

/// Issues a read-write service key over all tenants directly in the database: the way back for
/// an operator who has the database but lost the service key.
pub async fn issue_service_key(store: &Store) -> Result<String, InitError> {
    let (key, secret) = auth::new_key(
        KeyScope::AllTenants,
        KeyKind::Service,
        KeyAccess::ReadWrite,
        "init: administrator (reissued)".to_owned(),
        None,
    )?;
    store.create_api_key(key).await?;
    Ok(secret)
}

/// The names of the SCIM keys `init` issues: on the first run, and on later runs with
/// `--new-scim-key`.
const INIT_SCIM_KEY: &str = "init: SCIM";
const REISSUED_SCIM_KEY: &str = "init: SCIM (reissued)";

/// Issues a SCIM key for `tenant` directly in the database (an operator with the database file
/// needs no API key) and revokes the ones `init` issued before: the quick start prints a usable
/// key on every run without piling up active keys. Keys an admin issued are not touched.
pub async fn reissue_scim_key(store: &Store, tenant: &Tenant) -> Result<String, InitError> {
    let (key, secret) = auth::new_key(
        KeyScope::Tenant(tenant.id.clone()),
        KeyKind::Scim,
        KeyAccess::ReadWrite,
        REISSUED_SCIM_KEY.to_owned(),
        None,
    )?;
    store
        .replace_system_scim_key(key, &[INIT_SCIM_KEY, REISSUED_SCIM_KEY])
        .await?;
    Ok(secret)
}

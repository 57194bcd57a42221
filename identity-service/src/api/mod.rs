//! The gRPC services of `identity.v1`: transport — authentication, validation and conversion
//! around the store. Who may do what is [`crate::policy`]'s to say: the [`AuthenticateLayer`]
//! asks it for every call, and every handler starts from what it established ([`authorized`]).

mod authenticate;
mod convert;
mod events;
mod groups;
mod paging;
mod portal;
mod provisioning;
mod shed;
mod tenants;
mod users;
pub(crate) mod validate;

pub(crate) use authenticate::{AuthenticateLayer, Authorized};
pub(crate) use events::EventsApi;
pub use events::WatchOptions;
pub(crate) use groups::GroupsApi;
pub(crate) use portal::PortalApi;
pub(crate) use provisioning::ProvisioningLogApi;
pub(crate) use shed::ShedLayer;
pub(crate) use tenants::TenantsApi;
pub(crate) use users::UsersApi;

use identity_proto::fields::ALL_FIELDS;
use identity_proto::metadata;
use tonic::Request;

use crate::error::ApiError;
use crate::model::{Actor, Audit, KeyScope, Resource, TenantId};
use crate::policy::{Caller, Rpc};
use crate::store::Store;

/// The caller the [`AuthenticateLayer`] established for this call of `rpc`, and the store acting
/// for it (its writes are decided again inside their transactions, and logged with the caller's
/// key and the request id).
fn authorized<T>(
    store: &Store,
    request: &Request<T>,
    rpc: Rpc,
) -> Result<(Caller, Store), ApiError> {
    let caller = match request.extensions().get::<Authorized>() {
        Some(authorized) if authorized.rpc == rpc => authorized.caller.clone(),
        // Served without the layer, or routed to another handler: never decided, so refused.
        other => {
            tracing::error!(
                rpc = rpc.name(),
                layer = other.map_or("none", |authorized| authorized.rpc.name()),
                "call not authenticated by the layer"
            );
            return Err(ApiError::Internal);
        }
    };
    let audit = Audit {
        actor: Actor {
            key_id: caller.key_id.clone(),
            key_kind: caller.key_kind().to_owned(),
            user_id: caller
                .acting
                .as_ref()
                .map(|acting| acting.user_id.to_string()),
        },
        request_id: request_id(request),
    };
    let store = store.acting_as(caller.clone(), audit);
    Ok((caller, store))
}

/// The request id a call carries, when it is one the service keeps.
fn request_id<T>(request: &Request<T>) -> Option<String> {
    request
        .metadata()
        .get(metadata::REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|id| metadata::is_valid_request_id(id))
        .map(str::to_owned)
}

/// The paths of an update mask, with `*` expanded to every updatable field.
fn mask_paths<'a>(
    mask: Option<&'a prost_types::FieldMask>,
    updatable: &'a [&'a str],
) -> Result<Vec<&'a str>, ApiError> {
    let paths: Vec<&str> = mask
        .map(|mask| mask.paths.iter().map(String::as_str).collect())
        .unwrap_or_default();
    if paths.is_empty() {
        return Err(ApiError::invalid(
            "update_mask",
            format!(
                "required: name the fields to update ({}), or \"*\"",
                updatable.join(", ")
            ),
        ));
    }
    if paths.contains(&ALL_FIELDS) {
        return Ok(updatable.to_vec());
    }
    for path in &paths {
        if !updatable.contains(path) {
            return Err(ApiError::invalid(
                "update_mask",
                format!(
                    "cannot update {path:?}; updatable fields: {}",
                    updatable.join(", ")
                ),
            ));
        }
    }
    Ok(paths)
}

impl Caller {
    /// The tenant a call acts on. A tenant-scoped key may leave `requested` empty; naming
    /// another tenant answers NOT_FOUND, exactly as for a tenant that does not exist.
    pub(crate) fn tenant_for(&self, requested: &str) -> Result<TenantId, ApiError> {
        // A person acts within their own tenant only.
        if let Some(acting) = &self.acting {
            if requested.is_empty() || requested == acting.tenant_id {
                return Ok(acting.tenant_id.clone());
            }
            return Err(ApiError::NotFound(Resource::Tenant));
        }
        match &self.scope {
            KeyScope::Tenant(own) if requested.is_empty() || requested == *own => Ok(own.clone()),
            KeyScope::Tenant(_) => Err(ApiError::NotFound(Resource::Tenant)),
            KeyScope::AllTenants if requested.is_empty() => Err(ApiError::invalid(
                "tenant_id",
                "required with a key that spans all tenants",
            )),
            KeyScope::AllTenants => validate::id("tenant_id", requested),
        }
    }
}

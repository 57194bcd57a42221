//! `identity.v1.Tenants`: tenants and their API keys.

use identity_proto::v1 as pb;
use identity_proto::v1::tenants_server::Tenants;
use tonic::{Request, Response, Status};

use super::convert::{api_key_to_pb, micros, tenant_to_pb};
use super::paging::{page_query, page_response};
use super::validate::{self, MAX_NAME_CHARS, Violations};
use super::{authorized, mask_paths};
use crate::auth;
use crate::error::ApiError;
use crate::model::{
    KeyAccess, KeyKind, KeyScope, Resource, TenantChanges, TenantFields, now_micros,
};
use crate::policy::{self, Rpc};
use crate::store::Store;

use identity_proto::fields::tenant as fields;

#[derive(Debug, Clone)]
pub(crate) struct TenantsApi {
    store: Store,
}

impl TenantsApi {
    pub fn new(store: Store) -> Self {
        TenantsApi { store }
    }

    /// Adds (`verified`) or removes a verified domain; `target` names the tenant and domain.
    async fn set_verified_domain<T>(
        &self,
        request: Request<T>,
        target: fn(&T) -> (&str, &str),
        verified: bool,
    ) -> Result<Response<pb::ListVerifiedDomainsResponse>, Status> {
        let rpc = if verified {
            Rpc::AddVerifiedDomain
        } else {
            Rpc::RemoveVerifiedDomain
        };
        let (caller, store) = authorized(&self.store, &request, rpc)?;
        let (tenant_id, domain) = target(request.get_ref());
        let tenant_id = caller.tenant_for(tenant_id)?;
        let domain = validate::domain("domain", domain)?;
        let domains = store
            .set_verified_domain(&tenant_id, &domain, verified)
            .await?;
        Ok(Response::new(pb::ListVerifiedDomainsResponse { domains }))
    }
}

#[tonic::async_trait]
impl Tenants for TenantsApi {
    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let (_, store) = authorized(&self.store, &request, Rpc::CreateTenant)?;
        let tenant = request
            .into_inner()
            .tenant
            .ok_or_else(|| ApiError::invalid("tenant", "required"))?;
        let mut violations = Violations::default();
        violations.name("tenant.name", &tenant.name);
        let settings = violations.json_object("tenant.settings", tenant.settings.as_ref());
        violations.finish()?;
        let created = store
            .create_tenant(TenantFields {
                name: tenant.name,
                scim_enabled: tenant.scim_enabled,
                settings,
            })
            .await?;
        tracing::info!(tenant_id = %created.id, "tenant created");
        Ok(Response::new(tenant_to_pb(created)))
    }

    async fn get_tenant(
        &self,
        request: Request<pb::GetTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::GetTenant)?;
        let tenant_id = caller.tenant_for(&request.get_ref().id)?;
        let tenant = store.get_tenant(&tenant_id).await?;
        Ok(Response::new(tenant_to_pb(tenant)))
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        let (_, store) = authorized(&self.store, &request, Rpc::ListTenants)?;
        let page = page_query(request.get_ref().page.as_ref())?;
        let tenants = store.list_tenants(page).await?;
        let page = page_response(&tenants, |tenant| (tenant.created_at, tenant.id.as_str()));
        Ok(Response::new(pb::ListTenantsResponse {
            tenants: tenants.items.into_iter().map(tenant_to_pb).collect(),
            page: Some(page),
        }))
    }

    async fn update_tenant(
        &self,
        request: Request<pb::UpdateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::UpdateTenant)?;
        let request = request.into_inner();
        let tenant = request
            .tenant
            .ok_or_else(|| ApiError::invalid("tenant", "required"))?;
        if tenant.id.is_empty() {
            return Err(ApiError::invalid("tenant.id", "required").into());
        }
        let tenant_id = caller.tenant_for(&tenant.id)?;
        let paths = mask_paths(request.update_mask.as_ref(), fields::UPDATABLE)?;
        let mut violations = Violations::default();
        let mut changes = TenantChanges::default();
        for path in &paths {
            match *path {
                fields::NAME => {
                    violations.name("tenant.name", &tenant.name);
                    changes.name = Some(tenant.name.clone());
                }
                fields::SCIM_ENABLED => changes.scim_enabled = Some(tenant.scim_enabled),
                fields::SETTINGS => {
                    changes.settings =
                        Some(violations.json_object("tenant.settings", tenant.settings.as_ref()));
                }
                _ => {}
            }
        }
        violations.finish()?;
        let updated = store
            .update_tenant(&tenant_id, changes, request.expected_version)
            .await?;
        tracing::info!(tenant_id = %tenant_id, fields = ?paths, "tenant updated");
        Ok(Response::new(tenant_to_pb(updated)))
    }

    async fn issue_api_key(
        &self,
        request: Request<pb::IssueApiKeyRequest>,
    ) -> Result<Response<pb::IssueApiKeyResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::IssueApiKey)?;
        let request = request.into_inner();
        let kind = match pb::ApiKeyKind::try_from(request.kind) {
            Ok(pb::ApiKeyKind::Service) => KeyKind::Service,
            Ok(pb::ApiKeyKind::Scim) => KeyKind::Scim,
            _ => {
                return Err(ApiError::invalid(
                    "kind",
                    "set API_KEY_KIND_SERVICE or API_KEY_KIND_SCIM",
                )
                .into());
            }
        };
        let access = match (kind, pb::ApiKeyAccess::try_from(request.access)) {
            (_, Ok(pb::ApiKeyAccess::Unspecified | pb::ApiKeyAccess::ReadWrite)) => {
                KeyAccess::ReadWrite
            }
            (KeyKind::Service, Ok(pb::ApiKeyAccess::ReadOnly)) => KeyAccess::ReadOnly,
            (KeyKind::Scim, Ok(pb::ApiKeyAccess::ReadOnly)) => {
                return Err(ApiError::invalid("access", "SCIM keys are always read-write").into());
            }
            (_, Err(_)) => return Err(ApiError::invalid("access", "unknown value").into()),
        };
        let scope = if request.all_tenants {
            if !request.tenant_id.is_empty() {
                return Err(
                    ApiError::invalid("tenant_id", "must be empty with all_tenants").into(),
                );
            }
            if kind == KeyKind::Scim {
                return Err(
                    ApiError::invalid("all_tenants", "SCIM keys belong to one tenant").into(),
                );
            }
            KeyScope::AllTenants
        } else {
            if request.tenant_id.is_empty() && caller.scope == KeyScope::AllTenants {
                return Err(ApiError::invalid("tenant_id", "required (or set all_tenants)").into());
            }
            KeyScope::Tenant(caller.tenant_for(&request.tenant_id)?)
        };
        // Decided here for a clear answer before any work, and again where the key is written.
        policy::may_issue_key(&caller, kind, &scope)?;
        let mut violations = Violations::default();
        violations.text("name", &request.name, MAX_NAME_CHARS);
        violations.finish()?;
        let expires_at = match &request.expire_time {
            Some(time) => {
                let expires_at = micros("expire_time", time)?;
                if expires_at <= now_micros() {
                    return Err(ApiError::invalid("expire_time", "must be in the future").into());
                }
                Some(expires_at)
            }
            None => None,
        };
        let (new_key, secret) =
            auth::new_key(scope, kind, access, request.name, expires_at).map_err(ApiError::from)?;
        let key = store.create_api_key(new_key).await?;
        tracing::info!(key_id = %key.id, kind = kind.as_str(), issued_by = %caller.key_id, "API key issued");
        Ok(Response::new(pb::IssueApiKeyResponse {
            key: Some(api_key_to_pb(key)),
            secret,
        }))
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListApiKeys)?;
        let request = request.into_inner();
        let scope = if request.all_tenants {
            KeyScope::AllTenants
        } else {
            KeyScope::Tenant(caller.tenant_for(&request.tenant_id)?)
        };
        let kinds = policy::may_list_keys(&caller, &scope)?;
        let page = page_query(request.page.as_ref())?;
        let keys = store.list_api_keys(scope, kinds, page).await?;
        let page = page_response(&keys, |key| (key.created_at, key.id.as_str()));
        Ok(Response::new(pb::ListApiKeysResponse {
            keys: keys.items.into_iter().map(api_key_to_pb).collect(),
            page: Some(page),
        }))
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::RevokeApiKey)?;
        let id: String = validate::id("id", &request.get_ref().id)?;
        let revoked = store.revoke_api_key(&id).await?;
        tracing::info!(key_id = %id, revoked_by = %caller.key_id, "API key revoked");
        Ok(Response::new(api_key_to_pb(revoked)))
    }

    async fn rotate_api_key(
        &self,
        request: Request<pb::RotateApiKeyRequest>,
    ) -> Result<Response<pb::RotateApiKeyResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::RotateApiKey)?;
        let request = request.into_inner();
        let id: String = validate::id("id", &request.id)?;
        // The replacement is made like the old key; the store decides on the key as its
        // transaction reads it.
        let old = store.get_api_key(&id).await?;
        if !caller.reaches(&old.scope) {
            return Err(ApiError::NotFound(Resource::ApiKey).into());
        }
        let now = now_micros();
        let grace = match &request.grace_period {
            None => 0,
            Some(grace) if grace.seconds < 0 || grace.nanos < 0 => {
                return Err(ApiError::invalid("grace_period", "must not be negative").into());
            }
            Some(grace) => grace
                .seconds
                .saturating_mul(1_000_000)
                .saturating_add(i64::from(grace.nanos / 1000)),
        };
        // Same lifetime as the old key, counted from now.
        let expires_at = old
            .expires_at
            .map(|expires| now.saturating_add(expires - old.created_at));
        let (replacement, secret) = auth::new_key(
            old.scope.clone(),
            old.kind,
            old.access,
            old.name.clone(),
            expires_at,
        )
        .map_err(ApiError::from)?;
        let retire_at = (grace > 0).then(|| now.saturating_add(grace));
        let (key, retired) = store.rotate_api_key(&id, replacement, retire_at).await?;
        tracing::info!(key_id = %id, new_key_id = %key.id, rotated_by = %caller.key_id, "API key rotated");
        Ok(Response::new(pb::RotateApiKeyResponse {
            key: Some(api_key_to_pb(key)),
            secret,
            retired: Some(api_key_to_pb(retired)),
        }))
    }

    async fn add_verified_domain(
        &self,
        request: Request<pb::AddVerifiedDomainRequest>,
    ) -> Result<Response<pb::ListVerifiedDomainsResponse>, Status> {
        fn target(request: &pb::AddVerifiedDomainRequest) -> (&str, &str) {
            (&request.tenant_id, &request.domain)
        }
        self.set_verified_domain(request, target, true).await
    }

    async fn remove_verified_domain(
        &self,
        request: Request<pb::RemoveVerifiedDomainRequest>,
    ) -> Result<Response<pb::ListVerifiedDomainsResponse>, Status> {
        fn target(request: &pb::RemoveVerifiedDomainRequest) -> (&str, &str) {
            (&request.tenant_id, &request.domain)
        }
        self.set_verified_domain(request, target, false).await
    }

    async fn list_verified_domains(
        &self,
        request: Request<pb::ListVerifiedDomainsRequest>,
    ) -> Result<Response<pb::ListVerifiedDomainsResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListVerifiedDomains)?;
        let tenant_id = caller.tenant_for(&request.get_ref().tenant_id)?;
        let domains = store.verified_domains(&tenant_id).await?;
        Ok(Response::new(pb::ListVerifiedDomainsResponse { domains }))
    }
}

//! API keys: only the SHA-256 of a secret is stored.

use std::collections::HashMap;

use diesel::prelude::*;
use identity_proto::events::Action;

use super::connection::{AnyConnection, MultiBackend, on_backend};
use super::events::{ChangeLog, Snapshot, diff};
use super::filter::{self, paged};
use super::schema::{api_keys, tenants};
use super::tenants::{any_tenant, insert_tenant};
use super::{Store, StoreError, StoreResult};
use crate::model::{
    ApiKey, FieldChange, KeyAccess, KeyKind, KeyScope, Micros, NewApiKey, Page, PageQuery,
    Resource, Tenant, TenantFields, new_id, now_micros,
};
use crate::policy::{self, Rpc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
#[diesel(check_for_backend(MultiBackend))]
struct ApiKeyRow {
    id: String,
    tenant_id: Option<String>,
    kind: String,
    access: String,
    name: String,
    prefix: String,
    secret_hash: String,
    created_at: i64,
    last_used_at: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    created_by: String,
    replaced_by: Option<String>,
}

/// A key's last use is recorded at most this often (micros): no write on every request.
pub(crate) const KEY_USE_RESOLUTION: i64 = 60_000_000;

impl ApiKeyRow {
    fn new(key: NewApiKey, created_by: String) -> Self {
        ApiKeyRow {
            id: new_id(),
            tenant_id: match key.scope {
                KeyScope::AllTenants => None,
                KeyScope::Tenant(tenant_id) => Some(tenant_id.into_string()),
            },
            kind: key.kind.as_str().to_owned(),
            access: key.access.as_str().to_owned(),
            name: key.name,
            prefix: key.prefix,
            secret_hash: key.secret_hash,
            created_at: now_micros(),
            last_used_at: None,
            expires_at: key.expires_at,
            revoked_at: None,
            created_by,
            replaced_by: None,
        }
    }

    /// The key with its secret hash, for comparison at authentication.
    fn into_key(self) -> StoreResult<(ApiKey, String)> {
        let corrupt = |what: &str| StoreError::Corrupt(format!("API key {}: {what}", self.id));
        let kind = KeyKind::parse(&self.kind).ok_or_else(|| corrupt("kind"))?;
        let access = KeyAccess::parse(&self.access).ok_or_else(|| corrupt("access"))?;
        let key = ApiKey {
            scope: match self.tenant_id {
                Some(tenant_id) => KeyScope::Tenant(tenant_id.into()),
                None => KeyScope::AllTenants,
            },
            id: self.id,
            kind,
            access,
            name: self.name,
            prefix: self.prefix,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
            expires_at: self.expires_at,
            revoked_at: self.revoked_at,
            created_by: self.created_by,
            replaced_by: self.replaced_by,
        };
        Ok((key, self.secret_hash))
    }
}

/// What the change log says of a key: never the secret or its hash.
fn snapshot(key: &ApiKey) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.insert("name".into(), key.name.clone().into());
    snapshot.insert("kind".into(), key.kind.as_str().into());
    snapshot.insert("access".into(), key.access.as_str().into());
    snapshot.insert("prefix".into(), key.prefix.clone().into());
    if let Some(expires_at) = key.expires_at {
        snapshot.insert("expires_at".into(), expires_at.into());
    }
    if let Some(revoked_at) = key.revoked_at {
        snapshot.insert("revoked_at".into(), revoked_at.into());
    }
    snapshot
}

fn key_tenant(key: &ApiKey) -> &str {
    match &key.scope {
        KeyScope::Tenant(tenant_id) => tenant_id,
        // Keys over every tenant are logged outside any tenant (seen by all-tenant keys).
        KeyScope::AllTenants => "",
    }
}

fn insert_key(
    conn: &mut AnyConnection,
    key: NewApiKey,
    log: &mut ChangeLog,
) -> StoreResult<ApiKey> {
    let row = ApiKeyRow::new(key, log.actor().key_id.clone());
    diesel::insert_into(api_keys::table)
        .values(&row)
        .execute(conn)
        .map_err(|error| match error {
            diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::ForeignKeyViolation,
                _,
            ) => StoreError::NotFound(Resource::Tenant),
            other => StoreError::Database(other),
        })?;
    let key = row.into_key()?.0;
    log.push(
        key_tenant(&key),
        Action::ApiKeyIssued,
        &key.id,
        diff(None, Some(&snapshot(&key))),
    );
    Ok(key)
}

fn find_key(conn: &mut AnyConnection, id: &str) -> StoreResult<ApiKey> {
    Ok(api_keys::table
        .filter(api_keys::id.eq(id))
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound(Resource::ApiKey))?
        .into_key()?
        .0)
}

/// Revokes key `id` now (a revoked key stays as it is), logging the change.
fn revoke_key(conn: &mut AnyConnection, id: &str, log: &mut ChangeLog) -> StoreResult<ApiKey> {
    let revoked = diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set(api_keys::revoked_at.eq(now_micros()))
    .execute(conn)?;
    let key = find_key(conn, id)?;
    if revoked > 0 {
        let revoked_at = key.revoked_at.map(serde_json::Value::from);
        log.push(
            key_tenant(&key),
            Action::ApiKeyRevoked,
            &key.id,
            vec![crate::model::FieldChange {
                field: "revoked_at".into(),
                old: None,
                new: revoked_at,
            }],
        );
    }
    Ok(key)
}

/// The permission model on a key the caller names by id: a key outside its reach does not
/// exist for it.
fn may_manage(caller: &policy::Caller, rpc: Rpc, key: &ApiKey) -> StoreResult<()> {
    if !caller.reaches(&key.scope) {
        return Err(StoreError::NotFound(Resource::ApiKey));
    }
    Ok(policy::may_manage_key(caller, rpc, key)?)
}

/// An API key found by its secret's hash.
#[derive(Debug, Clone)]
pub(crate) struct FoundKey {
    pub key: ApiKey,
    pub secret_hash: String,
    /// For a key of one tenant: whether that tenant has SCIM enabled.
    pub tenant_scim_enabled: Option<bool>,
}

/// Keys found by hash in the last [`KEY_CACHE_LIFETIME`], so that a burst of calls with one key
/// looks it up once, not once a call. A change of keys or tenants made through this process
/// empties it at once; one made through another replica (or `init`) shows here when the entry
/// expires, within a second. Unknown hashes are not kept (a stream of random keys cannot fill
/// it), and it is emptied whole when full.
#[derive(Debug, Default)]
pub(crate) struct KeyCache(std::sync::Mutex<HashMap<String, (std::time::Instant, FoundKey)>>);

/// How long a found key is trusted without reading it again.
const KEY_CACHE_LIFETIME: std::time::Duration = std::time::Duration::from_millis(900);
/// Keys cached at most.
const KEY_CACHE_CAPACITY: usize = 10_000;

impl KeyCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (std::time::Instant, FoundKey)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get(&self, secret_hash: &str) -> Option<FoundKey> {
        let cache = self.lock();
        let (found_at, found) = cache.get(secret_hash)?;
        (found_at.elapsed() < KEY_CACHE_LIFETIME).then(|| found.clone())
    }

    fn insert(&self, found: FoundKey) {
        let mut cache = self.lock();
        if cache.len() >= KEY_CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(
            found.secret_hash.clone(),
            (std::time::Instant::now(), found),
        );
    }

    pub(crate) fn clear(&self) {
        self.lock().clear();
    }
}

/// What the first `init` creates.
#[derive(Debug)]
pub enum Initialisation {
    Created {
        tenant: Tenant,
    },
    /// The database already had a tenant; nothing was changed.
    AlreadyDone {
        tenant: Tenant,
    },
}

impl Store {
    pub async fn create_api_key(&self, key: NewApiKey) -> StoreResult<ApiKey> {
        self.write_logged(move |conn, access, log| {
            policy::may_issue_key(access.caller(conn)?, key.kind, &key.scope)?;
            insert_key(conn, key, log)
        })
        .await
    }

    /// The key with this secret hash, with what authentication needs in one statement: the
    /// stored hash (to compare in constant time) and, for a tenant's key, whether the tenant
    /// has SCIM enabled.
    pub(crate) async fn find_api_key(&self, secret_hash: &str) -> StoreResult<Option<FoundKey>> {
        if let Some(found) = self.inner.key_cache.get(secret_hash) {
            return Ok(Some(found));
        }
        let secret_hash = secret_hash.to_owned();
        let found = self
            .read_statement(move |conn| {
                let found: Option<(ApiKeyRow, Option<i32>)> = on_backend!(conn, c => api_keys::table
                .left_join(tenants::table)
                .filter(api_keys::secret_hash.eq(&secret_hash))
                .select((ApiKeyRow::as_select(), tenants::scim_enabled.nullable()))
                .first(c)
                .optional())?;
                found
                    .map(|(row, scim_enabled)| {
                        let (key, secret_hash) = row.into_key()?;
                        Ok(FoundKey {
                            key,
                            secret_hash,
                            tenant_scim_enabled: scim_enabled.map(|enabled| enabled != 0),
                        })
                    })
                    .transpose()
            })
            .await?;
        if let Some(found) = &found {
            self.inner.key_cache.insert(found.clone());
        }
        Ok(found)
    }

    pub(crate) async fn get_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        let id = id.to_owned();
        self.read_statement(move |conn| find_key(conn, &id)).await
    }

    pub async fn list_api_keys(
        &self,
        scope: KeyScope,
        kinds: &'static [KeyKind],
        page: PageQuery,
    ) -> StoreResult<Page<ApiKey>> {
        let kinds: Vec<&'static str> = kinds.iter().map(|kind| kind.as_str()).collect();
        self.read(move |conn| {
            let in_scope = || {
                let query = match &scope {
                    KeyScope::AllTenants => api_keys::table
                        .filter(api_keys::tenant_id.is_null())
                        .into_boxed::<MultiBackend>(),
                    KeyScope::Tenant(tenant_id) => api_keys::table
                        .filter(api_keys::tenant_id.eq(tenant_id.clone()))
                        .into_boxed::<MultiBackend>(),
                };
                query.filter(api_keys::kind.eq_any(kinds.clone()))
            };
            let total = if page.include_total {
                Some(in_scope().count().get_result::<i64>(conn)?)
            } else {
                None
            };
            let query = paged!(in_scope(), api_keys, page);
            let mut rows: Vec<ApiKeyRow> = query.select(ApiKeyRow::as_select()).load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(|row| row.into_key().map(|(key, _)| key))
                    .collect::<StoreResult<_>>()?,
                has_more,
                total,
            })
        })
        .await
    }

    /// Marks a key revoked (keeping the first revocation time).
    pub async fn revoke_api_key(&self, id: &str) -> StoreResult<ApiKey> {
        let id = id.to_owned();
        self.write_logged(move |conn, access, log| {
            let key = find_key(conn, &id)?;
            may_manage(access.caller(conn)?, Rpc::RevokeApiKey, &key)?;
            revoke_key(conn, &id, log)
        })
        .await
    }

    /// The operator's tooling (the quick start's `init --new-scim-key`): issues `key` for its
    /// tenant and revokes the SCIM keys that earlier runs issued (created by the system under
    /// one of `names`), in one transaction — keys an admin issued stay.
    pub(crate) async fn replace_system_scim_key(
        &self,
        key: NewApiKey,
        names: &'static [&'static str],
    ) -> StoreResult<ApiKey> {
        self.write_logged(move |conn, _access, log| {
            let KeyScope::Tenant(tenant_id) = &key.scope else {
                return Err(StoreError::NotFound(Resource::Tenant));
            };
            let earlier: Vec<String> = api_keys::table
                .filter(api_keys::tenant_id.eq(tenant_id))
                .filter(api_keys::kind.eq(KeyKind::Scim.as_str()))
                .filter(api_keys::created_by.eq(crate::model::SYSTEM))
                .filter(api_keys::name.eq_any(names))
                .filter(api_keys::revoked_at.is_null())
                .select(api_keys::id)
                .load(conn)?;
            for id in earlier {
                revoke_key(conn, &id, log)?;
            }
            insert_key(conn, key, log)
        })
        .await
    }

    /// Issues `replacement` and retires key `id`: revoked now when `retire_at` is `None`,
    /// else expiring then (never later than it already would). One transaction.
    pub async fn rotate_api_key(
        &self,
        id: &str,
        replacement: NewApiKey,
        retire_at: Option<Micros>,
    ) -> StoreResult<(ApiKey, ApiKey)> {
        let id = id.to_owned();
        self.write_logged(move |conn, access, log| {
            let old = find_key(conn, &id)?;
            let caller = access.caller(conn)?;
            may_manage(caller, Rpc::RotateApiKey, &old)?;
            if old.revoked_at.is_some() {
                return Err(StoreError::KeyRevoked);
            }
            let new = insert_key(conn, replacement, log)?;
            let now = now_micros();
            let (field, value) = match retire_at {
                None => {
                    diesel::update(api_keys::table.filter(api_keys::id.eq(&id)))
                        .set(api_keys::revoked_at.eq(now))
                        .execute(conn)?;
                    ("revoked_at", now)
                }
                Some(at) => {
                    let at = old.expires_at.map_or(at, |expires| expires.min(at));
                    diesel::update(api_keys::table.filter(api_keys::id.eq(&id)))
                        .set((
                            api_keys::expires_at.eq(at),
                            api_keys::replaced_by.eq(&new.id),
                        ))
                        .execute(conn)?;
                    ("expires_at", at)
                }
            };
            log.push(
                key_tenant(&old),
                Action::ApiKeyRotated,
                &id,
                vec![
                    FieldChange {
                        field: field.to_owned(),
                        old: old
                            .expires_at
                            .filter(|_| field == "expires_at")
                            .map(Into::into),
                        new: Some(value.into()),
                    },
                    FieldChange {
                        field: "replaced_by".to_owned(),
                        old: None,
                        new: Some(new.id.clone().into()),
                    },
                ],
            );
            let retired = api_keys::table
                .filter(api_keys::id.eq(&id))
                .select(ApiKeyRow::as_select())
                .first(conn)?
                .into_key()?
                .0;
            Ok((new, retired))
        })
        .await
    }

    /// Records that key `id` authenticated a call, at most once per [`KEY_USE_RESOLUTION`]
    /// (`last_used_at` is what the caller saw); the write runs in the background, off the
    /// request's path, and a failure only delays the record.
    pub(crate) fn record_key_use(&self, id: &str, last_used_at: Option<Micros>) {
        let now = now_micros();
        if last_used_at.is_some_and(|used| now - used < KEY_USE_RESOLUTION)
            || !self.claim_key_use(id, now)
        {
            return;
        }
        let store = self.clone();
        let id = id.to_owned();
        tokio::spawn(async move {
            let recorded = store
                .write(move |conn| {
                    diesel::update(
                        api_keys::table.filter(api_keys::id.eq(&id)).filter(
                            api_keys::last_used_at
                                .is_null()
                                .or(api_keys::last_used_at.lt(now - KEY_USE_RESOLUTION)),
                        ),
                    )
                    .set(api_keys::last_used_at.eq(now))
                    .execute(conn)?;
                    Ok(())
                })
                .await;
            if let Err(error) = recorded {
                tracing::warn!(%error, "recording an API key's use failed");
            }
        });
    }

    /// First run: creates a tenant, an all-tenant service key and a SCIM key for the tenant, in
    /// one transaction, unless any tenant exists already.
    pub async fn initialise(
        &self,
        tenant: TenantFields,
        service_key: NewApiKey,
        scim_key: impl FnOnce(&Tenant) -> NewApiKey + Send + 'static,
    ) -> StoreResult<Initialisation> {
        // The operator's own tooling, before any key exists: nothing to decide.
        self.write_logged(move |conn, _access, log| {
            if let Some(tenant) = any_tenant(conn)? {
                return Ok(Initialisation::AlreadyDone { tenant });
            }
            let tenant = insert_tenant(conn, tenant, log)?;
            insert_key(conn, service_key, log)?;
            insert_key(conn, scim_key(&tenant), log)?;
            Ok(Initialisation::Created { tenant })
        })
        .await
    }
}

//! API keys on the wire: issuing secrets, authenticating calls, and what a key may reach.

use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use tonic::metadata::MetadataMap;

use crate::error::{ApiError, reason};
use crate::model::{
    ApiKey, KeyAccess, KeyKind, KeyScope, KeyState, NewApiKey, Resource, Role, now_micros,
};
use crate::store::{FoundKey, Store};

/// Secrets start with a recognisable prefix so that leaked keys are easy to spot and scan for.
const SERVICE_PREFIX: &str = "idsvc_";
const SCIM_PREFIX: &str = "idscim_";
/// How much of a secret is kept to recognise it: the kind prefix and 8 hex digits (32 bits).
const SHOWN_SECRET_CHARS: usize = 8;

/// A freshly generated secret and what of it may be stored.
pub struct IssuedSecret {
    pub secret: String,
    pub prefix: String,
    pub hash: String,
}

impl std::fmt::Debug for IssuedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedSecret")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random generator failed: {0}")]
pub struct RandomError(String);

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut out, byte| {
            let _ = write!(out, "{byte:02x}");
            out
        })
}

pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// 256 random bits, hex-encoded behind the kind's prefix.
pub fn generate_secret(kind: KeyKind) -> Result<IssuedSecret, RandomError> {
    let mut random = [0_u8; 32];
    getrandom::fill(&mut random).map_err(|error| RandomError(error.to_string()))?;
    let kind_prefix = match kind {
        KeyKind::Service => SERVICE_PREFIX,
        KeyKind::Scim => SCIM_PREFIX,
    };
    let body = hex(&random);
    let secret = format!("{kind_prefix}{body}");
    Ok(IssuedSecret {
        prefix: format!("{kind_prefix}{}", &body[..SHOWN_SECRET_CHARS]),
        hash: hash_secret(&secret),
        secret,
    })
}

/// Builds the stored half of a new key, returning the secret to show once.
pub fn new_key(
    scope: KeyScope,
    kind: KeyKind,
    access: KeyAccess,
    name: String,
    expires_at: Option<i64>,
) -> Result<(NewApiKey, String), RandomError> {
    let issued = generate_secret(kind)?;
    Ok((
        NewApiKey {
            scope,
            kind,
            access,
            name,
            prefix: issued.prefix,
            secret_hash: issued.hash,
            expires_at,
        },
        issued.secret,
    ))
}

/// The caller of an RPC, as established from its key.
#[derive(Debug, Clone)]
pub struct Principal {
    pub key_id: String,
    pub kind: KeyKind,
    pub access: KeyAccess,
    pub scope: KeyScope,
    /// The person a service key acts for (`x-acting-user-id`), with their role.
    pub acting: Option<ActingUser>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingUser {
    pub user_id: String,
    pub tenant_id: String,
    pub role: Role,
}

/// Metadata naming the person a trusted service acts for.
pub const ACTING_USER_HEADER: &str = "x-acting-user-id";

/// What an operation needs from the caller's key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Read,
    Write,
}

fn unauthenticated(reason: &'static str, message: &str) -> ApiError {
    ApiError::Unauthenticated {
        reason,
        message: message.to_owned(),
    }
}

/// Reads `authorization: Bearer <secret>` (scheme case-insensitive; a bare secret is accepted
/// too, as some clients send one).
fn bearer_secret(metadata: &MetadataMap) -> Result<&str, ApiError> {
    let value = metadata
        .get("authorization")
        .ok_or_else(|| {
            unauthenticated(
                reason::MISSING_CREDENTIALS,
                "missing credentials: send `authorization: Bearer <API key>`",
            )
        })?
        .to_str()
        .map_err(|_| {
            unauthenticated(
                reason::INVALID_CREDENTIALS,
                "malformed authorization header",
            )
        })?
        .trim();
    let secret = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => {
            return Err(unauthenticated(
                reason::INVALID_CREDENTIALS,
                "unsupported authorization scheme: use Bearer",
            ));
        }
        None => value,
    };
    if secret.is_empty() {
        return Err(unauthenticated(
            reason::MISSING_CREDENTIALS,
            "empty API key",
        ));
    }
    Ok(secret)
}

/// Authenticates a call from its metadata.
pub async fn authenticate(store: &Store, metadata: &MetadataMap) -> Result<Principal, ApiError> {
    let secret = bearer_secret(metadata)?;
    let hash = hash_secret(secret);
    let invalid = || unauthenticated(reason::INVALID_CREDENTIALS, "invalid API key");
    let FoundKey {
        key,
        secret_hash: stored_hash,
        tenant_scim_enabled,
    } = store.find_api_key(&hash).await?.ok_or_else(invalid)?;
    // The lookup went through an index on the hash; comparing again in constant time keeps the
    // final decision free of timing differences.
    if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(invalid());
    }
    match key.state_at(now_micros()) {
        KeyState::Active => {}
        KeyState::Revoked => {
            return Err(unauthenticated(
                reason::KEY_REVOKED,
                "this API key has been revoked",
            ));
        }
        KeyState::Expired => {
            return Err(unauthenticated(
                reason::KEY_EXPIRED,
                "this API key has expired",
            ));
        }
    }
    let ApiKey {
        id,
        kind,
        access,
        scope,
        last_used_at,
        ..
    } = key;
    tracing::Span::current().record("key_id", id.as_str());
    store.record_key_use(&id, last_used_at);
    // A tenant's SCIM keys work only while the tenant has SCIM enabled; disabling keeps the
    // keys and the data.
    if kind == KeyKind::Scim && tenant_scim_enabled == Some(false) {
        return Err(ApiError::PermissionDenied {
            reason: reason::SCIM_DISABLED,
            message: "SCIM provisioning is disabled for this team; a team admin can enable it"
                .into(),
        });
    }
    let acting = acting_user(store, metadata, kind, &scope).await?;
    Ok(Principal {
        key_id: id,
        kind,
        access,
        scope,
        acting,
    })
}

/// Resolves `x-acting-user-id`: only service keys may act for a person, and only for a user
/// their scope reaches.
async fn acting_user(
    store: &Store,
    metadata: &MetadataMap,
    kind: KeyKind,
    scope: &KeyScope,
) -> Result<Option<ActingUser>, ApiError> {
    let Some(value) = metadata.get(ACTING_USER_HEADER) else {
        return Ok(None);
    };
    let denied = |message: &str| ApiError::PermissionDenied {
        reason: reason::ACTING_USER_NOT_ALLOWED,
        message: message.to_owned(),
    };
    if kind != KeyKind::Service {
        return Err(denied("only service keys may act on behalf of a user"));
    }
    let user_id = value
        .to_str()
        .ok()
        .filter(|id| uuid::Uuid::try_parse(id).is_ok())
        .ok_or_else(|| denied("x-acting-user-id is not a user id"))?;
    let user = store
        .find_user(user_id)
        .await?
        .filter(|user| match scope {
            KeyScope::AllTenants => true,
            KeyScope::Tenant(own) => *own == user.tenant_id,
        })
        .ok_or_else(|| denied("the acting user is not a user this key reaches"))?;
    Ok(Some(ActingUser {
        user_id: user.id,
        tenant_id: user.tenant_id,
        role: user.role,
    }))
}

impl Principal {
    pub fn require_access(&self, need: Need) -> Result<(), ApiError> {
        if need == Need::Write && self.access == KeyAccess::ReadOnly {
            return Err(ApiError::PermissionDenied {
                reason: reason::READ_ONLY_KEY,
                message: "this API key is read-only".into(),
            });
        }
        Ok(())
    }

    /// The tenant a users/groups call acts on. A tenant-scoped key may leave `requested` empty;
    /// naming another tenant answers NOT_FOUND, exactly as for a tenant that does not exist.
    pub fn tenant_for(&self, requested: &str, need: Need) -> Result<String, ApiError> {
        self.require_access(need)?;
        // A person acts within their own tenant only.
        if let Some(acting) = &self.acting {
            if requested.is_empty() || requested == acting.tenant_id {
                return Ok(acting.tenant_id.clone());
            }
            return Err(ApiError::NotFound(Resource::Tenant));
        }
        match &self.scope {
            KeyScope::Tenant(own) if requested.is_empty() || requested == own => Ok(own.clone()),
            KeyScope::Tenant(_) => Err(ApiError::NotFound(Resource::Tenant)),
            KeyScope::AllTenants if requested.is_empty() => Err(ApiError::invalid(
                "tenant_id",
                "required with a key that spans all tenants",
            )),
            KeyScope::AllTenants => {
                crate::api::validate::id("tenant_id", requested)?;
                Ok(requested.to_owned())
            }
        }
    }

    /// As [`Principal::tenant_for`], for administrative calls: service keys only.
    pub fn admin_tenant_for(&self, requested: &str, need: Need) -> Result<String, ApiError> {
        self.require_service_key()?;
        self.tenant_for(requested, need)
    }

    pub fn require_service_key(&self) -> Result<(), ApiError> {
        match self.kind {
            KeyKind::Service => Ok(()),
            KeyKind::Scim => Err(ApiError::PermissionDenied {
                reason: reason::KEY_KIND_NOT_ALLOWED,
                message: "SCIM keys may only manage users and groups; use a service key".into(),
            }),
        }
    }

    /// For calls that span tenants (create or list tenants, keys over all tenants).
    pub fn require_all_tenants(&self, need: Need) -> Result<(), ApiError> {
        self.require_service_key()?;
        self.require_access(need)?;
        match self.scope {
            KeyScope::AllTenants => Ok(()),
            KeyScope::Tenant(_) => Err(ApiError::PermissionDenied {
                reason: reason::SCOPE_NOT_ALLOWED,
                message: "this call needs a service key scoped to all tenants".into(),
            }),
        }
    }

    /// Whether the key reaches a tenant (for resources found by id, such as API keys).
    pub fn reaches(&self, tenant: &KeyScope) -> bool {
        match (&self.scope, tenant) {
            (KeyScope::AllTenants, _) => true,
            (KeyScope::Tenant(own), KeyScope::Tenant(other)) => own == other,
            (KeyScope::Tenant(_), KeyScope::AllTenants) => false,
        }
    }
}

impl From<RandomError> for ApiError {
    fn from(error: RandomError) -> ApiError {
        tracing::error!(%error, "cannot generate a secret");
        ApiError::Internal
    }
}

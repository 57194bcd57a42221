//! API keys on the wire: issuing secrets, authenticating calls, and what a key may reach.

use std::net::SocketAddr;

use http::HeaderMap;
use identity_proto::metadata;
use identity_proto::secret::{self, hex};
use subtle::ConstantTimeEq as _;

use crate::error::{ApiError, reason};
use crate::model::{ApiKey, KeyAccess, KeyKind, KeyScope, KeyState, NewApiKey, now_micros};
use crate::policy::{ActingUser, Caller, Credential};
use crate::store::{FoundKey, Store};

/// Secrets start with a recognisable prefix so that leaked keys are easy to spot and scan for.
const SERVICE_PREFIX: &str = "idsvc_";
const SCIM_PREFIX: &str = "idscim_";
/// How much of a secret is kept to recognise it: the kind prefix and 8 hex digits (32 bits).
const SHOWN_SECRET_CHARS: usize = 8;

/// A freshly generated secret and what of it may be stored.
pub(crate) struct IssuedSecret {
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

pub(crate) fn hash_secret(secret: &str) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, secret.as_bytes()).as_ref())
}

/// 256 random bits, hex-encoded behind `kind_prefix`.
pub(crate) fn generate_secret(kind_prefix: &str) -> Result<IssuedSecret, RandomError> {
    let mut random = [0_u8; 32];
    getrandom::fill(&mut random).map_err(|error| RandomError(error.to_string()))?;
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
    let issued = generate_secret(match kind {
        KeyKind::Service => SERVICE_PREFIX,
        KeyKind::Scim => SCIM_PREFIX,
    })?;
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

/// The longest `authorization` value looked at: our keys are under 80 characters, and a larger
/// value is refused before any work is done for it.
const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// Why a call was not authenticated. The caller is told only that its key is invalid (or
/// missing); the log says which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rejection {
    Missing,
    Malformed,
    Unknown,
    Revoked,
    Expired,
}

impl Rejection {
    fn as_str(self) -> &'static str {
        match self {
            Rejection::Missing => "missing",
            Rejection::Malformed => "malformed",
            Rejection::Unknown => "unknown key",
            Rejection::Revoked => "revoked key",
            Rejection::Expired => "expired key",
        }
    }
}

/// The 401 for a rejection, logged with what identifies the key (its id, or the recognisable
/// prefix of a secret in our format) and the peer — never the secret.
fn reject(rejection: Rejection, key: Option<&str>, peer: Option<SocketAddr>) -> ApiError {
    let peer = peer.map(|peer| peer.to_string()).unwrap_or_default();
    metrics::counter!("identity_authentication_failures_total", "reason" => rejection.as_str())
        .increment(1);
    tracing::warn!(
        reason = rejection.as_str(),
        key = key.unwrap_or(""),
        %peer,
        "authentication failed"
    );
    match rejection {
        Rejection::Missing => ApiError::Unauthenticated {
            reason: reason::MISSING_CREDENTIALS,
            message: "missing credentials: send `authorization: Bearer <API key>`".into(),
        },
        _ => ApiError::Unauthenticated {
            reason: reason::INVALID_CREDENTIALS,
            message: "invalid API key".into(),
        },
    }
}

/// The part of a presented secret that may be logged: its kind prefix and first 8 hex digits
/// (what `key list` shows), only when the secret has our format.
fn loggable_prefix(secret: &str) -> Option<&str> {
    let body = secret
        .strip_prefix(SERVICE_PREFIX)
        .or_else(|| secret.strip_prefix(SCIM_PREFIX))?;
    let shown = secret.len() - body.len() + SHOWN_SECRET_CHARS;
    secret::is_secret_body(body).then(|| &secret[..shown])
}

/// Reads `authorization: Bearer <secret>` (scheme case-insensitive; a bare secret is accepted
/// too, as some clients send one).
fn bearer_secret(headers: &HeaderMap) -> Result<&str, Rejection> {
    let value = headers
        .get(metadata::AUTHORIZATION)
        .ok_or(Rejection::Missing)?;
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Err(Rejection::Malformed);
    }
    let value = value.to_str().map_err(|_| Rejection::Malformed)?.trim();
    let secret = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return Err(Rejection::Malformed),
        None => value,
    };
    if secret.is_empty() {
        return Err(Rejection::Missing);
    }
    Ok(secret)
}

/// Authenticates a call from its headers (gRPC metadata); `peer` is only logged.
pub async fn authenticate(
    store: &Store,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Result<Caller, ApiError> {
    let secret = bearer_secret(headers).map_err(|rejection| reject(rejection, None, peer))?;
    let hash = hash_secret(secret);
    if secret.starts_with(secret::PORTAL_SESSION_PREFIX) {
        return authenticate_portal_session(store, &hash, peer).await;
    }
    let unknown = || reject(Rejection::Unknown, loggable_prefix(secret), peer);
    let FoundKey {
        key,
        secret_hash: stored_hash,
        tenant_scim_enabled,
    } = store.find_api_key(&hash).await?.ok_or_else(unknown)?;
    // The lookup went through an index on the hash; comparing again in constant time keeps the
    // final decision free of timing differences.
    if !bool::from(stored_hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(unknown());
    }
    match key.state_at(now_micros()) {
        KeyState::Active | KeyState::Retiring => {}
        KeyState::Revoked => return Err(reject(Rejection::Revoked, Some(&key.id), peer)),
        KeyState::Expired => return Err(reject(Rejection::Expired, Some(&key.id), peer)),
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
    let acting = acting_user(store, headers, kind, &scope).await?;
    Ok(Caller {
        key_id: id,
        kind,
        access,
        scope,
        acting,
        credential: Credential::ApiKey,
    })
}

/// A portal session acts as its admin, read afresh on every call (sessions are not cached): a
/// session whose admin was deactivated or is no longer an admin ends here, at its next call.
async fn authenticate_portal_session(
    store: &Store,
    hash: &str,
    peer: Option<SocketAddr>,
) -> Result<Caller, ApiError> {
    let now = now_micros();
    let session = store
        .find_portal_session(hash)
        .await?
        .ok_or_else(|| reject(Rejection::Unknown, None, peer))?;
    let ended = || ApiError::Unauthenticated {
        reason: reason::PORTAL_SESSION_ENDED,
        message: "this portal session has ended; ask for a new link".into(),
    };
    if !session.is_live(now) {
        return Err(ended());
    }
    tracing::Span::current().record("key_id", session.id.as_str());
    let mut caller = Caller::portal_session(&session);
    caller.acting = store
        .acting_user(&session.user_id, Some(&session.tenant_id))
        .await?;
    if let Err(denial) = crate::policy::may_start_portal_session(&caller) {
        tracing::info!(session = %session.id, reason = denial.reason, "portal session ended: its admin may no longer act");
        store
            .end_portal_session(&session, denial.reason, None)
            .await?;
        return Err(ended());
    }
    Ok(caller)
}

/// Resolves `x-acting-user-id`: only service keys may act for a person, and only for a user
/// their scope reaches. Whether the person is active is the permission model's to decide (and
/// a write decides it again inside its transaction).
async fn acting_user(
    store: &Store,
    headers: &HeaderMap,
    kind: KeyKind,
    scope: &KeyScope,
) -> Result<Option<ActingUser>, ApiError> {
    let Some(value) = headers.get(metadata::ACTING_USER_ID) else {
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
        .and_then(|id| uuid::Uuid::try_parse(id).ok())
        .ok_or_else(|| denied("x-acting-user-id is not a user id"))?
        .hyphenated()
        .to_string();
    let tenant = match scope {
        KeyScope::AllTenants => None,
        KeyScope::Tenant(own) => Some(own.as_str()),
    };
    store
        .acting_user(&user_id, tenant)
        .await?
        .ok_or_else(|| denied("the acting user is not a user this key reaches"))
        .map(Some)
}

impl From<RandomError> for ApiError {
    fn from(error: RandomError) -> ApiError {
        tracing::error!(%error, "cannot generate a secret");
        ApiError::Internal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_hash_to_lower_case_hex_sha256() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

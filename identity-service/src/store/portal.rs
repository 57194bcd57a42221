//! The admin portal's links and sessions (`portal_sessions`): one row per link, which its first
//! use turns into a session. Only the SHA-256 hashes of the link's token and of the session's
//! secret are stored. Sessions are read afresh on every call (no cache): an ended session, or
//! one whose admin was deactivated, stops at once on every replica.

use diesel::prelude::*;
use identity_proto::events::Action;

use super::schema::portal_sessions;
use super::{Store, StoreError, StoreResult};
use crate::model::{
    Actor, Audit, FieldChange, Micros, PORTAL_SESSION_LIFETIME, PortalSession, new_id, now_micros,
};
use crate::policy::{self, Caller};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = portal_sessions)]
struct PortalSessionRow {
    id: String,
    tenant_id: String,
    user_id: String,
    created_by: String,
    link_hash: String,
    link_expires_at: i64,
    created_at: i64,
    session_hash: Option<String>,
    started_at: Option<i64>,
    expires_at: Option<i64>,
    ended_at: Option<i64>,
}

impl PortalSessionRow {
    fn into_session(self) -> PortalSession {
        PortalSession {
            id: self.id,
            tenant_id: self.tenant_id.into(),
            user_id: self.user_id.into(),
            created_at: self.created_at,
            link_expires_at: self.link_expires_at,
            started_at: self.started_at,
            expires_at: self.expires_at,
            ended_at: self.ended_at,
        }
    }
}

/// Why a portal link cannot start a session. Unknown, used and expired links are one answer:
/// the holder of a guessed or old token learns nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRefusal {
    Unusable,
}

fn time_change(field: &str, at: Micros) -> FieldChange {
    FieldChange {
        field: field.to_owned(),
        old: None,
        new: Some(at.into()),
    }
}

impl Store {
    /// A link for the caller's acting admin in `tenant_id`, waiting until `link_expires_at`;
    /// decided inside the transaction with the admin re-read. Logged as
    /// `portal_session.link_created`.
    pub(crate) async fn create_portal_link(
        &self,
        tenant_id: String,
        link_hash: String,
        link_expires_at: Micros,
    ) -> StoreResult<PortalSession> {
        self.write_logged(move |conn, access, log| {
            let caller = access.caller(conn)?;
            let admin = policy::may_create_portal_link(caller)?;
            if admin.tenant_id.as_str() != tenant_id {
                return Err(StoreError::NotFound(crate::model::Resource::Tenant));
            }
            let row = PortalSessionRow {
                id: new_id(),
                tenant_id,
                user_id: admin.user_id.to_string(),
                created_by: caller.key_id.clone(),
                link_hash,
                link_expires_at,
                created_at: now_micros(),
                session_hash: None,
                started_at: None,
                expires_at: None,
                ended_at: None,
            };
            diesel::insert_into(portal_sessions::table)
                .values(&row)
                .execute(conn)?;
            log.push(
                &row.tenant_id,
                Action::PortalLinkCreated,
                &row.id,
                vec![
                    FieldChange {
                        field: "user_id".to_owned(),
                        old: None,
                        new: Some(row.user_id.clone().into()),
                    },
                    time_change("link_expires_at", link_expires_at),
                ],
            );
            Ok(row.into_session())
        })
        .await
    }

    /// Uses the link whose token hashes to `link_hash`: its session starts, with the secret
    /// hashing to `session_hash`, if the link is unused and unexpired and its admin is still
    /// an active admin (decided in the transaction that uses it). Logged as
    /// `portal_session.started`, by the session itself.
    pub(crate) async fn redeem_portal_link(
        &self,
        link_hash: String,
        session_hash: String,
        request_id: Option<String>,
    ) -> StoreResult<Result<PortalSession, LinkRefusal>> {
        let now = now_micros();
        let found = {
            let link_hash = link_hash.clone();
            self.read_statement(move |conn| {
                Ok(portal_sessions::table
                    .filter(portal_sessions::link_hash.eq(&link_hash))
                    .select(PortalSessionRow::as_select())
                    .first(conn)
                    .optional()?)
            })
            .await?
        };
        let Some(link) = found
            .map(PortalSessionRow::into_session)
            .filter(|link| link.started_at.is_none() && now < link.link_expires_at)
        else {
            return Ok(Err(LinkRefusal::Unusable));
        };
        let (caller, audit) = session_caller(&link, request_id);
        let id = link.id.clone();
        let expires_at = now + PORTAL_SESSION_LIFETIME;
        self.acting_as(caller, audit)
            .write_logged(move |conn, access, log| {
                policy::may_start_portal_session(access.caller(conn)?)?;
                // Only the first use sets the session: a concurrent use (another replica)
                // finds it set and is refused.
                let used = diesel::update(
                    portal_sessions::table
                        .filter(portal_sessions::id.eq(&id))
                        .filter(portal_sessions::link_hash.eq(&link_hash))
                        .filter(portal_sessions::session_hash.is_null())
                        .filter(portal_sessions::link_expires_at.gt(now)),
                )
                .set((
                    portal_sessions::session_hash.eq(&session_hash),
                    portal_sessions::started_at.eq(now),
                    portal_sessions::expires_at.eq(expires_at),
                ))
                .execute(conn)?;
                if used == 0 {
                    return Ok(Err(LinkRefusal::Unusable));
                }
                log.push(
                    &link.tenant_id,
                    Action::PortalSessionStarted,
                    &id,
                    vec![time_change("expires_at", expires_at)],
                );
                Ok(Ok(PortalSession {
                    started_at: Some(now),
                    expires_at: Some(expires_at),
                    ..link
                }))
            })
            .await
    }

    /// The session whose secret hashes to `session_hash`, whatever its state.
    pub(crate) async fn find_portal_session(
        &self,
        session_hash: &str,
    ) -> StoreResult<Option<PortalSession>> {
        let session_hash = session_hash.to_owned();
        self.read_statement(move |conn| {
            Ok(portal_sessions::table
                .filter(portal_sessions::session_hash.eq(&session_hash))
                .select(PortalSessionRow::as_select())
                .first(conn)
                .optional()?
                .map(PortalSessionRow::into_session))
        })
        .await
    }

    pub(crate) async fn get_portal_session(&self, id: &str) -> StoreResult<PortalSession> {
        let id = id.to_owned();
        self.read_statement(move |conn| {
            portal_sessions::table
                .filter(portal_sessions::id.eq(&id))
                .select(PortalSessionRow::as_select())
                .first(conn)
                .optional()?
                .map(PortalSessionRow::into_session)
                .ok_or(StoreError::NotFound(crate::model::Resource::PortalSession))
        })
        .await
    }

    /// Ends session `session` (signed out, or its admin may no longer act), once. Logged as
    /// `portal_session.ended` by the session, with `why`.
    pub(crate) async fn end_portal_session(
        &self,
        session: &PortalSession,
        why: &'static str,
        request_id: Option<String>,
    ) -> StoreResult<()> {
        let (caller, audit) = session_caller(session, request_id);
        let (id, tenant_id) = (session.id.clone(), session.tenant_id.to_string());
        self.acting_as(caller, audit)
            .write_logged(move |conn, _access, log| {
                let now = now_micros();
                let ended = diesel::update(
                    portal_sessions::table
                        .filter(portal_sessions::id.eq(&id))
                        .filter(portal_sessions::ended_at.is_null()),
                )
                .set(portal_sessions::ended_at.eq(now))
                .execute(conn)?;
                if ended > 0 {
                    log.push(
                        &tenant_id,
                        Action::PortalSessionEnded,
                        &id,
                        vec![
                            time_change("ended_at", now),
                            FieldChange {
                                field: "reason".to_owned(),
                                old: None,
                                new: Some(why.into()),
                            },
                        ],
                    );
                }
                Ok(())
            })
            .await
    }

    /// Deletes links and sessions that stopped working before `cutoff`.
    pub async fn prune_portal_sessions(&self, cutoff: Micros) -> StoreResult<usize> {
        self.write(move |conn| {
            Ok(diesel::delete(
                portal_sessions::table.filter(
                    portal_sessions::link_expires_at.lt(cutoff).and(
                        portal_sessions::expires_at
                            .is_null()
                            .or(portal_sessions::expires_at.lt(cutoff))
                            .or(portal_sessions::ended_at.lt(cutoff)),
                    ),
                ),
            )
            .execute(conn)?)
        })
        .await
    }
}

/// The caller a session acts as (its admin; re-read by every write), and the actor its changes
/// are recorded with.
fn session_caller(session: &PortalSession, request_id: Option<String>) -> (Caller, Audit) {
    let caller = Caller::portal_session(session);
    let audit = Audit {
        actor: Actor {
            key_id: session.id.clone(),
            key_kind: policy::PORTAL_KEY_KIND.to_owned(),
            user_id: Some(session.user_id.to_string()),
        },
        request_id,
    };
    (caller, audit)
}

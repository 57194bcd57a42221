//! The permission model inside write transactions: the caller's acting person is re-read in the
//! transaction that writes, so a decision rests on the rows that transaction sees (a person
//! deactivated or demoted a moment ago acts no more), and writes whose rules span the tenant's
//! super admins serialise on the tenant's row.

use diesel::prelude::*;

use super::connection::AnyConnection;
use super::schema::{tenants, users};
use super::{Store, StoreError, StoreResult};
use crate::model::Role;
use crate::policy::{self, ActingUser, Caller, Denial, Rpc};

/// The caller of one write transaction.
pub(crate) struct Access {
    caller: Caller,
    /// Whether `caller.acting` has been read in this transaction (since its last lock).
    fresh: bool,
}

/// A person as stored: (tenant, role, active).
fn person(conn: &mut AnyConnection, user_id: &str) -> StoreResult<Option<(String, String, i32)>> {
    Ok(users::table
        .filter(users::id.eq(user_id))
        .select((users::tenant_id, users::role, users::active))
        .first(conn)
        .optional()?)
}

fn acting_user(
    conn: &mut AnyConnection,
    user_id: &str,
    tenant: Option<&str>,
) -> StoreResult<Option<ActingUser>> {
    let Some((tenant_id, role, active)) = person(conn, user_id)? else {
        return Ok(None);
    };
    if tenant.is_some_and(|tenant| tenant != tenant_id) {
        return Ok(None);
    }
    let role =
        Role::parse(&role).ok_or_else(|| StoreError::Corrupt(format!("user {user_id}: role")))?;
    Ok(Some(ActingUser {
        user_id: user_id.into(),
        tenant_id: tenant_id.into(),
        role,
        active: active != 0,
    }))
}

impl Access {
    pub(super) fn new(caller: Caller) -> Self {
        Access {
            fresh: caller.acting.is_none(),
            caller,
        }
    }

    /// The caller as this transaction sees it: its acting person re-read (gone: denied).
    pub fn caller(&mut self, conn: &mut AnyConnection) -> StoreResult<&Caller> {
        if !self.fresh {
            if let Some(acting) = &mut self.caller.acting {
                *acting = acting_user(conn, &acting.user_id, Some(&acting.tenant_id))?.ok_or_else(
                    || {
                        StoreError::Denied(Denial {
                            kind: policy::DenialKind::Forbidden,
                            reason: identity_proto::reason::ACTING_USER_NOT_ALLOWED,
                            message: "the acting user no longer exists".into(),
                        })
                    },
                )?;
            }
            self.fresh = true;
        }
        Ok(&self.caller)
    }

    /// Decides `rpc` for the caller as this transaction sees it.
    pub(crate) fn authorize(&mut self, conn: &mut AnyConnection, rpc: Rpc) -> StoreResult<&Caller> {
        let caller = self.caller(conn)?;
        policy::authorize(caller, rpc)?;
        Ok(caller)
    }

    /// Locks the tenant's row until commit (a no-op update; SQLite's single writer serialises
    /// anyway), so that writes whose rules count the tenant's super admins run one at a time;
    /// the acting person is read again after it.
    pub(crate) fn lock_tenant(
        &mut self,
        conn: &mut AnyConnection,
        tenant_id: &str,
    ) -> StoreResult<()> {
        diesel::update(tenants::table.filter(tenants::id.eq(tenant_id)))
            .set(tenants::version.eq(tenants::version))
            .execute(conn)?;
        self.fresh = self.caller.acting.is_none();
        Ok(())
    }
}

/// Fails with LAST_SUPER_ADMIN when the tenant has no active super admin (checked after a write
/// that took one away, under [`Access::lock_tenant`]).
pub(super) fn require_super_admin(conn: &mut AnyConnection, tenant_id: &str) -> StoreResult<()> {
    let remaining: i64 = users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::role.eq(Role::SuperAdmin.as_str()))
        .filter(users::active.eq(1))
        .count()
        .get_result(conn)?;
    if remaining == 0 {
        return Err(policy::last_super_admin().into());
    }
    Ok(())
}

impl Store {
    /// The person `user_id` as a caller acting for them (only within `tenant` when given).
    pub(crate) async fn acting_user(
        &self,
        user_id: &str,
        tenant: Option<&str>,
    ) -> StoreResult<Option<ActingUser>> {
        let (user_id, tenant) = (user_id.to_owned(), tenant.map(str::to_owned));
        self.read_statement(move |conn| acting_user(conn, &user_id, tenant.as_deref()))
            .await
    }
}

//! Memberships: changes are set operations in SQL whose cost follows the number of users named,
//! never the size of the group; and the reads of a group's members and a user's groups.

use std::collections::HashSet;

use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use identity_proto::events::Action;

use super::connection::{AnyConnection, MultiBackend};
use super::events::{ChangeLog, member_change};
use super::filter;
use super::groups::find_visible;
use super::schema::{groups, memberships, users};
use super::{Store, StoreError, StoreResult};
use crate::model::{
    GroupId, GroupMember, Linking, ManagedBy, MembershipChange, Page, PageQuery, PageStart,
    Resource, TenantId, UserGroup, UserId, now_micros,
};

/// Ids per statement in membership changes: far below SQLite's and PostgreSQL's bind limits.
const IDS_PER_STATEMENT: usize = 500;

/// Keeps the first occurrence of each id, as the text the statements bind.
pub(super) fn distinct(ids: &[UserId]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter()
        .filter(|id| seen.insert(id.as_str()))
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// Fails with the ids that are not users of the tenant.
pub(super) fn require_users(
    conn: &mut AnyConnection,
    tenant_id: &str,
    user_ids: &[String],
) -> StoreResult<()> {
    let mut found = HashSet::with_capacity(user_ids.len());
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        // By primary key alone, the tenant checked here: with the tenant in the WHERE clause
        // SQLite may walk the tenant's index instead, costing the tenant's size.
        let existing: Vec<(String, String)> = users::table
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::tenant_id))
            .load(conn)?;
        found.extend(
            existing
                .into_iter()
                .filter(|(_, owner)| owner == tenant_id)
                .map(|(id, _)| id),
        );
    }
    let missing: Vec<String> = user_ids
        .iter()
        .filter(|id| !found.contains(*id))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(StoreError::UnknownMembers(
            missing.into_iter().map(UserId::from).collect(),
        ))
    }
}

/// The members among `user_ids` (by primary key: cost follows `user_ids`).
pub(super) fn members_among(
    conn: &mut AnyConnection,
    group_id: &str,
    user_ids: &[String],
) -> StoreResult<HashSet<String>> {
    let mut members = HashSet::new();
    for chunk in user_ids.chunks(IDS_PER_STATEMENT) {
        let found: Vec<String> = memberships::table
            .filter(memberships::group_id.eq(group_id))
            .filter(memberships::user_id.eq_any(chunk))
            .select(memberships::user_id)
            .load(conn)?;
        members.extend(found);
    }
    Ok(members)
}

/// Inserts the memberships that do not exist yet; returns the users added. Every statement is
/// driven by primary keys, so the cost follows `user_ids`, not the group or the tenant.
pub(super) fn add_members(
    conn: &mut AnyConnection,
    tenant_id: &str,
    group_id: &str,
    user_ids: &[String],
) -> StoreResult<Vec<String>> {
    require_users(conn, tenant_id, user_ids)?;
    let already = members_among(conn, group_id, user_ids)?;
    let new_members: Vec<String> = user_ids
        .iter()
        .filter(|id| !already.contains(*id))
        .cloned()
        .collect();
    let now = now_micros();
    for chunk in new_members.chunks(IDS_PER_STATEMENT) {
        // `require_users` has checked that every id is a user of this tenant.
        let rows = users::table
            .filter(users::id.eq_any(chunk.to_vec()))
            .select((
                group_id.to_owned().into_sql::<Text>(),
                users::id,
                tenant_id.to_owned().into_sql::<Text>(),
                now.into_sql::<BigInt>(),
            ));
        diesel::insert_into(memberships::table)
            .values(rows)
            .into_columns((
                memberships::group_id,
                memberships::user_id,
                memberships::tenant_id,
                memberships::created_at,
            ))
            .execute(conn)?;
    }
    Ok(new_members)
}

/// Deletes the memberships of `user_ids` that exist; returns the users removed.
pub(super) fn remove_members(
    conn: &mut AnyConnection,
    group_id: &str,
    user_ids: &[String],
) -> StoreResult<Vec<String>> {
    let members = members_among(conn, group_id, user_ids)?;
    let removed: Vec<String> = user_ids
        .iter()
        .filter(|id| members.contains(*id))
        .cloned()
        .collect();
    for chunk in removed.chunks(IDS_PER_STATEMENT) {
        diesel::delete(
            memberships::table
                .filter(memberships::group_id.eq(group_id))
                .filter(memberships::user_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(removed)
}

/// Makes the member list exactly `user_ids`; returns (added, removed). Removing everyone else
/// reads the members that go, so its cost follows them.
pub(super) fn replace_members(
    conn: &mut AnyConnection,
    tenant_id: &str,
    group_id: &str,
    user_ids: &[String],
) -> StoreResult<(Vec<String>, Vec<String>)> {
    require_users(conn, tenant_id, user_ids)?;
    let leaving: Vec<String> = memberships::table
        .filter(memberships::group_id.eq(group_id))
        .filter(not(memberships::user_id.eq_any(user_ids)))
        .select(memberships::user_id)
        .load(conn)?;
    let removed = remove_members(conn, group_id, &leaving)?;
    let added = add_members(conn, tenant_id, group_id, user_ids)?;
    Ok((added, removed))
}

/// Applies a modification to a group whose row is already locked for this transaction.
pub(super) fn apply_changes(
    conn: &mut AnyConnection,
    tenant_id: &str,
    group_id: &str,
    changes: &[MembershipChange],
    log: &mut ChangeLog,
) -> StoreResult<(i64, i64)> {
    let (mut added, mut removed) = (0, 0);
    let mut record = |ids: &[String], joined: bool| {
        for id in ids {
            let action = if joined {
                Action::GroupMemberAdded
            } else {
                Action::GroupMemberRemoved
            };
            log.push(tenant_id, action, group_id, vec![member_change(id, joined)]);
        }
        i64::try_from(ids.len()).unwrap_or(i64::MAX)
    };
    for change in changes {
        match change {
            MembershipChange::Add(ids) => {
                added += record(
                    &add_members(conn, tenant_id, group_id, &distinct(ids))?,
                    true,
                );
            }
            MembershipChange::Remove(ids) => {
                removed += record(&remove_members(conn, group_id, &distinct(ids))?, false);
            }
            MembershipChange::Replace(ids) => {
                let (joined, left) = replace_members(conn, tenant_id, group_id, &distinct(ids))?;
                removed += record(&left, false);
                added += record(&joined, true);
            }
        }
    }
    Ok((added, removed))
}

impl Store {
    pub async fn list_group_members(
        &self,
        tenant_id: &TenantId,
        group_id: &GroupId,
        page: PageQuery,
        linking: Linking,
    ) -> StoreResult<Page<GroupMember>> {
        let (tenant_id, group_id) = (tenant_id.to_owned(), group_id.to_owned());
        self.read(move |conn| {
            find_visible(conn, linking, &tenant_id, &group_id)?;
            let total = if page.include_total {
                Some(
                    memberships::table
                        .filter(memberships::group_id.eq(&group_id))
                        .count()
                        .get_result::<i64>(conn)?,
                )
            } else {
                None
            };
            let mut query = memberships::table
                .inner_join(users::table)
                .filter(memberships::group_id.eq(group_id.clone()))
                .order(memberships::user_id.asc())
                .select((
                    users::id,
                    users::user_name,
                    users::display_name,
                    users::active,
                ))
                .limit(page.size + 1)
                .into_boxed::<MultiBackend>();
            query = match &page.start {
                // Both sides of the join: PostgreSQL does not carry an inequality across it, and
                // would merge from the first user of the tenant on every page (24 ms at page 90
                // of a 100,000-member group of a million users; 1 ms with it).
                PageStart::After { id, .. } => query
                    .filter(memberships::user_id.gt(id.clone()))
                    .filter(users::id.gt(id.clone())),
                PageStart::Offset(offset) => query.offset(*offset),
            };
            let mut rows: Vec<(String, String, Option<String>, i32)> = query.load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(|(user_id, user_name, display_name, active)| GroupMember {
                        user_id: UserId::from(user_id),
                        user_name,
                        display_name,
                        active: active != 0,
                    })
                    .collect(),
                has_more,
                total,
            })
        })
        .await
    }

    pub async fn list_user_groups(
        &self,
        tenant_id: &TenantId,
        user_id: &UserId,
        page: PageQuery,
        linking: Linking,
    ) -> StoreResult<Page<UserGroup>> {
        let (tenant_id, user_id) = (tenant_id.to_owned(), user_id.to_owned());
        self.read(move |conn| {
            users::table
                .filter(users::tenant_id.eq(&tenant_id))
                .filter(users::id.eq(&user_id))
                .select(users::id)
                .first::<String>(conn)
                .optional()?
                .ok_or(StoreError::NotFound(Resource::User))?;
            // A product group this user is a member of has members: SCIM cannot link it.
            let hidden = match linking {
                Linking::Scim => ManagedBy::Internal.as_str(),
                // No group has an empty managed_by: nothing is hidden.
                Linking::Any => "",
            };
            let total = if page.include_total {
                Some(
                    memberships::table
                        .inner_join(groups::table)
                        .filter(memberships::user_id.eq(&user_id))
                        .filter(groups::managed_by.ne(hidden))
                        .count()
                        .get_result::<i64>(conn)?,
                )
            } else {
                None
            };
            let mut query = memberships::table
                .inner_join(groups::table)
                .filter(groups::managed_by.ne(hidden))
                .filter(memberships::user_id.eq(user_id.clone()))
                .order(memberships::group_id.asc())
                .select((groups::id, groups::display_name))
                .limit(page.size + 1)
                .into_boxed::<MultiBackend>();
            query = match &page.start {
                // Both sides of the join, as for a group's members.
                PageStart::After { id, .. } => query
                    .filter(memberships::group_id.gt(id.clone()))
                    .filter(groups::id.gt(id.clone())),
                PageStart::Offset(offset) => query.offset(*offset),
            };
            let mut rows: Vec<(String, String)> = query.load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(|(group_id, display_name)| UserGroup {
                        group_id: GroupId::from(group_id),
                        display_name,
                    })
                    .collect(),
                has_more,
                total,
            })
        })
        .await
    }

    pub async fn check_membership(
        &self,
        tenant_id: &TenantId,
        group_id: &GroupId,
        user_id: &UserId,
        linking: Linking,
    ) -> StoreResult<bool> {
        let (tenant_id, group_id, user_id) = (
            tenant_id.to_owned(),
            group_id.to_owned(),
            user_id.to_owned(),
        );
        self.read(move |conn| {
            find_visible(conn, linking, &tenant_id, &group_id)?;
            let count: i64 = memberships::table
                .filter(memberships::group_id.eq(&group_id))
                .filter(memberships::user_id.eq(&user_id))
                .count()
                .get_result(conn)?;
            Ok(count > 0)
        })
        .await
    }
}

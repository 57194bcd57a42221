//! Groups and memberships. Membership changes are set operations in SQL whose cost follows the
//! number of users named, never the size of the group.

use std::collections::HashSet;

use diesel::dsl::not;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use super::connection::{AnyConnection, MultiBackend};
use super::events::{ChangeLog, Snapshot, diff, member_change};
use super::filter::{self, paged};
use super::schema::{groups, memberships, users};
use super::{Conflict, Store, StoreError, StoreResult, missing_or_mismatch, version_bounds};
use crate::filter::{Filter, GroupField};
use crate::model::{
    FieldChange, Group, GroupChanges, GroupFields, GroupMember, GroupModification, Linking,
    ManagedBy, MembershipChange, ModifyOutcome, Page, PageQuery, PageStart, Resource, UserGroup,
    fold_case, new_id, now_micros,
};
use crate::policy::{self, Rpc};

/// Ids per statement in membership changes: far below SQLite's and PostgreSQL's bind limits.
const IDS_PER_STATEMENT: usize = 500;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = groups)]
#[diesel(check_for_backend(MultiBackend))]
struct GroupRow {
    id: String,
    tenant_id: String,
    display_name: String,
    display_name_key: String,
    external_id: Option<String>,
    managed_by: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

#[derive(AsChangeset, Default)]
#[diesel(table_name = groups)]
struct GroupChangeset {
    display_name: Option<String>,
    display_name_key: Option<String>,
    external_id: Option<Option<String>>,
    managed_by: Option<String>,
}

impl GroupChangeset {
    fn from_changes(changes: &GroupChanges) -> Self {
        GroupChangeset {
            display_name: changes.display_name.clone(),
            display_name_key: changes.display_name.as_deref().map(fold_case),
            external_id: changes.external_id.clone(),
            managed_by: changes.managed_by.map(|m| m.as_str().to_owned()),
        }
    }
}

impl GroupRow {
    fn into_group(self) -> StoreResult<Group> {
        let managed_by = ManagedBy::parse(&self.managed_by)
            .ok_or_else(|| StoreError::Corrupt(format!("group {}: managed_by", self.id)))?;
        Ok(Group {
            id: self.id,
            tenant_id: self.tenant_id,
            fields: GroupFields {
                display_name: self.display_name,
                external_id: self.external_id,
                managed_by,
            },
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn find_row(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> StoreResult<GroupRow> {
    groups::table
        .filter(groups::tenant_id.eq(tenant_id))
        .filter(groups::id.eq(id))
        .select(GroupRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound(Resource::Group))
}

fn get_group(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> StoreResult<Group> {
    find_row(conn, tenant_id, id)?.into_group()
}

fn has_members(conn: &mut AnyConnection, group_id: &str) -> StoreResult<bool> {
    Ok(diesel::select(diesel::dsl::exists(
        memberships::table.filter(memberships::group_id.eq(group_id)),
    ))
    .get_result(conn)?)
}

/// Applies [`Linking`] to a group about to be written: refuses what SCIM may not touch, and
/// returns whether this write links the group (makes it SCIM-managed).
fn link(conn: &mut AnyConnection, linking: Linking, row: &GroupRow) -> StoreResult<bool> {
    if linking == Linking::Any || row.managed_by != ManagedBy::Internal.as_str() {
        return Ok(false);
    }
    if has_members(conn, &row.id)? {
        return Err(StoreError::NotLinkable);
    }
    Ok(true)
}

/// Whether a reader with `linking` sees the group: SCIM sees only groups it may link or manages.
fn visible(conn: &mut AnyConnection, linking: Linking, row: &GroupRow) -> StoreResult<bool> {
    Ok(linking == Linking::Any
        || row.managed_by != ManagedBy::Internal.as_str()
        || !has_members(conn, &row.id)?)
}

/// The group, when a reader with `linking` sees it.
fn find_visible(
    conn: &mut AnyConnection,
    linking: Linking,
    tenant_id: &str,
    id: &str,
) -> StoreResult<GroupRow> {
    let row = find_row(conn, tenant_id, id)?;
    if visible(conn, linking, &row)? {
        Ok(row)
    } else {
        Err(StoreError::NotFound(Resource::Group))
    }
}

/// Keeps the first occurrence of each id.
fn distinct(ids: &[String]) -> Vec<String> {
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter()
        .filter(|id| seen.insert(id.as_str()))
        .cloned()
        .collect()
}

/// Fails with the ids that are not users of the tenant.
fn require_users(
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
        Err(StoreError::UnknownMembers(missing))
    }
}

/// The members among `user_ids` (by primary key: cost follows `user_ids`).
fn members_among(
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
fn add_members(
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
fn remove_members(
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
fn replace_members(
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
fn apply_changes(
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
                "group.member_added"
            } else {
                "group.member_removed"
            };
            log.push(
                tenant_id,
                action,
                "group",
                group_id,
                vec![member_change(id, joined)],
            );
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

/// A group's fields for the change log.
fn snapshot(fields: &GroupFields) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.insert("display_name".into(), fields.display_name.clone().into());
    if let Some(external_id) = &fields.external_id {
        snapshot.insert("external_id".into(), external_id.clone().into());
    }
    snapshot.insert("managed_by".into(), fields.managed_by.as_str().into());
    snapshot
}

impl Store {
    pub async fn create_group(
        &self,
        tenant_id: &str,
        fields: GroupFields,
        member_ids: Vec<String>,
    ) -> StoreResult<Group> {
        let tenant_id = tenant_id.to_owned();
        self.write_logged(move |conn, access, log| {
            access.authorize(conn, Rpc::CreateGroup)?;
            let now = now_micros();
            let row = GroupRow {
                id: new_id(),
                tenant_id: tenant_id.clone(),
                display_name_key: fold_case(&fields.display_name),
                display_name: fields.display_name,
                external_id: fields.external_id,
                managed_by: fields.managed_by.as_str().to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
            };
            diesel::insert_into(groups::table)
                .values(&row)
                .execute(conn)
                .map_err(|error| StoreError::from_write(error, Conflict::GroupDisplayName))?;
            let group = row.into_group()?;
            log.push(
                &tenant_id,
                "group.created",
                "group",
                &group.id,
                diff(None, Some(&snapshot(&group.fields))),
            );
            apply_changes(
                conn,
                &tenant_id,
                &group.id,
                &[MembershipChange::Add(member_ids)],
                log,
            )?;
            Ok(group)
        })
        .await
    }

    /// Whether SCIM may see and link the group: not made inside the product, or no members.
    pub async fn group_is_linkable(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.read_point(move |conn| {
            let row = find_row(conn, &tenant_id, &id)?;
            visible(conn, Linking::Scim, &row)
        })
        .await
    }

    /// The group, when a reader with `linking` sees it.
    pub async fn get_group(
        &self,
        tenant_id: &str,
        id: &str,
        linking: Linking,
    ) -> StoreResult<Group> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.read_point(move |conn| find_visible(conn, linking, &tenant_id, &id)?.into_group())
            .await
    }

    pub async fn list_groups(
        &self,
        tenant_id: &str,
        filter: Option<Filter<GroupField>>,
        page: PageQuery,
    ) -> StoreResult<Page<Group>> {
        let tenant_id = tenant_id.to_owned();
        let filtered = filter.is_some();
        self.read(move |conn| {
            let matching = || -> StoreResult<_> {
                let mut query = groups::table
                    .filter(groups::tenant_id.eq(tenant_id.clone()))
                    .into_boxed::<MultiBackend>();
                if let Some(filter) = &filter {
                    query = query.filter(filter::group_predicate(filter, &tenant_id)?);
                }
                Ok(query)
            };
            let total = if page.include_total {
                Some(matching()?.count().get_result::<i64>(conn)?)
            } else {
                None
            };
            let query = paged!(matching()?, groups, page);
            let mut rows: Vec<GroupRow> = query.select(GroupRow::as_select()).load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(GroupRow::into_group)
                    .collect::<StoreResult<_>>()?,
                has_more,
                total,
            })
        })
        .await
        .map_err(|error| {
            if filtered {
                filter::filter_failure(error)
            } else {
                error
            }
        })
    }

    pub async fn update_group(
        &self,
        tenant_id: &str,
        id: &str,
        changes: GroupChanges,
        expected_version: Option<i64>,
    ) -> StoreResult<Group> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            let caller = access.authorize(conn, Rpc::UpdateGroup)?;
            let mut changes = changes;
            let row = find_row(conn, &tenant_id, &id)?;
            if changes
                .managed_by
                .is_some_and(|managed_by| managed_by.as_str() != row.managed_by)
            {
                policy::may_set_managed_by(caller)?;
            }
            if link(conn, policy::linking(caller), &row)? {
                changes.managed_by = Some(ManagedBy::Scim);
            }
            let before = row.into_group()?;
            let (lowest, highest) = version_bounds(expected_version);
            let updated = diesel::update(
                groups::table
                    .filter(groups::tenant_id.eq(&tenant_id))
                    .filter(groups::id.eq(&id))
                    .filter(groups::version.between(lowest, highest)),
            )
            .set((
                &GroupChangeset::from_changes(&changes),
                groups::version.eq(groups::version + 1),
                groups::updated_at.eq(now_micros()),
            ))
            .execute(conn)
            .map_err(|error| StoreError::from_write(error, Conflict::GroupDisplayName))?;
            if updated == 0 {
                return Err(missing_or_mismatch(
                    find_row(conn, &tenant_id, &id)?.version,
                    expected_version,
                ));
            }
            let after = get_group(conn, &tenant_id, &id)?;
            let changes = diff(
                Some(&snapshot(&before.fields)),
                Some(&snapshot(&after.fields)),
            );
            if !changes.is_empty() {
                log.push(&tenant_id, "group.updated", "group", &id, changes);
            }
            Ok(after)
        })
        .await
    }

    pub async fn delete_group(
        &self,
        tenant_id: &str,
        id: &str,
        expected_version: Option<i64>,
    ) -> StoreResult<()> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            let caller = access.authorize(conn, Rpc::DeleteGroup)?;
            let linking = policy::linking(caller);
            let row = find_row(conn, &tenant_id, &id)?;
            link(conn, linking, &row)?;
            let before = get_group(conn, &tenant_id, &id)?;
            let members: Vec<String> = memberships::table
                .filter(memberships::group_id.eq(&id))
                .select(memberships::user_id)
                .load(conn)?;
            let (lowest, highest) = version_bounds(expected_version);
            let deleted = diesel::delete(
                groups::table
                    .filter(groups::tenant_id.eq(&tenant_id))
                    .filter(groups::id.eq(&id))
                    .filter(groups::version.between(lowest, highest)),
            )
            .execute(conn)?;
            if deleted == 0 {
                return Err(missing_or_mismatch(
                    find_row(conn, &tenant_id, &id)?.version,
                    expected_version,
                ));
            }
            for user_id in &members {
                log.push(
                    &tenant_id,
                    "group.member_removed",
                    "group",
                    &id,
                    vec![member_change(user_id, false)],
                );
            }
            log.push(
                &tenant_id,
                "group.deleted",
                "group",
                &id,
                diff(Some(&snapshot(&before.fields)), None),
            );
            Ok(())
        })
        .await
    }

    /// Renames and changes membership in one transaction. The group row is locked first (a no-op
    /// update): on PostgreSQL that serialises concurrent modifications of one group.
    pub async fn modify_group(
        &self,
        tenant_id: &str,
        id: &str,
        modification: GroupModification,
        expected_version: Option<i64>,
    ) -> StoreResult<ModifyOutcome> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            let linking = policy::linking(access.authorize(conn, Rpc::ModifyGroup)?);
            let (lowest, highest) = version_bounds(expected_version);
            let target = groups::table
                .filter(groups::tenant_id.eq(&tenant_id))
                .filter(groups::id.eq(&id))
                .filter(groups::version.between(lowest, highest));
            let locked = diesel::update(target)
                .set(groups::version.eq(groups::version))
                .execute(conn)?;
            if locked == 0 {
                return Err(missing_or_mismatch(
                    find_row(conn, &tenant_id, &id)?.version,
                    expected_version,
                ));
            }
            let mut group = find_row(conn, &tenant_id, &id)?;
            let linked = link(conn, linking, &group)?;
            let rename = modification
                .rename
                .filter(|name| *name != group.display_name);
            let external_id = modification
                .external_id
                .filter(|external_id| *external_id != group.external_id);
            let mut renamed = Vec::new();
            if let Some(name) = &rename {
                renamed.push(FieldChange {
                    field: "display_name".into(),
                    old: Some(group.display_name.clone().into()),
                    new: Some(name.clone().into()),
                });
            }
            if let Some(new_external_id) = &external_id {
                renamed.push(FieldChange {
                    field: "external_id".into(),
                    old: group.external_id.clone().map(Into::into),
                    new: new_external_id.clone().map(Into::into),
                });
            }
            if linked {
                renamed.push(FieldChange {
                    field: "managed_by".into(),
                    old: Some(ManagedBy::Internal.as_str().into()),
                    new: Some(ManagedBy::Scim.as_str().into()),
                });
            }
            if !renamed.is_empty() {
                log.push(&tenant_id, "group.updated", "group", &id, renamed);
            }
            let (members_added, members_removed) =
                apply_changes(conn, &tenant_id, &id, &modification.changes, log)?;
            // The version moves only when something changed, so that Okta's repeated no-op
            // renames do not churn ETags. The row's new state is known here: no re-read.
            if linked
                || rename.is_some()
                || external_id.is_some()
                || members_added > 0
                || members_removed > 0
            {
                let now = now_micros();
                let changes = GroupChanges {
                    display_name: rename.clone(),
                    external_id: external_id.clone(),
                    managed_by: linked.then_some(ManagedBy::Scim),
                };
                diesel::update(groups::table.filter(groups::id.eq(&id)))
                    .set((
                        &GroupChangeset::from_changes(&changes),
                        groups::version.eq(groups::version + 1),
                        groups::updated_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(|error| StoreError::from_write(error, Conflict::GroupDisplayName))?;
                if let Some(name) = rename {
                    group.display_name_key = fold_case(&name);
                    group.display_name = name;
                }
                if let Some(external_id) = external_id {
                    group.external_id = external_id;
                }
                if linked {
                    ManagedBy::Scim.as_str().clone_into(&mut group.managed_by);
                }
                group.version += 1;
                group.updated_at = now;
            }
            Ok(ModifyOutcome {
                group: group.into_group()?,
                members_added,
                members_removed,
            })
        })
        .await
    }

    pub async fn list_group_members(
        &self,
        tenant_id: &str,
        group_id: &str,
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
                PageStart::After { id, .. } => query.filter(memberships::user_id.gt(id.clone())),
                PageStart::Offset(offset) => query.offset(*offset),
            };
            let mut rows: Vec<(String, String, Option<String>, i32)> = query.load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(|(user_id, user_name, display_name, active)| GroupMember {
                        user_id,
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
        tenant_id: &str,
        user_id: &str,
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
                PageStart::After { id, .. } => query.filter(memberships::group_id.gt(id.clone())),
                PageStart::Offset(offset) => query.offset(*offset),
            };
            let mut rows: Vec<(String, String)> = query.load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows
                    .into_iter()
                    .map(|(group_id, display_name)| UserGroup {
                        group_id,
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
        tenant_id: &str,
        group_id: &str,
        user_id: &str,
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

//! Groups: created, read, listed, updated, deleted and modified (a rename and membership steps
//! in one transaction; see `memberships` for the steps).

use diesel::prelude::*;
use identity_proto::events::Action;

use super::connection::{AnyConnection, MultiBackend, PrepareOnce as _, on_backend};
use super::events::{Snapshot, diff, member_change};
use super::filter::{self, filtered_page};
use super::memberships::apply_changes;
use super::schema::{groups, memberships};
use super::{Conflict, Store, StoreError, StoreResult, at_version, touched};
use crate::filter::{Filter, GroupField};
use crate::model::{
    FieldChange, Group, GroupChanges, GroupFields, GroupId, GroupModification, Linking, ManagedBy,
    MembershipChange, ModifyOutcome, Name, Page, PageQuery, Resource, TenantId, UserId, new_id,
    now_micros,
};
use crate::policy::{self, Rpc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = groups)]
#[diesel(check_for_backend(MultiBackend))]
pub(super) struct GroupRow {
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
            display_name: changes.display_name.as_ref().map(|name| name.to_string()),
            display_name_key: changes
                .display_name
                .as_ref()
                .map(|name| name.key().to_owned()),
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
            id: self.id.into(),
            tenant_id: self.tenant_id.into(),
            fields: GroupFields {
                display_name: Name::stored(self.display_name, self.display_name_key),
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
pub(super) fn find_visible(
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

/// A group's fields for the change log.
fn snapshot(fields: &GroupFields) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.insert("display_name".into(), fields.display_name.as_str().into());
    if let Some(external_id) = &fields.external_id {
        snapshot.insert("external_id".into(), external_id.clone().into());
    }
    snapshot.insert("managed_by".into(), fields.managed_by.as_str().into());
    snapshot
}

impl Store {
    pub async fn create_group(
        &self,
        tenant_id: &TenantId,
        fields: GroupFields,
        member_ids: Vec<UserId>,
    ) -> StoreResult<Group> {
        let tenant_id = tenant_id.to_owned();
        self.write_logged(move |conn, access, log| {
            access.authorize(conn, Rpc::CreateGroup)?;
            let now = now_micros();
            let row = GroupRow {
                id: new_id(),
                tenant_id: tenant_id.to_string(),
                display_name_key: fields.display_name.key().to_owned(),
                display_name: fields.display_name.into_string(),
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
                Action::GroupCreated,
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
    pub(crate) async fn group_is_linkable(&self, tenant_id: &str, id: &str) -> StoreResult<bool> {
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
        tenant_id: &TenantId,
        id: &GroupId,
        linking: Linking,
    ) -> StoreResult<Group> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.read_point(move |conn| find_visible(conn, linking, &tenant_id, &id)?.into_group())
            .await
    }

    pub async fn list_groups(
        &self,
        tenant_id: &TenantId,
        filter: Option<Filter<GroupField>>,
        page: PageQuery,
    ) -> StoreResult<Page<Group>> {
        let tenant_id = tenant_id.to_owned();
        let filtered = filter.is_some();
        let inner = std::sync::Arc::clone(&self.inner);
        self.read(move |conn| {
            let (rows, has_more, total) = filtered_page!(
                conn,
                inner.positions,
                groups,
                GroupRow,
                tenant_id,
                &filter,
                filter::group_predicate,
                page
            );
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
        tenant_id: &TenantId,
        id: &GroupId,
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
            let changeset = GroupChangeset::from_changes(&changes);
            let updated = on_backend!(&mut *conn, c => diesel::update(at_version!(groups, &tenant_id, &id, expected_version))
                .set((
                    &changeset,
                    groups::version.eq(groups::version + 1),
                    groups::updated_at.eq(now_micros()),
                ))
                .prepared_once()
                .execute(c))
                .map_err(|error| StoreError::from_write(error, Conflict::GroupDisplayName))?;
            touched(updated, expected_version, || {
                Ok(find_row(conn, &tenant_id, &id)?.version)
            })?;
            let after = get_group(conn, &tenant_id, &id)?;
            let changes = diff(
                Some(&snapshot(&before.fields)),
                Some(&snapshot(&after.fields)),
            );
            if !changes.is_empty() {
                log.push(&tenant_id, Action::GroupUpdated, &id, changes);
            }
            Ok(after)
        })
        .await
    }

    pub async fn delete_group(
        &self,
        tenant_id: &TenantId,
        id: &GroupId,
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
            let deleted = diesel::delete(at_version!(groups, &tenant_id, &id, expected_version))
                .execute(conn)?;
            touched(deleted, expected_version, || {
                Ok(find_row(conn, &tenant_id, &id)?.version)
            })?;
            for user_id in &members {
                log.push(
                    &tenant_id,
                    Action::GroupMemberRemoved,
                    &id,
                    vec![member_change(user_id, false)],
                );
            }
            log.push(
                &tenant_id,
                Action::GroupDeleted,
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
        tenant_id: &TenantId,
        id: &GroupId,
        modification: GroupModification,
        expected_version: Option<i64>,
    ) -> StoreResult<ModifyOutcome> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            let linking = policy::linking(access.authorize(conn, Rpc::ModifyGroup)?);
            let locked = on_backend!(&mut *conn, c => diesel::update(at_version!(groups, &tenant_id, &id, expected_version))
                .set(groups::version.eq(groups::version))
                .prepared_once()
                .execute(c))?;
            touched(locked, expected_version, || {
                Ok(find_row(conn, &tenant_id, &id)?.version)
            })?;
            let mut group = find_row(conn, &tenant_id, &id)?;
            let linked = link(conn, linking, &group)?;
            let rename = modification
                .rename
                .filter(|name| *name != group.display_name.as_str());
            let external_id = modification
                .external_id
                .filter(|external_id| *external_id != group.external_id);
            let mut renamed = Vec::new();
            if let Some(name) = &rename {
                renamed.push(FieldChange {
                    field: "display_name".into(),
                    old: Some(group.display_name.clone().into()),
                    new: Some(name.as_str().into()),
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
                log.push(&tenant_id, Action::GroupUpdated, &id, renamed);
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
                let changeset = GroupChangeset::from_changes(&changes);
                on_backend!(&mut *conn, c => diesel::update(groups::table.filter(groups::id.eq(&id)))
                    .set((
                        &changeset,
                        groups::version.eq(groups::version + 1),
                        groups::updated_at.eq(now),
                    ))
                    .prepared_once()
                    .execute(c))
                    .map_err(|error| StoreError::from_write(error, Conflict::GroupDisplayName))?;
                if let Some(name) = rename {
                    group.display_name_key = name.key().to_owned();
                    group.display_name = name.into_string();
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
}

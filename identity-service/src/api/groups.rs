//! `identity.v1.Groups`.

use identity_proto::v1 as pb;
use identity_proto::v1::groups_server::Groups;
use tonic::{Request, Response, Status};

use super::convert::{filter_from_pb, group_to_pb, managed_by_from_pb};
use super::paging::{page_query, page_response};
use super::users::default_managed_by;
use super::validate::{self, MAX_MEMBER_IDS, MAX_TEXT_CHARS, Violations};
use super::{authorized, mask_paths};
use crate::error::{ApiError, reason};
use crate::filter::{Comparison, Filter, GroupField, Op, Value};
use crate::model::{
    GroupChanges, GroupFields, GroupModification, Linking, MembershipChange, Name, PageQuery,
    PageStart, TenantId,
};
use crate::policy::{self, Rpc};
use crate::store::Store;
use crate::store::{Conflict, StoreError};

use identity_proto::fields::group as fields;

#[derive(Debug, Clone)]
pub(crate) struct GroupsApi {
    store: Store,
}

impl GroupsApi {
    pub fn new(store: Store) -> Self {
        GroupsApi { store }
    }
}

fn check_member_count(count: usize) -> Result<(), ApiError> {
    if count > MAX_MEMBER_IDS {
        return Err(ApiError::invalid(
            "user_ids",
            format!("more than {MAX_MEMBER_IDS} users in one call; split the change"),
        ));
    }
    Ok(())
}

/// The 409 a SCIM create gets when the name belongs to a group SCIM cannot link.
async fn name_taken_for_scim(store: &Store, tenant_id: &TenantId, name: &str) -> ApiError {
    let taken = ApiError::from(StoreError::AlreadyExists(Conflict::GroupDisplayName));
    let same_name = Filter::Compare(Comparison {
        field: GroupField::DisplayName,
        op: Op::Eq,
        value: Value::Text(name.to_owned()),
        element_type: None,
    });
    let page = PageQuery {
        size: 1,
        start: PageStart::Offset(0),
        include_total: false,
    };
    let Ok(found) = store.list_groups(tenant_id, Some(same_name), page).await else {
        return taken;
    };
    let Some(existing) = found.items.first() else {
        return taken;
    };
    match store.group_is_linkable(tenant_id, &existing.id).await {
        Ok(false) => ApiError::AlreadyExists {
            reason: reason::GROUP_NAME_TAKEN,
            message: format!(
                "a group named {name:?} exists in the product and has members, so SCIM cannot \
                 link it; rename the group in the identity provider or in the product"
            ),
        },
        _ => taken,
    }
}

fn modification(request: &pb::ModifyGroupRequest) -> Result<GroupModification, ApiError> {
    use pb::membership_change::Change;
    let mut violations = Violations::default();
    if let Some(name) = &request.display_name {
        violations.name("display_name", name);
    }
    violations.optional_text(
        "external_id",
        request.external_id.as_deref(),
        MAX_TEXT_CHARS,
    );
    let mut named = 0;
    let mut changes = Vec::with_capacity(request.changes.len());
    for (index, change) in request.changes.iter().enumerate() {
        let field = |kind: &str| format!("changes[{index}].{kind}.user_ids");
        let change = match &change.change {
            Some(Change::Add(ids)) => {
                MembershipChange::Add(violations.user_ids(&field("add"), &ids.user_ids))
            }
            Some(Change::Remove(ids)) => {
                MembershipChange::Remove(violations.user_ids(&field("remove"), &ids.user_ids))
            }
            Some(Change::Replace(ids)) => {
                MembershipChange::Replace(violations.user_ids(&field("replace"), &ids.user_ids))
            }
            None => {
                violations.add(
                    format!("changes[{index}]"),
                    "set one of add, remove or replace",
                );
                continue;
            }
        };
        named += match &change {
            MembershipChange::Add(ids)
            | MembershipChange::Remove(ids)
            | MembershipChange::Replace(ids) => ids.len(),
        };
        changes.push(change);
    }
    violations.finish()?;
    check_member_count(named)?;
    Ok(GroupModification {
        rename: request.display_name.clone().map(Name::from),
        external_id: request
            .external_id
            .as_ref()
            .map(|id| Some(id.clone()).filter(|id| !id.is_empty())),
        changes,
    })
}

#[tonic::async_trait]
impl Groups for GroupsApi {
    async fn create_group(
        &self,
        request: Request<pb::CreateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::CreateGroup)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let group = request
            .group
            .ok_or_else(|| ApiError::invalid("group", "required"))?;
        let mut violations = Violations::default();
        violations.name("group.display_name", &group.display_name);
        violations.optional_text(
            "group.external_id",
            group.external_id.as_deref(),
            MAX_TEXT_CHARS,
        );
        let default = default_managed_by(&caller);
        let managed_by = managed_by_from_pb(group.managed_by)
            .map_err(|why| violations.add("group.managed_by", why))
            .ok()
            .flatten()
            .unwrap_or(default);
        let members = violations.user_ids("member_user_ids", &request.member_user_ids);
        violations.finish()?;
        if managed_by != default {
            policy::may_set_managed_by(&caller)?;
        }
        check_member_count(members.len())?;
        let fields = GroupFields {
            display_name: group.display_name.into(),
            external_id: group.external_id,
            managed_by,
        };
        let name = fields.display_name.clone();
        let created = match store.create_group(&tenant_id, fields, members).await {
            Err(StoreError::AlreadyExists(Conflict::GroupDisplayName))
                if policy::linking(&caller) == Linking::Scim =>
            {
                return Err(name_taken_for_scim(&store, &tenant_id, &name).await.into());
            }
            other => other?,
        };
        tracing::info!(group_id = %created.id, tenant_id = %tenant_id, "group created");
        Ok(Response::new(group_to_pb(created)))
    }

    async fn get_group(
        &self,
        request: Request<pb::GetGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::GetGroup)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let id = validate::id("id", &request.id)?;
        let group = store
            .get_group(&tenant_id, &id, policy::linking(&caller))
            .await?;
        Ok(Response::new(group_to_pb(group)))
    }

    async fn list_groups(
        &self,
        request: Request<pb::ListGroupsRequest>,
    ) -> Result<Response<pb::ListGroupsResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListGroups)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let mut filter = request.filter.as_ref().map(filter_from_pb).transpose()?;
        if policy::linking(&caller) == Linking::Scim {
            // SCIM lists and looks up only the groups it may link.
            let linkable = Filter::Compare(Comparison {
                field: GroupField::Linkable,
                op: Op::Eq,
                value: Value::Bool(true),
                element_type: None,
            });
            filter = Some(match filter {
                Some(asked) => Filter::And(vec![asked, linkable]),
                None => linkable,
            });
        }
        let page = page_query(request.page.as_ref())?;
        let groups = store.list_groups(&tenant_id, filter, page).await?;
        let page = page_response(&groups, |group| (group.created_at, group.id.as_str()));
        Ok(Response::new(pb::ListGroupsResponse {
            groups: groups.items.into_iter().map(group_to_pb).collect(),
            page: Some(page),
        }))
    }

    async fn update_group(
        &self,
        request: Request<pb::UpdateGroupRequest>,
    ) -> Result<Response<pb::Group>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::UpdateGroup)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let group = request
            .group
            .ok_or_else(|| ApiError::invalid("group", "required"))?;
        let id = validate::id("group.id", &group.id)?;
        let paths = mask_paths(request.update_mask.as_ref(), fields::UPDATABLE)?;
        let mut violations = Violations::default();
        let mut changes = GroupChanges::default();
        for path in &paths {
            match *path {
                fields::DISPLAY_NAME => {
                    violations.name("group.display_name", &group.display_name);
                    changes.display_name = Some(group.display_name.as_str().into());
                }
                fields::EXTERNAL_ID => {
                    violations.optional_text(
                        "group.external_id",
                        group.external_id.as_deref(),
                        MAX_TEXT_CHARS,
                    );
                    changes.external_id = Some(group.external_id.clone());
                }
                // Unspecified leaves it as it is (also under "*").
                fields::MANAGED_BY => match managed_by_from_pb(group.managed_by) {
                    Ok(managed_by) => changes.managed_by = managed_by,
                    Err(why) => violations.add("group.managed_by", why),
                },
                _ => {}
            }
        }
        violations.finish()?;
        let updated = store
            .update_group(&tenant_id, &id, changes, request.expected_version)
            .await?;
        tracing::info!(group_id = %id, tenant_id = %tenant_id, fields = ?paths, "group updated");
        Ok(Response::new(group_to_pb(updated)))
    }

    async fn delete_group(
        &self,
        request: Request<pb::DeleteGroupRequest>,
    ) -> Result<Response<()>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::DeleteGroup)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let id = validate::id("id", &request.id)?;
        store
            .delete_group(&tenant_id, &id, request.expected_version)
            .await?;
        tracing::info!(group_id = %id, tenant_id = %tenant_id, "group deleted");
        Ok(Response::new(()))
    }

    async fn modify_group(
        &self,
        request: Request<pb::ModifyGroupRequest>,
    ) -> Result<Response<pb::ModifyGroupResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ModifyGroup)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let id = validate::id("group_id", &request.group_id)?;
        let modification = modification(&request)?;
        let outcome = store
            .modify_group(&tenant_id, &id, modification, request.expected_version)
            .await?;
        tracing::info!(
            group_id = %id,
            tenant_id = %tenant_id,
            added = outcome.members_added,
            removed = outcome.members_removed,
            "group modified"
        );
        Ok(Response::new(pb::ModifyGroupResponse {
            group: Some(group_to_pb(outcome.group)),
            members_added: outcome.members_added,
            members_removed: outcome.members_removed,
        }))
    }

    async fn list_group_members(
        &self,
        request: Request<pb::ListGroupMembersRequest>,
    ) -> Result<Response<pb::ListGroupMembersResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListGroupMembers)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let group_id = validate::id("group_id", &request.group_id)?;
        let page = page_query(request.page.as_ref())?;
        let members = store
            .list_group_members(&tenant_id, &group_id, page, policy::linking(&caller))
            .await?;
        // Members are ordered by user id alone.
        let page = page_response(&members, |member| (0, member.user_id.as_str()));
        Ok(Response::new(pb::ListGroupMembersResponse {
            members: members
                .items
                .into_iter()
                .map(|member| pb::GroupMember {
                    user_id: member.user_id.into_string(),
                    user_name: member.user_name,
                    display_name: member.display_name,
                    active: member.active,
                })
                .collect(),
            page: Some(page),
        }))
    }

    async fn list_user_groups(
        &self,
        request: Request<pb::ListUserGroupsRequest>,
    ) -> Result<Response<pb::ListUserGroupsResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListUserGroups)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let user_id = validate::id("user_id", &request.user_id)?;
        let page = page_query(request.page.as_ref())?;
        let groups = store
            .list_user_groups(&tenant_id, &user_id, page, policy::linking(&caller))
            .await?;
        // Groups of a user are ordered by group id alone.
        let page = page_response(&groups, |group| (0, group.group_id.as_str()));
        Ok(Response::new(pb::ListUserGroupsResponse {
            groups: groups
                .items
                .into_iter()
                .map(|group| pb::UserGroup {
                    group_id: group.group_id.into_string(),
                    display_name: group.display_name,
                })
                .collect(),
            page: Some(page),
        }))
    }

    async fn check_membership(
        &self,
        request: Request<pb::CheckMembershipRequest>,
    ) -> Result<Response<pb::CheckMembershipResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::CheckMembership)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let group_id = validate::id("group_id", &request.group_id)?;
        let user_id = validate::id("user_id", &request.user_id)?;
        let is_member = store
            .check_membership(&tenant_id, &group_id, &user_id, policy::linking(&caller))
            .await?;
        Ok(Response::new(pb::CheckMembershipResponse { is_member }))
    }
}

//! `/Groups`: list and filter, create, read (members unless excluded), replace, patch, delete.
//! A PATCH — rename, external id and any number of member adds, removes and replaces — is ONE
//! `ModifyGroup` call: atomic, and never reads the member list.

mod codec;
mod plan;

use axum::response::Response;
use http::StatusCode;
use identity_proto::v1 as pb;
use pb::membership_change::Change;
use serde_json::{Value, json};

use crate::client::Call;
use crate::extract::{Id, Input, ListParams, reject_other_id};
use crate::filter;
use crate::patch;
use crate::scim::document;
use crate::scim::error::{ScimResult, ScimType};
use crate::scim::render::{self, location};
use crate::scim::schema::{GROUP_TYPE, USER_TYPE};

/// The most members one group's answer carries.
const MAX_GROUP_MEMBERS: usize = 1_000_000;
/// The members a list of groups carries in all: past it the page ends early (`itemsPerPage`
/// says how many groups it holds; RFC 7644 lets a server return fewer than `count`).
const MAX_LISTED_MEMBERS: usize = 50_000;

async fn members(call: &Call, group_id: &str, limit: usize) -> ScimResult<Vec<Value>> {
    let request = pb::ListGroupMembersRequest {
        group_id: group_id.to_owned(),
        ..Default::default()
    };
    let members = call
        .all_pages(limit, request, |mut groups, request| async move {
            groups.list_group_members(request).await
        })
        .await?;
    Ok(members
        .into_iter()
        .map(|member| {
            json!({
                "value": member.user_id,
                "$ref": location(call.base_url(), &USER_TYPE, &member.user_id),
                "type": "User",
            })
        })
        .collect())
}

/// Renders a group, fetching its members only when the projection returns them.
async fn render(
    call: &Call,
    group: &pb::Group,
    attributes: &[String],
    excluded: &[String],
    member_limit: usize,
) -> ScimResult<Value> {
    let members = if document::returns(attributes, excluded, &GROUP_TYPE, "members") {
        Some(members(call, &group.id, member_limit).await?)
    } else {
        None
    };
    let document = codec::to_document(call.base_url(), group, members);
    Ok(Value::Object(document::project(
        document,
        &GROUP_TYPE,
        attributes,
        excluded,
    )))
}

async fn single(
    call: &Call,
    input: &Input,
    status: StatusCode,
    group: &pb::Group,
) -> ScimResult<Response> {
    let (attributes, excluded) = input.attributes();
    let body = render(call, group, &attributes, &excluded, MAX_GROUP_MEMBERS).await?;
    Ok(render::resource(
        status,
        &body,
        group.version,
        (status == StatusCode::CREATED).then(|| location(call.base_url(), &GROUP_TYPE, &group.id)),
    ))
}

pub(crate) async fn list(call: Call, input: Input) -> ScimResult<Response> {
    respond_list(&call, ListParams::from_query(&input)?).await
}

/// `POST /Groups/.search`.
pub(crate) async fn search(call: Call, input: Input) -> ScimResult<Response> {
    respond_list(&call, ListParams::from_search(&input)?).await
}

async fn respond_list(call: &Call, params: ListParams) -> ScimResult<Response> {
    let parsed = params.filter.as_deref().map(filter::parse).transpose()?;
    let request = pb::ListGroupsRequest {
        filter: parsed.as_ref().map(codec::to_service_filter).transpose()?,
        page: Some(params.page()),
        ..Default::default()
    };
    let mut groups = call.groups();
    let response = groups
        .list_groups(call.request(request))
        .await?
        .into_inner();
    let (total, groups) = params.answer(response.page, response.groups);
    // One group at a time, within a budget of members for the whole answer.
    let mut resources = Vec::with_capacity(groups.len());
    let mut budget = MAX_LISTED_MEMBERS;
    for group in &groups {
        let limit = if resources.is_empty() {
            MAX_GROUP_MEMBERS
        } else {
            budget
        };
        let rendered = render(call, group, &params.attributes, &params.excluded, limit);
        let resource = match rendered.await {
            Err(error) if error.scim_type == Some(ScimType::TooMany) && !resources.is_empty() => {
                break;
            }
            other => other?,
        };
        let members = resource
            .get("members")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        budget = budget.saturating_sub(members);
        resources.push(resource);
    }
    Ok(render::list(total, params.start_index, resources))
}

pub(crate) async fn read(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let request = pb::GetGroupRequest {
        id,
        ..Default::default()
    };
    let mut groups = call.groups();
    let group = groups.get_group(call.request(request)).await?.into_inner();
    single(&call, &input, StatusCode::OK, &group).await
}

pub(crate) async fn create(call: Call, input: Input) -> ScimResult<Response> {
    let body = codec::group_body(input.json_object()?)?;
    let request = pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: body.display_name,
            external_id: body.external_id,
            ..Default::default()
        }),
        member_user_ids: body.members,
        ..Default::default()
    };
    let mut groups = call.groups();
    let group = groups
        .create_group(call.request(request))
        .await?
        .into_inner();
    single(&call, &input, StatusCode::CREATED, &group).await
}

/// PUT replaces name, external id and the whole member list, in one transaction.
pub(crate) async fn replace(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let expected_version = input.if_match()?;
    let raw = input.json_object()?;
    reject_other_id(&raw, &id)?;
    let body = codec::group_body(raw)?;
    let request = pb::ModifyGroupRequest {
        group_id: id,
        display_name: Some(body.display_name),
        external_id: Some(body.external_id.unwrap_or_default()),
        changes: vec![plan::change(Change::Replace, body.members)],
        expected_version,
        ..Default::default()
    };
    let mut groups = call.groups();
    let response = groups
        .modify_group(call.request(request))
        .await?
        .into_inner();
    let group = response.group.unwrap_or_default();
    single(&call, &input, StatusCode::OK, &group).await
}

pub(crate) async fn modify(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let mut request = plan::modify_group_request(&id, patch::plan(&GROUP_TYPE, input.json()?)?)?;
    request.expected_version = input.if_match()?;
    let mut groups = call.groups();
    let response = groups
        .modify_group(call.request(request))
        .await?
        .into_inner();
    let (attributes, excluded) = input.attributes();
    if attributes.is_empty() && excluded.is_empty() {
        // Answering with the group would mean reading its whole member list.
        return Ok(render::no_content());
    }
    let group = response.group.unwrap_or_default();
    single(&call, &input, StatusCode::OK, &group).await
}

pub(crate) async fn delete(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let request = pb::DeleteGroupRequest {
        id,
        expected_version: input.if_match()?,
        ..Default::default()
    };
    call.groups().delete_group(call.request(request)).await?;
    Ok(render::no_content())
}

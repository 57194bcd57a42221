//! `/Groups`: list and filter, create, read (members unless excluded), replace, patch, delete.
//! A PATCH — rename, external id and any number of member adds, removes and replaces — is ONE
//! `ModifyGroup` call: atomic, and never reads the member list.

mod codec;
mod plan;
mod stream;

use axum::response::Response;
use http::StatusCode;
use identity_proto::v1 as pb;
use pb::membership_change::Change;

use crate::client::Call;
use crate::extract::{Id, Input, ListParams, reject_other_id};
use crate::filter;
use crate::patch;
use crate::scim::error::ScimResult;
use crate::scim::render::{self, location};
use crate::scim::schema::GROUP_TYPE;

/// A group at `status`, with its `ETag` (and `Location` when created), its members streamed.
async fn single(
    call: &Call,
    input: &Input,
    status: StatusCode,
    group: &pb::Group,
) -> ScimResult<Response> {
    let (attributes, excluded) = input.attributes();
    let location =
        (status == StatusCode::CREATED).then(|| location(call.base_url(), &GROUP_TYPE, &group.id));
    let body = stream::group(call, group, &attributes, &excluded).await?;
    Ok(render::resource_body(status, body, group.version, location))
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
    let body = stream::list(
        call,
        total,
        params.start_index,
        groups,
        &params.attributes,
        &params.excluded,
    )
    .await?;
    Ok(render::list_body(body))
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

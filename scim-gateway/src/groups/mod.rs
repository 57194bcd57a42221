//! `/Groups`: list and filter, create, read (members unless excluded), replace, patch, delete.
//! A PATCH — rename, external id and any number of member adds, removes and replaces — is ONE
//! `ModifyGroup` call: atomic, and never reads the member list.

mod codec;
mod plan;

use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use identity_proto::v1 as pb;
use pb::membership_change::Change;
use serde_json::Value;

use crate::client::Call;
use crate::extract::{Id, Input, ListParams, reject_other_id};
use crate::filter;
use crate::patch;
use crate::scim::document;
use crate::scim::error::{ScimError, ScimResult, ScimType};
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
        .iter()
        .map(|member| MemberFields::ALL.render(call.base_url(), &member.user_id))
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

/// One group with its members, as `single` answers it: the document up to its members, then
/// the members page by page as the service returns them — the answer's memory stays one page
/// however large the group (the first page is read before answering, so that a refusal is
/// still a SCIM error; a failure later cuts the response short).
async fn single(
    call: &Call,
    input: &Input,
    status: StatusCode,
    group: &pb::Group,
) -> ScimResult<Response> {
    let (attributes, excluded) = input.attributes();
    let location =
        (status == StatusCode::CREATED).then(|| location(call.base_url(), &GROUP_TYPE, &group.id));
    // The projection decides once, on a sample member, which member attributes remain.
    let sample = MemberFields::ALL.render(call.base_url(), "");
    let mut document = document::project(
        codec::to_document(call.base_url(), group, Some(vec![sample])),
        &GROUP_TYPE,
        &attributes,
        &excluded,
    );
    let kept = match document.remove("members") {
        Some(Value::Array(mut sample)) => match sample.pop() {
            Some(Value::Object(kept)) => MemberFields::of(&kept),
            _ => None,
        },
        _ => None,
    };
    let Some(kept) = kept else {
        return Ok(render::resource(
            status,
            &Value::Object(document),
            group.version,
            location,
        ));
    };
    let (members, next_token) = member_page(call, &group.id, String::new()).await?;
    let mut head = Value::Object(document).to_string();
    head.pop(); // the closing brace: the members follow
    head.push_str(",\"members\":[");
    let mut pages = MemberPages {
        call: call.clone(),
        group_id: group.id.clone(),
        kept,
        chunk: head.into_bytes(),
        page: None,
        written: 0,
    };
    pages.render(&members);
    let body = if next_token.is_empty() {
        // One page: an ordinary answer, with its length.
        pages.chunk.extend_from_slice(b"]}");
        Body::from(pages.chunk)
    } else {
        pages.page = Some(next_token);
        Body::from_stream(futures_util::stream::unfold(pages, MemberPages::next))
    };
    Ok(render::resource_body(status, body, group.version, location))
}

/// Which of a member's attributes an answer carries.
#[derive(Clone, Copy)]
struct MemberFields {
    value: bool,
    reference: bool,
    kind: bool,
}

impl MemberFields {
    const ALL: MemberFields = MemberFields {
        value: true,
        reference: true,
        kind: true,
    };

    /// A member as a group's `members` lists it.
    fn render(self, base_url: &str, user_id: &str) -> Value {
        let mut object = serde_json::Map::new();
        if self.value {
            object.insert("value".into(), user_id.into());
        }
        if self.reference {
            let reference = location(base_url, &USER_TYPE, user_id);
            object.insert("$ref".into(), reference.into());
        }
        if self.kind {
            object.insert("type".into(), "User".into());
        }
        Value::Object(object)
    }

    fn of(kept: &serde_json::Map<String, Value>) -> Option<MemberFields> {
        let fields = MemberFields {
            value: kept.contains_key("value"),
            reference: kept.contains_key("$ref"),
            kind: kept.contains_key("type"),
        };
        (fields.value || fields.reference || fields.kind).then_some(fields)
    }
}

/// One page of a group's members and the token of the next (empty: the last).
async fn member_page(
    call: &Call,
    group_id: &str,
    page_token: String,
) -> ScimResult<(Vec<pb::GroupMember>, String)> {
    let request = pb::ListGroupMembersRequest {
        group_id: group_id.to_owned(),
        page: Some(pb::PageRequest {
            page_size: MEMBER_PAGE_SIZE,
            page_token,
            ..Default::default()
        }),
        ..Default::default()
    };
    let response = call
        .groups()
        .list_group_members(call.request(request))
        .await?
        .into_inner();
    let next = response.page.map(|page| page.next_page_token);
    Ok((response.members, next.unwrap_or_default()))
}

/// Members read per call while a group's answer streams.
const MEMBER_PAGE_SIZE: i32 = 1000;

/// The state of a streaming group answer.
struct MemberPages {
    call: Call,
    group_id: String,
    kept: MemberFields,
    /// What is rendered and not yet sent.
    chunk: Vec<u8>,
    /// The token of the page to read next; `None` once the last was read.
    page: Option<String>,
    written: usize,
}

impl MemberPages {
    /// Appends `members` to the chunk.
    fn render(&mut self, members: &[pb::GroupMember]) {
        for member in members {
            if self.written > 0 {
                self.chunk.push(b',');
            }
            self.written += 1;
            let member = self.kept.render(self.call.base_url(), &member.user_id);
            self.chunk.extend_from_slice(member.to_string().as_bytes());
        }
    }

    /// Sends what is rendered and reads the next page, until the closing is sent.
    async fn next(mut self) -> Option<(Result<Vec<u8>, ScimError>, Self)> {
        let Some(token) = self.page.take() else {
            return (!self.chunk.is_empty()).then(|| (Ok(std::mem::take(&mut self.chunk)), self));
        };
        let sent = std::mem::take(&mut self.chunk);
        match member_page(&self.call, &self.group_id, token).await {
            Ok((members, next_token)) => {
                self.render(&members);
                if next_token.is_empty() {
                    self.chunk.extend_from_slice(b"]}");
                } else {
                    self.page = Some(next_token);
                }
                Some((Ok(sent), self))
            }
            Err(error) => {
                tracing::warn!(group_id = %self.group_id, %error, "a group's answer was cut short");
                Some((Err(error), self))
            }
        }
    }
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

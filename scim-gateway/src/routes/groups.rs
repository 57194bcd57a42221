//! `/Groups`: list and filter, create, read (members unless excluded), replace, patch, delete.
//! A PATCH — rename, external id and any number of member adds, removes and replaces — is ONE
//! `ModifyGroup` call: atomic, and never reads the member list.

use axum::response::Response;
use http::StatusCode;
use identity_proto::v1 as pb;
use serde_json::{Value, json};

use super::{
    Call, Endpoint, Input, ListParams, all_pages, endpoint, list_response, reject_other_id,
};
use crate::error::{ScimError, ScimResult, ScimType};
use crate::filter::{self, Filter, Literal, Op};
use crate::patch::{self, OpKind};
use crate::resource::{self, Object, Resolved};
use crate::response;
use crate::schema::{GROUP_SCHEMA, GROUP_TYPE};
use crate::server::Gateway;
use crate::user::{etag, format_time};

pub async fn route(gateway: &Gateway, call: &Call, input: &Input) -> ScimResult<Response> {
    match endpoint(input, "group")? {
        Endpoint::List(params) => list(gateway, call, params).await,
        Endpoint::Create => create(gateway, call, input).await,
        Endpoint::Get(id) => get(gateway, call, input, id).await,
        Endpoint::Replace(id) => replace(gateway, call, input, id).await,
        Endpoint::Modify(id) => modify(gateway, call, input, id).await,
        Endpoint::Delete(id) => delete(gateway, call, input, id).await,
    }
}

/// The most members one group's answer carries.
const MAX_GROUP_MEMBERS: usize = 1_000_000;
/// The members a list of groups carries in all: past it the page ends early (`itemsPerPage`
/// says how many groups it holds; RFC 7644 lets a server return fewer than `count`).
const MAX_LISTED_MEMBERS: usize = 50_000;

async fn members(
    gateway: &Gateway,
    call: &Call,
    group_id: &str,
    limit: usize,
) -> ScimResult<Vec<Value>> {
    let client = gateway.groups();
    let members = all_pages(limit, |page| {
        let mut client = client.clone();
        let request = call.request(pb::ListGroupMembersRequest {
            group_id: group_id.to_owned(),
            page: Some(page),
            ..Default::default()
        });
        async move {
            let response = client.list_group_members(request).await?.into_inner();
            Ok((response.members, response.page))
        }
    })
    .await?;
    Ok(members
        .into_iter()
        .map(|member| {
            json!({
                "value": member.user_id,
                "$ref": format!("{}/Users/{}", gateway.base_url(), member.user_id),
                "type": "User",
            })
        })
        .collect())
}

fn to_document(gateway: &Gateway, group: &pb::Group, members: Option<Vec<Value>>) -> Object {
    let mut document = Object::new();
    document.insert("schemas".into(), json!([GROUP_SCHEMA]));
    document.insert("id".into(), group.id.clone().into());
    if let Some(external_id) = &group.external_id {
        document.insert("externalId".into(), external_id.clone().into());
    }
    document.insert("displayName".into(), group.display_name.clone().into());
    if let Some(members) = members {
        document.insert("members".into(), Value::Array(members));
    }
    document.insert(
        "meta".into(),
        json!({
            "resourceType": "Group",
            "created": format_time(group.create_time.as_ref()),
            "lastModified": format_time(group.update_time.as_ref()),
            "location": format!("{}/Groups/{}", gateway.base_url(), group.id),
            "version": etag(group.version),
        }),
    );
    document
}

/// Renders a group, fetching its members only when the projection returns them.
async fn render(
    gateway: &Gateway,
    call: &Call,
    group: &pb::Group,
    attributes: &[String],
    excluded: &[String],
    member_limit: usize,
) -> ScimResult<Value> {
    let members = if resource::returns(attributes, excluded, &GROUP_TYPE, "members") {
        Some(members(gateway, call, &group.id, member_limit).await?)
    } else {
        None
    };
    let document = to_document(gateway, group, members);
    Ok(Value::Object(resource::project(
        document,
        &GROUP_TYPE,
        attributes,
        excluded,
    )))
}

async fn single(
    gateway: &Gateway,
    call: &Call,
    input: &Input,
    status: StatusCode,
    group: &pb::Group,
) -> ScimResult<Response> {
    let (attributes, excluded) = input.attributes();
    let body = render(
        gateway,
        call,
        group,
        &attributes,
        &excluded,
        MAX_GROUP_MEMBERS,
    )
    .await?;
    let location = format!("{}/Groups/{}", gateway.base_url(), group.id);
    Ok(response::resource(
        status,
        &body,
        Some(&etag(group.version)),
        (status == StatusCode::CREATED).then_some(location.as_str()),
    ))
}

async fn list(gateway: &Gateway, call: &Call, params: ListParams) -> ScimResult<Response> {
    let parsed = params.filter.as_deref().map(filter::parse).transpose()?;
    let request = pb::ListGroupsRequest {
        filter: parsed.as_ref().map(filter::to_group_filter).transpose()?,
        page: Some(pb::PageRequest {
            page_size: params.count.max(1) as i32,
            offset: params.start_index - 1,
            include_total_size: true,
            ..Default::default()
        }),
        ..Default::default()
    };
    let response = gateway
        .groups()
        .list_groups(call.request(request))
        .await?
        .into_inner();
    let total = response.page.and_then(|page| page.total_size).unwrap_or(0);
    let groups = if params.count > 0 {
        response.groups
    } else {
        vec![]
    };
    // One group at a time, within a budget of members for the whole answer.
    let mut resources = Vec::with_capacity(groups.len());
    let mut budget = MAX_LISTED_MEMBERS;
    for group in &groups {
        let limit = if resources.is_empty() {
            MAX_GROUP_MEMBERS
        } else {
            budget
        };
        let rendered = render(
            gateway,
            call,
            group,
            &params.attributes,
            &params.excluded,
            limit,
        );
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
    Ok(response::scim_json(
        StatusCode::OK,
        &list_response(total, params.start_index, resources),
    ))
}

async fn get(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let request = pb::GetGroupRequest {
        id: id.to_owned(),
        ..Default::default()
    };
    let group = gateway
        .groups()
        .get_group(call.request(request))
        .await?
        .into_inner();
    single(gateway, call, input, StatusCode::OK, &group).await
}

/// The user ids of a `members` value (an array of `{value, type?, display?, $ref?}`).
fn member_ids(value: Value) -> ScimResult<Vec<String>> {
    let elements = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(elements) => elements,
        single @ Value::Object(_) => vec![single],
        _ => {
            return Err(ScimError::invalid_value(
                "members must be an array of {\"value\": id}",
            ));
        }
    };
    let mut ids = Vec::with_capacity(elements.len());
    for (index, element) in elements.into_iter().enumerate() {
        let Value::Object(element) = element else {
            return Err(ScimError::invalid_value(format!(
                "members[{index}] must be an object"
            )));
        };
        let field = |name: &str| {
            element
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        };
        if let Some(kind) = field("type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("User")
        {
            return Err(ScimError::invalid_value(format!(
                "members[{index}] is of type {kind:?}: nested groups are not supported, members must be users"
            )));
        }
        let id = field("value")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ScimError::invalid_value(format!("members[{index}].value (a user id) is required"))
            })?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

fn display_name(value: Value) -> ScimResult<String> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(name),
        _ => Err(ScimError::invalid_value(
            "displayName must be a non-empty string",
        )),
    }
}

fn external_id(value: Value) -> ScimResult<String> {
    match value {
        Value::String(id) => Ok(id),
        Value::Null => Ok(String::new()),
        _ => Err(ScimError::invalid_value("externalId must be a string")),
    }
}

/// displayName, externalId and member ids of a full Group body (POST, PUT).
struct GroupBody {
    display_name: String,
    external_id: Option<String>,
    members: Vec<String>,
}

fn group_body(body: Object) -> ScimResult<GroupBody> {
    let mut document = resource::canonicalize(&GROUP_TYPE, body.clone())?;
    // Members are read from the raw body: their `type` must be seen to reject nested groups.
    let members = body
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("members"))
        .map(|(_, value)| member_ids(value))
        .transpose()?
        .unwrap_or_default();
    let display_name = display_name(document.remove("displayName").unwrap_or(Value::Null))
        .map_err(|_| ScimError::invalid_value("displayName is required"))?;
    let external_id = document
        .remove("externalId")
        .and_then(|id| id.as_str().map(str::to_owned));
    Ok(GroupBody {
        display_name,
        external_id,
        members,
    })
}

async fn create(gateway: &Gateway, call: &Call, input: &Input) -> ScimResult<Response> {
    let body = group_body(input.json_object()?)?;
    let request = pb::CreateGroupRequest {
        group: Some(pb::Group {
            display_name: body.display_name,
            external_id: body.external_id,
            ..Default::default()
        }),
        member_user_ids: body.members,
        ..Default::default()
    };
    let group = gateway
        .groups()
        .create_group(call.request(request))
        .await?
        .into_inner();
    single(gateway, call, input, StatusCode::CREATED, &group).await
}

/// PUT replaces name, external id and the whole member list, in one transaction.
async fn replace(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let expected_version = input.if_match()?;
    let raw = input.json_object()?;
    reject_other_id(&raw, id)?;
    let body = group_body(raw)?;
    let request = pb::ModifyGroupRequest {
        group_id: id.to_owned(),
        display_name: Some(body.display_name),
        external_id: Some(body.external_id.unwrap_or_default()),
        changes: vec![change(pb::membership_change::Change::Replace, body.members)],
        expected_version,
        ..Default::default()
    };
    let response = gateway
        .groups()
        .modify_group(call.request(request))
        .await?
        .into_inner();
    let group = response.group.unwrap_or_default();
    single(gateway, call, input, StatusCode::OK, &group).await
}

fn change(
    kind: fn(pb::MemberIds) -> pb::membership_change::Change,
    user_ids: Vec<String>,
) -> pb::MembershipChange {
    pb::MembershipChange {
        change: Some(kind(pb::MemberIds { user_ids })),
    }
}

/// The ids a `members[value eq "a" or value eq "b"]` filter names.
fn filtered_member_ids(filter: &Filter, ids: &mut Vec<String>) -> ScimResult<()> {
    match filter {
        Filter::Or(left, right) => {
            filtered_member_ids(left, ids)?;
            filtered_member_ids(right, ids)
        }
        Filter::Compare {
            path,
            op: Op::Eq,
            value: Literal::Text(id),
        } if path.eq_ignore_ascii_case("value") => {
            ids.push(id.clone());
            Ok(())
        }
        _ => Err(ScimError::invalid_filter(
            "members[…] supports value eq \"<user id>\" (joined by or)",
        )),
    }
}

/// One PATCH as one ModifyGroup request.
fn modification(id: &str, operations: Vec<patch::Operation>) -> ScimResult<pb::ModifyGroupRequest> {
    use pb::membership_change::Change;
    let mut request = pb::ModifyGroupRequest {
        group_id: id.to_owned(),
        ..Default::default()
    };
    for operation in operations {
        let op = operation.op;
        let value = operation.value.unwrap_or(Value::Null);
        let Some(path) = operation.path else {
            if op == OpKind::Remove {
                return Err(ScimError::no_target("remove needs a path"));
            }
            let Value::Object(values) = value else {
                return Err(ScimError::invalid_value(
                    "without a path, value must be an object",
                ));
            };
            for (key, value) in values {
                match resource::resolve(&GROUP_TYPE, &key) {
                    // Okta sends the group's id along with a rename.
                    Some(Resolved::Common("externalId")) => {
                        request.external_id = Some(external_id(value)?)
                    }
                    Some(Resolved::Attribute {
                        attribute,
                        sub: None,
                        ..
                    }) if attribute.name == "displayName" => {
                        request.display_name = Some(display_name(value)?);
                    }
                    Some(Resolved::Attribute {
                        attribute,
                        sub: None,
                        ..
                    }) if attribute.name == "members" => {
                        let kind = if op == OpKind::Add {
                            Change::Add
                        } else {
                            Change::Replace
                        };
                        request.changes.push(change(kind, member_ids(value)?));
                    }
                    _ => {}
                }
            }
            continue;
        };
        let resolved = resource::resolve(&GROUP_TYPE, &path.attribute).ok_or_else(|| {
            ScimError::invalid_path(format!("unknown attribute in path {:?}", path.text))
        })?;
        match (resolved, &path.filter, &path.sub) {
            (Resolved::Common("externalId"), None, None) => {
                request.external_id = Some(if op == OpKind::Remove {
                    String::new()
                } else {
                    external_id(value)?
                });
            }
            (Resolved::Common(name), _, _) => {
                return Err(ScimError::mutability(format!("{name} is read-only")));
            }
            (
                Resolved::Attribute {
                    attribute,
                    sub: None,
                    ..
                },
                None,
                None,
            ) if attribute.name == "displayName" => {
                if op == OpKind::Remove {
                    return Err(ScimError::mutability(
                        "displayName is required and cannot be removed",
                    ));
                }
                request.display_name = Some(display_name(value)?);
            }
            (
                Resolved::Attribute {
                    attribute,
                    sub: None,
                    ..
                },
                None,
                None,
            ) if attribute.name == "members" => {
                let step = match (op, value) {
                    (OpKind::Add, value) => change(Change::Add, member_ids(value)?),
                    (OpKind::Replace, value) => change(Change::Replace, member_ids(value)?),
                    // Entra: remove the listed members; with no value, remove everyone.
                    (OpKind::Remove, Value::Null) => change(Change::Replace, Vec::new()),
                    (OpKind::Remove, value) => change(Change::Remove, member_ids(value)?),
                };
                request.changes.push(step);
            }
            (
                Resolved::Attribute {
                    attribute,
                    sub: None,
                    ..
                },
                Some(filter),
                None,
            ) if attribute.name == "members" && op == OpKind::Remove => {
                let mut ids = Vec::new();
                filtered_member_ids(filter, &mut ids)?;
                request.changes.push(change(Change::Remove, ids));
            }
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "{:?} cannot be changed with {op:?}; groups take displayName, externalId and members",
                    path.text
                )));
            }
        }
    }
    Ok(request)
}

async fn modify(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let mut request = modification(id, patch::parse(input.json()?)?)?;
    request.expected_version = input.if_match()?;
    let response = gateway
        .groups()
        .modify_group(call.request(request))
        .await?
        .into_inner();
    let (attributes, excluded) = input.attributes();
    if attributes.is_empty() && excluded.is_empty() {
        // Answering with the group would mean reading its whole member list.
        return Ok(response::no_content());
    }
    let group = response.group.unwrap_or_default();
    single(gateway, call, input, StatusCode::OK, &group).await
}

async fn delete(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let request = pb::DeleteGroupRequest {
        id: id.to_owned(),
        expected_version: input.if_match()?,
        ..Default::default()
    };
    gateway.groups().delete_group(call.request(request)).await?;
    Ok(response::no_content())
}

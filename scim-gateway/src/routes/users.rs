//! `/Users`: list and filter (Okta's `userName eq` lookup is one indexed call), create, read,
//! replace, patch and delete.

use std::sync::Arc;

use axum::response::Response;
use http::StatusCode;
use identity_proto::v1 as pb;
use prost_types::FieldMask;
use serde_json::{Value, json};

use super::{
    Call, Endpoint, Input, ListParams, all_pages, endpoint, json_body, list_response, off_worker,
    reject_other_id,
};
use crate::error::{ScimError, ScimResult};
use crate::filter::{self, Filter, Literal, Op};
use crate::resource;
use crate::response;
use crate::schema::USER_TYPE;
use crate::server::Gateway;
use crate::{patch, user};

/// Fields a PUT replaces (`active` joins when the body has it); PATCH replaces the same set.
const REPLACED_FIELDS: &[&str] = &[
    "user_name",
    "external_id",
    "display_name",
    "given_name",
    "family_name",
    "emails",
    "attributes",
];

/// Attempts at a PATCH whose read-modify-write loses races with other writers. Each lost race
/// means another write landed, so N concurrent PATCHes of one user all succeed when N ≤ this.
const PATCH_ATTEMPTS: usize = 10;

pub async fn route(gateway: &Gateway, call: &Call, input: &Input) -> ScimResult<Response> {
    match endpoint(input, "user")? {
        Endpoint::List(params) => list(gateway, call, params).await,
        Endpoint::Create => create(gateway, call, input).await,
        Endpoint::Get(id) => get(gateway, call, input, id).await,
        Endpoint::Replace(id) => replace(gateway, call, input, id).await,
        Endpoint::Modify(id) => modify(gateway, call, input, id).await,
        Endpoint::Delete(id) => delete(gateway, call, input, id).await,
    }
}

/// The most groups a user's `groups` attribute lists.
const MAX_USER_GROUPS: usize = 10_000;

/// The groups of a user (the read-only `groups` attribute), fetched only when asked for.
async fn groups_of(gateway: &Gateway, call: &Call, user_id: &str) -> ScimResult<Vec<Value>> {
    let client = gateway.groups();
    let groups = all_pages(MAX_USER_GROUPS, |page| {
        let mut client = client.clone();
        let request = call.request(pb::ListUserGroupsRequest {
            user_id: user_id.to_owned(),
            page: Some(page),
            ..Default::default()
        });
        async move {
            let response = client.list_user_groups(request).await?.into_inner();
            Ok((response.groups, response.page))
        }
    })
    .await?;
    Ok(groups
        .into_iter()
        .map(|group| {
            json!({
                "value": group.group_id,
                "$ref": format!("{}/Groups/{}", gateway.base_url(), group.group_id),
                "display": group.display_name,
                "type": "direct",
            })
        })
        .collect())
}

async fn render(
    gateway: &Gateway,
    call: &Call,
    user: &pb::User,
    attributes: &[String],
    excluded: &[String],
) -> ScimResult<Value> {
    let mut document = user::to_document(user, gateway.base_url(), true);
    if resource::requested(attributes, &USER_TYPE, "groups") {
        let groups = groups_of(gateway, call, &user.id).await?;
        document.insert("groups".into(), Value::Array(groups));
    }
    Ok(Value::Object(resource::project(
        document, &USER_TYPE, attributes, excluded,
    )))
}

async fn single(
    gateway: &Gateway,
    call: &Call,
    input: &Input,
    status: StatusCode,
    user: &pb::User,
    created: bool,
) -> ScimResult<Response> {
    let (attributes, excluded) = input.attributes();
    let location = format!("{}/Users/{}", gateway.base_url(), user.id);
    Ok(response::resource(
        status,
        &render(gateway, call, user, &attributes, &excluded).await?,
        Some(&user::etag(user.version)),
        created.then_some(location.as_str()),
    ))
}

/// `userName eq "x"` alone: Okta's matching query, served by one indexed lookup.
fn user_name_lookup(filter: &Filter) -> Option<&str> {
    match filter {
        Filter::Compare {
            path,
            op: Op::Eq,
            value: Literal::Text(user_name),
        } if path.eq_ignore_ascii_case("userName")
            || path.eq_ignore_ascii_case("urn:ietf:params:scim:schemas:core:2.0:User:userName") =>
        {
            Some(user_name)
        }
        _ => None,
    }
}

async fn list(gateway: &Gateway, call: &Call, params: ListParams) -> ScimResult<Response> {
    let parsed = params.filter.as_deref().map(filter::parse).transpose()?;
    let mut client = gateway.users();
    let (total, users) = match parsed.as_ref().and_then(user_name_lookup) {
        Some(user_name) if params.start_index == 1 => {
            let lookup = pb::LookupUserRequest {
                key: Some(pb::lookup_user_request::Key::UserName(user_name.to_owned())),
                ..Default::default()
            };
            match client.lookup_user(call.request(lookup)).await {
                Ok(found) => {
                    let user = found.into_inner();
                    (1, if params.count > 0 { vec![user] } else { vec![] })
                }
                Err(status) if status.code() == tonic::Code::NotFound => (0, vec![]),
                Err(status) => return Err(status.into()),
            }
        }
        _ => {
            let request = pb::ListUsersRequest {
                filter: parsed.as_ref().map(filter::to_user_filter).transpose()?,
                page: Some(pb::PageRequest {
                    page_size: params.count.max(1) as i32,
                    offset: params.start_index - 1,
                    include_total_size: true,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let response = client.list_users(call.request(request)).await?.into_inner();
            let total = response.page.and_then(|page| page.total_size).unwrap_or(0);
            let users = if params.count > 0 {
                response.users
            } else {
                vec![]
            };
            (total, users)
        }
    };
    let mut resources = Vec::with_capacity(users.len());
    for user in &users {
        resources.push(render(gateway, call, user, &params.attributes, &params.excluded).await?);
    }
    Ok(response::scim_json(
        StatusCode::OK,
        &list_response(total, params.start_index, resources),
    ))
}

async fn get(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let request = pb::GetUserRequest {
        id: id.to_owned(),
        ..Default::default()
    };
    let user = gateway
        .users()
        .get_user(call.request(request))
        .await?
        .into_inner();
    single(gateway, call, input, StatusCode::OK, &user, false).await
}

async fn create(gateway: &Gateway, call: &Call, input: &Input) -> ScimResult<Response> {
    let document = resource::canonicalize(&USER_TYPE, input.json_object()?)?;
    let (user, _) = user::to_pb(&document)?;
    let request = pb::CreateUserRequest {
        user: Some(user),
        ..Default::default()
    };
    let user = gateway
        .users()
        .create_user(call.request(request))
        .await?
        .into_inner();
    single(gateway, call, input, StatusCode::CREATED, &user, true).await
}

/// An update of the replaced fields but `unchanged` (and of `active` when given).
fn update_request(
    id: &str,
    mut user: pb::User,
    active: Option<bool>,
    expected_version: Option<i64>,
    unchanged: &[&str],
) -> pb::UpdateUserRequest {
    let mut paths: Vec<String> = REPLACED_FIELDS
        .iter()
        .filter(|field| !unchanged.contains(field))
        .map(|field| (*field).to_owned())
        .collect();
    if active.is_some() {
        paths.push("active".to_owned());
    }
    user.id = id.to_owned();
    user.managed_by = pb::ManagedBy::Unspecified as i32;
    pb::UpdateUserRequest {
        user: Some(user),
        update_mask: Some(FieldMask { paths }),
        expected_version,
        ..Default::default()
    }
}

/// PUT replaces the writable attributes; an omitted `active` leaves the status alone.
async fn replace(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let expected_version = input.if_match()?;
    let body = input.json_object()?;
    reject_other_id(&body, id)?;
    let document = resource::canonicalize(&USER_TYPE, body)?;
    let (user, active) = user::to_pb(&document)?;
    let request = update_request(id, user, active, expected_version, &[]);
    let user = gateway
        .users()
        .update_user(call.request(request))
        .await?
        .into_inner();
    single(gateway, call, input, StatusCode::OK, &user, false).await
}

/// PATCH: read with version → apply every operation → write with that version; a lost race is
/// retried from a fresh read (unless the client pinned a version with `If-Match`).
async fn modify(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let pinned = input.if_match()?;
    let large = input.is_large();
    let body = input.body.clone();
    let operations = Arc::new(off_worker(large, move || patch::parse(json_body(&body)?)).await?);
    let mut client = gateway.users();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let request = pb::GetUserRequest {
            id: id.to_owned(),
            ..Default::default()
        };
        let current = client.get_user(call.request(request)).await?.into_inner();
        if pinned.is_some_and(|version| version != current.version) {
            return Err(ScimError::new(
                StatusCode::PRECONDITION_FAILED,
                None,
                format!(
                    "the user is at version {}, not the one If-Match names",
                    current.version
                ),
            ));
        }
        let (operations, stored, base_url) = (
            Arc::clone(&operations),
            current.clone(),
            gateway.base_url().to_owned(),
        );
        let (user, active) = off_worker(large, move || {
            let mut document = user::to_document(&stored, &base_url, false);
            patch::apply(&USER_TYPE, &mut document, &operations)?;
            user::to_pb(&document)
        })
        .await?;
        // Emails untouched by the PATCH are not rewritten (nor re-checked against the
        // team's verified domains).
        let unchanged: &[&str] = if user.emails == current.emails {
            &["emails"]
        } else {
            &[]
        };
        let request = update_request(id, user, active, Some(current.version), unchanged);
        match client.update_user(call.request(request)).await {
            Ok(updated) => {
                let updated = updated.into_inner();
                return single(gateway, call, input, StatusCode::OK, &updated, false).await;
            }
            Err(status) if ScimError::is_version_mismatch(&status) && pinned.is_none() => {
                if attempt >= PATCH_ATTEMPTS {
                    return Err(ScimError::unavailable(
                        "the user kept changing while this PATCH was applied; retry",
                    ));
                }
                tracing::debug!(attempt, "user changed during PATCH; retrying");
            }
            Err(status) => return Err(status.into()),
        }
    }
}

async fn delete(gateway: &Gateway, call: &Call, input: &Input, id: &str) -> ScimResult<Response> {
    let request = pb::DeleteUserRequest {
        id: id.to_owned(),
        expected_version: input.if_match()?,
        ..Default::default()
    };
    gateway.users().delete_user(call.request(request)).await?;
    Ok(response::no_content())
}

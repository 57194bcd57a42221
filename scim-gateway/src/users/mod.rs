//! `/Users`: list and filter (Okta's `userName eq` lookup is one indexed call), create, read,
//! replace, patch and delete.

mod codec;

use codec::UserDocument;
use serde::Serialize;

use std::sync::Arc;

use axum::response::Response;
use http::StatusCode;
use identity_proto::fields::user as fields;
use identity_proto::v1 as pb;
use prost_types::FieldMask;
use serde_json::{Value, json};

use crate::client::{Call, is_version_mismatch};
use crate::extract::{Id, Input, ListParams, json_body, off_worker, reject_other_id};
use crate::filter::{self, Filter, Literal, Op};
use crate::patch;
use crate::scim::document;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::render::{self, location};
use crate::scim::schema::{GROUP_TYPE, USER_TYPE};

/// Fields a PUT replaces (`active` joins when the body has it); PATCH replaces the same set.
const REPLACED_FIELDS: &[&str] = &[
    fields::USER_NAME,
    fields::EXTERNAL_ID,
    fields::DISPLAY_NAME,
    fields::GIVEN_NAME,
    fields::FAMILY_NAME,
    fields::EMAILS,
    fields::ATTRIBUTES,
];

/// Attempts at a PATCH whose read-modify-write loses races with other writers. Each lost race
/// means another write landed, so N concurrent PATCHes of one user all succeed when N ≤ this.
const PATCH_ATTEMPTS: usize = 10;

/// The most groups a user's `groups` attribute lists.
const MAX_USER_GROUPS: usize = 10_000;

/// The groups of a user (the read-only `groups` attribute), fetched only when asked for.
async fn groups_of(call: &Call, user_id: &str) -> ScimResult<Vec<Value>> {
    let request = pb::ListUserGroupsRequest {
        user_id: user_id.to_owned(),
        ..Default::default()
    };
    let groups = call
        .all_pages(MAX_USER_GROUPS, request, |mut groups, request| async move {
            groups.list_user_groups(request).await
        })
        .await?;
    Ok(groups
        .into_iter()
        .map(|group| {
            json!({
                "value": group.group_id,
                "$ref": location(call.base_url(), &GROUP_TYPE, &group.group_id),
                "display": group.display_name,
                "type": "direct",
            })
        })
        .collect())
}

/// A user as answered: written straight from the service's message, or projected by
/// `attributes` / `excludedAttributes` (with its groups when they are asked for).
enum Rendered<'a> {
    Whole(UserDocument<'a>),
    Projected(Value),
}

impl Serialize for Rendered<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Rendered::Whole(document) => document.serialize(serializer),
            Rendered::Projected(document) => document.serialize(serializer),
        }
    }
}

async fn render<'a>(
    call: &'a Call,
    user: &'a pb::User,
    attributes: &[String],
    excluded: &[String],
) -> ScimResult<Rendered<'a>> {
    if attributes.is_empty() && excluded.is_empty() {
        return Ok(Rendered::Whole(UserDocument::new(
            user,
            call.base_url(),
            true,
        )));
    }
    let mut document = codec::to_document(user, call.base_url(), true);
    if document::requested(attributes, &USER_TYPE, "groups") {
        let groups = groups_of(call, &user.id).await?;
        document.insert("groups".into(), Value::Array(groups));
    }
    Ok(Rendered::Projected(Value::Object(document::project(
        document, &USER_TYPE, attributes, excluded,
    ))))
}

async fn single(
    call: &Call,
    input: &Input,
    status: StatusCode,
    user: &pb::User,
) -> ScimResult<Response> {
    let (attributes, excluded) = input.attributes();
    Ok(render::resource(
        status,
        &render(call, user, &attributes, &excluded).await?,
        user.version,
        (status == StatusCode::CREATED).then(|| location(call.base_url(), &USER_TYPE, &user.id)),
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

pub(crate) async fn list(call: Call, input: Input) -> ScimResult<Response> {
    respond_list(&call, ListParams::from_query(&input)?).await
}

/// `POST /Users/.search`.
pub(crate) async fn search(call: Call, input: Input) -> ScimResult<Response> {
    respond_list(&call, ListParams::from_search(&input)?).await
}

async fn respond_list(call: &Call, params: ListParams) -> ScimResult<Response> {
    let parsed = params.filter.as_deref().map(filter::parse).transpose()?;
    let mut client = call.users();
    let (total, users) = match parsed.as_ref().and_then(user_name_lookup) {
        Some(user_name) if params.start_index == 1 => {
            let lookup = pb::LookupUserRequest {
                key: Some(pb::lookup_user_request::Key::UserName(user_name.to_owned())),
                ..Default::default()
            };
            match client.lookup_user(call.request(lookup)).await {
                Ok(found) => params.answer(None, vec![found.into_inner()]),
                Err(status) if status.code() == tonic::Code::NotFound => (0, vec![]),
                Err(status) => return Err(status.into()),
            }
        }
        _ => {
            let request = pb::ListUsersRequest {
                filter: parsed.as_ref().map(codec::to_service_filter).transpose()?,
                page: Some(params.page()),
                ..Default::default()
            };
            let response = client.list_users(call.request(request)).await?.into_inner();
            params.answer(response.page, response.users)
        }
    };
    let mut resources = Vec::with_capacity(users.len());
    for user in &users {
        resources.push(render(call, user, &params.attributes, &params.excluded).await?);
    }
    Ok(render::list(total, params.start_index, &resources))
}

pub(crate) async fn read(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let request = pb::GetUserRequest {
        id,
        ..Default::default()
    };
    let mut users = call.users();
    let user = users.get_user(call.request(request)).await?.into_inner();
    single(&call, &input, StatusCode::OK, &user).await
}

pub(crate) async fn create(call: Call, input: Input) -> ScimResult<Response> {
    let document = document::canonicalize(&USER_TYPE, input.json_object()?)?;
    let (user, _) = codec::to_pb(&document)?;
    let request = pb::CreateUserRequest {
        user: Some(user),
        ..Default::default()
    };
    let mut users = call.users();
    let user = users.create_user(call.request(request)).await?.into_inner();
    single(&call, &input, StatusCode::CREATED, &user).await
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
        paths.push(fields::ACTIVE.to_owned());
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
pub(crate) async fn replace(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let expected_version = input.if_match()?;
    let body = input.json_object()?;
    reject_other_id(&body, &id)?;
    let document = document::canonicalize(&USER_TYPE, body)?;
    let (user, active) = codec::to_pb(&document)?;
    let request = update_request(&id, user, active, expected_version, &[]);
    let mut users = call.users();
    let user = users.update_user(call.request(request)).await?.into_inner();
    single(&call, &input, StatusCode::OK, &user).await
}

/// PATCH: read with version → apply every operation → write with that version; a lost race is
/// retried from a fresh read (unless the client pinned a version with `If-Match`).
pub(crate) async fn modify(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let pinned = input.if_match()?;
    let large = input.is_large();
    let body = input.body().clone();
    let steps = off_worker(large, move || patch::plan(&USER_TYPE, json_body(&body)?)).await?;
    let steps = Arc::new(steps);
    let mut client = call.users();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let request = pb::GetUserRequest {
            id: id.clone(),
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
        let (steps, stored, base_url) = (
            Arc::clone(&steps),
            current.clone(),
            call.base_url().to_owned(),
        );
        let (user, active) = off_worker(large, move || {
            let mut document = codec::to_document(&stored, &base_url, false);
            patch::document::apply(&USER_TYPE, &mut document, &steps)?;
            codec::to_pb(&document)
        })
        .await?;
        // Emails untouched by the PATCH are not rewritten (nor re-checked against the
        // team's verified domains).
        let unchanged: &[&str] = if user.emails == current.emails {
            &[fields::EMAILS]
        } else {
            &[]
        };
        let request = update_request(&id, user, active, Some(current.version), unchanged);
        match client.update_user(call.request(request)).await {
            Ok(updated) => {
                let updated = updated.into_inner();
                return single(&call, &input, StatusCode::OK, &updated).await;
            }
            Err(status) if is_version_mismatch(&status) && pinned.is_none() => {
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

pub(crate) async fn delete(call: Call, Id(id): Id, input: Input) -> ScimResult<Response> {
    let request = pb::DeleteUserRequest {
        id,
        expected_version: input.if_match()?,
        ..Default::default()
    };
    call.users().delete_user(call.request(request)).await?;
    Ok(render::no_content())
}

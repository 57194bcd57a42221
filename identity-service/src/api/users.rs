//! `identity.v1.Users`.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use identity_proto::v1 as pb;
use identity_proto::v1::users_server::Users;
use tonic::{Request, Response, Status};

use super::convert::{emails_from_pb, filter_from_pb, managed_by_from_pb, user_to_pb};
use super::paging::{page_query, page_response};
use super::validate::{self, MAX_EMAILS, MAX_NAME_CHARS, MAX_TEXT_CHARS, Violations};
use super::{authorized, mask_paths};
use crate::error::{ApiError, FieldViolation, reason};
use crate::model::Role;
use crate::model::{Email, KeyKind, ManagedBy, Resource, UserChanges, UserFields};
use crate::policy::{self, Caller, Rpc};
use crate::store::{Store, UserKey};

use identity_proto::MAX_IMPORTED_USERS;
use identity_proto::fields::user as fields;

#[derive(Debug, Clone)]
pub(crate) struct UsersApi {
    store: Store,
}

impl UsersApi {
    pub fn new(store: Store) -> Self {
        UsersApi { store }
    }
}

fn check_emails(violations: &mut Violations, emails: &[Email]) {
    if emails.len() > MAX_EMAILS {
        violations.add("user.emails", format!("more than {MAX_EMAILS} addresses"));
    }
    for (index, email) in emails.iter().enumerate() {
        let field = format!("user.emails[{index}]");
        violations.email(&format!("{field}.value"), &email.value);
        violations.text(&format!("{field}.type"), &email.kind, MAX_NAME_CHARS);
        violations.text(&format!("{field}.display"), &email.display, MAX_NAME_CHARS);
    }
}

/// Validates the writable attributes of a user as sent.
fn user_fields(user: pb::User, default_managed_by: ManagedBy) -> Result<UserFields, ApiError> {
    let mut violations = Violations::default();
    violations.name("user.user_name", &user.user_name);
    violations.optional_text(
        "user.external_id",
        user.external_id.as_deref(),
        MAX_TEXT_CHARS,
    );
    violations.optional_text(
        "user.display_name",
        user.display_name.as_deref(),
        MAX_TEXT_CHARS,
    );
    violations.optional_text(
        "user.given_name",
        user.given_name.as_deref(),
        MAX_TEXT_CHARS,
    );
    violations.optional_text(
        "user.family_name",
        user.family_name.as_deref(),
        MAX_TEXT_CHARS,
    );
    let emails = emails_from_pb(user.emails);
    check_emails(&mut violations, &emails);
    let attributes = violations.attributes("user.attributes", user.attributes.as_ref());
    let managed_by = managed_by_from_pb(user.managed_by)
        .map_err(|why| violations.add("user.managed_by", why))
        .ok()
        .flatten()
        .unwrap_or(default_managed_by);
    violations.finish()?;
    Ok(UserFields {
        user_name: user.user_name.into(),
        external_id: user.external_id,
        display_name: user.display_name,
        given_name: user.given_name,
        family_name: user.family_name,
        emails,
        active: user.active,
        attributes,
        managed_by,
    })
}

fn user_changes(user: pb::User, paths: &[&str]) -> Result<UserChanges, ApiError> {
    // Only the masked fields are read and checked: the others may be anything (e.g. empty).
    let mut violations = Violations::default();
    let mut changes = UserChanges::default();
    for path in paths {
        match *path {
            fields::USER_NAME => {
                violations.name("user.user_name", &user.user_name);
                changes.user_name = Some(user.user_name.as_str().into());
            }
            fields::EXTERNAL_ID => {
                violations.optional_text(
                    "user.external_id",
                    user.external_id.as_deref(),
                    MAX_TEXT_CHARS,
                );
                changes.external_id = Some(user.external_id.clone());
            }
            fields::DISPLAY_NAME => {
                violations.optional_text(
                    "user.display_name",
                    user.display_name.as_deref(),
                    MAX_TEXT_CHARS,
                );
                changes.display_name = Some(user.display_name.clone());
            }
            fields::GIVEN_NAME => {
                violations.optional_text(
                    "user.given_name",
                    user.given_name.as_deref(),
                    MAX_TEXT_CHARS,
                );
                changes.given_name = Some(user.given_name.clone());
            }
            fields::FAMILY_NAME => {
                violations.optional_text(
                    "user.family_name",
                    user.family_name.as_deref(),
                    MAX_TEXT_CHARS,
                );
                changes.family_name = Some(user.family_name.clone());
            }
            fields::EMAILS => {
                let emails = emails_from_pb(user.emails.clone());
                check_emails(&mut violations, &emails);
                changes.emails = Some(emails);
            }
            fields::ACTIVE => changes.active = Some(user.active),
            fields::ATTRIBUTES => {
                changes.attributes =
                    Some(violations.attributes("user.attributes", user.attributes.as_ref()));
            }
            // Unspecified leaves it as it is (also under "*").
            fields::MANAGED_BY => match managed_by_from_pb(user.managed_by) {
                Ok(managed_by) => changes.managed_by = managed_by,
                Err(why) => violations.add("user.managed_by", why),
            },
            _ => {}
        }
    }
    violations.finish()?;
    Ok(changes)
}

/// The most field violations an import's refusal lists (a bad file repeats one mistake).
const MAX_IMPORT_VIOLATIONS: usize = 100;

/// Validates an import's users as `CreateUser` validates one, naming each field `users[i].…`,
/// and refuses user names repeated within the batch.
fn import_batch(users: Vec<pb::User>, caller: &Caller) -> Result<Vec<UserFields>, ApiError> {
    if users.is_empty() || users.len() > MAX_IMPORTED_USERS {
        return Err(ApiError::invalid(
            "users",
            format!("send 1 to {MAX_IMPORTED_USERS} users per call"),
        ));
    }
    let default = default_managed_by(caller);
    let mut violations = Vec::new();
    let mut first_with_name = HashMap::with_capacity(users.len());
    let mut batch = Vec::with_capacity(users.len());
    for (at, user) in users.into_iter().enumerate() {
        if violations.len() >= MAX_IMPORT_VIOLATIONS {
            break;
        }
        match user_fields(user, default) {
            Ok(fields) => {
                if fields.managed_by != default {
                    policy::may_set_managed_by(caller)?;
                }
                match first_with_name.entry(fields.user_name.key().to_owned()) {
                    Entry::Occupied(first) => violations.push(FieldViolation::new(
                        format!("users[{at}].user_name"),
                        format!(
                            "repeats the user_name of users[{}] (compared case-insensitively)",
                            first.get()
                        ),
                    )),
                    Entry::Vacant(slot) => {
                        slot.insert(at);
                    }
                }
                batch.push(fields);
            }
            Err(ApiError::InvalidArgument {
                violations: found, ..
            }) => violations.extend(found.into_iter().map(|violation| FieldViolation {
                field: violation.field.replacen("user", &format!("users[{at}]"), 1),
                ..violation
            })),
            Err(other) => return Err(other),
        }
    }
    ApiError::check(violations)?;
    Ok(batch)
}

/// Users created through a SCIM key are SCIM-managed unless the request says otherwise.
pub(super) fn default_managed_by(caller: &Caller) -> ManagedBy {
    match caller.kind {
        KeyKind::Scim => ManagedBy::Scim,
        KeyKind::Service => ManagedBy::Internal,
    }
}

#[tonic::async_trait]
impl Users for UsersApi {
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::CreateUser)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let user = request
            .user
            .ok_or_else(|| ApiError::invalid("user", "required"))?;
        let default = default_managed_by(&caller);
        let fields = user_fields(user, default)?;
        if fields.managed_by != default {
            policy::may_set_managed_by(&caller)?;
        }
        let created = store.create_user(&tenant_id, fields).await?;
        tracing::info!(user_id = %created.id, tenant_id = %tenant_id, "user created");
        Ok(Response::new(user_to_pb(created)))
    }

    async fn import_users(
        &self,
        request: Request<pb::ImportUsersRequest>,
    ) -> Result<Response<pb::ImportUsersResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ImportUsers)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let batch = import_batch(request.users, &caller)?;
        let ids = store.import_users(&tenant_id, batch).await?;
        tracing::info!(tenant_id = %tenant_id, users = ids.len(), "users imported");
        Ok(Response::new(pb::ImportUsersResponse {
            ids: ids.into_iter().map(|id| id.into_string()).collect(),
        }))
    }

    async fn get_user(
        &self,
        request: Request<pb::GetUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::GetUser)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let id = validate::id("id", &request.id)?;
        let user = store.get_user(&tenant_id, &id).await?;
        Ok(Response::new(user_to_pb(user)))
    }

    async fn lookup_user(
        &self,
        request: Request<pb::LookupUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        use pb::lookup_user_request::Key;
        let (caller, store) = authorized(&self.store, &request, Rpc::LookupUser)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let key = match request.key {
            Some(Key::UserName(name)) if !name.is_empty() => UserKey::UserName(name),
            Some(Key::ExternalId(external_id)) if !external_id.is_empty() => {
                UserKey::ExternalId(external_id)
            }
            Some(Key::Email(email)) if !email.is_empty() => UserKey::Email(email),
            _ => {
                return Err(
                    ApiError::invalid("key", "set one of user_name, external_id or email").into(),
                );
            }
        };
        let mut matches = store.lookup_user(&tenant_id, key).await?;
        match (matches.pop(), matches.is_empty()) {
            (Some(user), true) => Ok(Response::new(user_to_pb(user))),
            (None, _) => Err(ApiError::NotFound(Resource::User).into()),
            (Some(_), false) => Err(ApiError::FailedPrecondition {
                reason: reason::AMBIGUOUS_LOOKUP,
                message: "more than one user matches; use ListUsers with a filter".into(),
                metadata: Vec::new(),
            }
            .into()),
        }
    }

    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListUsers)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let filter = request.filter.as_ref().map(filter_from_pb).transpose()?;
        let page = page_query(request.page.as_ref())?;
        let users = store.list_users(&tenant_id, filter, page).await?;
        let page = page_response(&users, |user| (user.created_at, user.id.as_str()));
        Ok(Response::new(pb::ListUsersResponse {
            users: users.items.into_iter().map(user_to_pb).collect(),
            page: Some(page),
        }))
    }

    async fn update_user(
        &self,
        request: Request<pb::UpdateUserRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::UpdateUser)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let user = request
            .user
            .ok_or_else(|| ApiError::invalid("user", "required"))?;
        let id = validate::id("user.id", &user.id)?;
        let paths = mask_paths(request.update_mask.as_ref(), fields::UPDATABLE)?;
        let changes = user_changes(user, &paths)?;
        let updated = store
            .update_user(&tenant_id, &id, changes, request.expected_version)
            .await?;
        tracing::info!(user_id = %id, tenant_id = %tenant_id, fields = ?paths, "user updated");
        Ok(Response::new(user_to_pb(updated)))
    }

    async fn delete_user(
        &self,
        request: Request<pb::DeleteUserRequest>,
    ) -> Result<Response<()>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::DeleteUser)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let id = validate::id("id", &request.id)?;
        store
            .delete_user(&tenant_id, &id, request.expected_version)
            .await?;
        tracing::info!(user_id = %id, tenant_id = %tenant_id, "user deleted");
        Ok(Response::new(()))
    }

    async fn set_user_role(
        &self,
        request: Request<pb::SetUserRoleRequest>,
    ) -> Result<Response<pb::User>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::SetUserRole)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let id = validate::id("user_id", &request.user_id)?;
        let role = match pb::Role::try_from(request.role) {
            Ok(pb::Role::Member) => Role::Member,
            Ok(pb::Role::Admin) => Role::Admin,
            Ok(pb::Role::SuperAdmin) => Role::SuperAdmin,
            _ => {
                return Err(ApiError::invalid(
                    "role",
                    "set ROLE_MEMBER, ROLE_ADMIN or ROLE_SUPER_ADMIN",
                )
                .into());
            }
        };
        let updated = store.set_user_role(&tenant_id, &id, role).await?;
        tracing::info!(user_id = %id, tenant_id = %tenant_id, role = role.as_str(), "role set");
        Ok(Response::new(user_to_pb(updated)))
    }
}

//! Users and their emails.

use std::collections::HashMap;

use diesel::prelude::*;
use identity_proto::events::Action;

use super::access::require_super_admin;
use super::connection::{AnyConnection, MultiBackend, PrepareOnce as _, on_backend};
use super::events::member_change;
use super::events::{ChangeLog, Snapshot, diff};
use super::filter::{self, filtered_page};
use super::schema::{memberships, user_emails, users};
use super::tenants::{domains_of, tenant_fields};
use super::{Conflict, Store, StoreError, StoreResult, at_version, touched};
use crate::filter::{Filter, UserField};
use crate::model::{
    Email, KeyKind, ManagedBy, Name, Page, PageQuery, Resource, Role, TenantId, User, UserChanges,
    UserFields, UserId, fold_case, new_id, now_micros,
};
use crate::policy::{self, Rpc};

/// A user's row as reads see it: all but the folded keys only filters and unique indexes use
/// (each column read is copied out of SQLite and into a `String`). A `None` is written as NULL
/// (every nullable column's default), so that rows insert in batches on SQLite too (which has
/// no DEFAULT in a multi-row VALUES).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
#[diesel(check_for_backend(MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
struct StoredUser {
    id: String,
    tenant_id: String,
    user_name: String,
    user_name_key: String,
    external_id: Option<String>,
    display_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    active: i32,
    attributes: String,
    managed_by: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
    role: String,
}

/// A new user's row: what reads see, and the folded keys.
#[derive(Insertable)]
#[diesel(table_name = users)]
#[diesel(treat_none_as_default_value = false)]
struct UserRow {
    #[diesel(embed)]
    stored: StoredUser,
    display_name_key: Option<String>,
    given_name_key: Option<String>,
    family_name_key: Option<String>,
}

/// An email as reads see it (its user is known where it is read).
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = user_emails)]
#[diesel(check_for_backend(MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
struct StoredEmail {
    position: i32,
    value: String,
    kind: String,
    is_primary: i32,
    display: String,
}

/// A new email's row: what reads see, its owner and its folded key.
#[derive(Insertable)]
#[diesel(table_name = user_emails)]
#[diesel(treat_none_as_default_value = false)]
struct EmailRow {
    user_id: String,
    tenant_id: String,
    value_key: String,
    #[diesel(embed)]
    stored: StoredEmail,
}

/// The columns an update may set; `None` leaves a column alone.
#[derive(AsChangeset, Default)]
#[diesel(table_name = users)]
struct UserChangeset {
    user_name: Option<String>,
    user_name_key: Option<String>,
    external_id: Option<Option<String>>,
    display_name: Option<Option<String>>,
    display_name_key: Option<Option<String>>,
    given_name: Option<Option<String>>,
    given_name_key: Option<Option<String>>,
    family_name: Option<Option<String>>,
    family_name_key: Option<Option<String>>,
    active: Option<i32>,
    attributes: Option<String>,
    managed_by: Option<String>,
}

fn folded(value: &Option<String>) -> Option<String> {
    value.as_deref().map(fold_case)
}

impl UserRow {
    fn new(tenant_id: &str, fields: &UserFields) -> Self {
        let now = now_micros();
        UserRow {
            stored: StoredUser {
                id: new_id(),
                tenant_id: tenant_id.to_owned(),
                user_name: fields.user_name.to_string(),
                user_name_key: fields.user_name.key().to_owned(),
                external_id: fields.external_id.clone(),
                display_name: fields.display_name.clone(),
                given_name: fields.given_name.clone(),
                family_name: fields.family_name.clone(),
                active: i32::from(fields.active),
                attributes: fields.attributes.clone(),
                managed_by: fields.managed_by.as_str().to_owned(),
                version: 1,
                created_at: now,
                updated_at: now,
                role: Role::Member.as_str().to_owned(),
            },
            display_name_key: folded(&fields.display_name),
            given_name_key: folded(&fields.given_name),
            family_name_key: folded(&fields.family_name),
        }
    }
}

impl StoredUser {
    fn into_user(self, emails: Vec<Email>) -> StoreResult<User> {
        let managed_by = ManagedBy::parse(&self.managed_by)
            .ok_or_else(|| StoreError::Corrupt(format!("user {}: managed_by", self.id)))?;
        let role = Role::parse(&self.role)
            .ok_or_else(|| StoreError::Corrupt(format!("user {}: role", self.id)))?;
        Ok(User {
            role,
            id: self.id.into(),
            tenant_id: self.tenant_id.into(),
            fields: UserFields {
                user_name: Name::stored(self.user_name, self.user_name_key),
                external_id: self.external_id,
                display_name: self.display_name,
                given_name: self.given_name,
                family_name: self.family_name,
                emails,
                active: self.active != 0,
                attributes: self.attributes,
                managed_by,
            },
            version: self.version,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

impl UserChangeset {
    fn from_changes(changes: &UserChanges) -> Self {
        UserChangeset {
            user_name: changes.user_name.as_ref().map(|name| name.to_string()),
            user_name_key: changes.user_name.as_ref().map(|name| name.key().to_owned()),
            external_id: changes.external_id.clone(),
            display_name: changes.display_name.clone(),
            display_name_key: changes.display_name.as_ref().map(folded),
            given_name: changes.given_name.clone(),
            given_name_key: changes.given_name.as_ref().map(folded),
            family_name: changes.family_name.clone(),
            family_name_key: changes.family_name.as_ref().map(folded),
            active: changes.active.map(i32::from),
            attributes: changes.attributes.clone(),
            managed_by: changes.managed_by.map(|m| m.as_str().to_owned()),
        }
    }
}

fn email_rows(tenant_id: &str, user_id: &str, emails: &[Email]) -> Vec<EmailRow> {
    emails
        .iter()
        .zip(0_i32..)
        .map(|(email, position)| EmailRow {
            user_id: user_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            value_key: fold_case(&email.value),
            stored: StoredEmail {
                position,
                value: email.value.clone(),
                kind: email.kind.clone(),
                is_primary: i32::from(email.primary),
                display: email.display.clone(),
            },
        })
        .collect()
}

fn insert_emails(
    conn: &mut AnyConnection,
    tenant_id: &str,
    user_id: &str,
    emails: &[Email],
) -> StoreResult<()> {
    // One statement per row, of one prepared type: the lists are a handful of addresses.
    for row in email_rows(tenant_id, user_id, emails) {
        on_backend!(&mut *conn, c => diesel::insert_into(user_emails::table)
            .values(&row)
            .execute(c))?;
    }
    Ok(())
}

/// Up to this many users' emails are read a user at a time (see [`load_emails`]).
const FEW_USERS: usize = 4;

/// Loads the emails of several users, in order, keyed by user id.
fn load_emails(
    conn: &mut AnyConnection,
    user_ids: &[&str],
) -> StoreResult<HashMap<String, Vec<Email>>> {
    let mut by_user: HashMap<String, Vec<Email>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(by_user);
    }
    let rows: Vec<(String, StoredEmail)> = if user_ids.len() <= FEW_USERS {
        // A statement per user, by `=`: one with a fixed number of parameters is prepared once
        // and reused, where `IN (…)` over a list is built and prepared again every time — which
        // cost a GetUser a third of its instructions.
        let mut rows = Vec::new();
        for user_id in user_ids {
            rows.extend(on_backend!(&mut *conn, c => user_emails::table
                .filter(user_emails::user_id.eq(*user_id))
                .order(user_emails::position)
                .select((user_emails::user_id, StoredEmail::as_select()))
                .load::<(String, StoredEmail)>(c))?);
        }
        rows
    } else {
        user_emails::table
            .filter(user_emails::user_id.eq_any(user_ids))
            .order((user_emails::user_id, user_emails::position))
            .select((user_emails::user_id, StoredEmail::as_select()))
            .load(conn)?
    };
    for (user_id, row) in rows {
        by_user.entry(user_id).or_default().push(row.into_email());
    }
    Ok(by_user)
}

impl StoredEmail {
    fn into_email(self) -> Email {
        Email {
            value: self.value,
            kind: self.kind,
            primary: self.is_primary != 0,
            display: self.display,
        }
    }
}

fn with_emails(conn: &mut AnyConnection, rows: Vec<StoredUser>) -> StoreResult<Vec<User>> {
    let ids: Vec<&str> = rows.iter().map(|row| row.id.as_str()).collect();
    let mut emails = load_emails(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let user_emails = emails.remove(&row.id).unwrap_or_default();
            row.into_user(user_emails)
        })
        .collect()
}

fn find_row(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> StoreResult<StoredUser> {
    on_backend!(conn, c => users::table
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select(StoredUser::as_select())
        .first(c)
        .optional())?
    .ok_or(StoreError::NotFound(Resource::User))
}

/// A user with its emails, read by one statement (the user joined with its emails): it sees one
/// state of the database without a transaction — one round trip to PostgreSQL, not four.
pub(super) fn get_user(conn: &mut AnyConnection, tenant_id: &str, id: &str) -> StoreResult<User> {
    let rows = on_backend!(conn, c => users::table
        .left_join(user_emails::table)
        .filter(users::tenant_id.eq(tenant_id))
        .filter(users::id.eq(id))
        .select((StoredUser::as_select(), Option::<StoredEmail>::as_select()))
        .load(c))?;
    joined_user(rows)?.ok_or(StoreError::NotFound(Resource::User))
}

/// The one user of the rows of a user joined with its emails, if any. The emails are put in
/// order here: an `ORDER BY` in the statement makes SQLite sort through a temporary b-tree on
/// every read of a user, for the two or three rows the index already gives in order.
fn joined_user(rows: Vec<(StoredUser, Option<StoredEmail>)>) -> StoreResult<Option<User>> {
    let mut rows = rows.into_iter();
    let Some((user, first_email)) = rows.next() else {
        return Ok(None);
    };
    let mut emails: Vec<StoredEmail> = first_email
        .into_iter()
        .chain(rows.filter_map(|(_, email)| email))
        .collect();
    emails.sort_unstable_by_key(|email| email.position);
    user.into_user(emails.into_iter().map(StoredEmail::into_email).collect())
        .map(Some)
}

/// A user's fields for the change log.
fn snapshot(fields: &UserFields) -> Snapshot {
    use serde_json::{Value, json};
    let mut snapshot = Snapshot::new();
    snapshot.insert("user_name".into(), json!(fields.user_name.as_str()));
    for (name, value) in [
        ("external_id", &fields.external_id),
        ("display_name", &fields.display_name),
        ("given_name", &fields.given_name),
        ("family_name", &fields.family_name),
    ] {
        if let Some(value) = value {
            snapshot.insert(name.into(), json!(value));
        }
    }
    let emails: Vec<Value> = fields
        .emails
        .iter()
        .map(|email| {
            json!({"value": email.value, "type": email.kind, "primary": email.primary, "display": email.display})
        })
        .collect();
    if !emails.is_empty() {
        snapshot.insert("emails".into(), Value::Array(emails));
    }
    snapshot.insert("active".into(), json!(fields.active));
    let attributes: Value =
        serde_json::from_str(&fields.attributes).unwrap_or_else(|_| json!(fields.attributes));
    if attributes
        .as_object()
        .is_none_or(|object| !object.is_empty())
    {
        snapshot.insert("attributes".into(), attributes);
    }
    snapshot.insert("managed_by".into(), json!(fields.managed_by.as_str()));
    snapshot
}

/// Rows per multi-row insert: within SQLite's 32,766 bound parameters for every table here.
pub(super) const ROWS_PER_STATEMENT: usize = 500;

/// Inserts a new user with its emails and records its creation.
fn insert_user(
    conn: &mut AnyConnection,
    log: &mut ChangeLog,
    tenant_id: &str,
    fields: UserFields,
) -> StoreResult<User> {
    let row = UserRow::new(tenant_id, &fields);
    on_backend!(&mut *conn, c => diesel::insert_into(users::table)
        .values(&row)
        .execute(c))
    .map_err(|error| StoreError::from_write(error, Conflict::UserName))?;
    insert_emails(conn, tenant_id, &row.stored.id, &fields.emails)?;
    let user = row.stored.into_user(fields.emails)?;
    log.push(
        tenant_id,
        Action::UserCreated,
        &user.id,
        diff(None, Some(&snapshot(&user.fields))),
    );
    Ok(user)
}

/// How a user is found by [`Store::lookup_user`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    UserName(String),
    ExternalId(String),
    Email(String),
}

impl Store {
    pub async fn create_user(&self, tenant_id: &TenantId, fields: UserFields) -> StoreResult<User> {
        let tenant_id = tenant_id.to_owned();
        self.write_logged(move |conn, access, log| {
            access.authorize(conn, Rpc::CreateUser)?;
            insert_user(conn, log, &tenant_id, fields)
        })
        .await
    }

    /// Creates every user of `batch` in one transaction, or none: when user names are taken
    /// already, the error lists the positions of every one of them in `batch`. (Names repeated
    /// within the batch are the caller's to refuse first; a repeat that slips through, or a
    /// concurrent create, fails as a plain conflict.)
    pub async fn import_users(
        &self,
        tenant_id: &TenantId,
        batch: Vec<UserFields>,
    ) -> StoreResult<Vec<UserId>> {
        let tenant_id = tenant_id.to_owned();
        self.write_logged(move |conn, access, log| {
            access.authorize(conn, Rpc::ImportUsers)?;
            let keys: Vec<&str> = batch.iter().map(|fields| fields.user_name.key()).collect();
            let taken: std::collections::HashSet<String> = users::table
                .filter(users::tenant_id.eq(&tenant_id))
                .filter(users::user_name_key.eq_any(&keys))
                .select(users::user_name_key)
                .load(conn)?
                .into_iter()
                .collect();
            if !taken.is_empty() {
                let positions = keys
                    .iter()
                    .enumerate()
                    .filter(|(_, key)| taken.contains(**key))
                    .map(|(position, _)| position)
                    .collect();
                return Err(StoreError::UserNamesTaken(positions));
            }
            // Multi-row statements: one round trip per few hundred rows, not one per row.
            let rows: Vec<UserRow> = batch
                .iter()
                .map(|fields| UserRow::new(&tenant_id, fields))
                .collect();
            let emails: Vec<EmailRow> = rows
                .iter()
                .zip(&batch)
                .flat_map(|(row, fields)| email_rows(&tenant_id, &row.stored.id, &fields.emails))
                .collect();
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                on_backend!(&mut *conn, c => diesel::insert_into(users::table)
                    .values(chunk)
                    .execute(c))
                .map_err(|error| StoreError::from_write(error, Conflict::UserName))?;
            }
            for chunk in emails.chunks(ROWS_PER_STATEMENT) {
                on_backend!(&mut *conn, c => diesel::insert_into(user_emails::table)
                    .values(chunk)
                    .execute(c))?;
            }
            Ok(rows
                .into_iter()
                .zip(batch)
                .map(|(row, fields)| {
                    let id = UserId::from(row.stored.id);
                    log.push(
                        &tenant_id,
                        Action::UserCreated,
                        &id,
                        diff(None, Some(&snapshot(&fields))),
                    );
                    id
                })
                .collect())
        })
        .await
    }

    pub async fn get_user(&self, tenant_id: &TenantId, id: &UserId) -> StoreResult<User> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        // One statement: see `get_user`.
        self.read_statement(move |conn| get_user(conn, &tenant_id, &id))
            .await
    }

    /// The users matching `key`: at most two, enough to tell one from several (external ids and
    /// emails need not be unique).
    pub async fn lookup_user(&self, tenant_id: &TenantId, key: UserKey) -> StoreResult<Vec<User>> {
        let tenant_id = tenant_id.to_owned();
        // One statement type per key, not a boxed query: each is prepared once and reused. No
        // ORDER BY on users: it would tempt SQLite into walking the tenant's creation-order
        // index instead of the lookup's own.
        match key {
            // Okta's lookup. User names are unique in a tenant: one statement, the user joined
            // with its emails, as for `get_user`.
            UserKey::UserName(name) => {
                let name = fold_case(&name);
                self.read_statement(move |conn| {
                    let rows = on_backend!(conn, c => users::table
                        .left_join(user_emails::table)
                        .filter(users::tenant_id.eq(&tenant_id))
                        .filter(users::user_name_key.eq(&name))
                        .select((StoredUser::as_select(), Option::<StoredEmail>::as_select()))
                        .load(c))?;
                    Ok(joined_user(rows)?.into_iter().collect())
                })
                .await
            }
            UserKey::ExternalId(external_id) => {
                self.read_point(move |conn| {
                    let rows = users::table
                        .filter(users::tenant_id.eq(&tenant_id))
                        .filter(users::external_id.eq(external_id))
                        .limit(2)
                        .select(StoredUser::as_select())
                        .load(conn)?;
                    with_emails(conn, rows)
                })
                .await
            }
            UserKey::Email(email) => {
                self.read_point(move |conn| {
                    let rows = users::table
                        .filter(users::tenant_id.eq(&tenant_id))
                        .filter(
                            users::id.eq_any(
                                user_emails::table
                                    .filter(user_emails::tenant_id.eq(&tenant_id))
                                    .filter(user_emails::value_key.eq(fold_case(&email)))
                                    .select(user_emails::user_id),
                            ),
                        )
                        .limit(2)
                        .select(StoredUser::as_select())
                        .load(conn)?;
                    with_emails(conn, rows)
                })
                .await
            }
        }
    }

    pub async fn list_users(
        &self,
        tenant_id: &TenantId,
        filter: Option<Filter<UserField>>,
        page: PageQuery,
    ) -> StoreResult<Page<User>> {
        let tenant_id = tenant_id.to_owned();
        let filtered = filter.is_some();
        let inner = std::sync::Arc::clone(&self.inner);
        self.read(move |conn| {
            let (rows, has_more, total) = filtered_page!(
                conn,
                inner.positions,
                users,
                StoredUser,
                tenant_id,
                &filter,
                filter::user_predicate,
                page
            );
            Ok(Page {
                items: with_emails(conn, rows)?,
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

    pub async fn update_user(
        &self,
        tenant_id: &TenantId,
        id: &UserId,
        changes: UserChanges,
        expected_version: Option<i64>,
    ) -> StoreResult<User> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            let mut before = get_user(conn, &tenant_id, &id)?;
            let deactivates = |user: &User| user.fields.active && changes.active == Some(false);
            let takes_super_admin = before.role == Role::SuperAdmin && deactivates(&before);
            if takes_super_admin {
                access.lock_tenant(conn, &tenant_id)?;
                before = get_user(conn, &tenant_id, &id)?;
            }
            let caller = access.caller(conn)?;
            let identity_change = policy::changes_identity(&before.fields, &changes);
            if caller.acting.is_some() || (caller.kind == KeyKind::Scim && identity_change) {
                let tenant = tenant_fields(conn, &tenant_id)?;
                policy::may_update_user(caller, tenant.scim_enabled, &before, &changes)?;
                if policy::needs_verified_domains(caller, &tenant, &before.fields, &changes) {
                    let domains = domains_of(conn, &tenant_id)?;
                    let after = changes.applied_to(&before.fields);
                    policy::may_present_addresses_via_scim(&before.fields, &after, &domains)?;
                }
            } else {
                // No person and no address change: the team's SCIM switch decides nothing here.
                policy::may_update_user(caller, false, &before, &changes)?;
            }
            let changeset = UserChangeset::from_changes(&changes);
            let updated = on_backend!(&mut *conn, c => diesel::update(at_version!(users, &tenant_id, &id, expected_version))
                .set((
                    &changeset,
                    users::version.eq(users::version + 1),
                    users::updated_at.eq(now_micros()),
                ))
                .prepared_once()
                .execute(c))
                .map_err(|error| StoreError::from_write(error, Conflict::UserName))?;
            touched(updated, expected_version, || {
                Ok(find_row(conn, &tenant_id, &id)?.version)
            })?;
            if let Some(emails) = &changes.emails {
                diesel::delete(user_emails::table.filter(user_emails::user_id.eq(&id)))
                    .execute(conn)?;
                insert_emails(conn, &tenant_id, &id, emails)?;
            }
            let after = get_user(conn, &tenant_id, &id)?;
            if takes_super_admin && !after.fields.active {
                require_super_admin(conn, &tenant_id)?;
            }
            let changes = diff(
                Some(&snapshot(&before.fields)),
                Some(&snapshot(&after.fields)),
            );
            if !changes.is_empty() {
                log.push(&tenant_id, Action::UserUpdated, &id, changes);
            }
            Ok(after)
        })
        .await
    }

    /// Sets a user's role (logged as a `user.updated` of `role`).
    pub async fn set_user_role(
        &self,
        tenant_id: &TenantId,
        id: &UserId,
        role: Role,
    ) -> StoreResult<User> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            // Role changes may take the tenant's last super admin: one at a time per tenant.
            access.lock_tenant(conn, &tenant_id)?;
            let before = get_user(conn, &tenant_id, &id)?;
            policy::may_set_role(access.caller(conn)?, &before, role)?;
            if before.role == role {
                return Ok(before);
            }
            diesel::update(users::table.filter(users::id.eq(&id)))
                .set((
                    users::role.eq(role.as_str()),
                    users::version.eq(users::version + 1),
                    users::updated_at.eq(now_micros()),
                ))
                .execute(conn)?;
            if before.role == Role::SuperAdmin && before.fields.active {
                require_super_admin(conn, &tenant_id)?;
            }
            log.push(
                &tenant_id,
                Action::UserUpdated,
                &id,
                vec![crate::model::FieldChange {
                    field: "role".into(),
                    old: Some(before.role.as_str().into()),
                    new: Some(role.as_str().into()),
                }],
            );
            get_user(conn, &tenant_id, &id)
        })
        .await
    }

    pub async fn delete_user(
        &self,
        tenant_id: &TenantId,
        id: &UserId,
        expected_version: Option<i64>,
    ) -> StoreResult<()> {
        let (tenant_id, id) = (tenant_id.to_owned(), id.to_owned());
        self.write_logged(move |conn, access, log| {
            let mut before = get_user(conn, &tenant_id, &id)?;
            let takes_super_admin =
                |user: &User| user.role == Role::SuperAdmin && user.fields.active;
            if takes_super_admin(&before) {
                access.lock_tenant(conn, &tenant_id)?;
                before = get_user(conn, &tenant_id, &id)?;
            }
            let caller = access.caller(conn)?;
            let scim_enabled =
                caller.acting.is_some() && tenant_fields(conn, &tenant_id)?.scim_enabled;
            policy::may_delete_user(caller, scim_enabled, &before)?;
            let groups: Vec<String> = memberships::table
                .filter(memberships::user_id.eq(&id))
                .select(memberships::group_id)
                .load(conn)?;
            // Memberships and emails go with the user (ON DELETE CASCADE).
            let deleted = diesel::delete(at_version!(users, &tenant_id, &id, expected_version))
                .execute(conn)?;
            touched(deleted, expected_version, || {
                Ok(find_row(conn, &tenant_id, &id)?.version)
            })?;
            if takes_super_admin(&before) {
                require_super_admin(conn, &tenant_id)?;
            }
            for group_id in groups {
                log.push(
                    &tenant_id,
                    Action::GroupMemberRemoved,
                    &group_id,
                    vec![member_change(&id, false)],
                );
            }
            log.push(
                &tenant_id,
                Action::UserDeleted,
                &id,
                diff(Some(&snapshot(&before.fields)), None),
            );
            Ok(())
        })
        .await
    }
}

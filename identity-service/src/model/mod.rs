//! The service's own types, between the gRPC contract and the store.

use std::fmt;

use identity_proto::fields::managed_by;

/// Microseconds since the Unix epoch, UTC: how every time is stored.
pub(crate) type Micros = i64;

pub fn now_micros() -> Micros {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_micros()).unwrap_or(i64::MAX)
}

mod identifiers;
mod portal;
mod provisioning;

pub use identifiers::{GroupId, Name, TenantId, UserId};
pub(crate) use identifiers::{fold_case, new_id};
pub use portal::{PORTAL_SESSION_LIFETIME, PortalSession};
pub use provisioning::{Answer, Outcome, OutcomePage, OutcomeQuery, StatusClass};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManagedBy {
    Internal,
    Scim,
}

impl ManagedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            ManagedBy::Internal => managed_by::INTERNAL,
            ManagedBy::Scim => managed_by::SCIM,
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            managed_by::INTERNAL => Some(ManagedBy::Internal),
            managed_by::SCIM => Some(ManagedBy::Scim),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Email {
    pub value: String,
    pub kind: String,
    pub primary: bool,
    pub display: String,
}

/// The writable attributes of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserFields {
    pub user_name: Name,
    pub external_id: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub emails: Vec<Email>,
    pub active: bool,
    /// A JSON object, kept verbatim.
    pub attributes: String,
    pub managed_by: ManagedBy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub fields: UserFields,
    /// Set apart from the other fields (SetUserRole), by admins.
    pub role: Role,
    pub version: i64,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// A user's role in its tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    #[default]
    Member,
    Admin,
    SuperAdmin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Admin => "admin",
            Role::SuperAdmin => "super_admin",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        match value {
            "member" => Some(Role::Member),
            "admin" => Some(Role::Admin),
            "super_admin" => Some(Role::SuperAdmin),
            _ => None,
        }
    }
}

/// A partial update of a user: `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserChanges {
    pub user_name: Option<Name>,
    pub external_id: Option<Option<String>>,
    pub display_name: Option<Option<String>>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub emails: Option<Vec<Email>>,
    pub active: Option<bool>,
    pub attributes: Option<String>,
    pub managed_by: Option<ManagedBy>,
}

impl UserChanges {
    /// `fields` as they are after these changes.
    pub(crate) fn applied_to(&self, fields: &UserFields) -> UserFields {
        let mut after = fields.clone();
        if let Some(user_name) = &self.user_name {
            after.user_name.clone_from(user_name);
        }
        if let Some(emails) = &self.emails {
            after.emails.clone_from(emails);
        }
        after
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupFields {
    pub display_name: Name,
    pub external_id: Option<String>,
    pub managed_by: ManagedBy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub tenant_id: TenantId,
    pub fields: GroupFields,
    pub version: i64,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChanges {
    pub display_name: Option<Name>,
    pub external_id: Option<Option<String>>,
    pub managed_by: Option<ManagedBy>,
}

/// One set operation on a group's member list (user ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    Add(Vec<UserId>),
    Remove(Vec<UserId>),
    Replace(Vec<UserId>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupModification {
    pub rename: Option<Name>,
    /// `Some(None)` clears the external id.
    pub external_id: Option<Option<String>>,
    pub changes: Vec<MembershipChange>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyOutcome {
    pub group: Group,
    pub members_added: i64,
    pub members_removed: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub user_id: UserId,
    pub user_name: String,
    pub display_name: Option<String>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserGroup {
    pub group_id: GroupId,
    pub display_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFields {
    pub name: String,
    pub scim_enabled: bool,
    /// A JSON object.
    pub settings: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tenant {
    pub id: TenantId,
    pub fields: TenantFields,
    pub version: i64,
    pub created_at: Micros,
    pub updated_at: Micros,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantChanges {
    pub name: Option<String>,
    pub scim_enabled: Option<bool>,
    pub settings: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Service,
    Scim,
}

impl KeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyKind::Service => "service",
            KeyKind::Scim => "scim",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "service" => Some(KeyKind::Service),
            "scim" => Some(KeyKind::Scim),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum KeyAccess {
    ReadOnly,
    ReadWrite,
}

impl KeyAccess {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAccess::ReadOnly => "read_only",
            KeyAccess::ReadWrite => "read_write",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "read_only" => Some(KeyAccess::ReadOnly),
            "read_write" => Some(KeyAccess::ReadWrite),
            _ => None,
        }
    }
}

/// Which tenants a key reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyScope {
    AllTenants,
    Tenant(TenantId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: String,
    pub scope: KeyScope,
    pub kind: KeyKind,
    pub access: KeyAccess,
    pub name: String,
    pub prefix: String,
    pub created_at: Micros,
    pub last_used_at: Option<Micros>,
    pub expires_at: Option<Micros>,
    pub revoked_at: Option<Micros>,
    /// The id of the key that issued it, or `system`.
    pub created_by: String,
    /// The key that replaced it by a rotation with a grace period.
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyState {
    Active,
    /// Replaced by a rotation: works until its grace period ends.
    Retiring,
    Revoked,
    Expired,
}

impl ApiKey {
    pub(crate) fn state_at(&self, now: Micros) -> KeyState {
        if self.revoked_at.is_some() {
            KeyState::Revoked
        } else if self.expires_at.is_some_and(|expires| expires <= now) {
            KeyState::Expired
        } else if self.replaced_by.is_some() {
            KeyState::Retiring
        } else {
            KeyState::Active
        }
    }
}

/// A key about to be stored: everything but the secret, of which only the hash is kept.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub scope: KeyScope,
    pub kind: KeyKind,
    pub access: KeyAccess,
    pub name: String,
    pub prefix: String,
    pub secret_hash: String,
    pub expires_at: Option<Micros>,
}

/// Where a list page starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageStart {
    /// After the row with this sort key (keyset paging).
    After { created_at: Micros, id: String },
    /// Skip this many rows (SCIM's startIndex).
    Offset(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageQuery {
    pub size: i64,
    pub start: PageStart,
    pub include_total: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// More rows follow the last item.
    pub has_more: bool,
    pub total: Option<i64>,
}

/// A resource kind, for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Tenant,
    User,
    Group,
    ApiKey,
    PortalSession,
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Resource::Tenant => "tenant",
            Resource::User => "user",
            Resource::Group => "group",
            Resource::ApiKey => "API key",
            Resource::PortalSession => "portal session",
        })
    }
}

/// The key id of the operator's own tooling, which has no key (`init`, the CLI on the database).
pub const SYSTEM: &str = "system";

/// Who made a change: the API key (and, for calls on behalf of a person, the acting user), or
/// the operator's own tooling (`init`, `migrate`, retention), which has no key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The key's id, or `"system"`.
    pub key_id: String,
    /// `service`, `scim` or `system`.
    pub key_kind: String,
    pub user_id: Option<String>,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            key_id: SYSTEM.to_owned(),
            key_kind: SYSTEM.to_owned(),
            user_id: None,
        }
    }
}

/// The context a change is recorded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Audit {
    pub actor: Actor,
    pub request_id: Option<String>,
}

impl Default for Audit {
    fn default() -> Self {
        Audit {
            actor: Actor::system(),
            request_id: None,
        }
    }
}

/// One changed field of a resource: values as JSON, `None` where there was none (created) or is
/// none any more (deleted). Secrets never appear.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub old: Option<serde_json::Value>,
    pub new: Option<serde_json::Value>,
}

/// An entry of the change log.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub sequence: i64,
    pub tenant_id: String,
    pub actor: Actor,
    /// e.g. `user.created`, `group.member_added`.
    pub action: String,
    /// `user`, `group`, `tenant`, `api_key`.
    pub resource_type: String,
    pub resource_id: String,
    pub changes: Vec<FieldChange>,
    pub request_id: Option<String>,
    pub created_at: Micros,
}

/// Which events a list or a watch returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// `None`: every tenant (all-tenant keys only).
    pub tenant_id: Option<String>,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub actor_key_id: Option<String>,
    pub action: Option<String>,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    /// Events after this sequence.
    pub after: i64,
    pub limit: i64,
}

/// How a write treats groups created inside the product (`managed_by = internal`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Linking {
    /// Any group (internal services and operators).
    #[default]
    Any,
    /// SCIM: a group made inside the product that has members is not SCIM's to change; one
    /// without members is linked — this write makes it SCIM-managed.
    Scim,
}

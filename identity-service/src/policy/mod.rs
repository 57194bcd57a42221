//! The permission model: who may do what. Every RPC asks [`authorize`] before it acts, and every
//! write asks again inside its transaction, with the acting person re-read there, together with
//! the row-level rules below (`may_*`) on the rows that transaction reads. `docs/permissions.md`
//! is the same table in prose; the matrix test holds every RPC × caller class to it.
//!
//! Caller classes: a SCIM key (the identity provider of one tenant); the operator (a service key
//! over all tenants acting for nobody); a tenant's service key acting for nobody (the product's
//! backend as the tenant's own system: it manages people and groups, not credentials or
//! settings); or a person (`x-acting-user-id` on a service key), who has their role. An admin
//! portal session is that person too: its admin, with the admin's role, read afresh.

use crate::model::{
    ApiKey, KeyAccess, KeyKind, KeyScope, Linking, ManagedBy, PortalSession, Role, TenantChanges,
    TenantFields, TenantId, User, UserChanges, UserFields, UserId,
};
use identity_proto::reason;

mod rpc;

pub(crate) use rpc::Rpc;

/// The caller of an RPC, as established from its key (and the person it acts for).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub key_id: String,
    pub kind: KeyKind,
    pub access: KeyAccess,
    pub scope: KeyScope,
    /// The person a service key acts for (`x-acting-user-id`), or a portal session's admin.
    pub acting: Option<ActingUser>,
    pub credential: Credential,
}

/// What a caller authenticated with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    ApiKey,
    /// An admin portal session (its id is the caller's `key_id`).
    PortalSession,
}

/// `Actor.key_kind` of changes made through the admin portal.
pub const PORTAL_KEY_KIND: &str = "portal";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingUser {
    pub user_id: UserId,
    pub tenant_id: TenantId,
    pub role: Role,
    pub active: bool,
}

impl Caller {
    /// The operator's own tooling (`init`, the CLI on the database): no key, every tenant.
    pub fn system() -> Caller {
        Caller {
            key_id: crate::model::SYSTEM.to_owned(),
            kind: KeyKind::Service,
            access: KeyAccess::ReadWrite,
            scope: KeyScope::AllTenants,
            acting: None,
            credential: Credential::ApiKey,
        }
    }

    /// A portal session acting as its admin. The role here is the least; every decision reads
    /// the admin afresh (authentication, and every write's transaction).
    pub(crate) fn portal_session(session: &PortalSession) -> Caller {
        Caller {
            key_id: session.id.clone(),
            kind: KeyKind::Service,
            access: KeyAccess::ReadWrite,
            scope: KeyScope::Tenant(session.tenant_id.clone()),
            acting: Some(ActingUser {
                user_id: session.user_id.clone(),
                tenant_id: session.tenant_id.clone(),
                role: Role::Member,
                active: false,
            }),
            credential: Credential::PortalSession,
        }
    }

    /// `Actor.key_kind` of the changes it makes: `scim`, `service` or `portal`.
    pub fn key_kind(&self) -> &'static str {
        match self.credential {
            Credential::ApiKey => self.kind.as_str(),
            Credential::PortalSession => PORTAL_KEY_KIND,
        }
    }

    pub fn class(&self) -> Class {
        match (&self.acting, self.kind, &self.scope) {
            (_, KeyKind::Scim, _) => Class::Scim,
            (Some(acting), _, _) => Class::Person(acting.role),
            (None, KeyKind::Service, KeyScope::AllTenants) => Class::Operator,
            (None, KeyKind::Service, KeyScope::Tenant(_)) => Class::TenantService,
        }
    }

    /// Whether the caller reaches a tenant (for resources found by id, such as API keys).
    pub(crate) fn reaches(&self, tenant: &KeyScope) -> bool {
        let own = match &self.acting {
            Some(acting) => KeyScope::Tenant(acting.tenant_id.clone()),
            None => self.scope.clone(),
        };
        match (&own, tenant) {
            (KeyScope::AllTenants, _) => true,
            (KeyScope::Tenant(own), KeyScope::Tenant(other)) => own == other,
            (KeyScope::Tenant(_), KeyScope::AllTenants) => false,
        }
    }

    fn acts_as(&self, user_id: &str) -> bool {
        self.acting
            .as_ref()
            .is_some_and(|acting| acting.user_id == user_id)
    }

    fn person_role(&self) -> Option<Role> {
        self.acting.as_ref().map(|acting| acting.role)
    }
}

/// Who a caller is, for the permission table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Scim,
    Operator,
    TenantService,
    Person(Role),
}

/// Why a call is refused: a gRPC code's kind and a stable `ErrorInfo` reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Denial {
    pub kind: DenialKind,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenialKind {
    /// PERMISSION_DENIED: the caller may not do this.
    Forbidden,
    /// FAILED_PRECONDITION: nobody may, in the resource's present state.
    Precondition,
}

fn forbidden(reason: &'static str, message: impl Into<String>) -> Denial {
    Denial {
        kind: DenialKind::Forbidden,
        reason,
        message: message.into(),
    }
}

fn admin_required() -> Denial {
    forbidden(
        reason::ADMIN_REQUIRED,
        "only a team admin or super admin may do this",
    )
}

fn super_admin_required(what: &str) -> Denial {
    forbidden(
        reason::SUPER_ADMIN_REQUIRED,
        format!("only a super admin may {what}"),
    )
}

fn self_change(what: &str) -> Denial {
    forbidden(
        reason::SELF_CHANGE_NOT_ALLOWED,
        format!("nobody may change their own {what}; ask another admin"),
    )
}

/// An RPC's entry in the permission table.
struct Rule {
    write: bool,
    /// SCIM keys may call it.
    scim: bool,
    /// A tenant's service key acting for nobody may call it.
    tenant_service: bool,
    /// The least role of an acting person (`None`: no person; with `tenant_service` false,
    /// only the operator).
    person: Option<Role>,
    portal: Portal,
}

/// What an admin portal session may do with an RPC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Portal {
    /// Whatever its admin may.
    AsItsAdmin,
    /// Nothing: the RPC is not the portal's.
    Refused,
    /// Only a portal session may call it (about itself).
    Only,
}

const fn rule(write: bool, scim: bool, tenant_service: bool, person: Option<Role>) -> Rule {
    Rule {
        write,
        scim,
        tenant_service,
        person,
        portal: Portal::AsItsAdmin,
    }
}

const READ: bool = false;
const WRITE: bool = true;
const MEMBER: Option<Role> = Some(Role::Member);
const ADMIN: Option<Role> = Some(Role::Admin);
const OPERATOR_ONLY: Option<Role> = None;

/// The table (`None`: the RPC is open, see [`is_open`]). Rows that say MEMBER may still be
/// refused by the row-level rules below (a member changes only its own profile; SCIM sees only
/// the groups it may link, …).
fn rule_of(rpc: Rpc) -> Option<Rule> {
    use Rpc::*;
    Some(match rpc {
        GetUser | LookupUser | ListUsers => rule(READ, true, true, MEMBER),
        CreateUser => rule(WRITE, true, true, ADMIN),
        // Bulk loads are the product's (migrations), not the identity provider's.
        ImportUsers => rule(WRITE, false, true, ADMIN),
        UpdateUser | DeleteUser => rule(WRITE, true, true, MEMBER),
        SetUserRole => rule(WRITE, false, false, ADMIN),
        GetGroup | ListGroups | ListGroupMembers | ListUserGroups | CheckMembership => {
            rule(READ, true, true, MEMBER)
        }
        CreateGroup | UpdateGroup | DeleteGroup | ModifyGroup => rule(WRITE, true, true, ADMIN),
        GetTenant => rule(READ, true, true, MEMBER),
        CreateTenant => rule(WRITE, false, false, OPERATOR_ONLY),
        ListTenants => rule(READ, false, false, OPERATOR_ONLY),
        UpdateTenant | AddVerifiedDomain | RemoveVerifiedDomain => rule(WRITE, false, false, ADMIN),
        ListVerifiedDomains => rule(READ, false, true, MEMBER),
        IssueApiKey | RevokeApiKey | RotateApiKey => rule(WRITE, false, false, ADMIN),
        ListApiKeys => rule(READ, false, false, ADMIN),
        ListEvents | WatchEvents => rule(READ, false, true, ADMIN),
        // The outcomes of requests made with the caller's own key (the SCIM gateway reports
        // them with it): a log line, not a change of the tenant's data, so read-only keys may
        // report theirs too. People never report.
        RecordOutcomes => rule(READ, true, true, OPERATOR_ONLY),
        // The provisioning log is read by the tenant's admins, not by its identity provider.
        ListOutcomes => rule(READ, false, true, ADMIN),
        // The product's backend, for one of the tenant's admins; a session cannot extend itself.
        CreatePortalLink => Rule {
            portal: Portal::Refused,
            ..rule(WRITE, false, false, ADMIN)
        },
        // A session's calls about itself (its admin, re-read: see `authenticate`).
        GetPortalSession | EndPortalSession => Rule {
            portal: Portal::Only,
            ..rule(READ, false, false, ADMIN)
        },
        // The link's token is the credential: no caller is authenticated (`is_open`).
        RedeemPortalLink => return None,
    })
}

/// Whether an RPC is called without a key: the request itself carries its credential (a
/// portal link's token), which the handler checks.
pub(crate) fn is_open(rpc: Rpc) -> bool {
    rule_of(rpc).is_none()
}

/// May `caller` call `rpc` at all? (Row-level rules come on top, where the rows are read.)
pub(crate) fn authorize(caller: &Caller, rpc: Rpc) -> Result<(), Denial> {
    let Some(rule) = rule_of(rpc) else {
        return Ok(());
    };
    match (rule.portal, caller.credential) {
        (Portal::Only, Credential::ApiKey) => {
            return Err(forbidden(
                reason::PORTAL_SESSION_REQUIRED,
                "only an admin portal session makes this call, about itself",
            ));
        }
        (Portal::Refused, Credential::PortalSession) => {
            return Err(forbidden(
                reason::PORTAL_SESSION_NOT_ALLOWED,
                "the admin portal cannot make this call",
            ));
        }
        _ => {}
    }
    match caller.class() {
        Class::Scim if !rule.scim => {
            return Err(forbidden(
                reason::KEY_KIND_NOT_ALLOWED,
                "SCIM keys may only manage users and groups; use a service key",
            ));
        }
        Class::Scim | Class::Operator => {}
        Class::TenantService if !rule.tenant_service && rule.person.is_none() => {
            return Err(operator_only());
        }
        Class::TenantService if !rule.tenant_service => {
            return Err(forbidden(
                reason::ADMIN_REQUIRED,
                "this call is made by a team admin: name them with x-acting-user-id",
            ));
        }
        Class::TenantService => {}
        Class::Person(role) => {
            if caller.acting.as_ref().is_some_and(|acting| !acting.active) {
                return Err(forbidden(
                    reason::ACTING_USER_INACTIVE,
                    "the acting user is deactivated",
                ));
            }
            match rule.person {
                None => {
                    return Err(forbidden(
                        reason::SCOPE_NOT_ALLOWED,
                        "this call is never made on a person's behalf: send no x-acting-user-id",
                    ));
                }
                Some(least) if role < least => return Err(admin_required()),
                Some(_) => {}
            }
        }
    }
    if rule.write && caller.access == KeyAccess::ReadOnly {
        return Err(forbidden(
            reason::READ_ONLY_KEY,
            "this API key is read-only",
        ));
    }
    Ok(())
}

fn operator_only() -> Denial {
    forbidden(
        reason::SCOPE_NOT_ALLOWED,
        "this call needs a service key scoped to all tenants, acting for nobody",
    )
}

/// Making a portal link: for the admin the caller acts for (an active admin of the tenant);
/// returns that admin.
pub(crate) fn may_create_portal_link(caller: &Caller) -> Result<&ActingUser, Denial> {
    authorize(caller, Rpc::CreatePortalLink)?;
    caller.acting.as_ref().ok_or_else(|| {
        forbidden(
            reason::ADMIN_REQUIRED,
            "a portal link is made for one of the team's admins: name them with x-acting-user-id",
        )
    })
}

/// A portal session acts only while its admin is an active admin of the tenant: it starts only
/// then, and ends when that stops being so.
pub(crate) fn may_start_portal_session(caller: &Caller) -> Result<(), Denial> {
    match &caller.acting {
        Some(admin) if admin.active && admin.role >= Role::Admin => Ok(()),
        Some(admin) if !admin.active => Err(forbidden(
            reason::ACTING_USER_INACTIVE,
            "the portal link's admin is deactivated",
        )),
        _ => Err(admin_required()),
    }
}

/// SCIM keys reach only the groups SCIM may link or already manages, in every call and view;
/// every other caller reaches every group of its tenant.
pub fn linking(caller: &Caller) -> Linking {
    match caller.kind {
        KeyKind::Scim => Linking::Scim,
        KeyKind::Service => Linking::Any,
    }
}

/// Users created or groups written by a SCIM key are SCIM-managed; `managed_by` itself is set
/// only by the product's backend (a service key acting for nobody).
pub(crate) fn may_set_managed_by(caller: &Caller) -> Result<(), Denial> {
    match caller.class() {
        Class::Operator | Class::TenantService => Ok(()),
        Class::Scim | Class::Person(_) => Err(forbidden(
            reason::SERVICE_KEY_REQUIRED,
            "managed_by is set only by the product's backend (a service key acting for nobody)",
        )),
    }
}

/// Whether an update changes a user's sign-in identity (email addresses or user name).
pub(crate) fn changes_identity(target: &UserFields, changes: &UserChanges) -> bool {
    changes
        .emails
        .as_ref()
        .is_some_and(|emails| *emails != target.emails)
        || changes
            .user_name
            .as_ref()
            .is_some_and(|name| *name != target.user_name)
}

/// A person may change another user only as an admin, and a super admin only as a super admin.
fn may_change_other(caller: &Caller, target: &User) -> Result<(), Denial> {
    match caller.person_role() {
        None => Ok(()),
        Some(role) if role < Role::Admin => Err(admin_required()),
        Some(role) if target.role == Role::SuperAdmin && role < Role::SuperAdmin => {
            Err(super_admin_required("change a super admin's account"))
        }
        Some(_) => Ok(()),
    }
}

/// An update of `target` in a team with the SCIM switch `scim_enabled`.
pub(crate) fn may_update_user(
    caller: &Caller,
    scim_enabled: bool,
    target: &User,
    changes: &UserChanges,
) -> Result<(), Denial> {
    authorize(caller, Rpc::UpdateUser)?;
    if changes
        .managed_by
        .is_some_and(|m| m != target.fields.managed_by)
    {
        may_set_managed_by(caller)?;
    }
    if !caller.acts_as(&target.id) {
        return may_change_other(caller, target);
    }
    if changes
        .active
        .is_some_and(|active| active != target.fields.active)
    {
        return Err(self_change("active state"));
    }
    if scim_enabled
        && target.fields.managed_by == ManagedBy::Scim
        && changes_identity(&target.fields, changes)
    {
        return Err(forbidden(
            reason::MANAGED_BY_SCIM,
            "your account is managed by your identity provider: change your email there",
        ));
    }
    Ok(())
}

/// Removing `target` from a team with the SCIM switch `scim_enabled`.
pub(crate) fn may_delete_user(
    caller: &Caller,
    scim_enabled: bool,
    target: &User,
) -> Result<(), Denial> {
    authorize(caller, Rpc::DeleteUser)?;
    if !caller.acts_as(&target.id) {
        return may_change_other(caller, target);
    }
    if scim_enabled && target.fields.managed_by == ManagedBy::Scim {
        return Err(Denial {
            kind: DenialKind::Precondition,
            reason: reason::MANAGED_BY_SCIM,
            message: "your membership is managed by your identity provider: you cannot leave \
                      the team while SCIM is on"
                .into(),
        });
    }
    Ok(())
}

/// Setting `target`'s role to `role`.
pub(crate) fn may_set_role(caller: &Caller, target: &User, role: Role) -> Result<(), Denial> {
    authorize(caller, Rpc::SetUserRole)?;
    if caller.acts_as(&target.id) {
        return Err(self_change("role"));
    }
    let touches_super_admin = target.role == Role::SuperAdmin || role == Role::SuperAdmin;
    if touches_super_admin && caller.person_role().is_some_and(|r| r < Role::SuperAdmin) {
        return Err(super_admin_required("grant or take the super admin role"));
    }
    Ok(())
}

/// The error a write gets when it would leave a team that had an active super admin without one.
pub fn last_super_admin() -> Denial {
    forbidden(
        reason::LAST_SUPER_ADMIN,
        "this is the team's last active super admin: make someone else super admin first",
    )
}

/// Whether SCIM email changes are held to verified domains: while SCIM is on, unless the team
/// opted out with `settings.scim_email_domains = "any"`.
pub(crate) fn scim_email_domains_apply(tenant: &TenantFields) -> bool {
    tenant.scim_enabled && !allows_any_email_domain(&tenant.settings)
}

fn allows_any_email_domain(settings: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(settings)
        .ok()
        .is_some_and(|settings| {
            settings.get(identity_proto::fields::tenant::SCIM_EMAIL_DOMAINS_SETTING)
                == Some(&"any".into())
        })
}

/// Changing a tenant: admins; a setting that weakens a rule only super admins.
pub(crate) fn may_update_tenant(
    caller: &Caller,
    before: &TenantFields,
    changes: &TenantChanges,
) -> Result<(), Denial> {
    authorize(caller, Rpc::UpdateTenant)?;
    let weakens = changes.settings.as_deref().is_some_and(|settings| {
        allows_any_email_domain(settings) && !allows_any_email_domain(&before.settings)
    });
    if weakens && caller.person_role().is_some_and(|r| r < Role::SuperAdmin) {
        return Err(super_admin_required(
            "let SCIM set emails outside the verified domains",
        ));
    }
    Ok(())
}

/// Issuing, rotating, revoking or seeing a key of `kind` over `scope`: SCIM keys are for admins,
/// a tenant's service keys for super admins, keys over all tenants for the operator. Nobody gets
/// a key with more reach than their own.
fn may_hold_key(caller: &Caller, kind: KeyKind, scope: &KeyScope) -> Result<(), Denial> {
    if *scope == KeyScope::AllTenants && caller.class() != Class::Operator {
        return Err(operator_only());
    }
    if kind == KeyKind::Service && caller.person_role().is_some_and(|r| r < Role::SuperAdmin) {
        return Err(super_admin_required("manage a team's service keys"));
    }
    Ok(())
}

pub(crate) fn may_issue_key(
    caller: &Caller,
    kind: KeyKind,
    scope: &KeyScope,
) -> Result<(), Denial> {
    authorize(caller, Rpc::IssueApiKey)?;
    may_hold_key(caller, kind, scope)
}

/// Revoking or rotating `key`.
pub(crate) fn may_manage_key(caller: &Caller, rpc: Rpc, key: &ApiKey) -> Result<(), Denial> {
    authorize(caller, rpc)?;
    may_hold_key(caller, key.kind, &key.scope)
}

/// The kinds of keys over `scope` a caller may list (to an admin: SCIM keys only).
pub(crate) fn may_list_keys(
    caller: &Caller,
    scope: &KeyScope,
) -> Result<&'static [KeyKind], Denial> {
    authorize(caller, Rpc::ListApiKeys)?;
    let kinds: &'static [KeyKind] = match caller.person_role() {
        Some(Role::Member | Role::Admin) => &[KeyKind::Scim],
        _ => &[KeyKind::Scim, KeyKind::Service],
    };
    for kind in kinds {
        may_hold_key(caller, *kind, scope)?;
    }
    Ok(kinds)
}

/// The addresses a user is presented with: its emails, or else its user name when that is an
/// address (the SCIM gateway answers such a user with it as the primary work email).
pub(crate) fn presented_addresses(fields: &UserFields) -> Vec<&str> {
    if fields.emails.is_empty() {
        identity_proto::email::parse(&fields.user_name)
            .map(|_| vec![fields.user_name.as_str()])
            .unwrap_or_default()
    } else {
        fields
            .emails
            .iter()
            .map(|email| email.value.as_str())
            .collect()
    }
}

/// While SCIM is on, SCIM may set or present a user's addresses only in the tenant's verified
/// domains; addresses the user already has stay allowed.
pub(crate) fn may_present_addresses_via_scim(
    before: &UserFields,
    after: &UserFields,
    verified_domains: &[String],
) -> Result<(), Denial> {
    let had = presented_addresses(before);
    for address in presented_addresses(after) {
        if had.iter().any(|old| old.eq_ignore_ascii_case(address)) {
            continue;
        }
        let domain = identity_proto::email::parse(address)
            .map(|parsed| parsed.domain)
            .unwrap_or_default();
        if !verified_domains.contains(&domain) {
            return Err(Denial {
                kind: DenialKind::Precondition,
                reason: reason::EMAIL_DOMAIN_NOT_VERIFIED,
                message: format!(
                    "{address}: {domain:?} is not a verified domain of this team; SCIM may set \
                     emails only to addresses in its verified domains"
                ),
            });
        }
    }
    Ok(())
}

/// Whether an update of `target` by `caller` needs the verified-domain check (then the store
/// reads the domains in the update's transaction).
pub(crate) fn needs_verified_domains(
    caller: &Caller,
    tenant: &TenantFields,
    target: &UserFields,
    changes: &UserChanges,
) -> bool {
    caller.kind == KeyKind::Scim
        && changes_identity(target, changes)
        && scim_email_domains_apply(tenant)
}

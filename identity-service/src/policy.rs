//! Who may do what, beyond a key's scope and access: team roles, the SCIM switch, and what a
//! SCIM-managed user may do while the identity provider is the source of truth.
//!
//! A call comes from a SCIM key (the identity provider), from a service key alone (a service
//! account of the product: trusted within its scope), or from a service key acting for a person
//! (`x-acting-user-id`), who then has their own role.

use crate::auth::Principal;
use crate::error::{ApiError, reason};
use crate::model::{KeyKind, KeyScope, ManagedBy, Role, TenantFields, User, UserChanges};

fn admin_required(message: &str) -> ApiError {
    ApiError::PermissionDenied {
        reason: reason::ADMIN_REQUIRED,
        message: message.to_owned(),
    }
}

/// Turning SCIM on or off, and issuing, rotating or revoking SCIM keys: a team admin or super
/// admin, or a service key over all tenants acting for nobody.
pub fn may_administer_scim(caller: &Principal) -> Result<(), ApiError> {
    let allowed = match (&caller.acting, caller.kind, &caller.scope) {
        (Some(acting), _, _) => acting.role >= Role::Admin,
        (None, KeyKind::Service, KeyScope::AllTenants) => true,
        (None, _, _) => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(admin_required(
            "only a team admin or super admin (or an all-tenant service key) may change SCIM \
             settings or SCIM keys",
        ))
    }
}

/// Setting roles: an acting admin (super admin to grant or take super admin), or a service key
/// alone; never SCIM.
pub fn may_set_role(caller: &Principal, current: Role, new: Role) -> Result<(), ApiError> {
    if caller.kind == KeyKind::Scim {
        return Err(admin_required("SCIM keys cannot change roles"));
    }
    let Some(acting) = &caller.acting else {
        return Ok(());
    };
    let needed = if current == Role::SuperAdmin || new == Role::SuperAdmin {
        Role::SuperAdmin
    } else {
        Role::Admin
    };
    if acting.role >= needed {
        Ok(())
    } else {
        Err(admin_required(match needed {
            Role::SuperAdmin => "only a super admin may grant or take the super admin role",
            _ => "only a team admin or super admin may change roles",
        }))
    }
}

fn acts_on_self(caller: &Principal, target: &User) -> bool {
    caller
        .acting
        .as_ref()
        .is_some_and(|acting| acting.user_id == target.id)
}

/// While the team has SCIM on, removing or deactivating a member is for admins and SCIM.
fn may_remove_member(caller: &Principal) -> Result<(), ApiError> {
    match &caller.acting {
        Some(acting) if acting.role < Role::Admin => Err(admin_required(
            "while SCIM is on, only team admins (or the identity provider) remove or deactivate \
             members",
        )),
        _ => Ok(()),
    }
}

/// An update of `target` (with the team's SCIM switch).
pub fn may_update_user(
    caller: &Principal,
    scim_enabled: bool,
    target: &User,
    changes: &UserChanges,
) -> Result<(), ApiError> {
    if !scim_enabled {
        return Ok(());
    }
    if acts_on_self(caller, target)
        && target.fields.managed_by == ManagedBy::Scim
        && changes
            .emails
            .as_ref()
            .is_some_and(|emails| *emails != target.fields.emails)
    {
        return Err(ApiError::PermissionDenied {
            reason: reason::MANAGED_BY_SCIM,
            message: "your account is managed by your identity provider: change your email \
                      there"
                .into(),
        });
    }
    if changes.active == Some(false) && target.fields.active {
        may_remove_member(caller)?;
    }
    Ok(())
}

/// Removing `target` from the team (with the team's SCIM switch).
pub fn may_delete_user(
    caller: &Principal,
    scim_enabled: bool,
    target: &User,
) -> Result<(), ApiError> {
    if !scim_enabled {
        return Ok(());
    }
    if acts_on_self(caller, target) && target.fields.managed_by == ManagedBy::Scim {
        return Err(ApiError::FailedPrecondition {
            reason: reason::MANAGED_BY_SCIM,
            message: "your membership is managed by your identity provider: you cannot leave \
                      the team while SCIM is on"
                .into(),
            metadata: Vec::new(),
        });
    }
    may_remove_member(caller)
}

/// Whether SCIM email changes are held to verified domains: while SCIM is on, unless the team
/// opted out with `settings.scim_email_domains = "any"`.
pub fn scim_email_domains_apply(tenant: &TenantFields) -> bool {
    let any_domain = serde_json::from_str::<serde_json::Value>(&tenant.settings)
        .ok()
        .is_some_and(|settings| settings.get("scim_email_domains") == Some(&"any".into()));
    tenant.scim_enabled && !any_domain
}

/// While SCIM is on, SCIM may change a user's email only to addresses in the tenant's verified
/// domains (the addresses the user already has stay allowed).
pub fn may_change_emails_via_scim(
    target: &User,
    changes: &UserChanges,
    verified_domains: &[String],
) -> Result<(), ApiError> {
    let Some(emails) = &changes.emails else {
        return Ok(());
    };
    // The addresses the user has — including the userName a user without emails is answered
    // with (and which a client may send back in a PUT).
    let had = |value: &str| {
        target
            .fields
            .emails
            .iter()
            .any(|email| email.value.eq_ignore_ascii_case(value))
            || (target.fields.emails.is_empty()
                && target.fields.user_name.eq_ignore_ascii_case(value))
    };
    for email in emails.iter().filter(|email| !had(&email.value)) {
        let domain = email
            .value
            .rsplit_once('@')
            .map(|(_, domain)| domain.to_ascii_lowercase())
            .unwrap_or_default();
        if !verified_domains.contains(&domain) {
            return Err(ApiError::FailedPrecondition {
                reason: reason::EMAIL_DOMAIN_NOT_VERIFIED,
                message: format!(
                    "{}: {domain:?} is not a verified domain of this team; SCIM may change \
                     emails only to addresses in its verified domains",
                    email.value
                ),
                metadata: Vec::new(),
            });
        }
    }
    Ok(())
}

//! Stable machine-readable error reasons: `google.rpc.ErrorInfo.reason` in the
//! [`ERROR_DOMAIN`] domain. The service answers them; clients (the SCIM gateway among them)
//! decide on them, never on message text.

/// `ErrorInfo.domain` of every error the service answers.
pub const ERROR_DOMAIN: &str = "identity.v1";

pub const MISSING_CREDENTIALS: &str = "MISSING_CREDENTIALS";
pub const INVALID_CREDENTIALS: &str = "INVALID_CREDENTIALS";
pub const KEY_REVOKED: &str = "KEY_REVOKED";
pub const READ_ONLY_KEY: &str = "READ_ONLY_KEY";
pub const KEY_KIND_NOT_ALLOWED: &str = "KEY_KIND_NOT_ALLOWED";
pub const SCOPE_NOT_ALLOWED: &str = "SCOPE_NOT_ALLOWED";
pub const SCIM_DISABLED: &str = "SCIM_DISABLED";
pub const GROUP_NOT_LINKABLE: &str = "GROUP_NOT_LINKABLE";
pub const ACTING_USER_NOT_ALLOWED: &str = "ACTING_USER_NOT_ALLOWED";
pub const ACTING_USER_INACTIVE: &str = "ACTING_USER_INACTIVE";
pub const ADMIN_REQUIRED: &str = "ADMIN_REQUIRED";
pub const SUPER_ADMIN_REQUIRED: &str = "SUPER_ADMIN_REQUIRED";
pub const SELF_CHANGE_NOT_ALLOWED: &str = "SELF_CHANGE_NOT_ALLOWED";
pub const LAST_SUPER_ADMIN: &str = "LAST_SUPER_ADMIN";
pub const SERVICE_KEY_REQUIRED: &str = "SERVICE_KEY_REQUIRED";
pub const MANAGED_BY_SCIM: &str = "MANAGED_BY_SCIM";
pub const EMAIL_DOMAIN_NOT_VERIFIED: &str = "EMAIL_DOMAIN_NOT_VERIFIED";
pub const INVALID_ARGUMENT: &str = "INVALID_ARGUMENT";
pub const INVALID_FILTER: &str = "INVALID_FILTER";
pub const INVALID_PAGE_TOKEN: &str = "INVALID_PAGE_TOKEN";
pub const USER_NAME_TAKEN: &str = "USER_NAME_TAKEN";
pub const GROUP_NAME_TAKEN: &str = "GROUP_NAME_TAKEN";
pub const VERSION_MISMATCH: &str = "VERSION_MISMATCH";
pub const AMBIGUOUS_LOOKUP: &str = "AMBIGUOUS_LOOKUP";
pub const UNKNOWN_MEMBERS: &str = "UNKNOWN_MEMBERS";
pub const TENANT_NOT_FOUND: &str = "TENANT_NOT_FOUND";
pub const USER_NOT_FOUND: &str = "USER_NOT_FOUND";
pub const GROUP_NOT_FOUND: &str = "GROUP_NOT_FOUND";
pub const API_KEY_NOT_FOUND: &str = "API_KEY_NOT_FOUND";
/// UNAUTHENTICATED: a portal link that is unknown, used or expired (one answer for all three).
pub const PORTAL_LINK_UNUSABLE: &str = "PORTAL_LINK_UNUSABLE";
/// UNAUTHENTICATED: a portal session that expired, was signed out of, or whose admin may no
/// longer act (deactivated, or no longer an admin).
pub const PORTAL_SESSION_ENDED: &str = "PORTAL_SESSION_ENDED";
/// PERMISSION_DENIED: only a portal session may make this call (about itself).
pub const PORTAL_SESSION_REQUIRED: &str = "PORTAL_SESSION_REQUIRED";
/// PERMISSION_DENIED: a portal session may not make this call (a session cannot make links).
pub const PORTAL_SESSION_NOT_ALLOWED: &str = "PORTAL_SESSION_NOT_ALLOWED";
/// FAILED_PRECONDITION: the service was started without --portal-url.
pub const PORTAL_NOT_CONFIGURED: &str = "PORTAL_NOT_CONFIGURED";
pub const DATABASE_UNAVAILABLE: &str = "DATABASE_UNAVAILABLE";
/// RESOURCE_EXHAUSTED: the service is at its limit of concurrent calls; retry shortly.
pub const OVERLOADED: &str = "OVERLOADED";
pub const INTERNAL: &str = "INTERNAL";

/// The `current_version` key of a [`VERSION_MISMATCH`]'s `ErrorInfo.metadata`.
pub const CURRENT_VERSION_KEY: &str = "current_version";

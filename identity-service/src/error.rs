//! Errors as clients see them: a gRPC code, a message, and `google.rpc.ErrorInfo` (a stable
//! reason in the `identity.v1` domain) plus `BadRequest` field violations where they apply.

use std::collections::HashMap;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt as _};

use crate::model::Resource;
use crate::policy::{Denial, DenialKind};
use crate::store::{Conflict, StoreError};

pub use identity_proto::reason;
use identity_proto::reason::ERROR_DOMAIN;

/// One field of a request and what is wrong with it (AIP-193 field path, e.g. `user.user_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

impl FieldViolation {
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        FieldViolation {
            field: field.into(),
            description: description.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Unauthenticated {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    PermissionDenied {
        reason: &'static str,
        message: String,
    },
    #[error("{}", describe(.violations))]
    InvalidArgument {
        reason: &'static str,
        violations: Vec<FieldViolation>,
    },
    #[error("{0} not found")]
    NotFound(Resource),
    #[error("{message}")]
    AlreadyExists {
        reason: &'static str,
        message: String,
    },
    #[error("{message}")]
    FailedPrecondition {
        reason: &'static str,
        message: String,
        metadata: Vec<(&'static str, String)>,
    },
    #[error("the database is unavailable; retry later")]
    Unavailable,
    #[error("the service is at its limit of concurrent calls; retry shortly")]
    Overloaded,
    #[error("internal error")]
    Internal,
}

fn describe(violations: &[FieldViolation]) -> String {
    let parts: Vec<String> = violations
        .iter()
        .map(|v| format!("{}: {}", v.field, v.description))
        .collect();
    format!("invalid request: {}", parts.join("; "))
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument {
            reason: reason::INVALID_ARGUMENT,
            violations: vec![FieldViolation::new(field, description)],
        }
    }

    pub(crate) fn invalid_filter(field: impl Into<String>, description: impl Into<String>) -> Self {
        ApiError::InvalidArgument {
            reason: reason::INVALID_FILTER,
            violations: vec![FieldViolation::new(field, description)],
        }
    }

    /// Fails with every violation found, or succeeds when there is none.
    pub fn check(violations: Vec<FieldViolation>) -> Result<(), ApiError> {
        if violations.is_empty() {
            Ok(())
        } else {
            Err(ApiError::InvalidArgument {
                reason: reason::INVALID_ARGUMENT,
                violations,
            })
        }
    }

    fn code(&self) -> Code {
        match self {
            ApiError::Unauthenticated { .. } => Code::Unauthenticated,
            ApiError::PermissionDenied { .. } => Code::PermissionDenied,
            ApiError::InvalidArgument { .. } => Code::InvalidArgument,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::AlreadyExists { .. } => Code::AlreadyExists,
            ApiError::FailedPrecondition { .. } => Code::FailedPrecondition,
            ApiError::Unavailable => Code::Unavailable,
            ApiError::Overloaded => Code::ResourceExhausted,
            ApiError::Internal => Code::Internal,
        }
    }

    fn reason(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated { reason, .. }
            | ApiError::PermissionDenied { reason, .. }
            | ApiError::InvalidArgument { reason, .. }
            | ApiError::AlreadyExists { reason, .. }
            | ApiError::FailedPrecondition { reason, .. } => reason,
            ApiError::NotFound(Resource::Tenant) => reason::TENANT_NOT_FOUND,
            ApiError::NotFound(Resource::User) => reason::USER_NOT_FOUND,
            ApiError::NotFound(Resource::Group) => reason::GROUP_NOT_FOUND,
            ApiError::NotFound(Resource::ApiKey) => reason::API_KEY_NOT_FOUND,
            ApiError::NotFound(Resource::PortalSession) => reason::PORTAL_SESSION_ENDED,
            ApiError::Unavailable => reason::DATABASE_UNAVAILABLE,
            ApiError::Overloaded => reason::OVERLOADED,
            ApiError::Internal => reason::INTERNAL,
        }
    }
}

impl From<ApiError> for Status {
    fn from(error: ApiError) -> Status {
        let mut metadata: HashMap<String, String> = HashMap::new();
        if let ApiError::FailedPrecondition {
            metadata: pairs, ..
        } = &error
        {
            metadata.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
        }
        let mut details = ErrorDetails::with_error_info(error.reason(), ERROR_DOMAIN, metadata);
        if let ApiError::InvalidArgument { violations, .. } = &error {
            for violation in violations {
                details.add_bad_request_violation(&violation.field, &violation.description);
            }
        }
        if matches!(error, ApiError::Unavailable | ApiError::Overloaded) {
            details.set_retry_info(Some(std::time::Duration::from_secs(1)));
        }
        Status::with_error_details(error.code(), error.to_string(), details)
    }
}

/// Lets handlers apply `?` to store calls directly.
impl From<StoreError> for Status {
    fn from(error: StoreError) -> Status {
        ApiError::from(error).into()
    }
}

impl From<Denial> for ApiError {
    fn from(denial: Denial) -> ApiError {
        match denial.kind {
            DenialKind::Forbidden => ApiError::PermissionDenied {
                reason: denial.reason,
                message: denial.message,
            },
            DenialKind::Precondition => ApiError::FailedPrecondition {
                reason: denial.reason,
                message: denial.message,
                metadata: Vec::new(),
            },
        }
    }
}

/// Lets handlers apply `?` to policy decisions directly.
impl From<Denial> for Status {
    fn from(denial: Denial) -> Status {
        ApiError::from(denial).into()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Denied(denial) => denial.into(),
            StoreError::KeyRevoked => ApiError::FailedPrecondition {
                reason: reason::KEY_REVOKED,
                message: "this API key is revoked: issue a new one instead of rotating it".into(),
                metadata: Vec::new(),
            },
            StoreError::NotFound(resource) => ApiError::NotFound(resource),
            StoreError::AlreadyExists(Conflict::UserName) => ApiError::AlreadyExists {
                reason: reason::USER_NAME_TAKEN,
                message: "a user with this user_name (compared case-insensitively) already exists in the tenant".into(),
            },
            StoreError::UserNamesTaken(positions) => ApiError::AlreadyExists {
                reason: reason::USER_NAME_TAKEN,
                message: format!(
                    "users with these user_names (compared case-insensitively) already exist in the tenant: {}; nothing was imported",
                    positions.iter().map(|at| format!("users[{at}]")).collect::<Vec<_>>().join(", ")
                ),
            },
            StoreError::AlreadyExists(Conflict::GroupDisplayName) => ApiError::AlreadyExists {
                reason: reason::GROUP_NAME_TAKEN,
                message: "a group with this display_name (compared case-insensitively) already exists in the tenant".into(),
            },
            StoreError::VersionMismatch { expected, current } => ApiError::FailedPrecondition {
                reason: reason::VERSION_MISMATCH,
                message: format!("expected version {expected}, but the resource is at version {current}"),
                metadata: vec![(reason::CURRENT_VERSION_KEY, current.to_string())],
            },
            StoreError::UnknownMembers(ids) => ApiError::InvalidArgument {
                reason: reason::UNKNOWN_MEMBERS,
                violations: ids
                    .into_iter()
                    .map(|id| FieldViolation::new("user_ids", format!("no user {id} in this tenant")))
                    .collect(),
            },
            StoreError::NotLinkable => ApiError::FailedPrecondition {
                reason: reason::GROUP_NOT_LINKABLE,
                message: "this group was created in the product and has members: SCIM cannot link or change it (only groups without members can be linked)".into(),
                metadata: Vec::new(),
            },
            StoreError::InvalidFilter(why) => ApiError::invalid_filter("filter", why),
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::Unavailable
            }
            transient if transient.is_transient() => {
                tracing::warn!(error = %transient, "database error; the client may retry");
                ApiError::Unavailable
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::Internal
            }
        }
    }
}

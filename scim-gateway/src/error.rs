//! SCIM error responses (RFC 7644 §3.12): `status` as a string, a `scimType` where one applies,
//! and a non-empty `detail`. Failures of the identity service are mapped from their gRPC code
//! and `ErrorInfo` reason, never from message text.

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::schema;

/// `scimType` values (RFC 7644 Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    Mutability,
    Uniqueness,
    TooMany,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::Mutability => "mutability",
            ScimType::Uniqueness => "uniqueness",
            ScimType::TooMany => "tooMany",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {detail}")]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    pub detail: String,
    /// Whole seconds, for 429 and 503.
    pub retry_after: Option<u32>,
}

pub type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    pub fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    pub fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "this method is not supported on this endpoint",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        ScimError {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
        }
    }

    /// Maps a failed identity-service call by its code and `ErrorInfo` reason.
    pub fn from_status(status: &tonic::Status) -> Self {
        let reason = status
            .get_details_error_info()
            .map(|info| info.reason)
            .unwrap_or_default();
        let detail = if status.message().is_empty() {
            format!("identity service: {:?}", status.code())
        } else {
            status.message().to_owned()
        };
        match status.code() {
            Code::Unauthenticated => Self::new(StatusCode::UNAUTHORIZED, None, detail),
            Code::PermissionDenied => Self::new(StatusCode::FORBIDDEN, None, detail),
            Code::NotFound => Self::new(StatusCode::NOT_FOUND, None, detail),
            Code::AlreadyExists => {
                Self::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
            }
            Code::InvalidArgument => match reason.as_str() {
                "INVALID_FILTER" => Self::invalid_filter(detail),
                _ => Self::invalid_value(detail),
            },
            Code::FailedPrecondition => match reason.as_str() {
                "VERSION_MISMATCH" => Self::new(StatusCode::PRECONDITION_FAILED, None, detail),
                "AMBIGUOUS_LOOKUP" => {
                    Self::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
                }
                _ => Self::mutability(detail),
            },
            Code::ResourceExhausted => ScimError {
                retry_after: Some(1),
                ..Self::new(StatusCode::TOO_MANY_REQUESTS, None, detail)
            },
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                Self::unavailable(format!("the identity service is unavailable: {detail}"))
            }
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, None, detail),
        }
    }

    /// The reason in the service's `ErrorInfo`, when the error came from it.
    pub fn is_version_mismatch(status: &tonic::Status) -> bool {
        status.code() == Code::FailedPrecondition
            && status
                .get_details_error_info()
                .is_some_and(|info| info.reason == "VERSION_MISMATCH")
    }
}

impl From<tonic::Status> for ScimError {
    fn from(status: tonic::Status) -> Self {
        ScimError::from_status(&status)
    }
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "schemas": [schema::ERROR],
            "status": self.status.as_str(),
            "detail": if self.detail.is_empty() { "error".to_owned() } else { self.detail },
        });
        if let (Some(scim_type), Some(object)) = (self.scim_type, body.as_object_mut()) {
            object.insert("scimType".into(), scim_type.as_str().into());
        }
        let mut response = crate::response::scim_json(self.status, &body);
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"scim\""),
            );
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Statuses the service answers map by code and ErrorInfo reason, not by message text.
    #[test]
    fn service_errors_map_to_scim_errors() {
        let with_reason = |code: Code, reason: &str| {
            let details = tonic_types::ErrorDetails::with_error_info(
                reason,
                "identity.v1",
                std::collections::HashMap::new(),
            );
            tonic::Status::with_error_details(code, "message text is not parsed", details)
        };
        let cases = [
            (
                with_reason(Code::InvalidArgument, "INVALID_FILTER"),
                400,
                Some(ScimType::InvalidFilter),
            ),
            (
                with_reason(Code::InvalidArgument, "UNKNOWN_MEMBERS"),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                with_reason(Code::AlreadyExists, "USER_NAME_TAKEN"),
                409,
                Some(ScimType::Uniqueness),
            ),
            (
                with_reason(Code::FailedPrecondition, "VERSION_MISMATCH"),
                412,
                None,
            ),
            (with_reason(Code::Unauthenticated, "KEY_REVOKED"), 401, None),
            (
                with_reason(Code::PermissionDenied, "READ_ONLY_KEY"),
                403,
                None,
            ),
            (tonic::Status::not_found("no"), 404, None),
            (tonic::Status::resource_exhausted("slow down"), 429, None),
            (tonic::Status::unavailable("connection refused"), 503, None),
            (tonic::Status::deadline_exceeded("too slow"), 503, None),
        ];
        for (status, http, scim_type) in cases {
            let error = ScimError::from_status(&status);
            assert_eq!(
                (error.status.as_u16(), error.scim_type),
                (http, scim_type),
                "{status:?}"
            );
            let response = error.into_response();
            if http == 401 {
                assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
            }
            if http == 429 || http == 503 {
                // Whole seconds: Okta ignores the HTTP-date form.
                assert_eq!(response.headers()[header::RETRY_AFTER], "1");
            }
        }
    }
}

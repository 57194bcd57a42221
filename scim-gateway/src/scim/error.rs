//! SCIM error responses (RFC 7644 §3.12): `status` as a string, a `scimType` where one applies,
//! and a non-empty `detail`. (Failures of the identity service are mapped in `client`.)

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::json;

use super::schema;

/// `scimType` values (RFC 7644 Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScimType {
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
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct ScimError {
    pub(crate) status: StatusCode,
    pub(crate) scim_type: Option<ScimType>,
    pub(crate) detail: String,
    /// Whole seconds, for 429 and 503.
    pub(crate) retry_after: Option<u32>,
}

pub(crate) type ScimResult<T> = Result<T, ScimError>;

impl ScimError {
    pub(crate) fn new(
        status: StatusCode,
        scim_type: Option<ScimType>,
        detail: impl Into<String>,
    ) -> Self {
        ScimError {
            status,
            scim_type,
            detail: detail.into(),
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(scim_type: ScimType, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    pub(crate) fn invalid_filter(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidFilter, detail)
    }

    pub(crate) fn invalid_syntax(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidSyntax, detail)
    }

    pub(crate) fn invalid_value(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidValue, detail)
    }

    pub(crate) fn too_many(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::TooMany, detail)
    }

    pub(crate) fn invalid_path(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::InvalidPath, detail)
    }

    pub(crate) fn no_target(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::NoTarget, detail)
    }

    pub(crate) fn mutability(detail: impl Into<String>) -> Self {
        Self::bad_request(ScimType::Mutability, detail)
    }

    pub(crate) fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, None, detail)
    }

    pub(crate) fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            None,
            "this method is not supported on this endpoint",
        )
    }

    pub(crate) fn unavailable(detail: impl Into<String>) -> Self {
        ScimError {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, None, detail)
        }
    }
}

/// What an error response said, kept on it (as an extension) for the provisioning log.
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    pub(crate) scim_type: Option<ScimType>,
    pub(crate) detail: String,
}

impl IntoResponse for ScimError {
    fn into_response(self) -> Response {
        let detail = if self.detail.is_empty() {
            "error".to_owned()
        } else {
            self.detail
        };
        let answered = Answered {
            scim_type: self.scim_type,
            detail: detail.clone(),
        };
        let mut body = json!({
            "schemas": [schema::ERROR],
            "status": self.status.as_str(),
            "detail": detail,
        });
        if let (Some(scim_type), Some(object)) = (self.scim_type, body.as_object_mut()) {
            object.insert("scimType".into(), scim_type.as_str().into());
        }
        let mut response = super::render::scim_json(self.status, &body);
        response.extensions_mut().insert(answered);
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

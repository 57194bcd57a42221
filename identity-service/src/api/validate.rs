//! Input rules shared by the RPCs. Each check names the offending field (AIP-193 path).

use crate::error::{ApiError, FieldViolation};
use crate::model::UserId;

pub(crate) const MAX_NAME_CHARS: usize = 256;
pub(crate) const MAX_TEXT_CHARS: usize = 1024;
pub(crate) const MAX_EMAILS: usize = 32;
pub(crate) const MAX_DOCUMENT_BYTES: usize = 64 * 1024;
/// Users named in one ModifyGroup or CreateGroup call.
pub(crate) const MAX_MEMBER_IDS: usize = 10_000;

/// Parses a resource id (a UUID) into its canonical lower-case form, as the id type `T` (a
/// `TenantId`, `UserId` or `GroupId`; `String` for API keys).
pub fn id<T: From<String>>(field: &str, value: &str) -> Result<T, ApiError> {
    if value.is_empty() {
        return Err(ApiError::invalid(field, "required"));
    }
    uuid::Uuid::try_parse(value)
        .map(|uuid| T::from(uuid.hyphenated().to_string()))
        .map_err(|_| ApiError::invalid(field, "not a valid id (a UUID)"))
}

/// Collects violations so that one answer lists every problem of a request.
#[derive(Debug, Default)]
pub(crate) struct Violations(Vec<FieldViolation>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// A required name: not blank, no control characters, at most `MAX_NAME_CHARS`.
    pub fn name(&mut self, field: &str, value: &str) {
        if value.trim().is_empty() {
            self.add(field, "required and must not be blank");
        } else {
            self.text(field, value, MAX_NAME_CHARS);
        }
    }

    /// Free text: no control characters, at most `max_chars`.
    pub fn text(&mut self, field: &str, value: &str, max_chars: usize) {
        if value.chars().count() > max_chars {
            self.add(field, format!("longer than {max_chars} characters"));
        }
        if value.chars().any(char::is_control) {
            self.add(field, "contains control characters");
        }
    }

    pub(crate) fn optional_text(&mut self, field: &str, value: Option<&str>, max_chars: usize) {
        if let Some(value) = value {
            self.text(field, value, max_chars);
        }
    }

    /// A JSON object document (absent means `{}`); returns its canonical text.
    pub(crate) fn json_object(
        &mut self,
        field: &str,
        value: Option<&prost_types::Struct>,
    ) -> String {
        let Some(value) = value else {
            return "{}".to_owned();
        };
        let text = serde_json::Value::Object(identity_proto::json::from_struct(value)).to_string();
        if text.len() > MAX_DOCUMENT_BYTES {
            self.add(field, format!("larger than {MAX_DOCUMENT_BYTES} bytes"));
            return String::new();
        }
        text
    }

    /// A user's attributes document: a JSON object without keys that shadow the user's own
    /// fields; returns its canonical text.
    pub fn attributes(&mut self, field: &str, value: Option<&prost_types::Struct>) -> String {
        for key in value.iter().flat_map(|value| value.fields.keys()) {
            if identity_proto::is_reserved_attribute(key) {
                self.add(
                    field,
                    format!("{key:?} is a field of the user itself, not an extra attribute"),
                );
            }
        }
        self.json_object(field, value)
    }

    /// One email address (see [`identity_proto::email::parse`]).
    pub fn email(&mut self, field: &str, value: &str) {
        if identity_proto::email::parse(value).is_none() {
            self.add(
                field,
                "not a single email address (one @, a host name, no spaces, separators or \
                 quotes)",
            );
        }
    }

    /// Parses each user id; invalid ones are reported and left out.
    pub fn user_ids(&mut self, field: &str, values: &[String]) -> Vec<UserId> {
        values
            .iter()
            .enumerate()
            .filter_map(
                |(index, value)| match id(&format!("{field}[{index}]"), value) {
                    Ok(id) => Some(id),
                    Err(ApiError::InvalidArgument { violations, .. }) => {
                        self.0.extend(violations);
                        None
                    }
                    Err(_) => None,
                },
            )
            .collect()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        ApiError::check(self.0)
    }
}

/// A domain name, lower-cased: dot-separated labels of letters, digits and hyphens.
pub fn domain(field: &str, value: &str) -> Result<String, ApiError> {
    let domain = value.trim().trim_end_matches('.').to_ascii_lowercase();
    let valid = domain.len() <= 253
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    if valid {
        Ok(domain)
    } else {
        Err(ApiError::invalid(
            field,
            format!("{value:?} is not a domain name"),
        ))
    }
}

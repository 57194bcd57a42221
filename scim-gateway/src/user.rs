//! SCIM User ⇄ `identity.v1.User`. The attributes with a column travel in their fields; every
//! other attribute of the schema travels verbatim in the user's attributes document.

use identity_proto::v1 as pb;
use serde_json::{Value, json};

use crate::error::{ScimError, ScimResult};
use crate::resource::Object;
use crate::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};

/// Attributes kept in the service's own fields (the rest go to the attributes document).
const COLUMN_ATTRIBUTES: &[&str] = &[
    "id",
    "externalId",
    "meta",
    "schemas",
    "userName",
    "displayName",
    "active",
    "emails",
];

fn text(document: &Object, key: &str) -> Option<String> {
    document.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// A canonical User document → the service's user. `active` is `None` when the document does not
/// say (a PUT without `active` leaves it alone).
pub fn to_pb(document: &Object) -> ScimResult<(pb::User, Option<bool>)> {
    let user_name = text(document, "userName")
        .filter(|name| !name.trim().is_empty())
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
    let name = document.get("name").and_then(Value::as_object);
    let name_part = |key: &str| name.and_then(|name| text(name, key));
    let mut emails = Vec::new();
    if let Some(Value::Array(elements)) = document.get("emails") {
        for (index, element) in elements.iter().enumerate() {
            let Some(element) = element.as_object() else {
                continue;
            };
            let value = text(element, "value")
                .filter(|value| !value.is_empty())
                .ok_or_else(|| {
                    ScimError::invalid_value(format!("emails[{index}].value is required"))
                })?;
            emails.push(pb::Email {
                value,
                r#type: text(element, "type").unwrap_or_default(),
                primary: element
                    .get("primary")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                display: text(element, "display").unwrap_or_default(),
            });
        }
    }
    let mut extra = Object::new();
    for (key, value) in document {
        if COLUMN_ATTRIBUTES.contains(&key.as_str()) {
            continue;
        }
        if key == "name" {
            let mut rest = value.as_object().cloned().unwrap_or_default();
            rest.remove("givenName");
            rest.remove("familyName");
            if !rest.is_empty() {
                extra.insert(key.clone(), Value::Object(rest));
            }
            continue;
        }
        extra.insert(key.clone(), value.clone());
    }
    let active = document.get("active").and_then(Value::as_bool);
    let user = pb::User {
        user_name,
        external_id: text(document, "externalId"),
        display_name: text(document, "displayName"),
        given_name: name_part("givenName"),
        family_name: name_part("familyName"),
        emails,
        active: active.unwrap_or(true),
        attributes: if extra.is_empty() {
            String::new()
        } else {
            Value::Object(extra).to_string()
        },
        managed_by: pb::ManagedBy::Scim as i32,
        ..pb::User::default()
    };
    Ok((user, active))
}

pub fn format_time(time: Option<&prost_types::Timestamp>) -> Value {
    time.map(|time| Value::String(time.to_string()))
        .unwrap_or(Value::Null)
}

pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The service's user → a canonical User document. With `answer_email`, a user without emails
/// whose userName is an address (by the contract's rule, which the service's verified-domain
/// check uses too) answers it as its primary work email (Okta reads
/// `emails[0].value`); PATCH works on the stored form instead.
pub fn to_document(user: &pb::User, base_url: &str, answer_email: bool) -> Object {
    let stored: Object = serde_json::from_str(&user.attributes).unwrap_or_default();
    let has_enterprise = stored.contains_key(ENTERPRISE_USER_SCHEMA);
    let mut document = Object::new();
    let schemas = if has_enterprise {
        json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
    } else {
        json!([USER_SCHEMA])
    };
    document.insert("schemas".into(), schemas);
    document.insert("id".into(), user.id.clone().into());
    if let Some(external_id) = &user.external_id {
        document.insert("externalId".into(), external_id.clone().into());
    }
    document.insert("userName".into(), user.user_name.clone().into());
    let mut name = stored
        .get("name")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Some(given) = &user.given_name {
        name.insert("givenName".into(), given.clone().into());
    }
    if let Some(family) = &user.family_name {
        name.insert("familyName".into(), family.clone().into());
    }
    if !name.is_empty() {
        document.insert("name".into(), Value::Object(name));
    }
    if let Some(display_name) = &user.display_name {
        document.insert("displayName".into(), display_name.clone().into());
    }
    let mut enterprise = None;
    for (key, value) in stored {
        match key.as_str() {
            "name" => {}
            ENTERPRISE_USER_SCHEMA => enterprise = Some(value),
            // Written by another gRPC client, perhaps: never shadows the user's own fields.
            _ if identity_proto::is_reserved_attribute(&key) => {}
            _ => {
                document.insert(key, value);
            }
        }
    }
    document.insert("active".into(), user.active.into());
    let emails: Vec<Value> = user
        .emails
        .iter()
        .map(|email| {
            let mut element = Object::new();
            element.insert("value".into(), email.value.clone().into());
            if !email.r#type.is_empty() {
                element.insert("type".into(), email.r#type.clone().into());
            }
            element.insert("primary".into(), email.primary.into());
            if !email.display.is_empty() {
                element.insert("display".into(), email.display.clone().into());
            }
            Value::Object(element)
        })
        .collect();
    if !emails.is_empty() {
        document.insert("emails".into(), Value::Array(emails));
    } else if answer_email && identity_proto::email::parse(&user.user_name).is_some() {
        document.insert(
            "emails".into(),
            json!([{"value": user.user_name, "type": "work", "primary": true}]),
        );
    }
    if let Some(enterprise) = enterprise {
        document.insert(ENTERPRISE_USER_SCHEMA.into(), enterprise);
    }
    document.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": format_time(user.create_time.as_ref()),
            "lastModified": format_time(user.update_time.as_ref()),
            "location": format!("{base_url}/Users/{}", user.id),
            "version": etag(user.version),
        }),
    );
    document
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys in a stored attributes document (written before the service refused them, or by
    /// another client) never shadow the user's own fields.
    #[test]
    fn stored_attributes_never_shadow_core_fields() {
        let user = pb::User {
            id: "01a23488-32de-7611-8c88-e66981d601b7".into(),
            user_name: "ada@example.com".into(),
            active: true,
            attributes:
                r#"{"id":"x","userName":"root","ACTIVE":false,"meta":{},"title":"Countess"}"#.into(),
            ..pb::User::default()
        };
        let document = to_document(&user, "https://scim.example", true);
        assert_eq!(document["id"], "01a23488-32de-7611-8c88-e66981d601b7");
        assert_eq!(document["userName"], "ada@example.com");
        assert_eq!(document["active"], true);
        assert_eq!(document["title"], "Countess");
        assert!(!document.contains_key("ACTIVE"));
        assert_eq!(document["meta"]["resourceType"], "User");
    }
}

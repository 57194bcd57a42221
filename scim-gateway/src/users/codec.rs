//! SCIM User ⇄ `identity.v1.User`. The attributes with a field travel in their fields; every
//! other attribute of the schema travels verbatim in the user's attributes document. Also the
//! users' filterable attributes, and the one rule for the email a user without emails shows.

use identity_proto::fields::user as fields;
use identity_proto::v1 as pb;
use pb::filter::Expression;
use serde_json::{Value, json};

use crate::filter::translate::{self, Field, FieldKind, Fields, expression, leaf};
use crate::scim::document::Object;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::render::Meta;
use crate::scim::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA, USER_TYPE};

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
pub(crate) fn to_pb(document: &Object) -> ScimResult<(pb::User, Option<bool>)> {
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
        attributes: (!extra.is_empty()).then(|| identity_proto::json::to_struct(extra)),
        managed_by: pb::ManagedBy::Scim as i32,
        ..pb::User::default()
    };
    Ok((user, active))
}

/// Whether a user shows its userName as its primary work email: when it has no emails and the
/// userName is an address by the contract's rule (which the service's verified-domain check
/// uses too). Okta reads `emails[0].value`. [`widen_email_comparison`] makes filters agree.
fn answers_user_name_as_email(user: &pb::User) -> bool {
    user.emails.is_empty() && identity_proto::email::parse(&user.user_name).is_some()
}

/// The service's user → a canonical User document. With `answer_email`, a user that
/// [answers its userName as its email](answers_user_name_as_email) shows it; PATCH works on the
/// stored form instead.
pub(crate) fn to_document(user: &pb::User, base_url: &str, answer_email: bool) -> Object {
    let stored: Object = user
        .attributes
        .as_ref()
        .map(identity_proto::json::from_struct)
        .unwrap_or_default();
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
    } else if answer_email && answers_user_name_as_email(user) {
        document.insert(
            "emails".into(),
            json!([{"value": user.user_name, "type": "work", "primary": true}]),
        );
    }
    if let Some(enterprise) = enterprise {
        document.insert(ENTERPRISE_USER_SCHEMA.into(), enterprise);
    }
    let meta = Meta {
        resource_type: &USER_TYPE,
        id: &user.id,
        created: user.create_time.as_ref(),
        last_modified: user.update_time.as_ref(),
        version: user.version,
    };
    document.insert("meta".into(), meta.render(base_url));
    document
}

/// The attributes a users filter may compare, and the contract's fields they map to.
pub(crate) const FILTER_FIELDS: Fields = Fields {
    resource_type: &USER_TYPE,
    fields: &[
        Field::new("id", fields::ID, FieldKind::Text),
        Field::new("userName", fields::USER_NAME, FieldKind::Text),
        Field::new("externalId", fields::EXTERNAL_ID, FieldKind::Text),
        Field::new("displayName", fields::DISPLAY_NAME, FieldKind::Text),
        Field::new("name.givenName", fields::GIVEN_NAME, FieldKind::Text),
        Field::new("name.familyName", fields::FAMILY_NAME, FieldKind::Text),
        Field::new("emails", fields::EMAIL, FieldKind::Text),
        Field::new("emails.value", fields::EMAIL, FieldKind::Text),
        Field::new("active", fields::ACTIVE, FieldKind::Bool),
        Field::new("meta.created", fields::CREATE_TIME, FieldKind::Time),
        Field::new("meta.lastModified", fields::UPDATE_TIME, FieldKind::Time),
    ],
    element: ("emails", fields::EMAIL, true),
    widen: widen_email_comparison,
};

/// An email comparison also matches the users that [answer their userName as their
/// email](answers_user_name_as_email), so that what a filter finds agrees with what a GET
/// shows: no emails, a userName that looks like an address, and the userName compared.
fn widen_email_comparison(comparison: pb::Comparison) -> pb::Filter {
    let answers_user_name = comparison.field == fields::EMAIL
        && (comparison.element_type.is_empty()
            || comparison.element_type.eq_ignore_ascii_case("work"));
    if !answers_user_name {
        return leaf(comparison);
    }
    let op = pb::Operator::try_from(comparison.op).unwrap_or(pb::Operator::Unspecified);
    // `ne` is the negation of `eq` over the same union.
    if op == pb::Operator::Ne {
        let equal = pb::Comparison {
            op: pb::Operator::Eq as i32,
            ..comparison
        };
        return expression(Expression::Negation(Box::new(widen_email_comparison(
            equal,
        ))));
    }
    let compare = |field: &str, op: pb::Operator, value: Option<pb::FilterValue>| {
        leaf(pb::Comparison {
            field: field.to_owned(),
            op: op as i32,
            value,
            element_type: String::new(),
        })
    };
    let mut answered = vec![
        expression(Expression::Negation(Box::new(compare(
            fields::EMAIL,
            pb::Operator::Pr,
            None,
        )))),
        // The service cannot run the address rule; `co "@"` narrows, and the rule is applied
        // where it is shown.
        compare(
            fields::USER_NAME,
            pb::Operator::Co,
            Some(pb::FilterValue {
                kind: Some(pb::filter_value::Kind::StringValue("@".to_owned())),
            }),
        ),
    ];
    if op != pb::Operator::Pr {
        answered.push(compare(fields::USER_NAME, op, comparison.value.clone()));
    }
    expression(Expression::AnyOf(pb::FilterList {
        filters: vec![
            leaf(comparison),
            expression(Expression::AllOf(pb::FilterList { filters: answered })),
        ],
    }))
}

/// A users filter as the service takes it.
pub(crate) fn to_service_filter(filter: &crate::filter::Filter) -> ScimResult<pb::Filter> {
    translate::to_service_filter(filter, &FILTER_FIELDS)
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
            attributes: serde_json::from_str::<Object>(
                r#"{"id":"x","userName":"root","ACTIVE":false,"meta":{},"title":"Countess"}"#,
            )
            .ok()
            .map(identity_proto::json::to_struct),
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

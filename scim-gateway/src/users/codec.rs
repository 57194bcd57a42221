//! SCIM User ⇄ `identity.v1.User`. The attributes with a field travel in their fields; every
//! other attribute of the schema travels verbatim in the user's attributes document. Also the
//! users' filterable attributes, and the one rule for the email a user without emails shows.

use identity_proto::fields::user as fields;
use identity_proto::v1 as pb;
use pb::filter::Expression;
use serde::ser::{Serialize, SerializeMap as _, Serializer};
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

/// The service's user → its canonical User document, as a `serde_json` object to work on
/// (projection, PATCH). See [`UserDocument`].
pub(crate) fn to_document(user: &pb::User, base_url: &str, answer_email: bool) -> Object {
    match serde_json::to_value(UserDocument::new(user, base_url, answer_email)) {
        Ok(Value::Object(document)) => document,
        // Unreachable: a user document is an object with string keys.
        _ => Object::new(),
    }
}

/// The service's user as its canonical User document, serialized straight from the message
/// (an answer's bytes are written from it without building a `serde_json::Value` first). With
/// `answer_email`, a user that [answers its userName as its email](answers_user_name_as_email)
/// shows it; PATCH works on the stored form instead.
pub(crate) struct UserDocument<'a> {
    user: &'a pb::User,
    base_url: &'a str,
    answer_email: bool,
    /// The attributes without a field of their own.
    stored: Object,
}

impl<'a> UserDocument<'a> {
    pub(crate) fn new(user: &'a pb::User, base_url: &'a str, answer_email: bool) -> Self {
        UserDocument {
            user,
            base_url,
            answer_email,
            stored: user
                .attributes
                .as_ref()
                .map(identity_proto::json::from_struct)
                .unwrap_or_default(),
        }
    }
}

impl Serialize for UserDocument<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let enterprise = self.stored.get(ENTERPRISE_USER_SCHEMA);
        let mut document = serializer.serialize_map(None)?;
        if enterprise.is_some() {
            document.serialize_entry("schemas", &[USER_SCHEMA, ENTERPRISE_USER_SCHEMA])?;
        } else {
            document.serialize_entry("schemas", &[USER_SCHEMA])?;
        }
        document.serialize_entry("id", &user.id)?;
        if let Some(external_id) = &user.external_id {
            document.serialize_entry("externalId", external_id)?;
        }
        document.serialize_entry("userName", &user.user_name)?;
        let name = Name {
            stored: self.stored.get("name").and_then(Value::as_object),
            given: user.given_name.as_deref(),
            family: user.family_name.as_deref(),
        };
        if !name.is_empty() {
            document.serialize_entry("name", &name)?;
        }
        if let Some(display_name) = &user.display_name {
            document.serialize_entry("displayName", display_name)?;
        }
        for (key, value) in &self.stored {
            // A reserved key (written by another gRPC client, perhaps) never shadows the user's
            // own fields; `name` and the enterprise extension have their places.
            if key != "name"
                && key != ENTERPRISE_USER_SCHEMA
                && !identity_proto::is_reserved_attribute(key)
            {
                document.serialize_entry(key, value)?;
            }
        }
        document.serialize_entry("active", &user.active)?;
        if !user.emails.is_empty() {
            let emails: Vec<EmailElement<'_>> = user.emails.iter().map(EmailElement).collect();
            document.serialize_entry("emails", &emails)?;
        } else if self.answer_email && answers_user_name_as_email(user) {
            document.serialize_entry(
                "emails",
                &[json!({"value": user.user_name, "type": "work", "primary": true})],
            )?;
        }
        if let Some(enterprise) = enterprise {
            document.serialize_entry(ENTERPRISE_USER_SCHEMA, enterprise)?;
        }
        let meta = Meta {
            resource_type: &USER_TYPE,
            id: &user.id,
            created: user.create_time.as_ref(),
            last_modified: user.update_time.as_ref(),
            version: user.version,
            base_url: self.base_url,
        };
        document.serialize_entry("meta", &meta)?;
        document.end()
    }
}

/// `name`: the stored sub-attributes (middleName, …) with the fields' givenName and
/// familyName in their places, or after them.
struct Name<'a> {
    stored: Option<&'a Object>,
    given: Option<&'a str>,
    family: Option<&'a str>,
}

impl Name<'_> {
    fn is_empty(&self) -> bool {
        self.given.is_none() && self.family.is_none() && self.stored.is_none_or(Object::is_empty)
    }
}

impl Serialize for Name<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let stored = self.stored.into_iter().flatten();
        let has = |key: &str| self.stored.is_some_and(|stored| stored.contains_key(key));
        let mut name = serializer.serialize_map(None)?;
        for (key, value) in stored {
            match (key.as_str(), self.given, self.family) {
                ("givenName", Some(given), _) => name.serialize_entry(key, given)?,
                ("familyName", _, Some(family)) => name.serialize_entry(key, family)?,
                _ => name.serialize_entry(key, value)?,
            }
        }
        if let Some(given) = self.given.filter(|_| !has("givenName")) {
            name.serialize_entry("givenName", given)?;
        }
        if let Some(family) = self.family.filter(|_| !has("familyName")) {
            name.serialize_entry("familyName", family)?;
        }
        name.end()
    }
}

/// One of `emails`; `type` and `display` only when set.
struct EmailElement<'a>(&'a pb::Email);

impl Serialize for EmailElement<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let email = self.0;
        let mut element = serializer.serialize_map(None)?;
        element.serialize_entry("value", &email.value)?;
        if !email.r#type.is_empty() {
            element.serialize_entry("type", &email.r#type)?;
        }
        element.serialize_entry("primary", &email.primary)?;
        if !email.display.is_empty() {
            element.serialize_entry("display", &email.display)?;
        }
        element.end()
    }
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
    #![allow(clippy::unwrap_used)]

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

    /// The whole document, in its order: what Okta and Entra read back.
    #[test]
    fn a_user_renders_in_the_canonical_order() {
        let user = pb::User {
            id: "01a23488-32de-7611-8c88-e66981d601b7".into(),
            user_name: "ada@example.com".into(),
            external_id: Some("00u1".into()),
            display_name: Some("Ada Lovelace".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            active: true,
            emails: vec![
                pb::Email {
                    value: "ada@example.com".into(),
                    r#type: "work".into(),
                    primary: true,
                    display: String::new(),
                },
                pb::Email {
                    value: "ada@home.example".into(),
                    r#type: String::new(),
                    primary: false,
                    display: "home".into(),
                },
            ],
            attributes: serde_json::from_str::<Object>(&format!(
                r#"{{"name":{{"middleName":"King"}},"title":"Countess","{ENTERPRISE_USER_SCHEMA}":{{"department":"Analytics"}}}}"#
            ))
            .ok()
            .map(identity_proto::json::to_struct),
            version: 3,
            create_time: Some(prost_types::Timestamp {
                seconds: 1_764_640_470,
                nanos: 878_600_000,
            }),
            update_time: None,
            ..pb::User::default()
        };
        let expected = format!(
            concat!(
                r#"{{"schemas":["{core}","{enterprise}"],"id":"01a23488-32de-7611-8c88-e66981d601b7","#,
                r#""externalId":"00u1","userName":"ada@example.com","#,
                r#""name":{{"middleName":"King","givenName":"Ada","familyName":"Lovelace"}},"#,
                r#""displayName":"Ada Lovelace","title":"Countess","active":true,"#,
                r#""emails":[{{"value":"ada@example.com","type":"work","primary":true}},"#,
                r#"{{"value":"ada@home.example","primary":false,"display":"home"}}],"#,
                r#""{enterprise}":{{"department":"Analytics"}},"#,
                r#""meta":{{"resourceType":"User","created":"2025-12-02T01:54:30.878600Z","lastModified":null,"#,
                r#""location":"https://scim.example/Users/01a23488-32de-7611-8c88-e66981d601b7","version":"W/\"3\""}}}}"#
            ),
            core = USER_SCHEMA,
            enterprise = ENTERPRISE_USER_SCHEMA,
        );
        let written = crate::scim::render::json_bytes(&UserDocument::new(
            &user,
            "https://scim.example",
            true,
        ));
        assert_eq!(String::from_utf8(written).unwrap(), expected);
        // The object worked on (projection, PATCH) is the same document.
        let document = to_document(&user, "https://scim.example", true);
        assert_eq!(serde_json::to_string(&document).unwrap(), expected);
    }
}

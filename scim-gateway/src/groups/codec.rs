//! SCIM Group ⇄ `identity.v1.Group`: documents, the values of a Group body, and the groups'
//! filterable attributes.

use identity_proto::fields::group as fields;
use identity_proto::v1 as pb;
use serde_json::{Value, json};

use crate::filter::translate::{self, Field, FieldKind, Fields, leaf};
use crate::scim::document::{self, Object};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::render::Meta;
use crate::scim::schema::{GROUP_SCHEMA, GROUP_TYPE};

pub(crate) fn to_document(
    base_url: &str,
    group: &pb::Group,
    members: Option<Vec<Value>>,
) -> Object {
    let mut document = Object::new();
    document.insert("schemas".into(), json!([GROUP_SCHEMA]));
    document.insert("id".into(), group.id.clone().into());
    if let Some(external_id) = &group.external_id {
        document.insert("externalId".into(), external_id.clone().into());
    }
    document.insert("displayName".into(), group.display_name.clone().into());
    if let Some(members) = members {
        document.insert("members".into(), Value::Array(members));
    }
    let meta = Meta {
        resource_type: &GROUP_TYPE,
        id: &group.id,
        created: group.create_time.as_ref(),
        last_modified: group.update_time.as_ref(),
        version: group.version,
        base_url,
    };
    document.insert("meta".into(), meta.render());
    document
}

/// The user ids of a `members` value (an array of `{value, type?, display?, $ref?}`).
pub(crate) fn member_ids(value: Value) -> ScimResult<Vec<String>> {
    let elements = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(elements) => elements,
        single @ Value::Object(_) => vec![single],
        _ => {
            return Err(ScimError::invalid_value(
                "members must be an array of {\"value\": id}",
            ));
        }
    };
    let mut ids = Vec::with_capacity(elements.len());
    for (index, element) in elements.into_iter().enumerate() {
        let Value::Object(element) = element else {
            return Err(ScimError::invalid_value(format!(
                "members[{index}] must be an object"
            )));
        };
        let field = |name: &str| {
            element
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(name))
                .map(|(_, value)| value)
        };
        if let Some(kind) = field("type").and_then(Value::as_str)
            && !kind.eq_ignore_ascii_case("User")
        {
            return Err(ScimError::invalid_value(format!(
                "members[{index}] is of type {kind:?}: nested groups are not supported, members must be users"
            )));
        }
        let id = field("value")
            .and_then(Value::as_str)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                ScimError::invalid_value(format!("members[{index}].value (a user id) is required"))
            })?;
        ids.push(id.to_owned());
    }
    Ok(ids)
}

pub(crate) fn display_name(value: Value) -> ScimResult<String> {
    match value {
        Value::String(name) if !name.trim().is_empty() => Ok(name),
        _ => Err(ScimError::invalid_value(
            "displayName must be a non-empty string",
        )),
    }
}

pub(crate) fn external_id(value: Value) -> ScimResult<String> {
    match value {
        Value::String(id) => Ok(id),
        Value::Null => Ok(String::new()),
        _ => Err(ScimError::invalid_value("externalId must be a string")),
    }
}

/// displayName, externalId and member ids of a full Group body (POST, PUT).
pub(crate) struct GroupBody {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

pub(crate) fn group_body(body: Object) -> ScimResult<GroupBody> {
    let mut document = document::canonicalize(&GROUP_TYPE, body.clone())?;
    // Members are read from the raw body: their `type` must be seen to reject nested groups.
    let members = body
        .into_iter()
        .find(|(key, _)| key.eq_ignore_ascii_case("members"))
        .map(|(_, value)| member_ids(value))
        .transpose()?
        .unwrap_or_default();
    let display_name = display_name(document.remove("displayName").unwrap_or(Value::Null))
        .map_err(|_| ScimError::invalid_value("displayName is required"))?;
    let external_id = document
        .remove("externalId")
        .and_then(|id| id.as_str().map(str::to_owned));
    Ok(GroupBody {
        display_name,
        external_id,
        members,
    })
}

/// The attributes a groups filter may compare, and the contract's fields they map to.
const FILTER_FIELDS: Fields = Fields {
    resource_type: &GROUP_TYPE,
    fields: &[
        Field::new("id", fields::ID, FieldKind::Text),
        Field::new("displayName", fields::DISPLAY_NAME, FieldKind::Text),
        Field::new("externalId", fields::EXTERNAL_ID, FieldKind::Text),
        Field::new("members", fields::MEMBER, FieldKind::Text),
        Field::new("members.value", fields::MEMBER, FieldKind::Text),
        Field::new("meta.created", fields::CREATE_TIME, FieldKind::Time),
        Field::new("meta.lastModified", fields::UPDATE_TIME, FieldKind::Time),
    ],
    element: ("members", fields::MEMBER, false),
    widen: leaf,
};

/// A groups filter as the service takes it.
pub(crate) fn to_service_filter(filter: &crate::filter::Filter) -> ScimResult<pb::Filter> {
    translate::to_service_filter(filter, &FILTER_FIELDS)
}

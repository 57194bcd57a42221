//! Between the wire types of `identity.v1` and the service's model.

use identity_proto::v1 as pb;
use prost_types::Timestamp;

use crate::error::ApiError;
use crate::filter::{Comparison, Filter, FilterField, Op, Value, check_comparison};
use crate::model::{
    ApiKey, Email, Group, KeyAccess, KeyKind, KeyScope, KeyState, ManagedBy, Micros, Role, Tenant,
    User, now_micros,
};

pub fn timestamp(micros: Micros) -> Timestamp {
    Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: i32::try_from(micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
    }
}

pub(crate) fn micros(field: &str, timestamp: &Timestamp) -> Result<Micros, ApiError> {
    if !(0..1_000_000_000).contains(&timestamp.nanos) {
        return Err(ApiError::invalid(field, "nanos out of range"));
    }
    timestamp
        .seconds
        .checked_mul(1_000_000)
        .and_then(|micros| micros.checked_add(i64::from(timestamp.nanos / 1_000)))
        .ok_or_else(|| ApiError::invalid(field, "time out of range"))
}

/// The `start_time` and `end_time` of a listing (records at or after the one, before the
/// other).
pub(crate) fn time_range(
    start: Option<&Timestamp>,
    end: Option<&Timestamp>,
) -> Result<(Option<Micros>, Option<Micros>), ApiError> {
    Ok((
        start.map(|time| micros("start_time", time)).transpose()?,
        end.map(|time| micros("end_time", time)).transpose()?,
    ))
}

/// A stored JSON object document (user attributes, tenant settings) as the contract carries it;
/// `None` when it is empty.
fn json_document(text: &str) -> Option<prost_types::Struct> {
    match serde_json::from_str(text) {
        Ok(serde_json::Value::Object(object)) if !object.is_empty() => {
            Some(identity_proto::json::to_struct(object))
        }
        _ => None,
    }
}

pub(crate) fn managed_by_to_pb(managed_by: ManagedBy) -> pb::ManagedBy {
    match managed_by {
        ManagedBy::Internal => pb::ManagedBy::Internal,
        ManagedBy::Scim => pb::ManagedBy::Scim,
    }
}

/// `None` when unspecified.
pub(crate) fn managed_by_from_pb(value: i32) -> Result<Option<ManagedBy>, &'static str> {
    match pb::ManagedBy::try_from(value) {
        Ok(pb::ManagedBy::Unspecified) => Ok(None),
        Ok(pb::ManagedBy::Internal) => Ok(Some(ManagedBy::Internal)),
        Ok(pb::ManagedBy::Scim) => Ok(Some(ManagedBy::Scim)),
        Err(_) => Err("unknown value"),
    }
}

pub(crate) fn user_to_pb(user: User) -> pb::User {
    let fields = user.fields;
    pb::User {
        id: user.id.into_string(),
        tenant_id: user.tenant_id.into_string(),
        user_name: fields.user_name.into_string(),
        external_id: fields.external_id,
        display_name: fields.display_name,
        given_name: fields.given_name,
        family_name: fields.family_name,
        emails: fields
            .emails
            .into_iter()
            .map(|email| pb::Email {
                value: email.value,
                r#type: email.kind,
                primary: email.primary,
                display: email.display,
            })
            .collect(),
        active: fields.active,
        attributes: json_document(&fields.attributes),
        managed_by: managed_by_to_pb(fields.managed_by).into(),
        version: user.version,
        create_time: Some(timestamp(user.created_at)),
        update_time: Some(timestamp(user.updated_at)),
        role: role_to_pb(user.role).into(),
    }
}

pub(crate) fn role_to_pb(role: Role) -> pb::Role {
    match role {
        Role::Member => pb::Role::Member,
        Role::Admin => pb::Role::Admin,
        Role::SuperAdmin => pb::Role::SuperAdmin,
    }
}

pub(crate) fn emails_from_pb(emails: Vec<pb::Email>) -> Vec<Email> {
    emails
        .into_iter()
        .map(|email| Email {
            value: email.value,
            kind: email.r#type,
            primary: email.primary,
            display: email.display,
        })
        .collect()
}

pub(crate) fn group_to_pb(group: Group) -> pb::Group {
    pb::Group {
        id: group.id.into_string(),
        tenant_id: group.tenant_id.into_string(),
        display_name: group.fields.display_name.into_string(),
        external_id: group.fields.external_id,
        managed_by: managed_by_to_pb(group.fields.managed_by).into(),
        version: group.version,
        create_time: Some(timestamp(group.created_at)),
        update_time: Some(timestamp(group.updated_at)),
    }
}

pub(crate) fn tenant_to_pb(tenant: Tenant) -> pb::Tenant {
    pb::Tenant {
        id: tenant.id.into_string(),
        name: tenant.fields.name,
        scim_enabled: tenant.fields.scim_enabled,
        settings: json_document(&tenant.fields.settings),
        version: tenant.version,
        create_time: Some(timestamp(tenant.created_at)),
        update_time: Some(timestamp(tenant.updated_at)),
    }
}

pub(crate) fn key_kind_to_pb(kind: KeyKind) -> pb::ApiKeyKind {
    match kind {
        KeyKind::Service => pb::ApiKeyKind::Service,
        KeyKind::Scim => pb::ApiKeyKind::Scim,
    }
}

pub(crate) fn api_key_to_pb(key: ApiKey) -> pb::ApiKey {
    let state = match key.state_at(now_micros()) {
        KeyState::Active => pb::ApiKeyState::Active,
        KeyState::Retiring => pb::ApiKeyState::Retiring,
        KeyState::Revoked => pb::ApiKeyState::Revoked,
        KeyState::Expired => pb::ApiKeyState::Expired,
    };
    pb::ApiKey {
        id: key.id,
        tenant_id: match key.scope {
            KeyScope::AllTenants => String::new(),
            KeyScope::Tenant(tenant_id) => tenant_id.into_string(),
        },
        kind: key_kind_to_pb(key.kind).into(),
        access: match key.access {
            KeyAccess::ReadOnly => pb::ApiKeyAccess::ReadOnly,
            KeyAccess::ReadWrite => pb::ApiKeyAccess::ReadWrite,
        }
        .into(),
        name: key.name,
        prefix: key.prefix,
        state: state.into(),
        create_time: Some(timestamp(key.created_at)),
        expire_time: key.expires_at.map(timestamp),
        revoke_time: key.revoked_at.map(timestamp),
        last_use_time: key.last_used_at.map(timestamp),
        created_by: key.created_by,
        replaced_by: key.replaced_by.unwrap_or_default(),
    }
}

/// Builds a typed filter, rejecting (INVALID_ARGUMENT, reason INVALID_FILTER) every field,
/// operator or value the resource cannot serve.
pub(crate) fn filter_from_pb<F: FilterField>(filter: &pb::Filter) -> Result<Filter<F>, ApiError> {
    identity_proto::filter::check_limits(filter)
        .map_err(|why| ApiError::invalid_filter("filter", why))?;
    convert_filter(filter, "filter")
}

fn convert_filter<F: FilterField>(filter: &pb::Filter, path: &str) -> Result<Filter<F>, ApiError> {
    use pb::filter::Expression;
    let list = |list: &pb::FilterList, name: &str| {
        if list.filters.is_empty() {
            return Err(ApiError::invalid_filter(
                format!("{path}.{name}.filters"),
                "must not be empty",
            ));
        }
        list.filters
            .iter()
            .enumerate()
            .map(|(index, item)| convert_filter(item, &format!("{path}.{name}.filters[{index}]")))
            .collect::<Result<Vec<_>, _>>()
    };
    match &filter.expression {
        None => Err(ApiError::invalid_filter(path, "empty expression")),
        Some(Expression::AllOf(items)) => Ok(Filter::And(list(items, "all_of")?)),
        Some(Expression::AnyOf(items)) => Ok(Filter::Or(list(items, "any_of")?)),
        Some(Expression::Negation(inner)) => Ok(Filter::Not(Box::new(convert_filter(
            inner,
            &format!("{path}.negation"),
        )?))),
        Some(Expression::Comparison(comparison)) => {
            comparison_from_pb(comparison, &format!("{path}.comparison"))
        }
    }
}

fn comparison_from_pb<F: FilterField>(
    comparison: &pb::Comparison,
    path: &str,
) -> Result<Filter<F>, ApiError> {
    let field = F::parse(&comparison.field).ok_or_else(|| {
        ApiError::invalid_filter(
            format!("{path}.field"),
            format!(
                "cannot filter on {:?}; filterable fields: {}",
                comparison.field,
                F::names().join(", ")
            ),
        )
    })?;
    let op = match pb::Operator::try_from(comparison.op) {
        Ok(pb::Operator::Eq) => Op::Eq,
        Ok(pb::Operator::Ne) => Op::Ne,
        Ok(pb::Operator::Co) => Op::Contains,
        Ok(pb::Operator::Sw) => Op::StartsWith,
        Ok(pb::Operator::Ew) => Op::EndsWith,
        Ok(pb::Operator::Pr) => Op::Present,
        Ok(pb::Operator::Gt) => Op::Gt,
        Ok(pb::Operator::Ge) => Op::Ge,
        Ok(pb::Operator::Lt) => Op::Lt,
        Ok(pb::Operator::Le) => Op::Le,
        Ok(pb::Operator::Unspecified) | Err(_) => {
            return Err(ApiError::invalid_filter(
                format!("{path}.op"),
                "missing or unknown operator",
            ));
        }
    };
    let value = match comparison.value.as_ref().and_then(|v| v.kind.as_ref()) {
        None => Value::None,
        Some(pb::filter_value::Kind::StringValue(text)) => Value::Text(text.clone()),
        Some(pb::filter_value::Kind::BoolValue(flag)) => Value::Bool(*flag),
        Some(pb::filter_value::Kind::TimeValue(time)) => {
            Value::Time(micros(&format!("{path}.value.time_value"), time)?)
        }
    };
    if let Some(why) = check_comparison(field.field_type(), op, &value) {
        return Err(ApiError::invalid_filter(
            path,
            format!("{}: {why}", comparison.field),
        ));
    }
    let element_type = match comparison.element_type.as_str() {
        "" => None,
        _ if !field.has_typed_elements() => {
            return Err(ApiError::invalid_filter(
                format!("{path}.element_type"),
                format!("{} has no typed elements", comparison.field),
            ));
        }
        kind => Some(kind.to_ascii_lowercase()),
    };
    Ok(Filter::Compare(Comparison {
        field,
        op,
        value,
        element_type,
    }))
}

//! A parsed filter → the identity service's structured filter, by a resource's table of
//! filterable attributes ([`Fields`], defined with the resource's codec).

use identity_proto::v1 as pb;
use pb::filter::Expression;

use super::{Filter, Literal, Op, parse_bool};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::ResourceType;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FieldKind {
    Text,
    Bool,
    Time,
}

/// A filterable SCIM attribute and the contract's filter field it maps to.
pub(crate) struct Field {
    pub scim: &'static str,
    pub service: &'static str,
    pub kind: FieldKind,
}

impl Field {
    pub(crate) const fn new(scim: &'static str, service: &'static str, kind: FieldKind) -> Field {
        Field {
            scim,
            service,
            kind,
        }
    }
}

/// What a resource's filters may compare, and how its comparisons reach the service.
pub(crate) struct Fields {
    pub resource_type: &'static ResourceType,
    pub fields: &'static [Field],
    /// The multi-valued attribute whose value paths the service can serve, its service field,
    /// and whether its elements carry a `type` a value path may name (`emails`).
    pub element: (&'static str, &'static str, bool),
    /// Widens a comparison to what the resource's documents show (see the users' codec).
    pub widen: fn(pb::Comparison) -> pb::Filter,
}

/// The service's filter for `filter`, checked against the contract's limits as the service
/// will receive it (a SCIM term may become several), so that every filter accepted here is one
/// the service runs.
pub(crate) fn to_service_filter(filter: &Filter, fields: &Fields) -> ScimResult<pb::Filter> {
    let filter = translate(filter, fields)?;
    identity_proto::filter::check_limits(&filter).map_err(ScimError::invalid_filter)?;
    Ok(filter)
}

pub(crate) fn leaf(comparison: pb::Comparison) -> pb::Filter {
    expression(Expression::Comparison(comparison))
}

pub(crate) fn expression(expression: Expression) -> pb::Filter {
    pb::Filter {
        expression: Some(expression),
    }
}

/// Drops the core schema's URN prefix (`urn:…:core:2.0:User:userName` → `userName`).
fn core_path<'p>(fields: &Fields, path: &'p str) -> ScimResult<&'p str> {
    match fields.resource_type.split_urn(path) {
        Some((schema, rest)) if schema.id == fields.resource_type.core.id => Ok(rest),
        Some(_) => Err(ScimError::invalid_filter(format!(
            "filtering on {path} is not supported"
        ))),
        None => Ok(path),
    }
}

fn translate(filter: &Filter, fields: &Fields) -> ScimResult<pb::Filter> {
    match filter {
        // `a and b and c` is one list, not a nested pair per term (the service bounds depth).
        Filter::And(..) | Filter::Or(..) => {
            let conjunction = matches!(filter, Filter::And(..));
            let mut terms = Vec::new();
            flatten(filter, conjunction, &mut terms);
            let filters = terms
                .into_iter()
                .map(|term| translate(term, fields))
                .collect::<ScimResult<Vec<_>>>()?;
            let list = pb::FilterList { filters };
            Ok(expression(if conjunction {
                Expression::AllOf(list)
            } else {
                Expression::AnyOf(list)
            }))
        }
        Filter::Not(inner) => Ok(expression(Expression::Negation(Box::new(translate(
            inner, fields,
        )?)))),
        Filter::Compare { path, op, value } => {
            let path = core_path(fields, path)?;
            let field = fields
                .fields
                .iter()
                .find(|field| field.scim.eq_ignore_ascii_case(path))
                .ok_or_else(|| {
                    ScimError::invalid_filter(format!(
                        "filtering on {path} is not supported; filterable attributes: {}",
                        fields
                            .fields
                            .iter()
                            .map(|field| field.scim)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                })?;
            let comparison = comparison(field.service, field.kind, path, *op, value)?;
            Ok((fields.widen)(comparison))
        }
        Filter::ValuePath { attribute, filter } => {
            let attribute = core_path(fields, attribute)?;
            let (element, _, _) = fields.element;
            if !attribute.eq_ignore_ascii_case(element) {
                return Err(ScimError::invalid_filter(format!(
                    "value filters are supported on {element} only, not on {attribute}"
                )));
            }
            let comparison = element_comparison(fields, filter)?;
            Ok((fields.widen)(comparison))
        }
    }
}

fn operator(op: Op) -> pb::Operator {
    match op {
        Op::Eq => pb::Operator::Eq,
        Op::Ne => pb::Operator::Ne,
        Op::Co => pb::Operator::Co,
        Op::Sw => pb::Operator::Sw,
        Op::Ew => pb::Operator::Ew,
        Op::Pr => pb::Operator::Pr,
        Op::Gt => pb::Operator::Gt,
        Op::Ge => pb::Operator::Ge,
        Op::Lt => pb::Operator::Lt,
        Op::Le => pb::Operator::Le,
    }
}

fn comparison(
    service_field: &str,
    kind: FieldKind,
    path: &str,
    op: Op,
    value: &Literal,
) -> ScimResult<pb::Comparison> {
    use pb::filter_value::Kind as V;
    let value = match (kind, value) {
        (_, Literal::None) => None,
        (FieldKind::Text, Literal::Text(text)) => Some(V::StringValue(text.clone())),
        (FieldKind::Bool, Literal::Bool(flag)) => Some(V::BoolValue(*flag)),
        // Entra and others send booleans as strings too.
        (FieldKind::Bool, Literal::Text(text)) => {
            Some(V::BoolValue(parse_bool(text).ok_or_else(|| {
                ScimError::invalid_filter(format!("{path} takes true or false, not {text:?}"))
            })?))
        }
        (FieldKind::Time, Literal::Text(text)) => {
            let time: prost_types::Timestamp = text.parse().map_err(|_| {
                ScimError::invalid_filter(format!("{path} takes an RFC 3339 time, not {text:?}"))
            })?;
            Some(V::TimeValue(time))
        }
        (_, other) => {
            return Err(ScimError::invalid_filter(format!(
                "{path} cannot be compared with {}",
                match other {
                    Literal::Null => "null".to_owned(),
                    Literal::Bool(flag) => flag.to_string(),
                    Literal::Number(number) => number.clone(),
                    Literal::Text(text) => format!("{text:?}"),
                    Literal::None => String::new(),
                }
            )));
        }
    };
    Ok(pb::Comparison {
        field: service_field.to_owned(),
        op: operator(op) as i32,
        value: value.map(|kind| pb::FilterValue { kind: Some(kind) }),
        element_type: String::new(),
    })
}

/// `emails[type eq "work" and value eq "x"]` → `email eq "x"` on work emails;
/// `members[value eq "u"]` → `member eq "u"`.
fn element_comparison(fields: &Fields, filter: &Filter) -> ScimResult<pb::Comparison> {
    let (element, service_field, typed) = fields.element;
    let mut terms = Vec::new();
    flatten(filter, true, &mut terms);
    let mut value_term = None;
    let mut element_type = String::new();
    for term in terms {
        let unsupported = || {
            ScimError::invalid_filter(format!(
                "{element}[…] supports value comparisons{} joined by and",
                if typed { " and type eq" } else { "" }
            ))
        };
        let Filter::Compare { path, op, value } = term else {
            return Err(unsupported());
        };
        if path.eq_ignore_ascii_case("value") && value_term.is_none() {
            value_term = Some((*op, value));
        } else if path.eq_ignore_ascii_case("type")
            && typed
            && *op == Op::Eq
            && element_type.is_empty()
        {
            let Literal::Text(kind) = value else {
                return Err(unsupported());
            };
            element_type.clone_from(kind);
        } else {
            return Err(unsupported());
        }
    }
    let (op, value) = value_term.unwrap_or((Op::Pr, &Literal::None));
    let mut comparison = comparison(
        service_field,
        FieldKind::Text,
        &format!("{element}.value"),
        op,
        value,
    )?;
    comparison.element_type = element_type;
    Ok(comparison)
}

/// The terms of a chain of `and`s (`conjunction`) or of `or`s.
pub(crate) fn flatten<'f>(filter: &'f Filter, conjunction: bool, terms: &mut Vec<&'f Filter>) {
    match filter {
        Filter::And(left, right) if conjunction => {
            flatten(left, conjunction, terms);
            flatten(right, conjunction, terms);
        }
        Filter::Or(left, right) if !conjunction => {
            flatten(left, conjunction, terms);
            flatten(right, conjunction, terms);
        }
        other => terms.push(other),
    }
}

//! A filter evaluated against one element of a multi-valued attribute (PATCH value paths such
//! as `emails[type eq "work"]`).

use serde_json::Value;

use super::{Filter, Literal, Op, parse_bool};
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::schema::{self, Attribute};

/// Whether `element` (an object of sub-attributes described by `attributes`) matches.
pub(crate) fn matches(
    filter: &Filter,
    element: &Value,
    attributes: &[Attribute],
) -> ScimResult<bool> {
    Ok(match filter {
        Filter::And(left, right) => {
            matches(left, element, attributes)? && matches(right, element, attributes)?
        }
        Filter::Or(left, right) => {
            matches(left, element, attributes)? || matches(right, element, attributes)?
        }
        Filter::Not(inner) => !matches(inner, element, attributes)?,
        Filter::ValuePath { .. } => {
            return Err(ScimError::invalid_path("value filters do not nest"));
        }
        Filter::Compare { path, op, value } => {
            let attribute = schema::find(attributes, path).ok_or_else(|| {
                ScimError::invalid_path(format!("unknown sub-attribute {path} in a value filter"))
            })?;
            let actual = element
                .as_object()
                .and_then(|object| {
                    object
                        .iter()
                        .find(|(key, _)| key.eq_ignore_ascii_case(attribute.name))
                })
                .map(|(_, value)| value)
                .filter(|value| !value.is_null());
            compare(actual, *op, value, attribute.case_exact)
        }
    })
}

fn compare(actual: Option<&Value>, op: Op, expected: &Literal, case_exact: bool) -> bool {
    let Some(actual) = actual else {
        return op == Op::Ne;
    };
    if op == Op::Pr {
        return !matches!(actual, Value::String(text) if text.is_empty());
    }
    match (actual, expected) {
        (Value::Bool(actual), Literal::Bool(expected)) => match op {
            Op::Eq => actual == expected,
            Op::Ne => actual != expected,
            _ => false,
        },
        (Value::Bool(actual), Literal::Text(expected)) => match parse_bool(expected) {
            Some(expected) => (op == Op::Eq) == (*actual == expected),
            None => false,
        },
        (Value::String(actual), Literal::Text(expected)) => {
            let (actual, expected) = if case_exact {
                (actual.clone(), expected.clone())
            } else {
                (actual.to_lowercase(), expected.to_lowercase())
            };
            match op {
                Op::Eq => actual == expected,
                Op::Ne => actual != expected,
                Op::Co => actual.contains(&expected),
                Op::Sw => actual.starts_with(&expected),
                Op::Ew => actual.ends_with(&expected),
                Op::Gt => actual > expected,
                Op::Ge => actual >= expected,
                Op::Lt => actual < expected,
                Op::Le => actual <= expected,
                Op::Pr => true,
            }
        }
        (_, _) => op == Op::Ne,
    }
}

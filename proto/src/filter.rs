//! How large a filter may be: one limit for every client and the service. The service refuses
//! a larger filter with INVALID_FILTER; the SCIM gateway checks the filter it translated before
//! sending it, so that every filter it accepts is one the service runs (on SQLite and
//! PostgreSQL alike: and/or lists compile to balanced trees, a few levels deep).

use crate::v1::{Filter, filter::Expression};

/// Nesting of and / or / not.
pub const MAX_DEPTH: usize = 16;
/// Expressions (lists, nots and comparisons) in one filter.
pub const MAX_NODES: usize = 256;
/// Characters of one comparison's text value (a `co` pattern included).
pub const MAX_VALUE_CHARS: usize = 1024;

/// Why a filter is over the limits, or `Ok`.
pub fn check_limits(filter: &Filter) -> Result<(), String> {
    let mut nodes = 0;
    walk(filter, 0, &mut nodes)
}

fn walk(filter: &Filter, depth: usize, nodes: &mut usize) -> Result<(), String> {
    *nodes += 1;
    if depth > MAX_DEPTH {
        return Err(format!("the filter nests deeper than {MAX_DEPTH} levels"));
    }
    if *nodes > MAX_NODES {
        return Err(format!("the filter has more than {MAX_NODES} expressions"));
    }
    match &filter.expression {
        Some(Expression::And(list) | Expression::Or(list)) => list
            .filters
            .iter()
            .try_for_each(|item| walk(item, depth + 1, nodes)),
        Some(Expression::Not(inner)) => walk(inner, depth + 1, nodes),
        Some(Expression::Comparison(comparison)) => {
            let long = comparison
                .value
                .as_ref()
                .and_then(|value| value.kind.as_ref())
                .is_some_and(|kind| match kind {
                    crate::v1::filter_value::Kind::StringValue(text) => {
                        text.chars().count() > MAX_VALUE_CHARS
                    }
                    _ => false,
                });
            if long {
                return Err(format!(
                    "a filter value is longer than {MAX_VALUE_CHARS} characters"
                ));
            }
            Ok(())
        }
        None => Ok(()),
    }
}

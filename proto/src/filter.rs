//! How large a filter may be: one limit for every client and the service. The service refuses
//! a larger filter with INVALID_FILTER; the SCIM gateway checks the filter it translated before
//! sending it, so that every filter it accepts is one the service runs (on SQLite and
//! PostgreSQL alike: and/or lists compile to balanced trees, a few levels deep).

use crate::v1::{Filter, filter::Expression};

/// Nesting of all_of / any_of / negation: for a SCIM filter, of and / or / not, parentheses
/// and value paths.
pub const MAX_DEPTH: usize = 16;
/// Expressions (lists, nots and comparisons) in one filter.
pub const MAX_NODES: usize = 256;
/// Characters of one comparison's text value (a `co` pattern included).
pub const MAX_VALUE_CHARS: usize = 1024;
/// Comparisons on fields held in another table (a user's `email`, a group's `member`): each
/// becomes a semi-join, and PostgreSQL's planning time grows steeply with their number
/// (16: 0.4 s, 255: 28 s); SCIM clients send one or two.
pub const MAX_JOINED_COMPARISONS: usize = 8;
/// The fields that [`MAX_JOINED_COMPARISONS`] counts.
pub const JOINED_FIELDS: &[&str] = &[crate::fields::user::EMAIL, crate::fields::group::MEMBER];

/// Why a filter is over the limits, or `Ok`.
pub fn check_limits(filter: &Filter) -> Result<(), String> {
    let mut counts = Counts::default();
    walk(filter, 0, &mut counts)
}

#[derive(Default)]
struct Counts {
    nodes: usize,
    joined: usize,
}

fn walk(filter: &Filter, depth: usize, counts: &mut Counts) -> Result<(), String> {
    counts.nodes += 1;
    let nodes = counts.nodes;
    if depth > MAX_DEPTH {
        return Err(format!("the filter nests deeper than {MAX_DEPTH} levels"));
    }
    if nodes > MAX_NODES {
        return Err(format!("the filter has more than {MAX_NODES} expressions"));
    }
    match &filter.expression {
        Some(Expression::AllOf(list) | Expression::AnyOf(list)) => list
            .filters
            .iter()
            .try_for_each(|item| walk(item, depth + 1, counts)),
        Some(Expression::Negation(inner)) => walk(inner, depth + 1, counts),
        Some(Expression::Comparison(comparison)) => {
            if JOINED_FIELDS.contains(&comparison.field.as_str()) {
                counts.joined += 1;
                if counts.joined > MAX_JOINED_COMPARISONS {
                    return Err(format!(
                        "the filter compares {} more than {MAX_JOINED_COMPARISONS} times",
                        JOINED_FIELDS.join(" or ")
                    ));
                }
            }
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

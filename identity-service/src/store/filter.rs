//! Filters and pages compiled to SQL. Every value is a bound parameter.

use diesel::dsl::{not, sql};
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::connection::MultiBackend;
use super::schema::{groups, memberships, user_emails, users};
use super::{StoreError, StoreResult};
use crate::filter::{Comparison, Filter, GroupField, Op, UserField, Value};
use crate::model::{ManagedBy, fold_case};

diesel::define_sql_function! {
    /// ASCII case folding, the same in SQLite and PostgreSQL for the ASCII words it serves
    /// (email types such as "work").
    fn lower(text: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

type Predicate<T> = Box<dyn BoxableExpression<T, MultiBackend, SqlType = Bool>>;

/// Filters nest at most this deep: the contract's limit (the API rejects deeper trees first),
/// plus the levels the API adds around a client's filter (the SCIM visibility of groups).
const MAX_DEPTH: usize = identity_proto::filter::MAX_DEPTH + 2;

fn always<T: 'static>(value: bool) -> Predicate<T>
where
    diesel::expression::SqlLiteral<Bool>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
{
    Box::new(sql::<Bool>(if value { "1 = 1" } else { "1 = 0" }))
}

/// Escapes LIKE wildcards so that a value matches literally (with `ESCAPE '\'`).
fn like_literal(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        if matches!(c, '\\' | '%' | '_') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Compiles a text comparison on a NOT NULL column. `Ne` never gets here (it is `Not(Eq)`).
macro_rules! text_comparison {
    ($table:ty, $column:expr, $op:expr, $value:expr) => {{
        let column = $column;
        let value: String = $value;
        let predicate: Predicate<$table> = match $op {
            Op::Eq | Op::Ne => Box::new(column.eq(value)),
            Op::Contains => Box::new(
                column
                    .like(format!("%{}%", like_literal(&value)))
                    .escape('\\'),
            ),
            Op::StartsWith => Box::new(
                column
                    .like(format!("{}%", like_literal(&value)))
                    .escape('\\'),
            ),
            Op::EndsWith => Box::new(
                column
                    .like(format!("%{}", like_literal(&value)))
                    .escape('\\'),
            ),
            Op::Present => Box::new(column.ne("")),
            Op::Gt => Box::new(column.gt(value)),
            Op::Ge => Box::new(column.ge(value)),
            Op::Lt => Box::new(column.lt(value)),
            Op::Le => Box::new(column.le(value)),
        };
        predicate
    }};
}

/// The same on a nullable column: NULL never matches (so `not` of it does).
macro_rules! nullable_text_comparison {
    ($table:ty, $column:expr, $op:expr, $value:expr) => {{
        let column = $column;
        let predicate: Predicate<$table> = Box::new(column.is_not_null().and(text_comparison!(
            $table,
            column.assume_not_null(),
            $op,
            $value
        )));
        predicate
    }};
}

macro_rules! time_comparison {
    ($table:ty, $column:expr, $op:expr, $micros:expr) => {{
        let column = $column;
        let micros: i64 = $micros;
        let predicate: Predicate<$table> = match $op {
            Op::Eq | Op::Ne => Box::new(column.eq(micros)),
            Op::Gt => Box::new(column.gt(micros)),
            Op::Ge => Box::new(column.ge(micros)),
            Op::Lt => Box::new(column.lt(micros)),
            Op::Le => Box::new(column.le(micros)),
            Op::Present => always(true),
            Op::Contains | Op::StartsWith | Op::EndsWith => {
                return Err(StoreError::InvalidFilter("operator not supported on times"));
            }
        };
        predicate
    }};
}

/// The text a comparison compares with, case-folded for case-insensitive fields.
fn text(value: &Value, fold: bool) -> StoreResult<String> {
    match value {
        Value::Text(text) if fold => Ok(fold_case(text)),
        Value::Text(text) => Ok(text.clone()),
        // `pr` compares with the empty string.
        Value::None => Ok(String::new()),
        Value::Bool(_) | Value::Time(_) => Err(StoreError::InvalidFilter("field takes a string")),
    }
}

fn time(value: &Value, op: Op) -> StoreResult<i64> {
    match (value, op) {
        (Value::Time(micros), _) => Ok(*micros),
        (Value::None, Op::Present) => Ok(0),
        _ => Err(StoreError::InvalidFilter("field takes a time")),
    }
}

/// Joins predicates pairwise, level by level: a list of n terms nests log2(n) deep in SQL (a
/// left-nested chain of 150 `or` terms overflowed SQLite's parser stack).
fn balanced<T>(
    mut items: Vec<Predicate<T>>,
    join: &dyn Fn(Predicate<T>, Predicate<T>) -> Predicate<T>,
) -> Option<Predicate<T>> {
    while items.len() > 1 {
        let mut joined = Vec::with_capacity(items.len().div_ceil(2));
        let mut pairs = items.into_iter();
        while let Some(left) = pairs.next() {
            joined.push(match pairs.next() {
                Some(right) => join(left, right),
                None => left,
            });
        }
        items = joined;
    }
    items.pop()
}

/// Walks the tree, compiling comparisons with `leaf`. `Ne` is compiled as `not (eq)`, so that a
/// missing value is "not equal", as SCIM expects.
fn compile<F: Copy, T: 'static>(
    filter: &Filter<F>,
    depth: usize,
    leaf: &dyn Fn(&Comparison<F>) -> StoreResult<Predicate<T>>,
) -> StoreResult<Predicate<T>>
where
    diesel::expression::SqlLiteral<Bool>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
    diesel::dsl::And<Predicate<T>, Predicate<T>>:
        BoxableExpression<T, MultiBackend, SqlType = Bool>,
    diesel::dsl::Or<Predicate<T>, Predicate<T>>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
    diesel::dsl::not<Predicate<T>>: BoxableExpression<T, MultiBackend, SqlType = Bool>,
{
    if depth > MAX_DEPTH {
        return Err(StoreError::InvalidFilter("filter nests too deeply"));
    }
    Ok(match filter {
        Filter::And(items) | Filter::Or(items) => {
            let compiled = items
                .iter()
                .map(|item| compile(item, depth + 1, leaf))
                .collect::<StoreResult<Vec<_>>>()?;
            if matches!(filter, Filter::And(_)) {
                balanced(compiled, &|left, right| Box::new(left.and(right)))
                    .unwrap_or_else(|| always(true))
            } else {
                balanced(compiled, &|left, right| Box::new(left.or(right)))
                    .unwrap_or_else(|| always(false))
            }
        }
        Filter::Not(inner) => Box::new(not(compile(inner, depth + 1, leaf)?)),
        Filter::Compare(comparison) if comparison.op == Op::Ne => Box::new(not(leaf(comparison)?)),
        Filter::Compare(comparison) => leaf(comparison)?,
    })
}

pub(crate) fn user_predicate(
    filter: &Filter<UserField>,
    tenant_id: &str,
) -> StoreResult<Predicate<users::table>> {
    compile(filter, 0, &|comparison: &Comparison<UserField>| {
        let Comparison {
            field,
            op,
            value,
            element_type,
        } = comparison;
        let op = *op;
        Ok(match field {
            UserField::Id => text_comparison!(users::table, users::id, op, text(value, false)?),
            UserField::UserName => {
                text_comparison!(users::table, users::user_name_key, op, text(value, true)?)
            }
            UserField::ExternalId => {
                nullable_text_comparison!(users::table, users::external_id, op, text(value, false)?)
            }
            UserField::DisplayName => nullable_text_comparison!(
                users::table,
                users::display_name_key,
                op,
                text(value, true)?
            ),
            UserField::GivenName => nullable_text_comparison!(
                users::table,
                users::given_name_key,
                op,
                text(value, true)?
            ),
            UserField::FamilyName => nullable_text_comparison!(
                users::table,
                users::family_name_key,
                op,
                text(value, true)?
            ),
            UserField::Email => {
                // Subqueries must be concrete types under MultiBackend, hence one per operator.
                macro_rules! with_email {
                    ($condition:expr) => {
                        match element_type {
                            Some(kind) => Box::new(
                                users::id.eq_any(
                                    user_emails::table
                                        .filter(user_emails::tenant_id.eq(tenant_id.to_owned()))
                                        .filter(lower(user_emails::kind).eq(kind.clone()))
                                        .filter($condition)
                                        .select(user_emails::user_id),
                                ),
                            ),
                            None => Box::new(
                                users::id.eq_any(
                                    user_emails::table
                                        .filter(user_emails::tenant_id.eq(tenant_id.to_owned()))
                                        .filter($condition)
                                        .select(user_emails::user_id),
                                ),
                            ),
                        }
                    };
                }
                let email = user_emails::value_key;
                let value = text(value, true)?;
                match op {
                    Op::Eq | Op::Ne => with_email!(email.eq(value)),
                    Op::Contains => with_email!(
                        email
                            .like(format!("%{}%", like_literal(&value)))
                            .escape('\\')
                    ),
                    Op::StartsWith => with_email!(
                        email
                            .like(format!("{}%", like_literal(&value)))
                            .escape('\\')
                    ),
                    Op::EndsWith => with_email!(
                        email
                            .like(format!("%{}", like_literal(&value)))
                            .escape('\\')
                    ),
                    Op::Present => with_email!(email.ne("")),
                    Op::Gt => with_email!(email.gt(value)),
                    Op::Ge => with_email!(email.ge(value)),
                    Op::Lt => with_email!(email.lt(value)),
                    Op::Le => with_email!(email.le(value)),
                }
            }
            UserField::Active => match (op, value) {
                (Op::Present, _) => always(true),
                (Op::Eq | Op::Ne, Value::Bool(active)) => {
                    Box::new(users::active.eq(i32::from(*active)))
                }
                _ => return Err(StoreError::InvalidFilter("active takes eq/ne with a bool")),
            },
            UserField::ManagedBy => match managed_by(op, value)? {
                Some(managed_by) => Box::new(users::managed_by.eq(managed_by.as_str())),
                None => always(true),
            },
            UserField::CreateTime => {
                time_comparison!(users::table, users::created_at, op, time(value, op)?)
            }
            UserField::UpdateTime => {
                time_comparison!(users::table, users::updated_at, op, time(value, op)?)
            }
        })
    })
}

/// The value a `managed_by` comparison names (`ne` is its negation, compiled around it);
/// `None` for `pr`, which every row matches.
fn managed_by(op: Op, value: &Value) -> StoreResult<Option<ManagedBy>> {
    match (op, value) {
        (Op::Present, _) => Ok(None),
        (Op::Eq | Op::Ne, Value::Text(text)) => {
            ManagedBy::parse(text)
                .map(Some)
                .ok_or(StoreError::InvalidFilter(
                    "managed_by is \"scim\" or \"internal\"",
                ))
        }
        _ => Err(StoreError::InvalidFilter(
            "managed_by takes eq/ne with \"scim\" or \"internal\"",
        )),
    }
}

pub(crate) fn group_predicate(
    filter: &Filter<GroupField>,
    tenant_id: &str,
) -> StoreResult<Predicate<groups::table>> {
    compile(filter, 0, &|comparison: &Comparison<GroupField>| {
        let Comparison {
            field, op, value, ..
        } = comparison;
        let op = *op;
        Ok(match field {
            GroupField::Id => text_comparison!(groups::table, groups::id, op, text(value, false)?),
            GroupField::DisplayName => text_comparison!(
                groups::table,
                groups::display_name_key,
                op,
                text(value, true)?
            ),
            GroupField::ExternalId => nullable_text_comparison!(
                groups::table,
                groups::external_id,
                op,
                text(value, false)?
            ),
            GroupField::Member => match (op, value) {
                (Op::Present, _) => Box::new(
                    groups::id.eq_any(
                        memberships::table
                            .filter(memberships::tenant_id.eq(tenant_id.to_owned()))
                            .select(memberships::group_id),
                    ),
                ),
                (Op::Eq | Op::Ne, Value::Text(user_id)) => Box::new(
                    groups::id.eq_any(
                        memberships::table
                            .filter(memberships::user_id.eq(user_id.clone()))
                            .select(memberships::group_id),
                    ),
                ),
                _ => {
                    return Err(StoreError::InvalidFilter(
                        "member takes eq/ne with a user id",
                    ));
                }
            },
            GroupField::ManagedBy => match managed_by(op, value)? {
                Some(managed_by) => Box::new(groups::managed_by.eq(managed_by.as_str())),
                None => always(true),
            },
            GroupField::CreateTime => {
                time_comparison!(groups::table, groups::created_at, op, time(value, op)?)
            }
            GroupField::UpdateTime => {
                time_comparison!(groups::table, groups::updated_at, op, time(value, op)?)
            }
            // Not made inside the product, or without members (by the membership key).
            GroupField::Linkable => {
                let linkable = groups::managed_by.ne(ManagedBy::Internal.as_str()).or(not(
                    diesel::dsl::exists(
                        memberships::table.filter(memberships::group_id.eq(groups::id)),
                    ),
                ));
                match (op, value) {
                    (Op::Eq, Value::Bool(true)) => Box::new(linkable),
                    (Op::Eq, Value::Bool(false)) => Box::new(not(linkable)),
                    _ => return Err(StoreError::InvalidFilter("linkable takes eq with a bool")),
                }
            }
        })
    })
}

/// Orders a boxed query of `$table` by (created_at, id) and applies the page start and size
/// (one extra row is fetched to tell whether another page follows).
macro_rules! paged {
    ($query:expr, $table:ident, $page:expr) => {{
        let page: &$crate::model::PageQuery = &$page;
        let mut query = $query.order(($table::created_at.asc(), $table::id.asc()));
        match &page.start {
            $crate::model::PageStart::After { created_at, id } => {
                // The `>=` alone bounds the index range; the OR alone would not, and the
                // database would step over every row before the page.
                query = query.filter($table::created_at.ge(*created_at)).filter(
                    $table::created_at
                        .gt(*created_at)
                        .or($table::id.gt(id.clone())),
                );
            }
            $crate::model::PageStart::Offset(offset) => {
                query = query.offset(*offset);
            }
        }
        query.limit(page.size + 1)
    }};
}
pub(super) use paged;

/// One page of a tenant's `$table` rows (as `$row`) that match `$filter` (an `Option` of a
/// filter compiled by `$predicate`), and whether another page follows; with the count of every
/// match when the page asks for it. Offset pages and counts use what `$positions` (the
/// replica's [`Positions`](super::positions::Positions)) remembers of the list while the
/// tenant is unchanged, and teach it where the next page starts.
macro_rules! filtered_page {
    ($conn:expr, $positions:expr, $table:ident, $row:ty, $tenant_id:expr, $filter:expr, $predicate:path, $page:expr) => {{
        use $crate::model::PageStart;
        use $crate::store::positions::{ListKey, SortKey, tenant_version};
        let tenant_id: &str = &$tenant_id;
        let mut page: $crate::model::PageQuery = $page;
        let matching = || -> $crate::store::StoreResult<_> {
            let mut query = $table::table
                .filter($table::tenant_id.eq(tenant_id.to_owned()))
                .into_boxed::<$crate::store::connection::MultiBackend>();
            if let Some(filter) = $filter {
                query = query.filter($predicate(filter, tenant_id)?);
            }
            Ok(query)
        };
        let offset = match page.start {
            PageStart::Offset(offset) => Some(offset),
            PageStart::After { .. } => None,
        };
        let remembered = if offset.is_some() || page.include_total {
            let list = ListKey::new(tenant_id, stringify!($table), $filter);
            Some((list, tenant_version($conn, tenant_id)?))
        } else {
            None
        };
        let mut known_total = None;
        if let Some((list, version)) = &remembered {
            let (total, start) = $positions.recall(list, *version, &page.start);
            known_total = total;
            if let Some(start) = start {
                page.start = start;
            }
        }
        let total = match (page.include_total, known_total) {
            (false, _) => None,
            (true, Some(total)) => Some(total),
            (true, None) => Some(matching()?.count().get_result::<i64>($conn)?),
        };
        let query = $crate::store::filter::paged!(matching()?, $table, page);
        let mut rows: Vec<$row> = query.select(<$row>::as_select()).load($conn)?;
        let has_more = $crate::store::filter::trim_page(&mut rows, page.size);
        // Taught only when nothing was committed for the tenant while this ran (a read
        // transaction is one snapshot on SQLite, not on PostgreSQL at READ COMMITTED).
        if let Some((list, version)) = remembered
            && tenant_version($conn, tenant_id)? == version
        {
            let next = match (offset, rows.last()) {
                (Some(offset), Some(last)) if has_more => Some((
                    offset + rows.len() as i64,
                    SortKey {
                        created_at: last.created_at,
                        id: last.id.clone(),
                    },
                )),
                _ => None,
            };
            $positions.remember(list, version, total, next);
        }
        (rows, has_more, total)
    }};
}
pub(super) use filtered_page;

/// A filtered list that the database refused to run: the filter asked for more than it evaluates
/// (the API bounds filters, so this is the last line), unless the connection itself failed.
pub(super) fn filter_failure(error: StoreError) -> StoreError {
    use diesel::result::{DatabaseErrorKind, Error as DieselError};
    match error {
        StoreError::Database(DieselError::DatabaseError(kind, info))
            if !matches!(
                kind,
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::SerializationFailure
            ) =>
        {
            tracing::warn!(message = info.message(), "the database refused a filter");
            StoreError::InvalidFilter("the database cannot evaluate this filter; simplify it")
        }
        other => other,
    }
}

/// Drops the look-ahead row; true when there was one (another page follows).
pub(crate) fn trim_page<T>(rows: &mut Vec<T>, size: i64) -> bool {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if rows.len() > size {
        rows.truncate(size);
        true
    } else {
        false
    }
}

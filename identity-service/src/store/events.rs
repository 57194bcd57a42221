//! The change log: events written inside the transaction of the change they record, numbered in
//! commit order.
//!
//! Every writing transaction that records events updates the single `event_sequence` row last,
//! just before it commits. On PostgreSQL that row lock is held until commit, so a transaction
//! that takes numbers after another has committed — sequence numbers are handed out in commit
//! order, and a reader that has seen N never later finds a committed event below N (the trap of
//! a plain `WHERE seq > last` over a SERIAL column, whose values are taken at insert time and
//! may commit out of order). On SQLite the single writer serialises the same way.

use diesel::prelude::*;
use identity_proto::events::Action;
use serde_json::{Map, Value};

use super::connection::{MultiBackend, PrepareOnce as _, on_backend};

use super::schema::{event_sequence, events};
use super::{AnyConnection, Store, StoreError, StoreResult};
use crate::model::{Actor, Audit, Event, EventQuery, FieldChange, Micros, now_micros};

/// An event about to be recorded (the sequence, actor and time are added when it is written).
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub tenant_id: String,
    pub action: Action,
    pub resource_id: String,
    pub changes: Vec<FieldChange>,
}

/// The events of one write, recorded when the write's own work is done.
#[derive(Debug)]
pub(crate) struct ChangeLog {
    actor: Actor,
    events: Vec<NewEvent>,
}

impl ChangeLog {
    pub(super) fn new(actor: Actor) -> Self {
        ChangeLog {
            actor,
            events: Vec::new(),
        }
    }

    /// Whether the change touches API keys or tenants (which authentication caches read).
    /// The events recorded so far: about the rows the transaction changed.
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }

    pub(super) fn changes_keys(&self) -> bool {
        self.events
            .iter()
            .any(|event| matches!(event.action.resource_type(), "api_key" | "tenant"))
    }

    /// Who makes the change being logged.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn push(
        &mut self,
        tenant_id: &str,
        action: Action,
        resource_id: &str,
        changes: Vec<FieldChange>,
    ) {
        self.events.push(NewEvent {
            tenant_id: tenant_id.to_owned(),
            action,
            resource_id: resource_id.to_owned(),
            changes,
        });
    }
}

/// A resource's fields as JSON, to compare before and after.
pub(crate) type Snapshot = Map<String, Value>;

/// The fields that differ between two snapshots (`None` on a side: created or deleted).
pub(crate) fn diff(old: Option<&Snapshot>, new: Option<&Snapshot>) -> Vec<FieldChange> {
    let empty = Snapshot::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    let mut fields: Vec<&String> = old.keys().chain(new.keys()).collect();
    fields.sort();
    fields.dedup();
    fields
        .into_iter()
        .filter_map(|field| {
            let (before, after) = (old.get(field), new.get(field));
            (before != after).then(|| FieldChange {
                field: field.clone(),
                old: before.cloned(),
                new: after.cloned(),
            })
        })
        .collect()
}

/// The change of a `group.member_added` / `group.member_removed` event.
pub(crate) fn member_change(user_id: &str, added: bool) -> FieldChange {
    let user = Some(Value::String(user_id.to_owned()));
    FieldChange {
        field: "member".to_owned(),
        old: if added { None } else { user.clone() },
        new: if added { user } else { None },
    }
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = events)]
#[diesel(check_for_backend(MultiBackend))]
#[diesel(treat_none_as_default_value = false)]
struct EventRow {
    sequence: i64,
    tenant_id: String,
    actor_key_id: String,
    actor_key_kind: String,
    actor_user_id: Option<String>,
    action: String,
    resource_type: String,
    resource_id: String,
    changes: String,
    request_id: Option<String>,
    created_at: i64,
}

fn changes_to_json(changes: &[FieldChange]) -> String {
    let entries: Vec<Value> = changes
        .iter()
        .map(|change| {
            serde_json::json!({
                "field": change.field,
                "old": change.old,
                "new": change.new,
            })
        })
        .collect();
    Value::Array(entries).to_string()
}

fn changes_from_json(sequence: i64, text: &str) -> StoreResult<Vec<FieldChange>> {
    let corrupt = || StoreError::Corrupt(format!("event {sequence}: changes"));
    let Value::Array(entries) = serde_json::from_str(text).map_err(|_| corrupt())? else {
        return Err(corrupt());
    };
    entries
        .into_iter()
        .map(|entry| {
            let field = entry
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(corrupt)?;
            let side = |name: &str| entry.get(name).filter(|value| !value.is_null()).cloned();
            Ok(FieldChange {
                field: field.to_owned(),
                old: side("old"),
                new: side("new"),
            })
        })
        .collect()
}

impl EventRow {
    fn into_event(self) -> StoreResult<Event> {
        Ok(Event {
            changes: changes_from_json(self.sequence, &self.changes)?,
            sequence: self.sequence,
            tenant_id: self.tenant_id,
            actor: Actor {
                key_id: self.actor_key_id,
                key_kind: self.actor_key_kind,
                user_id: self.actor_user_id,
            },
            action: self.action,
            resource_type: self.resource_type,
            resource_id: self.resource_id,
            request_id: self.request_id,
            created_at: self.created_at,
        })
    }
}

/// Up to this many events a transaction writes one statement each (prepared once); more (an
/// import's) go in multi-row statements.
const FEW_EVENTS: usize = 16;

/// Writes the events of a transaction, numbered after every event committed before it. Call it
/// last in the transaction: the sequence row stays locked until the commit.
pub(super) fn record(conn: &mut AnyConnection, audit: &Audit, log: ChangeLog) -> StoreResult<i64> {
    if log.events.is_empty() {
        return Ok(0);
    }
    let count = i64::try_from(log.events.len()).unwrap_or(i64::MAX);
    // One statement: the row lock it takes is held until commit, so the fewer round trips
    // after it, the shorter writers queue on it.
    let last: i64 = on_backend!(&mut *conn, c => diesel::update(
        event_sequence::table.filter(event_sequence::id.eq(1))
    )
    .set(event_sequence::last.eq(event_sequence::last + count))
    .returning(event_sequence::last)
    .prepared_once()
    .get_result(c))?;
    let now = now_micros();
    let rows: Vec<EventRow> = log
        .events
        .into_iter()
        .zip(last - count + 1..)
        .map(|(event, sequence)| EventRow {
            sequence,
            tenant_id: event.tenant_id,
            actor_key_id: audit.actor.key_id.clone(),
            actor_key_kind: audit.actor.key_kind.clone(),
            actor_user_id: audit.actor.user_id.clone(),
            action: event.action.as_str().to_owned(),
            resource_type: event.action.resource_type().to_owned(),
            resource_id: event.resource_id,
            changes: changes_to_json(&event.changes),
            request_id: audit.request_id.clone(),
            created_at: now,
        })
        .collect();
    if rows.len() <= FEW_EVENTS {
        // One row per statement, of one prepared type.
        for row in &rows {
            on_backend!(&mut *conn, c => diesel::insert_into(events::table)
                .values(row)
                .execute(c))?;
        }
    } else {
        for chunk in rows.chunks(super::users::ROWS_PER_STATEMENT) {
            on_backend!(&mut *conn, c => diesel::insert_into(events::table)
                .values(chunk)
                .execute(c))?;
        }
    }
    Ok(last)
}

/// Where the log stands: the last sequence written and the last one pruned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogPosition {
    pub last: i64,
    pub pruned_through: i64,
}

fn position(conn: &mut AnyConnection) -> StoreResult<LogPosition> {
    let (last, pruned_through) = event_sequence::table
        .filter(event_sequence::id.eq(1))
        .select((event_sequence::last, event_sequence::pruned_through))
        .first::<(i64, i64)>(conn)?;
    Ok(LogPosition {
        last,
        pruned_through,
    })
}

impl Store {
    /// Events matching `query` after `query.after`, in sequence order, at most `query.limit`.
    pub async fn list_events(&self, query: EventQuery) -> StoreResult<Vec<Event>> {
        self.read(move |conn| {
            let mut select = events::table
                .filter(events::sequence.gt(query.after))
                .into_boxed::<MultiBackend>();
            if let Some(tenant_id) = query.tenant_id {
                select = select.filter(events::tenant_id.eq(tenant_id));
            }
            if let Some(resource_type) = query.resource_type {
                select = select.filter(events::resource_type.eq(resource_type));
            }
            if let Some(resource_id) = query.resource_id {
                select = select.filter(events::resource_id.eq(resource_id));
            }
            if let Some(key_id) = query.actor_key_id {
                select = select.filter(events::actor_key_id.eq(key_id));
            }
            if let Some(action) = query.action {
                select = select.filter(events::action.eq(action));
            }
            if let Some(since) = query.since {
                select = select.filter(events::created_at.ge(since));
            }
            if let Some(until) = query.until {
                select = select.filter(events::created_at.lt(until));
            }
            let rows: Vec<EventRow> = select
                .order(events::sequence.asc())
                .limit(query.limit)
                .select(EventRow::as_select())
                .load(conn)?;
            rows.into_iter().map(EventRow::into_event).collect()
        })
        .await
    }

    pub(crate) async fn event_log_position(&self) -> StoreResult<LogPosition> {
        self.read_statement(position).await
    }

    /// Deletes events written before `cutoff`; returns how many.
    pub async fn prune_events(&self, cutoff: Micros) -> StoreResult<usize> {
        self.write(move |conn| {
            let newest_pruned: Option<i64> = events::table
                .filter(events::created_at.lt(cutoff))
                .select(diesel::dsl::max(events::sequence))
                .first(conn)?;
            let Some(newest_pruned) = newest_pruned else {
                return Ok(0);
            };
            let deleted = diesel::delete(events::table.filter(events::sequence.le(newest_pruned)))
                .execute(conn)?;
            diesel::update(event_sequence::table.filter(event_sequence::id.eq(1)))
                .set(event_sequence::pruned_through.eq(newest_pruned))
                .execute(conn)?;
            Ok(deleted)
        })
        .await
    }
}

//! The provisioning log's table: outcomes written in batches, read newest first by tenant,
//! pruned by age.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::connection::MultiBackend;
use super::schema::provisioning_outcomes as outcomes;
use super::{Store, StoreResult};
use crate::model::{Micros, Outcome, OutcomeQuery, StatusClass};

#[derive(Insertable)]
#[diesel(table_name = outcomes)]
#[diesel(check_for_backend(MultiBackend))]
struct NewOutcomeRow<'a> {
    tenant_id: &'a str,
    key_id: &'a str,
    request_time: i64,
    request_id: &'a str,
    client_address: &'a str,
    user_agent: &'a str,
    method: &'a str,
    route: &'a str,
    resource_id: &'a str,
    status: i32,
    scim_type: &'a str,
    detail: &'a str,
    latency_micros: i64,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = outcomes)]
#[diesel(check_for_backend(MultiBackend))]
struct OutcomeRow {
    sequence: i64,
    tenant_id: String,
    key_id: String,
    request_time: i64,
    request_id: String,
    client_address: String,
    user_agent: String,
    method: String,
    route: String,
    resource_id: String,
    status: i32,
    scim_type: String,
    detail: String,
    latency_micros: i64,
}

impl From<OutcomeRow> for Outcome {
    fn from(row: OutcomeRow) -> Self {
        Outcome {
            sequence: row.sequence,
            tenant_id: row.tenant_id,
            key_id: row.key_id,
            request_time: row.request_time,
            request_id: row.request_id,
            client_address: row.client_address,
            user_agent: row.user_agent,
            method: row.method,
            route: row.route,
            resource_id: row.resource_id,
            status: row.status,
            scim_type: row.scim_type,
            detail: row.detail,
            latency_micros: row.latency_micros,
        }
    }
}

impl Store {
    /// Writes a batch of outcomes (already bounded) in one transaction.
    pub async fn record_outcomes(&self, batch: Vec<Outcome>) -> StoreResult<usize> {
        if batch.is_empty() {
            return Ok(0);
        }
        self.write(move |conn| {
            // One row per statement: MultiConnection has no batch insert.
            for outcome in &batch {
                diesel::insert_into(outcomes::table)
                    .values(NewOutcomeRow {
                        tenant_id: &outcome.tenant_id,
                        key_id: &outcome.key_id,
                        request_time: outcome.request_time,
                        request_id: &outcome.request_id,
                        client_address: &outcome.client_address,
                        user_agent: &outcome.user_agent,
                        method: &outcome.method,
                        route: &outcome.route,
                        resource_id: &outcome.resource_id,
                        status: outcome.status,
                        scim_type: &outcome.scim_type,
                        detail: &outcome.detail,
                        latency_micros: outcome.latency_micros,
                    })
                    .execute(conn)?;
            }
            Ok(batch.len())
        })
        .await
    }

    /// A tenant's outcomes matching `query`, newest first, at most `query.limit`.
    pub async fn list_outcomes(&self, query: OutcomeQuery) -> StoreResult<Vec<Outcome>> {
        self.read(move |conn| {
            let mut select = outcomes::table
                .filter(outcomes::tenant_id.eq(query.tenant_id))
                .into_boxed::<MultiBackend>();
            // Literal bounds (not bound parameters), so that the planner can use the partial
            // index of failures.
            select = match query.status {
                StatusClass::Any => select,
                StatusClass::Succeeded => select.filter(sql::<Bool>("status < 400")),
                StatusClass::Failed => select.filter(sql::<Bool>("status >= 400")),
                StatusClass::ClientError => {
                    select.filter(sql::<Bool>("status >= 400 AND status < 500"))
                }
                StatusClass::ServerError => select.filter(sql::<Bool>("status >= 500")),
            };
            if let Some(before) = query.before {
                select = select.filter(outcomes::sequence.lt(before));
            }
            if let Some(since) = query.since {
                select = select.filter(outcomes::request_time.ge(since));
            }
            if let Some(until) = query.until {
                select = select.filter(outcomes::request_time.lt(until));
            }
            if let Some(resource_id) = query.resource_id {
                select = select.filter(outcomes::resource_id.eq(resource_id));
            }
            if let Some(request_id) = query.request_id {
                select = select.filter(outcomes::request_id.eq(request_id));
            }
            let rows: Vec<OutcomeRow> = select
                .order(outcomes::sequence.desc())
                .limit(query.limit)
                .select(OutcomeRow::as_select())
                .load(conn)?;
            Ok(rows.into_iter().map(Outcome::from).collect())
        })
        .await
    }

    /// Deletes outcomes of requests made before `cutoff`, a bounded batch per transaction so
    /// that a large backlog never holds the writer long; returns how many.
    pub async fn prune_outcomes(&self, cutoff: Micros) -> StoreResult<usize> {
        const BATCH: i64 = 5_000;
        let mut pruned = 0;
        loop {
            let deleted = self
                .write(move |conn| {
                    let newest: Option<i64> = outcomes::table
                        .filter(outcomes::request_time.lt(cutoff))
                        .order(outcomes::sequence.asc())
                        .select(outcomes::sequence)
                        .offset(BATCH - 1)
                        .first(conn)
                        .optional()?;
                    let mut delete = diesel::delete(outcomes::table)
                        .filter(outcomes::request_time.lt(cutoff))
                        .into_boxed::<MultiBackend>();
                    if let Some(newest) = newest {
                        delete = delete.filter(outcomes::sequence.le(newest));
                    }
                    Ok(delete.execute(conn)?)
                })
                .await?;
            pruned += deleted;
            if i64::try_from(deleted).unwrap_or(i64::MAX) < BATCH {
                return Ok(pruned);
            }
        }
    }
}

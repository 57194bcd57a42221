//! The provisioning log's table. The gateway reports about a second of one key's outcomes at a
//! time, and each report is stored as one row (`provisioning_batches`): the batch's outcomes,
//! encoded, with the columns listings select batches by (tenant, time span, whether any
//! failed). Recording is then one insert per report rather than one per request — the log
//! costs the hot path next to nothing — and a listing decodes the batches it selects, newest
//! first, filtering their outcomes, within a bounded amount of work per call.
//!
//! An outcome's sequence is `batch sequence × BATCH_CAPACITY + its index in the batch`:
//! increasing in the order outcomes were recorded, and the page token of a listing.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;
use prost::Message as _;

use super::connection::MultiBackend;
use super::schema::provisioning_batches as batches;
use super::{Store, StoreError, StoreResult};
use crate::model::{Answer, Micros, Outcome, OutcomePage, OutcomeQuery, StatusClass};

/// Outcomes one row holds at most (a larger report is stored as several rows); also what
/// sequences are counted in.
const BATCH_CAPACITY: usize = 1000;
const CAPACITY: i64 = BATCH_CAPACITY as i64;
/// Outcomes one listing call looks at, at most: a filter that matches little returns a short
/// page (or none) with a token to go on from, rather than reading the whole log at once.
const SCAN_BUDGET: usize = 20_000;
/// Batches read per query while listing.
const BATCHES_PER_READ: i64 = 16;

#[derive(Clone, PartialEq, prost::Message)]
struct StoredBatch {
    #[prost(message, repeated, tag = "1")]
    answers: Vec<Answer>,
}

#[derive(Insertable)]
#[diesel(table_name = batches)]
#[diesel(check_for_backend(MultiBackend))]
struct NewBatchRow<'a> {
    tenant_id: &'a str,
    key_id: &'a str,
    first_request_time: i64,
    last_request_time: i64,
    size: i32,
    failures: i32,
    outcomes: Vec<u8>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = batches)]
#[diesel(check_for_backend(MultiBackend))]
struct BatchRow {
    sequence: i64,
    tenant_id: String,
    key_id: String,
    outcomes: Vec<u8>,
}

impl StatusClass {
    fn admits(self, status: i32) -> bool {
        match self {
            StatusClass::Any => true,
            StatusClass::Succeeded => status < 400,
            StatusClass::Failed => status >= 400,
            StatusClass::ClientError => (400..500).contains(&status),
            StatusClass::ServerError => status >= 500,
        }
    }
}

impl OutcomeQuery {
    fn admits(&self, outcome: &Answer) -> bool {
        self.status.admits(outcome.status)
            && self.since.is_none_or(|since| outcome.request_time >= since)
            && self.until.is_none_or(|until| outcome.request_time < until)
            && self
                .resource_id
                .as_ref()
                .is_none_or(|id| *id == outcome.resource_id)
            && self
                .request_id
                .as_ref()
                .is_none_or(|id| *id == outcome.request_id)
            && self
                .route_segment
                .as_ref()
                .is_none_or(|segment| outcome.route.split('/').any(|s| s == segment))
            && (!self.connection_tests_only || outcome.connection_test)
    }
}

impl Store {
    /// Records one report of what `key_id`'s requests got, for `tenant_id` (already bounded).
    pub async fn record_outcomes(
        &self,
        tenant_id: String,
        key_id: String,
        answers: Vec<Answer>,
    ) -> StoreResult<()> {
        if answers.is_empty() {
            return Ok(());
        }
        let mut rows = Vec::new();
        let mut answers = answers.into_iter().peekable();
        while answers.peek().is_some() {
            let chunk: Vec<Answer> = answers.by_ref().take(BATCH_CAPACITY).collect();
            let times = chunk.iter().map(|answer| answer.request_time);
            let (first, last) = (times.clone().min(), times.max());
            let failures = chunk.iter().filter(|answer| answer.status >= 400).count();
            rows.push((
                first.unwrap_or_default(),
                last.unwrap_or_default(),
                i32::try_from(chunk.len()).unwrap_or(i32::MAX),
                i32::try_from(failures).unwrap_or(i32::MAX),
                StoredBatch { answers: chunk }.encode_to_vec(),
            ));
        }
        self.write(move |conn| {
            for (first, last, size, failures, encoded) in rows {
                diesel::insert_into(batches::table)
                    .values(NewBatchRow {
                        tenant_id: &tenant_id,
                        key_id: &key_id,
                        first_request_time: first,
                        last_request_time: last,
                        size,
                        failures,
                        outcomes: encoded,
                    })
                    .execute(conn)?;
            }
            Ok(())
        })
        .await
    }

    /// A tenant's outcomes matching `query`, newest first: at most `query.limit`, and where to
    /// go on from when there may be more (also when the scan budget ran out first).
    pub async fn list_outcomes(&self, query: OutcomeQuery) -> StoreResult<OutcomePage> {
        self.read(move |conn| {
            let limit = usize::try_from(query.limit).unwrap_or(0).max(1);
            let mut found: Vec<Outcome> = Vec::new();
            let mut examined = 0;
            // Outcomes below this sequence are still to be looked at.
            let mut below = query.before.unwrap_or(i64::MAX);
            loop {
                let rows = batches_below(conn, &query, below)?;
                let exhausted = i64::try_from(rows.len()).unwrap_or(0) < BATCHES_PER_READ;
                for row in rows {
                    let batch = StoredBatch::decode(row.outcomes.as_slice()).map_err(|_| {
                        StoreError::Corrupt(format!("provisioning batch {}", row.sequence))
                    })?;
                    let first_sequence = row.sequence.saturating_mul(CAPACITY);
                    for (index, answer) in batch.answers.into_iter().enumerate().rev() {
                        let sequence =
                            first_sequence + i64::try_from(index).unwrap_or(CAPACITY - 1);
                        if sequence >= below {
                            continue;
                        }
                        if examined == SCAN_BUDGET {
                            return Ok(OutcomePage {
                                outcomes: found,
                                resume: Some(below),
                            });
                        }
                        examined += 1;
                        below = sequence;
                        if !query.admits(&answer) {
                            continue;
                        }
                        if found.len() == limit {
                            // One more than asked for: there is a next page.
                            let resume = found.last().map(|last| last.sequence);
                            return Ok(OutcomePage {
                                outcomes: found,
                                resume,
                            });
                        }
                        found.push(Outcome {
                            sequence,
                            tenant_id: row.tenant_id.clone(),
                            key_id: row.key_id.clone(),
                            answer,
                        });
                    }
                    // Everything in this batch has been looked at.
                    below = first_sequence;
                }
                if exhausted {
                    return Ok(OutcomePage {
                        outcomes: found,
                        resume: None,
                    });
                }
            }
        })
        .await
    }

    /// Deletes batches whose every request was made before `cutoff`, a bounded number per
    /// transaction so that a large backlog never holds the writer long; returns how many
    /// outcomes went.
    pub async fn prune_outcomes(&self, cutoff: Micros) -> StoreResult<usize> {
        const ROWS_PER_TRANSACTION: i64 = 1_000;
        let mut pruned = 0;
        loop {
            let (rows, outcomes) = self
                .write(move |conn| {
                    let doomed: Vec<(i64, i32)> = batches::table
                        .filter(batches::last_request_time.lt(cutoff))
                        .order(batches::sequence.asc())
                        .select((batches::sequence, batches::size))
                        .limit(ROWS_PER_TRANSACTION)
                        .load(conn)?;
                    let Some(&(newest, _)) = doomed.last() else {
                        return Ok((0, 0));
                    };
                    diesel::delete(batches::table)
                        .filter(batches::last_request_time.lt(cutoff))
                        .filter(batches::sequence.le(newest))
                        .execute(conn)?;
                    let outcomes: i64 = doomed.iter().map(|(_, size)| i64::from(*size)).sum();
                    Ok((
                        doomed.len(),
                        usize::try_from(outcomes).unwrap_or(usize::MAX),
                    ))
                })
                .await?;
            pruned += outcomes;
            if i64::try_from(rows).unwrap_or(i64::MAX) < ROWS_PER_TRANSACTION {
                return Ok(pruned);
            }
        }
    }
}

/// The next batches to look at, newest first: those holding outcomes below `below` that could
/// match (by tenant, time span and, for failures, whether any failed).
fn batches_below(
    conn: &mut super::AnyConnection,
    query: &OutcomeQuery,
    below: i64,
) -> StoreResult<Vec<BatchRow>> {
    // The batch holding sequence `below - 1` and older ones.
    let newest_batch = below.saturating_sub(1).div_euclid(CAPACITY);
    let mut select = batches::table
        .filter(batches::tenant_id.eq(&query.tenant_id))
        .filter(batches::sequence.le(newest_batch))
        .into_boxed::<MultiBackend>();
    if matches!(
        query.status,
        StatusClass::Failed | StatusClass::ClientError | StatusClass::ServerError
    ) {
        // A literal, not a bound parameter, so that the planner uses the partial index.
        select = select.filter(sql::<Bool>("failures > 0"));
    }
    if let Some(since) = query.since {
        select = select.filter(batches::last_request_time.ge(since));
    }
    if let Some(until) = query.until {
        select = select.filter(batches::first_request_time.lt(until));
    }
    Ok(select
        .order(batches::sequence.desc())
        .limit(BATCHES_PER_READ)
        .select(BatchRow::as_select())
        .load(conn)?)
}

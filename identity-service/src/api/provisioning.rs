//! `identity.v1.ProvisioningLog`: outcomes of SCIM requests, reported by the gateway in batches
//! with the key the requests came with, and read by the tenant's admins.

use identity_proto::v1 as pb;
use identity_proto::v1::provisioning_log_server::ProvisioningLog;
use tonic::{Request, Response, Status};

use super::authorized;
use super::convert::{micros, time_range, timestamp};
use super::paging::{page_size, sequence_token};
use crate::error::ApiError;
use crate::model::{Answer, Outcome, OutcomeQuery, StatusClass, now_micros};
use crate::policy::Rpc;
use crate::store::Store;

/// The most outcomes one report may carry.
const MAX_BATCH: usize = identity_proto::provisioning::MAX_OUTCOMES_PER_REPORT;

#[derive(Debug, Clone)]
pub(crate) struct ProvisioningLogApi {
    store: Store,
}

impl ProvisioningLogApi {
    pub fn new(store: Store) -> Self {
        ProvisioningLogApi { store }
    }
}

/// A reported outcome, cut to the stored limits. (Its tenant and key are the reporting key's,
/// whatever the report says.)
fn answer_from_pb(index: usize, mut outcome: pb::ProvisioningOutcome) -> Result<Answer, ApiError> {
    identity_proto::provisioning::bound(&mut outcome);
    // Named only when refused: a report carries up to a thousand outcomes.
    let field = |name: &str| format!("outcomes[{index}].{name}");
    if !(100..=599).contains(&outcome.status) {
        return Err(ApiError::invalid(
            field("status"),
            "an HTTP status, 100 to 599",
        ));
    }
    let request_time = match &outcome.request_time {
        Some(time) => micros("request_time", time)
            .map_err(|_| ApiError::invalid(field("request_time"), "not a valid time"))?,
        None => now_micros(),
    };
    let latency_micros = outcome.latency.map_or(0, |latency| {
        latency
            .seconds
            .saturating_mul(1_000_000)
            .saturating_add(i64::from(latency.nanos / 1_000))
            .max(0)
    });
    Ok(Answer {
        request_time,
        request_id: outcome.request_id,
        client_address: outcome.client_address,
        user_agent: outcome.user_agent,
        method: outcome.method,
        route: outcome.route,
        resource_id: outcome.resource_id,
        status: outcome.status,
        scim_type: outcome.scim_type,
        detail: outcome.detail,
        latency_micros,
        connection_test: outcome.connection_test,
    })
}

fn outcome_to_pb(outcome: Outcome) -> pb::ProvisioningOutcome {
    let Outcome {
        sequence,
        tenant_id,
        key_id,
        answer,
    } = outcome;
    pb::ProvisioningOutcome {
        sequence,
        tenant_id,
        key_id,
        request_time: Some(timestamp(answer.request_time)),
        request_id: answer.request_id,
        client_address: answer.client_address,
        user_agent: answer.user_agent,
        method: answer.method,
        route: answer.route,
        resource_id: answer.resource_id,
        status: answer.status,
        scim_type: answer.scim_type,
        detail: answer.detail,
        latency: Some(prost_types::Duration {
            seconds: answer.latency_micros.div_euclid(1_000_000),
            nanos: i32::try_from(answer.latency_micros.rem_euclid(1_000_000) * 1_000).unwrap_or(0),
        }),
        connection_test: answer.connection_test,
    }
}

fn status_class(value: i32) -> Result<StatusClass, ApiError> {
    Ok(match pb::StatusClass::try_from(value) {
        Ok(pb::StatusClass::Unspecified) => StatusClass::Any,
        Ok(pb::StatusClass::Succeeded) => StatusClass::Succeeded,
        Ok(pb::StatusClass::Failed) => StatusClass::Failed,
        Ok(pb::StatusClass::ClientError) => StatusClass::ClientError,
        Ok(pb::StatusClass::ServerError) => StatusClass::ServerError,
        Err(_) => return Err(ApiError::invalid("status_class", "unknown status class")),
    })
}

fn non_empty(text: String) -> Option<String> {
    Some(text).filter(|text| !text.is_empty())
}

#[tonic::async_trait]
impl ProvisioningLog for ProvisioningLogApi {
    async fn record_outcomes(
        &self,
        request: Request<pb::RecordOutcomesRequest>,
    ) -> Result<Response<()>, Status> {
        let (caller, _) = authorized(&self.store, &request, Rpc::RecordOutcomes)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        if request.outcomes.len() > MAX_BATCH {
            return Err(ApiError::invalid(
                "outcomes",
                format!("at most {MAX_BATCH} outcomes a report"),
            )
            .into());
        }
        let batch = request
            .outcomes
            .into_iter()
            .enumerate()
            .map(|(index, outcome)| answer_from_pb(index, outcome))
            .collect::<Result<Vec<_>, _>>()?;
        self.store
            .record_outcomes(tenant_id.into_string(), caller.key_id, batch)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(()))
    }

    async fn list_outcomes(
        &self,
        request: Request<pb::ListOutcomesRequest>,
    ) -> Result<Response<pb::ListOutcomesResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListOutcomes)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let page = request.page.unwrap_or_default();
        let size = page_size(&page)?;
        let (since, until) = time_range(request.start_time.as_ref(), request.end_time.as_ref())?;
        let query = OutcomeQuery {
            tenant_id: tenant_id.into_string(),
            status: status_class(request.status_class)?,
            since,
            until,
            resource_id: non_empty(request.resource_id),
            request_id: non_empty(request.request_id),
            route_segment: non_empty(request.route_segment),
            connection_tests_only: request.connection_tests_only,
            before: sequence_token(&page, "the provisioning log")?,
            limit: size,
        };
        let page = store.list_outcomes(query).await.map_err(ApiError::from)?;
        Ok(Response::new(pb::ListOutcomesResponse {
            outcomes: page.outcomes.into_iter().map(outcome_to_pb).collect(),
            page: Some(pb::PageResponse {
                next_page_token: page
                    .resume
                    .map(|sequence| sequence.to_string())
                    .unwrap_or_default(),
                total_size: None,
            }),
        }))
    }
}

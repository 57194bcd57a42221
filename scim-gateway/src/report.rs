//! The provisioning log, as the gateway feeds it: every answered SCIM request that came with a
//! credential becomes an outcome (time, request id, client, method, route, resource, status,
//! SCIM error) — never a body, a header or the credential itself. Outcomes go on a bounded
//! queue, off the request's path, and a background task reports them to the identity service
//! in batches, one call per key with that key (the gateway holds no credential of its own; the
//! service stamps each outcome with the key's id and tenant). What the queue cannot take, or
//! the service refuses, is dropped and counted in `scim_provisioning_log_dropped_total`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use identity_proto::metadata;
use identity_proto::v1 as pb;
use tokio::sync::mpsc;

use crate::client::Identity;
use crate::listen::ClientAddr;
use crate::scim::error::Answered;

/// Outcomes waiting to be reported, at most: about a second of a busy replica's requests.
const QUEUE: usize = 10_000;
/// Outcomes reported at most this long after their request.
const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Outcomes in one report (the service takes up to 1000).
const BATCH: usize = 500;

/// One outcome and the credential its request came with.
struct Pending {
    authorization: HeaderValue,
    outcome: pb::ProvisioningOutcome,
}

/// Where requests' outcomes are queued; cheap to clone.
#[derive(Clone)]
pub(crate) struct Reporter {
    queue: mpsc::Sender<Pending>,
}

fn dropped(reason: &'static str, count: usize) {
    metrics::counter!("scim_provisioning_log_dropped_total", "reason" => reason)
        .increment(u64::try_from(count).unwrap_or(u64::MAX));
}

impl Reporter {
    /// The queue, and the task that reports what it holds until every [`Reporter`] is gone
    /// (the server has stopped), then reports the rest.
    pub(crate) fn start(identity: Arc<Identity>) -> (Reporter, impl Future<Output = ()> + Send) {
        let (queue, received) = mpsc::channel(QUEUE);
        (Reporter { queue }, report(identity, received))
    }

    fn queue(&self, pending: Pending) {
        if self.queue.try_send(pending).is_err() {
            dropped("queue_full", 1);
        }
    }
}

/// The middleware: lets the request through, then queues its outcome. Requests without a
/// credential, and those whose credential was refused (401), belong to no tenant.
pub(crate) async fn record_outcome(
    State(reporter): State<Reporter>,
    request: Request,
    next: Next,
) -> Response {
    let Some(authorization) = request.headers().get(header::AUTHORIZATION).cloned() else {
        return next.run(request).await;
    };
    let request_time = SystemTime::now();
    let started = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let path_id = route.ends_with("/{id}").then(|| {
        request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned()
    });
    let (request_id, user_agent, client_address) = {
        let text = |name: &header::HeaderName| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let client_address = request
            .extensions()
            .get::<ConnectInfo<ClientAddr>>()
            .map(|ConnectInfo(ClientAddr(address))| address.ip().to_string())
            .unwrap_or_default();
        (
            text(&crate::http::REQUEST_ID),
            text(&header::USER_AGENT),
            client_address,
        )
    };

    let response = next.run(request).await;

    let status = response.status();
    if status == StatusCode::UNAUTHORIZED {
        return response;
    }
    // A created resource is named by its Location.
    let resource_id = path_id.or_else(|| {
        (status == StatusCode::CREATED)
            .then(|| response.headers().get(header::LOCATION))
            .flatten()
            .and_then(|location| location.to_str().ok())
            .and_then(|location| location.rsplit('/').next())
            .map(str::to_owned)
    });
    let answered = response.extensions().get::<Answered>();
    let latency = started.elapsed();
    let mut outcome = pb::ProvisioningOutcome {
        request_time: Some(request_time.into()),
        request_id,
        client_address,
        user_agent,
        method,
        route,
        resource_id: resource_id.unwrap_or_default(),
        status: i32::from(status.as_u16()),
        scim_type: answered
            .and_then(|answered| answered.scim_type)
            .map(|scim_type| scim_type.as_str().to_owned())
            .unwrap_or_default(),
        detail: answered
            .map(|answered| answered.detail.clone())
            .unwrap_or_default(),
        latency: prost_types::Duration::try_from(latency).ok(),
        ..Default::default()
    };
    // Bounded before it is queued, whatever the client sent (a user agent can be kilobytes).
    identity_proto::provisioning::bound(&mut outcome);
    reporter.queue(Pending {
        authorization,
        outcome,
    });
    response
}

/// Collects outcomes by credential and reports them every [`FLUSH_EVERY`], or sooner when a
/// batch is full.
async fn report(identity: Arc<Identity>, mut received: mpsc::Receiver<Pending>) {
    let mut waiting: HashMap<HeaderValue, Vec<pb::ProvisioningOutcome>> = HashMap::new();
    let mut count = 0;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            pending = received.recv() => match pending {
                Some(Pending { authorization, outcome }) => {
                    waiting.entry(authorization).or_default().push(outcome);
                    count += 1;
                    if count >= BATCH {
                        flush(&identity, &mut waiting).await;
                        count = 0;
                    }
                }
                None => {
                    flush(&identity, &mut waiting).await;
                    return;
                }
            },
            _ = tick.tick() => {
                flush(&identity, &mut waiting).await;
                count = 0;
            }
        }
    }
}

/// Reports every waiting outcome, one call per credential.
async fn flush(
    identity: &Identity,
    waiting: &mut HashMap<HeaderValue, Vec<pb::ProvisioningOutcome>>,
) {
    for (authorization, outcomes) in waiting.drain() {
        let count = outcomes.len();
        let mut request = tonic::Request::new(pb::RecordOutcomesRequest {
            tenant_id: String::new(),
            outcomes,
        });
        match tonic::metadata::MetadataValue::try_from(authorization.as_bytes()) {
            Ok(value) => {
                request
                    .metadata_mut()
                    .insert(metadata::AUTHORIZATION, value);
            }
            Err(_) => {
                dropped("rejected", count);
                continue;
            }
        }
        let reported = identity.provisioning_log().record_outcomes(request).await;
        if reported.is_ok() {
            metrics::counter!("scim_provisioning_log_reported_total")
                .increment(u64::try_from(count).unwrap_or(u64::MAX));
        }
        if let Err(status) = reported {
            let reason = match status.code() {
                tonic::Code::Unavailable
                | tonic::Code::DeadlineExceeded
                | tonic::Code::ResourceExhausted => "unavailable",
                _ => "rejected",
            };
            tracing::debug!(code = ?status.code(), count, "provisioning outcomes not recorded");
            dropped(reason, count);
        }
    }
}

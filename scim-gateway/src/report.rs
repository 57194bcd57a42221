//! The provisioning log, as the gateway feeds it: every answered SCIM request that came with a
//! credential becomes an outcome (time, request id, client, method, route, resource, status,
//! SCIM error) — never a body, a header or the credential itself. Outcomes go on a bounded
//! queue, off the request's path, and a background task reports them to the identity service
//! in batches, one call per key with that key (the gateway holds no credential of its own; the
//! service stamps each outcome with the key's id and tenant). What the queue cannot take, or
//! the service refuses, is dropped and counted in `scim_provisioning_log_dropped_total`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{ConnectInfo, MatchedPath, Request};
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
/// Outcomes waiting at most before they are reported early (a report takes up to 1000).
const BATCH: usize = identity_proto::provisioning::MAX_OUTCOMES_PER_REPORT;

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
    pub(crate) fn new(identity: Arc<Identity>) -> (Reporter, impl Future<Output = ()> + Send) {
        let (queue, received) = mpsc::channel(QUEUE);
        (Reporter { queue }, report(identity, received))
    }

    fn queue(&self, pending: Pending) {
        if self.queue.try_send(pending).is_err() {
            dropped("queue_full", 1);
        }
    }
}

/// Whether `request` is Okta's Test API Credentials: `GET /Users?startIndex=1&count=2`, no
/// filter (SCIM.md, "Test API Credentials and import"). Okta's import asks for 100 at a time
/// and its lookups filter, so this shape is the test's alone.
fn is_connection_test(request: &Request, route: &str) -> bool {
    if request.method() != http::Method::GET || !route.ends_with("/Users") {
        return false;
    }
    let query = request.uri().query().unwrap_or_default();
    let mut start_index = None;
    let mut count = None;
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if name.eq_ignore_ascii_case("startIndex") {
            start_index = Some(value);
        } else if name.eq_ignore_ascii_case("count") {
            count = Some(value);
        } else if name.eq_ignore_ascii_case("filter") {
            return false;
        }
    }
    start_index.as_deref() == Some("1") && count.as_deref() == Some("2")
}

/// A request on its way: what its outcome needs from the request.
pub(crate) struct Started {
    authorization: HeaderValue,
    request_time: SystemTime,
    started: Instant,
    outcome: pb::ProvisioningOutcome,
}

impl Reporter {
    /// Notes what the outcome of `request` needs. Requests without a credential belong to no
    /// tenant and are not recorded.
    pub(crate) fn start(&self, request: &Request) -> Option<Started> {
        let authorization = request.headers().get(header::AUTHORIZATION)?.clone();
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map_or("unmatched", MatchedPath::as_str);
        let text = |name: &header::HeaderName| {
            request
                .headers()
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        let resource_id = if route.ends_with("/{id}") {
            request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_owned()
        } else {
            String::new()
        };
        Some(Started {
            authorization,
            request_time: SystemTime::now(),
            started: Instant::now(),
            outcome: pb::ProvisioningOutcome {
                request_id: text(&crate::http::REQUEST_ID),
                user_agent: text(&header::USER_AGENT),
                client_address: request
                    .extensions()
                    .get::<ConnectInfo<ClientAddr>>()
                    .map(|ConnectInfo(ClientAddr(address))| address.ip().to_string())
                    .unwrap_or_default(),
                method: request.method().as_str().to_owned(),
                route: route.to_owned(),
                resource_id,
                connection_test: is_connection_test(request, route),
                ..Default::default()
            },
        })
    }

    /// Queues the outcome of a request answered with `response` — unless its credential was
    /// refused (401): such a request belongs to no tenant.
    pub(crate) fn finish(&self, started: Started, response: &Response) {
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED {
            return;
        }
        let Started {
            authorization,
            request_time,
            started,
            mut outcome,
        } = started;
        // A created resource is named by its Location.
        if outcome.resource_id.is_empty()
            && status == StatusCode::CREATED
            && let Some(id) = response
                .headers()
                .get(header::LOCATION)
                .and_then(|location| location.to_str().ok())
                .and_then(|location| location.rsplit('/').next())
        {
            id.clone_into(&mut outcome.resource_id);
        }
        if let Some(answered) = response.extensions().get::<Answered>() {
            outcome.scim_type = answered
                .scim_type
                .map(|scim_type| scim_type.as_str().to_owned())
                .unwrap_or_default();
            outcome.detail.clone_from(&answered.detail);
        }
        outcome.status = i32::from(status.as_u16());
        outcome.request_time = Some(request_time.into());
        outcome.latency = prost_types::Duration::try_from(started.elapsed()).ok();
        // Bounded before it is queued, whatever the client sent (a user agent can be kilobytes).
        identity_proto::provisioning::bound(&mut outcome);
        self.queue(Pending {
            authorization,
            outcome,
        });
    }
}

/// Collects outcomes by credential and reports them every [`FLUSH_EVERY`], or sooner when a
/// batch is full.
async fn report(identity: Arc<Identity>, mut received: mpsc::Receiver<Pending>) {
    // By credential; a replica sees a few keys a second, so a scan beats hashing each header.
    let mut waiting: Vec<(HeaderValue, Vec<pb::ProvisioningOutcome>)> = Vec::new();
    let mut count = 0;
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            pending = received.recv() => match pending {
                Some(Pending { authorization, outcome }) => {
                    match waiting.iter_mut().rev().find(|(key, _)| *key == authorization) {
                        Some((_, outcomes)) => outcomes.push(outcome),
                        None => waiting.push((authorization, vec![outcome])),
                    }
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
    waiting: &mut Vec<(HeaderValue, Vec<pb::ProvisioningOutcome>)>,
) {
    for (authorization, outcomes) in waiting.drain(..) {
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

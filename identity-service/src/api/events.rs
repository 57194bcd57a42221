//! `identity.v1.Events`: the change log, listed and watched.
//!
//! A watch reads the log from its cursor in batches and then waits for more: woken at once by a
//! commit of this process, and by a poll for commits of other replicas on the same database
//! (no LISTEN/NOTIFY: diesel's synchronous connections cannot wait on notifications, and a
//! short indexed poll — `sequence > cursor` — costs little). Sequence numbers are handed out in
//! commit order (see `store::events`), so reading `sequence > cursor` never skips a late commit.

use std::pin::Pin;
use std::time::Duration;

use identity_proto::v1 as pb;
use identity_proto::v1::events_server::Events;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use super::authorized;
use super::convert::{time_range, timestamp};
use super::paging::{page_size, sequence_page, sequence_token};
use crate::error::ApiError;
use crate::model::{Event, EventQuery};
use crate::policy::{Caller, Class, Rpc};
use crate::store::Store;

/// Events read per query while a watch catches up.
const WATCH_BATCH: i64 = 500;

#[derive(Debug, Clone, Copy)]
pub struct WatchOptions {
    /// How often a waiting watch looks for events committed by other replicas.
    pub poll_interval: Duration,
    /// Events queued for one watcher before it is told to resume from its cursor.
    pub buffer: usize,
}

impl Default for WatchOptions {
    fn default() -> Self {
        WatchOptions {
            poll_interval: Duration::from_millis(200),
            buffer: 1024,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct EventsApi {
    store: Store,
    options: WatchOptions,
    /// Becomes true when the server shuts down: watches end so that shutdown can drain.
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl EventsApi {
    pub fn new(
        store: Store,
        options: WatchOptions,
        stopping: tokio::sync::watch::Receiver<bool>,
    ) -> Self {
        EventsApi {
            store,
            options,
            stopping,
        }
    }
}

/// The tenant whose events the caller may read: its own for a tenant-scoped key; the one named,
/// or every tenant (`None`), for the operator.
fn readable_tenant(caller: &Caller, requested: &str) -> Result<Option<String>, ApiError> {
    match (caller.class(), requested) {
        (Class::Operator, "") => Ok(None),
        _ => caller
            .tenant_for(requested)
            .map(|tenant| Some(tenant.into_string())),
    }
}

fn event_to_pb(event: Event) -> pb::Event {
    let key_kind = match event.actor.key_kind.as_str() {
        "service" => pb::ApiKeyKind::Service,
        "scim" => pb::ApiKeyKind::Scim,
        crate::policy::PORTAL_KEY_KIND => pb::ApiKeyKind::Portal,
        _ => pb::ApiKeyKind::Unspecified,
    };
    pb::Event {
        sequence: event.sequence,
        tenant_id: event.tenant_id,
        actor: Some(pb::Actor {
            key_id: event.actor.key_id,
            key_kind: key_kind.into(),
            user_id: event.actor.user_id.unwrap_or_default(),
        }),
        action: event.action,
        resource_type: event.resource_type,
        resource_id: event.resource_id,
        changes: event
            .changes
            .into_iter()
            .map(|change| pb::FieldChange {
                field: change.field,
                old_value_json: change.old.map(|value| value.to_string()),
                new_value_json: change.new.map(|value| value.to_string()),
            })
            .collect(),
        request_id: event.request_id.unwrap_or_default(),
        create_time: Some(timestamp(event.created_at)),
    }
}

fn non_empty(text: String) -> Option<String> {
    Some(text).filter(|text| !text.is_empty())
}

/// Counts a watch in `identity_watchers` for as long as it runs.
struct Watching;

impl Watching {
    fn start() -> Self {
        metrics::gauge!("identity_watchers").increment(1);
        Watching
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        metrics::gauge!("identity_watchers").decrement(1);
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<pb::Event, Status>> + Send>>;

#[tonic::async_trait]
impl Events for EventsApi {
    async fn list_events(
        &self,
        request: Request<pb::ListEventsRequest>,
    ) -> Result<Response<pb::ListEventsResponse>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::ListEvents)?;
        let request = request.into_inner();
        let tenant_id = readable_tenant(&caller, &request.tenant_id)?;
        let page = request.page.unwrap_or_default();
        let size = page_size(&page)?;
        let after = sequence_token(&page, "the change log")?.unwrap_or(0);
        let (since, until) = time_range(request.start_time.as_ref(), request.end_time.as_ref())?;
        let query = EventQuery {
            tenant_id,
            resource_type: non_empty(request.resource_type),
            resource_id: non_empty(request.resource_id),
            actor_key_id: non_empty(request.actor_key_id),
            action: non_empty(request.action),
            since,
            until,
            after,
            limit: size + 1,
        };
        let mut events = store.list_events(query).await?;
        let page = sequence_page(&mut events, size, |event| event.sequence);
        Ok(Response::new(pb::ListEventsResponse {
            events: events.into_iter().map(event_to_pb).collect(),
            page: Some(page),
        }))
    }

    type WatchEventsStream = EventStream;

    async fn watch_events(
        &self,
        request: Request<pb::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        use pb::watch_events_request::Start;
        let (caller, store) = authorized(&self.store, &request, Rpc::WatchEvents)?;
        let request = request.into_inner();
        let tenant_id = readable_tenant(&caller, &request.tenant_id)?;
        let position = store.event_log_position().await?;
        let cursor = match request.start {
            Some(Start::AfterSequence(after)) if after < 0 => {
                return Err(ApiError::invalid("after_sequence", "must not be negative").into());
            }
            Some(Start::AfterSequence(after)) if after < position.pruned_through => {
                return Err(Status::out_of_range(format!(
                    "events up to {} were removed by retention; watch after_sequence {} or later \
                     (or from_now), and list older history elsewhere",
                    position.pruned_through, position.pruned_through
                )));
            }
            Some(Start::AfterSequence(after)) => after,
            Some(Start::FromNow(_)) | None => position.last,
        };
        let (sender, receiver) = mpsc::channel(self.options.buffer);
        tokio::spawn(watch(
            store,
            tenant_id,
            cursor,
            self.options.poll_interval,
            self.stopping.clone(),
            sender,
        ));
        Ok(Response::new(Box::pin(ReceiverStream::new(receiver))))
    }
}

/// Feeds one watcher until it goes away, falls too far behind, or the database fails.
async fn watch(
    store: Store,
    tenant_id: Option<String>,
    mut cursor: i64,
    poll_interval: Duration,
    mut stopping: tokio::sync::watch::Receiver<bool>,
    sender: mpsc::Sender<Result<pb::Event, Status>>,
) {
    let _watching = Watching::start();
    let mut written = store.events_written();
    loop {
        if *stopping.borrow() {
            let status = Status::unavailable(format!(
                "the server is shutting down; resume with after_sequence {cursor}"
            ));
            let _ = sender.try_send(Err(status));
            return;
        }
        let query = EventQuery {
            tenant_id: tenant_id.clone(),
            after: cursor,
            limit: WATCH_BATCH,
            ..EventQuery::default()
        };
        let batch = match store.list_events(query).await {
            Ok(batch) => batch,
            Err(error) => {
                let _ = sender.send(Err(Status::from(error))).await;
                return;
            }
        };
        // How far behind the watcher is (at most a batch), as it reads.
        metrics::histogram!("identity_watch_backlog_events").record(batch.len() as f64);
        if batch.is_empty() {
            tokio::select! {
                _ = written.changed() => {}
                _ = stopping.changed() => {}
                () = tokio::time::sleep(poll_interval) => {}
                () = sender.closed() => return,
            }
            continue;
        }
        for event in batch {
            let sequence = event.sequence;
            match sender.try_send(Ok(event_to_pb(event))) {
                Ok(()) => cursor = sequence,
                Err(mpsc::error::TrySendError::Full(_)) => {
                    // Never buffer without bound: the watcher resumes from what it has seen.
                    let status = Status::resource_exhausted(format!(
                        "the watcher fell too far behind; resume with after_sequence {cursor}"
                    ));
                    tokio::select! {
                        _ = sender.send(Err(status)) => {}
                        () = sender.closed() => {}
                    }
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        }
    }
}

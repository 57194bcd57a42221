//! `events …`: the change log.

use clap::Subcommand;
use identity_proto::v1 as pb;
use identity_proto::v1::events_client::EventsClient;

use super::{ClientArgs, failure, time};

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print every event as it commits, one line each, until interrupted.
    Tail {
        /// Only this tenant's events (a key over all tenants sees every tenant's otherwise).
        #[arg(long)]
        tenant: Option<String>,
        /// Start after this sequence (0: from the oldest kept); default: from now.
        #[arg(long)]
        from: Option<i64>,
        /// One JSON object per event (JSON Lines).
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

impl EventsCommand {
    pub async fn run(self) -> anyhow::Result<()> {
        use pb::watch_events_request::Start;
        let EventsCommand::Tail {
            tenant,
            from,
            json,
            client,
        } = self;
        // No call timeout: the stream lasts until interrupted.
        let mut events = EventsClient::new(client.connect(None).await?);
        let request = pb::WatchEventsRequest {
            tenant_id: tenant.unwrap_or_default(),
            start: Some(match from {
                Some(after) => Start::AfterSequence(after),
                None => Start::FromNow(true),
            }),
        };
        let mut stream = events
            .watch_events(request)
            .await
            .map_err(failure)?
            .into_inner();
        let mut last = from;
        loop {
            match stream.message().await {
                Ok(Some(event)) => {
                    last = Some(event.sequence);
                    if json {
                        println!("{}", event_json(&event));
                    } else {
                        println!("{}", event_line(&event));
                    }
                }
                Ok(None) => return Ok(()),
                // Ended by the server (shut down, or this tail fell behind): say how to go on.
                Err(status) => {
                    let resume = last.map_or_else(
                        || "--from 0 (or without --from, from now)".to_owned(),
                        |sequence| format!("--from {sequence}"),
                    );
                    return Err(failure(status).context(format!("resume with {resume}")));
                }
            }
        }
    }
}

/// An event as one JSON object; `old`/`new` values are JSON themselves.
fn event_json(event: &pb::Event) -> serde_json::Value {
    let actor = event.actor.clone().unwrap_or_default();
    let value = |json: Option<&String>| {
        json.and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
    };
    serde_json::json!({
        "sequence": event.sequence,
        "time": time(event.create_time.as_ref()),
        "tenant_id": event.tenant_id,
        "action": event.action,
        "resource_type": event.resource_type,
        "resource_id": event.resource_id,
        "actor": {"key_id": actor.key_id, "user_id": actor.user_id},
        "request_id": event.request_id,
        "changes": event.changes.iter().map(|change| serde_json::json!({
            "field": change.field,
            "old": value(change.old_value_json.as_ref()),
            "new": value(change.new_value_json.as_ref()),
        })).collect::<Vec<_>>(),
    })
}

/// `SEQ TIME TENANT ACTION TYPE/ID by KIND:KEY [request ID] field: old -> new; ...`
fn event_line(event: &pb::Event) -> String {
    let actor = event.actor.clone().unwrap_or_default();
    let kind = match pb::ApiKeyKind::try_from(actor.key_kind) {
        Ok(pb::ApiKeyKind::Service) => "service",
        Ok(pb::ApiKeyKind::Scim) => "scim",
        Ok(pb::ApiKeyKind::Portal) => "portal",
        _ => "system",
    };
    let changes: Vec<String> = event
        .changes
        .iter()
        .map(|change| {
            format!(
                "{}: {} -> {}",
                change.field,
                change.old_value_json.as_deref().unwrap_or("-"),
                change.new_value_json.as_deref().unwrap_or("-")
            )
        })
        .collect();
    let tenant = if event.tenant_id.is_empty() {
        "-"
    } else {
        &event.tenant_id
    };
    let request = if event.request_id.is_empty() {
        String::new()
    } else {
        format!(" [request {}]", event.request_id)
    };
    format!(
        "{} {} {} {} {}/{} by {kind}:{}{request} {}",
        event.sequence,
        time(event.create_time.as_ref()),
        tenant,
        event.action,
        event.resource_type,
        event.resource_id,
        actor.key_id,
        changes.join("; ")
    )
}

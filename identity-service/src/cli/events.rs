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
        while let Some(event) = stream.message().await.map_err(failure)? {
            println!("{}", event_line(&event));
        }
        Ok(())
    }
}

/// `SEQ TIME TENANT ACTION TYPE/ID by KIND:KEY [request ID] field: old -> new; ...`
fn event_line(event: &pb::Event) -> String {
    let actor = event.actor.clone().unwrap_or_default();
    let kind = match pb::ApiKeyKind::try_from(actor.key_kind) {
        Ok(pb::ApiKeyKind::Service) => "service",
        Ok(pb::ApiKeyKind::Scim) => "scim",
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

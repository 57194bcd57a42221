//! The change log: events recorded with every change (and none for a failed one), listed and
//! watched; resuming, concurrent writers, scopes, slow consumers, retention, two replicas.

use std::time::Duration;

use identity_proto::v1 as pb;
use identity_service::server::ServeOptions;
use tonic::Code;

use crate::support::{
    App, Backend, Clients, create_group, create_user, document, on_both_backends, spawn_app,
    spawn_app_with,
};

on_both_backends!(
    every_change_is_logged_and_a_failed_one_is_not,
    concurrent_writers_are_delivered_in_commit_order,
    a_watch_on_one_replica_sees_writes_through_another,
);

fn after(sequence: i64) -> pb::WatchEventsRequest {
    pb::WatchEventsRequest {
        tenant_id: String::new(),
        start: Some(pb::watch_events_request::Start::AfterSequence(sequence)),
    }
}

fn from_now() -> pb::WatchEventsRequest {
    pb::WatchEventsRequest {
        tenant_id: String::new(),
        start: Some(pb::watch_events_request::Start::FromNow(true)),
    }
}

/// Every event after `sequence`, walking all pages.
async fn all_events(clients: &mut Clients, tenant_id: &str) -> Vec<pb::Event> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = clients
            .events
            .list_events(pb::ListEventsRequest {
                tenant_id: tenant_id.to_owned(),
                page: Some(pb::PageRequest {
                    page_size: 7,
                    page_token,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .await
            .expect("list events")
            .into_inner();
        events.extend(page.events);
        page_token = page.page.unwrap_or_default().next_page_token;
        if page_token.is_empty() {
            return events;
        }
    }
}

/// Reads `count` events from a watch.
async fn take(stream: &mut tonic::Streaming<pb::Event>, count: usize) -> Vec<pb::Event> {
    let mut events = Vec::with_capacity(count);
    while events.len() < count {
        let event = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("an event within 20 s")
            .expect("stream ok")
            .expect("stream open");
        events.push(event);
    }
    events
}

fn actions(events: &[pb::Event]) -> Vec<&str> {
    events.iter().map(|event| event.action.as_str()).collect()
}

async fn key_id(app: &App, prefix: &str) -> String {
    let keys = app
        .admin
        .clone()
        .tenants
        .list_api_keys(pb::ListApiKeysRequest {
            tenant_id: app.tenant_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .keys;
    keys.into_iter()
        .find(|key| prefix.starts_with(&key.prefix))
        .expect("the key")
        .id
}

async fn every_change_is_logged_and_a_failed_one_is_not(backend: Backend) {
    let app = spawn_app(backend, "events log").await;
    let mut admin = app.admin.clone();
    let mut scim = app.scim.clone();
    let tenant = app.tenant_id.clone();
    let mut watch = admin
        .events
        .watch_events(after(0))
        .await
        .unwrap()
        .into_inner();
    // init: the tenant and its two keys, by the operator's tooling.
    let init = take(&mut watch, 3).await;
    assert_eq!(
        actions(&init),
        ["tenant.created", "api_key.issued", "api_key.issued"]
    );
    assert_eq!(init[0].actor.as_ref().unwrap().key_id, "system");

    let user = create_user(&mut scim, "", "ada@example.com").await;
    let mut request = tonic::Request::new(pb::UpdateUserRequest {
        tenant_id: String::new(),
        user: Some(pb::User {
            id: user.id.clone(),
            active: false,
            ..pb::User::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["active".into()],
        }),
        expected_version: None,
    });
    request
        .metadata_mut()
        .insert("x-request-id", "deprovision-1".parse().unwrap());
    scim.users.update_user(request).await.unwrap();
    let group = create_group(&mut scim, "", "Engineering").await;
    let other = create_user(&mut scim, "", "alan@example.com").await;
    let modify = |changes: Vec<pb::membership_change::Change>| pb::ModifyGroupRequest {
        group_id: group.id.clone(),
        changes: changes
            .into_iter()
            .map(|change| pb::MembershipChange {
                change: Some(change),
            })
            .collect(),
        ..Default::default()
    };
    let ids = |ids: &[&str]| pb::MemberIds {
        user_ids: ids.iter().map(|id| (*id).to_owned()).collect(),
    };
    use pb::membership_change::Change;
    scim.groups
        .modify_group(modify(vec![Change::Add(ids(&[&user.id, &other.id]))]))
        .await
        .unwrap();
    // Failures log nothing: an unknown member, a duplicate name.
    let unknown = scim
        .groups
        .modify_group(modify(vec![
            Change::Remove(ids(&[&user.id])),
            Change::Add(ids(&["01890000-0000-7000-8000-000000000000"])),
        ]))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::InvalidArgument);
    let duplicate = scim
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                user_name: "ADA@example.com".into(),
                active: true,
                ..pb::User::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    scim.groups
        .modify_group(modify(vec![Change::Remove(ids(&[&user.id]))]))
        .await
        .unwrap();
    scim.users
        .delete_user(pb::DeleteUserRequest {
            tenant_id: String::new(),
            id: other.id.clone(),
            expected_version: None,
        })
        .await
        .unwrap();

    let events = take(&mut watch, 8).await;
    assert_eq!(
        actions(&events),
        [
            "user.created",
            "user.updated",
            "group.created",
            "user.created",
            "group.member_added",
            "group.member_added",
            "group.member_removed",
            // The deleted user leaves its groups first.
            "group.member_removed",
        ]
    );
    let deleted = take(&mut watch, 1).await;
    assert_eq!(actions(&deleted), ["user.deleted"]);
    let scim_key_id = key_id(&app, &app.scim_key).await;
    for event in events.iter().chain(&deleted) {
        assert_eq!(event.tenant_id, tenant);
        let actor = event.actor.as_ref().unwrap();
        assert_eq!(
            (actor.key_id.as_str(), actor.key_kind()),
            (scim_key_id.as_str(), pb::ApiKeyKind::Scim)
        );
    }
    let deactivation = &events[1];
    assert_eq!(deactivation.request_id, "deprovision-1");
    assert_eq!(deactivation.resource_id, user.id);
    assert_eq!(deactivation.changes.len(), 1, "only the changed field");
    assert_eq!(deactivation.changes[0].field, "active");
    assert_eq!(
        deactivation.changes[0].old_value_json.as_deref(),
        Some("true")
    );
    assert_eq!(
        deactivation.changes[0].new_value_json.as_deref(),
        Some("false")
    );
    let added = &events[4];
    assert_eq!(added.resource_id, group.id);
    assert_eq!(added.changes[0].field, "member");
    assert_eq!(
        added.changes[0].new_value_json.as_deref(),
        Some(format!("\"{}\"", user.id).as_str())
    );
    let mut sequences: Vec<i64> = init
        .iter()
        .chain(&events)
        .chain(&deleted)
        .map(|e| e.sequence)
        .collect();
    let sorted = sequences.clone();
    sequences.dedup();
    assert_eq!(sequences, sorted);
    assert_eq!(
        sequences,
        (1..=12).collect::<Vec<_>>(),
        "no gaps, no duplicates"
    );

    // Listing pages through the same log; filters narrow it.
    let listed = all_events(&mut admin, &tenant).await;
    assert_eq!(
        listed.len(),
        11,
        "the tenant's events (the all-tenant key's is not one)"
    );
    let by_user = admin
        .events
        .list_events(pb::ListEventsRequest {
            resource_id: user.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(actions(&by_user), ["user.created", "user.updated"]);

    // A SCIM key reads no audit trail; a tenant-scoped service key only its tenant's.
    let denied = scim
        .events
        .list_events(pb::ListEventsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    let other_tenant = admin
        .tenants
        .create_tenant(pb::CreateTenantRequest {
            tenant: Some(pb::Tenant {
                name: "other".into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let issued = admin
        .tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: other_tenant.id.clone(),
            kind: pb::ApiKeyKind::Service.into(),
            name: "other service".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut scoped = app.clients(Some(&issued.secret));
    let seen = all_events(&mut scoped, "").await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|event| event.tenant_id == other_tenant.id),
        "{seen:?}"
    );
    let foreign = scoped
        .events
        .list_events(pb::ListEventsRequest {
            tenant_id: tenant.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(foreign.code(), Code::NotFound);
    app.stop().await;
}

async fn concurrent_writers_are_delivered_in_commit_order(backend: Backend) {
    let app = spawn_app(backend, "events concurrent").await;
    let mut watch = app
        .admin
        .clone()
        .events
        .watch_events(from_now())
        .await
        .unwrap()
        .into_inner();
    let writers: Vec<_> = (0..8)
        .map(|writer| {
            let mut scim = app.scim.clone();
            tokio::spawn(async move {
                for n in 0..15 {
                    create_user(&mut scim, "", &format!("w{writer}-{n}@example.com")).await;
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap();
    }
    let events = take(&mut watch, 120).await;
    let sequences: Vec<i64> = events.iter().map(|event| event.sequence).collect();
    for pair in sequences.windows(2) {
        assert_eq!(
            pair[1],
            pair[0] + 1,
            "strictly increasing, nothing skipped: {sequences:?}"
        );
    }
    assert!(events.iter().all(|event| event.action == "user.created"));

    // Resuming from any cursor continues exactly where the other left off.
    let split = sequences[40];
    let mut resumed = app
        .admin
        .clone()
        .events
        .watch_events(after(split))
        .await
        .unwrap()
        .into_inner();
    let rest = take(&mut resumed, 79).await;
    assert_eq!(rest, events[41..].to_vec());
    app.stop().await;
}

async fn a_watch_on_one_replica_sees_writes_through_another(backend: Backend) {
    if backend == Backend::Sqlite {
        // One process owns a SQLite file; replicas share PostgreSQL.
        return;
    }
    let app = spawn_app(backend, "events replicas").await;
    let second = app.second_replica().await;
    let mut through_second = Clients::new(&second.channel, Some(&app.scim_key));
    let mut watch = app
        .admin
        .clone()
        .events
        .watch_events(from_now())
        .await
        .unwrap()
        .into_inner();
    let user = create_user(&mut through_second, "", "replica@example.com").await;
    let events = take(&mut watch, 1).await;
    assert_eq!(events[0].action, "user.created");
    assert_eq!(events[0].resource_id, user.id);
    drop(second);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_watcher_is_told_to_resume_and_nothing_is_lost() {
    let options = ServeOptions {
        watch: identity_service::server::WatchOptions {
            buffer: 4,
            ..Default::default()
        },
        ..ServeOptions::default()
    };
    let app = spawn_app_with(Backend::Sqlite, "events slow", options).await;
    // A watcher with small HTTP/2 windows that reads nothing while more events (16 KB each)
    // are written than the windows, the server's send buffer and its queue hold.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", app.addr))
        .unwrap()
        .initial_stream_window_size(Some(65_535))
        .initial_connection_window_size(Some(65_535))
        .connect()
        .await
        .unwrap();
    let mut watcher = Clients::new(&channel, Some(&app.service_key));
    let mut watch = watcher
        .events
        .watch_events(after(0))
        .await
        .unwrap()
        .into_inner();
    let mut scim = app.scim.clone();
    let bulky = document(&serde_json::json!({"title": "x".repeat(16_000)}).to_string());
    for n in 0..120 {
        scim.users
            .create_user(pb::CreateUserRequest {
                tenant_id: String::new(),
                user: Some(pb::User {
                    user_name: format!("slow-{n}@example.com"),
                    active: true,
                    attributes: bulky.clone(),
                    ..pb::User::default()
                }),
            })
            .await
            .unwrap();
    }
    let mut received = Vec::new();
    let status = loop {
        match tokio::time::timeout(Duration::from_secs(20), watch.message()).await {
            Ok(Ok(Some(event))) => received.push(event.sequence),
            Ok(Ok(None)) => panic!("stream ended without a status"),
            Ok(Err(status)) => break status,
            Err(_) => panic!("no end within 20 s"),
        }
    };
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let last = *received.last().expect("some events first");
    assert!(
        status.message().contains(&format!("after_sequence {last}")),
        "{status:?}"
    );
    // Resuming from the last event received loses nothing.
    let mut resumed = app
        .admin
        .clone()
        .events
        .watch_events(after(last))
        .await
        .unwrap()
        .into_inner();
    let next = take(&mut resumed, 1).await;
    assert_eq!(next[0].sequence, last + 1);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_prunes_and_an_old_cursor_is_out_of_range() {
    let app = spawn_app(Backend::Sqlite, "events retention").await;
    let mut scim = app.scim.clone();
    create_user(&mut scim, "", "old@example.com").await;
    let pruned = app
        .store
        .prune_events(identity_service::model::now_micros() + 1)
        .await
        .unwrap();
    assert_eq!(pruned, 4);
    let old = app
        .admin
        .clone()
        .events
        .watch_events(after(2))
        .await
        .unwrap_err();
    assert_eq!(old.code(), Code::OutOfRange, "{old:?}");
    // From the pruning point on, watching works; new events continue the sequence.
    let mut watch = app
        .admin
        .clone()
        .events
        .watch_events(after(4))
        .await
        .unwrap()
        .into_inner();
    create_user(&mut scim, "", "new@example.com").await;
    assert_eq!(take(&mut watch, 1).await[0].sequence, 5);
    app.stop().await;
}

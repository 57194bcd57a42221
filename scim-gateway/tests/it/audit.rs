//! The change log seen from a provisioning run through the gateway: a watcher started before it
//! receives every change, in order, attributed to the SCIM key and to the gateway request that
//! made it; a request that fails records nothing.

use std::time::Duration;

use identity_proto::BearerAuth;
use identity_proto::v1 as pb;
use identity_proto::v1::events_client::EventsClient;
use identity_proto::v1::tenants_client::TenantsClient;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_provisioning_run_is_watched_in_order() {
    let app = spawn_app().await;
    let auth = BearerAuth::new(&app.service_key).unwrap();
    let mut events = EventsClient::with_interceptor(app.channel.clone(), auth.clone());
    let mut watch = events
        .watch_events(pb::WatchEventsRequest {
            tenant_id: String::new(),
            start: Some(pb::watch_events_request::Start::FromNow(true)),
        })
        .await
        .unwrap()
        .into_inner();

    let with_id = |id: &'static str| {
        let key = app.scim_key.clone();
        move |request: reqwest::RequestBuilder| request.bearer_auth(key).header("x-request-id", id)
    };
    let created = app
        .call_with(
            Method::POST,
            "/Users",
            Some(json!({"userName": "watched@example.com", "name": {"givenName": "W"}})),
            with_id("okta-create"),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let user = id_of(&created.body);
    let path = format!("/Users/{user}");
    let updated = app
        .call_with(
            Method::PATCH,
            &path,
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "Lead"}]),
            )),
            with_id("okta-update"),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK);
    // A PATCH with a failing op changes nothing and records nothing.
    let failed = app
        .call_with(
            Method::PATCH,
            &path,
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "Nope"},
                                 {"op": "replace", "path": "active", "value": "perhaps"}]),
            )),
            with_id("okta-failed"),
        )
        .await;
    assert_eq!(failed.status, StatusCode::BAD_REQUEST);
    let deactivated = app
        .call_with(
            Method::PATCH,
            &path,
            Some(patch_op(
                json!([{"op": "replace", "value": {"active": false}}]),
            )),
            with_id("okta-deactivate"),
        )
        .await;
    assert_eq!(deactivated.status, StatusCode::OK);
    let group = app
        .call_with(
            Method::POST,
            "/Groups",
            Some(json!({"displayName": "Watched", "members": [{"value": user}]})),
            with_id("okta-push"),
        )
        .await;
    assert_eq!(group.status, StatusCode::CREATED);
    let group_id = id_of(&group.body);
    let removed = app
        .call_with(
            Method::PATCH,
            &format!("/Groups/{group_id}"),
            Some(patch_op(
                json!([{"op": "remove", "path": format!("members[value eq \"{user}\"]")}]),
            )),
            with_id("okta-unassign"),
        )
        .await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT);

    let mut seen = Vec::new();
    while seen.len() < 6 {
        let event = tokio::time::timeout(Duration::from_secs(20), watch.message())
            .await
            .expect("an event within 20 s")
            .unwrap()
            .unwrap();
        seen.push(event);
    }
    let summary: Vec<(&str, &str, &str)> = seen
        .iter()
        .map(|e| {
            (
                e.action.as_str(),
                e.resource_id.as_str(),
                e.request_id.as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("user.created", user.as_str(), "okta-create"),
            ("user.updated", user.as_str(), "okta-update"),
            ("user.updated", user.as_str(), "okta-deactivate"),
            ("group.created", group_id.as_str(), "okta-push"),
            ("group.member_added", group_id.as_str(), "okta-push"),
            ("group.member_removed", group_id.as_str(), "okta-unassign"),
        ]
    );
    let deactivation = &seen[2];
    assert_eq!(deactivation.changes.len(), 1);
    assert_eq!(deactivation.changes[0].field, "active");
    // Every change is attributed to the tenant's SCIM key.
    let keys = TenantsClient::with_interceptor(app.channel.clone(), auth)
        .list_api_keys(pb::ListApiKeysRequest {
            tenant_id: app.tenant_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .keys;
    let scim_key = keys
        .iter()
        .find(|key| app.scim_key.starts_with(&key.prefix))
        .unwrap();
    for event in &seen {
        let actor = event.actor.as_ref().unwrap();
        assert_eq!(actor.key_id, scim_key.id);
        assert_eq!(actor.key_kind(), pb::ApiKeyKind::Scim);
    }
    // The failed request left no trace.
    assert!(seen.iter().all(|event| event.request_id != "okta-failed"));
}

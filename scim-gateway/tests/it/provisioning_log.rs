//! The provisioning log end to end: what Okta's requests got, reported by the gateway in the
//! background and read by a tenant admin over gRPC — never a key or a body.

use std::time::Duration;

use identity_proto::BearerAuth;
use identity_proto::v1 as pb;
use identity_proto::v1::provisioning_log_client::ProvisioningLogClient;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

/// The tenant's outcomes (newest first), once at least `count` have been reported.
async fn outcomes(app: &App, count: usize) -> Vec<pb::ProvisioningOutcome> {
    let mut log = ProvisioningLogClient::with_interceptor(
        app.channel.clone(),
        BearerAuth::new(&app.service_key).expect("key"),
    );
    let mut seen = Vec::new();
    // Reported about once a second.
    for _ in 0..100 {
        seen = log
            .list_outcomes(pb::ListOutcomesRequest {
                tenant_id: app.tenant_id.clone(),
                ..Default::default()
            })
            .await
            .expect("list outcomes")
            .into_inner()
            .outcomes;
        if seen.len() >= count {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    seen
}

#[tokio::test]
async fn a_failed_push_shows_up_with_its_scim_error_and_nothing_secret() {
    let app = spawn_app().await;
    let marker = "Zebulon-body-marker";
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "dup@example.com",
        "name": {"givenName": marker, "familyName": "Family"},
        "password": "hunter2-secret",
        "active": true,
    });
    let created = app
        .call_with(Method::POST, "/Users", Some(body.clone()), |request| {
            request
                .bearer_auth(&app.scim_key)
                .header("user-agent", "Okta SCIM Client 1.0.0")
        })
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let conflict = app
        .call_with(Method::POST, "/Users", Some(body), |request| {
            request
                .bearer_auth(&app.scim_key)
                .header("user-agent", "Okta SCIM Client 1.0.0")
        })
        .await;
    conflict.assert_error(409, Some("uniqueness"));
    // A request with a key that is not one belongs to no tenant: not recorded.
    let refused = app
        .call_with(Method::GET, "/Users", None, |request| {
            request.bearer_auth(
                "idscim_0000000000000000000000000000000000000000000000000000000000000000",
            )
        })
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let log = outcomes(&app, 2).await;
    assert_eq!(log.len(), 2, "{log:#?}");
    let (failed, first) = (&log[0], &log[1]);
    assert_eq!(failed.status, 409);
    assert_eq!(failed.scim_type, "uniqueness");
    assert_eq!(failed.detail, conflict.body["detail"].as_str().unwrap());
    assert_eq!(failed.method, "POST");
    assert_eq!(failed.route, "/scim/v2/Users");
    assert_eq!(failed.request_id, conflict.header("x-request-id").unwrap());
    assert_eq!(failed.user_agent, "Okta SCIM Client 1.0.0");
    assert_eq!(failed.client_address, "127.0.0.1");
    assert_eq!(failed.tenant_id, app.tenant_id);
    assert!(!failed.key_id.is_empty());
    assert!(failed.latency.is_some());
    assert_eq!(first.status, 201);
    assert_eq!(first.resource_id, id_of(&created.body));
    assert!(first.detail.is_empty() && first.scim_type.is_empty());

    // Nothing of the key or the body is in the log.
    let everything = format!("{log:?}");
    let secret_part = &app.scim_key[app.scim_key.len() - 20..];
    for leaked in [secret_part, marker, "hunter2", "Bearer"] {
        assert!(
            !everything.contains(leaked),
            "{leaked} in the log: {everything}"
        );
    }
}

#[tokio::test]
async fn reads_by_id_record_the_resource() {
    let app = spawn_app().await;
    let user = app.create_user("reader@example.com").await;
    let id = id_of(&user);
    // A client's oversized header is cut before it is queued, not carried whole.
    let huge_agent = "a".repeat(20_000);
    let read = app
        .call_with(Method::GET, &format!("/Users/{id}"), None, |request| {
            request
                .bearer_auth(&app.scim_key)
                .header("user-agent", huge_agent.as_str())
        })
        .await;
    assert_eq!(read.status, StatusCode::OK);
    app.get("/Users/01890000-0000-7000-8000-000000000000")
        .await
        .assert_error(404, None);
    let log = outcomes(&app, 3).await;
    assert_eq!(log.len(), 3, "{log:#?}");
    assert_eq!(log[0].status, 404);
    assert_eq!(log[0].route, "/scim/v2/Users/{id}");
    assert_eq!(log[0].resource_id, "01890000-0000-7000-8000-000000000000");
    assert_eq!(log[1].status, 200);
    assert_eq!(log[1].resource_id, id);
    assert_eq!(
        log[1].user_agent.len(),
        identity_proto::provisioning::MAX_USER_AGENT
    );
}

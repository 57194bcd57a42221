//! The provisioning log end to end: what Okta's requests got, reported by the gateway in the
//! background and read by a tenant admin over gRPC — never a key or a body.

use std::time::Duration;

use identity_proto::BearerAuth;
use identity_proto::v1 as pb;
use identity_proto::v1::provisioning_log_client::ProvisioningLogClient;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::*;

/// The `identity-service` binary, as an operator runs it: built next to this test binary by
/// `cargo test --workspace` (scripts/test.sh), or built here when this crate is tested alone.
fn identity_service_binary() -> std::path::PathBuf {
    let test_binary = std::env::current_exe().expect("test binary");
    let target = test_binary
        .parent()
        .and_then(std::path::Path::parent)
        .expect("target directory");
    let binary = target.join("identity-service");
    if !binary.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let built = std::process::Command::new(cargo)
            .args([
                "build",
                "-p",
                "identity-service",
                "--bin",
                "identity-service",
            ])
            .status()
            .expect("run cargo build");
        assert!(built.success(), "cannot build identity-service");
    }
    binary
}

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
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

    // An admin reads it as the README says: `provisioning log --failed --json`.
    let mut command = std::process::Command::new(identity_service_binary());
    command
        .args([
            "provisioning",
            "log",
            "--tenant",
            &app.tenant_id,
            "--failed",
            "--json",
        ])
        .env("IDENTITY_ADDR", app.identity.addr.to_string())
        .env("IDENTITY_KEY", &app.service_key);
    // Off the runtime's threads: the service under test answers on them.
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run identity-service provisioning log");
    assert!(output.status.success(), "{output:?}");
    let printed = String::from_utf8(output.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = printed
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object a line"))
        .collect();
    assert_eq!(lines.len(), 1, "{printed}");
    assert_eq!(lines[0]["status"], 409);
    assert_eq!(lines[0]["scim_type"], "uniqueness");
    assert_eq!(lines[0]["detail"], conflict.body["detail"]);
    assert_eq!(lines[0]["route"], "/scim/v2/Users");

    // Nothing of the key or the body is in the log.
    let everything = format!("{log:?}{printed}");
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

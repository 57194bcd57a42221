//! Running the gateway: the identity service going away and coming back, request ids, the
//! public base URL, lenient paths, projections and concurrent PATCHes.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::net::TcpListener;

use crate::support::*;

#[tokio::test]
async fn identity_service_down_is_503_and_the_gateway_recovers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    let addr = app.identity.addr;
    let dir = tempfile::tempdir().unwrap();
    // Stop the service; the gateway keeps running.
    let App {
        gateway,
        identity,
        base,
        scim_key,
        http,
        ..
    } = app;
    identity.stop().await;
    let down = http
        .get(format!("{base}/Users"))
        .bearer_auth(&scim_key)
        .send()
        .await
        .unwrap();
    assert_eq!(down.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.headers()["retry-after"], "1");
    let body: serde_json::Value = down.json().await.unwrap();
    assert_eq!(body["status"], json!("503"));

    // The service comes back on the same address (a fresh database): no gateway restart.
    let url = format!("sqlite://{}", dir.path().join("identity.db").display());
    let store = identity_service::store::Store::open(&url, Default::default())
        .await
        .unwrap();
    let identity_service::bootstrap::InitOutcome::Created { scim_secret, .. } =
        identity_service::bootstrap::initialise(&store, "again")
            .await
            .unwrap()
    else {
        panic!("fresh database");
    };
    let listener = TcpListener::bind(addr).await.unwrap();
    let identity = start_identity(store, listener);
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..100 {
        status = http
            .get(format!("{base}/Users"))
            .bearer_auth(&scim_secret)
            .send()
            .await
            .unwrap()
            .status();
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, StatusCode::OK, "the gateway reconnects by itself");
    identity.stop().await;
    gateway.stop().await;
}

#[tokio::test]
async fn unreachable_service_from_the_start() {
    // A port nobody listens on.
    let unused = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = unused.local_addr().unwrap();
    drop(unused);
    let gateway = start_gateway(scim_gateway::server::Config {
        identity_url: format!("http://{addr}"),
        ..Default::default()
    })
    .await;
    let answer = reqwest::Client::new()
        .get(format!(
            "http://{}/scim/v2/Users?startIndex=1&count=2",
            gateway.addr
        ))
        .bearer_auth("idscim_whatever")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::SERVICE_UNAVAILABLE);
    gateway.stop().await;
}

#[tokio::test]
async fn request_ids_public_base_url_and_lenient_paths() {
    let app = spawn_app_with(|config| {
        config.public_base_url = Some("https://scim.eu.example.com/".into());
        config.base_path = "/scim/v2/".into();
    })
    .await;
    let created = app
        .call_with(
            Method::POST,
            "/users/",
            Some(json!({"userName": "eu@example.com"})),
            |request| {
                request
                    .bearer_auth(&app.scim_key)
                    .header("x-request-id", "okta-req-123")
            },
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    assert_eq!(created.header("x-request-id"), Some("okta-req-123"));
    let id = id_of(&created.body);
    let location = format!("https://scim.eu.example.com/scim/v2/Users/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["meta"]["location"], json!(location));
    // Generated when absent.
    let read = app.get(&format!("/USERS/{id}/")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert!(read.header("x-request-id").is_some_and(|id| !id.is_empty()));
    // application/json is accepted as well as application/scim+json.
    let plain = app
        .call_with(Method::POST, "/Groups", None, |request| {
            request
                .bearer_auth(&app.scim_key)
                .header("content-type", "application/json")
                .body(r#"{"displayName":"Plain JSON"}"#)
        })
        .await;
    assert_eq!(plain.status, StatusCode::CREATED);
    assert_eq!(plain.header("content-type"), Some("application/scim+json"));
}

#[tokio::test]
async fn projections_on_every_read() {
    let app = spawn_app().await;
    let user = app.create_user("proj@example.com").await;
    let id = id_of(&user);
    let group = id_of(&app.create_group("Projected").await);
    app.patch(
        &format!("/Groups/{group}"),
        patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id}]}])),
    )
    .await;

    let read = app
        .get(&format!("/Users/{id}?attributes=userName,name.familyName"))
        .await;
    assert_eq!(
        read.body,
        json!({"schemas": [USER_SCHEMA], "id": id, "userName": "proj@example.com",
               "name": {"familyName": "Family"}})
    );
    // `groups` is read-only and returned on request.
    assert!(
        app.get(&format!("/Users/{id}"))
            .await
            .body
            .get("groups")
            .is_none()
    );
    let read = app.get(&format!("/Users/{id}?attributes=groups")).await;
    assert_eq!(
        read.body["groups"],
        json!([{"value": group, "$ref": format!("{}/Groups/{group}", app.base),
                "display": "Projected", "type": "direct"}])
    );
    let read = app
        .get(&format!("/Users/{id}?excludedAttributes=name,emails,meta"))
        .await;
    assert!(read.body.get("name").is_none() && read.body.get("meta").is_none());
    assert_eq!(read.body["userName"], json!("proj@example.com"));
    let list = app.get("/Users?attributes=userName").await;
    assert_eq!(
        list.body["Resources"][0],
        json!({"schemas": [USER_SCHEMA], "id": id, "userName": "proj@example.com"})
    );
    let search = app
        .post(
            "/Groups/.search",
            json!({"excludedAttributes": "members", "filter": "displayName eq \"projected\""}),
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "{:#}", search.body);
    assert_eq!(search.body["totalResults"], json!(1));
    assert!(search.body["Resources"][0].get("members").is_none());
    let search = app
        .post("/Groups/.search", json!({"attributes": ["members.value"]}))
        .await;
    assert_eq!(
        search.body["Resources"][0],
        json!({"schemas": [GROUP_SCHEMA], "id": group, "members": [{"value": id}]})
    );
}

/// Concurrent PATCHes of one user each add a different phone number: the read-modify-write
/// retries on version conflicts, so every one of them lands.
#[tokio::test]
async fn concurrent_patches_all_apply() {
    let app = std::sync::Arc::new(spawn_app().await);
    let id = id_of(&app.create_user("busy@example.com").await);
    let mut tasks = Vec::new();
    for index in 0..6 {
        let app = app.clone();
        let path = format!("/Users/{id}");
        tasks.push(tokio::spawn(async move {
            app.patch(
                &path,
                patch_op(json!([{"op": "add", "path": "phoneNumbers",
                                 "value": [{"value": format!("+1 555 000 {index}"), "type": "work"}]}])),
            )
            .await
            .status
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let read = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        read.body["phoneNumbers"].as_array().map(Vec::len),
        Some(6),
        "{:#}",
        read.body
    );
}

/// Guards the Nagle defect: the connections the gateway accepts have TCP_NODELAY set.
#[tokio::test]
async fn accepted_connections_have_nodelay() {
    use axum::serve::Listener as _;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut listener = scim_gateway::listen::nodelay(listener);
    let _client = tokio::net::TcpStream::connect(address).await.unwrap();
    let (accepted, _) = listener.accept().await;
    assert!(
        accepted.nodelay().unwrap(),
        "accepted socket keeps Nagle's algorithm"
    );
}

#[tokio::test]
async fn a_key_over_its_rate_gets_429_and_other_keys_do_not() {
    let app = spawn_app_with(|config| {
        config.rate_limit = scim_gateway::server::RateLimit::new(1, 3);
    })
    .await;
    let (_, other_key) = app.tenant_with_scim_key("globex").await;
    for _ in 0..3 {
        assert_eq!(app.get("/Users").await.status, StatusCode::OK);
    }
    let limited = app.get("/Users").await;
    limited.assert_error(429, None);
    let retry_after: u64 = limited
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After is whole seconds");
    assert!(retry_after >= 1);

    // Another tenant's key has its own allowance.
    let other = app
        .call_with(Method::GET, "/Users", None, |request| {
            request.bearer_auth(&other_key)
        })
        .await;
    assert_eq!(other.status, StatusCode::OK, "{:#}", other.body);

    // The limited key gets through again once its bucket has refilled.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    assert_eq!(app.get("/Users").await.status, StatusCode::OK);
}

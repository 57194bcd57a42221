//! The operations listener of the real `scim-gateway` binary (`--metrics-listen`): liveness,
//! readiness that follows the identity service, and metrics that move with the calls.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::json;
use tokio::net::TcpListener;

use crate::support::{App, id_of, spawn_app, start_identity};

/// A free loopback port (bound and released).
async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

struct Gateway(Child);

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Polls `url` until it answers `status`, for at most `seconds`; the last status seen.
async fn wait_for(http: &reqwest::Client, url: &str, status: u16, seconds: u64) -> u16 {
    let mut last = 0;
    for _ in 0..seconds * 10 {
        last = match http.get(url).send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        };
        if last == status {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_follow_the_service_and_metrics_follow_the_calls() {
    let app = spawn_app().await;
    let (listen, ops) = (free_port().await, free_port().await);
    let identity_addr = app.identity.addr;
    let _gateway = Gateway(
        Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
            .args([
                "--listen",
                &format!("127.0.0.1:{listen}"),
                "--metrics-listen",
                &format!("127.0.0.1:{ops}"),
                "--identity-url",
                &format!("http://{identity_addr}"),
            ])
            .env("RUST_LOG", "warn")
            .stderr(Stdio::null())
            .spawn()
            .expect("start scim-gateway"),
    );
    let http = app.http.clone();
    let ops_url = |path: &str| format!("http://127.0.0.1:{ops}{path}");
    assert_eq!(wait_for(&http, &ops_url("/healthz"), 200, 10).await, 200);
    assert_eq!(wait_for(&http, &ops_url("/readyz"), 200, 10).await, 200);
    let healthcheck = || {
        Command::new(env!("CARGO_BIN_EXE_scim-gateway"))
            .args(["healthcheck", "--metrics-addr", &format!("127.0.0.1:{ops}")])
            .output()
            .expect("run scim-gateway healthcheck")
    };
    let ready = healthcheck();
    assert!(ready.status.success(), "{ready:?}");

    // A read, a create, and a create that conflicts.
    let base = format!("http://127.0.0.1:{listen}/scim/v2");
    let scim = |request: reqwest::RequestBuilder| request.bearer_auth(&app.scim_key);
    let body = json!({"userName": "metrics@example.com"});
    let created = scim(http.post(format!("{base}/Users")).json(&body))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let id = id_of(&created.json().await.unwrap());
    let read = scim(http.get(format!("{base}/Users/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), 200);
    let taken = scim(http.post(format!("{base}/Users")).json(&body))
        .send()
        .await
        .unwrap();
    assert_eq!(taken.status(), 409);

    let scrape = || async {
        http.get(ops_url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let metrics = scrape().await;
    for expected in [
        r#"scim_requests_total{method="GET",route="/scim/v2/Users/{id}",status="200"} 1"#,
        r#"scim_requests_total{method="POST",route="/scim/v2/Users",status="201"} 1"#,
        r#"scim_requests_total{method="POST",route="/scim/v2/Users",status="409"} 1"#,
        r#"grpc_calls_total{side="client",method="identity.v1.Users/CreateUser",code="ALREADY_EXISTS"} 1"#,
        r#"grpc_calls_total{side="client",method="identity.v1.Users/GetUser",code="OK"}"#,
        "scim_request_duration_seconds_bucket{",
    ] {
        assert!(metrics.contains(expected), "{expected} not in\n{metrics}");
    }
    assert!(
        !metrics.contains(&app.scim_key),
        "a key leaked into the metrics"
    );
    // The three outcomes reach the provisioning log (reported about once a second).
    let mut reported = String::new();
    for _ in 0..50 {
        reported = scrape().await;
        if reported.contains("scim_provisioning_log_reported_total 3") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        reported.contains("scim_provisioning_log_reported_total 3"),
        "{reported}"
    );

    // The service goes away: not ready (checked twice a second); back: ready, no restart.
    let App { identity, .. } = app;
    identity.stop().await;
    assert_eq!(wait_for(&http, &ops_url("/readyz"), 503, 10).await, 503);
    assert_eq!(wait_for(&http, &ops_url("/healthz"), 200, 1).await, 200);
    assert!(
        !healthcheck().status.success(),
        "not ready while the service is down"
    );
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("identity.db").display());
    let store = identity_service::store::Store::open(&url, Default::default())
        .await
        .unwrap();
    identity_service::bootstrap::initialise(&store, "again")
        .await
        .unwrap();
    let identity = start_identity(store, TcpListener::bind(identity_addr).await.unwrap());
    assert_eq!(wait_for(&http, &ops_url("/readyz"), 200, 10).await, 200);
    identity.stop().await;
}

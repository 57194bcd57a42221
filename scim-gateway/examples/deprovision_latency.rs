//! Benchmark (not a test): how long after Okta's deactivation PATCH gets its 200 does a
//! `WatchEvents` subscriber receive the `user.updated` event?
//!
//! ```sh
//! cargo run --release -p scim-gateway --example deprovision_latency -- \
//!     --gateway http://127.0.0.1:18081/scim/v2 --identity http://127.0.0.1:50081 \
//!     --scim-key "$SCIM_KEY" --service-key "$SERVICE_KEY" --trials 300
//! ```
//!
//! Each trial flips one user's `active` through the gateway and waits for its event. The delay
//! runs from the moment the HTTP 200 arrives to the moment the event arrives; the event commits
//! before the 200 is sent, so a delay can be negative (the event won the race).

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::time::{Duration, Instant};

use identity_proto::BearerAuth;
use identity_proto::v1 as pb;
use identity_proto::v1::events_client::EventsClient;
use serde_json::json;

struct Options {
    gateway: String,
    identity: String,
    scim_key: String,
    service_key: String,
    trials: usize,
}

fn options() -> Options {
    let mut options = Options {
        gateway: "http://127.0.0.1:8080/scim/v2".into(),
        identity: "http://127.0.0.1:50051".into(),
        scim_key: String::new(),
        service_key: String::new(),
        trials: 300,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--gateway" => options.gateway = value,
            "--identity" => options.identity = value,
            "--scim-key" => options.scim_key = value,
            "--service-key" => options.service_key = value,
            "--trials" => options.trials = value.parse().expect("--trials"),
            other => panic!("unknown flag {other}"),
        }
    }
    options
}

#[tokio::main]
async fn main() {
    let options = options();
    let http = reqwest::Client::new();
    let created = http
        .post(format!("{}/Users", options.gateway))
        .bearer_auth(&options.scim_key)
        .json(&json!({"userName": format!("latency-{}@example.com", std::process::id())}))
        .send()
        .await
        .expect("create user");
    assert_eq!(created.status(), 201, "create the test user");
    let user: serde_json::Value = created.json().await.unwrap();
    let user_id = user["id"].as_str().unwrap().to_owned();

    let channel = tonic::transport::Endpoint::from_shared(options.identity.clone())
        .unwrap()
        .connect()
        .await
        .expect("connect to the identity service");
    let mut events =
        EventsClient::with_interceptor(channel, BearerAuth::new(&options.service_key).unwrap());
    let mut watch = events
        .watch_events(pb::WatchEventsRequest {
            tenant_id: String::new(),
            start: Some(pb::watch_events_request::Start::FromNow(true)),
        })
        .await
        .expect("watch")
        .into_inner();

    // Events are timestamped as they arrive, on their own task.
    let (arrivals, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(event)) = watch.message().await {
            if arrivals.send((event.request_id, Instant::now())).is_err() {
                return;
            }
        }
    });

    let mut delays = Vec::with_capacity(options.trials);
    for trial in 0..options.trials {
        let active = trial % 2 == 1;
        let request_id = format!("latency-{trial}");
        let response = http
            .patch(format!("{}/Users/{user_id}", options.gateway))
            .bearer_auth(&options.scim_key)
            .header("x-request-id", &request_id)
            .json(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "Operations": [{"op": "replace", "value": {"active": active}}]}),
            )
            .send()
            .await
            .expect("PATCH");
        let answered = Instant::now();
        assert_eq!(response.status(), 200);
        response.bytes().await.unwrap();
        loop {
            let (id, received) = tokio::time::timeout(Duration::from_secs(10), arrived.recv())
                .await
                .expect("the event within 10 s")
                .expect("watch open");
            if id == request_id {
                // Negative when the event arrived before the HTTP answer.
                let delay = if received >= answered {
                    (received - answered).as_secs_f64()
                } else {
                    -(answered - received).as_secs_f64()
                };
                delays.push(delay * 1e3);
                break;
            }
        }
    }
    delays.sort_by(f64::total_cmp);
    let at = |q: f64| delays[((delays.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "deactivation 200 -> WatchEvents event: p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} trials)",
        at(0.5),
        at(0.99),
        delays[delays.len() - 1],
        delays.len()
    );
}

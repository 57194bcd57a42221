//! The benchmark ceiling: a bare axum server answering every request with a canned SCIM User
//! (no identity service, no parsing), on the gateway's own listener set-up (TCP_NODELAY). The
//! gateway's throughput is reported against this.
//!
//! ```sh
//! cargo run --release -p scim-gateway --example ceiling -- 127.0.0.1:18082
//! ```

#![allow(clippy::print_stdout, clippy::expect_used)]

use axum::Router;
use axum::response::IntoResponse;

const USER: &str = r#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"01a23488-32de-7611-8c88-e66981d601b7","externalId":"00u1","userName":"load-0000001@example.com","name":{"givenName":"Load1","familyName":"Test"},"active":true,"emails":[{"value":"load-0000001@example.com","type":"work","primary":true}],"meta":{"resourceType":"User","created":"2026-12-02T02:14:30.878600Z","lastModified":"2026-12-02T02:14:30.878600Z","location":"http://127.0.0.1:8080/scim/v2/Users/01a23488-32de-7611-8c88-e66981d601b7","version":"W/\"1\""}}"#;

async fn canned() -> impl IntoResponse {
    ([("content-type", "application/scim+json")], USER)
}

#[tokio::main]
async fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18082".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    println!("canned SCIM User on http://{addr}");
    axum::serve(
        scim_gateway::listen::nodelay(listener),
        Router::new().fallback(canned),
    )
    .await
    .expect("serve");
}

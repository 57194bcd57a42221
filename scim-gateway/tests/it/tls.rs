//! TLS end to end, with certificates made by the test: Okta's HTTPS to the gateway, the
//! gateway's gRPC over TLS to the service, and mutual TLS refusing a caller without a
//! client certificate.

use identity_proto::v1 as pb;
use identity_proto::v1::portal_client::PortalClient;
use identity_proto::v1::tenants_client::TenantsClient;
use identity_proto::v1::users_client::UsersClient;
use identity_proto::{BearerAuth, ClientTls};
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::server::{ServeOptions, Tls as ServiceTls};
use identity_service::store::{Store, StoreOptions};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use reqwest::StatusCode;
use scim_gateway::server::{Config, Tls as GatewayTls};
use serde_json::json;
use tokio::net::TcpListener;
use tonic::transport::Endpoint;

use crate::support::{USER_SCHEMA, start_gateway_on, start_identity_with};

/// A certificate and its private key, PEM.
struct Pem {
    cert: String,
    key: String,
}

/// A test CA and two certificates it signed: the servers' (for 127.0.0.1) and a client's.
struct Pki {
    ca: String,
    server: Pem,
    client: Pem,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "identity test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca, &ca_key);
    let leaf = |names: &[&str]| {
        let key = KeyPair::generate().unwrap();
        let params = CertificateParams::new(
            names
                .iter()
                .map(|name| (*name).to_owned())
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        Pem {
            cert: cert.pem(),
            key: key.serialize_pem(),
        }
    };
    Pki {
        ca: ca_cert.pem(),
        server: leaf(&["127.0.0.1", "localhost"]),
        client: leaf(&["scim-gateway"]),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_end_to_end_through_a_mutual_tls_service() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("identity.db").display());
    let store = Store::open(&url, StoreOptions::default()).await.unwrap();
    let InitOutcome::Created {
        tenant,
        service_secret,
        scim_secret,
    } = bootstrap::initialise(&store, "acme").await.unwrap()
    else {
        panic!("fresh database");
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gateway_addr = gateway_listener.local_addr().unwrap();
    let identity = start_identity_with(
        store,
        listener,
        ServeOptions {
            tls: Some(ServiceTls {
                cert: pki.server.cert.clone().into_bytes(),
                key: pki.server.key.clone().into_bytes(),
                client_ca: Some(pki.ca.clone().into_bytes()),
            }),
            portal_url: Some(format!("https://{gateway_addr}/portal")),
            ..ServeOptions::default()
        },
    );
    let identity_url = format!("https://{}", identity.addr);
    let gateway = start_gateway_on(
        Config {
            identity_url: identity_url.clone(),
            identity_tls: ClientTls {
                ca: Some(pki.ca.clone().into_bytes()),
                identity: Some((
                    pki.client.cert.clone().into_bytes(),
                    pki.client.key.clone().into_bytes(),
                )),
            },
            tls: Some(GatewayTls {
                cert: pki.server.cert.clone().into_bytes(),
                key: pki.server.key.clone().into_bytes(),
            }),
            ..Config::default()
        },
        gateway_listener,
    );

    // Okta's side: HTTPS, trusting the test CA.
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca.as_bytes()).unwrap())
        .build()
        .unwrap();
    let base = format!("https://{}/scim/v2", gateway.addr);
    let created = http
        .post(format!("{base}/Users"))
        .bearer_auth(&scim_secret)
        .header("content-type", "application/scim+json")
        .body(json!({"schemas": [USER_SCHEMA], "userName": "tls@example.com"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&base), "{location}");
    let read = http
        .get(&location)
        .bearer_auth(&scim_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let body: serde_json::Value = read.json().await.unwrap();
    assert_eq!(body["userName"], "tls@example.com");
    // Plain HTTP to the HTTPS port is not served.
    let plain = reqwest::Client::new()
        .get(format!("http://{}/scim/v2/Users", gateway.addr))
        .bearer_auth(&scim_secret)
        .send()
        .await;
    assert!(plain.is_err() || plain.is_ok_and(|r| r.status() != StatusCode::OK));

    // A gRPC caller that trusts the service but presents no certificate is refused…
    let tenants = |tls: ClientTls| {
        let endpoint = tls
            .apply(Endpoint::from_shared(identity_url.clone()).unwrap())
            .unwrap();
        TenantsClient::with_interceptor(
            endpoint.connect_lazy(),
            BearerAuth::new(&service_secret).unwrap(),
        )
    };
    let without_certificate = tenants(ClientTls {
        ca: Some(pki.ca.clone().into_bytes()),
        identity: None,
    })
    .list_tenants(pb::ListTenantsRequest::default())
    .await;
    assert!(without_certificate.is_err(), "{without_certificate:?}");
    // …and one that presents the client certificate is served.
    let with_certificate = tenants(ClientTls {
        ca: Some(pki.ca.clone().into_bytes()),
        identity: Some((
            pki.client.cert.clone().into_bytes(),
            pki.client.key.clone().into_bytes(),
        )),
    })
    .list_tenants(pb::ListTenantsRequest::default())
    .await
    .unwrap();
    assert_eq!(with_certificate.into_inner().tenants.len(), 1);

    // The admin portal over HTTPS: its session cookie is Secure (and HttpOnly, SameSite=Strict).
    let channel = ClientTls {
        ca: Some(pki.ca.clone().into_bytes()),
        identity: Some((
            pki.client.cert.clone().into_bytes(),
            pki.client.key.clone().into_bytes(),
        )),
    }
    .apply(Endpoint::from_shared(identity_url.clone()).unwrap())
    .unwrap()
    .connect_lazy();
    let admin_id = body["id"].as_str().unwrap().to_owned();
    UsersClient::with_interceptor(channel.clone(), BearerAuth::new(&service_secret).unwrap())
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: tenant.id.to_string(),
            user_id: admin_id.clone(),
            role: pb::Role::Admin.into(),
        })
        .await
        .unwrap();
    let mut request = tonic::Request::new(pb::CreatePortalLinkRequest {
        tenant_id: tenant.id.to_string(),
        ttl: None,
    });
    let metadata = request.metadata_mut();
    metadata.insert(
        "authorization",
        format!("Bearer {service_secret}").parse().unwrap(),
    );
    metadata.insert("x-acting-user-id", admin_id.parse().unwrap());
    let link = PortalClient::new(channel)
        .create_portal_link(request)
        .await
        .unwrap()
        .into_inner();
    assert!(
        link.url
            .starts_with(&format!("https://{gateway_addr}/portal/link/"))
    );
    let followed = http.get(&link.url).send().await.unwrap();
    assert_eq!(followed.status(), StatusCode::OK);
    let cookie = followed.headers()["set-cookie"].to_str().unwrap();
    for part in [
        "; Secure",
        "; HttpOnly",
        "; SameSite=Strict",
        "Path=/portal",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }

    gateway.stop().await;
    identity.stop().await;
}

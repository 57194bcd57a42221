//! Test harness: a fresh SQLite identity service and the real gateway in front of it, both on
//! `127.0.0.1:0`, driven over HTTP with reqwest as Okta and Entra drive them.

use std::net::SocketAddr;
use std::time::Duration;

use identity_proto::BearerAuth;
use identity_proto::v1 as pb;
use identity_proto::v1::groups_client::GroupsClient;
use identity_proto::v1::users_client::UsersClient;
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::server::{self as identity_server, ServeOptions};
use identity_service::store::{Store, StoreOptions};
use reqwest::{Method, StatusCode};
use scim_gateway::server::{self as gateway_server, Config};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A running server and the way to stop it.
pub struct Running {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Running {
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// The identity service on `listener`, over `store`.
pub fn start_identity(store: Store, listener: TcpListener) -> Running {
    start_identity_with(store, listener, ServeOptions::default())
}

pub fn start_identity_with(store: Store, listener: TcpListener, options: ServeOptions) -> Running {
    let addr = listener.local_addr().expect("local addr");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        identity_server::serve(
            store,
            listener,
            async {
                let _ = stopped.await;
            },
            options,
        )
        .await
        .expect("identity service");
    });
    Running {
        addr,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

pub async fn start_gateway(config: Config) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    start_gateway_on(config, listener)
}

pub fn start_gateway_on(config: Config, listener: TcpListener) -> Running {
    let addr = listener.local_addr().expect("local addr");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        gateway_server::serve(config, listener, async {
            let _ = stopped.await;
        })
        .await
        .expect("gateway");
    });
    Running {
        addr,
        shutdown: Some(shutdown),
        task: Some(task),
    }
}

pub type Users = UsersClient<InterceptedService<Channel, BearerAuth>>;
pub type Groups = GroupsClient<InterceptedService<Channel, BearerAuth>>;

pub struct App {
    pub gateway: Running,
    /// `http://<gateway>`.
    pub origin: String,
    pub identity: Running,
    pub base: String,
    pub scim_key: String,
    pub service_key: String,
    pub tenant_id: String,
    pub http: reqwest::Client,
    pub channel: Channel,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> App {
    spawn_app_with(|_| {}).await
}

/// Both servers on fresh ports and a fresh SQLite file; `configure` adjusts the gateway.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> App {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("identity.db").display());
    let store = Store::open(&url, StoreOptions::default())
        .await
        .expect("open store");
    let InitOutcome::Created {
        tenant,
        service_secret,
        scim_secret,
    } = bootstrap::initialise(&store, "acme").await.expect("init")
    else {
        panic!("fresh database already initialised");
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    // The gateway's port first: the service makes portal links under it.
    let gateway_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let gateway_addr = gateway_listener.local_addr().expect("local addr");
    let identity = start_identity_with(
        store,
        listener,
        ServeOptions {
            portal_url: Some(format!("http://{gateway_addr}/portal")),
            ..ServeOptions::default()
        },
    );
    let mut config = Config {
        identity_url: format!("http://{}", identity.addr),
        ..Config::default()
    };
    configure(&mut config);
    let base_path = config.base_path.trim_end_matches('/').to_owned();
    let gateway = start_gateway_on(config, gateway_listener);
    let channel = Endpoint::from_shared(format!("http://{}", identity.addr))
        .expect("endpoint")
        .connect_lazy();
    App {
        base: format!("http://{}{base_path}", gateway.addr),
        origin: format!("http://{}", gateway.addr),
        gateway,
        identity,
        scim_key: scim_secret,
        service_key: service_secret,
        tenant_id: tenant.id.into_string(),
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client"),
        channel,
        _dir: dir,
    }
}

/// An HTTP answer: status, headers and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Asserts a SCIM error body: `status` as a string, the scimType, a non-empty detail.
    #[track_caller]
    pub fn assert_error(&self, status: u16, scim_type: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{:#}", self.body);
        assert_eq!(
            self.body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
            "{:#}",
            self.body
        );
        assert_eq!(
            self.body["status"],
            json!(status.to_string()),
            "{:#}",
            self.body
        );
        assert_eq!(
            self.body.get("scimType").and_then(Value::as_str),
            scim_type,
            "{:#}",
            self.body
        );
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{:#}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/scim+json"),
            "errors are SCIM JSON"
        );
    }
}

impl App {
    pub fn users(&self) -> Users {
        UsersClient::with_interceptor(
            self.channel.clone(),
            BearerAuth::new(&self.service_key).expect("key"),
        )
    }

    pub fn groups(&self) -> Groups {
        GroupsClient::with_interceptor(
            self.channel.clone(),
            BearerAuth::new(&self.service_key).expect("key"),
        )
    }

    /// A request with the SCIM key as a bearer token; `path` is relative to the base URL.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        self.call_with(method, path, body, |request| {
            request.bearer_auth(&self.scim_key)
        })
        .await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        adjust: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
    ) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/scim+json")
                .body(body.to_string());
        }
        let response = adjust(request).send().await.expect("send");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|error| {
                panic!(
                    "{status}: body is not JSON ({error}): {}",
                    String::from_utf8_lossy(&bytes)
                )
            })
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a user through SCIM and returns its resource.
    pub async fn create_user(&self, user_name: &str) -> Value {
        let answer = self
            .post(
                "/Users",
                json!({
                    "schemas": [USER_SCHEMA],
                    "userName": user_name,
                    "name": {"givenName": "Given", "familyName": "Family"},
                    "active": true,
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
        answer.body
    }

    pub async fn create_group(&self, name: &str) -> Value {
        let answer = self
            .post(
                "/Groups",
                json!({"schemas": [GROUP_SCHEMA], "displayName": name, "members": []}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{:#}", answer.body);
        answer.body
    }

    /// The member ids of a group, sorted, read through SCIM.
    pub async fn member_ids(&self, group_id: &str) -> Vec<String> {
        let answer = self.get(&format!("/Groups/{group_id}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
        let mut ids: Vec<String> = answer.body["members"]
            .as_array()
            .expect("members is an array")
            .iter()
            .map(|member| member["value"].as_str().expect("value").to_owned())
            .collect();
        ids.sort();
        ids
    }

    /// Marks `domain` verified for the tenant (SCIM may then change emails to it).
    pub async fn verify_domain(&self, domain: &str) {
        identity_proto::v1::tenants_client::TenantsClient::with_interceptor(
            self.channel.clone(),
            BearerAuth::new(&self.service_key).expect("key"),
        )
        .add_verified_domain(pb::AddVerifiedDomainRequest {
            tenant_id: self.tenant_id.clone(),
            domain: domain.to_owned(),
        })
        .await
        .expect("verify domain");
    }

    /// A new tenant and a SCIM key for it (issued with the all-tenant service key): the
    /// tenant's id and the key's secret.
    pub async fn tenant_with_scim_key(&self, name: &str) -> (String, String) {
        let mut tenants = identity_proto::v1::tenants_client::TenantsClient::with_interceptor(
            self.channel.clone(),
            BearerAuth::new(&self.service_key).expect("key"),
        );
        let tenant = tenants
            .create_tenant(pb::CreateTenantRequest {
                tenant: Some(pb::Tenant {
                    name: name.to_owned(),
                    scim_enabled: true,
                    ..Default::default()
                }),
            })
            .await
            .expect("create tenant")
            .into_inner();
        let issued = tenants
            .issue_api_key(pb::IssueApiKeyRequest {
                tenant_id: tenant.id.clone(),
                name: "okta".into(),
                kind: pb::ApiKeyKind::Scim as i32,
                ..Default::default()
            })
            .await
            .expect("issue SCIM key")
            .into_inner();
        (tenant.id, issued.secret)
    }

    /// The user as the service stores it (read over gRPC with the service key).
    pub async fn stored_user(&self, id: &str) -> pb::User {
        self.users()
            .get_user(pb::GetUserRequest {
                tenant_id: self.tenant_id.clone(),
                id: id.to_owned(),
            })
            .await
            .expect("get user")
            .into_inner()
    }
}

pub fn id_of(resource: &Value) -> String {
    resource["id"].as_str().expect("id").to_owned()
}

pub fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

/// Percent-encodes a query value (as a form: spaces as `+`).
pub fn query(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `totalResults` of a user filter, which must be served.
pub async fn total(app: &App, filter: &str) -> i64 {
    let answer = app.get(&format!("/Users?filter={}", query(filter))).await;
    assert_eq!(answer.status, StatusCode::OK, "{filter}: {:#}", answer.body);
    answer.body["totalResults"].as_i64().expect("totalResults")
}

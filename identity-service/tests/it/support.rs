//! Test harness: a fresh database per test (a SQLite file, or a PostgreSQL schema in the
//! database `IDENTITY_TEST_DATABASE_URL` names) and the real service on `127.0.0.1:0`.
//!
//! A case that needs PostgreSQL is `#[ignore]`d: a plain `cargo test` reports it as ignored, not
//! passed, and `scripts/test.sh` (the README's test command) runs it with `--include-ignored`
//! against a database of its own. Run without the variable, it fails and says why.

use std::net::SocketAddr;
use std::time::Duration;

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection};
use identity_proto::BearerAuth;
use identity_proto::v1 as pb;
use identity_proto::v1::events_client::EventsClient;
use identity_proto::v1::groups_client::GroupsClient;
use identity_proto::v1::portal_client::PortalClient;
use identity_proto::v1::provisioning_log_client::ProvisioningLogClient;
use identity_proto::v1::tenants_client::TenantsClient;
use identity_proto::v1::users_client::UsersClient;
use identity_service::bootstrap::{self, InitOutcome};
use identity_service::server::{self, ServeOptions};
use identity_service::store::{Store, StoreOptions};
use tokio::sync::oneshot;
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic_types::StatusExt as _;

pub const POSTGRES_URL_VAR: &str = "IDENTITY_TEST_DATABASE_URL";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, schema: String },
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, schema } = &self.cleanup
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
        }
    }
}

impl TestDb {
    /// A fresh database for `test` (its name is only for messages).
    pub fn new(backend: Backend, test: &str) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("identity.db").display());
                TestDb {
                    url,
                    cleanup: Cleanup::Sqlite(dir),
                }
            }
            Backend::Postgres => {
                let admin_url = postgres_url(test);
                let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
                let mut conn =
                    PgConnection::establish(&admin_url).expect("connect to the test PostgreSQL");
                conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                    .expect("create schema");
                let separator = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{separator}options=-csearch_path%3D{schema}");
                TestDb {
                    url,
                    cleanup: Cleanup::Postgres { admin_url, schema },
                }
            }
        }
    }

    pub async fn open(&self) -> Store {
        Store::open(&self.url, StoreOptions::default())
            .await
            .expect("open store")
    }
}

/// The PostgreSQL database the PostgreSQL cases use; without one they fail, saying so.
pub fn postgres_url(test: &str) -> String {
    std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
        panic!(
            "{test} runs on PostgreSQL: set {POSTGRES_URL_VAR} (scripts/test.sh creates a \
             database and sets it)"
        )
    })
}

/// Runs a test body against SQLite and PostgreSQL (an ignored case, see the module's note):
/// `on_both_backends!(name)` expects `async fn name(backend: Backend)`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "needs PostgreSQL (IDENTITY_TEST_DATABASE_URL); scripts/test.sh runs it"]
                async fn postgres() {
                    super::$name($crate::support::Backend::Postgres).await;
                }
            }
        )*
    };
}
pub(crate) use on_both_backends;

/// The clients' own [`BearerAuth`], or no credentials at all (to test their absence), and the
/// person the calls act for, if any.
#[derive(Clone)]
pub struct Bearer(
    Option<BearerAuth>,
    Option<tonic::metadata::AsciiMetadataValue>,
);

impl Interceptor for Bearer {
    fn call(&mut self, request: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        let mut request = match &mut self.0 {
            Some(auth) => auth.call(request)?,
            None => request,
        };
        if let Some(user_id) = &self.1 {
            request
                .metadata_mut()
                .insert("x-acting-user-id", user_id.clone());
        }
        Ok(request)
    }
}

pub type Authed = InterceptedService<Channel, Bearer>;

/// Clients of the three services, all sending one key.
#[derive(Clone)]
pub struct Clients {
    pub users: UsersClient<Authed>,
    pub groups: GroupsClient<Authed>,
    pub tenants: TenantsClient<Authed>,
    pub events: EventsClient<Authed>,
    pub provisioning: ProvisioningLogClient<Authed>,
    pub portal: PortalClient<Authed>,
}

impl Clients {
    pub fn new(channel: &Channel, key: Option<&str>) -> Clients {
        Clients::with(channel, key, None)
    }

    /// Clients sending `key` on behalf of the person `acting` (`x-acting-user-id`).
    pub fn with(channel: &Channel, key: Option<&str>, acting: Option<&str>) -> Clients {
        let bearer = Bearer(
            key.map(|key| BearerAuth::new(key).expect("ascii key")),
            acting.map(|id| id.parse().expect("ascii user id")),
        );
        Clients {
            users: UsersClient::with_interceptor(channel.clone(), bearer.clone()),
            groups: GroupsClient::with_interceptor(channel.clone(), bearer.clone()),
            tenants: TenantsClient::with_interceptor(channel.clone(), bearer.clone()),
            events: EventsClient::with_interceptor(channel.clone(), bearer.clone()),
            provisioning: ProvisioningLogClient::with_interceptor(channel.clone(), bearer.clone()),
            portal: PortalClient::with_interceptor(channel.clone(), bearer),
        }
    }
}

/// A running identity service with an initialised database.
pub struct App {
    pub addr: SocketAddr,
    pub channel: Channel,
    pub store: Store,
    pub tenant_id: String,
    pub service_key: String,
    pub scim_key: String,
    /// Authenticated with the all-tenant service key.
    pub admin: Clients,
    /// Authenticated with the default tenant's SCIM key.
    pub scim: Clients,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    pub db: TestDb,
}

impl App {
    pub fn clients(&self, key: Option<&str>) -> Clients {
        Clients::new(&self.channel, key)
    }

    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task");
        }
    }
}

/// A second replica of the service on the app's database (PostgreSQL: SQLite has one owner
/// process), stopped when dropped.
pub struct Replica {
    pub channel: Channel,
    shutdown: Option<oneshot::Sender<()>>,
}

impl App {
    pub async fn second_replica(&self) -> Replica {
        let store = Store::open(&self.db.url, StoreOptions::default())
            .await
            .expect("second store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(server::serve(
            store,
            listener,
            async {
                let _ = stopped.await;
            },
            ServeOptions::default(),
        ));
        let channel = Endpoint::from_shared(format!("http://{addr}"))
            .expect("endpoint")
            .connect()
            .await
            .expect("connect to the second replica");
        Replica {
            channel,
            shutdown: Some(shutdown),
        }
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

impl Drop for App {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Where the test services say the admin portal is (links are made under it).
pub const PORTAL_URL: &str = "https://scim.test.example/portal";

pub async fn spawn_app(backend: Backend, test: &str) -> App {
    let options = ServeOptions {
        portal_url: Some(PORTAL_URL.to_owned()),
        ..ServeOptions::default()
    };
    spawn_app_with(backend, test, options).await
}

pub async fn spawn_app_with(backend: Backend, test: &str, options: ServeOptions) -> App {
    let db = TestDb::new(backend, test);
    let store = db.open().await;
    let InitOutcome::Created {
        tenant,
        service_secret,
        scim_secret,
    } = bootstrap::initialise(&store, "default")
        .await
        .expect("init")
    else {
        panic!("a fresh database was already initialised");
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (shutdown, stopped) = oneshot::channel::<()>();
    let server_store = store.clone();
    let server = tokio::spawn(async move {
        server::serve(
            server_store,
            listener,
            async {
                let _ = stopped.await;
            },
            options,
        )
        .await
        .expect("serve");
    });
    let channel = Endpoint::from_shared(format!("http://{addr}"))
        .expect("endpoint")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect to the service");
    App {
        addr,
        admin: Clients::new(&channel, Some(&service_secret)),
        scim: Clients::new(&channel, Some(&scim_secret)),
        channel,
        store,
        tenant_id: tenant.id.into_string(),
        service_key: service_secret,
        scim_key: scim_secret,
        shutdown: Some(shutdown),
        server: Some(server),
        db,
    }
}

/// The `ErrorInfo.reason` of a failed call.
pub fn reason(status: &tonic::Status) -> String {
    status
        .get_error_details()
        .error_info()
        .map(|info| info.reason.clone())
        .unwrap_or_default()
}

/// The fields named in a failed call's `BadRequest` details.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

pub fn new_user(user_name: &str) -> pb::User {
    pb::User {
        user_name: user_name.to_owned(),
        active: true,
        ..pb::User::default()
    }
}

pub async fn create_user(clients: &mut Clients, tenant_id: &str, user_name: &str) -> pb::User {
    clients
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: tenant_id.to_owned(),
            user: Some(new_user(user_name)),
        })
        .await
        .expect("create user")
        .into_inner()
}

pub async fn create_group(clients: &mut Clients, tenant_id: &str, name: &str) -> pb::Group {
    clients
        .groups
        .create_group(pb::CreateGroupRequest {
            tenant_id: tenant_id.to_owned(),
            group: Some(pb::Group {
                display_name: name.to_owned(),
                ..pb::Group::default()
            }),
            member_user_ids: Vec::new(),
        })
        .await
        .expect("create group")
        .into_inner()
}

pub fn comparison(
    field: &str,
    op: pb::Operator,
    value: Option<pb::filter_value::Kind>,
) -> pb::Filter {
    pb::Filter {
        expression: Some(pb::filter::Expression::Comparison(pb::Comparison {
            element_type: String::new(),
            field: field.to_owned(),
            op: op.into(),
            value: value.map(|kind| pb::FilterValue { kind: Some(kind) }),
        })),
    }
}

pub fn text(value: &str) -> Option<pb::filter_value::Kind> {
    Some(pb::filter_value::Kind::StringValue(value.to_owned()))
}

pub fn page(size: i32, token: &str) -> Option<pb::PageRequest> {
    Some(pb::PageRequest {
        page_size: size,
        page_token: token.to_owned(),
        offset: 0,
        include_total_size: true,
    })
}

/// Every user of the default tenant, walking all pages.
pub async fn all_user_names(clients: &mut Clients, tenant_id: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut token = String::new();
    loop {
        let response = clients
            .users
            .list_users(pb::ListUsersRequest {
                tenant_id: tenant_id.to_owned(),
                filter: None,
                page: page(1000, &token),
            })
            .await
            .expect("list users")
            .into_inner();
        names.extend(response.users.into_iter().map(|user| user.user_name));
        token = response.page.map(|p| p.next_page_token).unwrap_or_default();
        if token.is_empty() {
            return names;
        }
    }
}

/// Verifies `domain` for the default tenant (with the all-tenant key): SCIM may then present
/// addresses in it while SCIM is on.
pub async fn verify_domain(app: &App, domain: &str) {
    app.admin
        .tenants
        .clone()
        .add_verified_domain(pb::AddVerifiedDomainRequest {
            tenant_id: app.tenant_id.clone(),
            domain: domain.to_owned(),
        })
        .await
        .expect("verify domain");
}

/// A JSON object (as text) as the contract carries documents (user attributes, settings).
pub fn document(json: &str) -> Option<prost_types::Struct> {
    match serde_json::from_str(json).expect("a JSON document") {
        serde_json::Value::Object(object) => Some(identity_proto::json::to_struct(object)),
        _ => panic!("{json} is not a JSON object"),
    }
}

pub fn mask(paths: &[&str]) -> Option<prost_types::FieldMask> {
    Some(prost_types::FieldMask {
        paths: paths.iter().map(|path| (*path).to_owned()).collect(),
    })
}

/// A read-write service key of the default tenant (the product's backend), issued by the
/// operator.
pub async fn product_key(app: &App) -> String {
    app.admin
        .tenants
        .clone()
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: app.tenant_id.clone(),
            kind: pb::ApiKeyKind::Service.into(),
            name: "product backend".into(),
            ..Default::default()
        })
        .await
        .expect("issue the product's key")
        .into_inner()
        .secret
}

/// Sets a user's role as the operator.
pub async fn set_role(app: &App, user_id: &str, role: pb::Role) -> pb::User {
    app.admin
        .users
        .clone()
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: user_id.to_owned(),
            role: role.into(),
        })
        .await
        .expect("set role")
        .into_inner()
}

//! The `identity-service` binary as an operator runs it.

use std::process::{Command, Output};

use crate::support::{Backend, TestDb, spawn_app};

fn identity_service(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_identity-service"));
    command.args(args).env("RUST_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("run identity-service")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn init_is_idempotent_and_prints_keys_once() {
    let db = TestDb::new(Backend::Sqlite, "init");
    let env = [("IDENTITY_DATABASE_URL", db.url.as_str())];
    let first: serde_json::Value =
        serde_json::from_str(&stdout(&identity_service(&["init", "--json"], &env))).unwrap();
    assert!(first["service_key"].as_str().unwrap().starts_with("idsvc_"));
    assert!(first["scim_key"].as_str().unwrap().starts_with("idscim_"));
    let second: serde_json::Value =
        serde_json::from_str(&stdout(&identity_service(&["init", "--json"], &env))).unwrap();
    assert_eq!(second["tenant_id"], first["tenant_id"]);
    assert_eq!(second["already_initialized"], true);
    assert!(second.get("service_key").is_none(), "keys are printed once");
    let text = stdout(&identity_service(&["init"], &env));
    assert!(text.contains("nothing changed"), "{text}");
    stdout(&identity_service(&["migrate"], &env));
}

/// `init --new-scim-key` (the quick start, on every run) issues a key and revokes the SCIM keys
/// init issued before, not the ones an admin issued; `--new-service-key` recovers a lost service
/// key from the database alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_reissues_keys_without_piling_them_up() {
    use identity_service::model::{KeyKind, KeyScope, PageQuery, PageStart};

    let db = TestDb::new(Backend::Sqlite, "init reissue");
    let url = db.url.clone();
    let run = move |args: &'static [&'static str]| {
        let url = url.clone();
        async move {
            tokio::task::spawn_blocking(move || {
                let output = identity_service(args, &[("IDENTITY_DATABASE_URL", url.as_str())]);
                serde_json::from_str::<serde_json::Value>(&stdout(&output)).unwrap()
            })
            .await
            .unwrap()
        }
    };
    let first = run(&["init", "--json"]).await;
    let tenant = KeyScope::Tenant(first["tenant_id"].as_str().unwrap().into());
    run(&["init", "--json", "--new-scim-key"]).await;
    let last = run(&["init", "--json", "--new-scim-key"]).await;
    assert!(last["scim_key"].as_str().unwrap().starts_with("idscim_"));
    let page = PageQuery {
        size: 100,
        start: PageStart::Offset(0),
        include_total: false,
    };
    let store = db.open().await;
    let keys = store
        .list_api_keys(tenant, &[KeyKind::Scim], page)
        .await
        .unwrap()
        .items;
    let active = keys.iter().filter(|key| key.revoked_at.is_none()).count();
    assert_eq!((keys.len(), active), (3, 1), "{keys:?}");

    // An operator with the database but no service key gets a new one, next to the first.
    let recovered = run(&["init", "--json", "--new-service-key"]).await;
    assert!(
        recovered["service_key"]
            .as_str()
            .unwrap()
            .starts_with("idsvc_")
    );
    assert!(recovered.get("scim_key").is_none());
    let page = PageQuery {
        size: 100,
        start: PageStart::Offset(0),
        include_total: false,
    };
    let services = store
        .list_api_keys(KeyScope::AllTenants, &[KeyKind::Service], page)
        .await
        .unwrap()
        .items;
    assert_eq!(services.len(), 2, "{services:?}");
}

/// `events tail --json`: one JSON object per event; when the server ends the stream, it says
/// where to resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_tail_prints_json_and_where_to_resume() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    let app = spawn_app(Backend::Sqlite, "events tail").await;
    let mut child = Command::new(env!("CARGO_BIN_EXE_identity-service"))
        .args(["events", "tail", "--json", "--from", "0"])
        .env("IDENTITY_ADDR", app.addr.to_string())
        .env("IDENTITY_KEY", &app.service_key)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start events tail");
    let stdout = child.stdout.take().unwrap();
    let first = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().expect("an event").unwrap();
        (first, lines)
    });
    let (first, _rest) = first.await.unwrap();
    let event: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(event["sequence"], 1, "{event}");
    assert_eq!(event["action"], "tenant.created", "{event}");
    // The server shuts down: the tail ends, naming the flag to resume with.
    app.stop().await;
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("resume with --from "), "{stderr}");
}

#[test]
fn a_database_that_cannot_be_opened_reports_why() {
    let output = identity_service(
        &[
            "migrate",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ],
        &[],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PostgreSQL") && stderr.contains("127.0.0.1"),
        "the real cause: {stderr}"
    );
    let output = identity_service(&["migrate", "--database-url", "mysql://localhost/x"], &[]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported database URL"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_work_against_a_running_service() {
    let app = spawn_app(Backend::Sqlite, "admin cli").await;
    let addr = format!("http://{}", app.addr);
    let service_key = app.service_key.clone();
    let tenant_id = app.tenant_id.clone();
    tokio::task::spawn_blocking(move || {
        let env = [
            ("IDENTITY_ADDR", addr.as_str()),
            ("IDENTITY_KEY", service_key.as_str()),
        ];
        let created: serde_json::Value = serde_json::from_str(&stdout(&identity_service(
            &["tenant", "create", "Initech", "--scim-enabled", "--json"],
            &env,
        )))
        .unwrap();
        let new_tenant = created["id"].as_str().unwrap().to_owned();
        let listed = stdout(&identity_service(&["tenant", "list"], &env));
        assert!(
            listed.contains("Initech") && listed.contains(&tenant_id),
            "{listed}"
        );

        let issued: serde_json::Value = serde_json::from_str(&stdout(&identity_service(
            &[
                "key",
                "issue",
                "--tenant",
                &new_tenant,
                "--kind",
                "scim",
                "--name",
                "okta",
                "--expires-in",
                "90d",
                "--json",
            ],
            &env,
        )))
        .unwrap();
        let key_id = issued["id"].as_str().unwrap().to_owned();
        let secret = issued["secret"].as_str().unwrap().to_owned();
        let keys = stdout(&identity_service(
            &["key", "list", "--tenant", &new_tenant],
            &env,
        ));
        assert!(
            keys.contains(&key_id) && keys.contains("ACTIVE") && keys.contains("okta"),
            "{keys}"
        );
        assert!(!keys.contains(&secret), "key list never prints secrets");
        stdout(&identity_service(&["key", "revoke", &key_id], &env));
        let keys = stdout(&identity_service(
            &["key", "list", "--tenant", &new_tenant],
            &env,
        ));
        assert!(keys.contains("REVOKED"), "{keys}");
        // JSON lists, filtered by state; an address without a scheme.
        let bare = addr.trim_start_matches("http://").to_owned();
        let json_env = [("IDENTITY_ADDR", bare.as_str()), env[1]];
        let listed: serde_json::Value = serde_json::from_str(&stdout(&identity_service(
            &[
                "key",
                "list",
                "--tenant",
                &new_tenant,
                "--state",
                "revoked",
                "--json",
            ],
            &json_env,
        )))
        .unwrap();
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{listed}");
        assert_eq!(listed[0]["id"], key_id.as_str());
        assert_eq!(listed[0]["state"], "REVOKED");
        assert!(listed[0]["expire_time"].is_string(), "{listed}");
        assert!(
            !listed.to_string().contains(&secret),
            "key list never prints secrets"
        );
        let active: serde_json::Value = serde_json::from_str(&stdout(&identity_service(
            &[
                "key",
                "list",
                "--tenant",
                &new_tenant,
                "--state",
                "active",
                "--json",
            ],
            &json_env,
        )))
        .unwrap();
        assert_eq!(active, serde_json::json!([]));
        let tenants: serde_json::Value = serde_json::from_str(&stdout(&identity_service(
            &["tenant", "list", "--json"],
            &json_env,
        )))
        .unwrap();
        assert!(
            tenants
                .as_array()
                .is_some_and(|tenants| tenants.iter().any(|t| t["name"] == "Initech")),
            "{tenants}"
        );

        // The same commands with the revoked SCIM key are refused with the reason.
        let refused = identity_service(
            &["tenant", "list"],
            &[
                ("IDENTITY_ADDR", addr.as_str()),
                ("IDENTITY_KEY", secret.as_str()),
            ],
        );
        assert!(!refused.status.success());
        assert!(String::from_utf8_lossy(&refused.stderr).contains("INVALID_CREDENTIALS"));

        let health = stdout(&identity_service(&["healthcheck", "--addr", &addr], &[]));
        assert!(health.contains("SERVING"));
        let down = identity_service(&["healthcheck", "--addr", "http://127.0.0.1:1"], &[]);
        assert!(!down.status.success());
    })
    .await
    .unwrap();
    app.stop().await;
}

/// `identity-service serve` on `db` with JSON logs on a pipe, and `extra` arguments.
fn spawn_serve(
    db: &TestDb,
    extra: &[&str],
) -> (
    std::process::Child,
    std::io::Lines<std::io::BufReader<std::process::ChildStderr>>,
) {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    let mut child = Command::new(env!("CARGO_BIN_EXE_identity-service"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(extra)
        .env("IDENTITY_DATABASE_URL", &db.url)
        .env("IDENTITY_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let log = BufReader::new(child.stderr.take().expect("stderr")).lines();
    (child, log)
}

/// `serve` on an embedded database: creates and migrates it on first start, answers health
/// checks, and stops gracefully on SIGTERM.
#[test]
fn serve_starts_on_a_fresh_database_and_stops_on_sigterm() {
    let db = TestDb::new(Backend::Sqlite, "serve");
    let (mut child, mut log) = spawn_serve(&db, &[]);
    let address = loop {
        let line = log.next().expect("serve exited before listening").unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        if let Some(address) = entry["fields"]["address"].as_str() {
            break address.to_owned();
        }
    };
    let health = stdout(&identity_service(
        &["healthcheck", "--addr", &format!("http://{address}")],
        &[],
    ));
    assert!(health.contains("SERVING"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let rest: Vec<String> = log.map(Result::unwrap).collect();
    let status = child.wait().unwrap();
    assert!(status.success(), "exit {status:?}: {rest:?}");
    assert!(
        rest.iter().any(|line| line.contains("draining")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("\"stopped\"")),
        "{rest:?}"
    );
}

/// A plain HTTP GET (the probes and metrics need no client library): status and body.
fn http_get(address: &str, path: &str) -> (u16, String) {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// `serve --metrics-listen`: probes answer, and calls show up in the metrics by method and code,
/// failed authentications by reason.
#[test]
fn serve_exposes_metrics_and_probes() {
    let db = TestDb::new(Backend::Sqlite, "metrics");
    let (mut child, mut log) = spawn_serve(&db, &["--metrics-listen", "127.0.0.1:0"]);
    let (mut grpc, mut ops) = (None, None);
    while grpc.is_none() || ops.is_none() {
        let line = log.next().expect("serve exited before listening").unwrap();
        let entry: serde_json::Value = serde_json::from_str(&line).unwrap();
        let address = entry["fields"]["address"].as_str().map(str::to_owned);
        match entry["fields"]["message"].as_str() {
            Some(message) if message.starts_with("metrics and probes") => ops = address,
            Some("identity service listening") => grpc = address,
            _ => {}
        }
    }
    let (grpc, ops) = (grpc.unwrap(), ops.unwrap());
    assert_eq!(http_get(&ops, "/healthz").0, 200);
    // Ready once the database answered its first check.
    let mut ready = 0;
    for _ in 0..100 {
        ready = http_get(&ops, "/readyz").0;
        if ready == 200 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(ready, 200);

    let refused = identity_service(
        &["tenant", "list", "--addr", &format!("http://{grpc}")],
        &[("IDENTITY_KEY", "not-a-key")],
    );
    assert!(!refused.status.success());
    let (status, metrics) = http_get(&ops, "/metrics");
    assert_eq!(status, 200);
    for expected in [
        r#"grpc_calls_total{side="server",method="identity.v1.Tenants/ListTenants",code="UNAUTHENTICATED"} 1"#,
        r#"identity_authentication_failures_total{reason="unknown key"} 1"#,
        "grpc_call_duration_seconds_bucket{",
        "identity_db_connections{",
    ] {
        assert!(metrics.contains(expected), "{expected} not in\n{metrics}");
    }
    assert!(
        !metrics.contains("not-a-key"),
        "a presented key leaked into the metrics"
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// `user import`: JSON Lines (either field spelling, blank lines skipped) sent a thousand at a
/// time; a refused thousand names its lines and what was imported before it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_import_reads_json_lines_a_thousand_at_a_time() {
    let app = spawn_app(Backend::Sqlite, "user import").await;
    let dir = tempfile::tempdir().unwrap();
    let line = |n: usize| {
        if n.is_multiple_of(2) {
            format!(
                r#"{{"userName": "import{n}@example.com", "givenName": "Ada", "emails": [{{"value": "import{n}@example.com", "primary": true}}]}}"#
            )
        } else {
            format!(
                r#"{{"user_name": "import{n}@example.com", "family_name": "Byron", "active": false}}"#
            )
        }
    };
    let mut first: Vec<String> = (0..2300).map(line).collect();
    first.insert(10, String::new());
    let good = dir.path().join("users.jsonl");
    std::fs::write(&good, first.join("\n") + "\n").unwrap();
    // The second file's 1,500th line repeats a name imported by the first.
    let mut second: Vec<String> = (5000..7000).map(line).collect();
    second[1499] = line(42);
    let clashing = dir.path().join("clashing.jsonl");
    std::fs::write(&clashing, second.join("\n")).unwrap();

    let addr = app.addr.to_string();
    let key = app.service_key.clone();
    let tenant = app.tenant_id.clone();
    let (imported, refused) = tokio::task::spawn_blocking(move || {
        let env = [
            ("IDENTITY_ADDR", addr.as_str()),
            ("IDENTITY_KEY", key.as_str()),
        ];
        let run = |file: &std::path::Path| {
            let file = file.to_str().unwrap();
            identity_service(&["user", "import", file, "--tenant", &tenant], &env)
        };
        (stdout(&run(&good)), run(&clashing))
    })
    .await
    .unwrap();
    assert_eq!(imported.trim(), "2300 users imported");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("lines 1001-2000 were not imported")
            && stderr.contains("1000 users before them were")
            && stderr.contains("users[499]")
            && stderr.contains("USER_NAME_TAKEN"),
        "{stderr}"
    );
    let mut admin = app.admin.clone();
    let names = crate::support::all_user_names(&mut admin, &app.tenant_id).await;
    assert_eq!(names.len(), 2300 + 1000);
    app.stop().await;
}

/// `portal link --json`: a link for a team admin, as the product's backend (or an operator)
/// makes one; a member gets none, and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_link_prints_a_one_time_url_for_admins_only() {
    use identity_proto::v1 as pb;

    let app = spawn_app(Backend::Sqlite, "portal link").await;
    let mut operator = app.admin.clone();
    let admin = crate::support::create_user(&mut operator, &app.tenant_id, "ada@example.com").await;
    let member =
        crate::support::create_user(&mut operator, &app.tenant_id, "max@example.com").await;
    operator
        .users
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: admin.id.clone(),
            role: pb::Role::Admin.into(),
        })
        .await
        .unwrap();
    let addr = app.addr.to_string();
    let link = |user: String, ttl: &'static str| {
        let (addr, key, tenant) = (addr.clone(), app.service_key.clone(), app.tenant_id.clone());
        tokio::task::spawn_blocking(move || {
            identity_service(
                &[
                    "portal",
                    "link",
                    "--tenant",
                    &tenant,
                    "--acting-user",
                    &user,
                    "--ttl",
                    ttl,
                    "--json",
                ],
                &[
                    ("IDENTITY_ADDR", addr.as_str()),
                    ("IDENTITY_KEY", key.as_str()),
                ],
            )
        })
    };
    let made: serde_json::Value =
        serde_json::from_str(&stdout(&link(admin.id.clone(), "15m").await.unwrap())).unwrap();
    let url = made["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/link/idplink_", crate::support::PORTAL_URL)),
        "{made}"
    );
    let expires = made["expire_time"].as_str().unwrap();
    assert!(expires.ends_with('Z'), "{made}");
    // The link works (once).
    let token = url.rsplit('/').next().unwrap();
    crate::permissions::redeem(&app.channel, token).await;

    let refused = link(member.id.clone(), "1h").await.unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("ADMIN_REQUIRED"), "{stderr}");
    let too_long = link(admin.id.clone(), "30d").await.unwrap();
    assert!(String::from_utf8_lossy(&too_long.stderr).contains("ttl"));
    app.stop().await;
}

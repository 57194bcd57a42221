//! Load generator for the identity service (a benchmark, not a test).
//!
//! Against a running release build (see the README's "Benchmarks"):
//!
//! ```sh
//! cargo run --release -p identity-service --example loadgen -- --key "$SCIM_KEY" --users 100000
//! ```
//!
//! Seeds `--users` users through CreateUser (skipping those that exist), then measures GetUser
//! and LookupUser (by user_name, in a random letter case) for `--seconds` each at
//! `--concurrency`, then ModifyGroup adding 100 members to a group that already has every seeded
//! user versus to an empty group.

#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use identity_proto::v1 as pb;
use identity_proto::v1::groups_client::GroupsClient;
use identity_proto::v1::users_client::UsersClient;
use identity_proto::{AuthenticatedChannel, BearerAuth};
use tonic::Code;
use tonic::transport::Endpoint;

struct Options {
    addr: String,
    key: String,
    users: usize,
    concurrency: usize,
    seconds: u64,
    trials: usize,
}

fn options() -> Options {
    let mut options = Options {
        addr: "http://127.0.0.1:50051".into(),
        key: std::env::var("IDENTITY_KEY").unwrap_or_default(),
        users: 100_000,
        concurrency: 32,
        seconds: 10,
        trials: 30,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => options.addr = value,
            "--key" => options.key = value,
            "--users" => options.users = value.parse().expect("--users"),
            "--concurrency" => options.concurrency = value.parse().expect("--concurrency"),
            "--seconds" => options.seconds = value.parse().expect("--seconds"),
            "--trials" => options.trials = value.parse().expect("--trials"),
            other => panic!("unknown flag {other}"),
        }
    }
    assert!(
        !options.key.is_empty(),
        "pass a SCIM key with --key (or IDENTITY_KEY)"
    );
    options
}

#[derive(Clone)]
struct Client {
    users: UsersClient<AuthenticatedChannel>,
    groups: GroupsClient<AuthenticatedChannel>,
}

/// A few HTTP/2 connections, so one connection is not the bottleneck.
async fn clients(options: &Options) -> Vec<Client> {
    let auth = BearerAuth::new(&options.key).expect("a key that fits in a header");
    let mut clients = Vec::new();
    for _ in 0..4 {
        let channel = Endpoint::from_shared(options.addr.clone())
            .unwrap()
            .connect()
            .await
            .expect("connect");
        clients.push(Client {
            users: UsersClient::with_interceptor(channel.clone(), auth.clone()),
            groups: GroupsClient::with_interceptor(channel, auth.clone()),
        });
    }
    clients
}

/// xorshift: cheap, good enough to pick ids.
fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn user_name(n: usize) -> String {
    format!("load-{n:07}@example.com")
}

struct Report {
    requests: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Report {
    fn print(&mut self, name: &str) {
        self.latencies.sort();
        let at = |q: f64| {
            let index = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
            self.latencies.get(index).copied().unwrap_or_default()
        };
        println!(
            "{name:<34} {:>9.0} req/s  p50 {:>8.3} ms  p99 {:>8.3} ms  ({} requests in {:.1} s)",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            self.requests,
            self.elapsed.as_secs_f64()
        );
    }
}

/// Runs `call` from `concurrency` tasks until `work` runs out or `deadline` passes.
async fn drive<F, Fut>(
    clients: &[Client],
    concurrency: usize,
    deadline: Duration,
    total: Option<usize>,
    call: F,
) -> Report
where
    F: Fn(Client, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|worker| {
            let client = clients[worker % clients.len()].clone();
            let counter = Arc::clone(&counter);
            let call = call.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let n = counter.fetch_add(1, Ordering::Relaxed);
                    if total.is_some_and(|total| n >= total) || start.elapsed() >= deadline {
                        break;
                    }
                    let began = Instant::now();
                    call(client.clone(), n).await;
                    latencies.push(began.elapsed());
                }
                latencies
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Report {
        requests: latencies.len(),
        elapsed: start.elapsed(),
        latencies,
    }
}

async fn user_ids(client: &Client) -> Vec<String> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let response = client
            .users
            .clone()
            .list_users(pb::ListUsersRequest {
                tenant_id: String::new(),
                filter: Some(pb::Filter {
                    expression: Some(pb::filter::Expression::Comparison(pb::Comparison {
                        element_type: String::new(),
                        field: "user_name".into(),
                        op: pb::Operator::Sw.into(),
                        value: Some(pb::FilterValue {
                            kind: Some(pb::filter_value::Kind::StringValue("load-".into())),
                        }),
                    })),
                }),
                page: Some(pb::PageRequest {
                    page_size: 1000,
                    page_token: token,
                    ..pb::PageRequest::default()
                }),
            })
            .await
            .expect("list users")
            .into_inner();
        ids.extend(response.users.into_iter().map(|u| u.id));
        token = response.page.unwrap_or_default().next_page_token;
        if token.is_empty() {
            return ids;
        }
    }
}

async fn create_group(client: &Client, name: &str) -> String {
    let created = client
        .groups
        .clone()
        .create_group(pb::CreateGroupRequest {
            tenant_id: String::new(),
            group: Some(pb::Group {
                display_name: name.into(),
                ..pb::Group::default()
            }),
            member_user_ids: Vec::new(),
        })
        .await;
    match created {
        Ok(group) => group.into_inner().id,
        Err(status) if status.code() == Code::AlreadyExists => {
            let found = client
                .groups
                .clone()
                .list_groups(pb::ListGroupsRequest {
                    tenant_id: String::new(),
                    filter: Some(pb::Filter {
                        expression: Some(pb::filter::Expression::Comparison(pb::Comparison {
                            element_type: String::new(),
                            field: "display_name".into(),
                            op: pb::Operator::Eq.into(),
                            value: Some(pb::FilterValue {
                                kind: Some(pb::filter_value::Kind::StringValue(name.into())),
                            }),
                        })),
                    }),
                    page: None,
                })
                .await
                .expect("find group")
                .into_inner();
            found.groups[0].id.clone()
        }
        Err(status) => panic!("create group: {status:?}"),
    }
}

fn change(add: bool, ids: &[String]) -> pb::MembershipChange {
    let ids = pb::MemberIds {
        user_ids: ids.to_vec(),
    };
    pb::MembershipChange {
        change: Some(if add {
            pb::membership_change::Change::Add(ids)
        } else {
            pb::membership_change::Change::Remove(ids)
        }),
    }
}

async fn modify(
    client: &Client,
    group: &str,
    change: pb::MembershipChange,
) -> (Duration, i64, i64) {
    let began = Instant::now();
    let response = client
        .groups
        .clone()
        .modify_group(pb::ModifyGroupRequest {
            external_id: None,
            tenant_id: String::new(),
            group_id: group.into(),
            display_name: None,
            changes: vec![change],
            expected_version: None,
        })
        .await
        .expect("modify group")
        .into_inner();
    (
        began.elapsed(),
        response.members_added,
        response.members_removed,
    )
}

async fn seed(clients: &[Client], options: &Options) -> Report {
    drive(
        clients,
        options.concurrency,
        Duration::from_secs(3600),
        Some(options.users),
        |client, n| async move {
            let request = pb::CreateUserRequest {
                tenant_id: String::new(),
                user: Some(pb::User {
                    user_name: user_name(n),
                    given_name: Some(format!("Load{n}")),
                    family_name: Some("Test".into()),
                    emails: vec![pb::Email {
                        value: user_name(n),
                        r#type: "work".into(),
                        primary: true,
                        display: String::new(),
                    }],
                    active: true,
                    ..pb::User::default()
                }),
            };
            match client.users.clone().create_user(request).await {
                Ok(_) => {}
                Err(status) if status.code() == Code::AlreadyExists => {}
                Err(status) => panic!("create user: {status:?}"),
            }
        },
    )
    .await
}

#[tokio::main]
async fn main() {
    let options = options();
    let clients = clients(&options).await;
    let deadline = Duration::from_secs(options.seconds);

    // Seed (unless an earlier run did).
    let mut ids = user_ids(&clients[0]).await;
    if ids.len() < options.users {
        seed(&clients, &options).await.print("CreateUser (seeding)");
        ids = user_ids(&clients[0]).await;
    }
    let ids = Arc::new(ids);
    println!("store holds {} load users", ids.len());

    let get_ids = Arc::clone(&ids);
    drive(
        &clients,
        options.concurrency,
        deadline,
        None,
        move |client, n| {
            let ids = Arc::clone(&get_ids);
            async move {
                let mut state = n as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
                let id = ids[next_random(&mut state) as usize % ids.len()].clone();
                client
                    .users
                    .clone()
                    .get_user(pb::GetUserRequest {
                        tenant_id: String::new(),
                        id,
                    })
                    .await
                    .expect("get user");
            }
        },
    )
    .await
    .print("GetUser");

    let users = options.users.min(ids.len());
    drive(
        &clients,
        options.concurrency,
        deadline,
        None,
        move |client, n| async move {
            let mut state = n as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
            let name = user_name(next_random(&mut state) as usize % users);
            // Okta's matching sends whatever case the IdP has.
            let name = if n % 2 == 0 {
                name.to_uppercase()
            } else {
                name
            };
            let request = pb::LookupUserRequest {
                tenant_id: String::new(),
                key: Some(pb::lookup_user_request::Key::UserName(name)),
            };
            client
                .users
                .clone()
                .lookup_user(request)
                .await
                .expect("lookup user");
        },
    )
    .await
    .print("LookupUser (user_name)");

    // ModifyGroup: a group holding every load user vs an empty one; each trial adds the same
    // 100 extra users and then removes them again.
    let client = &clients[0];
    let big = create_group(client, "loadgen-big").await;
    let mut filled = 0;
    for chunk in ids.chunks(10_000) {
        filled += modify(client, &big, change(true, chunk)).await.1;
    }
    let empty = create_group(client, "loadgen-empty").await;
    let mut extras = Vec::new();
    for n in 0..100 {
        let request = pb::CreateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                user_name: format!("extra-{n:03}@example.com"),
                active: true,
                ..pb::User::default()
            }),
        };
        match client.users.clone().create_user(request).await {
            Ok(user) => extras.push(user.into_inner().id),
            Err(status) if status.code() == Code::AlreadyExists => {
                let lookup = pb::LookupUserRequest {
                    tenant_id: String::new(),
                    key: Some(pb::lookup_user_request::Key::UserName(format!(
                        "extra-{n:03}@example.com"
                    ))),
                };
                extras.push(
                    client
                        .users
                        .clone()
                        .lookup_user(lookup)
                        .await
                        .expect("lookup extra")
                        .into_inner()
                        .id,
                );
            }
            Err(status) => panic!("{status:?}"),
        }
    }
    println!(
        "group loadgen-big filled with {filled} new members (holds {} load users)",
        ids.len()
    );
    for (name, group) in [
        ("ModifyGroup +100 into 100k group", &big),
        ("ModifyGroup +100 into empty group", &empty),
    ] {
        let mut latencies = Vec::new();
        for _ in 0..options.trials {
            let (took, added, _) = modify(client, group, change(true, &extras)).await;
            assert_eq!(added, 100);
            latencies.push(took);
            let (_, _, removed) = modify(client, group, change(false, &extras)).await;
            assert_eq!(removed, 100);
        }
        // Only the adds are timed.
        let elapsed = latencies.iter().sum();
        Report {
            requests: latencies.len(),
            elapsed,
            latencies,
        }
        .print(name);
    }
}

//! The reproductions of a hostile client's probing, kept as regressions: a member reaching for
//! more than it may, races on the last super admin, addresses that are not one address, and
//! filters built to overwhelm the database.

use identity_proto::v1 as pb;
use tonic::Code;

use crate::support::{
    App, Backend, Clients, comparison, create_user, document, mask, on_both_backends, product_key,
    reason, set_role, spawn_app, text,
};

on_both_backends!(
    a_team_keeps_its_last_super_admin_under_races,
    filters_at_the_limit_run_and_past_it_are_refused,
);

#[track_caller]
fn refused(outcome: Result<impl std::fmt::Debug, tonic::Status>, code: Code, why: &str) {
    let status = outcome.expect_err("refused");
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (code, why),
        "{status:?}"
    );
}

/// The product's backend (a read-write key of the default tenant) and people with roles.
struct Team {
    product_key: String,
    super_admin: pb::User,
    admin: pb::User,
    member: pb::User,
}

impl Team {
    async fn new(app: &App) -> Team {
        let mut operator = app.admin.clone();
        let mut person = async |name: &str, role: pb::Role| {
            let user = create_user(&mut operator, &app.tenant_id, name).await;
            set_role(app, &user.id, role).await
        };
        Team {
            super_admin: person("root@example.com", pb::Role::SuperAdmin).await,
            admin: person("admin@example.com", pb::Role::Admin).await,
            member: person("mallory@example.com", pb::Role::Member).await,
            product_key: product_key(app).await,
        }
    }

    fn acting(&self, app: &App, user: &pb::User) -> Clients {
        Clients::with(&app.channel, Some(&self.product_key), Some(&user.id))
    }
}

/// A member acting through the product's key: no keys, no other people's accounts, no team
/// settings; not even with SCIM off; and a SCIM-managed member cannot unmanage itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_cannot_reach_beyond_itself() {
    let app = spawn_app(Backend::Sqlite, "member_reach").await;
    let team = Team::new(&app).await;
    let mut mallory = team.acting(&app, &team.member);
    let managed = create_user(&mut app.scim.clone(), "", "okta.user@example.com").await;

    // No service key (with which, acting for nobody, it could make itself super admin).
    refused(
        mallory
            .tenants
            .issue_api_key(pb::IssueApiKeyRequest {
                kind: pb::ApiKeyKind::Service.into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "ADMIN_REQUIRED",
    );
    refused(
        mallory
            .tenants
            .list_api_keys(pb::ListApiKeysRequest::default())
            .await,
        Code::PermissionDenied,
        "ADMIN_REQUIRED",
    );
    // No account takeover: a super admin's email or user name.
    for (user, path) in [
        (
            pb::User {
                id: team.super_admin.id.clone(),
                emails: vec![pb::Email {
                    value: "mallory@evil.example".into(),
                    ..Default::default()
                }],
                ..Default::default()
            },
            "emails",
        ),
        (
            pb::User {
                id: team.super_admin.id.clone(),
                user_name: "mallory2@evil.example".into(),
                ..Default::default()
            },
            "user_name",
        ),
    ] {
        refused(
            mallory
                .users
                .update_user(pb::UpdateUserRequest {
                    user: Some(user),
                    update_mask: mask(&[path]),
                    ..Default::default()
                })
                .await,
            Code::PermissionDenied,
            "ADMIN_REQUIRED",
        );
    }
    // No team settings: the name, or switching the verified-domain rule off.
    refused(
        mallory
            .tenants
            .update_tenant(pb::UpdateTenantRequest {
                tenant: Some(pb::Tenant {
                    id: app.tenant_id.clone(),
                    name: "pwned".into(),
                    settings: document(r#"{"scim_email_domains":"any"}"#),
                    ..Default::default()
                }),
                update_mask: mask(&["name", "settings"]),
                expected_version: None,
            })
            .await,
        Code::PermissionDenied,
        "ADMIN_REQUIRED",
    );
    // An admin may not weaken the rule either; a super admin may.
    let weaken = || pb::UpdateTenantRequest {
        tenant: Some(pb::Tenant {
            id: app.tenant_id.clone(),
            settings: document(r#"{"scim_email_domains":"any"}"#),
            ..Default::default()
        }),
        update_mask: mask(&["settings"]),
        expected_version: None,
    };
    refused(
        team.acting(&app, &team.admin)
            .tenants
            .update_tenant(weaken())
            .await,
        Code::PermissionDenied,
        "SUPER_ADMIN_REQUIRED",
    );

    // A SCIM-managed member cannot set itself INTERNAL to escape the identity provider.

    let mut managed_person = team.acting(&app, &managed);
    refused(
        managed_person
            .users
            .update_user(pb::UpdateUserRequest {
                user: Some(pb::User {
                    id: managed.id.clone(),
                    managed_by: pb::ManagedBy::Internal.into(),
                    ..Default::default()
                }),
                update_mask: mask(&["managed_by"]),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "SERVICE_KEY_REQUIRED",
    );

    // With SCIM off, a member still removes nobody.
    app.admin
        .tenants
        .clone()
        .update_tenant(pb::UpdateTenantRequest {
            tenant: Some(pb::Tenant {
                id: app.tenant_id.clone(),
                scim_enabled: false,
                ..Default::default()
            }),
            update_mask: mask(&["scim_enabled"]),
            expected_version: None,
        })
        .await
        .unwrap();
    refused(
        mallory
            .users
            .delete_user(pb::DeleteUserRequest {
                id: team.admin.id.clone(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "ADMIN_REQUIRED",
    );
    app.stop().await;
}

/// A deactivated admin (deprovisioned by Okta) acts no more, even through a key it was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_admin_acts_no_more() {
    let app = spawn_app(Backend::Sqlite, "deactivated_admin").await;
    let team = Team::new(&app).await;
    let mut scim = app.scim.clone();
    scim.users
        .update_user(pb::UpdateUserRequest {
            user: Some(pb::User {
                id: team.admin.id.clone(),
                active: false,
                ..Default::default()
            }),
            update_mask: mask(&["active"]),
            ..Default::default()
        })
        .await
        .unwrap();
    refused(
        team.acting(&app, &team.admin)
            .users
            .set_user_role(pb::SetUserRoleRequest {
                user_id: team.member.id.clone(),
                role: pb::Role::Admin.into(),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "ACTING_USER_INACTIVE",
    );
    app.stop().await;
}

/// SCIM keys over gRPC see and change only the groups SCIM may link or manages.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scim_keys_reach_only_linkable_groups() {
    let app = spawn_app(Backend::Sqlite, "scim_groups").await;
    let team = Team::new(&app).await;
    let mut operator = app.admin.clone();
    let product_group = operator
        .groups
        .create_group(pb::CreateGroupRequest {
            tenant_id: app.tenant_id.clone(),
            group: Some(pb::Group {
                display_name: "Payroll".into(),
                ..Default::default()
            }),
            member_user_ids: vec![team.member.id.clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let mut scim = app.scim.clone();
    refused(
        scim.groups
            .update_group(pb::UpdateGroupRequest {
                group: Some(pb::Group {
                    id: product_group.id.clone(),
                    display_name: "Taken over".into(),
                    ..Default::default()
                }),
                update_mask: mask(&["display_name"]),
                ..Default::default()
            })
            .await,
        Code::FailedPrecondition,
        "GROUP_NOT_LINKABLE",
    );
    refused(
        scim.groups
            .list_group_members(pb::ListGroupMembersRequest {
                group_id: product_group.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "GROUP_NOT_FOUND",
    );
    refused(
        scim.groups
            .check_membership(pb::CheckMembershipRequest {
                group_id: product_group.id.clone(),
                user_id: team.member.id.clone(),
                ..Default::default()
            })
            .await,
        Code::NotFound,
        "GROUP_NOT_FOUND",
    );
    let groups = scim
        .groups
        .list_user_groups(pb::ListUserGroupsRequest {
            user_id: team.member.id.clone(),
            page: Some(pb::PageRequest {
                include_total_size: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(groups.groups.is_empty(), "{groups:?}");
    assert_eq!(groups.page.unwrap().total_size, Some(0));
    // The group is untouched; the product still sees it and its member.
    let still = operator
        .groups
        .get_group(pb::GetGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: product_group.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (still.display_name.as_str(), still.version),
        ("Payroll", product_group.version)
    );
    app.stop().await;
}

/// Attributes never shadow the user's own fields; an email value is one address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attributes_and_addresses_are_what_they_say() {
    let app = spawn_app(Backend::Sqlite, "addresses").await;
    let mut scim = app.scim.clone();
    let create = |user: pb::User| pb::CreateUserRequest {
        tenant_id: String::new(),
        user: Some(user),
    };
    for shadow in [
        r#"{"id":"00000000-0000-0000-0000-000000000000"}"#,
        r#"{"userName":"root@example.com"}"#,
        r#"{"USERNAME":"root@example.com"}"#,
        r#"{"meta":{}}"#,
        r#"{"schemas":[]}"#,
    ] {
        refused(
            scim.users
                .create_user(create(pb::User {
                    user_name: "eve@example.com".into(),
                    active: true,
                    attributes: document(shadow),
                    ..Default::default()
                }))
                .await,
            Code::InvalidArgument,
            "INVALID_ARGUMENT",
        );
    }
    for dodge in [
        "eve@evil.example,eve@a.example",
        "eve@evil.example@a.example",
        "eve@evil.example;x@a.example",
        "Eve <eve@evil.example> x@a.example",
        "eve @a.example",
    ] {
        refused(
            scim.users
                .create_user(create(pb::User {
                    user_name: "eve@example.com".into(),
                    active: true,
                    emails: vec![pb::Email {
                        value: dodge.into(),
                        ..Default::default()
                    }],
                    ..Default::default()
                }))
                .await,
            Code::InvalidArgument,
            "INVALID_ARGUMENT",
        );
    }
    // Nothing was created by the refused calls.
    let listed = scim
        .users
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.users.is_empty());
    app.stop().await;
}

/// Two super admins demoting each other at once: the team keeps one. Deleting or deactivating
/// the last one is refused to everyone.
async fn a_team_keeps_its_last_super_admin_under_races(backend: Backend) {
    let app = spawn_app(backend, "last_super_admin").await;
    let team = Team::new(&app).await;
    let mut operator = app.admin.clone();
    let second = set_role(&app, &team.admin.id, pb::Role::SuperAdmin).await;
    for _ in 0..5 {
        let demote = |by: &pb::User, whom: &pb::User| {
            let mut clients = team.acting(&app, by);
            let request = pb::SetUserRoleRequest {
                user_id: whom.id.clone(),
                role: pb::Role::Admin.into(),
                ..Default::default()
            };
            async move { clients.users.set_user_role(request).await }
        };
        let (first, other) = tokio::join!(
            demote(&team.super_admin, &second),
            demote(&second, &team.super_admin)
        );
        let outcomes = [first.is_ok(), other.is_ok()];
        assert_eq!(
            outcomes.iter().filter(|ok| **ok).count(),
            1,
            "exactly one demotion lands: {first:?} / {other:?}"
        );
        let loser = if first.is_ok() { other } else { first };
        let status = loser.unwrap_err();
        assert!(
            ["SUPER_ADMIN_REQUIRED", "LAST_SUPER_ADMIN"].contains(&reason(&status).as_str()),
            "{status:?}"
        );
        // Restore two super admins for the next round.
        for user in [&team.super_admin, &second] {
            set_role(&app, &user.id, pb::Role::SuperAdmin).await;
        }
    }
    // Down to one: nobody demotes, deactivates or deletes it.
    set_role(&app, &second.id, pb::Role::Member).await;
    let last = team.super_admin.id.clone();
    refused(
        operator
            .users
            .set_user_role(pb::SetUserRoleRequest {
                tenant_id: app.tenant_id.clone(),
                user_id: last.clone(),
                role: pb::Role::Admin.into(),
            })
            .await,
        Code::PermissionDenied,
        "LAST_SUPER_ADMIN",
    );
    refused(
        app.scim
            .clone()
            .users
            .update_user(pb::UpdateUserRequest {
                user: Some(pb::User {
                    id: last.clone(),
                    active: false,
                    ..Default::default()
                }),
                update_mask: mask(&["active"]),
                ..Default::default()
            })
            .await,
        Code::PermissionDenied,
        "LAST_SUPER_ADMIN",
    );
    refused(
        operator
            .users
            .delete_user(pb::DeleteUserRequest {
                tenant_id: app.tenant_id.clone(),
                id: last.clone(),
                expected_version: None,
            })
            .await,
        Code::PermissionDenied,
        "LAST_SUPER_ADMIN",
    );
    let still = operator
        .users
        .get_user(pb::GetUserRequest {
            tenant_id: app.tenant_id.clone(),
            id: last,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((still.role(), still.active), (pb::Role::SuperAdmin, true));
    app.stop().await;
}

/// A filter at the contract's limits runs on the database (and/or lists compile to balanced
/// trees); past them, or with a pattern longer than the limit, it is INVALID_FILTER.
async fn filters_at_the_limit_run_and_past_it_are_refused(backend: Backend) {
    let app = spawn_app(backend, "filter_limits").await;
    let mut scim = app.scim.clone();
    create_user(&mut scim, "", "needle@example.com").await;
    let user_name = |value: &str| comparison("user_name", pb::Operator::Eq, text(value));
    let list = |filters: Vec<pb::Filter>, or: bool| pb::Filter {
        expression: Some(if or {
            pb::filter::Expression::AnyOf(pb::FilterList { filters })
        } else {
            pb::filter::Expression::AllOf(pb::FilterList { filters })
        }),
    };
    let limit = identity_proto::filter::MAX_NODES;
    let run = |filter: pb::Filter| {
        let mut scim = scim.clone();
        async move {
            scim.users
                .list_users(pb::ListUsersRequest {
                    filter: Some(filter),
                    ..Default::default()
                })
                .await
        }
    };
    // The largest `or` and `and` lists the limit allows (the list is a node too).
    let mut terms: Vec<pb::Filter> = (1..limit)
        .map(|i| user_name(&format!("nobody-{i}@example.com")))
        .collect();
    terms[limit / 2] = user_name("needle@example.com");
    let found = run(list(terms.clone(), true)).await.unwrap().into_inner();
    assert_eq!(found.users.len(), 1);
    // As many comparisons on emails (another table) as allowed, ANDed and ORed.
    let joined = identity_proto::filter::MAX_JOINED_COMPARISONS;
    let contains = |i: usize| comparison("email", pb::Operator::Co, text(&format!("{i}")));
    let emails: Vec<pb::Filter> = (0..joined).map(contains).collect();
    run(list(emails.clone(), false)).await.unwrap();
    run(list(emails.clone(), true)).await.unwrap();
    let mut one_more = emails;
    one_more.push(contains(joined));
    refused(
        run(list(one_more, false)).await,
        Code::InvalidArgument,
        "INVALID_FILTER",
    );
    // Nested to the depth limit (an even number of nots: the needle again).
    let mut nested = user_name("needle@example.com");
    for _ in 0..identity_proto::filter::MAX_DEPTH {
        nested = pb::Filter {
            expression: Some(pb::filter::Expression::Negation(Box::new(nested))),
        };
    }
    run(nested).await.unwrap();
    // Past the limits: refused, not a database error.
    terms.push(user_name("one-too-many@example.com"));
    refused(
        run(list(terms, true)).await,
        Code::InvalidArgument,
        "INVALID_FILTER",
    );
    let pattern = "x".repeat(60 * 1024);
    refused(
        run(comparison("user_name", pb::Operator::Co, text(&pattern))).await,
        Code::InvalidArgument,
        "INVALID_FILTER",
    );
    app.stop().await;
}

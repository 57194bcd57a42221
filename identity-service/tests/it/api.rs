//! The gRPC API end to end, through a real tonic client.

use identity_proto::v1 as pb;
use tonic::Code;

use crate::support::{
    Backend, Clients, all_user_names, comparison, create_group, create_user, document, mask,
    new_user, on_both_backends, page, reason, spawn_app, text, verify_domain, violated_fields,
};

on_both_backends!(
    users_lifecycle,
    groups_lifecycle,
    concurrent_creates_have_one_winner,
    paging_while_inserting,
    scim_links_only_groups_without_members,
    imports_create_every_user_or_none,
    offset_pages_see_every_committed_write,
);

async fn users_lifecycle(backend: Backend) {
    let app = spawn_app(backend, "users_lifecycle").await;
    // SCIM presents the user name as an address below: only in a verified domain.
    verify_domain(&app, "example.com").await;
    let mut scim = app.scim.clone();
    let created = scim
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                user_name: "Ada@Example.com".into(),
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                external_id: Some("00u1".into()),
                emails: vec![pb::Email {
                    value: "ada@example.com".into(),
                    r#type: "work".into(),
                    primary: true,
                    display: String::new(),
                }],
                active: true,
                attributes: document(r#"{"title":"Countess"}"#),
                ..pb::User::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(created.tenant_id, app.tenant_id);
    assert_eq!(
        created.managed_by(),
        pb::ManagedBy::Scim,
        "a SCIM key's users are SCIM-managed"
    );
    assert_eq!(created.version, 1);
    assert_eq!(created.create_time, created.update_time);

    let duplicate = scim
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: String::new(),
            user: Some(new_user("ADA@example.COM")),
        })
        .await
        .unwrap_err();
    assert_eq!(duplicate.code(), Code::AlreadyExists);
    assert_eq!(reason(&duplicate), "USER_NAME_TAKEN");

    let got = scim
        .users
        .get_user(pb::GetUserRequest {
            tenant_id: String::new(),
            id: created.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got, created);
    for key in [
        pb::lookup_user_request::Key::UserName("ada@EXAMPLE.com".into()),
        pb::lookup_user_request::Key::ExternalId("00u1".into()),
        pb::lookup_user_request::Key::Email("ADA@example.com".into()),
    ] {
        let found = scim
            .users
            .lookup_user(pb::LookupUserRequest {
                tenant_id: String::new(),
                key: Some(key.clone()),
            })
            .await
            .unwrap_or_else(|status| panic!("{key:?}: {status:?}"))
            .into_inner();
        assert_eq!(found.id, created.id);
    }
    let missing = scim
        .users
        .lookup_user(pb::LookupUserRequest {
            tenant_id: String::new(),
            key: Some(pb::lookup_user_request::Key::UserName("nobody".into())),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (missing.code(), reason(&missing).as_str()),
        (Code::NotFound, "USER_NOT_FOUND")
    );

    // Deactivate with the version read, then a stale write fails.
    let deactivated = scim
        .users
        .update_user(pb::UpdateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                id: created.id.clone(),
                active: false,
                ..pb::User::default()
            }),
            update_mask: mask(&["active"]),
            expected_version: Some(1),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!deactivated.active);
    assert_eq!(deactivated.version, 2);
    assert_eq!(
        deactivated.given_name.as_deref(),
        Some("Ada"),
        "fields outside the mask stay"
    );
    let stale = scim
        .users
        .update_user(pb::UpdateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                id: created.id.clone(),
                active: true,
                ..pb::User::default()
            }),
            update_mask: mask(&["active"]),
            expected_version: Some(1),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (stale.code(), reason(&stale).as_str()),
        (Code::FailedPrecondition, "VERSION_MISMATCH")
    );

    // Deactivated users stay visible to reads and filters.
    let inactive = scim
        .users
        .list_users(pb::ListUsersRequest {
            tenant_id: String::new(),
            filter: Some(comparison(
                "active",
                pb::Operator::Eq,
                Some(pb::filter_value::Kind::BoolValue(false)),
            )),
            page: page(10, ""),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(inactive.users.len(), 1);
    assert_eq!(inactive.page.unwrap().total_size, Some(1));

    // A full replacement ("*") and a delete.
    let replaced = scim
        .users
        .update_user(pb::UpdateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                id: created.id.clone(),
                user_name: "ada.l@example.com".into(),
                active: true,
                ..pb::User::default()
            }),
            update_mask: mask(&["*"]),
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(replaced.user_name, "ada.l@example.com");
    assert_eq!(replaced.given_name, None);
    assert!(replaced.emails.is_empty());
    assert_eq!(replaced.attributes, None);
    scim.users
        .delete_user(pb::DeleteUserRequest {
            tenant_id: String::new(),
            id: created.id.clone(),
            expected_version: None,
        })
        .await
        .unwrap();
    let gone = scim
        .users
        .get_user(pb::GetUserRequest {
            tenant_id: String::new(),
            id: created.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    app.stop().await;
}

async fn groups_lifecycle(backend: Backend) {
    let app = spawn_app(backend, "groups_lifecycle").await;
    let tenant = app.tenant_id.clone();
    let mut admin = app.admin.clone();
    let mut users = Vec::new();
    for n in 0..4 {
        users.push(
            create_user(&mut admin, &tenant, &format!("member{n}@example.com"))
                .await
                .id,
        );
    }
    let group = admin
        .groups
        .create_group(pb::CreateGroupRequest {
            tenant_id: tenant.clone(),
            group: Some(pb::Group {
                display_name: "Engineering".into(),
                external_id: Some("okta-g1".into()),
                ..pb::Group::default()
            }),
            member_user_ids: vec![users[0].clone()],
        })
        .await
        .unwrap()
        .into_inner();
    let duplicate = admin
        .groups
        .create_group(pb::CreateGroupRequest {
            tenant_id: tenant.clone(),
            group: Some(pb::Group {
                display_name: "ENGINEERING".into(),
                ..pb::Group::default()
            }),
            member_user_ids: Vec::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (duplicate.code(), reason(&duplicate).as_str()),
        (Code::AlreadyExists, "GROUP_NAME_TAKEN")
    );

    // One call: rename, add, remove.
    let modified = admin
        .groups
        .modify_group(pb::ModifyGroupRequest {
            external_id: Some("okta-platform".into()),
            tenant_id: tenant.clone(),
            group_id: group.id.clone(),
            display_name: Some("Platform".into()),
            changes: vec![
                pb::MembershipChange {
                    change: Some(pb::membership_change::Change::Add(pb::MemberIds {
                        user_ids: vec![users[1].clone(), users[2].clone()],
                    })),
                },
                pb::MembershipChange {
                    change: Some(pb::membership_change::Change::Remove(pb::MemberIds {
                        user_ids: vec![users[0].clone()],
                    })),
                },
            ],
            expected_version: Some(group.version),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((modified.members_added, modified.members_removed), (2, 1));
    let renamed = modified.group.unwrap();
    assert_eq!(renamed.display_name, "Platform");
    assert_eq!(renamed.external_id.as_deref(), Some("okta-platform"));
    assert_eq!(renamed.version, group.version + 1);

    // The same call again adds and removes nothing.
    let again = admin
        .groups
        .modify_group(pb::ModifyGroupRequest {
            external_id: None,
            tenant_id: tenant.clone(),
            group_id: group.id.clone(),
            display_name: Some("Platform".into()),
            changes: vec![pb::MembershipChange {
                change: Some(pb::membership_change::Change::Add(pb::MemberIds {
                    user_ids: vec![users[1].clone()],
                })),
            }],
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((again.members_added, again.members_removed), (0, 0));

    let members = admin
        .groups
        .list_group_members(pb::ListGroupMembersRequest {
            tenant_id: tenant.clone(),
            group_id: group.id.clone(),
            page: page(1, ""),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(members.members.len(), 1);
    let page_info = members.page.unwrap();
    assert_eq!(page_info.total_size, Some(2));
    let rest = admin
        .groups
        .list_group_members(pb::ListGroupMembersRequest {
            tenant_id: tenant.clone(),
            group_id: group.id.clone(),
            page: page(1, &page_info.next_page_token),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(rest.members.len(), 1);
    assert!(rest.page.unwrap().next_page_token.is_empty());
    let mut listed = vec![
        members.members[0].user_id.clone(),
        rest.members[0].user_id.clone(),
    ];
    listed.sort();
    let mut expected = vec![users[1].clone(), users[2].clone()];
    expected.sort();
    assert_eq!(listed, expected);

    let user_groups = admin
        .groups
        .list_user_groups(pb::ListUserGroupsRequest {
            tenant_id: tenant.clone(),
            user_id: users[1].clone(),
            page: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        user_groups.groups,
        vec![pb::UserGroup {
            group_id: group.id.clone(),
            display_name: "Platform".into()
        }]
    );
    for (user, expected) in [(&users[1], true), (&users[0], false)] {
        let check = admin
            .groups
            .check_membership(pb::CheckMembershipRequest {
                tenant_id: tenant.clone(),
                group_id: group.id.clone(),
                user_id: user.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(check.is_member, expected);
    }

    // Entra's `id eq "g" and members eq "u"`.
    let filter = pb::Filter {
        expression: Some(pb::filter::Expression::AllOf(pb::FilterList {
            filters: vec![
                comparison("id", pb::Operator::Eq, text(&group.id)),
                comparison("member", pb::Operator::Eq, text(&users[2])),
            ],
        })),
    };
    let found = admin
        .groups
        .list_groups(pb::ListGroupsRequest {
            tenant_id: tenant.clone(),
            filter: Some(filter),
            page: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(found.groups.len(), 1);

    // Atomic: an unknown member fails the whole call, naming the id.
    let unknown = "01900000-0000-7000-8000-0000000000aa";
    let failed = admin
        .groups
        .modify_group(pb::ModifyGroupRequest {
            external_id: None,
            tenant_id: tenant.clone(),
            group_id: group.id.clone(),
            display_name: Some("Should Not Stick".into()),
            changes: vec![pb::MembershipChange {
                change: Some(pb::membership_change::Change::Replace(pb::MemberIds {
                    user_ids: vec![users[3].clone(), unknown.into()],
                })),
            }],
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (failed.code(), reason(&failed).as_str()),
        (Code::InvalidArgument, "UNKNOWN_MEMBERS")
    );
    assert!(failed.message().contains(unknown));
    let unchanged = admin
        .groups
        .get_group(pb::GetGroupRequest {
            tenant_id: tenant.clone(),
            id: group.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(unchanged.display_name, "Platform");
    assert_eq!(unchanged.version, renamed.version);

    // Update (mask) and delete; the users stay.
    let updated = admin
        .groups
        .update_group(pb::UpdateGroupRequest {
            tenant_id: tenant.clone(),
            group: Some(pb::Group {
                id: group.id.clone(),
                external_id: None,
                ..pb::Group::default()
            }),
            update_mask: mask(&["external_id"]),
            expected_version: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.external_id, None);
    assert_eq!(updated.display_name, "Platform");
    let empty = create_group(&mut admin, &tenant, "Empty").await;
    admin
        .groups
        .delete_group(pb::DeleteGroupRequest {
            tenant_id: tenant.clone(),
            id: group.id.clone(),
            expected_version: None,
        })
        .await
        .unwrap();
    admin
        .groups
        .delete_group(pb::DeleteGroupRequest {
            tenant_id: tenant.clone(),
            id: empty.id.clone(),
            expected_version: Some(empty.version),
        })
        .await
        .unwrap();
    let gone = admin
        .groups
        .get_group(pb::GetGroupRequest {
            tenant_id: tenant.clone(),
            id: group.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Code::NotFound);
    assert_eq!(all_user_names(&mut admin, &tenant).await.len(), 4);
    app.stop().await;
}

async fn concurrent_creates_have_one_winner(backend: Backend) {
    let app = spawn_app(backend, "concurrent_creates").await;
    let calls: Vec<_> = (0..20)
        .map(|n| {
            let mut scim = app.scim.clone();
            let name = if n % 2 == 0 {
                "Same.Name@example.com"
            } else {
                "same.name@EXAMPLE.com"
            };
            tokio::spawn(async move {
                scim.users
                    .create_user(pb::CreateUserRequest {
                        tenant_id: String::new(),
                        user: Some(new_user(name)),
                    })
                    .await
            })
        })
        .collect();
    let mut successes = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => successes += 1,
            Err(status) => assert_eq!(
                (status.code(), reason(&status).as_str()),
                (Code::AlreadyExists, "USER_NAME_TAKEN")
            ),
        }
    }
    assert_eq!(successes, 1);
    app.stop().await;
}

async fn paging_while_inserting(backend: Backend) {
    let app = spawn_app(backend, "paging_while_inserting").await;
    let mut scim = app.scim.clone();
    let mut existing = Vec::new();
    for n in 0..25 {
        existing.push(
            create_user(&mut scim, "", &format!("pre-{n:02}@example.com"))
                .await
                .user_name,
        );
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    let mut inserted = 0;
    loop {
        let response = scim
            .users
            .list_users(pb::ListUsersRequest {
                tenant_id: String::new(),
                filter: None,
                page: page(7, &token),
            })
            .await
            .unwrap()
            .into_inner();
        seen.extend(response.users.into_iter().map(|u| u.user_name));
        for _ in 0..2 {
            create_user(&mut scim, "", &format!("during-{inserted:02}@example.com")).await;
            inserted += 1;
        }
        token = response.page.unwrap().next_page_token;
        if token.is_empty() {
            break;
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "duplicates across pages");
    assert!(
        existing.iter().all(|name| seen.contains(name)),
        "a pre-existing user was skipped"
    );

    // The offset form (SCIM's startIndex) and the total.
    let response = scim
        .users
        .list_users(pb::ListUsersRequest {
            tenant_id: String::new(),
            filter: None,
            page: Some(pb::PageRequest {
                page_size: 3,
                page_token: String::new(),
                offset: 2,
                include_total_size: true,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let names: Vec<_> = response
        .users
        .iter()
        .map(|u| u.user_name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "pre-02@example.com",
            "pre-03@example.com",
            "pre-04@example.com"
        ]
    );
    assert_eq!(response.page.unwrap().total_size, Some(25 + inserted));
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_rejected_with_field_violations_and_writes_nothing() {
    let app = spawn_app(Backend::Sqlite, "bad_input").await;
    let mut scim = app.scim.clone();
    let long = "x".repeat(300);
    let cases: Vec<(pb::User, &str)> = vec![
        (new_user(""), "user.user_name"),
        (new_user("   "), "user.user_name"),
        (new_user(&long), "user.user_name"),
        (new_user("tab\there"), "user.user_name"),
        (
            pb::User {
                attributes: document(r#"{"userName":"shadow@example.com"}"#),
                ..new_user("attr@example.com")
            },
            "user.attributes",
        ),
        (
            pb::User {
                emails: vec![pb::Email::default()],
                ..new_user("mail@example.com")
            },
            "user.emails[0].value",
        ),
        (
            pb::User {
                managed_by: 42,
                ..new_user("managed@example.com")
            },
            "user.managed_by",
        ),
    ];
    for (user, field) in cases {
        let status = scim
            .users
            .create_user(pb::CreateUserRequest {
                tenant_id: String::new(),
                user: Some(user),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}");
        assert!(
            violated_fields(&status).contains(&field.to_owned()),
            "{field}: {:?}",
            violated_fields(&status)
        );
    }
    let missing = scim
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: String::new(),
            user: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&missing), vec!["user"]);

    for id in ["", "42", "not-a-uuid", "'; DROP TABLE users; --"] {
        let status = scim
            .users
            .get_user(pb::GetUserRequest {
                tenant_id: String::new(),
                id: id.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{id:?}");
        assert_eq!(violated_fields(&status), vec!["id"]);
    }
    let bad_member = scim
        .groups
        .modify_group(pb::ModifyGroupRequest {
            external_id: None,
            tenant_id: String::new(),
            group_id: "01900000-0000-7000-8000-000000000000".into(),
            display_name: None,
            changes: vec![pb::MembershipChange {
                change: Some(pb::membership_change::Change::Add(pb::MemberIds {
                    user_ids: vec!["nope".into()],
                })),
            }],
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        violated_fields(&bad_member),
        vec!["changes[0].add.user_ids[0]"]
    );

    let list = |filter: Option<pb::Filter>, page: Option<pb::PageRequest>| pb::ListUsersRequest {
        tenant_id: String::new(),
        filter,
        page,
    };
    let bad_token = scim
        .users
        .list_users(list(None, page(10, "not-a-token")))
        .await
        .unwrap_err();
    assert_eq!(
        (bad_token.code(), reason(&bad_token).as_str()),
        (Code::InvalidArgument, "INVALID_PAGE_TOKEN")
    );
    let both = scim
        .users
        .list_users(list(
            None,
            Some(pb::PageRequest {
                page_size: 1,
                page_token: "70".into(),
                offset: 3,
                include_total_size: false,
            }),
        ))
        .await
        .unwrap_err();
    assert_eq!(both.code(), Code::InvalidArgument);
    let negative = scim
        .users
        .list_users(list(
            None,
            Some(pb::PageRequest {
                page_size: -1,
                ..pb::PageRequest::default()
            }),
        ))
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&negative), vec!["page.page_size"]);

    let bool_value = Some(pb::filter_value::Kind::BoolValue(true));
    let bad_filters = vec![
        comparison("password", pb::Operator::Eq, text("x")),
        comparison("user_name", pb::Operator::Unspecified, text("x")),
        comparison("user_name", pb::Operator::Eq, None),
        comparison("user_name", pb::Operator::Eq, bool_value.clone()),
        comparison("active", pb::Operator::Co, bool_value),
        comparison("create_time", pb::Operator::Sw, text("2026")),
        comparison("user_name", pb::Operator::Pr, text("x")),
        // Only multi-valued fields have element types.
        pb::Filter {
            expression: Some(pb::filter::Expression::Comparison(pb::Comparison {
                element_type: "work".into(),
                field: "user_name".into(),
                op: pb::Operator::Eq.into(),
                value: Some(pb::FilterValue { kind: text("x") }),
            })),
        },
        pb::Filter { expression: None },
        pb::Filter {
            expression: Some(pb::filter::Expression::AllOf(pb::FilterList {
                filters: Vec::new(),
            })),
        },
    ];
    for filter in bad_filters {
        let status = scim
            .users
            .list_users(list(Some(filter.clone()), None))
            .await
            .unwrap_err();
        assert_eq!(
            (status.code(), reason(&status).as_str()),
            (Code::InvalidArgument, "INVALID_FILTER"),
            "{filter:?}"
        );
    }
    // A filter nested far deeper than allowed is refused, not a stack overflow.
    let mut deep = comparison("user_name", pb::Operator::Eq, text("x"));
    for _ in 0..60 {
        deep = pb::Filter {
            expression: Some(pb::filter::Expression::Negation(Box::new(deep))),
        };
    }
    let status = scim
        .users
        .list_users(list(Some(deep), None))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let no_mask = scim
        .users
        .update_user(pb::UpdateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                id: "01900000-0000-7000-8000-000000000000".into(),
                ..pb::User::default()
            }),
            update_mask: None,
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(violated_fields(&no_mask), vec!["update_mask"]);
    let unknown_path = scim
        .users
        .update_user(pb::UpdateUserRequest {
            tenant_id: String::new(),
            user: Some(pb::User {
                id: "01900000-0000-7000-8000-000000000000".into(),
                ..pb::User::default()
            }),
            update_mask: mask(&["password"]),
            expected_version: None,
        })
        .await
        .unwrap_err();
    assert_eq!(unknown_path.code(), Code::InvalidArgument);

    // Nothing of the above was written.
    assert!(all_user_names(&mut scim, "").await.is_empty());
    let groups = scim
        .groups
        .list_groups(pb::ListGroupsRequest {
            tenant_id: String::new(),
            filter: None,
            page: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(groups.groups.is_empty());
    app.stop().await;
}

#[tokio::test]
async fn tenants_and_keys_lifecycle() {
    let app = spawn_app(Backend::Sqlite, "tenants_and_keys").await;
    let mut admin = app.admin.clone();
    let tenant = admin
        .tenants
        .create_tenant(pb::CreateTenantRequest {
            tenant: Some(pb::Tenant {
                name: "Globex".into(),
                settings: document(r#"{"region":"eu"}"#),
                ..pb::Tenant::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!tenant.scim_enabled);
    let listed = admin
        .tenants
        .list_tenants(pb::ListTenantsRequest { page: page(10, "") })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.tenants.len(), 2);
    let enabled = admin
        .tenants
        .update_tenant(pb::UpdateTenantRequest {
            tenant: Some(pb::Tenant {
                id: tenant.id.clone(),
                scim_enabled: true,
                ..pb::Tenant::default()
            }),
            update_mask: mask(&["scim_enabled"]),
            expected_version: Some(1),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(enabled.scim_enabled);
    assert_eq!(enabled.settings, document(r#"{"region":"eu"}"#));
    assert_eq!(enabled.version, 2);

    let issued = admin
        .tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: tenant.id.clone(),
            kind: pb::ApiKeyKind::Scim.into(),
            name: "okta".into(),
            ..pb::IssueApiKeyRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(issued.secret.starts_with("idscim_"));
    let key = issued.key.unwrap();
    assert!(issued.secret.starts_with(&key.prefix));
    assert!(
        key.prefix.len() < issued.secret.len() / 2,
        "the prefix is a small part of the secret"
    );
    assert_eq!(key.state(), pb::ApiKeyState::Active);

    // The new key works on its own tenant.
    let mut globex = app.clients(Some(&issued.secret));
    let user = create_user(&mut globex, "", "wile@globex.example").await;
    assert_eq!(user.tenant_id, tenant.id);
    let own = globex
        .tenants
        .get_tenant(pb::GetTenantRequest { id: String::new() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(own.id, tenant.id);

    let keys = admin
        .tenants
        .list_api_keys(pb::ListApiKeysRequest {
            tenant_id: tenant.id.clone(),
            all_tenants: false,
            page: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(keys.keys.len(), 1);
    let debug = format!("{keys:?}");
    assert!(
        !debug.contains(&issued.secret),
        "a listing never carries secrets"
    );
    let global = admin
        .tenants
        .list_api_keys(pb::ListApiKeysRequest {
            tenant_id: String::new(),
            all_tenants: true,
            page: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(global.keys.len(), 1, "the init service key");

    let revoked = admin
        .tenants
        .revoke_api_key(pb::RevokeApiKeyRequest { id: key.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(revoked.state(), pb::ApiKeyState::Revoked);
    let refused = globex
        .users
        .get_user(pb::GetUserRequest {
            tenant_id: String::new(),
            id: user.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::Unauthenticated, "INVALID_CREDENTIALS")
    );
    // Revoking again keeps the first revocation time.
    let again = admin
        .tenants
        .revoke_api_key(pb::RevokeApiKeyRequest { id: key.id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.revoke_time, revoked.revoke_time);
    app.stop().await;
}

/// SCIM keys see and write product groups only while they have no members; the first write
/// links a group (SCIM-managed from then on).
async fn scim_links_only_groups_without_members(backend: Backend) {
    let app = spawn_app(backend, "linking").await;
    let (mut admin, mut scim) = (app.admin.clone(), app.scim.clone());
    let tenant = app.tenant_id.clone();
    let user = create_user(&mut admin, &tenant, "member@example.com").await;
    let staffed = create_group(&mut admin, &tenant, "Staffed").await;
    admin
        .groups
        .modify_group(pb::ModifyGroupRequest {
            tenant_id: tenant.clone(),
            group_id: staffed.id.clone(),
            changes: vec![pb::MembershipChange {
                change: Some(pb::membership_change::Change::Add(pb::MemberIds {
                    user_ids: vec![user.id.clone()],
                })),
            }],
            ..Default::default()
        })
        .await
        .unwrap();
    let empty = create_group(&mut admin, &tenant, "Empty").await;
    assert_eq!(empty.managed_by(), pb::ManagedBy::Internal);

    let visible: Vec<String> = scim
        .groups
        .list_groups(pb::ListGroupsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .groups
        .into_iter()
        .map(|group| group.display_name)
        .collect();
    assert_eq!(visible, ["Empty"]);
    let hidden = scim
        .groups
        .get_group(pb::GetGroupRequest {
            tenant_id: String::new(),
            id: staffed.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), Code::NotFound);
    let refused = scim
        .groups
        .modify_group(pb::ModifyGroupRequest {
            group_id: staffed.id.clone(),
            display_name: Some("Taken over".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (refused.code(), reason(&refused).as_str()),
        (Code::FailedPrecondition, "GROUP_NOT_LINKABLE")
    );
    // The service key still sees and manages everything.
    let all = admin
        .groups
        .list_groups(pb::ListGroupsRequest {
            tenant_id: tenant.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .groups;
    assert_eq!(all.len(), 2);

    let linked = scim
        .groups
        .modify_group(pb::ModifyGroupRequest {
            group_id: empty.id.clone(),
            display_name: Some("Empty".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .group
        .unwrap();
    assert_eq!(linked.managed_by(), pb::ManagedBy::Scim);
    assert_eq!(linked.version, empty.version + 1);
    app.stop().await;
}

/// `ImportUsers` creates a batch in one transaction: every user, each in the change log, or
/// none, with every refused one named by its position.
async fn imports_create_every_user_or_none(backend: Backend) {
    let app = spawn_app(backend, "imports").await;
    let mut admin = app.admin.clone();
    let tenant_id = app.tenant_id.clone();
    let import = |users: Vec<pb::User>| pb::ImportUsersRequest {
        tenant_id: tenant_id.clone(),
        users,
    };
    let batch: Vec<pb::User> = (0..250)
        .map(|n| pb::User {
            emails: vec![pb::Email {
                value: format!("user{n}@example.com"),
                primary: true,
                ..pb::Email::default()
            }],
            ..new_user(&format!("user{n}@example.com"))
        })
        .collect();
    let ids = admin
        .users
        .import_users(import(batch))
        .await
        .expect("import")
        .into_inner()
        .ids;
    assert_eq!(ids.len(), 250);
    let found = admin
        .users
        .lookup_user(pb::LookupUserRequest {
            tenant_id: tenant_id.clone(),
            key: Some(pb::lookup_user_request::Key::Email(
                "USER7@example.com".into(),
            )),
        })
        .await
        .expect("an imported user is found by email")
        .into_inner();
    assert_eq!(found.id, ids[7], "ids come back in the order sent");
    assert_eq!(found.managed_by(), pb::ManagedBy::Internal);
    let created = admin
        .events
        .list_events(pb::ListEventsRequest {
            tenant_id: tenant_id.clone(),
            resource_id: ids[249].clone(),
            ..Default::default()
        })
        .await
        .expect("list events")
        .into_inner()
        .events;
    assert_eq!(created.len(), 1, "each imported user is in the change log");

    // Taken names refuse the whole batch and are all named.
    let taken = admin
        .users
        .import_users(import(vec![
            new_user("fresh-1@example.com"),
            new_user("USER3@example.com"),
            new_user("fresh-2@example.com"),
            new_user("user9@EXAMPLE.com"),
        ]))
        .await
        .unwrap_err();
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert_eq!(reason(&taken), "USER_NAME_TAKEN");
    assert!(
        taken.message().contains("users[1], users[3]"),
        "{}",
        taken.message()
    );
    // Bad fields and names repeated within the batch, by position; nothing is written.
    let bad = admin
        .users
        .import_users(import(vec![
            new_user("fresh-1@example.com"),
            new_user(""),
            new_user("Fresh-1@example.com"),
            pb::User {
                emails: vec![pb::Email {
                    value: "not an address".into(),
                    ..pb::Email::default()
                }],
                ..new_user("fresh-3@example.com")
            },
        ]))
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&bad),
        [
            "users[1].user_name",
            "users[2].user_name",
            "users[3].emails[0].value"
        ]
    );
    for users in [vec![], vec![new_user("x@example.com"); 1001]] {
        let refused = admin.users.import_users(import(users)).await.unwrap_err();
        assert_eq!(violated_fields(&refused), ["users"]);
    }
    assert_eq!(all_user_names(&mut admin, &tenant_id).await.len(), 250);
    app.stop().await;
}

/// Offset pages (SCIM's startIndex) walk a list without counting it or skipping rows again, yet
/// a page read after a write, through this replica or another, reflects it.
async fn offset_pages_see_every_committed_write(backend: Backend) {
    let app = spawn_app(backend, "offset pages").await;
    let mut admin = app.admin.clone();
    let tenant_id = app.tenant_id.clone();
    let names: Vec<String> = (0..450)
        .map(|n| format!("walk-{n:03}@example.com"))
        .collect();
    let ids = admin
        .users
        .import_users(pb::ImportUsersRequest {
            tenant_id: tenant_id.clone(),
            users: names.iter().map(|name| new_user(name)).collect(),
        })
        .await
        .expect("import")
        .into_inner()
        .ids;
    let at = |offset: i64| pb::ListUsersRequest {
        tenant_id: tenant_id.clone(),
        filter: None,
        page: Some(pb::PageRequest {
            page_size: 100,
            offset,
            include_total_size: true,
            ..Default::default()
        }),
    };
    let walk = |admin: &mut Clients, offset: i64| {
        let request = at(offset);
        let mut users = admin.users.clone();
        async move {
            let page = users.list_users(request).await.expect("list").into_inner();
            let names: Vec<String> = page.users.into_iter().map(|u| u.user_name).collect();
            (names, page.page.and_then(|p| p.total_size))
        }
    };
    for offset in [0, 100, 200] {
        let (page, total) = walk(&mut admin, offset).await;
        let start = usize::try_from(offset).unwrap();
        assert_eq!(page, names[start..start + 100]);
        assert_eq!(total, Some(450));
    }
    // Through another replica where there is one (PostgreSQL), the 51st user goes.
    let replica = match backend {
        Backend::Postgres => Some(app.second_replica().await),
        Backend::Sqlite => None,
    };
    let mut writer = replica.as_ref().map_or_else(
        || admin.clone(),
        |replica| Clients::new(&replica.channel, Some(&app.service_key)),
    );
    writer
        .users
        .delete_user(pb::DeleteUserRequest {
            tenant_id: tenant_id.clone(),
            id: ids[50].clone(),
            expected_version: None,
        })
        .await
        .expect("delete");
    // The walk goes on: position 300 now holds the 302nd user, and the count is one less.
    let (page, total) = walk(&mut admin, 300).await;
    assert_eq!(page, names[301..401]);
    assert_eq!(total, Some(449));
    let (page, total) = walk(&mut admin, 400).await;
    assert_eq!(page, names[401..450]);
    assert_eq!(total, Some(449));
    // A walk over the unchanged list again, twice: the same pages.
    for _ in 0..2 {
        for offset in [0, 100, 200, 300] {
            let (page, _) = walk(&mut admin, offset).await;
            let start = usize::try_from(offset).unwrap();
            let expected: Vec<&String> = names[..50].iter().chain(&names[51..]).collect();
            assert_eq!(
                page.iter().collect::<Vec<_>>(),
                expected[start..start + 100]
            );
        }
    }
    app.stop().await;
}

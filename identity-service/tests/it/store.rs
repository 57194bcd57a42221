//! Store conformance: the same behaviour on SQLite and PostgreSQL.

use identity_service::filter::{Comparison, Filter, GroupField, Op, UserField, Value};
use identity_service::model::{
    Email, GroupFields, GroupId, GroupModification, Linking, ManagedBy, MembershipChange,
    PageQuery, PageStart, Resource, TenantFields, TenantId, UserChanges, UserFields, UserId,
};
use identity_service::store::{Conflict, Store, StoreError, UserKey};

use crate::support::{Backend, TestDb, on_both_backends};

async fn fresh(backend: Backend, test: &str) -> (TestDb, Store, TenantId) {
    let db = TestDb::new(backend, test);
    let store = db.open().await;
    let tenant = store
        .create_tenant(TenantFields {
            name: "acme".into(),
            scim_enabled: true,
            settings: "{}".into(),
        })
        .await
        .unwrap();
    (db, store, tenant.id)
}

fn fields(user_name: &str) -> UserFields {
    UserFields {
        user_name: user_name.into(),
        external_id: None,
        display_name: None,
        given_name: None,
        family_name: None,
        emails: Vec::new(),
        active: true,
        attributes: "{}".into(),
        managed_by: ManagedBy::Internal,
    }
}

fn first_page(size: i64) -> PageQuery {
    PageQuery {
        size,
        start: PageStart::Offset(0),
        include_total: true,
    }
}

fn eq(field: UserField, value: &str) -> Filter<UserField> {
    Filter::Compare(Comparison {
        element_type: None,
        field,
        op: Op::Eq,
        value: Value::Text(value.to_owned()),
    })
}

async fn names_matching(
    store: &Store,
    tenant: &TenantId,
    filter: Filter<UserField>,
) -> Vec<String> {
    let page = store
        .list_users(tenant, Some(filter), first_page(1000))
        .await
        .unwrap();
    let mut names: Vec<String> = page
        .items
        .into_iter()
        .map(|u| u.fields.user_name.into_string())
        .collect();
    names.sort();
    names
}

async fn member_ids(store: &Store, tenant: &TenantId, group: &GroupId) -> Vec<UserId> {
    let page = store
        .list_group_members(tenant, group, first_page(1000), Linking::Any)
        .await
        .unwrap();
    page.items.into_iter().map(|m| m.user_id).collect()
}

on_both_backends!(
    user_round_trip,
    user_names_are_unique_case_insensitively,
    concurrent_creates_of_one_name_have_one_winner,
    membership_changes_are_set_operations,
    modify_group_is_all_or_nothing,
    versions_guard_writes,
    filters_compile_to_sql,
    keyset_pages_survive_concurrent_inserts,
    tenants_are_isolated,
    migrations_are_idempotent,
);

async fn user_round_trip(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "user_round_trip").await;
    let mut sent = fields("Grace.Hopper@Example.com");
    sent.given_name = Some("Grace".into());
    sent.family_name = Some("Hopper".into());
    sent.external_id = Some("00u1abc".into());
    sent.attributes =
        r#"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Navy"}}"#
            .into();
    sent.emails = vec![
        Email {
            value: "grace@example.com".into(),
            kind: "work".into(),
            primary: true,
            display: String::new(),
        },
        Email {
            value: "gh@home.example".into(),
            kind: "home".into(),
            primary: false,
            display: "home".into(),
        },
    ];
    let created = store.create_user(&tenant, sent.clone()).await.unwrap();
    assert_eq!(created.fields, sent);
    assert_eq!(created.version, 1);
    assert_eq!(created.created_at, created.updated_at);

    let read = store.get_user(&tenant, &created.id).await.unwrap();
    assert_eq!(
        read, created,
        "what is read is what was written, emails in order"
    );

    let changes = UserChanges {
        given_name: Some(None),
        active: Some(false),
        emails: Some(vec![Email {
            value: "new@example.com".into(),
            ..Email::default()
        }]),
        ..UserChanges::default()
    };
    let updated = store
        .update_user(&tenant, &created.id, changes, None)
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert_eq!(updated.fields.given_name, None);
    assert_eq!(
        updated.fields.family_name.as_deref(),
        Some("Hopper"),
        "unmasked fields stay"
    );
    assert!(!updated.fields.active);
    assert_eq!(updated.fields.emails.len(), 1);
    assert!(updated.updated_at >= created.updated_at);

    let by_email = store
        .lookup_user(&tenant, UserKey::Email("NEW@example.COM".into()))
        .await
        .unwrap();
    assert_eq!(by_email, vec![updated.clone()]);
    let by_external_id = store
        .lookup_user(&tenant, UserKey::ExternalId("00U1ABC".into()))
        .await
        .unwrap();
    assert!(by_external_id.is_empty(), "external ids compare exactly");

    store.delete_user(&tenant, &created.id, None).await.unwrap();
    assert!(matches!(
        store.get_user(&tenant, &created.id).await,
        Err(StoreError::NotFound(Resource::User))
    ));
    assert!(matches!(
        store.delete_user(&tenant, &created.id, None).await,
        Err(StoreError::NotFound(Resource::User))
    ));
}

async fn user_names_are_unique_case_insensitively(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "unique names").await;
    let ada = store
        .create_user(&tenant, fields("Ada@Example.com"))
        .await
        .unwrap();
    for variant in ["ada@example.com", "ADA@EXAMPLE.COM", "aDa@exAmple.com"] {
        let error = store
            .create_user(&tenant, fields(variant))
            .await
            .unwrap_err();
        assert!(
            matches!(error, StoreError::AlreadyExists(Conflict::UserName)),
            "{variant}: {error:?}"
        );
    }
    // Unicode case folding, the same on lookup and insert.
    store.create_user(&tenant, fields("Ärger")).await.unwrap();
    assert!(matches!(
        store.create_user(&tenant, fields("äRGER")).await,
        Err(StoreError::AlreadyExists(Conflict::UserName))
    ));
    let found = store
        .lookup_user(&tenant, UserKey::UserName("ADA@example.com".into()))
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, ada.id);
    assert_eq!(
        found[0].fields.user_name, "Ada@Example.com",
        "the case as sent is kept"
    );
    // Renaming into another user's name conflicts too; renaming to a case variant of one's own
    // name does not.
    let bob = store.create_user(&tenant, fields("bob")).await.unwrap();
    let rename = |name: &str| UserChanges {
        user_name: Some(name.into()),
        ..UserChanges::default()
    };
    assert!(matches!(
        store
            .update_user(&tenant, &bob.id, rename("ADA@example.com"), None)
            .await,
        Err(StoreError::AlreadyExists(Conflict::UserName))
    ));
    let renamed = store
        .update_user(&tenant, &bob.id, rename("Bob"), None)
        .await
        .unwrap();
    assert_eq!(renamed.fields.user_name, "Bob");
    // Groups follow the same rule.
    let group = |name: &str| GroupFields {
        display_name: name.into(),
        external_id: None,
        managed_by: ManagedBy::Scim,
    };
    store
        .create_group(&tenant, group("Engineering"), Vec::new())
        .await
        .unwrap();
    assert!(matches!(
        store
            .create_group(&tenant, group("ENGINEERING"), Vec::new())
            .await,
        Err(StoreError::AlreadyExists(Conflict::GroupDisplayName))
    ));
}

async fn concurrent_creates_of_one_name_have_one_winner(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "concurrent creates").await;
    let attempts: Vec<_> = (0..20)
        .map(|attempt| {
            let store = store.clone();
            let tenant = tenant.clone();
            let name = if attempt % 2 == 0 {
                "Race@Example.com"
            } else {
                "race@example.COM"
            };
            tokio::spawn(async move { store.create_user(&tenant, fields(name)).await })
        })
        .collect();
    let mut won = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::AlreadyExists(Conflict::UserName)) => {}
            Err(other) => panic!("unexpected failure: {other:?}"),
        }
    }
    assert_eq!(won, 1);
    let page = store
        .list_users(&tenant, None, first_page(100))
        .await
        .unwrap();
    assert_eq!(page.total, Some(1));
}

async fn membership_changes_are_set_operations(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "membership").await;
    let mut users = Vec::new();
    for n in 0..5 {
        users.push(
            store
                .create_user(&tenant, fields(&format!("user{n}")))
                .await
                .unwrap()
                .id,
        );
    }
    let group = store
        .create_group(
            &tenant,
            GroupFields {
                display_name: "Ops".into(),
                external_id: None,
                managed_by: ManagedBy::Scim,
            },
            vec![users[0].clone()],
        )
        .await
        .unwrap();
    let modify = |changes: Vec<MembershipChange>| GroupModification {
        rename: None,
        external_id: None,
        changes,
    };

    // Adding a present member (and a duplicate in the same list) is a no-op.
    let outcome = store
        .modify_group(
            &tenant,
            &group.id,
            modify(vec![MembershipChange::Add(vec![
                users[0].clone(),
                users[1].clone(),
                users[1].clone(),
            ])]),
            None,
        )
        .await
        .unwrap();
    assert_eq!((outcome.members_added, outcome.members_removed), (1, 0));
    assert_eq!(outcome.group.version, 2);

    // Removing an absent member is a no-op and does not move the version.
    let outcome = store
        .modify_group(
            &tenant,
            &group.id,
            modify(vec![MembershipChange::Remove(vec![users[4].clone()])]),
            None,
        )
        .await
        .unwrap();
    assert_eq!((outcome.members_added, outcome.members_removed), (0, 0));
    assert_eq!(outcome.group.version, 2);

    // Ops apply in order: remove then add leaves the member in.
    let outcome = store
        .modify_group(
            &tenant,
            &group.id,
            modify(vec![
                MembershipChange::Remove(vec![users[1].clone()]),
                MembershipChange::Add(vec![users[1].clone(), users[2].clone()]),
            ]),
            None,
        )
        .await
        .unwrap();
    assert_eq!((outcome.members_added, outcome.members_removed), (2, 1));
    let mut expected = vec![users[0].clone(), users[1].clone(), users[2].clone()];
    expected.sort();
    assert_eq!(member_ids(&store, &tenant, &group.id).await, expected);

    // Replace makes the list exactly the given users.
    let outcome = store
        .modify_group(
            &tenant,
            &group.id,
            modify(vec![MembershipChange::Replace(vec![
                users[2].clone(),
                users[3].clone(),
            ])]),
            None,
        )
        .await
        .unwrap();
    assert_eq!((outcome.members_added, outcome.members_removed), (1, 2));
    let mut expected = vec![users[2].clone(), users[3].clone()];
    expected.sort();
    assert_eq!(member_ids(&store, &tenant, &group.id).await, expected);
    assert!(
        store
            .check_membership(&tenant, &group.id, &users[3], Linking::Any)
            .await
            .unwrap()
    );
    assert!(
        !store
            .check_membership(&tenant, &group.id, &users[0], Linking::Any)
            .await
            .unwrap()
    );
    let groups_of_3 = store
        .list_user_groups(&tenant, &users[3], first_page(10), Linking::Any)
        .await
        .unwrap();
    assert_eq!(groups_of_3.items.len(), 1);
    assert_eq!(groups_of_3.items[0].display_name, "Ops");

    // Deleting a user removes its memberships; the group stays.
    store.delete_user(&tenant, &users[3], None).await.unwrap();
    assert_eq!(
        member_ids(&store, &tenant, &group.id).await,
        vec![users[2].clone()]
    );

    // An empty replace empties the group.
    let outcome = store
        .modify_group(
            &tenant,
            &group.id,
            modify(vec![MembershipChange::Replace(Vec::new())]),
            None,
        )
        .await
        .unwrap();
    assert_eq!(outcome.members_removed, 1);
    assert!(member_ids(&store, &tenant, &group.id).await.is_empty());

    // Deleting a group removes its memberships and keeps the users.
    store
        .modify_group(
            &tenant,
            &group.id,
            modify(vec![MembershipChange::Add(users.clone()[..3].to_vec())]),
            None,
        )
        .await
        .unwrap();
    store.delete_group(&tenant, &group.id, None).await.unwrap();
    assert!(matches!(
        store
            .list_group_members(&tenant, &group.id, first_page(10), Linking::Any)
            .await,
        Err(StoreError::NotFound(Resource::Group))
    ));
    let groups_of_0 = store
        .list_user_groups(&tenant, &users[0], first_page(10), Linking::Any)
        .await
        .unwrap();
    assert!(groups_of_0.items.is_empty());
    store.get_user(&tenant, &users[0]).await.unwrap();
}

async fn modify_group_is_all_or_nothing(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "atomic modify").await;
    let alice = store
        .create_user(&tenant, fields("alice"))
        .await
        .unwrap()
        .id;
    let bob = store.create_user(&tenant, fields("bob")).await.unwrap().id;
    let taken = GroupFields {
        display_name: "Taken".into(),
        external_id: None,
        managed_by: ManagedBy::Scim,
    };
    store
        .create_group(&tenant, taken, Vec::new())
        .await
        .unwrap();
    let group = store
        .create_group(
            &tenant,
            GroupFields {
                display_name: "Team".into(),
                external_id: None,
                managed_by: ManagedBy::Scim,
            },
            vec![alice.clone()],
        )
        .await
        .unwrap();
    let unknown = UserId::from("01900000-0000-7000-8000-000000000000");

    // A rename and a valid removal, then an add naming a user that does not exist: nothing at all.
    let error = store
        .modify_group(
            &tenant,
            &group.id,
            GroupModification {
                rename: Some("Renamed".into()),
                external_id: None,
                changes: vec![
                    MembershipChange::Remove(vec![alice.clone()]),
                    MembershipChange::Add(vec![bob.clone(), unknown.clone()]),
                ],
            },
            None,
        )
        .await
        .unwrap_err();
    match error {
        StoreError::UnknownMembers(ids) => assert_eq!(ids, vec![unknown.clone()]),
        other => panic!("{other:?}"),
    }
    // A rename into a taken name fails the whole call too.
    let error = store
        .modify_group(
            &tenant,
            &group.id,
            GroupModification {
                rename: Some("TAKEN".into()),
                external_id: None,
                changes: vec![MembershipChange::Add(vec![bob.clone()])],
            },
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, StoreError::AlreadyExists(Conflict::GroupDisplayName)),
        "{error:?}"
    );

    let after = store
        .get_group(&tenant, &group.id, Linking::Any)
        .await
        .unwrap();
    assert_eq!(after, group, "name, version and times unchanged");
    assert_eq!(
        member_ids(&store, &tenant, &group.id).await,
        vec![alice.clone()]
    );

    // A user of another tenant is as unknown as a missing one.
    let other = store
        .create_tenant(TenantFields {
            name: "other".into(),
            scim_enabled: false,
            settings: "{}".into(),
        })
        .await
        .unwrap();
    let stranger = store
        .create_user(&other.id, fields("stranger"))
        .await
        .unwrap()
        .id;
    assert!(matches!(
        store
            .modify_group(
                &tenant,
                &group.id,
                GroupModification {
                    rename: None,
                    external_id: None,
                    changes: vec![MembershipChange::Add(vec![stranger])]
                },
                None
            )
            .await,
        Err(StoreError::UnknownMembers(_))
    ));

    // Renaming to the current name (Okta repeats it) succeeds and changes nothing.
    let outcome = store
        .modify_group(
            &tenant,
            &group.id,
            GroupModification {
                rename: Some("Team".into()),
                external_id: None,
                changes: Vec::new(),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(outcome.group.version, group.version);
}

async fn versions_guard_writes(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "versions").await;
    let user = store
        .create_user(&tenant, fields("versioned"))
        .await
        .unwrap();
    let change = UserChanges {
        display_name: Some(Some("V".into())),
        ..UserChanges::default()
    };
    let error = store
        .update_user(&tenant, &user.id, change.clone(), Some(7))
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::VersionMismatch {
                expected: 7,
                current: 1
            }
        ),
        "{error:?}"
    );
    let updated = store
        .update_user(&tenant, &user.id, change.clone(), Some(1))
        .await
        .unwrap();
    assert_eq!(updated.version, 2);
    assert!(matches!(
        store.delete_user(&tenant, &user.id, Some(1)).await,
        Err(StoreError::VersionMismatch {
            expected: 1,
            current: 2
        })
    ));
    store.get_user(&tenant, &user.id).await.unwrap();
    let group = store
        .create_group(
            &tenant,
            GroupFields {
                display_name: "G".into(),
                external_id: None,
                managed_by: ManagedBy::Internal,
            },
            Vec::new(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .modify_group(
                &tenant,
                &group.id,
                GroupModification {
                    rename: None,
                    external_id: None,
                    changes: vec![MembershipChange::Add(vec![user.id.clone()])]
                },
                Some(5)
            )
            .await,
        Err(StoreError::VersionMismatch {
            expected: 5,
            current: 1
        })
    ));
    assert!(member_ids(&store, &tenant, &group.id).await.is_empty());
    store.delete_user(&tenant, &user.id, Some(2)).await.unwrap();
}

async fn filters_compile_to_sql(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "filters").await;
    let mut ada = fields("Ada.Lovelace@example.com");
    ada.given_name = Some("Ada".into());
    ada.family_name = Some("Lovelace".into());
    ada.external_id = Some("ext-1".into());
    ada.emails = vec![Email {
        value: "ada@work.example".into(),
        kind: "work".into(),
        primary: true,
        display: String::new(),
    }];
    let ada = store.create_user(&tenant, ada).await.unwrap();
    let mut alan = fields("alan.turing@example.com");
    alan.given_name = Some("Alan".into());
    alan.active = false;
    let alan = store.create_user(&tenant, alan).await.unwrap();
    let mut percent = fields("100%_sure");
    percent.display_name = Some("Percent".into());
    store.create_user(&tenant, percent).await.unwrap();

    let cmp = |field, op, value: Value| {
        Filter::Compare(Comparison {
            field,
            op,
            value,
            element_type: None,
        })
    };
    let text = |value: &str| Value::Text(value.to_owned());
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            eq(UserField::UserName, "ADA.LOVELACE@EXAMPLE.COM")
        )
        .await,
        vec!["Ada.Lovelace@example.com"]
    );
    assert_eq!(
        names_matching(&store, &tenant, eq(UserField::Id, &alan.id)).await,
        vec!["alan.turing@example.com"]
    );
    assert_eq!(
        names_matching(&store, &tenant, eq(UserField::ExternalId, "ext-1"))
            .await
            .len(),
        1
    );
    assert!(
        names_matching(&store, &tenant, eq(UserField::ExternalId, "EXT-1"))
            .await
            .is_empty(),
        "external ids are exact"
    );
    assert_eq!(
        names_matching(&store, &tenant, eq(UserField::Email, "ADA@work.example"))
            .await
            .len(),
        1
    );
    // An element type narrows an email comparison to the emails of that type.
    let typed_email = |kind: &str| {
        Filter::Compare(Comparison {
            field: UserField::Email,
            op: Op::Eq,
            value: text("ada@work.example"),
            element_type: Some(kind.to_owned()),
        })
    };
    assert_eq!(
        names_matching(&store, &tenant, typed_email("work")).await,
        vec!["Ada.Lovelace@example.com"]
    );
    assert!(
        names_matching(&store, &tenant, typed_email("home"))
            .await
            .is_empty()
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::UserName, Op::StartsWith, text("al"))
        )
        .await,
        vec!["alan.turing@example.com"]
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::UserName, Op::EndsWith, text("@EXAMPLE.com"))
        )
        .await
        .len(),
        2
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::UserName, Op::Contains, text("%_"))
        )
        .await,
        vec!["100%_sure"],
        "LIKE wildcards match literally"
    );
    assert!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::UserName, Op::Contains, text("_s_"))
        )
        .await
        .is_empty()
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::Active, Op::Eq, Value::Bool(false))
        )
        .await,
        vec!["alan.turing@example.com"]
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::GivenName, Op::Present, Value::None)
        )
        .await
        .len(),
        2
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::Email, Op::Present, Value::None)
        )
        .await
        .len(),
        1
    );
    // `ne` and `not` match users without the attribute at all.
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            cmp(UserField::GivenName, Op::Ne, text("ada"))
        )
        .await
        .len(),
        2
    );
    assert_eq!(
        names_matching(
            &store,
            &tenant,
            Filter::Not(Box::new(cmp(
                UserField::GivenName,
                Op::Present,
                Value::None
            )))
        )
        .await,
        vec!["100%_sure"]
    );
    let either = Filter::Or(vec![
        eq(UserField::GivenName, "ALAN"),
        eq(UserField::FamilyName, "lovelace"),
    ]);
    assert_eq!(names_matching(&store, &tenant, either).await.len(), 2);
    let both = Filter::And(vec![
        eq(UserField::GivenName, "ada"),
        cmp(UserField::Active, Op::Eq, Value::Bool(true)),
    ]);
    assert_eq!(
        names_matching(&store, &tenant, both).await,
        vec!["Ada.Lovelace@example.com"]
    );
    let created_after = cmp(UserField::CreateTime, Op::Gt, Value::Time(ada.created_at));
    assert_eq!(
        names_matching(&store, &tenant, created_after).await.len(),
        2
    );
    assert_eq!(
        names_matching(&store, &tenant, cmp(UserField::UserName, Op::Gt, text("b")))
            .await
            .len(),
        0
    );

    // Groups: by member, and by name.
    let group = store
        .create_group(
            &tenant,
            GroupFields {
                display_name: "Analysts".into(),
                external_id: Some("okta-1".into()),
                managed_by: ManagedBy::Scim,
            },
            vec![ada.id.clone()],
        )
        .await
        .unwrap();
    store
        .create_group(
            &tenant,
            GroupFields {
                display_name: "Empty".into(),
                external_id: None,
                managed_by: ManagedBy::Scim,
            },
            Vec::new(),
        )
        .await
        .unwrap();
    let groups = |filter: Filter<GroupField>| {
        let store = store.clone();
        let tenant = tenant.clone();
        async move {
            let page = store
                .list_groups(&tenant, Some(filter), first_page(100))
                .await
                .unwrap();
            page.items
                .into_iter()
                .map(|g| g.fields.display_name)
                .collect::<Vec<_>>()
        }
    };
    let member = |id: &str| {
        Filter::Compare(Comparison {
            element_type: None,
            field: GroupField::Member,
            op: Op::Eq,
            value: Value::Text(id.to_owned()),
        })
    };
    let by_id = Filter::Compare(Comparison {
        element_type: None,
        field: GroupField::Id,
        op: Op::Eq,
        value: Value::Text(group.id.to_string()),
    });
    assert_eq!(
        groups(Filter::And(vec![by_id, member(&ada.id)])).await,
        vec!["Analysts"]
    );
    assert!(groups(member(&alan.id)).await.is_empty());
    assert_eq!(
        groups(Filter::Compare(Comparison {
            element_type: None,
            field: GroupField::Member,
            op: Op::Present,
            value: Value::None
        }))
        .await,
        vec!["Analysts"]
    );
    assert_eq!(
        groups(Filter::Compare(Comparison {
            element_type: None,
            field: GroupField::DisplayName,
            op: Op::Eq,
            value: Value::Text("EMPTY".into())
        }))
        .await,
        vec!["Empty"]
    );
}

async fn keyset_pages_survive_concurrent_inserts(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "paging").await;
    let mut existing = Vec::new();
    for n in 0..45 {
        existing.push(
            store
                .create_user(&tenant, fields(&format!("existing-{n:03}")))
                .await
                .unwrap()
                .fields
                .user_name,
        );
    }
    let mut seen = Vec::new();
    let mut start = PageStart::Offset(0);
    let mut inserted = 0;
    loop {
        let page = store
            .list_users(
                &tenant,
                None,
                PageQuery {
                    size: 10,
                    start: start.clone(),
                    include_total: false,
                },
            )
            .await
            .unwrap();
        // Inserts between pages, as a provisioning run would make them.
        for _ in 0..3 {
            store
                .create_user(&tenant, fields(&format!("new-{inserted:03}")))
                .await
                .unwrap();
            inserted += 1;
        }
        let Some(last) = page.items.last() else { break };
        start = PageStart::After {
            created_at: last.created_at,
            id: last.id.to_string(),
        };
        seen.extend(
            page.items
                .iter()
                .map(|user| user.fields.user_name.to_string()),
        );
        if !page.has_more {
            break;
        }
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "no user appears twice");
    for name in &existing {
        assert!(
            seen.iter().any(|seen| *name == seen.as_str()),
            "{name} was skipped"
        );
    }
    // Offsets and totals.
    let total = 45 + inserted;
    let page = store
        .list_users(
            &tenant,
            None,
            PageQuery {
                size: 5,
                start: PageStart::Offset(total - 2),
                include_total: true,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (page.items.len(), page.has_more, page.total),
        (2, false, Some(total))
    );
    let past_end = store
        .list_users(
            &tenant,
            None,
            PageQuery {
                size: 5,
                start: PageStart::Offset(total + 10),
                include_total: true,
            },
        )
        .await
        .unwrap();
    assert!(past_end.items.is_empty());
    assert_eq!(past_end.total, Some(total));
}

async fn tenants_are_isolated(backend: Backend) {
    let (_db, store, tenant) = fresh(backend, "isolation").await;
    let other = store
        .create_tenant(TenantFields {
            name: "other".into(),
            scim_enabled: false,
            settings: "{}".into(),
        })
        .await
        .unwrap()
        .id;
    let mine = store
        .create_user(&tenant, fields("same-name"))
        .await
        .unwrap();
    let theirs = store
        .create_user(&other, fields("same-name"))
        .await
        .unwrap();
    assert_ne!(mine.id, theirs.id, "names are unique per tenant only");
    assert!(matches!(
        store.get_user(&other, &mine.id).await,
        Err(StoreError::NotFound(Resource::User))
    ));
    assert!(matches!(
        store
            .update_user(
                &other,
                &mine.id,
                UserChanges {
                    active: Some(false),
                    ..UserChanges::default()
                },
                None
            )
            .await,
        Err(StoreError::NotFound(Resource::User))
    ));
    assert!(matches!(
        store.delete_user(&other, &mine.id, None).await,
        Err(StoreError::NotFound(Resource::User))
    ));
    let listed = store
        .list_users(&tenant, None, first_page(10))
        .await
        .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|u| u.id.as_str())
            .collect::<Vec<_>>(),
        vec![mine.id.as_str()]
    );
    assert!(
        store
            .get_user(&tenant, &mine.id)
            .await
            .unwrap()
            .fields
            .active
    );
    // Writes to a tenant that does not exist fail cleanly.
    assert!(matches!(
        store
            .create_user(
                &"01900000-0000-7000-8000-000000000001".into(),
                fields("ghost")
            )
            .await,
        Err(StoreError::NotFound(Resource::Tenant))
    ));
}

async fn migrations_are_idempotent(backend: Backend) {
    let db = TestDb::new(backend, "migrations");
    // Several replicas starting together on one database.
    let opens: Vec<_> = (0..3)
        .map(|_| {
            let url = db.url.clone();
            tokio::spawn(async move { Store::open(&url, Default::default()).await })
        })
        .collect();
    for open in opens {
        open.await.unwrap().unwrap();
    }
    let store = db.open().await;
    store.ping().await.unwrap();
}

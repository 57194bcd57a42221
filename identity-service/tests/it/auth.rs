//! Authentication and tenant isolation through the gRPC API.

use identity_proto::v1 as pb;
use identity_service::auth::new_key;
use identity_service::model::{KeyAccess, KeyKind, KeyScope, now_micros};
use tonic::Code;

use crate::support::{
    App, Backend, Clients, create_user, new_user, on_both_backends, reason, spawn_app,
};

/// Revokes a key with the all-tenant service key.
async fn revoke(app: &App, id: String) {
    app.admin
        .clone()
        .tenants
        .revoke_api_key(pb::RevokeApiKeyRequest { id })
        .await
        .unwrap();
}

fn get(id: &str) -> pb::GetUserRequest {
    pb::GetUserRequest {
        tenant_id: String::new(),
        id: id.to_owned(),
    }
}

#[tokio::test]
async fn missing_malformed_and_wrong_keys_are_unauthenticated() {
    let app = spawn_app(Backend::Sqlite, "bad keys").await;
    let user = create_user(&mut app.scim.clone(), "", "someone@example.com").await;
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "MISSING_CREDENTIALS"),
        (Some("idscim_0000".into()), "INVALID_CREDENTIALS"),
        (Some(format!("{}x", app.scim_key)), "INVALID_CREDENTIALS"),
        (Some(app.scim_key.to_uppercase()), "INVALID_CREDENTIALS"),
    ];
    for (key, expected) in cases {
        let mut clients = app.clients(key.as_deref());
        let status = clients.users.get_user(get(&user.id)).await.unwrap_err();
        assert_eq!(
            (status.code(), reason(&status).as_str()),
            (Code::Unauthenticated, expected)
        );
        assert!(
            !status.message().contains(&app.scim_key),
            "errors never echo keys"
        );
    }
    // Other schemes are refused; the raw key (no scheme) and any case of "bearer" work.
    for (header, works) in [
        (format!("Basic {}", app.scim_key), false),
        (app.scim_key.clone(), true),
        (format!("bEaReR {}", app.scim_key), true),
    ] {
        let mut request = tonic::Request::new(get(&user.id));
        request
            .metadata_mut()
            .insert("authorization", header.parse().unwrap());
        let mut client = identity_proto::v1::users_client::UsersClient::new(app.channel.clone());
        assert_eq!(
            client.get_user(request).await.is_ok(),
            works,
            "{}",
            header.split(' ').next().unwrap()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn revoked_and_expired_keys_stop_working() {
    let app = spawn_app(Backend::Sqlite, "revoked and expired").await;
    let tenant = KeyScope::Tenant(app.tenant_id.as_str().into());
    // An expired key (written directly: the API refuses expiry times in the past).
    let (expired, expired_secret) = new_key(
        tenant.clone(),
        KeyKind::Scim,
        KeyAccess::ReadWrite,
        "old".into(),
        Some(now_micros() - 1),
    )
    .unwrap();
    app.store.create_api_key(expired).await.unwrap();
    let status = app
        .clients(Some(&expired_secret))
        .users
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::Unauthenticated, "INVALID_CREDENTIALS")
    );

    // A key expiring in the future works until then; revoking it stops it at once.
    let issued = app
        .admin
        .clone()
        .tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: app.tenant_id.clone(),
            kind: pb::ApiKeyKind::Service.into(),
            access: pb::ApiKeyAccess::ReadOnly.into(),
            expire_time: Some(prost_types::Timestamp {
                seconds: now_micros() / 1_000_000 + 3600,
                nanos: 0,
            }),
            ..pb::IssueApiKeyRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let mut reader = app.clients(Some(&issued.secret));
    reader
        .users
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap();
    let past = app
        .admin
        .clone()
        .tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: app.tenant_id.clone(),
            kind: pb::ApiKeyKind::Service.into(),
            expire_time: Some(prost_types::Timestamp {
                seconds: 1,
                nanos: 0,
            }),
            ..pb::IssueApiKeyRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(past.code(), Code::InvalidArgument);
    revoke(&app, issued.key.unwrap().id).await;
    let status = reader
        .users
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::Unauthenticated, "INVALID_CREDENTIALS")
    );
    app.stop().await;
}

#[tokio::test]
async fn keys_reach_only_their_scope() {
    let app = spawn_app(Backend::Sqlite, "scopes").await;
    let mut admin = app.admin.clone();
    let other = admin
        .tenants
        .create_tenant(pb::CreateTenantRequest {
            tenant: Some(pb::Tenant {
                name: "other".into(),
                scim_enabled: true,
                ..pb::Tenant::default()
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let issue =
        |tenant_id: &str, kind: pb::ApiKeyKind, access: pb::ApiKeyAccess| pb::IssueApiKeyRequest {
            tenant_id: tenant_id.to_owned(),
            kind: kind.into(),
            access: access.into(),
            ..pb::IssueApiKeyRequest::default()
        };
    let other_scim = admin
        .tenants
        .issue_api_key(issue(
            &other.id,
            pb::ApiKeyKind::Scim,
            pb::ApiKeyAccess::Unspecified,
        ))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let mut mine = app.scim.clone();
    let mut theirs = app.clients(Some(&other_scim));
    let my_user = create_user(&mut mine, "", "shared@example.com").await;
    let their_user = create_user(&mut theirs, "", "shared@example.com").await;

    // Both directions: another tenant's user is NOT_FOUND, exactly like a missing one.
    for (client, foreign) in [(&mut mine, &their_user), (&mut theirs, &my_user)] {
        let status = client.users.get_user(get(&foreign.id)).await.unwrap_err();
        assert_eq!(
            (status.code(), reason(&status).as_str()),
            (Code::NotFound, "USER_NOT_FOUND")
        );
        let status = client
            .users
            .delete_user(pb::DeleteUserRequest {
                tenant_id: String::new(),
                id: foreign.id.clone(),
                expected_version: None,
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::NotFound);
        let listed = client
            .users
            .list_users(pb::ListUsersRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(listed.users.len(), 1);
        assert_ne!(listed.users[0].id, foreign.id);
    }
    // Naming the other tenant explicitly is NOT_FOUND too.
    let status = mine
        .users
        .list_users(pb::ListUsersRequest {
            tenant_id: other.id.clone(),
            ..pb::ListUsersRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::NotFound, "TENANT_NOT_FOUND")
    );
    // And another tenant's user cannot be added to my group.
    let group = mine
        .groups
        .create_group(pb::CreateGroupRequest {
            tenant_id: String::new(),
            group: Some(pb::Group {
                display_name: "mine".into(),
                ..pb::Group::default()
            }),
            member_user_ids: vec![their_user.id.clone()],
        })
        .await
        .unwrap_err();
    assert_eq!(reason(&group), "UNKNOWN_MEMBERS");

    // SCIM keys manage users and groups only.
    let status = mine
        .tenants
        .create_tenant(pb::CreateTenantRequest {
            tenant: Some(pb::Tenant {
                name: "x".into(),
                ..pb::Tenant::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "KEY_KIND_NOT_ALLOWED")
    );
    let status = mine
        .tenants
        .issue_api_key(issue(
            "",
            pb::ApiKeyKind::Scim,
            pb::ApiKeyAccess::Unspecified,
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = mine
        .tenants
        .get_tenant(pb::GetTenantRequest {
            id: other.id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);

    // A read-only service key of one tenant reads that tenant and writes nothing.
    let reader_secret = admin
        .tenants
        .issue_api_key(issue(
            &app.tenant_id,
            pb::ApiKeyKind::Service,
            pb::ApiKeyAccess::ReadOnly,
        ))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let mut reader = app.clients(Some(&reader_secret));
    reader.users.get_user(get(&my_user.id)).await.unwrap();
    let status = reader
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: String::new(),
            user: Some(new_user("nope@example.com")),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "READ_ONLY_KEY")
    );
    let status = reader
        .tenants
        .list_tenants(pb::ListTenantsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "SCOPE_NOT_ALLOWED")
    );

    // A tenant-scoped service key alone cannot mint keys (for all tenants, other tenants or its
    // own), nor revoke another tenant's key.
    let tenant_admin_secret = admin
        .tenants
        .issue_api_key(issue(
            &app.tenant_id,
            pb::ApiKeyKind::Service,
            pb::ApiKeyAccess::ReadWrite,
        ))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let mut tenant_admin = app.clients(Some(&tenant_admin_secret));
    let status = tenant_admin
        .tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            all_tenants: true,
            kind: pb::ApiKeyKind::Service.into(),
            ..pb::IssueApiKeyRequest::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = tenant_admin
        .tenants
        .issue_api_key(issue(
            &other.id,
            pb::ApiKeyKind::Scim,
            pb::ApiKeyAccess::Unspecified,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "ADMIN_REQUIRED"),
        "a tenant key alone manages no keys (a person does, or the operator)"
    );
    let other_keys = admin
        .tenants
        .list_api_keys(pb::ListApiKeysRequest {
            tenant_id: other.id.clone(),
            ..pb::ListApiKeysRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let status = tenant_admin
        .tenants
        .revoke_api_key(pb::RevokeApiKeyRequest {
            id: other_keys.keys[0].id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "ADMIN_REQUIRED")
    );
    theirs
        .users
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap();
    // SCIM keys are for team admins (or an all-tenant key): a tenant service key alone gets
    // ADMIN_REQUIRED.
    let status = tenant_admin
        .tenants
        .issue_api_key(issue(
            "",
            pb::ApiKeyKind::Scim,
            pb::ApiKeyAccess::Unspecified,
        ))
        .await
        .unwrap_err();
    assert_eq!(
        (status.code(), reason(&status).as_str()),
        (Code::PermissionDenied, "ADMIN_REQUIRED")
    );

    // An all-tenant key must name the tenant.
    let status = admin
        .users
        .list_users(pb::ListUsersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let listed = admin
        .users
        .list_users(pb::ListUsersRequest {
            tenant_id: other.id.clone(),
            ..pb::ListUsersRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.users.len(), 1);
    app.stop().await;
}

/// Rotation issues a like-for-like key and retires the old one (now, or after a grace period);
/// a key's last use is recorded, at most once a minute; keys say who issued them.
#[tokio::test]
async fn keys_rotate_and_record_their_use() {
    let app = spawn_app(Backend::Sqlite, "rotation").await;
    let mut admin = app.admin.clone();
    let list = |mut admin: crate::support::Clients, tenant: String| async move {
        admin
            .tenants
            .list_api_keys(pb::ListApiKeysRequest {
                tenant_id: tenant,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .keys
    };
    let works = |key: String| {
        let clients = app.clients(Some(&key));
        async move {
            clients
                .users
                .clone()
                .list_users(pb::ListUsersRequest::default())
                .await
                .map(|_| ())
        }
    };

    // The SCIM key from init: used once → its last use is recorded.
    works(app.scim_key.clone()).await.unwrap();
    let mut scim_key = None;
    for _ in 0..250 {
        let keys = list(admin.clone(), app.tenant_id.clone()).await;
        let key = keys
            .into_iter()
            .find(|key| app.scim_key.starts_with(&key.prefix))
            .unwrap();
        if key.last_use_time.is_some() {
            scim_key = Some(key);
            break;
        }
        // Recorded in the background, off the request's path.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let scim_key = scim_key.expect("the key's use recorded");
    assert_eq!(scim_key.created_by, "system");
    let first_use = scim_key.last_use_time;
    works(app.scim_key.clone()).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let again = list(admin.clone(), app.tenant_id.clone()).await;
    let again = again.into_iter().find(|key| key.id == scim_key.id).unwrap();
    assert_eq!(
        again.last_use_time, first_use,
        "at most one record a minute"
    );

    // Rotation with a grace period: both keys work until it ends.
    let rotated = admin
        .tenants
        .rotate_api_key(pb::RotateApiKeyRequest {
            id: scim_key.id.clone(),
            grace_period: Some(prost_types::Duration {
                seconds: 3600,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let new_key = rotated.key.unwrap();
    let retired = rotated.retired.unwrap();
    assert_eq!(
        (
            new_key.kind(),
            new_key.tenant_id.as_str(),
            new_key.name.as_str()
        ),
        (
            pb::ApiKeyKind::Scim,
            app.tenant_id.as_str(),
            scim_key.name.as_str()
        )
    );
    assert_ne!(new_key.id, scim_key.id);
    assert!(retired.expire_time.is_some() && retired.revoke_time.is_none());
    assert_eq!(retired.state(), pb::ApiKeyState::Retiring);
    assert_eq!(retired.replaced_by, new_key.id);
    works(app.scim_key.clone()).await.unwrap();
    works(rotated.secret.clone()).await.unwrap();

    // A short grace period: the old key stops working when it ends, the new one goes on.
    let short = admin
        .tenants
        .rotate_api_key(pb::RotateApiKeyRequest {
            id: new_key.id.clone(),
            grace_period: Some(prost_types::Duration {
                seconds: 1,
                nanos: 0,
            }),
        })
        .await
        .unwrap()
        .into_inner();
    let mut outcome = works(rotated.secret.clone()).await;
    for _ in 0..100 {
        if outcome.is_err() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        outcome = works(rotated.secret.clone()).await;
    }
    let expired = outcome.unwrap_err();
    assert_eq!(
        (expired.code(), reason(&expired).as_str()),
        (Code::Unauthenticated, "INVALID_CREDENTIALS")
    );
    works(short.secret.clone()).await.unwrap();

    // Without a grace period the old key is revoked at once; a revoked key cannot be rotated.
    let now = admin
        .tenants
        .rotate_api_key(pb::RotateApiKeyRequest {
            id: short.key.unwrap().id,
            grace_period: None,
        })
        .await
        .unwrap()
        .into_inner();
    let revoked = works(short.secret.clone()).await.unwrap_err();
    assert_eq!(reason(&revoked), "INVALID_CREDENTIALS");
    works(now.secret.clone()).await.unwrap();
    let again = admin
        .tenants
        .rotate_api_key(pb::RotateApiKeyRequest {
            id: now.retired.unwrap().id,
            grace_period: None,
        })
        .await
        .unwrap_err();
    assert_eq!(
        (again.code(), reason(&again).as_str()),
        (Code::FailedPrecondition, "KEY_REVOKED"),
        "rotating a revoked key says so"
    );
    // Keys issued through the API name their issuer.
    let issued_by = now.key.unwrap().created_by;
    assert!(
        !issued_by.is_empty() && issued_by != "system",
        "{issued_by}"
    );
    // The change log has the rotations.
    let events = admin
        .events
        .list_events(pb::ListEventsRequest {
            action: "api_key.rotated".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    assert_eq!(events.len(), 3);
}

on_both_backends!(a_revoked_key_stops_at_once_here_and_soon_on_every_replica);

/// Found keys are cached for under a second per replica: a revocation takes effect at once on
/// the replica that made it, and on another replica (PostgreSQL) once its entry expires.
async fn a_revoked_key_stops_at_once_here_and_soon_on_every_replica(backend: Backend) {
    let app = spawn_app(backend, "key cache").await;
    let issued = app
        .admin
        .clone()
        .tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: app.tenant_id.clone(),
            kind: pb::ApiKeyKind::Scim.into(),
            ..pb::IssueApiKeyRequest::default()
        })
        .await
        .unwrap()
        .into_inner();
    let list = |mut clients: crate::support::Clients| async move {
        clients
            .users
            .list_users(pb::ListUsersRequest::default())
            .await
            .map(drop)
    };
    // Used, and so cached, on both replicas.
    list(app.clients(Some(&issued.secret))).await.unwrap();
    let replica = match backend {
        Backend::Postgres => Some(app.second_replica().await),
        Backend::Sqlite => None,
    };
    let there = || {
        replica
            .as_ref()
            .map(|replica| Clients::new(&replica.channel, Some(&issued.secret)))
    };
    if let Some(clients) = there() {
        list(clients).await.unwrap();
    }

    revoke(&app, issued.key.unwrap().id).await;
    let here = list(app.clients(Some(&issued.secret))).await.unwrap_err();
    assert_eq!(
        here.code(),
        Code::Unauthenticated,
        "at once on this replica"
    );
    if let Some(clients) = there() {
        let mut refused = None;
        for _ in 0..50 {
            if let Err(status) = list(clients.clone()).await {
                refused = Some(status.code());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(
            refused,
            Some(Code::Unauthenticated),
            "soon on the other replica"
        );
    }
    drop(replica);
    app.stop().await;
}

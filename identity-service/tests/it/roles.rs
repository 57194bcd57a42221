//! Team roles and the rules for SCIM-managed users: who may flip the SCIM switch and manage
//! SCIM keys, who may set roles, and what a person may do to their own SCIM-managed account.

use identity_proto::v1 as pb;
use tonic::{Code, Request};

use crate::support::{Backend, Clients, create_user, product_key, reason, spawn_app};

/// A request made on behalf of `user_id`.
fn as_user<T>(message: T, user_id: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("x-acting-user-id", user_id.parse().unwrap());
    request
}

fn set_role(user_id: &str, role: pb::Role) -> pb::SetUserRoleRequest {
    pb::SetUserRoleRequest {
        tenant_id: String::new(),
        user_id: user_id.to_owned(),
        role: role.into(),
    }
}

fn scim_switch(tenant_id: &str, enabled: bool) -> pb::UpdateTenantRequest {
    pb::UpdateTenantRequest {
        tenant: Some(pb::Tenant {
            id: tenant_id.to_owned(),
            scim_enabled: enabled,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["scim_enabled".into()],
        }),
        expected_version: None,
    }
}

fn update(user_id: &str, user: pb::User, paths: &[&str]) -> pb::UpdateUserRequest {
    pb::UpdateUserRequest {
        tenant_id: String::new(),
        user: Some(pb::User {
            id: user_id.to_owned(),
            ..user
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|path| (*path).to_owned()).collect(),
        }),
        expected_version: None,
    }
}

#[track_caller]
fn denied(status: &tonic::Status, code: Code, why: &str) {
    assert_eq!(
        (status.code(), reason(status).as_str()),
        (code, why),
        "{status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_and_managed_user_rules() {
    let app = spawn_app(Backend::Sqlite, "roles").await;
    let tenant = app.tenant_id.clone();
    let mut admin = app.admin.clone();
    // The product's own backend: a service key of this tenant.
    let product_key = product_key(&app).await;
    let mut product: Clients = app.clients(Some(&product_key));
    let alice = create_user(&mut product, "", "alice@example.com").await;
    let bob = create_user(&mut product, "", "bob@example.com").await;
    let carol = create_user(&mut product, "", "carol@example.com").await;
    let dave = create_user(&mut app.scim.clone(), "", "dave@example.com").await;
    assert_eq!(dave.managed_by(), pb::ManagedBy::Scim);
    assert_eq!(bob.role(), pb::Role::Member, "new users are members");

    // The operator sets the first roles; the product's key alone may not (a person does).
    let status = product
        .users
        .set_user_role(set_role(&alice.id, pb::Role::Admin))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let alice_now = admin
        .users
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: tenant.clone(),
            ..set_role(&alice.id, pb::Role::Admin)
        })
        .await
        .unwrap();
    assert_eq!(alice_now.into_inner().role(), pb::Role::Admin);
    admin
        .users
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: tenant.clone(),
            ..set_role(&carol.id, pb::Role::SuperAdmin)
        })
        .await
        .unwrap();

    // Roles: a member cannot set them; an admin can, but not super admin; a super admin can.
    let status = product
        .users
        .set_user_role(as_user(set_role(&dave.id, pb::Role::Admin), &bob.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let status = product
        .users
        .set_user_role(as_user(set_role(&bob.id, pb::Role::SuperAdmin), &alice.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "SUPER_ADMIN_REQUIRED");
    product
        .users
        .set_user_role(as_user(set_role(&bob.id, pb::Role::SuperAdmin), &carol.id))
        .await
        .unwrap();
    product
        .users
        .set_user_role(as_user(set_role(&bob.id, pb::Role::Member), &carol.id))
        .await
        .unwrap();
    let status = app
        .scim
        .clone()
        .users
        .set_user_role(set_role(&dave.id, pb::Role::Admin))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "KEY_KIND_NOT_ALLOWED");

    // Only service keys act for a person, and only for people they reach.
    let status = app
        .scim
        .clone()
        .users
        .list_users(as_user(pb::ListUsersRequest::default(), &alice.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ACTING_USER_NOT_ALLOWED");
    let status = product
        .users
        .list_users(as_user(
            pb::ListUsersRequest::default(),
            "01890000-0000-7000-8000-000000000000",
        ))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ACTING_USER_NOT_ALLOWED");

    // The SCIM switch and SCIM keys: admins only (or an all-tenant key), not members, not a
    // tenant service key acting for nobody.
    let status = product
        .tenants
        .update_tenant(as_user(scim_switch(&tenant, false), &bob.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let status = product
        .tenants
        .update_tenant(scim_switch(&tenant, false))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let scim_key = |name: &str| pb::IssueApiKeyRequest {
        tenant_id: String::new(),
        kind: pb::ApiKeyKind::Scim.into(),
        name: name.to_owned(),
        ..Default::default()
    };
    let status = product
        .tenants
        .issue_api_key(as_user(scim_key("okta"), &bob.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let issued = product
        .tenants
        .issue_api_key(as_user(scim_key("okta"), &alice.id))
        .await
        .unwrap()
        .into_inner();
    let issued_key = issued.key.unwrap();
    let status = product
        .tenants
        .revoke_api_key(as_user(
            pb::RevokeApiKeyRequest {
                id: issued_key.id.clone(),
            },
            &bob.id,
        ))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    product
        .tenants
        .rotate_api_key(as_user(
            pb::RotateApiKeyRequest {
                id: issued_key.id.clone(),
                grace_period: None,
            },
            &alice.id,
        ))
        .await
        .unwrap();

    // SCIM is on: dave's account is managed by the identity provider.
    let new_email = pb::User {
        emails: vec![pb::Email {
            value: "dave@personal.example".into(),
            r#type: "work".into(),
            primary: true,
            display: String::new(),
        }],
        ..Default::default()
    };
    let status = product
        .users
        .update_user(as_user(
            update(&dave.id, new_email.clone(), &["emails"]),
            &dave.id,
        ))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "MANAGED_BY_SCIM");
    product
        .users
        .update_user(as_user(
            update(
                &dave.id,
                pb::User {
                    display_name: Some("Dave".into()),
                    ..Default::default()
                },
                &["display_name"],
            ),
            &dave.id,
        ))
        .await
        .unwrap();
    let leave = || pb::DeleteUserRequest {
        tenant_id: String::new(),
        id: dave.id.clone(),
        expected_version: None,
    };
    let status = product
        .users
        .delete_user(as_user(leave(), &dave.id))
        .await
        .unwrap_err();
    denied(&status, Code::FailedPrecondition, "MANAGED_BY_SCIM");
    // Only admins (and SCIM) remove or deactivate members.
    let deactivate = update(
        &dave.id,
        pb::User {
            active: false,
            ..Default::default()
        },
        &["active"],
    );
    let status = product
        .users
        .update_user(as_user(deactivate.clone(), &bob.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let status = product
        .users
        .delete_user(as_user(leave(), &bob.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let deactivated = product
        .users
        .update_user(as_user(deactivate, &alice.id))
        .await
        .unwrap()
        .into_inner();
    assert!(!deactivated.active);

    // The change log names the person.
    let events = admin
        .events
        .list_events(pb::ListEventsRequest {
            resource_id: dave.id.clone(),
            action: "user.updated".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let last = events.last().unwrap();
    assert_eq!(last.actor.as_ref().unwrap().user_id, alice.id);

    // A deactivated person acts no more.
    let status = product
        .users
        .delete_user(as_user(leave(), &dave.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ACTING_USER_INACTIVE");

    // With SCIM off (an admin's call), dave (active again) may leave.
    product
        .tenants
        .update_tenant(as_user(scim_switch(&tenant, false), &alice.id))
        .await
        .unwrap();
    product
        .users
        .update_user(as_user(
            update(
                &dave.id,
                pb::User {
                    active: true,
                    ..Default::default()
                },
                &["active"],
            ),
            &alice.id,
        ))
        .await
        .unwrap();
    product
        .users
        .delete_user(as_user(leave(), &dave.id))
        .await
        .unwrap();
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_domains_are_admins_to_manage() {
    let app = spawn_app(Backend::Sqlite, "domains").await;
    let tenant = app.tenant_id.clone();
    let mut admin = app.admin.clone();
    let domain = |name: &str| pb::AddVerifiedDomainRequest {
        tenant_id: tenant.clone(),
        domain: name.to_owned(),
    };
    let added = admin
        .tenants
        .add_verified_domain(domain("Example.COM."))
        .await
        .unwrap();
    assert_eq!(added.into_inner().domains, ["example.com"]);
    admin
        .tenants
        .add_verified_domain(domain("example.com"))
        .await
        .unwrap();
    admin
        .tenants
        .add_verified_domain(domain("corp.example.org"))
        .await
        .unwrap();
    for bad in [
        "",
        "no-dot",
        "-bad.com",
        "a..b",
        "exa mple.com",
        "ex@mple.com",
    ] {
        let status = admin
            .tenants
            .add_verified_domain(domain(bad))
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
    }
    let listed = admin
        .tenants
        .list_verified_domains(pb::ListVerifiedDomainsRequest {
            tenant_id: tenant.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .domains;
    assert_eq!(listed, ["corp.example.org", "example.com"]);
    let removed = admin
        .tenants
        .remove_verified_domain(pb::RemoveVerifiedDomainRequest {
            tenant_id: tenant.clone(),
            domain: "example.com".into(),
        })
        .await
        .unwrap();
    assert_eq!(removed.into_inner().domains, ["corp.example.org"]);
    // A member acting through the product's key may not; SCIM keys may not.
    let product_key = product_key(&app).await;
    let mut product = app.clients(Some(&product_key));
    let member = create_user(&mut product, "", "member@example.com").await;
    let status = product
        .tenants
        .add_verified_domain(as_user(domain("member.example"), &member.id))
        .await
        .unwrap_err();
    denied(&status, Code::PermissionDenied, "ADMIN_REQUIRED");
    let status = app
        .scim
        .clone()
        .tenants
        .add_verified_domain(domain("scim.example"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    app.stop().await;
}

//! Portal links and sessions through the gRPC API: a link works once, for an active admin; a
//! session acts as its admin (recorded as such in the change log) and ends at once when the
//! admin may no longer act, or signs out. (Who may call what: the permission matrix.)

use identity_proto::v1 as pb;
use tonic::Code;

use crate::permissions::redeem;
use crate::support::{
    App, Backend, Clients, PORTAL_URL, create_user, mask, new_user, on_both_backends, reason,
    spawn_app, spawn_app_with,
};

/// A new person of the app's tenant with `role`, and clients of the tenant's product backend
/// acting for them.
async fn person(app: &App, role: pb::Role) -> (pb::User, Clients) {
    let mut operator = app.admin.clone();
    let user = create_user(
        &mut operator,
        &app.tenant_id,
        &format!("{}@example.com", uuid::Uuid::now_v7().simple()),
    )
    .await;
    operator
        .users
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: user.id.clone(),
            role: role.into(),
        })
        .await
        .unwrap();
    let backend = Clients::with(&app.channel, Some(&app.service_key), Some(&user.id));
    (user, backend)
}

/// A link for the person `backend` acts for: its URL.
async fn link(backend: &mut Clients) -> Result<pb::PortalLink, tonic::Status> {
    backend
        .portal
        .create_portal_link(pb::CreatePortalLinkRequest::default())
        .await
        .map(tonic::Response::into_inner)
}

fn token(link: &pb::PortalLink) -> String {
    link.url.rsplit('/').next().unwrap_or_default().to_owned()
}

async fn try_redeem(app: &App, token: &str) -> Result<pb::RedeemPortalLinkResponse, tonic::Status> {
    app.clients(None)
        .portal
        .redeem_portal_link(pb::RedeemPortalLinkRequest {
            token: token.to_owned(),
        })
        .await
        .map(tonic::Response::into_inner)
}

fn assert_refused(outcome: Result<impl std::fmt::Debug, tonic::Status>, code: Code, why: &str) {
    match outcome {
        Err(status) => assert_eq!((status.code(), reason(&status).as_str()), (code, why)),
        Ok(value) => panic!("expected {why}, got {value:?}"),
    }
}

async fn set_active(app: &App, user_id: &str, active: bool) {
    app.admin
        .clone()
        .users
        .update_user(pb::UpdateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(pb::User {
                id: user_id.to_owned(),
                active,
                ..Default::default()
            }),
            update_mask: mask(&["active"]),
            expected_version: None,
        })
        .await
        .unwrap();
}

on_both_backends!(a_link_works_once_and_its_session_acts_as_its_admin);

async fn a_link_works_once_and_its_session_acts_as_its_admin(backend: Backend) {
    let app = spawn_app(backend, "portal_links").await;
    let (admin, mut product) = person(&app, pb::Role::Admin).await;
    let made = link(&mut product).await.unwrap();
    assert!(
        made.url.starts_with(&format!("{PORTAL_URL}/link/idplink_")),
        "{}",
        made.url
    );
    assert_eq!(
        (made.tenant_id.as_str(), made.user_id.as_str()),
        (app.tenant_id.as_str(), admin.id.as_str())
    );
    assert!(made.expire_time.is_some());

    let started = try_redeem(&app, &token(&made)).await.unwrap();
    let session = started.session.unwrap();
    assert!(started.secret.starts_with("idportal_"));
    assert_eq!(session.user_id, admin.id);
    // Once only, and tokens that are not links are refused the same way.
    assert_refused(
        try_redeem(&app, &token(&made)).await,
        Code::Unauthenticated,
        "PORTAL_LINK_UNUSABLE",
    );
    for forged in [
        "",
        "idplink_",
        "idplink_zz",
        &token(&made).replace('a', "b"),
    ] {
        assert_refused(
            try_redeem(&app, forged).await,
            Code::Unauthenticated,
            "PORTAL_LINK_UNUSABLE",
        );
    }

    // The session is the admin: what it does is recorded with the admin as actor.
    let mut portal = app.clients(Some(&started.secret));
    let who = portal
        .portal
        .get_portal_session(())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (who.id.as_str(), who.user_id.as_str()),
        (session.id.as_str(), admin.id.as_str())
    );
    let created = portal
        .users
        .create_user(pb::CreateUserRequest {
            tenant_id: String::new(),
            user: Some(new_user("made-in-the-portal@example.com")),
        })
        .await
        .unwrap()
        .into_inner();
    let events = app
        .admin
        .clone()
        .events
        .list_events(pb::ListEventsRequest {
            tenant_id: app.tenant_id.clone(),
            actor_key_id: session.id.clone(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|event| event.action.as_str()).collect();
    assert_eq!(actions, ["portal_session.started", "user.created"]);
    let actor = events[1].actor.clone().unwrap();
    assert_eq!(
        (actor.key_kind(), actor.user_id.as_str()),
        (pb::ApiKeyKind::Portal, admin.id.as_str())
    );
    assert_eq!(events[1].resource_id, created.id);

    // A session cannot make links (it would outlive itself); signing out ends it at once.
    assert_refused(
        link(&mut portal).await,
        Code::PermissionDenied,
        "PORTAL_SESSION_NOT_ALLOWED",
    );
    portal.portal.end_portal_session(()).await.unwrap();
    assert_refused(
        portal.portal.get_portal_session(()).await,
        Code::Unauthenticated,
        "PORTAL_SESSION_ENDED",
    );

    // Lifetimes are bounded.
    for seconds in [0, 59, 8 * 24 * 3600] {
        let refused = product
            .portal
            .create_portal_link(pb::CreatePortalLinkRequest {
                tenant_id: String::new(),
                ttl: Some(prost_types::Duration { seconds, nanos: 0 }),
            })
            .await;
        assert_refused(refused, Code::InvalidArgument, "INVALID_ARGUMENT");
    }
    app.stop().await;
}

on_both_backends!(a_session_ends_when_its_admin_may_no_longer_act);

async fn a_session_ends_when_its_admin_may_no_longer_act(backend: Backend) {
    let app = spawn_app(backend, "portal_sessions_end").await;

    // Deactivated: the session's next call is refused, and it stays ended when the admin comes
    // back; a link made before cannot start a session either.
    let (admin, mut product) = person(&app, pb::Role::Admin).await;
    let mut session = app.clients(Some(
        &redeem(&app.channel, &token(&link(&mut product).await.unwrap())).await,
    ));
    let unused = link(&mut product).await.unwrap();
    session.portal.get_portal_session(()).await.unwrap();
    set_active(&app, &admin.id, false).await;
    assert_refused(
        session
            .users
            .list_users(pb::ListUsersRequest::default())
            .await,
        Code::Unauthenticated,
        "PORTAL_SESSION_ENDED",
    );
    assert_refused(
        try_redeem(&app, &token(&unused)).await,
        Code::PermissionDenied,
        "ACTING_USER_INACTIVE",
    );
    set_active(&app, &admin.id, true).await;
    assert_refused(
        session.portal.get_portal_session(()).await,
        Code::Unauthenticated,
        "PORTAL_SESSION_ENDED",
    );
    // The unused link still works once its admin is active again (it has not expired).
    try_redeem(&app, &token(&unused)).await.unwrap();

    // Demoted to member: the same.
    let (demoted, mut product) = person(&app, pb::Role::Admin).await;
    let mut session = app.clients(Some(
        &redeem(&app.channel, &token(&link(&mut product).await.unwrap())).await,
    ));
    session.portal.get_portal_session(()).await.unwrap();
    app.admin
        .clone()
        .users
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: demoted.id.clone(),
            role: pb::Role::Member.into(),
        })
        .await
        .unwrap();
    assert_refused(
        session.portal.get_portal_session(()).await,
        Code::Unauthenticated,
        "PORTAL_SESSION_ENDED",
    );
    // And members get no link at all.
    assert_refused(
        link(&mut product).await,
        Code::PermissionDenied,
        "ADMIN_REQUIRED",
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_portal_url_no_link_is_made() {
    let app = spawn_app_with(Backend::Sqlite, "portal_unconfigured", Default::default()).await;
    let (_, mut product) = person(&app, pb::Role::Admin).await;
    assert_refused(
        link(&mut product).await,
        Code::FailedPrecondition,
        "PORTAL_NOT_CONFIGURED",
    );
    app.stop().await;
}

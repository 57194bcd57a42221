//! The admin portal in a real headless Chromium: an admin follows a link, generates a SCIM key
//! (shown once) and sees it ACTIVE, the test uses it for SCIM calls, the admin sees them in the
//! activity and the connection test on the status page, revokes the key (SCIM then answers
//! 401), and signs out. Refusals: the used link a second time, a member's link, a form without
//! its CSRF token. With `PORTAL_SCREENSHOTS=<dir>` the main pages are saved there as PNG.

use identity_proto::v1 as pb;
use identity_proto::v1::portal_client::PortalClient;
use reqwest::StatusCode;
use serde_json::json;

use crate::browser::{self, Browser};
use crate::support::{App, spawn_app};

/// A new person of the tenant with `role` (made over gRPC by the product's backend).
async fn person(app: &App, user_name: &str, role: pb::Role) -> pb::User {
    let user = app
        .users()
        .create_user(pb::CreateUserRequest {
            tenant_id: app.tenant_id.clone(),
            user: Some(pb::User {
                user_name: user_name.to_owned(),
                display_name: Some(format!("{role:?} {user_name}")),
                active: true,
                ..Default::default()
            }),
        })
        .await
        .expect("create user")
        .into_inner();
    app.users()
        .set_user_role(pb::SetUserRoleRequest {
            tenant_id: app.tenant_id.clone(),
            user_id: user.id.clone(),
            role: role.into(),
        })
        .await
        .expect("set role");
    user
}

/// What the product's backend does for `user`: `Portal/CreatePortalLink` acting for them.
async fn portal_link(app: &App, user: &pb::User) -> Result<pb::PortalLink, tonic::Status> {
    let mut request = tonic::Request::new(pb::CreatePortalLinkRequest {
        tenant_id: app.tenant_id.clone(),
        ttl: None,
    });
    let headers = request.metadata_mut();
    headers.insert(
        "authorization",
        format!("Bearer {}", app.service_key)
            .parse()
            .expect("header"),
    );
    headers.insert("x-acting-user-id", user.id.parse().expect("header"));
    PortalClient::new(app.channel.clone())
        .create_portal_link(request)
        .await
        .map(tonic::Response::into_inner)
}

/// Every visible form field of the page has a label (screen readers name it by it).
async fn assert_labelled(browser: &Browser) {
    let unlabelled = browser
        .execute(
            "return [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]\
             .filter(field => field.labels.length === 0 && !field.getAttribute('aria-label'))\
             .map(field => field.outerHTML)",
        )
        .await;
    assert_eq!(unlabelled, json!([]), "fields without labels");
    assert_eq!(
        browser
            .execute("return document.querySelectorAll('h1').length")
            .await,
        json!(1),
        "one h1 per page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Debian's chromium and chromium-driver; scripts/test.sh runs it"]
async fn an_admin_sets_up_provisioning_in_a_real_browser() {
    // Loudly: scripts/test.sh leaves this test out (as not run) when there is no browser.
    if let Some(missing) = browser::missing() {
        panic!("\n\n*** NO BROWSER: {missing} ***\n");
    }
    let screenshots = std::env::var_os("PORTAL_SCREENSHOTS").map(std::path::PathBuf::from);
    let shoot = async |browser: &Browser, name: &str| {
        if let Some(dir) = &screenshots {
            browser
                .screenshot(&dir.join(format!("portal-{name}.png")))
                .await;
        }
    };
    let app = spawn_app().await;
    let admin = person(&app, "ann@acme.example", pb::Role::Admin).await;
    let member = person(&app, "max@acme.example", pb::Role::Member).await;

    // Members get no link.
    let refused = portal_link(&app, &member)
        .await
        .expect_err("a member's link");
    assert_eq!(refused.code(), tonic::Code::PermissionDenied);

    let link = portal_link(&app, &admin).await.expect("an admin's link");
    assert!(
        link.url
            .starts_with(&format!("{}/portal/link/", app.origin))
    );
    let browser = Browser::start().await;

    // Following the link signs in and lands on the provisioning page.
    browser.goto(&link.url).await;
    for _ in 0..50 {
        if browser.url().await.ends_with("/portal/") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        browser.url().await.ends_with("/portal/"),
        "{}",
        browser.url().await
    );
    assert_eq!(browser.heading().await, "SCIM provisioning");
    assert!(browser.source().await.contains("Admin ann@acme.example"));
    assert_labelled(&browser).await;
    let scim_url = browser.value("#base-url").await;
    assert_eq!(scim_url, app.base);

    // Generate a key: shown once, ACTIVE.
    browser.fill("#key-name", "Okta production").await;
    browser
        .click("form[action='/portal/keys'] button[type=submit]")
        .await;
    let done = browser.text_once(".alert.done", "new SCIM key").await;
    assert!(done.contains("new SCIM key"), "{done}");
    let secret = browser.value("#new-secret").await;
    assert!(secret.starts_with("idscim_"), "{secret}");
    let row = browser.text("table tbody tr:last-child").await;
    assert!(
        row.contains("Okta production") && row.contains("ACTIVE"),
        "{row}"
    );
    shoot(&browser, "new-key").await;
    browser.goto(&format!("{}/portal/", app.origin)).await;
    assert!(
        !browser.source().await.contains(&secret),
        "a key's secret is shown once"
    );
    shoot(&browser, "provisioning").await;

    // The key works for SCIM: Okta's Test API Credentials, a user, and a uniqueness conflict.
    let scim = |method: reqwest::Method, path: &str| {
        app.http
            .request(method, format!("{}{path}", app.base))
            .bearer_auth(&secret)
            .header("content-type", "application/scim+json")
            .header("user-agent", "Okta SCIM Client 1.0.0")
    };
    let test = scim(reqwest::Method::GET, "/Users?startIndex=1&count=2")
        .send()
        .await
        .unwrap();
    assert_eq!(test.status(), StatusCode::OK);
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "okta-user@acme.example",
        "name": {"givenName": "Olga", "familyName": "Okta"},
        "active": true,
    });
    for expected in [StatusCode::CREATED, StatusCode::CONFLICT] {
        let created = scim(reqwest::Method::POST, "/Users")
            .body(user.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), expected);
    }

    // The admin sees those calls: the conflict with its hint, and the test's result.
    let activity = format!("{}/portal/activity", app.origin);
    browser.wait_for_text(&activity, "uniqueness").await;
    let source = browser.source().await;
    assert!(source.contains("POST /scim/v2/Users") && source.contains("409"));
    assert!(
        source.contains("Okta should match it by userName"),
        "the hint"
    );
    assert_labelled(&browser).await;
    shoot(&browser, "activity").await;
    browser
        .goto(&format!(
            "{activity}?result=failed&resource=Users&period=24h"
        ))
        .await;
    let failed = browser.text("table.activity tbody").await;
    assert!(
        failed.contains("409") && !failed.contains("201"),
        "{failed}"
    );
    browser.goto(&format!("{}/portal/status", app.origin)).await;
    let status = browser.source().await;
    assert!(status.contains("It succeeded.") && status.contains("Okta production"));
    shoot(&browser, "status").await;

    // The other pages.
    browser
        .goto(&format!("{}/portal/directory", app.origin))
        .await;
    assert!(browser.source().await.contains("okta-user@acme.example"));
    browser.fill("#q", "olga").await;
    browser
        .click("form[action='/portal/directory'] button")
        .await;
    let matches = browser.text_once("[role=status]", "1 user matches").await;
    assert!(matches.contains("1 user matches"), "{matches}");
    assert_labelled(&browser).await;
    shoot(&browser, "directory").await;
    browser
        .goto(&format!("{}/portal/domains", app.origin))
        .await;
    browser.fill("#domain", "acme.example").await;
    browser
        .click("form[action='/portal/domains'] button[type=submit]:not(.danger)")
        .await;
    let listed = browser.text_once("ul.domains", "acme.example").await;
    assert!(listed.contains("acme.example"), "{listed}");
    assert_labelled(&browser).await;
    shoot(&browser, "domains").await;
    browser.goto(&format!("{}/portal/guide", app.origin)).await;
    assert_eq!(browser.value("#guide-url").await, app.base);
    assert!(browser.source().await.contains("Sync Password"));
    shoot(&browser, "guide").await;

    // A form without its CSRF token is refused, and changes nothing.
    browser.goto(&format!("{}/portal/", app.origin)).await;
    browser
        .execute(
            "document.querySelector(\"form[action='/portal/keys'] input[name=csrf]\").remove()",
        )
        .await;
    browser
        .click("form[action='/portal/keys'] button[type=submit]")
        .await;
    assert_eq!(
        browser.text_once("h1", "The form has expired").await,
        "The form has expired"
    );
    browser.goto(&format!("{}/portal/", app.origin)).await;
    assert!(!browser.source().await.contains("id=\"new-secret\""));

    // Switch SCIM off: the key is refused (403) until it is switched on again.
    browser.goto(&format!("{}/portal/", app.origin)).await;
    browser.click("form[action='/portal/'] button").await;
    let state = browser.text_once(".state", "is off.").await;
    assert!(state.contains("is off."), "{state}");
    let off = scim(reqwest::Method::GET, "/Users?startIndex=1&count=2")
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::FORBIDDEN);
    browser.click("form[action='/portal/'] button").await;
    let state = browser.text_once(".state", "is on.").await;
    assert!(state.contains("is on."), "{state}");

    // Revoke the key: SCIM answers 401 with it from now on.
    browser
        .click("form[action$='/revoke'] button[aria-label^='Revoke Okta production']")
        .await;
    browser.accept_alert().await;
    for _ in 0..50 {
        if browser.source().await.contains("The key is revoked") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let row = browser.text("table tbody tr:last-child").await;
    assert!(
        row.contains("Okta production") && row.contains("REVOKED"),
        "{row}"
    );
    let after = scim(reqwest::Method::GET, "/Users?startIndex=1&count=2")
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::UNAUTHORIZED);

    // The link worked once.
    browser.goto(&link.url).await;
    assert_eq!(browser.heading().await, "This link cannot be used");

    // Signing out ends the session.
    browser.goto(&format!("{}/portal/", app.origin)).await;
    browser.click("form.signout button").await;
    assert_eq!(
        browser.text_once("h1", "You are signed out").await,
        "You are signed out"
    );
    browser.goto(&format!("{}/portal/", app.origin)).await;
    assert_eq!(browser.heading().await, "Your session has ended");
    browser.quit().await;
}

/// Without a browser: what anyone can send to the portal is answered quickly and safely, with
/// the portal's headers, and counted against the rate limit like SCIM calls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_refuses_strangers_and_hostile_requests_and_is_rate_limited() {
    let app = crate::support::spawn_app_with(|config| {
        config.rate_limit = scim_gateway::server::RateLimit::new(1, 4);
    })
    .await;
    let get = |path: String| {
        let request = app.http.get(format!("{}{path}", app.origin));
        async move { request.send().await.unwrap() }
    };
    // No session: the page says how to get one; nothing is cached; the CSP allows no inline
    // script.
    let signed_out = get("/portal/".into()).await;
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);
    let headers = signed_out.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-frame-options"], "DENY");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        signed_out
            .text()
            .await
            .unwrap()
            .contains("Your session has ended")
    );
    // Forged links, a forged cookie and an oversized form are refused.
    let forged = get(format!("/portal/link/idplink_{}", "0".repeat(64))).await;
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let long = get(format!("/portal/link/{}", "x".repeat(10_000))).await;
    assert_eq!(long.status(), StatusCode::UNAUTHORIZED);
    let forged_cookie = app
        .http
        .get(format!("{}/portal/", app.origin))
        .header(
            "cookie",
            format!("portal_session=idportal_{}", "1".repeat(64)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged_cookie.status(), StatusCode::UNAUTHORIZED);
    let oversized = app
        .http
        .post(format!("{}/portal/keys", app.origin))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(vec![b'a'; 64 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // Over the rate (4 at once, then 1 a second, per client before a session): 429 with whole
    // seconds to wait.
    let mut limited = None;
    for _ in 0..10 {
        let answer = get("/portal/guide".into()).await;
        if answer.status() == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(answer);
            break;
        }
    }
    let limited = limited.expect("a 429 within 10 requests at 1/s");
    let wait: u32 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(wait >= 1);
    // SCIM is not limited by the portal's visitors (another limiter, another key).
    assert_eq!(
        app.get("/Users?startIndex=1&count=1").await.status,
        StatusCode::OK
    );
}

//! Every row of the spec's error table, and hostile input: a SCIM error, never a 5xx, nothing
//! changed.

use identity_proto::v1 as pb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn invalid_filters() {
    let app = spawn_app().await;
    app.create_user("someone@example.com").await;
    for filter in [
        "userName eq",
        "userName xx \"a\"",
        "(userName eq \"a\"",
        "userName eq \"a\" garbage",
        "userName eq unquoted",
        "\"a\" eq userName",
        "userName eq \"unterminated",
        "title eq \"Boss\"",
        "nickName pr",
        "phoneNumbers[type eq \"work\"].value eq \"1\"",
        "emails[display eq \"x\"]",
        "active eq \"maybe\"",
        "meta.created gt \"yesterday\"",
        "userName eq 42",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq \"x\"",
    ] {
        let answer = app.get(&format!("/Users?filter={}", query(filter))).await;
        answer.assert_error(400, Some("invalidFilter"));
    }
    let deep = format!("{}userName pr{}", "(".repeat(500), ")".repeat(500));
    app.get(&format!("/Users?filter={}", query(&deep)))
        .await
        .assert_error(400, Some("invalidFilter"));
    let long_chain = vec!["userName pr"; 2000].join(" or ");
    app.get(&format!("/Users?filter={}", query(&long_chain)))
        .await
        .assert_error(400, Some("invalidFilter"));
    for filter in ["members.display eq \"x\"", "members[type eq \"User\"]"] {
        app.get(&format!("/Groups?filter={}", query(filter)))
            .await
            .assert_error(400, Some("invalidFilter"));
    }
}

#[tokio::test]
async fn filters_that_work() {
    let app = spawn_app().await;
    let ada = app
        .post(
            "/Users",
            json!({"userName": "ada+scim@example.com", "displayName": "Ada \"the\" Countess",
                   "name": {"givenName": "Ada", "familyName": "Lovelace"}, "externalId": "x-1"}),
        )
        .await
        .body;
    app.create_user("bob@example.com").await;
    assert_eq!(
        total(&app, r#"USERNAME EQ "ADA+SCIM@EXAMPLE.COM""#).await,
        1
    );
    assert_eq!(
        total(&app, r#"displayName eq "Ada \"the\" Countess""#).await,
        1
    );
    assert_eq!(
        total(&app, r#"displayName eq "Ada \u0022the\u0022 countess""#).await,
        1
    );
    assert_eq!(total(&app, r#"name.familyName sw "love""#).await, 1);
    assert_eq!(
        total(
            &app,
            r#"urn:ietf:params:scim:schemas:core:2.0:User:name.givenName eq "ada""#
        )
        .await,
        1
    );
    assert_eq!(
        total(
            &app,
            r#"userName ew "example.com" and not (externalId eq "x-1")"#
        )
        .await,
        1
    );
    assert_eq!(
        total(&app, r#"(userName co "bob") or externalId pr"#).await,
        2
    );
    assert_eq!(total(&app, r#"active eq true"#).await, 2);
    assert_eq!(total(&app, r#"emails.value co "ada""#).await, 1);
    assert_eq!(
        total(&app, r#"meta.created gt "2000-01-01T00:00:00Z""#).await,
        2
    );
    assert_eq!(total(&app, &format!(r#"id eq "{}""#, id_of(&ada))).await, 1);

    // Form decoding: `+` is a space, a literal plus arrives as %2B.
    let raw = app
        .get("/Users?filter=userName+eq+%22ada%2Bscim@example.com%22&count=10")
        .await;
    assert_eq!(raw.body["totalResults"], json!(1), "{:#}", raw.body);

    // POST /Users/.search, with a projection.
    let search = app
        .post(
            "/Users/.search",
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "userName sw \"ada\"", "attributes": ["userName", "name.givenName"],
                   "startIndex": 1, "count": 10}),
        )
        .await;
    assert_eq!(search.status, StatusCode::OK, "{:#}", search.body);
    let found = &search.body["Resources"][0];
    assert_eq!(
        found,
        &json!({"schemas": [USER_SCHEMA], "id": id_of(&ada), "userName": "ada+scim@example.com",
                "name": {"givenName": "Ada"}})
    );
}

#[tokio::test]
async fn invalid_syntax_paths_values_and_targets() {
    let app = spawn_app().await;
    let user = app.create_user("target@example.com").await;
    let path = format!("/Users/{}", id_of(&user));
    let before = app.get(&path).await.body;

    let raw = |body: &'static str| {
        let app = &app;
        let path = path.clone();
        async move {
            app.call_with(Method::PATCH, &path, None, |request| {
                request
                    .bearer_auth(&app.scim_key)
                    .header("content-type", "application/json")
                    .body(body)
            })
            .await
        }
    };
    raw("not json")
        .await
        .assert_error(400, Some("invalidSyntax"));
    raw("").await.assert_error(400, Some("invalidSyntax"));
    raw("[1,2]").await.assert_error(400, Some("invalidSyntax"));
    raw(&*Box::leak(
        format!("{}1{}", "[".repeat(5000), "]".repeat(5000)).into_boxed_str(),
    ))
    .await
    .assert_error(400, Some("invalidSyntax"));
    let cases: Vec<(Value, &str)> = vec![
        (json!({"schemas": [PATCH_OP]}), "invalidSyntax"),
        (
            json!({"schemas": ["urn:nope"], "Operations": [{"op": "add", "path": "title", "value": "x"}]}),
            "invalidSyntax",
        ),
        (
            patch_op(json!([{"op": "move", "path": "title", "value": "x"}])),
            "invalidSyntax",
        ),
        (
            patch_op(json!([{"op": 7, "path": "title", "value": "x"}])),
            "invalidSyntax",
        ),
        (patch_op(json!("not an array")), "invalidSyntax"),
        (
            patch_op(json!([{"op": "replace", "path": "nosuchattribute", "value": "x"}])),
            "invalidPath",
        ),
        (
            patch_op(json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])),
            "invalidPath",
        ),
        (
            patch_op(json!([{"op": "replace", "path": 12, "value": "x"}])),
            "invalidPath",
        ),
        (patch_op(json!([{"op": "remove"}])), "noTarget"),
        (
            patch_op(
                json!([{"op": "replace", "path": "emails[value eq \"nobody@x\"]", "value": {"display": "x"}}]),
            ),
            "noTarget",
        ),
        (
            patch_op(json!([{"op": "replace", "path": "active", "value": "perhaps"}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "replace", "path": "title", "value": {"nested": true}}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "replace", "path": "userName", "value": ""}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "replace", "value": "not an object"}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "replace", "path": "title"}])),
            "invalidValue",
        ),
        (
            patch_op(json!([{"op": "remove", "path": "userName"}])),
            "mutability",
        ),
        (
            patch_op(json!([{"op": "replace", "path": "id", "value": "other"}])),
            "mutability",
        ),
        // One good op and one bad one: nothing applies.
        (
            patch_op(
                json!([{"op": "replace", "path": "title", "value": "Applied?"},
                         {"op": "replace", "path": "active", "value": 3}]),
            ),
            "invalidValue",
        ),
    ];
    for (body, scim_type) in cases {
        let answer = app.patch(&path, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:#}",
            answer.body
        );
        answer.assert_error(400, Some(scim_type));
    }

    // Create and replace: required and mistyped values, another id.
    app.post("/Users", json!({"schemas": [USER_SCHEMA]}))
        .await
        .assert_error(400, Some("invalidValue"));
    app.post("/Users", json!({"userName": ["a"]}))
        .await
        .assert_error(400, Some("invalidValue"));
    app.post(
        "/Users",
        json!({"userName": "typed@x", "active": {"yes": 1}}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.post(
        "/Users",
        json!({"userName": "typed@x", "emails": [{"type": "work"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    app.post("/Users", json!("a string"))
        .await
        .assert_error(400, Some("invalidSyntax"));
    let mut other_id = before.clone();
    other_id["id"] = json!("01890000-0000-7000-8000-000000000000");
    app.put(&path, other_id)
        .await
        .assert_error(400, Some("mutability"));
    app.put(&path, json!({"displayName": "no userName"}))
        .await
        .assert_error(400, Some("invalidValue"));

    // Groups: nested groups are refused loudly, garbage members too.
    let group = id_of(&app.create_group("Parents").await);
    let other_group = id_of(&app.create_group("Children").await);
    let nested = app
        .patch(
            &format!("/Groups/{group}"),
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": other_group, "type": "Group"}]}])),
        )
        .await;
    nested.assert_error(400, Some("invalidValue"));
    assert!(
        nested.body["detail"]
            .as_str()
            .unwrap()
            .contains("nested groups")
    );
    app.post(
        "/Groups",
        json!({"displayName": "Nest", "members": [{"value": group, "type": "Group"}]}),
    )
    .await
    .assert_error(400, Some("invalidValue"));
    for body in [
        patch_op(json!([{"op": "add", "path": "members", "value": "not a list"}])),
        patch_op(json!([{"op": "add", "path": "members", "value": [{"display": "no value"}]}])),
        patch_op(json!([{"op": "remove", "path": "displayName"}])),
        patch_op(
            json!([{"op": "add", "path": "members[value eq \"x\"]", "value": [{"value": "x"}]}]),
        ),
        patch_op(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])),
        patch_op(json!([{"op": "replace", "path": "displayName", "value": 5}])),
    ] {
        let answer = app.patch(&format!("/Groups/{group}"), body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{body}: {:#}",
            answer.body
        );
    }

    // Nothing changed by any of it.
    assert_eq!(app.get(&path).await.body, before);
    assert_eq!(
        app.get(&format!("/Groups/{group}")).await.body["meta"]["version"],
        json!("W/\"1\"")
    );
    let all = app.get("/Users").await;
    assert_eq!(all.body["totalResults"], json!(1));
}

#[tokio::test]
async fn credentials_and_permissions() {
    let app = spawn_app().await;
    // Missing, wrong, and malformed credentials: 401 with WWW-Authenticate.
    let missing = app
        .call_with(Method::GET, "/Users", None, |request| request)
        .await;
    missing.assert_error(401, None);
    assert!(
        missing
            .header("www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    for header in [
        "Bearer idscim_0000000000000000000000000000000000000000000000000000000000000000",
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "garbage",
    ] {
        let answer = app
            .call_with(Method::GET, "/Users", None, |request| {
                request.header("authorization", header)
            })
            .await;
        answer.assert_error(401, None);
        assert!(answer.header("www-authenticate").is_some());
    }
    // The bare key (Okta's header mode) and a lower-case scheme work.
    for header in [app.scim_key.clone(), format!("bearer {}", app.scim_key)] {
        let answer = app
            .call_with(Method::GET, "/Users", None, |request| {
                request.header("authorization", header.as_str())
            })
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    }

    // A valid key that may not write: 403.
    let mut tenants = identity_proto::v1::tenants_client::TenantsClient::with_interceptor(
        app.channel.clone(),
        identity_proto::BearerAuth::new(&app.service_key).unwrap(),
    );
    let issued = tenants
        .issue_api_key(pb::IssueApiKeyRequest {
            tenant_id: app.tenant_id.clone(),
            name: "read only".into(),
            kind: pb::ApiKeyKind::Service as i32,
            access: pb::ApiKeyAccess::ReadOnly as i32,
            ..Default::default()
        })
        .await
        .expect("issue key")
        .into_inner();
    let answer = app
        .call_with(
            Method::POST,
            "/Users",
            Some(json!({"userName": "x@example.com"})),
            |request| request.bearer_auth(&issued.secret),
        )
        .await;
    answer.assert_error(403, None);
    let read = app
        .call_with(Method::GET, "/Users", None, |request| {
            request.bearer_auth(&issued.secret)
        })
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(app.get("/Users").await.body["totalResults"], json!(0));
}

#[tokio::test]
async fn not_found_methods_conflicts_preconditions_and_size() {
    let app = spawn_app().await;
    let user = app.create_user("etag@example.com").await;
    let id = id_of(&user);
    let path = format!("/Users/{id}");

    // 404: unknown ids (well-formed or not), unknown routes, nothing outside the base path.
    app.get("/Users/01890000-0000-7000-8000-000000000000")
        .await
        .assert_error(404, None);
    app.get("/Users/not-an-id").await.assert_error(404, None);
    app.get("/Groups/01890000-0000-7000-8000-000000000000")
        .await
        .assert_error(404, None);
    app.patch(
        "/Groups/01890000-0000-7000-8000-000000000000",
        patch_op(json!([{"op": "add", "path": "members", "value": []}])),
    )
    .await
    .assert_error(404, None);
    app.get("/Widgets").await.assert_error(404, None);
    app.get(&format!("/Users/{id}/extra"))
        .await
        .assert_error(404, None);
    let outside = app
        .http
        .get(format!("http://{}/elsewhere", app.gateway.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(outside.status(), StatusCode::NOT_FOUND);
    let body: Value = outside.json().await.unwrap();
    assert_eq!(body["status"], json!("404"));

    // 405.
    app.call(Method::PUT, "/Users", Some(json!({})))
        .await
        .assert_error(405, None);
    app.call(Method::POST, &path, Some(json!({})))
        .await
        .assert_error(405, None);
    app.call(Method::GET, "/Users/.search", None)
        .await
        .assert_error(405, None);

    // 412 on If-Match mismatch for PUT, PATCH and DELETE; a match applies.
    let stale = |request: reqwest::RequestBuilder| {
        request
            .bearer_auth(&app.scim_key)
            .header("if-match", "W/\"7\"")
    };
    let put = app
        .call_with(Method::PUT, &path, Some(user.clone()), stale)
        .await;
    put.assert_error(412, None);
    let patch = app
        .call_with(
            Method::PATCH,
            &path,
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            stale,
        )
        .await;
    patch.assert_error(412, None);
    app.call_with(Method::DELETE, &path, None, stale)
        .await
        .assert_error(412, None);
    let current = |request: reqwest::RequestBuilder| {
        request
            .bearer_auth(&app.scim_key)
            .header("if-match", "W/\"1\"")
    };
    let patch = app
        .call_with(
            Method::PATCH,
            &path,
            Some(patch_op(
                json!([{"op": "replace", "path": "title", "value": "x"}]),
            )),
            current,
        )
        .await;
    assert_eq!(patch.status, StatusCode::OK, "{:#}", patch.body);
    assert_eq!(patch.header("etag"), Some("W/\"2\""));

    // 413.
    let huge = json!({"userName": "big@example.com", "title": "x".repeat(2 * 1024 * 1024)});
    app.post("/Users", huge).await.assert_error(413, None);
    assert_eq!(app.get("/Users").await.body["totalResults"], json!(1));
}

/// With SCIM switched off for the team, its SCIM key gets a SCIM 403 on every route and nothing
/// changes; switched back on, the same key works again.
#[tokio::test]
async fn scim_disabled_for_the_team_is_403_everywhere() {
    let app = spawn_app().await;
    let user = id_of(&app.create_user("kept@example.com").await);
    let group = id_of(&app.create_group("Kept").await);
    let mut tenants = identity_proto::v1::tenants_client::TenantsClient::with_interceptor(
        app.channel.clone(),
        identity_proto::BearerAuth::new(&app.service_key).unwrap(),
    );
    let switch = |enabled: bool| pb::UpdateTenantRequest {
        tenant: Some(pb::Tenant {
            id: app.tenant_id.clone(),
            scim_enabled: enabled,
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["scim_enabled".into()],
        }),
        expected_version: None,
    };
    tenants.update_tenant(switch(false)).await.unwrap();

    let patch = patch_op(json!([{"op": "replace", "path": "title", "value": "x"}]));
    let calls: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, "/Users?startIndex=1&count=2".into(), None),
        (Method::GET, format!("/Users/{user}"), None),
        (
            Method::POST,
            "/Users".into(),
            Some(json!({"userName": "new@example.com"})),
        ),
        (
            Method::PUT,
            format!("/Users/{user}"),
            Some(json!({"userName": "kept@example.com"})),
        ),
        (Method::PATCH, format!("/Users/{user}"), Some(patch.clone())),
        (Method::DELETE, format!("/Users/{user}"), None),
        (Method::POST, "/Users/.search".into(), Some(json!({}))),
        (Method::GET, "/Groups?startIndex=1&count=100".into(), None),
        (Method::GET, format!("/Groups/{group}"), None),
        (
            Method::POST,
            "/Groups".into(),
            Some(json!({"displayName": "New"})),
        ),
        (
            Method::PATCH,
            format!("/Groups/{group}"),
            Some(patch_op(
                json!([{"op": "replace", "path": "displayName", "value": "Renamed"}]),
            )),
        ),
        (Method::DELETE, format!("/Groups/{group}"), None),
    ];
    for (method, path, body) in calls {
        let answer = app.call(method.clone(), &path, body).await;
        answer.assert_error(403, None);
        assert!(
            answer.body["detail"]
                .as_str()
                .unwrap()
                .contains("SCIM provisioning is disabled"),
            "{method} {path}: {:#}",
            answer.body
        );
    }

    tenants.update_tenant(switch(true)).await.unwrap();
    assert_eq!(
        app.get("/Users").await.body["totalResults"],
        json!(1),
        "data kept"
    );
    let read = app.get(&format!("/Groups/{group}")).await;
    assert_eq!(read.body["displayName"], json!("Kept"));
    assert_eq!(read.body["meta"]["version"], json!("W/\"1\""));
}

/// While SCIM is on, SCIM changes emails only to addresses in the team's verified domains; a
/// PATCH that mixes such a change with others applies nothing.
#[tokio::test]
async fn email_changes_only_to_verified_domains() {
    let app = spawn_app().await;
    app.verify_domain("Example.COM").await;
    let created = app
        .post(
            "/Users",
            json!({"userName": "ada@example.com",
                   "emails": [{"value": "ada@example.com", "type": "work", "primary": true}]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let path = format!("/Users/{}", id_of(&created.body));
    let before = app.get(&path).await.body;

    let outside = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "replace", "path": "title", "value": "Countess"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@gmail.example"}
            ])),
        )
        .await;
    outside.assert_error(400, Some("mutability"));
    assert!(
        outside.body["detail"]
            .as_str()
            .unwrap()
            .contains("not a verified domain"),
        "{:#}",
        outside.body
    );
    assert_eq!(app.get(&path).await.body, before, "nothing applied");
    let mut put = before.clone();
    put["emails"] = json!([{"value": "ada@elsewhere.example", "type": "work"}]);
    app.put(&path, put)
        .await
        .assert_error(400, Some("mutability"));

    // Inside a verified domain (any case): applied.
    let inside = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "replace", "path": "title", "value": "Countess"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "Lovelace@EXAMPLE.com"}
            ])),
        )
        .await;
    assert_eq!(inside.status, StatusCode::OK, "{:#}", inside.body);
    assert_eq!(
        inside.body["emails"][0]["value"],
        json!("Lovelace@EXAMPLE.com")
    );
    assert_eq!(inside.body["title"], json!("Countess"));
    // Changes that keep the addresses are not email changes.
    let same = app
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "path": "emails[type eq \"work\"].primary", "value": false}])),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{:#}", same.body);

    // A team may opt out: settings.scim_email_domains = "any".
    identity_proto::v1::tenants_client::TenantsClient::with_interceptor(
        app.channel.clone(),
        identity_proto::BearerAuth::new(&app.service_key).unwrap(),
    )
    .update_tenant(pb::UpdateTenantRequest {
        tenant: Some(pb::Tenant {
            id: app.tenant_id.clone(),
            settings: serde_json::from_value(json!({"scim_email_domains": "any"}))
                .ok()
                .map(identity_proto::json::to_struct),
            ..Default::default()
        }),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["settings".into()],
        }),
        expected_version: None,
    })
    .await
    .unwrap();
    let anywhere = app
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@gmail.example"}])),
        )
        .await;
    assert_eq!(anywhere.status, StatusCode::OK, "{:#}", anywhere.body);
}

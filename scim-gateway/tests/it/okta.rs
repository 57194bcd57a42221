//! Okta's provisioning flows, request for request as Okta sends them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn test_api_credentials_on_an_empty_store() {
    let app = spawn_app().await;
    let users = app.get("/Users?startIndex=1&count=2").await;
    assert_eq!(users.status, StatusCode::OK);
    assert_eq!(users.header("content-type"), Some("application/scim+json"));
    assert_eq!(
        users.body,
        json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": 0,
            "startIndex": 1,
            "itemsPerPage": 0,
            "Resources": []
        })
    );
    let groups = app.get("/Groups?startIndex=1&count=100").await;
    assert_eq!(groups.status, StatusCode::OK);
    assert_eq!(groups.body["totalResults"], json!(0));
    assert_eq!(groups.body["Resources"], json!([]));
}

/// Okta's create body, verbatim in shape: placeholder password, `groups: []`, locale, externalId.
fn okta_user(user_name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": true, "value": "ada@example.com", "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": "00u1abcd",
        "groups": [],
        "password": "Pl4ceholder!Secret",
        "active": true
    })
}

#[tokio::test]
async fn user_lifecycle_as_okta_drives_it() {
    let app = spawn_app().await;

    // Matching: no such user yet.
    let filter = query(r#"userName eq "Ada@Example.com""#);
    let lookup = app
        .get(&format!("/Users?filter={filter}&startIndex=1&count=100"))
        .await;
    assert_eq!(lookup.body["totalResults"], json!(0));
    assert_eq!(lookup.body["Resources"], json!([]));

    // Create.
    let created = app.post("/Users", okta_user("Ada@Example.com")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let user = created.body.clone();
    let id = id_of(&user);
    assert_eq!(user["userName"], json!("Ada@Example.com"));
    assert_eq!(user["active"], json!(true));
    assert_eq!(user["locale"], json!("en-US"));
    assert_eq!(user["externalId"], json!("00u1abcd"));
    assert!(user.get("password").is_none(), "password is never returned");
    assert!(user.get("groups").is_none());
    assert_eq!(user["meta"]["resourceType"], json!("User"));
    assert_eq!(user["meta"]["created"], user["meta"]["lastModified"]);
    let location = format!("{}/Users/{id}", app.base);
    assert_eq!(user["meta"]["location"], json!(location));
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(user["meta"]["version"], json!("W/\"1\""));
    assert_eq!(created.header("etag"), Some("W/\"1\""));
    let stored = app.stored_user(&id).await;
    let attributes = format!("{:?}", stored.attributes);
    assert!(
        !attributes.contains("Pl4ceholder") && !attributes.contains("password"),
        "the password is not stored: {attributes}"
    );

    // Matching is case-insensitive and echoes the case sent at creation.
    let filter = query(r#"userName eq "ada@EXAMPLE.com""#);
    let lookup = app
        .get(&format!("/Users?filter={filter}&startIndex=1&count=100"))
        .await;
    assert_eq!(lookup.body["totalResults"], json!(1));
    assert_eq!(lookup.body["itemsPerPage"], json!(1));
    assert_eq!(lookup.body["Resources"][0]["id"], json!(id));
    assert_eq!(
        lookup.body["Resources"][0]["userName"],
        json!("Ada@Example.com")
    );

    // A case variant is a duplicate.
    let duplicate = app.post("/Users", okta_user("ADA@example.com")).await;
    duplicate.assert_error(409, Some("uniqueness"));

    // GET, edit the mapped fields, PUT the whole object back (with meta, password, groups).
    let mut full = app.get(&format!("/Users/{id}")).await.body;
    full["name"]["givenName"] = json!("Augusta");
    full["password"] = json!("Another!Placeholder");
    full["groups"] = json!([]);
    full["meta"]["created"] = json!("Mon Dec 01 2026 10:00:00 GMT+0000");
    let put = app.put(&format!("/Users/{id}"), full.clone()).await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    assert_eq!(put.body["name"]["givenName"], json!("Augusta"));
    assert_eq!(put.body["name"]["familyName"], json!("Lovelace"));
    assert_eq!(put.body["locale"], json!("en-US"));
    assert_eq!(put.body["active"], json!(true));

    // PUT without `active` does not deactivate; empty strings are accepted.
    let mut without_active = put.body.clone();
    without_active.as_object_mut().unwrap().remove("active");
    without_active["displayName"] = json!("");
    let put = app.put(&format!("/Users/{id}"), without_active).await;
    assert_eq!(put.status, StatusCode::OK, "{:#}", put.body);
    assert_eq!(put.body["active"], json!(true));
    assert_eq!(put.body["displayName"], json!(""));

    // A group membership survives deactivation.
    let group = app.create_group("Engineering").await;
    let group_id = id_of(&group);
    let add = app
        .patch(
            &format!("/Groups/{group_id}"),
            patch_op(json!([{"op": "add", "path": "members", "value": [{"value": id, "display": "Ada"}]}])),
        )
        .await;
    assert_eq!(add.status, StatusCode::NO_CONTENT, "{:#}", add.body);

    // Deactivate.
    let deactivate = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {"active": false}}])),
        )
        .await;
    assert_eq!(deactivate.status, StatusCode::OK, "{:#}", deactivate.body);
    assert_eq!(deactivate.body["active"], json!(false));
    let read = app.get(&format!("/Users/{id}")).await;
    assert_eq!(
        read.body["active"],
        json!(false),
        "deactivated users stay visible"
    );
    let lookup = app
        .get(&format!(
            "/Users?filter={}",
            query(r#"userName eq "ada@example.com""#)
        ))
        .await;
    assert_eq!(lookup.body["Resources"][0]["active"], json!(false));
    assert_eq!(app.member_ids(&group_id).await, vec![id.clone()]);

    // Reactivate.
    let reactivate = app
        .patch(
            &format!("/Users/{id}"),
            patch_op(json!([{"op": "replace", "value": {"active": true}}])),
        )
        .await;
    assert_eq!(reactivate.body["active"], json!(true));
}

#[tokio::test]
async fn profile_patch_forms() {
    let app = spawn_app().await;
    app.verify_domain("navy.mil").await;
    let user = app.create_user("grace@example.com").await;
    let path = format!("/Users/{}", id_of(&user));

    // Path forms, an `add` on a single-valued attribute, a URN-qualified path.
    let answer = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "replace", "path": "name.givenName", "value": "Grace"},
                {"op": "add", "path": "title", "value": "Rear Admiral"},
                {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "value": "Grace H"},
                {"op": "add", "path": format!("{ENTERPRISE}:department"), "value": "Navy"},
                {"op": "add", "path": "emails[type eq \"work\"].value", "value": "grace@navy.mil"},
                {"op": "replace", "path": "password", "value": "Ne w!Secret"},
                {"op": "replace", "value": {"password": "Other!Secret", "groups": []}}
            ])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    let body = &answer.body;
    assert_eq!(
        body["name"],
        json!({"givenName": "Grace", "familyName": "Family"})
    );
    assert_eq!(body["title"], json!("Rear Admiral"));
    assert_eq!(body["displayName"], json!("Grace H"));
    assert_eq!(body[ENTERPRISE]["department"], json!("Navy"));
    assert_eq!(body["schemas"], json!([USER_SCHEMA, ENTERPRISE]));
    assert_eq!(
        body["emails"],
        json!([{"value": "grace@navy.mil", "type": "work", "primary": false}])
    );
    assert!(body.get("password").is_none());
    let stored = app.stored_user(&id_of(&user)).await;
    let attributes = format!("{:?}", stored.attributes);
    assert!(!attributes.contains("Secret"), "{attributes}");

    // A value object merges complex attributes: familyName stays.
    let answer = app
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "value": {"name": {"givenName": "G."}}}])),
        )
        .await;
    assert_eq!(
        answer.body["name"],
        json!({"givenName": "G.", "familyName": "Family"})
    );

    // The work email's value path replaces in place (no second email).
    let answer = app
        .patch(
            &path,
            patch_op(json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "gh@navy.mil"}])),
        )
        .await;
    assert_eq!(answer.body["emails"].as_array().map(Vec::len), Some(1));
    assert_eq!(answer.body["emails"][0]["value"], json!("gh@navy.mil"));

    // Remove.
    let answer = app
        .patch(&path, patch_op(json!([{"op": "remove", "path": "title"}])))
        .await;
    assert!(answer.body.get("title").is_none(), "{:#}", answer.body);
    assert_eq!(answer.body["meta"]["version"], json!("W/\"5\""));
}

#[tokio::test]
async fn emails_answered_from_user_name_when_none_were_sent() {
    let app = spawn_app().await;
    let user = app.create_user("linus@example.com").await;
    assert_eq!(
        user["emails"],
        json!([{"value": "linus@example.com", "type": "work", "primary": true}])
    );
    let plain = app.create_user("not-an-address").await;
    assert!(plain.get("emails").is_none());
}

#[tokio::test]
async fn group_push_membership_and_delete() {
    let app = spawn_app().await;
    let mut user_ids = Vec::new();
    for name in ["u1@example.com", "u2@example.com", "u3@example.com"] {
        user_ids.push(id_of(&app.create_user(name).await));
    }
    user_ids.sort();
    let [u1, u2, u3] = [&user_ids[0], &user_ids[1], &user_ids[2]];

    // Push: look up by displayName, then create.
    let filter = query(r#"displayName eq "Push Team""#);
    let lookup = app
        .get(&format!("/Groups?filter={filter}&startIndex=1&count=100"))
        .await;
    assert_eq!(lookup.body["totalResults"], json!(0));
    let created = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Push Team", "members": []}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    assert_eq!(created.body["members"], json!([]));
    let group_id = id_of(&created.body);
    let location = format!("{}/Groups/{group_id}", app.base);
    assert_eq!(created.header("location"), Some(location.as_str()));
    let group_path = format!("/Groups/{group_id}");
    let duplicate = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "push team"}),
        )
        .await;
    duplicate.assert_error(409, Some("uniqueness"));

    // Okta's membership update: the repeated rename plus adds.
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([
                {"op": "replace", "value": {"id": group_id, "displayName": "Push Team"}},
                {"op": "add", "path": "members", "value": [
                    {"value": u1, "display": "u1@example.com"},
                    {"value": u2, "display": "u2@example.com", "$ref": null},
                    {"value": u3}
                ]}
            ])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:#}", answer.body);
    assert_eq!(
        app.member_ids(&group_id).await,
        vec![u1.clone(), u2.clone(), u3.clone()]
    );
    let version = app.get(&group_path).await.body["meta"]["version"].clone();

    // Adding a present member and renaming to the current name change nothing.
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([
                {"op": "replace", "value": {"id": group_id, "displayName": "Push Team"}},
                {"op": "add", "path": "members", "value": [{"value": u1}]}
            ])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get(&group_path).await.body["meta"]["version"], version);

    // Remove by value path; an absent member is a no-op.
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([
                {"op": "remove", "path": format!("members[value eq \"{u1}\"]")},
                {"op": "remove", "path": format!("members[value eq \"{u1}\"]")}
            ])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:#}", answer.body);
    assert_eq!(
        app.member_ids(&group_id).await,
        vec![u2.clone(), u3.clone()]
    );

    // Replace, then an empty push.
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([{"op": "replace", "path": "members", "value": [{"value": u1}]}])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(app.member_ids(&group_id).await, vec![u1.clone()]);
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([{"op": "replace", "path": "members", "value": []}])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(app.member_ids(&group_id).await.is_empty());

    // Rename by path, answered with the group when attributes are asked for.
    let answer = app
        .patch(
            &format!("{group_path}?excludedAttributes=members"),
            patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Renamed"}])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    assert_eq!(answer.body["displayName"], json!("Renamed"));
    assert!(answer.body.get("members").is_none());

    // A failing op applies nothing: the valid add before the unknown user is rolled back.
    let before = app.get(&group_path).await.body;
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([
                {"op": "replace", "path": "displayName", "value": "Should Not Stick"},
                {"op": "add", "path": "members", "value": [{"value": u2}]},
                {"op": "add", "path": "members", "value": [{"value": "01890000-0000-7000-8000-000000000000"}]}
            ])),
        )
        .await;
    answer.assert_error(400, Some("invalidValue"));
    assert_eq!(app.get(&group_path).await.body, before);

    // PUT with the full member list replaces it (display may be null).
    let answer = app
        .put(
            &group_path,
            json!({"schemas": [GROUP_SCHEMA], "id": group_id, "displayName": "Renamed",
                   "members": [{"value": u2, "display": null}, {"value": u3}]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    assert_eq!(
        app.member_ids(&group_id).await,
        vec![u2.clone(), u3.clone()]
    );

    // Unlink with delete: the group goes, the users stay.
    let answer = app.delete(&group_path).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    app.get(&group_path).await.assert_error(404, None);
    assert_eq!(
        app.get(&format!("/Users/{u2}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn linking_an_existing_group() {
    let app = spawn_app().await;
    // A group made inside the product (not through SCIM).
    let existing = app
        .groups()
        .create_group(identity_proto::v1::CreateGroupRequest {
            tenant_id: app.tenant_id.clone(),
            group: Some(identity_proto::v1::Group {
                display_name: "Engineering".into(),
                ..Default::default()
            }),
            member_user_ids: vec![],
        })
        .await
        .expect("create group")
        .into_inner();
    let user = id_of(&app.create_user("dev@example.com").await);

    // Okta finds it by name (any case), links it, pushes membership and renames it.
    let filter = query(r#"displayName eq "engineering""#);
    let found = app
        .get(&format!("/Groups?filter={filter}&startIndex=1&count=100"))
        .await;
    assert_eq!(found.body["totalResults"], json!(1));
    assert_eq!(found.body["Resources"][0]["id"], json!(existing.id));
    let answer = app
        .patch(
            &format!("/Groups/{}", existing.id),
            patch_op(json!([
                {"op": "replace", "value": {"id": existing.id, "displayName": "Engineering (Okta)"}},
                {"op": "add", "path": "members", "value": [{"value": user}]}
            ])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:#}", answer.body);
    let group = app.get(&format!("/Groups/{}", existing.id)).await.body;
    assert_eq!(group["displayName"], json!("Engineering (Okta)"));
    assert_eq!(group["members"][0]["value"], json!(user));
}

#[tokio::test]
async fn paging_through_an_import() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for index in 0..230 {
        created.push(id_of(
            &app.create_user(&format!("user{index:03}@example.com"))
                .await,
        ));
    }
    let mut seen = Vec::new();
    for start in [1, 101, 201] {
        let page = app
            .get(&format!("/Users?startIndex={start}&count=100"))
            .await;
        assert_eq!(page.body["totalResults"], json!(230));
        assert_eq!(page.body["startIndex"], json!(start));
        let resources = page.body["Resources"].as_array().unwrap();
        assert_eq!(page.body["itemsPerPage"], json!(resources.len()));
        seen.extend(resources.iter().map(id_of));
    }
    assert_eq!(seen, created, "every user once, in creation order");

    // count=0: no resources, the real total. Past the end: empty, the real total.
    let page = app.get("/Users?startIndex=1&count=0").await;
    assert_eq!(page.body["totalResults"], json!(230));
    assert_eq!(page.body["itemsPerPage"], json!(0));
    assert_eq!(page.body["Resources"], json!([]));
    let page = app.get("/Users?startIndex=500&count=100").await;
    assert_eq!(page.body["totalResults"], json!(230));
    assert_eq!(page.body["Resources"], json!([]));
    // startIndex < 1 means 1; count < 0 means 0; no count means at least 100.
    let page = app.get("/Users?count=1&startIndex=0").await;
    assert_eq!(page.body["startIndex"], json!(1));
    assert_eq!(page.body["Resources"][0]["id"], json!(created[0]));
    let page = app.get("/Users?count=-5").await;
    assert_eq!(page.body["Resources"], json!([]));
    assert_eq!(page.body["totalResults"], json!(230));
    let page = app.get("/Users").await;
    assert_eq!(page.body["itemsPerPage"], json!(100));

    // Groups page the same way.
    for index in 0..3 {
        app.create_group(&format!("g{index}")).await;
    }
    let page = app.get("/Groups?startIndex=2&count=1").await;
    assert_eq!(page.body["totalResults"], json!(3));
    assert_eq!(page.body["Resources"][0]["displayName"], json!("g1"));
}

/// A group made inside the product that has members is not SCIM's: invisible to listings,
/// lookups and reads, its writes refused, its name a 409 with a reason. One without members is
/// linkable, and the first SCIM write makes it SCIM-managed.
#[tokio::test]
async fn only_groups_without_members_can_be_linked() {
    let app = spawn_app().await;
    let member = id_of(&app.create_user("member@example.com").await);
    let mut groups = app.groups();
    let internal = |name: &str, members: Vec<String>| identity_proto::v1::CreateGroupRequest {
        tenant_id: app.tenant_id.clone(),
        group: Some(identity_proto::v1::Group {
            display_name: name.into(),
            ..Default::default()
        }),
        member_user_ids: members,
    };
    let staffed = groups
        .create_group(internal("Staffed", vec![member.clone()]))
        .await
        .unwrap()
        .into_inner();
    let empty = groups
        .create_group(internal("Empty", vec![]))
        .await
        .unwrap()
        .into_inner();

    let listed = app.get("/Groups?startIndex=1&count=100").await;
    let names: Vec<&str> = listed.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| group["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Empty"], "{:#}", listed.body);
    assert_eq!(listed.body["totalResults"], json!(1));
    let lookup = app
        .get(&format!(
            "/Groups?filter={}",
            query(r#"displayName eq "staffed""#)
        ))
        .await;
    assert_eq!(lookup.body["totalResults"], json!(0));
    app.get(&format!("/Groups/{}", staffed.id))
        .await
        .assert_error(404, None);
    let refused = app
        .patch(
            &format!("/Groups/{}", staffed.id),
            patch_op(json!([{"op": "replace", "path": "displayName", "value": "Mine now"}])),
        )
        .await;
    refused.assert_error(400, Some("mutability"));
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap()
            .contains("has members")
    );
    app.delete(&format!("/Groups/{}", staffed.id))
        .await
        .assert_error(400, Some("mutability"));
    let collision = app
        .post("/Groups", json!({"displayName": "STAFFED", "members": []}))
        .await;
    collision.assert_error(409, Some("uniqueness"));
    assert!(
        collision.body["detail"]
            .as_str()
            .unwrap()
            .contains("cannot link")
    );
    let kept = groups
        .get_group(identity_proto::v1::GetGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: staffed.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (kept.display_name.as_str(), kept.version),
        ("Staffed", 1),
        "nothing changed"
    );

    // The empty one is linked by Okta's first write: renamed and now SCIM-managed.
    let linked = app
        .patch(
            &format!("/Groups/{}", empty.id),
            patch_op(json!([
                {"op": "replace", "value": {"id": empty.id, "displayName": "Empty (Okta)"}},
                {"op": "add", "path": "members", "value": [{"value": member}]}
            ])),
        )
        .await;
    assert_eq!(linked.status, StatusCode::NO_CONTENT, "{:#}", linked.body);
    let now = groups
        .get_group(identity_proto::v1::GetGroupRequest {
            tenant_id: app.tenant_id.clone(),
            id: empty.id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.display_name, "Empty (Okta)");
    assert_eq!(now.managed_by(), identity_proto::v1::ManagedBy::Scim);
    // Now SCIM's, with members, it stays visible.
    assert_eq!(app.member_ids(&empty.id).await, vec![member]);
}

/// A group of more members than the service returns per call: the answer streams them all, in
/// one valid document with its ETag, and a projection applies to every member.
#[tokio::test]
async fn a_large_group_is_answered_whole() {
    use identity_proto::v1 as pb;

    let app = spawn_app().await;
    let mut ids = Vec::new();
    for batch in 0..3 {
        let users = (0..1000)
            .map(|n| pb::User {
                user_name: format!("member-{batch}-{n}@example.com"),
                active: true,
                ..pb::User::default()
            })
            .collect();
        let imported = app
            .users()
            .import_users(pb::ImportUsersRequest {
                tenant_id: app.tenant_id.clone(),
                users,
            })
            .await
            .expect("import")
            .into_inner();
        ids.extend(imported.ids);
    }
    let group = app
        .post(
            "/Groups",
            json!({"schemas": [GROUP_SCHEMA], "displayName": "Everyone"}),
        )
        .await;
    let group_path = format!("/Groups/{}", id_of(&group.body));
    for chunk in ids.chunks(100).take(25) {
        let members: Vec<Value> = chunk.iter().map(|id| json!({"value": id})).collect();
        let answer = app
            .patch(
                &group_path,
                patch_op(json!([{"op": "add", "path": "members", "value": members}])),
            )
            .await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT);
    }

    let whole = app.get(&group_path).await;
    assert_eq!(whole.status, StatusCode::OK);
    assert!(whole.header("etag").is_some());
    let members = whole.body["members"].as_array().expect("members");
    assert_eq!(members.len(), 2500);
    let mut listed: Vec<&str> = members
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    listed.sort_unstable();
    let mut expected: Vec<&str> = ids[..2500].iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(listed, expected);
    assert_eq!(members[0]["type"], json!("User"));
    assert!(
        members[0]["$ref"]
            .as_str()
            .unwrap()
            .ends_with(members[0]["value"].as_str().unwrap())
    );
    assert_eq!(whole.body["displayName"], json!("Everyone"));
    assert!(whole.body["meta"]["version"].is_string());

    let values = app
        .get(&format!("{group_path}?attributes=members.value"))
        .await;
    let members = values.body["members"].as_array().expect("members");
    assert_eq!(members.len(), 2500);
    assert_eq!(
        members[0].as_object().map(|m| m.len()),
        Some(1),
        "{}",
        members[0]
    );
    assert!(values.body.get("displayName").is_none());
    let lean = app
        .get(&format!("{group_path}?excludedAttributes=members"))
        .await;
    assert!(lean.body.get("members").is_none());
    assert_eq!(lean.body["displayName"], json!("Everyone"));

    // In a list too, beside a group without members, in one valid ListResponse.
    app.post(
        "/Groups",
        json!({"schemas": [GROUP_SCHEMA], "displayName": "Nobody"}),
    )
    .await;
    let listed = app.get("/Groups?startIndex=1&count=10").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.body["totalResults"], json!(2));
    assert_eq!(listed.body["itemsPerPage"], json!(2));
    let resources = listed.body["Resources"].as_array().expect("resources");
    let members = |name: &str| {
        resources
            .iter()
            .find(|group| group["displayName"] == json!(name))
            .and_then(|group| group["members"].as_array())
            .map(Vec::len)
    };
    assert_eq!(members("Everyone"), Some(2500));
    assert_eq!(members("Nobody"), Some(0));
    let found = app
        .get(&format!(
            "/Groups?filter={}&excludedAttributes=members",
            query("displayName eq \"everyone\"")
        ))
        .await;
    assert_eq!(found.body["itemsPerPage"], json!(1));
    assert!(found.body["Resources"][0].get("members").is_none());
}

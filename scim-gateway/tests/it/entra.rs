//! Microsoft Entra ID's variants of the same flows.

use reqwest::StatusCode;
use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn entra_user_provisioning() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/Users",
            json!({
                "schemas": [USER_SCHEMA, ENTERPRISE],
                "externalId": "entra-object-1",
                "userName": "Jo@Contoso.com",
                "active": "True",
                "displayName": "Jo",
                "emails": [{"Primary": true, "type": "work", "value": "jo@contoso.com"},
                           {"primary": false, "type": "home", "value": "jo@home.example"}],
                "name": {"FamilyName": "Doe", "givenName": "Jo"},
                ENTERPRISE: {"department": "Sales", "manager": {"value": "m-1"}}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    assert_eq!(created.body["active"], json!(true), "\"True\" is a boolean");
    assert_eq!(
        created.body["name"]["familyName"],
        json!("Doe"),
        "names are case-insensitive"
    );
    let id = id_of(&created.body);
    let path = format!("/Users/{id}");

    // Matching by externalId, and by the work email's value path.
    let by_external = app
        .get(&format!(
            "/Users?filter={}",
            query(r#"externalId eq "entra-object-1""#)
        ))
        .await;
    assert_eq!(by_external.body["totalResults"], json!(1));
    let by_other_case = app
        .get(&format!(
            "/Users?filter={}",
            query(r#"externalId eq "ENTRA-OBJECT-1""#)
        ))
        .await;
    assert_eq!(
        by_other_case.body["totalResults"],
        json!(0),
        "externalId is caseExact"
    );
    let by_work_email = app
        .get(&format!(
            "/Users?filter={}",
            query(r#"emails[type eq "work"].value eq "JO@contoso.com""#)
        ))
        .await;
    assert_eq!(
        by_work_email.body["totalResults"],
        json!(1),
        "{:#}",
        by_work_email.body
    );
    let home_as_work = app
        .get(&format!(
            "/Users?filter={}",
            query(r#"emails[type eq "work"].value eq "jo@home.example""#)
        ))
        .await;
    assert_eq!(
        home_as_work.body["totalResults"],
        json!(0),
        "the type is part of the match"
    );

    // Title-case ops, "False" strings, dotted keys in value objects.
    let answer = app
        .patch(
            &path,
            patch_op(json!([
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "value": {"name.givenName": "Joanna", "title": "Lead"}},
                {"op": "Replace", "value": {format!("{ENTERPRISE}:department"): "Marketing"}}
            ])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{:#}", answer.body);
    assert_eq!(answer.body["active"], json!(false));
    assert_eq!(answer.body["name"]["givenName"], json!("Joanna"));
    assert_eq!(answer.body["name"]["familyName"], json!("Doe"));
    assert_eq!(answer.body["title"], json!("Lead"));
    assert_eq!(answer.body[ENTERPRISE]["department"], json!("Marketing"));
    assert_eq!(answer.body[ENTERPRISE]["manager"], json!({"value": "m-1"}));

    // Hard delete.
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get(&path).await.assert_error(404, None);
    let gone = app
        .get(&format!(
            "/Users?filter={}",
            query(r#"externalId eq "entra-object-1""#)
        ))
        .await;
    assert_eq!(gone.body["totalResults"], json!(0));
    app.delete(&path).await.assert_error(404, None);
}

#[tokio::test]
async fn entra_group_membership() {
    let app = spawn_app().await;
    let u1 = id_of(&app.create_user("a@contoso.com").await);
    let u2 = id_of(&app.create_user("b@contoso.com").await);
    let u3 = id_of(&app.create_user("c@contoso.com").await);
    let group = app.create_group("Contoso Sales").await;
    let group_id = id_of(&group);
    let group_path = format!("/Groups/{group_id}");
    let answer = app
        .patch(
            &group_path,
            json!({"schemas": [PATCH_OP], "operations": [
                {"op": "Add", "path": "members", "value": [{"value": u1}, {"value": u2}, {"value": u3}]}
            ]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:#}", answer.body);

    // Entra's membership check.
    let check = |user: &str| {
        format!(
            "/Groups?excludedAttributes=members&filter={}",
            query(&format!(r#"id eq "{group_id}" and members eq "{user}""#))
        )
    };
    let found = app.get(&check(&u1)).await;
    assert_eq!(found.body["totalResults"], json!(1), "{:#}", found.body);
    assert!(found.body["Resources"][0].get("members").is_none());
    assert_eq!(
        found.body["Resources"][0]["displayName"],
        json!("Contoso Sales")
    );

    // The legacy remove with a value list removes only those.
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([{"op": "Remove", "path": "members", "value": [{"value": u1}]}])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{:#}", answer.body);
    assert_eq!(app.get(&check(&u1)).await.body["totalResults"], json!(0));
    let mut rest = vec![u2.clone(), u3.clone()];
    rest.sort();
    assert_eq!(app.member_ids(&group_id).await, rest);

    // GET with excludedAttributes=members.
    let read = app
        .get(&format!("{group_path}?excludedAttributes=members"))
        .await;
    assert!(read.body.get("members").is_none());
    assert_eq!(read.body["displayName"], json!("Contoso Sales"));

    // remove members with no value removes everyone.
    let answer = app
        .patch(
            &group_path,
            patch_op(json!([{"op": "remove", "path": "members"}])),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert!(app.member_ids(&group_id).await.is_empty());
}

//! ServiceProviderConfig, ResourceTypes and Schemas: truthful, GET only, no credentials needed.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::*;

#[tokio::test]
async fn discovery_endpoints() {
    let app = spawn_app().await;
    let anonymous = |path: &'static str| {
        let app = &app;
        async move {
            let answer = app
                .call_with(Method::GET, path, None, |request| request)
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {:#}", answer.body);
            assert_eq!(answer.header("content-type"), Some("application/scim+json"));
            answer.body
        }
    };

    let config = anonymous("/ServiceProviderConfig?count=5").await;
    assert_eq!(config["patch"]["supported"], json!(true));
    assert_eq!(config["bulk"]["supported"], json!(false));
    assert_eq!(config["etag"]["supported"], json!(true));
    assert_eq!(config["sort"]["supported"], json!(false));
    assert_eq!(config["changePassword"]["supported"], json!(false));
    assert!(config["filter"]["maxResults"].as_i64().unwrap() >= 100);
    assert_eq!(
        config["authenticationSchemes"][0]["type"],
        json!("oauthbearertoken")
    );
    assert_eq!(
        config["meta"]["location"],
        json!(format!("{}/ServiceProviderConfig", app.base))
    );

    let types = anonymous("/ResourceTypes").await;
    assert_eq!(types["totalResults"], json!(2));
    assert_eq!(types["Resources"][0]["name"], json!("User"), "User first");
    assert_eq!(
        types["Resources"][0]["schemaExtensions"][0]["schema"],
        json!(ENTERPRISE)
    );
    assert_eq!(types["Resources"][1]["name"], json!("Group"));
    assert_eq!(
        anonymous("/ResourceTypes/Group").await["endpoint"],
        json!("/Groups")
    );

    let schemas = anonymous("/Schemas").await;
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|schema| schema["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER_SCHEMA, ENTERPRISE, GROUP_SCHEMA]);
    let user_schema = anonymous("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User").await;
    let names: Vec<&str> = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attribute| attribute["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"userName") && names.contains(&"emails") && names.contains(&"addresses")
    );
    let password = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|attribute| attribute["name"] == "password")
        .unwrap();
    assert_eq!(password["mutability"], json!("writeOnly"));
    assert_eq!(password["returned"], json!("never"));
    assert!(names.contains(&"groups") && names.contains(&"x509Certificates"));
    let user_name = &user_schema["attributes"][0];
    assert_eq!(user_name["uniqueness"], json!("server"));
    assert_eq!(user_name["caseExact"], json!(false));

    for path in [
        "/ResourceTypes/Widget",
        "/Schemas/urn:nope",
        "/ServiceProviderConfig/x",
    ] {
        app.get(path).await.assert_error(404, None);
    }
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        app.call(method, "/ServiceProviderConfig", Some(json!({})))
            .await
            .assert_error(405, None);
    }
    app.call(Method::DELETE, "/Schemas", None)
        .await
        .assert_error(405, None);
}

/// Every attribute `/Schemas` advertises round-trips through create and GET.
#[tokio::test]
async fn every_advertised_user_attribute_round_trips() {
    let app = spawn_app().await;
    let user = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "userName": "full@example.com",
        "externalId": "ext-full",
        "name": {"formatted": "Dr. Full M. User III", "familyName": "User", "givenName": "Full",
                 "middleName": "M.", "honorificPrefix": "Dr.", "honorificSuffix": "III"},
        "displayName": "Full User",
        "nickName": "Fully",
        "profileUrl": "https://example.com/full",
        "title": "Tester",
        "userType": "Employee",
        "preferredLanguage": "en-GB",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "active": true,
        "emails": [{"value": "full@example.com", "display": "Work", "type": "work", "primary": true}],
        "phoneNumbers": [{"value": "+44 20 0000 0000", "display": "Desk", "type": "work", "primary": true}],
        "ims": [{"value": "full", "display": "IM", "type": "xmpp", "primary": false}],
        "photos": [{"value": "https://example.com/full.png", "display": "Photo", "type": "photo", "primary": true}],
        "addresses": [{"formatted": "1 Street", "streetAddress": "1 Street", "locality": "London",
                       "region": "LDN", "postalCode": "N1", "country": "GB", "type": "work", "primary": true}],
        "entitlements": [{"value": "admin", "display": "Admin", "type": "app", "primary": false}],
        "roles": [{"value": "owner", "display": "Owner", "type": "app", "primary": true}],
        "x509Certificates": [{"value": "MIIBszCCAVmgAwIBAgIU", "display": "Cert", "type": "work", "primary": true}],
        ENTERPRISE: {"employeeNumber": "42", "costCenter": "CC", "organization": "Org",
                     "division": "Div", "department": "Dept",
                     "manager": {"value": "m-1", "$ref": "https://example.com/Users/m-1", "displayName": "Boss"}}
    });
    let created = app.post("/Users", user.clone()).await;
    assert_eq!(created.status, StatusCode::CREATED, "{:#}", created.body);
    let read = app
        .get(&format!("/Users/{}", id_of(&created.body)))
        .await
        .body;
    let Value::Object(sent) = user else {
        unreachable!()
    };
    for (key, value) in sent {
        assert_eq!(read[&key], value, "{key} round-trips");
    }
}

//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4): what this gateway
//! really does, readable without credentials, query parameters ignored, GET only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use serde_json::{Value, json};

use crate::client::Identity;
use crate::extract::MAX_COUNT;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::render::{self, scim_json};
use crate::scim::schema::{self, ALL_SCHEMAS, GROUP_TYPE, USER_TYPE};

type Shared = State<Arc<Identity>>;

fn ok(body: &Value) -> Response {
    scim_json(StatusCode::OK, body)
}

pub(crate) async fn provider_config(State(identity): Shared) -> Response {
    ok(&service_provider_config(identity.base_url()))
}

pub(crate) async fn resource_types(State(identity): Shared) -> Response {
    let types: Vec<Value> = [USER_TYPE, GROUP_TYPE]
        .iter()
        .map(|resource_type| schema::render_resource_type(resource_type, identity.base_url()))
        .collect();
    render::list(2, 1, &types)
}

pub(crate) async fn resource_type(
    State(identity): Shared,
    Path(name): Path<String>,
) -> ScimResult<Response> {
    let resource_type = [USER_TYPE, GROUP_TYPE]
        .into_iter()
        .find(|resource_type| resource_type.name.eq_ignore_ascii_case(&name))
        .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")))?;
    Ok(ok(&schema::render_resource_type(
        &resource_type,
        identity.base_url(),
    )))
}

pub(crate) async fn schemas(State(identity): Shared) -> Response {
    let schemas: Vec<Value> = ALL_SCHEMAS
        .iter()
        .map(|schema| schema::render_schema(schema, identity.base_url()))
        .collect();
    render::list(3, 1, &schemas)
}

pub(crate) async fn one_schema(
    State(identity): Shared,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    let schema = ALL_SCHEMAS
        .iter()
        .find(|schema| schema.id.eq_ignore_ascii_case(&id))
        .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))?;
    Ok(ok(&schema::render_schema(schema, identity.base_url())))
}

fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://datatracker.ietf.org/doc/html/rfc7644",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "OAuth Bearer Token",
            "description": "A SCIM API key of the tenant: 'Authorization: Bearer <key>' (the bare key is accepted too)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{base}/ServiceProviderConfig"),
        },
    })
}

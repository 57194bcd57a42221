//! `/ServiceProviderConfig`, `/ResourceTypes`, `/Schemas` (RFC 7644 §4): what this gateway
//! really does, readable without credentials, query parameters ignored, GET only.

use axum::response::Response;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Input, MAX_COUNT, list_response};
use crate::error::{ScimError, ScimResult};
use crate::response::scim_json;
use crate::schema::{self, ALL_SCHEMAS, GROUP_TYPE, USER_TYPE};
use crate::server::Gateway;

pub fn route(gateway: &Gateway, input: &Input) -> ScimResult<Response> {
    if input.method != Method::GET {
        return Err(ScimError::method_not_allowed());
    }
    let base = gateway.base_url();
    let body = match (
        input.segments[0].to_ascii_lowercase().as_str(),
        input.segments.get(1..),
    ) {
        ("serviceproviderconfig", Some([])) => service_provider_config(base),
        ("resourcetypes", Some([])) => {
            let types = [USER_TYPE, GROUP_TYPE]
                .iter()
                .map(|resource_type| schema::render_resource_type(resource_type, base))
                .collect();
            list_response(2, 1, types)
        }
        ("resourcetypes", Some([name])) => {
            let resource_type = [USER_TYPE, GROUP_TYPE]
                .into_iter()
                .find(|resource_type| resource_type.name.eq_ignore_ascii_case(name))
                .ok_or_else(|| ScimError::not_found(format!("no resource type {name:?}")))?;
            schema::render_resource_type(&resource_type, base)
        }
        ("schemas", Some([])) => {
            let schemas: Vec<Value> = ALL_SCHEMAS
                .iter()
                .map(|schema| schema::render_schema(schema, base))
                .collect();
            list_response(3, 1, schemas)
        }
        ("schemas", Some([id])) => {
            let schema = ALL_SCHEMAS
                .iter()
                .find(|schema| schema.id.eq_ignore_ascii_case(id))
                .ok_or_else(|| ScimError::not_found(format!("no schema {id:?}")))?;
            schema::render_schema(schema, base)
        }
        _ => return Err(ScimError::not_found("no such discovery resource")),
    };
    Ok(scim_json(StatusCode::OK, &body))
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

//! The HTTP application: SCIM's routes under the base path, all declared here, inside one
//! stack of tower layers (request id, access log, SCIM error bodies, header limits, timeout,
//! body limit, credentials). Paths are matched leniently first, as SCIM clients send them:
//! resource names in any case, trailing or doubled slashes.

mod layers;
mod limit;

pub(crate) use layers::{IssueRequestId, REQUEST_ID, log_response, route_span};
pub(crate) use limit::KeyLimiter;
pub use limit::RateLimit;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::Request;
use axum::response::Response;
use axum::routing::{any, get, post};
use http::{StatusCode, Uri};
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnFailure, TraceLayer};
use tracing::Level;

use crate::client::Identity;
use crate::report::Reporter;
use crate::scim::error::{ScimError, ScimResult};
use crate::{discovery, groups, users};

/// How the layers around the routes are set.
pub(crate) struct Layers {
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// Count requests in the metrics.
    pub metrics: bool,
    pub limiter: Option<Arc<KeyLimiter>>,
    /// Queue each request's outcome for the provisioning log.
    pub reporter: Option<Reporter>,
}

/// The application: every request's path made canonical, then routed.
pub(crate) fn app(
    identity: Arc<Identity>,
    base_path: String,
    layers: Layers,
) -> impl tower::Service<
    Request,
    Response = Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    // Declared under the base path itself (not nested): a nested router would rewrite every
    // request's URI.
    let at = |path: &str| format!("{base_path}{path}");
    let routes = Router::new()
        .route(&at("/Users"), get(users::list).post(users::create))
        .route(&at("/Users/.search"), post(users::search))
        .route(
            &at("/Users/{id}"),
            get(users::read)
                .put(users::replace)
                .patch(users::modify)
                .delete(users::delete),
        )
        .route(&at("/Groups"), get(groups::list).post(groups::create))
        .route(&at("/Groups/.search"), post(groups::search))
        .route(
            &at("/Groups/{id}"),
            get(groups::read)
                .put(groups::replace)
                .patch(groups::modify)
                .delete(groups::delete),
        )
        .route(
            &at("/ServiceProviderConfig"),
            get(discovery::provider_config),
        )
        .route(&at("/ResourceTypes"), get(discovery::resource_types))
        .route(&at("/ResourceTypes/{name}"), get(discovery::resource_type))
        .route(&at("/Schemas"), get(discovery::schemas))
        .route(&at("/Schemas/{id}"), get(discovery::one_schema))
        .route(&at("/.search"), any(search_everything));
    let Layers {
        body_limit,
        request_timeout,
        metrics,
        limiter,
        reporter,
    } = layers;
    let base = base_path;
    let fallback_base = base.clone();
    let router = routes
        .fallback(move |uri: Uri| nothing_here(fallback_base.clone(), uri))
        .with_state(identity)
        .layer(
            ServiceBuilder::new()
                .map_request(layers::drop_unusable_request_id)
                .layer(SetRequestIdLayer::new(
                    layers::REQUEST_ID.clone(),
                    layers::IssueRequestId,
                ))
                .layer(PropagateRequestIdLayer::new(layers::REQUEST_ID.clone()))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(layers::span)
                        .on_response(layers::log_response)
                        .on_failure(DefaultOnFailure::new().level(Level::WARN)),
                )
                .option_layer(layers::ObserveLayer::new(metrics, reporter))
                .map_response(move |response| layers::scim_errors(response, body_limit))
                .layer(HandleErrorLayer::new(layers::refused))
                .filter(layers::check_headers)
                .option_layer(limiter.map(|limiter| {
                    tower::filter::FilterLayer::new(move |request| limiter.check(request))
                }))
                .map_request(layers::credentials)
                .timeout(request_timeout)
                .layer(tower_http::limit::RequestBodyLimitLayer::new(body_limit)),
        );
    ServiceBuilder::new()
        .map_request(move |request: Request| canonical(request, &base))
        .service(router)
}

/// `POST /.search` over every resource type (RFC 7644 §3.4.3), which this gateway does not do.
async fn search_everything() -> ScimResult<Response> {
    Err(ScimError::new(
        StatusCode::NOT_IMPLEMENTED,
        None,
        "searching several resource types at once is not supported; use /Users/.search or /Groups/.search",
    ))
}

async fn nothing_here(base_path: String, uri: Uri) -> ScimError {
    let path = uri.path();
    match crate::scim::schema::strip_prefix_ignore_case(path, &base_path) {
        Some(rest) if rest.trim_matches('/').is_empty() => {
            ScimError::not_found("no resource at this path; try /Users or /Groups")
        }
        Some(rest) if rest.starts_with('/') => {
            ScimError::not_found(format!("no resource at {rest}"))
        }
        _ => ScimError::not_found(format!("nothing at {path}; the SCIM API is at {base_path}")),
    }
}

/// Endpoint names as routed; clients send them in any case.
const ENDPOINTS: &[&str] = &[
    "Users",
    "Groups",
    "ServiceProviderConfig",
    "ResourceTypes",
    "Schemas",
    ".search",
];

/// The request with its path as routed: the base path and endpoint names in their canonical
/// case, empty segments dropped. Paths outside the base path are left alone, and so are paths
/// already canonical (what Okta and Entra send), without an allocation.
fn canonical(mut request: Request, base_path: &str) -> Request {
    let uri = request.uri();
    let Some(rest) = crate::scim::schema::strip_prefix_ignore_case(uri.path(), base_path)
        .filter(|rest| rest.is_empty() || rest.starts_with('/'))
    else {
        return request;
    };
    let endpoint = |index: usize, segment: &str| {
        ENDPOINTS
            .iter()
            .copied()
            .find(|name| index < 2 && name.eq_ignore_ascii_case(segment))
    };
    let already =
        uri.path().starts_with(base_path)
            && (rest.is_empty() || (!rest.ends_with('/') && !rest.contains("//")))
            && rest.split('/').skip(1).enumerate().all(|(index, segment)| {
                endpoint(index, segment).is_none_or(|name| name == segment)
            });
    if already {
        return request;
    }
    let mut path = base_path.to_owned();
    for (index, segment) in rest.split('/').filter(|s| !s.is_empty()).enumerate() {
        path.push('/');
        path.push_str(endpoint(index, segment).unwrap_or(segment));
    }
    if path.is_empty() {
        path.push('/');
    }
    if let Some(query) = uri.query() {
        path.push('?');
        path.push_str(query);
    }
    if let Ok(canonical) = path.parse::<Uri>() {
        *request.uri_mut() = canonical;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routed(path: &str) -> String {
        let request = Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap_or_default();
        canonical(request, "/scim/v2").uri().to_string()
    }

    #[test]
    fn paths_are_routed_as_clients_mean_them() {
        for (sent, routed_as) in [
            ("/scim/v2/Users/abc", "/scim/v2/Users/abc"),
            ("/SCIM/v2/users/abc/", "/scim/v2/Users/abc"),
            ("/scim/v2//groups/.SEARCH", "/scim/v2/Groups/.search"),
            ("/scim/v2/Users?filter=x", "/scim/v2/Users?filter=x"),
            ("/scim/v2/users?filter=x", "/scim/v2/Users?filter=x"),
            ("/scim/v2/", "/scim/v2"),
            ("/other/Users", "/other/Users"),
        ] {
            assert_eq!(routed(sent), routed_as, "{sent}");
        }
    }
}

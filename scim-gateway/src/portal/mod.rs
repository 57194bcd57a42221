//! The admin portal: pages under `/portal` where a tenant's admin sets up provisioning on their
//! own, reached through a one-time link the product's backend makes (`Portal/CreatePortalLink`).
//! Following it starts a browser session the identity service validates on every request, so
//! the gateway stays stateless; everything done here is decided by the permission model as that
//! admin. Server-rendered HTML, with one small script (copy buttons) under a
//! Content-Security-Policy that allows nothing inline and nothing from elsewhere.

mod activity;
mod directory;
mod html;
mod pages;
mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tonic::Code;
use tower::ServiceBuilder;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

use crate::client::{Call, Credentials, Identity};
use crate::http::{IssueRequestId, KeyLimiter, REQUEST_ID, log_response, route_span};
use crate::listen::ClientAddr;
use html::{Alert, escape};
use session::SignedForm;

/// What the portal's handlers share.
#[derive(Clone)]
pub(crate) struct Portal {
    identity: Arc<Identity>,
    limiter: Option<Arc<KeyLimiter>>,
    /// Set the cookie `Secure`: the portal is reached over TLS (here, or at a proxy).
    secure: bool,
}

/// Why a portal request was not served as asked.
#[derive(Debug)]
pub(crate) enum PortalError {
    /// No session, or one that ended: sign in again through a new link.
    SignedOut,
    /// A link that is not one, or was used, or expired.
    LinkUnusable,
    /// A state-changing form without this session's CSRF token.
    Csrf,
    Forbidden(String),
    Invalid(String),
    Conflict(String),
    NotFound(String),
    /// A form larger than any of the portal's.
    TooLarge,
    TooMany(u32),
    Unavailable,
    Internal,
}

impl From<tonic::Status> for PortalError {
    fn from(status: tonic::Status) -> Self {
        let message = status.message().to_owned();
        match status.code() {
            Code::Unauthenticated => PortalError::SignedOut,
            Code::PermissionDenied => PortalError::Forbidden(message),
            Code::InvalidArgument | Code::OutOfRange => PortalError::Invalid(message),
            Code::AlreadyExists | Code::FailedPrecondition | Code::Aborted => {
                PortalError::Conflict(message)
            }
            Code::NotFound => PortalError::NotFound(message),
            Code::ResourceExhausted => PortalError::TooMany(1),
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled => {
                PortalError::Unavailable
            }
            _ => {
                tracing::warn!(code = ?status.code(), message, "the identity service failed a portal call");
                PortalError::Internal
            }
        }
    }
}

impl PortalError {
    /// A refusal an admin can act on, shown above the page they were on.
    fn as_alert(&self) -> Option<(StatusCode, Alert)> {
        let (status, message) = match self {
            PortalError::Forbidden(message) => (StatusCode::FORBIDDEN, message),
            PortalError::Invalid(message) => (StatusCode::BAD_REQUEST, message),
            PortalError::Conflict(message) => (StatusCode::CONFLICT, message),
            PortalError::NotFound(message) => (StatusCode::NOT_FOUND, message),
            _ => return None,
        };
        Some((status, Alert::Error(capitalised(message))))
    }
}

impl IntoResponse for PortalError {
    fn into_response(self) -> Response {
        let (status, title, text) = match &self {
            PortalError::SignedOut => {
                let body = html::page(
                    None,
                    "Your session has ended",
                    None,
                    None,
                    "<p>Portal sessions last an hour, end when you sign out, and end when your \
                     account is no longer an active admin of the team.</p>\
                     <p>To continue, open the admin portal again from your product's settings: \
                     it gives you a new link.</p>",
                );
                let mut response = (StatusCode::UNAUTHORIZED, page_headers(), body).into_response();
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, session::clear_cookie());
                return response;
            }
            PortalError::LinkUnusable => (
                StatusCode::UNAUTHORIZED,
                "This link cannot be used",
                "Admin portal links work once and expire (after an hour unless your product \
                 chose otherwise). This one has been used or has expired. Open the admin portal \
                 again from your product's settings to get a new link."
                    .to_owned(),
            ),
            PortalError::Csrf => (
                StatusCode::FORBIDDEN,
                "The form has expired",
                "The form was sent without this session's security token (or from another \
                 page). Nothing was changed. Go back, reload the page and try again."
                    .to_owned(),
            ),
            PortalError::TooMany(seconds) => {
                let body = html::page(
                    None,
                    "Too many requests",
                    None,
                    None,
                    &format!(
                        "<p>Slow down: try again in {seconds} second{}.</p>",
                        if *seconds == 1 { "" } else { "s" }
                    ),
                );
                let mut response =
                    (StatusCode::TOO_MANY_REQUESTS, page_headers(), body).into_response();
                if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            PortalError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form sent was larger than any of the portal's forms. Nothing was changed."
                    .to_owned(),
            ),
            PortalError::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Temporarily unavailable",
                "The identity service cannot be reached just now. Try again in a moment."
                    .to_owned(),
            ),
            PortalError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "This page could not be shown. Try again; if it keeps failing, contact support."
                    .to_owned(),
            ),
            PortalError::Forbidden(message) => {
                (StatusCode::FORBIDDEN, "Not allowed", capitalised(message))
            }
            PortalError::Invalid(message) => (
                StatusCode::BAD_REQUEST,
                "Not accepted",
                capitalised(message),
            ),
            PortalError::Conflict(message) => (
                StatusCode::CONFLICT,
                "Not possible now",
                capitalised(message),
            ),
            PortalError::NotFound(message) => {
                (StatusCode::NOT_FOUND, "Not found", capitalised(message))
            }
        };
        let body = html::page(
            None,
            title,
            None,
            None,
            &format!(
                "<p>{}</p><p><a href=\"/portal/\">Back to the portal</a></p>",
                escape(&text)
            ),
        );
        (status, page_headers(), body).into_response()
    }
}

fn capitalised(message: &str) -> String {
    let mut chars = message.chars();
    chars.next().map_or_else(String::new, |first| {
        first.to_uppercase().chain(chars).collect()
    })
}

/// Headers of every page: never cached (pages show keys and people), never framed.
fn page_headers() -> [(header::HeaderName, &'static str); 2] {
    [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
    ]
}

/// A page's answer.
pub(crate) type PortalResult = Result<Response, PortalError>;

fn html_response(status: StatusCode, body: String) -> Response {
    (status, page_headers(), body).into_response()
}

/// `303 See Other` to `location` (after a form: reloading does not send it again).
fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| {
            i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
        })
}

/// The request id the request-id layer gave this request.
fn request_id(headers: &HeaderMap) -> &str {
    headers
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
}

impl Portal {
    /// Counts a request against the rate of its session's cookie (or, without one, of the
    /// client's address).
    fn admit(&self, headers: &HeaderMap, client: Option<&ClientAddr>) -> Result<(), PortalError> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        let address = client.map(|ClientAddr(client)| client.ip().to_string());
        let key = session::cookie_secret(headers).or(address.as_deref());
        limiter
            .admit(key.map(str::as_bytes))
            .map_err(PortalError::TooMany)
    }
}

/// `GET /portal/link/{token}`: uses the link (once), sets the session's cookie, and moves on to
/// the portal by a same-site navigation (a redirect straight from another site's link would
/// not carry a SameSite=Strict cookie to the next page).
async fn follow_link(
    State(portal): State<Portal>,
    ConnectInfo(client): ConnectInfo<ClientAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> PortalResult {
    portal.admit(&headers, Some(&client))?;
    if !session::is_link_token(&token) {
        return Err(PortalError::LinkUnusable);
    }
    let call = Call::new(
        Arc::clone(&portal.identity),
        Credentials::new(None, request_id(&headers)),
    );
    let redeemed = call
        .portal()
        .redeem_portal_link(call.request(identity_proto::v1::RedeemPortalLinkRequest { token }))
        .await
        .map_err(|status| match status.code() {
            Code::Unauthenticated => PortalError::LinkUnusable,
            _ => PortalError::from(status),
        })?
        .into_inner();
    let expires = redeemed
        .session
        .as_ref()
        .and_then(|session| session.expire_time.as_ref())
        .map_or(0, |expires| expires.seconds - now_seconds());
    let cookie = session::set_cookie(&redeemed.secret, expires, portal.secure)
        .ok_or(PortalError::Internal)?;
    let mut response = html_response(StatusCode::OK, html::forward_page("/portal/"));
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(response)
}

/// `POST /portal/signout`.
async fn sign_out(SignedForm { session, .. }: SignedForm) -> PortalResult {
    session
        .call
        .portal()
        .end_portal_session(session.call.request(()))
        .await?;
    let mut response = html_response(
        StatusCode::OK,
        html::page(
            None,
            "You are signed out",
            None,
            None,
            "<p>To come back, open the admin portal again from your product's settings.</p>",
        ),
    );
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie());
    Ok(response)
}

async fn not_found() -> PortalError {
    PortalError::NotFound("there is no portal page at this address".into())
}

const STYLESHEET: &str = include_str!("assets/portal.css");
const SCRIPT: &str = include_str!("assets/portal.js");

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
}

async fn script() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        SCRIPT,
    )
}

/// Scripts and styles only from this origin, none inline; forms post only here; never framed.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; \
     base-uri 'none'";

/// The portal's routes under `/portal`, with their own layers: request ids, an access log that
/// names routes (never a link's token), security headers, a body limit and a timeout.
pub(crate) fn router(
    identity: Arc<Identity>,
    limiter: Option<Arc<KeyLimiter>>,
    secure: bool,
    request_timeout: Duration,
) -> Router {
    let portal = Portal {
        identity,
        limiter,
        secure,
    };
    let security_header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    Router::new()
        .route("/portal", get(|| async { see_other("/portal/") }))
        .route(
            "/portal/",
            get(pages::provisioning).post(pages::switch_scim),
        )
        .route("/portal/keys", post(pages::generate_key))
        .route("/portal/keys/{id}/rotate", post(pages::rotate_key))
        .route("/portal/keys/{id}/revoke", post(pages::revoke_key))
        .route(
            "/portal/domains",
            get(pages::domains).post(pages::change_domain),
        )
        .route("/portal/guide", get(pages::guide))
        .route("/portal/status", get(activity::status))
        .route("/portal/activity", get(activity::activity))
        .route("/portal/directory", get(directory::directory))
        .route("/portal/link/{token}", get(follow_link))
        .route("/portal/signout", post(sign_out))
        .route("/portal/static/portal.css", get(stylesheet))
        .route("/portal/static/portal.js", get(script))
        .route("/portal/{*rest}", get(not_found).post(not_found))
        .with_state(portal)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), IssueRequestId))
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(route_span)
                        .on_response(log_response),
                )
                .layer(security_header(
                    "content-security-policy",
                    CONTENT_SECURITY_POLICY,
                ))
                .layer(security_header("x-content-type-options", "nosniff"))
                .layer(security_header("x-frame-options", "DENY"))
                .layer(security_header("referrer-policy", "no-referrer"))
                .layer(tower_http::timeout::TimeoutLayer::with_status_code(
                    StatusCode::SERVICE_UNAVAILABLE,
                    request_timeout,
                )),
        )
}

//! The browser side of a portal session: the cookie that carries its secret (HttpOnly,
//! SameSite=Strict, Secure over TLS), the CSRF token derived from that secret, and the session
//! as the identity service knows it — asked on every request, so that any gateway replica
//! serves any page and an ended session stops at once.

use http::{HeaderMap, HeaderValue, header};
use identity_proto::secret;
use identity_proto::v1 as pb;
use subtle::ConstantTimeEq as _;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use http::request::Parts;

use super::{Portal, PortalError, request_id};
use crate::client::{Call, Credentials};
use crate::listen::ClientAddr;

/// The largest form accepted.
const BODY_LIMIT: usize = 16 * 1024;

/// The cookie's name. (`__Host-` would need Secure, which a plain-HTTP quick start cannot set.)
pub(crate) const COOKIE: &str = "portal_session";
/// Whether a link's last segment could be a link token (anything else is refused unasked).
pub(crate) fn is_link_token(token: &str) -> bool {
    secret::has_format(token, secret::PORTAL_LINK_PREFIX)
}

/// The session secret the request's cookie carries, if it has one of the right shape.
pub(crate) fn cookie_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|value| secret::has_format(value, secret::PORTAL_SESSION_PREFIX))
}

/// `Set-Cookie` for a session that lasts `max_age` seconds.
pub(crate) fn set_cookie(secret: &str, max_age: i64, secure: bool) -> Option<HeaderValue> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}={secret}; Path=/portal; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        max_age.max(0)
    ))
    .ok()
}

/// `Set-Cookie` that removes the session's cookie (a secure origin may remove a `Secure` cookie
/// without saying `Secure`).
pub(crate) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static("portal_session=; Path=/portal; Max-Age=0; HttpOnly; SameSite=Strict")
}

/// The CSRF token of the session with `secret`: a hash of the secret under its own label, so
/// that only a page rendered for the session holds it, and no replica needs to store it.
pub(crate) fn csrf_token(secret: &str) -> String {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(b"identity portal csrf\0");
    digest.update(secret.as_bytes());
    secret::hex(&digest.finish().as_ref()[..16])
}

/// A request's form fields (`application/x-www-form-urlencoded`).
pub(crate) struct Form(Vec<(String, String)>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect(),
        )
    }

    /// The field's value, trimmed; empty when absent.
    pub(crate) fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.trim())
    }
}

/// A signed-in request: the session, who it acts as, and how to call the service as it. As an
/// extractor: the request's session, counted against the portal's rate limit.
pub(crate) struct Session {
    pub call: Call,
    pub csrf: String,
    pub tenant: pb::Tenant,
    pub admin: pb::User,
}

impl FromRequestParts<Portal> for Session {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, portal: &Portal) -> Result<Self, PortalError> {
        let client = parts.extensions.get::<ConnectInfo<ClientAddr>>();
        portal.admit(&parts.headers, client.map(|ConnectInfo(client)| client))?;
        Session::load(
            std::sync::Arc::clone(&portal.identity),
            &parts.headers,
            request_id(&parts.headers),
        )
        .await
    }
}

/// A state-changing form and the session that sent it, refused without the session's CSRF
/// token.
pub(crate) struct SignedForm {
    pub session: Session,
    pub form: Form,
}

impl FromRequest<Portal> for SignedForm {
    type Rejection = PortalError;

    async fn from_request(request: Request, portal: &Portal) -> Result<Self, PortalError> {
        let (mut parts, body) = request.into_parts();
        // Forms are a few fields: a larger body is refused (413, whoever sends it) unread.
        let body = axum::body::to_bytes(body, BODY_LIMIT)
            .await
            .map_err(|_| PortalError::TooLarge)?;
        let session = Session::from_request_parts(&mut parts, portal).await?;
        let form = Form::parse(&body);
        session.check_csrf(&form)?;
        Ok(SignedForm { session, form })
    }
}

impl Session {
    /// The session of the request's cookie, as the identity service knows it now.
    async fn load(
        identity: std::sync::Arc<crate::client::Identity>,
        headers: &HeaderMap,
        request_id: &str,
    ) -> Result<Session, PortalError> {
        let secret = cookie_secret(headers).ok_or(PortalError::SignedOut)?;
        let authorization = HeaderValue::from_str(&format!("Bearer {secret}"))
            .map_err(|_| PortalError::SignedOut)?;
        let call = Call::new(identity, Credentials::new(Some(&authorization), request_id));
        let session = call
            .portal()
            .get_portal_session(call.request(()))
            .await?
            .into_inner();
        let (mut tenants, mut users) = (call.tenants(), call.users());
        let (tenant, admin) = tokio::join!(
            tenants.get_tenant(call.request(pb::GetTenantRequest::default())),
            users.get_user(call.request(pb::GetUserRequest {
                tenant_id: String::new(),
                id: session.user_id.clone(),
            })),
        );
        Ok(Session {
            csrf: csrf_token(secret),
            tenant: tenant?.into_inner(),
            admin: admin?.into_inner(),
            call,
        })
    }

    /// Refuses a state-changing form that does not carry this session's CSRF token.
    fn check_csrf(&self, form: &Form) -> Result<(), PortalError> {
        let sent = form.get("csrf").as_bytes();
        if bool::from(sent.ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(PortalError::Csrf)
        }
    }

    /// How the admin is named in the header.
    pub(crate) fn admin_name(&self) -> &str {
        self.admin
            .display_name
            .as_deref()
            .filter(|name| !name.is_empty())
            .unwrap_or(&self.admin.user_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str =
        "idportal_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn the_cookie_is_found_among_others_and_must_look_like_a_secret() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; b=2"));
        assert_eq!(cookie_secret(&headers), None);
        headers.append(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=y; {COOKIE}={SECRET}"))
                .unwrap_or_else(|_| HeaderValue::from_static("")),
        );
        assert_eq!(cookie_secret(&headers), Some(SECRET));
        let mut forged = HeaderMap::new();
        forged.append(
            header::COOKIE,
            HeaderValue::from_static("portal_session=idportal_<script>"),
        );
        assert_eq!(cookie_secret(&forged), None);
    }

    #[test]
    fn csrf_tokens_differ_per_session_and_never_show_the_secret() {
        let token = csrf_token(SECRET);
        assert_eq!(token.len(), 32);
        assert_ne!(token, csrf_token(&SECRET.replace('0', "1")));
        assert!(!SECRET.contains(&token));
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_over_tls() {
        let cookie = set_cookie(SECRET, 3600, true);
        let cookie = cookie
            .as_ref()
            .and_then(|cookie| cookie.to_str().ok())
            .unwrap_or_default();
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Secure",
            "Path=/portal",
            "Max-Age=3600",
        ] {
            assert!(cookie.contains(part), "{cookie}");
        }
        let plain = set_cookie(SECRET, 10, false);
        let plain = plain
            .as_ref()
            .and_then(|cookie| cookie.to_str().ok())
            .unwrap_or_default();
        assert!(plain.contains("HttpOnly") && !plain.contains("Secure"));
    }
}

//! `identity.v1.Portal`: links to the admin portal, and the sessions they start.

use identity_proto::v1 as pb;
use identity_proto::v1::portal_server::Portal;
use tonic::{Request, Response, Status};

use super::convert::timestamp;
use super::{authorized, request_id};
use identity_proto::secret::{self, PORTAL_LINK_PREFIX, PORTAL_SESSION_PREFIX};

use crate::auth;
use crate::error::{ApiError, reason};
use crate::model::{Micros, PortalSession, now_micros};
use crate::policy::Rpc;
use crate::store::{LinkRefusal, Store};

/// A link's lifetime unless asked otherwise, and the bounds of what may be asked.
const DEFAULT_LINK_TTL: Micros = 3600 * 1_000_000;
const MIN_LINK_TTL: Micros = 60 * 1_000_000;
const MAX_LINK_TTL: Micros = 7 * 24 * 3600 * 1_000_000;

#[derive(Debug, Clone)]
pub(crate) struct PortalApi {
    store: Store,
    /// The portal's public URL (`https://scim.example.com/portal`); links are made under it.
    portal_url: Option<String>,
}

impl PortalApi {
    pub fn new(store: Store, portal_url: Option<String>) -> Self {
        PortalApi {
            store,
            portal_url: portal_url.map(|url| url.trim_end_matches('/').to_owned()),
        }
    }
}

fn link_ttl(ttl: Option<&prost_types::Duration>) -> Result<Micros, ApiError> {
    let Some(ttl) = ttl else {
        return Ok(DEFAULT_LINK_TTL);
    };
    let micros = ttl
        .seconds
        .saturating_mul(1_000_000)
        .saturating_add(i64::from(ttl.nanos / 1000));
    if !(MIN_LINK_TTL..=MAX_LINK_TTL).contains(&micros) {
        return Err(ApiError::invalid("ttl", "from 1 minute to 7 days"));
    }
    Ok(micros)
}

fn session_to_pb(session: PortalSession) -> pb::PortalSession {
    pb::PortalSession {
        id: session.id,
        tenant_id: session.tenant_id.into_string(),
        user_id: session.user_id.into_string(),
        create_time: session.started_at.map(timestamp),
        expire_time: session.expires_at.map(timestamp),
    }
}

fn unusable_link() -> ApiError {
    ApiError::Unauthenticated {
        reason: reason::PORTAL_LINK_UNUSABLE,
        message: "this portal link has been used or has expired; ask for a new one".into(),
    }
}

#[tonic::async_trait]
impl Portal for PortalApi {
    async fn create_portal_link(
        &self,
        request: Request<pb::CreatePortalLinkRequest>,
    ) -> Result<Response<pb::PortalLink>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::CreatePortalLink)?;
        let request = request.into_inner();
        let tenant_id = caller.tenant_for(&request.tenant_id)?;
        let ttl = link_ttl(request.ttl.as_ref())?;
        let Some(portal_url) = &self.portal_url else {
            return Err(ApiError::FailedPrecondition {
                reason: reason::PORTAL_NOT_CONFIGURED,
                message: "the identity service was started without --portal-url \
                          (IDENTITY_PORTAL_URL): it does not know where the portal is served"
                    .into(),
                metadata: Vec::new(),
            }
            .into());
        };
        let token = auth::generate_secret(PORTAL_LINK_PREFIX).map_err(ApiError::from)?;
        let expires_at = now_micros().saturating_add(ttl);
        let link = store
            .create_portal_link(tenant_id.into_string(), token.hash, expires_at)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(pb::PortalLink {
            url: format!("{portal_url}/link/{}", token.secret),
            expire_time: Some(timestamp(link.link_expires_at)),
            tenant_id: link.tenant_id.into_string(),
            user_id: link.user_id.into_string(),
        }))
    }

    async fn redeem_portal_link(
        &self,
        request: Request<pb::RedeemPortalLinkRequest>,
    ) -> Result<Response<pb::RedeemPortalLinkResponse>, Status> {
        let request_id = request_id(&request);
        let token = request.into_inner().token;
        if !secret::has_format(&token, PORTAL_LINK_PREFIX) {
            return Err(unusable_link().into());
        }
        let secret = auth::generate_secret(PORTAL_SESSION_PREFIX).map_err(ApiError::from)?;
        let session = self
            .store
            .redeem_portal_link(auth::hash_secret(&token), secret.hash, request_id)
            .await
            .map_err(ApiError::from)?
            .map_err(|LinkRefusal::Unusable| unusable_link())?;
        tracing::info!(session = %session.id, tenant = %session.tenant_id, user = %session.user_id, "portal session started");
        Ok(Response::new(pb::RedeemPortalLinkResponse {
            session: Some(session_to_pb(session)),
            secret: secret.secret,
        }))
    }

    async fn get_portal_session(
        &self,
        request: Request<()>,
    ) -> Result<Response<pb::PortalSession>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::GetPortalSession)?;
        let session = store
            .get_portal_session(&caller.key_id)
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(session_to_pb(session)))
    }

    async fn end_portal_session(&self, request: Request<()>) -> Result<Response<()>, Status> {
        let (caller, store) = authorized(&self.store, &request, Rpc::EndPortalSession)?;
        let session = store
            .get_portal_session(&caller.key_id)
            .await
            .map_err(ApiError::from)?;
        store
            .end_portal_session(&session, "signed out", request_id(&request))
            .await
            .map_err(ApiError::from)?;
        Ok(Response::new(()))
    }
}

//! The identity service as the gateway sees it: one lazily connected, self-healing channel, the
//! metadata every call carries (the caller's credential and the request id: the service
//! decides, the gateway holds no secrets), paging through whole lists, and the mapping of the
//! service's failures to SCIM errors.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use hyper_util::rt::TokioIo;
use identity_proto::v1 as pb;
use identity_proto::v1::groups_client::GroupsClient;
use identity_proto::v1::portal_client::PortalClient;
use identity_proto::v1::provisioning_log_client::ProvisioningLogClient;
use identity_proto::v1::tenants_client::TenantsClient;
use identity_proto::v1::users_client::UsersClient;
use identity_proto::{metadata, reason};
use startup::coalesce::CoalescedWrites;
use startup::grpc_metrics::{GrpcMetrics, GrpcMetricsLayer, Side};
use tokio::net::TcpStream;
use tonic::Code;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tower::Layer as _;
use tower::util::{Either, option_layer};

/// How often readiness is checked, and how long a check may take.
const READINESS_INTERVAL: Duration = Duration::from_millis(500);
use tonic_types::StatusExt as _;

use crate::scim::error::{ScimError, ScimResult, ScimType};

/// The channel to the identity service, its calls counted by method and code when metrics are on.
type Transport = Either<GrpcMetrics<Channel>, Channel>;

/// The connection to the identity service and where this gateway is seen from.
pub(crate) struct Identity {
    channel: Transport,
    base_url: String,
}

impl Identity {
    /// Connected lazily and re-connected on demand: the gateway starts, and recovers, whether
    /// or not the service is up. A refused connection fails at once; an unanswered one within
    /// `connect_timeout`.
    pub(crate) fn new(
        endpoint: Endpoint,
        connect_timeout: Duration,
        request_timeout: Duration,
        base_url: String,
        metrics: bool,
    ) -> Self {
        let channel = endpoint
            .connect_timeout(connect_timeout)
            .timeout(request_timeout)
            .http2_keep_alive_interval(Duration::from_secs(20))
            .keep_alive_timeout(Duration::from_secs(5))
            .connect_with_connector_lazy(tower::service_fn(connect));
        Identity {
            channel: option_layer(metrics.then(|| GrpcMetricsLayer::new(Side::Client)))
                .layer(channel),
            base_url,
        }
    }

    /// Reports, at least once a second, whether the identity service answers its health check
    /// with SERVING: the gateway is ready only while it does.
    pub(crate) async fn watch_readiness(&self, ready: tokio::sync::watch::Sender<bool>) {
        use tonic_health::pb::HealthCheckRequest;
        use tonic_health::pb::health_check_response::ServingStatus;
        use tonic_health::pb::health_client::HealthClient;
        let mut health = HealthClient::new(self.channel.clone());
        loop {
            let check = tokio::time::timeout(
                READINESS_INTERVAL,
                health.check(HealthCheckRequest {
                    service: String::new(),
                }),
            )
            .await;
            let serving = matches!(
                check,
                Ok(Ok(response)) if response.get_ref().status() == ServingStatus::Serving
            );
            if ready.send_replace(serving) != serving {
                tracing::info!(ready = serving, "identity service readiness changed");
            }
            tokio::time::sleep(READINESS_INTERVAL).await;
        }
    }

    /// `<public base URL><base path>`: the prefix of every `meta.location`.
    pub(crate) fn base_url(&self) -> &str {
        &self.base_url
    }

    fn users(&self) -> UsersClient<Transport> {
        UsersClient::new(self.channel.clone())
    }

    fn groups(&self) -> GroupsClient<Transport> {
        GroupsClient::new(self.channel.clone())
    }

    pub(crate) fn provisioning_log(&self) -> ProvisioningLogClient<Transport> {
        ProvisioningLogClient::new(self.channel.clone())
    }

    fn tenants(&self) -> TenantsClient<Transport> {
        TenantsClient::new(self.channel.clone())
    }

    pub(crate) fn portal(&self) -> PortalClient<Transport> {
        PortalClient::new(self.channel.clone())
    }
}

/// Opens the connection to the identity service (TLS, when configured, goes on top): Nagle's
/// algorithm off (with it, each small gRPC frame waits for the peer's delayed ACK, ~40 ms a
/// call) and writes coalesced, so that the calls made in one pass of the runtime leave in one
/// write (see [`startup::coalesce`]).
async fn connect(uri: http::Uri) -> std::io::Result<TokioIo<CoalescedWrites<TcpStream>>> {
    let host = uri
        .host()
        .map(|host| host.trim_start_matches('[').trim_end_matches(']'))
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "the identity URL has no host",
            )
        })?;
    let port = uri
        .port_u16()
        .unwrap_or(if uri.scheme_str() == Some("https") {
            443
        } else {
            80
        });
    let stream = TcpStream::connect((host, port)).await?;
    stream.set_nodelay(true)?;
    Ok(TokioIo::new(CoalescedWrites::new(stream)))
}

/// What every call made for one SCIM request carries: the caller's credential, passed on as it
/// came, and the request id.
#[derive(Clone)]
pub(crate) struct Credentials {
    authorization: Option<AsciiMetadataValue>,
    request_id: Option<AsciiMetadataValue>,
}

impl Credentials {
    pub(crate) fn new(authorization: Option<&http::HeaderValue>, request_id: &str) -> Self {
        Credentials {
            authorization: authorization
                .and_then(|value| MetadataValue::try_from(value.as_bytes()).ok())
                .map(never_indexed),
            request_id: MetadataValue::try_from(request_id).ok().map(never_indexed),
        }
    }
}

/// Sent as an HPACK literal that neither side adds to its header table: a credential must not
/// be kept there, and a request id never repeats — indexing one evicted a useful entry on
/// both sides and made the encoder compare values along a chain of dozens of past ids (about
/// 4,000 instructions a call).
fn never_indexed(mut value: AsciiMetadataValue) -> AsciiMetadataValue {
    value.set_sensitive(true);
    value
}

/// The identity service as called for one SCIM request: every request built here carries
/// that request's credentials.
#[derive(Clone)]
pub(crate) struct Call {
    identity: Arc<Identity>,
    credentials: Credentials,
}

impl Call {
    pub(crate) fn new(identity: Arc<Identity>, credentials: Credentials) -> Self {
        Call {
            identity,
            credentials,
        }
    }

    /// `<public base URL><base path>`: the prefix of every `meta.location`.
    pub(crate) fn base_url(&self) -> &str {
        self.identity.base_url()
    }

    pub(crate) fn users(&self) -> UsersClient<Transport> {
        self.identity.users()
    }

    pub(crate) fn groups(&self) -> GroupsClient<Transport> {
        self.identity.groups()
    }

    pub(crate) fn tenants(&self) -> TenantsClient<Transport> {
        self.identity.tenants()
    }

    pub(crate) fn portal(&self) -> PortalClient<Transport> {
        self.identity.portal()
    }

    pub(crate) fn provisioning_log(&self) -> ProvisioningLogClient<Transport> {
        self.identity.provisioning_log()
    }

    pub(crate) fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let headers = request.metadata_mut();
        if let Some(authorization) = &self.credentials.authorization {
            headers.insert(metadata::AUTHORIZATION, authorization.clone());
        }
        if let Some(request_id) = &self.credentials.request_id {
            headers.insert(metadata::REQUEST_ID, request_id.clone());
        }
        request
    }
}

/// Page size when a resource reads a whole list from the service (members, a user's groups).
const PAGE_SIZE: i32 = 1000;

/// A list request of the Groups service that is read whole, page by page.
pub(crate) trait PagedRequest: Clone {
    type Response: PagedResponse;
    fn set_page(&mut self, page: pb::PageRequest);
}

pub(crate) trait PagedResponse {
    type Item;
    fn into_page(self) -> (Vec<Self::Item>, Option<pb::PageResponse>);
}

impl PagedRequest for pb::ListGroupMembersRequest {
    type Response = pb::ListGroupMembersResponse;
    fn set_page(&mut self, page: pb::PageRequest) {
        self.page = Some(page);
    }
}

impl PagedResponse for pb::ListGroupMembersResponse {
    type Item = pb::GroupMember;
    fn into_page(self) -> (Vec<pb::GroupMember>, Option<pb::PageResponse>) {
        (self.members, self.page)
    }
}

impl PagedRequest for pb::ListUserGroupsRequest {
    type Response = pb::ListUserGroupsResponse;
    fn set_page(&mut self, page: pb::PageRequest) {
        self.page = Some(page);
    }
}

impl PagedResponse for pb::ListUserGroupsResponse {
    type Item = pb::UserGroup;
    fn into_page(self) -> (Vec<pb::UserGroup>, Option<pb::PageResponse>) {
        (self.groups, self.page)
    }
}

impl Call {
    /// Every item a paged Groups list returns, at most `limit` (more: 400 `tooMany`, so that
    /// memory stays bounded); `rpc` makes one call.
    pub(crate) async fn all_pages<R, F, Fut>(
        &self,
        limit: usize,
        request: R,
        rpc: F,
    ) -> ScimResult<Vec<<R::Response as PagedResponse>::Item>>
    where
        R: PagedRequest,
        F: Fn(GroupsClient<Transport>, tonic::Request<R>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<R::Response>, tonic::Status>>,
    {
        let client = self.groups();
        let mut items = Vec::new();
        let mut page_token = String::new();
        loop {
            let mut request = request.clone();
            request.set_page(pb::PageRequest {
                page_size: PAGE_SIZE,
                page_token,
                ..Default::default()
            });
            let (page, next) = rpc(client.clone(), self.request(request))
                .await?
                .into_inner()
                .into_page();
            if items.len() + page.len() > limit {
                return Err(ScimError::too_many(format!(
                    "more than {limit} to return in one response"
                )));
            }
            items.extend(page);
            page_token = next.map(|next| next.next_page_token).unwrap_or_default();
            if page_token.is_empty() {
                return Ok(items);
            }
        }
    }
}

fn reason_of(status: &tonic::Status) -> Option<String> {
    status.get_details_error_info().map(|info| info.reason)
}

/// Whether the service refused a write because the resource changed since it was read.
pub(crate) fn is_version_mismatch(status: &tonic::Status) -> bool {
    status.code() == Code::FailedPrecondition
        && reason_of(status).as_deref() == Some(reason::VERSION_MISMATCH)
}

/// Maps a failed identity-service call by its code and `ErrorInfo` reason, never by message
/// text.
impl From<tonic::Status> for ScimError {
    fn from(status: tonic::Status) -> Self {
        let reason = reason_of(&status).unwrap_or_default();
        let detail = if status.message().is_empty() {
            format!("identity service: {:?}", status.code())
        } else {
            status.message().to_owned()
        };
        match status.code() {
            Code::Unauthenticated => ScimError::new(StatusCode::UNAUTHORIZED, None, detail),
            Code::PermissionDenied => ScimError::new(StatusCode::FORBIDDEN, None, detail),
            Code::NotFound => ScimError::not_found(detail),
            Code::AlreadyExists => {
                ScimError::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
            }
            Code::InvalidArgument => match reason.as_str() {
                reason::INVALID_FILTER => ScimError::invalid_filter(detail),
                _ => ScimError::invalid_value(detail),
            },
            Code::FailedPrecondition => match reason.as_str() {
                reason::VERSION_MISMATCH => {
                    ScimError::new(StatusCode::PRECONDITION_FAILED, None, detail)
                }
                reason::AMBIGUOUS_LOOKUP => {
                    ScimError::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail)
                }
                _ => ScimError::mutability(detail),
            },
            Code::ResourceExhausted => ScimError {
                retry_after: Some(1),
                ..ScimError::new(StatusCode::TOO_MANY_REQUESTS, None, detail)
            },
            Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled | Code::Unknown => {
                ScimError::unavailable(format!("the identity service is unavailable: {detail}"))
            }
            _ => ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, detail),
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::response::IntoResponse as _;
    use http::header;

    use super::*;

    /// Statuses the service answers map by code and ErrorInfo reason, not by message text.
    #[test]
    fn service_errors_map_to_scim_errors() {
        let with_reason = |code: Code, reason: &str| {
            let details = tonic_types::ErrorDetails::with_error_info(
                reason,
                reason::ERROR_DOMAIN,
                std::collections::HashMap::new(),
            );
            tonic::Status::with_error_details(code, "message text is not parsed", details)
        };
        let cases = [
            (
                with_reason(Code::InvalidArgument, reason::INVALID_FILTER),
                400,
                Some(ScimType::InvalidFilter),
            ),
            (
                with_reason(Code::InvalidArgument, reason::UNKNOWN_MEMBERS),
                400,
                Some(ScimType::InvalidValue),
            ),
            (
                with_reason(Code::AlreadyExists, reason::USER_NAME_TAKEN),
                409,
                Some(ScimType::Uniqueness),
            ),
            (
                with_reason(Code::FailedPrecondition, reason::VERSION_MISMATCH),
                412,
                None,
            ),
            (
                with_reason(Code::Unauthenticated, reason::INVALID_CREDENTIALS),
                401,
                None,
            ),
            (
                with_reason(Code::PermissionDenied, reason::READ_ONLY_KEY),
                403,
                None,
            ),
            (tonic::Status::not_found("no"), 404, None),
            (tonic::Status::resource_exhausted("slow down"), 429, None),
            (tonic::Status::unavailable("connection refused"), 503, None),
            (tonic::Status::deadline_exceeded("too slow"), 503, None),
        ];
        for (status, http, scim_type) in cases {
            let error = ScimError::from(status.clone());
            assert_eq!(
                (error.status.as_u16(), error.scim_type),
                (http, scim_type),
                "{status:?}"
            );
            let response = error.into_response();
            if http == 401 {
                assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
            }
            if http == 429 || http == 503 {
                // Whole seconds: Okta ignores the HTTP-date form.
                assert_eq!(response.headers()[header::RETRY_AFTER], "1");
            }
        }
    }
}

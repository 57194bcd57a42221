//! The provisioning log: outcomes of a tenant's SCIM requests, as the gateway reported them.

use super::Micros;

/// What the gateway answered one request. Stored as is, encoded, inside its report's row (the
/// tenant and key are the row's), hence the protobuf tags. Strings are within
/// `identity_proto::provisioning`'s limits.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Answer {
    #[prost(int64, tag = "1")]
    pub request_time: Micros,
    #[prost(string, tag = "2")]
    pub request_id: String,
    #[prost(string, tag = "3")]
    pub client_address: String,
    #[prost(string, tag = "4")]
    pub user_agent: String,
    #[prost(string, tag = "5")]
    pub method: String,
    #[prost(string, tag = "6")]
    pub route: String,
    #[prost(string, tag = "7")]
    pub resource_id: String,
    #[prost(int32, tag = "8")]
    pub status: i32,
    #[prost(string, tag = "9")]
    pub scim_type: String,
    #[prost(string, tag = "10")]
    pub detail: String,
    #[prost(int64, tag = "11")]
    pub latency_micros: i64,
    #[prost(bool, tag = "12")]
    pub connection_test: bool,
}

/// One SCIM request's outcome as listed: whose key it came with, and what it got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Increasing in the order outcomes were recorded.
    pub sequence: i64,
    pub tenant_id: String,
    pub key_id: String,
    pub answer: Answer,
}

/// Which statuses a listing keeps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StatusClass {
    #[default]
    Any,
    /// Below 400.
    Succeeded,
    /// 400 and above.
    Failed,
    /// 4xx.
    ClientError,
    /// 5xx.
    ServerError,
}

/// A page of a listing, and the sequence to go on from (outcomes below it) when there may be
/// more.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomePage {
    pub outcomes: Vec<Outcome>,
    pub resume: Option<i64>,
}

/// Which outcomes a listing returns: one tenant's, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutcomeQuery {
    pub tenant_id: String,
    pub status: StatusClass,
    pub since: Option<Micros>,
    pub until: Option<Micros>,
    pub resource_id: Option<String>,
    pub request_id: Option<String>,
    /// Only outcomes whose route has this path segment.
    pub route_segment: Option<String>,
    pub connection_tests_only: bool,
    /// Outcomes with a smaller sequence than this (`None`: from the newest).
    pub before: Option<i64>,
    /// The page size.
    pub limit: i64,
}

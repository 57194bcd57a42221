//! The provisioning log: outcomes of a tenant's SCIM requests, as the gateway reported them.

use super::Micros;

/// One SCIM request's outcome (strings within `identity_proto::provisioning`'s limits).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Assigned when recorded (0 before).
    pub sequence: i64,
    pub tenant_id: String,
    pub key_id: String,
    pub request_time: Micros,
    pub request_id: String,
    pub client_address: String,
    pub user_agent: String,
    pub method: String,
    pub route: String,
    pub resource_id: String,
    pub status: i32,
    pub scim_type: String,
    pub detail: String,
    pub latency_micros: i64,
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
    /// Outcomes with a smaller sequence than this (`None`: from the newest).
    pub before: Option<i64>,
    /// The page size.
    pub limit: i64,
}

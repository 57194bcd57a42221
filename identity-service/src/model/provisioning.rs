//! The provisioning log: outcomes of a tenant's SCIM requests, as the gateway reported them.

use super::Micros;

/// One SCIM request's outcome. Strings are cut to the limits below when recorded.
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

impl Outcome {
    /// Longest stored lengths, in bytes: an outcome is a line of a log, not a document.
    pub const MAX_SHORT: usize = 128;
    pub const MAX_USER_AGENT: usize = 256;
    pub const MAX_ROUTE: usize = 256;
    pub const MAX_DETAIL: usize = 1024;

    /// The outcome with every string cut to its limit (at a character boundary).
    pub fn bounded(mut self) -> Self {
        for (text, limit) in [
            (&mut self.request_id, Self::MAX_SHORT),
            (&mut self.client_address, Self::MAX_SHORT),
            (&mut self.method, Self::MAX_SHORT),
            (&mut self.resource_id, Self::MAX_SHORT),
            (&mut self.scim_type, Self::MAX_SHORT),
            (&mut self.user_agent, Self::MAX_USER_AGENT),
            (&mut self.route, Self::MAX_ROUTE),
            (&mut self.detail, Self::MAX_DETAIL),
        ] {
            cut(text, limit);
        }
        self
    }
}

fn cut(text: &mut String, limit: usize) {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_at_character_boundaries() {
        let outcome = Outcome {
            detail: "é".repeat(Outcome::MAX_DETAIL),
            user_agent: "okta".to_owned(),
            ..Outcome::default()
        }
        .bounded();
        assert!(outcome.detail.len() <= Outcome::MAX_DETAIL);
        assert!(outcome.detail.chars().all(|c| c == 'é'));
        assert_eq!(outcome.user_agent, "okta");
    }
}

//! Limits of the provisioning log's outcomes: the gateway cuts an outcome to them before
//! queueing it (so that the queue's memory stays bounded whatever clients send), the service
//! again before storing it.

use crate::v1::ProvisioningOutcome;

/// Outcomes one `RecordOutcomes` report may carry.
pub const MAX_OUTCOMES_PER_REPORT: usize = 1000;
/// Request id, client address, method, resource id, `scimType`: bytes.
pub const MAX_SHORT_FIELD: usize = 128;
pub const MAX_USER_AGENT: usize = 256;
pub const MAX_ROUTE: usize = 256;
pub const MAX_DETAIL: usize = 1024;

/// Cuts `text` to at most `limit` bytes, at a character boundary.
pub fn cut(text: &mut String, limit: usize) {
    if text.len() > limit {
        let mut end = limit;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
}

/// Cuts every string of `outcome` to its limit.
pub fn bound(outcome: &mut ProvisioningOutcome) {
    for (text, limit) in [
        (&mut outcome.request_id, MAX_SHORT_FIELD),
        (&mut outcome.client_address, MAX_SHORT_FIELD),
        (&mut outcome.method, MAX_SHORT_FIELD),
        (&mut outcome.resource_id, MAX_SHORT_FIELD),
        (&mut outcome.scim_type, MAX_SHORT_FIELD),
        (&mut outcome.user_agent, MAX_USER_AGENT),
        (&mut outcome.route, MAX_ROUTE),
        (&mut outcome.detail, MAX_DETAIL),
    ] {
        cut(text, limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_cut_at_character_boundaries() {
        let mut outcome = ProvisioningOutcome {
            detail: "é".repeat(MAX_DETAIL),
            user_agent: "okta".to_owned(),
            ..ProvisioningOutcome::default()
        };
        bound(&mut outcome);
        assert!(outcome.detail.len() <= MAX_DETAIL);
        assert!(outcome.detail.chars().all(|c| c == 'é'));
        assert_eq!(outcome.user_agent, "okta");
    }
}

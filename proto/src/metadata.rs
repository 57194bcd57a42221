//! Request metadata (gRPC headers) the service reads.

/// `authorization: Bearer <API key>` (a bare key is accepted too).
pub const AUTHORIZATION: &str = "authorization";
/// The id of the request that caused a call: logged and written into every event it causes.
pub const REQUEST_ID: &str = "x-request-id";
/// The person a trusted service acts for (a user id); service keys only.
pub const ACTING_USER_ID: &str = "x-acting-user-id";

/// Longest [`REQUEST_ID`] kept.
pub const MAX_REQUEST_ID_CHARS: usize = 128;

/// Whether a client's request id is kept (else the service ignores it and the gateway issues
/// its own): 1 to 128 letters, digits and `-_.:`, so that it is safe in logs and events.
pub fn is_valid_request_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_CHARS
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_sane_tokens() {
        assert!(is_valid_request_id("0192f2a4-7c1e-7a3b-9c2d-1234567890ab"));
        assert!(is_valid_request_id("okta:req_1.2"));
        for bad in ["", "a b", "a\nb", "ä", &"x".repeat(129)] {
            assert!(!is_valid_request_id(bad), "{bad:?}");
        }
    }
}

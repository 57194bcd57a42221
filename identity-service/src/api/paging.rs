//! Page requests and opaque page tokens.

use identity_proto::v1::{PageRequest, PageResponse};

use crate::error::{ApiError, reason};
use crate::model::{Page, PageQuery, PageStart};

pub(crate) const DEFAULT_PAGE_SIZE: i64 = 100;
pub(crate) const MAX_PAGE_SIZE: i64 = 1000;

const TOKEN_VERSION: &str = "p1";

/// Tokens are the sort key of the last row (hex-encoded): opaque to clients, stable under
/// concurrent inserts, and free of server-side state.
fn encode_token(created_at: i64, id: &str) -> String {
    let plain = format!("{TOKEN_VERSION}:{created_at}:{id}");
    plain.bytes().map(|byte| format!("{byte:02x}")).collect()
}

fn decode_token(token: &str) -> Option<(i64, String)> {
    if !token.len().is_multiple_of(2) || token.len() > 512 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|at| {
            token
                .get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect();
    let plain = String::from_utf8(bytes?).ok()?;
    let mut parts = plain.splitn(3, ':');
    if parts.next()? != TOKEN_VERSION {
        return None;
    }
    let created_at = parts.next()?.parse().ok()?;
    let id = parts.next()?;
    uuid::Uuid::try_parse(id).ok()?;
    Some((created_at, id.to_owned()))
}

/// The page size asked for: 0 is the default, larger than the maximum is the maximum.
pub fn page_size(request: &PageRequest) -> Result<i64, ApiError> {
    match i64::from(request.page_size) {
        size if size < 0 => Err(ApiError::invalid("page.page_size", "must not be negative")),
        0 => Ok(DEFAULT_PAGE_SIZE),
        size => Ok(size.min(MAX_PAGE_SIZE)),
    }
}

/// Where a log paged by sequence resumes: its page tokens are the last sequence of the previous
/// page (`None`: the first page). `log` names it in the refusal of offsets and totals.
pub(crate) fn sequence_token(page: &PageRequest, log: &str) -> Result<Option<i64>, ApiError> {
    if page.offset != 0 {
        return Err(ApiError::invalid(
            "page.offset",
            format!("{log} pages by page_token only"),
        ));
    }
    if page.include_total_size {
        return Err(ApiError::invalid(
            "page.include_total_size",
            format!("{log} is not counted; page through it"),
        ));
    }
    match page.page_token.as_str() {
        "" => Ok(None),
        token => token
            .parse::<i64>()
            .ok()
            .filter(|sequence| *sequence >= 0)
            .map(Some)
            .ok_or_else(invalid_page_token),
    }
}

/// Cuts `rows` (read with a limit of `size + 1`) to `size`, and the page that says whether
/// more follow: its token is the last sequence kept.
pub(crate) fn sequence_page<T>(
    rows: &mut Vec<T>,
    size: i64,
    sequence: impl Fn(&T) -> i64,
) -> PageResponse {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    let more = rows.len() > size;
    rows.truncate(size);
    PageResponse {
        next_page_token: match (more, rows.last()) {
            (true, Some(last)) => sequence(last).to_string(),
            _ => String::new(),
        },
        total_size: None,
    }
}

/// The answer to a page token this service did not issue.
pub(crate) fn invalid_page_token() -> ApiError {
    ApiError::InvalidArgument {
        reason: reason::INVALID_PAGE_TOKEN,
        violations: vec![crate::error::FieldViolation::new(
            "page.page_token",
            "not a token this service issued",
        )],
    }
}

pub(crate) fn page_query(request: Option<&PageRequest>) -> Result<PageQuery, ApiError> {
    let default = PageRequest::default();
    let request = request.unwrap_or(&default);
    let size = page_size(request)?;
    if request.offset < 0 {
        return Err(ApiError::invalid("page.offset", "must not be negative"));
    }
    let start = match (request.page_token.as_str(), request.offset) {
        ("", offset) => PageStart::Offset(offset),
        (_, offset) if offset > 0 => {
            return Err(ApiError::invalid(
                "page.offset",
                "give either page_token or offset, not both",
            ));
        }
        (token, _) => {
            let (created_at, id) = decode_token(token).ok_or_else(invalid_page_token)?;
            PageStart::After { created_at, id }
        }
    };
    Ok(PageQuery {
        size,
        start,
        include_total: request.include_total_size,
    })
}

/// The response half of a page: `sort_key` gives each item's (created_at, id).
pub(crate) fn page_response<T>(
    page: &Page<T>,
    sort_key: impl Fn(&T) -> (i64, &str),
) -> PageResponse {
    let next_page_token = match page.items.last() {
        Some(last) if page.has_more => {
            let (created_at, id) = sort_key(last);
            encode_token(created_at, id)
        }
        _ => String::new(),
    };
    PageResponse {
        next_page_token,
        total_size: page.total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let id = "0192f2a4-7c1e-7a3b-9c2d-1234567890ab";
        assert_eq!(
            decode_token(&encode_token(42, id)),
            Some((42, id.to_owned()))
        );
        for garbage in ["", "zz", "abc", "7031", &encode_token(1, "not-a-uuid")] {
            assert_eq!(decode_token(garbage), None, "{garbage}");
        }
    }
}

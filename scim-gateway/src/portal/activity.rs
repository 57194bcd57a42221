//! What the identity provider has been doing: the connection's status (has it called, when,
//! with which key, how did its last Test API Credentials go) and the provisioning log, with a
//! plain-language hint beside every failure.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use axum::extract::RawQuery;
use axum::http::StatusCode;
use identity_proto::v1 as pb;

use super::html::{self, Section, escape};
use super::pages::{key_badge, key_label};
use super::session::Session;
use super::{PortalError, PortalResult};

/// Entries on one page of the activity list.
const ACTIVITY_PAGE_SIZE: i32 = 50;
/// Listing calls made to find one kind of entry (each looks at a bounded part of the log).
const SEARCH_CALLS: usize = 5;

/// What an admin can do about a failed request, by its status, SCIM error type and resource.
pub(crate) fn hint(outcome: &pb::ProvisioningOutcome) -> Option<&'static str> {
    let groups = outcome.route.contains("/Groups");
    Some(match (outcome.status, outcome.scim_type.as_str()) {
        (409, "uniqueness") if groups => {
            "A group with this name already exists. In Okta's Push Groups, choose Link Group to \
             link the existing group instead of Create Group."
        }
        (409, "uniqueness") => {
            "A user with this userName already exists in this team. Okta should match it by \
             userName: assign the existing person in Okta (or import and confirm the match) \
             instead of creating a second account."
        }
        (400, "mutability") if outcome.detail.contains("verified domain") => {
            "The identity provider tried to set an email outside your verified domains. Add the \
             domain on the Verified domains page, or correct the person's email in the identity \
             provider."
        }
        (400, "mutability") if groups => {
            "This group was created in the product and already has members, so the identity \
             provider cannot take it over. Push a new group from the identity provider instead."
        }
        (400, "mutability") => {
            "The identity provider tried to change something that cannot be changed this way; \
             the message says what."
        }
        (400, "invalidFilter") => {
            "The identity provider sent a search this service does not understand; the message \
             says which part. Check custom attribute mappings used for matching."
        }
        (400, _) => {
            "The identity provider sent a value that is not accepted; the message names the \
             attribute. Check the app's attribute mappings: userName, given name and family \
             name are all it needs."
        }
        (403, _) if outcome.detail.contains("disabled") => {
            "SCIM provisioning is off for this team: turn it on on the SCIM provisioning page."
        }
        (403, _) => {
            "The key may not do this; the message says why. SCIM keys manage users and groups \
             only."
        }
        (404, _) if groups => {
            "The identity provider refers to a group that no longer exists here (deleted in the \
             product?). Push the group again from the identity provider."
        }
        (404, _) => {
            "The identity provider refers to a user that no longer exists here (deleted in the \
             product?). Unassign and reassign the person in the identity provider to create it \
             again."
        }
        (412, _) => {
            "The resource changed between the identity provider's read and its write; the \
             identity provider retries by itself."
        }
        (413, _) => "The request was larger than the gateway accepts (1 MB by default).",
        (429, _) => {
            "The identity provider called faster than this team's rate limit; it waits the time \
             it was told and retries. Nothing is lost."
        }
        (status, _) if status >= 500 => {
            "Something failed on our side; the identity provider retries. If it keeps failing, \
             contact support with the request id."
        }
        _ => return None,
    })
}

impl Session {
    /// Up to `page_size` outcomes matching `request`, newest first, from at most
    /// [`SEARCH_CALLS`] listing calls; and where to go on from.
    async fn outcomes(
        &self,
        mut request: pb::ListOutcomesRequest,
        page_size: i32,
    ) -> Result<(Vec<pb::ProvisioningOutcome>, String), PortalError> {
        let mut found = Vec::new();
        for _ in 0..SEARCH_CALLS {
            let page = request.page.get_or_insert_with(Default::default);
            page.page_size = page_size;
            let response = self
                .call
                .provisioning_log()
                .list_outcomes(self.call.request(request.clone()))
                .await?
                .into_inner();
            found.extend(response.outcomes);
            let next = response
                .page
                .map(|page| page.next_page_token)
                .unwrap_or_default();
            if !found.is_empty() || next.is_empty() {
                return Ok((found, next));
            }
            request.page.get_or_insert_with(Default::default).page_token = next;
        }
        let next = request.page.map(|page| page.page_token).unwrap_or_default();
        Ok((found, next))
    }
}

fn request_line(outcome: &pb::ProvisioningOutcome) -> String {
    format!("{} {}", outcome.method, outcome.route)
}

fn status_badge(status: i32) -> String {
    let class = if status < 400 { "ok" } else { "failed" };
    format!(r#"<span class="badge {class}">{status}</span>"#)
}

fn key_names(keys: &[pb::ApiKey]) -> HashMap<&str, String> {
    keys.iter()
        .map(|key| (key.id.as_str(), key_label(key)))
        .collect()
}

fn describe_outcome(outcome: &pb::ProvisioningOutcome, keys: &HashMap<&str, String>) -> String {
    let key = keys
        .get(outcome.key_id.as_str())
        .cloned()
        .unwrap_or_else(|| format!("key {}", outcome.key_id));
    let mut text = format!(
        r#"<dl class="facts"><dt>When</dt><dd>{}</dd><dt>Request</dt><dd><code>{}</code></dd><dt>Answer</dt><dd>{}</dd><dt>Key</dt><dd>{}</dd><dt>Client</dt><dd>{}</dd>"#,
        html::time(outcome.request_time.as_ref()),
        escape(&request_line(outcome)),
        status_badge(outcome.status),
        escape(&key),
        if outcome.user_agent.is_empty() {
            "—".to_owned()
        } else {
            escape(&outcome.user_agent)
        },
    );
    if outcome.status >= 400 {
        let _ = write!(text, "<dt>Error</dt><dd>{}</dd>", escape(&outcome.detail));
        if let Some(hint) = hint(outcome) {
            let _ = write!(text, "<dt>What to do</dt><dd>{}</dd>", escape(hint));
        }
    }
    text.push_str("</dl>");
    text
}

/// `GET /portal/status`.
pub(crate) async fn status(session: Session) -> PortalResult {
    let keys = session.scim_keys().await?;
    let names = key_names(&keys);
    let (latest, _) = session
        .outcomes(pb::ListOutcomesRequest::default(), 1)
        .await?;
    let (test, _) = session
        .outcomes(
            pb::ListOutcomesRequest {
                connection_tests_only: true,
                ..Default::default()
            },
            1,
        )
        .await?;
    let mut body = String::new();
    if !session.tenant.scim_enabled {
        body.push_str(
            r#"<p class="note">SCIM provisioning is <strong>off</strong>: calls from your identity provider are refused. Turn it on on the <a href="/portal/">SCIM provisioning</a> page.</p>
"#,
        );
    }
    body.push_str(r#"<section aria-labelledby="last-call"><h2 id="last-call">Last call</h2>"#);
    match latest.first() {
        None => body.push_str(
            "<p>No identity provider has called yet. Once you enter the base URL and a key \
             in Okta or Entra ID and test the connection, its calls appear here.</p>",
        ),
        Some(outcome) => {
            body.push_str("<p>Your identity provider has called.</p>");
            body.push_str(&describe_outcome(outcome, &names));
        }
    }
    body.push_str(
        r#"</section>
<section aria-labelledby="last-test"><h2 id="last-test">Last Test API Credentials</h2>"#,
    );
    match test.first() {
        None => body.push_str(
            "<p>No connection test seen (Okta's <em>Test API Credentials</em>) in the \
             provisioning log.</p>",
        ),
        Some(outcome) => {
            let verdict = if outcome.status < 400 {
                "It succeeded."
            } else {
                "It failed."
            };
            let _ = write!(body, "<p class=\"state\">{verdict}</p>");
            body.push_str(&describe_outcome(outcome, &names));
        }
    }
    body.push_str(
        r#"</section>
<section aria-labelledby="key-use"><h2 id="key-use">Keys in use</h2>"#,
    );
    let used: Vec<&pb::ApiKey> = keys
        .iter()
        .filter(|key| key.last_use_time.is_some())
        .collect();
    if used.is_empty() {
        body.push_str("<p>No SCIM key has been used yet.</p>");
    } else {
        body.push_str(r#"<table><thead><tr><th scope="col">Key</th><th scope="col">Status</th><th scope="col">Last used (to the minute)</th></tr></thead><tbody>"#);
        for key in used {
            let _ = write!(
                body,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td></tr>"#,
                escape(&key_label(key)),
                key_badge(key),
                html::time(key.last_use_time.as_ref()),
            );
        }
        body.push_str("</tbody></table>");
    }
    body.push_str("</section>");
    Ok(session.page(StatusCode::OK, Section::Status, None, &body))
}

/// The activity list's filters, as the query string carries them.
#[derive(Debug, Default)]
struct ActivityFilter {
    failed_only: bool,
    resource: &'static str,
    period: &'static str,
    resource_id: String,
    page: String,
}

const PERIODS: [(&str, &str, u64); 5] = [
    ("1h", "the last hour", 3600),
    ("24h", "the last 24 hours", 24 * 3600),
    ("7d", "the last 7 days", 7 * 24 * 3600),
    ("30d", "the last 30 days", 30 * 24 * 3600),
    ("all", "all time", 0),
];

const RESOURCES: [(&str, &str); 3] = [("", "all"), ("Users", "users"), ("Groups", "groups")];

impl ActivityFilter {
    fn parse(query: Option<&str>) -> ActivityFilter {
        let mut filter = ActivityFilter {
            period: "7d",
            ..Default::default()
        };
        for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            match name.as_ref() {
                "result" => filter.failed_only = value == "failed",
                "resource" => {
                    filter.resource = RESOURCES
                        .iter()
                        .find(|(known, _)| *known == value)
                        .map_or("", |(known, _)| known);
                }
                "period" => {
                    if let Some((known, _, _)) =
                        PERIODS.iter().find(|(known, _, _)| *known == value)
                    {
                        filter.period = known;
                    }
                }
                "id" => filter.resource_id = value.trim().chars().take(128).collect(),
                "page" if value.bytes().all(|b| b.is_ascii_digit()) => {
                    filter.page = value.chars().take(20).collect();
                }
                _ => {}
            }
        }
        filter
    }

    fn request(&self) -> pb::ListOutcomesRequest {
        let seconds = PERIODS
            .iter()
            .find(|(known, _, _)| *known == self.period)
            .map_or(0, |(_, _, seconds)| *seconds);
        pb::ListOutcomesRequest {
            status_class: if self.failed_only {
                pb::StatusClass::Failed.into()
            } else {
                pb::StatusClass::Unspecified.into()
            },
            start_time: (seconds > 0).then(|| {
                prost_types::Timestamp::from(SystemTime::now() - Duration::from_secs(seconds))
            }),
            resource_id: self.resource_id.clone(),
            route_segment: self.resource.to_owned(),
            page: Some(pb::PageRequest {
                page_token: self.page.clone(),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The query string of these filters on page `page`.
    fn query(&self, page: &str) -> String {
        form_urlencoded::Serializer::new(String::new())
            .append_pair("result", if self.failed_only { "failed" } else { "all" })
            .append_pair("resource", self.resource)
            .append_pair("period", self.period)
            .append_pair("id", &self.resource_id)
            .append_pair("page", page)
            .finish()
    }

    fn form(&self) -> String {
        let option = |value: &str, label: &str, selected: bool| {
            format!(
                r#"<option value="{}"{}>{}</option>"#,
                escape(value),
                if selected { " selected" } else { "" },
                escape(label)
            )
        };
        let mut results = option("all", "all requests", !self.failed_only);
        results.push_str(&option("failed", "failed only", self.failed_only));
        let resources: String = RESOURCES
            .iter()
            .map(|(value, label)| option(value, label, *value == self.resource))
            .collect();
        let periods: String = PERIODS
            .iter()
            .map(|(value, label, _)| option(value, label, *value == self.period))
            .collect();
        format!(
            r#"<form class="filters" method="get" action="/portal/activity" role="search" aria-label="Filter the activity">
<p><label for="result">Show</label> <select id="result" name="result">{results}</select>
<label for="resource">Resource</label> <select id="resource" name="resource">{resources}</select>
<label for="period">From</label> <select id="period" name="period">{periods}</select>
<label for="resource-id">Resource id</label> <input id="resource-id" name="id" value="{}" size="20">
<button type="submit">Filter</button></p></form>
"#,
            escape(&self.resource_id)
        )
    }
}

/// `GET /portal/activity`: the provisioning log, newest first.
pub(crate) async fn activity(RawQuery(query): RawQuery, session: Session) -> PortalResult {
    let filter = ActivityFilter::parse(query.as_deref());
    let keys = session.scim_keys().await?;
    let names = key_names(&keys);
    let (outcomes, next) = session
        .outcomes(filter.request(), ACTIVITY_PAGE_SIZE)
        .await?;
    let mut body = String::from(
        "<p>Every request your identity provider made, and what it was answered (kept 30 \
         days by default). Requests refused for an unknown key are not listed: they \
         cannot be told apart from anyone else's.</p>\n",
    );
    body.push_str(&filter.form());
    if outcomes.is_empty() {
        body.push_str("<p>No requests match.</p>\n");
    } else {
        body.push_str(
            r#"<table class="activity"><caption>Requests, newest first</caption><thead><tr><th scope="col">Time</th><th scope="col">Request</th><th scope="col">Resource</th><th scope="col">Status</th><th scope="col">Error</th><th scope="col">What to do</th><th scope="col">Key</th></tr></thead><tbody>
"#,
        );
        for outcome in &outcomes {
            let error = if outcome.status >= 400 {
                let kind = if outcome.scim_type.is_empty() {
                    String::new()
                } else {
                    format!("<code>{}</code>: ", escape(&outcome.scim_type))
                };
                format!("{kind}{}", escape(&outcome.detail))
            } else {
                String::new()
            };
            let hint = if outcome.status >= 400 {
                hint(outcome).map(escape).unwrap_or_default()
            } else {
                String::new()
            };
            let key = names
                .get(outcome.key_id.as_str())
                .map_or_else(|| escape(&outcome.key_id), |name| escape(name));
            let _ = writeln!(
                body,
                r#"<tr><td>{}</td><td><code>{}</code>{}</td><td><code>{}</code></td><td>{}</td><td>{error}</td><td>{hint}</td><td>{key}</td></tr>"#,
                html::time(outcome.request_time.as_ref()),
                escape(&request_line(outcome)),
                if outcome.connection_test {
                    "<br><small>Test API Credentials</small>"
                } else {
                    ""
                },
                escape(&outcome.resource_id),
                status_badge(outcome.status),
            );
        }
        body.push_str("</tbody></table>\n");
    }
    if !next.is_empty() {
        let _ = writeln!(
            body,
            r#"<p><a href="/portal/activity?{}">Older requests</a></p>"#,
            escape(&filter.query(&next))
        );
    }
    Ok(session.page(StatusCode::OK, Section::Activity, None, &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(route: &str, status: i32, scim_type: &str, detail: &str) -> pb::ProvisioningOutcome {
        pb::ProvisioningOutcome {
            route: route.into(),
            status,
            scim_type: scim_type.into(),
            detail: detail.into(),
            ..Default::default()
        }
    }

    #[test]
    fn failures_get_hints_that_fit_them() {
        let user_taken = failure("/scim/v2/Users", 409, "uniqueness", "taken");
        assert!(hint(&user_taken).is_some_and(|hint| hint.contains("userName")));
        let group_taken = failure("/scim/v2/Groups", 409, "uniqueness", "taken");
        assert!(hint(&group_taken).is_some_and(|hint| hint.contains("Link Group")));
        let domain = failure(
            "/scim/v2/Users/{id}",
            400,
            "mutability",
            "a@b.c: \"b.c\" is not a verified domain of this team",
        );
        assert!(hint(&domain).is_some_and(|hint| hint.contains("Verified domains")));
        assert!(hint(&failure("/scim/v2/Users", 200, "", "")).is_none());
    }

    #[test]
    fn activity_filters_accept_only_what_they_offer() {
        let filter = ActivityFilter::parse(Some(
            "result=failed&resource=Users&period=24h&id=abc&page=123",
        ));
        assert!(filter.failed_only);
        assert_eq!((filter.resource, filter.period), ("Users", "24h"));
        assert_eq!(filter.page, "123");
        let hostile = ActivityFilter::parse(Some("resource=<x>&period=9y&page=1;drop"));
        assert_eq!((hostile.resource, hostile.period), ("", "7d"));
        assert_eq!(hostile.page, "");
        assert!(filter.query("99").contains("page=99"));
    }
}

//! The users and groups the identity provider manages: counts, a searchable list of users, and
//! the groups it has pushed or linked.

use std::fmt::Write as _;

use axum::extract::RawQuery;
use axum::http::StatusCode;
use identity_proto::fields::managed_by::SCIM as MANAGED_BY_SCIM;
use identity_proto::fields::{group as group_fields, user as user_fields};
use identity_proto::v1 as pb;
use pb::filter::Expression;

use super::html::{self, Section, escape};
use super::session::Session;
use super::{PortalError, PortalResult};

/// Users listed on one page.
const USERS_PAGE_SIZE: i32 = 50;
/// Groups listed (the first, in creation order).
const GROUPS_LISTED: i32 = 200;
/// Longest search accepted.
const MAX_SEARCH_CHARS: usize = 200;

fn compare(field: &str, op: pb::Operator, value: &str) -> pb::Filter {
    pb::Filter {
        expression: Some(Expression::Comparison(pb::Comparison {
            field: field.to_owned(),
            op: op.into(),
            value: Some(pb::FilterValue {
                kind: Some(pb::filter_value::Kind::StringValue(value.to_owned())),
            }),
            element_type: String::new(),
        })),
    }
}

fn all_of(filters: Vec<pb::Filter>) -> pb::Filter {
    pb::Filter {
        expression: Some(Expression::AllOf(pb::FilterList { filters })),
    }
}

/// SCIM-managed users, and among them those matching `search` (user name, email or name).
fn users_filter(search: &str, active_only: bool) -> pb::Filter {
    let mut filters = vec![compare(
        user_fields::MANAGED_BY,
        pb::Operator::Eq,
        MANAGED_BY_SCIM,
    )];
    if !search.is_empty() {
        filters.push(pb::Filter {
            expression: Some(Expression::AnyOf(pb::FilterList {
                filters: [
                    user_fields::USER_NAME,
                    user_fields::EMAIL,
                    user_fields::DISPLAY_NAME,
                    user_fields::GIVEN_NAME,
                    user_fields::FAMILY_NAME,
                ]
                .into_iter()
                .map(|field| compare(field, pb::Operator::Co, search))
                .collect(),
            })),
        });
    }
    if active_only {
        filters.push(pb::Filter {
            expression: Some(Expression::Comparison(pb::Comparison {
                field: user_fields::ACTIVE.to_owned(),
                op: pb::Operator::Eq.into(),
                value: Some(pb::FilterValue {
                    kind: Some(pb::filter_value::Kind::BoolValue(true)),
                }),
                element_type: String::new(),
            })),
        });
    }
    all_of(filters)
}

impl Session {
    async fn count_users(&self, filter: pb::Filter) -> Result<i64, PortalError> {
        Ok(self
            .call
            .users()
            .list_users(self.call.request(pb::ListUsersRequest {
                filter: Some(filter),
                page: Some(pb::PageRequest {
                    page_size: 1,
                    include_total_size: true,
                    ..Default::default()
                }),
                ..Default::default()
            }))
            .await?
            .into_inner()
            .page
            .and_then(|page| page.total_size)
            .unwrap_or(0))
    }
}

/// `GET /portal/directory?q=…&page=…`.
pub(crate) async fn directory(RawQuery(query): RawQuery, session: Session) -> PortalResult {
    let mut search = String::new();
    let mut page_token = String::new();
    for (name, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "q" => search = value.trim().chars().take(MAX_SEARCH_CHARS).collect(),
            "page" => page_token = value.chars().take(200).collect(),
            _ => {}
        }
    }
    let (mut users, mut groups) = (session.call.users(), session.call.groups());
    let (total, active, listed, groups) = tokio::join!(
        session.count_users(users_filter("", false)),
        session.count_users(users_filter("", true)),
        users.list_users(session.call.request(pb::ListUsersRequest {
            filter: Some(users_filter(&search, false)),
            page: Some(pb::PageRequest {
                page_size: USERS_PAGE_SIZE,
                page_token: page_token.clone(),
                include_total_size: !search.is_empty(),
                ..Default::default()
            }),
            ..Default::default()
        })),
        groups.list_groups(session.call.request(pb::ListGroupsRequest {
            filter: Some(compare(
                group_fields::MANAGED_BY,
                pb::Operator::Eq,
                MANAGED_BY_SCIM,
            )),
            page: Some(pb::PageRequest {
                page_size: GROUPS_LISTED,
                include_total_size: true,
                ..Default::default()
            }),
            ..Default::default()
        })),
    );
    let (total, active) = (total?, active?);
    let listed = listed?.into_inner();
    let groups = groups?.into_inner();
    let linked = groups
        .page
        .as_ref()
        .and_then(|page| page.total_size)
        .unwrap_or(0);
    let mut body = format!(
        r#"<section aria-labelledby="counts"><h2 id="counts">Provisioned by your identity provider</h2>
<dl class="counts"><div><dt>Users</dt><dd>{total}</dd></div><div><dt>Active users</dt><dd>{active}</dd></div><div><dt>Deactivated users</dt><dd>{}</dd></div><div><dt>Groups</dt><dd>{linked}</dd></div></dl>
</section>
<section aria-labelledby="users"><h2 id="users">Users</h2>
<form class="filters" method="get" action="/portal/directory" role="search" aria-label="Search users">
<p><label for="q">Search by user name, email or name</label> <input id="q" name="q" type="search" value="{}" maxlength="{MAX_SEARCH_CHARS}"> <button type="submit">Search</button></p></form>
"#,
        total - active,
        escape(&search),
    );
    if let Some(matches) = listed.page.as_ref().and_then(|page| page.total_size) {
        let _ = writeln!(
            body,
            r#"<p role="status">{matches} user{} match{} “{}”.</p>"#,
            if matches == 1 { "" } else { "s" },
            if matches == 1 { "es" } else { "" },
            escape(&search)
        );
    }
    if listed.users.is_empty() {
        body.push_str("<p>No users to show.</p>\n");
    } else {
        body.push_str(
            r#"<table><thead><tr><th scope="col">User name</th><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead><tbody>
"#,
        );
        for user in &listed.users {
            let name = [user.given_name.as_deref(), user.family_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
            let email = user
                .emails
                .iter()
                .find(|email| email.primary)
                .or(user.emails.first())
                .map_or("", |email| email.value.as_str());
            let _ = writeln!(
                body,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&user.user_name),
                escape(&name),
                escape(email),
                if user.active { "active" } else { "deactivated" },
                html::time(user.create_time.as_ref()),
            );
        }
        body.push_str("</tbody></table>\n");
    }
    let next = listed
        .page
        .map(|page| page.next_page_token)
        .unwrap_or_default();
    if !next.is_empty() {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &search)
            .append_pair("page", &next)
            .finish();
        let _ = writeln!(
            body,
            r#"<p><a href="/portal/directory?{}">Next users</a></p>"#,
            escape(&query)
        );
    }
    body.push_str(
        r#"</section>
<section aria-labelledby="groups"><h2 id="groups">Groups</h2>
<p>Groups your identity provider pushed, or linked to a group made in the product: their members follow the identity provider.</p>
"#,
    );
    if groups.groups.is_empty() {
        body.push_str("<p>No groups pushed or linked yet.</p>\n");
    } else {
        body.push_str(
            r#"<table><thead><tr><th scope="col">Group</th><th scope="col">External id</th><th scope="col">Created</th><th scope="col">Last changed</th></tr></thead><tbody>
"#,
        );
        for group in &groups.groups {
            let _ = writeln!(
                body,
                r#"<tr><th scope="row">{}</th><td>{}</td><td>{}</td><td>{}</td></tr>"#,
                escape(&group.display_name),
                escape(group.external_id.as_deref().unwrap_or("")),
                html::time(group.create_time.as_ref()),
                html::time(group.update_time.as_ref()),
            );
        }
        body.push_str("</tbody></table>\n");
    }
    body.push_str("</section>");
    Ok(session.page(StatusCode::OK, Section::Directory, None, &body))
}

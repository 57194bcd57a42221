//! Groups with their members, answered as the service pages them: the documents up to their
//! `members`, then the members a page (1,000) at a time. An answer's memory stays about a page
//! however large its groups. The first page of every group is read before answering, so that a
//! refusal is still a SCIM error; a failure later cuts the response short.

use std::collections::VecDeque;

use axum::body::Body;
use identity_proto::v1 as pb;
use serde_json::{Map, Value, json};

use super::codec;
use crate::client::Call;
use crate::scim::document;
use crate::scim::error::{ScimError, ScimResult};
use crate::scim::render::{self, location};
use crate::scim::schema::{self, GROUP_TYPE, USER_TYPE};

/// Members read per call.
const MEMBER_PAGE_SIZE: i32 = 1000;

/// The members a list of groups carries in all: past it the page ends early (`itemsPerPage`
/// says how many groups it holds; RFC 7644 lets a server return fewer than `count`). The first
/// group is always answered, however large.
const MAX_LISTED_MEMBERS: i64 = 50_000;

/// Which of a member's attributes an answer carries.
#[derive(Clone, Copy)]
struct MemberFields {
    value: bool,
    reference: bool,
    kind: bool,
}

impl MemberFields {
    const ALL: MemberFields = MemberFields {
        value: true,
        reference: true,
        kind: true,
    };

    /// A member as a group's `members` lists it.
    fn render(self, base_url: &str, user_id: &str) -> Value {
        let mut object = Map::new();
        if self.value {
            object.insert("value".into(), user_id.into());
        }
        if self.reference {
            let reference = location(base_url, &USER_TYPE, user_id);
            object.insert("$ref".into(), reference.into());
        }
        if self.kind {
            object.insert("type".into(), "User".into());
        }
        Value::Object(object)
    }
}

/// A group's document under the projection, without its members, and which member attributes
/// the projection keeps (`None`: no `members` at all). The projection decides once, on a
/// sample member.
fn projected(
    call: &Call,
    group: &pb::Group,
    attributes: &[String],
    excluded: &[String],
) -> (Map<String, Value>, Option<MemberFields>) {
    let sample = MemberFields::ALL.render(call.base_url(), "");
    let mut document = document::project(
        codec::to_document(call.base_url(), group, Some(vec![sample])),
        &GROUP_TYPE,
        attributes,
        excluded,
    );
    let kept = match document.remove("members") {
        Some(Value::Array(mut sample)) => match sample.pop() {
            Some(Value::Object(kept)) => Some(MemberFields {
                value: kept.contains_key("value"),
                reference: kept.contains_key("$ref"),
                kind: kept.contains_key("type"),
            })
            .filter(|fields| fields.value || fields.reference || fields.kind),
            _ => None,
        },
        _ => None,
    };
    (document, kept)
}

/// One page of a group's members: the members, the token of the next page (empty: the last)
/// and, when asked, how many members the group has.
async fn member_page(
    call: &Call,
    group_id: &str,
    page_token: String,
    include_total_size: bool,
) -> ScimResult<(Vec<pb::GroupMember>, String, i64)> {
    let request = pb::ListGroupMembersRequest {
        group_id: group_id.to_owned(),
        page: Some(pb::PageRequest {
            page_size: MEMBER_PAGE_SIZE,
            page_token,
            include_total_size,
            ..Default::default()
        }),
        ..Default::default()
    };
    let response = call
        .groups()
        .list_group_members(call.request(request))
        .await?
        .into_inner();
    let page = response.page.unwrap_or_default();
    Ok((
        response.members,
        page.next_page_token,
        page.total_size.unwrap_or(0),
    ))
}

/// A group whose first page of members is read.
struct Pending {
    group_id: String,
    /// The document up to its members: `{…,"members":[`.
    head: Vec<u8>,
    first: Vec<pb::GroupMember>,
    next_token: String,
}

impl Pending {
    async fn read(
        call: &Call,
        group_id: &str,
        document: Map<String, Value>,
        include_total_size: bool,
    ) -> ScimResult<(Pending, i64)> {
        let (first, next_token, total) =
            member_page(call, group_id, String::new(), include_total_size).await?;
        let mut head = render::json_bytes(&Value::Object(document));
        head.pop(); // the closing brace: the members follow
        head.extend_from_slice(b",\"members\":[");
        let pending = Pending {
            group_id: group_id.to_owned(),
            head,
            first,
            next_token,
        };
        Ok((pending, total))
    }
}

/// The state of a streaming answer.
struct Members {
    call: Call,
    kept: MemberFields,
    groups: VecDeque<Pending>,
    /// The group being paged and the token of its next page.
    paging: Option<(String, String)>,
    /// What is rendered and not yet sent.
    chunk: Vec<u8>,
    /// Groups begun, and members written in the current one (for the commas).
    begun: usize,
    written: usize,
    /// Written after the last group: `]}` closes a list's envelope.
    tail: &'static [u8],
    finished: bool,
}

impl Members {
    fn new(call: &Call, kept: MemberFields, head: Vec<u8>, tail: &'static [u8]) -> Members {
        Members {
            call: call.clone(),
            kept,
            groups: VecDeque::new(),
            paging: None,
            chunk: head,
            begun: 0,
            written: 0,
            tail,
            finished: false,
        }
    }

    fn render(&mut self, members: &[pb::GroupMember]) {
        for member in members {
            if self.written > 0 {
                self.chunk.push(b',');
            }
            self.written += 1;
            let member = self.kept.render(self.call.base_url(), &member.user_id);
            self.chunk.extend_from_slice(&render::json_bytes(&member));
        }
    }

    /// Renders what needs no call: groups whose members are all read, until one has more pages
    /// (then `paging` names it) or none is left (then the answer is complete).
    fn advance(&mut self, next_token: String, group_id: String) {
        if !next_token.is_empty() {
            self.paging = Some((group_id, next_token));
            return;
        }
        self.chunk.extend_from_slice(b"]}");
        match self.groups.pop_front() {
            Some(group) => self.begin(group),
            None => {
                self.chunk.extend_from_slice(self.tail);
                self.finished = true;
            }
        }
    }

    fn begin(&mut self, group: Pending) {
        if self.begun > 0 {
            self.chunk.push(b',');
        }
        self.begun += 1;
        self.written = 0;
        self.chunk.extend_from_slice(&group.head);
        self.render(&group.first);
        self.advance(group.next_token, group.group_id);
    }

    /// The body: whole when every member is read already, else streamed.
    fn into_body(mut self, groups: Vec<Pending>) -> Body {
        self.groups = groups.into();
        match self.groups.pop_front() {
            Some(first) => self.begin(first),
            None => {
                self.chunk.extend_from_slice(self.tail);
                self.finished = true;
            }
        }
        if self.finished {
            Body::from(self.chunk)
        } else {
            Body::from_stream(futures_util::stream::unfold(self, Members::next))
        }
    }

    /// Sends what is rendered, then reads the next page, until the answer is complete.
    async fn next(mut self) -> Option<(Result<Vec<u8>, ScimError>, Self)> {
        let Some((group_id, token)) = self.paging.take() else {
            return (!self.chunk.is_empty()).then(|| (Ok(std::mem::take(&mut self.chunk)), self));
        };
        let sent = std::mem::take(&mut self.chunk);
        match member_page(&self.call, &group_id, token, false).await {
            Ok((members, next_token, _)) => {
                self.render(&members);
                self.advance(next_token, group_id);
                Some((Ok(sent), self))
            }
            Err(error) => {
                tracing::warn!(%group_id, %error, "a group's answer was cut short");
                Some((Err(error), self))
            }
        }
    }
}

/// One group's document: whole, or streamed when its members take more than a page.
pub(super) async fn group(
    call: &Call,
    group: &pb::Group,
    attributes: &[String],
    excluded: &[String],
) -> ScimResult<Body> {
    let (document, kept) = projected(call, group, attributes, excluded);
    let Some(kept) = kept else {
        return Ok(Body::from(render::json_bytes(&Value::Object(document))));
    };
    let (pending, _) = Pending::read(call, &group.id, document, false).await?;
    Ok(Members::new(call, kept, Vec::new(), b"").into_body(vec![pending]))
}

/// A ListResponse of `groups`: with members, as many groups as fit within the members' budget
/// (the first whatever its size), their members streamed.
pub(super) async fn list(
    call: &Call,
    total: i64,
    start_index: i64,
    groups: Vec<pb::Group>,
    attributes: &[String],
    excluded: &[String],
) -> ScimResult<Body> {
    let mut documents = Vec::with_capacity(groups.len());
    let mut kept = None;
    for group in &groups {
        let (document, fields) = projected(call, group, attributes, excluded);
        kept = kept.or(fields);
        documents.push((group.id.as_str(), document));
    }
    let Some(kept) = kept else {
        let resources = documents
            .into_iter()
            .map(|(_, document)| Value::Object(document))
            .collect();
        let list = render::list_response(total, start_index, resources);
        return Ok(Body::from(render::json_bytes(&list)));
    };
    let mut pending = Vec::with_capacity(documents.len());
    let mut budget = MAX_LISTED_MEMBERS;
    for (group_id, document) in documents {
        let (group, members) = Pending::read(call, group_id, document, true).await?;
        if !pending.is_empty() && members > budget {
            break;
        }
        budget = budget.saturating_sub(members);
        pending.push(group);
    }
    let mut envelope = render::json_bytes(&json!({
        "schemas": [schema::LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": pending.len(),
    }));
    envelope.pop(); // the closing brace: the resources follow
    envelope.extend_from_slice(b",\"Resources\":[");
    Ok(Members::new(call, kept, envelope, b"]}").into_body(pending))
}

//! The PATCH back end for groups: the steps of one PATCH — rename, external id and any number
//! of member adds, removes and replaces — as ONE `ModifyGroup` request: atomic, and never a
//! read of the member list.

use identity_proto::v1 as pb;
use pb::membership_change::Change;
use serde_json::Value;

use super::codec::{display_name, external_id, member_ids};
use crate::filter::{Filter, Literal, Op};
use crate::patch::{OpKind, Step, Target};
use crate::scim::error::{ScimError, ScimResult};

pub(crate) fn change(
    kind: fn(pb::MemberIds) -> Change,
    user_ids: Vec<String>,
) -> pb::MembershipChange {
    pb::MembershipChange {
        change: Some(kind(pb::MemberIds { user_ids })),
    }
}

/// The ids a `members[value eq "a" or value eq "b"]` filter names.
fn filtered_member_ids(filter: &Filter, ids: &mut Vec<String>) -> ScimResult<()> {
    match filter {
        Filter::Or(left, right) => {
            filtered_member_ids(left, ids)?;
            filtered_member_ids(right, ids)
        }
        Filter::Compare {
            path,
            op: Op::Eq,
            value: Literal::Text(id),
        } if path.eq_ignore_ascii_case("value") => {
            ids.push(id.clone());
            Ok(())
        }
        _ => Err(ScimError::invalid_filter(
            "members[…] supports value eq \"<user id>\" (joined by or)",
        )),
    }
}

/// The steps of one PATCH as one ModifyGroup request.
pub(crate) fn modify_group_request(
    id: &str,
    steps: Vec<Step>,
) -> ScimResult<pb::ModifyGroupRequest> {
    let mut request = pb::ModifyGroupRequest {
        group_id: id.to_owned(),
        ..Default::default()
    };
    for step in steps {
        let op = step.op;
        let value = step.value.unwrap_or(Value::Null);
        match (&step.target, step.target.whole_attribute()) {
            // Okta sends the group's id along with a rename.
            (Target::ExternalId, _) => {
                request.external_id = Some(if op == OpKind::Remove {
                    String::new()
                } else {
                    external_id(value)?
                });
            }
            (_, Some("displayName")) => {
                if op == OpKind::Remove {
                    return Err(ScimError::mutability(
                        "displayName is required and cannot be removed",
                    ));
                }
                request.display_name = Some(display_name(value)?);
            }
            (_, Some("members")) => {
                let step = match (op, value) {
                    (OpKind::Add, value) => change(Change::Add, member_ids(value)?),
                    (OpKind::Replace, value) => change(Change::Replace, member_ids(value)?),
                    // Entra: remove the listed members; with no value, remove everyone.
                    (OpKind::Remove, Value::Null) => change(Change::Replace, Vec::new()),
                    (OpKind::Remove, value) => change(Change::Remove, member_ids(value)?),
                };
                request.changes.push(step);
            }
            (
                Target::Attribute {
                    attribute,
                    sub: None,
                    filter: Some(filter),
                    ..
                },
                _,
            ) if attribute.name == "members" && op == OpKind::Remove => {
                let mut ids = Vec::new();
                filtered_member_ids(filter, &mut ids)?;
                request.changes.push(change(Change::Remove, ids));
            }
            _ => {
                return Err(ScimError::invalid_path(format!(
                    "{:?} cannot be changed with {op:?}; groups take displayName, externalId and members",
                    step.text
                )));
            }
        }
    }
    Ok(request)
}

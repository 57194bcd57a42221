//! The change log's vocabulary: what an `Event.action` says, and the resource type it is about.

/// Every action the change log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    UserCreated,
    UserUpdated,
    UserDeleted,
    GroupCreated,
    GroupUpdated,
    GroupDeleted,
    GroupMemberAdded,
    GroupMemberRemoved,
    TenantCreated,
    TenantUpdated,
    TenantDomainAdded,
    TenantDomainRemoved,
    ApiKeyIssued,
    ApiKeyRevoked,
    ApiKeyRotated,
    /// A portal link was made for an admin.
    PortalLinkCreated,
    /// A portal link was followed: its session began.
    PortalSessionStarted,
    /// A portal session was signed out of, or ended because its admin no longer may act.
    PortalSessionEnded,
}

impl Action {
    pub const ALL: [Action; 18] = [
        Action::UserCreated,
        Action::UserUpdated,
        Action::UserDeleted,
        Action::GroupCreated,
        Action::GroupUpdated,
        Action::GroupDeleted,
        Action::GroupMemberAdded,
        Action::GroupMemberRemoved,
        Action::TenantCreated,
        Action::TenantUpdated,
        Action::TenantDomainAdded,
        Action::TenantDomainRemoved,
        Action::ApiKeyIssued,
        Action::ApiKeyRevoked,
        Action::ApiKeyRotated,
        Action::PortalLinkCreated,
        Action::PortalSessionStarted,
        Action::PortalSessionEnded,
    ];

    /// `Event.action`, e.g. `user.created`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::UserCreated => "user.created",
            Action::UserUpdated => "user.updated",
            Action::UserDeleted => "user.deleted",
            Action::GroupCreated => "group.created",
            Action::GroupUpdated => "group.updated",
            Action::GroupDeleted => "group.deleted",
            Action::GroupMemberAdded => "group.member_added",
            Action::GroupMemberRemoved => "group.member_removed",
            Action::TenantCreated => "tenant.created",
            Action::TenantUpdated => "tenant.updated",
            Action::TenantDomainAdded => "tenant.domain_added",
            Action::TenantDomainRemoved => "tenant.domain_removed",
            Action::ApiKeyIssued => "api_key.issued",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::ApiKeyRotated => "api_key.rotated",
            Action::PortalLinkCreated => "portal_session.link_created",
            Action::PortalSessionStarted => "portal_session.started",
            Action::PortalSessionEnded => "portal_session.ended",
        }
    }

    /// `Event.resource_type`: what the action is about (`user`, `group`, `tenant`, `api_key`,
    /// `portal_session`).
    pub fn resource_type(self) -> &'static str {
        self.as_str()
            .split_once('.')
            .map_or("", |(resource_type, _)| resource_type)
    }

    /// The action an `Event.action` names.
    pub fn parse(text: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_name_their_resource_type() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert!(
                ["user", "group", "tenant", "api_key", "portal_session"]
                    .contains(&action.resource_type()),
                "{action:?}"
            );
        }
    }
}

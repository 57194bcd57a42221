//! The admin portal's sessions: started once from a link made for one of a tenant's admins.

use super::{Micros, TenantId, UserId};

/// How long a portal session lasts from the link's use (it ends sooner when signed out of, or
/// when its admin is deactivated or no longer an admin).
pub const PORTAL_SESSION_LIFETIME: Micros = 3600 * 1_000_000;

/// A portal session (or, before its link is used, the link that will start it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortalSession {
    pub id: String,
    pub tenant_id: TenantId,
    /// The admin it acts as.
    pub user_id: UserId,
    pub created_at: Micros,
    /// When the link stops working, unused.
    pub link_expires_at: Micros,
    /// When the link was used; `None` while it waits.
    pub started_at: Option<Micros>,
    pub expires_at: Option<Micros>,
    pub ended_at: Option<Micros>,
}

impl PortalSession {
    /// Whether the session may act at `now`: started, not ended, not expired.
    pub fn is_live(&self, now: Micros) -> bool {
        self.started_at.is_some()
            && self.ended_at.is_none()
            && self.expires_at.is_some_and(|expires| now < expires)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_live_from_its_start_until_it_expires_or_ends() {
        let waiting = PortalSession {
            id: "s".into(),
            tenant_id: "t".into(),
            user_id: "u".into(),
            created_at: 0,
            link_expires_at: 100,
            started_at: None,
            expires_at: None,
            ended_at: None,
        };
        assert!(!waiting.is_live(10));
        let started = PortalSession {
            started_at: Some(10),
            expires_at: Some(10 + PORTAL_SESSION_LIFETIME),
            ..waiting
        };
        assert!(started.is_live(11));
        assert!(!started.is_live(10 + PORTAL_SESSION_LIFETIME));
        let ended = PortalSession {
            ended_at: Some(12),
            ..started
        };
        assert!(!ended.is_live(13));
    }
}

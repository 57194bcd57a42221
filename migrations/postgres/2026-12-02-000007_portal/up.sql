-- The admin portal's links and the browser sessions they start: one row per link. A link is
-- consumed by setting its session (hash and times) where none is set yet, so it works once on
-- any replica. Only SHA-256 hashes of the secrets are kept.
CREATE TABLE portal_sessions (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- The admin the session acts as.
    user_id TEXT COLLATE "C" NOT NULL,
    -- The key that made the link.
    created_by TEXT COLLATE "C" NOT NULL,
    link_hash TEXT COLLATE "C" NOT NULL UNIQUE,
    link_expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    session_hash TEXT COLLATE "C" UNIQUE,
    started_at BIGINT,
    expires_at BIGINT,
    ended_at BIGINT
);
CREATE INDEX portal_sessions_link_expiry ON portal_sessions (link_expires_at);
-- The key that replaced a key by rotation (a key retiring within its grace period).
ALTER TABLE api_keys ADD COLUMN replaced_by TEXT COLLATE "C";

-- The change log: one row per change, written in the transaction of the change itself.
-- `sequence` comes from `event_sequence`, whose single row every writing transaction updates
-- last: the row lock (PostgreSQL) or the single writer (SQLite) hands out sequence numbers in
-- commit order, so a reader that has seen N never later finds a committed event below N.
CREATE TABLE event_sequence (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last BIGINT NOT NULL,
    -- Events up to this sequence may have been pruned by retention.
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_sequence (id, last, pruned_through) VALUES (1, 0, 0);

CREATE TABLE events (
    sequence BIGINT PRIMARY KEY NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    actor_key_id TEXT NOT NULL,
    actor_key_kind TEXT NOT NULL,
    actor_user_id TEXT,
    action TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    -- A JSON array of {"field", "old", "new"} (values as JSON; secrets never appear).
    changes TEXT NOT NULL,
    request_id TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_tenant_sequence ON events (tenant_id, sequence);
CREATE INDEX events_resource ON events (resource_id, sequence);
CREATE INDEX events_created ON events (created_at);

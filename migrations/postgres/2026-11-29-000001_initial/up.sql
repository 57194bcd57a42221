-- Times are microseconds since the Unix epoch (UTC); ids are UUID text; booleans are 0/1
-- (diesel's MultiConnection carries only basic SQL types). Text compares byte-wise (COLLATE "C"),
-- as in SQLite, so that ordering, keyset paging and range filters agree across backends.

CREATE TABLE tenants (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    scim_enabled INTEGER NOT NULL DEFAULT 0,
    settings TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX tenants_created ON tenants (created_at, id);

CREATE TABLE users (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_name TEXT COLLATE "C" NOT NULL,
    user_name_key TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C",
    display_name TEXT COLLATE "C",
    display_name_key TEXT COLLATE "C",
    given_name TEXT COLLATE "C",
    given_name_key TEXT COLLATE "C",
    family_name TEXT COLLATE "C",
    family_name_key TEXT COLLATE "C",
    active INTEGER NOT NULL,
    attributes TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    managed_by TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_tenant_user_name_key ON users (tenant_id, user_name_key);
CREATE INDEX users_tenant_external_id ON users (tenant_id, external_id);
CREATE INDEX users_tenant_created ON users (tenant_id, created_at, id);

CREATE TABLE user_emails (
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    value_key TEXT COLLATE "C" NOT NULL,
    kind TEXT COLLATE "C" NOT NULL DEFAULT '',
    is_primary INTEGER NOT NULL DEFAULT 0,
    display TEXT COLLATE "C" NOT NULL DEFAULT '',
    PRIMARY KEY (user_id, position)
);
CREATE INDEX user_emails_tenant_value_key ON user_emails (tenant_id, value_key);

CREATE TABLE "groups" (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    display_name TEXT COLLATE "C" NOT NULL,
    display_name_key TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C",
    managed_by TEXT COLLATE "C" NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX groups_tenant_display_name_key ON "groups" (tenant_id, display_name_key);
CREATE INDEX groups_tenant_external_id ON "groups" (tenant_id, external_id);
CREATE INDEX groups_tenant_created ON "groups" (tenant_id, created_at, id);

CREATE TABLE memberships (
    group_id TEXT COLLATE "C" NOT NULL REFERENCES "groups" (id) ON DELETE CASCADE,
    user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id, group_id);
CREATE INDEX memberships_tenant ON memberships (tenant_id, group_id);

CREATE TABLE api_keys (
    id TEXT COLLATE "C" PRIMARY KEY NOT NULL,
    -- NULL: a service key over every tenant.
    tenant_id TEXT COLLATE "C" REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT COLLATE "C" NOT NULL,
    access TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    prefix TEXT COLLATE "C" NOT NULL,
    -- Hex SHA-256 of the secret; the secret itself is never stored.
    secret_hash TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash);
CREATE INDEX api_keys_tenant_created ON api_keys (tenant_id, created_at, id);

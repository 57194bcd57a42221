-- The provisioning log: what the SCIM gateway answered each request of a tenant's identity
-- provider, reported in batches and kept for --provisioning-log-retention-days. No bodies,
-- headers or secrets: the key is stored by id. `sequence` is an identity column (newest = largest).
CREATE TABLE provisioning_outcomes (
    sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id TEXT COLLATE "C" NOT NULL,
    key_id TEXT NOT NULL,
    request_time BIGINT NOT NULL,
    request_id TEXT NOT NULL,
    client_address TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    method TEXT NOT NULL,
    route TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    status INTEGER NOT NULL,
    scim_type TEXT NOT NULL,
    detail TEXT NOT NULL,
    latency_micros BIGINT NOT NULL
);
CREATE INDEX provisioning_outcomes_tenant ON provisioning_outcomes (tenant_id, sequence);
-- "Why did it fail?": failures are few among many successes, so they get their own index.
CREATE INDEX provisioning_outcomes_failed ON provisioning_outcomes (tenant_id, sequence)
    WHERE status >= 400;
CREATE INDEX provisioning_outcomes_resource ON provisioning_outcomes (tenant_id, resource_id, sequence);
CREATE INDEX provisioning_outcomes_request ON provisioning_outcomes (tenant_id, request_id);
CREATE INDEX provisioning_outcomes_time ON provisioning_outcomes (request_time);

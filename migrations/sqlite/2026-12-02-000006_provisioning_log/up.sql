-- The provisioning log: what the SCIM gateway answered each request of a tenant's identity
-- provider. The gateway reports outcomes in batches (about a second of one key's requests), and
-- a batch is stored as one row: recording costs one insert per batch, not one per request. The
-- columns are what listings filter batches by; `outcomes` is the batch itself (see
-- store/provisioning.rs). No bodies, headers or secrets: the key is stored by id.
CREATE TABLE provisioning_batches (
    sequence INTEGER PRIMARY KEY NOT NULL,
    tenant_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    first_request_time BIGINT NOT NULL,
    last_request_time BIGINT NOT NULL,
    size INTEGER NOT NULL,
    failures INTEGER NOT NULL,
    outcomes BLOB NOT NULL
);
CREATE INDEX provisioning_batches_tenant ON provisioning_batches (tenant_id, sequence);
-- "Why did it fail?": batches with failures are few among many without.
CREATE INDEX provisioning_batches_failed ON provisioning_batches (tenant_id, sequence)
    WHERE failures > 0;
CREATE INDEX provisioning_batches_time ON provisioning_batches (last_request_time);

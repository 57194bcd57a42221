-- The domains a tenant has verified (elsewhere in the product), lower case.
CREATE TABLE verified_domains (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    domain TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, domain)
);

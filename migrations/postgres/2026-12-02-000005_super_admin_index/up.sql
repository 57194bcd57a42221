-- The last-super-admin rule counts a tenant's active super admins: an index range, not a
-- walk of the tenant's users.
CREATE INDEX users_tenant_role ON users (tenant_id, role, active);

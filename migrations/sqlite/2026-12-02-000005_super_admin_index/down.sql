DROP INDEX users_tenant_role;

//! Tenants (customer teams).

use diesel::prelude::*;
use identity_proto::events::Action;

use super::connection::{AnyConnection, MultiBackend};
use super::events::{ChangeLog, Snapshot, diff};
use super::filter::{self, paged};
use super::schema::{tenants, verified_domains};
use super::{Store, StoreError, StoreResult, touched, version_bounds};
use crate::model::{
    FieldChange, Page, PageQuery, Resource, Tenant, TenantChanges, TenantFields, TenantId, new_id,
    now_micros,
};
use crate::policy::{self, Rpc};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = tenants)]
#[diesel(check_for_backend(MultiBackend))]
struct TenantRow {
    id: String,
    name: String,
    scim_enabled: i32,
    settings: String,
    version: i64,
    created_at: i64,
    updated_at: i64,
}

#[derive(AsChangeset)]
#[diesel(table_name = tenants)]
struct TenantChangeset {
    name: Option<String>,
    scim_enabled: Option<i32>,
    settings: Option<String>,
}

impl From<TenantRow> for Tenant {
    fn from(row: TenantRow) -> Self {
        Tenant {
            id: row.id.into(),
            fields: TenantFields {
                name: row.name,
                scim_enabled: row.scim_enabled != 0,
                settings: row.settings,
            },
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

fn find_row(conn: &mut AnyConnection, id: &str) -> StoreResult<TenantRow> {
    tenants::table
        .filter(tenants::id.eq(id))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound(Resource::Tenant))
}

/// A tenant's fields, read inside the caller's transaction.
pub(super) fn tenant_fields(conn: &mut AnyConnection, id: &str) -> StoreResult<TenantFields> {
    Ok(Tenant::from(find_row(conn, id)?).fields)
}

fn snapshot(fields: &TenantFields) -> Snapshot {
    let mut snapshot = Snapshot::new();
    snapshot.insert("name".into(), fields.name.clone().into());
    snapshot.insert("scim_enabled".into(), fields.scim_enabled.into());
    let settings: serde_json::Value =
        serde_json::from_str(&fields.settings).unwrap_or_else(|_| fields.settings.clone().into());
    snapshot.insert("settings".into(), settings);
    snapshot
}

pub(super) fn insert_tenant(
    conn: &mut AnyConnection,
    fields: TenantFields,
    log: &mut ChangeLog,
) -> StoreResult<Tenant> {
    let now = now_micros();
    let row = TenantRow {
        id: new_id(),
        name: fields.name,
        scim_enabled: i32::from(fields.scim_enabled),
        settings: fields.settings,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(tenants::table)
        .values(&row)
        .execute(conn)?;
    let tenant = Tenant::from(row);
    log.push(
        &tenant.id,
        Action::TenantCreated,
        &tenant.id,
        diff(None, Some(&snapshot(&tenant.fields))),
    );
    Ok(tenant)
}

pub(super) fn domains_of(conn: &mut AnyConnection, tenant_id: &str) -> StoreResult<Vec<String>> {
    Ok(verified_domains::table
        .filter(verified_domains::tenant_id.eq(tenant_id))
        .order(verified_domains::domain.asc())
        .select(verified_domains::domain)
        .load(conn)?)
}

pub(super) fn any_tenant(conn: &mut AnyConnection) -> StoreResult<Option<Tenant>> {
    Ok(tenants::table
        .order((tenants::created_at, tenants::id))
        .select(TenantRow::as_select())
        .first(conn)
        .optional()?
        .map(Tenant::from))
}

impl Store {
    pub async fn create_tenant(&self, fields: TenantFields) -> StoreResult<Tenant> {
        self.write_logged(move |conn, access, log| {
            access.authorize(conn, Rpc::CreateTenant)?;
            insert_tenant(conn, fields, log)
        })
        .await
    }

    pub async fn get_tenant(&self, id: &TenantId) -> StoreResult<Tenant> {
        let id = id.to_owned();
        self.read_statement(move |conn| Ok(find_row(conn, &id)?.into()))
            .await
    }

    pub async fn list_tenants(&self, page: PageQuery) -> StoreResult<Page<Tenant>> {
        self.read(move |conn| {
            let total = if page.include_total {
                Some(tenants::table.count().get_result::<i64>(conn)?)
            } else {
                None
            };
            let query = paged!(tenants::table.into_boxed::<MultiBackend>(), tenants, page);
            let mut rows: Vec<TenantRow> = query.select(TenantRow::as_select()).load(conn)?;
            let has_more = filter::trim_page(&mut rows, page.size);
            Ok(Page {
                items: rows.into_iter().map(Tenant::from).collect(),
                has_more,
                total,
            })
        })
        .await
    }

    pub async fn update_tenant(
        &self,
        id: &TenantId,
        changes: TenantChanges,
        expected_version: Option<i64>,
    ) -> StoreResult<Tenant> {
        let id = id.to_owned();
        self.write_logged(move |conn, access, log| {
            let before = Tenant::from(find_row(conn, &id)?);
            policy::may_update_tenant(access.caller(conn)?, &before.fields, &changes)?;
            let (lowest, highest) = version_bounds(expected_version);
            let updated = diesel::update(
                tenants::table
                    .filter(tenants::id.eq(&id))
                    .filter(tenants::version.between(lowest, highest)),
            )
            .set((
                &TenantChangeset {
                    name: changes.name,
                    scim_enabled: changes.scim_enabled.map(i32::from),
                    settings: changes.settings,
                },
                tenants::version.eq(tenants::version + 1),
                tenants::updated_at.eq(now_micros()),
            ))
            .execute(conn)?;
            touched(updated, expected_version, || {
                Ok(find_row(conn, &id)?.version)
            })?;
            let after = Tenant::from(find_row(conn, &id)?);
            let changes = diff(
                Some(&snapshot(&before.fields)),
                Some(&snapshot(&after.fields)),
            );
            if !changes.is_empty() {
                log.push(&id, Action::TenantUpdated, &id, changes);
            }
            Ok(after)
        })
        .await
    }
}

impl Store {
    /// Adds (`verified`) or removes a verified domain (lower case) and returns the tenant's
    /// domains; adding a present one or removing an absent one changes nothing.
    pub(crate) async fn set_verified_domain(
        &self,
        tenant_id: &str,
        domain: &str,
        verified: bool,
    ) -> StoreResult<Vec<String>> {
        let (tenant_id, domain) = (tenant_id.to_owned(), domain.to_owned());
        self.write_logged(move |conn, access, log| {
            let rpc = if verified {
                Rpc::AddVerifiedDomain
            } else {
                Rpc::RemoveVerifiedDomain
            };
            access.authorize(conn, rpc)?;
            find_row(conn, &tenant_id)?;
            let this_domain = verified_domains::table
                .filter(verified_domains::tenant_id.eq(&tenant_id))
                .filter(verified_domains::domain.eq(&domain));
            let present: bool =
                diesel::select(diesel::dsl::exists(this_domain)).get_result(conn)?;
            if present != verified {
                if verified {
                    diesel::insert_into(verified_domains::table)
                        .values((
                            verified_domains::tenant_id.eq(&tenant_id),
                            verified_domains::domain.eq(&domain),
                            verified_domains::created_at.eq(now_micros()),
                        ))
                        .execute(conn)?;
                } else {
                    diesel::delete(this_domain).execute(conn)?;
                }
                let (action, old, new) = if verified {
                    (Action::TenantDomainAdded, None, Some(domain.clone().into()))
                } else {
                    (
                        Action::TenantDomainRemoved,
                        Some(domain.clone().into()),
                        None,
                    )
                };
                log.push(
                    &tenant_id,
                    action,
                    &tenant_id,
                    vec![FieldChange {
                        field: "verified_domain".into(),
                        old,
                        new,
                    }],
                );
            }
            domains_of(conn, &tenant_id)
        })
        .await
    }

    /// A tenant's verified domains, in order.
    pub(crate) async fn verified_domains(&self, tenant_id: &str) -> StoreResult<Vec<String>> {
        let tenant_id = tenant_id.to_owned();
        self.read_statement(move |conn| domains_of(conn, &tenant_id))
            .await
    }
}

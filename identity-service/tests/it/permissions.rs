//! The permission matrix: every RPC of `identity.v1` × every caller class, with the outcome
//! written out here by hand (not derived from the policy code) — the same table as
//! `docs/permissions.md`. Every case runs on fresh targets; a new RPC without a row fails.

use identity_proto::v1 as pb;
use prost::Message as _;
use tonic::Code;

use crate::support::{
    App, Backend, Clients, create_user, document, mask, new_user, on_both_backends, reason,
    spawn_app,
};

const OK: &str = "OK";
const RO: &str = "READ_ONLY_KEY";
const KIND: &str = "KEY_KIND_NOT_ALLOWED";
const SCOPE: &str = "SCOPE_NOT_ALLOWED";
const ADMIN: &str = "ADMIN_REQUIRED";
const SUPER: &str = "SUPER_ADMIN_REQUIRED";
const SELF: &str = "SELF_CHANGE_NOT_ALLOWED";
const SVC: &str = "SERVICE_KEY_REQUIRED";
const INACTIVE: &str = "ACTING_USER_INACTIVE";
const NOT_LINKABLE: &str = "GROUP_NOT_LINKABLE";
const HIDDEN: &str = "GROUP_NOT_FOUND";
const SESSION_ONLY: &str = "PORTAL_SESSION_REQUIRED";
const NOT_PORTAL: &str = "PORTAL_SESSION_NOT_ALLOWED";

/// The columns: who calls.
const CLASSES: [&str; 9] = [
    "SCIM key",
    "operator (all-tenant key)",
    "tenant key, read-only",
    "tenant key, read-write",
    "member",
    "admin",
    "super admin",
    "deactivated admin",
    "admin's portal session",
];

/// One request per row; rows that share an RPC try its different targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    CreateUser,
    GetUser,
    LookupUser,
    ListUsers,
    UpdateOtherUser,
    UpdateOwnProfile,
    UpdateSuperAdminEmail,
    DeactivateSelf,
    SetManagedBy,
    DeleteUser,
    SetRoleAdmin,
    SetRoleSuperAdmin,
    ImportUsers,
    CreateGroup,
    GetGroup,
    GetGroupWithMembers,
    ListGroups,
    UpdateGroup,
    UpdateGroupWithMembers,
    DeleteGroup,
    ModifyGroup,
    ListGroupMembers,
    ListMembersOfGroupWithMembers,
    ListUserGroups,
    CheckMembership,
    CreateTenant,
    GetTenant,
    ListTenants,
    UpdateTenantName,
    WeakenEmailDomainRule,
    IssueScimKey,
    IssueServiceKey,
    IssueAllTenantsKey,
    ListApiKeys,
    RevokeScimKey,
    RevokeServiceKey,
    RotateScimKey,
    AddVerifiedDomain,
    RemoveVerifiedDomain,
    ListVerifiedDomains,
    ListEvents,
    WatchEvents,
    RecordOutcomes,
    ListOutcomes,
    CreatePortalLink,
    RedeemPortalLink,
    GetPortalSession,
    // Last: it ends the portal column's session.
    EndPortalSession,
}

use Case::*;

/// Columns in the order of [`CLASSES`].
#[rustfmt::skip]
const TABLE: &[(Case, [&str; 9])] = &[
    //                        SCIM   oper  t-ro   t-rw   member  admin  super  inactive  portal
    (CreateUser,            [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (GetUser,               [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (LookupUser,            [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (ListUsers,             [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (UpdateOtherUser,       [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (UpdateOwnProfile,      [OK,    OK,   RO,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (UpdateSuperAdminEmail, [OK,    OK,   RO,    OK,    ADMIN,  SUPER, OK,    INACTIVE, SUPER]),
    (DeactivateSelf,        [OK,    OK,   RO,    OK,    SELF,   SELF,  SELF,  INACTIVE, SELF]),
    (SetManagedBy,          [SVC,   OK,   RO,    OK,    SVC,    SVC,   SVC,   INACTIVE, SVC]),
    (DeleteUser,            [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (SetRoleAdmin,          [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (SetRoleSuperAdmin,     [KIND,  OK,   ADMIN, ADMIN, ADMIN,  SUPER, OK,    INACTIVE, SUPER]),
    (ImportUsers,           [KIND,  OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (CreateGroup,           [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (GetGroup,              [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (GetGroupWithMembers,   [HIDDEN,OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (ListGroups,            [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (UpdateGroup,           [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (UpdateGroupWithMembers,[NOT_LINKABLE, OK, RO, OK,  ADMIN,  OK,    OK,    INACTIVE, OK]),
    (DeleteGroup,           [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (ModifyGroup,           [OK,    OK,   RO,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (ListGroupMembers,      [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (ListMembersOfGroupWithMembers,
                            [HIDDEN,OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (ListUserGroups,        [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (CheckMembership,       [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (CreateTenant,          [KIND,  OK,   SCOPE, SCOPE, SCOPE,  SCOPE, SCOPE, INACTIVE, SCOPE]),
    (GetTenant,             [OK,    OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (ListTenants,           [KIND,  OK,   SCOPE, SCOPE, SCOPE,  SCOPE, SCOPE, INACTIVE, SCOPE]),
    (UpdateTenantName,      [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (WeakenEmailDomainRule, [KIND,  OK,   ADMIN, ADMIN, ADMIN,  SUPER, OK,    INACTIVE, SUPER]),
    (IssueScimKey,          [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (IssueServiceKey,       [KIND,  OK,   ADMIN, ADMIN, ADMIN,  SUPER, OK,    INACTIVE, SUPER]),
    (IssueAllTenantsKey,    [KIND,  OK,   ADMIN, ADMIN, ADMIN,  SCOPE, SCOPE, INACTIVE, SCOPE]),
    (ListApiKeys,           [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (RevokeScimKey,         [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (RevokeServiceKey,      [KIND,  OK,   ADMIN, ADMIN, ADMIN,  SUPER, OK,    INACTIVE, SUPER]),
    (RotateScimKey,         [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (AddVerifiedDomain,     [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (RemoveVerifiedDomain,  [KIND,  OK,   ADMIN, ADMIN, ADMIN,  OK,    OK,    INACTIVE, OK]),
    (ListVerifiedDomains,   [KIND,  OK,   OK,    OK,    OK,     OK,    OK,    INACTIVE, OK]),
    (ListEvents,            [KIND,  OK,   OK,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (WatchEvents,           [KIND,  OK,   OK,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (RecordOutcomes,        [OK,    OK,   OK,    OK,    SCOPE,  SCOPE, SCOPE, INACTIVE, SCOPE]),
    (ListOutcomes,          [KIND,  OK,   OK,    OK,    ADMIN,  OK,    OK,    INACTIVE, OK]),
    (CreatePortalLink,      [KIND,  ADMIN, ADMIN, ADMIN, ADMIN, OK,    OK,    INACTIVE, NOT_PORTAL]),
    // The link's token is the credential: whoever calls, a fresh link works.
    (RedeemPortalLink,      [OK,    OK,   OK,    OK,    OK,     OK,    OK,    OK,       OK]),
    (GetPortalSession,      [SESSION_ONLY, SESSION_ONLY, SESSION_ONLY, SESSION_ONLY, SESSION_ONLY,
                             SESSION_ONLY, SESSION_ONLY, SESSION_ONLY, OK]),
    (EndPortalSession,      [SESSION_ONLY, SESSION_ONLY, SESSION_ONLY, SESSION_ONLY, SESSION_ONLY,
                             SESSION_ONLY, SESSION_ONLY, SESSION_ONLY, OK]),
];

impl Case {
    /// The RPC this case calls, as `Service/Method`.
    fn rpc(self) -> &'static str {
        match self {
            CreateUser => "Users/CreateUser",
            GetUser => "Users/GetUser",
            LookupUser => "Users/LookupUser",
            ListUsers => "Users/ListUsers",
            UpdateOtherUser
            | UpdateOwnProfile
            | UpdateSuperAdminEmail
            | DeactivateSelf
            | SetManagedBy => "Users/UpdateUser",
            DeleteUser => "Users/DeleteUser",
            SetRoleAdmin | SetRoleSuperAdmin => "Users/SetUserRole",
            ImportUsers => "Users/ImportUsers",
            CreateGroup => "Groups/CreateGroup",
            GetGroup | GetGroupWithMembers => "Groups/GetGroup",
            ListGroups => "Groups/ListGroups",
            UpdateGroup | UpdateGroupWithMembers => "Groups/UpdateGroup",
            DeleteGroup => "Groups/DeleteGroup",
            ModifyGroup => "Groups/ModifyGroup",
            ListGroupMembers | ListMembersOfGroupWithMembers => "Groups/ListGroupMembers",
            ListUserGroups => "Groups/ListUserGroups",
            CheckMembership => "Groups/CheckMembership",
            CreateTenant => "Tenants/CreateTenant",
            GetTenant => "Tenants/GetTenant",
            ListTenants => "Tenants/ListTenants",
            UpdateTenantName | WeakenEmailDomainRule => "Tenants/UpdateTenant",
            IssueScimKey | IssueServiceKey | IssueAllTenantsKey => "Tenants/IssueApiKey",
            ListApiKeys => "Tenants/ListApiKeys",
            RevokeScimKey | RevokeServiceKey => "Tenants/RevokeApiKey",
            RotateScimKey => "Tenants/RotateApiKey",
            AddVerifiedDomain => "Tenants/AddVerifiedDomain",
            RemoveVerifiedDomain => "Tenants/RemoveVerifiedDomain",
            ListVerifiedDomains => "Tenants/ListVerifiedDomains",
            ListEvents => "Events/ListEvents",
            WatchEvents => "Events/WatchEvents",
            RecordOutcomes => "ProvisioningLog/RecordOutcomes",
            ListOutcomes => "ProvisioningLog/ListOutcomes",
            CreatePortalLink => "Portal/CreatePortalLink",
            RedeemPortalLink => "Portal/RedeemPortalLink",
            GetPortalSession => "Portal/GetPortalSession",
            EndPortalSession => "Portal/EndPortalSession",
        }
    }
}

/// The tenant, its people and keys, and what the operator makes for each case.
struct Fixture {
    tenant: String,
    operator: Clients,
    /// Clients per column of [`CLASSES`], and the person each acts for.
    callers: Vec<(Clients, Option<String>)>,
    member: pb::User,
    /// A product group without members (SCIM may see and link it).
    empty_group: pb::Group,
    /// Clients acting for the admin (who make the portal links).
    admin: Clients,
}

fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::now_v7().simple())
}

impl Fixture {
    async fn new(app: &App) -> Fixture {
        let tenant = app.tenant_id.clone();
        let mut operator = app.admin.clone();
        operator
            .tenants
            .add_verified_domain(pb::AddVerifiedDomainRequest {
                tenant_id: tenant.clone(),
                domain: "example.com".into(),
            })
            .await
            .unwrap();
        let key = |access: pb::ApiKeyAccess| pb::IssueApiKeyRequest {
            tenant_id: tenant.clone(),
            kind: pb::ApiKeyKind::Service.into(),
            access: access.into(),
            name: "product backend".into(),
            ..Default::default()
        };
        let read_only = operator
            .tenants
            .issue_api_key(key(pb::ApiKeyAccess::ReadOnly))
            .await
            .unwrap()
            .into_inner()
            .secret;
        let read_write = operator
            .tenants
            .issue_api_key(key(pb::ApiKeyAccess::ReadWrite))
            .await
            .unwrap()
            .into_inner()
            .secret;
        let mut fixture = Fixture {
            tenant,
            operator,
            callers: Vec::new(),
            member: pb::User::default(),
            empty_group: pb::Group::default(),
            admin: app.admin.clone(),
        };
        fixture.member = fixture.person(pb::Role::Member).await;
        let admin = fixture.person(pb::Role::Admin).await;
        let super_admin = fixture.person(pb::Role::SuperAdmin).await;
        let inactive = fixture.person(pb::Role::Admin).await;
        fixture.deactivate(&inactive.id).await;
        fixture.empty_group = fixture.group(false).await;
        let acting = |user: &pb::User| {
            (
                Clients::with(&app.channel, Some(&read_write), Some(&user.id)),
                Some(user.id.clone()),
            )
        };
        fixture.admin = acting(&admin).0;
        let session = redeem(&app.channel, &fixture.portal_link().await).await;
        fixture.callers = vec![
            (app.scim.clone(), None),
            (app.admin.clone(), None),
            (app.clients(Some(&read_only)), None),
            (app.clients(Some(&read_write)), None),
            acting(&fixture.member),
            acting(&admin),
            acting(&super_admin),
            acting(&inactive),
            (
                Clients::new(&app.channel, Some(&session)),
                Some(admin.id.clone()),
            ),
        ];
        fixture
    }

    /// A fresh portal link's token, made for the admin.
    async fn portal_link(&mut self) -> String {
        let url = self
            .admin
            .portal
            .create_portal_link(pb::CreatePortalLinkRequest::default())
            .await
            .unwrap()
            .into_inner()
            .url;
        url.rsplit('/').next().unwrap_or_default().to_owned()
    }

    /// A new user of the tenant with `role`, made by the operator.
    async fn person(&mut self, role: pb::Role) -> pb::User {
        let tenant = self.tenant.clone();
        let user = create_user(
            &mut self.operator,
            &tenant,
            &format!("{}@example.com", unique("person")),
        )
        .await;
        self.operator
            .users
            .set_user_role(pb::SetUserRoleRequest {
                tenant_id: tenant,
                user_id: user.id.clone(),
                role: role.into(),
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn deactivate(&mut self, user_id: &str) {
        self.operator
            .users
            .update_user(pb::UpdateUserRequest {
                tenant_id: self.tenant.clone(),
                user: Some(pb::User {
                    id: user_id.to_owned(),
                    active: false,
                    ..Default::default()
                }),
                update_mask: mask(&["active"]),
                expected_version: None,
            })
            .await
            .unwrap();
    }

    /// A new product group, with the fixture's member in it or empty.
    async fn group(&mut self, with_member: bool) -> pb::Group {
        self.operator
            .groups
            .create_group(pb::CreateGroupRequest {
                tenant_id: self.tenant.clone(),
                group: Some(pb::Group {
                    display_name: unique("group"),
                    ..Default::default()
                }),
                member_user_ids: if with_member {
                    vec![self.member.id.clone()]
                } else {
                    Vec::new()
                },
            })
            .await
            .unwrap()
            .into_inner()
    }

    async fn key(&mut self, kind: pb::ApiKeyKind) -> String {
        self.operator
            .tenants
            .issue_api_key(pb::IssueApiKeyRequest {
                tenant_id: self.tenant.clone(),
                kind: kind.into(),
                name: unique("key"),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .key
            .unwrap()
            .id
    }

    async fn user(&mut self) -> pb::User {
        let tenant = self.tenant.clone();
        create_user(
            &mut self.operator,
            &tenant,
            &format!("{}@example.com", unique("target")),
        )
        .await
    }

    async fn set_settings(&mut self, settings: &str) {
        self.operator
            .tenants
            .update_tenant(pb::UpdateTenantRequest {
                tenant: Some(pb::Tenant {
                    id: self.tenant.clone(),
                    settings: document(settings),
                    ..Default::default()
                }),
                update_mask: mask(&["settings"]),
                expected_version: None,
            })
            .await
            .unwrap();
    }

    /// Makes the targets of `case` and calls it as column `column`.
    async fn call(&mut self, case: Case, column: usize) -> Result<(), tonic::Status> {
        let tenant_id = self.tenant.clone();
        let (clients, acting) = self.callers[column].clone();
        let mut clients = clients;
        let update = |user: pb::User, paths: &[&str]| pb::UpdateUserRequest {
            tenant_id: tenant_id.clone(),
            user: Some(user),
            update_mask: mask(paths),
            expected_version: None,
        };
        match case {
            CreateUser => {
                let user = new_user(&format!("{}@example.com", unique("new")));
                clients
                    .users
                    .create_user(pb::CreateUserRequest {
                        tenant_id,
                        user: Some(user),
                    })
                    .await
                    .map(drop)
            }
            GetUser => clients
                .users
                .get_user(pb::GetUserRequest {
                    tenant_id,
                    id: self.member.id.clone(),
                })
                .await
                .map(drop),
            LookupUser => clients
                .users
                .lookup_user(pb::LookupUserRequest {
                    tenant_id,
                    key: Some(pb::lookup_user_request::Key::UserName(
                        self.member.user_name.clone(),
                    )),
                })
                .await
                .map(drop),
            ListUsers => clients
                .users
                .list_users(pb::ListUsersRequest {
                    tenant_id,
                    ..Default::default()
                })
                .await
                .map(drop),
            UpdateOtherUser | UpdateOwnProfile => {
                let id = match (case, acting) {
                    (UpdateOwnProfile, Some(own)) => own,
                    _ => self.user().await.id,
                };
                let user = pb::User {
                    id,
                    display_name: Some("Renamed".into()),
                    ..Default::default()
                };
                clients
                    .users
                    .update_user(update(user, &["display_name"]))
                    .await
                    .map(drop)
            }
            UpdateSuperAdminEmail => {
                let target = self.person(pb::Role::SuperAdmin).await;
                let user = pb::User {
                    id: target.id,
                    emails: vec![pb::Email {
                        value: format!("{}@example.com", unique("moved")),
                        r#type: "work".into(),
                        primary: true,
                        display: String::new(),
                    }],
                    ..Default::default()
                };
                clients
                    .users
                    .update_user(update(user, &["emails"]))
                    .await
                    .map(drop)
            }
            DeactivateSelf => {
                let id = match acting {
                    Some(own) => own,
                    None => self.user().await.id,
                };
                let user = pb::User {
                    id,
                    active: false,
                    ..Default::default()
                };
                clients
                    .users
                    .update_user(update(user, &["active"]))
                    .await
                    .map(drop)
            }
            SetManagedBy => {
                let user = pb::User {
                    id: self.user().await.id,
                    managed_by: pb::ManagedBy::Scim.into(),
                    ..Default::default()
                };
                clients
                    .users
                    .update_user(update(user, &["managed_by"]))
                    .await
                    .map(drop)
            }
            DeleteUser => {
                let id = self.user().await.id;
                clients
                    .users
                    .delete_user(pb::DeleteUserRequest {
                        tenant_id,
                        id,
                        expected_version: None,
                    })
                    .await
                    .map(drop)
            }
            SetRoleAdmin | SetRoleSuperAdmin => {
                let role = if case == SetRoleAdmin {
                    pb::Role::Admin
                } else {
                    pb::Role::SuperAdmin
                };
                let user_id = self.user().await.id;
                clients
                    .users
                    .set_user_role(pb::SetUserRoleRequest {
                        tenant_id,
                        user_id,
                        role: role.into(),
                    })
                    .await
                    .map(drop)
            }
            ImportUsers => clients
                .users
                .import_users(pb::ImportUsersRequest {
                    tenant_id,
                    users: vec![
                        new_user(&format!("{}@example.com", unique("imported"))),
                        new_user(&format!("{}@example.com", unique("imported"))),
                    ],
                })
                .await
                .map(drop),
            CreateGroup => clients
                .groups
                .create_group(pb::CreateGroupRequest {
                    tenant_id,
                    group: Some(pb::Group {
                        display_name: unique("new group"),
                        ..Default::default()
                    }),
                    member_user_ids: Vec::new(),
                })
                .await
                .map(drop),
            GetGroup | GetGroupWithMembers => {
                let id = if case == GetGroup {
                    self.empty_group.id.clone()
                } else {
                    self.group(true).await.id
                };
                clients
                    .groups
                    .get_group(pb::GetGroupRequest { tenant_id, id })
                    .await
                    .map(drop)
            }
            ListGroups => clients
                .groups
                .list_groups(pb::ListGroupsRequest {
                    tenant_id,
                    ..Default::default()
                })
                .await
                .map(drop),
            UpdateGroup | UpdateGroupWithMembers => {
                let id = self.group(case == UpdateGroupWithMembers).await.id;
                clients
                    .groups
                    .update_group(pb::UpdateGroupRequest {
                        tenant_id,
                        group: Some(pb::Group {
                            id,
                            display_name: unique("renamed"),
                            ..Default::default()
                        }),
                        update_mask: mask(&["display_name"]),
                        expected_version: None,
                    })
                    .await
                    .map(drop)
            }
            DeleteGroup => {
                let id = self.group(false).await.id;
                clients
                    .groups
                    .delete_group(pb::DeleteGroupRequest {
                        tenant_id,
                        id,
                        expected_version: None,
                    })
                    .await
                    .map(drop)
            }
            ModifyGroup => {
                let group_id = self.group(false).await.id;
                clients
                    .groups
                    .modify_group(pb::ModifyGroupRequest {
                        tenant_id,
                        group_id,
                        changes: vec![pb::MembershipChange {
                            change: Some(pb::membership_change::Change::Add(pb::MemberIds {
                                user_ids: vec![self.member.id.clone()],
                            })),
                        }],
                        ..Default::default()
                    })
                    .await
                    .map(drop)
            }
            ListGroupMembers | ListMembersOfGroupWithMembers => {
                let group_id = if case == ListGroupMembers {
                    self.empty_group.id.clone()
                } else {
                    self.group(true).await.id
                };
                clients
                    .groups
                    .list_group_members(pb::ListGroupMembersRequest {
                        tenant_id,
                        group_id,
                        page: None,
                    })
                    .await
                    .map(drop)
            }
            ListUserGroups => clients
                .groups
                .list_user_groups(pb::ListUserGroupsRequest {
                    tenant_id,
                    user_id: self.member.id.clone(),
                    page: None,
                })
                .await
                .map(drop),
            CheckMembership => clients
                .groups
                .check_membership(pb::CheckMembershipRequest {
                    tenant_id,
                    group_id: self.empty_group.id.clone(),
                    user_id: self.member.id.clone(),
                })
                .await
                .map(drop),
            CreateTenant => clients
                .tenants
                .create_tenant(pb::CreateTenantRequest {
                    tenant: Some(pb::Tenant {
                        name: unique("tenant"),
                        ..Default::default()
                    }),
                })
                .await
                .map(drop),
            GetTenant => clients
                .tenants
                .get_tenant(pb::GetTenantRequest { id: tenant_id })
                .await
                .map(drop),
            ListTenants => clients
                .tenants
                .list_tenants(pb::ListTenantsRequest::default())
                .await
                .map(drop),
            UpdateTenantName | WeakenEmailDomainRule => {
                let (tenant, path) = if case == UpdateTenantName {
                    let tenant = pb::Tenant {
                        id: tenant_id,
                        name: unique("team"),
                        ..Default::default()
                    };
                    (tenant, "name")
                } else {
                    self.set_settings("{}").await;
                    let tenant = pb::Tenant {
                        id: tenant_id,
                        settings: document(r#"{"scim_email_domains":"any"}"#),
                        ..Default::default()
                    };
                    (tenant, "settings")
                };
                clients
                    .tenants
                    .update_tenant(pb::UpdateTenantRequest {
                        tenant: Some(tenant),
                        update_mask: mask(&[path]),
                        expected_version: None,
                    })
                    .await
                    .map(drop)
            }
            IssueScimKey | IssueServiceKey | IssueAllTenantsKey => {
                let (kind, all_tenants) = match case {
                    IssueScimKey => (pb::ApiKeyKind::Scim, false),
                    IssueServiceKey => (pb::ApiKeyKind::Service, false),
                    _ => (pb::ApiKeyKind::Service, true),
                };
                clients
                    .tenants
                    .issue_api_key(pb::IssueApiKeyRequest {
                        tenant_id: if all_tenants {
                            String::new()
                        } else {
                            tenant_id
                        },
                        all_tenants,
                        kind: kind.into(),
                        name: unique("issued"),
                        ..Default::default()
                    })
                    .await
                    .map(drop)
            }
            ListApiKeys => clients
                .tenants
                .list_api_keys(pb::ListApiKeysRequest {
                    tenant_id,
                    ..Default::default()
                })
                .await
                .map(drop),
            RevokeScimKey | RevokeServiceKey => {
                let kind = if case == RevokeScimKey {
                    pb::ApiKeyKind::Scim
                } else {
                    pb::ApiKeyKind::Service
                };
                let id = self.key(kind).await;
                clients
                    .tenants
                    .revoke_api_key(pb::RevokeApiKeyRequest { id })
                    .await
                    .map(drop)
            }
            RotateScimKey => {
                let id = self.key(pb::ApiKeyKind::Scim).await;
                clients
                    .tenants
                    .rotate_api_key(pb::RotateApiKeyRequest {
                        id,
                        grace_period: None,
                    })
                    .await
                    .map(drop)
            }
            AddVerifiedDomain | RemoveVerifiedDomain => {
                let domain = format!("{}.example", unique("d"));
                if case == AddVerifiedDomain {
                    let request = pb::AddVerifiedDomainRequest { tenant_id, domain };
                    clients.tenants.add_verified_domain(request).await
                } else {
                    let request = pb::RemoveVerifiedDomainRequest { tenant_id, domain };
                    clients.tenants.remove_verified_domain(request).await
                }
                .map(drop)
            }
            ListVerifiedDomains => clients
                .tenants
                .list_verified_domains(pb::ListVerifiedDomainsRequest { tenant_id })
                .await
                .map(drop),
            ListEvents => clients
                .events
                .list_events(pb::ListEventsRequest {
                    tenant_id,
                    ..Default::default()
                })
                .await
                .map(drop),
            WatchEvents => clients
                .events
                .watch_events(pb::WatchEventsRequest {
                    tenant_id,
                    start: Some(pb::watch_events_request::Start::FromNow(true)),
                })
                .await
                .map(drop),
            RecordOutcomes => clients
                .provisioning
                .record_outcomes(pb::RecordOutcomesRequest {
                    tenant_id,
                    outcomes: vec![pb::ProvisioningOutcome {
                        method: "GET".into(),
                        route: "/scim/v2/Users".into(),
                        status: 200,
                        ..Default::default()
                    }],
                })
                .await
                .map(drop),
            ListOutcomes => clients
                .provisioning
                .list_outcomes(pb::ListOutcomesRequest {
                    tenant_id,
                    ..Default::default()
                })
                .await
                .map(drop),
            CreatePortalLink => clients
                .portal
                .create_portal_link(pb::CreatePortalLinkRequest {
                    tenant_id,
                    ttl: None,
                })
                .await
                .map(drop),
            RedeemPortalLink => {
                let token = self.portal_link().await;
                clients
                    .portal
                    .redeem_portal_link(pb::RedeemPortalLinkRequest { token })
                    .await
                    .map(drop)
            }
            GetPortalSession => clients.portal.get_portal_session(()).await.map(drop),
            EndPortalSession => clients.portal.end_portal_session(()).await.map(drop),
        }
    }
}

/// Follows a portal link (its token): the session's secret.
pub(crate) async fn redeem(channel: &tonic::transport::Channel, token: &str) -> String {
    Clients::new(channel, None)
        .portal
        .redeem_portal_link(pb::RedeemPortalLinkRequest {
            token: token.to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .secret
}

/// The methods of `identity.v1`'s services, as `Service/Method`.
fn rpcs_in_descriptor() -> Vec<String> {
    let set = prost_types::FileDescriptorSet::decode(identity_proto::FILE_DESCRIPTOR_SET).unwrap();
    set.file
        .iter()
        .filter(|file| file.package() == "identity.v1")
        .flat_map(|file| &file.service)
        .flat_map(|service| {
            service
                .method
                .iter()
                .map(move |method| format!("{}/{}", service.name(), method.name()))
        })
        .collect()
}

#[test]
fn every_rpc_has_a_row() {
    let covered: Vec<&str> = TABLE.iter().map(|(case, _)| case.rpc()).collect();
    let missing: Vec<String> = rpcs_in_descriptor()
        .into_iter()
        .filter(|rpc| !covered.contains(&rpc.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "RPCs without a row in the permission table: {missing:?}"
    );
}

on_both_backends!(every_rpc_for_every_caller_class);

async fn every_rpc_for_every_caller_class(backend: Backend) {
    let app = spawn_app(backend, "permissions").await;
    let mut fixture = Fixture::new(&app).await;
    let mut wrong = Vec::new();
    for (case, expected) in TABLE {
        for (column, expected) in expected.iter().enumerate() {
            let outcome = fixture.call(*case, column).await;
            let actual = match &outcome {
                Ok(()) => OK.to_owned(),
                Err(status) => reason(status),
            };
            // Denials are PERMISSION_DENIED, but for the two a resource's state decides.
            let code_fits = match &outcome {
                Ok(()) => true,
                Err(status) => match actual.as_str() {
                    HIDDEN => status.code() == Code::NotFound,
                    NOT_LINKABLE => status.code() == Code::FailedPrecondition,
                    _ => status.code() == Code::PermissionDenied,
                },
            };
            if actual != *expected || !code_fits {
                wrong.push(format!(
                    "{case:?} ({}) as {}: expected {expected}, got {outcome:?}",
                    case.rpc(),
                    CLASSES[column],
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cells differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    app.stop().await;
}

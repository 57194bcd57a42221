//! The RPCs of `identity.v1`, by the names and paths operators and the transport know them.

/// Every RPC of `identity.v1`, as operators name them (`Service/Method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Rpc {
    CreateUser,
    GetUser,
    LookupUser,
    ListUsers,
    UpdateUser,
    DeleteUser,
    SetUserRole,
    ImportUsers,
    CreateGroup,
    GetGroup,
    ListGroups,
    UpdateGroup,
    DeleteGroup,
    ModifyGroup,
    ListGroupMembers,
    ListUserGroups,
    CheckMembership,
    CreateTenant,
    GetTenant,
    ListTenants,
    UpdateTenant,
    IssueApiKey,
    ListApiKeys,
    RevokeApiKey,
    RotateApiKey,
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
    EndPortalSession,
}

impl Rpc {
    /// Every RPC with its gRPC path (`/identity.v1.Service/Method`).
    const PATHS: [(Rpc, &'static str); 36] = [
        (Rpc::CreateUser, "/identity.v1.Users/CreateUser"),
        (Rpc::GetUser, "/identity.v1.Users/GetUser"),
        (Rpc::LookupUser, "/identity.v1.Users/LookupUser"),
        (Rpc::ListUsers, "/identity.v1.Users/ListUsers"),
        (Rpc::UpdateUser, "/identity.v1.Users/UpdateUser"),
        (Rpc::DeleteUser, "/identity.v1.Users/DeleteUser"),
        (Rpc::SetUserRole, "/identity.v1.Users/SetUserRole"),
        (Rpc::ImportUsers, "/identity.v1.Users/ImportUsers"),
        (Rpc::CreateGroup, "/identity.v1.Groups/CreateGroup"),
        (Rpc::GetGroup, "/identity.v1.Groups/GetGroup"),
        (Rpc::ListGroups, "/identity.v1.Groups/ListGroups"),
        (Rpc::UpdateGroup, "/identity.v1.Groups/UpdateGroup"),
        (Rpc::DeleteGroup, "/identity.v1.Groups/DeleteGroup"),
        (Rpc::ModifyGroup, "/identity.v1.Groups/ModifyGroup"),
        (
            Rpc::ListGroupMembers,
            "/identity.v1.Groups/ListGroupMembers",
        ),
        (Rpc::ListUserGroups, "/identity.v1.Groups/ListUserGroups"),
        (Rpc::CheckMembership, "/identity.v1.Groups/CheckMembership"),
        (Rpc::CreateTenant, "/identity.v1.Tenants/CreateTenant"),
        (Rpc::GetTenant, "/identity.v1.Tenants/GetTenant"),
        (Rpc::ListTenants, "/identity.v1.Tenants/ListTenants"),
        (Rpc::UpdateTenant, "/identity.v1.Tenants/UpdateTenant"),
        (Rpc::IssueApiKey, "/identity.v1.Tenants/IssueApiKey"),
        (Rpc::ListApiKeys, "/identity.v1.Tenants/ListApiKeys"),
        (Rpc::RevokeApiKey, "/identity.v1.Tenants/RevokeApiKey"),
        (Rpc::RotateApiKey, "/identity.v1.Tenants/RotateApiKey"),
        (
            Rpc::AddVerifiedDomain,
            "/identity.v1.Tenants/AddVerifiedDomain",
        ),
        (
            Rpc::RemoveVerifiedDomain,
            "/identity.v1.Tenants/RemoveVerifiedDomain",
        ),
        (
            Rpc::ListVerifiedDomains,
            "/identity.v1.Tenants/ListVerifiedDomains",
        ),
        (Rpc::ListEvents, "/identity.v1.Events/ListEvents"),
        (Rpc::WatchEvents, "/identity.v1.Events/WatchEvents"),
        (
            Rpc::RecordOutcomes,
            "/identity.v1.ProvisioningLog/RecordOutcomes",
        ),
        (
            Rpc::ListOutcomes,
            "/identity.v1.ProvisioningLog/ListOutcomes",
        ),
        (
            Rpc::CreatePortalLink,
            "/identity.v1.Portal/CreatePortalLink",
        ),
        (
            Rpc::RedeemPortalLink,
            "/identity.v1.Portal/RedeemPortalLink",
        ),
        (
            Rpc::GetPortalSession,
            "/identity.v1.Portal/GetPortalSession",
        ),
        (
            Rpc::EndPortalSession,
            "/identity.v1.Portal/EndPortalSession",
        ),
    ];

    /// The RPC a request's path names; `None` outside `identity.v1` (health, reflection).
    pub(crate) fn from_path(path: &str) -> Option<Rpc> {
        Self::PATHS
            .iter()
            .find(|(_, known)| *known == path)
            .map(|(rpc, _)| *rpc)
    }

    /// `Service/Method`, as operators type it into grpcurl.
    pub fn name(self) -> &'static str {
        Self::PATHS
            .iter()
            .find(|(rpc, _)| *rpc == self)
            .map_or("", |(_, path)| path.trim_start_matches("/identity.v1."))
    }
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::Rpc;

    /// Every method of `identity.v1` is an `Rpc`, so the authentication layer reaches it.
    #[test]
    fn every_method_in_the_contract_is_an_rpc() {
        let set = prost_types::FileDescriptorSet::decode(identity_proto::FILE_DESCRIPTOR_SET)
            .unwrap_or_default();
        let mut methods = 0;
        for file in set
            .file
            .iter()
            .filter(|file| file.package() == "identity.v1")
        {
            for service in &file.service {
                for method in &service.method {
                    methods += 1;
                    let path = format!("/identity.v1.{}/{}", service.name(), method.name());
                    let rpc = Rpc::from_path(&path);
                    assert!(rpc.is_some(), "{path} is not an Rpc");
                    assert_eq!(rpc.map(Rpc::name), Some(&path["/identity.v1.".len()..]));
                }
            }
        }
        assert_eq!(methods, Rpc::PATHS.len());
    }
}

//! The SCIM 2.0 gateway: a stateless HTTP front door that speaks SCIM to Okta and Microsoft
//! Entra ID and turns every call into gRPC calls to the identity service. It owns no data and
//! holds no secrets: the caller's credential travels to the service, which decides.

pub mod error;
pub mod filter;
pub mod patch;
pub mod resource;
pub mod response;
pub mod routes;
pub mod schema;
pub mod server;
pub mod user;

//! The SCIM 2.0 gateway: a stateless HTTP front door that speaks SCIM to Okta and Microsoft
//! Entra ID and turns every call into gRPC calls to the identity service. It owns no data and
//! holds no secrets: the caller's credential travels to the service, which decides.
//!
//! Layout: `http` (routes and layers) → `users`, `groups`, `discovery` (one module per
//! resource: handlers, codec, filter fields, PATCH back end) → `patch`, `filter` and `scim`
//! (the protocol) and `client` (the identity service). Nothing below imports what is above it.

mod client;
mod discovery;
mod filter;
mod groups;
mod http;
mod patch;
mod scim;
pub mod server;
mod users;

//! The identity service: tenants, users, groups, memberships and API keys behind a gRPC API.
//!
//! [`server::serve`] runs the service on a listener until a shutdown future resolves; tests use
//! it on `127.0.0.1:0` with a [`store::Store`] of their own.

pub(crate) mod api;
pub mod auth;
pub mod bootstrap;
pub(crate) mod error;
pub mod filter;
pub mod model;
pub mod policy;
pub mod server;
pub mod store;

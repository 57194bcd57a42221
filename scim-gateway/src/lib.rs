//! The SCIM 2.0 gateway: a stateless HTTP front door that speaks SCIM to Okta and Microsoft
//! Entra ID and turns every call into gRPC calls to the identity service. It owns no data and
//! holds no secrets: the caller's credential travels to the service, which decides.
//!
//! Layout, each module importing only those after it: `server` (configuration, serving) →
//! `portal` (the admin portal's pages, beside the SCIM routes) → `http` (the route table and
//! tower layers) → `users`, `groups`, `discovery` (one module per
//! resource: handlers, codec, filter fields, PATCH back end) → `extract` (what handlers take
//! from a request) → `client` (the identity service: calls, paging, error mapping) → `patch`
//! (one PATCH front end, the document back end) → `filter` (parse, translate, evaluate) →
//! `scim` (schemas, documents, rendering, errors).

mod client;
mod discovery;
mod extract;
mod filter;
mod groups;
mod http;
pub mod listen;
mod patch;
mod portal;
mod report;
mod scim;
pub mod server;
mod users;

//! The identity service's one integration-test binary: the store conformance suite on both
//! backends, the gRPC API end to end, reflection, the CLI and grpcurl.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod api;
mod auth;
mod cli;
mod events;
mod hostile;
mod operator;
mod permissions;
mod portal;
mod provisioning;
mod roles;
mod store;

//! The gateway's one integration-test binary: the real identity service and gateway on
//! loopback, driven over HTTP as Okta and Entra drive them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod browser;
mod support;

mod audit;
mod discovery;
mod entra;
mod errors;
mod hostile;
mod okta;
mod operations;
mod portal;
mod probes;
mod provisioning_log;
mod tls;

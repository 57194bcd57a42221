//! The gRPC contract of the identity service: package `identity.v1`.
//!
//! Generated from `proto/identity/v1/*.proto`. [`FILE_DESCRIPTOR_SET`] is the encoded descriptor
//! set (with its imports) that the service registers for server reflection.

pub mod v1 {
    #![allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic
    )]
    #![allow(missing_docs, rust_2018_idioms)]
    tonic::include_proto!("identity.v1");
}

/// Encoded `google.protobuf.FileDescriptorSet` of `identity.v1` and everything it imports.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/identity_v1_descriptor.bin"));

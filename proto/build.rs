//! Compiles `identity/v1/*.proto` with protox (pure Rust, no system `protoc`) and writes both the
//! generated tonic code and the encoded descriptor set that server reflection serves.

use std::{env, fs, path::PathBuf};

use protox::prost::Message as _;

const PROTOS: &[&str] = &[
    "identity/v1/common.proto",
    "identity/v1/users.proto",
    "identity/v1/groups.proto",
    "identity/v1/tenants.proto",
    "identity/v1/events.proto",
    "identity/v1/provisioning.proto",
    "identity/v1/portal.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for proto in PROTOS {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(PROTOS, ["."])?;
    let out_dir = PathBuf::from(env::var("OUT_DIR")?);
    fs::write(
        out_dir.join("identity_v1_descriptor.bin"),
        descriptors.encode_to_vec(),
    )?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .emit_rerun_if_changed(false)
        .compile_fds(descriptors)?;
    Ok(())
}

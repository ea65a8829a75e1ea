//! Generates the gRPC code of `proto/cicada.proto` without a system `protoc`: protox parses the
//! file in pure Rust and tonic-prost-build writes the messages, client and server.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let proto_dir = "../../proto";
    let file = format!("{proto_dir}/cicada.proto");
    println!("cargo:rerun-if-changed={file}");
    let descriptors = protox::compile([&file], [proto_dir])?;
    // BTreeMap fields encode in a stable order, so a scenario digest is stable too.
    tonic_prost_build::configure()
        .btree_map(".")
        .compile_fds(descriptors)?;
    Ok(())
}

//! Generates this component's Mesos types from `proto/*.proto` with
//! prost-build, which runs `protoc` (Debian's `protobuf-compiler`, installed
//! by `ci/install-deps`; or the program `PROTOC` names).

fn main() -> std::io::Result<()> {
    let protos = ["proto/mesos.proto", "proto/scheduler.proto", "proto/messages.proto"];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    prost_build::Config::new()
        // `impl prost::Name`: libprocess sends a message under its full name
        // (`mesos.scheduler.Call`), which `send_message` takes from it.
        .enable_type_names()
        .compile_protos(&protos, &["proto"])
}

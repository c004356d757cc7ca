//! Finding 5 of issue 12: the committed bindings (used where libclang is
//! missing) were made for x86_64-unknown-linux-gnu and libsasl2 2.1.28 headers;
//! the build must refuse them for another target or header version, and say
//! how to regenerate, rather than build a crate whose struct layouts may be
//! wrong. These tests run this build's own build script (the binary Cargo
//! compiled from `sasl-sys/build.rs`) with `SASL2_NO_BINDGEN`, in a scratch
//! `OUT_DIR`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The build script binary Cargo built for this test run: the newest
/// `sasl-sys-*/build-script-build` beside this build's `OUT_DIR`.
fn build_script() -> PathBuf {
    let build_dir =
        Path::new(env!("OUT_DIR")).parent().and_then(Path::parent).expect("OUT_DIR is <build>/sasl-sys-HASH/out");
    std::fs::read_dir(build_dir)
        .expect("read the build directory")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("sasl-sys-"))
        .map(|e| e.path().join("build-script-build"))
        .filter(|p| p.is_file())
        .max_by_key(|p| p.metadata().and_then(|m| m.modified()).ok())
        .expect("the sasl-sys build script binary")
}

/// Runs the build script as Cargo would, for `target`, with the headers in
/// `include_dir`, never running bindgen.
fn run(target: &str, include_dir: &Path, out_dir: &Path) -> Output {
    Command::new(build_script())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OUT_DIR", out_dir)
        .env("TARGET", target)
        .env("HOST", "x86_64-unknown-linux-gnu")
        .env("OPT_LEVEL", "0")
        .env("DEBUG", "false")
        .env("PROFILE", "debug")
        .env("CARGO_MANIFEST_DIR", env!("CARGO_MANIFEST_DIR"))
        .env("SASL2_NO_BINDGEN", "1")
        .env("SASL2_INCLUDE_DIR", include_dir)
        .env("SASL2_LIB_DIR", "/usr/lib/x86_64-linux-gnu")
        .output()
        .expect("run the build script")
}

/// A copy of the system's `<sasl/*.h>` in `dir`, with `SASL_VERSION_STEP` set to `step`.
fn headers(dir: &Path, step: u32) -> PathBuf {
    let sasl = dir.join("sasl");
    std::fs::create_dir_all(&sasl).unwrap();
    for entry in std::fs::read_dir(Path::new(env!("SASL_SYS_INCLUDE_DIR")).join("sasl")).unwrap() {
        let entry = entry.unwrap();
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        if entry.file_name() == "sasl.h" {
            let line =
                text.lines().find(|l| l.starts_with("#define SASL_VERSION_STEP")).expect("a version step").to_owned();
            text = text.replace(&line, &format!("#define SASL_VERSION_STEP {step}"));
        }
        std::fs::write(sasl.join(entry.file_name()), text).unwrap();
    }
    dir.to_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn committed_bindings_are_used_for_the_target_and_headers_they_were_made_for() {
    let dir = tempfile::tempdir().unwrap();
    let output = run("x86_64-unknown-linux-gnu", &headers(&dir.path().join("inc"), 28), dir.path());
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("SASL_SYS_BINDINGS_SOURCE=pregenerated"), "{stdout}");
}

#[test]
fn committed_bindings_are_refused_for_another_header_version_saying_how_to_regenerate() {
    let dir = tempfile::tempdir().unwrap();
    let output = run("x86_64-unknown-linux-gnu", &headers(&dir.path().join("inc"), 27), dir.path());
    assert!(!output.status.success(), "a 2.1.27 header was accepted");
    let err = stderr(&output);
    assert!(err.contains("libsasl2 2.1.27, not 2.1.28"), "{err}");
    assert!(err.contains("regen-bindings.sh") && err.contains("libclang"), "{err}");
}

#[test]
fn committed_bindings_are_refused_for_another_target_saying_how_to_regenerate() {
    let dir = tempfile::tempdir().unwrap();
    let output = run("aarch64-unknown-linux-gnu", &headers(&dir.path().join("inc"), 28), dir.path());
    assert!(!output.status.success(), "an aarch64 build was accepted");
    let err = stderr(&output);
    assert!(err.contains("the target is aarch64-unknown-linux-gnu"), "{err}");
    assert!(err.contains("regen-bindings.sh") && err.contains("libclang"), "{err}");
}

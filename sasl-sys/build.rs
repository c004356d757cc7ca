//! Finds libsasl2, links it, and produces the bindings.
//!
//! Discovery order:
//! 1. `SASL2_LIB_DIR` / `SASL2_INCLUDE_DIR`, or `SASL2_DIR` (meaning `$SASL2_DIR/lib` and
//!    `$SASL2_DIR/include`), when set.
//! 2. pkg-config's `libsasl2`, at least 2.1.26, unless `SASL2_NO_PKG_CONFIG` is set.
//!
//! The header is then preprocessed with the C compiler, which tells us both where
//! `<sasl/sasl.h>` really is (Debian's pkg-config file has empty cflags) and the
//! version macros it defines. Only after that check passes are link flags emitted.
//!
//! Bindings come from bindgen when libclang can be loaded, otherwise from the
//! committed `src/bindings.rs` (with a `cargo:warning`).

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const MIN_VERSION: (u32, u32, u32) = (2, 1, 26);

/// Every environment variable the build reads goes through here, so Cargo reruns
/// the script when one of them changes.
fn env(name: &str) -> Option<OsString> {
    println!("cargo:rerun-if-env-changed={name}");
    env::var_os(name).filter(|v| !v.is_empty())
}

struct Found {
    lib_dirs: Vec<PathBuf>,
    include_dirs: Vec<PathBuf>,
    libs: Vec<String>,
}

fn main() {
    println!("cargo:rerun-if-changed=wrapper.h");
    println!("cargo:rerun-if-changed=src/bindings.rs");
    let statik = env("SASL2_STATIC").is_some();

    let found = from_env_dirs().or_else(|| from_pkg_config(statik)).unwrap_or_else(|| {
        fail(
            "could not find libsasl2 (Cyrus SASL) headers and library",
            "pkg-config found no `libsasl2` and no SASL2_* directory variable was set",
        )
    });

    let header = probe_header(&found.include_dirs);
    let version = header.version;
    if version < MIN_VERSION {
        fail(
            &format!(
                "libsasl2 {}.{}.{} at {} is too old",
                version.0,
                version.1,
                version.2,
                header.sasl_h.display()
            ),
            "sasl-sys needs libsasl2 2.1.26 or newer",
        );
    }

    // The library was checked; now, and only now, tell Cargo to link it.
    let kind = if statik { "static" } else { "dylib" };
    for dir in &found.lib_dirs {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for lib in &found.libs {
        println!("cargo:rustc-link-lib={kind}={lib}");
    }

    let include_dir = header
        .sasl_h
        .parent()
        .and_then(Path::parent)
        .expect("sasl.h lives in <include>/sasl/")
        .to_path_buf();
    // Dependents read these as DEP_SASL2_INCLUDE and DEP_SASL2_VERSION_NUMBER.
    println!("cargo:include={}", include_dir.display());
    println!(
        "cargo:version_number={:x}",
        (version.0 << 16) | (version.1 << 8) | version.2
    );
    println!(
        "cargo:rustc-env=SASL_SYS_HEADER_VERSION={}.{}.{}",
        version.0, version.1, version.2
    );
    println!("cargo:rustc-env=SASL_SYS_INCLUDE_DIR={}", include_dir.display());
    println!(
        "cargo:rustc-env=SASL_SYS_TARGET={}",
        env::var("TARGET").expect("cargo sets TARGET")
    );

    write_bindings(&include_dir);
}

fn from_env_dirs() -> Option<Found> {
    let root = env("SASL2_DIR").map(PathBuf::from);
    let lib_dir = env("SASL2_LIB_DIR")
        .map(PathBuf::from)
        .or_else(|| root.as_ref().map(|r| r.join("lib")));
    let include_dir = env("SASL2_INCLUDE_DIR")
        .map(PathBuf::from)
        .or_else(|| root.as_ref().map(|r| r.join("include")));
    if lib_dir.is_none() && include_dir.is_none() {
        return None;
    }
    Some(Found {
        lib_dirs: lib_dir.into_iter().collect(),
        include_dirs: include_dir.into_iter().collect(),
        libs: vec!["sasl2".to_owned()],
    })
}

fn from_pkg_config(statik: bool) -> Option<Found> {
    if env("SASL2_NO_PKG_CONFIG").is_some() {
        return None;
    }
    // Probe quietly: flags are printed by main() only after the header check.
    let lib = pkg_config::Config::new()
        .atleast_version(&format!(
            "{}.{}.{}",
            MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2
        ))
        .statik(statik)
        .cargo_metadata(false)
        .env_metadata(true)
        .probe("libsasl2");
    match lib {
        Ok(lib) => Some(Found {
            lib_dirs: lib.link_paths,
            include_dirs: lib.include_paths,
            libs: lib.libs,
        }),
        Err(e) => {
            println!("cargo:warning=pkg-config could not use libsasl2: {}", first_line(&e.to_string()));
            None
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

struct Header {
    sasl_h: PathBuf,
    version: (u32, u32, u32),
}

/// Runs the C preprocessor over a tiny file that includes `<sasl/sasl.h>` and expands
/// the version macros. The line markers say which sasl.h was used.
fn probe_header(include_dirs: &[PathBuf]) -> Header {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let probe = out_dir.join("sasl_version_probe.c");
    std::fs::write(
        &probe,
        "#include <sasl/sasl.h>\nSASL_SYS_VERSION SASL_VERSION_MAJOR SASL_VERSION_MINOR SASL_VERSION_STEP\n",
    )
    .expect("write probe file");
    let mut build = cc::Build::new();
    build.cargo_metadata(false).cargo_warnings(false);
    for dir in include_dirs {
        build.include(dir);
    }
    let expanded = match build.file(&probe).try_expand() {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => fail(
            "the C compiler could not include <sasl/sasl.h>",
            &format!("{} (searched: {})", first_line(&e.to_string()), show(include_dirs)),
        ),
    };
    let sasl_h = expanded
        .lines()
        .filter_map(|l| l.strip_prefix("# ").or_else(|| l.strip_prefix("#line ")))
        .filter_map(|l| l.split('"').nth(1))
        .find(|p| p.ends_with("sasl/sasl.h"))
        .map(PathBuf::from)
        .unwrap_or_else(|| fail("could not locate sasl/sasl.h in the preprocessor output", ""));
    // Line markers may split the expanded macros over several lines: drop them first.
    let text: Vec<&str> = expanded
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(str::split_whitespace)
        .collect();
    let version = text
        .iter()
        .position(|t| *t == "SASL_SYS_VERSION")
        .and_then(|i| {
            let n: Vec<u32> = text.get(i + 1..i + 4)?.iter().filter_map(|t| t.parse().ok()).collect();
            (n.len() == 3).then(|| (n[0], n[1], n[2]))
        })
        .unwrap_or_else(|| fail("sasl.h does not define SASL_VERSION_MAJOR/MINOR/STEP", ""));
    println!("cargo:rerun-if-changed={}", sasl_h.display());
    Header { sasl_h, version }
}

fn show(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "the compiler's default include path".to_owned();
    }
    dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
}

/// Generates bindings with bindgen, or falls back to the committed ones when
/// libclang cannot be loaded. `regen-bindings.sh` and the drift test rely on the
/// generated file being written to `$OUT_DIR/bindings.rs` either way.
fn write_bindings(include_dir: &Path) {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("bindings.rs");
    let source = if clang_sys::load().is_ok() {
        let bindings = builder(include_dir)
            .generate()
            .unwrap_or_else(|e| fail("bindgen failed on the libsasl2 headers", &e.to_string()));
        bindings.write_to_file(&out).expect("write bindings");
        "bindgen"
    } else {
        println!(
            "cargo:warning=libclang not found: using the pre-generated bindings in \
             sasl-sys/src/bindings.rs (made for x86_64 Linux, libsasl2 2.1.28). Install \
             libclang-dev (Debian/Ubuntu) or clang-devel (Fedora) to generate them for this system."
        );
        std::fs::copy("src/bindings.rs", &out).expect("copy pre-generated bindings");
        "pregenerated"
    };
    println!("cargo:rustc-env=SASL_SYS_BINDINGS_SOURCE={source}");
}

/// The one bindgen configuration, shared by the build and by `regen-bindings.sh`
/// (which simply copies the build's output).
fn builder(include_dir: &Path) -> bindgen::Builder {
    bindgen::Builder::default()
        .header("wrapper.h")
        .clang_arg(format!("-I{}", include_dir.display()))
        .allowlist_function("sasl_.*|prop_.*")
        .allowlist_var("SASL_.*|PROP_.*")
        // Types must be listed too, or callback-only types such as sasl_secret_t vanish.
        .allowlist_type("sasl_.*|prop.*")
        // Without this, plain #define constants come out as u32 or i32 at random.
        .default_macro_constant_type(bindgen::MacroTypeVariation::Signed)
        .use_core()
        .ctypes_prefix("::core::ffi")
        .formatter(bindgen::Formatter::Prettyplease)
        .layout_tests(true)
        .derive_default(true)
        .generate_comments(false)
}

fn fail(what: &str, why: &str) -> ! {
    let mut msg = String::new();
    let _ = writeln!(msg, "\n\nsasl-sys: {what}.");
    if !why.is_empty() {
        let _ = writeln!(msg, "  cause: {why}");
    }
    let _ = write!(
        msg,
        "
Install the Cyrus SASL development files, version 2.1.26 or newer:
  Debian/Ubuntu:  apt-get install libsasl2-dev pkg-config
  Fedora/RHEL:    dnf install cyrus-sasl-devel pkgconf-pkg-config
  macOS:          brew install cyrus-sasl   (then set PKG_CONFIG_PATH or SASL2_DIR)

Or point the build at an installation with these variables:
  SASL2_DIR           prefix holding lib/ and include/
  SASL2_LIB_DIR       directory holding libsasl2
  SASL2_INCLUDE_DIR   directory holding sasl/sasl.h
  SASL2_STATIC        link libsasl2 statically
  SASL2_NO_PKG_CONFIG skip pkg-config
"
    );
    panic!("{msg}");
}

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
//! Bindings come from bindgen when libclang can be loaded (and
//! `SASL2_NO_BINDGEN` is unset), otherwise from the committed `src/bindings.rs`.
//! Those were generated for one target and one header version
//! ([`PREGENERATED_TARGET`], [`PREGENERATED_VERSION`]), and the safe crate reads
//! struct fields through them, so the build refuses them for any other target
//! or header version, and says how to generate matching ones.
//!
//! On docs.rs (`DOCS_RS` set) nothing is probed or linked: the committed
//! bindings are used as they are, for documentation only.

use std::env;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const MIN_VERSION: (u32, u32, u32) = (2, 1, 26);

/// The target the committed `src/bindings.rs` were generated for.
const PREGENERATED_TARGET: &str = "x86_64-unknown-linux-gnu";
/// The libsasl2 header version the committed `src/bindings.rs` were generated from.
const PREGENERATED_VERSION: (u32, u32, u32) = (2, 1, 28);

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
    let target = env::var("TARGET").expect("cargo sets TARGET");
    if env("DOCS_RS").is_some() {
        return docs_rs(&target);
    }
    let statik = env("SASL2_STATIC").is_some();
    // Decided first: committed bindings for another target must be refused
    // before anything is probed with that target's compiler.
    let use_bindgen = env("SASL2_NO_BINDGEN").is_none() && clang_sys::load().is_ok();
    if !use_bindgen && target != PREGENERATED_TARGET {
        refuse_pregenerated(&format!("the target is {target}, not {PREGENERATED_TARGET}"));
    }

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
            &format!("libsasl2 {}.{}.{} at {} is too old", version.0, version.1, version.2, header.sasl_h.display()),
            "sasl-sys needs libsasl2 2.1.26 or newer",
        );
    }
    if !use_bindgen && version != PREGENERATED_VERSION {
        refuse_pregenerated(&format!(
            "the headers at {} are libsasl2 {}.{}.{}, not {}.{}.{}",
            header.sasl_h.display(),
            version.0,
            version.1,
            version.2,
            PREGENERATED_VERSION.0,
            PREGENERATED_VERSION.1,
            PREGENERATED_VERSION.2
        ));
    }

    // The library was checked; now, and only now, tell Cargo to link it.
    let kind = if statik { "static" } else { "dylib" };
    for dir in &found.lib_dirs {
        println!("cargo:rustc-link-search=native={}", dir.display());
    }
    for lib in &found.libs {
        println!("cargo:rustc-link-lib={kind}={lib}");
    }

    let include_dir =
        header.sasl_h.parent().and_then(Path::parent).expect("sasl.h lives in <include>/sasl/").to_path_buf();
    // Dependents read these as DEP_SASL2_INCLUDE and DEP_SASL2_VERSION_NUMBER.
    println!("cargo:include={}", include_dir.display());
    println!("cargo:version_number={:x}", (version.0 << 16) | (version.1 << 8) | version.2);
    println!("cargo:rustc-env=SASL_SYS_HEADER_VERSION={}.{}.{}", version.0, version.1, version.2);
    println!("cargo:rustc-env=SASL_SYS_INCLUDE_DIR={}", include_dir.display());
    println!("cargo:rustc-env=SASL_SYS_TARGET={target}");

    write_bindings(&include_dir, use_bindgen);
    write_abi_lists(&found.lib_dirs);
}

fn from_env_dirs() -> Option<Found> {
    let root = env("SASL2_DIR").map(PathBuf::from);
    let lib_dir = env("SASL2_LIB_DIR").map(PathBuf::from).or_else(|| root.as_ref().map(|r| r.join("lib")));
    let include_dir = env("SASL2_INCLUDE_DIR").map(PathBuf::from).or_else(|| root.as_ref().map(|r| r.join("include")));
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
        .atleast_version(&format!("{}.{}.{}", MIN_VERSION.0, MIN_VERSION.1, MIN_VERSION.2))
        .statik(statik)
        .cargo_metadata(false)
        .env_metadata(true)
        .probe("libsasl2");
    match lib {
        Ok(lib) => Some(Found { lib_dirs: lib.link_paths, include_dirs: lib.include_paths, libs: lib.libs }),
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
    let text: Vec<&str> = expanded.lines().filter(|l| !l.starts_with('#')).flat_map(str::split_whitespace).collect();
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

/// Generates bindings with bindgen, or uses the committed ones (checked by
/// `main` to match this target and header version). `regen-bindings.sh` and the
/// drift test rely on the file being written to `$OUT_DIR/bindings.rs` either way.
fn write_bindings(include_dir: &Path, use_bindgen: bool) {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("bindings.rs");
    let source = if use_bindgen {
        let bindings = builder(include_dir)
            .generate()
            .unwrap_or_else(|e| fail("bindgen failed on the libsasl2 headers", &e.to_string()));
        bindings.write_to_file(&out).expect("write bindings");
        "bindgen"
    } else {
        println!(
            "cargo:warning=libclang not found (or SASL2_NO_BINDGEN set): using the pre-generated \
             bindings in sasl-sys/src/bindings.rs, which match this target and libsasl2 version"
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

/// The C structs whose size, alignment and field offsets `tests/abi.rs` compares.
const ABI_STRUCTS: &[&str] = &["sasl_callback_t", "sasl_secret_t", "sasl_security_properties_t", "sasl_interact_t"];

/// Writes `$OUT_DIR/abi_constants.rs`, which `tests/abi.rs` includes.
///
/// The names come from the bindings just produced, so the ABI test covers every
/// constant they define; the values are expressions naming the real constants, so
/// the test compares what Rust compiled. Enumerators, which bindgen names
/// `<enum type>_<enumerator>`, get their C name back. A constant whose type the test
/// cannot compare lands in `UNCOMPARED_CONSTANTS`, which the test requires to be empty.
/// Nothing here can fail the build of the library itself.
fn write_abi_lists(lib_dirs: &[PathBuf]) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let bindings = std::fs::read_to_string(out_dir.join("bindings.rs")).expect("read bindings.rs");

    let mut ints = String::new();
    let mut bytes = String::new();
    let mut uncompared = String::new();
    for (name, ty) in top_level_consts(&bindings) {
        let c_name = name.strip_prefix(ty.as_str()).and_then(|rest| rest.strip_prefix('_')).unwrap_or(&name);
        if ty.starts_with("&[u8;") {
            let _ = writeln!(bytes, "    ({c_name:?}, sasl_sys::{name}),");
        } else if ty.starts_with('&') || ty == "f32" || ty == "f64" {
            let _ = writeln!(uncompared, "    {name:?},");
        } else {
            let _ = writeln!(ints, "    ({c_name:?}, sasl_sys::{name} as i128),");
        }
    }

    let mut structs = String::new();
    for alias in ABI_STRUCTS {
        let ty = format!("sasl_sys::{alias}");
        let _ = writeln!(structs, "    RustStruct {{");
        let _ = writeln!(structs, "        c_name: {alias:?},");
        let _ = writeln!(structs, "        size: core::mem::size_of::<{ty}>(),");
        let _ = writeln!(structs, "        align: core::mem::align_of::<{ty}>(),");
        let _ = writeln!(structs, "        fields: vec![");
        for field in struct_fields(&bindings, alias) {
            let c_name = c_field_name(&field);
            let _ = writeln!(structs, "            RustField {{");
            let _ = writeln!(structs, "                c_name: {c_name:?},");
            let _ = writeln!(structs, "                offset: core::mem::offset_of!({ty}, {field}),");
            let _ = writeln!(structs, "                size: field_size(|s: &{ty}| &s.{field}),");
            let _ = writeln!(structs, "            }},");
        }
        let _ = writeln!(structs, "        ],\n    }},");
    }

    let lib_dirs: String = lib_dirs.iter().map(|d| format!("{:?}, ", d.display().to_string())).collect();
    let text = format!(
        "// Generated by sasl-sys/build.rs from the bindings of this build; see write_abi_lists.

/// Directories the build linked libsasl2 from (empty: the linker's default path).
const LIB_DIRS: &[&str] = &[{lib_dirs}];

/// Every integer constant and enumerator of the bindings: (C name, value compiled by Rust).
const INT_CONSTANTS: &[(&str, i128)] = &[
{ints}];

/// Every byte-string constant of the bindings, NUL included: (C name, bytes compiled by Rust).
const BYTE_CONSTANTS: &[(&str, &[u8])] = &[
{bytes}];

/// Constants of a type the ABI test cannot compare (should be none).
const UNCOMPARED_CONSTANTS: &[&str] = &[
{uncompared}];

/// A struct as the Rust compiler lays it out.
struct RustStruct {{
    c_name: &'static str,
    size: usize,
    align: usize,
    fields: Vec<RustField>,
}}

/// One field of a [`RustStruct`], under its C name.
struct RustField {{
    c_name: &'static str,
    offset: usize,
    size: usize,
}}

/// The size of the field that `get` borrows.
fn field_size<T, F>(_get: fn(&T) -> &F) -> usize {{
    core::mem::size_of::<F>()
}}

/// The structs in sasl-sys/build.rs `ABI_STRUCTS`, with every field the bindings give them.
fn rust_struct_layouts() -> Vec<RustStruct> {{
    vec![
{structs}]
}}
"
    );
    std::fs::write(out_dir.join("abi_constants.rs"), text).expect("write abi_constants.rs");
}

/// `(name, type)` of every `pub const` at the top level of the bindings.
fn top_level_consts(bindings: &str) -> Vec<(String, String)> {
    let mut consts = Vec::new();
    let mut lines = bindings.lines();
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix("pub const ") else {
            continue;
        };
        // The formatter may wrap a long item; gather it up to its `=`.
        let mut item = rest.to_owned();
        while !item.contains('=') {
            let Some(next) = lines.next() else { break };
            item.push(' ');
            item.push_str(next.trim());
        }
        if let Some((name, after)) = item.split_once(':') {
            let ty = after.split_once('=').map_or(after, |(ty, _)| ty);
            consts.push((name.trim().to_owned(), ty.trim().to_owned()));
        }
    }
    consts
}

/// The Rust names of the fields of the struct behind the type alias `alias`
/// (empty if it cannot be found; the ABI test then fails).
fn struct_fields(bindings: &str, alias: &str) -> Vec<String> {
    let alias_line = format!("pub type {alias} = ");
    let target = bindings.lines().find_map(|l| l.strip_prefix(alias_line.as_str())?.strip_suffix(';')).unwrap_or(alias);
    let header = format!("pub struct {target} {{");
    bindings
        .lines()
        .skip_while(|l| *l != header)
        .skip(1)
        .take_while(|l| !l.starts_with('}'))
        .filter_map(|l| Some(l.strip_prefix("    pub ")?.split_once(':')?.0.to_owned()))
        .collect()
}

/// bindgen appends `_` to C names that are Rust keywords (`proc` becomes `proc_`).
fn c_field_name(rust_name: &str) -> &str {
    const KEYWORDS: &[&str] = &[
        "abstract", "as", "async", "await", "become", "box", "break", "const", "continue", "crate", "do", "dyn",
        "else", "enum", "extern", "false", "final", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "macro",
        "match", "mod", "move", "mut", "override", "priv", "proc", "pub", "ref", "return", "static", "struct", "super",
        "trait", "true", "try", "type", "typeof", "unsafe", "unsized", "use", "virtual", "where", "while", "yield",
    ];
    match rust_name.strip_suffix('_') {
        Some(stem) if KEYWORDS.contains(&stem) => stem,
        _ => rust_name,
    }
}

/// The docs.rs build: no libsasl2 is installed there, and nothing is linked
/// or run, so the committed bindings serve as they are.
fn docs_rs(target: &str) {
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::copy("src/bindings.rs", out_dir.join("bindings.rs")).expect("copy pre-generated bindings");
    let (major, minor, step) = PREGENERATED_VERSION;
    println!("cargo:version_number={:x}", (major << 16) | (minor << 8) | step);
    println!("cargo:rustc-env=SASL_SYS_HEADER_VERSION={major}.{minor}.{step}");
    println!("cargo:rustc-env=SASL_SYS_INCLUDE_DIR=");
    println!("cargo:rustc-env=SASL_SYS_TARGET={target}");
    println!("cargo:rustc-env=SASL_SYS_BINDINGS_SOURCE=pregenerated");
    write_abi_lists(&[]);
}

/// Refuses the committed bindings where they do not match, saying how to get
/// matching ones.
fn refuse_pregenerated(why: &str) -> ! {
    let (major, minor, step) = PREGENERATED_VERSION;
    panic!(
        "

sasl-sys: cannot use the pre-generated bindings: {why}.
  sasl-sys/src/bindings.rs was generated for {PREGENERATED_TARGET} with libsasl2 {major}.{minor}.{step}
  headers; struct layouts and constants may differ elsewhere, and the safe crate reads
  libsasl2's structs through them. Generate bindings for this system instead:
  - install libclang so the build runs bindgen (Debian/Ubuntu: apt-get install libclang-dev;
    Fedora/RHEL: dnf install clang-devel; or point LIBCLANG_PATH at libclang.so), and unset
    SASL2_NO_BINDGEN; or
  - on a machine with libclang and the target's headers, run sasl-sys/regen-bindings.sh and
    build with the sasl-sys/src/bindings.rs it writes.
"
    );
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
  SASL2_NO_BINDGEN    use the committed bindings even where libclang is present
"
    );
    panic!("{msg}");
}

//! Compares the Rust bindings with the C compiler: every constant the bindings
//! define must have the value the libsasl2 headers give it, and the structs the
//! safe crate fills in must have the C size, alignment and field offsets.
//!
//! `sasl-sys/build.rs` lists the constants and struct fields from the bindings of
//! this build (`$OUT_DIR/abi_constants.rs`). This test writes the same list as C
//! (`abi_items.h`), compiles `tests/abi.c` with the `cc` crate's compiler, runs it,
//! and compares its output with the values Rust compiled.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/abi_constants.rs"));

/// The structs the safe crate builds or reads field by field.
const CHECKED_STRUCTS: [&str; 4] =
    ["sasl_callback_t", "sasl_secret_t", "sasl_security_properties_t", "sasl_interact_t"];

/// What the compiled C program printed.
#[derive(Debug, Default)]
struct CAbi {
    ints: HashMap<String, i128>,
    bytes: HashMap<String, Vec<u8>>,
    /// Type name to (size, alignment).
    structs: HashMap<String, (usize, usize)>,
    /// (type name, field name) to (offset, size).
    fields: HashMap<(String, String), (usize, usize)>,
}

/// Compiles and runs `tests/abi.c` once per test process.
fn c_abi() -> &'static CAbi {
    static ABI: OnceLock<CAbi> = OnceLock::new();
    ABI.get_or_init(|| parse_c_output(&run_c_program()))
}

fn run_c_program() -> String {
    let work = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("abi-{}", std::process::id()));
    std::fs::create_dir_all(&work).expect("create the ABI test's temp dir");
    std::fs::write(work.join("abi_items.h"), c_items()).expect("write abi_items.h");

    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exe = work.join("abi");
    let target = env!("SASL_SYS_TARGET");
    let compiler = cc::Build::new()
        .target(target)
        .host(target)
        .opt_level(0)
        .debug(false)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .unwrap_or_else(|e| panic!("no C compiler for {target}: {e}"));
    let mut cmd = compiler.to_command();
    cmd.arg("-I")
        .arg(env!("SASL_SYS_INCLUDE_DIR"))
        .arg("-I")
        .arg(manifest_dir)
        .arg("-I")
        .arg(&work)
        .arg(manifest_dir.join("tests/abi.c"))
        .arg("-o")
        .arg(&exe);
    for dir in LIB_DIRS {
        cmd.arg(format!("-L{dir}"));
    }
    cmd.arg("-lsasl2");
    let built = cmd.output().unwrap_or_else(|e| panic!("could not run the C compiler {cmd:?}: {e}"));
    assert!(
        built.status.success(),
        "compiling tests/abi.c failed ({}); a constant the bindings define may be missing \
         from the C headers. Command: {cmd:?}\n{}",
        built.status,
        String::from_utf8_lossy(&built.stderr)
    );

    let ran = Command::new(&exe).output().unwrap_or_else(|e| panic!("could not run {}: {e}", exe.display()));
    assert!(
        ran.status.success(),
        "{} failed ({}):\n{}",
        exe.display(),
        ran.status,
        String::from_utf8_lossy(&ran.stderr)
    );
    // Only the output is needed from here on; a leftover dir is harmless.
    let _ = std::fs::remove_dir_all(&work);
    String::from_utf8(ran.stdout).expect("the ABI program prints ASCII")
}

/// The C side of the generated list: one macro call per item, for `tests/abi.c`.
fn c_items() -> String {
    let mut h = String::from("/* Written by sasl-sys/tests/abi.rs. */\n");
    for (name, _) in INT_CONSTANTS {
        let _ = writeln!(h, "ABI_INT({name})");
    }
    for (name, _) in BYTE_CONSTANTS {
        let _ = writeln!(h, "ABI_BYTES({name})");
    }
    for s in rust_struct_layouts() {
        let _ = writeln!(h, "ABI_STRUCT({})", s.c_name);
        for f in &s.fields {
            let _ = writeln!(h, "ABI_FIELD({}, {})", s.c_name, f.c_name);
        }
    }
    h
}

fn parse_c_output(out: &str) -> CAbi {
    fn num<T: std::str::FromStr>(line: &str, s: Option<&str>) -> T {
        s.and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("malformed line from the ABI program: {line:?}"))
    }
    let mut abi = CAbi::default();
    for line in out.lines() {
        let mut parts = line.split('\t');
        let kind = parts.next();
        let name = parts.next().map(str::to_owned);
        let name = name.unwrap_or_else(|| panic!("malformed line from the ABI program: {line:?}"));
        match kind {
            Some("int") => {
                abi.ints.insert(name, num(line, parts.next()));
            }
            Some("bytes") => {
                abi.bytes.insert(name, hex(line, parts.next().unwrap_or("")));
            }
            Some("struct") => {
                let size = num(line, parts.next());
                abi.structs.insert(name, (size, num(line, parts.next())));
            }
            Some("field") => {
                let field = parts.next().unwrap_or_default().to_owned();
                let offset = num(line, parts.next());
                abi.fields.insert((name, field), (offset, num(line, parts.next())));
            }
            _ => panic!("unknown line from the ABI program: {line:?}"),
        }
    }
    abi
}

fn hex(line: &str, digits: &str) -> Vec<u8> {
    assert!(digits.len() % 2 == 0, "odd hex length in {line:?}");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or_else(|_| panic!("bad hex in {line:?}")))
        .collect()
}

fn fail_on(problems: &[String], checked: usize, what: &str) {
    assert!(
        problems.is_empty(),
        "{} mismatch(es) between the Rust bindings and the C compiler in {checked} {what} \
         (regenerate the bindings with sasl-sys/regen-bindings.sh if the headers changed):\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

#[test]
fn every_sasl_constant_matches_the_c_headers() {
    assert!(
        UNCOMPARED_CONSTANTS.is_empty(),
        "the bindings define constants of a type this test cannot compare: {UNCOMPARED_CONSTANTS:?}"
    );
    let checked = INT_CONSTANTS.len() + BYTE_CONSTANTS.len();
    assert!(
        checked > 100,
        "only {checked} constants were found in the bindings; the list in \
         $OUT_DIR/abi_constants.rs is broken"
    );
    for expected in ["SASL_OK", "SASL_CB_LIST_END", "SASL_AUX_PASSWORD"] {
        assert!(
            INT_CONSTANTS.iter().any(|(n, _)| *n == expected) || BYTE_CONSTANTS.iter().any(|(n, _)| *n == expected),
            "{expected} is missing from the generated constant list"
        );
    }

    let c = c_abi();
    let mut problems = Vec::new();
    for &(name, rust) in INT_CONSTANTS {
        match c.ints.get(name) {
            None => problems.push(format!("{name}: not printed by the C program")),
            Some(&c_value) if c_value != rust => {
                problems.push(format!("{name}: Rust has {rust}, C has {c_value}"));
            }
            Some(_) => {}
        }
    }
    for &(name, rust) in BYTE_CONSTANTS {
        match c.bytes.get(name) {
            None => problems.push(format!("{name}: not printed by the C program")),
            Some(c_value) if c_value.as_slice() != rust => problems.push(format!(
                "{name}: Rust has b\"{}\", C has b\"{}\"",
                rust.escape_ascii(),
                c_value.escape_ascii()
            )),
            Some(_) => {}
        }
    }
    fail_on(&problems, checked, "constants");
    println!("{checked} constants match ({} integers, {} byte strings)", INT_CONSTANTS.len(), BYTE_CONSTANTS.len());
}

#[test]
fn struct_layouts_match_the_c_compiler() {
    let layouts = rust_struct_layouts();
    let names: Vec<&str> = layouts.iter().map(|s| s.c_name).collect();
    assert_eq!(names, CHECKED_STRUCTS, "the generated struct list changed");

    let c = c_abi();
    let mut problems = Vec::new();
    let mut checked = 0;
    for s in &layouts {
        assert!(!s.fields.is_empty(), "no fields of {} were found in the bindings", s.c_name);
        checked += 1;
        match c.structs.get(s.c_name) {
            None => problems.push(format!("{}: not printed by the C program", s.c_name)),
            Some(&(size, align)) => {
                if size != s.size {
                    problems.push(format!("sizeof({}): Rust {}, C {size}", s.c_name, s.size));
                }
                if align != s.align {
                    problems.push(format!("alignof({}): Rust {}, C {align}", s.c_name, s.align));
                }
            }
        }
        for f in &s.fields {
            checked += 1;
            let key = (s.c_name.to_owned(), f.c_name.to_owned());
            match c.fields.get(&key) {
                None => problems.push(format!("{}.{}: not printed by the C program", s.c_name, f.c_name)),
                Some(&(offset, size)) => {
                    if offset != f.offset {
                        problems.push(format!("offsetof({}, {}): Rust {}, C {offset}", s.c_name, f.c_name, f.offset));
                    }
                    if size != f.size {
                        problems.push(format!("sizeof({}.{}): Rust {}, C {size}", s.c_name, f.c_name, f.size));
                    }
                }
            }
        }
    }
    fail_on(&problems, checked, "struct and field layouts");
    println!("{} structs and {} fields match", layouts.len(), checked - layouts.len());
}

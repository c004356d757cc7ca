//! Turns the libsasl2 version that sasl-sys found into `cfg` flags.
//!
//! sasl-sys declares `links = "sasl2"` and prints `cargo:version_number=MMmmss`
//! (hex, like `SASL_VERSION_FULL`), which Cargo hands to this script as
//! `DEP_SASL2_VERSION_NUMBER`. For each floor below that the headers reach, this
//! sets `sasl2_2_1_XX`, meaning "built against libsasl2 2.1.XX or newer", so code
//! can be written as `#[cfg(sasl2_2_1_27)]`. Each flag is declared for
//! `unexpected_cfgs` whether it is set or not.

use std::env;

/// The version floors that get a cfg, as (name, major, minor, step).
const FLOORS: [(&str, u32, u32, u32); 3] =
    [("sasl2_2_1_26", 2, 1, 26), ("sasl2_2_1_27", 2, 1, 27), ("sasl2_2_1_28", 2, 1, 28)];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DEP_SASL2_VERSION_NUMBER");
    for (name, ..) in FLOORS {
        println!("cargo::rustc-check-cfg=cfg({name})");
    }

    let raw = env::var("DEP_SASL2_VERSION_NUMBER").unwrap_or_else(|e| {
        panic!(
            "DEP_SASL2_VERSION_NUMBER is not available ({e}). sasl-sys's build script \
             prints it as `cargo:version_number`; is sasl-sys still a dependency with \
             `links = \"sasl2\"`?"
        )
    });
    let found = parse_version_number(&raw).unwrap_or_else(|| {
        panic!(
            "DEP_SASL2_VERSION_NUMBER is {raw:?}, expected hex MMmmss such as \"2011c\" \
             (libsasl2 2.1.28)"
        )
    });

    for (name, major, minor, step) in FLOORS {
        if found >= (major, minor, step) {
            println!("cargo::rustc-cfg={name}");
        }
    }
}

/// Splits hex `MMmmss` into (major, minor, step); `None` if it is not that.
fn parse_version_number(raw: &str) -> Option<(u32, u32, u32)> {
    let digits = raw.trim();
    if digits.is_empty() || digits.len() > 6 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let n = u32::from_str_radix(digits, 16).ok()?;
    Some((n >> 16, (n >> 8) & 0xff, n & 0xff))
}

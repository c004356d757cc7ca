//! The Cyrus `key: value` config parser (`Config::parse_bytes`) on arbitrary bytes.
//!
//! Invariants:
//! - no panic; a failure is a `ConfigError` whose line exists in the input;
//! - the lines before a failing line parse on their own (the error is about that line);
//! - a parsed config written back out in the same format parses to the same options,
//!   in the same order, and the same security properties;
//! - `FromStr` and `parse_bytes` agree on UTF-8 input.
#![no_main]

use cyrus_sasl::{Config, ConfigErrorKind, SecurityProperties};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let lines = data.split(|&b| b == b'\n').count();
    let parsed = Config::parse_bytes(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let via_from_str = text.parse::<Config>();
        assert_eq!(format!("{parsed:?}"), format!("{via_from_str:?}"), "FromStr and parse_bytes disagree");
    }
    let config = match parsed {
        Ok(config) => config,
        Err(e) => {
            assert!(e.path.is_none(), "no file was involved");
            assert!((1..=lines).contains(&e.line), "error line {} outside 1..={lines}", e.line);
            assert!(!matches!(e.kind, ConfigErrorKind::Io(..)), "{e:?}");
            // Everything before the failing line is fine on its own.
            let before: Vec<&[u8]> = data.split(|&b| b == b'\n').take(e.line - 1).collect();
            let before = before.join(&b'\n');
            if let Err(early) = Config::parse_bytes(&before) {
                panic!("line {} failed, but so do the lines before it: {early:?}", e.line);
            }
            let _ = e.to_string();
            return;
        }
    };
    let _ = config.mech_list();
    let _ = format!("{config:?}");

    // Write it back out: the keys the input declared (every key, declared
    // again: known ones may be declared too), Cyrus options in order, then the
    // wrapper keys and the flags.
    let keys: Vec<&str> = config.options().map(|(key, _)| key).collect();
    let mut text = format!("extra_options: {}\n", keys.join(" "));
    for (key, value) in config.options() {
        text.push_str(&format!("{key}: {value}\n"));
    }
    let security = config.security();
    let flags: Vec<&str> = SecurityProperties::FLAG_NAMES
        .iter()
        .filter(|(_, flag)| security.flags & flag != 0)
        .map(|(name, _)| *name)
        .collect();
    text.push_str(&format!(
        "min_ssf: {}\nmax_ssf: {}\nmaxbufsize: {}\nsecurity_flags: {}\n",
        security.min_ssf,
        security.max_ssf,
        security.maxbufsize,
        flags.join(" ")
    ));
    let again: Config = match text.parse() {
        Ok(config) => config,
        Err(e) => panic!("a parsed config does not parse again after writing it out: {e:?}\n{text:?}"),
    };
    let a: Vec<_> = config.options().collect();
    let b: Vec<_> = again.options().collect();
    assert_eq!(a, b, "options changed on a round trip");
    assert_eq!(config.security(), again.security(), "security properties changed on a round trip");
    for (key, value) in &a {
        assert_eq!(config.get(key), Some(*value));
    }
});

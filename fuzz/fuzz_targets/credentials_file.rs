//! The Mesos credentials-file parser (`parse_credentials`: JSON and the legacy
//! `principal secret` text format) on arbitrary bytes.
//!
//! Invariants:
//! - no panic; a failure is a typed `CredentialsFileError` whose line exists;
//! - what parses is what the parser promises: principals non-empty, unique and
//!   free of control characters; secrets non-empty UTF-8 without NUL; and the
//!   credential store accepts the list as it is;
//! - written back out as Mesos JSON (and as text, when every field can be a text
//!   field), it parses to the same credentials;
//! - a JSON syntax error quotes none of the input (it could be a secret).
#![no_main]

use std::collections::HashSet;

use cyrus_sasl_mesos::fuzzing::parse_credentials;
use cyrus_sasl_mesos::{Credential, CredentialsProblem, FileErrorKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let credentials = match parse_credentials(data) {
        Ok(credentials) => credentials,
        Err(e) => {
            let lines = data.split(|&b| b == b'\n').count();
            assert!(e.path.is_none(), "no file was involved");
            assert!((1..=lines).contains(&e.line), "error line {} outside 1..={lines}: {e:?}", e.line);
            assert!(
                !matches!(e.kind, FileErrorKind::Io(..) | FileErrorKind::TooLarge { .. }),
                "{e:?}"
            );
            if let Some(CredentialsProblem::Json(message)) = e.credentials_problem() {
                assert!(!message.contains('"'), "a JSON error quotes the input: {message}");
            }
            let _ = e.to_string();
            return;
        }
    };

    let mut principals = HashSet::new();
    let mut pairs = Vec::new();
    for Credential { principal, secret } in &credentials {
        let secret = secret.as_ref().expect("a parsed credential has a secret");
        assert!(!principal.is_empty(), "empty principal");
        assert!(!principal.chars().any(char::is_control), "control character in principal {principal:?}");
        assert!(principals.insert(principal.clone()), "duplicate principal {principal:?}");
        assert!(!secret.is_empty(), "empty secret for {principal:?}");
        assert!(!secret.expose().contains(&0), "NUL in the secret of {principal:?}");
        let secret = std::str::from_utf8(secret.expose()).expect("a secret parsed from text is UTF-8");
        pairs.push((principal.clone(), secret.to_owned()));
    }
    let count = credentials.len();
    let store = cyrus_sasl_mesos::credential_store(credentials)
        .unwrap_or_else(|e| panic!("the store refuses what the parser accepted: {e}"));
    assert_eq!(store.len(), count);

    // Mesos JSON.
    let entries: Vec<String> = pairs
        .iter()
        .map(|(p, s)| format!("{{\"principal\": {}, \"secret\": {}}}", json_string(p), json_string(s)))
        .collect();
    let json = format!("{{\"credentials\": [{}]}}", entries.join(", "));
    assert_eq!(reparse(json.as_bytes()), pairs, "JSON round trip of {json:?}");

    // Legacy text, when every field is one whitespace-free token of printable text.
    let plain = |s: &str| !s.is_empty() && !s.chars().any(|c| c.is_ascii_whitespace() || c.is_control());
    // (The format is chosen by the first non-blank character, after a BOM.)
    let first_is_brace =
        pairs.first().is_some_and(|(p, _)| p.trim_start().starts_with('{') || p.starts_with('\u{feff}'));
    if !first_is_brace && pairs.iter().all(|(p, s)| plain(p) && plain(s)) {
        let text: String = pairs.iter().map(|(p, s)| format!("{p} {s}\n")).collect();
        assert_eq!(reparse(text.as_bytes()), pairs, "text round trip of {text:?}");
    }
});

/// A JSON string literal with every control character escaped: the reader
/// refuses raw control characters anywhere in the file (documented), and
/// serde_json writes DEL and the C1 controls (U+0080 to U+009F) raw.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn reparse(bytes: &[u8]) -> Vec<(String, String)> {
    match parse_credentials(bytes) {
        Ok(list) => list
            .into_iter()
            .map(|c| {
                let secret = c.secret.expect("a parsed credential has a secret");
                (c.principal, String::from_utf8(secret.expose().to_vec()).unwrap())
            })
            .collect(),
        Err(e) => panic!("written-out credentials do not parse: {e:?}"),
    }
}

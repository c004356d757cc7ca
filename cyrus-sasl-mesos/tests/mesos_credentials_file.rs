//! Reading Mesos credentials files from disk: paths (with `file://`), the
//! permission warning, the size cap, and that neither logs nor errors carry a
//! secret. (The parser's cases are unit tests in `src/credentials_file.rs`.)
//! One logger per process, so the tests that read the log take a lock.

use cyrus_sasl_test_support as common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::capture;
use cyrus_sasl_mesos::{
    CredentialsProblem, FileErrorKind, MAX_CREDENTIALS_FILE_SIZE, read_credential, read_credentials,
};

fn write(path: &Path, text: &[u8], mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

const JSON: &[u8] = br#"{"credentials": [{"principal": "framework-a", "secret": "hunter2-a"},
                  {"principal": "agent", "secret": "hunter2-b"}]}"#;

#[test]
fn reads_json_and_text_files_with_and_without_a_file_scheme() {
    let _log = capture::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("credentials.json");
    let text = dir.path().join("credentials.txt");
    write(&json, JSON, 0o600);
    write(&text, b"framework-a hunter2-a\nagent hunter2-b\n", 0o600);
    for path in [json.display().to_string(), format!("file://{}", json.display()), text.display().to_string()] {
        let credentials = read_credentials(&path).unwrap();
        let got: Vec<(&str, &[u8])> =
            credentials.iter().map(|c| (c.principal.as_str(), c.secret.as_ref().unwrap().expose())).collect();
        assert_eq!(got, [("framework-a", &b"hunter2-a"[..]), ("agent", b"hunter2-b")], "{path}");
    }
    assert!(capture::lines().iter().all(|l| !l.contains("hunter2")), "{:#?}", capture::lines());
}

#[test]
fn a_file_others_can_access_gives_a_warning_and_a_private_one_does_not() {
    let _log = capture::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    let warned = |mode| {
        write(&path, JSON, mode);
        capture::clear();
        read_credentials(&path).unwrap();
        capture::lines()
            .iter()
            .any(|l| l.starts_with("WARN") && l.contains("too open") && l.contains(&format!("{mode:04o}")))
    };
    assert!(!warned(0o600));
    assert!(!warned(0o640));
    assert!(warned(0o604), "readable by others");
    assert!(warned(0o602), "writable by others");
    assert!(warned(0o601), "executable by others (Mesos warns on any of rwx)");
    assert!(warned(0o666));
}

#[test]
fn an_empty_file_means_no_credentials_with_a_warning() {
    let _log = capture::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    write(&path, b"", 0o600);
    assert!(read_credentials(&path).unwrap().is_empty());
    assert!(
        capture::lines()
            .iter()
            .any(|l| l.starts_with("WARN") && l.contains("every authentication attempt will be rejected"))
    );
}

#[test]
fn errors_name_the_file_and_line_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    write(&path, b"framework-a hunter2-a\nagent\n", 0o600);
    let e = read_credentials(&path).unwrap_err();
    assert_eq!(e.path.as_deref(), Some(path.as_path()));
    assert_eq!(e.line, 2);
    assert_eq!(e.credentials_problem(), Some(&CredentialsProblem::FieldCount { found: 1 }));
    let shown = format!("{e} {e:?}");
    assert!(shown.starts_with(&format!("credentials file '{}', line 2: ", path.display())), "{shown}");
    assert!(!shown.contains("hunter2"), "{shown}");
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope");
    let e = read_credentials(format!("file://{}", path.display())).unwrap_err();
    assert_eq!(e.io_kind(), Some(std::io::ErrorKind::NotFound), "{e:?}");
    assert_eq!(e.path.as_deref(), Some(path.as_path()));
    let e = read_credentials(dir.path()).unwrap_err();
    assert!(matches!(e.kind, FileErrorKind::Io(_)), "a directory: {e:?}");
}

#[test]
fn files_over_the_cap_are_refused_and_files_at_the_cap_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    // Exactly at the cap: one credential, then blanks.
    let mut text = b"a s\n".to_vec();
    text.resize(MAX_CREDENTIALS_FILE_SIZE as usize, b'\n');
    write(&path, &text, 0o600);
    assert_eq!(read_credentials(&path).unwrap().len(), 1);
    text.push(b'\n');
    write(&path, &text, 0o600);
    let e = read_credentials(&path).unwrap_err();
    assert!(matches!(e.kind, FileErrorKind::TooLarge { limit: MAX_CREDENTIALS_FILE_SIZE }), "{e:?}");
}

#[test]
fn a_device_with_no_end_is_refused_by_the_cap() {
    // /dev/zero reports length 0 and never ends: the reader must stop at the cap.
    let e = read_credentials("/dev/zero").unwrap_err();
    assert!(matches!(e.kind, FileErrorKind::TooLarge { limit: MAX_CREDENTIALS_FILE_SIZE }), "{e:?}");
}

/// Mesos's `--credential` flag (frameworks and agents): one object, or one line.
#[test]
fn a_single_credential_file_reads_in_json_and_text_and_warns_when_open_to_others() {
    let _log = capture::start();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("credential.json");
    let text = dir.path().join("credential.txt");
    write(&json, br#"{"principal": "framework-a", "secret": "hunter2\u0021"}"#, 0o600);
    write(&text, b"\nframework-a hunter2!\r\n\n", 0o604);
    for path in [json.display().to_string(), format!("file://{}", json.display()), text.display().to_string()] {
        let credential = read_credential(&path).unwrap();
        assert_eq!(credential.principal, "framework-a", "{path}");
        assert_eq!(credential.secret.as_ref().unwrap().expose(), b"hunter2!", "{path}");
        assert!(!format!("{credential:?}").contains("hunter2"), "{credential:?}");
    }
    let lines = capture::lines();
    assert!(lines.iter().all(|l| !l.contains("hunter2")), "{lines:#?}");
    let warnings: Vec<_> = lines.iter().filter(|l| l.starts_with("WARN") && l.contains("too open")).collect();
    assert_eq!(warnings.len(), 1, "only the text file is open to others: {lines:#?}");
    assert!(warnings[0].contains("credential.txt"), "{warnings:?}");
}

#[test]
fn a_single_credential_file_with_zero_or_two_credentials_or_a_bad_field_is_an_error_without_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credential");
    let cases: [(&[u8], &str); 7] = [
        (b"", "exactly one credential"),
        (b"fw hunter2\nagent hunter2\n", "exactly one credential"),
        (b"fw hunter2 extra\n", "two fields"),
        // The master's file is not a framework's credential.
        (br#"{"credentials": [{"principal": "fw", "secret": "hunter2"}]}"#, "unknown field"),
        (br#"{"principal": "fw"}"#, "no \"secret\""),
        (br#"{"principal": "fw", "secret": ""}"#, "empty secret"),
        (br#"{"principal": "fw", "secret": "hunter2", "role": "x"}"#, "unknown field"),
    ];
    for (text, expected) in cases {
        write(&path, text, 0o600);
        let err = read_credential(&path).unwrap_err();
        let shown = format!("{err} {err:?}");
        assert!(shown.contains(expected), "{:?}: {shown}", String::from_utf8_lossy(text));
        assert!(shown.contains(&path.display().to_string()), "{shown}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
    let err = read_credential(dir.path().join("missing")).unwrap_err();
    assert_eq!(err.io_kind(), Some(std::io::ErrorKind::NotFound), "{err:?}");
}

/// Found by the credentials_file fuzz target.
/// The input on which `credentials_file` failed its round trip (the harness's
/// writer was at fault, not the reader): a JSON secret holding `\u008e`, a C1
/// control character. The reader accepts control characters in a secret only
/// escaped; raw, as serde_json and Python's `json` write DEL and the C1 range,
/// they are refused with the file's other control characters (documented on
/// `read_credentials`).
#[test]
fn credentials_json_secret_with_a_c1_control_is_accepted_escaped_and_refused_raw() {
    use cyrus_sasl_mesos::fuzzing::parse_credentials;
    let escaped = br#"{"credentials":[{"principal":"a","secret":"q\"b\\sEEEEEEEEEE=E(ra\u002eBa\u01eBBfa\reBBfBfa\ruBr   egepa\u008eBBfa\ru`WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWBredra00"}]}"#;
    let credentials = parse_credentials(escaped).unwrap();
    let secret = std::str::from_utf8(credentials[0].secret.as_ref().unwrap().expose()).unwrap();
    assert!(secret.contains("egepa\u{8e}BBfa\ru`"), "{:?}", credentials[0]);
    let raw = serde_json::to_string(secret).unwrap();
    assert!(raw.contains('\u{8e}'), "serde_json writes U+008E raw");
    let file = format!(r#"{{"credentials":[{{"principal":"a","secret":{raw}}}]}}"#);
    let e = parse_credentials(file.as_bytes()).unwrap_err();
    assert_eq!((e.line, e.credentials_problem()), (1, Some(&CredentialsProblem::ControlCharacter)));
}

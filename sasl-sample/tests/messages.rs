//! Issue 14, item 10: a missing user name or password is a typed error, and
//! `sasl-sample client` names the option that supplies it.

use std::io::Write;
use std::process::{Command, Stdio};

use cyrus_sasl::{Client, Config, Credentials, Error};

fn client(user: &str) -> Client {
    Client::new("sample", "localhost", Credentials::new(user, "secret"), &Config::new()).unwrap()
}

fn is_missing_authname(e: &Error) -> bool {
    matches!(e, Error::MissingCredential { missing } if missing == &["authentication name (SASL_CB_AUTHNAME)"])
}

#[test]
fn a_blank_user_name_is_a_missing_credential_not_a_generic_failure() {
    // SCRAM asks for the name at start, CRAM-MD5 at its step.
    // (A name of only spaces is another matter: libsasl2 2.1.28's SCRAM client
    // sends it as it is, and the server decides.)
    let e = client("").start("SCRAM-SHA-256").unwrap_err();
    assert!(is_missing_authname(&e), "{e:?}");
    let mut cram = client("");
    cram.start("CRAM-MD5").unwrap();
    let e = cram.step(b"<1234.5678@localhost>").unwrap_err();
    assert!(is_missing_authname(&e), "{e:?}");
    // A name is sent as it is: no error.
    assert!(client("alice").start("SCRAM-SHA-256").is_ok());
}

/// `sasl-sample client` on pipes, fed `input`; returns its exit code and stderr.
fn sample_client(args: &[&str], password: Option<&str>, input: &[u8]) -> (Option<i32>, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
    command.arg("client").args(args).env_remove("SASL_PASSWORD");
    if let Some(password) = password {
        command.env("SASL_PASSWORD", password);
    }
    let mut child = command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn sasl_sample_client_names_the_option_for_a_missing_user_or_password() {
    // base64 of a CRAM-MD5 challenge, "<1234>".
    let (code, err) = sample_client(&["--mech", "CRAM-MD5"], Some("secret"), b"PDEyMzQ+\n");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--user"), "{err}");
    assert!(!err.contains("All-whitespace"), "{err}");
    let (code, err) = sample_client(&["--mech", "SCRAM-SHA-256", "--user", "alice"], None, b"");
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--password-file") && err.contains("SASL_PASSWORD"), "{err}");
}

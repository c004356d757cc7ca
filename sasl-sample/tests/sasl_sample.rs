//! The `sasl-sample` tool as a child process: serving clients one after another,
//! against its own client over pipes, and on bad input. Its exchanges with GNU
//! gsasl and with its own client over TCP, for every mechanism, are in the
//! interop matrix (tests/interop.rs).
//!
//! Every child is owned by a [`Proc`] (tests/common/child.rs), which kills and
//! reaps it when dropped, so a failed assertion never leaves a process behind;
//! every wait has a deadline, so a stalled exchange fails the test instead of
//! hanging it.

use cyrus_sasl_test_support as common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::thread;

use common::REALM;
use common::child::{Proc, collect, pump};

const BIN: &str = env!("CARGO_BIN_EXE_sasl-sample");

/// The line the server prints for alice: libsasl2 names her `user@realm`.
const ALICE_AUTHENTICATED: &str = "authenticated: alice@EXAMPLE.TEST mech=CRAM-MD5 ssf=0";

/// A sasldb with alice/secret, and a server config for CRAM-MD5 against it.
fn cram_md5_setup() -> (common::TestDb, PathBuf) {
    let db = common::sasldb(&[("alice", "secret")]);
    let config = db.dir.path().join("sasl-sample.conf");
    let text = format!(
        "# CRAM-MD5 against the test sasldb\nmech_list: CRAM-MD5\npwcheck_method: auxprop\n\
         auxprop_plugin: sasldb\nsasldb_path: {}\n",
        db.path.display()
    );
    std::fs::write(&config, text).unwrap();
    (db, config)
}

/// `sasl-sample server` on stdin/stdout.
fn server_command(config: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.arg("server").arg("--config").arg(config).args(["--realm", REALM]).env_remove("SASL_PASSWORD");
    command
}

/// `sasl-sample client` for alice with CRAM-MD5; the caller adds the password
/// and the transport.
fn client_command() -> Command {
    let mut command = Command::new(BIN);
    command.args(["client", "--user", "alice", "--mech", "CRAM-MD5"]).env_remove("SASL_PASSWORD");
    command
}

#[test]
fn sasl_sample_server_without_once_serves_clients_one_after_another() {
    let (_db, config) = cram_md5_setup();
    let mut server = Proc::spawn(
        "sasl-sample server --listen",
        server_command(&config).args(["--listen", "127.0.0.1:0"]).stdin(Stdio::null()).stdout(Stdio::null()),
    );
    let addr = server.wait_for_line("listening on ");
    for (password, expected_exit) in [("not-the-secret", 1), ("secret", 0)] {
        let mut client = Proc::spawn(
            "sasl-sample client",
            client_command()
                .args(["--connect", &addr])
                .env("SASL_PASSWORD", password)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        );
        let (status, err) = client.finish();
        assert_eq!(status.code(), Some(expected_exit), "client stderr: {err}");
    }
    server.wait_for_line("sasl-sample: 127.0.0.1:");
    assert_eq!(server.wait_for_line("authenticated: "), "alice@EXAMPLE.TEST mech=CRAM-MD5 ssf=0");
    assert!(server.child.try_wait().unwrap().is_none(), "the server keeps listening; dropping it kills it");
}

#[test]
fn sasl_sample_client_and_server_over_pipes_with_password_file() {
    let (db, config) = cram_md5_setup();
    let password_file = db.dir.path().join("password");
    // The trailing newline an editor leaves must not become part of the password.
    std::fs::write(&password_file, "secret\n").unwrap();
    let mut server =
        Proc::spawn("sasl-sample server", server_command(&config).stdin(Stdio::piped()).stdout(Stdio::piped()));
    let server_out = server.stdout();
    let mut client = Proc::spawn(
        "sasl-sample client",
        client_command()
            .arg("--password-file")
            .arg(&password_file)
            .stdin(Stdio::from(server_out))
            .stdout(Stdio::piped()),
    );
    let from_client = pump(client.stdout(), server.stdin());
    let (server_status, server_err) = server.finish();
    let (client_status, client_err) = client.finish();
    let sent = String::from_utf8_lossy(&from_client.join().unwrap()).into_owned();
    assert_eq!(server_status.code(), Some(0), "server stderr: {server_err}; client sent {sent:?}");
    assert!(server_err.lines().any(|l| l == ALICE_AUTHENTICATED), "server stderr: {server_err}");
    assert_eq!(client_status.code(), Some(0), "client stderr: {client_err}");
    assert_eq!(sent.lines().count(), 3, "mechanism, empty initial response, CRAM-MD5 response: {sent:?}");
}

#[test]
fn sasl_sample_client_without_mechanism_exits_2() {
    let mut client = Proc::spawn(
        "sasl-sample client",
        Command::new(BIN).args(["client", "--user", "alice"]).stdin(Stdio::null()).stdout(Stdio::null()),
    );
    let (status, err) = client.finish();
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert!(err.contains("no mechanism"), "stderr: {err}");
}

/// Runs a stdio server on `input`; returns its status, stdout and stderr.
fn server_on_input(config: &Path, input: &'static [u8]) -> (ExitStatus, String, String) {
    let mut server =
        Proc::spawn("sasl-sample server", server_command(config).stdin(Stdio::piped()).stdout(Stdio::piped()));
    let mut stdin = server.stdin();
    // The server may stop reading early; a failed write is then expected.
    let feeder = thread::spawn(move || {
        let _ = stdin.write_all(input);
    });
    let out = collect(server.stdout());
    let (status, err) = server.finish();
    feeder.join().unwrap();
    (status, out.join().unwrap(), err)
}

/// One line of base64 that is not empty: a CRAM-MD5 challenge.
fn is_one_challenge(out: &str) -> bool {
    out.lines().count() == 1 && out.len() > 1 && out.ends_with('\n')
}

#[test]
fn server_exits_2_on_malformed_base64() {
    let (_db, config) = cram_md5_setup();
    let (status, out, err) = server_on_input(&config, b"CRAM-MD5\n\n*** not base64 ***\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert!(is_one_challenge(&out), "the server got as far as its challenge: {out:?}");
    assert!(err.contains("the response is not valid base64"), "stderr: {err}");
}

#[test]
fn server_exits_2_on_unknown_mechanism() {
    let (_db, config) = cram_md5_setup();
    let (status, out, err) = server_on_input(&config, b"NO-SUCH-MECH\n\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "", "nothing is sent for an unknown mechanism");
    assert!(err.contains("NO-SUCH-MECH is not installed"), "stderr: {err}");
}

#[test]
fn server_exits_2_on_mechanism_outside_mech_list() {
    let (_db, config) = cram_md5_setup();
    let (status, out, err) = server_on_input(&config, b"PLAIN\n\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert!(err.contains("PLAIN is not offered"), "stderr: {err}");
}

#[test]
fn server_exits_2_on_invalid_mechanism_line() {
    let (_db, config) = cram_md5_setup();
    let (status, out, err) = server_on_input(&config, b"CRAM MD5; rm -rf\n\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert!(err.contains("invalid mechanism name"), "stderr: {err}");
}

#[test]
fn server_exits_2_on_eof_mid_handshake() {
    let (_db, config) = cram_md5_setup();
    let (status, out, err) = server_on_input(&config, b"CRAM-MD5\n\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert!(is_one_challenge(&out), "the input ended after the challenge: {out:?}");
    assert!(err.contains("closed the connection in the middle of the exchange (expected the response)"), "{err}");
}

#[test]
fn server_exits_2_on_eof_before_the_initial_response() {
    let (_db, config) = cram_md5_setup();
    let (status, out, err) = server_on_input(&config, b"CRAM-MD5\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert!(err.contains("(expected the initial response)"), "stderr: {err}");
}

#[test]
fn server_exits_2_on_bad_config_file_naming_file_and_line() {
    let (db, _) = cram_md5_setup();
    let config = db.dir.path().join("broken.conf");
    std::fs::write(&config, "mech_list: CRAM-MD5\nthis line has no colon\n").unwrap();
    let (status, out, err) = server_on_input(&config, b"CRAM-MD5\n\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert!(err.contains(&format!("{}:2: expected `key: value`", config.display())), "stderr: {err}");
}

#[test]
fn server_exits_2_when_the_configured_sasldb_is_missing() {
    let (db, _) = cram_md5_setup();
    let config = db.dir.path().join("missing-db.conf");
    let missing = db.dir.path().join("no-such-sasldb");
    let text = format!("mech_list: CRAM-MD5\nauxprop_plugin: sasldb\nsasldb_path: {}\n", missing.display());
    std::fs::write(&config, text).unwrap();
    // libsasl2 only notices the missing file when it looks the user up, and then
    // calls it an unknown user; the server checks it at start-up instead
    // (`Server::check`), before reading a line.
    // The response is base64 of "alice <32 hex digits>".
    let input = b"CRAM-MD5\n\nYWxpY2UgMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n";
    let (status, out, err) = server_on_input(&config, input);
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "", "nothing was sent: the start-up check failed first");
    assert!(err.contains(&missing.display().to_string()), "stderr: {err}");
    assert!(!err.contains("rejected"), "stderr: {err}");
}

#[test]
fn server_with_a_missing_sasldb_fails_at_start_up_without_listening() {
    let (db, _) = cram_md5_setup();
    let config = db.dir.path().join("missing-db.conf");
    let missing = db.dir.path().join("no-such-sasldb");
    let text = format!("mech_list: CRAM-MD5\nauxprop_plugin: sasldb\nsasldb_path: {}\n", missing.display());
    std::fs::write(&config, text).unwrap();
    let mut server = Proc::spawn(
        "sasl-sample server --listen",
        server_command(&config).args(["--listen", "127.0.0.1:0"]).stdin(Stdio::null()).stdout(Stdio::null()),
    );
    let (status, err) = server.finish();
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert!(!err.contains("listening on"), "stderr: {err}");
    assert!(err.contains(&missing.display().to_string()), "the reason names the file: {err}");
}

#[test]
fn server_with_a_mechanism_the_security_flags_exclude_fails_at_start_up() {
    let (db, _) = cram_md5_setup();
    let config = db.dir.path().join("plain.conf");
    let text = format!("mech_list: PLAIN\nauxprop_plugin: sasldb\nsasldb_path: {}\n", db.path.display());
    std::fs::write(&config, text).unwrap();
    let (status, out, err) = server_on_input(&config, b"PLAIN\n\n");
    assert_eq!(status.code(), Some(2), "stderr: {err}");
    assert_eq!(out, "");
    assert!(err.contains("PLAIN is not offered") && err.contains("security_flags"), "stderr: {err}");
}

//! Issue 14, item 1: by default a server refuses ANONYMOUS (even with no or a
//! misspelt `mech_list`) and neither side uses PLAIN or LOGIN without a security
//! layer; a config opens up only with an explicit `security_flags`, which is
//! reported as a warning. Both the library and the `sasl-sample` binary.

use cyrus_sasl_test_support as common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::child::Proc;
use common::{Outcome, REALM, handshake};
use cyrus_sasl::{Client, Config, ConfigErrorKind, CredentialStore, Credentials, Error, Server, Warning};

const BIN: &str = env!("CARGO_BIN_EXE_sasl-sample");

fn store() -> CredentialStore {
    CredentialStore::from_credentials([("alice".to_owned(), "secret".into())]).unwrap()
}

fn server(config: &Config) -> Server {
    Server::new("sample", "localhost", None, config).unwrap()
}

/// A PLAIN initial response for alice.
const ALICE_PLAIN: &[u8] = b"\0alice\0secret";

#[test]
fn a_default_server_offers_neither_anonymous_nor_plaintext() {
    let server = server(&Config::new().with_credential_store(&store()));
    let offered = server.mechanisms().unwrap();
    for refused in ["ANONYMOUS", "PLAIN", "LOGIN"] {
        assert!(!offered.iter().any(|m| m == refused), "{refused} offered by default: {offered:?}");
    }
    assert!(offered.iter().any(|m| m == "CRAM-MD5"), "{offered:?}");
}

#[test]
fn a_default_server_refuses_anonymous_and_plain_when_asked_for_them() {
    let config = Config::new().with_credential_store(&store());
    let mut s = server(&config);
    let e = s.start("ANONYMOUS", Some(b"anything")).unwrap_err();
    assert!(matches!(&e, Error::MechanismNotOffered { mechanism, .. } if mechanism == "ANONYMOUS"), "{e:?}");
    let mut s = server(&config);
    let e = s.start("PLAIN", Some(ALICE_PLAIN)).unwrap_err();
    assert!(matches!(&e, Error::MechanismNotOffered { mechanism, .. } if mechanism == "PLAIN"), "{e:?}");
    assert!(e.to_string().contains("security_flags"), "the message names the switch: {e}");
}

#[test]
fn plain_is_accepted_when_the_config_allows_plaintext() {
    let config: Config = "mech_list: PLAIN\nsecurity_flags: noanonymous\n".parse().unwrap();
    let config = config.with_credential_store(&store());
    assert_eq!(config.warnings(), [Warning::AllowsPlaintext]);
    let mut client = Client::new("sample", "localhost", Credentials::new("alice", "secret"), &config).unwrap();
    let outcome = handshake(&mut client, &mut server(&config)).unwrap();
    let Outcome::Authenticated(identity) = outcome else { panic!("{outcome:?}") };
    assert_eq!((identity.authid.as_str(), identity.mechanism.as_str()), ("alice", "PLAIN"));
}

#[test]
fn a_default_client_refuses_to_pick_plain() {
    let mut client = Client::new("sample", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    let e = client.start("PLAIN LOGIN").unwrap_err();
    assert!(matches!(e, Error::NoMechanism { .. }), "{e:?}");
    let open = Config::new().with("security_flags", "noanonymous").unwrap();
    let mut client = Client::new("sample", "localhost", Credentials::new("alice", "secret"), &open).unwrap();
    assert_eq!(client.start("PLAIN").unwrap().mechanism, "PLAIN");
}

#[test]
fn security_flags_names_cyrus_flags_and_an_unknown_name_is_an_error_naming_the_line() {
    let c: Config = "security_flags: noanonymous noplaintext mutual_auth\n".parse().unwrap();
    assert_eq!(
        c.security().flags,
        cyrus_sasl::SecurityProperties::DEFAULT_FLAGS | cyrus_sasl::SecurityProperties::MUTUAL_AUTH
    );
    assert_eq!(c.warnings(), []);
    assert_eq!(Config::new().warnings(), [], "the defaults warn about nothing");
    let e = "mech_list: CRAM-MD5\nsecurity_flags: noanonymous noplaintxt\n".parse::<Config>().unwrap_err();
    assert_eq!((e.line, e.kind.clone()), (2, ConfigErrorKind::UnknownSecurityFlag { name: "noplaintxt".into() }));
    assert!(e.to_string().starts_with("line 2: unknown security flag \"noplaintxt\""), "{e}");
    let open: Config = "security_flags:\n".parse().unwrap();
    assert_eq!(open.warnings(), [Warning::AllowsAnonymous, Warning::AllowsPlaintext]);
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A server config with a sasldb for alice and no `mech_list`, plus `extra`.
fn server_config(db: &common::TestDb, extra: &str) -> PathBuf {
    let text = format!("pwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\n{extra}", db.path.display());
    write_config(db.dir.path(), "server.conf", &text)
}

/// Runs `sasl-sample server --once` on `server_config` against
/// `sasl-sample client` with `client_args`; returns the exit codes and stderrs.
fn exchange(
    server_config: &Path,
    client_config: &Path,
    client_args: &[&str],
) -> (Option<i32>, String, Option<i32>, String) {
    let mut server = Proc::spawn(
        "sasl-sample server",
        Command::new(BIN)
            .args(["server", "--listen", "127.0.0.1:0", "--once", "--realm", REALM, "--config"])
            .arg(server_config)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let addr = server.wait_for_line("listening on ");
    let mut client = Proc::spawn(
        "sasl-sample client",
        Command::new(BIN)
            .args(["client", "--connect", &addr, "--config"])
            .arg(client_config)
            .args(client_args)
            .env("SASL_PASSWORD", "secret")
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let (client_status, client_err) = client.finish();
    let (server_status, server_err) = server.finish();
    (server_status.code(), server_err, client_status.code(), client_err)
}

#[test]
fn sasl_sample_server_without_mech_list_refuses_anonymous() {
    let db = common::sasldb(&[("alice", "secret")]);
    let config = server_config(&db, "");
    // The client opens up, so that the server's refusal is what is tested.
    let client_config = write_config(db.dir.path(), "client.conf", "security_flags: noplaintext\n");
    let (server, server_err, client, client_err) =
        exchange(&config, &client_config, &["--mech", "ANONYMOUS", "--user", "anything"]);
    assert!(!server_err.contains("authenticated:"), "server stderr: {server_err}");
    assert_eq!(server, Some(2), "server stderr: {server_err}");
    assert!(server_err.contains("ANONYMOUS is not offered"), "server stderr: {server_err}");
    assert_eq!(client, Some(1), "client stderr: {client_err}");
}

#[test]
fn sasl_sample_plain_is_refused_by_default_and_accepted_with_security_flags() {
    let db = common::sasldb(&[("alice", "secret")]);
    let open = write_config(db.dir.path(), "client.conf", "security_flags: noanonymous\n");
    let plain = ["--mech", "PLAIN", "--user", "alice"];
    let (server, server_err, _, client_err) = exchange(&server_config(&db, ""), &open, &plain);
    assert_eq!(server, Some(2), "server stderr: {server_err}\nclient stderr: {client_err}");
    assert!(server_err.contains("PLAIN is not offered"), "server stderr: {server_err}");

    let (server, server_err, client, client_err) =
        exchange(&server_config(&db, "security_flags: noanonymous\n"), &open, &plain);
    assert_eq!((server, client), (Some(0), Some(0)), "server: {server_err}\nclient: {client_err}");
    assert!(server_err.contains("authenticated: alice@EXAMPLE.TEST mech=PLAIN"), "server stderr: {server_err}");
    assert!(server_err.contains("warning: security_flags lacks noplaintext"), "server stderr: {server_err}");
}

#[test]
fn sasl_sample_client_refuses_to_pick_plain_by_default() {
    let db = common::sasldb(&[("alice", "secret")]);
    let server_config = server_config(&db, "security_flags: noanonymous\n");
    let default_client = write_config(db.dir.path(), "client.conf", "mech_list: PLAIN\n");
    let (_, _, client, client_err) = exchange(&server_config, &default_client, &["--user", "alice"]);
    assert_eq!(client, Some(2), "client stderr: {client_err}");
    assert!(client_err.contains("security_flags"), "client stderr: {client_err}");
}

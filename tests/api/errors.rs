//! What the API promises beyond bad input: the CRAM-MD5 client's blind
//! completion, redacted secrets, `Send` connections, named result codes.
//!
//! Bad input and calls out of order (NUL bytes, `step` before `start`, `start`
//! twice, malformed responses, a missing password, ...) are rows of the table
//! in sasl-sample's bad_input tests.

use cyrus_sasl_test_support as common;

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, ClientStep, Code, Config, Credentials, Sasldb, Secret, Server};

fn cram(db: &std::path::Path) -> Config {
    Sasldb::new(db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap()
}

#[test]
fn cram_md5_client_completes_even_with_a_wrong_password() {
    // Only the server knows the verdict: the application protocol must carry it.
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "wrong"), &Config::new()).unwrap();
    client.start("CRAM-MD5").unwrap();
    assert!(matches!(client.step(b"<1.2@host>").unwrap(), ClientStep::Complete(Some(_))));
    assert!(client.is_complete());
}

#[test]
fn secrets_are_redacted_from_debug_output_and_errors() {
    let secret = Secret::from("hunter2-sentinel");
    let creds = Credentials::new("alice", secret.clone());
    assert!(!format!("{creds:?}").contains("hunter2"), "{creds:?}");
    let mut client = Client::new("test", "localhost", creds, &Config::new()).unwrap();
    assert!(!format!("{client:?}").contains("hunter2"));
    let err = client.start("NO-SUCH-MECH").unwrap_err();
    assert!(!format!("{err:?} {err}").contains("hunter2"));
}

#[test]
fn server_and_client_move_across_threads() {
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::new("test", "localhost", Some(REALM), &cram(&db.path)).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    let outcome = std::thread::spawn(move || handshake(&mut client, &mut server).unwrap()).join().unwrap();
    assert!(matches!(outcome, Outcome::Authenticated(_)));
}

#[test]
fn error_codes_have_names_and_descriptions() {
    assert_eq!(Code::BADAUTH.name(), Some("SASL_BADAUTH"));
    assert_eq!(Code(-999).name(), None);
    assert_eq!(format!("{:?}", Code(-999)), "Code(-999)");
    assert!(!Code::NOMECH.description().is_empty());
}

#[test]
fn an_error_prints_its_cause_once_as_its_source() {
    use std::error::Error as _;
    let dir = tempfile::tempdir().unwrap();

    // A config file that cannot be read: the io::Error is the source, not in the message.
    let config = Config::from_file(dir.path().join("missing.conf")).unwrap_err();
    let io = config.source().and_then(|s| s.downcast_ref::<std::io::Error>()).expect("the io::Error is the source");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert!(!config.to_string().contains(&io.to_string()), "cause printed twice: {config}");
    assert!(config.to_string().contains("missing.conf"), "{config}");

    // A server whose sasldb is missing: the same.
    let config = Config::new()
        .with("mech_list", "CRAM-MD5")
        .unwrap()
        .with("sasldb_path", dir.path().join("nope").to_str().unwrap())
        .unwrap();
    let config = config.with("pwcheck_method", "auxprop").unwrap().with("auxprop_plugin", "sasldb").unwrap();
    let err = Server::check("test", "localhost", Some(REALM), &config).unwrap_err();
    assert!(matches!(err, cyrus_sasl::Error::Sasldb { .. }), "{err:?}");
    let io = err.source().and_then(|s| s.downcast_ref::<std::io::Error>()).expect("the io::Error is the source");
    assert!(!err.to_string().contains(&io.to_string()), "cause printed twice: {err}");

    // The message says what to do.
    assert!(err.to_string().contains("create it"), "{err}");
}

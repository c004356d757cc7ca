//! Misuse and bad input give typed errors, never panics, and never leak secrets.

mod common;

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, ClientStep, Code, Config, Credentials, Error, Sasldb, Secret, Server, ServerStep};

fn cram(db: &std::path::Path) -> Config {
    Sasldb::new(db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap()
}

#[test]
fn step_before_start_start_twice_and_step_after_the_end_are_state_errors() {
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::new("test", "localhost", Some(REALM), &cram(&db.path)).unwrap();
    assert!(matches!(server.step(b"x"), Err(Error::State { state: "before start", .. })));
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    assert!(matches!(client.step(b"x"), Err(Error::State { state: "before start", .. })));
    assert!(matches!(handshake(&mut client, &mut server).unwrap(), Outcome::Authenticated(_)));
    assert!(matches!(server.step(b"x"), Err(Error::State { .. })), "after success");
    assert!(matches!(server.start("CRAM-MD5", None), Err(Error::State { .. })), "start twice");
    assert!(matches!(client.start("CRAM-MD5"), Err(Error::State { .. })), "client start twice");

    let mut server = Server::new("test", "localhost", Some(REALM), &cram(&db.path)).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "bad"), &Config::new()).unwrap();
    assert_eq!(handshake(&mut client, &mut server).unwrap(), Outcome::Rejected);
    assert!(matches!(server.step(b"x"), Err(Error::State { .. })), "after rejection");
}

#[test]
fn malformed_cram_md5_response_is_a_typed_error_with_libsasl2_detail() {
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::new("test", "localhost", Some(REALM), &cram(&db.path)).unwrap();
    assert!(matches!(server.start("CRAM-MD5", None).unwrap(), ServerStep::Continue(_)));
    // A CRAM-MD5 response is "user SP hexdigest"; no space is a protocol error.
    match server.step(b"no-space-here") {
        Err(Error::Sasl { call, code, detail }) => {
            assert_eq!((call, code), ("sasl_server_step", Code::BADPROT));
            assert!(!detail.is_empty());
        }
        other => panic!("expected SASL_BADPROT, got {other:?}"),
    }
    assert!(matches!(server.step(b"again"), Err(Error::State { .. })), "an error ends the exchange");
}

#[test]
fn nul_bytes_in_arguments_are_rejected_by_name() {
    let config = Config::new();
    let nul = |r: cyrus_sasl::Result<_>| match r {
        Err(Error::Nul { what }) => what,
        Err(other) => panic!("expected Error::Nul, got {other:?}"),
        Ok(_) => panic!("expected Error::Nul, got success"),
    };
    assert_eq!(nul(Server::new("te\0st", "localhost", None, &config).map(drop)), "service");
    assert_eq!(nul(Server::new("test", "local\0host", None, &config).map(drop)), "server FQDN");
    assert_eq!(nul(Server::new("test", "localhost", Some("R\0"), &config).map(drop)), "user realm");
    assert_eq!(nul(Client::new("test", "localhost", Credentials::new("al\0ice", "pw"), &config).map(drop)), "authname");
    let mut server = Server::new("test", "localhost", None, &config).unwrap();
    assert_eq!(nul(server.start("CRAM\0MD5", None).map(drop)), "mechanism");
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "pw"), &config).unwrap();
    assert_eq!(nul(client.start("CRAM-MD5\0").map(drop)), "mechanism list");
    assert!(Config::new().with("mech_list", "A\0B").is_err());
}

#[test]
fn a_client_without_a_password_names_what_is_missing_instead_of_prompting() {
    let mut client = Client::new(
        "test",
        "localhost",
        Credentials { authname: "alice".into(), ..Default::default() },
        &Config::new(),
    )
    .unwrap();
    assert_eq!(client.start("CRAM-MD5").unwrap().mechanism, "CRAM-MD5");
    match client.step(b"<1896.697170952@postoffice.example.net>") {
        Err(e @ Error::MissingCredential { .. }) => {
            assert!(e.to_string().contains("password (SASL_CB_PASS)"), "{e}");
        }
        other => panic!("expected MissingCredential, got {other:?}"),
    }
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

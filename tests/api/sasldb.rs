//! CRAM-MD5 against a real sasldb made by `saslpasswd2`: the outcomes a server
//! must tell apart, and the ones it must not.

use cyrus_sasl_test_support as common;

use common::{Outcome, REALM, handshake, sasldb, sasldblistusers2};
use cyrus_sasl::{Client, Code, Config, Credentials, Error, RejectReason, Sasldb, Secret, Server, ServerStep};

fn cram_config(path: &std::path::Path) -> Config {
    Sasldb::new(path, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap()
}

fn login(config: &Config, user: &str, password: &str) -> cyrus_sasl::Result<Outcome> {
    let mut server = Server::new("test", "localhost", Some(REALM), config)?;
    let mut client = Client::new("test", "localhost", Credentials::new(user, password), &Config::new())?;
    handshake(&mut client, &mut server)
}

#[test]
fn right_password_authenticates_with_the_canonical_identity() {
    let db = sasldb(&[("alice", "secret")]);
    let Outcome::Authenticated(id) = login(&cram_config(&db.path), "alice", "secret").unwrap() else {
        panic!("alice was not authenticated");
    };
    assert_eq!(id.authid, "alice@EXAMPLE.TEST", "libsasl2 appends the server's user realm");
    assert_eq!(id.authzid, None);
    assert_eq!(id.user(), "alice@EXAMPLE.TEST");
    assert_eq!(id.mechanism, "CRAM-MD5");
    assert_eq!(id.ssf, 0);
}

#[test]
fn wrong_password_and_unknown_user_are_the_same_rejection() {
    let db = sasldb(&[("alice", "secret")]);
    let config = cram_config(&db.path);

    // Watch the raw server answers: the client must see the same bytes for both.
    let mut seen = Vec::new();
    for (user, password) in [("alice", "wrong"), ("mallory", "secret")] {
        let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
        let mut client = Client::new("test", "localhost", Credentials::new(user, password), &Config::new()).unwrap();
        let start = client.start("CRAM-MD5").unwrap();
        assert_eq!(start.initial_response, None, "CRAM-MD5 has no initial response");
        let ServerStep::Continue(challenge) = server.start("CRAM-MD5", None).unwrap() else {
            panic!("CRAM-MD5 starts with a challenge")
        };
        let challenge = challenge.to_vec();
        let response = match client.step(&challenge).unwrap() {
            cyrus_sasl::ClientStep::Complete(Some(r)) => r.to_vec(),
            other => panic!("the CRAM-MD5 client completes in one step, got {other:?}"),
        };
        // Rejected carries nothing to send: what the peer sees is only that
        // it was rejected. The reason is for the server alone.
        let verdict = server.step(&response).unwrap();
        let ServerStep::Rejected(rejection) = verdict else { panic!("{user}/{password}: {verdict:?}") };
        seen.push(rejection.reason());
    }
    assert_eq!(seen, [RejectReason::WrongSecret, RejectReason::UnknownUser], "told apart for the server only");
}

#[test]
fn user_at_realm_forms_authenticate_as_the_same_identity() {
    let db = sasldb(&[("alice", "secret")]);
    let config = cram_config(&db.path);
    for user in ["alice", "alice@EXAMPLE.TEST"] {
        match login(&config, user, "secret").unwrap() {
            Outcome::Authenticated(id) => assert_eq!(id.authid, "alice@EXAMPLE.TEST", "as {user}"),
            Outcome::Rejected => panic!("{user} was rejected"),
        }
    }
    // A user of another realm is not alice.
    assert_eq!(login(&config, "alice@OTHER.TEST", "secret").unwrap(), Outcome::Rejected);
}

#[test]
fn without_an_explicit_realm_the_fqdn_is_the_realm() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sasldb2");
    common::saslpasswd2(&path, "db.example.test", "bob", "pw");
    let config = cram_config(&path);
    let mut server = Server::new("test", "DB.Example.Test", None, &config).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("bob", "pw"), &Config::new()).unwrap();
    let Outcome::Authenticated(id) = handshake(&mut client, &mut server).unwrap() else {
        panic!("bob@<lower-cased fqdn> should be found")
    };
    assert_eq!(id.authid, "bob");
}

#[test]
fn missing_database_file_is_an_error_not_a_rejection() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-sasldb");
    let err = login(&cram_config(&missing), "alice", "secret").unwrap_err();
    match &err {
        Error::Sasldb { path, source } => {
            assert_eq!(path, &missing);
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Error::Sasldb, got {other:?}"),
    }
    assert!(err.to_string().contains("no-such-sasldb"), "{err}");
}

#[test]
fn unreadable_database_path_is_an_error_with_libsasl2_detail() {
    // Tests run as root in CI, and root ignores permission bits, so "unreadable"
    // is made with a directory where the file should be: Berkeley DB's read fails.
    let dir = tempfile::tempdir().unwrap();
    match login(&cram_config(dir.path()), "alice", "secret").unwrap_err() {
        Error::Sasl { code, detail, .. } => {
            assert_eq!(code, Code::FAIL);
            assert!(detail.contains("Unable to open DB"), "{detail}");
        }
        other => panic!("expected SASL_FAIL, got {other:?}"),
    }
}

#[test]
fn corrupt_database_file_fails_the_step_with_sasl_fail_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sasldb2");
    std::fs::write(&path, b"this is not a Berkeley DB file, only junk bytes............").unwrap();
    let err = login(&cram_config(&path), "alice", "secret").unwrap_err();
    match err {
        Error::Sasl { call, code, detail } => {
            assert_eq!(call, "sasl_server_step");
            assert_eq!(code, Code::FAIL);
            assert!(detail.contains("Unable to open DB"), "{detail}");
        }
        other => panic!("expected a SASL_FAIL error, got {other:?}"),
    }
}

#[test]
fn setpass_creates_changes_and_deletes_users() {
    let db = sasldb(&[("alice", "secret")]);
    let store = Sasldb::new(&db.path, REALM).unwrap();
    let config = cram_config(&db.path);

    store.set_password("carol", &Secret::from("first")).unwrap();
    assert!(sasldblistusers2(&db.path).contains(&"carol@EXAMPLE.TEST".to_owned()));
    assert!(matches!(login(&config, "carol", "first").unwrap(), Outcome::Authenticated(_)));

    store.set_password("carol", &Secret::from("second")).unwrap();
    assert_eq!(login(&config, "carol", "first").unwrap(), Outcome::Rejected);
    assert!(matches!(login(&config, "carol", "second").unwrap(), Outcome::Authenticated(_)));

    store.delete_user("carol").unwrap();
    assert!(!sasldblistusers2(&db.path).iter().any(|u| u.starts_with("carol@")));
    assert_eq!(login(&config, "carol", "second").unwrap(), Outcome::Rejected);
    // alice is untouched.
    assert!(matches!(login(&config, "alice", "secret").unwrap(), Outcome::Authenticated(_)));
}

#[test]
fn setpass_creates_the_database_file_and_refuses_empty_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new-sasldb");
    let store = Sasldb::new(&path, REALM).unwrap();
    let err = store.set_password("dave", &Secret::from("")).unwrap_err();
    assert_eq!(err.code(), Some(Code::BADPARAM));
    store.set_password("dave", &Secret::from("pw")).unwrap();
    assert_eq!(sasldblistusers2(&path), ["dave@EXAMPLE.TEST"]);
    assert!(matches!(login(&cram_config(&path), "dave", "pw").unwrap(), Outcome::Authenticated(_)));
}

#[test]
fn a_sasldb_path_libsasl2_cannot_take_is_an_error_not_the_default_database() {
    let err = Sasldb::new("/tmp/bad\0path", REALM).unwrap_err();
    let Error::Sasldb { source, .. } = &err else { panic!("{err:?}") };
    assert!(source.to_string().contains("NUL"), "{err}: {source}");
}

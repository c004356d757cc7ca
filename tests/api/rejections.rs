//! A rejection tells the server, and only the server, whom the peer tried to
//! be and why it failed: the peer sees one `Rejected` for all of them.

use cyrus_sasl::{
    Client, ClientStep, Config, CredentialStore, Credentials, RejectReason, Rejection, Secret, Server, ServerStep,
};
use cyrus_sasl_test_support::{REALM, sasldb};

/// Runs one exchange to the server's verdict: `Ok(identity)` or the rejection.
fn verdict(config: &Config, mech: &str, user: &str, password: &str) -> Result<String, Rejection> {
    let mut server = Server::new("test", "localhost", Some(REALM), config).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new(user, password), &Config::new()).unwrap();
    let start = client.start(mech).unwrap();
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start(mech, initial.as_deref()).unwrap();
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                let challenge = challenge.to_vec();
                // A client that gets no proof back fails its own step: answer empty.
                let response = match client.step(&challenge) {
                    Ok(ClientStep::Continue(r)) => r.to_vec(),
                    Ok(ClientStep::Complete(r)) => r.unwrap_or_default().to_vec(),
                    Err(_) => Vec::new(),
                };
                step = server.step(&response).unwrap();
            }
            ServerStep::Authenticated { identity, .. } => return Ok(identity.authid),
            ServerStep::Rejected(rejection) => return Err(rejection),
        }
    }
}

fn sasldb_config(db: &std::path::Path, mech: &str) -> Config {
    cyrus_sasl::Sasldb::new(db, REALM).unwrap().config().with("mech_list", mech).unwrap()
}

fn store_config(mech: &str) -> Config {
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("secret"))]).unwrap();
    Config::new().with("mech_list", mech).unwrap().with_credential_store(&store)
}

fn assert_rejected(result: Result<String, Rejection>, authid: &str, reason: RejectReason) {
    let rejection = result.expect_err("must be rejected");
    assert_eq!((rejection.authid(), rejection.reason()), (Some(authid), reason), "{rejection:?}");
}

#[test]
fn cram_md5_wrong_password_names_the_user_and_says_wrong_secret() {
    let db = sasldb(&[("alice", "secret")]);
    let config = sasldb_config(&db.path, "CRAM-MD5");
    assert_rejected(verdict(&config, "CRAM-MD5", "alice", "wrong"), "alice@EXAMPLE.TEST", RejectReason::WrongSecret);
    assert_eq!(verdict(&config, "CRAM-MD5", "alice", "secret"), Ok("alice@EXAMPLE.TEST".to_owned()));
}

#[test]
fn cram_md5_unknown_user_names_the_user_and_says_unknown_user() {
    let db = sasldb(&[("alice", "secret")]);
    let config = sasldb_config(&db.path, "CRAM-MD5");
    assert_rejected(verdict(&config, "CRAM-MD5", "mallory", "x"), "mallory@EXAMPLE.TEST", RejectReason::UnknownUser);
    // The same against the in-memory store.
    let config = store_config("CRAM-MD5");
    assert_rejected(verdict(&config, "CRAM-MD5", "mallory", "x"), "mallory@EXAMPLE.TEST", RejectReason::UnknownUser);
    assert_rejected(verdict(&config, "CRAM-MD5", "alice", "wrong"), "alice@EXAMPLE.TEST", RejectReason::WrongSecret);
}

#[test]
fn scram_wrong_password_and_unknown_user_are_told_apart_for_the_server() {
    for config in [store_config("SCRAM-SHA-256"), sasldb_config(&sasldb(&[("alice", "secret")]).path, "SCRAM-SHA-256")]
    {
        let wrong = verdict(&config, "SCRAM-SHA-256", "alice", "wrong");
        assert_rejected(wrong, "alice@EXAMPLE.TEST", RejectReason::WrongSecret);
        let unknown = verdict(&config, "SCRAM-SHA-256", "mallory", "x");
        assert_rejected(unknown, "mallory@EXAMPLE.TEST", RejectReason::UnknownUser);
    }
}

#[test]
fn a_refused_authzid_is_a_policy_rejection_naming_the_authid() {
    let config = store_config("PLAIN").with("security_flags", "noanonymous").unwrap();
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let step = server.start("PLAIN", Some(b"bob\0alice\0secret")).unwrap();
    let ServerStep::Rejected(rejection) = step else { panic!("{step:?}") };
    assert_eq!((rejection.authid(), rejection.reason()), (Some("alice@EXAMPLE.TEST"), RejectReason::Policy));
}

#[test]
fn a_rejection_shows_the_name_escaped() {
    let config = store_config("PLAIN").with("security_flags", "noanonymous").unwrap();
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let step = server.start("PLAIN", Some(b"\0eve\n\x1b[31m\0pw-sentinel")).unwrap();
    let ServerStep::Rejected(rejection) = &step else { panic!("{step:?}") };
    for shown in [format!("{rejection}"), format!("{rejection:?}"), format!("{step:?}")] {
        assert!(!shown.contains('\n') && !shown.contains('\x1b'), "peer text unescaped: {shown}");
        assert!(shown.contains("eve"), "{shown}");
        assert!(!shown.contains("pw-sentinel"), "{shown}");
    }
}

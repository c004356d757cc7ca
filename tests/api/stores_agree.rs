//! Issue 24: the two credential backends follow one realm rule, so moving a
//! server from a sasldb to a [`CredentialStore`] (or back) never changes who
//! can log in, nor the name a success reports.
//!
//! The rule, measured against the real sasldb (libsasl2 2.1.28): an identity
//! is a user in a realm. A bare name is in the server's realm (the `realm`
//! given to `Server::new`, or without one the server FQDN, lower-cased); a
//! name the client types as `user@REALM` is that user in that realm, so
//! `alice` and `alice@<server realm>` are one principal, and `alice@OTHER` is
//! another. Realms and names compare exactly (case-sensitive). In a store, a
//! key without `@` is a user of whatever realm the server has; a key
//! `user@REALM` is that user in that realm.

use cyrus_sasl_test_support as common;

use common::{Outcome, handshake, saslpasswd2};
use cyrus_sasl::{Client, Config, CredentialStore, Credentials, Sasldb, Secret, Server};

const OTHER: &str = "OTHER.TEST";

/// What one login gave: the authenticated identity, or `None` for rejected.
fn login(config: &Config, realm: Option<&str>, mech: &str, user: &str, password: &str) -> Option<String> {
    let mut server = Server::new("mesos", "Master.Example", realm, config).unwrap();
    let mut creds = Credentials::new(user, password);
    creds.realm = realm.map(str::to_owned);
    let client_config = mech_config(mech);
    let mut client = Client::new("mesos", "Master.Example", creds, &client_config).unwrap();
    match handshake(&mut client, &mut server).unwrap() {
        Outcome::Authenticated(identity) => Some(identity.authid),
        Outcome::Rejected => None,
    }
}

/// `mech_list: MECH`; PLAIN is refused by default, so it is allowed explicitly.
fn mech_config(mech: &str) -> Config {
    let config = Config::new().with("mech_list", mech).unwrap();
    if mech == "PLAIN" { config.with("security_flags", "noanonymous").unwrap() } else { config }
}

/// Runs every identity against a sasldb made by `saslpasswd2` and against a
/// store holding the same principals; returns the rows that differ.
fn disagreements(server_realm: Option<&str>, home_realm: &str, identities: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sasldb2");
    saslpasswd2(&path, home_realm, "alice", "pw-a");
    saslpasswd2(&path, OTHER, "bob", "pw-b");
    let store = CredentialStore::from_credentials([
        ("alice".to_owned(), Secret::from("pw-a")),
        (format!("bob@{OTHER}"), Secret::from("pw-b")),
    ])
    .unwrap();
    let mut differ = Vec::new();
    for mech in ["CRAM-MD5", "PLAIN", "SCRAM-SHA-256", "DIGEST-MD5"] {
        let sasldb = Sasldb::new(&path, home_realm).unwrap().config().with("mech_list", mech).unwrap();
        let sasldb = if mech == "PLAIN" { sasldb.with("security_flags", "noanonymous").unwrap() } else { sasldb };
        let memory = mech_config(mech).with_credential_store(&store);
        for user in identities {
            let password = if user.to_ascii_lowercase().starts_with("bob") { "pw-b" } else { "pw-a" };
            let a = login(&sasldb, server_realm, mech, user, password);
            let b = login(&memory, server_realm, mech, user, password);
            if a != b {
                differ.push(format!("{mech} {user}: sasldb {a:?}, store {b:?}"));
            }
        }
    }
    differ
}

#[test]
fn with_a_realm_sasldb_and_the_store_accept_and_name_the_same_identities() {
    let identities = [
        "alice",
        "alice@EXAMPLE.TEST",
        "alice@example.test",
        "alice@OTHER.TEST",
        "ALICE",
        "bob",
        "bob@OTHER.TEST",
        "bob@EXAMPLE.TEST",
    ];
    let differ = disagreements(Some("EXAMPLE.TEST"), "EXAMPLE.TEST", &identities);
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn without_a_realm_sasldb_and_the_store_accept_and_name_the_same_identities() {
    let identities =
        ["alice", "alice@master.example", "alice@Master.Example", "alice@MASTER.EXAMPLE", "bob", "bob@OTHER.TEST"];
    let differ = disagreements(None, "master.example", &identities);
    assert!(differ.is_empty(), "{differ:#?}");
}

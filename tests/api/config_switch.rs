//! Operators switch mechanisms by configuration alone: the same program, a
//! different config file.

use cyrus_sasl_test_support as common;

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, Config, Credentials, Error, Server, ServerStep};

/// The one code path every case below runs: config file in, outcome out.
fn authenticate_with_config_file(conf: &std::path::Path, user: &str, password: &str) -> cyrus_sasl::Result<Outcome> {
    let config = Config::from_file(conf)?;
    let mut server = Server::new("test", "localhost", Some(REALM), &config)?;
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new(user, password) };
    let mut client = Client::new("test", "localhost", credentials, &config)?;
    handshake(&mut client, &mut server)
}

fn write_conf(dir: &std::path::Path, db: &std::path::Path, mech_list: &str) -> std::path::PathBuf {
    let path = dir.join("app.conf");
    std::fs::write(
        &path,
        format!(
            "# written by the test\npwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\n\nmech_list: {mech_list}\n",
            db.display()
        ),
    )
    .unwrap();
    path
}

#[test]
fn changing_only_the_config_file_switches_the_mechanism() {
    let db = sasldb(&[("alice", "secret")]);
    for mech in ["CRAM-MD5", "SCRAM-SHA-256", "DIGEST-MD5", "SCRAM-SHA-1"] {
        let conf = write_conf(db.dir.path(), &db.path, mech);
        match authenticate_with_config_file(&conf, "alice", "secret") {
            Ok(Outcome::Authenticated(id)) => {
                assert_eq!(id.mechanism, mech);
                assert_eq!(id.authid, "alice@EXAMPLE.TEST", "{mech}");
            }
            other => panic!("{mech}: {other:?}"),
        }
        assert_eq!(
            authenticate_with_config_file(&conf, "alice", "wrong").unwrap(),
            Outcome::Rejected,
            "{mech} with a wrong password"
        );
    }
}

#[test]
fn a_mechanism_outside_mech_list_is_refused() {
    let db = sasldb(&[("alice", "secret")]);
    let config = Config::from_file(write_conf(db.dir.path(), &db.path, "CRAM-MD5")).unwrap();
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["CRAM-MD5"]);
    match server.start("SCRAM-SHA-256", None) {
        Err(Error::MechanismNotOffered { mechanism, offered }) => {
            assert_eq!(mechanism, "SCRAM-SHA-256");
            assert_eq!(offered, ["CRAM-MD5"]);
        }
        other => panic!("expected MechanismNotOffered, got {other:?}"),
    }
    // A client configured for CRAM-MD5 only will not pick anything else.
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "secret"), &config).unwrap();
    let err = client.start("SCRAM-SHA-256 DIGEST-MD5").unwrap_err();
    assert_eq!(err.code(), Some(cyrus_sasl::Code::NOMECH), "{err}");
}

#[test]
fn a_mechanism_with_no_installed_plugin_is_named_with_its_package() {
    let config: Config = "mech_list: CRAM-MD5 X-NOT-A-MECH".parse().unwrap();
    match Server::new("test", "localhost", Some(REALM), &config) {
        Err(e @ Error::MechanismUnavailable { .. }) => {
            let text = e.to_string();
            assert!(text.contains("X-NOT-A-MECH"), "{text}");
            assert!(text.contains("no known plugin package"), "{text}");
            assert!(!text.contains("no worthy mechs"), "{text}");
        }
        other => panic!("expected MechanismUnavailable, got {other:?}"),
    }
    let mut server = Server::new("test", "localhost", Some(REALM), &Config::new()).unwrap();
    let err = server.start("X-NOT-A-MECH", None).unwrap_err();
    assert!(matches!(err, Error::MechanismUnavailable { ref mechanism, .. } if mechanism == "X-NOT-A-MECH"), "{err:?}");
}

#[test]
fn a_known_mechanism_that_is_missing_names_its_package() {
    // OTP is a real Cyrus plugin, but not one ci/install-deps installs.
    let installed = cyrus_sasl::installed_mechanisms().unwrap();
    assert!(!installed.iter().any(|m| m == "OTP"), "this test needs a mechanism that is not installed");
    let config: Config = "mech_list: OTP".parse().unwrap();
    let err = Server::new("test", "localhost", Some(REALM), &config).unwrap_err();
    assert!(err.to_string().contains("install libsasl2-modules-otp"), "{err}");
}

#[test]
fn the_cram_md5_plugin_is_installed_here() {
    // The rest of the suite depends on it; upstream Cyrus SASL has dropped it, so
    // say so plainly if a system lacks it.
    let installed = cyrus_sasl::installed_mechanisms().unwrap();
    assert!(installed.iter().any(|m| m == "CRAM-MD5"), "CRAM-MD5 missing; installed: {installed:?}");
}

#[test]
fn two_servers_in_one_process_keep_their_own_mechanisms() {
    let db = sasldb(&[("alice", "secret")]);
    let base = cyrus_sasl::Sasldb::new(&db.path, REALM).unwrap().config();
    let cram = base.clone().with("mech_list", "CRAM-MD5").unwrap();
    let scram = base.with("mech_list", "SCRAM-SHA-256").unwrap();
    let mut a = Server::new("test", "localhost", Some(REALM), &cram).unwrap();
    let mut b = Server::new("test", "localhost", Some(REALM), &scram).unwrap();
    assert_eq!(a.mechanisms().unwrap(), ["CRAM-MD5"]);
    assert_eq!(b.mechanisms().unwrap(), ["SCRAM-SHA-256"]);
    // Interleave the two handshakes: each server keeps its own options throughout.
    let mut ca = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    let mut cb = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    assert_eq!(ca.start("CRAM-MD5").unwrap().mechanism, "CRAM-MD5");
    let sb = cb.start("SCRAM-SHA-256").unwrap();
    let b_initial = sb.initial_response.unwrap().to_vec();
    let ServerStep::Continue(a_challenge) = a.start("CRAM-MD5", None).unwrap() else { panic!() };
    let a_challenge = a_challenge.to_vec();
    let ServerStep::Continue(b_challenge) = b.start("SCRAM-SHA-256", Some(&b_initial)).unwrap() else { panic!() };
    let b_challenge = b_challenge.to_vec();
    assert!(matches!(a.start("CRAM-MD5", None), Err(Error::State { .. })));
    let a_resp = match ca.step(&a_challenge).unwrap() {
        cyrus_sasl::ClientStep::Complete(Some(r)) => r.to_vec(),
        other => panic!("{other:?}"),
    };
    let b_resp = match cb.step(&b_challenge).unwrap() {
        cyrus_sasl::ClientStep::Continue(r) => r.to_vec(),
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(a.step(&a_resp).unwrap(), ServerStep::Authenticated { ref identity, .. } if identity.mechanism == "CRAM-MD5")
    );
    // libsasl2's SCRAM server sends its server-final message ("v=...") as a
    // challenge and wants one more, empty, client response before its verdict.
    let ServerStep::Continue(server_final) = b.step(&b_resp).unwrap() else { panic!() };
    assert!(server_final.starts_with(b"v="));
    let server_final = server_final.to_vec();
    assert!(matches!(cb.step(&server_final).unwrap(), cyrus_sasl::ClientStep::Complete(_)));
    let verdict = b.step(b"").unwrap();
    assert!(
        matches!(verdict, ServerStep::Authenticated { ref identity, .. } if identity.mechanism == "SCRAM-SHA-256"),
        "{verdict:?}"
    );
}

//! Refusals that say what is wrong and what to do (issue 23): each test
//! asserts the message a user sees, not only the variant.

use cyrus_sasl::{ChannelBinding, Client, Config, CredentialStore, Credentials, Error, Secret, Server};
use cyrus_sasl_test_support::{self as common, Outcome};

const REALM: &str = "EXAMPLE.TEST";

fn store() -> CredentialStore {
    CredentialStore::from_credentials(vec![("alice".to_owned(), Secret::from("s3cret"))]).unwrap()
}

/// libsasl2's plugin is `SCRAM-SHA-256`; it offers `SCRAM-SHA-256-PLUS` on a
/// connection given a channel binding. A `-PLUS` name in `mech_list` is not
/// "not installed": the refusal says what the name means and how to ask for it.
#[test]
fn a_plus_name_in_mech_list_is_explained_not_reported_missing() {
    let config = Config::new().with("mech_list", "SCRAM-SHA-256-PLUS").unwrap().with_credential_store(&store());
    let err = Server::new("test", "localhost", Some(REALM), &config).unwrap_err();
    let text = err.to_string();
    eprintln!("message: {text}");
    assert!(
        matches!(err, Error::PlusMechanism { ref mechanism, ref plugin } if mechanism == "SCRAM-SHA-256-PLUS" && plugin == "SCRAM-SHA-256"),
        "{err:?}"
    );
    assert!(!text.contains("not installed"), "{text}");
    assert!(text.contains("mech_list: SCRAM-SHA-256"), "the spelling to use: {text}");
    assert!(text.contains("channel binding"), "{text}");
    assert!(text.contains("channel_binding: require"), "the master config key: {text}");
    assert!(text.contains("set_channel_binding"), "the code path: {text}");
    // `Server::check` says the same (the master's start-up check).
    let err = Server::check("test", "localhost", Some(REALM), &config).unwrap_err();
    assert!(matches!(err, Error::PlusMechanism { .. }), "{err:?}");
    // What the message recommends works: the plugin name, and a critical binding.
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store());
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let binding = ChannelBinding::new("tls-exporter", [3u8; 32], true);
    server.set_channel_binding(&binding).unwrap();
    assert!(server.mechanisms().unwrap().iter().any(|m| m == "SCRAM-SHA-256-PLUS"));
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
    client.set_channel_binding(&binding).unwrap();
    let offered = server.mechanism_list().unwrap();
    match common::exchange(&mut client, &mut server, &offered) {
        (Some(mech), Ok(Outcome::Authenticated(id))) => {
            assert_eq!(mech, "SCRAM-SHA-256-PLUS");
            assert!(id.channel_bound());
        }
        other => panic!("{other:?}"),
    }
}

/// `mech_list: PLAIN` under the default `security_flags` (noanonymous
/// noplaintext): the connection offers nothing. The first start names
/// `security_flags` and says PLAIN is refused without it, and a client that
/// chose nothing (an empty offer) is not reported as a mechanism named "".
#[test]
fn plain_under_the_default_flags_names_security_flags() {
    let config = Config::new().with("mech_list", "PLAIN").unwrap().with_credential_store(&store());
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    assert!(server.mechanisms().unwrap().is_empty());
    let err = server.start("", None).unwrap_err();
    let text = err.to_string();
    eprintln!("message for start(\"\"): {text}");
    assert!(!matches!(err, Error::MechanismUnavailable { .. }), "PLAIN is installed: {err:?}");
    assert!(!text.contains("mechanism  "), "no empty name: {text}");
    assert!(text.contains("chose no SASL mechanism"), "{text}");
    assert!(text.contains("security_flags") && text.contains("PLAIN"), "{text}");
    assert!(text.contains("security_flags: noanonymous"), "the setting that allows PLAIN: {text}");

    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let err = server.start("PLAIN", Some(b"\0alice\0s3cret")).unwrap_err();
    let text = err.to_string();
    eprintln!("message for start(\"PLAIN\"): {text}");
    assert!(matches!(err, Error::MechanismNotOffered { ref mechanism, .. } if mechanism == "PLAIN"), "{err:?}");
    assert!(text.contains("PLAIN is refused") && text.contains("security_flags: noanonymous"), "{text}");

    // The setting the message names is the one that allows it.
    let open = config.with("security_flags", "noanonymous").unwrap();
    let server = Server::new("test", "localhost", Some(REALM), &open).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["PLAIN"]);
}

//! SASL channel binding (`SASL_CHANNEL_BINDING`) with real libsasl2 SCRAM, in
//! process: `SCRAM-SHA-256-PLUS` succeeds when both sides bind the same bytes
//! (the two ends of one TLS session) and fails when they differ (a relay that
//! terminates TLS toward each side: two sessions, two values), while plain
//! `SCRAM-SHA-256` between the same two sides succeeds: binding is what tells.

use cyrus_sasl::{
    ChannelBinding, Client, ClientStep, Config, CredentialStore, Credentials, Identity, RejectReason, Rejection,
    Secret, Server, ServerStep,
};
use cyrus_sasl_test_support::{self as common, Outcome};

const REALM: &str = "EXAMPLE.TEST";

fn store() -> CredentialStore {
    CredentialStore::from_credentials(vec![("alice".to_owned(), Secret::from("s3cret"))]).unwrap()
}

/// Runs one exchange; `Ok(true)` authenticated, `Ok(false)` refused, `Err` any
/// error (text), and the mechanism the client chose.
fn exchange(
    store: &CredentialStore,
    server_cb: Option<ChannelBinding>,
    client_cb: Option<ChannelBinding>,
    client_mechs: &str,
) -> (Result<bool, String>, String) {
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(store);
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    if let Some(cb) = &server_cb {
        server.set_channel_binding(cb).unwrap();
    }
    let offered = server.mechanisms().unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
    if let Some(cb) = &client_cb {
        client.set_channel_binding(cb).unwrap();
    }
    // The client picks among what the server offers and what it allows.
    let allowed: Vec<&str> = client_mechs.split(' ').filter(|m| offered.iter().any(|o| o == m)).collect();
    let (mechanism, outcome) = common::exchange(&mut client, &mut server, &allowed.join(" "));
    let result = outcome.map(|o| matches!(o, Outcome::Authenticated(_))).map_err(|e| e.to_string());
    (result, mechanism.unwrap_or_default())
}

fn cb(data: &[u8], critical: bool) -> Option<ChannelBinding> {
    Some(ChannelBinding::new("tls-exporter", data, critical))
}

#[test]
fn plus_is_offered_only_with_a_binding() {
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store());
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    assert!(!server.mechanisms().unwrap().iter().any(|m| m == "SCRAM-SHA-256-PLUS"));
    server.set_channel_binding(&ChannelBinding::new("tls-exporter", [7u8; 32], false)).unwrap();
    assert!(server.mechanisms().unwrap().iter().any(|m| m == "SCRAM-SHA-256-PLUS"), "{:?}", server.mechanisms());
    let debug = format!("{:?}", ChannelBinding::new("tls-exporter", [7u8; 32], true));
    assert_eq!(debug, r#"ChannelBinding { name: "tls-exporter", len: 32, critical: true }"#);
}

/// Offered both, a binding client picks the bound variant. (libsasl2 names
/// the plugin, `SCRAM-SHA-256`, either way; `Client::start` reports the
/// `-PLUS` name the server must be started with.)
#[test]
fn a_binding_client_offered_both_picks_plus() {
    let store = store();
    let (result, mech) = exchange(&store, cb(&[1; 32], false), cb(&[1; 32], false), "SCRAM-SHA-256-PLUS SCRAM-SHA-256");
    assert_eq!((result, mech.as_str()), (Ok(true), "SCRAM-SHA-256-PLUS"));
}

#[test]
fn plus_with_the_same_binding_succeeds() {
    let store = store();
    let (result, mech) = exchange(&store, cb(&[1; 32], false), cb(&[1; 32], false), "SCRAM-SHA-256-PLUS");
    assert_eq!((result, mech.as_str()), (Ok(true), "SCRAM-SHA-256-PLUS"));
}

#[test]
fn plus_through_a_relay_fails_where_plain_scram_succeeds() {
    let store = store();
    // The relay's two TLS sessions: the client's and the server's values differ.
    let (result, mech) = exchange(&store, cb(&[1; 32], false), cb(&[2; 32], false), "SCRAM-SHA-256-PLUS");
    assert_eq!(mech, "SCRAM-SHA-256-PLUS");
    assert_ne!(result, Ok(true), "a relayed PLUS exchange must not authenticate");
    // The same sides without binding: the relay passes plain SCRAM unnoticed.
    let (result, mech) = exchange(&store, None, None, "SCRAM-SHA-256-PLUS SCRAM-SHA-256");
    assert_eq!((result, mech.as_str()), (Ok(true), "SCRAM-SHA-256"));
}

#[test]
fn a_critical_binding_refuses_an_unbound_client() {
    let store = store();
    let (result, _) = exchange(&store, cb(&[1; 32], true), None, "SCRAM-SHA-256");
    assert_ne!(result, Ok(true), "{result:?}");
    // A client with a critical binding insists on SCRAM-SHA-256-PLUS, which a
    // server without a binding refuses: the sides disagree about the channel.
    let (result, mech) = exchange(&store, None, cb(&[1; 32], true), "SCRAM-SHA-256");
    assert_eq!(mech, "SCRAM-SHA-256-PLUS");
    assert_eq!(result, Ok(false), "a typed rejection, not an error");
}

/// The server's verdict on one exchange: the identity, or the rejection.
fn verdict(server_cb: Option<ChannelBinding>, client_cb: Option<ChannelBinding>) -> Result<Identity, Rejection> {
    let store = store();
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store);
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    if let Some(cb) = &server_cb {
        server.set_channel_binding(cb).unwrap();
    }
    let offered = server.mechanism_list().unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
    if let Some(cb) = &client_cb {
        client.set_channel_binding(cb).unwrap();
    }
    let start = client.start(&offered).unwrap();
    let mechanism = start.mechanism.to_owned();
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start(&mechanism, initial.as_deref()).unwrap();
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                let challenge = challenge.to_vec();
                let response = match client.step(&challenge).unwrap() {
                    ClientStep::Continue(r) => r.to_vec(),
                    ClientStep::Complete(r) => r.unwrap_or_default().to_vec(),
                };
                // Not an error: a relayed exchange is the server's verdict.
                step = server.step(&response).expect("a verdict, not an error");
            }
            ServerStep::Authenticated { identity, .. } => return Ok(identity),
            ServerStep::Rejected(rejection) => return Err(rejection),
        }
    }
}

#[test]
fn a_relay_is_a_channel_binding_mismatch_rejection_naming_the_user() {
    let rejection = verdict(cb(&[1; 32], false), cb(&[2; 32], false)).unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::ChannelBindingMismatch, "{rejection:?}");
    assert_eq!(rejection.authid(), Some("alice@EXAMPLE.TEST"), "whose credentials were relayed");
}

#[test]
fn a_bound_identity_names_the_plus_mechanism_and_says_bound() {
    let identity = verdict(cb(&[1; 32], false), cb(&[1; 32], false)).unwrap();
    assert_eq!(identity.mechanism, "SCRAM-SHA-256-PLUS", "the client chose -PLUS; libsasl2 names the plugin");
    assert!(identity.channel_bound());
    assert_eq!(identity.authid, "alice@EXAMPLE.TEST");
}

#[test]
fn an_unbound_identity_names_the_plain_mechanism_and_says_unbound() {
    // The server offers both; a client without a binding takes plain SCRAM.
    let identity = verdict(cb(&[1; 32], false), None).unwrap();
    assert_eq!(identity.mechanism, "SCRAM-SHA-256");
    assert!(!identity.channel_bound());
}

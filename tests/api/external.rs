//! SASL EXTERNAL with real libsasl2, in process: what a layer below SASL (TLS
//! with a client certificate) established is handed to both sides with
//! `set_external` (`SASL_SSF_EXTERNAL`, `SASL_AUTH_EXTERNAL`), and libsasl2's
//! EXTERNAL plugin turns it into the authenticated identity. Also the facts
//! `Server::set_external` documents: when EXTERNAL is offered, how an authzid
//! is judged, and how an external SSF lifts `noplaintext`.

use cyrus_sasl::{Client, Config, Credentials, Error, Identity, Server, ServerStep};

use cyrus_sasl_test_support::{Outcome, external_exchange as exchange};

fn external_config() -> Config {
    Config::new().with("mech_list", "EXTERNAL").unwrap()
}

fn credentials(authzid: Option<&str>) -> Credentials {
    Credentials { authzid: authzid.map(str::to_owned), ..Credentials::default() }
}

/// A server and a client that both know the layer authenticated `auth_id`
/// with strength `ssf`; the client asks to act as `authzid`.
fn pair(ssf: u32, auth_id: &str, authzid: Option<&str>) -> (Client, Server) {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(ssf, Some(auth_id)).unwrap();
    let mut client = Client::new("test", "localhost", credentials(authzid), &external_config()).unwrap();
    client.set_external(ssf, Some(auth_id)).unwrap();
    (client, server)
}

fn identity(authid: &str, authzid: Option<&str>) -> Outcome {
    Outcome::Authenticated(Identity {
        authid: authid.to_owned(),
        authzid: authzid.map(str::to_owned),
        mechanism: "EXTERNAL".to_owned(),
        ssf: 0,
    })
}

#[test]
fn the_server_authenticates_the_identity_the_layer_vouched_for() {
    let (mut client, mut server) = pair(128, "fw1", None);
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    // EXTERNAL adds no layer of its own: the SSF it reports is 0.
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

/// The client's `auth_id` is not sent: the server's is the identity, whatever
/// the client believes about itself.
#[test]
fn the_identity_is_the_servers_auth_id_not_the_clients() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(128, Some("fw1")).unwrap();
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(128, Some("someone-else")).unwrap();
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

#[test]
fn an_authzid_equal_to_the_auth_id_is_accepted() {
    let (mut client, mut server) = pair(128, "fw1", Some("fw1"));
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

#[test]
fn a_different_authzid_is_rejected_without_a_proxy_policy() {
    let (mut client, mut server) = pair(128, "fw1", Some("admin"));
    assert_eq!(exchange(&mut client, &mut server).unwrap(), Outcome::Rejected);
}

#[test]
fn a_proxy_policy_decides_a_different_authzid() {
    for (allowed, expected) in [(true, identity("fw1", Some("admin"))), (false, Outcome::Rejected)] {
        let mut server = Server::with_proxy_policy("test", "localhost", None, &external_config(), move |r| {
            assert_eq!((r.authid, r.authzid), ("fw1", "admin"));
            allowed
        })
        .unwrap();
        server.set_external(128, Some("fw1")).unwrap();
        let mut client = Client::new("test", "localhost", credentials(Some("admin")), &external_config()).unwrap();
        client.set_external(128, Some("fw1")).unwrap();
        assert_eq!(exchange(&mut client, &mut server).unwrap(), expected, "policy allows: {allowed}");
    }
}

/// Without `SASL_AUTH_EXTERNAL` there is nothing to authenticate: the server
/// neither lists EXTERNAL nor starts it, whatever the SSF, and an empty
/// `auth_id` counts as none.
#[test]
fn a_server_without_an_external_identity_neither_offers_nor_accepts_external() {
    for (ssf, auth_id) in [(None, None), (Some(256), None), (Some(256), Some(""))] {
        let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
        if let Some(ssf) = ssf {
            server.set_external(ssf, auth_id).unwrap();
        }
        assert!(server.mechanisms().unwrap().is_empty(), "{ssf:?} {auth_id:?}: {:?}", server.mechanisms());
        match server.start("EXTERNAL", Some(b"")) {
            Err(Error::MechanismNotOffered { mechanism, .. }) => assert_eq!(mechanism, "EXTERNAL"),
            other => panic!("{ssf:?} {auth_id:?}: {other:?}"),
        }
    }
}

/// Setting the identity and then clearing it (`None`) takes EXTERNAL away again.
#[test]
fn clearing_the_external_identity_withdraws_external() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(128, Some("fw1")).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    server.set_external(128, None).unwrap();
    assert!(server.mechanisms().unwrap().is_empty());
}

#[test]
fn a_client_without_an_external_identity_does_not_choose_external() {
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(128, None).unwrap();
    match client.start("EXTERNAL") {
        Err(Error::NoMechanism { offered, .. }) => assert_eq!(offered, ["EXTERNAL"]),
        other => panic!("{other:?}"),
    }
}

/// The fact behind the defaults: EXTERNAL's plugin declares `noplaintext
/// noanonymous nodictionary`, so the default flags (`noanonymous
/// noplaintext`) keep it, and an external SSF of 0 is enough while `min_ssf`
/// is 0. With no `mech_list` at all it is offered too, next to the others.
#[test]
fn default_flags_and_a_zero_external_ssf_still_offer_external() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(0, Some("fw1")).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(0, Some("fw1")).unwrap();
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));

    let mut unrestricted = Server::new("test", "localhost", None, &Config::new()).unwrap();
    assert!(!unrestricted.mechanisms().unwrap().iter().any(|m| m == "EXTERNAL"));
    unrestricted.set_external(0, Some("fw1")).unwrap();
    assert!(unrestricted.mechanisms().unwrap().iter().any(|m| m == "EXTERNAL"), "{:?}", unrestricted.mechanisms());
}

/// EXTERNAL has no layer of its own, so `min_ssf` must be met by the external
/// SSF alone: 56 is not offered EXTERNAL over a layer of 40, but is over 56.
#[test]
fn min_ssf_must_be_met_by_the_external_ssf() {
    let config = external_config().with("min_ssf", "56").unwrap();
    let mut weak = Server::new("test", "localhost", None, &config).unwrap();
    weak.set_external(40, Some("fw1")).unwrap();
    assert!(weak.mechanisms().unwrap().is_empty(), "{:?}", weak.mechanisms());
    let mut client = Client::new("test", "localhost", credentials(None), &config).unwrap();
    client.set_external(40, Some("fw1")).unwrap();
    assert!(client.start("EXTERNAL").is_err(), "the client refuses it too");

    let (mut client, mut server) = (
        Client::new("test", "localhost", credentials(None), &config).unwrap(),
        Server::new("test", "localhost", None, &config).unwrap(),
    );
    server.set_external(56, Some("fw1")).unwrap();
    client.set_external(56, Some("fw1")).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

/// EXTERNAL's plugin refuses the identity `anonymous` under `noanonymous`
/// (the default): a certificate named so is no authentication.
#[test]
fn the_identity_anonymous_is_refused_under_the_default_flags() {
    let (mut client, mut server) = pair(128, "anonymous", None);
    assert_eq!(exchange(&mut client, &mut server).unwrap(), Outcome::Rejected);
}

/// libsasl2 lifts `noplaintext` over an external layer of SSF 2 or more that
/// reaches `min_ssf`: PLAIN is then offered under the default flags. An SSF
/// of 1 (integrity only) does not lift it. No identity is needed for this.
#[test]
fn an_external_ssf_of_two_or_more_lifts_noplaintext() {
    let config = Config::new().with("mech_list", "PLAIN").unwrap();
    for (ssf, offered) in [(0, false), (1, false), (2, true), (256, true)] {
        let mut server = Server::new("test", "localhost", None, &config).unwrap();
        server.set_external(ssf, None).unwrap();
        let listed = server.mechanisms().unwrap();
        assert_eq!(listed.iter().any(|m| m == "PLAIN"), offered, "external SSF {ssf}: {listed:?}");
        // The client applies the same rule when it chooses.
        let mut client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
        client.set_external(ssf, None).unwrap();
        match client.start("PLAIN") {
            Ok(start) => assert!(offered && start.mechanism == "PLAIN", "external SSF {ssf}: {start:?}"),
            Err(Error::NoMechanism { .. }) => assert!(!offered, "external SSF {ssf}"),
            Err(e) => panic!("external SSF {ssf}: {e}"),
        }
    }
}

#[test]
fn a_nul_in_the_external_identity_is_refused() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    match server.set_external(128, Some("fw1\0admin")) {
        Err(Error::Nul { what }) => assert_eq!(what, "external authentication id"),
        other => panic!("{other:?}"),
    }
    assert!(server.mechanisms().unwrap().is_empty(), "nothing was set");
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    assert!(matches!(client.set_external(128, Some("\0")), Err(Error::Nul { .. })));
}

#[test]
fn set_external_after_start_is_a_state_error() {
    let (mut client, mut server) = pair(128, "fw1", None);
    exchange(&mut client, &mut server).unwrap();
    assert!(matches!(server.set_external(128, Some("x")), Err(Error::State { .. })));
    assert!(matches!(client.set_external(128, Some("x")), Err(Error::State { .. })));
}

/// A user realm is appended to the external identity like to any user name.
#[test]
fn the_servers_user_realm_is_appended_to_the_external_identity() {
    let mut server = Server::new("test", "localhost", Some("EXAMPLE.TEST"), &external_config()).unwrap();
    server.set_external(128, Some("fw1")).unwrap();
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(128, Some("fw1")).unwrap();
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1@EXAMPLE.TEST", None));
}

/// GNU gsasl's EXTERNAL client, an independent implementation, against our
/// server: it sends its authzid (`-z`) or an empty response, and the server
/// decides from its own external identity.
#[test]
fn gsasl_external_client_authenticates_to_our_server() {
    use base64::Engine as _;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    for (authzid, expected) in
        [(None, identity("fw1", None)), (Some("fw1"), identity("fw1", None)), (Some("admin"), Outcome::Rejected)]
    {
        let mut gsasl = Command::new("gsasl");
        gsasl.args(["--client", "-m", "EXTERNAL", "--quiet"]).args(authzid.map(|z| ["-z", z]).iter().flatten());
        let mut child = gsasl
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gsasl runs (Debian package gsasl, ci/install-deps)");
        // No challenge, then no more input: gsasl prints its one token and exits.
        child.stdin.take().unwrap().write_all(b"\n\n").unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let mut lines = stdout.lines();
        assert_eq!(lines.next(), Some("EXTERNAL"), "{stdout:?}");
        let token = base64::engine::general_purpose::STANDARD.decode(lines.next().unwrap_or_default()).unwrap();
        assert_eq!(token, authzid.unwrap_or_default().as_bytes(), "gsasl sends the authzid, or nothing");

        let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
        server.set_external(128, Some("fw1")).unwrap();
        let outcome = match server.start("EXTERNAL", Some(&token)).unwrap() {
            ServerStep::Authenticated { identity, .. } => Outcome::Authenticated(identity),
            ServerStep::Rejected(_) => Outcome::Rejected,
            ServerStep::Continue(c) => panic!("EXTERNAL takes one message, got a challenge {c:?}"),
        };
        assert_eq!(outcome, expected, "gsasl -z {authzid:?}");
    }
}

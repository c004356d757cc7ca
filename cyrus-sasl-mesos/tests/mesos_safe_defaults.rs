//! The Mesos layer's safe defaults and its bindings (issue 13), on the sans-IO
//! state machines with real libsasl2 and an in-memory credential store:
//! - a default client offers and accepts CRAM-MD5 only, so a PLAIN-only master
//!   never gets the secret in clear;
//! - unauthenticated peers get fixed error texts, never the master's setup;
//! - peer-controlled text is escaped in logs;
//! - the master binds a claimed UPID to the TCP peer's IP address;
//! - the authenticatee talks only to the session that answered it first.
//!
//! One logger per process, so the tests that read the log take a lock.

use cyrus_sasl_test_support as common;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use common::capture;
use common::mesos::{Dir, deliver_all};
use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{
    AuthenticateMessage, Authenticatee, AuthenticateeState, AuthenticationErrorMessage, AuthenticationStartMessage,
    Authenticator, ClientOptions, Credential, ExchangeError, ExchangeState, Message, MessageType, Origin, Outcome,
    Outcomes, PEER_TEXT_UNSUPPORTED_MECHANISM, PeerBinding, ServerOptions, SessionOutcome,
};

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PID: &str = "scheduler-1@127.0.0.1:41234";
const FROM: &str = "crammd5-authenticatee(1)@127.0.0.1:41234";
const SESSION: &str = "crammd5-authenticator-session(1)@127.0.0.1:5050";

fn store() -> CredentialStore {
    CredentialStore::from_credentials(vec![("benh".to_owned(), Secret::from("hunter2"))]).unwrap()
}

fn master_with(mech_list: Option<&str>, binding: PeerBinding) -> (Authenticator<u32>, Outcomes<u32>, CredentialStore) {
    let store = store();
    let mut config = Config::new().with_credential_store(&store);
    if let Some(list) = mech_list {
        config.set("mech_list", list).unwrap();
        if list.contains("PLAIN") {
            // Refused by default: a master that offers PLAIN says so explicitly.
            config.set("security_flags", "noanonymous").unwrap();
        }
    }
    let options = ServerOptions { peer_binding: binding, ..ServerOptions::default() };
    let (authenticator, outcomes) = Authenticator::new(&config, options);
    (authenticator, outcomes, store)
}

fn origin() -> Origin {
    Origin::new(FROM, LOCALHOST)
}

/// Runs one attempt to its end, on session 1. Returns every message the
/// client sent.
fn exchange(client: &mut Authenticatee, master: &mut Authenticator<u32>, origin: &Origin) -> Vec<Message> {
    let delivered = common::mesos::exchange(Instant::now(), client, master, 1, origin, deliver_all);
    delivered.into_iter().filter(|(dir, _)| *dir == Dir::ToMaster).map(|(_, m)| m).collect()
}

fn all(outcomes: &Outcomes<u32>) -> Vec<SessionOutcome<u32>> {
    outcomes.try_iter().collect()
}

// --- (a) CRAM-MD5 only by default -------------------------------------------

#[test]
fn a_default_client_never_sends_its_secret_to_a_master_that_offers_only_plain() {
    let (mut master, _outcomes, _store) = master_with(Some("PLAIN"), PeerBinding::RequireIpMatch);
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &ClientOptions::default());
    let sent = exchange(&mut client, &mut master, &origin());
    let types: Vec<_> = sent.iter().map(Message::message_type).collect();
    assert_eq!(types, [MessageType::Authenticate], "only the AuthenticateMessage left the client");
    match client.outcome() {
        Some(Outcome::Failed(ExchangeError::NoAllowedMechanism { offered, allowed })) => {
            assert_eq!(offered, &["PLAIN"]);
            assert_eq!(allowed, &["CRAM-MD5"]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(master.authenticated(PID), None);
}

#[test]
fn plain_is_an_explicit_choice_on_both_sides() {
    let (mut master, _outcomes, _store) = master_with(Some("PLAIN"), PeerBinding::RequireIpMatch);
    let options = ClientOptions {
        mechanisms: vec!["PLAIN".into()],
        config: Config::new().with("security_flags", "noanonymous").unwrap(),
        ..ClientOptions::default()
    };
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &options);
    exchange(&mut client, &mut master, &origin());
    assert_eq!(client.state(), AuthenticateeState::Authenticated, "{:?}", client.outcome());
    assert_eq!(master.authenticated(PID).as_deref(), Some("benh"));
}

#[test]
fn the_default_client_picks_cram_md5_even_when_plain_is_offered_first() {
    let (mut master, outcomes, _store) = master_with(Some("PLAIN CRAM-MD5"), PeerBinding::RequireIpMatch);
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &ClientOptions::default());
    let sent = exchange(&mut client, &mut master, &origin());
    let start = sent.iter().find_map(|m| if let Message::Start(s) = m { Some(s.mechanism.clone()) } else { None });
    assert_eq!(start.as_deref(), Some("CRAM-MD5"));
    assert_eq!(client.state(), AuthenticateeState::Authenticated);
    assert_eq!(all(&outcomes).len(), 1);
}

#[test]
fn the_master_offers_only_cram_md5_without_a_mech_list() {
    let (mut master, _outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    master.handle_message(Instant::now(), 1, &origin(), AuthenticateMessage { pid: PID.into() }.into());
    let (_, offer) = master.poll_transmit().unwrap();
    let Message::Mechanisms(offer) = offer else { panic!("{offer:?}") };
    assert_eq!(offer.mechanisms, ["CRAM-MD5"]);
}

// --- (b) fixed texts for unauthenticated peers -------------------------------

#[test]
fn a_peer_choosing_an_uninstalled_mechanism_learns_nothing_of_the_masters_installation() {
    let (mut master, outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    let now = Instant::now();
    master.handle_message(now, 1, &origin(), AuthenticateMessage { pid: PID.into() }.into());
    master.poll_transmit().unwrap();
    let start = AuthenticationStartMessage { mechanism: "X-NO-SUCH-MECH".into(), data: Some(vec![]) };
    master.handle_message(now, 1, &origin(), start.into());
    let (_, reply) = master.poll_transmit().unwrap();
    let Message::Error(AuthenticationErrorMessage { error: Some(text) }) = reply else { panic!("{reply:?}") };
    assert_eq!(text, PEER_TEXT_UNSUPPORTED_MECHANISM);
    // The details stay on the master's side.
    let outcomes = all(&outcomes);
    let [SessionOutcome { outcome: Outcome::Failed(ExchangeError::Sasl(e)), .. }] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert!(e.to_string().contains("installed"), "{e}");
}

// --- (c) peer-controlled text is escaped in logs ----------------------------

#[test]
fn peer_controlled_pids_senders_and_texts_cannot_forge_log_lines() {
    let _log = capture::start();
    let (mut master, _outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    let pid = "scheduler\nINFO FORGED-PID@127.0.0.1:1";
    let from = Origin::new("authenticatee\nINFO FORGED-FROM@127.0.0.1:1", LOCALHOST);
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), pid, &ClientOptions::default());
    exchange(&mut client, &mut master, &from);
    // Neither is a UPID (a UPID's id has no white space), so the master turns
    // the attempt away unanswered, logging both escaped.
    assert_eq!(client.state(), AuthenticateeState::Starting, "{:?}", client.outcome());
    // The client side: a master's mechanism names and error text.
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &ClientOptions::default());
    client.start();
    client.poll_transmit();
    let evil = cyrus_sasl_mesos::AuthenticationMechanismsMessage { mechanisms: vec!["X\nINFO FORGED-MECH".into()] };
    client.handle_message("session\nINFO FORGED-SESSION@127.0.0.1:1", evil.into());
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &ClientOptions::default());
    client.start();
    client.poll_transmit();
    client.handle_message(SESSION, AuthenticationErrorMessage { error: Some("x\nINFO FORGED-ERROR".into()) }.into());

    let lines = capture::lines();
    for marker in ["FORGED-PID", "FORGED-FROM", "FORGED-MECH", "FORGED-SESSION", "FORGED-ERROR"] {
        assert!(lines.iter().any(|l| l.contains(marker)), "{marker} never logged: {lines:#?}");
    }
    let forged: Vec<_> = lines.iter().filter(|l| l.contains("\nINFO FORGED")).collect();
    assert!(forged.is_empty(), "raw peer text in the log: {forged:#?}");
}

// --- peer binding on the master ---------------------------------------------

#[test]
fn a_sender_whose_upid_names_another_host_is_refused_without_an_answer() {
    let (mut master, outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    let forged = Origin::new("crammd5-authenticatee(1)@10.1.2.3:41234", LOCALHOST);
    master.handle_message(Instant::now(), 1, &forged, AuthenticateMessage { pid: PID.into() }.into());
    assert!(master.poll_transmit().is_none(), "nothing goes to an unverified address");
    assert_eq!(master.pending(), 0);
    let outcomes = all(&outcomes);
    let [SessionOutcome { outcome: Outcome::Failed(ExchangeError::PeerAddressMismatch { claimed, peer_ip }), .. }] =
        &outcomes[..]
    else {
        panic!("{outcomes:?}")
    };
    assert_eq!(claimed, "crammd5-authenticatee(1)@10.1.2.3:41234");
    assert_eq!(peer_ip, &LOCALHOST);
}

#[test]
fn a_pid_on_another_host_is_refused_and_cannot_clear_that_pids_authentication() {
    let (mut master, outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    // The real framework at 10.0.0.7 authenticates from 10.0.0.7.
    let victim_pid = "scheduler-1@10.0.0.7:41234";
    let victim = Origin::new("crammd5-authenticatee(1)@10.0.0.7:41234", IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)));
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), victim_pid, &ClientOptions::default());
    exchange(&mut client, &mut master, &victim);
    assert_eq!(master.authenticated(victim_pid).as_deref(), Some("benh"));
    outcomes.try_iter().for_each(drop);

    // A peer on loopback claims that pid (with a loopback sender UPID).
    let attacker = origin();
    master.handle_message(Instant::now(), 2, &attacker, AuthenticateMessage { pid: victim_pid.into() }.into());
    assert!(master.poll_transmit().is_none());
    assert!(matches!(
        outcomes.try_next(),
        Some(SessionOutcome { peer: 2, outcome: Outcome::Failed(ExchangeError::PeerAddressMismatch { .. }), .. })
    ));
    assert_eq!(master.authenticated(victim_pid).as_deref(), Some("benh"), "the forged attempt cleared it");
}

#[test]
fn an_ipv4_mapped_peer_address_matches_its_ipv4_upid() {
    let (mut master, _outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    let mapped = Origin::new(FROM, IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped()));
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &ClientOptions::default());
    exchange(&mut client, &mut master, &mapped);
    assert_eq!(client.state(), AuthenticateeState::Authenticated);
    // And an IPv6 loopback peer is not 127.0.0.1.
    let v6 = Origin::new(FROM, IpAddr::V6(Ipv6Addr::LOCALHOST));
    master.handle_message(Instant::now(), 2, &v6, AuthenticateMessage { pid: PID.into() }.into());
    assert!(master.poll_transmit().is_none());
}

#[test]
fn trusting_claimed_addresses_is_explicit_and_logged() {
    let _log = capture::start();
    let (mut master, _outcomes, _store) = master_with(None, PeerBinding::TrustClaimedAddress);
    assert!(
        capture::lines().iter().any(|l| l.starts_with("WARN") && l.contains("peer binding is off")),
        "{:#?}",
        capture::lines()
    );
    let natted = Origin::new("crammd5-authenticatee(1)@192.0.2.1:41234", LOCALHOST);
    let mut client =
        Authenticatee::new(Credential::new("benh", "hunter2"), "scheduler-1@192.0.2.1:1", &ClientOptions::default());
    exchange(&mut client, &mut master, &natted);
    assert_eq!(client.state(), AuthenticateeState::Authenticated);
    assert_eq!(master.authenticated("scheduler-1@192.0.2.1:1").as_deref(), Some("benh"));
    assert!(capture::lines().iter().any(|l| l.starts_with("WARN") && l.contains("believing a claimed UPID")));
}

#[test]
fn a_session_takes_messages_only_from_the_sender_of_its_authenticate_message() {
    let _log = capture::start();
    let (mut master, outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    let now = Instant::now();
    master.handle_message(now, 1, &origin(), AuthenticateMessage { pid: PID.into() }.into());
    assert!(matches!(master.poll_transmit(), Some((1, Message::Mechanisms(_)))));
    assert_eq!(master.reply_to(&1), Some(FROM));
    let start = || Message::from(AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![]) });
    // Another process on the same host, and the right UPID from another host.
    let intruder = Origin::new("intruder\n(1)@127.0.0.1:41234", LOCALHOST);
    let elsewhere = Origin::new(FROM, IpAddr::V4(Ipv4Addr::new(10, 9, 9, 9)));
    for other in [&intruder, &elsewhere] {
        master.handle_message(now, 1, other, start());
        assert!(master.poll_transmit().is_none(), "{other:?}");
        assert_eq!(master.session_state(&1), Some(ExchangeState::Starting), "{other:?}");
    }
    assert!(outcomes.try_next().is_none());
    let lines = capture::lines();
    assert!(lines.iter().any(|l| l.starts_with("WARN") && l.contains("intruder\\n(1)")), "{lines:#?}");
    // The real sender carries on.
    master.handle_message(now, 1, &origin(), start());
    assert!(matches!(master.poll_transmit(), Some((1, Message::Step(_)))));
}

// --- the authenticatee pins its master session ------------------------------

#[test]
fn the_authenticatee_ignores_every_sender_but_the_session_that_answered_first() {
    let _log = capture::start();
    let (mut master, _outcomes, _store) = master_with(None, PeerBinding::RequireIpMatch);
    let now = Instant::now();
    let mut client = Authenticatee::new(Credential::new("benh", "hunter2"), PID, &ClientOptions::default());
    client.start();
    master.handle_message(now, 1, &origin(), client.poll_transmit().unwrap());
    client.handle_message(SESSION, master.poll_transmit().unwrap().1);
    assert_eq!(client.peer(), Some(SESSION));
    master.handle_message(now, 1, &origin(), client.poll_transmit().unwrap());
    let challenge = master.poll_transmit().unwrap().1;

    // A rogue process sends the verdict first.
    let rogue = "crammd5-authenticator-session(99)@127.0.0.1:6666\nINFO x";
    client.handle_message(rogue, Message::Completed(Default::default()));
    client.handle_message(rogue, Message::Failed(Default::default()));
    assert_eq!(client.state(), AuthenticateeState::Stepping);
    assert!(client.poll_transmit().is_none());
    let lines = capture::lines();
    assert!(
        lines.iter().any(|l| l.starts_with("WARN") && l.contains("session(99)@127.0.0.1:6666\\nINFO x")),
        "{lines:#?}"
    );

    client.handle_message(SESSION, challenge);
    master.handle_message(now, 1, &origin(), client.poll_transmit().unwrap());
    client.handle_message(SESSION, master.poll_transmit().unwrap().1);
    assert_eq!(client.state(), AuthenticateeState::Authenticated, "{:?}", client.outcome());
}

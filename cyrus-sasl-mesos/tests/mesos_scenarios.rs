//! Apache Mesos's own authentication scenarios (`src/tests/authentication_tests.cpp`,
//! `src/tests/cram_md5_authentication_tests.cpp`), ported to the sans-IO state
//! machines: real libsasl2, real CRAM-MD5, a real sasldb made by `saslpasswd2`,
//! in one process. Messages pass by hand between the two sides, through their
//! real encoding, and a scenario drops, duplicates or reorders them as the
//! Mesos test does with `DROP_PROTOBUF`. Time is a fixed `Instant` plus offsets,
//! and the retry timeouts come from a seeded RNG, so every run is the same.
//!
//! The master's credentials live in the in-memory `CredentialStore`, as Mesos
//! loads them from its credentials file; the scenarios about reloading and
//! realms also run against a sasldb, through the same `Config`.

use cyrus_sasl_test_support as common;

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use common::mesos::{Dir, deliver_all, wire};
use common::{REALM, TestDb, sasldb};
use cyrus_sasl::{Config, CredentialStore, Sasldb, Secret};
use cyrus_sasl_mesos::{
    AuthenticateMessage, Authenticatee, AuthenticateeState, AuthenticationErrorMessage, AuthenticationRetry,
    AuthenticationStepMessage, Authenticator, Backoff, ClientOptions, Credential, DiscardReason, ExchangeError,
    ExchangeState, Message, MessageType, Origin, Outcome, Outcomes, PEER_TEXT_UNSUPPORTED_MECHANISM, Registry,
    RetryEvent, ServerOptions, SessionOutcome, Verdict,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// The framework's libprocess PID, as its `AuthenticateMessage` carries it.
const PID: &str = "scheduler-7e1f@127.0.0.1:41234";

/// The UPID of attempt `attempt`'s authenticatee process, as its messages name
/// their sender, seen from the loopback peer address they arrive from.
fn authenticatee(attempt: Peer) -> Origin {
    Origin::new(format!("crammd5-authenticatee({attempt})@127.0.0.1:41234"), Ipv4Addr::LOCALHOST.into())
}

/// The UPID of the master's session process for `peer`.
fn session(peer: Peer) -> String {
    format!("crammd5-authenticator-session({peer})@127.0.0.1:5050")
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The transport peer of an attempt: the attempt number (each attempt has its own
/// connection, as each Mesos authenticatee has its own process).
type Peer = u32;

struct Master {
    authenticator: Authenticator<Peer>,
    outcomes: Outcomes<Peer>,
    credentials: Credentials,
}

/// Where a master's secrets live.
enum Credentials {
    Memory { store: CredentialStore, table: Vec<(String, String)> },
    Sasldb { db: Sasldb, _files: TestDb },
}

impl Credentials {
    fn memory(users: &[(&str, &str)]) -> Self {
        let table: Vec<_> = users.iter().map(|(p, s)| (p.to_string(), s.to_string())).collect();
        let store = CredentialStore::from_credentials(secrets(&table)).unwrap();
        Credentials::Memory { store, table }
    }

    fn sasldb(users: &[(&str, &str)]) -> Self {
        let files = sasldb(users);
        Credentials::Sasldb { db: Sasldb::new(&files.path, REALM).unwrap(), _files: files }
    }

    fn config(&self) -> Config {
        match self {
            Credentials::Memory { store, .. } => Config::new().with_credential_store(store),
            Credentials::Sasldb { db, .. } => db.config(),
        }
    }

    /// Changes a secret the way an operator would: a credentials-file reload
    /// (an atomic replace of the whole store), or `sasl_setpass` on the sasldb.
    fn set_password(&mut self, principal: &str, secret: &str) {
        match self {
            Credentials::Memory { store, table } => {
                table.retain(|(p, _)| p != principal);
                table.push((principal.into(), secret.into()));
                store.replace(secrets(table)).unwrap();
            }
            Credentials::Sasldb { db, .. } => db.set_password(principal, &secret.into()).unwrap(),
        }
    }

    fn delete_user(&mut self, principal: &str) {
        match self {
            Credentials::Memory { store, table } => {
                table.retain(|(p, _)| p != principal);
                store.replace(secrets(table)).unwrap();
            }
            Credentials::Sasldb { db, .. } => db.delete_user(principal).unwrap(),
        }
    }
}

fn secrets(table: &[(String, String)]) -> Vec<(String, Secret)> {
    table.iter().map(|(p, s)| (p.clone(), Secret::from(s.as_str()))).collect()
}

/// A master whose in-memory store holds `users`, offering CRAM-MD5 (the default
/// when the config has no `mech_list`).
fn master(users: &[(&str, &str)]) -> Master {
    master_with_timeout(users, cyrus_sasl_mesos::DEFAULT_SESSION_TIMEOUT)
}

fn master_with_timeout(users: &[(&str, &str)], session_timeout: Duration) -> Master {
    master_on(Credentials::memory(users), session_timeout)
}

fn master_on(credentials: Credentials, session_timeout: Duration) -> Master {
    let options = ServerOptions { realm: Some(REALM.into()), session_timeout, ..ServerOptions::default() };
    let (authenticator, outcomes) = Authenticator::new(&credentials.config(), options);
    Master { authenticator, outcomes, credentials }
}

fn retry(credential: Credential, seed: u64) -> AuthenticationRetry<StdRng> {
    AuthenticationRetry::new(credential, PID, ClientOptions::default(), Backoff::default(), StdRng::seed_from_u64(seed))
}

/// Delivers messages both ways until neither side has anything to send. `drop`
/// sees each message and discards it when it returns true. Returns the types of
/// the messages delivered, in order.
fn pump(
    now: Instant,
    client: &mut AuthenticationRetry<StdRng>,
    master: &mut Authenticator<Peer>,
    mut drop: impl FnMut(Dir, &Message) -> bool,
) -> Vec<(Dir, MessageType)> {
    let tap = |dir: Dir, message: &mut Message| !drop(dir, message);
    let delivered = common::retry_exchange!(now, client, master, authenticatee, |peer| session(peer), tap);
    delivered.into_iter().map(|(dir, message)| (dir, message.message_type())).collect()
}

fn keep_all(_: Dir, _: &Message) -> bool {
    false
}

/// Drops the first message of type `t` going `dir`, and only that one.
fn drop_first(dir: Dir, t: MessageType) -> impl FnMut(Dir, &Message) -> bool {
    let mut dropped = false;
    move |d, m| {
        let hit = !dropped && d == dir && m.message_type() == t;
        dropped |= hit;
        hit
    }
}

/// One single attempt, no retries: an `Authenticatee` against the master on peer 1.
fn single_attempt(credential: Credential, master: &mut Master) -> (Authenticatee, Vec<MessageType>) {
    let mut client = Authenticatee::new(credential, PID, &ClientOptions::default());
    let delivered = common::mesos::exchange(
        Instant::now(),
        &mut client,
        &mut master.authenticator,
        1,
        &authenticatee(1),
        deliver_all,
    );
    let to_client = delivered.iter().filter(|(dir, _)| *dir == Dir::ToClient).map(|(_, m)| m.message_type()).collect();
    (client, to_client)
}

fn outcomes(master: &Master) -> Vec<SessionOutcome<Peer>> {
    master.outcomes.try_iter().collect()
}

fn events(client: &mut AuthenticationRetry<StdRng>) -> Vec<RetryEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

#[test]
fn success_the_master_reports_the_principal_the_client_learns_true() {
    let mut master = master(&[("benh", "secret")]);
    let (client, to_client) = single_attempt(Credential::new("benh", "secret"), &mut master);
    assert_eq!(client.state(), AuthenticateeState::Authenticated);
    assert_eq!(client.state(), AuthenticateeState::Authenticated);
    assert_eq!(to_client, [MessageType::Mechanisms, MessageType::Step, MessageType::Completed]);
    let outcomes = outcomes(&master);
    assert_eq!(outcomes.len(), 1);
    assert_eq!((outcomes[0].peer, outcomes[0].pid.as_str()), (1, PID));
    // The principal as the framework named it, without the realm libsasl2 appended.
    assert_eq!(outcomes[0].outcome.principal(), Some("benh"));
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("benh"));
    assert_eq!(master.authenticator.pending(), 0);
}

#[test]
fn success_an_agent_authenticates_with_the_same_type_under_its_own_principal() {
    let mut master = master(&[("benh", "secret"), ("agent-1", "agent-secret")]);
    let (client, _) = single_attempt(Credential::new("agent-1", "agent-secret"), &mut master);
    assert_eq!(client.state(), AuthenticateeState::Authenticated);
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("agent-1"));
}

#[test]
fn wrong_secret_is_rejected_on_both_sides() {
    let mut master = master(&[("benh", "secret2")]);
    let (client, to_client) = single_attempt(Credential::new("benh", "secret"), &mut master);
    assert_eq!(client.state(), AuthenticateeState::Rejected);
    assert_eq!(client.state(), AuthenticateeState::Rejected);
    assert_eq!(to_client.last(), Some(&MessageType::Failed));
    let outcomes = outcomes(&master);
    assert!(matches!(outcomes[..], [SessionOutcome { outcome: Outcome::Rejected, .. }]), "{outcomes:?}");
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), None);
}

#[test]
fn unknown_principal_is_rejected_exactly_like_a_wrong_secret() {
    let mut unknown = master(&[("vinod", "secret")]);
    let (client, to_client_unknown) = single_attempt(Credential::new("benh", "secret"), &mut unknown);
    assert_eq!(client.state(), AuthenticateeState::Rejected);
    assert!(matches!(outcomes(&unknown)[..], [SessionOutcome { outcome: Outcome::Rejected, .. }]));
    // The peer sees the same messages as for a wrong secret: it cannot probe names.
    let mut wrong = master(&[("benh", "other")]);
    let (_, to_client_wrong) = single_attempt(Credential::new("benh", "secret"), &mut wrong);
    assert_eq!(to_client_unknown, to_client_wrong);
}

#[test]
fn missing_secret_fails_at_once_and_sends_nothing() {
    let mut client =
        Authenticatee::new(Credential { principal: "benh".into(), secret: None }, PID, &ClientOptions::default());
    client.start();
    assert_eq!(client.state(), AuthenticateeState::Rejected);
    assert_eq!(client.poll_transmit(), None);
    // With retries: refused, final, nothing sent, no timer.
    let mut retrying = retry(Credential { principal: "benh".into(), secret: None }, 1);
    retrying.start(Instant::now());
    assert_eq!(retrying.verdict(), Some(Verdict::Rejected));
    assert_eq!(retrying.poll_transmit(), None);
    assert_eq!(retrying.poll_timeout(), None);
}

#[test]
fn dropped_authenticate_then_retry_after_the_timeout() {
    // Mesos: AuthenticationTest.RetryFrameworkAuthentication.
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 11);
    let t0 = Instant::now();
    client.start(t0);
    let delivered =
        pump(t0, &mut client, &mut master.authenticator, drop_first(Dir::ToMaster, MessageType::Authenticate));
    assert!(delivered.is_empty(), "the master saw nothing: {delivered:?}");
    assert_eq!(master.authenticator.pending(), 0);
    let deadline = client.poll_timeout().expect("the attempt has a deadline");
    let waited = deadline - t0;
    assert!((secs(5)..=secs(7)).contains(&waited), "first timeout in [5 s, 7 s]: {waited:?}");
    // Not yet: just before the deadline nothing happens.
    client.handle_timeout(deadline - Duration::from_millis(1));
    assert_eq!(client.attempt(), 1);
    client.handle_timeout(deadline);
    assert_eq!(client.attempt(), 2);
    pump(deadline, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
    let events = events(&mut client);
    assert!(
        matches!(
            events[..],
            [
                RetryEvent::AttemptStarted { attempt: 1, .. },
                RetryEvent::AttemptFailed { attempt: 1, error: ExchangeError::Discarded(DiscardReason::Abandoned) },
                RetryEvent::AttemptStarted { attempt: 2, .. },
                RetryEvent::Finished(Verdict::Authenticated),
            ]
        ),
        "{events:#?}"
    );
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("benh"));
}

#[test]
fn dropped_intermediate_step_then_retry_supersedes_the_stale_session() {
    // Mesos: AuthenticationTest.DropIntermediateSASLMessage and
    // MasterRetriedAuthenticationHandling: the master's session is still pending
    // (its 15 s timeout is longer than the client's) when the retry arrives.
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 12);
    let t0 = Instant::now();
    client.start(t0);
    pump(t0, &mut client, &mut master.authenticator, drop_first(Dir::ToClient, MessageType::Step));
    assert_eq!(master.authenticator.session_state(&1), Some(ExchangeState::Stepping));
    let deadline = client.poll_timeout().unwrap();
    assert!(deadline < t0 + cyrus_sasl_mesos::DEFAULT_SESSION_TIMEOUT);
    client.handle_timeout(deadline);
    pump(deadline, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
    let outcomes = outcomes(&master);
    assert!(
        matches!(
            &outcomes[..],
            [
                SessionOutcome { peer: 1, outcome: Outcome::Failed(ExchangeError::Discarded(DiscardReason::Superseded)), .. },
                SessionOutcome { peer: 2, outcome: Outcome::Authenticated { principal: p }, .. },
            ] if p == "benh"
        ),
        "{outcomes:#?}"
    );
    assert_eq!(master.authenticator.pending(), 0);
    // Late messages on the stale session's peer are ignored.
    master.authenticator.handle_message(
        deadline,
        1,
        &authenticatee(1),
        AuthenticationStepMessage { data: b"late".to_vec() }.into(),
    );
    assert_eq!(master.authenticator.poll_transmit(), None);
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("benh"));
}

#[test]
fn dropped_completed_then_retry_then_a_second_completed() {
    // Mesos: AuthenticationTest.DropFinalSASLMessage. The master thinks the
    // framework authenticated; the framework does not know it, times out, and
    // authenticates again.
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 13);
    let t0 = Instant::now();
    client.start(t0);
    pump(t0, &mut client, &mut master.authenticator, drop_first(Dir::ToClient, MessageType::Completed));
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("benh"));
    assert_eq!(client.verdict(), None);
    let deadline = client.poll_timeout().unwrap();
    client.handle_timeout(deadline);
    // The new AuthenticateMessage clears the earlier authentication at once.
    let (attempt, authenticate) = client.poll_transmit().unwrap();
    assert_eq!((attempt, authenticate.message_type()), (2, MessageType::Authenticate));
    master.authenticator.handle_message(deadline, attempt, &authenticatee(attempt), wire(authenticate));
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), None);
    let delivered = pump(deadline, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(delivered.last(), Some(&(Dir::ToClient, MessageType::Completed)));
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
    let outcomes = outcomes(&master);
    let principals: Vec<_> = outcomes.iter().map(|o| (o.peer, o.outcome.principal().map(str::to_owned))).collect();
    assert_eq!(principals, [(1, Some("benh".to_owned())), (2, Some("benh".to_owned()))]);
    assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("benh"));
}

#[test]
fn a_duplicate_authenticate_while_pending_supersedes_and_the_client_recovers() {
    // The network delivers the AuthenticateMessage twice on one connection.
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 14);
    let t0 = Instant::now();
    client.start(t0);
    let (attempt, authenticate) = client.poll_transmit().unwrap();
    master.authenticator.handle_message(t0, attempt, &authenticatee(attempt), wire(authenticate.clone()));
    master.authenticator.handle_message(t0, attempt, &authenticatee(attempt), wire(authenticate));
    assert_eq!(master.authenticator.pending(), 1, "one session per peer");
    // The client gets two Mechanisms: it answers the first; the second is out of
    // place, so attempt 1 errs and attempt 2 starts after its backoff, on a new peer.
    pump(t0, &mut client, &mut master.authenticator, keep_all);
    assert_eq!((client.verdict(), client.attempt()), (None, 1));
    let next = client.poll_timeout().expect("attempt 2 is scheduled");
    client.handle_timeout(next);
    pump(next, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
    assert_eq!(client.attempt(), 2);
    let events = events(&mut client);
    assert!(
        events.iter().any(|e| matches!(
            e,
            RetryEvent::AttemptFailed {
                attempt: 1,
                error: ExchangeError::Unexpected { message: MessageType::Mechanisms, state: ExchangeState::Stepping }
            }
        )),
        "{events:#?}"
    );
    // The master: the first session superseded by the duplicate, the second by
    // attempt 2, which succeeded. No stale result counts.
    let outcomes = outcomes(&master);
    let summary: Vec<_> = outcomes
        .iter()
        .map(|o| match &o.outcome {
            Outcome::Failed(e) => (o.peer, e.to_string()),
            other => (o.peer, format!("{:?}", other.principal())),
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, "authentication discarded (Superseded)".to_owned()),
            (1, "authentication discarded (Superseded)".to_owned()),
            (2, "Some(\"benh\")".to_owned()),
        ]
    );
    assert_eq!(master.authenticator.pending(), 0);
}

#[test]
fn step_before_start_is_an_error_on_both_sides() {
    let mut master = master(&[("benh", "secret")]);
    let now = Instant::now();
    // Master side: a Step where the Start belongs.
    master.authenticator.handle_message(now, 1, &authenticatee(1), AuthenticateMessage { pid: PID.into() }.into());
    let (_, mechanisms) = master.authenticator.poll_transmit().unwrap();
    assert_eq!(
        mechanisms,
        Message::Mechanisms(cyrus_sasl_mesos::AuthenticationMechanismsMessage { mechanisms: vec!["CRAM-MD5".into()] })
    );
    master.authenticator.handle_message(
        now,
        1,
        &authenticatee(1),
        AuthenticationStepMessage { data: b"x".to_vec() }.into(),
    );
    let (peer, error) = master.authenticator.poll_transmit().unwrap();
    assert_eq!(peer, 1);
    assert_eq!(
        error,
        Message::Error(AuthenticationErrorMessage { error: Some("Unexpected authentication 'step' received".into()) })
    );
    let outcomes = outcomes(&master);
    assert!(
        matches!(
            outcomes[..],
            [SessionOutcome {
                outcome: Outcome::Failed(ExchangeError::Unexpected {
                    message: MessageType::Step,
                    state: ExchangeState::Starting
                }),
                ..
            }]
        ),
        "{outcomes:?}"
    );
    assert_eq!(master.authenticator.pending(), 0);

    // Client side: a Step before the mechanisms.
    let mut client = Authenticatee::new(Credential::new("benh", "secret"), PID, &ClientOptions::default());
    client.start();
    client.handle_message(&session(1), AuthenticationStepMessage { data: b"x".to_vec() }.into());
    assert_eq!(client.state(), AuthenticateeState::Failed);
    let error = client.outcome().unwrap().error().unwrap();
    assert!(matches!(error, ExchangeError::Unexpected { message: MessageType::Step, state: ExchangeState::Starting }));
    assert_eq!(error.to_string(), "unexpected authentication 'step' received in state Starting");
}

#[test]
fn messages_out_of_place_name_the_message_and_the_state() {
    let start = |messages: &[Message]| {
        let mut client = Authenticatee::new(Credential::new("benh", "secret"), PID, &ClientOptions::default());
        client.start();
        for m in messages {
            client.handle_message(&session(1), m.clone());
        }
        client
    };
    let completed = Message::Completed(Default::default());
    let client = start(std::slice::from_ref(&completed));
    assert!(matches!(
        client.outcome(),
        Some(Outcome::Failed(ExchangeError::Unexpected {
            message: MessageType::Completed,
            state: ExchangeState::Starting
        }))
    ));
    // A master-bound message sent to the client.
    let client = start(&[AuthenticateMessage { pid: "x".into() }.into()]);
    assert!(matches!(
        client.outcome(),
        Some(Outcome::Failed(ExchangeError::Unexpected { message: MessageType::Authenticate, .. }))
    ));
    // An Error from the master carries its text; Failed in any live state rejects.
    let client = start(&[AuthenticationErrorMessage { error: Some("boom".into()) }.into()]);
    assert_eq!(
        client.outcome().unwrap().error().unwrap().to_string(),
        "the master reported an authentication error: \"boom\"; its log says more"
    );
    let client = start(&[Message::Failed(Default::default())]);
    assert_eq!(client.state(), AuthenticateeState::Rejected);
    // After the result, later messages change nothing.
    let client = start(&[Message::Failed(Default::default()), completed]);
    assert_eq!(client.state(), AuthenticateeState::Rejected);
}

#[test]
fn authenticator_destroyed_mid_session_fails_the_pending_outcome_and_never_hangs() {
    // Mesos: CRAMMD5AuthenticationTest.AuthenticatorDestructionRace.
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 15);
    let t0 = Instant::now();
    client.start(t0);
    pump(t0, &mut client, &mut master.authenticator, drop_first(Dir::ToClient, MessageType::Step));
    assert_eq!(master.authenticator.pending(), 1);
    let Master { authenticator, outcomes, .. } = master;
    // A driver thread waits for the result, as the master's `_authenticate` does.
    let waiter = std::thread::spawn(move || {
        let first = outcomes.next_blocking();
        let second = outcomes.next_blocking();
        (first, second)
    });
    std::thread::sleep(Duration::from_millis(50));
    drop(authenticator);
    let (first, second) = waiter.join().unwrap();
    let first = first.expect("the pending session's outcome");
    assert_eq!((first.peer, first.pid.as_str()), (1, PID));
    assert!(matches!(first.outcome, Outcome::Failed(ExchangeError::Discarded(DiscardReason::AuthenticatorDropped))));
    assert!(second.is_none(), "then the channel closes");
}

#[test]
fn credentials_reloaded_mid_session_decide_the_pending_verdict() {
    // The secret is looked up when the client's response arrives, not when the
    // session starts: a response made with the old secret after the reload is
    // rejected, and the new secret works from then on.
    let users = [("benh", "old-secret")];
    for credentials in [Credentials::memory(&users), Credentials::sasldb(&users)] {
        reloaded_mid_session(master_on(credentials, cyrus_sasl_mesos::DEFAULT_SESSION_TIMEOUT));
    }
}

fn reloaded_mid_session(mut master: Master) {
    let now = Instant::now();
    let mut client = Authenticatee::new(Credential::new("benh", "old-secret"), PID, &ClientOptions::default());
    client.start();
    // Authenticate, Mechanisms, Start, challenge: everything up to the response.
    let authenticate = client.poll_transmit().unwrap();
    master.authenticator.handle_message(now, 1, &authenticatee(1), wire(authenticate));
    client.handle_message(&session(1), wire(master.authenticator.poll_transmit().unwrap().1));
    master.authenticator.handle_message(now, 1, &authenticatee(1), wire(client.poll_transmit().unwrap()));
    client.handle_message(&session(1), wire(master.authenticator.poll_transmit().unwrap().1));
    let response = client.poll_transmit().unwrap();
    assert_eq!(response.message_type(), MessageType::Step);

    master.credentials.set_password("benh", "new-secret");

    master.authenticator.handle_message(now, 1, &authenticatee(1), wire(response));
    client.handle_message(&session(1), wire(master.authenticator.poll_transmit().unwrap().1));
    assert_eq!(client.state(), AuthenticateeState::Rejected, "the old secret no longer passes");
    let (fresh, _) = single_attempt(Credential::new("benh", "new-secret"), &mut master);
    assert_eq!(fresh.state(), AuthenticateeState::Authenticated, "the new one does");

    // A principal removed mid-session is rejected the same way.
    let (gone, _) = {
        master.credentials.delete_user("benh");
        single_attempt(Credential::new("benh", "new-secret"), &mut master)
    };
    assert_eq!(gone.state(), AuthenticateeState::Rejected);
}

#[test]
fn backoff_ranges_grow_like_mesos_across_retries() {
    // Mesos: AuthenticationTest.SlaveAuthenticationRetryBackoff. Every attempt's
    // AuthenticateMessage is dropped seven times; the ranges grow, then stop at
    // the maximum; the eighth attempt succeeds.
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 16);
    let mut now = Instant::now();
    client.start(now);
    let expected = [(5, 7), (5, 9), (5, 13), (5, 21), (5, 37), (5, 60), (5, 60)];
    for (i, (min, max)) in expected.into_iter().enumerate() {
        let attempt = i as u32 + 1;
        let Some(RetryEvent::AttemptStarted { attempt: a, range, timeout }) = client.poll_event() else {
            panic!("attempt {attempt} did not start")
        };
        assert_eq!(a, attempt);
        assert_eq!((range.min, range.max), (secs(min), secs(max)), "attempt {attempt}");
        assert!(range.contains(timeout));
        assert_eq!(client.poll_timeout(), Some(now + timeout));
        pump(now, &mut client, &mut master.authenticator, |_, m| m.message_type() == MessageType::Authenticate);
        // No retry before the minimum, one at the deadline.
        client.handle_timeout(now + secs(min) - Duration::from_millis(1));
        assert_eq!(client.attempt(), attempt);
        now += timeout;
        client.handle_timeout(now);
        assert_eq!(client.attempt(), attempt + 1);
        assert!(matches!(
            client.poll_event(),
            Some(RetryEvent::AttemptFailed { error: ExchangeError::Discarded(DiscardReason::Abandoned), .. })
        ));
    }
    pump(now, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
    assert_eq!(client.attempt(), 8);
}

#[test]
fn the_same_seed_gives_the_same_timeouts() {
    let timeouts = |seed| {
        let mut client = retry(Credential::new("benh", "secret"), seed);
        let t0 = Instant::now();
        client.start(t0);
        (0..5)
            .map(|_| {
                let deadline = client.poll_timeout().unwrap();
                client.handle_timeout(deadline);
                deadline - t0
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(timeouts(99), timeouts(99));
    assert_ne!(timeouts(99), timeouts(100));
}

#[test]
fn a_rejection_is_final_and_never_retried() {
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "wrong"), 17);
    let t0 = Instant::now();
    client.start(t0);
    pump(t0, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Rejected));
    assert_eq!(client.poll_timeout(), None);
    client.handle_timeout(t0 + secs(3600));
    client.retry_now(t0 + secs(3600));
    assert_eq!(client.attempt(), 1);
    assert_eq!(client.poll_transmit(), None);
}

#[test]
fn an_error_from_the_master_retries_after_its_backoff_with_a_fresh_authenticatee() {
    let mut master = master(&[("benh", "secret")]);
    let mut client = retry(Credential::new("benh", "secret"), 18);
    let t0 = Instant::now();
    client.start(t0);
    let (attempt, _) = client.poll_transmit().unwrap();
    let error = AuthenticationErrorMessage { error: Some("No authenticator loaded".into()) };
    client.handle_message(t0, attempt, &session(attempt), error.into());
    assert_eq!(client.attempt(), 1, "the next attempt waits out this one's timeout");
    let next = client.poll_timeout().expect("the next attempt is scheduled");
    assert!(next >= t0 + secs(5));
    client.handle_timeout(next);
    assert_eq!(client.attempt(), 2);
    let events = events(&mut client);
    assert!(
        matches!(&events[1], RetryEvent::AttemptFailed { attempt: 1, error: ExchangeError::Remote { error: Some(e) } } if e == "No authenticator loaded"),
        "{events:#?}"
    );
    // Late messages for attempt 1 are ignored; attempt 2 goes through.
    client.handle_message(t0, 1, &session(1), Message::Completed(Default::default()));
    assert_eq!(client.verdict(), None);
    pump(t0, &mut client, &mut master.authenticator, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
}

#[test]
fn a_client_that_cannot_start_waits_out_its_timeout_instead_of_spinning() {
    // A NUL byte in the service name: the SASL client cannot be created.
    let options = ClientOptions { service: "mes\0os".into(), ..ClientOptions::default() };
    let mut client = AuthenticationRetry::new(
        Credential::new("benh", "secret"),
        PID,
        options,
        Backoff::default(),
        StdRng::seed_from_u64(19),
    );
    let t0 = Instant::now();
    client.start(t0);
    assert_eq!(client.attempt(), 1);
    assert_eq!(client.poll_transmit(), None);
    let events = events(&mut client);
    assert!(
        matches!(
            events[..],
            [RetryEvent::AttemptStarted { .. }, RetryEvent::AttemptFailed { error: ExchangeError::Sasl(_), .. }]
        ),
        "{events:#?}"
    );
    let next = client.poll_timeout().expect("the next attempt is scheduled");
    assert!(next >= t0 + secs(5));
    client.handle_timeout(next);
    assert_eq!(client.attempt(), 2);
}

#[test]
fn session_timeout_discards_the_session_without_telling_the_peer() {
    let mut master = master_with_timeout(&[("benh", "secret")], secs(15));
    let t0 = Instant::now();
    master.authenticator.handle_message(t0, 1, &authenticatee(1), AuthenticateMessage { pid: PID.into() }.into());
    master.authenticator.poll_transmit().unwrap();
    assert_eq!(master.authenticator.poll_timeout(), Some(t0 + secs(15)));
    master.authenticator.handle_timeout(t0 + secs(14));
    assert_eq!(master.authenticator.pending(), 1);
    master.authenticator.handle_timeout(t0 + secs(15));
    assert_eq!(master.authenticator.pending(), 0);
    assert_eq!(master.authenticator.poll_transmit(), None);
    assert_eq!(master.authenticator.poll_timeout(), None);
    assert!(matches!(
        outcomes(&master)[..],
        [SessionOutcome { outcome: Outcome::Failed(ExchangeError::Discarded(DiscardReason::TimedOut)), .. }]
    ));
}

#[test]
fn a_peer_that_goes_away_fails_its_session() {
    let mut master = master(&[("benh", "secret")]);
    let t0 = Instant::now();
    master.authenticator.handle_message(t0, 1, &authenticatee(1), AuthenticateMessage { pid: PID.into() }.into());
    master.authenticator.handle_message(
        t0,
        2,
        &authenticatee(2),
        AuthenticateMessage { pid: "agent@127.0.0.1:5051".into() }.into(),
    );
    master.authenticator.handle_peer_exited(&1);
    assert_eq!(master.authenticator.pending(), 1, "only peer 1's session ends");
    assert!(matches!(
        outcomes(&master)[..],
        [SessionOutcome { peer: 1, outcome: Outcome::Failed(ExchangeError::PeerExited), .. }]
    ));
}

#[test]
fn a_mechanism_the_master_does_not_offer_is_an_error_sent_to_the_peer_with_a_fixed_text() {
    let mut master = master(&[("benh", "secret")]);
    let t0 = Instant::now();
    master.authenticator.handle_message(t0, 1, &authenticatee(1), AuthenticateMessage { pid: PID.into() }.into());
    master.authenticator.poll_transmit().unwrap();
    let start = cyrus_sasl_mesos::AuthenticationStartMessage { mechanism: "PLAIN".into(), data: Some(vec![]) };
    master.authenticator.handle_message(t0, 1, &authenticatee(1), start.into());
    let (_, reply) = master.authenticator.poll_transmit().unwrap();
    let Message::Error(AuthenticationErrorMessage { error: Some(text) }) = reply else { panic!("{reply:?}") };
    // Not the master's mech_list (nor anything else about its setup): that
    // stays in the master's log and in the outcome.
    assert_eq!(text, PEER_TEXT_UNSUPPORTED_MECHANISM);
    let outcomes = outcomes(&master);
    let [SessionOutcome { outcome: Outcome::Failed(ExchangeError::Sasl(e)), .. }] = &outcomes[..] else {
        panic!("{outcomes:?}")
    };
    assert!(e.to_string().contains("CRAM-MD5"), "{e}");
}

#[test]
fn without_a_realm_secrets_are_looked_up_under_the_fqdn_and_the_principal_is_bare() {
    // No user realm, as Mesos's own authenticator runs: libsasl2 looks `benh` up
    // as `benh@<fqdn lower-cased>`, and reports the identity as plain `benh`.
    let files = sasldb(&[]);
    common::saslpasswd2(&files.path, "master.example", "benh", "secret");
    let db = Sasldb::new(&files.path, "master.example").unwrap();
    let in_memory = Credentials::memory(&[("benh", "secret")]);
    for credentials in [Credentials::Sasldb { db, _files: files }, in_memory] {
        let options = ServerOptions { fqdn: "Master.Example".into(), realm: None, ..ServerOptions::default() };
        let (authenticator, outcomes) = Authenticator::new(&credentials.config(), options);
        let mut master = Master { authenticator, outcomes, credentials };
        let (client, _) = single_attempt(Credential::new("benh", "secret"), &mut master);
        assert_eq!(client.state(), AuthenticateeState::Authenticated);
        assert_eq!(master.authenticator.authenticated(PID).as_deref(), Some("benh"));
    }
}

#[test]
fn the_state_machines_can_move_to_another_thread() {
    fn sent<T: Send>() {}
    sent::<Authenticator<Peer>>();
    sent::<Outcomes<Peer>>();
    sent::<Authenticatee>();
    sent::<AuthenticationRetry<StdRng>>();
    sent::<Message>();
}

/// Issue 13: a stale session's end must never erase a newer success. Two
/// authenticators (say, two master threads) share one registry. A session for
/// PID stalls on the first; the same PID then authenticates on the second; the
/// stale session times out afterwards. The registry keeps the newer success.
/// (The old drivers' shared map removed the PID at the stale timeout.)
#[test]
fn a_stale_session_ending_after_a_newer_success_never_erases_it() {
    let credentials = Credentials::memory(&[("benh", "secret")]);
    let registry = Registry::default();
    let options = || ServerOptions { realm: Some(REALM.into()), session_timeout: secs(5), ..ServerOptions::default() };
    let (mut stale, stale_outcomes) =
        Authenticator::<Peer>::with_registry(&credentials.config(), options(), registry.clone());
    let (mut fresh, _fresh_outcomes) =
        Authenticator::<Peer>::with_registry(&credentials.config(), options(), registry.clone());
    let t0 = Instant::now();
    stale.handle_message(t0, 1, &authenticatee(1), AuthenticateMessage { pid: PID.into() }.into());
    assert!(matches!(stale.poll_transmit(), Some((1, Message::Mechanisms(_)))));

    let mut client = retry(Credential::new("benh", "secret"), 7);
    client.start(t0);
    pump(t0, &mut client, &mut fresh, keep_all);
    assert_eq!(client.verdict(), Some(Verdict::Authenticated));
    assert_eq!(registry.authenticated(PID).as_deref(), Some("benh"));

    stale.handle_timeout(t0 + secs(5));
    assert!(matches!(
        stale_outcomes.try_next(),
        Some(SessionOutcome { outcome: Outcome::Failed(ExchangeError::Discarded(DiscardReason::TimedOut)), .. })
    ));
    assert_eq!(registry.authenticated(PID).as_deref(), Some("benh"), "the stale timeout erased the newer success");
    assert_eq!(stale.authenticated(PID).as_deref(), Some("benh"));
}

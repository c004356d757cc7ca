//! The blocking Mesos transport on loopback: real sockets, real libsasl2, an
//! in-memory credential store. Bad peers are driven by hand with raw frames.

mod mesos_drivers_support;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use cyrus_sasl::mesos::blocking::{Master, MasterHandle, MasterLink, authenticate};
use cyrus_sasl::mesos::driver::{
    AttemptError, AuthenticateOptions, AuthenticationRecord, Direction, MasterEvent, MasterOptions, Observer,
};
use cyrus_sasl::mesos::framing::FrameError;
use cyrus_sasl::mesos::{
    AuthenticateeError, AuthenticationStartMessage, Credential, DiscardReason, Message, MessageType, SessionError,
    Verdict,
};
use mesos_drivers_support::*;

fn start_master(options: MasterOptions) -> MasterHandle {
    let store = store();
    Master::bind("127.0.0.1:0", &config(&store), options).unwrap().spawn().unwrap()
}

/// The next event, or a panic after 10 s.
fn event(master: &MasterHandle) -> MasterEvent {
    master.next_event(Duration::from_secs(10)).expect("an event within 10 s")
}

fn record(master: &MasterHandle) -> AuthenticationRecord {
    match event(master) {
        MasterEvent::Authentication(record) => record,
        other => panic!("expected an authentication record, got {other:?}"),
    }
}

fn connection_error(master: &MasterHandle) -> FrameError {
    match event(master) {
        MasterEvent::ConnectionFailed { error, .. } => error,
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

#[test]
fn a_framework_and_an_agent_authenticate_and_the_master_records_principal_and_mechanism() {
    let master = start_master(MasterOptions::default());
    for (principal, secret) in [USERS[0], USERS[1]] {
        let pid = format!("{principal}@127.0.0.1:1");
        let options = AuthenticateOptions { pid: Some(pid.clone()), ..AuthenticateOptions::default() };
        let verdict = authenticate(master.local_addr(), Credential::new(principal, secret), &options).unwrap();
        assert_eq!(verdict, Verdict::Authenticated);
        let record = record(&master);
        assert_eq!(record.pid, pid);
        assert_eq!(record.mechanism.as_deref(), Some("CRAM-MD5"));
        assert_eq!(record.result.unwrap().as_deref(), Some(principal));
        assert_eq!(master.authenticated(&pid).as_deref(), Some(principal));
    }
}

#[test]
fn a_wrong_secret_and_an_unknown_principal_are_refused_alike_and_not_retried() {
    let master = start_master(MasterOptions::default());
    for credential in [Credential::new("framework-a", "wrong"), Credential::new("nobody", "whatever")] {
        let options = AuthenticateOptions { pid: Some("rogue@127.0.0.1:2".into()), ..AuthenticateOptions::default() };
        assert_eq!(authenticate(master.local_addr(), credential, &options).unwrap(), Verdict::Refused);
        let record = record(&master);
        assert!(matches!(record.result, Ok(None)), "{record:?}");
        assert_eq!(master.authenticated("rogue@127.0.0.1:2"), None);
    }
    // One session per refusal: nothing was retried.
    assert!(master.next_event(Duration::from_millis(200)).is_none());
}

#[test]
fn a_hundred_concurrent_clients_all_get_the_right_verdict() {
    let master = start_master(MasterOptions::default());
    let addr = master.local_addr();
    let clients: Vec<_> = (0..100)
        .map(|i| {
            thread::spawn(move || {
                let (principal, secret) = USERS[i % USERS.len()];
                let rogue = i % 5 == 0;
                let secret = if rogue { "not-the-secret" } else { secret };
                let options =
                    AuthenticateOptions { pid: Some(format!("client-{i}")), ..AuthenticateOptions::default() };
                let verdict = authenticate(addr, Credential::new(principal, secret), &options);
                (i, rogue, verdict)
            })
        })
        .collect();
    for client in clients {
        let (i, rogue, verdict) = client.join().unwrap();
        let expected = if rogue { Verdict::Refused } else { Verdict::Authenticated };
        assert_eq!(verdict.unwrap(), expected, "client {i}");
    }
    let mut accepted = 0;
    let mut refused = 0;
    for _ in 0..100 {
        match record(&master).result {
            Ok(Some(_)) => accepted += 1,
            Ok(None) => refused += 1,
            Err(e) => panic!("no verdict: {e}"),
        }
    }
    assert_eq!((accepted, refused), (80, 20));
    assert_eq!(master.authenticated("client-1").as_deref(), Some(USERS[1].0));
    assert_eq!(master.authenticated("client-5"), None);
}

#[test]
fn the_observer_sees_every_frame_with_its_size_in_order() {
    let master = start_master(MasterOptions::default());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let observer = Observer::new(move |e| log.lock().unwrap().push((e.direction, e.message_type(), e.frame_len)));
    let options = AuthenticateOptions { observer: Some(observer), ..AuthenticateOptions::default() };
    let (principal, secret) = USERS[0];
    assert_eq!(
        authenticate(master.local_addr(), Credential::new(principal, secret), &options).unwrap(),
        Verdict::Authenticated
    );
    let seen = seen.lock().unwrap();
    let types: Vec<_> = seen.iter().map(|(d, t, _)| (*d, *t)).collect();
    use Direction::*;
    use MessageType::*;
    assert_eq!(
        types,
        [
            (Sent, Authenticate),
            (Received, Mechanisms),
            (Sent, Start),
            (Received, Step),
            (Sent, Step),
            (Received, Completed)
        ]
    );
    // CRAM-MD5: a 16-byte "Start" (prefix, tag, "CRAM-MD5" and an empty data
    // field), and a Completed frame of prefix and tag only.
    assert_eq!(seen[2].2, 4 + 1 + 10 + 2);
    assert_eq!(seen[5].2, 5);
}

#[test]
fn a_silent_peer_is_closed_at_the_idle_timeout_with_a_typed_error() {
    let master = start_master(master_options(Duration::from_millis(200)));
    let started = Instant::now();
    let mut peer = RawPeer::connect(master.local_addr());
    assert!(matches!(connection_error(&master), FrameError::TimedOut));
    assert!(peer.closed_by_peer());
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
}

#[test]
fn a_session_that_stalls_after_its_start_is_discarded_at_the_session_timeout() {
    let master = start_master(master_options(Duration::from_millis(300)));
    let mut peer = RawPeer::connect(master.local_addr());
    peer.authenticate("staller@127.0.0.1:3");
    assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
    let record = record(&master);
    assert!(matches!(record.result, Err(SessionError::Discarded(DiscardReason::TimedOut))), "{record:?}");
    // Nothing is sent for a timeout (the peer has its own); the master hangs up.
    assert!(matches!(peer.receive(), Err(FrameError::Closed)));
}

#[test]
fn a_peer_that_disconnects_mid_handshake_fails_its_session_as_peer_exited() {
    let master = start_master(MasterOptions::default());
    let mut peer = RawPeer::connect(master.local_addr());
    peer.authenticate("quitter@127.0.0.1:4");
    assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
    peer.send(&Message::Start(AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![]) }));
    assert!(matches!(peer.receive().unwrap(), Message::Step(_)));
    drop(peer);
    let record = record(&master);
    assert_eq!(record.mechanism.as_deref(), Some("CRAM-MD5"));
    assert!(matches!(record.result, Err(SessionError::PeerExited)), "{record:?}");
}

#[test]
fn a_peer_that_leaves_inside_a_frame_fails_its_session_and_the_connection_as_truncated() {
    let master = start_master(MasterOptions::default());
    let mut peer = RawPeer::connect(master.local_addr());
    peer.authenticate("cutter@127.0.0.1:5");
    assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
    peer.send_raw(&raw_frame(100, b"\x03\x0a"));
    drop(peer);
    assert!(matches!(record(&master).result, Err(SessionError::PeerExited)));
    assert!(matches!(connection_error(&master), FrameError::Truncated { expected: 104, received: 6 }));
}

#[test]
fn an_oversize_frame_is_refused_from_its_prefix_with_an_error_message_and_a_typed_event() {
    let options =
        MasterOptions { frame_limits: cyrus_sasl::mesos::framing::FrameLimits::new(1024), ..MasterOptions::default() };
    let master = start_master(options);
    let mut peer = RawPeer::connect(master.local_addr());
    // Announce 1 MiB and send none of it: the master must not wait for it.
    peer.send_raw(&raw_frame(1 << 20, b""));
    match peer.receive().unwrap() {
        Message::Error(e) => assert!(e.error.unwrap().contains("exceeds the limit of 1024"), "wrong text"),
        other => panic!("{other:?}"),
    }
    assert!(peer.closed_by_peer());
    assert!(matches!(connection_error(&master), FrameError::TooLarge { len: 1048576, max: 1024 }));
}

#[test]
fn zero_length_unknown_tag_and_bad_protobuf_frames_each_give_their_typed_event() {
    let master = start_master(MasterOptions::default());
    let cases: [(&[u8], ErrorCheck); 3] = [
        (&[0, 0, 0, 0], |e| matches!(e, FrameError::ZeroLength)),
        (&[0, 0, 0, 1, 42], |e| matches!(e, FrameError::UnknownTag(42))),
        (&[0, 0, 0, 3, 1, 0x0a, 0x10], |e| matches!(e, FrameError::Decode(_))),
    ];
    for (bytes, expected) in cases {
        let mut peer = RawPeer::connect(master.local_addr());
        peer.send_raw(bytes);
        assert!(matches!(peer.receive().unwrap(), Message::Error(_)), "{bytes:?}");
        let error = connection_error(&master);
        assert!(expected(&error), "{bytes:?}: {error:?}");
    }
}

#[test]
fn a_master_that_never_answers_makes_the_client_give_up_with_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    // Accept and hold connections without ever answering.
    let holder = thread::spawn(move || (0..2).map(|_| listener.accept().unwrap().0).collect::<Vec<_>>());
    let started = Instant::now();
    let err =
        authenticate(addr, Credential::new("framework-a", "fw-secret"), &quick_client(Duration::from_millis(100), 2))
            .unwrap_err();
    assert_eq!(err.attempts, 2);
    assert!(matches!(err.last, AttemptError::Frame(FrameError::TimedOut)), "{err}");
    // Two attempts of at most 200 ms each.
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    drop(holder.join().unwrap());
}

#[test]
fn a_master_that_hangs_up_mid_handshake_gives_the_client_a_typed_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hangups = thread::spawn(move || {
        for _ in 0..3 {
            let mut peer = RawPeer { stream: listener.accept().unwrap().0 };
            assert!(matches!(peer.receive().unwrap(), Message::Authenticate(_)));
            drop(peer);
        }
    });
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &quick_client(Duration::from_secs(5), 3))
        .unwrap_err();
    assert_eq!(err.attempts, 3);
    assert!(matches!(err.last, AttemptError::Frame(FrameError::Closed)), "{err}");
    hangups.join().unwrap();
}

#[test]
fn an_oversize_frame_from_the_master_is_a_typed_client_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let liar = thread::spawn(move || {
        let mut peer = RawPeer { stream: listener.accept().unwrap().0 };
        assert!(matches!(peer.receive().unwrap(), Message::Authenticate(_)));
        peer.send_raw(&raw_frame(u32::MAX, b""));
        peer
    });
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &quick_client(Duration::from_secs(5), 1))
        .unwrap_err();
    assert!(matches!(err.last, AttemptError::Frame(FrameError::TooLarge { .. })), "{err}");
    drop(liar.join().unwrap());
}

#[test]
fn an_error_message_from_the_master_is_retried_and_reported() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let grumpy = thread::spawn(move || {
        for _ in 0..2 {
            let mut peer = RawPeer { stream: listener.accept().unwrap().0 };
            assert!(matches!(peer.receive().unwrap(), Message::Authenticate(_)));
            peer.send(&Message::Error(cyrus_sasl::mesos::AuthenticationErrorMessage { error: Some("busy".into()) }));
            drop(peer);
        }
    });
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &quick_client(Duration::from_secs(5), 2))
        .unwrap_err();
    assert_eq!(err.attempts, 2);
    match err.last {
        AttemptError::Authentication(AuthenticateeError::Remote { error }) => {
            assert_eq!(error.as_deref(), Some("busy"))
        }
        other => panic!("{other:?}"),
    }
    grumpy.join().unwrap();
}

#[test]
fn an_unreachable_master_gives_a_connect_error_after_waiting_out_each_attempt() {
    let addr: SocketAddr = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let started = Instant::now();
    let err =
        authenticate(addr, Credential::new("framework-a", "fw-secret"), &quick_client(Duration::from_millis(100), 2))
            .unwrap_err();
    assert_eq!(err.attempts, 2);
    assert!(matches!(err.last, AttemptError::Connect(_)), "{err}");
    // Each attempt waits at least its minimum timeout: no spinning.
    assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
}

#[test]
fn a_client_whose_first_connection_is_dropped_retries_and_succeeds() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let client = thread::spawn(move || {
        let options = AuthenticateOptions { pid: Some("retrier".into()), ..quick_client(Duration::from_secs(5), 3) };
        authenticate(addr, Credential::new("agent-2", "a2"), &options)
    });
    // Attempt 1 is accepted and dropped unanswered; the master then takes over
    // the listener, and attempt 2 (already in the backlog, or soon) gets through.
    drop(listener.accept().unwrap());
    let store = store();
    let master = Master::from_listener(listener, &config(&store), MasterOptions::default()).spawn().unwrap();
    assert_eq!(client.join().unwrap().unwrap(), Verdict::Authenticated);
    assert_eq!(master.authenticated("retrier").as_deref(), Some("agent-2"));
}

#[test]
fn connections_over_the_limit_are_closed_at_once() {
    let master = start_master(MasterOptions { max_connections: 1, ..master_options(Duration::from_secs(10)) });
    let _first = RawPeer::connect(master.local_addr());
    // Wait until the first is being served.
    let started = Instant::now();
    while master.active_connections() < 1 {
        assert!(started.elapsed() < Duration::from_secs(5));
        thread::sleep(Duration::from_millis(5));
    }
    let mut second = RawPeer::connect(master.local_addr());
    assert!(second.closed_by_peer());
    assert_eq!(master.active_connections(), 1);
}

#[test]
fn shutdown_closes_connections_in_progress_and_returns_promptly() {
    let master = start_master(master_options(Duration::from_secs(30)));
    let mut peer = RawPeer::connect(master.local_addr());
    peer.authenticate("pending@127.0.0.1:6");
    assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
    let started = Instant::now();
    master.shutdown();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(peer.closed_by_peer());
}

#[test]
fn a_link_carries_several_authentications_on_one_connection() {
    let master = start_master(MasterOptions::default());
    let mut link = MasterLink::new(master.local_addr());
    let options = AuthenticateOptions { max_attempts: 1, ..AuthenticateOptions::default() };
    let verdicts: Vec<_> = [USERS[0], USERS[1], ("agent-1", "wrong")]
        .into_iter()
        .map(|(p, s)| link.authenticate(Credential::new(p, s), &options).unwrap())
        .collect();
    assert_eq!(verdicts, [Verdict::Authenticated, Verdict::Authenticated, Verdict::Refused]);
    let peers: Vec<_> = (0..3).map(|_| record(&master).peer).collect();
    assert!(peers.iter().all(|p| *p == peers[0]), "one connection: {peers:?}");
    assert!(link.is_connected());
    assert_eq!(master.active_connections(), 1);
    link.disconnect();
    // A clean close is no event.
    assert!(master.next_event(Duration::from_millis(200)).is_none());
}

#[test]
fn a_link_the_master_closed_while_idle_reconnects_without_spending_an_attempt() {
    let master = start_master(master_options(Duration::from_millis(100)));
    let mut link = MasterLink::new(master.local_addr());
    let options = AuthenticateOptions { max_attempts: 1, ..AuthenticateOptions::default() };
    let (principal, secret) = USERS[0];
    assert_eq!(link.authenticate(Credential::new(principal, secret), &options).unwrap(), Verdict::Authenticated);
    let first = record(&master).peer;
    thread::sleep(Duration::from_millis(400));
    assert_eq!(master.active_connections(), 0, "the master closes an idle link");
    assert_eq!(link.authenticate(Credential::new(principal, secret), &options).unwrap(), Verdict::Authenticated);
    assert_ne!(record(&master).peer, first);
}

#[test]
fn a_second_authenticate_on_one_connection_supersedes_the_first_and_keeps_the_connection() {
    let master = start_master(MasterOptions::default());
    let mut peer = RawPeer::connect(master.local_addr());
    peer.authenticate("first");
    assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
    peer.authenticate("second");
    assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
    let record = record(&master);
    assert_eq!(record.pid, "first");
    assert!(matches!(record.result, Err(SessionError::Discarded(DiscardReason::Superseded))), "{record:?}");
    peer.stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    assert!(matches!(peer.receive(), Err(FrameError::TimedOut)), "the connection stays open");
    assert_eq!(master.active_connections(), 1);
}

/// Issue 13: a stale session's end must never erase a newer success. Session A
/// for a PID stalls on one connection; the same PID then authenticates on
/// another; A times out afterwards. The master's registry must still hold the
/// newer success (the old shared map removed the PID at A's timeout).
#[test]
fn a_stale_session_timing_out_never_erases_a_newer_success_of_the_same_pid() {
    let master = start_master(master_options(Duration::from_millis(600)));
    let pid = "scheduler-twice@127.0.0.1:9";
    let mut stale = RawPeer::connect(master.local_addr());
    stale.authenticate(pid);
    assert!(matches!(stale.receive().unwrap(), Message::Mechanisms(_)));

    let (principal, secret) = USERS[0];
    let options = AuthenticateOptions { pid: Some(pid.to_owned()), ..AuthenticateOptions::default() };
    let verdict = authenticate(master.local_addr(), Credential::new(principal, secret), &options).unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    assert_eq!(record(&master).result.unwrap().as_deref(), Some(principal));
    assert_eq!(master.authenticated(pid).as_deref(), Some(principal));

    let stale_end = record(&master);
    assert!(matches!(stale_end.result, Err(SessionError::Discarded(DiscardReason::TimedOut))), "{stale_end:?}");
    assert_eq!(master.authenticated(pid).as_deref(), Some(principal), "the stale timeout erased the newer success");
}

//! The tokio Mesos transport on loopback: the same cases as the blocking one,
//! plus both transports talking to each other.
#![cfg(feature = "tokio")]

mod mesos_drivers_support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use cyrus_sasl::mesos::driver::{AttemptError, AuthenticateOptions, AuthenticationRecord, MasterEvent, MasterOptions};
use cyrus_sasl::mesos::framing::{FrameError, FrameLimits};
use cyrus_sasl::mesos::tokio::{Master, MasterHandle, MasterLink, authenticate};
use cyrus_sasl::mesos::{
    AuthenticationStartMessage, Credential, DiscardReason, Message, SessionError, Verdict, blocking,
};
use mesos_drivers_support::*;

async fn start_master(options: MasterOptions) -> MasterHandle {
    let store = store();
    Master::bind("127.0.0.1:0", &config(&store), options).await.unwrap().spawn()
}

async fn event(master: &mut MasterHandle) -> MasterEvent {
    tokio::time::timeout(Duration::from_secs(10), master.next_event())
        .await
        .expect("an event within 10 s")
        .expect("the master is running")
}

async fn record(master: &mut MasterHandle) -> AuthenticationRecord {
    match event(master).await {
        MasterEvent::Authentication(record) => record,
        other => panic!("expected an authentication record, got {other:?}"),
    }
}

async fn connection_error(master: &mut MasterHandle) -> FrameError {
    match event(master).await {
        MasterEvent::ConnectionFailed { error, .. } => error,
        other => panic!("expected a connection failure, got {other:?}"),
    }
}

/// Starts a blocking raw peer off the runtime's threads at once; await the
/// result for its answer.
fn raw<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> impl std::future::Future<Output = T> {
    let task = tokio::task::spawn_blocking(f);
    async move { task.await.unwrap() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_clients_all_get_the_right_verdict() {
    let mut master = start_master(MasterOptions::default()).await;
    let addr = master.local_addr();
    let clients: Vec<_> = (0..100)
        .map(|i| {
            tokio::spawn(async move {
                let (principal, secret) = USERS[i % USERS.len()];
                let rogue = i % 5 == 0;
                let secret = if rogue { "not-the-secret" } else { secret };
                let options =
                    AuthenticateOptions { pid: Some(format!("client-{i}")), ..AuthenticateOptions::default() };
                (i, rogue, authenticate(addr, Credential::new(principal, secret), &options).await)
            })
        })
        .collect();
    for client in clients {
        let (i, rogue, verdict) = client.await.unwrap();
        let expected = if rogue { Verdict::Refused } else { Verdict::Authenticated };
        assert_eq!(verdict.unwrap(), expected, "client {i}");
    }
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..100 {
        let record = record(&mut master).await;
        match record.result {
            Ok(Some(_)) => accepted += 1,
            Ok(None) => refused += 1,
            Err(e) => panic!("no verdict: {e}"),
        }
        assert_eq!(record.mechanism.as_deref(), Some("CRAM-MD5"));
    }
    assert_eq!((accepted, refused), (80, 20));
    assert_eq!(master.authenticated("client-2").as_deref(), Some(USERS[2].0));
    assert_eq!(master.authenticated("client-10"), None);
    master.shutdown().await;
}

#[tokio::test]
async fn a_silent_peer_is_closed_at_the_idle_timeout_with_a_typed_error() {
    let mut master = start_master(master_options(Duration::from_millis(200))).await;
    let addr = master.local_addr();
    let peer = raw(move || {
        let mut peer = RawPeer::connect(addr);
        peer.closed_by_peer()
    });
    assert!(matches!(connection_error(&mut master).await, FrameError::TimedOut));
    assert!(peer.await);
}

#[tokio::test]
async fn a_session_that_stalls_is_discarded_at_the_session_timeout() {
    let mut master = start_master(master_options(Duration::from_millis(300))).await;
    let addr = master.local_addr();
    let peer = tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(addr);
        peer.authenticate("staller");
        assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
        peer.receive()
    });
    let record = record(&mut master).await;
    assert!(matches!(record.result, Err(SessionError::Discarded(DiscardReason::TimedOut))), "{record:?}");
    assert!(matches!(peer.await.unwrap(), Err(FrameError::Closed)));
}

#[tokio::test]
async fn a_peer_that_disconnects_mid_handshake_fails_its_session_as_peer_exited() {
    let mut master = start_master(MasterOptions::default()).await;
    let addr = master.local_addr();
    raw(move || {
        let mut peer = RawPeer::connect(addr);
        peer.authenticate("quitter");
        assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
        peer.send(&Message::Start(AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![]) }));
        assert!(matches!(peer.receive().unwrap(), Message::Step(_)));
    })
    .await;
    let record = record(&mut master).await;
    assert!(matches!(record.result, Err(SessionError::PeerExited)), "{record:?}");
}

#[tokio::test]
async fn an_oversize_frame_is_refused_from_its_prefix_with_an_error_message_and_a_typed_event() {
    let options = MasterOptions { frame_limits: FrameLimits::new(1024), ..MasterOptions::default() };
    let mut master = start_master(options).await;
    let addr = master.local_addr();
    let reply = raw(move || {
        let mut peer = RawPeer::connect(addr);
        peer.send_raw(&raw_frame(1 << 20, b""));
        let reply = peer.receive();
        (reply, peer.closed_by_peer())
    });
    assert!(matches!(connection_error(&mut master).await, FrameError::TooLarge { len: 1048576, max: 1024 }));
    let (reply, closed) = reply.await;
    assert!(matches!(reply, Ok(Message::Error(_))), "{reply:?}");
    assert!(closed);
}

#[tokio::test]
async fn bad_frames_each_give_their_typed_event() {
    let mut master = start_master(MasterOptions::default()).await;
    let addr = master.local_addr();
    let cases: [(&'static [u8], ErrorCheck); 3] = [
        (&[0, 0, 0, 0], |e| matches!(e, FrameError::ZeroLength)),
        (&[0, 0, 0, 1, 42], |e| matches!(e, FrameError::UnknownTag(42))),
        (&[0, 0, 0, 3, 1, 0x0a, 0x10], |e| matches!(e, FrameError::Decode(_))),
    ];
    for (bytes, expected) in cases {
        let reply = raw(move || {
            let mut peer = RawPeer::connect(addr);
            peer.send_raw(bytes);
            peer.receive()
        })
        .await;
        assert!(matches!(reply, Ok(Message::Error(_))), "{bytes:?}: {reply:?}");
        let error = connection_error(&mut master).await;
        assert!(expected(&error), "{bytes:?}: {error:?}");
    }
}

#[tokio::test]
async fn a_master_that_never_answers_makes_the_client_give_up_with_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = std::thread::spawn(move || (0..2).map(|_| listener.accept().unwrap().0).collect::<Vec<_>>());
    let started = Instant::now();
    let options = quick_client(Duration::from_millis(100), 2);
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &options).await.unwrap_err();
    assert_eq!(err.attempts, 2);
    assert!(matches!(err.last, AttemptError::Frame(FrameError::TimedOut)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    drop(holder.join().unwrap());
}

#[tokio::test]
async fn a_master_that_hangs_up_mid_handshake_gives_the_client_a_typed_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hangups = std::thread::spawn(move || {
        for _ in 0..2 {
            let mut peer = RawPeer { stream: listener.accept().unwrap().0 };
            assert!(matches!(peer.receive().unwrap(), Message::Authenticate(_)));
        }
    });
    let options = quick_client(Duration::from_secs(5), 2);
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &options).await.unwrap_err();
    assert!(matches!(err.last, AttemptError::Frame(FrameError::Closed)), "{err}");
    hangups.join().unwrap();
}

#[tokio::test]
async fn an_oversize_frame_from_the_master_is_a_typed_client_error() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let liar = std::thread::spawn(move || {
        let mut peer = RawPeer { stream: listener.accept().unwrap().0 };
        assert!(matches!(peer.receive().unwrap(), Message::Authenticate(_)));
        peer.send_raw(&raw_frame(u32::MAX, b""));
        peer
    });
    let options = quick_client(Duration::from_secs(5), 1);
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &options).await.unwrap_err();
    assert!(matches!(err.last, AttemptError::Frame(FrameError::TooLarge { .. })), "{err}");
    drop(liar.join().unwrap());
}

#[tokio::test]
async fn an_unreachable_master_gives_a_connect_error_after_waiting_out_each_attempt() {
    let addr = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let started = Instant::now();
    let options = quick_client(Duration::from_millis(100), 2);
    let err = authenticate(addr, Credential::new("framework-a", "fw-secret"), &options).await.unwrap_err();
    assert!(matches!(err.last, AttemptError::Connect(_)), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(200), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_two_transports_speak_the_same_wire_format() {
    // A blocking client against the tokio master...
    let mut master = start_master(MasterOptions::default()).await;
    let addr = master.local_addr();
    let verdicts = raw(move || {
        let options = AuthenticateOptions::default();
        [("agent-1", "agent-secret"), ("agent-1", "nope")]
            .map(|(p, s)| blocking::authenticate(addr, Credential::new(p, s), &options).unwrap())
    })
    .await;
    assert_eq!(verdicts, [Verdict::Authenticated, Verdict::Refused]);
    assert!(matches!(record(&mut master).await.result, Ok(Some(ref p)) if p == "agent-1"));
    assert!(matches!(record(&mut master).await.result, Ok(None)));
    master.shutdown().await;

    // ...and a tokio client against the blocking master.
    let store = store();
    let blocking_master =
        blocking::Master::bind("127.0.0.1:0", &config(&store), MasterOptions::default()).unwrap().spawn().unwrap();
    let options = AuthenticateOptions::default();
    let verdict = authenticate(blocking_master.local_addr(), Credential::new("framework-a", "fw-secret"), &options)
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    raw(move || blocking_master.shutdown()).await;
}

#[tokio::test]
async fn shutdown_closes_connections_in_progress_and_returns_promptly() {
    let master = start_master(master_options(Duration::from_secs(30))).await;
    let addr = master.local_addr();
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let peer = tokio::task::spawn_blocking(move || {
        let mut peer = RawPeer::connect(addr);
        peer.authenticate("pending");
        assert!(matches!(peer.receive().unwrap(), Message::Mechanisms(_)));
        ready_tx.send(()).unwrap();
        peer.closed_by_peer()
    });
    ready_rx.await.unwrap();
    let started = Instant::now();
    master.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert!(peer.await.unwrap());
}

#[tokio::test]
async fn a_link_carries_several_authentications_on_one_connection() {
    let mut master = start_master(MasterOptions::default()).await;
    let mut link = MasterLink::new(master.local_addr());
    let options = AuthenticateOptions { max_attempts: 1, ..AuthenticateOptions::default() };
    let mut verdicts = Vec::new();
    for (p, s) in [USERS[0], USERS[1], ("agent-1", "wrong")] {
        verdicts.push(link.authenticate(Credential::new(p, s), &options).await.unwrap());
    }
    assert_eq!(verdicts, [Verdict::Authenticated, Verdict::Authenticated, Verdict::Refused]);
    let mut peers = Vec::new();
    for _ in 0..3 {
        peers.push(record(&mut master).await.peer);
    }
    assert!(peers.iter().all(|p| *p == peers[0]), "one connection: {peers:?}");
    assert!(link.is_connected());
    assert_eq!(master.active_connections(), 1);
}

#[tokio::test]
async fn a_link_the_master_closed_while_idle_reconnects_without_spending_an_attempt() {
    let mut master = start_master(master_options(Duration::from_millis(100))).await;
    let mut link = MasterLink::new(master.local_addr());
    let options = AuthenticateOptions { max_attempts: 1, ..AuthenticateOptions::default() };
    let (principal, secret) = USERS[0];
    assert_eq!(link.authenticate(Credential::new(principal, secret), &options).await.unwrap(), Verdict::Authenticated);
    let first = record(&mut master).await.peer;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(master.active_connections(), 0, "the master closes an idle link");
    assert_eq!(link.authenticate(Credential::new(principal, secret), &options).await.unwrap(), Verdict::Authenticated);
    assert_ne!(record(&mut master).await.peer, first);
}

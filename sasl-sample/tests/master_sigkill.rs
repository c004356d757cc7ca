//! Fault: `sasl-sample mesos-master` killed with SIGKILL in the middle of
//! authentications and restarted on the same port (issue 22). Every
//! framework, driven by the library's retrying `authenticate` with a short
//! backoff, authenticates and registers again with the restarted master
//! within its backoff bound; the restarted master's records show each
//! framework authenticated and registered, no registration of a principal
//! it had not authenticated, and no session left behind (none ends in an
//! `error:` line at the session timeout).
//!
//! Two of the frameworks are in the middle of an exchange when the master
//! dies (they hold their challenge unanswered), so the kill always falls
//! mid-authentication; the others authenticate and register in a loop.
//! `sasl-sample mesos-master` prints no session count: the absence of
//! `error:` lines after the 15 s session timeout is what shows that no
//! session was left open.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::{
    AuthenticateOptions, Authenticatee, Backoff, ClientOptions, Credential, DEFAULT_SESSION_TIMEOUT, Message,
    MessageType, Verdict, authenticate,
};
use cyrus_sasl_test_support::attack::{MasterFiles, MasterProcess, honest_principal, honest_secret, register};
use cyrus_sasl_test_support::mesos_peer::free_port;
use libprocess::{Endpoint, EndpointOptions, Upid};

const FRAMEWORKS: usize = 8;
/// Frameworks `0..SLOW` hold an exchange open across the kill.
const SLOW: usize = 2;

/// Attempts time out after 1 to 2 s at first, growing to at most 4 s.
fn backoff() -> Backoff {
    Backoff::new(Duration::from_secs(1), Duration::from_millis(500), Duration::from_secs(4)).unwrap()
}

fn auth_options() -> AuthenticateOptions {
    AuthenticateOptions {
        backoff: backoff(),
        timeout: Duration::from_secs(30),
        reconnect_delay: Duration::from_millis(100),
        ..AuthenticateOptions::default()
    }
}

/// The longest a framework may take from the restarted master's `listening:`
/// line to its registration: the longest attempt timeout (an attempt whose
/// session died with the master waits it out), the longest pause after
/// undeliverable messages (8 x the reconnect delay), and 3 s for the
/// exchange and the registration on a loaded machine.
fn recovery_bound() -> Duration {
    backoff().timeout_max() + auth_options().reconnect_delay * 8 + Duration::from_secs(3)
}

/// Shared between the test and the frameworks.
#[derive(Default)]
struct Clock {
    /// When the old master was dead (killed and reaped).
    killed: Option<Instant>,
}

/// Authenticates and registers `scheduler` in a loop until one whole
/// operation that started after the kill succeeds; returns when it ended
/// and how many `authenticate` calls started after the kill (the library's
/// retries carry one call through the master's absence: it should be 1).
async fn until_registered_after_kill(
    endpoint: &Endpoint,
    scheduler: &mut libprocess::Process,
    master: &Upid,
    index: usize,
    clock: &Mutex<Clock>,
) -> (Instant, u32) {
    let principal = honest_principal(index);
    let mut id = None;
    let give_up = Instant::now() + Duration::from_secs(90);
    let mut calls_after_kill = 0;
    loop {
        assert!(Instant::now() < give_up, "framework {index} never registered after the kill");
        let started = Instant::now();
        if clock.lock().unwrap().killed.is_some() {
            calls_after_kill += 1;
        }
        let credential = Credential::new(principal.clone(), honest_secret(index));
        let verdict = authenticate(endpoint, master, scheduler.upid(), credential, &auth_options()).await;
        let registered = match verdict {
            Ok(Verdict::Authenticated) => {
                match register(scheduler, master, &principal, id.clone(), Duration::from_secs(2)).await {
                    Ok(new_id) => {
                        id = new_id.or(id);
                        true
                    }
                    Err(_) => false,
                }
            }
            Ok(Verdict::Rejected) => panic!("framework {index} was rejected"),
            Err(_) => false,
        };
        let killed = clock.lock().unwrap().killed;
        if registered && killed.is_some_and(|killed| started > killed) {
            return (Instant::now(), calls_after_kill);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Goes as far as the challenge and holds it: the master has a session in
/// progress for this framework. Returns the session's UPID and the response
/// not yet sent.
async fn hold_an_exchange(
    endpoint: &Endpoint,
    scheduler: &Upid,
    master: &Upid,
    index: usize,
) -> (libprocess::Process, Upid, Message) {
    let mut process = endpoint.spawn_process("crammd5-authenticatee").unwrap();
    let credential = Credential::new(honest_principal(index), honest_secret(index));
    let mut client = Authenticatee::new(credential, scheduler.to_string(), &ClientOptions::default());
    client.start();
    let mut session: Option<Upid> = None;
    loop {
        while let Some(message) = client.poll_transmit() {
            if message.message_type() == MessageType::Step {
                return (process, session.expect("a session answered"), message);
            }
            let to = session.as_ref().unwrap_or(master);
            process.send(to, message.message_type().proto_name(), &message.encode()).await.unwrap();
        }
        let envelope = tokio::time::timeout(Duration::from_secs(10), process.recv()).await.unwrap().unwrap();
        let kind = MessageType::from_proto_name(&envelope.name).unwrap();
        session.get_or_insert_with(|| envelope.from.clone());
        client.handle_message(&envelope.from.to_string(), Message::decode(kind.tag(), &envelope.body).unwrap());
    }
}

#[test]
fn a_master_killed_mid_authentication_and_restarted_sees_every_framework_authenticate_and_register_again() {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_sasl-sample"));
    let files = MasterFiles::new(FRAMEWORKS);
    let listen = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut old = MasterProcess::start(&program, &files.config, listen);
    let master = old.upid.clone();
    let clock = Arc::new(Mutex::new(Clock::default()));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();

    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let mut tasks = Vec::new();
    for index in 0..FRAMEWORKS {
        let (master, clock, held_tx) = (master.clone(), clock.clone(), held_tx.clone());
        tasks.push(runtime.spawn(async move {
            let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
            let mut scheduler = endpoint.register("scheduler").unwrap();
            let pid = scheduler.upid().clone();
            if index < SLOW {
                let (process, session, response) = hold_an_exchange(&endpoint, &pid, &master, index).await;
                held_tx.send(index).unwrap();
                while clock.lock().unwrap().killed.is_none() {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                // The session died with the master: the response cannot be delivered.
                let sent = process.send(&session, response.message_type().proto_name(), &response.encode()).await;
                assert!(sent.is_err(), "framework {index}'s response reached a dead session: {sent:?}");
            }
            let done = until_registered_after_kill(&endpoint, &mut scheduler, &master, index, &clock).await;
            (index, pid, done)
        }));
    }
    for _ in 0..SLOW {
        held_rx.recv_timeout(Duration::from_secs(30)).expect("the slow frameworks hold their exchanges");
    }
    // Let the others loop for a while, then kill the master mid-way.
    std::thread::sleep(Duration::from_millis(500));
    let before = old.lines();
    assert!(before.iter().any(|l| l.starts_with("registered: ")), "nothing registered before the kill: {before:?}");
    old.kill();
    clock.lock().unwrap().killed = Some(Instant::now());
    // Down for a second: attempts meet a refused connection.
    std::thread::sleep(Duration::from_secs(1));
    let restarted = MasterProcess::start(&program, &files.config, listen);
    let listening = Instant::now();
    assert_eq!(restarted.upid, master);

    let mut pids = Vec::new();
    for task in tasks {
        let (index, pid, (done, calls)) = runtime.block_on(task).expect("a framework's task");
        assert_eq!(calls, 1, "framework {index} needed {calls} authenticate calls after the kill, not its retries");
        let took = done.saturating_duration_since(listening);
        eprintln!("framework {index}: registered {took:?} after the restarted master listened");
        assert!(
            took <= recovery_bound(),
            "framework {index} registered {took:?} after the restart; the bound is {:?}",
            recovery_bound()
        );
        pids.push((index, pid));
    }

    // No session left behind: any would end in an `error:` line at its timeout.
    std::thread::sleep(DEFAULT_SESSION_TIMEOUT + Duration::from_secs(2));
    let lines = restarted.lines();
    let errors: Vec<_> = lines.iter().filter(|l| l.starts_with("error: ") || l.starts_with("rejected: ")).collect();
    assert!(errors.is_empty(), "the restarted master saw attempts fail: {errors:?}");
    for (index, pid) in &pids {
        let principal = honest_principal(*index);
        let authenticated = format!("authenticated: {principal} pid={pid} ");
        let first_auth = lines.iter().position(|l| l.starts_with(&authenticated));
        let first_registration = lines.iter().position(|l| {
            l.starts_with(&format!("registered: {principal} ")) || l.starts_with(&format!("reregistered: {principal} "))
        });
        let (Some(auth), Some(registration)) = (first_auth, first_registration) else {
            panic!("framework {index} is not both authenticated and registered on the restarted master: {lines:#?}");
        };
        assert!(auth < registration, "framework {index} registered before it authenticated: {lines:#?}");
    }
    // Nothing registered, and nothing asked to, without authenticating.
    assert!(
        !lines.iter().any(|l| l.contains("not authenticated")),
        "a registration came from an unauthenticated UPID: {lines:#?}"
    );
    drop(restarted);
    drop(files);
}

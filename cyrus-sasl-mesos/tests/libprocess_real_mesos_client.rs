//! Our authenticatee over libprocess: against the real Apache Mesos 1.11
//! `CRAMMD5Authenticator` (`../shared/mesos-peer/real-master`), and against
//! hand-driven peers for what the real master never does (a forged session, a
//! stranger, a master that is down).

use cyrus_sasl_test_support::mesos_peer as libprocess_support;

use std::time::{Duration, Instant};

use libprocess::{BlockingEndpoint, Endpoint, EndpointOptions, Upid};

use cyrus_sasl_mesos::{AuthenticateOptions, NoVerdict, authenticate, authenticate_blocking};
use cyrus_sasl_mesos::{
    AuthenticationCompletedMessage, AuthenticationFailedMessage, AuthenticationMechanismsMessage, Credential, Verdict,
};
use libprocess_support::{RealMaster, mesos_peer};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

fn options() -> AuthenticateOptions {
    AuthenticateOptions { timeout: Duration::from_secs(30), ..AuthenticateOptions::default() }
}

async fn against_real_master(master: &mut RealMaster, principal: &str, secret: &str) -> (Verdict, Upid, String) {
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-rust").unwrap();
    let to: Upid = master.upid().parse().unwrap();
    let verdict = authenticate(&endpoint, &to, &pid, Credential::new(principal, secret), &options()).await.unwrap();
    let line = master.next_line(WAIT).expect("real-master printed its verdict");
    (verdict, pid, line)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
async fn the_real_mesos_authenticator_accepts_the_right_secret() {
    let peer = mesos_peer("the_real_mesos_authenticator_accepts_the_right_secret");
    let mut master = RealMaster::start(&peer, "fw s3cret\n");
    let (verdict, pid, line) = against_real_master(&mut master, "fw", "s3cret").await;
    assert_eq!(verdict, Verdict::Authenticated);
    assert_eq!(line.trim_end(), format!("authenticated: fw from {pid}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
async fn the_real_mesos_authenticator_refuses_a_wrong_secret_and_an_unknown_principal() {
    let peer = mesos_peer("the_real_mesos_authenticator_refuses_a_wrong_secret_and_an_unknown_principal");
    let mut master = RealMaster::start(&peer, r#"{"credentials":[{"principal":"fw","secret":"s3cret"}]}"#);
    for (principal, secret) in [("fw", "wrong"), ("stranger", "s3cret")] {
        let (verdict, pid, line) = against_real_master(&mut master, principal, secret).await;
        assert_eq!(verdict, Verdict::Rejected, "{principal}/{secret}");
        assert_eq!(line.trim_end(), format!("refused: {pid}"));
    }
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn the_blocking_wrapper_authenticates_with_the_real_master() {
    let peer = mesos_peer("the_blocking_wrapper_authenticates_with_the_real_master");
    let mut master = RealMaster::start(&peer, "fw s3cret\n");
    let endpoint = BlockingEndpoint::bind(EndpointOptions::default()).unwrap();
    let pid = endpoint.upid("agent-rust").unwrap();
    let to: Upid = master.upid().parse().unwrap();
    let verdict = authenticate_blocking(&endpoint, &to, &pid, Credential::new("fw", "s3cret"), &options()).unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    assert_eq!(master.next_line(WAIT).unwrap().trim_end(), format!("authenticated: fw from {pid}"));
}

/// A hand-driven master: its session answers; another session of the same
/// master and a stranger elsewhere try to slip in a verdict; only the pinned
/// session is heard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_session_that_answered_is_heard() {
    let master_side = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let stranger_side = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let mut master = master_side.register("master").unwrap();
    let mut session = master_side.spawn_process("crammd5-authenticator-session").unwrap();
    let other_session = master_side.spawn_process("crammd5-authenticator-session").unwrap();
    let stranger = stranger_side.spawn_process("rogue").unwrap();

    let framework = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = framework.upid("scheduler-1").unwrap();
    let client = tokio::spawn({
        let (framework, to, pid) = (framework.clone(), master.upid().clone(), pid.clone());
        async move { authenticate(&framework, &to, &pid, Credential::new("fw", "s3cret"), &options()).await }
    });

    let hello = timeout(WAIT, master.recv()).await.unwrap().unwrap();
    assert_eq!(hello.name, "mesos.internal.AuthenticateMessage");
    assert_eq!(hello.from.id(), "crammd5-authenticatee(1)");
    let authenticatee = hello.from;
    // A stranger at another address speaks first: ignored, nothing is pinned to it.
    stranger.send_message(&authenticatee, &AuthenticationCompletedMessage {}).await.unwrap();
    session
        .send_message(&authenticatee, &AuthenticationMechanismsMessage { mechanisms: vec!["CRAM-MD5".into()] })
        .await
        .unwrap();
    let start = timeout(WAIT, session.recv()).await.unwrap().unwrap();
    assert_eq!(start.name, "mesos.internal.AuthenticationStartMessage");
    assert_eq!(start.from, authenticatee);
    // Another session of the same master, and the stranger again: ignored.
    other_session.send_message(&authenticatee, &AuthenticationCompletedMessage {}).await.unwrap();
    stranger.send_message(&authenticatee, &AuthenticationCompletedMessage {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!client.is_finished(), "a verdict from a process that is not the session was taken");
    session.send_message(&authenticatee, &AuthenticationFailedMessage {}).await.unwrap();
    let verdict = timeout(WAIT, client).await.unwrap().unwrap().unwrap();
    assert_eq!(verdict, Verdict::Rejected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_that_is_down_fails_fast_or_at_the_deadline() {
    let framework = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = framework.upid("scheduler-1").unwrap();
    let master: Upid = format!("master@127.0.0.1:{}", libprocess_support::free_port()).parse().unwrap();

    let fast = AuthenticateOptions { max_delivery_failures: Some(3), ..options() };
    let started = Instant::now();
    let result = authenticate(&framework, &master, &pid, Credential::new("fw", "s"), &fast).await;
    assert!(matches!(result, Err(NoVerdict::Unreachable { .. })), "{result:?}");
    // Three refused connections, with 250 ms and 500 ms pauses between them.
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());

    let patient = AuthenticateOptions { timeout: Duration::from_secs(2), ..options() };
    let started = Instant::now();
    match authenticate(&framework, &master, &pid, Credential::new("fw", "s"), &patient).await {
        Err(NoVerdict::Timeout { attempts, .. }) => assert!(attempts >= 3, "{attempts}"),
        other => panic!("{other:?}"),
    }
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(3), "{took:?}");
}

//! Our libprocess endpoint against the real Apache Mesos 1.11 `real-master`
//! (`../shared/mesos-peer`): the one wire test that needs Mesos itself. The
//! endpoint's own tests are in `libprocess/tests/endpoint.rs`.

use std::time::Duration;

use cyrus_sasl_mesos::{AuthenticateMessage, AuthenticationMechanismsMessage};
use cyrus_sasl_test_support::mesos_peer;
use libprocess::{Endpoint, EndpointOptions, SendError, Upid};
use prost::Message as _;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

/// The real Apache Mesos 1.11 master code answers our AuthenticateMessage from a
/// session process, on its own connection to our advertised address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
async fn the_real_mesos_master_answers_our_authenticate_message() {
    let peer = mesos_peer::mesos_peer("the_real_mesos_master_answers_our_authenticate_message");
    let mut master = mesos_peer::RealMaster::start(&peer, "fw s3cret\n");
    let a = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let mut p = a.spawn_process("crammd5-authenticatee").unwrap();
    let pid = a.upid("scheduler-rust").unwrap();
    let to: Upid = master.upid().parse().unwrap();
    p.send_message(&to, &AuthenticateMessage { pid: pid.to_string() }).await.unwrap();
    let envelope = timeout(WAIT, p.recv()).await.expect("the real master answered").unwrap();
    assert_eq!(envelope.name, "mesos.internal.AuthenticationMechanismsMessage");
    assert!(envelope.from.id().starts_with("crammd5-authenticator-session("), "{:?}", envelope.from);
    assert_eq!(envelope.from.addr(), to.addr());
    let mechanisms = AuthenticationMechanismsMessage::decode(&envelope.body[..]).unwrap();
    assert_eq!(mechanisms.mechanisms, ["CRAM-MD5"]);
    // A message to a process id the real master does not have: libprocess answers 404.
    let nobody: Upid = format!("nobody@127.0.0.1:{}", master.port).parse().unwrap();
    assert!(matches!(p.send(&nobody, "m", b"").await, Err(SendError::UnknownProcess { .. })));
    // real-master prints nothing until the attempt ends (it times out after 15 s).
    assert_eq!(master.next_line(Duration::from_millis(100)), None);
}

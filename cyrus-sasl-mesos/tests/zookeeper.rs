//! Leader detection and contention (`cyrus_sasl_mesos::zookeeper`) against a
//! real standalone ZooKeeper (`ci/zookeeper`, through test-support's fixture):
//! withdrawal, a dropped and a SIGKILLed contender, ZooKeeper down past the
//! session timeout and back, hand-written malformed znodes, digest ACLs. Each test
//! has its own server and 1 s sessions; they run one at a time.

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::zookeeper::leader::LeaderError;
use cyrus_sasl_mesos::zookeeper::master_info::{MAX_MASTER_INFO_SIZE, MasterInfoError};
use cyrus_sasl_mesos::zookeeper::{
    Contender, ContenderStatus, DetectError, LOG_TARGET, LeaderDetector, LeaderEvent, MasterInfo, ZkAddress,
    choose_leader,
};
use cyrus_sasl_test_support::capture;
use cyrus_sasl_test_support::capture::run_serial;
use cyrus_sasl_test_support::mesos_peer::RealDriver;
use cyrus_sasl_test_support::zookeeper::ZooKeeper;
use tokio::sync::watch;
use zookeeper_client as zk;

/// The session timeout the tests ask for (the server accepts 400 ms and up).
const SESSION_TIMEOUT: Duration = Duration::from_millis(1000);

/// `zk://127.0.0.1:PORT/PATH` of the fixture, parsed.
fn address(zk: &ZooKeeper, path: &str) -> ZkAddress {
    zk.url(path).parse().expect("a valid zk:// address")
}

/// `zk://USER:PASSWORD@127.0.0.1:PORT/PATH`, parsed.
fn address_with(zk: &ZooKeeper, user: &str, password: &str, path: &str) -> ZkAddress {
    zk.url_with(user, password, path).parse().expect("a valid zk:// address")
}

/// A `MasterInfo` for a made-up master on 127.0.0.1:PORT: the complete one a master of this crate advertises.
fn master(port: u16) -> MasterInfo {
    let pid = format!("master@127.0.0.1:{port}").parse().expect("a UPID");
    MasterInfo::for_master(format!("master-{port}"), pid, Some("localhost")).expect("an IPv4 master")
}

fn is_leader(info: &MasterInfo) -> impl Fn(&LeaderEvent) -> bool + '_ {
    move |e| matches!(e, LeaderEvent::Leader(i) if i == info)
}

/// A raw client of the test's own, to write znodes by hand.
async fn raw_client(zk: &ZooKeeper, auth: Option<&str>) -> zk::Client {
    let mut connector = zk::Client::connector().with_session_timeout(Duration::from_secs(5));
    if let Some(auth) = auth {
        connector = connector.with_auth("digest", auth.as_bytes());
    }
    connector.connect(&zk.connect()).await.expect("raw ZooKeeper client")
}

/// Waits until the contender holds a node (NotLeading is also its initial
/// status) and returns the node's path.
async fn node_of(contender: &Contender) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(node) = contender.node() {
            return node;
        }
        assert!(Instant::now() < deadline, "the contender created no node");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const PERSISTENT_OPEN: zk::CreateOptions<'static> = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());

#[test]
fn first_contender_leads_and_the_second_takes_over_on_withdrawal() {
    run_serial(first_contender_leads_and_the_second_takes_over_on_withdrawal_body());
}

async fn first_contender_leads_and_the_second_takes_over_on_withdrawal_body() {
    let zk = ZooKeeper::start();
    let address = address(&zk, "/mesos");
    let (m1, m2) = (master(5051), master(5052));

    let first = Contender::join(&address, &m1, SESSION_TIMEOUT);
    wait_for(&mut first.subscribe(), Duration::from_secs(5), "first leads", |s| *s == ContenderStatus::Leading).await;
    let second = Contender::join(&address, &m2, SESSION_TIMEOUT);
    let mut second_status = second.subscribe();
    let (n1, n2) = (first.node().unwrap(), node_of(&second).await);
    assert!(n1.starts_with("/mesos/json.info_") && n1.len() == "/mesos/json.info_".len() + 10, "{n1}");
    assert!(n1 < n2, "{n1} {n2}");
    stays(&mut second_status, Duration::from_millis(300), "second does not lead", |s| {
        *s == ContenderStatus::NotLeading
    })
    .await;

    let detector = LeaderDetector::start(&address, SESSION_TIMEOUT);
    let mut events = detector.subscribe();
    wait_for(&mut events, Duration::from_secs(5), "detector sees the first", is_leader(&m1)).await;
    assert_eq!(detector.current(), LeaderEvent::Leader(m1.clone()));
    // Events only on change: a third member joining changes the children, not the leader.
    events.borrow_and_update();
    let third = Contender::join(&address, &master(5053), SESSION_TIMEOUT);
    node_of(&third).await;
    let quiet = tokio::time::timeout(Duration::from_millis(500), events.changed()).await;
    assert!(quiet.is_err(), "an event without a change: {:?}", *events.borrow());
    drop(third);

    // The znode holds exactly the JSON a real master writes.
    let raw = raw_client(&zk, None).await;
    let (data, _) = raw.get_data(&n1).await.unwrap();
    assert_eq!(String::from_utf8(data).unwrap(), m1.to_json());

    let withdrawn_at = Instant::now();
    first.withdraw().await.expect("withdraw");
    assert_eq!(raw.check_stat(&n1).await.unwrap(), None, "withdraw deletes the node");
    wait_for(&mut events, Duration::from_secs(2), "detector sees the second", is_leader(&m2)).await;
    wait_for(&mut second_status, Duration::from_secs(2), "second leads", |s| *s == ContenderStatus::Leading).await;
    eprintln!("takeover after withdrawal: {:?}", withdrawn_at.elapsed());
}

#[test]
fn dropping_a_contender_closes_its_session_and_frees_the_lead() {
    run_serial(dropping_a_contender_closes_its_session_and_frees_the_lead_body());
}

async fn dropping_a_contender_closes_its_session_and_frees_the_lead_body() {
    let zk = ZooKeeper::start();
    let address = address(&zk, "/dropped");
    let (m1, m2) = (master(5061), master(5062));
    let first = Contender::join(&address, &m1, SESSION_TIMEOUT);
    wait_for(&mut first.subscribe(), Duration::from_secs(5), "first leads", |s| *s == ContenderStatus::Leading).await;
    let second = Contender::join(&address, &m2, SESSION_TIMEOUT);
    let detector = LeaderDetector::start(&address, SESSION_TIMEOUT);
    let mut events = detector.subscribe();
    wait_for(&mut events, Duration::from_secs(5), "detector sees the first", is_leader(&m1)).await;

    drop(first);
    wait_for(&mut events, Duration::from_secs(2), "detector sees the second", is_leader(&m2)).await;
    wait_for(&mut second.subscribe(), Duration::from_secs(2), "second leads", |s| *s == ContenderStatus::Leading).await;
}

/// Runs a contender in this test binary as a child process (see
/// `child_contender`), prints its node and waits to be killed.
fn spawn_child_contender(zk: &ZooKeeper, path: &str, port: u16) -> (ChildGuard, String) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_contender", "--nocapture", "--test-threads=1"])
        .env("ZOOKEEPER_TEST_CHILD", format!("{} {path} {port}", zk.connect()))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child contender");
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let node = loop {
        match lines.next() {
            Some(Ok(line)) => {
                // The harness may have written "test child_contender ... " first.
                if let Some(at) = line.find("CHILD-NODE ") {
                    break line[at + "CHILD-NODE ".len()..].to_owned();
                }
            }
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the child contender ended before reporting its node: {other:?}");
            }
        }
    };
    (ChildGuard(child), node)
}

/// Kills (SIGKILL, by PID) and reaps the child process when dropped.
struct ChildGuard(std::process::Child);

impl ChildGuard {
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Not a test of its own: the body of the child process of
/// `a_killed_leader_is_replaced_once_its_session_expires` (does nothing unless
/// ZOOKEEPER_TEST_CHILD is set).
#[test]
fn child_contender() {
    let Ok(spec) = std::env::var("ZOOKEEPER_TEST_CHILD") else {
        return;
    };
    let mut parts = spec.split(' ');
    let (connect, path, port) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
    let address: ZkAddress = format!("zk://{connect}{path}").parse().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let contender = Contender::join(&address, &master(port.parse().unwrap()), SESSION_TIMEOUT);
        while contender.node().is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        println!("CHILD-NODE {}", contender.node().unwrap());
        // Until killed.
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

#[test]
fn a_killed_leader_is_replaced_once_its_session_expires() {
    run_serial(a_killed_leader_is_replaced_once_its_session_expires_body());
}

async fn a_killed_leader_is_replaced_once_its_session_expires_body() {
    let zk = ZooKeeper::start();
    let address = address(&zk, "/killed");
    let (m1, m2) = (master(5071), master(5072));
    let (mut child, child_node) = spawn_child_contender(&zk, "/killed", 5071);
    let second = Contender::join(&address, &m2, SESSION_TIMEOUT);
    let detector = LeaderDetector::start(&address, SESSION_TIMEOUT);
    let mut events = detector.subscribe();
    wait_for(&mut events, Duration::from_secs(5), "detector sees the child", is_leader(&m1)).await;
    assert!(node_of(&second).await > child_node);

    // SIGKILL by PID: the process cannot close its session; the server expires it.
    let killed_at = Instant::now();
    child.kill();
    let margin = Duration::from_secs(2);
    wait_for(&mut events, SESSION_TIMEOUT + margin, "detector sees the second", is_leader(&m2)).await;
    let took = killed_at.elapsed();
    eprintln!("takeover after kill: {took:?}");
    wait_for(&mut second.subscribe(), Duration::from_secs(1), "second leads", |s| *s == ContenderStatus::Leading).await;
}

#[test]
fn zookeeper_down_longer_than_the_session_timeout() {
    run_serial(zookeeper_down_longer_than_the_session_timeout_body());
}

async fn zookeeper_down_longer_than_the_session_timeout_body() {
    let mut zk = ZooKeeper::start();
    let address = address(&zk, "/outage");
    let (m1, m2) = (master(5081), master(5082));
    let first = Contender::join(&address, &m1, SESSION_TIMEOUT);
    let mut first_status = first.subscribe();
    wait_for(&mut first_status, Duration::from_secs(5), "first leads", |s| *s == ContenderStatus::Leading).await;
    let second = Contender::join(&address, &m2, SESSION_TIMEOUT);
    let mut second_status = second.subscribe();
    let detector = LeaderDetector::start(&address, SESSION_TIMEOUT);
    let mut events = detector.subscribe();
    wait_for(&mut events, Duration::from_secs(5), "detector sees the first", is_leader(&m1)).await;
    node_of(&second).await;

    zk.stop();
    let stopped_at = Instant::now();
    let margin = Duration::from_secs(2);
    // A contender steps down before the session timeout is over (3/5 of it after
    // the disconnection): before the server could let another master lead.
    wait_for(&mut first_status, SESSION_TIMEOUT, "first loses its session", |s| *s == ContenderStatus::LostSession)
        .await;
    wait_for(&mut second_status, SESSION_TIMEOUT, "second loses its session", |s| *s == ContenderStatus::LostSession)
        .await;
    eprintln!("contenders stepped down after {:?}", stopped_at.elapsed());
    wait_for(&mut events, SESSION_TIMEOUT + margin, "detector sees no leader", |e| *e == LeaderEvent::NoLeader).await;
    let lost_after = stopped_at.elapsed();
    eprintln!("all lost after {lost_after:?}");
    // The server's exit closed the connection at once: the detector gives its
    // session up one session timeout later, not after also failing to open a new
    // one (which takes another session timeout).
    assert!(
        lost_after < SESSION_TIMEOUT + Duration::from_millis(800),
        "the detector reported no leader only {lost_after:?} after ZooKeeper stopped"
    );
    // Down for well over a session timeout.
    tokio::time::sleep(SESSION_TIMEOUT).await;
    assert_eq!(first.status(), ContenderStatus::LostSession);
    assert_eq!(detector.current(), LeaderEvent::NoLeader);

    zk.restart();
    // New sessions, new nodes. The server restores the old sessions and expires
    // them a session timeout later, with their nodes; until then the first's old
    // node may still lead. Which contender reconnects first is not fixed.
    let recovered = Duration::from_secs(10);
    let raw = raw_client(&zk, None).await;
    let deadline = Instant::now() + recovered;
    let (leading_node, nodes) = loop {
        let children = raw.list_children("/outage").await.unwrap();
        let nodes = [first.node(), second.node()];
        let current = nodes.iter().flatten().filter(|n| children.iter().any(|c| n.ends_with(&format!("/{c}"))));
        if children.len() == 2 && current.count() == 2 {
            let leader = choose_leader(&children).unwrap();
            break (format!("/outage/{}", leader.name), nodes);
        }
        assert!(Instant::now() < deadline, "not settled: {children:?} {nodes:?}\n{}", zk.log_tail(30));
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let (leader_info, leader, other) = if nodes[0].as_deref() == Some(leading_node.as_str()) {
        (&m1, &mut first_status, &mut second_status)
    } else {
        (&m2, &mut second_status, &mut first_status)
    };
    wait_for(&mut events, recovered, "detector sees the leader again", is_leader(leader_info)).await;
    wait_for(leader, recovered, "the detected master leads", |s| *s == ContenderStatus::Leading).await;
    wait_for(other, recovered, "the other does not", |s| *s == ContenderStatus::NotLeading).await;
    eprintln!("recovered {:?} after the restart", stopped_at.elapsed());
}

#[test]
fn malformed_znodes_are_typed_outcomes() {
    run_serial(malformed_znodes_are_typed_outcomes_body());
}

async fn malformed_znodes_are_typed_outcomes_body() {
    let zk = ZooKeeper::start();
    let raw = raw_client(&zk, None).await;
    let good = master(5091);

    // Before the path exists: no leader, and the detector watches for it.
    let detector = LeaderDetector::start(&address(&zk, "/hand"), SESSION_TIMEOUT);
    let mut events = detector.subscribe();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(detector.current(), LeaderEvent::NoLeader);
    raw.create("/hand", b"", &PERSISTENT_OPEN).await.unwrap();
    raw.create("/hand/log_replicas", b"", &PERSISTENT_OPEN).await.unwrap();
    stays(&mut events, Duration::from_millis(300), "not a member", |e| *e == LeaderEvent::NoLeader).await;

    // Bad JSON in the lowest json.info node.
    raw.create("/hand/json.info_0000000005", b"{not json", &PERSISTENT_OPEN).await.unwrap();
    wait_for(&mut events, Duration::from_secs(2), "bad JSON", |e| {
        matches!(e, LeaderEvent::Error(DetectError::Leader(LeaderError::Malformed { node, error: MasterInfoError::BadJson(_) })) if node == "json.info_0000000005")
    })
    .await;

    // A lower node with an unknown label leads, and is of no use.
    raw.create("/hand/foo_0000000001", good.to_json().as_bytes(), &PERSISTENT_OPEN).await.unwrap();
    wait_for(&mut events, Duration::from_secs(2), "unknown label", |e| {
        *e == LeaderEvent::Error(DetectError::Leader(LeaderError::UnknownLabel {
            node: "foo_0000000001".into(),
            label: "foo".into(),
        }))
    })
    .await;

    // JSON without a pid.
    raw.create("/hand/json.info_0000000000", br#"{"id":"x","ip":16777343,"port":5050}"#, &PERSISTENT_OPEN)
        .await
        .unwrap();
    wait_for(&mut events, Duration::from_secs(2), "missing pid", |e| {
        matches!(
            e,
            LeaderEvent::Error(DetectError::Leader(LeaderError::Malformed {
                error: MasterInfoError::MissingField("pid"),
                ..
            }))
        )
    })
    .await;

    // A legacy node (no label, the UPID as text) lower still: a usable leader.
    raw.create("/hand/-0000000001", b"master@127.0.0.1:5099", &PERSISTENT_OPEN).await.unwrap();
    let legacy =
        wait_for(&mut events, Duration::from_secs(2), "legacy leader", |e| matches!(e, LeaderEvent::Leader(_))).await;
    let LeaderEvent::Leader(info) = legacy else { unreachable!() };
    assert_eq!((info.pid.to_string(), info.ip, info.port), ("master@127.0.0.1:5099".into(), Ipv4Addr::LOCALHOST, 5099));

    // Legacy text that is not a UPID.
    raw.create("/hand/-0000000002", b"hello", &PERSISTENT_OPEN).await.unwrap();
    wait_for(&mut events, Duration::from_secs(2), "bad legacy text", |e| {
        matches!(
            e,
            LeaderEvent::Error(DetectError::Leader(LeaderError::Malformed {
                error: MasterInfoError::BadPid { .. },
                ..
            }))
        )
    })
    .await;

    // Far more data than any MasterInfo: refused unread.
    let huge = vec![b'{'; MAX_MASTER_INFO_SIZE + 1];
    raw.create("/hand/json.info_-0000000003", &huge, &PERSISTENT_OPEN).await.unwrap();
    wait_for(&mut events, Duration::from_secs(2), "too large", |e| {
        matches!(
            e,
            LeaderEvent::Error(DetectError::Leader(LeaderError::Malformed {
                error: MasterInfoError::TooLarge(n),
                ..
            })) if *n == MAX_MASTER_INFO_SIZE + 1
        )
    })
    .await;

    // Binary protobuf under the `info` label, lowest of all.
    raw.create("/hand/info_-0000000004", &good.to_protobuf(), &PERSISTENT_OPEN).await.unwrap();
    wait_for(&mut events, Duration::from_secs(2), "protobuf leader", is_leader(&good)).await;

    // Deleting the malformed ones one by one never ends the detector.
    raw.delete("/hand/info_-0000000004", None).await.unwrap();
    raw.delete("/hand/json.info_-0000000003", None).await.unwrap();
    raw.delete("/hand/-0000000002", None).await.unwrap();
    raw.delete("/hand/-0000000001", None).await.unwrap();
    raw.delete("/hand/json.info_0000000000", None).await.unwrap();
    raw.delete("/hand/foo_0000000001", None).await.unwrap();
    raw.delete("/hand/json.info_0000000005", None).await.unwrap();
    wait_for(&mut events, Duration::from_secs(2), "nothing left", |e| *e == LeaderEvent::NoLeader).await;
    let contender = Contender::join(&address(&zk, "/hand"), &good, SESSION_TIMEOUT);
    wait_for(&mut events, Duration::from_secs(2), "a real contender after all that", is_leader(&good)).await;
    drop(contender);
}

#[test]
fn digest_acl_is_read_with_the_credentials_of_the_address() {
    run_serial(digest_acl_is_read_with_the_credentials_of_the_address_body());
}

async fn digest_acl_is_read_with_the_credentials_of_the_address_body() {
    let zk = ZooKeeper::start();
    let info = master(5101);

    // By hand: a path only alice may read (ACL `auth`: the digest identity that
    // created it), holding a leader.
    let alice = raw_client(&zk, Some("alice:s3cret-alice")).await;
    let creator_all = zk::CreateMode::Persistent.with_acls(zk::Acls::creator_all());
    alice.create("/secured", b"", &creator_all).await.unwrap();
    alice.create("/secured/json.info_0000000001", info.to_json().as_bytes(), &creator_all).await.unwrap();

    let with = LeaderDetector::start(&address_with(&zk, "alice", "s3cret-alice", "/secured"), SESSION_TIMEOUT);
    wait_for(&mut with.subscribe(), Duration::from_secs(5), "alice reads the leader", is_leader(&info)).await;

    let without = LeaderDetector::start(&address(&zk, "/secured"), SESSION_TIMEOUT);
    let wrong = LeaderDetector::start(&address_with(&zk, "alice", "wr0ng-alice", "/secured"), SESSION_TIMEOUT);
    for (detector, who) in [(&without, "no credentials"), (&wrong, "a wrong password")] {
        wait_for(
            &mut detector.subscribe(),
            Duration::from_secs(5),
            who,
            |e| matches!(e, LeaderEvent::Error(DetectError::ZooKeeper { path, .. }) if path == "/secured"),
        )
        .await;
    }

    // A contender with credentials: its nodes are readable by anyone and
    // writable by it only (libmesos's EVERYONE_READ_CREATOR_ALL).
    let other = master(5102);
    let contender = Contender::join(&address_with(&zk, "bob", "b0b-secret", "/open-read"), &other, SESSION_TIMEOUT);
    let anyone = LeaderDetector::start(&address(&zk, "/open-read"), SESSION_TIMEOUT);
    wait_for(&mut anyone.subscribe(), Duration::from_secs(5), "anyone reads bob's node", is_leader(&other)).await;
    let raw = raw_client(&zk, None).await;
    let node = contender.node().unwrap();
    assert!(matches!(raw.set_data(&node, b"x", None).await, Err(zk::Error::NoAuth)));
    assert!(matches!(raw.delete(&node, None).await, Err(zk::Error::NoAuth)));

    // A contender that may not create its node under alice's path never leads,
    // and keeps trying without ending.
    let refused = Contender::join(&address_with(&zk, "bob", "b0b-secret", "/secured"), &master(5103), SESSION_TIMEOUT);
    stays(&mut refused.subscribe(), Duration::from_secs(1), "bob never leads", |s| *s == ContenderStatus::NotLeading)
        .await;
    assert_eq!(refused.node(), None);
    refused.withdraw().await.expect("the refused contender is still running");

    // No password in any line logged, and this module's lines under its target.
    let lines = capture::lines();
    for line in &lines {
        for password in ["s3cret-alice", "wr0ng-alice", "b0b-secret"] {
            assert!(!line.contains(password), "a password in the log: {line}");
        }
    }
    let ours = format!(" {LOG_TARGET} ");
    assert!(lines.iter().any(|l| l.contains(&ours) && l.contains("contending as")), "{lines:#?}");
    assert!(lines.iter().any(|l| l.contains(&ours) && l.contains("leading master")), "{lines:#?}");
}

#[test]
fn a_thread_without_async_follows_the_leader_with_next_blocking() {
    let _one_at_a_time = capture::start();
    let zk = ZooKeeper::start();
    let address = address(&zk, "/blocking");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("Tokio runtime");
    let mut detector = LeaderDetector::start_in(runtime.handle(), &address, SESSION_TIMEOUT);
    assert_eq!(detector.next_blocking(Duration::from_millis(300)), None, "no change with no path");
    assert_eq!(detector.leader(), None);

    let m1 = master(5111);
    let contender = Contender::join_in(runtime.handle(), &address, &m1, SESSION_TIMEOUT);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match detector.next_blocking(left) {
            Some(LeaderEvent::Leader(info)) => {
                assert_eq!(info, m1);
                break;
            }
            Some(_) => {}
            None => panic!("no leader within 5 s: {:?}", detector.current()),
        }
    }
    assert_eq!(detector.leader(), Some(m1));
    drop(contender);
    assert_eq!(detector.next_blocking(Duration::from_secs(3)), Some(LeaderEvent::NoLeader));
}

/// Waits until `rx` holds a value for which `pred` is true, at most `within`;
/// panics naming `what` and the last value otherwise.
pub async fn wait_for<T: Clone + std::fmt::Debug>(
    rx: &mut watch::Receiver<T>,
    within: Duration,
    what: &str,
    pred: impl FnMut(&T) -> bool,
) -> T {
    let waited = match tokio::time::timeout(within, rx.wait_for(pred)).await {
        Ok(Ok(v)) => Ok(v.clone()),
        Ok(Err(_)) => Err(true),
        Err(_) => Err(false),
    };
    match waited {
        Ok(v) => v,
        Err(true) => panic!("{what}: the sender is gone"),
        Err(false) => panic!("{what}: not within {} ms; last value: {:?}", within.as_millis(), *rx.borrow()),
    }
}

/// Asserts that `rx` keeps satisfying `pred` for `during`.
pub async fn stays<T: Clone + std::fmt::Debug>(
    rx: &mut watch::Receiver<T>,
    during: Duration,
    what: &str,
    mut pred: impl FnMut(&T) -> bool,
) {
    let deadline = tokio::time::Instant::now() + during;
    loop {
        assert!(pred(&rx.borrow_and_update()), "{what}: became {:?}", *rx.borrow());
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Err(_) => return,
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("{what}: the sender is gone"),
        }
    }
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn the_real_driver_detects_our_contenders_and_follows_a_withdrawal() {
    let peer = cyrus_sasl_test_support::mesos_peer::mesos_peer("the_real_driver_detects_our_contenders");
    run_serial(async move {
        let zk = ZooKeeper::start();
        let address = address(&zk, "/mesos");
        // Nobody listens at these masters' addresses: this test is about detection
        // (libmesos's own detector reading our znodes), not authentication.
        let free_port = cyrus_sasl_test_support::mesos_peer::free_port;
        let (m1, m2) = (master(free_port()), master(free_port()));
        let first = Contender::join(&address, &m1, SESSION_TIMEOUT);
        wait_for(&mut first.subscribe(), Duration::from_secs(5), "first leads", |s| *s == ContenderStatus::Leading)
            .await;
        let second = Contender::join(&address, &m2, SESSION_TIMEOUT);
        node_of(&second).await;

        let mut driver =
            RealDriver::start(&peer, &zk.url("/mesos"), "no-such-principal", "no-secret", "60", "detection");
        driver.expect(&format!("NEW_MASTER {}", m1.pid), Duration::from_secs(20)).await;
        let withdrawn_at = Instant::now();
        first.withdraw().await.expect("withdraw");
        driver.expect(&format!("NEW_MASTER {}", m2.pid), Duration::from_secs(10)).await;
        eprintln!("the real driver saw the new leader {:?} after the withdrawal", withdrawn_at.elapsed());
        drop(second);
        driver.expect("NO_MASTER", Duration::from_secs(10)).await;
    });
}

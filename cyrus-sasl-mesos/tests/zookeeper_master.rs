//! Our [`Master`] contending in a real ZooKeeper (`ci/zookeeper`, through
//! test-support's fixture), in one process: it serves only while it leads,
//! drops every message otherwise, steps down and forgets everything when its
//! session is lost, hands the lead over at once when shut down; without an
//! election nothing changes. Each test has its own server; they run one at a
//! time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::authorization::Acls;
use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions, Process};
use cyrus_sasl_mesos::registration::{RegistrationGate, RegistrationVerdict};
use cyrus_sasl_mesos::zookeeper::{ContenderStatus, LeaderDetector, LeaderEvent, ZkAddress};
use cyrus_sasl_mesos::{
    AuthenticateOptions, Credential, FollowEvent, FollowOptions, Follower, Master, MasterAddress, MasterConfig,
    MasterElection, MasterEvent, MasterHandle, MasterOptions, NoVerdict, Verdict, authenticate, follow_leader,
};
use cyrus_sasl_test_support::capture;
use cyrus_sasl_test_support::capture::run_serial;
use cyrus_sasl_test_support::zookeeper::ZooKeeper;

/// The masters' ZooKeeper session timeout (the server accepts 400 ms and up).
const SESSION_TIMEOUT: Duration = Duration::from_millis(1000);

fn address(zk: &ZooKeeper, path: &str) -> ZkAddress {
    zk.url(path).parse().expect("a valid zk:// address")
}

/// A master with `framework-a`'s credentials and an allow-all registration
/// gate, contending under `zk` when given.
async fn master(dir: &tempfile::TempDir, zk: Option<&ZkAddress>) -> MasterHandle {
    let path = dir.path().join("credentials");
    std::fs::write(&path, "framework-a s3cret\n").unwrap();
    let config = MasterConfig::read_credentials_file(&path).unwrap();
    let gate = RegistrationGate::new(Arc::new(Acls::from_json(r#"{"permissive": true}"#).unwrap()));
    let options = MasterOptions {
        registration: Some(gate),
        hostname: Some("localhost".into()),
        election: zk.map(|zk| MasterElection { session_timeout: SESSION_TIMEOUT, ..MasterElection::new(zk.clone()) }),
        ..MasterOptions::from_config(&config)
    };
    Master::spawn(options).await.unwrap()
}

/// The next event of `master` that `pick` takes, within `within`.
async fn next<T>(
    master: &mut MasterHandle,
    within: Duration,
    what: &str,
    mut pick: impl FnMut(MasterEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, master.next_event()).await {
            Ok(Some(event)) => {
                if let Some(picked) = pick(event) {
                    return picked;
                }
            }
            Ok(None) => panic!("{what}: the master stopped"),
            Err(_) => panic!("{what}: not within {within:?}"),
        }
    }
}

fn elected(event: MasterEvent) -> Option<()> {
    matches!(event, MasterEvent::Elected).then_some(())
}

/// A framework: an endpoint and its scheduler process.
async fn framework() -> (Endpoint, Process) {
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let scheduler = endpoint.spawn_process("scheduler").unwrap();
    (endpoint, scheduler)
}

/// Authenticates `scheduler` as framework-a with `master`, within `timeout`.
async fn try_authenticate(
    endpoint: &Endpoint,
    scheduler: &Process,
    master: &MasterHandle,
    timeout: Duration,
) -> Result<Verdict, NoVerdict> {
    let options = AuthenticateOptions { timeout, ..AuthenticateOptions::default() };
    authenticate(endpoint, master.upid(), scheduler.upid(), Credential::new("framework-a", "s3cret"), &options).await
}

#[test]
fn without_an_election_a_master_leads_from_the_start() {
    run_serial(async {
        let dir = tempfile::tempdir().unwrap();
        let master = master(&dir, None).await;
        assert!(master.leading());
        let (endpoint, scheduler) = framework().await;
        let verdict = try_authenticate(&endpoint, &scheduler, &master, Duration::from_secs(10)).await.unwrap();
        assert_eq!(verdict, Verdict::Authenticated);
        master.shutdown().await;
    });
}

#[test]
fn a_standby_drops_every_message_and_takes_over_when_the_leader_shuts_down() {
    run_serial(async {
        let zk = ZooKeeper::start();
        let zk_address = address(&zk, "/mesos");
        let dir = tempfile::tempdir().unwrap();
        let mut first = master(&dir, Some(&zk_address)).await;
        next(&mut first, Duration::from_secs(10), "the first is elected", elected).await;
        assert!(first.leading());
        let mut second = master(&dir, Some(&zk_address)).await;
        // A detector (a framework's view) sees the first lead, with its whole MasterInfo.
        let detector = LeaderDetector::start(&zk_address, SESSION_TIMEOUT);
        let mut events = detector.subscribe();
        let wanted = first.info();
        tokio::time::timeout(Duration::from_secs(10), events.wait_for(|e| *e == LeaderEvent::Leader(wanted.clone())))
            .await
            .expect("the detector sees the first master")
            .unwrap();
        assert!(!second.leading());

        // The standby answers nothing: no session, no verdict, no event.
        let (endpoint, scheduler) = framework().await;
        capture::clear();
        let standby = try_authenticate(&endpoint, &scheduler, &second, Duration::from_secs(2)).await;
        assert!(matches!(standby, Err(NoVerdict::Timeout { .. })), "{standby:?}");
        assert!(second.try_next_event().is_none(), "the standby reported something");
        assert_eq!(second.authenticated(&scheduler.upid().to_string()), None);
        let dropped = capture::lines();
        assert!(
            dropped
                .iter()
                .any(|l| l.contains("dropping \"mesos.internal.AuthenticateMessage\"") && l.contains("not elected")),
            "{dropped:#?}"
        );

        // The leader serves.
        let verdict = try_authenticate(&endpoint, &scheduler, &first, Duration::from_secs(10)).await.unwrap();
        assert_eq!(verdict, Verdict::Authenticated);

        // A graceful exit frees the lead at once, not after a session timeout.
        let shut_at = Instant::now();
        first.shutdown().await;
        next(&mut second, Duration::from_secs(5), "the second is elected", elected).await;
        let took = shut_at.elapsed();
        eprintln!("the standby led {took:?} after the leader's shutdown");
        assert!(took < SESSION_TIMEOUT, "took {took:?}: the node was not withdrawn");
        assert!(second.leading());
        let verdict = try_authenticate(&endpoint, &scheduler, &second, Duration::from_secs(10)).await.unwrap();
        assert_eq!(verdict, Verdict::Authenticated);
        second.shutdown().await;
    });
}

#[test]
fn a_leader_that_loses_its_session_steps_down_forgets_everything_and_leads_again_later() {
    run_serial(async {
        let mut zk = ZooKeeper::start();
        let zk_address = address(&zk, "/mesos");
        let dir = tempfile::tempdir().unwrap();
        let mut leader = master(&dir, Some(&zk_address)).await;
        next(&mut leader, Duration::from_secs(10), "elected", elected).await;
        let (endpoint, scheduler) = framework().await;
        let pid = scheduler.upid().to_string();
        let verdict = try_authenticate(&endpoint, &scheduler, &leader, Duration::from_secs(10)).await.unwrap();
        assert_eq!(verdict, Verdict::Authenticated);
        assert_eq!(leader.authenticated(&pid).as_deref(), Some("framework-a"));
        // Registered in the first term.
        let registered = register(&scheduler, &mut leader, None).await;
        let RegistrationVerdict::FrameworkRegistered { framework_id, .. } = registered else {
            panic!("{registered:?}")
        };

        let first_term = leader.info();
        let mut zk_down = zk_stop(&mut zk);
        let reason = next(&mut leader, SESSION_TIMEOUT * 2, "stepped down", |e| match e {
            MasterEvent::SteppedDown { reason } => Some(reason),
            _ => None,
        })
        .await;
        eprintln!("stepped down {:?} after ZooKeeper stopped", zk_down.elapsed());
        assert_eq!(reason, ContenderStatus::LostSession);
        assert!(!leader.leading());
        assert_eq!(leader.authenticated(&pid), None, "a new term starts empty");
        assert!(leader.registry().is_empty());
        // Meanwhile nothing authenticates.
        let meanwhile = try_authenticate(&endpoint, &scheduler, &leader, Duration::from_secs(2)).await;
        assert!(matches!(meanwhile, Err(NoVerdict::Timeout { .. })), "{meanwhile:?}");
        assert!(zk_down.elapsed() > SESSION_TIMEOUT);

        zk.restart();
        zk_down = Instant::now();
        next(&mut leader, Duration::from_secs(15), "elected again", elected).await;
        eprintln!("elected again {:?} after ZooKeeper returned", zk_down.elapsed());
        // Under a new id, so that frameworks see a new leader and authenticate again.
        let second_term = leader.info();
        assert_ne!(second_term.id, first_term.id);
        assert_eq!(second_term.pid, first_term.pid);
        // The registry is empty: a SUBSCRIBE now is refused until the framework
        // authenticates again; then it re-registers with the id it had.
        let verdict = try_authenticate(&endpoint, &scheduler, &leader, Duration::from_secs(10)).await.unwrap();
        assert_eq!(verdict, Verdict::Authenticated);
        let again = register(&scheduler, &mut leader, Some(&framework_id)).await;
        assert!(
            matches!(&again, RegistrationVerdict::FrameworkReregistered { framework_id: id, .. } if *id == framework_id),
            "{again:?}"
        );
        leader.shutdown().await;
    });
}

fn zk_stop(zk: &mut ZooKeeper) -> Instant {
    zk.stop();
    Instant::now()
}

/// Sends a SUBSCRIBE (with `id`, if given) from `scheduler` and returns the verdict.
async fn register(scheduler: &Process, master: &mut MasterHandle, id: Option<&str>) -> RegistrationVerdict {
    use cyrus_sasl_mesos::fuzzing::{FrameworkId, FrameworkInfo, SchedulerCall, Subscribe};
    use prost::Message as _;
    let info = FrameworkInfo {
        user: Some("nobody".into()),
        name: Some("ha".into()),
        id: id.map(|value| FrameworkId { value: value.to_owned() }),
        ..FrameworkInfo::default()
    };
    let call = SchedulerCall {
        r#type: Some(SchedulerCall::SUBSCRIBE),
        subscribe: Some(Subscribe { framework_info: Some(info) }),
    };
    scheduler.send(master.upid(), "mesos.scheduler.Call", &call.encode_to_vec()).await.unwrap();
    next(master, Duration::from_secs(10), "a registration", |e| match e {
        MasterEvent::Registration(record) => Some(record.verdict),
        _ => None,
    })
    .await
}

/// The next event of `follower`, within `within`.
async fn follow_event(follower: &mut Follower, within: Duration, what: &str) -> FollowEvent {
    match tokio::time::timeout(within, follower.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("{what}: the follower stopped"),
        Err(_) => panic!("{what}: not within {within:?}"),
    }
}

/// Skips `Error` events (attempts that ended without a verdict) up to the next other one.
async fn follow_decisive(follower: &mut Follower, within: Duration, what: &str) -> FollowEvent {
    let deadline = Instant::now() + within;
    loop {
        match follow_event(follower, deadline.saturating_duration_since(Instant::now()), what).await {
            FollowEvent::Error(e) => eprintln!("{what}: {e}"),
            event => return event,
        }
    }
}

#[test]
fn a_follower_authenticates_with_each_new_leader_from_the_same_upid() {
    run_serial(async {
        let zk = ZooKeeper::start();
        let zk_address = address(&zk, "/mesos");
        let dir = tempfile::tempdir().unwrap();
        let mut first = master(&dir, Some(&zk_address)).await;
        next(&mut first, Duration::from_secs(10), "the first is elected", elected).await;
        let second = master(&dir, Some(&zk_address)).await;
        let (endpoint, scheduler) = framework().await;
        let pid = scheduler.upid().to_string();
        let options = FollowOptions { zk_session_timeout: SESSION_TIMEOUT, ..FollowOptions::default() };
        let mut follower = follow_leader(
            &endpoint,
            &MasterAddress::ZooKeeper(zk_address.clone()),
            scheduler.upid(),
            Credential::new("framework-a", "s3cret"),
            &options,
        );
        let event = follow_event(&mut follower, Duration::from_secs(10), "the first leader").await;
        assert!(matches!(&event, FollowEvent::NewLeader(info) if *info == first.info()), "{event:?}");
        let event = follow_decisive(&mut follower, Duration::from_secs(20), "authenticated with the first").await;
        assert!(matches!(&event, FollowEvent::Authenticated(info) if *info == first.info()), "{event:?}");
        assert_eq!(first.authenticated(&pid).as_deref(), Some("framework-a"));
        assert_eq!(second.authenticated(&pid), None);

        let shut_at = Instant::now();
        first.shutdown().await;
        let event = follow_decisive(&mut follower, Duration::from_secs(10), "the second leader").await;
        assert!(matches!(&event, FollowEvent::NewLeader(info) if *info == second.info()), "{event:?}");
        let event = follow_decisive(&mut follower, Duration::from_secs(30), "authenticated with the second").await;
        assert!(matches!(&event, FollowEvent::Authenticated(info) if *info == second.info()), "{event:?}");
        eprintln!("authenticated with the new leader {:?} after the old one's shutdown", shut_at.elapsed());
        assert_eq!(second.authenticated(&pid).as_deref(), Some("framework-a"), "the same UPID");
        assert!(second.leading());

        // The last master goes: no leader.
        second.shutdown().await;
        let event = follow_decisive(&mut follower, Duration::from_secs(10), "no leader").await;
        assert!(matches!(event, FollowEvent::NoLeader), "{event:?}");
    });
}

#[test]
fn a_follower_of_a_direct_address_authenticates_once_and_ends() {
    run_serial(async {
        let dir = tempfile::tempdir().unwrap();
        let master = master(&dir, None).await;
        let (endpoint, scheduler) = framework().await;
        let address: MasterAddress = master.upid().addr().to_string().parse().unwrap();
        let mut follower = follow_leader(
            &endpoint,
            &address,
            scheduler.upid(),
            Credential::new("framework-a", "wrong"),
            &FollowOptions::default(),
        );
        let event = follow_event(&mut follower, Duration::from_secs(10), "the master").await;
        assert!(matches!(&event, FollowEvent::NewLeader(info) if info.pid == *master.upid()), "{event:?}");
        let event = follow_decisive(&mut follower, Duration::from_secs(20), "the verdict").await;
        assert!(matches!(&event, FollowEvent::Rejected(info) if info.pid == *master.upid()), "{event:?}");
        assert!(follower.next().await.is_none());
        master.shutdown().await;
    });
}

#[test]
fn a_follower_starts_again_at_once_when_its_new_leader_learns_late_that_it_leads() {
    use cyrus_sasl_mesos::zookeeper::{Contender, MasterInfo};
    use zookeeper_client as zk;
    run_serial(async {
        let zk = ZooKeeper::start();
        let dir = tempfile::tempdir().unwrap();
        // The master contends under /late behind a blocker, so it does not lead yet...
        let late = address(&zk, "/late");
        let blocker_info = MasterInfo::for_master("blocker", "master@127.0.0.1:9".parse().unwrap(), None).unwrap();
        let blocker = Contender::join(&late, &blocker_info, SESSION_TIMEOUT);
        tokio::time::timeout(Duration::from_secs(10), blocker.subscribe().wait_for(|s| *s == ContenderStatus::Leading))
            .await
            .unwrap()
            .unwrap();
        let mut master = master(&dir, Some(&late)).await;
        // ...while the followers' path already names it as the leader.
        let client = zk::Client::connector().connect(&zk.connect()).await.unwrap();
        let open = zk::CreateMode::Persistent.with_acls(zk::Acls::anyone_all());
        client.create("/mesos", b"", &open).await.unwrap();
        let node = zk::CreateMode::EphemeralSequential.with_acls(zk::Acls::anyone_all());
        client.create("/mesos/json.info_", master.info().to_json().as_bytes(), &node).await.unwrap();

        let (endpoint, scheduler) = framework().await;
        let mut follower = follow_leader(
            &endpoint,
            &MasterAddress::ZooKeeper(address(&zk, "/mesos")),
            scheduler.upid(),
            Credential::new("framework-a", "s3cret"),
            &FollowOptions { zk_session_timeout: SESSION_TIMEOUT, ..FollowOptions::default() },
        );
        let event = follow_event(&mut follower, Duration::from_secs(10), "the leader").await;
        assert!(matches!(&event, FollowEvent::NewLeader(info) if *info == master.info()), "{event:?}");
        let seen_at = Instant::now();
        // The master learns that it leads half a second later: the first attempt was dropped.
        tokio::time::sleep(Duration::from_millis(500)).await;
        blocker.withdraw().await.unwrap();
        next(&mut master, Duration::from_secs(5), "elected", elected).await;
        let event = follow_decisive(&mut follower, Duration::from_secs(20), "authenticated").await;
        assert!(matches!(&event, FollowEvent::Authenticated(info) if *info == master.info()), "{event:?}");
        let took = seen_at.elapsed();
        eprintln!("authenticated {took:?} after the leader was seen");
        // Restarted at FollowOptions::settle (1 s), not after the attempt timeout (5 s or more).
        assert!(took < Duration::from_secs(3), "took {took:?}");
        master.shutdown().await;
    });
}

#[test]
fn a_masters_zookeeper_password_is_never_logged_nor_shown() {
    run_serial(async {
        let zk = ZooKeeper::start();
        let with_password: ZkAddress = zk.url_with("operator", "hunter2-secret", "/mesos").parse().unwrap();
        let dir = tempfile::tempdir().unwrap();
        capture::clear();
        let mut leader = master(&dir, Some(&with_password)).await;
        next(&mut leader, Duration::from_secs(10), "elected", elected).await;
        let (endpoint, scheduler) = framework().await;
        let verdict = try_authenticate(&endpoint, &scheduler, &leader, Duration::from_secs(10)).await.unwrap();
        assert_eq!(verdict, Verdict::Authenticated);
        let options =
            MasterOptions { election: Some(MasterElection::new(with_password.clone())), ..MasterOptions::default() };
        let shown = format!("{leader:?} {options:?} {}", with_password);
        leader.shutdown().await;
        let lines = capture::lines();
        assert!(lines.iter().any(|l| l.contains("contends under zk://operator:***@")), "{lines:#?}");
        for line in lines.iter().chain([&shown]) {
            assert!(!line.contains("hunter2"), "{line}");
        }
    });
}

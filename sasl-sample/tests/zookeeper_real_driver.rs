//! High availability against the real Apache Mesos 1.11 scheduler driver
//! (`../shared/mesos-peer/real-framework zk://...` with `MR_EVENTS=1`, its own
//! ZooKeeper detector and its 10 s session) and a real ZooKeeper (`ci/zookeeper`):
//! our masters contend (in this process, or as a `sasl-sample mesos-master --zk`
//! child for the SIGKILL case), with 2 s sessions; the driver finds the leader,
//! authenticates, registers, and after a failover authenticates with the new
//! leader and is re-registered with the same framework id. Each test prints
//! the driver's event lines. One test at a time; every process is stopped by
//! its PID.

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::authorization::Acls;
use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions};
use cyrus_sasl_mesos::registration::{RegistrationGate, RegistrationVerdict};
use cyrus_sasl_mesos::zookeeper::ZkAddress;
use cyrus_sasl_mesos::{
    Credential, FollowEvent, FollowOptions, Master, MasterAddress, MasterConfig, MasterElection, MasterEvent,
    MasterHandle, MasterOptions, Outcome, follow_leader,
};
use cyrus_sasl_test_support::capture::run_serial;
use cyrus_sasl_test_support::mesos::SampleMaster;
use cyrus_sasl_test_support::mesos_peer::RealDriver;
use cyrus_sasl_test_support::mesos_peer::mesos_peer;
use cyrus_sasl_test_support::zookeeper::ZooKeeper;

/// Our masters' ZooKeeper session timeout (the driver's own is 10 s).
const SESSION_TIMEOUT: Duration = Duration::from_secs(2);

/// How long the real driver runs (it prints `END` then).
const DRIVER_SECONDS: &str = "90";

const CREDENTIALS: &str = "framework-a s3cret\n";

fn zk_address(zk: &ZooKeeper) -> ZkAddress {
    zk.url("/mesos").parse().expect("a zk:// address")
}

/// A credentials file and a permissive ACL file, for our masters.
struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new() -> Files {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("credentials"), CREDENTIALS).unwrap();
        std::fs::write(dir.path().join("acls.json"), r#"{"permissive": true}"#).unwrap();
        for name in ["credentials", "acls.json"] {
            let path = dir.path().join(name);
            let mut permissions = std::fs::metadata(&path).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
            std::fs::set_permissions(&path, permissions).unwrap();
        }
        Files { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// One of our masters in this process, contending with 2 s sessions, deciding
/// registrations (everything allowed once authenticated).
async fn master(files: &Files, zk: &ZkAddress) -> MasterHandle {
    let config = MasterConfig::read_credentials_file(files.path("credentials")).unwrap();
    let gate = RegistrationGate::new(Arc::new(Acls::from_json(r#"{"permissive": true}"#).unwrap()));
    Master::spawn(MasterOptions {
        registration: Some(gate),
        hostname: Some("localhost".into()),
        election: Some(MasterElection { session_timeout: SESSION_TIMEOUT, ..MasterElection::new(zk.clone()) }),
        ..MasterOptions::from_config(&config)
    })
    .await
    .unwrap()
}

/// Waits for `MasterEvent::Elected`.
async fn elected(master: &mut MasterHandle, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, master.next_event()).await {
            Ok(Some(MasterEvent::Elected)) => return,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the master stopped"),
            Err(_) => panic!("{} not elected within {within:?}", master.upid()),
        }
    }
}

/// The next registration `master` decided, within `within`.
async fn registration(master: &mut MasterHandle, within: Duration) -> RegistrationVerdict {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, master.next_event()).await {
            Ok(Some(MasterEvent::Registration(record))) => return record.verdict,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the master stopped"),
            Err(_) => panic!("{}: no registration within {within:?}", master.upid()),
        }
    }
}

/// Asserts that nothing `master` reported so far is an authentication or a
/// registration that went through.
fn served_nobody(master: &mut MasterHandle) {
    while let Some(event) = master.try_next_event() {
        match event {
            MasterEvent::Authentication(record) => {
                assert!(!matches!(record.outcome, Outcome::Authenticated { .. }), "{} served {record:?}", master.upid())
            }
            MasterEvent::Registration(record) => {
                assert!(!record.verdict.registered(), "{} registered {record:?}", master.upid())
            }
            _ => {}
        }
    }
}

/// `REGISTERED <id> <pid>`: the id.
fn framework_id(line: &str) -> String {
    line.split(' ').nth(1).expect("REGISTERED ID PID").to_owned()
}

/// Registers the driver with `leader` (NEW_MASTER, AUTHENTICATED, REGISTERED),
/// checks the master's side, and returns the framework id.
async fn registered_with(driver: &mut RealDriver, leader: &mut MasterHandle) -> String {
    let pid = leader.upid().to_string();
    driver.expect(&format!("NEW_MASTER {pid}"), Duration::from_secs(30)).await;
    driver.expect(&format!("AUTHENTICATED {pid}"), Duration::from_secs(30)).await;
    let line = driver.expect("REGISTERED ", Duration::from_secs(30)).await;
    assert!(line.ends_with(&format!(" {pid}")), "MasterInfo.pid: {line}");
    let id = framework_id(&line);
    let verdict = registration(leader, Duration::from_secs(5)).await;
    assert!(
        matches!(&verdict, RegistrationVerdict::FrameworkRegistered { framework_id, .. } if *framework_id == id),
        "{verdict:?}"
    );
    id
}

/// After a failover to `leader`: the driver authenticates with it and is
/// re-registered with `id`; returns when it authenticated, measured from `since`.
async fn reregistered_with(driver: &mut RealDriver, leader: &mut MasterHandle, id: &str, since: Instant) -> Duration {
    let pid = leader.upid().to_string();
    driver.expect(&format!("AUTHENTICATED {pid}"), Duration::from_secs(40)).await;
    let authenticated_after = since.elapsed();
    driver.expect(&format!("REREGISTERED {pid}"), Duration::from_secs(30)).await;
    let verdict = registration(leader, Duration::from_secs(5)).await;
    assert_eq!(
        verdict,
        RegistrationVerdict::FrameworkReregistered {
            principal: "framework-a".into(),
            roles: vec!["*".into()],
            framework_id: id.to_owned()
        }
    );
    authenticated_after
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn the_real_driver_finds_our_leading_master_authenticates_and_registers() {
    let peer = mesos_peer("the_real_driver_finds_our_leading_master");
    run_serial(async move {
        let zk = ZooKeeper::start();
        let files = Files::new();
        let mut leader = master(&files, &zk_address(&zk)).await;
        elected(&mut leader, Duration::from_secs(10)).await;
        let mut driver = RealDriver::start(
            &peer,
            &zk.url("/mesos"),
            "framework-a",
            "s3cret",
            DRIVER_SECONDS,
            "(a) one leading master",
        );
        let id = registered_with(&mut driver, &mut leader).await;
        assert!(id.starts_with(&leader.info().id), "{id} is given by this master");
        leader.shutdown().await;
    });
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn after_a_graceful_failover_the_real_driver_is_reregistered_with_the_same_framework_id() {
    let peer = mesos_peer("after_a_graceful_failover_the_real_driver_is_reregistered");
    run_serial(async move {
        let zk = ZooKeeper::start();
        let files = Files::new();
        let mut first = master(&files, &zk_address(&zk)).await;
        elected(&mut first, Duration::from_secs(10)).await;
        let mut second = master(&files, &zk_address(&zk)).await;
        let mut driver = RealDriver::start(
            &peer,
            &zk.url("/mesos"),
            "framework-a",
            "s3cret",
            DRIVER_SECONDS,
            "(b) graceful failover",
        );
        let id = registered_with(&mut driver, &mut first).await;
        served_nobody(&mut second);

        let shut_at = Instant::now();
        first.shutdown().await;
        driver.expect(&format!("NEW_MASTER {}", second.upid()), Duration::from_secs(10)).await;
        let took = reregistered_with(&mut driver, &mut second, &id, shut_at).await;
        eprintln!("(b) the real driver authenticated with the new leader {took:?} after the graceful exit");
        second.shutdown().await;
    });
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn after_the_leader_is_killed_the_real_driver_is_reregistered_within_a_session_timeout() {
    let peer = mesos_peer("after_the_leader_is_killed_the_real_driver_is_reregistered");
    run_serial(async move {
        let zk = ZooKeeper::start();
        let files = Files::new();
        // The leader: `sasl-sample mesos-master --zk` as a child, killed by its PID.
        let url = zk.url("/mesos");
        let args: Vec<std::ffi::OsString> = vec![
            "--credentials".into(),
            files.path("credentials").into(),
            "--acls".into(),
            files.path("acls.json").into(),
            "--zk".into(),
            url.clone().into(),
            "--zk-session-timeout".into(),
            SESSION_TIMEOUT.as_secs_f64().to_string().into(),
        ];
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let child = SampleMaster::start(Path::new(env!("CARGO_BIN_EXE_sasl-sample")), &args, &[]);
        assert_eq!(child.line(), "elected");
        let mut standby = master(&files, &zk_address(&zk)).await;
        let mut driver = RealDriver::start(&peer, &url, "framework-a", "s3cret", DRIVER_SECONDS, "(c) leader killed");
        let pid = child.upid.to_string();
        driver.expect(&format!("NEW_MASTER {pid}"), Duration::from_secs(30)).await;
        driver.expect(&format!("AUTHENTICATED {pid}"), Duration::from_secs(30)).await;
        let line = driver.expect("REGISTERED ", Duration::from_secs(30)).await;
        assert!(line.ends_with(&format!(" {pid}")), "{line}");
        let id = framework_id(&line);
        served_nobody(&mut standby);

        // SIGKILL by PID: no withdrawal; ZooKeeper expires the session.
        let killed_at = Instant::now();
        drop(child);
        elected(&mut standby, SESSION_TIMEOUT + Duration::from_secs(3)).await;
        eprintln!("(c) the standby was elected {:?} after the kill", killed_at.elapsed());
        driver.expect(&format!("NEW_MASTER {}", standby.upid()), SESSION_TIMEOUT + Duration::from_secs(3)).await;
        let detected = killed_at.elapsed();
        assert!(detected < SESSION_TIMEOUT + Duration::from_secs(3), "detected after {detected:?}");
        let took = reregistered_with(&mut driver, &mut standby, &id, killed_at).await;
        eprintln!("(c) the real driver saw the new leader {detected:?} and authenticated {took:?} after the kill");
        standby.shutdown().await;
    });
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn a_standby_master_never_authenticates_or_registers_anyone() {
    let peer = mesos_peer("a_standby_master_never_authenticates_or_registers_anyone");
    run_serial(async move {
        let zk = ZooKeeper::start();
        let files = Files::new();
        let mut leader = master(&files, &zk_address(&zk)).await;
        elected(&mut leader, Duration::from_secs(10)).await;
        let mut standby = master(&files, &zk_address(&zk)).await;
        // The real driver pointed straight at the standby (HOST:PORT, no
        // detector): it tries and retries, and never gets an answer.
        let direct = standby.upid().addr().to_string();
        let mut driver = RealDriver::start(
            &peer,
            &direct,
            "framework-a",
            "s3cret",
            DRIVER_SECONDS,
            "(d) a driver pointed at the standby",
        );
        driver.none_of(&["AUTHENTICATED", "REFUSED", "REGISTERED", "REREGISTERED"], Duration::from_secs(15)).await;
        assert!(!standby.leading());
        served_nobody(&mut standby);
        served_nobody(&mut leader);
        drop(driver);
        leader.shutdown().await;
        standby.shutdown().await;
    });
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn zookeeper_down_past_the_session_timeout_our_master_steps_down_and_the_driver_comes_back() {
    let peer = mesos_peer("zookeeper_down_past_the_session_timeout");
    run_serial(async move {
        let mut zk = ZooKeeper::start();
        let files = Files::new();
        let mut leader = master(&files, &zk_address(&zk)).await;
        elected(&mut leader, Duration::from_secs(10)).await;
        let mut driver = RealDriver::start(
            &peer,
            &zk.url("/mesos"),
            "framework-a",
            "s3cret",
            DRIVER_SECONDS,
            "(e) ZooKeeper down for 12 s",
        );
        let id = registered_with(&mut driver, &mut leader).await;

        zk.stop();
        let stopped_at = Instant::now();
        let deadline = tokio::time::Instant::now() + SESSION_TIMEOUT + Duration::from_secs(2);
        loop {
            match tokio::time::timeout_at(deadline, leader.next_event()).await {
                Ok(Some(MasterEvent::SteppedDown { .. })) => break,
                Ok(Some(_)) => continue,
                other => panic!("no step-down: {other:?}"),
            }
        }
        eprintln!("(e) our master stepped down {:?} after ZooKeeper stopped", stopped_at.elapsed());
        assert!(!leader.leading());
        // Down past our session timeout and the driver's (10 s): nothing is
        // authenticated or registered meanwhile.
        driver.none_of(&["AUTHENTICATED", "REGISTERED", "REREGISTERED"], Duration::from_secs(12)).await;
        served_nobody(&mut leader);

        zk.restart();
        let restarted_at = Instant::now();
        elected(&mut leader, Duration::from_secs(20)).await;
        eprintln!("(e) our master leads again {:?} after ZooKeeper returned", restarted_at.elapsed());
        driver.expect(&format!("NEW_MASTER {}", leader.upid()), Duration::from_secs(30)).await;
        let took = reregistered_with(&mut driver, &mut leader, &id, restarted_at).await;
        eprintln!("(e) the real driver authenticated again {took:?} after ZooKeeper returned");
        leader.shutdown().await;
    });
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn our_follower_follows_the_same_failover_as_the_real_driver() {
    let peer = mesos_peer("our_follower_follows_the_same_failover_as_the_real_driver");
    run_serial(async move {
        let zk = ZooKeeper::start();
        let files = Files::new();
        let mut first = master(&files, &zk_address(&zk)).await;
        elected(&mut first, Duration::from_secs(10)).await;
        let mut second = master(&files, &zk_address(&zk)).await;
        let mut driver = RealDriver::start(
            &peer,
            &zk.url("/mesos"),
            "framework-a",
            "s3cret",
            DRIVER_SECONDS,
            "(f) graceful failover, beside our follower",
        );
        let id = registered_with(&mut driver, &mut first).await;

        // Our follower: a scheduler process of our own, zk:// with the driver's 10 s session.
        let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
        let scheduler = endpoint.spawn_process("scheduler").unwrap();
        let pid = scheduler.upid().to_string();
        let mut follower = follow_leader(
            &endpoint,
            &MasterAddress::ZooKeeper(zk_address(&zk)),
            scheduler.upid(),
            Credential::new("framework-a", "s3cret"),
            &FollowOptions::default(),
        );
        let mut ours = Vec::new();
        let started = Instant::now();
        let mut next = async |what: &str| loop {
            let event = tokio::time::timeout(Duration::from_secs(30), follower.next())
                .await
                .unwrap_or_else(|_| panic!("{what}: nothing within 30 s"))
                .expect("following");
            ours.push(format!("{:>6.2}s {event:?}", started.elapsed().as_secs_f64()));
            match event {
                FollowEvent::Error(_) => continue,
                event => break event,
            }
        };
        assert!(matches!(next("the first leader").await, FollowEvent::NewLeader(info) if info == first.info()));
        assert!(matches!(next("authenticated").await, FollowEvent::Authenticated(info) if info == first.info()));
        assert_eq!(first.authenticated(&pid).as_deref(), Some("framework-a"));

        let shut_at = Instant::now();
        first.shutdown().await;
        assert!(matches!(next("the second leader").await, FollowEvent::NewLeader(info) if info == second.info()));
        assert!(matches!(next("authenticated again").await, FollowEvent::Authenticated(info) if info == second.info()));
        let rust = shut_at.elapsed();
        assert_eq!(second.authenticated(&pid).as_deref(), Some("framework-a"));
        driver.expect(&format!("NEW_MASTER {}", second.upid()), Duration::from_secs(10)).await;
        let real = reregistered_with(&mut driver, &mut second, &id, shut_at).await;
        eprintln!("--- (f) our follower's events ---");
        for line in &ours {
            eprintln!("{line}");
        }
        eprintln!(
            "(f) failover, graceful exit to the next authentication: ours {rust:?}, the real driver {real:?}; ratio failover_rust_over_real_driver {:.3}",
            rust.as_secs_f64() / real.as_secs_f64()
        );
        second.shutdown().await;
    });
}

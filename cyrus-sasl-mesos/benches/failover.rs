//! High availability, two figures, against a real ZooKeeper (`ci/zookeeper`,
//! through test-support's fixture) on 127.0.0.1:
//!
//! 1. Failover: two of our masters contend (2 s sessions); our follower
//!    (`cyrus_sasl_mesos::follow_leader`) and the real Apache Mesos 1.11
//!    scheduler driver (`../shared/mesos-peer/real-framework zk://...` with
//!    `MR_EVENTS=1`) both authenticate with the leader; the leader exits
//!    gracefully; the time from its exit to each one's next successful
//!    authentication (with the other master) is measured, in the same round.
//!    `ratio failover_rust_over_real_driver VALUE`: the median over rounds of
//!    ours / the real driver's (target at most 1). Without the real peer this
//!    part prints ours only, and no ratio.
//! 2. Throughput through a contending master: the same frameworks
//!    authenticate again and again with a standalone master and with a master
//!    leading a ZooKeeper election, alternately.
//!    `ratio contending_master_over_standalone_throughput VALUE`: the median
//!    over rounds of authentications per second, contending / standalone
//!    (target at least 0.95).
//!
//! Run with `cargo bench --bench failover`. Environment: `FAILOVER_BENCH_ROUNDS`
//! (failovers, default 5), `FAILOVER_BENCH_N` (handshakes per throughput
//! measurement, default 2000), `FAILOVER_BENCH_CLIENTS` (default 32).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::authorization::Acls;
use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions};
use cyrus_sasl_mesos::registration::RegistrationGate;
use cyrus_sasl_mesos::zookeeper::ZkAddress;
use cyrus_sasl_mesos::{
    Credential, FollowEvent, FollowOptions, Follower, Master, MasterAddress, MasterConfig, MasterElection, MasterEvent,
    MasterHandle, MasterOptions, follow_leader,
};
use cyrus_sasl_test_support::zookeeper::ZooKeeper;

#[path = "support/frameworks.rs"]
mod frameworks;
use cyrus_sasl_test_support::bench::{env_number, median, per_handshake_us, print_stat};
use frameworks::Frameworks;

const USER: &str = "framework-a";
const PASSWORD: &str = "s3cret-framework";
const SESSION_TIMEOUT: Duration = Duration::from_secs(2);

fn main() {
    let rounds = env_number("FAILOVER_BENCH_ROUNDS", 5);
    let n = env_number("FAILOVER_BENCH_N", 2000);
    let clients = env_number("FAILOVER_BENCH_CLIENTS", 32);
    assert!(rounds > 0 && n > 0 && clients > 0, "ROUNDS, N and CLIENTS must be positive");
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(&credentials, format!("{USER} {PASSWORD}\n")).unwrap();
    let config = MasterConfig::read_credentials_file(&credentials).unwrap();
    let zk = ZooKeeper::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(failover(&zk, &config, rounds));
    println!();
    runtime.block_on(throughput(&zk, &config, rounds, n, clients));
}

async fn master(config: &MasterConfig, zk: Option<&ZkAddress>) -> MasterHandle {
    let gate = RegistrationGate::new(Arc::new(Acls::from_json(r#"{"permissive": true}"#).unwrap()));
    Master::spawn(MasterOptions {
        registration: Some(gate),
        election: zk.map(|zk| MasterElection { session_timeout: SESSION_TIMEOUT, ..MasterElection::new(zk.clone()) }),
        ..MasterOptions::from_config(config)
    })
    .await
    .expect("our master starts")
}

async fn elected(master: &mut MasterHandle) {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), master.next_event()).await {
            Ok(Some(MasterEvent::Elected)) => return,
            Ok(Some(_)) => continue,
            other => panic!("{} not elected: {other:?}", master.upid()),
        }
    }
}

/// Our follower's next authentication, with `leader`.
async fn authenticated(follower: &mut Follower, leader: &MasterHandle) {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), follower.next()).await {
            Ok(Some(FollowEvent::Authenticated(info))) if info.pid == *leader.upid() => return,
            Ok(Some(_)) => continue,
            other => panic!("our follower did not authenticate with {}: {other:?}", leader.upid()),
        }
    }
}

/// `real-framework` if `../shared/mesos-peer` and its cache are prepared.
fn real_framework() -> Option<PathBuf> {
    let peer = cyrus_sasl_test_support::workspace_root().join("../shared/mesos-peer/real-framework");
    let cache = std::env::var_os("MESOS_PEER_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        base.join("mesos-peer")
    });
    (peer.exists() && cache.join("_scheduler.so").exists()).then_some(peer)
}

/// The real driver with `MR_EVENTS=1`; killed by its PID when dropped.
struct RealDriver {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl RealDriver {
    fn start(program: &PathBuf, url: &str) -> RealDriver {
        let mut child = Command::new(program)
            .args([url, USER, PASSWORD, "120"])
            .env("LIBPROCESS_IP", "127.0.0.1")
            .env("MR_EVENTS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("real-framework runs");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        RealDriver { child, lines }
    }

    async fn authenticated(&mut self, leader: &MasterHandle) {
        let wanted = format!("AUTHENTICATED {}", leader.upid());
        loop {
            match tokio::time::timeout(Duration::from_secs(40), self.lines.recv()).await {
                Ok(Some(line)) if line == wanted => return,
                Ok(Some(_)) => continue,
                other => panic!("the real driver did not authenticate with {}: {other:?}", leader.upid()),
            }
        }
    }
}

impl Drop for RealDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn failover(zk: &ZooKeeper, config: &MasterConfig, rounds: u32) {
    let real = real_framework();
    if real.is_none() {
        println!("the real Mesos peer (../shared/mesos-peer, prepared) is absent: our follower only, no ratio");
    }
    println!("Failover: a leader's graceful exit to the next successful authentication, ms ({rounds} rounds)");
    println!("{:>5}  {:>12}  {:>12}", "round", "rust", "real-driver");
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let path = format!("/failover-{round}");
        let address: ZkAddress = zk.url(&path).parse().unwrap();
        let mut first = master(config, Some(&address)).await;
        elected(&mut first).await;
        let second = master(config, Some(&address)).await;
        let mut driver = real.as_ref().map(|program| RealDriver::start(program, &zk.url(&path)));
        let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
        let scheduler = endpoint.spawn_process("scheduler").unwrap();
        let mut follower = follow_leader(
            &endpoint,
            &MasterAddress::ZooKeeper(address),
            scheduler.upid(),
            Credential::new(USER, PASSWORD),
            &FollowOptions::default(),
        );
        authenticated(&mut follower, &first).await;
        if let Some(driver) = driver.as_mut() {
            driver.authenticated(&first).await;
        }
        // Each side's clock runs from the exit to its own authentication, both
        // waited for at once.
        let shut_at = Instant::now();
        first.shutdown().await;
        let rust = async {
            authenticated(&mut follower, &second).await;
            shut_at.elapsed()
        };
        let real_side = async {
            match driver.as_mut() {
                Some(driver) => {
                    driver.authenticated(&second).await;
                    Some(shut_at.elapsed())
                }
                None => None,
            }
        };
        let (rust, real_time) = tokio::join!(rust, real_side);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        ours.push(ms(rust));
        match real_time {
            Some(real_time) => {
                println!("{round:>5}  {:>12.1}  {:>12.1}", ms(rust), ms(real_time));
                theirs.push(ms(real_time));
                ratios.push(ms(rust) / ms(real_time));
            }
            None => println!("{round:>5}  {:>12.1}  {:>12}", ms(rust), "-"),
        }
        drop(follower);
        drop(driver);
        second.shutdown().await;
    }
    print_stat("failover_rust_over_real_driver", "rust", &ours, "ms");
    if !ratios.is_empty() {
        print_stat("failover_rust_over_real_driver", "real-driver", &theirs, "ms");
        println!("ratio failover_rust_over_real_driver {:.3}", median(&mut ratios));
    }
}

async fn throughput(zk: &ZooKeeper, config: &MasterConfig, rounds: u32, n: u32, clients: u32) {
    let address: ZkAddress = zk.url("/throughput").parse().unwrap();
    let standalone = master(config, None).await;
    let mut contending = master(config, Some(&address)).await;
    elected(&mut contending).await;
    let frameworks = Frameworks::new(clients, None, USER, PASSWORD).await;
    frameworks.round(standalone.upid(), n / 4).await;
    frameworks.round(contending.upid(), n / 4).await;
    println!("Authentications through a master leading an election vs a standalone one ({rounds} rounds x {n})");
    println!("{:>5}  {:>12}  {:>12}   (us per handshake)", "round", "standalone", "contending");
    let (mut alone, mut leading, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let mut measured = [0.0; 2];
        let order = if round % 2 == 0 { [1, 0] } else { [0, 1] };
        for side in order {
            let upid = if side == 0 { standalone.upid() } else { contending.upid() };
            measured[side] = per_handshake_us(frameworks.round(upid, n).await, n);
        }
        println!("{round:>5}  {:>12.2}  {:>12.2}", measured[0], measured[1]);
        alone.push(1e6 / measured[0]);
        leading.push(1e6 / measured[1]);
        // Throughput ratio = inverse time ratio.
        ratios.push(measured[0] / measured[1]);
        // Both masters kept their roles through the round.
        assert!(contending.leading(), "the contending master stopped leading");
        while contending.try_next_event().is_some() {}
    }
    print_stat("contending_master_over_standalone_throughput", "standalone", &alone, "auth/s");
    print_stat("contending_master_over_standalone_throughput", "contending", &leading, "auth/s");
    println!("ratio contending_master_over_standalone_throughput {:.3}", median(&mut ratios));
    standalone.shutdown().await;
    contending.shutdown().await;
}

//! Mesos CRAM-MD5 authentications per second on the master side, over
//! libprocess on loopback: our master (`cyrus_sasl_mesos::Master`, the sans-IO
//! `Authenticator` in one loop) against the real Apache Mesos 1.11
//! `CRAMMD5Authenticator` host (`../shared/mesos-peer/real-master`: one
//! libprocess actor per session, as in a Mesos master), both driven by the same
//! client in the same run.
//!
//! Run with `cargo bench --bench mesos`.
//!
//! Each round runs three measurements, in this order in odd rounds and reversed
//! in even ones:
//! 1. `inproc-memory`: an [`Authenticatee`] and an [`Authenticator`] in this
//!    thread, messages handed from one to the other by hand: the floor, with
//!    no I/O at all;
//! 2. `libprocess-rust`: our master on 127.0.0.1 (its own 2-worker runtime),
//!    in-memory credential store loaded from a credentials file;
//! 3. `libprocess-real`: `real-master` on 127.0.0.1 with the same credentials
//!    file, a separate process (Mesos's own libprocess runtime).
//!
//! The client of 2. and 3. is the same: `MESOS_BENCH_CLIENTS` frameworks, each
//! with its own libprocess endpoint (its own listener and kept connections, as
//! separate framework processes have), on one 2-worker runtime, each
//! authenticating again and again with `cyrus_sasl_mesos::authenticate` (a new
//! `crammd5-authenticatee(N)` process per attempt) until the round's
//! handshakes are done. Every handshake is a complete six-message exchange on
//! fresh SASL connections, and every verdict is checked.
//!
//! It prints a table of the rounds, `stat` lines, and the medians over rounds of
//! each round's ratios:
//! - `ratio libprocess_master_rust_over_real_mesos_throughput VALUE`: our
//!   master's authentications per second / the real Mesos master's (the
//!   target is at least 2);
//! - `ratio mesos_libprocess_over_inprocess VALUE`: our master's time per
//!   handshake over libprocess / in process (what the wire costs).
//!
//! Without `../shared/mesos-peer` (or its prepared cache) the real-Mesos side
//! is skipped with one line, and so is its ratio.
//!
//! Environment: `MESOS_BENCH_N` (handshakes per measurement, default 2000),
//! `MESOS_BENCH_ROUNDS` (default 5), `MESOS_BENCH_CLIENTS` (concurrent
//! frameworks, default 32), `MESOS_BENCH_WORKERS` (worker threads of each
//! runtime, default 2).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use libprocess::Upid;

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{
    Authenticatee, Authenticator, ClientOptions, Credential, MasterConfig, Origin, Outcome, Outcomes, ServerOptions,
};
use cyrus_sasl_mesos::{Master, MasterOptions};

#[path = "support/frameworks.rs"]
mod frameworks;
use cyrus_sasl_test_support::bench as support;
use frameworks::Frameworks;
use support::{enter_threaded_mode, env_number, median, per_handshake_us, print_stat};

const USER: &str = "framework-a";
const PASSWORD: &str = "s3cret-framework";
const PID: &str = "scheduler-bench@127.0.0.1:1";

fn main() {
    enter_threaded_mode();
    let n = env_number("MESOS_BENCH_N", 2000);
    let rounds = env_number("MESOS_BENCH_ROUNDS", 5);
    let clients = env_number("MESOS_BENCH_CLIENTS", 32);
    let workers = env_number("MESOS_BENCH_WORKERS", 2) as usize;
    assert!(n > 0 && rounds > 0 && clients > 0, "N, ROUNDS and CLIENTS must be positive");

    let dir = tempfile::tempdir().expect("create a temp dir");
    let credentials = dir.path().join("credentials");
    std::fs::write(&credentials, format!("{USER} {PASSWORD}\n")).unwrap();
    let store = CredentialStore::from_credentials([(USER.to_owned(), Secret::from(PASSWORD))]).unwrap();
    let mut inproc = InProcess::new(&Config::new().with_credential_store(&store));

    let master_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let client_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let master_config = MasterConfig::read_credentials_file(&credentials).unwrap();
    let rust_master = master_runtime
        .block_on(Master::spawn(MasterOptions {
            sasl: master_config.sasl_config().clone(),
            ..MasterOptions::default()
        }))
        .expect("our master starts");
    let real_master = RealMaster::start(&credentials);
    let frameworks = client_runtime.block_on(Frameworks::new(clients, None, USER, PASSWORD));

    let paths = ["inproc-memory", "libprocess-rust", "libprocess-real"];
    // Warm up every path.
    inproc.round(n / 4);
    client_runtime.block_on(frameworks.round(rust_master.upid(), n / 4));
    if let Some(real) = &real_master {
        client_runtime.block_on(frameworks.round(&real.upid, n / 4));
    }

    println!("Mesos CRAM-MD5 authentications, master side; fresh SASL connections per handshake");
    println!("{rounds} rounds x {n} handshakes per path; {clients} concurrent frameworks over libprocess on 127.0.0.1");
    println!();
    print!("{:>5}", "round");
    for path in paths {
        print!("  {path:>16}");
    }
    println!("   (us per handshake)");
    let mut times: [Vec<f64>; 3] = Default::default();
    let mut rust_over_real = Vec::new();
    let mut wire_over_inproc = Vec::new();
    for round in 1..=rounds {
        let mut measured = [f64::NAN; 3];
        let mut order = [0, 1, 2];
        if round % 2 == 0 {
            order.reverse();
        }
        for path in order {
            let elapsed = match (path, &real_master) {
                (0, _) => inproc.round(n),
                (1, _) => client_runtime.block_on(frameworks.round(rust_master.upid(), n)),
                (_, Some(real)) => client_runtime.block_on(frameworks.round(&real.upid, n)),
                (_, None) => continue,
            };
            measured[path] = per_handshake_us(elapsed, n);
        }
        print!("{round:>5}");
        for value in measured {
            print!("  {value:>16.2}");
        }
        println!();
        for (all, value) in times.iter_mut().zip(measured) {
            all.push(value);
        }
        // Throughput ratio = inverse time ratio.
        rust_over_real.push(measured[2] / measured[1]);
        wire_over_inproc.push(measured[1] / measured[0]);
    }
    print_stat("mesos_libprocess_over_inprocess", "in-process", &times[0], "us/handshake");
    print_stat("mesos_libprocess_over_inprocess", "libprocess-rust", &times[1], "us/handshake");
    println!();
    for (path, mut values) in paths.iter().zip(times.clone()) {
        if values.iter().all(|v| v.is_finite()) {
            let us = median(&mut values);
            println!("{path:<16} median {us:>8.2} us/handshake ({:>7.0} authentications/s)", 1e6 / us);
        }
    }
    println!();
    println!("ratio mesos_libprocess_over_inprocess {:.3}", median(&mut wire_over_inproc));
    if real_master.is_some() {
        let throughput = |times: &[f64]| times.iter().map(|us| 1e6 / us).collect::<Vec<_>>();
        print_stat("libprocess_master_rust_over_real_mesos_throughput", "real-mesos", &throughput(&times[2]), "auth/s");
        print_stat("libprocess_master_rust_over_real_mesos_throughput", "rust", &throughput(&times[1]), "auth/s");
        println!("ratio libprocess_master_rust_over_real_mesos_throughput {:.3}", median(&mut rust_over_real));
    }
    drop(real_master);
    master_runtime.block_on(rust_master.shutdown());
}

/// `../shared/mesos-peer/real-master` on a free loopback port; killed by its
/// PID when dropped.
struct RealMaster {
    child: Child,
    upid: Upid,
}

impl RealMaster {
    fn start(credentials: &Path) -> Option<RealMaster> {
        let peer = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mesos-peer");
        let cache = std::env::var_os("MESOS_PEER_CACHE").map(PathBuf::from).unwrap_or_else(|| {
            let base = std::env::var_os("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
            base.join("mesos-peer")
        });
        if !peer.join("real-master").exists() || !cache.join("_scheduler.so").exists() {
            println!(
                "skipping libprocess-real: {} or its prepared cache {} is absent",
                peer.display(),
                cache.display()
            );
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut child = Command::new(peer.join("real-master"))
            .arg(port.to_string())
            .env("MR_CREDENTIALS", credentials)
            .env("LIBPROCESS_IP", "127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start real-master");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("real-master's first line").unwrap();
        assert_eq!(first, format!("listening: master@127.0.0.1:{port}"));
        // One line per attempt follows: read them so the pipe never fills.
        std::thread::spawn(move || lines.for_each(drop));
        Some(RealMaster { child, upid: format!("master@127.0.0.1:{port}").parse().unwrap() })
    }
}

impl Drop for RealMaster {
    fn drop(&mut self) {
        // Child::kill signals this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A master-side [`Authenticator`] fed by hand from fresh [`Authenticatee`]s.
struct InProcess {
    authenticator: Authenticator<u64>,
    outcomes: Outcomes<u64>,
    client: ClientOptions,
    next_peer: u64,
}

impl InProcess {
    fn new(config: &Config) -> Self {
        let (authenticator, outcomes) = Authenticator::new(config, ServerOptions::default());
        InProcess { authenticator, outcomes, client: ClientOptions::default(), next_peer: 0 }
    }

    /// `n` complete handshakes, each checked; the time they took.
    fn round(&mut self, n: u32) -> Duration {
        let start = Instant::now();
        for _ in 0..n {
            self.handshake();
        }
        start.elapsed()
    }

    fn handshake(&mut self) {
        let peer = self.next_peer;
        self.next_peer += 1;
        let now = Instant::now();
        let mut framework = Authenticatee::new(Credential::new(USER, PASSWORD), PID, &self.client);
        let origin = Origin::new(PID, [127, 0, 0, 1].into());
        framework.start();
        while framework.outcome().is_none() {
            let mut moved = false;
            while let Some(message) = framework.poll_transmit() {
                self.authenticator.handle_message(now, peer, &origin, message);
                moved = true;
            }
            while let Some((_, message)) = self.authenticator.poll_transmit() {
                framework.handle_message("master@127.0.0.1:5050", message);
                moved = true;
            }
            assert!(moved || framework.outcome().is_some(), "the exchange stalled");
        }
        assert!(matches!(framework.outcome(), Some(Outcome::Authenticated { .. })), "{:?}", framework.outcome());
        let outcome = self.outcomes.try_next().expect("an outcome");
        assert_eq!(outcome.outcome.principal(), Some(USER));
    }
}

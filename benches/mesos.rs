//! Mesos-style CRAM-MD5 handshakes per second on the master side: in process,
//! then over loopback TCP with the blocking and the tokio drivers.
//!
//! Run with `cargo bench --bench mesos --features tokio`.
//!
//! Each round runs six measurements, in this order in odd rounds and reversed in
//! even ones, so none always follows the same neighbour:
//! 1. `inproc-memory`: an [`Authenticatee`] and an [`Authenticator`] in this
//!    thread, messages handed from one to the other by hand, the master's
//!    secrets in the in-memory `CredentialStore`;
//! 2. `inproc-sasldb`: the same code with a sasldb made by the real
//!    `saslpasswd2` (the configs differ, nothing else);
//! 3. `tcp-blocking`: the blocking master on 127.0.0.1 and
//!    `MESOS_BENCH_CLIENTS` client threads, each authenticating again and again
//!    over its `MasterLink` (one kept connection, as a framework keeps its
//!    libprocess link), in-memory store;
//! 4. `tcp-async`: the same with the tokio master on a 2-worker runtime, and
//!    client tasks on another 2-worker runtime (a master and its frameworks are
//!    separate processes, each with its own scheduler);
//! 5. and 6. `blocking-fresh`, `async-fresh`: 3. and 4. with a fresh TCP
//!    connection per authentication instead of a kept `MasterLink`.
//!
//! Every handshake is a complete exchange on a fresh SASL server and client
//! (six messages), and each one's verdict is checked. A TCP figure is wall time
//! divided by handshakes, with all clients running at once on this machine's
//! cores; the in-process figures use one thread.
//!
//! It prints a table of the rounds, then the medians over rounds of each
//! round's ratios, as machine-readable lines:
//! - `ratio mesos_inprocess_sasldb_over_memory VALUE`: sasldb time /
//!   in-memory time (`cram_md5` measures the same on bare `Server`/`Client`
//!   as `cram_sasldb_over_memory`);
//! - `ratio mesos_tcp_blocking_over_inprocess VALUE` and
//!   `ratio mesos_tcp_async_over_inprocess VALUE`: time per handshake over TCP
//!   (kept links) / in process, in-memory store both;
//! - the same two with `_fresh_connections` for a connection per handshake.
//!
//! On loopback, the kernel's TCP work dominates: three request/response round
//! trips cost more than the CRAM-MD5 exchange, and a TCP connect and close per
//! handshake cost about twice that again.
//!
//! Environment: `MESOS_BENCH_N` (handshakes per measurement, default 2000),
//! `MESOS_BENCH_ROUNDS` (default 5), `MESOS_BENCH_CLIENTS` (concurrent TCP
//! clients, default 100).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterOptions};
use cyrus_sasl::mesos::{
    Authenticatee, Authenticator, ClientOptions, Credential, Outcomes, ServerOptions, Verdict, blocking,
    tokio as mesos_tokio,
};
use cyrus_sasl::{Config, CredentialStore, Secret};

mod support;
use support::{env_number, median, per_handshake_us, print_stat, saslpasswd2};

const REALM: &str = "EXAMPLE.TEST";
const APP: &str = "cyrus-sasl-rs";
const USER: &str = "framework-a";
const PASSWORD: &str = "s3cret-framework";
const PID: &str = "scheduler-bench@127.0.0.1:1";

fn main() {
    let n = env_number("MESOS_BENCH_N", 2000);
    let rounds = env_number("MESOS_BENCH_ROUNDS", 5);
    let clients = env_number("MESOS_BENCH_CLIENTS", 100);
    let workers = env_number("MESOS_BENCH_WORKERS", 2) as usize;
    assert!(n > 0 && rounds > 0 && clients > 0, "N, ROUNDS and CLIENTS must be positive");

    let dir = tempfile::tempdir().expect("create a temp dir");
    let db = dir.path().join("sasldb2");
    saslpasswd2(&db, APP, REALM, USER, PASSWORD);
    let store = CredentialStore::from_credentials([(USER.to_owned(), Secret::from(PASSWORD))]).unwrap();
    let cram = || Config::new().with("mech_list", "CRAM-MD5").expect("valid option");
    let memory_config = cram().with_credential_store(&store);
    let sasldb_config = cram()
        .with("pwcheck_method", "auxprop")
        .and_then(|c| c.with("auxprop_plugin", "sasldb"))
        .and_then(|c| c.with("sasldb_path", db.to_str().expect("UTF-8 temp path")))
        .expect("valid options");
    let server = ServerOptions { realm: Some(REALM.into()), ..ServerOptions::default() };
    let client = ClientOptions { config: cram(), ..ClientOptions::default() };

    let mut memory = InProcess::new(&memory_config, &server, &client);
    let mut sasldb = InProcess::new(&sasldb_config, &server, &client);
    let master_options = MasterOptions { server: server.clone(), ..MasterOptions::default() };
    let blocking_master =
        blocking::Master::bind("127.0.0.1:0", &memory_config, master_options.clone()).unwrap().spawn().unwrap();
    // The master and its clients are separate processes in a cluster: give each
    // its own runtime (and scheduler), two workers each, on this machine's cores.
    let master_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let async_master = master_runtime.block_on(async {
        mesos_tokio::Master::bind("127.0.0.1:0", &memory_config, master_options).await.unwrap().spawn()
    });
    let client_options =
        AuthenticateOptions { client: client.clone(), max_attempts: 1, ..AuthenticateOptions::default() };

    // Warm up every path: plugin state, the page cache, thread stacks, the allocator.
    memory.round(n / 4);
    sasldb.round(n / 4);
    for reuse in [Reuse::Link, Reuse::Fresh] {
        tcp_blocking(blocking_master.local_addr(), n / 4, clients, reuse, &client_options);
        tcp_async(&runtime, async_master.local_addr(), n / 4, clients, reuse, &client_options);
    }

    println!("Mesos CRAM-MD5 handshakes, master side; fresh SASL connections per handshake");
    println!("{rounds} rounds x {n} handshakes per path; TCP with {clients} concurrent clients on 127.0.0.1");
    println!();
    let paths = ["inproc-memory", "inproc-sasldb", "tcp-blocking", "tcp-async", "blocking-fresh", "async-fresh"];
    print!("{:>5}", "round");
    for path in paths {
        print!("  {path:>14}");
    }
    println!("   (us per handshake)");
    let mut times: [Vec<f64>; 6] = Default::default();
    let mut ratios: [Vec<f64>; 5] = Default::default();
    for round in 1..=rounds {
        let mut measured = [0.0; 6];
        let mut order = [0, 1, 2, 3, 4, 5];
        if round % 2 == 0 {
            order.reverse();
        }
        for path in order {
            let (blocking_addr, async_addr) = (blocking_master.local_addr(), async_master.local_addr());
            let elapsed = match path {
                0 => memory.round(n),
                1 => sasldb.round(n),
                2 => tcp_blocking(blocking_addr, n, clients, Reuse::Link, &client_options),
                3 => tcp_async(&runtime, async_addr, n, clients, Reuse::Link, &client_options),
                4 => tcp_blocking(blocking_addr, n, clients, Reuse::Fresh, &client_options),
                _ => tcp_async(&runtime, async_addr, n, clients, Reuse::Fresh, &client_options),
            };
            measured[path] = per_handshake_us(elapsed, n);
        }
        print!("{round:>5}");
        for value in measured {
            print!("  {value:>14.2}");
        }
        println!();
        for (all, value) in times.iter_mut().zip(measured) {
            all.push(value);
        }
        for (all, value) in ratios.iter_mut().zip(&measured[1..]) {
            all.push(value / measured[0]);
        }
    }
    for (comparison, side, which) in [
        ("mesos_tcp_async", "in-process", 0),
        ("mesos_tcp_async", "tcp-async", 3),
        ("mesos_tcp_blocking", "in-process", 0),
        ("mesos_tcp_blocking", "tcp-blocking", 2),
        ("mesos_inprocess_sasldb_over_memory", "memory", 0),
        ("mesos_inprocess_sasldb_over_memory", "sasldb", 1),
    ] {
        print_stat(comparison, side, &times[which], "us/handshake");
    }
    let medians = times.map(|mut t| median(&mut t));
    print!("{:>5}", "med");
    for value in medians {
        print!("  {value:>14.2}");
    }
    println!();
    println!();
    for (path, us) in paths.iter().zip(medians) {
        println!("{path:<14} median {us:>8.2} us/handshake ({:>7.0} handshakes/s)", 1e6 / us);
    }
    println!();
    let [sasldb_ratio, blocking_ratio, async_ratio, blocking_fresh, async_fresh] = ratios.map(|mut r| median(&mut r));
    println!("ratio mesos_inprocess_sasldb_over_memory {sasldb_ratio:.3}");
    println!("ratio mesos_tcp_blocking_over_inprocess {blocking_ratio:.3}");
    println!("ratio mesos_tcp_async_over_inprocess {async_ratio:.3}");
    println!("ratio mesos_tcp_blocking_fresh_connections_over_inprocess {blocking_fresh:.3}");
    println!("ratio mesos_tcp_async_fresh_connections_over_inprocess {async_fresh:.3}");

    blocking_master.shutdown();
    master_runtime.block_on(async_master.shutdown());
}

/// A master-side [`Authenticator`] fed by hand from fresh [`Authenticatee`]s.
struct InProcess {
    authenticator: Authenticator<u64>,
    outcomes: Outcomes<u64>,
    client: ClientOptions,
    next_peer: u64,
}

impl InProcess {
    fn new(config: &Config, server: &ServerOptions, client: &ClientOptions) -> Self {
        let (authenticator, outcomes) = Authenticator::new(config, server.clone());
        InProcess { authenticator, outcomes, client: client.clone(), next_peer: 0 }
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
        framework.start();
        while framework.result().is_none() {
            let mut moved = false;
            while let Some(message) = framework.poll_transmit() {
                self.authenticator.handle_message(now, peer, message);
                moved = true;
            }
            while let Some((_, message)) = self.authenticator.poll_transmit() {
                framework.handle_message(message);
                moved = true;
            }
            assert!(moved || framework.result().is_some(), "the exchange stalled");
        }
        assert!(matches!(framework.result(), Some(Ok(true))), "{:?}", framework.result());
        let outcome = self.outcomes.try_next().expect("an outcome");
        assert_eq!(outcome.result.expect("a verdict").as_deref(), Some(USER));
    }
}

/// How TCP clients connect.
#[derive(Clone, Copy, Debug)]
enum Reuse {
    /// Each client keeps one `MasterLink` for all its authentications, as a
    /// framework keeps its libprocess link to the master.
    Link,
    /// Each authentication on a fresh connection (`authenticate`).
    Fresh,
}

/// `n` authentications through the blocking driver by `clients` threads at once.
fn tcp_blocking(addr: SocketAddr, n: u32, clients: u32, reuse: Reuse, options: &AuthenticateOptions) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for share in shares(n, clients) {
            scope.spawn(move || {
                let mut link = blocking::MasterLink::new(addr);
                for _ in 0..share {
                    if let Reuse::Fresh = reuse {
                        link.disconnect();
                    }
                    let verdict = link.authenticate(Credential::new(USER, PASSWORD), options);
                    assert_eq!(verdict.expect("a verdict"), Verdict::Authenticated);
                }
            });
        }
    });
    start.elapsed()
}

/// `n` authentications through the tokio driver by `clients` tasks at once.
fn tcp_async(
    runtime: &tokio::runtime::Runtime,
    addr: SocketAddr,
    n: u32,
    clients: u32,
    reuse: Reuse,
    options: &AuthenticateOptions,
) -> Duration {
    runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = shares(n, clients)
            .map(|share| {
                let options = options.clone();
                tokio::spawn(async move {
                    let mut link = mesos_tokio::MasterLink::new(addr);
                    for _ in 0..share {
                        if let Reuse::Fresh = reuse {
                            link.disconnect();
                        }
                        let verdict = link.authenticate(Credential::new(USER, PASSWORD), &options).await;
                        assert_eq!(verdict.expect("a verdict"), Verdict::Authenticated);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a client task");
        }
        start.elapsed()
    })
}

/// `n` split as evenly as possible into `clients` shares.
fn shares(n: u32, clients: u32) -> impl Iterator<Item = u32> {
    (0..clients).map(move |i| n / clients + u32::from(i < n % clients)).filter(|&s| s > 0)
}

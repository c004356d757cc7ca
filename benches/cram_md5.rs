//! CRAM-MD5 handshakes: `cyrus_sasl` versus C calling libsasl2 directly, against
//! a sasldb and against an in-memory store, and the in-memory path on two threads.
//!
//! Run with `cargo bench --bench cram_md5` (timings), or
//! `cargo bench --bench cram_md5 -- --callgrind` (instruction counts under
//! `valgrind --tool=callgrind`). `ci/bench` runs both.
//!
//! One timing run:
//! 1. makes a sasldb in a temp dir with the real `saslpasswd2` (user `alice`,
//!    password `secret`, realm `EXAMPLE.TEST`), and a [`CredentialStore`] with
//!    the same user;
//! 2. compiles `benches/c/cram_md5_reference.c` with the C compiler the `cc`
//!    crate picks (it honours `$CC` and `$CFLAGS`), at `-O2`. In `memory` mode
//!    it serves the secret from its own minimal auxprop plugin, registered with
//!    `sasl_auxprop_add_plugin` and selected with `auxprop_plugin`, answering
//!    `userPassword` with `prop_set`, as the crate's Rust plugin does;
//! 3. runs several rounds of five measurements, in this order in odd rounds and
//!    reversed in even ones, so that each compared pair runs back to back and
//!    neither side always goes first: C against the sasldb, Rust against the
//!    sasldb, C in memory, Rust in memory, Rust in memory on two threads at once.
//!    Each measurement is N complete handshakes (N per thread on two threads),
//!    each on a fresh server and client connection, with the same libsasl2
//!    calls on both sides. The C side runs as a child process that initialises
//!    libsasl2 and warms up before it starts its clock, and prints the elapsed
//!    time itself; the Rust side initialises and warms up once, in this process.
//!    Every handshake's verdict and identity are checked.
//!
//! It prints a table of the rounds and, for `ci/bench`, one line per measured
//! side, `stat COMPARISON SIDE MEDIAN MIN MAX UNIT`, and one line per ratio,
//! `ratio NAME VALUE`, each the median over the rounds of that round's ratio:
//! - `cram_sasldb_rust_over_c`: Rust time / C time against the sasldb;
//! - `cram_memory_rust_over_c`: Rust time / C time in memory;
//! - `cram_sasldb_over_memory`: Rust, sasldb time / in-memory time;
//! - `cram_two_threads_speedup`: Rust in memory, handshakes per second on two
//!   threads / on one.
//!
//! With `--callgrind`, each side runs twice under callgrind, with N and with 2N
//! handshakes after the same setup and warm-up; (instructions(2N) -
//! instructions(N)) / N is the cost of one handshake, setup excluded. It prints
//! `ratio cram_sasldb_instructions_rust_over_c VALUE` and
//! `ratio cram_memory_instructions_rust_over_c VALUE`.
//!
//! Environment: `CRAM_MD5_BENCH_N` (handshakes per measurement, default 4000;
//! with `--callgrind` default 300), `CRAM_MD5_BENCH_ROUNDS` (default 11), `TARGET`
//! (the C compiler's target triple; by default this machine's).

use std::path::Path;
use std::process::Command;
use std::sync::Barrier;
use std::time::{Duration, Instant};

use cyrus_sasl::{
    Client, ClientStep, Config, CredentialStore, Credentials, Identity, Sasldb, Secret, Server, ServerStep,
};

use cyrus_sasl_test_support::bench as support;
use support::{callgrind, env_number, median, per_handshake_us, print_stat, reference_time, saslpasswd2};

const SERVICE: &str = "bench";
const FQDN: &str = "localhost";
const REALM: &str = "EXAMPLE.TEST";
const APP: &str = "cyrus-sasl-rs";
const USER: &str = "alice";
const PASSWORD: &str = "secret";
const EXPECTED_USER: &str = "alice@EXAMPLE.TEST";

/// Untimed handshakes the C child (and the callgrind runs) do before counting.
const C_WARMUP: u32 = 200;

/// Set in the environment of this program's own children under callgrind:
/// `sasldb` or `memory`. Then `CHILD_N` handshakes run after setup and warm-up,
/// against the sasldb at `CHILD_DB`.
const CHILD: &str = "CRAM_MD5_BENCH_CHILD";
const CHILD_N: &str = "CRAM_MD5_BENCH_CHILD_N";
const CHILD_DB: &str = "CRAM_MD5_BENCH_CHILD_DB";

/// Where the secret comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Store {
    Sasldb,
    Memory,
}

impl Store {
    fn arg(self) -> &'static str {
        match self {
            Store::Sasldb => "sasldb",
            Store::Memory => "memory",
        }
    }
}

/// The server and client configs of both paths.
struct Configs {
    sasldb: Config,
    memory: Config,
    client: Config,
}

impl Configs {
    fn new(db: &Path) -> Self {
        let store = CredentialStore::from_credentials([(USER.to_owned(), Secret::from(PASSWORD))]).unwrap();
        let cram = || Config::new().with("mech_list", "CRAM-MD5").expect("valid option");
        Configs {
            sasldb: Sasldb::new(db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").expect("valid option"),
            memory: cram().with_credential_store(&store),
            client: cram(),
        }
    }

    fn server(&self, store: Store) -> &Config {
        match store {
            Store::Sasldb => &self.sasldb,
            Store::Memory => &self.memory,
        }
    }
}

fn main() {
    support::enter_threaded_mode();
    if let Ok(store) = std::env::var(CHILD) {
        return child(&store);
    }
    let callgrind = std::env::args().any(|a| a == "--callgrind");
    let n = env_number("CRAM_MD5_BENCH_N", if callgrind { 300 } else { 4000 });
    let rounds = env_number("CRAM_MD5_BENCH_ROUNDS", 11);
    assert!(n > 0 && rounds > 0, "N and ROUNDS must be positive");

    let dir = tempfile::tempdir().expect("create a temp dir");
    let db = dir.path().join("sasldb2");
    saslpasswd2(&db, APP, REALM, USER, PASSWORD);
    let reference = support::compile_reference("cram_md5_reference", dir.path());
    if callgrind {
        return instruction_counts(&reference, &db, n);
    }

    let configs = Configs::new(&db);
    // Initialise libsasl2 now (the C side does this outside its clock too), then
    // warm up: plugin state, caches, the allocator.
    cyrus_sasl::init(cyrus_sasl::DEFAULT_APP_NAME).expect("initialise libsasl2");
    for store in [Store::Sasldb, Store::Memory] {
        rust_round(C_WARMUP.max(n / 4), &configs, store);
    }
    two_threads(C_WARMUP.max(n / 4), &configs);

    let names = ["C sasldb", "Rust sasldb", "C memory", "Rust memory", "Rust 2 thr"];
    println!("CRAM-MD5, fresh connections per handshake");
    println!(
        "{rounds} rounds x {n} handshakes per measurement (per thread on 2 threads), order reversed in even rounds"
    );
    println!();
    print!("{:>5}", "round");
    for name in names {
        print!("  {name:>11}");
    }
    println!("   (us per handshake; on 2 threads, wall time / handshakes)");
    let mut times: [Vec<f64>; 5] = Default::default();
    let mut ratios: [Vec<f64>; 4] = Default::default();
    for round in 1..=rounds {
        let mut elapsed = [Duration::ZERO; 5];
        let mut order = [0, 1, 2, 3, 4];
        if round % 2 == 0 {
            order.reverse();
        }
        for which in order {
            elapsed[which] = match which {
                0 => c_round(&reference, Store::Sasldb, &db, n),
                1 => rust_round(n, &configs, Store::Sasldb),
                2 => c_round(&reference, Store::Memory, &db, n),
                3 => rust_round(n, &configs, Store::Memory),
                _ => two_threads(n, &configs),
            };
        }
        let secs = elapsed.map(|d| d.as_secs_f64());
        let us = [
            per_handshake_us(elapsed[0], n),
            per_handshake_us(elapsed[1], n),
            per_handshake_us(elapsed[2], n),
            per_handshake_us(elapsed[3], n),
            per_handshake_us(elapsed[4], 2 * n),
        ];
        print!("{round:>5}");
        for value in us {
            print!("  {value:>11.2}");
        }
        println!();
        for (all, value) in times.iter_mut().zip(us) {
            all.push(value);
        }
        ratios[0].push(secs[1] / secs[0]);
        ratios[1].push(secs[3] / secs[2]);
        ratios[2].push(secs[1] / secs[3]);
        // Handshakes per second: 2n in secs[4] against n in secs[3].
        ratios[3].push(2.0 * secs[3] / secs[4]);
    }
    println!();
    let comparisons = [
        ("cram_sasldb", "C", 0),
        ("cram_sasldb", "Rust", 1),
        ("cram_memory", "C", 2),
        ("cram_memory", "Rust", 3),
        ("cram_two_threads", "Rust-1-thread", 3),
        ("cram_two_threads", "Rust-2-threads", 4),
    ];
    for (comparison, side, which) in comparisons {
        print_stat(comparison, side, &times[which], "us/handshake");
    }
    let names =
        ["cram_sasldb_rust_over_c", "cram_memory_rust_over_c", "cram_sasldb_over_memory", "cram_two_threads_speedup"];
    for (name, mut values) in names.into_iter().zip(ratios) {
        println!("ratio {name} {:.3}", median(&mut values));
    }
}

/// One complete handshake through the binding, on fresh connections: the same
/// libsasl2 calls as `handshake()` in the C reference. The credentials are
/// built once per round, as the C reference builds its secret once.
fn handshake(
    server_config: &Config,
    client_config: &Config,
    credentials: &Credentials,
) -> cyrus_sasl::Result<Option<Identity>> {
    let mut server = Server::new(SERVICE, FQDN, Some(REALM), server_config)?;
    let offered = server.mechanism_list()?;
    let mut client = Client::new(SERVICE, FQDN, credentials, client_config)?;
    let start = client.start(&offered)?;
    let mut step = server.start(start.mechanism, start.initial_response)?;
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                let response = match client.step(challenge)? {
                    ClientStep::Continue(response) => response,
                    ClientStep::Complete(response) => response.unwrap_or_default(),
                };
                step = server.step(response)?;
            }
            ServerStep::Authenticated { identity, .. } => return Ok(Some(identity)),
            ServerStep::Rejected(_) => return Ok(None),
        }
    }
}

/// Runs `n` Rust handshakes, checking each, and returns the time they took.
fn rust_round(n: u32, configs: &Configs, store: Store) -> Duration {
    let server_config = configs.server(store);
    let credentials = Credentials::new(USER, PASSWORD);
    let start = Instant::now();
    for _ in 0..n {
        let identity = handshake(server_config, &configs.client, &credentials)
            .unwrap_or_else(|e| panic!("Rust handshake failed: {e}"))
            .unwrap_or_else(|| panic!("Rust handshake was rejected"));
        let ok = identity.user() == EXPECTED_USER && identity.mechanism == "CRAM-MD5" && identity.ssf == 0;
        assert!(ok, "unexpected identity {identity:?}");
    }
    start.elapsed()
}

/// Two threads at once, each running `n` in-memory handshakes on its own
/// connections with the same configs (so the same store); the wall time from
/// their common start to the last one's end.
fn two_threads(n: u32, configs: &Configs) -> Duration {
    let ready = Barrier::new(3);
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|_| {
                scope.spawn(|| {
                    ready.wait();
                    rust_round(n, configs, Store::Memory)
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for thread in threads {
            thread.join().expect("a handshake thread");
        }
        start.elapsed()
    })
}

/// Runs the C reference for `n` timed handshakes and returns the time it reports.
fn c_round(reference: &Path, store: Store, db: &Path, n: u32) -> Duration {
    reference_time(c_command(reference, store, db, n))
}

/// `cram_md5_reference sasldb DB N WARMUP` or `cram_md5_reference memory N WARMUP`.
fn c_command(reference: &Path, store: Store, db: &Path, n: u32) -> Command {
    let mut cmd = Command::new(reference);
    cmd.arg(store.arg());
    if store == Store::Sasldb {
        cmd.arg(db);
    }
    cmd.arg(n.to_string()).arg(C_WARMUP.to_string());
    cmd
}

/// A child of `instruction_counts`: set up, warm up, run `CHILD_N` handshakes.
fn child(store: &str) {
    let store = match store {
        "sasldb" => Store::Sasldb,
        "memory" => Store::Memory,
        other => panic!("{CHILD} must be sasldb or memory, got {other:?}"),
    };
    let n = env_number(CHILD_N, 0);
    let db = std::env::var_os(CHILD_DB).expect("the sasldb path in CRAM_MD5_BENCH_CHILD_DB");
    let configs = Configs::new(Path::new(&db));
    cyrus_sasl::init(cyrus_sasl::DEFAULT_APP_NAME).expect("initialise libsasl2");
    rust_round(C_WARMUP, &configs, store);
    rust_round(n, &configs, store);
}

/// Instructions per handshake under callgrind, Rust against C, both paths.
fn instruction_counts(reference: &Path, db: &Path, n: u32) {
    let out_dir = tempfile::tempdir().expect("create a temp dir");
    let exe = std::env::current_exe().expect("this program's path");
    println!("CRAM-MD5 instructions per handshake under valgrind --tool=callgrind");
    println!("each side run with {n} and {} handshakes after the same setup and {C_WARMUP} warm-up handshakes;", 2 * n);
    println!("per handshake = (instructions({}) - instructions({n})) / {n}", 2 * n);
    println!();
    println!(
        "{:>8}  {:>5}  {:>16}  {:>16}  {:>12}",
        "store",
        "side",
        format!("Ir({n})"),
        format!("Ir({})", 2 * n),
        "Ir/handshake"
    );
    for store in [Store::Sasldb, Store::Memory] {
        let mut per_handshake = [0.0; 2];
        for (i, side) in ["C", "Rust"].into_iter().enumerate() {
            let counts = [n, 2 * n].map(|k| {
                let file = out_dir.path().join(format!("callgrind.{}.{side}.{k}", store.arg()));
                let mut cmd = if side == "C" {
                    c_command(reference, store, db, k)
                } else {
                    let mut cmd = Command::new(&exe);
                    cmd.env(CHILD, store.arg()).env(CHILD_N, k.to_string()).env(CHILD_DB, db);
                    cmd
                };
                callgrind(&mut cmd, &file)
            });
            per_handshake[i] = (counts[1] as f64 - counts[0] as f64) / f64::from(n);
            println!("{:>8}  {side:>5}  {:>16}  {:>16}  {:>12.0}", store.arg(), counts[0], counts[1], per_handshake[i]);
        }
        let [c, rust] = per_handshake;
        let name = format!("cram_{}_instructions", store.arg());
        println!("stat {name} C {c:.0} {c:.0} {c:.0} instructions/handshake");
        println!("stat {name} Rust {rust:.0} {rust:.0} {rust:.0} instructions/handshake");
        println!("ratio {name}_rust_over_c {:.3}", rust / c);
    }
}

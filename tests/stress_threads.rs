//! Threads under stress, each run in a fresh process (libsasl2's init happens
//! once per process, and a naive concurrent `sasl_server_init` corrupts the heap
//! in about 6% of processes):
//! 1. 8 threads race the first use of the library;
//! 2. the same 8 threads then run handshakes at once, each on a server with a
//!    different config (mechanism, credential store or sasldb, realm,
//!    mech_list), checking every outcome exactly;
//! 3. meanwhile another thread reloads the in-memory credential store in a loop.
//!
//! The parent test runs the child body 300 times, two processes at a time, and
//! counts crashes (signals, non-zero exits, hangs) and wrong outcomes.
//!
//! The reloads keep every outcome deterministic: the store alternates between
//! two tables that agree on the principals the handshakes use (alice and bob
//! with the same secrets, mallory absent from both) and differ in a churned
//! principal that no handshake uses, present with a fresh secret in one and
//! absent from the other, so every reload really swaps the table.

use cyrus_sasl_test_support as common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::Instant;

use common::child::{Proc, collect};
use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, Config, CredentialStore, Credentials, Sasldb, Secret, SecurityProperties, Server};

/// Child processes run by the parent test (`CYRUS_SASL_STRESS_RUNS` overrides it).
const RUNS: usize = 300;
/// Child processes at once: the CI machines have 2 cores.
const PARALLEL: usize = 2;
const THREADS: usize = 8;
/// Each thread's rounds of (right secret, wrong secret, unknown user).
const ROUNDS: usize = 3;

const CHILD_ENV: &str = "CYRUS_SASL_STRESS_SASLDB";
const ALICE: &str = "alice-stress-secret";
const BOB: &str = "bob-stress-secret";
const OTHER_REALM: &str = "OTHER.TEST";

/// The two tables the reloader alternates; `n` makes the churned secret new
/// each time.
fn table(n: u64) -> Vec<(String, Secret)> {
    let mut table = vec![("alice".to_owned(), Secret::from(ALICE)), ("bob".to_owned(), Secret::from(BOB))];
    if n % 2 == 0 {
        table.push(("churn".to_owned(), Secret::from(format!("churn-{n}"))));
    }
    table
}

/// One thread's server config and what it expects.
struct Lane {
    name: &'static str,
    config: Config,
    realm: Option<&'static str>,
    user: &'static str,
    secret: &'static str,
    /// The client's DIGEST-MD5 realm answer.
    client_realm: Option<&'static str>,
    /// The exact identity and mechanism of a successful login.
    authid: &'static str,
    mechanism: &'static str,
}

fn lanes(db: &Sasldb, reloaded: &CredentialStore, fixed: &CredentialStore) -> Vec<Lane> {
    let memory = |mechs: &str| Config::new().with("mech_list", mechs).unwrap().with_credential_store(reloaded);
    let on_disk = |mechs: &str| db.config().with("mech_list", mechs).unwrap();
    // PLAIN is refused by default on both sides: allowed explicitly.
    let plain = |config: Config| config.with("security_flags", "noanonymous").unwrap();
    let lane = |name, config, realm, user, secret, authid, mechanism| Lane {
        name,
        config,
        realm,
        user,
        secret,
        client_realm: realm,
        authid,
        mechanism,
    };
    vec![
        lane("cram-memory", memory("CRAM-MD5"), Some(REALM), "alice", ALICE, "alice@EXAMPLE.TEST", "CRAM-MD5"),
        lane("cram-sasldb", on_disk("CRAM-MD5"), Some(REALM), "alice", ALICE, "alice@EXAMPLE.TEST", "CRAM-MD5"),
        lane("scram-memory", memory("SCRAM-SHA-256"), Some(REALM), "bob", BOB, "bob@EXAMPLE.TEST", "SCRAM-SHA-256"),
        lane("digest-memory", memory("DIGEST-MD5"), Some(REALM), "alice", ALICE, "alice@EXAMPLE.TEST", "DIGEST-MD5"),
        // No realm: the store is asked for bob@localhost (libsasl2 appends the
        // FQDN, the plugin strips it), and the identity stays the bare name.
        lane("plain-memory-no-realm", plain(memory("PLAIN")), None, "bob", BOB, "bob", "PLAIN"),
        // Another store and realm, and a mech_list of three: the client picks.
        lane(
            "three-mechs-other-store",
            Config::new().with("mech_list", "CRAM-MD5 DIGEST-MD5 SCRAM-SHA-256").unwrap().with_credential_store(fixed),
            Some(OTHER_REALM),
            "bob",
            BOB,
            "bob@OTHER.TEST",
            "SCRAM-SHA-256",
        ),
        lane("scram-sasldb", on_disk("SCRAM-SHA-256"), Some(REALM), "bob", BOB, "bob@EXAMPLE.TEST", "SCRAM-SHA-256"),
        lane("digest-sasldb", on_disk("DIGEST-MD5"), Some(REALM), "bob", BOB, "bob@EXAMPLE.TEST", "DIGEST-MD5"),
    ]
}

fn login(lane: &Lane, user: &str, secret: &str) -> cyrus_sasl::Result<Outcome> {
    let mut server = Server::new("test", "localhost", lane.realm, &lane.config)?;
    let credentials = Credentials { realm: lane.client_realm.map(str::to_owned), ..Credentials::new(user, secret) };
    // The server config's security flags: PLAIN is allowed on both sides or neither.
    let mut config = Config::new();
    config.set_security(SecurityProperties { flags: lane.config.security().flags, ..*config.security() });
    let mut client = Client::new("test", "localhost", credentials, &config)?;
    handshake(&mut client, &mut server)
}

/// Runs the lane's rounds; returns how many handshakes ran, and every wrong outcome.
fn run_lane(lane: &Lane) -> (usize, Vec<String>) {
    let mut wrong = Vec::new();
    let mut count = 0;
    for round in 0..ROUNDS {
        let cases: [(&str, &str, bool); 3] =
            [(lane.user, lane.secret, true), (lane.user, "wrong-secret", false), ("mallory", lane.secret, false)];
        for (user, secret, accepted) in cases {
            count += 1;
            let outcome = login(lane, user, secret);
            let right = match (&outcome, accepted) {
                (Ok(Outcome::Authenticated(id)), true) => id.authid == lane.authid && id.mechanism == lane.mechanism,
                (Ok(Outcome::Rejected), false) => true,
                _ => false,
            };
            if !right {
                wrong.push(format!("{} round {round}, {user} accepted={accepted}: {outcome:?}", lane.name));
            }
        }
    }
    (count, wrong)
}

/// The body of each child process started below (ignored in a normal run).
#[test]
#[ignore = "run in fresh processes by many_fresh_processes_race_first_use_and_handshake_under_reloads"]
fn child_races_first_use_then_handshakes_under_reloads() {
    let path = std::env::var_os(CHILD_ENV).expect("started by the parent test with the sasldb path");
    // Nothing below touches libsasl2 until the barrier.
    let db = Sasldb::new(&path, REALM).unwrap();
    let reloaded = CredentialStore::from_credentials(table(0)).unwrap();
    let fixed = CredentialStore::from_credentials(table(1)).unwrap();
    let lanes: Vec<Lane> = lanes(&db, &reloaded, &fixed);
    assert_eq!(lanes.len(), THREADS);

    let stop = Arc::new(AtomicBool::new(false));
    let reloads = Arc::new(AtomicU64::new(0));
    let reloader = {
        let (stop, reloads, store) = (Arc::clone(&stop), Arc::clone(&reloads), reloaded.clone());
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(Ordering::Relaxed) {
                store.replace(table(n)).unwrap();
                n += 1;
                std::thread::yield_now();
            }
            reloads.store(n - 1, Ordering::Relaxed);
        })
    };

    let barrier = Barrier::new(THREADS);
    let wrong = Mutex::new(Vec::new());
    let handshakes = AtomicU64::new(0);
    std::thread::scope(|s| {
        for (i, lane) in lanes.iter().enumerate() {
            let (barrier, wrong, handshakes) = (&barrier, &wrong, &handshakes);
            s.spawn(move || {
                barrier.wait();
                // 1. The first use, all at once, through every entry point.
                let first = match i % 4 {
                    0 => Server::new("test", "localhost", lane.realm, &lane.config).map(drop),
                    1 => Client::new("test", "localhost", Credentials::new("x", "y"), &Config::new()).map(drop),
                    2 => cyrus_sasl::installed_mechanisms().map(drop),
                    _ => cyrus_sasl::init(cyrus_sasl::DEFAULT_APP_NAME),
                };
                if let Err(e) = first {
                    wrong.lock().unwrap().push(format!("{}: first use failed: {e}", lane.name));
                }
                // 2. Every thread's handshakes at once.
                barrier.wait();
                let (count, mistakes) = run_lane(lane);
                handshakes.fetch_add(count as u64, Ordering::Relaxed);
                wrong.lock().unwrap().extend(mistakes);
            });
        }
    });
    stop.store(true, Ordering::Relaxed);
    reloader.join().unwrap();
    let wrong = wrong.into_inner().unwrap();
    let reloads = reloads.load(Ordering::Relaxed);
    println!("stress-child handshakes={} wrong={} reloads={reloads}", handshakes.into_inner(), wrong.len());
    assert!(wrong.is_empty(), "wrong outcomes:\n{}", wrong.join("\n"));
    assert!(reloads > 0, "the store was never reloaded during the handshakes");
}

/// What one child process did.
enum Run {
    Passed { handshakes: u64 },
    Failed(String),
}

fn run_child(exe: &std::path::Path, db: &std::path::Path) -> Run {
    let mut command = std::process::Command::new(exe);
    command
        .args(["--exact", "child_races_first_use_then_handshakes_under_reloads", "--ignored", "--nocapture"])
        .env(CHILD_ENV, db)
        .stdout(std::process::Stdio::piped());
    let mut proc = Proc::spawn("stress child", &mut command);
    let stdout = collect(proc.stdout());
    // Waits at most common::child::DEADLINE (20 s); a hang fails the test.
    let (status, stderr) = proc.finish();
    let stdout = stdout.join().unwrap();
    let handshakes = stdout
        .lines()
        .find_map(|l| l.strip_prefix("stress-child handshakes="))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
    match handshakes {
        Some(handshakes) if status.success() && stdout.contains("1 passed") => Run::Passed { handshakes },
        _ => Run::Failed(format!("{status}\n{stdout}{stderr}")),
    }
}

#[test]
#[ignore = "a stress test of 300 processes, about 100 s; ci/test runs it by name"]
fn many_fresh_processes_race_first_use_and_handshake_under_reloads() {
    let runs = std::env::var("CYRUS_SASL_STRESS_RUNS").map_or(RUNS, |n| n.parse().expect("a number of runs"));
    let db = sasldb(&[("alice", ALICE), ("bob", BOB)]);
    let exe = std::env::current_exe().unwrap();
    let started = Instant::now();
    let next = Mutex::new(0..runs);
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..PARALLEL {
            s.spawn(|| {
                while let Some(run) = next.lock().unwrap().next() {
                    let result = run_child(&exe, &db.path);
                    results.lock().unwrap().push((run, result));
                }
            });
        }
    });
    let elapsed = started.elapsed();
    let results = results.into_inner().unwrap();
    let handshakes: u64 =
        results.iter().map(|(_, r)| if let Run::Passed { handshakes } = r { *handshakes } else { 0 }).sum();
    let failures: Vec<String> = results
        .iter()
        .filter_map(|(run, r)| if let Run::Failed(why) = r { Some(format!("run {run}: {why}")) } else { None })
        .collect();
    println!(
        "stress: {runs} processes, {} failed, {handshakes} handshakes checked, {:.1} s",
        failures.len(),
        elapsed.as_secs_f64()
    );
    assert_eq!(results.len(), runs);
    assert!(failures.is_empty(), "{} of {runs} processes failed:\n{}", failures.len(), failures.join("\n"));
}

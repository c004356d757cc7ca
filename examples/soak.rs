//! Memory soak: many CRAM-MD5 handshakes, then how much the resident set grew.
//!
//! ```text
//! cargo run --release --example soak [-- --handshakes N] [--store memory|sasldb]
//! ```
//!
//! It runs N complete CRAM-MD5 handshakes (default 1,000,000) in process through
//! [`Server`] and [`Client`], each on a fresh server and client connection, against
//! either the in-memory [`CredentialStore`] (the default) or a sasldb file created
//! by the real `saslpasswd2` (package `sasl2-bin`) and opened through [`Sasldb`].
//!
//! Every handshake's outcome is checked. Most use the right password and must be
//! accepted as `alice@EXAMPLE.TEST` with mechanism CRAM-MD5; one in every
//! [`WRONG_EVERY`] uses a wrong password and one in every [`WRONG_EVERY`] an
//! unknown user, and both must be rejected, so the rejection path is soaked too.
//! The credentials are written again (the in-memory store is
//! [replaced](CredentialStore::replace), the sasldb user's password is set with
//! [`Sasldb::set_password`]) once before the baseline, at handshake 5,000, and
//! then every [`RELOAD_EVERY`] handshakes, so reloading is soaked too. The early
//! reload matters: the first `sasl_setpass` in a process grows the sasldb run's
//! RSS by about 0.5 MiB once (measured: +0.516 MiB over 1M handshakes when the
//! first reload came after the baseline, flat from there on), and the baseline
//! is meant to come after every code path has run once.
//!
//! The resident set size (`VmRSS` in `/proc/self/status`) is read after
//! [`BASELINE`] handshakes, once allocator arenas, libsasl2's plugin state and
//! caches have settled, and again at the end. The program prints human-readable
//! progress lines and exactly one machine-readable line,
//!
//! ```text
//! ratio soak_rss_delta_mib VALUE
//! ```
//!
//! where VALUE is (RSS after N) - (RSS after 10,000), in MiB; it may be negative.
//! It exits with status 1 when any outcome is wrong or any call fails (without
//! printing the ratio line), with status 2 when the delta is 1.0 MiB or more,
//! and with status 64 on a bad argument.
//! `ci/bench` runs it and greps that line.

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use cyrus_sasl::{Client, ClientStep, Config, CredentialStore, Credentials, Sasldb, Secret, Server, ServerStep};

const SERVICE: &str = "soak";
const FQDN: &str = "localhost";
const REALM: &str = "EXAMPLE.TEST";
const APP: &str = "cyrus-sasl-rs";
const USER: &str = "alice";
const PASSWORD: &str = "s3cret-soak";
const EXPECTED_AUTHID: &str = "alice@EXAMPLE.TEST";

/// Handshakes run before the baseline RSS is taken.
const BASELINE: u64 = 10_000;
/// One handshake in this many uses a wrong password, and one an unknown user.
const WRONG_EVERY: u64 = 50;
/// The credentials are written again every this many handshakes.
const RELOAD_EVERY: u64 = 100_000;
/// The largest RSS growth, in MiB, that passes.
const LIMIT_MIB: f64 = 1.0;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Where the server looks up the secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StoreKind {
    Memory,
    Sasldb,
}

struct Args {
    handshakes: u64,
    store: StoreKind,
}

fn parse_args() -> Result<Args> {
    let mut args = Args { handshakes: 1_000_000, store: StoreKind::Memory };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--handshakes" => {
                let value = it.next().ok_or("--handshakes needs a number")?;
                args.handshakes = value.replace('_', "").parse().map_err(|_| format!("bad --handshakes {value:?}"))?;
            }
            "--store" => {
                args.store = match it.next().as_deref() {
                    Some("memory") => StoreKind::Memory,
                    Some("sasldb") => StoreKind::Sasldb,
                    other => return Err(format!("--store takes memory or sasldb, not {other:?}").into()),
                };
            }
            "-h" | "--help" => {
                println!("usage: soak [--handshakes N (>= {BASELINE}, default 1000000)] [--store memory|sasldb]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?} (try --help)").into()),
        }
    }
    if args.handshakes < BASELINE {
        return Err(format!("--handshakes must be at least {BASELINE}: the baseline RSS is taken there").into());
    }
    Ok(args)
}

/// The credential source the server reads, and how to write it again.
enum Store {
    Memory(CredentialStore),
    Sasldb { db: Sasldb, _dir: tempfile::TempDir },
}

impl Store {
    fn open(kind: StoreKind) -> Result<(Store, Config)> {
        let mech_list = |config: Config| config.with("mech_list", "CRAM-MD5");
        match kind {
            StoreKind::Memory => {
                let store = CredentialStore::from_credentials(credentials())?;
                let config = mech_list(Config::new().with_credential_store(&store))?;
                Ok((Store::Memory(store), config))
            }
            StoreKind::Sasldb => {
                let dir = tempfile::tempdir()?;
                let path = dir.path().join("sasldb2");
                saslpasswd2(&path)?;
                let db = Sasldb::new(&path, REALM)?;
                let config = mech_list(db.config())?;
                Ok((Store::Sasldb { db, _dir: dir }, config))
            }
        }
    }

    /// Writes the same credentials again.
    fn reload(&self) -> Result<()> {
        match self {
            Store::Memory(store) => store.replace(credentials())?,
            Store::Sasldb { db, .. } => db.set_password(USER, &Secret::from(PASSWORD))?,
        }
        Ok(())
    }
}

fn credentials() -> [(String, Secret); 1] {
    [(USER.to_owned(), Secret::from(PASSWORD))]
}

/// `echo -n PASSWORD | saslpasswd2 -f PATH -a APP -u REALM -c -p USER`
fn saslpasswd2(path: &Path) -> Result<()> {
    let mut child = Command::new("saslpasswd2")
        .arg("-f")
        .arg(path)
        .args(["-a", APP, "-u", REALM, "-c", "-p", USER])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run saslpasswd2 (package sasl2-bin): {e}"))?;
    child.stdin.take().ok_or("no stdin")?.write_all(PASSWORD.as_bytes())?;
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("saslpasswd2 failed: {status}").into());
    }
    Ok(())
}

/// What handshake number `i` tries, and so what it must end in.
#[derive(Clone, Copy, Debug)]
enum Attempt {
    Right,
    WrongPassword,
    UnknownUser,
}

impl Attempt {
    fn for_index(i: u64) -> Attempt {
        match i % WRONG_EVERY {
            7 => Attempt::WrongPassword,
            31 => Attempt::UnknownUser,
            _ => Attempt::Right,
        }
    }
}

/// One handshake on fresh connections; `Ok(())` only when the outcome is the
/// one `attempt` must produce.
fn handshake(attempt: Attempt, server_config: &Config, client_config: &Config) -> Result<()> {
    let credentials = match attempt {
        Attempt::Right => Credentials::new(USER, PASSWORD),
        Attempt::WrongPassword => Credentials::new(USER, "not-the-password"),
        Attempt::UnknownUser => Credentials::new("mallory", PASSWORD),
    };
    let mut server = Server::new(SERVICE, FQDN, Some(REALM), server_config)?;
    let offered = server.mechanisms()?.join(" ");
    let mut client = Client::new(SERVICE, FQDN, credentials, client_config)?;
    let start = client.start(&offered)?;
    if start.mechanism != "CRAM-MD5" {
        return Err(format!("client chose {} instead of CRAM-MD5", start.mechanism).into());
    }
    let mut step = server.start(start.mechanism, start.initial_response)?;
    let mut rounds = 0;
    loop {
        rounds += 1;
        if rounds > 4 {
            return Err("CRAM-MD5 did not finish in 4 rounds".into());
        }
        match step {
            ServerStep::Continue(challenge) => {
                let response = match client.step(challenge)? {
                    ClientStep::Continue(response) => response,
                    ClientStep::Complete(response) => response.unwrap_or_default(),
                };
                step = server.step(response)?;
            }
            ServerStep::Authenticated { identity, .. } => {
                return match attempt {
                    Attempt::Right if identity.authid == EXPECTED_AUTHID && identity.mechanism == "CRAM-MD5" => Ok(()),
                    Attempt::Right => Err(format!("accepted as the wrong identity: {identity:?}").into()),
                    _ => Err(format!("{attempt:?} was accepted as {identity:?}").into()),
                };
            }
            ServerStep::Rejected(_) => {
                return match attempt {
                    Attempt::Right => Err("the right password was rejected".into()),
                    _ => Ok(()),
                };
            }
        }
    }
}

/// The resident set size in KiB, from `VmRSS` in `/proc/self/status`.
fn rss_kib() -> Result<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or("no VmRSS in /proc/self/status")?;
    let kib = line.trim_start_matches("VmRSS:").trim().trim_end_matches("kB").trim();
    Ok(kib.parse()?)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn run(args: &Args) -> Result<f64> {
    let (store, server_config) = Store::open(args.store)?;
    let client_config = Config::new().with("mech_list", "CRAM-MD5")?;
    let store_name = match args.store {
        StoreKind::Memory => "in-memory store",
        StoreKind::Sasldb => "sasldb (made by saslpasswd2)",
    };
    println!("soak: {} CRAM-MD5 handshakes against the {store_name}, fresh connections each", args.handshakes);
    println!("soak: RSS at start {:.2} MiB", mib(rss_kib()?));

    let n = args.handshakes;
    let report_every = (n / 10).max(BASELINE);
    let (mut accepted, mut rejected) = (0u64, 0u64);
    let mut baseline_kib = 0;
    let started = Instant::now();
    let (mut since, mut since_done) = (started, 0);
    for i in 0..n {
        if i == BASELINE / 2 || (i > 0 && i % RELOAD_EVERY == 0) {
            store.reload()?;
        }
        let attempt = Attempt::for_index(i);
        handshake(attempt, &server_config, &client_config).map_err(|e| format!("handshake {i} ({attempt:?}): {e}"))?;
        match attempt {
            Attempt::Right => accepted += 1,
            _ => rejected += 1,
        }
        let done = i + 1;
        if done == BASELINE {
            baseline_kib = rss_kib()?;
            (since, since_done) = (Instant::now(), done);
            println!("soak: RSS after {done} handshakes {:.2} MiB (baseline)", mib(baseline_kib));
        } else if done % report_every == 0 {
            let rate = (done - since_done) as f64 / since.elapsed().as_secs_f64();
            (since, since_done) = (Instant::now(), done);
            println!("soak: RSS after {done} handshakes {:.2} MiB ({rate:.0} handshakes/s)", mib(rss_kib()?));
        }
    }
    let elapsed = started.elapsed();
    let end_kib = rss_kib()?;
    let delta = mib(end_kib) - mib(baseline_kib);
    println!(
        "soak: {n} handshakes in {:.1} s ({:.0}/s): {accepted} accepted, {rejected} rejected, all as expected",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    println!(
        "soak: RSS after {BASELINE} {:.2} MiB, after {n} {:.2} MiB, delta {delta:+.3} MiB (limit < {LIMIT_MIB} MiB)",
        mib(baseline_kib),
        mib(end_kib)
    );
    Ok(delta)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("soak: {e}");
            return ExitCode::from(64);
        }
    };
    match run(&args) {
        Ok(delta) => {
            println!("ratio soak_rss_delta_mib {delta:.3}");
            if delta >= LIMIT_MIB {
                eprintln!("soak: FAIL: RSS grew by {delta:.3} MiB, limit {LIMIT_MIB} MiB");
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("soak: FAIL: {e}");
            ExitCode::FAILURE
        }
    }
}

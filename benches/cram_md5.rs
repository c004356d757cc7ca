//! CRAM-MD5 against a sasldb: `cyrus_sasl` versus C calling libsasl2 directly.
//!
//! Run with `cargo bench --bench cram_md5`.
//!
//! One run:
//! 1. makes a sasldb in a temp dir with the real `saslpasswd2` (user `alice`,
//!    password `secret`, realm `EXAMPLE.TEST`);
//! 2. compiles `benches/c/cram_md5_reference.c` with the C compiler the `cc`
//!    crate picks (it honours `$CC` and `$CFLAGS`), at `-O2`;
//! 3. alternates the two sides for several rounds, C first in odd rounds and
//!    Rust first in even ones. Each round is N complete handshakes per side, each
//!    on a fresh server and client connection, with the same libsasl2 calls on
//!    both sides. The C side runs as a child process that initialises libsasl2
//!    and warms up before it starts its clock, and prints the elapsed time
//!    itself; the Rust side initialises and warms up once, in this process.
//!
//! It prints a table of the rounds and one machine-readable line,
//! `ratio cram_sasldb_rust_over_c VALUE`: the median over the rounds of
//! (Rust time / C time). 1.00 means the binding adds nothing.
//!
//! Environment: `CRAM_MD5_BENCH_N` (handshakes per round and side, default 2000),
//! `CRAM_MD5_BENCH_ROUNDS` (default 7), `TARGET` (the C compiler's target triple;
//! by default this machine's, as `ARCH-unknown-OS-gnu`).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cyrus_sasl::{Client, ClientStep, Config, Credentials, Identity, Sasldb, Server, ServerStep};

mod support;
use support::{env_number, median, per_handshake_us};

const SERVICE: &str = "bench";
const FQDN: &str = "localhost";
const REALM: &str = "EXAMPLE.TEST";
const APP: &str = "cyrus-sasl-rs";
const USER: &str = "alice";
const PASSWORD: &str = "secret";
const EXPECTED_USER: &str = "alice@EXAMPLE.TEST";

/// Untimed handshakes the C child runs before starting its clock.
const C_WARMUP: u32 = 200;

fn main() {
    let n = env_number("CRAM_MD5_BENCH_N", 2000);
    let rounds = env_number("CRAM_MD5_BENCH_ROUNDS", 7);
    assert!(n > 0 && rounds > 0, "N and ROUNDS must be positive");

    let dir = tempfile::tempdir().expect("create a temp dir");
    let db = dir.path().join("sasldb2");
    saslpasswd2(&db);
    let reference = support::compile_reference("cram_md5_reference", dir.path());

    let server_config = Sasldb::new(&db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").expect("valid option");
    let client_config = Config::new().with("mech_list", "CRAM-MD5").expect("valid option");

    // Initialise libsasl2 now (the C side does this outside its clock too), then
    // warm up: plugin state, caches, the allocator.
    cyrus_sasl::init(cyrus_sasl::DEFAULT_APP_NAME).expect("initialise libsasl2");
    rust_round(C_WARMUP.max(n / 4), &server_config, &client_config);

    println!("CRAM-MD5 against sasldb, fresh connections per handshake");
    println!("{rounds} rounds x {n} handshakes per side, C first in odd rounds, Rust first in even ones");
    println!();
    println!("{:>5}  {:>12}  {:>12}  {:>8}", "round", "C us/hs", "Rust us/hs", "Rust/C");
    let (mut c_times, mut rust_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        // Alternate which side goes first, so neither always runs right after
        // the other's process start or exit.
        let (c, rust) = if round % 2 == 1 {
            let c = c_round(&reference, &db, n);
            (c, rust_round(n, &server_config, &client_config))
        } else {
            let rust = rust_round(n, &server_config, &client_config);
            (c_round(&reference, &db, n), rust)
        };
        let (c_us, rust_us) = (per_handshake_us(c, n), per_handshake_us(rust, n));
        let ratio = rust.as_secs_f64() / c.as_secs_f64();
        println!("{round:>5}  {c_us:>12.2}  {rust_us:>12.2}  {ratio:>8.3}");
        c_times.push(c_us);
        rust_times.push(rust_us);
        ratios.push(ratio);
    }
    let (c_med, rust_med, ratio_med) = (median(&mut c_times), median(&mut rust_times), median(&mut ratios));
    println!("{:>5}  {c_med:>12.2}  {rust_med:>12.2}  {ratio_med:>8.3}", "med");
    println!();
    println!("C    median {c_med:.2} us/handshake ({:.0} handshakes/s)", 1e6 / c_med);
    println!("Rust median {rust_med:.2} us/handshake ({:.0} handshakes/s)", 1e6 / rust_med);
    println!("ratio cram_sasldb_rust_over_c {ratio_med:.3}");
}

/// One complete handshake through the binding, on fresh connections: the same
/// libsasl2 calls as `handshake()` in the C reference.
fn handshake(server_config: &Config, client_config: &Config) -> cyrus_sasl::Result<Option<Identity>> {
    let mut server = Server::new(SERVICE, FQDN, Some(REALM), server_config)?;
    let offered = server.mechanisms()?.join(" ");
    let mut client = Client::new(SERVICE, FQDN, Credentials::new(USER, PASSWORD), client_config)?;
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
            ServerStep::Rejected => return Ok(None),
        }
    }
}

/// Runs `n` Rust handshakes, checking each, and returns the time they took.
fn rust_round(n: u32, server_config: &Config, client_config: &Config) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let identity = handshake(server_config, client_config)
            .unwrap_or_else(|e| panic!("Rust handshake failed: {e}"))
            .unwrap_or_else(|| panic!("Rust handshake was rejected"));
        let ok = identity.user() == EXPECTED_USER && identity.mechanism == "CRAM-MD5" && identity.ssf == 0;
        assert!(ok, "unexpected identity {identity:?}");
    }
    start.elapsed()
}

/// Runs the C reference for `n` timed handshakes and returns the time it reports.
fn c_round(reference: &Path, db: &Path, n: u32) -> Duration {
    let out = Command::new(reference)
        .arg(db)
        .arg(n.to_string())
        .arg(C_WARMUP.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", reference.display()));
    assert!(out.status.success(), "the C reference failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let nanos: u64 =
        text.trim().parse().unwrap_or_else(|_| panic!("the C reference printed {text:?}, expected nanoseconds"));
    Duration::from_nanos(nanos)
}

/// `echo -n secret | saslpasswd2 -f DB -a cyrus-sasl-rs -u EXAMPLE.TEST -c -p alice`
fn saslpasswd2(db: &Path) {
    let mut child = Command::new("saslpasswd2")
        .arg("-f")
        .arg(db)
        .args(["-a", APP, "-u", REALM, "-c", "-p", USER])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run saslpasswd2 (Debian/Ubuntu package sasl2-bin)");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(PASSWORD.as_bytes()).expect("write the password");
    drop(stdin);
    let status = child.wait().expect("wait for saslpasswd2");
    assert!(status.success(), "saslpasswd2 failed: {status}");
}

//! GSSAPI handshakes against the test KDC: `cyrus_sasl` versus C calling
//! libsasl2 directly, in the same run.
//!
//! Run with `cargo bench --bench gssapi_handshake`. The handshakes here use
//! the environment's keytab and ticket cache, not the `keytab`/`ccache` options.
//!
//! One run:
//! 1. starts a throwaway KDC with `ci/kdc` (test-support's kdc module), with alice's
//!    ticket-granting ticket in its credential cache and this process's
//!    environment pointing at it;
//! 2. compiles `benches/c/gssapi_reference.c` with the C compiler the `cc`
//!    crate picks, at `-O2`;
//! 3. alternates the two sides for several rounds. Each round is N complete
//!    GSSAPI handshakes per side (alice to `mesos/localhost`, max_ssf 256, so
//!    SSF 256), each on a fresh server and client connection, with the same
//!    libsasl2 calls on both sides. The service ticket is in the credential
//!    cache after the first handshake, so the KDC is not asked again: this
//!    measures libsasl2 + GSS-API + the keytab, not the KDC.
//!
//! It prints a table of the rounds, the handshake rates, and one
//! machine-readable line, `ratio gssapi_rust_over_c VALUE` (median over the
//! rounds of Rust time / C time).
//!
//! With `--callgrind` (`ci/bench --callgrind`) it counts instructions instead:
//! each side runs under `valgrind --tool=callgrind` twice, after the same set-up
//! and warm-up, with N and with 2N handshakes (N = `GSSAPI_BENCH_N`, default
//! 100 here), and prints `ratio gssapi_instructions_rust_over_c VALUE` from
//! (instructions(2N) - instructions(N)) / N per side. The Rust side is this
//! program, re-run as a child with `GSSAPI_BENCH_CHILD_N`.
//!
//! Environment: `GSSAPI_BENCH_N` (handshakes per round and side, default 1000),
//! `GSSAPI_BENCH_ROUNDS` (default 5). Without `--bench` (as in
//! `cargo test --benches`) it runs one short round as a smoke test.

use cyrus_sasl_test_support as common;

use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use common::kdc::{self, HOST, SERVICE, USER, kdc};
use common::{Outcome, handshake};
use cyrus_sasl::{Client, Config, Credentials, Server};
use libtest_mimic::{Arguments, Failed, Measurement, Trial};

use cyrus_sasl_test_support::bench as support;
use support::{callgrind, env_number, median, per_handshake_us, print_stat, reference_time};

/// Untimed handshakes the C child runs before starting its clock.
const C_WARMUP: u32 = 50;

/// Set in the environment of this program's own children under callgrind: the
/// number of handshakes to run after the warm-up. The KDC's environment is
/// inherited from the parent.
const CHILD_N: &str = "GSSAPI_BENCH_CHILD_N";

fn main() -> ExitCode {
    if std::env::var_os(CHILD_N).is_some() {
        child();
        return ExitCode::SUCCESS;
    }
    let callgrind = std::env::args().any(|a| a == "--callgrind");
    // One trial, run on the main thread as the C reference runs its handshakes:
    // glibc gives every other thread its own malloc arena, whose frees and
    // callocs cost about 34,000 more instructions per GSSAPI handshake.
    let mut args = Arguments::from_iter(std::env::args().filter(|a| a != "--callgrind"));
    args.test_threads = Some(1);
    let trial = if callgrind {
        Trial::bench("gssapi_instructions_rust_versus_c", instruction_counts)
    } else {
        Trial::bench("gssapi_handshake_rust_versus_c", bench)
    };
    kdc::run_with_kdc_args(args, vec![trial])
}

fn bench(test_mode: bool) -> Result<Option<Measurement>, Failed> {
    // Not in main: run_with_kdc sets the KDC's environment while the process
    // still has one thread.
    support::enter_threaded_mode();
    let (n, rounds) =
        if test_mode { (10, 1) } else { (env_number("GSSAPI_BENCH_N", 1000), env_number("GSSAPI_BENCH_ROUNDS", 5)) };
    assert!(n > 0 && rounds > 0, "N and ROUNDS must be positive");
    let dir = tempfile::tempdir()?;
    let reference = support::compile_reference("gssapi_reference", dir.path());
    let config: Config = "mech_list: GSSAPI\nmax_ssf: 256\n".parse()?;

    // Initialise libsasl2 and put the service ticket in the cache, then warm up.
    rust_round(C_WARMUP.max(n / 4), &config);

    println!();
    println!("GSSAPI as {USER} to {SERVICE}/{HOST}, SSF 256, fresh connections per handshake, service ticket cached");
    println!("{rounds} rounds x {n} handshakes per side, C first in odd rounds, Rust first in even ones");
    println!();
    println!("{:>5}  {:>12}  {:>12}  {:>8}", "round", "C us/hs", "Rust us/hs", "Rust/C");
    let (mut c_times, mut rust_times, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (c, rust) = if round % 2 == 1 {
            let c = c_round(&reference, n);
            (c, rust_round(n, &config))
        } else {
            let rust = rust_round(n, &config);
            (c_round(&reference, n), rust)
        };
        let (c_us, rust_us) = (per_handshake_us(c, n), per_handshake_us(rust, n));
        let ratio = rust.as_secs_f64() / c.as_secs_f64();
        println!("{round:>5}  {c_us:>12.1}  {rust_us:>12.1}  {ratio:>8.3}");
        c_times.push(c_us);
        rust_times.push(rust_us);
        ratios.push(ratio);
    }
    print_stat("gssapi", "C", &c_times, "us/handshake");
    print_stat("gssapi", "Rust", &rust_times, "us/handshake");
    let (c_med, rust_med, ratio_med) = (median(&mut c_times), median(&mut rust_times), median(&mut ratios));
    println!("{:>5}  {c_med:>12.1}  {rust_med:>12.1}  {ratio_med:>8.3}", "med");
    println!();
    println!("C    median {c_med:.1} us/handshake ({:.0} handshakes/s)", 1e6 / c_med);
    println!("Rust median {rust_med:.1} us/handshake ({:.0} handshakes/s)", 1e6 / rust_med);
    println!("ratio gssapi_rust_over_c {ratio_med:.3}");
    if test_mode {
        return Ok(None);
    }
    Ok(Some(Measurement { avg: (rust_med * 1000.0) as u64, variance: 0 }))
}

/// A child of `instruction_counts`: warm up, then run `CHILD_N` handshakes.
fn child() {
    support::enter_threaded_mode();
    let n = env_number(CHILD_N, 0);
    let config: Config = "mech_list: GSSAPI\nmax_ssf: 256\n".parse().expect("a valid config");
    rust_round(C_WARMUP, &config);
    rust_round(n, &config);
}

/// Instructions per GSSAPI handshake under callgrind, Rust against C.
fn instruction_counts(test_mode: bool) -> Result<Option<Measurement>, Failed> {
    let n = if test_mode { 2 } else { env_number("GSSAPI_BENCH_N", 100) };
    let dir = tempfile::tempdir()?;
    let reference = support::compile_reference("gssapi_reference", dir.path());
    let exe = std::env::current_exe()?;
    println!();
    println!("GSSAPI instructions per handshake under valgrind --tool=callgrind");
    println!(
        "each side run with {n} and {} handshakes after the same set-up and {C_WARMUP} warm-up handshakes;",
        2 * n
    );
    println!("per handshake = (instructions({}) - instructions({n})) / {n}", 2 * n);
    println!();
    println!("{:>5}  {:>16}  {:>16}  {:>12}", "side", format!("Ir({n})"), format!("Ir({})", 2 * n), "Ir/handshake");
    let mut per_handshake = [0.0; 2];
    for (i, side) in ["C", "Rust"].into_iter().enumerate() {
        let counts = [n, 2 * n].map(|k| {
            let mut cmd = if side == "C" {
                let mut cmd = Command::new(&reference);
                cmd.arg(k.to_string()).arg(C_WARMUP.to_string()).envs(kdc().env());
                cmd
            } else {
                let mut cmd = Command::new(&exe);
                cmd.env(CHILD_N, k.to_string());
                cmd
            };
            callgrind(&mut cmd, &dir.path().join(format!("callgrind.{side}.{k}")))
        });
        per_handshake[i] = (counts[1] as f64 - counts[0] as f64) / f64::from(n);
        println!("{side:>5}  {:>16}  {:>16}  {:>12.0}", counts[0], counts[1], per_handshake[i]);
    }
    let [c, rust] = per_handshake;
    println!("stat gssapi_instructions C {c:.0} {c:.0} {c:.0} instructions/handshake");
    println!("stat gssapi_instructions Rust {rust:.0} {rust:.0} {rust:.0} instructions/handshake");
    println!("ratio gssapi_instructions_rust_over_c {:.3}", rust / c);
    // libtest-mimic wants a measurement in bench mode; it prints this one as
    // "ns/iter", but it is the Rust side's instructions per handshake.
    Ok((!test_mode).then_some(Measurement { avg: rust as u64, variance: 0 }))
}

/// Runs `n` Rust handshakes, checking each, and returns the time they took.
fn rust_round(n: u32, config: &Config) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        let mut server = Server::new(SERVICE, HOST, None, config).expect("Server::new");
        let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), config).expect("Client::new");
        match handshake(&mut client, &mut server) {
            Ok(Outcome::Authenticated(identity)) => {
                assert!(identity.user() == USER && identity.ssf == 256, "unexpected identity {identity:?}");
            }
            other => panic!("Rust handshake failed: {other:?}"),
        }
    }
    start.elapsed()
}

/// Runs the C reference for `n` timed handshakes, in the KDC's environment, and
/// returns the time it reports.
fn c_round(reference: &Path, n: u32) -> Duration {
    let mut cmd = Command::new(reference);
    cmd.arg(n.to_string()).arg(C_WARMUP.to_string()).envs(kdc().env());
    reference_time(cmd)
}

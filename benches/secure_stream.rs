//! The GSSAPI security layer at SSF 256: `SecureStream` versus C calling
//! `sasl_encode`/`sasl_decode` directly.
//!
//! Run with `cargo bench --bench secure_stream`.
//!
//! One run:
//! 1. starts a real MIT KDC on 127.0.0.1 in a temp dir with `ci/kdc start`
//!    (stopped afterwards with `ci/kdc stop`, which kills the PID it recorded,
//!    also when the measurement fails), then runs the measurement in a child
//!    copy of this program with the KDC's environment (`KRB5_CONFIG`,
//!    `KRB5_KTNAME`, `KRB5CCNAME`, `KRB5RCACHETYPE`): krb5 reads it from the
//!    process environment, and setting it in this process would need `unsafe`;
//! 2. compiles `benches/c/secure_stream_reference.c` with the C compiler the
//!    `cc` crate picks, at `-O2`;
//! 3. alternates the two sides for several rounds (C first in odd rounds, Rust
//!    first in even ones). Each side, in each round, authenticates a client to a
//!    server with GSSAPI at SSF 256 (maxbufsize 65536 both ways; not timed),
//!    then times:
//!    - encode: the client side writes the data, `SASL_MAXOUTBUF` bytes per
//!      frame, into an in-memory wire buffer. Rust: `write_all` on a
//!      `SecureStream<Vec<u8>>`. C: `sasl_encode` per chunk, `memcpy` to the
//!      buffer.
//!    - decode: the server side reads it back, one frame at a time, header
//!      checked before the body is copied, into a receive buffer. Rust: `read`
//!      on a `SecureStream<&[u8]>` into 64 KiB windows of the receive buffer.
//!      C: header, check, `memcpy` of the frame, `sasl_decode`, `memcpy` of the
//!      plaintext.
//!
//!    Both check the received data afterwards, outside the clock. Both warm up
//!    first on other connections: the C child runs the whole sequence untimed
//!    with up to 4 MiB before its timed run; the Rust side runs one untimed
//!    round before the first.
//!
//! It prints a table of the rounds and one machine-readable line,
//! `ratio securestream_rust_over_c_throughput VALUE`: the median over the
//! rounds of (Rust throughput / C throughput) for encode plus decode. 1.00 means
//! the binding and its framing add nothing.
//!
//! Environment: `SECURE_STREAM_BENCH_MIB` (data per round and side, default 16),
//! `SECURE_STREAM_BENCH_ROUNDS` (default 11), `TARGET` (the C compiler's target
//! triple; by default this machine's).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use cyrus_sasl::{Client, Config, Credentials, SecureStream, SecurityLayer, Server};

use cyrus_sasl_test_support::bench as support;
use support::{env_number, median, print_stat};

const SERVICE: &str = "mesos";
const HOST: &str = "localhost";
/// Set in the child that measures; holds the KDC directory.
const CHILD: &str = "SECURE_STREAM_BENCH_KDC_DIR";

fn main() -> ExitCode {
    match std::env::var_os(CHILD) {
        Some(_) => {
            measure();
            ExitCode::SUCCESS
        }
        None => with_kdc(),
    }
}

/// Starts the KDC, runs the measurement in a child with its environment, and
/// stops the KDC, whatever happened.
fn with_kdc() -> ExitCode {
    let dir = tempfile::Builder::new().prefix("bench-kdc-").tempdir().expect("a temp dir for the KDC");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("ci/kdc");
    let kdc = Kdc { script, dir };
    let out = Command::new(&kdc.script).arg("start").arg(kdc.dir.path()).output().expect("run ci/kdc");
    assert!(
        out.status.success(),
        "ci/kdc start failed; the benchmark needs a KDC:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let status = Command::new(std::env::current_exe().expect("this program's path"))
        .envs(kdc_env(kdc.dir.path()))
        .env(CHILD, kdc.dir.path())
        .status()
        .expect("run the measurement");
    drop(kdc);
    if status.success() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// A running KDC, stopped by `ci/kdc stop` (which kills the PID in
/// DIR/kdc.pid) when dropped.
struct Kdc {
    script: PathBuf,
    dir: tempfile::TempDir,
}

impl Drop for Kdc {
    fn drop(&mut self) {
        match Command::new(&self.script).arg("stop").arg(self.dir.path()).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("ci/kdc stop failed: {}", String::from_utf8_lossy(&out.stderr)),
            Err(e) => eprintln!("cannot run ci/kdc stop: {e}"),
        }
    }
}

/// What krb5 needs to use the KDC in `dir`: the `env` file `ci/kdc` writes.
fn kdc_env(dir: &Path) -> Vec<(String, String)> {
    let d = dir.display();
    vec![
        ("KRB5_CONFIG".into(), format!("{d}/krb5.conf")),
        ("KRB5_KDC_PROFILE".into(), format!("{d}/kdc.conf")),
        ("KRB5_KTNAME".into(), format!("FILE:{d}/service.keytab")),
        ("KRB5CCNAME".into(), format!("FILE:{d}/ccache")),
        ("KRB5RCACHETYPE".into(), "none".into()),
    ]
}

/// Encode and decode times of one side in one round.
#[derive(Clone, Copy)]
struct Times {
    encode: Duration,
    decode: Duration,
    /// Bytes on the wire: the same on both sides, or they did different work.
    wire: usize,
}

impl Times {
    fn total(self) -> Duration {
        self.encode + self.decode
    }
}

fn measure() {
    support::enter_threaded_mode();
    let mib = env_number("SECURE_STREAM_BENCH_MIB", 16);
    let rounds = env_number("SECURE_STREAM_BENCH_ROUNDS", 11);
    assert!(mib > 0 && rounds > 0, "MIB and ROUNDS must be positive");
    let total = mib as usize * 1024 * 1024;

    let build = tempfile::tempdir().expect("a temp dir for the C reference");
    let reference = support::compile_reference("secure_stream_reference", build.path());
    // Byte i is (i * 31 + i / 65536) mod 256, as in the C reference.
    let data: Vec<u8> = (0..total).map(|i| (i.wrapping_mul(31) + i / 65536) as u8).collect();
    let mut bench = RustSide::new(total);
    // Warm up (libsasl2, krb5, the allocator, the page tables), untimed.
    let wire = bench.round(&data).wire;
    println!(
        "GSSAPI security layer, SSF 256, maxbufsize 65536: {mib} MiB per round and side, {wire} bytes on the wire"
    );
    println!("{rounds} rounds, C first in odd rounds, Rust first in even ones; times in ms, throughput in MiB/s");
    println!();
    println!(
        "{:>5}  {:>8} {:>8} {:>8}  {:>8} {:>8} {:>8}  {:>7}",
        "round", "C enc", "C dec", "C MiB/s", "Rs enc", "Rs dec", "Rs MiB/s", "Rust/C"
    );
    let (mut c_rates, mut rust_rates, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let (c, rust) = if round % 2 == 1 {
            let c = c_round(&reference, total);
            (c, bench.round(&data))
        } else {
            let rust = bench.round(&data);
            (c_round(&reference, total), rust)
        };
        assert_eq!(c.wire, rust.wire, "C and Rust put different byte counts on the wire");
        let rate = |t: Times| mib as f64 / t.total().as_secs_f64();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        let ratio = rate(rust) / rate(c);
        println!(
            "{round:>5}  {:>8.1} {:>8.1} {:>8.0}  {:>8.1} {:>8.1} {:>8.0}  {ratio:>7.3}",
            ms(c.encode),
            ms(c.decode),
            rate(c),
            ms(rust.encode),
            ms(rust.decode),
            rate(rust)
        );
        c_rates.push(rate(c));
        rust_rates.push(rate(rust));
        ratios.push(ratio);
    }
    print_stat("securestream", "C", &c_rates, "MiB/s");
    print_stat("securestream", "Rust", &rust_rates, "MiB/s");
    let (c_med, rust_med, ratio_med) = (median(&mut c_rates), median(&mut rust_rates), median(&mut ratios));
    println!("{:>5}  {:>26.0}  {:>26.0}  {ratio_med:>7.3}", "med", c_med, rust_med);
    println!();
    println!("C    median {c_med:.0} MiB/s (encode + decode)");
    println!("Rust median {rust_med:.0} MiB/s (encode + decode, through SecureStream)");
    println!("ratio securestream_rust_over_c_throughput {ratio_med:.3}");
}

/// The Rust side's buffers, reused across rounds like the C side's are.
struct RustSide {
    wire: Vec<u8>,
    received: Vec<u8>,
}

impl RustSide {
    fn new(total: usize) -> Self {
        // Room for the data plus per-frame overhead, every page touched once,
        // as the C side does with memset.
        let mut wire = vec![1u8; total + (total / 65000 + 1) * 256];
        wire.clear();
        RustSide { wire, received: vec![0; total] }
    }

    /// One handshake, then encode and decode of `data` through SecureStream.
    fn round(&mut self, data: &[u8]) -> Times {
        let (client, server) = layers();
        assert_eq!((client.ssf(), server.ssf()), (256, 256), "the benchmark is for SSF 256");

        self.wire.clear();
        let start = Instant::now();
        let mut sender = SecureStream::new(std::mem::take(&mut self.wire), client);
        sender.write_all(data).expect("encode");
        sender.flush().expect("flush");
        let encode = start.elapsed();
        self.wire = std::mem::take(sender.get_mut());

        let start = Instant::now();
        let mut receiver = SecureStream::new(&self.wire[..], server);
        let mut at = 0;
        while at < data.len() {
            let end = (at + 65536).min(data.len());
            let n = receiver.read(&mut self.received[at..end]).expect("decode");
            assert!(n > 0, "the wire ended early");
            at += n;
        }
        let decode = start.elapsed();
        assert!(self.received == data, "the decoded data differs from the data sent");
        Times { encode, decode, wire: self.wire.len() }
    }
}

/// A GSSAPI client and server authenticated to each other in this process,
/// with the same settings as the C reference: `(client, server)` layers.
fn layers() -> (SecurityLayer, SecurityLayer) {
    let config = Config::new()
        .with("mech_list", "GSSAPI")
        .and_then(|c| c.with("max_ssf", "256"))
        .and_then(|c| c.with("maxbufsize", "65536"))
        .expect("valid options");
    let server = Server::new(SERVICE, HOST, None, &config).expect("server");
    let client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config).expect("client");
    cyrus_sasl_test_support::secure_stream::layers(client, server)
}

/// Runs the C reference once and returns the times it reports.
fn c_round(reference: &Path, total: usize) -> Times {
    let out = Command::new(reference)
        .arg(total.to_string())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", reference.display()));
    assert!(out.status.success(), "the C reference failed: {}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<u64> = text.split_whitespace().map(|f| f.parse().expect("a number")).collect();
    let [encode, decode, wire] = fields[..] else { panic!("the C reference printed {text:?}") };
    Times { encode: Duration::from_nanos(encode), decode: Duration::from_nanos(decode), wire: wire as usize }
}

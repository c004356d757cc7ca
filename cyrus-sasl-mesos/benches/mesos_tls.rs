//! What TLS costs on the libprocess wire (issue 16 §5), plaintext and TLS
//! measured in the same run, in interleaved rounds, on 127.0.0.1.
//!
//! Run with `cargo bench --bench mesos_tls`.
//!
//! Certificates are made per run by `ci/tls-certs` in a temporary directory (EC
//! P-256, one test CA). Every TLS endpoint presents a certificate for
//! 127.0.0.1 and trusts that CA, with the library's defaults: server
//! certificates verified (the IP must be in the certificate), client
//! certificates asked for and verified when presented (every endpoint here
//! presents one, so the handshakes are mutual). rustls on both sides.
//!
//! Each round runs six measurements, in this order in odd rounds and reversed in
//! even ones, so load on the shared machine falls on both transports alike:
//! 1. `auth-plain` and 2. `auth-tls`: `MESOS_TLS_BENCH_N` Mesos CRAM-MD5
//!    authentications through our `cyrus_sasl_mesos::Master` (its own runtime),
//!    driven by `MESOS_TLS_BENCH_CLIENTS` concurrent frameworks, each its own
//!    libprocess endpoint authenticating again and again with
//!    `cyrus_sasl_mesos::authenticate`. Each endpoint keeps its connection to the
//!    master, and the master keeps its connection back to each framework, so
//!    after the warm-up no TLS handshake happens: what TLS adds here is record
//!    encryption on the six messages of each authentication. Wall time.
//! 3. `kept-plain` and 5. `kept-tls`: one sender endpoint sends a 32-byte
//!    message to a process on another endpoint (the receiver, on the master's
//!    runtime) `MESOS_TLS_BENCH_KEPT` times, one after another, each send waiting
//!    for its `202 Accepted`, on the one connection the sender keeps (opened in
//!    the warm-up).
//! 4. `fresh-plain` and 6. `fresh-tls`: the same message `MESOS_TLS_BENCH_FRESH`
//!    times, each from a new sender endpoint, so each goes on a new connection
//!    (TCP connect, and for TLS a full handshake: a new endpoint has a new rustls
//!    client configuration, hence no session to resume). The endpoints are bound
//!    (certificate files read, rustls configured) in batches before the clock
//!    starts, and dropped after it stops: only connecting and sending is timed.
//!
//! The receiver checks what arrives: every message, over TLS or not as
//! expected, and on one connection for `kept` and on (nearly) one per message for
//! `fresh` (by the sender's TCP port).
//!
//! Prints a table of the rounds, `stat` lines (median, min, max over rounds), and
//! the medians over rounds of each round's ratios:
//! - `ratio libprocess_auth_tls_over_plain_throughput VALUE`: authentications
//!   per second over TLS / over plaintext;
//! - `ratio libprocess_tls_fresh_over_kept_message_cost VALUE`: time per
//!   message on a new TLS connection each / on a kept TLS connection;
//! - `ratio libprocess_plain_fresh_over_kept_message_cost VALUE`: the same in
//!   plaintext, for contrast;
//! - `ratio libprocess_tls_over_plain_kept_message_cost VALUE`: time per message
//!   on a kept connection, TLS / plaintext.
//!
//! Environment: `MESOS_TLS_BENCH_N` (authentications per measurement, default
//! 1000), `MESOS_TLS_BENCH_CLIENTS` (concurrent frameworks, default 16),
//! `MESOS_TLS_BENCH_KEPT` (messages on a kept connection, default 4000),
//! `MESOS_TLS_BENCH_FRESH` (messages on fresh connections, default 300),
//! `MESOS_TLS_BENCH_ROUNDS` (default 9), `MESOS_TLS_BENCH_WORKERS` (worker
//! threads of each of the two runtimes, default 2).

use cyrus_sasl_test_support::tls;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tls::Certs;

use libprocess::{Endpoint, EndpointOptions, Process, TlsOptions, Upid};

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{Master, MasterOptions};
use parking_lot::Mutex;

#[path = "support/frameworks.rs"]
mod frameworks;
use cyrus_sasl_test_support::bench as support;
use frameworks::Frameworks;
use support::{enter_threaded_mode, env_number, median, per_handshake_us, print_stat};

const USER: &str = "framework-a";
const PASSWORD: &str = "s3cret-framework";
/// The message the senders send, and its body.
const MESSAGE: &str = "bench.Ping";
const BODY: [u8; 32] = [0x5a; 32];
/// Fresh sender endpoints bound at once, before their clock starts.
const FRESH_BATCH: u32 = 50;

const PATHS: [&str; 6] = ["auth-plain", "auth-tls", "kept-plain", "fresh-plain", "kept-tls", "fresh-tls"];

fn main() {
    enter_threaded_mode();
    let n = env_number("MESOS_TLS_BENCH_N", 1000);
    let clients = env_number("MESOS_TLS_BENCH_CLIENTS", 16);
    let kept = env_number("MESOS_TLS_BENCH_KEPT", 4000);
    let fresh = env_number("MESOS_TLS_BENCH_FRESH", 300);
    let rounds = env_number("MESOS_TLS_BENCH_ROUNDS", 9);
    let workers = env_number("MESOS_TLS_BENCH_WORKERS", 2) as usize;
    assert!(
        n > 0 && clients > 0 && kept > 0 && fresh > 0 && rounds > 0 && workers > 0,
        "every MESOS_TLS_BENCH_* count must be positive"
    );

    let certs = Certs::new();
    let store = CredentialStore::from_credentials([(USER.to_owned(), Secret::from(PASSWORD))]).unwrap();
    let config = Config::new().with_credential_store(&store);

    // The master and the receivers on one runtime, the frameworks and senders on
    // another: two libprocess processes' worth of threads, as on a real cluster.
    let server_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();
    let client_runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap();

    let server_tls = Some(certs.tls("server"));
    let client_tls = Some(certs.tls("client"));
    let spawn_master = |tls: Option<TlsOptions>| {
        let options = MasterOptions { endpoint: endpoint_options(tls), ..MasterOptions::default() };
        server_runtime
            .block_on(Master::spawn(MasterOptions { sasl: config.clone(), ..options }))
            .expect("our master starts")
    };
    let plain_master = spawn_master(None);
    let tls_master = spawn_master(server_tls.clone());
    let plain_receiver = server_runtime.block_on(Receiver::start(None));
    let tls_receiver = server_runtime.block_on(Receiver::start(server_tls));
    let plain_frameworks = client_runtime.block_on(Frameworks::new(clients, None, USER, PASSWORD));
    let tls_frameworks = client_runtime.block_on(Frameworks::new(clients, client_tls.clone(), USER, PASSWORD));
    let plain_sender = client_runtime.block_on(Sender::bind(None));
    let tls_sender = client_runtime.block_on(Sender::bind(client_tls.clone()));

    // One measurement: its time per unit (us per authentication or per message).
    let measure = |path: usize, count: u32| -> f64 {
        let elapsed = match path {
            0 => client_runtime.block_on(plain_frameworks.round(plain_master.upid(), count)),
            1 => client_runtime.block_on(tls_frameworks.round(tls_master.upid(), count)),
            2 => plain_receiver
                .checked(false, count, true, || client_runtime.block_on(plain_sender.kept(&plain_receiver, count))),
            3 => plain_receiver
                .checked(false, count, false, || client_runtime.block_on(fresh_messages(None, &plain_receiver, count))),
            4 => tls_receiver
                .checked(true, count, true, || client_runtime.block_on(tls_sender.kept(&tls_receiver, count))),
            _ => tls_receiver.checked(true, count, false, || {
                client_runtime.block_on(fresh_messages(client_tls.as_ref(), &tls_receiver, count))
            }),
        };
        per_handshake_us(elapsed, count)
    };
    let count = |path: usize| match path {
        0 | 1 => n,
        2 | 4 => kept,
        _ => fresh,
    };

    // Warm up every path (and open the kept connections).
    for path in 0..PATHS.len() {
        measure(path, count(path).div_ceil(4));
    }

    println!("libprocess over TLS against plaintext, on 127.0.0.1 (certificates from ci/tls-certs, verified)");
    println!(
        "{rounds} rounds; {n} authentications per auth path ({clients} concurrent frameworks, kept connections); \
         {kept} messages per kept path, {fresh} per fresh path (one sender, one at a time)"
    );
    println!();
    print!("{:>5}", "round");
    for path in PATHS {
        print!("  {path:>11}");
    }
    println!("   (auth: authentications/s; others: us per message)");
    let mut times: [Vec<f64>; 6] = Default::default();
    let (mut auth_ratio, mut tls_fresh_ratio, mut plain_fresh_ratio, mut kept_ratio, mut setup) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 1..=rounds {
        let mut measured = [f64::NAN; 6];
        let mut order = [0, 1, 2, 3, 4, 5];
        if round % 2 == 0 {
            order.reverse();
        }
        for path in order {
            measured[path] = measure(path, count(path));
        }
        print!("{round:>5}");
        for (path, value) in measured.iter().enumerate() {
            let shown = if path < 2 { 1e6 / value } else { *value };
            print!("  {shown:>11.1}");
        }
        println!();
        for (all, value) in times.iter_mut().zip(measured) {
            all.push(value);
        }
        let [auth_plain, auth_tls, kept_plain, fresh_plain, kept_tls, fresh_tls] = measured;
        // Throughput ratio = inverse time ratio.
        auth_ratio.push(auth_plain / auth_tls);
        tls_fresh_ratio.push(fresh_tls / kept_tls);
        plain_fresh_ratio.push(fresh_plain / kept_plain);
        kept_ratio.push(kept_tls / kept_plain);
        setup.push((fresh_tls - kept_tls) - (fresh_plain - kept_plain));
    }
    println!();
    let throughput = |times: &[f64]| times.iter().map(|us| 1e6 / us).collect::<Vec<_>>();
    print_stat("libprocess_auth_tls_over_plain_throughput", "plain", &throughput(&times[0]), "auth/s");
    print_stat("libprocess_auth_tls_over_plain_throughput", "tls", &throughput(&times[1]), "auth/s");
    print_stat("libprocess_plain_fresh_over_kept_message_cost", "kept-plain", &times[2], "us/message");
    print_stat("libprocess_plain_fresh_over_kept_message_cost", "fresh-plain", &times[3], "us/message");
    print_stat("libprocess_tls_fresh_over_kept_message_cost", "kept-tls", &times[4], "us/message");
    print_stat("libprocess_tls_fresh_over_kept_message_cost", "fresh-tls", &times[5], "us/message");
    // What a TLS connection costs to open beyond a plaintext one, per round:
    // (fresh-tls - kept-tls) - (fresh-plain - kept-plain).
    print_stat("libprocess_tls_connection_setup", "tls-over-plain", &setup, "us/connection");
    println!();
    for (path, mut values) in PATHS.iter().zip(times.clone()) {
        let us = median(&mut values);
        if path.starts_with("auth") {
            println!("{path:<12} median {:>8.0} authentications/s ({us:>7.1} us each)", 1e6 / us);
        } else {
            println!("{path:<12} median {us:>8.1} us/message");
        }
    }
    println!(
        "a TLS connection costs {:.0} us more to open than a plaintext one (median over rounds)",
        median(&mut setup)
    );
    println!();
    println!("ratio libprocess_auth_tls_over_plain_throughput {:.3}", median(&mut auth_ratio));
    println!("ratio libprocess_tls_fresh_over_kept_message_cost {:.3}", median(&mut tls_fresh_ratio));
    println!("ratio libprocess_plain_fresh_over_kept_message_cost {:.3}", median(&mut plain_fresh_ratio));
    println!("ratio libprocess_tls_over_plain_kept_message_cost {:.3}", median(&mut kept_ratio));

    drop((plain_sender, tls_sender, plain_frameworks, tls_frameworks));
    server_runtime.block_on(async {
        plain_master.shutdown().await;
        tls_master.shutdown().await;
    });
    drop((plain_receiver, tls_receiver));
}

fn endpoint_options(tls: Option<TlsOptions>) -> EndpointOptions {
    EndpointOptions { tls, ..EndpointOptions::default() }
}

/// What a receiver has seen since its last check.
#[derive(Default)]
struct Tally {
    messages: u32,
    /// The senders' TCP addresses: one per connection.
    peers: HashSet<SocketAddr>,
    /// Messages with another name or body than sent, or over the other transport.
    wrong: u32,
}

/// A process on its own endpoint that takes every message and tallies it.
struct Receiver {
    upid: Upid,
    tally: Arc<Mutex<Tally>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    async fn start(tls: Option<TlsOptions>) -> Receiver {
        let expect_tls = tls.is_some();
        let endpoint = Endpoint::bind(endpoint_options(tls)).await.expect("the receiver's endpoint");
        let mut process: Process = endpoint.register("receiver").expect("register the receiver");
        let upid = process.upid().clone();
        let tally = Arc::new(Mutex::new(Tally::default()));
        let seen = tally.clone();
        let task = tokio::spawn(async move {
            while let Some(envelope) = process.recv().await {
                let mut seen = seen.lock();
                seen.messages += 1;
                seen.peers.insert(envelope.peer_addr);
                if envelope.tls.is_some() != expect_tls || envelope.name != MESSAGE || envelope.body != BODY {
                    seen.wrong += 1;
                }
            }
        });
        Receiver { upid, tally, task }
    }

    /// Runs `measure`, which sends `messages` messages here, then checks they
    /// all arrived intact, over TLS if `tls`, on one connection if `kept` and
    /// otherwise on one each (at least half as many distinct sender ports as
    /// messages, since the kernel may hand a port out again). Returns what
    /// `measure` returned.
    fn checked(&self, tls: bool, messages: u32, kept: bool, measure: impl FnOnce() -> Duration) -> Duration {
        *self.tally.lock() = Tally::default();
        let elapsed = measure();
        // Every send waited for its 202, given once the message was queued here;
        // the tally task may still be taking the last ones off the queue.
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.tally.lock().messages < messages && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        let tally = std::mem::take(&mut *self.tally.lock());
        assert_eq!(tally.messages, messages, "messages the receiver got");
        assert_eq!(tally.wrong, 0, "messages not as sent, or not over {}", if tls { "TLS" } else { "plaintext" });
        if kept {
            assert_eq!(tally.peers.len(), 1, "connections used by the kept sender");
        } else {
            assert!(
                tally.peers.len() * 2 >= messages as usize,
                "{} connections for {messages} fresh senders",
                tally.peers.len()
            );
        }
        elapsed
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The kept-connection sender: one endpoint, one connection to the receiver.
struct Sender {
    endpoint: Endpoint,
    from: Upid,
}

impl Sender {
    async fn bind(tls: Option<TlsOptions>) -> Sender {
        let endpoint = Endpoint::bind(endpoint_options(tls)).await.expect("a sender endpoint");
        let from = endpoint.upid("sender").unwrap();
        Sender { endpoint, from }
    }

    /// `count` messages one after another; the wall time.
    async fn kept(&self, to: &Receiver, count: u32) -> Duration {
        let started = Instant::now();
        for _ in 0..count {
            self.endpoint.send(&self.from, &to.upid, MESSAGE, &BODY).await.expect("a kept-connection send");
        }
        started.elapsed()
    }
}

/// `count` messages one after another, each from a new endpoint (so on a new
/// connection); the wall time of the sends only, not of binding the endpoints.
async fn fresh_messages(tls: Option<&TlsOptions>, to: &Receiver, count: u32) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = count;
    while left > 0 {
        let batch = left.min(FRESH_BATCH);
        let mut senders = Vec::with_capacity(batch as usize);
        for _ in 0..batch {
            senders.push(Sender::bind(tls.cloned()).await);
        }
        let started = Instant::now();
        for sender in &senders {
            sender.endpoint.send(&sender.from, &to.upid, MESSAGE, &BODY).await.expect("a fresh-connection send");
        }
        timed += started.elapsed();
        drop(senders);
        left -= batch;
    }
    timed
}

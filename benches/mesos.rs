//! Mesos-style CRAM-MD5 handshakes per second on the master side: in process,
//! then over loopback TCP with the blocking and the tokio drivers.
//!
//! Run with `cargo bench --bench mesos --features tokio`.
//!
//! Each round runs seven measurements, in this order in odd rounds and reversed
//! in even ones, so none always follows the same neighbour:
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
//! 5. `bare-tcp`: the floor under 4. (below);
//! 6. and 7. `blocking-fresh`, `async-fresh`: 3. and 4. with a fresh TCP
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
//! - the same two with `_fresh_connections` for a connection per handshake;
//! - `ratio mesos_tcp_async_over_bare_tcp VALUE`: `tcp-async` / `bare-tcp`, the
//!   floor under it.
//!
//! `bare-tcp` is that floor: the same three
//! request/response round trips per handshake, on kept loopback connections,
//! with the same two runtimes and the same number of concurrent clients, but
//! with neither SASL nor Mesos: 64-byte length-prefixed frames that a server
//! task answers in kind. It is what the kernel and tokio cost alone.
//!
//! On loopback, the kernel's TCP work dominates: three request/response round
//! trips cost more than the CRAM-MD5 exchange, and a TCP connect and close per
//! handshake cost about twice that again.
//!
//! Environment: `MESOS_BENCH_N` (handshakes per measurement, default 2000),
//! `MESOS_BENCH_ROUNDS` (default 5), `MESOS_BENCH_CLIENTS` (concurrent TCP
//! clients, default 100), `MESOS_BENCH_WORKERS` (worker threads of each
//! runtime, default 2), and `MESOS_BENCH_ONLY=PATH` (one of the path names
//! above) to run that path alone, warm-up included, and print no ratios: for
//! profiling it, e.g. with `perf record`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterOptions};
use cyrus_sasl::mesos::{
    Authenticatee, Authenticator, ClientOptions, Credential, Origin, Outcomes, ServerOptions, Verdict, blocking,
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
    let echo = master_runtime.block_on(EchoServer::start());
    let client_options =
        AuthenticateOptions { client: client.clone(), max_attempts: 1, ..AuthenticateOptions::default() };

    let paths =
        ["inproc-memory", "inproc-sasldb", "tcp-blocking", "tcp-async", "blocking-fresh", "async-fresh", "bare-tcp"];
    let only = std::env::var("MESOS_BENCH_ONLY").ok();
    if let Some(path) = &only {
        assert!(paths.contains(&path.as_str()), "MESOS_BENCH_ONLY must be one of {paths:?}, got {path:?}");
    }
    let runs = |path: usize| only.as_deref().is_none_or(|o| o == paths[path]);

    // Warm up every path: plugin state, the page cache, thread stacks, the allocator.
    if runs(0) {
        memory.round(n / 4);
    }
    if runs(1) {
        sasldb.round(n / 4);
    }
    for (reuse, blocking_path, async_path) in [(Reuse::Link, 2, 3), (Reuse::Fresh, 4, 5)] {
        if runs(blocking_path) {
            tcp_blocking(blocking_master.local_addr(), n / 4, clients, reuse, &client_options);
        }
        if runs(async_path) {
            tcp_async(&runtime, async_master.local_addr(), n / 4, clients, reuse, &client_options);
        }
    }
    if runs(6) {
        bare_tcp(&runtime, echo.addr, n / 4, clients);
    }

    println!("Mesos CRAM-MD5 handshakes, master side; fresh SASL connections per handshake");
    println!("{rounds} rounds x {n} handshakes per path; TCP with {clients} concurrent clients on 127.0.0.1");
    println!();
    print!("{:>5}", "round");
    for path in paths {
        print!("  {path:>14}");
    }
    println!("   (us per handshake)");
    let mut times: [Vec<f64>; 7] = Default::default();
    let mut ratios: [Vec<f64>; 5] = Default::default();
    let mut over_bare = Vec::new();
    for round in 1..=rounds {
        let mut measured = [0.0; 7];
        let mut order = [0, 1, 2, 3, 6, 4, 5];
        if round % 2 == 0 {
            order.reverse();
        }
        for path in order.into_iter().filter(|&path| runs(path)) {
            let (blocking_addr, async_addr) = (blocking_master.local_addr(), async_master.local_addr());
            let elapsed = match path {
                0 => memory.round(n),
                1 => sasldb.round(n),
                2 => tcp_blocking(blocking_addr, n, clients, Reuse::Link, &client_options),
                3 => tcp_async(&runtime, async_addr, n, clients, Reuse::Link, &client_options),
                4 => tcp_blocking(blocking_addr, n, clients, Reuse::Fresh, &client_options),
                5 => tcp_async(&runtime, async_addr, n, clients, Reuse::Fresh, &client_options),
                _ => bare_tcp(&runtime, echo.addr, n, clients),
            };
            measured[path] = per_handshake_us(elapsed, n);
        }
        print!("{round:>5}");
        for (path, value) in measured.iter().enumerate() {
            if runs(path) {
                print!("  {value:>14.2}");
            } else {
                print!("  {:>14}", "-");
            }
        }
        println!();
        if only.is_some() {
            continue;
        }
        for (all, value) in times.iter_mut().zip(measured) {
            all.push(value);
        }
        for (all, value) in ratios.iter_mut().zip(&measured[1..6]) {
            all.push(value / measured[0]);
        }
        over_bare.push(measured[3] / measured[6]);
    }
    if only.is_some() {
        blocking_master.shutdown();
        master_runtime.block_on(async_master.shutdown());
        return;
    }
    for (comparison, side, which) in [
        ("mesos_tcp_async", "in-process", 0),
        ("mesos_tcp_async", "tcp-async", 3),
        ("mesos_tcp_blocking", "in-process", 0),
        ("mesos_tcp_blocking", "tcp-blocking", 2),
        ("mesos_inprocess_sasldb_over_memory", "memory", 0),
        ("mesos_inprocess_sasldb_over_memory", "sasldb", 1),
        ("mesos_tcp_async_over_bare_tcp", "bare-tcp", 6),
        ("mesos_tcp_async_over_bare_tcp", "tcp-async", 3),
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
    println!("ratio mesos_tcp_async_over_bare_tcp {:.3}", median(&mut over_bare));

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
        let origin = Origin::new(PID, [127, 0, 0, 1].into());
        framework.start();
        while framework.result().is_none() {
            let mut moved = false;
            while let Some(message) = framework.poll_transmit() {
                self.authenticator.handle_message(now, peer, &origin, message);
                moved = true;
            }
            while let Some((_, message)) = self.authenticator.poll_transmit() {
                framework.handle_message("master@127.0.0.1:5050", message);
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

/// Bytes of each frame `bare_tcp` sends and gets back, length prefix included:
/// about what a CRAM-MD5 message takes (all are under 200).
const BARE_FRAME_LEN: usize = 64;

/// Answers every length-prefixed frame with one of the same length, on
/// 127.0.0.1, one task per connection: the master's side of `bare_tcp`.
struct EchoServer {
    addr: SocketAddr,
}

impl EchoServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the echo server's address");
        tokio::spawn(async move {
            // Ends with the runtime, at the end of the benchmark.
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(echo_frames(stream));
            }
        });
        EchoServer { addr }
    }
}

async fn echo_frames(mut stream: tokio::net::TcpStream) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.set_nodelay(true)?;
    let (reader, mut writer) = stream.split();
    let mut reader = tokio::io::BufReader::new(reader);
    let mut frame = [0u8; BARE_FRAME_LEN];
    loop {
        match reader.read_exact(&mut frame[..4]).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let len = u32::from_be_bytes(frame[..4].try_into().expect("4 bytes")) as usize;
        assert_eq!(len, BARE_FRAME_LEN - 4, "a frame of another size");
        reader.read_exact(&mut frame[4..]).await?;
        writer.write_all(&frame).await?;
    }
}

/// `n` times three round trips of one `BARE_FRAME_LEN` frame each way, by
/// `clients` tasks at once, each on a kept connection to the echo server.
fn bare_tcp(runtime: &tokio::runtime::Runtime, addr: SocketAddr, n: u32, clients: u32) -> Duration {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    runtime.block_on(async {
        let start = Instant::now();
        let tasks: Vec<_> = shares(n, clients)
            .map(|share| {
                tokio::spawn(async move {
                    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect to the echo server");
                    stream.set_nodelay(true).expect("TCP_NODELAY");
                    let mut frame = [7u8; BARE_FRAME_LEN];
                    frame[..4].copy_from_slice(&((BARE_FRAME_LEN - 4) as u32).to_be_bytes());
                    let mut answer = [0u8; BARE_FRAME_LEN];
                    for _ in 0..share * 3 {
                        stream.write_all(&frame).await.expect("send a frame");
                        stream.read_exact(&mut answer).await.expect("read the answer");
                        assert_eq!(answer, frame, "the echo differs");
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

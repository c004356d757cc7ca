//! A tokio server's cheap requests beside SCRAM-SHA-256 handshakes, with the
//! handshakes' libsasl2 steps run inline on the runtime's workers and run on
//! the blocking pool (`AsyncServer`, feature `tokio`).
//!
//! Run with `cargo bench --features tokio --bench async_scram`.
//!
//! The server is a multi-threaded tokio runtime with 2 workers. Client threads
//! (OS threads, outside the runtime) each run SCRAM-SHA-256 handshakes back to
//! back against it, one server task per handshake, over channels; another
//! thread sends a cheap request (a ping answered by a server task at once)
//! every millisecond and times each answer. Each measurement lasts
//! `ASYNC_SCRAM_BENCH_SECS` seconds (default 2) in one mode; rounds alternate
//! the order of the two modes. First it times the SCRAM-SHA-256 server's and
//! client's PBKDF2-heavy steps alone, one thread, no runtime.
//!
//! It prints, per mode, the handshakes per second and the ping's p50 and p99,
//! `stat` lines for `ci/bench`, and:
//! - `ratio p99_beside_scram_offloaded_over_inline`: the ping's p99 with the
//!   steps on the blocking pool / with them inline (the goal: 0.2 or
//!   less);
//! - `ratio handshakes_offloaded_over_inline`: handshakes per second.
//!
//! Environment: `ASYNC_SCRAM_BENCH_SECS` (default 2), `ASYNC_SCRAM_BENCH_ROUNDS`
//! (default 3), `ASYNC_SCRAM_BENCH_CLIENTS` (client threads, default 4).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cyrus_sasl::{
    AsyncServer, Client, ClientStep, Config, CredentialStore, Credentials, OwnedServerStep, Secret, Server,
};
use cyrus_sasl_test_support::bench::{env_number, median, print_stat};
use tokio::sync::{mpsc, oneshot};

const MECH: &str = "SCRAM-SHA-256";

/// One client message and where to answer it.
type Request = (Vec<u8>, oneshot::Sender<OwnedServerStep>);

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Inline,
    Offloaded,
}

fn server_config() -> Config {
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("s3cret"))]).unwrap();
    Config::new().with("mech_list", MECH).unwrap().with_credential_store(&store)
}

fn new_server(config: &Config) -> Server {
    Server::new("bench", "localhost", Some("EXAMPLE.TEST"), config).unwrap()
}

fn new_client() -> Client {
    Client::new("bench", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap()
}

/// One handshake's server task: the first request starts, later ones step.
async fn serve(mode: Mode, config: Config, mut requests: mpsc::Receiver<Request>) {
    let mut first = true;
    match mode {
        Mode::Inline => {
            let mut server = new_server(&config);
            while let Some((input, reply)) = requests.recv().await {
                let step =
                    if std::mem::take(&mut first) { server.start(MECH, Some(&input)) } else { server.step(&input) };
                let _ = reply.send(step.unwrap().into_owned());
            }
        }
        Mode::Offloaded => {
            let mut server = AsyncServer::new(new_server(&config));
            while let Some((input, reply)) = requests.recv().await {
                let step = if std::mem::take(&mut first) {
                    server.start(MECH, Some(&input)).await
                } else {
                    server.step(&input).await
                };
                let _ = reply.send(step.unwrap());
            }
        }
    }
}

/// A client thread's handshakes until `stop`; counts the successful ones.
fn client_loop(connect: mpsc::Sender<mpsc::Receiver<Request>>, stop: &AtomicBool, done: &AtomicU64) {
    while !stop.load(Ordering::Relaxed) {
        let (tx, rx) = mpsc::channel::<Request>(1);
        if connect.blocking_send(rx).is_err() {
            return;
        }
        let mut client = new_client();
        let start = client.start(MECH).unwrap();
        let mut message = start.initial_response.unwrap().to_vec();
        loop {
            let (reply_tx, reply_rx) = oneshot::channel();
            tx.blocking_send((message, reply_tx)).unwrap();
            match reply_rx.blocking_recv().unwrap() {
                OwnedServerStep::Continue(challenge) => {
                    message = match client.step(&challenge).unwrap() {
                        ClientStep::Continue(r) => r.to_vec(),
                        ClientStep::Complete(r) => r.unwrap_or_default().to_vec(),
                    };
                }
                OwnedServerStep::Authenticated { .. } => {
                    done.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                OwnedServerStep::Rejected(r) => panic!("{r}"),
            }
        }
    }
}

struct Measured {
    handshakes_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn measure(mode: Mode, clients: u32, secs: u32) -> Measured {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let config = server_config();
    let (connect_tx, mut connect_rx) = mpsc::channel::<mpsc::Receiver<Request>>(64);
    let (ping_tx, mut ping_rx) = mpsc::channel::<oneshot::Sender<()>>(64);
    rt.spawn(async move {
        while let Some(requests) = connect_rx.recv().await {
            tokio::spawn(serve(mode, config.clone(), requests));
        }
    });
    rt.spawn(async move {
        while let Some(reply) = ping_rx.recv().await {
            let _ = reply.send(());
        }
    });
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..clients)
        .map(|_| {
            let (connect, stop, done) = (connect_tx.clone(), stop.clone(), done.clone());
            std::thread::spawn(move || client_loop(connect, &stop, &done))
        })
        .collect();
    // Let the load settle, then ping for the measured window.
    std::thread::sleep(Duration::from_millis(300));
    let began = Instant::now();
    let done_before = done.load(Ordering::Relaxed);
    let mut latencies = Vec::new();
    while began.elapsed() < Duration::from_secs(u64::from(secs)) {
        let (tx, rx) = oneshot::channel();
        let sent = Instant::now();
        ping_tx.blocking_send(tx).unwrap();
        rx.blocking_recv().unwrap();
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
        std::thread::sleep(Duration::from_millis(1));
    }
    let handshakes = done.load(Ordering::Relaxed) - done_before;
    let elapsed = began.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    drop(rt);
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    Measured { handshakes_per_s: handshakes as f64 / elapsed, p50_ms: at(0.5), p99_ms: at(0.99) }
}

/// The server's and the client's slow SCRAM steps alone, in milliseconds.
fn step_costs() -> (f64, f64) {
    let config = server_config();
    let (mut server_ms, mut client_ms) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let mut server = new_server(&config);
        let mut client = new_client();
        let first = client.start(MECH).unwrap().initial_response.unwrap().to_vec();
        let t = Instant::now();
        let challenge = match server.start(MECH, Some(&first)).unwrap() {
            cyrus_sasl::ServerStep::Continue(c) => c.to_vec(),
            other => panic!("{other:?}"),
        };
        let server_first = t.elapsed();
        let t = Instant::now();
        let proof = match client.step(&challenge).unwrap() {
            ClientStep::Continue(r) => r.to_vec(),
            other => panic!("{other:?}"),
        };
        client_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let _ = server.step(&proof).unwrap();
        server_ms.push((server_first + t.elapsed()).as_secs_f64() * 1e3);
    }
    (median(&mut server_ms), median(&mut client_ms))
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        println!("async_scram: bench");
        return;
    }
    let secs = env_number("ASYNC_SCRAM_BENCH_SECS", 2);
    let rounds = env_number("ASYNC_SCRAM_BENCH_ROUNDS", 3);
    let clients = env_number("ASYNC_SCRAM_BENCH_CLIENTS", 4);
    let (server_ms, client_ms) = step_costs();
    println!("SCRAM-SHA-256 alone: server steps {server_ms:.2} ms per handshake, client proof {client_ms:.2} ms");
    println!("{clients} client threads, 2 runtime workers, {secs} s per measurement, {rounds} rounds");
    println!("{:>5} {:>10} {:>12} {:>10} {:>10}", "round", "mode", "handshakes/s", "ping p50", "ping p99");
    let (mut ratios, mut rates, mut stats) = (Vec::new(), Vec::new(), [Vec::new(), Vec::new(), Vec::new(), Vec::new()]);
    for round in 0..rounds {
        let order = if round % 2 == 0 { [Mode::Inline, Mode::Offloaded] } else { [Mode::Offloaded, Mode::Inline] };
        let mut by_mode = [None, None];
        for mode in order {
            let m = measure(mode, clients, secs);
            println!(
                "{round:>5} {:>10} {:>12.0} {:>8.2}ms {:>8.2}ms",
                format!("{mode:?}"),
                m.handshakes_per_s,
                m.p50_ms,
                m.p99_ms
            );
            by_mode[(mode == Mode::Offloaded) as usize] = Some(m);
        }
        let [Some(inline), Some(off)] = by_mode else { unreachable!() };
        ratios.push(off.p99_ms / inline.p99_ms);
        rates.push(off.handshakes_per_s / inline.handshakes_per_s);
        stats[0].push(inline.p99_ms);
        stats[1].push(off.p99_ms);
        stats[2].push(inline.handshakes_per_s);
        stats[3].push(off.handshakes_per_s);
    }
    print_stat("ping_p99_beside_scram", "inline", &stats[0], "ms");
    print_stat("ping_p99_beside_scram", "offloaded", &stats[1], "ms");
    print_stat("scram_handshakes", "inline", &stats[2], "per_s");
    print_stat("scram_handshakes", "offloaded", &stats[3], "per_s");
    println!("ratio p99_beside_scram_offloaded_over_inline {:.3}", median(&mut ratios));
    println!("ratio handshakes_offloaded_over_inline {:.3}", median(&mut rates));
}

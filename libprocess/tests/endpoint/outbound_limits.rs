//! Kept outbound connections are bounded: in total, per destination IP, and in
//! time. Peers choose where answers go (the address in their UPID), so an
//! endpoint that answers them must not keep a connection per address forever.
//! Counted from the peers' side: each peer's open inbound connections.

use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, Process, SendError};
use tokio::time::timeout;

use crate::support::WAIT;

/// `n` peers on loopback address `ip`, each with a process `q`.
async fn peers(ip: &str, n: usize) -> Vec<(Endpoint, Process)> {
    let mut peers = Vec::new();
    for _ in 0..n {
        let options = EndpointOptions { bind_ip: ip.parse().unwrap(), ..EndpointOptions::default() };
        let endpoint = Endpoint::bind(options).await.unwrap();
        let q = endpoint.register("q").unwrap();
        peers.push((endpoint, q));
    }
    peers
}

/// The peers' open inbound connections, once that number is at most `bound`
/// or `within` has passed (closing is seen by the peer a moment later).
async fn open_at_peers(peers: &[(Endpoint, Process)], bound: usize, within: Duration) -> usize {
    let started = Instant::now();
    loop {
        let open = peers.iter().map(|(endpoint, _)| endpoint.inbound_connections()).sum();
        if open <= bound || started.elapsed() > within {
            return open;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_outbound_connections_stay_within_the_cap_however_many_destinations() {
    let options = EndpointOptions { max_outbound_connections: 8, ..EndpointOptions::default() };
    let a = Endpoint::bind(options).await.unwrap();
    let p = a.spawn_process("p").unwrap();
    let mut peers = peers("127.0.0.1", 40).await;
    for (_, q) in &peers {
        p.send(q.upid(), "m", b"hello").await.unwrap();
    }
    for (_, q) in &mut peers {
        assert_eq!(timeout(WAIT, q.recv()).await.unwrap().unwrap().body, b"hello", "every message arrived");
    }
    let open = open_at_peers(&peers, 8, Duration::from_secs(2)).await;
    assert!(open <= 8, "{open} of 40 connections still open with max_outbound_connections 8");
    // The one used last is still kept, and reused.
    let (last_endpoint, last) = peers.last_mut().unwrap();
    assert_eq!(last_endpoint.inbound_connections(), 1);
    p.send(last.upid(), "m", b"again").await.unwrap();
    assert_eq!(timeout(WAIT, last.recv()).await.unwrap().unwrap().body, b"again");
    assert_eq!(last_endpoint.inbound_connections(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_outbound_connections_to_one_ip_stay_within_the_cap_per_ip() {
    let options = EndpointOptions {
        max_outbound_connections: 16,
        max_outbound_connections_per_ip: 3,
        ..EndpointOptions::default()
    };
    let a = Endpoint::bind(options).await.unwrap();
    let p = a.spawn_process("p").unwrap();
    let (ones, twos) = (peers("127.0.0.1", 6).await, peers("127.0.0.2", 6).await);
    for (_, q) in ones.iter().chain(&twos) {
        p.send(q.upid(), "m", b"").await.unwrap();
    }
    let (one, two) =
        (open_at_peers(&ones, 3, Duration::from_secs(2)).await, open_at_peers(&twos, 3, Duration::from_secs(2)).await);
    assert!(one <= 3 && two <= 3, "open to 127.0.0.1: {one}, to 127.0.0.2: {two}; the cap per IP is 3");
    assert!(one + two >= 4, "each IP keeps its own recent connections: {one} + {two}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_kept_connection_busy_a_new_destination_fails_at_once() {
    let options = EndpointOptions { max_outbound_connections: 1, ..EndpointOptions::default() };
    let a = Endpoint::bind(options).await.unwrap();
    let p = a.spawn_process("p").unwrap();
    // A destination that takes the connection and never answers holds the only one.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_upid = format!("q@{}", silent.local_addr().unwrap()).parse().unwrap();
    let busy = {
        let a = a.clone();
        let from = p.upid().clone();
        tokio::spawn(async move { a.send(&from, &silent_upid, "m", b"").await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let peers = peers("127.0.0.1", 1).await;
    let started = Instant::now();
    let err = p.send(peers[0].1.upid(), "m", b"").await.unwrap_err();
    assert!(
        matches!(err, SendError::OutboundLimit { limit: 1, per_ip: false, .. }),
        "{err:?} after {:?}",
        started.elapsed()
    );
    assert!(started.elapsed() < Duration::from_millis(500), "failed at once, not after {:?}", started.elapsed());
    assert!(err.to_string().contains("max_outbound_connections"), "{err}");
    busy.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_outbound_connections_close_after_the_idle_timeout() {
    let options = EndpointOptions { idle_timeout: Duration::from_millis(300), ..EndpointOptions::default() };
    let a = Endpoint::bind(options).await.unwrap();
    let p = a.spawn_process("p").unwrap();
    // The peers would keep them for their own idle timeout (5 minutes).
    let peers = peers("127.0.0.1", 3).await;
    for (_, q) in &peers {
        p.send(q.upid(), "m", b"").await.unwrap();
    }
    assert_eq!(open_at_peers(&peers, 0, Duration::ZERO).await, 3);
    let open = open_at_peers(&peers, 0, Duration::from_secs(3)).await;
    assert_eq!(open, 0, "kept connections unused for over the idle timeout are closed by the sender");
    // And a later message opens a new one.
    p.send(peers[0].1.upid(), "m", b"").await.unwrap();
}

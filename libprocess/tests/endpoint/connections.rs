//! The life of kept connections: idle ones close, senders reconnect, and dead
//! destinations are swept.

use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, Upid};
use tokio::net::TcpStream;

use crate::support::{endpoint, free_port, read_to_close};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_close_and_the_sender_reconnects() {
    let options = EndpointOptions { idle_timeout: Duration::from_millis(200), ..EndpointOptions::default() };
    let b = Endpoint::bind(options).await.unwrap();
    let mut q = b.register("q").unwrap();
    // An idle raw connection is closed after the idle timeout.
    let started = Instant::now();
    let mut idle = TcpStream::connect(b.local_addr()).await.unwrap();
    assert_eq!(read_to_close(&mut idle).await, "");
    assert!(started.elapsed() >= Duration::from_millis(180), "{:?}", started.elapsed());

    // a's kept connection to b is closed by b while idle; the next message
    // goes on a new one, without an error.
    let a = endpoint().await;
    let p = a.spawn_process("p").unwrap();
    p.send(q.upid(), "m", b"1").await.unwrap();
    let first = q.recv().await.unwrap().peer_addr;
    tokio::time::sleep(Duration::from_millis(500)).await;
    p.send(q.upid(), "m", b"2").await.unwrap();
    let second = q.recv().await.unwrap();
    assert_eq!(second.body, b"2");
    assert_ne!(second.peer_addr, first, "a new connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kept_connections_to_peers_that_closed_them_are_swept() {
    let a =
        Endpoint::bind(EndpointOptions { max_outbound_connections: 2, ..EndpointOptions::default() }).await.unwrap();
    let p = a.spawn_process("p").unwrap();
    let quick = EndpointOptions { idle_timeout: Duration::from_millis(100), ..EndpointOptions::default() };
    let mut peers = Vec::new();
    for _ in 0..3 {
        let b = Endpoint::bind(quick.clone()).await.unwrap();
        let q = b.register("q").unwrap();
        peers.push((b, q));
    }
    p.send(peers[0].1.upid(), "m", b"").await.unwrap();
    p.send(peers[1].1.upid(), "m", b"").await.unwrap();
    assert_eq!(a.outbound_destinations(), 2);
    // Both peers close their idle side; the third destination sweeps them out.
    tokio::time::sleep(Duration::from_millis(400)).await;
    p.send(peers[2].1.upid(), "m", b"").await.unwrap();
    assert_eq!(a.outbound_destinations(), 1);
    // A destination that fails is forgotten at once.
    let gone: Upid = format!("q@127.0.0.1:{}", free_port()).parse().unwrap();
    assert!(p.send(&gone, "m", b"").await.is_err());
    assert_eq!(a.outbound_destinations(), 1);
}

//! Messages to one destination address wait in a bounded queue, and a whole
//! send (its wait in that queue included) has one deadline: a destination
//! that never answers holds up nothing but its own messages, and not for long.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, SendError, Upid};
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::support::WAIT;

/// A listener on `ip` whose connections are accepted (by the kernel) and never
/// answered: the address a hostile peer claims. Keep it alive while used.
async fn silent(ip: &str) -> (TcpListener, Upid) {
    let listener = TcpListener::bind(format!("{ip}:0")).await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    (listener, format!("scheduler-1@{addr}").parse().unwrap())
}

/// `n` sends from `a` to `to` at once; each one's result and when it came.
fn send_many(a: &Endpoint, to: &Upid, n: usize) -> JoinSet<(Result<(), SendError>, Instant)> {
    let from = a.upid("p").unwrap();
    let mut sends = JoinSet::new();
    for i in 0..n {
        let (a, from, to) = (a.clone(), from.clone(), to.clone());
        sends.spawn(async move { (a.send(&from, &to, "m", format!("{i}").as_bytes()).await, Instant::now()) });
    }
    sends
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_beyond_the_queue_to_one_address_fail_at_once() {
    let options = EndpointOptions { outbound_queue: 4, ..EndpointOptions::default() };
    let a = Endpoint::bind(options).await.unwrap();
    let (_listener, to) = silent("127.0.0.2").await;
    let started = Instant::now();
    let mut sends = send_many(&a, &to, 40);
    let mut full = 0;
    while let Ok(Some(done)) = tokio::time::timeout(Duration::from_millis(500), sends.join_next()).await {
        let (result, _) = done.unwrap();
        assert!(matches!(result, Err(SendError::QueueFull { limit: 4, .. })), "{result:?}");
        full += 1;
    }
    assert_eq!(full, 36, "all but the 4 queued were dropped within {:?}", started.elapsed());
    sends.abort_all();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_send_ends_within_the_connect_and_response_timeouts_even_behind_others() {
    let options = EndpointOptions {
        connect_timeout: Duration::from_millis(300),
        response_timeout: Duration::from_millis(300),
        ..EndpointOptions::default()
    };
    let a = Endpoint::bind(options).await.unwrap();
    let (_listener, to) = silent("127.0.0.2").await;
    let started = Instant::now();
    let mut sends = send_many(&a, &to, 10);
    while let Some(done) = tokio::time::timeout(WAIT, sends.join_next()).await.unwrap() {
        let (result, at) = done.unwrap();
        assert!(matches!(result, Err(SendError::Timeout { .. })), "{result:?}");
        // Each within 600 ms of its call (with slack), not in turn after the others.
        assert!(at - started < Duration::from_millis(1200), "a send ended after {:?}", at - started);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_never_answers_delays_no_other_destination() {
    let a = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let (_listener, to) = silent("127.0.0.2").await;
    let mut sends = send_many(&a, &to, 300);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let b = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let mut q = b.register("q").unwrap();
    let started = Instant::now();
    a.send(&a.upid("p").unwrap(), q.upid(), "m", b"honest").await.unwrap();
    assert_eq!(q.recv().await.unwrap().body, b"honest");
    assert!(started.elapsed() < Duration::from_millis(500), "took {:?}", started.elapsed());
    sends.abort_all();
}

//! Peers that break the protocol or its limits: refused with the right status,
//! cut off in time, and bounded in what they hold.

use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, Limits, SendError, Upid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{WAIT, closed_soon, connect_from, endpoint, free_port, read_answers, read_to_close, request};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_gets_400_and_a_closed_connection() {
    let b = endpoint().await;
    let cases: [&[u8]; 5] = [
        b"hello\r\n\r\n",
        // The start of a TLS ClientHello (a peer with SSL on): refused at once, no newline needed.
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03",
        b"POST /p/m HTTP/1.1\r\nUser-Agent: curl/8.0\r\n\r\n",
        b"POST /p/m HTTP/1.1\r\nLibprocess-From: not a upid\r\n\r\n",
        b"POST /p/m HTTP/1.1\r\nLibprocess-From: x@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ];
    for case in cases {
        let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
        conn.write_all(case).await.unwrap();
        let answer = read_to_close(&mut conn).await;
        assert!(answer.starts_with("HTTP/1.1 400 Bad Request\r\nDate: "), "{case:?}: {answer}");
        assert!(answer.contains("\r\nConnection: close\r\n"), "{case:?}: {answer}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_and_bodies_are_refused_before_they_arrive() {
    let limits = Limits { max_head_bytes: 1024, max_headers: 8, max_body_bytes: 1000 };
    let b = Endpoint::bind(EndpointOptions { limits, ..EndpointOptions::default() }).await.unwrap();
    let _p = b.register("p").unwrap();

    // A head that never ends: refused once it passes the limit, while the peer
    // still has most of it to send.
    let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
    conn.write_all(b"POST /p/m HTTP/1.1\r\nX-Long: ").await.unwrap();
    let filler = vec![b'a'; 4096];
    let _ = conn.write_all(&filler).await;
    let answer = read_to_close(&mut conn).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");

    // Too many header fields.
    let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
    conn.write_all(&request("p", "m", &"X: 1\r\n".repeat(9), b"")).await.unwrap();
    assert!(read_to_close(&mut conn).await.starts_with("HTTP/1.1 431 "));

    // A declared body over the limit: refused on the head alone (the body never comes).
    for length in ["1001", "1000000000000"] {
        let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
        let head = format!("Libprocess-From: x@127.0.0.1:1\r\nContent-Length: {length}\r\n");
        conn.write_all(&request("p", "m", &head, b"")).await.unwrap();
        assert!(read_to_close(&mut conn).await.starts_with("HTTP/1.1 413 "), "{length}");
    }

    // A chunk whose size would pass the limit: refused on its size line.
    let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
    let head = "Libprocess-From: x@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n";
    conn.write_all(&request("p", "m", head, b"200\r\n")).await.unwrap();
    conn.write_all(&[b'z'; 0x200]).await.unwrap();
    conn.write_all(b"\r\n300\r\n").await.unwrap();
    assert!(read_to_close(&mut conn).await.starts_with("HTTP/1.1 413 "));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickling_peer_is_cut_off_at_the_request_deadline() {
    let options = EndpointOptions { request_deadline: Duration::from_secs(1), ..EndpointOptions::default() };
    let b = Endpoint::bind(options).await.unwrap();
    let _p = b.register("p").unwrap();
    let conn = TcpStream::connect(b.local_addr()).await.unwrap();
    let (mut reader, mut writer) = conn.into_split();
    let started = Instant::now();
    // A valid request, one byte every 300 ms: each read succeeds, the whole never ends in time.
    let trickle = tokio::spawn(async move {
        let bytes = request("p", "m", "Libprocess-From: s(1)@127.0.0.1:9\r\nContent-Length: 100\r\n", &[b'x'; 100]);
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let mut sink = Vec::new();
    let _ = timeout(WAIT, reader.read_to_end(&mut sink)).await.expect("cut off");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took < Duration::from_millis(2500), "{took:?}");
    assert!(sink.is_empty(), "{sink:?}");
    trickle.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_answers_503_and_the_connection_limit_holds() {
    let options = EndpointOptions { queue_capacity: 1, max_connections: 2, ..EndpointOptions::default() };
    let b = Endpoint::bind(options).await.unwrap();
    let a = endpoint().await;
    let mut q = b.register("q").unwrap();
    let p = a.spawn_process("p").unwrap();
    p.send(q.upid(), "m", b"1").await.unwrap();
    assert!(matches!(p.send(q.upid(), "m", b"2").await, Err(SendError::Status { status: 503, .. })));
    assert_eq!(q.recv().await.unwrap().body, b"1");
    p.send(q.upid(), "m", b"3").await.unwrap();

    // a's kept connection is one of the two, idle; a second, in the middle of
    // a request, fills the limit.
    let partial = b"POST /q/m HTTP/1.1\r\n";
    let mut second = TcpStream::connect(b.local_addr()).await.unwrap();
    second.write_all(partial).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // A third closes the idle one (a's) to make room, and starts a request too.
    let mut third = TcpStream::connect(b.local_addr()).await.unwrap();
    third.write_all(partial).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.inbound_connections(), 2);
    // Both open ones are mid-request, none idle: a fourth is closed at once.
    let mut fourth = TcpStream::connect(b.local_addr()).await.unwrap();
    assert_eq!(read_to_close(&mut fourth).await, "");
    assert!(!closed_soon(&mut second).await && !closed_soon(&mut third).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_from_one_ip_do_not_lock_out_an_honest_sender() {
    // Finding 3 of issue 22: silent connections filled the global cap, and
    // every new connection was refused.
    let options = EndpointOptions { max_connections: 4, ..EndpointOptions::default() };
    let b = Endpoint::bind(options).await.unwrap();
    let mut q = b.register("q").unwrap();
    let mut idle = Vec::new();
    for _ in 0..4 {
        idle.push(connect_from("127.0.0.2", b.local_addr()).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.inbound_connections(), 4);
    // An honest sender on 127.0.0.1 gets through, each time the attacker fills
    // the cap again.
    let a = endpoint().await;
    let p = a.spawn_process("p").unwrap();
    for i in 0..3u8 {
        p.send(q.upid(), "m", &[i]).await.unwrap();
        assert_eq!(timeout(WAIT, q.recv()).await.unwrap().unwrap().body, [i]);
        for _ in 0..4 {
            idle.push(connect_from("127.0.0.2", b.local_addr()).await);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(b.inbound_connections() <= 4);
    }
    // The oldest idle connections were the ones closed.
    assert!(closed_soon(&mut idle[0]).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ip_holds_at_most_its_connection_cap() {
    let options = EndpointOptions { max_connections: 16, max_connections_per_ip: 3, ..EndpointOptions::default() };
    assert_eq!(EndpointOptions::default().max_connections_per_ip, libprocess::DEFAULT_MAX_CONNECTIONS_PER_IP);
    let b = Endpoint::bind(options).await.unwrap();
    let mut q = b.register("q").unwrap();
    let mut idle = Vec::new();
    for _ in 0..6 {
        idle.push(connect_from("127.0.0.2", b.local_addr()).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(b.inbound_connections(), 3);
    // Its own oldest went to make room for its newest.
    for (i, stream) in idle.iter_mut().enumerate() {
        assert_eq!(closed_soon(stream).await, i < 3, "connection {i}");
    }
    // Another IP is not held to that IP's cap.
    let a = endpoint().await;
    let p = a.spawn_process("p").unwrap();
    p.send(q.upid(), "m", b"1").await.unwrap();
    assert_eq!(timeout(WAIT, q.recv()).await.unwrap().unwrap().body, b"1");
    assert_eq!(b.inbound_connections(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_after_the_request_deadline_not_the_idle_timeout() {
    let options = EndpointOptions { request_deadline: Duration::from_millis(300), ..EndpointOptions::default() };
    assert!(options.idle_timeout >= Duration::from_secs(60));
    let b = Endpoint::bind(options).await.unwrap();
    let mut q = b.register("q").unwrap();
    let started = Instant::now();
    let mut silent = TcpStream::connect(b.local_addr()).await.unwrap();
    assert_eq!(read_to_close(&mut silent).await, "");
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(280) && took < Duration::from_secs(3), "{took:?}");
    // One that sent a whole request waits between requests for the idle timeout.
    let mut kept = TcpStream::connect(b.local_addr()).await.unwrap();
    let message = request("q", "m", "Libprocess-From: s(1)@127.0.0.1:9\r\nContent-Length: 1\r\n", b"x");
    kept.write_all(&message).await.unwrap();
    assert!(read_answers(&mut kept, 1).await.starts_with("HTTP/1.1 202 "));
    tokio::time::sleep(Duration::from_millis(700)).await;
    kept.write_all(&message).await.unwrap();
    assert!(read_answers(&mut kept, 1).await.starts_with("HTTP/1.1 202 "));
    assert_eq!(q.recv().await.unwrap().body, b"x");
    assert_eq!(q.recv().await.unwrap().body, b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_fails_at_once_and_bad_names_are_refused() {
    let a = endpoint().await;
    let p = a.spawn_process("p").unwrap();
    let port = free_port();
    let to: Upid = format!("master@127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    assert!(matches!(p.send(&to, "m", b"").await, Err(SendError::Connect { .. })));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(p.send(p.upid(), "bad name", b"").await, Err(SendError::BadName(_))));
}

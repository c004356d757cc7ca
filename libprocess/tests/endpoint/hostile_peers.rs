//! Peers that break the protocol or its limits: refused with the right status,
//! cut off in time, and bounded in what they hold.

use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, Limits, SendError, Upid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use crate::support::{WAIT, endpoint, free_port, read_to_close, request};

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

    // a's kept connection is one of the two; one more fits, a third is closed at once.
    let _second = TcpStream::connect(b.local_addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(b.local_addr()).await.unwrap();
    assert_eq!(read_to_close(&mut third).await, "");
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

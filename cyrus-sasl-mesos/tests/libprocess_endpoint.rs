//! The libprocess endpoint over loopback: our endpoints with each other, raw TCP
//! peers writing the bytes of `../shared/mesos-peer/wire-capture.txt` (and worse),
//! and the real Apache Mesos 1.11 `real-master`.

use cyrus_sasl_test_support::mesos_peer as libprocess_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::{AuthenticateMessage, AuthenticationMechanismsMessage};
use libprocess::{Endpoint, EndpointOptions, Limits, SendError, Upid};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(10);

async fn endpoint() -> Endpoint {
    Endpoint::bind(EndpointOptions::default()).await.unwrap()
}

/// Reads what the peer writes until it closes (or `WAIT` passes).
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = timeout(WAIT, stream.read_to_end(&mut out)).await.expect("the endpoint closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until `n` answers (`HTTP/1.1 ...` heads with an empty body) came.
async fn read_answers(stream: &mut TcpStream, n: usize) -> String {
    let mut out = Vec::new();
    let mut chunk = [0u8; 1024];
    while String::from_utf8_lossy(&out).matches("\r\n\r\n").count() < n {
        let got = timeout(WAIT, stream.read(&mut chunk)).await.expect("answer in time").unwrap();
        assert!(got > 0, "closed after {:?}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&chunk[..got]);
    }
    String::from_utf8(out).unwrap()
}

fn request(to: &str, name: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("POST /{to}/{name} HTTP/1.1\r\n{headers}\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_go_both_ways_and_replies_use_the_kept_connection_of_the_replier() {
    let (a, b) = (endpoint().await, endpoint().await);
    let mut p = a.spawn_process("crammd5-authenticatee").unwrap();
    let mut q = b.spawn_process("crammd5-authenticator-session").unwrap();
    assert_eq!(p.upid().to_string(), format!("crammd5-authenticatee(1)@{}", a.local_addr()));
    assert_eq!(q.upid().id(), "crammd5-authenticator-session(1)");
    assert_eq!(a.spawn_process("crammd5-authenticatee").unwrap().upid().id(), "crammd5-authenticatee(2)");

    for i in 0..3u8 {
        p.send(q.upid(), "test.Ping", &[i; 3]).await.unwrap();
    }
    let mut sources = Vec::new();
    for i in 0..3u8 {
        let envelope = timeout(WAIT, q.recv()).await.unwrap().unwrap();
        assert_eq!(
            (&envelope.from, envelope.to.as_str(), envelope.name.as_str()),
            (p.upid(), q.upid().id(), "test.Ping")
        );
        assert_eq!(envelope.body, [i; 3]);
        sources.push(envelope.peer_addr);
    }
    // One kept connection from a to b: the same source port each time.
    assert!(sources.iter().all(|s| *s == sources[0]), "{sources:?}");
    assert_eq!(sources[0].ip(), a.local_addr().ip());

    // The reply goes to the sender's UPID, on b's own connection to a.
    q.send(p.upid(), "test.Pong", b"").await.unwrap();
    let reply = timeout(WAIT, p.recv()).await.unwrap().unwrap();
    assert_eq!((&reply.from, reply.name.as_str(), reply.body.len()), (q.upid(), "test.Pong", 0));
    assert_ne!(reply.peer_addr, sources[0]);

    // The typed helper sends under the protobuf's full name.
    let pid = a.upid("scheduler-1").unwrap().to_string();
    p.send_message(q.upid(), &AuthenticateMessage { pid: pid.clone() }).await.unwrap();
    let envelope = timeout(WAIT, q.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.name, "mesos.internal.AuthenticateMessage");
    assert_eq!(AuthenticateMessage::decode(&envelope.body[..]).unwrap().pid, pid);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_on_a_new_connection_to_the_advertised_upid() {
    let b = endpoint().await;
    let mut q = b.register("master").unwrap();
    // The "framework": a raw listener it advertises, and a raw connection it sends on.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let advertised = listener.local_addr().unwrap();
    let from = format!("crammd5-authenticatee(7)@{advertised}");
    let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
    let body = AuthenticateMessage { pid: format!("scheduler-x@{advertised}") }.encode_to_vec();
    let head = format!(
        "User-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: \r\nContent-Length: {}\r\n",
        body.len()
    );
    conn.write_all(&request("master", "mesos.internal.AuthenticateMessage", &head, &body)).await.unwrap();
    assert!(read_answers(&mut conn, 1).await.starts_with("HTTP/1.1 202 Accepted\r\n"));

    let envelope = timeout(WAIT, q.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.from.to_string(), from);
    assert_eq!(envelope.peer_addr, conn.local_addr().unwrap());
    let mechanisms = AuthenticationMechanismsMessage { mechanisms: vec!["CRAM-MD5".into()] };
    let sending = tokio::spawn({
        let (q_upid, to, endpoint) = (q.upid().clone(), envelope.from.clone(), b.clone());
        async move { endpoint.send_message(&q_upid, &to, &mechanisms).await }
    });
    let (mut incoming, _) =
        timeout(WAIT, listener.accept()).await.expect("a new connection to the advertised address").unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    while !got.ends_with(b"0\r\n\r\n") {
        let n = timeout(WAIT, incoming.read(&mut chunk)).await.unwrap().unwrap();
        assert!(n > 0);
        got.extend_from_slice(&chunk[..n]);
    }
    let want = format!(
        "POST /crammd5-authenticatee(7)/mesos.internal.AuthenticationMechanismsMessage HTTP/1.1\r\n\
         User-Agent: libprocess/master@{0}\r\nLibprocess-From: master@{0}\r\nConnection: Keep-Alive\r\nHost: \r\n\
         Transfer-Encoding: chunked\r\n\r\na\r\n\n\x08CRAM-MD5\r\n0\r\n\r\n",
        b.local_addr()
    );
    assert_eq!(String::from_utf8_lossy(&got), want);
    incoming.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").await.unwrap();
    timeout(WAIT, sending).await.unwrap().unwrap().unwrap();
    // Nothing but the one answer came back on the framework's own connection.
    let mut extra = [0u8; 16];
    assert!(timeout(Duration::from_millis(200), conn.read(&mut extra)).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_process_is_404_and_the_connection_stays() {
    let (a, b) = (endpoint().await, endpoint().await);
    let p = a.spawn_process("p").unwrap();
    let nobody = b.upid("nobody").unwrap();
    match p.send(&nobody, "test.Ping", b"x").await {
        Err(SendError::UnknownProcess { to }) => assert_eq!(to, nobody),
        other => panic!("{other:?}"),
    }
    // A process that is dropped is unregistered.
    let q = b.register("gone").unwrap();
    let gone = q.upid().clone();
    p.send(&gone, "test.Ping", b"").await.unwrap();
    drop(q);
    assert!(matches!(p.send(&gone, "test.Ping", b"").await, Err(SendError::UnknownProcess { .. })));
    // Its id can be registered again, and a live id cannot be taken twice.
    let mut again = b.register("gone").unwrap();
    assert!(b.register("gone").is_err());
    // Unregistered while its handle lives: 404 at once, and recv ends.
    assert!(b.unregister("gone"));
    assert!(matches!(p.send(&gone, "test.Ping", b"").await, Err(SendError::UnknownProcess { .. })));
    assert!(again.recv().await.is_none());
    // The old handle's drop leaves a newer registration of the id alone.
    let mut newest = b.register("gone").unwrap();
    drop(again);
    p.send(&gone, "test.Ping", b"late").await.unwrap();
    assert_eq!(newest.recv().await.unwrap().body, b"late");

    // Raw: 404, then the same connection carries a 202.
    let _r = b.register("r").unwrap();
    let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
    let from = "Libprocess-From: x(1)@127.0.0.1:1\r\n";
    let mut bytes = request("nobody", "m", from, b"");
    bytes.extend(request("r", "m", from, b""));
    conn.write_all(&bytes).await.unwrap();
    let answers = read_answers(&mut conn, 2).await;
    assert!(answers.starts_with("HTTP/1.1 404 Not Found\r\n"), "{answers}");
    assert!(answers.contains("HTTP/1.1 202 Accepted\r\n"), "{answers}");
}

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
async fn pipelined_requests_in_both_body_framings_and_either_sender_header() {
    let b = endpoint().await;
    let mut p = b.register("p").unwrap();
    let mut conn = TcpStream::connect(b.local_addr()).await.unwrap();
    let mut bytes = Vec::new();
    // Content-Length, both sender headers.
    bytes.extend(request(
        "p",
        "one",
        "User-Agent: libprocess/s(1)@127.0.0.1:9\r\nLibprocess-From: s(1)@127.0.0.1:9\r\nContent-Length: 5\r\n",
        b"hello",
    ));
    // Chunked in two chunks, User-Agent only.
    bytes.extend(request(
        "p",
        "two",
        "User-Agent: libprocess/s(2)@127.0.0.1:9\r\nTransfer-Encoding: chunked\r\n",
        b"3\r\nwor\r\n2\r\nld\r\n0\r\n\r\n",
    ));
    // Empty, Libprocess-From only, no length header (as libprocess sends Completed).
    bytes.extend(request("p", "three", "Libprocess-From: s(3)@127.0.0.1:9\r\nHost: \r\n", b""));
    conn.write_all(&bytes).await.unwrap();
    let answers = read_answers(&mut conn, 3).await;
    // As libprocess answers: status, a Date of now, an empty body.
    let heads: Vec<&str> = answers.split_terminator("\r\n\r\n").collect();
    assert_eq!(heads.len(), 3, "{answers:?}");
    for head in heads {
        let lines: Vec<&str> = head.split("\r\n").collect();
        assert_eq!((lines[0], &lines[2..]), ("HTTP/1.1 202 Accepted", &["Content-Length: 0"][..]), "{head:?}");
        let date = lines[1].strip_prefix("Date: ").and_then(|d| httpdate::parse_http_date(d).ok());
        let age = date.and_then(|d| std::time::SystemTime::now().duration_since(d).ok());
        assert!(age.is_some_and(|age| age < WAIT), "{head:?}");
    }
    let mut got = Vec::new();
    for _ in 0..3 {
        let e = timeout(WAIT, p.recv()).await.unwrap().unwrap();
        got.push((e.name, e.from.to_string(), String::from_utf8(e.body).unwrap()));
    }
    let want =
        [("one", "s(1)@127.0.0.1:9", "hello"), ("two", "s(2)@127.0.0.1:9", "world"), ("three", "s(3)@127.0.0.1:9", "")];
    let want: Vec<_> = want.iter().map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string())).collect();
    assert_eq!(got, want);
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
    let port = libprocess_support::free_port();
    let to: Upid = format!("master@127.0.0.1:{port}").parse().unwrap();
    let started = Instant::now();
    assert!(matches!(p.send(&to, "m", b"").await, Err(SendError::Connect { .. })));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(p.send(p.upid(), "bad name", b"").await, Err(SendError::BadName(_))));
}

#[test]
fn options_from_the_libprocess_variables() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    };
    let options = EndpointOptions::from_vars(vars(&[
        ("LIBPROCESS_IP", "127.0.0.1"),
        ("LIBPROCESS_PORT", "5051"),
        ("LIBPROCESS_ADVERTISE_IP", "10.1.2.3"),
        ("LIBPROCESS_ADVERTISE_PORT", "31000"),
    ]))
    .unwrap();
    assert_eq!((options.bind_ip.to_string(), options.bind_port), ("127.0.0.1".into(), 5051));
    assert_eq!(options.advertise_ip.unwrap().to_string(), "10.1.2.3");
    assert_eq!(options.advertise_port, Some(31000));
    assert_eq!(EndpointOptions::from_vars(vars(&[])).unwrap(), EndpointOptions::default());
    let err = EndpointOptions::from_vars(vars(&[("LIBPROCESS_PORT", "50x")])).unwrap_err();
    assert_eq!(err.var, "LIBPROCESS_PORT");
    assert!(EndpointOptions::from_vars(vars(&[("LIBPROCESS_ADVERTISE_IP", "example.com")])).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upids_use_the_advertised_address() {
    let options = EndpointOptions {
        advertise_ip: Some("10.9.8.7".parse().unwrap()),
        advertise_port: Some(4242),
        ..EndpointOptions::default()
    };
    let a = Endpoint::bind(options).await.unwrap();
    assert_eq!(a.advertised_addr(), "10.9.8.7:4242".parse::<SocketAddr>().unwrap());
    assert_eq!(a.spawn_process("x").unwrap().upid().to_string(), "x(1)@10.9.8.7:4242");
    let unspecified = EndpointOptions { bind_ip: "0.0.0.0".parse().unwrap(), ..EndpointOptions::default() };
    assert!(Endpoint::bind(unspecified).await.is_err());
}

#[test]
fn the_blocking_facade_wraps_the_same_endpoint() {
    use libprocess::BlockingEndpoint;
    let a = BlockingEndpoint::bind(EndpointOptions::default()).unwrap();
    let b = BlockingEndpoint::bind(EndpointOptions::default()).unwrap();
    let p = a.spawn_process("p").unwrap();
    let mut q = b.register("q").unwrap();
    p.send(q.upid(), "m", b"hi").unwrap();
    let envelope = q.recv_timeout(WAIT).unwrap();
    assert_eq!((envelope.from, envelope.body), (p.upid().clone(), b"hi".to_vec()));
    assert!(q.recv_timeout(Duration::from_millis(50)).is_none());
}

/// The real Apache Mesos 1.11 master code answers our AuthenticateMessage from a
/// session process, on its own connection to our advertised address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
async fn the_real_mesos_master_answers_our_authenticate_message() {
    let peer = libprocess_support::mesos_peer("the_real_mesos_master_answers_our_authenticate_message");
    let mut master = libprocess_support::RealMaster::start(&peer, "fw s3cret\n");
    let a = endpoint().await;
    let mut p = a.spawn_process("crammd5-authenticatee").unwrap();
    let pid = a.upid("scheduler-rust").unwrap();
    let to: Upid = master.upid().parse().unwrap();
    p.send_message(&to, &AuthenticateMessage { pid: pid.to_string() }).await.unwrap();
    let envelope = timeout(WAIT, p.recv()).await.expect("the real master answered").unwrap();
    assert_eq!(envelope.name, "mesos.internal.AuthenticationMechanismsMessage");
    assert!(envelope.from.id().starts_with("crammd5-authenticator-session("), "{:?}", envelope.from);
    assert_eq!(envelope.from.addr(), to.addr());
    let mechanisms = AuthenticationMechanismsMessage::decode(&envelope.body[..]).unwrap();
    assert_eq!(mechanisms.mechanisms, ["CRAM-MD5"]);
    // A message to a process id the real master does not have: libprocess answers 404.
    let nobody: Upid = format!("nobody@127.0.0.1:{}", master.port).parse().unwrap();
    assert!(matches!(p.send(&nobody, "m", b"").await, Err(SendError::UnknownProcess { .. })));
    // real-master prints nothing until the attempt ends (it times out after 15 s).
    assert_eq!(master.next_line(Duration::from_millis(100)), None);
}

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
    let a = Endpoint::bind(EndpointOptions { max_connections: 2, ..EndpointOptions::default() }).await.unwrap();
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
    let gone: Upid = format!("q@127.0.0.1:{}", libprocess_support::free_port()).parse().unwrap();
    assert!(p.send(&gone, "m", b"").await.is_err());
    assert_eq!(a.outbound_destinations(), 1);
}

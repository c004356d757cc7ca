//! Messages between endpoints and raw peers: kept connections, replies on the
//! replier's own connection to the advertised UPID, 404s, pipelining, the
//! blocking facade.

use std::time::Duration;

use libprocess::{EndpointOptions, SendError};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::timeout;

use crate::support::{Hello, Names, WAIT, endpoint, read_answers, request};

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
    p.send_message(q.upid(), &Hello { pid: pid.clone() }).await.unwrap();
    let envelope = timeout(WAIT, q.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.name, "test.Hello");
    assert_eq!(Hello::decode(&envelope.body[..]).unwrap().pid, pid);
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
    let body = Hello { pid: format!("scheduler-x@{advertised}") }.encode_to_vec();
    let head = format!(
        "User-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nHost: \r\nContent-Length: {}\r\n",
        body.len()
    );
    conn.write_all(&request("master", "test.Hello", &head, &body)).await.unwrap();
    assert!(read_answers(&mut conn, 1).await.starts_with("HTTP/1.1 202 Accepted\r\n"));

    let envelope = timeout(WAIT, q.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.from.to_string(), from);
    assert_eq!(envelope.peer_addr, conn.local_addr().unwrap());
    let mechanisms = Names { names: vec!["CRAM-MD5".into()] };
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
        "POST /crammd5-authenticatee(7)/test.Names HTTP/1.1\r\n\
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

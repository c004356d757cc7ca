//! Issue 22, findings 1, 5 and 6, and the per-IP limits of a master config:
//! hostile peers on loopback against our libprocess master with real libsasl2.
//! The attacker is a distinct peer on 127.0.0.2 (Linux routes all of
//! 127.0.0.0/8 to loopback); honest frameworks run on 127.0.0.1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use libprocess::{Endpoint, EndpointOptions, Upid, encode_request};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{
    AuthenticateMessage, AuthenticateOptions, AuthenticationStepMessage, Credential, ExchangeError, Master,
    MasterConfig, MasterEvent, MasterHandle, MasterOptions, Message, MessageType, Outcome, Registry, Verdict,
    authenticate,
};

const WAIT: Duration = Duration::from_secs(20);
const ATTACKER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

fn store() -> CredentialStore {
    let users = [("framework-a", "s3cret"), ("low-priv", "low-secret")];
    CredentialStore::from_credentials(users.iter().map(|(p, s)| (p.to_string(), Secret::from(*s))).collect::<Vec<_>>())
        .unwrap()
}

async fn spawn(options: MasterOptions) -> (MasterHandle, CredentialStore) {
    let store = store();
    let sasl = Config::new().with_credential_store(&store);
    (Master::spawn(MasterOptions { sasl, ..options }).await.unwrap(), store)
}

/// One authentication of `pid` on `endpoint` as `principal`, giving up after `within`.
async fn login(master: &MasterHandle, endpoint: &Endpoint, pid: &Upid, who: (&str, &str), within: Duration) -> bool {
    let options = AuthenticateOptions { timeout: within, ..AuthenticateOptions::default() };
    let verdict = authenticate(endpoint, master.upid(), pid, Credential::new(who.0, who.1), &options).await;
    matches!(verdict, Ok(Verdict::Authenticated))
}

/// A TCP connection from `ip` (the attacker's address) to `to`.
async fn connect_from(ip: IpAddr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(ip, 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Writes `requests` pipelined on one connection from `ip` and returns the
/// status code of each answer.
async fn pipelined(ip: IpAddr, to: SocketAddr, requests: &[Vec<u8>]) -> Vec<u16> {
    let mut stream = connect_from(ip, to).await;
    for request in requests {
        stream.write_all(request).await.unwrap();
    }
    let mut answers = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&answers).into_owned();
        let statuses: Vec<u16> =
            text.split("HTTP/1.1 ").skip(1).map(|rest| rest[..3].parse().unwrap()).collect::<Vec<_>>();
        if statuses.len() == requests.len() {
            return statuses;
        }
        let n = timeout(WAIT, stream.read(&mut chunk)).await.expect("answers in time").unwrap();
        assert!(n > 0, "the master closed after {statuses:?}");
        answers.extend_from_slice(&chunk[..n]);
    }
}

/// The request head of message `name` from `from` to `to` declaring a body
/// of `len` bytes (not sent): what the master answers before the body comes.
fn head_declaring(from: &Upid, to: &Upid, name: &str, len: usize) -> Vec<u8> {
    format!(
        "POST /{}/{name} HTTP/1.1\r\nLibprocess-From: {from}\r\nConnection: Keep-Alive\r\nContent-Length: {len}\r\n\r\n",
        to.id()
    )
    .into_bytes()
}

/// The status line's code the master answers a request (or its head) with.
async fn status_of(to: SocketAddr, request: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(to).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = timeout(Duration::from_secs(10), stream.read(&mut answer)).await.expect("an answer in time").unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    text.strip_prefix("HTTP/1.1 ").and_then(|rest| rest.get(..3)).and_then(|code| code.parse().ok()).unwrap_or(0)
}

fn authenticate_request(from: &Upid, to: &Upid, pid: &str) -> Vec<u8> {
    let body = Message::from(AuthenticateMessage { pid: pid.into() }).encode();
    encode_request(from, to, MessageType::Authenticate.proto_name(), &body)
}

/// Every event the master has reported within `quiet` of the last one.
async fn events_until_quiet(master: &mut MasterHandle, quiet: Duration) -> Vec<MasterEvent> {
    let mut events = Vec::new();
    while let Ok(Some(event)) = timeout(quiet, master.next_event()).await {
        events.push(event);
    }
    events
}

// ---- Finding 1: the master keeps no sender-sized pid ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_to_the_master_and_its_sessions_are_refused_413_before_they_arrive() {
    let (mut master, _store) = spawn(MasterOptions::default()).await;
    let peer = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let from = peer.upid("crammd5-authenticatee(1)").unwrap();
    let name = MessageType::Authenticate.proto_name();

    // A hostile sender of many large AuthenticateMessages (1 MiB each, under
    // the endpoint's 4 MiB): each is refused at its head, before its body.
    for _ in 0..60 {
        let head = head_declaring(&from, master.upid(), name, 1 << 20);
        assert_eq!(status_of(master.upid().addr(), &head).await, 413);
    }
    // Chunked too (how libprocess sends): refused at the chunk's size line.
    let pid = format!("{}@{}", "x".repeat(200_000), from.addr());
    let whole = authenticate_request(&from, master.upid(), &pid);
    let size_line_end = whole.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let size_line = whole[size_line_end..].iter().position(|&b| b == b'\n').unwrap() + 1;
    assert_eq!(status_of(master.upid().addr(), &whole[..size_line_end + size_line]).await, 413);
    // None of them became an attempt, and nothing is pending.
    let events = events_until_quiet(&mut master, Duration::from_millis(500)).await;
    assert!(events.is_empty(), "{events:?}");

    // A session process takes only a few KiB: a 100 KiB step is refused too.
    let pid = peer.upid("scheduler-1").unwrap();
    let mut process = peer.register("crammd5-authenticatee(2)").unwrap();
    process.send_message(master.upid(), &AuthenticateMessage { pid: pid.to_string() }).await.unwrap();
    let session = timeout(WAIT, process.recv()).await.unwrap().unwrap().from;
    assert!(session.id().starts_with("crammd5-authenticator-session("), "{session}");
    let head = head_declaring(process.upid(), &session, MessageType::Step.proto_name(), 100 * 1024);
    assert_eq!(status_of(master.upid().addr(), &head).await, 413);
    // While a small step is still taken.
    let step = Message::from(AuthenticationStepMessage { data: b"x".to_vec() }).encode();
    let request = encode_request(process.upid(), &session, MessageType::Step.proto_name(), &step);
    assert_eq!(status_of(master.upid().addr(), &request).await, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pid_that_is_no_bounded_upid_is_a_typed_refusal_and_the_record_keeps_none_of_it() {
    let (mut master, _store) = spawn(MasterOptions::default()).await;
    let peer = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let from = peer.upid("crammd5-authenticatee(1)").unwrap();
    // Under the body limit, but its process id is over libprocess's MAX_ID_LEN;
    // and one that is no UPID at all.
    let long = format!("{}@{}", "y".repeat(8 * 1024), from.addr());
    let garbage = "z".repeat(8 * 1024);
    for pid in [long, garbage] {
        assert_eq!(
            pipelined(
                IpAddr::from([127, 0, 0, 1]),
                master.upid().addr(),
                &[authenticate_request(&from, master.upid(), &pid)]
            )
            .await,
            [202]
        );
        let record = cyrus_sasl_test_support::mesos::next_authentication(&mut master, WAIT).await;
        assert!(matches!(record.outcome, Outcome::Failed(ExchangeError::BadPid { .. })), "{record:?}");
        // What the master reports (and so keeps for the event) is bounded.
        assert!(record.pid.len() <= 128, "{} bytes", record.pid.len());
        assert!(format!("{:?}", record.outcome).len() < 1024);
        assert_eq!(master.registry().len(), 0);
    }
    // The honest framework still authenticates.
    let pid = peer.upid("scheduler-1").unwrap();
    assert!(login(&master, &peer, &pid, ("framework-a", "s3cret"), WAIT).await);
}

// ---- Finding 6: one peer IP cannot fill every session slot ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_ip_fills_only_its_own_session_quota_and_an_honest_framework_authenticates_at_once() {
    let options = MasterOptions {
        max_sessions: 32,
        max_sessions_per_ip: 8,
        server: cyrus_sasl_mesos::ServerOptions { session_timeout: Duration::from_secs(60), ..Default::default() },
        ..MasterOptions::default()
    };
    let (mut master, _store) = spawn(options).await;
    // The attacker listens on 127.0.0.2, so its UPIDs claim 127.0.0.2, and sends from there.
    let attacker =
        Endpoint::bind(EndpointOptions { bind_ip: ATTACKER_IP, ..EndpointOptions::default() }).await.unwrap();
    let requests: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            let from = attacker.upid(&format!("crammd5-authenticatee({i})")).unwrap();
            authenticate_request(&from, master.upid(), &format!("attacker-{i}@{}", attacker.advertised_addr()))
        })
        .collect();
    assert_eq!(pipelined(ATTACKER_IP, master.upid().addr(), &requests).await, vec![202; 40]);
    let events = events_until_quiet(&mut master, Duration::from_millis(500)).await;
    let overloaded = events.iter().filter(|e| matches!(e, MasterEvent::Overloaded { .. })).count();
    assert_eq!(overloaded, 32, "{events:?}");

    // An honest framework on 127.0.0.1 authenticates at once (well within one
    // session timeout of the attacker's sessions).
    let honest = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = honest.upid("scheduler-honest").unwrap();
    assert!(login(&master, &honest, &pid, ("framework-a", "s3cret"), Duration::from_secs(5)).await);
    assert_eq!(master.authenticated(&pid.to_string()).as_deref(), Some("framework-a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ips_quota_frees_up_as_its_sessions_end() {
    let options = MasterOptions {
        max_sessions_per_ip: 2,
        server: cyrus_sasl_mesos::ServerOptions { session_timeout: Duration::from_millis(600), ..Default::default() },
        ..MasterOptions::default()
    };
    let (mut master, _store) = spawn(options).await;
    let attacker =
        Endpoint::bind(EndpointOptions { bind_ip: ATTACKER_IP, ..EndpointOptions::default() }).await.unwrap();
    for round in 0..3 {
        let requests: Vec<Vec<u8>> = (0..3)
            .map(|i| {
                let from = attacker.upid(&format!("crammd5-authenticatee({round}-{i})")).unwrap();
                authenticate_request(&from, master.upid(), &format!("p-{round}-{i}@{}", attacker.advertised_addr()))
            })
            .collect();
        assert_eq!(pipelined(ATTACKER_IP, master.upid().addr(), &requests).await, vec![202; 3]);
        // Two sessions start and time out; the third attempt is turned away.
        let events = events_until_quiet(&mut master, Duration::from_millis(1000)).await;
        let overloaded = events.iter().filter(|e| matches!(e, MasterEvent::Overloaded { .. })).count();
        let timed_out = events
            .iter()
            .filter(|e| {
                matches!(e, MasterEvent::Authentication(r)
                if matches!(r.outcome, Outcome::Failed(ExchangeError::Discarded(_))))
            })
            .count();
        assert_eq!((overloaded, timed_out), (1, 2), "round {round}: {events:?}");
    }
}

// ---- Finding 5: one principal cannot evict another's authenticated UPIDs ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_principal_authenticating_many_upids_evicts_only_its_own() {
    let options =
        MasterOptions { registry: Some(Registry::new(8)), max_upids_per_principal: 4, ..MasterOptions::default() };
    let (master, _store) = spawn(options).await;
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let victim = endpoint.upid("scheduler-victim").unwrap();
    assert!(login(&master, &endpoint, &victim, ("framework-a", "s3cret"), WAIT).await);
    let mut own = Vec::new();
    for i in 0..20 {
        let pid = endpoint.upid(&format!("scheduler-low-{i}")).unwrap();
        assert!(login(&master, &endpoint, &pid, ("low-priv", "low-secret"), WAIT).await, "{pid}");
        own.push(pid.to_string());
    }
    assert_eq!(master.authenticated(&victim.to_string()).as_deref(), Some("framework-a"));
    // The low-privilege principal keeps its newest four.
    for (i, pid) in own.iter().enumerate() {
        let expected = (i >= 16).then_some("low-priv");
        assert_eq!(master.authenticated(pid).as_deref(), expected, "{pid}");
    }
    assert_eq!(master.registry().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_full_of_authenticated_upids_refuses_a_new_attempt_rather_than_evict_one() {
    let options = MasterOptions { registry: Some(Registry::new(3)), ..MasterOptions::default() };
    let (mut master, _store) = spawn(options).await;
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let victim = endpoint.upid("scheduler-victim").unwrap();
    assert!(login(&master, &endpoint, &victim, ("framework-a", "s3cret"), WAIT).await);
    for i in 0..2 {
        let pid = endpoint.upid(&format!("scheduler-low-{i}")).unwrap();
        assert!(login(&master, &endpoint, &pid, ("low-priv", "low-secret"), WAIT).await);
    }
    let _ = events_until_quiet(&mut master, Duration::from_millis(200)).await;
    let one_more = endpoint.upid("scheduler-low-2").unwrap();
    assert!(!login(&master, &endpoint, &one_more, ("low-priv", "low-secret"), Duration::from_secs(1)).await);
    let events = events_until_quiet(&mut master, Duration::from_millis(300)).await;
    assert!(
        events.iter().any(|e| matches!(e, MasterEvent::Authentication(r)
            if matches!(r.outcome, Outcome::Failed(ExchangeError::RegistryFull { .. })))),
        "{events:?}"
    );
    assert_eq!(master.authenticated(&victim.to_string()).as_deref(), Some("framework-a"));
    assert_eq!(master.authenticated(&one_more.to_string()), None);
    assert_eq!(master.registry().len(), 3);
}

// ---- The per-IP limits are settable from the master config ----

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_set_in_a_master_config_file_take_effect_on_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "credentials", "framework-a s3cret\n");
    let conf = write(
        dir.path(),
        "master.conf",
        "credentials: credentials\nmax_sessions: 100\nmax_sessions_per_ip: 2\nmax_connections: 300\n\
         max_connections_per_ip: 5\nmax_upids_per_principal: 7\n",
    );
    let options = MasterOptions::from_config(&MasterConfig::read(&conf).unwrap());
    assert_eq!(options.max_sessions, 100);
    assert_eq!(options.max_upids_per_principal, 7);
    let mut master = Master::spawn(options).await.unwrap();
    assert_eq!(master.endpoint().options().max_connections, 300);
    assert_eq!(master.endpoint().options().max_connections_per_ip, 5);
    assert_eq!(master.registry().max_upids_per_principal(), 7);

    // max_sessions_per_ip: 2: a third attempt from one IP is turned away.
    let attacker =
        Endpoint::bind(EndpointOptions { bind_ip: ATTACKER_IP, ..EndpointOptions::default() }).await.unwrap();
    let requests: Vec<Vec<u8>> = (0..3)
        .map(|i| {
            let from = attacker.upid(&format!("crammd5-authenticatee({i})")).unwrap();
            authenticate_request(&from, master.upid(), &format!("attacker-{i}@{}", attacker.advertised_addr()))
        })
        .collect();
    assert_eq!(pipelined(ATTACKER_IP, master.upid().addr(), &requests).await, vec![202; 3]);
    let events = events_until_quiet(&mut master, Duration::from_millis(500)).await;
    let overloaded = events.iter().filter(|e| matches!(e, MasterEvent::Overloaded { .. })).count();
    assert_eq!(overloaded, 1, "{events:?}");
}

#[test]
fn a_limit_that_is_no_positive_number_fails_the_load_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "credentials", "framework-a s3cret\n");
    for (text, key) in [
        ("max_sessions_per_ip: 0\n", "max_sessions_per_ip"),
        ("max_connections: lots\n", "max_connections"),
        ("max_upids_per_principal: -1\n", "max_upids_per_principal"),
    ] {
        let conf = write(dir.path(), "master.conf", &format!("credentials: credentials\n{text}"));
        let error = MasterConfig::read(&conf).unwrap_err();
        assert!(error.to_string().contains(key), "{error}");
    }
}

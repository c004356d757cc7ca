//! Hostile and careless peers against our libprocess master, on loopback with
//! real libsasl2: each gets its typed outcome, and the master keeps serving an
//! honest framework afterwards (our own client, `cyrus_sasl_mesos::authenticate`).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, Process, SendError, Upid, encode_request};

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{
    AuthenticateMessage, AuthenticationStartMessage, AuthenticationStepMessage, Credential, DiscardReason,
    ExchangeError, ExchangeState, Message, MessageType, Outcome, ServerOptions, Verdict,
};
use cyrus_sasl_mesos::{
    AuthenticateOptions, AuthenticationRecord, Master, MasterEvent, MasterHandle, MasterOptions, authenticate,
};
use cyrus_sasl_test_support::mesos::next_authentication;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

fn store() -> CredentialStore {
    let users = [("framework-a", "s3cret"), ("agent-1", "agent-secret")];
    CredentialStore::from_credentials(users.iter().map(|(p, s)| (p.to_string(), Secret::from(*s))).collect::<Vec<_>>())
        .unwrap()
}

async fn master_with(session_timeout: Duration, request_deadline: Duration) -> (MasterHandle, CredentialStore) {
    let store = store();
    let config = Config::new().with_credential_store(&store);
    let options = MasterOptions {
        server: ServerOptions { session_timeout, ..ServerOptions::default() },
        endpoint: EndpointOptions { request_deadline, ..EndpointOptions::default() },
        ..MasterOptions::default()
    };
    (Master::spawn(MasterOptions { sasl: config, ..options }).await.unwrap(), store)
}

async fn master() -> (MasterHandle, CredentialStore) {
    master_with(Duration::from_secs(15), Duration::from_secs(5)).await
}

/// The next authentication record.
async fn next_record(master: &mut MasterHandle) -> AuthenticationRecord {
    next_authentication(master, WAIT).await
}

/// Our own framework, end to end, on a fresh endpoint: the master still serves.
async fn honest_framework_authenticates(master: &mut MasterHandle) {
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-honest").unwrap();
    let options = AuthenticateOptions { timeout: WAIT, ..AuthenticateOptions::default() };
    let verdict = authenticate(&endpoint, master.upid(), &pid, Credential::new("framework-a", "s3cret"), &options);
    assert_eq!(verdict.await.unwrap(), Verdict::Authenticated);
    let record = next_record(master).await;
    assert_eq!(record.outcome.principal(), Some("framework-a"));
    assert_eq!(master.authenticated(&pid.to_string()).as_deref(), Some("framework-a"));
}

/// A hand-driven authenticatee process.
struct Peer {
    _endpoint: Endpoint,
    process: Process,
}

impl Peer {
    async fn new() -> Peer {
        let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
        let process = endpoint.spawn_process("crammd5-authenticatee").unwrap();
        Peer { _endpoint: endpoint, process }
    }

    async fn send(&self, to: &Upid, message: impl Into<Message>) -> Result<(), SendError> {
        let message = message.into();
        self.process.send(to, message.message_type().proto_name(), &message.encode()).await
    }

    async fn recv(&mut self) -> (Upid, Message) {
        let envelope = timeout(WAIT, self.process.recv()).await.expect("an answer in time").unwrap();
        let message_type = MessageType::from_proto_name(&envelope.name).unwrap();
        (envelope.from, Message::decode(message_type.tag(), &envelope.body).unwrap())
    }

    async fn nothing_within(&mut self, wait: Duration) {
        if let Ok(Some(envelope)) = timeout(wait, self.process.recv()).await {
            panic!("unexpected {envelope:?}");
        }
    }

    /// Sends `AuthenticateMessage{pid}` and returns the session's UPID from its mechanisms.
    async fn open(&mut self, master: &Upid, pid: &str) -> Upid {
        self.send(master, AuthenticateMessage { pid: pid.into() }).await.unwrap();
        let (session, message) = self.recv().await;
        assert!(matches!(message, Message::Mechanisms(ref m) if m.mechanisms == ["CRAM-MD5"]), "{message:?}");
        assert!(session.id().starts_with("crammd5-authenticator-session("), "{session}");
        session
    }
}

fn start() -> AuthenticationStartMessage {
    AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![]) }
}

/// A request written by hand on a new connection; the HTTP status line.
async fn raw(to: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(to).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = vec![0u8; 512];
    let n = timeout(WAIT, stream.read(&mut answer)).await.unwrap().unwrap();
    String::from_utf8_lossy(&answer[..n]).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_libprocess_from_is_refused_with_a_typed_outcome_and_no_answer() {
    let (mut master, _store) = master().await;
    let mut peer = Peer::new().await;
    // The request comes from 127.0.0.1 but claims a sender, and a pid, on another host.
    let forged = Upid::new("crammd5-authenticatee(7)", "10.9.9.9:41234".parse().unwrap()).unwrap();
    let body = AuthenticateMessage { pid: "scheduler-x@10.9.9.9:41234".into() }.encode_to_vec_for_test();
    let status = raw(
        master.upid().addr(),
        &encode_request(&forged, master.upid(), MessageType::Authenticate.proto_name(), &body),
    )
    .await;
    assert_eq!(status, "HTTP/1.1 202 Accepted");
    let record = next_record(&mut master).await;
    assert_eq!(record.from, forged);
    let Outcome::Failed(ExchangeError::PeerAddressMismatch { claimed, peer_ip }) = &record.outcome else {
        panic!("{record:?}")
    };
    assert_eq!(claimed, "crammd5-authenticatee(7)@10.9.9.9:41234");
    assert_eq!(peer_ip.to_string(), "127.0.0.1");
    assert_eq!(master.authenticated("scheduler-x@10.9.9.9:41234"), None);

    // A real local sender, but the pid names another host.
    peer.send(master.upid(), AuthenticateMessage { pid: "scheduler-y@10.9.9.9:1".into() }).await.unwrap();
    let record = next_record(&mut master).await;
    assert!(matches!(record.outcome, Outcome::Failed(ExchangeError::PeerAddressMismatch { .. })), "{record:?}");
    peer.nothing_within(Duration::from_millis(300)).await;
    honest_framework_authenticates(&mut master).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_before_authenticate_reaches_no_session_and_step_before_start_is_an_error() {
    let (mut master, _store) = master().await;
    let mut peer = Peer::new().await;
    // To the master process, a Start is not an authentication: the application gets it.
    peer.send(master.upid(), start()).await.unwrap();
    match timeout(WAIT, master.next_event()).await.unwrap().unwrap() {
        MasterEvent::Message(envelope) => assert_eq!(envelope.name, MessageType::Start.proto_name()),
        other => panic!("{other:?}"),
    }
    // To a session that does not exist: 404, as libprocess answers.
    let nowhere = Upid::new("crammd5-authenticator-session(999)", master.upid().addr()).unwrap();
    assert!(matches!(peer.send(&nowhere, start()).await, Err(SendError::UnknownProcess { .. })));

    // Step before Start: the session ends with the typed error, told to the peer.
    let pid = format!("scheduler-1@{}", peer.process.upid().addr());
    let session = peer.open(master.upid(), &pid).await;
    peer.send(&session, AuthenticationStepMessage { data: b"x".to_vec() }).await.unwrap();
    let (_, answer) = peer.recv().await;
    assert!(matches!(answer, Message::Error(_)), "{answer:?}");
    let record = next_record(&mut master).await;
    assert!(
        matches!(
            record.outcome,
            Outcome::Failed(ExchangeError::Unexpected { message: MessageType::Step, state: ExchangeState::Starting })
        ),
        "{record:?}"
    );
    // The session process is gone with its session.
    assert!(matches!(peer.send(&session, start()).await, Err(SendError::UnknownProcess { .. })));
    honest_framework_authenticates(&mut master).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicated_and_reordered_messages_give_typed_outcomes() {
    let (mut master, _store) = master().await;
    let mut peer = Peer::new().await;
    let pid = format!("scheduler-dup@{}", peer.process.upid().addr());

    // A duplicated AuthenticateMessage: the first session is superseded, the second answers.
    let first = peer.open(master.upid(), &pid).await;
    let second = peer.open(master.upid(), &pid).await;
    assert_ne!(first, second);
    let record = next_record(&mut master).await;
    assert_eq!(record.session, first);
    assert!(
        matches!(record.outcome, Outcome::Failed(ExchangeError::Discarded(DiscardReason::Superseded))),
        "{record:?}"
    );

    // A duplicated Start: the first gets the challenge, the second is out of place.
    peer.send(&second, start()).await.unwrap();
    peer.send(&second, start()).await.unwrap();
    let (_, challenge) = peer.recv().await;
    assert!(matches!(challenge, Message::Step(_)), "{challenge:?}");
    let (_, error) = peer.recv().await;
    assert!(matches!(error, Message::Error(_)), "{error:?}");
    let record = next_record(&mut master).await;
    assert!(
        matches!(
            record.outcome,
            Outcome::Failed(ExchangeError::Unexpected { message: MessageType::Start, state: ExchangeState::Stepping })
        ),
        "{record:?}"
    );
    assert_eq!(master.authenticated(&pid), None);
    honest_framework_authenticates(&mut master).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_that_never_finishes_times_out_and_its_process_goes_away() {
    let (mut master, _store) = master_with(Duration::from_millis(400), Duration::from_secs(5)).await;
    let mut peer = Peer::new().await;
    let pid = format!("scheduler-silent@{}", peer.process.upid().addr());
    let began = Instant::now();
    let session = peer.open(master.upid(), &pid).await;
    let record = next_record(&mut master).await;
    assert!(matches!(record.outcome, Outcome::Failed(ExchangeError::Discarded(DiscardReason::TimedOut))), "{record:?}");
    assert!(began.elapsed() >= Duration::from_millis(400) && began.elapsed() < Duration::from_secs(5));
    // Nothing is sent for a timeout; later messages to the session get 404.
    peer.nothing_within(Duration::from_millis(200)).await;
    assert!(matches!(peer.send(&session, start()).await, Err(SendError::UnknownProcess { .. })));
    honest_framework_authenticates(&mut master).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_trickle_is_cut_off_at_the_request_deadline_while_others_are_served() {
    let (mut master, _store) = master_with(Duration::from_secs(15), Duration::from_secs(1)).await;
    let peer = Peer::new().await;
    let body =
        AuthenticateMessage { pid: format!("scheduler-slow@{}", peer.process.upid().addr()) }.encode_to_vec_for_test();
    let request = encode_request(peer.process.upid(), master.upid(), MessageType::Authenticate.proto_name(), &body);
    let mut stream = TcpStream::connect(master.upid().addr()).await.unwrap();
    let began = Instant::now();
    let trickle = tokio::spawn(async move {
        for byte in request {
            if stream.write_all(&[byte]).await.is_err() {
                return began.elapsed();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the whole trickled request was taken");
    });
    // Meanwhile an honest framework is served.
    honest_framework_authenticates(&mut master).await;
    let cut_after = timeout(WAIT, trickle).await.unwrap().unwrap();
    assert!(cut_after < Duration::from_secs(4), "cut off after {cut_after:?}");
    // The trickled message never became an attempt.
    assert!(master.try_next_event().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_authentications_all_get_their_verdict() {
    // A thousand sessions at once through one master: what is measured here is
    // the master's concurrency, so the per-peer limits that keep one IP from
    // taking every session (64 by default, `hostile_limits.rs`) and one
    // destination from queueing more than 128 messages (`outbound_queue.rs`)
    // are opened wide for this one peer, which is all of the load.
    let store = store();
    let options = MasterOptions {
        sasl: Config::new().with_credential_store(&store),
        max_sessions_per_ip: 1000,
        ..MasterOptions::default()
    };
    let mut master = Master::spawn(options).await.unwrap();
    let endpoint =
        Endpoint::bind(EndpointOptions { outbound_queue: 1000, ..EndpointOptions::default() }).await.unwrap();
    let began = Instant::now();
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let (endpoint, to) = (endpoint.clone(), master.upid().clone());
        let secret = if i % 10 == 9 { "wrong" } else { "s3cret" };
        tasks.push(tokio::spawn(async move {
            let pid = endpoint.upid(&format!("scheduler-{i}")).unwrap();
            let options = AuthenticateOptions { timeout: Duration::from_secs(60), ..AuthenticateOptions::default() };
            authenticate(&endpoint, &to, &pid, Credential::new("framework-a", secret), &options).await
        }));
    }
    let mut verdicts = (0, 0);
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap().unwrap() {
            Verdict::Authenticated => verdicts.0 += 1,
            Verdict::Rejected => verdicts.1 += 1,
        }
        let expected = if i % 10 == 9 { None } else { Some("framework-a") };
        let pid = endpoint.upid(&format!("scheduler-{i}")).unwrap().to_string();
        assert_eq!(master.authenticated(&pid).as_deref(), expected, "{pid}");
    }
    assert_eq!(verdicts, (900, 100));
    assert_eq!(master.registry().len(), 900);
    let elapsed = began.elapsed();
    eprintln!("1000 authentications over libprocess in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    honest_framework_authenticates(&mut master).await;
}

/// `prost`'s encoding, through the crate's own [`Message::encode`].
trait EncodeForTest {
    fn encode_to_vec_for_test(self) -> Vec<u8>;
}

impl EncodeForTest for AuthenticateMessage {
    fn encode_to_vec_for_test(self) -> Vec<u8> {
        Message::from(self).encode()
    }
}

//! `SCRAM-SHA-256-PLUS` with `tls-server-end-point` channel binding (RFC 5929)
//! against scramp, an independent SCRAM implementation in Python, over real TLS
//! on 127.0.0.1, in both roles:
//!
//! | Our side | Peer (`tests/peers/scramp_peer.py`) |
//! |---|---|
//! | libsasl2 `Server` behind a rustls server | scramp `ScramClient` over Python `ssl` |
//! | libsasl2 `Client` behind a rustls client | scramp `ScramServer` over Python `ssl` |
//!
//! Each side computes the binding on its own: ours with
//! [`tls_server_end_point`] (the server from its own certificate, the client
//! from the leaf in `peer_certificates()`), scramp from the ssl socket's peer
//! certificate (client) or the server's PEM file (server). A right password
//! authenticates, a wrong one is refused, and through a relay that terminates
//! TLS with a certificate of its own (a machine in the middle whose CA the
//! client trusts) the PLUS exchange fails while plain `SCRAM-SHA-256` between
//! the same two parties, through the same relay, succeeds.
//!
//! Why not `tls-exporter` (RFC 9266), the binding TLS 1.3 prefers: Python's
//! `ssl` module cannot export keying material, so scramp refuses the type
//! (`CbName.UNSUPPORTED_TYPES` in scramp 1.5.0).
//!
//! The peer: `/usr/bin/python3` (Debian's; the `python3` on PATH may be another
//! interpreter) with scramp 1.5.0 on `PYTHONPATH` from [`SCRAMP_DIR`], where
//! `ci/install-deps` installs the pinned wheel (Debian 12 has no
//! `python3-scramp`). Without it every test here fails, saying to run
//! `ci/install-deps`. scramp 1.5.0 dropped `make_channel_binding()`: a binding
//! is now a `(type, ssl socket | PEM text | bytes)` tuple.
//!
//! Facts seen with libsasl2 2.1.28's SCRAM plugin, each asserted below:
//! - gs2 header: our client's first message starts `p=tls-server-end-point,,`
//!   (libsasl2 writes [`ChannelBinding::name`] as the type) and scramp's
//!   starts the same; each side accepts the other's.
//! - `mech_list` names the plugin, `SCRAM-SHA-256`: with a binding set, the
//!   server then offers both `SCRAM-SHA-256-PLUS` and `SCRAM-SHA-256`.
//!   `SCRAM-SHA-256-PLUS` in `mech_list` is refused by `Server::new`
//!   ([`Error::MechanismUnavailable`]).
//! - [`Identity::mechanism`] is the name the client chose,
//!   `SCRAM-SHA-256-PLUS` for a bound exchange (libsasl2 itself names the
//!   plugin, `SCRAM-SHA-256`); [`Client::start`] reports the same.
//! - Our `Server` (no `SASL_SUCCESS_DATA`) sends SCRAM's server-final as a
//!   last challenge and completes on the client's empty answer; scramp's
//!   client is driven that way by the peer script.
//! - Our server refuses a wrong password, a downgraded client (gs2 `y`) and
//!   a binding mismatch with [`ServerStep::Rejected`] (the mismatch is
//!   libsasl2's `SASL_BADPROT` "Channel bindings mismatch in SCRAM-SHA-256",
//!   typed as `RejectReason::ChannelBindingMismatch`).
//! - Our client sends gs2 `y` when offered several mechanisms none of them
//!   `-PLUS`, and `n` when offered exactly one (libsasl2 takes a one-entry
//!   list as the application's explicit choice), non-critical binding set.

use cyrus_sasl_test_support as common;

use common::tls::Certs;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use cyrus_sasl::{
    ChannelBinding, Client, ClientStep, Config, CredentialStore, Credentials, Error, Identity, Secret, Server,
    ServerStep,
};
use libprocess::{TLS_SERVER_END_POINT, tls_server_end_point};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConnection, ServerConnection, StreamOwned};

/// Debian's interpreter, which has python3-asn1crypto (scramp's dependency).
const PYTHON: &str = "/usr/bin/python3";
/// Where `ci/install-deps` installs scramp (`scramp_dir` there).
const SCRAMP_DIR: &str = "/opt/cyrus-sasl-rs/python";
/// The version `ci/install-deps` pins.
const SCRAMP_VERSION: &str = "1.5.0";
const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/scramp_peer.py");

const USER: &str = "alice";
const SECRET: &str = "scramp-secret";
const WRONG: &str = "not-the-secret";

const PLUS: &str = "SCRAM-SHA-256-PLUS";
const PLAIN: &str = "SCRAM-SHA-256";
/// What each party offers or allows: both variants, so the binding decides.
const BOTH: &str = "SCRAM-SHA-256-PLUS SCRAM-SHA-256";
/// An offer with `-PLUS` stripped, and still more than one mechanism.
const STRIPPED: &str = "SCRAM-SHA-256 SCRAM-SHA-1";

/// How long any one read, accept or child may take.
const DEADLINE: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Certificates and TLS (rustls, blocking)
// ---------------------------------------------------------------------------

fn localhost() -> ServerName<'static> {
    ServerName::IpAddress(Ipv4Addr::LOCALHOST.into())
}

/// Accepts one connection on `listener` within the deadline.
fn accept(listener: &TcpListener) -> TcpStream {
    listener.set_nonblocking(true).expect("nonblocking listener");
    let end = Instant::now() + DEADLINE;
    loop {
        match listener.accept() {
            Ok((tcp, _)) => {
                tcp.set_nonblocking(false).expect("blocking stream");
                tcp.set_read_timeout(Some(DEADLINE)).expect("read timeout");
                return tcp;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < end => {
                thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("no connection within {DEADLINE:?}: {e}"),
        }
    }
}

fn connect(addr: SocketAddr) -> TcpStream {
    let tcp = TcpStream::connect_timeout(&addr, DEADLINE).expect("connect");
    tcp.set_read_timeout(Some(DEADLINE)).expect("read timeout");
    tcp
}

// ---------------------------------------------------------------------------
// The line framing of tests/peers/scramp_peer.py
// ---------------------------------------------------------------------------

fn send(stream: &mut impl Write, line: &str) {
    stream.write_all(format!("{line}\n").as_bytes()).and_then(|()| stream.flush()).expect("write a line");
}

/// One line without its newline. rustls buffers the records, so byte reads
/// are cheap, and nothing past the line is taken from the stream.
fn recv(stream: &mut impl Read) -> Result<String, String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match stream.read(&mut byte) {
            Ok(0) => return Err(format!("the peer closed the stream after {:?}", String::from_utf8_lossy(&line))),
            Ok(_) if byte[0] == b'\n' => break,
            Ok(_) => line.push(byte[0]),
            Err(e) => return Err(format!("read: {e}")),
        }
    }
    String::from_utf8(line).map_err(|e| format!("not UTF-8: {e}"))
}

fn decode(text: &str) -> Result<Vec<u8>, String> {
    STANDARD.decode(text).map_err(|e| format!("bad base64 {text:?}: {e}"))
}

// ---------------------------------------------------------------------------
// The scramp peer, a child process
// ---------------------------------------------------------------------------

/// Fails (never skips) unless Debian's python3 can import the pinned scramp.
fn require_scramp() {
    static CHECKED: OnceLock<Result<(), String>> = OnceLock::new();
    let checked = CHECKED.get_or_init(|| {
        let out = Command::new(PYTHON)
            .args(["-c", "import scramp; print(scramp.__version__)"])
            .env("PYTHONPATH", SCRAMP_DIR)
            .output()
            .map_err(|e| format!("cannot run {PYTHON}: {e}"))?;
        let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.status.success() && version == SCRAMP_VERSION {
            Ok(())
        } else {
            Err(format!(
                "{PYTHON} with PYTHONPATH={SCRAMP_DIR} has no scramp {SCRAMP_VERSION} (found {version:?}; {})",
                String::from_utf8_lossy(&out.stderr).trim()
            ))
        }
    });
    if let Err(e) = checked {
        panic!("{e}: run ci/install-deps, which installs it");
    }
}

/// A running `scramp_peer.py`, killed and reaped when dropped. Its stdout is
/// read line by line in a thread, its stderr collected whole.
struct Peer {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
    stderr: Option<JoinHandle<String>>,
}

/// How a peer ended: its exit code and what it printed.
#[derive(Debug)]
#[allow(dead_code, reason = "stdout and stderr are read through Debug, in failure messages")]
struct PeerEnd {
    code: Option<i32>,
    verdict: String,
    stdout: Vec<String>,
    stderr: String,
}

impl Peer {
    /// `scramp_peer.py ARGS`, with the password in its environment.
    fn spawn(args: &[&str], password: &str) -> Peer {
        require_scramp();
        let mut child = Command::new(PYTHON)
            .arg(PEER)
            .args(args)
            .env("PYTHONPATH", SCRAMP_DIR)
            .env("SCRAMP_PASSWORD", password)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {PYTHON} {PEER}: {e}; run ci/install-deps"));
        let stdout: ChildStdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let stderr = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Peer { child, lines, seen: Vec::new(), stderr: Some(stderr) }
    }

    /// Waits for a stdout line starting with `prefix`; returns the rest.
    fn wait_for(&mut self, prefix: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            match self.lines.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default());
                    panic!("the scramp peer printed no {prefix:?} line; stdout {:?}; stderr {stderr:?}", self.seen)
                }
            }
        }
    }

    /// Waits (with the deadline) for the peer to exit.
    fn finish(mut self) -> PeerEnd {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(Instant::now() < end, "the scramp peer did not exit; stdout so far {:?}", self.seen);
            thread::sleep(Duration::from_millis(10));
        };
        // The child has exited: its pipes reach end of file.
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.seen.push(line);
        }
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        let verdict = self.seen.last().cloned().unwrap_or_default();
        PeerEnd { code: status.code(), verdict, stdout: std::mem::take(&mut self.seen), stderr }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Our side
// ---------------------------------------------------------------------------

fn store() -> CredentialStore {
    CredentialStore::from_credentials(vec![(USER.to_owned(), Secret::from(SECRET))]).expect("a credential store")
}

/// `tls-server-end-point` of `cert`, as a non-critical binding (a client may
/// still choose plain SCRAM, as the relay trials do).
fn binding_of(cert: &CertificateDer<'_>) -> ChannelBinding {
    let data = tls_server_end_point(cert).expect("ecdsa-with-SHA256 has a tls-server-end-point hash");
    ChannelBinding::new(TLS_SERVER_END_POINT, data, false)
}

/// Our libsasl2 server: `mech_list: SCRAM-SHA-256`, alice in memory, the
/// binding `binding`.
fn our_server(binding: &ChannelBinding) -> Server {
    let config = Config::new().with("mech_list", PLAIN).expect("mech_list").with_credential_store(&store());
    let mut server = Server::new("test", "localhost", None, &config).expect("Server::new");
    server.set_channel_binding(binding).expect("set_channel_binding");
    server
}

/// Serves one exchange on `tls` with `server`: `Ok(Some(identity))`
/// authenticated, `Ok(None)` refused, `Err` an error from libsasl2 (the peer
/// is told `no` either way).
fn serve(
    tls: &mut (impl Read + Write),
    server: &mut Server,
    client_first: &mut String,
) -> Result<Option<Identity>, String> {
    let mechanism = recv(tls)?;
    let first = decode(&recv(tls)?)?;
    *client_first = String::from_utf8_lossy(&first).into_owned();
    let mut step = server.start(&mechanism, Some(&first)).map_err(|e| e.to_string());
    loop {
        let challenge = match step {
            Ok(ServerStep::Continue(challenge)) => STANDARD.encode(challenge),
            Ok(ServerStep::Authenticated { identity, additional }) => {
                send(tls, &format!("ok {}", STANDARD.encode(additional)));
                return Ok(Some(identity));
            }
            Ok(ServerStep::Rejected(_)) => {
                send(tls, "no ");
                return Ok(None);
            }
            Err(e) => {
                send(tls, "no ");
                return Err(e);
            }
        };
        send(tls, &format!("+ {challenge}"));
        let response = decode(&recv(tls)?)?;
        step = server.step(&response).map_err(|e| e.to_string());
    }
}

/// What one trial with our server saw.
#[derive(Debug)]
struct Served {
    ours: Result<Option<Identity>, String>,
    client_first: String,
    peer: PeerEnd,
}

/// Our server behind rustls (`server.pem`) with `binding`; the scramp client
/// connects, directly or through a relay with its own certificate, trusting
/// the CA that signed what it will see, and authenticates with `password`
/// and `client_args` (`--mech M`, maybe `--capable`).
fn scramp_client_against_our_server(
    certs: &Certs,
    binding: &ChannelBinding,
    via_relay: bool,
    client_args: &[&str],
    password: &str,
) -> Served {
    let mut server = our_server(binding);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let server_addr = listener.local_addr().expect("local_addr");
    let (port, ca, _relay) = if via_relay {
        let relay = Relay::start(certs, server_addr);
        (relay.addr.port(), certs.path("other-ca.pem"), Some(relay))
    } else {
        (server_addr.port(), certs.path("ca.pem"), None)
    };
    let ca = ca.to_str().expect("UTF-8 temp path").to_owned();
    let port = port.to_string();
    let args = [&["client", "--port", &port, "--ca", &ca, "--user", USER], client_args].concat();
    let peer = Peer::spawn(&args, password);
    let conn = ServerConnection::new(certs.server_config("server")).expect("ServerConnection");
    let mut tls = StreamOwned::new(conn, accept(&listener));
    let mut client_first = String::new();
    let ours = serve(&mut tls, &mut server, &mut client_first);
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Served { ours, client_first, peer: peer.finish() }
}

/// What one trial with our client saw: `Ok(true)` our client verified the
/// server's success, `Ok(false)` the server refused, `Err` anything else.
#[derive(Debug)]
struct Dialled {
    ours: Result<bool, String>,
    mechanism: String,
    client_first: Vec<u8>,
    peer: PeerEnd,
}

/// The scramp server (`server.pem`) offering `offered` (`capable`: binding
/// even when the client picks plain SCRAM); our client connects
/// through rustls, directly or through the relay, trusting the CA of what it
/// sees, and binds `tls-server-end-point` of the leaf it got, or of
/// `bind_to` (a certificate of the test's choosing) when given. `allowed`: the
/// mechanisms our client may use.
fn our_client_against_scramp_server(
    certs: &Certs,
    offered: &str,
    capable: bool,
    via_relay: bool,
    bind_to: Option<&CertificateDer<'_>>,
    allowed: &str,
    password: &str,
) -> Dialled {
    let cert = certs.path("server.pem");
    let key = certs.path("server.key");
    let (cert, key) = (cert.to_str().expect("UTF-8 temp path"), key.to_str().expect("UTF-8 temp path"));
    let mut args = vec!["server", "--cert", cert, "--key", key, "--user", USER, "--mechs", offered];
    if capable {
        args.push("--capable");
    }
    let mut peer = Peer::spawn(&args, SECRET);
    let server_addr: SocketAddr = peer.wait_for("listening on ").parse().expect("an address");
    let (addr, ca, _relay) = if via_relay {
        let relay = Relay::start(certs, server_addr);
        (relay.addr, "other-ca", Some(relay))
    } else {
        (server_addr, "ca", None)
    };
    let conn = ClientConnection::new(certs.client_config(ca), localhost()).expect("ClientConnection");
    let mut tls = StreamOwned::new(conn, connect(addr));
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    let leaf = tls.conn.peer_certificates().and_then(|c| c.first()).expect("the server's leaf").clone();
    let binding = binding_of(bind_to.unwrap_or(&leaf));
    let mut client =
        Client::new("test", "localhost", Credentials::new(USER, password), &Config::new()).expect("Client::new");
    client.set_channel_binding(&binding).expect("set_channel_binding");
    let (ours, mechanism, client_first) = dial(&mut tls, &mut client, offered, allowed);
    tls.conn.send_close_notify();
    let _ = tls.flush();
    Dialled { ours, mechanism, client_first, peer: peer.finish() }
}

/// Runs our client on `tls`: it picks among `offered` ∩ `allowed`.
fn dial(
    tls: &mut (impl Read + Write),
    client: &mut Client,
    offered: &str,
    allowed: &str,
) -> (Result<bool, String>, String, Vec<u8>) {
    let choices: Vec<&str> = offered.split(' ').filter(|m| allowed.split(' ').any(|a| a == *m)).collect();
    let (mechanism, first) = match client.start(&choices.join(" ")) {
        Ok(start) => (start.mechanism.to_owned(), start.initial_response.map(<[u8]>::to_vec).unwrap_or_default()),
        Err(e) => return (Err(format!("Client::start: {e}")), String::new(), Vec::new()),
    };
    send(tls, &mechanism);
    send(tls, &STANDARD.encode(&first));
    let outcome = (|| loop {
        let line = recv(tls)?;
        let (kind, data) = line.split_once(' ').unwrap_or((&line, ""));
        let data = decode(data)?;
        match kind {
            "+" => {
                let response = match client.step(&data).map_err(|e| format!("Client::step: {e}"))? {
                    ClientStep::Continue(r) => r.to_vec(),
                    ClientStep::Complete(r) => r.map(<[u8]>::to_vec).unwrap_or_default(),
                };
                send(tls, &STANDARD.encode(response));
            }
            // Our client checks the server's signature in server-final.
            "ok" => {
                client.step(&data).map_err(|e| format!("Client::step on server-final: {e}"))?;
                return Ok(client.is_complete());
            }
            "no" => return Ok(false),
            other => return Err(format!("unexpected line kind {other:?}")),
        }
    })();
    (outcome, mechanism, first)
}

// ---------------------------------------------------------------------------
// The relay: a machine in the middle with its own certificate
// ---------------------------------------------------------------------------

/// Accepts one TLS connection presenting `relay.pem` (by `other-ca`, which the
/// relayed client trusts), opens its own TLS connection to the real server
/// (trusting `ca`), and copies bytes both ways: two TLS sessions, one per side.
struct Relay {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Relay {
    fn start(certs: &Certs, upstream: SocketAddr) -> Relay {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config("relay"));
        let connector = tokio_rustls::TlsConnector::from(certs.client_config("ca"));
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind the relay");
        let addr = listener.local_addr().expect("local_addr");
        runtime.spawn(async move {
            let (tcp, _) = listener.accept().await?;
            let mut down = acceptor.accept(tcp).await?;
            let tcp = tokio::net::TcpStream::connect(upstream).await?;
            let mut up = connector.connect(localhost(), tcp).await?;
            tokio::io::copy_bidirectional(&mut down, &mut up).await?;
            Ok::<_, std::io::Error>(())
        });
        Relay { addr, runtime: Some(runtime) }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(1));
        }
    }
}

// ---------------------------------------------------------------------------
// Role 1: our Server, scramp's client
// ---------------------------------------------------------------------------

#[test]
fn our_server_authenticates_scramp_client_with_plus() {
    let certs = Certs::new();
    let binding = binding_of(&certs.cert("server"));
    let run = scramp_client_against_our_server(&certs, &binding, false, &["--mech", PLUS], SECRET);
    let Ok(Some(identity)) = &run.ours else { panic!("not authenticated: {run:#?}") };
    assert_eq!(identity.authid, USER, "{run:?}");
    // The variant the client chose (libsasl2 would name the plugin).
    assert_eq!(identity.mechanism, PLUS, "{run:?}");
    assert!(run.client_first.starts_with("p=tls-server-end-point,,n=alice,"), "{run:?}");
    assert_eq!((run.peer.code, run.peer.verdict.as_str()), (Some(0), "authenticated"), "{run:?}");
}

#[test]
fn our_server_refuses_scramp_client_with_a_wrong_password() {
    let certs = Certs::new();
    let binding = binding_of(&certs.cert("server"));
    let run = scramp_client_against_our_server(&certs, &binding, false, &["--mech", PLUS], WRONG);
    assert_eq!(run.ours, Ok(None), "{run:?}");
    assert_eq!(run.peer.code, Some(1), "{run:?}");
    assert!(run.peer.verdict.starts_with("refused"), "{run:?}");
}

/// Our server binding another certificate than the one it presents (as if
/// its binding came from the wrong leaf): the PLUS exchange fails.
#[test]
fn our_server_binding_the_wrong_certificate_refuses_scramp_client() {
    let certs = Certs::new();
    let binding = binding_of(&certs.cert("relay"));
    let run = scramp_client_against_our_server(&certs, &binding, false, &["--mech", PLUS], SECRET);
    // A refusal (RejectReason::ChannelBindingMismatch), not an error.
    assert!(matches!(run.ours, Ok(None)), "a mismatched binding must not authenticate: {run:?}");
    assert_eq!(run.peer.code, Some(1), "{run:?}");
}

/// The scramp client binds the relay's certificate, our server its own: the
/// PLUS proof fails. Plain SCRAM between the same two, through the same
/// relay, succeeds: the binding is what catches the relay.
#[test]
fn through_a_relay_our_server_refuses_plus_but_not_plain_scram() {
    let certs = Certs::new();
    let binding = binding_of(&certs.cert("server"));
    let run = scramp_client_against_our_server(&certs, &binding, true, &["--mech", PLUS], SECRET);
    assert!(matches!(run.ours, Ok(None)), "a relayed PLUS exchange must not authenticate: {run:?}");
    assert_eq!(run.peer.code, Some(1), "{run:?}");

    let run = scramp_client_against_our_server(&certs, &binding, true, &["--mech", PLAIN], SECRET);
    let Ok(Some(identity)) = &run.ours else { panic!("not authenticated: {run:#?}") };
    assert_eq!(identity.mechanism, PLAIN, "{run:?}");
    assert!(run.client_first.starts_with("n,,"), "{run:?}");
    assert_eq!((run.peer.code, run.peer.verdict.as_str()), (Some(0), "authenticated"), "{run:?}");
}

/// Downgrade detection (RFC 5802 section 6): a bind-capable scramp client
/// that picks plain SCRAM sends gs2 flag `y` ("I could bind, I think you
/// cannot"); our server, which offers PLUS, refuses it, so a machine in the
/// middle cannot strip `-PLUS` from the offer unnoticed.
#[test]
fn our_server_refuses_a_downgraded_scramp_client() {
    let certs = Certs::new();
    let binding = binding_of(&certs.cert("server"));
    let run = scramp_client_against_our_server(&certs, &binding, false, &["--mech", PLAIN, "--capable"], SECRET);
    assert!(run.client_first.starts_with("y,,"), "{run:?}");
    assert_eq!(run.ours, Ok(None), "{run:?}");
    assert_eq!(run.peer.code, Some(1), "{run:?}");
}

// ---------------------------------------------------------------------------
// Role 2: our Client, scramp's server
// ---------------------------------------------------------------------------

#[test]
fn our_client_authenticates_to_scramp_server_with_plus() {
    let certs = Certs::new();
    let run = our_client_against_scramp_server(&certs, BOTH, false, false, None, BOTH, SECRET);
    assert_eq!(run.ours, Ok(true), "{run:?}");
    assert_eq!(run.mechanism, PLUS, "{run:?}");
    let header = b"p=tls-server-end-point,,";
    assert!(run.client_first.starts_with(header), "{:?}", String::from_utf8_lossy(&run.client_first));
    assert_eq!((run.peer.code, run.peer.verdict.as_str()), (Some(0), "authenticated"), "{run:?}");
}

#[test]
fn scramp_server_refuses_our_client_with_a_wrong_password() {
    let certs = Certs::new();
    let run = our_client_against_scramp_server(&certs, BOTH, false, false, None, BOTH, WRONG);
    assert_eq!(run.ours, Ok(false), "{run:?}");
    assert_eq!(run.mechanism, PLUS, "{run:?}");
    assert_eq!(run.peer.code, Some(1), "{run:?}");
    assert!(run.peer.verdict.contains("invalid-proof"), "{run:?}");
}

/// Our client binds the relay's certificate (the leaf it got), scramp its
/// own: scramp refuses. Plain SCRAM through the same relay succeeds.
#[test]
fn through_a_relay_scramp_server_refuses_our_plus_but_not_plain_scram() {
    let certs = Certs::new();
    let run = our_client_against_scramp_server(&certs, BOTH, false, true, None, PLUS, SECRET);
    assert_eq!(run.mechanism, PLUS, "{run:?}");
    assert_ne!(run.ours, Ok(true), "{run:?}");
    assert_eq!(run.peer.code, Some(1), "{run:?}");
    assert!(run.peer.verdict.contains("channel-bindings-dont-match"), "{run:?}");

    let run = our_client_against_scramp_server(&certs, PLAIN, false, true, None, BOTH, SECRET);
    assert_eq!((run.ours.clone(), run.mechanism.as_str()), (Ok(true), PLAIN), "{run:?}");
    assert_eq!((run.peer.code, run.peer.verdict.as_str()), (Some(0), "authenticated"), "{run:?}");
}

/// Without a relay, binding data that is not the server's certificate's (here
/// the relay's, as if computed from the wrong leaf) is refused: scramp really
/// compares the binding bytes, not only the header.
#[test]
fn scramp_server_refuses_our_client_binding_the_wrong_certificate() {
    let certs = Certs::new();
    let run = our_client_against_scramp_server(&certs, BOTH, false, false, Some(&certs.cert("relay")), BOTH, SECRET);
    assert_eq!(run.mechanism, PLUS, "{run:?}");
    assert_eq!(run.ours, Ok(false), "{run:?}");
    assert!(run.peer.verdict.contains("channel-bindings-dont-match"), "{run:?}");
}

/// Downgrade detection (RFC 5802 section 6) between libsasl2's client and
/// scramp's server: a machine in the middle strips `-PLUS` from the offer.
/// Our client, bind-capable, offered `SCRAM-SHA-256 SCRAM-SHA-1`, picks
/// `SCRAM-SHA-256` and sends gs2 flag `y`. A server that cannot bind accepts
/// that; a server that can refuses it.
#[test]
fn our_client_offered_no_plus_sends_y_and_a_binding_scramp_server_refuses() {
    let certs = Certs::new();
    let run = our_client_against_scramp_server(&certs, STRIPPED, false, false, None, STRIPPED, SECRET);
    assert_eq!((run.ours.clone(), run.mechanism.as_str()), (Ok(true), PLAIN), "{run:?}");
    assert!(run.client_first.starts_with(b"y,,"), "{:?}", String::from_utf8_lossy(&run.client_first));
    assert_eq!(run.peer.code, Some(0), "{run:?}");

    let run = our_client_against_scramp_server(&certs, STRIPPED, true, false, None, STRIPPED, SECRET);
    assert_eq!(run.mechanism, PLAIN, "{run:?}");
    assert!(run.client_first.starts_with(b"y,,"), "{:?}", String::from_utf8_lossy(&run.client_first));
    assert_eq!(run.ours, Ok(false), "{run:?}");
    assert!(run.peer.verdict.contains("server-does-support-channel-binding"), "{run:?}");
}

/// A limit of that detection, as libsasl2 2.1.28 behaves: given a list of
/// one mechanism, its client takes it as the application's explicit choice
/// (no negotiation) and sends gs2 flag `n` despite its (non-critical)
/// binding, so a binding server cannot tell a downgrade, and accepts. An
/// application that needs binding sets it critical.
#[test]
fn our_client_offered_one_plain_mechanism_sends_n() {
    let certs = Certs::new();
    let run = our_client_against_scramp_server(&certs, PLAIN, true, false, None, BOTH, SECRET);
    assert_eq!((run.ours.clone(), run.mechanism.as_str()), (Ok(true), PLAIN), "{run:?}");
    assert!(run.client_first.starts_with(b"n,,"), "{:?}", String::from_utf8_lossy(&run.client_first));
    assert_eq!(run.peer.code, Some(0), "{run:?}");
}

// ---------------------------------------------------------------------------
// libsasl2's mech_list and PLUS
// ---------------------------------------------------------------------------

/// `mech_list` names the plugin: `SCRAM-SHA-256` with a binding offers both
/// variants; `SCRAM-SHA-256-PLUS` is no plugin's name, and `Server::new`
/// refuses it, naming the plugin (not as a mechanism that is not installed).
#[test]
fn mech_list_names_the_plugin_not_the_plus_variant() {
    let config = |mech_list: &str| {
        Config::new().with("mech_list", mech_list).expect("mech_list").with_credential_store(&store())
    };
    let mut server = Server::new("test", "localhost", None, &config(PLAIN)).expect("Server::new");
    assert!(!server.mechanisms().expect("mechanisms").iter().any(|m| m == PLUS), "no PLUS without a binding");
    server.set_channel_binding(&ChannelBinding::new(TLS_SERVER_END_POINT, [1u8; 32], false)).expect("binding");
    let both = server.mechanisms().expect("mechanisms");
    assert!(both.iter().any(|m| m == PLUS) && both.iter().any(|m| m == PLAIN), "{both:?}");
    match Server::new("test", "localhost", None, &config(PLUS)) {
        Err(Error::PlusMechanism { mechanism, plugin }) => {
            assert_eq!((mechanism.as_str(), plugin.as_str()), (PLUS, PLAIN))
        }
        other => panic!("expected PlusMechanism, got {:?}", other.map(|_| "a server")),
    }
}

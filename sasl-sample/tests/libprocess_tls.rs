//! TLS on the libprocess wire, on loopback: our master and authenticatee over
//! TLS, OpenSSL's `s_client` and `s_server` as independent peers in both
//! directions, refused certificates (another CA, a wrong host name), and
//! downgrade mode. Certificates are made per run by `ci/tls-certs`.

use cyrus_sasl_test_support as common;

use common::tls::Certs;

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::Credential;
use cyrus_sasl_mesos::Verdict;
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterOptions, authenticate};
use libprocess::{Endpoint, EndpointOptions, TlsOptions, Upid};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(20);

async fn bind(tls: Option<TlsOptions>) -> Endpoint {
    Endpoint::bind(EndpointOptions { tls, ..EndpointOptions::default() }).await.unwrap()
}

/// A child process killed by its PID when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Collects a child's stdout bytes on a thread.
fn collect(mut out: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 4096];
        while let Ok(n) = out.read(&mut chunk) {
            if n == 0 || tx.send(chunk[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits until what `rx` delivered contains `needle`; everything read so far.
fn wait_for(rx: &mpsc::Receiver<Vec<u8>>, seen: &mut Vec<u8>, needle: &str) -> bool {
    let deadline = std::time::Instant::now() + WAIT;
    while !String::from_utf8_lossy(seen).contains(needle) {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(bytes) => seen.extend_from_slice(&bytes),
            Err(_) => return false,
        }
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_and_authenticatee_authenticate_over_tls_with_client_certificates() {
    let certs = Certs::new();
    let store = CredentialStore::from_credentials(vec![("framework-a".to_owned(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new().with_credential_store(&store);
    let master_tls = certs.tls("server").require_client_cert(true);
    let options = MasterOptions {
        endpoint: EndpointOptions { tls: Some(master_tls), ..EndpointOptions::default() },
        ..MasterOptions::default()
    };
    let mut master = Master::spawn(MasterOptions { sasl: config.clone(), ..options }).await.unwrap();
    let endpoint = bind(Some(certs.tls("client"))).await;
    let pid = endpoint.upid("scheduler-1").unwrap();
    let options = AuthenticateOptions { timeout: WAIT, ..AuthenticateOptions::default() };
    let verdict = authenticate(&endpoint, master.upid(), &pid, Credential::new("framework-a", "s3cret"), &options);
    assert_eq!(verdict.await.unwrap(), Verdict::Authenticated);
    let record = common::mesos::next_authentication(&mut master, WAIT).await;
    assert_eq!((record.mechanism.as_deref(), record.tls), (Some("CRAM-MD5"), true));
    assert_eq!(record.outcome.principal(), Some("framework-a"));
    assert_eq!(master.authenticated(&pid.to_string()).as_deref(), Some("framework-a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openssl_s_client_sends_a_libprocess_message_over_tls() {
    let certs = Certs::new();
    let server = bind(Some(certs.tls("server").require_client_cert(true))).await;
    let mut master = server.register("master").unwrap();
    let port = server.local_addr().port();
    let mut child = Peer(
        Command::new("openssl")
            .args(["s_client", "-connect", &format!("127.0.0.1:{port}"), "-quiet", "-verify_return_error"])
            .args(["-verify_ip", "127.0.0.1"])
            // A 128-bit cipher, which the session's SSF must say.
            .args(["-ciphersuites", "TLS_AES_128_GCM_SHA256"])
            .arg("-CAfile")
            .arg(certs.path("ca.pem"))
            .arg("-cert")
            .arg(certs.path("client.pem"))
            .arg("-key")
            .arg(certs.path("client.key"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run openssl s_client"),
    );
    let out = collect(child.0.stdout.take().unwrap());
    let request = "POST /master/test.Ping HTTP/1.1\r\nLibprocess-From: s-client@127.0.0.1:9\r\nHost: x\r\n\
                   Content-Length: 5\r\nConnection: Keep-Alive\r\n\r\nhello";
    child.0.stdin.as_mut().unwrap().write_all(request.as_bytes()).unwrap();
    child.0.stdin.as_mut().unwrap().flush().unwrap();
    let mut seen = Vec::new();
    assert!(
        tokio::task::block_in_place(|| wait_for(&out, &mut seen, "\r\n\r\n")),
        "no answer: {:?}",
        String::from_utf8_lossy(&seen)
    );
    assert!(
        String::from_utf8_lossy(&seen).starts_with("HTTP/1.1 202 Accepted\r\n"),
        "{:?}",
        String::from_utf8_lossy(&seen)
    );
    let envelope = timeout(WAIT, master.recv()).await.unwrap().unwrap();
    assert_eq!((envelope.from.to_string().as_str(), envelope.name.as_str()), ("s-client@127.0.0.1:9", "test.Ping"));
    assert_eq!(envelope.body, b"hello");
    // What the session established: the cipher's strength and the client
    // certificate s_client presented.
    let session = envelope.tls.expect("over TLS");
    assert_eq!(session.ssf(), 128);
    assert_eq!(session.peer_certificate(), Some(&certs.cert("client")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_endpoint_sends_a_libprocess_message_to_openssl_s_server() {
    let certs = Certs::new();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // s_server requires our client certificate (-Verify) and prints what arrives.
    let mut child = Peer(
        Command::new("openssl")
            .args(["s_server", "-accept", &format!("127.0.0.1:{port}"), "-naccept", "1", "-Verify", "2"])
            .args(["-verify_return_error"])
            .arg("-cert")
            .arg(certs.path("server.pem"))
            .arg("-key")
            .arg(certs.path("server.key"))
            .arg("-CAfile")
            .arg(certs.path("ca.pem"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run openssl s_server"),
    );
    let out = collect(child.0.stdout.take().unwrap());
    let mut seen = Vec::new();
    assert!(tokio::task::block_in_place(|| wait_for(&out, &mut seen, "ACCEPT")), "s_server did not start");

    let sender = bind(Some(certs.tls("client"))).await;
    let from = sender.upid("scheduler-1").unwrap();
    let to = Upid::new("master", SocketAddr::from(([127, 0, 0, 1], port))).unwrap();
    let send =
        tokio::spawn(async move { sender.send(&from, &to, "test.Ping", b"over-tls-body").await.map(|()| sender) });
    // The request, decrypted by s_server.
    let mut request = Vec::new();
    assert!(
        tokio::task::block_in_place(|| wait_for(&out, &mut request, "over-tls-body")),
        "s_server got: {:?}",
        String::from_utf8_lossy(&request)
    );
    let text = String::from_utf8_lossy(&request);
    assert!(text.contains("POST /master/test.Ping HTTP/1.1\r\n"), "{text:?}");
    assert!(text.contains("Libprocess-From: scheduler-1@127.0.0.1:"), "{text:?}");
    // Its answer goes back through TLS; our send completes only on a 202.
    let stdin = child.0.stdin.as_mut().unwrap();
    stdin.write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n").unwrap();
    stdin.flush().unwrap();
    let sender = timeout(WAIT, send).await.unwrap().unwrap().expect("the send took s_server's 202");
    assert_eq!(sender.outbound_destinations(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_from_another_ca_is_refused() {
    let certs = Certs::new();
    let server = bind(Some(certs.tls("server").require_client_cert(true))).await;
    let mut master = server.register("master").unwrap();
    let to = server.upid("master").unwrap();

    // Signed by test-ca-2, which the server does not trust (it trusts the server).
    let stranger = bind(Some(certs.tls("other"))).await;
    let from = stranger.upid("scheduler-1").unwrap();
    let result = stranger.send(&from, &to, "test.Ping", b"x").await;
    assert!(result.is_err(), "{result:?}");
    assert!(master.try_recv().is_none());

    // The same with a certificate from the server's CA goes through.
    let friend = bind(Some(certs.tls("client"))).await;
    friend.send(&from, &to, "test.Ping", b"y").await.unwrap();
    let envelope = timeout(WAIT, master.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.body, b"y");

    // And openssl s_client with the stranger's certificate gets no answer.
    let output = Command::new("openssl")
        .args(["s_client", "-connect", &server.local_addr().to_string(), "-quiet"])
        .arg("-CAfile")
        .arg(certs.path("ca.pem"))
        .arg("-cert")
        .arg(certs.path("other.pem"))
        .arg("-key")
        .arg(certs.path("other.key"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .and_then(|mut child| {
            let request =
                "POST /master/test.Ping HTTP/1.1\r\nLibprocess-From: s@127.0.0.1:9\r\nContent-Length: 1\r\n\r\nz";
            child.stdin.take().unwrap().write_all(request.as_bytes())?;
            child.wait_with_output()
        })
        .unwrap();
    assert!(!String::from_utf8_lossy(&output.stdout).contains("202"), "{output:?}");
    assert!(master.try_recv().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_for_another_host_is_refused_when_verifying() {
    let certs = Certs::new();
    // Signed by the trusted CA, but for 127.0.0.2 and elsewhere.invalid only.
    let server = bind(Some(certs.tls("wronghost"))).await;
    let mut master = server.register("master").unwrap();
    let to = server.upid("master").unwrap();

    let client = bind(Some(certs.tls("client"))).await;
    let from = client.upid("scheduler-1").unwrap();
    let err = client.send(&from, &to, "test.Ping", b"x").await.unwrap_err();
    assert!(err.to_string().contains("cannot connect"), "{err}");
    assert!(master.try_recv().is_none());

    // Verification off (Mesos's default): the same certificate is taken.
    let careless = bind(Some(certs.tls("client").verify_server_cert(false))).await;
    careless.send(&from, &to, "test.Ping", b"y").await.unwrap();
    assert_eq!(timeout(WAIT, master.recv()).await.unwrap().unwrap().body, b"y");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verification_needs_a_ca_and_legacy_names_are_refused() {
    let certs = Certs::new();
    let no_ca = TlsOptions::new(certs.path("server.pem"), certs.path("server.key"));
    let err =
        Endpoint::bind(EndpointOptions { tls: Some(no_ca.clone()), ..EndpointOptions::default() }).await.unwrap_err();
    assert!(err.to_string().contains("LIBPROCESS_SSL_CA_FILE"), "{err}");
    Endpoint::bind(EndpointOptions { tls: Some(no_ca.verify_server_cert(false)), ..EndpointOptions::default() })
        .await
        .unwrap();
    let vars = |name: &str| match name {
        "LIBPROCESS_SSL_ENABLED" => Some("true".to_owned()),
        "LIBPROCESS_SSL_CERT_FILE" => Some("c.pem".to_owned()),
        "LIBPROCESS_SSL_KEY_FILE" => Some("k.pem".to_owned()),
        "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME" => Some("legacy".to_owned()),
        _ => None,
    };
    assert_eq!(EndpointOptions::from_vars(vars).unwrap_err().var, "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME");
}

/// A plaintext libprocess request over raw TCP; what came back before the
/// endpoint closed the connection.
async fn plaintext_post(addr: SocketAddr) -> String {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    let request =
        "POST /master/test.Ping HTTP/1.1\r\nLibprocess-From: plain@127.0.0.1:9\r\nContent-Length: 5\r\n\r\nclear";
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 256];
    let n = timeout(WAIT, tcp.read(&mut answer)).await.expect("an answer or a close in time").unwrap_or(0);
    String::from_utf8_lossy(&answer[..n]).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_peer_is_served_only_with_downgrade() {
    let certs = Certs::new();
    // Downgrade off (the default): plaintext gets no HTTP answer (a TLS alert
    // record, type 21) and is not delivered.
    let strict = bind(Some(certs.tls("server"))).await;
    let mut strict_master = strict.register("master").unwrap();
    let answer = plaintext_post(strict.local_addr()).await;
    assert!(!answer.contains("HTTP/"), "{answer:?}");
    assert!(strict_master.try_recv().is_none());
    // A plaintext endpoint cannot send to it either.
    let plain = bind(None).await;
    let from = plain.upid("scheduler-1").unwrap();
    assert!(plain.send(&from, strict_master.upid(), "test.Ping", b"x").await.is_err());

    // Downgrade on: plaintext is served (and marked), TLS still works.
    let lenient = bind(Some(certs.tls("server").support_downgrade(true))).await;
    let mut master = lenient.register("master").unwrap();
    assert!(plaintext_post(lenient.local_addr()).await.starts_with("HTTP/1.1 202 Accepted\r\n"));
    let envelope = timeout(WAIT, master.recv()).await.unwrap().unwrap();
    assert_eq!((envelope.body.as_slice(), envelope.tls.is_some()), (&b"clear"[..], false));
    plain.send(&from, master.upid(), "test.Ping", b"p").await.unwrap();
    assert!(timeout(WAIT, master.recv()).await.unwrap().unwrap().tls.is_none());
    let tls = bind(Some(certs.tls("client"))).await;
    tls.send(&from, master.upid(), "test.Ping", b"t").await.unwrap();
    let envelope = timeout(WAIT, master.recv()).await.unwrap().unwrap();
    assert_eq!((envelope.body.as_slice(), envelope.tls.is_some()), (&b"t"[..], true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_tls_connection_carries_every_message_to_a_destination() {
    let certs = Certs::new();
    let server = bind(Some(certs.tls("server"))).await;
    let mut master = server.register("master").unwrap();
    let client = bind(Some(certs.tls("client"))).await;
    let from = client.upid("scheduler-1").unwrap();
    let mut sources = Vec::new();
    for i in 0..3u8 {
        let sent_on = client.send_on(&from, master.upid(), "test.Ping", &[i]).await.unwrap().expect("TLS");
        let envelope = timeout(WAIT, master.recv()).await.unwrap().unwrap();
        let received_on = envelope.tls.expect("TLS");
        // Both ends of one connection: the same tls-exporter bytes. rustls on
        // both sides settles on a 256-bit cipher (AES-256-GCM first in its order).
        assert_eq!(sent_on.exporter(), received_on.exporter());
        assert_eq!((sent_on.ssf(), received_on.ssf()), (256, 256));
        // The server names its own certificate; the client, presenting one, is named too.
        assert_eq!(sent_on.peer_certificate(), Some(&certs.cert("server")));
        assert_eq!(received_on.peer_certificate(), Some(&certs.cert("client")));
        sources.push((envelope.peer_addr, received_on));
    }
    assert!(sources.iter().all(|s| *s == sources[0]), "one connection, one session: {sources:?}");
}

/// `sasl-sample mesos-master` over TLS with the certificate `cert`, its config
/// `extra` plus `credentials: credentials` (framework-a's secret, which
/// `credential` holds for the client too).
struct TlsMaster {
    _master: Peer,
    /// The master's stdout after its `listening:` line.
    out: mpsc::Receiver<Vec<u8>>,
    /// `IP:PORT` from its `listening:` line.
    addr: String,
}

impl TlsMaster {
    fn start(certs: &Certs, cert: &str, extra: &str) -> Self {
        let dir = certs.dir.path();
        std::fs::write(dir.join("credentials"), "framework-a s3cret\n").unwrap();
        std::fs::write(dir.join("master.conf"), format!("{extra}credentials: credentials\n")).unwrap();
        std::fs::write(dir.join("credential"), "framework-a s3cret\n").unwrap();
        let mut master = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
        master.args(["mesos-master", "--listen", "127.0.0.1:0", "--config"]).arg(dir.join("master.conf"));
        certs.libprocess_env(&mut master, cert, true);
        let mut master = Peer(master.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
        let out = collect(master.0.stdout.take().unwrap());
        let mut seen = Vec::new();
        assert!(wait_for(&out, &mut seen, "\n"), "no listening line");
        let listening = String::from_utf8_lossy(&seen).into_owned();
        let addr =
            listening.trim_end().strip_prefix("listening: master@").unwrap_or_else(|| panic!("{listening}")).to_owned();
        TlsMaster { _master: master, out, addr }
    }
}

/// `sasl-sample mesos-master` with `mech_list` from its `--config` and TLS from
/// `LIBPROCESS_SSL_*`, and `sasl-sample mesos-authenticate --mechanism` against
/// it: the master's line names the mechanism, whether TLS carried it and
/// whether the exchange was bound to it (`SCRAM-SHA-256` allowed on both sides
/// becomes `SCRAM-SHA-256-PLUS` over TLS unless the client says
/// `--channel-binding off`).
#[test]
fn sasl_sample_master_and_authenticate_over_tls_name_the_mechanism() {
    let certs = Certs::new();
    let dir = certs.dir.path();
    let TlsMaster { _master, out, addr } = TlsMaster::start(&certs, "server", "mech_list: SCRAM-SHA-256 CRAM-MD5\n");
    let mut seen = Vec::new();

    let authenticate = |mechanism: &str, tls: bool| {
        let (mechanism, binding) = mechanism.split_once(' ').unwrap_or((mechanism, "prefer"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
        cmd.args(["mesos-authenticate", "--master", &addr, "--timeout", "20", "--mechanism", mechanism])
            .args(["--channel-binding", binding])
            .arg("--credential")
            .arg(dir.join("credential"));
        certs.libprocess_env(&mut cmd, "client", tls);
        let output = cmd.stderr(Stdio::null()).output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim_end().to_owned()
    };
    assert_eq!(authenticate("SCRAM-SHA-256", true), "authenticated");
    seen.clear();
    assert!(wait_for(&out, &mut seen, "\n"), "no line");
    let line = String::from_utf8_lossy(&seen).into_owned();
    assert!(line.starts_with("authenticated: framework-a pid=sasl-sample@127.0.0.1:"), "{line}");
    assert!(line.trim_end().ends_with(" mech=SCRAM-SHA-256-PLUS tls=yes bound=yes"), "{line}");

    assert_eq!(authenticate("SCRAM-SHA-256 off", true), "authenticated");
    seen.clear();
    assert!(wait_for(&out, &mut seen, "\n"), "no line");
    assert!(String::from_utf8_lossy(&seen).trim_end().ends_with(" mech=SCRAM-SHA-256 tls=yes bound=no"), "{seen:?}");

    assert_eq!(authenticate("CRAM-MD5", true), "authenticated");
    seen.clear();
    assert!(wait_for(&out, &mut seen, "\n"), "no line");
    assert!(String::from_utf8_lossy(&seen).trim_end().ends_with(" mech=CRAM-MD5 tls=yes bound=no"), "{seen:?}");

    // A plaintext client gets nowhere with this TLS master, and is told why.
    let line = authenticate("CRAM-MD5", false);
    eprintln!("plaintext client: {line}");
    assert!(line.starts_with("error: ") && line.contains("TLS") && line.contains("LIBPROCESS_SSL_ENABLED"), "{line}");
}

/// `tls-server-end-point` of a certificate equals OpenSSL's hash of its DER:
/// SHA-256 for ecdsa-with-SHA256, SHA-384 for sha384WithRSAEncryption.
#[test]
fn tls_server_end_point_matches_openssl_dgst() {
    use libprocess::tls_server_end_point;
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs = Certs::new();
    let rsa = certs.path("rsa384.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-sha384", "-nodes", "-days", "1", "-subj", "/CN=rsa384"])
        .arg("-keyout")
        .arg(certs.path("rsa384.key"))
        .arg("-out")
        .arg(&rsa)
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    for (pem, digest) in [(certs.path("server.pem"), "-sha256"), (rsa, "-sha384")] {
        let der = Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(&pem).output().unwrap().stdout;
        let mut dgst = Command::new("openssl")
            .args(["dgst", digest, "-binary"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        dgst.stdin.take().unwrap().write_all(&der).unwrap();
        let expected = dgst.wait_with_output().unwrap().stdout;
        let cert = CertificateDer::from_pem_file(&pem).unwrap();
        assert_eq!(tls_server_end_point(&cert), Some(expected), "{digest}");
    }
}

/// `tls-exporter` computed on our (rustls) server side of a TLS 1.3 session
/// equals what OpenSSL's `s_client -keymatexport` exports on the client side.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_exporter_matches_openssl_s_client() {
    use libprocess::tls_exporter;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = Certs::new();
    let chain = vec![CertificateDer::from_pem_file(certs.path("server.pem")).unwrap()];
    let key = PrivateKeyDer::from_pem_file(certs.path("server.key")).unwrap();
    let config = rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(chain, key).unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(tcp).await.unwrap();
        let exported = tls_exporter(tls.get_ref().1).unwrap();
        let mut rest = Vec::new();
        let _ = timeout(WAIT, tls.read_to_end(&mut rest)).await;
        exported
    });
    let output = tokio::task::spawn_blocking(move || {
        Command::new("openssl")
            .args(["s_client", "-connect", &addr.to_string(), "-tls1_3", "-keymatexport", "EXPORTER-Channel-Binding"])
            .args(["-keymatexportlen", "32"])
            .arg("-CAfile")
            .arg(certs.path("ca.pem"))
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let hex = stdout
        .lines()
        .find_map(|line| line.trim().strip_prefix("Keying material: "))
        .unwrap_or_else(|| panic!("no keying material in {stdout}"));
    let ours = timeout(WAIT, server).await.unwrap().unwrap();
    let ours_hex: String = ours.iter().map(|b| format!("{b:02X}")).collect();
    assert_eq!(hex.to_ascii_uppercase(), ours_hex);
}

/// A master whose certificate names only `DNS:localhost` (Mesos's `openssl`
/// hostname validation): `mesos-authenticate --master localhost:PORT` checks
/// the certificate against the name it was given and authenticates;
/// `--master 127.0.0.1:PORT` is refused, the error naming the name checked.
#[test]
fn a_master_certificate_with_only_a_dns_name_is_verified_against_the_name_given() {
    let certs = Certs::new();
    let dir = certs.dir.path();
    let TlsMaster { _master, addr, .. } = TlsMaster::start(&certs, "dnsonly", "");
    let port = addr.rsplit_once(':').unwrap().1.to_owned();

    let authenticate = |master: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
        cmd.args(["mesos-authenticate", "--master", master, "--timeout", "20", "--credential"])
            .arg(dir.join("credential"));
        certs.libprocess_env(&mut cmd, "client", true);
        let output = cmd.stderr(Stdio::null()).output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim_end().to_owned()
    };
    assert_eq!(authenticate(&format!("localhost:{port}")), "authenticated");
    let by_ip = authenticate(&format!("127.0.0.1:{port}"));
    eprintln!("by IP: {by_ip}");
    assert!(by_ip.starts_with("error: ") && by_ip.contains("must name 127.0.0.1"), "{by_ip}");
    assert!(by_ip.contains("localhost"), "what the certificate does name: {by_ip}");
}

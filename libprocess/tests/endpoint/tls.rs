//! TLS on the wire: sessions both ends agree on, the errors of a side that
//! speaks the other protocol, and typed errors for TLS files that cannot work.

use std::error::Error as _;

use libprocess::{Endpoint, EndpointOptions, Error, SendError, TlsOptions};
use tokio::time::timeout;

use crate::support::{Certs, WAIT, endpoint};

async fn tls_endpoint(tls: TlsOptions) -> Endpoint {
    Endpoint::bind(EndpointOptions { tls: Some(tls), ..EndpointOptions::default() }).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_over_tls_carries_one_session_both_ends_agree_on() {
    let certs = Certs::new();
    let (a, b) = (tls_endpoint(certs.tls("client")).await, tls_endpoint(certs.tls("server")).await);
    let p = a.spawn_process("p").unwrap();
    let mut q = b.register("q").unwrap();
    let sent_on = a.send_on(p.upid(), q.upid(), "test.Ping", b"x").await.unwrap().expect("a TLS session");
    let envelope = timeout(WAIT, q.recv()).await.unwrap().unwrap();
    let received_on = envelope.tls.expect("delivered over TLS");
    assert_eq!(sent_on.exporter(), received_on.exporter());
    assert_ne!(sent_on.exporter(), &[0u8; 32]);
    // Each end has the other's verified certificate, and a real cipher strength.
    assert!(sent_on.peer_certificate().is_some() && received_on.peer_certificate().is_some());
    assert_ne!(sent_on.peer_certificate(), received_on.peer_certificate());
    assert!(received_on.ssf() >= 128);
    // The kept connection carries the next message in the same session.
    let again = a.send_on(p.upid(), q.upid(), "test.Ping", b"y").await.unwrap().unwrap();
    assert_eq!(again.exporter(), sent_on.exporter());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_sender_to_a_tls_endpoint_is_told_to_turn_tls_on() {
    let certs = Certs::new();
    let b = tls_endpoint(certs.tls("server")).await;
    let q = b.register("q").unwrap();
    let a = endpoint().await;
    let p = a.spawn_process("p").unwrap();
    let err = p.send(q.upid(), "test.Ping", b"x").await.unwrap_err();
    assert!(matches!(err, SendError::TlsRequired { addr } if addr == b.local_addr()), "{err:?}");
    assert!(err.to_string().contains("LIBPROCESS_SSL_ENABLED"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_sender_to_a_plaintext_endpoint_gets_a_tls_error() {
    let certs = Certs::new();
    let a = tls_endpoint(certs.tls("client")).await;
    let p = a.spawn_process("p").unwrap();
    let b = endpoint().await;
    let q = b.register("q").unwrap();
    let err = p.send(q.upid(), "test.Ping", b"x").await.unwrap_err();
    assert!(matches!(err, SendError::Tls { addr, .. } if addr == b.local_addr()), "{err:?}");
    // The cause is the source, not repeated in the text.
    let cause = err.source().expect("the handshake error").to_string();
    assert!(!err.to_string().contains(&cause), "{err} / {cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_certificate_from_an_untrusted_ca_fails_the_handshake() {
    let certs = Certs::new();
    let b = tls_endpoint(certs.tls("other")).await;
    let q = b.register("q").unwrap();
    let a = tls_endpoint(certs.tls("client")).await;
    let p = a.spawn_process("p").unwrap();
    let err = p.send(q.upid(), "test.Ping", b"x").await.unwrap_err();
    assert!(matches!(err, SendError::Tls { .. }), "{err:?}");
    assert!(err.to_string().contains("LIBPROCESS_SSL_CA_FILE"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_files_that_cannot_work_are_typed_errors_that_name_what_to_set() {
    let certs = Certs::new();
    let bind = |tls: TlsOptions| Endpoint::bind(EndpointOptions { tls: Some(tls), ..EndpointOptions::default() });

    let missing = TlsOptions::new(certs.path("absent.pem"), certs.path("server.key")).ca_file(certs.path("ca.pem"));
    let err = bind(missing).await.unwrap_err();
    assert!(matches!(&err, Error::TlsCertificateFile { path, .. } if path.ends_with("absent.pem")), "{err:?}");
    assert!(err.source().is_some() && err.to_string().contains("LIBPROCESS_SSL_CERT_FILE"), "{err}");

    let no_ca = TlsOptions::new(certs.path("server.pem"), certs.path("server.key"));
    let err = bind(no_ca.clone()).await.unwrap_err();
    assert!(matches!(err, Error::TlsNoCa), "{err:?}");
    assert!(err.to_string().contains("LIBPROCESS_SSL_CA_FILE"), "{err}");
    // Without verification no CA is needed.
    bind(no_ca.verify_server_cert(false)).await.unwrap();

    let not_a_key = TlsOptions::new(certs.path("server.pem"), certs.path("ca.pem")).ca_file(certs.path("ca.pem"));
    let err = bind(not_a_key).await.unwrap_err();
    assert!(matches!(err, Error::TlsKeyFile { .. }), "{err:?}");

    let wrong_key = TlsOptions::new(certs.path("server.pem"), certs.path("client.key")).ca_file(certs.path("ca.pem"));
    let err = bind(wrong_key).await.unwrap_err();
    assert!(matches!(err, Error::TlsConfig { .. }), "{err:?}");
    let cause = err.source().expect("rustls's reason").to_string();
    assert!(!err.to_string().contains(&cause), "{err} / {cause}");
    // Callers that speak io::Error keep a kind.
    assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::InvalidInput);
}

/// An OpenSSL config that turns extended master secret (RFC 7627) off, for
/// `OPENSSL_CONF`: OpenSSL 3.0's `s_client` and `s_server` have no switch for
/// it, but its SSL_CONF `Options = -ExtendedMasterSecret` does it.
fn no_ems_config(certs: &Certs) -> std::path::PathBuf {
    let path = certs.path("no-ems.cnf");
    std::fs::write(
        &path,
        "openssl_conf = openssl_init\n[openssl_init]\nssl_conf = ssl_sect\n[ssl_sect]\n\
         system_default = system_default_sect\n[system_default_sect]\nOptions = -ExtendedMasterSecret\n",
    )
    .unwrap();
    path
}

/// `openssl s_client -tls1_2` to `addr`, its stdin closed at once; its stdout.
fn s_client_tls12(certs: &Certs, addr: std::net::SocketAddr, config: Option<&std::path::Path>) -> String {
    let mut command = std::process::Command::new("openssl");
    command.args(["s_client", "-tls1_2", "-connect", &addr.to_string(), "-CAfile"]).arg(certs.path("ca.pem"));
    match config {
        Some(config) => command.env("OPENSSL_CONF", config),
        None => command.env_remove("OPENSSL_CONF"),
    };
    let output = command
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .expect("run openssl s_client");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// `tls-exporter` over TLS 1.2 needs extended master secret (RFC 9266 §2,
/// RFC 7627): without it one session's exported keys can be made to match
/// another's. The endpoint refuses a TLS 1.2 client that does not offer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls12_client_without_extended_master_secret_is_refused() {
    let certs = Certs::new();
    let b = tls_endpoint(certs.tls("server")).await;
    let addr = b.local_addr();
    // The control: TLS 1.2 with EMS is served. (s_client prints a session
    // summary either way; "Cipher is (NONE)" is how it says none was set up.)
    let ok = tokio::task::block_in_place(|| s_client_tls12(&certs, addr, None));
    assert!(ok.contains("Protocol  : TLSv1.2") && ok.contains("Extended master secret: yes"), "{ok}");
    assert!(!ok.contains("Cipher is (NONE)"), "{ok}");
    let config = no_ems_config(&certs);
    let refused = tokio::task::block_in_place(|| s_client_tls12(&certs, addr, Some(&config)));
    assert!(refused.contains("Cipher is (NONE)"), "a session without EMS was established:\n{refused}");
}

/// A child process killed (by its PID) when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// And the endpoint, as a client, refuses a TLS 1.2 server without it: the
/// handshake fails with rustls's "extended master secret required".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls12_server_without_extended_master_secret_is_refused() {
    let certs = Certs::new();
    let config = no_ems_config(&certs);
    let port = crate::support::free_port();
    let _server = Child(
        std::process::Command::new("openssl")
            .args(["s_server", "-tls1_2", "-accept", &format!("127.0.0.1:{port}"), "-cert"])
            .arg(certs.path("server.pem"))
            .arg("-key")
            .arg(certs.path("server.key"))
            .env("OPENSSL_CONF", &config)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("run openssl s_server"),
    );
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let listening = async {
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    timeout(WAIT, listening).await.expect("s_server listens");
    let a = tls_endpoint(certs.tls("client")).await;
    let p = a.spawn_process("p").unwrap();
    let to = libprocess::Upid::new("q", addr).unwrap();
    let err = timeout(WAIT, p.send(&to, "test.Ping", b"x")).await.unwrap().unwrap_err();
    assert!(matches!(err, SendError::Tls { .. }), "{err:?}");
    let cause = err.source().expect("the handshake error").to_string();
    assert!(cause.to_lowercase().contains("extendedmastersecret"), "{cause}");
}

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

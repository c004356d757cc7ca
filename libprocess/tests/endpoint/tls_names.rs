//! TLS host-name verification, Mesos's `openssl` scheme: a destination named
//! by host name has its certificate checked against that name (its DNS
//! subject alternative names), one named by IP against the IP. The server's
//! certificate here (`ci/tls-certs`' `dnsonly`, made by the `openssl` command)
//! names `DNS:localhost` and no IP.

use std::error::Error as _;

use libprocess::{Endpoint, EndpointOptions, SendError, TlsOptions, UpidError};
use tokio::time::timeout;

use crate::support::{Certs, WAIT};

async fn tls_endpoint(tls: TlsOptions) -> Endpoint {
    Endpoint::bind(EndpointOptions { tls: Some(tls), ..EndpointOptions::default() }).await.unwrap()
}

/// The error and its causes, as a program prints them.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_with_only_a_dns_name_works_when_the_destination_is_named_by_it() {
    let certs = Certs::new();
    let server = tls_endpoint(certs.tls("dnsonly")).await;
    let mut master = server.register("master").unwrap();
    let port = server.local_addr().port();

    // Named by IP: the certificate does not name 127.0.0.1.
    let by_ip = tls_endpoint(certs.tls("client")).await;
    let p = by_ip.spawn_process("p").unwrap();
    let err = p.send(master.upid(), "test.Ping", b"x").await.unwrap_err();
    let text = chain(&err);
    eprintln!("by IP: {text}");
    assert!(matches!(&err, SendError::Tls { server_name, .. } if &**server_name == "127.0.0.1"), "{err:?}");
    assert!(text.contains("must name 127.0.0.1"), "{text}");
    assert!(text.contains("localhost"), "rustls names what the certificate does carry: {text}");
    assert!(text.contains("resolve_upid"), "the way to name it: {text}");

    // Named by host name: the name is kept for the handshake, the IP connected to.
    let by_name = tls_endpoint(certs.tls("client")).await;
    let named = by_name.resolve_upid(&format!("master@localhost:{port}")).await.unwrap();
    assert_eq!(&named, master.upid(), "the UPID is the resolved IP's");
    let p = by_name.spawn_process("p").unwrap();
    p.send(&named, "test.Ping", b"hello").await.unwrap();
    let envelope = timeout(WAIT, master.recv()).await.unwrap().unwrap();
    assert_eq!(envelope.body, b"hello");
    assert!(envelope.tls.is_some());

    // A wrong name fails, naming the name it checked.
    let wrong = tls_endpoint(certs.tls("client")).await;
    wrong.set_tls_server_name(server.local_addr(), "elsewhere.invalid").unwrap();
    let p = wrong.spawn_process("p").unwrap();
    let err = p.send(master.upid(), "test.Ping", b"x").await.unwrap_err();
    eprintln!("wrong name: {}", chain(&err));
    assert!(matches!(&err, SendError::Tls { server_name, .. } if &**server_name == "elsewhere.invalid"), "{err:?}");
    assert!(err.source().is_some());
    assert!(timeout(std::time::Duration::from_millis(200), master.recv()).await.is_err(), "nothing delivered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn host_names_are_checked_and_unresolvable_ones_are_typed_errors() {
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let addr = endpoint.local_addr();
    assert!(matches!(endpoint.set_tls_server_name(addr, "not a name"), Err(UpidError::BadHostName(_))));
    assert!(matches!(endpoint.set_tls_server_name(addr, "127.0.0.1"), Err(UpidError::BadHostName(_))));
    endpoint.set_tls_server_name(addr, "localhost").unwrap();
    let ip = endpoint.resolve_upid("master@127.0.0.1:5050").await.unwrap();
    assert_eq!(ip.to_string(), "master@127.0.0.1:5050");
    let err = endpoint.resolve_upid("master@no-such-host.invalid:5050").await.unwrap_err();
    assert!(matches!(&err, UpidError::Unresolved { host, .. } if host == "no-such-host.invalid"), "{err:?}");
    assert!(matches!(endpoint.resolve_upid("master@:5050").await, Err(UpidError::BadAddress(_))));
    assert!(matches!(endpoint.resolve_upid("master@localhost").await, Err(UpidError::BadAddress(_))));
    assert!(matches!(endpoint.resolve_upid("@localhost:1").await, Err(UpidError::EmptyId)));
}

#[test]
fn the_openssl_scheme_is_accepted_and_legacy_is_refused() {
    let vars = |scheme: &'static str| {
        move |name: &str| match name {
            "LIBPROCESS_SSL_ENABLED" => Some("true".to_owned()),
            "LIBPROCESS_SSL_CERT_FILE" => Some("c.pem".to_owned()),
            "LIBPROCESS_SSL_KEY_FILE" => Some("k.pem".to_owned()),
            "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME" => Some(scheme.to_owned()),
            _ => None,
        }
    };
    let tls = EndpointOptions::from_vars(vars("openssl")).unwrap().tls.unwrap();
    assert_eq!(tls.hostname_validation, libprocess::HostnameValidation::Openssl);
    let err = EndpointOptions::from_vars(vars("legacy")).unwrap_err();
    assert_eq!(err.var, "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME");
}

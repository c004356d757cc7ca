//! The final error of `authenticate` carries the last attempt's reason as a
//! typed field and as its `source()`, printed once in the chain: a program
//! without a logger learns why, e.g. that a plaintext client talked to a TLS
//! master and must set `LIBPROCESS_SSL_ENABLED` (issue 23).

use cyrus_sasl_test_support as common;

use std::error::Error as _;
use std::time::Duration;

use common::tls::Certs;
use cyrus_sasl_mesos::{
    AttemptFailure, AuthenticateOptions, ClientOptions, Credential, ExchangeError, Master, MasterConfig, MasterHandle,
    MasterOptions, NoVerdict, authenticate,
};
use libprocess::{Endpoint, EndpointOptions, SendError};

const FRAMEWORK: (&str, &str) = ("framework-a", "fw-secret");

async fn master(dir: &std::path::Path, text: &str, endpoint: EndpointOptions) -> MasterHandle {
    std::fs::write(dir.join("credentials"), format!("{} {}\n", FRAMEWORK.0, FRAMEWORK.1)).unwrap();
    let path = dir.join("master.conf");
    std::fs::write(&path, text).unwrap();
    let mut options = MasterOptions::from_config(&MasterConfig::read(&path).unwrap());
    options.endpoint = endpoint;
    Master::spawn(options).await.unwrap()
}

/// Every message of the chain, `: `-separated, as a program prints it.
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

fn options(timeout: Duration) -> AuthenticateOptions {
    AuthenticateOptions {
        timeout,
        reconnect_delay: Duration::from_millis(50),
        client: ClientOptions::default(),
        ..AuthenticateOptions::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plaintext_client_of_a_tls_master_is_told_to_set_libprocess_ssl_enabled() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new();
    let tls = EndpointOptions { tls: Some(certs.tls("server")), ..EndpointOptions::default() };
    let master = master(dir.path(), "mech_list: CRAM-MD5\ncredentials: credentials\n", tls).await;
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let credential = || Credential::new(FRAMEWORK.0, FRAMEWORK.1);

    // Until the deadline (Mesos's way: keep trying).
    let err =
        authenticate(&endpoint, master.upid(), &pid, credential(), &options(Duration::from_secs(1))).await.unwrap_err();
    let text = chain(&err);
    eprintln!("message: {text}");
    let NoVerdict::Timeout { last: Some(last), .. } = &err else { panic!("a timeout carrying a reason: {err:?}") };
    let AttemptFailure::Undelivered { error, .. } = last.as_ref() else {
        panic!("the last delivery failure: {last:?}")
    };
    assert!(matches!(error, SendError::TlsRequired { .. }), "{error:?}");
    assert!(text.contains("LIBPROCESS_SSL_ENABLED") && text.contains("TLS"), "{text}");
    assert_eq!(text.matches("LIBPROCESS_SSL_ENABLED").count(), 1, "the reason is printed once: {text}");
    assert!(!err.to_string().contains("LIBPROCESS_SSL_ENABLED"), "the reason is the source, not the message: {err}");
    assert!(err.source().is_some());

    // With a limit on delivery failures: the same reason, at once.
    let limited = AuthenticateOptions { max_delivery_failures: Some(2), ..options(Duration::from_secs(10)) };
    let err = authenticate(&endpoint, master.upid(), &pid, credential(), &limited).await.unwrap_err();
    let text = chain(&err);
    eprintln!("message: {text}");
    assert!(matches!(&err, NoVerdict::Unreachable { last: SendError::TlsRequired { .. }, .. }), "{err:?}");
    assert!(text.contains("LIBPROCESS_SSL_ENABLED"), "{text}");
}

/// A master that refuses the exchange itself (channel binding required, the
/// client plaintext): each attempt ends with the master's error, and the
/// final timeout carries the last one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_carries_the_last_attempts_exchange_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = "mech_list: SCRAM-SHA-256\ncredentials: credentials\nchannel_binding: require\n";
    let master = master(dir.path(), text, EndpointOptions::default()).await;
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let client = ClientOptions { mechanisms: vec!["SCRAM-SHA-256".to_owned()], ..ClientOptions::default() };
    let options = AuthenticateOptions { client, ..options(Duration::from_secs(2)) };
    let err = authenticate(&endpoint, master.upid(), &pid, Credential::new(FRAMEWORK.0, FRAMEWORK.1), &options)
        .await
        .unwrap_err();
    let text = chain(&err);
    eprintln!("message: {text}");
    let NoVerdict::Timeout { last: Some(last), .. } = &err else { panic!("a timeout carrying a reason: {err:?}") };
    let AttemptFailure::Exchange { error, .. } = last.as_ref() else { panic!("the last attempt's error: {last:?}") };
    assert!(matches!(error, ExchangeError::Remote { .. }), "{error:?}");
    assert!(text.contains("the master reported an authentication error"), "{text}");
}

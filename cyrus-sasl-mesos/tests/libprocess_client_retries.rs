//! Our authenticatee against our libprocess master when attempts time out and
//! are retried while their sessions are still running: every retry must end in
//! the right verdict, and the master must record exactly the right UPIDs.
//! And a client whose mechanisms the master does not offer: it stops at once.

use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions};

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{
    AuthenticateOptions, Master, MasterEvent, MasterOptions, NoVerdict, ServerOptions, authenticate,
};
use cyrus_sasl_mesos::{Backoff, Credential, MechanismMismatch, Verdict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_that_time_out_under_load_still_end_in_the_right_verdict() {
    let store = CredentialStore::from_credentials(vec![("framework-a".to_string(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new().with_credential_store(&store);
    // All 300 come from one IP: room for all of their sessions at once, so
    // that attempts time out mid-session rather than being turned away.
    let options = MasterOptions { sasl: config.clone(), max_sessions_per_ip: 1024, ..MasterOptions::default() };
    let mut master = Master::spawn(options).await.unwrap();
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    // Attempt timeouts from 20 ms, growing to 3 s: with 300 authentications at once, many
    // attempts time out mid-session and are retried.
    let backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(50), Duration::from_secs(3)).unwrap();
    let mut tasks = Vec::new();
    for i in 0..300 {
        let (endpoint, to) = (endpoint.clone(), master.upid().clone());
        let secret = if i % 10 == 9 { "wrong" } else { "s3cret" };
        let options =
            AuthenticateOptions { timeout: Duration::from_secs(60), backoff, ..AuthenticateOptions::default() };
        tasks.push(tokio::spawn(async move {
            let pid = endpoint.upid(&format!("scheduler-{i}")).unwrap();
            authenticate(&endpoint, &to, &pid, Credential::new("framework-a", secret), &options).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let verdict = task.await.unwrap().unwrap();
        let pid = endpoint.upid(&format!("scheduler-{i}")).unwrap().to_string();
        if i % 10 == 9 {
            assert_eq!((verdict, master.authenticated(&pid)), (Verdict::Rejected, None), "{pid}");
        } else {
            assert_eq!(
                (verdict, master.authenticated(&pid).as_deref()),
                (Verdict::Authenticated, Some("framework-a")),
                "{pid}"
            );
        }
    }
    // Retries did happen: more sessions ended than there were authentications.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sessions = 0;
    while let Some(event) = master.try_next_event() {
        if let MasterEvent::Authentication(_) = event {
            sessions += 1;
        }
    }
    eprintln!("{sessions} sessions for 300 authentications");
    assert!(sessions > 300, "{sessions}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_whose_mechanisms_the_master_does_not_offer_stops_after_one_attempt() {
    // A master moved to SCRAM-SHA-256; a framework still on the default, CRAM-MD5.
    let store = CredentialStore::from_credentials(vec![("framework-a".to_string(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store);
    // Sessions end (and are reported) soon after their last message.
    let server = ServerOptions { session_timeout: Duration::from_millis(300), ..ServerOptions::default() };
    let mut master = Master::spawn(MasterOptions { sasl: config, server, ..MasterOptions::default() }).await.unwrap();
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let options = AuthenticateOptions { timeout: Duration::from_secs(10), ..AuthenticateOptions::default() };
    let started = Instant::now();
    let result = authenticate(&endpoint, master.upid(), &pid, Credential::new("framework-a", "s3cret"), &options).await;
    let took = started.elapsed();
    let Err(NoVerdict::MechanismMismatch { master: named, mismatch }) = &result else {
        panic!("expected a mechanism mismatch, got {result:?}");
    };
    assert_eq!(named, master.upid());
    let expected = MechanismMismatch { offered: vec!["SCRAM-SHA-256".into()], allowed: vec!["CRAM-MD5".into()] };
    assert_eq!(mismatch, &expected);
    let shown = result.as_ref().unwrap_err().to_string();
    assert!(shown.contains("master offers [SCRAM-SHA-256]; this client allows [CRAM-MD5]"), "{shown}");
    assert!(took < Duration::from_secs(2), "{took:?}");
    // The master saw one attempt: one session, ended by its timeout.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut sessions = 0;
    while let Some(event) = master.try_next_event() {
        if let MasterEvent::Authentication(record) = event {
            eprintln!("{record:?}");
            sessions += 1;
        }
    }
    assert_eq!(sessions, 1);
    assert_eq!(master.authenticated(&pid.to_string()), None);
}

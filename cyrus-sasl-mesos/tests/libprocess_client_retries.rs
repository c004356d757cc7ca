//! Our authenticatee against our libprocess master when attempts time out and
//! are retried while their sessions are still running: every retry must end in
//! the right verdict, and the master must record exactly the right UPIDs.

use std::time::Duration;

use libprocess::{Endpoint, EndpointOptions};

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterEvent, MasterOptions, authenticate};
use cyrus_sasl_mesos::{Backoff, Credential, Verdict};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_that_time_out_under_load_still_end_in_the_right_verdict() {
    let store = CredentialStore::from_credentials(vec![("framework-a".to_string(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new().with_credential_store(&store);
    let mut master = Master::spawn(MasterOptions { sasl: config.clone(), ..MasterOptions::default() }).await.unwrap();
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

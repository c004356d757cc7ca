//! The real Apache Mesos 1.11 scheduler driver (`../shared/mesos-peer/real-framework`,
//! its own `CRAMMD5Authenticatee` inside libmesos) authenticating to **our**
//! libprocess master: right secret, wrong secret, unknown principal. Skipped,
//! with one line, when the peer or its prepared cache is absent.

use cyrus_sasl_test_support::mesos_peer as libprocess_support;

use std::time::Duration;

use cyrus_sasl_mesos::MasterConfig;
use cyrus_sasl_mesos::{AuthenticationRecord, Master, MasterHandle, MasterOptions, Outcome};

const CREDENTIALS: &str = "framework-a s3cret\nagent-1 agent-secret\n";

async fn our_master(dir: &tempfile::TempDir) -> MasterHandle {
    let path = dir.path().join("credentials");
    std::fs::write(&path, CREDENTIALS).unwrap();
    let config = MasterConfig::read_credentials_file(&path).unwrap();
    Master::spawn(MasterOptions { sasl: config.sasl_config().clone(), ..MasterOptions::default() }).await.unwrap()
}

/// Runs real-framework against `master` on a blocking thread.
async fn real_framework(peer: &std::path::Path, master: &MasterHandle, principal: &str, secret: &str) -> (i32, String) {
    let (peer, addr, principal, secret) =
        (peer.to_owned(), master.upid().addr(), principal.to_owned(), secret.to_owned());
    tokio::task::spawn_blocking(move || libprocess_support::run_real_framework(&peer, addr, &principal, &secret, &[]))
        .await
        .unwrap()
}

/// The first authentication record, skipping other events.
async fn record(master: &mut MasterHandle) -> AuthenticationRecord {
    cyrus_sasl_test_support::mesos::next_authentication(master, Duration::from_secs(30)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
async fn the_real_mesos_scheduler_driver_authenticates_to_our_master_and_is_refused_with_a_bad_credential() {
    let peer = libprocess_support::mesos_peer("the_real_mesos_scheduler_driver_authenticates_to_our_master");
    let dir = tempfile::tempdir().unwrap();
    let mut master = our_master(&dir).await;

    // Right secret: the driver logs success, our master records the principal for
    // the pid the driver announced (its scheduler UPID).
    let (code, last) = real_framework(&peer, &master, "framework-a", "s3cret").await;
    assert_eq!((code, last.as_str()), (0, "AUTHENTICATED"));
    let ok = record(&mut master).await;
    assert_eq!(ok.outcome.principal(), Some("framework-a"), "{ok:?}");
    assert!(ok.pid.starts_with("scheduler-") && ok.pid.ends_with(&format!("@127.0.0.1:{}", ok.from.addr().port())));
    assert!(ok.from.id().starts_with("crammd5-authenticatee("), "{ok:?}");
    assert!(ok.session.id().starts_with("crammd5-authenticator-session("), "{ok:?}");
    assert_eq!(master.authenticated(&ok.pid).as_deref(), Some("framework-a"));

    // Wrong secret and unknown principal: refused alike, nothing recorded.
    for (principal, secret) in [("framework-a", "wrong"), ("nobody", "s3cret")] {
        let (code, last) = real_framework(&peer, &master, principal, secret).await;
        assert_eq!((code, last.as_str()), (1, "REFUSED"), "{principal}");
        let refused = record(&mut master).await;
        assert!(matches!(refused.outcome, Outcome::Rejected), "{principal}: {refused:?}");
        assert_eq!(master.authenticated(&refused.pid), None);
    }
    // The first framework's authentication still stands.
    assert_eq!(master.authenticated(&ok.pid).as_deref(), Some("framework-a"));
    master.shutdown().await;
}

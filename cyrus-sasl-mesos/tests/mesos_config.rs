//! The master's credential source is chosen by its config file alone: the same
//! master code runs CRAM-MD5 against an in-memory store loaded from a Mesos
//! credentials file, and against a sasldb made by the real `saslpasswd2`.

use cyrus_sasl_test_support as common;

use std::path::Path;
use std::time::Duration;

use common::{REALM, saslpasswd2};
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterEvent, MasterHandle, MasterOptions, authenticate};
use cyrus_sasl_mesos::{Credential, CredentialSource, MasterConfig, ServerOptions, Verdict};
use libprocess::{Endpoint, EndpointOptions};

/// One authentication over libprocess from a fresh endpoint.
async fn login(master: &MasterHandle, credential: Credential) -> Verdict {
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    authenticate(&endpoint, master.upid(), &pid, credential, &AuthenticateOptions::default()).await.unwrap()
}

const FRAMEWORK: (&str, &str) = ("framework-a", "fw-secret");
const AGENT: (&str, &str) = ("agent-1", "agent-secret");

/// The master under test: everything but the config file is fixed.
async fn run_master(config_file: &Path) -> (CredentialSource, Vec<(Verdict, Option<String>)>) {
    let master_config = MasterConfig::read(config_file).unwrap();
    let options = MasterOptions {
        server: ServerOptions { realm: Some(REALM.into()), ..ServerOptions::default() },
        ..MasterOptions::default()
    };
    let mut master = Master::spawn(MasterOptions { sasl: master_config.sasl_config().clone(), ..options }).await.unwrap();
    let clients = [
        Credential::new(FRAMEWORK.0, FRAMEWORK.1),
        Credential::new(AGENT.0, AGENT.1),
        Credential::new(FRAMEWORK.0, "rogue-guess"),
    ];
    let mut results = Vec::new();
    for credential in clients {
        let verdict = login(&master, credential).await;
        let event = tokio::time::timeout(Duration::from_secs(10), master.next_event()).await.unwrap();
        let principal = match event {
            Some(MasterEvent::Authentication(record)) => record.outcome.principal().map(str::to_owned),
            other => panic!("{other:?}"),
        };
        results.push((verdict, principal));
    }
    (master_config.source().clone(), results)
}

fn expected() -> Vec<(Verdict, Option<String>)> {
    vec![
        (Verdict::Authenticated, Some(FRAMEWORK.0.into())),
        (Verdict::Authenticated, Some(AGENT.0.into())),
        (Verdict::Rejected, None),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_master_runs_cram_md5_against_a_credentials_file_chosen_by_config() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials.json");
    std::fs::write(
        &credentials,
        format!(
            r#"{{"credentials": [{{"principal": "{}", "secret": "{}"}}, {{"principal": "{}", "secret": "{}"}}]}}"#,
            FRAMEWORK.0, FRAMEWORK.1, AGENT.0, AGENT.1
        ),
    )
    .unwrap();
    let conf = dir.path().join("master.conf");
    std::fs::write(&conf, "mech_list: CRAM-MD5\ncredentials: credentials.json\n").unwrap();
    let (source, results) = run_master(&conf).await;
    assert_eq!(source, CredentialSource::CredentialsFile(credentials));
    assert_eq!(results, expected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_master_runs_cram_md5_against_a_sasldb_chosen_by_config() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("sasldb2");
    for (user, password) in [FRAMEWORK, AGENT] {
        saslpasswd2(&db, REALM, user, password);
    }
    let conf = dir.path().join("master.conf");
    std::fs::write(
        &conf,
        format!(
            "mech_list: CRAM-MD5\npwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\n",
            db.display()
        ),
    )
    .unwrap();
    let (source, results) = run_master(&conf).await;
    assert_eq!(source, CredentialSource::Sasldb(Some(db)));
    assert_eq!(results, expected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloading_the_credentials_file_takes_effect_for_the_next_handshake_on_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(&credentials, "framework-a old-secret\n").unwrap();
    let master_config = MasterConfig::read_credentials_file(&credentials).unwrap();
    let master = Master::spawn(MasterOptions { sasl: master_config.sasl_config().clone(), ..MasterOptions::default() }).await.unwrap();
    let fw = |secret: &str| Credential::new("framework-a", secret);
    assert_eq!(login(&master, fw("old-secret")).await, Verdict::Authenticated);

    std::fs::write(&credentials, "framework-a new-secret\nagent-9 s9\n").unwrap();
    assert_eq!(master_config.reload_credentials().unwrap(), 2);
    assert_eq!(login(&master, fw("old-secret")).await, Verdict::Rejected);
    assert_eq!(login(&master, fw("new-secret")).await, Verdict::Authenticated);

    // A broken file is refused and the running master keeps the last good table.
    std::fs::write(&credentials, "framework-a\n").unwrap();
    assert!(master_config.reload_credentials().is_err());
    assert_eq!(login(&master, fw("new-secret")).await, Verdict::Authenticated);
}

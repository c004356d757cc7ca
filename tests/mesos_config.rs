//! The master's credential source is chosen by its config file alone: the same
//! master code runs CRAM-MD5 against an in-memory store loaded from a Mesos
//! credentials file, and against a sasldb made by the real `saslpasswd2`.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{REALM, saslpasswd2};
use cyrus_sasl::mesos::blocking::{Master, authenticate};
use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterEvent, MasterOptions};
use cyrus_sasl::mesos::{Credential, CredentialSource, MasterConfig, ServerOptions, Verdict};

const FRAMEWORK: (&str, &str) = ("framework-a", "fw-secret");
const AGENT: (&str, &str) = ("agent-1", "agent-secret");

/// The master under test: everything but the config file is fixed.
fn run_master(config_file: &Path) -> (CredentialSource, Vec<(Verdict, Option<String>)>) {
    let master_config = MasterConfig::from_file(config_file).unwrap();
    let options = MasterOptions {
        server: ServerOptions { realm: Some(REALM.into()), ..ServerOptions::default() },
        ..MasterOptions::default()
    };
    let master = Master::bind("127.0.0.1:0", master_config.sasl_config(), options).unwrap().spawn().unwrap();
    let clients = [
        Credential::new(FRAMEWORK.0, FRAMEWORK.1),
        Credential::new(AGENT.0, AGENT.1),
        Credential::new(FRAMEWORK.0, "rogue-guess"),
    ];
    let results = clients
        .into_iter()
        .map(|credential| {
            let verdict = authenticate(master.local_addr(), credential, &AuthenticateOptions::default()).unwrap();
            let principal = match master.next_event(Duration::from_secs(10)) {
                Some(MasterEvent::Authentication(record)) => {
                    assert_eq!(record.mechanism.as_deref(), Some("CRAM-MD5"));
                    record.result.unwrap()
                }
                other => panic!("{other:?}"),
            };
            (verdict, principal)
        })
        .collect();
    (master_config.source().clone(), results)
}

fn expected() -> Vec<(Verdict, Option<String>)> {
    vec![
        (Verdict::Authenticated, Some(FRAMEWORK.0.into())),
        (Verdict::Authenticated, Some(AGENT.0.into())),
        (Verdict::Refused, None),
    ]
}

#[test]
fn the_same_master_runs_cram_md5_against_a_credentials_file_chosen_by_config() {
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
    let (source, results) = run_master(&conf);
    assert_eq!(source, CredentialSource::CredentialsFile(credentials));
    assert_eq!(results, expected());
}

#[test]
fn the_same_master_runs_cram_md5_against_a_sasldb_chosen_by_config() {
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
    let (source, results) = run_master(&conf);
    assert_eq!(source, CredentialSource::Sasldb(Some(db)));
    assert_eq!(results, expected());
}

#[test]
fn reloading_the_credentials_file_takes_effect_for_the_next_handshake_on_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials");
    std::fs::write(&credentials, "framework-a old-secret\n").unwrap();
    let master_config = MasterConfig::from_credentials_file(&credentials).unwrap();
    let master =
        Master::bind("127.0.0.1:0", master_config.sasl_config(), MasterOptions::default()).unwrap().spawn().unwrap();
    let login = |secret: &str| {
        authenticate(master.local_addr(), Credential::new("framework-a", secret), &AuthenticateOptions::default())
            .unwrap()
    };
    assert_eq!(login("old-secret"), Verdict::Authenticated);

    std::fs::write(&credentials, "framework-a new-secret\nagent-9 s9\n").unwrap();
    assert_eq!(master_config.reload_credentials().unwrap(), 2);
    assert_eq!(login("old-secret"), Verdict::Refused);
    assert_eq!(login("new-secret"), Verdict::Authenticated);

    // A broken file is refused and the running master keeps the last good table.
    std::fs::write(&credentials, "framework-a\n").unwrap();
    assert!(master_config.reload_credentials().is_err());
    assert_eq!(login("new-secret"), Verdict::Authenticated);
}

//! A master is made from its config file alone, through
//! `MasterOptions::from_config`: the same master code runs CRAM-MD5 against an
//! in-memory store loaded from a Mesos credentials file, and against a sasldb
//! made by the real `saslpasswd2`; and every key of the file (`acls`,
//! `channel_binding`, `external_principal`, `credentials`, `mech_list`) changes
//! what a running master does.

use cyrus_sasl_test_support as common;

use std::path::Path;
use std::time::Duration;

use common::tls::Certs;
use common::{REALM, saslpasswd2};
use cyrus_sasl_mesos::fuzzing::{FrameworkInfo, SchedulerCall, Subscribe};
use cyrus_sasl_mesos::registration::{Denial, RegistrationVerdict};
use cyrus_sasl_mesos::{
    AuthenticateOptions, Master, MasterEvent, MasterHandle, MasterOptions, NoVerdict, authenticate,
};
use cyrus_sasl_mesos::{
    ClientOptions, Credential, CredentialSource, ExchangeError, MasterConfig, Outcome, RegistrationRecord, Verdict,
};
use libprocess::{Endpoint, EndpointOptions};
use prost::Message as _;

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
    let mut options = MasterOptions::from_config(&master_config);
    options.server.realm = Some(REALM.into());
    let mut master = Master::spawn(options).await.unwrap();
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
    let master = Master::spawn(MasterOptions::from_config(&master_config)).await.unwrap();
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

// --- Every key of a master config file, on a running master ------------------

const WAIT: Duration = Duration::from_secs(20);

/// A master from the config file `text` (in `dir`, beside a credentials file
/// holding framework-a and client), with `endpoint` for its libprocess endpoint.
async fn master_from_file(dir: &Path, text: &str, endpoint: EndpointOptions) -> MasterHandle {
    std::fs::write(dir.join("credentials"), format!("{} {}\nclient client-secret\n", FRAMEWORK.0, FRAMEWORK.1))
        .unwrap();
    let path = dir.join("master.conf");
    std::fs::write(&path, text).unwrap();
    let mut options = MasterOptions::from_config(&MasterConfig::read(&path).unwrap());
    options.endpoint = endpoint;
    Master::spawn(options).await.unwrap()
}

/// The next registration the master decided.
async fn next_registration(master: &mut MasterHandle) -> RegistrationRecord {
    loop {
        match tokio::time::timeout(WAIT, master.next_event()).await.expect("an event in time").expect("running") {
            MasterEvent::Registration(record) => return record,
            MasterEvent::Message(envelope) => panic!("{:?} went undecided: the master has no ACLs", envelope.name),
            _ => continue,
        }
    }
}

fn subscribe(role: &str) -> Vec<u8> {
    let info = FrameworkInfo { role: Some(role.into()), ..FrameworkInfo::default() };
    SchedulerCall { r#type: Some(SchedulerCall::SUBSCRIBE), subscribe: Some(Subscribe { framework_info: Some(info) }) }
        .encode_to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acls_key_decides_registrations_on_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("acls.json"),
        r#"{"permissive": false, "register_frameworks": [
            {"principals": {"values": ["framework-a"]}, "roles": {"values": ["*"]}}]}"#,
    )
    .unwrap();
    let text = "mech_list: CRAM-MD5\ncredentials: credentials\nacls: acls.json\n";
    let mut master = master_from_file(dir.path(), text, EndpointOptions::default()).await;
    // The framework's own process authenticates, then subscribes from it.
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let mut scheduler = endpoint.register("scheduler-1").unwrap();
    let credential = Credential::new(FRAMEWORK.0, FRAMEWORK.1);
    let options = AuthenticateOptions::default();
    let verdict = authenticate(&endpoint, master.upid(), scheduler.upid(), credential, &options).await;
    assert_eq!(verdict.unwrap(), Verdict::Authenticated);
    // A role the ACLs do not give framework-a: denied by them.
    scheduler.send(master.upid(), "mesos.scheduler.Call", &subscribe("analytics")).await.unwrap();
    let record = next_registration(&mut master).await;
    assert!(
        matches!(&record.verdict, RegistrationVerdict::Denied { denial: Denial::NotAuthorized(_), .. }),
        "{record:?}"
    );
    let answer = tokio::time::timeout(WAIT, scheduler.recv()).await.unwrap().unwrap();
    assert_eq!(answer.name, "mesos.internal.FrameworkErrorMessage");
    // The role they do give: registered, answered from the master's UPID.
    scheduler.send(master.upid(), "mesos.scheduler.Call", &subscribe("*")).await.unwrap();
    assert!(next_registration(&mut master).await.verdict.registered());
    let answer = tokio::time::timeout(WAIT, scheduler.recv()).await.unwrap().unwrap();
    assert_eq!((answer.name.as_str(), &answer.from), ("mesos.internal.FrameworkRegisteredMessage", master.upid()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_binding_require_turns_away_a_plaintext_framework_on_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    let text = "mech_list: SCRAM-SHA-256\ncredentials: credentials\nchannel_binding: require\n";
    let mut master = master_from_file(dir.path(), text, EndpointOptions::default()).await;
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let client = ClientOptions { mechanisms: vec!["SCRAM-SHA-256".to_owned()], ..ClientOptions::default() };
    let options = AuthenticateOptions { client, timeout: Duration::from_secs(2), ..AuthenticateOptions::default() };
    let result = authenticate(&endpoint, master.upid(), &pid, Credential::new(FRAMEWORK.0, FRAMEWORK.1), &options);
    assert!(matches!(result.await, Err(NoVerdict::Timeout { .. })), "plaintext must not authenticate");
    let record = common::mesos::next_authentication(&mut master, WAIT).await;
    assert!(matches!(record.outcome, Outcome::Failed(ExchangeError::ChannelBindingRequired { .. })), "{record:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_principal_gives_external_the_certificates_name_on_a_running_master() {
    let dir = tempfile::tempdir().unwrap();
    let certs = Certs::new();
    let text = "mech_list: EXTERNAL\ncredentials: credentials\nexternal_principal: common_name\n";
    let tls =
        EndpointOptions { tls: Some(certs.tls("server").require_client_cert(true)), ..EndpointOptions::default() };
    let mut master = master_from_file(dir.path(), text, tls).await;
    let endpoint =
        Endpoint::bind(EndpointOptions { tls: Some(certs.tls("client")), ..EndpointOptions::default() }).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let client = ClientOptions { mechanisms: vec!["EXTERNAL".to_owned()], ..ClientOptions::default() };
    let options = AuthenticateOptions { client, timeout: WAIT, ..AuthenticateOptions::default() };
    // No secret: the client certificate (common name `client`) is the proof.
    let verdict = authenticate(&endpoint, master.upid(), &pid, Credential::external("client"), &options).await;
    assert_eq!(verdict.unwrap(), Verdict::Authenticated);
    let record = common::mesos::next_authentication(&mut master, WAIT).await;
    assert_eq!((record.mechanism.as_deref(), record.outcome.principal()), (Some("EXTERNAL"), Some("client")));
}

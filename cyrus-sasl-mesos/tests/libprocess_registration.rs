//! The registration gate on our libprocess master, against the real Apache
//! Mesos 1.11 scheduler driver (`../shared/mesos-peer/real-framework` with
//! `MR_WAIT_REGISTRATION=1`, its `registered()` / `error()` callbacks): allowed,
//! denied by role, denied by principal mismatch; and a framework that skipped
//! authentication (our own endpoint sends the SUBSCRIBE the driver would, from
//! a UPID that never authenticated). The real-driver cases are skipped, with
//! one line, when the peer or its prepared cache is absent.

use cyrus_sasl_test_support::mesos_peer as libprocess_support;

use std::sync::Arc;
use std::time::Duration;

use cyrus_sasl_mesos::MasterConfig;
use cyrus_sasl_mesos::authorization::Acls;
use cyrus_sasl_mesos::fuzzing::{
    FrameworkErrorMessage, FrameworkId, FrameworkInfo, FrameworkRegisteredMessage, FrameworkReregisteredMessage,
    SchedulerCall, Subscribe,
};
use cyrus_sasl_mesos::registration::{Denial, RegistrationGate, RegistrationVerdict};
use cyrus_sasl_mesos::zookeeper::MasterInfo;
use cyrus_sasl_mesos::{Master, MasterEvent, MasterHandle, MasterOptions, RegistrationRecord};
use libprocess::{Endpoint, EndpointOptions};
use prost::Message as _;
use tokio::time::timeout;

const CREDENTIALS: &str = "framework-a s3cret\nframework-b b-secret\n";

/// framework-a may register in `analytics` (and `*`), nobody else in `analytics`.
const ACLS: &str = r#"{
  "permissive": false,
  "register_frameworks": [
    {"principals": {"values": ["framework-a"]}, "roles": {"values": ["analytics", "*"]}},
    {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}},
    {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}
  ]
}"#;

async fn gated_master(dir: &tempfile::TempDir) -> MasterHandle {
    let path = dir.path().join("credentials");
    std::fs::write(&path, CREDENTIALS).unwrap();
    let config = MasterConfig::read_credentials_file(&path).unwrap();
    let gate = RegistrationGate::new(Arc::new(Acls::from_json(ACLS).unwrap()));
    let options = MasterOptions { registration: Some(gate), ..MasterOptions::default() };
    Master::spawn(MasterOptions { sasl: config.sasl_config().clone(), ..options }).await.unwrap()
}

/// Runs real-framework against `master` on a blocking thread, waiting for
/// registration (`MR_WAIT_REGISTRATION=1`).
async fn real_framework(
    peer: &std::path::Path,
    master: &MasterHandle,
    principal: &str,
    secret: &str,
    env: &[(&str, &str)],
) -> (i32, String) {
    let (peer, addr) = (peer.to_owned(), master.upid().addr());
    let (principal, secret) = (principal.to_owned(), secret.to_owned());
    let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let mut all: Vec<(&str, &str)> = vec![("MR_WAIT_REGISTRATION", "1")];
        all.extend(env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        libprocess_support::run_real_framework(&peer, addr, &principal, &secret, &all)
    })
    .await
    .unwrap()
}

/// The next registration record, skipping other events.
async fn registration(master: &mut MasterHandle) -> RegistrationRecord {
    loop {
        match timeout(Duration::from_secs(30), master.next_event()).await.expect("an event").expect("running") {
            MasterEvent::Registration(record) => return record,
            _ => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
async fn the_real_mesos_driver_is_registered_or_refused_by_the_acls_and_its_principal() {
    let peer = libprocess_support::mesos_peer("the_real_mesos_driver_is_registered_or_refused");
    let dir = tempfile::tempdir().unwrap();
    let mut master = gated_master(&dir).await;

    // Allowed: framework-a in analytics. registered() fired with our id.
    let (code, last) = real_framework(&peer, &master, "framework-a", "s3cret", &[("MR_ROLE", "analytics")]).await;
    let record = registration(&mut master).await;
    let RegistrationVerdict::FrameworkRegistered { principal, roles, framework_id } = &record.verdict else {
        panic!("{record:?}")
    };
    assert_eq!((principal.as_str(), roles.as_slice()), ("framework-a", &["analytics".to_owned()][..]));
    assert_eq!((code, last), (0, format!("REGISTERED {framework_id}")));
    assert!(record.from.id().starts_with("scheduler-"), "{record:?}");

    // Denied by role: framework-b in analytics. error() fired.
    let (code, last) = real_framework(&peer, &master, "framework-b", "b-secret", &[("MR_ROLE", "analytics")]).await;
    let record = registration(&mut master).await;
    assert!(
        matches!(&record.verdict, RegistrationVerdict::Denied { principal: Some(p), framework: true, denial: Denial::NotAuthorized(_) } if p == "framework-b"),
        "{record:?}"
    );
    assert_eq!(
        (code, last.as_str()),
        (4, "REGISTRATION_ERROR: Not authorized to register the framework in the role(s) it asks for")
    );
    // ... while framework-b in `*` is allowed.
    let (code, last) = real_framework(&peer, &master, "framework-b", "b-secret", &[]).await;
    assert!(registration(&mut master).await.verdict.registered());
    assert_eq!(code, 0, "{last}");
    assert!(last.starts_with("REGISTERED "), "{last}");

    // Denied by principal mismatch: authenticated as framework-b, claims framework-a.
    let (code, last) =
        real_framework(&peer, &master, "framework-b", "b-secret", &[("MR_FRAMEWORK_PRINCIPAL", "framework-a")]).await;
    let record = registration(&mut master).await;
    assert!(
        matches!(&record.verdict, RegistrationVerdict::Denied { denial: Denial::PrincipalMismatch { claimed }, .. } if claimed == "framework-a"),
        "{record:?}"
    );
    assert_eq!(
        (code, last.as_str()),
        (4, "REGISTRATION_ERROR: Framework principal 'framework-a' does not match the authenticated principal")
    );
    master.shutdown().await;
}

/// A SUBSCRIBE as the 1.11 driver sends it.
fn subscribe(principal: Option<&str>, role: &str) -> Vec<u8> {
    subscribe_call(principal, role).encode_to_vec()
}

fn subscribe_call(principal: Option<&str>, role: &str) -> SchedulerCall {
    let info = FrameworkInfo {
        user: Some("nobody".into()),
        name: Some("hand-made".into()),
        role: Some(role.into()),
        principal: principal.map(str::to_owned),
        ..FrameworkInfo::default()
    };
    SchedulerCall { r#type: Some(SchedulerCall::SUBSCRIBE), subscribe: Some(Subscribe { framework_info: Some(info) }) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_framework_that_skipped_authentication_gets_a_framework_error_from_the_master() {
    let dir = tempfile::tempdir().unwrap();
    let mut master = gated_master(&dir).await;
    let framework = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let mut scheduler = framework.register("scheduler-1").unwrap();

    // Claims framework-a, which is allowed in `*`, but never authenticated.
    scheduler.send(master.upid(), "mesos.scheduler.Call", &subscribe(Some("framework-a"), "*")).await.unwrap();
    let record = registration(&mut master).await;
    assert!(
        matches!(
            record.verdict,
            RegistrationVerdict::Denied { principal: None, framework: true, denial: Denial::NotAuthenticated }
        ),
        "{record:?}"
    );
    let answer = timeout(Duration::from_secs(10), scheduler.recv()).await.unwrap().unwrap();
    assert_eq!(answer.name, "mesos.internal.FrameworkErrorMessage");
    assert_eq!(&answer.from, master.upid(), "answered from the master's own UPID");
    let error = FrameworkErrorMessage::decode(answer.body.as_slice()).unwrap();
    assert_eq!(error.message, "Framework is not authenticated");

    // Another message to `master` (not a registration) is still the application's.
    scheduler.send(master.upid(), "mesos.internal.SomethingElse", b"").await.unwrap();
    loop {
        match timeout(Duration::from_secs(10), master.next_event()).await.unwrap().unwrap() {
            MasterEvent::Message(envelope) => break assert_eq!(envelope.name, "mesos.internal.SomethingElse"),
            _ => continue,
        }
    }
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authenticated_framework_is_registered_from_the_masters_upid_with_its_principal_filled_in() {
    let dir = tempfile::tempdir().unwrap();
    let mut master = gated_master(&dir).await;
    let framework = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let mut scheduler = framework.register("scheduler-1").unwrap();
    let pid = scheduler.upid().clone();
    let credential = cyrus_sasl_mesos::Credential::new("framework-a", "s3cret");
    let verdict = cyrus_sasl_mesos::authenticate(
        &framework,
        master.upid(),
        &pid,
        credential,
        &cyrus_sasl_mesos::AuthenticateOptions::default(),
    )
    .await
    .unwrap();
    assert!(matches!(verdict, cyrus_sasl_mesos::Verdict::Authenticated), "{verdict:?}");

    // No principal in FrameworkInfo: Mesos fills in the authenticated one.
    scheduler.send(master.upid(), "mesos.scheduler.Call", &subscribe(None, "analytics")).await.unwrap();
    let record = registration(&mut master).await;
    let RegistrationVerdict::FrameworkRegistered { principal, framework_id, .. } = &record.verdict else {
        panic!("{record:?}")
    };
    assert_eq!(principal, "framework-a");
    let answer = timeout(Duration::from_secs(10), scheduler.recv()).await.unwrap().unwrap();
    assert_eq!((answer.name.as_str(), &answer.from), ("mesos.internal.FrameworkRegisteredMessage", master.upid()));
    let registered = FrameworkRegisteredMessage::decode(answer.body.as_slice()).unwrap();
    assert_eq!(&registered.framework_id.value, framework_id);
    let info = MasterInfo::from_protobuf(&registered.master_info).unwrap();
    assert_eq!((&info.pid, info.port, info.ip), (master.upid(), master.upid().port(), [127, 0, 0, 1].into()));
    assert_eq!(info, master.info());

    // The same framework subscribes again naming its id (as the driver does
    // after a failover): it keeps it, and is told so with the complete MasterInfo.
    let mut again = subscribe_call(None, "analytics");
    again.subscribe.as_mut().unwrap().framework_info.as_mut().unwrap().id =
        Some(FrameworkId { value: "FROM-AN-EARLIER-LEADER-0003".into() });
    scheduler.send(master.upid(), "mesos.scheduler.Call", &again.encode_to_vec()).await.unwrap();
    let record = registration(&mut master).await;
    assert_eq!(
        record.verdict,
        RegistrationVerdict::FrameworkReregistered {
            principal: "framework-a".into(),
            roles: vec!["analytics".into()],
            framework_id: "FROM-AN-EARLIER-LEADER-0003".into()
        }
    );
    let answer = timeout(Duration::from_secs(10), scheduler.recv()).await.unwrap().unwrap();
    assert_eq!((answer.name.as_str(), &answer.from), ("mesos.internal.FrameworkReregisteredMessage", master.upid()));
    let reregistered = FrameworkReregisteredMessage::decode(answer.body.as_slice()).unwrap();
    assert_eq!(reregistered.framework_id.value, "FROM-AN-EARLIER-LEADER-0003");
    let info = MasterInfo::from_protobuf(&reregistered.master_info).unwrap();
    assert_eq!(info, master.info());
    assert_eq!(info.version.as_deref(), Some("1.11.0"));
    master.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscribe_claiming_another_hosts_upid_is_refused_and_not_answered() {
    let dir = tempfile::tempdir().unwrap();
    let mut master = gated_master(&dir).await;
    // Where an answer to the claimed UPID would go: 127.0.0.2.
    let elsewhere =
        Endpoint::bind(EndpointOptions { bind_ip: "127.0.0.2".parse().unwrap(), ..EndpointOptions::default() })
            .await
            .unwrap();
    let mut victim = elsewhere.register("scheduler-1").unwrap();
    // Sent over a connection from 127.0.0.1, claiming the 127.0.0.2 UPID.
    let sender = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    sender.send(victim.upid(), master.upid(), "mesos.scheduler.Call", &subscribe(None, "*")).await.unwrap();
    let record = registration(&mut master).await;
    assert!(
        matches!(record.verdict, RegistrationVerdict::Denied { denial: Denial::PeerAddressMismatch { .. }, .. }),
        "{record:?}"
    );
    assert!(timeout(Duration::from_secs(2), victim.recv()).await.is_err(), "nothing is sent to the claimed UPID");
    master.shutdown().await;
}

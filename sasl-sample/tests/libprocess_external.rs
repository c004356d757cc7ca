//! EXTERNAL from TLS client certificates on the libprocess wire: the master
//! takes a framework's principal from the certificate it verified
//! (`SASL_AUTH_EXTERNAL`, the common name here) and libsasl2's EXTERNAL
//! mechanism authenticates the framework as it, without a secret. Certificates
//! come from `ci/tls-certs` per run: `client.pem` has the common name `client`.

use cyrus_sasl_test_support as common;

use common::tls::Certs;

use std::process::Command;
use std::time::Duration;

use libprocess::{Endpoint, EndpointOptions, PrincipalSource};

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterHandle, MasterOptions, NoVerdict, authenticate};
use cyrus_sasl_mesos::{ClientOptions, Credential, Outcome, Verdict};

const WAIT: Duration = Duration::from_secs(20);

/// A TLS master requiring client certificates, offering `mech_list`, taking
/// EXTERNAL identities as `external` says.
async fn spawn_master(certs: &Certs, mech_list: &str, external: Option<PrincipalSource>) -> MasterHandle {
    let store = CredentialStore::from_credentials(vec![("client".to_owned(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new().with("mech_list", mech_list).unwrap().with_credential_store(&store);
    let options = MasterOptions {
        endpoint: EndpointOptions {
            tls: Some(certs.tls("server").require_client_cert(true)),
            ..EndpointOptions::default()
        },
        external,
        ..MasterOptions::default()
    };
    Master::spawn(MasterOptions { sasl: config.clone(), ..options }).await.unwrap()
}

/// A framework with `client.pem` authenticating as `principal` with EXTERNAL
/// only, no secret.
async fn external_framework(
    certs: &Certs,
    master: &MasterHandle,
    principal: &str,
    deadline: Duration,
) -> Result<Verdict, NoVerdict> {
    let endpoint =
        Endpoint::bind(EndpointOptions { tls: Some(certs.tls("client")), ..EndpointOptions::default() }).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let client = ClientOptions { mechanisms: vec!["EXTERNAL".to_owned()], ..ClientOptions::default() };
    let options = AuthenticateOptions { client, timeout: deadline, ..AuthenticateOptions::default() };
    authenticate(&endpoint, master.upid(), &pid, Credential::external(principal), &options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_authenticates_the_principal_of_the_client_certificate() {
    let certs = Certs::new();
    let mut master = spawn_master(&certs, "EXTERNAL", Some(PrincipalSource::CommonName)).await;
    let verdict = external_framework(&certs, &master, "client", WAIT).await.unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!((record.mechanism.as_deref(), record.tls), (Some("EXTERNAL"), true));
    assert_eq!(record.outcome.principal(), Some("client"));
    assert_eq!(master.authenticated(&record.pid).as_deref(), Some("client"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_principal_other_than_the_certificates_is_refused() {
    let certs = Certs::new();
    let mut master = spawn_master(&certs, "EXTERNAL", Some(PrincipalSource::CommonName)).await;
    // libsasl2's default proxy policy: the identity asked for must be the one
    // the certificate proved.
    let verdict = external_framework(&certs, &master, "framework-b", WAIT).await.unwrap();
    assert_eq!(verdict, Verdict::Rejected);
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!(record.mechanism.as_deref(), Some("EXTERNAL"));
    assert!(matches!(record.outcome, Outcome::Rejected), "{record:?}");
    assert_eq!(master.authenticated(&record.pid), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_identity_rule_external_is_not_offered() {
    let certs = Certs::new();
    // The master offers EXTERNAL in mech_list but takes no identity from
    // certificates: libsasl2 then does not offer EXTERNAL, and the client,
    // which allows nothing else, sends no start: a mechanism mismatch, which
    // ends its attempts at once.
    let mut master = spawn_master(&certs, "EXTERNAL CRAM-MD5", None).await;
    let verdict = external_framework(&certs, &master, "client", Duration::from_secs(3)).await;
    assert!(
        matches!(&verdict, Err(NoVerdict::MechanismMismatch { mismatch, .. })
            if mismatch.offered == ["CRAM-MD5"] && mismatch.allowed == ["EXTERNAL"]),
        "{verdict:?}"
    );
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!(record.mechanism, None, "{record:?}");
    assert_eq!(master.authenticated(&record.pid), None);
}

/// A rule that finds no principal in the certificate (the test certificates
/// carry IP names only, no DNS name) gives no identity: EXTERNAL is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_without_the_named_field_gives_no_identity() {
    let certs = Certs::new();
    let mut master = spawn_master(&certs, "EXTERNAL", Some(PrincipalSource::SubjectAltNameDns)).await;
    let verdict = external_framework(&certs, &master, "client", Duration::from_secs(3)).await;
    assert!(!matches!(verdict, Ok(Verdict::Authenticated)), "{verdict:?}");
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert!(!matches!(record.outcome, Outcome::Authenticated { .. }), "{record:?}");
}

/// The operator tool: `sasl-sample mesos-master` with `external_principal:
/// common_name` and `mech_list: EXTERNAL` in its `--config`, TLS from
/// `LIBPROCESS_SSL_*`, and `sasl-sample mesos-authenticate --mechanism EXTERNAL
/// --principal client` (no secret) against it.
#[test]
fn sasl_sample_authenticates_with_external_from_the_shell() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let certs = Certs::new();
    let dir = certs.dir.path();
    std::fs::write(dir.join("master.conf"), "mech_list: EXTERNAL\nexternal_principal: common_name\n").unwrap();
    let mut master = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
    master.args(["mesos-master", "--listen", "127.0.0.1:0", "--config"]).arg(dir.join("master.conf"));
    certs.libprocess_env(&mut master, "server", true);
    let mut master = master.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    // Killed by its PID however the test ends.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut lines = BufReader::new(master.stdout.take().unwrap()).lines();
    let master = Kill(master);
    let listening = lines.next().unwrap().unwrap();
    let addr = listening.strip_prefix("listening: master@").unwrap_or_else(|| panic!("{listening}")).to_owned();
    let authenticate = |principal: &str| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
        cmd.args(["mesos-authenticate", "--master", &addr, "--timeout", "20", "--mechanism", "EXTERNAL"])
            .args(["--principal", principal]);
        certs.libprocess_env(&mut cmd, "client", true);
        let output = cmd.stderr(Stdio::null()).output().unwrap();
        String::from_utf8_lossy(&output.stdout).trim_end().to_owned()
    };
    assert_eq!(authenticate("client"), "authenticated");
    let line = lines.next().unwrap().unwrap();
    assert!(line.starts_with("authenticated: client pid=sasl-sample@127.0.0.1:"), "{line}");
    assert!(line.ends_with(" mech=EXTERNAL tls=yes bound=no"), "{line}");
    assert_eq!(authenticate("someone-else"), "rejected");
    assert!(lines.next().unwrap().unwrap().starts_with("rejected: pid="));
    drop(master);
}

//! Throwaway TLS certificates for a test, made by `ci/tls-certs` in a
//! temporary directory (the script lists the set: a CA and leaves for IP
//! 127.0.0.1, another CA, a relay's own certificate, one for a wrong host),
//! and the rustls and libprocess configurations built from them. Nothing
//! secret is committed anywhere. The rustls configurations use rustls's
//! process-default provider (*ring*, the only one the workspace enables), as
//! libprocess does, not the deprecated `rustls::crypto::ring::default_provider`.
//! libprocess's own tests have a copy of the certificate part
//! (`libprocess/tests/endpoint/support.rs`) because this crate depends on the
//! SASL crates.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use libprocess::TlsOptions;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// One set of certificates; the directory goes when it is dropped.
pub struct Certs {
    pub dir: tempfile::TempDir,
}

impl Certs {
    /// Runs `ci/tls-certs` into a new temporary directory.
    #[allow(clippy::new_without_default, reason = "it runs a script: not a default value")]
    pub fn new() -> Certs {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = crate::workspace_root().join("ci/tls-certs");
        let status = Command::new(script).arg(dir.path()).status().expect("run ci/tls-certs (needs openssl)");
        assert!(status.success(), "ci/tls-certs failed");
        Certs { dir }
    }

    /// A file of the set, e.g. `ca.pem`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Certificate NAME (`NAME.pem`).
    pub fn cert(&self, name: &str) -> CertificateDer<'static> {
        CertificateDer::from_pem_file(self.path(&format!("{name}.pem"))).expect("a PEM certificate")
    }

    /// libprocess TLS with certificate NAME (`NAME.pem`, `NAME.key`), trusting
    /// `ca.pem`; otherwise the library's defaults (server certificates verified).
    pub fn tls(&self, name: &str) -> TlsOptions {
        self.tls_trusting(name, "ca.pem")
    }

    /// The same, trusting the CAs in file `ca` instead.
    pub fn tls_trusting(&self, name: &str, ca: &str) -> TlsOptions {
        TlsOptions::new(self.path(&format!("{name}.pem")), self.path(&format!("{name}.key"))).ca_file(self.path(ca))
    }

    /// A rustls server configuration presenting certificate NAME, asking for
    /// no client certificate.
    pub fn server_config(&self, name: &str) -> Arc<rustls::ServerConfig> {
        let key = PrivateKeyDer::from_pem_file(self.path(&format!("{name}.key"))).expect("a PEM key");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![self.cert(name)], key)
            .expect("a server certificate");
        Arc::new(config)
    }

    /// A rustls client configuration trusting the CA certificate CA
    /// (`CA.pem`), presenting no certificate.
    pub fn client_config(&self, ca: &str) -> Arc<rustls::ClientConfig> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert(ca)).expect("a CA certificate");
        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        Arc::new(config)
    }
}

impl Certs {
    /// Gives `cmd` (a `sasl-sample` run) libprocess TLS as an operator sets it:
    /// `LIBPROCESS_SSL_ENABLED` (`enabled`), certificate NAME, `ca.pem`, client
    /// certificates required; and removes the `LIBPROCESS_IP`/`PORT`/`ADVERTISE_*`
    /// a surrounding environment might carry.
    pub fn libprocess_env(&self, cmd: &mut Command, name: &str, enabled: bool) {
        cmd.env("LIBPROCESS_SSL_ENABLED", if enabled { "true" } else { "false" })
            .env("LIBPROCESS_SSL_CERT_FILE", self.path(&format!("{name}.pem")))
            .env("LIBPROCESS_SSL_KEY_FILE", self.path(&format!("{name}.key")))
            .env("LIBPROCESS_SSL_CA_FILE", self.path("ca.pem"))
            .env("LIBPROCESS_SSL_REQUIRE_CLIENT_CERT", "true")
            .env_remove("LIBPROCESS_IP")
            .env_remove("LIBPROCESS_PORT")
            .env_remove("LIBPROCESS_ADVERTISE_IP")
            .env_remove("LIBPROCESS_ADVERTISE_PORT");
    }
}

/// The next authentication a master reports (other events are printed and
/// skipped), within `wait`.
pub async fn next_authentication(
    master: &mut cyrus_sasl_mesos::MasterHandle,
    wait: std::time::Duration,
) -> cyrus_sasl_mesos::AuthenticationRecord {
    use cyrus_sasl_mesos::MasterEvent;
    loop {
        match tokio::time::timeout(wait, master.next_event()).await.expect("an event in time").expect("the master runs")
        {
            MasterEvent::Authentication(record) => return record,
            other => eprintln!("(skipping {other:?})"),
        }
    }
}

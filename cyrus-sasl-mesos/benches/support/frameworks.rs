//! The framework side of the libprocess benchmarks (`benches/mesos.rs`,
//! `benches/mesos_tls.rs`): one libprocess endpoint per framework, all
//! authenticating at once against a master.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use libprocess::{Endpoint, EndpointOptions, TlsOptions, Upid};

use cyrus_sasl_mesos::{AuthenticateOptions, authenticate};
use cyrus_sasl_mesos::{Credential, Verdict};

/// The frameworks: their endpoints (plaintext, or TLS with `tls`) and the
/// UPIDs they authenticate for, and the credential they all use.
pub struct Frameworks {
    endpoints: Vec<(Endpoint, Upid)>,
    principal: &'static str,
    secret: &'static str,
}

impl Frameworks {
    /// `clients` endpoints, each keeping its connection to the master.
    pub async fn new(clients: u32, tls: Option<TlsOptions>, principal: &'static str, secret: &'static str) -> Self {
        let mut endpoints = Vec::new();
        for i in 0..clients {
            let options = EndpointOptions { tls: tls.clone(), ..EndpointOptions::default() };
            let endpoint = Endpoint::bind(options).await.expect("a framework endpoint");
            let pid = endpoint.upid(&format!("scheduler-{i}")).unwrap();
            endpoints.push((endpoint, pid));
        }
        Frameworks { endpoints, principal, secret }
    }

    /// `n` authentications against `master`, all frameworks at once; the wall time.
    pub async fn round(&self, master: &Upid, n: u32) -> Duration {
        let left = Arc::new(AtomicU32::new(n));
        let started = Instant::now();
        let tasks: Vec<_> = self
            .endpoints
            .iter()
            .map(|(endpoint, pid)| {
                let (endpoint, pid, master, left) = (endpoint.clone(), pid.clone(), master.clone(), left.clone());
                let (principal, secret) = (self.principal, self.secret);
                tokio::spawn(async move {
                    let options = AuthenticateOptions { timeout: Duration::from_secs(60), ..Default::default() };
                    while left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |l| l.checked_sub(1)).is_ok() {
                        let credential = Credential::new(principal, secret);
                        let verdict = authenticate(&endpoint, &master, &pid, credential, &options).await;
                        assert_eq!(verdict.expect("a verdict"), Verdict::Authenticated);
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("a framework task");
        }
        started.elapsed()
    }
}

//! GSSAPI between our own libprocess master and our own client, with the real
//! MIT KDC of `ci/kdc` (tests/common/kdc.rs): the master chooses Kerberos by its
//! config alone (`mech_list: GSSAPI` and the `mesos/localhost` keytab); the
//! client allows GSSAPI explicitly (its default is CRAM-MD5 only) and uses
//! alice's ticket. Apache Mesos never shipped Kerberos (MESOS-907).

use cyrus_sasl_test_support as common;

use std::process::ExitCode;
use std::time::Duration;

use common::kdc::{self, HOST, SERVICE, USER, kdc};
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterOptions, NoVerdict, authenticate};
use cyrus_sasl_mesos::{ClientOptions, Credential, MasterConfig, ServerOptions, Verdict};
use libprocess::{Endpoint, EndpointOptions};
use libtest_mimic::{Failed, Trial};

fn main() -> ExitCode {
    kdc::run_with_kdc(vec![
        Trial::test("gssapi_over_libprocess_chosen_by_the_masters_config_alone", gssapi_over_libprocess),
        Trial::test("a_default_client_refuses_a_gssapi_only_master", default_client_refuses_gssapi),
    ])
}

fn master_config() -> MasterConfig {
    let text = format!("mech_list: GSSAPI\nkeytab: {}\n", kdc().keytab.display());
    MasterConfig::from_sasl_config(text.parse().unwrap()).unwrap()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn gssapi_over_libprocess() -> Result<(), Failed> {
    runtime().block_on(async {
        let server = ServerOptions { service: SERVICE.into(), fqdn: HOST.into(), ..ServerOptions::default() };
        let options = MasterOptions { server, ..MasterOptions::default() };
        let mut master =
            Master::spawn(MasterOptions { sasl: master_config().sasl_config().clone(), ..options }).await?;
        let endpoint = Endpoint::bind(EndpointOptions::default()).await?;
        let pid = endpoint.upid("scheduler-kerberos")?;
        let client = ClientOptions {
            service: SERVICE.into(),
            server_fqdn: HOST.into(),
            mechanisms: vec!["GSSAPI".into()],
            ..ClientOptions::default()
        };
        let options =
            AuthenticateOptions { client, timeout: Duration::from_secs(20), ..AuthenticateOptions::default() };
        // GSSAPI takes the identity from alice's ticket (KRB5CCNAME); the
        // credential's principal is the authentication id asked for, and it
        // has no secret.
        let credential = Credential::kerberos(USER);
        let verdict = authenticate(&endpoint, master.upid(), &pid, credential, &options).await?;
        assert_eq!(verdict, Verdict::Authenticated);
        let record = cyrus_sasl_test_support::mesos::next_authentication(&mut master, Duration::from_secs(10)).await;
        assert_eq!(record.outcome.principal(), Some(USER));
        assert_eq!(master.authenticated(&pid.to_string()).as_deref(), Some(USER));
        Ok(())
    })
}

fn default_client_refuses_gssapi() -> Result<(), Failed> {
    runtime().block_on(async {
        let server = ServerOptions { service: SERVICE.into(), fqdn: HOST.into(), ..ServerOptions::default() };
        let options = MasterOptions { server, ..MasterOptions::default() };
        let master = Master::spawn(MasterOptions { sasl: master_config().sasl_config().clone(), ..options }).await?;
        let endpoint = Endpoint::bind(EndpointOptions::default()).await?;
        let pid = endpoint.upid("scheduler-default")?;
        let client = ClientOptions { service: SERVICE.into(), server_fqdn: HOST.into(), ..ClientOptions::default() };
        let options = AuthenticateOptions { client, timeout: Duration::from_secs(3), ..AuthenticateOptions::default() };
        // The first attempt fails on the offer, and the attempts stop there:
        // an error naming both lists, never an authentication.
        let result = authenticate(&endpoint, master.upid(), &pid, Credential::new(USER, "x"), &options).await;
        let Err(NoVerdict::MechanismMismatch { mismatch, .. }) = &result else {
            return Err(format!("expected a mechanism mismatch, got {result:?}").into());
        };
        assert_eq!(
            (&mismatch.offered[..], &mismatch.allowed[..]),
            (&["GSSAPI".to_owned()][..], &["CRAM-MD5".to_owned()][..])
        );
        assert_eq!(master.authenticated(&pid.to_string()), None);
        Ok(())
    })
}

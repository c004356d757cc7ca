//! Channel binding on the libprocess wire: our master and authenticatee over
//! TLS, with a machine in the middle that terminates TLS toward each side.
//!
//! The relay listens where the master advertises itself (a port forward, as
//! behind NAT), shows the framework its own certificate from another CA (which
//! the framework was told to trust), and opens its own TLS connection to the
//! master. It passes bytes through unchanged. Plain `SCRAM-SHA-256` through it
//! succeeds: nothing in that exchange says which TLS connection carried it.
//! `SCRAM-SHA-256-PLUS` through it fails: each side binds to its own
//! connection's `tls-exporter`, and the relay's two connections differ. Without
//! the relay the same `-PLUS` exchange succeeds. Certificates come from
//! `ci/tls-certs` per run.

use cyrus_sasl_test_support as common;

use common::tls::Certs;

use std::net::SocketAddr;
use std::time::Duration;

use libprocess::{Endpoint, EndpointOptions, Upid};

use cyrus_sasl::{Config, CredentialStore, Secret};
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterHandle, MasterOptions, NoVerdict, authenticate};
use cyrus_sasl_mesos::{
    ChannelBindingPolicy, ClientOptions, Credential, ExchangeError, Outcome, ServerOptions, Verdict,
};
use rustls::pki_types::ServerName;
use tokio::net::{TcpListener, TcpStream};

const WAIT: Duration = Duration::from_secs(20);

/// A TLS-terminating relay: accepts TLS as `relay.pem` (another CA), connects
/// to `target` with TLS of its own (trusting the cluster CA, no client
/// certificate), and copies bytes both ways. Runs until the test ends.
/// The framework trusts the relay's CA as well as the cluster's: what a
/// machine in the middle needs its victim to do. Writes `both-cas.pem`.
fn trust_the_relay(certs: &Certs) {
    let both = [std::fs::read(certs.path("ca.pem")).unwrap(), std::fs::read(certs.path("other-ca.pem")).unwrap()];
    std::fs::write(certs.path("both-cas.pem"), both.concat()).unwrap();
}

async fn start_relay(certs: &Certs, listener: TcpListener, target: SocketAddr) {
    let acceptor = tokio_rustls::TlsAcceptor::from(certs.server_config("relay"));
    let connector = tokio_rustls::TlsConnector::from(certs.client_config("ca"));
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, connector) = (acceptor.clone(), connector.clone());
            tokio::spawn(async move {
                let Ok(mut inside) = acceptor.accept(tcp).await else { return };
                let Ok(tcp) = TcpStream::connect(target).await else { return };
                let name = ServerName::from(target.ip());
                let Ok(mut outside) = connector.connect(name, tcp).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut inside, &mut outside).await;
            });
        }
    });
}

fn store() -> CredentialStore {
    CredentialStore::from_credentials(vec![("framework-a".to_owned(), Secret::from("s3cret"))]).unwrap()
}

/// A TLS master offering `SCRAM-SHA-256` with `policy`, advertising
/// `advertise_port` (a relay's) when given.
async fn spawn_master(
    certs: &Certs,
    store: &CredentialStore,
    policy: ChannelBindingPolicy,
    advertise: Option<u16>,
) -> MasterHandle {
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(store);
    let options = MasterOptions {
        endpoint: EndpointOptions {
            tls: Some(certs.tls("server")),
            advertise_port: advertise,
            ..EndpointOptions::default()
        },
        server: ServerOptions { channel_binding: policy, ..ServerOptions::default() },
        ..MasterOptions::default()
    };
    Master::spawn(MasterOptions { sasl: config.clone(), ..options }).await.unwrap()
}

/// A framework endpoint trusting both CAs, authenticating with SCRAM-SHA-256
/// under `policy` against `master`; its verdict or error.
async fn framework(
    certs: &Certs,
    master: &Upid,
    policy: ChannelBindingPolicy,
    deadline: Duration,
) -> Result<Verdict, NoVerdict> {
    let endpoint = Endpoint::bind(EndpointOptions {
        tls: Some(certs.tls_trusting("client", "both-cas.pem")),
        ..EndpointOptions::default()
    })
    .await
    .unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let client = ClientOptions {
        mechanisms: vec!["SCRAM-SHA-256".to_owned()],
        channel_binding: policy,
        ..ClientOptions::default()
    };
    let options = AuthenticateOptions { client, timeout: deadline, ..AuthenticateOptions::default() };
    authenticate(&endpoint, master, &pid, Credential::new("framework-a", "s3cret"), &options).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scram_plus_binds_over_a_direct_tls_connection() {
    let certs = Certs::new();
    trust_the_relay(&certs);
    let store = store();
    let mut master = spawn_master(&certs, &store, ChannelBindingPolicy::Prefer, None).await;
    let verdict = framework(&certs, master.upid(), ChannelBindingPolicy::Prefer, WAIT).await.unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!(record.mechanism.as_deref(), Some("SCRAM-SHA-256-PLUS"));
    assert!(record.tls && record.channel_bound, "{record:?}");
    assert_eq!(record.outcome.principal(), Some("framework-a"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_terminating_relay_passes_plain_scram_but_breaks_scram_plus() {
    let certs = Certs::new();
    trust_the_relay(&certs);
    let store = store();
    let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = relay.local_addr().unwrap().port();

    // Without binding the relay goes unnoticed: SCRAM authenticates through it.
    let mut master = spawn_master(&certs, &store, ChannelBindingPolicy::Off, Some(relay_port)).await;
    assert_eq!(master.upid().addr().port(), relay_port, "the master advertises the relay's address");
    start_relay(&certs, relay, master.endpoint().local_addr()).await;
    let verdict = framework(&certs, master.upid(), ChannelBindingPolicy::Off, WAIT).await.unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!((record.mechanism.as_deref(), record.channel_bound), (Some("SCRAM-SHA-256"), false));
    assert_eq!(record.outcome.principal(), Some("framework-a"));
    master.shutdown().await;

    // With binding on both sides, the same relay makes SCRAM-SHA-256-PLUS fail.
    let relay = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_port = relay.local_addr().unwrap().port();
    let mut master = spawn_master(&certs, &store, ChannelBindingPolicy::Prefer, Some(relay_port)).await;
    start_relay(&certs, relay, master.endpoint().local_addr()).await;
    let verdict = framework(&certs, master.upid(), ChannelBindingPolicy::Prefer, Duration::from_secs(5)).await;
    assert!(!matches!(verdict, Ok(Verdict::Authenticated)), "authenticated through the relay: {verdict:?}");
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!(record.mechanism.as_deref(), Some("SCRAM-SHA-256-PLUS"), "{record:?}");
    assert!(!matches!(record.outcome, Outcome::Authenticated { .. }), "{record:?}");
    eprintln!("the master's verdict through the relay: {:?}", record.outcome);
    assert_eq!(master.authenticated(&record.pid), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_requiring_binding_refuses_plaintext_and_unbound_clients() {
    let certs = Certs::new();
    trust_the_relay(&certs);
    let store = store();
    // A client that will not bind gets no mechanism it may use: the master
    // offers only the -PLUS variant.
    let mut master = spawn_master(&certs, &store, ChannelBindingPolicy::Require, None).await;
    // That is a mechanism mismatch: the attempts stop at the first offer.
    let verdict = framework(&certs, master.upid(), ChannelBindingPolicy::Off, Duration::from_secs(3)).await;
    assert!(
        matches!(&verdict, Err(NoVerdict::MechanismMismatch { mismatch, .. })
            if mismatch.offered == ["SCRAM-SHA-256-PLUS"] && mismatch.allowed == ["SCRAM-SHA-256"]),
        "{verdict:?}"
    );
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert_eq!(record.mechanism, None, "the client sent no start: {record:?}");
    // One that binds authenticates.
    let verdict = framework(&certs, master.upid(), ChannelBindingPolicy::Require, WAIT).await.unwrap();
    assert_eq!(verdict, Verdict::Authenticated);
    master.shutdown().await;

    // In plaintext there is nothing to bind to: refused before any SASL.
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store);
    let options = MasterOptions {
        server: ServerOptions { channel_binding: ChannelBindingPolicy::Require, ..ServerOptions::default() },
        ..MasterOptions::default()
    };
    let mut master = Master::spawn(MasterOptions { sasl: config.clone(), ..options }).await.unwrap();
    let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
    let pid = endpoint.upid("scheduler-1").unwrap();
    let client = ClientOptions { mechanisms: vec!["SCRAM-SHA-256".to_owned()], ..ClientOptions::default() };
    let options = AuthenticateOptions { client, timeout: Duration::from_secs(3), ..AuthenticateOptions::default() };
    let verdict =
        authenticate(&endpoint, master.upid(), &pid, Credential::new("framework-a", "s3cret"), &options).await;
    assert!(!matches!(verdict, Ok(Verdict::Authenticated)), "{verdict:?}");
    let record = common::tls::next_authentication(&mut master, WAIT).await;
    assert!(matches!(record.outcome, Outcome::Failed(ExchangeError::ChannelBindingRequired { .. })), "{record:?}");
}

/// A relay that also strips the `-PLUS` names from the master's offer, so that
/// the client cannot pick a bound mechanism: SCRAM's client then says it could
/// have bound ("y" in its first message), and a master that binds refuses.
/// The sans-IO sides, in process, with the binding each would have from its
/// own end of a relay (two different byte strings).
#[test]
fn a_relay_that_strips_plus_from_the_offer_is_caught() {
    use common::mesos::Dir;
    use cyrus_sasl::ChannelBinding;
    use cyrus_sasl_mesos::{
        Authenticatee, AuthenticateeState, AuthenticationMechanismsMessage, Authenticator, Message, Origin,
        SecureChannel,
    };
    let run = |strip: bool, client_side: &[u8]| {
        let store = store();
        let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store);
        let (mut master, outcomes) = Authenticator::<u32>::new(&config, ServerOptions::default());
        let origin = Origin::new("crammd5-authenticatee(1)@127.0.0.1:41234", [127, 0, 0, 1].into())
            .with_channel(SecureChannel::new(ChannelBinding::new("tls-exporter", [1u8; 32], false), 256));
        let client_options = ClientOptions { mechanisms: vec!["SCRAM-SHA-256".to_owned()], ..ClientOptions::default() };
        let mut client = Authenticatee::new(
            Credential::new("framework-a", "s3cret"),
            "scheduler-1@127.0.0.1:41234",
            &client_options,
        );
        client
            .set_secure_channel(Some(SecureChannel::new(ChannelBinding::new("tls-exporter", client_side, false), 256)));
        client.start();
        let mut chosen = None;
        let tap = |dir: Dir, m: &mut Message| {
            match (dir, m) {
                (Dir::ToMaster, Message::Start(start)) => chosen = Some(start.mechanism.clone()),
                (Dir::ToClient, Message::Mechanisms(AuthenticationMechanismsMessage { mechanisms })) if strip => {
                    mechanisms.retain(|m| !m.ends_with("-PLUS"))
                }
                _ => {}
            }
            true
        };
        common::mesos::exchange(std::time::Instant::now(), &mut client, &mut master, 1, &origin, tap);
        let outcome = outcomes.try_iter().next().expect("an outcome").outcome;
        (chosen, client.state(), outcome.principal().map(str::to_owned).ok_or_else(|| format!("{outcome:?}")))
    };
    // Same bytes on both sides (no relay), offer intact: bound and accepted.
    let (chosen, state, result) = run(false, &[1u8; 32]);
    assert_eq!((chosen.as_deref(), state), (Some("SCRAM-SHA-256-PLUS"), AuthenticateeState::Authenticated));
    assert_eq!(result, Ok("framework-a".to_owned()));
    // A relay's bytes, offer intact: the binding differs and the master refuses.
    let (chosen, state, result) = run(false, &[2u8; 32]);
    assert_eq!(chosen.as_deref(), Some("SCRAM-SHA-256-PLUS"));
    assert_ne!(state, AuthenticateeState::Authenticated);
    assert!(result.is_err(), "{result:?}");
    // A relay's bytes, offer stripped: the client falls back to SCRAM-SHA-256,
    // says it could have bound, and the master, which binds, refuses.
    let (chosen, state, result) = run(true, &[2u8; 32]);
    assert_eq!(chosen.as_deref(), Some("SCRAM-SHA-256"));
    assert_ne!(state, AuthenticateeState::Authenticated);
    assert!(result.is_err(), "{result:?}");
    eprintln!("stripped offer: the master says {result:?}");
}

/// Issue 22, finding 9: what `prefer` does not protect. A relay that removes
/// every SCRAM name from the offer leaves a client that also allows CRAM-MD5
/// with CRAM-MD5, which cannot bind: under `prefer` that exchange succeeds
/// through the relay (the client cannot tell a stripped offer from a master
/// that only does CRAM-MD5). `require` is the policy that closes it: the client
/// refuses an offer without a `-PLUS` mechanism.
#[test]
fn a_relay_that_strips_scram_downgrades_prefer_to_cram_md5_but_not_require() {
    use common::mesos::Dir;
    use cyrus_sasl::ChannelBinding;
    use cyrus_sasl_mesos::{
        Authenticatee, AuthenticateeState, AuthenticationMechanismsMessage, Authenticator, ChannelBindingPolicy,
        Message, Origin, SecureChannel,
    };
    let run = |policy: ChannelBindingPolicy| {
        let store = store();
        let config = Config::new().with("mech_list", "SCRAM-SHA-256 CRAM-MD5").unwrap().with_credential_store(&store);
        let (mut master, outcomes) = Authenticator::<u32>::new(&config, ServerOptions::default());
        let origin = Origin::new("crammd5-authenticatee(1)@127.0.0.1:41234", [127, 0, 0, 1].into())
            .with_channel(SecureChannel::new(ChannelBinding::new("tls-exporter", [1u8; 32], false), 256));
        let client_options = ClientOptions {
            mechanisms: vec!["SCRAM-SHA-256".to_owned(), "CRAM-MD5".to_owned()],
            channel_binding: policy,
            ..ClientOptions::default()
        };
        let mut client = Authenticatee::new(
            Credential::new("framework-a", "s3cret"),
            "scheduler-1@127.0.0.1:41234",
            &client_options,
        );
        // The relay's end of the TLS connection: other bytes than the master's.
        client.set_secure_channel(Some(SecureChannel::new(ChannelBinding::new("tls-exporter", [2u8; 32], false), 256)));
        client.start();
        let mut chosen = None;
        let tap = |dir: Dir, m: &mut Message| {
            match (dir, m) {
                (Dir::ToMaster, Message::Start(start)) => chosen = Some(start.mechanism.clone()),
                (Dir::ToClient, Message::Mechanisms(AuthenticationMechanismsMessage { mechanisms })) => {
                    mechanisms.retain(|m| !m.starts_with("SCRAM"))
                }
                _ => {}
            }
            true
        };
        common::mesos::exchange(std::time::Instant::now(), &mut client, &mut master, 1, &origin, tap);
        (chosen, client.state(), outcomes.try_iter().next().map(|o| o.outcome))
    };
    let (chosen, state, outcome) = run(ChannelBindingPolicy::Prefer);
    assert_eq!(chosen.as_deref(), Some("CRAM-MD5"));
    assert_eq!(state, AuthenticateeState::Authenticated, "{outcome:?}");
    let (chosen, state, outcome) = run(ChannelBindingPolicy::Require);
    assert_eq!(chosen, None, "a client requiring binding starts no exchange");
    assert_ne!(state, AuthenticateeState::Authenticated);
    assert!(!matches!(&outcome, Some(o) if o.principal().is_some()), "{outcome:?}");
}

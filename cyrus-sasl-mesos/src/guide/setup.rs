//! # Setting up a master and its frameworks
//!
//! ## The wire
//!
//! Every Mesos master, agent and scheduler driver speaks libprocess: a message
//! is an HTTP/1.1 `POST /{to-process}/{message name}` carrying protobuf bytes,
//! naming its sender's UPID (`id@ip:port`) in `Libprocess-From`, answered
//! `202 Accepted`. An answer travels the other way on a connection of the
//! answerer's own, to the address in the sender's UPID, so both sides listen.
//! The [`libprocess`](mod@crate::libprocess) crate (re-exported) has the endpoint:
//! [`Endpoint::bind`](crate::libprocess::Endpoint::bind), processes by
//! [`register`](crate::libprocess::Endpoint::register), and
//! [`EndpointOptions::from_env`](crate::libprocess::EndpointOptions::from_env),
//! which reads `LIBPROCESS_IP`, `LIBPROCESS_PORT`, `LIBPROCESS_ADVERTISE_IP`,
//! `LIBPROCESS_ADVERTISE_PORT` and the `LIBPROCESS_SSL_*` variables
//! ([`tls`](super::tls)).
//!
//! Authentication is the first thing a framework says on it; its own messages
//! (SUBSCRIBE, status updates) then go over the same endpoint, from the same
//! UPID.
//!
//! ## The master
//!
//! [`Master::spawn`](crate::Master::spawn) runs process `master`. Each
//! `AuthenticateMessage` gets a session process of its own
//! (`crammd5-authenticator-session(N)`), which answers only the sender of that
//! message; a new attempt for the same UPID supersedes the old one; a session
//! lasts at most 15 seconds. Every attempt ends as one
//! [`MasterEvent::Authentication`](crate::MasterEvent::Authentication) whose
//! [`Outcome`](crate::Outcome) is authenticated, rejected (a wrong secret and an
//! unknown principal look the same to the peer), or failed with a typed
//! [`ExchangeError`](crate::ExchangeError). An authenticated UPID is recorded in
//! the master's [`Registry`](crate::Registry), which registration reads. Other
//! messages to `master` come out as
//! [`MasterEvent::Message`](crate::MasterEvent::Message), unless the
//! registration gate takes them ([`authorization`](super::authorization)).
//!
//! A master is made from a config file: [`MasterConfig::read`](crate::MasterConfig::read)
//! loads it, and [`MasterOptions::from_config`](crate::MasterOptions::from_config)
//! puts every key into effect. The keys are listed on
//! [`MasterConfig`](crate::MasterConfig); the usual ones:
//!
//! ```text
//! # Secrets in memory, from a Mesos credentials file (Mesos's --credentials):
//! mech_list: CRAM-MD5
//! credentials: /etc/mesos/credentials.json
//! # Mesos's --acls: who may register (see the authorization guide)
//! acls: /etc/mesos/acls.json
//!
//! # Or secrets in a sasldb made with saslpasswd2:
//! mech_list: CRAM-MD5
//! auxprop_plugin: sasldb
//! sasldb_path: /etc/mesos/sasldb2
//! ```
//!
//! ```no_run
//! use cyrus_sasl_mesos::{Master, MasterConfig, MasterEvent, MasterOptions, Outcome};
//! use cyrus_sasl_mesos::libprocess::EndpointOptions;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = MasterConfig::read("/etc/mesos/master.conf")?;
//! for warning in config.warnings() {
//!     eprintln!("warning: {warning}");
//! }
//! let mut options = MasterOptions::from_config(&config);
//! options.endpoint = EndpointOptions::from_env()?; // LIBPROCESS_IP, LIBPROCESS_PORT, TLS ...
//! let mut master = Master::spawn(options).await?;
//! while let Some(event) = master.next_event().await {
//!     if let MasterEvent::Authentication(record) = event {
//!         match record.outcome {
//!             Outcome::Authenticated { principal } => println!("{principal:?} at {:?}", record.pid),
//!             Outcome::Rejected => println!("rejected: {:?}", record.pid),
//!             Outcome::Failed(error) => println!("no verdict for {:?}: {error}", record.pid),
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! The credentials file is Mesos's JSON
//! (`{"credentials": [{"principal": "p", "secret": "s"}]}`) or the older
//! `principal secret` lines ([`read_credentials`](crate::read_credentials)).
//! Secrets stay in memory that is wiped when freed, out of errors, logs and
//! `Debug`; a file others can read is warned about.
//! [`MasterConfig::reload_credentials`](crate::MasterConfig::reload_credentials)
//! swaps a changed file into the running master at once; a broken file keeps
//! the old credentials.
//!
//! ## The framework or agent
//!
//! [`authenticate`](crate::authenticate) is the framework's and the agent's
//! side (the same code; only the principal differs). Register the process
//! whose UPID is to be authenticated **first**: the master records that UPID,
//! later checks registrations against it, and sends its answers to it.
//! Each attempt is a fresh `crammd5-authenticatee(N)` process; attempts are
//! retried with Mesos's backoff (timeouts drawn from 5 to 7 seconds, then 5 to
//! 9, up to 5 to 60); a rejection is final. The framework's own credential
//! file, in Mesos's `--credential` format, is read by
//! [`read_credential`](crate::read_credential).
//!
//! ```no_run
//! use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions, Upid};
//! use cyrus_sasl_mesos::{AuthenticateOptions, Verdict, authenticate, read_credential};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = Endpoint::bind(EndpointOptions::from_env()?).await?;
//! let mut scheduler = endpoint.register("scheduler-1")?;
//! let master: Upid = "master@10.0.0.1:5050".parse()?;
//! let credential = read_credential("/etc/mesos/framework.credential")?;
//! match authenticate(&endpoint, &master, scheduler.upid(), credential, &AuthenticateOptions::default()).await? {
//!     Verdict::Authenticated => {
//!         // SUBSCRIBE from `scheduler`; the master answers it there.
//!         # let call: Vec<u8> = Vec::new();
//!         scheduler.send(&master, "mesos.scheduler.Call", &call).await?;
//!         let _answer = scheduler.recv().await;
//!     }
//!     Verdict::Rejected => eprintln!("the master rejected the credential"),
//! }
//! # Ok(()) }
//! ```
//!
//! ### The framework from a config file
//!
//! A framework or agent is configured by file as the master is:
//! [`ClientConfig::read`](crate::ClientConfig::read) reads the same
//! `key: value` format, as strictly (a misspelt key is an error naming the
//! nearest one), and [`AuthenticateOptions::from_config`](crate::AuthenticateOptions::from_config)
//! puts it into effect. The keys are listed on [`ClientConfig`](crate::ClientConfig):
//!
//! ```text
//! master: 10.0.0.1:5050          # or master@IP:PORT, zk://.../mesos, file:///PATH
//! principal: framework-a
//! secret_file: framework-a.secret # or `credential: FILE` (Mesos's --credential format)
//! mech_list: CRAM-MD5            # the mechanisms this client may use
//! ```
//!
//! ```no_run
//! use cyrus_sasl_mesos::libprocess::Endpoint;
//! use cyrus_sasl_mesos::zookeeper::ResolvedMaster;
//! use cyrus_sasl_mesos::{AuthenticateOptions, ClientConfig, authenticate};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let config = ClientConfig::read("/etc/mesos/framework.conf")?;
//! let endpoint = Endpoint::bind(config.endpoint_options().clone()).await?; // TLS from ssl_* or LIBPROCESS_SSL_*
//! let scheduler = endpoint.register("scheduler-1")?;
//! let ResolvedMaster::Direct(master) = config.master().ok_or("no master")?.resolve()? else {
//!     return Err("a zk:// master: see follow_leader".into());
//! };
//! let options = AuthenticateOptions::from_config(&config);
//! let verdict = authenticate(&endpoint, &master, scheduler.upid(), config.credential().clone(), &options).await?;
//! # let _ = verdict; Ok(()) }
//! ```
//!
//! **Kerberos by the files alone.** The client's `service` and `server_fqdn`
//! default to the master's (`mesos`, `localhost`), so the service principal
//! it asks a ticket for is the one a master on its defaults holds,
//! `mesos/localhost@REALM` (on a real cluster, set `server_fqdn` to the
//! master's host name, and give the master the same with its `fqdn`). Moving a
//! framework from CRAM-MD5 to GSSAPI changes two files, no code:
//!
//! ```text
//! # master.conf                       # framework.conf
//! mech_list: GSSAPI                   mech_list: GSSAPI
//! keytab: /etc/mesos/mesos.keytab     ccache: FILE:/var/lib/framework/krb5cc
//!                                     principal: framework-a
//!                                     master: 10.0.0.1:5050
//! ```
//!
//! Kerberos needs no secret: a `principal` without `secret_file` is
//! [`Credential::kerberos`](crate::Credential::kerberos). Such a credential
//! with a mechanism that needs a secret (CRAM-MD5, SCRAM) is refused before any
//! attempt, with [`MissingSecret`](crate::MissingSecret) naming the mechanisms.
//! `sasl-sample mesos-authenticate --config FILE` takes the same file.
//!
//! ### The examples
//!
//! Each is run by `ci/test`:
//!
//! - `cargo run -p cyrus-sasl-mesos --example framework`: a framework, by its
//!   client config, registers its process, authenticates its UPID, sends
//!   SUBSCRIBE from it and receives the answer on it; `-- --real-mesos`
//!   authenticates the same way with Apache Mesos 1.11's own authenticator.
//! - `cargo run -p cyrus-sasl-mesos --example master_from_config`: a master
//!   from a config file, every key in effect.
//! - `cargo run -p mesos-component`: a component with its own Mesos types,
//!   generated by `prost-build` from `.proto` files, sent and received over the
//!   endpoint ([`Endpoint::send_message`](crate::libprocess::Endpoint::send_message)
//!   takes any `prost::Message` with a `prost::Name`).
//! - `cargo run -p cyrus-sasl-mesos --example mesos_demo` (`ci/demo`): every
//!   side at once.
//!
//! ## Safe by default
//!
//! - **CRAM-MD5 only, on both sides.** A master without `mech_list` offers
//!   CRAM-MD5, and a client uses only what
//!   [`ClientOptions::mechanisms`](crate::ClientOptions::mechanisms) allows
//!   (CRAM-MD5 by default): a master, or someone in between, that offers
//!   only `PLAIN` gets an error, never the secret.
//! - **A principal is bound to what the master can check.** libprocess names a
//!   sender only by what the sender writes. The master requires the IP address
//!   of the claimed sender UPID, and of the UPID to be recorded, to be the
//!   address the TCP connection comes from (Mesos checks this only with
//!   `LIBPROCESS_REQUIRE_PEER_ADDRESS_IP_MATCH`). An attempt that fails the
//!   check changes nothing and gets no answer. The port and process id stay
//!   claims: a process on the same host can claim a neighbour's UPID. Behind
//!   NAT, turn the check off with
//!   [`PeerBinding::TrustClaimedAddress`](crate::PeerBinding::TrustClaimedAddress),
//!   which is logged.
//! - **A peer learns nothing of the master's setup**: error messages to peers
//!   are a few fixed texts; the details go to the master's log.
//! - **Peer text is escaped in logs** (UPIDs, principals, mechanism names), so
//!   a peer cannot forge log lines.
//! - **Limits per peer IP as well as global**, so that one host cannot take
//!   what every other host needs (see [Limits](#limits)).
//!
//! ## Limits
//!
//! Every limit below is settable in code ([`MasterOptions`](crate::MasterOptions)
//! and its [`EndpointOptions`](crate::libprocess::EndpointOptions)), and the
//! ones with a key in the master config too. Over a limit, a peer is turned
//! away, never queued without bound; an honest framework or agent retries after
//! its backoff.
//!
//! | Limit | Config key | Default |
//! |---|---|---|
//! | authentication sessions in progress | `max_sessions` | 4,096 |
//! | the same, from one peer IP | `max_sessions_per_ip` | 64 |
//! | inbound connections open (idle ones closed first at the limit) | `max_connections` | 8,192, lowered to what the open-file limit allows |
//! | the same, from one peer IP | `max_connections_per_ip` | 64 |
//! | authenticated UPIDs of one principal (one more forgets its own oldest) | `max_upids_per_principal` | 1,024 |
//! | UPIDs in the registry (an authenticated one is never evicted for room; a new attempt is refused instead) | ([`Registry::new`](crate::Registry::new)) | 65,536 |
//! | a message to `master` (larger: `413` before its body is read) | ([`MasterOptions::max_message_bytes`](crate::MasterOptions::max_message_bytes)) | 64 KiB |
//! | a message to a session | ([`MasterOptions::max_session_message_bytes`](crate::MasterOptions::max_session_message_bytes)) | 16 KiB |
//! | `AuthenticateMessage.pid` | fixed: a UPID, its process id at most 256 bytes | |
//!
//! The defaults hold for a master serving a few thousand frameworks and
//! agents. Each keeps one connection to the master (and the master one back),
//! so 8,192 inbound connections leave room for several thousand peers plus
//! their reconnections; each such peer also costs the master an outbound
//! connection, so two descriptors per peer: the master lowers `max_connections`
//! to half of its open-file limit (less 128 for everything else), with a
//! warning, so that it closes idle connections at its own limit rather than
//! failing to accept at the kernel's. Raise the open-file limit (e.g.
//! `LimitNOFILE=65536` for a systemd service) to serve thousands of peers. An
//! honest session lasts milliseconds, so 4,096 sessions absorb every agent of
//! such a cluster re-authenticating at once after a failover, and 64 per IP a
//! host starting dozens of frameworks together; hosts behind one NAT address
//! share its per-IP limits, so raise those for them. 1,024 UPIDs per principal
//! is far more than one framework or agent principal uses, yet it keeps one
//! principal from filling the 65,536-UPID registry.
//!
//! ## The operator's tool
//!
//! The `sasl-sample` tool (its own package) runs a master from the same config
//! file, printing one line per attempt, and authenticates once against any
//! Mesos master:
//!
//! ```text
//! $ sasl-sample mesos-master --listen 127.0.0.1:5050 --config master.conf
//! listening: master@127.0.0.1:5050
//! authenticated: framework-a pid=scheduler-1@10.0.0.7:40123 mech=CRAM-MD5 tls=no bound=no
//! rejected: pid=scheduler-1@10.0.0.8:40555
//!
//! $ sasl-sample mesos-authenticate --master 127.0.0.1:5050 --credential framework.credential
//! authenticated                  (or: rejected, exit 1; error: ..., exit 2)
//!
//! $ sasl-sample mesos-authenticate --config framework.conf
//! authenticated
//! ```
//!
//! ## Checked against real Mesos
//!
//! This crate's tests run Apache Mesos 1.11's own code against it: the real
//! scheduler driver authenticates to [`Master`](crate::Master) (right secret:
//! the driver's scheduler UPID is recorded with its principal; wrong secret and
//! unknown principal: the driver reports the refusal and nothing is
//! recorded), and [`authenticate`](crate::authenticate) authenticates to the
//! real `CRAMMD5Authenticator` (authenticated, and rejected for a wrong secret
//! or an unknown principal). Mesos's own authentication test scenarios
//! (dropped, duplicated and reordered messages, timeouts, retries, a master
//! gone mid-session) run against the state machines, and hostile peers (forged
//! senders, messages out of order, sessions that never end, slow trickles)
//! against the master, which keeps serving.

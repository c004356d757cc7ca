//! # TLS, channel binding and EXTERNAL on the Mesos wire
//!
//! ## TLS
//!
//! The libprocess endpoint speaks TLS (rustls) on every connection, in and
//! out, configured by the variables Mesos operators already set;
//! [`EndpointOptions::from_env`](crate::libprocess::EndpointOptions::from_env)
//! reads them, and [`TlsOptions`](crate::libprocess::TlsOptions) builds the
//! same in code.
//!
//! | variable | meaning | Mesos's default | here |
//! |---|---|---|---|
//! | `LIBPROCESS_SSL_ENABLED` | TLS on every connection | false | false |
//! | `LIBPROCESS_SSL_CERT_FILE`, `LIBPROCESS_SSL_KEY_FILE` | this side's PEM certificate chain and key (server, and client certificate) | required | required |
//! | `LIBPROCESS_SSL_CA_FILE`, `LIBPROCESS_SSL_CA_DIR` | the CAs trusted | the system's | no system CAs: required to verify |
//! | `LIBPROCESS_SSL_VERIFY_SERVER_CERT` | check the server's certificate | **false** | **true** |
//! | `LIBPROCESS_SSL_REQUIRE_CLIENT_CERT` | incoming connections must present a certificate from the CAs | false | false |
//! | `LIBPROCESS_SSL_SUPPORT_DOWNGRADE` | also serve incoming plaintext | false | false |
//! | `LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME` | how a server certificate is matched to the peer | `legacy` (reverse DNS) | `openssl` only: it must name the host name the master was given by, else the IP dialled |
//!
//! A client verifies by default because a client that takes any certificate
//! stops only someone who listens: a machine in the middle presents its own
//! certificate and reads, changes and relays everything, a CRAM-MD5 exchange
//! included. Turning verification off is logged. Downgrade (serving plaintext
//! beside TLS, chosen by the first bytes of a connection) is for the time a
//! cluster moves to TLS; while it is on, anyone may talk in clear and a client
//! certificate keeps no one out, so it is logged too.
//! [`AuthenticationRecord::tls`](crate::AuthenticationRecord::tls) says whether
//! a whole attempt came over TLS.
//!
//! Which name a master's certificate must carry (Mesos's `openssl` scheme):
//! the one the framework named it by. `sasl-sample mesos-authenticate
//! --master mesos-1.example:5050` connects to the name's IP and checks the
//! certificate's DNS names against `mesos-1.example`, so a cluster whose
//! certificates name hosts only can use TLS; in code,
//! [`Endpoint::resolve_upid`](crate::libprocess::Endpoint::resolve_upid)
//! (`master@mesos-1.example:5050`) does the same. A master named by IP must
//! have that IP in its certificate. Replies come back on connections the
//! master opens to the framework's UPID, an IP, so a framework's own
//! certificate names its IP. A certificate that does not name what it was
//! checked against is a TLS error that says which name was checked and which
//! names the certificate carries.
//!
//! ## Channel binding
//!
//! TLS alone does not tie the SASL exchange to the connection: a relay that
//! ends TLS toward each side, with a certificate the client was made to
//! trust, passes a CRAM-MD5 or plain SCRAM exchange through unchanged. With
//! channel binding, each side mixes a value only the two ends of one TLS
//! connection share (its `tls-exporter` bytes) into a `-PLUS` mechanism's
//! proof; a relay holds two connections with two values, and the exchange
//! fails. SCRAM also catches a relay that strips the `-PLUS` names from the
//! master's offer: the client then says it could have bound, and a master
//! that binds refuses.
//!
//! Both sides bind to the TLS connection that carried the
//! `AuthenticateMessage`, as [`ChannelBindingPolicy`](crate::ChannelBindingPolicy)
//! says: `prefer` (the default) binds whenever there is TLS and a `-PLUS`
//! variant of an allowed mechanism; `require` offers or accepts only `-PLUS`
//! mechanisms and turns away plaintext peers; `off` never binds. The master's
//! config file says `channel_binding: require`; the framework sets
//! [`ClientOptions::channel_binding`](crate::ClientOptions::channel_binding).
//!
//! What `prefer` does not protect: a relay that removes *every* mechanism
//! that can bind from the offer. A framework that allows both SCRAM-SHA-256
//! and CRAM-MD5 then runs CRAM-MD5, which has nothing to bind to, and the
//! relay passes it on: the client cannot tell such an offer from a master
//! that only does CRAM-MD5. Allow only mechanisms that bind, or set `require`
//! on the side that must not be fooled (a test,
//! `a_relay_that_strips_scram_downgrades_prefer_to_cram_md5_but_not_require`,
//! shows both).
//!
//! Mechanism lists name the mechanism, and binding adds its variant:
//!
//! ```text
//! # master.conf, with LIBPROCESS_SSL_ENABLED=true and certificates in the environment
//! mech_list: SCRAM-SHA-256
//! credentials: /etc/mesos/credentials.json
//! channel_binding: require
//! ```
//!
//! ```
//! use cyrus_sasl_mesos::{ChannelBindingPolicy, ClientOptions};
//!
//! // The framework's side of the same: SCRAM-SHA-256, bound (it runs SCRAM-SHA-256-PLUS).
//! let client = ClientOptions {
//!     mechanisms: vec!["SCRAM-SHA-256".to_owned()],
//!     channel_binding: "require".parse::<ChannelBindingPolicy>()?,
//!     ..ClientOptions::default()
//! };
//! assert_eq!(client.channel_binding, ChannelBindingPolicy::Require);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! What binding proves: the peer that knew the secret is the one at the other
//! end of this TLS connection, not someone relaying it. What it does not:
//! anything without TLS, or with a mechanism that cannot bind. CRAM-MD5, the
//! only mechanism of Mesos, stays relayable; choose SCRAM to bind.
//! [`AuthenticationRecord::channel_bound`](crate::AuthenticationRecord::channel_bound)
//! says whether an attempt was bound.
//!
//! ## EXTERNAL from client certificates
//!
//! With `LIBPROCESS_SSL_REQUIRE_CLIENT_CERT`, the master can take a
//! framework's principal from the certificate it verified, and let SASL
//! `EXTERNAL` authenticate the framework as it, without a secret: the config
//! key `external_principal: common_name` (or `dns_name`, the one DNS subject
//! alternative name; [`MasterOptions::external`](crate::MasterOptions::external)
//! in code), and `EXTERNAL` in `mech_list`. A certificate the rule finds no
//! principal in gives none, and `EXTERNAL` is then not offered to that peer.
//! The framework allows `EXTERNAL` only and has no secret
//! ([`Credential::external`](crate::Credential::external)); it asks to act as
//! its principal, which the master accepts only if the certificate says so.
//!
//! ```text
//! # master.conf
//! mech_list: EXTERNAL
//! external_principal: common_name
//! credentials: /etc/mesos/credentials.json
//! ```
//!
//! ```no_run
//! use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions, Upid};
//! use cyrus_sasl_mesos::{AuthenticateOptions, ClientOptions, Credential, authenticate};
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // LIBPROCESS_SSL_* name this framework's certificate, whose common name is `client`.
//! let endpoint = Endpoint::bind(EndpointOptions::from_env()?).await?;
//! let scheduler = endpoint.register("scheduler-1")?;
//! let master: Upid = "master@10.0.0.1:5050".parse()?;
//! let client = ClientOptions { mechanisms: vec!["EXTERNAL".to_owned()], ..ClientOptions::default() };
//! let options = AuthenticateOptions { client, ..AuthenticateOptions::default() };
//! authenticate(&endpoint, &master, scheduler.upid(), Credential::external("client"), &options).await?;
//! # Ok(()) }
//! ```

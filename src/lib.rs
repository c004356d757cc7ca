//! Safe bindings to Cyrus SASL (`libsasl2`): SASL servers and clients with the
//! mechanism chosen by configuration (CRAM-MD5, SCRAM, DIGEST-MD5, PLAIN,
//! GSSAPI), a security layer, and credential stores (sasldb, or in memory).
//!
//! # A complete exchange
//!
//! A server checks CRAM-MD5 against a sasldb; the client picks a mechanism from
//! what the server offers. Over a network each message is one frame of your
//! protocol; here they are passed directly.
//!
//! ```
//! use cyrus_sasl::{Client, ClientStep, Config, Credentials, Sasldb, Secret, Server, ServerStep};
//!
//! let dir = tempfile::tempdir()?;
//! let db = Sasldb::new(dir.path().join("sasldb2"), "EXAMPLE.COM")?;
//! db.set_password("alice", &Secret::from("s3cret"))?;
//!
//! let config = db.config().with("mech_list", "CRAM-MD5")?;
//! let mut server = Server::new("myservice", "host.example.com", Some("EXAMPLE.COM"), &config)?;
//! let mut client = Client::new("myservice", "host.example.com", Credentials::new("alice", "s3cret"), &Config::new())?;
//!
//! let start = client.start(&server.mechanisms()?.join(" "))?;
//! let (mechanism, initial) = (start.mechanism.to_owned(), start.initial_response.map(<[u8]>::to_vec));
//! let mut step = server.start(&mechanism, initial.as_deref())?;
//! let identity = loop {
//!     match step {
//!         ServerStep::Continue(challenge) => {
//!             let challenge = challenge.to_vec();
//!             let response = match client.step(&challenge)? {
//!                 ClientStep::Continue(r) => r.to_vec(),
//!                 ClientStep::Complete(r) => r.unwrap_or_default().to_vec(),
//!             };
//!             step = server.step(&response)?;
//!         }
//!         ServerStep::Authenticated { identity, .. } => break identity,
//!         ServerStep::Rejected(rejection) => panic!("{rejection}"),
//!     }
//! };
//! assert_eq!(identity.user(), "alice@EXAMPLE.COM");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Where things are
//!
//! | You want | Use |
//! |---|---|
//! | to verify a peer | [`Server`]: [`Server::start`] and [`Server::step`] give a [`ServerStep`]; a wrong password and an unknown user are the same [`ServerStep::Rejected`] to the peer, told apart for the server by its [`Rejection`] |
//! | to prove who you are | [`Client`] with [`Credentials`] (or [`Credentials::kerberos`]) |
//! | to choose mechanisms and stores by configuration | [`Config`], Cyrus's own `key: value` format ([`Config::from_file`]); unknown keys are errors ([`options`]) |
//! | users in a sasldb | [`Sasldb`] (what `saslpasswd2` writes) |
//! | users in memory | [`CredentialStore`], attached with [`Config::with_credential_store`] |
//! | an encrypted channel after GSSAPI or DIGEST-MD5 | [`SecurityLayer`], [`SecureStream`] |
//! | to bind the exchange to a TLS connection | [`ChannelBinding`] (from rustls with the feature `rustls`), [`Server::set_channel_binding`], [`Client::set_channel_binding`]; a relay ends in [`RejectReason::ChannelBindingMismatch`] |
//! | a Mesos framework, agent or master | the separate crates `libprocess` (Mesos's message wire) and `cyrus-sasl-mesos` (Mesos authentication on it), built on this one |
//! | what this crate does not wrap | [`sys`], the raw bindings |
//! | your own protocol's server and client, no Mesos | [`guide::line_protocol`]: an `AUTH` exchange over TCP, then a [`SecureStream`] |
//! | async servers | [`guide::async_servers`]: which steps block; `AsyncServer`/`AsyncClient` (feature `tokio`) |
//! | the long explanations | the [`guide`]: configuration, realms, stores, threads and panics, the security layer, Kerberos, proxy authorization |
//!
//! Every failure that is not a verdict is an [`Error`], carrying libsasl2's code
//! and the detail it gave for that call; its message says what to do. A panic
//! in a callback you supplied is caught before it reaches C and resumed from
//! the call that ran it.
//!
//! # Features
//!
//! The default is the binding alone: no async runtime, no tool.
//!
#![doc = document_features::document_features!()]
//!
//! # Building
//!
//! `sasl-sys` finds libsasl2 (2.1.26 or newer) with pkg-config and generates the
//! bindings with bindgen; without libclang it uses the committed bindings, for
//! the target and header version they were made for only. `SASL2_DIR`,
//! `SASL2_LIB_DIR`, `SASL2_INCLUDE_DIR`, `SASL2_STATIC`, `SASL2_NO_PKG_CONFIG`
//! and `SASL2_NO_BINDGEN` change discovery. At run time, mechanisms are plugins:
//! Debian's `libsasl2-modules` (CRAM-MD5, DIGEST-MD5, SCRAM, PLAIN),
//! `libsasl2-modules-db` (sasldb) and `libsasl2-modules-gssapi-mit` (GSSAPI).
#![cfg_attr(docsrs, feature(doc_cfg))]

// The README's examples run as doctests too.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

#[cfg(feature = "tokio")]
mod async_secure_stream;
#[cfg(feature = "tokio")]
mod async_steps;
mod channel_binding;
mod client;
mod config;
mod credentials;
mod error;
mod ffi;
mod gss;
pub mod guide;
mod hooks;
mod kerberos;
mod library;
pub mod options;
mod panic;
mod rejection;
mod sasldb;
mod secret;
mod secure_framing;
mod secure_stream;
mod security;
mod security_layer;
mod server;
mod server_builder;
#[cfg(feature = "rustls")]
mod tls_binding;
mod too_weak;
mod warning;

#[cfg(feature = "tokio")]
pub use async_secure_stream::AsyncSecureStream;
#[cfg(feature = "tokio")]
pub use async_steps::{AsyncClient, AsyncServer};
pub use channel_binding::ChannelBinding;
pub use client::{Client, ClientStart, ClientStep, Credentials, OwnedClientStart, OwnedClientStep};
pub use config::Config;
pub use credentials::{CredentialStore, MAX_SECRET_LEN, MEMORY_AUXPROP_PLUGIN};
pub use error::{Code, ConfigError, ConfigErrorKind, Error, KerberosProblem, Result};
pub use ffi::LOG_TARGET;
pub use hooks::{CanonUserFn, ProxyPolicyFn, ProxyRequest};
pub use library::{DEFAULT_APP_NAME, init, installed_mechanisms, runtime_version};
pub use rejection::{RejectReason, Rejection};
pub use sasldb::Sasldb;
pub use secret::Secret;
pub use secure_stream::SecureStream;
pub use security::SecurityProperties;
pub use security_layer::SecurityLayer;
pub use server::{Identity, OwnedServerStep, Server, ServerStep};
pub use server_builder::ServerBuilder;
pub use warning::Warning;

/// The raw bindings, for what this crate does not wrap.
pub use sasl_sys as sys;

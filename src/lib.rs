#![doc = include_str!("../README.md")]

#[cfg(feature = "tokio")]
mod async_secure_stream;
mod auxprop;
mod callbacks;
mod client;
mod config;
mod connection;
mod credentials;
mod error;
mod gss;
mod kerberos;
mod library;
#[cfg(feature = "mesos")]
pub mod mesos;
pub mod options;
mod sasldb;
mod secret;
mod secure_framing;
mod secure_stream;
mod security;
mod security_layer;
mod server;

#[cfg(feature = "tokio")]
pub use async_secure_stream::AsyncSecureStream;
pub use callbacks::{CanonUserFn, LOG_TARGET};
pub use client::{Client, ClientStart, ClientStep, Credentials};
pub use config::{Config, ConfigError, ConfigErrorKind};
pub use credentials::{CredentialStore, MEMORY_AUXPROP_PLUGIN};
pub use error::{Code, Error, Result};
pub use kerberos::KerberosProblem;
pub use library::{DEFAULT_APP_NAME, init, installed_mechanisms, runtime_version};
pub use sasldb::Sasldb;
pub use secret::Secret;
pub use secure_stream::SecureStream;
pub use security::SecurityProperties;
pub use security_layer::SecurityLayer;
pub use server::{Identity, Server, ServerStep};

/// The raw bindings, for what this crate does not wrap.
pub use sasl_sys as sys;

#![doc = include_str!("../README.md")]

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
pub mod mesos;
mod sasldb;
mod secret;
mod security;
mod server;

pub use callbacks::{CanonUserFn, LOG_TARGET};
pub use client::{Client, ClientStart, ClientStep, Credentials};
pub use config::{Config, ConfigError, ConfigErrorKind};
pub use credentials::{CredentialStore, MEMORY_AUXPROP_PLUGIN};
pub use error::{Code, Error, Result};
pub use kerberos::KerberosProblem;
pub use library::{DEFAULT_APP_NAME, init, installed_mechanisms, runtime_version};
pub use sasldb::Sasldb;
pub use secret::Secret;
pub use security::SecurityProperties;
pub use server::{Identity, Server, ServerStep};

/// The raw bindings, for what this crate does not wrap.
pub use sasl_sys as sys;

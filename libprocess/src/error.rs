//! The crate's errors: [`Error`], what every fallible call here can be turned
//! into with `?`, and the small typed errors a caller matches on
//! ([`SendError`], [`RegisterError`], [`EnvError`]; [`UpidError`] and
//! [`RequestError`] live beside the parsers that make them).
//!
//! Every `Display` says what went wrong and what to do; an underlying cause is
//! never repeated in it, only returned by `source()`, so printing the chain
//! prints each cause once.

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use crate::codec::RequestError;
use crate::peer_certificate::CertificatePrincipalError;
use crate::upid::{Upid, UpidError};

/// Anything this crate can fail with: binding an endpoint (the address, the
/// TLS files), and each of the small typed errors, so that code using several
/// parts of the crate can propagate with one `?`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listener could not be bound.
    #[error(
        "cannot listen on {addr}: choose a free port (LIBPROCESS_PORT; 0 picks one) \
         and an address of this host (LIBPROCESS_IP)"
    )]
    Listen {
        /// The address asked for.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The listener is bound to `0.0.0.0` or `::`, which cannot go into a UPID.
    #[error(
        "the endpoint listens on {addr}, an address peers cannot send to: \
         set the address to advertise (LIBPROCESS_ADVERTISE_IP, EndpointOptions::advertise_ip)"
    )]
    NoAdvertiseIp {
        /// The bound address.
        addr: SocketAddr,
    },
    /// A certificate file could not be read as PEM.
    #[error(
        "cannot read the PEM certificates in {path}: check LIBPROCESS_SSL_CERT_FILE, \
         LIBPROCESS_SSL_CA_FILE and LIBPROCESS_SSL_CA_DIR"
    )]
    TlsCertificateFile {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// A certificate file holds no certificate.
    #[error("{path} holds no PEM certificate: give a file with at least one BEGIN CERTIFICATE block")]
    TlsNoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// The key file holds no usable private key.
    #[error(
        "cannot read a private key from {path}: LIBPROCESS_SSL_KEY_FILE must be the PEM key \
         (PKCS#8, PKCS#1 or SEC1) of LIBPROCESS_SSL_CERT_FILE"
    )]
    TlsKeyFile {
        /// The file.
        path: PathBuf,
        /// What the PEM reader said.
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    /// The CA directory cannot be listed.
    #[error("cannot list the CA directory {path}: check LIBPROCESS_SSL_CA_DIR")]
    TlsCaDir {
        /// The directory.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// A CA certificate cannot be used as a trust anchor.
    #[error("{path} holds a CA certificate that cannot be trusted as one: give the CA's own certificate")]
    TlsCaCertificate {
        /// The file.
        path: PathBuf,
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
    /// Certificate verification is on and no CA is given.
    #[error(
        "TLS certificate verification needs a CA: set LIBPROCESS_SSL_CA_FILE or LIBPROCESS_SSL_CA_DIR \
         (or LIBPROCESS_SSL_VERIFY_SERVER_CERT=false to accept any server certificate, as Mesos does)"
    )]
    TlsNoCa,
    /// The certificate, key and CA do not make a rustls configuration.
    #[error(
        "the TLS certificate, key and CA make no valid configuration: check that \
         LIBPROCESS_SSL_KEY_FILE is the key of LIBPROCESS_SSL_CERT_FILE"
    )]
    TlsConfig {
        /// What rustls said.
        #[source]
        source: rustls::Error,
    },
    /// The client-certificate verifier cannot be built from the CA.
    #[error(
        "cannot verify client certificates with the CA given: check LIBPROCESS_SSL_CA_FILE and LIBPROCESS_SSL_CA_DIR"
    )]
    TlsClientVerifier {
        /// What rustls said.
        #[source]
        source: rustls::server::VerifierBuilderError,
    },
    /// The runtime of a [`BlockingEndpoint`](crate::BlockingEndpoint) could not start.
    #[error("cannot start the blocking endpoint's runtime thread: the process may be out of threads or memory")]
    Runtime(#[source] io::Error),
    /// See [`EnvError`].
    #[error(transparent)]
    Env(#[from] EnvError),
    /// See [`UpidError`].
    #[error(transparent)]
    Upid(#[from] UpidError),
    /// See [`RegisterError`].
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// See [`SendError`].
    #[error(transparent)]
    Send(#[from] SendError),
    /// See [`RequestError`].
    #[error(transparent)]
    Request(#[from] RequestError),
    /// See [`CertificatePrincipalError`].
    #[error(transparent)]
    CertificatePrincipal(#[from] CertificatePrincipalError),
}

impl From<Error> for io::Error {
    /// For callers that report everything as `io::Error`: the kind of the
    /// underlying system error where there is one.
    fn from(error: Error) -> io::Error {
        let kind = match &error {
            Error::Listen { source, .. } | Error::TlsCaDir { source, .. } | Error::Runtime(source) => source.kind(),
            Error::NoAdvertiseIp { .. } | Error::Env(_) | Error::Upid(_) => io::ErrorKind::InvalidInput,
            Error::TlsCertificateFile { .. }
            | Error::TlsNoCertificate { .. }
            | Error::TlsKeyFile { .. }
            | Error::TlsCaCertificate { .. }
            | Error::TlsNoCa
            | Error::TlsConfig { .. }
            | Error::TlsClientVerifier { .. } => io::ErrorKind::InvalidInput,
            _ => io::ErrorKind::Other,
        };
        io::Error::new(kind, error)
    }
}

/// An environment variable that holds no valid value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct EnvError {
    /// The variable, e.g. `LIBPROCESS_PORT`.
    pub var: &'static str,
    /// Its value (at most 64 characters of it); empty when it is unset but needed.
    pub value: String,
    /// What it should be.
    pub expected: &'static str,
}

impl EnvError {
    pub(crate) fn new(var: &'static str, value: &str, expected: &'static str) -> Self {
        EnvError { var, value: value.chars().take(64).collect(), expected }
    }
}

impl fmt::Display for EnvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let EnvError { var, value, expected } = self;
        if value.is_empty() {
            write!(f, "{var} is not set: set it to {expected}")
        } else {
            write!(f, "{var}={value:?} is not {expected}: give a valid one, or unset it")
        }
    }
}

/// Why a message could not be sent. Each says what to check; the cause, where
/// there is one, is its `source()`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The message name is empty or has whitespace, control characters, `?` or `#`.
    #[error(
        "{0:?} is not a valid message name: use a non-empty name without whitespace, \
         control characters, '?' or '#' (a protobuf full name is one)"
    )]
    BadName(String),
    /// The destination refused or failed the connection (at once for a closed port).
    #[error("cannot connect to {addr}: is the destination's endpoint listening at the address in its UPID?")]
    Connect {
        /// The destination address.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The TLS handshake with the destination failed (this endpoint has TLS on).
    #[error(
        "cannot connect to {addr}: the TLS handshake failed; both ends need LIBPROCESS_SSL_ENABLED, each must \
         trust the other's CA (LIBPROCESS_SSL_CA_FILE), and the server's certificate must name {server_name} \
         (the host name the destination was given by, else its IP: a certificate with DNS names only needs \
         the destination named by one of them, Endpoint::resolve_upid)"
    )]
    Tls {
        /// The destination address.
        addr: SocketAddr,
        /// The name its certificate was checked against: the host name it was
        /// given by ([`Endpoint::set_tls_server_name`](crate::Endpoint::set_tls_server_name)),
        /// else its IP. (Boxed text: it keeps the error value small.)
        server_name: Box<str>,
        /// What rustls said (wrapped by tokio-rustls).
        #[source]
        source: io::Error,
    },
    /// Writing the message or reading its answer failed.
    #[error("the connection to {addr} broke while sending: send again (a new connection is opened)")]
    Io {
        /// The destination address.
        addr: SocketAddr,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// No connection or no answer within [`EndpointOptions::connect_timeout`] or
    /// [`EndpointOptions::response_timeout`](crate::EndpointOptions::response_timeout),
    /// or the whole send (its wait behind earlier messages to the same address
    /// included) not done within their sum.
    ///
    /// [`EndpointOptions::connect_timeout`]: crate::EndpointOptions::connect_timeout
    #[error(
        "no answer from {addr} in time: is the address reachable? \
         (the limits are EndpointOptions::connect_timeout and response_timeout)"
    )]
    Timeout {
        /// The destination address.
        addr: SocketAddr,
    },
    /// The answer was not HTTP, or the peer closed the connection without one.
    #[error(
        "{addr} did not answer with HTTP: is it a libprocess endpoint? \
         (is it a TLS endpoint? set LIBPROCESS_SSL_ENABLED)"
    )]
    BadResponse {
        /// The destination address.
        addr: SocketAddr,
    },
    /// A plaintext message was answered with TLS: the destination requires TLS.
    #[error(
        "{addr} answered in TLS: it is a TLS endpoint; turn TLS on here too \
         (LIBPROCESS_SSL_ENABLED=true, or EndpointOptions::tls)"
    )]
    TlsRequired {
        /// The destination address.
        addr: SocketAddr,
    },
    /// The destination has no kept connection, and opening one would pass
    /// [`EndpointOptions::max_outbound_connections`](crate::EndpointOptions::max_outbound_connections)
    /// (or its per-IP limit) while every kept connection is in use. Nothing
    /// was sent.
    #[error(
        "not sending to {addr}: {limit} outbound connections{to_ip} are open and all in use \
         (EndpointOptions::max_outbound_connections{per_ip}); send again later",
        to_ip = if *per_ip { format!(" to {}", addr.ip()) } else { String::new() },
        per_ip = if *per_ip { "_per_ip" } else { "" }
    )]
    OutboundLimit {
        /// The destination address.
        addr: SocketAddr,
        /// The limit reached.
        limit: usize,
        /// Whether it is the limit per destination IP (or the total).
        per_ip: bool,
    },
    /// [`EndpointOptions::outbound_queue`](crate::EndpointOptions::outbound_queue)
    /// messages already wait to go to this address (its peer is slow or does
    /// not answer). This one was dropped, not queued.
    #[error(
        "not sending to {addr}: {limit} messages already wait to go there \
         (EndpointOptions::outbound_queue); is the destination answering?"
    )]
    QueueFull {
        /// The destination address.
        addr: SocketAddr,
        /// The limit reached.
        limit: usize,
    },
    /// `404`: the destination has no process with that id (for example a session
    /// that has ended). libprocess itself ignores this answer; here it is an error
    /// so a caller can tell.
    #[error("{to} has no such process (404): it has ended, or the id is wrong; send to a UPID the peer gave")]
    UnknownProcess {
        /// The destination.
        to: Upid,
    },
    /// Any other answer than `202 Accepted` (for example `503` from this crate's
    /// endpoint when the process's queue is full).
    #[error("{to} answered {status}, not 202 Accepted (503: its queue is full; send again later)")]
    Status {
        /// The destination.
        to: Upid,
        /// The HTTP status.
        status: u16,
    },
}

/// Why a process could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegisterError {
    /// Not a valid process id.
    #[error(transparent)]
    BadId(#[from] UpidError),
    /// A live process already has this id.
    #[error(
        "a process with id {0:?} already exists on this endpoint: drop or unregister it first, \
         or let spawn_process number the ids"
    )]
    Taken(String),
}

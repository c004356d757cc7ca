//! Apache Mesos's libprocess message wire: [`Upid`]s, the HTTP/1.1 request
//! codec, a tokio [`Endpoint`] with optional TLS (rustls), and a
//! [`BlockingEndpoint`] for code that is not async. As far as we know it is the
//! only Rust crate that speaks libprocess, the layer every Mesos master, agent,
//! scheduler driver and executor sends its messages over.
//!
//! The wire carries any protobuf message (`prost::Message` + `prost::Name`)
//! between processes; it knows nothing of SASL or of Mesos's own message types.
//! Authentication, registration and status updates are all just messages here.
//!
//! # Example: one message between two endpoints
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), libprocess::Error> {
//! use libprocess::{Endpoint, EndpointOptions};
//! use prost::Message as _;
//!
//! /// Any protobuf message; `prost::Name` gives the name it travels under.
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct Ping {
//!     #[prost(string, tag = "1")]
//!     text: String,
//! }
//! impl prost::Name for Ping {
//!     const NAME: &'static str = "Ping";
//!     const PACKAGE: &'static str = "example";
//! }
//!
//! // Two libprocess instances (on 127.0.0.1, each on a free port).
//! let a = Endpoint::bind(EndpointOptions::default()).await?;
//! let b = Endpoint::bind(EndpointOptions::default()).await?;
//! let sender = a.spawn_process("pinger")?; // pinger(1)@127.0.0.1:PORT
//! let mut receiver = b.register("ponger")?; // ponger@127.0.0.1:PORT
//!
//! sender.send_message(receiver.upid(), &Ping { text: "hello".into() }).await?;
//! let envelope = receiver.recv().await.expect("delivered");
//! assert_eq!(envelope.name, "example.Ping");
//! assert_eq!(&envelope.from, sender.upid());
//! assert_eq!(Ping::decode(&envelope.body[..]).unwrap().text, "hello");
//! # Ok(()) }
//! ```
//!
//! A reply goes back the same way: `receiver.send_message(&envelope.from, ...)`
//! opens `b`'s own connection to the address in the sender's UPID.
//!
//! # The wire
//!
//! Each message is one HTTP/1.1 request from one process (a [`Upid`],
//! `id@ip:port`) to another:
//!
//! ```text
//! POST /{to id}/{message name} HTTP/1.1          e.g. /master/mesos.internal.AuthenticateMessage
//! User-Agent: libprocess/{from UPID}
//! Libprocess-From: {from UPID}
//! Connection: Keep-Alive
//! Host:
//! Transfer-Encoding: chunked                      (absent, with no Content-Length, for an empty body)
//!
//! {one chunk: the protobuf bytes}
//! ```
//!
//! answered `HTTP/1.1 202 Accepted` (with a `Date` and `Content-Length: 0`) on
//! the same connection. What real Apache Mesos 1.11 processes do, and this crate
//! does too:
//!
//! - Each side opens its **own** connection to the address in the other side's
//!   UPID, keeps it and reuses it for all its messages there; a connection's
//!   reverse direction carries only the `202` answers. So a reply to a message
//!   goes out on a new connection to the sender's *advertised* address, and every
//!   side, framework or master, listens.
//! - The receiver takes the sender from `Libprocess-From`, or from `User-Agent:
//!   libprocess/...` when that is the only one; it takes a body with
//!   `Content-Length` as well as a chunked one, and answers `404` for an unknown
//!   process id.
//! - libprocess trusts the sender UPID a request claims. [`Envelope::peer_addr`]
//!   carries the TCP peer, so a receiver can at least check the IP.
//!
//! [`RequestDecoder`] is the sans-IO request parser (heads parsed by
//! `httparse`); [`encode_request`] and [`encode_response`] write the bytes.
//!
//! # Addresses
//!
//! [`EndpointOptions::from_env`] reads libprocess's variables: `LIBPROCESS_IP`
//! and `LIBPROCESS_PORT` (where to listen; default `127.0.0.1` and a free
//! port), `LIBPROCESS_ADVERTISE_IP` and `LIBPROCESS_ADVERTISE_PORT` (the address
//! put into this endpoint's UPIDs, for peers that reach it through NAT or a
//! proxy; required when listening on `0.0.0.0`).
//!
//! # TLS
//!
//! Off by default, as in Mesos. `LIBPROCESS_SSL_ENABLED=true` turns it on for
//! every connection, in and out ([`TlsOptions`] is the same in code):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `LIBPROCESS_SSL_ENABLED` | TLS on every connection | `false` |
//! | `LIBPROCESS_SSL_CERT_FILE` | PEM chain, leaf first: the server certificate, and the client certificate this endpoint presents | required |
//! | `LIBPROCESS_SSL_KEY_FILE` | its PEM private key | required |
//! | `LIBPROCESS_SSL_CA_FILE`, `LIBPROCESS_SSL_CA_DIR` | trusted CA certificates (a file; a directory of PEM files) | none |
//! | `LIBPROCESS_SSL_VERIFY_SERVER_CERT` (formerly `..._VERIFY_CERT`) | verify the certificate of every server connected to | **`true`** (Mesos: `false`) |
//! | `LIBPROCESS_SSL_REQUIRE_CLIENT_CERT` (formerly `..._REQUIRE_CERT`) | refuse clients without a certificate from the CA; implies verifying servers | `false` |
//! | `LIBPROCESS_SSL_SUPPORT_DOWNGRADE` | also serve peers that do not start TLS, in plaintext | `false` |
//! | `LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME` | `openssl` only | `openssl` |
//!
//! Booleans are `true`, `false`, `1` or `0`. Where this differs from Mesos, and why:
//!
//! - **Server certificates are verified by default.** Mesos's default takes any
//!   server certificate, which keeps out a listener but not a machine in the
//!   middle. Here a CA is then required (no system trust store is read); set
//!   `LIBPROCESS_SSL_VERIFY_SERVER_CERT=false` for Mesos's behaviour, logged as a
//!   warning.
//! - **Host names.** Mesos's `openssl` scheme: the certificate of a server
//!   must name the destination as the program named it. A UPID written with a
//!   host name, `master@mesos-1.example:5050`, is resolved by
//!   [`Endpoint::resolve_upid`]: the connection goes to the name's IP and the
//!   certificate is checked against the name (its DNS subject alternative
//!   names), so certificates that carry only host names work;
//!   [`Endpoint::set_tls_server_name`] does the same for an address resolved
//!   elsewhere. Any other destination is checked against the IP of its UPID
//!   (an IP subject alternative name). A failed check is
//!   [`SendError::Tls`], naming the name checked. Mesos's default `legacy`
//!   scheme trusts reverse DNS and is refused with an error rather than
//!   silently replaced.
//! - A client certificate, when one is presented and a CA is set, is always
//!   verified, required or not.
//! - Downgrade looks at a connection's first bytes: a TLS handshake record is
//!   served in TLS, anything else in plaintext ([`classify_first_bytes`]). It is
//!   logged as a warning: plaintext peers bypass every certificate requirement.
//! - TLS 1.2 and 1.3 only.
//!
//! A message that came over TLS carries its [`TlsSession`]: the `tls-exporter`
//! channel binding (RFC 9266), the peer's verified certificate and the cipher's
//! strength, for a SASL layer to bind to ([`tls_exporter`],
//! [`tls_server_end_point`], [`client_certificate_principal`]).
//!
//! The cryptography is rustls's: the process-wide provider when the program
//! installed one (`rustls::crypto::CryptoProvider::install_default`), otherwise
//! *ring*, the one this crate's rustls features enable. A program that enables a
//! second rustls provider elsewhere must install one before binding a TLS endpoint.
//!
//! # Limits
//!
//! Mesos's libprocess bounds little; an endpoint here bounds each peer. The
//! fields of [`EndpointOptions`] and [`Limits`], with their defaults:
//!
//! | limit | default |
//! |---|---|
//! | request head ([`Limits::max_head_bytes`]) | 16 KiB |
//! | header fields ([`Limits::max_headers`], at most [`MAX_HEADERS`]) | 32 |
//! | message body ([`Limits::max_body_bytes`]) | 4 MiB |
//! | message body for one process ([`Process::set_max_body_bytes`]) | the endpoint's |
//! | a whole request, once it started ([`EndpointOptions::request_deadline`]) | 5 s |
//! | an idle inbound connection ([`EndpointOptions::idle_timeout`]) | 5 min |
//! | inbound connections open at once ([`EndpointOptions::max_connections`]) | 1024 |
//! | messages waiting for one process ([`EndpointOptions::queue_capacity`]) | 1024 |
//! | inbound connections from one IP ([`EndpointOptions::max_connections_per_ip`]) | 64 |
//! | connecting, and getting an answer ([`EndpointOptions::connect_timeout`], [`EndpointOptions::response_timeout`]) | 5 s each; a whole send, queueing included, their sum |
//! | messages waiting to go to one address ([`EndpointOptions::outbound_queue`]) | 128 |
//! | kept outbound connections ([`EndpointOptions::max_outbound_connections`]) | 1024 |
//! | kept outbound connections to one IP ([`EndpointOptions::max_outbound_connections_per_ip`]) | 64 |
//! | an unused kept outbound connection ([`EndpointOptions::idle_timeout`]) | 5 min |
//!
//! Fixed: a process id is at most [`MAX_ID_LEN`] bytes, a message name 1024.
//! A request over a limit is refused with its `4xx` status as soon as the limit
//! is passed (a declared body before it arrives) and its connection closed; a
//! message for a full queue is answered `503` and dropped, never queued without
//! bound. Outbound, a message beyond its address's queue fails at once
//! ([`SendError::QueueFull`]), and one that would open a connection past a cap
//! while every kept one is in use fails at once too
//! ([`SendError::OutboundLimit`]); otherwise the kept connection unused longest
//! is closed to make room.
//!
//! # Errors
//!
//! [`Error`] is anything this crate can fail with; the small typed errors
//! ([`SendError`], [`RegisterError`], [`UpidError`], [`EnvError`],
//! [`RequestError`], [`CertificatePrincipalError`]) are what a caller matches
//! on, and each converts into it. Every message says what to do; the cause of
//! an error is its `source()`, never repeated in its text.
//!
//! # Logging
//!
//! Through the `log` crate, under the target `libprocess` ([`LOG_TARGET`]).

#![forbid(unsafe_code)]

mod blocking;
mod channel_binding;
mod codec;
mod endpoint;
mod env;
mod error;
mod peer_certificate;
mod tls;
mod upid;

pub use blocking::{BlockingEndpoint, BlockingProcess};
pub use channel_binding::{TLS_EXPORTER, TLS_SERVER_END_POINT, tls_exporter, tls_server_end_point};
pub use codec::{Limits, MAX_HEADERS, Request, RequestDecoder, RequestError, encode_request, encode_response};
pub use endpoint::{
    DEFAULT_MAX_CONNECTIONS_PER_IP, DEFAULT_MAX_OUTBOUND_CONNECTIONS, DEFAULT_MAX_OUTBOUND_CONNECTIONS_PER_IP,
    DEFAULT_OUTBOUND_QUEUE, Endpoint, EndpointOptions, Envelope, Process,
};
pub use env::LOG_TARGET;
pub use error::{EnvError, Error, RegisterError, SendError};
pub use peer_certificate::{CertificatePrincipalError, PrincipalSource, client_certificate_principal};
pub use tls::{FirstBytes, HostnameValidation, TlsOptions, TlsSession, classify_first_bytes};
pub use upid::{MAX_ID_LEN, Upid, UpidError};

/// The README's example, compiled and run as a doctest so that it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

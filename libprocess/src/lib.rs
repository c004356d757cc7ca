//! libprocess, the message layer every Mesos process speaks: each message is an
//! HTTP/1.1 request from one process (a [`Upid`], `id@ip:port`) to another.
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
//! answered `HTTP/1.1 202 Accepted` on the same connection. Facts observed
//! between two real Apache Mesos 1.11 processes (`../shared/mesos-peer/wire-capture.txt`)
//! and kept here:
//!
//! - Each side opens its **own** connection to the address in the other side's
//!   UPID, keeps it and reuses it for all its messages there; a connection's
//!   reverse direction carries only the `202` answers. So a reply to a message
//!   goes out on a new connection to the sender's *advertised* address, and every
//!   side, framework or master, listens.
//! - The receiver takes the sender from `Libprocess-From`, or from `User-Agent:
//!   libprocess/...` when that is the only one; a body with `Content-Length` as
//!   well as chunked; `404` for an unknown process id.
//! - libprocess trusts the sender UPID a request claims. [`Envelope::peer_addr`]
//!   carries the TCP peer, so a receiver can at least check the IP.
//!
//! The wire carries any protobuf message (`prost::Message`); it knows nothing
//! of SASL or of Mesos's own message types. [`Endpoint`] is one libprocess
//! instance (tokio underneath), [`BlockingEndpoint`] the same for blocking code, [`RequestDecoder`] the sans-IO request parser
//! (HTTP heads by `httparse`).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use libprocess::{Endpoint, EndpointOptions};
//!
//! /// Any protobuf message; this one is Mesos's `AuthenticateMessage`.
//! #[derive(Clone, PartialEq, prost::Message)]
//! struct AuthenticateMessage {
//!     #[prost(string, required, tag = "1")]
//!     pid: String,
//! }
//! impl prost::Name for AuthenticateMessage {
//!     const NAME: &'static str = "AuthenticateMessage";
//!     const PACKAGE: &'static str = "mesos.internal";
//! }
//!
//! let master_side = Endpoint::bind(EndpointOptions::default()).await?;
//! let mut master = master_side.register("master")?;
//! let framework_side = Endpoint::bind(EndpointOptions::default()).await?;
//! let authenticatee = framework_side.spawn_process("crammd5-authenticatee")?;
//! assert_eq!(authenticatee.upid().id(), "crammd5-authenticatee(1)");
//!
//! let pid = framework_side.upid("scheduler-1")?.to_string();
//! authenticatee.send_message(master.upid(), &AuthenticateMessage { pid }).await?;
//! let envelope = master.recv().await.expect("delivered");
//! assert_eq!(envelope.name, "mesos.internal.AuthenticateMessage");
//! assert_eq!(&envelope.from, authenticatee.upid());
//! # Ok(()) }
//! ```

mod blocking;
mod channel_binding;
mod codec;
mod endpoint;
mod env;
mod peer_certificate;
mod tls;
mod upid;

pub use blocking::{BlockingEndpoint, BlockingProcess};
pub use channel_binding::{TLS_EXPORTER, TLS_SERVER_END_POINT, tls_exporter, tls_server_end_point};
pub use codec::{Limits, MAX_HEADERS, Request, RequestDecoder, RequestError, encode_request, encode_response};
pub use endpoint::{Endpoint, EndpointOptions, Envelope, Process, RegisterError, SendError};
pub use env::{EnvError, LOG_TARGET};
pub use peer_certificate::{CertificatePrincipalError, PrincipalSource, client_certificate_principal};
pub use tls::{FirstBytes, HostnameValidation, TlsOptions, TlsSession, classify_first_bytes};
pub use upid::{MAX_ID_LEN, Upid, UpidError};

//! [`ChannelBinding`]: the data that ties a SASL exchange to the secure channel
//! under it (RFC 5056), for the `*-PLUS` mechanisms (`SCRAM-SHA-256-PLUS`).

use std::fmt;

/// Channel-binding data for a [`Server`](crate::Server) or
/// [`Client`](crate::Client) (`SASL_CHANNEL_BINDING`): the binding type's name
/// (`tls-exporter`, `tls-server-end-point`, `tls-unique`), its bytes for this
/// channel, and whether it is critical.
///
/// With it set, a server offers the `-PLUS` variants of mechanisms that support
/// binding, and a client picks one when the server offers it; both sides mix the
/// bytes into the exchange, so it fails unless both computed the same bytes, as
/// the two ends of one TLS session do and the two sessions of a relay do not.
/// Critical: a client refuses any mechanism without binding, and a server
/// refuses clients that do not bind.
///
/// The outcome on the server: a bound exchange authenticates with
/// [`Identity::channel_bound`](crate::Identity::channel_bound) true and
/// [`Identity::mechanism`](crate::Identity::mechanism) naming the `-PLUS`
/// variant; a mismatch (a relay) is
/// [`ServerStep::Rejected`](crate::ServerStep::Rejected) with
/// [`RejectReason::ChannelBindingMismatch`](crate::RejectReason::ChannelBindingMismatch),
/// not an error.
///
/// Where the bytes come from: the TLS session under the exchange. For
/// `tls-exporter` (RFC 9266, TLS 1.3), both ends export 32 bytes with the label
/// `EXPORTER-Channel-Binding` and an empty context; for `tls-server-end-point`
/// (RFC 5929), the hash of the server's leaf certificate. With the feature
/// `rustls`, `ChannelBinding::tls_exporter` and
/// `ChannelBinding::tls_server_end_point` compute them from a rustls
/// connection; with another TLS library, compute them there and use
/// [`ChannelBinding::new`].
///
/// `Debug` shows the name, the flag and the length, never the bytes.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ChannelBinding {
    name: String,
    data: Vec<u8>,
    critical: bool,
}

impl ChannelBinding {
    /// Binding `name` with `data`; `critical`: binding is required.
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>, critical: bool) -> Self {
        ChannelBinding { name: name.into(), data: data.into(), critical }
    }

    /// The binding type's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The binding bytes.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Whether binding is required.
    pub fn critical(&self) -> bool {
        self.critical
    }
}

impl fmt::Debug for ChannelBinding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelBinding")
            .field("name", &self.name)
            .field("len", &self.data.len())
            .field("critical", &self.critical)
            .finish()
    }
}

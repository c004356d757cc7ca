//! The server's user hooks as plain data: what a proxy policy is asked
//! ([`ProxyRequest`]) and the shapes of the two hooks ([`CanonUserFn`],
//! [`ProxyPolicyFn`]).
//!
//! They sit below both the FFI layer, whose trampolines call the hooks, and
//! [`Server`](crate::Server), which takes them; this file imports nothing
//! from the crate.

/// A user hook that canonicalises a user name on the server: it gets the name
/// the client sent and the connection's user realm, and returns the canonical
/// name, or `None` to refuse the user (the peer sees
/// [`Rejected`](crate::ServerStep::Rejected)). See
/// [`Server::with_canon_user`](crate::Server::with_canon_user).
pub type CanonUserFn = dyn Fn(&str, Option<&str>) -> Option<String> + Send + 'static;

/// A proxy policy on the server (`SASL_CB_PROXY_POLICY`): may the
/// authenticated identity act as the one it asked for? See
/// [`Server::with_proxy_policy`](crate::Server::with_proxy_policy).
pub type ProxyPolicyFn = dyn Fn(&ProxyRequest<'_>) -> bool + Send + 'static;

/// What a proxy policy ([`Server::with_proxy_policy`](crate::Server::with_proxy_policy))
/// is asked: may `authid`, whose credentials were just checked, act as `authzid`?
///
/// Both names are as libsasl2 canonicalised them (a realm appended where the
/// connection has one, as in [`Identity`](crate::Identity)). The policy is
/// asked only when the client asked for an authzid other than its authid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyRequest<'a> {
    /// Who authenticated.
    pub authid: &'a str,
    /// Whom it asks to act as.
    pub authzid: &'a str,
    /// The connection's user realm, if any.
    pub realm: Option<&'a str>,
}

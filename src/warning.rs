//! [`Warning`]: a setup that works, but probably not as its operator meant.

/// Something an operator should hear about even without a logger: returned by
/// [`Config::warnings`](crate::Config::warnings) and
/// [`Server::check`](crate::Server::check) as well as logged at `warn`. Its `Display` says
/// what happens and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// The config's `security_flags` lacks `noanonymous`: a server offers
    /// ANONYMOUS when the plugin is installed, letting anyone in.
    #[error(
        "security_flags lacks noanonymous: anyone may log in with ANONYMOUS (add noanonymous unless that is meant)"
    )]
    AllowsAnonymous,
    /// The config's `security_flags` lacks `noplaintext`: PLAIN and LOGIN may
    /// carry passwords in the clear when no security layer protects them.
    #[error(
        "security_flags lacks noplaintext: PLAIN and LOGIN may send passwords in the clear (add noplaintext \
         unless a TLS layer protects every connection)"
    )]
    AllowsPlaintext,
    /// The config's in-memory credential store holds no one: every login is refused.
    #[error("the credential store is empty: every login will be refused (load credentials into it)")]
    EmptyStore,
}

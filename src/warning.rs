//! [`Warning`]: a setup that works, but probably not as its operator meant.

use std::path::PathBuf;

/// Something an operator should hear about even without a logger: returned by
/// [`Config::warnings`](crate::Config::warnings) (and, for the Mesos master,
/// `MasterConfig::warnings`) as well as logged at `warn`. Its `Display` says
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
    #[error("the credential store is empty: every login will be refused")]
    EmptyStore,
    /// A credentials file holds no credentials: every login is refused.
    #[error("credentials file '{}' holds no credentials: every authentication attempt will be rejected", path.display())]
    EmptyCredentialsFile {
        /// The file.
        path: PathBuf,
    },
    /// Users other than the owner and group may read, write or execute a
    /// credentials file.
    #[error(
        "permissions on credentials file '{}' are too open (mode {mode:04o}): others should not be able to \
         read, write or execute it (chmod o-rwx)",
        path.display()
    )]
    CredentialsFileOpenToOthers {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
}

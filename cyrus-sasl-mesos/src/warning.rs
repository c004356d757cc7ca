//! [`Warning`]: a master setup that works, but probably not as its operator meant.

use std::path::PathBuf;

/// Something an operator should hear about even without a logger: returned by
/// [`MasterConfig::warnings`](crate::MasterConfig::warnings) as well as logged
/// at `warn`. Its `Display` says what happens and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Warning {
    /// A warning about the SASL configuration itself.
    #[error(transparent)]
    Sasl(#[from] cyrus_sasl::Warning),
    /// A credentials file holds no credentials: every login is rejected.
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

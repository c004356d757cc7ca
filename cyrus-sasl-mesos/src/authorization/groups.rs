//! Principals that name a group, and the directory that knows the members.

use std::fmt;

/// The prefix of a principal that names an LDAP group, e.g.
/// `ldap-group:cn=frameworks,ou=groups,dc=example,dc=test`.
pub const LDAP_GROUP_PREFIX: &str = "ldap-group:";

/// Who is in which group, for ACL principals written `ldap-group:DN`.
///
/// The call blocks (an implementation may do network I/O) and must return
/// within its own deadline. From async code, call
/// [`Acls::decide_with`](super::Acls::decide_with) on a blocking thread (e.g.
/// `tokio::task::spawn_blocking`).
///
/// An `Err` means "unknown": the decision fails and the request is denied.
/// An implementation must never guess `Ok(false)` or `Ok(true)` when it could
/// not find out, nor when the group does not exist: `Ok(false)` for a group
/// in a rule that denies would let its members through to a later rule.
pub trait GroupDirectory: Send + Sync {
    /// Whether `principal` is a member of the group `group_dn`.
    fn is_member(&self, group_dn: &str, principal: &str) -> Result<bool, GroupLookupError>;
}

/// Why group membership could not be found out.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupLookupError {
    /// No directory is configured, yet a rule names a group.
    NoDirectory,
    /// The directory could not be reached, or did not answer in time.
    Unavailable(String),
    /// The directory has no such group.
    NoSuchGroup,
    /// The directory refused or failed the lookup (bind refused, access denied,
    /// a bad DN ...).
    Failed(String),
}

impl fmt::Display for GroupLookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupLookupError::NoDirectory => f.write_str("no group directory is configured"),
            GroupLookupError::Unavailable(why) => write!(f, "the directory is unavailable: {why}"),
            GroupLookupError::NoSuchGroup => f.write_str("the directory has no such group"),
            GroupLookupError::Failed(why) => write!(f, "the lookup failed: {why}"),
        }
    }
}

impl std::error::Error for GroupLookupError {}

/// A decision that could not be made. The request must be denied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorizationError {
    /// A rule that might apply names a group whose membership is unknown.
    #[error(
        "cannot tell whether principal {principal:?} is a member of LDAP group {group:?}, so the request is denied; check the group directory"
    )]
    GroupLookup {
        /// The group's DN.
        group: String,
        /// The principal asked about.
        principal: String,
        /// Why membership is unknown.
        source: GroupLookupError,
    },
}

/// The directory of [`Acls::decide`](super::Acls::decide): none. Every lookup
/// fails with [`GroupLookupError::NoDirectory`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoDirectory;

impl GroupDirectory for NoDirectory {
    fn is_member(&self, _group_dn: &str, _principal: &str) -> Result<bool, GroupLookupError> {
        Err(GroupLookupError::NoDirectory)
    }
}

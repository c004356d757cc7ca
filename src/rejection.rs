//! [`Rejection`]: why a server refused a peer, for the server's own audit and
//! lockout, never for the peer. Plain data; imports nothing from the crate.

use std::fmt;

/// Why a peer failed to authenticate, carried by
/// [`ServerStep::Rejected`](crate::ServerStep::Rejected).
///
/// This is for the server: per-account lockout, audit logs, metrics. Tell the
/// peer no more than "rejected", whatever the reason: a peer that learns
/// [`RejectReason::UnknownUser`] can enumerate accounts.
///
/// `Debug` shows the attempted name escaped (it is peer-controlled text) and
/// never a secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Rejection {
    authid: Option<String>,
    reason: RejectReason,
}

/// The class of a [`Rejection`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// No such user in the credential store (`SASL_NOUSER`).
    UnknownUser,
    /// The user exists, but the proof was wrong: a wrong password, or for
    /// GSSAPI an invalid token (`SASL_BADAUTH`).
    WrongSecret,
    /// The credentials may have been right, but a policy refused: the
    /// proxy policy (acting as someone else, `SASL_NOAUTHZ`) or the
    /// canon-user hook refusing the name.
    Policy,
    /// The client bound the exchange to a different channel than the server
    /// did: the two ends are not on one TLS session, the sign of a relay
    /// (machine in the middle). The client's credentials may be right, and
    /// may be in the hands of the relay's operator.
    ChannelBindingMismatch,
}

impl Rejection {
    pub(crate) fn new(authid: Option<String>, reason: RejectReason) -> Self {
        Rejection { authid, reason }
    }

    /// The authentication id the peer tried, as libsasl2 canonicalised it
    /// (with the server's realm appended, as in
    /// [`Identity::authid`](crate::Identity::authid)), when the exchange got
    /// that far: `None` when the mechanism failed before it read a name (a
    /// malformed GSSAPI token). Bytes that are not UTF-8 are shown as U+FFFD.
    ///
    /// This is what the peer claimed, not who it is: use it to count failures
    /// per account, never to grant anything.
    pub fn authid(&self) -> Option<&str> {
        self.authid.as_deref()
    }

    /// Why the peer was refused.
    pub fn reason(&self) -> RejectReason {
        self.reason
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RejectReason::UnknownUser => "unknown user",
            RejectReason::WrongSecret => "wrong secret",
            RejectReason::Policy => "refused by policy",
            RejectReason::ChannelBindingMismatch => "channel binding mismatch (a relay?)",
        })
    }
}

/// `rejected (REASON) for "AUTHID"`, the name escaped as `Debug` escapes it,
/// since it is peer-controlled text.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.authid {
            Some(authid) => write!(f, "rejected ({}) for {authid:?}", self.reason),
            None => write!(f, "rejected ({}), no user name read", self.reason),
        }
    }
}

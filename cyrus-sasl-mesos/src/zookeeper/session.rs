//! The ZooKeeper session shared by the detector and the contender: connecting
//! with the address's credentials, and noticing that a session is lost.

use std::fmt;
use std::time::Duration;

use tokio::time::Instant;
use zookeeper_client as zk;

use super::LOG_TARGET;

use super::address::ZkAddress;

/// Waits after an error that may go away (e.g. a request refused while the
/// connection is down) before trying again.
pub(crate) const RETRY_MIN: Duration = Duration::from_millis(200);
/// The longest wait between two attempts to open a session.
pub(crate) const RETRY_MAX: Duration = Duration::from_secs(5);

/// Opens a session with the servers of `address`, authenticated with its digest
/// credentials if it has some. The server clamps `session_timeout` into its own
/// range; [`zk::Client::session_timeout`] is the negotiated one.
pub(crate) async fn connect(address: &ZkAddress, session_timeout: Duration) -> Result<zk::Client, zk::Error> {
    let mut connector = zk::Client::connector().with_session_timeout(session_timeout);
    if let Some(credentials) = address.credentials() {
        connector = connector.with_auth("digest", &credentials.digest_auth());
    }
    connector.connect(&address.connect_string()).await
}

/// The ACL of the znodes a contender creates, as libmesos chooses it: anyone may
/// read and the creator may do anything when the address has credentials;
/// anyone may do anything otherwise.
pub(crate) fn acls(address: &ZkAddress) -> zk::Acls<'static> {
    static EVERYONE_READ_CREATOR_ALL: [zk::Acl; 2] = [
        zk::Acl::new_const(zk::Permission::READ, "world", "anyone"),
        zk::Acl::new_const(zk::Permission::ALL, "auth", ""),
    ];
    if address.credentials().is_some() { zk::Acls::new(&EVERYONE_READ_CREATOR_ALL) } else { zk::Acls::anyone_all() }
}

/// Why a session ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionLoss {
    /// The client reached a terminal state (expired, closed, authentication failed).
    Terminated(zk::SessionState),
    /// Disconnected for longer than the allowed grace: the session is taken as
    /// expired here, before the server can say so (it can only say so once a
    /// connection is back).
    TimedOut(Duration),
}

impl fmt::Display for SessionLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SessionLoss::Terminated(state) => write!(f, "the session ended ({state})"),
            SessionLoss::TimedOut(grace) => {
                write!(f, "disconnected from ZooKeeper for {} ms", grace.as_millis())
            }
        }
    }
}

/// Follows a client's session state; [`SessionMonitor::lost`] returns once the
/// session is lost. Cancel-safe: the start of a disconnection is remembered across
/// calls, so `lost` can be one branch of a `select!` in a loop.
#[derive(Debug)]
pub(crate) struct SessionMonitor {
    state: zk::StateWatcher,
    grace: Duration,
    disconnected_at: Option<Instant>,
}

impl SessionMonitor {
    /// Follows `client`'s session; a disconnection longer than `grace` is a loss.
    pub(crate) fn new(client: &zk::Client, grace: Duration) -> SessionMonitor {
        SessionMonitor { state: client.state_watcher(), grace, disconnected_at: None }
    }

    /// Returns once the session is lost.
    pub(crate) async fn lost(&mut self) -> SessionLoss {
        loop {
            let state = self.state.state();
            if state.is_terminated() {
                return SessionLoss::Terminated(state);
            }
            if state == zk::SessionState::Disconnected {
                if self.disconnected_at.is_none() {
                    log::info!(target: LOG_TARGET, "disconnected from ZooKeeper; the session is lost unless the connection is back within {} ms",
                        self.grace.as_millis()
                    );
                    self.disconnected_at = Some(Instant::now());
                }
            } else if self.disconnected_at.take().is_some() {
                log::info!(target: LOG_TARGET, "reconnected to ZooKeeper within the session");
            }
            match self.disconnected_at {
                Some(at) => {
                    tokio::select! {
                        _ = self.state.changed() => {}
                        _ = tokio::time::sleep_until(at + self.grace) => {
                            return SessionLoss::TimedOut(self.grace);
                        }
                    }
                }
                None => {
                    self.state.changed().await;
                }
            }
        }
    }
}

/// Whether a failed request says something about the znodes (the request will
/// fail the same way if retried at once), rather than about the connection.
pub(crate) fn is_znode_error(e: &zk::Error) -> bool {
    matches!(
        e,
        zk::Error::NoNode
            | zk::Error::NoAuth
            | zk::Error::BadVersion
            | zk::Error::NoChildrenForEphemerals
            | zk::Error::NodeExists
            | zk::Error::NotEmpty
            | zk::Error::InvalidAcl
            | zk::Error::BadArguments(_)
            | zk::Error::QuotaExceeded
    )
}

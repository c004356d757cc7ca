//! A framework or agent that names its master as users write it
//! ([`MasterAddress`]) and follows the leader: [`follow_leader`] authenticates
//! with whichever master leads, again after every change, and tells the caller
//! of each change so that it can register again.

use std::future::Future;
use std::net::Ipv4Addr;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use libprocess::{Endpoint, Upid};

use crate::zookeeper::{AddressError, DetectError, LeaderDetector, LeaderEvent, MasterInfo, ResolvedMaster};
use crate::{AuthenticateOptions, Credential, DEFAULT_ZK_SESSION_TIMEOUT, LOG_TARGET, MasterAddress, NoVerdict};
use crate::{Verdict, authenticate};

/// How [`follow_leader`] runs.
#[derive(Clone, Debug)]
pub struct FollowOptions {
    /// Each authentication with a leader: its retries, backoff and deadline.
    /// An attempt that ends without a verdict is reported
    /// ([`FollowError::NoVerdict`]) and started again against the same leader
    /// after [`AuthenticateOptions::reconnect_delay`].
    pub authenticate: AuthenticateOptions,
    /// The ZooKeeper session timeout the leader detector asks for
    /// (default [`DEFAULT_ZK_SESSION_TIMEOUT`], 10 s, as Mesos's drivers).
    pub zk_session_timeout: Duration,
    /// Events buffered for [`Follower::next`] (default 64). When the buffer is
    /// full the follower waits for the caller.
    pub event_capacity: usize,
    /// The first attempt against a new leader that has no verdict within this
    /// (default 1 s) is started again at once, rather than after the attempt
    /// timeout of [`AuthenticateOptions::backoff`] (5 to 7 s at first). A master
    /// may learn that it leads a little after its followers do, and drops what
    /// comes before (as a Mesos master does); Mesos's driver then waits its
    /// whole attempt timeout. `None`: no early restart.
    pub settle: Option<Duration>,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            authenticate: AuthenticateOptions::default(),
            zk_session_timeout: DEFAULT_ZK_SESSION_TIMEOUT,
            event_capacity: 64,
            settle: Some(Duration::from_secs(1)),
        }
    }
}

/// What a [`Follower`] reports, in order. After each
/// [`Authenticated`](Self::Authenticated) a framework registers (again, with
/// its framework id) with that leader.
#[derive(Debug)]
#[non_exhaustive]
pub enum FollowEvent {
    /// A (new) leading master: an authentication with it begins, from the same
    /// component UPID. Whatever was authenticated with the previous leader no
    /// longer counts.
    NewLeader(MasterInfo),
    /// No master leads (or ZooKeeper cannot be reached for longer than the
    /// session timeout): wait for the next [`NewLeader`](Self::NewLeader).
    NoLeader,
    /// Authenticated with this leader.
    Authenticated(MasterInfo),
    /// This leader rejected the credential; no new attempt until the leader changes.
    Rejected(MasterInfo),
    /// Something went wrong; the follower goes on (see [`FollowError`]).
    Error(FollowError),
}

/// What went wrong while following the leader.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FollowError {
    /// ZooKeeper has something under the path but no usable leader (a
    /// malformed node, an ACL that refuses us): as with no leader, wait.
    #[error("no usable leader: {0}")]
    Detect(#[source] DetectError),
    /// An authentication with `leader` ended without a verdict; it starts again.
    #[error("no verdict from {leader}")]
    NoVerdict {
        /// The leader's UPID.
        leader: Upid,
        /// Why.
        #[source]
        error: NoVerdict,
    },
    /// A direct address (`HOST:PORT`, `file://...`) could not be resolved: the
    /// follower stops.
    #[error("the master address")]
    Address(#[source] AddressError),
}

/// A running [`follow_leader`]. Dropping it stops following (an attempt in
/// progress is abandoned and its process unregistered).
#[derive(Debug)]
pub struct Follower {
    events: mpsc::Receiver<FollowEvent>,
    task: JoinHandle<()>,
}

impl Follower {
    /// The next event; `None` once the follower has stopped (with a direct
    /// address: after its verdict or an unresolvable address).
    pub async fn next(&mut self) -> Option<FollowEvent> {
        self.events.recv().await
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Authenticates the component whose UPID is `pid` (e.g. a scheduler's; the
/// master records it as authenticated) with the master `master` names, on a
/// Tokio task, reporting each step as a [`FollowEvent`]:
///
/// - `HOST:PORT`, `master@HOST:PORT`, `file://` (a direct address): resolved,
///   then [`FollowEvent::NewLeader`] and one [`authenticate`] (retried until a
///   verdict), whose verdict ends the follower.
/// - `zk://...`: a [`LeaderDetector`] follows the election. On each new leader,
///   the attempt with the previous one (if still running) is abandoned and a
///   new one begins against the new leader, from the same `pid`, as Mesos's
///   scheduler driver does; when no master leads, no attempt runs. It runs
///   until the [`Follower`] is dropped.
///
/// # Panics
/// Outside a Tokio runtime (it spawns a task).
pub fn follow_leader(
    endpoint: &Endpoint,
    master: &MasterAddress,
    pid: &Upid,
    credential: Credential,
    options: &FollowOptions,
) -> Follower {
    let (tx, events) = mpsc::channel(options.event_capacity.max(1));
    let run = Run { endpoint: endpoint.clone(), pid: pid.clone(), credential, options: options.clone(), events: tx };
    let task = tokio::spawn(run.follow(master.clone()));
    Follower { events, task }
}

type Attempt = Pin<Box<dyn Future<Output = Result<Verdict, NoVerdict>> + Send>>;

struct Run {
    endpoint: Endpoint,
    pid: Upid,
    credential: Credential,
    options: FollowOptions,
    events: mpsc::Sender<FollowEvent>,
}

impl Run {
    async fn follow(self, master: MasterAddress) {
        let resolved = tokio::task::spawn_blocking(move || master.resolve()).await;
        match resolved {
            Ok(Ok(ResolvedMaster::Direct(upid))) => self.direct(upid).await,
            Ok(Ok(ResolvedMaster::ZooKeeper(zk))) => {
                let detector = LeaderDetector::start(&zk, self.options.zk_session_timeout);
                self.zookeeper(detector).await;
            }
            Ok(Err(e)) => self.emit(FollowEvent::Error(FollowError::Address(e))).await,
            Err(e) => log::error!(target: LOG_TARGET, "resolving the master address failed: {e}"),
        }
    }

    async fn emit(&self, event: FollowEvent) {
        // The caller dropped the Follower: the task is being aborted anyway.
        let _ = self.events.send(event).await;
    }

    /// An authentication with `leader`: after a pause (a retry), or else, for
    /// a new leader, started again once if it has no verdict within `settle`.
    fn attempt(&self, leader: &Upid, pause: bool) -> Attempt {
        let (endpoint, leader, pid) = (self.endpoint.clone(), leader.clone(), self.pid.clone());
        let (credential, options) = (self.credential.clone(), self.options.authenticate.clone());
        let settle = self.options.settle.filter(|_| !pause);
        Box::pin(async move {
            if pause {
                tokio::time::sleep(options.reconnect_delay).await;
            }
            if let Some(settle) = settle {
                let first = authenticate(&endpoint, &leader, &pid, credential.clone(), &options);
                match tokio::time::timeout(settle, first).await {
                    Ok(verdict) => return verdict,
                    // Dropping the attempt unregisters its process; the next one,
                    // for the same pid, supersedes its session on the master.
                    Err(_) => log::info!(
                        target: LOG_TARGET,
                        "no verdict from the new leader {leader} within {settle:?} (it may not know yet that it leads): \
                         starting again"
                    ),
                }
            }
            authenticate(&endpoint, &leader, &pid, credential, &options).await
        })
    }

    /// One master: authenticate until a verdict.
    async fn direct(self, upid: Upid) {
        // Mesos makes up an id for a master it was given by address; here it
        // is the UPID's text, as for a legacy znode. A resolved address is IPv4.
        let info = MasterInfo::for_master(upid.to_string(), upid.clone(), None)
            .unwrap_or_else(|_| MasterInfo::new(upid.to_string(), Ipv4Addr::UNSPECIFIED, upid.port()));
        self.emit(FollowEvent::NewLeader(info.clone())).await;
        let mut pause = false;
        loop {
            match self.attempt(&upid, pause).await {
                Ok(Verdict::Authenticated) => return self.emit(FollowEvent::Authenticated(info)).await,
                Ok(Verdict::Rejected) => return self.emit(FollowEvent::Rejected(info)).await,
                Err(error) => {
                    let leader = upid.clone();
                    self.emit(FollowEvent::Error(FollowError::NoVerdict { leader, error })).await;
                    pause = true;
                }
            }
        }
    }

    /// The leader in ZooKeeper, whoever it is.
    async fn zookeeper(self, detector: LeaderDetector) {
        let mut changes = detector.subscribe();
        // The detector says NoLeader until its first look; do not report that.
        changes.mark_unchanged();
        let mut leader: Option<MasterInfo> = None;
        let mut attempt: Option<Attempt> = None;
        loop {
            let running = async {
                match attempt.as_mut() {
                    Some(attempt) => attempt.await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                changed = changes.changed() => {
                    if changed.is_err() {
                        return; // the detector's task is gone: only when aborted
                    }
                    let event = changes.borrow_and_update().clone();
                    match event {
                        LeaderEvent::Leader(info) if leader.as_ref() != Some(&info) => {
                            log::info!(target: LOG_TARGET, "the leading master is now {}; authenticating {} with it", info.pid, self.pid);
                            attempt = Some(self.attempt(&info.pid, false));
                            leader = Some(info.clone());
                            self.emit(FollowEvent::NewLeader(info)).await;
                        }
                        LeaderEvent::Leader(_) => {}
                        LeaderEvent::NoLeader => {
                            attempt = None;
                            if leader.take().is_some() {
                                log::info!(target: LOG_TARGET, "no master leads");
                                self.emit(FollowEvent::NoLeader).await;
                            }
                        }
                        LeaderEvent::Error(e) => {
                            attempt = None;
                            leader = None;
                            log::warn!(target: LOG_TARGET, "no usable leader: {e}");
                            self.emit(FollowEvent::Error(FollowError::Detect(e))).await;
                        }
                    }
                }
                verdict = running => {
                    let Some(info) = leader.clone() else {
                        attempt = None;
                        continue;
                    };
                    match verdict {
                        Ok(Verdict::Authenticated) => {
                            attempt = None;
                            self.emit(FollowEvent::Authenticated(info)).await;
                        }
                        Ok(Verdict::Rejected) => {
                            attempt = None;
                            self.emit(FollowEvent::Rejected(info)).await;
                        }
                        Err(error) => {
                            attempt = Some(self.attempt(&info.pid, true));
                            let leader = info.pid;
                            self.emit(FollowEvent::Error(FollowError::NoVerdict { leader, error })).await;
                        }
                    }
                }
            }
        }
    }
}

//! Follows the leading master in ZooKeeper, as a framework or an agent given a
//! `zk://` address does.
//!
//! [`LeaderDetector::start`] runs a Tokio task that holds one ZooKeeper session at
//! a time. In each session it lists the children of the path with a watch, picks
//! the leader ([`choose_leader`]), reads its data and publishes a
//! [`LeaderEvent`] when what it sees differs from what it last published; then it
//! waits for the watch and does it again. As in libmesos, the leader's data is
//! read when the children change, not watched (a master never rewrites its
//! node). A path that does not exist yet is
//! [`LeaderEvent::NoLeader`], with a watch on its creation.
//!
//! A session that is lost (expired, or disconnected for longer than the
//! negotiated session timeout, as libmesos decides it locally) is
//! [`LeaderEvent::NoLeader`]; the task then opens a new session and goes on.
//! ZooKeeper errors never end the task: they are logged and retried.
//!
//! Changes arrive as a [`tokio::sync::watch`] ([`LeaderDetector::subscribe`],
//! [`LeaderDetector::changed`]); code without an async context of its own waits
//! with [`LeaderDetector::next_blocking`] while the task runs on a runtime given
//! to [`LeaderDetector::start_in`].

use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio::task::JoinHandle;
use zookeeper_client as zk;

use super::LOG_TARGET;

use super::address::ZkAddress;
use super::leader::{Election, LeaderError, choose_leader};
use super::master_info::MasterInfo;
use super::session::{self, RETRY_MAX, RETRY_MIN, SessionLoss, SessionMonitor};

/// What the detector last saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeaderEvent {
    /// No master leads: no member under the path, the path does not exist, or
    /// the session is lost.
    NoLeader,
    /// The leading master.
    Leader(MasterInfo),
    /// There is something under the path, but no usable leader.
    Error(DetectError),
}

/// Why the detector sees no usable leader.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    /// The leading znode has an unknown label or malformed data (libmesos's
    /// detector fails for good there; this one keeps watching).
    #[error(transparent)]
    Leader(#[from] LeaderError),
    /// ZooKeeper refused a request for a reason that retrying at once would not
    /// change (e.g. `NoAuth`: the ACL does not let these credentials read).
    #[error("ZooKeeper refused to {operation} {path:?}: {reason}")]
    ZooKeeper {
        /// What was asked: `list the children of` or `read`.
        operation: &'static str,
        /// The znode.
        path: String,
        /// ZooKeeper's error, as text.
        reason: String,
    },
}

/// Follows the leader under a `zk://` address (see the module documentation).
/// Dropping it stops its task and closes its session.
#[derive(Debug)]
pub struct LeaderDetector {
    events: watch::Receiver<LeaderEvent>,
    task: JoinHandle<()>,
}

impl LeaderDetector {
    /// Starts following the leader under `zk.path()`, asking ZooKeeper for
    /// sessions of `session_timeout` (the server may clamp it). The first event
    /// is [`LeaderEvent::NoLeader`] until a session has looked.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns a task); see [`Self::start_in`].
    pub fn start(zk: &ZkAddress, session_timeout: Duration) -> LeaderDetector {
        Self::start_in(&tokio::runtime::Handle::current(), zk, session_timeout)
    }

    /// [`Self::start`], with the task on the runtime `runtime` (from any thread).
    pub fn start_in(runtime: &tokio::runtime::Handle, zk: &ZkAddress, session_timeout: Duration) -> LeaderDetector {
        let (tx, events) = watch::channel(LeaderEvent::NoLeader);
        let task = runtime.spawn(run(zk.clone(), session_timeout, tx));
        LeaderDetector { events, task }
    }

    /// The latest event, without waiting.
    pub fn current(&self) -> LeaderEvent {
        self.events.borrow().clone()
    }

    /// The leading master now, if there is a usable one.
    pub fn leader(&self) -> Option<MasterInfo> {
        match &*self.events.borrow() {
            LeaderEvent::Leader(info) => Some(info.clone()),
            _ => None,
        }
    }

    /// Blocks the calling thread until the next change and returns it, or
    /// `None` after `timeout`. A change that came since the last
    /// [`changed`](Self::changed) or `next_blocking` returns at once.
    ///
    /// For threads outside any async context: called on a Tokio worker thread, it
    /// blocks that worker (and, on a current-thread runtime, the detector itself).
    pub fn next_blocking(&mut self, timeout: Duration) -> Option<LeaderEvent> {
        let deadline = Instant::now() + timeout;
        let changed = block_on_until(self.events.changed(), deadline)?;
        if changed.is_err() {
            // The task never ends by itself: it was aborted. Nothing will change.
            std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
            return None;
        }
        Some(self.events.borrow_and_update().clone())
    }

    /// A receiver of every change, starting from the latest event.
    pub fn subscribe(&self) -> watch::Receiver<LeaderEvent> {
        self.events.clone()
    }

    /// Waits for the next change and returns it.
    pub async fn changed(&mut self) -> LeaderEvent {
        if self.events.changed().await.is_err() {
            // The task never ends by itself; it has been aborted.
            std::future::pending::<()>().await;
        }
        self.events.borrow_and_update().clone()
    }
}

impl Drop for LeaderDetector {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Wakes a parked thread.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between polls, until it is ready or
/// `deadline` passes. (A `watch` receiver needs no reactor, only a waker.)
fn block_on_until<F: Future>(future: F, deadline: Instant) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return Some(output);
        }
        let now = Instant::now();
        if now >= deadline {
            return None;
        }
        // A spurious wake-up only means one more poll.
        std::thread::park_timeout(deadline - now);
    }
}

fn publish(tx: &watch::Sender<LeaderEvent>, event: LeaderEvent) {
    tx.send_if_modified(|current| {
        if *current == event {
            return false;
        }
        match &event {
            LeaderEvent::NoLeader => log::info!(target: LOG_TARGET, "no leading master"),
            LeaderEvent::Leader(info) => {
                log::info!(target: LOG_TARGET, "leading master: {:?} (id {:?})", info.pid, info.id)
            }
            LeaderEvent::Error(e) => log::warn!(target: LOG_TARGET, "no usable leading master: {e}"),
        }
        *current = event;
        true
    });
}

async fn run(address: ZkAddress, session_timeout: Duration, tx: watch::Sender<LeaderEvent>) {
    let mut backoff = RETRY_MIN;
    loop {
        let client = match session::connect(&address, session_timeout).await {
            Ok(client) => client,
            Err(e) => {
                log::warn!(target: LOG_TARGET, "cannot open a ZooKeeper session with {}: {e}", address.connect_string());
                publish(&tx, LeaderEvent::NoLeader);
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_MAX);
                continue;
            }
        };
        backoff = RETRY_MIN;
        log::info!(target: LOG_TARGET, "ZooKeeper session {} opened, timeout {} ms",
            client.session_id(),
            client.session_timeout().as_millis()
        );
        let loss = follow(&client, address.path(), &tx).await;
        log::warn!(target: LOG_TARGET, "ZooKeeper session {} lost: {loss}", client.session_id());
        publish(&tx, LeaderEvent::NoLeader);
    }
}

/// One look at the path: what to publish (if anything) and the watch to wait on.
enum Look {
    /// What to publish, boxed (a `MasterInfo` is large), and the watch to wait on.
    Seen(Option<Box<LeaderEvent>>, zk::OneshotWatcher),
    /// Something changed in between; look again at once.
    Again,
}

/// Follows the leader within one session, until the session is lost.
async fn follow(client: &zk::Client, path: &str, tx: &watch::Sender<LeaderEvent>) -> SessionLoss {
    let mut monitor = SessionMonitor::new(client, client.session_timeout());
    let mut retry = RETRY_MIN;
    loop {
        let look = tokio::select! {
            loss = monitor.lost() => return loss,
            look = look(client, path) => look,
        };
        let watcher = match look {
            Ok(Look::Seen(event, watcher)) => {
                retry = RETRY_MIN;
                if let Some(event) = event {
                    publish(tx, *event);
                }
                watcher
            }
            Ok(Look::Again) => continue,
            Err(failure) => {
                if let Some(event) = failure.event {
                    publish(tx, event);
                } else {
                    log::debug!(target: LOG_TARGET, "ZooKeeper request failed, retrying: {}", failure.error);
                }
                tokio::select! {
                    loss = monitor.lost() => return loss,
                    _ = tokio::time::sleep(retry) => {}
                }
                retry = (retry * 2).min(RETRY_MAX);
                continue;
            }
        };
        tokio::select! {
            loss = monitor.lost() => return loss,
            event = watcher.changed() => log::debug!(target: LOG_TARGET, "ZooKeeper event on {:?}: {:?}", event.path, event.event_type),
        }
    }
}

struct Failure {
    error: zk::Error,
    /// What to publish, for an error about the znodes themselves.
    event: Option<LeaderEvent>,
}

fn failure(error: zk::Error, operation: &'static str, path: &str) -> Failure {
    let event = session::is_znode_error(&error).then(|| {
        LeaderEvent::Error(DetectError::ZooKeeper { operation, path: path.to_owned(), reason: error.to_string() })
    });
    Failure { error, event }
}

async fn look(client: &zk::Client, path: &str) -> Result<Look, Failure> {
    match client.list_and_watch_children(path).await {
        Ok((children, watcher)) => {
            let Some(member) = choose_leader(&children) else {
                return Ok(Look::Seen(Some(Box::new(LeaderEvent::NoLeader)), watcher));
            };
            let node = format!("{path}/{}", member.name);
            match client.get_data(&node).await {
                Ok((data, _)) => {
                    let event = match Election::decide(Some((member, &data))) {
                        Election::Leader { info, .. } => LeaderEvent::Leader(info),
                        Election::Unusable(e) => LeaderEvent::Error(e.into()),
                        Election::NoLeader => LeaderEvent::NoLeader,
                    };
                    Ok(Look::Seen(Some(Box::new(event)), watcher))
                }
                // Gone between the listing and the read: the children watch has
                // fired or will fire; wait for it without publishing.
                Err(zk::Error::NoNode) => Ok(Look::Seen(None, watcher)),
                Err(e) => Err(failure(e, "read", &node)),
            }
        }
        Err(zk::Error::NoNode) => match client.check_and_watch_stat(path).await {
            Ok((None, watcher)) => Ok(Look::Seen(Some(Box::new(LeaderEvent::NoLeader)), watcher)),
            Ok((Some(_), _)) => Ok(Look::Again),
            Err(e) => Err(failure(e, "watch for the creation of", path)),
        },
        Err(e) => Err(failure(e, "list the children of", path)),
    }
}

//! Makes a master contend for leadership in ZooKeeper, as a Mesos master does.
//!
//! [`Contender::join`] runs a Tokio task that holds one ZooKeeper session at a
//! time. In each session it creates the contention path if missing (persistent,
//! with its ancestors), then an ephemeral sequential child `json.info_N` holding
//! the master's [`MasterInfo`] as JSON, and reports [`ContenderStatus::Leading`]
//! while that child is the leader among the members
//! ([`choose_leader`]), [`ContenderStatus::NotLeading`] otherwise.
//!
//! **Losing the session.** ZooKeeper can only tell a client that its session
//! expired once the client reconnects, so, as libmesos does, the contender decides
//! it locally: disconnected for 3/5 of the negotiated session timeout, it takes
//! the session as lost, reports [`ContenderStatus::LostSession`] at once (the
//! master must step down) and opens a new session, in which it contends again
//! with a new node. The client notices a silent server after 2/5 of the timeout
//! (its connection timeout), so 3/5 more is about when the server expires the
//! session and may let another master lead; stepping down then, rather than a
//! whole timeout after the disconnection, keeps two masters from both believing
//! they lead (libmesos waits the whole timeout).
//!
//! [`Contender::withdraw`] deletes the node and closes the session (a graceful
//! exit); dropping the [`Contender`] closes the session, which deletes the node too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use zookeeper_client as zk;

use super::LOG_TARGET;

use super::address::ZkAddress;
use super::leader::{JSON_LABEL, choose_leader, member_name};
use super::master_info::MasterInfo;
use super::session::{self, RETRY_MAX, RETRY_MIN, SessionLoss, SessionMonitor};

/// Where a contender stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ContenderStatus {
    /// Its node exists and is not the leader, or it has no node yet.
    NotLeading,
    /// Its node is the leader: the master leads.
    Leading,
    /// Its session is lost (or taken as lost): the master must step down at once.
    /// The contender is opening a new session to contend again.
    LostSession,
}

/// Why [`Contender::withdraw`] failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ContendError {
    /// ZooKeeper refused to delete the node; the session is closed anyway, which
    /// deletes an ephemeral node.
    #[error("cannot delete {node:?}: {reason}")]
    Delete {
        /// The node.
        node: String,
        /// ZooKeeper's error, as text.
        reason: String,
    },
    /// The contender's task is gone.
    #[error("the contender has stopped")]
    Stopped,
}

type WithdrawReply = oneshot::Sender<Result<(), ContendError>>;

/// A master contending for leadership (see the module documentation). Dropping
/// it stops its task and closes its session.
#[derive(Debug)]
pub struct Contender {
    status: watch::Receiver<ContenderStatus>,
    node: Arc<Mutex<Option<String>>>,
    withdraw: mpsc::Sender<WithdrawReply>,
    task: JoinHandle<()>,
}

impl Contender {
    /// Starts contending under `zk.path()` with `info` as the node's JSON,
    /// asking ZooKeeper for sessions of `session_timeout` (the server may clamp
    /// it). The status is [`ContenderStatus::NotLeading`] until a node exists.
    ///
    /// # Panics
    /// Outside a Tokio runtime (it spawns a task); see [`Self::join_in`].
    pub fn join(zk: &ZkAddress, info: &MasterInfo, session_timeout: Duration) -> Contender {
        Self::join_in(&tokio::runtime::Handle::current(), zk, info, session_timeout)
    }

    /// [`Self::join`], with the task on the runtime `runtime` (from any thread).
    pub fn join_in(
        runtime: &tokio::runtime::Handle,
        zk: &ZkAddress,
        info: &MasterInfo,
        session_timeout: Duration,
    ) -> Contender {
        let (tx, status) = watch::channel(ContenderStatus::NotLeading);
        let (withdraw, withdraw_rx) = mpsc::channel(1);
        let node = Arc::new(Mutex::new(None));
        let task =
            runtime.spawn(run(zk.clone(), info.to_json().into_bytes(), session_timeout, tx, node.clone(), withdraw_rx));
        Contender { status, node, withdraw, task }
    }

    /// The latest status, without waiting.
    pub fn status(&self) -> ContenderStatus {
        *self.status.borrow()
    }

    /// A receiver of every change of status, starting from the latest.
    pub fn subscribe(&self) -> watch::Receiver<ContenderStatus> {
        self.status.clone()
    }

    /// The full path of the node this contender holds now, if any.
    pub fn node(&self) -> Option<String> {
        self.node.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Stops contending: deletes the node (waiting for ZooKeeper to confirm), then
    /// ends the session.
    pub async fn withdraw(self) -> Result<(), ContendError> {
        let (reply, answer) = oneshot::channel();
        self.withdraw.send(reply).await.map_err(|_| ContendError::Stopped)?;
        answer.await.map_err(|_| ContendError::Stopped)?
    }
}

impl Drop for Contender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    address: ZkAddress,
    data: Vec<u8>,
    status: watch::Sender<ContenderStatus>,
    node: Arc<Mutex<Option<String>>>,
}

impl Shared {
    fn publish(&self, status: ContenderStatus) {
        self.status.send_if_modified(|current| {
            if *current == status {
                return false;
            }
            log::info!(target: LOG_TARGET, "contender under {:?}: {status:?}", self.address.path());
            *current = status;
            true
        });
    }

    fn set_node(&self, node: Option<String>) {
        *self.node.lock().unwrap_or_else(|e| e.into_inner()) = node;
    }
}

enum Outcome {
    /// The session is lost, or taken as lost.
    Lost {
        /// Why.
        why: String,
        /// Whether a node had been created in it.
        held_node: bool,
    },
    /// The master withdrew.
    Withdrawn,
}

async fn run(
    address: ZkAddress,
    data: Vec<u8>,
    session_timeout: Duration,
    status: watch::Sender<ContenderStatus>,
    node: Arc<Mutex<Option<String>>>,
    mut withdraw: mpsc::Receiver<WithdrawReply>,
) {
    let shared = Shared { address, data, status, node };
    let mut backoff = RETRY_MIN;
    loop {
        let connected = tokio::select! {
            c = session::connect(&shared.address, session_timeout) => c,
            reply = withdraw.recv() => {
                shared.publish(ContenderStatus::NotLeading);
                if let Some(reply) = reply {
                    let _ = reply.send(Ok(()));
                }
                return;
            }
        };
        let client = match connected {
            Ok(client) => client,
            Err(e) => {
                log::warn!(target: LOG_TARGET, "cannot open a ZooKeeper session with {}: {e}", shared.address.connect_string());
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(RETRY_MAX);
                continue;
            }
        };
        log::info!(target: LOG_TARGET, "ZooKeeper session {} opened, timeout {} ms",
            client.session_id(),
            client.session_timeout().as_millis()
        );
        match contend(&client, &shared, &mut withdraw).await {
            Outcome::Withdrawn => return,
            Outcome::Lost { why, held_node } => {
                log::warn!(target: LOG_TARGET, "ZooKeeper session {} lost: {why}", client.session_id());
                shared.set_node(None);
                if held_node {
                    // Step down at once; a new session contends with a new node.
                    shared.publish(ContenderStatus::LostSession);
                } else {
                    // Never got a node in that session (e.g. ZooKeeper refuses to
                    // create it): not a reason to open sessions in a tight loop.
                    drop(client);
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        reply = withdraw.recv() => {
                            shared.publish(ContenderStatus::NotLeading);
                            if let Some(reply) = reply {
                                let _ = reply.send(Ok(()));
                            }
                            return;
                        }
                    }
                    backoff = (backoff * 2).min(RETRY_MAX);
                    continue;
                }
                // Dropping the client closes the session if the server still has it
                // (deleting the node).
            }
        }
        backoff = RETRY_MIN;
    }
}

/// Contends within one session until it is lost or the master withdraws.
async fn contend(client: &zk::Client, shared: &Shared, withdraw: &mut mpsc::Receiver<WithdrawReply>) -> Outcome {
    let grace = client.session_timeout() * 3 / 5;
    let mut monitor = SessionMonitor::new(client, grace);
    let path = shared.address.path();
    let acls = session::acls(&shared.address);
    let parent_options = zk::CreateMode::Persistent.with_acls(acls);
    let node_options = zk::CreateMode::EphemeralSequential.with_acls(acls);
    let prefix = format!("{path}/{JSON_LABEL}_");
    let mut retry = RETRY_MIN;
    // Whether a node was created in this session.
    let mut held = false;

    // Sleeps before a retry, unless the session is lost or the master withdraws.
    macro_rules! pause {
        ($node:expr) => {{
            tokio::select! {
                loss = monitor.lost() => return lost(loss, held),
                reply = withdraw.recv() => return withdrawn(client, $node, reply, shared).await,
                _ = tokio::time::sleep(retry) => {}
            }
            retry = (retry * 2).min(RETRY_MAX);
        }};
    }

    'create: loop {
        let made = tokio::select! {
            loss = monitor.lost() => return lost(loss, held),
            reply = withdraw.recv() => return withdrawn(client, None, reply, shared).await,
            made = client.mkdir(path, &parent_options) => made,
        };
        if let Err(e) = made {
            log::warn!(target: LOG_TARGET, "cannot create {path:?}: {e}");
            pause!(None);
            continue 'create;
        }

        let created = tokio::select! {
            loss = monitor.lost() => return lost(loss, held),
            reply = withdraw.recv() => return withdrawn(client, None, reply, shared).await,
            created = client.create(&prefix, &shared.data, &node_options) => created,
        };
        let sequence = match created {
            Ok((_, sequence)) => sequence,
            Err(zk::Error::NoNode) => {
                // The path was deleted in between: create it again.
                pause!(None);
                continue 'create;
            }
            Err(e) => {
                // The node may exist all the same (a request lost with the
                // connection); only closing the session surely removes it.
                return Outcome::Lost { why: format!("cannot create a node under {path:?}: {e}"), held_node: held };
            }
        };
        let name = match i32::try_from(sequence.into_i64()) {
            Ok(seq) => member_name(Some(JSON_LABEL), seq),
            Err(_) => format!("{JSON_LABEL}_{sequence}"),
        };
        let node = format!("{path}/{name}");
        log::info!(target: LOG_TARGET, "contending as {node:?}");
        shared.set_node(Some(node.clone()));
        held = true;
        retry = RETRY_MIN;

        loop {
            let listed = tokio::select! {
                loss = monitor.lost() => return lost(loss, held),
                reply = withdraw.recv() => return withdrawn(client, Some(&node), reply, shared).await,
                listed = client.list_and_watch_children(path) => listed,
            };
            let (children, watcher) = match listed {
                Ok(listed) => listed,
                Err(e) => {
                    log::debug!(target: LOG_TARGET, "cannot list {path:?}: {e}");
                    pause!(Some(&node));
                    continue;
                }
            };
            retry = RETRY_MIN;
            if !children.contains(&name) {
                log::warn!(target: LOG_TARGET, "{node:?} is gone (deleted by someone else?): contending again");
                shared.set_node(None);
                shared.publish(ContenderStatus::NotLeading);
                continue 'create;
            }
            let leading = choose_leader(&children).is_some_and(|m| m.name == name);
            shared.publish(if leading { ContenderStatus::Leading } else { ContenderStatus::NotLeading });
            tokio::select! {
                loss = monitor.lost() => return lost(loss, held),
                reply = withdraw.recv() => return withdrawn(client, Some(&node), reply, shared).await,
                event = watcher.changed() => log::debug!(target: LOG_TARGET, "ZooKeeper event on {:?}: {:?}", event.path, event.event_type),
            }
        }
    }
}

fn lost(loss: SessionLoss, held_node: bool) -> Outcome {
    Outcome::Lost { why: loss.to_string(), held_node }
}

async fn withdrawn(client: &zk::Client, node: Option<&str>, reply: Option<WithdrawReply>, shared: &Shared) -> Outcome {
    let result = match node {
        None => Ok(()),
        Some(node) => match client.delete(node, None).await {
            Ok(()) | Err(zk::Error::NoNode) => Ok(()),
            Err(e) => Err(ContendError::Delete { node: node.to_owned(), reason: e.to_string() }),
        },
    };
    log::info!(target: LOG_TARGET, "withdrawn from {:?}", shared.address.path());
    shared.set_node(None);
    shared.publish(ContenderStatus::NotLeading);
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
    Outcome::Withdrawn
}

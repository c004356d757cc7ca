//! High availability as Mesos runs it: several masters, one leader elected in
//! ZooKeeper, and frameworks and agents that follow whoever leads.
//!
//! # What HA means in Mesos
//!
//! A production cluster runs three or five masters. Only one of them, the
//! *leader*, serves: it authenticates and registers frameworks and agents; the
//! others are standbys that drop every message they get until they are elected.
//! Frameworks and agents are not told a master's address but a ZooKeeper
//! ensemble and a path, `--master=zk://zk1:2181,zk2:2181,zk3:2181/mesos`; they
//! find the leader there, and when it changes they authenticate again with the
//! new one and re-register, keeping their ids.
//!
//! # How the leader is chosen
//!
//! Each master joins the election by creating, under the path, an *ephemeral
//! sequential* znode `json.info_NNNNNNNNNN` holding its [`MasterInfo`] as JSON.
//! ZooKeeper numbers the nodes in creation order and deletes a node when the
//! session that made it ends, whether the master exits, crashes or loses its
//! network long enough for the session to expire. The leader is the member with
//! the **lowest sequence number, whatever its label** (older masters write
//! `info_N` with a binary protobuf, the oldest a bare `N` with their UPID as
//! text); a child whose name does not end in `_` and a 32-bit number, such as the
//! replicated log's `log_replicas`, is not a member. So a master leads from the
//! moment every older node is gone, and the next one takes over as soon as the
//! leader's session ends. [`leader`] has these rules with no I/O at all.
//!
//! A master that loses its ZooKeeper session must stop leading at once: another
//! may already have been elected. [`Contender`] reports
//! [`ContenderStatus::LostSession`] then; it decides the loss locally, without
//! waiting for the server to confirm an expiry it can only announce once the
//! connection is back (see [`contender`]).
//!
//! # The pieces
//!
//! | item | role |
//! |---|---|
//! | [`MasterAddress`] | where the master is, as a user writes it: `HOST:PORT`, `master@HOST:PORT`, `zk://[USER:PASSWORD@]HOST:PORT[,...]/PATH`, `file:///PATH` |
//! | [`MasterInfo`] | what a master advertises, in the three znode formats |
//! | [`choose_leader`], [`Election`] | sans-IO: the leading child and what its data says |
//! | [`LeaderDetector`] | a framework's or agent's view: a stream of [`LeaderEvent`]s |
//! | [`Contender`] | a master's side: its node, and a stream of [`ContenderStatus`] |
//!
//! Differences from libmesos, each for a reason: a leading node with an unknown
//! label or data that does not parse is a typed, logged [`LeaderEvent::Error`]
//! and detection goes on (libmesos's detector fails and the process exits); a
//! contender steps down after 3/5 of the session timeout without a connection
//! rather than after all of it, so that two masters never both believe they
//! lead; znode data over [`MAX_MASTER_INFO_SIZE`] is refused.
//!
//! The ZooKeeper client is [`zookeeper_client`] (Kezhu Wang's, on Tokio): pure
//! Rust, so nothing more to link, and it has what this needs: one-shot watches
//! on children and on a path's creation, a session-state watcher to time a
//! disconnection, ephemeral sequential nodes, `digest` authentication and ACLs.
//! Lines are logged under the target [`LOG_TARGET`]; text that comes from a
//! znode is quoted with `{:?}`, and a `zk://` password never appears.
//!
//! # Example
//!
//! The leader choice, on children as a ZooKeeper listing gives them:
//!
//! ```
//! use cyrus_sasl_mesos::zookeeper::{Election, MasterInfo, choose_leader};
//!
//! let children = ["json.info_0000000012", "log_replicas", "info_0000000011", "json.info_0000000013"];
//! let leader = choose_leader(&children).expect("there are members");
//! assert_eq!(leader.name, "info_0000000011"); // the lowest number, whatever its label
//!
//! // Its data parses by its label (`info`: a binary protobuf).
//! let advertised = MasterInfo::new("id-1", [10, 0, 0, 1].into(), 5050);
//! let Election::Leader { info, .. } = Election::decide(Some((leader, &advertised.to_protobuf()))) else {
//!     panic!("a usable leader")
//! };
//! assert_eq!(info.pid.to_string(), "master@10.0.0.1:5050");
//! ```
//!
//! A master contending and a framework following the leader (this needs a
//! ZooKeeper server):
//!
//! ```no_run
//! use std::time::Duration;
//! use cyrus_sasl_mesos::MasterAddress;
//! use cyrus_sasl_mesos::zookeeper::{Contender, ContenderStatus, LeaderDetector, LeaderEvent, MasterInfo};
//!
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! let MasterAddress::ZooKeeper(zk) = "zk://127.0.0.1:2181/mesos".parse()? else { unreachable!() };
//! let session_timeout = Duration::from_secs(10);
//!
//! // The master: a complete MasterInfo, as real drivers read it.
//! let info = MasterInfo::for_master("a-new-uuid", "master@127.0.0.1:5050".parse()?, Some("m1"))?;
//! let contender = Contender::join(&zk, &info, session_timeout);
//! let mut status = contender.subscribe();
//! status.wait_for(|s| *s == ContenderStatus::Leading).await?;
//!
//! // A framework: each change is the cue to authenticate and re-register.
//! let mut detector = LeaderDetector::start(&zk, session_timeout);
//! loop {
//!     match detector.changed().await {
//!         LeaderEvent::Leader(leader) => println!("authenticate with {}", leader.pid),
//!         LeaderEvent::NoLeader => println!("no master leads: wait"),
//!         LeaderEvent::Error(e) => println!("no usable leader: {e}"),
//!     }
//! #   break;
//! }
//! # contender.withdraw().await?;
//! # Ok(())
//! # }
//! ```

pub mod address;
pub mod contender;
pub mod detector;
pub mod leader;
pub mod master_info;
mod session;

pub use address::{AddressError, HostPort, MasterAddress, ResolvedMaster, ZkAddress, ZkCredentials};
pub use contender::{ContendError, Contender, ContenderStatus};
pub use detector::{DetectError, LeaderDetector, LeaderEvent};
pub use leader::{Election, LeaderError, Member, choose_leader};
pub use master_info::{ADVERTISED_MESOS_VERSION, Address, MAX_MASTER_INFO_SIZE, MasterInfo, MasterInfoError};

/// The `log` target of this module's lines.
pub const LOG_TARGET: &str = "cyrus_sasl_mesos::zookeeper";

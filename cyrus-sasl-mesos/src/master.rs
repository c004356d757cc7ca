//! [`Master`]: the master's side of Mesos authentication over libprocess, as
//! `Master::authenticate` and `CRAMMD5Authenticator` run it in Mesos: the
//! sans-IO [`Authenticator`] moved over an [`Endpoint`] by one loop.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};

use cyrus_sasl::Config;
use libprocess::{Endpoint, EndpointOptions, Envelope, PrincipalSource, Process, Upid, client_certificate_principal};

use crate::error::Chain;
use crate::registration::{Denial, REGISTRATION_MESSAGES, RegistrationGate, RegistrationRequest, RegistrationVerdict};
use crate::zookeeper::{ADVERTISED_MESOS_VERSION, Address, Contender, ContenderStatus, MasterInfo, ZkAddress};
use crate::{Authenticator, Message, MessageType, Origin, Outcome, Outcomes, Registry, ServerOptions, SessionOutcome};
use crate::{LOG_TARGET, MasterConfig, SecureChannel};

/// The id of the master's own process, to which `AuthenticateMessage` goes.
pub const MASTER_PROCESS_ID: &str = "master";

/// The default of [`MasterOptions::max_registrations_in_flight`]: registrations
/// decided at once.
pub const MAX_REGISTRATIONS_IN_FLIGHT: usize = 256;

/// The default of [`MasterOptions::max_registrations_per_ip`]: registrations
/// from one peer IP address being decided or answered at once.
pub const DEFAULT_MAX_REGISTRATIONS_PER_IP: usize = 32;

/// The default of [`MasterOptions::max_sessions`]: 4,096.
pub const DEFAULT_MAX_SESSIONS: usize = 4096;

/// The default of [`MasterOptions::max_sessions_per_ip`]: 64.
pub const DEFAULT_MAX_SESSIONS_PER_IP: usize = 64;

/// The default inbound connection limit of a master's endpoint
/// ([`EndpointOptions::max_connections`] in [`MasterOptions::default`]):
/// 8,192, room for a few thousand frameworks and agents that each keep a
/// connection. [`Master::spawn`] lowers it to what the open-file limit allows.
pub const DEFAULT_MASTER_MAX_CONNECTIONS: usize = 8192;

/// The default of [`MasterOptions::max_message_bytes`]: 64 KiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// The default of [`MasterOptions::max_session_message_bytes`]: 16 KiB.
pub const DEFAULT_MAX_SESSION_MESSAGE_BYTES: usize = 16 * 1024;

/// The process id prefix of each session, as in Mesos
/// (`crammd5-authenticator-session(N)`).
pub const SESSION_PREFIX: &str = "crammd5-authenticator-session";

/// The ZooKeeper session timeout a contending master asks for by default,
/// Mesos's `--zk_session_timeout` (10 s).
pub const DEFAULT_ZK_SESSION_TIMEOUT: Duration = Duration::from_secs(10);

/// A master's place in a ZooKeeper election ([`MasterOptions::election`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MasterElection {
    /// The ensemble and the path the masters contend under (Mesos's `--zk`).
    /// Its credentials, if any, are never logged.
    pub zk: ZkAddress,
    /// The session timeout asked for (the server may clamp it): how long a
    /// crashed leader keeps the lead. Default [`DEFAULT_ZK_SESSION_TIMEOUT`].
    pub session_timeout: Duration,
}

impl MasterElection {
    /// Contending under `zk` with the default session timeout.
    pub fn new(zk: ZkAddress) -> Self {
        MasterElection { zk, session_timeout: DEFAULT_ZK_SESSION_TIMEOUT }
    }
}

/// How a [`Master`] runs.
///
/// [`from_config`](Self::from_config) puts a master config file into effect;
/// the fields it does not set (the endpoint's addresses, the SASL service
/// and host name, limits) are the caller's.
#[derive(Clone, Debug)]
pub struct MasterOptions {
    /// What each session's SASL server is made from: its credential store or
    /// sasldb, `mech_list`, `keytab` (see
    /// [`MasterConfig::sasl_config`](crate::MasterConfig::sasl_config)).
    /// Without `mech_list`, CRAM-MD5 is offered. Default: an empty config.
    pub sasl: Config,
    /// The libprocess endpoint: bind and advertised addresses
    /// ([`EndpointOptions::from_env`] reads `LIBPROCESS_IP`, ...), limits.
    /// The default is [`EndpointOptions::default`] with `max_connections`
    /// [`DEFAULT_MASTER_MAX_CONNECTIONS`]. [`Master::spawn`] lowers
    /// `max_connections` (with a warning) to half of what the process's
    /// open-file limit leaves after 128 descriptors, since every inbound
    /// connection may come with an outbound one: at the limit the endpoint
    /// closes idle connections to make room, while past the open-file limit
    /// it could accept nothing.
    pub endpoint: EndpointOptions,
    /// The SASL servers' service, host name, realm, the 15 s session timeout, and
    /// the peer binding ([`PeerBinding`](crate::PeerBinding), on by default).
    pub server: ServerOptions,
    /// Sessions in progress at once (default [`DEFAULT_MAX_SESSIONS`], 4,096).
    /// An `AuthenticateMessage` beyond that is dropped with a warning (at most
    /// one a second) and [`MasterEvent::Overloaded`]; the authenticatee times out and retries, as
    /// it would with a busy Mesos master.
    pub max_sessions: usize,
    /// Sessions in progress at once from one peer IP address (default
    /// [`DEFAULT_MAX_SESSIONS_PER_IP`], 64), within
    /// [`max_sessions`](Self::max_sessions): an `AuthenticateMessage` from an
    /// IP at its limit is dropped the same way, so one host cannot take every
    /// session slot. IPv4-mapped IPv6 addresses count as IPv4. A session lasts
    /// milliseconds for an honest peer, so 64 covers a host starting many
    /// frameworks at once; raise it for many hosts behind one NAT address.
    pub max_sessions_per_ip: usize,
    /// Authenticated UPIDs one principal may hold in the registry (default
    /// [`DEFAULT_MAX_UPIDS_PER_PRINCIPAL`](crate::DEFAULT_MAX_UPIDS_PER_PRINCIPAL),
    /// 1,024): one more forgets that principal's own oldest. [`Master::spawn`]
    /// sets it on the registry ([`Registry::set_max_upids_per_principal`]),
    /// also on one given in [`registry`](Self::registry).
    pub max_upids_per_principal: usize,
    /// The largest message body the `master` process takes (default
    /// [`DEFAULT_MAX_MESSAGE_BYTES`], 64 KiB; the endpoint's
    /// [`Limits::max_body_bytes`](libprocess::Limits::max_body_bytes) still
    /// applies when lower): a larger one is answered `413` before its body
    /// is read. An `AuthenticateMessage` is under 1 KiB, a framework's or an
    /// agent's registration a few KiB; raise it if the application takes
    /// larger messages on `master` (an agent re-registering with many tasks).
    pub max_message_bytes: usize,
    /// The same for each session process (default
    /// [`DEFAULT_MAX_SESSION_MESSAGE_BYTES`], 16 KiB): SASL steps of CRAM-MD5
    /// and SCRAM are under 1 KiB, a GSSAPI token a few KiB (more with a large
    /// Kerberos PAC).
    pub max_session_message_bytes: usize,
    /// Events buffered for [`MasterHandle::next_event`] (default 4096); when the
    /// buffer is full, further events are dropped (and logged) rather than
    /// holding up the master.
    pub event_capacity: usize,
    /// Registrations being decided at once (default
    /// [`MAX_REGISTRATIONS_IN_FLIGHT`], 256; `max_registrations_in_flight` in
    /// a master config): each decision runs on a blocking thread, as an ACL's
    /// LDAP group lookup may block. A registration beyond that is dropped with
    /// a warning (the scheduler driver sends its registration again after a
    /// backoff). A decision's place is given back as soon as it is made, not
    /// when its answer has been delivered.
    pub max_registrations_in_flight: usize,
    /// Registrations from one peer IP address (the TCP peer's) being decided
    /// or answered at once (default [`DEFAULT_MAX_REGISTRATIONS_PER_IP`], 32;
    /// `max_registrations_per_ip` in a master config). One beyond that is
    /// dropped with a warning. An answer goes to the address the sender
    /// claims (on its own IP): one that does not take it holds its IP's places
    /// for at most the endpoint's `connect_timeout + response_timeout`, and
    /// nobody else's.
    pub max_registrations_per_ip: usize,
    /// The registry to record into; `None`: a new [`Registry::default`].
    pub registry: Option<Registry>,
    /// The registration gate; `None` (the default): registrations are not
    /// answered but reported as [`MasterEvent::Message`]. `Some`: frameworks'
    /// and agents' registrations are decided by it (with the master's
    /// [`peer_binding`](crate::ServerOptions::peer_binding)), answered
    /// from `master`, and reported as [`MasterEvent::Registration`].
    pub registration: Option<RegistrationGate>,
    /// EXTERNAL from client certificates: `Some(source)` takes a principal
    /// from the verified client certificate of the TLS connection each
    /// `AuthenticateMessage` comes over, as `source` says, and gives it to that
    /// session's SASL server (`SASL_AUTH_EXTERNAL`, with the connection's
    /// strength as `SASL_SSF_EXTERNAL`), so that `EXTERNAL`, when `mech_list`
    /// offers it, authenticates the peer as that principal without a secret.
    /// Certificates are verified against the endpoint's CA; set
    /// [`TlsOptions::require_client_cert`](crate::libprocess::TlsOptions::require_client_cert)
    /// (`LIBPROCESS_SSL_REQUIRE_CLIENT_CERT`) so that every peer has one. A
    /// certificate the rule finds no principal in (no common name, two DNS
    /// names...) gives none: EXTERNAL is then not offered to that peer, and
    /// the reason is logged. `None` (the default): no peer identity.
    pub external: Option<PrincipalSource>,
    /// The host name the master advertises in its `MasterInfo` (`hostname` and
    /// `address.hostname`: in registration answers and in its ZooKeeper node).
    /// `None` (the default): none.
    pub hostname: Option<String>,
    /// High availability: `Some`: the master contends in ZooKeeper, serves
    /// only while it leads and drops every message otherwise (see
    /// [`Master`]). `None` (the default): it always leads.
    pub election: Option<MasterElection>,
}

impl MasterOptions {
    /// Options that put every key of a master config into effect: its SASL
    /// config and credentials ([`sasl`](Self::sasl)), `channel_binding`
    /// ([`ServerOptions::channel_binding`]), `external_principal`
    /// ([`external`](Self::external)), `acls` (a
    /// [`registration`](Self::registration) gate deciding by that file and
    /// its reloads), and the registration limits
    /// ([`max_registrations_in_flight`](Self::max_registrations_in_flight),
    /// [`max_registrations_per_ip`](Self::max_registrations_per_ip)).
    /// Everything else is [`MasterOptions::default`].
    ///
    /// ```no_run
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// use cyrus_sasl_mesos::{Master, MasterConfig, MasterOptions};
    ///
    /// let config = MasterConfig::read("/etc/mesos/master.conf")?;
    /// let mut options = MasterOptions::from_config(&config);
    /// options.endpoint.bind_port = 5050;
    /// let master = Master::spawn(options).await?;
    /// println!("listening as {}", master.upid());
    /// # Ok(()) }
    /// ```
    pub fn from_config(config: &MasterConfig) -> Self {
        let defaults = MasterOptions::default();
        let limits = config.limits();
        MasterOptions {
            sasl: config.sasl_config().clone(),
            server: ServerOptions { channel_binding: config.channel_binding(), ..defaults.server },
            endpoint: EndpointOptions {
                max_connections: limits.max_connections.unwrap_or(defaults.endpoint.max_connections),
                max_connections_per_ip: limits
                    .max_connections_per_ip
                    .unwrap_or(defaults.endpoint.max_connections_per_ip),
                ..defaults.endpoint
            },
            max_sessions: limits.max_sessions.unwrap_or(defaults.max_sessions),
            max_sessions_per_ip: limits.max_sessions_per_ip.unwrap_or(defaults.max_sessions_per_ip),
            max_upids_per_principal: limits.max_upids_per_principal.unwrap_or(defaults.max_upids_per_principal),
            max_registrations_in_flight: limits
                .max_registrations_in_flight
                .unwrap_or(defaults.max_registrations_in_flight),
            max_registrations_per_ip: limits.max_registrations_per_ip.unwrap_or(defaults.max_registrations_per_ip),
            registration: config.registration_gate(),
            external: config.external_principal(),
            election: config.election(),
            ..defaults
        }
    }
}

impl Default for MasterOptions {
    fn default() -> Self {
        MasterOptions {
            sasl: Config::new(),
            endpoint: EndpointOptions { max_connections: DEFAULT_MASTER_MAX_CONNECTIONS, ..EndpointOptions::default() },
            server: ServerOptions::default(),
            max_sessions: DEFAULT_MAX_SESSIONS,
            max_sessions_per_ip: DEFAULT_MAX_SESSIONS_PER_IP,
            max_upids_per_principal: crate::registry::DEFAULT_MAX_UPIDS_PER_PRINCIPAL,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_session_message_bytes: DEFAULT_MAX_SESSION_MESSAGE_BYTES,
            event_capacity: 4096,
            max_registrations_in_flight: MAX_REGISTRATIONS_IN_FLIGHT,
            max_registrations_per_ip: DEFAULT_MAX_REGISTRATIONS_PER_IP,
            registry: None,
            registration: None,
            external: None,
            hostname: None,
            election: None,
        }
    }
}

/// How one authentication attempt ended on the master.
#[derive(Debug)]
pub struct AuthenticationRecord {
    /// The UPID in its `AuthenticateMessage` (what the registry records); for
    /// one that is no UPID ([`ExchangeError::BadPid`](crate::ExchangeError::BadPid)),
    /// its first 64 characters.
    pub pid: String,
    /// The authenticatee that sent it (`Libprocess-From`), which the session answered.
    pub from: Upid,
    /// The TCP peer its `AuthenticateMessage` came from.
    pub peer_addr: SocketAddr,
    /// Its session process.
    pub session: Upid,
    /// The SASL mechanism its `AuthenticationStartMessage` named, if one came.
    pub mechanism: Option<String>,
    /// Whether every message of the attempt came over TLS (see
    /// [`EndpointOptions::tls`]).
    pub tls: bool,
    /// Whether the exchange was bound to its TLS connection: the mechanism was
    /// a `-PLUS` one, which the SASL server runs only with the binding of the
    /// connection the `AuthenticateMessage` came over (see
    /// [`ChannelBindingPolicy`](crate::ChannelBindingPolicy)), so an
    /// [`Outcome::Authenticated`] proves the peer is at the other end of it.
    pub channel_bound: bool,
    /// Authenticated, rejected (wrong secret or unknown principal alike), or
    /// failed without a verdict (timed out, superseded, peer address
    /// mismatch, a protocol or SASL error).
    pub outcome: Outcome,
}

/// How one registration ended on the master (with
/// [`MasterOptions::registration`] set).
#[derive(Debug)]
pub struct RegistrationRecord {
    /// The sender (the framework's scheduler UPID, or the agent's).
    pub from: Upid,
    /// The TCP peer it came from.
    pub peer_addr: SocketAddr,
    /// The verdict (its answer went to `from`, from the master's UPID).
    pub verdict: RegistrationVerdict,
}

/// What a [`Master`] reports.
#[derive(Debug)]
#[non_exhaustive]
pub enum MasterEvent {
    /// An authentication attempt ended.
    Authentication(AuthenticationRecord),
    /// A registration was decided and answered.
    Registration(RegistrationRecord),
    /// A message to the `master` process that is not an `AuthenticateMessage`
    /// (a framework's `mesos.scheduler.Call` SUBSCRIBE, an agent's
    /// registration): for the application to handle, checking the sender
    /// against [`MasterHandle::registry`].
    Message(Envelope),
    /// A message that could not be used: a body that is not the protobuf its
    /// name says, or a message name the session does not know. The sender and
    /// what was wrong.
    Malformed {
        /// The claimed sender.
        from: Upid,
        /// The TCP peer.
        peer_addr: SocketAddr,
        /// What was wrong.
        error: String,
    },
    /// An `AuthenticateMessage` was dropped because
    /// [`MasterOptions::max_sessions`] sessions were in progress.
    Overloaded {
        /// The claimed sender.
        from: Upid,
    },
    /// The master was elected in ZooKeeper: it serves from now on.
    Elected,
    /// The master stopped leading (another master's node leads, or its
    /// ZooKeeper session is lost): it aborted every session, forgot every
    /// authenticated UPID and framework id, and drops every message until it
    /// is elected again.
    SteppedDown {
        /// Why: [`ContenderStatus::NotLeading`] or [`ContenderStatus::LostSession`].
        reason: ContenderStatus,
    },
}

/// A session the loop knows: its process (fed to the loop by a forwarding task)
/// and where its answers go.
struct SessionSlot {
    upid: Upid,
    reply_to: Upid,
    peer_addr: SocketAddr,
    forwarder: JoinHandle<()>,
    mechanism: Option<String>,
    tls: bool,
}

/// A running libprocess master that authenticates frameworks and agents.
///
/// - Process `master` takes `mesos.internal.AuthenticateMessage`; each one gets
///   its own session process `crammd5-authenticator-session(N)`, which answers
///   the sender of that message (its `Libprocess-From`) on a connection of the
///   master's own, and takes later messages only from it.
/// - Behaviour is the [`Authenticator`]'s, unchanged: the loop only moves
///   messages between the endpoint and it, and calls its timer. So: a new attempt
///   for the same `pid` supersedes the old one, a session times out after
///   [`ServerOptions::session_timeout`] (15 s), the `pid` of a successful
///   attempt is recorded in the [`Registry`] with its principal, and the UPIDs
///   claimed by a peer must carry the IP address its connection comes from
///   ([`PeerBinding`](crate::PeerBinding)).
/// - A session's process is removed when its session ends: later messages to it
///   are answered `404`, as libprocess does for a terminated process.
/// - Every attempt's end is a [`MasterEvent::Authentication`].
/// - With a [`registration`](MasterOptions::registration) gate, registrations
///   are decided on blocking threads, at most
///   [`max_registrations_in_flight`](MasterOptions::max_registrations_in_flight)
///   at once, and at most
///   [`max_registrations_per_ip`](MasterOptions::max_registrations_per_ip)
///   from one peer IP decided or being answered; beyond either, a
///   registration is dropped with a warning. Answers go out through the
///   endpoint's bounded queue per destination address, each within its
///   `connect_timeout + response_timeout`: a peer whose UPID names a port that
///   never answers holds up only its own IP's registrations.
/// - With [`MasterOptions::election`], it contends in ZooKeeper with its
///   complete [`MasterInfo`] (an ephemeral sequential `json.info_N`, as a
///   Mesos master does) and serves only while its node leads. Until then it
///   drops every message (logged at `debug`), as a Mesos master that is not
///   elected does. When it stops leading (its session is lost, or its node is
///   gone) it steps down at once: it aborts every session, empties its
///   registry and forgets the framework ids it knew (a new term starts
///   empty), reports [`MasterEvent::SteppedDown`], and contends again.
///   [`MasterHandle::shutdown`] withdraws its node first, so the next master
///   leads at once.
///
/// [`spawn`](Self::spawn) runs it on the current tokio runtime; the
/// [`MasterHandle`] reads events and stops it.
pub struct Master;

impl Master {
    /// Binds the endpoint, registers `master`, and runs the loop on a tokio
    /// task. [`MasterOptions::from_config`] makes the options from a master
    /// config file.
    pub async fn spawn(options: MasterOptions) -> io::Result<MasterHandle> {
        let mut endpoint_options = options.endpoint.clone();
        if let Some(budget) = open_file_limit().map(connection_budget) {
            if endpoint_options.max_connections > budget {
                log::warn!(
                    target: LOG_TARGET,
                    "lowering max_connections from {} to {budget}: the open-file limit allows no more (raise it, \
                     e.g. ulimit -n or LimitNOFILE, to serve more peers)",
                    endpoint_options.max_connections
                );
                endpoint_options.max_connections = budget;
            }
        }
        let endpoint = Endpoint::bind(endpoint_options).await?;
        let master = endpoint.register(MASTER_PROCESS_ID).map_err(io::Error::other)?;
        master.set_max_body_bytes(options.max_message_bytes);
        let registry = options.registry.clone().unwrap_or_default();
        registry.set_max_upids_per_principal(options.max_upids_per_principal);
        let (authenticator, outcomes) =
            Authenticator::with_registry(&options.sasl, options.server.clone(), registry.clone());
        let (events_tx, events_rx) = mpsc::channel(options.event_capacity.max(1));
        let (stop_tx, stop_rx) = watch::channel(false);
        let upid = master.upid().clone();
        let gate = options.registration.clone().map(|g| g.with_peer_binding(options.server.peer_binding));
        // Mesos makes a new master id at each start; the gate's ids carry it.
        let master_id = match &gate {
            Some(gate) => gate.master_id().to_owned(),
            None => format!("{:032x}", rand::random::<u128>()),
        };
        let info = Arc::new(advertised_info(master_id, &upid, options.hostname.as_deref()));
        let contender = options.election.as_ref().map(|election| {
            log::info!(
                target: LOG_TARGET,
                "{upid} contends under {} (session timeout {:?})",
                election.zk,
                election.session_timeout
            );
            Contender::join(&election.zk, &info, election.session_timeout)
        });
        let (leading_tx, leading_rx) = watch::channel(contender.is_none());
        let status = contender.as_ref().map(Contender::subscribe);
        let (info_tx, info_rx) = watch::channel(info);
        let event_loop = Loop {
            election: options.election.clone(),
            contender,
            hostname: options.hostname.clone(),
            sasl: options.sasl.clone(),
            server: options.server.clone(),
            leading: leading_tx,
            term: Arc::new(AtomicU64::new(0)),
            info: info_tx,
            gate,
            registrations: RegistrationLimits::new(
                options.max_registrations_in_flight,
                options.max_registrations_per_ip,
            ),
            registry: registry.clone(),
            upid: upid.clone(),
            endpoint: endpoint.clone(),
            authenticator,
            outcomes,
            sessions: HashMap::new(),
            per_ip: HashMap::new(),
            next_session: 0,
            max_sessions: options.max_sessions.max(1),
            max_sessions_per_ip: options.max_sessions_per_ip.max(1),
            max_session_message_bytes: options.max_session_message_bytes,
            last_overload_warning: None,
            dropped_since_warning: 0,
            events: events_tx,
            external: options.external,
        };
        let task = tokio::spawn(event_loop.run(master, stop_rx, status));
        log::info!(target: LOG_TARGET, "Mesos master authenticating at {upid}");
        Ok(MasterHandle {
            upid,
            info: info_rx,
            endpoint,
            registry,
            events: events_rx,
            stop: stop_tx,
            task: Some(task),
            leading: leading_rx,
        })
    }
}

/// The `MasterInfo` a master advertises: [`MasterInfo::for_master`], or for a
/// master on IPv6 (whose `ip` field cannot hold its address), `ip` 0 with the
/// address as text in `address.ip` (as Mesos fills it).
fn advertised_info(id: String, upid: &Upid, hostname: Option<&str>) -> MasterInfo {
    MasterInfo::for_master(id.clone(), upid.clone(), hostname).unwrap_or_else(|_| MasterInfo {
        address: Some(Address {
            hostname: hostname.map(str::to_owned),
            ip: Some(upid.ip().to_string()),
            port: upid.port(),
        }),
        hostname: hostname.map(str::to_owned),
        id,
        ip: std::net::Ipv4Addr::UNSPECIFIED,
        pid: upid.clone(),
        port: upid.port(),
        version: Some(ADVERTISED_MESOS_VERSION.to_owned()),
    })
}

impl fmt::Debug for Master {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Master")
    }
}

/// The handle of a running [`Master`]. Dropping it stops the master.
pub struct MasterHandle {
    upid: Upid,
    info: watch::Receiver<Arc<MasterInfo>>,
    endpoint: Endpoint,
    registry: Registry,
    events: mpsc::Receiver<MasterEvent>,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
    leading: watch::Receiver<bool>,
}

impl MasterHandle {
    /// The master's UPID, `master@ip:port` (its advertised address).
    pub fn upid(&self) -> &Upid {
        &self.upid
    }

    /// What it advertises now: in its registration answers, and in ZooKeeper
    /// when it contends. A contending master that lost its ZooKeeper session
    /// contends again with a new id (as a Mesos master restarts with a new
    /// one), so that frameworks see a new leader and authenticate again.
    pub fn info(&self) -> MasterInfo {
        MasterInfo::clone(&self.info.borrow())
    }

    /// The endpoint it runs on (to send registration answers from `master`, or
    /// to register more processes).
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The registry of authenticated UPIDs, which registration checks.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The principal `pid` is authenticated as, if any.
    pub fn authenticated(&self, pid: &str) -> Option<String> {
        self.registry.authenticated(pid)
    }

    /// The next event; `None` once the master has stopped.
    pub async fn next_event(&mut self) -> Option<MasterEvent> {
        self.events.recv().await
    }

    /// The next event if one is waiting.
    pub fn try_next_event(&mut self) -> Option<MasterEvent> {
        self.events.try_recv().ok()
    }

    /// Whether it leads now: always without [`MasterOptions::election`];
    /// with it, from [`MasterEvent::Elected`] to [`MasterEvent::SteppedDown`].
    pub fn leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// Waits until [`leading`](Self::leading) is `leading`; `false` if the
    /// master stopped first.
    pub async fn wait_leading(&self, leading: bool) -> bool {
        self.leading.clone().wait_for(|now| *now == leading).await.is_ok()
    }

    /// Stops the master and waits for its loop to end. A contending master
    /// first withdraws its node from the election (so that the next master
    /// leads at once rather than after a session timeout). Sessions in progress
    /// end as [`DiscardReason::AuthenticatorDropped`](crate::DiscardReason).
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for MasterHandle {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

impl fmt::Debug for MasterHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterHandle")
            .field("upid", &self.upid)
            .field("leading", &self.leading())
            .finish_non_exhaustive()
    }
}

/// The one loop: endpoint in, [`Authenticator`] in the middle, endpoint out.
struct Loop {
    sasl: Config,
    server: ServerOptions,
    /// Whether the master leads (always, without an election).
    leading: watch::Sender<bool>,
    /// Bumped at each step-down: a registration decided in an earlier term is
    /// not answered.
    term: Arc<AtomicU64>,
    info: watch::Sender<Arc<MasterInfo>>,
    election: Option<MasterElection>,
    contender: Option<Contender>,
    hostname: Option<String>,
    gate: Option<RegistrationGate>,
    registrations: RegistrationLimits,
    registry: Registry,
    upid: Upid,
    endpoint: Endpoint,
    authenticator: Authenticator<u64>,
    outcomes: Outcomes<u64>,
    sessions: HashMap<u64, SessionSlot>,
    /// Sessions in progress per peer IP (canonical), for `max_sessions_per_ip`.
    per_ip: HashMap<IpAddr, usize>,
    next_session: u64,
    max_sessions: usize,
    max_sessions_per_ip: usize,
    max_session_message_bytes: usize,
    /// When an overloaded master last warned of a dropped `AuthenticateMessage`,
    /// and how many it dropped since.
    last_overload_warning: Option<Instant>,
    dropped_since_warning: u64,
    events: mpsc::Sender<MasterEvent>,
    external: Option<PrincipalSource>,
}

impl Loop {
    async fn run(
        mut self,
        mut master: Process,
        mut stop: watch::Receiver<bool>,
        mut election: Option<watch::Receiver<ContenderStatus>>,
    ) {
        // Every session process forwards what it receives here, tagged with its key.
        let (session_tx, mut session_rx) = mpsc::channel::<(u64, Envelope)>(1024);
        loop {
            let deadline = self.authenticator.poll_timeout().map(Instant::from_std);
            tokio::select! {
                _ = stop.changed() => break,
                status = next_status(&mut election) => {
                    if let Some(rejoined) = self.on_status(status) {
                        election = Some(rejoined);
                    }
                }
                envelope = master.recv() => match envelope {
                    Some(envelope) => self.on_master_message(envelope, &session_tx),
                    None => break,
                },
                Some((key, envelope)) = session_rx.recv() => self.on_session_message(key, envelope),
                () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.authenticator.handle_timeout(std::time::Instant::now());
                }
            }
            self.flush();
        }
        // Withdraw first, so that the next master leads at once; bounded, as
        // ZooKeeper may be away (closing the session then does it later).
        if let Some(contender) = self.contender.take() {
            match tokio::time::timeout(WITHDRAW_TIMEOUT, contender.withdraw()).await {
                Ok(Ok(())) => log::info!(target: LOG_TARGET, "{} withdrew from the election", self.upid),
                Ok(Err(e)) => log::warn!(target: LOG_TARGET, "{}: withdrawing from the election: {e}", self.upid),
                Err(_) => log::warn!(target: LOG_TARGET, "{}: ZooKeeper did not confirm the withdrawal", self.upid),
            }
        }
        // Pending sessions end as dropped; report them, then stop their processes.
        let Loop { authenticator, outcomes, mut sessions, events, .. } = self;
        drop(authenticator);
        for outcome in outcomes.try_iter() {
            if let Some(slot) = sessions.remove(&outcome.peer) {
                slot.forwarder.abort();
                let _ = events.try_send(MasterEvent::Authentication(record(outcome, slot)));
            }
        }
        for slot in sessions.into_values() {
            slot.forwarder.abort();
        }
    }

    /// A change of the contender's status; a new contender's status receiver
    /// when it contends again.
    fn on_status(&mut self, status: ContenderStatus) -> Option<watch::Receiver<ContenderStatus>> {
        let leading = *self.leading.borrow();
        match (leading, status) {
            (false, ContenderStatus::Leading) => {
                log::info!(target: LOG_TARGET, "{} is elected: leading", self.upid);
                self.leading.send_replace(true);
                self.emit(MasterEvent::Elected);
            }
            (true, ContenderStatus::NotLeading | ContenderStatus::LostSession) => self.step_down(status),
            _ => {}
        }
        if status == ContenderStatus::LostSession { self.contend_again() } else { None }
    }

    /// After a lost session: contends again under a new id, as a Mesos master
    /// restarted after losing its session would. Frameworks then see a new
    /// leader even when it is this master again, and authenticate again, which
    /// the new term's empty registry needs.
    fn contend_again(&mut self) -> Option<watch::Receiver<ContenderStatus>> {
        let election = self.election.as_ref()?;
        drop(self.contender.take());
        let info = advertised_info(format!("{:032x}", rand::random::<u128>()), &self.upid, self.hostname.as_deref());
        log::info!(target: LOG_TARGET, "{} contends again as {:?}", self.upid, info.id);
        let contender = Contender::join(&election.zk, &info, election.session_timeout);
        let status = contender.subscribe();
        self.contender = Some(contender);
        self.info.send_replace(Arc::new(info));
        Some(status)
    }

    /// Stops leading at once: every session ends (reported as dropped), the
    /// registry and the gate's framework ids are emptied, and a new term begins.
    fn step_down(&mut self, reason: ContenderStatus) {
        log::warn!(target: LOG_TARGET, "{} steps down ({reason:?}): forgetting every session and UPID", self.upid);
        self.leading.send_replace(false);
        self.term.fetch_add(1, Ordering::SeqCst);
        let (authenticator, outcomes) =
            Authenticator::with_registry(&self.sasl, self.server.clone(), self.registry.clone());
        drop(std::mem::replace(&mut self.authenticator, authenticator));
        let old = std::mem::replace(&mut self.outcomes, outcomes);
        for outcome in old.try_iter() {
            if let Some(slot) = self.remove_session(outcome.peer) {
                self.endpoint.unregister(slot.upid.id());
                slot.forwarder.abort();
                self.emit(MasterEvent::Authentication(record(outcome, slot)));
            }
        }
        for (_, slot) in self.sessions.drain() {
            self.endpoint.unregister(slot.upid.id());
            slot.forwarder.abort();
        }
        self.per_ip.clear();
        self.registry.clear();
        if let Some(gate) = &self.gate {
            gate.forget_frameworks();
        }
        self.emit(MasterEvent::SteppedDown { reason });
    }

    fn emit(&self, event: MasterEvent) {
        if let Err(e) = self.events.try_send(event) {
            log::warn!(target: LOG_TARGET, "master event buffer full or closed; dropping {:?}", e.into_inner());
        }
    }

    fn on_master_message(&mut self, envelope: Envelope, session_tx: &mpsc::Sender<(u64, Envelope)>) {
        if !*self.leading.borrow() {
            log::debug!(
                target: LOG_TARGET,
                "dropping {:?} from {:?}: not elected",
                envelope.name,
                envelope.from.to_string()
            );
            return;
        }
        if envelope.name != MessageType::Authenticate.proto_name() {
            if self.gate.is_some() && REGISTRATION_MESSAGES.contains(&envelope.name.as_str()) {
                return self.on_registration(envelope);
            }
            self.emit(MasterEvent::Message(envelope));
            return;
        }
        let message = match Message::decode(MessageType::Authenticate.tag(), &envelope.body) {
            Ok(message) => message,
            Err(e) => return self.malformed(&envelope, Chain(&e).to_string()),
        };
        let peer_ip = envelope.peer_addr.ip().to_canonical();
        let from_ip = self.per_ip.get(&peer_ip).copied().unwrap_or(0);
        if self.sessions.len() >= self.max_sessions || from_ip >= self.max_sessions_per_ip {
            let full = if from_ip >= self.max_sessions_per_ip {
                format!("{from_ip} sessions from {peer_ip} in progress")
            } else {
                format!("{} sessions in progress", self.sessions.len())
            };
            // At most one warning a second: a flood of them is the peer's to make, not the log's.
            self.dropped_since_warning += 1;
            let now = Instant::now();
            if self.last_overload_warning.is_none_or(|last| now >= last + Duration::from_secs(1)) {
                log::warn!(
                    target: LOG_TARGET,
                    "dropping an AuthenticateMessage from {:?}: {full} ({} dropped since the last such warning)",
                    envelope.from.to_string(),
                    self.dropped_since_warning
                );
                self.last_overload_warning = Some(now);
                self.dropped_since_warning = 0;
            }
            self.emit(MasterEvent::Overloaded { from: envelope.from });
            return;
        }
        let process = match self.endpoint.spawn_process(SESSION_PREFIX) {
            Ok(process) => process,
            Err(e) => {
                log::error!(target: LOG_TARGET, "cannot start a session process: {e}");
                return;
            }
        };
        process.set_max_body_bytes(self.max_session_message_bytes);
        self.next_session += 1;
        let key = self.next_session;
        let upid = process.upid().clone();
        let forwarder = tokio::spawn(forward(process, key, session_tx.clone()));
        let mut origin = origin(&envelope);
        if let (Some(source), Some(channel), Some(tls)) = (self.external, origin.channel.as_mut(), &envelope.tls) {
            channel.peer_identity = tls.peer_certificate().and_then(|cert| {
                client_certificate_principal(cert, source)
                    .inspect_err(|e| {
                        log::warn!(
                            target: LOG_TARGET,
                            "no EXTERNAL identity for {:?} ({}): its client certificate: {e}",
                            envelope.from.to_string(),
                            envelope.peer_addr
                        );
                    })
                    .ok()
            });
        }
        let slot = SessionSlot {
            upid,
            reply_to: envelope.from,
            peer_addr: envelope.peer_addr,
            forwarder,
            mechanism: None,
            tls: envelope.tls.is_some(),
        };
        self.sessions.insert(key, slot);
        *self.per_ip.entry(peer_ip).or_default() += 1;
        self.authenticator.handle_message(std::time::Instant::now(), key, &origin, message);
    }

    /// Decides a registration on a blocking thread (an ACL group lookup may
    /// block), reports it, answers it from `master`.
    fn on_registration(&self, envelope: Envelope) {
        let request = match RegistrationRequest::decode(&envelope.name, &envelope.body) {
            Ok(Some(request)) => request,
            Ok(None) => return self.emit(MasterEvent::Message(envelope)),
            Err(e) => return self.malformed(&envelope, e.to_string()),
        };
        let Some(gate) = self.gate.clone() else { return };
        let peer_ip = envelope.peer_addr.ip().to_canonical();
        let Some(place) = self.registrations.admit(peer_ip) else {
            log::warn!(
                target: LOG_TARGET,
                "dropping {} from {:?}: {} registrations from {peer_ip} in progress",
                envelope.name,
                envelope.from.to_string(),
                self.registrations.max_per_ip
            );
            return;
        };
        let Ok(permit) = Arc::clone(&self.registrations.decisions).try_acquire_owned() else {
            log::warn!(
                target: LOG_TARGET,
                "dropping {} from {:?}: {} registrations being decided",
                envelope.name,
                envelope.from.to_string(),
                self.registrations.max_decisions
            );
            return;
        };
        let (term, decided_in) = (Arc::clone(&self.term), self.term.load(Ordering::SeqCst));
        let (registry, endpoint, master, events, info) = (
            self.registry.clone(),
            self.endpoint.clone(),
            self.upid.clone(),
            self.events.clone(),
            Arc::clone(&self.info.borrow()),
        );
        tokio::spawn(async move {
            let (from, peer_ip) = (envelope.from.to_string(), envelope.peer_addr.ip());
            let decided = tokio::task::spawn_blocking(move || gate.decide(&request, &from, peer_ip, &registry, &info));
            let answer = match decided.await {
                Ok(answer) => answer,
                Err(e) => return log::error!(target: LOG_TARGET, "registration decision failed: {e}"),
            };
            // Decided: the place among decisions is free again. The answer's
            // delivery is bounded by the endpoint (its queue per address and
            // one deadline per send) and counts only against the sender's IP.
            drop(permit);
            match &answer.verdict {
                RegistrationVerdict::Denied { principal, denial, .. } => log::info!(
                    target: LOG_TARGET,
                    "denying the registration of {:?} (principal {principal:?}): {denial}",
                    envelope.from.to_string()
                ),
                verdict => {
                    log::info!(target: LOG_TARGET, "registration of {:?}: {verdict:?}", envelope.from.to_string())
                }
            }
            let record = RegistrationRecord {
                from: envelope.from.clone(),
                peer_addr: envelope.peer_addr,
                verdict: answer.verdict.clone(),
            };
            if let Err(e) = events.try_send(MasterEvent::Registration(record)) {
                log::warn!(target: LOG_TARGET, "master event buffer full or closed; dropping {:?}", e.into_inner());
            }
            // A sender whose claimed address is not its connection's is not to be
            // believed, so neither is where it asks the answer to go: no answer.
            if matches!(answer.verdict, RegistrationVerdict::Denied { denial: Denial::PeerAddressMismatch { .. }, .. })
            {
                return;
            }
            // Decided in a term that has ended: the master no longer leads, or
            // leads again with an empty registry. Not answered.
            if term.load(Ordering::SeqCst) != decided_in {
                log::debug!(target: LOG_TARGET, "not answering {:?}: decided before a step-down", envelope.from.to_string());
                return;
            }
            if let Err(e) = endpoint.send(&master, &envelope.from, &answer.reply_name, &answer.reply_body).await {
                log::info!(
                    target: LOG_TARGET,
                    "cannot deliver {} to {:?}: {e}",
                    answer.reply_name,
                    envelope.from.to_string()
                );
            }
            drop(place);
        });
    }

    fn on_session_message(&mut self, key: u64, envelope: Envelope) {
        if !*self.leading.borrow() {
            // Sessions end at a step-down; a message already queued is late.
            return;
        }
        let Some(message_type) = MessageType::from_proto_name(&envelope.name) else {
            return self.malformed(&envelope, format!("unknown message {:?} for a session", envelope.name));
        };
        let message = match Message::decode(message_type.tag(), &envelope.body) {
            Ok(message) => message,
            Err(e) => return self.malformed(&envelope, Chain(&e).to_string()),
        };
        // For the record: only what the session's own peer sent (the
        // authenticator ignores the rest).
        if let Some(slot) = self.sessions.get_mut(&key).filter(|slot| slot.reply_to == envelope.from) {
            slot.tls &= envelope.tls.is_some();
            if let Message::Start(start) = &message {
                slot.mechanism.get_or_insert_with(|| start.mechanism.clone());
            }
        }
        let origin = origin(&envelope);
        self.authenticator.handle_message(std::time::Instant::now(), key, &origin, message);
    }

    /// Removes session `key`'s slot, counting it out of its IP's sessions.
    fn remove_session(&mut self, key: u64) -> Option<SessionSlot> {
        let slot = self.sessions.remove(&key)?;
        let ip = slot.peer_addr.ip().to_canonical();
        if let std::collections::hash_map::Entry::Occupied(mut count) = self.per_ip.entry(ip) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
        Some(slot)
    }

    fn malformed(&self, envelope: &Envelope, error: String) {
        log::warn!(
            target: LOG_TARGET,
            "ignoring {:?} from {:?} ({}): {error}",
            envelope.name,
            envelope.from.to_string(),
            envelope.peer_addr
        );
        self.emit(MasterEvent::Malformed { from: envelope.from.clone(), peer_addr: envelope.peer_addr, error });
    }

    /// Sends what the authenticator queued, then reports ended sessions and
    /// removes their processes.
    fn flush(&mut self) {
        while let Some((key, message)) = self.authenticator.poll_transmit() {
            let Some(slot) = self.sessions.get(&key) else { continue };
            let (endpoint, from, to) = (self.endpoint.clone(), slot.upid.clone(), slot.reply_to.clone());
            // Each send waits for its 202 (bounded by the endpoint's timeouts):
            // on a task of its own, so one slow peer never holds up the loop.
            tokio::spawn(async move {
                let name = message.message_type().proto_name();
                if let Err(e) = endpoint.send(&from, &to, name, &message.encode()).await {
                    log::info!(target: LOG_TARGET, "cannot deliver {name} to {:?}: {e}", to.to_string());
                }
            });
        }
        while let Some(outcome) = self.outcomes.try_next() {
            let Some(slot) = self.remove_session(outcome.peer) else { continue };
            // 404 from now on, as for a terminated libprocess process.
            self.endpoint.unregister(slot.upid.id());
            slot.forwarder.abort();
            self.emit(MasterEvent::Authentication(record(outcome, slot)));
        }
    }
}

/// What bounds registrations: decisions at once, and registrations (decided
/// or being answered) per peer IP.
struct RegistrationLimits {
    decisions: Arc<Semaphore>,
    max_decisions: usize,
    per_ip: Arc<parking_lot::Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
}

impl RegistrationLimits {
    fn new(max_decisions: usize, max_per_ip: usize) -> Self {
        let max_decisions = max_decisions.clamp(1, Semaphore::MAX_PERMITS);
        RegistrationLimits {
            decisions: Arc::new(Semaphore::new(max_decisions)),
            max_decisions,
            per_ip: Arc::default(),
            max_per_ip: max_per_ip.max(1),
        }
    }

    /// A place for one more registration from `ip`, unless it has its limit.
    fn admit(&self, ip: IpAddr) -> Option<IpPlace> {
        let mut per_ip = self.per_ip.lock();
        let count = per_ip.entry(ip).or_default();
        if *count >= self.max_per_ip {
            return None;
        }
        *count += 1;
        Some(IpPlace { per_ip: Arc::clone(&self.per_ip), ip })
    }
}

/// One registration's place in its peer IP's count, given back when dropped.
struct IpPlace {
    per_ip: Arc<parking_lot::Mutex<HashMap<IpAddr, usize>>>,
    ip: IpAddr,
}

impl Drop for IpPlace {
    fn drop(&mut self) {
        let mut per_ip = self.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
    }
}

/// The soft open-file limit of this process (`Max open files` in
/// `/proc/self/limits`); `None` where that cannot be read or is unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

/// The inbound connections an open-file limit leaves room for: 128
/// descriptors for the rest of the process, then one inbound and one outbound
/// connection per peer; at least 16.
fn connection_budget(open_files: u64) -> usize {
    usize::try_from(open_files.saturating_sub(128) / 2).unwrap_or(usize::MAX).max(16)
}

/// How long a stopping master waits for ZooKeeper to confirm its withdrawal.
const WITHDRAW_TIMEOUT: Duration = Duration::from_secs(2);

/// The contender's next status; never, without an election (or once the
/// contender is gone, which only happens as the master stops).
async fn next_status(election: &mut Option<watch::Receiver<ContenderStatus>>) -> ContenderStatus {
    if let Some(status) = election.as_mut() {
        if status.changed().await.is_ok() {
            return *status.borrow_and_update();
        }
        *election = None;
        // The contender is gone: whatever it last said no longer holds.
        return ContenderStatus::LostSession;
    }
    std::future::pending().await
}

/// Who sent `envelope`, as the sans-IO authenticator takes it: with the
/// `tls-exporter` binding of the TLS connection it came over.
fn origin(envelope: &Envelope) -> Origin {
    let origin = Origin::new(envelope.from.to_string(), envelope.peer_addr.ip());
    match &envelope.tls {
        Some(tls) => origin.with_channel(SecureChannel::from_tls(tls)),
        None => origin,
    }
}

fn record(outcome: SessionOutcome<u64>, slot: SessionSlot) -> AuthenticationRecord {
    let channel_bound = slot.tls && slot.mechanism.as_deref().is_some_and(crate::authenticatee::is_plus);
    AuthenticationRecord {
        channel_bound,
        pid: outcome.pid,
        from: slot.reply_to,
        peer_addr: slot.peer_addr,
        session: slot.upid,
        mechanism: slot.mechanism,
        tls: slot.tls,
        outcome: outcome.outcome,
    }
}

/// Moves a session process's messages into the loop; ends (dropping the
/// process, which unregisters it) when aborted or when the loop is gone.
async fn forward(mut process: Process, key: u64, to_loop: mpsc::Sender<(u64, Envelope)>) {
    while let Some(envelope) = process.recv().await {
        if to_loop.send((key, envelope)).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connection_budget_leaves_two_descriptors_per_peer_and_128_spare() {
        assert_eq!(connection_budget(1024), 448);
        assert_eq!(connection_budget(65_536), 32_704);
        assert_eq!(connection_budget(16_512), DEFAULT_MASTER_MAX_CONNECTIONS);
        // Absurdly low limits still leave a few connections.
        assert_eq!(connection_budget(0), 16);
        assert_eq!(connection_budget(u64::MAX), usize::try_from((u64::MAX - 128) / 2).unwrap_or(usize::MAX));
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn the_open_file_limit_is_read_from_proc() {
        // Linux has no unlimited open-file limit: the soft limit is a number.
        let limit = open_file_limit().expect("Max open files in /proc/self/limits");
        assert!(limit > 0);
    }
}

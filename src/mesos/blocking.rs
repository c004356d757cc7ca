//! The blocking transport over `std::net`: a [`Master`] that serves
//! authentications on a thread per connection, and [`authenticate`] for
//! frameworks and agents.
//!
//! Frames are those of [`framing`](super::framing). Every read has a deadline
//! (`TcpStream::set_read_timeout`): the session's timeout on the master, the
//! attempt's timeout on the client, so a silent or vanished peer ends in a typed
//! error, never a hang. The driver owns the clock and feeds it to the sans-IO
//! state machines.
//!
//! ```
//! use cyrus_sasl::mesos::blocking::{Master, authenticate};
//! use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterOptions};
//! use cyrus_sasl::mesos::{Credential, Verdict};
//! use cyrus_sasl::{Config, CredentialStore, Secret};
//!
//! let store = CredentialStore::from_credentials([("framework-a".to_owned(), Secret::from("s3cret"))])?;
//! let config = Config::new().with("mech_list", "CRAM-MD5")?.with_credential_store(&store);
//! let master = Master::bind("127.0.0.1:0", &config, MasterOptions::default())?.spawn()?;
//!
//! let options = AuthenticateOptions::default();
//! let verdict = authenticate(master.local_addr(), Credential::new("framework-a", "s3cret"), &options)?;
//! assert_eq!(verdict, Verdict::Authenticated);
//! let verdict = authenticate(master.local_addr(), Credential::new("framework-a", "wrong"), &options)?;
//! assert_eq!(verdict, Verdict::Refused);
//! master.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::io::{self, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use rand::rngs::StdRng;

use crate::Config;
use crate::mesos::authenticatee::Credential;
use crate::mesos::driver::{
    AuthenticateOptions, ClientCore, ClientError, Direction, MasterConn, MasterEvent, MasterOptions, Observer,
};
use crate::mesos::framing::{FrameError, read_message, write_message};
use crate::mesos::registry::Registry;
use crate::mesos::retry::{AuthenticationRetry, Verdict};

/// A bound master, not yet serving. [`spawn`](Self::spawn) starts it.
#[derive(Debug)]
pub struct Master {
    listener: TcpListener,
    config: Config,
    options: MasterOptions,
}

impl Master {
    /// Binds `addr` (e.g. `127.0.0.1:0` for any free port). Sessions run SASL
    /// servers made from `config`: its mechanisms and credential source, e.g.
    /// [`MasterConfig::sasl_config`](super::MasterConfig::sasl_config).
    pub fn bind(addr: impl ToSocketAddrs, config: &Config, options: MasterOptions) -> io::Result<Self> {
        Ok(Master { listener: TcpListener::bind(addr)?, config: config.clone(), options })
    }

    /// Serves on a listener bound elsewhere (e.g. one inherited from a supervisor).
    pub fn from_listener(listener: TcpListener, config: &Config, options: MasterOptions) -> Self {
        Master { listener, config: config.clone(), options }
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts accepting on a thread of its own; each connection gets a thread.
    pub fn spawn(self) -> io::Result<MasterHandle> {
        let addr = self.listener.local_addr()?;
        let (events_tx, events) = mpsc::sync_channel(self.options.event_capacity.max(1));
        let shared = Arc::new(Shared {
            config: self.config,
            options: self.options,
            pids: Registry::default(),
            events: events_tx,
            stopping: AtomicBool::new(false),
            next_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
            all_closed: Condvar::new(),
        });
        let accept_shared = Arc::clone(&shared);
        let listener = self.listener;
        let acceptor = thread::Builder::new()
            .name("mesos-master-accept".into())
            .spawn(move || accept_loop(&listener, &accept_shared))?;
        Ok(MasterHandle { addr, shared, events, acceptor: Some(acceptor) })
    }
}

/// A running master. Dropping it shuts it down, as [`shutdown`](Self::shutdown) does.
#[derive(Debug)]
pub struct MasterHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::Receiver<MasterEvent>,
    acceptor: Option<JoinHandle<()>>,
}

impl MasterHandle {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The principal `pid` authenticated as, if its latest authentication
    /// succeeded (Mesos's `authenticated` map, across all connections).
    pub fn authenticated(&self, pid: &str) -> Option<String> {
        self.shared.pids.authenticated(pid)
    }

    /// The next event, waiting at most `timeout`.
    pub fn next_event(&self, timeout: Duration) -> Option<MasterEvent> {
        self.events.recv_timeout(timeout).ok()
    }

    /// The next event, if one is waiting.
    pub fn try_next_event(&self) -> Option<MasterEvent> {
        self.events.try_recv().ok()
    }

    /// Connections being served right now.
    pub fn active_connections(&self) -> usize {
        self.shared.connections.lock().len()
    }

    /// Stops accepting, closes every connection (sessions in progress end as
    /// `PeerExited`), and waits for every thread to finish.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(acceptor) = self.acceptor.take() else { return };
        self.shared.stopping.store(true, Ordering::SeqCst);
        // Wake the acceptor, blocked in accept(), with a connection of our own.
        let _ = TcpStream::connect_timeout(&wake_addr(self.addr), Duration::from_secs(1));
        let _ = acceptor.join();
        let mut connections = self.shared.connections.lock();
        for stream in connections.values() {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        while !connections.is_empty() {
            self.shared.all_closed.wait(&mut connections);
        }
    }
}

impl Drop for MasterHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The address to connect to in order to reach a listener bound to `addr`.
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    }
}

struct Shared {
    config: Config,
    options: MasterOptions,
    pids: Registry,
    events: mpsc::SyncSender<MasterEvent>,
    stopping: AtomicBool,
    next_id: AtomicU64,
    /// A clone of every open connection's stream, so shutdown can close them.
    connections: Mutex<HashMap<u64, TcpStream>>,
    all_closed: Condvar,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Shared {
    fn report(&self, event: MasterEvent) {
        if let Err(mpsc::TrySendError::Full(event)) = self.events.try_send(event) {
            log::debug!("master event queue full; dropping {event:?}");
        }
    }
}

fn accept_loop(listener: &TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            return;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                // EMFILE and friends: back off a little rather than spin.
                log::warn!("accept failed: {e}");
                thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        let Ok(peer) = stream.peer_addr() else { continue };
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        {
            let mut connections = shared.connections.lock();
            if connections.len() >= shared.options.max_connections {
                log::warn!("refusing {peer}: {} connections already", connections.len());
                continue;
            }
            match stream.try_clone() {
                Ok(clone) => connections.insert(id, clone),
                Err(e) => {
                    log::warn!("refusing {peer}: {e}");
                    continue;
                }
            };
        }
        let conn_shared = Arc::clone(shared);
        let spawned = thread::Builder::new().name(format!("mesos-master-{peer}")).spawn(move || {
            serve_connection(stream, peer, &conn_shared);
            let mut connections = conn_shared.connections.lock();
            connections.remove(&id);
            if connections.is_empty() {
                conn_shared.all_closed.notify_all();
            }
        });
        if let Err(e) = spawned {
            log::warn!("refusing {peer}: cannot start a thread: {e}");
            shared.connections.lock().remove(&id);
        }
    }
}

/// Serves one connection until its session ends, it fails, or it idles out.
fn serve_connection(stream: TcpStream, peer: SocketAddr, shared: &Shared) {
    let options = &shared.options;
    let limits = options.frame_limits;
    let mut conn = MasterConn::new(Instant::now(), peer, &shared.config, options, shared.pids.clone());
    let _ = stream.set_nodelay(true);
    let _ = stream.set_write_timeout(Some(options.idle_timeout.max(Duration::from_millis(1))));
    let mut reader = BufReader::new(&stream);
    let mut writer = &stream;
    loop {
        let mut write_failed = None;
        while let Some(message) = conn.poll_transmit() {
            if write_failed.is_some() {
                continue;
            }
            Observer::notify(&options.observer, Direction::Sent, peer, &message);
            if let Err(e) = write_message(&mut writer, &message, limits) {
                write_failed = Some(e);
            }
        }
        if let Some(e) = write_failed {
            conn.handle_error(e);
        }
        for event in conn.take_events() {
            shared.report(event);
        }
        if conn.is_done() {
            break;
        }
        let deadline = conn.deadline();
        let result = match deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero()) {
            None => Err(FrameError::TimedOut),
            Some(wait) => match stream.set_read_timeout(Some(wait)) {
                Ok(()) => read_message(&mut reader, limits),
                Err(e) => Err(FrameError::Io(e)),
            },
        };
        match result {
            Ok(message) => {
                Observer::notify(&options.observer, Direction::Received, peer, &message);
                conn.handle_message(Instant::now(), message);
            }
            Err(FrameError::TimedOut) => conn.handle_timeout(deadline),
            Err(error) => {
                if let Some(reply) = conn.handle_error(error) {
                    Observer::notify(&options.observer, Direction::Sent, peer, &reply);
                    let _ = write_message(&mut writer, &reply, limits);
                }
            }
        }
    }
    log::debug!("closing connection from {peer} ({})", conn.pid().unwrap_or("no session"));
    let _ = stream.shutdown(std::net::Shutdown::Write);
}

/// Authenticates `credential` with the master at `addr`, retrying as Mesos's
/// frameworks and agents do (a fresh connection per attempt, each with a
/// timeout from [`AuthenticateOptions::backoff`]), and returns the verdict.
/// The connection is closed afterwards; use a [`MasterLink`] to keep it for
/// later authentications.
///
/// `Ok(Verdict::Authenticated)` or `Ok(Verdict::Refused)` are the master's
/// answer (a refusal is never retried); `Err` means no attempt got an answer
/// within [`AuthenticateOptions::max_attempts`], with the last attempt's reason.
/// Agents and frameworks use the same function: only the principal differs.
pub fn authenticate(
    addr: SocketAddr,
    credential: Credential,
    options: &AuthenticateOptions,
) -> Result<Verdict, ClientError> {
    MasterLink::new(addr).authenticate(credential, options)
}

/// A framework's or agent's connection to its master, kept open between
/// authentications, as a libprocess link is.
///
/// The first attempt of each [`authenticate`](Self::authenticate) reuses the
/// connection the previous one ended on, if the master has not closed it (the
/// master keeps a link open for [`MasterOptions::idle_timeout`] after a
/// verdict). Every retry still opens a fresh connection, so nothing of a failed
/// attempt can reach the next. Reusing the connection saves the TCP handshake
/// and teardown, which on loopback cost more than the CRAM-MD5 exchange itself.
///
/// ```
/// # use cyrus_sasl::mesos::blocking::{Master, MasterLink};
/// # use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterOptions};
/// # use cyrus_sasl::mesos::{Credential, Verdict};
/// # use cyrus_sasl::{Config, CredentialStore, Secret};
/// # let store = CredentialStore::from_credentials([("agent-7".to_owned(), Secret::from("s3cret"))])?;
/// # let config = Config::new().with_credential_store(&store);
/// # let master = Master::bind("127.0.0.1:0", &config, MasterOptions::default())?.spawn()?;
/// let mut link = MasterLink::new(master.local_addr());
/// let options = AuthenticateOptions::default();
/// for _ in 0..3 {
///     let verdict = link.authenticate(Credential::new("agent-7", "s3cret"), &options)?;
///     assert_eq!(verdict, Verdict::Authenticated);
/// }
/// assert!(link.is_connected());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct MasterLink {
    addr: SocketAddr,
    kept: Option<Connection>,
}

/// One TCP connection of a client, with its read buffer.
#[derive(Debug)]
struct Connection {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Connection {
    /// Connects within `timeout`, and never past `deadline`.
    fn open(addr: SocketAddr, timeout: Duration, deadline: Instant) -> io::Result<Self> {
        let left = deadline.saturating_duration_since(Instant::now());
        let timeout = timeout.min(left);
        if timeout.is_zero() {
            return Err(io::Error::from(io::ErrorKind::TimedOut));
        }
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_nodelay(true)?;
        let reader = BufReader::new(stream.try_clone()?);
        Ok(Connection { stream, reader })
    }

    /// Whether a kept connection is still usable: the master has not closed it
    /// and sent nothing since the last verdict. Looks without blocking.
    fn is_usable(&self) -> bool {
        if !self.reader.buffer().is_empty() || self.stream.set_nonblocking(true).is_err() {
            return false;
        }
        let usable = matches!(self.stream.peek(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock);
        usable && self.stream.set_nonblocking(false).is_ok()
    }
}

impl MasterLink {
    /// A link to the master at `addr`; it connects on first use.
    pub fn new(addr: SocketAddr) -> Self {
        MasterLink { addr, kept: None }
    }

    /// The master's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Whether a connection is kept for the next authentication.
    pub fn is_connected(&self) -> bool {
        self.kept.is_some()
    }

    /// Closes the kept connection, if any.
    pub fn disconnect(&mut self) {
        self.kept = None;
    }

    /// Authenticates `credential`: see the free function [`authenticate`].
    pub fn authenticate(
        &mut self,
        credential: Credential,
        options: &AuthenticateOptions,
    ) -> Result<Verdict, ClientError> {
        let pid = options.pid_for(&credential.principal);
        let retry = AuthenticationRetry::new(
            credential,
            pid,
            options.client.clone(),
            options.backoff,
            rand::make_rng::<StdRng>(),
        );
        self.run(retry, options)
    }

    /// [`authenticate`](Self::authenticate) with an [`AuthenticationRetry`] of
    /// your own (a seeded RNG, a PID of your choosing). `options.pid`, `client`
    /// and `backoff` are not used: the retry has its own.
    pub fn run<R: rand::Rng>(
        &mut self,
        retry: AuthenticationRetry<R>,
        options: &AuthenticateOptions,
    ) -> Result<Verdict, ClientError> {
        let addr = self.addr;
        let limits = options.frame_limits;
        let mut core = ClientCore::new(retry, options.max_attempts);
        let mut conn: Option<(u32, Connection)> = None;
        let mut kept = self.kept.take().filter(Connection::is_usable);
        core.start(Instant::now());
        loop {
            if let Some(result) = core.poll_result() {
                // Keep the connection a verdict arrived on; it is clean.
                if result.is_ok() {
                    self.kept = conn.filter(|(attempt, _)| *attempt == core.attempt()).map(|(_, c)| c);
                }
                return result;
            }
            if conn.as_ref().is_some_and(|(attempt, _)| *attempt != core.attempt()) {
                conn = None;
            }
            while let Some((attempt, message)) = core.poll_transmit() {
                if conn.is_none() {
                    let deadline = core.deadline().unwrap_or_else(Instant::now);
                    let opened = match kept.take() {
                        Some(c) if attempt == 1 => Ok(c),
                        _ => Connection::open(addr, options.connect_timeout, deadline),
                    };
                    // Writes are tiny; one blocks only if the master stops
                    // reading, and then no longer than the attempt lasts.
                    let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
                    match opened.and_then(|c| c.stream.set_write_timeout(Some(left)).map(|()| c)) {
                        Ok(c) => conn = Some((attempt, c)),
                        Err(e) => {
                            core.connect_failed(e);
                            continue;
                        }
                    }
                }
                let Some((_, c)) = conn.as_mut() else { continue };
                Observer::notify(&options.observer, Direction::Sent, addr, &message);
                if let Err(e) = write_message(&mut c.stream, &message, limits) {
                    conn = None;
                    core.connection_failed(Instant::now(), e);
                    break;
                }
            }
            if let Some(result) = core.poll_result() {
                if result.is_ok() {
                    self.kept = conn.filter(|(attempt, _)| *attempt == core.attempt()).map(|(_, c)| c);
                }
                return result;
            }
            let Some(deadline) = core.deadline() else { return Err(core.stalled()) };
            let attempt = core.attempt();
            let wait = deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero());
            match (wait, conn.as_mut()) {
                (None, _) => core.handle_timeout(deadline),
                (Some(wait), Some((conn_attempt, c))) if *conn_attempt == attempt && core.reachable() => {
                    let result = match c.stream.set_read_timeout(Some(wait)) {
                        Ok(()) => read_message(&mut c.reader, limits),
                        Err(e) => Err(FrameError::Io(e)),
                    };
                    match result {
                        Ok(message) => {
                            Observer::notify(&options.observer, Direction::Received, addr, &message);
                            core.handle_message(Instant::now(), attempt, message);
                        }
                        Err(FrameError::TimedOut) => core.handle_timeout(deadline),
                        Err(e) => {
                            conn = None;
                            core.connection_failed(Instant::now(), e);
                        }
                    }
                }
                // No connection for this attempt (its connect failed, or it has
                // sent nothing yet): wait out its timeout.
                (Some(wait), _) => {
                    thread::sleep(wait);
                    core.handle_timeout(deadline);
                }
            }
        }
    }
}

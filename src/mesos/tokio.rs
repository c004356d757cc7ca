//! The async transport over tokio (feature `tokio`): a [`Master`] that serves
//! each connection on a task of its own, and [`authenticate`] for frameworks
//! and agents. Same frames, same decisions and same errors as the
//! [`blocking`](super::blocking) transport (both run the same I/O-free cores);
//! deadlines come from `tokio::time` instead of socket timeouts.
//!
//! A SASL step runs inline on the task: a CRAM-MD5 step takes tens of
//! microseconds (an in-memory lookup, or a sasldb read of a few pages), short
//! enough not to need `spawn_blocking`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterOptions};
//! use cyrus_sasl::mesos::tokio::{Master, authenticate};
//! use cyrus_sasl::mesos::{Credential, Verdict};
//! use cyrus_sasl::{Config, CredentialStore, Secret};
//!
//! let store = CredentialStore::from_credentials([("agent-1".to_owned(), Secret::from("s3cret"))])?;
//! let config = Config::new().with("mech_list", "CRAM-MD5")?.with_credential_store(&store);
//! let master = Master::bind("127.0.0.1:0", &config, MasterOptions::default()).await?.spawn();
//!
//! let options = AuthenticateOptions::default();
//! let verdict = authenticate(master.local_addr(), Credential::new("agent-1", "s3cret"), &options).await?;
//! assert_eq!(verdict, Verdict::Authenticated);
//! master.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use tokio::io::BufReader;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::{JoinHandle, JoinSet};

use crate::Config;
use crate::mesos::authenticatee::Credential;
use crate::mesos::driver::{
    AuthenticateOptions, ClientCore, ClientError, Direction, MasterConn, MasterEvent, MasterOptions, Observer,
};
use crate::mesos::framing::{FrameError, read_message_async, write_message_async};
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
    /// Binds `addr` (e.g. `127.0.0.1:0`). Sessions run SASL servers made from
    /// `config`.
    pub async fn bind(addr: impl ToSocketAddrs, config: &Config, options: MasterOptions) -> io::Result<Self> {
        Ok(Master { listener: TcpListener::bind(addr).await?, config: config.clone(), options })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Starts accepting on a task of the current runtime; each connection gets a
    /// task. Panics outside a tokio runtime, as `tokio::spawn` does.
    pub fn spawn(self) -> MasterHandle {
        let addr = self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (events_tx, events) = mpsc::channel(self.options.event_capacity.max(1));
        let (stop, stop_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            permits: Arc::new(Semaphore::new(self.options.max_connections)),
            config: self.config,
            options: self.options,
            pids: Registry::default(),
            events: events_tx,
        });
        let acceptor = tokio::spawn(accept_loop(self.listener, Arc::clone(&shared), stop_rx));
        MasterHandle { addr, shared, events, stop: Some(stop), acceptor: Some(acceptor) }
    }
}

/// A running master. Dropping it stops it too, without waiting.
#[derive(Debug)]
pub struct MasterHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: mpsc::Receiver<MasterEvent>,
    stop: Option<oneshot::Sender<()>>,
    acceptor: Option<JoinHandle<()>>,
}

impl MasterHandle {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The principal `pid` authenticated as, if its latest authentication
    /// succeeded (across all connections).
    pub fn authenticated(&self, pid: &str) -> Option<String> {
        self.shared.pids.authenticated(pid)
    }

    /// The next event; `None` once the master has stopped and every event was read.
    pub async fn next_event(&mut self) -> Option<MasterEvent> {
        self.events.recv().await
    }

    /// The next event, if one is waiting.
    pub fn try_next_event(&mut self) -> Option<MasterEvent> {
        self.events.try_recv().ok()
    }

    /// Connections being served right now.
    pub fn active_connections(&self) -> usize {
        self.shared.options.max_connections - self.shared.permits.available_permits()
    }

    /// Stops accepting, closes every connection (sessions in progress end as
    /// `PeerExited`), and waits for every task to finish.
    pub async fn shutdown(mut self) {
        self.stop.take();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.await;
        }
    }
}

impl Drop for MasterHandle {
    fn drop(&mut self) {
        // Dropping the sender is the stop signal; the tasks finish on their own.
        self.stop.take();
    }
}

#[derive(Debug)]
struct Shared {
    config: Config,
    options: MasterOptions,
    pids: Registry,
    events: mpsc::Sender<MasterEvent>,
    permits: Arc<Semaphore>,
}

impl Shared {
    fn report(&self, event: MasterEvent) {
        if let Err(mpsc::error::TrySendError::Full(event)) = self.events.try_send(event) {
            log::debug!("master event queue full; dropping {event:?}");
        }
    }
}

/// Accepts until `stop` fires (or its sender is dropped). Each connection gets a
/// stop signal of its own, so that waiting for it costs a connection nothing
/// shared with the others.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut tasks = JoinSet::new();
    let mut stops = HashMap::new();
    loop {
        tokio::select! {
            _ = &mut stop => break,
            Some(joined) = tasks.join_next_with_id(), if !tasks.is_empty() => {
                let id = match joined {
                    Ok((id, ())) => id,
                    Err(e) => e.id(),
                };
                stops.remove(&id);
            }
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let Ok(permit) = Arc::clone(&shared.permits).try_acquire_owned() else {
                        log::warn!("refusing {peer}: {} connections already", shared.options.max_connections);
                        continue;
                    };
                    let shared = Arc::clone(&shared);
                    let (conn_stop, conn_stop_rx) = oneshot::channel();
                    let task = tasks.spawn(async move {
                        serve_connection(stream, peer, &shared, conn_stop_rx).await;
                        drop(permit);
                    });
                    stops.insert(task.id(), conn_stop);
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    // Dropping the senders stops every connection.
    drop(stops);
    while tasks.join_next().await.is_some() {}
}

/// Serves one connection until its session ends, it fails, it idles out, or the
/// master stops.
async fn serve_connection(mut stream: TcpStream, peer: SocketAddr, shared: &Shared, mut stop: oneshot::Receiver<()>) {
    let options = &shared.options;
    let limits = options.frame_limits;
    let mut conn = MasterConn::new(Instant::now(), peer, &shared.config, options, shared.pids.clone());
    let _ = stream.set_nodelay(true);
    let (read_half, mut writer) = stream.split();
    let mut reader = BufReader::new(read_half);
    loop {
        let mut write_failed = None;
        while let Some(message) = conn.poll_transmit() {
            if write_failed.is_some() {
                continue;
            }
            Observer::notify(&options.observer, Direction::Sent, peer, &message);
            let write = write_message_async(&mut writer, &message, limits);
            write_failed = match tokio::time::timeout(options.idle_timeout, write).await {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(_) => Some(FrameError::TimedOut),
            };
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
        let read = tokio::time::timeout_at(deadline.into(), read_message_async(&mut reader, limits));
        let result = tokio::select! {
            result = read => result.unwrap_or(Err(FrameError::TimedOut)),
            // The master stops: as if the peer had left.
            _ = &mut stop => Err(FrameError::Closed),
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
                    let write = write_message_async(&mut writer, &reply, limits);
                    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
                }
            }
        }
    }
    log::debug!("closing connection from {peer} ({})", conn.pid().unwrap_or("no session"));
    let _ = tokio::io::AsyncWriteExt::shutdown(&mut writer).await;
}

/// The async twin of [`blocking::authenticate`](super::blocking::authenticate):
/// the same retries, verdicts and errors. The connection is closed afterwards;
/// use a [`MasterLink`] to keep it for later authentications.
pub async fn authenticate(
    addr: SocketAddr,
    credential: Credential,
    options: &AuthenticateOptions,
) -> Result<Verdict, ClientError> {
    MasterLink::new(addr).authenticate(credential, options).await
}

/// The async twin of [`blocking::MasterLink`](super::blocking::MasterLink): a
/// connection to the master kept open between authentications. The first
/// attempt of each authentication reuses it if the master has not closed it;
/// retries use fresh connections.
#[derive(Debug)]
pub struct MasterLink {
    addr: SocketAddr,
    kept: Option<BufReader<TcpStream>>,
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

    /// Authenticates `credential`: see [`authenticate`].
    pub async fn authenticate(
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
        self.run(retry, options).await
    }

    /// [`authenticate`](Self::authenticate) with an [`AuthenticationRetry`] of
    /// your own.
    pub async fn run<R: rand::Rng>(
        &mut self,
        retry: AuthenticationRetry<R>,
        options: &AuthenticateOptions,
    ) -> Result<Verdict, ClientError> {
        let addr = self.addr;
        let limits = options.frame_limits;
        let mut core = ClientCore::new(retry, options.max_attempts);
        let mut conn: Option<(u32, BufReader<TcpStream>)> = None;
        let mut kept = self.kept.take().filter(is_usable);
        core.start(Instant::now());
        loop {
            if let Some(result) = core.poll_result() {
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
                        _ => connect(addr, options.connect_timeout, deadline).await.map(BufReader::new),
                    };
                    match opened {
                        Ok(c) => conn = Some((attempt, c)),
                        Err(e) => {
                            core.connect_failed(e);
                            continue;
                        }
                    }
                }
                let Some((_, stream)) = conn.as_mut() else { continue };
                Observer::notify(&options.observer, Direction::Sent, addr, &message);
                let deadline = core.deadline().unwrap_or_else(Instant::now);
                let write = tokio::time::timeout_at(deadline.into(), write_message_async(stream, &message, limits));
                if let Err(e) = write.await.unwrap_or(Err(FrameError::TimedOut)) {
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
            match conn.as_mut() {
                Some((conn_attempt, stream)) if *conn_attempt == attempt && core.reachable() => {
                    let read = tokio::time::timeout_at(deadline.into(), read_message_async(stream, limits));
                    match read.await.unwrap_or(Err(FrameError::TimedOut)) {
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
                // No connection for this attempt: wait out its timeout.
                _ => {
                    tokio::time::sleep_until(deadline.into()).await;
                    core.handle_timeout(deadline);
                }
            }
        }
    }
}

/// Whether a kept connection is still usable: the master has not closed it and
/// sent nothing since the last verdict. Looks without waiting.
fn is_usable(conn: &BufReader<TcpStream>) -> bool {
    conn.buffer().is_empty()
        && matches!(conn.get_ref().try_read(&mut [0u8; 1]), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

/// Connects within `timeout`, and never past `deadline`.
async fn connect(addr: SocketAddr, timeout: Duration, deadline: Instant) -> io::Result<TcpStream> {
    let timeout = timeout.min(deadline.saturating_duration_since(Instant::now()));
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

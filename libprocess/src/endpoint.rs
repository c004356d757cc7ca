//! [`Endpoint`]: one libprocess instance: a listener that delivers messages to
//! local processes, and kept connections that carry messages out.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc, watch};
use tokio::time::{Instant, timeout, timeout_at};

use super::codec::{Limits, Request, RequestDecoder, encode_request, encode_response, parse_response, valid_name};
use super::tls::{Stream, TlsContext, TlsOptions, TlsSession};
use super::upid::{Upid, UpidError};
use crate::env::LOG_TARGET;
use crate::error::{EnvError, Error, RegisterError, SendError};

/// The default of [`EndpointOptions::max_connections_per_ip`].
pub const DEFAULT_MAX_CONNECTIONS_PER_IP: usize = 64;

/// The default of [`EndpointOptions::max_outbound_connections`].
pub const DEFAULT_MAX_OUTBOUND_CONNECTIONS: usize = 1024;

/// The default of [`EndpointOptions::max_outbound_connections_per_ip`].
pub const DEFAULT_MAX_OUTBOUND_CONNECTIONS_PER_IP: usize = 64;

/// The default of [`EndpointOptions::outbound_queue`].
pub const DEFAULT_OUTBOUND_QUEUE: usize = 128;

/// How an [`Endpoint`] listens, advertises itself and bounds its peers.
///
/// The address fields are libprocess's: `LIBPROCESS_IP` and `LIBPROCESS_PORT`
/// (where to bind), `LIBPROCESS_ADVERTISE_IP` and `LIBPROCESS_ADVERTISE_PORT` (the
/// address put into this endpoint's UPIDs, for when peers must reach it through
/// NAT or a proxy). [`EndpointOptions::from_env`] reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointOptions {
    /// The IP to bind (default 127.0.0.1).
    pub bind_ip: IpAddr,
    /// The port to bind; 0 picks a free one (the default).
    pub bind_port: u16,
    /// The IP in this endpoint's UPIDs; `None`: `bind_ip`, which must then not
    /// be unspecified (`0.0.0.0` or `::`).
    pub advertise_ip: Option<IpAddr>,
    /// The port in this endpoint's UPIDs; `None`: the bound port.
    pub advertise_port: Option<u16>,
    /// Size limits for each incoming request.
    pub limits: Limits,
    /// The time a whole incoming request may take once its first byte arrived
    /// (default 5 s): a peer trickling bytes is cut off at this deadline, not
    /// per read. Also bounds writing an answer, and a new connection's first
    /// request: a connection that has not sent a whole request within this
    /// time of being accepted (after its TLS handshake) is closed, so silent
    /// connections cannot hold slots for the idle timeout.
    pub request_deadline: Duration,
    /// How long an inbound connection may sit between requests (default 5 min),
    /// once it has sent a whole one; and how long a kept outbound connection
    /// may sit unused before it is closed.
    pub idle_timeout: Duration,
    /// Inbound connections open at once (default 1024). At the limit, a new
    /// connection closes the one that has been idle longest (between
    /// requests, or silent since it was accepted) to make room; only when
    /// every open connection is in the middle of a request is the new one
    /// closed at once, with a warning.
    pub max_connections: usize,
    /// Inbound connections open at once from one peer IP address (default
    /// [`DEFAULT_MAX_CONNECTIONS_PER_IP`], 64: a master's frameworks and
    /// agents each keep one or two). A peer at its limit that connects again
    /// closes its own longest-idle connection, or, with none idle, has the
    /// new one closed at once. IPv4-mapped IPv6 addresses count as IPv4.
    pub max_connections_per_ip: usize,
    /// Messages waiting in each process's queue (default 1024). A message for a
    /// full queue is dropped with a warning and answered `503 Service Unavailable`.
    pub queue_capacity: usize,
    /// Kept outbound connections open at once (default
    /// [`DEFAULT_MAX_OUTBOUND_CONNECTIONS`], 1024). A message to a destination
    /// with no connection, at the limit, closes the kept connection unused
    /// longest (one not carrying a message nor awaited by one); with none
    /// unused, it fails at once with [`SendError::OutboundLimit`].
    pub max_outbound_connections: usize,
    /// Kept outbound connections open at once to one destination IP address
    /// (default [`DEFAULT_MAX_OUTBOUND_CONNECTIONS_PER_IP`], 64), as
    /// [`max_outbound_connections`](Self::max_outbound_connections) among that
    /// IP's. Peers choose the addresses answers go to (the one in their UPID):
    /// this keeps one peer from holding them all.
    pub max_outbound_connections_per_ip: usize,
    /// Messages waiting for, or going out on, the connection to one destination
    /// address (default [`DEFAULT_OUTBOUND_QUEUE`], 128). A message beyond that
    /// fails at once with [`SendError::QueueFull`], never waits.
    pub outbound_queue: usize,
    /// The time to open an outbound connection (default 5 s).
    pub connect_timeout: Duration,
    /// The time to write a message and read its answer (default 5 s). A whole
    /// send, its wait behind earlier messages to the same address included,
    /// ends within `connect_timeout + response_timeout`.
    pub response_timeout: Duration,
    /// TLS on every connection (`LIBPROCESS_SSL_*`); `None`, the default:
    /// plaintext, as Mesos without `LIBPROCESS_SSL_ENABLED`.
    pub tls: Option<TlsOptions>,
}

impl Default for EndpointOptions {
    fn default() -> Self {
        EndpointOptions {
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            bind_port: 0,
            advertise_ip: None,
            advertise_port: None,
            limits: Limits::default(),
            request_deadline: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(300),
            max_connections: 1024,
            max_connections_per_ip: DEFAULT_MAX_CONNECTIONS_PER_IP,
            queue_capacity: 1024,
            max_outbound_connections: DEFAULT_MAX_OUTBOUND_CONNECTIONS,
            max_outbound_connections_per_ip: DEFAULT_MAX_OUTBOUND_CONNECTIONS_PER_IP,
            outbound_queue: DEFAULT_OUTBOUND_QUEUE,
            connect_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(5),
            tls: None,
        }
    }
}

impl EndpointOptions {
    /// The defaults, with the addresses from `LIBPROCESS_IP`, `LIBPROCESS_PORT`,
    /// `LIBPROCESS_ADVERTISE_IP` and `LIBPROCESS_ADVERTISE_PORT` where they are
    /// set and non-empty, and [TLS](TlsOptions) when `LIBPROCESS_SSL_ENABLED` is
    /// true (with `LIBPROCESS_SSL_CERT_FILE`, `LIBPROCESS_SSL_KEY_FILE`, ...). A
    /// value that is not an IP literal, a port number or a boolean is an
    /// [`EnvError`].
    pub fn from_env() -> Result<Self, EnvError> {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    /// [`from_env`](Self::from_env) over any source of variables (for tests and
    /// for tools that take the same names as flags).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Self, EnvError> {
        fn get<T: std::str::FromStr>(
            var: &impl Fn(&str) -> Option<String>,
            name: &'static str,
            expected: &'static str,
        ) -> Result<Option<T>, EnvError> {
            match var(name).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(value) => value.parse().map(Some).map_err(|_| EnvError::new(name, &value, expected)),
            }
        }
        let mut options = EndpointOptions::default();
        if let Some(ip) = get(&var, "LIBPROCESS_IP", "an IP address")? {
            options.bind_ip = ip;
        }
        if let Some(port) = get(&var, "LIBPROCESS_PORT", "a port number")? {
            options.bind_port = port;
        }
        options.advertise_ip = get(&var, "LIBPROCESS_ADVERTISE_IP", "an IP address")?;
        options.advertise_port = get(&var, "LIBPROCESS_ADVERTISE_PORT", "a port number")?;
        options.tls = TlsOptions::from_vars(&var)?;
        Ok(options)
    }
}

/// One message delivered to a local process.
#[derive(Clone, PartialEq, Eq)]
pub struct Envelope {
    /// The sender, as the request named it (`Libprocess-From` or `User-Agent`):
    /// a claim, not verified; compare its IP with [`peer_addr`](Self::peer_addr).
    pub from: Upid,
    /// The local process id it was addressed to.
    pub to: String,
    /// The message name, e.g. `mesos.internal.AuthenticationStepMessage`.
    pub name: String,
    /// The message body (protobuf bytes for Mesos messages).
    pub body: Vec<u8>,
    /// The TCP peer the request came from (what the network, not the peer, says).
    pub peer_addr: SocketAddr,
    /// The TLS session it came over; `None` for plaintext (with downgrade on, a
    /// plaintext connection is possible on a TLS endpoint).
    pub tls: Option<Arc<TlsSession>>,
}

impl fmt::Debug for Envelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may carry SASL data: its length only.
        f.debug_struct("Envelope")
            .field("from", &self.from)
            .field("to", &self.to)
            .field("name", &self.name)
            .field("body_len", &self.body.len())
            .field("peer_addr", &self.peer_addr)
            .field("tls", &self.tls)
            .finish()
    }
}

/// A kept outbound connection to one destination address.
struct Outbound {
    stream: Stream,
    /// Answer bytes read but not yet consumed.
    buf: Vec<u8>,
    /// When it last carried a message (or was opened).
    last_used: Instant,
    /// Its place in the pool's counts.
    ticket: Ticket,
}

/// One destination address: its kept connection, and the sends for it.
#[derive(Default)]
struct Destination {
    conn: tokio::sync::Mutex<Option<Outbound>>,
    /// Sends waiting for `conn` or using it; raised only under the pool's lock.
    queued: AtomicUsize,
}

/// The outbound side: the destinations, and how many connections are open to
/// them (in total and per IP), which the outbound caps bound.
#[derive(Default)]
struct Pool {
    destinations: HashMap<SocketAddr, Arc<Destination>>,
    open: usize,
    per_ip: HashMap<IpAddr, usize>,
}

type SharedPool = Arc<Mutex<Pool>>;

/// One open outbound connection's place in the [`Pool`]'s counts, given back
/// when it is dropped (unless the pool already took it back).
struct Ticket {
    pool: Weak<Mutex<Pool>>,
    ip: IpAddr,
    counted: bool,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.counted {
            if let Some(pool) = self.pool.upgrade() {
                pool.lock().release(self.ip);
            }
        }
    }
}

/// A send's place in its destination's queue, given up when dropped.
struct Queued(Arc<Destination>);

impl Drop for Queued {
    fn drop(&mut self) {
        self.0.queued.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Pool {
    /// A place in the queue for `addr`; `QueueFull` when `limit` sends are queued there.
    fn queue(&mut self, addr: SocketAddr, limit: usize) -> Result<Queued, SendError> {
        let destination = self.destinations.entry(addr).or_default().clone();
        if destination.queued.load(Ordering::SeqCst) >= limit {
            return Err(SendError::QueueFull { addr, limit });
        }
        destination.queued.fetch_add(1, Ordering::SeqCst);
        Ok(Queued(destination))
    }

    /// Counts a new connection to `addr`, closing idle ones to stay within the
    /// caps: first those whose peer has closed them, then the one unused longest.
    fn reserve(pool: &SharedPool, addr: SocketAddr, options: &EndpointOptions) -> Result<Ticket, SendError> {
        let ip = addr.ip().to_canonical();
        let (max_per_ip, max) =
            (options.max_outbound_connections_per_ip.max(1), options.max_outbound_connections.max(1));
        let mut this = pool.lock();
        if this.per_ip.get(&ip).copied().unwrap_or(0) >= max_per_ip {
            this.sweep(|to, out| to.ip().to_canonical() == ip && peer_closed(out));
            if this.per_ip.get(&ip).copied().unwrap_or(0) >= max_per_ip
                && !this.evict_least_recent(|to| to.ip().to_canonical() == ip)
            {
                return Err(SendError::OutboundLimit { addr, limit: max_per_ip, per_ip: true });
            }
        }
        if this.open >= max {
            this.sweep(|_, out| peer_closed(out));
            if this.open >= max && !this.evict_least_recent(|_| true) {
                return Err(SendError::OutboundLimit { addr, limit: max, per_ip: false });
            }
        }
        this.open += 1;
        *this.per_ip.entry(ip).or_default() += 1;
        Ok(Ticket { pool: Arc::downgrade(pool), ip, counted: true })
    }

    fn release(&mut self, ip: IpAddr) {
        self.open = self.open.saturating_sub(1);
        if let Entry::Occupied(mut count) = self.per_ip.entry(ip) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
    }

    /// Closes every idle kept connection `close` selects, and forgets the
    /// destinations left with neither a connection nor a send. Idle: no send
    /// waits for it or uses it.
    fn sweep(&mut self, mut close: impl FnMut(&SocketAddr, &mut Outbound) -> bool) {
        let mut closed = Vec::new();
        let mut forget = Vec::new();
        for (addr, destination) in &self.destinations {
            if destination.queued.load(Ordering::SeqCst) > 0 {
                continue;
            }
            let Ok(mut conn) = destination.conn.try_lock() else { continue };
            if conn.as_mut().is_some_and(|out| close(addr, out)) {
                closed.extend(conn.take());
            }
            if conn.is_none() {
                forget.push(*addr);
            }
        }
        for addr in forget {
            self.destinations.remove(&addr);
        }
        for mut out in closed {
            // Taken back here, under the lock its own drop would take.
            out.ticket.counted = false;
            self.release(out.ticket.ip);
        }
    }

    /// Closes the idle kept connection used least recently among those to the
    /// addresses `which` selects; whether there was one.
    fn evict_least_recent(&mut self, which: impl Fn(&SocketAddr) -> bool) -> bool {
        let oldest = self
            .destinations
            .iter()
            .filter(|(addr, destination)| which(addr) && destination.queued.load(Ordering::SeqCst) == 0)
            .filter_map(|(addr, destination)| {
                let conn = destination.conn.try_lock().ok()?;
                conn.as_ref().map(|out| (*addr, out.last_used))
            })
            .min_by_key(|&(_, last_used)| last_used);
        let Some((addr, _)) = oldest else { return false };
        log::debug!(target: LOG_TARGET, "closing the kept connection to {addr}, unused longest, to make room");
        let mut found = false;
        self.sweep(|to, _| {
            found |= *to == addr;
            *to == addr
        });
        found
    }
}

struct Inner {
    options: EndpointOptions,
    local_addr: SocketAddr,
    advertised: SocketAddr,
    /// Each live process's queue, with the number of its registration (so a
    /// late `Drop` never removes a newer registration of the same id).
    processes: Mutex<HashMap<String, Registered>>,
    registrations: std::sync::atomic::AtomicU64,
    counters: Mutex<HashMap<String, u64>>,
    outbound: SharedPool,
    inbound: Arc<Mutex<Inbound>>,
    tls: Option<TlsContext>,
    shutdown: watch::Sender<bool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// A live local process, as the endpoint knows it.
struct Registered {
    /// Which registration of its id it is.
    registration: u64,
    /// Its queue.
    queue: mpsc::Sender<Envelope>,
    /// Its body limit ([`Process::set_max_body_bytes`]).
    max_body_bytes: Option<usize>,
}

/// A libprocess endpoint: the listener of one libprocess instance, its local
/// processes, and its outbound connections.
///
/// - **Receiving**: every request `POST /{id}/{name}` with a sender header is
///   answered `202 Accepted` and delivered to the [`Process`] registered as `id`
///   (an unknown id gets `404`, a malformed request `400`-class and a closed
///   connection, a full queue `503`). Connections are kept alive and may
///   pipeline; each whole request must arrive within
///   [`request_deadline`](EndpointOptions::request_deadline).
/// - **Sending**: [`send`](Self::send) writes a message as libprocess does, on
///   one kept connection per destination address, opened on first use and
///   reused for every later message there; it waits for the answer, so a `404`
///   comes back as [`SendError::UnknownProcess`]. Bounded, since peers choose
///   where answers go: at most
///   [`outbound_queue`](EndpointOptions::outbound_queue) messages wait for one
///   address (one more fails at once with [`SendError::QueueFull`]); a whole
///   send ends within `connect_timeout + response_timeout`; kept connections
///   number at most [`max_outbound_connections`](EndpointOptions::max_outbound_connections)
///   (and [`max_outbound_connections_per_ip`](EndpointOptions::max_outbound_connections_per_ip)
///   per destination IP), the one unused longest closed to make room; and one
///   unused for [`idle_timeout`](EndpointOptions::idle_timeout) is closed. A
///   destination that does not answer delays only its own messages.
///   A reply never comes back on the
///   connection a message went out on: the peer opens its own connection to the
///   address in the sender's UPID, which is why both sides listen.
/// - **Any protobuf message**: the body is opaque bytes, so any Mesos message
///   travels, not only authentication's. [`send_message`](Self::send_message)
///   (and [`Process::send_message`]) takes any `prost::Message` that also
///   implements `prost::Name` and sends it under its full name, e.g.
///   `mesos.scheduler.Call`, as libprocess names messages; a received
///   [`Envelope`] carries that name and the bytes, which the same type decodes.
///   Types generated by `prost-build` with `enable_type_names()` from your own
///   `.proto` files qualify: the workspace's `examples/mesos-component` does
///   exactly that.
///
/// Cloning is cheap and shares the endpoint. It stops (listener and every
/// connection) when the last clone and the last [`Process`] are dropped.
/// Needs a tokio runtime with IO and timers; [`BlockingEndpoint`](super::BlockingEndpoint)
/// brings its own.
#[derive(Clone)]
pub struct Endpoint {
    inner: Arc<Inner>,
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("local_addr", &self.inner.local_addr)
            .field("advertised", &self.inner.advertised)
            .finish_non_exhaustive()
    }
}

impl Endpoint {
    /// Binds the listener and starts accepting. Fails with [`Error::Listen`] if
    /// the address cannot be bound, [`Error::NoAdvertiseIp`] if it is
    /// unspecified (`0.0.0.0`) and no advertise IP is given, and with
    /// [`tls`](EndpointOptions::tls), one of the `Error::Tls*` variants if its
    /// files cannot be read or do not make a valid configuration.
    ///
    /// # Panics
    /// With TLS, when the program has installed no rustls crypto provider and
    /// rustls's crate features name more than one (another dependency enables
    /// `aws-lc-rs`): rustls cannot choose. Install one first with
    /// `rustls::crypto::CryptoProvider::install_default`.
    pub async fn bind(options: EndpointOptions) -> Result<Endpoint, Error> {
        let tls = options.tls.as_ref().map(TlsContext::new).transpose()?;
        let addr = SocketAddr::new(options.bind_ip, options.bind_port);
        let listen = |source| Error::Listen { addr, source };
        let listener = TcpListener::bind(addr).await.map_err(listen)?;
        let local_addr = listener.local_addr().map_err(listen)?;
        let advertise_ip = match options.advertise_ip {
            Some(ip) => ip,
            None if local_addr.ip().is_unspecified() => return Err(Error::NoAdvertiseIp { addr: local_addr }),
            None => local_addr.ip(),
        };
        let advertised = SocketAddr::new(advertise_ip, options.advertise_port.unwrap_or(local_addr.port()));
        let (shutdown, shutdown_rx) = watch::channel(false);
        let inbound = Arc::new(Mutex::new(Inbound::default()));
        let inner = Arc::new(Inner {
            options,
            local_addr,
            advertised,
            processes: Mutex::new(HashMap::new()),
            registrations: std::sync::atomic::AtomicU64::new(0),
            counters: Mutex::new(HashMap::new()),
            outbound: SharedPool::default(),
            inbound: inbound.clone(),
            tls,
            shutdown,
        });
        tokio::spawn(close_idle_outbound(Arc::downgrade(&inner), shutdown_rx.clone()));
        tokio::spawn(accept_loop(listener, Arc::downgrade(&inner), shutdown_rx, inbound));
        log::debug!(target: LOG_TARGET, "libprocess endpoint listening on {local_addr}, advertised as {advertised}");
        Ok(Endpoint { inner })
    }

    /// The address the listener is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// The address in this endpoint's UPIDs.
    pub fn advertised_addr(&self) -> SocketAddr {
        self.inner.advertised
    }

    /// How many destination addresses it keeps an outbound connection, or
    /// sends in progress, for.
    pub fn outbound_destinations(&self) -> usize {
        self.inner.outbound.lock().destinations.len()
    }

    /// How many outbound connections are open (kept, or being opened), which
    /// [`max_outbound_connections`](EndpointOptions::max_outbound_connections) bounds.
    pub fn outbound_connections(&self) -> usize {
        self.inner.outbound.lock().open
    }

    /// How many inbound connections are open (accepted and not yet closed).
    pub fn inbound_connections(&self) -> usize {
        self.inner.inbound.lock().open.len()
    }

    /// The options it was bound with.
    pub fn options(&self) -> &EndpointOptions {
        &self.inner.options
    }

    /// With TLS: checks the certificate of the destination at `addr` against
    /// the host name `name` from its next connection on, instead of against
    /// its IP (Mesos's `openssl` hostname validation when the destination was
    /// named by host name). Fails with [`UpidError::BadHostName`] if `name` is
    /// not a DNS name. Without TLS it only checks the name.
    /// [`resolve_upid`](Self::resolve_upid) calls it for a UPID written with a
    /// host name.
    pub fn set_tls_server_name(&self, addr: SocketAddr, name: &str) -> Result<(), UpidError> {
        let server_name = crate::upid::dns_name(name)?;
        if let Some(tls) = &self.inner.tls {
            tls.set_server_name(addr, server_name);
        }
        Ok(())
    }

    /// The UPID written `id@host:port`, where `host` may be a host name (an IP
    /// literal is taken as it is, as [`Upid`]'s parser does): the name is
    /// resolved (its first IPv4 address, else its first address), and with
    /// TLS, the destination's certificate is checked against the name, not the
    /// IP ([`set_tls_server_name`](Self::set_tls_server_name)), so a
    /// certificate that carries only DNS names can be used.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let endpoint = libprocess::Endpoint::bind(libprocess::EndpointOptions::default()).await?;
    /// let master = endpoint.resolve_upid("master@localhost:5050").await?;
    /// assert_eq!(master.to_string(), "master@127.0.0.1:5050");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn resolve_upid(&self, text: &str) -> Result<Upid, UpidError> {
        let (id, host, port) = crate::upid::split_named(text)?;
        if let Ok(upid) = text.parse::<Upid>() {
            return Ok(upid);
        }
        let unresolved = |reason: String| UpidError::Unresolved { host: host.chars().take(64).collect(), reason };
        let addrs: Vec<SocketAddr> =
            tokio::net::lookup_host((host, port)).await.map_err(|e| unresolved(e.to_string()))?.collect();
        let addr = addrs
            .iter()
            .find(|a| a.is_ipv4())
            .or(addrs.first())
            .copied()
            .ok_or_else(|| unresolved("no address".to_owned()))?;
        self.set_tls_server_name(addr, host)?;
        Upid::new(id, addr)
    }

    /// The UPID of local process `id` (registered or not). Fails if `id` is not a
    /// valid process id.
    pub fn upid(&self, id: &str) -> Result<Upid, UpidError> {
        Upid::new(id, self.inner.advertised)
    }

    /// Registers a new process `{prefix}({n})`, n counting from 1 per prefix in
    /// this endpoint, as libprocess names its processes (`crammd5-authenticatee(1)`,
    /// `crammd5-authenticator-session(3)`).
    pub fn spawn_process(&self, prefix: &str) -> Result<Process, RegisterError> {
        loop {
            let n = {
                let mut counters = self.inner.counters.lock();
                let counter = counters.entry(prefix.to_owned()).or_insert(0);
                *counter += 1;
                *counter
            };
            match self.register(&format!("{prefix}({n})")) {
                // A process registered under this name by hand: take the next number.
                Err(RegisterError::Taken(_)) => continue,
                other => return other,
            }
        }
    }

    /// Registers a process with a fixed id, such as `master`. Fails if the id is
    /// invalid or already taken by a live process.
    pub fn register(&self, id: &str) -> Result<Process, RegisterError> {
        let upid = self.upid(id)?;
        let (tx, rx) = mpsc::channel(self.inner.options.queue_capacity.max(1));
        let registration = self.inner.registrations.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.inner.processes.lock().entry(id.to_owned()) {
            Entry::Occupied(_) => return Err(RegisterError::Taken(id.to_owned())),
            Entry::Vacant(slot) => {
                slot.insert(Registered { registration, queue: tx, max_body_bytes: None });
            }
        }
        Ok(Process { upid, rx, endpoint: self.clone(), registration })
    }

    /// Unregisters local process `id` now: messages to it get `404` from here on,
    /// even while its [`Process`] handle still exists (e.g. owned by a task that
    /// ends later). Returns whether it was registered.
    pub fn unregister(&self, id: &str) -> bool {
        self.inner.processes.lock().remove(id).is_some()
    }

    /// Sends message `name` with `body` from local process `from` (any UPID: the
    /// endpoint does not check that it is local) to `to`, and waits for its
    /// answer. See [`Endpoint`] for the connection it goes on.
    pub async fn send(&self, from: &Upid, to: &Upid, name: &str, body: &[u8]) -> Result<(), SendError> {
        self.send_on(from, to, name, body).await.map(drop)
    }

    /// [`send`](Self::send), and the TLS session of the connection the
    /// message went out on (`None` in plaintext): what a SASL exchange whose
    /// messages go there binds to.
    pub async fn send_on(
        &self,
        from: &Upid,
        to: &Upid,
        name: &str,
        body: &[u8],
    ) -> Result<Option<Arc<TlsSession>>, SendError> {
        if !valid_name(name) {
            return Err(SendError::BadName(name.chars().take(64).collect()));
        }
        let request = encode_request(from, to, name, body);
        let addr = to.addr();
        let options = &self.inner.options;
        // One deadline over the whole send, its wait behind earlier sends included.
        let deadline = Instant::now() + options.connect_timeout + options.response_timeout;
        let queued = self.inner.outbound.lock().queue(addr, options.outbound_queue.max(1));
        let queued = queued.inspect_err(|e| log::debug!(target: LOG_TARGET, "dropping {name:?}: {e}"))?;
        let result = match timeout_at(deadline, queued.0.conn.lock()).await {
            Err(_) => Err(SendError::Timeout { addr }),
            Ok(mut conn) => {
                let result = self.exchange(&mut conn, addr, &request, deadline).await;
                if result.is_err() {
                    *conn = None;
                }
                result
            }
        };
        let (status, session) = match result {
            Ok(answered) => answered,
            Err(e) => {
                // Forget the destination unless other sends wait for it; a
                // later message starts afresh.
                let mut pool = self.inner.outbound.lock();
                let ours = pool.destinations.get(&addr).is_some_and(|d| Arc::ptr_eq(d, &queued.0));
                let forgotten = if ours && queued.0.queued.load(Ordering::SeqCst) == 1 {
                    pool.destinations.remove(&addr)
                } else {
                    None
                };
                drop(pool);
                drop(forgotten);
                return Err(e);
            }
        };
        match status {
            200..=299 => Ok(session),
            404 => Err(SendError::UnknownProcess { to: to.clone() }),
            status => Err(SendError::Status { to: to.clone(), status }),
        }
    }

    /// Sends a protobuf message under its full name (`prost::Name::full_name`,
    /// e.g. `mesos.internal.AuthenticateMessage`).
    pub async fn send_message<M: prost::Name>(&self, from: &Upid, to: &Upid, message: &M) -> Result<(), SendError> {
        self.send(from, to, &M::full_name(), &message.encode_to_vec()).await
    }

    /// Writes `request` on the kept connection (opening one if needed, and a
    /// fresh one once if the kept one turns out closed) and reads its answer,
    /// by `deadline`.
    async fn exchange(
        &self,
        conn: &mut Option<Outbound>,
        addr: SocketAddr,
        request: &[u8],
        deadline: Instant,
    ) -> Result<(u16, Option<Arc<TlsSession>>), SendError> {
        let options = &self.inner.options;
        for _ in 0..2 {
            if conn.as_mut().is_some_and(peer_closed) {
                *conn = None;
            }
            let reused = conn.is_some();
            if conn.is_none() {
                let ticket = Pool::reserve(&self.inner.outbound, addr, options)?;
                let connect_by = deadline.min(Instant::now() + options.connect_timeout);
                let stream = match timeout_at(connect_by, connect(self.inner.tls.as_ref(), addr)).await {
                    Err(_) => return Err(SendError::Timeout { addr }),
                    Ok(Err(e)) => return Err(e),
                    Ok(Ok(stream)) => stream,
                };
                log::debug!(target: LOG_TARGET, "opened a connection to {addr}");
                *conn = Some(Outbound { stream, buf: Vec::new(), last_used: Instant::now(), ticket });
            }
            let out = conn.as_mut().expect("a connection is open here");
            let answer_by = deadline.min(Instant::now() + options.response_timeout);
            match timeout_at(answer_by, write_and_answer(out, request, &options.limits)).await {
                Err(_) => return Err(SendError::Timeout { addr }),
                Ok(Ok(head)) => {
                    out.last_used = Instant::now();
                    let session = out.stream.tls_session().cloned();
                    if head.close {
                        *conn = None;
                    }
                    return Ok((head.status, session));
                }
                // A kept connection the peer had closed: nothing of the answer
                // came, so the message was not taken. Once more on a new one.
                Ok(Err(Failure::Closed { answered: false } | Failure::Io(_))) if reused => {
                    log::debug!(target: LOG_TARGET, "the kept connection to {addr} was closed; reconnecting");
                    *conn = None;
                }
                Ok(Err(Failure::Io(source))) => return Err(SendError::Io { addr, source }),
                Ok(Err(Failure::Garbage { tls: true })) if self.inner.tls.is_none() => {
                    return Err(SendError::TlsRequired { addr });
                }
                Ok(Err(Failure::Closed { .. } | Failure::Garbage { .. })) => {
                    return Err(SendError::BadResponse { addr });
                }
            }
        }
        Err(SendError::BadResponse { addr })
    }
}

/// Closes kept outbound connections unused for the idle timeout (or closed
/// by their peer), until the endpoint stops.
async fn close_idle_outbound(inner: Weak<Inner>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let Some(idle_timeout) = inner.upgrade().map(|inner| inner.options.idle_timeout) else { return };
        let every = (idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(30));
        tokio::select! {
            _ = shutdown.changed() => return,
            () = tokio::time::sleep(every) => {}
        }
        let Some(inner) = inner.upgrade() else { return };
        let now = Instant::now();
        inner.outbound.lock().sweep(|_, out| now.duration_since(out.last_used) >= idle_timeout || peer_closed(out));
    }
}

/// Opens a connection to `addr` (TCP, then TLS if configured).
async fn connect(tls: Option<&TlsContext>, addr: SocketAddr) -> Result<Stream, SendError> {
    let tcp = TcpStream::connect(addr).await.map_err(|source| SendError::Connect { addr, source })?;
    let _ = tcp.set_nodelay(true);
    match tls {
        None => Ok(Stream::Plain(tcp)),
        Some(tls) => {
            let name = tls.server_name(addr);
            let server_name = name.to_str().into();
            tls.connect(name, tcp).await.map_err(|source| SendError::Tls { addr, server_name, source })
        }
    }
}

enum Failure {
    Io(io::Error),
    Closed {
        answered: bool,
    },
    /// Not an HTTP answer; `tls`: it looks like a TLS record (an alert or a
    /// handshake), what a TLS endpoint sends a plaintext peer.
    Garbage {
        tls: bool,
    },
}

/// Whether the peer has closed a kept connection (a pending EOF or error).
fn peer_closed(out: &mut Outbound) -> bool {
    let mut probe = [0u8; 512];
    let mut probe = ReadBuf::new(&mut probe);
    // One poll without waiting (through TLS too, which may consume records
    // such as session tickets without producing bytes: then Pending).
    match Pin::new(&mut out.stream).poll_read(&mut Context::from_waker(Waker::noop()), &mut probe) {
        Poll::Pending => false,
        Poll::Ready(Ok(())) if probe.filled().is_empty() => true,
        // Unsolicited bytes: keep them for the next answer.
        Poll::Ready(Ok(())) => {
            out.buf.extend_from_slice(probe.filled());
            false
        }
        Poll::Ready(Err(_)) => true,
    }
}

async fn write_and_answer(
    out: &mut Outbound,
    request: &[u8],
    limits: &Limits,
) -> Result<super::codec::ResponseHead, Failure> {
    out.stream.write_all(request).await.map_err(Failure::Io)?;
    let mut chunk = [0u8; 1024];
    loop {
        match parse_response(&out.buf, limits) {
            Ok(Some(head)) => {
                out.buf.drain(..head.len);
                return Ok(head);
            }
            Ok(None) => {}
            Err(()) => return Err(Failure::Garbage { tls: looks_like_tls(&out.buf) }),
        }
        let n = out.stream.read(&mut chunk).await.map_err(Failure::Io)?;
        if n == 0 {
            return Err(Failure::Closed { answered: !out.buf.is_empty() });
        }
        out.buf.extend_from_slice(&chunk[..n]);
    }
}

/// Whether an answer starts like a TLS record: content type alert (21) or
/// handshake (22), then protocol major version 3.
fn looks_like_tls(answer: &[u8]) -> bool {
    matches!(answer, [0x15 | 0x16, 0x03, ..])
}

/// A local process: receives the messages addressed to its id. Dropping it
/// unregisters the id (later messages to it get `404`).
pub struct Process {
    upid: Upid,
    rx: mpsc::Receiver<Envelope>,
    endpoint: Endpoint,
    registration: u64,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process").field("upid", &self.upid).finish_non_exhaustive()
    }
}

impl Process {
    /// Its UPID, with the endpoint's advertised address.
    pub fn upid(&self) -> &Upid {
        &self.upid
    }

    /// The endpoint it lives on.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The next message for it. Waits as long as it takes (wrap it in
    /// `tokio::time::timeout` for a deadline); `None` once it has been
    /// [unregistered](Endpoint::unregister) and its queue is empty.
    pub async fn recv(&mut self) -> Option<Envelope> {
        self.rx.recv().await
    }

    /// The next message if one is waiting.
    pub fn try_recv(&mut self) -> Option<Envelope> {
        self.rx.try_recv().ok()
    }

    /// Limits the body of each message to this process to `max` bytes (below
    /// the endpoint's [`Limits::max_body_bytes`], which still applies when
    /// lower): a larger one is answered `413` as soon as its declared length
    /// or its chunks so far pass `max`, and its connection closed, as for the
    /// endpoint's own limit. For a process that only takes small messages, so
    /// that a peer cannot make it buffer large ones.
    pub fn set_max_body_bytes(&self, max: usize) {
        let mut processes = self.endpoint.inner.processes.lock();
        if let Some(entry) = processes.get_mut(self.upid.id()).filter(|entry| entry.registration == self.registration) {
            entry.max_body_bytes = Some(max);
        }
    }

    /// Sends a message from this process ([`Endpoint::send`]).
    pub async fn send(&self, to: &Upid, name: &str, body: &[u8]) -> Result<(), SendError> {
        self.endpoint.send(&self.upid, to, name, body).await
    }

    /// Sends a protobuf message from this process ([`Endpoint::send_message`]).
    pub async fn send_message<M: prost::Name>(&self, to: &Upid, message: &M) -> Result<(), SendError> {
        self.endpoint.send_message(&self.upid, to, message).await
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let mut processes = self.endpoint.inner.processes.lock();
        // Only this registration's entry: after `unregister`, the id may belong to a newer one.
        if processes.get(self.upid.id()).is_some_and(|entry| entry.registration == self.registration) {
            processes.remove(self.upid.id());
        }
    }
}

/// The inbound connections open now: what the connection caps count, and
/// which to close to make room.
#[derive(Default)]
struct Inbound {
    next_id: u64,
    open: HashMap<u64, InboundEntry>,
    per_ip: HashMap<IpAddr, usize>,
}

struct InboundEntry {
    ip: IpAddr,
    /// Since when it has waited for a request's first byte; `None` while it
    /// is in the middle of one (not to be closed for room).
    idle_since: Option<Instant>,
    /// Told to close (it has been evicted).
    close: Arc<Notify>,
}

/// Why a new connection was refused.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// `max_connections` open, none idle.
    Full,
    /// `max_connections_per_ip` open from its IP, none idle.
    PerIp,
}

impl Inbound {
    /// Admits a connection from `ip` at `now`, closing the longest-idle one
    /// (of the same IP when that IP is at its cap) if that makes room: its id
    /// and the notice it is closed by. The evicted connections' IPs go to `evicted`.
    fn admit(
        &mut self,
        ip: IpAddr,
        now: Instant,
        options: &EndpointOptions,
        evicted: &mut Vec<IpAddr>,
    ) -> Result<(u64, Arc<Notify>), Refusal> {
        if self.per_ip.get(&ip).copied().unwrap_or(0) >= options.max_connections_per_ip {
            evicted.push(self.evict_oldest_idle(|entry| entry.ip == ip).ok_or(Refusal::PerIp)?);
        }
        if self.open.len() >= options.max_connections {
            evicted.push(self.evict_oldest_idle(|_| true).ok_or(Refusal::Full)?);
        }
        let id = self.next_id;
        self.next_id += 1;
        let close = Arc::new(Notify::new());
        self.open.insert(id, InboundEntry { ip, idle_since: Some(now), close: close.clone() });
        *self.per_ip.entry(ip).or_default() += 1;
        Ok((id, close))
    }

    /// Closes the connection idle longest among those `which` selects; its IP.
    fn evict_oldest_idle(&mut self, which: impl Fn(&InboundEntry) -> bool) -> Option<IpAddr> {
        let (&id, _) = self
            .open
            .iter()
            .filter(|(_, entry)| which(entry))
            .filter_map(|(id, entry)| entry.idle_since.map(|since| (id, since)))
            .min_by_key(|&(_, since)| since)?;
        let entry = self.remove(id)?;
        // Stored if the connection is not waiting on it yet: it closes at its next wait.
        entry.close.notify_one();
        Some(entry.ip)
    }

    fn remove(&mut self, id: u64) -> Option<InboundEntry> {
        let entry = self.open.remove(&id)?;
        if let Entry::Occupied(mut count) = self.per_ip.entry(entry.ip) {
            *count.get_mut() -= 1;
            if *count.get() == 0 {
                count.remove();
            }
        }
        Some(entry)
    }
}

/// One admitted connection's place in [`Inbound`], given up when dropped.
struct InboundSlot {
    inbound: Arc<Mutex<Inbound>>,
    id: u64,
    close: Arc<Notify>,
    idle: bool,
}

impl InboundSlot {
    /// Records whether the connection waits for a request's first byte.
    fn set_idle(&mut self, idle: bool) {
        if idle != self.idle {
            self.idle = idle;
            if let Some(entry) = self.inbound.lock().open.get_mut(&self.id) {
                entry.idle_since = idle.then(Instant::now);
            }
        }
    }
}

impl Drop for InboundSlot {
    fn drop(&mut self) {
        self.inbound.lock().remove(self.id);
    }
}

async fn accept_loop(
    listener: TcpListener,
    inner: Weak<Inner>,
    mut shutdown: watch::Receiver<bool>,
    inbound: Arc<Mutex<Inbound>>,
) {
    let mut evicted = Vec::new();
    loop {
        let accepted = tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                log::warn!(target: LOG_TARGET, "accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some((options, tls)) = inner.upgrade().map(|inner| (inner.options.clone(), inner.tls.clone())) else {
            return;
        };
        let ip = peer.ip().to_canonical();
        evicted.clear();
        let admitted = inbound.lock().admit(ip, Instant::now(), &options, &mut evicted);
        for from in &evicted {
            log::debug!(target: LOG_TARGET, "closing the longest-idle connection (from {from}) to admit one from {peer}");
        }
        let (id, close) = match admitted {
            Ok(admitted) => admitted,
            Err(refusal) => {
                let limit = match refusal {
                    Refusal::Full => format!("{} connections are open", options.max_connections),
                    Refusal::PerIp => format!("{} connections from {ip} are open", options.max_connections_per_ip),
                };
                log::warn!(target: LOG_TARGET, "closing a connection from {peer}: {limit}, none of them idle");
                drop(stream);
                continue;
            }
        };
        let slot = InboundSlot { inbound: inbound.clone(), id, close, idle: true };
        let (inner, shutdown) = (inner.clone(), shutdown.clone());
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let stream = match tls {
                None => Stream::Plain(stream),
                // The handshake (and downgrade's look at the first bytes) within
                // the deadline of one request; closed early if evicted.
                Some(tls) => {
                    let handshake = tokio::select! {
                        _ = slot.close.notified() => return,
                        handshake = timeout(options.request_deadline, tls.accept(stream)) => handshake,
                    };
                    match handshake {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => {
                            log::info!(target: LOG_TARGET, "TLS handshake with {peer} failed: {e}");
                            return;
                        }
                        Err(_) => {
                            log::info!(target: LOG_TARGET, "TLS handshake with {peer} took over {:?}", options.request_deadline);
                            return;
                        }
                    }
                }
            };
            serve_connection(stream, peer, inner, shutdown, options, slot).await;
        });
    }
}

/// One inbound connection: requests in, answers out, until it closes, breaks a
/// limit or a deadline, is evicted to make room, or the endpoint stops.
async fn serve_connection(
    mut stream: Stream,
    peer: SocketAddr,
    inner: Weak<Inner>,
    mut shutdown: watch::Receiver<bool>,
    options: EndpointOptions,
    mut slot: InboundSlot,
) {
    let tls = stream.tls_session().cloned();
    let mut decoder = RequestDecoder::new(options.limits);
    let mut chunk = vec![0u8; 8192];
    let mut request_deadline: Option<Instant> = None;
    // Until its first whole request, a connection has the request deadline
    // from now (the idle timeout if shorter), not the idle timeout.
    let first_deadline = Instant::now() + options.request_deadline;
    let mut served = false;
    loop {
        // Answer every whole request buffered, in order.
        loop {
            let (status, close) = match decoder.next_request_limited(|to| body_limit(&inner, to)) {
                Ok(None) => break,
                Ok(Some(request)) => {
                    request_deadline = None;
                    served = true;
                    let close = !request.keep_alive;
                    (deliver(&inner, request, peer, tls.clone()), close)
                }
                Err(e) => {
                    log::debug!(target: LOG_TARGET, "refusing a request from {peer}: {e}");
                    (e.status(), true)
                }
            };
            let answer = encode_response(status, close, std::time::SystemTime::now());
            if timeout(options.request_deadline, stream.write_all(&answer)).await.map_or(true, |r| r.is_err()) {
                log::debug!(target: LOG_TARGET, "cannot answer {peer}; closing");
                return;
            }
            if close {
                let _ = stream.shutdown().await;
                return;
            }
        }
        slot.set_idle(decoder.is_idle());
        let deadline = match (decoder.is_idle(), served) {
            (true, true) => Instant::now() + options.idle_timeout,
            (true, false) => first_deadline.min(Instant::now() + options.idle_timeout),
            (false, _) => *request_deadline.get_or_insert_with(|| Instant::now() + options.request_deadline),
        };
        let read = tokio::select! {
            _ = shutdown.changed() => return,
            _ = slot.close.notified() => {
                log::debug!(target: LOG_TARGET, "closed the idle connection from {peer} to make room for another");
                return;
            }
            read = timeout_at(deadline, stream.read(&mut chunk)) => read,
        };
        match read {
            Err(_) if decoder.is_idle() && !served => {
                log::debug!(target: LOG_TARGET, "closing the connection from {peer}: no request within {:?}", options.request_deadline);
                return;
            }
            Err(_) if decoder.is_idle() => return,
            Err(_) => {
                log::info!(target: LOG_TARGET, "closing the connection from {peer}: a request took over {:?}", options.request_deadline);
                return;
            }
            Ok(Err(e)) => {
                log::debug!(target: LOG_TARGET, "connection from {peer} failed: {e}");
                return;
            }
            Ok(Ok(0)) => {
                if !decoder.is_idle() {
                    log::debug!(target: LOG_TARGET, "{peer} closed the connection in the middle of a request");
                }
                return;
            }
            Ok(Ok(n)) => {
                let was_idle = decoder.is_idle();
                decoder.push(&chunk[..n]);
                if was_idle {
                    // The first request keeps the deadline it had from the start.
                    request_deadline =
                        Some(if served { Instant::now() + options.request_deadline } else { first_deadline });
                }
            }
        }
    }
}

/// The body limit local process `to` set, if any.
fn body_limit(inner: &Weak<Inner>, to: &str) -> Option<usize> {
    inner.upgrade()?.processes.lock().get(to).and_then(|entry| entry.max_body_bytes)
}

/// Hands a request to its process; the status to answer.
fn deliver(inner: &Weak<Inner>, request: Request, peer_addr: SocketAddr, tls: Option<Arc<TlsSession>>) -> u16 {
    let Some(inner) = inner.upgrade() else {
        return 503;
    };
    let Request { to, name, from, body, .. } = request;
    let Some(queue) = inner.processes.lock().get(&to).map(|entry| entry.queue.clone()) else {
        log::debug!(target: LOG_TARGET, "no process {to:?} for {name:?} from {from} ({peer_addr})");
        return 404;
    };
    match queue.try_send(Envelope { from, to, name, body, peer_addr, tls }) {
        Ok(()) => 202,
        Err(mpsc::error::TrySendError::Full(envelope)) => {
            log::warn!(
                target: LOG_TARGET,
                "dropping {:?} from {} ({peer_addr}): the queue of process {:?} is full",
                envelope.name,
                envelope.from,
                envelope.to
            );
            503
        }
        Err(mpsc::error::TrySendError::Closed(_)) => 404,
    }
}

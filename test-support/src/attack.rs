//! Hostile load against `sasl-sample mesos-master` (issue 22): one attacker
//! IP (127.0.0.2) runs one attack at a time while honest frameworks on
//! 127.0.0.1 authenticate and register through the same master, and the
//! master's own resident memory and open descriptors are sampled from `/proc`.
//!
//! Used by `sasl-sample/benches/hostile.rs` (figures and ratios) and
//! `sasl-sample/tests/hostile_load.rs` (the short form: correctness bounds
//! only, no timing).
//!
//! Linux routes all of 127.0.0.0/8 to loopback, so a socket bound to
//! 127.0.0.2 is a distinct peer to the master. A libprocess [`Endpoint`]
//! cannot choose the source address of its outbound connections, so the
//! attacker writes its requests itself ([`encode_request`]) on TCP sockets
//! bound to 127.0.0.2; what the master sends back goes to listeners (or, for
//! the authenticating attacker, an [`Endpoint`]) bound there too.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::fuzzing::{
    FrameworkErrorMessage, FrameworkId, FrameworkInfo, FrameworkRegisteredMessage, SchedulerCall, Subscribe,
};
use cyrus_sasl_mesos::{
    AuthenticateMessage, AuthenticateOptions, Authenticatee, AuthenticateeState, ClientOptions, Credential, Message,
    MessageType, Verdict, authenticate,
};
use libprocess::{Endpoint, EndpointOptions, Limits, Process, RequestDecoder, Upid, encode_request, encode_response};
use prost::Message as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinSet;

/// The attacker's address.
pub const ATTACKER_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
/// The honest frameworks' (and the master's) address.
pub const HONEST_IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// The issue's goal for the master's peak resident memory, MiB.
pub const RSS_GOAL_MIB: f64 = 128.0;
/// The issue's goal for the honest p99 under attack over the idle p99.
pub const RATIO_GOAL: f64 = 3.0;
/// How many descriptors more than in the idle phase the master may have
/// open under attack and still count as bounded (the bench's goal): the 64
/// inbound connections one IP may hold by default, as many outbound ones,
/// and connections an attacker opens faster than the per-IP cap closes them.
pub const FD_ALLOWANCE: usize = 256;
/// The principal the attacker owns in [`Attack::PrincipalRegistry`]: a
/// low-privilege one (the ACLs let it register only in role `attacker`).
pub const LOW_PRIVILEGE: (&str, &str) = ("low-privilege", "low-secret");
/// The principal the real Mesos driver authenticates as.
pub const REAL_DRIVER: (&str, &str) = ("real-driver", "real-secret");
/// A long line of the master (a 4 MiB pid) is kept up to this many bytes.
const LINE_CAP: usize = 512;

/// One phase's attack (finding numbers of issue 22).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attack {
    /// No attack: the reference.
    Idle,
    /// Finding 1: `AuthenticateMessage`s of about 4 MiB, each a distinct pid
    /// ending in `@127.0.0.2:PORT`.
    LargePid,
    /// Finding 2: SUBSCRIBE calls claiming a UPID at a port that accepts and
    /// never answers.
    RegistrationFlood,
    /// Finding 3: connections that never send a byte.
    IdleConnections,
    /// Finding 4: sessions whose reply address is one of many listeners that
    /// accept and hold, so the master's outbound connections pile up.
    OutboundPileup,
    /// Finding 5: one low-privilege principal authenticating many UPIDs.
    PrincipalRegistry,
    /// Finding 6: small `AuthenticateMessage`s with distinct pids, to fill
    /// every session slot.
    SessionFlood,
}

impl Attack {
    /// Every phase, idle first.
    pub const ALL: [Attack; 7] = [
        Attack::Idle,
        Attack::LargePid,
        Attack::RegistrationFlood,
        Attack::IdleConnections,
        Attack::OutboundPileup,
        Attack::PrincipalRegistry,
        Attack::SessionFlood,
    ];

    /// The name in `ratio hostile_NAME_honest_p99_over_idle` lines.
    pub fn name(self) -> &'static str {
        match self {
            Attack::Idle => "idle",
            Attack::LargePid => "large_pid",
            Attack::RegistrationFlood => "registration_flood",
            Attack::IdleConnections => "idle_connections",
            Attack::OutboundPileup => "outbound_pileup",
            Attack::PrincipalRegistry => "principal_registry",
            Attack::SessionFlood => "session_flood",
        }
    }

    /// The finding of issue 22 it reproduces (0: none).
    pub fn finding(self) -> u8 {
        match self {
            Attack::Idle => 0,
            Attack::LargePid => 1,
            Attack::RegistrationFlood => 2,
            Attack::IdleConnections => 3,
            Attack::OutboundPileup => 4,
            Attack::PrincipalRegistry => 5,
            Attack::SessionFlood => 6,
        }
    }
}

/// How big each attack is.
#[derive(Clone, Debug)]
pub struct AttackSize {
    /// [`Attack::LargePid`]: messages in all, sent in bursts of 64 every 5 s.
    pub large_pids: usize,
    /// [`Attack::LargePid`]: bytes of each message body (the endpoint's
    /// default body limit is 4 MiB).
    pub large_pid_bytes: usize,
    /// [`Attack::RegistrationFlood`]: SUBSCRIBE calls at the start; a third
    /// as many again every 5 s.
    pub registration_calls: usize,
    /// [`Attack::IdleConnections`]: connections held open (each reopened
    /// when the master closes it).
    pub idle_connections: usize,
    /// [`Attack::OutboundPileup`]: listeners that accept and hold; one
    /// session per listener every 5 s.
    pub listeners: usize,
    /// [`Attack::PrincipalRegistry`]: UPIDs to authenticate (the registry
    /// holds 65,536).
    pub principal_upids: usize,
    /// [`Attack::PrincipalRegistry`]: authentications in flight at once.
    pub principal_concurrency: usize,
    /// [`Attack::SessionFlood`]: `AuthenticateMessage`s at the start (the
    /// master has 4,096 session slots); a third as many again every 5 s.
    pub sessions: usize,
}

impl AttackSize {
    /// The sizes of the issue's findings, each overridable from the
    /// environment (`HOSTILE_LARGE_PIDS`, `HOSTILE_LARGE_PID_BYTES`,
    /// `HOSTILE_REGISTRATION_CALLS`, `HOSTILE_IDLE_CONNECTIONS`,
    /// `HOSTILE_LISTENERS`, `HOSTILE_PRINCIPAL_UPIDS`,
    /// `HOSTILE_PRINCIPAL_CONCURRENCY`, `HOSTILE_SESSIONS`).
    pub fn from_env() -> AttackSize {
        let n = |name: &str, default: u32| crate::bench::env_number(name, default) as usize;
        AttackSize {
            large_pids: n("HOSTILE_LARGE_PIDS", 128),
            large_pid_bytes: n("HOSTILE_LARGE_PID_BYTES", 4 * 1024 * 1024),
            registration_calls: n("HOSTILE_REGISTRATION_CALLS", 300),
            idle_connections: n("HOSTILE_IDLE_CONNECTIONS", 1100),
            listeners: n("HOSTILE_LISTENERS", 768),
            principal_upids: n("HOSTILE_PRINCIPAL_UPIDS", 66_000),
            principal_concurrency: n("HOSTILE_PRINCIPAL_CONCURRENCY", 32),
            sessions: n("HOSTILE_SESSIONS", 4500),
        }
    }
}

// ---------------------------------------------------------------------------
// The master process.

/// The files a hostile-load master reads: credentials for `honest`
/// frameworks (`honest-N`), [`LOW_PRIVILEGE`] and [`REAL_DRIVER`]; ACLs that
/// let every principal register in role `*` except [`LOW_PRIVILEGE`], which
/// may use only role `attacker`; and a master config naming both.
pub struct MasterFiles {
    dir: tempfile::TempDir,
    /// The master config (`credentials:` and `acls:`).
    pub config: PathBuf,
}

impl MasterFiles {
    /// Writes them into a new temporary directory.
    pub fn new(honest: usize) -> MasterFiles {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut credentials = String::new();
        for i in 0..honest {
            credentials.push_str(&format!("{} {}\n", honest_principal(i), honest_secret(i)));
        }
        credentials.push_str(&format!("{} {}\n", LOW_PRIVILEGE.0, LOW_PRIVILEGE.1));
        credentials.push_str(&format!("{} {}\n", REAL_DRIVER.0, REAL_DRIVER.1));
        std::fs::write(dir.path().join("credentials"), credentials).expect("write credentials");
        let acls = format!(
            r#"{{"permissive": false, "register_frameworks": [
                {{"principals": {{"values": ["{low}"]}}, "roles": {{"values": ["attacker"]}}}},
                {{"principals": {{"values": ["{low}"]}}, "roles": {{"type": "NONE"}}}},
                {{"principals": {{"type": "ANY"}}, "roles": {{"values": ["*"]}}}}
            ]}}"#,
            low = LOW_PRIVILEGE.0
        );
        std::fs::write(dir.path().join("acls.json"), acls).expect("write acls");
        let config = dir.path().join("master.conf");
        std::fs::write(&config, "credentials: credentials\nacls: acls.json\n").expect("write master.conf");
        MasterFiles { dir, config }
    }

    /// The directory holding them.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// Honest framework `i`'s principal.
pub fn honest_principal(i: usize) -> String {
    format!("honest-{i}")
}

/// Honest framework `i`'s secret.
pub fn honest_secret(i: usize) -> String {
    format!("secret-{i}")
}

/// `sasl-sample mesos-master --config FILE --listen ADDR` as a child process:
/// its stdout lines collected (each cut at 512 bytes), its PID for `/proc`,
/// killed with SIGKILL (by its handle) when dropped or [`kill`](Self::kill)ed.
pub struct MasterProcess {
    child: Child,
    /// Its UPID, from its `listening:` line.
    pub upid: Upid,
    lines: Arc<Mutex<Vec<String>>>,
}

impl MasterProcess {
    /// Starts `program mesos-master --config CONFIG --listen LISTEN` (the
    /// `LIBPROCESS_*` address variables unset) and waits up to 20 s for its
    /// `listening:` line.
    pub fn start(program: &Path, config: &Path, listen: SocketAddr) -> MasterProcess {
        let mut command = Command::new(program);
        command.arg("mesos-master").arg("--config").arg(config).arg("--listen").arg(listen.to_string());
        for var in ["LIBPROCESS_IP", "LIBPROCESS_PORT", "LIBPROCESS_ADVERTISE_IP", "LIBPROCESS_ADVERTISE_PORT"] {
            command.env_remove(var);
        }
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (first_tx, first_rx) = std::sync::mpsc::channel();
        let kept = lines.clone();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            let mut first = Some(first_tx);
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let end = buf.len().min(LINE_CAP);
                let line = String::from_utf8_lossy(&buf[..end]).trim_end().to_owned();
                match first.take() {
                    Some(tx) => {
                        let _ = tx.send(line);
                    }
                    None => kept.lock().unwrap_or_else(|e| e.into_inner()).push(line),
                }
            }
        });
        let first = first_rx.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| {
            let _ = child.kill();
            let status = child.wait();
            panic!("{} mesos-master printed no listening line within 20 s ({status:?})", program.display())
        });
        let upid = first
            .strip_prefix("listening: ")
            .unwrap_or_else(|| panic!("expected a listening line, got {first:?}"))
            .parse()
            .expect("the master's UPID");
        MasterProcess { child, upid, lines }
    }

    /// Its process id, for `/proc`.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stdout line after `listening:` so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How many stdout lines it printed after `listening:` so far.
    pub fn line_count(&self) -> usize {
        self.lines.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Sends SIGKILL (by its handle) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for MasterProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A process's resident memory now (`VmRSS`) and at its peak (`VmHWM`), MiB,
/// from `/proc/PID/status`; `None` once it is gone.
pub fn memory_mib(pid: u32) -> Option<(f64, f64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
    };
    Some((field("VmRSS:")? / 1024.0, field("VmHWM:")? / 1024.0))
}

/// How many descriptors a process has open (`/proc/PID/fd`); `None` once it is gone.
pub fn open_fds(pid: u32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

/// Samples a process's memory and descriptors on a thread, keeping the maxima.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    max_rss_kib: Arc<AtomicU64>,
    max_fds: Arc<AtomicU64>,
    thread: std::thread::JoinHandle<()>,
    pid: u32,
}

impl Sampler {
    /// Starts sampling `pid` every `every`.
    pub fn start(pid: u32, every: Duration) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let max_rss_kib = Arc::new(AtomicU64::new(0));
        let max_fds = Arc::new(AtomicU64::new(0));
        let (s, r, f) = (stop.clone(), max_rss_kib.clone(), max_fds.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                if let Some((rss, _)) = memory_mib(pid) {
                    r.fetch_max((rss * 1024.0) as u64, Ordering::Relaxed);
                }
                if let Some(fds) = open_fds(pid) {
                    f.fetch_max(fds as u64, Ordering::Relaxed);
                }
                std::thread::sleep(every);
            }
        });
        Sampler { stop, max_rss_kib, max_fds, thread, pid }
    }

    /// Stops; the largest resident memory seen (MiB; at least the process's
    /// `VmHWM` now, its high-water mark, which samples can miss) and the
    /// most descriptors seen.
    pub fn finish(self) -> (f64, usize) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        if let Some((rss, hwm)) = memory_mib(self.pid) {
            self.max_rss_kib.fetch_max((rss.max(hwm) * 1024.0) as u64, Ordering::Relaxed);
        }
        (self.max_rss_kib.load(Ordering::Relaxed) as f64 / 1024.0, self.max_fds.load(Ordering::Relaxed) as usize)
    }
}

/// Raises this process's soft descriptor limit to its hard one (with
/// `prlimit`, so no `unsafe`), for the attacker's thousands of sockets.
/// Returns the soft limit in effect afterwards.
pub fn raise_fd_limit() -> Option<u64> {
    let read = || -> Option<(u64, u64)> {
        let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
        let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
        let mut fields = line["Max open files".len()..].split_whitespace();
        let soft = fields.next()?.parse().ok()?;
        let hard = fields.next().and_then(|h| h.parse().ok()).unwrap_or(soft);
        Some((soft, hard))
    };
    let (soft, hard) = read()?;
    if soft < hard {
        let _ = Command::new("prlimit")
            .arg("--pid")
            .arg(std::process::id().to_string())
            .arg(format!("--nofile={hard}:{hard}"))
            .status();
    }
    read().map(|(soft, _)| soft)
}

// ---------------------------------------------------------------------------
// Honest frameworks.

/// One honest framework on 127.0.0.1: its own endpoint, a `scheduler`
/// process that authenticates and registers again and again, and an `anchor`
/// process authenticated and registered once per master ([`setup`](Self::setup)) and
/// only re-registered afterwards, as a long-running framework is (what
/// [`Attack::PrincipalRegistry`] evicts).
pub struct HonestFramework {
    index: usize,
    endpoint: Endpoint,
    scheduler: Process,
    anchor: Process,
    scheduler_id: Option<String>,
    anchor_id: Option<String>,
}

/// How honest frameworks behave.
#[derive(Clone, Debug)]
pub struct HonestOptions {
    /// How long one authentication may take, retries included (the library's
    /// Mesos backoff: a first attempt waits 5 to 7 s); later: failed.
    pub auth_deadline: Duration,
    /// How long the registration answer may take; later: failed.
    pub registration_deadline: Duration,
    /// The pause between one framework's operations.
    pub pause: Duration,
    /// Frameworks that start halfway through the phase (a new endpoint, so
    /// a new connection to the master, each) and do one operation.
    pub newcomers: usize,
}

impl Default for HonestOptions {
    fn default() -> Self {
        HonestOptions {
            auth_deadline: Duration::from_secs(10),
            registration_deadline: Duration::from_secs(5),
            pause: Duration::from_millis(100),
            newcomers: 8,
        }
    }
}

/// What honest frameworks saw in one phase.
#[derive(Clone, Debug, Default)]
pub struct HonestResult {
    /// Operations started: an authentication and a registration each, plus
    /// one anchor re-registration per framework at the end.
    pub operations: u32,
    /// Operations that authenticated and registered within their deadlines.
    pub succeeded: u32,
    /// Every authentication's time, ms, failed ones included (at the time
    /// they gave up).
    pub auth_ms: Vec<f64>,
    /// Why operations failed, with counts.
    pub failures: HashMap<String, u32>,
    /// Anchors re-registered at the end of the phase (counted in
    /// [`operations`](Self::operations) and [`succeeded`](Self::succeeded) too).
    pub anchors_ok: u32,
    /// Anchors checked.
    pub anchors: u32,
    /// Newcomers' operations that succeeded (counted in
    /// [`operations`](Self::operations) and [`succeeded`](Self::succeeded) too).
    pub newcomers_ok: u32,
    /// Newcomers.
    pub newcomers: u32,
}

impl HonestResult {
    /// Succeeded / started, in percent.
    pub fn success_percent(&self) -> f64 {
        if self.operations == 0 { 0.0 } else { 100.0 * f64::from(self.succeeded) / f64::from(self.operations) }
    }

    /// The `p`-th percentile (nearest rank) of [`auth_ms`](Self::auth_ms).
    pub fn auth_percentile(&self, p: f64) -> f64 {
        percentile(&self.auth_ms, p)
    }

    fn fail(&mut self, why: String) {
        *self.failures.entry(why).or_insert(0) += 1;
    }

    fn merge(&mut self, other: HonestResult) {
        self.operations += other.operations;
        self.succeeded += other.succeeded;
        self.auth_ms.extend(other.auth_ms);
        self.anchors_ok += other.anchors_ok;
        self.anchors += other.anchors;
        self.newcomers_ok += other.newcomers_ok;
        self.newcomers += other.newcomers;
        for (why, n) in other.failures {
            *self.failures.entry(why).or_insert(0) += n;
        }
    }
}

/// The `p`-th percentile (0 to 100, nearest rank); 0 for no values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl HonestFramework {
    /// Binds framework `index`'s endpoint on 127.0.0.1.
    pub async fn bind(index: usize) -> HonestFramework {
        let endpoint =
            Endpoint::bind(EndpointOptions { bind_ip: HONEST_IP, ..EndpointOptions::default() }).await.expect("bind");
        let scheduler = endpoint.register("scheduler").expect("register scheduler");
        let anchor = endpoint.register("anchor").expect("register anchor");
        HonestFramework { index, endpoint, scheduler, anchor, scheduler_id: None, anchor_id: None }
    }

    fn credential(&self) -> Credential {
        Credential::new(honest_principal(self.index), honest_secret(self.index))
    }

    /// For a new master: forgets the framework ids, then authenticates and
    /// registers the anchor.
    pub async fn setup(&mut self, master: &Upid, options: &HonestOptions) -> Result<(), String> {
        self.scheduler_id = None;
        self.anchor_id = None;
        let (_, verdict) = self.authenticate(master, true, options).await;
        verdict?;
        let principal = honest_principal(self.index);
        self.anchor_id = register(&mut self.anchor, master, &principal, None, options.registration_deadline).await?;
        Ok(())
    }

    /// Authenticates the scheduler's UPID (or the anchor's); the time it took.
    async fn authenticate(
        &self,
        master: &Upid,
        anchor: bool,
        options: &HonestOptions,
    ) -> (Duration, Result<(), String>) {
        let pid = if anchor { self.anchor.upid() } else { self.scheduler.upid() };
        let started = Instant::now();
        let auth = AuthenticateOptions { timeout: options.auth_deadline, ..AuthenticateOptions::default() };
        let verdict = tokio::time::timeout(
            options.auth_deadline + Duration::from_secs(1),
            authenticate(&self.endpoint, master, pid, self.credential(), &auth),
        )
        .await;
        let result = match verdict {
            Ok(Ok(Verdict::Authenticated)) => Ok(()),
            Ok(Ok(verdict)) => Err(format!("authentication: {verdict:?}")),
            Ok(Err(e)) => Err(format!("authentication: {}", first_words(&e.to_string()))),
            Err(_) => Err("authentication: no verdict by the deadline".to_owned()),
        };
        (started.elapsed(), result)
    }

    /// One operation: authenticate the scheduler, then register it.
    async fn operation(&mut self, master: &Upid, options: &HonestOptions, result: &mut HonestResult) {
        result.operations += 1;
        let (took, verdict) = self.authenticate(master, false, options).await;
        result.auth_ms.push(took.as_secs_f64() * 1000.0);
        if let Err(why) = verdict {
            return result.fail(why);
        }
        let principal = honest_principal(self.index);
        let id = self.scheduler_id.clone();
        match register(&mut self.scheduler, master, &principal, id, options.registration_deadline).await {
            Ok(id) => {
                self.scheduler_id = id.or(self.scheduler_id.take());
                result.succeeded += 1;
            }
            Err(why) => result.fail(why),
        }
    }

    /// The anchor registers again without authenticating again.
    async fn check_anchor(&mut self, master: &Upid, options: &HonestOptions, result: &mut HonestResult) {
        result.operations += 1;
        result.anchors += 1;
        let principal = honest_principal(self.index);
        let id = self.anchor_id.clone();
        match register(&mut self.anchor, master, &principal, id, options.registration_deadline).await {
            Ok(_) => {
                result.succeeded += 1;
                result.anchors_ok += 1;
            }
            Err(why) => result.fail(format!("anchor {why}")),
        }
    }
}

/// The first words of an error, without addresses or numbers that differ
/// between failures, to count failures by kind.
fn first_words(text: &str) -> String {
    text.split(|c: char| c == '@' || c == '(' || c.is_ascii_digit()).next().unwrap_or(text).trim().to_owned()
}

/// SUBSCRIBE from `process` as `principal` (with the framework id it was
/// given before, if any), then waits up to `deadline` for the master's
/// answer: `Ok(Some(id))` for a `FrameworkRegisteredMessage`, `Ok(None)` for
/// a `FrameworkReregisteredMessage`, `Err` for a `FrameworkErrorMessage` or
/// no answer. Messages already queued for `process` are dropped first.
pub async fn register(
    process: &mut Process,
    master: &Upid,
    principal: &str,
    id: Option<String>,
    deadline: Duration,
) -> Result<Option<String>, String> {
    while process.try_recv().is_some() {}
    let info = FrameworkInfo {
        user: Some("bench".into()),
        name: Some("hostile-load".into()),
        principal: Some(principal.into()),
        id: id.map(|value| FrameworkId { value }),
        ..FrameworkInfo::default()
    };
    let call = SchedulerCall {
        r#type: Some(SchedulerCall::SUBSCRIBE),
        subscribe: Some(Subscribe { framework_info: Some(info) }),
    };
    let started = Instant::now();
    match tokio::time::timeout(deadline, process.send_message(master, &call)).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) | Err(_) => return Err("registration: SUBSCRIBE not delivered".to_owned()),
    }
    loop {
        let left = deadline.saturating_sub(started.elapsed());
        let envelope = match tokio::time::timeout(left, process.recv()).await {
            Ok(Some(envelope)) => envelope,
            Ok(None) => return Err("registration: process closed".to_owned()),
            Err(_) => return Err("registration: no answer by the deadline".to_owned()),
        };
        if envelope.from != *master {
            continue;
        }
        match envelope.name.as_str() {
            "mesos.internal.FrameworkRegisteredMessage" => {
                let answer = FrameworkRegisteredMessage::decode(envelope.body.as_slice())
                    .map_err(|e| format!("registration: bad answer: {e}"))?;
                return Ok(Some(answer.framework_id.value));
            }
            "mesos.internal.FrameworkReregisteredMessage" => return Ok(None),
            "mesos.internal.FrameworkErrorMessage" => {
                let error = FrameworkErrorMessage::decode(envelope.body.as_slice()).unwrap_or_default();
                return Err(format!("registration refused: {}", first_words(&error.message)));
            }
            _ => continue,
        }
    }
}

/// Runs every framework's operations until `until` (or until `stop` is
/// set), one after another with [`HonestOptions::pause`] between them, then
/// re-registers each anchor; halfway to `until` (or when `stop` is set, if
/// sooner), [`HonestOptions::newcomers`] new frameworks (each with the
/// credential of an existing one) bind and do one operation each. Gives the frameworks back with what they saw.
pub async fn honest_load(
    frameworks: Vec<HonestFramework>,
    master: &Upid,
    options: &HonestOptions,
    until: Instant,
    stop: Arc<AtomicBool>,
) -> (Vec<HonestFramework>, HonestResult) {
    let mut newcomers = JoinSet::new();
    let halfway = Instant::now() + until.saturating_duration_since(Instant::now()) / 2;
    for k in 0..options.newcomers {
        let (master, options, credential) = (master.clone(), options.clone(), k % frameworks.len().max(1));
        let stop = stop.clone();
        newcomers.spawn(async move {
            // Halfway, or as soon as the phase is stopped early.
            while Instant::now() < halfway && !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let mut result = HonestResult { newcomers: 1, ..HonestResult::default() };
            let mut framework = HonestFramework::bind(credential).await;
            framework.operation(&master, &options, &mut result).await;
            result.newcomers_ok = result.succeeded;
            result.failures = result.failures.into_iter().map(|(why, n)| (format!("newcomer {why}"), n)).collect();
            result
        });
    }
    let mut tasks = JoinSet::new();
    for (slot, mut framework) in frameworks.into_iter().enumerate() {
        let (master, options, stop) = (master.clone(), options.clone(), stop.clone());
        tasks.spawn(async move {
            let mut result = HonestResult::default();
            // Spread the starts over the first pause.
            tokio::time::sleep(options.pause.mul_f64((slot % 8) as f64 / 8.0)).await;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                framework.operation(&master, &options, &mut result).await;
                tokio::time::sleep(options.pause).await;
            }
            framework.check_anchor(&master, &options, &mut result).await;
            (slot, framework, result)
        });
    }
    let mut back = Vec::new();
    let mut total = HonestResult::default();
    while let Some(done) = tasks.join_next().await {
        let (slot, framework, result) = done.expect("an honest framework's task");
        back.push((slot, framework));
        total.merge(result);
    }
    while let Some(done) = newcomers.join_next().await {
        total.merge(done.expect("a newcomer's task"));
    }
    back.sort_by_key(|(slot, _)| *slot);
    (back.into_iter().map(|(_, f)| f).collect(), total)
}

// ---------------------------------------------------------------------------
// The attacker.

/// What the attacker did in a phase.
#[derive(Debug, Default)]
pub struct AttackReport {
    /// Requests written to the master.
    pub sent: u64,
    /// Writes or connections that failed (the master closed or refused them).
    pub failed: u64,
    /// Connections opened to the master.
    pub connections: u64,
    /// For [`Attack::PrincipalRegistry`]: UPIDs authenticated.
    pub authenticated: u64,
    /// Requests the master answered `503` (its process queue was full).
    pub busy: u64,
    /// How long the attack ran.
    pub took: Duration,
}

impl AttackReport {
    /// One line for the table's notes.
    pub fn summary(&self, attack: Attack) -> String {
        match attack {
            Attack::Idle => String::new(),
            Attack::IdleConnections => format!("{} connections opened", self.connections),
            Attack::PrincipalRegistry => format!(
                "{} UPIDs authenticated in {:.0} s ({} requests, {} failed)",
                self.authenticated,
                self.took.as_secs_f64(),
                self.sent,
                self.failed
            ),
            _ => format!("{} requests sent, {} failed, {} answered 503", self.sent, self.failed, self.busy),
        }
    }
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    failed: AtomicU64,
    connections: AtomicU64,
    authenticated: AtomicU64,
    busy: AtomicU64,
}

impl Counters {
    fn report(&self) -> AttackReport {
        AttackReport {
            sent: self.sent.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            connections: self.connections.load(Ordering::Relaxed),
            authenticated: self.authenticated.load(Ordering::Relaxed),
            busy: self.busy.load(Ordering::Relaxed),
            took: Duration::ZERO,
        }
    }
}

/// A TCP connection from `from` (port 0) to `to`.
async fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from, 0))?;
    tokio::time::timeout(Duration::from_secs(5), socket.connect(to))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))?
}

/// Libprocess requests from 127.0.0.2 to the master on a few kept
/// connections, their answers read and thrown away; a closed connection is
/// reopened at the next send.
struct Wire {
    master: SocketAddr,
    conns: Vec<Option<OwnedWriteHalf>>,
    next: usize,
    counters: Arc<Counters>,
}

impl Wire {
    fn new(master: SocketAddr, connections: usize, counters: Arc<Counters>) -> Wire {
        Wire { master, conns: (0..connections.max(1)).map(|_| None).collect(), next: 0, counters }
    }

    async fn send(&mut self, from: &Upid, to: &Upid, name: &str, body: &[u8]) -> bool {
        let bytes = encode_request(from, to, name, body);
        for _ in 0..2 {
            let i = self.next % self.conns.len();
            self.next += 1;
            if self.conns[i].is_none() {
                match connect_from(ATTACKER_IP, self.master).await {
                    Ok(stream) => {
                        self.counters.connections.fetch_add(1, Ordering::Relaxed);
                        let (mut read, write) = stream.into_split();
                        let counters = self.counters.clone();
                        tokio::spawn(async move {
                            // Answers are read and dropped; `503`s counted
                            // (one split across two reads is missed).
                            let mut buf = vec![0u8; 16 * 1024];
                            while let Ok(n) = read.read(&mut buf).await {
                                if n == 0 {
                                    break;
                                }
                                let busy = buf[..n].windows(12).filter(|w| w == b"HTTP/1.1 503").count();
                                counters.busy.fetch_add(busy as u64, Ordering::Relaxed);
                            }
                        });
                        self.conns[i] = Some(write);
                    }
                    Err(_) => {
                        self.counters.failed.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                }
            }
            let conn = self.conns[i].as_mut().expect("connected above");
            match tokio::time::timeout(Duration::from_secs(5), conn.write_all(&bytes)).await {
                Ok(Ok(())) => {
                    self.counters.sent.fetch_add(1, Ordering::Relaxed);
                    return true;
                }
                _ => {
                    self.conns[i] = None;
                    self.counters.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        false
    }
}

/// A listener on 127.0.0.2 that answers `202 Accepted` to every libprocess
/// request: a peer that takes what the master sends at once.
async fn sink(tasks: &mut JoinSet<()>) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(ATTACKER_IP, 0)).await.expect("bind a sink on 127.0.0.2");
    let addr = listener.local_addr().expect("local_addr");
    tasks.spawn(async move {
        let mut connections = JoinSet::new();
        while let Ok((mut stream, _)) = listener.accept().await {
            connections.spawn(async move {
                let mut decoder = RequestDecoder::new(Limits::default());
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => n,
                    };
                    decoder.push(&buf[..n]);
                    loop {
                        match decoder.next_request() {
                            Ok(Some(_)) => {
                                let answer = encode_response(202, false, std::time::SystemTime::now());
                                if stream.write_all(&answer).await.is_err() {
                                    return;
                                }
                            }
                            Ok(None) => break,
                            Err(_) => return,
                        }
                    }
                }
            });
        }
    });
    addr
}

/// A listener on 127.0.0.2 that accepts and holds every connection, never
/// reading: a peer that never answers.
async fn hold(tasks: &mut JoinSet<()>) -> SocketAddr {
    let listener = TcpListener::bind(SocketAddr::new(ATTACKER_IP, 0)).await.expect("bind a listener on 127.0.0.2");
    let addr = listener.local_addr().expect("local_addr");
    tasks.spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    addr
}

/// Sleeps until `deadline` or 5 s, whichever comes first; `false` at the deadline.
async fn wait_round(deadline: Instant) -> bool {
    let next = (Instant::now() + Duration::from_secs(5)).min(deadline);
    tokio::time::sleep_until(next.into()).await;
    Instant::now() < deadline
}

/// Runs `attack` against the master `master` until `deadline`
/// ([`Attack::PrincipalRegistry`]: until it authenticated its UPIDs, if
/// sooner); every socket and task it made is closed when it returns.
pub async fn run_attack(attack: Attack, master: &Upid, size: &AttackSize, deadline: Instant) -> AttackReport {
    let started = Instant::now();
    let counters = Arc::new(Counters::default());
    let mut tasks = JoinSet::new();
    let authenticate_message = |i: u64, pid: String, reply: SocketAddr| {
        let from = Upid::new(format!("crammd5-authenticatee({i})"), reply).expect("a UPID");
        (from, Message::Authenticate(AuthenticateMessage { pid }).encode())
    };
    let auth_name = MessageType::Authenticate.proto_name();
    match attack {
        Attack::Idle => tokio::time::sleep_until(deadline.into()).await,
        Attack::LargePid => {
            let reply = sink(&mut tasks).await;
            let mut wire = Wire::new(master.addr(), 8, counters.clone());
            let mut i = 0u64;
            'rounds: loop {
                for _ in 0..64 {
                    if i as usize >= size.large_pids || Instant::now() >= deadline {
                        break 'rounds;
                    }
                    let tail = format!("@{reply}");
                    let head = format!("large-{i}-");
                    let pad = size.large_pid_bytes.saturating_sub(head.len() + tail.len() + 8);
                    let pid = format!("{head}{}{tail}", "a".repeat(pad));
                    let (from, body) = authenticate_message(i, pid, reply);
                    wire.send(&from, master, auth_name, &body).await;
                    i += 1;
                }
                if !wait_round(deadline).await {
                    break;
                }
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
        Attack::RegistrationFlood => {
            let never = hold(&mut tasks).await;
            let from = Upid::new("scheduler-flood", never).expect("a UPID");
            let call = SchedulerCall {
                r#type: Some(SchedulerCall::SUBSCRIBE),
                subscribe: Some(Subscribe { framework_info: Some(FrameworkInfo::default()) }),
            }
            .encode_to_vec();
            let mut wire = Wire::new(master.addr(), 4, counters.clone());
            let mut burst = size.registration_calls;
            loop {
                for _ in 0..burst {
                    if Instant::now() >= deadline {
                        break;
                    }
                    wire.send(&from, master, "mesos.scheduler.Call", &call).await;
                }
                burst = (size.registration_calls / 3).max(1);
                if !wait_round(deadline).await {
                    break;
                }
            }
        }
        Attack::IdleConnections => {
            let master_addr = master.addr();
            for _ in 0..size.idle_connections {
                let counters = counters.clone();
                tasks.spawn(async move {
                    loop {
                        match connect_from(ATTACKER_IP, master_addr).await {
                            Ok(mut stream) => {
                                counters.connections.fetch_add(1, Ordering::Relaxed);
                                let mut byte = [0u8; 1];
                                // Never writes; waits for the master to close it.
                                let _ = stream.read(&mut byte).await;
                            }
                            Err(_) => {
                                counters.failed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                });
            }
            tokio::time::sleep_until(deadline.into()).await;
        }
        Attack::OutboundPileup => {
            let mut listeners = Vec::with_capacity(size.listeners);
            for _ in 0..size.listeners {
                listeners.push(hold(&mut tasks).await);
            }
            let mut wire = Wire::new(master.addr(), 8, counters.clone());
            let mut i = 0u64;
            'rounds: loop {
                for reply in &listeners {
                    if Instant::now() >= deadline {
                        break 'rounds;
                    }
                    let (from, body) = authenticate_message(i, format!("pileup-{i}@{reply}"), *reply);
                    wire.send(&from, master, auth_name, &body).await;
                    i += 1;
                }
                if !wait_round(deadline).await {
                    break;
                }
            }
        }
        Attack::PrincipalRegistry => {
            let endpoint = Endpoint::bind(EndpointOptions { bind_ip: ATTACKER_IP, ..EndpointOptions::default() })
                .await
                .expect("bind the attacker's endpoint on 127.0.0.2");
            let next = Arc::new(AtomicUsize::new(0));
            for _ in 0..size.principal_concurrency.max(1) {
                let (endpoint, next, counters, master) =
                    (endpoint.clone(), next.clone(), counters.clone(), master.clone());
                let target = size.principal_upids;
                tasks.spawn(async move {
                    let mut wire = Wire::new(master.addr(), 1, counters.clone());
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= target || Instant::now() >= deadline {
                            return;
                        }
                        if principal_attempt(&endpoint, &mut wire, &master, i).await {
                            counters.authenticated.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
            // Until every task is done or the deadline.
            let _ =
                tokio::time::timeout_at(deadline.into(), async { while let Some(_done) = tasks.join_next().await {} })
                    .await;
        }
        Attack::SessionFlood => {
            let reply = sink(&mut tasks).await;
            let mut wire = Wire::new(master.addr(), 8, counters.clone());
            let mut i = 0u64;
            let mut burst = size.sessions;
            loop {
                for n in 0..burst {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let (from, body) = authenticate_message(i, format!("flood-{i}@{reply}"), reply);
                    wire.send(&from, master, auth_name, &body).await;
                    i += 1;
                    // Paced (about 4,000 a second) so that the master's
                    // process queue (1,024) takes them: each is to be a session.
                    if n % 100 == 99 {
                        tokio::time::sleep(Duration::from_millis(25)).await;
                    }
                }
                burst = (size.sessions / 3).max(1);
                if !wait_round(deadline).await {
                    break;
                }
            }
        }
    }
    tasks.abort_all();
    while tasks.join_next().await.is_some() {}
    AttackReport { took: started.elapsed(), ..counters.report() }
}

/// One CRAM-MD5 authentication of UPID `u{i}@127.0.0.2:PORT` as
/// [`LOW_PRIVILEGE`]: the sans-IO authenticatee, its messages written from
/// 127.0.0.2 and the master's answers taken from `endpoint`. `true` when
/// authenticated.
async fn principal_attempt(endpoint: &Endpoint, wire: &mut Wire, master: &Upid, i: usize) -> bool {
    let Ok(mut process) = endpoint.spawn_process("intruder") else { return false };
    let pid = format!("u{i}@{}", endpoint.advertised_addr());
    let credential = Credential::new(LOW_PRIVILEGE.0, LOW_PRIVILEGE.1);
    let mut client = Authenticatee::new(credential, pid, &ClientOptions::default());
    client.start();
    let mut session: Option<Upid> = None;
    loop {
        while let Some(message) = client.poll_transmit() {
            let to = session.as_ref().unwrap_or(master);
            if !wire.send(process.upid(), to, message.message_type().proto_name(), &message.encode()).await {
                return false;
            }
        }
        if client.state().is_terminal() {
            return client.state() == AuthenticateeState::Authenticated;
        }
        let envelope = match tokio::time::timeout(Duration::from_secs(5), process.recv()).await {
            Ok(Some(envelope)) => envelope,
            _ => return false,
        };
        let Some(kind) = MessageType::from_proto_name(&envelope.name) else { continue };
        let Ok(message) = Message::decode(kind.tag(), &envelope.body) else { return false };
        if session.is_none() {
            session = Some(envelope.from.clone());
        }
        client.handle_message(&envelope.from.to_string(), message);
    }
}

// ---------------------------------------------------------------------------
// The real Mesos driver.

/// `../shared/mesos-peer` when it is there and prepared, else `None` (the
/// bench says it skipped; tests that need it use
/// [`mesos_peer`](crate::mesos_peer::mesos_peer), which fails instead).
pub fn real_driver_dir() -> Option<PathBuf> {
    let dir = crate::workspace_root().join("../shared/mesos-peer");
    let cache = std::env::var_os("MESOS_PEER_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        base.join("mesos-peer")
    });
    (dir.join("real-framework").exists() && cache.join("_scheduler.so").exists()).then_some(dir)
}

/// Runs the real Mesos 1.11 scheduler driver against `master` as
/// [`REAL_DRIVER`], waiting for its registration: `Ok` when it printed
/// `REGISTERED`, else its last line.
pub fn real_driver_registers(peer: &Path, master: &Upid, timeout_s: u32) -> Result<(), String> {
    let output = Command::new(peer.join("real-framework"))
        .args([master.addr().to_string().as_str(), REAL_DRIVER.0, REAL_DRIVER.1, &timeout_s.to_string()])
        .env("LIBPROCESS_IP", "127.0.0.1")
        .env("MR_WAIT_REGISTRATION", "1")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run real-framework: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    if output.status.success() && last.starts_with("REGISTERED ") { Ok(()) } else { Err(last.to_owned()) }
}

// ---------------------------------------------------------------------------
// A whole phase.

/// One phase's figures.
#[derive(Debug)]
pub struct PhaseResult {
    /// The attack.
    pub attack: Attack,
    /// What the honest frameworks saw (setup failures included).
    pub honest: HonestResult,
    /// The master's largest sampled resident memory, MiB.
    pub peak_rss_mib: f64,
    /// The master's most open descriptors seen.
    pub max_fds: usize,
    /// The real Mesos driver: (registered, runs made), `None` when not run.
    pub real_driver: Option<(u32, u32)>,
    /// What the attacker did.
    pub report: AttackReport,
    /// How long the phase took.
    pub took: Duration,
}

/// How a phase runs.
#[derive(Clone, Debug)]
pub struct PhaseOptions {
    /// The `sasl-sample` program.
    pub program: PathBuf,
    /// Honest frameworks.
    pub frameworks: usize,
    /// How long the attack and the honest load run together.
    pub duration: Duration,
    /// How long the attack runs alone first.
    pub head_start: Duration,
    /// The honest frameworks' deadlines and pace.
    pub honest: HonestOptions,
    /// The attack sizes.
    pub size: AttackSize,
    /// The real driver's directory and runs per phase; `None`: not run.
    pub real_driver: Option<(PathBuf, u32)>,
}

/// Runs one phase against a new master (so no phase inherits another's
/// memory or connections): starts the master, registers every honest
/// framework's anchor, starts the sampler and the attack, gives the attack
/// its head start, runs the honest load (and the real driver) until the
/// deadline, re-registers the anchors, stops the attack and the master.
pub fn run_phase(attack: Attack, options: &PhaseOptions) -> PhaseResult {
    let started = Instant::now();
    let files = MasterFiles::new(options.frameworks);
    let master = MasterProcess::start(&options.program, &files.config, SocketAddr::new(HONEST_IP, 0));
    let honest_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let attack_rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let upid = master.upid.clone();
    let mut honest = HonestResult::default();
    let mut frameworks = honest_rt.block_on(async {
        let mut frameworks = Vec::new();
        for i in 0..options.frameworks {
            frameworks.push(HonestFramework::bind(i).await);
        }
        let mut tasks = JoinSet::new();
        for mut framework in frameworks {
            let (upid, honest) = (upid.clone(), options.honest.clone());
            tasks.spawn(async move {
                let result = framework.setup(&upid, &honest).await;
                (framework, result)
            });
        }
        let mut ready = Vec::new();
        while let Some(done) = tasks.join_next().await {
            let (framework, result) = done.expect("setup task");
            if let Err(why) = result {
                panic!("honest framework {} could not register before the attack: {why}", framework.index);
            }
            ready.push(framework);
        }
        ready.sort_by_key(|f| f.index);
        ready
    });

    let sampler = Sampler::start(master.pid(), Duration::from_millis(100));
    let deadline = Instant::now() + options.head_start + options.duration;
    // Set when the attack ends: the principal attack may end before the
    // deadline (its UPIDs authenticated), and the phase with it.
    let attack_over = Arc::new(AtomicBool::new(false));
    let attacker = {
        let (upid, size, over) = (upid.clone(), options.size.clone(), attack_over.clone());
        attack_rt.spawn(async move {
            let report = run_attack(attack, &upid, &size, deadline).await;
            over.store(true, Ordering::Relaxed);
            report
        })
    };
    std::thread::sleep(options.head_start);
    let driver = options.real_driver.clone().map(|(peer, runs)| {
        let upid = upid.clone();
        // Each run must register before the attack ends: its timeout is the
        // time left (at most 15 s), and no run starts with under 4 s left
        // (the first always runs).
        std::thread::spawn(move || {
            let (mut registered, mut made) = (0, 0);
            for _ in 0..runs {
                let left = deadline.saturating_duration_since(Instant::now()).as_secs().min(15);
                if made > 0 && left < 4 {
                    break;
                }
                made += 1;
                if real_driver_registers(&peer, &upid, left.max(1) as u32).is_ok() {
                    registered += 1;
                }
            }
            (registered, made)
        })
    });
    let (back, result) = honest_rt.block_on(async {
        honest_load(std::mem::take(&mut frameworks), &upid, &options.honest, deadline, attack_over).await
    });
    frameworks = back;
    honest.merge(result);
    let real_driver = driver.map(|d| d.join().expect("the real driver's thread"));
    let report = attack_rt.block_on(attacker).expect("the attacker's task");
    let (peak_rss_mib, max_fds) = sampler.finish();
    drop(frameworks);
    drop(master);
    honest_rt.shutdown_timeout(Duration::from_secs(1));
    attack_rt.shutdown_timeout(Duration::from_secs(1));
    PhaseResult { attack, honest, peak_rss_mib, max_fds, real_driver, report, took: started.elapsed() }
}

/// The results as a markdown table; ratios against the `Idle` row.
pub fn markdown_table(results: &[PhaseResult]) -> String {
    let idle_p99 = results.iter().find(|r| r.attack == Attack::Idle).map(|r| r.honest.auth_percentile(99.0));
    let mut out = String::from(
        "| Phase | Finding | Honest ok | Success | Anchors kept | Newcomers ok | Auth p50 ms | Auth p99 ms | p99 / idle | Peak RSS MiB | Max fds | Real driver | Attacker |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let p99 = r.honest.auth_percentile(99.0);
        let ratio = match (r.attack, idle_p99) {
            (Attack::Idle, _) => "1 (reference)".to_owned(),
            (_, Some(idle)) if idle > 0.0 => format!("{:.2}", p99 / idle),
            _ => "-".to_owned(),
        };
        let driver = match r.real_driver {
            Some((ok, runs)) => format!("{ok}/{runs}"),
            None => "not run".to_owned(),
        };
        out.push_str(&format!(
            "| {} | {} | {}/{} | {:.1} % | {}/{} | {}/{} | {:.1} | {:.1} | {} | {:.1} | {} | {} | {} |\n",
            r.attack.name(),
            if r.attack.finding() == 0 { "-".to_owned() } else { r.attack.finding().to_string() },
            r.honest.succeeded,
            r.honest.operations,
            r.honest.success_percent(),
            r.honest.anchors_ok,
            r.honest.anchors,
            r.honest.newcomers_ok,
            r.honest.newcomers,
            r.honest.auth_percentile(50.0),
            p99,
            ratio,
            r.peak_rss_mib,
            r.max_fds,
            driver,
            r.report.summary(r.attack),
        ));
    }
    out
}

/// Why honest operations failed in a phase, most frequent first, one line.
pub fn failure_summary(result: &HonestResult) -> String {
    let mut failures: Vec<_> = result.failures.iter().collect();
    failures.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    failures.iter().map(|(why, n)| format!("{n} x {why}")).collect::<Vec<_>>().join("; ")
}

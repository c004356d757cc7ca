//! The real Apache Mesos 1.11 peer (`../shared/mesos-peer`) for the libprocess
//! tests: finding it, starting `real-master` on a free port, reading its lines,
//! stopping it by its PID.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Why the tests against real Mesos are `#[ignore]`d in plain `cargo test`:
/// they need `../shared/mesos-peer`, prepared. `ci/test` runs them by name
/// with `--ignored`, and [`mesos_peer`] fails them if the peer is missing.
pub const NEEDS_MESOS_PEER: &str = "needs ../shared/mesos-peer, prepared; ci/test runs it";

/// `../shared/mesos-peer` beside the checkout, with its prepared cache.
///
/// # Panics
/// If either is missing, saying what to run: a test that needs the real
/// Mesos peer never passes without it.
pub fn mesos_peer(test: &str) -> PathBuf {
    let dir = crate::workspace_root().join("../shared/mesos-peer");
    let cache = std::env::var_os("MESOS_PEER_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        base.join("mesos-peer")
    });
    assert!(dir.join("real-master").exists(), "{test} needs the real Mesos peer: {} is absent", dir.display());
    assert!(
        cache.join("_scheduler.so").exists(),
        "{test} needs the real Mesos peer: its cache {} is not prepared (run ../shared/mesos-peer/prepare)",
        cache.display()
    );
    dir
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A running `real-master`; killed by its PID when dropped.
pub struct RealMaster {
    child: Child,
    pub port: u16,
    lines: mpsc::Receiver<String>,
    _credentials: tempfile::NamedTempFile,
}

impl RealMaster {
    /// Starts `real-master` with these credentials (`principal secret` lines or
    /// Mesos JSON) and waits for its `listening:` line.
    pub fn start(peer: &std::path::Path, credentials: &str) -> RealMaster {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(credentials.as_bytes()).unwrap();
        let port = free_port();
        let mut child = Command::new(peer.join("real-master"))
            .arg(port.to_string())
            .env("MR_CREDENTIALS", file.path())
            .env("LIBPROCESS_IP", "127.0.0.1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start real-master");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut master = RealMaster { child, port, lines, _credentials: file };
        let first = master.next_line(Duration::from_secs(30)).expect("real-master printed nothing");
        assert_eq!(first, format!("listening: master@127.0.0.1:{port}"));
        master
    }

    /// The next stdout line, if one comes within `timeout`.
    pub fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// `master@127.0.0.1:PORT`.
    pub fn upid(&self) -> String {
        format!("master@127.0.0.1:{}", self.port)
    }
}

impl Drop for RealMaster {
    fn drop(&mut self) {
        // Child::kill signals this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the real Mesos scheduler driver (`real-framework`) against the master
/// at `master` with the extra environment `env`, waiting for it to exit (its
/// own timeout: 20 s); returns its exit code and the last line it printed, its
/// verdict.
pub fn run_real_framework(
    peer: &std::path::Path,
    master: std::net::SocketAddr,
    principal: &str,
    secret: &str,
    env: &[(&str, &str)],
) -> (i32, String) {
    let output = Command::new(peer.join("real-framework"))
        .args([master.to_string().as_str(), principal, secret, "20"])
        .env("LIBPROCESS_IP", "127.0.0.1")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .expect("real-framework runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default().to_owned();
    (output.status.code().unwrap_or(-1), last)
}

/// The real Mesos 1.11 scheduler driver in its event mode (`real-framework
/// MASTER PRINCIPAL SECRET SECONDS` with `MR_EVENTS=1`): its event lines, each
/// recorded with when it came. Killed by its PID when dropped, and then its
/// lines are printed under `name`.
pub struct RealDriver {
    child: Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    started: std::time::Instant,
    seen: Vec<String>,
    name: &'static str,
}

impl RealDriver {
    /// Starts it against `master` (`HOST:PORT` or `zk://...`) as `principal`.
    pub fn start(peer: &Path, master: &str, principal: &str, secret: &str, seconds: &str, name: &'static str) -> Self {
        let mut child = Command::new(peer.join("real-framework"))
            .args([master, principal, secret, seconds])
            .env("LIBPROCESS_IP", "127.0.0.1")
            .env("MR_EVENTS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("real-framework runs");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        RealDriver { child, lines, started: std::time::Instant::now(), seen: Vec::new(), name }
    }

    fn record(&mut self, line: &str) {
        self.seen.push(format!("{:>6.2}s {line}", self.started.elapsed().as_secs_f64()));
    }

    /// Waits for a line starting with `prefix` and returns it; other lines are
    /// recorded. Panics with every line seen if it does not come.
    pub async fn expect(&mut self, prefix: &str, within: Duration) -> String {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.record(&line);
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Ok(None) => panic!("real-framework ended before {prefix:?}; it printed {:#?}", self.seen),
                Err(_) => panic!("no {prefix:?} from real-framework within {within:?}; it printed {:#?}", self.seen),
            }
        }
    }

    /// Records the lines that come within `during`; none may start with any of `forbidden`.
    pub async fn none_of(&mut self, forbidden: &[&str], during: Duration) {
        let deadline = tokio::time::Instant::now() + during;
        while let Ok(Some(line)) = tokio::time::timeout_at(deadline, self.lines.recv()).await {
            self.record(&line);
            assert!(!forbidden.iter().any(|f| line.starts_with(f)), "{line:?}; it printed {:#?}", self.seen);
        }
    }
}

impl Drop for RealDriver {
    fn drop(&mut self) {
        // SIGKILL to this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("--- {}: the real driver's event lines ---", self.name);
        for line in &self.seen {
            eprintln!("{line}");
        }
    }
}

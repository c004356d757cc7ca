//! A real standalone ZooKeeper server for the tests that need one, started by
//! `ci/zookeeper start DIR` in a temporary directory and stopped (by its PID,
//! through `ci/zookeeper stop DIR`) when dropped.
//!
//! The server listens on 127.0.0.1 only, on a free port that stays the same
//! across [`ZooKeeper::stop`] and [`ZooKeeper::restart`] (so clients that were
//! connected find it again), with 200 ms ticks: it accepts session timeouts from
//! 400 ms to 20 s, so tests can watch sessions expire within a second or two.
//! See the comment at the top of `ci/zookeeper`.
//!
//! A server that cannot start fails the test with the script's output (the
//! server's log included): a test that needs ZooKeeper never passes without one.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `ci/zookeeper` script of this repository.
pub fn script() -> PathBuf {
    crate::workspace_root().join("ci/zookeeper")
}

/// A running standalone ZooKeeper server (see the module documentation).
#[derive(Debug)]
pub struct ZooKeeper {
    port: u16,
    running: bool,
    // Holds the config, data, log and PID file; removed on drop, after the stop.
    dir: tempfile::TempDir,
}

impl ZooKeeper {
    /// Starts a server in a new temporary directory.
    ///
    /// # Panics
    /// If it cannot start (e.g. the `zookeeper` package is missing: run
    /// `ci/install-deps`), with `ci/zookeeper`'s output.
    pub fn start() -> ZooKeeper {
        let dir = tempfile::Builder::new().prefix("zookeeper-").tempdir().expect("a temp dir for ZooKeeper");
        let out = run_script("start", dir.path());
        // From here on, dropping `started` stops the server.
        let mut started = ZooKeeper { port: 0, running: true, dir };
        assert!(
            out.status.success(),
            "ci/zookeeper start {} failed (is the zookeeper package installed? ci/install-deps installs it):\n{}",
            started.dir.path().display(),
            describe(&out)
        );
        let port = started.read("port");
        started.port = port.parse().unwrap_or_else(|_| panic!("ci/zookeeper wrote the port {port:?}"));
        started
    }

    /// The client port on 127.0.0.1 (the same after a restart).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connect string, `127.0.0.1:PORT`.
    pub fn connect(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `zk://127.0.0.1:PORT/PATH`, a Mesos master address for `path`.
    pub fn url(&self, path: &str) -> String {
        format!("zk://{}{path}", self.connect())
    }

    /// `zk://USER:PASSWORD@127.0.0.1:PORT/PATH`.
    pub fn url_with(&self, user: &str, password: &str, path: &str) -> String {
        format!("zk://{user}:{password}@{}{path}", self.connect())
    }

    /// The directory holding the server's config, data and log.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Whether the server runs (it does from [`start`](Self::start) until
    /// [`stop`](Self::stop), and again after [`restart`](Self::restart)).
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// The PID of the running server.
    pub fn pid(&self) -> u32 {
        let pid = self.read("zookeeper.pid");
        pid.parse().unwrap_or_else(|_| panic!("ci/zookeeper wrote the PID {pid:?}"))
    }

    /// Stops the server (SIGTERM to its PID, waiting for it to exit), keeping its
    /// data: its znodes, and its sessions until they time out after a restart.
    ///
    /// # Panics
    /// If `ci/zookeeper stop` fails.
    pub fn stop(&mut self) {
        let out = run_script("stop", self.dir.path());
        assert!(out.status.success(), "ci/zookeeper stop failed:\n{}", describe(&out));
        self.running = false;
    }

    /// Starts the stopped server again, on the same port with the same data.
    ///
    /// # Panics
    /// If it cannot start.
    pub fn restart(&mut self) {
        let out = run_script("start", self.dir.path());
        assert!(out.status.success(), "ci/zookeeper start (restart) failed:\n{}", describe(&out));
        self.running = true;
    }

    /// The last `lines` lines of the server's log, for a failure message.
    pub fn log_tail(&self, lines: usize) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("zookeeper.log")).unwrap_or_default();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }

    fn read(&self, name: &str) -> String {
        let file = self.dir.path().join(name);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        text.trim().to_owned()
    }
}

impl Drop for ZooKeeper {
    fn drop(&mut self) {
        // Always: `ci/zookeeper stop` does nothing when no server runs from DIR.
        // No panic here: it could be unwinding already.
        let out = run_script("stop", self.dir.path());
        if !out.status.success() {
            eprintln!("test_support::zookeeper: ci/zookeeper stop failed:\n{}", describe(&out));
        }
    }
}

fn run_script(action: &str, dir: &Path) -> Output {
    Command::new("bash")
        .arg(script())
        .arg(action)
        .arg(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ci/zookeeper {action}: {e}"))
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

//! `sasl-sample mesos-master` as a child process for the tests that run it;
//! the real Mesos peer and its helpers come from the test-support crate.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub use cyrus_sasl_test_support::mesos_peer::*;

/// A running `sasl-sample mesos-master`, its stdout read line by line on a
/// thread; killed by its PID when dropped.
pub struct SampleMaster {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its UPID, from its `listening:` line.
    pub upid: libprocess::Upid,
    _keep: Option<tempfile::TempDir>,
}

impl SampleMaster {
    /// `sasl-sample mesos-master ARGS`, with the `LIBPROCESS_IP`, `_PORT`,
    /// `_ADVERTISE_IP` and `_ADVERTISE_PORT` of the test's environment unset
    /// and `vars` set; returns once it printed its `listening:` line.
    pub fn start(args: &[&std::ffi::OsStr], vars: &[(&str, &str)]) -> SampleMaster {
        let mut command = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
        command.arg("mesos-master").args(args);
        for var in ["LIBPROCESS_IP", "LIBPROCESS_PORT", "LIBPROCESS_ADVERTISE_IP", "LIBPROCESS_ADVERTISE_PORT"] {
            command.env_remove(var);
        }
        command.envs(vars.iter().copied());
        let mut child = command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines.recv_timeout(Duration::from_secs(20)).expect("a listening line");
        let upid = first.strip_prefix("listening: ").unwrap_or_else(|| panic!("{first}")).parse().unwrap();
        SampleMaster { child, lines, upid, _keep: None }
    }

    /// Keeps `dir` (the files the master reads) for as long as it runs.
    pub fn keeping(mut self, dir: tempfile::TempDir) -> SampleMaster {
        self._keep = Some(dir);
        self
    }

    /// Its next stdout line, within 30 s.
    pub fn line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(30)).expect("a line within 30 s")
    }
}

impl Drop for SampleMaster {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

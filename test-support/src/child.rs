//! Child processes for the tests: spawned with stderr collected line by line,
//! waited for with a deadline, and killed and reaped (by their handle) when
//! dropped, so a failed assertion never leaves a process behind.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long any one child may take. A CRAM-MD5 exchange takes milliseconds.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// A child process with its stderr collected line by line. Dropping it kills
/// and reaps the child (by its handle), whatever state the test is in.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
    stderr: Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    pub fn spawn(name: &'static str, command: &mut Command) -> Proc {
        let mut child = command
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} (gsasl comes from the Debian package gsasl): {e}"));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr is piped");
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Proc { name, child, stderr: rx, seen: Vec::new() }
    }

    pub fn stdin(&mut self) -> ChildStdin {
        self.child.stdin.take().expect("stdin is piped")
    }

    pub fn stdout(&mut self) -> ChildStdout {
        self.child.stdout.take().expect("stdout is piped")
    }

    /// Waits for a stderr line starting with `prefix`, and returns the rest of it.
    pub fn wait_for_line(&mut self, prefix: &str) -> String {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.stderr.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if let Some(rest) = line.strip_prefix(prefix) {
                        return rest.to_owned();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("{} printed no {prefix:?} line within {DEADLINE:?}; stderr: {:?}", self.name, self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("{} closed stderr without a {prefix:?} line; stderr: {:?}", self.name, self.seen)
                }
            }
        }
    }

    /// Waits (with the deadline) for the child to exit; returns its status and
    /// its whole stderr.
    pub fn finish(&mut self) -> (ExitStatus, String) {
        let end = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status;
            }
            assert!(
                Instant::now() < end,
                "{} did not exit within {DEADLINE:?}; stderr so far: {:?}",
                self.name,
                self.seen
            );
            while let Ok(line) = self.stderr.try_recv() {
                self.seen.push(line);
            }
            thread::sleep(Duration::from_millis(10));
        };
        // The child has exited, so its stderr is at end of file (it starts no
        // processes of its own that could hold it open).
        loop {
            match self.stderr.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!("{}: stderr stayed open after exit", self.name),
            }
        }
        (status, self.seen.join("\n"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies everything from `from` to `to` as it arrives, then closes `to`.
/// Returns what it copied, for failure messages.
pub fn pump(mut from: impl Read + Send + 'static, mut to: impl Write + Send + 'static) -> JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut copied = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).and_then(|()| to.flush()).is_err() {
                break;
            }
            copied.extend_from_slice(&buf[..n]);
        }
        copied
    })
}

/// Reads `from` to its end in a thread.
pub fn collect(mut from: impl Read + Send + 'static) -> JoinHandle<String> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let _ = from.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    })
}

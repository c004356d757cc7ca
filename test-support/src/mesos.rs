//! Mesos authentication in process: the framework and master state machines
//! of `cyrus-sasl-mesos` joined by a message pump, as the tests use them.

use std::fmt;
use std::hash::Hash;
use std::io::{BufRead, BufReader};
use std::net::IpAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cyrus_sasl_mesos::{Authenticatee, Authenticator, Message, Origin};

/// The authenticatee's UPID in these exchanges (on loopback).
pub const AUTHENTICATEE: &str = "crammd5-authenticatee(1)@127.0.0.1:40123";
/// The master's session UPID in these exchanges.
pub const SESSION: &str = "crammd5-authenticator-session(1)@127.0.0.1:5050";
/// Loopback, where both sides live.
pub const LOCALHOST: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

/// Which way a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dir {
    /// Framework or agent to master.
    ToMaster,
    /// Master to framework or agent.
    ToClient,
}

/// What the pump does with each message: look at it, change it, or drop it
/// (return `false`). Messages go through their wire encoding first.
pub trait Tap {
    /// `true` to deliver `message`.
    fn pass(&mut self, dir: Dir, message: &mut Message) -> bool;
}

impl<F: FnMut(Dir, &mut Message) -> bool> Tap for F {
    fn pass(&mut self, dir: Dir, message: &mut Message) -> bool {
        self(dir, message)
    }
}

/// Delivers everything.
pub fn deliver_all(_: Dir, _: &mut Message) -> bool {
    true
}

/// `message` as the other side receives it: encoded, then decoded.
pub fn wire(message: Message) -> Message {
    Message::decode(message.tag(), &message.encode()).expect("our own messages decode")
}

/// One attempt: moves messages between `client` and `master`'s session
/// `peer` until neither side has anything to send. The client is started
/// first if it is not. Every message the client sends comes from `origin`;
/// every answer from [`SESSION`]. Returns what was delivered, in order.
pub fn exchange<P>(
    now: Instant,
    client: &mut Authenticatee,
    master: &mut Authenticator<P>,
    peer: P,
    origin: &Origin,
    mut tap: impl Tap,
) -> Vec<(Dir, Message)>
where
    P: Clone + Eq + Hash + fmt::Debug,
{
    client.start();
    let mut delivered = Vec::new();
    loop {
        let mut moved = false;
        while let Some(message) = client.poll_transmit() {
            moved = true;
            let mut message = wire(message);
            if tap.pass(Dir::ToMaster, &mut message) {
                delivered.push((Dir::ToMaster, message.clone()));
                master.handle_message(now, peer.clone(), origin, message);
            }
        }
        while let Some((_, message)) = master.poll_transmit() {
            moved = true;
            let mut message = wire(message);
            if tap.pass(Dir::ToClient, &mut message) {
                delivered.push((Dir::ToClient, message.clone()));
                client.handle_message(SESSION, message);
            }
        }
        if !moved {
            return delivered;
        }
    }
}

/// Attempt `n`'s UPID on loopback: `crammd5-authenticatee(n)@127.0.0.1:40123`.
pub fn authenticatee_origin(attempt: u32) -> Origin {
    Origin::new(format!("crammd5-authenticatee({attempt})@127.0.0.1:40123"), LOCALHOST)
}

/// Session `n`'s UPID on loopback: `crammd5-authenticator-session(n)@127.0.0.1:5050`.
pub fn session_upid(session: u32) -> String {
    format!("crammd5-authenticator-session({session})@127.0.0.1:5050")
}

/// The next authentication a master reports (other events are printed and
/// skipped), within `wait`.
pub use crate::tls::next_authentication;

/// A running `sasl-sample mesos-master` (the program at `program`), its
/// stdout read line by line on a thread; killed by its PID when dropped.
pub struct SampleMaster {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Its UPID, from its `listening:` line.
    pub upid: libprocess::Upid,
    _keep: Option<tempfile::TempDir>,
}

impl SampleMaster {
    /// `PROGRAM mesos-master ARGS`, with the `LIBPROCESS_IP`, `_PORT`,
    /// `_ADVERTISE_IP` and `_ADVERTISE_PORT` of the test's environment unset
    /// and `vars` set; returns once it printed its `listening:` line.
    pub fn start(program: &Path, args: &[&std::ffi::OsStr], vars: &[(&str, &str)]) -> SampleMaster {
        let mut command = Command::new(program);
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

/// [`exchange`] for a framework that retries: moves messages between an
/// `AuthenticationRetry` and an `Authenticator<u32>` (each attempt its own
/// session, keyed by the attempt's number) until neither has anything to
/// send, and evaluates to what was delivered, `Vec<(Dir, Message)>`.
///
/// `retry_exchange!(now, &mut framework, &mut master, origin, session, tap)`:
/// attempt `n` sends from `origin(n)` (an [`Origin`]), its session answers
/// from `session(n)` (a UPID); `tap` is a [`Tap`]. Timeouts are the
/// caller's. A macro because `AuthenticationRetry` is generic over the
/// caller's random number generator.
#[macro_export]
macro_rules! retry_exchange {
    ($now:expr, $framework:expr, $master:expr, $origin:expr, $session:expr, $tap:expr $(,)?) => {{
        let (now, framework, master) = ($now, $framework, $master);
        let (origin, session, mut tap) = ($origin, $session, $tap);
        let mut delivered: Vec<($crate::mesos::Dir, ::cyrus_sasl_mesos::Message)> = Vec::new();
        loop {
            let mut moved = false;
            while let Some((attempt, message)) = framework.poll_transmit() {
                moved = true;
                let mut message = $crate::mesos::wire(message);
                if $crate::mesos::Tap::pass(&mut tap, $crate::mesos::Dir::ToMaster, &mut message) {
                    delivered.push(($crate::mesos::Dir::ToMaster, message.clone()));
                    master.handle_message(now, attempt, &origin(attempt), message);
                }
            }
            while let Some((peer, message)) = master.poll_transmit() {
                moved = true;
                let mut message = $crate::mesos::wire(message);
                if $crate::mesos::Tap::pass(&mut tap, $crate::mesos::Dir::ToClient, &mut message) {
                    delivered.push(($crate::mesos::Dir::ToClient, message.clone()));
                    framework.handle_message(now, peer, &session(peer), message);
                }
            }
            if !moved {
                break delivered;
            }
        }
    }};
}

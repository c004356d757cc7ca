//! Shared helpers for the integration tests of the workspace: real sasldb
//! files made by `saslpasswd2`, the in-process client/server handshake
//! ([`handshake`], [`exchange`], [`external_exchange`]), and fixtures for the
//! real parts tests need (a KDC, an LDAP directory, TLS certificates, the
//! Mesos peer). A fixture that cannot start its part panics with the reason:
//! a test never passes by skipping.

pub mod attack;
pub mod bench;
pub mod capture;
pub mod child;
pub mod kdc;
pub mod ldap;
pub mod mesos;
pub mod mesos_peer;
pub mod secure_stream;
pub mod tls;
pub mod zookeeper;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use cyrus_sasl::{Client, ClientStep, Identity, Server, ServerStep};

/// The workspace's root directory (where `ci/` is).
pub fn workspace_root() -> &'static std::path::Path {
    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// The realm test users are created in.
pub const REALM: &str = "EXAMPLE.TEST";
/// The application name passed to `saslpasswd2 -a`.
pub const APP: &str = "cyrus-sasl-rs";

/// A temp dir holding a sasldb made by the real `saslpasswd2`.
pub struct TestDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

/// Creates a sasldb with `users` (name, password) in [`REALM`] using `saslpasswd2`.
pub fn sasldb(users: &[(&str, &str)]) -> TestDb {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sasldb2");
    for (user, password) in users {
        saslpasswd2(&path, REALM, user, password);
    }
    TestDb { dir, path }
}

/// `echo -n PASSWORD | saslpasswd2 -f PATH -a APP -u REALM -c -p USER`
pub fn saslpasswd2(path: &std::path::Path, realm: &str, user: &str, password: &str) {
    let mut child = Command::new("saslpasswd2")
        .args(["-f"])
        .arg(path)
        .args(["-a", APP, "-u", realm, "-c", "-p", user])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run saslpasswd2 (package sasl2-bin; ci/install-deps installs it)");
    child.stdin.take().unwrap().write_all(password.as_bytes()).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "saslpasswd2 failed for {user}: {status}");
}

/// The users `sasldblistusers2 -f PATH` lists, as `user@realm` strings.
pub fn sasldblistusers2(path: &std::path::Path) -> Vec<String> {
    let out = Command::new("sasldblistusers2").arg("-f").arg(path).output().expect("run sasldblistusers2");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split(':').next().map(|s| s.trim().to_owned()))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The outcome of an in-process handshake, with what the client saw.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Authenticated(Identity),
    Rejected,
}

/// Runs a complete exchange between `client` and `server` in process, as a
/// network protocol would carry it: the client picks from the server's list.
pub fn handshake(client: &mut Client, server: &mut Server) -> cyrus_sasl::Result<Outcome> {
    let offered = server.mechanisms()?.join(" ");
    exchange(client, server, &offered).1
}

/// Runs a complete exchange in which the client chooses among `mechanisms`
/// (space-separated; a network protocol would carry the server's list, maybe
/// filtered). Returns the mechanism the client chose (`None` when
/// [`Client::start`] failed) and the outcome or the first error.
pub fn exchange(
    client: &mut Client,
    server: &mut Server,
    mechanisms: &str,
) -> (Option<String>, cyrus_sasl::Result<Outcome>) {
    let start = match client.start(mechanisms) {
        Ok(start) => start,
        Err(e) => return (None, Err(e)),
    };
    let mechanism = start.mechanism.to_owned();
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let outcome = run(client, server, &mechanism, initial.as_deref());
    (Some(mechanism), outcome)
}

/// The server's side from `start` on: challenges go to the client, its
/// responses back, until the server decides.
fn run(
    client: &mut Client,
    server: &mut Server,
    mechanism: &str,
    initial: Option<&[u8]>,
) -> cyrus_sasl::Result<Outcome> {
    let mut step = server.start(mechanism, initial)?;
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                let challenge = challenge.to_vec();
                let response = match client.step(&challenge)? {
                    ClientStep::Continue(r) => r.to_vec(),
                    ClientStep::Complete(r) => r.map(<[u8]>::to_vec).unwrap_or_default(),
                };
                step = server.step(&response)?;
            }
            ServerStep::Authenticated { identity, additional } => {
                if !additional.is_empty() {
                    let additional = additional.to_vec();
                    client.step(&additional)?;
                }
                return Ok(Outcome::Authenticated(identity));
            }
            ServerStep::Rejected(_) => return Ok(Outcome::Rejected),
        }
    }
}

/// Runs a whole EXTERNAL exchange between `client` and `server`, whose
/// external identities the caller set (`set_external`).
pub fn external_exchange(client: &mut Client, server: &mut Server) -> cyrus_sasl::Result<Outcome> {
    let start = client.start("EXTERNAL")?;
    assert_eq!(start.mechanism, "EXTERNAL");
    let first = start.initial_response.map(<[u8]>::to_vec);
    run(client, server, "EXTERNAL", first.as_deref())
}

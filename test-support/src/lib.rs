//! Shared helpers for the integration tests: real sasldb files made by
//! `saslpasswd2`, and an in-process client/server handshake loop.

pub mod bench;
pub mod capture;
pub mod child;
pub mod kdc;
pub mod ldap;
pub mod mesos;
pub mod mesos_peer;
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
    let start = client.start(&offered)?;
    let mechanism = start.mechanism.to_owned();
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start(&mechanism, initial.as_deref())?;
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
            ServerStep::Rejected => return Ok(Outcome::Rejected),
        }
    }
}

/// Runs a whole EXTERNAL exchange between `client` and `server`, whose
/// external identities the caller set (`set_external`).
pub fn external_exchange(client: &mut Client, server: &mut Server) -> cyrus_sasl::Result<Outcome> {
    let start = client.start("EXTERNAL")?;
    assert_eq!(start.mechanism, "EXTERNAL");
    let first = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start("EXTERNAL", first.as_deref())?;
    loop {
        let challenge = match step {
            ServerStep::Authenticated { identity, .. } => return Ok(Outcome::Authenticated(identity)),
            ServerStep::Rejected => return Ok(Outcome::Rejected),
            ServerStep::Continue(challenge) => challenge.to_vec(),
        };
        let response = match client.step(&challenge)? {
            ClientStep::Continue(r) => r.to_vec(),
            ClientStep::Complete(r) => r.map(<[u8]>::to_vec).unwrap_or_default(),
        };
        step = server.step(&response)?;
    }
}

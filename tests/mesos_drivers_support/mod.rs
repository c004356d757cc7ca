//! Shared by the Mesos driver tests: a master config over an in-memory store,
//! quick retry settings, and a raw peer that writes and reads frames by hand.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use cyrus_sasl::mesos::driver::{AuthenticateOptions, MasterOptions};
use cyrus_sasl::mesos::framing::{FrameError, FrameLimits, read_message, write_message};
use cyrus_sasl::mesos::{AuthenticateMessage, Backoff, Message, ServerOptions};
use cyrus_sasl::{Config, CredentialStore, Secret};

/// The principals the test master knows, with their secrets.
pub const USERS: [(&str, &str); 3] = [("framework-a", "fw-secret"), ("agent-1", "agent-secret"), ("agent-2", "a2")];

pub fn store() -> CredentialStore {
    CredentialStore::from_credentials(USERS.iter().map(|(p, s)| (p.to_string(), Secret::from(*s)))).unwrap()
}

pub fn config(store: &CredentialStore) -> Config {
    Config::new().with("mech_list", "CRAM-MD5").unwrap().with_credential_store(store)
}

/// A master whose sessions and idle connections time out after `timeout`.
pub fn master_options(timeout: Duration) -> MasterOptions {
    MasterOptions {
        server: ServerOptions { session_timeout: timeout, ..ServerOptions::default() },
        idle_timeout: timeout,
        ..MasterOptions::default()
    }
}

/// Client settings with short attempt timeouts (`min` to `2 * min`).
pub fn quick_client(min: Duration, max_attempts: u32) -> AuthenticateOptions {
    AuthenticateOptions {
        backoff: Backoff::new(min, min / 2, min * 2).unwrap(),
        max_attempts,
        ..AuthenticateOptions::default()
    }
}

/// A hand-driven TCP peer speaking raw frames.
pub struct RawPeer {
    pub stream: TcpStream,
}

impl RawPeer {
    pub fn connect(addr: std::net::SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        RawPeer { stream }
    }

    pub fn send(&mut self, message: &Message) {
        write_message(&mut self.stream, message, FrameLimits::default()).unwrap();
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    pub fn receive(&mut self) -> Result<Message, FrameError> {
        read_message(&mut self.stream, FrameLimits::default())
    }

    pub fn authenticate(&mut self, pid: &str) {
        self.send(&Message::Authenticate(AuthenticateMessage { pid: pid.into() }));
    }

    /// True once the other side has closed (EOF), within the read timeout.
    pub fn closed_by_peer(&mut self) -> bool {
        let mut buf = [0u8; 64];
        loop {
            match self.stream.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return true,
                Err(_) => return false,
            }
        }
    }
}

/// A length prefix announcing `len` bytes, followed by `rest`.
pub fn raw_frame(len: u32, rest: &[u8]) -> Vec<u8> {
    let mut bytes = len.to_be_bytes().to_vec();
    bytes.extend_from_slice(rest);
    bytes
}

/// A check of a typed frame error.
pub type ErrorCheck = fn(&FrameError) -> bool;

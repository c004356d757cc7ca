//! A CRAM-MD5 login over TCP, on the loopback interface only.
//!
//! Run with `cargo run --example cram_md5_demo`. It needs `saslpasswd2`
//! (Debian/Ubuntu package `sasl2-bin`) and the CRAM-MD5 plugin
//! (`libsasl2-modules`).
//!
//! 1. `saslpasswd2` creates a fresh sasldb in a temp dir holding
//!    `alice@EXAMPLE.TEST` with the password `secret`.
//! 2. A server thread listens on `127.0.0.1:0` and serves two connections with a
//!    [`Server`] reading that sasldb.
//! 3. The main thread connects twice as a [`Client`]: once with the right
//!    password, which the server accepts, once with a wrong one, which it rejects.
//!
//! The application protocol is one line per message, binary data in hex (`=` for
//! empty):
//!
//! ```text
//! S: MECHS <mechanism list>
//! C: AUTH <mechanism> [initial response]
//! S: CHALLENGE <data>        } repeated while the mechanism needs more rounds
//! C: RESPONSE <data>         }
//! S: OK <user> | NO
//! ```
//!
//! The verdict line is essential: a CRAM-MD5 client finishes its side without
//! error even with a wrong password, so only the server knows the outcome.
//! Nothing secret crosses the wire: the response is the user name and an HMAC-MD5
//! of the challenge, keyed with the password.
//!
//! The program exits with an error unless the first login is accepted as
//! `alice@EXAMPLE.TEST` and the second is rejected.

use std::error::Error;
use std::fmt;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};

use cyrus_sasl::{Client, ClientStep, Config, Credentials, Identity, Sasldb, Server, ServerStep};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const SERVICE: &str = "demo";
const HOST: &str = "localhost";
const REALM: &str = "EXAMPLE.TEST";

fn main() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("sasldb2");
    saslpasswd2(&db, "alice", "secret")?;
    println!("sasldb {} holds alice@{REALM}", db.display());

    // The server reads secrets from the sasldb and offers only CRAM-MD5.
    let config = Sasldb::new(&db, REALM)?.config().with("mech_list", "CRAM-MD5")?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    println!("server listening on {addr}");
    let server = std::thread::spawn(move || -> Result<Vec<Option<Identity>>> {
        (0..2).map(|_| serve(listener.accept()?.0, &config)).collect()
    });

    println!("\n-- alice, right password");
    let first = login(addr, "alice", "secret");
    println!("\n-- alice, wrong password");
    let second = login(addr, "alice", "not-the-password");
    let served = server.join().map_err(|_| "the server thread panicked")??;

    let accepted = |user: &Option<String>| user.as_deref() == Some("alice@EXAMPLE.TEST");
    if !accepted(&first?) || second?.is_some() || served.iter().map(Option::is_some).ne([true, false]) {
        return Err("unexpected outcome: the right password must pass and the wrong one fail".into());
    }
    Ok(())
}

/// Server side of one connection: offer mechanisms, run the exchange, send the
/// verdict. Returns who authenticated, if anyone.
fn serve(stream: TcpStream, config: &Config) -> Result<Option<Identity>> {
    let mut wire = Wire::new(stream, "S")?;
    let mut server = Server::new(SERVICE, HOST, Some(REALM), config)?;
    wire.send(&Message::Mechs(server.mechanisms()?.join(" ")))?;
    let Message::Auth(mechanism, initial) = wire.receive()? else {
        return Err("expected AUTH".into());
    };
    let mut step = server.start(&mechanism, initial.as_deref())?;
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                wire.send(&Message::Challenge(challenge.to_vec()))?;
                let Message::Response(response) = wire.receive()? else {
                    return Err("expected RESPONSE".into());
                };
                step = server.step(&response)?;
            }
            ServerStep::Authenticated { identity, .. } => {
                println!("authenticated: {} mech={} ssf={}", identity.user(), identity.mechanism, identity.ssf);
                wire.send(&Message::Ok(identity.user().to_owned()))?;
                return Ok(Some(identity));
            }
            ServerStep::Rejected(_) => {
                println!("rejected");
                wire.send(&Message::No)?;
                return Ok(None);
            }
        }
    }
}

/// Client side of one connection. Returns the user the server accepted, or
/// `None` when it said NO.
fn login(addr: SocketAddr, user: &str, password: &str) -> Result<Option<String>> {
    let mut wire = Wire::new(TcpStream::connect(addr)?, "C")?;
    let Message::Mechs(offered) = wire.receive()? else {
        return Err("expected MECHS".into());
    };
    let mut client = Client::new(SERVICE, HOST, Credentials::new(user, password), &Config::new())?;
    let start = client.start(&offered)?;
    wire.send(&Message::Auth(start.mechanism.to_owned(), start.initial_response.map(<[u8]>::to_vec)))?;
    loop {
        match wire.receive()? {
            Message::Challenge(challenge) => {
                let response = match client.step(&challenge)? {
                    ClientStep::Continue(response) => response,
                    ClientStep::Complete(response) => response.unwrap_or_default(),
                };
                wire.send(&Message::Response(response.to_vec()))?;
            }
            Message::Ok(user) => return Ok(Some(user)),
            Message::No => return Ok(None),
            other => return Err(format!("unexpected {other}").into()),
        }
    }
}

/// The messages of the demo protocol.
#[derive(Debug)]
enum Message {
    Mechs(String),
    Auth(String, Option<Vec<u8>>),
    Challenge(Vec<u8>),
    Response(Vec<u8>),
    Ok(String),
    No,
}

impl Message {
    /// The line as sent: binary fields in hex.
    fn encode(&self) -> String {
        match self {
            Message::Mechs(list) => format!("MECHS {list}"),
            Message::Auth(mech, None) => format!("AUTH {mech}"),
            Message::Auth(mech, Some(data)) => format!("AUTH {mech} {}", hex(data)),
            Message::Challenge(data) => format!("CHALLENGE {}", hex(data)),
            Message::Response(data) => format!("RESPONSE {}", hex(data)),
            Message::Ok(user) => format!("OK {user}"),
            Message::No => "NO".to_owned(),
        }
    }

    fn decode(line: &str) -> Result<Self> {
        let (verb, rest) = line.split_once(' ').unwrap_or((line, ""));
        Ok(match verb {
            "MECHS" => Message::Mechs(rest.to_owned()),
            "AUTH" => match rest.split_once(' ') {
                Some((mech, data)) => Message::Auth(mech.to_owned(), Some(unhex(data)?)),
                None => Message::Auth(rest.to_owned(), None),
            },
            "CHALLENGE" => Message::Challenge(unhex(rest)?),
            "RESPONSE" => Message::Response(unhex(rest)?),
            "OK" => Message::Ok(rest.to_owned()),
            "NO" => Message::No,
            _ => return Err(format!("unknown message {line:?}").into()),
        })
    }
}

/// Readable form for the printout: binary fields as escaped text.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Auth(mech, Some(data)) => write!(f, "AUTH {mech} \"{}\"", data.escape_ascii()),
            Message::Challenge(data) => write!(f, "CHALLENGE \"{}\"", data.escape_ascii()),
            Message::Response(data) => write!(f, "RESPONSE \"{}\"", data.escape_ascii()),
            other => f.write_str(&other.encode()),
        }
    }
}

/// One end of a connection. Each side prints a message just before sending it,
/// so the printout follows the order of the exchange.
struct Wire {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    side: &'static str,
}

impl Wire {
    fn new(stream: TcpStream, side: &'static str) -> io::Result<Self> {
        Ok(Wire { reader: BufReader::new(stream.try_clone()?), writer: stream, side })
    }

    fn send(&mut self, message: &Message) -> io::Result<()> {
        println!("{}: {message}", self.side);
        writeln!(self.writer, "{}", message.encode())
    }

    fn receive(&mut self) -> Result<Message> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err("connection closed".into());
        }
        Message::decode(line.trim_end())
    }
}

fn hex(data: &[u8]) -> String {
    if data.is_empty() {
        return "=".to_owned();
    }
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<Vec<u8>> {
    if text == "=" {
        return Ok(Vec::new());
    }
    if text.is_empty() || text.len() % 2 != 0 {
        return Err(format!("bad hex {text:?}").into());
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2).ok_or("bad hex")?, 16).map_err(Into::into))
        .collect()
}

/// `echo -n PASSWORD | saslpasswd2 -f DB -a cyrus-sasl-rs -u EXAMPLE.TEST -c -p USER`
fn saslpasswd2(db: &Path, user: &str, password: &str) -> Result<()> {
    let mut child = Command::new("saslpasswd2")
        .arg("-f")
        .arg(db)
        .args(["-a", "cyrus-sasl-rs", "-u", REALM, "-c", "-p", user])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run saslpasswd2 (package sasl2-bin): {e}"))?;
    child.stdin.take().ok_or("no stdin")?.write_all(password.as_bytes())?;
    let status = child.wait()?;
    if !status.success() {
        return Err(format!("saslpasswd2 failed: {status}").into());
    }
    Ok(())
}

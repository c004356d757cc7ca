//! What the endpoint tests share: timeouts, raw-socket helpers, two small
//! protobuf messages, and throwaway TLS certificates.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use libprocess::{Endpoint, EndpointOptions, TlsOptions};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio::time::timeout;

/// The longest any test waits for something that should come.
pub const WAIT: Duration = Duration::from_secs(10);

/// A message with one string, like the `pid` of Mesos's first authentication message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Hello {
    /// The UPID the sender speaks for.
    #[prost(string, tag = "1")]
    pub pid: String,
}

impl prost::Name for Hello {
    const NAME: &'static str = "Hello";
    const PACKAGE: &'static str = "test";
}

/// A message with a repeated string.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Names {
    /// Some names.
    #[prost(string, repeated, tag = "1")]
    pub names: Vec<String>,
}

impl prost::Name for Names {
    const NAME: &'static str = "Names";
    const PACKAGE: &'static str = "test";
}

/// An endpoint with the default options (127.0.0.1, a free port, plaintext).
pub async fn endpoint() -> Endpoint {
    Endpoint::bind(EndpointOptions::default()).await.unwrap()
}

/// Reads what the peer writes until it closes (or `WAIT` passes).
pub async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = timeout(WAIT, stream.read_to_end(&mut out)).await.expect("the endpoint closed the connection");
    String::from_utf8_lossy(&out).into_owned()
}

/// Reads until `n` answers (`HTTP/1.1 ...` heads with an empty body) came.
pub async fn read_answers(stream: &mut TcpStream, n: usize) -> String {
    let mut out = Vec::new();
    let mut chunk = [0u8; 1024];
    while String::from_utf8_lossy(&out).matches("\r\n\r\n").count() < n {
        let got = timeout(WAIT, stream.read(&mut chunk)).await.expect("answer in time").unwrap();
        assert!(got > 0, "closed after {:?}", String::from_utf8_lossy(&out));
        out.extend_from_slice(&chunk[..got]);
    }
    String::from_utf8(out).unwrap()
}

/// A request `POST /{to}/{name}` with these header lines (each ending in CRLF) and body.
pub fn request(to: &str, name: &str, headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!("POST /{to}/{name} HTTP/1.1\r\n{headers}\r\n").into_bytes();
    out.extend_from_slice(body);
    out
}

/// A TCP connection to `to` from loopback address `ip` (Linux routes all of
/// 127.0.0.0/8 to loopback, so 127.0.0.2 is another peer IP on this machine).
pub async fn connect_from(ip: &str, to: std::net::SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(format!("{ip}:0").parse().unwrap()).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the peer has closed `stream`: an end of stream within 300 ms
/// (bytes are an error: the caller expected silence).
pub async fn closed_soon(stream: &mut TcpStream) -> bool {
    let mut chunk = [0u8; 64];
    match timeout(Duration::from_millis(300), stream.read(&mut chunk)).await {
        Err(_) => false,
        Ok(Ok(0)) | Ok(Err(_)) => true,
        Ok(Ok(n)) => panic!("unexpected bytes: {:?}", String::from_utf8_lossy(&chunk[..n])),
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Throwaway certificates made by the workspace's `ci/tls-certs` (it lists the
/// set: `ca`, `server` and `client` for IP 127.0.0.1, `other-ca`, `other`, ...)
/// in a temporary directory that goes when this is dropped.
pub struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    /// Runs `ci/tls-certs` (it needs the `openssl` command).
    pub fn new() -> Certs {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../ci/tls-certs");
        let status = Command::new(script).arg(dir.path()).status().expect("run ci/tls-certs (needs openssl)");
        assert!(status.success(), "ci/tls-certs failed");
        Certs { dir }
    }

    /// A file of the set, e.g. `ca.pem`.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// TLS with certificate NAME (`NAME.pem`, `NAME.key`), trusting `ca.pem`;
    /// otherwise the library's defaults (server certificates verified).
    pub fn tls(&self, name: &str) -> TlsOptions {
        TlsOptions::new(self.path(&format!("{name}.pem")), self.path(&format!("{name}.key")))
            .ca_file(self.path("ca.pem"))
    }
}

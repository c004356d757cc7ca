//! The `SecureStream` reader (our RFC 4422 framing around libsasl2's
//! `sasl_decode`) over a real DIGEST-MD5 security layer, negotiated afresh for
//! every input against the in-memory credential store: genuine frames, frames
//! with flipped bits, injected junk, and a transport that cuts the stream
//! anywhere, blocks and is interrupted.
//!
//! A real negotiated context rather than a stand-in: DIGEST-MD5 needs no KDC, and
//! a handshake costs well under a millisecond, so libsasl2's own decode paths
//! (its packet reassembly, MAC check and each cipher's unwrapping) are fuzzed too.
//!
//! Input: byte 0 picks the direction (`% 2`: client to server or server to
//! client), the transport's largest read (`/ 2 % 8`) and the reader's buffer size
//! (`/ 16 % 4`). Then operations, each a byte (`% 4`) and its arguments:
//! - 0 `n`: the sender encodes `8 * n` bytes of plaintext (0 sends nothing;
//!   above the peer's buffer libsasl2 splits it into several packets);
//! - 1 `n` bytes...: `n` bytes of junk go on the wire;
//! - 2 `at` `x`: the byte at `at` (modulo what is on the wire) is XORed with `x | 1`;
//! - 3 `k`: the transport fails once, here, with `WouldBlock` (k even) or
//!   `Interrupted` (k odd).
//!
//! Invariants:
//! - no panic; every failure is an `io::Error` carrying a `cyrus_sasl::Error`
//!   (`FrameTooLong` naming a length over the limit, `EmptyFrame`,
//!   `TruncatedFrame`, or `Sasl` from `sasl_decode`), and every read after one fails;
//! - the plaintext read is always a prefix of the plaintext sent: no altered,
//!   injected, replayed or reordered byte is ever accepted;
//! - with nothing altered or injected, all of it arrives, then a clean end of
//!   stream, however the transport cut the stream and wherever it blocked.
#![no_main]

use std::io::{self, Read};
use std::sync::OnceLock;

use cyrus_sasl::{
    Client, ClientStep, Config, CredentialStore, Credentials, Error, SecureStream, SecurityLayer, Server, ServerStep,
};
use libfuzzer_sys::fuzz_target;

const SERVICE: &str = "fuzz";
const REALM: &str = "EXAMPLE.TEST";
const SECRET: &str = "layer-s3cret";
/// The receiver's `maxbufsize`: small, so that frames over the limit and
/// packets split by the sender are reachable with short inputs.
const MAXBUFSIZE: u32 = 1024;
/// The layer: DIGEST-MD5 `auth-int` (SSF 1: integrity only, an HMAC-MD5 code
/// and a sequence number on every packet).
///
/// No confidentiality layer, because on this platform (libsasl2 2.1.28, OpenSSL
/// 3) none is usable for a long run:
/// - `des`, `rc4-40`, `rc4-56` and `rc4` leak about 10 KiB per connection side
///   (LeakSanitizer: memory OpenSSL allocates when the DIGEST-MD5 plugin sets up
///   its cipher with `EVP_CIPHER_fetch` is never freed; 10 handshakes leak
///   183,048 bytes, 50 leak 940,488), so a long run would measure that leak and
///   hit libFuzzer's RSS limit within minutes;
/// - `3des` fails every handshake: "internal error: failed to init cipher '3des'".
///
/// The framing, the reassembly of packets and the MAC check are the same for
/// every layer; what is left out is the ciphers' unwrapping.
const MAX_SSF: u32 = 1;
const HOST: &str = "integrity.localhost";

fn store() -> &'static CredentialStore {
    static STORE: OnceLock<CredentialStore> = OnceLock::new();
    STORE.get_or_init(|| {
        CredentialStore::from_credentials([("alice".to_owned(), SECRET.into())]).expect("credential store")
    })
}

fn config() -> Config {
    let max_ssf = MAX_SSF.to_string();
    let maxbufsize = MAXBUFSIZE.to_string();
    let config = Config::new().with("mech_list", "DIGEST-MD5").expect("mech_list");
    let config = config.with("max_ssf", &max_ssf).expect("max_ssf");
    config.with("maxbufsize", &maxbufsize).expect("maxbufsize")
}

/// A fresh authenticated DIGEST-MD5 pair: `(client, server)` layers.
fn layers() -> (SecurityLayer, SecurityLayer) {
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new("alice", SECRET) };
    let mut client = Client::new(SERVICE, HOST, credentials, &config()).expect("client");
    let server_config = config().with_credential_store(store());
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &server_config).expect("server");
    let start = client.start("DIGEST-MD5").expect("client start");
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start("DIGEST-MD5", initial.as_deref()).expect("server start");
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                let challenge = challenge.to_vec();
                let response = match client.step(&challenge).expect("client step") {
                    ClientStep::Continue(r) => r.to_vec(),
                    ClientStep::Complete(r) => r.map(<[u8]>::to_vec).unwrap_or_default(),
                };
                step = server.step(&response).expect("server step");
            }
            ServerStep::Authenticated { .. } => break,
            ServerStep::Rejected(_) => panic!("DIGEST-MD5 rejected the right secret"),
        }
    }
    (client.into_security_layer().expect("client layer"), server.into_security_layer().expect("server layer"))
}

/// The wire, handed out in pieces, with one-off failures at chosen offsets.
struct Transport {
    wire: Vec<u8>,
    pos: usize,
    chunk: usize,
    /// `(offset, kind)`, in offset order; each fires once.
    failures: Vec<(usize, io::ErrorKind)>,
}

impl Read for Transport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(&(at, kind)) = self.failures.first()
            && at <= self.pos
        {
            self.failures.remove(0);
            return Err(kind.into());
        }
        let mut n = buf.len().min(self.chunk).min(self.wire.len() - self.pos);
        if let Some(&(at, _)) = self.failures.first() {
            n = n.min(at - self.pos);
        }
        buf[..n].copy_from_slice(&self.wire[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The plaintext byte at `offset` of the stream.
fn plain_byte(offset: usize) -> u8 {
    (offset.wrapping_mul(131) >> 3) as u8 ^ (offset as u8)
}

fn check_error(e: &io::Error, limit: usize) {
    let inner = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>());
    let Some(inner) = inner else { panic!("a SecureStream error without a cyrus_sasl::Error inside: {e:?}") };
    match (e.kind(), inner) {
        (io::ErrorKind::InvalidData, Error::FrameTooLong { len, max }) => {
            assert_eq!(*max as usize, limit, "{inner:?}");
            assert!(*len as usize > limit, "{inner:?}");
        }
        (io::ErrorKind::InvalidData, Error::EmptyFrame) => {}
        (io::ErrorKind::UnexpectedEof, Error::TruncatedFrame { expected, received }) => {
            assert!(received < expected, "{inner:?}")
        }
        (io::ErrorKind::InvalidData, Error::Sasl { call: "sasl_decode", code, .. }) => assert!(code.0 < 0),
        (io::ErrorKind::Other, Error::State { .. }) => {}
        _ => panic!("unexpected SecureStream error: {e:?}"),
    }
    assert!(!e.to_string().contains(SECRET));
}

fuzz_target!(|data: &[u8]| {
    let [selector, rest @ ..] = data else { return };
    let mut ops: &[u8] = rest;
    let selector = *selector as usize;
    let to_server = selector.is_multiple_of(2);
    let chunk = [1, 2, 3, 4, 7, 64, 1000, usize::MAX][(selector / 2) % 8];
    let read_size = [1, 5, 64, 4096][(selector / 16) % 4];

    let (client, server) = layers();
    let (mut sender, receiver) = if to_server { (client, server) } else { (server, client) };
    assert_eq!((sender.ssf(), receiver.ssf()), (MAX_SSF, MAX_SSF), "the layer negotiated");
    let limit = receiver.max_frame_len();
    assert_eq!(limit, MAXBUFSIZE as usize);

    // Build the wire.
    let mut wire = Vec::new();
    let mut sent = 0usize;
    let mut altered = false;
    let mut failures = Vec::new();
    let take = |ops: &mut &[u8]| -> Option<u8> {
        let (&first, rest) = ops.split_first()?;
        *ops = rest;
        Some(first)
    };
    while let Some(op) = take(&mut ops) {
        match op % 4 {
            0 => {
                let Some(n) = take(&mut ops) else { break };
                let plain: Vec<u8> = (sent..sent + 8 * n as usize).map(plain_byte).collect();
                let packets = sender.encode(&plain).expect("encode");
                wire.extend_from_slice(packets);
                sent += plain.len();
            }
            1 => {
                let Some(n) = take(&mut ops) else { break };
                let n = (n as usize).min(ops.len());
                wire.extend_from_slice(&ops[..n]);
                ops = &ops[n..];
                altered |= n > 0;
            }
            2 => {
                let (Some(at), Some(x)) = (take(&mut ops), take(&mut ops)) else { break };
                if !wire.is_empty() {
                    let at = at as usize % wire.len();
                    wire[at] ^= x | 1;
                    altered = true;
                }
            }
            _ => {
                let Some(k) = take(&mut ops) else { break };
                let kind = if k % 2 == 0 { io::ErrorKind::WouldBlock } else { io::ErrorKind::Interrupted };
                failures.push((wire.len(), kind));
            }
        }
    }

    // Read it back.
    let transport = Transport { wire, pos: 0, chunk, failures };
    let mut stream = SecureStream::new(transport, receiver);
    let mut received = Vec::new();
    let mut buf = vec![0u8; read_size];
    let mut clean_end = false;
    for _ in 0..1_000_000 {
        match stream.read(&mut buf) {
            Ok(0) => {
                clean_end = true;
                break;
            }
            Ok(n) => {
                let start = received.len();
                received.extend_from_slice(&buf[..n]);
                for (offset, &byte) in received.iter().enumerate().skip(start) {
                    assert!(offset < sent, "read more plaintext than was sent");
                    assert_eq!(byte, plain_byte(offset), "plaintext byte {offset} differs from what was sent");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => {
                check_error(&e, limit);
                let again = stream.read(&mut buf).expect_err("a read after a failed read must fail too");
                check_error(&again, limit);
                break;
            }
        }
    }
    if !altered {
        assert!(clean_end, "an unaltered stream did not end cleanly");
        assert_eq!(received.len(), sent, "an unaltered stream lost plaintext");
    }
});

//! What the security-layer tests share, whatever the mechanism: a recording
//! TCP relay, frame walking, hostile transports, and an allocation watch.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::thread;

use cyrus_sasl::{Client, Error, SecureStream, SecurityLayer, Server};

use crate::{Outcome, handshake};

/// Runs a handshake in process and turns both ends into security layers:
/// `(client, server)`.
pub fn layers(mut client: Client, mut server: Server) -> (SecurityLayer, SecurityLayer) {
    match handshake(&mut client, &mut server).expect("handshake") {
        Outcome::Authenticated(_) => {}
        Outcome::Rejected => panic!("the handshake was rejected"),
    }
    (client.into_security_layer().expect("client layer"), server.into_security_layer().expect("server layer"))
}

/// A recognisable plaintext: `MARKER` and a counter, over and over.
pub const MARKER: &[u8] = b"plaintext-marker:";

/// `len` bytes of `MARKER` followed by a counter, repeated.
pub fn marked_data(len: usize) -> Vec<u8> {
    let mut data = Vec::with_capacity(len + 64);
    let mut i = 0u64;
    while data.len() < len {
        data.extend_from_slice(MARKER);
        data.extend_from_slice(format!("{i:08}\n").as_bytes());
        i += 1;
    }
    data.truncate(len);
    data
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The lengths announced by the frames of `wire`, which must end exactly at a
/// frame boundary.
pub fn frame_lengths(wire: &[u8]) -> Vec<usize> {
    let mut lengths = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        assert!(at + 4 <= wire.len(), "a partial header at byte {at} of {}", wire.len());
        let len = u32::from_be_bytes(wire[at..at + 4].try_into().unwrap()) as usize;
        lengths.push(len);
        at += 4 + len;
    }
    assert_eq!(at, wire.len(), "the frames overrun the captured bytes");
    lengths
}

/// What a relay between a client and a server saw, each direction in order.
#[derive(Debug, Default)]
pub struct Capture {
    pub client_to_server: Vec<u8>,
    pub server_to_client: Vec<u8>,
}

/// A relay on 127.0.0.1 that forwards one connection to `target` and records
/// the bytes both ways. Returns its address and a handle that yields the
/// capture once both directions have ended.
pub fn recording_relay(target: std::net::SocketAddr) -> (std::net::SocketAddr, thread::JoinHandle<Capture>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the relay");
    let addr = listener.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let (from_client, _) = listener.accept().expect("relay accept");
        let to_server = TcpStream::connect(target).expect("relay connect");
        let up = relay(from_client.try_clone().unwrap(), to_server.try_clone().unwrap());
        let down = relay(to_server, from_client);
        Capture { client_to_server: up.join().unwrap(), server_to_client: down.join().unwrap() }
    });
    (addr, handle)
}

/// Copies `from` to `to` until end of stream, then shuts `to`'s write half.
fn relay(mut from: TcpStream, mut to: TcpStream) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            seen.extend_from_slice(&buf[..n]);
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        seen
    })
}

/// Sends `data` from the client to the server and back through a recording
/// relay, over real loopback TCP, each end a blocking [`SecureStream`]. Checks
/// both directions arrive intact and the client then sees a clean end of
/// stream; returns what crossed the wire.
pub fn tcp_round_trip(client: SecurityLayer, server: SecurityLayer, data: &[u8]) -> Capture {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the server");
    let (relay_addr, relay) = recording_relay(listener.local_addr().unwrap());
    let expected = data.to_vec();
    let server_side = thread::spawn(move || {
        let (tcp, _) = listener.accept().expect("server accept");
        let mut stream = SecureStream::new(tcp, server);
        let mut received = vec![0; expected.len()];
        stream.read_exact(&mut received).expect("server read");
        assert!(received == expected, "the server received different bytes");
        stream.write_all(&received).expect("server write");
        stream.flush().expect("server flush");
    });
    let mut stream = SecureStream::new(TcpStream::connect(relay_addr).expect("connect"), client);
    stream.write_all(data).expect("client write");
    stream.flush().expect("client flush");
    let mut echoed = vec![0; data.len()];
    stream.read_exact(&mut echoed).expect("client read");
    assert!(echoed == data, "the client received different bytes");
    server_side.join().expect("server thread");
    let mut rest = [0; 16];
    assert_eq!(stream.read(&mut rest).expect("a clean end of stream"), 0, "nothing after the echo");
    stream.get_ref().shutdown(Shutdown::Both).ok();
    drop(stream);
    relay.join().expect("relay thread")
}

/// A transport that plays back `input` to the reader, then ends (or, with
/// `endless`, repeats 0x41 forever), and counts what it handed out.
pub struct Playback {
    input: Vec<u8>,
    pos: usize,
    endless: bool,
    pub written: Vec<u8>,
}

impl Playback {
    pub fn new(input: Vec<u8>) -> Self {
        Playback { input, pos: 0, endless: false, written: Vec::new() }
    }

    pub fn endless(input: Vec<u8>) -> Self {
        Playback { endless: true, ..Playback::new(input) }
    }

    /// How many bytes the reader took.
    pub fn consumed(&self) -> usize {
        self.pos
    }
}

impl std::fmt::Debug for Playback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Playback").field("consumed", &self.pos).finish_non_exhaustive()
    }
}

impl Read for Playback {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let rest = &self.input[self.pos.min(self.input.len())..];
        let n = if rest.is_empty() && self.endless {
            buf.fill(0x41);
            buf.len()
        } else {
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            n
        };
        self.pos += n;
        Ok(n)
    }
}

impl Write for Playback {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A transport that hands out one byte per read, with `WouldBlock` between
/// each, to prove partial reads lose nothing.
pub struct Trickle {
    pub input: Vec<u8>,
    pub pos: usize,
    pub block_next: bool,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.block_next = !self.block_next;
        if self.block_next {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        if self.pos == self.input.len() || buf.is_empty() {
            return Ok(0);
        }
        buf[0] = self.input[self.pos];
        self.pos += 1;
        Ok(1)
    }
}

/// The typed error inside an I/O error from a secure stream.
pub fn inner(e: &io::Error) -> &Error {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Error>())
        .unwrap_or_else(|| panic!("expected a cyrus_sasl::Error inside {e:?}"))
}

/// Watches the largest single allocation made by the current thread.
pub struct WatchingAllocator;

thread_local! {
    static WATCHING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    // try_with: allocations during thread teardown must not panic.
    if WATCHING.try_with(Cell::get).unwrap_or(false) {
        let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged; the
// bookkeeping touches only const-initialised thread-locals, which never allocate.
unsafe impl GlobalAlloc for WatchingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

/// Runs `f` and returns its result with the largest allocation this thread
/// made during it, through Rust's allocator (libsasl2's own `malloc` calls do
/// not pass through it).
pub fn largest_allocation<R>(f: impl FnOnce() -> R) -> (R, usize) {
    LARGEST.with(|l| l.set(0));
    WATCHING.with(|w| w.set(true));
    let result = f();
    WATCHING.with(|w| w.set(false));
    (result, LARGEST.with(Cell::get))
}

// ---- Checks run for each mechanism. Each takes the layers of one fresh,
// ---- authenticated pair: (client, server).

/// `SecureStream` adds no framing of its own: what it writes is exactly what
/// `sasl_encode` produced, one 4-byte big-endian length per packet, and the
/// peer's `sasl_decode` takes it as it is, but not without that header.
pub fn stream_frames_are_the_libsasl2_packets_unchanged((client, mut server): (SecurityLayer, SecurityLayer)) {
    let mut stream = SecureStream::new(Playback::new(Vec::new()), client);
    stream.write_all(b"hello, layer").unwrap();
    stream.flush().unwrap();
    let wire = stream.get_ref().written.clone();
    let lengths = frame_lengths(&wire);
    assert_eq!(lengths, [wire.len() - 4], "one frame, its header counting the rest");
    assert_eq!(server.decode(&wire).unwrap(), b"hello, layer", "sasl_decode takes the stream bytes as they are");

    // The same bytes without their header are refused: the header is the
    // framing sasl_decode itself expects, so there must not be another.
    let mut stream = stream;
    stream.write_all(b"second message").unwrap();
    let wire2 = stream.get_ref().written[wire.len()..].to_vec();
    assert!(server.decode(&wire2[4..]).is_err(), "sasl_decode needs the length header");
}

/// `encode` of more than `max_outbuf` gives several packets, each within the
/// peer's `maxbufsize`; `SecureStream` writes one frame per `max_outbuf`.
/// `peer_maxbufsize` is the server's configured `maxbufsize`.
pub fn encode_splits_large_input_into_frames_within_the_peer_limit(
    (mut client, mut server): (SecurityLayer, SecurityLayer),
    peer_maxbufsize: usize,
) {
    let data = marked_data(5 * client.max_outbuf() + 123);
    assert!(client.max_outbuf() < peer_maxbufsize, "max_outbuf {} leaves room for the overhead", client.max_outbuf());
    let packets = client.encode(&data).unwrap().to_vec();
    let lengths = frame_lengths(&packets);
    assert_eq!(lengths.len(), 6, "one packet per max_outbuf bytes: {lengths:?}");
    assert!(lengths.iter().all(|&l| l <= peer_maxbufsize), "{lengths:?} over {peer_maxbufsize}");
    assert_eq!(server.decode(&packets).unwrap(), &data[..], "all packets at once");

    let mut stream = SecureStream::new(Playback::new(Vec::new()), client);
    stream.write_all(&data).unwrap();
    let wire = stream.get_ref().written.clone();
    let lengths = frame_lengths(&wire);
    assert_eq!(lengths.len(), 6, "{lengths:?}");
    assert!(lengths.iter().all(|&l| l <= peer_maxbufsize), "{lengths:?} over {peer_maxbufsize}");
    let mut reader = SecureStream::new(Playback::new(wire), server);
    let mut back = Vec::new();
    reader.read_to_end(&mut back).unwrap();
    assert!(back == data, "the stream read back what was written");
}

/// `decode` accepts the stream one byte at a time, and so does `SecureStream`
/// over a transport that gives one byte per read with `WouldBlock` between.
pub fn decode_accepts_the_stream_one_byte_at_a_time((mut client, mut server): (SecurityLayer, SecurityLayer)) {
    let data = marked_data(2 * client.max_outbuf() + 77);
    let wire = client.encode(&data).unwrap().to_vec();
    let mut back = Vec::new();
    let mut outputs = 0;
    for byte in &wire {
        let out = server.decode(std::slice::from_ref(byte)).unwrap();
        if !out.is_empty() {
            outputs += 1;
            back.extend_from_slice(out);
        }
    }
    assert!(back == data, "one byte at a time decodes to the same data");
    assert_eq!(outputs, 3, "plaintext comes out once per completed packet");

    let more = marked_data(3000);
    let wire = client.encode(&more).unwrap().to_vec();
    let mut reader = SecureStream::new(Trickle { input: wire, pos: 0, block_next: false }, server);
    let mut back = Vec::new();
    let mut buf = [0; 7];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => back.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(back == more, "WouldBlock between single bytes loses nothing");
}

/// A header announcing more than `max_frame_len` (0xFFFFFFFF, or the limit
/// plus one) is refused after reading the 4 header bytes only, before any
/// allocation of that size.
pub fn oversized_frames_are_refused_before_reading_or_allocating_the_body(
    pair: impl Fn() -> (SecurityLayer, SecurityLayer),
) {
    for announced in [u32::MAX, 0, 1] {
        let (_, server) = pair();
        let max = server.max_frame_len();
        let announced = match announced {
            0 => max as u32 + 1,
            1 => 0x0100_0000, // 2^24: more than any mechanism can announce
            other => other,
        };
        let mut stream = SecureStream::new(Playback::endless(announced.to_be_bytes().to_vec()), server);
        let (result, largest) = largest_allocation(|| stream.read(&mut [0; 1024]));
        let e = result.expect_err("an oversized frame must fail");
        assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        match inner(&e) {
            Error::FrameTooLong { len, max: m } => assert_eq!((*len, *m as usize), (announced, max)),
            other => panic!("expected FrameTooLong, got {other:?}"),
        }
        assert!(e.to_string().contains(&announced.to_string()), "the message names the length: {e}");
        assert_eq!(stream.get_ref().consumed(), 4, "only the header was read");
        assert!(largest < 64 * 1024, "a {largest}-byte allocation for a refused {announced}-byte frame");
        let again = stream.read(&mut [0; 16]).expect_err("the stream stays failed");
        assert!(matches!(inner(&again), Error::State { .. }), "{again:?}");
    }
}

/// A header of exactly `max_frame_len` passes the length check (the limit
/// counts the bytes after the header, as libsasl2's own check does); a body of
/// garbage then fails to decode.
pub fn frame_of_exactly_max_frame_len_is_read_then_garbage_fails_to_decode(
    (_, server): (SecurityLayer, SecurityLayer),
) {
    let max = server.max_frame_len();
    let mut wire = (max as u32).to_be_bytes().to_vec();
    wire.resize(4 + max, 0x5a);
    let mut stream = SecureStream::new(Playback::new(wire), server);
    let e = stream.read(&mut [0; 1024]).expect_err("garbage must not decode");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    match inner(&e) {
        Error::Sasl { call: "sasl_decode", .. } => {}
        other => panic!("expected a sasl_decode error, got {other:?}"),
    }
    assert_eq!(stream.get_ref().consumed(), 4 + max, "the whole frame was read");
}

/// A zero-length frame is an error, not an empty read (which would look like
/// the end of the stream).
pub fn zero_length_frame_is_an_error((_, server): (SecurityLayer, SecurityLayer)) {
    let mut stream = SecureStream::new(Playback::new(vec![0, 0, 0, 0, 1, 2, 3]), server);
    let e = stream.read(&mut [0; 16]).expect_err("an empty frame must fail");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    assert!(matches!(inner(&e), Error::EmptyFrame), "{e:?}");
}

/// The end of the stream inside a header or a body is `UnexpectedEof` carrying
/// [`Error::TruncatedFrame`]; between frames it is an ordinary end (`Ok(0)`).
pub fn truncated_frames_are_unexpected_eof(pair: impl Fn() -> (SecurityLayer, SecurityLayer)) {
    let (mut client, server) = pair();
    let frame = client.encode(b"a whole frame").unwrap().to_vec();
    let mut stream = SecureStream::new(Playback::new(frame.clone()), server);
    let mut buf = [0; 64];
    assert_eq!(stream.read(&mut buf).unwrap(), 13);
    assert_eq!(&buf[..13], b"a whole frame");
    assert_eq!(stream.read(&mut buf).unwrap(), 0, "end of stream between frames is clean");

    for cut in [2, 4, frame.len() / 2, frame.len() - 1] {
        let (mut client, server) = pair();
        let frame = client.encode(b"a whole frame").unwrap().to_vec();
        let mut stream = SecureStream::new(Playback::new(frame[..cut].to_vec()), server);
        let e = stream.read(&mut buf).expect_err("a truncated frame must fail");
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof, "cut at {cut}");
        let expected = if cut < 4 { 4 } else { frame.len() };
        match inner(&e) {
            Error::TruncatedFrame { expected: x, received } => assert_eq!((*x, *received), (expected, cut)),
            other => panic!("expected TruncatedFrame, got {other:?}"),
        }
    }
}

/// Garbage with a plausible length, and a real frame with one bit flipped,
/// fail to decode with a `sasl_decode` error carrying a detail of its own (not
/// one left over from the handshake); the stream then stays failed.
pub fn garbage_and_tampered_frames_are_decode_errors(pair: impl Fn() -> (SecurityLayer, SecurityLayer)) {
    let (_, server) = pair();
    let mut garbage = 100u32.to_be_bytes().to_vec();
    garbage.extend((0..100u8).map(|i| i.wrapping_mul(37)));
    let mut stream = SecureStream::new(Playback::new(garbage), server);
    let e = stream.read(&mut [0; 64]).expect_err("garbage must not decode");
    assert_eq!(e.kind(), io::ErrorKind::InvalidData);
    match inner(&e) {
        Error::Sasl { call: "sasl_decode", detail, .. } => {
            assert!(!detail.contains("callback") && !detail.contains("sasldb"), "a stale detail: {detail}");
        }
        other => panic!("expected a sasl_decode error, got {other:?}"),
    }
    let again = stream.read(&mut [0; 64]).expect_err("the stream stays failed");
    assert!(matches!(inner(&again), Error::State { .. }), "{again:?}");

    let (mut client, server) = pair();
    let mut frame = client.encode(b"tamper with me").unwrap().to_vec();
    let last = frame.len() - 1;
    frame[last] ^= 0x01;
    let mut stream = SecureStream::new(Playback::new(frame), server);
    let e = stream.read(&mut [0; 64]).expect_err("a tampered frame must not decode");
    assert!(matches!(inner(&e), Error::Sasl { call: "sasl_decode", .. }), "{e:?}");
}

/// `decode` fed a header libsasl2 refuses without a word (length 0, or over
/// `maxbufsize`) reports a detail of its own, not one left over from the
/// handshake, and then refuses to decode anything more.
pub fn direct_decode_of_a_bad_header_reports_its_own_detail_then_stays_failed(
    pair: impl Fn() -> (SecurityLayer, SecurityLayer),
) {
    for header in [0u32, u32::MAX] {
        let (mut client, mut server) = pair();
        match server.decode(&header.to_be_bytes()) {
            Err(Error::Sasl { call: "sasl_decode", detail, .. }) => {
                assert!(detail.contains("not a valid packet"), "header {header:#x}: {detail}");
            }
            other => panic!("header {header:#x}: expected a sasl_decode error, got {other:?}"),
        }
        let good = client.encode(b"fine").unwrap().to_vec();
        assert!(matches!(server.decode(&good), Err(Error::State { .. })), "decode stays failed");
        assert!(client.encode(b"still fine").is_ok(), "the other direction is unaffected");
    }
}

/// A transport that takes at most `max` bytes per write and answers every other
/// write with `WouldBlock`, or with `fail` (an error kind) while `failures` last.
pub struct Choppy {
    pub written: Vec<u8>,
    pub max: usize,
    pub block_next: bool,
    pub failures: usize,
    pub fail: io::ErrorKind,
}

impl Choppy {
    pub fn new(max: usize) -> Self {
        Choppy { written: Vec::new(), max, block_next: false, failures: 0, fail: io::ErrorKind::Other }
    }
}

impl Write for Choppy {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.failures > 0 {
            self.failures -= 1;
            return Err(io::Error::new(self.fail, "the transport failed"));
        }
        self.block_next = !self.block_next;
        if self.block_next {
            return Err(io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.max);
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A frame the transport takes only in part (short writes, `WouldBlock`) is
/// kept and finished by the next write or flush: nothing is lost or repeated,
/// and each `write` reports the plaintext it encoded.
pub fn partial_writes_and_would_block_lose_nothing((client, server): (SecurityLayer, SecurityLayer)) {
    let data = marked_data(3 * client.max_outbuf() + 999);
    let mut stream = SecureStream::new(Choppy::new(1000), client);
    let mut at = 0;
    while at < data.len() {
        match stream.write(&data[at..]) {
            Ok(n) => at += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    loop {
        match stream.flush() {
            Ok(()) => break,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => panic!("{e}"),
        }
    }
    let wire = stream.get_ref().written.clone();
    assert_eq!(frame_lengths(&wire).len(), 4);
    let mut back = Vec::new();
    SecureStream::new(Playback::new(wire), server).read_to_end(&mut back).unwrap();
    assert!(back == data, "what arrived differs from what was written");
}

/// An error from the transport after a frame was encoded does not fail that
/// `write` (its bytes are taken: the frame's sequence number is spent). The
/// rest of the frame is kept, the next `flush` reports the error while it
/// lasts, and sends the rest once the transport recovers.
pub fn transport_errors_after_encoding_surface_on_flush_and_lose_nothing(
    (client, server): (SecurityLayer, SecurityLayer),
) {
    let mut stream = SecureStream::new(Choppy::new(usize::MAX), client);
    stream.get_mut().block_next = true; // no WouldBlock: only the failures
    stream.get_mut().failures = 2;
    stream.get_mut().fail = io::ErrorKind::BrokenPipe;
    assert_eq!(stream.write(b"kept across a failure").unwrap(), 21, "the frame was encoded");
    assert!(stream.get_ref().written.is_empty());
    let e = stream.flush().expect_err("the transport still fails");
    assert_eq!(e.kind(), io::ErrorKind::BrokenPipe);
    stream.get_mut().block_next = true;
    stream.flush().expect("the transport recovered");
    let wire = stream.get_ref().written.clone();
    let mut back = Vec::new();
    SecureStream::new(Playback::new(wire), server).read_to_end(&mut back).unwrap();
    assert_eq!(back, b"kept across a failure");
}

/// `Debug` of a stream shows sizes, never the data in its buffers (decoded
/// plaintext waiting for a `read`, a frame waiting to be sent).
pub fn debug_output_shows_no_buffered_data((mut client, server): (SecurityLayer, SecurityLayer)) {
    let secret = b"a secret that stays out of Debug output";
    let frame = client.encode(secret).unwrap().to_vec();
    let mut reader = SecureStream::new(Playback::new(frame), server);
    let mut first = [0; 4];
    reader.read_exact(&mut first).unwrap(); // the rest is buffered now
    let text = format!("{reader:?}");
    // "stays", as text and as Debug prints a byte vector.
    for needle in ["stays", "115, 116, 97, 121, 115"] {
        assert!(!text.contains(needle), "Debug shows buffered data: {text}");
    }
    assert!(text.contains("plaintext_buffered: 35"), "{text}");
}

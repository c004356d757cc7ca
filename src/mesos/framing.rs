//! The wire format of this crate's Mesos transports: one [`Message`] per frame,
//! behind a length prefix and a one-byte type tag.
//!
//! ```text
//! +----------------------+-----+---------------------------+
//! | length: u32, BE      | tag | protobuf payload          |
//! | (of tag + payload)   | u8  | (length - 1 bytes)        |
//! +----------------------+-----+---------------------------+
//! ```
//!
//! The tag is [`Message::tag`] (1 to 7); the payload is [`Message::encode`].
//! The length counts the tag, so it is never 0; a 0 is [`FrameError::ZeroLength`].
//!
//! A reader checks the length against its [`FrameLimits`] before it allocates
//! anything, and checks the tag before it reads the payload. The payload buffer
//! then grows only as bytes actually arrive, so a peer that announces a large
//! frame and sends nothing costs nothing.
//!
//! [`read_message`] and [`write_message`] work on any `std::io` stream;
//! [`read_message_async`] and [`write_message_async`] are their tokio twins
//! (feature `tokio`). Both share [`encode_frame`] and the checks, so the two
//! transports accept and reject exactly the same bytes.
//!
//! ```
//! use cyrus_sasl::mesos::framing::{FrameLimits, encode_frame, read_message};
//! use cyrus_sasl::mesos::{AuthenticateMessage, Message};
//!
//! let message = Message::Authenticate(AuthenticateMessage { pid: "scheduler@127.0.0.1:5050".into() });
//! let limits = FrameLimits::default();
//! let frame = encode_frame(&message, limits)?;
//! assert_eq!(&frame[..5], &[0, 0, 0, 27, 1]); // length: the tag + 26 bytes of protobuf; tag 1
//! assert_eq!(read_message(&mut &frame[..], limits)?, message);
//! # Ok::<(), cyrus_sasl::mesos::framing::FrameError>(())
//! ```

use std::io::{self, Read, Write};

use crate::mesos::messages::{DecodeError, Message, MessageType};

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// The default largest frame (tag plus payload) a reader accepts: 64 KiB.
///
/// CRAM-MD5 frames are under 200 bytes. A Kerberos (GSSAPI) token carrying a
/// large authorization payload can approach 64 KiB; raise the limit with
/// [`FrameLimits::new`] if your site's tickets are bigger.
pub const DEFAULT_MAX_FRAME_LEN: usize = 64 * 1024;

/// How large a frame a reader or writer accepts.
///
/// ```
/// use cyrus_sasl::mesos::framing::{DEFAULT_MAX_FRAME_LEN, FrameLimits};
/// assert_eq!(FrameLimits::default().max_frame_len(), DEFAULT_MAX_FRAME_LEN);
/// assert_eq!(FrameLimits::new(1 << 20).max_frame_len(), 1 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameLimits {
    max_frame_len: usize,
}

impl FrameLimits {
    /// Frames of at most `max_frame_len` bytes (tag plus payload). Values are
    /// clamped to `1..=u32::MAX`: a frame always holds its tag, and the prefix is
    /// 32 bits.
    pub fn new(max_frame_len: usize) -> Self {
        FrameLimits { max_frame_len: max_frame_len.clamp(1, u32::MAX as usize) }
    }

    /// The largest frame accepted, tag included.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Checks a frame length read from the wire: not zero, not over the limit.
    fn check(&self, len: usize) -> Result<(), FrameError> {
        match len {
            0 => Err(FrameError::ZeroLength),
            len if len > self.max_frame_len => Err(FrameError::TooLarge { len, max: self.max_frame_len }),
            _ => Ok(()),
        }
    }
}

impl Default for FrameLimits {
    /// [`DEFAULT_MAX_FRAME_LEN`].
    fn default() -> Self {
        FrameLimits { max_frame_len: DEFAULT_MAX_FRAME_LEN }
    }
}

/// Why a frame could not be read or written.
///
/// Every way a peer can send bad bytes has its own variant, and reading never
/// panics, hangs past the stream's own timeout, or allocates more than the peer
/// actually sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix announced more than the limit (or, when writing, the
    /// message would not fit in it). Nothing was allocated for it.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// The length announced (or needed).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The length prefix was 0: a frame always holds at least its tag.
    #[error("frame with length 0 (no type tag)")]
    ZeroLength,
    /// The tag names no message type.
    #[error("unknown message type tag {0}")]
    UnknownTag(u8),
    /// The payload is not a valid message of the type the tag named (bad
    /// protobuf, or a required field missing).
    #[error("bad frame payload: {0}")]
    Decode(#[source] DecodeError),
    /// The stream ended inside a frame.
    #[error("connection closed mid-frame: got {received} of {expected} bytes")]
    Truncated {
        /// Bytes of this frame (prefix included) that should have come.
        expected: usize,
        /// Bytes of this frame that did come.
        received: usize,
    },
    /// The stream ended cleanly, between two frames.
    #[error("connection closed")]
    Closed,
    /// No byte came within the stream's read timeout (`WouldBlock` or `TimedOut`
    /// from a socket with `set_read_timeout`, or an elapsed tokio deadline).
    #[error("timed out waiting for the peer")]
    TimedOut,
    /// Any other I/O error.
    #[error("I/O error: {0}")]
    Io(#[source] io::Error),
}

impl FrameError {
    /// Classifies an I/O error: timeouts become [`FrameError::TimedOut`].
    fn from_io(e: io::Error) -> Self {
        match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => FrameError::TimedOut,
            _ => FrameError::Io(e),
        }
    }

    /// True when the peer went away: a clean close, a close mid-frame, or a reset.
    pub fn is_disconnect(&self) -> bool {
        match self {
            FrameError::Closed | FrameError::Truncated { .. } => true,
            FrameError::Io(e) => matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::ConnectionAborted
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        }
    }
}

/// A whole frame (prefix, tag, payload) for `message`, ready to write.
///
/// Fails with [`FrameError::TooLarge`] when the message does not fit `limits`,
/// so a writer never sends what its peer would refuse.
pub fn encode_frame(message: &Message, limits: FrameLimits) -> Result<Vec<u8>, FrameError> {
    let len = 1 + message.encoded_len();
    if len > limits.max_frame_len {
        return Err(FrameError::TooLarge { len, max: limits.max_frame_len });
    }
    // `len` fits in u32: the limit is clamped to u32::MAX.
    let prefix = u32::try_from(len).map_err(|_| FrameError::TooLarge { len, max: limits.max_frame_len })?;
    let mut frame = Vec::with_capacity(LENGTH_PREFIX_LEN + len);
    frame.extend_from_slice(&prefix.to_be_bytes());
    frame.push(message.tag());
    frame.extend_from_slice(&message.encode());
    Ok(frame)
}

/// The size on the wire of `message`'s frame, prefix included.
pub fn frame_len(message: &Message) -> usize {
    LENGTH_PREFIX_LEN + 1 + message.encoded_len()
}

/// Writes `message` as one frame and flushes.
pub fn write_message<W: Write + ?Sized>(
    writer: &mut W,
    message: &Message,
    limits: FrameLimits,
) -> Result<(), FrameError> {
    let frame = encode_frame(message, limits)?;
    writer.write_all(&frame).map_err(FrameError::from_io)?;
    writer.flush().map_err(FrameError::from_io)
}

/// Reads one frame and decodes its message.
///
/// Errors: [`FrameError::Closed`] when the stream ends before the first byte of
/// a frame; [`FrameError::Truncated`] when it ends inside one;
/// [`FrameError::ZeroLength`], [`FrameError::TooLarge`] (checked before any
/// allocation), [`FrameError::UnknownTag`] (checked before reading the payload)
/// and [`FrameError::Decode`] for bad frames; [`FrameError::TimedOut`] when the
/// stream's read timeout expires. After an error the stream's position is
/// unspecified: close it.
pub fn read_message<R: Read + ?Sized>(reader: &mut R, limits: FrameLimits) -> Result<Message, FrameError> {
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    let got = read_full(reader, &mut prefix)?;
    if got == 0 {
        return Err(FrameError::Closed);
    }
    let header = Header::parse(prefix, got, limits)?;
    let mut tag = [0u8; 1];
    if read_full(reader, &mut tag)? == 0 {
        return Err(header.truncated(0));
    }
    let message_type = header.message_type(tag[0])?;
    let mut payload = header.payload_buffer();
    let want = header.payload_len();
    let got = reader.take(want as u64).read_to_end(&mut payload).map_err(FrameError::from_io)?;
    if got < want {
        return Err(header.truncated(1 + got));
    }
    decode_payload(message_type, &payload)
}

/// Reads into `buf` until it is full or the stream ends; returns how much was
/// read. Retries on `Interrupted`.
fn read_full<R: Read + ?Sized>(reader: &mut R, buf: &mut [u8]) -> Result<usize, FrameError> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::from_io(e)),
        }
    }
    Ok(filled)
}

/// A checked length prefix.
#[derive(Clone, Copy, Debug)]
struct Header {
    /// Tag plus payload.
    len: usize,
}

impl Header {
    /// Checks a prefix of which `got` bytes arrived (`1..=4`).
    fn parse(prefix: [u8; LENGTH_PREFIX_LEN], got: usize, limits: FrameLimits) -> Result<Self, FrameError> {
        if got < LENGTH_PREFIX_LEN {
            return Err(FrameError::Truncated { expected: LENGTH_PREFIX_LEN, received: got });
        }
        let len = u32::from_be_bytes(prefix) as usize;
        limits.check(len)?;
        Ok(Header { len })
    }

    fn message_type(&self, tag: u8) -> Result<MessageType, FrameError> {
        MessageType::from_tag(tag).ok_or(FrameError::UnknownTag(tag))
    }

    fn payload_len(&self) -> usize {
        self.len - 1
    }

    /// A buffer for the payload: room for small frames at once, larger ones
    /// grow as bytes arrive.
    fn payload_buffer(&self) -> Vec<u8> {
        Vec::with_capacity(self.payload_len().min(4096))
    }

    /// The error for a stream that ended after `received` bytes of tag and payload.
    fn truncated(&self, received: usize) -> FrameError {
        FrameError::Truncated { expected: LENGTH_PREFIX_LEN + self.len, received: LENGTH_PREFIX_LEN + received }
    }
}

fn decode_payload(message_type: MessageType, payload: &[u8]) -> Result<Message, FrameError> {
    Message::decode(message_type.tag(), payload).map_err(|e| match e {
        DecodeError::UnknownTag(tag) => FrameError::UnknownTag(tag),
        other => FrameError::Decode(other),
    })
}

/// The tokio twin of [`write_message`].
#[cfg(feature = "tokio")]
pub async fn write_message_async<W>(writer: &mut W, message: &Message, limits: FrameLimits) -> Result<(), FrameError>
where
    W: tokio::io::AsyncWrite + Unpin + ?Sized,
{
    use tokio::io::AsyncWriteExt;
    let frame = encode_frame(message, limits)?;
    writer.write_all(&frame).await.map_err(FrameError::from_io)?;
    writer.flush().await.map_err(FrameError::from_io)
}

/// The tokio twin of [`read_message`], with the same checks and errors. It has
/// no timeout of its own: wrap it in `tokio::time::timeout` (the async driver
/// does, and maps an elapsed deadline to [`FrameError::TimedOut`]). It is not
/// cancel-safe: once a read is cancelled mid-frame, close the stream.
#[cfg(feature = "tokio")]
pub async fn read_message_async<R>(reader: &mut R, limits: FrameLimits) -> Result<Message, FrameError>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
{
    use tokio::io::AsyncReadExt;
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    let got = read_full_async(reader, &mut prefix).await?;
    if got == 0 {
        return Err(FrameError::Closed);
    }
    let header = Header::parse(prefix, got, limits)?;
    let mut tag = [0u8; 1];
    if read_full_async(reader, &mut tag).await? == 0 {
        return Err(header.truncated(0));
    }
    let message_type = header.message_type(tag[0])?;
    let mut payload = header.payload_buffer();
    let want = header.payload_len();
    let got = reader.take(want as u64).read_to_end(&mut payload).await.map_err(FrameError::from_io)?;
    if got < want {
        return Err(header.truncated(1 + got));
    }
    decode_payload(message_type, &payload)
}

#[cfg(feature = "tokio")]
async fn read_full_async<R>(reader: &mut R, buf: &mut [u8]) -> Result<usize, FrameError>
where
    R: tokio::io::AsyncRead + Unpin + ?Sized,
{
    use tokio::io::AsyncReadExt;
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]).await {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::from_io(e)),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mesos::messages::{
        AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationMechanismsMessage, AuthenticationStepMessage,
    };

    fn step(len: usize) -> Message {
        Message::Step(AuthenticationStepMessage { data: vec![b'x'; len] })
    }

    fn frame(len: u32, rest: &[u8]) -> Vec<u8> {
        let mut bytes = len.to_be_bytes().to_vec();
        bytes.extend_from_slice(rest);
        bytes
    }

    fn read(bytes: &[u8]) -> Result<Message, FrameError> {
        read_message(&mut &bytes[..], FrameLimits::default())
    }

    /// A reader that hands out one byte per call, to exercise partial reads.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), buf.first_mut()) {
                (Some((&b, rest)), Some(slot)) => {
                    *slot = b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    #[test]
    fn every_message_type_round_trips_through_a_frame_even_one_byte_at_a_time() {
        let messages = [
            Message::Authenticate(AuthenticateMessage { pid: "p@127.0.0.1:1".into() }),
            Message::Mechanisms(AuthenticationMechanismsMessage { mechanisms: vec!["CRAM-MD5".into()] }),
            step(10),
            step(0),
            Message::Completed(AuthenticationCompletedMessage {}),
        ];
        let mut stream = Vec::new();
        for m in &messages {
            write_message(&mut stream, m, FrameLimits::default()).unwrap();
        }
        let mut trickle = Trickle(&stream);
        for m in &messages {
            assert_eq!(&read_message(&mut trickle, FrameLimits::default()).unwrap(), m);
        }
        assert!(matches!(read_message(&mut trickle, FrameLimits::default()), Err(FrameError::Closed)));
    }

    #[test]
    fn the_prefix_counts_the_tag_and_payload_in_big_endian() {
        let m = step(300);
        let bytes = encode_frame(&m, FrameLimits::default()).unwrap();
        let len = u32::from_be_bytes(bytes[..4].try_into().unwrap()) as usize;
        assert_eq!(len, 1 + m.encoded_len());
        assert_eq!(bytes.len(), frame_len(&m));
        assert_eq!(bytes[4], MessageType::Step.tag());
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_from_its_prefix_alone() {
        // Only the prefix exists: the reader must fail without waiting for, or
        // allocating, the 4 GiB it announces.
        let err = read(&u32::MAX.to_be_bytes()).unwrap_err();
        assert!(
            matches!(err, FrameError::TooLarge { len, max } if len == u32::MAX as usize && max == DEFAULT_MAX_FRAME_LEN)
        );
        let limits = FrameLimits::new(16);
        let err = read_message(&mut &frame(17, b"\x04")[..], limits).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: 17, max: 16 }), "{err:?}");
        // Exactly at the limit is fine.
        let ok = encode_frame(&step(13), limits).unwrap();
        assert_eq!(ok.len(), 4 + 16);
        assert_eq!(read_message(&mut &ok[..], limits).unwrap(), step(13));
    }

    #[test]
    fn a_writer_refuses_a_message_its_peer_would_refuse() {
        let err = encode_frame(&step(100), FrameLimits::new(50)).unwrap_err();
        assert!(matches!(err, FrameError::TooLarge { len: 103, max: 50 }), "{err:?}");
        let mut out = Vec::new();
        assert!(write_message(&mut out, &step(100), FrameLimits::new(50)).is_err());
        assert!(out.is_empty(), "nothing may be written");
    }

    #[test]
    fn a_zero_length_frame_is_a_typed_error() {
        assert!(matches!(read(&frame(0, b"")), Err(FrameError::ZeroLength)));
        // Even when more bytes follow.
        assert!(matches!(read(&frame(0, b"\x01\x02")), Err(FrameError::ZeroLength)));
    }

    #[test]
    fn an_unknown_tag_is_refused_before_the_payload_is_read() {
        // The frame claims 1000 payload bytes, but only the tag is there: the
        // reader must not wait for the payload.
        assert!(matches!(read(&frame(1001, b"\x00")), Err(FrameError::UnknownTag(0))));
        assert!(matches!(read(&frame(2, b"\x08\x00")), Err(FrameError::UnknownTag(8))));
        assert!(matches!(read(&frame(1, b"\xff")), Err(FrameError::UnknownTag(255))));
    }

    #[test]
    fn bad_protobuf_is_a_typed_error_naming_the_message_type() {
        // A Step whose field 1 claims 16 bytes but has 2.
        let err = read(&frame(4, b"\x04\x0a\x10ab")).unwrap_err();
        match err {
            FrameError::Decode(DecodeError::Protobuf { message, .. }) => assert_eq!(message, MessageType::Step),
            other => panic!("{other:?}"),
        }
        // An Authenticate without its required pid.
        let err = read(&frame(1, b"\x01")).unwrap_err();
        assert!(matches!(err, FrameError::Decode(DecodeError::MissingField { field: "pid", .. })), "{err:?}");
    }

    #[test]
    fn eof_inside_a_frame_is_truncated_wherever_it_falls() {
        let whole = encode_frame(&step(20), FrameLimits::default()).unwrap();
        for cut in 1..whole.len() {
            match read(&whole[..cut]) {
                Err(FrameError::Truncated { expected, received }) => {
                    let expected_here = if cut < 4 { 4 } else { whole.len() };
                    assert_eq!((expected, received), (expected_here, cut), "cut at {cut}");
                }
                other => panic!("cut at {cut}: {other:?}"),
            }
        }
        assert!(read(&whole).is_ok());
    }

    #[test]
    fn eof_between_frames_is_a_clean_close() {
        let err = read(b"").unwrap_err();
        assert!(matches!(err, FrameError::Closed));
        assert!(err.is_disconnect());
        assert!(FrameError::Truncated { expected: 5, received: 1 }.is_disconnect());
        assert!(!FrameError::TimedOut.is_disconnect());
        assert!(!FrameError::ZeroLength.is_disconnect());
    }

    #[test]
    fn a_read_timeout_is_a_typed_error() {
        struct Slow;
        impl Read for Slow {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::WouldBlock))
            }
        }
        assert!(matches!(read_message(&mut Slow, FrameLimits::default()), Err(FrameError::TimedOut)));
    }

    #[test]
    fn limits_are_clamped_to_what_a_frame_can_be() {
        assert_eq!(FrameLimits::new(0).max_frame_len(), 1);
        assert_eq!(FrameLimits::new(usize::MAX).max_frame_len(), u32::MAX as usize);
    }

    #[cfg(feature = "tokio")]
    #[test]
    fn the_async_reader_accepts_and_refuses_exactly_what_the_blocking_one_does() {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let good = encode_frame(&step(20), FrameLimits::default()).unwrap();
        let cases: Vec<Vec<u8>> = vec![
            good.clone(),
            good[..3].to_vec(),
            good[..10].to_vec(),
            vec![],
            frame(0, b""),
            frame(u32::MAX, b""),
            frame(1001, b"\x09"),
            frame(4, b"\x04\x0a\x10ab"),
        ];
        for bytes in cases {
            let blocking = format!("{:?}", read(&bytes));
            let asynchronous = runtime
                .block_on(async { format!("{:?}", read_message_async(&mut &bytes[..], FrameLimits::default()).await) });
            assert_eq!(blocking, asynchronous, "{bytes:?}");
        }
        let mut out = Vec::new();
        runtime.block_on(write_message_async(&mut out, &step(20), FrameLimits::default())).unwrap();
        assert_eq!(out, good);
    }
}

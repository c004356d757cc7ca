//! The Mesos transport's frame reader and message decoder
//! (`mesos::framing::read_message`, `Message::decode`) on an arbitrary byte stream.
//!
//! Input: byte 0 picks the frame limit, byte 1 how the transport hands out the
//! stream (all at once, or in pieces of 1 to 7 bytes); the rest is the stream.
//! Frames are read until the first error, as a driver does.
//!
//! Invariants:
//! - no panic; every failure is a typed `FrameError`;
//! - a decoded frame never exceeds the limit, and the reader consumed exactly
//!   the prefix, the tag and the payload;
//! - `TooLarge` names the limit and a length over it; `Truncated` counts exactly
//!   the bytes that were there;
//! - a decoded message re-encodes to a frame within the same limit, and decodes
//!   back to itself;
//! - the blocking reader gives the same results however the transport cuts the
//!   stream, and the tokio reader gives the same results as the blocking one.
#![no_main]

use std::io::{self, Read};
use std::sync::OnceLock;

use cyrus_sasl::mesos::Message;
use cyrus_sasl::mesos::framing::{FrameError, FrameLimits, LENGTH_PREFIX_LEN, encode_frame, read_message};
use libfuzzer_sys::fuzz_target;

/// Limits worth exploring: tiny ones make "too large" reachable with short inputs.
const LIMITS: [usize; 6] = [1, 2, 8, 64, 300, cyrus_sasl::mesos::framing::DEFAULT_MAX_FRAME_LEN];

/// Stops after this many frames: enough for any input libFuzzer makes.
const MAX_FRAMES: usize = 64;

/// A transport that hands out at most `chunk` bytes per read, and counts them.
struct Transport<'a> {
    bytes: &'a [u8],
    chunk: usize,
    taken: usize,
}

impl Read for Transport<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.chunk).min(self.bytes.len());
        buf[..n].copy_from_slice(&self.bytes[..n]);
        self.bytes = &self.bytes[n..];
        self.taken += n;
        Ok(n)
    }
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Builder::new_current_thread().build().expect("tokio runtime"))
}

/// Reads frames until the first error; checks each one; returns what happened,
/// as text, to compare readers.
fn read_all(stream: &[u8], chunk: usize, limits: FrameLimits) -> Vec<String> {
    let mut transport = Transport { bytes: stream, chunk, taken: 0 };
    let mut seen = Vec::new();
    for _ in 0..MAX_FRAMES {
        let before = transport.taken;
        let available = transport.bytes.len();
        let result = read_message(&mut transport, limits);
        let consumed = transport.taken - before;
        seen.push(format!("{result:?}"));
        match result {
            Ok(message) => check_message(&message, consumed, limits),
            Err(e) => {
                check_error(&e, consumed, available, limits);
                break;
            }
        }
    }
    seen
}

fn check_message(message: &Message, consumed: usize, limits: FrameLimits) {
    let frame_len = consumed - LENGTH_PREFIX_LEN;
    assert!((1..=limits.max_frame_len()).contains(&frame_len), "a frame of {frame_len} bytes passed {limits:?}");
    let payload_len = frame_len - 1;
    assert!(
        message.encoded_len() <= payload_len,
        "re-encoding takes {} bytes, the peer sent {payload_len}",
        message.encoded_len()
    );
    let frame = encode_frame(message, limits).expect("a message that arrived within the limit can be sent back");
    let back = read_message(&mut &frame[..], limits).expect("a re-encoded frame reads back");
    assert_eq!(&back, message, "re-encoding changed the message");
    assert_eq!(Message::decode(message.tag(), &message.encode()).as_ref(), Ok(message));
}

fn check_error(e: &FrameError, consumed: usize, available: usize, limits: FrameLimits) {
    match *e {
        FrameError::TooLarge { len, max } => {
            assert_eq!(max, limits.max_frame_len());
            assert!(len > max, "{e:?}");
            assert_eq!(consumed, LENGTH_PREFIX_LEN, "only the prefix is read before refusing a length");
        }
        FrameError::ZeroLength => assert_eq!(consumed, LENGTH_PREFIX_LEN),
        FrameError::UnknownTag(tag) => {
            assert!(!(1..=7).contains(&tag), "tag {tag} is a message type");
            assert_eq!(consumed, LENGTH_PREFIX_LEN + 1, "the payload of an unknown tag is not read");
        }
        FrameError::Truncated { expected, received } => {
            assert!(received < expected, "{e:?}");
            assert_eq!((received, consumed), (available, available), "{e:?}");
        }
        FrameError::Closed => assert_eq!((consumed, available), (0, 0)),
        FrameError::Decode(_) => {}
        FrameError::TimedOut | FrameError::Io(_) => panic!("an in-memory stream cannot fail: {e:?}"),
        _ => panic!("a new FrameError variant: {e:?}"),
    }
    let _ = e.to_string();
    let _ = e.is_disconnect();
}

async fn read_all_async(mut stream: &[u8], limits: FrameLimits) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..MAX_FRAMES {
        let result = cyrus_sasl::mesos::framing::read_message_async(&mut stream, limits).await;
        let failed = result.is_err();
        seen.push(format!("{result:?}"));
        if failed {
            break;
        }
    }
    seen
}

fuzz_target!(|data: &[u8]| {
    let [pick_limit, pick_chunk, stream @ ..] = data else { return };
    let limits = FrameLimits::new(LIMITS[*pick_limit as usize % LIMITS.len()]);
    let whole = read_all(stream, usize::MAX, limits);
    let chunk = (*pick_chunk as usize % 7) + 1;
    let pieces = read_all(stream, chunk, limits);
    assert_eq!(whole, pieces, "the result depends on how the transport cut the stream ({chunk}-byte reads)");
    let asynchronous = runtime().block_on(read_all_async(stream, limits));
    assert_eq!(whole, asynchronous, "the tokio reader disagrees with the blocking one");
});

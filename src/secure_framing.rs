//! RFC 4422 section 3.7 framing, shared by [`SecureStream`](crate::SecureStream)
//! and its async twin. No I/O here: the streams move the bytes, this decides
//! what they mean.
//!
//! libsasl2's packets already carry the 4-byte big-endian length (measured:
//! `sasl_encode` writes it, `sasl_decode` expects it), so the writer sends
//! encoder output unchanged, and the reader passes whole frames, header
//! included, to the decoder. The reader parses the header itself only to check
//! the length before it reads, or allocates, anything for the body.

use std::fmt;
use std::io;

use crate::error::Error;
use crate::security_layer::SecurityLayer;

/// The length prefix of every frame.
pub(crate) const HEADER: usize = 4;

/// What a read from the transport led to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// Keep reading: the frame is incomplete, or decoded to nothing.
    More,
    /// The transport ended between frames.
    Eof,
    /// This many plaintext bytes were copied to the caller's buffer (never 0).
    Data(usize),
}

/// Collects one frame at a time and decodes it.
pub(crate) struct FrameReader {
    /// The frame being read, header first. Its length only grows, so a frame
    /// no longer than an earlier one costs no allocation and no zeroing.
    frame: Vec<u8>,
    /// Bytes of the current frame read so far.
    filled: usize,
    /// Bytes the current frame needs: `HEADER` until the header is in, then
    /// `HEADER` plus the announced length.
    want: usize,
    /// Plaintext decoded but not yet returned (the caller's buffer was smaller).
    plain: Vec<u8>,
    plain_pos: usize,
    /// Set by a framing or decoding error: the stream is out of step for good.
    broken: bool,
}

impl FrameReader {
    pub(crate) fn new() -> Self {
        FrameReader { frame: vec![0; HEADER], filled: 0, want: HEADER, plain: Vec::new(), plain_pos: 0, broken: false }
    }

    /// Copies plaintext left over from an earlier frame; 0 when there is none.
    pub(crate) fn take_buffered(&mut self, dst: &mut [u8]) -> usize {
        let rest = &self.plain[self.plain_pos..];
        let n = rest.len().min(dst.len());
        dst[..n].copy_from_slice(&rest[..n]);
        self.plain_pos += n;
        if self.plain_pos == self.plain.len() {
            self.plain.clear();
            self.plain_pos = 0;
        }
        n
    }

    /// Where the next bytes from the transport go: the rest of the header, or
    /// of the body once the header has been checked.
    pub(crate) fn space(&mut self) -> io::Result<&mut [u8]> {
        if self.broken {
            return Err(io::Error::other(Error::State {
                call: "SecureStream read",
                state: "after an earlier framing or decoding error",
            }));
        }
        Ok(&mut self.frame[self.filled..self.want])
    }

    /// Accounts for `n` bytes the transport put into [`space`](Self::space)
    /// (0 meaning end of stream). When they complete a frame, decodes it and
    /// copies the plaintext into `dst`, which must not be empty; what does not
    /// fit is kept for [`take_buffered`](Self::take_buffered).
    pub(crate) fn filled(&mut self, n: usize, layer: &mut SecurityLayer, dst: &mut [u8]) -> io::Result<Progress> {
        debug_assert!(!dst.is_empty(), "an empty destination would make Data(0) look like EOF");
        if n == 0 {
            if self.filled == 0 {
                return Ok(Progress::Eof);
            }
            return Err(self.fail(
                io::ErrorKind::UnexpectedEof,
                Error::TruncatedFrame { expected: self.want, received: self.filled },
            ));
        }
        self.filled += n;
        if self.filled < self.want {
            return Ok(Progress::More);
        }
        if self.want == HEADER {
            let len = u32::from_be_bytes([self.frame[0], self.frame[1], self.frame[2], self.frame[3]]);
            let max = layer.max_frame_len();
            if len == 0 {
                return Err(self.fail(io::ErrorKind::InvalidData, Error::EmptyFrame));
            }
            // max_frame_len is at most 2^24 - 1, so it fits a u32 and HEADER + len
            // cannot overflow.
            if len as usize > max {
                return Err(self.fail(io::ErrorKind::InvalidData, Error::FrameTooLong { len, max: max as u32 }));
            }
            self.want = HEADER + len as usize;
            if self.frame.len() < self.want {
                self.frame.resize(self.want, 0);
            }
            return Ok(Progress::More);
        }
        let frame = &self.frame[..self.want];
        self.filled = 0;
        self.want = HEADER;
        let plain = match layer.decode(frame) {
            Ok(plain) => plain,
            Err(e) => {
                self.broken = true;
                return Err(io::Error::new(io::ErrorKind::InvalidData, e));
            }
        };
        let n = plain.len().min(dst.len());
        dst[..n].copy_from_slice(&plain[..n]);
        if n < plain.len() {
            self.plain.extend_from_slice(&plain[n..]);
        }
        Ok(if n == 0 { Progress::More } else { Progress::Data(n) })
    }

    fn fail(&mut self, kind: io::ErrorKind, error: Error) -> io::Error {
        self.broken = true;
        io::Error::new(kind, error)
    }
}

/// Encoded bytes the transport has not taken yet.
#[derive(Default)]
pub(crate) struct Unsent {
    buf: Vec<u8>,
    pos: usize,
}

impl Unsent {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.buf[self.pos..]
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// The transport took `n` more bytes.
    pub(crate) fn advance(&mut self, n: usize) {
        self.pos += n;
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
        }
    }

    /// Keeps the part of a frame the transport did not take.
    pub(crate) fn keep(&mut self, rest: &[u8]) {
        self.buf.extend_from_slice(rest);
    }
}

// Debug shows sizes only: the buffers hold protected data, decoded plaintext
// included, which must not reach logs.
impl fmt::Debug for FrameReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("frame_bytes_read", &self.filled)
            .field("frame_bytes_wanted", &self.want)
            .field("plaintext_buffered", &(self.plain.len() - self.plain_pos))
            .field("broken", &self.broken)
            .finish()
    }
}

impl fmt::Debug for Unsent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsent").field("bytes", &self.bytes().len()).finish()
    }
}

/// How much of `buf` one frame carries.
pub(crate) fn chunk(layer: &SecurityLayer, buf: &[u8]) -> usize {
    buf.len().min(layer.max_outbuf())
}

/// An encode failure, as an I/O error carrying the typed one.
pub(crate) fn encode_error(e: Error) -> io::Error {
    io::Error::other(e)
}

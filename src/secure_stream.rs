//! [`SecureStream`]: a blocking stream protected by a SASL security layer.

use std::io::{self, Read, Write};

use crate::secure_framing::{self as framing, FrameReader, Progress, Unsent};
use crate::security_layer::SecurityLayer;

/// A stream whose bytes travel through a SASL [`SecurityLayer`]: what you
/// write is encoded into frames, what you read is decoded from them.
///
/// # Wire format
///
/// RFC 4422 section 3.7, exactly once: every frame is a 4-byte big-endian
/// length followed by that many bytes of mechanism output. libsasl2's
/// `sasl_encode` already writes that length, and `sasl_decode` expects it
/// (measured with GSSAPI and DIGEST-MD5 on libsasl2 2.1.28), so `SecureStream`
/// adds no prefix of its own and interoperates with any SASL implementation
/// that follows the RFC (Java SASL, GNU SASL, OpenLDAP, Mesos).
///
/// # Writing
///
/// Each `write` encodes at most [`SecurityLayer::max_outbuf`] bytes into one
/// frame and returns how many it took; `write_all` loops. A frame costs tens of
/// bytes of overhead and a libsasl2 call, so wrap the stream in a
/// [`BufWriter`](std::io::BufWriter) if you write many small pieces.
///
/// A frame is sent as soon as it is encoded. If the transport does not take
/// all of it (an error, or `WouldBlock` on a non-blocking socket), the rest is
/// kept and sent first by the next `write` or `flush`, which report the error
/// if it persists; the call that encoded the frame still succeeds, because the
/// frame's sequence number is spent. Call [`flush`](Write::flush) before
/// dropping the stream.
///
/// # Reading
///
/// `read` reads one frame: the 4-byte header first, then checks the length
/// against [`SecurityLayer::max_frame_len`] before it reads, or allocates, the
/// body. Plaintext that does not fit your buffer is kept for the next `read`.
/// `WouldBlock` and `Interrupted` from the transport lose nothing.
///
/// # Errors
///
/// Failures come out as [`io::Error`]s carrying a [`crate::Error`], which you
/// can recover with [`io::Error::get_ref`] and `downcast_ref`:
///
/// | Cause | `io::ErrorKind` | inner [`crate::Error`] |
/// |---|---|---|
/// | a frame header over the limit | `InvalidData` | [`FrameTooLong`](crate::Error::FrameTooLong) |
/// | a frame header of 0 | `InvalidData` | [`EmptyFrame`](crate::Error::EmptyFrame) |
/// | end of stream inside a frame | `UnexpectedEof` | [`TruncatedFrame`](crate::Error::TruncatedFrame) |
/// | a frame that fails to decode (corrupt, forged, replayed) | `InvalidData` | [`Sasl`](crate::Error::Sasl) from `sasl_decode` |
/// | an encoding failure | `Other` | [`Sasl`](crate::Error::Sasl) from `sasl_encode` |
///
/// After any of these reads fail for good (the stream is out of step with the
/// peer). End of stream between frames is an ordinary end of stream (`Ok(0)`).
///
/// # Strength
///
/// There is no `SecureStream` without a security layer: a connection that
/// negotiated SSF 0 cannot become a [`SecurityLayer`]. With SSF 1 (integrity
/// only) the plaintext is **visible on the wire**; only tampering is detected.
/// Check [`SecureStream::ssf`], or require confidentiality with `min_ssf` 56 or
/// more.
///
/// # Example
///
/// A server that authenticates a client over TCP (with GSSAPI, say), then
/// talks to it through the negotiated layer:
///
/// ```no_run
/// use std::io::{BufRead, BufReader, Write};
/// use std::net::TcpListener;
/// use cyrus_sasl::{Config, SecureStream, Server, ServerStep};
///
/// # fn exchange(server: &mut Server, tcp: &mut std::net::TcpStream) -> Result<(), Box<dyn std::error::Error>> { Ok(()) }
/// let config = Config::new().with("mech_list", "GSSAPI")?.with("min_ssf", "56")?.with("max_ssf", "256")?;
/// let (mut tcp, _) = TcpListener::bind("127.0.0.1:4567")?.accept()?;
/// let mut server = Server::new("myservice", "host.example.com", None, &config)?;
/// // ... your protocol carries the handshake until `ServerStep::Authenticated` ...
/// exchange(&mut server, &mut tcp)?;
///
/// let layer = server.into_security_layer()?;
/// assert!(layer.ssf() >= 56, "min_ssf guarantees confidentiality");
/// let mut stream = SecureStream::new(tcp, layer);
/// stream.write_all(b"hello, protected world\n")?;
/// stream.flush()?;
/// let mut line = String::new();
/// BufReader::new(&mut stream).read_line(&mut line)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SecureStream<T> {
    inner: T,
    layer: SecurityLayer,
    reader: FrameReader,
    unsent: Unsent,
}

impl<T> SecureStream<T> {
    /// Wraps `inner`, which must carry nothing but this layer's frames from now
    /// on, in both directions.
    pub fn new(inner: T, layer: SecurityLayer) -> Self {
        SecureStream { inner, layer, reader: FrameReader::new(), unsent: Unsent::default() }
    }

    /// The negotiated security strength factor: 1 is integrity only (plaintext
    /// visible on the wire), more is confidentiality.
    pub fn ssf(&self) -> u32 {
        self.layer.ssf()
    }

    /// The security layer, for its limits and mechanism.
    pub fn layer(&self) -> &SecurityLayer {
        &self.layer
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The wrapped stream, e.g. to set a timeout. Reading or writing it directly
    /// breaks the framing.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: Write> SecureStream<T> {
    /// Sends what an earlier `write` left unsent.
    fn send_unsent(&mut self) -> io::Result<()> {
        while !self.unsent.is_empty() {
            match self.inner.write(self.unsent.bytes()) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.unsent.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl<T: Read> Read for SecureStream<T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let buffered = self.reader.take_buffered(buf);
        if buffered > 0 {
            return Ok(buffered);
        }
        loop {
            let n = match self.inner.read(self.reader.space()?) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            match self.reader.filled(n, &mut self.layer, buf)? {
                Progress::More => {}
                Progress::Eof => return Ok(0),
                Progress::Data(n) => return Ok(n),
            }
        }
    }
}

impl<T: Write> Write for SecureStream<T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send_unsent()?;
        if buf.is_empty() {
            return Ok(0);
        }
        let n = framing::chunk(&self.layer, buf);
        let frame = self.layer.encode(&buf[..n]).map_err(framing::encode_error)?;
        let mut sent = 0;
        while sent < frame.len() {
            match self.inner.write(&frame[sent..]) {
                Ok(0) => break,
                Ok(k) => sent += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Reported by the next write or flush, which retry.
                Err(_) => break,
            }
        }
        self.unsent.keep(&frame[sent..]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send_unsent()?;
        self.inner.flush()
    }
}

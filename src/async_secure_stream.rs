//! [`AsyncSecureStream`]: the tokio twin of [`SecureStream`](crate::SecureStream).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::secure_framing::{self as framing, FrameReader, Progress, Unsent};
use crate::security_layer::SecurityLayer;

/// A tokio stream whose bytes travel through a SASL [`SecurityLayer`]
/// (feature `tokio`).
///
/// Same wire format, limits, errors and guarantees as the blocking
/// [`SecureStream`](crate::SecureStream): RFC 4422 framing exactly once, the
/// frame length checked before the body is read, typed errors inside
/// [`io::Error`], no stream at SSF 0, plaintext visible at SSF 1. A frame the
/// transport cannot take at once is kept and sent by the next `poll_write`,
/// `poll_flush` or `poll_shutdown`; flush or shut down before dropping.
///
/// ```no_run
/// # async fn demo(layer: cyrus_sasl::SecurityLayer) -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use cyrus_sasl::AsyncSecureStream;
///
/// // `layer` comes from `server.into_security_layer()?` after authentication.
/// let tcp = tokio::net::TcpStream::connect("127.0.0.1:4567").await?;
/// let mut stream = AsyncSecureStream::new(tcp, layer);
/// stream.write_all(b"ping").await?;
/// stream.flush().await?;
/// let mut reply = [0; 4];
/// stream.read_exact(&mut reply).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncSecureStream<T> {
    inner: T,
    layer: SecurityLayer,
    reader: FrameReader,
    unsent: Unsent,
}

impl<T> AsyncSecureStream<T> {
    /// Wraps `inner`, which must carry nothing but this layer's frames from now
    /// on, in both directions.
    pub fn new(inner: T, layer: SecurityLayer) -> Self {
        AsyncSecureStream { inner, layer, reader: FrameReader::new(), unsent: Unsent::default() }
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

    /// The wrapped stream. Reading or writing it directly breaks the framing.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }
}

impl<T: AsyncWrite + Unpin> AsyncSecureStream<T> {
    /// Sends what an earlier `poll_write` left unsent.
    fn poll_send_unsent(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while !self.unsent.is_empty() {
            match ready!(Pin::new(&mut self.inner).poll_write(cx, self.unsent.bytes())) {
                Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Ok(n) => self.unsent.advance(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for AsyncSecureStream<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let dst = buf.initialize_unfilled();
        let buffered = this.reader.take_buffered(dst);
        if buffered > 0 {
            buf.advance(buffered);
            return Poll::Ready(Ok(()));
        }
        loop {
            let mut space = ReadBuf::new(this.reader.space()?);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut space))?;
            let n = space.filled().len();
            match this.reader.filled(n, &mut this.layer, buf.initialize_unfilled())? {
                Progress::More => {}
                Progress::Eof => return Poll::Ready(Ok(())),
                Progress::Data(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for AsyncSecureStream<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_send_unsent(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = framing::chunk(&this.layer, buf);
        let frame = this.layer.encode(&buf[..n]).map_err(framing::encode_error)?;
        let mut sent = 0;
        while sent < frame.len() {
            match Pin::new(&mut this.inner).poll_write(cx, &frame[sent..]) {
                Poll::Ready(Ok(0)) => break,
                Poll::Ready(Ok(k)) => sent += k,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                // The frame is encoded, so the bytes are taken: the rest goes
                // out with the next poll_write/poll_flush, which also reports
                // an error that persists.
                Poll::Ready(Err(_)) | Poll::Pending => break,
            }
        }
        this.unsent.keep(&frame[sent..]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_unsent(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_send_unsent(cx))?;
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}

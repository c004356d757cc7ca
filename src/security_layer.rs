//! [`SecurityLayer`]: `sasl_encode`/`sasl_decode` on an authenticated connection.

use std::fmt;

use sasl_sys as sys;

use crate::error::{Code, Error, Result};
use crate::ffi::Conn;

/// The largest frame length any libsasl2 mechanism can announce: GSSAPI (RFC
/// 4752) and DIGEST-MD5 (RFC 2831) carry the peer's buffer size in 24 bits.
const MAX_FRAME_LEN: u32 = 0x00FF_FFFF;

/// The security layer negotiated by an authentication: integrity protection
/// (SSF 1) or confidentiality (SSF > 1) for everything sent afterwards.
///
/// Get one from an authenticated [`Server`](crate::Server) or a completed
/// [`Client`](crate::Client) with `into_security_layer()`; it takes over the
/// libsasl2 connection. Most programs then wrap their socket in a
/// [`SecureStream`](crate::SecureStream), which does the framing; use
/// `encode`/`decode` directly when your protocol carries the packets itself.
///
/// # Wire format
///
/// Measured with libsasl2 2.1.28 (GSSAPI and DIGEST-MD5): the output of
/// [`encode`](Self::encode) is already framed as RFC 4422 section 3.7 asks,
/// each packet a 4-byte big-endian length followed by that many bytes, and
/// [`decode`](Self::decode) expects the same framing (a packet without its
/// length header fails). Nothing must add a second length prefix.
///
/// - One `encode` call produces one packet per [`max_outbuf`](Self::max_outbuf)
///   bytes of input: libsasl2 splits larger input itself (200 kB became four
///   packets with GSSAPI and with DIGEST-MD5, 64 KiB buffers), so every packet
///   fits the buffer the peer announced.
/// - `decode` accepts the stream cut anywhere, down to one byte per call. It
///   keeps a partial packet inside the connection and returns the plaintext of
///   the packets the input completed, which may be nothing.
/// - A packet with length 0, or longer than this side's `maxbufsize`, is
///   refused by libsasl2 without detail. The packet limit counts the bytes
///   after the 4-byte header (a header of exactly `maxbufsize` is accepted).
///
/// # Strength
///
/// With SSF 1 (integrity only: DIGEST-MD5 `auth-int`, or GSSAPI with a
/// `max_ssf` below its key strength), packets carry the plaintext **in the
/// clear** plus a message integrity code: tampering is detected, eavesdropping
/// is not prevented. Set `min_ssf` to 56 or more to require confidentiality.
/// Measured with AES-256 Kerberos keys: GSSAPI knows only SSF 256 and 1, so any
/// `max_ssf` from 1 to 255 gives integrity only. A
/// connection that negotiated no layer at all (SSF 0) cannot become a
/// `SecurityLayer`: `into_security_layer()` returns [`Error::NoSecurityLayer`].
///
/// # Errors
///
/// After `decode` fails (a forged, corrupt or out-of-order packet), the layer
/// refuses to decode anything more, since its state is out of step with the
/// peer; likewise for `encode`.
///
/// # A libsasl2 bug to know about
///
/// libsasl2's DIGEST-MD5 client (2.1.28) remembers its last session with each
/// server name, per process, and opens the next one with a fast
/// reauthentication. When the server declines (libsasl2 servers do unless
/// `reauth_timeout` is set) and the new session settles on integrity only
/// (SSF 1) after an earlier one had a cipher, the client goes on encrypting
/// with the old cipher while both sides report SSF 1: the server's first
/// `decode` fails with "CMAC doesn't match at byte 0!". Within one process,
/// keep the `max_ssf` of DIGEST-MD5 clients for a given server the same, or
/// use GSSAPI. (A test of this crate pins this libsasl2 behaviour.)
///
/// A `SecurityLayer` can move to another thread, but cannot be shared:
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<cyrus_sasl::SecurityLayer>();
/// ```
///
/// ```
/// fn sent<T: Send>() {}
/// sent::<cyrus_sasl::SecurityLayer>();
/// ```
pub struct SecurityLayer {
    /// The connection owner moved here whole from the `Server` or `Client`,
    /// with everything libsasl2 points into (a GSS-API credential included).
    conn: Conn,
    ssf: u32,
    max_outbuf: u32,
    max_frame_len: u32,
    mechanism: String,
    encode_failed: bool,
    decode_failed: bool,
}

impl SecurityLayer {
    /// Takes over an authenticated connection, or refuses one without a layer.
    pub(crate) fn new(conn: Conn) -> Result<Self> {
        let ssf = conn.prop_uint(sys::SASL_SSF)?;
        let mechanism = conn.prop_str(sys::SASL_MECHNAME, "mechanism name")?.unwrap_or_default();
        if ssf == 0 {
            return Err(Error::NoSecurityLayer { mechanism });
        }
        let max_outbuf = conn.prop_uint(sys::SASL_MAXOUTBUF)?;
        if max_outbuf == 0 {
            return Err(Error::Sasl {
                call: "sasl_getprop(SASL_MAXOUTBUF)",
                code: Code::FAIL,
                detail: "libsasl2 reports a security layer that accepts no input".into(),
            });
        }
        let max_frame_len = conn.security()?.maxbufsize.min(MAX_FRAME_LEN);
        // libsasl2 does not set a detail for most encode/decode failures, and
        // sasl_errdetail then repeats whatever the handshake left behind (seen:
        // "Unable to find a callback: 32775" after GSSAPI, "property
        // cmusaslsecretDIGEST-MD5 not found in sasldb" after DIGEST-MD5). Start
        // from an empty detail so a failure reports only its own.
        conn.clear_detail();
        Ok(SecurityLayer {
            conn,
            ssf,
            max_outbuf,
            max_frame_len,
            mechanism,
            encode_failed: false,
            decode_failed: false,
        })
    }

    /// The negotiated security strength factor (`SASL_SSF`): 1 means integrity
    /// only (plaintext visible on the wire), more means confidentiality with a
    /// key of about that many bits (GSSAPI with AES-256: 256). Never 0.
    #[doc(alias = "SASL_SSF")]
    pub fn ssf(&self) -> u32 {
        self.ssf
    }

    /// The mechanism that negotiated the layer, e.g. `GSSAPI`.
    pub fn mechanism(&self) -> &str {
        &self.mechanism
    }

    /// The most plaintext one packet can carry so that it fits the buffer the
    /// peer announced (`SASL_MAXOUTBUF`). With a peer `maxbufsize` of 65536 it
    /// is 65476 for GSSAPI (AES-256, at SSF 256 and at SSF 1 alike), and for
    /// DIGEST-MD5 with RC4 65507 on the server but 65511 on the client. Each
    /// side's value follows the other's `maxbufsize`, so the two directions
    /// can differ.
    #[doc(alias = "SASL_MAXOUTBUF")]
    pub fn max_outbuf(&self) -> usize {
        self.max_outbuf as usize
    }

    /// The longest packet this side accepts, counted after the 4-byte length
    /// header: its own `maxbufsize` (from [`Config`](crate::Config)), capped at
    /// 16777215, the most a mechanism can announce.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len as usize
    }

    /// Protects `plaintext` for sending (`sasl_encode`).
    ///
    /// The output is one or more complete packets, each with its 4-byte length,
    /// ready to write as they are. It borrows the connection: libsasl2 reuses the
    /// buffer on the next call. Input longer than [`max_outbuf`](Self::max_outbuf)
    /// is split into several packets. Empty input gives empty output: there is
    /// nothing to send.
    #[doc(alias = "sasl_encode")]
    pub fn encode(&mut self, plaintext: &[u8]) -> Result<&[u8]> {
        if self.encode_failed {
            return Err(Error::State { call: "SecurityLayer::encode", state: "after an earlier encode failed" });
        }
        if plaintext.is_empty() {
            return Ok(&[]);
        }
        match self.conn.encode(plaintext) {
            Ok(out) => Ok(self.conn.output(out)),
            // Refused before libsasl2 saw it: the layer is still in step.
            Err(e @ Error::TooLong { .. }) => Err(e),
            Err(e) => {
                self.encode_failed = true;
                Err(self.explain(e))
            }
        }
    }

    /// Checks and unprotects bytes received from the peer (`sasl_decode`).
    ///
    /// `input` may cut the stream anywhere: a partial packet is kept until the
    /// rest arrives, and the output is the plaintext of every packet `input`
    /// completed (possibly empty). It borrows the connection like
    /// [`encode`](Self::encode)'s output.
    ///
    /// A forged, corrupt, replayed or out-of-order packet, or a length header
    /// of 0 or over [`max_frame_len`](Self::max_frame_len), is an
    /// [`Error::Sasl`] from `sasl_decode`; after it every call fails.
    #[doc(alias = "sasl_decode")]
    pub fn decode(&mut self, input: &[u8]) -> Result<&[u8]> {
        if self.decode_failed {
            return Err(Error::State { call: "SecurityLayer::decode", state: "after an earlier decode failed" });
        }
        if input.is_empty() {
            return Ok(&[]);
        }
        match self.conn.decode(input) {
            Ok(out) => Ok(self.conn.output(out)),
            // Refused before libsasl2 saw it: the layer is still in step.
            Err(e @ Error::TooLong { .. }) => Err(e),
            Err(e) => {
                self.decode_failed = true;
                Err(self.explain(e))
            }
        }
    }

    /// The raw connection, for calls this crate does not wrap. It stays owned by
    /// the `SecurityLayer`; do not dispose it.
    pub fn as_ptr(&self) -> *mut sys::sasl_conn_t {
        self.conn.as_ptr()
    }

    /// Gives an encode/decode failure a detail that belongs to it: libsasl2
    /// leaves most of them without one.
    fn explain(&self, error: Error) -> Error {
        match error {
            Error::Sasl { call, code, detail } => {
                // "SASL(-1): generic failure" and nothing after it (the empty
                // last part libsasl2 leaves is dropped by the funnel).
                let bare = format!("SASL({}): {}", code.0, code.description());
                let detail = if detail == bare || detail.is_empty() {
                    match call {
                        "sasl_decode" => format!(
                            "{bare}: the input is not a valid packet of this security layer (corrupt, forged, \
                             out of order, of length 0, or longer than {} bytes)",
                            self.max_frame_len
                        ),
                        _ => format!("{bare}: libsasl2 gave no detail"),
                    }
                } else {
                    detail
                };
                self.conn.clear_detail();
                Error::Sasl { call, code, detail }
            }
            e => e,
        }
    }
}

impl fmt::Debug for SecurityLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecurityLayer")
            .field("mechanism", &self.mechanism)
            .field("ssf", &self.ssf)
            .field("max_outbuf", &self.max_outbuf)
            .field("max_frame_len", &self.max_frame_len)
            .finish_non_exhaustive()
    }
}

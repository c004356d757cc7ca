//! The libprocess message codec: requests as libprocess writes them, a sans-IO
//! decoder for incoming requests (its heads parsed by `httparse`), and the
//! short answers.
//!
//! No socket here: [`RequestDecoder`] takes bytes and gives back whole
//! [`Request`]s or a typed [`RequestError`], so the fuzz target and the tests
//! drive it directly, and the endpoint's connection loop only moves bytes.

use std::fmt;

use super::upid::{Upid, UpidError, check_id};

/// Size limits for one incoming request, checked before anything is allocated
/// for it: a head is refused once the buffered bytes pass `max_head_bytes`
/// without its end, a body as soon as its declared length (or the next chunk's)
/// would pass `max_body_bytes`, and a head with more than `max_headers` fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Request line plus header fields, in bytes (default 16 KiB; libprocess
    /// writes about 250).
    pub max_head_bytes: usize,
    /// Header fields (default 32, at most [`MAX_HEADERS`]; libprocess writes 5).
    pub max_headers: usize,
    /// The message body after chunked decoding (default 4 MiB).
    pub max_body_bytes: usize,
}

/// The most header fields [`Limits::max_headers`] can allow (the parser's array
/// of fields lives on the stack).
pub const MAX_HEADERS: usize = 64;

impl Default for Limits {
    fn default() -> Self {
        Limits { max_head_bytes: 16 * 1024, max_headers: 32, max_body_bytes: 4 * 1024 * 1024 }
    }
}

/// One message received: a libprocess `POST /{to}/{name}` request.
#[derive(Clone, PartialEq, Eq)]
pub struct Request {
    /// The process id it is addressed to (the first path segment).
    pub to: String,
    /// The message name (the rest of the path), e.g. `mesos.internal.AuthenticateMessage`.
    pub name: String,
    /// The sender, from `Libprocess-From` or else `User-Agent: libprocess/{upid}`.
    pub from: Upid,
    /// The body, chunked encoding removed.
    pub body: Vec<u8>,
    /// Whether the connection stays open after it (HTTP/1.1 unless
    /// `Connection: close`; HTTP/1.0 only with `Connection: keep-alive`).
    pub keep_alive: bool,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Bodies can carry SASL data: their length only.
        f.debug_struct("Request")
            .field("to", &self.to)
            .field("name", &self.name)
            .field("from", &self.from)
            .field("body_len", &self.body.len())
            .field("keep_alive", &self.keep_alive)
            .finish()
    }
}

/// Why an incoming request was refused. Each maps to the HTTP status the
/// endpoint answers with ([`RequestError::status`]) before closing the
/// connection. The texts are for the receiving side's log: they say whether
/// the peer speaks something else than libprocess, or broke a limit that can
/// be raised.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The head is not HTTP/1.x (httparse's verdict).
    #[error(
        "the request head is not HTTP/1.x ({0}): the peer does not speak libprocess \
         (if it sends TLS, set LIBPROCESS_SSL_ENABLED here)"
    )]
    Head(httparse::Error),
    /// The head did not end within [`Limits::max_head_bytes`].
    #[error("the request head is over {0} bytes: raise Limits::max_head_bytes if the peer is legitimate")]
    HeadTooLarge(usize),
    /// More header fields than [`Limits::max_headers`].
    #[error("the request has more than {0} header fields: raise Limits::max_headers if the peer is legitimate")]
    TooManyHeaders(usize),
    /// The body (declared, or chunks so far) is over [`Limits::max_body_bytes`].
    #[error("the request body is over {0} bytes: raise Limits::max_body_bytes if messages are this large")]
    BodyTooLarge(usize),
    /// Not a `POST`: libprocess messages always are.
    #[error("method {0:?} is not POST: the peer is not sending libprocess messages")]
    Method(String),
    /// The path is not `/{process id}/{message name}`.
    #[error("path {0:?} is not /{{process id}}/{{message name}}: the peer is not sending libprocess messages")]
    Path(String),
    /// Neither `Libprocess-From` nor `User-Agent: libprocess/...` names the sender.
    #[error(
        "the request names no sender (neither Libprocess-From nor User-Agent: libprocess/...): it is not a libprocess message"
    )]
    NoSender,
    /// The sender header holds no valid UPID.
    #[error("the sender header holds no valid UPID: {0}")]
    Sender(UpidError),
    /// `Content-Length` is not a number, or given twice with different values.
    #[error("the request's Content-Length is not one decimal number: the peer's HTTP framing is broken")]
    ContentLength,
    /// Both `Content-Length` and `Transfer-Encoding` (a request-smuggling shape).
    #[error("the request has both Content-Length and Transfer-Encoding: refused, as a request-smuggling shape")]
    LengthAndChunked,
    /// A `Transfer-Encoding` other than `chunked`.
    #[error("the request's Transfer-Encoding is not chunked: libprocess peers send chunked bodies only")]
    TransferEncoding,
    /// The chunked body is malformed.
    #[error("the request's chunked body is malformed: the peer's HTTP framing is broken")]
    Chunk,
}

impl RequestError {
    /// The status the endpoint answers this error with: 413 for a body over the
    /// limit, 431 for a head over its limits, 405 for a method other than POST,
    /// 501 for an unknown transfer encoding, 400 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            RequestError::BodyTooLarge(_) => 413,
            RequestError::HeadTooLarge(_) | RequestError::TooManyHeaders(_) => 431,
            RequestError::Method(_) => 405,
            RequestError::TransferEncoding => 501,
            _ => 400,
        }
    }
}

/// The head of a request whose body is still arriving.
#[derive(Debug)]
struct Head {
    to: String,
    name: String,
    from: Upid,
    keep_alive: bool,
}

#[derive(Debug)]
enum Framing {
    /// `remaining` more body bytes (Content-Length, or 0 without either header).
    Length { remaining: usize },
    /// Chunked: expecting a chunk-size line.
    ChunkSize,
    /// Chunked: inside a chunk.
    ChunkData { remaining: usize },
    /// Chunked: the CRLF after a chunk's data.
    ChunkEnd,
    /// Chunked: trailer fields after the last chunk, then an empty line.
    /// `seen`: trailer bytes so far; `line`: bytes of the current line.
    Trailer { seen: usize, line: usize },
}

#[derive(Debug)]
enum State {
    Head,
    Body {
        head: Head,
        framing: Framing,
        body: Vec<u8>,
        /// The body limit of this request's destination.
        max_body: usize,
    },
    /// An error was returned: the connection must close.
    Failed,
}

/// A chunk-size line longer than this is refused (hex digits plus extensions).
const MAX_CHUNK_SIZE_LINE: usize = 1024;

/// Decodes a stream of pipelined requests from one connection, sans-IO.
///
/// Feed it what arrives with [`push`](Self::push) and take whole requests with
/// [`next_request`](Self::next_request) until it returns `Ok(None)`. The body is
/// decoded as its bytes arrive, so the buffer never holds more than one head,
/// one chunk-size line or what one `push` brought; after an error every later
/// call returns the same kind of error.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    buf: Vec<u8>,
    state: State,
    /// In the head state: how much of `buf` has been looked at for a line end.
    /// The head is parsed again only when a new line has ended, so a peer that
    /// sends it a byte at a time costs one parse per line, not per byte.
    scanned: usize,
}

impl RequestDecoder {
    /// A decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Self {
        RequestDecoder { limits, buf: Vec::new(), state: State::Head, scanned: 0 }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// Whether nothing of a next request has arrived (a connection may close
    /// cleanly here).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.buf.is_empty()
    }

    /// The next whole request, `Ok(None)` if more bytes are needed, or why the
    /// stream is not a valid request (the connection must then close).
    pub fn next_request(&mut self) -> Result<Option<Request>, RequestError> {
        self.next_request_limited(|_| None)
    }

    /// [`next_request`](Self::next_request), with a body limit per destination:
    /// once a request's head names its process id, `body_limit(id)` may lower
    /// [`Limits::max_body_bytes`] for that request (a process that only takes
    /// small messages). Over it, the request is refused with
    /// [`RequestError::BodyTooLarge`] as soon as the declared length or the
    /// chunks so far pass it.
    pub fn next_request_limited(
        &mut self,
        body_limit: impl FnOnce(&str) -> Option<usize>,
    ) -> Result<Option<Request>, RequestError> {
        let result = self.advance(body_limit);
        if result.is_err() {
            self.state = State::Failed;
            self.buf = Vec::new();
        }
        result
    }

    fn advance(&mut self, body_limit: impl FnOnce(&str) -> Option<usize>) -> Result<Option<Request>, RequestError> {
        if let State::Failed = self.state {
            return Err(RequestError::Head(httparse::Error::Status));
        }
        if let State::Head = self.state {
            // Parsed on the first bytes (garbage such as a TLS hello is refused
            // at once) and then whenever a line has ended.
            let first_look = self.scanned == 0;
            let new_line = self.buf[self.scanned.min(self.buf.len())..].contains(&b'\n');
            self.scanned = self.buf.len();
            if !first_look && !new_line {
                return if self.buf.len() > self.limits.max_head_bytes {
                    Err(RequestError::HeadTooLarge(self.limits.max_head_bytes))
                } else {
                    Ok(None)
                };
            }
            let Some((head, framing, used)) = self.parse_head()? else {
                return Ok(None);
            };
            let max_body =
                body_limit(&head.to).map_or(self.limits.max_body_bytes, |n| n.min(self.limits.max_body_bytes));
            if matches!(framing, Framing::Length { remaining } if remaining > max_body) {
                return Err(RequestError::BodyTooLarge(max_body));
            }
            self.buf.drain(..used);
            self.scanned = 0;
            self.state = State::Body { head, framing, body: Vec::new(), max_body };
        }
        let State::Body { framing, body, max_body, .. } = &mut self.state else {
            unreachable!("the head is parsed above");
        };
        let limits = Limits { max_body_bytes: *max_body, ..self.limits };
        let mut pos = 0;
        let done = decode_body(&self.buf, &mut pos, framing, body, &limits);
        self.buf.drain(..pos);
        if !done? {
            return Ok(None);
        }
        let State::Body { head, body, .. } = std::mem::replace(&mut self.state, State::Head) else {
            unreachable!("in the body state");
        };
        Ok(Some(Request { to: head.to, name: head.name, from: head.from, body, keep_alive: head.keep_alive }))
    }

    fn parse_head(&self) -> Result<Option<(Head, Framing, usize)>, RequestError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let max_headers = self.limits.max_headers.min(MAX_HEADERS);
        let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut request = httparse::Request::new(&mut fields[..max_headers]);
        let used = match request.parse(&self.buf) {
            Ok(httparse::Status::Complete(used)) => used,
            Ok(httparse::Status::Partial) => {
                return if self.buf.len() > self.limits.max_head_bytes {
                    Err(RequestError::HeadTooLarge(self.limits.max_head_bytes))
                } else {
                    Ok(None)
                };
            }
            Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooManyHeaders(max_headers)),
            Err(e) => return Err(RequestError::Head(e)),
        };
        if used > self.limits.max_head_bytes {
            return Err(RequestError::HeadTooLarge(self.limits.max_head_bytes));
        }
        let method = request.method.unwrap_or_default();
        if method != "POST" {
            return Err(RequestError::Method(method.chars().take(32).collect()));
        }
        let path = request.path.unwrap_or_default();
        let (to, name) = split_path(path).ok_or_else(|| RequestError::Path(path.chars().take(128).collect()))?;

        let mut keep_alive = request.version == Some(1);
        let mut from_header = None;
        let mut user_agent = None;
        let mut content_length: Option<usize> = None;
        let mut chunked = false;
        for field in request.headers.iter() {
            let value = field.value;
            if field.name.eq_ignore_ascii_case("libprocess-from") {
                from_header = Some(value);
            } else if field.name.eq_ignore_ascii_case("user-agent") {
                user_agent = Some(value);
            } else if field.name.eq_ignore_ascii_case("content-length") {
                let n = parse_decimal(value).ok_or(RequestError::ContentLength)?;
                if content_length.is_some_and(|old| old != n) {
                    return Err(RequestError::ContentLength);
                }
                content_length = Some(n);
            } else if field.name.eq_ignore_ascii_case("transfer-encoding") {
                if !trim(value).eq_ignore_ascii_case(b"chunked") || chunked {
                    return Err(RequestError::TransferEncoding);
                }
                chunked = true;
            } else if field.name.eq_ignore_ascii_case("connection") {
                for token in value.split(|&b| b == b',').map(trim) {
                    if token.eq_ignore_ascii_case(b"close") {
                        keep_alive = false;
                    } else if token.eq_ignore_ascii_case(b"keep-alive") {
                        keep_alive = true;
                    }
                }
            }
        }
        // libprocess reads Libprocess-From first, then the User-Agent.
        let from = match (from_header, user_agent.and_then(|ua| ua.strip_prefix(b"libprocess/"))) {
            (Some(value), _) | (None, Some(value)) => {
                let text = std::str::from_utf8(value).map_err(|_| RequestError::Sender(UpidError::MissingAt))?;
                text.parse::<Upid>().map_err(RequestError::Sender)?
            }
            (None, None) => return Err(RequestError::NoSender),
        };
        let framing = match (chunked, content_length) {
            (true, Some(_)) => return Err(RequestError::LengthAndChunked),
            (true, None) => Framing::ChunkSize,
            (false, Some(n)) if n > self.limits.max_body_bytes => {
                return Err(RequestError::BodyTooLarge(self.limits.max_body_bytes));
            }
            (false, n) => Framing::Length { remaining: n.unwrap_or(0) },
        };
        Ok(Some((Head { to, name, from, keep_alive }, framing, used)))
    }
}

/// Advances the body decoding over `buf[*pos..]`; true once the body is complete.
fn decode_body(
    buf: &[u8],
    pos: &mut usize,
    framing: &mut Framing,
    body: &mut Vec<u8>,
    limits: &Limits,
) -> Result<bool, RequestError> {
    loop {
        let rest = &buf[*pos..];
        match framing {
            Framing::Length { remaining } | Framing::ChunkData { remaining } => {
                let take = (*remaining).min(rest.len());
                body.extend_from_slice(&rest[..take]);
                *pos += take;
                *remaining -= take;
                if *remaining > 0 {
                    return Ok(false);
                }
                match framing {
                    Framing::Length { .. } => return Ok(true),
                    _ => *framing = Framing::ChunkEnd,
                }
            }
            Framing::ChunkSize => match httparse::parse_chunk_size(rest) {
                Ok(httparse::Status::Complete((used, size))) => {
                    *pos += used;
                    let size = usize::try_from(size).map_err(|_| RequestError::BodyTooLarge(limits.max_body_bytes))?;
                    if size > limits.max_body_bytes.saturating_sub(body.len()) {
                        return Err(RequestError::BodyTooLarge(limits.max_body_bytes));
                    }
                    *framing = if size == 0 {
                        Framing::Trailer { seen: 0, line: 0 }
                    } else {
                        Framing::ChunkData { remaining: size }
                    };
                }
                Ok(httparse::Status::Partial) if rest.len() <= MAX_CHUNK_SIZE_LINE => return Ok(false),
                Ok(httparse::Status::Partial) | Err(_) => return Err(RequestError::Chunk),
            },
            Framing::ChunkEnd => {
                if rest.len() < 2 {
                    return if rest.is_empty() || rest == b"\r" { Ok(false) } else { Err(RequestError::Chunk) };
                }
                if &rest[..2] != b"\r\n" {
                    return Err(RequestError::Chunk);
                }
                *pos += 2;
                *framing = Framing::ChunkSize;
            }
            Framing::Trailer { seen, line } => {
                // Trailer fields are read and ignored, a byte at a time (so a
                // trickled trailer costs linear time); they count against the
                // head limit. A line of only CR is the empty line.
                for (i, &byte) in rest.iter().enumerate() {
                    match byte {
                        b'\n' if *line == 0 => {
                            *pos += i + 1;
                            return Ok(true);
                        }
                        b'\n' => *line = 0,
                        b'\r' => {}
                        _ => *line += 1,
                    }
                    *seen += 1;
                    if *seen > limits.max_head_bytes {
                        return Err(RequestError::HeadTooLarge(limits.max_head_bytes));
                    }
                }
                *pos += rest.len();
                return Ok(false);
            }
        }
    }
}

/// `/{id}/{name}` into its parts; the id must be a valid process id and the name
/// non-empty.
fn split_path(path: &str) -> Option<(String, String)> {
    let (id, name) = path.strip_prefix('/')?.split_once('/')?;
    check_id(id).ok()?;
    valid_name(name).then(|| (id.to_owned(), name.to_owned()))
}

/// A message name: non-empty, bounded, no whitespace, control characters or `?`.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 1024
        && !name.chars().any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
}

fn trim(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

/// A non-negative decimal with at most 19 digits (no sign, no spaces inside).
fn parse_decimal(value: &[u8]) -> Option<usize> {
    let digits = trim(value);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The request libprocess writes for message `name` from `from` to `to`: the
/// header fields in libprocess's order, an empty `Host`, and a non-empty body as
/// one chunk (an empty one with neither `Transfer-Encoding` nor `Content-Length`),
/// byte for byte what Apache Mesos 1.11's libprocess writes.
///
/// `name` must satisfy the endpoint's name check (the endpoint checks it first).
pub fn encode_request(from: &Upid, to: &Upid, name: &str, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(
        format!(
            "POST /{}/{name} HTTP/1.1\r\nUser-Agent: libprocess/{from}\r\nLibprocess-From: {from}\r\n\
             Connection: Keep-Alive\r\nHost: \r\n",
            to.id()
        )
        .as_bytes(),
    );
    if body.is_empty() {
        out.extend_from_slice(b"\r\n");
    } else {
        out.extend_from_slice(format!("Transfer-Encoding: chunked\r\n\r\n{:x}\r\n", body.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\r\n0\r\n\r\n");
    }
    out
}

/// The answer with this status, sent at `now`: a `Date` header (as libprocess
/// sends it, and as HTTP/1.1 asks of a server with a clock), an empty body,
/// `Content-Length: 0`, and `Connection: close` when the connection ends after
/// it.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use libprocess::encode_response;
/// let answer = encode_response(202, false, UNIX_EPOCH + Duration::from_secs(1_796_221_313));
/// assert_eq!(answer, b"HTTP/1.1 202 Accepted\r\nDate: Wed, 02 Dec 2026 14:21:53 GMT\r\nContent-Length: 0\r\n\r\n");
/// ```
pub fn encode_response(status: u16, close: bool, now: std::time::SystemTime) -> Vec<u8> {
    let reason = match status {
        202 => "Accepted",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let connection = if close { "Connection: close\r\n" } else { "" };
    let date = httpdate::fmt_http_date(now);
    format!("HTTP/1.1 {status} {reason}\r\nDate: {date}\r\n{connection}Content-Length: 0\r\n\r\n").into_bytes()
}

/// One answer read back on an outbound connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ResponseHead {
    pub status: u16,
    /// Bytes of head plus body to drop from the buffer.
    pub len: usize,
    /// The connection cannot carry another message after this answer.
    pub close: bool,
}

/// The largest answer body skipped on an outbound connection (libprocess's are empty).
const MAX_RESPONSE_BODY: usize = 64 * 1024;

/// Parses one answer from `buf`: `Ok(None)` if incomplete, `Err(())` if it is
/// not a usable HTTP/1.1 answer.
pub(crate) fn parse_response(buf: &[u8], limits: &Limits) -> Result<Option<ResponseHead>, ()> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut fields);
    let used = match response.parse(buf) {
        Ok(httparse::Status::Complete(used)) if used <= limits.max_head_bytes => used,
        Ok(httparse::Status::Partial) if buf.len() <= limits.max_head_bytes => return Ok(None),
        _ => return Err(()),
    };
    let status = response.code.ok_or(())?;
    let mut close = response.version != Some(1);
    let mut length = 0;
    for field in response.headers.iter() {
        if field.name.eq_ignore_ascii_case("content-length") {
            length = parse_decimal(field.value).ok_or(())?;
        } else if field.name.eq_ignore_ascii_case("transfer-encoding") {
            // Never sent by libprocess for an answer; not worth decoding.
            return Err(());
        } else if field.name.eq_ignore_ascii_case("connection") {
            close |= field.value.split(|&b| b == b',').map(trim).any(|t| t.eq_ignore_ascii_case(b"close"));
        }
    }
    if length > MAX_RESPONSE_BODY {
        return Err(());
    }
    if buf.len() < used + length {
        return Ok(None);
    }
    Ok(Some(ResponseHead { status, len: used + length, close }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Message 1 of the capture, byte for byte.
    const AUTHENTICATE: &[u8] = b"POST /master/mesos.internal.AuthenticateMessage HTTP/1.1\r\n\
User-Agent: libprocess/crammd5-authenticatee(1)@127.0.0.1:47517\r\n\
Libprocess-From: crammd5-authenticatee(1)@127.0.0.1:47517\r\n\
Connection: Keep-Alive\r\n\
Host: \r\n\
Transfer-Encoding: chunked\r\n\
\r\n\
40\r\n\
\n>scheduler-a597f447-d218-4916-982f-9ce3c99aa1c8@127.0.0.1:47517\r\n\
0\r\n\
\r\n";

    /// Message 6 of the capture: an empty body, no length header at all.
    const COMPLETED: &[u8] =
        b"POST /crammd5-authenticatee(1)/mesos.internal.AuthenticationCompletedMessage HTTP/1.1\r\n\
User-Agent: libprocess/crammd5-authenticator-session(1)@127.0.0.1:37899\r\n\
Libprocess-From: crammd5-authenticator-session(1)@127.0.0.1:37899\r\n\
Connection: Keep-Alive\r\n\
Host: \r\n\
\r\n";

    fn decode_all(bytes: &[u8], step: usize) -> Result<Vec<Request>, RequestError> {
        let mut decoder = RequestDecoder::new(Limits::default());
        let mut out = Vec::new();
        for piece in bytes.chunks(step.max(1)) {
            decoder.push(piece);
            while let Some(request) = decoder.next_request()? {
                out.push(request);
            }
        }
        Ok(out)
    }

    #[test]
    fn encodes_exactly_what_libprocess_writes() {
        let from: Upid = "crammd5-authenticatee(1)@127.0.0.1:47517".parse().unwrap();
        let to: Upid = "master@127.0.0.1:37899".parse().unwrap();
        let body = b"\n>scheduler-a597f447-d218-4916-982f-9ce3c99aa1c8@127.0.0.1:47517";
        assert_eq!(encode_request(&from, &to, "mesos.internal.AuthenticateMessage", body), AUTHENTICATE);
        let from: Upid = "crammd5-authenticator-session(1)@127.0.0.1:37899".parse().unwrap();
        let to: Upid = "crammd5-authenticatee(1)@127.0.0.1:47517".parse().unwrap();
        assert_eq!(encode_request(&from, &to, "mesos.internal.AuthenticationCompletedMessage", b""), COMPLETED);
    }

    #[test]
    fn decodes_the_capture_in_any_split() {
        let mut stream = AUTHENTICATE.to_vec();
        stream.extend_from_slice(COMPLETED);
        for step in [1, 2, 3, 7, 64, stream.len()] {
            let requests = decode_all(&stream, step).unwrap();
            assert_eq!(requests.len(), 2, "step {step}");
            assert_eq!(requests[0].to, "master");
            assert_eq!(requests[0].name, "mesos.internal.AuthenticateMessage");
            assert_eq!(requests[0].from.to_string(), "crammd5-authenticatee(1)@127.0.0.1:47517");
            assert_eq!(requests[0].body.len(), 64);
            assert!(requests[0].keep_alive);
            assert_eq!(requests[1].to, "crammd5-authenticatee(1)");
            assert!(requests[1].body.is_empty());
        }
    }

    #[test]
    fn several_chunks_and_trailers() {
        let request = b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\n\
3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: y\r\n\r\n";
        let requests = decode_all(request, 5).unwrap();
        assert_eq!(requests[0].body, b"abcde");
    }

    #[test]
    fn a_destinations_body_limit_refuses_at_the_declared_length_or_the_chunk_size() {
        let limit = |to: &str| (to == "small").then_some(8);
        let declared = b"POST /small/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 9\r\n\r\n";
        let chunked = b"POST /small/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\n\
5\r\nabcde\r\n4\r\n";
        for head in [&declared[..], &chunked[..]] {
            let mut decoder = RequestDecoder::new(Limits::default());
            decoder.push(head);
            assert_eq!(decoder.next_request_limited(limit), Err(RequestError::BodyTooLarge(8)));
        }
        // Another destination, and a body within the limit, are taken.
        for request in [
            &b"POST /big/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 9\r\n\r\n123456789"[..],
            &b"POST /small/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 8\r\n\r\n12345678"[..],
        ] {
            let mut decoder = RequestDecoder::new(Limits::default());
            decoder.push(request);
            assert!(decoder.next_request_limited(limit).unwrap().is_some());
        }
        // The endpoint's own limit still holds when lower.
        let mut decoder = RequestDecoder::new(Limits { max_body_bytes: 4, ..Limits::default() });
        decoder.push(declared);
        assert_eq!(decoder.next_request_limited(limit), Err(RequestError::BodyTooLarge(4)));
    }

    #[test]
    fn refusals_are_typed() {
        let limits = Limits { max_head_bytes: 200, max_headers: 4, max_body_bytes: 10 };
        let cases: Vec<(Vec<u8>, RequestError)> = vec![
            (b"GET /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\n\r\n".to_vec(), RequestError::Method("GET".into())),
            (b"POST /p HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\n\r\n".to_vec(), RequestError::Path("/p".into())),
            (b"POST /p/m HTTP/1.1\r\nUser-Agent: curl/8\r\n\r\n".to_vec(), RequestError::NoSender),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: nobody\r\n\r\n".to_vec(),
                RequestError::Sender(UpidError::MissingAt),
            ),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 11\r\n\r\n".to_vec(),
                RequestError::BodyTooLarge(10),
            ),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\nb\r\n".to_vec(),
                RequestError::BodyTooLarge(10),
            ),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
                    .to_vec(),
                RequestError::LengthAndChunked,
            ),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nContent-Length: -1\r\n\r\n".to_vec(),
                RequestError::ContentLength,
            ),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: gzip\r\n\r\n".to_vec(),
                RequestError::TransferEncoding,
            ),
            (
                b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX".to_vec(),
                RequestError::Chunk,
            ),
            (b"POST /p/m HTTP/1.1\r\na: 1\r\nb: 1\r\nc: 1\r\nd: 1\r\ne: 1\r\n\r\n".to_vec(), RequestError::TooManyHeaders(4)),
            ([b"POST /p/m HTTP/1.1\r\nX: ".as_slice(), &[b'x'; 300]].concat(), RequestError::HeadTooLarge(200)),
            (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(), RequestError::Head(httparse::Error::Token)),
        ];
        for (bytes, want) in cases {
            let mut decoder = RequestDecoder::new(limits);
            decoder.push(&bytes);
            let got = decoder.next_request();
            assert_eq!(got, Err(want.clone()), "{:?}", String::from_utf8_lossy(&bytes));
            assert!(decoder.next_request().is_err(), "an error is final");
            assert!(want.status() >= 400);
        }
    }

    #[test]
    fn user_agent_alone_names_the_sender_and_content_length_frames() {
        let request = b"POST /p/m HTTP/1.1\r\nUser-Agent: libprocess/s(2)@127.0.0.1:9\r\nContent-Length: 3\r\n\r\nxyz";
        let requests = decode_all(request, 1).unwrap();
        assert_eq!(requests[0].from.to_string(), "s(2)@127.0.0.1:9");
        assert_eq!(requests[0].body, b"xyz");
    }

    #[test]
    fn connection_close_and_http_1_0() {
        let close = b"POST /p/m HTTP/1.1\r\nLibprocess-From: a@127.0.0.1:1\r\nConnection: close\r\n\r\n";
        assert!(!decode_all(close, 100).unwrap()[0].keep_alive);
        let old = b"POST /p/m HTTP/1.0\r\nLibprocess-From: a@127.0.0.1:1\r\n\r\n";
        assert!(!decode_all(old, 100).unwrap()[0].keep_alive);
        let old_kept = b"POST /p/m HTTP/1.0\r\nLibprocess-From: a@127.0.0.1:1\r\nConnection: Keep-Alive\r\n\r\n";
        assert!(decode_all(old_kept, 100).unwrap()[0].keep_alive);
    }

    #[test]
    fn responses() {
        // Byte for byte what a real libprocess answered at that second
        // (captured between two Apache Mesos 1.11 processes on loopback).
        let real = b"HTTP/1.1 202 Accepted\r\nDate: Wed, 02 Dec 2026 14:21:53 GMT\r\nContent-Length: 0\r\n\r\nHTTP/1.1";
        let then = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_221_313);
        assert_eq!(encode_response(202, false, then), real[..real.len() - 8]);
        let head = parse_response(real, &Limits::default()).unwrap().unwrap();
        assert_eq!(head, ResponseHead { status: 202, len: real.len() - 8, close: false });
        assert_eq!(parse_response(b"HTTP/1.1 404 Not", &Limits::default()), Ok(None));
        assert!(parse_response(b"garbage\r\n\r\n", &Limits::default()).is_err());
        let closing = encode_response(400, true, then);
        assert!(parse_response(&closing, &Limits::default()).unwrap().unwrap().close);
    }
}

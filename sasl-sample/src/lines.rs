//! The line protocol: each token travels as one line of standard base64.

use std::io::{self, BufRead, Read, Write};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::outcome::Failure;

/// The longest line accepted, terminator excluded. SASL tokens are small (a
/// Kerberos ticket is a few kilobytes); this bounds memory against a peer that
/// never sends a newline.
pub const MAX_LINE: usize = 64 * 1024;

/// Both directions of one exchange.
pub struct Lines<R, W> {
    reader: R,
    writer: W,
}

impl<R: BufRead, W: Write> Lines<R, W> {
    /// Wraps a reader and a writer.
    pub fn new(reader: R, writer: W) -> Self {
        Lines { reader, writer }
    }

    /// Reads one line without its `\n` (or `\r\n`). `None` at end of input. A last
    /// line without a newline still counts as a line.
    pub fn read_line(&mut self, what: &str) -> Result<Option<Vec<u8>>, Failure> {
        let mut line = Vec::new();
        let limit = MAX_LINE as u64 + 1;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .map_err(|e| Failure::Error(format!("reading the {what}: {}", describe(&e))))?;
        if read == 0 {
            return Ok(None);
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        } else if line.len() > MAX_LINE {
            return Err(Failure::Error(format!("the {what} is longer than {MAX_LINE} bytes")));
        }
        Ok(Some(line))
    }

    /// Reads one line and decodes it from base64. `None` at end of input.
    pub fn read_token(&mut self, what: &str) -> Result<Option<Vec<u8>>, Failure> {
        let Some(line) = self.read_line(what)? else { return Ok(None) };
        STANDARD.decode(&line).map(Some).map_err(|e| Failure::Error(format!("the {what} is not valid base64: {e}")))
    }

    /// Writes one line, as it is, and flushes it.
    pub fn write_line(&mut self, line: &[u8], what: &str) -> Result<(), Failure> {
        let written =
            self.writer.write_all(line).and_then(|()| self.writer.write_all(b"\n")).and_then(|()| self.writer.flush());
        written.map_err(|e| Failure::Error(format!("sending the {what}: {}", describe(&e))))
    }

    /// Writes `token` as one base64 line (an empty line for no bytes) and flushes it.
    pub fn write_token(&mut self, token: &[u8], what: &str) -> Result<(), Failure> {
        self.write_line(STANDARD.encode(token).as_bytes(), what)
    }
}

/// An I/O error in words an operator can act on.
fn describe(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "the peer stayed silent too long".into(),
        _ => e.to_string(),
    }
}

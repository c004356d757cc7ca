//! TCP details both sides share: timeouts and an orderly close.

use std::io::Read;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use crate::outcome::Failure;

/// Applies the `--timeout` (0: none) and returns a second handle for reading.
pub fn prepare(stream: &TcpStream, timeout_secs: u64) -> Result<TcpStream, Failure> {
    let timeout = (timeout_secs > 0).then(|| Duration::from_secs(timeout_secs));
    let set = stream
        .set_read_timeout(timeout)
        .and_then(|()| stream.set_write_timeout(timeout))
        .and_then(|()| stream.try_clone());
    set.map_err(|e| Failure::Error(format!("setting up the connection: {e}")))
}

/// Ends the exchange: sends end-of-stream, then reads and discards what the peer
/// still sends for up to a second. Closing a socket with unread input makes the
/// kernel reset the connection, and a reset can destroy the last line before the
/// peer has read it.
pub fn close_gracefully(stream: &TcpStream) {
    let _ = stream.shutdown(Shutdown::Write);
    let deadline = Instant::now() + Duration::from_secs(1);
    let mut sink = [0u8; 4096];
    let mut reader = stream;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || reader.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match reader.read(&mut sink) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

//! What the other modules share: the log target.

/// The `log` target of this crate's lines.
pub const LOG_TARGET: &str = "libprocess";

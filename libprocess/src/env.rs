//! What the other modules share: the log target, and the error for a
//! `LIBPROCESS_*` variable that holds no valid value.

/// The `log` target of this crate's lines.
pub const LOG_TARGET: &str = "libprocess";

/// An environment variable that holds no valid value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{var}={value:?} is not {expected}")]
pub struct EnvError {
    /// The variable, e.g. `LIBPROCESS_PORT`.
    pub var: &'static str,
    /// Its value (at most 64 characters of it).
    pub value: String,
    /// What it should be.
    pub expected: &'static str,
}

impl EnvError {
    pub(crate) fn new(var: &'static str, value: &str, expected: &'static str) -> Self {
        EnvError { var, value: value.chars().take(64).collect(), expected }
    }
}

//! Where a client's password or secret comes from: a file, or the
//! environment, never the command line.

use std::os::unix::ffi::OsStringExt;
use std::path::Path;

use cyrus_sasl::Secret;

use crate::outcome::Failure;

/// The environment variable the password is read from without --password-file.
pub const PASSWORD_VAR: &str = "SASL_PASSWORD";

/// The password from `file` (one trailing newline stripped), else from
/// [`PASSWORD_VAR`], else none.
pub fn read_password(file: Option<&Path>) -> Result<Option<Secret>, Failure> {
    if let Some(path) = file {
        let mut bytes = std::fs::read(path)
            .map_err(|e| Failure::Error(format!("cannot read the password file {}: {e}", path.display())))?;
        if bytes.last() == Some(&b'\n') {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        return Ok(Some(Secret::new(bytes)));
    }
    Ok(std::env::var_os(PASSWORD_VAR).map(|value| Secret::new(value.into_vec())))
}

//! Reading ACL files, their errors, and [`AclFile`], which reloads them.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::acls::{Acls, LOG_TARGET, RawAcls};

/// The largest ACL file read: 1 MiB. A rule takes about 100 bytes, so this is
/// room for some 10,000; anything bigger is a mistake (a wrong path, a device,
/// a generated file gone wrong), refused before it is read.
pub const MAX_ACLS_FILE_SIZE: u64 = 1 << 20;

/// An ACL file that could not be used. `Display` gives `FILE:LINE:COLUMN:
/// FIELD: what is wrong`, e.g.
/// `acls.json:4:28: register_frameworks[0].roles: an empty "values" list matches nothing ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclsError {
    /// The file, when the ACLs came from one.
    pub path: Option<PathBuf>,
    /// The 1-based line of the problem (0: the file as a whole).
    pub line: usize,
    /// The 1-based column of the problem (0: the file as a whole).
    pub column: usize,
    /// The path of the field, e.g. `register_frameworks[0].principals` (empty:
    /// the top level or the file as a whole).
    pub field: String,
    /// What is wrong.
    pub kind: AclsErrorKind,
}

/// What is wrong with an ACL file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AclsErrorKind {
    /// The file could not be opened or read.
    Io(std::io::ErrorKind, String),
    /// The file is larger than [`MAX_ACLS_FILE_SIZE`].
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// Not JSON, or JSON that is not Mesos's ACLs: a syntax error, an unknown
    /// or unsupported action, a wrong type, a duplicate key, a missing entity,
    /// an empty principal list ... serde_json's or this crate's message.
    Invalid(String),
}

impl fmt::Display for AclsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(path) => write!(f, "ACL file '{}'", path.display())?,
            None => f.write_str("ACLs")?,
        }
        if self.line > 0 {
            write!(f, ", line {} column {}", self.line, self.column)?;
        }
        if !self.field.is_empty() {
            write!(f, ", field {}", self.field)?;
        }
        match &self.kind {
            AclsErrorKind::Io(_, message) => write!(f, ": {message}"),
            AclsErrorKind::TooLarge { limit } => write!(f, ": larger than the limit of {limit} bytes"),
            AclsErrorKind::Invalid(message) => write!(f, ": {message}"),
        }
    }
}

impl std::error::Error for AclsError {}

/// Parses the JSON of an ACL file (no file name in errors).
pub(super) fn parse(bytes: &[u8]) -> Result<Acls, AclsError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let raw: RawAcls = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        // serde_path_to_error names the top level ".".
        let field = match e.path().to_string() {
            top if top == "." => String::new(),
            field => field,
        };
        json_error(e.into_inner(), field)
    })?;
    // Nothing but white space may follow the object.
    deserializer.end().map_err(|e| json_error(e, String::new()))?;
    Ok(Acls::from(raw))
}

fn json_error(inner: serde_json::Error, field: String) -> AclsError {
    // serde_json appends " at line L column C"; the error has fields for that.
    let message = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
    AclsError { path: None, line: inner.line(), column: inner.column(), field, kind: AclsErrorKind::Invalid(message) }
}

/// Reads and parses an ACL file; `path` may start with `file://` as Mesos's
/// `--acls` flag allows. At most [`MAX_ACLS_FILE_SIZE`] bytes are read.
pub fn read_acls(path: impl AsRef<Path>) -> Result<Acls, AclsError> {
    let path = path.as_ref();
    let path = path.to_str().and_then(|p| p.strip_prefix("file://")).map_or(path, Path::new);
    let error = |kind| AclsError { path: Some(path.to_owned()), line: 0, column: 0, field: String::new(), kind };
    let io = |e: std::io::Error| error(AclsErrorKind::Io(e.kind(), e.to_string()));
    let file = File::open(path).map_err(io)?;
    // Cap the read itself, not only the size the metadata claims (a FIFO or a
    // file that grows while it is read).
    let mut bytes = Vec::new();
    file.take(MAX_ACLS_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_ACLS_FILE_SIZE {
        return Err(error(AclsErrorKind::TooLarge { limit: MAX_ACLS_FILE_SIZE }));
    }
    parse(&bytes).map_err(|mut e| {
        e.path = Some(path.to_owned());
        e
    })
}

/// An ACL file in force, reloadable while decisions are being made.
///
/// [`current`](AclFile::current) hands out the ACLs in force; [`reload`](AclFile::reload)
/// reads the file again and swaps the new ACLs in atomically. A decision made
/// during a reload sees the old ACLs or the new ones, never a mix; a file that
/// fails to read or parse leaves the previous ACLs in force.
#[derive(Debug)]
pub struct AclFile {
    path: PathBuf,
    current: ArcSwap<Acls>,
}

impl AclFile {
    /// Reads the ACLs in `path` (see [`read_acls`]).
    pub fn load(path: impl AsRef<Path>) -> Result<AclFile, AclsError> {
        let path = path.as_ref().to_owned();
        let acls = read_acls(&path)?;
        Ok(AclFile { path, current: ArcSwap::from_pointee(acls) })
    }

    /// The ACLs in force.
    pub fn current(&self) -> Arc<Acls> {
        self.current.load_full()
    }

    /// The file this reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again. On success the new ACLs are in force from the
    /// next [`current`](AclFile::current) on; on error the previous ones stay in
    /// force, the error is logged and returned.
    pub fn reload(&self) -> Result<Arc<Acls>, AclsError> {
        match read_acls(&self.path) {
            Ok(acls) => {
                let acls = Arc::new(acls);
                self.current.store(Arc::clone(&acls));
                log::info!(target: LOG_TARGET, "reloaded ACLs from '{}'", self.path.display());
                Ok(acls)
            }
            Err(e) => {
                log::warn!(target: LOG_TARGET, "{e}; the previous ACLs stay in force");
                Err(e)
            }
        }
    }
}

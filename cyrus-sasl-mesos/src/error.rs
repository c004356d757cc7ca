//! The crate's errors: [`Error`] for loading a master's setup, and
//! [`FileError`], the one error for a file that could not be used (a
//! credentials file, an ACL file), naming where in it the problem is.

use std::fmt;
use std::io;
use std::path::PathBuf;

use cyrus_sasl::ConfigError;

/// Why a master's setup could not be loaded ([`MasterConfig`](crate::MasterConfig),
/// its credentials and ACL files). Never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The master config file itself.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file the config names (credentials, ACLs).
    #[error(transparent)]
    File(#[from] FileError),
    /// The credentials file parsed, but the credential store refused it.
    #[error("the credential store refused the credentials; fix the credentials file")]
    Store(#[source] cyrus_sasl::Error),
    /// `credentials` was given together with a key selecting another store.
    #[error("'credentials' (an in-memory store) conflicts with '{key}': keep one credential source")]
    Conflict {
        /// The other key.
        key: &'static str,
    },
    /// `sasldb_path` names no file.
    #[error("sasldb_path '{}' does not exist: create it with saslpasswd2 -f PATH", .0.display())]
    MissingSasldb(PathBuf),
    /// `mech_list` is present but names no mechanism.
    #[error("mech_list names no mechanism: name one (CRAM-MD5 is Mesos's) or remove the key")]
    EmptyMechList,
    /// [`MasterConfig::reload_credentials`](crate::MasterConfig::reload_credentials)
    /// on a config without a credentials file.
    #[error("this master has no credentials file to reload: its secrets come from elsewhere")]
    NoCredentialsFile,
    /// `channel_binding` is not `off`, `prefer` or `require`.
    #[error(transparent)]
    ChannelBinding(#[from] crate::UnknownChannelBindingPolicy),
    /// `external_principal` is not `common_name` or `dns_name`.
    #[error("unknown external_principal {0:?}: write common_name or dns_name")]
    ExternalPrincipal(String),
    /// The `zk` key is not an address.
    #[error("{key}: {source}")]
    ZooKeeper {
        /// The key (`zk` or `zookeeper`).
        key: &'static str,
        /// What is wrong with the address (never its password).
        #[source]
        source: crate::zookeeper::AddressError,
    },
    /// The `zk` key is an address, but not a ZooKeeper one.
    #[error("{key}: {address} is not a zk:// address: a master contends in ZooKeeper")]
    NotZooKeeper {
        /// The key (`zk` or `zookeeper`).
        key: &'static str,
        /// The address given.
        address: String,
    },
    /// `zk_session_timeout` is not a duration.
    #[error("zk_session_timeout {0:?} is not a duration between 1ms and 1 hour (write e.g. 10secs)")]
    ZkSessionTimeout(String),
    /// A limit key of a master config (`max_sessions`, ...) that is not a
    /// whole number from 1 to 10,000,000.
    #[error("{key} {value:?} is not a whole number from 1 to 10000000 (write e.g. {key}: 64)")]
    Limit {
        /// The key.
        key: &'static str,
        /// Its value's first 64 characters.
        value: String,
    },
    /// A credentials path that is not UTF-8 (config values are text).
    #[error("path {0:?} is not UTF-8: config values are text, rename the file")]
    NonUtf8Path(PathBuf),
}

/// A file that could not be used, and where in it: `Display` gives
/// `FILE, line L column C: what is wrong`, and what to do about it. An I/O
/// failure keeps its [`io::Error`] as the [`source`](std::error::Error::source).
///
/// Never holds a secret: a credentials file's errors name principals and
/// lines, never a secret or the text of a line.
#[derive(Debug)]
pub struct FileError {
    /// The file, when the text came from one (`None` for text parsed from memory).
    pub path: Option<PathBuf>,
    /// The 1-based line of the problem (0: the file as a whole).
    pub line: usize,
    /// The 1-based column of the problem (0: not known, or the file as a whole).
    pub column: usize,
    /// What is wrong.
    pub kind: FileErrorKind,
}

/// What is wrong with a file ([`FileError::kind`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum FileErrorKind {
    /// The file could not be opened or read (the error is the source).
    Io(io::Error),
    /// The file is larger than `limit` bytes, and was not read.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A credentials file's content is wrong.
    Credentials(CredentialsProblem),
    /// An ACL file's content is wrong.
    Acls(AclsProblem),
}

impl FileError {
    pub(crate) fn new(path: Option<PathBuf>, kind: FileErrorKind) -> Self {
        FileError { path, line: 0, column: 0, kind }
    }

    pub(crate) fn at(line: usize, column: usize, kind: FileErrorKind) -> Self {
        FileError { path: None, line, column, kind }
    }

    pub(crate) fn in_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The credentials problem, if this is one.
    pub fn credentials_problem(&self) -> Option<&CredentialsProblem> {
        match &self.kind {
            FileErrorKind::Credentials(problem) => Some(problem),
            _ => None,
        }
    }

    /// The ACL problem, if this is one.
    pub fn acls_problem(&self) -> Option<&AclsProblem> {
        match &self.kind {
            FileErrorKind::Acls(problem) => Some(problem),
            _ => None,
        }
    }

    /// The kind of the I/O failure, if this is one.
    pub fn io_kind(&self) -> Option<io::ErrorKind> {
        match &self.kind {
            FileErrorKind::Io(e) => Some(e.kind()),
            _ => None,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.kind {
            FileErrorKind::Credentials(_) => "credentials file",
            FileErrorKind::Acls(_) => "ACL file",
            FileErrorKind::Io(_) | FileErrorKind::TooLarge { .. } => "file",
        };
        match &self.path {
            Some(path) => write!(f, "{what} '{}'", path.display())?,
            None => write!(f, "{what} text")?,
        }
        match (self.line, self.column) {
            (0, _) => {}
            (line, 0) => write!(f, ", line {line}")?,
            (line, column) => write!(f, ", line {line} column {column}")?,
        }
        match &self.kind {
            FileErrorKind::Io(_) => f.write_str(": cannot read it; check the path and its permissions"),
            FileErrorKind::TooLarge { limit } => {
                write!(f, ": larger than {limit} bytes, the most read; is this the right file?")
            }
            FileErrorKind::Credentials(problem) => write!(f, ": {problem}"),
            FileErrorKind::Acls(problem) => write!(f, ": {problem}"),
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            FileErrorKind::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// What is wrong with the content of an ACL file: the field it is in (e.g.
/// `register_frameworks[0].roles`; empty for the top level) and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclsProblem {
    /// The path of the field, e.g. `register_frameworks[0].principals`.
    pub field: String,
    /// What is wrong: serde_json's message or this crate's.
    pub message: String,
}

impl fmt::Display for AclsProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.field.is_empty() {
            write!(f, "field {}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// What is wrong with the content of a credentials file. Never holds a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsProblem {
    /// The file is not UTF-8 text (the line is where the first bad byte is).
    #[error("not UTF-8 text; is this a binary file?")]
    NotUtf8,
    /// A control character other than tab, CR or LF (in a principal, or anywhere
    /// in the file).
    #[error("a control character; is this a binary file?")]
    ControlCharacter,
    /// The JSON does not parse.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// A JSON value of the wrong type.
    #[error("expected {expected}, found {found}")]
    WrongType {
        /// What belongs there.
        expected: &'static str,
        /// The kind of value found (never the value).
        found: &'static str,
    },
    /// A JSON key other than `credentials`, `principal`, `secret`.
    #[error("unknown field {0:?}: the file holds \"credentials\", each credential \"principal\" and \"secret\"")]
    UnknownField(String),
    /// A JSON key given twice in one object.
    #[error("field \"{0}\" appears twice in one object; remove one")]
    DuplicateField(&'static str),
    /// A JSON credential without `principal`.
    #[error("a credential without a \"principal\"; add one")]
    MissingPrincipal,
    /// An empty principal.
    #[error("an empty principal; name it")]
    EmptyPrincipal,
    /// A JSON credential without `secret`.
    #[error("principal {principal:?} has no \"secret\"; add one")]
    MissingSecret {
        /// Whose.
        principal: String,
    },
    /// An empty secret.
    #[error("principal {principal:?} has an empty secret; give it one")]
    EmptySecret {
        /// Whose.
        principal: String,
    },
    /// A secret containing a NUL byte.
    #[error("the secret of principal {principal:?} contains a NUL character, which libsasl2 cannot take")]
    NulInSecret {
        /// Whose.
        principal: String,
    },
    /// A JSON secret that is not a string, or holds an invalid `\u` escape.
    #[error("the secret of principal {principal:?} {problem}")]
    BadSecret {
        /// Whose.
        principal: String,
        /// What is wrong with it.
        problem: SecretProblem,
    },
    /// A principal listed twice.
    #[error("principal {principal:?} is listed twice{}; keep one", first_line.map(|l| format!(" (first on line {l})")).unwrap_or_default())]
    DuplicatePrincipal {
        /// Which.
        principal: String,
        /// The line of its first entry, in the text format.
        first_line: Option<usize>,
    },
    /// A `--credential` file ([`read_credential`](crate::read_credential))
    /// that does not hold exactly one credential.
    #[error("expected exactly one credential, \"principal secret\", found {found}")]
    NotOneCredential {
        /// How many it holds.
        found: usize,
    },
    /// A text line without exactly two fields.
    #[error("expected two fields, \"principal secret\", found {found}")]
    FieldCount {
        /// How many whitespace-separated fields the line has.
        found: usize,
    },
}

/// What is wrong with a JSON secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretProblem {
    /// Not a JSON string (a number, null, ...).
    #[error("is not a JSON string; quote it")]
    NotAString,
    /// A `\u` escape that is no character (a lone surrogate).
    #[error("holds an invalid \\u escape")]
    BadEscape,
}

/// The master offers none of the mechanisms this client allows: no attempt
/// can succeed until one side changes, so [`AuthenticationRetry`](crate::AuthenticationRetry)
/// stops at the first one (unless [`ClientOptions::retry_on_mechanism_mismatch`](crate::ClientOptions::retry_on_mechanism_mismatch)).
///
/// `Display` names both lists, e.g. `master offers [GSSAPI]; this client
/// allows [CRAM-MD5]`, the master's names escaped (they are the peer's text)
/// and at most [`MechanismMismatch::SHOWN`] of them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("master offers [{}]; this client allows [{}]: allow one of the master's mechanisms, or have the master offer one of these", List(.offered), List(.allowed))]
pub struct MechanismMismatch {
    /// What the master offered, as it sent them.
    pub offered: Vec<String>,
    /// What this client allows ([`ClientOptions::mechanisms`](crate::ClientOptions::mechanisms)).
    pub allowed: Vec<String>,
}

impl MechanismMismatch {
    /// How many names of each list `Display` shows (the rest are counted).
    pub const SHOWN: usize = 16;
}

/// A list of mechanism names for a message: comma-separated, each escaped,
/// at most [`MechanismMismatch::SHOWN`].
struct List<'a>(&'a [String]);

impl fmt::Display for List<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, name) in self.0.iter().take(MechanismMismatch::SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            // At most 64 characters of a name, control characters escaped.
            let shown: String = name.chars().take(64).collect();
            write!(f, "{}", shown.escape_debug())?;
            if shown.len() < name.len() {
                f.write_str("...")?;
            }
        }
        if self.0.len() > MechanismMismatch::SHOWN {
            write!(f, ", ... ({} more)", self.0.len() - MechanismMismatch::SHOWN)?;
        }
        Ok(())
    }
}

/// Why the last attempt of an [`authenticate`](crate::authenticate) ended
/// without a verdict: what [`NoVerdict::Timeout`](crate::NoVerdict::Timeout)
/// carries as its [`source`](std::error::Error::source), so that a program
/// without a logger sees why (the retry log lines say the same for every
/// attempt). `Display` names the attempt; the reason is this error's own
/// `source()`, printed once when the chain is printed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttemptFailure {
    /// A message of the attempt could not be delivered to the master: a
    /// refused connection, a `404`, or the other side of TLS (a plaintext
    /// client of a TLS master gets [`SendError::TlsRequired`](libprocess::SendError::TlsRequired),
    /// which names `LIBPROCESS_SSL_ENABLED`).
    #[error("attempt {attempt} could not deliver its message")]
    Undelivered {
        /// Which attempt (1, 2, ...).
        attempt: u32,
        /// Why.
        #[source]
        error: libprocess::SendError,
    },
    /// The attempt's exchange ended without a verdict: an error the master
    /// reported, a SASL error on this side, or its timeout
    /// ([`ExchangeError::Discarded`](crate::ExchangeError::Discarded)).
    #[error("attempt {attempt} failed")]
    Exchange {
        /// Which attempt (1, 2, ...).
        attempt: u32,
        /// Why.
        #[source]
        error: crate::ExchangeError,
    },
}

impl AttemptFailure {
    /// The attempt that failed.
    pub fn attempt(&self) -> u32 {
        match self {
            AttemptFailure::Undelivered { attempt, .. } | AttemptFailure::Exchange { attempt, .. } => *attempt,
        }
    }
}

/// An error and its causes, `: `-separated, for a log line.
pub(crate) struct Chain<'a>(pub(crate) &'a (dyn std::error::Error + 'static));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn an_io_failure_is_the_source_and_is_not_repeated_in_the_message() {
        let e = FileError::new(
            Some("/etc/creds".into()),
            FileErrorKind::Io(io::Error::new(io::ErrorKind::NotFound, "no such thing")),
        );
        assert!(!e.to_string().contains("no such thing"), "{e}");
        assert_eq!(e.source().unwrap().to_string(), "no such thing");
        assert_eq!(e.io_kind(), Some(io::ErrorKind::NotFound));
    }

    #[test]
    fn a_mechanism_mismatch_names_both_lists_and_escapes_the_masters() {
        let e = MechanismMismatch { offered: vec!["GSSAPI".into()], allowed: vec!["CRAM-MD5".into()] };
        assert!(e.to_string().starts_with("master offers [GSSAPI]; this client allows [CRAM-MD5]"), "{e}");
        let e = MechanismMismatch {
            offered: vec!["A\nB\u{1b}".into(), "x".repeat(100)],
            allowed: vec!["SCRAM-SHA-256".into(), "CRAM-MD5".into()],
        };
        let shown = e.to_string();
        assert!(shown.starts_with("master offers [A\\nB\\u{1b}, "), "{shown}");
        assert!(shown.contains(&format!("{}...]", "x".repeat(64))), "{shown}");
        assert!(shown.contains("this client allows [SCRAM-SHA-256, CRAM-MD5]"), "{shown}");
        let many = MechanismMismatch { offered: vec!["M".into(); 20], allowed: vec![] };
        assert!(many.to_string().contains(", ... (4 more)]"), "{many}");
    }

    #[test]
    fn the_location_names_file_line_and_column() {
        let problem = AclsProblem { field: "register_agents".into(), message: "bad".into() };
        let e = FileError::at(4, 28, FileErrorKind::Acls(problem)).in_file("acls.json");
        assert_eq!(e.to_string(), "ACL file 'acls.json', line 4 column 28: field register_agents: bad");
        let e = FileError::at(2, 0, FileErrorKind::Credentials(CredentialsProblem::EmptyPrincipal));
        assert_eq!(e.to_string(), "credentials file text, line 2: an empty principal; name it");
    }
}

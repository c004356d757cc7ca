//! Mesos credentials files: the master's list ([`read_credentials`]) and a
//! framework's or agent's own credential ([`read_credential`]).

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use zeroize::{Zeroize, Zeroizing};

use crate::Warning;
use crate::authenticatee::Credential;
use crate::error::{CredentialsProblem, FileError, FileErrorKind, SecretProblem};
use cyrus_sasl::{CredentialStore, Secret};

/// The largest credentials file read: 1 MiB. A credential takes about 50 bytes,
/// so this is room for some 20,000; anything bigger is a mistake (a wrong path, a
/// device) rather than a credentials file.
pub const MAX_CREDENTIALS_FILE_SIZE: u64 = 1 << 20;

/// Reads a credentials file: the master's list of every principal it accepts, in
/// Mesos's JSON format or the legacy text format.
///
/// ```text
/// {"credentials": [{"principal": "framework-a", "secret": "s3cret"},
///                  {"principal": "agent", "secret": "another"}]}
/// ```
///
/// ```text
/// framework-a s3cret
/// agent another
/// ```
///
/// What Mesos does (`src/credentials/credentials.hpp`) and what this reader does:
///
/// | | Mesos | here |
/// |---|---|---|
/// | empty file | no credentials: every attempt refused | the same, with a warning |
/// | JSON or text | JSON if the file parses as a JSON object *and* as a `Credentials` protobuf, else text (Mesos 0.29 to 1.10; 1.11 dropped text) | JSON if the first non-blank character is `{`, else text |
/// | permissions | warning if others have any of `rwx` | the same |
/// | text fields | split on single spaces; blank lines skipped | split on any ASCII whitespace (so tabs and a CRLF line end work); blank lines skipped |
/// | duplicate principal | the last one wins, silently | an error |
/// | missing or empty secret | loaded as an empty secret | an error |
///
/// Mesos falls back to text whenever the JSON does not parse, so a typo in a
/// pretty-printed JSON file turns lines like `"secret": "s3cret",` into bogus
/// two-field credentials. Here a file that starts with `{` is JSON, and a JSON
/// mistake is reported as one, with its line.
///
/// More checks: the file must be UTF-8 text without control characters (other
/// than tab, CR and LF), and at most [`MAX_CREDENTIALS_FILE_SIZE`] bytes (1 MiB,
/// about 20,000 credentials); a JSON file may hold only the keys `credentials`,
/// `principal` and `secret`; a principal must be non-empty and free of control
/// characters; a secret must not contain a NUL byte (C strings end there). Every
/// error names the file and the line.
///
/// Secrets go straight into [`Secret`]s: the file is read into a buffer that is
/// wiped when dropped, and a JSON secret is taken as raw JSON text and unescaped
/// into wiped memory here, because serde_json would unescape it in a scratch
/// buffer of its own and free that without wiping. No secret is ever logged or
/// put into an error: type errors say what kind of value was found, never its text.
///
/// `path` may start with `file://`, as Mesos's flags allow. Logs a warning (`log`
/// target `cyrus_sasl_mesos::credentials_file`) when others may read, write or
/// execute the file, and when it holds no credentials (every authentication
/// attempt will then be rejected).
///
/// Each [`Credential`] read has a secret. [`credential_store`] puts them into
/// an in-memory credential store for the master's SASL servers.
///
/// ```
/// use cyrus_sasl_mesos::read_credentials;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("credentials.json");
/// std::fs::write(&path, r#"{"credentials": [{"principal": "framework-a", "secret": "s3cret"}]}"#)?;
/// let credentials = read_credentials(format!("file://{}", path.display()))?;
/// assert_eq!(credentials.len(), 1);
/// assert_eq!(credentials[0].principal, "framework-a");
/// assert_eq!(credentials[0].secret.as_ref().unwrap().expose(), b"s3cret");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_credentials(path: impl AsRef<Path>) -> Result<Vec<Credential>, FileError> {
    read_credentials_warned(path.as_ref()).map(|(credentials, _)| credentials)
}

/// An in-memory credential store holding `credentials` (those with a
/// secret; a credential without one cannot log in with a secret anyway).
/// Fails on a principal listed twice.
pub fn credential_store(credentials: Vec<Credential>) -> Result<CredentialStore, cyrus_sasl::Error> {
    CredentialStore::from_credentials(store_entries(credentials))
}

/// The `(principal, secret)` entries a [`CredentialStore`] takes.
pub(crate) fn store_entries(credentials: Vec<Credential>) -> impl Iterator<Item = (String, Secret)> {
    credentials.into_iter().filter_map(|c| Some((c.principal, c.secret?)))
}

/// Principals and their secrets.
type Credentials = Vec<Credential>;

/// [`read_credentials`], also returning its warnings (a file open to others,
/// a file with no credentials), each logged too.
pub(crate) fn read_credentials_warned(path: &Path) -> Result<(Credentials, Vec<Warning>), FileError> {
    let (path, bytes, mut warnings) = read_file(path)?;
    let credentials = parse_credentials(&bytes).map_err(|e| e.in_file(&path))?;
    if credentials.is_empty() {
        let warning = Warning::EmptyCredentialsFile { path: path.clone() };
        log::warn!("{warning}");
        warnings.push(warning);
    } else {
        log::info!("loaded {} credentials from '{}'", credentials.len(), path.display());
    }
    Ok((credentials, warnings))
}

/// Reads the credential of a framework or agent: the file Mesos's
/// `--credential` flag takes (singular; [`read_credentials`] reads the master's
/// list). Either one JSON object, Mesos's `Credential` protobuf in JSON, or the
/// legacy text, one line `principal secret`:
///
/// ```text
/// {"principal": "framework-a", "secret": "s3cret"}
/// ```
///
/// ```text
/// framework-a s3cret
/// ```
///
/// The same care as [`read_credentials`]: `file://` allowed, at most
/// [`MAX_CREDENTIALS_FILE_SIZE`] bytes read into memory wiped on drop, the secret
/// unescaped into wiped memory, a warning when others may read the file, errors
/// naming file and line but never holding the secret. The file must hold exactly
/// one credential (blank lines aside), with a non-empty secret, and only the keys
/// `principal` and `secret`; the format is chosen by the first non-blank
/// character, `{` for JSON (Mesos tries JSON first and falls back to text).
///
/// ```
/// use cyrus_sasl_mesos::read_credential;
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("credential.json");
/// std::fs::write(&path, r#"{"principal": "framework-a", "secret": "s3cret"}"#)?;
/// let credential = read_credential(&path)?;
/// assert_eq!(credential.principal, "framework-a");
/// assert_eq!(credential.secret.unwrap().expose(), b"s3cret");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_credential(path: impl AsRef<Path>) -> Result<Credential, FileError> {
    let (path, bytes, _warnings) = read_file(path.as_ref())?;
    parse_credential(&bytes).map_err(|e| e.in_file(path))
}

/// Parses the contents of a `--credential` file (see [`read_credential`]). The
/// error names the line but no file.
pub fn parse_credential(bytes: &[u8]) -> Result<Credential, FileError> {
    let error = |line, problem| FileError::at(line, 0, FileErrorKind::Credentials(problem));
    let text = checked_text(bytes)?;
    let (principal, secret) = if text.trim_start().starts_with('{') {
        parse_json_with(text, |stash, de| CredentialVisitor { stash }.deserialize(de)).map_err(|(l, k)| error(l, k))?
    } else {
        let mut credentials = parse_text(text).map_err(|(l, k)| error(l, k))?;
        if credentials.len() != 1 {
            let found = credentials.len();
            return Err(error(0, CredentialsProblem::NotOneCredential { found }));
        }
        credentials.remove(0)
    };
    Ok(Credential { principal, secret: Some(secret) })
}

/// Opens `path` (`file://` allowed), warns if others may use it, and reads it
/// into wiped memory; returns the path without `file://`.
/// A file's path (without `file://`), its bytes, and its warnings.
type ReadFile = (PathBuf, Zeroizing<Vec<u8>>, Vec<Warning>);

fn read_file(path: &Path) -> Result<ReadFile, FileError> {
    let path = path.to_str().and_then(|p| p.strip_prefix("file://")).map_or(path, Path::new);
    let error = |kind| FileError::new(Some(path.to_owned()), kind);
    let io = |e: std::io::Error| error(FileErrorKind::Io(e));

    let mut file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    let warnings = warn_if_open_to_others(path, &meta).into_iter().collect();
    let bytes = read_capped(&mut file, meta.len())
        .map_err(io)?
        .ok_or_else(|| error(FileErrorKind::TooLarge { limit: MAX_CREDENTIALS_FILE_SIZE }))?;
    Ok((path.to_owned(), bytes, warnings))
}

/// Parses the contents of a credentials file (see [`read_credentials`]). The
/// error names the line but no file.
pub fn parse_credentials(bytes: &[u8]) -> Result<Vec<Credential>, FileError> {
    let error = |line, problem| FileError::at(line, 0, FileErrorKind::Credentials(problem));
    let text = checked_text(bytes)?;
    let parsed = if text.trim_start().starts_with('{') {
        parse_json_with(text, |stash, de| FileVisitor { stash }.deserialize(de))
    } else {
        parse_text(text)
    };
    parsed
        .map(|list| {
            list.into_iter().map(|(principal, secret)| Credential { principal, secret: Some(secret) }).collect()
        })
        .map_err(|(line, kind)| error(line, kind))
}

/// The file as UTF-8 text without a byte-order mark, free of control
/// characters other than tab, CR and LF.
fn checked_text(bytes: &[u8]) -> Result<&str, FileError> {
    let error = |line, problem| FileError::at(line, 0, FileErrorKind::Credentials(problem));
    let text =
        std::str::from_utf8(bytes).map_err(|e| error(line_of(bytes, e.valid_up_to()), CredentialsProblem::NotUtf8))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if let Some(at) = text.find(|c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err(error(line_of(text.as_bytes(), at), CredentialsProblem::ControlCharacter));
    }
    Ok(text)
}

/// The 1-based line holding byte `offset`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

#[cfg(unix)]
fn warn_if_open_to_others(path: &Path, meta: &std::fs::Metadata) -> Option<Warning> {
    use std::os::unix::fs::PermissionsExt;
    let mode = meta.permissions().mode();
    if mode & 0o007 == 0 {
        return None;
    }
    let warning = Warning::CredentialsFileOpenToOthers { path: path.to_owned(), mode: mode & 0o7777 };
    log::warn!("{warning}");
    Some(warning)
}

#[cfg(not(unix))]
fn warn_if_open_to_others(_: &Path, _: &std::fs::Metadata) -> Option<Warning> {
    None
}

/// Reads at most [`MAX_CREDENTIALS_FILE_SIZE`] bytes into wiped-on-drop memory;
/// `None` when there is more. The buffer is sized from `size_hint` (the file's
/// length) so a regular file is read without reallocating; when it must grow, the
/// old buffer is wiped as it is dropped.
fn read_capped(file: &mut File, size_hint: u64) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    let cap = MAX_CREDENTIALS_FILE_SIZE as usize;
    let mut buf = Zeroizing::new(vec![0u8; size_hint.min(cap as u64) as usize + 1]);
    let mut len = 0;
    loop {
        if len == buf.len() {
            if len > cap {
                return Ok(None);
            }
            let mut bigger = Zeroizing::new(vec![0u8; (len * 2).min(cap + 1)]);
            bigger[..len].copy_from_slice(&buf[..len]);
            buf = bigger;
        }
        match file.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    Ok(Some(buf))
}

// ---------------------------------------------------------------------------
// Text: one `principal secret` per line.

fn parse_text(text: &str) -> Result<Vec<(String, Secret)>, (usize, CredentialsProblem)> {
    let mut credentials = Vec::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (index, line) in text.split('\n').enumerate() {
        let line_no = index + 1;
        let mut fields = line.split_ascii_whitespace();
        let (Some(principal), Some(secret), None) = (fields.next(), fields.next(), fields.next()) else {
            let found = line.split_ascii_whitespace().count();
            if found == 0 {
                continue;
            }
            return Err((line_no, CredentialsProblem::FieldCount { found }));
        };
        if let Some(&first) = seen.get(principal) {
            let principal = principal.to_owned();
            return Err((line_no, CredentialsProblem::DuplicatePrincipal { principal, first_line: Some(first) }));
        }
        seen.insert(principal, line_no);
        credentials.push((principal.to_owned(), Secret::from(secret)));
    }
    Ok(credentials)
}

// ---------------------------------------------------------------------------
// JSON: `{"credentials": [{"principal": "...", "secret": "..."}, ...]}`.
//
// Every value is taken with `deserialize_any` and a visitor of our own: when
// serde_json is asked for a specific type and finds another, it puts the value it
// found into the error message, and that value could be a secret. Errors raised
// here are recorded in `Stash` so the caller gets a typed kind, while serde_json
// supplies the line.

type Stash = RefCell<Option<CredentialsProblem>>;

fn fail<E: de::Error>(stash: &Stash, kind: CredentialsProblem) -> E {
    let error = E::custom(&kind);
    *stash.borrow_mut() = Some(kind);
    error
}

/// Runs `visit` (one of the visitors below) over the whole of `text`.
fn parse_json_with<'de, T>(
    text: &'de str,
    visit: impl FnOnce(&Stash, &mut serde_json::Deserializer<serde_json::de::StrRead<'de>>) -> serde_json::Result<T>,
) -> Result<T, (usize, CredentialsProblem)> {
    let stash = Stash::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let parsed = visit(&stash, &mut de).and_then(|credentials| {
        de.end()?;
        Ok(credentials)
    });
    parsed.map_err(|e| {
        let kind = stash.take().unwrap_or_else(|| CredentialsProblem::Json(without_position(&e)));
        (e.line(), kind)
    })
}

/// serde_json's message without its " at line L column C" suffix (the line is
/// reported separately).
fn without_position(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

/// Scalars are always the wrong type for the visitors that use this.
macro_rules! reject_scalars {
    () => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(self.wrong("a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_i128<E: de::Error>(self, _: i128) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_u128<E: de::Error>(self, _: u128) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(self.wrong("a number"))
        }
        fn visit_char<E: de::Error>(self, _: char) -> Result<Self::Value, E> {
            Err(self.wrong("a string"))
        }
        fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Self::Value, E> {
            Err(self.wrong("bytes"))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.wrong("null"))
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(self.wrong("null"))
        }
    };
}

/// Implements `DeserializeSeed` for a visitor by passing itself to `deserialize_any`.
macro_rules! seed_is_any {
    ($visitor:ident) => {
        impl<'de> DeserializeSeed<'de> for $visitor<'_> {
            type Value = <Self as Visitor<'de>>::Value;
            fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
                deserializer.deserialize_any(self)
            }
        }
    };
}

/// The whole file: an object with at most a `credentials` key.
struct FileVisitor<'s> {
    stash: &'s Stash,
}

/// The `credentials` array.
struct ListVisitor<'s> {
    stash: &'s Stash,
}

/// One `{"principal": ..., "secret": ...}` object.
struct CredentialVisitor<'s> {
    stash: &'s Stash,
}

/// A principal: a string.
struct PrincipalVisitor<'s> {
    stash: &'s Stash,
}

seed_is_any!(FileVisitor);
seed_is_any!(ListVisitor);
seed_is_any!(CredentialVisitor);
seed_is_any!(PrincipalVisitor);

const FILE_EXPECTED: &str = "a JSON object with a \"credentials\" array";
const LIST_EXPECTED: &str = "an array of credentials";
const CREDENTIAL_EXPECTED: &str = "a credential object {\"principal\": ..., \"secret\": ...}";
const PRINCIPAL_EXPECTED: &str = "a principal string";

impl FileVisitor<'_> {
    fn wrong<E: de::Error>(&self, found: &'static str) -> E {
        fail(self.stash, CredentialsProblem::WrongType { expected: FILE_EXPECTED, found })
    }
}

impl<'de> Visitor<'de> for FileVisitor<'_> {
    type Value = Vec<(String, Secret)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(FILE_EXPECTED)
    }

    reject_scalars!();

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.wrong("a string"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut credentials = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != "credentials" {
                return Err(fail(self.stash, CredentialsProblem::UnknownField(key)));
            }
            if credentials.is_some() {
                return Err(fail(self.stash, CredentialsProblem::DuplicateField("credentials")));
            }
            credentials = Some(map.next_value_seed(ListVisitor { stash: self.stash })?);
        }
        Ok(credentials.unwrap_or_default())
    }
}

impl ListVisitor<'_> {
    fn wrong<E: de::Error>(&self, found: &'static str) -> E {
        fail(self.stash, CredentialsProblem::WrongType { expected: LIST_EXPECTED, found })
    }
}

impl<'de> Visitor<'de> for ListVisitor<'_> {
    type Value = Vec<(String, Secret)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(LIST_EXPECTED)
    }

    reject_scalars!();

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.wrong("a string"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an object"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut credentials: Vec<(String, Secret)> = Vec::new();
        let mut seen = HashSet::new();
        while let Some((principal, secret)) = seq.next_element_seed(CredentialVisitor { stash: self.stash })? {
            if !seen.insert(principal.clone()) {
                let kind = CredentialsProblem::DuplicatePrincipal { principal, first_line: None };
                return Err(fail(self.stash, kind));
            }
            credentials.push((principal, secret));
        }
        Ok(credentials)
    }
}

impl CredentialVisitor<'_> {
    fn wrong<E: de::Error>(&self, found: &'static str) -> E {
        fail(self.stash, CredentialsProblem::WrongType { expected: CREDENTIAL_EXPECTED, found })
    }
}

impl<'de> Visitor<'de> for CredentialVisitor<'_> {
    type Value = (String, Secret);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(CREDENTIAL_EXPECTED)
    }

    reject_scalars!();

    fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Err(self.wrong("a string"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use CredentialsProblem as K;
        let mut principal: Option<String> = None;
        let mut secret: Option<&'de RawValue> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "principal" if principal.is_some() => return Err(fail(self.stash, K::DuplicateField("principal"))),
                "secret" if secret.is_some() => return Err(fail(self.stash, K::DuplicateField("secret"))),
                "principal" => principal = Some(map.next_value_seed(PrincipalVisitor { stash: self.stash })?),
                // Raw JSON text, borrowed from the (wiped) file buffer: serde_json
                // only scans it, and `unescape` copies it into wiped memory.
                "secret" => secret = Some(map.next_value::<&'de RawValue>()?),
                _ => return Err(fail(self.stash, K::UnknownField(key))),
            }
        }
        let principal = principal.ok_or_else(|| fail(self.stash, K::MissingPrincipal))?;
        let Some(raw) = secret else {
            return Err(fail(self.stash, K::MissingSecret { principal }));
        };
        let secret = match unescape(raw.get()) {
            Ok(bytes) if bytes.is_empty() => return Err(fail(self.stash, K::EmptySecret { principal })),
            Ok(bytes) if bytes.contains(&0) => return Err(fail(self.stash, K::NulInSecret { principal })),
            Ok(mut bytes) => Secret::new(std::mem::take(&mut *bytes)),
            Err(problem) => return Err(fail(self.stash, K::BadSecret { principal, problem })),
        };
        Ok((principal, secret))
    }
}

impl PrincipalVisitor<'_> {
    fn wrong<E: de::Error>(&self, found: &'static str) -> E {
        fail(self.stash, CredentialsProblem::WrongType { expected: PRINCIPAL_EXPECTED, found })
    }
}

impl<'de> Visitor<'de> for PrincipalVisitor<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PRINCIPAL_EXPECTED)
    }

    reject_scalars!();

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an array"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
        Err(self.wrong("an object"))
    }

    fn visit_str<E: de::Error>(self, principal: &str) -> Result<Self::Value, E> {
        if principal.is_empty() {
            return Err(fail(self.stash, CredentialsProblem::EmptyPrincipal));
        }
        if principal.chars().any(char::is_control) {
            return Err(fail(self.stash, CredentialsProblem::ControlCharacter));
        }
        Ok(principal.to_owned())
    }
}

/// The bytes of a JSON string literal (quotes included), unescaped into memory
/// that is wiped when dropped. The literal has already passed serde_json's syntax
/// check; what is left to check is the meaning of `\u` escapes (a lone surrogate
/// is not a character).
///
/// The output never needs more room than the input (every escape is at least as
/// long as what it stands for), so the buffer is allocated once and never moved.
fn unescape(raw: &str) -> Result<Zeroizing<Vec<u8>>, SecretProblem> {
    let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')).ok_or(SecretProblem::NotAString)?;
    let bytes = inner.as_bytes();
    let mut out = Zeroizing::new(Vec::with_capacity(bytes.len()));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let escape = *bytes.get(i + 1).ok_or(SecretProblem::BadEscape)?;
        i += 2;
        let byte = match escape {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let high = hex4(bytes.get(i..i + 4))?;
                i += 4;
                let code = match high {
                    0xd800..=0xdbff => {
                        if bytes.get(i..i + 2) != Some(b"\\u") {
                            return Err(SecretProblem::BadEscape);
                        }
                        let low = hex4(bytes.get(i + 2..i + 6))?;
                        i += 6;
                        if !(0xdc00..=0xdfff).contains(&low) {
                            return Err(SecretProblem::BadEscape);
                        }
                        0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00)
                    }
                    0xdc00..=0xdfff => return Err(SecretProblem::BadEscape),
                    _ => high,
                };
                let c = char::from_u32(code).ok_or(SecretProblem::BadEscape)?;
                let mut utf8 = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                utf8.zeroize();
                continue;
            }
            _ => return Err(SecretProblem::BadEscape),
        };
        out.push(byte);
    }
    Ok(out)
}

fn hex4(digits: Option<&[u8]>) -> Result<u32, SecretProblem> {
    let digits = digits.ok_or(SecretProblem::BadEscape)?;
    digits.iter().try_fold(0u32, |acc, &d| {
        let v = (d as char).to_digit(16).ok_or(SecretProblem::BadEscape)?;
        Ok(acc * 16 + v)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(String, Vec<u8>)> {
        parse_credentials(text.as_bytes())
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .into_iter()
            .map(|c| (c.principal, c.secret.unwrap().expose().to_vec()))
            .collect()
    }

    fn err(text: &[u8]) -> FileError {
        match parse_credentials(text) {
            Ok(c) => panic!("{:?} parsed as {} credentials", String::from_utf8_lossy(text), c.len()),
            Err(e) => e,
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        list.iter().map(|(p, s)| (p.to_string(), s.as_bytes().to_vec())).collect()
    }

    #[test]
    fn json_in_mesos_format() {
        let text = r#"{"credentials": [{"principal": "a", "secret": "s1"}, {"secret": "s2", "principal": "b"}]}"#;
        assert_eq!(ok(text), pairs(&[("a", "s1"), ("b", "s2")]));
    }

    #[test]
    fn json_secret_escapes_are_unescaped() {
        let text = r#"{"credentials":[{"principal":"a","secret":"q\"b\\s\/n\n\t\u00e9\ud83d\ude00"}]}"#;
        assert_eq!(ok(text), pairs(&[("a", "q\"b\\s/n\n\té😀")]));
    }

    #[test]
    fn text_in_legacy_format_with_blank_lines_tabs_and_crlf() {
        let text = "a s1\n\n  b\ts2  \r\nc s3";
        assert_eq!(ok(text), pairs(&[("a", "s1"), ("b", "s2"), ("c", "s3")]));
    }

    #[test]
    fn empty_files_mean_no_credentials() {
        assert!(ok("").is_empty());
        assert!(ok("\n  \n").is_empty());
        assert!(ok(r#"{}"#).is_empty());
        assert!(ok(r#"{"credentials": []}"#).is_empty());
    }

    #[test]
    fn a_leading_byte_order_mark_is_skipped() {
        assert_eq!(ok("\u{feff}a s"), pairs(&[("a", "s")]));
        assert_eq!(ok("\u{feff}{\"credentials\":[{\"principal\":\"a\",\"secret\":\"s\"}]}"), pairs(&[("a", "s")]));
    }

    #[test]
    fn invalid_json_names_the_line_and_is_not_read_as_text() {
        // Mesos would fall back to text here and load `"principal":` with secret `"a",`.
        let text = "{\n  \"credentials\": [\n    {\"principal\": \"a\" \"secret\": \"s\"}\n  ]\n}\n";
        let e = err(text.as_bytes());
        assert_eq!(e.line, 3);
        assert!(
            matches!(e.credentials_problem().unwrap(), CredentialsProblem::Json(m) if m.contains("expected")),
            "{e}"
        );
        assert!(!e.to_string().contains("at line"), "position given twice: {e}");
    }

    #[test]
    fn a_credential_without_principal_names_its_line() {
        let text = "{\"credentials\": [\n{\"principal\": \"a\", \"secret\": \"s\"},\n{\"secret\": \"s\"}\n]}";
        let e = err(text.as_bytes());
        assert_eq!(
            (e.line, e.credentials_problem().cloned().unwrap()),
            (3, CredentialsProblem::MissingPrincipal),
            "{e}"
        );
        assert_eq!(e.to_string(), "credentials file text, line 3: a credential without a \"principal\"; add one");
    }

    #[test]
    fn missing_or_empty_secrets_and_principals_are_errors() {
        use CredentialsProblem as K;
        let cases: [(&str, K); 5] = [
            (r#"{"credentials":[{"principal":"a"}]}"#, K::MissingSecret { principal: "a".into() }),
            (r#"{"credentials":[{"principal":"a","secret":""}]}"#, K::EmptySecret { principal: "a".into() }),
            (r#"{"credentials":[{"principal":"","secret":"s"}]}"#, K::EmptyPrincipal),
            (r#"{"credentials":[{"principal":"a","secret":"x\u0000y"}]}"#, K::NulInSecret { principal: "a".into() }),
            (r#"{"credentials":[{"principal":"a\u0001","secret":"s"}]}"#, K::ControlCharacter),
        ];
        for (text, kind) in cases {
            assert_eq!(err(text.as_bytes()).credentials_problem().cloned().unwrap(), kind, "{text}");
        }
    }

    #[test]
    fn duplicate_principals_are_errors_in_both_formats() {
        let e = err(b"a s1\nb s2\na s3\n");
        assert_eq!(e.line, 3);
        assert_eq!(
            e.credentials_problem().cloned().unwrap(),
            CredentialsProblem::DuplicatePrincipal { principal: "a".into(), first_line: Some(1) }
        );
        assert!(e.to_string().contains("first on line 1"), "{e}");
        let e = err(
            b"{\"credentials\":[\n{\"principal\":\"a\",\"secret\":\"s\"},\n{\"principal\":\"a\",\"secret\":\"t\"}]}",
        );
        assert_eq!(e.line, 3);
        assert_eq!(
            e.credentials_problem().cloned().unwrap(),
            CredentialsProblem::DuplicatePrincipal { principal: "a".into(), first_line: None }
        );
    }

    #[test]
    fn duplicate_and_unknown_json_fields_are_errors() {
        use CredentialsProblem as K;
        let cases: [(&str, K); 4] = [
            (r#"{"credentials":[],"credentials":[]}"#, K::DuplicateField("credentials")),
            (r#"{"credentials":[{"principal":"a","principal":"b","secret":"s"}]}"#, K::DuplicateField("principal")),
            (r#"{"credentials":[{"principal":"a","secrte":"s"}]}"#, K::UnknownField("secrte".into())),
            (r#"{"credential":[]}"#, K::UnknownField("credential".into())),
        ];
        for (text, kind) in cases {
            assert_eq!(err(text.as_bytes()).credentials_problem().cloned().unwrap(), kind, "{text}");
        }
    }

    #[test]
    fn text_lines_without_exactly_two_fields_are_errors_that_do_not_echo_the_line() {
        for (text, line, found) in [("a s\nhunter2\n", 2, 1), ("a s extra-hunter2", 1, 3)] {
            let e = err(text.as_bytes());
            assert_eq!(
                (e.line, e.credentials_problem().cloned().unwrap()),
                (line, CredentialsProblem::FieldCount { found })
            );
            assert!(!e.to_string().contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn binary_junk_and_non_utf8_are_errors_naming_the_line() {
        let e = err(b"a s\nb \xff\xfe\n");
        assert_eq!((e.line, e.credentials_problem().cloned().unwrap()), (2, CredentialsProblem::NotUtf8));
        let e = err(b"a s\n\nb s\0\x01\x02\n");
        assert_eq!((e.line, e.credentials_problem().cloned().unwrap()), (3, CredentialsProblem::ControlCharacter));
        let e = err(b"{\"credentials\":\n[\0]}");
        assert_eq!((e.line, e.credentials_problem().cloned().unwrap()), (2, CredentialsProblem::ControlCharacter));
    }

    #[test]
    fn values_of_the_wrong_type_never_appear_in_the_error() {
        // Each of these would put the secret into the message if serde_json were
        // asked for a specific type.
        let cases = [
            r#"{"credentials":[{"principal":"a","secret":987654321}]}"#,
            r#"{"credentials":[{"principal":"a","secret":["987654321"]}]}"#,
            r#"{"credentials":["987654321"]}"#,
            r#"{"credentials":"987654321"}"#,
            r#"["987654321"]"#,
            r#"{"credentials":[{"principal":987654321,"secret":"s"}]}"#,
            r#"{"credentials":[{"principal":"a","secret":"s"}, 987654321]}"#,
            r#"{"credentials":[{"principal":"a","secret":"\ud800x987654321"}]}"#,
        ];
        for text in cases {
            let e = err(text.as_bytes());
            let shown = format!("{e} {e:?}");
            assert!(!shown.contains("987654321"), "{text}: {shown}");
        }
        let e = err(br#"{"credentials":[{"principal":"a","secret":12}]}"#);
        assert_eq!(
            e.credentials_problem().cloned().unwrap(),
            CredentialsProblem::BadSecret { principal: "a".into(), problem: SecretProblem::NotAString }
        );
    }

    #[test]
    fn lone_surrogates_in_a_secret_are_rejected() {
        for secret in [r"\ud800", r"\udc00", r"\ud800\u0041", r"\ud800abcdef"] {
            let text = format!(r#"{{"credentials":[{{"principal":"a","secret":"{secret}"}}]}}"#);
            let e = err(text.as_bytes());
            assert_eq!(
                e.credentials_problem().cloned().unwrap(),
                CredentialsProblem::BadSecret { principal: "a".into(), problem: SecretProblem::BadEscape },
                "{secret}"
            );
        }
    }

    #[test]
    fn debug_of_the_credentials_never_shows_a_secret() {
        let parsed = parse_credentials(b"alice hunter2").unwrap();
        let debug = format!("{parsed:?}");
        assert!(debug.contains("alice") && !debug.contains("hunter2"), "{debug}");
    }
}

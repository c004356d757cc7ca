//! [`Config`]: the Cyrus options served to each connection through
//! `SASL_CB_GETOPT`, plus this crate's own security settings.

use std::collections::BTreeMap;
use std::ffi::{CStr, CString};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, OnceLock};

use crate::credentials::{CredentialStore, MEMORY_AUXPROP_PLUGIN};
pub use crate::error::{ConfigError, ConfigErrorKind};
use crate::options;
use crate::security::SecurityProperties;
use crate::warning::Warning;

/// Options for one or more connections.
///
/// Two kinds of keys:
/// - **Cyrus options** (`mech_list`, `pwcheck_method`, `auxprop_plugin`,
///   `sasldb_path`, `keytab`, ... any key at all) are handed to libsasl2 verbatim
///   whenever a plugin asks for them, for this connection only. A key the config
///   does not hold falls back to libsasl2's process-wide options.
/// - **Wrapper options** `min_ssf`, `max_ssf`, `maxbufsize` and `security_flags`
///   set the connection's [`SecurityProperties`]. `security_flags` takes Cyrus's
///   flag names (`security_flags: noanonymous noplaintext mutual_auth`) and
///   replaces the default flags, `noanonymous noplaintext`: a config that leaves
///   either out opens up, which is logged at `warn` (target
///   `cyrus_sasl::config`) and reported by [`Config::warnings`].
///
/// On a client, `mech_list` also restricts the mechanisms the client will pick
/// (it is served as Cyrus's `client_mech_list` unless that is set too).
///
/// Kerberos credentials per connection: `keytab` names a server's keytab and
/// `ccache` a client's credential cache, as Cyrus users write them. libsasl2
/// 2.1.28 reads Cyrus's `keytab` only from its process-wide options, once, and
/// has no client option, so this crate acquires the credential itself through
/// MIT's GSS-API library (`libgssapi_krb5.so.2`, loaded at run time, the one the
/// GSSAPI plugin uses) and hands it to the connection.
///
/// Cloning is cheap: the options are shared until one clone is modified.
///
/// ```
/// use cyrus_sasl::Config;
/// let config: Config = concat!(
///     "# CRAM-MD5 against a sasldb\n",
///     "mech_list: CRAM-MD5\n",
///     "pwcheck_method: auxprop\n",
///     "auxprop_plugin: sasldb\n",
///     "sasldb_path: /var/lib/myapp/sasldb2\n",
/// )
/// .parse()?;
/// assert_eq!(config.get("mech_list"), Some("CRAM-MD5"));
/// # Ok::<(), cyrus_sasl::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct Config {
    inner: Arc<Inner>,
}

#[derive(Clone, Default)]
struct Inner {
    /// In the order they were set. A flat list: configs hold a handful of keys,
    /// and libsasl2 asks for about eleven options per handshake, so a byte
    /// comparison per key beats any map.
    options: Vec<(CString, CString)>,
    security: SecurityProperties,
    /// The first `mech_list` entry with no installed plugin, once checked. The
    /// set of plugins is fixed after init, so the answer holds until the options
    /// change (every mutation goes through `inner_mut`, which clears it).
    missing_mechanism: OnceLock<Option<String>>,
    /// The in-memory credentials served by the `in-memory` auxprop plugin.
    store: Option<CredentialStore>,
}

/// Keys that configure this crate rather than libsasl2.
const WRAPPER_KEYS: [&str; 4] = ["min_ssf", "max_ssf", "maxbufsize", "security_flags"];

impl Config {
    /// An empty config: libsasl2's defaults, no security layer, no anonymous
    /// and no plaintext logins ([`SecurityProperties::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a file in Cyrus's own format (the one of `/etc/sasl2/APP.conf`):
    /// one `key: value` per line; blank lines and lines starting with `#` are
    /// ignored. A malformed line, a duplicate key, an invalid wrapper value,
    /// non-UTF-8 text or an unknown key is an error naming the file and the line.
    ///
    /// Known keys are the options libsasl2 and its bundled plugins read
    /// ([`CYRUS_OPTIONS`](crate::options::CYRUS_OPTIONS)) and this crate's own
    /// ([`CRATE_OPTIONS`](crate::options::CRATE_OPTIONS)). An unknown key names
    /// the nearest known one (`did you mean mech_list?`), because libsasl2 would
    /// silently ignore it. A file that configures a plugin this crate does not
    /// know declares that plugin's keys first:
    ///
    /// ```text
    /// extra_options: my_plugin_path
    /// my_plugin_path: /var/lib/my_plugin
    /// ```
    ///
    /// [`Config::with`] is as strict in code; [`Config::set`] takes any key,
    /// for a plugin's own.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        Self::from_file_with(path, &[])
    }

    /// [`Config::from_file`] for a layer that reads keys of its own from the
    /// same file (the Mesos master's `credentials`): `extra` are accepted too.
    pub fn from_file_with(path: impl AsRef<Path>, extra: &[&str]) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| ConfigError::unreadable(path, e))?;
        Self::parse_bytes_with(&bytes, extra).map_err(|mut e| {
            e.path = Some(path.to_owned());
            e
        })
    }

    /// Parses the file format of [`Config::from_file`] from memory.
    pub fn parse_bytes(text: &[u8]) -> Result<Self, ConfigError> {
        Self::parse_bytes_with(text, &[])
    }

    /// [`Config::parse_bytes`] accepting the keys in `extra` too, as
    /// [`Config::from_file_with`] does.
    pub fn parse_bytes_with(text: &[u8], extra: &[&str]) -> Result<Self, ConfigError> {
        let mut config = Config::new();
        let mut known: Vec<&str> = extra.to_vec();
        let mut first_seen: BTreeMap<&str, usize> = BTreeMap::new();
        // One pass, so the error reported is always the first bad line: a key
        // must be declared with `extra_options` before the line that uses it.
        for (index, raw) in text.split(|&b| b == b'\n').enumerate() {
            let line_no = index + 1;
            let err = |kind| ConfigError::at(line_no, kind);
            let line = std::str::from_utf8(raw).map_err(|_| err(ConfigErrorKind::NotUtf8))?;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once(':') else {
                return Err(err(ConfigErrorKind::MissingColon));
            };
            let (key, value) = (key.trim_end(), value.trim_start());
            if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
                return Err(err(ConfigErrorKind::BadKey(key.to_owned())));
            }
            if let Some(first) = first_seen.insert(key, line_no) {
                return Err(err(ConfigErrorKind::Duplicate { key: key.to_owned(), first }));
            }
            if !options::is_known(key, &known) {
                let suggestion = options::nearest(key, &known).map(str::to_owned);
                return Err(err(ConfigErrorKind::UnknownOption { key: key.to_owned(), suggestion }));
            }
            if key == options::EXTRA_OPTIONS_KEY {
                log::info!(target: "cyrus_sasl::config", "config declares options of its own: {value:?}");
                known.extend(value.split_whitespace());
                continue;
            }
            config.set(key, value).map_err(|e| err(e.kind))?;
        }
        Ok(config)
    }

    /// Sets one option, any key at all: for a plugin's own keys, which this
    /// crate cannot know. Prefer [`Config::with`], which refuses a misspelt
    /// key. Wrapper keys `min_ssf`, `max_ssf` and `maxbufsize` must
    /// be unsigned integers, `security_flags` flag names
    /// ([`SecurityProperties::parse_flags`]); other values are passed to
    /// libsasl2 as they are.
    pub fn set(&mut self, key: &str, value: &str) -> Result<&mut Self, ConfigError> {
        let err = |kind| ConfigError::at(0, kind);
        if key == "security_flags" {
            let flags = SecurityProperties::parse_flags(value)
                .map_err(|name| err(ConfigErrorKind::UnknownSecurityFlag { name }))?;
            self.inner_mut().security.flags = flags;
            for warning in self.security_warnings() {
                log::warn!(target: "cyrus_sasl::config", "{warning}");
            }
            return Ok(self);
        }
        if WRAPPER_KEYS.contains(&key) {
            let n: u32 = value
                .parse()
                .map_err(|_| err(ConfigErrorKind::BadNumber { key: key.to_owned(), value: value.to_owned() }))?;
            let security = &mut self.inner_mut().security;
            match key {
                "min_ssf" => security.min_ssf = n,
                "max_ssf" => security.max_ssf = n,
                _ => security.maxbufsize = n,
            }
            return Ok(self);
        }
        let k = CString::new(key).map_err(|_| err(ConfigErrorKind::Nul))?;
        let v = CString::new(value).map_err(|_| err(ConfigErrorKind::Nul))?;
        let options = &mut self.inner_mut().options;
        match options.iter_mut().find(|(key, _)| *key == k) {
            Some((_, value)) => *value = v,
            None => options.push((k, v)),
        }
        Ok(self)
    }

    /// Sets one known option, as strictly as [`Config::from_file`] reads one:
    /// a key that neither libsasl2, its bundled plugins nor this crate read
    /// ([`options`](crate::options)) is [`ConfigErrorKind::UnknownOption`],
    /// naming the nearest known key. A typo such as `min_sff` would otherwise
    /// leave `min_ssf` at 0 without a word.
    ///
    /// ```
    /// use cyrus_sasl::{Config, ConfigErrorKind};
    /// let err = Config::new().with("min_sff", "56").unwrap_err();
    /// assert_eq!(
    ///     err.kind,
    ///     ConfigErrorKind::UnknownOption { key: "min_sff".into(), suggestion: Some("min_ssf".into()) }
    /// );
    /// // A plugin's own key, which this crate cannot know: `set` takes any key.
    /// let mut config = Config::new().with("mech_list", "PLAIN")?;
    /// config.set("my_plugin_path", "/var/lib/my_plugin")?;
    /// # Ok::<(), cyrus_sasl::ConfigError>(())
    /// ```
    pub fn with(mut self, key: &str, value: &str) -> Result<Self, ConfigError> {
        // A NUL byte is the more precise error (`set` reports it).
        if !key.contains('\0') && !options::is_known(key, &[]) {
            let suggestion = options::nearest(key, &[]).map(str::to_owned);
            return Err(ConfigError::at(0, ConfigErrorKind::UnknownOption { key: key.to_owned(), suggestion }));
        }
        self.set(key, value)?;
        Ok(self)
    }

    /// The value of a Cyrus option. Wrapper options are not stored as strings: read
    /// them from [`Config::security`].
    pub fn get(&self, key: &str) -> Option<&str> {
        self.find(key.as_bytes()).and_then(|v| v.to_str().ok())
    }

    /// Whether a Cyrus option is set (without checking that its value is UTF-8).
    pub(crate) fn has(&self, key: &str) -> bool {
        self.find(key.as_bytes()).is_some()
    }

    /// Removes a Cyrus option.
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.inner_mut().options.retain(|(k, _)| k.to_bytes() != key.as_bytes());
        self
    }

    /// All Cyrus options, in the order they were set.
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> {
        self.inner.options.iter().filter_map(|(k, v)| Some((k.to_str().ok()?, v.to_str().ok()?)))
    }

    /// The mechanisms `mech_list` names, upper-cased, or `None` when it is unset
    /// (meaning every installed mechanism).
    pub fn mech_list(&self) -> Option<Vec<String>> {
        self.get("mech_list").map(|list| {
            list.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|m| !m.is_empty())
                .map(str::to_ascii_uppercase)
                .collect()
        })
    }

    /// The security properties: `min_ssf`, `max_ssf`, `maxbufsize` and flags.
    pub fn security(&self) -> &SecurityProperties {
        &self.inner.security
    }

    /// Replaces the security properties.
    pub fn set_security(&mut self, security: SecurityProperties) -> &mut Self {
        self.inner_mut().security = security;
        self
    }

    /// Makes servers using this config check passwords against `store`: it sets
    /// `auxprop_plugin` to [`MEMORY_AUXPROP_PLUGIN`] and `pwcheck_method` to
    /// `auxprop`, replacing any sasldb setting. The config holds a handle to the
    /// store, so [`CredentialStore::replace`] takes effect on the next lookup.
    pub fn with_credential_store(mut self, store: &CredentialStore) -> Self {
        self.set_credential_store(store);
        self
    }

    /// In-place form of [`Config::with_credential_store`].
    pub fn set_credential_store(&mut self, store: &CredentialStore) -> &mut Self {
        self.inner_mut().store = Some(store.clone());
        // Neither value can contain a NUL byte, so these cannot fail.
        for (key, value) in [("auxprop_plugin", MEMORY_AUXPROP_PLUGIN), ("pwcheck_method", "auxprop")] {
            self.set(key, value).expect("constant option");
        }
        self
    }

    /// The store attached with [`Config::with_credential_store`], if any.
    pub fn credential_store(&self) -> Option<&CredentialStore> {
        self.inner.store.as_ref()
    }

    /// Setups that work but probably not as meant: `security_flags` without
    /// `noanonymous` or `noplaintext` ([`Warning::AllowsAnonymous`],
    /// [`Warning::AllowsPlaintext`]), an attached credential store that is
    /// empty ([`Warning::EmptyStore`]). Each is also logged at `warn` when it
    /// arises. A program with no logger should print these at start-up.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut warnings = self.security_warnings();
        if self.inner.store.as_ref().is_some_and(CredentialStore::is_empty) {
            warnings.push(Warning::EmptyStore);
        }
        warnings
    }

    fn security_warnings(&self) -> Vec<Warning> {
        let flags = self.inner.security.flags;
        let mut warnings = Vec::new();
        if flags & SecurityProperties::NOANONYMOUS == 0 {
            warnings.push(Warning::AllowsAnonymous);
        }
        if flags & SecurityProperties::NOPLAINTEXT == 0 {
            warnings.push(Warning::AllowsPlaintext);
        }
        warnings
    }

    fn inner_mut(&mut self) -> &mut Inner {
        let inner = Arc::make_mut(&mut self.inner);
        inner.missing_mechanism = OnceLock::new();
        inner
    }

    /// The first mechanism of `mech_list` that `is_installed` rejects, computed
    /// once per config.
    pub(crate) fn missing_mechanism(&self, is_installed: impl Fn(&str) -> bool) -> Option<&str> {
        self.inner.missing_mechanism.get_or_init(|| self.mech_list()?.into_iter().find(|m| !is_installed(m))).as_deref()
    }

    /// Checks the sasldb this config points a server at, when it uses one: the
    /// file must exist and be a regular file. libsasl2 reports a missing file as
    /// an unknown user (`SASL_NOUSER`), indistinguishable from a wrong login, so
    /// the server runs this check when it is about to answer "unknown user"
    /// (only then: unreadable or corrupt files need no check, libsasl2 fails
    /// them loudly with `SASL_FAIL` "Unable to open DB").
    pub(crate) fn check_sasldb(&self) -> crate::Result<()> {
        let Some(path) = self.get("sasldb_path") else { return Ok(()) };
        let uses_sasldb = self.get("auxprop_plugin").is_none_or(|p| p.split_whitespace().any(|p| p == "sasldb"));
        if !uses_sasldb {
            return Ok(());
        }
        let error = |source| crate::Error::Sasldb { path: path.into(), source };
        let meta = std::fs::metadata(path).map_err(error)?;
        if !meta.is_file() {
            return Err(error(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")));
        }
        Ok(())
    }

    fn find(&self, key: &[u8]) -> Option<&CStr> {
        self.inner.options.iter().find(|(k, _)| k.to_bytes() == key).map(|(_, v)| v.as_c_str())
    }

    /// What `SASL_CB_GETOPT` answers for `option`.
    pub(crate) fn lookup(&self, option: &CStr) -> Option<&CStr> {
        let option = option.to_bytes();
        match self.find(option) {
            None if option == b"client_mech_list" => self.find(b"mech_list"),
            value => value,
        }
    }
}

impl std::str::FromStr for Config {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        Config::parse_bytes(s.as_bytes())
    }
}

/// Values can name paths and plugins but, being operator configuration rather than
/// credentials, are shown in full. Never put a secret in a Cyrus option.
/// Whether an option holds a secret, such as the database passwords of the sql
/// (`sql_passwd`) and ldapdb (`ldapdb_pw`) auxprop plugins: its value is never
/// shown by `Debug`.
fn is_secret_option(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.contains("passw") || key.contains("secret") || key.ends_with("_pw")
}

/// Shows every option, except that the values of secret ones (`sql_passwd`,
/// `ldapdb_pw`, any key containing `passw` or `secret` or ending in `_pw`) are
/// replaced by `<redacted>`.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let options = self.options().map(|(k, v)| (k, if is_secret_option(k) { "<redacted>" } else { v }));
        f.debug_struct("Config")
            .field("options", &options.collect::<BTreeMap<_, _>>())
            .field("security", &self.inner.security)
            .field("credential_store", &self.inner.store)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cyrus_format_with_comments_blank_lines_and_wrapper_keys() {
        let c: Config =
            "# comment\n\nmech_list: CRAM-MD5 DIGEST-MD5\r\nsasldb_path:/tmp/db\nmax_ssf: 56\n".parse().unwrap();
        assert_eq!(c.get("mech_list"), Some("CRAM-MD5 DIGEST-MD5"));
        assert_eq!(c.get("sasldb_path"), Some("/tmp/db"));
        assert_eq!(c.get("max_ssf"), None, "wrapper keys are not passed to libsasl2");
        assert_eq!(c.security().max_ssf, 56);
        assert_eq!(c.mech_list().unwrap(), ["CRAM-MD5", "DIGEST-MD5"]);
    }

    #[test]
    fn malformed_line_names_the_line() {
        let e = "mech_list: PLAIN\nthis line has no colon\n".parse::<Config>().unwrap_err();
        assert_eq!(e.line, 2);
        assert_eq!(e.kind, ConfigErrorKind::MissingColon);
        assert_eq!(e.to_string(), "line 2: expected `key: value`");
    }

    #[test]
    fn duplicate_keys_bad_numbers_bad_keys_and_non_utf8_are_errors() {
        let dup = "log_level: 1\nmech_list: PLAIN\nlog_level: 3\n".parse::<Config>().unwrap_err();
        assert_eq!(dup.kind, ConfigErrorKind::Duplicate { key: "log_level".into(), first: 1 });
        assert_eq!(dup.line, 3);
        let num = "min_ssf: lots\n".parse::<Config>().unwrap_err();
        assert!(matches!(num.kind, ConfigErrorKind::BadNumber { .. }), "{num}");
        let key = "bad key: x\n".parse::<Config>().unwrap_err();
        assert_eq!(key.kind, ConfigErrorKind::BadKey("bad key".into()));
        let utf = Config::parse_bytes(b"log_level: 1\nmech_list: \xff\xfe\n").unwrap_err();
        assert_eq!((utf.line, utf.kind), (2, ConfigErrorKind::NotUtf8));
    }

    #[test]
    fn from_file_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app.conf");
        std::fs::write(&path, "mech_list: CRAM-MD5\n\n  junk\n").unwrap();
        let e = Config::from_file(&path).unwrap_err();
        assert_eq!(e.to_string(), format!("{}:3: expected `key: value`", path.display()));
        let missing = Config::from_file(dir.path().join("nope.conf")).unwrap_err();
        assert!(matches!(missing.kind, ConfigErrorKind::Io(std::io::ErrorKind::NotFound, _)));
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_line_and_the_nearest_key() {
        let e = "mech_lsit: CRAM-MD5\n".parse::<Config>().unwrap_err();
        assert_eq!(e.line, 1);
        assert_eq!(
            e.kind,
            ConfigErrorKind::UnknownOption { key: "mech_lsit".into(), suggestion: Some("mech_list".into()) }
        );
        assert!(e.to_string().contains("did you mean `mech_list`?"), "{e}");
        let far = "colour: blue\n".parse::<Config>().unwrap_err();
        assert_eq!(far.kind, ConfigErrorKind::UnknownOption { key: "colour".into(), suggestion: None });
    }

    #[test]
    fn declared_and_layer_keys_are_accepted_but_not_served_as_declarations() {
        let c: Config = "extra_options: my_opt other\nmy_opt: 1\n".parse().unwrap();
        assert_eq!(c.get("my_opt"), Some("1"));
        assert_eq!(c.get("extra_options"), None, "a declaration is not a libsasl2 option");
        let c = Config::parse_bytes_with(b"credentials: /x\n", &["credentials"]).unwrap();
        assert_eq!(c.get("credentials"), Some("/x"));
        let e = Config::parse_bytes_with(b"credentails: /x\n", &["credentials"]).unwrap_err();
        assert!(e.to_string().contains("did you mean `credentials`?"), "{e}");
    }

    #[test]
    fn client_mech_list_falls_back_to_mech_list() {
        let c = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap();
        assert_eq!(c.lookup(c"client_mech_list"), Some(c"SCRAM-SHA-256"));
        let c = c.with("client_mech_list", "PLAIN").unwrap();
        assert_eq!(c.lookup(c"client_mech_list"), Some(c"PLAIN"));
        assert_eq!(c.lookup(c"unset"), None);
    }

    #[test]
    fn clones_do_not_share_later_changes() {
        let a = Config::new().with("mech_list", "PLAIN").unwrap();
        let mut b = a.clone();
        b.set("mech_list", "CRAM-MD5").unwrap();
        assert_eq!(a.get("mech_list"), Some("PLAIN"));
        assert_eq!(b.get("mech_list"), Some("CRAM-MD5"));
    }
}

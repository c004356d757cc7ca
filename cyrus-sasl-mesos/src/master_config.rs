//! [`MasterConfig`]: a master's mechanisms and credential source, chosen by a
//! Cyrus-style config file rather than by code.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::ChannelBindingPolicy;
use crate::Error;
use crate::authorization::AclFile;
use crate::credentials_file::{read_credentials, read_credentials_warned, store_entries};
use crate::registration::RegistrationGate;
use crate::{MasterAddress, MasterElection};
use cyrus_sasl::Config;
use cyrus_sasl::{CredentialStore, MEMORY_AUXPROP_PLUGIN};
use libprocess::PrincipalSource;

/// The config key naming a credentials file: Mesos's `--credentials` flag.
pub const CREDENTIALS_KEY: &str = "credentials";

/// The config key naming a Mesos ACL file: Mesos's `--acls` flag.
pub const ACLS_KEY: &str = "acls";

/// The config key choosing whether sessions bind SASL to their TLS channel:
/// `off`, `prefer` (the default) or `require` ([`ChannelBindingPolicy`]).
pub const CHANNEL_BINDING_KEY: &str = "channel_binding";

/// The config key choosing where EXTERNAL takes a peer's principal from in its
/// TLS client certificate: `common_name` or `dns_name`
/// ([`PrincipalSource`]); absent: EXTERNAL has no identity to give.
pub const EXTERNAL_PRINCIPAL_KEY: &str = "external_principal";

/// The config key naming the ZooKeeper election the master contends in:
/// Mesos's `--zk` flag, `zk://[USER:PASSWORD@]HOST:PORT[,...]/PATH` (or a
/// `file:///PATH` holding one). [`ZOOKEEPER_KEY`] is the same key.
pub const ZK_KEY: &str = "zk";

/// Another name of [`ZK_KEY`].
pub const ZOOKEEPER_KEY: &str = "zookeeper";

/// The config key setting the ZooKeeper session timeout of a contending master:
/// Mesos's `--zk_session_timeout` (default 10 s), written `10secs`, `10s`,
/// `2500ms`, `1mins` or a number of seconds.
pub const ZK_SESSION_TIMEOUT_KEY: &str = "zk_session_timeout";

/// The config key of [`MasterOptions::max_sessions`](crate::MasterOptions::max_sessions).
pub const MAX_SESSIONS_KEY: &str = "max_sessions";

/// The config key of [`MasterOptions::max_sessions_per_ip`](crate::MasterOptions::max_sessions_per_ip).
pub const MAX_SESSIONS_PER_IP_KEY: &str = "max_sessions_per_ip";

/// The config key of the master endpoint's
/// [`max_connections`](libprocess::EndpointOptions::max_connections).
pub const MAX_CONNECTIONS_KEY: &str = "max_connections";

/// The config key of the master endpoint's
/// [`max_connections_per_ip`](libprocess::EndpointOptions::max_connections_per_ip).
pub const MAX_CONNECTIONS_PER_IP_KEY: &str = "max_connections_per_ip";

/// The config key of [`MasterOptions::max_upids_per_principal`](crate::MasterOptions::max_upids_per_principal).
pub const MAX_UPIDS_PER_PRINCIPAL_KEY: &str = "max_upids_per_principal";

/// The config key of
/// [`MasterOptions::max_registrations_in_flight`](crate::MasterOptions::max_registrations_in_flight).
pub const MAX_REGISTRATIONS_IN_FLIGHT_KEY: &str = "max_registrations_in_flight";

/// The config key of
/// [`MasterOptions::max_registrations_per_ip`](crate::MasterOptions::max_registrations_per_ip).
pub const MAX_REGISTRATIONS_PER_IP_KEY: &str = "max_registrations_per_ip";

/// The limit keys, in the order [`MasterLimits`] has them.
const LIMIT_KEYS: [&str; 7] = [
    MAX_SESSIONS_KEY,
    MAX_SESSIONS_PER_IP_KEY,
    MAX_CONNECTIONS_KEY,
    MAX_CONNECTIONS_PER_IP_KEY,
    MAX_UPIDS_PER_PRINCIPAL_KEY,
    MAX_REGISTRATIONS_IN_FLIGHT_KEY,
    MAX_REGISTRATIONS_PER_IP_KEY,
];

/// The limits a master config sets, each `None` where its key is absent (the
/// default of [`MasterOptions`](crate::MasterOptions) then holds).
/// [`MasterOptions::from_config`](crate::MasterOptions::from_config) puts them
/// into effect.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MasterLimits {
    /// `max_sessions`: sessions in progress at once (default 4,096).
    pub max_sessions: Option<usize>,
    /// `max_sessions_per_ip`: the same from one peer IP (default 64).
    pub max_sessions_per_ip: Option<usize>,
    /// `max_connections`: inbound connections open at once (default 8,192,
    /// lowered to what the open-file limit allows).
    pub max_connections: Option<usize>,
    /// `max_connections_per_ip`: the same from one peer IP (default 64).
    pub max_connections_per_ip: Option<usize>,
    /// `max_upids_per_principal`: authenticated UPIDs one principal holds
    /// (default 1,024).
    pub max_upids_per_principal: Option<usize>,
    /// `max_registrations_in_flight`: registrations decided at once (default
    /// [`MAX_REGISTRATIONS_IN_FLIGHT`](crate::MAX_REGISTRATIONS_IN_FLIGHT), 256).
    pub max_registrations_in_flight: Option<usize>,
    /// `max_registrations_per_ip`: registrations from one peer IP decided or
    /// answered at once (default
    /// [`DEFAULT_MAX_REGISTRATIONS_PER_IP`](crate::DEFAULT_MAX_REGISTRATIONS_PER_IP), 32).
    pub max_registrations_per_ip: Option<usize>,
}

/// The mechanism list used when a config has no `mech_list`.
pub const DEFAULT_MECH_LIST: &str = "CRAM-MD5";

/// Where a master's secrets come from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// A credentials file, loaded into an in-memory [`CredentialStore`].
    CredentialsFile(PathBuf),
    /// A sasldb: `auxprop_plugin: sasldb`, at `sasldb_path` (or libsasl2's
    /// default path when `None`).
    Sasldb(Option<PathBuf>),
    /// An LDAP directory through libsasl2's `ldapdb` auxprop plugin
    /// (`auxprop_plugin: ldapdb`). The plugin reads `ldapdb_uri`, `ldapdb_id`,
    /// `ldapdb_pw` and `ldapdb_mech` only from libsasl2's process-wide options
    /// (the file `APP.conf` in `SASL_CONF_PATH`, read at init), never from a
    /// connection's (see [`guide::ldap`](crate::guide::ldap)).
    Ldapdb,
    /// Whatever the libsasl2 options select (another auxprop plugin, `saslauthd`,
    /// or none at all, as for GSSAPI, where the KDC holds the secrets).
    Other,
}

/// A master's SASL configuration, with its credential store when it has one:
/// its mechanisms and credential source are chosen by a config file, not by code.
///
/// The file is the one [`Config::from_file`] reads (`key: value` lines). The
/// keys below but `mech_list` and the libsasl2 ones are this layer's own; the rest go to libsasl2 as they are:
///
/// | Key | Meaning |
/// |---|---|
/// | `acls` | Mesos's `--acls` flag: a Mesos ACL JSON file ([`AclFile`]) that decides registrations ([`registration_gate`](Self::registration_gate)). A relative path is taken relative to the config file's directory. Not passed to libsasl2. |
/// | `credentials` | Mesos's `--credentials` flag: a credentials file (JSON or text, `file://` allowed, see [`read_credentials`]) loaded into an in-memory [`CredentialStore`]. A relative path is taken relative to the config file's directory. |
/// | `channel_binding` | `off`, `prefer` (default) or `require`: whether a session over TLS binds SASL to its connection, offering `SCRAM-SHA-256-PLUS` beside `SCRAM-SHA-256` ([`ChannelBindingPolicy`]; read by [`channel_binding`](Self::channel_binding)). Not passed to libsasl2. |
/// | `external_principal` | `common_name` or `dns_name`: EXTERNAL from TLS client certificates, the principal being the certificate's subject common name or its one DNS subject alternative name ([`MasterOptions::external`](crate::MasterOptions::external); read by [`external_principal`](Self::external_principal)). Put `EXTERNAL` in `mech_list` too. Not passed to libsasl2. |
/// | `zk` (or `zookeeper`) | Mesos's `--zk` flag: high availability. The master contends in this ZooKeeper election and serves only while it leads ([`MasterOptions::election`](crate::MasterOptions::election); read by [`election`](Self::election)). A `zk://` address, or `file:///PATH` holding one; its password is never shown. Not passed to libsasl2. |
/// | `zk_session_timeout` | The session timeout with `zk`: `10secs` (the default), `2s`, `2500ms`... Not passed to libsasl2. |
/// | `max_sessions`, `max_sessions_per_ip` | Authentication sessions in progress at once, in all and from one peer IP (default 4,096 and 64; [`MasterLimits`]). Not passed to libsasl2. |
/// | `max_connections`, `max_connections_per_ip` | Inbound connections open at once, in all and from one peer IP (default 8,192, lowered to what the open-file limit allows, and 64). Not passed to libsasl2. |
/// | `max_upids_per_principal` | Authenticated UPIDs one principal holds; one more forgets its own oldest (default 1,024). Not passed to libsasl2. |
/// | `max_registrations_in_flight`, `max_registrations_per_ip` | Registrations decided at once, and from one peer IP decided or answered at once (default 256 and 32). Not passed to libsasl2. |
/// | `mech_list` | The mechanisms offered. Defaults to `CRAM-MD5`, Mesos's only built-in mechanism, when absent. |
/// | `auxprop_plugin: sasldb`, `sasldb_path` | Without `credentials`: secrets come from a sasldb (made with `saslpasswd2`). The file must exist. |
/// | `auxprop_plugin: ldapdb` | Without `credentials`: secrets come from an LDAP directory ([`CredentialSource::Ldapdb`]; the plugin's own options are process-wide). |
/// | anything else (`keytab`, `pwcheck_method`, ...) | Passed to libsasl2 for each connection, e.g. for GSSAPI, where the KDC holds the secrets. |
///
/// ```text
/// # In-memory store from a Mesos credentials file:
/// mech_list: CRAM-MD5
/// credentials: /etc/mesos/credentials.json
///
/// # Or a sasldb:
/// mech_list: CRAM-MD5
/// auxprop_plugin: sasldb
/// sasldb_path: /etc/mesos/sasldb2
/// ```
///
/// The master code is the same either way: [`MasterOptions::from_config`](crate::MasterOptions::from_config)
/// puts every key into effect for [`Master::spawn`](crate::Master::spawn)
/// (the sans-IO [`Authenticator`](crate::Authenticator) takes
/// [`sasl_config`](Self::sasl_config) and [`channel_binding`](Self::channel_binding)).
///
/// ```
/// use cyrus_sasl_mesos::{CredentialSource, MasterConfig};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(
///     dir.path().join("credentials.json"),
///     r#"{"credentials": [{"principal": "framework-a", "secret": "s3cret"}]}"#,
/// )?;
/// std::fs::write(dir.path().join("master.conf"), "credentials: credentials.json\n")?;
///
/// let master = MasterConfig::read(dir.path().join("master.conf"))?;
/// assert_eq!(master.source(), &CredentialSource::CredentialsFile(dir.path().join("credentials.json")));
/// assert_eq!(master.sasl_config().mech_list(), Some(vec!["CRAM-MD5".to_owned()]));
/// assert!(master.credential_store().unwrap().contains("framework-a"));
///
/// // The file changes; servers see the new table from their next lookup on.
/// std::fs::write(dir.path().join("credentials.json"), "framework-b n3w\n")?;
/// assert_eq!(master.reload_credentials()?, 1);
/// assert!(master.credential_store().unwrap().contains("framework-b"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct MasterConfig {
    sasl: Config,
    source: CredentialSource,
    store: Option<CredentialStore>,
    acls: Option<Arc<AclFile>>,
    channel_binding: ChannelBindingPolicy,
    external_principal: Option<PrincipalSource>,
    election: Option<MasterElection>,
    limits: MasterLimits,
    /// What loading the credentials file warned about.
    file_warnings: Vec<crate::Warning>,
}

impl MasterConfig {
    /// Reads a config file (see the [type docs](Self)), and the credentials
    /// and ACL files it names.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let keys = [
            CREDENTIALS_KEY,
            ACLS_KEY,
            CHANNEL_BINDING_KEY,
            EXTERNAL_PRINCIPAL_KEY,
            ZK_KEY,
            ZOOKEEPER_KEY,
            ZK_SESSION_TIMEOUT_KEY,
        ];
        let config = Config::from_file_with(path, &[&keys[..], &LIMIT_KEYS[..]].concat())?;
        Self::build(config, path.parent())
    }

    /// The same from a [`Config`] already in memory; a relative `credentials`
    /// or `acls` path is taken relative to the current directory.
    pub fn from_sasl_config(config: Config) -> Result<Self, Error> {
        Self::build(config, None)
    }

    /// CRAM-MD5 against the credentials file at `path`: the same as reading a
    /// config file holding only `credentials: PATH`.
    pub fn read_credentials_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref().to_str().ok_or_else(|| Error::NonUtf8Path(path.as_ref().to_owned()))?;
        // `credentials` is this crate's key, not one libsasl2 knows: `set`, not `with`.
        let mut config = Config::new();
        config.set(CREDENTIALS_KEY, path)?;
        Self::from_sasl_config(config)
    }

    fn build(mut config: Config, base: Option<&Path>) -> Result<Self, Error> {
        let acls = match config.get(ACLS_KEY).map(str::to_owned) {
            Some(path) => {
                config.remove(ACLS_KEY);
                Some(Arc::new(AclFile::read(resolve(&path, base))?))
            }
            None => None,
        };
        let channel_binding = match config.get(CHANNEL_BINDING_KEY).map(str::to_owned) {
            Some(value) => {
                config.remove(CHANNEL_BINDING_KEY);
                value.parse()?
            }
            None => ChannelBindingPolicy::default(),
        };
        let external_principal = match config.get(EXTERNAL_PRINCIPAL_KEY).map(str::to_owned) {
            Some(value) => {
                config.remove(EXTERNAL_PRINCIPAL_KEY);
                Some(match value.as_str() {
                    "common_name" => PrincipalSource::CommonName,
                    "dns_name" => PrincipalSource::SubjectAltNameDns,
                    _ => return Err(Error::ExternalPrincipal(value.chars().take(64).collect())),
                })
            }
            None => None,
        };
        let election = election(&mut config)?;
        let limits = limits(&mut config)?;
        match config.mech_list() {
            None => {
                config.set("mech_list", DEFAULT_MECH_LIST)?;
            }
            Some(list) if list.is_empty() => return Err(Error::EmptyMechList),
            Some(_) => {}
        }
        let Some(credentials) = config.get(CREDENTIALS_KEY).map(str::to_owned) else {
            let source = match config.get("auxprop_plugin") {
                Some("sasldb") => {
                    let path = config.get("sasldb_path").map(PathBuf::from);
                    if let Some(path) = path.as_ref().filter(|p| !p.is_file()) {
                        return Err(Error::MissingSasldb(path.clone()));
                    }
                    CredentialSource::Sasldb(path)
                }
                Some("ldapdb") => CredentialSource::Ldapdb,
                _ => CredentialSource::Other,
            };
            return Ok(MasterConfig {
                sasl: config,
                source,
                store: None,
                acls,
                channel_binding,
                external_principal,
                election,
                limits,
                file_warnings: Vec::new(),
            });
        };
        for key in ["sasldb_path", "auxprop_plugin"] {
            let other_store = match config.get(key) {
                Some(value) => !(key == "auxprop_plugin" && value == MEMORY_AUXPROP_PLUGIN),
                None => false,
            };
            if other_store {
                return Err(Error::Conflict { key });
            }
        }
        let path = resolve(&credentials, base);
        let (credentials, file_warnings) = read_credentials_warned(&path)?;
        let store = CredentialStore::from_credentials(store_entries(credentials)).map_err(Error::Store)?;
        // Not a libsasl2 option: keep it out of what the servers are served.
        config.remove(CREDENTIALS_KEY);
        config.set_credential_store(&store);
        let source = CredentialSource::CredentialsFile(path);
        Ok(MasterConfig {
            sasl: config,
            source,
            store: Some(store),
            acls,
            channel_binding,
            external_principal,
            election,
            limits,
            file_warnings,
        })
    }

    /// What the `channel_binding` key says (default
    /// [`ChannelBindingPolicy::Prefer`]), for
    /// [`ServerOptions::channel_binding`](crate::ServerOptions::channel_binding).
    pub fn channel_binding(&self) -> ChannelBindingPolicy {
        self.channel_binding
    }

    /// What the `external_principal` key says, for
    /// [`MasterOptions::external`](crate::MasterOptions::external).
    pub fn external_principal(&self) -> Option<PrincipalSource> {
        self.external_principal
    }

    /// The ZooKeeper election the `zk` key names, with the `zk_session_timeout`,
    /// for [`MasterOptions::election`](crate::MasterOptions::election); `None`
    /// without a `zk` key.
    pub fn election(&self) -> Option<MasterElection> {
        self.election.clone()
    }

    /// The limits its `max_*` keys set, for
    /// [`MasterOptions::from_config`](crate::MasterOptions::from_config).
    pub fn limits(&self) -> MasterLimits {
        self.limits
    }

    /// The ACL file the `acls` key names, if any.
    pub fn acls(&self) -> Option<&Arc<AclFile>> {
        self.acls.as_ref()
    }

    /// A registration gate deciding by the `acls` file (and its reloads), for
    /// [`MasterOptions::registration`](crate::MasterOptions::registration);
    /// `None` without an `acls` key.
    pub fn registration_gate(&self) -> Option<RegistrationGate> {
        self.acls.as_ref().map(|file| RegistrationGate::from_acl_file(Arc::clone(file)))
    }

    /// The config to create the master's SASL servers with (with the store
    /// attached when there is one).
    pub fn sasl_config(&self) -> &Config {
        &self.sasl
    }

    /// What an operator should hear about, also logged at `warn`: the
    /// credentials file's (open to others, no credentials, as loaded) and the
    /// SASL config's ([`Config::warnings`]: anonymous or plaintext logins
    /// allowed, an empty store).
    pub fn warnings(&self) -> Vec<crate::Warning> {
        let mut warnings = self.file_warnings.clone();
        // An empty file already says why the store is empty.
        let empty_file = warnings.iter().any(|w| matches!(w, crate::Warning::EmptyCredentialsFile { .. }));
        warnings.extend(
            self.sasl
                .warnings()
                .into_iter()
                .filter(|w| !(empty_file && *w == cyrus_sasl::Warning::EmptyStore))
                .map(crate::Warning::Sasl),
        );
        warnings
    }

    /// Where the secrets come from.
    pub fn source(&self) -> &CredentialSource {
        &self.source
    }

    /// The in-memory store, when the config names a credentials file.
    pub fn credential_store(&self) -> Option<&CredentialStore> {
        self.store.as_ref()
    }

    /// Reads the credentials file again and swaps its contents into the same
    /// store, atomically: handshakes in flight finish against the table they
    /// looked up, later ones see the new one. On any error (unreadable file, bad
    /// syntax, a duplicate principal) the store keeps its old contents. Returns
    /// how many principals it now holds.
    pub fn reload_credentials(&self) -> Result<usize, Error> {
        let (CredentialSource::CredentialsFile(path), Some(store)) = (&self.source, &self.store) else {
            return Err(Error::NoCredentialsFile);
        };
        store.replace(store_entries(read_credentials(path)?)).map_err(Error::Store)?;
        Ok(store.len())
    }
}

/// The `zk` (or `zookeeper`) and `zk_session_timeout` keys, taken out of `config`.
fn election(config: &mut Config) -> Result<Option<MasterElection>, Error> {
    let mut zk = None;
    for key in [ZK_KEY, ZOOKEEPER_KEY] {
        if let Some(value) = config.get(key).map(|v| Zeroizing::new(v.to_owned())) {
            config.remove(key);
            if zk.is_some() {
                return Err(Error::Conflict { key: ZOOKEEPER_KEY });
            }
            let address = value.parse::<MasterAddress>().and_then(|a| a.load());
            zk = Some(match address {
                Ok(MasterAddress::ZooKeeper(zk)) => zk,
                Ok(other) => return Err(Error::NotZooKeeper { key, address: other.to_string() }),
                Err(source) => return Err(Error::ZooKeeper { key, source }),
            });
        }
    }
    let timeout = match config.get(ZK_SESSION_TIMEOUT_KEY).map(str::to_owned) {
        Some(value) => {
            config.remove(ZK_SESSION_TIMEOUT_KEY);
            Some(parse_duration(&value).ok_or_else(|| Error::ZkSessionTimeout(value.chars().take(64).collect()))?)
        }
        None => None,
    };
    Ok(zk.map(|zk| MasterElection {
        session_timeout: timeout.unwrap_or(crate::DEFAULT_ZK_SESSION_TIMEOUT),
        ..MasterElection::new(zk)
    }))
}

/// The `max_*` limit keys, taken out of `config`.
fn limits(config: &mut Config) -> Result<MasterLimits, Error> {
    let mut values = [None; LIMIT_KEYS.len()];
    for (key, value) in LIMIT_KEYS.into_iter().zip(&mut values) {
        if let Some(text) = config.get(key).map(str::to_owned) {
            config.remove(key);
            let n = text.trim().parse::<usize>().ok().filter(|n| (1..=10_000_000).contains(n));
            *value = Some(n.ok_or_else(|| Error::Limit { key, value: text.chars().take(64).collect() })?);
        }
    }
    let [
        max_sessions,
        max_sessions_per_ip,
        max_connections,
        max_connections_per_ip,
        max_upids_per_principal,
        max_registrations_in_flight,
        max_registrations_per_ip,
    ] = values;
    Ok(MasterLimits {
        max_sessions,
        max_sessions_per_ip,
        max_connections,
        max_connections_per_ip,
        max_upids_per_principal,
        max_registrations_in_flight,
        max_registrations_per_ip,
    })
}

/// A duration as Mesos writes one (`10secs`, `500ms`, `1mins`) or as seconds
/// (`10`, `2.5s`); between 1 ms and one hour.
fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let seconds = match unit.trim() {
        "" | "s" | "secs" | "sec" => number,
        "ms" => number / 1000.0,
        "mins" | "min" => number * 60.0,
        _ => return None,
    };
    (0.001..=3600.0).contains(&seconds).then(|| Duration::from_secs_f64(seconds))
}

/// `value` as a path: without `file://`, relative to `base` (the config
/// file's folder) when relative. Client configs read paths the same way.
pub(crate) fn resolve(value: &str, base: Option<&Path>) -> PathBuf {
    let path = Path::new(value.strip_prefix("file://").unwrap_or(value));
    match base {
        Some(base) if path.is_relative() => base.join(path),
        _ => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_credentials_key_makes_an_in_memory_store_and_leaves_libsasl2_options_clean() {
        let dir = tempfile::tempdir().unwrap();
        let creds = write(dir.path(), "creds", "fw s1\nagent s2\n");
        let master = MasterConfig::read(write(
            dir.path(),
            "m.conf",
            &format!("mech_list: CRAM-MD5\ncredentials: file://{}\n", creds.display()),
        ))
        .unwrap();
        assert_eq!(master.source(), &CredentialSource::CredentialsFile(creds));
        assert_eq!(master.credential_store().unwrap().len(), 2);
        let sasl = master.sasl_config();
        assert_eq!(sasl.get(CREDENTIALS_KEY), None);
        assert_eq!(sasl.get("auxprop_plugin"), Some(MEMORY_AUXPROP_PLUGIN));
        assert!(sasl.credential_store().is_some());
    }

    #[test]
    fn a_relative_credentials_path_is_relative_to_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        write(&dir.path().join("etc"), "creds", "fw s1\n");
        let conf = write(&dir.path().join("etc"), "m.conf", "credentials: creds\n");
        let master = MasterConfig::read(conf).unwrap();
        assert_eq!(master.source(), &CredentialSource::CredentialsFile(dir.path().join("etc/creds")));
    }

    #[test]
    fn mech_list_defaults_to_cram_md5_and_may_not_be_empty() {
        let dir = tempfile::tempdir().unwrap();
        let creds = write(dir.path(), "creds", "fw s1\n");
        let master = MasterConfig::read_credentials_file(&creds).unwrap();
        assert_eq!(master.sasl_config().mech_list(), Some(vec!["CRAM-MD5".to_owned()]));
        let err = MasterConfig::from_sasl_config(Config::new().with("mech_list", " ").unwrap()).unwrap_err();
        assert!(matches!(err, Error::EmptyMechList), "{err:?}");
    }

    #[test]
    fn a_sasldb_config_is_recognised_and_a_missing_file_is_reported_at_load() {
        let dir = tempfile::tempdir().unwrap();
        let db = write(dir.path(), "sasldb2", "");
        let text = format!("auxprop_plugin: sasldb\nsasldb_path: {}\n", db.display());
        let master = MasterConfig::from_sasl_config(text.parse().unwrap()).unwrap();
        assert_eq!(master.source(), &CredentialSource::Sasldb(Some(db)));
        assert!(master.credential_store().is_none());
        assert!(matches!(master.reload_credentials(), Err(Error::NoCredentialsFile)));

        let missing = dir.path().join("nope");
        let text = format!("auxprop_plugin: sasldb\nsasldb_path: {}\n", missing.display());
        let err = MasterConfig::from_sasl_config(text.parse().unwrap()).unwrap_err();
        assert!(matches!(&err, Error::MissingSasldb(p) if *p == missing), "{err:?}");
    }

    #[test]
    fn an_acls_key_loads_the_acl_file_and_stays_out_of_libsasl2_options() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "creds", "fw s1\n");
        write(dir.path(), "acls.json", r#"{"permissive": false}"#);
        let master = MasterConfig::read(write(dir.path(), "m.conf", "credentials: creds\nacls: acls.json\n")).unwrap();
        assert_eq!(master.acls().unwrap().path(), dir.path().join("acls.json"));
        assert!(!master.acls().unwrap().current().permissive());
        assert_eq!(master.sasl_config().get(ACLS_KEY), None);
        assert!(master.registration_gate().is_some());

        // A bad ACL file fails the load, naming the file.
        write(dir.path(), "acls.json", r#"{"permissive": "no"}"#);
        let err = MasterConfig::read(dir.path().join("m.conf")).unwrap_err();
        assert!(matches!(err, Error::File(_)), "{err:?}");
        assert!(err.to_string().contains("acls.json"), "{err}");
        // Without the key: no gate.
        let master = MasterConfig::read(write(dir.path(), "n.conf", "credentials: creds\n")).unwrap();
        assert!(master.acls().is_none() && master.registration_gate().is_none());
    }

    #[test]
    fn an_ldapdb_config_is_recognised() {
        let master = MasterConfig::from_sasl_config("auxprop_plugin: ldapdb\n".parse().unwrap()).unwrap();
        assert_eq!(master.source(), &CredentialSource::Ldapdb);
        assert_eq!(master.sasl_config().get("auxprop_plugin"), Some("ldapdb"));
    }

    #[test]
    fn gssapi_configs_pass_through_untouched() {
        let text = "mech_list: GSSAPI CRAM-MD5\nkeytab: /etc/mesos.keytab\n";
        let master = MasterConfig::from_sasl_config(text.parse().unwrap()).unwrap();
        assert_eq!(master.source(), &CredentialSource::Other);
        assert_eq!(master.sasl_config().get("keytab"), Some("/etc/mesos.keytab"));
        assert_eq!(master.sasl_config().mech_list(), Some(vec!["GSSAPI".to_owned(), "CRAM-MD5".to_owned()]));
    }

    #[test]
    fn credentials_with_another_store_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let creds = write(dir.path(), "creds", "fw s1\n");
        for extra in ["auxprop_plugin: sasldb", "sasldb_path: /tmp/x"] {
            let text = format!("credentials: {}\n{extra}\n", creds.display());
            let config = Config::parse_bytes_with(text.as_bytes(), &[CREDENTIALS_KEY]).unwrap();
            let err = MasterConfig::from_sasl_config(config).unwrap_err();
            assert!(matches!(err, Error::Conflict { .. }), "{extra}: {err:?}");
        }
    }

    #[test]
    fn bad_credentials_fail_the_load_and_a_bad_reload_keeps_the_old_store() {
        let dir = tempfile::tempdir().unwrap();
        let creds = write(dir.path(), "creds", "fw s1\nfw s2\n");
        let err = MasterConfig::read_credentials_file(&creds).unwrap_err();
        // The file reader catches a duplicate first, naming the line.
        assert!(matches!(err, Error::File(ref e) if e.line == 2), "{err:?}");
        assert!(!err.to_string().contains("s1") && !err.to_string().contains("s2"), "{err}");

        write(dir.path(), "creds", "fw s1\n");
        let master = MasterConfig::read_credentials_file(&creds).unwrap();
        write(dir.path(), "creds", "{\"credentials\": [");
        let err = master.reload_credentials().unwrap_err();
        assert!(matches!(err, Error::File(_)), "{err:?}");
        assert!(master.credential_store().unwrap().contains("fw"));

        std::fs::remove_file(&creds).unwrap();
        assert!(master.reload_credentials().is_err());
        assert!(master.credential_store().unwrap().contains("fw"));
    }

    #[test]
    fn a_zk_key_makes_an_election_and_stays_out_of_libsasl2_options() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "credentials", "p s\n");
        let conf = write(
            dir.path(),
            "master.conf",
            "credentials: credentials\nzk: zk://alice:pw@127.0.0.1:2181/mesos\nzk_session_timeout: 2secs\n",
        );
        let master = MasterConfig::read(&conf).unwrap();
        let election = master.election().unwrap();
        assert_eq!(election.zk.to_string(), "zk://alice:***@127.0.0.1:2181/mesos");
        assert_eq!(election.session_timeout, Duration::from_secs(2));
        for key in [ZK_KEY, ZK_SESSION_TIMEOUT_KEY] {
            assert_eq!(master.sasl_config().get(key), None);
        }
        assert!(!format!("{master:?}").contains("pw@"), "{master:?}");
        let options = crate::MasterOptions::from_config(&master);
        assert_eq!(options.election, Some(election));

        let conf = write(dir.path(), "other.conf", "credentials: credentials\nzookeeper: zk://127.0.0.1:2181/m\n");
        let election = MasterConfig::read(&conf).unwrap().election().unwrap();
        assert_eq!(election.session_timeout, crate::DEFAULT_ZK_SESSION_TIMEOUT);
        let none = write(dir.path(), "none.conf", "credentials: credentials\n");
        assert_eq!(MasterConfig::read(&none).unwrap().election(), None);
    }

    #[test]
    fn a_zk_key_that_is_no_zookeeper_address_is_an_error_without_its_password() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "credentials", "p s\n");
        for (text, wanted) in [
            ("zk: 127.0.0.1:5050\n", "not a zk://"),
            ("zk: zk://u:hunter2@127.0.0.1:2181\n", "no path"),
            ("zk: zk://127.0.0.1:2181/m\nzk_session_timeout: soon\n", "zk_session_timeout"),
            ("zk: zk://127.0.0.1:2181/m\nzookeeper: zk://127.0.0.1:2181/n\n", "zookeeper"),
        ] {
            let conf = write(dir.path(), "master.conf", &format!("credentials: credentials\n{text}"));
            let e = MasterConfig::read(&conf).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(wanted), "{shown}");
            assert!(!shown.contains("hunter2"), "{shown}");
        }
    }

    #[test]
    fn the_registration_limit_keys_set_the_master_options_and_stay_out_of_libsasl2_options() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "credentials", "p s\n");
        let text = "credentials: credentials\nmax_registrations_in_flight: 16\nmax_registrations_per_ip: 4\n";
        let master = MasterConfig::read(write(dir.path(), "master.conf", text)).unwrap();
        let limits = master.limits();
        assert_eq!((limits.max_registrations_in_flight, limits.max_registrations_per_ip), (Some(16), Some(4)));
        for key in [MAX_REGISTRATIONS_IN_FLIGHT_KEY, MAX_REGISTRATIONS_PER_IP_KEY] {
            assert_eq!(master.sasl_config().get(key), None);
        }
        let options = crate::MasterOptions::from_config(&master);
        assert_eq!((options.max_registrations_in_flight, options.max_registrations_per_ip), (16, 4));

        // Absent: the documented defaults.
        let master = MasterConfig::read(write(dir.path(), "plain.conf", "credentials: credentials\n")).unwrap();
        let options = crate::MasterOptions::from_config(&master);
        assert_eq!(options.max_registrations_in_flight, crate::MAX_REGISTRATIONS_IN_FLIGHT);
        assert_eq!(options.max_registrations_per_ip, crate::DEFAULT_MAX_REGISTRATIONS_PER_IP);

        for (key, bad) in [
            ("max_registrations_per_ip", "0"),
            ("max_registrations_in_flight", "many"),
            ("max_registrations_per_ip", "-3"),
        ] {
            let conf = write(dir.path(), "bad.conf", &format!("credentials: credentials\n{key}: {bad}\n"));
            let e = MasterConfig::read(&conf).unwrap_err();
            assert!(matches!(&e, Error::Limit { key: k, value } if *k == key && value == bad), "{e:?}");
            assert!(e.to_string().contains(key), "{e}");
        }
    }

    #[test]
    fn durations_read_as_mesos_writes_them() {
        assert_eq!(parse_duration("10secs"), Some(Duration::from_secs(10)));
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("2500ms"), Some(Duration::from_millis(2500)));
        assert_eq!(parse_duration("1mins"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        for bad in ["", "s", "0", "-1s", "10hours", "1e9", "NaN"] {
            assert_eq!(parse_duration(bad), None, "{bad:?}");
        }
    }
}

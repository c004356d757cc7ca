//! [`ClientConfig`]: a framework's or agent's side of Mesos authentication,
//! chosen by a config file as a master's is ([`MasterConfig`](crate::MasterConfig)).

use std::io::Read as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::authenticatee::is_secretless;
use crate::master_config::resolve;
use crate::{
    AuthenticateOptions, ChannelBindingPolicy, ClientOptions, Credential, DEFAULT_MECH_LIST, DEFAULT_SERVICE,
    FileError, MasterAddress, read_credential,
};
use cyrus_sasl::{Config, ConfigError, Secret};
use libprocess::{EndpointOptions, EnvError};

/// The client config key naming the master: what Mesos's `--master` takes
/// (`HOST:PORT`, `master@HOST:PORT`, `zk://...`, or `file:///PATH` holding one).
pub const MASTER_KEY: &str = "master";

/// The client config key naming the principal (with [`SECRET_FILE_KEY`], or
/// alone for GSSAPI and EXTERNAL, which need no secret).
pub const PRINCIPAL_KEY: &str = "principal";

/// The client config key naming a file holding the principal's secret.
pub const SECRET_FILE_KEY: &str = "secret_file";

/// The client config key naming a credential file in the format of Mesos's
/// `--credential` flag (one `{"principal": .., "secret": ..}` object, or one
/// `principal secret` line), instead of `principal` and `secret_file`.
pub const CREDENTIAL_KEY: &str = "credential";

/// The client config key setting the SASL service name (default `mesos`, as
/// the master's).
pub const SERVICE_KEY: &str = "service";

/// The client config key setting the master's host name as SASL sees it
/// (default `localhost`, as `sasl-sample mesos-master --fqdn`'s default).
pub const SERVER_FQDN_KEY: &str = "server_fqdn";

/// The TLS keys of a client config: each is the `LIBPROCESS_SSL_*` variable of
/// the same name, lowercase and without `LIBPROCESS_` (`ssl_enabled` is
/// `LIBPROCESS_SSL_ENABLED`), with the same values.
pub const TLS_KEYS: [&str; 9] = [
    "ssl_enabled",
    "ssl_cert_file",
    "ssl_key_file",
    "ssl_ca_file",
    "ssl_ca_dir",
    "ssl_verify_server_cert",
    "ssl_require_client_cert",
    "ssl_support_downgrade",
    "ssl_hostname_validation_scheme",
];

/// The TLS keys whose values are paths (taken relative to the config file).
const TLS_PATH_KEYS: [&str; 4] = ["ssl_cert_file", "ssl_key_file", "ssl_ca_file", "ssl_ca_dir"];

/// The largest secret file read.
const MAX_SECRET_FILE_SIZE: u64 = 64 * 1024;

/// A credential without a secret given to a client that may use a mechanism
/// needing one (CRAM-MD5, SCRAM, ...): no attempt could succeed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "principal {principal:?} has no secret, which {} need{}: give a secret (secret_file or credential), or allow \
     only mechanisms that need none (GSSAPI, EXTERNAL)",
    needing.join(", "),
    if needing.len() == 1 { "s" } else { "" }
)]
pub struct MissingSecret {
    /// The principal.
    pub principal: String,
    /// The allowed mechanisms that need a secret.
    pub needing: Vec<String>,
}

impl Credential {
    /// A principal without a secret, for Kerberos ([`ClientOptions::mechanisms`]
    /// `["GSSAPI"]`): the ticket in the credential cache (the `ccache` option of
    /// [`ClientOptions::config`], or `KRB5CCNAME`) proves who the client is.
    /// The same as [`Credential::external`]; each names what it is for.
    pub fn kerberos(principal: impl Into<String>) -> Self {
        Credential { principal: principal.into(), secret: None }
    }

    /// Whether this credential can be used with `options`: without a secret,
    /// every allowed mechanism must be one that needs none (GSSAPI, GS2-KRB5,
    /// EXTERNAL). [`authenticate`](crate::authenticate) checks this before its
    /// first attempt.
    pub fn check(&self, options: &ClientOptions) -> Result<(), MissingSecret> {
        if self.secret.is_some() {
            return Ok(());
        }
        let needing: Vec<String> = options.mechanisms.iter().filter(|m| !is_secretless(m)).cloned().collect();
        if needing.is_empty() && !options.mechanisms.is_empty() {
            return Ok(());
        }
        Err(MissingSecret {
            principal: self.principal.clone(),
            needing: if needing.is_empty() { vec!["(no mechanism allowed)".to_owned()] } else { needing },
        })
    }
}

/// Why a [`ClientConfig`] could not be read. Never holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientConfigError {
    /// The config file itself: unreadable, a malformed line, an unknown key
    /// (naming the nearest known one).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The credential file the `credential` key names.
    #[error(transparent)]
    Credential(#[from] FileError),
    /// The file the `secret_file` key names could not be used.
    #[error("secret_file {}: {reason}", path.display())]
    SecretFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// `secret_file` without `principal`, `credential` with `principal`, or
    /// neither.
    #[error("{0}")]
    Credentials(&'static str),
    /// The principal has no secret and a mechanism allowed needs one.
    #[error(transparent)]
    MissingSecret(#[from] MissingSecret),
    /// `mech_list` is present but names no mechanism.
    #[error("mech_list names no mechanism: name one (CRAM-MD5 is Mesos's) or remove the key")]
    EmptyMechList,
    /// `channel_binding` is not `off`, `prefer` or `require`.
    #[error(transparent)]
    ChannelBinding(#[from] crate::UnknownChannelBindingPolicy),
    /// `master` is not a master address.
    #[error("master: {0}")]
    Master(#[source] crate::zookeeper::AddressError),
    /// A TLS key (or, without TLS keys in the file, a `LIBPROCESS_*`
    /// variable) has a bad value.
    #[error("{key}: {source}")]
    Tls {
        /// The key, or the variable.
        key: String,
        /// What is wrong.
        #[source]
        source: EnvError,
    },
}

/// A framework's or agent's side of Mesos authentication, read from a file in
/// the format of the master's ([`MasterConfig`](crate::MasterConfig)): Cyrus's
/// `key: value` lines, every key known (a misspelt one is an error naming the
/// nearest: `did you mean mech_list?`).
///
/// | Key | Meaning |
/// |---|---|
/// | `master` | The master, as Mesos's `--master`: `HOST:PORT`, `master@HOST:PORT`, `zk://[USER:PASSWORD@]HOST:PORT[,...]/PATH`, or `file:///PATH` holding one ([`master`](Self::master)). Optional: a program may take it elsewhere. |
/// | `principal`, `secret_file` | Who authenticates, and the file holding its secret (one trailing newline stripped). `principal` alone: no secret, for GSSAPI (the Kerberos ticket proves who the client is) or EXTERNAL (the TLS client certificate does). |
/// | `credential` | Instead: a credential file in the format of Mesos's `--credential` flag ([`read_credential`]). |
/// | `mech_list` | The mechanisms this client may use (default `CRAM-MD5`, Mesos's): [`ClientOptions::mechanisms`]. Without a secret, only GSSAPI, GS2-KRB5 and EXTERNAL may be listed ([`MissingSecret`]). |
/// | `service` | The SASL service name (default `mesos`, the master's default). |
/// | `server_fqdn` | The master's host name as SASL sees it (default `localhost`, the default of `sasl-sample mesos-master --fqdn`): for GSSAPI, the host part of the master's service principal `SERVICE/FQDN@REALM`, never an IP address. |
/// | `channel_binding` | `off`, `prefer` (default) or `require` ([`ChannelBindingPolicy`]), as the master's key. |
/// | `ccache` | For GSSAPI: the Kerberos credential cache (`FILE:/path`), instead of `KRB5CCNAME`. Passed to libsasl2 with the other libsasl2 options (`min_ssf`, ...). |
/// | `ssl_enabled`, `ssl_cert_file`, `ssl_key_file`, `ssl_ca_file`, `ssl_ca_dir`, `ssl_verify_server_cert`, `ssl_require_client_cert`, `ssl_support_downgrade`, `ssl_hostname_validation_scheme` | TLS on the endpoint, as the `LIBPROCESS_SSL_*` variable of the same name ([`TLS_KEYS`]; paths relative to the config file). With any of them in the file, the file alone decides TLS and the `LIBPROCESS_SSL_*` variables are not read; without, they are, as in Mesos. The endpoint's addresses always come from `LIBPROCESS_IP`, `LIBPROCESS_PORT`, ... ([`endpoint_options`](Self::endpoint_options)). |
///
/// Relative paths (`secret_file`, `credential`, TLS files) are taken relative
/// to the config file's directory.
///
/// **The defaults agree with the master's.** A master made by
/// [`MasterOptions`](crate::MasterOptions) or `sasl-sample mesos-master` runs
/// SASL as service `mesos` on host `localhost`, so its Kerberos service
/// principal is `mesos/localhost@REALM`; this client, with no `service` or
/// `server_fqdn` key, asks for a ticket to exactly that principal. Switching
/// both sides from CRAM-MD5 to Kerberos is then a matter of their files only:
///
/// ```text
/// # master.conf                       # framework.conf
/// mech_list: GSSAPI                   mech_list: GSSAPI
/// keytab: /etc/mesos/mesos.keytab     ccache: FILE:/var/lib/framework/krb5cc
///                                     principal: framework-a
///                                     master: 10.0.0.1:5050
/// ```
///
/// [`AuthenticateOptions::from_config`] turns it into what
/// [`authenticate`](crate::authenticate) takes, beside
/// [`credential`](Self::credential), [`master`](Self::master) and
/// [`endpoint_options`](Self::endpoint_options):
///
/// ```
/// use cyrus_sasl_mesos::{AuthenticateOptions, ClientConfig};
/// let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("secret"), "s3cret\n")?;
/// std::fs::write(
///     dir.path().join("framework.conf"),
///     "master: 127.0.0.1:5050\nprincipal: framework-a\nsecret_file: secret\nmech_list: SCRAM-SHA-256\n",
/// )?;
/// let config = ClientConfig::read(dir.path().join("framework.conf"))?;
/// let options = AuthenticateOptions::from_config(&config);
/// assert_eq!(options.client.mechanisms, ["SCRAM-SHA-256"]);
/// assert_eq!((options.client.service.as_str(), options.client.server_fqdn.as_str()), ("mesos", "localhost"));
/// assert_eq!(config.credential().principal, "framework-a");
/// assert_eq!(config.master().unwrap().to_string(), "master@127.0.0.1:5050");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    client: ClientOptions,
    credential: Credential,
    master: Option<MasterAddress>,
    endpoint: EndpointOptions,
}

impl ClientConfig {
    /// Reads a client config file (see the [type docs](Self)), and the
    /// secret or credential file it names.
    pub fn read(path: impl AsRef<Path>) -> Result<Self, ClientConfigError> {
        Self::read_with_env(path, |name| std::env::var(name).ok())
    }

    /// [`read`](Self::read), with the `LIBPROCESS_*` variables taken from
    /// `var` instead of the environment (for tests and tools).
    pub fn read_with_env(
        path: impl AsRef<Path>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientConfigError> {
        let path = path.as_ref();
        let mut keys = vec![
            MASTER_KEY,
            PRINCIPAL_KEY,
            SECRET_FILE_KEY,
            CREDENTIAL_KEY,
            SERVICE_KEY,
            SERVER_FQDN_KEY,
            crate::CHANNEL_BINDING_KEY,
        ];
        keys.extend(TLS_KEYS);
        let config = Config::from_file_with(path, &keys)?;
        Self::build(config, path.parent(), var)
    }

    fn build(
        mut config: Config,
        base: Option<&Path>,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ClientConfigError> {
        let mut take = |key: &str| {
            let value = config.get(key).map(str::to_owned);
            config.remove(key);
            value
        };
        let master = take(MASTER_KEY)
            .map(|value| value.parse::<MasterAddress>().map_err(ClientConfigError::Master))
            .transpose()?;
        let service = take(SERVICE_KEY).unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        let server_fqdn = take(SERVER_FQDN_KEY).unwrap_or_else(|| ClientOptions::default().server_fqdn);
        let channel_binding = take(crate::CHANNEL_BINDING_KEY)
            .map(|v| v.parse::<ChannelBindingPolicy>())
            .transpose()?
            .unwrap_or_default();
        let principal = take(PRINCIPAL_KEY);
        let secret_file = take(SECRET_FILE_KEY);
        let credential_file = take(CREDENTIAL_KEY);
        let tls: Vec<(&str, String)> = TLS_KEYS
            .iter()
            .filter_map(|&key| {
                let value = take(key)?;
                let value = if TLS_PATH_KEYS.contains(&key) {
                    resolve(&value, base).to_string_lossy().into_owned()
                } else {
                    value
                };
                Some((key, value))
            })
            .collect();
        let endpoint = endpoint_options(&tls, var)?;

        // The client's mechanisms; not a libsasl2 option of the client's, which
        // would also have to name each -PLUS variant the master may offer.
        let mechanisms = match config.mech_list() {
            None => vec![DEFAULT_MECH_LIST.to_owned()],
            Some(list) if list.is_empty() => return Err(ClientConfigError::EmptyMechList),
            Some(list) => list,
        };
        config.remove("mech_list");

        let credential = match (principal, secret_file, credential_file) {
            (None, None, Some(file)) => read_credential(resolve(&file, base))?,
            (Some(principal), Some(file), None) => Credential::new(principal, read_secret(&resolve(&file, base))?),
            (Some(principal), None, None) => Credential::kerberos(principal),
            (_, _, Some(_)) => {
                return Err(ClientConfigError::Credentials(
                    "credential (a credential file) conflicts with principal and secret_file: keep one",
                ));
            }
            (None, Some(_), None) => {
                return Err(ClientConfigError::Credentials("secret_file needs principal: name whose secret it is"));
            }
            (None, None, None) => {
                return Err(ClientConfigError::Credentials(
                    "no credential: give principal (with secret_file, or alone for GSSAPI or EXTERNAL) or credential",
                ));
            }
        };
        let client =
            ClientOptions { service, server_fqdn, config, mechanisms, channel_binding, ..ClientOptions::default() };
        credential.check(&client)?;
        Ok(ClientConfig { client, credential, master, endpoint })
    }

    /// The SASL client's options: mechanisms, service, host name, channel
    /// binding, and the libsasl2 options (`ccache`, ...).
    pub fn client_options(&self) -> &ClientOptions {
        &self.client
    }

    /// Who authenticates (its secret, if it has one, never shown).
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// The master the `master` key names, if it names one.
    pub fn master(&self) -> Option<&MasterAddress> {
        self.master.as_ref()
    }

    /// The endpoint's options: TLS from the file's `ssl_*` keys (or, without
    /// any, from `LIBPROCESS_SSL_*`), the addresses from `LIBPROCESS_IP`,
    /// `LIBPROCESS_PORT`, `LIBPROCESS_ADVERTISE_IP` and
    /// `LIBPROCESS_ADVERTISE_PORT`, as read when the config was.
    pub fn endpoint_options(&self) -> &EndpointOptions {
        &self.endpoint
    }
}

impl AuthenticateOptions {
    /// The options of [`authenticate`](crate::authenticate) for `config`: its
    /// [`client_options`](ClientConfig::client_options), and the defaults
    /// for the rest (backoff, timeout), as
    /// [`MasterOptions::from_config`](crate::MasterOptions::from_config) is
    /// for a master.
    pub fn from_config(config: &ClientConfig) -> Self {
        AuthenticateOptions { client: config.client.clone(), ..AuthenticateOptions::default() }
    }
}

/// The endpoint's options: `LIBPROCESS_*` from `var`, except that TLS comes
/// from `tls` alone when it holds any key.
fn endpoint_options(
    tls: &[(&str, String)],
    var: impl Fn(&str) -> Option<String>,
) -> Result<EndpointOptions, ClientConfigError> {
    let from_file = !tls.is_empty();
    let key_of = |name: &str| name.strip_prefix("LIBPROCESS_").map(str::to_ascii_lowercase);
    EndpointOptions::from_vars(|name| {
        if from_file && name.starts_with("LIBPROCESS_SSL_") {
            let key = key_of(name)?;
            tls.iter().find(|(k, _)| **k == key).map(|(_, v)| v.clone())
        } else {
            var(name)
        }
    })
    .map_err(|source| {
        let key = match key_of(source.var) {
            Some(key) if from_file && source.var.starts_with("LIBPROCESS_SSL_") => key,
            _ => source.var.to_owned(),
        };
        ClientConfigError::Tls { key, source }
    })
}

/// A secret file's contents, one trailing newline stripped.
fn read_secret(path: &Path) -> Result<Secret, ClientConfigError> {
    let error = |reason: String| ClientConfigError::SecretFile { path: path.to_owned(), reason };
    let file = std::fs::File::open(path).map_err(|e| error(e.to_string()))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_SECRET_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(|e| error(e.to_string()))?;
    if bytes.len() as u64 > MAX_SECRET_FILE_SIZE {
        return Err(error(format!("larger than {MAX_SECRET_FILE_SIZE} bytes: is it the right file?")));
    }
    let end = bytes.strip_suffix(b"\r\n").or_else(|| bytes.strip_suffix(b"\n")).map_or(bytes.len(), <[u8]>::len);
    if end == 0 {
        return Err(error("empty: write the secret into it".to_owned()));
    }
    if bytes[..end].contains(&0) {
        return Err(error("holds a NUL byte, which ends a secret for libsasl2".to_owned()));
    }
    Ok(Secret::new(bytes[..end].to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, files: &[(&str, &str)]) -> Result<ClientConfig, ClientConfigError> {
        read_env(text, files, &[])
    }

    fn read_env(text: &str, files: &[(&str, &str)], env: &[(&str, &str)]) -> Result<ClientConfig, ClientConfigError> {
        let dir = tempfile::tempdir().unwrap();
        for (name, contents) in files {
            std::fs::write(dir.path().join(name), contents).unwrap();
        }
        let path = dir.path().join("client.conf");
        std::fs::write(&path, text).unwrap();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        ClientConfig::read_with_env(&path, |name| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn every_key_takes_effect() {
        let config = read(
            "master: zk://127.0.0.1:2181/mesos\nprincipal: fw\nsecret_file: secret\nmech_list: SCRAM-SHA-256 \
             CRAM-MD5\nservice: other\nserver_fqdn: master.example\nchannel_binding: require\nmin_ssf: 0\n",
            &[("secret", "s3cret\n")],
        )
        .unwrap();
        let client = config.client_options();
        assert_eq!(client.mechanisms, ["SCRAM-SHA-256", "CRAM-MD5"]);
        assert_eq!((client.service.as_str(), client.server_fqdn.as_str()), ("other", "master.example"));
        assert_eq!(client.channel_binding, ChannelBindingPolicy::Require);
        assert_eq!(config.credential().secret.as_ref().unwrap().expose(), b"s3cret");
        assert!(matches!(config.master(), Some(MasterAddress::ZooKeeper(_))));
        // Only libsasl2's own options are left for libsasl2.
        let left: Vec<_> = client.config.options().map(|(k, _)| k.to_owned()).collect();
        assert!(
            !left.iter().any(|k| ["master", "principal", "secret_file", "mech_list", "service"].contains(&k.as_str()))
        );
        let options = AuthenticateOptions::from_config(&config);
        assert_eq!(options.client.mechanisms, client.mechanisms);
    }

    #[test]
    fn the_defaults_are_the_masters() {
        let config = read("principal: fw\nsecret_file: secret\n", &[("secret", "s")]).unwrap();
        let client = config.client_options();
        assert_eq!(client.mechanisms, [DEFAULT_MECH_LIST]);
        assert_eq!(client.service, crate::ServerOptions::default().service);
        assert_eq!(client.server_fqdn, crate::ServerOptions::default().fqdn);
        assert_eq!(client.channel_binding, ChannelBindingPolicy::Prefer);
        assert!(config.master().is_none());
        assert!(config.endpoint_options().tls.is_none());
    }

    #[test]
    fn a_credential_file_or_a_principal_with_its_secret_file() {
        let config =
            read("credential: cred.json\n", &[("cred.json", r#"{"principal": "fw", "secret": "x"}"#)]).unwrap();
        assert_eq!(config.credential().principal, "fw");
        for (text, wanted) in [
            ("credential: c\nprincipal: fw\n", "conflicts"),
            ("secret_file: s\n", "needs principal"),
            ("mech_list: CRAM-MD5\n", "no credential"),
            ("principal: fw\nsecret_file: missing\n", "secret_file"),
            ("principal: fw\nsecret_file: empty\n", "empty"),
        ] {
            let e = read(text, &[("c", "fw x\n"), ("empty", "\n")]).unwrap_err();
            assert!(e.to_string().contains(wanted), "{text:?}: {e}");
        }
    }

    #[test]
    fn a_principal_without_a_secret_is_for_gssapi_and_external_only() {
        for list in ["GSSAPI", "EXTERNAL", "GSSAPI EXTERNAL"] {
            let config = read(&format!("principal: alice\nmech_list: {list}\n"), &[]).unwrap();
            assert!(config.credential().secret.is_none());
        }
        let e = read("principal: alice\n", &[]).unwrap_err();
        let ClientConfigError::MissingSecret(missing) = &e else { panic!("{e:?}") };
        assert_eq!(missing.needing, ["CRAM-MD5"]);
        assert!(e.to_string().contains("CRAM-MD5 needs"), "{e}");
        let e = read("principal: alice\nmech_list: GSSAPI SCRAM-SHA-256\n", &[]).unwrap_err();
        assert!(e.to_string().contains("SCRAM-SHA-256 needs"), "{e}");
    }

    #[test]
    fn an_unknown_key_names_the_nearest() {
        let e = read("principal: fw\nsecret_flie: s\n", &[]).unwrap_err();
        assert!(e.to_string().contains("did you mean `secret_file`?"), "{e}");
        let e = read("principal: fw\nmaster_address: x\n", &[]).unwrap_err();
        assert!(matches!(e, ClientConfigError::Config(_)), "{e:?}");
    }

    #[test]
    fn tls_comes_from_the_file_alone_when_it_has_tls_keys() {
        let env = [("LIBPROCESS_SSL_ENABLED", "true"), ("LIBPROCESS_SSL_CERT_FILE", "/env/cert.pem")];
        // No TLS key in the file: the variables decide, as in Mesos.
        let e = read_env("principal: fw\nsecret_file: s\n", &[("s", "x")], &env).unwrap_err();
        assert!(e.to_string().contains("LIBPROCESS_SSL_KEY_FILE"), "{e}");
        // TLS keys in the file: the variables are not read; paths are relative to the file.
        let config = read_env(
            "principal: fw\nsecret_file: s\nssl_enabled: true\nssl_cert_file: c.pem\nssl_key_file: k.pem\n\
             ssl_ca_file: /etc/ca.pem\nssl_verify_server_cert: false\n",
            &[("s", "x")],
            &env,
        )
        .unwrap();
        let tls = config.endpoint_options().tls.as_ref().unwrap();
        assert!(tls.cert_file.ends_with("c.pem") && tls.cert_file.is_absolute(), "{tls:?}");
        assert_eq!(tls.ca_file.as_deref(), Some(Path::new("/etc/ca.pem")));
        assert!(!tls.verify_server_cert);
        // ssl_enabled: false in the file turns TLS off whatever the variables say.
        let config = read_env("principal: fw\nsecret_file: s\nssl_enabled: false\n", &[("s", "x")], &env).unwrap();
        assert!(config.endpoint_options().tls.is_none());
        // A bad value names the key of the file.
        let e = read_env("principal: fw\nsecret_file: s\nssl_enabled: yes\n", &[("s", "x")], &[]).unwrap_err();
        assert!(e.to_string().starts_with("ssl_enabled: "), "{e}");
        // The addresses come from the variables.
        let config =
            read_env("principal: fw\nsecret_file: s\n", &[("s", "x")], &[("LIBPROCESS_PORT", "5051")]).unwrap();
        assert_eq!(config.endpoint_options().bind_port, 5051);
    }

    #[test]
    fn the_secret_is_never_shown() {
        let config = read("principal: fw\nsecret_file: s\n", &[("s", "hunter2\n")]).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn authenticate_refuses_a_credential_without_a_secret_for_cram_md5_before_any_attempt() {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let result = runtime.block_on(async {
            let endpoint = libprocess::Endpoint::bind(EndpointOptions::default()).await.unwrap();
            let me = endpoint.register("scheduler-1").unwrap();
            // Nothing listens there: only the check can end this at once.
            let master: libprocess::Upid = "master@127.0.0.1:9".parse().unwrap();
            let options = AuthenticateOptions { timeout: std::time::Duration::from_secs(5), ..Default::default() };
            crate::authenticate(&endpoint, &master, me.upid(), Credential::kerberos("alice"), &options).await
        });
        let Err(crate::NoVerdict::MissingSecret(missing)) = &result else { panic!("{result:?}") };
        assert_eq!(missing.needing, ["CRAM-MD5"]);
    }

    #[test]
    fn a_credential_without_a_secret_is_checked_against_the_mechanisms() {
        let gssapi = ClientOptions { mechanisms: vec!["gssapi".into()], ..ClientOptions::default() };
        assert_eq!(Credential::kerberos("alice").check(&gssapi), Ok(()));
        let e = Credential::kerberos("alice").check(&ClientOptions::default()).unwrap_err();
        assert_eq!(e.needing, ["CRAM-MD5"]);
        assert_eq!(Credential::new("fw", "s").check(&ClientOptions::default()), Ok(()));
    }
}

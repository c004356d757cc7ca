//! Errors and result codes: plain data at the bottom of the crate. The funnel
//! that turns a libsasl2 return code into a `Result` is `ffi::call`.

use std::ffi::c_int;
use std::fmt;
use std::path::{Path, PathBuf};

use sasl_sys as sys;

/// A libsasl2 result code (`SASL_OK`, `SASL_BADAUTH`, ...).
///
/// Codes this crate does not know are kept as they are, never transmuted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Code(pub c_int);

macro_rules! codes {
    ($($name:ident = $sys:ident,)*) => {
        impl Code {
            $(
                #[doc = concat!("`", stringify!($sys), "`")]
                pub const $name: Code = Code(sys::$sys);
            )*

            /// The C name of the code, e.g. `"SASL_BADAUTH"`, or `None` for an unknown code.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $(sys::$sys => Some(stringify!($sys)),)*
                    _ => None,
                }
            }
        }
    };
}

codes! {
    CONTINUE = SASL_CONTINUE,
    OK = SASL_OK,
    FAIL = SASL_FAIL,
    NOMEM = SASL_NOMEM,
    BUFOVER = SASL_BUFOVER,
    NOMECH = SASL_NOMECH,
    BADPROT = SASL_BADPROT,
    NOTDONE = SASL_NOTDONE,
    BADPARAM = SASL_BADPARAM,
    TRYAGAIN = SASL_TRYAGAIN,
    BADMAC = SASL_BADMAC,
    BADSERV = SASL_BADSERV,
    WRONGMECH = SASL_WRONGMECH,
    NOTINIT = SASL_NOTINIT,
    INTERACT = SASL_INTERACT,
    BADAUTH = SASL_BADAUTH,
    NOAUTHZ = SASL_NOAUTHZ,
    TOOWEAK = SASL_TOOWEAK,
    ENCRYPT = SASL_ENCRYPT,
    TRANS = SASL_TRANS,
    EXPIRED = SASL_EXPIRED,
    DISABLED = SASL_DISABLED,
    NOUSER = SASL_NOUSER,
    BADVERS = SASL_BADVERS,
    UNAVAIL = SASL_UNAVAIL,
    NOVERIFY = SASL_NOVERIFY,
    PWLOCK = SASL_PWLOCK,
    NOCHANGE = SASL_NOCHANGE,
    WEAKPASS = SASL_WEAKPASS,
    NOUSERPASS = SASL_NOUSERPASS,
    NEED_OLD_PASSWD = SASL_NEED_OLD_PASSWD,
    CONSTRAINT_VIOLAT = SASL_CONSTRAINT_VIOLAT,
    BADBINDING = SASL_BADBINDING,
    CONFIGERR = SASL_CONFIGERR,
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "Code({})", self.0),
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name} ({})", self.0),
            None => write!(f, "unknown SASL code {}", self.0),
        }
    }
}

/// Everything that can go wrong, other than a peer failing to authenticate (that
/// is [`ServerStep::Rejected`](crate::ServerStep::Rejected), an outcome, not an error).
///
/// Errors never contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A libsasl2 call failed. `detail` is `sasl_errdetail` read right after the call.
    #[error(
        "{call} failed with {code}: {detail} (libsasl2's own log, `log` target `cyrus_sasl::libsasl2`, may say why)"
    )]
    Sasl {
        /// The C function that failed.
        call: &'static str,
        /// Its result code.
        code: Code,
        /// libsasl2's detail message for this failure.
        detail: String,
    },

    /// Process-wide initialisation failed; every later use returns this same error.
    #[error(
        "libsasl2 initialisation ({call}) failed with {code}: {detail}; every later use fails the same way: \
         fix the libsasl2 installation (its plugin directory) and restart the process"
    )]
    Init {
        /// The C function that failed.
        call: &'static str,
        /// Its result code.
        code: Code,
        /// What libsasl2 said.
        detail: String,
    },

    /// The library was already initialised under another application name.
    #[error(
        "libsasl2 is already initialised as {current:?}; it cannot be re-initialised as {requested:?}: \
         call init once, with one name, before the first Server or Client"
    )]
    AlreadyInitialised {
        /// The application name in force.
        current: String,
        /// The name this call asked for.
        requested: String,
    },

    /// A credential given to a [`CredentialStore`](crate::CredentialStore) was
    /// refused when loading it, e.g. an empty secret.
    #[error("invalid credential for principal {principal:?}: {reason}; correct that entry and load the store again")]
    InvalidCredential {
        /// The principal it was given for.
        principal: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The mechanism's plugin is not installed on this system.
    #[error(
        "SASL mechanism {mechanism} is not installed on this system ({}; installed server mechanisms: {})",
        package.map_or_else(|| "no known plugin package provides it: check the name".to_owned(), |p| format!("install {p}")),
        list_or_none(installed)
    )]
    MechanismUnavailable {
        /// The mechanism asked for.
        mechanism: String,
        /// The package that provides it, e.g. `libsasl2-modules` on Debian/Ubuntu,
        /// or `None` for a name no known plugin provides.
        package: Option<&'static str>,
        /// What libsasl2 did load.
        installed: Vec<String>,
    },

    /// The mechanism is installed but this connection does not offer it, because of
    /// `mech_list` or the security properties. `Display` says which setting
    /// refuses it: PLAIN and LOGIN need `security_flags` without `noplaintext`,
    /// ANONYMOUS without `noanonymous`.
    #[error(
        "SASL mechanism {mechanism} is not offered by this connection (mech_list and security properties allow: {}); {}",
        list_or_none(offered),
        refusal_hint(mechanism)
    )]
    MechanismNotOffered {
        /// The mechanism asked for.
        mechanism: String,
        /// What the connection does offer.
        offered: Vec<String>,
    },

    /// The client chose no mechanism (an empty name was passed to
    /// [`Server::start`](crate::Server::start)); usually because this
    /// connection offers none: every mechanism of its `mech_list` is refused by
    /// the security properties (`mech_list: PLAIN` under the default
    /// `security_flags`).
    #[error("{}", no_choice_message(offered, refused))]
    NoMechanismChosen {
        /// What this connection offers (often nothing).
        offered: Vec<String>,
        /// The installed mechanisms of `mech_list` that this connection does
        /// not offer, e.g. `PLAIN`.
        refused: Vec<String>,
    },

    /// `mech_list` names a channel-binding (`-PLUS`) variant, which is not a
    /// plugin of its own: libsasl2's plugin is `plugin` (`SCRAM-SHA-256`), and
    /// it offers the `-PLUS` variant on a connection that has a channel binding
    /// ([`Server::set_channel_binding`](crate::Server::set_channel_binding)).
    /// libsasl2 would read the `-PLUS` name as the plugin's and offer the
    /// unbound mechanism too, so the name is refused rather than taken to
    /// mean "binding required".
    #[error(
        "mech_list names {mechanism}, which is not a mechanism of its own: libsasl2's plugin is {plugin}, and it \
         offers {mechanism} only on a connection given a channel binding (libsasl2 would read this name as {plugin} \
         and offer it unbound as well); write `mech_list: {plugin}` and require the binding: in a Mesos master \
         config `channel_binding: require`, in code Server::set_channel_binding with a critical ChannelBinding"
    )]
    PlusMechanism {
        /// The name as written, upper-cased, e.g. `SCRAM-SHA-256-PLUS`.
        mechanism: String,
        /// The plugin that provides it, e.g. `SCRAM-SHA-256`.
        plugin: String,
    },

    /// None of the auxprop plugins the config's `auxprop_plugin` names is
    /// loaded in this process, so the server cannot look up any secret.
    /// libsasl2 itself reports this at the first client, as `SASL_NOMECH` with
    /// an unrelated detail ("Unable to find a callback: 32775", left over from
    /// an earlier internal call).
    ///
    /// The usual cause is `ldapdb`: the plugin loads only when libsasl2's
    /// process-wide options (the file `APP.conf` in the directory
    /// `SASL_CONF_PATH` names, read once when the process initialises
    /// libsasl2) give it `ldapdb_uri`; a connection's config cannot.
    #[error("{}", auxprop_message(plugins, app, conf_path.as_deref()))]
    AuxpropUnavailable {
        /// The config's `auxprop_plugin` value, e.g. `ldapdb`.
        plugins: String,
        /// The application name libsasl2 was initialised under: its
        /// process-wide options file is `APP.conf`.
        app: String,
        /// `SASL_CONF_PATH` as this process saw it, if set.
        conf_path: Option<String>,
    },

    /// The client was asked for something it was not given (`SASL_INTERACT`).
    /// This crate never prompts.
    #[error(
        "the SASL client needs {} but it was not provided; pass it in the Credentials (this crate never prompts)",
        missing.join(", ")
    )]
    MissingCredential {
        /// What libsasl2 asked for, e.g. `"password (SASL_CB_PASS)"`.
        missing: Vec<String>,
    },

    /// A string passed to the API contains a NUL byte.
    #[error("{what} contains a NUL byte, which a C string cannot carry; remove it")]
    Nul {
        /// Which argument.
        what: &'static str,
    },

    /// A buffer is larger than libsasl2 can take (over `u32::MAX` bytes).
    #[error("{what} is {len} bytes, more than libsasl2 accepts (under 4 GiB); send it in smaller pieces")]
    TooLong {
        /// Which argument.
        what: &'static str,
        /// Its length.
        len: usize,
    },

    /// libsasl2 returned a string that is not UTF-8.
    #[error(
        "libsasl2 returned a {what} that is not UTF-8; this crate guesses no encoding: store user names and \
         realms as UTF-8"
    )]
    NotUtf8 {
        /// Which value.
        what: &'static str,
    },

    /// A method was called in a state where it makes no sense, e.g. `step` before `start`.
    #[error(
        "{call} called {state}: a connection carries one exchange (start once, then step until it completes); \
         use a new connection"
    )]
    State {
        /// The method.
        call: &'static str,
        /// What was wrong, e.g. `"before start"`.
        state: &'static str,
    },

    /// A configuration file or value is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A Kerberos (GSSAPI) failure, with its usual cause recognised.
    ///
    /// `Display` explains the cause and the fix, then gives libsasl2's detail,
    /// which carries the GSS-API major and minor status texts, e.g.
    /// `(Server mesos/127.0.0.1@EXAMPLE.TEST not found in Kerberos database)`.
    /// A server whose own keytab is at fault gets this error, never
    /// [`ServerStep::Rejected`](crate::ServerStep::Rejected); a client token that
    /// is merely invalid is still rejected.
    #[error("{call} failed: {} [{detail}]", .problem.explain(.detail))]
    Kerberos {
        /// The C function that failed.
        call: &'static str,
        /// Its result code (`SASL_FAIL` for most Kerberos failures).
        code: Code,
        /// The usual cause, recognised from the GSS-API text.
        problem: KerberosProblem,
        /// libsasl2's detail (or, for a failed `gss_accept_sec_context`, the
        /// GSS-API text it logged), read right after the call.
        detail: String,
    },

    /// The client can use none of the mechanisms the server offered: none is
    /// installed here, allowed by the client's `mech_list`, able to reach the
    /// client's `min_ssf`, or usable with the credentials given
    /// (`SASL_NOMECH` from `sasl_client_start`).
    #[error(
        "no SASL mechanism the server offered ({}) is usable by this client: each is not installed, \
         excluded by the client's mech_list, unable to reach its min_ssf of {min_ssf}, refused by its \
         security_flags (by default no ANONYMOUS, and no PLAIN or LOGIN without a TLS layer), or lacks a \
         credential it needs [{detail}]",
        list_or_none(offered)
    )]
    NoMechanism {
        /// What the server offered.
        offered: Vec<String>,
        /// The client's `min_ssf`.
        min_ssf: u32,
        /// libsasl2's detail, e.g. "No worthy mechs found".
        detail: String,
    },

    /// The authentication negotiated no security layer (SSF 0), so there is
    /// nothing to protect the stream with. Refused rather than sending data that
    /// only looks protected. Raise `max_ssf` on both sides to negotiate a layer,
    /// and `min_ssf` to require one.
    #[error(
        "no SASL security layer was negotiated (SSF 0, mechanism {mechanism}): \
         refusing to wrap the connection, which would stay unprotected; \
         set max_ssf (and min_ssf to require it) on both sides"
    )]
    NoSecurityLayer {
        /// The mechanism that authenticated, e.g. `CRAM-MD5`.
        mechanism: String,
    },

    /// No security layer both sides accept could be agreed: libsasl2's
    /// "mechanism too weak" (`SASL_TOOWEAK`: the mechanism's strongest layer is
    /// below this side's `min_ssf`, or the peer demands more than this side's
    /// `max_ssf`, or offers less than its `min_ssf`), or "no worthy mechs found"
    /// (`SASL_NOMECH`) when `min_ssf` alone excluded the mechanisms on offer.
    #[error("{}", too_weak_message(*min_ssf, *max_ssf, mechanisms, *code))]
    SecurityTooWeak {
        /// The `min_ssf` in force on this side.
        min_ssf: u32,
        /// The `max_ssf` in force on this side.
        max_ssf: u32,
        /// The mechanisms that fell short: the one chosen, or the ones offered.
        mechanisms: Vec<String>,
        /// `SASL_TOOWEAK` or `SASL_NOMECH`.
        code: Code,
    },

    /// The peer sent a security-layer frame longer than this side accepts (its
    /// `maxbufsize`; see [`SecurityLayer::max_frame_len`](crate::SecurityLayer::max_frame_len)).
    /// Nothing was allocated for it.
    #[error(
        "the peer sent a SASL security-layer frame of {len} bytes; at most {max} are accepted: close the \
         connection, or raise maxbufsize on this side if the peer is trusted to send larger frames"
    )]
    FrameTooLong {
        /// The length the frame header announced.
        len: u32,
        /// The most this side accepts.
        max: u32,
    },

    /// The peer sent a security-layer frame of length 0, which no mechanism
    /// produces.
    #[error("the peer sent an empty SASL security-layer frame, which no mechanism produces: close the connection")]
    EmptyFrame,

    /// The stream ended inside a security-layer frame.
    #[error(
        "the stream ended inside a SASL security-layer frame: {received} of {expected} bytes arrived; \
         the data of that frame is lost: reconnect"
    )]
    TruncatedFrame {
        /// The frame's size including its 4-byte header (4 while the header
        /// itself was incomplete).
        expected: usize,
        /// How many of them arrived.
        received: usize,
    },

    /// A config names a per-connection Kerberos credential (`keytab` or
    /// `ccache`), and MIT's GSS-API library, which this crate loads at run time
    /// to acquire it, cannot be loaded.
    #[error(
        "the `{option}` option needs MIT's GSS-API library {library}, which could not be loaded ({reason}); \
         install {package}"
    )]
    GssApiUnavailable {
        /// The option that needs it.
        option: &'static str,
        /// The library file, `libgssapi_krb5.so.2`.
        library: &'static str,
        /// The package that provides it, e.g. `libgssapi-krb5-2` on Debian/Ubuntu.
        package: &'static str,
        /// What the dynamic loader said.
        reason: String,
    },

    /// The config points the server at a sasldb file that does not exist (or is
    /// not a file). libsasl2 itself treats a missing database as "no such user",
    /// so every login would be rejected with no hint why; the server turns that
    /// answer into this error when the file is missing.
    #[error(
        "sasldb {} cannot be used; create it (saslpasswd2 -c, or Sasldb::set_password) or correct sasldb_path",
        path.display()
    )]
    Sasldb {
        /// The `sasldb_path` from the config.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The libsasl2 result code behind this error, when there is one.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Sasl { code, .. } | Error::Init { code, .. } | Error::Kerberos { code, .. } => Some(*code),
            Error::NoMechanism { .. } => Some(Code::NOMECH),
            Error::SecurityTooWeak { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// A list of names for a message, or `none`: never an empty part.
fn list_or_none(names: &[String]) -> String {
    if names.is_empty() { "none".to_owned() } else { names.join(" ") }
}

/// What refuses `mechanism` on a connection whose `mech_list` allows it, and
/// the setting that would change that.
fn refusal_hint(mechanism: &str) -> String {
    match mechanism.to_ascii_uppercase().as_str() {
        m @ ("PLAIN" | "LOGIN") => format!(
            "{m} is refused by security_flags: it sends the password in the clear, and the default \
             (`security_flags: noanonymous noplaintext`) refuses that on a connection without a TLS layer; \
             to allow it, set `security_flags: noanonymous` (and use it only over TLS), or declare the TLS layer \
             with Server::set_external; keep {m} in mech_list"
        ),
        "ANONYMOUS" => "ANONYMOUS is refused by security_flags: the default (`security_flags: noanonymous \
                        noplaintext`) refuses it; to allow it, set `security_flags: noplaintext`, and keep it in \
                        mech_list"
            .to_owned(),
        "EXTERNAL" => "EXTERNAL is offered only once Server::set_external says which identity the layer below \
                       (TLS with a client certificate) verified, and only when mech_list names it"
            .to_owned(),
        _ => "add it to mech_list, or relax min_ssf or security_flags if that is meant".to_owned(),
    }
}

/// The text of [`Error::NoMechanismChosen`].
fn no_choice_message(offered: &[String], refused: &[String]) -> String {
    let mut text =
        format!("the client chose no SASL mechanism (an empty name); this connection offers {}", list_or_none(offered));
    if let Some(first) = refused.first() {
        text.push_str(&format!(
            ": mech_list names {}, which it does not offer: {}",
            refused.join(" "),
            refusal_hint(first)
        ));
    }
    text
}

/// The text of [`Error::AuxpropUnavailable`].
fn auxprop_message(plugins: &str, app: &str, conf_path: Option<&str>) -> String {
    let head = format!(
        "no auxprop plugin that `auxprop_plugin: {plugins}` names is loaded in this process, so no secret can be \
         looked up"
    );
    if !plugins.split_whitespace().any(|p| p.eq_ignore_ascii_case("ldapdb")) {
        return format!(
            "{head}; install the plugin (sasldb: libsasl2-modules-db, sql: libsasl2-modules-sql) or correct \
             auxprop_plugin"
        );
    }
    let why = format!(
        "libsasl2's ldapdb plugin loads only when libsasl2's process-wide options give it ldapdb_uri (with \
         ldapdb_id, ldapdb_pw, ldapdb_mech), and those come only from the file {app}.conf in the directory \
         SASL_CONF_PATH names (else libsasl2's built-in one, e.g. /etc/sasl2), read once when the process \
         initialises libsasl2, never from a connection's config"
    );
    match conf_path {
        None => format!(
            "{head}: {why}; SASL_CONF_PATH is not set: set it to the directory holding {app}.conf with \
             ldapdb_uri before the process starts (ci/ldap writes both: source DIR/env)"
        ),
        Some(path) => format!(
            "{head}: {why}; SASL_CONF_PATH is {path:?}: check that {path}/{app}.conf exists, is readable and sets \
             ldapdb_uri"
        ),
    }
}

/// The text of [`Error::SecurityTooWeak`], with the likely fix.
fn too_weak_message(min_ssf: u32, max_ssf: u32, mechanisms: &[String], code: Code) -> String {
    let mechanisms = if mechanisms.is_empty() { "the mechanism".to_owned() } else { mechanisms.join(" ") };
    let fix = if min_ssf > 0 {
        format!(
            "min_ssf {min_ssf} makes a layer of at least that strength mandatory; use a mechanism that has one \
             (GSSAPI: up to 256) and allow it on the peer (its max_ssf), or lower min_ssf"
        )
    } else {
        format!("the peer requires a stronger layer than max_ssf {max_ssf} allows here; raise max_ssf")
    };
    format!(
        "security requirement not met: {mechanisms} cannot provide a security layer of SSF {min_ssf} to {max_ssf} \
         that the peer also accepts (libsasl2: {code}); {fix}"
    )
}

/// The usual causes of a Kerberos (GSSAPI) failure, recognised from the GSS-API
/// messages libsasl2 reports. Carried by [`Error::Kerberos`].
///
/// `Display` explains the cause and the usual fix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KerberosProblem {
    /// Client: no usable ticket-granting ticket. The credential cache is
    /// missing, empty, or holds only expired tickets.
    NoTicket,
    /// Client: the KDC knows no principal `SERVICE/FQDN@REALM` for the service
    /// name and server FQDN the client was given (e.g. an IP address instead of
    /// the host name, or a typo in the service).
    UnknownServicePrincipal,
    /// Client: no KDC of the realm answered when a service ticket was needed.
    KdcUnreachable,
    /// Server: the keytab file does not exist (or cannot be read).
    KeytabMissing,
    /// Server: the keytab holds no key for `SERVICE/FQDN@REALM`, this server's
    /// service principal.
    KeytabLacksKey,
    /// Server: the keytab's key for the service principal is not the one the
    /// KDC encrypted the ticket with (an older key version, or no key of the
    /// ticket's encryption type): the principal was re-keyed and the keytab not
    /// exported again. A crafted client token can cause the same report.
    KeytabOutdated,
    /// The clocks of the client, the server and the KDC differ by more than the
    /// allowed skew (5 minutes by default).
    ClockSkew,
    /// Any other GSS-API failure; the error's detail has GSS-API's own words.
    Other,
}

/// Shorthand for `Result<T, cyrus_sasl::Error>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A configuration error, naming the file and line when there are any.
///
/// When the file could not be read ([`ConfigErrorKind::Io`]), the
/// [`std::io::Error`] is the error's [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("{}{kind}", location(path.as_deref(), *line))]
pub struct ConfigError {
    /// The file, when the config came from one.
    pub path: Option<PathBuf>,
    /// The 1-based line, or 0 when not about a line.
    pub line: usize,
    /// What is wrong.
    pub kind: ConfigErrorKind,
    /// The I/O error behind [`ConfigErrorKind::Io`].
    #[source]
    pub(crate) source: Option<std::io::Error>,
}

impl ConfigError {
    /// An error about `line` (0: not about a line) of a config not read from a file.
    pub(crate) fn at(line: usize, kind: ConfigErrorKind) -> ConfigError {
        ConfigError { path: None, line, kind, source: None }
    }

    /// The file at `path` could not be read.
    pub(crate) fn unreadable(path: &Path, error: std::io::Error) -> ConfigError {
        ConfigError {
            path: Some(path.to_owned()),
            line: 0,
            kind: ConfigErrorKind::Io(error.kind(), error.to_string()),
            source: Some(error),
        }
    }
}

fn location(path: Option<&Path>, line: usize) -> String {
    match (path, line) {
        (Some(p), 0) => format!("{}: ", p.display()),
        (Some(p), n) => format!("{}:{n}: ", p.display()),
        (None, 0) => String::new(),
        (None, n) => format!("line {n}: "),
    }
}

/// What is wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrorKind {
    /// The file could not be read: the kind and text of the I/O error, which
    /// is also the [`ConfigError`]'s source.
    #[error("cannot read the file; check the path and its permissions")]
    Io(std::io::ErrorKind, String),
    /// The line is not UTF-8.
    #[error("not UTF-8 text; save the file as UTF-8")]
    NotUtf8,
    /// The line has no `:` separating key and value.
    #[error("expected `key: value`")]
    MissingColon,
    /// The key is empty or has characters other than letters, digits, `_` and `-`.
    #[error("invalid option name {0:?}; a name has only letters, digits, `_` and `-`")]
    BadKey(String),
    /// The key appeared before.
    #[error("duplicate option {key:?} (first set on line {first}); keep one of the two lines")]
    Duplicate {
        /// The key.
        key: String,
        /// Where it was first set.
        first: usize,
    },
    /// A wrapper option is not an unsigned integer.
    #[error("{key} must be an unsigned integer, got {value:?}")]
    BadNumber {
        /// The key.
        key: String,
        /// The value found.
        value: String,
    },
    /// A key or value contains a NUL byte.
    #[error("contains a NUL byte, which a C string cannot carry; remove it")]
    Nul,
    /// The key is not an option libsasl2, its bundled plugins or this crate
    /// know, and the file did not declare it with `extra_options`.
    #[error(
        "unknown option `{key}`{}; a key for another plugin must be declared first with \
         `extra_options: {key}` in a file, or set with `Config::set` in code",
        suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default()
    )]
    UnknownOption {
        /// The key as written.
        key: String,
        /// The nearest known key, when one is close.
        suggestion: Option<String>,
    },
    /// A word of `security_flags` is not a `SASL_SEC_*` flag name.
    #[error(
        "unknown security flag {name:?} in security_flags (known: noanonymous noplaintext noactive \
         nodictionary forward_secrecy pass_credentials mutual_auth)"
    )]
    UnknownSecurityFlag {
        /// The word as written.
        name: String,
    },
}

//! [`Server`]: the side that verifies a peer.

use std::fmt;

use sasl_sys as sys;

use crate::config::Config;
use crate::error::{Code, Error, KerberosProblem, Result};
use crate::ffi::{CallbackSet, Conn, Out};
use crate::gss;
use crate::hooks::{CanonUserFn, ProxyPolicyFn, ProxyRequest};
use crate::kerberos;
use crate::library;
use crate::rejection::{RejectReason, Rejection};
use crate::security_layer::SecurityLayer;
use crate::too_weak;

/// A server-side SASL connection: one authentication exchange with one peer.
///
/// ```
/// use cyrus_sasl::{Config, Server};
/// let config = Config::new().with("mech_list", "CRAM-MD5")?;
/// let server = Server::new("myservice", "host.example.com", Some("EXAMPLE.COM"), &config)?;
/// assert_eq!(server.mechanisms()?, ["CRAM-MD5"]);
/// # Ok::<(), cyrus_sasl::Error>(())
/// ```
///
/// A `Server` can move to another thread, but cannot be shared between threads:
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<cyrus_sasl::Server>();
/// ```
///
/// ```
/// fn sent<T: Send>() {}
/// sent::<cyrus_sasl::Server>();
/// ```
pub struct Server {
    /// The one owner of the libsasl2 connection and of everything it points
    /// into, the `keytab` credential included.
    conn: Conn,
    state: State,
    /// The mechanism name the client chose, as given to `start`: libsasl2
    /// reports the plugin's name, without the `-PLUS` the client may have
    /// chosen.
    chosen: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    New,
    Stepping,
    Done,
    /// Done, and the peer authenticated: the connection may carry a security layer.
    Authenticated,
}

/// What a server step produced.
///
/// Its `Debug` shows bytes as their length and hex (the first 32), not as a
/// list of decimal numbers: `Continue(<12 bytes: 3c312e32...>)`. A server's
/// challenges carry no secret.
#[derive(PartialEq, Eq)]
pub enum ServerStep<'a> {
    /// Send these bytes to the peer, and pass its answer to [`Server::step`].
    /// They borrow the connection: libsasl2 reuses the buffer on the next call.
    ///
    /// Note that libsasl2's SCRAM and DIGEST-MD5 servers send their final proof
    /// (`v=...`, `rspauth=...`) this way, and give their verdict only after one
    /// more, empty, client response.
    Continue(&'a [u8]),
    /// The peer proved its identity.
    Authenticated {
        /// Who it is.
        identity: Identity,
        /// Bytes to send along with the success, if the mechanism has any.
        /// Empty for CRAM-MD5; libsasl2's SCRAM server sends its proof as a
        /// [`ServerStep::Continue`] instead.
        additional: &'a [u8],
    },
    /// The peer failed to authenticate: wrong password, unknown user, not
    /// authorised to act as the requested authzid, or bound to another
    /// channel (a relay). Answer the peer the same way for every
    /// [`Rejection`], so it cannot tell which; the [`Rejection`] (the name
    /// tried and the [`RejectReason`]) is for the server's own audit and
    /// lockout, and is logged (`log` target `cyrus_sasl::server`, level info).
    Rejected(Rejection),
}

impl ServerStep<'_> {
    /// The same step, owning its bytes, so it no longer borrows the
    /// [`Server`]: to move it across threads or tasks (see
    /// [`AsyncServer`](crate::guide::async_servers)), or keep it past the next call.
    pub fn into_owned(self) -> OwnedServerStep {
        match self {
            ServerStep::Continue(challenge) => OwnedServerStep::Continue(challenge.to_vec()),
            ServerStep::Authenticated { identity, additional } => {
                OwnedServerStep::Authenticated { identity, additional: additional.to_vec() }
            }
            ServerStep::Rejected(rejection) => OwnedServerStep::Rejected(rejection),
        }
    }
}

/// A [`ServerStep`] that owns its bytes ([`ServerStep::into_owned`]); what the
/// async server returns. The variants mean the same as [`ServerStep`]'s.
#[derive(Clone, PartialEq, Eq)]
pub enum OwnedServerStep {
    /// Send these bytes to the peer, and pass its answer to the next step.
    Continue(Vec<u8>),
    /// The peer proved its identity.
    Authenticated {
        /// Who it is.
        identity: Identity,
        /// Bytes to send along with the success, if the mechanism has any.
        additional: Vec<u8>,
    },
    /// The peer failed to authenticate; see [`ServerStep::Rejected`].
    Rejected(Rejection),
}

/// Shows bytes as `<N bytes: HEX>`, the hex cut after 32 bytes.
struct Bytes<'a>(&'a [u8]);

impl fmt::Debug for Bytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes", self.0.len())?;
        if !self.0.is_empty() {
            f.write_str(": ")?;
            for b in self.0.iter().take(32) {
                write!(f, "{b:02x}")?;
            }
            if self.0.len() > 32 {
                f.write_str("...")?;
            }
        }
        f.write_str(">")
    }
}

fn debug_step(
    f: &mut fmt::Formatter<'_>,
    continued: Option<&[u8]>,
    done: Option<(&Identity, &[u8])>,
    rejected: Option<&Rejection>,
) -> fmt::Result {
    match (continued, done, rejected) {
        (Some(challenge), _, _) => f.debug_tuple("Continue").field(&Bytes(challenge)).finish(),
        (_, Some((identity, additional)), _) => {
            f.debug_struct("Authenticated").field("identity", identity).field("additional", &Bytes(additional)).finish()
        }
        (_, _, Some(rejection)) => f.debug_tuple("Rejected").field(rejection).finish(),
        _ => unreachable!("one of the three"),
    }
}

impl fmt::Debug for ServerStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerStep::Continue(c) => debug_step(f, Some(c), None, None),
            ServerStep::Authenticated { identity, additional } => {
                debug_step(f, None, Some((identity, additional)), None)
            }
            ServerStep::Rejected(r) => debug_step(f, None, None, Some(r)),
        }
    }
}

/// As [`ServerStep`]'s.
impl fmt::Debug for OwnedServerStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OwnedServerStep::Continue(c) => debug_step(f, Some(c), None, None),
            OwnedServerStep::Authenticated { identity, additional } => {
                debug_step(f, None, Some((identity, additional)), None)
            }
            OwnedServerStep::Rejected(r) => debug_step(f, None, None, Some(r)),
        }
    }
}

/// An authenticated identity, as libsasl2 canonicalised it.
///
/// The names are UTF-8. libsasl2 checks no encoding: a sasldb user whose name
/// is Latin-1 bytes (`saslpasswd2` stores them as given) authenticates with
/// PLAIN, and libsasl2 then reports those raw bytes as the user name. Such an
/// exchange ends with [`Error::NotUtf8`] (`what: "user name"`) from
/// [`Server::start`]/[`Server::step`], never with a lossy or altered name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// The authentication identity (`SASL_AUTHUSER`): whose credentials were
    /// checked, e.g. `alice@EXAMPLE.COM` when the server has a user realm.
    pub authid: String,
    /// The authorisation identity (`SASL_USERNAME`) when the peer asked to act as
    /// someone other than `authid`, else `None`.
    pub authzid: Option<String>,
    /// The mechanism the client chose, e.g. `CRAM-MD5`, or
    /// `SCRAM-SHA-256-PLUS` for a channel-bound exchange (libsasl2 itself
    /// names the plugin, `SCRAM-SHA-256`, for both).
    pub mechanism: String,
    /// The negotiated security strength factor (0: no security layer).
    pub ssf: u32,
}

impl Identity {
    /// The identity the peer acts as: the authzid if any, else the authid.
    pub fn user(&self) -> &str {
        self.authzid.as_deref().unwrap_or(&self.authid)
    }

    /// Whether the exchange was bound to the channel under it
    /// ([`ChannelBinding`](crate::ChannelBinding)): the client chose a `-PLUS`
    /// mechanism and both ends mixed in the same binding data, so no relay
    /// sits between them. A mismatch never gets here: it is
    /// [`RejectReason::ChannelBindingMismatch`].
    pub fn channel_bound(&self) -> bool {
        self.mechanism.ends_with("-PLUS")
    }
}

impl Server {
    /// A new server connection (`sasl_server_new`).
    ///
    /// - `service`: the registered service name, e.g. `"imap"` or `"mesos"`.
    /// - `fqdn`: this server's fully qualified host name. Passed explicitly so
    ///   libsasl2 never calls `gethostname` itself; for GSSAPI it must match the
    ///   service principal.
    /// - `realm`: the user realm. With `None`, libsasl2 uses the lower-cased `fqdn`,
    ///   so a bare user `alice` is looked up as `alice@<fqdn>`. Give the realm the
    ///   users were created with (`saslpasswd2 -u REALM`).
    ///
    /// Fails with [`Error::MechanismUnavailable`] when the config's `mech_list`
    /// names a mechanism that no installed plugin provides.
    ///
    /// For GSSAPI (Kerberos):
    /// - `service` and `fqdn` name the service principal `service/fqdn@REALM`
    ///   whose key the server needs in its keytab.
    /// - The keytab is the config's `keytab` (checked here, so a missing keytab
    ///   or key is an [`Error::Kerberos`] now; it needs MIT's
    ///   `libgssapi_krb5.so.2` at run time, else [`Error::GssApiUnavailable`]);
    ///   without the option, `KRB5_KTNAME` or krb5's default, checked only when
    ///   a client starts. libsasl2 itself ignores a per-connection `keytab`.
    /// - The identity is the client principal with krb5's default realm
    ///   stripped and `realm`, if any, appended: with `None`, `alice@EXAMPLE.TEST`
    ///   becomes `alice`; with `Some("EXAMPLE.TEST")`, `alice@EXAMPLE.TEST`.
    /// - MIT krb5 keeps a replay cache, by default in `/var/tmp`; set
    ///   `KRB5RCACHETYPE=none` where that is not writable (tests, sandboxes).
    ///
    /// For hooks too (a canon-user hook and a proxy policy together), or
    /// named arguments, use [`Server::builder`].
    #[doc(alias = "sasl_server_new")]
    pub fn new(service: &str, fqdn: &str, realm: Option<&str>, config: &Config) -> Result<Self> {
        Self::build(service, fqdn, realm, config, None, None)
    }

    /// Checks a server configuration before serving, so that a broken setup
    /// fails at start-up rather than at the first client. It checks what
    /// [`Server::new`] does (every `mech_list` mechanism installed, and for
    /// GSSAPI with a `keytab` option that the keytab is readable and holds
    /// `service/fqdn`), and also:
    /// - that each mechanism of `mech_list` is offered, not excluded by the
    ///   security properties (PLAIN under the default `noplaintext`):
    ///   [`Error::MechanismNotOffered`]; EXTERNAL, which a connection offers
    ///   only once its layer vouched for the peer, only installed;
    /// - that the sasldb named by `sasldb_path` exists when `auxprop_plugin`
    ///   uses sasldb ([`Error::Sasldb`]); libsasl2 would report it as an
    ///   unknown user at the first login;
    /// - that an auxprop plugin `auxprop_plugin` names is loaded
    ///   ([`Error::AuxpropUnavailable`]: `ldapdb` without its process-wide
    ///   options in `SASL_CONF_PATH`); libsasl2 would fail the first login
    ///   with `SASL_NOMECH` and an unrelated detail.
    ///
    /// Returns the config's [`warnings`](Config::warnings) (an empty credential
    /// store, anonymous or plaintext logins allowed): things that work but
    /// probably not as meant, for the caller to show.
    pub fn check(service: &str, fqdn: &str, realm: Option<&str>, config: &Config) -> Result<Vec<crate::Warning>> {
        let server = Self::new(service, fqdn, realm, config)?;
        config.check_sasldb()?;
        if let Some(error) = server.auxprop_unavailable() {
            return Err(error);
        }
        let offered = server.mechanisms()?;
        // EXTERNAL is offered only on a connection whose layer vouched for the
        // peer ([`set_external`](Self::set_external)), never on this one; that
        // it is installed, `new` checked.
        let offered_or_external = |m: &String| offered.contains(m) || m.eq_ignore_ascii_case("EXTERNAL");
        if let Some(missing) = config.mech_list().unwrap_or_default().into_iter().find(|m| !offered_or_external(m)) {
            return Err(Error::MechanismNotOffered { mechanism: missing, offered });
        }
        Ok(config.warnings())
    }

    /// Like [`Server::new`], with a hook that canonicalises user names
    /// (`SASL_CB_CANON_USER`). If the hook panics, the panic is caught at the C
    /// boundary and resumed from the `start`/`step` call that triggered it.
    /// A name that is not UTF-8 never reaches the hook: the call fails with
    /// `SASL_BADPROT` ([`Error::Sasl`]).
    pub fn with_canon_user(
        service: &str,
        fqdn: &str,
        realm: Option<&str>,
        config: &Config,
        hook: impl Fn(&str, Option<&str>) -> Option<String> + Send + 'static,
    ) -> Result<Self> {
        Self::build(service, fqdn, realm, config, Some(Box::new(hook)), None)
    }

    /// Like [`Server::new`], with a proxy policy (`SASL_CB_PROXY_POLICY`)
    /// deciding whether a client that authenticated as one identity may act as
    /// another (its authzid).
    ///
    /// - Without it ([`Server::new`]), libsasl2's own rule holds: the authzid
    ///   must equal the authid.
    /// - The policy is asked only when the client asks for an authzid other
    ///   than its authid; acting as oneself is always allowed.
    /// - Allowed: [`Identity::authzid`] is the authzid. Refused: the exchange
    ///   ends as [`ServerStep::Rejected`], exactly as for a wrong password, and
    ///   the reason (both names) is logged at info (`cyrus_sasl::server`).
    /// - A name that is not UTF-8 is refused without asking the policy. If the
    ///   policy panics, the panic is caught at the C boundary and resumed from
    ///   the `start`/`step` call that triggered it.
    ///
    /// ```
    /// use cyrus_sasl::{Config, Server};
    /// let config = Config::new().with("mech_list", "PLAIN")?;
    /// // Operators may act as anyone; nobody else as anyone else.
    /// let server = Server::with_proxy_policy("svc", "localhost", None, &config, |r| {
    ///     r.authid.starts_with("operator")
    /// })?;
    /// # drop(server);
    /// # Ok::<(), cyrus_sasl::Error>(())
    /// ```
    pub fn with_proxy_policy(
        service: &str,
        fqdn: &str,
        realm: Option<&str>,
        config: &Config,
        policy: impl Fn(&ProxyRequest<'_>) -> bool + Send + 'static,
    ) -> Result<Self> {
        Self::build(service, fqdn, realm, config, None, Some(Box::new(policy)))
    }

    pub(crate) fn build(
        service: &str,
        fqdn: &str,
        realm: Option<&str>,
        config: &Config,
        canon: Option<Box<CanonUserFn>>,
        proxy: Option<Box<ProxyPolicyFn>>,
    ) -> Result<Self> {
        check_mech_list(config)?;
        library::ensure()?;
        let callbacks = CallbackSet::server(config.clone(), canon, proxy);
        let mut conn = Conn::server(service, fqdn, realm, callbacks, config.security())?;
        gss::server(&mut conn, service, fqdn, config)?;
        Ok(Server { conn, state: State::New, chosen: String::new() })
    }

    /// The mechanisms this connection offers, after `mech_list` and the security
    /// properties have filtered what is installed (`sasl_listmech`).
    #[doc(alias = "sasl_listmech")]
    pub fn mechanisms(&self) -> Result<Vec<String>> {
        self.conn.mechanisms()
    }

    /// The same list as [`Server::mechanisms`], space-separated, as it can go
    /// to the peer or to [`Client::start`](crate::Client::start). Empty when
    /// no mechanism is left.
    ///
    /// ```
    /// use cyrus_sasl::{Config, Server};
    /// let config = Config::new().with("mech_list", "CRAM-MD5 SCRAM-SHA-256")?;
    /// let server = Server::new("myservice", "host.example.com", None, &config)?;
    /// assert_eq!(server.mechanism_list()?, "CRAM-MD5 SCRAM-SHA-256");
    /// # Ok::<(), cyrus_sasl::Error>(())
    /// ```
    #[doc(alias = "sasl_listmech")]
    pub fn mechanism_list(&self) -> Result<String> {
        self.conn.mechanism_list()
    }

    /// Starts authentication with the mechanism the client chose, and its initial
    /// response if it sent one (`sasl_server_start`).
    ///
    /// `None` and `Some(&[])` differ: the first means the client sent no initial
    /// response, the second an empty one.
    #[doc(alias = "sasl_server_start")]
    pub fn start(&mut self, mechanism: &str, initial_response: Option<&[u8]>) -> Result<ServerStep<'_>> {
        if self.state != State::New {
            return Err(Error::State { call: "Server::start", state: "twice on one connection" });
        }
        self.state = State::Stepping;
        self.chosen = mechanism.to_ascii_uppercase();
        let started = self.conn.server_start(mechanism, initial_response);
        match started {
            // The mechanism cannot reach min_ssf ("mech CRAM-MD5 is too weak").
            Err(error @ Error::Sasl { code: Code::TOOWEAK, .. }) => {
                self.state = State::Done;
                Err(too_weak::explain(&self.conn, error, Some(mechanism)))
            }
            // SASL_ENCRYPT: the mechanism is plaintext and NOPLAINTEXT is set.
            Err(error @ Error::Sasl { code: Code::NOMECH | Code::ENCRYPT, .. }) => {
                self.state = State::Done;
                Err(self.explain_nomech(mechanism, error))
            }
            // libsasl2 says only "Remote sent first but mech does not allow it".
            Err(Error::Sasl { call, code: Code::BADPROT, detail }) if detail.contains("Remote sent first") => {
                self.state = State::Done;
                let hint = match initial_response {
                    Some([]) => {
                        "an empty initial response (Some(&[])) is still one; pass None when the client sent none"
                    }
                    _ => "pass None: the server sends first with this mechanism",
                };
                Err(Error::Sasl { call, code: Code::BADPROT, detail: format!("{detail} ({mechanism}: {hint})") })
            }
            started => self.finish("sasl_server_start", started),
        }
    }

    /// Continues with the client's next response (`sasl_server_step`).
    #[doc(alias = "sasl_server_step")]
    pub fn step(&mut self, response: &[u8]) -> Result<ServerStep<'_>> {
        match self.state {
            State::New => return Err(Error::State { call: "Server::step", state: "before start" }),
            State::Done | State::Authenticated => {
                return Err(Error::State { call: "Server::step", state: "after the exchange finished" });
            }
            State::Stepping => {}
        }
        let stepped = self.conn.server_step(response);
        self.finish("sasl_server_step", stepped)
    }

    fn finish(&mut self, call: &'static str, stepped: Result<(Code, Out)>) -> Result<ServerStep<'_>> {
        // Until proven otherwise the exchange is over: an error ends it too.
        self.state = State::Done;
        let logged = self.conn.take_logged_failures();
        let (code, out) = match stepped {
            Ok(stepped) => stepped,
            Err(Error::Sasl { code, detail, .. }) if verdict(code, &detail).is_some() => {
                let mut reason = verdict(code, &detail).expect("checked by the guard");
                if code == Code::NOUSER {
                    // libsasl2 reports a missing sasldb file as an unknown user.
                    self.conn.config().check_sasldb()?;
                }
                // The GSSAPI plugin reports any failed gss_accept_sec_context as
                // BADAUTH, and puts the reason only in its log: an outdated keytab
                // is this server's fault, and must not pass for a rejected peer.
                let gss = logged.iter().rev().find(|m| KerberosProblem::recognise(m).is_some());
                if let Some(error) = kerberos::server_side_badauth(call, code, gss.map(String::as_str)) {
                    return Err(error);
                }
                if self.conn.take_canon_refused() {
                    reason = RejectReason::Policy;
                }
                // The name the peer tried, if the mechanism got that far.
                let authid = self.conn.prop_bytes(sys::SASL_AUTHUSER).map(|b| String::from_utf8_lossy(b).into_owned());
                let rejection = Rejection::new(authid, reason);
                // The name and the detail are peer text: logged escaped.
                let user = rejection.authid().map_or_else(|| "no user name read".to_owned(), |u| format!("user {u:?}"));
                let reason = rejection.reason();
                match gss {
                    Some(gss) => log::info!(
                        target: "cyrus_sasl::server",
                        "authentication rejected ({code:?}): {reason}, {user}: {detail:?}: {gss:?}"
                    ),
                    None => log::info!(
                        target: "cyrus_sasl::server",
                        "authentication rejected ({code:?}): {reason}, {user}: {detail:?}"
                    ),
                }
                return Ok(ServerStep::Rejected(rejection));
            }
            // libsasl2 says only SASL_NOMECH, with a stale detail, when no
            // auxprop plugin of `auxprop_plugin` is loaded.
            Err(e @ Error::Sasl { code: Code::NOMECH, .. }) if self.conn.config().has("auxprop_plugin") => {
                return Err(self.auxprop_unavailable().unwrap_or_else(|| too_weak::explain(&self.conn, e, None)));
            }
            Err(e) => return Err(kerberos::refine(too_weak::explain(&self.conn, e, None))),
        };
        if code == Code::CONTINUE {
            self.state = State::Stepping;
            return Ok(ServerStep::Continue(self.conn.output(out)));
        }
        if code != Code::OK {
            return Err(Error::Sasl { call, code, detail: "unexpected result code for a server step".into() });
        }
        let identity = self.identity()?;
        self.state = State::Authenticated;
        Ok(ServerStep::Authenticated { identity, additional: self.conn.output(out) })
    }

    fn identity(&self) -> Result<Identity> {
        // Borrowed first, so the authid is copied only when it differs.
        let user = self.conn.prop_utf8(sys::SASL_USERNAME, "user name")?.unwrap_or_default();
        let authid = self.conn.prop_utf8(sys::SASL_AUTHUSER, "authentication id")?;
        let mut mechanism = self.conn.prop_str(sys::SASL_MECHNAME, "mechanism name")?.unwrap_or_default();
        // The plugin's name is the same for the bound variant; the exchange
        // authenticated, so the `-PLUS` the client chose was bound and checked.
        if self.chosen.strip_suffix("-PLUS").is_some_and(|plain| plain.eq_ignore_ascii_case(&mechanism)) {
            mechanism.push_str("-PLUS");
        }
        let ssf = self.conn.prop_uint(sys::SASL_SSF)?;
        Ok(match authid {
            Some(authid) if authid != user => {
                Identity { authid: authid.to_owned(), authzid: Some(user.to_owned()), mechanism, ssf }
            }
            _ => Identity { authid: user.to_owned(), authzid: None, mechanism, ssf },
        })
    }

    /// Turns a bare "no worthy mechs found" into an error that says whether the
    /// client chose nothing, the plugin is missing, this connection's
    /// configuration excludes it, or the credential store's plugin is missing;
    /// `error` as it was when none of these is the cause.
    fn explain_nomech(&self, mechanism: &str, error: Error) -> Error {
        let installed = library::installed_mechanisms().unwrap_or_default();
        let is_installed = |m: &str| installed.iter().any(|i| i.eq_ignore_ascii_case(m));
        let offered = self.mechanisms().unwrap_or_default();
        if mechanism.trim().is_empty() {
            let mech_list = self.conn.config().mech_list().unwrap_or_default();
            let refused = mech_list.into_iter().filter(|m| is_installed(m) && !offered.contains(m)).collect();
            return Error::NoMechanismChosen { offered, refused };
        }
        if !is_installed(mechanism) {
            return Error::MechanismUnavailable {
                mechanism: mechanism.to_owned(),
                package: library::plugin_package(mechanism),
                installed: installed.to_vec(),
            };
        }
        // The plugin's name, without the `-PLUS` libsasl2 offers beside it.
        let plugin = mechanism.get(..mechanism.len().saturating_sub(5)).filter(|_| is_plus(mechanism));
        if !offered
            .iter()
            .any(|o| o.eq_ignore_ascii_case(mechanism) || plugin.is_some_and(|p| o.eq_ignore_ascii_case(p)))
        {
            return Error::MechanismNotOffered { mechanism: mechanism.to_owned(), offered };
        }
        self.auxprop_unavailable().unwrap_or(error)
    }

    /// [`Error::AuxpropUnavailable`] when the config names auxprop plugins
    /// and libsasl2 loaded none of them.
    fn auxprop_unavailable(&self) -> Option<Error> {
        let plugins = self.conn.config().get("auxprop_plugin")?;
        if self.conn.auxprop_plugin_loaded() {
            return None;
        }
        Some(Error::AuxpropUnavailable {
            plugins: plugins.to_owned(),
            app: library::app_name().map_or_else(
                || library::DEFAULT_APP_NAME.to_string_lossy().into_owned(),
                |name| name.to_string_lossy().into_owned(),
            ),
            conf_path: std::env::var_os("SASL_CONF_PATH").map(|p| p.to_string_lossy().into_owned()),
        })
    }

    /// Hands the authenticated connection over to its security layer, for
    /// [`SecureStream`](crate::SecureStream) or your own framing
    /// ([`SecurityLayer::encode`]/[`decode`](SecurityLayer::decode)).
    ///
    /// Call it after [`ServerStep::Authenticated`]: before that it fails with
    /// [`Error::State`]. When the exchange negotiated no layer (SSF 0, which is
    /// the default `max_ssf`), it fails with [`Error::NoSecurityLayer`]: there is
    /// nothing to protect the stream with.
    pub fn into_security_layer(self) -> Result<SecurityLayer> {
        if self.state != State::Authenticated {
            return Err(Error::State { call: "Server::into_security_layer", state: "before the peer authenticated" });
        }
        SecurityLayer::new(self.conn)
    }

    /// The configuration this connection was made with.
    pub fn config(&self) -> &Config {
        self.conn.config()
    }

    /// Binds the exchange to the channel under it (`SASL_CHANNEL_BINDING`): see
    /// [`ChannelBinding`](crate::ChannelBinding). Call it before
    /// [`mechanisms`](Self::mechanisms) and [`start`](Self::start): only then
    /// are `-PLUS` mechanisms offered and bound. The connection keeps its own
    /// copy of the bytes.
    #[doc(alias = "SASL_CHANNEL_BINDING")]
    pub fn set_channel_binding(&mut self, binding: &crate::ChannelBinding) -> Result<()> {
        if self.state != State::New {
            return Err(Error::State { call: "Server::set_channel_binding", state: "after the exchange began" });
        }
        self.conn.set_channel_binding(binding)
    }

    /// Tells the connection what an external security layer under it (TLS
    /// with a client certificate, IPsec, a Unix socket's peer credentials)
    /// established: its strength `ssf` (`SASL_SSF_EXTERNAL`) and the identity
    /// it authenticated, `auth_id` (`SASL_AUTH_EXTERNAL`). Call it before
    /// [`mechanisms`](Self::mechanisms) and [`start`](Self::start), which
    /// decide what is offered from it. The connection keeps its own copy.
    ///
    /// What libsasl2 (2.1.28) does with them:
    ///
    /// - **The EXTERNAL mechanism** is offered and accepted only with an
    ///   `auth_id` (`Some("")` counts as `None`), and only when `min_ssf` is at
    ///   most `ssf`; it needs no `ssf` above 0 when `min_ssf` is 0. The default
    ///   flags (`noanonymous noplaintext`) do not exclude it, but `mech_list`
    ///   must name it where a config restricts the list. The identity is
    ///   `auth_id`, as canonicalised (the server's user realm appended, like any
    ///   user name); nothing else is checked: the layer below vouched for it.
    /// - **An authzid** the client asks for is checked like any other: without
    ///   a proxy policy ([`Server::with_proxy_policy`]) it must equal `auth_id`,
    ///   else the exchange ends [`ServerStep::Rejected`].
    /// - An `auth_id` of `anonymous` is refused under `noanonymous` (the
    ///   default).
    /// - **Other mechanisms:** `ssf` counts toward `min_ssf`, and an `ssf` of 2
    ///   or more that reaches `min_ssf` lifts `noplaintext`, so PLAIN and LOGIN
    ///   are offered over such a layer. Say only what the layer really gives.
    ///
    /// A NUL byte in `auth_id` is [`Error::Nul`].
    ///
    /// ```
    /// use cyrus_sasl::{Client, Config, Credentials, Server, ServerStep};
    /// let config = Config::new().with("mech_list", "EXTERNAL")?;
    /// let mut server = Server::new("svc", "localhost", None, &config)?;
    /// assert!(server.mechanisms()?.is_empty(), "nothing vouched for a peer yet");
    /// // The TLS layer verified a client certificate for `fw1`.
    /// server.set_external(128, Some("fw1"))?;
    /// assert_eq!(server.mechanisms()?, ["EXTERNAL"]);
    ///
    /// let mut client = Client::new("svc", "localhost", Credentials::default(), &config)?;
    /// client.set_external(128, Some("fw1"))?;
    /// let start = client.start("EXTERNAL")?;
    /// let first = start.initial_response.map(<[u8]>::to_vec);
    /// match server.start("EXTERNAL", first.as_deref())? {
    ///     ServerStep::Authenticated { identity, .. } => assert_eq!(identity.user(), "fw1"),
    ///     other => panic!("{other:?}"),
    /// }
    /// # Ok::<(), cyrus_sasl::Error>(())
    /// ```
    #[doc(alias = "SASL_SSF_EXTERNAL")]
    #[doc(alias = "SASL_AUTH_EXTERNAL")]
    pub fn set_external(&mut self, ssf: u32, auth_id: Option<&str>) -> Result<()> {
        if self.state != State::New {
            return Err(Error::State { call: "Server::set_external", state: "after the exchange began" });
        }
        self.conn.set_external(ssf, auth_id)
    }

    /// `sasl_setpass` on this connection (for [`Sasldb`](crate::Sasldb)).
    pub(crate) fn set_password(&self, user: &str, password: Option<&[u8]>, flags: u32) -> Result<()> {
        self.conn.set_password(user, password, flags)
    }

    /// The raw connection, for calls this crate does not wrap. It stays owned by
    /// the `Server`; do not dispose it.
    pub fn as_ptr(&self) -> *mut sys::sasl_conn_t {
        self.conn.as_ptr()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server").field("state", &self.state).field("config", self.conn.config()).finish_non_exhaustive()
    }
}

/// The class of a failed step that is a verdict on the peer rather than an
/// error, or `None` for an error.
fn verdict(code: Code, detail: &str) -> Option<RejectReason> {
    match code {
        Code::NOUSER => Some(RejectReason::UnknownUser),
        // libsasl2's own rule when no proxy policy is set (the authzid must be
        // the authid) refuses with BADAUTH and this text.
        Code::BADAUTH if detail.contains("Requested identity not authenticated identity") => Some(RejectReason::Policy),
        Code::BADAUTH => Some(RejectReason::WrongSecret),
        Code::NOAUTHZ => Some(RejectReason::Policy),
        Code::BADBINDING => Some(RejectReason::ChannelBindingMismatch),
        // libsasl2's SCRAM: "Channel bindings mismatch in SCRAM-SHA-256".
        Code::BADPROT if detail.to_ascii_lowercase().contains("channel binding") => {
            Some(RejectReason::ChannelBindingMismatch)
        }
        _ => None,
    }
}

/// Fails when `mech_list` names a mechanism no installed plugin provides, so a
/// missing plugin (CRAM-MD5 is gone from upstream Cyrus SASL) is reported by name
/// and package, not as "no worthy mechs found" mid-handshake.
fn check_mech_list(config: &Config) -> Result<()> {
    if !config.has("mech_list") {
        return Ok(());
    }
    let installed = library::installed_mechanisms()?;
    let is_installed = |m: &str| installed.iter().any(|i| i.eq_ignore_ascii_case(m));
    match config.missing_mechanism(is_installed) {
        None => Ok(()),
        // `SCRAM-SHA-256-PLUS`: the variant of an installed plugin, not a plugin.
        Some(mechanism) if is_plus(mechanism) && is_installed(&mechanism[..mechanism.len() - 5]) => {
            Err(Error::PlusMechanism {
                plugin: mechanism[..mechanism.len() - 5].to_owned(),
                mechanism: mechanism.to_owned(),
            })
        }
        Some(mechanism) => Err(Error::MechanismUnavailable {
            package: library::plugin_package(mechanism),
            mechanism: mechanism.to_owned(),
            installed: installed.to_vec(),
        }),
    }
}

/// Whether `mechanism` names a channel-binding variant (`...-PLUS`, ASCII case
/// ignored).
fn is_plus(mechanism: &str) -> bool {
    mechanism.len() > 5 && mechanism.get(mechanism.len() - 5..).is_some_and(|s| s.eq_ignore_ascii_case("-PLUS"))
}

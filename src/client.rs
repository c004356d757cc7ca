//! [`Client`]: the side that proves an identity.

use std::borrow::Borrow;
use std::fmt;

use sasl_sys as sys;
use zeroize::Zeroizing;

use crate::config::Config;
use crate::error::{Code, Error, Result};
use crate::ffi::{CallbackSet, ClientCredentials, Conn};
use crate::gss;
use crate::kerberos;
use crate::library;
use crate::secret::Secret;
use crate::security_layer::SecurityLayer;
use crate::too_weak;

/// Who the client is, and how it proves it.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// The authentication identity (`SASL_CB_AUTHNAME`), e.g. `alice`.
    pub authname: String,
    /// The identity to act as (`SASL_CB_USER`), when different from `authname`.
    pub authzid: Option<String>,
    /// The password. `None` for mechanisms that need none (GSSAPI uses the
    /// Kerberos ticket cache); a mechanism that needs one then fails with
    /// [`Error::MissingCredential`].
    pub password: Option<Secret>,
    /// The realm to answer when a mechanism asks (`SASL_CB_GETREALM`; DIGEST-MD5).
    pub realm: Option<String>,
}

impl Credentials {
    /// A user name and password, no authzid, no realm.
    pub fn new(authname: impl Into<String>, password: impl Into<Secret>) -> Self {
        Credentials { authname: authname.into(), password: Some(password.into()), ..Default::default() }
    }

    /// For Kerberos (GSSAPI): no name and no password. The client proves the
    /// identity of the ticket in its credential cache (`KRB5CCNAME`, or the
    /// `ccache` option of the client's [`Config`]), and the server learns the
    /// name from the ticket. Set [`Credentials::authzid`] to act as someone else.
    ///
    /// ```
    /// use cyrus_sasl::{Client, Config, Credentials};
    /// let config = Config::new().with("mech_list", "GSSAPI")?;
    /// // The FQDN must be the host part of the service principal mesos/localhost@REALM.
    /// let client = Client::new("mesos", "localhost", Credentials::kerberos(), &config)?;
    /// # Ok::<(), cyrus_sasl::Error>(())
    /// ```
    pub fn kerberos() -> Self {
        Credentials::default()
    }
}

/// A client-side SASL connection.
///
/// It never prompts: when a mechanism needs something the [`Credentials`] lack,
/// `start`/`step` return [`Error::MissingCredential`] naming it.
///
/// A `Client` can move to another thread, but cannot be shared between threads:
///
/// ```compile_fail
/// fn shared<T: Sync>() {}
/// shared::<cyrus_sasl::Client>();
/// ```
///
/// ```
/// fn sent<T: Send>() {}
/// sent::<cyrus_sasl::Client>();
/// ```
pub struct Client {
    /// The one owner of the libsasl2 connection and of everything it points
    /// into: the credential strings, the secret buffer, the `ccache` credential.
    conn: Conn,
    started: bool,
    /// A channel binding was set.
    bound: bool,
    /// The `-PLUS` name of the mechanism chosen, when the client bound it.
    plus_mechanism: Option<String>,
    complete: bool,
    /// The config's `min_ssf`, for explaining a failed choice of mechanism.
    min_ssf: u32,
    /// True when a GSS-API mechanism would use krb5's default credential cache
    /// (no `ccache` credential is attached).
    default_ccache: bool,
    /// True when the credentials' `authname` is empty or blank.
    blank_authname: bool,
}

/// A mechanism that needs a user name and was given a blank one fails inside
/// libsasl2's name canonicalisation (`lib/canonusr.c`) with `SASL_FAIL` and
/// "All-whitespace username" (CRAM-MD5 at its step, SCRAM and PLAIN at start;
/// GSSAPI takes the name from the ticket and never asks). That is turned into
/// [`Error::MissingCredential`] naming the authentication name.
fn explain_blank_authname(blank_authname: bool, error: Error) -> Error {
    match &error {
        Error::Sasl { code: Code::FAIL, detail, .. }
            if blank_authname && detail.contains("All-whitespace username") =>
        {
            Error::MissingCredential { missing: vec!["authentication name (SASL_CB_AUTHNAME)".to_owned()] }
        }
        _ => error,
    }
}

/// Whether libsasl2 may pick a GSS-API mechanism from `mechanisms`.
fn may_use_gss(mechanisms: &str) -> bool {
    mechanisms.split([' ', ',']).any(|m| m.eq_ignore_ascii_case("GSSAPI") || m.eq_ignore_ascii_case("GSS-SPNEGO"))
}

/// What [`Client::start`] chose.
///
/// Its `Debug` shows the length of the initial response, not its bytes: a
/// PLAIN or LOGIN response carries the password in the clear.
#[derive(PartialEq, Eq)]
pub struct ClientStart<'a> {
    /// The mechanism chosen from the server's list.
    pub mechanism: &'a str,
    /// The initial response to send with the mechanism name, if the mechanism has one.
    pub initial_response: Option<&'a [u8]>,
}

/// What a client step produced.
///
/// Its `Debug` shows the length of the bytes to send, not the bytes: a PLAIN or
/// LOGIN response carries the password in the clear.
#[derive(PartialEq, Eq)]
pub enum ClientStep<'a> {
    /// Send these bytes and wait for the next challenge.
    Continue(&'a [u8]),
    /// The client has nothing more to compute. Send the bytes, if any; only the
    /// server's verdict says whether authentication succeeded. (The CRAM-MD5
    /// client always reaches this step, even with a wrong password.)
    Complete(Option<&'a [u8]>),
}

impl Client {
    /// A new client connection to `service` on `server_fqdn` (`sasl_client_new`).
    ///
    /// For GSSAPI, `server_fqdn` must be the host part of the service principal
    /// (`service/server_fqdn@REALM`): an IP address fails with
    /// [`KerberosProblem::UnknownServicePrincipal`](crate::KerberosProblem).
    /// The ticket comes from the config's `ccache` (checked here: an empty or
    /// missing cache is an [`Error::Kerberos`] now; it needs MIT's
    /// `libgssapi_krb5.so.2` at run time, else [`Error::GssApiUnavailable`]),
    /// otherwise from `KRB5CCNAME` or krb5's default cache, read by `start`.
    /// Use [`Credentials::kerberos`].
    ///
    /// The connection copies what it needs from `credentials`, so a program
    /// that opens many connections can keep one `Credentials` and pass a
    /// reference each time, instead of building or cloning it per connection:
    ///
    /// ```
    /// use cyrus_sasl::{Client, Config, Credentials};
    /// let credentials = Credentials::new("alice", "s3cret");
    /// for _ in 0..3 {
    ///     let client = Client::new("myservice", "host.example.com", &credentials, &Config::new())?;
    ///     # drop(client);
    /// }
    /// // An owned value works too.
    /// let client = Client::new("myservice", "host.example.com", credentials, &Config::new())?;
    /// # Ok::<(), cyrus_sasl::Error>(())
    /// ```
    ///
    /// # Cost: libsasl2 looks up this host's own name
    ///
    /// `sasl_client_new` records the client's own fully qualified name on
    /// every new connection, and no argument turns that off. It calls
    /// `gethostname`. When the name has no dot, it also calls `getaddrinfo`
    /// with `AI_CANONNAME`, which reads `/etc/nsswitch.conf`, `/etc/hosts` and
    /// `/etc/resolv.conf`, and may ask DNS: most of the system calls of an
    /// in-memory exchange, and about half its time. A host that opens many
    /// client connections gains the most from a fully qualified host name.
    #[doc(alias = "sasl_client_new")]
    pub fn new(
        service: &str,
        server_fqdn: &str,
        credentials: impl Borrow<Credentials>,
        config: &Config,
    ) -> Result<Self> {
        Client::with_credentials(service, server_fqdn, credentials.borrow(), config)
    }

    fn with_credentials(service: &str, server_fqdn: &str, credentials: &Credentials, config: &Config) -> Result<Self> {
        let creds = ClientCredentials::new(
            &credentials.authname,
            credentials.authzid.as_deref().unwrap_or(""),
            credentials.realm.as_deref(),
            credentials.password.as_ref(),
        )?;
        library::ensure()?;
        let callbacks = CallbackSet::client(config.clone(), creds);
        let mut conn = Conn::client(service, server_fqdn, callbacks, config.security())?;
        let ccache = gss::client(&mut conn, config)?;
        Ok(Client {
            conn,
            started: false,
            bound: false,
            plus_mechanism: None,
            complete: false,
            min_ssf: config.security().min_ssf,
            default_ccache: !ccache,
            blank_authname: credentials.authname.trim().is_empty(),
        })
    }

    /// Picks a mechanism from the server's list (space- or comma-separated) and
    /// computes the initial response (`sasl_client_start`).
    #[doc(alias = "sasl_client_start")]
    pub fn start(&mut self, mechanisms: &str) -> Result<ClientStart<'_>> {
        if self.started {
            return Err(Error::State { call: "Client::start", state: "twice on one connection" });
        }
        self.started = true;
        if self.default_ccache && may_use_gss(mechanisms) {
            if let Some(e) = kerberos::check_default_ccache() {
                return Err(e);
            }
        }
        // Nothing reads a client's logged failures: its errdetail has the reason.
        let started = self.conn.client_start(mechanisms);
        drop(self.conn.take_logged_failures());
        let (code, out, mechanism) = match started.map_err(kerberos::refine) {
            Ok(started) => started,
            Err(e @ Error::Sasl { code: Code::NOMECH, .. }) => {
                // When min_ssf alone excluded what the server offered, say so.
                let detail = match too_weak::explain(&self.conn, e, Some(mechanisms)) {
                    Error::Sasl { detail, .. } => detail,
                    too_weak => return Err(too_weak),
                };
                let offered = mechanisms.split([' ', ',']).filter(|m| !m.is_empty()).map(str::to_owned).collect();
                return Err(Error::NoMechanism { offered, min_ssf: self.min_ssf, detail });
            }
            Err(e) => return Err(explain_blank_authname(self.blank_authname, e)),
        };
        self.complete = code == Code::OK;
        // A NULL buffer means "no initial response".
        let initial_response = (!out.is_null()).then(|| self.conn.output(out));
        // libsasl2 (2.1.28) names the plugin (`SCRAM-SHA-256`) even when it runs
        // the bound variant; the GS2 header of the first message (RFC 5801,
        // SCRAM's and GS2's, the only binding mechanisms) says which: `p=TYPE`
        // is bound, and the server must be started with the `-PLUS` name.
        let mechanism = if self.bound && initial_response.is_some_and(|r| r.starts_with(b"p=")) {
            self.plus_mechanism.insert(format!("{mechanism}-PLUS")).as_str()
        } else {
            mechanism
        };
        Ok(ClientStart { mechanism, initial_response })
    }

    /// Answers the server's next challenge (`sasl_client_step`).
    ///
    /// Fails with [`Error::State`] before [`start`](Self::start) and once the
    /// client is [complete](Self::is_complete).
    #[doc(alias = "sasl_client_step")]
    pub fn step(&mut self, challenge: &[u8]) -> Result<ClientStep<'_>> {
        if !self.started {
            return Err(Error::State { call: "Client::step", state: "before start" });
        }
        if self.complete {
            // libsasl2 2.1.28 answers a step on a finished client with SASL_FAIL
            // and a stale detail ("Unable to find a callback: 32775").
            return Err(Error::State { call: "Client::step", state: "after the exchange completed" });
        }
        let stepped = self.conn.client_step(challenge);
        drop(self.conn.take_logged_failures());
        let (code, out) = match stepped.map_err(kerberos::refine) {
            Ok(stepped) => stepped,
            Err(e) => return Err(explain_blank_authname(self.blank_authname, too_weak::explain(&self.conn, e, None))),
        };
        if code == Code::CONTINUE {
            return Ok(ClientStep::Continue(self.conn.output(out)));
        }
        self.complete = true;
        Ok(ClientStep::Complete((!out.is_null()).then(|| self.conn.output(out))))
    }

    /// Binds the exchange to the channel under it (`SASL_CHANNEL_BINDING`): see
    /// [`ChannelBinding`](crate::ChannelBinding). Call it before
    /// [`start`](Self::start): a `-PLUS` mechanism the server offers is then
    /// chosen and bound. The connection keeps its own copy of the bytes.
    #[doc(alias = "SASL_CHANNEL_BINDING")]
    pub fn set_channel_binding(&mut self, binding: &crate::ChannelBinding) -> Result<()> {
        if self.started {
            return Err(Error::State { call: "Client::set_channel_binding", state: "after start" });
        }
        self.conn.set_channel_binding(binding)?;
        self.bound = true;
        Ok(())
    }

    /// Tells the connection what an external security layer under it (TLS
    /// with a client certificate) established: its strength `ssf`
    /// (`SASL_SSF_EXTERNAL`) and the identity this side proved through it,
    /// `auth_id` (`SASL_AUTH_EXTERNAL`). Call it before [`start`](Self::start).
    /// The connection keeps its own copy.
    ///
    /// libsasl2's EXTERNAL client (2.1.28) is chosen only with an `auth_id`
    /// (`Some("")` counts as `None`). It sends the
    /// [`Credentials::authzid`] if one is set (the server then decides whether
    /// `auth_id` may act as it), else an empty message, which means "act as
    /// whom the layer authenticated"; the `authname` and password are not
    /// used. For other mechanisms, `ssf` counts toward `min_ssf`, and an `ssf`
    /// of 2 or more that reaches `min_ssf` lifts `noplaintext`. A NUL byte in
    /// `auth_id` is [`Error::Nul`]. See [`Server::set_external`](crate::Server::set_external)
    /// for an example.
    #[doc(alias = "SASL_SSF_EXTERNAL")]
    #[doc(alias = "SASL_AUTH_EXTERNAL")]
    pub fn set_external(&mut self, ssf: u32, auth_id: Option<&str>) -> Result<()> {
        if self.started {
            return Err(Error::State { call: "Client::set_external", state: "after start" });
        }
        self.conn.set_external(ssf, auth_id)
    }

    /// True once the client side has computed its last message.
    pub fn is_complete(&self) -> bool {
        self.complete
    }

    /// The negotiated security strength factor (`SASL_SSF`).
    pub fn ssf(&self) -> Result<u32> {
        self.conn.prop_uint(sys::SASL_SSF)
    }

    /// Hands the connection over to its security layer, for
    /// [`SecureStream`](crate::SecureStream) or your own framing
    /// ([`SecurityLayer::encode`]/[`decode`](SecurityLayer::decode)).
    ///
    /// Call it once the client is [complete](Self::is_complete); before that it
    /// fails with [`Error::State`]. When the exchange negotiated no layer (SSF 0,
    /// which is the default `max_ssf`), it fails with
    /// [`Error::NoSecurityLayer`]. Only the server knows whether authentication
    /// succeeded: wait for its verdict before trusting the layer.
    pub fn into_security_layer(self) -> Result<SecurityLayer> {
        if !self.complete {
            return Err(Error::State { call: "Client::into_security_layer", state: "before the exchange completed" });
        }
        SecurityLayer::new(self.conn)
    }

    /// The raw connection, for calls this crate does not wrap. It stays owned by
    /// the `Client`; do not dispose it.
    pub fn as_ptr(&self) -> *mut sys::sasl_conn_t {
        self.conn.as_ptr()
    }
}

/// Shows `<N bytes>` in place of a token.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

impl fmt::Debug for ClientStart<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientStart")
            .field("mechanism", &self.mechanism)
            .field("initial_response", &self.initial_response.map(|r| Redacted(r.len())))
            .finish()
    }
}

impl fmt::Debug for ClientStep<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientStep::Continue(r) => f.debug_tuple("Continue").field(&Redacted(r.len())).finish(),
            ClientStep::Complete(r) => f.debug_tuple("Complete").field(&r.map(|r| Redacted(r.len()))).finish(),
        }
    }
}

impl ClientStep<'_> {
    /// The same step, owning its bytes (zeroized on drop: a PLAIN response
    /// holds the password), so it no longer borrows the [`Client`].
    pub fn into_owned(self) -> OwnedClientStep {
        match self {
            ClientStep::Continue(r) => OwnedClientStep::Continue(Zeroizing::new(r.to_vec())),
            ClientStep::Complete(r) => OwnedClientStep::Complete(r.map(|r| Zeroizing::new(r.to_vec()))),
        }
    }
}

/// A [`ClientStep`] that owns its bytes ([`ClientStep::into_owned`]), zeroized
/// on drop. `Debug` shows lengths only, as [`ClientStep`]'s does.
#[derive(Clone, PartialEq, Eq)]
pub enum OwnedClientStep {
    /// Send these bytes and wait for the next challenge.
    Continue(Zeroizing<Vec<u8>>),
    /// The client has nothing more to compute; see [`ClientStep::Complete`].
    Complete(Option<Zeroizing<Vec<u8>>>),
}

impl fmt::Debug for OwnedClientStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OwnedClientStep::Continue(r) => f.debug_tuple("Continue").field(&Redacted(r.len())).finish(),
            OwnedClientStep::Complete(r) => {
                f.debug_tuple("Complete").field(&r.as_ref().map(|r| Redacted(r.len()))).finish()
            }
        }
    }
}

/// What [`ClientStart`] says, owning its bytes (zeroized on drop).
#[derive(Clone, PartialEq, Eq)]
pub struct OwnedClientStart {
    /// The mechanism chosen from the server's list.
    pub mechanism: String,
    /// The initial response to send with the mechanism name, if any.
    pub initial_response: Option<Zeroizing<Vec<u8>>>,
}

impl ClientStart<'_> {
    /// The same, owning its bytes, so it no longer borrows the [`Client`].
    pub fn into_owned(self) -> OwnedClientStart {
        OwnedClientStart {
            mechanism: self.mechanism.to_owned(),
            initial_response: self.initial_response.map(|r| Zeroizing::new(r.to_vec())),
        }
    }
}

impl fmt::Debug for OwnedClientStart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedClientStart")
            .field("mechanism", &self.mechanism)
            .field("initial_response", &self.initial_response.as_ref().map(|r| Redacted(r.len())))
            .finish()
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("started", &self.started)
            .field("complete", &self.complete)
            .finish_non_exhaustive()
    }
}

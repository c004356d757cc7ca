//! TLS on the libprocess wire (rustls): the configuration in Mesos's
//! `LIBPROCESS_SSL_*` terms, the first-bytes classifier of downgrade mode, and
//! the stream an [`Endpoint`](super::Endpoint)'s connections run on (plain TCP
//! or TLS). What each variable means, and where the semantics differ from
//! Mesos's (Apache Mesos `3rdparty/libprocess/src/openssl.cpp`, `docs/ssl.md`),
//! is written once, in the crate documentation's TLS section.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::env::LOG_TARGET;
use crate::error::{EnvError, Error};

/// How the server's certificate is matched against the peer it should belong
/// to (`LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HostnameValidation {
    /// `openssl`, Mesos's scheme of that name: the certificate must name the
    /// peer as the program named it. A destination named by host name
    /// ([`Endpoint::resolve_upid`](crate::Endpoint::resolve_upid) or
    /// [`Endpoint::set_tls_server_name`](crate::Endpoint::set_tls_server_name))
    /// is checked against the certificate's DNS subject alternative names; any
    /// other against its IP (an IP subject alternative name). No reverse DNS
    /// look-up is made (that is Mesos's `legacy` scheme, not supported).
    #[default]
    Openssl,
}

/// TLS for an [`Endpoint`](super::Endpoint): set
/// [`EndpointOptions::tls`](super::EndpointOptions::tls) to use it. Read from
/// `LIBPROCESS_SSL_*` by [`EndpointOptions::from_env`](super::EndpointOptions::from_env),
/// or built:
///
/// ```no_run
/// use libprocess::{EndpointOptions, TlsOptions};
/// let options = EndpointOptions {
///     tls: Some(TlsOptions::new("/etc/mesos/cert.pem", "/etc/mesos/key.pem").ca_file("/etc/mesos/ca.pem")),
///     ..EndpointOptions::default()
/// };
/// ```
///
/// Files are read when the endpoint binds; a file that cannot be read or a
/// set that makes no valid configuration is an [`Error`](crate::Error) from
/// [`Endpoint::bind`](super::Endpoint::bind). How the semantics and defaults
/// compare with Mesos's: the crate documentation's TLS section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificate chain, leaf first (`LIBPROCESS_SSL_CERT_FILE`): the
    /// server certificate, and the client certificate this endpoint presents.
    pub cert_file: PathBuf,
    /// PEM private key of that certificate (`LIBPROCESS_SSL_KEY_FILE`).
    pub key_file: PathBuf,
    /// PEM file of trusted CA certificates (`LIBPROCESS_SSL_CA_FILE`).
    pub ca_file: Option<PathBuf>,
    /// Directory whose PEM files hold trusted CA certificates
    /// (`LIBPROCESS_SSL_CA_DIR`); files that hold no certificate are skipped.
    pub ca_dir: Option<PathBuf>,
    /// Verify the certificate of every server this endpoint connects to
    /// (`LIBPROCESS_SSL_VERIFY_SERVER_CERT`; default **true**, unlike Mesos).
    pub verify_server_cert: bool,
    /// Refuse incoming connections without a client certificate from the CA
    /// (`LIBPROCESS_SSL_REQUIRE_CLIENT_CERT`; default false). Implies
    /// [`verify_server_cert`](Self::verify_server_cert).
    pub require_client_cert: bool,
    /// Serve incoming plaintext connections too (`LIBPROCESS_SSL_SUPPORT_DOWNGRADE`;
    /// default false). This gives up what TLS is for: anyone can talk to this
    /// endpoint in clear, and certificate requirements do not apply to them.
    pub support_downgrade: bool,
    /// How server certificates are matched (`LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME`).
    pub hostname_validation: HostnameValidation,
}

impl TlsOptions {
    /// TLS with this certificate and key, and the safe defaults: server
    /// certificates verified (give a CA), client certificates not required,
    /// no downgrade.
    pub fn new(cert_file: impl Into<PathBuf>, key_file: impl Into<PathBuf>) -> Self {
        TlsOptions {
            cert_file: cert_file.into(),
            key_file: key_file.into(),
            ca_file: None,
            ca_dir: None,
            verify_server_cert: true,
            require_client_cert: false,
            support_downgrade: false,
            hostname_validation: HostnameValidation::Openssl,
        }
    }

    /// Sets [`ca_file`](Self::ca_file).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_file = Some(path.into());
        self
    }

    /// Sets [`ca_dir`](Self::ca_dir).
    pub fn ca_dir(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_dir = Some(path.into());
        self
    }

    /// Sets [`verify_server_cert`](Self::verify_server_cert).
    pub fn verify_server_cert(mut self, verify: bool) -> Self {
        self.verify_server_cert = verify;
        self
    }

    /// Sets [`require_client_cert`](Self::require_client_cert).
    pub fn require_client_cert(mut self, require: bool) -> Self {
        self.require_client_cert = require;
        self
    }

    /// Sets [`support_downgrade`](Self::support_downgrade).
    pub fn support_downgrade(mut self, downgrade: bool) -> Self {
        self.support_downgrade = downgrade;
        self
    }

    /// `None` unless `LIBPROCESS_SSL_ENABLED` is true; then the options from
    /// the other `LIBPROCESS_SSL_*` variables (the former names
    /// `LIBPROCESS_SSL_VERIFY_CERT` and `LIBPROCESS_SSL_REQUIRE_CERT` too, the
    /// new ones winning). Booleans are `true`/`false`/`1`/`0`.
    pub(crate) fn from_vars(var: &impl Fn(&str) -> Option<String>) -> Result<Option<Self>, EnvError> {
        let get = |name: &str| var(name).filter(|v| !v.is_empty());
        let flag = |name: &'static str, alias: Option<&'static str>| -> Result<Option<bool>, EnvError> {
            let (name, value) = match (get(name), alias.and_then(get)) {
                (Some(value), _) => (name, value),
                (None, Some(value)) => (alias.unwrap_or(name), value),
                (None, None) => return Ok(None),
            };
            match value.to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(EnvError::new(name, &value, "true, false, 1 or 0")),
            }
        };
        if !flag("LIBPROCESS_SSL_ENABLED", None)?.unwrap_or(false) {
            return Ok(None);
        }
        let path = |name: &'static str| -> Result<PathBuf, EnvError> {
            get(name)
                .map(PathBuf::from)
                .ok_or_else(|| EnvError::new(name, "", "a PEM file (LIBPROCESS_SSL_ENABLED=true needs it)"))
        };
        let mut tls = TlsOptions::new(path("LIBPROCESS_SSL_CERT_FILE")?, path("LIBPROCESS_SSL_KEY_FILE")?);
        tls.ca_file = get("LIBPROCESS_SSL_CA_FILE").map(PathBuf::from);
        tls.ca_dir = get("LIBPROCESS_SSL_CA_DIR").map(PathBuf::from);
        if let Some(verify) = flag("LIBPROCESS_SSL_VERIFY_SERVER_CERT", Some("LIBPROCESS_SSL_VERIFY_CERT"))? {
            tls.verify_server_cert = verify;
        }
        if let Some(require) = flag("LIBPROCESS_SSL_REQUIRE_CLIENT_CERT", Some("LIBPROCESS_SSL_REQUIRE_CERT"))? {
            tls.require_client_cert = require;
        }
        if let Some(downgrade) = flag("LIBPROCESS_SSL_SUPPORT_DOWNGRADE", None)? {
            tls.support_downgrade = downgrade;
        }
        if let Some(scheme) = get("LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME") {
            match scheme.as_str() {
                "openssl" => tls.hostname_validation = HostnameValidation::Openssl,
                _ => {
                    return Err(EnvError::new(
                        "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME",
                        &scheme,
                        "openssl (the legacy reverse-DNS scheme is not supported)",
                    ));
                }
            }
        }
        Ok(Some(tls))
    }
}

/// What the first bytes of an incoming connection are, for downgrade mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirstBytes {
    /// A TLS handshake record (content type 22, protocol major version 3).
    Tls,
    /// Anything else: served as plaintext libprocess (HTTP) when downgrade is on.
    Plaintext,
}

/// Classifies the first bytes a peer sent: `None` while too few have arrived to
/// tell. A TLS connection starts with a handshake record header, `0x16 0x03 v`
/// (v ≤ 4); an HTTP request starts with a method name, never with `0x16`. So one
/// byte tells plaintext, and three tell TLS. Decisions never change as more bytes
/// arrive.
pub fn classify_first_bytes(bytes: &[u8]) -> Option<FirstBytes> {
    match bytes {
        [] => None,
        [first, ..] if *first != 0x16 => Some(FirstBytes::Plaintext),
        [_] => None,
        [_, 0x03] => None,
        [_, 0x03, minor, ..] if *minor <= 0x04 => Some(FirstBytes::Tls),
        _ => Some(FirstBytes::Plaintext),
    }
}

/// A built TLS configuration: both sides' rustls configs, shared by every
/// connection of an endpoint.
#[derive(Clone)]
pub(crate) struct TlsContext {
    acceptor: TlsAcceptor,
    connector: TlsConnector,
    downgrade: bool,
    /// The names destinations were given by, checked against their
    /// certificates instead of their IPs.
    names: Arc<parking_lot::Mutex<HashMap<SocketAddr, ServerName<'static>>>>,
}

impl fmt::Debug for TlsContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsContext").field("downgrade", &self.downgrade).finish_non_exhaustive()
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|source| Error::TlsCertificateFile { path: path.to_owned(), source })?;
    if certs.is_empty() {
        return Err(Error::TlsNoCertificate { path: path.to_owned() });
    }
    Ok(certs)
}

fn read_roots(options: &TlsOptions) -> Result<Option<Arc<RootCertStore>>, Error> {
    let mut roots = RootCertStore::empty();
    let mut add = |path: &Path, certs: Vec<CertificateDer<'static>>| -> Result<(), Error> {
        for cert in certs {
            roots.add(cert).map_err(|source| Error::TlsCaCertificate { path: path.to_owned(), source })?;
        }
        Ok(())
    };
    if let Some(path) = &options.ca_file {
        add(path, read_certs(path)?)?;
    }
    if let Some(dir) = &options.ca_dir {
        let ca_dir = |source| Error::TlsCaDir { path: dir.clone(), source };
        for entry in std::fs::read_dir(dir).map_err(ca_dir)? {
            let path = entry.map_err(ca_dir)?.path();
            // OpenSSL's hashed links and any other PEM file; non-certificates skipped.
            if path.is_file()
                && let Ok(certs) = read_certs(&path)
            {
                add(&path, certs)?;
            }
        }
    }
    Ok((!roots.is_empty()).then(|| Arc::new(roots)))
}

/// The crypto provider of every TLS configuration: the process-wide default
/// when the program installed one (`CryptoProvider::install_default`), else
/// the one rustls's crate features name, which is *ring* (this crate enables
/// only that one); rustls installs it as the process default then.
///
/// This is rustls's own way to a *ring* provider that its newer 0.23 releases
/// do not deprecate. A program whose dependencies enable a second rustls
/// provider must install one before binding a TLS endpoint, as rustls asks of
/// every program in that case.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    match CryptoProvider::get_default() {
        Some(provider) => provider.clone(),
        None => ClientConfig::builder().crypto_provider().clone(),
    }
}

impl TlsContext {
    /// Reads the files and builds both configs; logs the downgrade warning.
    pub(crate) fn new(options: &TlsOptions) -> Result<TlsContext, Error> {
        let provider = crypto_provider();
        let chain = read_certs(&options.cert_file)?;
        let key = PrivateKeyDer::from_pem_file(&options.key_file)
            .map_err(|source| Error::TlsKeyFile { path: options.key_file.clone(), source })?;
        let roots = read_roots(options)?;
        let verify_server = options.verify_server_cert || options.require_client_cert;
        if options.require_client_cert && !options.verify_server_cert {
            log::info!(target: LOG_TARGET, "requiring client certificates implies verifying server certificates");
        }
        if verify_server && roots.is_none() {
            return Err(Error::TlsNoCa);
        }
        let config = |source| Error::TlsConfig { source };

        let client_verifier = match &roots {
            Some(roots) => {
                let builder = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone());
                let builder = if options.require_client_cert { builder } else { builder.allow_unauthenticated() };
                builder.build().map_err(|source| Error::TlsClientVerifier { source })?
            }
            None => WebPkiClientVerifier::no_client_auth(),
        };
        let mut server = ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(config)?
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(chain.clone(), key.clone_key())
            .map_err(config)?;
        // TLS 1.2 only with extended master secret (RFC 7627), on both sides:
        // without it a session's master secret, and so its `tls-exporter`
        // channel binding, can be made equal to another session's (the triple
        // handshake), and RFC 9266 forbids tls-exporter there. rustls 0.23
        // requires it by default only with a FIPS provider. TLS 1.3 is unaffected.
        server.require_ems = true;

        let client = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(config)?;
        let client = match roots {
            Some(roots) if verify_server => client.with_root_certificates(roots),
            _ => client.dangerous().with_custom_certificate_verifier(Arc::new(AnyServerCert(provider))),
        };
        let mut client = client.with_client_auth_cert(chain, key).map_err(config)?;
        client.require_ems = true;

        if options.support_downgrade {
            log::warn!(
                target: LOG_TARGET,
                "TLS downgrade is on (LIBPROCESS_SSL_SUPPORT_DOWNGRADE): plaintext peers are served too, \
                 so TLS guarantees nothing about incoming connections and certificate requirements can be bypassed"
            );
        }
        if !verify_server {
            log::warn!(
                target: LOG_TARGET,
                "TLS server certificates are not verified (LIBPROCESS_SSL_VERIFY_SERVER_CERT=false): \
                 a machine in the middle can read and change what this endpoint sends"
            );
        }
        Ok(TlsContext {
            acceptor: TlsAcceptor::from(Arc::new(server)),
            connector: TlsConnector::from(Arc::new(client)),
            downgrade: options.support_downgrade,
            names: Arc::default(),
        })
    }

    /// Opens TLS over an accepted connection, or (downgrade on and no TLS
    /// handshake coming) serves it as plaintext.
    pub(crate) async fn accept(&self, tcp: TcpStream) -> io::Result<Stream> {
        if self.downgrade && sniff(&tcp).await? == FirstBytes::Plaintext {
            return Ok(Stream::Plain(tcp));
        }
        let tls = self.acceptor.accept(tcp).await?;
        Stream::tls(tls.into())
    }

    /// Checks the certificate of the destination `addr` against the host name
    /// `name` from now on, instead of against its IP.
    pub(crate) fn set_server_name(&self, addr: SocketAddr, name: ServerName<'static>) {
        self.names.lock().insert(addr, name);
    }

    /// The name the certificate of `addr` must carry: the host name it was
    /// given by, else its IP.
    pub(crate) fn server_name(&self, addr: SocketAddr) -> ServerName<'static> {
        self.names.lock().get(&addr).cloned().unwrap_or_else(|| ServerName::from(addr.ip()))
    }

    /// Opens TLS over a connection, checking the server's certificate names
    /// `name` (when verification is on).
    pub(crate) async fn connect(&self, name: ServerName<'static>, tcp: TcpStream) -> io::Result<Stream> {
        let tls = self.connector.connect(name, tcp).await?;
        Stream::tls(tls.into())
    }
}

/// Waits (no deadline of its own) until the first bytes tell TLS from plaintext.
async fn sniff(tcp: &TcpStream) -> io::Result<FirstBytes> {
    let mut first = [0u8; 3];
    loop {
        let n = tcp.peek(&mut first).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(kind) = classify_first_bytes(&first[..n]) {
            return Ok(kind);
        }
        // One or two bytes of a record header: the rest is on its way. (peek
        // would return at once with the same bytes, so wait a little.)
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Accepts any server certificate (LIBPROCESS_SSL_VERIFY_SERVER_CERT=false),
/// still checking the handshake signatures made with it.
#[derive(Debug)]
struct AnyServerCert(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// What one TLS connection established, read once when its handshake ends:
/// what a message that came over it (an [`Envelope`](super::Envelope)), or that
/// goes out on it ([`Endpoint::send_on`](super::Endpoint::send_on)),
/// can be tied to.
///
/// `Debug` shows the SSF and whether there is a peer certificate, never the
/// binding bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TlsSession {
    exporter: [u8; 32],
    peer_certificate: Option<CertificateDer<'static>>,
    ssf: u32,
}

impl TlsSession {
    fn new<D>(conn: &rustls::ConnectionCommon<D>) -> io::Result<TlsSession> {
        let exporter = super::channel_binding::tls_exporter(conn).map_err(io::Error::other)?;
        let peer_certificate = conn.peer_certificates().and_then(|chain| chain.first()).map(|c| c.clone().into_owned());
        // The cipher's key length. Every suite rustls offers is an AEAD with a
        // 128- or 256-bit key; the 256-bit ones are named, so a suite not
        // listed here is understated as 128, never overstated.
        let ssf = match conn.negotiated_cipher_suite().map(|s| s.suite()) {
            Some(
                rustls::CipherSuite::TLS13_AES_256_GCM_SHA384
                | rustls::CipherSuite::TLS13_CHACHA20_POLY1305_SHA256
                | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
                | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
                | rustls::CipherSuite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                | rustls::CipherSuite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
            ) => 256,
            _ => 128,
        };
        Ok(TlsSession { exporter, peer_certificate, ssf })
    }

    /// The `tls-exporter` channel binding data (RFC 9266) of this connection:
    /// 32 bytes, the same at both of its ends, different on any other
    /// connection (a relay's two connections among them). Hand it to SASL as
    /// the binding named [`TLS_EXPORTER`](crate::TLS_EXPORTER).
    pub fn exporter(&self) -> &[u8; 32] {
        &self.exporter
    }

    /// The peer's leaf certificate, if it presented one. Verified against the
    /// endpoint's CA: an accepting endpoint asks for client certificates only
    /// when it has a CA, and verifies every one presented; a connecting one has
    /// the server's, verified unless `verify_server_cert` is off.
    pub fn peer_certificate(&self) -> Option<&CertificateDer<'static>> {
        self.peer_certificate.as_ref()
    }

    /// The security strength factor to tell SASL (`SASL_SSF_EXTERNAL`): the
    /// key length in bits of the negotiated cipher (128 or 256).
    pub fn ssf(&self) -> u32 {
        self.ssf
    }
}

impl fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSession")
            .field("ssf", &self.ssf)
            .field("peer_certificate", &self.peer_certificate.is_some())
            .finish_non_exhaustive()
    }
}

/// A connection of an endpoint: plain TCP, or TLS over it.
pub(crate) enum Stream {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::TlsStream<TcpStream>>, Arc<TlsSession>),
}

impl Stream {
    fn tls(tls: tokio_rustls::TlsStream<TcpStream>) -> io::Result<Stream> {
        let session = match &tls {
            tokio_rustls::TlsStream::Client(c) => TlsSession::new(c.get_ref().1)?,
            tokio_rustls::TlsStream::Server(s) => TlsSession::new(s.get_ref().1)?,
        };
        Ok(Stream::Tls(Box::new(tls), Arc::new(session)))
    }

    /// Its TLS session, if it is TLS.
    pub(crate) fn tls_session(&self) -> Option<&Arc<TlsSession>> {
        match self {
            Stream::Plain(_) => None,
            Stream::Tls(_, session) => Some(session),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Stream::Tls(tls, _) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Stream::Tls(tls, _) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            Stream::Tls(tls, _) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Stream::Tls(tls, _) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifier() {
        assert_eq!(classify_first_bytes(b""), None);
        assert_eq!(classify_first_bytes(b"P"), Some(FirstBytes::Plaintext));
        assert_eq!(classify_first_bytes(b"POST /"), Some(FirstBytes::Plaintext));
        assert_eq!(classify_first_bytes(&[0x16]), None);
        assert_eq!(classify_first_bytes(&[0x16, 0x03]), None);
        assert_eq!(classify_first_bytes(&[0x16, 0x03, 0x01]), Some(FirstBytes::Tls));
        assert_eq!(classify_first_bytes(&[0x16, 0x03, 0x01, 0x02, 0x00]), Some(FirstBytes::Tls));
        assert_eq!(classify_first_bytes(&[0x16, 0x03, 0x09]), Some(FirstBytes::Plaintext));
        assert_eq!(classify_first_bytes(&[0x16, 0x02]), Some(FirstBytes::Plaintext));
    }

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn from_vars() {
        assert_eq!(TlsOptions::from_vars(&vars(&[])).unwrap(), None);
        assert_eq!(TlsOptions::from_vars(&vars(&[("LIBPROCESS_SSL_ENABLED", "false")])).unwrap(), None);
        let err = TlsOptions::from_vars(&vars(&[("LIBPROCESS_SSL_ENABLED", "yes")])).unwrap_err();
        assert_eq!(err.var, "LIBPROCESS_SSL_ENABLED");
        let err = TlsOptions::from_vars(&vars(&[("LIBPROCESS_SSL_ENABLED", "1")])).unwrap_err();
        assert_eq!(err.var, "LIBPROCESS_SSL_CERT_FILE");
        const BASE: [(&str, &str); 3] =
            [("LIBPROCESS_SSL_ENABLED", "true"), ("LIBPROCESS_SSL_CERT_FILE", "c"), ("LIBPROCESS_SSL_KEY_FILE", "k")];
        let tls = TlsOptions::from_vars(&vars(&BASE)).unwrap().unwrap();
        assert_eq!(tls, TlsOptions::new("c", "k"));
        assert!(tls.verify_server_cert && !tls.require_client_cert && !tls.support_downgrade);
        const MORE: [(&str, &str); 8] = [
            ("LIBPROCESS_SSL_ENABLED", "true"),
            ("LIBPROCESS_SSL_CERT_FILE", "c"),
            ("LIBPROCESS_SSL_KEY_FILE", "k"),
            ("LIBPROCESS_SSL_CA_DIR", "d"),
            ("LIBPROCESS_SSL_VERIFY_CERT", "0"),
            ("LIBPROCESS_SSL_REQUIRE_CLIENT_CERT", "1"),
            ("LIBPROCESS_SSL_SUPPORT_DOWNGRADE", "TRUE"),
            ("LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "openssl"),
        ];
        let tls = TlsOptions::from_vars(&vars(&MORE)).unwrap().unwrap();
        assert_eq!(
            tls,
            TlsOptions::new("c", "k")
                .ca_dir("d")
                .verify_server_cert(false)
                .require_client_cert(true)
                .support_downgrade(true)
        );
        const LEGACY: [(&str, &str); 4] = [
            ("LIBPROCESS_SSL_ENABLED", "true"),
            ("LIBPROCESS_SSL_CERT_FILE", "c"),
            ("LIBPROCESS_SSL_KEY_FILE", "k"),
            ("LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME", "legacy"),
        ];
        let err = TlsOptions::from_vars(&vars(&LEGACY)).unwrap_err();
        assert_eq!(err.var, "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME");
    }
}

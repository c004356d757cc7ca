//! Per-connection Kerberos credentials: the server's keytab and the client's
//! credential cache, named in the connection's [`Config`] with Cyrus's own
//! option names, in every build.
//!
//! libsasl2 2.1.28 offers no per-connection way to name either:
//! - The GSSAPI plugin reads the Cyrus `keytab` option once, when the plugin is
//!   loaded at init, from the process-wide options (`/etc/sasl2/APP.conf`), and
//!   registers it for the whole process (`krb5_gss_register_acceptor_identity`).
//!   The same option in a connection's options is never read.
//! - The client side has no option at all: MIT krb5 reads `KRB5CCNAME`.
//!
//! What the plugin does honour is a credential handed in through the
//! `SASL_GSS_CREDS` property: it then skips its own `gss_acquire_cred`. So this
//! crate acquires the credential itself (`ffi::gss`, MIT's GSS-API library
//! loaded at run time), from the `keytab` a server config names (for the
//! principal `SERVICE/FQDN`, so the server accepts nothing else from that
//! keytab) or the `ccache` a client config names, and gives it to the
//! connection, which owns it until after `sasl_dispose`. A bad keytab or an
//! empty cache is then reported by `Server::new`/`Client::new` as
//! [`Error::Kerberos`](crate::Error::Kerberos).

use crate::config::Config;
use crate::error::Result;
use crate::ffi::{self, Conn};

/// The config key naming a server's keytab (Cyrus's own option name).
const KEYTAB: &str = "keytab";
/// The config key naming a client's credential cache.
const CCACHE: &str = "ccache";

/// Mechanisms the GSSAPI plugin implements, which read `SASL_GSS_CREDS`.
const GSS_MECHANISMS: [&str; 2] = ["GSSAPI", "GSS-SPNEGO"];

/// The value of `key` when the config may use a GSS-API mechanism (its
/// `mech_list` is unset or names one), else `None`.
fn wanted<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    let value = config.get(key)?;
    let gss = match config.mech_list() {
        None => true,
        Some(list) => list.iter().any(|m| GSS_MECHANISMS.contains(&m.as_str())),
    };
    gss.then_some(value)
}

/// With a `keytab` in the config: a credential for `SERVICE@FQDN` from that
/// keytab, given to `conn`. Returns whether one was.
pub(crate) fn server(conn: &mut Conn, service: &str, fqdn: &str, config: &Config) -> Result<bool> {
    let Some(keytab) = wanted(config, KEYTAB) else { return Ok(false) };
    conn.attach_gss(ffi::gss::acceptor(service, fqdn, keytab, KEYTAB)?)?;
    Ok(true)
}

/// With a `ccache` in the config: the default principal's credential from that
/// cache, given to `conn`. Returns whether one was.
pub(crate) fn client(conn: &mut Conn, config: &Config) -> Result<bool> {
    let Some(ccache) = wanted(config, CCACHE) else { return Ok(false) };
    conn.attach_gss(ffi::gss::initiator(ccache, CCACHE)?)?;
    Ok(true)
}

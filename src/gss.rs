//! Per-connection Kerberos credentials: the server's keytab and the client's
//! credential cache, named in the connection's [`Config`].
//!
//! libsasl2 2.1.28 offers no per-connection way to name either:
//! - The GSSAPI plugin reads the Cyrus `keytab` option once, when the plugin is
//!   loaded at init, from the process-wide options (`/etc/sasl2/APP.conf`), and
//!   registers it for the whole process (`krb5_gss_register_acceptor_identity`).
//!   The same option in a connection's options is never read.
//! - The client side has no option at all: MIT krb5 reads `KRB5CCNAME`.
//!
//! What the plugin does honour is a credential handed in through the
//! `SASL_GSS_CREDS` property: it then skips its own `gss_acquire_cred`. So with
//! the `kerberos` feature this crate acquires the credential itself, with MIT's
//! `gss_acquire_cred_from` (krb5 1.11 or newer), from the `keytab` a server
//! config names (for the principal `SERVICE/FQDN`, so the server accepts
//! nothing else from that keytab) or the `ccache` a client config names, and
//! attaches it to the connection. A bad keytab or an empty cache is then
//! reported by `Server::new`/`Client::new` as [`Error::Kerberos`].
//!
//! Without the feature, a config that sets `keytab` or `ccache` for a GSS-API
//! mechanism is refused with [`ConfigErrorKind::NeedsFeature`] rather than
//! silently ignored (the process would use `KRB5_KTNAME`/`KRB5CCNAME`, or the
//! system defaults, instead).

use crate::config::Config;
use crate::connection::Conn;
use crate::error::{Error, Result};

/// The config key naming a server's keytab (Cyrus's own option name).
pub(crate) const KEYTAB: &str = "keytab";
/// The config key naming a client's credential cache.
pub(crate) const CCACHE: &str = "ccache";

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

#[cfg(not(feature = "kerberos"))]
mod imp {
    use super::*;
    use crate::config::{ConfigError, ConfigErrorKind};

    /// Without the `kerberos` feature there is never a credential to hold.
    pub(crate) enum Credential {}

    pub(crate) fn server(_conn: &Conn, _service: &str, _fqdn: &str, config: &Config) -> Result<Option<Credential>> {
        refuse(config, KEYTAB)
    }

    pub(crate) fn client(_conn: &Conn, config: &Config) -> Result<Option<Credential>> {
        refuse(config, CCACHE)
    }

    fn refuse(config: &Config, key: &'static str) -> Result<Option<Credential>> {
        let instead = if key == KEYTAB { "KRB5_KTNAME" } else { "KRB5CCNAME" };
        match wanted(config, key) {
            None => Ok(None),
            Some(_) => Err(Error::Config(ConfigError {
                path: None,
                line: 0,
                kind: ConfigErrorKind::NeedsFeature { key, feature: "kerberos", instead },
            })),
        }
    }
}

#[cfg(feature = "kerberos")]
mod imp {
    use std::ffi::{CStr, CString, c_char, c_int, c_void};
    use std::ptr::{self, NonNull};

    use sasl_sys as sys;

    use super::*;
    use crate::error::{Code, check};
    use crate::kerberos::KerberosProblem;

    // The few MIT GSS-API declarations needed (gssapi/gssapi.h and
    // gssapi/gssapi_ext.h; natural alignment on every target but old macOS).
    type OmUint32 = u32;

    #[repr(C)]
    struct GssBuffer {
        length: usize,
        value: *mut c_void,
    }

    #[repr(C)]
    struct GssOid {
        length: OmUint32,
        elements: *mut c_void,
    }

    #[repr(C)]
    struct KeyValueElement {
        key: *const c_char,
        value: *const c_char,
    }

    #[repr(C)]
    struct KeyValueSet {
        count: OmUint32,
        elements: *const KeyValueElement,
    }

    const GSS_C_INDEFINITE: OmUint32 = 0xffff_ffff;
    const GSS_C_INITIATE: c_int = 1;
    const GSS_C_ACCEPT: c_int = 2;
    const GSS_C_GSS_CODE: c_int = 1;
    const GSS_C_MECH_CODE: c_int = 2;

    /// `GSS_ERROR(major)`: a calling or routine error is set.
    fn gss_error(major: OmUint32) -> bool {
        major & 0xffff_0000 != 0
    }

    #[link(name = "gssapi_krb5")]
    unsafe extern "C" {
        static GSS_C_NT_HOSTBASED_SERVICE: *mut GssOid;
        fn gss_import_name(
            minor: *mut OmUint32,
            input: *mut GssBuffer,
            name_type: *mut GssOid,
            output: *mut *mut c_void,
        ) -> OmUint32;
        fn gss_release_name(minor: *mut OmUint32, name: *mut *mut c_void) -> OmUint32;
        #[allow(clippy::too_many_arguments)]
        fn gss_acquire_cred_from(
            minor: *mut OmUint32,
            desired_name: *mut c_void,
            time_req: OmUint32,
            desired_mechs: *mut c_void,
            cred_usage: c_int,
            cred_store: *const KeyValueSet,
            output_cred: *mut *mut c_void,
            actual_mechs: *mut *mut c_void,
            time_rec: *mut OmUint32,
        ) -> OmUint32;
        fn gss_release_cred(minor: *mut OmUint32, cred: *mut *mut c_void) -> OmUint32;
        fn gss_display_status(
            minor: *mut OmUint32,
            status: OmUint32,
            status_type: c_int,
            mech_type: *mut GssOid,
            message_context: *mut OmUint32,
            status_string: *mut GssBuffer,
        ) -> OmUint32;
        fn gss_release_buffer(minor: *mut OmUint32, buffer: *mut GssBuffer) -> OmUint32;
    }

    /// An owned GSS-API credential handle (`gss_cred_id_t`), released on drop.
    /// The connection it is attached to must be disposed first: the owner
    /// declares it after the connection.
    pub(crate) struct Credential(NonNull<c_void>);

    // SAFETY: a gss_cred_id_t has no thread affinity; MIT krb5 locks the
    // credential internally. It is only used through the one connection that
    // owns it, which is itself Send but not Sync.
    unsafe impl Send for Credential {}

    impl Drop for Credential {
        fn drop(&mut self) {
            let mut minor = 0;
            let mut handle = self.0.as_ptr();
            // SAFETY: the handle came from gss_acquire_cred_from and is released once.
            unsafe { gss_release_cred(&mut minor, &mut handle) };
        }
    }

    /// With a `keytab` in the config: a credential for `SERVICE@FQDN` (the
    /// principal `SERVICE/FQDN@REALM`) from that keytab, attached to `conn`.
    pub(crate) fn server(conn: &Conn, service: &str, fqdn: &str, config: &Config) -> Result<Option<Credential>> {
        let Some(keytab) = wanted(config, KEYTAB) else { return Ok(None) };
        let name = HostbasedName::import(service, fqdn)?;
        let credential = acquire(name.0, GSS_C_ACCEPT, c"keytab", keytab, KEYTAB)?;
        attach(conn, credential).map(Some)
    }

    /// With a `ccache` in the config: the default principal's credential from
    /// that cache, attached to `conn`.
    pub(crate) fn client(conn: &Conn, config: &Config) -> Result<Option<Credential>> {
        let Some(ccache) = wanted(config, CCACHE) else { return Ok(None) };
        let credential = acquire(ptr::null_mut(), GSS_C_INITIATE, c"ccache", ccache, CCACHE)?;
        attach(conn, credential).map(Some)
    }

    fn attach(conn: &Conn, credential: Credential) -> Result<Credential> {
        // SAFETY: conn is live. libsasl2 stores the handle as it is and the plugin
        // only reads it; it stays valid because the caller keeps `credential`
        // until after the connection is disposed.
        let rc = unsafe { sys::sasl_setprop(conn.as_ptr(), sys::SASL_GSS_CREDS as _, credential.0.as_ptr()) };
        check(conn.as_ptr(), "sasl_setprop(SASL_GSS_CREDS)", rc)?;
        Ok(credential)
    }

    /// A `gss_name_t` for a host-based service, released on drop.
    struct HostbasedName(*mut c_void);

    impl HostbasedName {
        fn import(service: &str, fqdn: &str) -> Result<Self> {
            let text = format!("{service}@{fqdn}");
            let mut buffer = GssBuffer { length: text.len(), value: text.as_ptr().cast_mut().cast() };
            let mut minor = 0;
            let mut name = ptr::null_mut();
            // SAFETY: the buffer points at text.len() readable bytes (gss_import_name
            // copies them); GSS_C_NT_HOSTBASED_SERVICE is MIT's static OID; name is
            // an out-pointer.
            let major = unsafe { gss_import_name(&mut minor, &mut buffer, GSS_C_NT_HOSTBASED_SERVICE, &mut name) };
            if gss_error(major) || name.is_null() {
                return Err(gss_failure("gss_import_name", major, minor));
            }
            Ok(HostbasedName(name))
        }
    }

    impl Drop for HostbasedName {
        fn drop(&mut self) {
            let mut minor = 0;
            // SAFETY: the name came from gss_import_name and is released once.
            unsafe { gss_release_name(&mut minor, &mut self.0) };
        }
    }

    fn acquire(
        name: *mut c_void,
        usage: c_int,
        store_key: &'static CStr,
        value: &str,
        option: &'static str,
    ) -> Result<Credential> {
        let value = CString::new(value).map_err(|_| Error::Nul { what: option })?;
        let element = KeyValueElement { key: store_key.as_ptr(), value: value.as_ptr() };
        let store = KeyValueSet { count: 1, elements: &element };
        let mut minor = 0;
        let mut handle = ptr::null_mut();
        // SAFETY: name is GSS_C_NO_NAME or a live name; the store and its strings
        // outlive the call; handle is an out-pointer; the NULLs are "default" and
        // "not wanted", as the API allows.
        let major = unsafe {
            gss_acquire_cred_from(
                &mut minor,
                name,
                GSS_C_INDEFINITE,
                ptr::null_mut(),
                usage,
                &store,
                &mut handle,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        match NonNull::new(handle) {
            Some(handle) if !gss_error(major) => Ok(Credential(handle)),
            Some(handle) => {
                drop(Credential(handle));
                Err(gss_failure("gss_acquire_cred_from", major, minor))
            }
            None => Err(gss_failure("gss_acquire_cred_from", major, minor)),
        }
    }

    /// An [`Error::Kerberos`] worded as libsasl2's GSSAPI plugin words its own:
    /// `GSSAPI Error: <major status> (<minor status>)`.
    fn gss_failure(call: &'static str, major: OmUint32, minor: OmUint32) -> Error {
        let detail =
            format!("GSSAPI Error: {} ({})", status_text(major, GSS_C_GSS_CODE), status_text(minor, GSS_C_MECH_CODE));
        let problem = KerberosProblem::recognise(&detail).unwrap_or(KerberosProblem::Other);
        Error::Kerberos { call, code: Code::FAIL, problem, detail }
    }

    /// All messages of one status code, joined (`gss_display_status`).
    fn status_text(status: OmUint32, kind: c_int) -> String {
        let mut parts = Vec::new();
        let mut context = 0;
        loop {
            let mut minor = 0;
            let mut buffer = GssBuffer { length: 0, value: ptr::null_mut() };
            // SAFETY: out-pointers; GSS_C_NO_OID (NULL) selects the default mechanism.
            let major =
                unsafe { gss_display_status(&mut minor, status, kind, ptr::null_mut(), &mut context, &mut buffer) };
            if gss_error(major) {
                break;
            }
            if !buffer.value.is_null() {
                // SAFETY: GSS-API wrote `length` bytes at `value`; copied before release.
                let bytes = unsafe { std::slice::from_raw_parts(buffer.value.cast::<u8>(), buffer.length) };
                parts.push(String::from_utf8_lossy(bytes).into_owned());
                // SAFETY: the buffer was allocated by gss_display_status.
                unsafe { gss_release_buffer(&mut minor, &mut buffer) };
            }
            if context == 0 || parts.len() > 8 {
                break;
            }
        }
        if parts.is_empty() { format!("GSS-API status {status:#x}") } else { parts.join("; ") }
    }
}

pub(crate) use imp::{Credential, client, server};

//! Security properties: the SSF range a connection accepts, and mechanism flags;
//! and the error that says a required strength was not met. (The layer itself is
//! in `security_layer`, the streams in `secure_stream` and `async_secure_stream`.)

use std::ffi::{c_char, c_uint, c_void};
use std::ptr;

use sasl_sys as sys;

use crate::connection::{Conn, out_slice};
use crate::error::{Code, Error, Result, check};

/// What a connection demands of a mechanism and its security layer
/// (`sasl_security_properties_t`, set with `SASL_SEC_PROPS`).
///
/// SSF is the "security strength factor": 0 means no security layer, 1 integrity
/// only, more is confidentiality with a key of about that many bits.
///
/// The default is `min_ssf` 0 and `max_ssf` 0: authentication only, no security
/// layer is negotiated, so nothing must wrap the stream afterwards. Raise
/// `max_ssf` (e.g. to 256) to let GSSAPI or DIGEST-MD5 protect the channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecurityProperties {
    /// The weakest acceptable SSF. A mechanism that cannot reach it is not offered.
    pub min_ssf: u32,
    /// The strongest SSF to negotiate.
    pub max_ssf: u32,
    /// The largest buffer this side can decode.
    pub maxbufsize: u32,
    /// `SASL_SEC_*` flags, e.g. [`SecurityProperties::NOPLAINTEXT`].
    pub flags: u32,
}

impl SecurityProperties {
    /// Refuse mechanisms that send the password in the clear (PLAIN, LOGIN).
    pub const NOPLAINTEXT: u32 = sys::SASL_SEC_NOPLAINTEXT as u32;
    /// Refuse mechanisms open to active (non-dictionary) attacks.
    pub const NOACTIVE: u32 = sys::SASL_SEC_NOACTIVE as u32;
    /// Refuse mechanisms open to passive dictionary attacks.
    pub const NODICTIONARY: u32 = sys::SASL_SEC_NODICTIONARY as u32;
    /// Require forward secrecy.
    pub const FORWARD_SECRECY: u32 = sys::SASL_SEC_FORWARD_SECRECY as u32;
    /// Refuse mechanisms that allow anonymous login.
    pub const NOANONYMOUS: u32 = sys::SASL_SEC_NOANONYMOUS as u32;
    /// Require mechanisms that pass client credentials.
    pub const PASS_CREDENTIALS: u32 = sys::SASL_SEC_PASS_CREDENTIALS as u32;
    /// Require mutual authentication.
    pub const MUTUAL_AUTH: u32 = sys::SASL_SEC_MUTUAL_AUTH as u32;

    pub(crate) fn to_sys(self) -> sys::sasl_security_properties_t {
        sys::sasl_security_properties_t {
            min_ssf: self.min_ssf,
            max_ssf: self.max_ssf,
            maxbufsize: self.maxbufsize,
            security_flags: self.flags,
            property_names: std::ptr::null_mut(),
            property_values: std::ptr::null_mut(),
        }
    }
}

impl Default for SecurityProperties {
    fn default() -> Self {
        SecurityProperties { min_ssf: 0, max_ssf: 0, maxbufsize: 65536, flags: 0 }
    }
}

/// The security properties a connection holds (`sasl_getprop(SASL_SEC_PROPS)`).
pub(crate) fn properties(conn: &Conn) -> Result<sys::sasl_security_properties_t> {
    let mut value: *const c_void = ptr::null();
    // SAFETY: the connection is live; value is an out-pointer.
    let rc = unsafe { sys::sasl_getprop(conn.as_ptr(), sys::SASL_SEC_PROPS, &mut value) };
    check(conn.as_ptr(), "sasl_getprop(SASL_SEC_PROPS)", rc)?;
    if value.is_null() {
        return Err(Error::Sasl {
            call: "sasl_getprop(SASL_SEC_PROPS)",
            code: Code::FAIL,
            detail: "no security properties".into(),
        });
    }
    // SAFETY: for SASL_SEC_PROPS libsasl2 points at the connection's own
    // sasl_security_properties_t; it is plain data, copied out here.
    Ok(unsafe { *value.cast::<sys::sasl_security_properties_t>() })
}

/// Explains a failure caused by `min_ssf` as [`Error::SecurityTooWeak`]; any
/// other error comes back unchanged.
///
/// libsasl2 reports a required strength it cannot meet in two ways (measured,
/// 2.1.28):
/// - `SASL_TOOWEAK`: `sasl_server_start` for a mechanism whose strongest layer
///   is below `min_ssf` ("mech CRAM-MD5 is too weak"), or a client step where
///   the server offers no layer within this side's `min_ssf`..=`max_ssf`
///   (GSSAPI: detail left stale, "Unable to find a callback: 32775";
///   DIGEST-MD5: "Can't find an acceptable layer"). Always the SSF.
/// - `SASL_NOMECH` "No worthy mechs found" from `sasl_client_start`, which
///   also means `mech_list` or the flags excluded everything. The SSF is named
///   as the cause only when, with `min_ssf` 0 and all else equal, the
///   connection would offer one of `candidates`.
///
/// `candidates` is the mechanism list the call was given; `None` means the
/// connection's chosen mechanism (`SASL_MECHNAME`).
pub(crate) fn too_weak(conn: &Conn, error: Error, candidates: Option<&str>) -> Error {
    let code = match error.code() {
        Some(code @ (Code::TOOWEAK | Code::NOMECH)) if matches!(error, Error::Sasl { .. }) => code,
        _ => return error,
    };
    let Ok(props) = properties(conn) else { return error };
    if code == Code::NOMECH && props.min_ssf == 0 {
        return error;
    }
    let named: Vec<String> = match candidates {
        Some(list) => {
            list.split(|c: char| c.is_whitespace() || c == ',').filter(|m| !m.is_empty()).map(str::to_owned).collect()
        }
        None => conn.prop_str(sys::SASL_MECHNAME as _, "mechanism name").ok().flatten().into_iter().collect(),
    };
    let mechanisms = if code == Code::TOOWEAK {
        named
    } else {
        let Some(offered) = offered_without_min_ssf(conn, props) else { return error };
        let excluded: Vec<String> =
            named.into_iter().filter(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m))).collect();
        if excluded.is_empty() {
            return error;
        }
        excluded
    };
    Error::SecurityTooWeak { min_ssf: props.min_ssf, max_ssf: props.max_ssf, mechanisms, code }
}

/// What `sasl_listmech` offers on this connection with `min_ssf` 0 and its
/// other properties unchanged; the properties are restored afterwards.
fn offered_without_min_ssf(conn: &Conn, props: sys::sasl_security_properties_t) -> Option<Vec<String>> {
    let set = |p: &sys::sasl_security_properties_t| {
        // SAFETY: the connection is live; libsasl2 copies the properties.
        let rc = unsafe { sys::sasl_setprop(conn.as_ptr(), sys::SASL_SEC_PROPS, ptr::addr_of!(*p).cast()) };
        rc == sys::SASL_OK
    };
    if !set(&sys::sasl_security_properties_t { min_ssf: 0, ..props }) {
        return None;
    }
    let mut out: *const c_char = ptr::null();
    let mut len: c_uint = 0;
    let mut count = 0;
    // SAFETY: the connection is live (server or client: libsasl2 lists either);
    // the separators are NUL-terminated; out/len/count are out-pointers.
    let rc = unsafe {
        sys::sasl_listmech(
            conn.as_ptr(),
            ptr::null(),
            c"".as_ptr(),
            c" ".as_ptr(),
            c"".as_ptr(),
            &mut out,
            &mut len,
            &mut count,
        )
    };
    let listed = (rc == sys::SASL_OK).then(|| {
        // SAFETY: libsasl2 wrote len bytes at out, valid until the next call on
        // the connection; they are copied before it.
        let bytes = unsafe { out_slice(out, len) };
        String::from_utf8_lossy(bytes).split_whitespace().map(str::to_owned).collect()
    });
    set(&props);
    listed
}

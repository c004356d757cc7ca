//! MIT's GSS-API library, loaded at run time, for the per-connection Kerberos
//! credentials named by the `keytab` and `ccache` options.
//!
//! libsasl2 2.1.28 offers no per-connection way to name either (see
//! `crate::gss`), but its GSSAPI plugin uses a credential handed in through
//! `SASL_GSS_CREDS`. This module acquires one with `gss_acquire_cred_from`
//! (MIT krb5 1.11 or newer) from `libgssapi_krb5.so.2`, the library the GSSAPI
//! plugin itself links. It is opened with `dlopen` on first use rather than
//! linked, so building the crate needs no Kerberos development files, and a
//! system without the library fails only when an option needs it, with an
//! error that names the package.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::ptr::{self, NonNull};
use std::sync::OnceLock;

use crate::error::{Code, Error, KerberosProblem, Result};

/// The library file, as the GSSAPI plugin (`libgssapiv2.so`) links it.
pub(crate) const LIBRARY: &str = "libgssapi_krb5.so.2";
/// The package that provides [`LIBRARY`], for the error message.
pub(crate) const PACKAGE: &str = "libgssapi-krb5-2 (Debian/Ubuntu; Fedora/RHEL: krb5-libs)";

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

type ImportName = unsafe extern "C" fn(*mut OmUint32, *mut GssBuffer, *mut GssOid, *mut *mut c_void) -> OmUint32;
type ReleaseName = unsafe extern "C" fn(*mut OmUint32, *mut *mut c_void) -> OmUint32;
type AcquireCredFrom = unsafe extern "C" fn(
    *mut OmUint32,
    *mut c_void,
    OmUint32,
    *mut c_void,
    c_int,
    *const KeyValueSet,
    *mut *mut c_void,
    *mut *mut c_void,
    *mut OmUint32,
) -> OmUint32;
type ReleaseCred = unsafe extern "C" fn(*mut OmUint32, *mut *mut c_void) -> OmUint32;
type DisplayStatus =
    unsafe extern "C" fn(*mut OmUint32, OmUint32, c_int, *mut GssOid, *mut OmUint32, *mut GssBuffer) -> OmUint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OmUint32, *mut GssBuffer) -> OmUint32;

/// The loaded library and the functions this crate calls. Loaded once and
/// never unloaded (it lives in a `static`), so the function pointers copied
/// out of it stay valid for the life of the process.
struct Gss {
    _library: libloading::Library,
    hostbased_service: *mut GssOid,
    import_name: ImportName,
    release_name: ReleaseName,
    acquire_cred_from: AcquireCredFrom,
    release_cred: ReleaseCred,
    display_status: DisplayStatus,
    release_buffer: ReleaseBuffer,
}

// SAFETY: the function pointers and the OID pointer refer to code and
// read-only data of a library that is never unloaded; MIT's GSS-API functions
// are thread-safe.
unsafe impl Send for Gss {}
// SAFETY: as above; nothing in `Gss` is mutated after loading.
unsafe impl Sync for Gss {}

static GSS: OnceLock<std::result::Result<Gss, String>> = OnceLock::new();

fn load(file: &str) -> std::result::Result<Gss, String> {
    // SAFETY: libgssapi_krb5's initialisers are MIT krb5's own library
    // constructors, safe to run at any time (the GSSAPI plugin loads the same
    // library the same way).
    let library = unsafe { libloading::Library::new(file) }.map_err(|e| e.to_string())?;
    macro_rules! symbol {
        ($name:literal) => {
            // SAFETY: the type given to each symbol is its C prototype in
            // <gssapi/gssapi.h> / <gssapi/gssapi_ext.h>.
            *unsafe { library.get(concat!($name, "\0").as_bytes()) }.map_err(|e| e.to_string())?
        };
    }
    let oid: *mut *mut GssOid = symbol!("GSS_C_NT_HOSTBASED_SERVICE");
    // SAFETY: GSS_C_NT_HOSTBASED_SERVICE is a `gss_OID` variable of the library,
    // set at load time and never changed.
    let hostbased_service = unsafe { *oid };
    Ok(Gss {
        hostbased_service,
        import_name: symbol!("gss_import_name"),
        release_name: symbol!("gss_release_name"),
        acquire_cred_from: symbol!("gss_acquire_cred_from"),
        release_cred: symbol!("gss_release_cred"),
        display_status: symbol!("gss_display_status"),
        release_buffer: symbol!("gss_release_buffer"),
        _library: library,
    })
}

fn gss(option: &'static str) -> Result<&'static Gss> {
    GSS.get_or_init(|| load(LIBRARY)).as_ref().map_err(|reason| unavailable(option, reason))
}

fn unavailable(option: &'static str, reason: &str) -> Error {
    Error::GssApiUnavailable { option, library: LIBRARY, package: PACKAGE, reason: reason.to_owned() }
}

/// An owned GSS-API credential handle (`gss_cred_id_t`), released on drop.
/// The connection owner holds it and drops it after `sasl_dispose`.
pub(crate) struct Credential(NonNull<c_void>);

// SAFETY: a gss_cred_id_t has no thread affinity; MIT krb5 locks the credential
// internally. It is only used through the one connection that owns it, which is
// itself Send but not Sync.
unsafe impl Send for Credential {}

impl Credential {
    pub(crate) fn as_ptr(&self) -> *mut c_void {
        self.0.as_ptr()
    }
}

impl Drop for Credential {
    fn drop(&mut self) {
        // A credential exists only once the library was loaded.
        if let Some(Ok(gss)) = GSS.get() {
            let mut minor = 0;
            let mut handle = self.0.as_ptr();
            // SAFETY: the handle came from gss_acquire_cred_from and is released once.
            unsafe { (gss.release_cred)(&mut minor, &mut handle) };
        }
    }
}

/// A credential to accept contexts for `SERVICE@FQDN` (the principal
/// `SERVICE/FQDN@REALM`) from `keytab`, so the server accepts nothing else
/// from that keytab.
pub(crate) fn acceptor(service: &str, fqdn: &str, keytab: &str, option: &'static str) -> Result<Credential> {
    let gss = gss(option)?;
    let name = HostbasedName::import(gss, service, fqdn)?;
    acquire(gss, name.0, GSS_C_ACCEPT, c"keytab", keytab, option)
}

/// A credential to initiate contexts as the default principal of `ccache`.
pub(crate) fn initiator(ccache: &str, option: &'static str) -> Result<Credential> {
    let gss = gss(option)?;
    acquire(gss, ptr::null_mut(), GSS_C_INITIATE, c"ccache", ccache, option)
}

/// A `gss_name_t` for a host-based service, released on drop.
struct HostbasedName(*mut c_void);

impl HostbasedName {
    fn import(gss: &'static Gss, service: &str, fqdn: &str) -> Result<Self> {
        let text = format!("{service}@{fqdn}");
        let mut buffer = GssBuffer { length: text.len(), value: text.as_ptr().cast_mut().cast() };
        let mut minor = 0;
        let mut name = ptr::null_mut();
        // SAFETY: the buffer points at text.len() readable bytes (gss_import_name
        // copies them); the OID is the library's static one; name is an out-pointer.
        let major = unsafe { (gss.import_name)(&mut minor, &mut buffer, gss.hostbased_service, &mut name) };
        if gss_error(major) || name.is_null() {
            return Err(failure(gss, "gss_import_name", major, minor));
        }
        Ok(HostbasedName(name))
    }
}

impl Drop for HostbasedName {
    fn drop(&mut self) {
        if let Some(Ok(gss)) = GSS.get() {
            let mut minor = 0;
            // SAFETY: the name came from gss_import_name and is released once.
            unsafe { (gss.release_name)(&mut minor, &mut self.0) };
        }
    }
}

fn acquire(
    gss: &'static Gss,
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
        (gss.acquire_cred_from)(
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
            Err(failure(gss, "gss_acquire_cred_from", major, minor))
        }
        None => Err(failure(gss, "gss_acquire_cred_from", major, minor)),
    }
}

/// An [`Error::Kerberos`] worded as libsasl2's GSSAPI plugin words its own:
/// `GSSAPI Error: <major status> (<minor status>)`.
fn failure(gss: &Gss, call: &'static str, major: OmUint32, minor: OmUint32) -> Error {
    let detail = format!(
        "GSSAPI Error: {} ({})",
        status_text(gss, major, GSS_C_GSS_CODE),
        status_text(gss, minor, GSS_C_MECH_CODE)
    );
    let problem = KerberosProblem::recognise(&detail).unwrap_or(KerberosProblem::Other);
    Error::Kerberos { call, code: Code::FAIL, problem, detail }
}

/// All messages of one status code, joined (`gss_display_status`).
fn status_text(gss: &Gss, status: OmUint32, kind: c_int) -> String {
    let mut parts = Vec::new();
    let mut context = 0;
    loop {
        let mut minor = 0;
        let mut buffer = GssBuffer { length: 0, value: ptr::null_mut() };
        // SAFETY: out-pointers; GSS_C_NO_OID (NULL) selects the default mechanism.
        let major =
            unsafe { (gss.display_status)(&mut minor, status, kind, ptr::null_mut(), &mut context, &mut buffer) };
        if gss_error(major) {
            break;
        }
        if !buffer.value.is_null() {
            // SAFETY: GSS-API wrote `length` bytes at `value`; copied before release.
            let bytes = unsafe { std::slice::from_raw_parts(buffer.value.cast::<u8>(), buffer.length) };
            parts.push(String::from_utf8_lossy(bytes).into_owned());
            // SAFETY: the buffer was allocated by gss_display_status.
            unsafe { (gss.release_buffer)(&mut minor, &mut buffer) };
        }
        if context == 0 || parts.len() > 8 {
            break;
        }
    }
    if parts.is_empty() { format!("GSS-API status {status:#x}") } else { parts.join("; ") }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_missing_library_is_an_error_that_names_the_library_and_the_package() {
        let Err(reason) = super::load("libgssapi_krb5_absent.so.9") else { panic!("loaded a missing library") };
        let error = super::unavailable("keytab", &reason).to_string();
        assert!(error.contains("libgssapi_krb5.so.2") && error.contains("could not be loaded"), "{error}");
        assert!(error.contains("install libgssapi-krb5-2"), "{error}");
        assert!(error.contains("`keytab` option"), "{error}");
    }

    #[test]
    fn the_installed_library_loads_with_every_function_needed() {
        super::load(super::LIBRARY).map(drop).unwrap();
    }
}

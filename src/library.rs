//! Process-wide libsasl2 initialisation, run exactly once.
//!
//! libsasl2 keeps global state that must be set up once per process:
//! - `sasl_server_init`/`sasl_client_init` are not thread-safe. Two threads calling
//!   them at once corrupt the heap (observed in 18 of 300 runs on Debian 12).
//! - A second `sasl_server_init` only bumps a counter; its callbacks and appname
//!   are silently ignored. The pointers from the first call are kept, not copied,
//!   so they must live for the whole process.
//! - The default mutex functions do nothing, and `sasl_set_mutex` is ignored once
//!   any init has run, so real mutexes go in first.
//!
//! Init also registers the in-memory auxprop plugin behind
//! [`CredentialStore`](crate::CredentialStore).
//!
//! [`init`] (called implicitly by the first `Server`/`Client`) does all of this
//! behind a [`OnceLock`]: concurrent first uses block until the one initialisation
//! finishes, and its result, error included, is returned to every caller after.
//!
//! `sasl_done` is never called. libsasl2 cannot be re-initialised safely after it
//! (its globals and plugin handles are torn down while other threads may still
//! hold connections), and calling it without a matching init has crashed other
//! programs. The few kilobytes libsasl2 holds are released when the process exits.

use std::ffi::{CStr, c_char};
use std::sync::OnceLock;

use sasl_sys as sys;

use crate::callbacks;
use crate::error::{Code, Error, Result, check};

/// The application name used when [`init`] is not called explicitly.
pub const DEFAULT_APP_NAME: &CStr = c"cyrus-sasl-rs";

struct Initialised {
    app_name: &'static CStr,
    result: std::result::Result<(), (&'static str, Code, String)>,
}

static INIT: OnceLock<Initialised> = OnceLock::new();

/// Initialises libsasl2 for this process under `app_name`, once.
///
/// libsasl2 reads its process-wide options from `APP_NAME.conf` in its config
/// directory (usually `/etc/sasl2`); options set in a [`Config`](crate::Config)
/// override them per connection.
///
/// Calling this is optional: the first [`Server`](crate::Server) or
/// [`Client`](crate::Client) initialises with [`DEFAULT_APP_NAME`]. Call it first
/// thing if you want your own name. Later calls return the first call's result;
/// asking for a different name then is an [`Error::AlreadyInitialised`].
///
/// ```
/// cyrus_sasl::init(cyrus_sasl::DEFAULT_APP_NAME)?;
/// # Ok::<(), cyrus_sasl::Error>(())
/// ```
#[doc(alias = "sasl_server_init")]
#[doc(alias = "sasl_client_init")]
#[doc(alias = "sasl_set_mutex")]
pub fn init(app_name: &'static CStr) -> Result<()> {
    let state = INIT.get_or_init(|| Initialised { app_name, result: initialise(app_name) });
    if state.app_name != app_name {
        return Err(Error::AlreadyInitialised {
            current: state.app_name.to_string_lossy().into_owned(),
            requested: app_name.to_string_lossy().into_owned(),
        });
    }
    cached(state)
}

/// Initialises with the default name unless something already did.
pub(crate) fn ensure() -> Result<()> {
    cached(INIT.get_or_init(|| Initialised { app_name: DEFAULT_APP_NAME, result: initialise(DEFAULT_APP_NAME) }))
}

fn cached(state: &Initialised) -> Result<()> {
    state.result.clone().map_err(|(call, code, detail)| Error::Init { call, code, detail })
}

/// The one real initialisation. Runs inside `OnceLock::get_or_init`, so it must
/// not unwind: a callback that panicked during init (the log, a mutex function,
/// the auxprop plugin's init) is turned into an error instead, or the lock would
/// be left empty and a second init could run.
fn initialise(app_name: &'static CStr) -> std::result::Result<(), (&'static str, Code, String)> {
    let global = callbacks::global_callbacks();
    // SAFETY: called once, before any other libsasl2 call; the mutex functions
    // are valid for the life of the process.
    unsafe {
        sys::sasl_set_mutex(
            Some(callbacks::mutex_alloc),
            Some(callbacks::mutex_lock),
            Some(callbacks::mutex_unlock),
            Some(callbacks::mutex_free),
        )
    };
    // SAFETY: `global` and `app_name` are 'static, as libsasl2 keeps both pointers.
    let rc = unsafe { sys::sasl_server_init(global, app_name.as_ptr()) };
    finish("sasl_server_init", rc)?;
    finish("sasl_auxprop_add_plugin", crate::auxprop::register())?;
    // SAFETY: as above.
    let rc = unsafe { sys::sasl_client_init(global) };
    finish("sasl_client_init", rc)
}

fn finish(call: &'static str, rc: i32) -> std::result::Result<(), (&'static str, Code, String)> {
    if let Some(payload) = callbacks::take_pending_panic() {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("a non-string payload");
        return Err((call, Code::FAIL, format!("a callback panicked during initialisation: {what}")));
    }
    match check(std::ptr::null_mut(), call, rc) {
        Ok(_) => Ok(()),
        Err(e) => Err((call, e.code().unwrap_or(Code::FAIL), e.to_string())),
    }
}

/// The version of the libsasl2 loaded at run time, e.g. `(2, 1, 28)`
/// (`sasl_version_info`). It can differ from the headers the crate was built
/// against ([`sys::HEADER_VERSION`](crate::sys::HEADER_VERSION)).
#[doc(alias = "sasl_version_info")]
pub fn runtime_version() -> (u32, u32, u32) {
    let (mut major, mut minor, mut step, mut patch) = (0, 0, 0, 0);
    // SAFETY: sasl_version_info needs no init; NULL string out-pointers are
    // allowed, and the others point at live locals.
    unsafe {
        sys::sasl_version_info(
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut major,
            &mut minor,
            &mut step,
            &mut patch,
        )
    };
    let part = |n: i32| u32::try_from(n).unwrap_or(0);
    (part(major), part(minor), part(step))
}

/// Every server mechanism libsasl2 loaded, whatever any config allows.
#[doc(alias = "sasl_global_listmech")]
pub fn installed_mechanisms() -> Result<&'static [String]> {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    ensure()?;
    Ok(LIST.get_or_init(|| {
        let mut list = Vec::new();
        // SAFETY: init succeeded; the array and its strings are owned by libsasl2
        // and never freed while the process runs. It ends with a NULL entry.
        unsafe {
            let mut p: *mut *const c_char = sys::sasl_global_listmech();
            while !p.is_null() && !(*p).is_null() {
                list.push(CStr::from_ptr(*p).to_string_lossy().into_owned());
                p = p.add(1);
            }
        }
        list
    }))
}

/// The package that provides a mechanism's plugin on Debian/Ubuntu (with the
/// Fedora/RHEL name after it), for error messages; `None` for a name no known
/// plugin package provides.
pub(crate) fn plugin_package(mechanism: &str) -> Option<&'static str> {
    let m = mechanism.to_ascii_uppercase();
    Some(match m.as_str() {
        "GSSAPI" | "GSS-SPNEGO" | "GS2-KRB5" | "GS2-IAKERB" => {
            "libsasl2-modules-gssapi-mit (Fedora/RHEL: cyrus-sasl-gssapi)"
        }
        "CRAM-MD5" | "DIGEST-MD5" => "libsasl2-modules (Fedora/RHEL: cyrus-sasl-md5)",
        "PLAIN" | "LOGIN" => "libsasl2-modules (Fedora/RHEL: cyrus-sasl-plain)",
        "NTLM" => "libsasl2-modules (Fedora/RHEL: cyrus-sasl-ntlm)",
        "OTP" => "libsasl2-modules-otp",
        "ANONYMOUS" | "EXTERNAL" => "libsasl2-modules (Fedora/RHEL: cyrus-sasl-lib)",
        m if m.starts_with("SCRAM-SHA-") => "libsasl2-modules (Fedora/RHEL: cyrus-sasl-scram)",
        _ => return None,
    })
}

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

use std::ffi::CStr;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::ffi::{self, InitFailure};

/// The application name used when [`init`] is not called explicitly.
pub const DEFAULT_APP_NAME: &CStr = c"cyrus-sasl-rs";

struct Initialised {
    app_name: &'static CStr,
    result: std::result::Result<(), InitFailure>,
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

/// The one real initialisation, in the FFI layer. It runs inside
/// `OnceLock::get_or_init`, so it does not unwind: a callback that panicked
/// during init is turned into the cached error instead.
fn initialise(app_name: &'static CStr) -> std::result::Result<(), InitFailure> {
    ffi::initialise(app_name)
}

/// The application name libsasl2 was initialised under, once it was: the
/// name of the file (`NAME.conf`) it read its process-wide options from.
pub(crate) fn app_name() -> Option<&'static CStr> {
    INIT.get().map(|state| state.app_name)
}

/// The version of the libsasl2 loaded at run time, e.g. `(2, 1, 28)`
/// (`sasl_version_info`). It can differ from the headers the crate was built
/// against ([`sys::HEADER_VERSION`](crate::sys::HEADER_VERSION)).
#[doc(alias = "sasl_version_info")]
pub fn runtime_version() -> (u32, u32, u32) {
    let (major, minor, step) = ffi::version_info();
    let part = |n: i32| u32::try_from(n).unwrap_or(0);
    (part(major), part(minor), part(step))
}

/// Every server mechanism libsasl2 loaded, whatever any config allows.
#[doc(alias = "sasl_global_listmech")]
pub fn installed_mechanisms() -> Result<&'static [String]> {
    static LIST: OnceLock<Vec<String>> = OnceLock::new();
    ensure()?;
    Ok(LIST.get_or_init(ffi::global_mechanisms))
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

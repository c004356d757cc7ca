//! The in-memory auxprop plugin: libsasl2 asks it for `userPassword`, and it
//! answers from the [`CredentialStore`] attached to the connection's `Config`.
//!
//! It is registered once, at init, under [`MEMORY_AUXPROP_PLUGIN`]. There is no
//! global store: the plugin finds the store through the connection being served.
//! libsasl2 hands every lookup the connection's `sasl_server_params_t`, whose
//! `callbacks` field is the very list this crate passed to `sasl_server_new`. That
//! list carries a private marker entry pointing at the connection's callback
//! state, which holds the config, which holds the store.
//!
//! Facts about libsasl2 2.1.28 the code relies on (see `lib/auxprop.c`):
//! - Without an `auxprop_plugin` option, libsasl2 asks *every* registered plugin.
//!   A connection with no store attached is therefore answered with
//!   `SASL_NOMECH`, which libsasl2 ignores, and leaves no error behind.
//! - A lookup runs twice per authentication: once for the authentication id,
//!   where the requested property names carry a `*` prefix, and once with
//!   `SASL_AUXPROP_AUTHZID` for the authorization id, with bare names.
//! - A property that already has a value is left alone unless the
//!   `SASL_AUXPROP_OVERRIDE` flag is set, in which case it is replaced.
//! - The user name arrives canonicalised: libsasl2 appended `@realm` (the
//!   server's user realm, or its FQDN, lower-cased, without one) unless the
//!   client's name already had an `@`. So `alice@host.example` here may be
//!   `alice` or `alice@host.example` as typed. The sasldb backend cannot tell
//!   them apart either: it splits the name at its last `@` into user and realm,
//!   so both are user `alice` of realm `host.example`. This plugin follows the
//!   same rule (issue 24: the two stores must accept the same names), by
//!   removing a suffix equal to what libsasl2 appends, whoever typed it; any
//!   other `@realm` stays part of the key. `tests/api/stores_agree.rs` runs the
//!   same names against a real sasldb and a store.
//! - For an unknown user nothing is set and the plugin answers `SASL_NOUSER`; it
//!   must call `sasl_seterror` itself, or `sasl_errdetail` keeps an older,
//!   unrelated message ("Unable to find a callback: 32775").

use std::ffi::{CStr, c_char, c_int, c_uint, c_void};
use std::ptr;

use sasl_sys as sys;

use super::callbacks::{self, failpoint};
use crate::credentials::{CredentialStore, MEMORY_AUXPROP_PLUGIN};
use crate::panic::guard;

/// The plugin's name, NUL-terminated for libsasl2.
const NAME: &CStr = c"in-memory";
const _: () = assert!(matches!(NAME.to_bytes(), b"in-memory"), "NAME must match MEMORY_AUXPROP_PLUGIN");

/// The property CRAM-MD5, DIGEST-MD5, SCRAM and PLAIN ask for (`SASL_AUX_PASSWORD_PROP`).
const PASSWORD_PROP: &[u8] = b"userPassword";

/// Registers the plugin. Called once by library init, after `sasl_server_init`.
pub(crate) fn register() -> c_int {
    debug_assert_eq!(NAME.to_str(), Ok(MEMORY_AUXPROP_PLUGIN));
    // SAFETY: init ran; the name is 'static and libsasl2 calls `plugin_init` at once.
    unsafe { sys::sasl_auxprop_add_plugin(NAME.as_ptr(), Some(plugin_init)) }
}

/// `sasl_auxprop_init_t`: hands libsasl2 the plugin's function table.
unsafe extern "C" fn plugin_init(
    _utils: *const sys::sasl_utils_t,
    max_version: c_int,
    out_version: *mut c_int,
    plug: *mut *mut sys::sasl_auxprop_plug_t,
    _plugname: *const c_char,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("auxprop_init");
        if out_version.is_null() || plug.is_null() {
            return sys::SASL_BADPARAM;
        }
        if max_version < sys::SASL_AUXPROP_PLUG_VERSION {
            return sys::SASL_BADVERS;
        }
        // Registration happens once per process, so leaking the table is bounded;
        // libsasl2 keeps the pointer until sasl_done, which this crate never calls.
        let table = Box::leak(Box::new(sys::sasl_auxprop_plug_t {
            features: 0,
            spare_int1: 0,
            glob_context: ptr::null_mut(),
            auxprop_free: Some(plugin_free),
            auxprop_lookup: Some(lookup),
            // libsasl2 never writes through the name.
            name: NAME.as_ptr().cast_mut(),
            auxprop_store: None,
        }));
        // SAFETY: both out-pointers were checked non-null and are libsasl2's.
        unsafe {
            *out_version = sys::SASL_AUXPROP_PLUG_VERSION;
            *plug = table;
        }
        sys::SASL_OK
    })
}

/// `auxprop_free`: only reached from `sasl_done`. The table is 'static; nothing to do.
unsafe extern "C" fn plugin_free(_glob_context: *mut c_void, _utils: *const sys::sasl_utils_t) {
    guard((), || failpoint!("auxprop_free"))
}

/// `auxprop_lookup`: fills `userPassword` for `user` from the connection's store.
unsafe extern "C" fn lookup(
    _glob_context: *mut c_void,
    sparams: *mut sys::sasl_server_params_t,
    flags: c_uint,
    user: *const c_char,
    ulen: c_uint,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("auxprop_lookup");
        if sparams.is_null() || user.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: libsasl2 passes the live connection's parameters for this call.
        let sparams = unsafe { &*sparams };
        // SAFETY: `callbacks` is the list given to sasl_server_new; see
        // `callbacks::server_set`.
        let Some(set) = (unsafe { callbacks::server_set(sparams.callbacks) }) else {
            return sys::SASL_NOMECH;
        };
        let Some(store) = set.config().credential_store() else {
            return sys::SASL_NOMECH;
        };
        if sparams.propctx.is_null() || sparams.utils.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: libsasl2 passes ulen readable bytes at user.
        let user = unsafe { std::slice::from_raw_parts(user.cast::<u8>(), ulen as usize) };
        // The principal is worked out only if this pass wants a password: the
        // pass that asks for nothing of ours costs no realm stripping or UTF-8 check.
        let principal = || {
            // SAFETY: the realm and FQDN are NULL or NUL-terminated strings owned
            // by the connection.
            let (realm, fqdn) = unsafe { (opt_cstr(sparams.user_realm), opt_cstr(sparams.serverFQDN)) };
            super::utf8(strip_realm(user, realm, fqdn))
        };
        // SAFETY: utils is the connection's utility table, alive for this call.
        let conn = unsafe { (*sparams.utils).conn };
        // SAFETY: propctx is the connection's live property context.
        unsafe { fill(store, sparams.propctx, conn, flags, principal, user) }
    })
}

/// Answers every requested `userPassword` of this pass.
///
/// # Safety
/// `ctx` must be the live property context of `conn`.
unsafe fn fill<'a>(
    store: &CredentialStore,
    ctx: *mut sys::propctx,
    conn: *mut sys::sasl_conn_t,
    flags: c_uint,
    principal: impl Fn() -> Option<&'a str>,
    user: &[u8],
) -> c_int {
    let authzid_pass = flags & sys::SASL_AUXPROP_AUTHZID as c_uint != 0;
    let overwrite = flags & sys::SASL_AUXPROP_OVERRIDE as c_uint != 0;
    // SAFETY: ctx is live; prop_get returns its array, ended by a NULL name.
    let mut cur = unsafe { sys::prop_get(ctx) };
    let mut result = sys::SASL_OK;
    while !cur.is_null() {
        // SAFETY: cur points into the array, which ends with a NULL name.
        let val = unsafe { &*cur };
        if val.name.is_null() {
            break;
        }
        // SAFETY: a non-NULL property name is NUL-terminated.
        let name = unsafe { CStr::from_ptr(val.name) }.to_bytes();
        // The authid pass asks for `*name`, the authzid pass for `name`.
        let wanted = match name.strip_prefix(b"*") {
            Some(bare) => !authzid_pass && bare == PASSWORD_PROP,
            None => authzid_pass && name == PASSWORD_PROP,
        };
        if wanted && (val.values.is_null() || overwrite) {
            if !val.values.is_null() {
                // SAFETY: ctx is live and val.name one of its property names.
                unsafe { sys::prop_erase(ctx, val.name) };
            }
            result = store.with_secret(principal().unwrap_or_default(), |secret| match secret {
                // The store caps secrets far below c_int::MAX (MAX_SECRET_LEN);
                // a length that does not fit must never reach prop_set, which
                // would take a negative one as "NUL-terminated" and run strlen
                // past the buffer.
                Some(secret) => match c_int::try_from(secret.len()) {
                    // SAFETY: prop_set copies `len` bytes of the secret into ctx.
                    Ok(len) => unsafe { sys::prop_set(ctx, val.name, secret.expose().as_ptr().cast(), len) },
                    Err(_) => sys::SASL_BADPARAM,
                },
                None => {
                    // SAFETY: conn is live; "%s" consumes exactly the one string.
                    unsafe { no_such_user(conn, user) };
                    sys::SASL_NOUSER
                }
            });
            if result != sys::SASL_OK {
                break;
            }
        }
        // SAFETY: not past the terminating entry, which was checked above.
        cur = unsafe { cur.add(1) };
    }
    result
}

/// Sets the connection's error detail to name the unknown user, without logging
/// (the server logs the rejection itself).
///
/// # Safety
/// `conn` must be a live connection.
unsafe fn no_such_user(conn: *mut sys::sasl_conn_t, user: &[u8]) {
    let mut text = b"no credentials for user '".to_vec();
    text.extend(user.iter().copied().filter(|&b| b != 0));
    text.extend_from_slice(b"' in the in-memory store\0");
    // SAFETY: conn is live; the format consumes exactly one C string, `text`,
    // which is NUL-terminated and outlives the call (libsasl2 copies it).
    unsafe { sys::sasl_seterror(conn, sys::SASL_NOLOG as c_uint, c"%s".as_ptr(), text.as_ptr().cast::<c_char>()) };
}

/// # Safety
/// `p` must be NULL or a NUL-terminated string valid for `'a`.
unsafe fn opt_cstr<'a>(p: *const c_char) -> Option<&'a [u8]> {
    // SAFETY: guaranteed by the caller.
    (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_bytes())
}

/// The store key for the name libsasl2 looks up: the name without an `@realm`
/// suffix equal to what libsasl2 appends (the server's user realm, or without
/// one its FQDN, which libsasl2 lower-cases), compared exactly; any other name
/// is the key as it stands.
fn strip_realm<'u>(user: &'u [u8], realm: Option<&[u8]>, fqdn: Option<&[u8]>) -> &'u [u8] {
    let Some(at) = user.iter().rposition(|&b| b == b'@') else { return user };
    let (name, suffix) = (&user[..at], &user[at + 1..]);
    let appended = match realm {
        Some(realm) if !realm.is_empty() => suffix == realm,
        _ => fqdn.is_some_and(|fqdn| suffix.iter().copied().eq(fqdn.iter().map(u8::to_ascii_lowercase))),
    };
    if appended { name } else { user }
}

#[cfg(test)]
mod tests {
    use super::strip_realm;

    #[test]
    fn the_appended_realm_is_removed_and_only_that() {
        assert_eq!(strip_realm(b"alice@EXAMPLE.TEST", Some(b"EXAMPLE.TEST"), Some(b"h")), b"alice");
        assert_eq!(strip_realm(b"alice@OTHER", Some(b"EXAMPLE.TEST"), Some(b"h")), b"alice@OTHER");
        assert_eq!(strip_realm(b"alice@example.test", Some(b"EXAMPLE.TEST"), None), b"alice@example.test");
        assert_eq!(strip_realm(b"alice@host.example", None, Some(b"Host.Example")), b"alice");
        assert_eq!(strip_realm(b"alice@HOST.EXAMPLE", None, Some(b"host.example")), b"alice@HOST.EXAMPLE");
        assert_eq!(strip_realm(b"a@b@host", None, Some(b"host")), b"a@b");
        assert_eq!(strip_realm(b"alice", Some(b"R"), Some(b"h")), b"alice");
    }
}

#[cfg(all(test, feature = "failpoints"))]
mod failpoint_tests {
    /// libsasl2 calls `auxprop_free` only from `sasl_done`, which this crate never
    /// calls, so the trampoline is called directly here.
    #[test]
    fn a_panic_in_auxprop_free_is_parked_not_unwound_into_c() {
        fail::cfg("auxprop_free", "1*panic(auxprop_free exploded)").unwrap();
        // SAFETY: plugin_free ignores both pointers.
        unsafe { super::plugin_free(std::ptr::null_mut(), std::ptr::null()) };
        fail::remove("auxprop_free");
        let payload = crate::panic::take().expect("the failpoint's panic is parked");
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("auxprop_free exploded"));
    }
}

//! The `extern "C"` callbacks libsasl2 calls, and the per-connection state
//! they read.
//!
//! Every trampoline runs its body through [`guard`](crate::panic::guard),
//! which parks a panic and returns a failure code to C (see `crate::panic`).
//!
//! Per-connection state lives in a [`CallbackSet`]. The connection owner
//! (`ffi::Conn`) hands it to C once, as a raw pointer from `Box::into_raw`,
//! and frees it after `sasl_dispose`; every context pointer in its callback
//! list is that same pointer.
//!
//! Fault injection (test-only feature `failpoints`): every trampoline here and
//! in `auxprop.rs` holds a [`failpoint!`] named after the callback, so a test can
//! make it panic with `fail::cfg("sasl_cb_pass", "1*panic")`. The names:
//! `sasl_mutex_alloc`, `sasl_mutex_lock`, `sasl_mutex_unlock`, `sasl_mutex_free`,
//! `sasl_cb_log`, `sasl_cb_getopt`, `sasl_cb_authname`, `sasl_cb_user`,
//! `sasl_cb_pass`, `sasl_cb_getrealm`, `sasl_cb_canon_user`, `auxprop_init`,
//! `auxprop_lookup`, `auxprop_free`. Without the feature a failpoint expands to
//! nothing.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::cell::Cell;
use std::ffi::{CStr, c_char, c_int, c_uint, c_ulong, c_void};
use std::ptr::{self, NonNull};

use lock_api::RawMutex as _;
use sasl_sys as sys;
use zeroize::Zeroize;

use crate::config::Config;
use crate::hooks::{CanonUserFn, ProxyPolicyFn, ProxyRequest};
use crate::panic::guard;
use crate::secret::Secret;

/// A fault-injection point (feature `failpoints`, for tests only); expands to
/// nothing without the feature.
macro_rules! failpoint {
    ($name:literal) => {{
        #[cfg(feature = "failpoints")]
        fail::fail_point!($name);
    }};
}
pub(crate) use failpoint;

// ---------------------------------------------------------------------------
// Mutexes handed to libsasl2 with sasl_set_mutex. Its defaults do nothing.
//
// libsasl2 2.1.28 (lib/common.c) allocates one mutex at init and takes it around
// every sasl_dispose; the DIGEST-MD5 plugin allocates another only when the
// process-wide option `reauth_timeout` is set. What a panic (or a panic still
// parked from an earlier callback of the same C call) means here:
// - alloc: no mutex (NULL). At init, sasl_server_init then fails, and the
//   cached init error is what every later call gets.
// - lock: the lock is NOT taken and the caller is told so (SASL_FAIL). Every
//   caller in libsasl2 checks: sasl_dispose then returns without disposing
//   (the connection leaks; nothing is left locked).
// - unlock and free: they always do their job first, whatever else happens,
//   because libsasl2 holds the lock across the call: a mutex left locked would
//   deadlock the next sasl_dispose in the process.

pub(crate) unsafe extern "C" fn mutex_alloc() -> *mut c_void {
    guard(ptr::null_mut(), || {
        failpoint!("sasl_mutex_alloc");
        Box::into_raw(Box::new(parking_lot::RawMutex::INIT)).cast()
    })
}

pub(crate) unsafe extern "C" fn mutex_lock(mutex: *mut c_void) -> c_int {
    guard(sys::SASL_FAIL, || {
        if mutex.is_null() {
            return sys::SASL_BADPARAM;
        }
        failpoint!("sasl_mutex_lock");
        // SAFETY: libsasl2 only passes pointers that mutex_alloc returned and that
        // mutex_free has not yet freed.
        unsafe { &*mutex.cast::<parking_lot::RawMutex>() }.lock();
        sys::SASL_OK
    })
}

pub(crate) unsafe extern "C" fn mutex_unlock(mutex: *mut c_void) -> c_int {
    if mutex.is_null() {
        return sys::SASL_BADPARAM;
    }
    // Outside `guard`, so it happens even while a panic is parked. RawMutex::unlock
    // does not panic.
    // SAFETY: as in mutex_lock; libsasl2 unlocks only a mutex it locked on this
    // thread (mutex_lock answered SASL_OK), which is RawMutex::unlock's contract.
    unsafe { (*mutex.cast::<parking_lot::RawMutex>()).unlock() };
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_mutex_unlock");
        sys::SASL_OK
    })
}

pub(crate) unsafe extern "C" fn mutex_free(mutex: *mut c_void) {
    if !mutex.is_null() {
        // Outside `guard`, so it happens even while a panic is parked; dropping a
        // RawMutex does not panic.
        // SAFETY: the pointer came from Box::into_raw in mutex_alloc and is freed once.
        drop(unsafe { Box::from_raw(mutex.cast::<parking_lot::RawMutex>()) });
    }
    guard((), || failpoint!("sasl_mutex_free"))
}

// ---------------------------------------------------------------------------
// Logging: libsasl2's messages go to the `log` crate, target "cyrus_sasl::libsasl2".

/// `SASL_CB_LOG`, registered once, process-wide, at init (with a NULL context),
/// and on every connection (with its [`CallbackSet`] as the context), so that
/// libsasl2 logs a connection's messages through that connection's entry. A
/// connection also keeps its failure messages (levels `SASL_LOG_ERR` and
/// `SASL_LOG_FAIL`): for a failed `gss_accept_sec_context` the GSSAPI plugin
/// puts the GSS-API reason only in the log, not in `sasl_errdetail`.
unsafe extern "C" fn log(context: *mut c_void, level: c_int, message: *const c_char) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_cb_log");
        if !context.is_null() && !message.is_null() && matches!(level, sys::SASL_LOG_ERR | sys::SASL_LOG_FAIL) {
            // SAFETY: a non-null context is a connection's callback set (see `set`);
            // the message is NUL-terminated and valid for this call.
            let (set, text) = unsafe { (set(context), CStr::from_ptr(message)) };
            set.record_failure(text.to_string_lossy().into_owned());
        }
        let level = match level {
            sys::SASL_LOG_NONE => return sys::SASL_OK,
            sys::SASL_LOG_ERR => log::Level::Error,
            // SASL_LOG_FAIL is an authentication failure, e.g. "incorrect digest
            // response" for a wrong password: a normal outcome, not a warning.
            sys::SASL_LOG_WARN => log::Level::Warn,
            sys::SASL_LOG_FAIL | sys::SASL_LOG_NOTE => log::Level::Info,
            sys::SASL_LOG_DEBUG => log::Level::Debug,
            sys::SASL_LOG_TRACE => log::Level::Trace,
            // SASL_LOG_PASS is libsasl2's level for traces that include passwords.
            // Secrets never reach our logs, so these are dropped unread.
            _ => return sys::SASL_OK,
        };
        if message.is_null() || !log::log_enabled!(target: LOG_TARGET, level) {
            return sys::SASL_OK;
        }
        // SAFETY: libsasl2 passes a NUL-terminated message valid for this call.
        let text = unsafe { CStr::from_ptr(message) }.to_string_lossy();
        log::log!(target: LOG_TARGET, level, "{text}");
        sys::SASL_OK
    })
}

/// The `log` target of libsasl2's own messages.
pub const LOG_TARGET: &str = "cyrus_sasl::libsasl2";

/// The process-wide callback list passed to `sasl_server_init`/`sasl_client_init`.
/// libsasl2 keeps the pointer, so it is leaked on purpose: it must live forever.
pub(crate) fn global_callbacks() -> *const sys::sasl_callback_t {
    let list: &'static [sys::sasl_callback_t; 2] =
        Box::leak(Box::new([entry(sys::SASL_CB_LOG, cast_log(log), ptr::null_mut()), END]));
    list.as_ptr()
}

// ---------------------------------------------------------------------------
// Per-connection callbacks.

/// What the client callbacks hand out.
pub(crate) struct ClientCredentials {
    /// The authname, the authzid and the realm, each NUL-terminated, in one
    /// allocation (one instead of three per client connection).
    names: Box<[u8]>,
    authzid_at: usize,
    realm_at: Option<usize>,
    password: Option<SecretBuf>,
}

impl ClientCredentials {
    /// Fails with [`Error::Nul`](crate::Error::Nul) naming the string that
    /// contains a NUL byte.
    pub(crate) fn new(
        authname: &str,
        authzid: &str,
        realm: Option<&str>,
        password: Option<&Secret>,
    ) -> crate::Result<Self> {
        let password = password.map(SecretBuf::new);
        let mut names = Vec::with_capacity(authname.len() + authzid.len() + realm.map_or(0, |r| r.len() + 1) + 2);
        let mut push = |value: &str, what: &'static str| {
            if value.as_bytes().contains(&0) {
                return Err(crate::Error::Nul { what });
            }
            let at = names.len();
            names.extend_from_slice(value.as_bytes());
            names.push(0);
            Ok(at)
        };
        push(authname, "authname")?;
        let authzid_at = push(authzid, "authzid")?;
        let realm_at = realm.map(|r| push(r, "realm")).transpose()?;
        Ok(ClientCredentials { names: names.into_boxed_slice(), authzid_at, realm_at, password })
    }

    fn name_at(&self, at: usize) -> &CStr {
        CStr::from_bytes_until_nul(&self.names[at..]).expect("each name is NUL-terminated")
    }

    fn authname(&self) -> &CStr {
        self.name_at(0)
    }

    fn authzid(&self) -> &CStr {
        self.name_at(self.authzid_at)
    }

    fn realm(&self) -> Option<&CStr> {
        self.realm_at.map(|at| self.name_at(at))
    }
}

/// Per-connection callback state plus the `sasl_callback_t` list pointing into it.
///
/// Built in a `Box`, then turned into a raw pointer once by [`into_raw`](Self::into_raw),
/// which fills the list with that pointer as every entry's context. From then
/// on it is only reached through that pointer, by shared references (its
/// mutable parts are `Cell`s), until [`from_raw`](Self::from_raw) frees it after
/// `sasl_dispose`.
pub(crate) struct CallbackSet {
    list: [sys::sasl_callback_t; 8],
    config: Config,
    canon: Option<Box<CanonUserFn>>,
    proxy: Option<Box<ProxyPolicyFn>>,
    client: Option<ClientCredentials>,
    /// Set when the canon-user hook refused a name, so the server can tell a
    /// policy refusal from a wrong secret (both are `SASL_BADAUTH`).
    canon_refused: Cell<bool>,
    /// Failure messages libsasl2 logged for this connection since they were
    /// last taken (at most [`MAX_FAILURES`]).
    failures: Cell<Vec<String>>,
}

/// How many failure messages a connection keeps between two takes.
const MAX_FAILURES: usize = 8;

const END: sys::sasl_callback_t =
    sys::sasl_callback_t { id: sys::SASL_CB_LIST_END as c_ulong, proc_: None, context: ptr::null_mut() };

fn entry(id: c_int, proc_: sys::sasl_callback_ft, context: *mut c_void) -> sys::sasl_callback_t {
    sys::sasl_callback_t { id: id as c_ulong, proc_, context }
}

impl CallbackSet {
    fn new(
        config: Config,
        canon: Option<Box<CanonUserFn>>,
        proxy: Option<Box<ProxyPolicyFn>>,
        client: Option<ClientCredentials>,
    ) -> Box<Self> {
        Box::new(CallbackSet {
            list: [END; 8],
            config,
            canon,
            proxy,
            client,
            canon_refused: Cell::new(false),
            failures: Cell::default(),
        })
    }

    /// Callbacks for a server connection. Without `proxy`, libsasl2's own
    /// policy holds (the authzid must equal the authid).
    pub(crate) fn server(
        config: Config,
        canon: Option<Box<CanonUserFn>>,
        proxy: Option<Box<ProxyPolicyFn>>,
    ) -> Box<Self> {
        Self::new(config, canon, proxy, None)
    }

    /// Callbacks for a client connection.
    pub(crate) fn client(config: Config, credentials: ClientCredentials) -> Box<Self> {
        Self::new(config, None, None, Some(credentials))
    }

    /// Turns the boxed set into a raw pointer, once (`Box::into_raw`), and fills
    /// its callback list with that pointer as every context. Free it with
    /// [`from_raw`](Self::from_raw).
    pub(crate) fn into_raw(set: Box<Self>) -> NonNull<Self> {
        // SAFETY: Box::into_raw never returns NULL.
        let raw = unsafe { NonNull::new_unchecked(Box::into_raw(set)) };
        let ctx: *mut c_void = raw.as_ptr().cast();
        // SAFETY: `raw` is the only pointer to the fresh allocation; this is the
        // one mutable access before C sees the set, and `ctx` keeps the
        // provenance of `raw` itself, not of a temporary reference.
        let set = unsafe { &mut *raw.as_ptr() };
        let mut n = 0;
        let mut push = |e| {
            set.list[n] = e;
            n += 1;
        };
        push(entry(sys::SASL_CB_GETOPT, cast_getopt(getopt), ctx));
        push(entry(sys::SASL_CB_LOG, cast_log(log), ctx));
        if set.client.is_none() {
            // libsasl2 never asks for an id it does not know; the entry only lets
            // the in-memory auxprop plugin find this connection's state.
            push(entry(SERVER_MARKER, None, ctx));
        }
        // With a credential store, our canon_user runs even without a hook:
        // it refuses a name too long for libsasl2's buffer (SASL_BUFOVER)
        // before libsasl2's own canonicaliser, which leaks about the name's
        // length on that path (`tests/fuzz_regressions.rs`,
        // `libsasl2_leaks_a_client_user_name_too_long_to_canonicalise`).
        if set.canon.is_some() || (set.client.is_none() && set.config.credential_store().is_some()) {
            push(entry(sys::SASL_CB_CANON_USER, cast_canon(canon_user), ctx));
        }
        if set.proxy.is_some() {
            push(entry(sys::SASL_CB_PROXY_POLICY, cast_proxy(proxy_policy), ctx));
        }
        if let Some(client) = &set.client {
            push(entry(sys::SASL_CB_AUTHNAME, cast_simple(get_simple), ctx));
            push(entry(sys::SASL_CB_USER, cast_simple(get_simple), ctx));
            // Without a password the entry stays, with a NULL function: libsasl2 then
            // answers SASL_INTERACT for it, which the client turns into an error
            // naming the password. Leaving the entry out instead makes libsasl2
            // skip every mechanism that needs a password, and report only
            // "no worthy mechs found".
            let pass = client.password.is_some().then(|| cast_secret(get_secret)).flatten();
            push(entry(sys::SASL_CB_PASS, pass, ctx));
            if client.realm_at.is_some() {
                push(entry(sys::SASL_CB_GETREALM, cast_realm(get_realm), ctx));
            }
        }
        debug_assert!(n < set.list.len(), "the list must end with SASL_CB_LIST_END");
        raw
    }

    /// The callback list of a set made by [`into_raw`](Self::into_raw), for
    /// `sasl_server_new`/`sasl_client_new`.
    pub(crate) fn list(set: NonNull<Self>) -> *const sys::sasl_callback_t {
        // SAFETY: a raw place projection: no reference to the set is made.
        unsafe { ptr::addr_of!((*set.as_ptr()).list) }.cast()
    }

    /// Takes back a set made by [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    /// `set` came from `into_raw`, is taken back once, and nothing (no libsasl2
    /// connection) points into it any more.
    pub(crate) unsafe fn from_raw(set: NonNull<Self>) -> Box<Self> {
        // SAFETY: guaranteed by the caller.
        unsafe { Box::from_raw(set.as_ptr()) }
    }

    fn record_failure(&self, message: String) {
        let mut failures = self.failures.take();
        if failures.len() < MAX_FAILURES {
            failures.push(message);
        }
        self.failures.set(failures);
    }

    /// The failure messages logged for this connection since the last call,
    /// oldest first; clears them.
    pub(crate) fn take_failures(&self) -> Vec<String> {
        self.failures.take()
    }

    /// See [`CallbackSet::canon_refused`]; clears it.
    pub(crate) fn take_canon_refused(&self) -> bool {
        self.canon_refused.replace(false)
    }

    /// The connection's config.
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }
}

/// The id of a private entry in server callback lists, far from libsasl2's own ids
/// (which are below 0x10000): its context is the connection's [`CallbackSet`].
const SERVER_MARKER: c_int = 0x5255_5354;

/// The callback set of the server connection whose callback list is `list`,
/// found through the private marker entry; `None` for a list this crate did not
/// make.
///
/// # Safety
/// `list` must be NULL or a callback list ended by `SASL_CB_LIST_END` that is
/// still alive; libsasl2's `sparams->callbacks` is the list given to
/// `sasl_server_new`, which for this crate's servers lives in the connection's
/// callback set until after `sasl_dispose`.
pub(crate) unsafe fn server_set<'a>(list: *const sys::sasl_callback_t) -> Option<&'a CallbackSet> {
    let mut p = list;
    while !p.is_null() {
        // SAFETY: p is within the list, which ends with SASL_CB_LIST_END.
        let e = unsafe { &*p };
        match e.id as c_int {
            sys::SASL_CB_LIST_END => return None,
            // SAFETY: only CallbackSet::into_raw makes marker entries, with the
            // set's own pointer.
            SERVER_MARKER => return Some(unsafe { set(e.context) }),
            // SAFETY: not past the end entry.
            _ => p = unsafe { p.add(1) },
        }
    }
    None
}

/// Recovers the callback set from a context pointer.
///
/// # Safety
/// `context` must be a pointer made by [`CallbackSet::into_raw`] and not yet
/// freed, which holds while libsasl2 can call back: the connection owner frees
/// the set only after `sasl_dispose`.
unsafe fn set<'a>(context: *mut c_void) -> &'a CallbackSet {
    // SAFETY: guaranteed by the caller.
    unsafe { &*context.cast::<CallbackSet>() }
}

/// `SASL_CB_GETOPT`: serves the connection's [`Config`]. An option the config does
/// not hold returns `SASL_FAIL`, which makes libsasl2 fall back to its process-wide
/// options (the application's `/etc/sasl2/APP.conf`).
unsafe extern "C" fn getopt(
    context: *mut c_void,
    _plugin_name: *const c_char,
    option: *const c_char,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_cb_getopt");
        if option.is_null() || result.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: see `set`; the option name is NUL-terminated and valid for the call.
        let (config, option) = unsafe { (&set(context).config, CStr::from_ptr(option)) };
        match config.lookup(option) {
            Some(value) => {
                // SAFETY: result/len are libsasl2's out-pointers (len may be NULL). The
                // value is owned by the config, which the callback set keeps alive
                // for the connection's whole life.
                unsafe {
                    *result = value.as_ptr();
                    if !len.is_null() {
                        *len = value.to_bytes().len() as c_uint;
                    }
                }
                sys::SASL_OK
            }
            None => sys::SASL_FAIL,
        }
    })
}

/// `SASL_CB_AUTHNAME` and `SASL_CB_USER` for the client.
unsafe extern "C" fn get_simple(
    context: *mut c_void,
    id: c_int,
    result: *mut *const c_char,
    len: *mut c_uint,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        // SAFETY: see `set`.
        let Some(client) = (unsafe { set(context) }).client.as_ref() else {
            return sys::SASL_FAIL;
        };
        let value = match id {
            sys::SASL_CB_AUTHNAME => {
                failpoint!("sasl_cb_authname");
                client.authname()
            }
            // An empty authorization id means "the same as the authentication id".
            sys::SASL_CB_USER => {
                failpoint!("sasl_cb_user");
                client.authzid()
            }
            _ => return sys::SASL_BADPARAM,
        };
        if result.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: out-pointers from libsasl2 (len may be NULL); the string lives in
        // the callback set, which outlives the connection.
        unsafe {
            *result = value.as_ptr();
            if !len.is_null() {
                *len = value.to_bytes().len() as c_uint;
            }
        }
        sys::SASL_OK
    })
}

/// `SASL_CB_PASS` for the client.
unsafe extern "C" fn get_secret(
    _conn: *mut sys::sasl_conn_t,
    context: *mut c_void,
    id: c_int,
    psecret: *mut *mut sys::sasl_secret_t,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_cb_pass");
        if id != sys::SASL_CB_PASS || psecret.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: see `set`.
        let client = unsafe { set(context) }.client.as_ref();
        match client.and_then(|c| c.password.as_ref()) {
            Some(secret) => {
                // SAFETY: psecret is libsasl2's out-pointer. libsasl2 only reads the
                // secret, and the buffer lives in the callback set.
                unsafe { *psecret = secret.as_ptr() };
                sys::SASL_OK
            }
            None => sys::SASL_FAIL,
        }
    })
}

/// `SASL_CB_GETREALM` for the client: the configured realm, whatever is offered.
unsafe extern "C" fn get_realm(
    context: *mut c_void,
    id: c_int,
    _availrealms: *mut *const c_char,
    result: *mut *const c_char,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_cb_getrealm");
        if id != sys::SASL_CB_GETREALM || result.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: see `set`.
        let realm = unsafe { set(context) }.client.as_ref().and_then(ClientCredentials::realm);
        match realm {
            Some(realm) => {
                // SAFETY: out-pointer from libsasl2; the string lives in the callback set.
                unsafe { *result = realm.as_ptr() };
                sys::SASL_OK
            }
            None => sys::SASL_FAIL,
        }
    })
}

/// `SASL_CB_CANON_USER` for the server: runs the user's hook, if any, and
/// refuses a name longer than libsasl2's buffer (`SASL_BUFOVER`).
/// libsasl2's own canonicaliser still runs on our output: it appends
/// `@user_realm` (the server FQDN, lower-cased, without a realm) to a name
/// without an `@`.
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn canon_user(
    conn: *mut sys::sasl_conn_t,
    context: *mut c_void,
    input: *const c_char,
    input_len: c_uint,
    _flags: c_uint,
    user_realm: *const c_char,
    out: *mut c_char,
    out_max: c_uint,
    out_len: *mut c_uint,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_cb_canon_user");
        if input.is_null() || out.is_null() || out_len.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: see `set`.
        let set = unsafe { set(context) };
        let hooked;
        let (src, len) = match set.canon.as_ref() {
            None => {
                // SAFETY: libsasl2 passes input_len readable bytes at input; the
                // slice is not used after this statement, so the copy below may
                // write over the same bytes.
                let bytes = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), input_len as usize) };
                (input.cast::<u8>(), bytes.len())
            }
            Some(hook) => {
                // SAFETY: as above; `name` is not used after the hook returns.
                let bytes = unsafe { std::slice::from_raw_parts(input.cast::<u8>(), input_len as usize) };
                let Ok(name) = std::str::from_utf8(bytes) else {
                    // libsasl2 checks no encoding: a PLAIN client can send any bytes.
                    // Without a detail of our own, errdetail would be empty.
                    // SAFETY: conn is NULL or the live connection this callback
                    // serves.
                    unsafe {
                        set_error(conn, c"the user name is not UTF-8; the canon_user hook takes only UTF-8 names")
                    };
                    return sys::SASL_BADPROT;
                };
                let realm = if user_realm.is_null() {
                    None
                } else {
                    // SAFETY: a non-null realm is NUL-terminated and valid for this call.
                    unsafe { CStr::from_ptr(user_realm) }.to_str().ok()
                };
                let Some(name) = hook(name, realm) else {
                    set.canon_refused.set(true);
                    return sys::SASL_BADAUTH;
                };
                if name.contains('\0') {
                    return sys::SASL_BUFOVER;
                }
                hooked = name;
                (hooked.as_ptr(), hooked.len())
            }
        };
        if len >= out_max as usize {
            return sys::SASL_BUFOVER;
        }
        // SAFETY: out has room for out_max bytes and len is less. The input and
        // output may be the same buffer, so the copy allows overlap; no Rust
        // reference to either is alive here.
        unsafe {
            ptr::copy(src, out.cast::<u8>(), len);
            *out.add(len) = 0;
            *out_len = len as c_uint;
        }
        sys::SASL_OK
    })
}

/// `SASL_CB_PROXY_POLICY` for the server: libsasl2 calls it after every
/// successful authentication, with the canonical authzid (`requested_user`;
/// the authid itself when the client asked for none) and authid. Acting as
/// oneself is always allowed without asking the hook; otherwise the hook
/// decides, and a refusal is `SASL_NOAUTHZ` with a detail naming both
/// identities (the server logs it and reports `Rejected`).
#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn proxy_policy(
    conn: *mut sys::sasl_conn_t,
    context: *mut c_void,
    requested_user: *const c_char,
    rlen: c_uint,
    auth_identity: *const c_char,
    alen: c_uint,
    def_realm: *const c_char,
    urlen: c_uint,
    _propctx: *mut sys::propctx,
) -> c_int {
    guard(sys::SASL_FAIL, || {
        failpoint!("sasl_cb_proxy_policy");
        if auth_identity.is_null() {
            return sys::SASL_BADPARAM;
        }
        // SAFETY: libsasl2 passes alen readable bytes at auth_identity, rlen at
        // a non-NULL requested_user and urlen at a non-NULL def_realm, all valid
        // for this call; the slices do not outlive it.
        let (authid, authzid, realm) = unsafe {
            (
                std::slice::from_raw_parts(auth_identity.cast::<u8>(), alen as usize),
                if requested_user.is_null() {
                    &[][..]
                } else {
                    std::slice::from_raw_parts(requested_user.cast::<u8>(), rlen as usize)
                },
                if def_realm.is_null() {
                    None
                } else {
                    Some(std::slice::from_raw_parts(def_realm.cast::<u8>(), urlen as usize))
                },
            )
        };
        if authzid.is_empty() || authzid == authid {
            return sys::SASL_OK;
        }
        // SAFETY: see `set`.
        let set = unsafe { set(context) };
        let Some(hook) = set.proxy.as_ref() else { return sys::SASL_OK };
        let (Ok(authid), Ok(authzid)) = (std::str::from_utf8(authid), std::str::from_utf8(authzid)) else {
            // SAFETY: conn is NULL or the live connection this callback serves.
            unsafe { set_error(conn, c"proxy policy: an identity is not UTF-8; refused") };
            return sys::SASL_NOAUTHZ;
        };
        let realm = realm.and_then(|r| std::str::from_utf8(r).ok());
        let request = ProxyRequest { authid, authzid, realm };
        if hook(&request) {
            return sys::SASL_OK;
        }
        // The detail is logged escaped by the server (it quotes peer text).
        let detail = format!("proxy policy: {authid:?} may not act as {authzid:?}");
        let detail = std::ffi::CString::new(detail).expect("{:?} escapes NUL");
        // SAFETY: conn is NULL or the live connection this callback serves.
        unsafe { set_error(conn, &detail) };
        sys::SASL_NOAUTHZ
    })
}

/// Sets a connection's error detail to `text`, without logging it.
///
/// # Safety
/// `conn` must be NULL or a live connection.
pub(crate) unsafe fn set_error(conn: *mut sys::sasl_conn_t, text: &CStr) {
    if conn.is_null() {
        return;
    }
    // SAFETY: conn is live; the format consumes exactly one C string, `text`,
    // which libsasl2 copies.
    unsafe { sys::sasl_seterror(conn, sys::SASL_NOLOG as c_uint, c"%s".as_ptr(), text.as_ptr()) };
}

/// A heap `sasl_secret_t` (a length followed by a flexible array of bytes) holding a
/// copy of a [`Secret`], NUL-terminated for plugins that treat it as a C string.
/// Wiped and freed on drop.
pub(crate) struct SecretBuf {
    ptr: NonNull<sys::sasl_secret_t>,
    layout: Layout,
}

impl SecretBuf {
    pub(crate) fn new(secret: &Secret) -> Self {
        let bytes = secret.expose();
        let data = std::mem::offset_of!(sys::sasl_secret_t, data);
        let size = (data + bytes.len() + 1).max(size_of::<sys::sasl_secret_t>());
        let layout =
            Layout::from_size_align(size, align_of::<sys::sasl_secret_t>()).expect("a secret's size fits a Layout");
        // SAFETY: layout has a non-zero size.
        let raw = unsafe { alloc_zeroed(layout) }.cast::<sys::sasl_secret_t>();
        let Some(ptr) = NonNull::new(raw) else { std::alloc::handle_alloc_error(layout) };
        // SAFETY: the allocation holds the header plus len + 1 data bytes; it is
        // zeroed, so the byte after the copy is already the terminating NUL.
        unsafe {
            (*ptr.as_ptr()).len = bytes.len() as _;
            let dst = ptr.as_ptr().cast::<u8>().add(data);
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len());
        }
        SecretBuf { ptr, layout }
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::sasl_secret_t {
        self.ptr.as_ptr()
    }
}

impl Drop for SecretBuf {
    fn drop(&mut self) {
        // SAFETY: ptr/layout are the allocation made in `new`, freed only here.
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.as_ptr().cast::<u8>(), self.layout.size()).zeroize();
            dealloc(self.ptr.as_ptr().cast(), self.layout);
        }
    }
}

// SAFETY: SecretBuf exclusively owns its allocation; nothing else aliases it.
unsafe impl Send for SecretBuf {}

// libsasl2 stores every callback as `int (*)(void)` and casts it back by id.

type LogFn = unsafe extern "C" fn(*mut c_void, c_int, *const c_char) -> c_int;
type GetoptFn =
    unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char, *mut *const c_char, *mut c_uint) -> c_int;
type SimpleFn = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut c_uint) -> c_int;
type SecretFn = unsafe extern "C" fn(*mut sys::sasl_conn_t, *mut c_void, c_int, *mut *mut sys::sasl_secret_t) -> c_int;
type RealmFn = unsafe extern "C" fn(*mut c_void, c_int, *mut *const c_char, *mut *const c_char) -> c_int;
type ProxyFn = unsafe extern "C" fn(
    *mut sys::sasl_conn_t,
    *mut c_void,
    *const c_char,
    c_uint,
    *const c_char,
    c_uint,
    *const c_char,
    c_uint,
    *mut sys::propctx,
) -> c_int;
type CanonFn = unsafe extern "C" fn(
    *mut sys::sasl_conn_t,
    *mut c_void,
    *const c_char,
    c_uint,
    c_uint,
    *const c_char,
    *mut c_char,
    c_uint,
    *mut c_uint,
) -> c_int;

macro_rules! casts {
    ($($name:ident: $ty:ty,)*) => {$(
        fn $name(f: $ty) -> sys::sasl_callback_ft {
            // SAFETY: function pointers have one size and ABI here; libsasl2 casts the
            // pointer back to this exact signature before calling it, chosen by the
            // callback id it is registered under.
            Some(unsafe { std::mem::transmute::<$ty, unsafe extern "C" fn() -> c_int>(f) })
        }
    )*};
}

casts! {
    cast_log: LogFn,
    cast_getopt: GetoptFn,
    cast_simple: SimpleFn,
    cast_secret: SecretFn,
    cast_realm: RealmFn,
    cast_canon: CanonFn,
    cast_proxy: ProxyFn,
}

#[cfg(test)]
mod tests {
    use super::ClientCredentials;

    #[test]
    fn client_names_share_one_buffer_and_each_reads_back_whole() {
        let creds = ClientCredentials::new("alice", "", Some("EXAMPLE.TEST"), None).unwrap();
        assert_eq!(creds.authname().to_bytes(), b"alice");
        assert_eq!(creds.authzid().to_bytes(), b"");
        assert_eq!(creds.realm().map(|r| r.to_bytes()), Some(&b"EXAMPLE.TEST"[..]));
        let creds = ClientCredentials::new("bob", "admin", None, None).unwrap();
        assert_eq!((creds.authname().to_bytes(), creds.authzid().to_bytes()), (&b"bob"[..], &b"admin"[..]));
        assert!(creds.realm().is_none());
    }

    /// The context pointer libsasl2 holds stays valid
    /// while the owner of the callback set moves, and while the owner reads the
    /// set itself. The aliasing rules this guards are only checked by Miri:
    /// `cargo +nightly miri test --lib --no-default-features -- context_pointer`
    /// (no libsasl2 call is made, so Miri can run it).
    #[test]
    fn the_context_pointer_given_to_c_stays_valid_while_its_owner_moves() {
        use std::ffi::{CStr, c_char, c_uint};
        use std::ptr::{self, NonNull};

        use super::{CallbackSet, getopt};
        use crate::config::Config;

        struct Owner(NonNull<CallbackSet>);
        let config = Config::new().with("mech_list", "CRAM-MD5").unwrap();
        let owner = Owner(CallbackSet::into_raw(CallbackSet::server(config, None, None)));
        // SAFETY: the list is alive and starts with the GETOPT entry.
        let context = unsafe { (*CallbackSet::list(owner.0)).context };
        let ask = |context| {
            let (mut value, mut len): (*const c_char, c_uint) = (ptr::null(), 0);
            // SAFETY: called as libsasl2 calls it, with the set's own context.
            let rc = unsafe { getopt(context, ptr::null(), c"mech_list".as_ptr(), &mut value, &mut len) };
            assert_eq!(rc, sasl_sys::SASL_OK);
            // SAFETY: getopt answered with the config's NUL-terminated value.
            unsafe { CStr::from_ptr(value) }.to_bytes().to_vec()
        };
        assert_eq!(ask(context), b"CRAM-MD5");
        let moved = [Box::new(owner)];
        // SAFETY: the set is alive; only shared references are made.
        assert_eq!(unsafe { moved[0].0.as_ref() }.config().get("mech_list"), Some("CRAM-MD5"));
        assert_eq!(ask(context), b"CRAM-MD5", "C's pointer still works after the owner moved");
        // SAFETY: from into_raw, taken back once, nothing points into it any more.
        drop(unsafe { CallbackSet::from_raw(moved[0].0) });
    }

    #[test]
    fn a_nul_in_a_client_name_is_an_error_naming_that_name() {
        for (authname, authzid, realm, what) in
            [("a\0b", "", None, "authname"), ("a", "z\0", None, "authzid"), ("a", "", Some("R\0"), "realm")]
        {
            let err = ClientCredentials::new(authname, authzid, realm, None).err().expect("a NUL is refused");
            assert!(matches!(err, crate::Error::Nul { what: w } if w == what), "{what}: {err:?}");
        }
    }
}

#[cfg(all(test, feature = "failpoints"))]
mod failpoint_tests {
    use super::*;

    /// libsasl2 frees a mutex only in `sasl_done`, which this crate never calls,
    /// so the trampoline is called directly here.
    #[test]
    fn a_panic_in_mutex_free_is_parked_not_unwound_into_c() {
        fail::cfg("sasl_mutex_free", "1*panic(sasl_mutex_free exploded)").unwrap();
        // SAFETY: a mutex from mutex_alloc, freed once.
        unsafe { mutex_free(mutex_alloc()) };
        fail::remove("sasl_mutex_free");
        let payload = crate::panic::take().expect("the failpoint's panic is parked");
        assert_eq!(payload.downcast_ref::<String>().map(String::as_str), Some("sasl_mutex_free exploded"));
    }
}

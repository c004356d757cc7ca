//! The FFI layer: the only `unsafe` code of the crate.
//!
//! - This file: the call funnel ([`call`], [`call_void`]) that every libsasl2
//!   call goes through, process-wide initialisation, and the one connection
//!   owner [`Conn`] with every per-connection call.
//! - `callbacks.rs`: the `extern "C"` trampolines libsasl2 calls back
//!   (mutexes, log, getopt, client credentials, canon_user) and the
//!   per-connection [`CallbackSet`] they read.
//! - `auxprop.rs`: the in-memory auxprop plugin behind
//!   [`CredentialStore`](crate::CredentialStore).
//! - `gss.rs`: MIT's GSS-API library, loaded at run time, for the `keytab` and
//!   `ccache` options.
//!
//! Everything above this layer (`Server`, `Client`, `SecurityLayer`, `Config`,
//! ...) is safe code. The panic slot the trampolines park panics in is
//! [`crate::panic`], a leaf of the import graph.

mod auxprop;
mod callbacks;
pub(crate) mod gss;

use std::ffi::{CStr, CString, c_char, c_int, c_uint, c_void};
use std::ptr::{self, NonNull};

use sasl_sys as sys;

pub use callbacks::LOG_TARGET;
pub(crate) use callbacks::{CallbackSet, ClientCredentials};

use crate::config::Config;
use crate::error::{Code, Error, Result};
use crate::security::SecurityProperties;

// ---------------------------------------------------------------------------
// The call funnel.

/// The funnel every libsasl2 call that returns a result code goes through
/// (git2-rs's `try_call!`): it makes the call, re-raises a panic a callback
/// parked during it, then lets `SASL_OK`, `SASL_CONTINUE` and `SASL_INTERACT`
/// pass as states. Any other code becomes [`Error::Sasl`] with the detail of
/// `conn` read at once, before any other call on it can replace it.
#[inline(always)]
pub(crate) fn call(conn: *mut sys::sasl_conn_t, name: &'static str, c_call: impl FnOnce() -> c_int) -> Result<Code> {
    let rc = c_call();
    crate::panic::resume();
    match rc {
        sys::SASL_OK | sys::SASL_CONTINUE | sys::SASL_INTERACT => Ok(Code(rc)),
        _ => Err(Error::Sasl { call: name, code: Code(rc), detail: detail(conn, Code(rc)) }),
    }
}

/// The funnel for libsasl2 calls without a result code: it makes the call, then
/// re-raises a panic a callback parked during it.
#[inline(always)]
pub(crate) fn call_void<R>(c_call: impl FnOnce() -> R) -> R {
    let r = c_call();
    crate::panic::resume();
    r
}

/// `sasl_errdetail` for a connection, or the code's description without one.
fn detail(conn: *mut sys::sasl_conn_t, code: Code) -> String {
    if conn.is_null() {
        return code.description().to_owned();
    }
    // SAFETY: conn is a live connection (callers pass the one they just used);
    // sasl_errdetail returns NULL or a NUL-terminated string owned by it.
    let s = call_void(|| unsafe { sys::sasl_errdetail(conn) });
    if s.is_null() {
        return code.description().to_owned();
    }
    // SAFETY: non-null and NUL-terminated; copied before the next call on conn.
    let text = unsafe { CStr::from_ptr(s) }.to_string_lossy().into_owned();
    tidy_detail(text)
}

/// libsasl2 formats a detail as `SASL(code): description: message` even when
/// the message is empty: drop the empty part (`no mechanism available: `).
fn tidy_detail(mut text: String) -> String {
    let kept = text.trim_end().trim_end_matches(':').trim_end().len();
    text.truncate(kept);
    text
}

impl Code {
    /// libsasl2's own one-line description (`sasl_errstring`).
    #[doc(alias = "sasl_errstring")]
    pub fn description(self) -> &'static str {
        // SAFETY: sasl_errstring accepts any code and NULL language arguments,
        // and returns a static, NUL-terminated string.
        let s = call_void(|| unsafe { sys::sasl_errstring(self.0, ptr::null(), ptr::null_mut()) });
        if s.is_null() {
            return "undescribed SASL error";
        }
        // SAFETY: non-null, NUL-terminated, static.
        unsafe { CStr::from_ptr(s) }.to_str().unwrap_or("undescribed SASL error")
    }
}

// ---------------------------------------------------------------------------
// Process-wide state.

/// What went wrong in [`initialise`]: the call, its code and detail.
pub(crate) type InitFailure = (&'static str, Code, String);

/// The one real initialisation of libsasl2; `library::init` runs it once,
/// inside a `OnceLock`, so it must not unwind: a callback that panicked during
/// init (the log, a mutex function, the auxprop plugin's init) becomes an error.
///
/// Facts it relies on (libsasl2 2.1.28): the default mutex functions do
/// nothing and `sasl_set_mutex` is ignored once any init ran, so real mutexes
/// go in first; `sasl_server_init` keeps the callback and appname pointers
/// without copying them, so both are 'static.
pub(crate) fn initialise(app_name: &'static CStr) -> std::result::Result<(), InitFailure> {
    let global = callbacks::global_callbacks();
    // SAFETY: called once, before any other libsasl2 call; the mutex functions
    // live for the whole process.
    let set_mutex = || unsafe {
        sys::sasl_set_mutex(
            Some(callbacks::mutex_alloc),
            Some(callbacks::mutex_lock),
            Some(callbacks::mutex_unlock),
            Some(callbacks::mutex_free),
        )
    };
    init_step("sasl_set_mutex", || {
        set_mutex();
        sys::SASL_OK
    })?;
    // SAFETY: `global` and `app_name` are 'static, as libsasl2 keeps both pointers.
    init_step("sasl_server_init", || unsafe { sys::sasl_server_init(global, app_name.as_ptr()) })?;
    init_step("sasl_auxprop_add_plugin", auxprop::register)?;
    // SAFETY: as above.
    init_step("sasl_client_init", || unsafe { sys::sasl_client_init(global) })
}

/// One init call, with a parked panic turned into an error instead of resumed.
fn init_step(name: &'static str, c_call: impl FnOnce() -> c_int) -> std::result::Result<(), InitFailure> {
    let rc = c_call();
    if let Some(payload) = crate::panic::take() {
        let what = crate::panic::describe(&*payload);
        return Err((name, Code::FAIL, format!("a callback panicked during initialisation: {what}")));
    }
    match rc {
        sys::SASL_OK => Ok(()),
        _ => Err((name, Code(rc), Code(rc).description().to_owned())),
    }
}

/// The version of the libsasl2 loaded at run time (`sasl_version_info`).
pub(crate) fn version_info() -> (i32, i32, i32) {
    let (mut major, mut minor, mut step, mut patch) = (0, 0, 0, 0);
    // SAFETY: sasl_version_info needs no init; NULL string out-pointers are
    // allowed, and the others point at live locals.
    call_void(|| unsafe {
        sys::sasl_version_info(ptr::null_mut(), ptr::null_mut(), &mut major, &mut minor, &mut step, &mut patch)
    });
    (major, minor, step)
}

/// Every server mechanism libsasl2 loaded (`sasl_global_listmech`). Call only
/// after a successful init.
pub(crate) fn global_mechanisms() -> Vec<String> {
    let mut list = Vec::new();
    // SAFETY: init succeeded (the caller's contract, checked by `library`).
    let mut p: *mut *const c_char = call_void(|| unsafe { sys::sasl_global_listmech() });
    // SAFETY: the array and its strings belong to libsasl2 and are never freed
    // while the process runs (sasl_done is never called); it ends with NULL.
    unsafe {
        while !p.is_null() && !(*p).is_null() {
            list.push(CStr::from_ptr(*p).to_string_lossy().into_owned());
            p = p.add(1);
        }
    }
    list
}

// ---------------------------------------------------------------------------
// Arguments and results at the edge.

/// Text from libsasl2 (user, realm and mechanism names) as `&str`, or `None`
/// when it is not UTF-8: libsasl2 checks no encoding. Nearly all of it is
/// short ASCII, which `is_ascii` confirms faster than the general UTF-8 check.
pub(crate) fn utf8(bytes: &[u8]) -> Option<&str> {
    if bytes.is_ascii() {
        // SAFETY: ASCII is valid UTF-8.
        return Some(unsafe { std::str::from_utf8_unchecked(bytes) });
    }
    std::str::from_utf8(bytes).ok()
}

/// A length that libsasl2 takes as `unsigned`.
pub(crate) fn c_len(buf: &[u8], what: &'static str) -> Result<c_uint> {
    c_uint::try_from(buf.len()).map_err(|_| Error::TooLong { what, len: buf.len() })
}

/// A `&str` argument passed to one libsasl2 call, NUL-terminated, on the stack
/// when it is short (service, host and mechanism names), so building a
/// connection does not allocate for them.
pub(crate) enum CArg {
    Inline([u8; C_ARG_INLINE]),
    Heap(CString),
}

const C_ARG_INLINE: usize = 128;

impl CArg {
    /// Fails with [`Error::Nul`] naming the argument when it contains a NUL byte.
    pub(crate) fn new(value: &str, what: &'static str) -> Result<Self> {
        let bytes = value.as_bytes();
        if bytes.len() >= C_ARG_INLINE {
            return CString::new(value).map(CArg::Heap).map_err(|_| Error::Nul { what });
        }
        if bytes.contains(&0) {
            return Err(Error::Nul { what });
        }
        let mut buf = [0; C_ARG_INLINE];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(CArg::Inline(buf))
    }

    /// Valid while `self` is neither moved nor dropped.
    fn as_ptr(&self) -> *const c_char {
        match self {
            CArg::Inline(buf) => buf.as_ptr().cast(),
            CArg::Heap(c) => c.as_ptr(),
        }
    }
}

/// An output buffer of the last call on a [`Conn`] that produced one; turned
/// into a slice by [`Conn::output`], which checks that no such call came since.
#[derive(Clone, Copy)]
pub(crate) struct Out {
    ptr: *const c_char,
    len: c_uint,
    generation: u64,
}

impl Out {
    /// Whether libsasl2 returned a NULL buffer (as opposed to an empty one).
    pub(crate) fn is_null(&self) -> bool {
        self.ptr.is_null()
    }
}

// ---------------------------------------------------------------------------
// The one connection owner.

/// An owned libsasl2 connection, and everything libsasl2 points into for it:
/// the callback set (options, canon_user hook, client credential strings and
/// secret buffer), and the GSS-API credential attached with `SASL_GSS_CREDS`.
///
/// The callback set is handed to C once, through `Box::into_raw`, and only
/// reached through that pointer afterwards (as rusqlite's `InnerConnection`
/// does with its hooks), so moving the owner never moves or re-borrows what C
/// points into. `Drop` calls `sasl_dispose` first, then frees the callback set,
/// then (field drop order) releases the GSS-API credential. A type that moves
/// the connection on (`into_security_layer`) moves this whole owner.
pub(crate) struct Conn {
    ptr: NonNull<sys::sasl_conn_t>,
    /// From `Box::into_raw`; freed in `Drop` after `sasl_dispose`. Never
    /// reached through a `&mut`: trampolines read it concurrently with `&self`.
    callbacks: NonNull<CallbackSet>,
    /// Counts the calls that replace an output buffer (see [`Out`]).
    generation: u64,
    /// The credential handed to the connection; released after `sasl_dispose`
    /// because fields drop after `Drop::drop` runs.
    gss: Option<gss::Credential>,
    /// The channel binding libsasl2 points at (`SASL_CHANNEL_BINDING` stores the
    /// pointer, it copies nothing); freed after `sasl_dispose`, as `gss`.
    cbinding: Option<Box<OwnedChannelBinding>>,
}

/// A `sasl_channel_binding_t` and the bytes its pointers point into, in one
/// box: moving the box moves neither.
struct OwnedChannelBinding {
    raw: sys::sasl_channel_binding_t,
    _name: CString,
    _data: Box<[u8]>,
}

// SAFETY: a sasl_conn_t has no thread affinity: libsasl2's shared state is
// guarded by the real mutexes installed at init, and every call that changes the
// connection goes through `&mut self` or copies out before returning. The callback
// set holds only Send data (the canon_user hook is required to be Send) and its
// `Cell`s are only touched from callbacks of calls made through this owner. Conn
// is deliberately not Sync: a libsasl2 connection must not be used from two
// threads at once, and the callback set's `Cell`s are not thread-safe.
unsafe impl Send for Conn {}

impl Conn {
    /// `sasl_server_new`; the library must be initialised.
    pub(crate) fn server(
        service: &str,
        fqdn: &str,
        realm: Option<&str>,
        callbacks: Box<CallbackSet>,
        security: &SecurityProperties,
    ) -> Result<Self> {
        let service = CArg::new(service, "service")?;
        let fqdn = CArg::new(fqdn, "server FQDN")?;
        let realm = realm.map(|r| CArg::new(r, "user realm")).transpose()?;
        Self::create("sasl_server_new", callbacks, security, |list, out| {
            // SAFETY: the strings are NUL-terminated and outlive the call
            // (libsasl2 copies them); `list` is the callback set's list, alive
            // until after sasl_dispose.
            unsafe {
                sys::sasl_server_new(
                    service.as_ptr(),
                    fqdn.as_ptr(),
                    realm.as_ref().map_or(ptr::null(), CArg::as_ptr),
                    ptr::null(),
                    ptr::null(),
                    list,
                    0,
                    out,
                )
            }
        })
    }

    /// `sasl_client_new`; the library must be initialised.
    pub(crate) fn client(
        service: &str,
        server_fqdn: &str,
        callbacks: Box<CallbackSet>,
        security: &SecurityProperties,
    ) -> Result<Self> {
        let service = CArg::new(service, "service")?;
        let fqdn = CArg::new(server_fqdn, "server FQDN")?;
        Self::create("sasl_client_new", callbacks, security, |list, out| {
            // SAFETY: as in `server`.
            unsafe { sys::sasl_client_new(service.as_ptr(), fqdn.as_ptr(), ptr::null(), ptr::null(), list, 0, out) }
        })
    }

    fn create(
        name: &'static str,
        callbacks: Box<CallbackSet>,
        security: &SecurityProperties,
        new: impl FnOnce(*const sys::sasl_callback_t, *mut *mut sys::sasl_conn_t) -> c_int,
    ) -> Result<Self> {
        let set = CallbackSet::into_raw(callbacks);
        let mut raw: *mut sys::sasl_conn_t = ptr::null_mut();
        // The call is made here and its code put through the funnel below,
        // once an owner exists: a panic parked during the call then unwinds
        // through the owner's Drop, which disposes the connection.
        let rc = new(CallbackSet::list(set), &mut raw);
        let Some(ptr) = NonNull::new(raw) else {
            // SAFETY: no connection was made, so nothing else points into the set.
            drop(unsafe { CallbackSet::from_raw(set) });
            call(ptr::null_mut(), name, || rc)?;
            return Err(Error::Sasl { call: name, code: Code::NOMEM, detail: "no connection returned".into() });
        };
        // From here on `Drop` disposes the connection and frees the set.
        let conn = Conn { ptr, callbacks: set, generation: 0, gss: None, cbinding: None };
        call(conn.as_ptr(), name, || rc)?;
        conn.set_security(security)?;
        Ok(conn)
    }

    /// The raw connection, for the public `as_ptr` escape hatches.
    pub(crate) fn as_ptr(&self) -> *mut sys::sasl_conn_t {
        self.ptr.as_ptr()
    }

    fn callbacks(&self) -> &CallbackSet {
        // SAFETY: the set lives until `Drop` frees it; only shared references
        // to it are ever made (see the field).
        unsafe { self.callbacks.as_ref() }
    }

    /// The config this connection serves through `SASL_CB_GETOPT`.
    pub(crate) fn config(&self) -> &Config {
        self.callbacks().config()
    }

    /// The failure messages libsasl2 logged for this connection since the last
    /// call of this method (levels `SASL_LOG_ERR`/`SASL_LOG_FAIL`), oldest first.
    pub(crate) fn take_logged_failures(&self) -> Vec<String> {
        self.callbacks().take_failures()
    }

    /// Whether the canon-user hook refused a name since the last call of
    /// this method; clears the mark.
    pub(crate) fn take_canon_refused(&self) -> bool {
        self.callbacks().take_canon_refused()
    }

    /// Hands the connection a GSS-API credential (`SASL_GSS_CREDS`), which it
    /// then owns until after `sasl_dispose`.
    pub(crate) fn attach_gss(&mut self, credential: gss::Credential) -> Result<()> {
        let handle = credential.as_ptr();
        // Owned before libsasl2 sees it: released only after sasl_dispose.
        self.gss = Some(credential);
        // SAFETY: the connection is live; libsasl2 stores the handle as it is and
        // the GSSAPI plugin only reads it; `self.gss` keeps it valid until after
        // sasl_dispose.
        call(self.as_ptr(), "sasl_setprop(SASL_GSS_CREDS)", || unsafe {
            sys::sasl_setprop(self.as_ptr(), sys::SASL_GSS_CREDS, handle.cast_const())
        })
        .map(drop)
    }

    /// Sets the channel binding (`SASL_CHANNEL_BINDING`), which the connection
    /// then owns until after `sasl_dispose`. A later call replaces it.
    pub(crate) fn set_channel_binding(&mut self, binding: &crate::ChannelBinding) -> Result<()> {
        let name = CString::new(binding.name()).map_err(|_| Error::Nul { what: "channel binding name" })?;
        let data: Box<[u8]> = binding.data().into();
        let len = std::ffi::c_ulong::try_from(data.len())
            .map_err(|_| Error::TooLong { what: "channel binding data", len: data.len() })?;
        let raw = sys::sasl_channel_binding_t {
            name: name.as_ptr(),
            critical: c_int::from(binding.critical()),
            len,
            data: data.as_ptr(),
        };
        let owned = Box::new(OwnedChannelBinding { raw, _name: name, _data: data });
        let value: *const sys::sasl_channel_binding_t = &owned.raw;
        // SAFETY: the connection is live; libsasl2 keeps `value` as it is and its
        // mechanisms only read through it. It points into `owned`'s heap
        // allocations (the struct, the name, the bytes), which do not move when
        // the box moves into `self.cbinding` below and stay there until after
        // sasl_dispose (or until a later call has pointed libsasl2 elsewhere).
        call(self.as_ptr(), "sasl_setprop(SASL_CHANNEL_BINDING)", || unsafe {
            sys::sasl_setprop(self.as_ptr(), sys::SASL_CHANNEL_BINDING, value.cast())
        })?;
        self.cbinding = Some(owned);
        Ok(())
    }

    /// Tells the connection what an external security layer (TLS) established:
    /// its strength (`SASL_SSF_EXTERNAL`) and the identity it authenticated
    /// (`SASL_AUTH_EXTERNAL`; `None` clears it).
    ///
    /// Unlike `SASL_CHANNEL_BINDING`, libsasl2 (2.1.28, `lib/common.c`
    /// `sasl_setprop`) copies both: it reads the `sasl_ssf_t` through the
    /// pointer once, and duplicates the string (`_sasl_strdup`, freed when the
    /// connection is disposed or the property set again), so nothing here
    /// needs to outlive the call. It stores an empty string as no identity.
    pub(crate) fn set_external(&self, ssf: u32, auth_id: Option<&str>) -> Result<()> {
        let auth_id = auth_id.map(|id| CArg::new(id, "external authentication id")).transpose()?;
        let ssf: sys::sasl_ssf_t = ssf;
        let ssf_ptr: *const sys::sasl_ssf_t = &ssf;
        // SAFETY: the connection is live; `ssf_ptr` points at a live
        // sasl_ssf_t, which libsasl2 copies before returning.
        call(self.as_ptr(), "sasl_setprop(SASL_SSF_EXTERNAL)", || unsafe {
            sys::sasl_setprop(self.as_ptr(), sys::SASL_SSF_EXTERNAL, ssf_ptr.cast())
        })?;
        let id_ptr = auth_id.as_ref().map_or(ptr::null(), CArg::as_ptr);
        // SAFETY: the connection is live; `id_ptr` is NULL or a NUL-terminated
        // string that outlives the call, and libsasl2 duplicates it.
        call(self.as_ptr(), "sasl_setprop(SASL_AUTH_EXTERNAL)", || unsafe {
            sys::sasl_setprop(self.as_ptr(), sys::SASL_AUTH_EXTERNAL, id_ptr.cast())
        })
        .map(drop)
    }

    /// Sets the security properties (`SASL_SEC_PROPS`; libsasl2 copies them).
    pub(crate) fn set_security(&self, security: &SecurityProperties) -> Result<()> {
        self.set_sys_security(&security.to_sys())
    }

    fn set_sys_security(&self, props: &sys::sasl_security_properties_t) -> Result<()> {
        // SAFETY: the connection is live; libsasl2 copies the properties.
        call(self.as_ptr(), "sasl_setprop(SASL_SEC_PROPS)", || unsafe {
            sys::sasl_setprop(self.as_ptr(), sys::SASL_SEC_PROPS, ptr::addr_of!(*props).cast())
        })
        .map(drop)
    }

    /// The security properties the connection holds (`SASL_SEC_PROPS`).
    pub(crate) fn security(&self) -> Result<SecurityProperties> {
        let value = self.prop_ptr(sys::SASL_SEC_PROPS, "sasl_getprop(SASL_SEC_PROPS)")?;
        if value.is_null() {
            return Err(Error::Sasl {
                call: "sasl_getprop(SASL_SEC_PROPS)",
                code: Code::FAIL,
                detail: "no security properties".into(),
            });
        }
        // SAFETY: for SASL_SEC_PROPS libsasl2 points at the connection's own
        // sasl_security_properties_t, plain data copied out here.
        let props = unsafe { *value.cast::<sys::sasl_security_properties_t>() };
        Ok(SecurityProperties {
            min_ssf: props.min_ssf,
            max_ssf: props.max_ssf,
            maxbufsize: props.maxbufsize,
            flags: props.security_flags,
        })
    }

    fn prop_ptr(&self, prop: c_int, name: &'static str) -> Result<*const c_void> {
        let mut value: *const c_void = ptr::null();
        // SAFETY: the connection is live; value is an out-pointer.
        call(self.as_ptr(), name, || unsafe { sys::sasl_getprop(self.as_ptr(), prop, &mut value) })?;
        Ok(value)
    }

    /// A string property (`SASL_USERNAME`, `SASL_MECHNAME`, ...), copied out.
    pub(crate) fn prop_str(&self, prop: c_int, what: &'static str) -> Result<Option<String>> {
        self.prop_utf8(prop, what).map(|s| s.map(str::to_owned))
    }

    /// A string property, borrowed from the connection: libsasl2 keeps it in
    /// the connection's parameters, which only a call through `&mut self` (a
    /// step) changes.
    pub(crate) fn prop_utf8(&self, prop: c_int, what: &'static str) -> Result<Option<&str>> {
        let value = self.prop_ptr(prop, "sasl_getprop")?;
        if value.is_null() {
            return Ok(None);
        }
        // SAFETY: string properties are NUL-terminated and owned by the
        // connection, which the returned borrow of self keeps alive.
        let s = unsafe { CStr::from_ptr(value.cast::<c_char>()) };
        match utf8(s.to_bytes()) {
            Some(text) => Ok(Some(text)),
            None => Err(Error::NotUtf8 { what }),
        }
    }

    /// A string property as bytes, or `None` when libsasl2 has none (not set
    /// yet, or `sasl_getprop` refused: `SASL_NOTDONE`). Reads no error detail
    /// of its own worth keeping, so it suits a connection that just failed.
    pub(crate) fn prop_bytes(&self, prop: c_int) -> Option<&[u8]> {
        let mut value: *const c_void = ptr::null();
        // SAFETY: the connection is live; value is an out-pointer. sasl_getprop
        // calls no callback.
        let rc = unsafe { sys::sasl_getprop(self.as_ptr(), prop, &mut value) };
        if rc != sys::SASL_OK || value.is_null() {
            return None;
        }
        // SAFETY: string properties are NUL-terminated and owned by the
        // connection, which the returned borrow of self keeps alive.
        Some(unsafe { CStr::from_ptr(value.cast::<c_char>()) }.to_bytes())
    }

    /// An unsigned property (`SASL_SSF`, `SASL_MAXOUTBUF`).
    pub(crate) fn prop_uint(&self, prop: c_int) -> Result<u32> {
        let value = self.prop_ptr(prop, "sasl_getprop")?;
        if value.is_null() {
            return Ok(0);
        }
        // SAFETY: for SASL_SSF and SASL_MAXOUTBUF libsasl2 points at an unsigned
        // int inside the connection.
        Ok(unsafe { *value.cast::<c_uint>() })
    }

    /// The output of the last call that produced one, as a slice borrowed from
    /// the connection. Panics if another such call came since: that `Out` is
    /// stale, and its buffer may be gone.
    pub(crate) fn output(&self, out: Out) -> &[u8] {
        assert_eq!(out.generation, self.generation, "a stale libsasl2 output buffer");
        if out.ptr.is_null() || out.len == 0 {
            return &[];
        }
        // SAFETY: libsasl2 wrote `len` bytes at `ptr`, owned by the connection
        // until the next call that produces output; that call needs `&mut self`,
        // which the returned borrow of `self` excludes, and none came since `out`
        // was made (checked above).
        unsafe { std::slice::from_raw_parts(out.ptr.cast::<u8>(), out.len as usize) }
    }

    fn out(&mut self, ptr: *const c_char, len: c_uint) -> Out {
        Out { ptr, len, generation: self.generation }
    }

    /// `sasl_listmech` with separator `" "`, copied out; empty when no
    /// mechanism is left (`SASL_NOMECH`).
    pub(crate) fn mechanism_list(&self) -> Result<String> {
        // SAFETY: the text is copied before anything else is called on conn.
        let text = unsafe { self.list_mechanisms() }?;
        Ok(text.unwrap_or_default().to_owned())
    }

    /// `sasl_listmech`, copied out.
    pub(crate) fn mechanisms(&self) -> Result<Vec<String>> {
        // SAFETY: the text is copied before anything else is called on conn.
        let text = unsafe { self.list_mechanisms() }?;
        Ok(text.map(|t| t.split_whitespace().map(str::to_owned).collect()).unwrap_or_default())
    }

    /// # Safety
    /// The text lives in a buffer of the connection that the next
    /// `sasl_listmech` replaces: it must not outlive the next call on `self`.
    unsafe fn list_mechanisms<'a>(&self) -> Result<Option<&'a str>> {
        let (mut out, mut len, mut count): (*const c_char, c_uint, c_int) = (ptr::null(), 0, 0);
        // SAFETY: the connection is live; the separators are NUL-terminated;
        // out/len/count are out-pointers.
        let listed = call(self.as_ptr(), "sasl_listmech", || unsafe {
            sys::sasl_listmech(
                self.as_ptr(),
                ptr::null(),
                c"".as_ptr(),
                c" ".as_ptr(),
                c"".as_ptr(),
                &mut out,
                &mut len,
                &mut count,
            )
        });
        match listed {
            Ok(_) => {}
            Err(Error::Sasl { code: Code::NOMECH, .. }) => return Ok(None),
            Err(e) => return Err(e),
        }
        if out.is_null() {
            return Ok(Some(""));
        }
        // SAFETY: libsasl2 wrote len bytes at out, valid as the caller promises.
        let bytes = unsafe { std::slice::from_raw_parts(out.cast::<u8>(), len as usize) };
        match utf8(bytes) {
            Some(text) => Ok(Some(text)),
            None => Err(Error::NotUtf8 { what: "mechanism list" }),
        }
    }

    /// What `sasl_listmech` offers with `min_ssf` 0 and the other security
    /// properties unchanged; the properties are restored afterwards.
    pub(crate) fn mechanisms_without_min_ssf(&self) -> Option<Vec<String>> {
        let value = self.prop_ptr(sys::SASL_SEC_PROPS, "sasl_getprop(SASL_SEC_PROPS)").ok()?;
        if value.is_null() {
            return None;
        }
        // SAFETY: as in `security`.
        let props = unsafe { *value.cast::<sys::sasl_security_properties_t>() };
        self.set_sys_security(&sys::sasl_security_properties_t { min_ssf: 0, ..props }).ok()?;
        let listed = self.mechanisms();
        self.set_sys_security(&props).ok()?;
        listed.ok()
    }

    /// `sasl_server_start`.
    pub(crate) fn server_start(&mut self, mechanism: &str, initial: Option<&[u8]>) -> Result<(Code, Out)> {
        let mech = CArg::new(mechanism, "mechanism")?;
        let (input, input_len) = match initial {
            Some(data) => (data.as_ptr().cast::<c_char>(), c_len(data, "initial response")?),
            None => (ptr::null(), 0),
        };
        self.generation += 1;
        let (mut out, mut out_len): (*const c_char, c_uint) = (ptr::null(), 0);
        // SAFETY: the connection is live; input points at input_len readable
        // bytes (or is NULL); out/out_len are out-pointers.
        let code = call(self.as_ptr(), "sasl_server_start", || unsafe {
            sys::sasl_server_start(self.as_ptr(), mech.as_ptr(), input, input_len, &mut out, &mut out_len)
        })?;
        Ok((code, self.out(out, out_len)))
    }

    /// `sasl_server_step`.
    pub(crate) fn server_step(&mut self, response: &[u8]) -> Result<(Code, Out)> {
        let len = c_len(response, "response")?;
        self.generation += 1;
        let (mut out, mut out_len): (*const c_char, c_uint) = (ptr::null(), 0);
        // SAFETY: the connection is live; response has len readable bytes;
        // out/out_len are out-pointers.
        let code = call(self.as_ptr(), "sasl_server_step", || unsafe {
            sys::sasl_server_step(self.as_ptr(), response.as_ptr().cast(), len, &mut out, &mut out_len)
        })?;
        Ok((code, self.out(out, out_len)))
    }

    /// `sasl_client_start`: the code, the initial response and the mechanism
    /// chosen. `SASL_INTERACT` becomes [`Error::MissingCredential`].
    pub(crate) fn client_start(&mut self, mechanisms: &str) -> Result<(Code, Out, &'static str)> {
        let list = CArg::new(mechanisms, "mechanism list")?;
        self.generation += 1;
        let mut prompts: *mut sys::sasl_interact_t = ptr::null_mut();
        let (mut out, mut out_len): (*const c_char, c_uint) = (ptr::null(), 0);
        let mut mech: *const c_char = ptr::null();
        // SAFETY: the connection is live; list is NUL-terminated; the rest are
        // out-pointers.
        let code = call(self.as_ptr(), "sasl_client_start", || unsafe {
            sys::sasl_client_start(self.as_ptr(), list.as_ptr(), &mut prompts, &mut out, &mut out_len, &mut mech)
        })?;
        no_interaction(code, prompts)?;
        if mech.is_null() {
            return Err(Error::Sasl { call: "sasl_client_start", code, detail: "no mechanism chosen".into() });
        }
        // SAFETY: the name is the plugin's own NUL-terminated string; plugins
        // stay loaded for the life of the process (sasl_done is never called).
        let name: &'static CStr = unsafe { CStr::from_ptr(mech) };
        let Some(mechanism) = utf8(name.to_bytes()) else {
            return Err(Error::NotUtf8 { what: "mechanism name" });
        };
        Ok((code, self.out(out, out_len), mechanism))
    }

    /// `sasl_client_step`. `SASL_INTERACT` becomes [`Error::MissingCredential`].
    pub(crate) fn client_step(&mut self, challenge: &[u8]) -> Result<(Code, Out)> {
        let len = c_len(challenge, "challenge")?;
        self.generation += 1;
        let mut prompts: *mut sys::sasl_interact_t = ptr::null_mut();
        let (mut out, mut out_len): (*const c_char, c_uint) = (ptr::null(), 0);
        // SAFETY: the connection is live; challenge has len readable bytes; the
        // rest are out-pointers.
        let code = call(self.as_ptr(), "sasl_client_step", || unsafe {
            sys::sasl_client_step(self.as_ptr(), challenge.as_ptr().cast(), len, &mut prompts, &mut out, &mut out_len)
        })?;
        no_interaction(code, prompts)?;
        Ok((code, self.out(out, out_len)))
    }

    /// `sasl_encode`; read the output with [`output`](Self::output).
    pub(crate) fn encode(&mut self, plaintext: &[u8]) -> Result<Out> {
        self.code_buffer("sasl_encode", plaintext, "plaintext", sys::sasl_encode)
    }

    /// `sasl_decode`; read the output with [`output`](Self::output).
    pub(crate) fn decode(&mut self, input: &[u8]) -> Result<Out> {
        self.code_buffer("sasl_decode", input, "input", sys::sasl_decode)
    }

    fn code_buffer(
        &mut self,
        name: &'static str,
        input: &[u8],
        what: &'static str,
        f: unsafe extern "C" fn(*mut sys::sasl_conn_t, *const c_char, c_uint, *mut *const c_char, *mut c_uint) -> c_int,
    ) -> Result<Out> {
        let len = c_len(input, what)?;
        self.generation += 1;
        let (mut out, mut out_len): (*const c_char, c_uint) = (ptr::null(), 0);
        // SAFETY: `f` is sasl_encode or sasl_decode; the connection is live;
        // input has len readable bytes; out/out_len are out-pointers.
        call(self.as_ptr(), name, || unsafe { f(self.as_ptr(), input.as_ptr().cast(), len, &mut out, &mut out_len) })?;
        Ok(self.out(out, out_len))
    }

    /// Empties the connection's error detail (`sasl_seterror` with `""`).
    pub(crate) fn clear_detail(&self) {
        // SAFETY: the connection is live; an empty format takes no arguments;
        // SASL_NOLOG keeps it out of the log.
        call_void(|| unsafe { sys::sasl_seterror(self.as_ptr(), sys::SASL_NOLOG as c_uint, c"".as_ptr()) });
    }

    /// Whether libsasl2 loaded any auxprop plugin that this connection's
    /// `auxprop_plugin` option names: `sasl_auxprop_store` with no property
    /// context only asks the named plugins whether they are there, and fails
    /// with `SASL_FAIL` when none of them is.
    pub(crate) fn auxprop_plugin_loaded(&self) -> bool {
        // SAFETY: the connection is live; a NULL context and user is
        // libsasl2's documented "is a store plugin there?" query, which reads
        // only the connection's options.
        let rc = call_void(|| unsafe { sys::sasl_auxprop_store(self.as_ptr(), ptr::null_mut(), ptr::null()) });
        rc != sys::SASL_FAIL
    }

    /// `sasl_setpass`: sets (`password` given) or removes a user's secrets.
    pub(crate) fn set_password(&self, user: &str, password: Option<&[u8]>, flags: c_uint) -> Result<()> {
        let user = CArg::new(user, "user")?;
        let (pass, len) = match password {
            Some(p) => (p.as_ptr().cast::<c_char>(), c_len(p, "password")?),
            None => (ptr::null(), 0),
        };
        // SAFETY: the connection is live; user is NUL-terminated; pass points at
        // len readable bytes (libsasl2 takes the length, not a NUL) or is NULL.
        call(self.as_ptr(), "sasl_setpass", || unsafe {
            sys::sasl_setpass(self.as_ptr(), user.as_ptr(), pass, len, ptr::null(), 0, flags)
        })
        .map(drop)
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut raw = self.ptr.as_ptr();
        // SAFETY: this owner made the connection and disposes it exactly once;
        // the callback set is still alive for callbacks run during disposal.
        unsafe { sys::sasl_dispose(&mut raw) };
        // SAFETY: the pointer came from CallbackSet::into_raw in `create`, and the
        // connection that pointed into the set is gone.
        drop(unsafe { CallbackSet::from_raw(self.callbacks) });
        // `self.gss` is released after this body returns, after sasl_dispose.
        // A callback that panicked during disposal: re-raise unless already
        // unwinding, in which case a second panic would abort the process.
        if let Some(payload) = crate::panic::take() {
            if !std::thread::panicking() {
                std::panic::resume_unwind(payload);
            }
        }
    }
}

/// Turns `SASL_INTERACT` into [`Error::MissingCredential`] (this crate never
/// prompts) and frees the prompt array.
///
/// The mechanism allocated the array (`_plug_make_prompts`, with libsasl2's
/// `malloc`) and frees it only at the start of its next step; a client that
/// gives up instead, as this one does, must free it or leak it.
fn no_interaction(code: Code, prompts: *mut sys::sasl_interact_t) -> Result<()> {
    if code != Code::INTERACT {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut p = prompts;
    // SAFETY: libsasl2 returns an array of prompts ending with SASL_CB_LIST_END.
    while !p.is_null() && unsafe { (*p).id } != sys::SASL_CB_LIST_END as std::ffi::c_ulong {
        // SAFETY: p is within the array (checked against the terminator above).
        let id = unsafe { (*p).id } as c_int;
        missing.push(
            match id {
                sys::SASL_CB_AUTHNAME => "authentication name (SASL_CB_AUTHNAME)",
                sys::SASL_CB_USER => "authorization id (SASL_CB_USER)",
                sys::SASL_CB_PASS => "password (SASL_CB_PASS)",
                sys::SASL_CB_GETREALM => "realm (SASL_CB_GETREALM)",
                sys::SASL_CB_ECHOPROMPT | sys::SASL_CB_NOECHOPROMPT => "an answer to a challenge prompt",
                _ => "an unknown interaction",
            }
            .to_owned(),
        );
        // SAFETY: the terminator has not been reached, so the next entry exists.
        p = unsafe { p.add(1) };
    }
    // SAFETY: the array is one block from the plugin's `utils->malloc`, which is
    // the C library's malloc: this crate never calls `sasl_set_alloc`. Its
    // strings are the plugin's static text, not separate blocks. Nothing reads
    // the array again: no step follows an error. free(NULL) does nothing.
    unsafe { free(prompts.cast()) };
    Err(Error::MissingCredential { missing })
}

unsafe extern "C" {
    /// The C library's `free`, for the prompt array libsasl2's plugins allocate.
    fn free(ptr: *mut c_void);
}

#[cfg(test)]
mod tests {
    /// Every libsasl2 call goes through the funnel, so a
    /// panic parked before or during a call comes out of that call, not out of a
    /// later, unrelated one. `mechanisms_without_min_ssf` makes the
    /// `sasl_setprop` and `sasl_listmech` calls that once bypassed it.
    #[test]
    fn a_parked_panic_surfaces_from_the_listmech_and_setprop_that_follow_it() {
        let config = crate::Config::new();
        let creds = super::ClientCredentials::new("alice", "", None, None).unwrap();
        crate::init(crate::DEFAULT_APP_NAME).unwrap();
        let conn =
            super::Conn::client("svc", "host.example", super::CallbackSet::client(config, creds), &Default::default())
                .unwrap();
        crate::panic::guard((), || panic!("parked by the test"));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| conn.mechanisms_without_min_ssf()));
        let payload = outcome.expect_err("the parked panic comes out of this call");
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"parked by the test"));
        assert!(crate::panic::take().is_none(), "nothing left parked for a later call");
    }
}

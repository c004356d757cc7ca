//! What client and server connections share: the owned `sasl_conn_t`, its
//! callback box, and property getters.

use std::ffi::{CStr, CString, c_char, c_uint, c_void};
use std::ptr::{self, NonNull};

use sasl_sys as sys;

use crate::callbacks::CallbackSet;
use crate::error::{Error, Result, check};
use crate::security::SecurityProperties;

/// An owned libsasl2 connection. `Drop` calls `sasl_dispose`, then frees the
/// callback state libsasl2 pointed into.
pub(crate) struct Conn {
    ptr: NonNull<sys::sasl_conn_t>,
    // Declared after `ptr` and only dropped after `sasl_dispose` in `Drop::drop`.
    callbacks: Box<CallbackSet>,
}

// SAFETY: a sasl_conn_t has no thread affinity: libsasl2's shared state is guarded
// by the real mutexes installed at init, and the connection itself is only touched
// through `&mut self`. The callback state is owned and holds only Send data (the
// canon_user hook is required to be Send). Conn is deliberately not Sync: libsasl2
// connections must not be used from two threads at once.
unsafe impl Send for Conn {}

impl Conn {
    /// Wraps a connection that `new` just created.
    ///
    /// `create` receives the callback list and the out-pointer, and returns the
    /// libsasl2 result code of `sasl_server_new`/`sasl_client_new`.
    pub(crate) fn new(
        call: &'static str,
        callbacks: Box<CallbackSet>,
        security: &SecurityProperties,
        create: impl FnOnce(*const sys::sasl_callback_t, *mut *mut sys::sasl_conn_t) -> i32,
    ) -> Result<Self> {
        crate::library::ensure()?;
        let mut raw: *mut sys::sasl_conn_t = ptr::null_mut();
        let rc = create(callbacks.as_ptr(), &mut raw);
        let Some(ptr) = NonNull::new(raw) else {
            // No connection to ask for detail; check() reports the code.
            check(ptr::null_mut(), call, rc)?;
            return Err(Error::Sasl { call, code: crate::Code::NOMEM, detail: "no connection returned".into() });
        };
        let conn = Conn { ptr, callbacks };
        check(conn.as_ptr(), call, rc)?;
        let props = security.to_sys();
        // SAFETY: conn is live; libsasl2 copies the properties.
        let rc = unsafe { sys::sasl_setprop(conn.as_ptr(), sys::SASL_SEC_PROPS as _, ptr::addr_of!(props).cast()) };
        check(conn.as_ptr(), "sasl_setprop(SASL_SEC_PROPS)", rc)?;
        Ok(conn)
    }

    pub(crate) fn as_ptr(&self) -> *mut sys::sasl_conn_t {
        self.ptr.as_ptr()
    }

    /// The config this connection serves through `SASL_CB_GETOPT`.
    pub(crate) fn config(&self) -> &crate::config::Config {
        self.callbacks.config()
    }

    /// The failure messages libsasl2 logged for this connection since the last
    /// call of this method (levels `SASL_LOG_ERR`/`SASL_LOG_FAIL`), oldest first.
    pub(crate) fn take_logged_failures(&self) -> Vec<String> {
        self.callbacks.take_failures()
    }

    /// A string property (`SASL_USERNAME`, `SASL_MECHNAME`, ...), copied out.
    pub(crate) fn prop_str(&self, prop: i32, what: &'static str) -> Result<Option<String>> {
        self.prop_utf8(prop, what).map(|s| s.map(str::to_owned))
    }

    /// A string property, borrowed from the connection: libsasl2 keeps it in
    /// the connection's parameters, which only a call through `&mut self` (a
    /// step) changes.
    pub(crate) fn prop_utf8(&self, prop: i32, what: &'static str) -> Result<Option<&str>> {
        let mut value: *const c_void = ptr::null();
        // SAFETY: conn is live; value is an out-pointer.
        let rc = unsafe { sys::sasl_getprop(self.as_ptr(), prop, &mut value) };
        check(self.as_ptr(), "sasl_getprop", rc)?;
        if value.is_null() {
            return Ok(None);
        }
        // SAFETY: string properties are NUL-terminated and owned by the
        // connection, which the returned borrow of self keeps alive.
        let s = unsafe { CStr::from_ptr(value.cast::<c_char>()) };
        // Not `ok_or`: building the error eagerly costs a call to its drop glue
        // on every success (callgrind).
        match utf8(s.to_bytes()) {
            Some(text) => Ok(Some(text)),
            None => Err(Error::NotUtf8 { what }),
        }
    }

    /// An unsigned property (`SASL_SSF`, `SASL_MAXOUTBUF`).
    pub(crate) fn prop_uint(&self, prop: i32) -> Result<u32> {
        let mut value: *const c_void = ptr::null();
        // SAFETY: conn is live; value is an out-pointer.
        let rc = unsafe { sys::sasl_getprop(self.as_ptr(), prop, &mut value) };
        check(self.as_ptr(), "sasl_getprop", rc)?;
        if value.is_null() {
            return Ok(0);
        }
        // SAFETY: for SASL_SSF and SASL_MAXOUTBUF libsasl2 points at an unsigned int
        // inside the connection.
        Ok(unsafe { *value.cast::<c_uint>() })
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut raw = self.ptr.as_ptr();
        // SAFETY: we own the connection and dispose it exactly once; the callback
        // box is still alive for any callback run during disposal.
        unsafe { sys::sasl_dispose(&mut raw) };
        // A callback that panicked during disposal: re-raise unless already
        // unwinding, in which case a second panic would abort the process.
        if let Some(payload) = crate::callbacks::take_pending_panic() {
            if !std::thread::panicking() {
                std::panic::resume_unwind(payload);
            }
        }
    }
}

/// A `&str` argument passed to one libsasl2 call, NUL-terminated, on the stack
/// when it is short (service names, host names, mechanism names), so building a
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
            return cstring(value, what).map(CArg::Heap);
        }
        if bytes.contains(&0) {
            return Err(Error::Nul { what });
        }
        let mut buf = [0; C_ARG_INLINE];
        buf[..bytes.len()].copy_from_slice(bytes);
        Ok(CArg::Inline(buf))
    }

    /// Valid while `self` is neither moved nor dropped.
    pub(crate) fn as_ptr(&self) -> *const c_char {
        match self {
            CArg::Inline(buf) => buf.as_ptr().cast(),
            CArg::Heap(c) => c.as_ptr(),
        }
    }
}

/// A `&str` as an owned C string, or [`Error::Nul`] naming the argument.
pub(crate) fn cstring(value: &str, what: &'static str) -> Result<CString> {
    CString::new(value).map_err(|_| Error::Nul { what })
}

/// Text from libsasl2 (user, realm and mechanism names) as `&str`, or `None`
/// when it is not UTF-8: libsasl2 checks no encoding.
///
/// Nearly all of it is short ASCII, which `is_ascii` confirms in a fraction of
/// what the general UTF-8 check costs on short strings (callgrind: about 80
/// instructions less per name, six names per CRAM-MD5 handshake).
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

/// Borrows an output buffer of libsasl2. A NULL pointer is an empty buffer.
///
/// # Safety
/// `ptr` must be NULL or point at `len` bytes that stay valid while the returned
/// slice lives; the callers tie it to `&mut self` of the connection, and libsasl2
/// keeps the buffer until the next call on that connection.
pub(crate) unsafe fn out_slice<'a>(ptr: *const c_char, len: c_uint) -> &'a [u8] {
    if ptr.is_null() || len == 0 {
        return &[];
    }
    // SAFETY: guaranteed by the caller.
    unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len as usize) }
}

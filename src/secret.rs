//! Secrets: zeroized on drop, redacted in `Debug`, and turned into libsasl2's
//! `sasl_secret_t` only at the FFI edge.

use std::alloc::{Layout, alloc_zeroed, dealloc};
use std::fmt;
use std::ptr::NonNull;

use sasl_sys as sys;
use zeroize::{Zeroize, Zeroizing};

/// A password or shared secret.
///
/// The bytes are wiped when the value is dropped, and `Debug` never shows them:
///
/// ```
/// use cyrus_sasl::Secret;
/// let s = Secret::from("hunter2");
/// assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
/// assert_eq!(s.expose(), b"hunter2");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(Zeroizing<Vec<u8>>);

impl Secret {
    /// Wraps bytes as a secret. The vector's buffer becomes the secret's, no copy is left behind.
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(Zeroizing::new(bytes))
    }

    /// The secret bytes. Keep what you do with them short-lived.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for an empty secret.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl From<Vec<u8>> for Secret {
    fn from(v: Vec<u8>) -> Self {
        Secret::new(v)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret::new(s.into_bytes())
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret::new(s.as_bytes().to_vec())
    }
}

impl From<&[u8]> for Secret {
    fn from(s: &[u8]) -> Self {
        Secret::new(s.to_vec())
    }
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

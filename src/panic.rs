//! The panic slot: a leaf of the crate's import graph (it imports nothing from
//! the crate), in the manner of git2-rs's `panic.rs`.
//!
//! Every `extern "C"` callback runs its body through [`guard`], which catches a
//! panic, parks it in a thread-local slot and hands C a failure code. A panic
//! therefore never unwinds into libsasl2. Once a panic is parked, later callbacks
//! of the same C call fail at once without running user code. When the C call
//! returns, the call funnel (`ffi::call`) re-raises the panic on the caller's
//! thread. libsasl2 has no threads of its own: a callback always runs on the
//! thread that made the C call, so a thread-local slot is enough.

use std::any::Any;
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

thread_local! {
    static PENDING_PANIC: Cell<Option<Box<dyn Any + Send>>> = const { Cell::new(None) };
    /// Whether `PENDING_PANIC` holds a payload. Every callback and every C call
    /// tests it; a `bool` has no destructor, so testing it never has to register
    /// one, where the first touch of the slot itself would.
    static PANIC_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// Runs a callback body, turning a panic into `on_panic` and parking the payload.
#[inline]
pub(crate) fn guard<R>(on_panic: R, body: impl FnOnce() -> R) -> R {
    if PANIC_PENDING.get() {
        return on_panic;
    }
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            PENDING_PANIC.set(Some(payload));
            PANIC_PENDING.set(true);
            on_panic
        }
    }
}

/// Takes the panic a callback parked on this thread, if any.
#[inline]
pub(crate) fn take() -> Option<Box<dyn Any + Send>> {
    if !PANIC_PENDING.get() {
        return None;
    }
    PANIC_PENDING.set(false);
    PENDING_PANIC.take()
}

/// Re-raises, on the caller's thread, a panic that a callback parked during the
/// last C call.
#[inline]
pub(crate) fn resume() {
    if let Some(payload) = take() {
        resume_unwind(payload);
    }
}

/// The text of a panic payload, for errors that must not unwind.
pub(crate) fn describe(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a non-string payload")
}

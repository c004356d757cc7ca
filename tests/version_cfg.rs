//! The `sasl2_2_1_XX` cfgs set by the root `build.rs` from the headers' version
//! agree with the libsasl2 that is actually loaded at run time.

use std::ffi::{CStr, c_char, c_int};
use std::ptr;

// sasl-sys refuses headers older than 2.1.26, so the lowest floor is always set;
// checked at compile time, so this test file does not build if it is missing.
const _: () = assert!(
    cfg!(sasl2_2_1_26),
    "cfg sasl2_2_1_26 is not set: the root build.rs did not see DEP_SASL2_VERSION_NUMBER >= 2011a"
);

/// The running library's (major, minor, step) and its version string.
fn runtime_version() -> ((u32, u32, u32), String) {
    let mut implementation: *const c_char = ptr::null();
    let mut version_string: *const c_char = ptr::null();
    let (mut major, mut minor, mut step, mut patch): (c_int, c_int, c_int, c_int) = (-1, -1, -1, -1);
    // SAFETY: sasl_version_info needs no prior init; it only writes through the six
    // out-pointers, which all point at live locals of the right types.
    unsafe {
        sasl_sys::sasl_version_info(
            &mut implementation,
            &mut version_string,
            &mut major,
            &mut minor,
            &mut step,
            &mut patch,
        );
    }
    assert!(!version_string.is_null(), "sasl_version_info gave no version string");
    // SAFETY: non-null, and libsasl2 points it at a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(version_string) }.to_string_lossy().into_owned();
    let part = |n: c_int| u32::try_from(n).unwrap_or_else(|_| panic!("bad version part {n} in {text}"));
    ((part(major), part(minor), part(step)), text)
}

#[test]
fn version_cfgs_agree_with_the_runtime_library() {
    let (runtime, text) = runtime_version();
    let cfgs = [
        ("sasl2_2_1_26", cfg!(sasl2_2_1_26), (2, 1, 26)),
        ("sasl2_2_1_27", cfg!(sasl2_2_1_27), (2, 1, 27)),
        ("sasl2_2_1_28", cfg!(sasl2_2_1_28), (2, 1, 28)),
    ];
    for (name, set, floor) in cfgs {
        assert_eq!(
            set,
            runtime >= floor,
            "cfg {name} is {set} (set by build.rs from headers {}), but the loaded \
             libsasl2 is {text} {runtime:?}: either build.rs's floors are wrong or the \
             headers and the runtime library differ",
            sasl_sys::HEADER_VERSION
        );
    }
}

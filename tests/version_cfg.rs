//! The `sasl2_2_1_XX` cfgs set by the root `build.rs` from the headers' version
//! agree with the libsasl2 that is actually loaded at run time.

// sasl-sys refuses headers older than 2.1.26, so the lowest floor is always set;
// checked at compile time, so this test file does not build if it is missing.
const _: () = assert!(
    cfg!(sasl2_2_1_26),
    "cfg sasl2_2_1_26 is not set: the root build.rs did not see DEP_SASL2_VERSION_NUMBER >= 2011a"
);

#[test]
fn version_cfgs_agree_with_the_runtime_library() {
    let runtime = cyrus_sasl::runtime_version();
    assert!(runtime >= (2, 1, 26), "loaded libsasl2 {runtime:?}");
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
             libsasl2 is {runtime:?}: either build.rs's floors are wrong or the \
             headers and the runtime library differ",
            sasl_sys::HEADER_VERSION
        );
    }
}

//! The downgrade detector (`libprocess::classify_first_bytes`): what the
//! accepting side of a TLS endpoint with `LIBPROCESS_SSL_SUPPORT_DOWNGRADE` decides
//! from the first bytes a peer sends.
//!
//! Invariants:
//! - no panic, on any input;
//! - a decision never changes as more bytes arrive (every prefix decides the
//!   same or not yet, and once decided every longer prefix agrees);
//! - at most 3 bytes are ever needed;
//! - TLS only for a handshake record header (0x16 0x03 v, v <= 4); anything
//!   that starts like an HTTP request (an ASCII letter) is plaintext.
#![no_main]

use libprocess::{FirstBytes, classify_first_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let full = classify_first_bytes(data);
    if data.len() >= 3 {
        assert!(full.is_some(), "undecided after 3 bytes: {data:?}");
    }
    let mut decided = None;
    for end in 0..=data.len() {
        let now = classify_first_bytes(&data[..end]);
        match (decided, now) {
            (Some(before), after) => assert_eq!(Some(before), after, "decision changed at {end}: {data:?}"),
            (None, Some(kind)) => decided = Some(kind),
            (None, None) => {}
        }
    }
    assert_eq!(decided, full);
    if full == Some(FirstBytes::Tls) {
        assert!(data[0] == 0x16 && data[1] == 0x03 && data[2] <= 0x04, "{data:?}");
    }
    if data.first().is_some_and(u8::is_ascii_alphabetic) {
        assert_eq!(full, Some(FirstBytes::Plaintext));
    }
});

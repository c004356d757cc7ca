//! What a peer's certificate says, read with x509-parser: the
//! `tls-server-end-point` channel binding (`tls_server_end_point`) and the
//! principal a client certificate names for SASL EXTERNAL
//! (`client_certificate_principal`).
//!
//! Invariants:
//! - no panic, on any input;
//! - a binding is a SHA-256, SHA-384 or SHA-512 hash (32, 48 or 64 bytes);
//! - a principal is non-empty and has no NUL byte;
//! - both read the certificate with one parser: when the binding exists, the
//!   common name lookup never calls the bytes malformed;
//! - an error's text stays short, whatever the size of the input (it never
//!   quotes the certificate).
#![no_main]

use libprocess::{CertificatePrincipalError, PrincipalSource, client_certificate_principal, tls_server_end_point};
use libfuzzer_sys::fuzz_target;
use rustls_pki_types::CertificateDer;

fuzz_target!(|data: &[u8]| {
    let cert = CertificateDer::from(data);
    let binding = tls_server_end_point(&cert);
    if let Some(hash) = &binding {
        assert!(matches!(hash.len(), 32 | 48 | 64), "a binding of {} bytes", hash.len());
    }
    for from in [PrincipalSource::CommonName, PrincipalSource::SubjectAltNameDns] {
        match client_certificate_principal(&cert, from) {
            Ok(name) => assert!(!name.is_empty() && !name.contains('\0'), "{from:?}: {name:?}"),
            Err(error) => {
                let text = error.to_string();
                assert!(text.len() < 256, "{from:?}: an error text of {} bytes: {text:?}", text.len());
                if binding.is_some() && from == PrincipalSource::CommonName {
                    assert!(!matches!(error, CertificatePrincipalError::Malformed { .. }), "{text}");
                }
            }
        }
    }
});

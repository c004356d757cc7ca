//! TLS channel-binding data (RFC 5056) from a rustls connection: what SASL
//! `*-PLUS` mechanisms mix into their proofs so that an exchange relayed into
//! another TLS session fails.

use rustls::ConnectionCommon;
use rustls::pki_types::CertificateDer;
use x509_parser::asn1_rs::{Oid, oid};

use super::peer_certificate::parse_certificate;

/// The channel-binding type name of [`tls_exporter`] (RFC 9266).
pub const TLS_EXPORTER: &str = "tls-exporter";

/// The channel-binding type name of [`tls_server_end_point`] (RFC 5929).
pub const TLS_SERVER_END_POINT: &str = "tls-server-end-point";

/// `tls-exporter` (RFC 9266): 32 bytes of keying material exported from the
/// session with label `EXPORTER-Channel-Binding` and an empty context. Both ends
/// of one TLS session compute the same bytes; a relay's two sessions differ.
/// RFC 9266 defines it for TLS 1.3, and for TLS 1.2 only with extended master
/// secret (RFC 7627). rustls does not insist on that by default (only with a
/// FIPS provider); an [`Endpoint`](crate::Endpoint)'s TLS configs require it on
/// both sides, so every session it has, and so every binding taken from one,
/// meets that. A caller with its own rustls config must set `require_ems`.
/// Fails before the handshake has finished.
pub fn tls_exporter<D>(conn: &ConnectionCommon<D>) -> Result<[u8; 32], rustls::Error> {
    conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", Some(&[]))
}

/// `tls-server-end-point` (RFC 5929): the hash of the server's leaf certificate
/// (DER), with the hash of the certificate's signature algorithm, SHA-256 in place
/// of MD5 and SHA-1. `None` when that algorithm names no single hash (Ed25519,
/// RSASSA-PSS, unknown ones: RFC 5929 leaves them undefined) or the bytes are
/// not exactly one DER X.509 certificate (x509-parser reads it). The client takes the leaf from `peer_certificates()`, the server
/// its own.
pub fn tls_server_end_point(leaf: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let algorithm = end_point_hash(&parse_certificate(leaf.as_ref(), false).ok()?.signature_algorithm.algorithm)?;
    Some(ring::digest::digest(algorithm, leaf.as_ref()).as_ref().to_vec())
}

/// The hash RFC 5929 §4.1 pairs with a certificate signature algorithm: the
/// algorithm's own hash, SHA-256 for MD5 and SHA-1; `None` for an algorithm
/// with no single hash (Ed25519, Ed448, RSASSA-PSS) or one not listed here.
fn end_point_hash(signature_algorithm: &Oid<'_>) -> Option<&'static ring::digest::Algorithm> {
    use x509_parser::oid_registry::{
        OID_PKCS1_MD5WITHRSAENC, OID_PKCS1_SHA1WITHRSA, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
        OID_PKCS1_SHA512WITHRSA, OID_SIG_DSA_WITH_SHA1, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384,
        OID_SIG_ECDSA_WITH_SHA512,
    };
    // Not in oid-registry: ecdsa-with-SHA1 (RFC 3279) and dsa-with-sha256 (RFC 5758).
    const ECDSA_WITH_SHA1: Oid<'static> = oid!(1.2.840.10045.4.1);
    const DSA_WITH_SHA256: Oid<'static> = oid!(2.16.840.1.101.3.4.3.2);
    let sha256 = [
        OID_PKCS1_MD5WITHRSAENC,
        OID_PKCS1_SHA1WITHRSA,
        OID_PKCS1_SHA256WITHRSA,
        ECDSA_WITH_SHA1,
        OID_SIG_ECDSA_WITH_SHA256,
        OID_SIG_DSA_WITH_SHA1,
        DSA_WITH_SHA256,
    ];
    if sha256.contains(signature_algorithm) {
        Some(&ring::digest::SHA256)
    } else if [OID_PKCS1_SHA384WITHRSA, OID_SIG_ECDSA_WITH_SHA384].contains(signature_algorithm) {
        Some(&ring::digest::SHA384)
    } else if [OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA512].contains(signature_algorithm) {
        Some(&ring::digest::SHA512)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_certificates_have_no_binding() {
        for bad in [&b""[..], b"\x30", b"\x30\x85\x01\x02\x03\x04\x05", b"\x30\x02\x30\x00", b"\x04\x00"] {
            assert_eq!(tls_server_end_point(&CertificateDer::from(bad.to_vec())), None, "{bad:?}");
        }
    }
}

//! TLS channel-binding data (RFC 5056) from a rustls connection: what SASL
//! `*-PLUS` mechanisms mix into their proofs so that an exchange relayed into
//! another TLS session fails.

use rustls::ConnectionCommon;
use rustls::pki_types::CertificateDer;

/// The channel-binding type name of [`tls_exporter`] (RFC 9266).
pub const TLS_EXPORTER: &str = "tls-exporter";

/// The channel-binding type name of [`tls_server_end_point`] (RFC 5929).
pub const TLS_SERVER_END_POINT: &str = "tls-server-end-point";

/// `tls-exporter` (RFC 9266): 32 bytes of keying material exported from the
/// session with label `EXPORTER-Channel-Binding` and an empty context. Both ends
/// of one TLS session compute the same bytes; a relay's two sessions differ.
/// RFC 9266 defines it for TLS 1.3 (for TLS 1.2 only with extended master secret,
/// which rustls always uses). Fails before the handshake has finished.
pub fn tls_exporter<D>(conn: &ConnectionCommon<D>) -> Result<[u8; 32], rustls::Error> {
    conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", Some(&[]))
}

/// `tls-server-end-point` (RFC 5929): the hash of the server's leaf certificate
/// (DER), with the hash of the certificate's signature algorithm, SHA-256 in place
/// of MD5 and SHA-1. `None` when that algorithm names no single hash (Ed25519,
/// RSASSA-PSS, unknown ones: RFC 5929 leaves them undefined) or the certificate
/// is not DER. The client takes the leaf from `peer_certificates()`, the server
/// its own.
pub fn tls_server_end_point(leaf: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let algorithm =
        match signature_algorithm(leaf.as_ref())? {
            // md5/sha1/sha256 WithRSAEncryption, ecdsa-with-SHA1/SHA256, dsa-with-SHA1/SHA256.
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04 | 0x05 | 0x0b]
            | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]
            | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]
            | [0x2a, 0x86, 0x48, 0xce, 0x38, 0x04, 0x03]
            | [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, 0x02] => &ring::digest::SHA256,
            // sha384WithRSAEncryption, ecdsa-with-SHA384.
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c]
            | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03] => &ring::digest::SHA384,
            // sha512WithRSAEncryption, ecdsa-with-SHA512.
            [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d]
            | [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04] => &ring::digest::SHA512,
            _ => return None,
        };
    Some(ring::digest::digest(algorithm, leaf.as_ref()).as_ref().to_vec())
}

/// One DER element at the start of `input`: (tag, contents, the rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |len, &b| (len << 8) | usize::from(b));
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The OID (contents bytes) of a certificate's outer `signatureAlgorithm`.
fn signature_algorithm(cert: &[u8]) -> Option<&[u8]> {
    const SEQUENCE: u8 = 0x30;
    const OID: u8 = 0x06;
    let (SEQUENCE, certificate, _) = der_element(cert)? else { return None };
    let (SEQUENCE, _tbs, rest) = der_element(certificate)? else { return None };
    let (SEQUENCE, algorithm, _) = der_element(rest)? else { return None };
    let (OID, oid, _) = der_element(algorithm)? else { return None };
    Some(oid)
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

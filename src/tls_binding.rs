//! Channel-binding data from a rustls connection (feature `rustls`): what a
//! TLS user hands to [`ChannelBinding`] so that `SCRAM-*-PLUS` ties the SASL
//! exchange to that one TLS session.

use rustls::ConnectionCommon;
use rustls::pki_types::CertificateDer;

use crate::channel_binding::ChannelBinding;

impl ChannelBinding {
    /// The binding type of [`ChannelBinding::tls_exporter`] (RFC 9266).
    pub const TLS_EXPORTER: &'static str = "tls-exporter";
    /// The binding type of [`ChannelBinding::tls_server_end_point`] (RFC 5929).
    pub const TLS_SERVER_END_POINT: &'static str = "tls-server-end-point";

    /// `tls-exporter` (RFC 9266) for a rustls client or server connection
    /// (feature `rustls`): 32 bytes exported from the session with the label
    /// `EXPORTER-Channel-Binding` and an empty context. Both ends of one TLS
    /// session get the same bytes; the two sessions of a relay do not. Made
    /// for TLS 1.3. Over TLS 1.2, RFC 9266 allows it only with the extended
    /// master secret (RFC 7627), which rustls 0.23 insists on by default only
    /// with a FIPS provider and which a connection does not report: set
    /// `require_ems = true` on your `ClientConfig` and `ServerConfig` (or
    /// allow only TLS 1.3) before using this binding. Fails while the TLS
    /// handshake is still running.
    ///
    /// `critical`: see [`ChannelBinding::new`].
    pub fn tls_exporter<D>(conn: &ConnectionCommon<D>, critical: bool) -> Result<Self, rustls::Error> {
        let data = conn.export_keying_material([0u8; 32], b"EXPORTER-Channel-Binding", Some(&[]))?;
        Ok(ChannelBinding::new(Self::TLS_EXPORTER, data, critical))
    }

    /// `tls-server-end-point` (RFC 5929) (feature `rustls`): the hash of the
    /// server's leaf certificate, DER, with the hash its signature algorithm
    /// uses, SHA-256 where that is MD5 or SHA-1. The server passes its own
    /// certificate, the client `peer_certificates()[0]`. For peers that lack
    /// `tls-exporter` (TLS 1.2 stacks, older SCRAM libraries).
    ///
    /// `None` when the bytes are not one X.509 certificate, or its signature
    /// algorithm names no single hash (Ed25519, RSASSA-PSS, or one this crate
    /// does not know): RFC 5929 defines no binding for those.
    pub fn tls_server_end_point(leaf: &CertificateDer<'_>, critical: bool) -> Option<Self> {
        let (rest, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
        if !rest.is_empty() {
            return None;
        }
        let hash = end_point_hash(&cert.signature_algorithm.algorithm.to_id_string())?;
        let digest = ring::digest::digest(hash, leaf.as_ref());
        Some(ChannelBinding::new(Self::TLS_SERVER_END_POINT, digest.as_ref(), critical))
    }
}

/// RFC 5929 section 4.1: the certificate signature's own hash, except that
/// MD5 and SHA-1 become SHA-256. Keyed by the algorithm's dotted OID.
fn end_point_hash(signature_oid: &str) -> Option<&'static ring::digest::Algorithm> {
    match signature_oid {
        // md5WithRSA, sha1WithRSA, sha256WithRSA, ecdsa-with-SHA1,
        // ecdsa-with-SHA256, dsa-with-sha1, dsa-with-sha256.
        "1.2.840.113549.1.1.4"
        | "1.2.840.113549.1.1.5"
        | "1.2.840.113549.1.1.11"
        | "1.2.840.10045.4.1"
        | "1.2.840.10045.4.3.2"
        | "1.2.840.10040.4.3"
        | "2.16.840.1.101.3.4.3.2" => Some(&ring::digest::SHA256),
        // sha384WithRSA, ecdsa-with-SHA384.
        "1.2.840.113549.1.1.12" | "1.2.840.10045.4.3.3" => Some(&ring::digest::SHA384),
        // sha512WithRSA, ecdsa-with-SHA512.
        "1.2.840.113549.1.1.13" | "1.2.840.10045.4.3.4" => Some(&ring::digest::SHA512),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_and_sha1_signatures_hash_with_sha256_and_eddsa_has_no_binding() {
        assert!(std::ptr::eq(end_point_hash("1.2.840.113549.1.1.5").unwrap(), &ring::digest::SHA256));
        assert!(std::ptr::eq(end_point_hash("1.2.840.10045.4.3.3").unwrap(), &ring::digest::SHA384));
        assert!(end_point_hash("1.3.101.112").is_none(), "Ed25519");
    }

    #[test]
    fn bytes_that_are_not_one_certificate_have_no_binding() {
        assert!(
            ChannelBinding::tls_server_end_point(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3]), false).is_none()
        );
        assert!(ChannelBinding::tls_server_end_point(&CertificateDer::from(Vec::new()), false).is_none());
    }
}

//! What a peer's TLS certificate says about who it is: the principal a
//! verified client certificate names, for SASL EXTERNAL (cyrus-sasl's
//! `Server::set_external`). The certificate is
//! read with x509-parser; nothing here is a hand-written DER reader.

use std::fmt;

use rustls::pki_types::CertificateDer;
use x509_parser::certificate::{X509Certificate, X509CertificateParser};
use x509_parser::extensions::GeneralName;

/// Where [`client_certificate_principal`] reads the principal from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PrincipalSource {
    /// The subject's commonName (CN, OID 2.5.4.3). The subject must have
    /// exactly one, in any of its relative distinguished names.
    CommonName,
    /// The dNSName entry of the subjectAltName extension (OID 2.5.29.17). The
    /// extension must have exactly one; other kinds of entry (IP addresses,
    /// e-mail addresses, URIs) are ignored.
    SubjectAltNameDns,
}

impl fmt::Display for PrincipalSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrincipalSource::CommonName => "subject common name (CN)",
            PrincipalSource::SubjectAltNameDns => "subjectAltName DNS name",
        })
    }
}

/// Why [`client_certificate_principal`] found no principal. The texts name
/// the rule that failed; they never quote the certificate or the names in it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificatePrincipalError {
    /// The bytes are not exactly one DER X.509 certificate.
    #[error("the client certificate is not one DER X.509 certificate: {reason}")]
    Malformed {
        /// What is wrong, e.g. `truncated` or x509-parser's `invalid X.509 name`.
        reason: String,
    },
    /// The subject has no commonName.
    #[error("the client certificate's subject has no common name (CN)")]
    NoCommonName,
    /// The subject has several commonNames: which one is the principal is
    /// not for this function to guess.
    #[error("the client certificate's subject has {count} common names (CN); exactly one is required")]
    SeveralCommonNames {
        /// How many.
        count: usize,
    },
    /// The certificate has no subjectAltName extension, or none of its
    /// entries is a DNS name.
    #[error("the client certificate has no subjectAltName DNS name")]
    NoDnsName,
    /// The subjectAltName extension has several DNS names.
    #[error("the client certificate has {count} subjectAltName DNS names; exactly one is required")]
    SeveralDnsNames {
        /// How many.
        count: usize,
    },
    /// The subjectAltName extension cannot be read, or appears twice.
    #[error("the client certificate's subjectAltName extension is invalid: {reason}")]
    InvalidSubjectAltName {
        /// x509-parser's short text, e.g. `duplicate extensions`.
        reason: String,
    },
    /// The name is not UTF-8 text (for a CN: a BMPString, TeletexString or
    /// UniversalString, or bytes that do not decode).
    #[error("the client certificate's {from} is not UTF-8 text")]
    NotUtf8 {
        /// Which name.
        from: PrincipalSource,
    },
    /// The name is empty.
    #[error("the client certificate's {from} is empty")]
    Empty {
        /// Which name.
        from: PrincipalSource,
    },
    /// The name contains a NUL byte, which no SASL identity can carry.
    #[error("the client certificate's {from} contains a NUL byte")]
    Nul {
        /// Which name.
        from: PrincipalSource,
    },
}

/// The principal a client certificate names, read from `from`: the identity
/// to hand to SASL EXTERNAL (`Server::set_external(ssf, Some(&principal))`).
///
/// It parses; it does not verify. Call it only on the leaf certificate of a
/// chain the TLS layer verified (with rustls, `peer_certificates()[0]` once a
/// client-certificate verifier accepted the handshake): whoever can present
/// an unverified certificate can name any principal.
///
/// Exactly one name must be found, UTF-8, non-empty and free of NUL bytes;
/// anything else is a [`CertificatePrincipalError`] saying which rule failed.
/// The name is returned as written (no case folding, no trimming).
///
/// ```
/// use libprocess::{CertificatePrincipalError, PrincipalSource, client_certificate_principal};
/// use rustls::pki_types::CertificateDer;
/// let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
/// let error = client_certificate_principal(&garbage, PrincipalSource::CommonName).unwrap_err();
/// assert!(matches!(error, CertificatePrincipalError::Malformed { .. }));
/// ```
pub fn client_certificate_principal(
    cert: &CertificateDer<'_>,
    from: PrincipalSource,
) -> Result<String, CertificatePrincipalError> {
    let malformed = |e: MalformedCertificate| CertificatePrincipalError::Malformed { reason: e.to_string() };
    match from {
        PrincipalSource::CommonName => {
            let certificate = parse_certificate(cert.as_ref(), false).map_err(malformed)?;
            common_name(&certificate)
        }
        PrincipalSource::SubjectAltNameDns => {
            let certificate = parse_certificate(cert.as_ref(), true).map_err(malformed)?;
            dns_name(&certificate)
        }
    }
}

fn common_name(certificate: &X509Certificate<'_>) -> Result<String, CertificatePrincipalError> {
    let from = PrincipalSource::CommonName;
    let names: Vec<_> = certificate.subject().iter_common_name().collect();
    let name = match names[..] {
        [] => return Err(CertificatePrincipalError::NoCommonName),
        [name] => name,
        _ => return Err(CertificatePrincipalError::SeveralCommonNames { count: names.len() }),
    };
    // UTF8String, PrintableString, IA5String or NumericString, decoded as UTF-8.
    let text = name.as_str().map_err(|_| CertificatePrincipalError::NotUtf8 { from })?;
    checked(text, from)
}

fn dns_name(certificate: &X509Certificate<'_>) -> Result<String, CertificatePrincipalError> {
    let from = PrincipalSource::SubjectAltNameDns;
    let extension = certificate
        .subject_alternative_name()
        .map_err(|e| CertificatePrincipalError::InvalidSubjectAltName { reason: e.to_string() })?
        .ok_or(CertificatePrincipalError::NoDnsName)?;
    // x509-parser keeps a dNSName ([2]) that is not UTF-8 as `Invalid`.
    let names: Vec<Option<&str>> = extension
        .value
        .general_names
        .iter()
        .filter_map(|name| match name {
            GeneralName::DNSName(text) => Some(Some(*text)),
            GeneralName::Invalid(tag, _) if tag.0 == 2 => Some(None),
            _ => None,
        })
        .collect();
    match names[..] {
        [] => Err(CertificatePrincipalError::NoDnsName),
        [Some(name)] => checked(name, from),
        [None] => Err(CertificatePrincipalError::NotUtf8 { from }),
        _ => Err(CertificatePrincipalError::SeveralDnsNames { count: names.len() }),
    }
}

fn checked(name: &str, from: PrincipalSource) -> Result<String, CertificatePrincipalError> {
    if name.is_empty() {
        return Err(CertificatePrincipalError::Empty { from });
    }
    if name.contains('\0') {
        return Err(CertificatePrincipalError::Nul { from });
    }
    Ok(name.to_owned())
}

/// One DER X.509 certificate that fills `der` exactly (x509-parser).
/// `extensions` chooses whether the extensions' contents are parsed too, or
/// only their envelope: what a caller does not read, it need not reject.
pub(crate) fn parse_certificate(der: &[u8], extensions: bool) -> Result<X509Certificate<'_>, MalformedCertificate> {
    use x509_parser::nom::Parser as _;
    let mut parser = X509CertificateParser::new().with_deep_parse_extensions(extensions);
    match parser.parse(der) {
        Ok(([], certificate)) => Ok(certificate),
        Ok((rest, _)) => Err(MalformedCertificate::TrailingBytes(rest.len())),
        Err(x509_parser::nom::Err::Incomplete(_)) => Err(MalformedCertificate::Truncated),
        Err(x509_parser::nom::Err::Error(e) | x509_parser::nom::Err::Failure(e)) => {
            Err(MalformedCertificate::Invalid(e.to_string()))
        }
    }
}

/// Why bytes are not one DER X.509 certificate. Its text never quotes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum MalformedCertificate {
    /// The bytes end inside the certificate.
    Truncated,
    /// A certificate, followed by this many bytes.
    TrailingBytes(usize),
    /// What x509-parser found wrong (its own short text, e.g. "invalid X.509 name").
    Invalid(String),
}

impl std::fmt::Display for MalformedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MalformedCertificate::Truncated => f.write_str("truncated"),
            MalformedCertificate::TrailingBytes(n) => write!(f, "{n} bytes follow the certificate"),
            MalformedCertificate::Invalid(reason) => f.write_str(reason),
        }
    }
}

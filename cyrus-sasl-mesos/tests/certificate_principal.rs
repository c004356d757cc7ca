//! The principal a client certificate names, and EXTERNAL from there.

/// The principal a client certificate names (`client_certificate_principal`),
/// on certificates `openssl req` makes, and from there an EXTERNAL exchange.
mod certificate_principal {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use cyrus_sasl::{Client, Server};
    use libprocess::{CertificatePrincipalError as E, PrincipalSource, client_certificate_principal};
    use rustls::pki_types::CertificateDer;

    use cyrus_sasl::{Config, Credentials, Identity};
    use cyrus_sasl_test_support::{Outcome, external_exchange as exchange};

    fn external_config() -> Config {
        Config::new().with("mech_list", "EXTERNAL").unwrap()
    }

    fn credentials(authzid: Option<&str>) -> Credentials {
        Credentials { authzid: authzid.map(str::to_owned), ..Credentials::default() }
    }

    fn identity(authid: &str, authzid: Option<&str>) -> Outcome {
        Outcome::Authenticated(Identity {
            authid: authid.to_owned(),
            authzid: authzid.map(str::to_owned),
            mechanism: "EXTERNAL".to_owned(),
            ssf: 0,
        })
    }

    const CN: PrincipalSource = PrincipalSource::CommonName;
    const DNS: PrincipalSource = PrincipalSource::SubjectAltNameDns;

    /// A self-signed certificate (DER) with subject `subject` and, if given,
    /// the subjectAltName `san`; `string_mask` is openssl's, for the subject's
    /// string type. The key stays in a temporary directory.
    fn certificate_with_mask(subject: &str, san: Option<&str>, string_mask: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("req.cnf");
        std::fs::write(&config, format!("[req]\ndistinguished_name=dn\nstring_mask={string_mask}\n[dn]\n")).unwrap();
        let out = dir.path().join("cert.der");
        let mut req = Command::new("openssl");
        req.arg("req").arg("-config").arg(&config);
        req.args(["-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]);
        req.args(["-utf8", "-subj", subject, "-outform", "DER"]);
        req.arg("-keyout").arg(dir.path().join("key.pem")).arg("-out").arg(&out);
        if let Some(san) = san {
            req.args(["-addext", &format!("subjectAltName={san}")]);
        }
        let status = req.stdout(Stdio::null()).stderr(Stdio::null()).status().expect("openssl runs");
        assert!(status.success(), "openssl req {subject} {san:?}");
        read(&out)
    }

    fn certificate(subject: &str, san: Option<&str>) -> Vec<u8> {
        certificate_with_mask(subject, san, "utf8only")
    }

    fn read(path: &Path) -> Vec<u8> {
        std::fs::read(path).unwrap()
    }

    fn principal(der: &[u8], from: PrincipalSource) -> Result<String, E> {
        client_certificate_principal(&CertificateDer::from(der.to_vec()), from)
    }

    /// `der` with the last `from` replaced by `to` (same length): a name the
    /// tools will not write. The last, because a self-signed certificate's
    /// issuer, which comes first, repeats the subject. The signature no longer
    /// matches, which `client_certificate_principal` never checks.
    fn patched(der: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
        assert_eq!(from.len(), to.len());
        let at = der.windows(from.len()).rposition(|w| w == from).expect("the bytes to patch");
        let mut out = der.to_vec();
        out[at..at + to.len()].copy_from_slice(to);
        out
    }

    #[test]
    fn the_common_name_is_the_principal() {
        let der = certificate("/O=Acme/CN=fw1", Some("DNS:fw1.example"));
        assert_eq!(principal(&der, CN).unwrap(), "fw1");
        assert_eq!(principal(&der, DNS).unwrap(), "fw1.example");
        // Written as it is: no case folding.
        assert_eq!(principal(&certificate("/CN=Fw1 \u{e9}", None), CN).unwrap(), "Fw1 \u{e9}");
    }

    #[test]
    fn a_subject_without_a_common_name_has_no_principal() {
        let der = certificate("/O=Acme/OU=frameworks", Some("DNS:fw1.example"));
        assert_eq!(principal(&der, CN), Err(E::NoCommonName));
    }

    #[test]
    fn two_common_names_are_refused_in_separate_or_one_rdn() {
        assert_eq!(principal(&certificate("/CN=fw1/CN=admin", None), CN), Err(E::SeveralCommonNames { count: 2 }));
        // A multi-valued RDN (CN=fw1+CN=admin) counts the same.
        let der = certificate("/O=Acme/CN=fw1+CN=admin", None);
        assert_eq!(principal(&der, CN), Err(E::SeveralCommonNames { count: 2 }));
    }

    #[test]
    fn a_common_name_that_is_not_utf8_text_is_refused() {
        // A BMPString (UTF-16) CN: x509-parser does not decode it, and neither do we.
        let bmp = certificate_with_mask("/CN=fw1", None, "MASK:0x800");
        assert_eq!(principal(&bmp, CN), Err(E::NotUtf8 { from: CN }));
        // A UTF8String whose bytes are not UTF-8.
        let bad = patched(&certificate("/CN=fw1x", None), b"fw1x", b"fw1\xff");
        assert_eq!(principal(&bad, CN), Err(E::NotUtf8 { from: CN }));
    }

    #[test]
    fn a_nul_in_the_name_is_refused() {
        let der = patched(&certificate("/CN=fw1x", Some("DNS:other.example")), b"fw1x", b"fw1\0");
        assert_eq!(principal(&der, CN), Err(E::Nul { from: CN }));
        let der = patched(&certificate("/CN=fw1", Some("DNS:fw1x.example")), b"fw1x.example", b"fw1\0.example");
        assert_eq!(principal(&der, DNS), Err(E::Nul { from: DNS }));
    }

    #[test]
    fn exactly_one_dns_subject_alt_name_is_required() {
        assert_eq!(principal(&certificate("/CN=fw1", None), DNS), Err(E::NoDnsName));
        assert_eq!(principal(&certificate("/CN=fw1", Some("IP:127.0.0.1,email:a@b.example")), DNS), Err(E::NoDnsName));
        assert_eq!(
            principal(&certificate("/CN=fw1", Some("DNS:a.example,IP:127.0.0.1,DNS:b.example")), DNS),
            Err(E::SeveralDnsNames { count: 2 })
        );
        let der = certificate("/CN=fw1", Some("IP:127.0.0.1,DNS:fw1.example"));
        assert_eq!(principal(&der, DNS).unwrap(), "fw1.example");
        let bad = patched(&certificate("/CN=fw1", Some("DNS:fw1x.example")), b"fw1x", b"fw1\xff");
        assert_eq!(principal(&bad, DNS), Err(E::NotUtf8 { from: DNS }));
    }

    #[test]
    fn bytes_that_are_not_one_certificate_are_malformed() {
        let der = certificate("/CN=fw1", Some("DNS:fw1.example"));
        let mut trailing = der.clone();
        trailing.push(0);
        let cases: [(&str, Vec<u8>); 6] = [
            ("empty", vec![]),
            ("garbage", b"not a certificate at all".to_vec()),
            ("an empty SEQUENCE", vec![0x30, 0x00]),
            ("truncated", der[..der.len() / 2].to_vec()),
            ("trailing", trailing),
            ("PEM text", b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".to_vec()),
        ];
        for (what, bytes) in cases {
            for from in [CN, DNS] {
                match principal(&bytes, from) {
                    Err(error @ E::Malformed { .. }) => {
                        let text = error.to_string();
                        assert!(text.starts_with("the client certificate is not one DER X.509 certificate"), "{text}");
                        assert!(text.len() < 200, "{what}: the text quotes no certificate: {text}");
                    }
                    other => panic!("{what} {from:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn error_texts_name_the_rule_not_the_names() {
        let error = principal(&certificate("/CN=secret-one/CN=secret-two", None), CN).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the client certificate's subject has 2 common names (CN); exactly one is required"
        );
        let error = E::Nul { from: DNS };
        assert_eq!(error.to_string(), "the client certificate's subjectAltName DNS name contains a NUL byte");
    }

    /// The whole path: the CN of a certificate is the identity EXTERNAL
    /// authenticates on the server.
    #[test]
    fn a_certificates_common_name_authenticates_over_external() {
        let der = certificate("/O=Acme/CN=fw1", None);
        let fw = principal(&der, CN).unwrap();
        let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
        server.set_external(128, Some(&fw)).unwrap();
        let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
        client.set_external(128, Some(&fw)).unwrap();
        assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
        assert_eq!(exchange_outcome_with_authzid("fw1", &fw), identity("fw1", None));
        assert_eq!(exchange_outcome_with_authzid("admin", &fw), Outcome::Rejected);
    }

    fn exchange_outcome_with_authzid(authzid: &str, fw: &str) -> Outcome {
        let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
        server.set_external(128, Some(fw)).unwrap();
        let mut client = Client::new("test", "localhost", credentials(Some(authzid)), &external_config()).unwrap();
        client.set_external(128, Some(fw)).unwrap();
        exchange(&mut client, &mut server).unwrap()
    }
}

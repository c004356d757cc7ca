//! SASL EXTERNAL with real libsasl2, in process: what a layer below SASL (TLS
//! with a client certificate) established is handed to both sides with
//! `set_external` (`SASL_SSF_EXTERNAL`, `SASL_AUTH_EXTERNAL`), and libsasl2's
//! EXTERNAL plugin turns it into the authenticated identity. Also the facts
//! `Server::set_external` documents: when EXTERNAL is offered, how an authzid
//! is judged, and how an external SSF lifts `noplaintext`.

use cyrus_sasl::{Client, Config, Credentials, Error, Identity, Server, ServerStep};

/// The outcome of one exchange, as the server saw it.
#[derive(Debug, PartialEq)]
enum Outcome {
    Authenticated(Identity),
    Rejected,
}

fn external_config() -> Config {
    Config::new().with("mech_list", "EXTERNAL").unwrap()
}

fn credentials(authzid: Option<&str>) -> Credentials {
    Credentials { authzid: authzid.map(str::to_owned), ..Credentials::default() }
}

/// Runs a whole EXTERNAL exchange between `client` and `server`.
fn exchange(client: &mut Client, server: &mut Server) -> Result<Outcome, Error> {
    let start = client.start("EXTERNAL")?;
    assert_eq!(start.mechanism, "EXTERNAL");
    let first = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start("EXTERNAL", first.as_deref())?;
    loop {
        let challenge = match step {
            ServerStep::Authenticated { identity, .. } => return Ok(Outcome::Authenticated(identity)),
            ServerStep::Rejected => return Ok(Outcome::Rejected),
            ServerStep::Continue(challenge) => challenge.to_vec(),
        };
        let response = match client.step(&challenge)? {
            cyrus_sasl::ClientStep::Continue(r) => r.to_vec(),
            cyrus_sasl::ClientStep::Complete(r) => r.map(<[u8]>::to_vec).unwrap_or_default(),
        };
        step = server.step(&response)?;
    }
}

/// A server and a client that both know the layer authenticated `auth_id`
/// with strength `ssf`; the client asks to act as `authzid`.
fn pair(ssf: u32, auth_id: &str, authzid: Option<&str>) -> (Client, Server) {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(ssf, Some(auth_id)).unwrap();
    let mut client = Client::new("test", "localhost", credentials(authzid), &external_config()).unwrap();
    client.set_external(ssf, Some(auth_id)).unwrap();
    (client, server)
}

fn identity(authid: &str, authzid: Option<&str>) -> Outcome {
    Outcome::Authenticated(Identity {
        authid: authid.to_owned(),
        authzid: authzid.map(str::to_owned),
        mechanism: "EXTERNAL".to_owned(),
        ssf: 0,
    })
}

#[test]
fn the_server_authenticates_the_identity_the_layer_vouched_for() {
    let (mut client, mut server) = pair(128, "fw1", None);
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    // EXTERNAL adds no layer of its own: the SSF it reports is 0.
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

/// The client's `auth_id` is not sent: the server's is the identity, whatever
/// the client believes about itself.
#[test]
fn the_identity_is_the_servers_auth_id_not_the_clients() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(128, Some("fw1")).unwrap();
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(128, Some("someone-else")).unwrap();
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

#[test]
fn an_authzid_equal_to_the_auth_id_is_accepted() {
    let (mut client, mut server) = pair(128, "fw1", Some("fw1"));
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

#[test]
fn a_different_authzid_is_rejected_without_a_proxy_policy() {
    let (mut client, mut server) = pair(128, "fw1", Some("admin"));
    assert_eq!(exchange(&mut client, &mut server).unwrap(), Outcome::Rejected);
}

#[test]
fn a_proxy_policy_decides_a_different_authzid() {
    for (allowed, expected) in [(true, identity("fw1", Some("admin"))), (false, Outcome::Rejected)] {
        let mut server = Server::with_proxy_policy("test", "localhost", None, &external_config(), move |r| {
            assert_eq!((r.authid, r.authzid), ("fw1", "admin"));
            allowed
        })
        .unwrap();
        server.set_external(128, Some("fw1")).unwrap();
        let mut client = Client::new("test", "localhost", credentials(Some("admin")), &external_config()).unwrap();
        client.set_external(128, Some("fw1")).unwrap();
        assert_eq!(exchange(&mut client, &mut server).unwrap(), expected, "policy allows: {allowed}");
    }
}

/// Without `SASL_AUTH_EXTERNAL` there is nothing to authenticate: the server
/// neither lists EXTERNAL nor starts it, whatever the SSF, and an empty
/// `auth_id` counts as none.
#[test]
fn a_server_without_an_external_identity_neither_offers_nor_accepts_external() {
    for (ssf, auth_id) in [(None, None), (Some(256), None), (Some(256), Some(""))] {
        let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
        if let Some(ssf) = ssf {
            server.set_external(ssf, auth_id).unwrap();
        }
        assert!(server.mechanisms().unwrap().is_empty(), "{ssf:?} {auth_id:?}: {:?}", server.mechanisms());
        match server.start("EXTERNAL", Some(b"")) {
            Err(Error::MechanismNotOffered { mechanism, .. }) => assert_eq!(mechanism, "EXTERNAL"),
            other => panic!("{ssf:?} {auth_id:?}: {other:?}"),
        }
    }
}

/// Setting the identity and then clearing it (`None`) takes EXTERNAL away again.
#[test]
fn clearing_the_external_identity_withdraws_external() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(128, Some("fw1")).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    server.set_external(128, None).unwrap();
    assert!(server.mechanisms().unwrap().is_empty());
}

#[test]
fn a_client_without_an_external_identity_does_not_choose_external() {
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(128, None).unwrap();
    match client.start("EXTERNAL") {
        Err(Error::NoMechanism { offered, .. }) => assert_eq!(offered, ["EXTERNAL"]),
        other => panic!("{other:?}"),
    }
}

/// The fact behind the defaults: EXTERNAL's plugin declares `noplaintext
/// noanonymous nodictionary`, so the default flags (`noanonymous
/// noplaintext`) keep it, and an external SSF of 0 is enough while `min_ssf`
/// is 0. With no `mech_list` at all it is offered too, next to the others.
#[test]
fn default_flags_and_a_zero_external_ssf_still_offer_external() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    server.set_external(0, Some("fw1")).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(0, Some("fw1")).unwrap();
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));

    let mut unrestricted = Server::new("test", "localhost", None, &Config::new()).unwrap();
    assert!(!unrestricted.mechanisms().unwrap().iter().any(|m| m == "EXTERNAL"));
    unrestricted.set_external(0, Some("fw1")).unwrap();
    assert!(unrestricted.mechanisms().unwrap().iter().any(|m| m == "EXTERNAL"), "{:?}", unrestricted.mechanisms());
}

/// EXTERNAL has no layer of its own, so `min_ssf` must be met by the external
/// SSF alone: 56 is not offered EXTERNAL over a layer of 40, but is over 56.
#[test]
fn min_ssf_must_be_met_by_the_external_ssf() {
    let config = external_config().with("min_ssf", "56").unwrap();
    let mut weak = Server::new("test", "localhost", None, &config).unwrap();
    weak.set_external(40, Some("fw1")).unwrap();
    assert!(weak.mechanisms().unwrap().is_empty(), "{:?}", weak.mechanisms());
    let mut client = Client::new("test", "localhost", credentials(None), &config).unwrap();
    client.set_external(40, Some("fw1")).unwrap();
    assert!(client.start("EXTERNAL").is_err(), "the client refuses it too");

    let (mut client, mut server) = (
        Client::new("test", "localhost", credentials(None), &config).unwrap(),
        Server::new("test", "localhost", None, &config).unwrap(),
    );
    server.set_external(56, Some("fw1")).unwrap();
    client.set_external(56, Some("fw1")).unwrap();
    assert_eq!(server.mechanisms().unwrap(), ["EXTERNAL"]);
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1", None));
}

/// EXTERNAL's plugin refuses the identity `anonymous` under `noanonymous`
/// (the default): a certificate named so is no authentication.
#[test]
fn the_identity_anonymous_is_refused_under_the_default_flags() {
    let (mut client, mut server) = pair(128, "anonymous", None);
    assert_eq!(exchange(&mut client, &mut server).unwrap(), Outcome::Rejected);
}

/// libsasl2 lifts `noplaintext` over an external layer of SSF 2 or more that
/// reaches `min_ssf`: PLAIN is then offered under the default flags. An SSF
/// of 1 (integrity only) does not lift it. No identity is needed for this.
#[test]
fn an_external_ssf_of_two_or_more_lifts_noplaintext() {
    let config = Config::new().with("mech_list", "PLAIN").unwrap();
    for (ssf, offered) in [(0, false), (1, false), (2, true), (256, true)] {
        let mut server = Server::new("test", "localhost", None, &config).unwrap();
        server.set_external(ssf, None).unwrap();
        let listed = server.mechanisms().unwrap();
        assert_eq!(listed.iter().any(|m| m == "PLAIN"), offered, "external SSF {ssf}: {listed:?}");
        // The client applies the same rule when it chooses.
        let mut client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
        client.set_external(ssf, None).unwrap();
        match client.start("PLAIN") {
            Ok(start) => assert!(offered && start.mechanism == "PLAIN", "external SSF {ssf}: {start:?}"),
            Err(Error::NoMechanism { .. }) => assert!(!offered, "external SSF {ssf}"),
            Err(e) => panic!("external SSF {ssf}: {e}"),
        }
    }
}

#[test]
fn a_nul_in_the_external_identity_is_refused() {
    let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
    match server.set_external(128, Some("fw1\0admin")) {
        Err(Error::Nul { what }) => assert_eq!(what, "external authentication id"),
        other => panic!("{other:?}"),
    }
    assert!(server.mechanisms().unwrap().is_empty(), "nothing was set");
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    assert!(matches!(client.set_external(128, Some("\0")), Err(Error::Nul { .. })));
}

#[test]
fn set_external_after_start_is_a_state_error() {
    let (mut client, mut server) = pair(128, "fw1", None);
    exchange(&mut client, &mut server).unwrap();
    assert!(matches!(server.set_external(128, Some("x")), Err(Error::State { .. })));
    assert!(matches!(client.set_external(128, Some("x")), Err(Error::State { .. })));
}

/// A user realm is appended to the external identity like to any user name.
#[test]
fn the_servers_user_realm_is_appended_to_the_external_identity() {
    let mut server = Server::new("test", "localhost", Some("EXAMPLE.TEST"), &external_config()).unwrap();
    server.set_external(128, Some("fw1")).unwrap();
    let mut client = Client::new("test", "localhost", credentials(None), &external_config()).unwrap();
    client.set_external(128, Some("fw1")).unwrap();
    assert_eq!(exchange(&mut client, &mut server).unwrap(), identity("fw1@EXAMPLE.TEST", None));
}

/// GNU gsasl's EXTERNAL client, an independent implementation, against our
/// server: it sends its authzid (`-z`) or an empty response, and the server
/// decides from its own external identity.
#[cfg(feature = "sample")]
#[test]
fn gsasl_external_client_authenticates_to_our_server() {
    use base64::Engine as _;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    for (authzid, expected) in
        [(None, identity("fw1", None)), (Some("fw1"), identity("fw1", None)), (Some("admin"), Outcome::Rejected)]
    {
        let mut gsasl = Command::new("gsasl");
        gsasl.args(["--client", "-m", "EXTERNAL", "--quiet"]).args(authzid.map(|z| ["-z", z]).iter().flatten());
        let mut child = gsasl
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("gsasl runs (Debian package gsasl, ci/install-deps)");
        // No challenge, then no more input: gsasl prints its one token and exits.
        child.stdin.take().unwrap().write_all(b"\n\n").unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(output.stdout).unwrap();
        let mut lines = stdout.lines();
        assert_eq!(lines.next(), Some("EXTERNAL"), "{stdout:?}");
        let token = base64::engine::general_purpose::STANDARD.decode(lines.next().unwrap_or_default()).unwrap();
        assert_eq!(token, authzid.unwrap_or_default().as_bytes(), "gsasl sends the authzid, or nothing");

        let mut server = Server::new("test", "localhost", None, &external_config()).unwrap();
        server.set_external(128, Some("fw1")).unwrap();
        let outcome = match server.start("EXTERNAL", Some(&token)).unwrap() {
            ServerStep::Authenticated { identity, .. } => Outcome::Authenticated(identity),
            ServerStep::Rejected => Outcome::Rejected,
            ServerStep::Continue(c) => panic!("EXTERNAL takes one message, got a challenge {c:?}"),
        };
        assert_eq!(outcome, expected, "gsasl -z {authzid:?}");
    }
}

/// The principal a client certificate names (`client_certificate_principal`),
/// on certificates `openssl req` makes, and from there an EXTERNAL exchange.
#[cfg(feature = "mesos")]
mod certificate_principal {
    use std::path::Path;
    use std::process::{Command, Stdio};

    use cyrus_sasl::mesos::libprocess::{
        CertificatePrincipalError as E, PrincipalSource, client_certificate_principal,
    };
    use cyrus_sasl::{Client, Server};
    use rustls::pki_types::CertificateDer;

    use super::{Outcome, credentials, exchange, external_config, identity};

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

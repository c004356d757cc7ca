//! Kerberos (GSSAPI) failures: recognising them in what libsasl2 reports, and
//! explaining their usual causes.
//!
//! libsasl2's GSSAPI plugin reports every Kerberos failure as `SASL_FAIL` (or,
//! when `gss_accept_sec_context` fails on the server, `SASL_BADAUTH`), so the
//! result code alone cannot tell a missing ticket from a missing keytab. What
//! does tell them apart is the GSS-API text the plugin puts in `sasl_errdetail`:
//! `GSSAPI Error: <major status> (<krb5 minor status>)`, e.g.
//! `... (Server mesos/127.0.0.1@EXAMPLE.TEST not found in Kerberos database)`.
//! For a failed `gss_accept_sec_context` the plugin logs that text (level
//! `SASL_LOG_FAIL`) and sets the errdetail to a bare
//! `GSSAPI Failure: gss_accept_sec_context`, so the server captures the log line
//! of its own connection to see why.
//!
//! The minor status texts are MIT krb5's English `com_err` messages (1.20 here).
//! A text this module does not recognise becomes [`KerberosProblem::Other`], with
//! the full detail kept.

use std::fmt;

use crate::error::{Code, Error, KerberosProblem};

impl KerberosProblem {
    /// The cause and the usual fix, in one sentence.
    pub fn explanation(self) -> &'static str {
        match self {
            KerberosProblem::NoTicket => {
                "the client has no usable Kerberos ticket: get one with `kinit`, or point KRB5CCNAME \
                 (or the client's `ccache` option) at a credential cache that holds one"
            }
            KerberosProblem::UnknownServicePrincipal => {
                "the KDC knows no service principal SERVICE/FQDN@REALM for the service name and server \
                 FQDN the client was given: they must match the server's principal exactly (use the \
                 host name the principal was created with, e.g. `localhost`, not an IP address)"
            }
            KerberosProblem::KdcUnreachable => {
                "no KDC of the realm could be reached: check the realm's `kdc` entries in the krb5.conf \
                 in use (KRB5_CONFIG) and that the KDC is running"
            }
            KerberosProblem::KeytabMissing => {
                "the server's keytab file is missing or unreadable: point the server's `keytab` option \
                 (or KRB5_KTNAME) at the keytab holding its service key"
            }
            KerberosProblem::KeytabLacksKey => {
                "the server's keytab has no key for its service principal SERVICE/FQDN@REALM: export \
                 the key into it (`kadmin ktadd -k KEYTAB SERVICE/FQDN`), and check that the server's \
                 service name and FQDN match that principal"
            }
            KerberosProblem::KeytabOutdated => {
                "the server's keytab does not hold the key the KDC issued the ticket with (the \
                 principal was probably re-keyed): export the current key again with `kadmin ktadd`"
            }
            KerberosProblem::ClockSkew => {
                "the clocks of client, server and KDC differ by more than the allowed skew: \
                 synchronise them (NTP)"
            }
            KerberosProblem::Other => "Kerberos (GSSAPI) failure",
        }
    }

    /// Recognises a Kerberos problem in a libsasl2 detail or log message, or
    /// `None` when the text is not a GSSAPI failure at all.
    pub(crate) fn recognise(text: &str) -> Option<KerberosProblem> {
        if !text.contains("GSSAPI Error") {
            return None;
        }
        Some(Self::from_gss_text(text))
    }

    /// The problem named by a GSS-API major/minor status text. Keytab texts are
    /// tested before credential-cache texts: a missing keytab and a missing
    /// ticket share the major status "No credentials were supplied".
    fn from_gss_text(text: &str) -> KerberosProblem {
        let has = |s: &str| text.contains(s);
        if has("Key table file") && has("not found") {
            KerberosProblem::KeytabMissing
        } else if (has("kvno") && has("not found in keytab"))
            || has("keytab is likely out of date")
            || has("Cannot find key of appropriate type")
        {
            KerberosProblem::KeytabOutdated
        } else if has("No key table entry found") {
            KerberosProblem::KeytabLacksKey
        } else if has("not found in Kerberos database") {
            KerberosProblem::UnknownServicePrincipal
        } else if has("Cannot contact any KDC") || has("Cannot find KDC") {
            KerberosProblem::KdcUnreachable
        } else if has("Clock skew too great") {
            KerberosProblem::ClockSkew
        } else if has("No Kerberos credentials available")
            || has("No credentials cache found")
            || has("Credentials cache file")
            || has("Bad format in credentials cache")
            || has("Credential cache is empty")
            || has("End of credential cache reached")
            || has("Ticket expired")
            || has("credentials have expired")
        {
            KerberosProblem::NoTicket
        } else {
            KerberosProblem::Other
        }
    }

    /// Whether a failed `gss_accept_sec_context` (which libsasl2 reports as
    /// `SASL_BADAUTH`) was caused by the server's own keytab rather than by the
    /// client: such a failure is an error to fix, not a rejected peer.
    pub(crate) fn is_server_side(self) -> bool {
        matches!(
            self,
            KerberosProblem::KeytabMissing | KerberosProblem::KeytabLacksKey | KerberosProblem::KeytabOutdated
        )
    }
}

impl KerberosProblem {
    /// [`explanation`](Self::explanation) with the placeholder `SERVICE/FQDN@REALM`
    /// replaced by the principal krb5 named in `detail`, when it named one, so
    /// the hint speaks of `mesos/localhost@EXAMPLE.TEST` rather than a template.
    /// [`Error::Kerberos`](crate::Error::Kerberos) displays this text.
    pub fn explain(self, detail: &str) -> std::borrow::Cow<'static, str> {
        let text = self.explanation();
        match named_principal(detail) {
            Some(principal) if text.contains("SERVICE/FQDN") => {
                let service_fqdn = principal.split('@').next().unwrap_or(principal);
                text.replace("SERVICE/FQDN@REALM", principal).replace("SERVICE/FQDN", service_fqdn).into()
            }
            _ => text.into(),
        }
    }
}

/// The first `service/host@REALM` word of a GSS-API text. krb5 names the
/// principal it looked for: `Server mesos/127.0.0.1@EXAMPLE.TEST not found in
/// Kerberos database`, and for a keytab lookup `No key table entry found
/// matching mesos/localhost@` (the realm left empty).
fn named_principal(text: &str) -> Option<&str> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',' | ';' | '\'' | '"'))
        .find(|word| word.find('/').is_some_and(|slash| slash > 0 && word[slash..].contains('@')))
}

impl fmt::Display for KerberosProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.explanation())
    }
}

/// Turns an [`Error::Sasl`] whose detail is a GSSAPI failure into
/// [`Error::Kerberos`]; returns every other error unchanged.
pub(crate) fn refine(error: Error) -> Error {
    match error {
        Error::Sasl { call, code, detail } => match KerberosProblem::recognise(&detail) {
            Some(problem) => Error::Kerberos { call, code, problem, detail },
            None => Error::Sasl { call, code, detail },
        },
        other => other,
    }
}

/// The error for a `SASL_BADAUTH` whose logged GSS-API text blames the server's
/// keytab, or `None` when the peer is to be rejected as usual.
pub(crate) fn server_side_badauth(call: &'static str, code: Code, logged: Option<&str>) -> Option<Error> {
    let logged = logged?;
    let problem = KerberosProblem::recognise(logged)?;
    problem.is_server_side().then(|| Error::Kerberos { call, code, problem, detail: logged.to_owned() })
}

/// Refuses a default credential cache that MIT krb5 1.20 would crash on.
///
/// With no credential of its own, the GSSAPI client lets krb5 find the default
/// cache. When that cache's default principal cannot be read (an empty file, a
/// truncated one, one that is not a credential cache), krb5 1.20.1's
/// `krb5_cccol_have_content` frees an uninitialised pointer: the process
/// crashed in 9 of 15 runs with a 4-byte file, in most runs with an empty one
/// (Debian 12; later krb5 releases rewrote the function). So before a client
/// that may pick a GSS-API mechanism starts, a `KRB5CCNAME` naming a `FILE:`
/// cache is checked here: it must hold a readable default principal. A missing
/// file is fine (krb5 reports it cleanly), and so are other cache types and the
/// obsolete format versions 1 and 2, which are left to krb5.
pub(crate) fn check_default_ccache() -> Option<Error> {
    let name = std::env::var_os("KRB5CCNAME")?;
    let name = name.to_str()?;
    let path = match name.split_once(':') {
        Some(("FILE", path)) => path,
        Some(_) => return None,
        None => name,
    };
    if ccache_file_has_principal(path)? {
        return None;
    }
    Some(Error::Kerberos {
        call: "sasl_client_start",
        code: Code::FAIL,
        problem: KerberosProblem::NoTicket,
        detail: format!(
            "the credential cache {name} (KRB5CCNAME) is empty, truncated or not a credential cache; \
             it was not handed to krb5, whose 1.20 release crashes on such a cache"
        ),
    })
}

/// Whether the `FILE:` cache at `path` starts with a complete default
/// principal; `None` when it cannot be opened or read (left to krb5).
///
/// This runs before every GSS-API client start, so it reads only the start of
/// the file: the header and the default principal come first and are short, so
/// one `read` into a stack buffer normally holds them (open, read, close, and
/// no allocation). A principal longer than the buffer is read in full, up to
/// 64 KiB.
fn ccache_file_has_principal(path: &str) -> Option<bool> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).ok()?;
    let mut head = [0u8; 4096];
    let mut filled = 0;
    while filled < head.len() {
        match file.read(&mut head[filled..]) {
            Ok(0) => return Some(file_ccache_has_principal(&head[..filled])),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return None,
        }
        if file_ccache_has_principal(&head[..filled]) {
            return Some(true);
        }
    }
    let mut all = head.to_vec();
    file.take(64 * 1024 - head.len() as u64).read_to_end(&mut all).ok()?;
    Some(file_ccache_has_principal(&all))
}

/// Whether the start of a `FILE:` credential cache holds a complete default
/// principal (format versions 3 and 4, big-endian; 1 and 2 are not checked).
fn file_ccache_has_principal(bytes: &[u8]) -> bool {
    /// Splits `n` bytes off the front of `rest`.
    fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
        let (head, tail) = rest.split_at_checked(n)?;
        *rest = tail;
        Some(head)
    }
    fn u32_be(rest: &mut &[u8]) -> Option<u32> {
        Some(u32::from_be_bytes(take(rest, 4)?.try_into().ok()?))
    }
    fn parse(mut rest: &[u8]) -> Option<()> {
        match take(&mut rest, 2)? {
            [5, 1 | 2] => return Some(()),
            [5, 3] => {}
            [5, 4] => {
                let len = u16::from_be_bytes(take(&mut rest, 2)?.try_into().ok()?);
                take(&mut rest, usize::from(len))?;
            }
            _ => return None,
        }
        let _name_type = u32_be(&mut rest)?;
        let components = u32_be(&mut rest)?;
        // The realm, then each component: a 32-bit length and the bytes.
        for _ in 0..=components.min(1024) {
            let len = u32_be(&mut rest)?;
            take(&mut rest, usize::try_from(len).ok()?)?;
        }
        Some(())
    }
    parse(bytes).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    // The texts below are what libsasl2 2.1.28 with MIT krb5 1.20 reported for
    // each case against a real KDC (the gssapi integration tests reproduce them).
    #[test]
    fn recognises_the_measured_texts() {
        let cases = [
            (
                "SASL(-1): generic failure: GSSAPI Error: No credentials were supplied, or the credentials were \
                 unavailable or inaccessible (No Kerberos credentials available (default cache: FILE:/tmp/x))",
                KerberosProblem::NoTicket,
            ),
            (
                "SASL(-1): generic failure: GSSAPI Error: No credentials were supplied, or the credentials were \
                 unavailable or inaccessible (No Kerberos credentials available: Bad format in credentials \
                 cache (filename: /tmp/empty))",
                KerberosProblem::NoTicket,
            ),
            (
                "SASL(-1): generic failure: GSSAPI Error: Unspecified GSS failure.  Minor code may provide more \
                 information (Server mesos/127.0.0.1@EXAMPLE.TEST not found in Kerberos database)",
                KerberosProblem::UnknownServicePrincipal,
            ),
            (
                "SASL(-1): generic failure: GSSAPI Error: Unspecified GSS failure.  Minor code may provide more \
                 information (Cannot contact any KDC for realm 'EXAMPLE.TEST')",
                KerberosProblem::KdcUnreachable,
            ),
            (
                "SASL(-1): generic failure: GSSAPI Error: No credentials were supplied, or the credentials were \
                 unavailable or inaccessible (Key table file '/tmp/nope.keytab' not found)",
                KerberosProblem::KeytabMissing,
            ),
            (
                "SASL(-1): generic failure: GSSAPI Error: No credentials were supplied, or the credentials were \
                 unavailable or inaccessible (No key table entry found matching mesos/localhost@)",
                KerberosProblem::KeytabLacksKey,
            ),
            (
                "GSSAPI Error: Unspecified GSS failure.  Minor code may provide more information (Request ticket \
                 server mesos/localhost@EXAMPLE.TEST kvno 3 not found in keytab; keytab is likely out of date)",
                KerberosProblem::KeytabOutdated,
            ),
            ("GSSAPI Error: Invalid token was supplied (Unknown error)", KerberosProblem::Other),
        ];
        for (text, expected) in cases {
            assert_eq!(KerberosProblem::recognise(text), Some(expected), "{text}");
        }
        assert_eq!(KerberosProblem::recognise("SASL(-13): authentication failure: incorrect digest response"), None);
    }

    #[test]
    fn hints_name_the_principal_krb5_looked_for_not_a_template() {
        let unknown = "SASL(-1): generic failure: GSSAPI Error: Unspecified GSS failure.  Minor code may provide \
                       more information (Server mesos/127.0.0.1@EXAMPLE.TEST not found in Kerberos database)";
        let e = refine(Error::Sasl { call: "sasl_client_start", code: Code::FAIL, detail: unknown.into() });
        let text = e.to_string();
        assert!(text.contains("service principal mesos/127.0.0.1@EXAMPLE.TEST for"), "{text}");
        assert!(!text.contains("SERVICE/FQDN"), "{text}");
        let lacks = "SASL(-1): generic failure: GSSAPI Error: No credentials were supplied, or the credentials \
                     were unavailable or inaccessible (No key table entry found matching mesos/localhost@)";
        let text =
            refine(Error::Sasl { call: "sasl_server_start", code: Code::FAIL, detail: lacks.into() }).to_string();
        assert!(text.contains("`kadmin ktadd -k KEYTAB mesos/localhost`"), "{text}");
        assert!(!text.contains("SERVICE/FQDN"), "{text}");
        // No principal in the text: the general hint stays.
        let plain = KerberosProblem::UnknownServicePrincipal.explain("GSSAPI Error: no name here");
        assert!(plain.contains("SERVICE/FQDN@REALM"), "{plain}");
    }

    #[test]
    fn only_keytab_problems_turn_a_badauth_into_an_error() {
        let outdated = "GSSAPI Error: Unspecified GSS failure.  Minor code may provide more information \
                        (Request ticket server mesos/localhost@EXAMPLE.TEST kvno 3 not found in keytab; keytab \
                        is likely out of date)";
        let err = server_side_badauth("sasl_server_start", Code::BADAUTH, Some(outdated)).unwrap();
        assert!(matches!(err, Error::Kerberos { problem: KerberosProblem::KeytabOutdated, .. }), "{err:?}");
        let garbage = "GSSAPI Error: Invalid token was supplied (Unknown error)";
        assert!(server_side_badauth("sasl_server_start", Code::BADAUTH, Some(garbage)).is_none());
        assert!(server_side_badauth("sasl_server_start", Code::BADAUTH, None).is_none());
    }

    #[test]
    fn file_ccache_check_wants_a_whole_default_principal() {
        // Version 4, no header fields, principal alice@EXAMPLE.TEST (type 1).
        let mut good = vec![5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        good.extend_from_slice(&12u32.to_be_bytes());
        good.extend_from_slice(b"EXAMPLE.TEST");
        good.extend_from_slice(&5u32.to_be_bytes());
        good.extend_from_slice(b"alice");
        assert!(file_ccache_has_principal(&good));
        for cut in 0..good.len() {
            assert!(!file_ccache_has_principal(&good[..cut]), "truncated at {cut}");
        }
        assert!(!file_ccache_has_principal(b"garbage that is not a ccache"));
        assert!(file_ccache_has_principal(&[5, 2]), "old versions are left to krb5");
    }

    #[test]
    fn ccache_file_check_reads_past_its_buffer_only_for_long_principals() {
        fn principal(component: &[u8]) -> Vec<u8> {
            let mut bytes = vec![5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
            bytes.extend_from_slice(&12u32.to_be_bytes());
            bytes.extend_from_slice(b"EXAMPLE.TEST");
            bytes.extend_from_slice(&(component.len() as u32).to_be_bytes());
            bytes.extend_from_slice(component);
            bytes
        }
        let dir = tempfile::tempdir().unwrap();
        let check = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            ccache_file_has_principal(path.to_str().unwrap())
        };
        let mut short = principal(b"alice");
        short.extend_from_slice(&[7; 3000]); // credentials follow the principal
        assert_eq!(check("short", &short), Some(true));
        let long = principal(&[b'a'; 6000]);
        assert_eq!(check("long", &long), Some(true), "a principal past the 4 KiB buffer");
        assert_eq!(check("long-cut", &long[..5000]), Some(false));
        assert_eq!(check("empty", b""), Some(false));
        assert_eq!(check("four-bytes", &[5, 4, 0, 0]), Some(false));
        assert_eq!(ccache_file_has_principal(dir.path().join("missing").to_str().unwrap()), None);
    }

    #[test]
    fn refine_keeps_non_kerberos_errors() {
        let plain = Error::Sasl { call: "sasl_server_step", code: Code::BADPROT, detail: "bad protocol".into() };
        assert!(matches!(refine(plain), Error::Sasl { code: Code::BADPROT, .. }));
        let kerberos = Error::Sasl {
            call: "sasl_client_start",
            code: Code::FAIL,
            detail: "GSSAPI Error: Unspecified GSS failure (Clock skew too great)".into(),
        };
        let refined = refine(kerberos);
        assert!(matches!(refined, Error::Kerberos { problem: KerberosProblem::ClockSkew, .. }), "{refined:?}");
        assert_eq!(refined.code(), Some(Code::FAIL));
    }
}

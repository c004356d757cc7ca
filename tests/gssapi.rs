//! GSSAPI through the same `Server` and `Client` as every other mechanism, in
//! process, against a real MIT KDC on 127.0.0.1 (started by `ci/kdc` for this
//! run; see test-support's kdc module). The process environment points at the KDC:
//! KRB5_KTNAME names the `mesos/localhost` keytab and KRB5CCNAME alice's ticket.
//!
//! Cases that need another environment (no ticket, an unreachable KDC) run as
//! child processes in sasl-sample's gssapi_sample tests; they also run here, through the
//! per-connection `keytab` and `ccache` options (in every build).

use cyrus_sasl_test_support as common;

use std::path::Path;
use std::process::ExitCode;

use common::kdc::{self, HOST, REALM, SERVICE, UNKEYED_SERVICE, USER};
use common::{Outcome, handshake};
use cyrus_sasl::{Client, Code, Config, Credentials, Error, Identity, KerberosProblem, Server, ServerStep};
use libtest_mimic::{Failed, Trial};

/// A GSSAPI config with the given SSF range.
fn gssapi(min_ssf: u32, max_ssf: u32) -> Config {
    let text = format!("mech_list: GSSAPI\nmin_ssf: {min_ssf}\nmax_ssf: {max_ssf}\n");
    text.parse().expect("a valid config")
}

/// One complete in-process handshake as alice (her ticket is in KRB5CCNAME) to
/// `mesos/localhost`, with the same config on both sides.
fn alice_handshake(server_config: &Config, client_config: &Config) -> cyrus_sasl::Result<Outcome> {
    let mut server = Server::new(SERVICE, HOST, None, server_config)?;
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), client_config)?;
    handshake(&mut client, &mut server)
}

fn authenticated(outcome: cyrus_sasl::Result<Outcome>) -> Result<Identity, Failed> {
    match outcome {
        Ok(Outcome::Authenticated(identity)) => Ok(identity),
        other => Err(format!("expected an authenticated alice, got {other:?}").into()),
    }
}

/// After any failure, a fresh pair of connections in this same process still
/// authenticates: nothing process-wide was left broken.
fn next_handshake_succeeds() -> Result<(), Failed> {
    let identity = authenticated(alice_handshake(&gssapi(0, 256), &gssapi(0, 256)))?;
    assert_eq!((identity.user(), identity.ssf), (USER, 256));
    Ok(())
}

fn ssf_is(max_ssf: u32, expected: u32) -> Result<(), Failed> {
    let config = gssapi(0, max_ssf);
    let mut server = Server::new(SERVICE, HOST, None, &config)?;
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config)?;
    let identity = authenticated(handshake(&mut client, &mut server))?;
    // libsasl2 strips the realm because it is krb5's default realm.
    assert_eq!(identity, Identity { authid: USER.into(), authzid: None, mechanism: "GSSAPI".into(), ssf: expected });
    assert_eq!(client.ssf()?, expected, "the client agrees on the SSF");
    Ok(())
}

fn gssapi_handshake_authenticates_alice_with_ssf_256_when_max_ssf_is_256() -> Result<(), Failed> {
    ssf_is(256, 256)
}

fn gssapi_handshake_gives_ssf_1_integrity_only_when_max_ssf_is_56() -> Result<(), Failed> {
    ssf_is(56, 1)
}

fn gssapi_handshake_gives_ssf_0_no_layer_when_max_ssf_is_0() -> Result<(), Failed> {
    ssf_is(0, 0)
}

fn min_ssf_257_on_both_sides_leaves_no_mechanism_and_a_typed_error() -> Result<(), Failed> {
    let config = gssapi(257, 300);
    let mut server = Server::new(SERVICE, HOST, None, &config)?;
    assert_eq!(server.mechanisms()?, Vec::<String>::new(), "GSSAPI reaches at most 256");
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config)?;
    match handshake(&mut client, &mut server) {
        Err(e @ Error::NoMechanism { .. }) => {
            let Error::NoMechanism { ref offered, min_ssf, .. } = e else { unreachable!() };
            assert!(offered.is_empty(), "{e}");
            assert_eq!(min_ssf, 257);
            assert_eq!(e.code(), Some(Code::NOMECH));
            assert!(e.to_string().contains("min_ssf of 257"), "{e}");
        }
        other => return Err(format!("expected Error::NoMechanism, got {other:?}").into()),
    }
    next_handshake_succeeds()
}

fn min_ssf_257_on_the_client_refuses_the_offered_gssapi() -> Result<(), Failed> {
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &gssapi(257, 300))?;
    // min_ssf alone excluded the offered GSSAPI: the error says so (NOMECH,
    // "No worthy mechs found", from libsasl2).
    match client.start("GSSAPI") {
        Err(e @ Error::SecurityTooWeak { min_ssf: 257, code: Code::NOMECH, .. }) => {
            let text = e.to_string();
            assert!(text.contains("GSSAPI") && text.contains("min_ssf 257"), "{text}");
        }
        other => return Err(format!("expected Error::SecurityTooWeak, got {other:?}").into()),
    }
    next_handshake_succeeds()
}

fn min_ssf_257_on_the_server_does_not_offer_gssapi_and_refuses_it_as_too_weak() -> Result<(), Failed> {
    let mut server = Server::new(SERVICE, HOST, None, &gssapi(257, 300))?;
    assert_eq!(server.mechanisms()?, Vec::<String>::new());
    // A client that asks for it anyway gets libsasl2's own verdict.
    match server.start("GSSAPI", None) {
        Err(e @ Error::SecurityTooWeak { min_ssf: 257, code: Code::TOOWEAK, .. }) => {
            assert!(e.to_string().contains("GSSAPI cannot provide a security layer"), "{e}");
        }
        other => return Err(format!("expected Error::SecurityTooWeak (SASL_TOOWEAK), got {other:?}").into()),
    }
    next_handshake_succeeds()
}

/// The one code path the config-switch test runs: a config file in, an outcome
/// out. Alice has the same password in the sasldb as... nothing: GSSAPI ignores
/// it and proves her ticket instead.
fn authenticate_with_config_file(conf: &Path) -> cyrus_sasl::Result<Outcome> {
    let config = Config::from_file(conf)?;
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &config)?;
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new(USER, "sasldb-secret") };
    let mut client = Client::new(SERVICE, HOST, credentials, &config)?;
    handshake(&mut client, &mut server)
}

fn the_same_program_switches_from_cram_md5_to_gssapi_by_config_file_alone() -> Result<(), Failed> {
    let db = common::sasldb(&[(USER, "sasldb-secret")]);
    let cram = db.dir.path().join("cram.conf");
    let text = format!(
        "mech_list: CRAM-MD5\npwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\n",
        db.path.display()
    );
    std::fs::write(&cram, text)?;
    let gss = db.dir.path().join("gssapi.conf");
    std::fs::write(&gss, "mech_list: GSSAPI\nmax_ssf: 256\n")?;

    let identity = authenticated(authenticate_with_config_file(&cram))?;
    assert_eq!(
        identity,
        Identity { authid: "alice@EXAMPLE.TEST".into(), authzid: None, mechanism: "CRAM-MD5".into(), ssf: 0 }
    );
    let identity = authenticated(authenticate_with_config_file(&gss))?;
    // The same name as with CRAM-MD5: libsasl2 strips krb5's default realm from
    // alice@EXAMPLE.TEST, then appends the server's user realm.
    assert_eq!(
        identity,
        Identity { authid: "alice@EXAMPLE.TEST".into(), authzid: None, mechanism: "GSSAPI".into(), ssf: 256 }
    );
    Ok(())
}

fn server_user_realm_replaces_the_stripped_default_kerberos_realm() -> Result<(), Failed> {
    let config = gssapi(0, 256);
    let mut names = Vec::new();
    for realm in [None, Some(REALM), Some("OTHER.TEST")] {
        let mut server = Server::new(SERVICE, HOST, realm, &config)?;
        let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config)?;
        names.push(authenticated(handshake(&mut client, &mut server))?.authid);
    }
    // The Kerberos realm is gone once stripped: a server with user realm
    // OTHER.TEST names alice@EXAMPLE.TEST "alice@OTHER.TEST".
    assert_eq!(names, ["alice", "alice@EXAMPLE.TEST", "alice@OTHER.TEST"]);
    Ok(())
}

/// Asserts `result` is an [`Error::Kerberos`] with `problem`, from `call`.
fn expect_kerberos<T: std::fmt::Debug>(
    result: cyrus_sasl::Result<T>,
    problem: KerberosProblem,
    call: &str,
) -> Result<Error, Failed> {
    match result {
        Err(e @ Error::Kerberos { .. }) => {
            let Error::Kerberos { problem: got, call: got_call, ref detail, .. } = e else { unreachable!() };
            if got != problem || got_call != call {
                return Err(format!("expected {problem:?} from {call}, got {got:?} from {got_call}: {e}").into());
            }
            let text = e.to_string();
            assert!(text.contains(problem.explain(detail).as_ref()) && text.contains(detail.as_str()), "{text}");
            assert!(
                !text.contains("SERVICE/FQDN") || !detail.contains('@'),
                "a template where krb5 named the principal: {text}"
            );
            Ok(e)
        }
        other => Err(format!("expected Error::Kerberos({problem:?}) from {call}, got {other:?}").into()),
    }
}

fn client_fqdn_127_0_0_1_is_an_unknown_service_principal() -> Result<(), Failed> {
    let config = gssapi(0, 256);
    let mut server = Server::new(SERVICE, HOST, None, &config)?;
    let mut client = Client::new(SERVICE, "127.0.0.1", Credentials::kerberos(), &config)?;
    let e = expect_kerberos(
        handshake(&mut client, &mut server),
        KerberosProblem::UnknownServicePrincipal,
        "sasl_client_start",
    )?;
    assert!(e.to_string().contains("mesos/127.0.0.1@EXAMPLE.TEST not found in Kerberos database"), "{e}");
    next_handshake_succeeds()
}

fn client_service_unknown_to_the_kdc_is_an_unknown_service_principal() -> Result<(), Failed> {
    let config = gssapi(0, 256);
    let mut server = Server::new("nosuch", HOST, None, &config)?;
    let mut client = Client::new("nosuch", HOST, Credentials::kerberos(), &config)?;
    expect_kerberos(
        handshake(&mut client, &mut server),
        KerberosProblem::UnknownServicePrincipal,
        "sasl_client_start",
    )?;
    next_handshake_succeeds()
}

fn server_whose_keytab_lacks_its_service_key_is_an_error_not_a_rejection() -> Result<(), Failed> {
    // The KDC knows unkeyed/localhost, so the client gets a ticket; the server's
    // keytab (KRB5_KTNAME) holds only mesos/localhost.
    let config = gssapi(0, 256);
    let mut server = Server::new(UNKEYED_SERVICE, HOST, None, &config)?;
    let mut client = Client::new(UNKEYED_SERVICE, HOST, Credentials::kerberos(), &config)?;
    let e = expect_kerberos(handshake(&mut client, &mut server), KerberosProblem::KeytabLacksKey, "sasl_server_start")?;
    assert!(e.to_string().contains("unkeyed/localhost"), "{e}");
    next_handshake_succeeds()
}

fn server_fqdn_other_than_the_principal_host_lacks_a_key() -> Result<(), Failed> {
    let config = gssapi(0, 256);
    let mut server = Server::new(SERVICE, "otherhost", None, &config)?;
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config)?;
    let e = expect_kerberos(handshake(&mut client, &mut server), KerberosProblem::KeytabLacksKey, "sasl_server_start")?;
    assert!(e.to_string().contains("mesos/otherhost"), "{e}");
    next_handshake_succeeds()
}

fn a_garbage_client_token_is_rejected_not_an_error() -> Result<(), Failed> {
    let mut server = Server::new(SERVICE, HOST, None, &gssapi(0, 256))?;
    match server.start("GSSAPI", Some(b"\x60\x03not a kerberos AP-REQ")) {
        Ok(ServerStep::Rejected(_)) => {}
        other => return Err(format!("expected Rejected, got {other:?}").into()),
    }
    next_handshake_succeeds()
}

mod per_connection {
    //! The `keytab` and `ccache` options, in every build: each connection
    //! names its own credentials, whatever KRB5_KTNAME and KRB5CCNAME say.

    use std::ffi::c_void;
    use std::path::PathBuf;

    use super::*;
    use common::kdc::{OTHER_SERVICE, kdc};

    /// A scratch directory inside the KDC's, removed with it.
    fn scratch(name: &str) -> PathBuf {
        let dir = kdc().dir.join("scratch").join(name);
        std::fs::create_dir_all(&dir).expect("create a scratch dir");
        dir
    }

    fn with(config: Config, key: &str, value: &Path) -> Config {
        config.with(key, value.to_str().expect("UTF-8 path")).expect("a valid option")
    }

    pub fn keytab_option_serves_the_named_keytab() -> Result<(), Failed> {
        // KRB5_KTNAME's keytab holds only mesos/localhost: this works only if
        // the option's keytab, with other/localhost, is the one used.
        let server_config = with(gssapi(0, 256), "keytab", &kdc().other_keytab);
        let mut server = Server::new(OTHER_SERVICE, HOST, None, &server_config)?;
        let mut client = Client::new(OTHER_SERVICE, HOST, Credentials::kerberos(), &gssapi(0, 256))?;
        let identity = authenticated(handshake(&mut client, &mut server))?;
        assert_eq!(identity.user(), USER);
        Ok(())
    }

    pub fn keytab_option_binds_the_server_to_its_own_principal_in_a_shared_keytab() -> Result<(), Failed> {
        // One keytab with two services' keys: a server for mesos must not accept
        // a ticket for other/localhost just because it can decrypt it.
        let shared = scratch("shared-keytab").join("shared.keytab");
        kdc().kadmin(&format!("ktadd -norandkey -k {} {SERVICE}/{HOST} {OTHER_SERVICE}/{HOST}", shared.display()));
        let server_config = with(gssapi(0, 256), "keytab", &shared);
        let mut server = Server::new(SERVICE, HOST, None, &server_config)?;
        let mut client = Client::new(OTHER_SERVICE, HOST, Credentials::kerberos(), &gssapi(0, 256))?;
        let outcome = handshake(&mut client, &mut server);
        assert!(matches!(outcome, Ok(Outcome::Rejected)), "a ticket for another service: {outcome:?}");
        // The same keytab serves the server's own principal.
        let mut server = Server::new(SERVICE, HOST, None, &server_config)?;
        let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &gssapi(0, 256))?;
        assert_eq!(authenticated(handshake(&mut client, &mut server))?.user(), USER);
        Ok(())
    }

    pub fn keytab_option_naming_a_missing_file_fails_server_new_with_keytab_missing() -> Result<(), Failed> {
        let missing = scratch("keytab-missing").join("no-such.keytab");
        let config = with(gssapi(0, 256), "keytab", &missing);
        let e = expect_kerberos(
            Server::new(SERVICE, HOST, None, &config),
            KerberosProblem::KeytabMissing,
            "gss_acquire_cred_from",
        )?;
        assert!(e.to_string().contains("no-such.keytab"), "{e}");
        next_handshake_succeeds()
    }

    pub fn keytab_option_naming_a_keytab_without_the_service_key_fails_with_keytab_lacks_key() -> Result<(), Failed> {
        let config = with(gssapi(0, 256), "keytab", &kdc().other_keytab);
        expect_kerberos(
            Server::new(SERVICE, HOST, None, &config),
            KerberosProblem::KeytabLacksKey,
            "gss_acquire_cred_from",
        )?;
        next_handshake_succeeds()
    }

    pub fn keytab_older_than_the_kdc_key_is_an_error_not_a_rejection() -> Result<(), Failed> {
        let dir = scratch("keytab-outdated");
        // A principal of its own (re-keying a shared one would race other
        // trials): a keytab with its first key, then a new key in the KDC only.
        let (service, keytab) = ("stale", dir.join("stale.keytab"));
        kdc().kadmin(&format!("addprinc -randkey {service}/{HOST}"));
        kdc().kadmin(&format!("ktadd -k {} {service}/{HOST}", keytab.display()));
        kdc().kadmin(&format!("cpw -randkey {service}/{HOST}"));
        let mut server = Server::new(service, HOST, None, &with(gssapi(0, 256), "keytab", &keytab))?;
        let mut client = Client::new(service, HOST, Credentials::kerberos(), &gssapi(0, 256))?;
        let e =
            expect_kerberos(handshake(&mut client, &mut server), KerberosProblem::KeytabOutdated, "sasl_server_start")?;
        assert_eq!(e.code(), Some(Code::BADAUTH), "libsasl2 said BADAUTH; the server's log line told why: {e}");
        assert!(e.to_string().contains("keytab is likely out of date"), "{e}");
        next_handshake_succeeds()
    }

    pub fn ccache_option_uses_the_named_cache() -> Result<(), Failed> {
        let ccache = scratch("ccache-bob").join("ccache");
        kdc().kinit(kdc::OTHER_USER, &ccache);
        let client = with(gssapi(0, 256), "ccache", &ccache);
        let identity = authenticated(alice_handshake(&gssapi(0, 256), &client))?;
        assert_eq!(identity.user(), kdc::OTHER_USER, "bob's cache, not KRB5CCNAME's alice");
        Ok(())
    }

    pub fn ccache_option_naming_a_missing_cache_fails_client_new_with_no_ticket() -> Result<(), Failed> {
        let missing = scratch("ccache-missing").join("none");
        let config = with(gssapi(0, 256), "ccache", &missing);
        expect_kerberos(
            Client::new(SERVICE, HOST, Credentials::kerberos(), &config),
            KerberosProblem::NoTicket,
            "gss_acquire_cred_from",
        )?;
        next_handshake_succeeds()
    }

    pub fn ccache_option_naming_an_empty_file_fails_client_new_with_no_ticket() -> Result<(), Failed> {
        let empty = scratch("ccache-empty").join("empty");
        std::fs::write(&empty, b"")?;
        let config = with(gssapi(0, 256), "ccache", &empty);
        expect_kerberos(
            Client::new(SERVICE, HOST, Credentials::kerberos(), &config),
            KerberosProblem::NoTicket,
            "gss_acquire_cred_from",
        )?;
        next_handshake_succeeds()
    }

    /// What MIT's `gss_inquire_cred` says the credential the connection holds
    /// (`SASL_GSS_CREDS`) is for: `Ok(usage)` (1 initiate, 2 accept), or the
    /// GSS-API major status when the handle is not a live credential.
    fn credential_usage(conn: *mut cyrus_sasl::sys::sasl_conn_t) -> Result<i32, String> {
        type InquireCred =
            unsafe extern "C" fn(*mut u32, *mut c_void, *mut *mut c_void, *mut u32, *mut i32, *mut *mut c_void) -> u32;
        let mut handle: *const c_void = std::ptr::null();
        // SAFETY: conn is a live connection (borrowed from its owner by the
        // caller); handle is an out-pointer.
        let rc = unsafe { cyrus_sasl::sys::sasl_getprop(conn, cyrus_sasl::sys::SASL_GSS_CREDS, &mut handle) };
        if rc != cyrus_sasl::sys::SASL_OK || handle.is_null() {
            return Err(format!("no SASL_GSS_CREDS on the connection (rc {rc})"));
        }
        // SAFETY: the library the GSSAPI plugin and the crate use; its
        // constructors are safe to run.
        let lib = unsafe { libloading::Library::new("libgssapi_krb5.so.2") }.map_err(|e| e.to_string())?;
        // SAFETY: gss_inquire_cred's prototype in <gssapi/gssapi.h>.
        let inquire: libloading::Symbol<InquireCred> =
            unsafe { lib.get(b"gss_inquire_cred\0") }.map_err(|e| e.to_string())?;
        let (mut minor, mut lifetime, mut usage) = (0, 0, -1);
        // SAFETY: handle is what libsasl2 holds; NULL out-pointers are "not wanted".
        let major = unsafe {
            inquire(
                &mut minor,
                handle.cast_mut(),
                std::ptr::null_mut(),
                &mut lifetime,
                &mut usage,
                std::ptr::null_mut(),
            )
        };
        if major & 0xffff_0000 != 0 {
            return Err(format!("gss_inquire_cred failed: major {major:#x}, minor {minor}"));
        }
        Ok(usage)
    }

    /// Finding 3 of issue 12: `into_security_layer` moves the credential along
    /// with the connection that points at it; it was released early, leaving
    /// libsasl2 a dangling `SASL_GSS_CREDS` (valgrind: invalid read).
    pub fn keytab_and_ccache_credentials_live_as_long_as_the_security_layers() -> Result<(), Failed> {
        let ccache = scratch("ccache-layer").join("ccache");
        kdc().kinit(kdc::USER, &ccache);
        let mut server = Server::new(SERVICE, HOST, None, &with(gssapi(0, 256), "keytab", &kdc().keytab))?;
        let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &with(gssapi(0, 256), "ccache", &ccache))?;
        authenticated(handshake(&mut client, &mut server))?;
        let (mut server, mut client) = (server.into_security_layer()?, client.into_security_layer()?);
        // Memory the freed credentials would be reused for, were they freed.
        let churn: Vec<Vec<u8>> = (0..64).map(|i| vec![i as u8; 64 + i]).collect();
        assert_eq!(credential_usage(server.as_ptr())?, 2, "the server's keytab credential accepts");
        assert_eq!(credential_usage(client.as_ptr())?, 1, "the client's ccache credential initiates");
        drop(churn);
        let sealed = client.encode(b"still protected")?.to_vec();
        assert_eq!(server.decode(&sealed)?, b"still protected");
        Ok(())
    }

    pub fn trials() -> Vec<Trial> {
        vec![
            Trial::test(
                "keytab_and_ccache_credentials_live_as_long_as_the_security_layers",
                keytab_and_ccache_credentials_live_as_long_as_the_security_layers,
            ),
            Trial::test("keytab_option_serves_the_named_keytab", keytab_option_serves_the_named_keytab),
            Trial::test(
                "keytab_option_binds_the_server_to_its_own_principal_in_a_shared_keytab",
                keytab_option_binds_the_server_to_its_own_principal_in_a_shared_keytab,
            ),
            Trial::test(
                "keytab_option_naming_a_missing_file_fails_server_new_with_keytab_missing",
                keytab_option_naming_a_missing_file_fails_server_new_with_keytab_missing,
            ),
            Trial::test(
                "keytab_option_naming_a_keytab_without_the_service_key_fails_with_keytab_lacks_key",
                keytab_option_naming_a_keytab_without_the_service_key_fails_with_keytab_lacks_key,
            ),
            Trial::test(
                "keytab_older_than_the_kdc_key_is_an_error_not_a_rejection",
                keytab_older_than_the_kdc_key_is_an_error_not_a_rejection,
            ),
            Trial::test("ccache_option_uses_the_named_cache", ccache_option_uses_the_named_cache),
            Trial::test(
                "ccache_option_naming_a_missing_cache_fails_client_new_with_no_ticket",
                ccache_option_naming_a_missing_cache_fails_client_new_with_no_ticket,
            ),
            Trial::test(
                "ccache_option_naming_an_empty_file_fails_client_new_with_no_ticket",
                ccache_option_naming_an_empty_file_fails_client_new_with_no_ticket,
            ),
        ]
    }
}

fn main() -> ExitCode {
    let mut trials = vec![
        Trial::test(
            "gssapi_handshake_authenticates_alice_with_ssf_256_when_max_ssf_is_256",
            gssapi_handshake_authenticates_alice_with_ssf_256_when_max_ssf_is_256,
        ),
        Trial::test(
            "gssapi_handshake_gives_ssf_1_integrity_only_when_max_ssf_is_56",
            gssapi_handshake_gives_ssf_1_integrity_only_when_max_ssf_is_56,
        ),
        Trial::test(
            "gssapi_handshake_gives_ssf_0_no_layer_when_max_ssf_is_0",
            gssapi_handshake_gives_ssf_0_no_layer_when_max_ssf_is_0,
        ),
        Trial::test(
            "min_ssf_257_on_both_sides_leaves_no_mechanism_and_a_typed_error",
            min_ssf_257_on_both_sides_leaves_no_mechanism_and_a_typed_error,
        ),
        Trial::test(
            "min_ssf_257_on_the_client_refuses_the_offered_gssapi",
            min_ssf_257_on_the_client_refuses_the_offered_gssapi,
        ),
        Trial::test(
            "min_ssf_257_on_the_server_does_not_offer_gssapi_and_refuses_it_as_too_weak",
            min_ssf_257_on_the_server_does_not_offer_gssapi_and_refuses_it_as_too_weak,
        ),
        Trial::test(
            "the_same_program_switches_from_cram_md5_to_gssapi_by_config_file_alone",
            the_same_program_switches_from_cram_md5_to_gssapi_by_config_file_alone,
        ),
        Trial::test(
            "server_user_realm_replaces_the_stripped_default_kerberos_realm",
            server_user_realm_replaces_the_stripped_default_kerberos_realm,
        ),
        Trial::test(
            "client_fqdn_127_0_0_1_is_an_unknown_service_principal",
            client_fqdn_127_0_0_1_is_an_unknown_service_principal,
        ),
        Trial::test(
            "client_service_unknown_to_the_kdc_is_an_unknown_service_principal",
            client_service_unknown_to_the_kdc_is_an_unknown_service_principal,
        ),
        Trial::test(
            "server_whose_keytab_lacks_its_service_key_is_an_error_not_a_rejection",
            server_whose_keytab_lacks_its_service_key_is_an_error_not_a_rejection,
        ),
        Trial::test(
            "server_fqdn_other_than_the_principal_host_lacks_a_key",
            server_fqdn_other_than_the_principal_host_lacks_a_key,
        ),
        Trial::test("a_garbage_client_token_is_rejected_not_an_error", a_garbage_client_token_is_rejected_not_an_error),
    ];
    trials.extend(per_connection::trials());
    kdc::run_with_kdc(trials)
}

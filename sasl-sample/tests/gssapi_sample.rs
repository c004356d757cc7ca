//! `sasl-sample` with GSSAPI against the test KDC, as child processes, with each
//! usual Kerberos mistake made in one child's environment (no ticket, a wrong
//! FQDN, an unreachable KDC, a missing, incomplete or outdated keytab). After
//! each failure, a correctly set up exchange still succeeds. Its plain
//! exchanges with GNU gsasl and with its own client are in the interop matrix
//! (tests/interop.rs).

use cyrus_sasl_test_support as common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};

use common::child::Proc;
use common::kdc::{self, HOST, SERVICE, kdc};
use libtest_mimic::{Failed, Trial};

const BIN: &str = env!("CARGO_BIN_EXE_sasl-sample");

/// A scratch directory inside the KDC's, removed with it.
fn scratch(name: &str) -> PathBuf {
    let dir = kdc().dir.join("scratch").join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

/// A sasl-sample config for GSSAPI with a security layer, plus `extra` lines.
fn gssapi_conf(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("gssapi.conf");
    std::fs::write(&path, format!("# GSSAPI against the test KDC\nmech_list: GSSAPI\nmax_ssf: 256\n{extra}"))
        .expect("write the config");
    path
}

/// `sasl-sample ROLE --config CONF --service SERVICE --fqdn FQDN`, in the KDC's
/// environment with `env` on top.
fn sample(role: &str, conf: &Path, service: &str, fqdn: &str, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(BIN);
    command
        .arg(role)
        .arg("--config")
        .arg(conf)
        .args(["--service", service, "--fqdn", fqdn])
        .envs(kdc().env())
        .env_remove("SASL_PASSWORD");
    for (name, value) in env {
        command.env(name, value);
    }
    command
}

/// A TCP server serving one client after another, and its address.
fn tcp_server(conf: &Path) -> (Proc, String) {
    let mut command = sample("server", conf, SERVICE, HOST, &[]);
    command.args(["--listen", "127.0.0.1:0"]).stdin(Stdio::null()).stdout(Stdio::null());
    let mut server = Proc::spawn("sasl-sample server", &mut command);
    let addr = server.wait_for_line("listening on ");
    (server, addr)
}

/// Runs a client to the end; returns its status and stderr.
fn tcp_client(conf: &Path, addr: &str, fqdn: &str, env: &[(&str, String)]) -> (ExitStatus, String) {
    let mut command = sample("client", conf, SERVICE, fqdn, env);
    command.args(["--connect", addr]).stdin(Stdio::null()).stdout(Stdio::null());
    Proc::spawn("sasl-sample client", &mut command).finish()
}

/// One client with `env` and `fqdn` fails with `problem` against a server that
/// keeps running; a correct client then authenticates to the same server.
fn client_fails_then_next_succeeds(
    name: &str,
    fqdn: &str,
    env: &[(&str, String)],
    problem: &str,
) -> Result<(), Failed> {
    let conf = gssapi_conf(&scratch(name), "");
    let (mut server, addr) = tcp_server(&conf);
    let (status, err) = tcp_client(&conf, &addr, fqdn, env);
    assert_eq!(status.code(), Some(2), "client stderr: {err}");
    assert!(err.contains(&format!("kerberos problem {problem}: ")), "client stderr: {err}");
    assert!(!err.contains("completed:"), "{err}");
    // The hint names the principal krb5 looked for, not a template.
    assert!(!err.contains("SERVICE/FQDN"), "client stderr: {err}");
    if problem == "UnknownServicePrincipal" {
        assert!(err.contains(&format!("service principal {SERVICE}/{fqdn}@")), "client stderr: {err}");
    }
    let (status, err) = tcp_client(&conf, &addr, HOST, &[]);
    assert_eq!(status.code(), Some(0), "the next client: {err}");
    assert_eq!(server.wait_for_line("authenticated: "), "alice mech=GSSAPI ssf=256");
    Ok(())
}

fn client_without_a_credential_cache_fails_with_no_ticket() -> Result<(), Failed> {
    let missing = scratch("no-ccache").join("none");
    client_fails_then_next_succeeds(
        "no-ccache",
        HOST,
        &[("KRB5CCNAME", format!("FILE:{}", missing.display()))],
        "NoTicket",
    )
}

fn client_with_an_empty_credential_cache_fails_with_no_ticket() -> Result<(), Failed> {
    let empty = scratch("empty-ccache").join("empty");
    std::fs::write(&empty, b"")?;
    // MIT krb5 1.20 crashes on an empty default cache in most runs, not all:
    // several runs make a regression show.
    let env = [("KRB5CCNAME", format!("FILE:{}", empty.display()))];
    for _ in 0..5 {
        client_fails_then_next_succeeds("empty-ccache", HOST, &env, "NoTicket")?;
    }
    Ok(())
}

fn client_with_a_truncated_credential_cache_fails_with_no_ticket() -> Result<(), Failed> {
    // MIT krb5 1.20 crashes on such a cache when it is the default one; the
    // client must refuse it with an error instead (see kerberos.rs).
    let truncated = scratch("truncated-ccache").join("truncated");
    std::fs::write(&truncated, &std::fs::read(&kdc().ccache)?[..12])?;
    let env = [("KRB5CCNAME", format!("FILE:{}", truncated.display()))];
    for _ in 0..5 {
        client_fails_then_next_succeeds("truncated-ccache", HOST, &env, "NoTicket")?;
    }
    Ok(())
}

fn client_with_a_credential_cache_holding_no_ticket_fails_with_no_ticket() -> Result<(), Failed> {
    // A version 4 cache with alice as its principal and nothing else.
    let mut bytes = vec![5, 4, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
    bytes.extend_from_slice(&12u32.to_be_bytes());
    bytes.extend_from_slice(b"EXAMPLE.TEST");
    bytes.extend_from_slice(&5u32.to_be_bytes());
    bytes.extend_from_slice(b"alice");
    let empty = scratch("ticketless-ccache").join("ccache");
    std::fs::write(&empty, bytes)?;
    client_fails_then_next_succeeds(
        "ticketless-ccache",
        HOST,
        &[("KRB5CCNAME", format!("FILE:{}", empty.display()))],
        "NoTicket",
    )
}

fn client_with_fqdn_127_0_0_1_fails_with_unknown_service_principal() -> Result<(), Failed> {
    client_fails_then_next_succeeds("ip-fqdn", "127.0.0.1", &[], "UnknownServicePrincipal")
}

fn client_that_cannot_reach_the_kdc_fails_with_kdc_unreachable() -> Result<(), Failed> {
    let dir = scratch("dead-kdc");
    // A ticket-granting ticket only: the service ticket needs the KDC.
    let ccache = dir.join("tgt-only");
    kdc().kinit(kdc::USER, &ccache);
    let dead = dir.join("krb5.conf");
    kdc().unreachable_krb5_config(&dead);
    let env = [("KRB5_CONFIG", dead.display().to_string()), ("KRB5CCNAME", format!("FILE:{}", ccache.display()))];
    client_fails_then_next_succeeds("dead-kdc", HOST, &env, "KdcUnreachable")
}

fn server_with_a_missing_keytab_fails_with_keytab_missing() -> Result<(), Failed> {
    let missing = format!("FILE:{}", scratch("no-keytab").join("none.keytab").display());
    let good = format!("FILE:{}", kdc().keytab.display());
    server_fails_then_next_succeeds("no-keytab", SERVICE, &missing, &good, "KeytabMissing")
}

fn server_whose_keytab_lacks_the_service_key_fails_with_keytab_lacks_key() -> Result<(), Failed> {
    let other = format!("FILE:{}", kdc().other_keytab.display());
    let good = format!("FILE:{}", kdc().keytab.display());
    server_fails_then_next_succeeds("other-keytab", SERVICE, &other, &good, "KeytabLacksKey")
}

fn server_with_an_outdated_keytab_fails_with_keytab_outdated() -> Result<(), Failed> {
    // A principal of its own (re-keying a shared one would race other trials):
    // its first key into one keytab, a new key in the KDC, and that into another.
    let dir = scratch("outdated-keytab");
    let (service, stale, current) = ("outdated", dir.join("stale.keytab"), dir.join("current.keytab"));
    kdc().kadmin(&format!("addprinc -randkey {service}/{HOST}"));
    kdc().kadmin(&format!("ktadd -k {} {service}/{HOST}", stale.display()));
    kdc().kadmin(&format!("cpw -randkey {service}/{HOST}"));
    kdc().kadmin(&format!("ktadd -norandkey -k {} {service}/{HOST}", current.display()));
    let (stale, current) = (format!("FILE:{}", stale.display()), format!("FILE:{}", current.display()));
    server_fails_then_next_succeeds("outdated-keytab", service, &stale, &current, "KeytabOutdated")
}

/// A `--once` server for `service` with the keytab `bad` fails with `problem`
/// (exit 2: an error, not a rejection, which is exit 1); a server with the
/// keytab `good` then authenticates the same client.
fn server_fails_then_next_succeeds(
    name: &str,
    service: &str,
    bad: &str,
    good: &str,
    problem: &str,
) -> Result<(), Failed> {
    let conf = gssapi_conf(&scratch(name), "");
    let run = |keytab: &str| {
        let mut server = Proc::spawn(
            "sasl-sample server",
            sample("server", &conf, service, HOST, &[("KRB5_KTNAME", keytab.to_owned())])
                .args(["--listen", "127.0.0.1:0", "--once"])
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        );
        let addr = server.wait_for_line("listening on ");
        let (client_status, client_err) = Proc::spawn(
            "sasl-sample client",
            sample("client", &conf, service, HOST, &[])
                .args(["--connect", &addr])
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
        )
        .finish();
        let (server_status, server_err) = server.finish();
        (server_status, server_err, client_status, client_err)
    };
    let (server_status, server_err, client_status, client_err) = run(bad);
    assert_eq!(server_status.code(), Some(2), "server: {server_err}");
    assert!(server_err.contains(&format!("kerberos problem {problem}: ")), "server: {server_err}");
    assert!(!server_err.contains("rejected"), "a server-side fault is not a rejection: {server_err}");
    assert_eq!(client_status.code(), Some(1), "client: {client_err}");
    let (server_status, server_err, client_status, client_err) = run(good);
    assert_eq!(server_status.code(), Some(0), "the next server: {server_err}; client: {client_err}");
    assert_eq!(client_status.code(), Some(0), "the next client: {client_err}");
    Ok(())
}

/// The config files name the keytab (`keytab:`) and the cache (`ccache:`), as
/// a Cyrus user writes them, in every build of the crate and the tool.
fn sasl_sample_uses_keytab_and_ccache_from_its_config() -> Result<(), Failed> {
    let dir = scratch("config-credentials");
    // The environment points nowhere useful: only the config can make this work.
    let nowhere = [
        ("KRB5_KTNAME", format!("FILE:{}", dir.join("none.keytab").display())),
        ("KRB5CCNAME", format!("FILE:{}", dir.join("none.ccache").display())),
    ];
    let bob = dir.join("bob.ccache");
    kdc().kinit(kdc::OTHER_USER, &bob);
    let server_conf = dir.join("server.conf");
    std::fs::write(&server_conf, format!("mech_list: GSSAPI\nmax_ssf: 256\nkeytab: {}\n", kdc().keytab.display()))?;
    let client_conf = dir.join("client.conf");
    std::fs::write(&client_conf, format!("mech_list: GSSAPI\nmax_ssf: 256\nccache: FILE:{}\n", bob.display()))?;

    let mut server = Proc::spawn(
        "sasl-sample server",
        sample("server", &server_conf, SERVICE, HOST, &nowhere)
            .args(["--listen", "127.0.0.1:0", "--once"])
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let addr = server.wait_for_line("listening on ");
    let (client_status, client_err) = tcp_client(&client_conf, &addr, HOST, &nowhere);
    let (server_status, server_err) = server.finish();
    assert_eq!(server_status.code(), Some(0), "server: {server_err}; client: {client_err}");
    assert!(server_err.lines().any(|l| l == "authenticated: bob mech=GSSAPI ssf=256"), "{server_err}");
    assert_eq!(client_status.code(), Some(0), "client: {client_err}");
    Ok(())
}

/// A gsasl GSSAPI client (alice's ticket in KRB5CCNAME) against
/// `sasl-sample server` on stdin/stdout whose config names the keytab with
/// Cyrus's own `keytab:` option, while KRB5_KTNAME points at no keytab. The
/// crate has no build feature for this any more: the test's binary is the
/// default build (MIT's GSS-API library is loaded at run time).
fn gsasl_client_authenticates_to_sasl_sample_server_with_keytab_in_its_config() -> Result<(), Failed> {
    let dir = scratch("gsasl-keytab");
    let conf = dir.join("server.conf");
    std::fs::write(&conf, format!("mech_list: GSSAPI\nkeytab: {}\n", kdc().keytab.display()))?;
    let nowhere = [("KRB5_KTNAME", format!("FILE:{}", dir.join("none.keytab").display()))];
    let mut server = Proc::spawn(
        "sasl-sample server",
        sample("server", &conf, SERVICE, HOST, &nowhere).stdin(Stdio::piped()).stdout(Stdio::piped()),
    );
    let mut client = Proc::spawn(
        "gsasl --client",
        Command::new("gsasl")
            .args(["--client", "-m", "GSSAPI", "--service", SERVICE, "--hostname", HOST, "-a", kdc::USER, "--quiet"])
            .envs(kdc().env())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped()),
    );
    let to_client = common::child::pump(server.stdout(), client.stdin());
    let to_server = common::child::pump(client.stdout(), server.stdin());
    let (server_status, server_err) = server.finish();
    let (client_status, client_err) = client.finish();
    let (to_client, to_server) = (to_client.join().unwrap(), to_server.join().unwrap());
    let transcript = format!(
        "server: {server_err}\nclient: {client_err}\nto client: {:?}\nto server: {:?}",
        String::from_utf8_lossy(&to_client),
        String::from_utf8_lossy(&to_server)
    );
    assert_eq!(server_status.code(), Some(0), "{transcript}");
    assert!(server_err.lines().any(|l| l.starts_with("authenticated: alice mech=GSSAPI")), "{transcript}");
    assert_eq!(client_status.code(), Some(0), "{transcript}");
    Ok(())
}

fn main() -> ExitCode {
    kdc::run_with_kdc(vec![
        Trial::test(
            "client_without_a_credential_cache_fails_with_no_ticket",
            client_without_a_credential_cache_fails_with_no_ticket,
        ),
        Trial::test(
            "client_with_an_empty_credential_cache_fails_with_no_ticket",
            client_with_an_empty_credential_cache_fails_with_no_ticket,
        ),
        Trial::test(
            "client_with_a_truncated_credential_cache_fails_with_no_ticket",
            client_with_a_truncated_credential_cache_fails_with_no_ticket,
        ),
        Trial::test(
            "client_with_a_credential_cache_holding_no_ticket_fails_with_no_ticket",
            client_with_a_credential_cache_holding_no_ticket_fails_with_no_ticket,
        ),
        Trial::test(
            "client_with_fqdn_127_0_0_1_fails_with_unknown_service_principal",
            client_with_fqdn_127_0_0_1_fails_with_unknown_service_principal,
        ),
        Trial::test(
            "client_that_cannot_reach_the_kdc_fails_with_kdc_unreachable",
            client_that_cannot_reach_the_kdc_fails_with_kdc_unreachable,
        ),
        Trial::test(
            "server_with_a_missing_keytab_fails_with_keytab_missing",
            server_with_a_missing_keytab_fails_with_keytab_missing,
        ),
        Trial::test(
            "server_whose_keytab_lacks_the_service_key_fails_with_keytab_lacks_key",
            server_whose_keytab_lacks_the_service_key_fails_with_keytab_lacks_key,
        ),
        Trial::test(
            "server_with_an_outdated_keytab_fails_with_keytab_outdated",
            server_with_an_outdated_keytab_fails_with_keytab_outdated,
        ),
        Trial::test(
            "gsasl_client_authenticates_to_sasl_sample_server_with_keytab_in_its_config",
            gsasl_client_authenticates_to_sasl_sample_server_with_keytab_in_its_config,
        ),
        Trial::test(
            "sasl_sample_uses_keytab_and_ccache_from_its_config",
            sasl_sample_uses_keytab_and_ccache_from_its_config,
        ),
    ])
}

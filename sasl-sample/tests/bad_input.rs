//! The bad-input table (issue 5, part 3): one named row per kind of bad input,
//! each with the exact outcome expected: an [`Error`] variant (and its fields
//! where they are the point), a [`ConfigErrorKind`], a Mesos
//! [`DecodeError`] or [`CredentialsProblem`], an `io::ErrorKind` with the
//! typed error inside, a [`ServerStep::Rejected`], or `sasl-sample`'s exit code
//! and stderr line.
//!
//! The runner, not the rows, adds two checks to every row:
//! - no error a row produces mentions a secret the row used ([`SENTINEL`]);
//! - after the row, complete handshakes on fresh connections in this same
//!   process still succeed: CRAM-MD5 against a sasldb, SCRAM-SHA-256 against
//!   the in-memory store, and GSSAPI against the KDC. Nothing a row did may
//!   leave process-wide state broken.
//!
//! The KDC (tests/common/kdc.rs) makes this a `harness = false` binary. Rows
//! that need another Kerberos environment (a KDC that is down, a missing
//! keytab or credential cache) run their case in a child: this same binary,
//! started with [`CHILD_CASE`] set and the environment changed, which runs
//! only that case, prints its outcome, and exits.
//!
//! `RELIABILITY.md`'s `## Bad input` section lists every row; a test here keeps
//! the two in step.

use cyrus_sasl_test_support as common;

use std::ffi::OsStr;
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::sync::OnceLock;

use common::child::{Proc, collect};
use common::kdc::{self, HOST, SERVICE, USER, kdc};
use common::{Outcome, REALM, handshake};
use cyrus_sasl::{
    Client, ClientStep, Code, Config, ConfigErrorKind, CredentialStore, Credentials, Error, Sasldb, Secret,
    SecureStream, SecurityLayer, Server, ServerStep,
};
use cyrus_sasl_mesos::fuzzing::parse_credentials;
use cyrus_sasl_mesos::{
    CredentialsProblem, DecodeError, FileErrorKind, MAX_CREDENTIALS_FILE_SIZE, Message, MessageType, read_credentials,
};
use libtest_mimic::{Failed, Trial};

/// Every secret the rows use contains this; no error may show it.
const SENTINEL: &str = "SENTINEL";
/// alice's password, in the sasldb and in the in-memory store.
const SECRET: &str = "s3cret-SENTINEL-7f3a";
/// The `sasl-sample` binary of this build.
const SAMPLE: &str = env!("CARGO_BIN_EXE_sasl-sample");
/// Set in a child's environment to the case it runs (see [`child_main`]).
const CHILD_CASE: &str = "BAD_INPUT_CHILD_CASE";

// ---------------------------------------------------------------------------
// The table.

/// One row: its name (the function's), the expected outcome as RELIABILITY.md
/// shows it, and the function that feeds the bad input and checks the outcome.
struct Row {
    name: &'static str,
    expected: &'static str,
    run: fn() -> Result<(), Failed>,
}

macro_rules! table {
    ($($name:ident => $expected:literal,)*) => {
        const ROWS: &[Row] = &[$(Row { name: stringify!($name), expected: $expected, run: $name },)*];
    };
}

table! {
    // NUL bytes in strings given to the API.
    nul_in_server_service => "`Error::Nul { what: \"service\" }`",
    nul_in_server_fqdn => "`Error::Nul { what: \"server FQDN\" }`",
    nul_in_server_realm => "`Error::Nul { what: \"user realm\" }`",
    nul_in_server_mechanism => "`Error::Nul { what: \"mechanism\" }`",
    nul_in_client_service => "`Error::Nul { what: \"service\" }`",
    nul_in_client_authname => "`Error::Nul { what: \"authname\" }`",
    nul_in_client_authzid => "`Error::Nul { what: \"authzid\" }`",
    nul_in_client_realm => "`Error::Nul { what: \"realm\" }`",
    nul_in_client_mechanism_list => "`Error::Nul { what: \"mechanism list\" }`",
    nul_in_config_key_or_value => "`ConfigErrorKind::Nul`",
    nul_in_sasldb_path => "`Error::Sasldb`, io kind `InvalidInput`",
    nul_in_sasldb_user => "`Error::Nul { what: \"user\" }`",
    nul_in_sasldb_password => "`Error::Nul { what: \"password\" }`",
    nul_in_credential_store_principal => "`Error::InvalidCredential` (principal contains a NUL byte)",
    nul_in_credential_store_secret => "`Error::InvalidCredential` (secret contains a NUL byte)",
    // Non-UTF-8 identities.
    non_utf8_user_in_a_sasldb => "`Error::NotUtf8 { what: \"user name\" }` from `Server::start`",
    non_utf8_user_against_the_memory_store => "`ServerStep::Rejected`",
    non_utf8_user_through_a_canon_user_hook => "`Error::Sasl { code: SASL_BADPROT }`, detail \"not UTF-8\"",
    non_utf8_authzid => "`ServerStep::Rejected`",
    // Tokens of 0 bytes, 1 MiB, 16 MiB.
    cram_md5_response_of_0_bytes => "`Error::Sasl { call: \"sasl_server_step\", code: SASL_BADPROT }`",
    cram_md5_response_of_1_mib => "`Error::Sasl { call: \"sasl_server_step\", code: SASL_BADPROT }`",
    cram_md5_response_of_16_mib => "`Error::Sasl { call: \"sasl_server_step\", code: SASL_BADPROT }`",
    cram_md5_initial_response_of_0_bytes => "`Error::Sasl { call: \"sasl_server_start\", code: SASL_BADPROT }`",
    scram_response_of_0_bytes => "`Error::Sasl { call: \"sasl_server_step\", code: SASL_BADPROT }`",
    scram_initial_response_of_1_mib => "`Error::Sasl { call: \"sasl_server_start\", code: SASL_BADPROT }`",
    scram_initial_response_of_16_mib => "`Error::Sasl { call: \"sasl_server_start\", code: SASL_BADPROT }`",
    gssapi_initial_response_of_0_bytes => "`ServerStep::Continue` (MIT krb5's SPNEGO hint), then `Rejected`",
    gssapi_initial_response_of_1_mib => "`ServerStep::Rejected`",
    gssapi_initial_response_of_16_mib => "`ServerStep::Rejected`",
    gssapi_garbage_initial_response => "`ServerStep::Rejected`",
    cram_md5_client_challenge_of_0_bytes => "`ClientStep::Complete` (only the server's verdict counts)",
    cram_md5_client_challenge_of_16_mib => "`Error::Sasl { call: \"sasl_client_step\", code: SASL_BADPROT }`",
    // Mechanisms.
    unknown_mechanism_at_server_start => "`Error::MechanismUnavailable { package: None }`",
    unknown_mechanism_in_mech_list => "`Error::MechanismUnavailable` from `Server::new`",
    unknown_mechanism_offered_to_a_client => "`Error::NoMechanism`",
    mechanism_outside_mech_list => "`Error::MechanismNotOffered`",
    empty_mech_list_on_a_server => "no mechanisms; `Error::MechanismNotOffered { offered: [] }`",
    empty_mech_list_on_a_client => "`Error::Sasl { call: \"sasl_client_new\", code: SASL_NOMECH }`",
    client_without_a_password => "`Error::MissingCredential` naming `SASL_CB_PASS`",
    // Calls out of order.
    server_step_before_start => "`Error::State { state: \"before start\" }`",
    client_step_before_start => "`Error::State { state: \"before start\" }`",
    server_step_after_success => "`Error::State { state: \"after the exchange finished\" }`",
    server_step_after_rejection => "`Error::State { state: \"after the exchange finished\" }`",
    server_step_after_an_error => "`Error::State { state: \"after the exchange finished\" }`",
    client_step_after_completion => "`Error::State { state: \"after the exchange completed\" }`",
    server_start_twice => "`Error::State { state: \"twice on one connection\" }`",
    client_start_twice => "`Error::State { state: \"twice on one connection\" }`",
    security_layer_before_authentication => "`Error::State` from `into_security_layer`",
    security_layer_when_none_was_negotiated => "`Error::NoSecurityLayer`",
    // sasl-sample, and the end of input mid-handshake.
    sasl_sample_malformed_base64 => "exit 2, `sasl-sample: error: the response is not valid base64: ...`",
    sasl_sample_eof_mid_handshake => "exit 2, `sasl-sample: error: ... (expected the response)`",
    sasl_sample_eof_before_the_initial_response => "exit 2, `... (expected the initial response)`",
    // Frames of the security layer (SecureStream), and Mesos messages.
    secure_stream_frame_length_0 => "`InvalidData` carrying `Error::EmptyFrame`",
    secure_stream_frame_length_ffffffff => "`InvalidData` carrying `Error::FrameTooLong { len: 4294967295 }`",
    secure_stream_truncated_header => "`UnexpectedEof` carrying `Error::TruncatedFrame { expected: 4, received: 2 }`",
    secure_stream_truncated_body => "`UnexpectedEof` carrying `Error::TruncatedFrame`",
    secure_stream_corrupt_frame => "`InvalidData` carrying `Error::Sasl { call: \"sasl_decode\" }`",
    mesos_message_garbage_protobuf => "`DecodeError::Protobuf`",
    mesos_message_without_its_required_field => "`DecodeError::MissingField { field: \"pid\" }`",
    // Config files.
    config_invalid_number => "`ConfigErrorKind::BadNumber`, with the line",
    config_duplicate_key => "`ConfigErrorKind::Duplicate { first: 1 }`, with the line",
    config_not_utf8 => "`ConfigErrorKind::NotUtf8`, with the line",
    config_line_without_colon => "`ConfigErrorKind::MissingColon`, with the line",
    config_file_missing => "`ConfigErrorKind::Io(NotFound)`",
    // Credentials files and the in-memory store.
    credentials_file_duplicate_principal_json => "`CredentialsProblem::DuplicatePrincipal`",
    credentials_file_duplicate_principal_text => "`CredentialsProblem::DuplicatePrincipal { first_line: Some(1) }`",
    credentials_file_empty_secret => "`CredentialsProblem::EmptySecret`",
    credentials_file_over_1_mib => "`FileErrorKind::TooLarge`",
    credentials_file_binary_junk => "`CredentialsProblem::NotUtf8`",
    credentials_file_control_characters => "`CredentialsProblem::ControlCharacter`",
    credential_store_duplicate_principal => "`Error::InvalidCredential` (listed twice)",
    credential_store_empty_secret => "`Error::InvalidCredential` (secret is empty)",
    // The sasldb.
    sasldb_missing => "`Error::Sasldb`, io kind `NotFound`",
    sasldb_unreadable => "`Error::Sasl { code: SASL_FAIL }`, \"Unable to open DB\"",
    sasldb_corrupt => "`Error::Sasl { call: \"sasl_server_step\", code: SASL_FAIL }`",
    // Kerberos.
    keytab_missing => "`Error::Kerberos { problem: KeytabMissing }` from `sasl_server_start`",
    ccache_missing => "`Error::Kerberos { problem: NoTicket }` from `sasl_client_start`",
    kdc_down => "`Error::Kerberos { problem: KdcUnreachable }` from `sasl_client_start`",
}

// ---------------------------------------------------------------------------
// How rows check outcomes.

/// Fails when `text` shows a secret.
fn no_secret(text: &str) -> Result<(), Failed> {
    if text.contains(SENTINEL) {
        return Err(format!("a secret appears in an error: {text}").into());
    }
    Ok(())
}

/// Expects `Err` matching the pattern; first checks that neither its `Display`
/// nor its `Debug` form shows a secret.
macro_rules! expect_err {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Ok(ok) => return Err(format!("expected {}, got Ok({ok:?})", stringify!($pattern)).into()),
            Err(e) => {
                no_secret(&format!("{e} {e:?}"))?;
                match e {
                    $pattern $(if $guard)? => {}
                    #[allow(unreachable_patterns)]
                    other => return Err(format!("expected {}, got {other:?}", stringify!($pattern)).into()),
                }
            }
        }
    };
}

/// Expects `Ok` matching the pattern.
macro_rules! expect_ok {
    ($result:expr, $pattern:pat $(if $guard:expr)?) => {
        match $result {
            Ok($pattern) $(if $guard)? => {}
            other => return Err(format!("expected Ok({}), got {other:?}", stringify!($pattern)).into()),
        }
    };
}

/// The typed error inside an I/O error from a `SecureStream`.
fn inner(e: &io::Error) -> Option<&Error> {
    e.get_ref().and_then(|inner| inner.downcast_ref::<Error>())
}

// ---------------------------------------------------------------------------
// Fixtures, made once per run inside the KDC's directory (removed with it).

struct Fixtures {
    /// alice / SECRET in realm EXAMPLE.TEST.
    sasldb: PathBuf,
    /// `caf\xe9` (Latin-1) / SECRET, made by the real saslpasswd2.
    latin1_sasldb: PathBuf,
    /// alice / SECRET.
    store: CredentialStore,
}

fn fixtures() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        let dir = scratch("fixtures");
        let sasldb = dir.join("sasldb2");
        saslpasswd2(&sasldb, b"alice");
        let latin1_sasldb = dir.join("latin1-sasldb2");
        saslpasswd2(&latin1_sasldb, b"caf\xe9");
        let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from(SECRET))])
            .expect("a valid credential");
        Fixtures { sasldb, latin1_sasldb, store }
    })
}

/// `saslpasswd2 -f PATH -a APP -u REALM -c -p USER` with SECRET; `user` may be
/// any bytes (Linux passes argv as bytes).
fn saslpasswd2(path: &Path, user: &[u8]) {
    let mut child = Command::new("saslpasswd2")
        .arg("-f")
        .arg(path)
        .args(["-a", common::APP, "-u", REALM, "-c", "-p"])
        .arg(OsStr::from_bytes(user))
        .stdin(Stdio::piped())
        .spawn()
        .expect("run saslpasswd2 (package sasl2-bin)");
    child.stdin.take().expect("piped").write_all(SECRET.as_bytes()).expect("write the password");
    let status = child.wait().expect("wait for saslpasswd2");
    assert!(status.success(), "saslpasswd2 failed: {status}");
}

/// A directory of its own for `name`, inside the KDC's temp dir.
fn scratch(name: &str) -> PathBuf {
    let dir = kdc().dir.join("scratch").join("bad-input").join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

fn cram_sasldb(path: &Path) -> Config {
    Sasldb::new(path, REALM).expect("a usable path").config().with("mech_list", "CRAM-MD5").expect("valid")
}

fn cram() -> Config {
    cram_sasldb(&fixtures().sasldb)
}

fn memory(mech_list: &str) -> Config {
    Config::new().with("mech_list", mech_list).expect("valid").with_credential_store(&fixtures().store)
}

/// PLAIN against a sasldb, opened up explicitly: by default PLAIN is refused.
fn plain_sasldb(path: &Path) -> Config {
    let config = Sasldb::new(path, REALM).expect("a usable path").config();
    config.with("mech_list", "PLAIN").and_then(|c| c.with("security_flags", "noanonymous")).expect("valid")
}

fn gssapi() -> Config {
    "mech_list: GSSAPI\nmax_ssf: 256\n".parse().expect("a valid config")
}

fn server(config: &Config) -> cyrus_sasl::Result<Server> {
    Server::new("test", "localhost", Some(REALM), config)
}

fn client(credentials: Credentials) -> cyrus_sasl::Result<Client> {
    Client::new("test", "localhost", credentials, &Config::new())
}

fn alice() -> Credentials {
    Credentials::new("alice", SECRET)
}

/// A CRAM-MD5 server against the sasldb, started: the next step takes the
/// client's response.
fn cram_server_after_the_challenge() -> Result<Server, Failed> {
    let mut server = server(&cram())?;
    expect_ok!(server.start("CRAM-MD5", None), ServerStep::Continue(_));
    Ok(server)
}

/// An authenticated GSSAPI pair (SSF 256) turned into security layers:
/// `(client, server)`.
fn gssapi_layers() -> Result<(SecurityLayer, SecurityLayer), Failed> {
    let mut server = Server::new(SERVICE, HOST, None, &gssapi())?;
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &gssapi())?;
    expect_ok!(handshake(&mut client, &mut server), Outcome::Authenticated(_));
    Ok((client.into_security_layer()?, server.into_security_layer()?))
}

/// A stream over the server's layer that reads `wire`.
fn secure_read(wire: Vec<u8>) -> Result<io::Error, Failed> {
    let (_, server) = gssapi_layers()?;
    let mut stream = SecureStream::new(io::Cursor::new(wire), server);
    match stream.read(&mut [0; 64]) {
        Ok(n) => Err(format!("expected an error, read {n} bytes").into()),
        Err(e) => Ok(e),
    }
}

/// Expects `e` to be of `kind`, carrying a typed error that matches.
macro_rules! expect_io {
    ($e:expr, $kind:ident, $pattern:pat $(if $guard:expr)?) => {{
        let e = $e;
        no_secret(&format!("{e} {e:?}"))?;
        if e.kind() != io::ErrorKind::$kind {
            return Err(format!("expected kind {}, got {e:?}", stringify!($kind)).into());
        }
        match inner(&e) {
            Some($pattern) $(if $guard)? => {}
            other => return Err(format!("expected {} inside, got {other:?}", stringify!($pattern)).into()),
        }
    }};
}

// ---------------------------------------------------------------------------
// The rows: NUL bytes.

fn nul_in_server_service() -> Result<(), Failed> {
    expect_err!(Server::new("te\0st", "localhost", None, &Config::new()), Error::Nul { what: "service" });
    Ok(())
}

fn nul_in_server_fqdn() -> Result<(), Failed> {
    expect_err!(Server::new("test", "local\0host", None, &Config::new()), Error::Nul { what: "server FQDN" });
    Ok(())
}

fn nul_in_server_realm() -> Result<(), Failed> {
    expect_err!(Server::new("test", "localhost", Some("EXAMPLE\0"), &Config::new()), Error::Nul { what: "user realm" });
    Ok(())
}

fn nul_in_server_mechanism() -> Result<(), Failed> {
    let mut server = server(&cram())?;
    expect_err!(server.start("CRAM\0MD5", None), Error::Nul { what: "mechanism" });
    Ok(())
}

fn nul_in_client_service() -> Result<(), Failed> {
    expect_err!(Client::new("te\0st", "localhost", alice(), &Config::new()), Error::Nul { what: "service" });
    Ok(())
}

fn nul_in_client_authname() -> Result<(), Failed> {
    expect_err!(client(Credentials::new("al\0ice", SECRET)), Error::Nul { what: "authname" });
    Ok(())
}

fn nul_in_client_authzid() -> Result<(), Failed> {
    expect_err!(client(Credentials { authzid: Some("bo\0b".into()), ..alice() }), Error::Nul { what: "authzid" });
    Ok(())
}

fn nul_in_client_realm() -> Result<(), Failed> {
    expect_err!(client(Credentials { realm: Some("EXAMPLE\0".into()), ..alice() }), Error::Nul { what: "realm" });
    Ok(())
}

fn nul_in_client_mechanism_list() -> Result<(), Failed> {
    let mut client = client(alice())?;
    expect_err!(client.start("CRAM-MD5\0PLAIN"), Error::Nul { what: "mechanism list" });
    Ok(())
}

fn nul_in_config_key_or_value() -> Result<(), Failed> {
    expect_err!(Config::new().with("mech_list", "CRAM-MD5\0PLAIN"), e if e.kind == ConfigErrorKind::Nul);
    expect_err!(Config::new().with("mech\0list", "CRAM-MD5"), e if e.kind == ConfigErrorKind::Nul);
    Ok(())
}

fn nul_in_sasldb_path() -> Result<(), Failed> {
    expect_err!(Sasldb::new("/tmp/bad\0path", REALM), Error::Sasldb { source, .. } if source.kind() == io::ErrorKind::InvalidInput);
    Ok(())
}

fn nul_in_sasldb_user() -> Result<(), Failed> {
    let db = Sasldb::new(scratch("nul-user").join("sasldb2"), REALM)?;
    expect_err!(db.set_password("al\0ice", &Secret::from(SECRET)), Error::Nul { what: "user" });
    Ok(())
}

fn nul_in_sasldb_password() -> Result<(), Failed> {
    // Stored whole, libsasl2's CRAM-MD5 would then accept "pw" for it: its
    // mechanisms read the stored secret as a C string.
    let path = scratch("nul-password").join("sasldb2");
    let db = Sasldb::new(&path, REALM)?;
    expect_err!(db.set_password("carol", &Secret::from("pw\0SENTINEL")), Error::Nul { what: "password" });
    if path.exists() {
        return Err("nothing may be stored".into());
    }
    Ok(())
}

fn nul_in_credential_store_principal() -> Result<(), Failed> {
    let credentials = [("al\0ice".to_owned(), Secret::from(SECRET))];
    expect_err!(
        CredentialStore::from_credentials(credentials),
        Error::InvalidCredential { reason: "the principal contains a NUL byte", .. }
    );
    Ok(())
}

fn nul_in_credential_store_secret() -> Result<(), Failed> {
    // Measured before the store refused it: with "pw\0tail" stored, CRAM-MD5
    // authenticated the password "pw" and rejected "pw\0tail".
    let credentials = [("bob".to_owned(), Secret::from("pw\0SENTINEL"))];
    expect_err!(
        CredentialStore::from_credentials(credentials),
        Error::InvalidCredential { reason: "the secret contains a NUL byte", .. }
    );
    let store = CredentialStore::new();
    expect_err!(
        store.replace([("bob".to_owned(), Secret::from("pw\0SENTINEL"))]),
        Error::InvalidCredential { reason: "the secret contains a NUL byte", .. }
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Non-UTF-8 identities.
//
// libsasl2 checks no encoding: saslpasswd2 stores the Latin-1 name `caf\xe9`
// as it is (`caf\xe9@EXAMPLE.TEST`), and the PLAIN server, which takes the
// name from the client's bytes, authenticates it against that entry and sets
// SASL_USERNAME to those raw bytes.

/// A PLAIN initial response: authzid NUL authcid NUL password.
fn plain(authzid: &[u8], authcid: &[u8], password: &str) -> Vec<u8> {
    [authzid, b"\0", authcid, b"\0", password.as_bytes()].concat()
}

fn non_utf8_user_in_a_sasldb() -> Result<(), Failed> {
    let config = plain_sasldb(&fixtures().latin1_sasldb);
    // The password really is checked: a wrong one is rejected.
    let mut wrong = server(&config)?;
    expect_ok!(wrong.start("PLAIN", Some(&plain(b"", b"caf\xe9", "wrong"))), ServerStep::Rejected(_));
    // The right one authenticates inside libsasl2, but the name cannot be an
    // `Identity` (a String): a typed error, never a lossy or mangled name, and
    // the connection is finished, so it cannot carry a security layer either.
    let mut right = server(&config)?;
    expect_err!(right.start("PLAIN", Some(&plain(b"", b"caf\xe9", SECRET))), Error::NotUtf8 { what: "user name" });
    expect_err!(right.step(b""), Error::State { .. });
    expect_err!(right.into_security_layer(), Error::State { .. });
    Ok(())
}

fn non_utf8_user_against_the_memory_store() -> Result<(), Failed> {
    // The store holds only UTF-8 principals, so no such user exists.
    let mut server = server(&memory("PLAIN").with("security_flags", "noanonymous")?)?;
    expect_ok!(server.start("PLAIN", Some(&plain(b"", b"caf\xe9", SECRET))), ServerStep::Rejected(_));
    Ok(())
}

fn non_utf8_user_through_a_canon_user_hook() -> Result<(), Failed> {
    // The hook takes &str: the trampoline refuses the name before calling it.
    let config = plain_sasldb(&fixtures().latin1_sasldb);
    let mut server =
        Server::with_canon_user("test", "localhost", Some(REALM), &config, |user, _| Some(user.to_owned()))?;
    expect_err!(
        server.start("PLAIN", Some(&plain(b"", b"caf\xe9", SECRET))),
        Error::Sasl { call: "sasl_server_start", code: Code::BADPROT, ref detail } if detail.contains("not UTF-8")
    );
    Ok(())
}

fn non_utf8_authzid() -> Result<(), Failed> {
    // alice may not act as anyone else, whatever the bytes.
    let mut server = server(&plain_sasldb(&fixtures().sasldb))?;
    expect_ok!(server.start("PLAIN", Some(&plain(b"z\xff", b"alice", SECRET))), ServerStep::Rejected(_));
    Ok(())
}

// ---------------------------------------------------------------------------
// Tokens of 0 bytes, 1 MiB and 16 MiB.

const MIB: usize = 1 << 20;

fn cram_md5_response(len: usize) -> Result<(), Failed> {
    let mut server = cram_server_after_the_challenge()?;
    expect_err!(server.step(&vec![b'a'; len]), Error::Sasl { call: "sasl_server_step", code: Code::BADPROT, .. });
    Ok(())
}

fn cram_md5_response_of_0_bytes() -> Result<(), Failed> {
    cram_md5_response(0)
}

fn cram_md5_response_of_1_mib() -> Result<(), Failed> {
    cram_md5_response(MIB)
}

fn cram_md5_response_of_16_mib() -> Result<(), Failed> {
    cram_md5_response(16 * MIB)
}

fn cram_md5_initial_response_of_0_bytes() -> Result<(), Failed> {
    // CRAM-MD5 has no initial response; even an empty one is "remote sent first".
    let mut server = server(&cram())?;
    expect_err!(
        server.start("CRAM-MD5", Some(b"")),
        Error::Sasl { call: "sasl_server_start", code: Code::BADPROT, .. }
    );
    Ok(())
}

fn scram_response_of_0_bytes() -> Result<(), Failed> {
    let mut server = server(&memory("SCRAM-SHA-256"))?;
    expect_ok!(server.start("SCRAM-SHA-256", None), ServerStep::Continue(b""));
    expect_err!(server.step(b""), Error::Sasl { call: "sasl_server_step", code: Code::BADPROT, .. });
    Ok(())
}

fn scram_initial_response(len: usize) -> Result<(), Failed> {
    let mut server = server(&memory("SCRAM-SHA-256"))?;
    expect_err!(
        server.start("SCRAM-SHA-256", Some(&vec![b'n'; len])),
        Error::Sasl { call: "sasl_server_start", code: Code::BADPROT, .. }
    );
    Ok(())
}

fn scram_initial_response_of_1_mib() -> Result<(), Failed> {
    scram_initial_response(MIB)
}

fn scram_initial_response_of_16_mib() -> Result<(), Failed> {
    scram_initial_response(16 * MIB)
}

fn gssapi_initial_response(token: &[u8]) -> Result<(), Failed> {
    let mut server = Server::new(SERVICE, HOST, None, &gssapi())?;
    expect_ok!(server.start("GSSAPI", Some(token)), ServerStep::Rejected(_));
    Ok(())
}

fn gssapi_initial_response_of_0_bytes() -> Result<(), Failed> {
    // MIT krb5's gss_accept_sec_context answers an empty token with a SPNEGO
    // NegTokenInit2 "hint" (mechanism Kerberos, principal
    // "not_defined_in_RFC4178@please_ignore"), which libsasl2 passes on as a
    // challenge. A client that then sends nothing valid is rejected.
    let mut server = Server::new(SERVICE, HOST, None, &gssapi())?;
    expect_ok!(server.start("GSSAPI", Some(b"")), ServerStep::Continue(hint) if hint.windows(13).any(|w| w == b"please_ignore"));
    expect_ok!(server.step(b""), ServerStep::Rejected(_));
    Ok(())
}

fn gssapi_initial_response_of_1_mib() -> Result<(), Failed> {
    gssapi_initial_response(&vec![0x60; MIB])
}

fn gssapi_initial_response_of_16_mib() -> Result<(), Failed> {
    gssapi_initial_response(&vec![0x60; 16 * MIB])
}

fn gssapi_garbage_initial_response() -> Result<(), Failed> {
    gssapi_initial_response(b"\x60\x03not a kerberos AP-REQ")
}

fn cram_md5_client_challenge_of_0_bytes() -> Result<(), Failed> {
    let mut client = client(alice())?;
    client.start("CRAM-MD5")?;
    expect_ok!(client.step(b""), ClientStep::Complete(Some(_)));
    Ok(())
}

fn cram_md5_client_challenge_of_16_mib() -> Result<(), Failed> {
    let mut client = client(alice())?;
    client.start("CRAM-MD5")?;
    expect_err!(client.step(&vec![b'<'; 16 * MIB]), Error::Sasl { call: "sasl_client_step", code: Code::BADPROT, .. });
    Ok(())
}

// ---------------------------------------------------------------------------
// Mechanisms.

fn unknown_mechanism_at_server_start() -> Result<(), Failed> {
    let mut server = server(&cram())?;
    expect_err!(
        server.start("NO-SUCH-MECH", None),
        Error::MechanismUnavailable { package: None, ref mechanism, .. } if mechanism == "NO-SUCH-MECH"
    );
    Ok(())
}

fn unknown_mechanism_in_mech_list() -> Result<(), Failed> {
    let config = cram().with("mech_list", "CRAM-MD5 NO-SUCH-MECH")?;
    expect_err!(
        Server::new("test", "localhost", Some(REALM), &config),
        Error::MechanismUnavailable { ref mechanism, .. } if mechanism == "NO-SUCH-MECH"
    );
    Ok(())
}

fn unknown_mechanism_offered_to_a_client() -> Result<(), Failed> {
    let mut client = client(alice())?;
    expect_err!(client.start("NO-SUCH-MECH"), Error::NoMechanism { ref offered, .. } if offered == &["NO-SUCH-MECH"]);
    Ok(())
}

fn mechanism_outside_mech_list() -> Result<(), Failed> {
    let mut server = server(&cram())?;
    expect_err!(
        server.start("PLAIN", Some(&plain(b"", b"alice", SECRET))),
        Error::MechanismNotOffered { ref offered, .. } if offered == &["CRAM-MD5"]
    );
    Ok(())
}

fn empty_mech_list_on_a_server() -> Result<(), Failed> {
    // libsasl2 reads an empty mech_list as "none", not as "all installed".
    for list in ["", " ", ","] {
        let mut server = server(&cram().with("mech_list", list)?)?;
        if !server.mechanisms()?.is_empty() {
            return Err(format!("mech_list {list:?} offers {:?}", server.mechanisms()?).into());
        }
        expect_err!(
            server.start("PLAIN", Some(&plain(b"", b"alice", SECRET))),
            Error::MechanismNotOffered { ref offered, .. } if offered.is_empty()
        );
    }
    Ok(())
}

fn empty_mech_list_on_a_client() -> Result<(), Failed> {
    let config = Config::new().with("mech_list", "")?;
    expect_err!(
        Client::new("test", "localhost", alice(), &config),
        Error::Sasl { call: "sasl_client_new", code: Code::NOMECH, .. }
    );
    Ok(())
}

fn client_without_a_password() -> Result<(), Failed> {
    let mut client = client(Credentials { authname: "alice".into(), ..Default::default() })?;
    expect_ok!(client.start("CRAM-MD5"), cyrus_sasl::ClientStart { mechanism: "CRAM-MD5", .. });
    expect_err!(
        client.step(b"<1896.697170952@postoffice.example.net>"),
        Error::MissingCredential { ref missing } if missing == &["password (SASL_CB_PASS)"]
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Calls out of order.

fn server_step_before_start() -> Result<(), Failed> {
    let mut server = server(&cram())?;
    expect_err!(server.step(b"x"), Error::State { call: "Server::step", state: "before start" });
    Ok(())
}

fn client_step_before_start() -> Result<(), Failed> {
    let mut client = client(alice())?;
    expect_err!(client.step(b"x"), Error::State { call: "Client::step", state: "before start" });
    Ok(())
}

fn server_step_after_success() -> Result<(), Failed> {
    let (mut server, mut client) = (server(&cram())?, client(alice())?);
    expect_ok!(handshake(&mut client, &mut server), Outcome::Authenticated(_));
    expect_err!(server.step(b"x"), Error::State { call: "Server::step", state: "after the exchange finished" });
    Ok(())
}

fn server_step_after_rejection() -> Result<(), Failed> {
    let (mut server, mut client) = (server(&cram())?, client(Credentials::new("alice", "wrong"))?);
    expect_ok!(handshake(&mut client, &mut server), Outcome::Rejected);
    expect_err!(server.step(b"x"), Error::State { call: "Server::step", state: "after the exchange finished" });
    Ok(())
}

fn server_step_after_an_error() -> Result<(), Failed> {
    let mut server = cram_server_after_the_challenge()?;
    // A CRAM-MD5 response is "user SP hexdigest"; no space is a protocol error.
    expect_err!(
        server.step(b"no-space-here"),
        Error::Sasl { call: "sasl_server_step", code: Code::BADPROT, ref detail } if !detail.is_empty()
    );
    expect_err!(server.step(b"again"), Error::State { call: "Server::step", state: "after the exchange finished" });
    Ok(())
}

fn client_step_after_completion() -> Result<(), Failed> {
    // libsasl2 itself answers SASL_FAIL with a stale detail ("Unable to find a
    // callback: 32775"); the client says what is wrong instead.
    let mut client = client(alice())?;
    client.start("CRAM-MD5")?;
    expect_ok!(client.step(b"<1.2@host>"), ClientStep::Complete(Some(_)));
    expect_err!(
        client.step(b"<1.2@host>"),
        Error::State { call: "Client::step", state: "after the exchange completed" }
    );
    Ok(())
}

fn server_start_twice() -> Result<(), Failed> {
    let mut server = cram_server_after_the_challenge()?;
    expect_err!(
        server.start("CRAM-MD5", None),
        Error::State { call: "Server::start", state: "twice on one connection" }
    );
    Ok(())
}

fn client_start_twice() -> Result<(), Failed> {
    let mut client = client(alice())?;
    client.start("CRAM-MD5")?;
    expect_err!(client.start("CRAM-MD5"), Error::State { call: "Client::start", state: "twice on one connection" });
    Ok(())
}

fn security_layer_before_authentication() -> Result<(), Failed> {
    expect_err!(server(&cram())?.into_security_layer(), Error::State { call: "Server::into_security_layer", .. });
    let mut client = client(alice())?;
    client.start("CRAM-MD5")?;
    expect_err!(client.into_security_layer(), Error::State { call: "Client::into_security_layer", .. });
    Ok(())
}

fn security_layer_when_none_was_negotiated() -> Result<(), Failed> {
    let (mut server, mut client) = (server(&cram())?, client(alice())?);
    expect_ok!(handshake(&mut client, &mut server), Outcome::Authenticated(_));
    expect_err!(server.into_security_layer(), Error::NoSecurityLayer { ref mechanism } if mechanism == "CRAM-MD5");
    expect_err!(client.into_security_layer(), Error::NoSecurityLayer { .. });
    Ok(())
}

// ---------------------------------------------------------------------------
// sasl-sample, and the end of input mid-handshake.

/// Runs `sasl-sample server` (CRAM-MD5 against the sasldb) on stdin `input`;
/// returns its status, stdout and stderr.
fn sasl_sample_server(input: &'static [u8]) -> Result<(ExitStatus, String, String), Failed> {
    let conf = scratch("sasl-sample").join("cram.conf");
    let text = format!(
        "mech_list: CRAM-MD5\npwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\n",
        fixtures().sasldb.display()
    );
    std::fs::write(&conf, text)?;
    let mut command = Command::new(SAMPLE);
    command.arg("server").arg("--config").arg(&conf).args(["--realm", REALM]).stdin(Stdio::piped());
    let mut server = Proc::spawn("sasl-sample server", command.stdout(Stdio::piped()));
    let mut stdin = server.stdin();
    // The server may stop reading early; a failed write is then expected.
    let feeder = std::thread::spawn(move || drop(stdin.write_all(input)));
    let out = collect(server.stdout());
    let (status, err) = server.finish();
    feeder.join().map_err(|_| "the feeder thread panicked")?;
    Ok((status, out.join().map_err(|_| "the stdout thread panicked")?, err))
}

/// Expects exit code 2 and a last stderr line starting with `prefix` and
/// ending with `suffix`.
fn sample_failed(result: (ExitStatus, String, String), prefix: &str, suffix: &str) -> Result<(), Failed> {
    let (status, out, err) = result;
    no_secret(&err)?;
    let last = err.lines().last().unwrap_or_default();
    if status.code() != Some(2) || !last.starts_with(prefix) || !last.ends_with(suffix) {
        return Err(format!(
            "expected exit 2 and {prefix:?}...{suffix:?}; got {status}, stdout {out:?}, stderr {err:?}"
        )
        .into());
    }
    Ok(())
}

fn sasl_sample_malformed_base64() -> Result<(), Failed> {
    let result = sasl_sample_server(b"CRAM-MD5\n\n*** not base64 ***\n")?;
    sample_failed(result, "sasl-sample: error: the response is not valid base64: ", "")
}

fn sasl_sample_eof_mid_handshake() -> Result<(), Failed> {
    let result = sasl_sample_server(b"CRAM-MD5\n\n")?;
    if result.1.lines().count() != 1 {
        return Err(format!("the server should have sent its challenge: {:?}", result.1).into());
    }
    sample_failed(result, "sasl-sample: error: ", "(expected the response)")
}

fn sasl_sample_eof_before_the_initial_response() -> Result<(), Failed> {
    let result = sasl_sample_server(b"CRAM-MD5\n")?;
    sample_failed(result, "sasl-sample: error: ", "(expected the initial response)")
}

// ---------------------------------------------------------------------------
// Frames.

fn secure_stream_frame_length_0() -> Result<(), Failed> {
    expect_io!(secure_read(vec![0, 0, 0, 0, 1, 2, 3])?, InvalidData, Error::EmptyFrame);
    Ok(())
}

fn secure_stream_frame_length_ffffffff() -> Result<(), Failed> {
    let wire = [0xff, 0xff, 0xff, 0xff, 1, 2, 3].to_vec();
    expect_io!(secure_read(wire)?, InvalidData, Error::FrameTooLong { len: 0xFFFF_FFFF, .. });
    Ok(())
}

fn secure_stream_truncated_header() -> Result<(), Failed> {
    expect_io!(secure_read(vec![0, 0])?, UnexpectedEof, Error::TruncatedFrame { expected: 4, received: 2 });
    Ok(())
}

fn secure_stream_truncated_body() -> Result<(), Failed> {
    let (mut client, server) = gssapi_layers()?;
    let frame = client.encode(b"a whole frame")?.to_vec();
    let cut = frame.len() - 1;
    let mut stream = SecureStream::new(io::Cursor::new(frame[..cut].to_vec()), server);
    let e = stream.read(&mut [0; 64]).err().ok_or("a truncated frame must fail")?;
    expect_io!(e, UnexpectedEof, Error::TruncatedFrame { expected, received } if *expected == cut + 1 && *received == cut);
    Ok(())
}

fn secure_stream_corrupt_frame() -> Result<(), Failed> {
    let (mut client, server) = gssapi_layers()?;
    let mut frame = client.encode(b"tamper with me")?.to_vec();
    let last = frame.len() - 1;
    frame[last] ^= 1;
    let mut stream = SecureStream::new(io::Cursor::new(frame), server);
    let e = stream.read(&mut [0; 64]).err().ok_or("a tampered frame must fail")?;
    expect_io!(e, InvalidData, Error::Sasl { call: "sasl_decode", .. });
    Ok(())
}

fn mesos_message_garbage_protobuf() -> Result<(), Failed> {
    // A length running past the end of the body.
    let garbage = Message::decode(MessageType::Step.tag(), &[0x0a, 0xff, 0x01]);
    expect_err!(garbage, DecodeError::Protobuf { message: MessageType::Step, .. });
    Ok(())
}

fn mesos_message_without_its_required_field() -> Result<(), Failed> {
    let empty = Message::decode(MessageType::Authenticate.tag(), b"");
    expect_err!(empty, DecodeError::MissingField { message: MessageType::Authenticate, field: "pid" });
    Ok(())
}

// ---------------------------------------------------------------------------
// Config files.

fn config_file(name: &str, bytes: &[u8]) -> Result<Result<Config, cyrus_sasl::ConfigError>, Failed> {
    let path = scratch("config").join(name);
    std::fs::write(&path, bytes)?;
    Ok(Config::from_file(&path))
}

fn config_invalid_number() -> Result<(), Failed> {
    expect_err!(
        config_file("number.conf", b"mech_list: CRAM-MD5\nmax_ssf: lots\n")?,
        e if e.line == 2 && matches!(e.kind, ConfigErrorKind::BadNumber { .. })
    );
    Ok(())
}

fn config_duplicate_key() -> Result<(), Failed> {
    expect_err!(
        config_file("duplicate.conf", b"mech_list: CRAM-MD5\nsasldb_path: /a\nmech_list: PLAIN\n")?,
        e if e.line == 3 && e.kind == ConfigErrorKind::Duplicate { key: "mech_list".into(), first: 1 }
    );
    Ok(())
}

fn config_not_utf8() -> Result<(), Failed> {
    expect_err!(
        config_file("latin1.conf", b"mech_list: CRAM-MD5\nsasldb_path: /caf\xe9\n")?,
        e if e.line == 2 && e.kind == ConfigErrorKind::NotUtf8
    );
    Ok(())
}

fn config_line_without_colon() -> Result<(), Failed> {
    expect_err!(
        config_file("colon.conf", b"mech_list CRAM-MD5\n")?,
        e if e.line == 1 && e.kind == ConfigErrorKind::MissingColon
    );
    Ok(())
}

fn config_file_missing() -> Result<(), Failed> {
    expect_err!(
        Config::from_file(scratch("config").join("no-such.conf")),
        e if matches!(e.kind, ConfigErrorKind::Io(io::ErrorKind::NotFound, _))
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Credentials files and the in-memory store.

fn credentials_file(name: &str, bytes: &[u8]) -> Result<PathBuf, Failed> {
    let path = scratch("credentials").join(name);
    std::fs::write(&path, bytes)?;
    Ok(path)
}

fn credentials_file_duplicate_principal_json() -> Result<(), Failed> {
    let json = br#"{"credentials": [{"principal": "fw", "secret": "a-SENTINEL"}, {"principal": "fw", "secret": "b-SENTINEL"}]}"#;
    expect_err!(
        read_credentials(credentials_file("dup.json", json)?),
        e if matches!(e.credentials_problem(), Some(CredentialsProblem::DuplicatePrincipal { principal, .. }) if principal == "fw")
    );
    Ok(())
}

fn credentials_file_duplicate_principal_text() -> Result<(), Failed> {
    expect_err!(
        read_credentials(credentials_file("dup.txt", b"fw a-SENTINEL\nagent c-SENTINEL\nfw b-SENTINEL\n")?),
        e if e.line == 3
            && e.credentials_problem() == Some(&CredentialsProblem::DuplicatePrincipal { principal: "fw".into(), first_line: Some(1) })
    );
    Ok(())
}

fn credentials_file_empty_secret() -> Result<(), Failed> {
    let json = br#"{"credentials": [{"principal": "fw", "secret": ""}]}"#;
    expect_err!(
        read_credentials(credentials_file("empty.json", json)?),
        e if e.credentials_problem() == Some(&CredentialsProblem::EmptySecret { principal: "fw".into() })
    );
    Ok(())
}

fn credentials_file_over_1_mib() -> Result<(), Failed> {
    // Valid text credentials, just too many of them.
    let mut text = Vec::new();
    let mut i = 0;
    while text.len() as u64 <= MAX_CREDENTIALS_FILE_SIZE {
        text.extend_from_slice(format!("principal{i} secret-SENTINEL-{i}\n").as_bytes());
        i += 1;
    }
    expect_err!(
        read_credentials(credentials_file("huge.txt", &text)?),
        e if matches!(e.kind, FileErrorKind::TooLarge { limit: MAX_CREDENTIALS_FILE_SIZE })
    );
    Ok(())
}

fn credentials_file_binary_junk() -> Result<(), Failed> {
    // Bytes of a pseudo-random sequence, as a binary file would have.
    let mut state = 0x2545_f491_u32;
    let junk: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect();
    expect_err!(read_credentials(credentials_file("junk.bin", &junk)?), e if e.credentials_problem() == Some(&CredentialsProblem::NotUtf8));
    Ok(())
}

fn credentials_file_control_characters() -> Result<(), Failed> {
    expect_err!(parse_credentials(b"fw secret-SENTINEL\n\x01\x02\x03 x\n"), e if e.line == 2 && e.credentials_problem() == Some(&CredentialsProblem::ControlCharacter));
    Ok(())
}

fn credential_store_duplicate_principal() -> Result<(), Failed> {
    let credentials = [("fw".to_owned(), Secret::from("a-SENTINEL")), ("fw".to_owned(), Secret::from("b-SENTINEL"))];
    expect_err!(
        CredentialStore::from_credentials(credentials),
        Error::InvalidCredential { reason: "the principal is listed twice", .. }
    );
    Ok(())
}

fn credential_store_empty_secret() -> Result<(), Failed> {
    expect_err!(
        CredentialStore::from_credentials([("fw".to_owned(), Secret::from(""))]),
        Error::InvalidCredential { reason: "the secret is empty", .. }
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// The sasldb.

fn login(config: &Config) -> cyrus_sasl::Result<Outcome> {
    let mut server = Server::new("test", "localhost", Some(REALM), config)?;
    let mut client = Client::new("test", "localhost", alice(), &Config::new())?;
    handshake(&mut client, &mut server)
}

fn sasldb_missing() -> Result<(), Failed> {
    // libsasl2 alone would call everyone an unknown user.
    let missing = scratch("sasldb-missing").join("no-such-sasldb");
    expect_err!(
        login(&cram_sasldb(&missing)),
        Error::Sasldb { ref path, ref source } if path == &missing && source.kind() == io::ErrorKind::NotFound
    );
    Ok(())
}

fn sasldb_unreadable() -> Result<(), Failed> {
    // Tests run as root, which ignores permission bits: a directory where the
    // file should be makes Berkeley DB's open fail instead.
    expect_err!(
        login(&cram_sasldb(&scratch("sasldb-unreadable"))),
        Error::Sasl { code: Code::FAIL, ref detail, .. } if detail.contains("Unable to open DB")
    );
    Ok(())
}

fn sasldb_corrupt() -> Result<(), Failed> {
    let path = scratch("sasldb-corrupt").join("sasldb2");
    std::fs::write(&path, b"this is not a Berkeley DB file, only junk bytes............")?;
    expect_err!(
        login(&cram_sasldb(&path)),
        Error::Sasl { call: "sasl_server_step", code: Code::FAIL, ref detail } if detail.contains("Unable to open DB")
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Kerberos, in a child process with its own environment.

/// Runs `case` in a child (this binary, see [`child_main`]) with the KDC's
/// environment changed by `env`, and checks the outcome line it prints.
fn in_child(case: &str, env: &[(&str, String)], expected: &str) -> Result<(), Failed> {
    let mut command = Command::new(std::env::current_exe()?);
    command.env(CHILD_CASE, case).envs(env.iter().map(|(k, v)| (k, v))).stdin(Stdio::null()).stdout(Stdio::piped());
    let mut child = Proc::spawn("bad_input child", &mut command);
    let out = collect(child.stdout());
    let (status, err) = child.finish();
    let out = out.join().map_err(|_| "the stdout thread panicked")?;
    no_secret(&out)?;
    let line = out.lines().find_map(|l| l.strip_prefix("outcome: "));
    if !status.success() || line != Some(expected) {
        return Err(format!("child {case}: expected {expected:?}; got {status}, stdout {out:?}, stderr {err:?}").into());
    }
    Ok(())
}

fn keytab_missing() -> Result<(), Failed> {
    let missing = scratch("keytab-missing").join("none.keytab");
    let env = [("KRB5_KTNAME", format!("FILE:{}", missing.display()))];
    in_child("handshake", &env, "Kerberos KeytabMissing from sasl_server_start")
}

fn ccache_missing() -> Result<(), Failed> {
    let missing = scratch("ccache-missing").join("none");
    let env = [("KRB5CCNAME", format!("FILE:{}", missing.display()))];
    in_child("handshake", &env, "Kerberos NoTicket from sasl_client_start")
}

fn kdc_down() -> Result<(), Failed> {
    // A krb5.conf naming a loopback port nothing listens on, and a cache with
    // only a ticket-granting ticket: the service ticket needs the KDC.
    let dir = scratch("kdc-down");
    let ccache = dir.join("tgt-only");
    kdc().kinit(USER, &ccache);
    let dead = dir.join("krb5.conf");
    kdc().unreachable_krb5_config(&dead);
    let env = [("KRB5_CONFIG", dead.display().to_string()), ("KRB5CCNAME", format!("FILE:{}", ccache.display()))];
    in_child("handshake", &env, "Kerberos KdcUnreachable from sasl_client_start")
}

/// The child's side: runs `case` in this process's environment, prints
/// `outcome: ...`, and exits.
fn child_main(case: &str) -> ExitCode {
    let outcome = match case {
        "handshake" => {
            let attempt = || {
                let mut server = Server::new(SERVICE, HOST, None, &gssapi())?;
                let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &gssapi())?;
                handshake(&mut client, &mut server)
            };
            match attempt() {
                Err(Error::Kerberos { call, problem, .. }) => format!("Kerberos {problem:?} from {call}"),
                other => format!("{other:?}"),
            }
        }
        _ => {
            eprintln!("unknown child case {case:?}");
            return ExitCode::FAILURE;
        }
    };
    println!("outcome: {outcome}");
    ExitCode::SUCCESS
}

// ---------------------------------------------------------------------------
// The runner.

/// After every row: complete handshakes on fresh connections, in this process,
/// for CRAM-MD5 (sasldb), SCRAM-SHA-256 (in-memory store) and GSSAPI (KDC).
fn fresh_handshakes_succeed() -> Result<(), Failed> {
    let pairs = [
        (server(&cram())?, client(alice())?, "alice@EXAMPLE.TEST"),
        (server(&memory("SCRAM-SHA-256"))?, client(alice())?, "alice@EXAMPLE.TEST"),
        (
            Server::new(SERVICE, HOST, None, &gssapi())?,
            Client::new(SERVICE, HOST, Credentials::kerberos(), &gssapi())?,
            USER,
        ),
    ];
    for (mut server, mut client, user) in pairs {
        match handshake(&mut client, &mut server) {
            Ok(Outcome::Authenticated(identity)) if identity.user() == user => {}
            other => return Err(format!("the next handshake failed: expected {user}, got {other:?}").into()),
        }
    }
    Ok(())
}

/// The `## Bad input` section of RELIABILITY.md.
fn readme_subsection() -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../RELIABILITY.md"))
        .expect("RELIABILITY.md");
    let start = readme.find("\n## Bad input\n").expect("RELIABILITY.md has a `## Bad input` section");
    let rest = &readme[start + 1..];
    let end = rest[1..].find("\n#").map_or(rest.len(), |i| i + 2);
    rest[..end].to_owned()
}

/// The RELIABILITY.md row for `row`.
fn readme_line(row: &Row) -> String {
    format!("| `{}` | {} |", row.name, row.expected)
}

fn readme_lists_every_row_of_the_table() -> Result<(), Failed> {
    let section = readme_subsection();
    let lines: Vec<&str> = section.lines().collect();
    let missing: Vec<String> = ROWS.iter().map(readme_line).filter(|line| !lines.contains(&line.as_str())).collect();
    let names: Vec<&str> = ROWS.iter().map(|r| r.name).collect();
    let stale: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("| `")?.split('`').next())
        .filter(|name| !names.contains(name))
        .collect();
    if missing.is_empty() && stale.is_empty() {
        return Ok(());
    }
    let table: Vec<String> = ROWS.iter().map(readme_line).collect();
    Err(format!(
        "RELIABILITY.md's `## Bad input` is out of step with tests/bad_input.rs.\nmissing or different: {missing:#?}\n\
         not in the table: {stale:?}\nthe rows as they should read:\n{}",
        table.join("\n")
    )
    .into())
}

fn main() -> ExitCode {
    if let Ok(case) = std::env::var(CHILD_CASE) {
        return child_main(&case);
    }
    let mut names = std::collections::HashSet::new();
    assert!(ROWS.iter().all(|row| names.insert(row.name)), "row names are unique");
    let mut trials: Vec<Trial> = ROWS
        .iter()
        .map(|row| {
            Trial::test(row.name, move || {
                (row.run)().map_err(|e| Failed::from(format!("{}: {}", row.name, e.message().unwrap_or("failed"))))?;
                fresh_handshakes_succeed()
            })
        })
        .collect();
    trials.push(Trial::test("readme_lists_every_row_of_the_table", readme_lists_every_row_of_the_table));
    kdc::run_with_kdc(trials)
}

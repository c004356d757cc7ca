//! The interop matrix: this crate against independent SASL implementations,
//! each peer a child process, each cell with a right and a wrong secret.
//!
//! | Our side | Peer | Mechanisms |
//! |---|---|---|
//! | `Server` (in this process) | `gsasl --client` | CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256, GSSAPI |
//! | `Client` (in this process) | `gsasl --server` | CRAM-MD5, SCRAM-SHA-256, GSSAPI |
//! | `Server` (in this process) | pure-sasl (`/usr/bin/python3`) | CRAM-MD5 |
//! | `sasl-sample client` | `sasl-sample server`, loopback TCP | CRAM-MD5, DIGEST-MD5, SCRAM-SHA-256, GSSAPI |
//!
//! When our side is the server, a trial asserts the exact [`Identity`] or
//! [`ServerStep::Rejected`]. When the peer is the server, it asserts the peer's
//! verdict: its exit status and what it printed. RELIABILITY.md's "Interop matrix"
//! lists the same cells; keep the two in step.
//!
//! Passwords live in one sasldb made by the real `saslpasswd2` (alice, realm
//! EXAMPLE.TEST); Kerberos is the real KDC of `common::kdc`, which is why this
//! binary has no libtest harness. Every child is owned by a [`Proc`], killed
//! and reaped when dropped, and every read from it has a deadline, so a stalled
//! peer fails its trial instead of hanging the run.
//!
//! What "wrong secret" means for GSSAPI, where the client holds a ticket rather
//! than a password, is decided per row next to the trials.

use cyrus_sasl_test_support as common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitCode, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, OnceLock};
use std::thread;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::REALM;
use common::child::{DEADLINE, Proc};
use common::kdc::{self, HOST, SERVICE, kdc};
use cyrus_sasl::{Client, ClientStep, Config, Credentials, Identity, ProxyRequest, Server, ServerStep};
use libtest_mimic::{Failed, Trial};

const SAMPLE: &str = env!("CARGO_BIN_EXE_sasl-sample");

/// The password of alice in the sasldb.
const SECRET: &str = "interop-secret";
/// What every wrong-secret trial sends instead.
const WRONG: &str = "not-the-secret";
/// The service name of the password mechanisms (DIGEST-MD5 puts `SERVICE/HOST`
/// in its digest-uri, which the server checks).
const PASSWORD_SERVICE: &str = "sample";

/// The password mechanisms, one config each.
const CRAM: &str = "CRAM-MD5";
const DIGEST: &str = "DIGEST-MD5";
const SCRAM: &str = "SCRAM-SHA-256";
const GSSAPI: &str = "GSSAPI";

// ---------------------------------------------------------------------------
// Shared setup
// ---------------------------------------------------------------------------

/// The sasldb with alice, made once per run inside the KDC's temp dir.
fn sasldb() -> &'static Path {
    static DB: OnceLock<PathBuf> = OnceLock::new();
    DB.get_or_init(|| {
        let path = kdc().dir.join("interop-sasldb2");
        // saslpasswd2 also stores alice's SCRAM secrets (sasl_setpass).
        common::saslpasswd2(&path, REALM, "alice", SECRET);
        path
    })
}

/// A server config for `mech` against the sasldb, or for GSSAPI.
/// `mech_list: MECH`; for PLAIN, which these trials run without a security
/// layer, plaintext is allowed explicitly (the default refuses it).
fn mech_config(mech: &str) -> Config {
    let config = Config::new().with("mech_list", mech).expect("a valid mech_list");
    if mech == PLAIN { config.with("security_flags", "noanonymous").expect("valid security_flags") } else { config }
}

fn config(mech: &str) -> Config {
    let config = mech_config(mech);
    if mech == GSSAPI {
        return config;
    }
    let db = sasldb().to_str().expect("the temp dir path is UTF-8");
    config
        .with("pwcheck_method", "auxprop")
        .and_then(|c| c.with("auxprop_plugin", "sasldb"))
        .and_then(|c| c.with("sasldb_path", db))
        .expect("valid sasldb options")
}

/// Our server for `mech`: the password mechanisms with user realm EXAMPLE.TEST
/// (so alice is `alice@EXAMPLE.TEST`), GSSAPI for `mesos/localhost` with no
/// user realm (so alice is `alice`, the KDC's default realm stripped).
fn our_server(mech: &str) -> Server {
    let server = match mech {
        GSSAPI => Server::new(SERVICE, HOST, None, &config(mech)),
        _ => Server::new(PASSWORD_SERVICE, HOST, Some(REALM), &config(mech)),
    };
    server.expect("Server::new")
}

/// A scratch directory inside the KDC's, removed with it.
fn scratch(name: &str) -> PathBuf {
    let dir = kdc().dir.join("interop").join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

/// The identity our server must report for alice.
fn alice(mech: &str) -> Identity {
    let authid = if mech == GSSAPI { "alice".to_owned() } else { format!("alice@{REALM}") };
    Identity { authid, authzid: None, mechanism: mech.to_owned(), ssf: 0 }
}

// ---------------------------------------------------------------------------
// A peer speaking gsasl's stdio protocol: one base64 token per line
// ---------------------------------------------------------------------------

/// gsasl's GSSAPI server asks this on stdout, without a newline, and waits for
/// `y` ([`against_gsasl_server`] answers it).
const GSS_PROMPT: &[u8] = b"Validate GSS-API user? (y/n) ";

/// A child whose stdout is read line by line (and [`GSS_PROMPT`] as a line of
/// its own) by a thread, so every read can have a deadline.
struct LinePeer {
    proc: Proc,
    stdin: Option<ChildStdin>,
    lines: Receiver<Vec<u8>>,
    /// Everything read so far, for failure messages.
    transcript: Vec<String>,
}

impl LinePeer {
    fn spawn(name: &'static str, command: &mut Command) -> LinePeer {
        let mut proc = Proc::spawn(name, command.stdin(Stdio::piped()).stdout(Stdio::piped()));
        let stdin = Some(proc.stdin());
        let mut stdout = proc.stdout();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            // Byte by byte: the prompt has no newline, and these lines are short.
            while let Ok(1) = stdout.read(&mut byte) {
                if byte[0] == b'\n' {
                    if tx.send(std::mem::take(&mut line)).is_err() {
                        return;
                    }
                    continue;
                }
                line.push(byte[0]);
                if line == GSS_PROMPT && tx.send(std::mem::take(&mut line)).is_err() {
                    return;
                }
            }
        });
        LinePeer { proc, stdin, lines, transcript: Vec::new() }
    }

    /// The next line, or `None` once the peer closed its stdout (it exited).
    fn read_line(&mut self) -> Result<Option<Vec<u8>>, Failed> {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => {
                self.transcript.push(String::from_utf8_lossy(&line).into_owned());
                Ok(Some(line))
            }
            Err(RecvTimeoutError::Disconnected) => Ok(None),
            Err(RecvTimeoutError::Timeout) => {
                Err(format!("{} sent no line within {DEADLINE:?}; it sent {:?}", self.proc.name, self.transcript)
                    .into())
            }
        }
    }

    /// The next line, decoded from base64; `None` at end of output.
    fn read_token(&mut self) -> Result<Option<Vec<u8>>, Failed> {
        let Some(line) = self.read_line()? else { return Ok(None) };
        let token =
            STANDARD.decode(&line).map_err(|e| format!("{} sent a line that is not base64: {e}", self.proc.name))?;
        Ok(Some(token))
    }

    /// Sends one line. A peer that already exited makes this fail; that is
    /// reported by the exit status the caller checks, so it is ignored here.
    fn write_line(&mut self, line: &[u8]) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(line).and_then(|()| stdin.write_all(b"\n")).and_then(|()| stdin.flush());
        }
    }

    fn write_token(&mut self, token: &[u8]) {
        self.write_line(STANDARD.encode(token).as_bytes());
    }

    /// Closes the peer's stdin and waits (with the deadline) for it to exit.
    fn finish(mut self) -> (ExitStatus, String) {
        drop(self.stdin.take());
        self.proc.finish()
    }
}

/// How a line-protocol client fared against our in-process server.
struct ServerRun {
    /// Our server's verdict: `Some(identity)` or `None` for `Rejected`.
    verdict: Option<Identity>,
    peer_status: ExitStatus,
    peer_stderr: String,
}

/// Runs our `server` against a client `peer` speaking the line protocol: the
/// mechanism line, the initial response line (empty: none), then a response
/// for each challenge. On success the server's final data goes back as one
/// more line, and then the peer's stdin is closed; on rejection it is closed
/// at once (gsasl's client then exits 1).
fn serve(mut server: Server, mut peer: LinePeer, mech: &str) -> Result<ServerRun, Failed> {
    let line = peer.read_line()?.ok_or("the client exited before naming a mechanism")?;
    assert_eq!(String::from_utf8_lossy(&line), mech, "the client's mechanism line");
    let initial = peer.read_token()?.ok_or("the client exited before its initial response")?;
    let initial = (!initial.is_empty()).then_some(initial.as_slice());
    let mut step = server.start(mech, initial)?;
    let verdict = loop {
        match step {
            ServerStep::Continue(challenge) => {
                peer.write_token(challenge);
                let response = peer.read_token()?.ok_or("the client exited in the middle of the exchange")?;
                step = server.step(&response)?;
            }
            ServerStep::Authenticated { identity, additional } => {
                peer.write_token(additional);
                break Some(identity);
            }
            ServerStep::Rejected(_) => break None,
        }
    };
    let (peer_status, peer_stderr) = peer.finish();
    Ok(ServerRun { verdict, peer_status, peer_stderr })
}

// ---------------------------------------------------------------------------
// Row 1: our Server, gsasl --client
// ---------------------------------------------------------------------------

/// `gsasl --client -m MECH --quiet` plus `args`, in the KDC's environment.
fn gsasl_client(mech: &str, args: &[&str]) -> LinePeer {
    LinePeer::spawn(
        "gsasl --client",
        Command::new("gsasl").args(["--client", "-m", mech, "--quiet"]).args(args).envs(kdc().env()),
    )
}

/// gsasl's client arguments for alice with `password`. Without --service and
/// --hostname, gsasl's SCRAM client stalls (it asks for a TLS channel binding
/// on stdin) and its DIGEST-MD5 client asks for them; DIGEST-MD5 also needs the
/// realm and the QOP, or gsasl prompts for them on stdin.
fn gsasl_password_args<'a>(mech: &str, password: &'a str) -> Vec<&'a str> {
    let mut args = vec!["-a", "alice", "-p", password, "--service", PASSWORD_SERVICE, "--hostname", HOST];
    if mech == DIGEST {
        args.extend(["--realm", REALM, "--quality-of-protection=qop-auth"]);
    }
    args
}

fn server_vs_gsasl_client_accepts_alice(mech: &'static str) -> Result<(), Failed> {
    let run = serve(our_server(mech), gsasl_client(mech, &gsasl_password_args(mech, SECRET)), mech)?;
    assert_eq!(run.verdict, Some(alice(mech)), "gsasl stderr: {}", run.peer_stderr);
    // gsasl checks the server's final data itself (SCRAM's server signature,
    // DIGEST-MD5's rspauth), then reads to the end of its stdin: exit 0.
    assert_eq!(run.peer_status.code(), Some(0), "gsasl stderr: {}", run.peer_stderr);
    Ok(())
}

fn server_vs_gsasl_client_rejects_wrong_secret(mech: &'static str) -> Result<(), Failed> {
    let run = serve(our_server(mech), gsasl_client(mech, &gsasl_password_args(mech, WRONG)), mech)?;
    assert_eq!(run.verdict, None, "a wrong secret must be ServerStep::Rejected");
    // The server sends nothing more; gsasl reads the end of its input where it
    // expected the next token, and fails.
    assert_eq!(run.peer_status.code(), Some(1), "gsasl stderr: {}", run.peer_stderr);
    Ok(())
}

const GSASL_GSSAPI_CLIENT: [&str; 6] = ["--service", SERVICE, "--hostname", HOST, "-a", kdc::USER];

fn server_vs_gsasl_client_gssapi_accepts_alice() -> Result<(), Failed> {
    let run = serve(our_server(GSSAPI), gsasl_client(GSSAPI, &GSASL_GSSAPI_CLIENT), GSSAPI)?;
    // gsasl 2.2.0's GSSAPI client always chooses "no security layer", so the
    // SSF is 0 even though libsasl2 would offer more.
    assert_eq!(run.verdict, Some(alice(GSSAPI)), "gsasl stderr: {}", run.peer_stderr);
    assert_eq!(run.peer_status.code(), Some(0), "gsasl stderr: {}", run.peer_stderr);
    Ok(())
}

/// GSSAPI has no password to get wrong. Here the wrong credential is a claim
/// the server does not accept: alice proves herself with her own valid ticket
/// and asks to act as bob (`-z bob`), which libsasl2's default policy (authid
/// must equal authzid) refuses with SASL_NOAUTHZ. The server must answer this
/// with the same `Rejected` as a wrong password, not an error and never an
/// identity. (A ticket the service cannot decrypt is the row below.)
fn server_vs_gsasl_client_gssapi_alice_acting_as_bob_is_rejected() -> Result<(), Failed> {
    let mut args = GSASL_GSSAPI_CLIENT.to_vec();
    args.extend(["-z", kdc::OTHER_USER]);
    let run = serve(our_server(GSSAPI), gsasl_client(GSSAPI, &args), GSSAPI)?;
    assert_eq!(run.verdict, None, "alice acting as bob must be ServerStep::Rejected");
    assert_eq!(run.peer_status.code(), Some(1), "gsasl stderr: {}", run.peer_stderr);
    Ok(())
}

// ---------------------------------------------------------------------------
// Row 2: our Client, gsasl --server
// ---------------------------------------------------------------------------

/// How our client fared against gsasl's server, whose verdict counts.
struct ClientRun {
    /// Our client computed its last message.
    complete: bool,
    status: ExitStatus,
    stderr: String,
    /// The lines gsasl's GSSAPI server printed before asking to validate the
    /// user: `Authzid: ...` and `Display Name: ...`.
    gss_lines: Vec<String>,
}

/// Runs our `client` against `gsasl --server -m MECH --quiet` plus `args` (in
/// the KDC's environment, with `env` on top).
///
/// gsasl's server prints the mechanism, then the output of its first step (the
/// CRAM-MD5 challenge; an empty line for the client-first SCRAM and GSSAPI),
/// then after each line it reads, the output of its next step. After the step
/// that succeeds it reads one more line, then the application data until end
/// of input, and exits 0; on a failed step it prints `gsasl: mechanism error:
/// ...` and exits 1. Its GSSAPI server first prints `Authzid:` and `Display
/// Name:` lines and asks [`GSS_PROMPT`]; this answers `y`, so gsasl's verdict
/// rests on GSS-API alone.
fn against_gsasl_server(
    mut client: Client,
    mech: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> Result<ClientRun, Failed> {
    let mut command = Command::new("gsasl");
    command.args(["--server", "-m", mech, "--quiet"]).args(args).envs(kdc().env());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut peer = LinePeer::spawn("gsasl --server", &mut command);
    let mut gss_lines = Vec::new();
    // The next token gsasl sends, answering its prompts on the way.
    let mut next_token = |peer: &mut LinePeer| -> Result<Option<Vec<u8>>, Failed> {
        loop {
            let Some(line) = peer.read_line()? else { return Ok(None) };
            if line == GSS_PROMPT {
                peer.write_line(b"y");
            } else if line.starts_with(b"Authzid: ") || line.starts_with(b"Display Name: ") {
                gss_lines.push(String::from_utf8_lossy(&line).into_owned());
            } else {
                let token = STANDARD.decode(&line).map_err(|e| format!("gsasl sent a line that is not base64: {e}"))?;
                return Ok(Some(token));
            }
        }
    };
    let line = peer.read_line()?.ok_or("gsasl --server exited before naming its mechanism")?;
    assert_eq!(String::from_utf8_lossy(&line), mech, "gsasl's mechanism line");
    let first = next_token(&mut peer)?.ok_or("gsasl --server exited before its first token")?;
    let start = client.start(mech)?;
    let initial = start.initial_response.unwrap_or_default().to_vec();
    let mut pending = Some(first);
    if !initial.is_empty() {
        assert!(pending.as_ref().is_some_and(Vec::is_empty), "gsasl sent a challenge to a client-first mechanism");
        peer.write_token(&initial);
        pending = next_token(&mut peer)?;
    }
    // `pending` is gsasl's latest token; `None` once it has exited.
    while let Some(challenge) = pending.take() {
        if client.is_complete() {
            // gsasl's last step succeeded and printed its (empty) final data;
            // it wants one more line before the application data.
            assert!(challenge.is_empty(), "data after our client completed: {challenge:?}");
            peer.write_line(b"");
            break;
        }
        let response = match client.step(&challenge)? {
            ClientStep::Continue(response) => response.to_vec(),
            ClientStep::Complete(response) => response.unwrap_or_default().to_vec(),
        };
        if client.is_complete() && response.is_empty() {
            // Our client consumed gsasl's final data (SCRAM's server-final
            // message): gsasl has succeeded and waits for its one more line.
            peer.write_line(b"");
            break;
        }
        peer.write_token(&response);
        pending = next_token(&mut peer)?;
    }
    let complete = client.is_complete();
    let (status, stderr) = peer.finish();
    Ok(ClientRun { complete, status, stderr, gss_lines })
}

/// gsasl's server arguments for a password mechanism: the password only. It
/// takes any user name and checks only the password, and (unlike its SCRAM
/// client) its SCRAM server needs no --service or --hostname.
fn gsasl_server_args(password: &str) -> [&str; 2] {
    ["-p", password]
}

fn our_client(mech: &str, password: &str) -> Client {
    let config = Config::new().with("mech_list", mech).expect("a valid mech_list");
    Client::new(PASSWORD_SERVICE, HOST, Credentials::new("alice", password), &config).expect("Client::new")
}

fn client_vs_gsasl_server_is_accepted(mech: &'static str) -> Result<(), Failed> {
    let run = against_gsasl_server(our_client(mech, SECRET), mech, &gsasl_server_args(SECRET), &[])?;
    assert!(run.complete, "our client completed; gsasl stderr: {}", run.stderr);
    // gsasl prints "gsasl: poll stdin" when its application-data loop sees the
    // end of its input; that is its normal way out.
    assert_eq!(run.status.code(), Some(0), "gsasl accepted alice; stderr: {}", run.stderr);
    assert!(!run.stderr.contains("mechanism error"), "{}", run.stderr);
    Ok(())
}

fn client_vs_gsasl_server_wrong_secret_is_rejected(mech: &'static str) -> Result<(), Failed> {
    let run = against_gsasl_server(our_client(mech, WRONG), mech, &gsasl_server_args(SECRET), &[])?;
    // gsasl is the verifier: its verdict is the exit status and this message.
    assert_eq!(run.status.code(), Some(1), "gsasl must refuse; stderr: {}", run.stderr);
    assert!(run.stderr.contains("gsasl: mechanism error: Error authenticating user"), "{}", run.stderr);
    if mech == CRAM {
        // The CRAM-MD5 client always completes: only the server knows.
        assert!(run.complete, "the CRAM-MD5 client completes even with a wrong password");
    } else {
        // SCRAM's client waits for the server's signature, which never comes.
        assert!(!run.complete, "the SCRAM client must not complete without the server's signature");
    }
    Ok(())
}

fn kerberos_client(service: &str) -> Client {
    let config = Config::new().with("mech_list", GSSAPI).expect("a valid mech_list");
    Client::new(service, HOST, Credentials::kerberos(), &config).expect("Client::new")
}

fn client_vs_gsasl_server_gssapi_is_accepted_as_alice() -> Result<(), Failed> {
    let args = ["--service", SERVICE, "--hostname", HOST];
    let run = against_gsasl_server(kerberos_client(SERVICE), GSSAPI, &args, &[])?;
    assert!(run.complete, "gsasl stderr: {}", run.stderr);
    assert_eq!(run.status.code(), Some(0), "gsasl accepted alice; stderr: {}", run.stderr);
    // The identity gsasl's server saw, exactly (its printf shows no authzid as
    // "(null)").
    assert_eq!(run.gss_lines, ["Authzid: (null)", "Display Name: alice@EXAMPLE.TEST"], "{}", run.stderr);
    Ok(())
}

/// For GSSAPI with gsasl as the server, the wrong secret is the key itself:
/// our client gets a genuine ticket for `interop/localhost`, encrypted under
/// the key the KDC holds now, but gsasl's keytab holds the key the principal
/// had before it was re-keyed. gsasl cannot decrypt the ticket, exactly as it
/// could not decrypt one forged without the service key. (Answering `n` to
/// gsasl's prompt would only test this test.) The same client then succeeds
/// against a gsasl whose keytab holds the current key: the key is the only
/// difference.
fn client_vs_gsasl_server_gssapi_ticket_under_another_key_is_rejected() -> Result<(), Failed> {
    let keys = rekeyed_service();
    let args = ["--service", keys.service, "--hostname", HOST];
    let keytab = |path: &Path| [("KRB5_KTNAME", format!("FILE:{}", path.display()))];
    let run = against_gsasl_server(kerberos_client(keys.service), GSSAPI, &args, &keytab(&keys.stale))?;
    assert_eq!(run.status.code(), Some(1), "gsasl must refuse; stderr: {}", run.stderr);
    // gsasl's words for any failed gss_accept_sec_context.
    let refused = "gsasl: mechanism error: GSSAPI error in server while negotiating security context in \
                   gss_accept_sec_context()";
    assert!(run.stderr.contains(refused), "{}", run.stderr);
    assert!(run.gss_lines.is_empty(), "gsasl never got as far as validating a user: {:?}", run.gss_lines);
    assert!(!run.complete, "our client must not complete");

    let run = against_gsasl_server(kerberos_client(keys.service), GSSAPI, &args, &keytab(&keys.current))?;
    assert_eq!(run.status.code(), Some(0), "with the current key gsasl accepts; stderr: {}", run.stderr);
    assert_eq!(run.gss_lines, ["Authzid: (null)", "Display Name: alice@EXAMPLE.TEST"], "{}", run.stderr);
    Ok(())
}

/// A service principal of this binary's own (re-keying the shared
/// `mesos/localhost` would break the other trials), and two keytabs for it.
struct RekeyedService {
    service: &'static str,
    /// Its first key, exported before the KDC re-keyed it.
    stale: PathBuf,
    /// The key the KDC encrypts tickets with now.
    current: PathBuf,
}

fn rekeyed_service() -> &'static RekeyedService {
    static KEYS: OnceLock<RekeyedService> = OnceLock::new();
    KEYS.get_or_init(|| {
        let dir = scratch("rekeyed");
        let keys =
            RekeyedService { service: "interop", stale: dir.join("stale.keytab"), current: dir.join("current.keytab") };
        let principal = format!("{}/{HOST}", keys.service);
        kdc().kadmin(&format!("addprinc -randkey {principal}"));
        kdc().kadmin(&format!("ktadd -k {} {principal}", keys.stale.display()));
        kdc().kadmin(&format!("cpw -randkey {principal}"));
        kdc().kadmin(&format!("ktadd -norandkey -k {} {principal}", keys.current.display()));
        keys
    })
}

// ---------------------------------------------------------------------------
// Row 3: our Server, pure-sasl's client
// ---------------------------------------------------------------------------

/// pure-sasl's CRAM-MD5 client on the line protocol. The password comes from
/// the environment, not the command line.
const PURE_SASL_CLIENT: &str = r#"
import base64, os, sys
from puresasl.client import SASLClient

client = SASLClient("localhost", "sample", mechanism="CRAM-MD5",
                    username="alice", password=os.environ["PURE_SASL_PASSWORD"])
print("CRAM-MD5")
print("")  # no initial response
sys.stdout.flush()
challenge = base64.b64decode(sys.stdin.readline())
print(base64.b64encode(client.process(challenge)).decode("ascii"))
sys.stdout.flush()
# The server sends a final line only when it accepts.
sys.exit(0 if sys.stdin.readline().endswith("\n") else 1)
"#;

fn pure_sasl_client(password: &str) -> LinePeer {
    // Debian's interpreter: the `python3` on PATH may be one without Debian's modules.
    LinePeer::spawn(
        "pure-sasl client",
        Command::new("/usr/bin/python3").args(["-c", PURE_SASL_CLIENT]).env("PURE_SASL_PASSWORD", password),
    )
}

fn server_vs_pure_sasl_client_cram_md5_accepts_alice() -> Result<(), Failed> {
    let run = serve(our_server(CRAM), pure_sasl_client(SECRET), CRAM)?;
    assert_eq!(run.verdict, Some(alice(CRAM)), "pure-sasl stderr: {}", run.peer_stderr);
    assert_eq!(run.peer_status.code(), Some(0), "pure-sasl got the final line; stderr: {}", run.peer_stderr);
    Ok(())
}

fn server_vs_pure_sasl_client_cram_md5_wrong_secret_is_rejected() -> Result<(), Failed> {
    let run = serve(our_server(CRAM), pure_sasl_client(WRONG), CRAM)?;
    assert_eq!(run.verdict, None, "a wrong secret must be ServerStep::Rejected");
    assert_eq!(run.peer_status.code(), Some(1), "pure-sasl got no final line; stderr: {}", run.peer_stderr);
    Ok(())
}

// ---------------------------------------------------------------------------
// Row 4: sasl-sample client, sasl-sample server, over loopback TCP
// ---------------------------------------------------------------------------

/// A new sasl-sample config file for `mech`: the sasldb options for the
/// password mechanisms, a security layer up to AES-256 for GSSAPI. Each call
/// writes a file of its own: trials run in parallel, and a child reading a
/// file another trial is rewriting would see it empty.
fn sample_conf(mech: &str) -> PathBuf {
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let n = FILES.fetch_add(1, Ordering::Relaxed);
    let path = scratch("sample").join(format!("{mech}-{n}.conf"));
    let text = match mech {
        GSSAPI => "mech_list: GSSAPI\nmax_ssf: 256\n".to_owned(),
        _ => format!(
            "mech_list: {mech}\npwcheck_method: auxprop\nauxprop_plugin: sasldb\nsasldb_path: {}\n",
            sasldb().display()
        ),
    };
    std::fs::write(&path, text).expect("write the config");
    path
}

/// `sasl-sample ROLE --config CONF` for `mech`, with the service, FQDN and
/// realm that mechanism's rows use, in the KDC's environment.
fn sample(role: &str, mech: &str) -> Command {
    let mut command = Command::new(SAMPLE);
    command.arg(role).arg("--config").arg(sample_conf(mech)).envs(kdc().env()).env_remove("SASL_PASSWORD");
    match mech {
        GSSAPI => command.args(["--service", SERVICE, "--fqdn", HOST]),
        // The client answers DIGEST-MD5's realm question with --realm.
        _ => command.args(["--service", PASSWORD_SERVICE, "--fqdn", HOST, "--realm", REALM]),
    };
    command
}

/// A `--once` TCP server and a client with `client_args` (and `password`, if
/// any); returns (server status, server stderr, client status, client stderr).
fn sample_pair(
    mech: &str,
    client_args: &[&str],
    password: Option<&str>,
) -> Result<(ExitStatus, String, ExitStatus, String), Failed> {
    let mut server = Proc::spawn(
        "sasl-sample server",
        sample("server", mech).args(["--listen", "127.0.0.1:0", "--once"]).stdin(Stdio::null()).stdout(Stdio::null()),
    );
    let addr = server.wait_for_line("listening on ");
    let mut client = sample("client", mech);
    client.args(["--connect", &addr, "--mech", mech]).args(client_args).stdin(Stdio::null()).stdout(Stdio::null());
    if let Some(password) = password {
        client.env("SASL_PASSWORD", password);
    }
    let (client_status, client_err) = Proc::spawn("sasl-sample client", &mut client).finish();
    let (server_status, server_err) = server.finish();
    Ok((server_status, server_err, client_status, client_err))
}

fn sample_accepts(
    mech: &str,
    client_args: &[&str],
    password: Option<&str>,
    user: &str,
    ssf: u32,
) -> Result<(), Failed> {
    let (server_status, server_err, client_status, client_err) = sample_pair(mech, client_args, password)?;
    let context = format!("server stderr: {server_err}\nclient stderr: {client_err}");
    assert_eq!(server_status.code(), Some(0), "{context}");
    let line = format!("authenticated: {user} mech={mech} ssf={ssf}");
    assert!(server_err.lines().any(|l| l == line), "expected {line:?}; {context}");
    assert_eq!(client_status.code(), Some(0), "{context}");
    let line = format!("completed: mech={mech} ssf={ssf}");
    assert!(client_err.lines().any(|l| l == line), "expected {line:?}; {context}");
    Ok(())
}

/// The server's `rejected:` line says why and names the user that tried
/// (issue 24), e.g. `rejected: CRAM-MD5 authentication failed (wrong secret,
/// user "alice@EXAMPLE.TEST")`.
fn sample_rejects(mech: &str, client_args: &[&str], password: Option<&str>, why: &str) -> Result<(), Failed> {
    let (server_status, server_err, client_status, client_err) = sample_pair(mech, client_args, password)?;
    let context = format!("server stderr: {server_err}\nclient stderr: {client_err}");
    assert_eq!(server_status.code(), Some(1), "the server rejects: exit 1; {context}");
    assert!(server_err.contains(&format!("rejected: {mech} authentication failed ({why})")), "{context}");
    assert!(!server_err.contains("authenticated:"), "{context}");
    assert_eq!(client_status.code(), Some(1), "no final line for the client: exit 1; {context}");
    assert!(client_err.contains("closed the connection before its final line"), "{context}");
    Ok(())
}

fn sample_client_vs_sample_server_accepts_alice(mech: &'static str) -> Result<(), Failed> {
    sample_accepts(mech, &["--user", "alice"], Some(SECRET), &format!("alice@{REALM}"), 0)
}

fn sample_client_vs_sample_server_rejects_wrong_secret(mech: &'static str) -> Result<(), Failed> {
    sample_rejects(mech, &["--user", "alice"], Some(WRONG), &format!("wrong secret, user \"alice@{REALM}\""))
}

fn sample_client_vs_sample_server_gssapi_accepts_alice_with_ssf_256() -> Result<(), Failed> {
    sample_accepts(GSSAPI, &[], None, "alice", 256)
}

/// The same wrong credential as for our `Server` against gsasl's client: alice's
/// valid ticket, asking to act as bob.
fn sample_client_vs_sample_server_gssapi_alice_acting_as_bob_is_rejected() -> Result<(), Failed> {
    sample_rejects(GSSAPI, &["--authzid", kdc::OTHER_USER], None, "refused by policy, user \"alice\"")
}

// ---------------------------------------------------------------------------
// Proxy policy: alice asks to act as bob (an authzid)
// ---------------------------------------------------------------------------

const PLAIN: &str = "PLAIN";

/// Our server for `mech` whose proxy policy answers `allow`, and a count of the
/// times it was asked.
fn policy_server(mech: &str, allow: bool) -> (Server, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&asked);
    let policy = move |request: &ProxyRequest<'_>| {
        counter.fetch_add(1, Ordering::SeqCst);
        assert!(request.authid.starts_with("alice") && request.authzid.starts_with("bob"), "{request:?}");
        allow
    };
    let server = match mech {
        GSSAPI => Server::with_proxy_policy(SERVICE, HOST, None, &config(mech), policy),
        _ => Server::with_proxy_policy(PASSWORD_SERVICE, HOST, Some(REALM), &config(mech), policy),
    };
    (server.expect("Server::with_proxy_policy"), asked)
}

/// The identity our server reports for alice acting as bob: libsasl2
/// canonicalises the authzid as it does the authid (the user realm appended).
fn alice_as_bob(mech: &str) -> Identity {
    let (authid, authzid) = match mech {
        GSSAPI => ("alice".to_owned(), kdc::OTHER_USER.to_owned()),
        _ => (format!("alice@{REALM}"), format!("bob@{REALM}")),
    };
    Identity { authid, authzid: Some(authzid), mechanism: mech.to_owned(), ssf: 0 }
}

/// `gsasl --client -z bob` as alice; the policy allows or refuses. CRAM-MD5
/// has no authzid on the wire: gsasl's `-z` is not sent, the server sees
/// plain alice and the policy is never asked, whatever it would answer.
fn server_vs_gsasl_client_authzid(mech: &'static str, allow: bool) -> Result<(), Failed> {
    let (server, asked) = policy_server(mech, allow);
    let mut args = if mech == GSSAPI { GSASL_GSSAPI_CLIENT.to_vec() } else { gsasl_password_args(mech, SECRET) };
    args.extend(["-z", "bob"]);
    let run = serve(server, gsasl_client(mech, &args), mech)?;
    if mech == CRAM {
        assert_eq!(run.verdict, Some(alice(mech)), "gsasl stderr: {}", run.peer_stderr);
        assert_eq!(asked.load(Ordering::SeqCst), 0, "no authzid reached the server");
        return Ok(());
    }
    assert_eq!(asked.load(Ordering::SeqCst), 1, "the policy decided once");
    if allow {
        let mut expected = alice_as_bob(mech);
        // gsasl's GSSAPI client never asks for a security layer.
        expected.ssf = 0;
        assert_eq!(run.verdict, Some(expected), "gsasl stderr: {}", run.peer_stderr);
        assert_eq!(run.peer_status.code(), Some(0), "gsasl stderr: {}", run.peer_stderr);
    } else {
        assert_eq!(run.verdict, None, "a refused authzid is ServerStep::Rejected");
        assert_eq!(run.peer_status.code(), Some(1), "gsasl stderr: {}", run.peer_stderr);
    }
    Ok(())
}

/// Our client with authzid bob, in process against `server`.
fn our_client_as_bob(mech: &str) -> Client {
    let config = mech_config(mech);
    let credentials = match mech {
        GSSAPI => Credentials { authzid: Some(kdc::OTHER_USER.to_owned()), ..Credentials::kerberos() },
        _ => Credentials { authzid: Some("bob".to_owned()), ..Credentials::new("alice", SECRET) },
    };
    let service = if mech == GSSAPI { SERVICE } else { PASSWORD_SERVICE };
    Client::new(service, HOST, credentials, &config).expect("Client::new")
}

/// Our client asking for authzid bob: allowed, refused by the policy, and
/// refused by libsasl2's default rule (no policy: authzid must equal authid).
fn client_authzid(mech: &'static str) -> Result<(), Failed> {
    let (mut server, asked) = policy_server(mech, true);
    let outcome = common::handshake(&mut our_client_as_bob(mech), &mut server)?;
    if mech == CRAM {
        assert_eq!(outcome, common::Outcome::Authenticated(alice(mech)), "CRAM-MD5 carries no authzid");
        assert_eq!(asked.load(Ordering::SeqCst), 0);
        return Ok(());
    }
    let common::Outcome::Authenticated(identity) = outcome else { return Err(format!("{outcome:?}").into()) };
    let expected = alice_as_bob(mech);
    assert_eq!((&identity.authid, &identity.authzid), (&expected.authid, &expected.authzid));
    assert_eq!(identity.user(), expected.authzid.as_deref().unwrap());
    assert_eq!(asked.load(Ordering::SeqCst), 1);

    let (mut server, asked) = policy_server(mech, false);
    let log = common::capture::start();
    let outcome = common::handshake(&mut our_client_as_bob(mech), &mut server)?;
    assert_eq!(outcome, common::Outcome::Rejected, "refused by the policy");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    // The reason, with both names, is in the server's log.
    let authzid = expected.authzid.as_deref().unwrap();
    let reason = format!("proxy policy: \\\"{}\\\" may not act as \\\"{authzid}\\\"", expected.authid);
    let lines = common::capture::lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("cyrus_sasl::server authentication rejected (SASL_NOAUTHZ)") && l.contains(&reason)),
        "{reason} in {lines:#?}"
    );
    drop(log);

    let mut server = match mech {
        GSSAPI => our_server(GSSAPI),
        _ => Server::new(PASSWORD_SERVICE, HOST, Some(REALM), &config(mech))?,
    };
    let outcome = common::handshake(&mut our_client_as_bob(mech), &mut server)?;
    assert_eq!(outcome, common::Outcome::Rejected, "refused by libsasl2's default rule");
    Ok(())
}

/// A policy that panics: the panic is caught at the C boundary and resumed
/// from the server step that called it, never unwound through libsasl2; the
/// next exchange in this process works.
fn a_panicking_proxy_policy_resumes_from_the_server_step() -> Result<(), Failed> {
    let mut server =
        Server::with_proxy_policy(PASSWORD_SERVICE, HOST, Some(REALM), &config(PLAIN), |_: &ProxyRequest<'_>| {
            panic!("policy exploded")
        })?;
    let mut client = our_client_as_bob(PLAIN);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| common::handshake(&mut client, &mut server)));
    let payload = caught.expect_err("the policy's panic reaches the caller");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"policy exploded"));
    client_authzid(PLAIN)
}

// ---------------------------------------------------------------------------

/// One trial per cell and secret; the names say the row, the mechanism and the
/// outcome.
fn trials() -> Vec<Trial> {
    let mut trials = Vec::new();
    let name = |prefix: &str, mech: &str, suffix: &str| {
        format!("{prefix}_{}_{suffix}", mech.to_ascii_lowercase().replace('-', "_"))
    };
    for mech in [CRAM, DIGEST, SCRAM] {
        trials.push(Trial::test(name("server_vs_gsasl_client", mech, "authenticates_alice"), move || {
            server_vs_gsasl_client_accepts_alice(mech)
        }));
        trials.push(Trial::test(name("server_vs_gsasl_client", mech, "wrong_secret_is_rejected"), move || {
            server_vs_gsasl_client_rejects_wrong_secret(mech)
        }));
        trials.push(Trial::test(name("sasl_sample_client_vs_server", mech, "authenticates_alice"), move || {
            sample_client_vs_sample_server_accepts_alice(mech)
        }));
        trials.push(Trial::test(name("sasl_sample_client_vs_server", mech, "wrong_secret_is_rejected"), move || {
            sample_client_vs_sample_server_rejects_wrong_secret(mech)
        }));
    }
    for mech in [CRAM, SCRAM] {
        trials.push(Trial::test(name("client_vs_gsasl_server", mech, "is_accepted"), move || {
            client_vs_gsasl_server_is_accepted(mech)
        }));
        trials.push(Trial::test(name("client_vs_gsasl_server", mech, "wrong_secret_is_rejected"), move || {
            client_vs_gsasl_server_wrong_secret_is_rejected(mech)
        }));
    }
    for mech in [CRAM, DIGEST, SCRAM, PLAIN, GSSAPI] {
        for allow in [true, false] {
            let verdict = if allow { "allowed" } else { "refused" };
            trials.push(Trial::test(name("server_vs_gsasl_client_authzid", mech, verdict), move || {
                server_vs_gsasl_client_authzid(mech, allow)
            }));
        }
        trials.push(Trial::test(name("client_authzid", mech, "allowed_refused_and_default_rule"), move || {
            client_authzid(mech)
        }));
    }
    trials.push(Trial::test(
        "a_panicking_proxy_policy_resumes_from_the_server_step",
        a_panicking_proxy_policy_resumes_from_the_server_step,
    ));
    trials.extend([
        Trial::test("server_vs_gsasl_client_gssapi_authenticates_alice", server_vs_gsasl_client_gssapi_accepts_alice),
        Trial::test(
            "server_vs_gsasl_client_gssapi_alice_acting_as_bob_is_rejected",
            server_vs_gsasl_client_gssapi_alice_acting_as_bob_is_rejected,
        ),
        Trial::test(
            "client_vs_gsasl_server_gssapi_is_accepted_as_alice",
            client_vs_gsasl_server_gssapi_is_accepted_as_alice,
        ),
        Trial::test(
            "client_vs_gsasl_server_gssapi_ticket_under_another_key_is_rejected",
            client_vs_gsasl_server_gssapi_ticket_under_another_key_is_rejected,
        ),
        Trial::test(
            "server_vs_pure_sasl_client_cram_md5_authenticates_alice",
            server_vs_pure_sasl_client_cram_md5_accepts_alice,
        ),
        Trial::test(
            "server_vs_pure_sasl_client_cram_md5_wrong_secret_is_rejected",
            server_vs_pure_sasl_client_cram_md5_wrong_secret_is_rejected,
        ),
        Trial::test(
            "sasl_sample_client_vs_server_gssapi_authenticates_alice_with_ssf_256",
            sample_client_vs_sample_server_gssapi_accepts_alice_with_ssf_256,
        ),
        Trial::test(
            "sasl_sample_client_vs_server_gssapi_alice_acting_as_bob_is_rejected",
            sample_client_vs_sample_server_gssapi_alice_acting_as_bob_is_rejected,
        ),
    ]);
    trials
}

fn main() -> ExitCode {
    kdc::run_with_kdc(trials())
}

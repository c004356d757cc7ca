//! The server's `start`/`step` (libsasl2's CRAM-MD5, DIGEST-MD5 and
//! SCRAM-SHA-256 server plugins behind our `Server`) fed arbitrary client bytes,
//! at the initial response and at later steps.
//!
//! Input: byte 0 picks the mechanism (`% 3`), which client message the fuzz
//! bytes replace (`/ 3 % 3`: 0 the initial response, 1 the first response to a
//! challenge, 2 the second; capped at the mechanism's last message) and whether
//! the genuine client knows the right secret (`/ 9 % 2`). The rest is the
//! message. A real libsasl2 client drives the exchange up to that message and on
//! after it, answering whatever the server says, so the fuzz bytes arrive in a
//! server that is exactly where a real exchange would have brought it.
//!
//! One target for the three mechanisms rather than three: the exchange driver is
//! the same, libFuzzer shares what it learns across them (DIGEST-MD5 directives
//! and SCRAM attributes are both comma-separated `key=value` lists), and one
//! target needs one long run instead of three.
//!
//! Credentials come from the in-memory `CredentialStore` (no file I/O).
//!
//! Invariants:
//! - no panic, no hang (the exchange is capped at 8 rounds);
//! - a failure is `Error::Sasl` with an error code, never another error kind;
//! - `Authenticated` only when the genuine client has the right secret, and then
//!   only as `alice`, never as `bob` (whose secret no one here knows) or as a
//!   proxy for another identity;
//! - no secret appears in a log record (every level, libsasl2's own messages
//!   included), an error message or `Debug` output.
#![no_main]

use std::sync::OnceLock;

use cyrus_sasl::{Client, ClientStep, Config, CredentialStore, Credentials, Error, Secret, Server, ServerStep};
use libfuzzer_sys::fuzz_target;

const MECHANISMS: [&str; 3] = ["CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256"];
/// Index of the last client message of each mechanism (0 is the initial
/// response): CRAM-MD5 answers one challenge; DIGEST-MD5 answers the challenge
/// and then the `rspauth`; SCRAM sends client-first, client-final and an empty
/// message after server-final (libsasl2 delivers server-final as a challenge,
/// since `Server` does not announce success data).
const LAST_MESSAGE: [u8; 3] = [1, 2, 2];

const SERVICE: &str = "fuzz";
const HOST: &str = "localhost";
const REALM: &str = "EXAMPLE.TEST";
const ALICE_SECRET: &str = "alice-s3cret-9f2c";
const BOB_SECRET: &str = "bob-s3cret-71ad";
const WRONG_SECRET: &str = "not-alices-s3cret";

struct Setup {
    servers: Vec<Config>,
    clients: Vec<Config>,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Setup> = OnceLock::new();
    SETUP.get_or_init(|| {
        log::set_logger(&SECRET_WATCH).expect("the only logger");
        log::set_max_level(log::LevelFilter::Trace);
        let store = CredentialStore::from_credentials([
            ("alice".to_owned(), Secret::from(ALICE_SECRET)),
            ("bob".to_owned(), Secret::from(BOB_SECRET)),
        ])
        .expect("store");
        let server = |mech: &str| {
            Config::new()
                .with("mech_list", mech)
                .expect("mech_list")
                // SCRAM's PBKDF2 runs 4096 rounds by default on each side: one
                // round keeps SCRAM executions as fast as the others. It changes
                // no parsing, only the count the server announces.
                .with("scram_iteration_counter", "1")
                .expect("iteration count")
                .with_credential_store(&store)
        };
        let client = |mech: &str| Config::new().with("mech_list", mech).expect("mech_list");
        let setup = Setup {
            servers: MECHANISMS.iter().map(|m| server(m)).collect(),
            clients: MECHANISMS.iter().map(|m| client(m)).collect(),
        };
        // The harness means something only if genuine exchanges end as they
        // should. This also primes libsasl2's DIGEST-MD5 client, which caches its
        // last session with each server per process and opens every later
        // exchange with a reauthentication attempt (which the server declines,
        // then runs a full exchange): run once here, every input meets that
        // steady state, not just those after the first success.
        for (mech, name) in MECHANISMS.iter().enumerate() {
            assert_eq!(exchange(&setup, mech, true, None), End::Authenticated, "{name}");
            assert_eq!(exchange(&setup, mech, false, None), End::Rejected, "{name}");
        }
        setup
    })
}

/// Fails the run when a log record carries a secret.
struct SecretWatch;
static SECRET_WATCH: SecretWatch = SecretWatch;

impl log::Log for SecretWatch {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        assert_no_secret("a log record", &record.args().to_string());
    }
    fn flush(&self) {}
}

/// The fuzz input itself, for `assert_no_secret`: text the input supplied
/// (a user name, say) may be logged, so a secret the input happens to spell
/// out proves nothing.
static INPUT_NAMES_A_SECRET: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn assert_no_secret(what: &str, text: &str) {
    if INPUT_NAMES_A_SECRET.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    for secret in [ALICE_SECRET, BOB_SECRET, WRONG_SECRET] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fuzz_target!(|data: &[u8]| {
    let setup = setup();
    let [selector, fuzz @ ..] = data else { return };
    let mech = *selector as usize % 3;
    let position = ((*selector / 3) % 3).min(LAST_MESSAGE[mech]);
    let right_secret = (*selector / 9) % 2 == 0;
    let names_secret = [ALICE_SECRET, BOB_SECRET, WRONG_SECRET].iter().any(|s| contains(fuzz, s));
    INPUT_NAMES_A_SECRET.store(names_secret, std::sync::atomic::Ordering::Relaxed);
    exchange(setup, mech, right_secret, Some((position, fuzz)));
});

/// How an exchange ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Authenticated,
    Rejected,
    /// The server failed with an error.
    Failed,
    /// The genuine client gave up on what the server said.
    ClientGaveUp,
}

/// One exchange between a genuine client and the server, with client message
/// `position` replaced by `fuzz` if given.
fn exchange(setup: &Setup, mech: usize, right_secret: bool, replace: Option<(u8, &[u8])>) -> End {
    let mechanism = MECHANISMS[mech];
    let secret = if right_secret { ALICE_SECRET } else { WRONG_SECRET };
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new("alice", secret) };
    let mut client = Client::new(SERVICE, HOST, credentials, &setup.clients[mech]).expect("client");
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &setup.servers[mech]).expect("server");
    let fuzz_at = |message: u8| replace.filter(|&(position, _)| position == message).map(|(_, fuzz)| fuzz.to_vec());

    let start = client.start(mechanism).expect("the client starts");
    assert_eq!(start.mechanism, mechanism);
    let initial = fuzz_at(0).or_else(|| start.initial_response.map(<[u8]>::to_vec));
    let mut message = 0u8;
    let mut step = server.start(mechanism, initial.as_deref());
    let mut end = End::ClientGaveUp;
    for _round in 0..8 {
        match step {
            Err(e) => {
                check_error(&e);
                end = End::Failed;
                break;
            }
            Ok(ServerStep::Rejected(_)) => {
                end = End::Rejected;
                break;
            }
            Ok(ServerStep::Authenticated { identity, .. }) => {
                assert!(right_secret, "authenticated {identity:?} although the client had the wrong secret");
                assert_eq!(identity.authid, format!("alice@{REALM}"), "{identity:?}");
                assert_eq!(identity.user(), identity.authid, "acting for someone else: {identity:?}");
                assert_eq!(identity.mechanism, mechanism);
                end = End::Authenticated;
                break;
            }
            Ok(ServerStep::Continue(challenge)) => {
                message += 1;
                let challenge = challenge.to_vec();
                // The genuine client answers even when its answer is replaced,
                // so that it stays in step for the messages after.
                let genuine = match client.step(&challenge) {
                    Ok(ClientStep::Continue(r)) => Some(r.to_vec()),
                    Ok(ClientStep::Complete(r)) => Some(r.map(<[u8]>::to_vec).unwrap_or_default()),
                    Err(e) => {
                        assert_no_secret("a client error", &e.to_string());
                        None
                    }
                };
                let Some(response) = fuzz_at(message).or(genuine) else { break };
                step = server.step(&response);
            }
        }
    }
    assert_no_secret("the server's Debug output", &format!("{server:?}"));
    assert_no_secret("the client's Debug output", &format!("{client:?}"));
    end
}

fn check_error(e: &Error) {
    assert_no_secret("a server error", &format!("{e} {e:?}"));
    match e {
        Error::Sasl { code, .. } => assert!(code.0 < 0, "not an error code: {e:?}"),
        other => panic!("the server failed with something other than a SASL error: {other:?}"),
    }
}

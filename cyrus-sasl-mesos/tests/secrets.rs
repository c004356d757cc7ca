//! No secret ever appears in a log line, in the `Debug` output of a public type,
//! or in an error's `Display`/`Debug`.
//!
//! One test runs the whole path with a logger capturing everything at trace
//! level (`RUST_LOG=trace` semantics: every target, libsasl2's own lines under
//! `cyrus_sasl::libsasl2` included, and libsasl2's `log_level` option at its
//! maximum): every mechanism we support on the in-memory store and on a sasldb,
//! right and wrong secrets, sasldb provisioning, config errors, Mesos
//! credentials files good and bad, the Mesos state machines in process and the
//! libprocess master and client over loopback. It collects the `Debug` output of every public
//! value involved and every error's `Display` and `Debug`, then looks for each
//! secret in every line and exhibit: as text, in hex, in base64 (at any
//! alignment in a longer base64 stream), and as the decimal byte list a derived
//! `Debug` of `&[u8]` prints.

use cyrus_sasl_test_support as common;

use std::fmt::Debug;
use std::time::{Duration, Instant};

use common::mesos::{Dir, authenticatee_origin, session_upid};
use common::{REALM, capture, handshake};
use cyrus_sasl::{
    Client, ClientStep, Config, CredentialStore, Credentials, Sasldb, Secret, SecurityProperties, Server, ServerStep,
};
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterOptions, authenticate};
use cyrus_sasl_mesos::{
    AuthenticationRetry, Authenticator, Backoff, ClientOptions, Credential, MasterConfig, Message, ServerOptions,
    read_credentials,
};
use libprocess::{Endpoint, EndpointOptions};

/// Distinctive secrets, one per role, so a hit says where it came from.
const STORED: &str = "Kv8#stored-in-memory-3e1f";
const WRONG: &str = "Kv8#wrong-guess-a90c";
const PROVISIONED: &str = "Kv8#sasldb-provisioned-77d2";
const MESOS: &str = "Kv8#mesos-file-secret-5b0e";
const BAD_FILE: &str = "Kv8#bad-file-secret-c4d8";
const CONFIG: &str = "Kv8#config-sql-passwd-19af";
const ALL: [&str; 6] = [STORED, WRONG, PROVISIONED, MESOS, BAD_FILE, CONFIG];

const MECHANISMS: [&str; 4] = ["CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256", "PLAIN"];

/// What the test saw: `Debug` output and error messages, each with a label.
#[derive(Default)]
struct Exhibits(Vec<(String, String)>);

impl Exhibits {
    fn debug(&mut self, label: &str, value: &impl Debug) {
        self.0.push((format!("{label} (Debug)"), format!("{value:?}")));
        self.0.push((format!("{label} (Debug, pretty)"), format!("{value:#?}")));
    }

    fn error(&mut self, label: &str, error: &impl std::error::Error) {
        self.debug(label, error);
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            text.push_str(&format!(": {s}"));
            source = s.source();
        }
        self.0.push((format!("{label} (Display with sources)"), text));
    }
}

/// The forms a secret could leak in.
fn forms(secret: &str) -> Vec<(String, String)> {
    let bytes = secret.as_bytes();
    let mut forms = vec![
        ("text".to_owned(), secret.to_owned()),
        ("hex".to_owned(), bytes.iter().map(|b| format!("{b:02x}")).collect()),
        ("HEX".to_owned(), bytes.iter().map(|b| format!("{b:02X}")).collect()),
        ("byte list".to_owned(), format!("{bytes:?}").trim_matches(['[', ']']).to_owned()),
    ];
    // In a longer base64 stream the secret starts at any offset mod 3: encode it
    // behind 0, 1 and 2 filler bytes, and keep only the characters that depend
    // on the secret alone.
    for shift in 0..3 {
        let mut input = vec![0u8; shift];
        input.extend_from_slice(bytes);
        let encoded = base64(&input);
        let start = if shift == 0 { 0 } else { 4 };
        let end = (shift + bytes.len()) / 3 * 4;
        forms.push((format!("base64 at offset {shift}"), encoded[start..end].to_owned()));
    }
    forms
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            let c = if i <= chunk.len() { ALPHABET[(n >> (18 - 6 * i) & 63) as usize] } else { b'=' };
            out.push(c as char);
        }
    }
    out
}

/// A client for `mech`, as `user`; DIGEST-MD5 also wants the realm.
/// A client with the server config's security flags (PLAIN is allowed
/// explicitly on both sides or neither).
fn client(user: &str, password: &str, server_config: &Config) -> Client {
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new(user, password) };
    let mut config = Config::new();
    config.set_security(SecurityProperties { flags: server_config.security().flags, ..*config.security() });
    Client::new("test", "localhost", credentials, &config).unwrap()
}

/// A complete login, recording every public value on the way.
fn login(seen: &mut Exhibits, label: &str, config: &Config, user: &str, password: &str, accepted: bool) {
    let mut server = Server::new("test", "localhost", Some(REALM), config).unwrap();
    let mut client = client(user, password, config);
    seen.debug(&format!("{label}: Server"), &server);
    seen.debug(&format!("{label}: Client"), &client);
    seen.debug(&format!("{label}: Credentials"), &Credentials::new(user, password));

    let offered = server.mechanisms().unwrap().join(" ");
    let start = client.start(&offered).unwrap();
    seen.debug(&format!("{label}: ClientStart"), &start);
    let mechanism = start.mechanism.to_owned();
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let mut step = server.start(&mechanism, initial.as_deref()).unwrap();
    let outcome = loop {
        seen.debug(&format!("{label}: ServerStep"), &step);
        match step {
            ServerStep::Continue(challenge) => {
                let challenge = challenge.to_vec();
                let reply = client.step(&challenge).unwrap();
                seen.debug(&format!("{label}: ClientStep"), &reply);
                let response = match reply {
                    ClientStep::Continue(r) => r.to_vec(),
                    ClientStep::Complete(r) => r.map(<[u8]>::to_vec).unwrap_or_default(),
                };
                step = server.step(&response).unwrap();
            }
            ServerStep::Authenticated { ref identity, .. } => break Some(identity.clone()),
            ServerStep::Rejected(_) => break None,
        }
    };
    seen.debug(&format!("{label}: Server after"), &server);
    seen.debug(&format!("{label}: Client after"), &client);
    assert_eq!(outcome.is_some(), accepted, "{label}: {outcome:?}");
    if let Some(identity) = outcome {
        seen.debug(&format!("{label}: Identity"), &identity);
    }
}

/// Right and wrong secrets with every mechanism, and an unknown user.
fn every_mechanism(seen: &mut Exhibits, what: &str, base: &Config, right: &str) {
    for mech in MECHANISMS {
        let mut config = base.clone().with("mech_list", mech).unwrap();
        if mech == "PLAIN" {
            // Refused by default on both sides: allowed explicitly.
            config.set("security_flags", "noanonymous").unwrap();
        }
        seen.debug(&format!("{what} {mech}: Config"), &config);
        login(seen, &format!("{what} {mech} right"), &config, "alice", right, true);
        login(seen, &format!("{what} {mech} wrong"), &config, "alice", WRONG, false);
        login(seen, &format!("{what} {mech} unknown user"), &config, "mallory", right, false);
    }
}

fn mesos_in_process(seen: &mut Exhibits, config: &Config, secret: &str, accepted: bool) {
    let label = format!("mesos in process (accepted: {accepted})");
    let (mut master, outcomes) = Authenticator::<u32>::new(config, ServerOptions::default());
    let credential = Credential::new("framework-a", secret);
    seen.debug(&format!("{label}: Credential"), &credential);
    let pid = "scheduler-1@127.0.0.1:40123";
    let mut framework = AuthenticationRetry::new(
        credential,
        pid,
        ClientOptions::default(),
        Backoff::default(),
        rand::make_rng::<rand::rngs::StdRng>(),
    );
    let now = Instant::now();
    framework.start(now);
    let tap = |dir: Dir, message: &mut Message| {
        let to = if dir == Dir::ToMaster { "master" } else { "framework" };
        seen.debug(&format!("{label}: Message to {to}"), message);
        true
    };
    common::retry_exchange!(now, &mut framework, &mut master, authenticatee_origin, session_upid, tap);
    seen.debug(&format!("{label}: Authenticator"), &master);
    seen.debug(&format!("{label}: AuthenticationRetry"), &framework);
    let verdict = framework.verdict().expect("a verdict");
    seen.debug(&format!("{label}: Verdict"), &verdict);
    let outcome = outcomes.try_next().expect("an outcome");
    seen.debug(&format!("{label}: Outcome"), &outcome);
    assert_eq!(outcome.outcome.principal().is_some(), accepted, "{outcome:?}");
}

fn mesos_over_loopback(seen: &mut Exhibits, config: &Config) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut master =
            Master::spawn(MasterOptions { sasl: config.clone(), ..MasterOptions::default() }).await.unwrap();
        seen.debug("libprocess master", &master);
        let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
        let pid = endpoint.upid("scheduler-1").unwrap();
        let options = AuthenticateOptions::default();
        seen.debug("AuthenticateOptions", &options);
        for (secret, accepted) in [(MESOS, true), (WRONG, false)] {
            let credential = Credential::new("framework-a", secret);
            let verdict = authenticate(&endpoint, master.upid(), &pid, credential, &options).await;
            seen.debug("libprocess verdict", &verdict);
            let verdict = verdict.unwrap();
            assert_eq!(verdict == cyrus_sasl_mesos::Verdict::Authenticated, accepted, "{verdict:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        while let Some(event) = master.try_next_event() {
            seen.debug("MasterEvent", &event);
        }
        let gone = master.upid().clone();
        master.shutdown().await;
        // A master that is gone: the error, after one failed delivery.
        let options = AuthenticateOptions { max_delivery_failures: Some(1), ..options };
        let error = authenticate(&endpoint, &gone, &pid, Credential::new("framework-a", MESOS), &options).await;
        seen.error("libprocess NoVerdict", &error.unwrap_err());
    });
}

fn credentials_files(seen: &mut Exhibits, dir: &std::path::Path) -> std::path::PathBuf {
    let good = dir.join("credentials.json");
    std::fs::write(&good, format!(r#"{{"credentials": [{{"principal": "framework-a", "secret": "{MESOS}"}}]}}"#))
        .unwrap();
    let loaded = read_credentials(&good).unwrap();
    seen.debug("read_credentials", &loaded);

    let bad_files = [
        (
            "json syntax error after the secret",
            format!(r#"{{"credentials": [{{"principal": "p", "secret": "{BAD_FILE}" "x"}}]}}"#),
        ),
        (
            "json control character in the secret",
            format!("{{\"credentials\": [{{\"principal\": \"p\", \"secret\": \"{BAD_FILE}\u{1}\"}}]}}"),
        ),
        (
            "json bad escape in the secret",
            format!(r#"{{"credentials": [{{"principal": "p", "secret": "{BAD_FILE}\q"}}]}}"#),
        ),
        (
            "json secret under an unknown key",
            format!(r#"{{"credentials": [{{"principal": "p", "password": "{BAD_FILE}"}}]}}"#),
        ),
        (
            "json secret as the principal's type error",
            format!(r#"{{"credentials": [{{"principal": ["{BAD_FILE}"], "secret": "s"}}]}}"#),
        ),
        (
            "json duplicate principal",
            format!(
                r#"{{"credentials": [{{"principal": "p", "secret": "{BAD_FILE}"}}, {{"principal": "p", "secret": "{BAD_FILE}"}}]}}"#
            ),
        ),
        (
            "json trailing garbage",
            format!(r#"{{"credentials": [{{"principal": "p", "secret": "{BAD_FILE}"}}]}} {BAD_FILE}"#),
        ),
        ("text with three fields", format!("p {BAD_FILE} extra\n")),
        ("text duplicate principal", format!("p {BAD_FILE}\np {BAD_FILE}\n")),
        ("text with a NUL byte", format!("p {BAD_FILE}\u{0}\n")),
    ];
    for (what, text) in bad_files {
        let path = dir.join("bad-credentials");
        std::fs::write(&path, text).unwrap();
        let error = read_credentials(&path).expect_err(what);
        seen.error(&format!("credentials file, {what}"), &error);
        let error = MasterConfig::read_credentials_file(&path).expect_err(what);
        seen.error(&format!("MasterConfig, {what}"), &error);
    }
    let mut not_utf8 = b"p ".to_vec();
    not_utf8.extend_from_slice(BAD_FILE.as_bytes());
    not_utf8.extend_from_slice(b"\xff\n");
    std::fs::write(dir.join("bad-credentials"), not_utf8).unwrap();
    seen.error("credentials file, not UTF-8", &read_credentials(dir.join("bad-credentials")).unwrap_err());
    good
}

#[test]
fn no_secret_reaches_a_log_line_debug_output_or_error_message() {
    let _log = capture::start();
    let mut seen = Exhibits::default();
    // libsasl2's own verbosity option, at its maximum (SASL_LOG_PASS).
    let verbose = Config::new().with("log_level", "7").unwrap();

    // The in-memory store.
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from(STORED))]).unwrap();
    seen.debug("CredentialStore", &store);
    seen.debug("Secret", &Secret::from(STORED));
    every_mechanism(&mut seen, "memory", &verbose.clone().with_credential_store(&store), STORED);
    let error = CredentialStore::from_credentials([("bob".to_owned(), Secret::from(""))]).unwrap_err();
    seen.error("CredentialStore, empty secret", &error);
    let error = CredentialStore::from_credentials([
        ("bob".to_owned(), Secret::from(STORED)),
        ("bob".to_owned(), Secret::from(WRONG)),
    ])
    .unwrap_err();
    seen.error("CredentialStore, duplicate principal", &error);

    // A sasldb, provisioned through the crate (sasl_setpass).
    let dir = tempfile::tempdir().unwrap();
    let db = Sasldb::new(dir.path().join("sasldb2"), REALM).unwrap();
    db.set_password("alice", &Secret::from(PROVISIONED)).unwrap();
    seen.debug("Sasldb", &db);
    let sasldb_config = {
        let mut config = db.config();
        for (key, value) in verbose.options() {
            config = config.with(key, value).unwrap();
        }
        config
    };
    every_mechanism(&mut seen, "sasldb", &sasldb_config, PROVISIONED);
    seen.error("sasldb, empty password", &db.set_password("bob", &Secret::from("")).unwrap_err());
    let nowhere = Sasldb::new(dir.path().join("no/such/dir/sasldb2"), REALM).unwrap();
    seen.error("sasldb, unwritable path", &nowhere.set_password("bob", &Secret::from(PROVISIONED)).unwrap_err());
    db.delete_user("alice").unwrap();
    let gone = sasldb_config.clone().with("mech_list", "CRAM-MD5").unwrap();
    login(&mut seen, "sasldb after delete", &gone, "alice", PROVISIONED, false);

    // Config errors, and a config holding a secret option of another plugin.
    let config = Config::new().with("sql_passwd", CONFIG).unwrap().with("ldapdb_pw", CONFIG).unwrap();
    seen.debug("Config with sql_passwd and ldapdb_pw", &config);
    let server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    seen.debug("Server with sql_passwd", &server);
    for text in [
        format!("sql_passwd {CONFIG}\n"),
        format!("sql_passwd: {CONFIG}\nsql_passwd: {CONFIG}\n"),
        format!("sql_passwd: {CONFIG}\u{0}\n"),
    ] {
        seen.error("Config::parse_bytes", &Config::parse_bytes(text.as_bytes()).unwrap_err());
    }
    let mut not_utf8 = format!("sql_passwd: {CONFIG}").into_bytes();
    not_utf8.push(0xff);
    seen.error("Config::parse_bytes, not UTF-8", &Config::parse_bytes(&not_utf8).unwrap_err());
    seen.error("Config::with, NUL", &Config::new().with("sql_passwd", &format!("{CONFIG}\0")).unwrap_err());

    // Mesos: credentials files, the state machines, the blocking driver.
    let good = credentials_files(&mut seen, dir.path());
    let master = MasterConfig::read_credentials_file(&good).unwrap();
    seen.debug("MasterConfig", &master);
    mesos_in_process(&mut seen, master.sasl_config(), MESOS, true);
    mesos_in_process(&mut seen, master.sasl_config(), WRONG, false);
    mesos_over_loopback(&mut seen, master.sasl_config());

    // The handshakes of `common::handshake` too, for its errors.
    let mut server =
        Server::new("test", "localhost", Some(REALM), &Config::new().with_credential_store(&store)).unwrap();
    let mut c = client("alice", STORED, &Config::new());
    drop(handshake(&mut c, &mut server));

    let lines = capture::lines();
    // The capture is not vacuous: libsasl2 and the crate's layers all logged.
    for target in [cyrus_sasl::LOG_TARGET, "cyrus_sasl::server", "cyrus_sasl_mesos", libprocess::LOG_TARGET] {
        assert!(lines.iter().any(|l| l.contains(target)), "nothing logged under {target}:\n{}", lines.join("\n"));
    }
    assert!(lines.iter().any(|l| l.starts_with("DEBUG")), "no debug lines:\n{}", lines.join("\n"));
    assert!(seen.0.iter().any(|(_, text)| text.contains("Secret(<redacted>)")), "no Secret was shown");

    let mut leaks = Vec::new();
    for secret in ALL {
        for (form, needle) in forms(secret) {
            for line in &lines {
                if line.contains(&needle) {
                    leaks.push(format!("{secret} ({form}) in log line: {line}"));
                }
            }
            for (label, text) in &seen.0 {
                if text.contains(&needle) {
                    leaks.push(format!("{secret} ({form}) in {label}: {text}"));
                }
            }
        }
    }
    println!("checked {} log lines and {} exhibits", lines.len(), seen.0.len());
    assert!(leaks.is_empty(), "{} leaks:\n{}", leaks.len(), leaks.join("\n"));
}

//! libsasl2's log goes to the `log` crate; rejection reasons stay in the server's
//! log; and a panicking logger cannot unwind into C. (That no secret reaches the
//! log is cyrus-sasl-mesos's secrets tests and the api tests' memory_store.)
//! (One logger per process, so these tests share it and take a lock.)

use cyrus_sasl_test_support as common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, OnceLock};

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, Credentials, Sasldb, Server};

struct Capture {
    lines: Mutex<Vec<String>>,
    panic: AtomicBool,
}

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        if self.panic.load(Ordering::SeqCst) {
            panic!("logger exploded");
        }
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        self.lines.lock().unwrap().push(line);
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture { lines: Mutex::new(Vec::new()), panic: AtomicBool::new(false) };

fn capture() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    static INSTALL: OnceLock<()> = OnceLock::new();
    INSTALL.get_or_init(|| {
        log::set_logger(&CAPTURE).unwrap();
        log::set_max_level(log::LevelFilter::Trace);
    });
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    CAPTURE.lines.lock().unwrap().clear();
    CAPTURE.panic.store(false, Ordering::SeqCst);
    guard
}

fn lines() -> Vec<String> {
    CAPTURE.lines.lock().unwrap().clone()
}

fn login(db: &std::path::Path, mech: &str, user: &str, password: &str) -> Outcome {
    let config = Sasldb::new(db, REALM).unwrap().config().with("mech_list", mech).unwrap();
    let mut server = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new(user, password), &config).unwrap();
    handshake(&mut client, &mut server).unwrap()
}

#[test]
fn rejection_reasons_are_logged_on_the_server_side_only() {
    let _g = capture();
    let db = sasldb(&[("alice", "secret")]);
    assert_eq!(login(&db.path, "CRAM-MD5", "mallory", "x"), Outcome::Rejected);
    assert_eq!(login(&db.path, "CRAM-MD5", "alice", "wrong"), Outcome::Rejected);
    let log = lines().join("\n");
    assert!(log.contains("INFO cyrus_sasl::server authentication rejected (SASL_NOUSER)"), "{log}");
    assert!(log.contains("mallory"), "the unknown user is named in the server log: {log}");
    assert!(log.contains("authentication rejected (SASL_BADAUTH)"), "{log}");
    // libsasl2's own messages arrive under their own target.
    assert!(log.contains(cyrus_sasl::LOG_TARGET), "{log}");
}

#[test]
fn a_wrong_cram_md5_password_is_logged_naming_the_user_escaped() {
    let _g = capture();
    let db = sasldb(&[("alice", "secret")]);
    assert_eq!(login(&db.path, "CRAM-MD5", "alice", "wrong-sentinel"), Outcome::Rejected);
    let log = lines().join("\n");
    let line =
        log.lines().find(|l| l.contains("authentication rejected (SASL_BADAUTH)")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains(r#"wrong secret, user "alice@EXAMPLE.TEST""#), "{line}");
    assert!(!log.contains("wrong-sentinel"), "the attempted password is never logged: {log}");

    // A name with control characters arrives escaped, on one line.
    let _ = login(&db.path, "CRAM-MD5", "mal\u{1b}[2Jlory", "x");
    let log = lines().join("\n");
    let line = log.lines().find(|l| l.contains("unknown user, user")).unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains(r#"user "mal\u{1b}[2Jlory@EXAMPLE.TEST""#), "{line}");
    assert!(!log.contains('\u{1b}'), "peer text unescaped in the log: {log}");
}

#[test]
fn a_panicking_logger_resumes_at_the_api_call_and_the_process_survives() {
    let _g = capture();
    let db = sasldb(&[("alice", "secret")]);
    CAPTURE.panic.store(true, Ordering::SeqCst);
    let result = catch_unwind(AssertUnwindSafe(|| login(&db.path, "CRAM-MD5", "alice", "wrong")));
    CAPTURE.panic.store(false, Ordering::SeqCst);
    let payload = result.expect_err("the logger's panic must surface");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"logger exploded"));
    assert!(matches!(login(&db.path, "CRAM-MD5", "alice", "secret"), Outcome::Authenticated(_)));
}

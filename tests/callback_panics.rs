//! A panic in code called from libsasl2 never crosses into C: it is caught at
//! the trampoline and resumed from the API call that triggered it, the process
//! survives, and the next connection works.
//!
//! The user hook (`canon_user`) panics for real. Every other trampoline runs no
//! user code, so with the test-only feature `failpoints` each one is made to
//! panic once through its fault-injection point (`fail` crate). The ones that only
//! run during init (a mutex allocation, the in-memory auxprop plugin's init) are
//! tested in fresh child processes, because init runs once per process.

use cyrus_sasl_test_support as common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard};

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, Config, Credentials, Sasldb, Server};

/// Failpoints are process-wide: every test in this file holds this lock, so an
/// armed failpoint can only fire in the test that armed it.
fn exclusive() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn config(db: &std::path::Path) -> Config {
    Sasldb::new(db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap()
}

fn client(user: &str, password: &str) -> Client {
    Client::new("test", "localhost", Credentials::new(user, password), &Config::new()).unwrap()
}

#[test]
fn canon_user_hook_rewrites_the_user_name() {
    let _x = exclusive();
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::with_canon_user("test", "localhost", Some(REALM), &config(&db.path), |user, realm| {
        assert_eq!(realm, Some(REALM));
        Some(user.to_ascii_lowercase())
    })
    .unwrap();
    match handshake(&mut client("ALICE", "secret"), &mut server).unwrap() {
        Outcome::Authenticated(id) => assert_eq!(id.authid, "alice@EXAMPLE.TEST"),
        Outcome::Rejected => panic!("the hook should have mapped ALICE to alice"),
    }
}

#[test]
fn canon_user_hook_returning_none_rejects() {
    let _x = exclusive();
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::with_canon_user("test", "localhost", Some(REALM), &config(&db.path), |_, _| None).unwrap();
    assert_eq!(handshake(&mut client("alice", "secret"), &mut server).unwrap(), Outcome::Rejected);
}

#[test]
fn panicking_canon_user_hook_resumes_at_step_and_the_next_connection_works() {
    let _x = exclusive();
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::with_canon_user("test", "localhost", Some(REALM), &config(&db.path), |user, _| {
        if user == "boom" {
            panic!("canon_user hook exploded");
        }
        Some(user.to_owned())
    })
    .unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| handshake(&mut client("boom", "secret"), &mut server)));
    let payload = result.expect_err("the hook's panic must surface from the API call");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"canon_user hook exploded"));
    drop(server);

    // The process is fine, and a fresh connection authenticates.
    let mut server = Server::new("test", "localhost", Some(REALM), &config(&db.path)).unwrap();
    assert!(matches!(handshake(&mut client("alice", "secret"), &mut server).unwrap(), Outcome::Authenticated(_)));
}

/// A DIGEST-MD5 challenge offering two realms. libsasl2's DIGEST-MD5 client asks
/// its realm callback only when the server offers several, and libsasl2's own
/// server offers one, so this challenge is written by hand.
const TWO_REALMS: &[u8] =
    br#"realm="OTHER.TEST",realm="EXAMPLE.TEST",nonce="OA6MG9tEQGm2hh",qop="auth",charset=utf-8,algorithm=md5-sess"#;

#[test]
fn digest_md5_client_answers_its_configured_realm_among_several() {
    let _x = exclusive();
    let credentials = Credentials { realm: Some("EXAMPLE.TEST".into()), ..Credentials::new("alice", "secret") };
    let mut client = Client::new("test", "localhost", credentials, &Config::new()).unwrap();
    client.start("DIGEST-MD5").unwrap();
    let response = match client.step(TWO_REALMS).unwrap() {
        cyrus_sasl::ClientStep::Continue(r) => String::from_utf8_lossy(r).into_owned(),
        other => panic!("expected a response, got {other:?}"),
    };
    assert!(response.contains(r#"realm="EXAMPLE.TEST""#), "{response}");
}

#[cfg(feature = "failpoints")]
mod failpoints {
    use std::process::Command;
    use std::sync::mpsc;
    use std::time::Duration;

    use cyrus_sasl::{CredentialStore, Error, Secret};

    use super::*;

    /// A failpoint armed to panic once with the message `"<name> exploded"`,
    /// removed again on drop (also when the test fails).
    struct Armed(&'static str);

    impl Armed {
        fn panic_once(name: &'static str) -> Armed {
            fail::cfg(name, &format!("1*panic({name} exploded)")).unwrap();
            Armed(name)
        }
    }

    impl Drop for Armed {
        fn drop(&mut self) {
            fail::remove(self.0);
        }
    }

    const DIGEST_REALM: &str = "EXAMPLE.TEST";

    /// A server on an in-memory store holding alice, offering only `mech`.
    fn memory_server(mech: &str) -> Server {
        let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("secret"))]).unwrap();
        let config = Config::new().with("mech_list", mech).unwrap().with_credential_store(&store);
        Server::new("test", "localhost", Some(REALM), &config).unwrap()
    }

    /// A client as alice that answers every callback: authname, authzid, password
    /// and realm (DIGEST-MD5 asks for all four).
    fn full_client(password: &str) -> Client {
        let credentials = Credentials {
            authzid: Some("alice".into()),
            realm: Some(DIGEST_REALM.into()),
            ..Credentials::new("alice", password)
        };
        Client::new("test", "localhost", credentials, &Config::new()).unwrap()
    }

    /// One complete login with `mech` against the in-memory store, connections
    /// created and dropped inside (so `sasl_dispose`, and its mutex, runs too).
    fn login(mech: &str, password: &str) -> cyrus_sasl::Result<Outcome> {
        let mut server = memory_server(mech);
        let mut client = full_client(password);
        handshake(&mut client, &mut server)
    }

    /// Runs `body` on another thread and fails the test if it does not finish
    /// within 20 s: a mutex left locked would hang the next `sasl_dispose`.
    fn within_deadline<T: Send + 'static>(what: &str, body: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(body());
        });
        rx.recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|e| panic!("{what} did not finish within 20 s ({e}): a lock was left held"))
    }

    /// The contract for one trampoline: armed to panic once, `scenario` re-raises
    /// that very panic at the API call (it does not reach C, and the process
    /// lives on); afterwards right and wrong secrets give the right outcomes on
    /// fresh connections, and dropping them does not hang.
    fn panics_once_at_the_api_call(name: &'static str, scenario: impl FnOnce()) {
        let _x = exclusive();
        // Init first, so the failpoint fires in the scenario and not in init.
        cyrus_sasl::installed_mechanisms().unwrap();
        let armed = Armed::panic_once(name);
        let payload = catch_unwind(AssertUnwindSafe(scenario))
            .expect_err("the failpoint did not fire, or its panic did not surface from the API call");
        drop(armed);
        let message = payload.downcast_ref::<String>().map(String::as_str);
        assert_eq!(message, Some(format!("{name} exploded").as_str()), "a different panic surfaced");

        let (right, wrong) = within_deadline("the next connections", || {
            (login("CRAM-MD5", "secret").unwrap(), login("DIGEST-MD5", "wrong").unwrap())
        });
        match right {
            Outcome::Authenticated(id) => assert_eq!(id.authid, "alice@EXAMPLE.TEST"),
            Outcome::Rejected => panic!("the next connection after the panic was rejected"),
        }
        assert_eq!(wrong, Outcome::Rejected);
    }

    #[test]
    fn getopt_panic_resumes_at_server_new() {
        panics_once_at_the_api_call("sasl_cb_getopt", || {
            // The first option libsasl2 asks for is read in sasl_server_new.
            let store = CredentialStore::new();
            let config = Config::new().with("mech_list", "CRAM-MD5").unwrap().with_credential_store(&store);
            let _ = Server::new("test", "localhost", Some(REALM), &config);
        });
    }

    #[test]
    fn log_panic_resumes_at_the_step_that_logged() {
        // A wrong password makes libsasl2 log "incorrect digest response".
        panics_once_at_the_api_call("sasl_cb_log", || drop(login("CRAM-MD5", "wrong")));
    }

    #[test]
    fn authname_panic_resumes_at_the_client_call() {
        panics_once_at_the_api_call("sasl_cb_authname", || drop(login("CRAM-MD5", "secret")));
    }

    #[test]
    fn authzid_panic_resumes_at_the_client_call() {
        panics_once_at_the_api_call("sasl_cb_user", || drop(login("DIGEST-MD5", "secret")));
    }

    #[test]
    fn password_panic_resumes_at_the_client_call() {
        panics_once_at_the_api_call("sasl_cb_pass", || drop(login("CRAM-MD5", "secret")));
    }

    #[test]
    fn realm_panic_resumes_at_the_client_step() {
        panics_once_at_the_api_call("sasl_cb_getrealm", || {
            let mut client = full_client("secret");
            client.start("DIGEST-MD5").unwrap();
            let _ = client.step(TWO_REALMS);
        });
    }

    #[test]
    fn canon_user_trampoline_panic_resumes_at_the_server_step() {
        panics_once_at_the_api_call("sasl_cb_canon_user", || {
            let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("secret"))]).unwrap();
            let config = Config::new().with("mech_list", "CRAM-MD5").unwrap().with_credential_store(&store);
            let mut server =
                Server::with_canon_user("test", "localhost", Some(REALM), &config, |u, _| Some(u.to_owned())).unwrap();
            drop(handshake(&mut full_client("secret"), &mut server));
        });
    }

    #[test]
    fn auxprop_lookup_panic_resumes_at_the_server_step() {
        panics_once_at_the_api_call("auxprop_lookup", || drop(login("CRAM-MD5", "secret")));
    }

    /// libsasl2 takes its one mutex around every `sasl_dispose`. A panic in the
    /// lock means the lock was not taken: `sasl_dispose` returns without
    /// disposing (that one connection leaks), and the panic resumes from the
    /// `Drop` of the connection.
    #[test]
    fn mutex_lock_panic_resumes_at_drop_and_leaves_nothing_locked() {
        panics_once_at_the_api_call("sasl_mutex_lock", || {
            let server = memory_server("CRAM-MD5");
            drop(server);
        });
    }

    /// A panic in the unlock comes after the unlock: libsasl2 holds the lock
    /// across the call, so the mutex must be released whatever happens, or the
    /// next `sasl_dispose` in the process would wait forever (the deadline in
    /// `panics_once_at_the_api_call` catches that).
    #[test]
    fn mutex_unlock_panic_resumes_at_drop_and_still_releases_the_lock() {
        panics_once_at_the_api_call("sasl_mutex_unlock", || {
            let server = memory_server("CRAM-MD5");
            drop(server);
        });
    }

    /// The child processes below: which failpoint to arm before first use.
    const CHILD_ENV: &str = "CYRUS_SASL_INIT_FAILPOINT";

    /// The body of each child process started below (ignored in a normal run):
    /// arms the failpoint named by the parent before anything touched libsasl2,
    /// then checks that the first use fails with the init error naming the
    /// panic, that a later use gets the same error, and that nothing crashes.
    #[test]
    #[ignore = "run in a fresh process by the init_*_panic tests"]
    fn child_init_with_a_panicking_callback() {
        let name: &'static str = std::env::var(CHILD_ENV).expect("started by a parent test").leak();
        let _armed = Armed::panic_once(name);
        let config = Config::new().with("mech_list", "CRAM-MD5").unwrap();
        let first = Server::new("test", "localhost", Some(REALM), &config).expect_err("init must fail");
        let Error::Init { detail, .. } = &first else { panic!("expected Error::Init, got {first:?}") };
        assert!(detail.contains(&format!("a callback panicked during initialisation: {name} exploded")), "{first}");
        // Init runs once per process (libsasl2 cannot be initialised twice), so
        // every later use gets the first result.
        let again = Client::new("test", "localhost", Credentials::new("a", "b"), &config).expect_err("cached");
        assert_eq!(again.to_string(), first.to_string());
        println!("child saw: {first}");
    }

    fn init_panic_in_a_fresh_process(name: &str) {
        let out = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "failpoints::child_init_with_a_panicking_callback", "--ignored", "--nocapture"])
            .env(CHILD_ENV, name)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "child for {name}: {}\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.contains(&format!("{name} exploded")), "{stdout}");
    }

    /// libsasl2 allocates its one mutex in `sasl_server_init`; with none, init
    /// fails (SASL_FAIL), and the crate reports the panic as the init error.
    #[test]
    fn init_mutex_alloc_panic_is_the_init_error_and_the_process_survives() {
        init_panic_in_a_fresh_process("sasl_mutex_alloc");
    }

    /// The in-memory auxprop plugin's init runs once, at `sasl_auxprop_add_plugin`.
    #[test]
    fn init_auxprop_plugin_panic_is_the_init_error_and_the_process_survives() {
        init_panic_in_a_fresh_process("auxprop_init");
    }
}

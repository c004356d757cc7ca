//! The in-memory credential store: the Rust auxprop plugin serves `userPassword`
//! per server, with no sasldb, and can be replaced while handshakes run.

use cyrus_sasl_test_support as common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{Outcome, REALM, capture, handshake, sasldb};
use cyrus_sasl::{Client, Config, CredentialStore, Credentials, Secret, Server};

fn store(list: &[(&str, &str)]) -> CredentialStore {
    CredentialStore::from_credentials(list.iter().map(|(p, s)| (p.to_string(), Secret::from(*s)))).unwrap()
}

fn server_config(mechs: &str, store: &CredentialStore) -> Config {
    mech_config(mechs).with_credential_store(store)
}

/// `mech_list: MECHS`; PLAIN is refused by default, so it is allowed explicitly.
fn mech_config(mechs: &str) -> Config {
    let config = Config::new().with("mech_list", mechs).unwrap();
    if mechs.contains("PLAIN") { config.with("security_flags", "noanonymous").unwrap() } else { config }
}

fn attempt(config: &Config, mech: &str, user: &str, password: &str) -> Outcome {
    let mut server = Server::new("mesos", "localhost", Some(REALM), config).unwrap();
    let mut creds = Credentials::new(user, password);
    creds.realm = Some(REALM.into());
    let client_config = mech_config(mech);
    let mut client = Client::new("mesos", "localhost", creds, &client_config).unwrap();
    handshake(&mut client, &mut server).unwrap()
}

fn authenticated_as(outcome: Outcome) -> String {
    match outcome {
        Outcome::Authenticated(identity) => identity.authid,
        Outcome::Rejected => panic!("expected success, got Rejected"),
    }
}

#[test]
fn cram_md5_authenticates_against_the_store_without_any_sasldb() {
    let store = store(&[("framework1", "s3cret")]);
    let config = server_config("CRAM-MD5", &store);
    assert_eq!(authenticated_as(attempt(&config, "CRAM-MD5", "framework1", "s3cret")), "framework1@EXAMPLE.TEST");
}

/// Names from libsasl2 take an ASCII fast path before the full UTF-8 check
/// (`ffi::utf8`); a name with multi-byte characters takes the full check
/// and must come through intact, in the store lookup and in the identity.
#[test]
fn a_non_ascii_utf8_principal_authenticates_and_comes_back_intact() {
    let store = store(&[("zoë-ŝçhédulêr", "s3cret"), ("zoe-scheduler", "other")]);
    for mech in ["CRAM-MD5", "SCRAM-SHA-256"] {
        let config = server_config(mech, &store);
        assert_eq!(
            authenticated_as(attempt(&config, mech, "zoë-ŝçhédulêr", "s3cret")),
            "zoë-ŝçhédulêr@EXAMPLE.TEST",
            "{mech}"
        );
        assert_eq!(attempt(&config, mech, "zoë-ŝçhédulêr", "other"), Outcome::Rejected, "{mech}");
    }
}

#[test]
fn wrong_secret_and_unknown_principal_are_both_just_rejected() {
    let store = store(&[("framework1", "s3cret")]);
    let config = server_config("CRAM-MD5", &store);
    assert_eq!(attempt(&config, "CRAM-MD5", "framework1", "wrong"), Outcome::Rejected);
    assert_eq!(attempt(&config, "CRAM-MD5", "nobody", "s3cret"), Outcome::Rejected);
}

#[test]
fn an_empty_store_rejects_everyone() {
    let config = server_config("CRAM-MD5", &CredentialStore::new());
    assert_eq!(attempt(&config, "CRAM-MD5", "framework1", "s3cret"), Outcome::Rejected);
}

#[test]
fn other_mechanisms_needing_the_plaintext_secret_use_it_too() {
    let store = store(&[("alice", "pw-alice")]);
    for mech in ["DIGEST-MD5", "SCRAM-SHA-256", "SCRAM-SHA-1", "PLAIN"] {
        let config = server_config(mech, &store);
        let who = authenticated_as(attempt(&config, mech, "alice", "pw-alice"));
        assert_eq!(who, "alice@EXAMPLE.TEST", "{mech}");
        assert_eq!(attempt(&config, mech, "alice", "nope"), Outcome::Rejected, "{mech}");
    }
}

/// Issue 24 (replacing issue 13's rule, under which a typed realm made another
/// principal): the store follows the sasldb's realm rule. `alice` and
/// `alice@<server realm>` are one principal; another realm is another one.
#[test]
fn a_user_naming_the_server_realm_explicitly_is_the_same_principal() {
    let store = store(&[("alice", "pw"), ("bob@OTHER.TEST", "pw-b")]);
    for mech in ["CRAM-MD5", "PLAIN", "SCRAM-SHA-256", "DIGEST-MD5"] {
        let config = server_config(mech, &store);
        assert_eq!(authenticated_as(attempt(&config, mech, "alice", "pw")), "alice@EXAMPLE.TEST", "{mech}");
        assert_eq!(
            authenticated_as(attempt(&config, mech, "alice@EXAMPLE.TEST", "pw")),
            "alice@EXAMPLE.TEST",
            "{mech}"
        );
        assert_eq!(attempt(&config, mech, "alice@OTHER.TEST", "pw"), Outcome::Rejected, "{mech}");
        assert_eq!(attempt(&config, mech, "alice@example.test", "pw"), Outcome::Rejected, "{mech}");
        // A key with another realm is found only under that whole name.
        assert_eq!(attempt(&config, mech, "bob", "pw-b"), Outcome::Rejected, "{mech}");
        assert_eq!(authenticated_as(attempt(&config, mech, "bob@OTHER.TEST", "pw-b")), "bob@OTHER.TEST", "{mech}");
    }
}

/// Without a realm libsasl2 appends the server FQDN, lower-cased, and that
/// suffix is removed whoever typed it (as the sasldb splits it off); another
/// spelling of the FQDN is another realm.
#[test]
fn without_a_realm_the_lower_cased_fqdn_is_the_realm() {
    let store = store(&[("alice", "pw")]);
    for mech in ["CRAM-MD5", "PLAIN", "SCRAM-SHA-256"] {
        let config = server_config(mech, &store);
        let client_config = mech_config(mech);
        let login = |user: &str| {
            let mut server = Server::new("mesos", "Master.Example", None, &config).unwrap();
            let mut client =
                Client::new("mesos", "Master.Example", Credentials::new(user, "pw"), &client_config).unwrap();
            handshake(&mut client, &mut server).unwrap()
        };
        let Outcome::Authenticated(identity) = login("alice") else { panic!("{mech}: alice rejected") };
        assert_eq!(identity.authid, "alice", "{mech}");
        let Outcome::Authenticated(identity) = login("alice@master.example") else { panic!("{mech}: rejected") };
        assert_eq!(identity.authid, "alice@master.example", "{mech}");
        for alias in ["alice@Master.Example", "alice@MASTER.EXAMPLE", "ALICE"] {
            assert_eq!(login(alias), Outcome::Rejected, "{mech}: {alias}");
        }
    }
}

#[test]
fn two_servers_with_different_stores_in_one_process_each_see_only_their_own() {
    let a = server_config("CRAM-MD5", &store(&[("alice", "pw-a")]));
    let b = server_config("CRAM-MD5", &store(&[("bob", "pw-b")]));
    assert_eq!(authenticated_as(attempt(&a, "CRAM-MD5", "alice", "pw-a")), "alice@EXAMPLE.TEST");
    assert_eq!(attempt(&a, "CRAM-MD5", "bob", "pw-b"), Outcome::Rejected);
    assert_eq!(authenticated_as(attempt(&b, "CRAM-MD5", "bob", "pw-b")), "bob@EXAMPLE.TEST");
    assert_eq!(attempt(&b, "CRAM-MD5", "alice", "pw-a"), Outcome::Rejected);
}

#[test]
fn a_sasldb_server_in_the_same_process_is_unaffected_by_the_plugin() {
    let db = sasldb(&[("carol", "pw-c")]);
    let sasldb_config =
        cyrus_sasl::Sasldb::new(&db.path, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap();
    let memory = server_config("CRAM-MD5", &store(&[("carol", "other")]));
    assert_eq!(authenticated_as(attempt(&sasldb_config, "CRAM-MD5", "carol", "pw-c")), "carol@EXAMPLE.TEST");
    assert_eq!(attempt(&memory, "CRAM-MD5", "carol", "pw-c"), Outcome::Rejected);
    // With no auxprop_plugin option libsasl2 asks every plugin; ours must stay
    // out of the way for a connection that has no store.
    let mut all_plugins = sasldb_config.clone();
    all_plugins.remove("auxprop_plugin");
    assert_eq!(authenticated_as(attempt(&all_plugins, "CRAM-MD5", "carol", "pw-c")), "carol@EXAMPLE.TEST");
}

#[test]
fn a_replaced_store_takes_effect_on_the_next_handshake() {
    let store = store(&[("framework1", "old")]);
    let config = server_config("CRAM-MD5", &store);
    assert!(matches!(attempt(&config, "CRAM-MD5", "framework1", "old"), Outcome::Authenticated(_)));
    store.replace([("framework1".to_owned(), Secret::from("new"))]).unwrap();
    assert_eq!(attempt(&config, "CRAM-MD5", "framework1", "old"), Outcome::Rejected);
    assert!(matches!(attempt(&config, "CRAM-MD5", "framework1", "new"), Outcome::Authenticated(_)));
}

/// MESOS-2050: the master crashed when credentials were reloaded while a
/// handshake read them. Here two tables alternate as fast as one thread can
/// swap them, while three threads authenticate: `steady` is in both tables with
/// one secret, `flapping` only in one. Every steady login must succeed, every
/// wrong secret be rejected, and nothing may fail or crash.
#[test]
fn reloading_the_store_continuously_while_threads_authenticate_never_fails_a_handshake() {
    const THREADS: usize = 3;
    const PER_THREAD: usize = 1500;
    let with = vec![("steady", "pw"), ("flapping", "pw2")];
    let without = vec![("steady", "pw")];
    let shared = store(&with);
    let config = server_config("CRAM-MD5", &shared);
    let stop = Arc::new(AtomicBool::new(false));
    let reloads = Arc::new(AtomicUsize::new(0));
    let reloader = {
        let (shared, stop, reloads) = (shared.clone(), stop.clone(), reloads.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let n = reloads.fetch_add(1, Ordering::Relaxed);
                let table = if n % 2 == 0 { &without } else { &with };
                shared.replace(table.iter().map(|(p, s)| (p.to_string(), Secret::from(*s)))).unwrap();
            }
        })
    };
    let flapping_seen = Arc::new(Mutex::new((0usize, 0usize)));
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (config, flapping_seen) = (config.clone(), flapping_seen.clone());
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    match (t + i) % 3 {
                        0 => assert!(
                            matches!(attempt(&config, "CRAM-MD5", "steady", "pw"), Outcome::Authenticated(_)),
                            "steady login failed during a reload"
                        ),
                        1 => assert_eq!(attempt(&config, "CRAM-MD5", "steady", "bad"), Outcome::Rejected),
                        _ => {
                            let ok =
                                matches!(attempt(&config, "CRAM-MD5", "flapping", "pw2"), Outcome::Authenticated(_));
                            let mut seen = flapping_seen.lock().unwrap();
                            if ok { seen.0 += 1 } else { seen.1 += 1 }
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("an authenticating thread failed");
    }
    stop.store(true, Ordering::Relaxed);
    reloader.join().unwrap();
    let reloads = reloads.load(Ordering::Relaxed);
    assert!(reloads > 100, "the store was reloaded only {reloads} times: the test did not overlap reloads");
    let (accepted, rejected) = *flapping_seen.lock().unwrap();
    // Both tables were really in force at some point during the run.
    assert!(accepted > 0 && rejected > 0, "flapping principal: {accepted} accepted, {rejected} rejected");
}

/// Without its own `sasl_seterror`, the plugin would leave libsasl2's detail
/// from an earlier internal call ("Unable to find a callback: 32775").
#[test]
fn an_unknown_principal_is_logged_by_name_with_a_fresh_error_detail() {
    let _log = capture::start();
    let config = server_config("CRAM-MD5", &store(&[("framework1", "s3cret")]));
    assert_eq!(attempt(&config, "CRAM-MD5", "ghost-principal", "s3cret"), Outcome::Rejected);
    let lines = capture::lines();
    let reason = lines
        .iter()
        .find(|l| l.contains(" cyrus_sasl::server ") && l.contains("ghost-principal"))
        .unwrap_or_else(|| panic!("no rejection naming the principal in {lines:#?}"));
    assert!(reason.contains("no credentials for user 'ghost-principal@EXAMPLE.TEST'"), "{reason}");
    assert!(!reason.contains("callback"), "stale detail: {reason}");
    assert!(!lines.iter().any(|l| l.contains("s3cret")), "a secret reached the log");
}

/// DIGEST-MD5 carries an authorization id, so libsasl2 runs the plugin's
/// second (`SASL_AUXPROP_AUTHZID`) pass. Acting as oneself works; acting as
/// someone else is refused by libsasl2's default proxy policy, as a rejection.
#[test]
fn the_authzid_pass_serves_digest_md5_and_proxying_stays_refused() {
    let config = server_config("DIGEST-MD5", &store(&[("alice", "pw"), ("bob", "pw-b")]));
    let client_config = Config::new().with("mech_list", "DIGEST-MD5").unwrap();
    for (authzid, expect_ok) in [("alice", true), ("bob", false)] {
        let mut server = Server::new("mesos", "localhost", Some(REALM), &config).unwrap();
        let mut creds = Credentials::new("alice", "pw");
        creds.realm = Some(REALM.into());
        creds.authzid = Some(authzid.into());
        let mut client = Client::new("mesos", "localhost", creds, &client_config).unwrap();
        let outcome = handshake(&mut client, &mut server).unwrap();
        assert_eq!(matches!(outcome, Outcome::Authenticated(_)), expect_ok, "authzid {authzid}: {outcome:?}");
    }
}

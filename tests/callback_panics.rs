//! A panic in user code called from libsasl2 never crosses into C: it is caught
//! at the trampoline and resumed from the API call that triggered it.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, Config, Credentials, Sasldb, Server};

fn config(db: &std::path::Path) -> Config {
    Sasldb::new(db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap()
}

fn client(user: &str, password: &str) -> Client {
    Client::new("test", "localhost", Credentials::new(user, password), &Config::new()).unwrap()
}

#[test]
fn canon_user_hook_rewrites_the_user_name() {
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
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::with_canon_user("test", "localhost", Some(REALM), &config(&db.path), |_, _| None).unwrap();
    assert_eq!(handshake(&mut client("alice", "secret"), &mut server).unwrap(), Outcome::Rejected);
}

#[test]
fn panicking_canon_user_hook_resumes_at_step_and_the_next_connection_works() {
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

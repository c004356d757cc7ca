//! `Server::builder`: one server with a canon-user hook and a proxy policy
//! at once, both in force.

use cyrus_sasl::{Config, CredentialStore, OwnedServerStep, RejectReason, Secret, Server};

fn server() -> Server {
    let store = CredentialStore::from_credentials([
        ("alice".to_owned(), Secret::from("alice-pw")),
        ("operator".to_owned(), Secret::from("operator-pw")),
    ])
    .unwrap();
    // PLAIN in process: noplaintext lifted (no TLS layer here).
    let config = Config::new()
        .with("mech_list", "PLAIN")
        .unwrap()
        .with("security_flags", "noanonymous")
        .unwrap()
        .with_credential_store(&store);
    Server::builder("test", "localhost")
        .realm("EXAMPLE.TEST")
        .config(&config)
        .canon_user(|name, _| {
            // The user part only: PLAIN hands the canonical `user@REALM` back in.
            let (user, realm) = name.split_once('@').map_or((name, None), |(u, r)| (u, Some(r)));
            let user = user.to_lowercase();
            (user != "mallory").then(|| realm.map_or_else(|| user.clone(), |r| format!("{user}@{r}")))
        })
        .proxy_policy(|r| r.authid == "operator@EXAMPLE.TEST")
        .build()
        .unwrap()
}

fn plain(authzid: &str, authid: &str, password: &str) -> OwnedServerStep {
    let mut server = server();
    let message = format!("{authzid}\0{authid}\0{password}");
    server.start("PLAIN", Some(message.as_bytes())).unwrap().into_owned()
}

#[test]
fn the_canon_user_hook_and_the_proxy_policy_are_both_in_force() {
    // The hook: upper-case ALICE is alice.
    let step = plain("", "ALICE", "alice-pw");
    let OwnedServerStep::Authenticated { identity, .. } = step else { panic!("{step:?}") };
    assert_eq!(identity.user(), "alice@EXAMPLE.TEST");
    // The policy: the operator may act as alice...
    let step = plain("alice", "operator", "operator-pw");
    let OwnedServerStep::Authenticated { identity, .. } = step else { panic!("{step:?}") };
    assert_eq!((identity.authid.as_str(), identity.user()), ("operator@EXAMPLE.TEST", "alice@EXAMPLE.TEST"));
    // ...but alice not as the operator.
    let step = plain("operator", "alice", "alice-pw");
    let OwnedServerStep::Rejected(rejection) = step else { panic!("{step:?}") };
    assert_eq!(rejection.reason(), RejectReason::Policy);
}

#[test]
fn a_name_the_canon_user_hook_refuses_is_a_policy_rejection() {
    let step = plain("", "Mallory", "x");
    let OwnedServerStep::Rejected(rejection) = step else { panic!("{step:?}") };
    assert_eq!(rejection.reason(), RejectReason::Policy, "{rejection:?}");
}

#[test]
fn a_builder_without_options_is_server_new() {
    let server = Server::builder("test", "localhost").build().unwrap();
    let plain = Server::new("test", "localhost", None, &Config::new()).unwrap();
    assert_eq!(server.mechanisms().unwrap(), plain.mechanisms().unwrap());
}

//! libsasl2's `ldapdb` auxprop plugin in a process without its process-wide
//! options (`SASL_CONF_PATH` unset, as when `ci/ldap`'s `DIR/env` was not
//! sourced): the plugin never loads, and libsasl2 itself fails the first login
//! with `SASL_NOMECH` and a stale detail ("Unable to find a callback: 32775").
//! The server's error names `SASL_CONF_PATH` and the file it must hold, at
//! start-up (`Server::check`) and at the first client alike.
//!
//! A binary of its own: the LDAP-backed `sasl-sample` tests set
//! `SASL_CONF_PATH` for their whole process.

use cyrus_sasl_test_support as common;

use common::ldap::Directory;
use common::{Outcome, handshake};
use cyrus_sasl::{Client, Config, Credentials, Error, Server};

fn assert_names_the_fix(err: &Error) {
    let text = err.to_string();
    eprintln!("message: {text}");
    assert!(
        matches!(err, Error::AuxpropUnavailable { plugins, conf_path: None, .. } if plugins == "ldapdb"),
        "{err:?}"
    );
    assert!(text.contains("SASL_CONF_PATH is not set"), "{text}");
    assert!(text.contains("cyrus-sasl-rs.conf"), "the file libsasl2 reads, under this process's app name: {text}");
    assert!(text.contains("ldapdb_uri"), "{text}");
    assert!(!text.contains("32775"), "no stale detail: {text}");
}

#[test]
fn ldapdb_without_sasl_conf_path_names_it_at_start_up_and_at_the_first_client() {
    assert!(
        std::env::var_os("SASL_CONF_PATH").is_none(),
        "this test is about a process without SASL_CONF_PATH: run it with the variable unset"
    );
    let dir = Directory::start();
    // The server config ci/ldap wrote: `auxprop_plugin: ldapdb`.
    let config = Config::from_file(dir.sasl_conf()).unwrap().with("mech_list", "CRAM-MD5").unwrap();
    assert_eq!(config.get("auxprop_plugin"), Some("ldapdb"));

    let err = Server::check("sample", "localhost", None, &config).unwrap_err();
    assert_names_the_fix(&err);

    // A program that skipped the check learns the same at the first client.
    let mut server = Server::new("sample", "localhost", None, &config).unwrap();
    let mut client = Client::new("sample", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    match handshake(&mut client, &mut server) {
        Err(err) => assert_names_the_fix(&err),
        Ok(outcome @ (Outcome::Authenticated(_) | Outcome::Rejected)) => panic!("an error, not {outcome:?}"),
    }
}

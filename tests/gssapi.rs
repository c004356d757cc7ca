//! GSSAPI through the same `Server` and `Client` as every other mechanism,
//! against a real MIT KDC on 127.0.0.1 (started by `ci/kdc` for this run).

mod common;

use std::process::ExitCode;

use common::kdc::{self, HOST, SERVICE, USER};
use common::{Outcome, handshake};
use cyrus_sasl::{Client, Config, Credentials, Server};
use libtest_mimic::{Failed, Trial};

fn gssapi_config(max_ssf: u32) -> Config {
    Config::new().with("mech_list", "GSSAPI").unwrap().with("max_ssf", &max_ssf.to_string()).unwrap()
}

fn handshake_as_alice_with_ssf_256() -> Result<(), Failed> {
    let config = gssapi_config(256);
    let mut server = Server::new(SERVICE, HOST, None, &config)?;
    let mut client = Client::new(SERVICE, HOST, Credentials::default(), &config)?;
    match handshake(&mut client, &mut server)? {
        Outcome::Authenticated(id) => {
            assert_eq!(id.user(), USER);
            assert_eq!(id.ssf, 256);
        }
        other => return Err(format!("{other:?}").into()),
    }
    Ok(())
}

fn main() -> ExitCode {
    kdc::run_with_kdc(vec![Trial::test("handshake_as_alice_with_ssf_256", handshake_as_alice_with_ssf_256)])
}

//! What authorization costs: a Mesos ACL decision, and a CRAM-MD5 handshake
//! whose secret libsasl2's `ldapdb` plugin reads from a real slapd (`ci/ldap`),
//! against the same handshake with a sasldb and with the in-memory store.
//!
//! Run with `cargo bench --bench authorization` (add `--features ldap` for the
//! cost of an `ldap-group:` decision that misses the cache).
//!
//! One run starts a directory with `ci/ldap` in a temp dir (and points this
//! process's libsasl2 at it through `SASL_CONF_PATH`, before libsasl2 starts),
//! makes a sasldb with the real `saslpasswd2` and a `CredentialStore`, all
//! holding alice/secret, warms every path up, then runs several rounds; each
//! round measures, back to back and in an order that alternates between
//! rounds: N handshakes against each of the three stores (a fresh server and
//! client connection each, verdict checked) and N×1000 decisions under a
//! 20-rule ACL file (the deciding rule is the 11th).
//!
//! It prints a table and, for `ci/bench`, `stat COMPARISON SIDE MEDIAN MIN MAX
//! UNIT` per side and `ratio NAME VALUE` per ratio (medians over the rounds):
//! - `authz_ldapdb_over_sasldb`: handshake time with ldapdb / with sasldb;
//! - `authz_ldapdb_over_memory`: handshake time with ldapdb / in memory;
//! - `authz_decision_over_memory_handshake`: one decision / one in-memory
//!   handshake (what deciding adds to authenticating).
//!
//! Environment: `AUTHZ_BENCH_N` (handshakes per measurement, default 200: an
//! ldapdb lookup is a new LDAP connection and a SCRAM bind, milliseconds),
//! `AUTHZ_BENCH_ROUNDS` (default 5).

use cyrus_sasl_test_support as common;

use cyrus_sasl_test_support::bench as support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use common::ldap::Directory;
use cyrus_sasl::{Client, ClientStep, Config, CredentialStore, Credentials, Secret, Server, ServerStep};
use cyrus_sasl_mesos::authorization::{Acls, Request};
use support::{env_number, median, print_stat, saslpasswd2};

const SERVICE: &str = "bench";
const FQDN: &str = "localhost";
const DECISIONS_PER_HANDSHAKE: u32 = 1000;

#[derive(Clone, Copy, Debug)]
enum Side {
    Ldapdb,
    Sasldb,
    Memory,
    Decision,
}

fn main() {
    let n = env_number("AUTHZ_BENCH_N", 200);
    let rounds = env_number("AUTHZ_BENCH_ROUNDS", 5);

    let temp = tempfile::tempdir().expect("a temp dir");
    let db = temp.path().join("sasldb2");
    // libsasl2 looks a bare user up as user@FQDN when the server has no realm.
    // Before SASL_CONF_PATH is set: with ldapdb configured, saslpasswd2 would
    // try to store the password in the directory too, and fail.
    saslpasswd2(&db, common::APP, FQDN, "alice", "secret");

    let dir = Directory::start();
    // SAFETY: no other thread exists yet (nothing above starts one; libsasl2 is
    // not initialised), so nothing can read the environment concurrently.
    unsafe { std::env::set_var("SASL_CONF_PATH", &dir.dir) };
    support::enter_threaded_mode();
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("secret"))]).unwrap();
    let cram = |config: Config| config.with("mech_list", "CRAM-MD5").expect("a valid option");
    let ldapdb = cram(Config::from_file(dir.sasl_conf()).expect("ci/ldap's sasl.conf"));
    let sasldb = cram(
        Config::new()
            .with("pwcheck_method", "auxprop")
            .and_then(|c| c.with("auxprop_plugin", "sasldb"))
            .and_then(|c| c.with("sasldb_path", db.to_str().expect("a UTF-8 temp path")))
            .expect("valid options"),
    );
    let memory = cram(Config::new().with_credential_store(&store));
    let acls = Acls::from_json(&acl_file()).expect("the benchmark's ACLs parse");

    let configs = [&ldapdb, &sasldb, &memory];
    let measure = |side: Side| -> Duration {
        match side {
            Side::Ldapdb => handshakes(configs[0], n),
            Side::Sasldb => handshakes(configs[1], n),
            Side::Memory => handshakes(configs[2], n),
            Side::Decision => decisions(&acls, n * DECISIONS_PER_HANDSHAKE),
        }
    };
    for side in [Side::Ldapdb, Side::Sasldb, Side::Memory, Side::Decision] {
        measure(side);
    }

    // Microseconds per handshake, nanoseconds per decision.
    let mut per = [Vec::new(), Vec::new(), Vec::new(), Vec::new()];
    let order = [Side::Ldapdb, Side::Sasldb, Side::Memory, Side::Decision];
    println!("round  ldapdb us  sasldb us  memory us  decision ns");
    for round in 0..rounds {
        let mut sides = order;
        if round % 2 == 1 {
            sides.reverse();
        }
        for side in sides {
            let elapsed = measure(side);
            let (i, value) = match side {
                Side::Ldapdb => (0, elapsed.as_secs_f64() * 1e6 / f64::from(n)),
                Side::Sasldb => (1, elapsed.as_secs_f64() * 1e6 / f64::from(n)),
                Side::Memory => (2, elapsed.as_secs_f64() * 1e6 / f64::from(n)),
                Side::Decision => (3, elapsed.as_secs_f64() * 1e9 / f64::from(n * DECISIONS_PER_HANDSHAKE)),
            };
            per[i].push(value);
        }
        let r = round as usize;
        println!("{round:>5}  {:>9.1}  {:>9.1}  {:>9.1}  {:>11.1}", per[0][r], per[1][r], per[2][r], per[3][r]);
    }
    print_stat("authz_handshake", "ldapdb", &per[0], "us");
    print_stat("authz_handshake", "sasldb", &per[1], "us");
    print_stat("authz_handshake", "memory", &per[2], "us");
    print_stat("authz_decision", "rust", &per[3], "ns");
    let ratio = |a: &[f64], b: &[f64], scale: f64| {
        let mut r: Vec<f64> = a.iter().zip(b).map(|(a, b)| a * scale / b).collect();
        median(&mut r)
    };
    println!("ratio authz_ldapdb_over_sasldb {:.2}", ratio(&per[0], &per[1], 1.0));
    println!("ratio authz_ldapdb_over_memory {:.2}", ratio(&per[0], &per[2], 1.0));
    // ns over us.
    println!("ratio authz_decision_over_memory_handshake {:.4}", ratio(&per[3], &per[2], 1e-3));

    #[cfg(feature = "ldap")]
    group_lookup(&dir, rounds);
    drop(dir);
}

/// `n` complete CRAM-MD5 handshakes as alice, each on new connections.
fn handshakes(config: &Config, n: u32) -> Duration {
    let credentials = Credentials::new("alice", "secret");
    let client_config = Config::new();
    let started = Instant::now();
    for _ in 0..n {
        let mut server = Server::new(SERVICE, FQDN, None, config).expect("server");
        let mut client = Client::new(SERVICE, FQDN, credentials.clone(), &client_config).expect("client");
        client.start("CRAM-MD5").expect("client start");
        let ServerStep::Continue(challenge) = server.start("CRAM-MD5", None).expect("server start") else {
            panic!("CRAM-MD5 starts with a challenge");
        };
        let challenge = challenge.to_vec();
        let ClientStep::Complete(Some(response)) = client.step(&challenge).expect("client step") else {
            panic!("the CRAM-MD5 client answers in one step");
        };
        let response = response.to_vec();
        match server.step(&response).expect("server step") {
            ServerStep::Authenticated { identity, .. } => assert_eq!(identity.authid, "alice"),
            other => panic!("alice was not authenticated: {other:?}"),
        }
    }
    started.elapsed()
}

/// A 20-rule `register_frameworks` list; framework-10 is decided by rule 10.
fn acl_file() -> String {
    let rules: Vec<String> = (0..20)
        .map(|i| {
            format!(r#"{{"principals": {{"values": ["framework-{i}", "spare-{i}"]}}, "roles": {{"values": ["role-{i}", "prod/%"]}}}}"#)
        })
        .collect();
    format!(r#"{{"permissive": false, "register_frameworks": [{}]}}"#, rules.join(","))
}

fn decisions(acls: &Acls, n: u32) -> Duration {
    let started = Instant::now();
    for _ in 0..n {
        let request = Request::register_framework(Some(black_box("framework-10")), [black_box("role-10")]);
        let decision = acls.decide(black_box(&request)).expect("no groups in these rules");
        assert!(decision.allowed);
    }
    started.elapsed()
}

/// The cost of an `ldap-group:` decision that misses the cache: a connection,
/// a simple bind and a search, against the directory of this run.
#[cfg(feature = "ldap")]
fn group_lookup(dir: &Directory, rounds: u32) {
    use common::ldap::{BASE_DN, FRAMEWORKS_GROUP, SERVICE_DN};
    use cyrus_sasl_mesos::authorization::{LdapBind, LdapGroups, LdapGroupsConfig};

    let acls = Acls::from_json(&format!(
        r#"{{"register_frameworks": [{{"principals": {{"values": ["ldap-group:{FRAMEWORKS_GROUP}"]}},
             "roles": {{"type": "ANY"}}}}]}}"#
    ))
    .unwrap();
    let bind = LdapBind::Simple { dn: SERVICE_DN.to_owned(), password: Secret::from(dir.service_password()) };
    let groups = LdapGroups::new(LdapGroupsConfig::new(dir.uri.clone(), bind, format!("uid={{}},ou=people,{BASE_DN}")))
        .expect("a valid config");
    let request = Request::register_framework(Some("alice"), ["dev"]);
    let mut per = Vec::new();
    for _ in 0..rounds {
        let n = 50;
        let started = Instant::now();
        for _ in 0..n {
            groups.clear();
            assert!(acls.decide_with(&request, &groups).expect("the directory answers").allowed);
        }
        per.push(started.elapsed().as_secs_f64() * 1e6 / f64::from(n));
    }
    print_stat("authz_group_decision", "uncached", &per, "us");
}

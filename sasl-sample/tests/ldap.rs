//! Secrets in a real OpenLDAP directory (`ci/ldap`), read by libsasl2's own
//! `ldapdb` auxprop plugin: the crate's `Server` and `Client` and the
//! `sasl-sample` tool authenticate directory users with CRAM-MD5, SCRAM-SHA-256
//! and DIGEST-MD5, a wrong password is rejected, and a password changed in the
//! directory counts from the next handshake on.
//!
//! With feature `ldap`, Mesos ACL principals that name an LDAP group
//! (`ldap-group:DN`) are decided against the same directory: a member is
//! allowed, a non-member is not, a directory that is down fails closed while
//! decisions that do not need it go on, and cached membership expires.
//!
//! One slapd per run (tests/common/ldap.rs), hence `harness = false`.

use cyrus_sasl_test_support as common;

use std::process::{Command, Stdio};

use common::child::Proc;
use common::ldap::{self, Directory, USERS, ldap};
use common::{Outcome, handshake};
use cyrus_sasl::{Client, Config, Credentials, Server};
use libtest_mimic::{Failed, Trial};

const BIN: &str = env!("CARGO_BIN_EXE_sasl-sample");
/// What `sasl-sample` uses by default, and what the tests here use too.
const SERVICE: &str = "sample";
const FQDN: &str = "localhost";
const MECHANISMS: [&str; 3] = ["CRAM-MD5", "SCRAM-SHA-256", "DIGEST-MD5"];

fn main() -> std::process::ExitCode {
    let trials = vec![
        Trial::test(
            "directory_users_authenticate_with_cram_md5_scram_sha_256_and_digest_md5",
            directory_users_authenticate,
        ),
        Trial::test("wrong_password_and_unknown_user_are_rejected", wrong_password_and_unknown_user_are_rejected),
        Trial::test("the_service_identity_is_not_a_sasl_user", the_service_identity_is_not_a_sasl_user),
        Trial::test("a_password_changed_in_ldap_counts_from_the_next_handshake", password_change_counts_next_handshake),
        Trial::test("sasl_sample_server_with_the_generated_config_authenticates_alice_and_bob", sasl_sample_with_ldap),
        Trial::test("without_the_process_wide_options_ldapdb_is_not_loaded", without_process_wide_options),
        Trial::test("a_directory_that_is_down_is_an_error_not_a_rejection", directory_down_is_an_error),
        Trial::test("ci_ldap_refuses_a_taken_port_and_a_second_start", ci_ldap_refuses),
    ];
    let trials = trials.into_iter().chain(groups::trials()).collect();
    ldap::run_with_ldap(trials)
}

/// A server for `mechanism` under `DIR/sasl.conf`, as `sasl-sample` makes it:
/// service `sample`, FQDN `localhost`, no realm.
fn server(mechanism: &str) -> Server {
    let config = Config::from_file(ldap().sasl_conf()).unwrap().with("mech_list", mechanism).unwrap();
    Server::new(SERVICE, FQDN, None, &config).unwrap()
}

fn login(mechanism: &str, user: &str, password: &str) -> Outcome {
    let mut server = server(mechanism);
    let mut client = Client::new(SERVICE, FQDN, Credentials::new(user, password), &Config::new()).unwrap();
    handshake(&mut client, &mut server).unwrap_or_else(|e| panic!("{mechanism} as {user}: {e}"))
}

fn directory_users_authenticate() -> Result<(), Failed> {
    for mechanism in MECHANISMS {
        for (user, password) in USERS {
            let Outcome::Authenticated(identity) = login(mechanism, user, password) else {
                return Err(format!("{user} with {mechanism} was rejected").into());
            };
            // Without a realm, libsasl2 looks the user up as user@localhost and
            // reports the bare name.
            assert_eq!(identity.authid, user, "{mechanism}");
            assert_eq!(identity.mechanism, mechanism);
        }
    }
    Ok(())
}

fn wrong_password_and_unknown_user_are_rejected() -> Result<(), Failed> {
    for mechanism in MECHANISMS {
        assert_eq!(login(mechanism, "alice", "bobsecret"), Outcome::Rejected, "{mechanism}: alice with bob's password");
        assert_eq!(
            login(mechanism, "mallory", "secret"),
            Outcome::Rejected,
            "{mechanism}: a user not in the directory"
        );
    }
    Ok(())
}

/// The identity ldapdb binds as has a password in the directory too, but slapd
/// never hands it out (ci/ldap's access rules), so it cannot log in through us.
fn the_service_identity_is_not_a_sasl_user() -> Result<(), Failed> {
    let password = ldap().service_password();
    for mechanism in MECHANISMS {
        assert_eq!(login(mechanism, "sasl-server", &password), Outcome::Rejected, "{mechanism}");
    }
    Ok(())
}

/// ldapdb reads the secret on every handshake: nothing is cached in libsasl2.
fn password_change_counts_next_handshake() -> Result<(), Failed> {
    let dir = ldap();
    // A user of this test's own, so the other trials' users keep their passwords.
    dir.add_user("carol", "first-password");
    for mechanism in MECHANISMS {
        assert!(matches!(login(mechanism, "carol", "first-password"), Outcome::Authenticated(_)), "{mechanism}");
    }
    // ldappasswd: the password-modify extended operation, as an operator does it.
    dir.ldappasswd("carol", "second-password");
    for mechanism in MECHANISMS {
        assert_eq!(login(mechanism, "carol", "first-password"), Outcome::Rejected, "{mechanism}: the old password");
        assert!(
            matches!(login(mechanism, "carol", "second-password"), Outcome::Authenticated(_)),
            "{mechanism}: the new password"
        );
    }
    // ldapmodify replacing userPassword works the same.
    dir.ldapmodify(&format!(
        "dn: uid=carol,ou=people,{}\nchangetype: modify\nreplace: userPassword\nuserPassword: third-password\n",
        ldap::BASE_DN
    ));
    assert_eq!(login("CRAM-MD5", "carol", "second-password"), Outcome::Rejected);
    assert!(matches!(login("CRAM-MD5", "carol", "third-password"), Outcome::Authenticated(_)));
    Ok(())
}

/// `sasl-sample server --config DIR/sasl.conf --listen` with DIR/env's variables.
fn sample_server(dir: &Directory, with_env: bool) -> Proc {
    let mut command = Command::new(BIN);
    command
        .args(["server", "-v", "--config"])
        .arg(dir.sasl_conf())
        .args(["--listen", "127.0.0.1:0"])
        .env_remove("SASL_CONF_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    if with_env {
        command.envs(dir.env());
    }
    Proc::spawn("sasl-sample server", &mut command)
}

fn sample_client(addr: &str, user: &str, password: &str, mechanism: &str) -> (Option<i32>, String) {
    let mut client = Proc::spawn(
        "sasl-sample client",
        Command::new(BIN)
            .args(["client", "--user", user, "--mech", mechanism, "--connect", addr])
            .env("SASL_PASSWORD", password)
            .stdin(Stdio::null())
            .stdout(Stdio::null()),
    );
    let (status, err) = client.finish();
    (status.code(), err)
}

/// The README's recipe: `. DIR/env; sasl-sample server --config DIR/sasl.conf`
/// with its defaults, and `sasl-sample client`.
fn sasl_sample_with_ldap() -> Result<(), Failed> {
    let dir = ldap();
    let mut server = sample_server(dir, true);
    let addr = server.wait_for_line("listening on ");
    for mechanism in ["CRAM-MD5", "SCRAM-SHA-256"] {
        for (user, password) in USERS {
            let (code, err) = sample_client(&addr, user, password, mechanism);
            assert_eq!(code, Some(0), "{user} with {mechanism}: {err}");
            assert_eq!(server.wait_for_line("authenticated: "), format!("{user} mech={mechanism} ssf=0"));
        }
        let (code, err) = sample_client(&addr, "bob", "secret", mechanism);
        assert_eq!(code, Some(1), "bob with alice's password, {mechanism}: {err}");
        server.wait_for_line("sasl-sample: info cyrus_sasl::server: authentication rejected");
    }
    assert!(server.child.try_wait().unwrap().is_none(), "the server keeps listening; dropping it kills it");
    Ok(())
}

/// The fact behind DIR/env: ldapdb takes its ldapdb_* options from libsasl2's
/// process-wide options when the process initialises libsasl2, never from a
/// connection's own config. Without SASL_CONF_PATH the plugin fails to load and
/// the server could verify no one: `sasl-sample server` refuses to start, and
/// says which variable and which file (its app name's) are missing.
fn without_process_wide_options() -> Result<(), Failed> {
    let dir = ldap();
    let mut server = sample_server(dir, false);
    let (status, err) = server.finish();
    assert_eq!(status.code(), Some(2), "the start-up check fails (exit 2: an error): {err}");
    assert!(!err.contains("listening on"), "{err}");
    for part in ["auxprop_plugin: ldapdb", "SASL_CONF_PATH is not set", "sasl-sample.conf", "ldapdb_uri"] {
        assert!(err.contains(part), "{part:?} in {err}");
    }
    Ok(())
}

/// With the directory stopped, ldapdb cannot read any secret: libsasl2 reports
/// SASL_UNAVAIL, which is an error on the server (logged, connection closed),
/// not a verdict about the user. (A process reads one directory, so this runs
/// `sasl-sample` against a directory of its own.)
fn directory_down_is_an_error() -> Result<(), Failed> {
    let dir = Directory::start();
    dir.stop();
    let mut server = sample_server(&dir, true);
    let addr = server.wait_for_line("listening on ");
    let (code, err) = sample_client(&addr, "alice", "secret", "CRAM-MD5");
    assert_eq!(code, Some(1), "the server closed the connection: {err}");
    let reason = server.wait_for_line("sasl-sample: 127.0.0.1:");
    assert!(reason.contains("error:") && reason.contains("SASL_UNAVAIL"), "{reason}");
    Ok(())
}

/// `ci/ldap start` fails, saying why, on a port something listens on and in a
/// directory whose slapd is running; the running one is left alone.
fn ci_ldap_refuses() -> Result<(), Failed> {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(ldap::script()).arg("start").arg(dir.path()).arg(&port).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("in use"), "{err}");
    assert!(!dir.path().join("slapd.pid").exists(), "no slapd was started");

    let running = ldap();
    let pid = running.pid();
    let out = Command::new(ldap::script()).arg("start").arg(&running.dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("already running"), "{err}");
    assert_eq!(running.pid(), pid, "the running slapd is untouched");
    assert!(matches!(login("CRAM-MD5", "alice", "secret"), Outcome::Authenticated(_)), "and still serves");
    Ok(())
}
mod groups {
    use std::time::{Duration, Instant};

    use cyrus_sasl::Secret;
    use cyrus_sasl_mesos::authorization::{
        Acls, AuthorizationError, GroupLookupError, LdapBind, LdapGroups, LdapGroupsConfig, Request,
    };
    use libtest_mimic::{Failed, Trial};

    use crate::common::capture;
    use crate::common::ldap::{AGENTS_GROUP, BASE_DN, Directory, FRAMEWORKS_GROUP, SERVICE_DN, ldap};

    pub fn trials() -> Vec<Trial> {
        vec![
            Trial::test("ldap_group_members_are_allowed_and_others_are_not", members_allowed_others_not),
            Trial::test(
                "directory_down_fails_closed_while_decisions_without_groups_go_on",
                directory_down_fails_closed,
            ),
            Trial::test("cached_membership_expires_after_the_ttl", cached_membership_expires),
        ]
    }

    /// Frameworks of group `frameworks` (alice) may register in role `dev`;
    /// agents of group `agents` (bob) may register; nothing else.
    fn acls() -> Acls {
        Acls::from_json(&format!(
            r#"{{"permissive": false,
                 "register_frameworks": [
                   {{"principals": {{"values": ["ldap-group:{FRAMEWORKS_GROUP}"]}}, "roles": {{"values": ["dev"]}}}}],
                 "register_agents": [
                   {{"principals": {{"values": ["ldap-group:{AGENTS_GROUP}"]}}, "agents": {{"type": "ANY"}}}}],
                 "run_tasks": [
                   {{"principals": {{"values": ["alice"]}}, "users": {{"type": "ANY"}}}}]}}"#
        ))
        .unwrap()
    }

    /// Groups read from `dir` as the service identity (a simple bind over
    /// loopback), users at uid=NAME,ou=people.
    fn directory(dir: &Directory, ttl: Duration) -> LdapGroups {
        let bind = LdapBind::Simple { dn: SERVICE_DN.to_owned(), password: Secret::from(dir.service_password()) };
        let mut config = LdapGroupsConfig::new(dir.uri.clone(), bind, format!("uid={{}},ou=people,{BASE_DN}"));
        config.ttl = ttl;
        config.timeout = Duration::from_secs(2);
        LdapGroups::new(config).unwrap()
    }

    fn allowed(acls: &Acls, groups: &LdapGroups, request: Request<'_>) -> bool {
        acls.decide_with(&request, groups).unwrap_or_else(|e| panic!("{request:?}: {e}")).allowed
    }

    fn members_allowed_others_not() -> Result<(), Failed> {
        let (acls, groups) = (acls(), directory(ldap(), Duration::from_secs(60)));
        assert!(allowed(&acls, &groups, Request::register_framework(Some("alice"), ["dev"])), "alice is in frameworks");
        assert!(!allowed(&acls, &groups, Request::register_framework(Some("bob"), ["dev"])), "bob is not");
        assert!(!allowed(&acls, &groups, Request::register_framework(None, ["dev"])), "no principal is no member");
        assert!(allowed(&acls, &groups, Request::register_agent(Some("bob"))), "bob is in agents");
        assert!(!allowed(&acls, &groups, Request::register_agent(Some("alice"))), "alice is not");
        // The DN of a principal is escaped: "alice,ou=people" is not alice.
        assert!(!allowed(&acls, &groups, Request::register_framework(Some("alice,ou=people"), ["dev"])));
        // Two groups, each read once; later decisions come from the cache.
        assert_eq!(groups.lookups(), 2);
        // A group that is not in the directory is an error, never an empty group.
        let ghost = Acls::from_json(&format!(
            r#"{{"run_tasks": [{{"principals": {{"values": ["ldap-group:cn=ghosts,ou=groups,{BASE_DN}"]}},
                                "users": {{"type": "NONE"}}}}]}}"#
        ))
        .unwrap();
        let e = ghost.decide_with(&Request::run_task(Some("bob"), Some("root")), &groups).unwrap_err();
        assert!(matches!(e, AuthorizationError::GroupLookup { source: GroupLookupError::NoSuchGroup, .. }), "{e}");
        Ok(())
    }

    fn directory_down_fails_closed() -> Result<(), Failed> {
        // A directory of this trial's own, to stop.
        let dir = Directory::start();
        let (acls, groups) = (acls(), directory(&dir, Duration::from_secs(60)));
        assert!(allowed(&acls, &groups, Request::register_framework(Some("alice"), ["dev"])));
        dir.stop();
        // Within the TTL the cached member list still answers.
        assert!(allowed(&acls, &groups, Request::register_framework(Some("alice"), ["dev"])));
        groups.clear();

        let _log = capture::start();
        let started = Instant::now();
        let e = acls.decide_with(&Request::register_framework(Some("alice"), ["dev"]), &groups).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "the lookup has a deadline");
        let AuthorizationError::GroupLookup { group, principal, source } = &e else { panic!("{e:?}") };
        assert_eq!((group.as_str(), principal.as_str()), (FRAMEWORKS_GROUP, "alice"));
        assert!(matches!(source, GroupLookupError::Unavailable(_)), "{source:?}");
        let logged = capture::lines();
        assert!(
            logged.iter().any(|l| l.starts_with("WARN cyrus_sasl_mesos::authorization")
                && l.contains("\"alice\"")
                && l.contains("denying")),
            "a warning names the principal and the refusal: {logged:#?}"
        );
        // Bob's agent registration needs the group too: refused, not allowed.
        assert!(acls.decide_with(&Request::register_agent(Some("bob")), &groups).is_err());
        // Decisions that reach no group rule go on: a rule naming alice, and a
        // role no group rule is about (permissive false decides).
        assert!(allowed(&acls, &groups, Request::run_task(Some("alice"), Some("www"))));
        assert!(!allowed(&acls, &groups, Request::run_task(Some("bob"), Some("www"))));
        assert!(!allowed(&acls, &groups, Request::register_framework(Some("alice"), ["prod"])));
        Ok(())
    }

    fn cached_membership_expires() -> Result<(), Failed> {
        let dir = ldap();
        // A group of this trial's own, so the other trials' groups stay as they are.
        let group = format!("cn=ttl,ou=groups,{BASE_DN}");
        dir.ldapmodify(&format!(
            "dn: {group}\nchangetype: add\nobjectClass: groupOfNames\ncn: ttl\nmember: uid=alice,ou=people,{BASE_DN}\n"
        ));
        let acls = Acls::from_json(&format!(
            r#"{{"permissive": false, "register_agents": [
                 {{"principals": {{"values": ["ldap-group:{group}"]}}, "agents": {{"type": "ANY"}}}}]}}"#
        ))
        .unwrap();
        let ttl = Duration::from_millis(1500);
        let groups = directory(dir, ttl);
        let bob = || allowed(&acls, &groups, Request::register_agent(Some("bob")));
        let filled = Instant::now();
        assert!(!bob(), "bob is not a member yet");
        dir.ldapmodify(&format!("dn: {group}\nchangetype: modify\nadd: member\nmember: uid=bob,ou=people,{BASE_DN}\n"));
        // Still the cached list, as long as the TTL has not run out.
        assert!(!bob(), "within the TTL the change is not seen");
        assert_eq!(groups.lookups(), 1);
        assert!(filled.elapsed() < ttl, "the test itself was too slow to observe the cache");
        std::thread::sleep(ttl.saturating_sub(filled.elapsed()) + Duration::from_millis(100));
        assert!(bob(), "after the TTL the directory is read again");
        assert_eq!(groups.lookups(), 2);
        Ok(())
    }
}

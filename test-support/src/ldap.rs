//! A real OpenLDAP directory for the tests that need one, started by `ci/ldap`.
//!
//! libsasl2's `ldapdb` auxprop plugin is loaded once per process, when libsasl2
//! is initialised, and reads `ldapdb_uri`, `ldapdb_id`, `ldapdb_pw` and
//! `ldapdb_mech` only then, from the process-wide options: the file
//! `cyrus-sasl-rs.conf` in `SASL_CONF_PATH`. `std::env::set_var` is only sound
//! while the process has one thread, so an LDAP-backed test binary is declared
//! with `harness = false` and its `main` hands its trials to [`run_with_ldap`],
//! which starts the directory, sets `SASL_CONF_PATH` while the process is still
//! single-threaded, runs the trials (libtest-mimic, with the usual `cargo test`
//! arguments), and stops slapd by its PID afterwards, whatever the trials did.
//!
//! Tests that must stop a directory start their own with [`Directory::start`].
//!
//! The entries and files are those `ci/ldap start` creates; see the comment at
//! the top of that script.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, ExitCode, Output, Stdio};
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Trial};

/// The suffix of the test directory.
pub const BASE_DN: &str = "dc=example,dc=test";
/// The rootdn, whose password is in `DIR/admin.password`.
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=test";
/// The group alice is a member of.
pub const FRAMEWORKS_GROUP: &str = "cn=frameworks,ou=groups,dc=example,dc=test";
/// The group bob is a member of.
pub const AGENTS_GROUP: &str = "cn=agents,ou=groups,dc=example,dc=test";
/// The identity libsasl2's ldapdb plugin binds as.
pub const SERVICE_DN: &str = "uid=sasl-server,ou=services,dc=example,dc=test";
/// Users and their passwords as `ci/ldap` loads them.
pub const USERS: [(&str, &str); 2] = [("alice", "secret"), ("bob", "bobsecret")];

/// A running slapd started by `ci/ldap start`, stopped (by its PID, through
/// `ci/ldap stop`) and removed when dropped.
#[derive(Debug)]
pub struct Directory {
    /// The directory holding everything (a temp dir, removed on drop).
    pub dir: PathBuf,
    /// `ldap://127.0.0.1:PORT`.
    pub uri: String,
    // Removes the files when a `Directory` is dropped, after slapd has stopped.
    _temp: tempfile::TempDir,
}

static MAIN: OnceLock<Directory> = OnceLock::new();

/// The directory of this test run, the one `SASL_CONF_PATH` points at.
///
/// # Panics
/// Outside [`run_with_ldap`].
pub fn ldap() -> &'static Directory {
    MAIN.get().expect("ldap() is only available in trials run by cyrus_sasl_test_support::ldap::run_with_ldap")
}

/// The `ci/ldap` script of this repository.
pub fn script() -> PathBuf {
    crate::workspace_root().join("ci/ldap")
}

impl Directory {
    /// Starts a fresh directory in a new temp dir. Panics with `ci/ldap`'s output
    /// (slapd's log included) if it cannot start: tests never pass by being
    /// skipped.
    pub fn start() -> Directory {
        let temp = tempfile::Builder::new().prefix("ldap-").tempdir().expect("a temp dir for slapd");
        let dir = temp.path().to_owned();
        let out = Command::new(script())
            .arg("start")
            .arg(&dir)
            .output()
            .expect("run ci/ldap: the LDAP tests need it (and slapd, ldap-utils: ci/install-deps)");
        // From here on, dropping `started` stops slapd.
        let mut started = Directory { dir, uri: String::new(), _temp: temp };
        assert!(out.status.success(), "ci/ldap start {} failed:\n{}", started.dir.display(), describe(&out));
        started.uri = started.read("uri");
        started
    }

    fn read(&self, name: &str) -> String {
        let file = self.dir.join(name);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        text.trim().to_owned()
    }

    /// The server config `ci/ldap` wrote (`DIR/sasl.conf`).
    pub fn sasl_conf(&self) -> PathBuf {
        self.dir.join("sasl.conf")
    }

    /// The password of the service identity (`sasl-server`).
    pub fn service_password(&self) -> String {
        self.read("service.password")
    }

    /// The PID of the running slapd.
    pub fn pid(&self) -> u32 {
        self.read("slapd.pid").parse().expect("ci/ldap wrote a PID")
    }

    /// The environment a child process (sasl-sample) needs to use this
    /// directory: `SASL_CONF_PATH`, as in the `env` file `ci/ldap` writes.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![("SASL_CONF_PATH".into(), self.dir.to_str().expect("the temp dir path is UTF-8").to_owned())]
    }

    /// Runs an ldap-utils tool as the rootdn against this directory, with `input`
    /// on its stdin. Panics on failure.
    pub fn admin(&self, tool: &str, args: &[&str], input: &str) {
        let mut child = Command::new(tool)
            .args(["-H", &self.uri, "-x", "-D", ADMIN_DN, "-y"])
            .arg(self.dir.join("admin.password"))
            .args(args)
            // Not /etc/ldap/ldap.conf nor ~/.ldaprc.
            .env("LDAPNOINIT", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {tool} (package ldap-utils): {e}"));
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{tool} {args:?}: {}", describe(&out));
    }

    /// `ldapmodify` as the rootdn with `ldif` (changetype records).
    pub fn ldapmodify(&self, ldif: &str) {
        self.admin("ldapmodify", &[], ldif);
    }

    /// Sets `user`'s password (an entry under ou=people) with the password-modify
    /// extended operation (`ldappasswd`), as an operator would.
    pub fn ldappasswd(&self, user: &str, password: &str) {
        let dn = format!("uid={user},ou=people,{BASE_DN}");
        self.admin("ldappasswd", &["-s", password, &dn], "");
    }

    /// Adds a user under ou=people with a password.
    pub fn add_user(&self, user: &str, password: &str) {
        self.ldapmodify(&format!(
            "dn: uid={user},ou=people,{BASE_DN}\nchangetype: add\nobjectClass: inetOrgPerson\nuid: {user}\n\
             cn: {user}\nsn: {user}\nuserPassword: {password}\n"
        ));
    }

    /// Stops slapd now (by its PID, through `ci/ldap stop`), leaving the files.
    pub fn stop(&self) {
        match Command::new(script()).arg("stop").arg(&self.dir).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => panic!("`ci/ldap stop` failed: {}", describe(&out)),
            Err(e) => panic!("cannot run `ci/ldap stop`: {e}"),
        }
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        // `ci/ldap stop` kills the PID in DIR/slapd.pid and waits for it to exit;
        // it does nothing when no slapd runs.
        match Command::new(script()).arg("stop").arg(&self.dir).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("test-support ldap: `ci/ldap stop` failed: {}", describe(&out)),
            Err(e) => eprintln!("test-support ldap: cannot run `ci/ldap stop`: {e}"),
        }
    }
}

/// Starts the directory in a temp dir, points this process's libsasl2 at it
/// (`SASL_CONF_PATH`), runs `trials` with the command-line arguments of `cargo
/// test`, stops slapd, and returns the exit code.
pub fn run_with_ldap(trials: Vec<Trial>) -> ExitCode {
    let args = Arguments::from_args();
    if args.list {
        // Listing runs nothing; no directory needed.
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let started = Directory::start();
    for (name, value) in started.env() {
        // SAFETY: set_var is unsound only while another thread may read or write
        // the environment. This runs in `main` of a `harness = false` test binary
        // before any thread exists: libtest-mimic starts its worker threads only
        // inside `libtest_mimic::run` below, libsasl2 has not been initialised yet,
        // and `ci/ldap` was waited for with `output()`, which uses no threads.
        unsafe { std::env::set_var(name, value) };
    }
    eprintln!("test-support ldap: slapd pid {} at {} in {}", started.pid(), started.uri, started.dir.display());
    MAIN.set(started).expect("run_with_ldap runs once per process");
    // `run` joins all its threads before it returns.
    let code = libtest_mimic::run(&args, trials).exit_code();
    // A static is never dropped: stop slapd and remove its files explicitly.
    ldap().stop();
    let _ = std::fs::remove_dir_all(&ldap().dir);
    code
}

fn describe(out: &Output) -> String {
    format!(
        "{}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

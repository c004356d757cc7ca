//! A real MIT KDC for the tests that need Kerberos, started by `ci/kdc`.
//!
//! libsasl2's GSSAPI plugin and MIT krb5 read `KRB5_CONFIG`, `KRB5CCNAME`,
//! `KRB5_KTNAME` and `KRB5RCACHETYPE` from the process environment, and
//! `std::env::set_var` is only sound while the process has one thread. So a
//! KDC-backed test binary is declared with `harness = false` and its `main`
//! hands its trials to [`run_with_kdc`], which starts the KDC, sets the
//! environment while the process is still single-threaded, runs the trials
//! (libtest-mimic, with the usual `cargo test` arguments), and stops the KDC by
//! its PID afterwards, whatever the trials did.
//!
//! ```ignore
//! // tests/my_kerberos_test.rs, registered in Cargo.toml with harness = false
//! use cyrus_sasl_test_support::kdc::{self, kdc};
//! use libtest_mimic::Trial;
//!
//! fn main() -> std::process::ExitCode {
//!     kdc::run_with_kdc(vec![Trial::test("handshake_works", || {
//!         let keytab = &kdc().keytab;
//!         /* ... */
//!         Ok(())
//!     })])
//! }
//! ```
//!
//! The realm, principals and files are those `ci/kdc start` creates; see the
//! comment at the top of that script.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output};
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Trial};

/// The service of the principal in [`Kdc::keytab`]: `mesos/localhost@EXAMPLE.TEST`.
pub const SERVICE: &str = "mesos";
/// The host part of the service principal; the server and client FQDN must be this.
pub const HOST: &str = "localhost";
/// The user whose ticket is in [`Kdc::ccache`].
pub const USER: &str = "alice";
/// A second user, with no ticket anywhere until a test asks for one.
pub const OTHER_USER: &str = "bob";
/// The realm, which is also the `default_realm` of [`Kdc::krb5_config`] (so
/// libsasl2 reports `alice`, not `alice@EXAMPLE.TEST`).
pub const REALM: &str = "EXAMPLE.TEST";
/// A service whose key is only in [`Kdc::other_keytab`]: a server for `mesos`
/// pointed at that keytab lacks its key.
pub const OTHER_SERVICE: &str = "other";
/// A service the KDC knows but whose key no keytab holds.
pub const UNKEYED_SERVICE: &str = "unkeyed";

/// The running KDC and the files `ci/kdc start` made for it.
#[derive(Debug)]
pub struct Kdc {
    /// The directory holding everything (a temp dir, removed after the run).
    pub dir: PathBuf,
    /// The keytab with `mesos/localhost@EXAMPLE.TEST`.
    pub keytab: PathBuf,
    /// The credential cache holding alice's ticket-granting ticket.
    pub ccache: PathBuf,
    /// The client profile (`KRB5_CONFIG`).
    pub krb5_config: PathBuf,
    /// The KDC's own profile (`KRB5_KDC_PROFILE`).
    pub kdc_profile: PathBuf,
    /// A keytab with only `other/localhost@EXAMPLE.TEST`.
    pub other_keytab: PathBuf,
    /// The loopback port the KDC listens on (TCP and UDP).
    pub port: u16,
    pid: u32,
}

static KDC: OnceLock<Kdc> = OnceLock::new();

/// The running KDC.
///
/// # Panics
/// Outside [`run_with_kdc`].
pub fn kdc() -> &'static Kdc {
    KDC.get().expect("kdc() is only available in trials run by cyrus_sasl_test_support::kdc::run_with_kdc")
}

/// The `ci/kdc` script of this repository.
pub fn script() -> PathBuf {
    crate::workspace_root().join("ci/kdc")
}

impl Kdc {
    /// The environment a child process (gsasl, sasl-sample, kinit) needs to use
    /// this KDC as alice, with the `mesos` keytab: the same variables as the
    /// `env` file `ci/kdc` writes, and the ones [`run_with_kdc`] sets in this
    /// process.
    pub fn env(&self) -> Vec<(String, String)> {
        let path = |p: &Path| p.to_str().expect("the temp dir path is UTF-8").to_owned();
        vec![
            ("KRB5_CONFIG".into(), path(&self.krb5_config)),
            ("KRB5_KDC_PROFILE".into(), path(&self.kdc_profile)),
            ("KRB5_KTNAME".into(), format!("FILE:{}", path(&self.keytab))),
            ("KRB5CCNAME".into(), format!("FILE:{}", path(&self.ccache))),
            // The default replay cache, /var/tmp/krb5_<uid>.rcache2, is outside
            // the sandbox.
            ("KRB5RCACHETYPE".into(), "none".into()),
        ]
    }

    /// A user's password (`alice` or `bob`), as `ci/kdc` chose it.
    pub fn password(&self, user: &str) -> String {
        let file = self.dir.join(format!("{user}.password"));
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        text.trim_end().to_owned()
    }

    /// Gets a fresh ticket-granting ticket for `user` into the credential cache
    /// file `ccache` (created or replaced), with the real `kinit`.
    pub fn kinit(&self, user: &str, ccache: &Path) {
        let password = self.password(user);
        let mut child = Command::new("kinit")
            .arg("-c")
            .arg(format!("FILE:{}", ccache.display()))
            .arg(format!("{user}@{REALM}"))
            .envs(self.env())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run kinit (package krb5-user)");
        use std::io::Write as _;
        child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "kinit {user} failed: {}", describe(&out));
    }
}

impl Kdc {
    /// Runs one `kadmin.local` query against this KDC's database, e.g.
    /// `cpw -randkey other/localhost` to re-key a principal. Panics on failure.
    pub fn kadmin(&self, query: &str) {
        let out = Command::new("kadmin.local")
            .args(["-r", REALM, "-q", query])
            .envs(self.env())
            .output()
            .expect("run kadmin.local (package krb5-admin-server)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        // kadmin.local exits 0 even when the query fails; it says so on stderr.
        assert!(out.status.success() && !stderr.contains("error"), "kadmin.local -q {query:?}: {}", describe(&out));
    }

    /// A krb5.conf like [`Kdc::krb5_config`] but naming a KDC port on which
    /// nothing listens, written to `path`: clients using it cannot reach a KDC.
    pub fn unreachable_krb5_config(&self, path: &Path) {
        let text = std::fs::read_to_string(&self.krb5_config).expect("read krb5.conf");
        let live = format!("127.0.0.1:{}", self.port);
        assert!(text.contains(&live), "krb5.conf names the KDC as {live}");
        // A port that was free a moment ago: bound, then released.
        let dead = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port");
        std::fs::write(path, text.replace(&live, &dead.to_string())).expect("write the unreachable krb5.conf");
    }
}

/// Stops the KDC, by its PID, when dropped: after the trials, and also when
/// `run_with_kdc` unwinds. Then removes the directory.
struct Running {
    dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        // `ci/kdc stop` kills the PID in DIR/kdc.pid and waits for it to exit; it
        // does nothing when no KDC was started.
        match Command::new(script()).arg("stop").arg(self.dir.path()).output() {
            Ok(out) if out.status.success() => {}
            Ok(out) => eprintln!("test-support kdc: `ci/kdc stop` failed: {}", describe(&out)),
            Err(e) => eprintln!("test-support kdc: cannot run `ci/kdc stop`: {e}"),
        }
    }
}

/// Starts the KDC in a temp dir, points this process at it, runs `trials` with
/// the command-line arguments of `cargo test`, stops the KDC, and returns the
/// exit code.
///
/// The KDC is stopped even when a trial fails or panics (libtest-mimic catches
/// trial panics; the guard's `Drop` covers the rest). If the KDC cannot start,
/// this panics with `ci/kdc`'s output, the KDC log included: tests never pass by
/// being skipped.
pub fn run_with_kdc(trials: Vec<Trial>) -> ExitCode {
    run_with_kdc_args(Arguments::from_args(), trials)
}

/// [`run_with_kdc`] with arguments the caller has already parsed (and maybe
/// adjusted, as the GSSAPI benchmark does with `test_threads`).
pub fn run_with_kdc_args(args: Arguments, trials: Vec<Trial>) -> ExitCode {
    if args.list {
        // Listing runs nothing; no KDC needed.
        return libtest_mimic::run(&args, trials).exit_code();
    }
    let running = Running { dir: tempfile::Builder::new().prefix("kdc-").tempdir().expect("a temp dir for the KDC") };
    let dir = running.dir.path().to_owned();
    let out =
        Command::new(script()).arg("start").arg(&dir).output().expect(
            "run ci/kdc: the Kerberos tests need it (and krb5-kdc, krb5-admin-server, krb5-user: ci/install-deps)",
        );
    assert!(out.status.success(), "ci/kdc start {} failed; the tests need a KDC:\n{}", dir.display(), describe(&out));
    let read = |name: &str| {
        let file = dir.join(name);
        let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        text.trim().to_owned()
    };
    let started = Kdc {
        keytab: dir.join("service.keytab"),
        ccache: dir.join("ccache"),
        krb5_config: dir.join("krb5.conf"),
        kdc_profile: dir.join("kdc.conf"),
        other_keytab: dir.join("other.keytab"),
        port: read("port").parse().expect("ci/kdc wrote a port number"),
        pid: read("kdc.pid").parse().expect("ci/kdc wrote a PID"),
        dir,
    };
    for (name, value) in started.env() {
        // SAFETY: set_var is unsound only while another thread may read or write
        // the environment. This runs in `main` of a `harness = false` test binary
        // before any thread exists: libtest-mimic starts its worker threads only
        // inside `libtest_mimic::run` below, libsasl2/krb5 have not been called
        // yet (they start no threads of their own anyway), and the children
        // spawned above were waited for with `output()`, which uses no threads.
        unsafe { std::env::set_var(name, value) };
    }
    eprintln!("test-support kdc: KDC pid {} on 127.0.0.1:{} in {}", started.pid, started.port, started.dir.display());
    KDC.set(started).expect("run_with_kdc runs once per process");
    // `run` joins all its threads before it returns; the KDC stops when
    // `running` drops, only after that.
    let code = libtest_mimic::run(&args, trials).exit_code();
    drop(running);
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

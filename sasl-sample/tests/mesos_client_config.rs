//! A framework's side by configuration, as the master's: `sasl-sample
//! mesos-master --config` and `sasl-sample mesos-authenticate --config`, both
//! on their defaults otherwise (service `mesos`, host `localhost`), move from
//! CRAM-MD5 to Kerberos by editing their files only. The Kerberos half runs
//! against the real MIT KDC of `ci/kdc`; the environment's `KRB5CCNAME` and
//! `KRB5_KTNAME` point at nothing, so only the files' `ccache:` and `keytab:`
//! can make it work.

use cyrus_sasl_test_support as common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use common::kdc::{self, USER, kdc};
use common::mesos::SampleMaster;
use libtest_mimic::{Failed, Trial};

const BIN: &str = env!("CARGO_BIN_EXE_sasl-sample");

/// A scratch directory inside the KDC's, removed with it.
fn scratch(name: &str) -> PathBuf {
    let dir = kdc().dir.join("scratch").join(name);
    std::fs::create_dir_all(&dir).expect("create a scratch dir");
    dir
}

/// `KRB5CCNAME` and `KRB5_KTNAME` naming files that do not exist, and the
/// `LIBPROCESS_SSL_*` of the test's environment off.
fn nowhere(dir: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("KRB5_KTNAME", format!("FILE:{}", dir.join("none.keytab").display())),
        ("KRB5CCNAME", format!("FILE:{}", dir.join("none.ccache").display())),
        ("LIBPROCESS_SSL_ENABLED", "false".to_owned()),
    ]
}

/// `sasl-sample mesos-master --config CONF` and nothing else.
fn master(conf: &Path, env: &[(&str, String)]) -> SampleMaster {
    let vars: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    SampleMaster::start(Path::new(BIN), &["--config".as_ref(), conf.as_os_str()], &vars)
}

/// `sasl-sample mesos-authenticate --config CONF` and nothing else: its exit
/// code and stdout.
fn authenticate(conf: &Path, env: &[(&str, String)]) -> (Option<i32>, String) {
    let output = Command::new(BIN)
        .arg("mesos-authenticate")
        .arg("--config")
        .arg(conf)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("LIBPROCESS_IP")
        .env_remove("LIBPROCESS_PORT")
        .stderr(Stdio::null())
        .output()
        .expect("run sasl-sample mesos-authenticate");
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Both files, CRAM-MD5: the master's credentials file, the framework's
/// principal and secret file.
fn cram_md5_files(dir: &Path) -> (PathBuf, PathBuf) {
    std::fs::write(dir.join("credentials"), format!("{USER} s3cret\n")).unwrap();
    std::fs::write(dir.join("secret"), "s3cret\n").unwrap();
    let master_conf = dir.join("master.conf");
    std::fs::write(&master_conf, "mech_list: CRAM-MD5\ncredentials: credentials\n").unwrap();
    (master_conf, dir.join("framework.conf"))
}

fn framework_file(path: &Path, master: &SampleMaster, lines: &str) {
    std::fs::write(path, format!("master: {}\nprincipal: {USER}\n{lines}", master.upid)).unwrap();
}

/// The framework's file names its master, its principal and secret file, and
/// CRAM-MD5: authenticated, and the master records it for the tool's UPID.
fn a_framework_authenticates_by_its_config_file_alone_cram_md5() -> Result<(), Failed> {
    let dir = scratch("client-config-cram-md5");
    let env = nowhere(&dir);
    let (master_conf, framework_conf) = cram_md5_files(&dir);
    let master = master(&master_conf, &env);
    framework_file(&framework_conf, &master, "secret_file: secret\nmech_list: CRAM-MD5\n");
    let (code, stdout) = authenticate(&framework_conf, &env);
    assert_eq!((code, stdout.as_str()), (Some(0), "authenticated\n"));
    let line = master.line();
    assert!(line.starts_with(&format!("authenticated: {USER} pid=sasl-sample@127.0.0.1:")), "{line}");
    assert!(line.contains(" mech=CRAM-MD5 "), "{line}");

    // The file's mech_list is what the client allows: SCRAM only, against a
    // CRAM-MD5 master, is a mismatch naming both lists.
    framework_file(&framework_conf, &master, "secret_file: secret\nmech_list: SCRAM-SHA-256\n");
    let (code, stdout) = authenticate(&framework_conf, &env);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.contains("master offers [CRAM-MD5]; this client allows [SCRAM-SHA-256]"), "{stdout}");
    Ok(())
}

/// The same two tools, moved to Kerberos by their files: the master's says
/// `mech_list: GSSAPI` and names the `mesos/localhost` keytab, the
/// framework's says `mech_list: GSSAPI` and names a credential cache holding
/// alice's ticket, and drops its secret. Neither names a service or a host.
fn a_framework_moves_from_cram_md5_to_gssapi_by_editing_its_config_file_only() -> Result<(), Failed> {
    let dir = scratch("client-config-gssapi");
    let env = nowhere(&dir);
    let (master_conf, framework_conf) = cram_md5_files(&dir);
    let cram = master(&master_conf, &env);
    framework_file(&framework_conf, &cram, "secret_file: secret\n");
    assert_eq!(authenticate(&framework_conf, &env), (Some(0), "authenticated\n".to_owned()));
    drop(cram);

    let ccache = dir.join("alice.ccache");
    kdc().kinit(USER, &ccache);
    std::fs::write(&master_conf, format!("mech_list: GSSAPI\nkeytab: {}\n", kdc().keytab.display()))?;
    let kerberos = master(&master_conf, &env);
    framework_file(&framework_conf, &kerberos, &format!("mech_list: GSSAPI\nccache: FILE:{}\n", ccache.display()));
    let (code, stdout) = authenticate(&framework_conf, &env);
    assert_eq!((code, stdout.as_str()), (Some(0), "authenticated\n"));
    let line = kerberos.line();
    assert!(line.starts_with(&format!("authenticated: {USER} pid=sasl-sample@127.0.0.1:")), "{line}");
    assert!(line.contains(" mech=GSSAPI "), "{line}");

    // Without a secret, CRAM-MD5 is refused before any attempt, saying why.
    framework_file(&framework_conf, &kerberos, "mech_list: CRAM-MD5\n");
    let (code, stdout) = authenticate(&framework_conf, &env);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(stdout.contains("has no secret, which CRAM-MD5 needs"), "{stdout}");
    Ok(())
}

fn main() -> ExitCode {
    kdc::run_with_kdc(vec![
        Trial::test(
            "a_framework_authenticates_by_its_config_file_alone_cram_md5",
            a_framework_authenticates_by_its_config_file_alone_cram_md5,
        ),
        Trial::test(
            "a_framework_moves_from_cram_md5_to_gssapi_by_editing_its_config_file_only",
            a_framework_moves_from_cram_md5_to_gssapi_by_editing_its_config_file_only,
        ),
    ])
}

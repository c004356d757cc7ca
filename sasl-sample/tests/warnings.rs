//! Issue 14, item 3: warnings reach the operator without a logger. The library
//! returns them (`Config::warnings`, `MasterConfig::warnings`, `Server::check`)
//! and `sasl-sample` prints them on stderr as `warning: ...`.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cyrus_sasl::{Config, CredentialStore, Server, Warning};
use cyrus_sasl_mesos::{MasterConfig, Warning as MasterWarning};

fn credentials_file(dir: &Path, text: &str, mode: u32) -> PathBuf {
    let path = dir.join("credentials.json");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn an_empty_credentials_file_is_a_warning_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = credentials_file(dir.path(), r#"{"credentials": []}"#, 0o600);
    let master = MasterConfig::read_credentials_file(&path).unwrap();
    assert_eq!(master.warnings(), [MasterWarning::EmptyCredentialsFile { path: path.clone() }]);
    let shown = master.warnings()[0].to_string();
    assert!(shown.contains("holds no credentials: every authentication attempt will be rejected"), "{shown}");
}

#[test]
fn a_credentials_file_open_to_others_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"credentials": [{"principal": "a", "secret": "s"}]}"#;
    let path = credentials_file(dir.path(), text, 0o644);
    let master = MasterConfig::read_credentials_file(&path).unwrap();
    assert_eq!(master.warnings(), [MasterWarning::CredentialsFileOpenToOthers { path: path.clone(), mode: 0o644 }]);
    assert!(master.warnings()[0].to_string().contains("chmod o-rwx"));
    let private = credentials_file(dir.path(), text, 0o600);
    assert_eq!(MasterConfig::read_credentials_file(private).unwrap().warnings(), []);
}

#[test]
fn an_empty_store_refuses_every_login_and_says_so() {
    let config = Config::new().with_credential_store(&CredentialStore::new());
    assert_eq!(config.warnings(), [Warning::EmptyStore]);
    assert_eq!(Server::check("sample", "localhost", None, &config).unwrap(), [Warning::EmptyStore]);
    let filled = CredentialStore::from_credentials([("a".to_owned(), "s".into())]).unwrap();
    assert_eq!(Config::new().with_credential_store(&filled).warnings(), []);
}

#[test]
fn a_config_that_opens_up_is_a_warning_from_the_master_too() {
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(dir.path(), r#"{"credentials": [{"principal": "a", "secret": "s"}]}"#, 0o600);
    let conf = dir.path().join("master.conf");
    std::fs::write(&conf, format!("credentials: {}\nsecurity_flags: noplaintext\n", creds.display())).unwrap();
    assert_eq!(MasterConfig::read(&conf).unwrap().warnings(), [MasterWarning::Sasl(Warning::AllowsAnonymous)]);
}

#[test]
fn sasl_sample_mesos_master_prints_its_warnings_on_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let path = credentials_file(dir.path(), r#"{"credentials": []}"#, 0o644);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sasl-sample"))
        .args(["mesos-master", "--listen", "127.0.0.1:0", "--credentials"])
        .arg(&path)
        .env_remove("LIBPROCESS_IP")
        .env_remove("LIBPROCESS_PORT")
        .env_remove("LIBPROCESS_ADVERTISE_IP")
        .env_remove("LIBPROCESS_ADVERTISE_PORT")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The warnings come before the listening line; then stop the master by its PID.
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(first.starts_with("listening: "), "stdout: {first} stderr: {err}");
    assert!(err.contains("warning: credentials file") && err.contains("holds no credentials"), "stderr: {err}");
    assert!(err.contains("warning: permissions on credentials file"), "stderr: {err}");
}

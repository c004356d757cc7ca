//! A misspelt key in a config file is an error naming the file, the line and
//! the nearest known key, in the library, in the Mesos master's config and in
//! `sasl-sample`: libsasl2 itself would ignore it, and a master whose
//! `credentials` key is misspelt would fall back to `/etc/sasldb2` and refuse
//! everyone.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cyrus_sasl::{Config, ConfigErrorKind};
use cyrus_sasl_mesos::MasterConfig;

#[test]
fn a_misspelt_cyrus_key_names_file_line_and_the_nearest_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.conf");
    std::fs::write(&path, "# CRAM-MD5 only\nmech_lsit: CRAM-MD5\n").unwrap();
    let e = Config::from_file(&path).unwrap_err();
    assert_eq!((e.path.as_deref(), e.line), (Some(path.as_path()), 2));
    assert_eq!(
        e.kind,
        ConfigErrorKind::UnknownOption { key: "mech_lsit".into(), suggestion: Some("mech_list".into()) }
    );
    assert!(e.to_string().starts_with(&format!("{}:2: unknown option `mech_lsit`", path.display())), "{e}");
}

#[test]
fn a_plugin_key_is_accepted_once_the_file_declares_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.conf");
    std::fs::write(&path, "extra_options: myplugin_path\nmyplugin_path: /x\n").unwrap();
    assert_eq!(Config::from_file(&path).unwrap().get("myplugin_path"), Some("/x"));
}

#[test]
fn a_misspelt_credentials_key_stops_the_master_config() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("credentials.json"), r#"{"credentials":[{"principal":"fw","secret":"s"}]}"#)
        .unwrap();
    let path = dir.path().join("master.conf");
    std::fs::write(&path, "mech_list: CRAM-MD5\ncredentails: credentials.json\n").unwrap();
    let e = MasterConfig::read(&path).unwrap_err();
    let cyrus_sasl_mesos::Error::Config(e) = &e else { panic!("expected a config error, got {e:?}") };
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("did you mean `credentials`?"), "{e}");
}

#[test]
fn sasl_sample_refuses_a_misspelt_key_before_serving() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("server.conf");
    std::fs::write(&path, "mech_list: CRAM-MD5\nsasldb_pth: /nonexistent\n").unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sasl-sample"))
        .args(["server", "--listen", "127.0.0.1:0", "--config"])
        .arg(&path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A server that accepted the file would listen until killed.
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("sasl-sample server accepted the misspelt key and went on serving");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(":2: unknown option `sasldb_pth` (did you mean `sasldb_path`?)"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

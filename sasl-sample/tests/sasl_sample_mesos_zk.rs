//! `sasl-sample mesos-master --zk` and `mesos-authenticate --master zk://`,
//! driven as child processes against a real ZooKeeper (`ci/zookeeper`): the
//! first master prints `elected`, a second is a standby until the first is
//! killed (by its PID), and the operator's client authenticates with whichever
//! leads. Bad `--zk` values are errors.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use cyrus_sasl_test_support::mesos::SampleMaster;
use cyrus_sasl_test_support::zookeeper::ZooKeeper;

const SAMPLE: &str = env!("CARGO_BIN_EXE_sasl-sample");

fn credentials(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let path = dir.path().join("credentials");
    std::fs::write(&path, "framework-a s3cret\n").unwrap();
    let mut permissions = std::fs::metadata(&path).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o600);
    std::fs::set_permissions(&path, permissions).unwrap();
    path
}

fn master(dir: &tempfile::TempDir, zk: &str) -> SampleMaster {
    let path = credentials(dir);
    let os = std::ffi::OsStr::new;
    let args = [os("--credentials"), path.as_os_str(), os("--zk"), os(zk), os("--zk-session-timeout"), os("1")];
    SampleMaster::start(std::path::Path::new(SAMPLE), &args, &[])
}

fn authenticate(dir: &tempfile::TempDir, master: &str) -> Output {
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    Command::new(SAMPLE)
        .args(["mesos-authenticate", "--master", master, "--principal", "framework-a", "--timeout", "20"])
        .arg("--secret-file")
        .arg(&secret)
        .env_remove("LIBPROCESS_IP")
        .env_remove("LIBPROCESS_PORT")
        .output()
        .unwrap()
}

#[test]
fn a_standby_takes_over_when_the_leader_is_killed_and_the_client_follows() {
    let zk = ZooKeeper::start();
    let url = zk.url("/mesos");
    let dir = tempfile::tempdir().unwrap();
    let first = master(&dir, &url);
    assert_eq!(first.line(), "elected");
    let second = master(&dir, &url);

    let output = authenticate(&dir, &url);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "authenticated\n", "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("leader: {}", first.upid)), "{output:?}");
    assert!(first.line().starts_with("authenticated: framework-a pid=sasl-sample@"));

    // SIGKILL by PID: the standby leads once ZooKeeper expires the session.
    let killed_at = Instant::now();
    drop(first);
    assert_eq!(second.line(), "elected");
    assert!(killed_at.elapsed() < Duration::from_secs(4), "{:?}", killed_at.elapsed());
    let output = authenticate(&dir, &url);
    assert_eq!(String::from_utf8_lossy(&output.stdout), "authenticated\n", "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains(&format!("leader: {}", second.upid)), "{output:?}");
}

#[test]
fn zk_flags_that_make_no_election_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = credentials(&dir);
    let run = |args: &[&str]| {
        Command::new(SAMPLE).arg("mesos-master").arg("--credentials").arg(&path).args(args).output().unwrap()
    };
    let output = run(&["--zk", "127.0.0.1:5050"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("not a zk:// address"), "{output:?}");
    let output = run(&["--zk", "zk://op:hunter2@127.0.0.1:2181"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"), "{output:?}");
    let output = run(&["--zk-session-timeout", "2"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("needs --zk"), "{output:?}");
}

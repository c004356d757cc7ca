//! `sasl-sample mesos-authenticate` against the real Apache Mesos 1.11 master
//! code (`../shared/mesos-peer/real-master`): its output line and exit code for
//! each outcome.

use cyrus_sasl_test_support::mesos_peer as libprocess_support;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use libprocess_support::{RealMaster, free_port, mesos_peer};

fn sample(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sasl-sample"));
    command.arg("mesos-authenticate").args(args);
    for var in ["LIBPROCESS_IP", "LIBPROCESS_PORT", "LIBPROCESS_ADVERTISE_IP", "LIBPROCESS_ADVERTISE_PORT"] {
        command.env_remove(var);
    }
    command.envs(env.iter().copied());
    command.output().expect("run sasl-sample")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn the_three_outcomes_against_the_real_mesos_master() {
    let peer = mesos_peer("the_three_outcomes_against_the_real_mesos_master");
    let mut master = RealMaster::start(&peer, "fw s3cret\n");
    let address = format!("127.0.0.1:{}", master.port);
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let json = dir.path().join("credential.json");
    std::fs::write(&json, r#"{"principal": "fw", "secret": "wrong"}"#).unwrap();
    let text = dir.path().join("credential.txt");
    std::fs::write(&text, "stranger s3cret\n").unwrap();
    let secret = secret.to_str().unwrap();

    // Right secret: exit 0, and the real master records our process's UPID.
    let port = free_port().to_string();
    let output =
        sample(&["--master", &address, "--principal", "fw", "--secret-file", secret], &[("LIBPROCESS_PORT", &port)]);
    assert_eq!((stdout(&output).as_str(), output.status.code()), ("authenticated\n", Some(0)), "{output:?}");
    let line = master.next_line(Duration::from_secs(10)).unwrap();
    assert_eq!(line.trim_end(), format!("authenticated: fw from sasl-sample@127.0.0.1:{port}"));

    // Wrong secret (Mesos's --credential JSON), unknown principal (its text form): exit 1.
    for file in [&json, &text] {
        let output = sample(&["--master", &address, "--credential", file.to_str().unwrap()], &[]);
        assert_eq!((stdout(&output).as_str(), output.status.code()), ("rejected\n", Some(1)), "{output:?}");
        assert!(master.next_line(Duration::from_secs(10)).unwrap().starts_with("refused: sasl-sample@127.0.0.1:"));
    }

    // The advertised address is what the master answers to: an address nobody
    // listens on means no answer, and the overall timeout ends it with exit 2.
    let output = sample(
        &["--master", &address, "--principal", "fw", "--secret-file", secret, "--timeout", "2"],
        &[("LIBPROCESS_ADVERTISE_PORT", &free_port().to_string())],
    );
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(stdout(&output).starts_with("error: no verdict from master@"), "{output:?}");
}

#[test]
fn a_master_that_is_down_is_an_error_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    let address = format!("127.0.0.1:{}", free_port());
    let started = Instant::now();
    let output = sample(&["--master", &address, "--principal", "fw", "--secret-file", secret.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(stdout(&output).starts_with(&format!("error: cannot reach master@{address}")), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // Each failed delivery and each new attempt is logged at info.
    let output =
        sample(&["-v", "--master", &address, "--principal", "fw", "--secret-file", secret.to_str().unwrap()], &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for attempt in 1..=3 {
        assert!(
            stderr.contains(&format!(
                "info cyrus_sasl_mesos: authenticating with master@{address} as crammd5-authenticatee({attempt})"
            )),
            "{stderr}"
        );
    }
    for attempt in 1..=2 {
        assert!(
            stderr.contains(&format!(
                "info cyrus_sasl_mesos: authentication attempt {attempt}: cannot deliver to master@{address}"
            )),
            "{stderr}"
        );
    }
}

#[test]
fn bad_arguments_and_environment_are_errors() {
    let output = sample(&["--master", "127.0.0.1:5050", "--principal", "fw"], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, "s3cret").unwrap();
    let args = ["--master", "127.0.0.1:5050", "--principal", "fw", "--secret-file", secret.to_str().unwrap()];
    let output = sample(&args, &[("LIBPROCESS_PORT", "fifty")]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert_eq!(
        stdout(&output),
        "error: LIBPROCESS_PORT=\"fifty\" is not a port number: give a valid one, or unset it\n"
    );
    let missing = dir.path().join("absent.json");
    let output = sample(&["--master", "127.0.0.1:5050", "--credential", missing.to_str().unwrap()], &[]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(stdout(&output).starts_with("error: "), "{output:?}");
}

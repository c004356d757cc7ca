//! `sasl-sample mesos-master`: the operator's libprocess master, driven as a
//! child process. One line per attempt on stdout, peer text escaped; the real
//! Mesos 1.11 scheduler driver authenticates to it when `../shared/mesos-peer`
//! is prepared (skipped with one line otherwise).

use cyrus_sasl_test_support::mesos_peer as libprocess_support;

use std::process::{Command, Stdio};

use cyrus_sasl_mesos::AuthenticateMessage;
use cyrus_sasl_test_support::mesos::SampleMaster;
use libprocess::{Endpoint, EndpointOptions};

/// `sasl-sample mesos-master --listen 127.0.0.1:0` with these credentials.
fn start(credentials: &str) -> SampleMaster {
    start_with(credentials, &["--listen", "127.0.0.1:0"], &[])
}

/// With extra arguments and `LIBPROCESS_*` variables (the others unset).
fn start_with(credentials: &str, args: &[&str], vars: &[(&str, &str)]) -> SampleMaster {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("credentials");
    std::fs::write(&path, credentials).unwrap();
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    all.extend(["--credentials".as_ref(), path.as_os_str()]);
    SampleMaster::start(std::path::Path::new(env!("CARGO_BIN_EXE_sasl-sample")), &all, vars).keeping(dir)
}

#[test]
fn a_forged_pid_is_one_escaped_error_line_and_the_master_keeps_serving() {
    let master = start("framework-a s3cret\n");
    assert_eq!(master.upid.id(), "master");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let endpoint = Endpoint::bind(EndpointOptions::default()).await.unwrap();
        let process = endpoint.spawn_process("crammd5-authenticatee").unwrap();
        for _ in 0..2 {
            let forged = AuthenticateMessage { pid: "scheduler\nauthenticated: root pid=x@10.0.0.1:1".into() };
            process.send_message(&master.upid, &forged).await.unwrap();
        }
    });
    for _ in 0..2 {
        let line = master.line();
        assert!(line.starts_with("error: pid=scheduler\\nauthenticated: root pid=x@10.0.0.1:1 ("), "{line}");
        // A pid with a line break in its process id is no UPID at all.
        assert!(line.contains("is no UPID"), "{line}");
    }
}

/// A master moved to SCRAM-SHA-256 and `mesos-authenticate` on its default,
/// CRAM-MD5: one attempt, then an error naming both lists and exit 2, at once.
#[test]
fn mesos_authenticate_says_the_mechanisms_do_not_match_and_exits_2_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("master.conf");
    std::fs::write(&conf, "mech_list: SCRAM-SHA-256\ncredentials: credential\n").unwrap();
    let credential = dir.path().join("credential");
    std::fs::write(&credential, "framework-a s3cret\n").unwrap();
    let args = ["--listen".as_ref(), "127.0.0.1:0".as_ref(), "--config".as_ref(), conf.as_os_str()];
    let master = SampleMaster::start(std::path::Path::new(env!("CARGO_BIN_EXE_sasl-sample")), &args, &[]);
    let started = std::time::Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_sasl-sample"))
        .args(["mesos-authenticate", "--master", &master.upid.addr().to_string(), "--timeout", "20"])
        .arg("--credential")
        .arg(&credential)
        .env_remove("LIBPROCESS_SSL_ENABLED")
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(2), "{stdout}");
    assert!(stdout.starts_with("error: "), "{stdout}");
    assert!(stdout.contains("master offers [SCRAM-SHA-256]; this client allows [CRAM-MD5]"), "{stdout}");
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
}

#[test]
fn the_libprocess_variables_choose_the_bound_and_the_advertised_address() {
    let port = libprocess_support::free_port();
    let master = start_with("fw s\n", &[], &[("LIBPROCESS_IP", "127.0.0.1"), ("LIBPROCESS_PORT", &port.to_string())]);
    assert_eq!(master.upid.to_string(), format!("master@127.0.0.1:{port}"));
    // Advertised elsewhere (behind NAT): the UPID says so, the socket is still local.
    let master = start_with(
        "fw s\n",
        &["--listen", "127.0.0.1:0"],
        &[("LIBPROCESS_ADVERTISE_IP", "192.0.2.7"), ("LIBPROCESS_ADVERTISE_PORT", "5050")],
    );
    assert_eq!(master.upid.to_string(), "master@192.0.2.7:5050");
}

#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn the_real_mesos_scheduler_driver_authenticates_to_sasl_sample_mesos_master() {
    let peer = libprocess_support::mesos_peer("the_real_mesos_scheduler_driver_authenticates_to_sasl_sample");
    let master = start("framework-a s3cret\n");
    let run = |principal: &str, secret: &str| {
        let output = Command::new(peer.join("real-framework"))
            .args([master.upid.addr().to_string().as_str(), principal, secret, "20"])
            .env("LIBPROCESS_IP", "127.0.0.1")
            .stderr(Stdio::null())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        (output.status.code(), stdout.lines().last().unwrap_or_default().to_owned())
    };
    assert_eq!(run("framework-a", "s3cret"), (Some(0), "AUTHENTICATED".to_owned()));
    let line = master.line();
    assert!(line.starts_with("authenticated: framework-a pid=scheduler-"), "{line}");
    assert_eq!(run("framework-a", "wrong"), (Some(1), "REFUSED".to_owned()));
    let line = master.line();
    assert!(line.starts_with("rejected: pid=scheduler-"), "{line}");
}

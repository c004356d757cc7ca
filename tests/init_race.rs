//! The first use of the library may come from many threads at once. A naive
//! concurrent `sasl_server_init` corrupts the heap in about 6% of processes, so
//! this races 8 threads on first use, each in a fresh process, many times.

mod common;

use std::process::Command;
use std::sync::{Arc, Barrier};

use common::{Outcome, REALM, handshake, sasldb};
use cyrus_sasl::{Client, Config, Credentials, Sasldb, Server};

const CHILD_ENV: &str = "CYRUS_SASL_INIT_RACE_DB";
const PROCESSES: usize = 100;
const THREADS: usize = 8;

/// The body of each child process started below (ignored in a normal run):
/// 8 threads wait at a barrier, then all make their first libsasl2 call at once
/// and authenticate.
#[test]
#[ignore = "run by eight_threads_racing_first_use_in_fresh_processes_never_crash in child processes"]
fn child_races_first_use() {
    let db = std::env::var_os(CHILD_ENV).expect("started by the parent test with the sasldb path");
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let db = db.clone();
            std::thread::spawn(move || {
                let config = Sasldb::new(&db, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap();
                barrier.wait();
                // Half the threads start with a client, half with a server, so both
                // init paths are raced.
                let (mut client, mut server) = if i % 2 == 0 {
                    let c = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new());
                    (c.unwrap(), Server::new("test", "localhost", Some(REALM), &config).unwrap())
                } else {
                    let s = Server::new("test", "localhost", Some(REALM), &config).unwrap();
                    let c = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new());
                    (c.unwrap(), s)
                };
                handshake(&mut client, &mut server).unwrap()
            })
        })
        .collect();
    for t in threads {
        assert!(matches!(t.join().unwrap(), Outcome::Authenticated(_)));
    }
}

#[test]
fn eight_threads_racing_first_use_in_fresh_processes_never_crash() {
    let db = sasldb(&[("alice", "secret")]);
    let exe = std::env::current_exe().unwrap();
    let mut failures = Vec::new();
    for run in 0..PROCESSES {
        let out = Command::new(&exe)
            .args(["--exact", "child_races_first_use", "--ignored", "--test-threads=1", "--nocapture"])
            .env(CHILD_ENV, &db.path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !stdout.contains("1 passed") {
            failures.push(format!("run {run}: {}\n{}{}", out.status, stdout, String::from_utf8_lossy(&out.stderr)));
        }
    }
    assert!(failures.is_empty(), "{} of {PROCESSES} processes failed:\n{}", failures.len(), failures.join("\n"));
}

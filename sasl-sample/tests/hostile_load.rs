//! The short form of `cargo bench --bench hostile` (issue 22): each attack
//! from 127.0.0.2, briefly, against its own `sasl-sample mesos-master`
//! process while 8 honest frameworks on 127.0.0.1 authenticate and register.
//! No timing is asserted, only what must hold under any load: every honest
//! operation (authentication and registration within their deadlines, the
//! anchor UPID registered at the start still registered at the end, and 8
//! newcomers that connect halfway through) succeeds, the master's resident
//! memory stays under 128 MiB and its open descriptors under [`MAX_FDS`].
//!
//! Each test names the finding it checks. Before the fixes of findings 1, 2,
//! 4, 5 and 6 these tests fail (that is what they are for); findings 3, 7
//! and 8 are fixed already (with finding 3's fix taken out of libprocess,
//! its test failed on 1,041 descriptors). The real Mesos driver under the same attacks is
//! a separate test, ignored unless `../shared/mesos-peer` is prepared.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use cyrus_sasl_test_support::attack::{
    Attack, AttackSize, HonestOptions, PhaseOptions, RSS_GOAL_MIB, failure_summary, markdown_table, raise_fd_limit,
    run_phase,
};

/// The most descriptors the master may have open in any phase: its
/// listener and runtime (about 10), two connections per honest framework,
/// what one peer IP may hold (64 inbound connections by default, and as
/// many outbound as a bounded master keeps for one peer), and connections
/// the attacker opens faster than the per-IP cap closes them (up to about
/// 240 seen in the idle-connection phase).
const MAX_FDS: usize = 384;

/// One phase at a time: each starts its own master and the attacks compete
/// for the same cores and descriptors.
static SERIAL: Mutex<()> = Mutex::new(());

/// The attacks at the sizes of the findings, except the large bodies (64
/// of them, about twice what it takes to pass 128 MiB before the fix).
fn size() -> AttackSize {
    AttackSize {
        large_pids: 64,
        large_pid_bytes: 4 * 1024 * 1024,
        registration_calls: 300,
        idle_connections: 1100,
        listeners: 768,
        principal_upids: 66_000,
        principal_concurrency: 32,
        sessions: 4500,
    }
}

fn options(attack: Attack) -> PhaseOptions {
    let duration = match attack {
        // Long enough to authenticate 65,536 UPIDs (the registry's size)
        // on a loaded machine (about 60 s on a quiet one); the phase ends
        // when the attacker is done.
        Attack::PrincipalRegistry => Duration::from_secs(240),
        _ => Duration::from_secs(8),
    };
    PhaseOptions {
        program: PathBuf::from(env!("CARGO_BIN_EXE_sasl-sample")),
        frameworks: 8,
        duration,
        head_start: Duration::from_secs(1),
        honest: HonestOptions::default(),
        size: size(),
        real_driver: None,
    }
}

/// Runs `attack`'s phase and asserts the bounds.
fn holds_under(attack: Attack, options: PhaseOptions) {
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    raise_fd_limit();
    let result = run_phase(attack, &options);
    let table = markdown_table(std::slice::from_ref(&result));
    eprintln!("{table}");
    assert_eq!(
        result.honest.succeeded,
        result.honest.operations,
        "finding {} ({}): honest operations failed: {}\n{table}",
        attack.finding(),
        attack.name(),
        failure_summary(&result.honest)
    );
    assert!(
        result.peak_rss_mib < RSS_GOAL_MIB,
        "finding {} ({}): the master's RSS reached {:.1} MiB\n{table}",
        attack.finding(),
        attack.name(),
        result.peak_rss_mib
    );
    assert!(
        result.max_fds < MAX_FDS,
        "finding {} ({}): the master had {} descriptors open\n{table}",
        attack.finding(),
        attack.name(),
        result.max_fds
    );
    if let Some((registered, runs)) = result.real_driver {
        assert_eq!(registered, runs, "the real Mesos driver registered {registered} of {runs} times\n{table}");
    }
}

#[test]
fn with_no_attack_every_honest_framework_registers() {
    holds_under(Attack::Idle, options(Attack::Idle));
}

#[test]
fn finding_1_large_authenticate_pids_keep_the_master_small_and_honest_frameworks_registering() {
    holds_under(Attack::LargePid, options(Attack::LargePid));
}

#[test]
fn finding_2_a_registration_flood_claiming_a_silent_port_blocks_no_honest_registration() {
    holds_under(Attack::RegistrationFlood, options(Attack::RegistrationFlood));
}

#[test]
fn finding_3_idle_connections_from_one_ip_lock_no_honest_framework_out() {
    holds_under(Attack::IdleConnections, options(Attack::IdleConnections));
}

#[test]
fn finding_4_reply_addresses_that_never_answer_pile_up_no_outbound_connections() {
    holds_under(Attack::OutboundPileup, options(Attack::OutboundPileup));
}

#[test]
fn finding_5_one_principal_authenticating_many_upids_evicts_no_honest_framework() {
    holds_under(Attack::PrincipalRegistry, options(Attack::PrincipalRegistry));
}

#[test]
fn finding_6_a_session_flood_from_one_ip_locks_no_honest_framework_out() {
    holds_under(Attack::SessionFlood, options(Attack::SessionFlood));
}

/// The real Mesos 1.11 scheduler driver, once per phase while the attack
/// runs: it must authenticate and register every time. Only the driver is
/// asserted here (the tests above assert the rest), so every phase runs and
/// the table shows them all.
#[test]
#[ignore = "needs ../shared/mesos-peer, prepared; ci/test runs it with --ignored"]
fn the_real_mesos_driver_registers_under_every_attack() {
    let peer = cyrus_sasl_test_support::mesos_peer::mesos_peer("the_real_mesos_driver_registers_under_every_attack");
    let _one = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    raise_fd_limit();
    let mut results = Vec::new();
    for attack in Attack::ALL {
        let options = PhaseOptions { real_driver: Some((peer.clone(), 1)), ..options(attack) };
        results.push(run_phase(attack, &options));
    }
    let table = markdown_table(&results);
    eprintln!("{table}");
    for result in &results {
        assert_eq!(
            result.real_driver,
            Some((1, 1)),
            "finding {} ({}): the real Mesos driver did not register\n{table}",
            result.attack.finding(),
            result.attack.name()
        );
    }
}

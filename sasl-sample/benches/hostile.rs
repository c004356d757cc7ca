//! Hostile load (issue 22): each attack of the security review from one IP
//! (127.0.0.2) while honest frameworks on 127.0.0.1 authenticate and register
//! through the same `sasl-sample mesos-master` (its own process, so its
//! memory and descriptors are its own), with a no-attack phase as the
//! reference in the same run.
//!
//! Per phase: the honest success rate (an operation is one authentication
//! and one registration, each within its deadline, plus one re-registration
//! of each framework's long-registered anchor UPID at the end), honest
//! authentication latency p50/p99 (failed ones counted at the time they gave
//! up), `ratio hostile_ATTACK_honest_p99_over_idle`, the master's peak
//! resident memory (its `VmHWM`) and most open descriptors (sampled from
//! `/proc` every 100 ms), newcomers (frameworks that connect halfway), and
//! the real Mesos 1.11 driver's registrations (up to
//! `HOSTILE_BENCH_DRIVER_RUNS` per phase, one after another, each within the
//! time the attack has left) when `../shared/mesos-peer` is prepared. Goals (issue 22): 100 %, ratio <= 3,
//! RSS < 128 MiB, descriptors bounded (here: at most
//! [`FD_ALLOWANCE`] more than in the idle phase). Each phase runs against a
//! new master. The bench reports; it does not fail on a missed goal.
//!
//! Variables: `HOSTILE_BENCH_SECS` (15, each phase), `HOSTILE_BENCH_PRINCIPAL_SECS`
//! (120 at most: the principal phase ends when its 66,000 UPIDs are
//! authenticated, or refused),
//! `HOSTILE_BENCH_FRAMEWORKS` (32), `HOSTILE_BENCH_DRIVER_RUNS` (3 per phase),
//! `HOSTILE_BENCH_ONLY` (one attack's name, with the idle phase), and the
//! attack sizes of [`AttackSize::from_env`].

use std::path::PathBuf;
use std::time::Duration;

use cyrus_sasl_test_support::attack::{
    Attack, AttackSize, FD_ALLOWANCE, HonestOptions, PhaseOptions, RATIO_GOAL, RSS_GOAL_MIB, failure_summary,
    markdown_table, raise_fd_limit, real_driver_dir, run_phase,
};
use cyrus_sasl_test_support::bench::env_number;

fn main() {
    let program = PathBuf::from(env!("CARGO_BIN_EXE_sasl-sample"));
    let limit = raise_fd_limit();
    let seconds = env_number("HOSTILE_BENCH_SECS", 15);
    let principal_seconds = env_number("HOSTILE_BENCH_PRINCIPAL_SECS", 120);
    let frameworks = env_number("HOSTILE_BENCH_FRAMEWORKS", 32) as usize;
    let driver_runs = env_number("HOSTILE_BENCH_DRIVER_RUNS", 3);
    let only = std::env::var("HOSTILE_BENCH_ONLY").ok();
    let real_driver = match real_driver_dir() {
        Some(dir) => Some((dir, driver_runs)),
        None => {
            println!(
                "real Mesos driver: skipped (../shared/mesos-peer is absent or not prepared; run ../shared/mesos-peer/prepare)"
            );
            None
        }
    };
    let size = AttackSize::from_env();
    println!(
        "hostile load: {frameworks} honest frameworks on 127.0.0.1, the attacker on 127.0.0.2, {seconds} s per phase \
         ({principal_seconds} s for principal_registry), 1 s head start; descriptor limit {limit:?}; sizes {size:?}"
    );
    let mut results = Vec::new();
    for attack in Attack::ALL {
        if only.as_deref().is_some_and(|only| attack != Attack::Idle && only != attack.name()) {
            continue;
        }
        let duration = match attack {
            Attack::PrincipalRegistry => principal_seconds,
            _ => seconds,
        };
        let options = PhaseOptions {
            program: program.clone(),
            frameworks,
            duration: Duration::from_secs(u64::from(duration)),
            head_start: Duration::from_secs(1),
            honest: HonestOptions::default(),
            size: size.clone(),
            real_driver: real_driver.clone(),
        };
        println!("phase {} (finding {}): running", attack.name(), attack.finding());
        let result = run_phase(attack, &options);
        println!(
            "phase {}: honest {}/{} in {:.1} s; failures: {}",
            attack.name(),
            result.honest.succeeded,
            result.honest.operations,
            result.took.as_secs_f64(),
            if result.honest.failures.is_empty() { "none".to_owned() } else { failure_summary(&result.honest) }
        );
        results.push(result);
    }
    println!();
    print!("{}", markdown_table(&results));
    println!();
    let idle = results.iter().find(|r| r.attack == Attack::Idle).map(|r| r.honest.auth_percentile(99.0));
    let idle_fds = results.iter().find(|r| r.attack == Attack::Idle).map_or(0, |r| r.max_fds);
    for result in &results {
        let p99 = result.honest.auth_percentile(99.0);
        let ratio = idle.filter(|idle| *idle > 0.0).map(|idle| p99 / idle);
        let mut missed = Vec::new();
        if result.honest.succeeded < result.honest.operations {
            missed.push(format!("success {:.1} % < 100 %", result.honest.success_percent()));
        }
        if let Some(ratio) = ratio.filter(|r| *r > RATIO_GOAL) {
            missed.push(format!("ratio {ratio:.2} > {RATIO_GOAL}"));
        }
        if result.peak_rss_mib >= RSS_GOAL_MIB {
            missed.push(format!("RSS {:.1} MiB >= {RSS_GOAL_MIB}", result.peak_rss_mib));
        }
        if result.max_fds > idle_fds + FD_ALLOWANCE {
            missed.push(format!("{} descriptors > idle {idle_fds} + {FD_ALLOWANCE}", result.max_fds));
        }
        let verdict = if missed.is_empty() { "meets the goals".to_owned() } else { missed.join(", ") };
        println!("goal {}: {verdict}", result.attack.name());
    }
    for result in &results {
        if result.attack == Attack::Idle {
            continue;
        }
        if let Some(idle) = idle.filter(|idle| *idle > 0.0) {
            let p99 = result.honest.auth_percentile(99.0);
            println!("ratio hostile_{}_honest_p99_over_idle {:.3}", result.attack.name(), p99 / idle);
        }
    }
}

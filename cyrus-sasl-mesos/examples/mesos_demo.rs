//! Mesos authentication over libprocess on loopback: a master, a framework, an
//! agent, and a rogue framework with the wrong secret, each speaking the wire
//! of Apache Mesos 1.11 (HTTP/1.1 messages between UPIDs).
//!
//! Run with `cargo run --example mesos_demo` (or `ci/demo`). With no flags it
//! needs nothing but libsasl2 and its CRAM-MD5 plugin (`libsasl2-modules`): it
//! writes a Mesos credentials file with two principals and random secrets into
//! a temp dir, and the master loads it into an in-memory credential store.
//!
//! 1. A master (`cyrus_sasl_mesos::Master`) runs process `master`
//!    on `127.0.0.1` (any free port).
//! 2. A framework authenticates from its own libprocess endpoint: it registers
//!    its process `framework-1` there first, then authenticates that process's
//!    UPID (`cyrus_sasl_mesos::authenticate`, one `crammd5-authenticatee(N)`
//!    process per attempt); the demo shows what the master recorded for it.
//!    (The `framework` example goes on to register with the master from it.)
//! 3. An agent authenticates the same way: only the principal differs.
//! 4. A rogue framework claims the framework's principal with a wrong secret,
//!    and is rejected.
//! 5. With `--real-mesos`, and `../shared/mesos-peer` prepared: the real Apache
//!    Mesos 1.11 scheduler driver (`real-framework`) authenticates to the same
//!    master.
//!
//! With `--ha` instead: high availability. A real ZooKeeper (`ci/zookeeper`, in a
//! temp dir), two masters contending in it, a framework that names the cluster
//! `zk://.../mesos` and follows the leader (`cyrus_sasl_mesos::follow_leader`);
//! the leader shuts down, the other takes over, and the framework
//! authenticates with it from the same UPID. With `--real-mesos` too, the real
//! Mesos 1.11 scheduler driver follows the same failover (its event lines).
//!
//! The demo exits with status 1 if any outcome is not the expected one.
//!
//! Your own setup:
//! - `--credentials FILE`: the master loads this Mesos credentials file (JSON or
//!   `principal secret` lines); the framework and agent use its first and second
//!   entries unless given their own.
//! - `--config FILE`: the master comes from a config file, every key of it
//!   in effect (`MasterOptions::from_config`): its mechanisms and credential
//!   source (`credentials: FILE`, or `auxprop_plugin: sasldb` and
//!   `sasldb_path: FILE`, ...), `acls: FILE` (the master decides
//!   registrations by it), `channel_binding`, `external_principal`. See
//!   `cyrus_sasl_mesos::MasterConfig`.
//! - `--framework-credential FILE`, `--agent-credential FILE`: the client's own
//!   credential, in the format of Mesos's `--credential` flag (one
//!   `{"principal": .., "secret": ..}` object, or one `principal secret` line).
//!   Needed with a sasldb, whose secrets cannot be read back.
//! - `--realm REALM`: the master's user realm (the `-u` given to `saslpasswd2`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cyrus_sasl_mesos::{AuthenticateOptions, Master, MasterEvent, MasterHandle, MasterOptions, Outcome, authenticate};
use cyrus_sasl_mesos::{
    Backoff, Credential, CredentialSource, MasterConfig, Verdict, read_credential, read_credentials,
};
use libprocess::{Endpoint, EndpointOptions};

/// Mesos CRAM-MD5 authentication over libprocess on loopback.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Master: a Mesos credentials file (JSON or "principal secret" lines).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    credentials: Option<PathBuf>,
    /// Master: a Cyrus-style config file choosing mechanisms and credential source.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Framework: its credential file (Mesos's --credential format).
    #[arg(long, value_name = "FILE")]
    framework_credential: Option<PathBuf>,
    /// Agent: its credential file (Mesos's --credential format).
    #[arg(long, value_name = "FILE")]
    agent_credential: Option<PathBuf>,
    /// Master: the user realm secrets are looked up in (saslpasswd2 -u).
    #[arg(long, value_name = "REALM")]
    realm: Option<String>,
    /// Also run the real Apache Mesos 1.11 scheduler driver against the master,
    /// if ../shared/mesos-peer is prepared.
    #[arg(long)]
    real_mesos: bool,
    /// High availability: ZooKeeper (ci/zookeeper), two masters, a framework
    /// following the leader, and a failover.
    #[arg(long)]
    ha: bool,
}

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => {
            println!("\nall outcomes as expected");
            ExitCode::SUCCESS
        }
        Ok(false) => {
            println!("\nFAILED: an outcome was not the expected one");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("mesos_demo: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, Error> {
    let temp = tempfile::tempdir()?;
    let (master_config, file_entries) = load_master(&args, temp.path())?;
    let framework = client_credential("framework", args.framework_credential.as_deref(), file_entries.first())?;
    let agent =
        client_credential("agent", args.agent_credential.as_deref(), file_entries.get(1).or(file_entries.first()))?;

    if args.ha {
        return ha::run(&args, &master_config, &framework, temp.path()).await;
    }
    // Every key of the master's config takes effect through this one call.
    let mut options = MasterOptions::from_config(&master_config);
    options.server.realm = args.realm.clone();
    let mut master = Master::spawn(options).await?;
    let mechanisms = master_config.sasl_config().mech_list().unwrap_or_default().join(" ");
    println!("master {} offering {mechanisms}", master.upid());
    println!("credentials: {}", describe(master_config.source()));

    let rogue = Credential::new(framework.principal.clone(), format!("wrong-{:016x}", rand::random::<u64>()));
    let mut ok = true;
    ok &= step(&mut master, "framework", framework.clone(), Verdict::Authenticated).await?;
    ok &= step(&mut master, "agent", agent, Verdict::Authenticated).await?;
    ok &= step(&mut master, "rogue", rogue, Verdict::Rejected).await?;
    if args.real_mesos {
        ok &= real_mesos(&mut master, &framework).await?;
    }
    master.shutdown().await;
    Ok(ok)
}

/// The master's config, and the entries of its credentials file when it has one
/// (the clients' default credentials).
fn load_master(args: &Args, temp: &Path) -> Result<(MasterConfig, Vec<Credential>), Error> {
    let master_config = match (&args.config, &args.credentials) {
        (Some(config), _) => MasterConfig::read(config)?,
        (None, Some(credentials)) => MasterConfig::read_credentials_file(credentials)?,
        (None, None) => {
            let path = temp.join("credentials.json");
            std::fs::write(&path, demo_credentials())?;
            println!("wrote {} with principals demo-framework and demo-agent (random secrets)", path.display());
            MasterConfig::read_credentials_file(&path)?
        }
    };
    let entries = match master_config.source() {
        CredentialSource::CredentialsFile(path) => read_credentials(path)?,
        _ => Vec::new(),
    };
    Ok((master_config, entries))
}

/// A Mesos JSON credentials file with fresh random secrets.
fn demo_credentials() -> String {
    let secret = || format!("{:032x}", rand::random::<u128>());
    format!(
        "{{\"credentials\": [\n  {{\"principal\": \"demo-framework\", \"secret\": \"{}\"}},\n  {{\"principal\": \"demo-agent\", \"secret\": \"{}\"}}\n]}}\n",
        secret(),
        secret()
    )
}

fn client_credential(role: &str, file: Option<&Path>, fallback: Option<&Credential>) -> Result<Credential, Error> {
    match file {
        Some(file) => Ok(read_credential(file)?),
        None => Ok(fallback.cloned().ok_or_else(|| {
            format!("the master's secrets cannot be read back from its config: give --{role}-credential FILE")
        })?),
    }
}

fn describe(source: &CredentialSource) -> String {
    match source {
        CredentialSource::CredentialsFile(path) => format!("in-memory store loaded from {}", path.display()),
        CredentialSource::Sasldb(Some(path)) => format!("sasldb {}", path.display()),
        CredentialSource::Sasldb(None) => "libsasl2's default sasldb".to_owned(),
        other => format!("as libsasl2 is configured ({other:?})"),
    }
}

/// One client's authentication from its own libprocess endpoint; true if the
/// verdict is `expected` and the master recorded it for the client's UPID.
async fn step(
    master: &mut MasterHandle,
    role: &'static str,
    credential: Credential,
    expected: Verdict,
) -> Result<bool, Error> {
    println!("\n== {role} authenticates as {:?}", credential.principal);
    let endpoint = Endpoint::bind(EndpointOptions::default()).await?;
    // The client's own process, registered first: its UPID is the one the
    // master records, and where the master's later messages to it arrive.
    let process = endpoint.register(&format!("{role}-1"))?;
    let pid = process.upid().clone();
    let options = AuthenticateOptions {
        // Fail fast in a demo: 2 s to 4 s per attempt, 10 s in all.
        backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(1), Duration::from_secs(4))?,
        timeout: Duration::from_secs(10),
        ..AuthenticateOptions::default()
    };
    let verdict = authenticate(&endpoint, master.upid(), &pid, credential, &options).await?;
    println!("{role} {pid} got: {verdict:?}");
    report(master).await;
    let authenticated = master.authenticated(&pid.to_string());
    let ok = verdict == expected && authenticated.is_some() == (expected == Verdict::Authenticated);
    println!("{role}: {}", if ok { "as expected" } else { "UNEXPECTED" });
    Ok(ok)
}

/// Prints what the master recorded for the latest attempt.
async fn report(master: &mut MasterHandle) {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), master.next_event()).await {
            Ok(Some(MasterEvent::Authentication(record))) => {
                let verdict = match &record.outcome {
                    Outcome::Authenticated { principal } => format!("authenticated {principal:?}"),
                    Outcome::Rejected => "rejected (wrong secret or unknown principal)".to_owned(),
                    Outcome::Failed(e) => format!("no verdict: {e}"),
                };
                println!(
                    "master: {verdict} pid={} (authenticatee {}, session {})",
                    record.pid, record.from, record.session
                );
                return;
            }
            // Other messages to the master (a real driver's SUBSCRIBE): not for this demo.
            Ok(Some(_)) => continue,
            _ => {
                println!("master: no record");
                return;
            }
        }
    }
}

/// `../shared/mesos-peer/real-framework` if it and its cache are prepared.
fn real_framework() -> Option<PathBuf> {
    let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/mesos-peer");
    let cache = std::env::var_os("MESOS_PEER_CACHE").map(PathBuf::from).unwrap_or_else(|| {
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache"));
        base.join("mesos-peer")
    });
    if !peer.join("real-framework").exists() || !cache.join("_scheduler.so").exists() {
        println!("skipped: {} or its prepared cache {} is absent", peer.display(), cache.display());
        return None;
    }
    Some(peer.join("real-framework"))
}

/// The real Apache Mesos 1.11 scheduler driver against our master, if
/// `../shared/mesos-peer` and its cache are prepared.
async fn real_mesos(master: &mut MasterHandle, framework: &Credential) -> Result<bool, Error> {
    println!("\n== the real Apache Mesos 1.11 scheduler driver authenticates as {:?}", framework.principal);
    let Some(program) = real_framework() else { return Ok(true) };
    let secret = framework.secret.as_ref().ok_or("the framework has no secret")?;
    let secret = String::from_utf8(secret.expose().to_vec())?;
    let mut command = std::process::Command::new(program);
    command
        .args([master.upid().addr().to_string(), framework.principal.clone(), secret, "20".to_owned()])
        .env("LIBPROCESS_IP", "127.0.0.1")
        .stderr(std::process::Stdio::null());
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    println!("real-framework: {last} (exit {:?})", output.status.code());
    report(master).await;
    let ok = last == "AUTHENTICATED" && output.status.success();
    println!("real Mesos framework: {}", if ok { "as expected" } else { "UNEXPECTED" });
    Ok(ok)
}

/// `--ha`: a failover, in a few lines.
mod ha {
    use std::io::{BufRead, BufReader};
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    use cyrus_sasl_mesos::zookeeper::ZkAddress;
    use cyrus_sasl_mesos::{
        Credential, FollowEvent, FollowOptions, Follower, Master, MasterAddress, MasterConfig, MasterElection,
        MasterEvent, MasterHandle, MasterOptions, follow_leader,
    };
    use libprocess::{Endpoint, EndpointOptions};

    use super::Error;

    /// Our masters' ZooKeeper session timeout in the demo (Mesos's is 10 s).
    const SESSION_TIMEOUT: Duration = Duration::from_secs(2);

    /// A ZooKeeper server started by `ci/zookeeper start DIR`; stopped (by
    /// its PID, by the script) when dropped.
    struct ZooKeeper {
        dir: PathBuf,
    }

    fn script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../ci/zookeeper")
    }

    impl ZooKeeper {
        fn start(dir: PathBuf) -> Result<ZooKeeper, Error> {
            let status = Command::new(script()).arg("start").arg(&dir).stdout(Stdio::null()).status()?;
            if !status.success() {
                return Err("ci/zookeeper start failed (is the zookeeper package installed? ci/install-deps)".into());
            }
            Ok(ZooKeeper { dir })
        }

        fn connect(&self) -> Result<String, Error> {
            Ok(std::fs::read_to_string(self.dir.join("connect"))?.trim().to_owned())
        }
    }

    impl Drop for ZooKeeper {
        fn drop(&mut self) {
            let _ = Command::new(script()).arg("stop").arg(&self.dir).stdout(Stdio::null()).status();
        }
    }

    async fn master(config: &MasterConfig, zk: &ZkAddress) -> Result<MasterHandle, Error> {
        let election = MasterElection { session_timeout: SESSION_TIMEOUT, ..MasterElection::new(zk.clone()) };
        let options = MasterOptions {
            election: Some(election),
            hostname: Some("localhost".into()),
            ..MasterOptions::from_config(config)
        };
        Ok(Master::spawn(options).await?)
    }

    async fn elected(master: &mut MasterHandle) -> Result<(), Error> {
        loop {
            match tokio::time::timeout(Duration::from_secs(15), master.next_event()).await {
                Ok(Some(MasterEvent::Elected)) => return Ok(()),
                Ok(Some(_)) => continue,
                _ => return Err(format!("{} was not elected", master.upid()).into()),
            }
        }
    }

    /// The follower's next event other than an attempt without a verdict,
    /// printed, with the time since `start`.
    async fn next(follower: &mut Follower, start: Instant) -> Result<FollowEvent, Error> {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(30), follower.next())
                .await
                .map_err(|_| "the framework saw nothing for 30 s")?
                .ok_or("the framework stopped following")?;
            let t = start.elapsed().as_secs_f64();
            match &event {
                FollowEvent::NewLeader(info) => {
                    println!("{t:>6.3}s framework: new leader {} (id {})", info.pid, info.id)
                }
                FollowEvent::NoLeader => println!("{t:>6.3}s framework: no leader"),
                FollowEvent::Authenticated(info) => println!("{t:>6.3}s framework: authenticated with {}", info.pid),
                FollowEvent::Rejected(info) => println!("{t:>6.3}s framework: rejected by {}", info.pid),
                FollowEvent::Error(e) => {
                    println!("{t:>6.3}s framework: {e}");
                    continue;
                }
                _ => {}
            }
            return Ok(event);
        }
    }

    pub(super) async fn run(
        args: &super::Args,
        config: &MasterConfig,
        framework: &Credential,
        temp: &Path,
    ) -> Result<bool, Error> {
        let zookeeper = ZooKeeper::start(temp.join("zookeeper"))?;
        let url = format!("zk://{}/mesos", zookeeper.connect()?);
        let zk: ZkAddress = url.parse()?;
        println!("ZooKeeper at {url}; masters contend with {SESSION_TIMEOUT:?} sessions");
        let start = Instant::now();
        let mut first = master(config, &zk).await?;
        elected(&mut first).await?;
        println!("{:>6.3}s master {} leads", start.elapsed().as_secs_f64(), first.upid());
        let second = master(config, &zk).await?;
        println!("{:>6.3}s master {} is a standby", start.elapsed().as_secs_f64(), second.upid());

        let mut real = if args.real_mesos { real_driver(&url, framework)? } else { None };
        let endpoint = Endpoint::bind(EndpointOptions::default()).await?;
        let scheduler = endpoint.spawn_process("scheduler")?;
        println!("framework {} follows {url}", scheduler.upid());
        let mut follower = follow_leader(
            &endpoint,
            &MasterAddress::ZooKeeper(zk.clone()),
            scheduler.upid(),
            framework.clone(),
            &FollowOptions::default(),
        );
        let mut ok = matches!(next(&mut follower, start).await?, FollowEvent::NewLeader(i) if i.pid == *first.upid());
        ok &= matches!(next(&mut follower, start).await?, FollowEvent::Authenticated(i) if i.pid == *first.upid());

        if let Some(driver) = real.as_mut() {
            let wanted = format!("AUTHENTICATED {}", first.upid());
            ok &= tokio::task::block_in_place(|| driver.wait_for(&wanted, start));
        }
        let shut_at = Instant::now();
        println!(
            "{:>6.3}s master {} shuts down (withdrawing from the election)",
            start.elapsed().as_secs_f64(),
            first.upid()
        );
        first.shutdown().await;
        ok &= matches!(next(&mut follower, start).await?, FollowEvent::NewLeader(i) if i.pid == *second.upid());
        ok &= matches!(next(&mut follower, start).await?, FollowEvent::Authenticated(i) if i.pid == *second.upid());
        let failover = shut_at.elapsed();
        ok &= second.leading() && second.authenticated(&scheduler.upid().to_string()).is_some();
        println!("failover: the framework authenticated with the new leader {failover:?} after the old one's exit");
        if let Some(driver) = real.as_mut() {
            let wanted = format!("AUTHENTICATED {}", second.upid());
            let (followed, took) = tokio::task::block_in_place(|| (driver.wait_for(&wanted, start), shut_at.elapsed()));
            ok &= followed;
            println!(
                "failover: the real Mesos driver authenticated with the new leader {took:?} after the old one's exit"
            );
        }
        drop(follower);
        second.shutdown().await;
        Ok(ok)
    }

    /// The real driver (`MR_EVENTS=1`): its lines, printed as they are read.
    /// Killed by its PID when dropped.
    struct RealDriver {
        child: std::process::Child,
        lines: std::sync::mpsc::Receiver<String>,
    }

    impl RealDriver {
        /// Prints its lines until `wanted` (true) or 20 s without it (false).
        fn wait_for(&mut self, wanted: &str, start: Instant) -> bool {
            let deadline = Instant::now() + Duration::from_secs(20);
            while let Ok(line) = self.lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                println!("{:>6.3}s real Mesos driver: {line}", start.elapsed().as_secs_f64());
                if line == wanted {
                    return true;
                }
            }
            println!("the real Mesos driver printed no {wanted:?} within 20 s");
            false
        }
    }

    impl Drop for RealDriver {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    /// The real driver following `url` with `MR_EVENTS=1`.
    fn real_driver(url: &str, framework: &Credential) -> Result<Option<RealDriver>, Error> {
        let Some(program) = super::real_framework() else { return Ok(None) };
        let secret = framework.secret.as_ref().ok_or("the framework has no secret")?;
        let secret = String::from_utf8(secret.expose().to_vec())?;
        let mut child = Command::new(program)
            .args([url, framework.principal.as_str(), secret.as_str(), "30"])
            .env("LIBPROCESS_IP", "127.0.0.1")
            .env("MR_EVENTS", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Some(RealDriver { child, lines }))
    }
}

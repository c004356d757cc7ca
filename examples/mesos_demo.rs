//! Mesos-style authentication over loopback TCP: a master, a framework, an
//! agent, and a rogue framework with the wrong secret.
//!
//! Run with `cargo run --example mesos_demo` (or `ci/demo`). With no flags it
//! needs nothing but libsasl2 and its CRAM-MD5 plugin (`libsasl2-modules`): it
//! writes a Mesos credentials file with two principals and random secrets into
//! a temp dir, and the master loads it into an in-memory credential store.
//!
//! 1. A master listens on `127.0.0.1` (any free port) with the blocking driver.
//! 2. A framework authenticates; the demo shows the principal and mechanism the
//!    master recorded.
//! 3. An agent authenticates the same way: only the principal differs.
//! 4. A rogue framework claims the framework's principal with a wrong secret,
//!    and is refused.
//!
//! Every frame is printed as it is sent or received: message type and sizes,
//! never the bytes (CRAM-MD5 sends no secret, but other mechanisms do). The demo
//! exits with status 1 if any of the three outcomes is not the expected one.
//!
//! Your own setup:
//! - `--credentials FILE`: the master loads this Mesos credentials file (JSON or
//!   `principal secret` lines); the framework and agent use its first and second
//!   entries unless given their own.
//! - `--config FILE`: the master's mechanisms and credential source come from a
//!   Cyrus-style config (`credentials: FILE`, or `auxprop_plugin: sasldb` and
//!   `sasldb_path: FILE`, ...). See `cyrus_sasl::mesos::MasterConfig`.
//! - `--framework-credential FILE`, `--agent-credential FILE`: the client's own
//!   credential, a credentials file whose first entry is used (Mesos's
//!   `--credential` flag). Needed with a sasldb, whose secrets cannot be read back.
//! - `--realm REALM`: the master's user realm (the `-u` given to `saslpasswd2`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use cyrus_sasl::Secret;
use cyrus_sasl::mesos::blocking::{Master, MasterHandle, authenticate};
use cyrus_sasl::mesos::driver::{AuthenticateOptions, Direction, MasterEvent, MasterOptions, Observer};
use cyrus_sasl::mesos::{
    Backoff, Credential, CredentialSource, MasterConfig, ServerOptions, Verdict, read_credentials,
};

/// Mesos-style CRAM-MD5 authentication over loopback TCP.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Master: a Mesos credentials file (JSON or "principal secret" lines).
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    credentials: Option<PathBuf>,
    /// Master: a Cyrus-style config file choosing mechanisms and credential source.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Framework: a credentials file whose first entry it authenticates with.
    #[arg(long, value_name = "FILE")]
    framework_credential: Option<PathBuf>,
    /// Agent: a credentials file whose first entry it authenticates with.
    #[arg(long, value_name = "FILE")]
    agent_credential: Option<PathBuf>,
    /// Master: the user realm secrets are looked up in (saslpasswd2 -u).
    #[arg(long, value_name = "REALM")]
    realm: Option<String>,
}

type Error = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(true) => {
            println!("\nall three outcomes as expected");
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

fn run(args: Args) -> Result<bool, Error> {
    let temp = tempfile::tempdir()?;
    let (master_config, file_entries) = load_master(&args, temp.path())?;
    let framework = client_credential("framework", args.framework_credential.as_deref(), file_entries.first())?;
    let agent =
        client_credential("agent", args.agent_credential.as_deref(), file_entries.get(1).or(file_entries.first()))?;

    let options = MasterOptions {
        server: ServerOptions { realm: args.realm.clone(), ..ServerOptions::default() },
        ..MasterOptions::default()
    };
    let master = Master::bind("127.0.0.1:0", master_config.sasl_config(), options)?.spawn()?;
    let mechanisms = master_config.sasl_config().mech_list().unwrap_or_default().join(" ");
    println!("master listening on {} offering {mechanisms}", master.local_addr());
    println!("credentials: {}", describe(master_config.source()));

    let rogue = Credential::new(framework.principal.clone(), format!("wrong-{:016x}", rand::random::<u64>()));
    let mut ok = true;
    ok &= step(&master, "framework", framework, Verdict::Authenticated)?;
    ok &= step(&master, "agent", agent, Verdict::Authenticated)?;
    ok &= step(&master, "rogue", rogue, Verdict::Refused)?;
    master.shutdown();
    Ok(ok)
}

/// The master's config, and the entries of its credentials file when it has one
/// (the clients' default credentials).
fn load_master(args: &Args, temp: &Path) -> Result<(MasterConfig, Vec<(String, Secret)>), Error> {
    let master_config = match (&args.config, &args.credentials) {
        (Some(config), _) => MasterConfig::from_file(config)?,
        (None, Some(credentials)) => MasterConfig::from_credentials_file(credentials)?,
        (None, None) => {
            let path = temp.join("credentials.json");
            std::fs::write(&path, demo_credentials())?;
            println!("wrote {} with principals demo-framework and demo-agent (random secrets)", path.display());
            MasterConfig::from_credentials_file(&path)?
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

fn client_credential(
    role: &str,
    file: Option<&Path>,
    fallback: Option<&(String, Secret)>,
) -> Result<Credential, Error> {
    let (principal, secret) = match file {
        Some(file) => read_credentials(file)?
            .into_iter()
            .next()
            .ok_or_else(|| format!("{}: no credential in it", file.display()))?,
        None => fallback.cloned().ok_or_else(|| {
            format!("the master's secrets cannot be read back from its config: give --{role}-credential FILE")
        })?,
    };
    Ok(Credential { principal, secret: Some(secret) })
}

fn describe(source: &CredentialSource) -> String {
    match source {
        CredentialSource::CredentialsFile(path) => format!("in-memory store loaded from {}", path.display()),
        CredentialSource::Sasldb(Some(path)) => format!("sasldb {}", path.display()),
        CredentialSource::Sasldb(None) => "libsasl2's default sasldb".to_owned(),
        other => format!("as libsasl2 is configured ({other:?})"),
    }
}

/// One client's authentication, with its transcript; true if the verdict is `expected`.
fn step(master: &MasterHandle, role: &'static str, credential: Credential, expected: Verdict) -> Result<bool, Error> {
    println!("\n== {role} authenticates as '{}'", credential.principal);
    let pid = format!("{role}@127.0.0.1");
    let options = AuthenticateOptions {
        pid: Some(pid.clone()),
        // Fail fast in a demo: 2 s to 4 s per attempt, two attempts.
        backoff: Backoff::new(Duration::from_secs(2), Duration::from_secs(1), Duration::from_secs(4))?,
        max_attempts: 2,
        observer: Some(transcript(role)),
        ..AuthenticateOptions::default()
    };
    let verdict = authenticate(master.local_addr(), credential, &options)?;
    let recorded = match master.next_event(Duration::from_secs(5)) {
        Some(MasterEvent::Authentication(record)) => {
            let mechanism = record.mechanism.as_deref().unwrap_or("none");
            match &record.result {
                Ok(Some(principal)) => format!("authenticated principal '{principal}' with {mechanism}"),
                Ok(None) => format!("refused ({mechanism}: wrong secret or unknown principal)"),
                Err(e) => format!("no verdict: {e}"),
            }
        }
        Some(other) => format!("{other:?}"),
        None => "nothing".to_owned(),
    };
    println!("master recorded: {recorded}");
    let authenticated = master.authenticated(&pid);
    let ok = verdict == expected && authenticated.is_some() == (expected == Verdict::Authenticated);
    let mark = if ok { "as expected" } else { "UNEXPECTED" };
    println!("{role} verdict: {verdict:?} ({mark})");
    Ok(ok)
}

/// Prints each frame a client sends or receives: type and sizes only.
fn transcript(role: &'static str) -> Observer {
    let role: Arc<str> = role.into();
    Observer::new(move |event| {
        let (from, to) = match event.direction {
            Direction::Sent => (&*role, "master"),
            Direction::Received => ("master", &*role),
        };
        let payload = event.message.encoded_len();
        println!(
            "  {from:>9} -> {to:<9} {:<32} frame {:>3} B, payload {:>3} B",
            event.message_type().proto_name().trim_start_matches("mesos.internal."),
            event.frame_len,
            payload
        );
    })
}

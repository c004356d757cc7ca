//! A Mesos master made from a config file, every key of it in effect.
//!
//! ```text
//! cargo run --example master_from_config -- /etc/mesos/master.conf     # runs until stopped
//! cargo run --example master_from_config                               # a sample config, one framework, then exits
//! ```
//!
//! The file is the master's Cyrus-style config (`key: value` lines): its
//! mechanisms and credential source (`credentials: FILE`, or a sasldb, or
//! LDAP), `acls: FILE` (registrations are decided by Mesos ACLs),
//! `channel_binding` and `external_principal` (over TLS), and any libsasl2
//! option. `MasterOptions::from_config` puts all of it into effect; the
//! endpoint's addresses and TLS come from the `LIBPROCESS_*` variables, as in
//! Mesos. Each authentication and each registration decision is printed.
//!
//! Without an argument, it writes a sample config into a temp dir, starts the
//! master, authenticates one framework against it from this process, prints
//! what the master recorded, and exits (status 1 if the framework was not
//! authenticated).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions};
use cyrus_sasl_mesos::registration::RegistrationVerdict;
use cyrus_sasl_mesos::{
    AuthenticateOptions, Credential, Master, MasterConfig, MasterEvent, MasterOptions, Outcome, Verdict, authenticate,
};

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    let result = match std::env::args_os().nth(1) {
        Some(path) => serve(PathBuf::from(path)).await.map(|()| true),
        None => sample().await,
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("master_from_config: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The master of `path`, until stopped.
async fn serve(path: PathBuf) -> Result<(), Error> {
    let config = MasterConfig::read(&path)?;
    for warning in config.warnings() {
        eprintln!("warning: {warning}");
    }
    let mut options = MasterOptions::from_config(&config);
    options.endpoint = EndpointOptions::from_env()?;
    let mut master = Master::spawn(options).await?;
    println!("listening: {}", master.upid());
    while let Some(event) = master.next_event().await {
        print_event(&event);
    }
    Ok(())
}

fn print_event(event: &MasterEvent) {
    match event {
        MasterEvent::Authentication(record) => match &record.outcome {
            Outcome::Authenticated { principal } => {
                println!("authenticated: {principal:?} pid={:?} mech={:?}", record.pid, record.mechanism)
            }
            Outcome::Rejected => println!("rejected: pid={:?}", record.pid),
            Outcome::Failed(error) => println!("error: pid={:?} ({error})", record.pid),
        },
        MasterEvent::Registration(record) => match &record.verdict {
            RegistrationVerdict::Denied { denial, .. } => println!("denied: {} ({denial})", record.from),
            verdict => println!("registered: {} {verdict:?}", record.from),
        },
        other => println!("{other:?}"),
    }
}

/// A sample config in a temp dir, the master, and one framework against it.
async fn sample() -> Result<bool, Error> {
    let dir = tempfile::tempdir()?;
    let path = write_sample(dir.path())?;
    println!("config {}:\n{}", path.display(), std::fs::read_to_string(&path)?);
    let config = MasterConfig::read(&path)?;
    let mut master = Master::spawn(MasterOptions::from_config(&config)).await?;
    println!("listening: {}", master.upid());

    let endpoint = Endpoint::bind(EndpointOptions::default()).await?;
    let scheduler = endpoint.register("scheduler-1")?;
    let credential = Credential::new("framework-a", "s3cret");
    let verdict =
        authenticate(&endpoint, master.upid(), scheduler.upid(), credential, &AuthenticateOptions::default()).await?;
    println!("framework: {verdict:?}");
    if let Ok(Some(event)) = tokio::time::timeout(Duration::from_secs(10), master.next_event()).await {
        print_event(&event);
    }
    let recorded = master.authenticated(&scheduler.upid().to_string());
    println!("the master records {} as {recorded:?}", scheduler.upid());
    master.shutdown().await;
    Ok(verdict == Verdict::Authenticated && recorded.as_deref() == Some("framework-a"))
}

fn write_sample(dir: &Path) -> Result<PathBuf, Error> {
    std::fs::write(
        dir.join("credentials.json"),
        r#"{"credentials": [{"principal": "framework-a", "secret": "s3cret"}]}"#,
    )?;
    std::fs::write(
        dir.join("acls.json"),
        r#"{"permissive": false, "register_frameworks": [
             {"principals": {"values": ["framework-a"]}, "roles": {"values": ["*"]}}]}"#,
    )?;
    let path = dir.join("master.conf");
    std::fs::write(
        &path,
        "mech_list: CRAM-MD5\ncredentials: credentials.json\nacls: acls.json\nchannel_binding: prefer\n",
    )?;
    Ok(path)
}

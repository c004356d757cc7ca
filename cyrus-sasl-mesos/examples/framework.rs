//! A framework that authenticates and then subscribes from the same UPID.
//!
//! The order matters: register the scheduler's libprocess process **first**.
//! Its UPID is what the framework authenticates (the master records it), what
//! the SUBSCRIBE comes from (the master checks it against what it recorded),
//! and where the master's answer goes.
//!
//! ```text
//! cargo run --example framework                                  # against a master of its own, in this process
//! cargo run --example framework -- --master 10.0.0.1:5050 --credential framework.credential --role analytics
//! ```
//!
//! Without `--master`, the example starts a master in this process from a
//! config file it writes (a credentials file and ACLs that let
//! `framework-a` register in `analytics`), so it runs anywhere libsasl2's
//! CRAM-MD5 plugin is installed. It exits with status 1 unless the framework
//! is registered.
//!
//! The SUBSCRIBE is a `mesos.scheduler.Call`; a real framework brings the
//! types generated from Mesos's `.proto` files. This example declares the few
//! fields it sends and reads, with Mesos's field numbers.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use cyrus_sasl_mesos::libprocess::{Endpoint, EndpointOptions, Upid};
use cyrus_sasl_mesos::{
    AuthenticateOptions, Credential, Master, MasterConfig, MasterHandle, MasterOptions, Verdict, authenticate,
    read_credential,
};
use prost::Message as _;

/// Authenticate, then subscribe from the same UPID.
#[derive(Parser, Debug)]
struct Args {
    /// The master's address (its UPID is `master@ADDR`); default: a master in this process.
    #[arg(long, value_name = "IP:PORT", requires = "credential")]
    master: Option<SocketAddr>,
    /// The framework's credential file (Mesos's `--credential` format).
    #[arg(long, value_name = "FILE")]
    credential: Option<PathBuf>,
    /// The role to subscribe in.
    #[arg(long, default_value = "analytics")]
    role: String,
}

/// `FrameworkInfo`: the fields this example sets.
#[derive(Clone, PartialEq, prost::Message)]
struct FrameworkInfo {
    #[prost(string, optional, tag = "1")]
    user: Option<String>,
    #[prost(string, optional, tag = "2")]
    name: Option<String>,
    #[prost(string, optional, tag = "6")]
    role: Option<String>,
    #[prost(string, optional, tag = "8")]
    principal: Option<String>,
}

/// `mesos.scheduler.Call` with its `Subscribe`.
#[derive(Clone, PartialEq, prost::Message)]
struct Call {
    #[prost(int32, optional, tag = "2")]
    r#type: Option<i32>,
    #[prost(message, optional, tag = "3")]
    subscribe: Option<Subscribe>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Subscribe {
    #[prost(message, optional, tag = "1")]
    framework_info: Option<FrameworkInfo>,
}

/// `Call.Type.SUBSCRIBE`.
const SUBSCRIBE: i32 = 1;

/// `mesos.internal.FrameworkRegisteredMessage`: the framework id it reads.
#[derive(Clone, PartialEq, prost::Message)]
struct FrameworkRegistered {
    #[prost(message, optional, tag = "1")]
    framework_id: Option<FrameworkId>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct FrameworkId {
    #[prost(string, optional, tag = "1")]
    value: Option<String>,
}

/// `mesos.internal.FrameworkErrorMessage`.
#[derive(Clone, PartialEq, prost::Message)]
struct FrameworkError {
    #[prost(string, optional, tag = "2")]
    message: Option<String>,
}

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("framework: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<bool, Error> {
    let temp = tempfile::tempdir()?;
    // Keep our own master (if any) running until the end.
    let (_own_master, master, credential) = match (args.master, &args.credential) {
        (Some(addr), Some(file)) => (None, Upid::new("master", addr)?, read_credential(file)?),
        _ => {
            let handle = own_master(temp.path()).await?;
            let upid = handle.upid().clone();
            (Some(handle), upid, Credential::new("framework-a", "s3cret"))
        }
    };

    // 1. The scheduler's process, first: its UPID is the one authenticated.
    let endpoint = Endpoint::bind(EndpointOptions::from_env()?).await?;
    let mut scheduler = endpoint.register("scheduler-1")?;
    println!("scheduler {}", scheduler.upid());

    // 2. Authenticate that UPID.
    let principal = credential.principal.clone();
    let options = AuthenticateOptions { timeout: Duration::from_secs(30), ..AuthenticateOptions::default() };
    match authenticate(&endpoint, &master, scheduler.upid(), credential, &options).await? {
        Verdict::Authenticated => println!("authenticated as {principal:?}"),
        Verdict::Rejected => {
            println!("the master rejected {principal:?}");
            return Ok(false);
        }
    }

    // 3. SUBSCRIBE from the same process; the answer comes back to it.
    let info = FrameworkInfo {
        user: Some("nobody".into()),
        name: Some("example framework".into()),
        role: Some(args.role.clone()),
        principal: Some(principal),
    };
    let call = Call { r#type: Some(SUBSCRIBE), subscribe: Some(Subscribe { framework_info: Some(info) }) };
    scheduler.send(&master, "mesos.scheduler.Call", &call.encode_to_vec()).await?;
    loop {
        let envelope = tokio::time::timeout(Duration::from_secs(30), scheduler.recv())
            .await
            .map_err(|_| "no answer to the SUBSCRIBE within 30 s")?
            .ok_or("the endpoint stopped")?;
        // As the real driver: only the master's own answers count.
        if envelope.from != master {
            println!("ignoring {:?} from {}", envelope.name, envelope.from);
            continue;
        }
        match envelope.name.as_str() {
            "mesos.internal.FrameworkRegisteredMessage" => {
                let registered = FrameworkRegistered::decode(envelope.body.as_slice())?;
                let id = registered.framework_id.and_then(|id| id.value).unwrap_or_default();
                println!("registered in {:?} as framework {id}", args.role);
                return Ok(true);
            }
            "mesos.internal.FrameworkErrorMessage" => {
                let error = FrameworkError::decode(envelope.body.as_slice())?;
                println!("not registered: {:?}", error.message.unwrap_or_default());
                return Ok(false);
            }
            other => println!("ignoring {other:?}"),
        }
    }
}

/// A master in this process, from a config file: `framework-a` may register
/// in `analytics`.
async fn own_master(dir: &std::path::Path) -> Result<MasterHandle, Error> {
    std::fs::write(dir.join("credentials"), "framework-a s3cret\n")?;
    std::fs::write(
        dir.join("acls.json"),
        r#"{"permissive": false, "register_frameworks": [
             {"principals": {"values": ["framework-a"]}, "roles": {"values": ["analytics"]}}]}"#,
    )?;
    std::fs::write(dir.join("master.conf"), "mech_list: CRAM-MD5\ncredentials: credentials\nacls: acls.json\n")?;
    let config = MasterConfig::read(dir.join("master.conf"))?;
    let master = Master::spawn(MasterOptions::from_config(&config)).await?;
    println!("master {} (in this process)", master.upid());
    Ok(master)
}

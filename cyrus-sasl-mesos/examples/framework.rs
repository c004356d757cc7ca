//! A framework that authenticates and then subscribes from the same UPID,
//! configured by a client config file ([`ClientConfig`]).
//!
//! The order matters: register the scheduler's libprocess process **first**.
//! Its UPID is what the framework authenticates (the master records it), what
//! the SUBSCRIBE comes from (the master checks it against what it recorded),
//! and where the master's answer goes.
//!
//! ```text
//! cargo run --example framework                            # against a master of its own, in this process
//! cargo run --example framework -- --config framework.conf # the master, credential and mechanisms of the file
//! cargo run --example framework -- --real-mesos            # authenticates with Apache Mesos's own authenticator
//! ```
//!
//! The client config (`key: value` lines, see `cyrus_sasl_mesos::ClientConfig`):
//!
//! ```text
//! master: 10.0.0.1:5050
//! principal: framework-a
//! secret_file: framework-a.secret
//! mech_list: CRAM-MD5
//! ```
//!
//! For Kerberos, `mech_list: GSSAPI` and `ccache: FILE:/path/to/krb5cc`
//! instead of the secret file; for TLS, the `ssl_*` keys.
//!
//! Without `--config`, the example starts a master in this process from a
//! config file it writes (a credentials file and ACLs that let
//! `framework-a` register in `analytics`), and writes the framework's config
//! beside it, so it runs anywhere libsasl2's CRAM-MD5 plugin is installed.
//!
//! With `--real-mesos`, the master is `../shared/mesos-peer/real-master`: the
//! real `CRAMMD5Authenticator` of Apache Mesos 1.11 (prepared with
//! `../shared/mesos-peer/prepare`). It authenticates, but it is not a whole
//! master and never answers a SUBSCRIBE: the example checks that it recorded
//! the scheduler's UPID, and stops there.
//!
//! It exits with status 1 unless the framework is registered (or, with
//! `--real-mesos`, authenticated).
//!
//! The SUBSCRIBE is a `mesos.scheduler.Call`; a real framework brings the
//! types generated from Mesos's `.proto` files (the `mesos-component` example
//! shows how). This example declares the few fields it sends and reads, with
//! Mesos's field numbers.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use clap::Parser;
use cyrus_sasl_mesos::libprocess::{Endpoint, Upid};
use cyrus_sasl_mesos::zookeeper::ResolvedMaster;
use cyrus_sasl_mesos::{
    AuthenticateOptions, ClientConfig, Master, MasterConfig, MasterHandle, MasterOptions, Verdict, authenticate,
};
use prost::Message as _;

/// Authenticate, then subscribe from the same UPID.
#[derive(Parser, Debug)]
struct Args {
    /// The framework's client config; default: one written for a master in this process.
    #[arg(long, value_name = "FILE", conflicts_with = "real_mesos")]
    config: Option<PathBuf>,
    /// Authenticate with the real Apache Mesos 1.11 authenticator
    /// (`../shared/mesos-peer/real-master`, started by the example).
    #[arg(long)]
    real_mesos: bool,
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

/// The master the example talks to when it has no `--config`.
enum OwnMaster {
    /// Ours, in this process.
    Ours(MasterHandle),
    /// Apache Mesos's authenticator, a child process.
    Real(RealMaster),
}

async fn run(args: Args) -> Result<bool, Error> {
    let temp = tempfile::tempdir()?;
    // Keep our own master (if any) running until the end.
    let (mut own, path) = match &args.config {
        Some(path) => (None, path.clone()),
        None => {
            let own = if args.real_mesos {
                OwnMaster::Real(RealMaster::start(temp.path())?)
            } else {
                OwnMaster::Ours(own_master(temp.path()).await?)
            };
            let master = match &own {
                OwnMaster::Ours(handle) => handle.upid().clone(),
                OwnMaster::Real(real) => real.upid.clone(),
            };
            (Some(own), write_framework_config(temp.path(), &master)?)
        }
    };

    // 0. The framework's side, from its file: master, credential, mechanisms, TLS.
    let config = ClientConfig::read(&path)?;
    let address = config.master().ok_or("the client config names no master (add `master: HOST:PORT`)")?;
    let master = match address.resolve()? {
        ResolvedMaster::Direct(upid) => upid,
        ResolvedMaster::ZooKeeper(zk) => {
            return Err(format!("{zk}: this example takes one master; follow_leader follows a ZooKeeper one").into());
        }
    };

    // 1. The scheduler's process, first: its UPID is the one authenticated.
    let endpoint = Endpoint::bind(config.endpoint_options().clone()).await?;
    let mut scheduler = endpoint.register("scheduler-1")?;
    println!("scheduler {}", scheduler.upid());

    // 2. Authenticate that UPID.
    let principal = config.credential().principal.clone();
    let options = AuthenticateOptions { timeout: Duration::from_secs(30), ..AuthenticateOptions::from_config(&config) };
    match authenticate(&endpoint, &master, scheduler.upid(), config.credential().clone(), &options).await? {
        Verdict::Authenticated => println!("authenticated as {principal:?}"),
        Verdict::Rejected => {
            println!("the master rejected {principal:?}");
            return Ok(false);
        }
    }
    if let Some(OwnMaster::Real(real)) = own.as_mut() {
        // Mesos's authenticator records the pid the framework announced.
        let line = real.next_line(Duration::from_secs(10)).ok_or("real-master printed nothing")?;
        println!("real-master: {line}");
        let wanted = format!("authenticated: {principal} from {}", scheduler.upid());
        println!("(real-master is Mesos's authenticator, not a whole master: it answers no SUBSCRIBE)");
        return Ok(line == wanted);
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

/// The framework's client config for `master`: CRAM-MD5 as `framework-a`.
fn write_framework_config(dir: &Path, master: &Upid) -> Result<PathBuf, Error> {
    std::fs::write(dir.join("framework-a.secret"), "s3cret\n")?;
    let path = dir.join("framework.conf");
    let text =
        format!("master: {master}\nprincipal: framework-a\nsecret_file: framework-a.secret\nmech_list: CRAM-MD5\n");
    std::fs::write(&path, &text)?;
    println!("framework config {}:\n{text}", path.display());
    Ok(path)
}

/// A master in this process, from a config file: `framework-a` may register
/// in `analytics`.
async fn own_master(dir: &Path) -> Result<MasterHandle, Error> {
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

/// `../shared/mesos-peer/real-master` on a free loopback port, killed by its
/// PID when dropped.
struct RealMaster {
    child: Child,
    upid: Upid,
    lines: std::sync::mpsc::Receiver<String>,
}

impl RealMaster {
    fn start(dir: &Path) -> Result<RealMaster, Error> {
        let peer = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/mesos-peer/real-master");
        if !peer.exists() {
            return Err(format!("{} is absent (it sits beside the checkout)", peer.display()).into());
        }
        std::fs::write(dir.join("real-credentials"), "framework-a s3cret\n")?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut child = Command::new(&peer)
            .arg(port.to_string())
            .env("MR_CREDENTIALS", dir.join("real-credentials"))
            .env("LIBPROCESS_IP", "127.0.0.1")
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
        let upid: Upid = format!("master@127.0.0.1:{port}").parse()?;
        let mut master = RealMaster { child, upid, lines };
        let first = master
            .next_line(Duration::from_secs(30))
            .ok_or("real-master did not start (run ../shared/mesos-peer/prepare first)")?;
        if first != format!("listening: {}", master.upid) {
            return Err(format!("real-master said {first:?}").into());
        }
        println!("master {} (Apache Mesos 1.11's authenticator, real-master)", master.upid);
        Ok(master)
    }

    fn next_line(&mut self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }
}

impl Drop for RealMaster {
    fn drop(&mut self) {
        // Child::kill signals this child's PID only.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

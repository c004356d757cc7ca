//! `sasl-sample mesos-authenticate`: authenticates once to a Mesos master (ours
//! or Apache's) over libprocess, as a framework or agent does, and prints the
//! verdict.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Args};
use cyrus_sasl_mesos::zookeeper::ResolvedMaster;
use cyrus_sasl_mesos::{
    AuthenticateOptions, FollowEvent, FollowOptions, MasterAddress, authenticate_blocking, follow_leader,
};
use cyrus_sasl_mesos::{ClientConfig, Credential, Verdict, read_credential};
use libprocess::{BlockingEndpoint, EndpointOptions, Upid};

use crate::outcome::Failure;

/// `sasl-sample mesos-authenticate`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("who").required(true).args(["principal", "credential", "config"])))]
pub struct MesosAuthenticateArgs {
    /// A client config (`key: value` lines, as the master's `--config`):
    /// `master`, `principal` with `secret_file` (or alone for GSSAPI and
    /// EXTERNAL), or `credential`; `mech_list`, `service`, `server_fqdn`,
    /// `channel_binding`, `ccache` for GSSAPI, `ssl_*` for TLS (see
    /// `cyrus_sasl_mesos::ClientConfig`). Service and host name default to the
    /// master's (`mesos`, `localhost`). --master, if given, wins over the file's.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["principal", "secret_file", "credential", "mechanism", "channel_binding"])]
    pub config: Option<PathBuf>,

    /// The master, as Mesos's `--master` takes it: `IP:PORT`, `HOST:PORT`,
    /// `master@HOST:PORT`, `file:///PATH` holding one, or
    /// `zk://[USER:PASSWORD@]HOST:PORT[,...]/PATH` to authenticate with
    /// whichever master leads (a `leader: master@IP:PORT` line on stderr for
    /// each leader; the first verdict ends it). TLS as in Mesos:
    /// LIBPROCESS_SSL_ENABLED, LIBPROCESS_SSL_CERT_FILE, ... (the master's
    /// certificate is verified against LIBPROCESS_SSL_CA_FILE unless
    /// LIBPROCESS_SSL_VERIFY_SERVER_CERT=false).
    #[arg(long, value_name = "ADDRESS", required_unless_present = "config")]
    pub master: Option<MasterAddress>,

    /// The principal to authenticate as (with --secret-file; alone with
    /// `--mechanism EXTERNAL`, where the TLS client certificate is the proof).
    #[arg(long)]
    pub principal: Option<String>,

    /// The file holding the secret (one trailing newline is stripped).
    #[arg(long, value_name = "FILE", requires = "principal")]
    pub secret_file: Option<PathBuf>,

    /// The credential file Mesos frameworks and agents take: one
    /// `{"principal": .., "secret": ..}` object, or one `principal secret` line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["principal", "secret_file"])]
    pub credential: Option<PathBuf>,

    /// A mechanism this client may use (repeat it, or separate with commas);
    /// default CRAM-MD5 alone, as Mesos's authenticatee.
    #[arg(long, value_name = "MECH", value_delimiter = ',')]
    pub mechanism: Vec<String>,

    /// Over TLS, bind SASL to the connection: `prefer` uses a mechanism's
    /// `-PLUS` variant when the master offers it (give --mechanism
    /// SCRAM-SHA-256), `require` refuses a master that does not bind, `off`
    /// never binds.
    #[arg(long, value_name = "POLICY")]
    pub channel_binding: Option<cyrus_sasl_mesos::ChannelBindingPolicy>,

    /// Seconds to wait for a verdict, retries included.
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    pub timeout: f64,
}

/// Deliveries to the master that may fail in a row (refused connection, 404)
/// before giving up: an operator wants "error" quickly, not Mesos's endless retries.
const MAX_DELIVERY_FAILURES: u32 = 3;

/// Runs it: prints `authenticated` (Ok), `rejected` (exit 1) or `error: ...`
/// (exit 2) on stdout.
pub fn run(args: &MesosAuthenticateArgs) -> Result<(), Failure> {
    let verdict = authenticate(args).inspect_err(|failure| {
        if let Failure::Error(why) = failure {
            println!("error: {why}");
        }
    })?;
    match verdict {
        Verdict::Authenticated => {
            println!("authenticated");
            Ok(())
        }
        Verdict::Rejected => {
            println!("rejected");
            Err(Failure::Rejected("the master rejected the credential".to_owned()))
        }
    }
}

/// What to authenticate as, with which options, to which master, from an
/// endpoint with which options: from `--config`, or from the flags.
fn setup(
    args: &MesosAuthenticateArgs,
) -> Result<(Credential, cyrus_sasl_mesos::ClientOptions, MasterAddress, EndpointOptions), Failure> {
    if let Some(path) = &args.config {
        let config = ClientConfig::read(path).map_err(Failure::error)?;
        let master = args.master.clone().or_else(|| config.master().cloned()).ok_or_else(|| {
            Failure::Error(format!("{}: no master: add `master: HOST:PORT` or give --master", path.display()))
        })?;
        let options = AuthenticateOptions::from_config(&config);
        return Ok((config.credential().clone(), options.client, master, config.endpoint_options().clone()));
    }
    let master = args.master.clone().ok_or_else(|| Failure::error("give --master (or --config naming one)"))?;
    let credential = match (&args.credential, &args.principal, &args.secret_file) {
        (Some(path), _, _) => read_credential(path).map_err(Failure::error)?,
        (None, Some(principal), Some(path)) => {
            let secret = crate::password::read_password(Some(path))?.expect("a file was given");
            Credential { principal: principal.clone(), secret: Some(secret) }
        }
        (None, Some(principal), None)
            if args.mechanism.len() == 1 && args.mechanism[0].eq_ignore_ascii_case("EXTERNAL") =>
        {
            Credential::external(principal.clone())
        }
        _ => {
            return Err(Failure::error(
                "give --principal with --secret-file (or alone with --mechanism EXTERNAL), or --credential, or --config",
            ));
        }
    };
    let mut client = cyrus_sasl_mesos::ClientOptions::default();
    if !args.mechanism.is_empty() {
        client.mechanisms = args.mechanism.clone();
    }
    if let Some(policy) = args.channel_binding {
        client.channel_binding = policy;
    }
    Ok((credential, client, master, EndpointOptions::from_env().map_err(Failure::error)?))
}

fn authenticate(args: &MesosAuthenticateArgs) -> Result<Verdict, Failure> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| Failure::Error(format!("--timeout {} is not a positive number of seconds", args.timeout)))?;
    let (credential, client, master, endpoint_options) = setup(args)?;
    let endpoint = BlockingEndpoint::bind(endpoint_options)
        .map_err(|e| Failure::Error(format!("cannot start the libprocess endpoint: {e}")))?;
    // The UPID the master records as authenticated: a process of this endpoint.
    let me = endpoint.register("sasl-sample").map_err(Failure::error)?;
    let options = AuthenticateOptions {
        client,
        timeout,
        max_delivery_failures: Some(MAX_DELIVERY_FAILURES),
        ..AuthenticateOptions::default()
    };
    match master.resolve().map_err(Failure::error)? {
        ResolvedMaster::Direct(upid) => {
            // Named by host name: with TLS, its certificate must carry that
            // name (Mesos's openssl scheme), not the IP it resolved to.
            if let Ok(MasterAddress::Direct(named)) = master.load()
                && named.ip().is_none()
            {
                endpoint.endpoint().set_tls_server_name(upid.addr(), &named.host).map_err(Failure::error)?;
            }
            authenticate_blocking(&endpoint, &upid, me.upid(), credential, &options).map_err(Failure::error)
        }
        ResolvedMaster::ZooKeeper(_) => endpoint.block_on(follow(&endpoint, &master, me.upid(), credential, options)),
    }
}

/// `--master zk://...`: the first verdict from whichever master leads.
async fn follow(
    endpoint: &BlockingEndpoint,
    master: &MasterAddress,
    me: &Upid,
    credential: Credential,
    options: AuthenticateOptions,
) -> Result<Verdict, Failure> {
    let deadline = tokio::time::Instant::now() + options.timeout;
    // Each attempt may take the time that is left; the overall deadline is ours.
    let options = FollowOptions { authenticate: options, ..FollowOptions::default() };
    let mut follower = follow_leader(endpoint.endpoint(), master, me, credential, &options);
    loop {
        let event = match tokio::time::timeout_at(deadline, follower.next()).await {
            Ok(Some(event)) => event,
            Ok(None) => return Err(Failure::error("stopped following the leader")),
            Err(_) => return Err(Failure::Error(format!("no verdict from a leader of {master} in time"))),
        };
        match event {
            FollowEvent::NewLeader(info) => eprintln!("leader: {}", info.pid),
            FollowEvent::NoLeader => eprintln!("no leader"),
            FollowEvent::Authenticated(_) => return Ok(Verdict::Authenticated),
            FollowEvent::Rejected(_) => return Ok(Verdict::Rejected),
            FollowEvent::Error(e) => eprintln!("note: {}", crate::outcome::chain(&e)),
            _ => {}
        }
    }
}

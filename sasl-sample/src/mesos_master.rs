//! `sasl-sample mesos-master`: a libprocess master that authenticates Mesos
//! frameworks and agents (ours or Apache's) and prints one line per attempt.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgGroup, Args};
use std::time::Duration;

use cyrus_sasl_mesos::{Master, MasterAddress, MasterElection, MasterEvent, MasterOptions};
use cyrus_sasl_mesos::{MasterConfig, Outcome, PeerBinding};
use libprocess::EndpointOptions;

use crate::outcome::Failure;

/// `sasl-sample mesos-master`.
#[derive(Debug, Args)]
#[command(group(ArgGroup::new("secrets").required(true).args(["credentials", "config"])))]
pub struct MesosMasterArgs {
    /// Bind the libprocess endpoint here (e.g. `127.0.0.1:5050`; port 0 picks a
    /// free one). Without it, LIBPROCESS_IP and LIBPROCESS_PORT (default
    /// 127.0.0.1, a free port). LIBPROCESS_ADVERTISE_IP/PORT set the address in
    /// the master's UPID. TLS as in Mesos: LIBPROCESS_SSL_ENABLED,
    /// LIBPROCESS_SSL_CERT_FILE, LIBPROCESS_SSL_KEY_FILE, LIBPROCESS_SSL_CA_FILE, ...
    #[arg(long, value_name = "IP:PORT")]
    pub listen: Option<SocketAddr>,

    /// A Mesos credentials file (Mesos's `--credentials`): JSON
    /// `{"credentials": [{"principal": .., "secret": ..}]}` or `principal secret`
    /// lines. Offers CRAM-MD5.
    #[arg(long, value_name = "FILE")]
    pub credentials: Option<PathBuf>,

    /// A master config (`key: value` lines): `credentials: FILE`, `mech_list`,
    /// `auxprop_plugin: sasldb` with `sasldb_path`, `keytab` for GSSAPI,
    /// `channel_binding: off|prefer|require` (over TLS), `external_principal:
    /// common_name|dns_name` (EXTERNAL from client certificates), ...
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The SASL service name.
    #[arg(long, default_value = cyrus_sasl_mesos::DEFAULT_SERVICE)]
    pub service: String,

    /// This master's host name (for GSSAPI: the host part of `SERVICE/FQDN@REALM`).
    #[arg(long, default_value = "localhost")]
    pub fqdn: String,

    /// The realm secrets are looked up in (default: libsasl2's, the FQDN).
    #[arg(long)]
    pub realm: Option<String>,

    /// Believe the UPIDs peers claim even when their IP is not the address the
    /// connection comes from (needed behind NAT); by default such an attempt is
    /// turned away. Any host can then authenticate in another's name.
    #[arg(long)]
    pub trust_claimed_address: bool,

    /// Mesos ACL JSON (Mesos's `--acls`; or `acls: FILE` in `--config`): decide
    /// each framework's and agent's registration after authentication, one
    /// line per decision (`registered: PRINCIPAL role=ROLE`,
    /// `denied: PRINCIPAL (REASON)`).
    #[arg(long, value_name = "FILE")]
    pub acls: Option<PathBuf>,

    /// High availability, as Mesos's `--zk`: contend in this ZooKeeper
    /// election (`zk://[USER:PASSWORD@]HOST:PORT[,...]/PATH`, or
    /// `file:///PATH` holding one; or `zk:` in `--config`) and serve only while
    /// leading, dropping every message otherwise. Prints `elected` and
    /// `stepped down (REASON)` lines.
    #[arg(long, value_name = "URL")]
    pub zk: Option<String>,

    /// The ZooKeeper session timeout with `--zk`, in seconds (Mesos's
    /// `--zk_session_timeout`; default 10, or `zk_session_timeout:` in `--config`).
    #[arg(long, value_name = "SECONDS")]
    pub zk_session_timeout: Option<f64>,
}

/// Runs until killed: `listening: master@IP:PORT`, then one line per attempt on
/// stdout, flushed: `authenticated: PRINCIPAL pid=UPID mech=MECH tls=yes|no
/// bound=yes|no` (bound: the exchange was tied to its TLS connection by a
/// `-PLUS` mechanism),
/// `rejected: pid=UPID`, or `error: pid=UPID (WHY)` for an attempt without a
/// verdict; with ACLs, one line per registration (see
/// [`crate::mesos_registration::line`]); with `--zk`, `elected` and `stepped
/// down (REASON)`. Peer text escaped.
pub fn run(args: &MesosMasterArgs) -> Result<(), Failure> {
    let master_config = match (&args.credentials, &args.config) {
        (Some(path), _) => MasterConfig::read_credentials_file(path),
        (None, Some(path)) => MasterConfig::read(path),
        (None, None) => unreachable!("clap requires one of --credentials and --config"),
    }
    .map_err(Failure::error)?;
    // Every key of the config file takes effect here (acls, channel_binding,
    // external_principal, the credentials and SASL options); the flags below
    // add what a file does not say.
    let mut options = MasterOptions::from_config(&master_config);
    let config = master_config.sasl_config();
    // Check the mechanisms now, not at the first framework.
    cyrus_sasl::Server::check(&args.service, &args.fqdn, args.realm.as_deref(), config)?;
    crate::print_warnings(&master_config.warnings());

    // The addresses and TLS from the environment; the connection limits the
    // config file set (or the master's defaults) stay.
    let (max_connections, max_connections_per_ip) =
        (options.endpoint.max_connections, options.endpoint.max_connections_per_ip);
    options.endpoint = EndpointOptions {
        max_connections,
        max_connections_per_ip,
        ..EndpointOptions::from_env().map_err(Failure::error)?
    };
    if let Some(listen) = args.listen {
        options.endpoint.bind_ip = listen.ip();
        options.endpoint.bind_port = listen.port();
    }
    options.server.peer_binding = if args.trust_claimed_address {
        eprintln!(
            "sasl-sample: warning: --trust-claimed-address: claimed UPIDs are believed; any host can authenticate in another's name"
        );
        PeerBinding::TrustClaimedAddress
    } else {
        PeerBinding::RequireIpMatch
    };
    options.server.service = args.service.clone();
    options.server.fqdn = args.fqdn.clone();
    options.server.realm = args.realm.clone();
    if let Some(gate) = crate::mesos_registration::gate_from_flag(args.acls.as_deref())? {
        options.registration = Some(gate);
    }
    if let Some(zk) = &args.zk {
        let address = zk.parse::<MasterAddress>().and_then(|a| a.load()).map_err(Failure::error)?;
        let MasterAddress::ZooKeeper(zk) = address else {
            return Err(Failure::Error(format!("--zk {address}: not a zk:// address")));
        };
        options.election = Some(MasterElection::new(zk));
    }
    if let Some(seconds) = args.zk_session_timeout {
        let Some(election) = options.election.as_mut() else {
            return Err(Failure::error("--zk-session-timeout needs --zk (or zk: in --config)"));
        };
        election.session_timeout =
            Duration::try_from_secs_f64(seconds).ok().filter(|t| !t.is_zero()).ok_or_else(|| {
                Failure::Error(format!("--zk-session-timeout {seconds}: not a positive number of seconds"))
            })?;
    }
    if options.election.is_some() {
        options.hostname = Some(args.fqdn.clone());
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Error(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async {
        let mut master = Master::spawn(options).await.map_err(|e| Failure::Error(format!("cannot listen: {e}")))?;
        say(&format!("listening: {}", master.upid()));
        while let Some(event) = master.next_event().await {
            let record = match event {
                MasterEvent::Authentication(record) => record,
                MasterEvent::Registration(record) => {
                    say(&crate::mesos_registration::line(&record, escape));
                    continue;
                }
                MasterEvent::Elected => {
                    say("elected");
                    continue;
                }
                MasterEvent::SteppedDown { reason } => {
                    say(&format!("stepped down ({reason:?})"));
                    continue;
                }
                _ => continue,
            };
            let pid = escape(&record.pid);
            say(&match &record.outcome {
                Outcome::Authenticated { principal } => format!(
                    "authenticated: {} pid={pid} mech={} tls={} bound={}",
                    escape(principal),
                    escape(record.mechanism.as_deref().unwrap_or("-")),
                    if record.tls { "yes" } else { "no" },
                    if record.channel_bound { "yes" } else { "no" }
                ),
                Outcome::Rejected => format!("rejected: pid={pid}"),
                Outcome::Failed(e) => format!("error: pid={pid} ({})", escape(&crate::outcome::chain(e))),
            });
        }
        Err(Failure::error("the master stopped"))
    })
}

/// One line on stdout, flushed at once (a pipe would otherwise buffer it).
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Peer text with control characters, backslashes and quotes escaped, so one
/// attempt is always one line.
fn escape(text: &str) -> String {
    text.escape_debug().to_string()
}

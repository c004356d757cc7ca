//! Command-line arguments (clap derive).

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

const PROTOCOL: &str = "\
Line protocol (the one `gsasl --client` speaks on stdin/stdout), one line each:
  client -> server   mechanism name
  client -> server   initial response, base64 (empty line: none)
  server -> client   challenge, base64       } repeated while the
  client -> server   response, base64        } mechanism needs it
  server -> client   final line: the server's success data, base64 (may be empty)
The server sends the final line only when it accepts the client. When it rejects
the client, or fails, it closes the connection instead.

Exit codes:
  0  server: the client authenticated.
     client: its side completed and the server sent its final line.
  1  server: the client was rejected (wrong password, unknown user, ...).
     client: the server closed the connection before its final line.
  2  any error: bad arguments or config, unknown mechanism, malformed base64,
     end of input in the middle of the exchange, I/O errors.";

/// Test a Cyrus SASL setup: a minimal SASL server and client that exchange
/// base64 tokens, one per line, over stdin/stdout or TCP.
#[derive(Debug, Parser)]
#[command(name = "sasl-sample", version, after_long_help = PROTOCOL)]
pub struct Cli {
    /// Log libsasl2's messages and the reason for a rejection on stderr
    /// (-v: info, -vv: debug).
    #[arg(short, long, action = ArgAction::Count, global = true)]
    pub verbose: u8,

    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The two sides.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify one client per exchange, on stdin/stdout or on a TCP socket.
    #[command(after_long_help = PROTOCOL)]
    Server(ServerArgs),
    /// Authenticate to a server, on stdin/stdout or over TCP.
    ///
    /// The password comes from --password-file or the SASL_PASSWORD environment
    /// variable, never from the command line.
    #[command(after_long_help = PROTOCOL)]
    Client(ClientArgs),
    /// Run a Mesos master (libprocess) that authenticates frameworks and agents,
    /// printing one line per attempt, until stopped.
    MesosMaster(crate::mesos_master::MesosMasterArgs),
    /// Authenticate once to a Mesos master over libprocess (as a framework or
    /// agent does) and print `authenticated` (exit 0), `rejected` (exit 1) or
    /// `error: ...` (exit 2). Honours LIBPROCESS_IP, LIBPROCESS_PORT,
    /// LIBPROCESS_ADVERTISE_IP and LIBPROCESS_ADVERTISE_PORT.
    MesosAuthenticate(crate::mesos_authenticate::MesosAuthenticateArgs),
}

/// Options both sides take.
#[derive(Debug, Args)]
pub struct Common {
    /// Cyrus options, one `key: value` per line, e.g. `mech_list: CRAM-MD5`,
    /// `pwcheck_method: auxprop`, `auxprop_plugin: sasldb`, `sasldb_path: FILE`.
    /// For Kerberos: `mech_list: GSSAPI`, `max_ssf: 256`, and `keytab: FILE` on
    /// the server and `ccache: FILE:PATH` on the client (without them,
    /// KRB5_KTNAME and KRB5CCNAME name them).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// The service name, as in a Kerberos principal `SERVICE/FQDN`.
    #[arg(long, default_value = "sample")]
    pub service: String,

    /// The server's fully qualified host name. For GSSAPI it must be the host
    /// part of the service principal `SERVICE/FQDN@REALM` exactly: a host name,
    /// not an IP address.
    #[arg(long, default_value = "localhost")]
    pub fqdn: String,

    /// Server: the realm users are looked up in (without it, libsasl2 uses the
    /// FQDN, so `alice` is `alice@FQDN`). Client: the realm to answer when a
    /// mechanism asks for one (DIGEST-MD5).
    #[arg(long)]
    pub realm: Option<String>,

    /// Seconds a TCP peer may stay silent before the exchange fails (0: wait
    /// forever). Not applied to stdin/stdout.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// `sasl-sample server`.
#[derive(Debug, Args)]
pub struct ServerArgs {
    #[command(flatten)]
    pub common: Common,

    /// Listen on this TCP address (e.g. `127.0.0.1:0`) and serve one client at a
    /// time, instead of one exchange on stdin/stdout. The bound address is
    /// printed on stderr as `listening on ADDR`.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,

    /// With --listen: exit after the first exchange, with its exit code. (On
    /// stdin/stdout there is always exactly one exchange.)
    #[arg(long)]
    pub once: bool,
}

/// `sasl-sample client`.
#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub common: Common,

    /// The authentication identity (empty for mechanisms that take it from
    /// elsewhere, such as GSSAPI from the Kerberos ticket).
    #[arg(long, default_value = "")]
    pub user: String,

    /// The identity to act as, when different from --user.
    #[arg(long)]
    pub authzid: Option<String>,

    /// The mechanism, or a list to choose from (space- or comma-separated).
    /// Defaults to the config's `mech_list`.
    #[arg(long)]
    pub mech: Option<String>,

    /// Connect to this TCP address instead of using stdin/stdout.
    #[arg(long, value_name = "ADDR")]
    pub connect: Option<String>,

    /// Read the password from this file (one trailing newline is stripped).
    /// Without it, SASL_PASSWORD is used if set.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

//! `sasl-sample`: a SASL server and client for testing a Cyrus SASL setup from
//! the command line, in place of Cyrus's `sample-server`/`sample-client`, which
//! Debian no longer ships.
//!
//! Both sides speak the line protocol of `gsasl` in stdin/stdout mode: the
//! mechanism name, then base64 tokens, one per line. So the server can be tested
//! with `gsasl --client`, for example in an inetd-style pipe:
//!
//! ```text
//! sasl-sample server --config app.conf --realm EXAMPLE.COM   # stdin/stdout
//! sasl-sample server --config app.conf --listen 127.0.0.1:3456 --once
//! SASL_PASSWORD=secret sasl-sample client --user alice --mech CRAM-MD5 --connect 127.0.0.1:3456
//! # Kerberos: mech_list: GSSAPI in both configs, the service principal mesos/localhost
//! sasl-sample server --config gssapi.conf --service mesos --fqdn localhost --listen 127.0.0.1:3456 --once
//! sasl-sample client --config gssapi.conf --service mesos --fqdn localhost --connect 127.0.0.1:3456
//! ```
//!
//! The server prints `authenticated: USER mech=MECH ssf=N` on stderr and exits
//! with 0 when the client authenticated, 1 when it was rejected, 2 on any error.
//! The client exits with 0 when its side completed and the server sent its final
//! line, 1 when the server closed the connection instead (the server's verdict is
//! authoritative), 2 on any error. `sasl-sample --help` describes the protocol.
//!
//! This program uses only the safe API of the `cyrus_sasl` crate.

mod cli;
mod client;
mod lines;
mod logging;
mod mesos_authenticate;
mod mesos_master;
mod mesos_registration;
mod net;
mod outcome;
mod password;
mod server;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cyrus_sasl::Config;

use crate::cli::{Cli, Command};
use crate::outcome::Failure;

/// The application name given to libsasl2, which also reads
/// `/etc/sasl2/sasl-sample.conf` (options from --config override it).
const APP_NAME: &std::ffi::CStr = c"sasl-sample";

fn main() -> ExitCode {
    // Usage errors exit with 2, like every other error.
    let cli = Cli::parse();
    logging::init(cli.verbose);
    let result = cyrus_sasl::init(APP_NAME).map_err(Failure::from).and_then(|()| match &cli.command {
        Command::Server(args) => server::run(args),
        Command::Client(args) => client::run(args),
        Command::MesosMaster(args) => mesos_master::run(args),
        Command::MesosAuthenticate(args) => mesos_authenticate::run(args),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("sasl-sample: {failure}");
            failure.exit_code()
        }
    }
}

/// The `--config` file, or an empty config (libsasl2's defaults).
fn load_config(path: Option<&Path>) -> Result<Config, Failure> {
    match path {
        Some(path) => Ok(Config::from_file(path)?),
        None => Ok(Config::new()),
    }
}

/// Prints the library's warnings about a configuration on stderr, where an
/// operator sees them without a logger.
fn print_warnings<W: std::fmt::Display>(warnings: &[W]) {
    for warning in warnings {
        eprintln!("warning: {warning}");
    }
}

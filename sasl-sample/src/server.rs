//! `sasl-sample server`: verifies one client per exchange.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use cyrus_sasl::{Config, Identity, Server, ServerStep};

use crate::cli::{Common, ServerArgs};
use crate::lines::Lines;
use crate::net;
use crate::outcome::Failure;

/// Runs the server subcommand.
pub fn run(args: &ServerArgs) -> Result<(), Failure> {
    let config = crate::load_config(args.common.config.as_deref())?;
    // mech_list, the sasldb, a keytab: checked before any client arrives (and
    // before `listening on`), so a broken setup fails at start-up.
    let common = &args.common;
    let warnings = Server::check(&common.service, &common.fqdn, common.realm.as_deref(), &config)?;
    crate::print_warnings(&warnings);
    match &args.listen {
        None => exchange(&mut Lines::new(io::stdin().lock(), io::stdout().lock()), &args.common, &config),
        Some(addr) => listen(addr, args.once, &args.common, &config),
    }
}

fn new_server(common: &Common, config: &Config) -> Result<Server, Failure> {
    Ok(Server::new(&common.service, &common.fqdn, common.realm.as_deref(), config)?)
}

/// Accepts connections one at a time. With `once`, the first exchange's outcome
/// is the result; otherwise each outcome is reported and the next client served.
fn listen(addr: &str, once: bool, common: &Common, config: &Config) -> Result<(), Failure> {
    let listener = TcpListener::bind(addr).map_err(|e| Failure::Error(format!("cannot listen on {addr}: {e}")))?;
    let bound =
        listener.local_addr().map_err(|e| Failure::Error(format!("cannot read the address bound for {addr}: {e}")))?;
    eprintln!("listening on {bound}");
    loop {
        let (stream, peer) = match listener.accept() {
            Ok(accepted) => accepted,
            Err(e) if once => return Err(Failure::Error(format!("accepting a connection: {e}"))),
            Err(e) => {
                // E.g. out of file descriptors: report it, and give the system a
                // moment rather than spinning.
                eprintln!("sasl-sample: accepting a connection: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        eprintln!("connection from {peer}");
        let result = serve_connection(&stream, common, config);
        net::close_gracefully(&stream);
        if once {
            return result;
        }
        if let Err(failure) = result {
            eprintln!("sasl-sample: {peer}: {failure}");
        }
    }
}

fn serve_connection(stream: &TcpStream, common: &Common, config: &Config) -> Result<(), Failure> {
    let reader = net::prepare(stream, common.timeout)?;
    exchange(&mut Lines::new(BufReader::new(reader), stream), common, config)
}

/// One exchange of the line protocol, server side. Prints the
/// `authenticated: ...` line on success.
fn exchange<R: BufRead, W: Write>(lines: &mut Lines<R, W>, common: &Common, config: &Config) -> Result<(), Failure> {
    let mut server = new_server(common, config)?;
    let mechanism = read_mechanism(lines)?;
    let initial = lines.read_token("initial response")?.ok_or_else(|| went_away("initial response"))?;
    // The protocol cannot tell an empty initial response from none; like gsasl,
    // an empty line means none.
    let initial = (!initial.is_empty()).then_some(initial.as_slice());
    let mut step = Step::from(server.start(&mechanism, initial)?);
    loop {
        match step {
            Step::Continue(challenge) => {
                lines.write_token(&challenge, "challenge")?;
                let response = lines.read_token("response")?.ok_or_else(|| went_away("response"))?;
                step = Step::from(server.step(&response)?);
            }
            Step::Authenticated(identity, additional) => {
                lines.write_token(&additional, "final line")?;
                eprintln!("authenticated: {} mech={} ssf={}", identity.user(), identity.mechanism, identity.ssf);
                return Ok(());
            }
            // Nothing more is sent: the client sees the connection close where the
            // final line would be (gsasl --client then exits with status 1).
            Step::Rejected(rejection) => {
                let hint = if log::max_level() < log::LevelFilter::Info { " (-v logs libsasl2's reason)" } else { "" };
                return Err(Failure::Rejected(format!(
                    "{mechanism} authentication failed ({}, user {:?}){hint}",
                    rejection.reason(),
                    rejection.authid().unwrap_or("?")
                )));
            }
        }
    }
}

/// Reads the mechanism line: 1 to 20 letters, digits, `-` or `_` (RFC 4422).
fn read_mechanism<R: BufRead, W: Write>(lines: &mut Lines<R, W>) -> Result<String, Failure> {
    let line = lines.read_line("mechanism line")?.ok_or_else(|| went_away("mechanism line"))?;
    let valid =
        (1..=20).contains(&line.len()) && line.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        let shown = String::from_utf8_lossy(&line[..line.len().min(40)]).into_owned();
        return Err(Failure::Error(format!("invalid mechanism name {shown:?}")));
    }
    // Checked above: ASCII only.
    Ok(String::from_utf8_lossy(&line).into_owned())
}

fn went_away(what: &str) -> Failure {
    Failure::Error(format!("the client closed the connection in the middle of the exchange (expected the {what})"))
}

/// A [`ServerStep`] that no longer borrows the connection.
enum Step {
    Continue(Vec<u8>),
    Authenticated(Identity, Vec<u8>),
    Rejected(cyrus_sasl::Rejection),
}

impl From<ServerStep<'_>> for Step {
    fn from(step: ServerStep<'_>) -> Self {
        match step {
            ServerStep::Continue(challenge) => Step::Continue(challenge.to_vec()),
            ServerStep::Authenticated { identity, additional } => Step::Authenticated(identity, additional.to_vec()),
            ServerStep::Rejected(rejection) => Step::Rejected(rejection),
        }
    }
}

//! `sasl-sample client`: authenticates to a server speaking the line protocol.
//!
//! Over this protocol the client learns no explicit verdict: the CRAM-MD5 client,
//! for one, completes even with a wrong password. What it does learn is whether
//! the server sent its final line, which `sasl-sample server` (and any server
//! that closes on rejection, as gsasl's client expects) sends only after
//! accepting. The authoritative verdict stays on the server side.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpStream;

use cyrus_sasl::{Client, ClientStep, Credentials};

use crate::cli::ClientArgs;
use crate::lines::Lines;
use crate::net;
use crate::outcome::Failure;
use crate::password::read_password;

/// Runs the client subcommand.
pub fn run(args: &ClientArgs) -> Result<(), Failure> {
    let config = crate::load_config(args.common.config.as_deref())?;
    let mechanisms = match &args.mech {
        Some(mech) => mech.clone(),
        None => config
            .mech_list()
            .map(|list| list.join(" "))
            .filter(|list| !list.is_empty())
            .ok_or_else(|| Failure::error("no mechanism: pass --mech, or set mech_list in the --config file"))?,
    };
    let credentials = Credentials {
        authname: args.user.clone(),
        authzid: args.authzid.clone(),
        password: read_password(args.password_file.as_deref())?,
        realm: args.common.realm.clone(),
    };
    let client = Client::new(&args.common.service, &args.common.fqdn, credentials, &config)?;
    match &args.connect {
        None => exchange(client, &mut Lines::new(io::stdin().lock(), io::stdout().lock()), &mechanisms),
        Some(addr) => {
            let stream =
                TcpStream::connect(addr).map_err(|e| Failure::Error(format!("cannot connect to {addr}: {e}")))?;
            let reader = net::prepare(&stream, args.common.timeout)?;
            let result = exchange(client, &mut Lines::new(BufReader::new(reader), &stream), &mechanisms);
            net::close_gracefully(&stream);
            result
        }
    }
}

/// One exchange of the line protocol, client side. Prints `completed: ...` when
/// the server sent its final line.
fn exchange<R: BufRead, W: Write>(
    mut client: Client,
    lines: &mut Lines<R, W>,
    mechanisms: &str,
) -> Result<(), Failure> {
    let start = client.start(mechanisms)?;
    let mechanism = start.mechanism.to_owned();
    // An empty initial response cannot be told from none on the wire.
    let initial = start.initial_response.unwrap_or_default().to_vec();
    lines.write_line(mechanism.as_bytes(), "mechanism line")?;
    lines.write_token(&initial, "initial response")?;
    // Every challenge gets a response line, even an empty one, until the client
    // side has nothing more to compute.
    while !client.is_complete() {
        let challenge = lines.read_token("challenge")?.ok_or_else(closed_early)?;
        let response = match client.step(&challenge)? {
            ClientStep::Continue(response) => response.to_vec(),
            ClientStep::Complete(response) => response.unwrap_or_default().to_vec(),
        };
        lines.write_token(&response, "response")?;
    }
    let last = lines.read_token("final line")?.ok_or_else(closed_early)?;
    if !last.is_empty() {
        // libsasl2 servers send success data as one more challenge, which the loop
        // above handles; data after completion cannot be checked.
        return Err(Failure::error(format!(
            "the server's final line carries {} bytes of success data after the {mechanism} client had completed",
            last.len()
        )));
    }
    eprintln!("completed: mech={mechanism} ssf={}", client.ssf()?);
    Ok(())
}

fn closed_early() -> Failure {
    Failure::Rejected(
        "the server closed the connection before its final line: it rejected the credentials, or failed \
         (its verdict is on the server side)"
            .into(),
    )
}

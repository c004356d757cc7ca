//! Writes the committed seed corpus, `fuzz/corpus/<target>/`, from real inputs:
//! genuine client messages of real libsasl2 exchanges, real config and
//! credentials files, real Mesos messages, and operation lists for the
//! `SecureStream` target.
//!
//! `cargo run --manifest-path fuzz/Cargo.toml --example seed_corpus -- fuzz/corpus`
//!
//! Each file is named `seed-<what>`, so regenerating replaces the seeds and leaves
//! anything else in the directory alone. The SASL messages carry random nonces,
//! so they differ from one run to the next; they are seeds for their shape.

use std::fs;
use std::path::{Path, PathBuf};

use cyrus_sasl_mesos::{
    AuthenticateMessage, AuthenticationCompletedMessage, AuthenticationErrorMessage, AuthenticationFailedMessage,
    AuthenticationMechanismsMessage, AuthenticationStartMessage, AuthenticationStepMessage, Message,
};
use cyrus_sasl::{Client, ClientStep, Config, CredentialStore, Credentials, Secret, Server, ServerStep};

fn main() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "fuzz/corpus".into()));
    server_step(&root.join("server_step"));
    config_parse(&root.join("config_parse"));
    credentials_file(&root.join("credentials_file"));
    mesos_message(&root.join("mesos_message"));
    secure_stream(&root.join("secure_stream"));
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("write seed");
}

/// The target's selector byte followed by a message.
fn with_selector(selector: u8, message: &[u8]) -> Vec<u8> {
    let mut seed = vec![selector];
    seed.extend_from_slice(message);
    seed
}

/// The client messages of a genuine exchange: the initial response (empty when
/// there is none), then each response.
fn client_messages(mechanism: &str, secret: &str) -> Vec<Vec<u8>> {
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("alice-s3cret-9f2c"))]).unwrap();
    let server_config = Config::new()
        .with("mech_list", mechanism)
        .unwrap()
        .with("scram_iteration_counter", "1")
        .unwrap()
        .with_credential_store(&store);
    let client_config = Config::new().with("mech_list", mechanism).unwrap();
    let credentials = Credentials { realm: Some("EXAMPLE.TEST".into()), ..Credentials::new("alice", secret) };
    let mut client = Client::new("fuzz", "localhost", credentials, &client_config).unwrap();
    let mut server = Server::new("fuzz", "localhost", Some("EXAMPLE.TEST"), &server_config).unwrap();
    let start = client.start(mechanism).unwrap();
    let initial = start.initial_response.map(<[u8]>::to_vec);
    let mut messages = vec![initial.clone().unwrap_or_default()];
    let mut step = server.start(mechanism, initial.as_deref()).unwrap();
    while let ServerStep::Continue(challenge) = step {
        let challenge = challenge.to_vec();
        let response = match client.step(&challenge) {
            Ok(ClientStep::Continue(r)) => r.to_vec(),
            Ok(ClientStep::Complete(r)) => r.map(<[u8]>::to_vec).unwrap_or_default(),
            Err(_) => break,
        };
        messages.push(response.clone());
        step = server.step(&response).unwrap();
    }
    messages
}

fn server_step(dir: &Path) {
    for (mech, mechanism) in ["CRAM-MD5", "DIGEST-MD5", "SCRAM-SHA-256"].iter().enumerate() {
        for (wrong, secret) in [(0, "alice-s3cret-9f2c"), (1, "not-alices-s3cret")] {
            for (position, message) in client_messages(mechanism, secret).iter().enumerate() {
                let selector = (mech + 3 * position + 9 * wrong) as u8;
                let name = format!("{mechanism}-message{position}-{}", ["right", "wrong"][wrong]);
                write(dir, &name, &with_selector(selector, message));
            }
        }
    }
}

fn config_parse(dir: &Path) {
    let files: [(&str, &str); 5] = [
        (
            "sasldb",
            "# CRAM-MD5 against a sasldb\nmech_list: CRAM-MD5\npwcheck_method: auxprop\nauxprop_plugin: sasldb\n\
             sasldb_path: /var/lib/myapp/sasldb2\n",
        ),
        ("gssapi", "mech_list: GSSAPI\nkeytab: /etc/krb5.keytab\nmin_ssf: 56\nmax_ssf: 256\nmaxbufsize: 65536\n"),
        ("crlf-and-blanks", "\r\n# comment\r\nmech_list: CRAM-MD5 DIGEST-MD5\r\n\r\n  log_level: 7  \r\n"),
        ("scram", "mech_list: SCRAM-SHA-256,SCRAM-SHA-1\nscram_iteration_counter: 4096\nreauth_timeout: 0\n"),
        ("duplicate", "mech_list: PLAIN\nmech_list: LOGIN\n"),
    ];
    for (name, text) in files {
        write(dir, name, text.as_bytes());
    }
}

fn credentials_file(dir: &Path) {
    let files: [(&str, &str); 5] = [
        (
            "mesos-json",
            "{\n  \"credentials\": [\n    {\n      \"principal\": \"framework-a\",\n      \"secret\": \"s3cret\"\n    },\n    \
             {\n      \"principal\": \"agent\",\n      \"secret\": \"another\"\n    }\n  ]\n}\n",
        ),
        (
            "json-escapes",
            "{\"credentials\":[{\"principal\":\"a\",\"secret\":\"q\\\"b\\\\s\\/n\\n\\t\\u00e9\\ud83d\\ude00\"}]}",
        ),
        ("text", "framework-a s3cret\nagent another\n"),
        ("text-tabs-crlf-bom", "\u{feff}framework-a\ts3cret\r\n\r\n  agent   another  \r\n"),
        ("empty-json", "{\"credentials\": []}\n"),
    ];
    for (name, text) in files {
        write(dir, name, text.as_bytes());
    }
}

fn mesos_message(dir: &Path) {
    let exchange: Vec<Message> = vec![
        AuthenticateMessage { pid: "scheduler-1@127.0.0.1:40123".into() }.into(),
        AuthenticationMechanismsMessage { mechanisms: vec!["CRAM-MD5".into()] }.into(),
        AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![]) }.into(),
        AuthenticationStepMessage { data: b"<1896.697170952@postoffice.example.net>".to_vec() }.into(),
        AuthenticationStepMessage { data: b"framework-a b913a602c7eda7a495b4e6e7334d3890".to_vec() }.into(),
        AuthenticationCompletedMessage {}.into(),
        AuthenticationFailedMessage {}.into(),
        AuthenticationErrorMessage { error: Some("Authentication session timed out".into()) }.into(),
    ];
    // Byte 0 selects the type: tag - 1 (the target takes it modulo 7).
    for (i, message) in exchange.iter().enumerate() {
        let mut seed = vec![message.tag() - 1];
        seed.extend_from_slice(&message.encode());
        write(dir, &format!("{i}-{}", message.message_type().short_name()), &seed);
    }
}

fn secure_stream(dir: &Path) {
    // (Selector: direction + 2 * transport read size + 16 * reader buffer.)
    // Two genuine frames, a WouldBlock between them, one large message split
    // into packets.
    write(dir, "genuine", &[2 * 7 + 16 * 3, 0, 4, 3, 0, 0, 100, 0, 255]);
    // Server to client, 1-byte transport reads, 5-byte reader buffer.
    write(dir, "reverse-trickle", &[1 + 16, 0, 9, 3, 1, 0, 30]);
    // A flipped bit in the second frame; junk after a genuine frame.
    write(dir, "tampered", &[2 * 7, 0, 4, 0, 4, 2, 40, 1]);
    write(dir, "junk", &[2 * 5, 0, 4, 1, 8, 0, 0, 0, 4, 0xde, 0xad, 0xbe, 0xef]);
}

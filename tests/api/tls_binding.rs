//! Channel-binding data from rustls (feature `rustls`): both ends of one TLS
//! session compute the same `tls-exporter` and `tls-server-end-point` bytes,
//! SCRAM-SHA-256-PLUS with them is channel-bound, and a relay's two sessions
//! end in a channel-binding-mismatch rejection.
#![cfg(feature = "rustls")]

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, ServerConnection};

use cyrus_sasl::{
    ChannelBinding, Client, ClientStep, Config, CredentialStore, Credentials, Identity, RejectReason, Rejection,
    Secret, Server, ServerStep,
};
use cyrus_sasl_test_support::tls::Certs;

/// One TLS session in memory: the client and server connections, handshake done.
fn session(certs: &Certs) -> (ClientConnection, ServerConnection) {
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let mut client = ClientConnection::new(certs.client_config("ca"), name).unwrap();
    let mut server = ServerConnection::new(certs.server_config("server")).unwrap();
    while client.is_handshaking() || server.is_handshaking() {
        let mut wire = Vec::new();
        client.write_tls(&mut wire).unwrap();
        server.read_tls(&mut &wire[..]).unwrap();
        server.process_new_packets().unwrap();
        wire.clear();
        server.write_tls(&mut wire).unwrap();
        client.read_tls(&mut &wire[..]).unwrap();
        client.process_new_packets().unwrap();
    }
    (client, server)
}

fn scram_plus(server_cb: &ChannelBinding, client_cb: &ChannelBinding) -> Result<Identity, Rejection> {
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new().with("mech_list", "SCRAM-SHA-256").unwrap().with_credential_store(&store);
    let mut server = Server::new("test", "localhost", Some("EXAMPLE.TEST"), &config).unwrap();
    server.set_channel_binding(server_cb).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
    client.set_channel_binding(client_cb).unwrap();
    let start = client.start(&server.mechanism_list().unwrap()).unwrap();
    let (mechanism, initial) = (start.mechanism.to_owned(), start.initial_response.map(<[u8]>::to_vec));
    assert_eq!(mechanism, "SCRAM-SHA-256-PLUS");
    let mut step = server.start(&mechanism, initial.as_deref()).unwrap();
    loop {
        match step {
            ServerStep::Continue(challenge) => {
                let challenge = challenge.to_vec();
                let response = match client.step(&challenge).unwrap() {
                    ClientStep::Continue(r) => r.to_vec(),
                    ClientStep::Complete(r) => r.unwrap_or_default().to_vec(),
                };
                step = server.step(&response).unwrap();
            }
            ServerStep::Authenticated { identity, .. } => return Ok(identity),
            ServerStep::Rejected(rejection) => return Err(rejection),
        }
    }
}

#[test]
fn both_ends_of_one_session_export_the_same_binding_and_scram_plus_is_bound() {
    let certs = Certs::new();
    let (client_tls, server_tls) = session(&certs);
    let at_client = ChannelBinding::tls_exporter(&client_tls, false).unwrap();
    let at_server = ChannelBinding::tls_exporter(&server_tls, false).unwrap();
    assert_eq!(at_client, at_server);
    assert_eq!((at_client.name(), at_client.data().len()), ("tls-exporter", 32));
    let identity = scram_plus(&at_server, &at_client).unwrap();
    assert!(identity.channel_bound(), "{identity:?}");
}

#[test]
fn a_relay_between_two_sessions_is_a_channel_binding_mismatch() {
    let certs = Certs::new();
    // The relay terminates the client's session and opens its own to the server.
    let (client_side, _) = session(&certs);
    let (_, server_side) = session(&certs);
    let at_client = ChannelBinding::tls_exporter(&client_side, false).unwrap();
    let at_server = ChannelBinding::tls_exporter(&server_side, false).unwrap();
    assert_ne!(at_client, at_server);
    let rejection = scram_plus(&at_server, &at_client).unwrap_err();
    assert_eq!(rejection.reason(), RejectReason::ChannelBindingMismatch);
}

#[test]
fn server_end_point_is_the_same_from_the_servers_certificate_and_the_clients_view() {
    let certs = Certs::new();
    let (client_tls, _server_tls) = session(&certs);
    let seen = &client_tls.peer_certificates().unwrap()[0];
    let at_client = ChannelBinding::tls_server_end_point(seen, false).unwrap();
    let at_server = ChannelBinding::tls_server_end_point(&certs.cert("server"), false).unwrap();
    assert_eq!(at_client, at_server);
    assert_eq!(at_client.name(), "tls-server-end-point");
    assert!(matches!(at_client.data().len(), 32 | 48 | 64), "a SHA-2 hash: {at_client:?}");
    // Another certificate (the relay's own) gives other bytes.
    let relay = ChannelBinding::tls_server_end_point(&certs.cert("relay"), false).unwrap();
    assert_ne!(relay, at_server);
    assert!(scram_plus(&at_server, &at_client).unwrap().channel_bound());
}

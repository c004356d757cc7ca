//! The security layer with DIGEST-MD5 against a real sasldb (no Kerberos
//! needed): confidentiality (rc4, SSF 128), integrity only (`auth-int`, SSF 1),
//! none (SSF 0), and the `min_ssf` requirement.
//!
//! The same checks run with GSSAPI against a real KDC in `secure_stream.rs`.

use cyrus_sasl_test_support as common;

use common::secure_stream as support;
use common::{REALM, sasldb};
use cyrus_sasl::{Client, Code, Config, Credentials, Error, Sasldb, SecurityLayer, Server};

// Counts allocations for the "refused before allocating" checks. A global
// allocator needs `unsafe impl`; there is no other way to observe what a
// refused frame would have allocated.
#[global_allocator]
static ALLOCATOR: support::WatchingAllocator = support::WatchingAllocator;

const SERVICE: &str = "test";
const HOST: &str = "localhost";
/// The server name of the integrity-only (SSF 1) pairs. libsasl2's DIGEST-MD5
/// client caches each server's last session per process and tries a fast
/// reauthentication with it; after a session with a cipher, a failed attempt
/// leaves the cipher in place for a later integrity-only session (see
/// `libsasl2_digest_md5_client_keeps_a_stale_cipher_after_a_failed_reauth`).
/// A name of their own keeps the integrity-only pairs out of that.
const INTEGRITY_HOST: &str = "integrity.localhost";

fn server_config(db: &common::TestDb, max_ssf: u32, maxbufsize: u32) -> Config {
    Sasldb::new(&db.path, REALM)
        .unwrap()
        .config()
        .with("mech_list", "DIGEST-MD5")
        .unwrap()
        .with("max_ssf", &max_ssf.to_string())
        .unwrap()
        .with("maxbufsize", &maxbufsize.to_string())
        .unwrap()
}

fn client(max_ssf: u32) -> Client {
    client_of(host(max_ssf), max_ssf)
}

fn client_of(host: &str, max_ssf: u32) -> Client {
    let config = Config::new().with("mech_list", "DIGEST-MD5").unwrap().with("max_ssf", &max_ssf.to_string()).unwrap();
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new("alice", "secret") };
    Client::new(SERVICE, host, credentials, &config).unwrap()
}

/// The server name for pairs negotiating up to `max_ssf`.
fn host(max_ssf: u32) -> &'static str {
    if max_ssf == 1 { INTEGRITY_HOST } else { HOST }
}

/// An authenticated DIGEST-MD5 pair, `(client, server)` layers.
fn pair_with(max_ssf: u32, server_maxbufsize: u32) -> (SecurityLayer, SecurityLayer) {
    let db = sasldb(&[("alice", "secret")]);
    let server =
        Server::new(SERVICE, host(max_ssf), Some(REALM), &server_config(&db, max_ssf, server_maxbufsize)).unwrap();
    support::layers(client(max_ssf), server)
}

fn pair() -> (SecurityLayer, SecurityLayer) {
    pair_with(256, 65536)
}

#[test]
fn digest_md5_negotiates_rc4_ssf_128_and_integrity_only_ssf_1() {
    let (client, server) = pair();
    assert_eq!((client.ssf(), server.ssf()), (128, 128));
    assert_eq!((client.mechanism(), server.max_frame_len()), ("DIGEST-MD5", 65536));
    // Each side's max_outbuf follows the other's maxbufsize, less the overhead.
    assert!(client.max_outbuf() < 65536 && server.max_outbuf() < 65536, "{client:?} {server:?}");
    let (client, server) = pair_with(1, 65536);
    assert_eq!((client.ssf(), server.ssf()), (1, 1));
}

#[test]
fn digest_md5_ssf_128_round_trips_1mib_over_tcp_without_plaintext_on_the_wire() {
    let (client, server) = pair();
    let data = support::marked_data(1 << 20);
    let wire = support::tcp_round_trip(client, server, &data);
    assert!(wire.client_to_server.len() > data.len(), "everything crossed the relay");
    assert!(wire.server_to_client.len() > data.len(), "everything crossed the relay");
    assert!(!support::contains(&wire.client_to_server, support::MARKER), "plaintext visible client to server");
    assert!(!support::contains(&wire.server_to_client, support::MARKER), "plaintext visible server to client");
    assert!(support::frame_lengths(&wire.client_to_server).iter().all(|&l| l <= 65536));
    assert!(support::frame_lengths(&wire.server_to_client).iter().all(|&l| l <= 65536));
}

#[test]
fn digest_md5_auth_int_ssf_1_leaves_the_plaintext_visible_on_the_wire() {
    let (client, server) = pair_with(1, 65536);
    let data = support::marked_data(1 << 20);
    let wire = support::tcp_round_trip(client, server, &data);
    assert!(support::contains(&wire.client_to_server, support::MARKER), "integrity only: plaintext is visible");
    assert!(support::contains(&wire.server_to_client, support::MARKER), "integrity only: plaintext is visible");
}

#[test]
fn digest_md5_stream_frames_are_the_libsasl2_packets_unchanged() {
    support::stream_frames_are_the_libsasl2_packets_unchanged(pair());
}

#[test]
fn digest_md5_encode_splits_large_input_into_frames_within_the_peer_limit() {
    support::encode_splits_large_input_into_frames_within_the_peer_limit(pair_with(256, 4096), 4096);
}

#[test]
fn digest_md5_decode_accepts_the_stream_one_byte_at_a_time() {
    support::decode_accepts_the_stream_one_byte_at_a_time(pair());
}

#[test]
fn digest_md5_oversized_frames_are_refused_before_reading_or_allocating_the_body() {
    support::oversized_frames_are_refused_before_reading_or_allocating_the_body(pair);
}

#[test]
fn digest_md5_frame_of_exactly_max_frame_len_is_read_then_garbage_fails_to_decode() {
    support::frame_of_exactly_max_frame_len_is_read_then_garbage_fails_to_decode(pair());
}

#[test]
fn digest_md5_zero_length_frame_is_an_error() {
    support::zero_length_frame_is_an_error(pair());
}

#[test]
fn digest_md5_truncated_frames_are_unexpected_eof() {
    support::truncated_frames_are_unexpected_eof(pair);
}

#[test]
fn digest_md5_garbage_and_tampered_frames_are_decode_errors() {
    support::garbage_and_tampered_frames_are_decode_errors(pair);
}

#[test]
fn digest_md5_direct_decode_of_a_bad_header_reports_its_own_detail_then_stays_failed() {
    support::direct_decode_of_a_bad_header_reports_its_own_detail_then_stays_failed(pair);
}

#[test]
fn digest_md5_partial_writes_and_would_block_lose_nothing() {
    support::partial_writes_and_would_block_lose_nothing(pair());
}

#[test]
fn digest_md5_transport_errors_after_encoding_surface_on_flush_and_lose_nothing() {
    support::transport_errors_after_encoding_surface_on_flush_and_lose_nothing(pair());
}

#[test]
fn digest_md5_debug_output_shows_no_buffered_data() {
    support::debug_output_shows_no_buffered_data(pair());
}

#[test]
fn ssf_0_cannot_become_a_security_layer_on_either_side() {
    let db = sasldb(&[("alice", "secret")]);
    let server = Server::new(SERVICE, HOST, Some(REALM), &server_config(&db, 0, 65536)).unwrap();
    let (mut client, mut server) = (client(0), server);
    assert!(matches!(common::handshake(&mut client, &mut server).unwrap(), common::Outcome::Authenticated(_)));
    for result in [server.into_security_layer(), client.into_security_layer()] {
        match result {
            Err(e @ Error::NoSecurityLayer { .. }) => {
                assert!(matches!(&e, Error::NoSecurityLayer { mechanism } if mechanism == "DIGEST-MD5"));
                assert!(e.to_string().contains("SSF 0"), "{e}");
            }
            other => panic!("expected NoSecurityLayer, got {other:?}"),
        }
    }
}

#[test]
fn cram_md5_has_no_security_layer_to_hand_over() {
    let db = sasldb(&[("alice", "secret")]);
    let config = Sasldb::new(&db.path, REALM).unwrap().config().with("mech_list", "CRAM-MD5").unwrap();
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &config).unwrap();
    let mut client = Client::new(SERVICE, HOST, Credentials::new("alice", "secret"), &Config::new()).unwrap();
    assert!(matches!(common::handshake(&mut client, &mut server).unwrap(), common::Outcome::Authenticated(_)));
    assert!(
        matches!(server.into_security_layer(), Err(Error::NoSecurityLayer { mechanism }) if mechanism == "CRAM-MD5")
    );
}

#[test]
fn into_security_layer_before_authentication_is_a_state_error() {
    let db = sasldb(&[("alice", "secret")]);
    let server = Server::new(SERVICE, HOST, Some(REALM), &server_config(&db, 256, 65536)).unwrap();
    assert!(matches!(server.into_security_layer(), Err(Error::State { call: "Server::into_security_layer", .. })));
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &server_config(&db, 256, 65536)).unwrap();
    assert!(matches!(server.start("DIGEST-MD5", None), Ok(cyrus_sasl::ServerStep::Continue(_))));
    assert!(matches!(server.into_security_layer(), Err(Error::State { .. })), "mid-exchange");
    let client = client(256);
    assert!(matches!(client.into_security_layer(), Err(Error::State { call: "Client::into_security_layer", .. })));
}

#[test]
fn rejected_peer_cannot_get_a_security_layer() {
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &server_config(&db, 256, 65536)).unwrap();
    let config = Config::new().with("mech_list", "DIGEST-MD5").unwrap().with("max_ssf", "256").unwrap();
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new("alice", "wrong") };
    let mut client = Client::new(SERVICE, HOST, credentials, &config).unwrap();
    assert_eq!(common::handshake(&mut client, &mut server).unwrap(), common::Outcome::Rejected);
    assert!(matches!(server.into_security_layer(), Err(Error::State { .. })));
}

#[test]
fn server_min_ssf_56_with_only_cram_md5_is_security_too_weak() {
    let db = sasldb(&[("alice", "secret")]);
    let config = Sasldb::new(&db.path, REALM)
        .unwrap()
        .config()
        .with("mech_list", "CRAM-MD5")
        .unwrap()
        .with("min_ssf", "56")
        .unwrap()
        .with("max_ssf", "256")
        .unwrap();
    let mut server = Server::new(SERVICE, HOST, Some(REALM), &config).unwrap();
    assert_eq!(server.mechanisms().unwrap(), Vec::<String>::new(), "nothing worthy is offered");
    let e = server.start("CRAM-MD5", None).expect_err("CRAM-MD5 has no security layer");
    match &e {
        Error::SecurityTooWeak { min_ssf: 56, mechanisms, code, .. } => {
            assert_eq!((mechanisms.as_slice(), *code), (&["CRAM-MD5".to_owned()][..], Code::TOOWEAK));
        }
        other => panic!("expected SecurityTooWeak, got {other:?}"),
    }
    let text = e.to_string();
    assert!(text.contains("security requirement not met") && text.contains("min_ssf 56"), "{text}");
    assert_eq!(e.code(), Some(Code::TOOWEAK));
}

#[test]
fn client_min_ssf_56_against_a_cram_md5_server_is_security_too_weak() {
    let config = Config::new().with("min_ssf", "56").unwrap().with("max_ssf", "256").unwrap();
    let mut client = Client::new(SERVICE, HOST, Credentials::new("alice", "secret"), &config).unwrap();
    match client.start("CRAM-MD5") {
        Err(Error::SecurityTooWeak { min_ssf: 56, mechanisms, code: Code::NOMECH, .. }) => {
            assert_eq!(mechanisms, ["CRAM-MD5"]);
        }
        other => panic!("expected SecurityTooWeak, got {other:?}"),
    }
    // Without min_ssf the same offer is fine: the SSF was the cause.
    let config = Config::new().with("max_ssf", "256").unwrap();
    let mut client = Client::new(SERVICE, HOST, Credentials::new("alice", "secret"), &config).unwrap();
    assert_eq!(client.start("CRAM-MD5").unwrap().mechanism, "CRAM-MD5");
}

#[test]
fn client_nomech_for_other_reasons_is_not_blamed_on_min_ssf() {
    let config = Config::new().with("mech_list", "PLAIN").unwrap().with("min_ssf", "56").unwrap();
    let mut client = Client::new(SERVICE, HOST, Credentials::new("alice", "secret"), &config).unwrap();
    match client.start("CRAM-MD5") {
        Err(Error::NoMechanism { .. }) => {}
        other => panic!("mech_list excluded CRAM-MD5, expected NoMechanism, got {other:?}"),
    }
}

#[test]
fn client_min_ssf_56_against_an_integrity_only_server_is_security_too_weak() {
    let db = sasldb(&[("alice", "secret")]);
    let mut server = Server::new(SERVICE, INTEGRITY_HOST, Some(REALM), &server_config(&db, 1, 65536)).unwrap();
    let config = Config::new().with("mech_list", "DIGEST-MD5").unwrap().with("min_ssf", "56").unwrap();
    let config = config.with("max_ssf", "256").unwrap();
    let credentials = Credentials { realm: Some(REALM.into()), ..Credentials::new("alice", "secret") };
    let mut client = Client::new(SERVICE, INTEGRITY_HOST, credentials, &config).unwrap();
    match common::handshake(&mut client, &mut server) {
        Err(Error::SecurityTooWeak { min_ssf: 56, mechanisms, code: Code::TOOWEAK, .. }) => {
            assert_eq!(mechanisms, ["DIGEST-MD5"]);
        }
        other => panic!("expected SecurityTooWeak, got {other:?}"),
    }
}

/// A libsasl2 2.1.28 bug, pinned so that a fixed libsasl2 shows up here: the
/// DIGEST-MD5 client caches its last session with each server (per process)
/// and starts the next one with a fast reauthentication from that cache. When
/// the server declines it (libsasl2 servers do by default, `reauth_timeout`
/// 0) and the new session settles on integrity only (`auth-int`, SSF 1) while
/// the cached one had a cipher, the client keeps encrypting with the cached
/// cipher's functions while announcing `auth-int`. Its first packet then fails
/// the server's check with "CMAC doesn't match at byte 0!".
#[test]
fn libsasl2_digest_md5_client_keeps_a_stale_cipher_after_a_failed_reauth() {
    const BUG_HOST: &str = "reauth-bug.localhost";
    let db = sasldb(&[("alice", "secret")]);
    let session = |max_ssf: u32| {
        let server = Server::new(SERVICE, BUG_HOST, Some(REALM), &server_config(&db, max_ssf, 65536)).unwrap();
        support::layers(client_of(BUG_HOST, max_ssf), server)
    };
    let (mut client, mut server) = session(256);
    assert_eq!(client.ssf(), 128);
    let packet = client.encode(b"first session").unwrap().to_vec();
    assert_eq!(server.decode(&packet).unwrap(), b"first session");

    let (mut client, mut server) = session(1);
    assert_eq!((client.ssf(), server.ssf()), (1, 1), "both sides agree on auth-int");
    let packet = client.encode(b"second session, integrity only").unwrap().to_vec();
    assert!(!support::contains(&packet, b"integrity only"), "auth-int would carry the plaintext; it was encrypted");
    match server.decode(&packet) {
        Err(Error::Sasl { call: "sasl_decode", detail, .. }) => assert!(detail.contains("CMAC"), "{detail}"),
        other => panic!("libsasl2's stale-cipher bug seems fixed (decode gave {other:?}): update the docs"),
    }
}

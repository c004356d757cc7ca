//! The SASL security layer with GSSAPI against a real MIT KDC on 127.0.0.1
//! (started by `ci/kdc` for this run): `SecureStream` and `AsyncSecureStream`
//! over loopback TCP at SSF 256 (AES-256) and SSF 1 (integrity only), framing,
//! hostile input, SSF 0 and `min_ssf`.

use cyrus_sasl_test_support as common;

use std::process::ExitCode;

use common::kdc::{self, HOST, SERVICE};
use common::secure_stream as support;
use cyrus_sasl::{Client, Code, Config, Credentials, Error, SecurityLayer, Server};
use libtest_mimic::{Failed, Trial};

// Counts allocations for the "refused before allocating" checks. A global
// allocator needs `unsafe impl`; there is no other way to observe what a
// refused frame would have allocated.
#[global_allocator]
static ALLOCATOR: support::WatchingAllocator = support::WatchingAllocator;

fn config(min_ssf: u32, max_ssf: u32, maxbufsize: u32) -> Config {
    let config = Config::new().with("mech_list", "GSSAPI").unwrap();
    let config = config.with("min_ssf", &min_ssf.to_string()).unwrap();
    config.with("max_ssf", &max_ssf.to_string()).unwrap().with("maxbufsize", &maxbufsize.to_string()).unwrap()
}

/// An authenticated GSSAPI pair (alice's ticket against the mesos keytab):
/// `(client, server)` layers.
fn pair_with(max_ssf: u32, server_maxbufsize: u32) -> (SecurityLayer, SecurityLayer) {
    let server = Server::new(SERVICE, HOST, None, &config(0, max_ssf, server_maxbufsize)).unwrap();
    let client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config(0, max_ssf, 65536)).unwrap();
    support::layers(client, server)
}

fn pair() -> (SecurityLayer, SecurityLayer) {
    pair_with(256, 65536)
}

fn gssapi_negotiates_ssf_256_with_the_measured_limits() -> Result<(), Failed> {
    let (client, server) = pair();
    assert_eq!((client.ssf(), server.ssf()), (256, 256));
    assert_eq!((client.mechanism(), server.mechanism()), ("GSSAPI", "GSSAPI"));
    // maxbufsize 65536 on both sides: 60 bytes of AES-256 wrap overhead.
    assert_eq!((client.max_outbuf(), server.max_outbuf()), (65476, 65476));
    assert_eq!(server.max_frame_len(), 65536);
    let (client, server) = pair_with(56, 65536);
    assert_eq!((client.ssf(), server.ssf()), (1, 1), "max_ssf 56 gives integrity only");
    Ok(())
}

fn gssapi_ssf_256_round_trips_1mib_both_ways_over_tcp_without_plaintext_on_the_wire() -> Result<(), Failed> {
    let (client, server) = pair();
    let data = support::marked_data(1 << 20);
    let wire = support::tcp_round_trip(client, server, &data);
    assert!(wire.client_to_server.len() > data.len(), "everything crossed the relay");
    assert!(wire.server_to_client.len() > data.len(), "everything crossed the relay");
    assert!(!support::contains(&wire.client_to_server, support::MARKER), "plaintext visible client to server");
    assert!(!support::contains(&wire.server_to_client, support::MARKER), "plaintext visible server to client");
    for direction in [&wire.client_to_server, &wire.server_to_client] {
        let lengths = support::frame_lengths(direction);
        assert!(lengths.iter().all(|&l| l <= 65536), "a frame over the peer's maxbufsize");
        assert!(lengths.len() >= 17, "1 MiB in at most 65476-byte frames: {}", lengths.len());
    }
    Ok(())
}

fn gssapi_ssf_1_integrity_only_leaves_the_plaintext_visible_on_the_wire() -> Result<(), Failed> {
    let (client, server) = pair_with(56, 65536);
    assert_eq!(client.ssf(), 1);
    let data = support::marked_data(1 << 20);
    let wire = support::tcp_round_trip(client, server, &data);
    assert!(support::contains(&wire.client_to_server, support::MARKER), "SSF 1: plaintext is visible");
    assert!(support::contains(&wire.server_to_client, support::MARKER), "SSF 1: plaintext is visible");
    Ok(())
}

fn gssapi_max_ssf_0_cannot_become_a_security_layer() -> Result<(), Failed> {
    let mut server = Server::new(SERVICE, HOST, None, &config(0, 0, 65536))?;
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config(0, 0, 65536))?;
    match common::handshake(&mut client, &mut server)? {
        common::Outcome::Authenticated(id) => assert_eq!(id.ssf, 0),
        other => return Err(format!("{other:?}").into()),
    }
    for result in [server.into_security_layer(), client.into_security_layer()] {
        match result {
            Err(Error::NoSecurityLayer { mechanism }) => assert_eq!(mechanism, "GSSAPI"),
            other => return Err(format!("expected NoSecurityLayer, got {other:?}").into()),
        }
    }
    Ok(())
}

fn gssapi_min_ssf_257_is_security_too_weak_on_both_sides() -> Result<(), Failed> {
    let strict = config(257, 300, 65536);
    let mut server = Server::new(SERVICE, HOST, None, &strict)?;
    assert!(server.mechanisms()?.is_empty(), "GSSAPI tops out at 256");
    match server.start("GSSAPI", None) {
        Err(Error::SecurityTooWeak { min_ssf: 257, mechanisms, code: Code::TOOWEAK, .. }) => {
            assert_eq!(mechanisms, ["GSSAPI"])
        }
        other => return Err(format!("server: expected SecurityTooWeak, got {other:?}").into()),
    }
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &strict)?;
    match client.start("GSSAPI") {
        Err(e @ Error::SecurityTooWeak { min_ssf: 257, code: Code::NOMECH, .. }) => {
            assert!(e.to_string().contains("min_ssf 257"), "{e}");
        }
        other => return Err(format!("client: expected SecurityTooWeak, got {other:?}").into()),
    }
    Ok(())
}

fn gssapi_server_min_ssf_56_against_an_integrity_only_client_is_security_too_weak() -> Result<(), Failed> {
    let mut server = Server::new(SERVICE, HOST, None, &config(56, 256, 65536))?;
    let mut client = Client::new(SERVICE, HOST, Credentials::kerberos(), &config(0, 1, 65536))?;
    match common::handshake(&mut client, &mut server) {
        // The client refuses the server's offer of confidentiality only.
        Err(e @ Error::SecurityTooWeak { min_ssf: 0, max_ssf: 1, code: Code::TOOWEAK, .. }) => {
            assert!(matches!(&e, Error::SecurityTooWeak { mechanisms, .. } if mechanisms == &["GSSAPI"]));
            assert!(e.to_string().contains("raise max_ssf"), "{e}");
        }
        other => return Err(format!("expected SecurityTooWeak, got {other:?}").into()),
    }
    Ok(())
}

/// pure-sasl (Python, over python3-kerberos) as the client: an independent
/// SASL implementation that leaves framing to the application, framed by the
/// script exactly as RFC 4422 says. Our `SecureStream` reads its frames,
/// including a wrapped empty message, and it reads ours.
fn pure_sasl_peer_and_secure_stream_agree_on_the_wire(qop: &str, expected_ssf: u32) -> Result<(), Failed> {
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::process::{Command, Stdio};

    const SCRIPT: &str = include_str!("secure_stream_support/pure_sasl_peer.py");
    // What the script sends: "hello from pure-sasl", "", "0123456789" x 6000, "!".
    let expected = [&b"hello from pure-sasl"[..], b"", &b"0123456789".repeat(6000), b"!"].concat();

    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    // Debian's interpreter: the `python3` on PATH may lack Debian's modules.
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", SCRIPT, &port.to_string(), qop])
        .envs(kdc::kdc().env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("run /usr/bin/python3 (python3-pure-sasl, python3-kerberos): {e}"))?;
    let served = (|| -> Result<(), Failed> {
        listener.set_nonblocking(true)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut tcp = loop {
            match listener.accept() {
                Ok((tcp, _)) => break tcp,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if child.try_wait()?.is_some() || std::time::Instant::now() > deadline {
                        return Err("the pure-sasl client never connected".into());
                    }
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                Err(e) => return Err(e.into()),
            }
        };
        tcp.set_nonblocking(false)?;
        tcp.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
        let read_token = |tcp: &mut std::net::TcpStream| -> std::io::Result<Vec<u8>> {
            let mut len = [0; 4];
            tcp.read_exact(&mut len)?;
            let mut token = vec![0; u32::from_be_bytes(len) as usize];
            tcp.read_exact(&mut token)?;
            Ok(token)
        };
        let mut server = Server::new(SERVICE, HOST, None, &config(0, 256, 65536))?;
        let first = read_token(&mut tcp)?;
        let mut step = server.start("GSSAPI", Some(&first))?;
        loop {
            match step {
                cyrus_sasl::ServerStep::Continue(challenge) => {
                    tcp.write_all(&(challenge.len() as u32).to_be_bytes())?;
                    tcp.write_all(challenge)?;
                    let response = read_token(&mut tcp)?;
                    step = server.step(&response)?;
                }
                cyrus_sasl::ServerStep::Authenticated { identity, .. } => {
                    assert_eq!((identity.user(), identity.ssf), ("alice", expected_ssf));
                    break;
                }
                cyrus_sasl::ServerStep::Rejected(_) => return Err("pure-sasl was rejected".into()),
            }
        }
        let mut stream = cyrus_sasl::SecureStream::new(tcp, server.into_security_layer()?);
        let mut received = vec![0; expected.len()];
        stream.read_exact(&mut received)?;
        assert!(received == expected, "we decoded something else than pure-sasl wrapped");
        stream.write_all(&received)?;
        stream.flush()?;
        Ok(())
    })();
    if served.is_err() {
        let _ = child.kill();
    }
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    served.map_err(|e| format!("{}; pure-sasl said: {stderr}", e.message().unwrap_or("?")))?;
    assert!(out.status.success(), "pure-sasl failed ({}): {stderr}", out.status);
    assert_eq!(stdout.trim(), format!("echo-ok {}", expected.len()), "{stderr}");
    Ok(())
}

#[cfg(feature = "tokio")]
mod tokio_twin {
    use super::*;
    use cyrus_sasl::AsyncSecureStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime")
    }

    /// The round trip of `support::tcp_round_trip`, with both ends on tokio.
    fn round_trip(client: SecurityLayer, server: SecurityLayer, data: &[u8]) -> support::Capture {
        let data = data.to_vec();
        runtime().block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
            let (relay_addr, relay) = support::recording_relay(listener.local_addr().unwrap());
            let expected = data.clone();
            let server_side = tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.expect("accept");
                let mut stream = AsyncSecureStream::new(tcp, server);
                let mut received = vec![0; expected.len()];
                stream.read_exact(&mut received).await.expect("server read");
                assert!(received == expected, "the server received different bytes");
                stream.write_all(&received).await.expect("server write");
                stream.shutdown().await.expect("server shutdown");
            });
            let tcp = tokio::net::TcpStream::connect(relay_addr).await.expect("connect");
            let mut stream = AsyncSecureStream::new(tcp, client);
            stream.write_all(&data).await.expect("client write");
            stream.flush().await.expect("client flush");
            let mut echoed = vec![0; data.len()];
            stream.read_exact(&mut echoed).await.expect("client read");
            assert!(echoed == data, "the client received different bytes");
            server_side.await.expect("server task");
            assert_eq!(stream.read(&mut [0; 16]).await.expect("a clean end"), 0);
            stream.shutdown().await.ok();
            drop(stream);
            tokio::task::spawn_blocking(move || relay.join().expect("relay")).await.unwrap()
        })
    }

    pub fn tokio_gssapi_ssf_256_round_trips_1mib_both_ways_without_plaintext_on_the_wire() -> Result<(), Failed> {
        let (client, server) = pair();
        let data = support::marked_data(1 << 20);
        let wire = round_trip(client, server, &data);
        assert!(wire.client_to_server.len() > data.len() && wire.server_to_client.len() > data.len());
        assert!(!support::contains(&wire.client_to_server, support::MARKER), "plaintext visible");
        assert!(!support::contains(&wire.server_to_client, support::MARKER), "plaintext visible");
        for direction in [&wire.client_to_server, &wire.server_to_client] {
            assert!(support::frame_lengths(direction).iter().all(|&l| l <= 65536));
        }
        Ok(())
    }

    pub fn tokio_gssapi_ssf_1_leaves_the_plaintext_visible_on_the_wire() -> Result<(), Failed> {
        let (client, server) = pair_with(56, 65536);
        let data = support::marked_data(256 * 1024);
        let wire = round_trip(client, server, &data);
        assert!(support::contains(&wire.client_to_server, support::MARKER), "SSF 1: plaintext is visible");
        Ok(())
    }

    /// The blocking and the async stream write the same wire format: each
    /// reads what the other wrote.
    pub fn tokio_and_blocking_streams_read_each_other() -> Result<(), Failed> {
        use std::io::{Read, Write};
        let (client, server) = pair();
        let data = support::marked_data(200_000);
        let mut blocking = cyrus_sasl::SecureStream::new(support::Playback::new(Vec::new()), client);
        blocking.write_all(&data)?;
        let wire = blocking.get_ref().written.clone();
        let back = runtime().block_on(async {
            let mut stream = AsyncSecureStream::new(&wire[..], server);
            let mut back = Vec::new();
            stream.read_to_end(&mut back).await.map(|_| back)
        })?;
        assert!(back == data, "async read what blocking wrote");

        let (client, server) = pair();
        let wire = runtime().block_on(async {
            let mut stream = AsyncSecureStream::new(Vec::new(), client);
            stream.write_all(&data).await?;
            stream.flush().await?;
            Ok::<_, std::io::Error>(stream.get_ref().clone())
        })?;
        let mut back = Vec::new();
        cyrus_sasl::SecureStream::new(support::Playback::new(wire), server).read_to_end(&mut back)?;
        assert!(back == data, "blocking read what async wrote");
        Ok(())
    }

    /// Over a 64-byte in-memory pipe, almost every frame is taken in part and
    /// `poll_write` meets `Pending`: the rest goes out later, nothing is lost.
    pub fn tokio_pending_writes_over_a_tiny_pipe_lose_nothing() -> Result<(), Failed> {
        let (client, server) = pair();
        let data = support::marked_data(300_000);
        let back = runtime().block_on(async {
            let (a, b) = tokio::io::duplex(64);
            let mut writer = AsyncSecureStream::new(a, client);
            let mut reader = AsyncSecureStream::new(b, server);
            let write = async {
                writer.write_all(&data).await?;
                writer.flush().await?;
                writer.shutdown().await
            };
            let mut back = Vec::new();
            let (written, read) = tokio::join!(write, reader.read_to_end(&mut back));
            written.and(read).map(|_| back)
        })?;
        assert!(back == data, "what arrived differs from what was written");
        Ok(())
    }

    pub fn tokio_hostile_frames_are_typed_errors() -> Result<(), Failed> {
        let rt = runtime();
        // Oversized: refused after the header.
        let (_, server) = pair();
        let wire = [0xff, 0xff, 0xff, 0xff, 1, 2, 3];
        let e = rt
            .block_on(async { AsyncSecureStream::new(&wire[..], server).read(&mut [0; 64]).await })
            .expect_err("oversized");
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(matches!(support::inner(&e), Error::FrameTooLong { len: u32::MAX, max: 65536 }), "{e:?}");
        // Zero length.
        let (_, server) = pair();
        let e = rt.block_on(async { AsyncSecureStream::new(&[0u8, 0, 0, 0][..], server).read(&mut [0; 8]).await });
        assert!(matches!(support::inner(&e.expect_err("empty frame")), Error::EmptyFrame));
        // Truncated.
        let (mut client, server) = pair();
        let frame = client.encode(b"cut short")?.to_vec();
        let cut = &frame[..frame.len() - 3];
        let e = rt.block_on(async { AsyncSecureStream::new(cut, server).read(&mut [0; 64]).await });
        let e = e.expect_err("truncated");
        assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof);
        assert!(matches!(support::inner(&e), Error::TruncatedFrame { .. }), "{e:?}");
        // Garbage.
        let (_, server) = pair();
        let mut garbage = 64u32.to_be_bytes().to_vec();
        garbage.extend([0x33; 64]);
        let e = rt.block_on(async { AsyncSecureStream::new(&garbage[..], server).read(&mut [0; 64]).await });
        assert!(matches!(support::inner(&e.expect_err("garbage")), Error::Sasl { call: "sasl_decode", .. }));
        Ok(())
    }
}

fn trials() -> Vec<Trial> {
    #[cfg_attr(not(feature = "tokio"), allow(unused_mut))]
    let mut trials = vec![
        Trial::test(
            "gssapi_negotiates_ssf_256_with_the_measured_limits",
            gssapi_negotiates_ssf_256_with_the_measured_limits,
        ),
        Trial::test(
            "gssapi_ssf_256_round_trips_1mib_both_ways_over_tcp_without_plaintext_on_the_wire",
            gssapi_ssf_256_round_trips_1mib_both_ways_over_tcp_without_plaintext_on_the_wire,
        ),
        Trial::test(
            "gssapi_ssf_1_integrity_only_leaves_the_plaintext_visible_on_the_wire",
            gssapi_ssf_1_integrity_only_leaves_the_plaintext_visible_on_the_wire,
        ),
        Trial::test("gssapi_stream_frames_are_the_libsasl2_packets_unchanged", || {
            support::stream_frames_are_the_libsasl2_packets_unchanged(pair());
            Ok(())
        }),
        Trial::test("gssapi_encode_splits_large_input_into_frames_within_the_peer_limit", || {
            support::encode_splits_large_input_into_frames_within_the_peer_limit(pair_with(256, 4096), 4096);
            Ok(())
        }),
        Trial::test("gssapi_decode_accepts_the_stream_one_byte_at_a_time", || {
            support::decode_accepts_the_stream_one_byte_at_a_time(pair());
            Ok(())
        }),
        Trial::test("gssapi_oversized_frames_are_refused_before_reading_or_allocating_the_body", || {
            support::oversized_frames_are_refused_before_reading_or_allocating_the_body(pair);
            Ok(())
        }),
        Trial::test("gssapi_frame_of_exactly_max_frame_len_is_read_then_garbage_fails_to_decode", || {
            support::frame_of_exactly_max_frame_len_is_read_then_garbage_fails_to_decode(pair());
            Ok(())
        }),
        Trial::test("gssapi_zero_length_frame_is_an_error", || {
            support::zero_length_frame_is_an_error(pair());
            Ok(())
        }),
        Trial::test("gssapi_truncated_frames_are_unexpected_eof", || {
            support::truncated_frames_are_unexpected_eof(pair);
            Ok(())
        }),
        Trial::test("gssapi_garbage_and_tampered_frames_are_decode_errors", || {
            support::garbage_and_tampered_frames_are_decode_errors(pair);
            Ok(())
        }),
        Trial::test("gssapi_direct_decode_of_a_bad_header_reports_its_own_detail_then_stays_failed", || {
            support::direct_decode_of_a_bad_header_reports_its_own_detail_then_stays_failed(pair);
            Ok(())
        }),
        Trial::test("gssapi_partial_writes_and_would_block_lose_nothing", || {
            support::partial_writes_and_would_block_lose_nothing(pair());
            Ok(())
        }),
        Trial::test("gssapi_transport_errors_after_encoding_surface_on_flush_and_lose_nothing", || {
            support::transport_errors_after_encoding_surface_on_flush_and_lose_nothing(pair());
            Ok(())
        }),
        Trial::test("gssapi_max_ssf_0_cannot_become_a_security_layer", gssapi_max_ssf_0_cannot_become_a_security_layer),
        Trial::test(
            "gssapi_min_ssf_257_is_security_too_weak_on_both_sides",
            gssapi_min_ssf_257_is_security_too_weak_on_both_sides,
        ),
        Trial::test(
            "gssapi_server_min_ssf_56_against_an_integrity_only_client_is_security_too_weak",
            gssapi_server_min_ssf_56_against_an_integrity_only_client_is_security_too_weak,
        ),
        Trial::test("pure_sasl_gssapi_auth_conf_peer_and_secure_stream_agree_on_the_wire", || {
            pure_sasl_peer_and_secure_stream_agree_on_the_wire("auth-conf", 256)
        }),
        Trial::test("pure_sasl_gssapi_auth_int_peer_and_secure_stream_agree_on_the_wire", || {
            pure_sasl_peer_and_secure_stream_agree_on_the_wire("auth-int", 1)
        }),
    ];
    #[cfg(feature = "tokio")]
    trials.extend([
        Trial::test(
            "tokio_gssapi_ssf_256_round_trips_1mib_both_ways_without_plaintext_on_the_wire",
            tokio_twin::tokio_gssapi_ssf_256_round_trips_1mib_both_ways_without_plaintext_on_the_wire,
        ),
        Trial::test(
            "tokio_gssapi_ssf_1_leaves_the_plaintext_visible_on_the_wire",
            tokio_twin::tokio_gssapi_ssf_1_leaves_the_plaintext_visible_on_the_wire,
        ),
        Trial::test(
            "tokio_and_blocking_streams_read_each_other",
            tokio_twin::tokio_and_blocking_streams_read_each_other,
        ),
        Trial::test(
            "tokio_pending_writes_over_a_tiny_pipe_lose_nothing",
            tokio_twin::tokio_pending_writes_over_a_tiny_pipe_lose_nothing,
        ),
        Trial::test("tokio_hostile_frames_are_typed_errors", tokio_twin::tokio_hostile_frames_are_typed_errors),
    ]);
    trials
}

fn main() -> ExitCode {
    kdc::run_with_kdc(trials())
}

//! `AsyncServer` and `AsyncClient` (feature `tokio`) run libsasl2's steps on
//! tokio's blocking pool: a slow SCRAM exchange leaves the runtime free for
//! other tasks, and a dropped step future leaves a clear error behind.
#![cfg(feature = "tokio")]

use std::time::{Duration, Instant};

use cyrus_sasl::{
    AsyncClient, AsyncServer, Client, Config, CredentialStore, Credentials, Error, Identity, OwnedClientStep,
    OwnedServerStep, Secret, Server,
};

fn pair(iterations: &str) -> (AsyncServer, AsyncClient) {
    let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("s3cret"))]).unwrap();
    let config = Config::new()
        .with("mech_list", "SCRAM-SHA-256")
        .unwrap()
        .with("scram_iteration_counter", iterations)
        .unwrap()
        .with_credential_store(&store);
    let server = Server::new("test", "localhost", Some("EXAMPLE.TEST"), &config).unwrap();
    let client = Client::new("test", "localhost", Credentials::new("alice", "s3cret"), &Config::new()).unwrap();
    (AsyncServer::new(server), AsyncClient::new(client))
}

async fn handshake(server: &mut AsyncServer, client: &mut AsyncClient) -> Identity {
    let start = client.start("SCRAM-SHA-256").await.unwrap();
    let mut step = server.start(&start.mechanism, start.initial_response.as_deref().map(Vec::as_slice)).await.unwrap();
    loop {
        match step {
            OwnedServerStep::Continue(challenge) => {
                let response = match client.step(&challenge).await.unwrap() {
                    OwnedClientStep::Continue(r) => r,
                    OwnedClientStep::Complete(r) => r.unwrap_or_default(),
                };
                step = server.step(&response).await.unwrap();
            }
            OwnedServerStep::Authenticated { identity, .. } => return identity,
            OwnedServerStep::Rejected(r) => panic!("{r}"),
        }
    }
}

/// On a single-threaded runtime, a task ticking every millisecond keeps
/// ticking while slow SCRAM steps (a large iteration count) run: they are
/// not on the runtime's one thread.
#[test]
fn slow_scram_steps_leave_a_single_threaded_runtime_free() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    rt.block_on(async {
        let ticker = tokio::spawn(async {
            let mut widest = Duration::ZERO;
            let mut last = Instant::now();
            loop {
                tokio::time::sleep(Duration::from_millis(1)).await;
                widest = widest.max(last.elapsed());
                last = Instant::now();
                if widest > Duration::from_secs(60) {
                    break widest;
                }
                tokio::task::yield_now().await;
                if TICKER_STOP.load(std::sync::atomic::Ordering::SeqCst) {
                    break widest;
                }
            }
        });
        // Let the ticker start ticking before the handshake begins.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (mut server, mut client) = pair("60000");
        let began = Instant::now();
        let identity = handshake(&mut server, &mut client).await;
        let took = began.elapsed();
        TICKER_STOP.store(true, std::sync::atomic::Ordering::SeqCst);
        let widest = ticker.await.unwrap();
        assert_eq!(identity.authid, "alice@EXAMPLE.TEST");
        // Each side's PBKDF2 at 60000 iterations takes a good share of the
        // handshake; run inline, one of them would stall the ticker that long.
        assert!(took > Duration::from_millis(40), "the handshake is slow enough to tell: {took:?}");
        assert!(widest < took / 4, "the runtime stalled for {widest:?} of a {took:?} handshake");
    });
}

static TICKER_STOP: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[tokio::test]
async fn a_dropped_step_future_leaves_a_state_error_not_a_hang() {
    // A canon-user hook slow enough that the step is surely still running
    // when its future is dropped.
    let config = Config::new().with("mech_list", "PLAIN").unwrap().with("security_flags", "noanonymous").unwrap();
    let slow = Server::with_canon_user("test", "localhost", None, &config, |name, _| {
        std::thread::sleep(Duration::from_millis(300));
        Some(name.to_owned())
    })
    .unwrap();
    let mut server = AsyncServer::new(slow);
    let dropped = tokio::time::timeout(Duration::from_millis(20), server.start("PLAIN", Some(b"\0alice\0pw"))).await;
    assert!(dropped.is_err(), "the step outlived the timeout");
    // The connection went with the cancelled step: a clear error, at once.
    let began = Instant::now();
    let err = server.step(b"").await.unwrap_err();
    assert!(matches!(err, Error::State { call: "AsyncServer::step", .. }), "{err}");
    assert!(err.to_string().contains("cancelled"), "{err}");
    assert!(began.elapsed() < Duration::from_millis(100));
    assert!(server.server().is_err() && server.into_inner().is_err());
}

//! Secrets are wiped before their memory is freed.
//!
//! This test binary's global allocator wraps `System` and, in `dealloc`, scans
//! the block being freed (still valid memory at that point) for the secrets
//! below, counting every block that still holds one. `realloc` is the trait's
//! default (allocate, copy, `dealloc` the old block), so a block a `Vec` grows
//! out of is scanned too. The test then creates, uses and drops every Rust-side
//! holder of a secret and asserts that no freed block held one.
//!
//! What it cannot see: memory libsasl2 allocates with its own `malloc`. From the
//! 2.1.28 sources: the client's CRAM-MD5 plugin uses the password buffer our
//! `SASL_CB_PASS` hands out without copying it (`_plug_get_password`); on the
//! server, `prop_set` copies the secret from the in-memory store into the
//! connection's property pool, and CRAM-MD5 (`plugins/cram.c`) copies it again
//! into a `sasl_secret_t`. It wipes both: `prop_erase` (memset) right after the
//! copy, and `_plug_free_secret` (`sasl_erasebuffer`) before freeing it.
//! DIGEST-MD5, SCRAM and PLAIN call `prop_erase` the same way. `prop_dispose`
//! (in `sasl_dispose`) frees the pool without wiping it, so a property value
//! that was never erased would stay in freed memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use cyrus_sasl::{Client, ClientStep, Config, CredentialStore, Credentials, Secret, Server, ServerStep};
use cyrus_sasl_mesos::{
    AuthenticationRetry, Authenticator, Backoff, ClientOptions, Credential, Message, Origin, ServerOptions,
    read_credentials,
};
use zeroize::Zeroizing;

/// The secrets looked for; long and distinctive, so no other block holds them.
const STORE_SECRET: &str = "Wq3!in-memory-store-secret-e81c";
const CLIENT_SECRET: &str = "Wq3!client-side-password-50b7";
const FILE_SECRET: &str = "Wq3!credentials-file-secret-2d9a";
const NEEDLES: [&[u8]; 3] = [STORE_SECRET.as_bytes(), CLIENT_SECRET.as_bytes(), FILE_SECRET.as_bytes()];

/// Freed blocks that still held a secret.
static HITS: AtomicUsize = AtomicUsize::new(0);

struct Scanning;

fn holds_a_secret(block: &[u8]) -> bool {
    NEEDLES.iter().any(|needle| block.windows(needle.len()).any(|w| w == *needle))
}

// SAFETY: every method forwards to `System` with the caller's arguments; dealloc
// only reads the block (valid for layout.size() bytes until it is freed) first,
// and allocates nothing itself.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr was allocated with this layout and is still live.
        let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
        if holds_a_secret(block) {
            HITS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: the caller's contract, forwarded.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

/// Runs `scope` and returns how many freed blocks held a secret meanwhile.
fn unwiped_frees(scope: impl FnOnce()) -> usize {
    let before = HITS.load(Ordering::SeqCst);
    scope();
    HITS.load(Ordering::SeqCst) - before
}

fn store() -> CredentialStore {
    CredentialStore::from_credentials([
        ("alice".to_owned(), Secret::from(STORE_SECRET)),
        ("bob".to_owned(), Secret::from(CLIENT_SECRET)),
    ])
    .unwrap()
}

/// A complete CRAM-MD5 login of alice with `password` against the store.
fn cram_login(store: &CredentialStore, password: &str) -> bool {
    let config = Config::new().with("mech_list", "CRAM-MD5").unwrap().with_credential_store(store);
    let mut server = Server::new("test", "localhost", Some("EXAMPLE.TEST"), &config).unwrap();
    let mut client = Client::new("test", "localhost", Credentials::new("alice", password), &Config::new()).unwrap();
    let start = client.start("CRAM-MD5").unwrap();
    let mechanism = start.mechanism.to_owned();
    let mut step = server.start(&mechanism, None).unwrap();
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
            ServerStep::Authenticated { .. } => return true,
            ServerStep::Rejected(_) => return false,
        }
    }
}

#[test]
fn secrets_are_wiped_before_their_memory_is_freed() {
    // The scanner works: a plain Vec holding a secret is found when freed.
    let control = unwiped_frees(|| drop(std::hint::black_box(STORE_SECRET.as_bytes().to_vec())));
    assert_eq!(control, 1, "the scanning allocator must see an unwiped secret");

    // Init first, so its one-time allocations are out of the way.
    cyrus_sasl::installed_mechanisms().unwrap();

    let mut failures = Vec::new();
    let mut check = |what: &str, scope: &dyn Fn()| {
        let hits = unwiped_frees(scope);
        if hits != 0 {
            failures.push(format!("{what}: {hits} freed block(s) still held a secret"));
        }
    };

    check("Secret: create, clone, compare, Debug, drop", &|| {
        let secret = Secret::from(STORE_SECRET);
        let copy = secret.clone();
        assert_eq!(secret, copy);
        assert_eq!(format!("{copy:?}"), "Secret(<redacted>)");
        let from_string = Secret::from(String::from(CLIENT_SECRET));
        let from_vec = Secret::new(FILE_SECRET.as_bytes().to_vec());
        drop((secret, copy, from_string, from_vec));
    });

    check("CredentialStore: build, reload, look up, drop", &|| {
        let store = store();
        let clone = store.clone();
        for n in 0..10 {
            let secret = if n % 2 == 0 { STORE_SECRET } else { FILE_SECRET };
            clone.replace([("alice".to_owned(), Secret::from(secret))]).unwrap();
        }
        assert!(store.contains("alice"));
        drop((store, clone));
    });

    check("Credentials: build, clone, Debug, drop", &|| {
        let credentials = Credentials::new("alice", CLIENT_SECRET);
        let copy = credentials.clone();
        let _ = format!("{copy:?}");
        drop((credentials, copy));
    });

    check("a client and server handshake, right and wrong password", &|| {
        let store = store();
        assert!(cram_login(&store, STORE_SECRET));
        assert!(!cram_login(&store, CLIENT_SECRET));
    });

    check("credentials files, JSON (with escapes) and text: load and drop", &|| {
        let dir = tempfile::tempdir().unwrap();
        // The test's own copies of the file text are wiped too, and written
        // into room reserved up front, so no growing buffer leaves one behind.
        let escaped = FILE_SECRET.replace('!', "\\u0021");
        let mut json = Zeroizing::new(String::with_capacity(1024));
        write!(
            json,
            r#"{{"credentials": [{{"principal": "a", "secret": "{FILE_SECRET}"}}, {{"principal": "b", "secret": "{escaped}"}}]}}"#
        )
        .unwrap();
        let mut text = Zeroizing::new(String::with_capacity(1024));
        write!(text, "a {FILE_SECRET}\nb {STORE_SECRET}\n").unwrap();
        for (name, contents) in [("creds.json", &json), ("creds.txt", &text)] {
            let path = dir.path().join(name);
            std::fs::write(&path, contents.as_bytes()).unwrap();
            let loaded = read_credentials(&path).unwrap();
            assert_eq!(loaded.len(), 2);
            let store = cyrus_sasl_mesos::credential_store(loaded).unwrap();
            drop(store);
        }
    });

    check("sasldb provisioning (sasl_setpass)", &|| {
        let dir = tempfile::tempdir().unwrap();
        let db = cyrus_sasl::Sasldb::new(dir.path().join("sasldb2"), "EXAMPLE.TEST").unwrap();
        db.set_password("alice", &Secret::from(STORE_SECRET)).unwrap();
        db.set_password("alice", &Secret::from(CLIENT_SECRET)).unwrap();
        db.delete_user("alice").unwrap();
    });

    check("the Mesos state machines, in process", &|| {
        let store = store();
        let config = Config::new().with_credential_store(&store);
        let (mut master, outcomes) = Authenticator::<u32>::new(&config, ServerOptions::default());
        let credential = Credential::new("alice", STORE_SECRET);
        let mut framework = AuthenticationRetry::new(
            credential.clone(),
            "framework@127.0.0.1:1",
            ClientOptions::default(),
            Backoff::default(),
            rand::make_rng::<rand::rngs::StdRng>(),
        );
        let now = Instant::now();
        framework.start(now);
        while framework.verdict().is_none() {
            while let Some((attempt, message)) = framework.poll_transmit() {
                let origin = Origin::new("framework@127.0.0.1:1", [127, 0, 0, 1].into());
                master.handle_message(
                    now,
                    attempt,
                    &origin,
                    Message::decode(message.tag(), &message.encode()).unwrap(),
                );
            }
            while let Some((peer, message)) = master.poll_transmit() {
                framework.handle_message(now, peer, "master@127.0.0.1:5050", message);
            }
        }
        assert_eq!(framework.verdict(), Some(cyrus_sasl_mesos::Verdict::Authenticated));
        drop((framework, master, outcomes, credential));
    });

    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

//! # Driving the state machines yourself
//!
//! [`Master`](crate::Master) and [`authenticate`](crate::authenticate) run the
//! sans-IO machines over libprocess. Over another transport, or in a test,
//! drive them yourself: every driver is a loop that moves messages and timers,
//! and no behaviour lives in it.
//!
//! ## One exchange in one process
//!
//! ```
//! use std::time::Instant;
//! use cyrus_sasl::Config;
//! use cyrus_sasl_mesos::{
//!     AuthenticationRetry, Authenticator, Backoff, ClientOptions, Credential, Message, Origin, Outcome,
//!     ServerOptions, Verdict, credential_store,
//! };
//!
//! // The master: secrets in an in-memory store, CRAM-MD5 (the default).
//! let store = credential_store(vec![Credential::new("framework-a", "s3cret")])?;
//! let config = Config::new().with_credential_store(&store);
//! // Sessions are named by attempt number here; the libprocess master uses its session processes.
//! let (mut master, outcomes) = Authenticator::<u32>::new(&config, ServerOptions::default());
//!
//! // The framework: its credential, its UPID, Mesos's default backoff.
//! let pid = "scheduler-1@10.0.0.7:40123";
//! let mut framework = AuthenticationRetry::new(
//!     Credential::new("framework-a", "s3cret"),
//!     pid,
//!     ClientOptions::default(),
//!     Backoff::default(),
//!     rand::make_rng::<rand::rngs::StdRng>(),
//! );
//! let now = Instant::now();
//! framework.start(now);
//!
//! // The transport: each message travels as its type and protobuf bytes, with
//! // the sender's UPID and (to the master) the IP address it came from.
//! let authenticatee = Origin::new("crammd5-authenticatee(1)@10.0.0.7:40123", [10, 0, 0, 7].into());
//! let session = "crammd5-authenticator-session(1)@10.0.0.1:5050";
//! while framework.verdict().is_none() {
//!     while let Some((attempt, message)) = framework.poll_transmit() {
//!         let (tag, bytes) = (message.tag(), message.encode());
//!         master.handle_message(now, attempt, &authenticatee, Message::decode(tag, &bytes)?);
//!     }
//!     while let Some((peer, message)) = master.poll_transmit() {
//!         let (tag, bytes) = (message.tag(), message.encode());
//!         framework.handle_message(now, peer, session, Message::decode(tag, &bytes)?);
//!     }
//! }
//!
//! assert_eq!(framework.verdict(), Some(Verdict::Authenticated));
//! let ended = outcomes.try_next().expect("the session ended");
//! assert_eq!(ended.pid, pid);
//! assert!(matches!(ended.outcome, Outcome::Authenticated { ref principal } if principal == "framework-a"));
//! // What the master checks when the framework registers:
//! assert_eq!(master.authenticated(pid).as_deref(), Some("framework-a"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## The rules
//!
//! - **Messages.** One message is its
//!   [`MessageType::proto_name`](crate::MessageType::proto_name) and its
//!   [`Message::encode`](crate::Message::encode)d bytes;
//!   [`Message::decode`](crate::Message::decode) rebuilds it, or says what is
//!   wrong with a typed [`DecodeError`](crate::DecodeError).
//! - **Client.** Call
//!   [`AuthenticationRetry::handle_timeout`](crate::AuthenticationRetry::handle_timeout)
//!   at [`poll_timeout`](crate::AuthenticationRetry::poll_timeout). Give each
//!   attempt ([`RetryEvent::AttemptStarted`](crate::RetryEvent::AttemptStarted))
//!   a fresh process, and tag what arrives for it with its number: Mesos gives
//!   every attempt its own process, so a late message of an old attempt never
//!   reaches a new one. Pass each message with its sender's UPID: an attempt
//!   talks only to the first sender that answers it. An attempt that fails
//!   schedules the next at its timeout (so keep calling `handle_timeout`);
//!   the attempts end at a [`verdict`](crate::AuthenticationRetry::verdict),
//!   or at [`gave_up`](crate::AuthenticationRetry::gave_up)
//!   ([`RetryEvent::GaveUp`](crate::RetryEvent::GaveUp)) when the master offers
//!   none of the client's mechanisms.
//! - **Master.** Pass each message with its [`Origin`](crate::Origin) (the
//!   sender's claimed UPID, and the IP address of the TCP peer it came from),
//!   call [`Authenticator::handle_timeout`](crate::Authenticator::handle_timeout)
//!   at [`poll_timeout`](crate::Authenticator::poll_timeout), report a peer
//!   known to be gone with
//!   [`handle_peer_exited`](crate::Authenticator::handle_peer_exited), and read
//!   the [`Outcomes`](crate::Outcomes), from another thread if you like: when
//!   the authenticator is dropped, every pending session gets an outcome and
//!   then the channel closes, so no reader hangs.
//! - **Options from a file.** A driver of your own takes the client's side
//!   from the same file as [`authenticate`](crate::authenticate) does:
//!   [`ClientConfig::client_options`](crate::ClientConfig::client_options)
//!   and [`ClientConfig::credential`](crate::ClientConfig::credential) are what
//!   [`AuthenticationRetry::new`](crate::AuthenticationRetry::new) takes; check
//!   a credential made in code with
//!   [`Credential::check`](crate::Credential::check) first (a credential
//!   without a secret fits GSSAPI and EXTERNAL only).
//! - **After the verdict.** The framework's own messages (SUBSCRIBE, and
//!   everything after) go from the process whose UPID was authenticated, and
//!   its answers come back to that process; the `framework` example and
//!   `examples/mesos-component` in the workspace show both, the latter with
//!   Mesos types of its own generated by `prost-build`.
//!
//! ## Where this crate differs from Mesos
//!
//! Each for a reason given where it is implemented: a credentials file's
//! format is chosen by its first character, and duplicate principals or empty
//! secrets are errors ([`read_credentials`](crate::read_credentials)); an
//! attempt whose SASL client cannot even be created waits out its timeout
//! before the next ([`AuthenticationRetry`](crate::AuthenticationRetry)); the
//! master binds claimed UPIDs to the peer's IP address by default
//! ([`PeerBinding`](crate::PeerBinding)); the authenticatee stays with the
//! session that answered it first ([`Authenticatee`](crate::Authenticatee))
//! and allows only CRAM-MD5 unless told otherwise
//! ([`ClientOptions::mechanisms`](crate::ClientOptions::mechanisms)); a peer
//! gets fixed error texts
//! ([`PEER_TEXT_AUTHENTICATION_ERROR`](crate::PEER_TEXT_AUTHENTICATION_ERROR));
//! the registry keeps generations ([`Registry`](crate::Registry)).

//! The core binding's in-process integration tests, one binary: a real
//! libsasl2 client and server in this process, each module one concern.
//!
//! Tests that need a process of their own stay in binaries of their own:
//! `logging` and `callback_panics` (the process's one logger, failpoints),
//! `fuzz_regressions` (it measures this process's memory), `stress_threads`
//! (fresh processes), `secure_stream_digest` (a counting global allocator),
//! and the KDC-backed `gssapi` and `secure_stream` (environment set before
//! any thread starts).

#[path = "api/async_steps.rs"]
mod async_steps;
#[path = "api/channel_binding.rs"]
mod channel_binding;
#[path = "api/config_in_code.rs"]
mod config_in_code;
#[path = "api/config_switch.rs"]
mod config_switch;
#[path = "api/errors.rs"]
mod errors;
#[path = "api/external.rs"]
mod external;
#[path = "api/memory_store.rs"]
mod memory_store;
#[path = "api/readable_output.rs"]
mod readable_output;
#[path = "api/refusals.rs"]
mod refusals;
#[path = "api/rejections.rs"]
mod rejections;
#[path = "api/sasldb.rs"]
mod sasldb;
#[path = "api/server_builder.rs"]
mod server_builder;
#[path = "api/stores_agree.rs"]
mod stores_agree;
#[path = "api/tls_binding.rs"]
mod tls_binding;

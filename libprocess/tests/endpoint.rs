//! The libprocess endpoint over loopback: our endpoints with each other, and
//! raw TCP peers writing the bytes real libprocess writes (and worse). One test
//! binary; each module is one concern.

#[path = "endpoint/support.rs"]
mod support;

#[path = "endpoint/connections.rs"]
mod connections;
#[path = "endpoint/hostile_peers.rs"]
mod hostile_peers;
#[path = "endpoint/messages.rs"]
mod messages;
#[path = "endpoint/options.rs"]
mod options;
#[path = "endpoint/outbound_limits.rs"]
mod outbound_limits;
#[path = "endpoint/outbound_queue.rs"]
mod outbound_queue;
#[path = "endpoint/tls.rs"]
mod tls;
#[path = "endpoint/tls_names.rs"]
mod tls_names;

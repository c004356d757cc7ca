//! Guides: how to use the binding for real, one topic per page.
//!
//! These pages hold no code of their own. Their examples run as doctests
//! against the system's libsasl2, so what they show is what the library does.
//!
//! | Page | What it answers |
//! |---|---|
//! | [`outcomes_and_errors`] | what a handshake can end in, and what is an error |
//! | [`configuration`] | choosing mechanisms and stores by configuration; the safe defaults |
//! | [`realms`] | why `alice` is `alice@EXAMPLE.COM`, and how to make the realm explicit |
//! | [`credential_stores`] | users in a sasldb, or in memory with no file at all |
//! | [`threads_and_panics`] | process-wide initialisation, threads, panics in callbacks, logs |
//! | [`security_layer`] | protecting the connection after authentication |
//! | [`kerberos`] | GSSAPI in five minutes, and what trips people up |
//! | [`proxy_authorization`] | acting as someone else: the authzid and a proxy policy |
//! | [`async_servers`] | which steps block, and running them off a tokio runtime |
//! | [`line_protocol`] | your own server and client: an `AUTH` exchange over TCP, then a `SecureStream` |

pub mod outcomes_and_errors {
    #![doc = include_str!("outcomes_and_errors.md")]
}

pub mod configuration {
    #![doc = include_str!("configuration.md")]
}

pub mod realms {
    #![doc = include_str!("realms.md")]
}

pub mod credential_stores {
    #![doc = include_str!("credential_stores.md")]
}

pub mod threads_and_panics {
    #![doc = include_str!("threads_and_panics.md")]
}

pub mod security_layer {
    #![doc = include_str!("security_layer.md")]
}

pub mod kerberos {
    #![doc = include_str!("kerberos.md")]
}

pub mod proxy_authorization {
    #![doc = include_str!("proxy_authorization.md")]
}

pub mod async_servers {
    #![doc = include_str!("async_servers.md")]
}

pub mod line_protocol {
    #![doc = include_str!("line_protocol.md")]
}

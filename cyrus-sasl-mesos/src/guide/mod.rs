//! Guides: how the pieces of this crate fit together for the paths users
//! take. Documentation only; the examples in them run as doctests where they
//! can.

pub mod authorization;
pub mod drivers;
pub mod ldap;
pub mod setup;
pub mod tls;

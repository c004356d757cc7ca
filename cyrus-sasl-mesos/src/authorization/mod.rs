//! Authorization with Mesos's ACLs: who may register a framework in which role,
//! run tasks as which user, register an agent, tear down whose frameworks.
//!
//! The rules are Mesos's `--acls` JSON (`include/mesos/authorizer/acls.proto`),
//! and a decision is made exactly as Mesos's local authorizer
//! (`src/authorizer/local/authorizer.cpp`) makes it. Pure logic: nothing here
//! touches the network except `LdapGroups` (feature `ldap`).
//!
//! # The file
//!
//! ```json
//! {
//!   "permissive": false,
//!   "register_frameworks": [
//!     {"principals": {"values": ["alice"]}, "roles": {"values": ["analytics", "prod/%"]}},
//!     {"principals": {"values": ["ldap-group:cn=frameworks,ou=groups,dc=example,dc=test"]},
//!      "roles": {"values": ["dev"]}},
//!     {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}},
//!     {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}
//!   ],
//!   "register_agents": [
//!     {"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}},
//!     {"principals": {"type": "ANY"}, "agents": {"type": "NONE"}}
//!   ]
//! }
//! ```
//!
//! | key | subjects | objects |
//! |---|---|---|
//! | `permissive` | | the decision when no rule matches; default `true`, as in Mesos |
//! | `register_frameworks` | `principals` | `roles`: `a/%` covers every role nested under `a/` (not `a` itself) |
//! | `run_tasks` | `principals` | `users` (operating system users) |
//! | `register_agents` | `principals` | `agents`: only `{"type": "ANY"}` or `{"type": "NONE"}`, as in Mesos |
//! | `teardown_frameworks` | `principals` | `framework_principals` |
//!
//! An entity is `{"values": [...]}`, `{"type": "ANY"}` or `{"type": "NONE"}`.
//! A principal `ldap-group:DN` stands for every member of that group, read
//! from a [`GroupDirectory`].
//!
//! # The decision
//!
//! A request is an action, a principal (or none: an unauthenticated peer) and
//! an object (a role, a user, or none). The rules of that action are tried in
//! file order; **the first rule whose principals and objects both match the
//! request decides**: allowed if both entities allow it, denied otherwise. When
//! no rule matches, `permissive` decides. Each entity of a rule stands against
//! the request's principal (or object) like this:
//!
//! | request has \ rule says | `{"values": [...]}` | `{"type": "ANY"}` | `{"type": "NONE"}` |
//! |---|---|---|---|
//! | a name | listed: matches, allows. Not listed: no match | matches, allows | matches, **denies** |
//! | no name | no match | matches, allows | matches, **denies** |
//!
//! So `NONE` is not "matches nobody": it matches everyone and then denies,
//! which is how Mesos writes "nobody else may". A request without a principal
//! is Mesos's subject `ANY`: only `ANY` and `NONE` rules match it.
//! `register_frameworks` decides each of a framework's roles on its own; all
//! must be allowed (a framework with no role at all: `permissive`).
//! `register_agents` has no object: only `ANY`/`NONE` agents rules exist.
//!
//! With the file above (`permissive: false`), alice in group `frameworks`, bob
//! in no group:
//!
//! | request | decision | by |
//! |---|---|---|
//! | alice registers in `analytics` | allowed | `register_frameworks[0]` |
//! | alice registers in `prod/web` | allowed | `register_frameworks[0]` (`prod/%`) |
//! | alice registers in `prod` | denied | no rule matched, permissive is false |
//! | bob registers in `analytics` | denied | `register_frameworks[2]` (`NONE`) |
//! | alice registers in `dev` | allowed | `register_frameworks[1]` (group member) |
//! | bob registers in `dev` | denied | no rule matched (not a member), permissive is false |
//! | bob registers in `*` | allowed | `register_frameworks[3]` |
//! | no principal, role `*` | allowed | `register_frameworks[3]` (`ANY` matches no principal) |
//! | no principal, role `analytics` | denied | `register_frameworks[2]` |
//! | agent `agent` registers | allowed | `register_agents[0]` |
//! | agent `bob` registers | denied | `register_agents[1]` |
//!
//! This crate's tests run this table, and Mesos's own authorizer test
//! scenarios, as table tests.
//!
//! # Groups and a directory that is down
//!
//! A group is looked up only when a rule's objects match the request and the
//! principal is not listed by name in that rule, so decisions that never reach
//! such a rule never touch the directory. When membership cannot be found out
//! (no directory configured, the directory down or slow, no such group), the
//! decision fails with [`AuthorizationError::GroupLookup`], a warning is
//! logged, and the caller must deny: never allowed by accident, also not when
//! the group sits in a `NONE` rule that would have denied.
//!
//! Decisions are synchronous and may block on the directory: `LdapGroups`
//! answers from its cache for its TTL and otherwise reads the directory with a
//! deadline. From async code, decide on a blocking thread.
//!
//! # Bad files
//!
//! [`Acls::read`] and [`AclFile`] refuse, with a [`FileError`](crate::FileError) naming the file,
//! line, column and field: JSON syntax errors, unknown keys (an action Mesos
//! knows but this crate does not decide is refused too, rather than ignored),
//! wrong types, duplicate keys, a missing entity, an empty `values` list (a
//! rule that could never apply), `values` together with `ANY`/`NONE` (Mesos
//! ignores them silently), `agents` with values, and files over
//! [`MAX_ACLS_FILE_SIZE`], refused before they are read. [`AclFile::reload`]
//! keeps the previous ACLs in force when the new file is bad.
//!
//! ```
//! use cyrus_sasl_mesos::authorization::{Acls, Request};
//!
//! let acls = Acls::from_json(r#"{
//!   "permissive": false,
//!   "register_frameworks": [
//!     {"principals": {"values": ["alice"]}, "roles": {"values": ["analytics"]}},
//!     {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}}
//!   ]
//! }"#)?;
//! let alice = acls.decide(&Request::register_framework(Some("alice"), ["analytics"]))?;
//! assert!(alice.allowed);
//! let bob = acls.decide(&Request::register_framework(Some("bob"), ["analytics"]))?;
//! assert!(!bob.allowed);
//! assert_eq!(bob.to_string(), "denied by register_frameworks[1] for \"analytics\"");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod acls;
mod file;
mod groups;
#[cfg(feature = "ldap")]
mod ldap;

pub use acls::{Acls, Action, Basis, Decision, Entity, MAX_ACLS_FILE_SIZE, Request, Rule};
pub use file::AclFile;
pub use groups::{AuthorizationError, GroupDirectory, GroupLookupError, LDAP_GROUP_PREFIX, NoDirectory};
#[cfg(feature = "ldap")]
pub use ldap::{LdapBind, LdapConfigError, LdapGroups, LdapGroupsConfig};

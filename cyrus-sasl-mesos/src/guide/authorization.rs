//! # Who may register: Mesos ACLs and the registration gate
//!
//! ## ACLs
//!
//! [`authorization`](crate::authorization) reads Mesos's ACL file (the
//! master's `--acls` JSON) and decides as Mesos's local authorizer does:
//! `register_frameworks` (principals and roles, with `a/%` for every role
//! nested under `a/`), `run_tasks`, `register_agents` and
//! `teardown_frameworks`. The rules of an action are tried in file order, and
//! the first whose principals and objects both match decides; when none
//! does, `permissive` (default `true`) decides. The module docs have the
//! matching table and a worked example.
//!
//! ```
//! use cyrus_sasl_mesos::authorization::{AclFile, Request};
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("acls.json");
//! std::fs::write(&path, r#"{"permissive": false, "register_frameworks": [
//!   {"principals": {"values": ["alice"]}, "roles": {"values": ["analytics"]}}]}"#)?;
//! let acls = AclFile::read(&path)?; // errors name the file, line, column and field
//! let decision = acls.current().decide(&Request::register_framework(Some("alice"), ["analytics"]))?;
//! assert!(decision.allowed);
//! assert_eq!(decision.to_string(), "allowed by register_frameworks[0] for \"analytics\"");
//! let bob = acls.current().decide(&Request::register_framework(Some("bob"), ["analytics"]))?;
//! assert!(!bob.allowed);
//! acls.reload()?; // a bad file keeps the ACLs in force
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A principal `ldap-group:DN` stands for the members of an LDAP group
//! ([`ldap`](super::ldap)). When membership cannot be found out, the decision
//! is an error and the request is denied, never allowed by accident.
//!
//! ## The registration gate
//!
//! With `acls:` in the master's config (or
//! [`MasterOptions::registration`](crate::MasterOptions::registration) set),
//! the master decides every framework's and agent's registration after
//! authentication: the scheduler driver's `mesos.scheduler.Call` SUBSCRIBE,
//! the older `RegisterFrameworkMessage`, and an agent's
//! `RegisterSlaveMessage`. In order:
//!
//! 1. the sender UPID's IP address must be its connection's (as for
//!    authentication);
//! 2. the sender UPID must be authenticated: a framework subscribes from the
//!    UPID it authenticated, so register that process before authenticating;
//! 3. a framework's `FrameworkInfo.principal` must be the authenticated
//!    principal (unset, it is filled in with it, as Mesos does);
//! 4. the ACLs must allow it: `register_frameworks` for each role asked for,
//!    `register_agents` for an agent.
//!
//! A denied framework gets `FrameworkErrorMessage` (its driver's `error()`
//! callback), a denied agent `ShutdownMessage`; the peer is told which check
//! failed, never the rules or a directory's state. A registered framework
//! gets `FrameworkRegisteredMessage` from the master's own UPID, the only
//! sender the scheduler driver believes. Every decision is a
//! [`MasterEvent::Registration`](crate::MasterEvent::Registration) with its
//! [`RegistrationVerdict`](crate::registration::RegistrationVerdict), and a log
//! line with the full reason ([`Denial`](crate::registration::Denial)).
//! The decision itself is sans-IO
//! ([`RegistrationGate::decide`](crate::registration::RegistrationGate::decide)).
//!
//! ### Under load, and from hostile peers
//!
//! An answer goes to the address the sender's UPID claims, which may be a port
//! that never answers. So that no peer can hold up anyone else's registration:
//!
//! - at most `max_registrations_in_flight` (256) registrations are *decided* at
//!   once (each on a blocking thread, since an LDAP group lookup may block);
//!   a decision's place is free again as soon as it is made;
//! - at most `max_registrations_per_ip` (32) registrations from one peer IP are
//!   being decided or answered at once; more from that IP are dropped (and
//!   logged) until its answers are delivered or given up;
//! - answers go out through the endpoint's bounded queue per destination
//!   address, each within `connect_timeout + response_timeout` (10 s); an
//!   answer for a full queue is dropped and logged, never waited for.
//!
//! Both limits are master config keys (and [`MasterOptions`](crate::MasterOptions)
//! fields). A registration from a UPID that never authenticated is still
//! answered with `FrameworkErrorMessage` ("Framework is not authenticated"), as
//! Mesos's master answers it: the real scheduler driver then calls `error()`
//! and stops, so a framework started without credentials says why at once
//! instead of sending its SUBSCRIBE again and again. The limits above make that
//! answer cost the master one bounded send to the sender's own IP. A sender
//! whose UPID claims another IP than its connection's gets no answer at all.
//!
//! ```text
//! $ sasl-sample mesos-master --listen 127.0.0.1:5050 --config master.conf   # with acls: acls.json
//! listening: master@127.0.0.1:5050
//! authenticated: framework-a pid=scheduler-1@127.0.0.1:41234 mech=CRAM-MD5 tls=no bound=no
//! registered: framework-a role=analytics
//! authenticated: framework-b pid=scheduler-1@127.0.0.1:41240 mech=CRAM-MD5 tls=no bound=no
//! denied: framework-b (not authorized: denied: no rule matched \"analytics\" and permissive is false)
//! ```
//!
//! Not modelled: framework failover (a `FrameworkInfo.id` already set gets a
//! new id), re-registration, and everything after registration.

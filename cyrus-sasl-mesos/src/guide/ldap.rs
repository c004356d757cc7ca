//! # Secrets and groups in LDAP
//!
//! ## Secrets: libsasl2's `ldapdb`
//!
//! A master whose config says `auxprop_plugin: ldapdb` (and no
//! `credentials`) checks secrets against an LDAP directory through libsasl2's
//! `ldapdb` plugin ([`CredentialSource::Ldapdb`](crate::CredentialSource::Ldapdb)).
//! The plugin binds to the directory as a service identity and asks for the
//! user's `userPassword` with a proxied-authorization control; the directory
//! maps the proxied name to the user's entry and lets the service act as
//! people and nothing else. Passwords are stored in clear, readable only by
//! their owner, as CRAM-MD5, DIGEST-MD5 and SCRAM need them. A user with no
//! entry is an unknown principal, a wrong password a rejection, a directory
//! that is down an error (not a rejection).
//!
//! The plugin reads `ldapdb_uri`, `ldapdb_id`, `ldapdb_pw` and `ldapdb_mech`
//! **once per process, from libsasl2's process-wide options** (the file
//! `APP.conf` in `SASL_CONF_PATH`), never from a connection's config. So the
//! master's config holds only the mechanisms and the plugin's name, and one
//! process reads secrets from one directory:
//!
//! ```text
//! # master.conf
//! mech_list: CRAM-MD5
//! pwcheck_method: auxprop
//! auxprop_plugin: ldapdb
//!
//! # $SASL_CONF_PATH/APP.conf, read once at start
//! ldapdb_uri: ldap://127.0.0.1:3389
//! ldapdb_id: sasl-service
//! ldapdb_pw: ...
//! ldapdb_mech: SCRAM-SHA-256
//! ```
//!
//! Each lookup opens a connection to the directory and binds, so a handshake
//! costs far more than against a sasldb or the in-memory store.
//!
//! ## Groups in ACLs (feature `ldap`)
//!
//! An ACL principal `ldap-group:DN` stands for every member of that group,
//! read by [`LdapGroups`](crate::authorization::LdapGroups) over plain
//! `ldap://` or `ldapi://` (no TLS stack) and cached for a bounded time. A
//! group is looked up only when a rule's objects match and the principal is
//! not listed by name, so other decisions never touch the directory. A
//! lookup blocks (with a deadline): decide on a blocking thread from async
//! code, as the master does. When membership cannot be found out (the
//! directory down or slow, no such group), the decision fails and the
//! request is denied.
//!
//! ```no_run
//! # #[cfg(feature = "ldap")]
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cyrus_sasl_mesos::authorization::{AclFile, LdapBind, LdapGroups, LdapGroupsConfig};
//! use cyrus_sasl_mesos::registration::RegistrationGate;
//! use cyrus_sasl_mesos::{MasterConfig, MasterOptions};
//!
//! let groups = LdapGroups::new(LdapGroupsConfig::new(
//!     "ldap://127.0.0.1:3389",
//!     LdapBind::Anonymous,
//!     "uid={},ou=people,dc=example,dc=test",
//! ))?;
//! let acls = Arc::new(AclFile::read("/etc/mesos/acls.json")?);
//! let mut options = MasterOptions::from_config(&MasterConfig::read("/etc/mesos/master.conf")?);
//! options.registration = Some(RegistrationGate::from_acl_file(acls).with_groups(Arc::new(groups)));
//! # Ok(()) }
//! # #[cfg(not(feature = "ldap"))]
//! # fn main() {}
//! ```
//!
//! A master config file builds no group directory, so through
//! [`MasterOptions::from_config`](crate::MasterOptions::from_config) alone an
//! `ldap-group:` rule that a request reaches denies it.

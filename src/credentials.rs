//! [`CredentialStore`]: principals and secrets held in memory and served to
//! libsasl2 by this crate's own auxprop plugin, so a server needs no sasldb.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The name under which the in-memory auxprop plugin is registered with
/// libsasl2 at init. [`Config::with_credential_store`](crate::Config::with_credential_store)
/// selects it with `auxprop_plugin`.
pub const MEMORY_AUXPROP_PLUGIN: &str = "in-memory";

/// The longest secret a [`CredentialStore`] accepts, in bytes.
///
/// libsasl2 takes a property's length as a C `int` (`prop_set`), so a secret
/// must at least fit one; and every handshake copies the secret into the
/// connection, so a few kilobytes is already far beyond any real password or
/// shared secret.
pub const MAX_SECRET_LEN: usize = 64 * 1024;

type Table = HashMap<String, Secret>;

/// Principals and their secrets, in memory, for servers to check passwords
/// against (`userPassword` for CRAM-MD5, DIGEST-MD5, SCRAM, PLAIN, ...).
///
/// Attach a store to a server's [`Config`](crate::Config) with
/// [`Config::with_credential_store`](crate::Config::with_credential_store). Each
/// config carries its own store, so servers with different stores can run side
/// by side in one process; there is no global "current store".
///
/// The store can be [replaced](Self::replace) at any time, while handshakes run:
/// a handshake reads one complete snapshot, either the old table or the new one,
/// never a mix. Cloning a store is cheap and gives another handle to the same
/// table, so a reload through any clone is seen by every server using it.
///
/// Realms follow the one rule a sasldb follows, so that moving a server from a
/// [`Sasldb`](crate::Sasldb) to a store (or back) never changes who can log
/// in: an identity is a user in a realm. A key without `@` (`alice`) is that
/// user in the server's realm: the `realm` given to the server, or without one
/// its FQDN, lower-cased. The client may type that realm or not: `alice` and
/// `alice@REALM` are the same principal, as they are in a sasldb, and
/// libsasl2 reports both as `alice@REALM` (without a realm, a bare name comes
/// back bare and a typed one as typed). Any other realm is part of the key:
/// `alice@OTHER` is found only under the key `alice@OTHER`. Names and realms
/// compare exactly (case-sensitive). Keys and lookups are UTF-8.
///
/// ```
/// use cyrus_sasl::{Config, CredentialStore, Secret};
/// let store = CredentialStore::from_credentials([
///     ("framework1".to_owned(), Secret::from("s3cret")),
///     ("agent1".to_owned(), Secret::from("an0ther")),
/// ])?;
/// let config = Config::new().with("mech_list", "CRAM-MD5")?.with_credential_store(&store);
/// assert_eq!(config.get("auxprop_plugin"), Some(cyrus_sasl::MEMORY_AUXPROP_PLUGIN));
/// assert!(store.contains("agent1"));
/// // Later, e.g. after the credentials file changed:
/// store.replace([("framework1".to_owned(), Secret::from("rotated"))])?;
/// assert!(!store.contains("agent1"));
/// assert_eq!(format!("{store:?}"), "CredentialStore { principals: 1 }");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default)]
pub struct CredentialStore {
    table: Arc<ArcSwap<Table>>,
}

impl CredentialStore {
    /// An empty store: every authentication against it is rejected.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store holding `credentials`.
    ///
    /// Fails with [`Error::InvalidCredential`] on an empty principal, a principal
    /// containing a NUL byte, a secret longer than [`MAX_SECRET_LEN`], an empty secret (libsasl2's CRAM-MD5 would fail
    /// with `SASL_FAIL` mid-handshake rather than reject), a secret containing a
    /// NUL byte (libsasl2 reads stored secrets as C strings, so only the part
    /// before the NUL would count), or a principal given twice (one of the two
    /// secrets would be silently lost).
    pub fn from_credentials(credentials: impl IntoIterator<Item = (String, Secret)>) -> Result<Self> {
        Ok(CredentialStore { table: Arc::new(ArcSwap::from_pointee(build(credentials)?)) })
    }

    /// Replaces every credential at once. Handshakes already past their lookup
    /// keep the answer they got; later lookups see only the new table. On error
    /// the store is left unchanged.
    pub fn replace(&self, credentials: impl IntoIterator<Item = (String, Secret)>) -> Result<()> {
        let table = build(credentials)?;
        self.table.store(Arc::new(table));
        Ok(())
    }

    /// Whether `principal` has a secret in the store.
    pub fn contains(&self, principal: &str) -> bool {
        self.table.load().contains_key(principal)
    }

    /// How many principals the store holds.
    pub fn len(&self) -> usize {
        self.table.load().len()
    }

    /// True when the store holds no principal.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` with the secret of `principal`, if any, from the current
    /// snapshot. The secret is never copied out of the store.
    pub(crate) fn with_secret<R>(&self, principal: &str, f: impl FnOnce(Option<&Secret>) -> R) -> R {
        f(self.table.load().get(principal))
    }
}

fn build(credentials: impl IntoIterator<Item = (String, Secret)>) -> Result<Table> {
    let mut table = Table::new();
    for (principal, secret) in credentials {
        let invalid = |reason| Err(Error::InvalidCredential { principal: principal.clone(), reason });
        if principal.is_empty() {
            return invalid("the principal is empty");
        }
        if principal.contains('\0') {
            return invalid("the principal contains a NUL byte");
        }
        if secret.is_empty() {
            return invalid("the secret is empty");
        }
        if secret.len() > MAX_SECRET_LEN {
            return invalid("the secret is longer than MAX_SECRET_LEN (65536 bytes)");
        }
        if secret.expose().contains(&0) {
            // libsasl2's mechanisms read `userPassword` as a C string: measured
            // with CRAM-MD5, "pw\0tail" would accept the password "pw".
            return invalid("the secret contains a NUL byte");
        }
        match table.entry(principal) {
            Entry::Occupied(e) => {
                return Err(Error::InvalidCredential {
                    principal: e.key().clone(),
                    reason: "the principal is listed twice",
                });
            }
            Entry::Vacant(e) => {
                e.insert(secret);
            }
        }
    }
    Ok(table)
}

/// Shows how many principals the store holds; never a secret, nor the names.
impl fmt::Debug for CredentialStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialStore").field("principals", &self.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(list: &[(&str, &str)]) -> Vec<(String, Secret)> {
        list.iter().map(|(p, s)| (p.to_string(), Secret::from(*s))).collect()
    }

    #[test]
    fn an_empty_secret_is_refused_at_load_naming_the_principal() {
        let err = CredentialStore::from_credentials(creds(&[("alice", "a"), ("bob", "")])).unwrap_err();
        assert!(matches!(&err, Error::InvalidCredential { principal, .. } if principal == "bob"), "{err:?}");
        assert!(err.to_string().contains("secret is empty"), "{err}");
    }

    #[test]
    fn a_secret_over_the_cap_is_refused_at_load_and_one_at_the_cap_is_kept() {
        let at_cap = Secret::new(vec![b'x'; MAX_SECRET_LEN]);
        let over = Secret::new(vec![b'x'; MAX_SECRET_LEN + 1]);
        let store = CredentialStore::from_credentials([("alice".to_owned(), at_cap)]).unwrap();
        assert!(store.contains("alice"));
        let err = CredentialStore::from_credentials([("bob".to_owned(), over.clone())]).unwrap_err();
        assert!(matches!(&err, Error::InvalidCredential { principal, .. } if principal == "bob"), "{err:?}");
        assert!(err.to_string().contains("longer than"), "{err}");
        assert!(store.replace([("bob".to_owned(), over)]).is_err(), "replace refuses it too");
    }

    #[test]
    fn a_duplicate_principal_is_refused_rather_than_losing_a_secret() {
        let err = CredentialStore::from_credentials(creds(&[("alice", "a"), ("alice", "b")])).unwrap_err();
        assert!(
            matches!(&err, Error::InvalidCredential { principal, reason } if principal == "alice" && reason.contains("twice"))
        );
    }

    #[test]
    fn empty_and_nul_principals_are_refused() {
        assert!(CredentialStore::from_credentials(creds(&[("", "a")])).is_err());
        assert!(CredentialStore::from_credentials(creds(&[("a\0b", "a")])).is_err());
    }

    #[test]
    fn a_failed_replace_leaves_the_store_unchanged() {
        let store = CredentialStore::from_credentials(creds(&[("alice", "a")])).unwrap();
        assert!(store.replace(creds(&[("bob", "")])).is_err());
        assert!(store.contains("alice"));
        assert!(!store.contains("bob"));
    }

    #[test]
    fn clones_share_one_table() {
        let store = CredentialStore::new();
        let clone = store.clone();
        store.replace(creds(&[("alice", "a")])).unwrap();
        assert!(clone.contains("alice"));
        assert_eq!(clone.len(), 1);
    }

    #[test]
    fn debug_shows_neither_secrets_nor_principals() {
        let store = CredentialStore::from_credentials(creds(&[("alice", "hunter2")])).unwrap();
        let shown = format!("{store:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("alice"), "{shown}");
    }
}

//! [`LdapGroups`]: group membership read from an LDAP directory with ldap3,
//! cached for a bounded time.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ldap3::{LdapConn, LdapConnSettings, LdapError, Scope, SearchEntry, dn_escape};
use parking_lot::Mutex;

use super::acls::LOG_TARGET;
use super::groups::{GroupDirectory, GroupLookupError};
use cyrus_sasl::Secret;

/// How [`LdapGroups`] binds before it reads a group.
#[derive(Debug, Clone)]
pub enum LdapBind {
    /// No bind: the directory must let anonymous clients read groups.
    Anonymous,
    /// A simple bind with a DN and a password. The password crosses the wire as
    /// it is, so this is refused for an `ldap://` URI whose host is not a
    /// loopback address (`127.0.0.0/8`, `[::1]`, `localhost`); `ldapi://` (a
    /// local socket) is fine.
    Simple {
        /// The DN to bind as.
        dn: String,
        /// Its password.
        password: Secret,
    },
}

/// Where the groups are, how to read them, and for how long an answer holds.
#[derive(Debug, Clone)]
pub struct LdapGroupsConfig {
    /// `ldap://HOST:PORT` or `ldapi://SOCKET` (this build has no TLS, so no
    /// `ldaps://` and no StartTLS).
    pub uri: String,
    /// How to bind.
    pub bind: LdapBind,
    /// The DN of a principal's entry, with `{}` where the principal goes
    /// (escaped as a DN value), e.g. `uid={},ou=people,dc=example,dc=test`. A
    /// principal is a member when this DN is among the group's `member` or
    /// `uniqueMember` values.
    pub user_dn: String,
    /// How long a group's member list read from the directory is used before it
    /// is read again. Also the longest time a change in the directory (a member
    /// added or removed) goes unnoticed, and the longest time decisions go on
    /// while the directory is down.
    pub ttl: Duration,
    /// The longest wait for each step of a lookup (connect, bind, search); a
    /// lookup takes at most three times this.
    pub timeout: Duration,
}

impl LdapGroupsConfig {
    /// A config with a 60 s TTL and a 5 s timeout.
    pub fn new(uri: impl Into<String>, bind: LdapBind, user_dn: impl Into<String>) -> Self {
        LdapGroupsConfig {
            uri: uri.into(),
            bind,
            user_dn: user_dn.into(),
            ttl: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A config [`LdapGroups::new`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LDAP group directory: {0}")]
pub struct LdapConfigError(String);

/// The most groups cached at once; rules name a handful.
const MAX_CACHED_GROUPS: usize = 1024;

struct Cached {
    fetched: Instant,
    members: Arc<HashSet<String>>,
}

/// Group membership from an LDAP directory, for ACL principals written
/// `ldap-group:DN`: the [`GroupDirectory`] to pass to
/// [`Acls::decide_with`](super::Acls::decide_with).
///
/// Each lookup opens a connection, binds, reads the group entry's `member` and
/// `uniqueMember` values, and closes it. The member list is kept for
/// [`LdapGroupsConfig::ttl`]; an expired list is never used: when the
/// directory cannot be read then, the lookup fails
/// ([`GroupLookupError::Unavailable`]), a warning is logged, and the decision
/// is a refusal. A group that does not exist is an error too
/// ([`GroupLookupError::NoSuchGroup`]), not an empty group.
///
/// Blocking: ldap3's blocking client runs a runtime of its own, so call this
/// (through `decide_with`) from a plain thread, or from async code through
/// `tokio::task::spawn_blocking`; calling it on a tokio worker panics in tokio.
pub struct LdapGroups {
    config: LdapGroupsConfig,
    cache: Mutex<HashMap<String, Cached>>,
    lookups: AtomicU64,
}

impl std::fmt::Debug for LdapGroups {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapGroups")
            .field("config", &self.config)
            .field("cached_groups", &self.cache.lock().len())
            .finish_non_exhaustive()
    }
}

impl LdapGroups {
    /// Checks `config` (URI scheme, `{}` in `user_dn`, where a password may go).
    pub fn new(config: LdapGroupsConfig) -> Result<LdapGroups, LdapConfigError> {
        let bad = |why: String| Err(LdapConfigError(why));
        let (scheme, rest) = config.uri.split_once("://").unwrap_or(("", ""));
        if !matches!(scheme, "ldap" | "ldapi") {
            return bad(format!(
                "URI {:?}: only ldap:// and ldapi:// are supported (this build has no TLS)",
                config.uri
            ));
        }
        if config.user_dn.matches("{}").count() != 1 {
            return bad(format!("user_dn {:?} must hold exactly one {{}} for the principal", config.user_dn));
        }
        if config.ttl.is_zero() || config.timeout.is_zero() {
            return bad("ttl and timeout must be above zero".to_owned());
        }
        if let LdapBind::Simple { password, .. } = &config.bind {
            if std::str::from_utf8(password.expose()).is_err() {
                return bad("the bind password is not UTF-8".to_owned());
            }
            if scheme == "ldap" && !is_loopback_host(rest) {
                return bad(format!(
                    "URI {:?}: a simple bind would send the password in clear to a host that is not loopback",
                    config.uri
                ));
            }
        }
        Ok(LdapGroups { config, cache: Mutex::new(HashMap::new()), lookups: AtomicU64::new(0) })
    }

    /// How many times the directory has been read (cache misses), for tests and
    /// metrics.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::Relaxed)
    }

    /// Forgets every cached member list: the next lookup of each group reads the
    /// directory.
    pub fn clear(&self) {
        self.cache.lock().clear();
    }

    fn members(&self, group_dn: &str) -> Result<Arc<HashSet<String>>, GroupLookupError> {
        let key = normalize_dn(group_dn);
        let now = Instant::now();
        let fresh = self
            .cache
            .lock()
            .get(&key)
            .filter(|cached| now.duration_since(cached.fetched) < self.config.ttl)
            .map(|cached| Arc::clone(&cached.members));
        if let Some(members) = fresh {
            return Ok(members);
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let fetched = self.fetch(group_dn);
        let mut cache = self.cache.lock();
        match fetched {
            Ok(members) => {
                let members = Arc::new(members);
                if cache.len() >= MAX_CACHED_GROUPS {
                    let ttl = self.config.ttl;
                    cache.retain(|_, c| now.duration_since(c.fetched) < ttl);
                    if cache.len() >= MAX_CACHED_GROUPS {
                        cache.clear();
                    }
                }
                cache.insert(key, Cached { fetched: now, members: Arc::clone(&members) });
                Ok(members)
            }
            Err(e) => {
                // An expired list is never used again.
                cache.remove(&key);
                log::warn!(target: LOG_TARGET, "LDAP group {group_dn:?} at {}: {e}", self.config.uri);
                Err(e)
            }
        }
    }

    /// Reads the group's member DNs (normalized) from the directory.
    fn fetch(&self, group_dn: &str) -> Result<HashSet<String>, GroupLookupError> {
        let timeout = self.config.timeout;
        let settings = LdapConnSettings::new().set_conn_timeout(timeout);
        let mut conn = LdapConn::with_settings(settings, &self.config.uri).map_err(unavailable)?;
        if let LdapBind::Simple { dn, password } = &self.config.bind {
            // Checked to be UTF-8 in `new`.
            let password = std::str::from_utf8(password.expose()).unwrap_or_default();
            conn.with_timeout(timeout)
                .simple_bind(dn, password)
                .map_err(unavailable)?
                .success()
                .map_err(|e| GroupLookupError::Failed(format!("bind as {dn:?}: {}", result_text(&e))))?;
        }
        let searched = conn
            .with_timeout(timeout)
            .search(group_dn, Scope::Base, "(objectClass=*)", vec!["member", "uniqueMember"])
            .map_err(unavailable)?
            .success();
        let _ = conn.unbind();
        let entries = match searched {
            Ok((entries, _)) => entries,
            Err(LdapError::LdapResult { result }) if result.rc == 32 => return Err(GroupLookupError::NoSuchGroup),
            Err(e) => return Err(GroupLookupError::Failed(format!("search: {}", result_text(&e)))),
        };
        let mut members = HashSet::new();
        for entry in entries {
            // ldap3 panics on a malformed entry; a directory's bad answer must
            // not take the process down.
            let entry = std::panic::catch_unwind(|| SearchEntry::construct(entry))
                .map_err(|_| GroupLookupError::Failed("malformed search entry".to_owned()))?;
            for (name, values) in entry.attrs {
                if name.eq_ignore_ascii_case("member") || name.eq_ignore_ascii_case("uniqueMember") {
                    members.extend(values.iter().map(|v| normalize_dn(v)));
                }
            }
        }
        Ok(members)
    }
}

impl GroupDirectory for LdapGroups {
    fn is_member(&self, group_dn: &str, principal: &str) -> Result<bool, GroupLookupError> {
        let members = self.members(group_dn)?;
        let user = self.config.user_dn.replace("{}", &dn_escape(principal));
        Ok(members.contains(&normalize_dn(&user)))
    }
}

fn unavailable(e: LdapError) -> GroupLookupError {
    GroupLookupError::Unavailable(e.to_string())
}

/// An LDAP result's code and the directory's text; other errors as they are.
fn result_text(e: &LdapError) -> String {
    match e {
        LdapError::LdapResult { result } => format!("result code {} {:?}", result.rc, result.text),
        other => other.to_string(),
    }
}

/// A DN in a form two spellings of one DN share, for comparison: lower case
/// (attribute names and the usual values are case-insensitive), no spaces
/// around `,` `=` and `+`. Escaped characters are kept as they are.
fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut chars = dn.trim().chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.extend(next.to_lowercase());
                }
            }
            ',' | '=' | '+' => {
                while out.ends_with(' ') {
                    out.pop();
                }
                out.push(c);
                while chars.peek() == Some(&' ') {
                    chars.next();
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Whether the host of `rest` (what follows `ldap://`) is a loopback address.
fn is_loopback_host(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        authority.rsplit_once(':').map_or(authority, |(host, _port)| host)
    };
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_dn_normalize_alike() {
        assert_eq!(
            normalize_dn("UID=alice, OU=People,dc=Example ,dc=test"),
            normalize_dn("uid=alice,ou=people,dc=example,dc=test")
        );
        assert_ne!(normalize_dn("uid=alice\\,x,ou=people"), normalize_dn("uid=alice,x,ou=people"));
    }

    #[test]
    fn a_password_goes_in_clear_only_to_loopback() {
        let config = |uri: &str| {
            LdapGroupsConfig::new(
                uri,
                LdapBind::Simple { dn: "uid=s,dc=x".into(), password: Secret::from("pw") },
                "uid={},dc=x",
            )
        };
        for uri in ["ldap://127.0.0.1:389", "ldap://localhost", "ldap://[::1]:1389/", "ldapi://%2Ftmp%2Fs"] {
            assert!(LdapGroups::new(config(uri)).is_ok(), "{uri}");
        }
        for uri in ["ldap://ldap.example.com", "ldap://10.0.0.1:389", "ldaps://127.0.0.1", "http://127.0.0.1"] {
            let e = LdapGroups::new(config(uri)).unwrap_err();
            assert!(!e.to_string().contains("pw\""), "no secret in {e}");
        }
        let anonymous = LdapGroupsConfig::new("ldap://ldap.example.com", LdapBind::Anonymous, "uid={},dc=x");
        assert!(LdapGroups::new(anonymous).is_ok(), "no password, nothing to leak");
    }

    #[test]
    fn user_dn_needs_one_placeholder() {
        let config = LdapGroupsConfig::new("ldap://127.0.0.1", LdapBind::Anonymous, "uid=alice,dc=x");
        assert!(LdapGroups::new(config).is_err());
    }
}

//! [`Registry`]: the master's one record of which libprocess UPID authenticated
//! as which principal (Mesos's `Master::authenticated` map), with generations so
//! that a stale session can never undo a newer one.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;

/// How many UPIDs a [`Registry`] remembers by default: 65,536, far more than
/// the frameworks and agents of one Mesos cluster. About 150 bytes each.
pub const DEFAULT_REGISTRY_CAPACITY: usize = 65_536;

/// The default most authenticated UPIDs one principal holds: 1,024.
pub const DEFAULT_MAX_UPIDS_PER_PRINCIPAL: usize = 1024;

/// The number of one authentication attempt of a UPID. Every attempt the
/// registry hears of gets a new one, larger than all before it, so "which
/// attempt is the latest for this UPID" is a comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Generation(u64);

impl Generation {
    /// The number itself (1, 2, 3, ... across the whole registry).
    pub fn get(self) -> u64 {
        self.0
    }
}

/// What the registry holds for an authenticated UPID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthenticatedPid {
    /// The principal its latest attempt authenticated as.
    pub principal: String,
    /// That attempt.
    pub generation: Generation,
}

#[derive(Debug)]
struct Entry {
    /// The latest attempt begun for this UPID.
    generation: Generation,
    /// `Some` once that attempt succeeded.
    principal: Option<String>,
}

#[derive(Debug)]
struct Inner {
    /// Every UPID, keyed by its text, shared with the index it is in.
    entries: HashMap<Arc<str>, Entry>,
    /// The UPIDs with an attempt in progress, oldest attempt first: the first
    /// to go when the registry is full.
    pending: BTreeMap<Generation, Arc<str>>,
    /// The authenticated UPIDs of each principal, oldest first.
    by_principal: HashMap<String, BTreeMap<Generation, Arc<str>>>,
    next: u64,
    capacity: usize,
    max_per_principal: usize,
}

impl Inner {
    /// Removes `pid` (whose entry is `entry`) from the index it is in.
    fn unindex(&mut self, pid: &str, entry: &Entry) {
        match &entry.principal {
            None => {
                self.pending.remove(&entry.generation);
            }
            Some(principal) => {
                if let Some(pids) = self.by_principal.get_mut(principal.as_str()) {
                    if pids.get(&entry.generation).is_some_and(|p| &**p == pid) {
                        pids.remove(&entry.generation);
                    }
                    if pids.is_empty() {
                        self.by_principal.remove(principal.as_str());
                    }
                }
            }
        }
    }

    fn remove(&mut self, pid: &str) -> Option<Entry> {
        let entry = self.entries.remove(pid)?;
        self.unindex(pid, &entry);
        Some(entry)
    }
}

/// A new attempt was refused: the [`Registry`] holds
/// [`capacity`](Registry::capacity) UPIDs, all authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the registry of authenticated UPIDs is full ({capacity} UPIDs, all authenticated)")]
pub struct RegistryFull {
    /// Its capacity.
    pub capacity: usize,
}

/// The master's registry of authenticated UPIDs: what registration (and
/// authorization) reads to learn who a framework or agent is.
///
/// One registry per master. It is a cheap handle: clones share the same table,
/// so an [`Authenticator`](super::Authenticator) writes it and the code that
/// handles registrations reads it, from any thread.
///
/// The rules, as Mesos's master keeps its `authenticated` map, plus
/// generations and bounds:
/// - An `AuthenticateMessage` for a UPID begins a new attempt: it gets a new
///   [`Generation`], and the UPID stops counting as authenticated until that
///   attempt succeeds (Mesos: `authenticated.erase(pid)`).
/// - Only the end of the **latest** attempt of a UPID changes its entry. A
///   stale attempt (one that a newer `AuthenticateMessage` for the same UPID
///   replaced) that ends later, whether it failed, timed out or even succeeded,
///   changes nothing: it can neither erase nor overwrite the newer outcome.
/// - Bounded: at most [`capacity`](Self::capacity) UPIDs, authenticated or with
///   an attempt in progress. A new UPID that would exceed it forgets the UPID
///   whose attempt in progress began longest ago (its success will not be
///   recorded; logged at `warn`). An authenticated UPID is never forgotten to
///   make room: with every UPID authenticated, the new attempt is refused
///   ([`RegistryFull`]; the peer retries later).
/// - At most [`max_upids_per_principal`](Self::max_upids_per_principal)
///   authenticated UPIDs per principal (default
///   [`DEFAULT_MAX_UPIDS_PER_PRINCIPAL`]): a principal that authenticates one
///   more forgets its own oldest one (logged at `warn`), so one principal,
///   however many UPIDs it authenticates, never removes another's.
/// - [`forget`](Self::forget) removes a UPID (it disconnected, it was removed);
///   the same holds for an attempt of it still in progress.
#[derive(Clone)]
pub struct Registry(Arc<Mutex<Inner>>);

impl Default for Registry {
    /// A registry of [`DEFAULT_REGISTRY_CAPACITY`] UPIDs,
    /// [`DEFAULT_MAX_UPIDS_PER_PRINCIPAL`] per principal.
    fn default() -> Self {
        Registry::new(DEFAULT_REGISTRY_CAPACITY)
    }
}

impl Registry {
    /// An empty registry holding at most `capacity` UPIDs (at least 1), and
    /// [`DEFAULT_MAX_UPIDS_PER_PRINCIPAL`] authenticated UPIDs per principal.
    pub fn new(capacity: usize) -> Self {
        Registry(Arc::new(Mutex::new(Inner {
            entries: HashMap::new(),
            pending: BTreeMap::new(),
            by_principal: HashMap::new(),
            next: 0,
            capacity: capacity.max(1),
            max_per_principal: DEFAULT_MAX_UPIDS_PER_PRINCIPAL,
        })))
    }

    /// Sets how many authenticated UPIDs one principal may hold (at least 1),
    /// for every clone of this registry. A principal over the new limit
    /// forgets its oldest UPIDs at its next success.
    pub fn set_max_upids_per_principal(&self, max: usize) {
        self.0.lock().max_per_principal = max.max(1);
    }

    /// How many authenticated UPIDs one principal may hold.
    pub fn max_upids_per_principal(&self) -> usize {
        self.0.lock().max_per_principal
    }

    /// The principal `pid` authenticated as, if its latest attempt succeeded.
    pub fn authenticated(&self, pid: &str) -> Option<String> {
        self.0.lock().entries.get(pid).and_then(|e| e.principal.clone())
    }

    /// The same, with the attempt's generation.
    pub fn get(&self, pid: &str) -> Option<AuthenticatedPid> {
        let inner = self.0.lock();
        let entry = inner.entries.get(pid)?;
        Some(AuthenticatedPid { principal: entry.principal.clone()?, generation: entry.generation })
    }

    /// Forgets `pid`, returning the principal it had authenticated as. An
    /// attempt of it still in progress will not be recorded either.
    pub fn forget(&self, pid: &str) -> Option<String> {
        self.0.lock().remove(pid)?.principal
    }

    /// Forgets every UPID and every attempt in progress (a master that steps
    /// down starts its next term empty).
    pub fn clear(&self) {
        let mut inner = self.0.lock();
        inner.entries.clear();
        inner.pending.clear();
        inner.by_principal.clear();
    }

    /// How many UPIDs are authenticated now.
    pub fn len(&self) -> usize {
        let inner = self.0.lock();
        inner.entries.len() - inner.pending.len()
    }

    /// True when no UPID is authenticated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most UPIDs it holds.
    pub fn capacity(&self) -> usize {
        self.0.lock().capacity
    }

    /// [`try_begin`](Self::try_begin), for tests of a registry with room.
    #[cfg(test)]
    pub(crate) fn begin(&self, pid: &str) -> Generation {
        self.try_begin(&Arc::from(pid)).expect("a test registry with room")
    }

    /// A new attempt for `pid` begins: it is no longer authenticated, and only
    /// the returned generation's end will count. Refused when `pid` is new and
    /// every UPID held is authenticated.
    pub(crate) fn try_begin(&self, pid: &Arc<str>) -> Result<Generation, RegistryFull> {
        let mut inner = self.0.lock();
        if let Some(old) = inner.remove(pid) {
            if let Some(principal) = old.principal {
                log::debug!("{pid:?} (principal {principal:?}) authenticates again");
            }
        } else if inner.entries.len() >= inner.capacity {
            let Some((_, oldest)) = inner.pending.pop_first() else {
                return Err(RegistryFull { capacity: inner.capacity });
            };
            inner.entries.remove(&oldest);
            log::warn!(
                "authenticated-UPID registry full ({} entries): dropping the attempt in progress of {oldest:?}",
                inner.capacity
            );
        }
        inner.next += 1;
        let generation = Generation(inner.next);
        inner.entries.insert(Arc::clone(pid), Entry { generation, principal: None });
        inner.pending.insert(generation, Arc::clone(pid));
        Ok(generation)
    }

    /// Attempt `generation` of `pid` ended: authenticated as `principal`, or
    /// not (`None`). Returns whether it was still the latest attempt (and so
    /// was recorded).
    pub(crate) fn finish(&self, pid: &str, generation: Generation, principal: Option<&str>) -> bool {
        let mut inner = self.0.lock();
        let Some((key, entry)) = inner.entries.get_key_value(pid) else { return false };
        if entry.generation != generation || entry.principal.is_some() {
            return false;
        }
        let key = Arc::clone(key);
        inner.pending.remove(&generation);
        let Some(principal) = principal else {
            inner.entries.remove(pid);
            return true;
        };
        if let Some(entry) = inner.entries.get_mut(pid) {
            entry.principal = Some(principal.to_owned());
        }
        let max = inner.max_per_principal;
        let pids = inner.by_principal.entry(principal.to_owned()).or_default();
        pids.insert(generation, key);
        let mut evicted = Vec::new();
        while pids.len() > max {
            let Some((_, oldest)) = pids.pop_first() else { break };
            evicted.push(oldest);
        }
        for oldest in evicted {
            inner.entries.remove(&oldest);
            log::warn!(
                "principal {principal:?} holds {max} authenticated UPIDs, its limit: forgetting its oldest, \
                 {oldest:?}, which must authenticate again"
            );
        }
        true
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.0.lock();
        f.debug_struct("Registry")
            .field("entries", &inner.entries.len())
            .field("pending", &inner.pending.len())
            .field("capacity", &inner.capacity)
            .field("max_upids_per_principal", &inner.max_per_principal)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_attempt_ending_never_erases_or_overwrites_a_newer_success() {
        let registry = Registry::new(8);
        let old = registry.begin("fw@127.0.0.1:1");
        let new = registry.begin("fw@127.0.0.1:1");
        assert!(new > old);
        assert!(registry.finish("fw@127.0.0.1:1", new, Some("alice")));
        // The stale attempt ends afterwards, in failure or even in success.
        assert!(!registry.finish("fw@127.0.0.1:1", old, None));
        assert!(!registry.finish("fw@127.0.0.1:1", old, Some("mallory")));
        assert_eq!(registry.authenticated("fw@127.0.0.1:1").as_deref(), Some("alice"));
        assert_eq!(registry.get("fw@127.0.0.1:1").unwrap().generation, new);
    }

    #[test]
    fn a_new_attempt_clears_the_previous_success_until_it_ends() {
        let registry = Registry::new(8);
        let first = registry.begin("p");
        registry.finish("p", first, Some("alice"));
        let second = registry.begin("p");
        assert_eq!(registry.authenticated("p"), None);
        registry.finish("p", second, None);
        assert_eq!(registry.authenticated("p"), None);
        assert!(registry.is_empty());
    }

    #[test]
    fn forgetting_removes_the_pid_and_an_attempt_in_progress() {
        let registry = Registry::new(8);
        let g = registry.begin("p");
        registry.finish("p", g, Some("alice"));
        assert_eq!(registry.forget("p").as_deref(), Some("alice"));
        assert_eq!(registry.authenticated("p"), None);
        let g = registry.begin("p");
        assert_eq!(registry.forget("p"), None);
        assert!(!registry.finish("p", g, Some("alice")));
        assert_eq!(registry.authenticated("p"), None);
    }

    fn authenticate(registry: &Registry, pid: &str, principal: &str) -> Result<Generation, RegistryFull> {
        let g = registry.try_begin(&Arc::from(pid))?;
        assert!(registry.finish(pid, g, Some(principal)));
        Ok(g)
    }

    #[test]
    fn full_of_authenticated_upids_it_refuses_a_new_attempt_and_evicts_none() {
        let registry = Registry::new(3);
        for pid in ["a", "b", "c"] {
            authenticate(&registry, pid, pid).unwrap();
        }
        assert_eq!(registry.try_begin(&Arc::from("d")), Err(RegistryFull { capacity: 3 }));
        for pid in ["a", "b", "c"] {
            assert_eq!(registry.authenticated(pid).as_deref(), Some(pid));
        }
        // A UPID it holds may always begin again.
        authenticate(&registry, "a", "a").unwrap();
        assert_eq!(registry.len(), 3);
    }

    #[test]
    fn when_full_it_evicts_the_oldest_attempt_in_progress_first() {
        let registry = Registry::new(3);
        authenticate(&registry, "a", "alice").unwrap();
        let b = registry.begin("b");
        let c = registry.begin("c");
        let d = registry.try_begin(&Arc::from("d")).unwrap();
        // "b" was the oldest attempt in progress: it went, and its success is not recorded.
        assert!(!registry.finish("b", b, Some("bob")));
        assert!(registry.finish("c", c, Some("carol")));
        assert!(registry.finish("d", d, Some("dave")));
        assert_eq!(registry.authenticated("a").as_deref(), Some("alice"));
        assert_eq!(registry.authenticated("b"), None);
        assert_eq!(registry.len(), 3);

        let many = Registry::new(2);
        for i in 0..1000 {
            many.begin(&format!("p{i}"));
        }
        let inner = many.0.lock();
        assert_eq!((inner.entries.len(), inner.pending.len()), (2, 2));
    }

    #[test]
    fn a_principal_over_its_quota_forgets_only_its_own_oldest_upid() {
        let registry = Registry::new(100);
        registry.set_max_upids_per_principal(2);
        authenticate(&registry, "victim", "alice").unwrap();
        for i in 0..10 {
            authenticate(&registry, &format!("m{i}"), "mallory").unwrap();
        }
        assert_eq!(registry.authenticated("victim").as_deref(), Some("alice"));
        for i in 0..8 {
            assert_eq!(registry.authenticated(&format!("m{i}")), None);
        }
        for i in 8..10 {
            assert_eq!(registry.authenticated(&format!("m{i}")).as_deref(), Some("mallory"));
        }
        assert_eq!(registry.len(), 3);
        // Forgetting and re-authenticating keep the per-principal index in step.
        assert_eq!(registry.forget("m9").as_deref(), Some("mallory"));
        authenticate(&registry, "m8", "mallory").unwrap();
        authenticate(&registry, "m10", "mallory").unwrap();
        assert_eq!(registry.authenticated("m8").as_deref(), Some("mallory"));
        let inner = registry.0.lock();
        assert_eq!(inner.by_principal["mallory"].len(), 2);
        assert_eq!(inner.entries.len(), 3);
    }

    #[test]
    fn clones_share_one_table() {
        let registry = Registry::default();
        let reader = registry.clone();
        let g = registry.begin("p");
        registry.finish("p", g, Some("alice"));
        assert_eq!(reader.authenticated("p").as_deref(), Some("alice"));
        assert_eq!(reader.capacity(), DEFAULT_REGISTRY_CAPACITY);
    }
}

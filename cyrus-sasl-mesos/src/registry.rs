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
    entries: HashMap<String, Entry>,
    /// Every entry's generation, oldest first, for eviction.
    order: BTreeMap<Generation, String>,
    next: u64,
    capacity: usize,
}

/// The master's registry of authenticated UPIDs: what registration (and
/// authorization) reads to learn who a framework or agent is.
///
/// One registry per master. It is a cheap handle: clones share the same table,
/// so an [`Authenticator`](super::Authenticator) writes it and the code that
/// handles registrations reads it, from any thread.
///
/// The rules, as Mesos's master keeps its `authenticated` map, plus
/// generations:
/// - An `AuthenticateMessage` for a UPID begins a new attempt: it gets a new
///   [`Generation`], and the UPID stops counting as authenticated until that
///   attempt succeeds (Mesos: `authenticated.erase(pid)`).
/// - Only the end of the **latest** attempt of a UPID changes its entry. A
///   stale attempt (one that a newer `AuthenticateMessage` for the same UPID
///   replaced) that ends later, whether it failed, timed out or even succeeded,
///   changes nothing: it can neither erase nor overwrite the newer outcome.
/// - Bounded: at most [`capacity`](Self::capacity) UPIDs, authenticated or with an
///   attempt in progress. When a new UPID would exceed it, the UPID whose latest
///   attempt began longest ago is forgotten (logged at `warn`); it must
///   authenticate again. An attempt in progress for a forgotten UPID is not
///   recorded when it succeeds.
/// - [`forget`](Self::forget) removes a UPID (it disconnected, it was removed);
///   the same holds for an attempt of it still in progress.
#[derive(Clone)]
pub struct Registry(Arc<Mutex<Inner>>);

impl Default for Registry {
    /// A registry of [`DEFAULT_REGISTRY_CAPACITY`] UPIDs.
    fn default() -> Self {
        Registry::new(DEFAULT_REGISTRY_CAPACITY)
    }
}

impl Registry {
    /// An empty registry holding at most `capacity` UPIDs (at least 1).
    pub fn new(capacity: usize) -> Self {
        Registry(Arc::new(Mutex::new(Inner {
            entries: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            capacity: capacity.max(1),
        })))
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
        let mut inner = self.0.lock();
        let entry = inner.entries.remove(pid)?;
        inner.order.remove(&entry.generation);
        entry.principal
    }

    /// Forgets every UPID and every attempt in progress (a master that steps
    /// down starts its next term empty).
    pub fn clear(&self) {
        let mut inner = self.0.lock();
        inner.entries.clear();
        inner.order.clear();
    }

    /// How many UPIDs are authenticated now.
    pub fn len(&self) -> usize {
        self.0.lock().entries.values().filter(|e| e.principal.is_some()).count()
    }

    /// True when no UPID is authenticated.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The most UPIDs it holds.
    pub fn capacity(&self) -> usize {
        self.0.lock().capacity
    }

    /// A new attempt for `pid` begins: it is no longer authenticated, and only
    /// the returned generation's end will count.
    pub(crate) fn begin(&self, pid: &str) -> Generation {
        let mut inner = self.0.lock();
        inner.next += 1;
        let generation = Generation(inner.next);
        let old = inner.entries.insert(pid.to_owned(), Entry { generation, principal: None });
        if let Some(old) = old {
            inner.order.remove(&old.generation);
        }
        inner.order.insert(generation, pid.to_owned());
        while inner.entries.len() > inner.capacity {
            let Some((_, oldest)) = inner.order.pop_first() else { break };
            inner.entries.remove(&oldest);
            log::warn!(
                "authenticated-UPID registry full ({} entries): forgetting {oldest:?}, which must authenticate again",
                inner.capacity
            );
        }
        generation
    }

    /// Attempt `generation` of `pid` ended: authenticated as `principal`, or
    /// not (`None`). Returns whether it was still the latest attempt (and so
    /// was recorded).
    pub(crate) fn finish(&self, pid: &str, generation: Generation, principal: Option<&str>) -> bool {
        let mut inner = self.0.lock();
        let Some(entry) = inner.entries.get_mut(pid) else { return false };
        if entry.generation != generation {
            return false;
        }
        match principal {
            Some(principal) => entry.principal = Some(principal.to_owned()),
            None => {
                inner.entries.remove(pid);
                inner.order.remove(&generation);
            }
        }
        true
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.0.lock();
        f.debug_struct("Registry")
            .field("entries", &inner.entries.len())
            .field("capacity", &inner.capacity)
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

    #[test]
    fn it_is_bounded_and_evicts_the_oldest_attempt_first() {
        let registry = Registry::new(3);
        for pid in ["a", "b", "c"] {
            let g = registry.begin(pid);
            registry.finish(pid, g, Some(pid));
        }
        // "a" begins again, so "b" is now the oldest.
        let g = registry.begin("a");
        registry.finish("a", g, Some("a"));
        let g = registry.begin("d");
        registry.finish("d", g, Some("d"));
        assert_eq!(registry.len(), 3);
        assert_eq!(registry.authenticated("b"), None);
        for pid in ["a", "c", "d"] {
            assert_eq!(registry.authenticated(pid).as_deref(), Some(pid));
        }
        let many = Registry::new(2);
        for i in 0..1000 {
            many.begin(&format!("p{i}"));
        }
        assert_eq!(many.0.lock().entries.len(), 2);
        assert_eq!(many.0.lock().order.len(), 2);
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

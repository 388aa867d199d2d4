//! An in-memory cache in front of RocksDB for the reads block execution does most: the latest value
//! of a state key.
//!
//! [`LatestValues`] holds values *as of one version* (the tip). Committing version `v + 1` applies
//! that version's writes, so every other cached entry stays true at `v + 1`. A read at any other
//! version bypasses it. Misses are filled from RocksDB only if the tip has not moved meanwhile.
//! (Tree nodes are not cached here: measured twice, with copies and with shared `Arc`s of each
//! committed node, a node cache cost more than reading the nodes the next block needs from RocksDB's
//! memtable and block cache.)
//!
//! It is bounded by two generations of at most `cap` entries each: when the current generation is
//! full it becomes the previous one and the older is dropped, and a hit in the previous generation
//! moves the entry back into the current one — a cheap approximation of least-recently-used. Keys are
//! SM3 outputs, so the fast non-cryptographic Fx hash is enough.

use std::hash::Hash;
use std::sync::Mutex;

use rustc_hash::FxHashMap as HashMap;
use scf_ledger::authenticated::{KeyHash, Version};

/// A bounded map of two generations.
struct Generations<K, V> {
    cur: HashMap<K, V>,
    prev: HashMap<K, V>,
    cap: usize,
}

impl<K: Hash + Eq, V: Clone> Generations<K, V> {
    fn new(cap: usize) -> Self {
        let cap = cap.max(1);
        Generations { cur: Self::map(cap), prev: HashMap::default(), cap }
    }

    /// Sized for a whole generation up front: growing a map of this size rehashes it several times.
    fn map(cap: usize) -> HashMap<K, V> {
        HashMap::with_capacity_and_hasher(cap, Default::default())
    }

    fn get(&mut self, k: &K) -> Option<V> {
        if let Some(v) = self.cur.get(k) {
            return Some(v.clone());
        }
        let (k, v) = self.prev.remove_entry(k)?;
        let out = v.clone();
        self.insert(k, v);
        Some(out)
    }

    /// Look `k` up without copying or promoting it.
    fn peek(&self, k: &K) -> Option<&V> {
        self.cur.get(k).or_else(|| self.prev.get(k))
    }

    fn insert(&mut self, k: K, v: V) {
        if self.cur.len() >= self.cap && !self.cur.contains_key(&k) {
            self.prev = std::mem::replace(&mut self.cur, Self::map(self.cap));
        }
        self.prev.remove(&k);
        self.cur.insert(k, v);
    }

    fn clear(&mut self) {
        self.cur.clear();
        self.prev.clear();
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.cur.len() + self.prev.len()
    }
}

/// The version the entries are true at, and the entries.
type Versioned = (Option<Version>, Generations<KeyHash, Option<Vec<u8>>>);

/// Latest values by key hash (`None`: the key has no value at that version).
pub(crate) struct LatestValues {
    inner: Mutex<Versioned>,
}

impl LatestValues {
    pub(crate) fn new(cap: usize) -> Self {
        LatestValues { inner: Mutex::new((None, Generations::new(cap))) }
    }

    /// The cached value of `key` at `version`; `None` when not cached (or cached for another version).
    pub(crate) fn get(&self, version: Version, key: &KeyHash) -> Option<Option<Vec<u8>>> {
        let mut g = self.inner.lock().ok()?;
        if g.0 != Some(version) {
            return None;
        }
        g.1.get(key)
    }

    /// Whether `key` has a value at `version`; `None` when the cache cannot tell.
    pub(crate) fn has_value(&self, version: Version, key: &KeyHash) -> Option<bool> {
        let g = self.inner.lock().ok()?;
        if g.0 != Some(version) {
            return None;
        }
        g.1.peek(key).map(Option::is_some)
    }

    /// Remember what RocksDB returned for `key` at `version`, if `version` is still the cached one.
    pub(crate) fn fill(&self, version: Version, key: KeyHash, value: Option<Vec<u8>>) {
        if let Ok(mut g) = self.inner.lock() {
            if g.0 == Some(version) {
                g.1.insert(key, value);
            }
        }
    }

    /// `version` was committed with these writes. Cached entries of `version - 1` stay true (the writes
    /// are the only changes); otherwise the cache starts over at `version`.
    pub(crate) fn committed<'a>(
        &self,
        version: Version,
        writes: impl Iterator<Item = (&'a KeyHash, &'a Option<Vec<u8>>)>,
    ) {
        if let Ok(mut g) = self.inner.lock() {
            let follows = matches!((g.0, version.checked_sub(1)), (Some(cached), Some(prev)) if cached == prev);
            if !follows {
                g.1.clear();
            }
            g.0 = Some(version);
            for (k, v) in writes {
                g.1.insert(*k, v.clone());
            }
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().map(|g| g.1.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kh(i: u8) -> KeyHash {
        KeyHash([i; 32])
    }

    #[test]
    fn generations_stay_bounded_and_keep_recent_entries() {
        let mut g = Generations::new(3);
        for i in 0..10u8 {
            g.insert(i, i);
            assert!(g.len() <= 6);
        }
        assert_eq!(g.get(&9), Some(9));
        assert_eq!(g.get(&0), None, "the oldest entries are dropped");
        // A hit in the previous generation survives the next rotation.
        let older = (0..10u8).find(|i| g.prev.contains_key(i)).expect("a previous generation");
        assert_eq!(g.get(&older), Some(older));
        assert!(g.cur.contains_key(&older));
    }

    #[test]
    fn latest_values_answer_only_for_their_version() {
        let c = LatestValues::new(100);
        c.fill(5, kh(1), Some(b"a".to_vec()));
        assert_eq!(c.get(5, &kh(1)), None, "nothing is cached before a version is committed");
        c.committed(5, [(&kh(1), &Some(b"a".to_vec()))].into_iter());
        assert_eq!(c.get(5, &kh(1)), Some(Some(b"a".to_vec())));
        assert_eq!(c.get(4, &kh(1)), None, "older versions read RocksDB");
        c.fill(5, kh(2), None);
        assert_eq!(c.get(5, &kh(2)), Some(None), "absence is cached too");
        assert_eq!(c.has_value(5, &kh(1)), Some(true));
        assert_eq!(c.has_value(5, &kh(2)), Some(false));
        assert_eq!(c.has_value(5, &kh(9)), None, "not cached: unknown");
        assert_eq!(c.has_value(4, &kh(1)), None, "another version: unknown");
        // Version 6 changes key 2 only: key 1 is still true at 6.
        c.committed(6, [(&kh(2), &Some(b"b".to_vec()))].into_iter());
        assert_eq!(c.get(6, &kh(1)), Some(Some(b"a".to_vec())));
        assert_eq!(c.get(6, &kh(2)), Some(Some(b"b".to_vec())));
        // A fill for a version that is no longer the tip is ignored.
        c.fill(5, kh(3), Some(b"stale".to_vec()));
        assert_eq!(c.get(6, &kh(3)), None);
        // A gap (version 8 after 6) starts over.
        c.committed(8, [(&kh(4), &None)].into_iter());
        assert_eq!(c.get(8, &kh(1)), None);
        assert_eq!(c.len(), 1);
    }
}

//! A bounded, thread-safe cache of per-key tables for the few hundred accounts of a consortium.
//!
//! With a key's fixed-window table at hand, s·G + t·P is two fixed-base multiplications with no
//! doubling. Building the table costs several cold verifications, so a key is admitted only after it
//! has produced `warm_after` valid signatures: keys that sign once (or never validly) never cost a
//! table, and a stream of fresh keys cannot force table builds faster than it produces valid
//! signatures. Eviction is least-recently-used.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use crate::batch::{verify_cold_subset, BatchItem};
use crate::table::{FixedBaseTable, KEY_FIXED_WIDTH};
use crate::verify::{check_x, mul_warm, scalars};
use crate::{Error, VerifyingKey, DEFAULT_DIST_ID};

/// Non-default distinguishing ids whose Z_A a cached key remembers; the protocol uses only the default.
const OTHER_IDS_PER_KEY: usize = 4;

/// A distinguishing id and the Z_A it gives with one key.
type IdDigest = (Box<[u8]>, [u8; 32]);

struct Entry {
    table: FixedBaseTable,
    key: VerifyingKey,
    z_a_default: [u8; 32],
    z_a_other: Mutex<Vec<IdDigest>>,
    last_used: AtomicU64,
}

impl Entry {
    fn z_a(&self, dist_id: &[u8]) -> Result<[u8; 32], Error> {
        if dist_id == DEFAULT_DIST_ID {
            return Ok(self.z_a_default);
        }
        let mut others = self.z_a_other.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, z)) = others.iter().find(|(id, _)| id.as_ref() == dist_id) {
            return Ok(*z);
        }
        let z = self.key.z_a(dist_id)?;
        if others.len() < OTHER_IDS_PER_KEY {
            others.push((dist_id.into(), z));
        }
        Ok(z)
    }
}

/// Verifies like [`VerifyingKey::verify`], keeping precomputed tables for the keys that sign often.
/// Answers are identical to the uncached path; only the time differs.
pub struct KeyCache {
    capacity: usize,
    warm_after: u32,
    clock: AtomicU64,
    entries: RwLock<HashMap<[u8; 65], Arc<Entry>>>,
    /// Valid signatures seen per key not yet admitted; cleared when it outgrows its bound.
    candidates: Mutex<HashMap<[u8; 65], u32>>,
}

impl KeyCache {
    /// Valid signatures a key must produce before its table is built. Building costs about five cold
    /// verifications and each later verification then costs about a third of a cold one (README), so a
    /// key pays its table back after a handful of signatures; one that signs once never pays for one.
    pub const DEFAULT_WARM_AFTER: u32 = 4;

    /// Heap bytes one cached key holds (its table dominates).
    pub const BYTES_PER_KEY: usize = FixedBaseTable::bytes(KEY_FIXED_WIDTH) + std::mem::size_of::<Entry>();

    /// A cache holding at most `capacity` keys' tables (`capacity × BYTES_PER_KEY` bytes at most).
    pub fn new(capacity: usize) -> KeyCache {
        KeyCache::with_warm_after(capacity, KeyCache::DEFAULT_WARM_AFTER)
    }

    /// Like [`KeyCache::new`], admitting a key after `warm_after` valid signatures (0 or 1: at the first).
    pub fn with_warm_after(capacity: usize, warm_after: u32) -> KeyCache {
        KeyCache {
            capacity,
            warm_after: warm_after.max(1),
            clock: AtomicU64::new(0),
            entries: RwLock::new(HashMap::new()),
            candidates: Mutex::new(HashMap::new()),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Keys whose tables are held now.
    pub fn len(&self) -> usize {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `key` (65-byte SEC1) has a table in the cache.
    pub fn contains(&self, key: &[u8]) -> bool {
        let Ok(key) = <&[u8; 65]>::try_from(key) else { return false };
        self.entries.read().unwrap_or_else(PoisonError::into_inner).contains_key(key)
    }

    /// Builds and holds `key`'s table now, for keys known to sign often (a consortium's members).
    pub fn preload(&self, key: &VerifyingKey) {
        if self.capacity > 0 && !self.contains(&key.bytes) {
            self.insert(key.clone());
        }
    }

    /// Verifies `sig` = r ‖ s over `msg` by `key` (65-byte SEC1) with `dist_id`; the answer equals
    /// `VerifyingKey::from_sec1_bytes(key)?.verify(dist_id, msg, sig)`.
    pub fn verify(&self, key: &[u8], dist_id: &[u8], msg: &[u8], sig: &[u8; 64]) -> Result<(), Error> {
        if let Some(entry) = self.lookup(key) {
            return verify_warm(&entry, dist_id, msg, sig);
        }
        let vk = VerifyingKey::from_sec1_bytes(key)?;
        let result = vk.verify(dist_id, msg, sig);
        if result.is_ok() {
            self.note_valid(&vk);
        }
        result
    }

    /// [`crate::verify_batch`] with this cache: cached keys take the warm path, the rest share one
    /// inversion on the cold path and count towards admission. `result[i]` equals [`KeyCache::verify`]
    /// on `items[i]`.
    pub fn verify_batch(&self, items: &[BatchItem<'_>]) -> Vec<Result<(), Error>> {
        let mut out = vec![Err(Error::Mismatch); items.len()];
        let mut cold = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match self.lookup(item.key) {
                Some(entry) => out[i] = verify_warm(&entry, item.dist_id, item.msg, item.sig),
                None => cold.push(i),
            }
        }
        for (i, result) in verify_cold_subset(items, &cold) {
            if result.is_ok() {
                if let Ok(vk) = VerifyingKey::from_sec1_bytes(items[i].key) {
                    self.note_valid(&vk);
                }
            }
            out[i] = result;
        }
        out
    }

    fn lookup(&self, key: &[u8]) -> Option<Arc<Entry>> {
        let key = <&[u8; 65]>::try_from(key).ok()?;
        let entry = self.entries.read().unwrap_or_else(PoisonError::into_inner).get(key).cloned()?;
        entry.last_used.store(self.clock.fetch_add(1, Ordering::Relaxed), Ordering::Relaxed);
        Some(entry)
    }

    /// Counts a valid signature by a key without a table; admits the key at `warm_after`.
    fn note_valid(&self, key: &VerifyingKey) {
        if self.capacity == 0 {
            return;
        }
        let admit = {
            let mut candidates = self.candidates.lock().unwrap_or_else(PoisonError::into_inner);
            // Bounded: a flood of one-off keys resets the counts instead of growing the map.
            if candidates.len() >= 4 * self.capacity.max(64) {
                candidates.clear();
            }
            let seen = candidates.entry(key.bytes).or_insert(0);
            *seen += 1;
            if *seen >= self.warm_after {
                candidates.remove(&key.bytes);
                true
            } else {
                false
            }
        };
        if admit {
            self.insert(key.clone());
        }
    }

    /// Builds the table outside any lock, then stores it, evicting the least recently used key if full.
    fn insert(&self, key: VerifyingKey) {
        let Ok(z_a_default) = key.z_a(DEFAULT_DIST_ID) else { return };
        let entry = Arc::new(Entry {
            table: FixedBaseTable::new(&key.point, KEY_FIXED_WIDTH),
            z_a_default,
            z_a_other: Mutex::new(Vec::new()),
            last_used: AtomicU64::new(self.clock.fetch_add(1, Ordering::Relaxed)),
            key,
        });
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.contains_key(&entry.key.bytes) {
            return;
        }
        if entries.len() >= self.capacity {
            let oldest = entries.iter().min_by_key(|(_, e)| e.last_used.load(Ordering::Relaxed)).map(|(k, _)| *k);
            if let Some(k) = oldest {
                entries.remove(&k);
            }
        }
        entries.insert(entry.key.bytes, entry);
    }
}

fn verify_warm(entry: &Entry, dist_id: &[u8], msg: &[u8], sig: &[u8; 64]) -> Result<(), Error> {
    let e = VerifyingKey::digest(&entry.z_a(dist_id)?, msg);
    let sc = scalars(sig, &e)?;
    check_x(&mul_warm(&sc.s, &sc.t, &entry.table), &sc.expected_x)
}

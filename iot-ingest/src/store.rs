//! The durable store of accepted readings (redb, fsync on every commit).
//!
//! One write transaction per group of verified messages checks each device's replay window, appends
//! the new readings under a local, gap-free index and moves the windows — so "stored" and "seen by the
//! replay window" can never disagree, even across a crash. Only after that commit does the service
//! acknowledge the MQTT messages. Batches are cut from the index in order ([`Store::cut_batch`]); a
//! batch record is written before its anchor transaction is sent and marked anchored after it commits,
//! so a restart re-checks pending batches against chain instead of anchoring them twice.

use std::collections::HashMap;
use std::path::Path;

use borsh::{BorshDeserialize, BorshSerialize};
use redb::{Database, Durability, ReadableTable, TableDefinition};
use scf_domain::device::ReadingRef;
use scf_ledger::crypto::{Address, Hash32};
use scf_ledger::merkle::{merkle_proof, merkle_root, MerkleProof};
use serde::{Deserialize, Serialize};

use crate::window::{ReplayVerdict, ReplayWindow};
use crate::wire::{Measurement, Reading};

const READINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("readings");
const BY_DEVICE: TableDefinition<(&str, u64), u64> = TableDefinition::new("by_device");
const WINDOWS: TableDefinition<&str, &[u8]> = TableDefinition::new("windows");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
const BATCH_START: TableDefinition<u64, u64> = TableDefinition::new("batch_start");

const NEXT_INDEX: &str = "next_index";
const BATCHED_UPTO: &str = "batched_upto";
const NEXT_BATCH: &str = "next_batch";

#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(pub String);

fn se(e: impl std::fmt::Display) -> StoreError {
    StoreError(e.to_string())
}

/// An accepted reading as stored.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StoredReading {
    pub index: u64,
    /// Organisation from the topic (checked against the device's owner).
    pub org: String,
    pub device_id: String,
    pub seq: u64,
    pub time_ms: u64,
    pub received_ms: u64,
    pub measurements: Vec<Measurement>,
    pub leaf: Hash32,
    /// The COSE_Sign1 message exactly as received (its SM3 is `leaf`).
    #[serde(with = "hex_vec")]
    pub message: Vec<u8>,
}

mod hex_vec {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A verified message waiting to be stored.
#[derive(Clone, Debug)]
pub struct Candidate {
    pub org: String,
    pub reading: Reading,
    pub leaf: Hash32,
    pub message: Vec<u8>,
    pub received_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreOutcome {
    Stored { index: u64 },
    Replay,
    TooOld,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum BatchStatus {
    Pending,
    Anchored { tx_id: Hash32, height: u64 },
}

/// A batch of readings `[first_index, end_index)` and its SM3 Merkle root.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct BatchRecord {
    pub batch: u64,
    pub first_index: u64,
    pub end_index: u64,
    pub root: Hash32,
    pub first: ReadingRef,
    pub last: ReadingRef,
    pub cut_ms: u64,
    pub status: BatchStatus,
}

impl BatchRecord {
    pub fn count(&self) -> u64 {
        self.end_index - self.first_index
    }
}

/// A reading's inclusion proof to its batch root (and the anchor, once committed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingProof {
    pub reading: StoredReading,
    pub batch: u64,
    pub root: Hash32,
    pub proof: MerkleProof,
    /// The account whose anchor numbering `batch` belongs to.
    pub anchorer: Address,
    pub status: BatchStatus,
}

impl ReadingProof {
    /// The message hashes to the leaf and the leaf is in the root. (Check the root against chain with
    /// `scf_domain::device::load_anchor(anchorer, batch)`.)
    pub fn verify(&self) -> bool {
        Hash32::of(&self.reading.message) == self.reading.leaf && self.proof.verify(&self.reading.leaf, &self.root)
    }
}

pub struct Store {
    db: Database,
}

fn meta(t: &impl ReadableTable<&'static str, u64>, k: &str) -> Result<u64, StoreError> {
    Ok(t.get(k).map_err(se)?.map(|v| v.value()).unwrap_or(0))
}

impl Store {
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(se)?;
        let tx = db.begin_write().map_err(se)?;
        {
            tx.open_table(READINGS).map_err(se)?;
            tx.open_table(BY_DEVICE).map_err(se)?;
            tx.open_table(WINDOWS).map_err(se)?;
            tx.open_table(META).map_err(se)?;
            tx.open_table(BATCHES).map_err(se)?;
            tx.open_table(BATCH_START).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(Store { db })
    }

    /// Check replay windows and store the new readings in one durable transaction.
    pub fn store(&self, items: &[Candidate]) -> Result<Vec<StoreOutcome>, StoreError> {
        let mut tx = self.db.begin_write().map_err(se)?;
        tx.set_durability(Durability::Immediate);
        let mut out = Vec::with_capacity(items.len());
        {
            let mut readings = tx.open_table(READINGS).map_err(se)?;
            let mut by_device = tx.open_table(BY_DEVICE).map_err(se)?;
            let mut windows = tx.open_table(WINDOWS).map_err(se)?;
            let mut meta_t = tx.open_table(META).map_err(se)?;
            let mut next = meta(&meta_t, NEXT_INDEX)?;
            let mut cache: HashMap<String, ReplayWindow> = HashMap::new();
            for c in items {
                let dev = &c.reading.device_id;
                let w = match cache.get(dev) {
                    Some(w) => *w,
                    None => match windows.get(dev.as_str()).map_err(se)? {
                        Some(v) => ReplayWindow::try_from_slice(v.value()).map_err(se)?,
                        None => ReplayWindow::default(),
                    },
                };
                let mut w = w;
                match w.check(c.reading.seq) {
                    ReplayVerdict::Seen => out.push(StoreOutcome::Replay),
                    ReplayVerdict::TooOld => out.push(StoreOutcome::TooOld),
                    ReplayVerdict::New => {
                        w.accept(c.reading.seq);
                        let rec = StoredReading {
                            index: next,
                            org: c.org.clone(),
                            device_id: dev.clone(),
                            seq: c.reading.seq,
                            time_ms: c.reading.time_ms,
                            received_ms: c.received_ms,
                            measurements: c.reading.measurements.clone(),
                            leaf: c.leaf,
                            message: c.message.clone(),
                        };
                        readings.insert(next, borsh::to_vec(&rec).map_err(se)?.as_slice()).map_err(se)?;
                        by_device.insert((dev.as_str(), c.reading.seq), next).map_err(se)?;
                        out.push(StoreOutcome::Stored { index: next });
                        next += 1;
                    }
                }
                cache.insert(dev.clone(), w);
            }
            for (dev, w) in &cache {
                windows.insert(dev.as_str(), borsh::to_vec(w).map_err(se)?.as_slice()).map_err(se)?;
            }
            meta_t.insert(NEXT_INDEX, next).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(out)
    }

    /// Number of stored readings.
    pub fn len(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(META).map_err(se)?;
        meta(&t, NEXT_INDEX)
    }

    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }

    /// Readings with index in `[from, to)`.
    pub fn range(&self, from: u64, to: u64) -> Result<Vec<StoredReading>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(READINGS).map_err(se)?;
        let mut out = Vec::new();
        for item in t.range(from..to).map_err(se)? {
            let (_, v) = item.map_err(se)?;
            out.push(StoredReading::try_from_slice(v.value()).map_err(se)?);
        }
        Ok(out)
    }

    pub fn reading(&self, device_id: &str, seq: u64) -> Result<Option<StoredReading>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let idx = tx.open_table(BY_DEVICE).map_err(se)?.get((device_id, seq)).map_err(se)?.map(|v| v.value());
        let Some(i) = idx else { return Ok(None) };
        let t = tx.open_table(READINGS).map_err(se)?;
        let v = t.get(i).map_err(se)?;
        v.map(|v| StoredReading::try_from_slice(v.value()).map_err(se)).transpose()
    }

    /// The device's readings with `from_ms <= time_ms <= to_ms`, oldest first, at most the newest
    /// `limit` of them. Scans the device's index from its newest reading backwards (sequence numbers
    /// rise with device time), so the cost follows the answer, not the device's history.
    pub fn device_series(
        &self,
        device_id: &str,
        from_ms: u64,
        to_ms: u64,
        limit: usize,
    ) -> Result<Vec<StoredReading>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let by_device = tx.open_table(BY_DEVICE).map_err(se)?;
        let t = tx.open_table(READINGS).map_err(se)?;
        let mut out = Vec::new();
        for item in by_device.range((device_id, 0)..=(device_id, u64::MAX)).map_err(se)?.rev() {
            let (_, idx) = item.map_err(se)?;
            let Some(v) = t.get(idx.value()).map_err(se)? else { continue };
            let r = StoredReading::try_from_slice(v.value()).map_err(se)?;
            if r.time_ms < from_ms {
                break;
            }
            if r.time_ms <= to_ms {
                out.push(r);
                if out.len() >= limit {
                    break;
                }
            }
        }
        out.reverse();
        Ok(out)
    }

    /// `(first index not yet in a batch, next index)`.
    pub fn unbatched(&self) -> Result<(u64, u64), StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(META).map_err(se)?;
        Ok((meta(&t, BATCHED_UPTO)?, meta(&t, NEXT_INDEX)?))
    }

    /// Cut the next batch from up to `max` unbatched readings (None when there are none). The batch
    /// record is durable before anything is sent to the chain.
    pub fn cut_batch(&self, max: u64, now_ms: u64) -> Result<Option<BatchRecord>, StoreError> {
        let (from, next) = self.unbatched()?;
        if from >= next || max == 0 {
            return Ok(None);
        }
        let end = next.min(from + max);
        let items = self.range(from, end)?;
        let (Some(first), Some(last)) = (items.first(), items.last()) else { return Ok(None) };
        let leaves: Vec<Hash32> = items.iter().map(|r| r.leaf).collect();
        let mut tx = self.db.begin_write().map_err(se)?;
        tx.set_durability(Durability::Immediate);
        let rec;
        {
            let mut meta_t = tx.open_table(META).map_err(se)?;
            // Re-check inside the write transaction (single writer: nothing moved).
            if meta(&meta_t, BATCHED_UPTO)? != from {
                return Ok(None);
            }
            let batch = meta(&meta_t, NEXT_BATCH)?;
            rec = BatchRecord {
                batch,
                first_index: from,
                end_index: end,
                root: merkle_root(&leaves),
                first: ReadingRef { device_id: first.device_id.clone(), seq: first.seq },
                last: ReadingRef { device_id: last.device_id.clone(), seq: last.seq },
                cut_ms: now_ms,
                status: BatchStatus::Pending,
            };
            tx.open_table(BATCHES)
                .map_err(se)?
                .insert(batch, borsh::to_vec(&rec).map_err(se)?.as_slice())
                .map_err(se)?;
            tx.open_table(BATCH_START).map_err(se)?.insert(from, batch).map_err(se)?;
            meta_t.insert(BATCHED_UPTO, end).map_err(se)?;
            meta_t.insert(NEXT_BATCH, batch + 1).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(Some(rec))
    }

    pub fn batch(&self, batch: u64) -> Result<Option<BatchRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(BATCHES).map_err(se)?;
        let v = t.get(batch).map_err(se)?;
        v.map(|v| BatchRecord::try_from_slice(v.value()).map_err(se)).transpose()
    }

    /// Every batch, oldest first.
    pub fn batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(BATCHES).map_err(se)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(se)? {
            let (_, v) = item.map_err(se)?;
            out.push(BatchRecord::try_from_slice(v.value()).map_err(se)?);
        }
        Ok(out)
    }

    pub fn pending_batches(&self) -> Result<Vec<BatchRecord>, StoreError> {
        Ok(self.batches()?.into_iter().filter(|b| b.status == BatchStatus::Pending).collect())
    }

    pub fn mark_anchored(&self, batch: u64, tx_id: Hash32, height: u64) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().map_err(se)?;
        tx.set_durability(Durability::Immediate);
        {
            let mut t = tx.open_table(BATCHES).map_err(se)?;
            let rec =
                t.get(batch).map_err(se)?.map(|v| BatchRecord::try_from_slice(v.value()).map_err(se)).transpose()?;
            let mut rec = rec.ok_or_else(|| StoreError(format!("batch {batch} not found")))?;
            rec.status = BatchStatus::Anchored { tx_id, height };
            t.insert(batch, borsh::to_vec(&rec).map_err(se)?.as_slice()).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(())
    }

    /// The inclusion proof of a device's reading, once it is in a batch.
    pub fn proof(&self, device_id: &str, seq: u64, anchorer: Address) -> Result<Option<ReadingProof>, StoreError> {
        let Some(reading) = self.reading(device_id, seq)? else { return Ok(None) };
        let batch = {
            let tx = self.db.begin_read().map_err(se)?;
            let t = tx.open_table(BATCH_START).map_err(se)?;
            let mut it = t.range(..=reading.index).map_err(se)?;
            match it.next_back() {
                Some(item) => item.map_err(se)?.1.value(),
                None => return Ok(None),
            }
        };
        let Some(rec) = self.batch(batch)? else { return Ok(None) };
        if reading.index >= rec.end_index {
            return Ok(None);
        }
        let leaves: Vec<Hash32> = self.range(rec.first_index, rec.end_index)?.iter().map(|r| r.leaf).collect();
        let Some(proof) = merkle_proof(&leaves, (reading.index - rec.first_index) as usize) else { return Ok(None) };
        Ok(Some(ReadingProof { reading, batch, root: rec.root, proof, anchorer, status: rec.status }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Measurement;

    fn cand(dev: &str, seq: u64) -> Candidate {
        let message = format!("{dev}/{seq}").into_bytes();
        Candidate {
            org: "WH-A".into(),
            reading: Reading {
                device_id: dev.into(),
                seq,
                time_ms: seq,
                measurements: vec![Measurement { kind: "t".into(), value_milli: 1, uom: "Cel".into() }],
            },
            leaf: Hash32::of(&message),
            message,
            received_ms: 0,
        }
    }

    #[test]
    fn stores_rejects_replays_and_survives_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("r.redb");
        {
            let s = Store::open(&path).expect("open");
            let out = s.store(&[cand("A", 1), cand("A", 2), cand("A", 1), cand("B", 1)]).expect("store");
            assert_eq!(
                out,
                vec![
                    StoreOutcome::Stored { index: 0 },
                    StoreOutcome::Stored { index: 1 },
                    StoreOutcome::Replay,
                    StoreOutcome::Stored { index: 2 }
                ]
            );
        }
        let s = Store::open(&path).expect("reopen");
        assert_eq!(s.len().expect("len"), 3);
        assert_eq!(s.store(&[cand("A", 2)]).expect("store"), vec![StoreOutcome::Replay], "window survives restart");
        let b = s.cut_batch(2, 0).expect("cut").expect("batch");
        assert_eq!((b.batch, b.first_index, b.end_index), (0, 0, 2));
        let b2 = s.cut_batch(100, 0).expect("cut").expect("batch");
        assert_eq!((b2.batch, b2.first_index, b2.end_index), (1, 2, 3));
        assert!(s.cut_batch(100, 0).expect("cut").is_none());
        let p = s.proof("A", 2, Address([0; 20])).expect("proof").expect("some");
        assert!(p.verify());
        assert_eq!(p.batch, 0);
        let p = s.proof("B", 1, Address([0; 20])).expect("proof").expect("some");
        assert!(p.verify() && p.batch == 1);
        s.mark_anchored(0, Hash32::ZERO, 5).expect("mark");
        assert_eq!(s.pending_batches().expect("pending").len(), 1);
    }

    #[test]
    fn device_series_is_a_time_window_of_one_device() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open(&dir.path().join("r.redb")).expect("open");
        let cands: Vec<Candidate> = (1..=10).map(|i| cand("A", i * 100)).chain([cand("B", 450)]).collect();
        s.store(&cands).expect("store");
        let seqs = |v: Vec<StoredReading>| v.into_iter().map(|r| (r.device_id, r.seq)).collect::<Vec<_>>();
        let a = |n: u64| ("A".to_string(), n);
        assert_eq!(seqs(s.device_series("A", 250, 600, 100).expect("series")), vec![a(300), a(400), a(500), a(600)]);
        assert_eq!(
            seqs(s.device_series("A", 0, u64::MAX, 2).expect("series")),
            vec![a(900), a(1000)],
            "newest `limit`"
        );
        assert!(s.device_series("C", 0, u64::MAX, 10).expect("series").is_empty());
        assert_eq!(seqs(s.device_series("B", 0, 1000, 10).expect("series")), vec![("B".to_string(), 450)]);
    }
}

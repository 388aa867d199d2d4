//! The durable store of accepted readings (redb, fsync on every commit).
//!
//! One write transaction per group of verified messages checks each device's replay window, appends
//! the new readings under a local, gap-free index, moves the windows, feeds the device's alert rules and
//! queues the alerts they fire in the outbox — so "stored", "seen by the replay window", "rule fired" and
//! "alert pending" can never disagree, even across a crash. Only after that commit does the service
//! acknowledge the MQTT messages. Batches are cut from the index in order ([`Store::cut_batch`]); a
//! batch record is written before its anchor transaction is sent and marked anchored after it commits,
//! so a restart re-checks pending batches against chain instead of anchoring them twice. An outbox
//! entry likewise records the signed transaction before it is sent, and leaves the outbox only when the
//! chain has settled it ([`Store::settle_alert`]).
use std::collections::HashMap;
use std::path::Path;

use borsh::{BorshDeserialize, BorshSerialize};
use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition};
use scf_domain::device::{AlertRule, Observation, ReadingRef};
use scf_ledger::crypto::{Address, Hash32};
use scf_ledger::merkle::{merkle_proof, merkle_root, MerkleProof};
use serde::{Deserialize, Serialize};

use crate::rules::{self, RuleState};
use crate::window::{ReplayVerdict, ReplayWindow};
use crate::wire::{Measurement, Reading};

const READINGS: TableDefinition<u64, &[u8]> = TableDefinition::new("readings");
const BY_DEVICE: TableDefinition<(&str, u64), u64> = TableDefinition::new("by_device");
const WINDOWS: TableDefinition<&str, &[u8]> = TableDefinition::new("windows");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
const BATCHES: TableDefinition<u64, &[u8]> = TableDefinition::new("batches");
const BATCH_START: TableDefinition<u64, u64> = TableDefinition::new("batch_start");
/// (device, rule index) → Borsh [`RuleRecord`].
const RULES: TableDefinition<(&str, u32), &[u8]> = TableDefinition::new("rules");
/// device → Borsh [`LastSeen`] (the observation a silence alert names).
const LAST: TableDefinition<&str, &[u8]> = TableDefinition::new("last_seen");
/// Alerts fired and not yet settled by the chain: id → Borsh [`OutboxAlert`].
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
/// Alerts the chain settled: id → Borsh [`OutboxAlert`].
const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");

const NEXT_INDEX: &str = "next_index";
const BATCHED_UPTO: &str = "batched_upto";
const NEXT_BATCH: &str = "next_batch";
const NEXT_ALERT: &str = "next_alert";

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
    /// The device's alert rules as registered on chain (evaluated in the storing transaction).
    pub rules: Vec<AlertRule>,
}

/// A rule's state, with the rule it belongs to: a rule changed on chain starts from a clean state.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RuleRecord {
    pub rule: AlertRule,
    pub state: RuleState,
}

/// The last accepted reading of a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct LastSeen {
    pub seq: u64,
    pub time_ms: u64,
    pub leaf: Hash32,
}

/// How the chain settled an alert.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Delivery {
    /// Not settled yet (in the outbox).
    Pending,
    /// The alert transaction committed and raised the alert.
    Raised { tx_id: Hash32, height: u64 },
    /// The chain refused it because the rule's alert is already open (nothing new to raise).
    AlreadyOpen { tx_id: Hash32, height: u64 },
    /// The chain refused it for another reason (logged as an error and counted: an operator must look).
    Refused { tx_id: Hash32, height: u64, code: String },
}

/// An alert a rule fired, from the moment the reading that fired it was stored until the chain settled it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct OutboxAlert {
    pub id: u64,
    pub device_id: String,
    pub rule_index: u32,
    pub observation: Observation,
    pub detail: String,
    /// Service time the rule fired.
    pub fired_ms: u64,
    /// The signed transaction (wire bytes) sent for it, recorded before sending; a new one is signed only
    /// once the chain proves this one can never commit (its nonce used by another, or expired).
    pub tx: Option<Vec<u8>>,
    /// How many transactions were signed for it.
    pub attempts: u32,
    pub delivery: Delivery,
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
            tx.open_table(RULES).map_err(se)?;
            tx.open_table(LAST).map_err(se)?;
            tx.open_table(OUTBOX).map_err(se)?;
            tx.open_table(ALERTS).map_err(se)?;
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
            let mut rules_t = tx.open_table(RULES).map_err(se)?;
            let mut last_t = tx.open_table(LAST).map_err(se)?;
            let mut outbox = tx.open_table(OUTBOX).map_err(se)?;
            let mut next = meta(&meta_t, NEXT_INDEX)?;
            let mut next_alert = meta(&meta_t, NEXT_ALERT)?;
            let mut cache: HashMap<String, ReplayWindow> = HashMap::new();
            let mut rule_cache: HashMap<(String, u32), RuleRecord> = HashMap::new();
            let mut last_cache: HashMap<String, LastSeen> = HashMap::new();
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
                        last_cache.insert(
                            dev.clone(),
                            LastSeen { seq: c.reading.seq, time_ms: c.reading.time_ms, leaf: c.leaf },
                        );
                        if !cache.contains_key(dev) {
                            // First reading of this device in the group: forget rules removed on chain.
                            drop_removed_rules(&mut rules_t, dev, c.rules.len())?;
                        }
                        for (i, rule) in c.rules.iter().enumerate() {
                            let i = u32::try_from(i).map_err(se)?;
                            let key = (dev.clone(), i);
                            let mut rec = match rule_cache.remove(&key) {
                                Some(r) => r,
                                None => load_rule(&rules_t, dev, i)?
                                    .unwrap_or(RuleRecord { rule: rule.clone(), state: RuleState::default() }),
                            };
                            if rec.rule != *rule {
                                rec = RuleRecord { rule: rule.clone(), state: RuleState::default() };
                            }
                            if let Some(f) = rules::on_reading(rule, &mut rec.state, &c.reading, c.received_ms) {
                                let alert = OutboxAlert {
                                    id: next_alert,
                                    device_id: dev.clone(),
                                    rule_index: i,
                                    observation: Observation {
                                        seq: c.reading.seq,
                                        time_ms: c.reading.time_ms,
                                        reading_type: f.reading_type,
                                        value: f.value,
                                        leaf: c.leaf,
                                    },
                                    detail: f.detail,
                                    fired_ms: c.received_ms,
                                    tx: None,
                                    attempts: 0,
                                    delivery: Delivery::Pending,
                                };
                                outbox.insert(next_alert, borsh::to_vec(&alert).map_err(se)?.as_slice()).map_err(se)?;
                                next_alert += 1;
                            }
                            rule_cache.insert(key, rec);
                        }
                    }
                }
                cache.insert(dev.clone(), w);
            }
            for (dev, w) in &cache {
                windows.insert(dev.as_str(), borsh::to_vec(w).map_err(se)?.as_slice()).map_err(se)?;
            }
            for ((dev, i), rec) in &rule_cache {
                rules_t.insert((dev.as_str(), *i), borsh::to_vec(rec).map_err(se)?.as_slice()).map_err(se)?;
            }
            for (dev, l) in &last_cache {
                last_t.insert(dev.as_str(), borsh::to_vec(l).map_err(se)?.as_slice()).map_err(se)?;
            }
            meta_t.insert(NEXT_INDEX, next).map_err(se)?;
            meta_t.insert(NEXT_ALERT, next_alert).map_err(se)?;
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

    /// Advance the silence rules to service time `now_ms`; the alerts they fire are queued in the outbox
    /// in the same transaction. Returns how many fired.
    pub fn tick(&self, now_ms: u64) -> Result<usize, StoreError> {
        // Read first: most ticks fire nothing and need no write (nor fsync).
        let due: Vec<(String, u32)> = {
            let tx = self.db.begin_read().map_err(se)?;
            let t = tx.open_table(RULES).map_err(se)?;
            let mut due = Vec::new();
            for item in t.iter().map_err(se)? {
                let (k, v) = item.map_err(se)?;
                let mut rec = RuleRecord::try_from_slice(v.value()).map_err(se)?;
                let rule = rec.rule.clone();
                if rules::on_tick(&rule, &mut rec.state, now_ms).is_some() {
                    let (dev, i) = k.value();
                    due.push((dev.to_string(), i));
                }
            }
            due
        };
        if due.is_empty() {
            return Ok(0);
        }
        let mut tx = self.db.begin_write().map_err(se)?;
        tx.set_durability(Durability::Immediate);
        let mut fired = 0;
        {
            let mut rules_t = tx.open_table(RULES).map_err(se)?;
            let last_t = tx.open_table(LAST).map_err(se)?;
            let mut outbox = tx.open_table(OUTBOX).map_err(se)?;
            let mut meta_t = tx.open_table(META).map_err(se)?;
            let mut next_alert = meta(&meta_t, NEXT_ALERT)?;
            for (dev, i) in due {
                let Some(mut rec) = load_rule(&rules_t, &dev, i)? else { continue };
                let rule = rec.rule.clone();
                let Some(f) = rules::on_tick(&rule, &mut rec.state, now_ms) else { continue };
                let last = last_t
                    .get(dev.as_str())
                    .map_err(se)?
                    .map(|v| LastSeen::try_from_slice(v.value()).map_err(se))
                    .transpose()?;
                rules_t.insert((dev.as_str(), i), borsh::to_vec(&rec).map_err(se)?.as_slice()).map_err(se)?;
                let Some(last) = last else { continue };
                let alert = OutboxAlert {
                    id: next_alert,
                    device_id: dev.clone(),
                    rule_index: i,
                    observation: Observation {
                        seq: last.seq,
                        time_ms: last.time_ms,
                        reading_type: None,
                        value: None,
                        leaf: last.leaf,
                    },
                    detail: f.detail,
                    fired_ms: now_ms,
                    tx: None,
                    attempts: 0,
                    delivery: Delivery::Pending,
                };
                outbox.insert(next_alert, borsh::to_vec(&alert).map_err(se)?.as_slice()).map_err(se)?;
                next_alert += 1;
                fired += 1;
            }
            meta_t.insert(NEXT_ALERT, next_alert).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(fired)
    }

    /// Alerts not yet settled by the chain, oldest first (at most `limit`).
    pub fn pending_alerts(&self, limit: usize) -> Result<Vec<OutboxAlert>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(OUTBOX).map_err(se)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(se)?.take(limit) {
            let (_, v) = item.map_err(se)?;
            out.push(OutboxAlert::try_from_slice(v.value()).map_err(se)?);
        }
        Ok(out)
    }

    /// How many alerts wait in the outbox.
    pub fn outbox_len(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        tx.open_table(OUTBOX).map_err(se)?.len().map_err(se)
    }

    /// Every alert, settled or not, by id.
    pub fn alerts(&self) -> Result<Vec<OutboxAlert>, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let mut out = Vec::new();
        for table in [ALERTS, OUTBOX] {
            let t = tx.open_table(table).map_err(se)?;
            for item in t.iter().map_err(se)? {
                let (_, v) = item.map_err(se)?;
                out.push(OutboxAlert::try_from_slice(v.value()).map_err(se)?);
            }
        }
        out.sort_by_key(|a| a.id);
        Ok(out)
    }

    /// Record (durably) the signed transaction about to be sent for pending alert `id`, or forget a dead one
    /// (`None`).
    pub fn set_alert_tx(&self, id: u64, tx_bytes: Option<Vec<u8>>) -> Result<(), StoreError> {
        let mut tx = self.db.begin_write().map_err(se)?;
        tx.set_durability(Durability::Immediate);
        {
            let mut t = tx.open_table(OUTBOX).map_err(se)?;
            let mut a = match t.get(id).map_err(se)? {
                Some(v) => OutboxAlert::try_from_slice(v.value()).map_err(se)?,
                None => return Err(StoreError(format!("alert {id}: not in the outbox"))),
            };
            if tx_bytes.is_some() {
                a.attempts = a.attempts.saturating_add(1);
            }
            a.tx = tx_bytes;
            t.insert(id, borsh::to_vec(&a).map_err(se)?.as_slice()).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(())
    }

    /// Move alert `id` out of the outbox with the chain's verdict.
    pub fn settle_alert(&self, id: u64, delivery: Delivery) -> Result<(), StoreError> {
        if delivery == Delivery::Pending {
            return Err(StoreError(format!("alert {id}: settling needs a verdict, not Pending")));
        }
        let mut tx = self.db.begin_write().map_err(se)?;
        tx.set_durability(Durability::Immediate);
        {
            let mut t = tx.open_table(OUTBOX).map_err(se)?;
            let mut a = match t.remove(id).map_err(se)? {
                Some(v) => OutboxAlert::try_from_slice(v.value()).map_err(se)?,
                None => return Err(StoreError(format!("alert {id}: not in the outbox"))),
            };
            a.delivery = delivery;
            tx.open_table(ALERTS).map_err(se)?.insert(id, borsh::to_vec(&a).map_err(se)?.as_slice()).map_err(se)?;
        }
        tx.commit().map_err(se)?;
        Ok(())
    }

    /// The number of the next batch this store will cut (batches are numbered per anchoring account).
    pub fn next_batch(&self) -> Result<u64, StoreError> {
        let tx = self.db.begin_read().map_err(se)?;
        let t = tx.open_table(META).map_err(se)?;
        meta(&t, NEXT_BATCH)
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

fn load_rule(
    t: &impl ReadableTable<(&'static str, u32), &'static [u8]>,
    dev: &str,
    i: u32,
) -> Result<Option<RuleRecord>, StoreError> {
    t.get((dev, i)).map_err(se)?.map(|v| RuleRecord::try_from_slice(v.value()).map_err(se)).transpose()
}

/// Remove the stored state of rules at index `count` and above (the device has fewer rules now).
fn drop_removed_rules(t: &mut redb::Table<(&str, u32), &[u8]>, dev: &str, count: usize) -> Result<(), StoreError> {
    let from = u32::try_from(count).unwrap_or(u32::MAX);
    let stale: Vec<u32> = t
        .range((dev, from)..=(dev, u32::MAX))
        .map_err(se)?
        .map(|item| item.map(|(k, _)| k.value().1).map_err(se))
        .collect::<Result<_, _>>()?;
    for i in stale {
        t.remove((dev, i)).map_err(se)?;
    }
    Ok(())
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
            rules: Vec::new(),
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

    fn hot(dev: &str, seq: u64, milli: i64) -> Candidate {
        let mut c = cand(dev, seq);
        c.reading.measurements[0].value_milli = milli;
        c.reading.time_ms = seq * 1000;
        c.rules = vec![AlertRule::Threshold { reading_type: "t".into(), min: None, max: Some(8000), for_ms: 2000 }];
        c
    }

    #[test]
    fn rules_fire_in_the_storing_transaction_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("r.redb");
        {
            let s = Store::open(&path).expect("open");
            s.store(&[hot("A", 1, 9000), hot("A", 2, 9000)]).expect("store");
            assert!(s.pending_alerts(10).expect("outbox").is_empty(), "1 s out of range is not 2 s");
        }
        // The excursion's start survived the restart: the next reading completes the 2 s.
        let s = Store::open(&path).expect("reopen");
        s.store(&[hot("A", 3, 9100)]).expect("store");
        let out = s.pending_alerts(10).expect("outbox");
        assert_eq!(out.len(), 1, "{out:?}");
        assert_eq!((out[0].device_id.as_str(), out[0].rule_index, out[0].observation.seq), ("A", 0, 3));
        // A redelivered copy is a replay: no second evaluation, no second alert.
        assert_eq!(s.store(&[hot("A", 3, 9100)]).expect("store"), vec![StoreOutcome::Replay]);
        s.store(&[hot("A", 4, 9200)]).expect("store");
        assert_eq!(s.pending_alerts(10).expect("outbox").len(), 1, "once per excursion");
        // Sending records the transaction; settling moves the entry out of the outbox.
        s.set_alert_tx(out[0].id, Some(vec![1, 2, 3])).expect("tx");
        assert_eq!(s.pending_alerts(10).expect("outbox")[0].attempts, 1);
        s.settle_alert(out[0].id, Delivery::Raised { tx_id: Hash32::ZERO, height: 9 }).expect("settle");
        assert!(s.pending_alerts(10).expect("outbox").is_empty());
        assert!(s.settle_alert(out[0].id, Delivery::Pending).is_err());
        let all = s.alerts().expect("alerts");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].delivery, Delivery::Raised { tx_id: Hash32::ZERO, height: 9 });
        // Back in range re-arms; a rule removed on chain loses its state.
        s.store(&[hot("A", 5, 7000)]).expect("store");
        let mut gone = cand("A", 6);
        gone.rules.clear();
        s.store(&[gone]).expect("store");
        let tx = s.db.begin_read().expect("read");
        assert!(tx.open_table(RULES).expect("rules").get(("A", 0)).expect("get").is_none());
    }

    #[test]
    fn silence_fires_on_tick_with_the_last_reading() {
        let dir = tempfile::tempdir().expect("tmp");
        let s = Store::open(&dir.path().join("r.redb")).expect("open");
        let mut c = cand("A", 7);
        c.received_ms = 1_000;
        c.rules = vec![AlertRule::Silence { max_gap_ms: 5_000 }];
        s.store(&[c]).expect("store");
        assert_eq!(s.tick(5_999).expect("tick"), 0);
        assert_eq!(s.tick(6_000).expect("tick"), 1);
        assert_eq!(s.tick(60_000).expect("tick"), 0, "once per silence");
        let out = s.pending_alerts(10).expect("outbox");
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].observation.seq, 7);
        assert_eq!(out[0].observation.reading_type, None);
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

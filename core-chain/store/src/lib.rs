//! `scf-store`: the ledger on disk (RocksDB).
//!
//! Column families: `meta` (tip, genesis), `blocks` (height → block), `block_hashes` (hash → height),
//! `txs` (tx id → height, index), `receipts` (tx id → receipt), `state_nodes` / `state_values` (the
//! authenticated state tree's internal nodes and the versioned values), `preimages` (key hash → state
//! key) and `indexes` (secondary lookups such as transactions by sender).
//!
//! Invariant: a block and everything it changes — its transactions, receipts, state nodes and values,
//! indexes and the new tip — are written in one RocksDB `WriteBatch` with a synced WAL, so a reader after
//! a crash (even `kill -9` mid-write) sees either the whole block or none of it.

pub mod audit;
mod cache;

use std::path::Path;
use std::sync::{Arc, RwLock};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamilyDescriptor, Direction, IteratorMode, Options, WriteBatch, WriteOptions, DB,
};
use scf_ledger::authenticated::{
    prove, InternalNode, KeyHash, NodeKey, StateCommit, StateProof, TreeReader, Version, VersionedState,
};
use scf_ledger::block::{Block, TxInclusionProof};
use scf_ledger::codec::encode;
use scf_ledger::crypto::{Address, Hash32};
use scf_ledger::executor::{ChainTip, ExecutedBlock, Executor};
use scf_ledger::genesis::{Genesis, GenesisError};
use scf_ledger::merkle::merkle_proof;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::{StateError, StateRead};

const CF_META: &str = "meta";
const CF_BLOCKS: &str = "blocks";
const CF_BLOCK_HASHES: &str = "block_hashes";
const CF_TXS: &str = "txs";
const CF_RECEIPTS: &str = "receipts";
const CF_STATE_NODES: &str = "state_nodes";
const CF_STATE_VALUES: &str = "state_values";
const CF_PREIMAGES: &str = "preimages";
const CF_INDEXES: &str = "indexes";
const ALL_CFS: [&str; 9] = [
    CF_META,
    CF_BLOCKS,
    CF_BLOCK_HASHES,
    CF_TXS,
    CF_RECEIPTS,
    CF_STATE_NODES,
    CF_STATE_VALUES,
    CF_PREIMAGES,
    CF_INDEXES,
];

const META_TIP: &[u8] = b"tip";
const META_GENESIS: &[u8] = b"genesis";
const META_GENESIS_TIP: &[u8] = b"genesis_tip";
/// The storage layout a database was written in (u32 LE), recorded when it is created.
const META_LAYOUT: &[u8] = b"layout";
/// This build's layout. 2: leaf children keep key hash and leaf hash (no value hash). Databases of
/// layout 1 (the first own state tree) recorded no layout; `jmt` databases are refused by name.
const LAYOUT: u32 = 2;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("rocksdb: {0}")]
    Db(#[from] rocksdb::Error),
    #[error("store: {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },
    #[error("store: block {got} does not extend the tip (expected height {expected})")]
    NotNext { expected: u64, got: u64 },
    #[error("store: block {height} has a parent hash that is not the tip's hash")]
    WrongParent { height: u64 },
    #[error("store: the database holds chain {stored:?} (genesis {stored_hash}); the genesis file is for {given:?} ({given_hash})")]
    GenesisMismatch { stored: String, stored_hash: Hash32, given: String, given_hash: Hash32 },
    #[error("store: no genesis has been applied yet")]
    NoGenesis,
    #[error(
        "store: {path} was written in an older layout (it has column family {found:?}); this build stores \
         state in another tree: move the directory away and start the node with an empty one, which catches \
         up from the other nodes (for the demo: --reset)"
    )]
    OldLayout { path: String, found: String },
    #[error(
        "store: {path} was written in storage layout {}, this build reads layout {expected}: move the \
         directory away and start the node with an empty one, which catches up from the other nodes (for \
         the demo: --reset)",
        stored.map_or_else(|| "1 (recorded no layout)".to_string(), |v| v.to_string())
    )]
    LayoutVersion { path: String, stored: Option<u32>, expected: u32 },
    #[error(transparent)]
    Genesis(#[from] GenesisError),
    #[error(transparent)]
    State(#[from] StateError),
}

fn corrupt(what: impl Into<String>, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt { what: what.into(), reason: e.to_string() }
}

/// One column family's footprint ([`Store::usage`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct CfUsage {
    pub name: &'static str,
    /// Bytes of its table files on disk (all versions of all keys, as compacted so far).
    pub sst_bytes: u64,
    /// RocksDB's estimate of the bytes a full compaction would leave; `sst_bytes / live_bytes` is its
    /// space amplification.
    pub live_bytes: u64,
    /// RocksDB's estimate of the keys it holds.
    pub keys: u64,
    /// Bytes in memtables, not yet in table files.
    pub memtable_bytes: u64,
}

/// The node's database.
pub struct Store {
    db: DB,
    /// The committed tip, kept in memory (every writer of `meta/tip` goes through this struct).
    tip: RwLock<Option<ChainTip>>,
    /// State values as of the tip, in front of the versioned reads ([`cache`]).
    values: cache::LatestValues,
}

/// Entries per generation of the latest-value cache (two generations; values are small records).
const VALUE_CACHE_ENTRIES: usize = 250_000;
/// RocksDB's block cache, shared by all column families. Filled lazily: a small chain never uses it.
/// At 1 M preloaded vouchers and invoices (460 MB of tree nodes) 128 MiB made the node spend a third of
/// its time on block reads and their checksums; with 1 GiB, transfers ran 8,659–9,552/s instead of
/// 6,917–8,531/s (docs/benchmarks.md, "Where the node's time goes as the state grows").
const BLOCK_CACHE_BYTES: usize = 1024 * 1024 * 1024;
/// The WAL's bound on disk (see `open`).
const MAX_TOTAL_WAL_BYTES: u64 = 512 * 1024 * 1024;

fn value_key(key_hash: &KeyHash, version: Version) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key_hash.0);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

fn sender_index_key(sender: &Address, height: u64, index: u32) -> Vec<u8> {
    let mut k = b"sender/".to_vec();
    k.extend_from_slice(&sender.0);
    k.extend_from_slice(&height.to_be_bytes());
    k.extend_from_slice(&index.to_be_bytes());
    k
}

/// Bytes a block's receipts, indexes and state changes take in a write batch (an upper estimate).
fn batch_estimate(exec: &ExecutedBlock) -> usize {
    let state = &exec.state;
    let nodes: usize = state.nodes.iter().map(|(_, n)| 64 + n.children().len() * 112).sum();
    let values: usize = state.values.iter().map(|(_, v)| 64 + v.as_ref().map_or(0, Vec::len)).sum();
    let receipts: usize =
        exec.receipts.iter().map(|r| 256 + r.events.iter().map(|e| 256 + e.data.len()).sum::<usize>()).sum();
    nodes + values + receipts + state.preimages.iter().map(|(_, k)| 64 + k.len()).sum::<usize>() + 256
}

impl Store {
    /// Open (or create) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // Column families of layouts this build cannot read (the state tree was `jmt` before).
        const OLD_CFS: [&str; 2] = ["jmt_nodes", "jmt_values"];
        if let Ok(existing) = DB::list_cf(&Options::default(), path) {
            if let Some(found) = existing.into_iter().find(|cf| OLD_CFS.contains(&cf.as_str())) {
                return Err(StoreError::OldLayout { path: path.display().to_string(), found });
            }
        }
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
        // Flushes and compactions run at the lowest CPU priority, with room to fall behind. Every node of
        // a chain writes the same bytes, so on a machine shared by several nodes their memtables fill
        // and flush at the same moment; at normal priority those flushes took the cores from consensus
        // and commits (4 validators on 2 cores: one 64 MiB flush took 1.8 s, block store time rose from
        // ~30 ms to ~250 ms, p99 1.2–1.6 s). Four write buffers let a starved flush wait (about 20 s of
        // writes at that load) before writes stall. A flush's pages are written back 1 MiB at a time as
        // it goes rather than all at once behind the WAL's next fsync.
        let mut env = rocksdb::Env::new()?;
        env.lower_high_priority_thread_pool_cpu_priority();
        env.lower_thread_pool_cpu_priority();
        opts.set_env(&env);
        opts.set_bytes_per_sync(1 << 20);
        // A WAL file is kept until every column family with writes in it has flushed. RocksDB's default
        // bound on the WAL is four times all write buffers (here 8 GB): a column family written rarely
        // then holds gigabytes of log on disk, all replayed at the next start. Past this bound the
        // column families holding the oldest log flush, so the WAL stays small and restarts quick.
        opts.set_max_total_wal_size(MAX_TOTAL_WAL_BYTES);
        // Point reads (tree nodes, receipts, transaction locations) dominate: bloom filters let a miss
        // skip files, and one block cache serves every column family.
        let block_cache = Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let cf_opts = |name: &str| {
            let mut table = BlockBasedOptions::default();
            table.set_block_cache(&block_cache);
            table.set_bloom_filter(10.0, false);
            table.set_cache_index_and_filter_blocks(true);
            let mut o = Options::default();
            // Tree nodes are mostly SM3 hashes, which do not compress: LZ4 would only cost CPU.
            o.set_compression_type(if name == CF_STATE_NODES {
                rocksdb::DBCompressionType::None
            } else {
                rocksdb::DBCompressionType::Lz4
            });
            o.set_block_based_table_factory(&table);
            o.set_max_write_buffer_number(4);
            o
        };
        let cfs = ALL_CFS.iter().map(|n| ColumnFamilyDescriptor::new(*n, cf_opts(n)));
        let db = DB::open_cf_descriptors(&opts, path, cfs)?;
        let store = Store { db, tip: RwLock::new(None), values: cache::LatestValues::new(VALUE_CACHE_ENTRIES) };
        store.check_layout(path)?;
        let tip = store.read_tip()?;
        if let Some(t) = &tip {
            store.values.committed(t.height, std::iter::empty());
        }
        store.set_tip(tip);
        Ok(store)
    }

    /// Refuse a database of another layout; record this build's in a new one.
    fn check_layout(&self, path: &Path) -> Result<(), StoreError> {
        let stored = match self.get_cf(CF_META, META_LAYOUT)? {
            Some(b) => Some(u32::from_le_bytes(b.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                what: "meta/layout".into(),
                reason: format!("{} bytes, not 4", b.len()),
            })?)),
            // Written before layouts were recorded, or new.
            None if self.get_cf(CF_META, META_TIP)?.is_some() => None,
            None => {
                self.db.put_cf(self.cf(CF_META)?, META_LAYOUT, LAYOUT.to_le_bytes())?;
                return Ok(());
            }
        };
        if stored == Some(LAYOUT) {
            return Ok(());
        }
        Err(StoreError::LayoutVersion { path: path.display().to_string(), stored, expected: LAYOUT })
    }

    fn set_tip(&self, tip: Option<ChainTip>) {
        if let Ok(mut t) = self.tip.write() {
            *t = tip;
        }
    }

    fn read_tip(&self) -> Result<Option<ChainTip>, StoreError> {
        match self.get_cf(CF_META, META_TIP)? {
            None => Ok(None),
            Some(b) => borsh::from_slice(&b).map(Some).map_err(|e| corrupt("meta/tip", e)),
        }
    }

    /// After a successful write of version `version`: the tip and the caches move with it.
    fn committed(&self, tip: &ChainTip, commit: &StateCommit) {
        self.values.committed(tip.height, commit.values.iter().map(|(kh, v)| (kh, v)));
        self.set_tip(Some(tip.clone()));
    }

    fn cf(&self, name: &str) -> Result<&rocksdb::ColumnFamily, StoreError> {
        self.db.cf_handle(name).ok_or_else(|| corrupt(format!("column family {name}"), "missing"))
    }

    fn get_cf(&self, cf: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.db.get_cf(self.cf(cf)?, key)?)
    }

    fn write(&self, batch: WriteBatch) -> Result<(), StoreError> {
        let mut wo = WriteOptions::default();
        wo.set_sync(true);
        self.db.write_opt(batch, &wo)?;
        Ok(())
    }

    /// The last committed block's tip (or the genesis tip), `None` before genesis.
    pub fn tip(&self) -> Result<Option<ChainTip>, StoreError> {
        match self.tip.read() {
            Ok(t) => Ok(t.clone()),
            Err(_) => self.read_tip(),
        }
    }

    /// The genesis the database was created from.
    pub fn genesis(&self) -> Result<Option<Genesis>, StoreError> {
        match self.get_cf(CF_META, META_GENESIS)? {
            None => Ok(None),
            Some(b) => {
                let text = String::from_utf8(b).map_err(|e| corrupt("meta/genesis", e))?;
                Genesis::from_json(&text).map(Some).map_err(StoreError::from)
            }
        }
    }

    /// The tip right after genesis (height 0).
    pub fn genesis_tip(&self) -> Result<Option<ChainTip>, StoreError> {
        match self.get_cf(CF_META, META_GENESIS_TIP)? {
            None => Ok(None),
            Some(b) => borsh::from_slice(&b).map(Some).map_err(|e| corrupt("meta/genesis_tip", e)),
        }
    }

    /// Apply genesis once. Reopening with the same genesis returns the current tip; a different genesis
    /// is refused.
    pub fn init_genesis(&self, executor: &Executor, genesis: &Genesis) -> Result<ChainTip, StoreError> {
        if let Some(stored) = self.genesis()? {
            if stored.hash() != genesis.hash() {
                return Err(StoreError::GenesisMismatch {
                    stored: stored.chain_id.clone(),
                    stored_hash: stored.hash(),
                    given: genesis.chain_id.clone(),
                    given_hash: genesis.hash(),
                });
            }
            return self.tip()?.ok_or(StoreError::NoGenesis);
        }
        let (commit, tip) = executor.init_genesis(self, genesis)?;
        let mut batch = WriteBatch::default();
        self.put_state(&mut batch, &commit)?;
        batch.put_cf(self.cf(CF_META)?, META_GENESIS, genesis.to_json().as_bytes());
        batch.put_cf(self.cf(CF_META)?, META_GENESIS_TIP, encode(&tip));
        batch.put_cf(self.cf(CF_META)?, META_TIP, encode(&tip));
        self.write(batch)?;
        self.committed(&tip, &commit);
        Ok(tip)
    }

    fn put_state(&self, batch: &mut WriteBatch, commit: &StateCommit) -> Result<(), StoreError> {
        let nodes = self.cf(CF_STATE_NODES)?;
        for (k, n) in &commit.nodes {
            batch.put_cf(nodes, k.to_bytes(), n.to_bytes());
        }
        let values = self.cf(CF_STATE_VALUES)?;
        for (kh, v) in &commit.values {
            batch.put_cf(values, value_key(kh, commit.version), encode(v));
        }
        // A key's preimage never changes: write it when the key may be new, skipping keys the value
        // cache knows had a value before this version (most writes update existing keys).
        let pre = self.cf(CF_PREIMAGES)?;
        let before = commit.version.checked_sub(1);
        for (kh, key) in &commit.preimages {
            if before.and_then(|v| self.values.has_value(v, kh)) != Some(true) {
                batch.put_cf(pre, kh.0, key);
            }
        }
        Ok(())
    }

    /// Commit an executed block (with its certificate, if consensus attached one) atomically.
    pub fn commit_block(&self, exec: &ExecutedBlock) -> Result<ChainTip, StoreError> {
        let header = &exec.block.header;
        let tip = self.tip()?.ok_or(StoreError::NoGenesis)?;
        if header.height != tip.height + 1 {
            return Err(StoreError::NotNext { expected: tip.height + 1, got: header.height });
        }
        if header.parent_hash != tip.hash {
            return Err(StoreError::WrongParent { height: header.height });
        }
        let new_tip = ChainTip::of(header);
        let block_bytes = exec.block.to_bytes();
        // Sized up front: the batch of a full block is megabytes, and growing it doubles and copies.
        let mut batch = WriteBatch::with_capacity_bytes(block_bytes.len() + batch_estimate(exec));
        let h = header.height.to_be_bytes();
        batch.put_cf(self.cf(CF_BLOCKS)?, h, block_bytes);
        batch.put_cf(self.cf(CF_BLOCK_HASHES)?, new_tip.hash.0, h);
        let txs = self.cf(CF_TXS)?;
        let receipts = self.cf(CF_RECEIPTS)?;
        let idx = self.cf(CF_INDEXES)?;
        for r in &exec.receipts {
            batch.put_cf(txs, r.tx_id.0, encode(&(r.height, r.index)));
            batch.put_cf(receipts, r.tx_id.0, encode(r));
            batch.put_cf(idx, sender_index_key(&r.sender, r.height, r.index), r.tx_id.0);
        }
        self.put_state(&mut batch, &exec.state)?;
        batch.put_cf(self.cf(CF_META)?, META_TIP, encode(&new_tip));
        self.write(batch)?;
        self.committed(&new_tip, &exec.state);
        Ok(new_tip)
    }

    /// Attach or replace the commit certificate of an already stored block (consensus may decide after
    /// the app has stored the block it proposed).
    pub fn set_certificate(&self, height: u64, cert: scf_ledger::block::CommitCertificate) -> Result<(), StoreError> {
        let mut block = self.block(height)?.ok_or_else(|| corrupt(format!("block {height}"), "missing"))?;
        block.certificate = Some(cert);
        let mut batch = WriteBatch::default();
        batch.put_cf(self.cf(CF_BLOCKS)?, height.to_be_bytes(), block.to_bytes());
        self.write(batch)
    }

    /// Whether a block at `height` is committed as far as readers are concerned. A block's batch reaches
    /// RocksDB a moment before the tip (and the state caches) move to it; in that moment its block,
    /// receipts and locations are already in the database, and a client that found its receipt there
    /// would submit its next transaction against a tip that does not include it yet (a nonce refused as
    /// "ahead"). Everything above the tip stays hidden until the tip moves.
    fn visible(&self, height: u64) -> Result<bool, StoreError> {
        match self.tip.read() {
            Ok(t) => Ok(t.as_ref().is_some_and(|t| height <= t.height)),
            Err(_) => Ok(self.read_tip()?.is_some_and(|t| height <= t.height)),
        }
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        if !self.visible(height)? {
            return Ok(None);
        }
        match self.get_cf(CF_BLOCKS, &height.to_be_bytes())? {
            None => Ok(None),
            Some(b) => Block::from_bytes(&b).map(Some).map_err(|e| corrupt(format!("block {height}"), e)),
        }
    }

    pub fn block_by_hash(&self, hash: &Hash32) -> Result<Option<Block>, StoreError> {
        match self.get_cf(CF_BLOCK_HASHES, &hash.0)? {
            None => Ok(None),
            Some(h) => {
                let arr: [u8; 8] = h.as_slice().try_into().map_err(|e| corrupt("block_hashes", e))?;
                self.block(u64::from_be_bytes(arr))
            }
        }
    }

    /// Where a transaction was committed: (height, index in block).
    pub fn tx_location(&self, tx_id: &Hash32) -> Result<Option<(u64, u32)>, StoreError> {
        let location: Option<(u64, u32)> = match self.get_cf(CF_TXS, &tx_id.0)? {
            None => None,
            Some(b) => Some(borsh::from_slice(&b).map_err(|e| corrupt("txs", e))?),
        };
        match location {
            Some((height, _)) if !self.visible(height)? => Ok(None),
            other => Ok(other),
        }
    }

    pub fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, StoreError> {
        let receipt: Option<Receipt> = match self.get_cf(CF_RECEIPTS, &tx_id.0)? {
            None => None,
            Some(b) => Some(borsh::from_slice(&b).map_err(|e| corrupt("receipts", e))?),
        };
        match receipt {
            Some(r) if !self.visible(r.height)? => Ok(None),
            other => Ok(other),
        }
    }

    /// Inclusion proof of a committed transaction in its block.
    pub fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, StoreError> {
        let Some((height, index)) = self.tx_location(tx_id)? else { return Ok(None) };
        let block = self.block(height)?.ok_or_else(|| corrupt(format!("block {height}"), "missing"))?;
        Ok(block.tx_proof(index as usize))
    }

    /// Inclusion proof of a receipt (and so of its events) under the block's receipts root.
    pub fn receipt_proof(
        &self,
        tx_id: &Hash32,
    ) -> Result<Option<(Receipt, scf_ledger::merkle::MerkleProof)>, StoreError> {
        let Some((height, index)) = self.tx_location(tx_id)? else { return Ok(None) };
        let block = self.block(height)?.ok_or_else(|| corrupt(format!("block {height}"), "missing"))?;
        let mut hashes = Vec::with_capacity(block.txs.len());
        let mut mine = None;
        for (i, tx) in block.txs.iter().enumerate() {
            let r = self.receipt(&tx.id())?.ok_or_else(|| corrupt("receipts", "missing receipt"))?;
            hashes.push(r.hash());
            if i == index as usize {
                mine = Some(r);
            }
        }
        Ok(mine.and_then(|r| merkle_proof(&hashes, index as usize).map(|p| (r, p))))
    }

    /// Transaction ids sent by `sender`, oldest first.
    pub fn txs_by_sender(&self, sender: &Address, limit: usize) -> Result<Vec<Hash32>, StoreError> {
        let mut prefix = b"sender/".to_vec();
        prefix.extend_from_slice(&sender.0);
        let cf = self.cf(CF_INDEXES)?;
        let mut out = Vec::new();
        for item in self.db.iterator_cf(cf, IteratorMode::From(&prefix, Direction::Forward)) {
            let (k, v) = item?;
            if !k.starts_with(&prefix) || out.len() >= limit {
                break;
            }
            let arr: [u8; 32] = v.as_ref().try_into().map_err(|e| corrupt("indexes", e))?;
            out.push(Hash32(arr));
        }
        Ok(out)
    }

    /// A proof of `key`'s value (or absence) in the state after block `height`.
    pub fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, StoreError> {
        Ok(prove(self, key, height)?)
    }

    /// Read-only state after block `height`.
    pub fn state_at(&self, height: u64) -> VersionedState<'_, Store> {
        VersionedState { reader: self, version: Some(height) }
    }

    /// Read-only state at the tip.
    pub fn latest_state(&self) -> Result<VersionedState<'_, Store>, StoreError> {
        let tip = self.tip()?.ok_or(StoreError::NoGenesis)?;
        Ok(self.state_at(tip.height))
    }

    /// Read the current value of a state key.
    pub fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.latest_state()?.get(key)?)
    }

    /// The state key whose tree key is `key_hash` (keys are stored hashed in the state tree), if that
    /// key was ever written.
    pub fn state_key(&self, key_hash: &KeyHash) -> Result<Option<Vec<u8>>, StoreError> {
        self.get_cf(CF_PREIMAGES, &key_hash.0)
    }

    /// Flush memtables to disk (used before backups).
    pub fn flush(&self) -> Result<(), StoreError> {
        for cf in ALL_CFS {
            self.db.flush_cf(self.cf(cf)?)?;
        }
        Ok(())
    }

    /// Compact every column family down to its last level (after a bulk load, so what follows starts
    /// from settled files and the sizes below count each record once).
    pub fn compact(&self) -> Result<(), StoreError> {
        for cf in ALL_CFS {
            self.db.compact_range_cf(self.cf(cf)?, None::<&[u8]>, None::<&[u8]>);
        }
        Ok(())
    }

    /// What each column family holds on disk, by RocksDB's own accounting.
    pub fn usage(&self) -> Result<Vec<CfUsage>, StoreError> {
        let mut out = Vec::with_capacity(ALL_CFS.len());
        for name in ALL_CFS {
            let cf = self.cf(name)?;
            let prop = |p: &str| -> Result<u64, StoreError> { Ok(self.db.property_int_value_cf(cf, p)?.unwrap_or(0)) };
            out.push(CfUsage {
                name,
                sst_bytes: prop("rocksdb.total-sst-files-size")?,
                live_bytes: prop("rocksdb.estimate-live-data-size")?,
                keys: prop("rocksdb.estimate-num-keys")?,
                memtable_bytes: prop("rocksdb.cur-size-all-mem-tables")?,
            });
        }
        Ok(out)
    }

    /// A consistent on-disk copy of the database (RocksDB checkpoint) for backups.
    pub fn checkpoint(&self, dest: &Path) -> Result<(), StoreError> {
        let cp = rocksdb::checkpoint::Checkpoint::new(&self.db)?;
        cp.create_checkpoint(dest)?;
        Ok(())
    }
}

fn backend(e: impl std::fmt::Display) -> StateError {
    StateError(e.to_string())
}

impl scf_ledger::block_store::BlockStore for Store {
    type Error = StoreError;

    fn tip(&self) -> Result<Option<ChainTip>, StoreError> {
        Store::tip(self)
    }
    fn init_genesis(&self, executor: &Executor, genesis: &Genesis) -> Result<ChainTip, StoreError> {
        Store::init_genesis(self, executor, genesis)
    }
    fn commit_block(&self, exec: &ExecutedBlock) -> Result<ChainTip, StoreError> {
        Store::commit_block(self, exec)
    }
    fn set_certificate(&self, height: u64, cert: scf_ledger::block::CommitCertificate) -> Result<(), StoreError> {
        Store::set_certificate(self, height, cert)
    }
    fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        Store::block(self, height)
    }
    fn tx_location(&self, tx_id: &Hash32) -> Result<Option<(u64, u32)>, StoreError> {
        Store::tx_location(self, tx_id)
    }
    fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, StoreError> {
        Store::receipt(self, tx_id)
    }
    fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, StoreError> {
        Store::tx_proof(self, tx_id)
    }
    fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, StoreError> {
        Store::state_proof(self, key, height)
    }
}

impl TreeReader for Store {
    fn get_node_option(&self, key: &NodeKey) -> Result<Option<Arc<InternalNode>>, StateError> {
        match self.get_cf(CF_STATE_NODES, &key.to_bytes()).map_err(backend)? {
            None => Ok(None),
            Some(b) => Ok(Some(Arc::new(InternalNode::from_bytes(&b)?))),
        }
    }

    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> Result<Option<Vec<u8>>, StateError> {
        if let Some(v) = self.values.get(max_version, &key_hash) {
            return Ok(v);
        }
        let cf = self.cf(CF_STATE_VALUES).map_err(backend)?;
        let seek = value_key(&key_hash, max_version);
        let mut it = self.db.iterator_cf(cf, IteratorMode::From(&seek, Direction::Reverse));
        let value = match it.next() {
            Some(Ok((k, v))) if k.len() == 40 && k[..32] == key_hash.0 => {
                borsh::from_slice::<Option<Vec<u8>>>(&v).map_err(|e| backend(corrupt("state_values", e)))?
            }
            Some(Err(e)) => return Err(backend(e)),
            _ => None,
        };
        self.values.fill(max_version, key_hash, value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_written_but_not_yet_the_tip_is_not_visible() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("open");
        let tip =
            |height| ChainTip { height, hash: Hash32([height as u8; 32]), time_ms: 0, state_root: Hash32([0; 32]) };
        store.set_tip(Some(tip(1)));
        // Block 2's receipt and location reach RocksDB (as `commit_block`'s batch does) ...
        let receipt = Receipt {
            tx_id: Hash32([9; 32]),
            height: 2,
            index: 0,
            sender: scf_ledger::crypto::KeyPair::from_seed("store-visible").address(),
            module: "org".into(),
            outcome: scf_ledger::receipt::TxOutcome::Success,
            events: Vec::new(),
        };
        let mut batch = WriteBatch::default();
        batch.put_cf(store.cf(CF_TXS).expect("cf"), receipt.tx_id.0, encode(&(2u64, 0u32)));
        batch.put_cf(store.cf(CF_RECEIPTS).expect("cf"), receipt.tx_id.0, encode(&receipt));
        store.write(batch).expect("write");
        // ... while the tip is still 1: nothing of block 2 is seen.
        assert_eq!(store.receipt(&receipt.tx_id).expect("receipt"), None);
        assert_eq!(store.tx_location(&receipt.tx_id).expect("location"), None);
        // The tip moves: now it is.
        store.set_tip(Some(tip(2)));
        assert_eq!(store.receipt(&receipt.tx_id).expect("receipt"), Some(receipt.clone()));
        assert_eq!(store.tx_location(&receipt.tx_id).expect("location"), Some((2, 0)));
    }

    #[test]
    fn a_database_of_the_older_layout_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        drop(DB::open_cf(&opts, dir.path(), ["meta", "jmt_nodes"]).expect("old layout"));
        match Store::open(dir.path()) {
            Err(StoreError::OldLayout { found, .. }) => assert_eq!(found, "jmt_nodes"),
            Err(e) => panic!("expected OldLayout, got {e}"),
            Ok(_) => panic!("expected OldLayout, the store opened"),
        }
        // A fresh directory opens.
        let fresh = tempfile::tempdir().expect("tempdir");
        assert!(Store::open(fresh.path()).is_ok());
    }

    #[test]
    fn a_database_of_another_recorded_or_unrecorded_layout_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(dir.path()).expect("new store");
        let meta = store.cf(CF_META).expect("meta");
        store.db.put_cf(meta, META_LAYOUT, 1u32.to_le_bytes()).expect("put");
        drop(store);
        match Store::open(dir.path()) {
            Err(StoreError::LayoutVersion { stored, expected, .. }) => {
                assert_eq!((stored, expected), (Some(1), LAYOUT))
            }
            Err(e) => panic!("expected LayoutVersion, got {e}"),
            Ok(_) => panic!("expected LayoutVersion, the store opened"),
        }
        // A chain written before layouts were recorded: a tip, no layout.
        let old = tempfile::tempdir().expect("tempdir");
        let store = Store::open(old.path()).expect("new store");
        let meta = store.cf(CF_META).expect("meta");
        store.db.delete_cf(meta, META_LAYOUT).expect("delete");
        store.db.put_cf(meta, META_TIP, b"tip").expect("put");
        drop(store);
        let err = Store::open(old.path()).err().expect("refused");
        assert!(err.to_string().contains("layout 1 (recorded no layout)"), "{err}");
        // This build's own database reopens.
        let fresh = tempfile::tempdir().expect("tempdir");
        drop(Store::open(fresh.path()).expect("new store"));
        assert!(Store::open(fresh.path()).is_ok());
    }
}

//! `scf bench chain --preload N`: the chain's state grown to N vouchers (with their lineage) and N
//! e-invoices before the timed run, so the benchmark shows whether throughput holds as state grows.
//!
//! The records are written directly, untimed, before the nodes start: the business modules' own code
//! executes each call (an invoice issue, a voucher issue, the supplier's signature and its splits) on an
//! overlay, exactly as a transaction would, but without signing or storing transactions — signing ten
//! million invoices would take the machine hours and measure nothing the run needs. Each preload block
//! carries no transactions, only the state those calls wrote, and a commit certificate signed by every
//! validator, as consensus would have; validator 0's database is built and the others get a checkpoint
//! of it (hard links), so all start from the same tip. Such blocks cannot be re-executed by a node that
//! syncs from scratch: they exist only in benchmark clusters.
//!
//! Shape: vouchers come in trees of up to 1,951 (a root backed by one invoice, split into 50 parts the
//! supplier keeps, then up to 38 of those into 50 each — the same shape as the benchmark's own set-up,
//! within the module's 2,000-voucher tree limit); invoices beyond the trees' backing ones stand alone.
//! Roots are `P0000000`…, invoice numbers start at 45·10¹⁸; neither meets the set-up's ids.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{anyhow, bail, Context as _};
use rayon::prelude::*;
use scf_domain::date::Date;
use scf_domain::invoice::InvoiceCall;
use scf_domain::voucher::{SplitPart, VoucherCall};
use scf_ledger::authenticated::commit_writes;
use scf_ledger::block::{Block, BlockHeader, CommitCertificate, CommitSignature};
use scf_ledger::crypto::{Hash32, KeyPair, PublicKey};
use scf_ledger::executor::{ChainTip, ExecutedBlock, Executor};
use scf_ledger::genesis::Genesis;
use scf_ledger::merkle::merkle_root;
use scf_ledger::module::{ModuleCall, ModuleRegistry, TxContext};
use scf_ledger::state::Overlay;
use scf_store::{CfUsage, Store};
use serde::{Deserialize, Serialize};

use crate::bench_chain::{bench_invoice, org_key, supplier_id, CORE, PARTS, ROOT_AMOUNT};

/// Most vouchers in one preloaded tree: root + 50 + 38 × 50 (the module allows 2,000).
const TREE_VOUCHERS: usize = 1 + PARTS + 38 * PARTS;
/// State keys per preload block: large enough that few tree versions are written (each rewrites most
/// of the tree's upper nodes), small enough that a block's writes fit comfortably in memory.
const BLOCK_KEYS: usize = 1_000_000;
/// First preloaded invoice number (20 digits); the set-up's are 44·10¹⁸ + supplier.
const FIRST_INVOICE: u128 = 45_000_000_000_000_000_000;

/// What was preloaded, how long it took and what it costs on disk (validator 0's database after a full
/// compaction).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PreloadReport {
    pub records: usize,
    pub vouchers: usize,
    pub invoices: usize,
    /// State keys written (a voucher is one, an invoice two: header and lines; a tree one more).
    pub state_keys: u64,
    pub blocks: u64,
    pub secs: f64,
    /// The database directory's size on disk.
    pub db_bytes: u64,
    /// `db_bytes / (vouchers + invoices)`.
    pub bytes_per_record: f64,
    /// Table-file bytes over RocksDB's estimate of live bytes, all column families together.
    pub space_amplification: f64,
    pub column_families: Vec<CfUsageReport>,
}

/// [`CfUsage`] as the report serializes it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CfUsageReport {
    pub name: String,
    pub sst_bytes: u64,
    pub live_bytes: u64,
    pub keys: u64,
}

impl From<&CfUsage> for CfUsageReport {
    fn from(u: &CfUsage) -> Self {
        CfUsageReport { name: u.name.to_string(), sst_bytes: u.sst_bytes, live_bytes: u.live_bytes, keys: u.keys }
    }
}

/// Sums of [`Store::usage`]: (table bytes, live bytes).
pub fn usage_totals(usage: &[CfUsage]) -> (u64, u64) {
    usage.iter().fold((0, 0), |(s, l), u| (s + u.sst_bytes, l + u.live_bytes))
}

/// Bytes of the files under `dir` (a database directory; not following links).
pub fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() { dir_bytes(&entry.path())? } else { meta.len() };
    }
    Ok(total)
}

/// One independent piece of the preload.
#[derive(Clone, Copy, Debug)]
enum Unit {
    /// Invoice `root`, the root voucher it backs and `vouchers - 1` descendants.
    Tree { root: usize, vouchers: usize },
    /// A standalone invoice.
    Invoice { index: usize },
}

impl Unit {
    fn keys(&self) -> usize {
        match self {
            Unit::Tree { vouchers, .. } => vouchers + 3,
            Unit::Invoice { .. } => 2,
        }
    }
}

fn units(n: usize) -> Vec<Unit> {
    let roots = n.div_ceil(TREE_VOUCHERS);
    let mut out: Vec<Unit> =
        (0..roots).map(|root| Unit::Tree { root, vouchers: (n - root * TREE_VOUCHERS).min(TREE_VOUCHERS) }).collect();
    out.extend((roots..n).map(|index| Unit::Invoice { index }));
    out
}

fn invoice_number(index: usize) -> String {
    format!("{:020}", FIRST_INVOICE + index as u128)
}

/// Splits `amount` into `parts` positive parts that sum to it.
fn parts_of(amount: u64, parts: usize, to: &str) -> Vec<SplitPart> {
    let base = amount / parts as u64;
    (0..parts)
        .map(|i| SplitPart {
            to: to.to_string(),
            amount: if i + 1 == parts { amount - base * (parts as u64 - 1) } else { base },
        })
        .collect()
}

/// Executes module calls on an overlay as transactions of one preload block would.
struct Caller<'a> {
    modules: &'a ModuleRegistry,
    chain_id: &'a str,
    height: u64,
    time_ms: u64,
    keys: &'a BTreeMap<String, PublicKey>,
}

impl Caller<'_> {
    fn call<C: ModuleCall>(&self, state: &mut Overlay<'_>, sender: &str, call: &C) -> anyhow::Result<()> {
        let module = self.modules.get(C::MODULE).ok_or_else(|| anyhow!("preload: no module {}", C::MODULE))?;
        let key = self.keys.get(sender).ok_or_else(|| anyhow!("preload: no key for {sender}"))?;
        let payload = call.encode_payload();
        let ctx = TxContext {
            chain_id: self.chain_id.to_string(),
            height: self.height,
            time_ms: self.time_ms,
            tx_id: Hash32::of(&payload),
            tx_index: 0,
            sender: *key,
            sender_address: key.address(),
        };
        module
            .execute(&ctx, state, &payload)
            .map(|_| ())
            .map_err(|e| anyhow!("preload: {} call by {sender} refused: {}: {}", C::MODULE, e.code, e.message))
    }

    fn unit(&self, state: &mut Overlay<'_>, unit: Unit, senders: usize) -> anyhow::Result<()> {
        let today = Date::from_time_ms(self.time_ms);
        let invoice = |index: usize| {
            let seller = supplier_id(index % senders);
            (InvoiceCall::Issue(bench_invoice(invoice_number(index), &seller, today.add_days(-1))), seller)
        };
        match unit {
            Unit::Invoice { index } => {
                let (call, seller) = invoice(index);
                self.call(state, &seller, &call)
            }
            Unit::Tree { root, vouchers } => {
                let (call, seller) = invoice(root);
                self.call(state, &seller, &call)?;
                let id = format!("P{root:07}");
                let issue = VoucherCall::Issue {
                    voucher_no: id.clone(),
                    to: seller.clone(),
                    amount: ROOT_AMOUNT,
                    currency: "CNY".into(),
                    due_date: today.add_days(90),
                    contract_ref: "HT-PRELOAD".into(),
                    invoices: vec![invoice_number(root)],
                    allow_over_six_months: false,
                };
                self.call(state, CORE, &issue)?;
                self.call(state, &seller, &VoucherCall::SignFor { voucher_id: id.clone() })?;
                let mut left = vouchers - 1;
                if left == 0 {
                    return Ok(());
                }
                let first = left.min(PARTS);
                let split = VoucherCall::Split { voucher_id: id.clone(), parts: parts_of(ROOT_AMOUNT, first, &seller) };
                self.call(state, &seller, &split)?;
                left -= first;
                let child_amount = ROOT_AMOUNT / first as u64;
                for c in 1..=first {
                    if left == 0 {
                        break;
                    }
                    let take = left.min(PARTS);
                    let parts = parts_of(child_amount, take, &seller);
                    self.call(state, &seller, &VoucherCall::Split { voucher_id: format!("{id}.{c}"), parts })?;
                    left -= take;
                }
                if left > 0 {
                    bail!("preload: tree {id} cannot hold {vouchers} vouchers");
                }
                Ok(())
            }
        }
    }
}

/// The commit certificate every validator would sign for `hash` at `height`.
fn certify(validators: &[KeyPair], height: u64, hash: Hash32) -> CommitCertificate {
    let signatures = validators
        .iter()
        .map(|v| {
            let bytes = scf_node::signing::precommit_signing_bytes(height, 0, hash, v.address());
            CommitSignature { validator: v.address(), signature: v.sign(&bytes) }
        })
        .collect();
    CommitCertificate { height, round: 0, block_hash: hash, signatures }
}

/// Preload the cluster generated (not started) in `cluster`: validator 0's database first, then a
/// checkpoint of it for every other validator. `senders` is the number of suppliers in the genesis.
pub fn preload(
    cluster: &scf_node::cli::ClusterFile,
    dir: &Path,
    n: usize,
    senders: usize,
) -> anyhow::Result<PreloadReport> {
    let started = Instant::now();
    let genesis = Genesis::from_json(&std::fs::read_to_string(dir.join("genesis.json")).context("genesis.json")?)?;
    let validators: Vec<&scf_node::cli::ClusterNode> = cluster.nodes.iter().filter(|n| n.validator).collect();
    let first = validators.first().ok_or_else(|| anyhow!("preload: the cluster has no validator"))?;
    let keys: Vec<KeyPair> = validators
        .iter()
        .map(|v| {
            scf_node::keys::read_consensus_key(&v.dir.join("consensus.pem"))
                .map_err(|e| anyhow!("{}: consensus key: {e}", v.name))
        })
        .collect::<anyhow::Result<_>>()?;
    let db_path = |node: &scf_node::cli::ClusterNode| node.dir.join("data").join("db");
    let path = db_path(first);
    if path.exists() {
        bail!("preload: {} exists; the preload needs a cluster whose nodes never started", path.display());
    }
    std::fs::create_dir_all(first.dir.join("data")).context("node data directory")?;
    let store = Store::open(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let modules = scf_domain::modules();
    let executor = Executor::new(genesis.chain_id.clone(), scf_domain::modules());
    let mut tip = store.init_genesis(&executor, &genesis).map_err(|e| anyhow!("genesis: {e}"))?;
    let mut org_keys = BTreeMap::new();
    for id in std::iter::once(CORE.to_string()).chain((0..senders).map(supplier_id)) {
        org_keys.insert(id.clone(), *org_key(&id).public());
    }

    let all = units(n);
    let mut blocks = 0u64;
    let mut state_keys = 0u64;
    let mut rest = all.as_slice();
    while !rest.is_empty() {
        let mut take = 0;
        let mut keys_in_block = 0;
        while take < rest.len() && keys_in_block < BLOCK_KEYS {
            keys_in_block += rest[take].keys();
            take += 1;
        }
        let (now, later) = rest.split_at(take);
        rest = later;
        tip = preload_block(&store, &modules, &genesis.chain_id, &tip, &keys, &org_keys, now, senders)?;
        blocks += 1;
        state_keys += keys_in_block as u64;
        eprintln!(
            "preload: block {} ({} of {} units, {:.0} s)",
            tip.height,
            all.len() - rest.len(),
            all.len(),
            started.elapsed().as_secs_f64()
        );
    }
    store.flush()?;
    store.compact()?;
    let usage = store.usage()?;
    for v in &validators[1..] {
        std::fs::create_dir_all(v.dir.join("data")).context("node data directory")?;
        store.checkpoint(&db_path(v)).map_err(|e| anyhow!("{}: checkpoint: {e}", v.name))?;
    }
    drop(store);
    let db_bytes = dir_bytes(&path).with_context(|| path.display().to_string())?;
    let (sst, live) = usage_totals(&usage);
    let vouchers = n;
    let records = vouchers + n;
    Ok(PreloadReport {
        records: n,
        vouchers,
        invoices: n,
        state_keys,
        blocks,
        secs: started.elapsed().as_secs_f64(),
        db_bytes,
        bytes_per_record: if records > 0 { db_bytes as f64 / records as f64 } else { 0.0 },
        space_amplification: if live > 0 { sst as f64 / live as f64 } else { 0.0 },
        column_families: usage.iter().map(CfUsageReport::from).collect(),
    })
}

/// Execute `units` (in parallel, each on its own overlay: they touch disjoint keys) and commit their
/// writes as the next block.
#[allow(clippy::too_many_arguments)]
fn preload_block(
    store: &Store,
    modules: &ModuleRegistry,
    chain_id: &str,
    tip: &ChainTip,
    validators: &[KeyPair],
    keys: &BTreeMap<String, PublicKey>,
    units: &[Unit],
    senders: usize,
) -> anyhow::Result<ChainTip> {
    let height = tip.height + 1;
    let time_ms = tip.time_ms + 1;
    let caller = Caller { modules, chain_id, height, time_ms, keys };
    let base = store.state_at(tip.height);
    let per_task = units.len().div_ceil(rayon::current_num_threads().max(1) * 4).max(1);
    let parts: Vec<BTreeMap<Vec<u8>, Option<Vec<u8>>>> = units
        .par_chunks(per_task)
        .map(|chunk| {
            let mut overlay = Overlay::new(&base);
            for u in chunk {
                caller.unit(&mut overlay, *u, senders)?;
            }
            Ok(overlay.into_writes())
        })
        .collect::<anyhow::Result<_>>()?;
    let mut writes = BTreeMap::new();
    let mut expected = 0;
    for mut part in parts {
        expected += part.len();
        writes.append(&mut part);
    }
    if writes.len() != expected {
        bail!("preload: two units of block {height} wrote the same state key");
    }
    let state = commit_writes(store, height, writes)?;
    let header = BlockHeader {
        chain_id: chain_id.to_string(),
        height,
        parent_hash: tip.hash,
        tx_root: merkle_root(&[]),
        receipts_root: merkle_root(&[]),
        state_root: state.root,
        time_ms,
        proposer: validators.first().map(KeyPair::address).unwrap_or_default(),
    };
    let certificate = Some(certify(validators, height, header.hash()));
    let exec = ExecutedBlock { block: Block { header, txs: Vec::new(), certificate }, receipts: Vec::new(), state };
    store.commit_block(&exec).map_err(|e| anyhow!("preload: block {height}: {e}"))
}

/// Where a preloaded cluster is kept for reuse, and what it was made for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotKey {
    pub records: usize,
    pub validators: usize,
    pub senders: usize,
    pub base_port: u16,
}

const SNAPSHOT_FILE: &str = "preload.json";

#[derive(Serialize, Deserialize)]
struct SnapshotFile {
    key: SnapshotKey,
    report: PreloadReport,
}

/// Copy the preloaded cluster in `dir` (nodes never started) to `snapshot`: every file, the databases
/// as RocksDB checkpoints (hard links).
pub fn save_snapshot(dir: &Path, snapshot: &Path, key: &SnapshotKey, report: &PreloadReport) -> anyhow::Result<()> {
    if snapshot.exists() {
        std::fs::remove_dir_all(snapshot).with_context(|| snapshot.display().to_string())?;
    }
    copy_cluster(dir, snapshot)?;
    let file = SnapshotFile { key: key.clone(), report: report.clone() };
    std::fs::write(snapshot.join(SNAPSHOT_FILE), serde_json::to_string_pretty(&file)?)
        .with_context(|| snapshot.display().to_string())?;
    Ok(())
}

/// If `snapshot` holds a preload made for `key`, copy it into `dir` (which must not hold a cluster
/// yet) and return its report.
pub fn restore_snapshot(snapshot: &Path, dir: &Path, key: &SnapshotKey) -> anyhow::Result<Option<PreloadReport>> {
    let Ok(text) = std::fs::read_to_string(snapshot.join(SNAPSHOT_FILE)) else { return Ok(None) };
    let file: SnapshotFile =
        serde_json::from_str(&text).with_context(|| snapshot.join(SNAPSHOT_FILE).display().to_string())?;
    if file.key != *key {
        return Ok(None);
    }
    copy_cluster(snapshot, dir)?;
    let _ = std::fs::remove_file(dir.join(SNAPSHOT_FILE));
    Ok(Some(file.report))
}

/// Copy a cluster directory, with `cluster.json` naming the copy's node directories.
fn copy_cluster(from: &Path, to: &Path) -> anyhow::Result<()> {
    copy_tree(from, to)?;
    let mut cluster = scf_node::cli::ClusterFile::read(to)?;
    let moved = |p: &Path| p.strip_prefix(from).map(|rest| to.join(rest)).unwrap_or_else(|_| p.to_path_buf());
    for node in &mut cluster.nodes {
        node.dir = moved(&node.dir);
        node.config = moved(&node.config);
    }
    std::fs::write(to.join("cluster.json"), serde_json::to_string_pretty(&cluster)?).context("cluster.json")?;
    Ok(())
}

/// Copy a directory tree: `*/data/db` through a RocksDB checkpoint, everything else byte for byte.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| to.display().to_string())?;
    for entry in std::fs::read_dir(from).with_context(|| from.display().to_string())? {
        let entry = entry?;
        let (src, dst): (PathBuf, PathBuf) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type()?.is_dir() {
            if src.file_name().is_some_and(|n| n == "db") && src.parent().is_some_and(|p| p.ends_with("data")) {
                let store = Store::open(&src).map_err(|e| anyhow!("{}: {e}", src.display()))?;
                store.checkpoint(&dst).map_err(|e| anyhow!("{}: checkpoint: {e}", dst.display()))?;
            } else {
                copy_tree(&src, &dst)?;
            }
        } else {
            std::fs::copy(&src, &dst).with_context(|| src.display().to_string())?;
        }
    }
    Ok(())
}

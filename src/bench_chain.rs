//! `scf bench chain --validators 1|4 --json`: end-to-end throughput and commit latency of a local
//! cluster (real node processes on loopback), read against the SM2-verify ceiling measured in the same
//! run on all cores.
//!
//! The transactions are real business transactions (quality.md: "signed voucher transfers"): the genesis
//! holds a core enterprise and `--senders` suppliers; an untimed set-up has each supplier issue an
//! e-invoice, the core enterprise issue each supplier a voucher backed by it, and each supplier sign
//! for it and split it into parts it keeps. The timed transactions then move those parts between
//! suppliers — alternately a whole `Transfer` and a `Split` passing half on — and every one must succeed
//! (checked on a sample after the timed phase).
//!
//! Transactions are generated and signed before the timed phase (signing is the clients' cost). The
//! timed phase runs from the first submission to the commit of the last transaction; latency is from a
//! transaction's submission to the moment its block is seen committed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use rayon::prelude::*;
use scf_domain::date::Date;
use scf_domain::invoice::{InvoiceCall, InvoiceLine, NewInvoice, Party};
use scf_domain::voucher::{SplitPart, VoucherCall};
use scf_ledger::crypto::{Hash32, KeyPair, DEFAULT_DIST_ID};
use scf_ledger::genesis::Genesis;
use scf_ledger::receipt::TxOutcome;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use serde::Serialize;
use tokio::sync::Mutex;

use scf_client::wire::TxStatus as RemoteTxStatus;
use scf_client::NodeClient;
use scf_ledger::module::ModuleCall;
use scf_node::cli::{cluster_down, ClusterDownArgs, ClusterUpArgs};

#[derive(Args, Debug, Clone)]
pub struct BenchChainArgs {
    #[arg(long, default_value_t = 1)]
    pub validators: usize,
    /// Transactions to commit.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
    /// Distinct senders (each sends txs/senders transactions in nonce order).
    #[arg(long, default_value_t = 200)]
    pub senders: usize,
    /// Transactions per submission request.
    #[arg(long, default_value_t = 500)]
    pub batch: usize,
    /// Submit at this sustained rate (transactions per second, in `--batch`-sized requests); 0 submits
    /// as fast as the nodes admit (the mempool queues the excess, so latency then measures the queue).
    #[arg(long, default_value_t = 0.0)]
    pub rate: f64,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Cluster directory (default: a fresh temporary one, removed afterwards).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    #[arg(long, default_value_t = 29000)]
    pub base_port: u16,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
    /// Before the run, grow the state to this many vouchers (with their lineage) and as many
    /// e-invoices, written directly and untimed (see `bench_preload`).
    #[arg(long, default_value_t = 0)]
    pub preload: usize,
    /// Keep the preloaded cluster here and reuse it when it matches (--preload, --validators,
    /// --senders, --base-port): a large preload is built once.
    #[arg(long, requires = "preload")]
    pub preload_snapshot: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainBenchResult {
    pub validators: usize,
    pub txs: usize,
    pub tps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// RustCrypto `sm2` on all cores (the fixed reference of `ratio`).
    pub sm2_verify_ceiling_per_s: f64,
    /// The chain's verifier on all cores, keys warm.
    pub sm2_fast_ceiling_per_s: f64,
    /// tps / ceiling for one validator; tps / (ceiling / validators) otherwise (every validator verifies
    /// every signature on the same machine).
    pub ratio: f64,
    /// The state preloaded before the run (`--preload`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preload: Option<crate::bench_preload::PreloadReport>,
    /// Validator 0's database after the run (nodes stopped): size on disk and RocksDB's space
    /// amplification (table bytes over its estimate of live bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub db_after: Option<DbSize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DbSize {
    pub db_bytes: u64,
    pub sst_bytes: u64,
    pub live_bytes: u64,
    pub space_amplification: f64,
}

/// Validator 0's database size once its node has stopped.
fn db_size(cluster: &scf_node::cli::ClusterFile) -> anyhow::Result<DbSize> {
    let node = cluster.nodes.iter().find(|n| n.validator).ok_or_else(|| anyhow!("no validator"))?;
    let path = node.dir.join("data").join("db");
    let store = scf_store::Store::open(&path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let (sst_bytes, live_bytes) = crate::bench_preload::usage_totals(&store.usage()?);
    drop(store);
    Ok(DbSize {
        db_bytes: crate::bench_preload::dir_bytes(&path)?,
        sst_bytes,
        live_bytes,
        space_amplification: if live_bytes > 0 { sst_bytes as f64 / live_bytes as f64 } else { 0.0 },
    })
}

/// SM2 verifications per second on all cores with RustCrypto `sm2`: the fixed reference every
/// benchmark's ratio is taken against, so a faster verifier in the chain shows as a ratio above 1.
pub fn sm2_verify_ceiling(txs: &[SignedTx]) -> f64 {
    ceiling(txs, |t| t.body.sender.verify_reference(DEFAULT_DIST_ID, &t.body.signing_bytes(), &t.signature).is_ok())
}

/// SM2 verifications per second on all cores with the chain's own verifier, keys warm as a node sees
/// them (its senders sign again and again, so their tables are cached): what verification alone would
/// allow the chain.
pub fn sm2_fast_ceiling(txs: &[SignedTx]) -> f64 {
    // Untimed: each sender's signatures until its table is cached.
    let _ = txs.par_iter().filter(|t| t.verify_signature().is_ok()).count();
    ceiling(txs, |t| t.verify_signature().is_ok())
}

/// Rounds of `verify` over `items` on all cores for at least two seconds; per second.
fn ceiling<T: Sync>(items: &[T], verify: impl Fn(&T) -> bool + Sync) -> f64 {
    let start = Instant::now();
    let mut rounds = 0usize;
    while start.elapsed() < Duration::from_secs(2) || rounds == 0 {
        let ok = items.par_iter().filter(|t| verify(t)).count();
        debug_assert_eq!(ok, items.len());
        rounds += 1;
    }
    (rounds * items.len()) as f64 / start.elapsed().as_secs_f64()
}

/// Most children a split may create (the voucher module's `MAX_PARTS`).
pub(crate) const PARTS: usize = scf_domain::voucher::MAX_PARTS;
/// Each supplier's root voucher (fen): 50 parts of 500,000, or 2,500 parts of 10,000 after a second split.
pub(crate) const ROOT_AMOUNT: u64 = 25_000_000;
/// The invoice backing a root (fen, before tax).
const INVOICE_AMOUNT: u64 = 100_000_000;
pub(crate) const CORE: &str = "CE";

pub(crate) fn supplier_id(i: usize) -> String {
    format!("S{i:04}")
}

pub(crate) fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("bench-org-{id}"))
}

/// A unique 18-character 统一社会信用代码 for a benchmark organisation.
fn credit_code(id: &str) -> String {
    let h = scf_ledger::crypto::sm3(id.as_bytes());
    format!("9131{}", h[..7].iter().map(|x| format!("{x:02X}")).collect::<String>())
}

/// One signer with locally tracked nonces.
struct Account {
    key: KeyPair,
    nonce: u64,
}

impl Account {
    fn new(id: &str) -> Self {
        Account { key: org_key(id), nonce: 0 }
    }
    fn tx<C: ModuleCall>(&mut self, chain_id: &str, call: &C) -> SignedTx {
        let tx = body(chain_id, &self.key, self.nonce, call).sign(&self.key);
        self.nonce += 1;
        tx
    }
}

fn body<C: ModuleCall>(chain_id: &str, key: &KeyPair, nonce: u64, call: &C) -> TxBody {
    TxBody {
        chain_id: chain_id.to_string(),
        sender: *key.public(),
        nonce,
        expiry_height: 50_000,
        call: Call { module: C::MODULE.into(), payload: call.encode_payload() },
    }
}

/// The benchmark consortium: a core enterprise and `senders` suppliers.
fn bench_orgs(senders: usize) -> serde_json::Value {
    let org = |id: &str, role: scf_domain::org::Role| {
        serde_json::json!({
            "id": id, "name": format!("{id} 有限公司"), "credit_code": credit_code(id),
            "roles": [role], "public_key": org_key(id).public(),
        })
    };
    let mut orgs = vec![org(CORE, scf_domain::org::Role::CoreEnterprise)];
    orgs.extend((0..senders).map(|i| org(&supplier_id(i), scf_domain::org::Role::Supplier)));
    serde_json::json!({ "orgs": orgs })
}

/// How a supplier's root is cut before the timed phase so it holds at least `per_sender` leaves:
/// the root into 50 parts kept by the supplier, then the first `k` of those into 50 parts each.
fn second_splits(per_sender: usize) -> anyhow::Result<usize> {
    let k = per_sender.saturating_sub(PARTS).div_ceil(PARTS - 1);
    // Tree members: root + 50 + 50k from the set-up, up to two per timed transaction.
    let members = 1 + PARTS + PARTS * k + 2 * per_sender;
    if k > PARTS || members > scf_domain::voucher::MAX_TREE {
        bail!(
            "--txs / --senders = {per_sender} transactions per sender is too many for one voucher tree; add --senders"
        );
    }
    Ok(k)
}

/// The voucher ids supplier `root` holds after the set-up, in the order the timed phase uses them.
fn leaves(root: &str, k: usize) -> Vec<(String, u64)> {
    let mut out: Vec<(String, u64)> = (k + 1..=PARTS).map(|c| (format!("{root}.{c}"), ROOT_AMOUNT / 50)).collect();
    for c in 1..=k {
        out.extend((1..=PARTS).map(|m| (format!("{root}.{c}.{m}"), ROOT_AMOUNT / 2500)));
    }
    out
}

/// An e-invoice of `INVOICE_AMOUNT` (before 13 % tax) from supplier `seller` to the core enterprise.
pub(crate) fn bench_invoice(number: String, seller: &str, issue_date: Date) -> NewInvoice {
    let party = |id: &str| Party { name: format!("{id} 有限公司"), tax_id: credit_code(id) };
    let tax = INVOICE_AMOUNT * 13 / 100;
    NewInvoice {
        number,
        issue_date,
        currency: "CNY".into(),
        seller: party(seller),
        buyer: party(CORE),
        buyer_org: Some(CORE.into()),
        lines: vec![InvoiceLine {
            item_name: "*汽车零部件*制动盘".into(),
            spec: "BD-320".into(),
            unit: "件".into(),
            quantity: Some("1000".into()),
            unit_price: Some(format!("{}.{:02}", INVOICE_AMOUNT / 100_000, (INVOICE_AMOUNT / 1000) % 100)),
            amount: INVOICE_AMOUNT,
            tax_rate_bp: 1300,
            tax_amount: tax,
        }],
        total_amount: INVOICE_AMOUNT,
        total_tax: tax,
        total_with_tax: INVOICE_AMOUNT + tax,
        remarks: "bench".into(),
        issuer: "bench".into(),
        details: Default::default(),
    }
}

/// Set-up transactions in three dependent phases (each must commit before the next is submitted):
/// invoices by the suppliers; vouchers by the core enterprise backed by them; the suppliers sign for
/// their vouchers and split them into the leaves the timed phase moves.
fn setup_phases(chain_id: &str, senders: usize, k: usize, today: Date) -> Vec<Vec<SignedTx>> {
    let mut core = Account::new(CORE);
    let mut suppliers: Vec<Account> = (0..senders).map(|i| Account::new(&supplier_id(i))).collect();
    let mut invoices = Vec::new();
    let mut issues = Vec::new();
    let mut cuts = Vec::new();
    for (i, s) in suppliers.iter_mut().enumerate() {
        let id = supplier_id(i);
        let number = format!("{:020}", 44_000_000_000_000_000_000u128 + i as u128);
        let inv = bench_invoice(number.clone(), &id, today.add_days(-1));
        invoices.push(s.tx(chain_id, &InvoiceCall::Issue(inv)));
        let root = format!("V{i:04}");
        issues.push(core.tx(
            chain_id,
            &VoucherCall::Issue {
                voucher_no: root.clone(),
                to: id.clone(),
                amount: ROOT_AMOUNT,
                currency: "CNY".into(),
                due_date: today.add_days(90),
                contract_ref: "HT-BENCH".into(),
                invoices: vec![number],
                allow_over_six_months: false,
            },
        ));
        let own = |amount: u64| (0..PARTS).map(|_| SplitPart { to: id.clone(), amount }).collect::<Vec<_>>();
        cuts.push(s.tx(chain_id, &VoucherCall::SignFor { voucher_id: root.clone() }));
        cuts.push(s.tx(chain_id, &VoucherCall::Split { voucher_id: root.clone(), parts: own(ROOT_AMOUNT / 50) }));
        for c in 1..=k {
            let voucher_id = format!("{root}.{c}");
            cuts.push(s.tx(chain_id, &VoucherCall::Split { voucher_id, parts: own(ROOT_AMOUNT / 2500) }));
        }
    }
    vec![invoices, issues, cuts]
}

/// The timed transactions: each supplier moves its leaves to the next supplier, alternating a whole
/// transfer and a split that passes half on and keeps half. Interleaved across senders (transaction
/// `k` belongs to sender `k % senders`), each sender's in nonce order.
fn timed_txs(chain_id: &str, n: usize, senders: usize, k: usize) -> Vec<SignedTx> {
    let first_nonce = 3 + k as u64;
    let plan: Vec<Vec<(String, u64)>> = (0..senders).map(|i| leaves(&format!("V{i:04}"), k)).collect();
    (0..n)
        .into_par_iter()
        .map(|j| {
            let i = j % senders;
            let step = j / senders;
            let me = supplier_id(i);
            let next = supplier_id((i + 1) % senders);
            let (voucher_id, amount) = plan[i][step].clone();
            let call = if step.is_multiple_of(2) {
                VoucherCall::Transfer { voucher_id, to: next }
            } else {
                VoucherCall::Split {
                    voucher_id,
                    parts: vec![
                        SplitPart { to: next, amount: amount / 2 },
                        SplitPart { to: me.clone(), amount: amount / 2 },
                    ],
                }
            };
            let key = org_key(&me);
            body(chain_id, &key, first_nonce + step as u64, &call).sign(&key)
        })
        .collect()
}

/// Submit `txs` (spread across `clients`) and wait until each is committed with a successful receipt.
async fn run_setup_phase(clients: &[NodeClient], txs: &[SignedTx], deadline: Instant) -> anyhow::Result<()> {
    for (i, chunk) in txs.chunks(500).enumerate() {
        let c = &clients[i % clients.len()];
        let mut pending = chunk.to_vec();
        while !pending.is_empty() {
            let results = c.submit_batch(&pending).await?;
            if let Some(e) = results.iter().filter_map(|r| r.error.as_ref()).find(|e| !e.retryable) {
                bail!("a set-up transaction was refused: {} ({})", e.message, e.kind);
            }
            pending = pending
                .into_iter()
                .zip(results)
                .filter(|(_, r)| r.error.as_ref().is_some_and(|e| e.retryable))
                .map(|(t, _)| t)
                .collect();
            if !pending.is_empty() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    let watcher = &clients[0];
    for tx in txs {
        let id = tx.id();
        loop {
            match watcher.tx_status(&id).await? {
                RemoteTxStatus::Committed { receipt, .. } => {
                    if let TxOutcome::Failed { code, message } = receipt.outcome {
                        bail!("set-up transaction {id} ({}) failed: {code}: {message}", tx.body.call.module);
                    }
                    break;
                }
                _ if Instant::now() > deadline => bail!("set-up transaction {id} not committed in time"),
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
    Ok(())
}

/// After the timed phase: every `step`-th benchmark transaction (and each sender's last) succeeded.
async fn check_outcomes(client: &NodeClient, txs: &[SignedTx], senders: usize) -> anyhow::Result<()> {
    let step = 10;
    let ids: Vec<Hash32> = txs
        .iter()
        .enumerate()
        .filter(|(j, _)| j % step == 0 || *j + senders >= txs.len())
        .map(|(_, t)| t.id())
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for part in ids.chunks(ids.len().div_ceil(8).max(1)) {
        let (c, part) = (client.clone(), part.to_vec());
        tasks.spawn(async move {
            for id in part {
                match c.tx_status(&id).await? {
                    RemoteTxStatus::Committed { receipt, .. } => {
                        if let TxOutcome::Failed { code, message } = receipt.outcome {
                            bail!("benchmark transaction {id} failed: {code}: {message}");
                        }
                    }
                    other => bail!("benchmark transaction {id}: {other:?}"),
                }
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.context("outcome check")??;
    }
    Ok(())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

pub fn bench_chain(args: &BenchChainArgs) -> anyhow::Result<ChainBenchResult> {
    if args.validators == 0 || args.txs == 0 {
        bail!("--validators and --txs must be positive");
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile::Builder::new().prefix("scf-bench-").tempdir()?;
            tmp.path().to_path_buf()
        }
    };
    let per_sender = args.txs.div_ceil(args.senders.max(1));
    let k = second_splits(per_sender)?;
    let mut up = ClusterUpArgs {
        nodes: args.validators,
        observers: 0,
        dir: dir.clone(),
        base_port: args.base_port,
        chain_id: "scf-bench".into(),
        // Generate keys, genesis and configs first (no node index matches), then add the consortium.
        only: vec![usize::MAX],
        wait_secs: 60,
    };
    let fresh = !dir.join("cluster.json").exists();
    if args.preload > 0 && !fresh {
        bail!("--preload needs a new cluster directory; {} holds one", dir.display());
    }
    let exe = std::env::current_exe().context("path of the scf executable")?;
    let cluster_up = |up: &ClusterUpArgs| scf_node::cli::cluster_up_with(up, &exe, scf_domain::modules());
    let snapshot_key = crate::bench_preload::SnapshotKey {
        records: args.preload,
        validators: args.validators,
        senders: args.senders.max(1),
        base_port: args.base_port,
    };
    let restored = match &args.preload_snapshot {
        Some(snap) if args.preload > 0 => crate::bench_preload::restore_snapshot(snap, &dir, &snapshot_key)?,
        _ => None,
    };
    let preload = if let Some(report) = restored {
        if let Some(snap) = &args.preload_snapshot {
            eprintln!("preload: reusing the cluster preloaded in {}", snap.display());
        }
        Some(report)
    } else {
        let generated = cluster_up(&up)?;
        if fresh {
            let path = dir.join("genesis.json");
            let mut g = Genesis::from_json(&std::fs::read_to_string(&path).context("genesis.json")?)?;
            g.app_state.insert("org".into(), bench_orgs(args.senders.max(1)));
            std::fs::write(&path, g.to_json()).context("genesis.json")?;
        }
        if args.preload > 0 {
            let report = crate::bench_preload::preload(&generated, &dir, args.preload, args.senders.max(1))?;
            if let Some(snap) = &args.preload_snapshot {
                crate::bench_preload::save_snapshot(&dir, snap, &snapshot_key, &report)?;
            }
            Some(report)
        } else {
            None
        }
    };
    up.only = vec![];
    let cluster = cluster_up(&up)?;
    let result = run_bench(args, &cluster, k);
    let _ = cluster_down(&ClusterDownArgs { dir: dir.clone(), only: vec![], kill: false });
    let mut r = result?;
    r.preload = preload;
    if args.preload > 0 {
        r.db_after = Some(db_size(&cluster)?);
    }
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{r:#?}");
    }
    Ok(r)
}

/// Requests of the timed phase in flight at once at a sustained `--rate`.
const IN_FLIGHT: usize = 32;
/// Requests in flight at once when unpaced: one being verified while the next travels. With one, the
/// cores idled between a response and the next request (1 validator: ratio 0.60–0.63 against
/// 0.65–0.67 with two); three or four raised latency (p99 0.7–1.4 s) without more throughput, and
/// flooding admission starves block building.
const IN_FLIGHT_UNPACED: usize = 2;

/// Submit one request's transactions, resubmitting those refused for a transient reason: back-pressure,
/// or a nonce gap (with requests in flight concurrently, a sender's next transaction can reach a node
/// before the previous one has arrived there by gossip).
/// (The submission times were recorded when the request was scheduled.)
async fn submit_until_admitted(
    c: &NodeClient,
    mut pending: Vec<(SignedTx, Hash32)>,
    deadline: Instant,
) -> anyhow::Result<()> {
    while !pending.is_empty() {
        let batch: Vec<SignedTx> = pending.iter().map(|(t, _)| t.clone()).collect();
        let results = c.submit_batch(&batch).await?;
        let transient = |e: &scf_client::wire::ApiErrorBody| e.retryable || e.kind == "nonce_gap";
        if let Some(e) = results.iter().filter_map(|r| r.error.as_ref()).find(|e| !transient(e)) {
            bail!("a benchmark transaction was refused: {} ({})", e.message, e.kind);
        }
        let retry: Vec<(SignedTx, Hash32)> = pending
            .into_iter()
            .zip(results)
            .filter(|(_, r)| r.error.as_ref().is_some_and(transient))
            .map(|(t, _)| t)
            .collect();
        if !retry.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pending = retry;
        if Instant::now() > deadline {
            bail!("submission did not finish in time");
        }
    }
    Ok(())
}

fn run_bench(
    args: &BenchChainArgs,
    cluster: &scf_node::cli::ClusterFile,
    k: usize,
) -> anyhow::Result<ChainBenchResult> {
    let senders = args.senders.max(1);
    let today = Date::from_time_ms(scf_client::now_ms());
    let setup = setup_phases(&cluster.chain_id, senders, k, today);
    let txs = timed_txs(&cluster.chain_id, args.txs, senders, k);
    let sample = &txs[..txs.len().min(4000)];
    let ceiling = sm2_verify_ceiling(sample);
    let fast_ceiling = sm2_fast_ceiling(sample);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let clients: Vec<NodeClient> =
            cluster.nodes.iter().filter(|n| n.validator).map(|n| NodeClient::new(n.api.clone())).collect();
        let watcher = clients.first().cloned().ok_or_else(|| anyhow!("no validator"))?;
        let setup_deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
        for phase in &setup {
            run_setup_phase(&clients, phase, setup_deadline).await.context("benchmark set-up")?;
        }
        let start_height = watcher.status().await?.height;
        let submitted: Arc<Mutex<HashMap<Hash32, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
        let t0 = Instant::now();
        // Submit in batches, spread across validators, retrying on back-pressure.
        let sub = {
            let submitted = submitted.clone();
            // Ids are computed before the timed phase, like the signatures: the watcher's cost is not the system's.
            let chunks: Vec<Vec<(SignedTx, Hash32)>> =
                txs.chunks(args.batch.max(1)).map(|c| c.iter().map(|t| (t.clone(), t.id())).collect()).collect();
            let clients = clients.clone();
            let (rate, batch) = (args.rate, args.batch.max(1));
            // Unpaced: as fast as the nodes admit, IN_FLIGHT_UNPACED requests at a time.
            let in_flight =
                Arc::new(tokio::sync::Semaphore::new(if rate > 0.0 { IN_FLIGHT } else { IN_FLIGHT_UNPACED }));
            tokio::spawn(async move {
                // Requests are sent on schedule without waiting for earlier answers (up to IN_FLIGHT
                // at once), as independent clients would; a sequential submitter caps the offered rate
                // at one request per round trip.
                let mut requests = tokio::task::JoinSet::new();
                for (i, chunk) in chunks.into_iter().enumerate() {
                    if rate > 0.0 {
                        let due = t0 + Duration::from_secs_f64((i * batch) as f64 / rate);
                        tokio::time::sleep_until(due.into()).await;
                    }
                    {
                        // Latency runs from the scheduled submission, also if the request has to wait
                        // for a free slot.
                        let mut s = submitted.lock().await;
                        let now = Instant::now();
                        for (_, id) in &chunk {
                            s.entry(*id).or_insert(now);
                        }
                    }
                    let permit = in_flight.clone().acquire_owned().await?;
                    let c = clients[i % clients.len()].clone();
                    requests.spawn(async move {
                        let _permit = permit;
                        submit_until_admitted(&c, chunk, deadline).await
                    });
                    while let Some(done) = requests.try_join_next() {
                        done??;
                    }
                }
                while let Some(done) = requests.join_next().await {
                    done??;
                }
                Ok::<(), anyhow::Error>(())
            })
        };
        // Watch committed blocks and time each transaction.
        let mut latencies = Vec::with_capacity(txs.len());
        let mut height = start_height + 1;
        let mut last_commit = t0;
        while latencies.len() < txs.len() {
            if Instant::now() > deadline {
                bail!("only {} of {} transactions committed within {}s", latencies.len(), txs.len(), args.timeout_secs);
            }
            match watcher.block_tx_ids(height).await? {
                Some(ids) => {
                    let seen = Instant::now();
                    let s = submitted.lock().await;
                    for id in &ids {
                        if let Some(t) = s.get(id) {
                            latencies.push(seen.duration_since(*t).as_secs_f64() * 1000.0);
                        }
                    }
                    last_commit = seen;
                    height += 1;
                }
                None => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
        sub.await.context("submitter")??;
        check_outcomes(&watcher, &txs, senders).await?;
        let elapsed = last_commit.duration_since(t0).as_secs_f64().max(1e-9);
        latencies.sort_by(|a, b| a.total_cmp(b));
        let tps = txs.len() as f64 / elapsed;
        let per_validator_ceiling = if args.validators == 1 { ceiling } else { ceiling / args.validators as f64 };
        Ok(ChainBenchResult {
            validators: args.validators,
            txs: txs.len(),
            tps,
            p50_ms: percentile(&latencies, 0.50),
            p99_ms: percentile(&latencies, 0.99),
            sm2_verify_ceiling_per_s: ceiling,
            sm2_fast_ceiling_per_s: fast_ceiling,
            ratio: tps / per_validator_ceiling,
            preload: None,
            db_after: None,
        })
    })
}

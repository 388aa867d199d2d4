//! `scf bench chain --validators 1|4 --json`: end-to-end throughput and commit latency of a local
//! cluster (real node processes on loopback), read against the SM2-verify ceiling measured in the same
//! run on all cores.
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
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::tx::{Call, SignedTx, TxBody};
use serde::Serialize;
use tokio::sync::Mutex;

use crate::cli::{cluster_down, cluster_up, ClusterDownArgs, ClusterUpArgs};
use crate::client::NodeClient;

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
}

#[derive(Debug, Clone, Serialize)]
pub struct ChainBenchResult {
    pub validators: usize,
    pub txs: usize,
    pub tps: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub sm2_verify_ceiling_per_s: f64,
    /// tps / ceiling for one validator; tps / (ceiling / validators) otherwise (every validator verifies
    /// every signature on the same machine).
    pub ratio: f64,
}

/// SM2 verifications per second on all cores.
pub fn sm2_verify_ceiling(txs: &[SignedTx]) -> f64 {
    let start = Instant::now();
    let mut rounds = 0usize;
    while start.elapsed() < Duration::from_secs(2) || rounds == 0 {
        let ok = txs.par_iter().filter(|t| t.verify_signature().is_ok()).count();
        debug_assert_eq!(ok, txs.len());
        rounds += 1;
    }
    (rounds * txs.len()) as f64 / start.elapsed().as_secs_f64()
}

fn make_txs(chain_id: &str, n: usize, senders: usize) -> Vec<SignedTx> {
    let senders = senders.max(1);
    let keys: Vec<KeyPair> = (0..senders).map(|i| KeyPair::from_seed(&format!("bench-sender-{i}"))).collect();
    // Interleaved: transaction k belongs to sender k % senders, nonce k / senders.
    (0..n)
        .into_par_iter()
        .map(|k| {
            let key = &keys[k % senders];
            TxBody {
                chain_id: chain_id.to_string(),
                sender: *key.public(),
                nonce: (k / senders) as u64,
                expiry_height: 50_000,
                // A call the executor runs end to end (the org module refuses the empty payload
                // deterministically; the transaction is still ordered, executed, receipted and stored).
                call: Call { module: "org".into(), payload: vec![] },
            }
            .sign(key)
        })
        .collect()
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
    let up = ClusterUpArgs {
        nodes: args.validators,
        observers: 0,
        dir: dir.clone(),
        base_port: args.base_port,
        chain_id: "scf-bench".into(),
        only: vec![],
        wait_secs: 60,
    };
    let cluster = cluster_up(&up)?;
    let result = run_bench(args, &cluster);
    let _ = cluster_down(&ClusterDownArgs { dir: dir.clone(), only: vec![], kill: false });
    let r = result?;
    if args.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!("{r:#?}");
    }
    Ok(r)
}

fn run_bench(args: &BenchChainArgs, cluster: &crate::cli::ClusterFile) -> anyhow::Result<ChainBenchResult> {
    let txs = make_txs(&cluster.chain_id, args.txs, args.senders);
    let ceiling = sm2_verify_ceiling(&txs[..txs.len().min(4000)]);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async {
        let clients: Vec<NodeClient> =
            cluster.nodes.iter().filter(|n| n.validator).map(|n| NodeClient::new(n.api.clone())).collect();
        let watcher = clients.first().cloned().ok_or_else(|| anyhow!("no validator"))?;
        let start_height = watcher.status().await?.height;
        let submitted: Arc<Mutex<HashMap<Hash32, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
        let deadline = Instant::now() + Duration::from_secs(args.timeout_secs);
        let t0 = Instant::now();
        // Submit in batches, spread across validators, retrying on back-pressure.
        let sub = {
            let submitted = submitted.clone();
            let chunks: Vec<Vec<SignedTx>> = txs.chunks(args.batch.max(1)).map(|c| c.to_vec()).collect();
            let clients = clients.clone();
            tokio::spawn(async move {
                for (i, chunk) in chunks.into_iter().enumerate() {
                    let c = &clients[i % clients.len()];
                    let mut pending = chunk;
                    while !pending.is_empty() {
                        let now = Instant::now();
                        {
                            let mut s = submitted.lock().await;
                            for t in &pending {
                                s.entry(t.id()).or_insert(now);
                            }
                        }
                        let results = c.submit_batch(&pending).await?;
                        if let Some(e) = results.iter().filter_map(|r| r.error.as_ref()).find(|e| !e.retryable) {
                            bail!("a benchmark transaction was refused: {} ({})", e.message, e.kind);
                        }
                        let retry: Vec<SignedTx> = pending
                            .into_iter()
                            .zip(results)
                            .filter(|(_, r)| r.error.as_ref().is_some_and(|e| e.retryable))
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
            match watcher.block(height).await? {
                Some(b) => {
                    let seen = Instant::now();
                    let s = submitted.lock().await;
                    for tx in &b.block.txs {
                        if let Some(t) = s.get(&tx.id()) {
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
            ratio: tps / per_validator_ceiling,
        })
    })
}

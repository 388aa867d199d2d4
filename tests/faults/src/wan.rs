//! Commit latency over a WAN: four validators in namespaces, every pair `one_way_ms` apart through the
//! link proxies, voucher transfers submitted open-loop at a fixed rate, latency from submission to the
//! block that holds the transaction being seen committed by the validator it was submitted to.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context as _};
use scf_client::HttpChain;
use scf_domain::voucher::VoucherCall;
use scf_ledger::crypto::Hash32;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::cluster::{org_key, supplier, Cluster, Timeouts, SUPPLIERS};
use crate::load::{self, PARTS};
use crate::net::Net;
use crate::proxy::Shape;

#[derive(Clone, Debug)]
pub struct WanOptions {
    pub scf: PathBuf,
    pub work: PathBuf,
    pub validators: usize,
    pub one_way_ms: u64,
    pub jitter_ms: u64,
    pub loss: f64,
    /// Transactions per second, submitted open-loop.
    pub rate: f64,
    pub secs: u64,
    pub timeouts: Timeouts,
}

#[derive(Clone, Debug, Serialize)]
pub struct WanResult {
    pub validators: usize,
    pub one_way_ms: u64,
    pub jitter_ms: u64,
    pub loss: f64,
    pub rate: f64,
    pub secs: u64,
    pub timeout_propose_ms: u64,
    pub timeout_prevote_ms: u64,
    pub timeout_precommit_ms: u64,
    pub timeout_delta_ms: u64,
    pub submitted: usize,
    pub committed: usize,
    pub tps: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Blocks committed during the measurement.
    pub blocks: u64,
}

pub async fn run(o: &WanOptions) -> anyhow::Result<WanResult> {
    let dir = o.work.join(format!("wan-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    let octet = (64..=250u8).find(|o| Net::octet_free(*o)).context("no free 10.x/16")?;
    let net = Net::create(&format!("w{}", std::process::id() % 10_000), octet, o.validators)?;
    let mut cluster = Cluster::create(&o.scf, &dir, net, "scf-wan", o.timeouts, 1).await?;
    cluster.start_all()?;
    cluster.wait_up(Duration::from_secs(60)).await?;
    let chain = HttpChain::connect(&cluster.nodes[0].api).await?;
    let total = (o.rate * o.secs as f64).ceil() as usize;
    let per = total.div_ceil(SUPPLIERS);
    let second = per.saturating_sub(PARTS).div_ceil(PARTS - 1).min(PARTS);
    if per > PARTS + second * (PARTS - 1) {
        bail!("--rate x --secs = {total} transfers is more than the set-up provides");
    }
    let setup = load::setup(&chain, second).await.context("set-up")?;
    cluster.shape_all(Shape { latency_ms: o.one_way_ms, jitter_ms: o.jitter_ms, loss: o.loss });

    // Transfers signed in advance, interleaved across suppliers, each supplier's in nonce order.
    let mut txs = Vec::new();
    for k in 0..per {
        for i in 0..SUPPLIERS {
            if txs.len() >= total {
                break;
            }
            let voucher_id = setup.leaves[i][k].clone();
            let call = VoucherCall::Transfer { voucher_id, to: supplier((i + 1) % SUPPLIERS) };
            txs.push((i, load::sign(&cluster.chain_id, &org_key(&supplier(i)), setup.nonces[i] + k as u64, &call)));
        }
    }
    let clients = cluster.clients();
    let submitted: Arc<Mutex<HashMap<Hash32, (usize, Instant)>>> = Arc::new(Mutex::new(HashMap::new()));
    let committed: Arc<Mutex<HashMap<Hash32, Instant>>> = Arc::new(Mutex::new(HashMap::new()));
    let start_height = clients[0].status().await?.height;
    // One watcher per validator: a transaction's commit is when the validator it was sent to has it.
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut watchers = Vec::new();
    for (v, c) in clients.iter().cloned().enumerate() {
        let (submitted, committed, done) = (submitted.clone(), committed.clone(), done.clone());
        watchers.push(tokio::spawn(async move {
            let mut seen = start_height;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(s) = c.status().await else { continue };
                while seen < s.height {
                    let Ok(Some(ids)) = c.block_tx_ids(seen + 1).await else { break };
                    let now = Instant::now();
                    seen += 1;
                    let sub = submitted.lock().await;
                    let mut com = committed.lock().await;
                    for id in ids {
                        if sub.get(&id).is_some_and(|(sv, _)| *sv == v) {
                            com.entry(id).or_insert(now);
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }
    let period = Duration::from_secs_f64(1.0 / o.rate);
    let t0 = Instant::now();
    for (k, (i, tx)) in txs.iter().enumerate() {
        tokio::time::sleep_until(t0 + period.mul_f64(k as f64)).await;
        let v = (i + k) % clients.len();
        submitted.lock().await.insert(tx.id(), (v, Instant::now()));
        let c = clients[v].clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            let _ = c.submit(&tx).await;
        });
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while committed.lock().await.len() < txs.len() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in watchers {
        let _ = w.await;
    }
    let end_height = clients[0].status().await?.height;
    let sub = submitted.lock().await;
    let com = committed.lock().await;
    let mut lat: Vec<f64> = com
        .iter()
        .filter_map(|(id, at)| sub.get(id).map(|(_, s)| at.duration_since(*s).as_secs_f64() * 1000.0))
        .collect();
    lat.sort_by(|a, b| a.total_cmp(b));
    let q = |p: f64| lat.get(((lat.len() as f64 * p).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN);
    let r = WanResult {
        validators: o.validators,
        one_way_ms: o.one_way_ms,
        jitter_ms: o.jitter_ms,
        loss: o.loss,
        rate: o.rate,
        secs: o.secs,
        timeout_propose_ms: o.timeouts.propose_ms,
        timeout_prevote_ms: o.timeouts.prevote_ms,
        timeout_precommit_ms: o.timeouts.precommit_ms,
        timeout_delta_ms: o.timeouts.delta_ms,
        submitted: txs.len(),
        committed: com.len(),
        tps: com.len() as f64 / elapsed,
        p50_ms: q(0.50),
        p90_ms: q(0.90),
        p99_ms: q(0.99),
        max_ms: lat.last().copied().unwrap_or(f64::NAN),
        blocks: end_height - start_height,
    };
    drop(cluster);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(r)
}

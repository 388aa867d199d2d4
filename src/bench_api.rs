//! `scf bench api --json`: the public provenance query (`lotPage` with every step's proof bundle) under
//! concurrent clients, against the real stack — a validator node seeded with the demo consortium, the
//! GraphQL API over HTTP on loopback and its SQLite read model — with the machine's SM2-verify ceiling
//! measured in the same run. Rate limiting is off for the run (all clients share one address).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use scf_ledger::crypto::KeyPair;
use scf_ledger::tx::{Call, TxBody};
use serde::Serialize;

use crate::seed;

#[derive(Clone, Debug, clap::Args)]
pub struct BenchApiArgs {
    /// Concurrent clients, each sending its requests one after another.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Requests in total (spread over the clients).
    #[arg(long, default_value_t = 4000)]
    pub requests: usize,
    /// Seeds directory (the consortium and its lot).
    #[arg(long)]
    pub seeds: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct ApiBenchResult {
    pub clients: usize,
    pub requests: usize,
    pub errors: usize,
    pub requests_per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Event steps (each with a proof bundle) in one answer.
    pub steps_per_answer: usize,
    pub sm2_verify_ceiling_per_s: f64,
}

const GTIN: &str = "06901234000337";
const LOT: &str = "Y260302";
const QUERY: &str = "query($g:String!,$l:String!){ lotPage(gtin:$g, lot:$l){ product{ gtin name } lot{ number } \
    steps{ id bizStep eventTime eventHash recordedBy{ orgName } proof{ eventHash receiptHex headerHex \
    receiptProof{ index count steps{ sibling siblingOnLeft } } txProof{ index count steps{ sibling siblingOnLeft } } \
    certificate{ height round blockHash signatures{ validator signature } } validators{ name publicKey power } } } \
    sensors{ deviceId } certificates{ id } } }";

pub fn run(args: &BenchApiArgs, seeds: &Path) -> anyhow::Result<ApiBenchResult> {
    if args.clients == 0 || args.requests < args.clients {
        bail!("--clients must be at least 1 and --requests at least --clients");
    }
    let dir = std::env::temp_dir().join(format!("scf-bench-api-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    let result = run_in(args, seeds, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_in(args: &BenchApiArgs, seeds: &Path, dir: &Path) -> anyhow::Result<ApiBenchResult> {
    let keys = dir.join("keys");
    scf_node::keys::generate(&keys, "bench-validator", true).map_err(|e| anyhow!("keys: {e}"))?;
    let validator =
        scf_node::keys::read_consensus_key(&keys.join("consensus.pem")).map_err(|e| anyhow!("keys: {e}"))?;
    let plan = seed::load(seeds, validator.public()).map_err(|e| anyhow!("seeds: {e}"))?;
    let genesis = dir.join("genesis.json");
    std::fs::write(&genesis, serde_json::to_string(&plan.genesis)?).context("genesis")?;
    let home = dir.join("chain");
    crate::demo::prehistory::seed_chain(&home, &plan, &validator)?;

    // The ceiling: SM2 verifications per second on all cores, of transactions signed beforehand.
    let signer = KeyPair::from_seed("bench/api/ceiling");
    let txs: Vec<_> = (0..2000u64)
        .map(|nonce| {
            TxBody {
                chain_id: plan.genesis.chain_id.clone(),
                sender: *signer.public(),
                nonce,
                expiry_height: 100,
                call: Call { module: "org".into(), payload: vec![0; 64] },
            }
            .sign(&signer)
        })
        .collect();
    let ceiling = crate::bench_chain::sm2_verify_ceiling(&txs);

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let node = scf_node::NodeHandle::start(crate::demo::node_config(dir, &home, &genesis), scf_domain::modules())
            .await
            .map_err(|e| anyhow!("node: {e}"))?;
        let chain: Arc<dyn scf_client::Chain> = node.chain().clone();
        let db = format!("sqlite://{}?mode=rwc", dir.join("read-model.sqlite").display());
        let mut cfg = scf_graphql::Config::new(([127, 0, 0, 1], 0).into(), db, [7; 16]);
        cfg.limits.public_requests_per_minute = 0;
        let server = scf_graphql::start(cfg, chain).await.map_err(|e| anyhow!("API: {e}"))?;
        let url = format!("http://{}/graphql", server.addr);
        let body = serde_json::json!({ "query": QUERY, "variables": { "g": GTIN, "l": LOT } }).to_string();
        let client = reqwest::Client::builder().pool_max_idle_per_host(args.clients).build()?;

        // One answer to check the query works and to count its steps (also warms the caches).
        let first: serde_json::Value = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await?
            .json()
            .await?;
        let steps = first["data"]["lotPage"]["steps"].as_array().map(Vec::len).unwrap_or(0);
        if steps == 0 {
            bail!("lotPage answered without steps: {first}");
        }

        let per_client = args.requests / args.clients;
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(args.clients);
        for _ in 0..args.clients {
            let (client, url, body) = (client.clone(), url.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let mut lat = Vec::with_capacity(per_client);
                let mut errors = 0usize;
                for _ in 0..per_client {
                    let t = Instant::now();
                    let ok = match client
                        .post(&url)
                        .header("content-type", "application/json")
                        .body(body.clone())
                        .send()
                        .await
                    {
                        Ok(r) if r.status().is_success() => {
                            r.bytes().await.map(|b| !b.windows(9).any(|w| w == b"\"errors\":")).unwrap_or(false)
                        }
                        _ => false,
                    };
                    lat.push(t.elapsed());
                    if !ok {
                        errors += 1;
                    }
                }
                (lat, errors)
            }));
        }
        let mut all: Vec<Duration> = Vec::with_capacity(per_client * args.clients);
        let mut errors = 0;
        for t in tasks {
            let (lat, e) = t.await?;
            all.extend(lat);
            errors += e;
        }
        let elapsed = start.elapsed();
        server.abort();
        node.shutdown().await;
        all.sort();
        let pct = |p: f64| {
            let i = ((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1;
            all[i].as_secs_f64() * 1000.0
        };
        Ok(ApiBenchResult {
            clients: args.clients,
            requests: all.len(),
            errors,
            requests_per_s: all.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: pct(0.50),
            p99_ms: pct(0.99),
            steps_per_answer: steps,
            sm2_verify_ceiling_per_s: ceiling,
        })
    })
}

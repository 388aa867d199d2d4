//! The demo chain's history before today: the seeded story executed as the chain's first blocks.
//!
//! Each step is one block stamped 10:00 Beijing time on the step's date (so the domain rules see the
//! story's business calendar), signed by the acting organisation's demo key, and certified by the demo
//! validator exactly as consensus would (one SM2 precommit over the block hash — 1 of 1 validators), so
//! these blocks verify like any other: offline with `scf verify-cert`, in the browser on the consumer
//! page. Consensus then continues from the last seeded height with wall-clock block times.

use std::path::Path;

use anyhow::{anyhow, bail, Context};
use scf_ledger::block::{CommitCertificate, CommitSignature};
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::executor::{account_nonce, ChainTip, Executor};
use scf_ledger::receipt::TxOutcome;
use scf_ledger::tx::{Call, TxBody};
use scf_store::Store;

use crate::seed::{self, business_time_ms, PlannedStep, SeedPlan};

/// File under the node home that records that every seeded step is in a block.
const SEEDED: &str = "seeded";

/// How long a seeded transaction stays valid (it is included in the very next block).
const EXPIRY_BLOCKS: u64 = 10;

/// Seed the chain under `home` (the node's home: RocksDB in `home/db`) unless already done; resumes a
/// seeding that was interrupted.
pub fn seed_chain(home: &Path, plan: &SeedPlan, validator: &KeyPair) -> anyhow::Result<()> {
    let marker = home.join(SEEDED);
    std::fs::create_dir_all(home).with_context(|| home.display().to_string())?;
    let store = Store::open(&home.join("db")).map_err(|e| anyhow!("{}: {e}", home.join("db").display()))?;
    let exec = Executor::new(plan.genesis.chain_id.clone(), scf_domain::modules());
    let tip = store.init_genesis(&exec, &plan.genesis).map_err(|e| anyhow!("genesis: {e}"))?;
    if marker.is_file() {
        return Ok(());
    }
    let total = plan.steps.len() as u64;
    if tip.height > total {
        bail!(
            "{}: the chain is at height {} but was never completely seeded ({total} steps); start over with --reset",
            home.display(),
            tip.height
        );
    }
    if tip.height > 0 {
        eprintln!("resuming seeding at step {} of {total}", tip.height + 1);
    } else {
        eprintln!("seeding the consortium's history from {}: {total} dated steps", plan.source.display());
    }
    let bar = indicatif::ProgressBar::new(total).with_style(
        indicatif::ProgressStyle::with_template("seeding the consortium's history {bar:30} {pos}/{len} {wide_msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_position(tip.height);
    seed_store(&store, &exec, plan, validator, tip, |step| {
        bar.set_message(format!("{} {}", step.date, step.label));
        bar.inc(1);
    })?;
    bar.finish_with_message("done");
    std::fs::write(&marker, format!("{total}\n")).with_context(|| marker.display().to_string())?;
    Ok(())
}

/// Execute and commit every step after `tip` (step `i` is block `i + 1`), each block certified by
/// `validator`. Fails on the first step whose business rule refuses it, naming it.
pub fn seed_store(
    store: &Store,
    exec: &Executor,
    plan: &SeedPlan,
    validator: &KeyPair,
    mut tip: ChainTip,
    mut progress: impl FnMut(&PlannedStep),
) -> anyhow::Result<ChainTip> {
    let now = scf_client::now_ms();
    for (i, step) in plan.steps.iter().enumerate().skip(tip.height as usize) {
        let key = seed::org_key(&step.actor);
        let nonce =
            account_nonce(&store.state_at(tip.height), &key.address()).map_err(|e| anyhow!("step {i}: nonce: {e}"))?;
        let tx = TxBody {
            chain_id: plan.genesis.chain_id.clone(),
            sender: *key.public(),
            nonce,
            expiry_height: tip.height + EXPIRY_BLOCKS,
            call: Call { module: step.module.clone(), payload: step.payload.clone() },
        }
        .sign(&key);
        let time = business_time_ms(step.date, i as u64).max(tip.time_ms + 1);
        if time >= now {
            bail!("seeds: step {i} ({}) is dated {} — seeded history must lie in the past", step.label, step.date);
        }
        let mut out = exec
            .execute_block(store, &tip, time, validator.address(), vec![tx], &|_: &Hash32| false)
            .map_err(|e| anyhow!("seeds: step {i} ({}): {e}", step.label))?;
        if let Some(TxOutcome::Failed { code, message }) = out.receipts.first().map(|r| &r.outcome) {
            bail!("seeds: step {i} ({}) on {} was refused: {code}: {message}", step.label, step.date);
        }
        out.block.certificate = Some(certify(validator, out.block.header.height, out.block.header.hash()));
        tip = store.commit_block(&out).map_err(|e| anyhow!("seeds: step {i}: commit: {e}"))?;
        progress(step);
    }
    Ok(tip)
}

/// The commit certificate a single validator produces: its precommit signature for `block_hash`.
fn certify(validator: &KeyPair, height: u64, block_hash: Hash32) -> CommitCertificate {
    let bytes = scf_node::signing::precommit_signing_bytes(height, 0, block_hash, validator.address());
    CommitCertificate {
        height,
        round: 0,
        block_hash,
        signatures: vec![CommitSignature { validator: validator.address(), signature: validator.sign(&bytes) }],
    }
}

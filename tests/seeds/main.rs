//! The demo seeds load, every seeded step succeeds on a real chain (executor + RocksDB), and the
//! consortium ends in the stages the demo tour relies on.

use std::path::Path;

use scf::seed::{self, business_time_ms};
use scf_domain::voucher::{self, VoucherStatus};
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::executor::{account_nonce, Executor};
use scf_ledger::receipt::TxOutcome;
use scf_ledger::tx::{Call, TxBody};
use scf_store::Store;

fn seeds_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/seeds"))
}

#[test]
fn seeded_story_runs_on_chain_and_reaches_every_stage() {
    let validator = KeyPair::from_seed("demo/validator");
    let plan = seed::load(seeds_dir(), validator.public()).expect("seeds load");
    assert!(plan.consortium.org.len() >= 12, "a realistic consortium");
    assert!(plan.users.len() >= 20);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let exec = Executor::new(plan.genesis.chain_id.clone(), scf_domain::modules());
    let mut tip = store.init_genesis(&exec, &plan.genesis).expect("genesis");
    for (i, step) in plan.steps.iter().enumerate() {
        let key = seed::org_key(&step.actor);
        let nonce = account_nonce(&store.state_at(tip.height), &key.address()).expect("nonce");
        let tx = TxBody {
            chain_id: plan.genesis.chain_id.clone(),
            sender: *key.public(),
            nonce,
            expiry_height: tip.height + 10,
            call: Call { module: step.module.clone(), payload: step.payload.clone() },
        }
        .sign(&key);
        let time = business_time_ms(step.date, i as u64).max(tip.time_ms + 1);
        let out = exec
            .execute_block(&store, &tip, time, validator.address(), vec![tx], &|_: &Hash32| false)
            .expect("execute");
        if let TxOutcome::Failed { code, message } = &out.receipts[0].outcome {
            panic!("seed step {i} ({}) on {} failed: {code}: {message}", step.label, step.date);
        }
        tip = store.commit_block(&out).expect("commit");
    }
    let st = store.state_at(tip.height);
    let status =
        |id: &str| voucher::load_voucher(&st, id).expect("read").unwrap_or_else(|| panic!("no voucher {id}")).status;
    assert_eq!(status("HSY-2026-0001.1.1"), VoucherStatus::Settled);
    assert!(voucher::load_clearing(&st, "HSY-2026-0001").expect("read").is_some(), "cleared");
    assert!(voucher::is_overdue(&st, "HSY-2026-0002", scf_domain::date::Date::parse("2026-11-21").expect("d"))
        .expect("read"));
    let v3 = voucher::load_voucher(&st, "HSY-2026-0003.2").expect("read").expect("v3.2");
    assert!(v3.offer.is_some(), "financing offer awaiting the bank");
    let pending = voucher::load_voucher(&st, "HSY-2026-0003.1.1").expect("read").expect("v3.1.1");
    assert_eq!(pending.pending_from.as_deref(), Some("JDCAST"), "transfer awaiting sign-for");
    let v4 = voucher::load_voucher(&st, "HSY-2026-0004").expect("read").expect("v4");
    assert_eq!(v4.status, VoucherStatus::Pending, "issued, awaiting sign-for");
    let receipt = scf_domain::warehouse::load_receipt(&st, "CMST-WR-2026-0001").expect("read").expect("receipt");
    assert!(format!("{receipt:?}").contains("ICBC-SH"), "pledged to ICBC-SH");
    let trace = scf_domain::provenance::trace_lot(&st, "06901234000337", "Y260302").expect("trace");
    assert!(!trace.upstream.is_empty());
}

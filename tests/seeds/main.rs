//! The demo seeds load, every seeded step succeeds on a real chain (executor + RocksDB), and the
//! consortium ends in the stages the demo tour relies on; every seeded block carries a valid certificate.

use std::path::Path;

use scf::demo::prehistory;
use scf::seed;
use scf_domain::voucher::{self, VoucherStatus};
use scf_ledger::crypto::KeyPair;
use scf_ledger::executor::Executor;
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
    let genesis_tip = store.init_genesis(&exec, &plan.genesis).expect("genesis");
    let mut done = 0;
    let tip = prehistory::seed_store(&store, &exec, &plan, &validator, genesis_tip, |_| done += 1)
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(done, plan.steps.len());
    assert_eq!(tip.height, plan.steps.len() as u64, "one block per step");
    // Every seeded block carries the demo validator's certificate and verifies like a consensus block.
    for h in 1..=tip.height {
        let block = store.block(h).expect("read").expect("block");
        scf_node::verify_certificate(&block, &plan.genesis.validators).unwrap_or_else(|e| panic!("block {h}: {e}"));
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
    // Seeded invoices are issued sealed (issue #21): no clear lines in state, the regulator and tax
    // authority hold keys, and a funder gets one when financing is applied for with it.
    for n in ["26312000000000180001", "26312000000000180002", "26312000000000180003"] {
        assert!(scf_domain::invoice::load_lines(&st, n).expect("read").is_none(), "{n}: clear lines in state");
        let sealed = scf_domain::invoice::load_sealed_lines(&st, n).expect("read").unwrap_or_else(|| panic!("{n}"));
        let to: Vec<&str> = sealed.recipients().collect();
        for org in ["HLBRAKE", "HSAUTO", "PBOC-SH", "SH-TAX"] {
            assert!(to.contains(&org), "{n}: not sealed for {org}: {to:?}");
        }
        let object = scf_domain::confidential::Object::InvoiceLines { number: n.into() };
        let opened = scf_ledger::confidential::open(&sealed, &object.aad(), "PBOC-SH", &seed::org_key("PBOC-SH"))
            .expect("the regulator opens the lines");
        let lines: scf_domain::invoice::InvoiceLines = borsh::from_slice(&opened.payload).expect("lines");
        assert!(!lines.lines.is_empty());
    }
    let granted = |n: &str, org: &str| {
        let s = scf_domain::invoice::load_sealed_lines(&st, n).expect("read").expect("sealed");
        s.wrapped_for(org).is_some()
    };
    assert!(granted("26312000000000180001", "CMB-SZ"), "the funder of HSY-2026-0001.1.1 holds a key");
    assert!(granted("26312000000000180003", "ICBC-SH"), "the offered funder of HSY-2026-0003.2 holds a key");
    assert!(!granted("26312000000000180003", "CMB-SZ"), "an uninvolved funder holds none");
    let receipt = scf_domain::warehouse::load_receipt(&st, "CMST-WR-2026-0001").expect("read").expect("receipt");
    assert!(format!("{receipt:?}").contains("ICBC-SH"), "pledged to ICBC-SH");
    let trace = scf_domain::provenance::trace_lot(&st, "06901234000337", "Y260302").expect("trace");
    assert!(!trace.upstream.is_empty());
    // Its places are named (GLN master data), a sub-location by its site; its brand owner is the dairy.
    let plant = scf_domain::provenance::load_location(&st, "urn:epc:id:sgln:6901234.00002.0").expect("read");
    assert_eq!(plant.map(|l| (l.name, l.org)), Some(("沪光乳业 松江工厂".to_string(), "HGDAIRY".to_string())));
    let owner = scf_domain::provenance::brand_owner(&st, "06901234000337", "Y260302").expect("read");
    assert_eq!(owner.as_deref(), Some("HGDAIRY"));
    // Devices: registered with the demo's device keys, and the ingestion account may raise their alerts.
    assert!(plan.devices.len() >= 3, "devices bound to bins and a lot");
    let (ingest_org, ingest) = seed::service_key(&plan.consortium.ingest_account).expect("ingest account");
    for d in &plan.devices {
        let dev =
            scf_domain::device::load_device(&st, &d.id).expect("read").unwrap_or_else(|| panic!("no device {}", d.id));
        assert_eq!(dev.public_key, *seed::device_key(&d.id).public());
        assert!(dev.is_active());
        if d.owner != ingest_org {
            assert!(scf_domain::device::is_ingestor(&st, &d.owner, &ingest.address()).expect("read"), "{}", d.owner);
        }
    }
    assert!(plan.devices.iter().any(|d| d.simulate.excursion.is_some()), "a scheduled excursion");
}

//! One test per warehouse-receipt rule (each fails if its rule is removed).

use scf_ledger::crypto::KeyPair;
use scf_ledger::module::{Event, ModuleError};

use super::*;
use crate::date::Date;
use crate::kv::encode_call;
use crate::org::Role;
use crate::testkit::World;
use std::result::Result;

struct Fx {
    w: World,
    wh: KeyPair,
    wh2: KeyPair,
    dep: KeyPair,
    buyer: KeyPair,
    bank: KeyPair,
    bank2: KeyPair,
    reg: KeyPair,
}

fn fx() -> Fx {
    let mut w = World::new();
    let wh = w.add_org("WH-A", &[Role::WarehouseOperator]);
    let wh2 = w.add_org("WH-B", &[Role::WarehouseOperator]);
    let dep = w.add_org("TRADER", &[Role::Supplier]);
    let buyer = w.add_org("BUYER", &[Role::Supplier]);
    let bank = w.add_org("BANK", &[Role::Funder]);
    let bank2 = w.add_org("BANK2", &[Role::Funder]);
    let reg = w.add_org("REG", &[Role::Regulator]);
    Fx { w, wh, wh2, dep, buyer, bank, bank2, reg }
}

fn loc(bin: &str) -> StorageLocation {
    StorageLocation { warehouse: "GLN-6901234000016".into(), zone: "A".into(), bin: bin.into() }
}

fn terms(number: &str, bin: &str, lot: &str) -> ReceiptTerms {
    ReceiptTerms {
        number: number.into(),
        depositor: "TRADER".into(),
        goods_name: "电解铜 Copper cathode".into(),
        spec: "Cu-CATH-1, GB/T 467".into(),
        unit: "kg".into(),
        quantity: 25_000,
        packaging: "捆 bundles".into(),
        location: loc(bin),
        identity: GoodsIdentity::GtinLot { gtin: "6901234567892".into(), lot: lot.into() },
        insurance: Some(Insurance {
            insurer: "PICC".into(),
            policy_number: "PICC-2026-001".into(),
            insured_amount: Money { fen: 18_000_000_000, currency: "CNY".into() },
            valid_until: Date::parse("2026-12-31").expect("date"),
        }),
        valid_until: Date::parse("2026-06-30").expect("date"),
        rights_notice: "本仓单可背书转让、质押；提货须出示仓单。".into(),
    }
}

impl Fx {
    fn run(&mut self, who: &KeyPair, call: WarehouseCall) -> Result<Vec<Event>, ModuleError> {
        self.w.exec(&WarehouseModule, who, &encode_call(&call))
    }
    fn issue(&mut self, number: &str, bin: &str, lot: &str) {
        let wh = self.wh.clone();
        if let Err(e) = self.run(&wh, WarehouseCall::Issue { terms: terms(number, bin, lot) }) {
            panic!("issue {number}: {e}");
        }
    }
    fn get(&self, number: &str) -> Receipt {
        load_receipt(&self.w.state, number).expect("state").expect("receipt exists")
    }
    fn pledge_call(number: &str, funder: &str) -> WarehouseCall {
        WarehouseCall::Pledge {
            number: number.into(),
            funder: funder.into(),
            amount: Money { fen: 10_000_000_000, currency: "CNY".into() },
            due: Date::parse("2026-04-30").expect("date"),
        }
    }
}

fn code(r: Result<Vec<Event>, ModuleError>) -> String {
    match r {
        Ok(_) => "OK".into(),
        Err(e) => e.code,
    }
}

#[test]
fn issue_records_all_gbt_30332_elements_and_takes_the_goods_lock() {
    let mut f = fx();
    let wh = f.wh.clone();
    let ev = f.run(&wh, WarehouseCall::Issue { terms: terms("WR-001", "B-01", "L1") }).expect("issue");
    assert_eq!(ev[0].kind, "ReceiptIssued");
    let orgs: Vec<&str> = ev[0].attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.as_str()).collect();
    assert_eq!(orgs, ["WH-A", "TRADER"]);
    let r = f.get("WR-001");
    assert_eq!((r.operator.as_str(), r.holder.as_str(), r.terms.quantity), ("WH-A", "TRADER", 25_000));
    assert_eq!(r.terms, terms("WR-001", "B-01", "L1"));
    assert!(r.is_active() && r.pledge.is_none() && r.flag.is_none() && r.endorsements.is_empty());
    let keys = r.goods_keys();
    assert_eq!(keys, ["GLN-6901234000016|A|B-01|GTIN|06901234567892|LOT|L1"]);
    assert_eq!(goods_lock(&f.w.state, &keys[0]).expect("state").as_deref(), Some("WR-001"));
    assert_eq!(receipts_of(&f.w.state, "TRADER").expect("state"), ["WR-001"]);
}

#[test]
fn only_a_warehouse_operator_issues() {
    let mut f = fx();
    let dep = f.dep.clone();
    assert_eq!(code(f.run(&dep, WarehouseCall::Issue { terms: terms("WR-001", "B-01", "L1") })), "MISSING_ROLE");
}

#[test]
fn issue_validates_fields() {
    let mut f = fx();
    let wh = f.wh.clone();
    let mut cases: Vec<(ReceiptTerms, &str)> = Vec::new();
    let mut t = terms("WR-1", "B", "L");
    t.quantity = 0;
    cases.push((t, "terms.quantity"));
    let mut t = terms("WR-1", "B", "L");
    t.identity = GoodsIdentity::GtinLot { gtin: "6901234567893".into(), lot: "L".into() };
    cases.push((t, "terms.identity.gtin"));
    let mut t = terms("WR-1", "B", "L");
    t.valid_until = Date::parse("2025-12-31").expect("date");
    cases.push((t, "terms.valid_until"));
    let mut t = terms("WR 1", "B", "L");
    t.number = "WR 1".into();
    cases.push((t, "terms.number"));
    let mut t = terms("WR-1", "B", "L");
    t.rights_notice = " ".into();
    cases.push((t, "terms.rights_notice"));
    let mut t = terms("WR-1", "", "L");
    t.location.bin = "".into();
    cases.push((t, "terms.location.bin"));
    let mut t = terms("WR-1", "B", "L");
    t.identity = GoodsIdentity::Serials { gtin: None, serials: vec!["S1".into(), "s1".into()] };
    cases.push((t, "terms.identity.serials[1]"));
    for (t, field) in cases {
        let e = f.run(&wh, WarehouseCall::Issue { terms: t }).expect_err(field);
        assert_eq!(e.code, "INVALID_FIELD", "{field}");
        assert!(e.message.starts_with(field), "{field}: {}", e.message);
    }
    let mut t = terms("WR-1", "B", "L");
    t.depositor = "NOBODY".into();
    assert_eq!(code(f.run(&wh, WarehouseCall::Issue { terms: t })), "UNKNOWN_ORG");
}

#[test]
fn receipt_numbers_are_unique() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let wh2 = f.wh2.clone();
    assert_eq!(
        code(f.run(&wh2, WarehouseCall::Issue { terms: terms("WR-001", "B-02", "L2") })),
        "RECEIPT_NUMBER_TAKEN"
    );
}

#[test]
fn the_same_goods_never_back_two_active_receipts_whoever_issues_them() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    // A second warehouse operator claims the same goods, written differently (full-width, case, spaces).
    let wh2 = f.wh2.clone();
    let mut t = terms("WR-B-001", "Ｂ－０１", "l1");
    t.location.warehouse = " gln-6901234000016 ".into();
    t.identity = GoodsIdentity::GtinLot { gtin: "06901234567892".into(), lot: "l1".into() };
    let e = f.run(&wh2, WarehouseCall::Issue { terms: t }).expect_err("double receipt");
    assert_eq!(e.code, "GOODS_ALREADY_RECEIPTED");
    assert!(e.message.contains("WR-001"), "{}", e.message);
    // Serialised goods: overlapping serials are the same goods.
    let mut a = terms("WR-S1", "B-09", "x");
    a.identity = GoodsIdentity::Serials { gtin: Some("6901234567892".into()), serials: vec!["S1".into(), "S2".into()] };
    let wh = f.wh.clone();
    f.run(&wh, WarehouseCall::Issue { terms: a }).expect("serials");
    let mut b = terms("WR-S2", "B-09", "x");
    b.identity = GoodsIdentity::Serials { gtin: Some("6901234567892".into()), serials: vec!["S3".into(), "S2".into()] };
    assert_eq!(code(f.run(&wh2, WarehouseCall::Issue { terms: b })), "GOODS_ALREADY_RECEIPTED");
    // Different bin: different goods.
    f.issue("WR-002", "B-02", "L1");
}

#[test]
fn endorsement_moves_the_holder_and_keeps_history() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let (dep, buyer) = (f.dep.clone(), f.buyer.clone());
    let ev = f
        .run(&dep, WarehouseCall::Endorse { number: "WR-001".into(), to: "BUYER".into(), note: "合同 C-9".into() })
        .expect("endorse");
    let orgs: Vec<&str> = ev[0].attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.as_str()).collect();
    assert!(orgs.contains(&"TRADER") && orgs.contains(&"BUYER") && orgs.contains(&"WH-A"));
    let r = f.get("WR-001");
    assert_eq!(r.holder, "BUYER");
    assert_eq!(r.endorsements.len(), 1);
    assert_eq!((r.endorsements[0].from.as_str(), r.endorsements[0].to.as_str()), ("TRADER", "BUYER"));
    // The old holder can no longer move it.
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Endorse { number: "WR-001".into(), to: "BANK".into(), note: String::new() })),
        "NOT_RECEIPT_HOLDER"
    );
    f.run(&buyer, WarehouseCall::Endorse { number: "WR-001".into(), to: "TRADER".into(), note: String::new() })
        .expect("back");
    assert_eq!(f.get("WR-001").endorsements.len(), 2);
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Endorse { number: "WR-001".into(), to: "TRADER".into(), note: String::new() })),
        "INVALID_FIELD"
    );
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Endorse { number: "WR-404".into(), to: "BUYER".into(), note: String::new() })),
        "RECEIPT_NOT_FOUND"
    );
}

#[test]
fn expired_receipts_do_not_move() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    f.w.set_date("2026-07-01");
    let dep = f.dep.clone();
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Endorse { number: "WR-001".into(), to: "BUYER".into(), note: String::new() })),
        "RECEIPT_EXPIRED"
    );
    assert_eq!(code(f.run(&dep, Fx::pledge_call("WR-001", "BANK"))), "RECEIPT_EXPIRED");
    // Goods can still be withdrawn.
    f.run(&dep, WarehouseCall::Withdraw { number: "WR-001".into() }).expect("withdraw");
}

#[test]
fn split_by_quantity_conserves_and_moves_the_locks() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let dep = f.dep.clone();
    let part = |q: u64, bin: &str, lot: &str| SplitPart {
        quantity: q,
        location: loc(bin),
        identity: GoodsIdentity::GtinLot { gtin: "6901234567892".into(), lot: lot.into() },
    };
    let bad_sum = WarehouseCall::Split {
        number: "WR-001".into(),
        parts: vec![part(10_000, "B-01", "L1"), part(10_000, "B-02", "L1")],
    };
    assert_eq!(code(f.run(&dep, bad_sum)), "SPLIT_QUANTITY_MISMATCH");
    let same_goods = WarehouseCall::Split {
        number: "WR-001".into(),
        parts: vec![part(10_000, "B-01", "L1"), part(15_000, "b-01", "L1")],
    };
    assert_eq!(code(f.run(&dep, same_goods)), "GOODS_ALREADY_RECEIPTED");
    let other_wh = WarehouseCall::Split {
        number: "WR-001".into(),
        parts: vec![
            part(10_000, "B-01", "L1"),
            SplitPart {
                location: StorageLocation { warehouse: "ELSEWHERE".into(), ..loc("B-02") },
                ..part(15_000, "B-02", "L1")
            },
        ],
    };
    assert_eq!(code(f.run(&dep, other_wh)), "INVALID_FIELD");
    let buyer = f.buyer.clone();
    assert_eq!(
        code(f.run(
            &buyer,
            WarehouseCall::Split {
                number: "WR-001".into(),
                parts: vec![part(10_000, "B-01", "L1"), part(15_000, "B-02", "L1")]
            }
        )),
        "NOT_RECEIPT_HOLDER"
    );
    f.run(
        &dep,
        WarehouseCall::Split {
            number: "WR-001".into(),
            parts: vec![part(10_000, "B-01", "L1"), part(15_000, "B-02", "L1")],
        },
    )
    .expect("split");
    let parent = f.get("WR-001");
    assert_eq!(parent.status, ReceiptStatus::Split { children: vec!["WR-001-1".into(), "WR-001-2".into()] });
    let (c1, c2) = (f.get("WR-001-1"), f.get("WR-001-2"));
    assert_eq!(c1.terms.quantity + c2.terms.quantity, 25_000);
    assert_eq!(c1.parent.as_deref(), Some("WR-001"));
    assert_eq!(goods_lock(&f.w.state, &c1.goods_keys()[0]).expect("state").as_deref(), Some("WR-001-1"));
    assert_eq!(goods_lock(&f.w.state, &c2.goods_keys()[0]).expect("state").as_deref(), Some("WR-001-2"));
    // The parent is inactive now.
    assert_eq!(code(f.run(&dep, Fx::pledge_call("WR-001", "BANK"))), "RECEIPT_INACTIVE");
    // Serial split: parts must be serials of the parent.
    let mut s = terms("WR-S", "B-05", "x");
    s.identity = GoodsIdentity::Serials { gtin: None, serials: vec!["S1".into(), "S2".into()] };
    s.quantity = 2;
    let wh = f.wh.clone();
    f.run(&wh, WarehouseCall::Issue { terms: s }).expect("serial receipt");
    let sp = |ser: &str| SplitPart {
        quantity: 1,
        location: loc("B-05"),
        identity: GoodsIdentity::Serials { gtin: None, serials: vec![ser.into()] },
    };
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Split { number: "WR-S".into(), parts: vec![sp("S1"), sp("S9")] })),
        "INVALID_FIELD"
    );
    f.run(&dep, WarehouseCall::Split { number: "WR-S".into(), parts: vec![sp("S1"), sp("S2")] }).expect("serial split");
}

#[test]
fn pledge_needs_an_approved_funder_and_locks_the_goods_once() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let (dep, buyer) = (f.dep.clone(), f.buyer.clone());
    assert_eq!(code(f.run(&dep, Fx::pledge_call("WR-001", "BUYER"))), "FUNDER_NOT_APPROVED");
    assert_eq!(code(f.run(&buyer, Fx::pledge_call("WR-001", "BANK"))), "NOT_RECEIPT_HOLDER");
    let ev = f.run(&dep, Fx::pledge_call("WR-001", "BANK")).expect("pledge");
    assert!(ev[0].attributes.iter().any(|(k, v)| k == "org" && v == "BANK"));
    let r = f.get("WR-001");
    assert_eq!(r.pledge.as_ref().map(|p| p.funder.as_str()), Some("BANK"));
    assert_eq!(pledge_lock(&f.w.state, &r.goods_keys()[0]).expect("state").as_deref(), Some("WR-001"));
    // A second pledge of the same receipt, to anyone, is refused.
    assert_eq!(code(f.run(&dep, Fx::pledge_call("WR-001", "BANK2"))), "RECEIPT_PLEDGED");
    // Pledged receipts neither move nor split nor leave the warehouse.
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Endorse { number: "WR-001".into(), to: "BUYER".into(), note: String::new() })),
        "RECEIPT_PLEDGED"
    );
    assert_eq!(code(f.run(&dep, WarehouseCall::Withdraw { number: "WR-001".into() })), "RECEIPT_PLEDGED");
}

#[test]
fn pledge_lock_is_global_even_if_a_stale_lock_exists() {
    // Defence in depth: the pledge lock is checked on its own, not only through the receipt.
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let key = f.get("WR-001").goods_keys()[0].clone();
    kv::put(&mut f.w.state, &pledge_lock_key(&key), &"WR-OTHER".to_string());
    let dep = f.dep.clone();
    let e = f.run(&dep, Fx::pledge_call("WR-001", "BANK")).expect_err("locked");
    assert_eq!(e.code, "GOODS_ALREADY_PLEDGED");
    assert!(e.message.contains("WR-OTHER"));
}

#[test]
fn only_the_pledgee_releases() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let (dep, bank, bank2) = (f.dep.clone(), f.bank.clone(), f.bank2.clone());
    assert_eq!(code(f.run(&bank, WarehouseCall::Release { number: "WR-001".into() })), "RECEIPT_NOT_PLEDGED");
    f.run(&dep, Fx::pledge_call("WR-001", "BANK")).expect("pledge");
    assert_eq!(code(f.run(&bank2, WarehouseCall::Release { number: "WR-001".into() })), "NOT_PLEDGEE");
    assert_eq!(code(f.run(&dep, WarehouseCall::Release { number: "WR-001".into() })), "NOT_PLEDGEE");
    f.run(&bank, WarehouseCall::Release { number: "WR-001".into() }).expect("release");
    let r = f.get("WR-001");
    assert!(r.pledge.is_none());
    assert_eq!(pledge_lock(&f.w.state, &r.goods_keys()[0]).expect("state"), None);
    f.run(&dep, Fx::pledge_call("WR-001", "BANK2")).expect("re-pledge after release");
}

#[test]
fn withdrawal_cancels_and_frees_the_goods() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let (dep, buyer) = (f.dep.clone(), f.buyer.clone());
    assert_eq!(code(f.run(&buyer, WarehouseCall::Withdraw { number: "WR-001".into() })), "NOT_RECEIPT_HOLDER");
    f.run(&dep, WarehouseCall::Withdraw { number: "WR-001".into() }).expect("withdraw");
    assert!(matches!(f.get("WR-001").status, ReceiptStatus::Withdrawn { .. }));
    assert_eq!(code(f.run(&dep, WarehouseCall::Withdraw { number: "WR-001".into() })), "RECEIPT_INACTIVE");
    assert_eq!(code(f.run(&dep, Fx::pledge_call("WR-001", "BANK"))), "RECEIPT_INACTIVE");
    // The goods may be receipted again (new deposit).
    f.issue("WR-002", "B-01", "L1");
}

#[test]
fn flagged_receipts_cannot_be_newly_pledged_until_the_operator_clears_with_a_reason() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let (wh, wh2, dep) = (f.wh.clone(), f.wh2.clone(), f.dep.clone());
    assert_eq!(
        code(f.run(&wh2, WarehouseCall::Flag { number: "WR-001".into(), reason: "x".into() })),
        "NOT_RECEIPT_OPERATOR"
    );
    assert_eq!(
        code(f.run(&dep, WarehouseCall::Flag { number: "WR-001".into(), reason: "x".into() })),
        "NOT_RECEIPT_OPERATOR"
    );
    f.run(&wh, WarehouseCall::Flag { number: "WR-001".into(), reason: "bin B-01 weight -3%".into() }).expect("flag");
    assert_eq!(code(f.run(&dep, Fx::pledge_call("WR-001", "BANK"))), "RECEIPT_FLAGGED");
    assert_eq!(
        code(f.run(&wh, WarehouseCall::ClearFlag { number: "WR-001".into(), reason: " ".into() })),
        "INVALID_FIELD"
    );
    assert_eq!(
        code(f.run(&wh2, WarehouseCall::ClearFlag { number: "WR-001".into(), reason: "ok".into() })),
        "NOT_RECEIPT_OPERATOR"
    );
    f.run(&wh, WarehouseCall::ClearFlag { number: "WR-001".into(), reason: "re-weighed: 25,000 kg".into() })
        .expect("clear");
    assert_eq!(
        code(f.run(&wh, WarehouseCall::ClearFlag { number: "WR-001".into(), reason: "again".into() })),
        "RECEIPT_NOT_FLAGGED"
    );
    f.run(&dep, Fx::pledge_call("WR-001", "BANK")).expect("pledge after clear");
}

#[test]
fn an_iot_alert_flags_by_goods_and_calls_the_funder() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    let dep = f.dep.clone();
    f.run(&dep, Fx::pledge_call("WR-001", "BANK")).expect("pledge");
    // What an alert module does after verifying a device alert bound to bin B-01 / lot L1.
    let ctx = f.w.ctx(&dep);
    let identity = GoodsIdentity::GtinLot { gtin: "06901234567892".into(), lot: "l1".into() };
    let source = FlagSource::Alert { module: "device".into(), alert_id: "ALERT-7".into() };
    let events =
        flag_goods(&mut f.w.state, &ctx, &loc("b-01"), &identity, source.clone(), "weight drop 2.4% in 10 min")
            .expect("flag");
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["ReceiptFlagged", "MarginCall"]);
    assert!(events[1].attributes.iter().any(|(k, v)| k == "org" && v == "BANK"));
    assert_eq!(f.get("WR-001").flag.map(|fl| fl.source), Some(source.clone()));
    // Idempotent, and goods nobody receipted flag nothing.
    assert!(flag_receipt(&mut f.w.state, &ctx, "WR-001", source.clone(), "again").expect("again").is_empty());
    assert!(flag_goods(&mut f.w.state, &ctx, &loc("B-77"), &identity, source, "x").expect("none").is_empty());
}

#[test]
fn regulator_freeze_stops_every_movement() {
    let mut f = fx();
    f.issue("WR-001", "B-01", "L1");
    f.issue("WR-002", "B-02", "L1");
    let (dep, bank, reg, wh) = (f.dep.clone(), f.bank.clone(), f.reg.clone(), f.wh.clone());
    f.run(&dep, Fx::pledge_call("WR-002", "BANK")).expect("pledge");
    assert_eq!(
        code(f.run(&wh, WarehouseCall::Freeze { number: "WR-001".into(), reason: "case 12".into() })),
        "MISSING_ROLE"
    );
    assert_eq!(
        code(f.run(&reg, WarehouseCall::Freeze { number: "WR-001".into(), reason: "".into() })),
        "INVALID_FIELD"
    );
    for n in ["WR-001", "WR-002"] {
        let ev = f.run(&reg, WarehouseCall::Freeze { number: n.into(), reason: "案件 12".into() }).expect("freeze");
        assert!(ev[0].attributes.iter().any(|(k, v)| k == "org" && v == "REG"));
    }
    let part = |q: u64, bin: &str| SplitPart {
        quantity: q,
        location: loc(bin),
        identity: GoodsIdentity::GtinLot { gtin: "6901234567892".into(), lot: "L1".into() },
    };
    for call in [
        WarehouseCall::Endorse { number: "WR-001".into(), to: "BUYER".into(), note: String::new() },
        Fx::pledge_call("WR-001", "BANK"),
        WarehouseCall::Withdraw { number: "WR-001".into() },
        WarehouseCall::Split { number: "WR-001".into(), parts: vec![part(1, "B-08"), part(24_999, "B-09")] },
    ] {
        assert_eq!(code(f.run(&dep, call)), "RECEIPT_FROZEN");
    }
    assert_eq!(code(f.run(&bank, WarehouseCall::Release { number: "WR-002".into() })), "RECEIPT_FROZEN");
    f.run(&reg, WarehouseCall::Unfreeze { number: "WR-001".into(), reason: "closed".into() }).expect("unfreeze");
    assert_eq!(
        code(f.run(&reg, WarehouseCall::Unfreeze { number: "WR-001".into(), reason: "closed".into() })),
        "RECEIPT_NOT_FROZEN"
    );
    f.run(&dep, WarehouseCall::Endorse { number: "WR-001".into(), to: "BUYER".into(), note: String::new() })
        .expect("moves again");
}

#[test]
fn garbage_payloads_are_typed_errors() {
    let mut f = fx();
    let dep = f.dep.clone();
    for payload in [vec![], vec![0xff; 3], vec![0, 1, 2, 3, 4, 5, 6, 7, 8]] {
        assert_eq!(code(f.w.exec(&WarehouseModule, &dep, &payload)), "BAD_PAYLOAD");
    }
}

//! Property tests: random operation sequences by random signers over a small universe of goods, two
//! warehouse operators and two funders. After every step the uniqueness and lock invariants must hold,
//! and a refused call must leave state untouched.

use std::collections::BTreeMap;

use proptest::prelude::*;
use scf_ledger::crypto::KeyPair;

use super::*;
use crate::kv::encode_call;
use crate::money::Money;
use crate::org::Role;
use crate::testkit::World;
use std::result::Result;

const ORGS: [&str; 7] = ["WH-A", "WH-B", "TRADER", "BUYER", "BANK", "BANK2", "REG"];
const BINS: [&str; 3] = ["B1", "b1", "B2"];
const LOTS: [&str; 2] = ["L1", "L2"];

#[derive(Clone, Debug)]
enum Op {
    Issue { by: usize, depositor: usize, bin: usize, lot: usize, qty: u64, serial: bool },
    Endorse { by: usize, r: usize, to: usize },
    Split { by: usize, r: usize, bins: (usize, usize), cut: u64 },
    Pledge { by: usize, r: usize, funder: usize },
    Release { by: usize, r: usize },
    Withdraw { by: usize, r: usize },
    Flag { by: usize, r: usize },
    ClearFlag { by: usize, r: usize },
    AlertFlag { r: usize },
    Freeze { by: usize, r: usize },
    Unfreeze { by: usize, r: usize },
}

fn op() -> impl Strategy<Value = Op> {
    let o = 0..ORGS.len();
    let r = 0..12usize;
    prop_oneof![
        3 => (0..2usize, 2..4usize, 0..BINS.len(), 0..LOTS.len(), 1..100u64, any::<bool>())
            .prop_map(|(by, depositor, bin, lot, qty, serial)| Op::Issue { by, depositor, bin, lot, qty, serial }),
        2 => (o.clone(), r.clone(), o.clone()).prop_map(|(by, r, to)| Op::Endorse { by, r, to }),
        2 => (o.clone(), r.clone(), (0..BINS.len(), 0..BINS.len()), 0..100u64).prop_map(|(by, r, bins, cut)| Op::Split { by, r, bins, cut }),
        3 => (o.clone(), r.clone(), 3..6usize).prop_map(|(by, r, funder)| Op::Pledge { by, r, funder }),
        2 => (o.clone(), r.clone()).prop_map(|(by, r)| Op::Release { by, r }),
        1 => (o.clone(), r.clone()).prop_map(|(by, r)| Op::Withdraw { by, r }),
        1 => (o.clone(), r.clone()).prop_map(|(by, r)| Op::Flag { by, r }),
        1 => (o.clone(), r.clone()).prop_map(|(by, r)| Op::ClearFlag { by, r }),
        1 => r.clone().prop_map(|r| Op::AlertFlag { r }),
        1 => (o.clone(), r.clone()).prop_map(|(by, r)| Op::Freeze { by, r }),
        1 => (o, r).prop_map(|(by, r)| Op::Unfreeze { by, r }),
    ]
}

struct Sim {
    w: World,
    keys: Vec<KeyPair>,
    numbers: Vec<String>,
    next: usize,
}

impl Sim {
    fn new() -> Sim {
        let mut w = World::new();
        let roles: [&[Role]; 7] = [
            &[Role::WarehouseOperator],
            &[Role::WarehouseOperator],
            &[Role::Supplier],
            &[Role::Supplier],
            &[Role::Funder],
            &[Role::Funder],
            &[Role::Regulator],
        ];
        let keys = ORGS.iter().zip(roles).map(|(id, r)| w.add_org(id, r)).collect();
        Sim { w, keys, numbers: Vec::new(), next: 0 }
    }
    fn number(&self, r: usize) -> String {
        if self.numbers.is_empty() {
            "WR-NONE".into()
        } else {
            self.numbers[r % self.numbers.len()].clone()
        }
    }
    fn identity(serial: bool, lot: usize) -> GoodsIdentity {
        if serial {
            GoodsIdentity::Serials { gtin: None, serials: vec![format!("S-{}", LOTS[lot]), "S-X".into()] }
        } else {
            GoodsIdentity::GtinLot { gtin: "6901234567892".into(), lot: LOTS[lot].into() }
        }
    }
    fn call(&mut self, op: &Op) -> (usize, Option<WarehouseCall>) {
        let loc =
            |bin: usize| StorageLocation { warehouse: "WH-GLN-1".into(), zone: "Z".into(), bin: BINS[bin].into() };
        match op.clone() {
            Op::Issue { by, depositor, bin, lot, qty, serial } => {
                self.next += 1;
                let number = format!("WR-{}", self.next);
                let terms = ReceiptTerms {
                    number,
                    depositor: ORGS[depositor].into(),
                    goods_name: "大豆".into(),
                    spec: String::new(),
                    unit: "kg".into(),
                    quantity: qty,
                    packaging: String::new(),
                    location: loc(bin),
                    identity: Self::identity(serial, lot),
                    insurance: None,
                    valid_until: Date::parse("2027-01-01").unwrap_or(Date(0)),
                    rights_notice: "notice".into(),
                };
                (by, Some(WarehouseCall::Issue { terms }))
            }
            Op::Endorse { by, r, to } => {
                (by, Some(WarehouseCall::Endorse { number: self.number(r), to: ORGS[to].into(), note: String::new() }))
            }
            Op::Split { by, r, bins, cut } => {
                let n = self.number(r);
                let Ok(Some(rec)) = load_receipt(&self.w.state, &n) else { return (by, None) };
                let q = rec.terms.quantity;
                let first = 1 + cut % q.max(1);
                let second = q.saturating_sub(first);
                let id = rec.terms.identity.clone();
                let parts = match &id {
                    GoodsIdentity::Serials { gtin, serials } if serials.len() >= 2 => vec![
                        SplitPart {
                            quantity: first,
                            location: loc(bins.0),
                            identity: GoodsIdentity::Serials { gtin: gtin.clone(), serials: vec![serials[0].clone()] },
                        },
                        SplitPart {
                            quantity: second,
                            location: loc(bins.1),
                            identity: GoodsIdentity::Serials { gtin: gtin.clone(), serials: serials[1..].to_vec() },
                        },
                    ],
                    _ => vec![
                        SplitPart { quantity: first, location: loc(bins.0), identity: id.clone() },
                        SplitPart { quantity: second, location: loc(bins.1), identity: id },
                    ],
                };
                (by, Some(WarehouseCall::Split { number: n, parts }))
            }
            Op::Pledge { by, r, funder } => (
                by,
                Some(WarehouseCall::Pledge {
                    number: self.number(r),
                    funder: ORGS[funder].into(),
                    amount: Money { fen: 1000, currency: "CNY".into() },
                    due: Date::parse("2026-12-01").unwrap_or(Date(0)),
                }),
            ),
            Op::Release { by, r } => (by, Some(WarehouseCall::Release { number: self.number(r) })),
            Op::Withdraw { by, r } => (by, Some(WarehouseCall::Withdraw { number: self.number(r) })),
            Op::Flag { by, r } => {
                (by, Some(WarehouseCall::Flag { number: self.number(r), reason: "inspection".into() }))
            }
            Op::ClearFlag { by, r } => {
                (by, Some(WarehouseCall::ClearFlag { number: self.number(r), reason: "checked".into() }))
            }
            Op::AlertFlag { .. } => (0, None),
            Op::Freeze { by, r } => (by, Some(WarehouseCall::Freeze { number: self.number(r), reason: "case".into() })),
            Op::Unfreeze { by, r } => {
                (by, Some(WarehouseCall::Unfreeze { number: self.number(r), reason: "closed".into() }))
            }
        }
    }

    fn receipts(&self) -> Vec<Receipt> {
        self.numbers.iter().filter_map(|n| load_receipt(&self.w.state, n).ok().flatten()).collect()
    }
}

fn check_invariants(sim: &Sim) -> Result<(), TestCaseError> {
    let receipts = sim.receipts();
    let mut holders: BTreeMap<String, String> = BTreeMap::new();
    let mut pledged: BTreeMap<String, String> = BTreeMap::new();
    for r in receipts.iter().filter(|r| r.is_active()) {
        for k in r.goods_keys() {
            // Uniqueness: no two active receipts share goods, and no two active pledges.
            prop_assert!(holders.insert(k.clone(), r.terms.number.clone()).is_none(), "two active receipts for {}", k);
            if r.pledge.is_some() {
                prop_assert!(pledged.insert(k.clone(), r.terms.number.clone()).is_none(), "two pledges for {}", k);
            }
        }
    }
    for r in &receipts {
        if !r.is_active() {
            prop_assert!(r.pledge.is_none(), "inactive {} is pledged", r.terms.number);
        }
        for k in r.goods_keys() {
            // The locks in state are exactly the active receipts' and active pledges'.
            prop_assert_eq!(
                goods_lock(&sim.w.state, &k).ok().flatten(),
                holders.get(&k).cloned(),
                "goods lock of {}",
                k
            );
            prop_assert_eq!(
                pledge_lock(&sim.w.state, &k).ok().flatten(),
                pledged.get(&k).cloned(),
                "pledge lock of {}",
                k
            );
        }
        if let ReceiptStatus::Split { children } = &r.status {
            let sum: u64 = children
                .iter()
                .filter_map(|c| load_receipt(&sim.w.state, c).ok().flatten())
                .map(|c| c.terms.quantity)
                .sum();
            prop_assert_eq!(sum, r.terms.quantity, "split of {} does not conserve quantity", r.terms.number);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn uniqueness_and_lock_invariants_hold(ops in prop::collection::vec(op(), 1..60)) {
        let mut sim = Sim::new();
        for op in &ops {
            let was_flagged: Option<bool> = match op {
                Op::Pledge { r, .. } => load_receipt(&sim.w.state, &sim.number(*r)).ok().flatten().map(|x| x.flag.is_some()),
                _ => None,
            };
            let before = sim.w.state.map.clone();
            if let Op::AlertFlag { r } = op {
                let n = sim.number(*r);
                let key = sim.keys[0].clone();
                let ctx = sim.w.ctx(&key);
                let source = FlagSource::Alert { module: "device".into(), alert_id: "A".into() };
                let mut overlay = scf_ledger::state::Overlay::new(&sim.w.state);
                let ok = flag_receipt(&mut overlay, &ctx, &n, source, "alarm").is_ok();
                let writes = overlay.into_writes();
                if ok {
                    for (k, v) in writes {
                        match v { Some(v) => { sim.w.state.map.insert(k, v); } None => { sim.w.state.map.remove(&k); } }
                    }
                }
                check_invariants(&sim)?;
                continue;
            }
            let (by, call) = sim.call(op);
            let Some(call) = call else { continue };
            let issued = if let WarehouseCall::Issue { terms } = &call { Some(terms.number.clone()) } else { None };
            let split_children = if let WarehouseCall::Split { number, parts } = &call { Some((number.clone(), parts.len())) } else { None };
            let key = sim.keys[by].clone();
            let res = sim.w.exec(&WarehouseModule, &key, &encode_call(&call));
            match res {
                Ok(_) => {
                    if let Some(n) = issued { sim.numbers.push(n); }
                    if let Some((n, k)) = split_children { for i in 1..=k { sim.numbers.push(format!("{n}-{i}")); } }
                    if was_flagged == Some(true) {
                        prop_assert!(false, "a flagged receipt was pledged");
                    }
                }
                Err(e) => {
                    prop_assert!(!e.code.is_empty() && !e.message.is_empty());
                    prop_assert!(before == sim.w.state.map, "refused {:?} ({}) changed state", op, e.code);
                }
            }
            check_invariants(&sim)?;
        }
    }
}

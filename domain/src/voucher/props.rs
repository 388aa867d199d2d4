//! Property tests over random operation sequences (any signer, any voucher, any date), checking after
//! every step: amount conservation over every lineage tree, one holder per voucher (and the holder
//! index agrees), nothing moving after settlement / while frozen / on or after the due date, no invoice
//! over-financed, no invoice booked twice.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::invoice::fixture::{inv_no, Fx};
use crate::invoice::InvoiceCall;
use crate::testkit::World;

const ORGS: [&str; 7] = ["CORE", "S1", "S2", "S3", "BANK", "REG", "TAX"];
const SUPPLIERS: [&str; 3] = ["S1", "S2", "S3"];
const INVOICES: u64 = 3;

#[derive(Clone, Debug)]
enum Op {
    Issue { to: u8, amount: Fen, inv_mask: u8, due_days: u16, flag: bool },
    SignFor { v: u16, signer: u8 },
    Reject { v: u16, signer: u8 },
    Split { v: u16, signer: u8, shares: Vec<(u8, u16)>, off_by_one: bool },
    Transfer { v: u16, signer: u8, to: u8 },
    Offer { v: u16, signer: u8, funder: u8, rate: u32 },
    Accept { v: u16, signer: u8 },
    Cancel { v: u16, signer: u8 },
    Pay { v: u16, signer: u8 },
    MarkOverdue { v: u16, signer: u8 },
    Freeze { v: u16, on: bool },
    Advance { days: u8 },
    Reverse { inv: u8, amount: Fen },
    Book { inv: u8, signer: u8 },
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0u8..ORGS.len() as u8;
    prop_oneof![
        3 => (0u8..3, 1u64..1_500_000, 1u8..8, 5u16..400, any::<bool>()).prop_map(|(to, amount, inv_mask, due_days, flag)| Op::Issue { to, amount, inv_mask, due_days, flag }),
        4 => (any::<u16>(), s.clone()).prop_map(|(v, signer)| Op::SignFor { v, signer }),
        1 => (any::<u16>(), s.clone()).prop_map(|(v, signer)| Op::Reject { v, signer }),
        4 => (any::<u16>(), s.clone(), prop::collection::vec((0u8..3, 1u16..100), 1..4), prop::bool::weighted(0.1)).prop_map(|(v, signer, shares, off_by_one)| Op::Split { v, signer, shares, off_by_one }),
        2 => (any::<u16>(), s.clone(), 0u8..3).prop_map(|(v, signer, to)| Op::Transfer { v, signer, to }),
        2 => (any::<u16>(), s.clone(), s.clone(), 0u32..2_000).prop_map(|(v, signer, funder, rate)| Op::Offer { v, signer, funder, rate }),
        2 => (any::<u16>(), s.clone()).prop_map(|(v, signer)| Op::Accept { v, signer }),
        1 => (any::<u16>(), s.clone()).prop_map(|(v, signer)| Op::Cancel { v, signer }),
        1 => (any::<u16>(), s.clone()).prop_map(|(v, signer)| Op::Pay { v, signer }),
        1 => (any::<u16>(), s.clone()).prop_map(|(v, signer)| Op::MarkOverdue { v, signer }),
        1 => (any::<u16>(), any::<bool>()).prop_map(|(v, on)| Op::Freeze { v, on }),
        2 => (1u8..60).prop_map(|days| Op::Advance { days }),
        1 => (0u8..INVOICES as u8, 1u64..700_000).prop_map(|(inv, amount)| Op::Reverse { inv, amount }),
        1 => (0u8..INVOICES as u8, s).prop_map(|(inv, signer)| Op::Book { inv, signer }),
    ]
}

struct Sim {
    fx: Fx,
    roots: Vec<String>,
    issued: u32,
    red: u64,
}

impl Sim {
    fn new() -> Sim {
        let mut fx = Fx::new();
        fx.issue_invoice(&inv_no(1), "S1", "CORE", 1_000_000);
        fx.issue_invoice(&inv_no(2), "S1", "CORE", 500_000);
        fx.issue_invoice(&inv_no(3), "S2", "CORE", 300_000);
        Sim { fx, roots: Vec::new(), issued: 0, red: 100 }
    }
    fn ids(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.roots {
            if let Ok(lineage) = lineage(&self.fx.w.state, r) {
                out.extend(lineage.into_iter().map(|v| v.id));
            }
        }
        out
    }
    fn pick(&self, v: u16) -> Option<String> {
        let ids = self.ids();
        if ids.is_empty() {
            None
        } else {
            Some(ids[v as usize % ids.len()].clone())
        }
    }
    fn vcall(&mut self, signer: &str, call: VoucherCall) -> bool {
        self.fx.v(&World::key(signer), call).is_ok()
    }
}

/// Per voucher: (holder, status, number of children), the facts a movement changes.
type Snapshot = BTreeMap<String, (String, VoucherStatus, usize, String)>;

fn snapshot(sim: &Sim) -> Snapshot {
    sim.ids()
        .into_iter()
        .filter_map(|id| load_voucher(&sim.fx.w.state, &id).ok().flatten())
        .map(|v| (v.id.clone(), (v.holder.clone(), v.status.clone(), v.children.len(), v.root_id.clone())))
        .collect()
}

fn check_invariants(sim: &Sim) -> Result<(), TestCaseError> {
    let st = &sim.fx.w.state;
    let mut financed_by_invoice: BTreeMap<String, Fen> = BTreeMap::new();
    for root_id in &sim.roots {
        let tree = load_tree(st, root_id).unwrap().unwrap();
        let root = load_voucher(st, root_id).unwrap().unwrap();
        let mut leaves: Fen = 0;
        let members = lineage(st, root_id).unwrap();
        prop_assert_eq!(members.len(), tree.member_count as usize);
        for v in &members {
            prop_assert_eq!(&v.root_id, root_id);
            if v.status == VoucherStatus::Split {
                let mut sum = 0;
                for c in &v.children {
                    let c = load_voucher(st, c).unwrap().unwrap();
                    prop_assert_eq!(c.parent_id.as_deref(), Some(v.id.as_str()));
                    prop_assert_eq!(c.depth, v.depth + 1);
                    sum += c.amount;
                }
                prop_assert_eq!(sum, v.amount, "children of {} must sum to it", v.id);
            }
            if v.is_live_leaf() {
                leaves += v.amount;
                prop_assert!(ORGS.contains(&v.holder.as_str()), "{} is held by {:?}", v.id, v.holder);
            }
            if let Some(f) = &v.financing {
                prop_assert_eq!(f.invoices.iter().map(|a| a.amount).sum::<Fen>(), v.amount);
                for a in &f.invoices {
                    *financed_by_invoice.entry(a.number.clone()).or_default() += a.amount;
                }
            }
        }
        if !matches!(root.status, VoucherStatus::Rejected { .. }) {
            prop_assert_eq!(leaves, root.amount, "conservation over tree {}", root_id);
        }
        if let Some(p) = &tree.payment {
            prop_assert_eq!(p.amount, root.amount);
        }
    }
    for i in 1..=INVOICES {
        let inv = invoice::load_invoice(st, &inv_no(i)).unwrap().unwrap();
        prop_assert!(inv.financed <= inv.unreversed(), "invoice {} over-financed", inv.number);
        prop_assert_eq!(inv.financed, inv.locks.iter().map(|l| l.amount).sum::<Fen>());
        prop_assert_eq!(inv.financed, financed_by_invoice.get(&inv.number).copied().unwrap_or(0));
        prop_assert!(inv.reversed <= inv.total_with_tax);
    }
    Ok(())
}

fn run(sim: &mut Sim, op: &Op) -> Result<(), TestCaseError> {
    let before = snapshot(sim);
    let today = sim.fx.w.today();
    let frozen_roots: Vec<String> = sim
        .roots
        .iter()
        .filter(|r| load_tree(&sim.fx.w.state, r).ok().flatten().map(|t| t.frozen.is_some()).unwrap_or(false))
        .cloned()
        .collect();
    let matured_roots: Vec<String> = sim
        .roots
        .iter()
        .filter(|r| load_voucher(&sim.fx.w.state, r).ok().flatten().map(|v| today >= v.due_date).unwrap_or(false))
        .cloned()
        .collect();
    let mut is_pay = false;
    let mut is_freeze = false;
    match op.clone() {
        Op::Issue { to, amount, inv_mask, due_days, flag } => {
            let no = format!("P{}", sim.issued);
            sim.issued += 1;
            let invoices: Vec<String> =
                (0..INVOICES).filter(|i| inv_mask & (1 << i) != 0).map(|i| inv_no(i + 1)).collect();
            let call = VoucherCall::Issue {
                voucher_no: no.clone(),
                to: SUPPLIERS[to as usize].into(),
                amount,
                currency: "CNY".into(),
                due_date: today.add_days(due_days as i32),
                contract_ref: "HT".into(),
                invoices,
                allow_over_six_months: flag,
            };
            if sim.vcall("CORE", call) {
                let v = load_voucher(&sim.fx.w.state, &no).unwrap().unwrap();
                prop_assert!(v.due_date <= today.add_months(12));
                prop_assert!(flag || v.due_date <= today.add_months(6));
                sim.roots.push(no);
            }
        }
        Op::SignFor { v, signer } => {
            if let Some(id) = sim.pick(v) {
                sim.vcall(ORGS[signer as usize], VoucherCall::SignFor { voucher_id: id });
            }
        }
        Op::Reject { v, signer } => {
            if let Some(id) = sim.pick(v) {
                sim.vcall(ORGS[signer as usize], VoucherCall::Reject { voucher_id: id, reason: "r".into() });
            }
        }
        Op::Split { v, signer, shares, off_by_one } => {
            if let Some(id) = sim.pick(v) {
                let amount = load_voucher(&sim.fx.w.state, &id).unwrap().unwrap().amount;
                let total_w: u64 = shares.iter().map(|(_, w)| *w as u64).sum();
                let mut parts = Vec::new();
                let mut left = amount;
                for (i, (to, w)) in shares.iter().enumerate() {
                    let a = if i + 1 == shares.len() { left } else { amount * *w as u64 / total_w };
                    left -= a;
                    parts.push(SplitPart { to: SUPPLIERS[*to as usize].into(), amount: a });
                }
                if off_by_one {
                    if let Some(p) = parts.last_mut() {
                        p.amount += 1;
                    }
                }
                let ok = sim.vcall(ORGS[signer as usize], VoucherCall::Split { voucher_id: id, parts });
                prop_assert!(!(ok && off_by_one), "an unconserved split succeeded");
            }
        }
        Op::Transfer { v, signer, to } => {
            if let Some(id) = sim.pick(v) {
                sim.vcall(
                    ORGS[signer as usize],
                    VoucherCall::Transfer { voucher_id: id, to: SUPPLIERS[to as usize].into() },
                );
            }
        }
        Op::Offer { v, signer, funder, rate } => {
            if let Some(id) = sim.pick(v) {
                sim.vcall(
                    ORGS[signer as usize],
                    VoucherCall::OfferFinancing {
                        voucher_id: id,
                        funder: ORGS[funder as usize].into(),
                        discount_rate_bp: rate,
                        agreement_ref: "BL".into(),
                    },
                );
            }
        }
        Op::Accept { v, signer } => {
            if let Some(id) = sim.pick(v) {
                sim.vcall(ORGS[signer as usize], VoucherCall::AcceptFinancing { voucher_id: id });
            }
        }
        Op::Cancel { v, signer } => {
            if let Some(id) = sim.pick(v) {
                sim.vcall(
                    ORGS[signer as usize],
                    VoucherCall::CancelFinancingOffer { voucher_id: id, reason: "r".into() },
                );
            }
        }
        Op::Pay { v, signer } => {
            is_pay = true;
            if let Some(id) = sim.pick(v) {
                let root = load_voucher(&sim.fx.w.state, &id).unwrap().unwrap().root_id;
                let paid_before = load_tree(&sim.fx.w.state, &root).unwrap().unwrap().payment.is_some();
                let ok = sim.vcall(
                    ORGS[signer as usize],
                    VoucherCall::RecordPayment { root_id: root.clone(), payment_ref: "p".into() },
                );
                prop_assert!(
                    !(ok && (paid_before || frozen_roots.contains(&root) || !matured_roots.contains(&root))),
                    "payment of {} broke a rule",
                    root
                );
            }
        }
        Op::MarkOverdue { v, signer } => {
            if let Some(id) = sim.pick(v) {
                let root = load_voucher(&sim.fx.w.state, &id).unwrap().unwrap().root_id;
                sim.vcall(ORGS[signer as usize], VoucherCall::MarkOverdue { root_id: root });
            }
        }
        Op::Freeze { v, on } => {
            is_freeze = true;
            if let Some(id) = sim.pick(v) {
                let call = if on {
                    VoucherCall::Freeze { voucher_id: id, reason: "r".into() }
                } else {
                    VoucherCall::Unfreeze { voucher_id: id, reason: "r".into() }
                };
                sim.vcall("REG", call);
            }
        }
        Op::Advance { days } => {
            let d = today.add_days(days as i32);
            sim.fx.w.set_date(&d.to_string());
        }
        Op::Reverse { inv, amount } => {
            sim.red += 1;
            let seller = if inv == 2 { "S2" } else { "S1" };
            let _ = sim.fx.inv(
                &World::key(seller),
                InvoiceCall::Reverse {
                    number: inv_no(inv as u64 + 1),
                    red_number: inv_no(sim.red),
                    amount_with_tax: amount,
                    reason: "r".into(),
                },
            );
        }
        Op::Book { inv, signer } => {
            let number = inv_no(inv as u64 + 1);
            let booked = invoice::load_invoice(&sim.fx.w.state, &number).unwrap().unwrap().booking.is_some();
            let ok = sim
                .fx
                .inv(&World::key(ORGS[signer as usize]), InvoiceCall::Book { number, booking_ref: "b".into() })
                .is_ok();
            prop_assert!(!(ok && booked), "an invoice was booked twice");
        }
    }
    // Movement rules, judged on what changed.
    let after = snapshot(sim);
    for (id, (holder, status, children, root)) in &before {
        let Some((h2, s2, c2, _)) = after.get(id).cloned() else {
            return Err(TestCaseError::fail(format!("voucher {id} disappeared")));
        };
        if *status == VoucherStatus::Settled {
            prop_assert!(h2 == *holder && s2 == *status && c2 == *children, "settled {} changed", id);
        }
        if frozen_roots.contains(root) && !is_freeze {
            prop_assert!(h2 == *holder && s2 == *status && c2 == *children, "{} changed while its tree was frozen", id);
        }
        if matured_roots.contains(root) && !is_pay {
            prop_assert!(h2 == *holder && c2 == *children, "{} moved on or after its due date", id);
        }
    }
    check_invariants(sim)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn random_operation_sequences_keep_every_invariant(ops in prop::collection::vec(op(), 1..80)) {
        let mut sim = Sim::new();
        for op in &ops {
            run(&mut sim, op)?;
        }
    }
}

/// A directed sequence that reaches the interesting states the random one must also survive.
#[test]
fn scripted_sequence_passes_the_checker() {
    let mut sim = Sim::new();
    let script = [
        Op::Issue { to: 0, amount: 1_000_000, inv_mask: 1, due_days: 90, flag: false },
        Op::SignFor { v: 0, signer: 1 },
        Op::Split { v: 0, signer: 1, shares: vec![(1, 50), (0, 50)], off_by_one: false },
        Op::SignFor { v: 1, signer: 2 },
        Op::Offer { v: 1, signer: 2, funder: 4, rate: 500 },
        Op::Accept { v: 1, signer: 4 },
        Op::Freeze { v: 2, on: true },
        Op::Transfer { v: 2, signer: 1, to: 2 },
        Op::Freeze { v: 0, on: false },
        Op::Advance { days: 59 },
        Op::Advance { days: 31 },
        Op::Pay { v: 0, signer: 0 },
        Op::Book { inv: 0, signer: 0 },
        Op::Book { inv: 0, signer: 0 },
    ];
    for op in &script {
        if let Err(e) = run(&mut sim, op) {
            panic!("{op:?}: {e}");
        }
    }
    let c = load_clearing(&sim.fx.w.state, "P0").unwrap().unwrap();
    assert_eq!(
        c.entries.iter().map(|e| (e.holder.as_str(), e.amount)).collect::<Vec<_>>(),
        [("BANK", 500_000), ("S1", 500_000)]
    );
}

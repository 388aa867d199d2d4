//! One test per voucher rule (each fails if its rule is removed), and the full story the lead's
//! on-chain integration test will replay.

use super::*;
use crate::invoice::fixture::{code, date, inv_no, ok, Fx};
use crate::invoice::InvoiceCall;
use crate::org::OrgCall;
use crate::registration;

/// What `org` holds: its live leaves, from the voucher records (the chain keeps no holdings index;
/// the API's read model answers this query).
fn held_by(state: &scf_ledger::state::MemState, org: &str) -> Vec<String> {
    state
        .map
        .iter()
        .filter(|(k, _)| k.starts_with(b"voucher/v/"))
        .filter_map(|(_, bytes)| borsh::from_slice::<Voucher>(bytes).ok())
        .filter(|v| v.holder == org && v.is_live_leaf())
        .map(|v| v.id)
        .collect()
}

const DUE: &str = "2026-06-30";

fn issue_call(no: &str, to: &str, amount: Fen, due: &str, invoices: &[String]) -> VoucherCall {
    VoucherCall::Issue {
        voucher_no: no.into(),
        to: to.into(),
        amount,
        currency: "CNY".into(),
        due_date: date(due),
        contract_ref: "HT-2026-001".into(),
        invoices: invoices.to_vec(),
        allow_over_six_months: false,
    }
}

/// A world with one invoice S1 → CORE of 11 300.00 yuan (1 130 000 fen).
fn setup() -> (Fx, Vec<String>) {
    let mut fx = Fx::new();
    fx.issue_invoice(&inv_no(1), "S1", "CORE", 1_000_000);
    (fx, vec![inv_no(1)])
}

/// Issued and signed for by S1.
fn signed(amount: Fen) -> (Fx, Vec<String>) {
    let (mut fx, inv) = setup();
    let core = fx.core.clone();
    ok(fx.v(&core, issue_call("V1", "S1", amount, DUE, &inv)));
    let s1 = fx.s1.clone();
    ok(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V1".into() }));
    (fx, inv)
}

fn voucher(fx: &Fx, id: &str) -> Voucher {
    load_voucher(&fx.w.state, id).unwrap().unwrap_or_else(|| panic!("no voucher {id}"))
}

fn parts(p: &[(&str, Fen)]) -> Vec<SplitPart> {
    p.iter().map(|(to, amount)| SplitPart { to: to.to_string(), amount: *amount }).collect()
}

#[test]
fn only_a_core_enterprise_issues() {
    let (mut fx, inv) = setup();
    let s1 = fx.s1.clone();
    assert_eq!(code(fx.v(&s1, issue_call("V1", "S1", 100, DUE, &inv))), "MISSING_ROLE");
}

#[test]
fn term_rules() {
    let (mut fx, inv) = setup();
    let core = fx.core.clone();
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, "2026-01-05", &inv))), "VOUCHER_DUE_NOT_AFTER_ISSUE");
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, "2027-01-06", &inv))), "VOUCHER_TERM_OVER_ONE_YEAR");
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, "2026-07-06", &inv))), "VOUCHER_TERM_OVER_SIX_MONTHS");
    // Exactly six months needs no flag.
    ok(fx.v(&core, issue_call("V1", "S1", 100, "2026-07-05", &inv)));
    assert!(!voucher(&fx, "V1").long_term);
    let mut long = issue_call("V2", "S1", 100, "2027-01-05", &inv);
    if let VoucherCall::Issue { allow_over_six_months, .. } = &mut long {
        *allow_over_six_months = true;
    }
    ok(fx.v(&core, long));
    assert!(voucher(&fx, "V2").long_term);
}

#[test]
fn issue_checks_fields_recipient_and_trade_background() {
    let (mut fx, inv) = setup();
    let core = fx.core.clone();
    assert_eq!(code(fx.v(&core, issue_call("v1", "S1", 100, DUE, &inv))), "VOUCHER_INVALID_FIELD");
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 0, DUE, &inv))), "VOUCHER_INVALID_FIELD");
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, DUE, &[]))), "VOUCHER_INVALID_FIELD");
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, DUE, &[inv_no(1), inv_no(1)]))), "VOUCHER_INVALID_FIELD");
    assert_eq!(code(fx.v(&core, issue_call("V1", "BANK", 100, DUE, &inv))), "VOUCHER_RECIPIENT_NOT_SUPPLIER");
    assert_eq!(code(fx.v(&core, issue_call("V1", "NOPE", 100, DUE, &inv))), "UNKNOWN_ORG");
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, DUE, &[inv_no(99)]))), "INVOICE_NOT_FOUND");
    // The invoice proves a trade between S1 and CORE, not S2.
    assert_eq!(code(fx.v(&core, issue_call("V1", "S2", 100, DUE, &inv))), "VOUCHER_TRADE_BACKGROUND_MISMATCH");
    // …without naming the invoice's real parties: the message goes into a receipt every member reads.
    let refused = fx.v(&core, issue_call("V1", "S2", 100, DUE, &inv)).expect_err("refused");
    assert!(!refused.message.contains("S1"), "{}", refused.message);
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 1_130_001, DUE, &inv))), "VOUCHER_EXCEEDS_INVOICES");
    let mut usd = issue_call("V1", "S1", 100, DUE, &inv);
    if let VoucherCall::Issue { currency, .. } = &mut usd {
        *currency = "USD".into();
    }
    assert_eq!(code(fx.v(&core, usd)), "INVOICE_CURRENCY_MISMATCH");
    ok(fx.v(&core, issue_call("V1", "S1", 1_130_000, DUE, &inv)));
    assert_eq!(code(fx.v(&core, issue_call("V1", "S1", 100, DUE, &inv))), "VOUCHER_ID_EXISTS");
    let v = voucher(&fx, "V1");
    assert_eq!(
        (v.status.clone(), v.holder.as_str(), v.issue_date, v.depth),
        (VoucherStatus::Pending, "S1", date("2026-01-05"), 0)
    );
    assert_eq!(held_by(&fx.w.state, "S1"), ["V1"]);
}

#[test]
fn fully_reversed_invoice_cannot_back_a_voucher() {
    let (mut fx, inv) = setup();
    let s1 = fx.s1.clone();
    ok(fx.inv(
        &s1,
        InvoiceCall::Reverse {
            number: inv_no(1),
            red_number: inv_no(2),
            amount_with_tax: 1_130_000,
            reason: "作废".into(),
        },
    ));
    assert_eq!(code(fx.v(&fx.core.clone(), issue_call("V1", "S1", 100, DUE, &inv))), "INVOICE_REVERSED");
}

#[test]
fn sign_for_and_reject_by_the_receiver_only() {
    let (mut fx, inv) = setup();
    let (core, s1, s2) = (fx.core.clone(), fx.s1.clone(), fx.s2.clone());
    ok(fx.v(&core, issue_call("V1", "S1", 1_000, DUE, &inv)));
    // Until signed it cannot move.
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() })),
        "VOUCHER_NOT_SIGNED"
    );
    assert_eq!(code(fx.v(&s2, VoucherCall::SignFor { voucher_id: "V1".into() })), "VOUCHER_NOT_HOLDER");
    ok(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V1".into() }));
    assert_eq!(code(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V1".into() })), "VOUCHER_NOT_PENDING");
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Reject { voucher_id: "V1".into(), reason: "no".into() })),
        "VOUCHER_NOT_PENDING"
    );
    assert_eq!(voucher(&fx, "V1").status, VoucherStatus::Active);

    ok(fx.v(&core, issue_call("V2", "S1", 1_000, DUE, &inv)));
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Reject { voucher_id: "V2".into(), reason: " ".into() })),
        "VOUCHER_INVALID_FIELD"
    );
    ok(fx.v(&s1, VoucherCall::Reject { voucher_id: "V2".into(), reason: "金额不符".into() }));
    assert!(matches!(voucher(&fx, "V2").status, VoucherStatus::Rejected { .. }));
    assert_eq!(held_by(&fx.w.state, "S1"), ["V1"]);
    assert_eq!(code(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V2".into() })), "VOUCHER_NOT_PENDING");
    assert_eq!(code(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V9".into() })), "VOUCHER_NOT_FOUND");
}

#[test]
fn split_conserves_amount_and_records_lineage() {
    let (mut fx, _) = signed(1_000_000);
    let (s1, s2) = (fx.s1.clone(), fx.s2.clone());
    let split = |p: &[(&str, Fen)]| VoucherCall::Split { voucher_id: "V1".into(), parts: parts(p) };
    assert_eq!(code(fx.v(&s1, split(&[("S2", 600_000), ("S1", 399_999)]))), "VOUCHER_SPLIT_NOT_CONSERVED");
    assert_eq!(code(fx.v(&s1, split(&[("S2", 1_000_000), ("S1", 0)]))), "VOUCHER_INVALID_FIELD");
    assert_eq!(code(fx.v(&s1, split(&[]))), "VOUCHER_INVALID_FIELD");
    assert_eq!(code(fx.v(&s1, split(&[("BANK", 1_000_000)]))), "VOUCHER_RECIPIENT_NOT_SUPPLIER");
    assert_eq!(code(fx.v(&s2, split(&[("S2", 1_000_000)]))), "VOUCHER_NOT_HOLDER");
    let ev = ok(fx.v(&s1, split(&[("S2", 600_000), ("S1", 400_000)])));
    let orgs: Vec<&str> = ev[0].attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.as_str()).collect();
    assert_eq!(orgs, ["CORE", "S1", "S2"]);
    // The event carries the children in brief.
    let data: serde_json::Value = serde_json::from_str(&ev[0].data).expect("event data is JSON");
    assert_eq!(
        data,
        serde_json::json!({
            "parent": "V1",
            "children": [
                { "id": "V1.1", "holder": "S2", "amount": 600_000, "status": { "state": "pending" } },
                { "id": "V1.2", "holder": "S1", "amount": 400_000, "status": { "state": "active" } },
            ],
        })
    );

    let (p, a, b) = (voucher(&fx, "V1"), voucher(&fx, "V1.1"), voucher(&fx, "V1.2"));
    assert_eq!(p.status, VoucherStatus::Split);
    assert_eq!(p.children, ["V1.1", "V1.2"]);
    assert_eq!((a.parent_id.as_deref(), a.root_id.as_str(), a.depth, a.holder.as_str()), (Some("V1"), "V1", 1, "S2"));
    assert_eq!((a.status.clone(), a.pending_from.as_deref()), (VoucherStatus::Pending, Some("S1")));
    assert_eq!((b.status.clone(), b.holder.as_str()), (VoucherStatus::Active, "S1"));
    assert_eq!(code(fx.v(&s1, split(&[("S2", 1_000_000)]))), "VOUCHER_INACTIVE");
    assert_eq!(held_by(&fx.w.state, "S1"), ["V1.2"]);
    assert_eq!(held_by(&fx.w.state, "S2"), ["V1.1"]);
    let ids: Vec<String> = lineage(&fx.w.state, "V1").unwrap().into_iter().map(|v| v.id).collect();
    assert_eq!(ids, ["V1", "V1.1", "V1.2"]);
}

#[test]
fn rejected_transfer_returns_to_the_sender() {
    let (mut fx, _) = signed(1_000);
    let (s1, s2) = (fx.s1.clone(), fx.s2.clone());
    ok(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() }));
    ok(fx.v(&s2, VoucherCall::Reject { voucher_id: "V1.1".into(), reason: "无此交易".into() }));
    let c = voucher(&fx, "V1.1");
    assert_eq!((c.holder.as_str(), c.status.clone(), c.pending_from), ("S1", VoucherStatus::Active, None));
    assert_eq!(held_by(&fx.w.state, "S2"), Vec::<String>::new());
    // S1 may pass it on again.
    ok(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1.1".into(), to: "S3".into() }));
    assert_eq!(voucher(&fx, "V1.1.1").depth, 2);
}

#[test]
fn discount_is_act_360_integer() {
    // 1 000 000.00 yuan at 3.65 % for 180 days: 100_000_000 × 365 × 180 / 3_600_000 = 1_825_000 fen.
    assert_eq!(discount(100_000_000, 365, 180), Some((1_825_000, 98_175_000)));
    // Rounded down.
    assert_eq!(discount(1_000, 1, 1), Some((0, 1_000)));
    assert_eq!(discount(u64::MAX, 10_000, 400), None);
}

#[test]
fn financing_needs_an_approved_funder_and_its_acceptance() {
    let (mut fx, _) = signed(1_000_000);
    let (s1, bank, reg) = (fx.s1.clone(), fx.bank.clone(), fx.reg.clone());
    let offer = |funder: &str| VoucherCall::OfferFinancing {
        voucher_id: "V1".into(),
        funder: funder.into(),
        discount_rate_bp: 500,
        agreement_ref: "BL-2026-9".into(),
    };
    assert_eq!(code(fx.v(&s1, offer("S2"))), "VOUCHER_FUNDER_NOT_APPROVED");
    let factor = fx.w.add_org("FACTOR-CO", &[Role::Funder]);
    ok(fx.w.exec(&org::OrgModule, &reg, &kv::encode_call(&OrgCall::RevokeFunder { org_id: "FACTOR-CO".into() })));
    assert_eq!(code(fx.v(&s1, offer("FACTOR-CO"))), "VOUCHER_FUNDER_NOT_APPROVED");
    assert_eq!(
        code(fx.v(&bank, VoucherCall::AcceptFinancing { voucher_id: "V1".into() })),
        "VOUCHER_NO_FINANCING_OFFER"
    );
    ok(fx.v(&s1, offer("BANK")));
    // A pending offer blocks movement.
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() })),
        "VOUCHER_FINANCING_PENDING"
    );
    assert_eq!(
        code(fx.v(&factor, VoucherCall::AcceptFinancing { voucher_id: "V1".into() })),
        "VOUCHER_NOT_OFFERED_FUNDER"
    );
    ok(fx.v(&bank, VoucherCall::CancelFinancingOffer { voucher_id: "V1".into(), reason: "额度不足".into() }));
    assert_eq!(
        code(fx.v(&bank, VoucherCall::AcceptFinancing { voucher_id: "V1".into() })),
        "VOUCHER_NO_FINANCING_OFFER"
    );
    ok(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() }));
}

#[test]
fn finance_moves_the_voucher_to_the_funder_locks_invoices_and_registers() {
    let (mut fx, _) = signed(1_000_000);
    let (s1, bank) = (fx.s1.clone(), fx.bank.clone());
    fx.w.set_date("2026-01-31"); // 150 days before 2026-06-30
    ok(fx.v(
        &s1,
        VoucherCall::OfferFinancing {
            voucher_id: "V1".into(),
            funder: "BANK".into(),
            discount_rate_bp: 360,
            agreement_ref: "BL-2026-9".into(),
        },
    ));
    let ev = ok(fx.v(&bank, VoucherCall::AcceptFinancing { voucher_id: "V1".into() }));
    assert_eq!(ev.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["VoucherFinanced", "FinancingRegistered"]);
    let v = voucher(&fx, "V1");
    let f = v.financing.clone().unwrap();
    assert_eq!(v.holder, "BANK");
    // 1_000_000 × 360 × 150 / 3_600_000 = 15_000 fen.
    assert_eq!(
        (f.days, f.discount_interest, f.net_amount, f.seller.as_str()),
        (150, Some(15_000), Some(985_000), "S1")
    );
    assert_eq!(held_by(&fx.w.state, "BANK"), ["V1"]);
    assert_eq!(held_by(&fx.w.state, "S1"), Vec::<String>::new());
    let inv = invoice::load_invoice(&fx.w.state, &inv_no(1)).unwrap().unwrap();
    assert_eq!((inv.financed, inv.locks[0].voucher_id.as_str()), (1_000_000, "V1"));
    // The funder holds it until settlement.
    assert_eq!(
        code(fx.v(&bank, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() })),
        "VOUCHER_FINANCED"
    );
    let json = registration::export_registration_json(&fx.w.state, "V1").unwrap().unwrap();
    let r: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(r["registration_type"], "应收账款转让");
    assert_eq!(r["transferor"]["org_id"], "S1");
    assert_eq!(r["transferee"]["org_id"], "BANK");
    assert_eq!(r["obligor"]["id_type"], "统一社会信用代码");
    assert_eq!(r["property_value"], 1_000_000);
    assert_eq!(r["main_contract_amount"], 985_000);
    assert_eq!(r["day_count"], "ACT/360");
    assert_eq!(r["term_months"], 5);
    assert_eq!(r["invoices"][0]["number"], inv_no(1));
    assert!(r["property_description"].as_str().unwrap().contains("V1"));
    assert_eq!(registration::export_registration_json(&fx.w.state, "V2").unwrap(), None);
}

#[test]
fn an_invoice_is_never_financed_twice() {
    let (mut fx, inv) = setup();
    let (core, s1, bank) = (fx.core.clone(), fx.s1.clone(), fx.bank.clone());
    // Two vouchers on the same 1 130 000 fen invoice.
    ok(fx.v(&core, issue_call("V1", "S1", 800_000, DUE, &inv)));
    ok(fx.v(&core, issue_call("V2", "S1", 800_000, DUE, &inv)));
    for id in ["V1", "V2"] {
        ok(fx.v(&s1, VoucherCall::SignFor { voucher_id: id.into() }));
        ok(fx.v(
            &s1,
            VoucherCall::OfferFinancing {
                voucher_id: id.into(),
                funder: "BANK".into(),
                discount_rate_bp: 500,
                agreement_ref: "BL".into(),
            },
        ));
    }
    ok(fx.v(&bank, VoucherCall::AcceptFinancing { voucher_id: "V1".into() }));
    let e = fx.v(&bank, VoucherCall::AcceptFinancing { voucher_id: "V2".into() }).unwrap_err();
    assert_eq!(e.code, "INVOICE_OVER_FINANCED");
    assert!(e.message.contains(&inv_no(1)), "{}", e.message);
    // A fresh offer is refused up front too, and nothing was written by the failed acceptance.
    assert_eq!(voucher(&fx, "V2").holder, "S1");
    ok(fx.v(&s1, VoucherCall::CancelFinancingOffer { voucher_id: "V2".into(), reason: "r".into() }));
    assert_eq!(
        code(fx.v(
            &s1,
            VoucherCall::OfferFinancing {
                voucher_id: "V2".into(),
                funder: "BANK".into(),
                discount_rate_bp: 500,
                agreement_ref: "BL".into()
            }
        )),
        "INVOICE_OVER_FINANCED"
    );
    assert_eq!(invoice::load_invoice(&fx.w.state, &inv_no(1)).unwrap().unwrap().financed, 800_000);
}

#[test]
fn nothing_moves_on_or_after_the_due_date() {
    let (mut fx, _) = signed(1_000);
    let s1 = fx.s1.clone();
    fx.w.set_date(DUE);
    assert_eq!(code(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() })), "VOUCHER_MATURED");
    assert_eq!(
        code(fx.v(
            &s1,
            VoucherCall::OfferFinancing {
                voucher_id: "V1".into(),
                funder: "BANK".into(),
                discount_rate_bp: 1,
                agreement_ref: "x".into()
            }
        )),
        "VOUCHER_MATURED"
    );
}

#[test]
fn payment_rules_and_clearing() {
    let (mut fx, _) = signed(1_000);
    let (core, s1, s2) = (fx.core.clone(), fx.s1.clone(), fx.s2.clone());
    ok(fx.v(&s1, VoucherCall::Split { voucher_id: "V1".into(), parts: parts(&[("S2", 700), ("S1", 300)]) }));
    let pay = |root: &str| VoucherCall::RecordPayment { root_id: root.into(), payment_ref: "银行流水 001".into() };
    assert_eq!(code(fx.v(&core, pay("V1"))), "VOUCHER_NOT_DUE");
    fx.w.set_date(DUE);
    assert_eq!(code(fx.v(&s1, pay("V1"))), "MISSING_ROLE");
    let other_core = fx.w.add_org("CORE-2", &[Role::CoreEnterprise]);
    assert_eq!(code(fx.v(&other_core, pay("V1"))), "VOUCHER_NOT_OBLIGOR");
    assert_eq!(code(fx.v(&core, pay("V1.1"))), "VOUCHER_NOT_ROOT");
    // V1.1 was never signed for by S2: at clearing it is owed to its sender S1.
    let ev = ok(fx.v(&core, pay("V1")));
    assert_eq!(ev[0].kind, "VoucherPaid");
    let owed: Vec<(String, String)> = ev[1..].iter().map(|e| (e.kind.clone(), e.data.clone())).collect();
    assert_eq!(owed.len(), 1);
    let c = load_clearing(&fx.w.state, "V1").unwrap().unwrap();
    assert_eq!(
        c.entries,
        vec![ClearingEntry { holder: "S1".into(), amount: 1_000, vouchers: vec!["V1.1".into(), "V1.2".into()] }]
    );
    assert_eq!(voucher(&fx, "V1.1").status, VoucherStatus::Settled);
    assert_eq!(code(fx.v(&core, pay("V1"))), "VOUCHER_ALREADY_PAID");
    // Nothing moves after settlement.
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1.2".into(), to: "S2".into() })),
        "VOUCHER_SETTLED"
    );
    assert_eq!(code(fx.v(&s2, VoucherCall::SignFor { voucher_id: "V1.1".into() })), "VOUCHER_NOT_HOLDER");
    assert_eq!(code(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V1.1".into() })), "VOUCHER_NOT_PENDING");
}

#[test]
fn unsigned_root_cannot_be_paid() {
    let (mut fx, inv) = setup();
    let core = fx.core.clone();
    ok(fx.v(&core, issue_call("V1", "S1", 1_000, DUE, &inv)));
    fx.w.set_date(DUE);
    assert_eq!(
        code(fx.v(&core, VoucherCall::RecordPayment { root_id: "V1".into(), payment_ref: "p".into() })),
        "VOUCHER_NOT_SIGNED"
    );
}

#[test]
fn overdue_is_derived_and_recorded_once() {
    let (mut fx, _) = signed(1_000);
    let (core, s3) = (fx.core.clone(), fx.s3.clone());
    let mark = || VoucherCall::MarkOverdue { root_id: "V1".into() };
    fx.w.set_date(DUE);
    assert!(!is_overdue(&fx.w.state, "V1", fx.w.today()).unwrap());
    assert_eq!(code(fx.v(&s3, mark())), "VOUCHER_NOT_OVERDUE");
    fx.w.set_date("2026-07-01");
    assert!(is_overdue(&fx.w.state, "V1", fx.w.today()).unwrap());
    let ev = ok(fx.v(&s3, mark()));
    assert_eq!(ev[0].kind, "VoucherOverdue");
    assert!(
        ev[0].attributes.contains(&("org".into(), "CORE".into()))
            && ev[0].attributes.contains(&("org".into(), "S1".into()))
    );
    assert_eq!(code(fx.v(&s3, mark())), "VOUCHER_NOT_OVERDUE");
    // Late payment still clears, flagged late.
    ok(fx.v(&core, VoucherCall::RecordPayment { root_id: "V1".into(), payment_ref: "p".into() }));
    assert!(load_tree(&fx.w.state, "V1").unwrap().unwrap().payment.unwrap().late);
    assert!(!is_overdue(&fx.w.state, "V1", fx.w.today()).unwrap());
}

#[test]
fn regulator_freezes_the_whole_tree() {
    let (mut fx, _) = signed(1_000);
    let (core, s1, s2, reg) = (fx.core.clone(), fx.s1.clone(), fx.s2.clone(), fx.reg.clone());
    ok(fx.v(&s1, VoucherCall::Split { voucher_id: "V1".into(), parts: parts(&[("S2", 700), ("S1", 300)]) }));
    let freeze = |id: &str| VoucherCall::Freeze { voucher_id: id.into(), reason: "涉嫌虚假贸易".into() };
    let unfreeze = |id: &str| VoucherCall::Unfreeze { voucher_id: id.into(), reason: "核查完毕".into() };
    assert_eq!(code(fx.v(&s1, freeze("V1.1"))), "MISSING_ROLE");
    assert_eq!(code(fx.v(&reg, unfreeze("V1"))), "VOUCHER_TREE_NOT_FROZEN");
    // Freezing through a child freezes the root and every sibling.
    let ev = ok(fx.v(&reg, freeze("V1.1")));
    assert!(ev[0].attributes.contains(&("org".into(), "REG".into())));
    assert!(is_frozen(&fx.w.state, "V1.2").unwrap());
    assert_eq!(code(fx.v(&reg, freeze("V1"))), "VOUCHER_TREE_ALREADY_FROZEN");
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1.2".into(), to: "S3".into() })),
        "VOUCHER_TREE_FROZEN"
    );
    assert_eq!(code(fx.v(&s2, VoucherCall::SignFor { voucher_id: "V1.1".into() })), "VOUCHER_TREE_FROZEN");
    assert_eq!(
        code(fx.v(&s2, VoucherCall::Reject { voucher_id: "V1.1".into(), reason: "x".into() })),
        "VOUCHER_TREE_FROZEN"
    );
    assert_eq!(
        code(fx.v(
            &s1,
            VoucherCall::OfferFinancing {
                voucher_id: "V1.2".into(),
                funder: "BANK".into(),
                discount_rate_bp: 1,
                agreement_ref: "x".into()
            }
        )),
        "VOUCHER_TREE_FROZEN"
    );
    fx.w.set_date(DUE);
    assert_eq!(
        code(fx.v(&core, VoucherCall::RecordPayment { root_id: "V1".into(), payment_ref: "p".into() })),
        "VOUCHER_TREE_FROZEN"
    );
    ok(fx.v(&reg, unfreeze("V1.2")));
    ok(fx.v(&core, VoucherCall::RecordPayment { root_id: "V1".into(), payment_ref: "p".into() }));
}

#[test]
fn bad_payload_is_a_typed_error() {
    let mut fx = Fx::new();
    let e = fx.w.exec(&VoucherModule, &fx.core.clone(), &[200]).unwrap_err();
    assert_eq!(e.code, "BAD_PAYLOAD");
}

/// The story of the lead's integration test, on the in-memory world: issue → sign-for → split across
/// three supplier tiers → finance a split child at a discount → finance the same invoice again
/// (refused) → maturity → clearing shows who is owed what.
#[test]
fn full_story() {
    let mut fx = Fx::new();
    let (core, s1, s2, s3, bank) = (fx.core.clone(), fx.s1.clone(), fx.s2.clone(), fx.s3.clone(), fx.bank.clone());
    // Trade background: S1 sold CORE goods for 1 000 000.00 + 13 % VAT = 1 130 000.00 yuan.
    let total = fx.issue_invoice(&inv_no(1), "S1", "CORE", 100_000_000);
    assert_eq!(total, 113_000_000);
    ok(fx.v(&core, issue_call("YX-2026-0001", "S1", 100_000_000, "2026-07-05", &[inv_no(1)])));
    ok(fx.v(&s1, VoucherCall::SignFor { voucher_id: "YX-2026-0001".into() }));
    // Tier 1 → tier 2: S1 keeps 40 %, passes 60 % to S2.
    ok(fx.v(
        &s1,
        VoucherCall::Split {
            voucher_id: "YX-2026-0001".into(),
            parts: parts(&[("S2", 60_000_000), ("S1", 40_000_000)]),
        },
    ));
    ok(fx.v(&s2, VoucherCall::SignFor { voucher_id: "YX-2026-0001.1".into() }));
    // Tier 2 → tier 3: S2 passes 25 000 000 to S3.
    ok(fx.v(
        &s2,
        VoucherCall::Split {
            voucher_id: "YX-2026-0001.1".into(),
            parts: parts(&[("S3", 25_000_000), ("S2", 35_000_000)]),
        },
    ));
    ok(fx.v(&s3, VoucherCall::SignFor { voucher_id: "YX-2026-0001.1.1".into() }));
    // CORE (wrongly) issued a second voucher on the same invoice.
    ok(fx.v(&core, issue_call("YX-2026-0002", "S1", 100_000_000, "2026-07-05", &[inv_no(1)])));
    ok(fx.v(&s1, VoucherCall::SignFor { voucher_id: "YX-2026-0002".into() }));
    // S3 sells its child to the bank at 4.5 % a year, 120 days before maturity.
    fx.w.set_date("2026-03-07");
    ok(fx.v(
        &s3,
        VoucherCall::OfferFinancing {
            voucher_id: "YX-2026-0001.1.1".into(),
            funder: "BANK".into(),
            discount_rate_bp: 450,
            agreement_ref: "BL-2026-0042".into(),
        },
    ));
    ok(fx.v(&bank, VoucherCall::AcceptFinancing { voucher_id: "YX-2026-0001.1.1".into() }));
    let f = voucher(&fx, "YX-2026-0001.1.1").financing.unwrap();
    // 25 000 000 × 450 × 120 / 3 600 000 = 375 000 fen.
    assert_eq!((f.days, f.discount_interest, f.net_amount), (120, Some(375_000), Some(24_625_000)));
    // Financing it in full would over-finance the invoice that now backs 25 000 000 of financing.
    assert_eq!(
        code(fx.v(
            &s1,
            VoucherCall::OfferFinancing {
                voucher_id: "YX-2026-0002".into(),
                funder: "BANK".into(),
                discount_rate_bp: 450,
                agreement_ref: "BL-2026-0043".into()
            }
        )),
        "INVOICE_OVER_FINANCED"
    );
    // Maturity: CORE pays the root; clearing says who is owed what.
    fx.w.set_date("2026-07-05");
    let ev = ok(fx
        .v(&core, VoucherCall::RecordPayment { root_id: "YX-2026-0001".into(), payment_ref: "CMB-20260705-1".into() }));
    let clearing = load_clearing(&fx.w.state, "YX-2026-0001").unwrap().unwrap();
    let owed: Vec<(&str, Fen)> = clearing.entries.iter().map(|e| (e.holder.as_str(), e.amount)).collect();
    assert_eq!(owed, [("BANK", 25_000_000), ("S1", 40_000_000), ("S2", 35_000_000)]);
    assert_eq!(ev.iter().filter(|e| e.kind == "ClearingOwed").count(), 3);
    let ids: Vec<String> = lineage(&fx.w.state, "YX-2026-0001")
        .unwrap()
        .into_iter()
        .map(|v| format!("{}:{}:{:?}", v.id, v.depth, v.status))
        .collect();
    assert_eq!(
        ids,
        [
            "YX-2026-0001:0:Split",
            "YX-2026-0001.1:1:Split",
            "YX-2026-0001.1.1:2:Settled",
            "YX-2026-0001.1.2:2:Settled",
            "YX-2026-0001.2:1:Settled"
        ]
    );
}

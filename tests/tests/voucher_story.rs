//! The receivable-voucher story on the chain (executor + RocksDB, real signed transactions): issue →
//! sign-for → split across three supplier tiers → finance a split child at a discount → a second
//! financing of the same invoice is refused → maturity → clearing shows who is owed what. Every step
//! is checked in receipts, events and state proofs against the block's state root.

use scf_domain::date::Date;
use scf_domain::invoice::{self, InvoiceCall, VerifyResult};
use scf_domain::org::Role;
use scf_domain::registration;
use scf_domain::voucher::{self, SplitPart, VoucherCall};
use scf_tests::{org_key, TestChain};

fn invoice(number: &str, seller: &str, buyer: &str, amount: u64, date: &str) -> scf_domain::invoice::NewInvoice {
    scf_tests::sample_invoice(number, seller, buyer, amount, date)
}

fn split(parts: &[(&str, u64)]) -> Vec<SplitPart> {
    parts.iter().map(|(to, amount)| SplitPart { to: to.to_string(), amount: *amount }).collect()
}

#[test]
fn full_voucher_story_on_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let orgs: &[(&str, &[Role])] = &[
        ("AUTO", &[Role::CoreEnterprise]),
        ("T1", &[Role::Supplier]),
        ("T2", &[Role::Supplier]),
        ("T3", &[Role::Supplier]),
        ("BANK", &[Role::Funder]),
        ("REG", &[Role::Regulator]),
    ];
    let mut chain = TestChain::new(dir.path(), "2026-01-05", orgs);
    let (auto, t1, t2, t3, bank, reg) =
        (org_key("AUTO"), org_key("T1"), org_key("T2"), org_key("T3"), org_key("BANK"), org_key("REG"));

    // Trade background: T1 invoices AUTO 1,000,000.00 + 13 % VAT.
    let inv_no = "26312000000000000001";
    chain.ok(&t1, &InvoiceCall::Issue(invoice(inv_no, "T1", "AUTO", 100_000_000, "2026-01-05")));
    // 查验 answers authentic for the right number + date + total, not found otherwise.
    let st = chain.state();
    let date = Date::parse("2026-01-05").expect("date");
    assert_eq!(invoice::verify_invoice(&st, inv_no, date, 113_000_000).expect("verify"), VerifyResult::Authentic);
    assert_eq!(invoice::verify_invoice(&st, inv_no, date, 113_000_001).expect("verify"), VerifyResult::NotFound);

    // A supplier cannot issue a voucher; the core enterprise can.
    let issue = VoucherCall::Issue {
        voucher_no: "YX-2026-0001".into(),
        to: "T1".into(),
        amount: 100_000_000,
        currency: "CNY".into(),
        due_date: Date::parse("2026-07-05").expect("date"),
        contract_ref: "HT-2026-001".into(),
        invoices: vec![inv_no.into()],
        allow_over_six_months: false,
    };
    assert_eq!(chain.refused(&t1, &issue), "MISSING_ROLE");
    let r = chain.ok(&auto, &issue);
    assert!(r.events.iter().any(|e| e.kind.contains("Issued")), "{:?}", r.events);
    // A second voucher on the same invoice (the over-financing attempt comes later).
    chain.ok(
        &auto,
        &VoucherCall::Issue {
            voucher_no: "YX-2026-0002".into(),
            to: "T1".into(),
            amount: 100_000_000,
            currency: "CNY".into(),
            due_date: Date::parse("2026-07-05").expect("date"),
            contract_ref: "HT-2026-001".into(),
            invoices: vec![inv_no.into()],
            allow_over_six_months: false,
        },
    );
    // Until signed for, the voucher cannot move.
    assert_eq!(
        chain.refused(
            &t1,
            &VoucherCall::Split { voucher_id: "YX-2026-0001".into(), parts: split(&[("T2", 1), ("T1", 99_999_999)]) }
        ),
        "VOUCHER_NOT_SIGNED"
    );
    chain.ok(&t1, &VoucherCall::SignFor { voucher_id: "YX-2026-0001".into() });
    chain.ok(&t1, &VoucherCall::SignFor { voucher_id: "YX-2026-0002".into() });

    // Tier 1 → tier 2 → tier 3, with exact conservation enforced.
    assert_eq!(
        chain.refused(
            &t1,
            &VoucherCall::Split {
                voucher_id: "YX-2026-0001".into(),
                parts: split(&[("T2", 60_000_000), ("T1", 39_999_999)])
            }
        ),
        "VOUCHER_SPLIT_NOT_CONSERVED"
    );
    chain.ok(
        &t1,
        &VoucherCall::Split {
            voucher_id: "YX-2026-0001".into(),
            parts: split(&[("T2", 60_000_000), ("T1", 40_000_000)]),
        },
    );
    chain.ok(&t2, &VoucherCall::SignFor { voucher_id: "YX-2026-0001.1".into() });
    chain.ok(
        &t2,
        &VoucherCall::Split {
            voucher_id: "YX-2026-0001.1".into(),
            parts: split(&[("T3", 25_000_000), ("T2", 35_000_000)]),
        },
    );
    chain.ok(&t3, &VoucherCall::SignFor { voucher_id: "YX-2026-0001.1.1".into() });
    let child = voucher::load_voucher(&chain.state(), "YX-2026-0001.1.1").expect("read").expect("child");
    assert_eq!((child.root_id.as_str(), child.depth, child.holder.as_str()), ("YX-2026-0001", 2, "T3"));

    // T3 finances its child with BANK at 4.50 % a year, 120 days before maturity.
    chain.set_date("2026-03-07");
    chain.ok(
        &t3,
        &VoucherCall::OfferFinancing {
            voucher_id: "YX-2026-0001.1.1".into(),
            funder: "BANK".into(),
            discount_rate_bp: 450,
            agreement_ref: "BL-2026-0042".into(),
        },
    );
    let accepted = chain.ok(&bank, &VoucherCall::AcceptFinancing { voucher_id: "YX-2026-0001.1.1".into() });
    let financed = voucher::load_voucher(&chain.state(), "YX-2026-0001.1.1").expect("read").expect("child");
    assert_eq!(financed.holder, "BANK");
    let f = financed.financing.clone().expect("financing terms");
    assert_eq!((f.days, f.discount_interest, f.net_amount), (120, Some(375_000), Some(24_625_000)));
    // The 中登网 registration record exists and exports as JSON.
    let reg_json = registration::export_registration_json(&chain.state(), &financed.id)
        .expect("export")
        .expect("registration record");
    assert!(reg_json.contains("BANK") && reg_json.contains("T3"), "{reg_json}");
    // The financing is provable against the block's state root.
    let proof =
        chain.store().state_proof(format!("voucher/v/{}", financed.id).as_bytes(), accepted.height).expect("proof");
    let header = chain.store().block(accepted.height).expect("read").expect("block").header;
    assert!(proof.verify(&header.state_root));

    // Financing the second voucher on the same invoice would over-finance it: refused.
    assert_eq!(
        chain.refused(
            &t1,
            &VoucherCall::OfferFinancing {
                voucher_id: "YX-2026-0002".into(),
                funder: "BANK".into(),
                discount_rate_bp: 450,
                agreement_ref: "BL-2026-0043".into()
            }
        ),
        "INVOICE_OVER_FINANCED"
    );

    // The regulator freezes the tree: nothing moves; unfreeze restores movement.
    chain.ok(
        &reg,
        &VoucherCall::Freeze {
            voucher_id: "YX-2026-0001.2".into(), reason: "司法冻结 (2026) 沪01执保123号".into()
        },
    );
    assert_eq!(
        chain.refused(&t1, &VoucherCall::Transfer { voucher_id: "YX-2026-0001.2".into(), to: "T2".into() }),
        "VOUCHER_TREE_FROZEN"
    );
    chain.ok(&reg, &VoucherCall::Unfreeze { voucher_id: "YX-2026-0001".into(), reason: "解除冻结".into() });

    // Payment before maturity is refused; at maturity the obligor pays and clearing says who is owed.
    assert_eq!(
        chain.refused(
            &auto,
            &VoucherCall::RecordPayment { root_id: "YX-2026-0001".into(), payment_ref: "early".into() }
        ),
        "VOUCHER_NOT_DUE"
    );
    chain.set_date("2026-07-05");
    let paid = chain.ok(
        &auto,
        &VoucherCall::RecordPayment { root_id: "YX-2026-0001".into(), payment_ref: "CMB-20260705-1".into() },
    );
    assert_eq!(paid.events.iter().filter(|e| e.kind == "ClearingOwed").count(), 3);
    let clearing = voucher::load_clearing(&chain.state(), "YX-2026-0001").expect("read").expect("clearing");
    let owed: Vec<(&str, u64)> = clearing.entries.iter().map(|e| (e.holder.as_str(), e.amount)).collect();
    assert_eq!(owed, [("BANK", 25_000_000), ("T1", 40_000_000), ("T2", 35_000_000)]);
    assert_eq!(owed.iter().map(|(_, a)| a).sum::<u64>(), 100_000_000, "clearing conserves the root amount");
    // Nothing moves after settlement.
    assert_eq!(
        chain.refused(&t2, &VoucherCall::Transfer { voucher_id: "YX-2026-0001.1.2".into(), to: "T3".into() }),
        "VOUCHER_SETTLED"
    );
    // The unpaid second voucher is overdue the day after its due date.
    chain.set_date("2026-07-06");
    chain.ok(&t1, &VoucherCall::MarkOverdue { root_id: "YX-2026-0002".into() });

    // The buyer books the invoice once; a second booking names the first.
    chain.ok(&auto, &InvoiceCall::Book { number: inv_no.into(), booking_ref: "记-2026-07-001".into() });
    let again = chain.call(&auto, &InvoiceCall::Book { number: inv_no.into(), booking_ref: "记-2026-07-002".into() });
    match again.outcome {
        scf_ledger::receipt::TxOutcome::Failed { code, message } => {
            assert_eq!(code, "INVOICE_ALREADY_BOOKED");
            assert!(message.contains("记-2026-07-001"), "{message}");
        }
        other => panic!("second booking accepted: {other:?}"),
    }
}

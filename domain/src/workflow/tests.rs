//! Rule tests of the workflow module on the in-memory world (each fails if its rule is removed). The
//! whole processes across organisations on a real chain are in `tests/tests/workflow_*.rs`.

use super::*;
use crate::invoice::fixture::{code, date, inv_no, ok, Fx};
use crate::invoice::InvoiceCall;
use crate::voucher::{self, VoucherCall};
use scf_ledger::crypto::PublicKey;
use scf_ledger::module::ModuleError;

fn wf(
    fx: &mut Fx,
    key: &scf_ledger::crypto::KeyPair,
    call: WorkflowCall,
) -> std::result::Result<Vec<Event>, ModuleError> {
    fx.w.exec(&WorkflowModule, key, &kv::encode_call(&call))
}

/// S1 holds signed voucher V1 of 1 000 000 fen due 2026-06-30, backed by one invoice.
fn world() -> Fx {
    let mut fx = Fx::new();
    fx.issue_invoice(&inv_no(1), "S1", "CORE", 1_000_000);
    let (core, s1) = (fx.core.clone(), fx.s1.clone());
    ok(fx.v(
        &core,
        VoucherCall::Issue {
            voucher_no: "V1".into(),
            to: "S1".into(),
            amount: 1_000_000,
            currency: "CNY".into(),
            due_date: date("2026-06-30"),
            contract_ref: "HT-1".into(),
            invoices: vec![inv_no(1)],
            allow_over_six_months: false,
        },
    ));
    ok(fx.v(&s1, VoucherCall::SignFor { voucher_id: "V1".into() }));
    fx
}

fn apply_call(rate: u32) -> WorkflowCall {
    WorkflowCall::ApplyFinancing {
        application_id: "FA-1".into(),
        voucher_id: "V1".into(),
        funder: "BANK".into(),
        requested_rate_bp: rate,
        documents: vec![Document { name: "申请书.pdf".into(), sm3: "ab".repeat(32) }],
    }
}

fn app(fx: &Fx) -> FinancingApplication {
    match load_instance(&fx.w.state, "FA-1").expect("read") {
        Some(Instance::Financing(a)) => a,
        other => panic!("no financing application: {other:?}"),
    }
}

#[test]
fn only_the_holder_applies_and_the_voucher_is_reserved() {
    let mut fx = world();
    let s2 = fx.s2.clone();
    assert_eq!(code(wf(&mut fx, &s2, apply_call(500))), "WORKFLOW_NOT_PARTY");
    let s1 = fx.s1.clone();
    assert_eq!(code(wf(&mut fx, &s1, apply_call(0))), "WORKFLOW_INVALID_FIELD");
    ok(wf(&mut fx, &s1, apply_call(500)));
    assert_eq!(code(wf(&mut fx, &s1, apply_call(500))), "WORKFLOW_ID_TAKEN");
    // The reservation stops the voucher from moving while the funder decides.
    assert_eq!(
        code(fx.v(&s1, VoucherCall::Transfer { voucher_id: "V1".into(), to: "S2".into() })),
        "VOUCHER_FINANCING_PENDING"
    );
    let a = app(&fx);
    assert_eq!((a.state.as_str(), a.deadline_ms), ("submitted", Some(fx.w.time_ms + 5 * DAY_MS)));
}

#[test]
fn approval_needs_a_passing_invoice_check_and_a_rate_within_the_request() {
    let mut fx = world();
    let (s1, bank) = (fx.s1.clone(), fx.bank.clone());
    ok(wf(&mut fx, &s1, apply_call(500)));
    let approve = |rate| WorkflowCall::ApproveFinancing {
        application_id: "FA-1".into(),
        discount_rate_bp: rate,
        agreement_ref: "BL-1".into(),
    };
    assert_eq!(code(wf(&mut fx, &bank, approve(450))), "WORKFLOW_INVOICES_NOT_CHECKED");
    // Only the named funder checks and approves.
    assert_eq!(
        code(wf(&mut fx, &s1, WorkflowCall::CheckInvoices { application_id: "FA-1".into() })),
        "WORKFLOW_NOT_PARTY"
    );
    ok(wf(&mut fx, &bank, WorkflowCall::CheckInvoices { application_id: "FA-1".into() }));
    assert!(app(&fx).invoice_check.expect("check").passed);
    assert_eq!(code(wf(&mut fx, &bank, approve(501))), "WORKFLOW_RATE_ABOVE_REQUESTED");
    // A red-letter reversal after the check blocks approval (查验 now answers `reversed`).
    let s1k = fx.s1.clone();
    ok(fx.inv(
        &s1k,
        InvoiceCall::Reverse {
            number: inv_no(1),
            red_number: inv_no(2),
            amount_with_tax: 1_000,
            reason: "退货".into(),
        },
    ));
    assert_eq!(code(wf(&mut fx, &bank, approve(450))), "WORKFLOW_INVOICE_CHECK_FAILED");
}

#[test]
fn approval_finances_the_voucher_in_the_same_call() {
    let mut fx = world();
    let (s1, bank) = (fx.s1.clone(), fx.bank.clone());
    ok(wf(&mut fx, &s1, apply_call(500)));
    ok(wf(&mut fx, &bank, WorkflowCall::CheckInvoices { application_id: "FA-1".into() }));
    let ev = ok(wf(
        &mut fx,
        &bank,
        WorkflowCall::ApproveFinancing {
            application_id: "FA-1".into(),
            discount_rate_bp: 360,
            agreement_ref: "BL-1".into(),
        },
    ));
    let kinds: Vec<&str> = ev.iter().map(|e| e.kind.as_str()).collect();
    assert!(kinds.contains(&"VoucherFinanced") && kinds.contains(&"FinancingApproved"), "{kinds:?}");
    let v = voucher::load_voucher(&fx.w.state, "V1").expect("read").expect("voucher");
    assert_eq!(v.holder, "BANK");
    let f = v.financing.expect("financing");
    assert_eq!(f.discount_rate_bp, Some(360));
    let a = app(&fx);
    assert_eq!(a.approval.expect("approval").net_amount, f.net_amount);
    // Disbursement must be exactly the net amount.
    assert_eq!(
        code(wf(
            &mut fx,
            &bank,
            WorkflowCall::RecordDisbursement { application_id: "FA-1".into(), payment_ref: "TT-1".into(), amount: 1 }
        )),
        "WORKFLOW_AMOUNT_MISMATCH"
    );
}

#[test]
fn expiry_only_after_the_deadline_and_only_once_and_it_beats_late_answers() {
    let mut fx = world();
    let (s1, bank, reg) = (fx.s1.clone(), fx.bank.clone(), fx.reg.clone());
    ok(wf(&mut fx, &s1, apply_call(500)));
    let expire = || WorkflowCall::Expire { application_id: "FA-1".into(), deadline: DeadlineKind::Step };
    assert_eq!(code(wf(&mut fx, &reg, expire())), "WORKFLOW_NOT_EXPIRED");
    fx.w.set_date("2026-01-11");
    // Past the deadline the funder can no longer answer, even though no timer has fired yet.
    assert_eq!(
        code(wf(&mut fx, &bank, WorkflowCall::CheckInvoices { application_id: "FA-1".into() })),
        "WORKFLOW_DEADLINE_PASSED"
    );
    ok(wf(&mut fx, &reg, expire()));
    assert_eq!(app(&fx).state, "expired");
    assert_eq!(code(wf(&mut fx, &reg, expire())), "WORKFLOW_TRANSITION_NOT_ALLOWED");
    // The voucher reservation is gone: the supplier may move it again.
    assert!(voucher::load_voucher(&fx.w.state, "V1").expect("read").expect("v").offer.is_none());
}

#[test]
fn a_withdrawn_offer_cannot_be_financed_and_the_supplier_can_withdraw_the_application() {
    let mut fx = world();
    let (s1, bank) = (fx.s1.clone(), fx.bank.clone());
    ok(wf(&mut fx, &s1, apply_call(500)));
    ok(wf(&mut fx, &bank, WorkflowCall::CheckInvoices { application_id: "FA-1".into() }));
    // The holder withdraws the offer in the voucher module, outside the process...
    ok(fx.v(&s1, VoucherCall::CancelFinancingOffer { voucher_id: "V1".into(), reason: "不再融资".into() }));
    let approve = || WorkflowCall::ApproveFinancing {
        application_id: "FA-1".into(),
        discount_rate_bp: 400,
        agreement_ref: "BL-1".into(),
    };
    // ...so the funder can no longer finance it.
    assert_eq!(code(wf(&mut fx, &bank, approve())), "WORKFLOW_RESERVATION_WITHDRAWN");
    assert_eq!(voucher::load_voucher(&fx.w.state, "V1").expect("read").expect("v").holder, "S1");

    // The proper way out: the supplier withdraws the application; only the applicant may.
    let mut fx = world();
    ok(wf(&mut fx, &s1, apply_call(500)));
    let withdraw =
        || WorkflowCall::WithdrawFinancing { application_id: "FA-1".into(), reason: "资金已到位".into() };
    assert_eq!(code(wf(&mut fx, &bank, withdraw())), "WORKFLOW_NOT_PARTY");
    let ev = ok(wf(&mut fx, &s1, withdraw()));
    assert!(ev.iter().any(|e| e.kind == "FinancingWithdrawn"));
    assert_eq!(app(&fx).state, "withdrawn");
    assert!(
        voucher::load_voucher(&fx.w.state, "V1").expect("read").expect("v").offer.is_none(),
        "reservation released"
    );
    assert_eq!(code(wf(&mut fx, &bank, approve())), "WORKFLOW_TRANSITION_NOT_ALLOWED");
}

#[test]
fn information_round_trip_resets_the_funder_deadline() {
    let mut fx = world();
    let (s1, bank) = (fx.s1.clone(), fx.bank.clone());
    ok(wf(&mut fx, &s1, apply_call(500)));
    ok(wf(
        &mut fx,
        &bank,
        WorkflowCall::RequestInfo { application_id: "FA-1".into(), question: "请提供发货单".into() },
    ));
    assert_eq!(app(&fx).state, "info_requested");
    assert_eq!(
        code(wf(&mut fx, &bank, WorkflowCall::RequestInfo { application_id: "FA-1".into(), question: "again".into() })),
        "WORKFLOW_TRANSITION_NOT_ALLOWED"
    );
    fx.w.set_date("2026-01-08");
    ok(wf(
        &mut fx,
        &s1,
        WorkflowCall::ProvideInfo { application_id: "FA-1".into(), answer: "见附件".into(), documents: vec![] },
    ));
    let a = app(&fx);
    assert_eq!((a.state.as_str(), a.deadline_ms), ("submitted", Some(fx.w.time_ms + 5 * DAY_MS)));
    assert_eq!(a.info[0].answer.as_deref(), Some("见附件"));
}

#[test]
fn end_of_day_is_the_last_millisecond_of_the_business_day() {
    let d = date("2026-06-30");
    let end = end_of_day_ms(d);
    assert_eq!(crate::date::Date::from_time_ms(end), d);
    assert_eq!(crate::date::Date::from_time_ms(end + 1), d.add_days(1));
}

/// Seal `payload` under `scope` for `orgs` with their on-chain organisation keys (what the API does).
fn seal_for(fx: &Fx, scope: &str, payload: &impl borsh::BorshSerialize, orgs: &[&str]) -> Sealed {
    let keys: Vec<(&str, PublicKey)> = orgs
        .iter()
        .map(|o| (*o, crate::org::load_org(&fx.w.state, o).expect("read").expect("org").public_key))
        .collect();
    let payload = borsh::to_vec(payload).expect("encode");
    scf_ledger::confidential::seal(&crate::terms::aad(scope), &payload, &keys).expect("seal").0
}

fn open_as<T: borsh::BorshDeserialize>(
    sealed: &Sealed,
    scope: &str,
    org: &str,
    key: &scf_ledger::crypto::KeyPair,
) -> T {
    let opened = scf_ledger::confidential::open(sealed, &crate::terms::aad(scope), org, key).expect("open");
    borsh::from_slice(&opened.payload).expect("decode")
}

fn apply_sealed(rate: Sealed) -> WorkflowCall {
    WorkflowCall::ApplyFinancingSealed {
        application_id: "FA-1".into(),
        voucher_id: "V1".into(),
        funder: "BANK".into(),
        requested_rate: rate,
        documents: vec![],
    }
}

#[test]
fn sealed_financing_keeps_rates_and_figures_out_of_state_and_events() {
    use crate::terms::{self, AmountTerms, DiscountTerms, RateTerms};
    let mut fx = world();
    let (s1, bank, reg) = (fx.s1.clone(), fx.bank.clone(), fx.reg.clone());
    let offer = terms::offer_scope("V1");
    // Every party and every regulator must be a recipient, and nobody else.
    let no_regulator = seal_for(&fx, &offer, &RateTerms { rate_bp: 500 }, &["S1", "BANK"]);
    assert_eq!(code(wf(&mut fx, &s1, apply_sealed(no_regulator))), "CONFIDENTIAL_RECIPIENT_MISSING");
    let to_a_rival = seal_for(&fx, &offer, &RateTerms { rate_bp: 500 }, &["S1", "BANK", "REG", "S2"]);
    assert_eq!(code(wf(&mut fx, &s1, apply_sealed(to_a_rival))), "CONFIDENTIAL_NOT_ENTITLED");
    let rate = seal_for(&fx, &offer, &RateTerms { rate_bp: 500 }, &["S1", "BANK", "REG"]);
    let mut events = ok(wf(&mut fx, &s1, apply_sealed(rate.clone())));
    let a = app(&fx);
    assert_eq!((a.requested_rate_bp, a.sealed_requested_rate.as_ref()), (None, Some(&rate)));
    let v = voucher::load_voucher(&fx.w.state, "V1").expect("read").expect("voucher");
    assert_eq!(v.offer.as_ref().and_then(|o| o.discount_rate_bp), None, "the reservation's rate is sealed too");
    events.extend(ok(wf(&mut fx, &bank, WorkflowCall::CheckInvoices { application_id: "FA-1".into() })));

    // A clear approval of a sealed application, or a sealed one of a clear application, is refused.
    let clear = WorkflowCall::ApproveFinancing {
        application_id: "FA-1".into(),
        discount_rate_bp: 450,
        agreement_ref: "BL-1".into(),
    };
    assert_eq!(code(wf(&mut fx, &bank, clear)), "WORKFLOW_TERMS_MODE");
    let days =
        u32::try_from(crate::date::Date::from_time_ms(fx.w.time_ms).days_until(date("2026-06-30"))).expect("days");
    let figures = DiscountTerms::compute(1_000_000, 450, days).expect("figures");
    let sealed = seal_for(&fx, &terms::financing_scope("V1"), &figures, &["S1", "BANK", "REG"]);
    events.extend(ok(wf(
        &mut fx,
        &bank,
        WorkflowCall::ApproveFinancingSealed {
            application_id: "FA-1".into(),
            agreement_ref: "BL-1".into(),
            terms: sealed.clone(),
        },
    )));
    let v = voucher::load_voucher(&fx.w.state, "V1").expect("read").expect("voucher");
    assert_eq!(v.holder, "BANK", "the sealed approval finances the voucher");
    let f = v.financing.expect("financing");
    assert_eq!((f.discount_rate_bp, f.discount_interest, f.net_amount), (None, None, None));
    let reg_rec = crate::registration::load_registration(&fx.w.state, "V1").expect("read").expect("registration");
    assert_eq!((reg_rec.discount_rate_bp, reg_rec.main_contract_amount, reg_rec.discount_interest), (None, None, None));
    // The regulator opens the figures the chain stored.
    let opened: DiscountTerms =
        open_as(reg_rec.sealed_terms.as_ref().expect("sealed"), &terms::financing_scope("V1"), "REG", &reg);
    assert_eq!(opened, figures);

    // The disbursement amount would give the net (and so the rate) away: sealed too.
    let clear = WorkflowCall::RecordDisbursement {
        application_id: "FA-1".into(),
        payment_ref: "TT-1".into(),
        amount: figures.net,
    };
    assert_eq!(code(wf(&mut fx, &bank, clear)), "WORKFLOW_TERMS_MODE");
    let scope = terms::workflow_scope("FA-1", "disbursement");
    let amount = seal_for(&fx, &scope, &AmountTerms { amount: figures.net }, &["S1", "BANK", "REG"]);
    events.extend(ok(wf(
        &mut fx,
        &bank,
        WorkflowCall::RecordDisbursementSealed { application_id: "FA-1".into(), payment_ref: "TT-1".into(), amount },
    )));
    assert_eq!(app(&fx).disbursement.expect("disbursement").amount, None);

    // No event (they are stored in receipts on every node) names a figure.
    let text = format!("{events:?}");
    for secret in
        [figures.net.to_string(), figures.interest.to_string(), "\"rate_bp\":450".into(), "_rate_bp\":500".into()]
    {
        assert!(!text.contains(&secret), "{secret} appears in an event: {text}");
    }
}

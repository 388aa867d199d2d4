//! Voucher financing as a conversation between organisations on a real chain: the supplier applies, the
//! funder asks for information, checks the invoices (查验) and approves — the voucher moves to the
//! funder in the approving transaction — then records the disbursement and the supplier confirms. Also
//! rejection, and expiry of the funder's deadline fired by the timer service exactly once.

mod workflow_support;

use scf_domain::invoice::{self, InvoiceCall};
use scf_domain::registration;
use scf_domain::voucher::{self, VoucherCall};
use scf_domain::workflow::{DeadlineKind, Document, Instance, WorkflowCall};
use scf_tests::TestChain;
use workflow_support::*;

const INV: &str = "26312000000000000001";

fn apply(id: &str, voucher: &str, rate: u32) -> WorkflowCall {
    WorkflowCall::ApplyFinancing {
        application_id: id.into(),
        voucher_id: voucher.into(),
        funder: "BANK".into(),
        requested_rate_bp: rate,
        documents: vec![Document { name: "融资申请书.pdf".into(), sm3: "0a".repeat(32) }],
    }
}

fn setup(dir: &std::path::Path) -> (TestChain, Timer) {
    let mut chain = TestChain::new(&dir.join("chain"), "2026-03-02", ORGS);
    signed_voucher(&mut chain, "YX-1", INV, 100_000_000, "2026-07-01");
    let timer = Timer::start(dir.join("timers.redb"), "OPS");
    (chain, timer)
}

#[test]
fn financing_with_information_request_invoice_check_approval_disbursement_and_receipt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, mut timer) = setup(dir.path());
    let read = ReadModel::new(&chain);

    // Only the holder may apply; the application reserves the voucher.
    assert_eq!(wf_refused(&mut chain, "S2", apply("FA-1", "YX-1", 500)), "WORKFLOW_NOT_PARTY");
    let applied = wf(&mut chain, "S1", apply("FA-1", "YX-1", 500));
    assert_eq!(
        chain.refused(&key("S1"), &VoucherCall::Transfer { voucher_id: "YX-1".into(), to: "S2".into() }),
        "VOUCHER_FINANCING_PENDING"
    );
    timer.poll(&mut chain);
    let inbox: Vec<String> = read.inbox_for_org("BANK").into_iter().map(|i| i.id).collect();
    assert_eq!(inbox, vec!["FA-1".to_string()]);
    assert!(read.inbox_for_org("S1").is_empty());
    assert_eq!(read.inbox_for_role("BANK", "funder").len(), 1);
    let user_inbox = read.inbox_for_user(&chain.state(), &key("BANK").address());
    assert_eq!(user_inbox.len(), 1);

    // The funder asks for more information: now the supplier is waited for.
    chain.set_date("2026-03-03");
    wf(
        &mut chain,
        "BANK",
        WorkflowCall::RequestInfo { application_id: "FA-1".into(), question: "请补充发货单与验收单".into() },
    );
    // Approval is not possible while the question is open.
    assert_eq!(
        wf_refused(
            &mut chain,
            "BANK",
            WorkflowCall::ApproveFinancing {
                application_id: "FA-1".into(),
                discount_rate_bp: 450,
                agreement_ref: "BL-1".into()
            }
        ),
        "WORKFLOW_TRANSITION_NOT_ALLOWED"
    );
    timer.poll(&mut chain);
    assert_eq!(read.inbox_for_org("S1")[0].state, "info_requested");
    assert!(read.inbox_for_org("BANK").is_empty());
    wf(
        &mut chain,
        "S1",
        WorkflowCall::ProvideInfo {
            application_id: "FA-1".into(),
            answer: "见附件".into(),
            documents: vec![Document { name: "发货单.pdf".into(), sm3: "0b".repeat(32) }],
        },
    );

    // 查验 first: approval before the invoice check is refused.
    let approve = WorkflowCall::ApproveFinancing {
        application_id: "FA-1".into(),
        discount_rate_bp: 450,
        agreement_ref: "BL-2026-1".into(),
    };
    assert_eq!(wf_refused(&mut chain, "BANK", approve.clone()), "WORKFLOW_INVOICES_NOT_CHECKED");
    wf(&mut chain, "BANK", WorkflowCall::CheckInvoices { application_id: "FA-1".into() });
    let approved = wf(&mut chain, "BANK", approve);
    let kinds: Vec<&str> = approved.events.iter().map(|e| e.kind.as_str()).collect();
    assert!(
        kinds.contains(&"VoucherFinanced")
            && kinds.contains(&"FinancingRegistered")
            && kinds.contains(&"FinancingApproved"),
        "one transaction does it all: {kinds:?}"
    );
    // Voucher to the funder, invoice locked, registration record.
    let v = voucher::load_voucher(&chain.state(), "YX-1").expect("read").expect("voucher");
    assert_eq!(v.holder, "BANK");
    let inv = invoice::load_invoice(&chain.state(), INV).expect("read").expect("invoice");
    assert_eq!(inv.available_for_financing(), inv.total_with_tax - 100_000_000);
    assert!(registration::export_registration_json(&chain.state(), "YX-1").expect("export").is_some());
    let Instance::Financing(a) = instance(&chain, "FA-1") else { panic!("financing") };
    let net = a.approval.clone().expect("approval").net_amount;
    assert_eq!(net, v.financing.expect("financing").net_amount);

    // Disbursement of exactly the net amount, then the supplier confirms.
    wf(
        &mut chain,
        "BANK",
        WorkflowCall::RecordDisbursement {
            application_id: "FA-1".into(),
            payment_ref: "CNAPS-20260303-0001".into(),
            amount: net.expect("clear net"),
        },
    );
    timer.poll(&mut chain);
    assert_eq!(read.inbox_for_org("S1")[0].state, "disbursed");
    assert_eq!(
        wf_refused(&mut chain, "BANK", WorkflowCall::ConfirmReceipt { application_id: "FA-1".into() }),
        "WORKFLOW_NOT_PARTY"
    );
    wf(&mut chain, "S1", WorkflowCall::ConfirmReceipt { application_id: "FA-1".into() });
    assert_eq!(state_of(&chain, "FA-1"), "completed");
    timer.poll(&mut chain);
    assert!(read.inbox_for_org("S1").is_empty());
    assert!(read.inbox_for_org("BANK").is_empty());

    // The audit trail: who, when, what, which transaction — from application to confirmation.
    let trail = read.audit_trail("FA-1");
    let actions: Vec<&str> = trail.iter().map(|e| e.action.as_str()).filter(|a| !a.is_empty()).collect();
    assert_eq!(
        actions,
        vec![
            "ApplyFinancing",
            "RequestInfo",
            "ProvideInfo",
            "CheckInvoices",
            "ApproveFinancing",
            "RecordDisbursement",
            "ConfirmReceipt"
        ]
    );
    let first = trail.iter().find(|e| e.action == "ApplyFinancing").expect("apply");
    assert_eq!(first.tx_id, applied.tx_id.to_hex());
    assert_eq!(first.actor_org, "S1");
    assert_eq!(first.signer, key("S1").address().to_hex());
    assert!(trail.iter().any(|e| e.kind == "VoucherFinanced"), "the financing itself is in the trail");
    // No deadline timer is left pending.
    assert!(timer
        .store()
        .tasks()
        .expect("tasks")
        .iter()
        .filter(|t| t.id.starts_with("expire/FA-1/"))
        .all(|t| !matches!(t.state, scf_workflows::TaskState::Scheduled)));
}

#[test]
fn rejection_and_a_reversed_invoice_block_approval_and_free_the_voucher() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, mut timer) = setup(dir.path());
    let read = ReadModel::new(&chain);
    wf(&mut chain, "S1", apply("FA-2", "YX-1", 500));
    // A red-letter reversal of the backing invoice: 查验 answers `reversed`, the check fails and is on
    // chain for everyone to see, and approval is refused.
    chain.ok(
        &key("S1"),
        &InvoiceCall::Reverse {
            number: INV.into(),
            red_number: "26312000000000000099".into(),
            amount_with_tax: 1_000_000,
            reason: "部分退货".into(),
        },
    );
    wf(&mut chain, "BANK", WorkflowCall::CheckInvoices { application_id: "FA-2".into() });
    let Instance::Financing(a) = instance(&chain, "FA-2") else { panic!("financing") };
    let check = a.invoice_check.expect("check recorded");
    assert!(!check.passed);
    assert_eq!(check.lines[0].result, "reversed");
    assert_eq!(
        wf_refused(
            &mut chain,
            "BANK",
            WorkflowCall::ApproveFinancing {
                application_id: "FA-2".into(),
                discount_rate_bp: 450,
                agreement_ref: "BL-2".into()
            }
        ),
        "WORKFLOW_INVOICES_NOT_CHECKED"
    );
    wf(
        &mut chain,
        "BANK",
        WorkflowCall::RejectFinancing { application_id: "FA-2".into(), reason: "发票已红冲".into() },
    );
    assert_eq!(state_of(&chain, "FA-2"), "rejected");
    assert!(voucher::load_voucher(&chain.state(), "YX-1").expect("read").expect("v").offer.is_none());
    // Once rejected, nothing more happens to it.
    assert_eq!(
        wf_refused(&mut chain, "BANK", WorkflowCall::CheckInvoices { application_id: "FA-2".into() }),
        "WORKFLOW_TRANSITION_NOT_ALLOWED"
    );
    timer.poll(&mut chain);
    assert!(read.inbox_for_org("BANK").is_empty());
    assert!(read.instance("FA-2").expect("instance").terminal);
    // The supplier is free to move the voucher again.
    chain.ok(&key("S1"), &VoucherCall::Transfer { voucher_id: "YX-1".into(), to: "S2".into() });
}

#[test]
fn the_funders_deadline_expires_once_by_block_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, mut timer) = setup(dir.path());
    let read = ReadModel::new(&chain);
    wf(&mut chain, "S1", apply("FA-3", "YX-1", 500));
    let (fired, _) = timer.poll(&mut chain);
    assert!(fired.is_empty());
    let deadline =
        read.instance("FA-3").expect("instance").deadline_ms.and_then(|d| u64::try_from(d).ok()).expect("deadline");

    // Four days on: nothing fires (block time is before the deadline).
    chain.set_date("2026-03-06");
    chain.block(vec![]);
    assert!(timer.poll(&mut chain).0.is_empty());
    // The timer cannot jump the gun on chain either.
    assert_eq!(
        wf_refused(
            &mut chain,
            "OPS",
            WorkflowCall::Expire { application_id: "FA-3".into(), deadline: DeadlineKind::Step }
        ),
        "WORKFLOW_NOT_EXPIRED"
    );

    // Past the deadline: the funder can no longer act, the timer fires Expire once.
    chain.set_date("2026-03-08");
    chain.block(vec![]);
    assert!(chain.tip().time_ms > deadline);
    assert_eq!(
        wf_refused(&mut chain, "BANK", WorkflowCall::CheckInvoices { application_id: "FA-3".into() }),
        "WORKFLOW_DEADLINE_PASSED"
    );
    let (fired, receipts) = timer.poll(&mut chain);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(receipts.len(), 1);
    assert!(receipts[0].is_success(), "{:?}", receipts[0].outcome);
    assert!(receipts[0].events.iter().any(|e| e.kind == "FinancingExpired"));
    assert!(receipts[0].events.iter().any(|e| e.kind == "FinancingOfferCancelled"), "voucher reservation withdrawn");
    assert_eq!(state_of(&chain, "FA-3"), "expired");
    // Polling again fires nothing; a manual second Expire is refused.
    chain.set_date("2026-03-09");
    chain.block(vec![]);
    assert!(timer.poll(&mut chain).0.is_empty());
    assert_eq!(
        wf_refused(
            &mut chain,
            "REG",
            WorkflowCall::Expire { application_id: "FA-3".into(), deadline: DeadlineKind::Step }
        ),
        "WORKFLOW_TRANSITION_NOT_ALLOWED"
    );
    let task =
        timer.store().tasks().expect("tasks").into_iter().find(|t| t.id.starts_with("expire/FA-3/")).expect("task");
    assert!(
        matches!(task.state, scf_workflows::TaskState::Done { ref outcome, .. } if outcome == "success"),
        "{task:?}"
    );
    // The voucher is free again and a new application is possible.
    wf(&mut chain, "S1", apply("FA-4", "YX-1", 500));
}

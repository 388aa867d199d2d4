//! Maturity and clearing: reminders before the due date to the obligor and the holders, payment and
//! clearing that cancel the escalation, and an unpaid tree escalated once after its due date — marked
//! overdue and announced to the funder holding a financed part and to the regulator.

mod workflow_support;

use scf_domain::voucher::{self, SplitPart, VoucherCall};
use scf_domain::workflow::{self, WorkflowCall};
use scf_workflows::TaskState;
use workflow_support::*;

#[test]
fn reminders_then_overdue_escalation_to_funder_and_regulator_and_payment_cancels_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = scf_tests::TestChain::new(&dir.path().join("chain"), "2026-03-02", ORGS);
    let mut timer = Timer::start(dir.path().join("timers.redb"), "OPS");
    signed_voucher(&mut chain, "YX-M1", "26312000000000000021", 80_000_000, "2026-05-29");
    signed_voucher(&mut chain, "YX-M2", "26312000000000000022", 20_000_000, "2026-05-29");
    // S1 passes half of YX-M1 to S2, who sells it to BANK.
    chain.ok(
        &key("S1"),
        &VoucherCall::Split {
            voucher_id: "YX-M1".into(),
            parts: vec![
                SplitPart { to: "S2".into(), amount: 40_000_000 },
                SplitPart { to: "S1".into(), amount: 40_000_000 },
            ],
        },
    );
    chain.ok(&key("S2"), &VoucherCall::SignFor { voucher_id: "YX-M1.1".into() });
    chain.ok(
        &key("S2"),
        &VoucherCall::OfferFinancing {
            voucher_id: "YX-M1.1".into(),
            funder: "BANK".into(),
            discount_rate_bp: 400,
            agreement_ref: "BL-M".into(),
        },
    );
    chain.ok(&key("BANK"), &VoucherCall::AcceptFinancing { voucher_id: "YX-M1.1".into() });
    timer.poll(&mut chain);
    let tasks: Vec<String> = timer.store().tasks().expect("tasks").into_iter().map(|t| t.id).collect();
    assert!(
        tasks.contains(&"remind/YX-M1/007".to_string()) && tasks.contains(&"escalate/YX-M1".to_string()),
        "{tasks:?}"
    );
    // Not due yet: the obligor's inbox is empty.
    assert!(timer.store().inbox_for_org("CORE").expect("inbox").is_empty());

    // Seven days before: reminders to the obligor (inbox) and every holder (notices).
    chain.set_date("2026-05-22");
    chain.block(vec![]);
    let (fired, receipts) = timer.poll(&mut chain);
    assert!(receipts.is_empty(), "reminders need no transaction");
    assert_eq!(fired, vec!["remind/YX-M1/007".to_string(), "remind/YX-M2/007".to_string()]);
    let inbox: Vec<String> = timer.store().inbox_for_org("CORE").expect("inbox").into_iter().map(|i| i.id).collect();
    assert_eq!(inbox, vec!["YX-M1".to_string(), "YX-M2".to_string()]);
    for org in ["CORE", "S1", "BANK"] {
        assert!(
            timer
                .store()
                .notices(org)
                .expect("notices")
                .iter()
                .any(|n| n.kind == "MaturityReminder" && n.subject == "YX-M1"),
            "{org} reminded"
        );
    }

    // Escalation cannot be forced early.
    assert_eq!(
        wf_refused(&mut chain, "OPS", WorkflowCall::EscalateOverdue { root_id: "YX-M1".into() }),
        "WORKFLOW_NOT_OVERDUE"
    );
    // On the due date the obligor pays YX-M2: clearing, and its escalation is cancelled.
    chain.set_date("2026-05-29");
    let paid =
        chain.ok(&key("CORE"), &VoucherCall::RecordPayment { root_id: "YX-M2".into(), payment_ref: "PAY-M2".into() });
    assert!(paid.events.iter().any(|e| e.kind == "ClearingOwed"));
    timer.poll(&mut chain);
    let esc2 = timer.store().task("escalate/YX-M2").expect("read").expect("task");
    assert!(matches!(esc2.state, TaskState::Cancelled { .. }), "{esc2:?}");
    assert_eq!(timer.store().inbox_for_org("CORE").expect("inbox").len(), 1);

    // YX-M1 stays unpaid past its due date: escalated once by the timer.
    chain.set_date("2026-05-30");
    chain.block(vec![]);
    let (fired, receipts) = timer.poll(&mut chain);
    assert_eq!(fired, vec!["escalate/YX-M1".to_string()]);
    let r = &receipts[0];
    assert!(r.is_success(), "{:?}", r.outcome);
    assert!(r.events.iter().any(|e| e.kind == "VoucherOverdue"));
    let esc = r.events.iter().find(|e| e.kind == "OverdueEscalated").expect("escalation event");
    let orgs: Vec<&str> = esc.attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.as_str()).collect();
    for org in ["CORE", "S1", "BANK", "REG"] {
        assert!(orgs.contains(&org), "{org} told: {orgs:?}");
    }
    assert!(timer.store().notices("REG").expect("notices").iter().any(|n| n.kind == "OverdueEscalated"));
    assert!(timer.store().notices("BANK").expect("notices").iter().any(|n| n.kind == "OverdueEscalated"));
    assert_eq!(timer.store().instance("YX-M1").expect("read").expect("view").state, "overdue");
    assert!(workflow::load_escalation(&chain.state(), "YX-M1").expect("read").is_some());
    assert!(voucher::is_overdue(&chain.state(), "YX-M1", date("2026-05-30")).expect("read"));
    // Once only.
    assert_eq!(
        wf_refused(&mut chain, "REG", WorkflowCall::EscalateOverdue { root_id: "YX-M1".into() }),
        "WORKFLOW_ALREADY_ESCALATED"
    );
    chain.set_date("2026-06-02");
    chain.block(vec![]);
    assert!(timer.poll(&mut chain).0.is_empty());

    // Late payment clears it and empties the obligor's inbox.
    chain.ok(&key("CORE"), &VoucherCall::RecordPayment { root_id: "YX-M1".into(), payment_ref: "PAY-M1".into() });
    timer.poll(&mut chain);
    assert!(timer.store().inbox_for_org("CORE").expect("inbox").is_empty());
    let trail = timer.store().audit_trail("YX-M1").expect("audit");
    for kind in ["VoucherIssued", "VoucherFinanced", "OverdueEscalated", "VoucherPaid"] {
        assert!(trail.iter().any(|e| e.kind == kind), "{kind} in the maturity trail");
    }
}

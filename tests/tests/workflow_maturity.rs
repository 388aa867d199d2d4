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
    let read = ReadModel::new(&chain);
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
    assert!(tasks.contains(&"escalate/YX-M1".to_string()), "{tasks:?}");
    // Not due yet: nobody is reminded.
    assert!(read.notices("CORE").is_empty());

    // Seven days before: reminders to the obligor and every holder, from block time alone.
    chain.set_date("2026-05-22");
    chain.block(vec![]);
    let (fired, receipts) = timer.poll(&mut chain);
    assert!(fired.is_empty() && receipts.is_empty(), "reminders need no timer and no transaction");
    let reminded = |org: &str| -> Vec<String> {
        let mut ids: Vec<String> =
            read.notices(org).into_iter().filter(|n| n.kind == "MaturityReminder").map(|n| n.id).collect();
        ids.sort();
        ids
    };
    assert_eq!(reminded("CORE"), vec!["remind/YX-M1/007".to_string(), "remind/YX-M2/007".to_string()]);
    for org in ["S1", "BANK"] {
        assert!(reminded(org).contains(&"remind/YX-M1/007".to_string()), "{org} reminded");
    }
    assert_eq!(reminded("S2"), Vec::<String>::new(), "S2 sold its part to BANK and holds nothing");

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
    // The day before: the second reminder, for the unpaid tree only, once.
    assert_eq!(
        reminded("CORE"),
        vec!["remind/YX-M1/001", "remind/YX-M1/007", "remind/YX-M2/007"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    );

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
    assert!(read.notices("REG").iter().any(|n| n.kind == "OverdueEscalated"));
    assert!(read.notices("BANK").iter().any(|n| n.kind == "OverdueEscalated"));
    assert_eq!(read.instance("YX-M1").expect("instance").state, "overdue");
    assert_eq!(read.inbox_for_org("CORE").into_iter().map(|i| i.id).collect::<Vec<_>>(), vec!["YX-M1".to_string()]);
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
    assert!(read.inbox_for_org("CORE").is_empty());
    assert_eq!(read.instance("YX-M1").expect("instance").state, "cleared");
    let trail = read.audit_trail("YX-M1");
    for kind in ["VoucherIssued", "VoucherFinanced", "OverdueEscalated", "VoucherPaid"] {
        assert!(trail.iter().any(|e| e.kind == kind), "{kind} in the maturity trail");
    }
}

//! Warehouse-receipt pledge financing across organisations: the depositor applies, the warehouse
//! confirms goods and IoT status, the funder approves within the pledge rate (the pledge lock is taken
//! in the same transaction); an alert flagging the pledged receipt opens a margin call for the funder
//! and notifies the depositor; repayment and release. Also rejection by the warehouse, and a margin
//! call left unanswered is escalated to the regulator by the timer.

mod workflow_support;

use scf_domain::warehouse::{self, GoodsIdentity, ReceiptTerms, StorageLocation, WarehouseCall};
use scf_domain::workflow::{Instance, IotSnapshot, IotStatus, WorkflowCall};
use scf_tests::TestChain;
use workflow_support::*;

fn terms(number: &str, bin: &str) -> ReceiptTerms {
    ReceiptTerms {
        number: number.into(),
        depositor: "DEP".into(),
        goods_name: "电解铜".into(),
        spec: "Cu-CATH-1".into(),
        unit: "kg".into(),
        quantity: 25_000,
        packaging: "捆".into(),
        location: StorageLocation { warehouse: "SH-YS-01".into(), zone: "A".into(), bin: bin.into() },
        identity: GoodsIdentity::Lot { lot: format!("CU-{bin}") },
        insurance: None,
        valid_until: date("2026-12-31"),
        rights_notice: "本仓单可背书转让、质押；质押期间不得提货。".into(),
    }
}

fn apply(id: &str, receipt: &str) -> WorkflowCall {
    WorkflowCall::ApplyPledge {
        application_id: id.into(),
        receipt: receipt.into(),
        funder: "BANK".into(),
        requested_amount: 100_000_000,
        currency: "CNY".into(),
        documents: vec![],
    }
}

fn iot(status: IotStatus) -> IotSnapshot {
    IotSnapshot {
        status,
        devices: vec!["DEV-T-07".into(), "DEV-W-07".into()],
        observed_ms: 1_772_000_000_000,
        summary: "温度 18.2 °C，称重 25 003 kg，无告警".into(),
    }
}

fn setup(dir: &std::path::Path) -> (TestChain, Timer) {
    let mut chain = TestChain::new(&dir.join("chain"), "2026-03-02", ORGS);
    chain.ok(&key("WH"), &WarehouseCall::Issue { terms: terms("WR-1", "07") });
    chain.ok(&key("WH"), &WarehouseCall::Issue { terms: terms("WR-2", "08") });
    (chain, Timer::start(dir.join("timers.redb"), "OPS"))
}

#[test]
fn pledge_approved_within_the_rate_margin_call_on_alert_then_repaid_and_released() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, mut timer) = setup(dir.path());
    let read = ReadModel::new(&chain);
    assert_eq!(wf_refused(&mut chain, "S1", apply("PL-1", "WR-1")), "WORKFLOW_NOT_PARTY");
    wf(&mut chain, "DEP", apply("PL-1", "WR-1"));
    timer.poll(&mut chain);
    assert_eq!(read.inbox_for_org("WH")[0].id, "PL-1");

    // The funder cannot approve before the warehouse confirmed the goods.
    let approve = |loan| WorkflowCall::ApprovePledge {
        application_id: "PL-1".into(),
        loan_amount: loan,
        pledge_rate_bp: 7_000,
        due: date("2026-06-30"),
        agreement_ref: "ZY-2026-01".into(),
    };
    assert_eq!(wf_refused(&mut chain, "BANK", approve(100_000_000)), "WORKFLOW_TRANSITION_NOT_ALLOWED");
    assert_eq!(
        wf_refused(
            &mut chain,
            "BANK",
            WorkflowCall::ConfirmGoods { application_id: "PL-1".into(), goods_value: 1, iot: iot(IotStatus::Normal) }
        ),
        "WORKFLOW_NOT_PARTY"
    );
    // Goods worth 1 700 000.00 yuan, sensors normal.
    wf(
        &mut chain,
        "WH",
        WorkflowCall::ConfirmGoods {
            application_id: "PL-1".into(),
            goods_value: 170_000_000,
            iot: iot(IotStatus::Normal),
        },
    );
    timer.poll(&mut chain);
    assert_eq!(read.inbox_for_org("BANK")[0].id, "PL-1");
    // 70 % of 1 700 000.00 = 1 190 000.00: a loan above it is refused, one within it pledges the receipt.
    assert_eq!(wf_refused(&mut chain, "BANK", approve(119_000_001)), "WORKFLOW_LOAN_ABOVE_PLEDGE_RATE");
    let r = wf(&mut chain, "BANK", approve(119_000_000));
    assert!(r.events.iter().any(|e| e.kind == "ReceiptPledged"));
    let receipt = warehouse::load_receipt(&chain.state(), "WR-1").expect("read").expect("receipt");
    assert_eq!(
        receipt.pledge.as_ref().map(|p| (p.funder.as_str(), p.amount.as_ref().map(|m| m.fen))),
        Some(("BANK", Some(119_000_000)))
    );
    timer.poll(&mut chain);
    assert_eq!(read.inbox_for_org("DEP")[0].state, "pledged");

    // An IoT alert flags the pledged receipt: the warehouse module emits MarginCall; the timer service
    // opens the margin-call task for the funder and the depositor is notified.
    chain.set_date("2026-04-01");
    chain
        .ok(&key("WH"), &WarehouseCall::Flag { number: "WR-1".into(), reason: "称重下降 3 %（DEV-W-07 告警）".into() });
    let (fired, receipts) = timer.poll(&mut chain);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(receipts[0].is_success(), "{:?}", receipts[0].outcome);
    let Instance::Pledge(a) = instance(&chain, "PL-1") else { panic!("pledge") };
    assert_eq!(a.open_margin_call().map(|m| m.state.as_str()), Some("open"));
    let bank_inbox = read.inbox_for_org("BANK");
    assert!(bank_inbox.iter().any(|i| i.id == "PL-1#MC1" && i.process == "margin_call"), "{bank_inbox:?}");
    assert!(read.notices("DEP").iter().any(|n| n.kind == "MarginCallOpened"));
    // A second margin call while one is open is refused.
    assert_eq!(
        wf_refused(
            &mut chain,
            "OPS",
            WorkflowCall::OpenMarginCall { application_id: "PL-1".into(), reason: "again".into() }
        ),
        "WORKFLOW_MARGIN_CALL_OPEN"
    );
    wf(
        &mut chain,
        "BANK",
        WorkflowCall::ResolveMarginCall {
            application_id: "PL-1".into(),
            resolution: "存货人追加保证金 50 000.00 元".into(),
        },
    );
    timer.poll(&mut chain);
    assert!(!read.inbox_for_org("BANK").iter().any(|i| i.id == "PL-1#MC1"));

    // Repayment by the depositor, release by the funder.
    assert_eq!(
        wf_refused(&mut chain, "BANK", WorkflowCall::ReleasePledge { application_id: "PL-1".into() }),
        "WORKFLOW_TRANSITION_NOT_ALLOWED"
    );
    wf(
        &mut chain,
        "DEP",
        WorkflowCall::RecordRepayment { application_id: "PL-1".into(), payment_ref: "HK-0001".into() },
    );
    wf(&mut chain, "BANK", WorkflowCall::ReleasePledge { application_id: "PL-1".into() });
    assert_eq!(state_of(&chain, "PL-1"), "released");
    assert!(warehouse::load_receipt(&chain.state(), "WR-1").expect("read").expect("receipt").pledge.is_none());
    timer.poll(&mut chain);
    let trail = read.audit_trail("PL-1");
    assert!(trail.iter().any(|e| e.action == "ReleasePledge"));
    assert!(trail.iter().any(|e| e.kind == "PledgeReleased"), "the release itself is in the trail: {trail:?}");
}

#[test]
fn warehouse_rejects_and_an_alert_status_blocks_approval() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, _timer) = setup(dir.path());
    wf(&mut chain, "DEP", apply("PL-2", "WR-1"));
    wf(&mut chain, "WH", WorkflowCall::RejectPledge { application_id: "PL-2".into(), reason: "货物不符".into() });
    assert_eq!(state_of(&chain, "PL-2"), "rejected");

    wf(&mut chain, "DEP", apply("PL-3", "WR-2"));
    wf(
        &mut chain,
        "WH",
        WorkflowCall::ConfirmGoods {
            application_id: "PL-3".into(),
            goods_value: 170_000_000,
            iot: iot(IotStatus::Alert),
        },
    );
    assert_eq!(
        wf_refused(
            &mut chain,
            "BANK",
            WorkflowCall::ApprovePledge {
                application_id: "PL-3".into(),
                loan_amount: 1_000,
                pledge_rate_bp: 5_000,
                due: date("2026-06-30"),
                agreement_ref: "ZY-3".into()
            }
        ),
        "WORKFLOW_IOT_ALERT"
    );
    wf(&mut chain, "BANK", WorkflowCall::RejectPledge { application_id: "PL-3".into(), reason: "传感器告警".into() });
    assert_eq!(state_of(&chain, "PL-3"), "rejected");
}

#[test]
fn the_depositor_withdraws_before_the_funder_decides_and_only_the_depositor_may() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, _timer) = setup(dir.path());
    let withdraw =
        |id: &str| WorkflowCall::WithdrawPledge { application_id: id.into(), reason: "改用其他融资".into() };
    wf(&mut chain, "DEP", apply("PL-W1", "WR-1"));
    assert_eq!(wf_refused(&mut chain, "WH", withdraw("PL-W1")), "WORKFLOW_NOT_PARTY");
    wf(&mut chain, "DEP", withdraw("PL-W1"));
    assert_eq!(state_of(&chain, "PL-W1"), "withdrawn");
    assert_eq!(wf_refused(&mut chain, "DEP", withdraw("PL-W1")), "WORKFLOW_TRANSITION_NOT_ALLOWED");

    // After the goods are confirmed too; once the loan is approved it is too late.
    wf(&mut chain, "DEP", apply("PL-W2", "WR-2"));
    let confirm = WorkflowCall::ConfirmGoods {
        application_id: "PL-W2".into(),
        goods_value: 170_000_000,
        iot: iot(IotStatus::Normal),
    };
    wf(&mut chain, "WH", confirm);
    wf(&mut chain, "DEP", withdraw("PL-W2"));
    assert_eq!(state_of(&chain, "PL-W2"), "withdrawn");
    wf(&mut chain, "DEP", apply("PL-W3", "WR-2"));
    let confirm = WorkflowCall::ConfirmGoods {
        application_id: "PL-W3".into(),
        goods_value: 170_000_000,
        iot: iot(IotStatus::Normal),
    };
    wf(&mut chain, "WH", confirm);
    let approve = WorkflowCall::ApprovePledge {
        application_id: "PL-W3".into(),
        loan_amount: 100_000_000,
        pledge_rate_bp: 7_000,
        due: date("2026-06-30"),
        agreement_ref: "ZY-W3".into(),
    };
    wf(&mut chain, "BANK", approve);
    assert_eq!(wf_refused(&mut chain, "DEP", withdraw("PL-W3")), "WORKFLOW_TRANSITION_NOT_ALLOWED");
}

#[test]
fn an_unanswered_margin_call_is_escalated_to_the_regulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut chain, mut timer) = setup(dir.path());
    let read = ReadModel::new(&chain);
    wf(&mut chain, "DEP", apply("PL-4", "WR-1"));
    wf(
        &mut chain,
        "WH",
        WorkflowCall::ConfirmGoods {
            application_id: "PL-4".into(),
            goods_value: 100_000_000,
            iot: iot(IotStatus::Normal),
        },
    );
    wf(
        &mut chain,
        "BANK",
        WorkflowCall::ApprovePledge {
            application_id: "PL-4".into(),
            loan_amount: 50_000_000,
            pledge_rate_bp: 6_000,
            due: date("2026-06-30"),
            agreement_ref: "ZY-4".into(),
        },
    );
    chain.ok(&key("WH"), &WarehouseCall::Flag { number: "WR-1".into(), reason: "温度超限".into() });
    timer.poll(&mut chain);
    // Three days on without an answer: the timer escalates it once.
    chain.set_date("2026-03-10");
    chain.block(vec![]);
    let (fired, receipts) = timer.poll(&mut chain);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert!(receipts[0]
        .events
        .iter()
        .any(|e| e.kind == "MarginCallEscalated" && e.attributes.iter().any(|(k, v)| k == "org" && v == "REG")));
    assert!(read.notices("REG").iter().any(|n| n.kind == "MarginCallEscalated"));
    let Instance::Pledge(a) = instance(&chain, "PL-4") else { panic!("pledge") };
    assert_eq!(a.margin_calls[0].state, "escalated");
    assert!(timer.poll(&mut chain).0.is_empty());
}

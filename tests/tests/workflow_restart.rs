//! Timers survive restarts and fire exactly once: a deadline pending while the service is stopped
//! fires once after the restart; another restart fires nothing; a fire whose transaction was lost
//! (crash between recording and inclusion) is not repeated until that transaction can no longer be
//! included; and a second service (another node) firing the same deadline changes nothing on chain.

mod workflow_support;

use scf_domain::workflow::{Document, WorkflowCall};
use scf_tests::TestChain;
use scf_workflows::TaskState;
use workflow_support::*;

fn apply(id: &str) -> WorkflowCall {
    WorkflowCall::ApplyFinancing {
        application_id: id.into(),
        voucher_id: "YX-R".into(),
        funder: "BANK".into(),
        requested_rate_bp: 500,
        documents: vec![Document { name: "申请书.pdf".into(), sm3: "0c".repeat(32) }],
    }
}

fn count_expired(chain: &TestChain, id: &str) -> usize {
    let mut n = 0;
    for h in 1..=chain.tip().height {
        let block = chain.store().block(h).expect("read").expect("block");
        for tx in &block.txs {
            let r = chain.store().receipt(&tx.id()).expect("read").expect("receipt");
            n +=
                r.events.iter().filter(|e| e.kind == "FinancingExpired" && e.attribute("instance") == Some(id)).count();
        }
    }
    n
}

#[test]
fn a_deadline_passed_while_stopped_fires_once_after_restart_and_never_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = TestChain::new(&dir.path().join("chain"), "2026-03-02", ORGS);
    signed_voucher(&mut chain, "YX-R", "26312000000000000011", 50_000_000, "2026-07-01");
    let mut timer = Timer::start(dir.path().join("timers.redb"), "OPS");
    wf(&mut chain, "S1", apply("FA-R"));
    timer.poll(&mut chain);
    let task =
        timer.store().tasks().expect("tasks").into_iter().find(|t| t.id.starts_with("expire/FA-R/")).expect("task");
    assert_eq!(task.state, TaskState::Scheduled);

    // The service stops; block time moves past the deadline while it is down.
    timer.stop();
    chain.set_date("2026-03-09");
    chain.block(vec![]);
    chain.set_date("2026-03-10");
    chain.block(vec![]);
    assert_eq!(state_of(&chain, "FA-R"), "submitted", "nothing fires while the service is down");

    // Restart: it catches up from its stored height and fires the deadline once.
    timer.restart();
    let (fired, receipts) = timer.poll(&mut chain);
    assert_eq!(fired, vec![task.id.clone()]);
    assert!(receipts.iter().all(|r| r.is_success()));
    assert_eq!(state_of(&chain, "FA-R"), "expired");
    assert_eq!(count_expired(&chain, "FA-R"), 1);

    // Restart again, more blocks: nothing more fires.
    timer.restart();
    chain.set_date("2026-03-12");
    chain.block(vec![]);
    let (fired, _) = timer.poll(&mut chain);
    assert!(fired.is_empty(), "{fired:?}");
    assert_eq!(count_expired(&chain, "FA-R"), 1);
    let task = timer.store().task(&task.id).expect("read").expect("task");
    assert!(matches!(task.state, TaskState::Done { .. }), "{task:?}");

    // Another node's service, with its own schedule, fires the same (already applied) deadline only if
    // it had it pending: here it replays the chain, sees the instance is expired and schedules nothing.
    let mut other = Timer::start(dir.path().join("other.redb"), "REG");
    let (fired, _) = other.poll(&mut chain);
    assert!(fired.is_empty(), "{fired:?}");
    assert_eq!(count_expired(&chain, "FA-R"), 1);
}

#[test]
fn a_fired_timer_whose_transaction_was_lost_is_retried_once_after_its_expiry_height() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut chain = TestChain::new(&dir.path().join("chain"), "2026-03-02", ORGS);
    signed_voucher(&mut chain, "YX-R", "26312000000000000012", 50_000_000, "2026-07-01");
    let mut timer = Timer::start(dir.path().join("timers.redb"), "OPS");
    // A second service on another node, that will race the first on chain.
    let mut other = Timer::start(dir.path().join("other.redb"), "REG");
    wf(&mut chain, "S1", apply("FA-L"));
    timer.poll(&mut chain);
    other.poll(&mut chain);
    chain.set_date("2026-03-09");
    chain.block(vec![]);

    // The first service fires, records it, and "crashes" before its transaction reaches a block.
    let mut svc = scf_workflows::TimerService::new(
        scf_workflows::WorkflowStore::open(&dir.path().join("lost.redb")).expect("open"),
        key("OPS"),
    );
    // (a fresh schedule file stands for the crashed process' own state; replay builds the same tasks)
    let first = run(svc.poll(&chain.chain)).expect("poll");
    assert_eq!(first.submitted.len(), 1);
    chain.chain.discard_pending();
    drop(svc);
    let mut svc = scf_workflows::TimerService::new(
        scf_workflows::WorkflowStore::open(&dir.path().join("lost.redb")).expect("reopen"),
        key("OPS"),
    );
    // Restarted: the task is recorded as fired, so it is not fired again while its tx could still land.
    let again = run(svc.poll(&chain.chain)).expect("poll");
    assert!(again.fired.is_empty(), "{:?}", again.fired);
    // Past the lost transaction's expiry height it is fired once more.
    for _ in 0..=scf_workflows::service::TX_VALIDITY_BLOCKS {
        chain.block(vec![]);
    }
    let retry = run(svc.poll(&chain.chain)).expect("poll");
    assert_eq!(retry.submitted.len(), 1);
    // Meanwhile the other node's service fires too; both transactions land in the same block: the
    // first expires the application, the second is refused — one on-chain effect.
    let other_fired = {
        let mut o = scf_workflows::TimerService::new(
            scf_workflows::WorkflowStore::open(&dir.path().join("other2.redb")).expect("open"),
            key("REG"),
        );
        run(o.poll(&chain.chain)).expect("poll").fired
    };
    assert_eq!(other_fired.len(), 1);
    let receipts = chain.chain.produce().expect("block").expect("both transactions").receipts.clone();
    assert_eq!(receipts.len(), 2);
    assert_eq!(receipts.iter().filter(|r| r.is_success()).count(), 1, "{receipts:?}");
    assert_eq!(state_of(&chain, "FA-L"), "expired");
    assert_eq!(count_expired(&chain, "FA-L"), 1);
}

//! Maturity (兑付): the obligor pays with the voucher module's `RecordPayment`; after the due date an
//! unpaid tree is escalated once — recorded overdue in the voucher module and announced to the obligor,
//! every holder (the funders holding financed vouchers among them) and the regulator.

use std::collections::BTreeSet;

use scf_ledger::module::{Event, TxContext};
use scf_ledger::state::{StateRead, StateWrite};

use super::definitions::{Party, MATURITY};
use super::*;
use crate::voucher::{self, VoucherCall, VoucherModule};

fn escalation_key(root: &str) -> String {
    format!("workflow/esc/{root}")
}

/// When an overdue tree was escalated, if it was.
pub fn load_escalation(state: &dyn StateRead, root_id: &str) -> std::result::Result<Option<Date>, StoreError> {
    if root_id.is_empty() || root_id.len() > 128 {
        return Ok(None);
    }
    kv::get(state, &escalation_key(root_id))
}

pub(super) fn escalate(ctx: &TxContext, state: &mut dyn StateWrite, root_id: String) -> Result<Vec<Event>> {
    let tr = transition(&MATURITY, &root_id, "outstanding", "EscalateOverdue")?;
    let actor = require_party(state, ctx, &root_id, tr.actor, "")?.id;
    if let Some(date) = load_escalation(state, &root_id)? {
        return Err(WorkflowError::AlreadyEscalated { root: root_id, date });
    }
    let today = Date::from_time_ms(ctx.time_ms);
    let tree = voucher::load_tree(state, &root_id)?.ok_or_else(|| VoucherError::NotFound { id: root_id.clone() })?;
    if !voucher::is_overdue(state, &root_id, today)? {
        let reason =
            if tree.payment.is_some() { "paid".to_string() } else { format!("not past its due date on {today}") };
        return Err(WorkflowError::NotOverdue { root: root_id, reason });
    }
    let mut events = Vec::new();
    if tree.overdue_marked_on.is_none() {
        events.extend(VoucherModule::apply(ctx, state, VoucherCall::MarkOverdue { root_id: root_id.clone() })?);
    }
    kv::put(state, &escalation_key(&root_id), &today);
    let mut holders = BTreeSet::new();
    let mut funders = BTreeSet::new();
    let mut outstanding: Fen = 0;
    let mut due = today;
    for v in voucher::lineage(state, &root_id)? {
        if v.parent_id.is_none() {
            due = v.due_date;
        }
        if v.is_live_leaf() {
            holders.insert(v.holder.clone());
            outstanding = outstanding.saturating_add(v.amount);
            if let Some(f) = &v.financing {
                funders.insert(f.funder.clone());
            }
        }
    }
    let regs = regulators(state)?;
    let mut orgs: Vec<&str> = vec![&tree.issuer];
    orgs.extend(holders.iter().map(String::as_str));
    orgs.extend(funders.iter().map(String::as_str));
    orgs.extend(regs.iter().map(String::as_str));
    events.push(workflow_event(
        "OverdueEscalated",
        Facts {
            process: "maturity",
            id: &root_id,
            state: tr.to,
            action: tr.call,
            actor: &actor,
            waiting: Some((Party::Obligor, &tree.issuer)),
            deadline_ms: None,
            orgs,
            extra: vec![("root", &root_id)],
        },
        &serde_json::json!({
            "root": root_id,
            "obligor": tree.issuer,
            "due_date": due,
            "outstanding": outstanding,
            "holders": holders,
            "funders": funders,
            "regulators": regs,
            "escalated_on": today,
        }),
    ));
    Ok(events)
}

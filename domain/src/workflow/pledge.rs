//! Warehouse-receipt pledge financing (仓单质押): depositor applies → warehouse confirms the goods, their
//! value and current IoT status → funder approves a loan within the pledge rate of the goods value and
//! the receipt is pledged in the same transaction → repayment → release. An IoT alert that flags the
//! pledged receipt opens a margin call for the funder and notifies the depositor.

use scf_ledger::module::{Event, TxContext};
use scf_ledger::state::{StateRead, StateWrite};

use super::definitions::{self, Party, MARGIN_CALL, PLEDGE};
use super::*;
use crate::money::{self, Money};
use crate::warehouse::{self, WarehouseCall, WarehouseModule};
use scf_ledger::confidential::Sealed;

const P: &str = "pledge";

fn load(state: &dyn StateRead, id: &str) -> Result<PledgeApplication> {
    match require_instance(state, id)? {
        Instance::Pledge(a) => Ok(a),
        Instance::Financing(_) => Err(WorkflowError::WrongProcess { id: id.into(), actual: "financing", expected: P }),
    }
}

fn party_org(a: &PledgeApplication, p: Party) -> &str {
    match p {
        Party::Warehouse => &a.warehouse,
        Party::Funder => &a.funder,
        _ => &a.depositor,
    }
}

fn commit(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    a: PledgeApplication,
    kind: &str,
    action: &str,
    actor: &str,
) -> Event {
    let mut a = a;
    a.updated_ms = ctx.time_ms;
    save_instance(state, &a.id.clone(), &Instance::Pledge(a.clone()));
    let waiting = PLEDGE.state(&a.state).and_then(|s| s.waiting_for).map(|p| (p, party_org(&a, p)));
    workflow_event(
        kind,
        Facts {
            process: P,
            id: &a.id,
            state: &a.state,
            action,
            actor,
            waiting,
            deadline_ms: a.deadline_ms,
            orgs: vec![&a.depositor, &a.warehouse, &a.funder],
            extra: vec![("receipt", &a.receipt)],
        },
        &a,
    )
}

fn advance(ctx: &TxContext, state: &dyn StateRead, a: &mut PledgeApplication, to: &str) -> Result<()> {
    a.state = to.to_string();
    a.deadline_ms = deadline_for(state, &PLEDGE, to, ctx.time_ms, a.approval.as_ref().map(|x| x.due))?;
    Ok(())
}

fn step(
    ctx: &TxContext,
    state: &dyn StateRead,
    id: &str,
    call: &'static str,
) -> Result<(PledgeApplication, &'static definitions::TransitionDef, String)> {
    let a = load(state, id)?;
    let tr = transition(&PLEDGE, id, &a.state, call)?;
    let org = require_party(state, ctx, id, tr.actor, party_org(&a, tr.actor))?;
    // Repayment stays possible after the loan's due date (the state becomes `overdue`, not closed).
    if tr.call != "RecordRepayment" {
        check_before_deadline(ctx, id, &a.state, a.deadline_ms)?;
    }
    Ok((a, tr, org.id))
}

#[allow(clippy::too_many_arguments)]
pub(super) fn apply(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    receipt: String,
    funder: String,
    requested_amount: Fen,
    currency: String,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    apply_with(ctx, state, id, receipt, funder, Figure::Clear(requested_amount), currency, documents)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn apply_sealed(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    receipt: String,
    funder: String,
    requested_amount: Sealed,
    currency: String,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    apply_with(ctx, state, id, receipt, funder, Figure::Sealed(requested_amount), currency, documents)
}

/// An amount a step records: in clear, or sealed ([`crate::terms::AmountTerms`]).
enum Figure {
    Clear(Fen),
    Sealed(Sealed),
}

#[allow(clippy::too_many_arguments)]
fn apply_with(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    receipt: String,
    funder: String,
    requested: Figure,
    currency: String,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    let tr = transition(&PLEDGE, &id, definitions::START, "ApplyPledge")?;
    check_new_id(state, &id)?;
    let r = warehouse::load_receipt(state, &receipt)?
        .ok_or_else(|| WarehouseError::NotFound { number: receipt.clone() })?;
    let depositor = require_party(state, ctx, &id, tr.actor, &r.holder)?;
    if !r.is_active() {
        return Err(WarehouseError::Inactive { number: receipt, state: "not active" }.into());
    }
    if let Some(p) = &r.pledge {
        return Err(WarehouseError::Pledged { number: receipt, funder: p.funder.clone() }.into());
    }
    if !crate::org::is_approved_funder(state, &funder)? {
        return Err(WarehouseError::FunderNotApproved { org: funder }.into());
    }
    let (requested_amount, sealed_requested_amount) = match requested {
        Figure::Clear(0) => return Err(invalid("requested_amount", "must be positive")),
        Figure::Clear(amount) => (Some(amount), None),
        // The depositor and the funder; the warehouse values the goods without seeing the request.
        Figure::Sealed(sealed) => {
            let scope = crate::terms::workflow_scope(&id, "request");
            crate::terms::check_sealed(state, "requested_amount", &scope, &sealed, &[&depositor.id, &funder])?;
            (None, Some(sealed))
        }
    };
    if !money::valid_currency(&currency) {
        return Err(invalid("currency", "must be an ISO 4217 code"));
    }
    check_documents("documents", &documents)?;
    let mut a = PledgeApplication {
        id,
        receipt,
        depositor: depositor.id.clone(),
        applicant_key: ctx.sender,
        warehouse: r.operator.clone(),
        funder,
        requested_amount,
        sealed_requested_amount,
        currency,
        documents,
        state: String::new(),
        deadline_ms: None,
        confirmation: None,
        approval: None,
        repayment: None,
        margin_calls: Vec::new(),
        rejection: None,
        created_ms: ctx.time_ms,
        updated_ms: ctx.time_ms,
    };
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "PledgeApplied", tr.call, &depositor.id)])
}

pub(super) fn confirm_goods(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    goods_value: Fen,
    iot: IotSnapshot,
) -> Result<Vec<Event>> {
    confirm_goods_with(ctx, state, id, Figure::Clear(goods_value), iot)
}

pub(super) fn confirm_goods_sealed(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    goods_value: Sealed,
    iot: IotSnapshot,
) -> Result<Vec<Event>> {
    confirm_goods_with(ctx, state, id, Figure::Sealed(goods_value), iot)
}

fn confirm_goods_with(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    goods_value: Figure,
    iot: IotSnapshot,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "ConfirmGoods")?;
    let (goods_value, sealed_goods_value) = match goods_value {
        Figure::Clear(0) => return Err(invalid("goods_value", "must be positive")),
        Figure::Clear(v) => (Some(v), None),
        // The depositor, the warehouse and the funder.
        Figure::Sealed(sealed) => {
            let scope = crate::terms::workflow_scope(&a.id, "goods");
            crate::terms::check_sealed(
                state,
                "goods_value",
                &scope,
                &sealed,
                &[&a.depositor, &a.warehouse, &a.funder],
            )?;
            (None, Some(sealed))
        }
    };
    text("iot.summary", &iot.summary)?;
    if iot.devices.len() > MAX_DEVICES {
        return Err(invalid("iot.devices", format!("at most {MAX_DEVICES} devices")));
    }
    let r = warehouse::load_receipt(state, &a.receipt)?
        .ok_or_else(|| WarehouseError::NotFound { number: a.receipt.clone() })?;
    if let Some(f) = &r.flag {
        return Err(WorkflowError::IotAlert { receipt: a.receipt, summary: f.reason.clone() });
    }
    if r.holder != a.depositor || !r.is_active() {
        return Err(invalid(
            "receipt",
            format!("{} is no longer an active receipt held by {}", a.receipt, a.depositor),
        ));
    }
    a.confirmation = Some(GoodsConfirmation {
        goods_value,
        sealed_goods_value,
        quantity: r.terms.quantity,
        unit: r.terms.unit.clone(),
        iot,
        date: crate::date::Date::from_time_ms(ctx.time_ms),
    });
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "PledgeGoodsConfirmed", tr.call, &actor)])
}

pub(super) fn reject(ctx: &TxContext, state: &mut dyn StateWrite, id: String, reason: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "RejectPledge")?;
    text("reason", &reason)?;
    a.rejection = Some(reason);
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "PledgeRejected", tr.call, &actor)])
}

pub(super) fn withdraw(ctx: &TxContext, state: &mut dyn StateWrite, id: String, reason: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "WithdrawPledge")?;
    text("reason", &reason)?;
    a.rejection = Some(format!("withdrawn by the applicant: {reason}"));
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "PledgeWithdrawn", tr.call, &actor)])
}

pub(super) fn approve(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    loan_amount: Fen,
    pledge_rate_bp: u32,
    due: crate::date::Date,
    agreement_ref: String,
) -> Result<Vec<Event>> {
    approve_with(ctx, state, id, Loan::Clear { loan_amount, pledge_rate_bp }, due, agreement_ref)
}

pub(super) fn approve_sealed(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    loan: Sealed,
    due: crate::date::Date,
    agreement_ref: String,
) -> Result<Vec<Event>> {
    approve_with(ctx, state, id, Loan::Sealed(loan), due, agreement_ref)
}

/// The approved loan: in clear, or sealed ([`crate::terms::LoanTerms`]).
enum Loan {
    Clear { loan_amount: Fen, pledge_rate_bp: u32 },
    Sealed(Sealed),
}

fn approve_with(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    loan: Loan,
    due: crate::date::Date,
    agreement_ref: String,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "ApprovePledge")?;
    text("agreement_ref", &agreement_ref)?;
    let conf = a.confirmation.clone().ok_or_else(|| WorkflowError::NotAllowed {
        id: id.clone(),
        state: "goods not confirmed".into(),
        call: "ApprovePledge",
    })?;
    if conf.iot.status == IotStatus::Alert {
        return Err(WorkflowError::IotAlert { receipt: a.receipt, summary: conf.iot.summary });
    }
    // The pledge lock, made on behalf of the depositor who applied: the warehouse rules check the
    // receipt is still theirs, active, not flagged (a later IoT alert), not frozen and not pledged.
    let depositor = on_behalf_of(ctx, &a.applicant_key);
    let (call, approval) = match loan {
        Loan::Clear { loan_amount, pledge_rate_bp } => {
            if pledge_rate_bp == 0 || pledge_rate_bp > 10_000 {
                return Err(invalid("pledge_rate_bp", "must be 1..=10000"));
            }
            if loan_amount == 0 {
                return Err(invalid("loan_amount", "must be positive"));
            }
            // A sealed goods value cannot be compared with a clear loan on chain.
            let Some(goods_value) = conf.goods_value else {
                return Err(WorkflowError::TermsMode {
                    field: "application_id",
                    id,
                    actual: "sealed",
                    use_call: "ApprovePledgeSealed",
                });
            };
            let max = money::apply_bp(goods_value, pledge_rate_bp).ok_or(invalid("goods_value", "amount overflows"))?;
            if loan_amount > max {
                return Err(WorkflowError::LoanAbovePledgeRate {
                    loan: loan_amount,
                    max,
                    rate_bp: pledge_rate_bp,
                    goods_value,
                });
            }
            let call = WarehouseCall::Pledge {
                number: a.receipt.clone(),
                funder: a.funder.clone(),
                amount: Money { fen: loan_amount, currency: a.currency.clone() },
                due,
            };
            (call, (Some(loan_amount), Some(pledge_rate_bp), None))
        }
        // The funder's API checked the loan against the pledge rate and the goods value before sealing
        // (crate::terms::LoanTerms::check); the depositor's API checks it again when it opens it.
        Loan::Sealed(sealed) => {
            let call = WarehouseCall::PledgeSealed {
                number: a.receipt.clone(),
                funder: a.funder.clone(),
                loan: sealed.clone(),
                due,
            };
            (call, (None, None, Some(sealed)))
        }
    };
    let mut events = WarehouseModule::apply(&depositor, state, call)?;
    let (loan_amount, pledge_rate_bp, sealed_loan) = approval;
    a.approval = Some(PledgeApproval {
        loan_amount,
        pledge_rate_bp,
        sealed_loan,
        due,
        agreement_ref,
        date: crate::date::Date::from_time_ms(ctx.time_ms),
    });
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "PledgeApproved", tr.call, &actor));
    Ok(events)
}

pub(super) fn record_repayment(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    payment_ref: String,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "RecordRepayment")?;
    text("payment_ref", &payment_ref)?;
    a.repayment = Some(Repayment { payment_ref, date: crate::date::Date::from_time_ms(ctx.time_ms) });
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "PledgeRepaid", tr.call, &actor)])
}

pub(super) fn release(ctx: &TxContext, state: &mut dyn StateWrite, id: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "ReleasePledge")?;
    let mut events = WarehouseModule::apply(ctx, state, WarehouseCall::Release { number: a.receipt.clone() })?;
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "PledgeReleased", tr.call, &actor));
    Ok(events)
}

pub(super) fn expire(ctx: &TxContext, state: &mut dyn StateWrite, mut a: PledgeApplication) -> Result<Vec<Event>> {
    let tr = transition(&PLEDGE, &a.id, &a.state, definitions::EXPIRE)?;
    check_expired(ctx, &a.id, &a.state, a.deadline_ms)?;
    let actor = crate::org::signer_org(state, ctx)?.id;
    let escalate = tr.to == "overdue";
    advance(ctx, state, &mut a, tr.to)?;
    let kind = if escalate { "PledgeLoanOverdue" } else { "PledgeExpired" };
    let mut ev = commit(state, ctx, a, kind, tr.call, &actor);
    if escalate {
        for reg in regulators(state)? {
            ev.attributes.push(("org".into(), reg));
        }
    }
    Ok(vec![ev])
}

#[allow(clippy::too_many_arguments)]
fn margin_event(
    state: &dyn StateRead,
    a: &PledgeApplication,
    m: &MarginCall,
    kind: &str,
    action: &str,
    actor: &str,
    tell_regulator: bool,
) -> Result<Event> {
    let mc_id = format!("{}#MC{}", a.id, m.seq);
    let seq = m.seq.to_string();
    let waiting = MARGIN_CALL.state(&m.state).and_then(|s| s.waiting_for).map(|p| (p, party_org(a, p)));
    let regs = if tell_regulator { regulators(state)? } else { Vec::new() };
    let mut orgs: Vec<&str> = vec![&a.funder, &a.depositor, &a.warehouse];
    orgs.extend(regs.iter().map(String::as_str));
    Ok(workflow_event(
        kind,
        Facts {
            process: "margin_call",
            id: &mc_id,
            state: &m.state,
            action,
            actor,
            waiting,
            deadline_ms: m.deadline_ms,
            orgs,
            extra: vec![("application", &a.id), ("receipt", &a.receipt), ("margin_call", &seq)],
        },
        &serde_json::json!({ "application": a.id, "receipt": a.receipt, "margin_call": m }),
    ))
}

pub(super) fn open_margin_call(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    reason: String,
) -> Result<Vec<Event>> {
    let mut a = load(state, &id)?;
    let tr = transition(&MARGIN_CALL, &id, definitions::START, "OpenMarginCall")?;
    let actor = require_party(state, ctx, &id, tr.actor, "")?.id;
    text("reason", &reason)?;
    if !matches!(a.state.as_str(), "pledged" | "overdue") {
        return Err(WorkflowError::NotAllowed { id, state: a.state, call: "OpenMarginCall" });
    }
    if let Some(m) = a.open_margin_call() {
        return Err(WorkflowError::MarginCallOpen { id, seq: m.seq });
    }
    if a.margin_calls.len() >= MAX_MARGIN_CALLS {
        return Err(invalid("application_id", format!("at most {MAX_MARGIN_CALLS} margin calls")));
    }
    let r = warehouse::load_receipt(state, &a.receipt)?
        .ok_or_else(|| WarehouseError::NotFound { number: a.receipt.clone() })?;
    let pledged_here = r.pledge.as_ref().is_some_and(|p| p.funder == a.funder);
    if r.flag.is_none() || !pledged_here {
        return Err(WorkflowError::ReceiptNotFlagged { receipt: a.receipt });
    }
    let m = MarginCall {
        seq: a.margin_calls.len() as u32 + 1,
        reason,
        state: tr.to.to_string(),
        deadline_ms: deadline_for(state, &MARGIN_CALL, tr.to, ctx.time_ms, None)?,
        opened_ms: ctx.time_ms,
        resolution: None,
    };
    a.margin_calls.push(m.clone());
    a.updated_ms = ctx.time_ms;
    save_instance(state, &id, &Instance::Pledge(a.clone()));
    Ok(vec![margin_event(state, &a, &m, "MarginCallOpened", tr.call, &actor, false)?])
}

pub(super) fn resolve_margin_call(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    resolution: String,
) -> Result<Vec<Event>> {
    let mut a = load(state, &id)?;
    let idx = a
        .margin_calls
        .iter()
        .position(|m| m.state != "resolved")
        .ok_or_else(|| WorkflowError::NoMarginCall { id: id.clone() })?;
    let tr = transition(&MARGIN_CALL, &id, &a.margin_calls[idx].state, "ResolveMarginCall")?;
    let actor = require_party(state, ctx, &id, tr.actor, &a.funder)?.id;
    text("resolution", &resolution)?;
    let m = &mut a.margin_calls[idx];
    m.state = tr.to.to_string();
    m.deadline_ms = None;
    m.resolution = Some(resolution);
    let m = m.clone();
    a.updated_ms = ctx.time_ms;
    save_instance(state, &id, &Instance::Pledge(a.clone()));
    Ok(vec![margin_event(state, &a, &m, "MarginCallResolved", tr.call, &actor, false)?])
}

pub(super) fn expire_margin_call(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    mut a: PledgeApplication,
    seq: u32,
) -> Result<Vec<Event>> {
    let id = a.id.clone();
    let idx = a
        .margin_calls
        .iter()
        .position(|m| m.seq == seq)
        .ok_or_else(|| WorkflowError::NoMarginCall { id: id.clone() })?;
    let tr = transition(&MARGIN_CALL, &id, &a.margin_calls[idx].state, definitions::EXPIRE)?;
    check_expired(ctx, &id, &a.margin_calls[idx].state, a.margin_calls[idx].deadline_ms)?;
    let actor = crate::org::signer_org(state, ctx)?.id;
    let m = &mut a.margin_calls[idx];
    m.state = tr.to.to_string();
    m.deadline_ms = deadline_for(state, &MARGIN_CALL, tr.to, ctx.time_ms, None)?;
    let m = m.clone();
    a.updated_ms = ctx.time_ms;
    save_instance(state, &id, &Instance::Pledge(a.clone()));
    Ok(vec![margin_event(state, &a, &m, "MarginCallEscalated", tr.call, &actor, true)?])
}

//! Voucher financing (保理/融资): supplier applies → funder asks for information, checks the invoices
//! (查验), approves or rejects before its deadline → the voucher is financed in the approving
//! transaction → funder records the disbursement → supplier confirms receipt.

use scf_ledger::module::{Event, TxContext};
use scf_ledger::state::{StateRead, StateWrite};

use super::definitions::{self, Party, FINANCING};
use super::*;
use crate::invoice::{self, VerifyResult};
use crate::voucher::{self, VoucherCall, VoucherModule};
use scf_ledger::confidential::Sealed;

const P: &str = "financing";

fn load(state: &dyn StateRead, id: &str) -> Result<FinancingApplication> {
    match require_instance(state, id)? {
        Instance::Financing(a) => Ok(a),
        Instance::Pledge(_) => Err(WorkflowError::WrongProcess { id: id.into(), actual: "pledge", expected: P }),
    }
}

fn waiting(a: &FinancingApplication) -> Option<(Party, &str)> {
    match FINANCING.state(&a.state)?.waiting_for? {
        Party::Supplier => Some((Party::Supplier, a.supplier.as_str())),
        Party::Funder => Some((Party::Funder, a.funder.as_str())),
        _ => None,
    }
}

/// Save the application and describe what happened.
fn commit(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    a: FinancingApplication,
    kind: &str,
    action: &str,
    actor: &str,
) -> Event {
    let mut a = a;
    a.updated_ms = ctx.time_ms;
    save_instance(state, &a.id.clone(), &Instance::Financing(a.clone()));
    workflow_event(
        kind,
        Facts {
            process: P,
            id: &a.id,
            state: &a.state,
            action,
            actor,
            waiting: waiting(&a),
            deadline_ms: a.deadline_ms,
            orgs: vec![&a.supplier, &a.funder],
            extra: vec![("voucher", &a.voucher_id), ("root", &a.root_id)],
        },
        &a,
    )
}

/// Move to the state the declared transition names, with that state's deadline counted from now.
fn advance(ctx: &TxContext, state: &dyn StateRead, a: &mut FinancingApplication, to: &str) -> Result<()> {
    a.state = to.to_string();
    a.deadline_ms = deadline_for(state, &FINANCING, to, ctx.time_ms, None)?;
    Ok(())
}

/// The requested rate of a financing application: in clear, or sealed ([`crate::terms::RateTerms`]).
pub(super) enum Requested {
    Clear(u32),
    Sealed(Sealed),
}

pub(super) fn apply(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    voucher_id: String,
    funder: String,
    requested_rate_bp: u32,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    apply_with(ctx, state, id, voucher_id, funder, Requested::Clear(requested_rate_bp), documents)
}

pub(super) fn apply_sealed(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    voucher_id: String,
    funder: String,
    requested_rate: Sealed,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    apply_with(ctx, state, id, voucher_id, funder, Requested::Sealed(requested_rate), documents)
}

fn apply_with(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    voucher_id: String,
    funder: String,
    requested: Requested,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    let tr = transition(&FINANCING, &id, definitions::START, "ApplyFinancing")?;
    check_new_id(state, &id)?;
    let v =
        voucher::load_voucher(state, &voucher_id)?.ok_or_else(|| VoucherError::NotFound { id: voucher_id.clone() })?;
    let supplier = require_party(state, ctx, &id, tr.actor, &v.holder)?;
    check_documents("documents", &documents)?;
    // Reserve the voucher with a financing offer at the requested rate: the voucher rules check the
    // funder is approved, the voucher can move and its invoices can still carry the amount (and, sealed,
    // that the supplier, the funder and every regulator can open the rate).
    let agreement_ref = format!("融资申请 {id}");
    let (requested_rate_bp, sealed_requested_rate, offer) = match requested {
        Requested::Clear(rate) => {
            if rate == 0 || rate > 10_000 {
                return Err(invalid("requested_rate_bp", "must be 1..=10000 (at most 100 % a year)"));
            }
            let call = VoucherCall::OfferFinancing {
                voucher_id: voucher_id.clone(),
                funder: funder.clone(),
                discount_rate_bp: rate,
                agreement_ref,
            };
            (Some(rate), None, call)
        }
        Requested::Sealed(sealed) => {
            let call = VoucherCall::OfferFinancingSealed {
                voucher_id: voucher_id.clone(),
                funder: funder.clone(),
                rate: sealed.clone(),
                agreement_ref,
            };
            (None, Some(sealed), call)
        }
    };
    let mut events = VoucherModule::apply(ctx, state, offer)?;
    let mut a = FinancingApplication {
        id,
        voucher_id,
        root_id: v.root_id.clone(),
        supplier: supplier.id.clone(),
        applicant_key: ctx.sender,
        funder,
        obligor: v.issuer.clone(),
        amount: v.amount,
        currency: v.currency.clone(),
        due_date: v.due_date,
        requested_rate_bp,
        sealed_requested_rate,
        documents,
        state: String::new(),
        deadline_ms: None,
        info: Vec::new(),
        invoices: v.invoices.clone(),
        invoice_check: None,
        approval: None,
        disbursement: None,
        received_ms: None,
        rejection: None,
        created_ms: ctx.time_ms,
        updated_ms: ctx.time_ms,
    };
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "FinancingApplied", tr.call, &supplier.id));
    Ok(events)
}

/// Load, check the declared transition, the acting party and the step's deadline.
fn step(
    ctx: &TxContext,
    state: &dyn StateRead,
    id: &str,
    call: &'static str,
) -> Result<(FinancingApplication, &'static definitions::TransitionDef, String)> {
    let a = load(state, id)?;
    let tr = transition(&FINANCING, id, &a.state, call)?;
    let expected = match tr.actor {
        Party::Supplier => a.supplier.clone(),
        _ => a.funder.clone(),
    };
    let org = require_party(state, ctx, id, tr.actor, &expected)?;
    check_before_deadline(ctx, id, &a.state, a.deadline_ms)?;
    Ok((a, tr, org.id))
}

pub(super) fn request_info(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    question: String,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "RequestInfo")?;
    text("question", &question)?;
    if a.info.len() >= MAX_INFO_ROUNDS {
        return Err(invalid("question", format!("at most {MAX_INFO_ROUNDS} information requests")));
    }
    a.info.push(InfoExchange {
        question,
        asked_ms: ctx.time_ms,
        answer: None,
        documents: Vec::new(),
        answered_ms: None,
    });
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "FinancingInfoRequested", tr.call, &actor)])
}

pub(super) fn provide_info(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    answer: String,
    documents: Vec<Document>,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "ProvideInfo")?;
    text("answer", &answer)?;
    check_documents("documents", &documents)?;
    let open = a.info.iter_mut().rev().find(|q| q.answer.is_none()).ok_or_else(|| WorkflowError::NotAllowed {
        id: id.clone(),
        state: "no open question".into(),
        call: "ProvideInfo",
    })?;
    open.answer = Some(answer);
    open.documents = documents;
    open.answered_ms = Some(ctx.time_ms);
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "FinancingInfoProvided", tr.call, &actor)])
}

/// 查验 of every backing invoice, plus the anti-over-financing rule: each must be authentic (found
/// with its own date and total) and never reversed, and together they must still be able to back
/// the application's amount.
fn run_invoice_check(state: &dyn StateRead, ctx: &TxContext, a: &FinancingApplication) -> Result<InvoiceCheck> {
    let mut lines = Vec::new();
    let mut failure = None;
    let mut available_total: Fen = 0;
    for number in &a.invoices {
        let (result, available) = match invoice::load_invoice(state, number)? {
            None => (VerifyResult::NotFound, 0),
            Some(inv) => {
                let r = invoice::verify_invoice(state, number, inv.issue_date, inv.total_with_tax)?;
                let avail = if inv.currency == a.currency { inv.available_for_financing() } else { 0 };
                (r, avail)
            }
        };
        let result_name = match result {
            VerifyResult::Authentic => "authentic",
            VerifyResult::NotFound => "not_found",
            VerifyResult::Reversed => "reversed",
        };
        if failure.is_none() && result != VerifyResult::Authentic {
            failure = Some((number.clone(), format!("查验 answers {result_name}")));
        }
        available_total = available_total.saturating_add(available);
        lines.push(InvoiceCheckLine { number: number.clone(), result: result_name.into(), available });
    }
    if failure.is_none() && available_total < a.amount {
        failure = Some((
            a.invoices.join(","),
            format!(
                "over-financed: the invoices can still back {available_total} fen of the {} fen applied for",
                a.amount
            ),
        ));
    }
    Ok(InvoiceCheck {
        lines,
        passed: failure.is_none(),
        failure: failure.map(|(n, r)| format!("{n}: {r}")),
        checked_ms: ctx.time_ms,
        height: ctx.height,
    })
}

pub(super) fn check_invoices(ctx: &TxContext, state: &mut dyn StateWrite, id: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "CheckInvoices")?;
    a.invoice_check = Some(run_invoice_check(state, ctx, &a)?);
    Ok(vec![commit(state, ctx, a, "FinancingInvoicesChecked", tr.call, &actor)])
}

/// Whether the voucher still carries this application's financing offer.
fn is_reserved(state: &dyn StateRead, a: &FinancingApplication) -> Result<bool> {
    Ok(voucher::load_voucher(state, &a.voucher_id)?.and_then(|v| v.offer).is_some_and(|o| o.funder == a.funder))
}

/// Withdraw the voucher reservation if it is still this application's.
fn release_reservation(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    a: &FinancingApplication,
    reason: &str,
) -> Result<Vec<Event>> {
    if !is_reserved(state, a)? {
        return Ok(Vec::new());
    }
    Ok(VoucherModule::apply(
        ctx,
        state,
        VoucherCall::CancelFinancingOffer { voucher_id: a.voucher_id.clone(), reason: reason.to_string() },
    )?)
}

pub(super) fn approve(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    rate_bp: u32,
    agreement_ref: String,
) -> Result<Vec<Event>> {
    approve_with(ctx, state, id, Approved::Clear(rate_bp), agreement_ref)
}

pub(super) fn approve_sealed(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    agreement_ref: String,
    terms: Sealed,
) -> Result<Vec<Event>> {
    approve_with(ctx, state, id, Approved::Sealed(terms), agreement_ref)
}

/// What the funder approved: a clear rate, or sealed figures ([`crate::terms::DiscountTerms`]).
enum Approved {
    Clear(u32),
    Sealed(Sealed),
}

fn approve_with(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    approved: Approved,
    agreement_ref: String,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "ApproveFinancing")?;
    text("agreement_ref", &agreement_ref)?;
    match (&approved, a.requested_rate_bp) {
        (Approved::Clear(rate_bp), Some(requested)) => {
            if *rate_bp > requested {
                return Err(WorkflowError::RateAboveRequested { approved: *rate_bp, requested });
            }
        }
        // Sealed: the funder's API checked the figures against the requested rate before sealing; the
        // supplier's API checks them again when it opens them (crate::terms).
        (Approved::Sealed(_), None) => {}
        (Approved::Clear(_), None) => {
            return Err(WorkflowError::TermsMode {
                field: "application_id",
                id,
                actual: "sealed",
                use_call: "ApproveFinancingSealed",
            })
        }
        (Approved::Sealed(_), Some(_)) => {
            return Err(WorkflowError::TermsMode {
                field: "application_id",
                id,
                actual: "in clear",
                use_call: "ApproveFinancing",
            })
        }
    }
    if !a.invoice_check.as_ref().is_some_and(|c| c.passed) {
        return Err(WorkflowError::InvoicesNotChecked { id });
    }
    // Invoices can be reversed or financed elsewhere after the check: check again now.
    let now = run_invoice_check(state, ctx, &a)?;
    if let Some(f) = &now.failure {
        let (number, reason) = f.split_once(": ").unwrap_or((f.as_str(), ""));
        return Err(WorkflowError::InvoiceCheckFailed { number: number.to_string(), reason: reason.to_string() });
    }
    // The application stands on the voucher's reservation: if the offer was withdrawn meanwhile (in the
    // voucher module), approving would finance a voucher its holder no longer offers.
    if !is_reserved(state, &a)? {
        return Err(WorkflowError::ReservationWithdrawn { id, voucher_id: a.voucher_id.clone() });
    }
    // Re-offer under the approved agreement on behalf of the supplier (at the approved rate in clear;
    // sealed, at the sealed requested rate, the approved figures being sealed in the acceptance), then
    // accept as the funder: voucher to the funder, invoices locked, registration record — all in this
    // transaction.
    let mut events = release_reservation(ctx, state, &a, "按批准条件重新报价")?;
    let applicant = on_behalf_of(ctx, &a.applicant_key);
    let (offer, accept) = match approved {
        Approved::Clear(rate_bp) => (
            VoucherCall::OfferFinancing {
                voucher_id: a.voucher_id.clone(),
                funder: a.funder.clone(),
                discount_rate_bp: rate_bp,
                agreement_ref: agreement_ref.clone(),
            },
            VoucherCall::AcceptFinancing { voucher_id: a.voucher_id.clone() },
        ),
        Approved::Sealed(terms) => {
            let rate = a.sealed_requested_rate.clone().ok_or_else(|| StoreError::Corrupt {
                key: format!("workflow/i/{id}"),
                reason: "sealed application without its sealed rate".into(),
            })?;
            (
                VoucherCall::OfferFinancingSealed {
                    voucher_id: a.voucher_id.clone(),
                    funder: a.funder.clone(),
                    rate,
                    agreement_ref: agreement_ref.clone(),
                },
                VoucherCall::AcceptFinancingSealed { voucher_id: a.voucher_id.clone(), terms },
            )
        }
    };
    events.extend(VoucherModule::apply(&applicant, state, offer)?);
    events.extend(VoucherModule::apply(ctx, state, accept)?);
    let financing =
        voucher::load_voucher(state, &a.voucher_id)?.and_then(|v| v.financing).ok_or_else(|| StoreError::Corrupt {
            key: format!("voucher/v/{}", a.voucher_id),
            reason: "financing missing after acceptance".into(),
        })?;
    a.approval = Some(FinancingApproval {
        discount_rate_bp: financing.discount_rate_bp,
        agreement_ref,
        discount_interest: financing.discount_interest,
        net_amount: financing.net_amount,
        sealed_terms: financing.sealed_terms,
        registration_no: financing.registration_no,
        date: financing.date,
    });
    a.invoice_check = Some(now);
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "FinancingApproved", tr.call, &actor));
    Ok(events)
}

pub(super) fn reject(ctx: &TxContext, state: &mut dyn StateWrite, id: String, reason: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "RejectFinancing")?;
    text("reason", &reason)?;
    let mut events = release_reservation(ctx, state, &a, &reason)?;
    a.rejection = Some(reason);
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "FinancingRejected", tr.call, &actor));
    Ok(events)
}

pub(super) fn withdraw(ctx: &TxContext, state: &mut dyn StateWrite, id: String, reason: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "WithdrawFinancing")?;
    text("reason", &reason)?;
    let mut events = release_reservation(ctx, state, &a, &reason)?;
    a.rejection = Some(format!("withdrawn by the applicant: {reason}"));
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "FinancingWithdrawn", tr.call, &actor));
    Ok(events)
}

pub(super) fn expire(ctx: &TxContext, state: &mut dyn StateWrite, mut a: FinancingApplication) -> Result<Vec<Event>> {
    let tr = transition(&FINANCING, &a.id, &a.state, definitions::EXPIRE)?;
    check_expired(ctx, &a.id, &a.state, a.deadline_ms)?;
    let actor = crate::org::signer_org(state, ctx)?.id;
    // The reservation is withdrawn on behalf of the applicant. Should that account no longer be able to
    // act, the expiry still stands and the holder or the funder cancels the offer in the voucher module
    // (a refused voucher call writes nothing, so ignoring its error leaves no partial change).
    let applicant = on_behalf_of(ctx, &a.applicant_key);
    let mut events = release_reservation(&applicant, state, &a, "融资申请超时").unwrap_or_default();
    let expired_state = a.state.clone();
    a.rejection = Some(format!("deadline of {expired_state} passed"));
    advance(ctx, state, &mut a, tr.to)?;
    events.push(commit(state, ctx, a, "FinancingExpired", tr.call, &actor));
    Ok(events)
}

pub(super) fn record_disbursement(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    payment_ref: String,
    amount: Fen,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "RecordDisbursement")?;
    text("payment_ref", &payment_ref)?;
    let Some(net) = a.approval.as_ref().and_then(|x| x.net_amount) else {
        return Err(WorkflowError::TermsMode {
            field: "application_id",
            id,
            actual: "sealed",
            use_call: "RecordDisbursementSealed",
        });
    };
    if amount != net {
        return Err(WorkflowError::AmountMismatch { field: "amount", expected: net, got: amount });
    }
    a.disbursement = Some(Disbursement {
        payment_ref,
        amount: Some(amount),
        sealed_amount: None,
        date: crate::date::Date::from_time_ms(ctx.time_ms),
    });
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "FinancingDisbursed", tr.call, &actor)])
}

/// The disbursement of a sealed financing: the amount is sealed too (in clear it would give the net,
/// and with the face amount and days, the rate away). The funder's API checked it equals the sealed
/// net; the supplier's API checks it again when it opens it.
pub(super) fn record_disbursement_sealed(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    id: String,
    payment_ref: String,
    amount: Sealed,
) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "RecordDisbursement")?;
    text("payment_ref", &payment_ref)?;
    if a.approval.as_ref().is_some_and(|x| x.sealed_terms.is_none()) {
        return Err(WorkflowError::TermsMode {
            field: "application_id",
            id,
            actual: "in clear",
            use_call: "RecordDisbursement",
        });
    }
    let scope = crate::terms::workflow_scope(&a.id, "disbursement");
    crate::terms::check_sealed(state, "amount", &scope, &amount, &[&a.supplier, &a.funder])?;
    a.disbursement = Some(Disbursement {
        payment_ref,
        amount: None,
        sealed_amount: Some(amount),
        date: crate::date::Date::from_time_ms(ctx.time_ms),
    });
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "FinancingDisbursed", tr.call, &actor)])
}

pub(super) fn confirm_receipt(ctx: &TxContext, state: &mut dyn StateWrite, id: String) -> Result<Vec<Event>> {
    let (mut a, tr, actor) = step(ctx, state, &id, "ConfirmReceipt")?;
    a.received_ms = Some(ctx.time_ms);
    advance(ctx, state, &mut a, tr.to)?;
    Ok(vec![commit(state, ctx, a, "FinancingCompleted", tr.call, &actor)])
}

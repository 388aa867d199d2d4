//! Sealed financial terms in the API (issue #21): the client-side half of [`scf_domain::terms`].
//!
//! - **Submitting.** Mutations build the clear call (so input is validated as before), then
//!   [`seal_workflow_call`] / [`seal_voucher_call`] turn it into its sealed variant: the figures are
//!   checked here, where they can be read ([`RateTerms::check`], [`DiscountTerms::check`],
//!   [`LoanTerms::check`], disbursement = sealed net), then sealed for the parties and every regulator.
//!   Steps that need a figure sealed earlier (approving at most the requested rate, a loan within the
//!   pledge rate of a sealed goods value, a disbursement equal to the sealed net) open it with the
//!   caller organisation's key (`[api] org_key`); without that key they are refused, naming it.
//! - **Reading.** [`open_financing`], [`open_pledge`], [`open_instance_json`] and [`open_receipt_loan`]
//!   fill in the figures the caller's organisation can open, and say when opened figures break a rule
//!   the chain could not check (a breach), instead of showing them as agreed.
//!
//! Records made before sealing was the default (figures in clear) pass through unchanged.

use scf_domain::date::Date;
use scf_domain::terms::{self, AmountTerms, DiscountTerms, LoanTerms, RateTerms};
use scf_domain::voucher::{self, VoucherCall};
use scf_domain::warehouse;
use scf_domain::workflow::{self as dwf, Instance, WorkflowCall};
use scf_ledger::confidential::Sealed;
use scf_ledger::state::StateRead;

use crate::error::{ApiError, ApiResult};
use crate::sealing::{open_terms, seal_terms, OrgKeys, TermsRead};

fn rule(field: &str, e: terms::TermsError) -> ApiError {
    let terms::TermsError::Invalid { field: f, reason } = e;
    ApiError::bad_input(if field.is_empty() { f } else { field }, reason)
}

/// Open `sealed` as `org`, or refuse the step: it needs the figure.
fn must_open<T: borsh::BorshDeserialize>(
    sealed: &Sealed,
    scope: &str,
    org: &str,
    keys: &OrgKeys,
    what: &str,
) -> ApiResult<T> {
    match open_terms::<T>(sealed, scope, org, keys) {
        TermsRead::Opened(t) => Ok(t),
        TermsRead::NoKey => Err(ApiError::forbidden(format!(
            "{what} is sealed for organisation {org}, but this API does not hold its key (set [api] org_key)"
        ))),
        TermsRead::NotARecipient => Err(ApiError::forbidden(format!("{what} is not sealed for organisation {org}"))),
        TermsRead::CannotOpen => {
            Err(ApiError::forbidden(format!("{what} does not open with the key this API holds for organisation {org}")))
        }
    }
}

fn load_instance(state: &dyn StateRead, id: &str) -> ApiResult<Option<Instance>> {
    Ok(dwf::load_instance(state, id)?)
}

/// Turn a clear workflow call the API is about to submit for organisation `org` into its sealed
/// variant. Calls without figures, and calls on instances whose figures are in clear, pass unchanged;
/// unknown instances pass too (the chain refuses them with its own error).
pub fn seal_workflow_call(
    state: &dyn StateRead,
    org: &str,
    keys: &OrgKeys,
    today: Date,
    call: WorkflowCall,
) -> ApiResult<WorkflowCall> {
    Ok(match call {
        WorkflowCall::ApplyFinancing { application_id, voucher_id, funder, requested_rate_bp, documents } => {
            let rate = RateTerms { rate_bp: requested_rate_bp };
            rate.check("input.requestedRateBp").map_err(|e| rule("input.requestedRateBp", e))?;
            let Some(v) = voucher::load_voucher(state, &voucher_id)? else {
                return Ok(WorkflowCall::ApplyFinancing {
                    application_id,
                    voucher_id,
                    funder,
                    requested_rate_bp,
                    documents,
                });
            };
            let requested_rate = seal_terms(state, &terms::offer_scope(&v.id), &rate, &[&v.holder, &funder])?;
            WorkflowCall::ApplyFinancingSealed { application_id, voucher_id, funder, requested_rate, documents }
        }
        WorkflowCall::ApproveFinancing { application_id, discount_rate_bp, agreement_ref } => {
            let Some(Instance::Financing(a)) = load_instance(state, &application_id)? else {
                return Ok(WorkflowCall::ApproveFinancing { application_id, discount_rate_bp, agreement_ref });
            };
            let Some(sealed) = &a.sealed_requested_rate else {
                return Ok(WorkflowCall::ApproveFinancing { application_id, discount_rate_bp, agreement_ref });
            };
            let requested: RateTerms =
                must_open(sealed, &terms::offer_scope(&a.voucher_id), org, keys, "the requested rate")?;
            let days = u32::try_from(today.days_until(a.due_date))
                .map_err(|_| ApiError::bad_input("applicationId", format!("voucher {} has matured", a.voucher_id)))?;
            let figures =
                DiscountTerms::compute(a.amount, discount_rate_bp, days).map_err(|e| rule("discountRateBp", e))?;
            figures.check(a.amount, days, Some(requested.rate_bp)).map_err(|e| rule("discountRateBp", e))?;
            let terms = seal_terms(state, &terms::financing_scope(&a.voucher_id), &figures, &[&a.supplier, &a.funder])?;
            WorkflowCall::ApproveFinancingSealed { application_id, agreement_ref, terms }
        }
        WorkflowCall::RecordDisbursement { application_id, payment_ref, amount } => {
            let Some(Instance::Financing(a)) = load_instance(state, &application_id)? else {
                return Ok(WorkflowCall::RecordDisbursement { application_id, payment_ref, amount });
            };
            let Some(sealed) = a.approval.as_ref().and_then(|x| x.sealed_terms.as_ref()) else {
                return Ok(WorkflowCall::RecordDisbursement { application_id, payment_ref, amount });
            };
            let figures: DiscountTerms =
                must_open(sealed, &terms::financing_scope(&a.voucher_id), org, keys, "the financing's figures")?;
            if amount != figures.net {
                return Err(ApiError::bad_input(
                    "amount",
                    format!("{amount} fen does not equal the {} fen net amount approved", figures.net),
                ));
            }
            let scope = terms::workflow_scope(&a.id, "disbursement");
            let amount = seal_terms(state, &scope, &AmountTerms { amount }, &[&a.supplier, &a.funder])?;
            WorkflowCall::RecordDisbursementSealed { application_id, payment_ref, amount }
        }
        WorkflowCall::ApplyPledge { application_id, receipt, funder, requested_amount, currency, documents } => {
            let figure = AmountTerms { amount: requested_amount };
            figure.check("input.requestedAmount").map_err(|e| rule("input.requestedAmount", e))?;
            let Some(r) = warehouse::load_receipt(state, &receipt)? else {
                return Ok(WorkflowCall::ApplyPledge {
                    application_id,
                    receipt,
                    funder,
                    requested_amount,
                    currency,
                    documents,
                });
            };
            let scope = terms::workflow_scope(&application_id, "request");
            let requested_amount = seal_terms(state, &scope, &figure, &[&r.holder, &funder])?;
            WorkflowCall::ApplyPledgeSealed { application_id, receipt, funder, requested_amount, currency, documents }
        }
        WorkflowCall::ConfirmGoods { application_id, goods_value, iot } => {
            let figure = AmountTerms { amount: goods_value };
            figure.check("goodsValue").map_err(|e| rule("goodsValue", e))?;
            let Some(Instance::Pledge(a)) = load_instance(state, &application_id)? else {
                return Ok(WorkflowCall::ConfirmGoods { application_id, goods_value, iot });
            };
            let scope = terms::workflow_scope(&a.id, "goods");
            let goods_value = seal_terms(state, &scope, &figure, &[&a.depositor, &a.warehouse, &a.funder])?;
            WorkflowCall::ConfirmGoodsSealed { application_id, goods_value, iot }
        }
        WorkflowCall::ApprovePledge { application_id, loan_amount, pledge_rate_bp, due, agreement_ref } => {
            let Some(Instance::Pledge(a)) = load_instance(state, &application_id)? else {
                return Ok(WorkflowCall::ApprovePledge {
                    application_id,
                    loan_amount,
                    pledge_rate_bp,
                    due,
                    agreement_ref,
                });
            };
            let loan = LoanTerms { loan_amount, currency: a.currency.clone(), pledge_rate_bp: Some(pledge_rate_bp) };
            let goods = match a.confirmation.as_ref().map(|c| (c.goods_value, &c.sealed_goods_value)) {
                Some((Some(v), _)) => Some(v),
                Some((None, Some(sealed))) => {
                    let scope = terms::workflow_scope(&a.id, "goods");
                    Some(must_open::<AmountTerms>(sealed, &scope, org, keys, "the goods value")?.amount)
                }
                _ => None,
            };
            loan.check(goods).map_err(|e| rule("", e))?;
            let scope = terms::pledge_scope(&a.receipt);
            let loan = seal_terms(state, &scope, &loan, &[&a.depositor, &a.funder])?;
            WorkflowCall::ApprovePledgeSealed { application_id, loan, due, agreement_ref }
        }
        other => other,
    })
}

/// Turn a clear voucher call into its sealed variant: an offer's rate, and the figures of accepting a
/// sealed offer (opened with the accepting funder's key, computed as the chain computes them in clear).
pub fn seal_voucher_call(
    state: &dyn StateRead,
    org: &str,
    keys: &OrgKeys,
    today: Date,
    call: VoucherCall,
) -> ApiResult<VoucherCall> {
    Ok(match call {
        VoucherCall::OfferFinancing { voucher_id, funder, discount_rate_bp, agreement_ref } => {
            if discount_rate_bp > 10_000 {
                return Err(ApiError::bad_input("discountRateBp", "at most 10000 (100 % a year)"));
            }
            let Some(v) = voucher::load_voucher(state, &voucher_id)? else {
                return Ok(VoucherCall::OfferFinancing { voucher_id, funder, discount_rate_bp, agreement_ref });
            };
            let rate = RateTerms { rate_bp: discount_rate_bp };
            let rate = seal_terms(state, &terms::offer_scope(&v.id), &rate, &[&v.holder, &funder])?;
            VoucherCall::OfferFinancingSealed { voucher_id, funder, rate, agreement_ref }
        }
        VoucherCall::AcceptFinancing { voucher_id } => {
            let Some(v) = voucher::load_voucher(state, &voucher_id)? else {
                return Ok(VoucherCall::AcceptFinancing { voucher_id });
            };
            let Some(sealed) = v.offer.as_ref().and_then(|o| o.sealed_rate.as_ref()) else {
                return Ok(VoucherCall::AcceptFinancing { voucher_id });
            };
            let rate: RateTerms = must_open(sealed, &terms::offer_scope(&v.id), org, keys, "the offered rate")?;
            let days = u32::try_from(today.days_until(v.due_date))
                .map_err(|_| ApiError::bad_input("voucherId", format!("voucher {} has matured", v.id)))?;
            let figures = DiscountTerms::compute(v.amount, rate.rate_bp, days).map_err(|e| rule("", e))?;
            let terms = seal_terms(state, &terms::financing_scope(&v.id), &figures, &[&v.holder, org])?;
            VoucherCall::AcceptFinancingSealed { voucher_id, terms }
        }
        other => other,
    })
}

/// What the caller could read of a record's sealed figures: `clear` (nothing sealed), `opened`,
/// `no_key`, `not_a_recipient` or `cannot_open` (the least readable of its sealed parts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Access(&'static str);

impl Access {
    fn new() -> Access {
        Access("clear")
    }
    fn saw<T>(&mut self, r: &TermsRead<T>) {
        let rank = |s: &str| match s {
            "clear" => 0,
            "opened" => 1,
            "no_key" => 2,
            "not_a_recipient" => 3,
            _ => 4,
        };
        if rank(r.access()) > rank(self.0) {
            self.0 = r.access();
        }
    }
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

/// Fill in the sealed figures of a financing application the caller's organisation can open. Returns
/// what it could read, and a breach when opened figures break a rule the chain could not check.
pub fn open_financing(a: &mut dwf::FinancingApplication, org: &str, keys: &OrgKeys) -> (Access, Option<String>) {
    let mut access = Access::new();
    let mut breach = None;
    if let Some(sealed) = &a.sealed_requested_rate {
        let r = open_terms::<RateTerms>(sealed, &terms::offer_scope(&a.voucher_id), org, keys);
        access.saw(&r);
        if let TermsRead::Opened(t) = r {
            a.requested_rate_bp = Some(t.rate_bp);
        }
    }
    let mut net = None;
    if let Some(x) = a.approval.as_mut() {
        net = x.net_amount;
        if let Some(sealed) = &x.sealed_terms {
            let r = open_terms::<DiscountTerms>(sealed, &terms::financing_scope(&a.voucher_id), org, keys);
            access.saw(&r);
            if let TermsRead::Opened(t) = r {
                x.discount_rate_bp = Some(t.rate_bp);
                x.discount_interest = Some(t.interest);
                x.net_amount = Some(t.net);
                net = Some(t.net);
                let days = u32::try_from(x.date.days_until(a.due_date)).unwrap_or(0);
                if let Err(terms::TermsError::Invalid { reason, .. }) = t.check(a.amount, days, a.requested_rate_bp) {
                    breach = Some(format!("approved figures: {reason}"));
                }
            }
        }
    }
    if let Some(d) = a.disbursement.as_mut() {
        if let Some(sealed) = &d.sealed_amount {
            let r = open_terms::<AmountTerms>(sealed, &terms::workflow_scope(&a.id, "disbursement"), org, keys);
            access.saw(&r);
            if let TermsRead::Opened(t) = r {
                d.amount = Some(t.amount);
            }
        }
        if let (Some(paid), Some(net)) = (d.amount, net) {
            if paid != net && breach.is_none() {
                breach = Some(format!("disbursement: {paid} fen recorded, the approved net is {net} fen"));
            }
        }
    }
    (access, breach)
}

/// Fill in the sealed figures of a pledge application the caller's organisation can open.
pub fn open_pledge(a: &mut dwf::PledgeApplication, org: &str, keys: &OrgKeys) -> (Access, Option<String>) {
    let mut access = Access::new();
    let mut breach = None;
    if let Some(sealed) = &a.sealed_requested_amount {
        let r = open_terms::<AmountTerms>(sealed, &terms::workflow_scope(&a.id, "request"), org, keys);
        access.saw(&r);
        if let TermsRead::Opened(t) = r {
            a.requested_amount = Some(t.amount);
        }
    }
    let mut goods = None;
    if let Some(c) = a.confirmation.as_mut() {
        goods = c.goods_value;
        if let Some(sealed) = &c.sealed_goods_value {
            let r = open_terms::<AmountTerms>(sealed, &terms::workflow_scope(&a.id, "goods"), org, keys);
            access.saw(&r);
            if let TermsRead::Opened(t) = r {
                c.goods_value = Some(t.amount);
                goods = Some(t.amount);
            }
        }
    }
    if let Some(x) = a.approval.as_mut() {
        if let Some(sealed) = &x.sealed_loan {
            let r = open_terms::<LoanTerms>(sealed, &terms::pledge_scope(&a.receipt), org, keys);
            access.saw(&r);
            if let TermsRead::Opened(t) = r {
                x.loan_amount = Some(t.loan_amount);
                x.pledge_rate_bp = t.pledge_rate_bp;
                if let Err(terms::TermsError::Invalid { reason, .. }) = t.check(goods) {
                    breach = Some(format!("approved loan: {reason}"));
                }
            }
        }
    }
    (access, breach)
}

/// The instance JSON of a workflow read-model row with the figures the caller can open filled in
/// (financing and pledge instances; anything else is returned as it is).
pub fn open_instance_json(process: &str, data: &str, org: &str, keys: &OrgKeys) -> String {
    let opened = match process {
        "financing" => serde_json::from_str::<dwf::FinancingApplication>(data).ok().and_then(|mut a| {
            if a.sealed_requested_rate.is_none() && a.approval.as_ref().is_none_or(|x| x.sealed_terms.is_none()) {
                return None;
            }
            open_financing(&mut a, org, keys);
            serde_json::to_string(&a).ok()
        }),
        "pledge" => serde_json::from_str::<dwf::PledgeApplication>(data).ok().and_then(|mut a| {
            open_pledge(&mut a, org, keys);
            serde_json::to_string(&a).ok()
        }),
        _ => None,
    };
    opened.unwrap_or_else(|| data.to_string())
}

/// The principal of a receipt's pledge as the caller's organisation can read it (in clear or opened):
/// amount, currency and the pledge rate when one was stated; `None` when sealed and not openable here.
pub fn open_receipt_loan(r: &warehouse::Receipt, org: &str, keys: &OrgKeys) -> Option<LoanTerms> {
    let p = r.pledge.as_ref()?;
    if let Some(m) = &p.amount {
        return Some(LoanTerms { loan_amount: m.fen, currency: m.currency.clone(), pledge_rate_bp: None });
    }
    let sealed = p.sealed_loan.as_ref()?;
    open_terms::<LoanTerms>(sealed, &terms::pledge_scope(&r.terms.number), org, keys).opened()
}

/// Seal a holder's direct pledge of a receipt ([`warehouse::WarehouseCall::Pledge`]): the loan travels
/// sealed for the holder, the funder and every regulator.
pub fn seal_warehouse_call(
    state: &dyn StateRead,
    call: warehouse::WarehouseCall,
) -> ApiResult<warehouse::WarehouseCall> {
    Ok(match call {
        warehouse::WarehouseCall::Pledge { number, funder, amount, due } => {
            let Some(r) = warehouse::load_receipt(state, &number)? else {
                return Ok(warehouse::WarehouseCall::Pledge { number, funder, amount, due });
            };
            let loan = LoanTerms { loan_amount: amount.fen, currency: amount.currency, pledge_rate_bp: None };
            loan.check(None).map_err(|e| rule("", e))?;
            let loan = seal_terms(state, &terms::pledge_scope(&number), &loan, &[&r.holder, &funder])?;
            warehouse::WarehouseCall::PledgeSealed { number, funder, loan, due }
        }
        other => other,
    })
}

/// Fill in a registration record's sealed figures (rate, interest, 主合同金额) if the caller's
/// organisation can open them.
pub fn open_registration(
    reg: &mut scf_domain::registration::FinancingRegistration,
    org: &str,
    keys: &OrgKeys,
) -> Access {
    let mut access = Access::new();
    if let Some(sealed) = &reg.sealed_terms {
        let r = open_terms::<DiscountTerms>(sealed, &terms::financing_scope(&reg.voucher_id), org, keys);
        access.saw(&r);
        if let TermsRead::Opened(t) = r {
            reg.discount_rate_bp = Some(t.rate_bp);
            reg.discount_interest = Some(t.interest);
            reg.main_contract_amount = Some(t.net);
        }
    }
    access
}

/// The chain's date now (the tip block's time): the day the chain will count a discount from, unless
/// the transaction lands in a block after midnight (the counterparty's API then reports the one-day
/// difference as a breach, and the funder re-approves).
pub async fn chain_today(api: &crate::service::Api) -> ApiResult<Date> {
    Ok(Date::from_time_ms(api.chain.tip().await?.map(|t| t.time_ms).unwrap_or(0)))
}

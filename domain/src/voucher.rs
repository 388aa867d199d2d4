//! Receivable vouchers (应收账款电子凭证): a core enterprise's payable turned into a digital claim that
//! its tier-1 supplier signs for, splits and passes up the chain, or sells to an approved funder.
//!
//! Life of a voucher tree:
//! - `Issue` (core enterprise) creates the root, `Pending` until the supplier signs for it (`SignFor`)
//!   or rejects it (`Reject`: the tree is void).
//! - `Split` / `Transfer` (holder) makes the parent `Split` and creates children `<parent>.<n>` whose
//!   amounts sum exactly to the parent. A child given to another organisation is `Pending` until the
//!   recipient signs for it; if rejected it returns, `Active`, to the sender. So every tree satisfies:
//!   Σ amounts of live leaves = root amount, and each voucher has exactly one holder.
//! - `OfferFinancing` (holder) → `AcceptFinancing` (the approved funder): the funder becomes the holder,
//!   the face amount is locked against the root's invoices ([`crate::invoice::lock_financing`]) and a
//!   [`crate::registration`] record is written. A financed voucher stays with its funder until settlement.
//! - `RecordPayment` (the obligor, at or after the due date) pays the root and clears the tree: every
//!   live leaf becomes `Settled` and a [`Clearing`] says what each holder is owed.
//! - Overdue is derived on read ([`is_overdue`]: unpaid after the due date); `MarkOverdue`, callable by
//!   any member, records it once and emits an event for workflows and notifications.
//! - `Freeze` / `Unfreeze` (regulator) act on the whole tree: the flag lives on the tree record, so
//!   descendants created later are covered too.
//!
//! Nothing moves (split, transfer, reject-back, financing) after settlement, while frozen, or on or
//! after the due date.
//!
//! Discount: ACT/360 simple interest, `interest = ⌊face × rate_bp × days / (10 000 × 360)⌋` with `days`
//! = due date − financing date, net = face − interest. Integer arithmetic only.

use std::collections::{BTreeMap, BTreeSet};

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::invoice::{self, InvoiceError};
use crate::kv::{self, Rule, StoreError};
use crate::money::{self, Fen};
use crate::org::{self, OrgError, Role};
use crate::registration::{self, FinancingRegistration, InvoiceAllocation, RegistrationParty};
use crate::terms;
use scf_ledger::confidential::Sealed;

pub const MODULE: &str = "voucher";

/// Most children one split may create.
pub const MAX_PARTS: usize = 50;
/// Deepest split chain below a root.
pub const MAX_DEPTH: u32 = 16;
/// Most vouchers in one tree (bounds the work of clearing and freezing).
pub const MAX_TREE: usize = 2000;
/// Most invoices backing one voucher.
pub const MAX_INVOICES: usize = 20;
/// Longest free-text field, in characters.
pub const MAX_TEXT: usize = 200;
/// Days per year of the ACT/360 discount convention.
pub const DAY_COUNT_BASIS: u128 = 360;

#[derive(
    Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, strum::EnumDiscriminants,
)]
#[serde(tag = "state", rename_all = "snake_case")]
#[strum_discriminants(
    name(VoucherState),
    derive(strum::IntoStaticStr, strum::EnumString, strum::EnumIter, Hash),
    strum(serialize_all = "snake_case")
)]
pub enum VoucherStatus {
    /// Waiting for the holder to sign for it (issue or transfer); cannot move.
    Pending,
    /// Signed for; may move.
    Active,
    /// The root was refused by the supplier: the tree is void.
    Rejected { reason: String },
    /// Split into children; no longer holds value itself.
    Split,
    /// Paid at settlement.
    Settled,
}

impl VoucherStatus {
    /// The status without its details.
    pub fn state(&self) -> VoucherState {
        self.into()
    }
}

/// The status names, derived from [`VoucherStatus`]: the read model stores them, the API's enum is
/// checked against them, and parsing an unknown name is an error (`FromStr`).
impl VoucherState {
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// An offer by the holder to sell the voucher to a funder, waiting for the funder's acceptance.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FinancingOffer {
    pub funder: String,
    /// Annual discount rate in basis points; `None` when sealed in `sealed_rate`.
    pub discount_rate_bp: Option<u32>,
    /// [`crate::terms::RateTerms`] under [`crate::terms::offer_scope`], for the holder, the funder and
    /// every regulator.
    pub sealed_rate: Option<Sealed>,
    /// The financing (factoring) agreement reference.
    pub agreement_ref: String,
    pub offered_on: Date,
}

/// A completed financing.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Financing {
    pub funder: String,
    /// The holder who sold it.
    pub seller: String,
    /// In clear, or `None` when the figures are sealed in `sealed_terms`.
    pub discount_rate_bp: Option<u32>,
    pub days: u32,
    pub discount_interest: Option<Fen>,
    /// What the funder pays the seller.
    pub net_amount: Option<Fen>,
    /// [`crate::terms::DiscountTerms`] under [`crate::terms::financing_scope`].
    pub sealed_terms: Option<Sealed>,
    pub date: Date,
    pub agreement_ref: String,
    pub invoices: Vec<InvoiceAllocation>,
    pub registration_no: String,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Voucher {
    pub id: String,
    pub root_id: String,
    pub parent_id: Option<String>,
    /// Number of splits between the root (0) and this voucher.
    pub depth: u32,
    /// The core enterprise that owes the amount (obligor).
    pub issuer: String,
    /// The one organisation that holds it.
    pub holder: String,
    /// While `Pending` after a transfer: the sender, to whom a rejected child returns.
    pub pending_from: Option<String>,
    pub amount: Fen,
    pub currency: String,
    pub issue_date: Date,
    pub due_date: Date,
    pub contract_ref: String,
    /// The root's backing invoices (贸易背景), copied to every descendant.
    pub invoices: Vec<String>,
    /// Issued with the explicit over-six-months flag.
    pub long_term: bool,
    pub status: VoucherStatus,
    pub children: Vec<String>,
    pub offer: Option<FinancingOffer>,
    pub financing: Option<Financing>,
    pub created_on: Date,
    pub created_height: u64,
}

impl Voucher {
    /// A voucher that holds value: not split into children, not void.
    pub fn is_live_leaf(&self) -> bool {
        matches!(self.status, VoucherStatus::Pending | VoucherStatus::Active | VoucherStatus::Settled)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Freeze {
    pub by: String,
    pub reason: String,
    pub date: Date,
    pub height: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Payment {
    pub payment_ref: String,
    pub amount: Fen,
    pub date: Date,
    /// Paid after the due date.
    pub late: bool,
    pub height: u64,
}

/// Tree-wide facts, stored once per root.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Tree {
    pub root_id: String,
    pub issuer: String,
    /// How many vouchers the tree has (root included); the vouchers themselves are reached through
    /// `children` ([`lineage`]), so a movement does not rewrite a list of the whole tree.
    pub member_count: u32,
    pub frozen: Option<Freeze>,
    pub payment: Option<Payment>,
    /// When `MarkOverdue` recorded the default.
    pub overdue_marked_on: Option<Date>,
}

/// What one holder is owed at clearing.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ClearingEntry {
    pub holder: String,
    pub amount: Fen,
    pub vouchers: Vec<String>,
}

/// The clearing (清分) of a paid tree.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Clearing {
    pub root_id: String,
    pub obligor: String,
    pub currency: String,
    pub total: Fen,
    pub payment_ref: String,
    pub date: Date,
    /// One entry per holder, ordered by organisation id.
    pub entries: Vec<ClearingEntry>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SplitPart {
    pub to: String,
    pub amount: Fen,
}

/// Calls of the `voucher` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum VoucherCall {
    /// Core enterprise issues a voucher to a tier-1 supplier; `voucher_no` becomes the root id. The issue
    /// date is the block's business date.
    Issue {
        voucher_no: String,
        to: String,
        amount: Fen,
        currency: String,
        due_date: Date,
        contract_ref: String,
        invoices: Vec<String>,
        /// Required for a term over six months (银发〔2025〕77号).
        allow_over_six_months: bool,
    },
    /// The holder accepts a pending voucher (签收).
    SignFor { voucher_id: String },
    /// The holder refuses a pending voucher.
    Reject { voucher_id: String, reason: String },
    /// The holder splits a voucher into children; a part may stay with the holder.
    Split { voucher_id: String, parts: Vec<SplitPart> },
    /// The holder passes the whole voucher on (a split into one child).
    Transfer { voucher_id: String, to: String },
    /// The holder offers the voucher to an approved funder at a discount.
    OfferFinancing { voucher_id: String, funder: String, discount_rate_bp: u32, agreement_ref: String },
    /// The holder or the funder withdraws a pending offer.
    CancelFinancingOffer { voucher_id: String, reason: String },
    /// The funder accepts the offer: it becomes the holder.
    AcceptFinancing { voucher_id: String },
    /// The obligor records payment of the root at or after the due date; clears the tree.
    RecordPayment { root_id: String, payment_ref: String },
    /// Anyone records that an unpaid tree is past its due date.
    MarkOverdue { root_id: String },
    /// Regulator freezes the whole tree of a voucher.
    Freeze { voucher_id: String, reason: String },
    /// Regulator lifts the freeze.
    Unfreeze { voucher_id: String, reason: String },
    /// [`VoucherCall::OfferFinancing`] with the rate sealed: [`crate::terms::RateTerms`] under
    /// [`crate::terms::offer_scope`], for the holder, the funder and every regulator.
    OfferFinancingSealed { voucher_id: String, funder: String, rate: Sealed, agreement_ref: String },
    /// [`VoucherCall::AcceptFinancing`] of a sealed offer: the funder seals the financing's figures
    /// ([`crate::terms::DiscountTerms`] under [`crate::terms::financing_scope`]) for the seller, itself and
    /// every regulator.
    AcceptFinancingSealed { voucher_id: String, terms: Sealed },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VoucherError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error(transparent)]
    Confidential(#[from] crate::confidential::ConfidentialError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("voucher_id: the offer on {id} has its rate {actual}; use {use_call}")]
    TermsMode { id: String, actual: &'static str, use_call: &'static str },
    #[error("voucher_id: no voucher {id}")]
    NotFound { id: String },
    #[error("voucher_no: voucher {id} already exists")]
    IdExists { id: String },
    #[error("due_date: {due} is not after the issue date {issue}")]
    DueNotAfterIssue { issue: Date, due: Date },
    #[error("due_date: {due} is more than one year after the issue date {issue}")]
    TermOverOneYear { issue: Date, due: Date },
    #[error(
        "due_date: {due} is more than six months after the issue date {issue}; set allow_over_six_months to confirm"
    )]
    TermOverSixMonths { issue: Date, due: Date },
    #[error("to: {org} is not a supplier")]
    RecipientNotSupplier { org: String },
    #[error("invoices: {invoice}: {reason}")]
    TradeBackground { invoice: String, reason: String },
    #[error("amount: {amount} fen exceeds the {available} fen the backing invoices can still support")]
    ExceedsInvoices { amount: Fen, available: Fen },
    #[error("signer: {org} does not hold voucher {id} (holder: {holder})")]
    NotHolder { org: String, id: String, holder: String },
    #[error("voucher_id: {id} is not waiting for a signature")]
    NotPending { id: String },
    #[error("voucher_id: {id} has not been signed for by its holder")]
    NotSigned { id: String },
    #[error("voucher_id: {id} is {state} and no longer holds value")]
    Inactive { id: String, state: &'static str },
    #[error("voucher_id: {id} is settled")]
    Settled { id: String },
    #[error("voucher_id: the tree of {root} is frozen by {by}: {reason}")]
    Frozen { root: String, by: String, reason: String },
    #[error("voucher_id: the tree of {root} is not frozen")]
    NotFrozen { root: String },
    #[error("voucher_id: the tree of {root} is already frozen")]
    AlreadyFrozen { root: String },
    #[error("voucher_id: {id} matured on {due}; it can no longer move (today {today})")]
    Matured { id: String, due: Date, today: Date },
    #[error("parts: amounts sum to {sum} fen, not the voucher's {amount} fen")]
    SplitNotConserved { sum: Fen, amount: Fen },
    #[error("{what}: limit of {limit} reached")]
    Limit { what: &'static str, limit: usize },
    #[error("voucher_id: {id} is financed by {funder} and stays with it until settlement")]
    Financed { id: String, funder: String },
    #[error("voucher_id: {id} has a pending financing offer to {funder}")]
    OfferPending { id: String, funder: String },
    #[error("voucher_id: {id} has no pending financing offer")]
    NoOffer { id: String },
    #[error("funder: {org} is not an approved funder")]
    FunderNotApproved { org: String },
    #[error("signer: {org} is not the funder {funder} the offer on {id} was made to")]
    NotOfferedFunder { org: String, funder: String, id: String },
    #[error("signer: {org} is not the obligor {issuer} of {root}")]
    NotObligor { org: String, issuer: String, root: String },
    #[error("root_id: {id} is not a root voucher (its root is {root})")]
    NotRoot { id: String, root: String },
    #[error("root_id: {root} is due on {due}; today is {today}")]
    NotDue { root: String, due: Date, today: Date },
    #[error("root_id: {root} was already paid on {date} ({payment_ref})")]
    AlreadyPaid { root: String, date: Date, payment_ref: String },
    #[error("root_id: {root} is not overdue: {reason}")]
    NotOverdue { root: String, reason: String },
    #[error("{field}: amount overflows")]
    Overflow { field: &'static str },
    #[error("state: tree {root} breaks conservation: leaves sum to {leaves} fen, root is {root_amount} fen")]
    Conservation { root: String, leaves: Fen, root_amount: Fen },
}

impl Rule for VoucherError {
    fn code(&self) -> &'static str {
        match self {
            VoucherError::Store(e) => e.code(),
            VoucherError::Org(e) => e.code(),
            VoucherError::Invoice(e) => e.code(),
            VoucherError::Invalid { .. } => "VOUCHER_INVALID_FIELD",
            VoucherError::Confidential(e) => e.code(),
            VoucherError::TermsMode { .. } => "VOUCHER_TERMS_MODE",
            VoucherError::NotFound { .. } => "VOUCHER_NOT_FOUND",
            VoucherError::IdExists { .. } => "VOUCHER_ID_EXISTS",
            VoucherError::DueNotAfterIssue { .. } => "VOUCHER_DUE_NOT_AFTER_ISSUE",
            VoucherError::TermOverOneYear { .. } => "VOUCHER_TERM_OVER_ONE_YEAR",
            VoucherError::TermOverSixMonths { .. } => "VOUCHER_TERM_OVER_SIX_MONTHS",
            VoucherError::RecipientNotSupplier { .. } => "VOUCHER_RECIPIENT_NOT_SUPPLIER",
            VoucherError::TradeBackground { .. } => "VOUCHER_TRADE_BACKGROUND_MISMATCH",
            VoucherError::ExceedsInvoices { .. } => "VOUCHER_EXCEEDS_INVOICES",
            VoucherError::NotHolder { .. } => "VOUCHER_NOT_HOLDER",
            VoucherError::NotPending { .. } => "VOUCHER_NOT_PENDING",
            VoucherError::NotSigned { .. } => "VOUCHER_NOT_SIGNED",
            VoucherError::Inactive { .. } => "VOUCHER_INACTIVE",
            VoucherError::Settled { .. } => "VOUCHER_SETTLED",
            VoucherError::Frozen { .. } => "VOUCHER_TREE_FROZEN",
            VoucherError::NotFrozen { .. } => "VOUCHER_TREE_NOT_FROZEN",
            VoucherError::AlreadyFrozen { .. } => "VOUCHER_TREE_ALREADY_FROZEN",
            VoucherError::Matured { .. } => "VOUCHER_MATURED",
            VoucherError::SplitNotConserved { .. } => "VOUCHER_SPLIT_NOT_CONSERVED",
            VoucherError::Limit { .. } => "VOUCHER_LIMIT",
            VoucherError::Financed { .. } => "VOUCHER_FINANCED",
            VoucherError::OfferPending { .. } => "VOUCHER_FINANCING_PENDING",
            VoucherError::NoOffer { .. } => "VOUCHER_NO_FINANCING_OFFER",
            VoucherError::FunderNotApproved { .. } => "VOUCHER_FUNDER_NOT_APPROVED",
            VoucherError::NotOfferedFunder { .. } => "VOUCHER_NOT_OFFERED_FUNDER",
            VoucherError::NotObligor { .. } => "VOUCHER_NOT_OBLIGOR",
            VoucherError::NotRoot { .. } => "VOUCHER_NOT_ROOT",
            VoucherError::NotDue { .. } => "VOUCHER_NOT_DUE",
            VoucherError::AlreadyPaid { .. } => "VOUCHER_ALREADY_PAID",
            VoucherError::NotOverdue { .. } => "VOUCHER_NOT_OVERDUE",
            VoucherError::Overflow { .. } => "AMOUNT_OVERFLOW",
            VoucherError::Conservation { .. } => "VOUCHER_CONSERVATION_BROKEN",
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// State layout and read helpers (used by the API and the lead's integration tests).

fn voucher_key(id: &str) -> String {
    format!("voucher/v/{id}")
}
fn tree_key(root: &str) -> String {
    format!("voucher/t/{root}")
}
fn clearing_key(root: &str) -> String {
    format!("voucher/c/{root}")
}

/// Root ids are business numbers of A-Z 0-9 - _; children append `.n`, so no child id can collide
/// with a root id.
fn valid_voucher_no(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 32
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

pub fn load_voucher(state: &dyn StateRead, id: &str) -> Result<Option<Voucher>, StoreError> {
    if id.is_empty() || id.len() > 128 {
        return Ok(None);
    }
    kv::get(state, &voucher_key(id))
}

pub fn load_tree(state: &dyn StateRead, root_id: &str) -> Result<Option<Tree>, StoreError> {
    if root_id.is_empty() || root_id.len() > 128 {
        return Ok(None);
    }
    kv::get(state, &tree_key(root_id))
}

/// The clearing of a paid tree.
pub fn load_clearing(state: &dyn StateRead, root_id: &str) -> Result<Option<Clearing>, StoreError> {
    kv::get(state, &clearing_key(root_id))
}

/// The lineage tree of a root, depth first (each parent before its children, children in split order).
pub fn lineage(state: &dyn StateRead, root_id: &str) -> Result<Vec<Voucher>, StoreError> {
    let mut out = Vec::new();
    let mut stack = vec![root_id.to_string()];
    while let Some(id) = stack.pop() {
        let v = kv::get::<Voucher>(state, &voucher_key(&id))?
            .ok_or_else(|| StoreError::Corrupt { key: voucher_key(&id), reason: "tree member missing".into() })?;
        for c in v.children.iter().rev() {
            stack.push(c.clone());
        }
        out.push(v);
        if out.len() > MAX_TREE {
            return Err(StoreError::Corrupt { key: tree_key(root_id), reason: "tree larger than its limit".into() });
        }
    }
    Ok(out)
}

/// Unpaid on a day after the due date (derived on read; `MarkOverdue` only records it as an event).
pub fn is_overdue(state: &dyn StateRead, root_id: &str, today: Date) -> Result<bool, StoreError> {
    let (Some(tree), Some(root)) = (load_tree(state, root_id)?, load_voucher(state, root_id)?) else {
        return Ok(false);
    };
    Ok(tree.payment.is_none()
        && today > root.due_date
        && !matches!(root.status, VoucherStatus::Rejected { .. } | VoucherStatus::Pending))
}

/// Whether the tree of a voucher is frozen (the flag lives on the tree).
pub fn is_frozen(state: &dyn StateRead, voucher_id: &str) -> Result<bool, StoreError> {
    let Some(v) = load_voucher(state, voucher_id)? else {
        return Ok(false);
    };
    Ok(load_tree(state, &v.root_id)?.map(|t| t.frozen.is_some()).unwrap_or(false))
}

/// The rate of an offer: in clear, or sealed ([`crate::terms::RateTerms`]).
enum OfferRate {
    Clear(u32),
    Sealed(Sealed),
}

/// ACT/360 discount of `face` at `rate_bp` a year over `days`: (interest, net).
pub fn discount(face: Fen, rate_bp: u32, days: u32) -> Option<(Fen, Fen)> {
    let interest = (face as u128).checked_mul(rate_bp as u128)?.checked_mul(days as u128)? / (10_000 * DAY_COUNT_BASIS);
    let interest = u64::try_from(interest).ok()?;
    Some((interest, face.checked_sub(interest)?))
}

// ---------------------------------------------------------------------------------------------------
// Internal helpers.

fn require_voucher(state: &dyn StateRead, id: &str) -> Result<Voucher, VoucherError> {
    load_voucher(state, id)?.ok_or_else(|| VoucherError::NotFound { id: id.to_string() })
}

fn require_tree(state: &dyn StateRead, root_id: &str) -> Result<Tree, VoucherError> {
    load_tree(state, root_id)?.ok_or_else(|| {
        VoucherError::Store(StoreError::Corrupt { key: tree_key(root_id), reason: "tree record missing".into() })
    })
}

fn save_voucher(state: &mut dyn StateWrite, v: &Voucher) {
    kv::put(state, &voucher_key(&v.id), v);
}

fn text(field: &str, s: &str) -> Result<(), VoucherError> {
    if s.trim().is_empty() {
        return Err(VoucherError::Invalid { field: field.into(), reason: "must not be empty".into() });
    }
    if s.chars().count() > MAX_TEXT {
        return Err(VoucherError::Invalid { field: field.into(), reason: format!("at most {MAX_TEXT} characters") });
    }
    Ok(())
}

fn today(ctx: &TxContext) -> Date {
    Date::from_time_ms(ctx.time_ms)
}

fn check_not_frozen(tree: &Tree) -> Result<(), VoucherError> {
    match &tree.frozen {
        Some(f) => Err(VoucherError::Frozen { root: tree.root_id.clone(), by: f.by.clone(), reason: f.reason.clone() }),
        None => Ok(()),
    }
}

fn check_state_for_move(v: &Voucher) -> Result<(), VoucherError> {
    match &v.status {
        VoucherStatus::Active => Ok(()),
        VoucherStatus::Pending => Err(VoucherError::NotSigned { id: v.id.clone() }),
        VoucherStatus::Settled => Err(VoucherError::Settled { id: v.id.clone() }),
        VoucherStatus::Split => Err(VoucherError::Inactive { id: v.id.clone(), state: "split" }),
        VoucherStatus::Rejected { .. } => Err(VoucherError::Inactive { id: v.id.clone(), state: "rejected" }),
    }
}

fn check_not_matured(v: &Voucher, today: Date) -> Result<(), VoucherError> {
    if today >= v.due_date {
        return Err(VoucherError::Matured { id: v.id.clone(), due: v.due_date, today });
    }
    Ok(())
}

/// Everything that must hold before the holder may move a voucher (split, transfer, offer it).
fn check_movable(state: &dyn StateRead, v: &Voucher, signer: &str, today: Date) -> Result<Tree, VoucherError> {
    let tree = require_tree(state, &v.root_id)?;
    check_not_frozen(&tree)?;
    check_state_for_move(v)?;
    if v.holder != signer {
        return Err(VoucherError::NotHolder { org: signer.to_string(), id: v.id.clone(), holder: v.holder.clone() });
    }
    check_not_matured(v, today)?;
    if let Some(f) = &v.financing {
        return Err(VoucherError::Financed { id: v.id.clone(), funder: f.funder.clone() });
    }
    if let Some(o) = &v.offer {
        return Err(VoucherError::OfferPending { id: v.id.clone(), funder: o.funder.clone() });
    }
    Ok(tree)
}

/// Every organisation a tree event concerns: obligor and all holders of live vouchers.
fn tree_orgs(state: &dyn StateRead, tree: &Tree) -> Result<BTreeSet<String>, StoreError> {
    let mut orgs = BTreeSet::new();
    orgs.insert(tree.issuer.clone());
    for v in lineage(state, &tree.root_id)? {
        if v.is_live_leaf() {
            orgs.insert(v.holder.clone());
            if let Some(p) = &v.pending_from {
                orgs.insert(p.clone());
            }
        }
    }
    Ok(orgs)
}

fn ev(kind: &str, v_ids: &[&str], root: &str, orgs: &BTreeSet<String>, data: &impl Serialize) -> Event {
    let mut attrs: Vec<(&str, &str)> = v_ids.iter().map(|id| ("voucher", *id)).collect();
    attrs.push(("root", root));
    for o in orgs {
        attrs.push(("org", o.as_str()));
    }
    kv::event(MODULE, kind, &attrs, data)
}

fn orgs_of<const N: usize>(list: [&str; N]) -> BTreeSet<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// Allocate `amount` over the invoices in order, taking what each can still back.
fn allocate(
    state: &dyn StateRead,
    invoices: &[String],
    currency: &str,
    amount: Fen,
) -> Result<Vec<InvoiceAllocation>, VoucherError> {
    let mut left = amount;
    let mut out = Vec::new();
    let mut available_total: Fen = 0;
    for no in invoices {
        let inv = invoice::load_invoice(state, no)?.ok_or_else(|| InvoiceError::NotFound { number: no.clone() })?;
        if inv.currency != currency {
            return Err(InvoiceError::CurrencyMismatch {
                number: no.clone(),
                invoice: inv.currency,
                wanted: currency.to_string(),
            }
            .into());
        }
        let avail = inv.available_for_financing();
        available_total = available_total.saturating_add(avail);
        let take = avail.min(left);
        if take > 0 {
            out.push(InvoiceAllocation { number: no.clone(), amount: take });
            left -= take;
        }
    }
    if left > 0 {
        return Err(InvoiceError::OverFinanced {
            number: invoices.join(","),
            available: available_total,
            requested: amount,
        }
        .into());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// Operations.

#[allow(clippy::too_many_arguments)]
fn issue(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_no: String,
    to: String,
    amount: Fen,
    currency: String,
    due_date: Date,
    contract_ref: String,
    invoices: Vec<String>,
    allow_over_six_months: bool,
) -> Result<Vec<Event>, VoucherError> {
    let issuer = org::require_role(state, ctx, Role::CoreEnterprise)?;
    if !valid_voucher_no(&voucher_no) {
        return Err(VoucherError::Invalid {
            field: "voucher_no".into(),
            reason: format!("{voucher_no:?} must be 1..=32 of A-Z 0-9 - _"),
        });
    }
    if amount == 0 {
        return Err(VoucherError::Invalid { field: "amount".into(), reason: "must be positive".into() });
    }
    if !money::valid_currency(&currency) {
        return Err(VoucherError::Invalid {
            field: "currency".into(),
            reason: format!("{currency:?} is not an ISO 4217 code"),
        });
    }
    text("contract_ref", &contract_ref)?;
    let issue_date = today(ctx);
    if due_date <= issue_date {
        return Err(VoucherError::DueNotAfterIssue { issue: issue_date, due: due_date });
    }
    if due_date > issue_date.add_months(12) {
        return Err(VoucherError::TermOverOneYear { issue: issue_date, due: due_date });
    }
    if due_date > issue_date.add_months(6) && !allow_over_six_months {
        return Err(VoucherError::TermOverSixMonths { issue: issue_date, due: due_date });
    }
    let receiver = org::load_org(state, &to)?.ok_or_else(|| OrgError::UnknownOrg { org: to.clone() })?;
    if !receiver.has_role(Role::Supplier) || receiver.id == issuer.id {
        return Err(VoucherError::RecipientNotSupplier { org: to });
    }
    if invoices.is_empty() || invoices.len() > MAX_INVOICES {
        return Err(VoucherError::Invalid {
            field: "invoices".into(),
            reason: format!("1..={MAX_INVOICES} backing invoices"),
        });
    }
    let mut seen = BTreeSet::new();
    let mut available: Fen = 0;
    for no in &invoices {
        if !seen.insert(no.as_str()) {
            return Err(VoucherError::Invalid { field: "invoices".into(), reason: format!("{no} listed twice") });
        }
        let inv = invoice::load_invoice(state, no)?.ok_or_else(|| InvoiceError::NotFound { number: no.clone() })?;
        if inv.seller_org != receiver.id || inv.buyer_org.as_deref() != Some(issuer.id.as_str()) {
            return Err(VoucherError::TradeBackground {
                invoice: no.clone(),
                // Says which trade it must back, never who the invoice's parties are: the message is
                // stored in a receipt, and anyone may probe any invoice number.
                reason: format!("is not an invoice of {} to {}", receiver.id, issuer.id),
            });
        }
        if inv.currency != currency {
            return Err(
                InvoiceError::CurrencyMismatch { number: no.clone(), invoice: inv.currency, wanted: currency }.into()
            );
        }
        if inv.fully_reversed() {
            return Err(InvoiceError::Reversed { number: no.clone() }.into());
        }
        available = available.saturating_add(inv.available_for_financing());
    }
    if amount > available {
        return Err(VoucherError::ExceedsInvoices { amount, available });
    }
    if load_voucher(state, &voucher_no)?.is_some() {
        return Err(VoucherError::IdExists { id: voucher_no });
    }
    let v = Voucher {
        id: voucher_no.clone(),
        root_id: voucher_no.clone(),
        parent_id: None,
        depth: 0,
        issuer: issuer.id.clone(),
        holder: receiver.id.clone(),
        pending_from: None,
        amount,
        currency,
        issue_date,
        due_date,
        contract_ref,
        invoices,
        long_term: due_date > issue_date.add_months(6),
        status: VoucherStatus::Pending,
        children: Vec::new(),
        offer: None,
        financing: None,
        created_on: issue_date,
        created_height: ctx.height,
    };
    let tree = Tree {
        root_id: v.id.clone(),
        issuer: issuer.id.clone(),
        member_count: 1,
        frozen: None,
        payment: None,
        overdue_marked_on: None,
    };
    save_voucher(state, &v);
    kv::put(state, &tree_key(&v.id), &tree);
    Ok(vec![ev("VoucherIssued", &[&v.id], &v.id, &orgs_of([&issuer.id, &v.holder]), &v)])
}

fn sign_for(ctx: &TxContext, state: &mut dyn StateWrite, voucher_id: String) -> Result<Vec<Event>, VoucherError> {
    let signer = org::signer_org(state, ctx)?;
    let mut v = require_voucher(state, &voucher_id)?;
    let tree = require_tree(state, &v.root_id)?;
    check_not_frozen(&tree)?;
    if v.holder != signer.id {
        return Err(VoucherError::NotHolder { org: signer.id, id: v.id, holder: v.holder });
    }
    if v.status != VoucherStatus::Pending {
        return Err(VoucherError::NotPending { id: v.id });
    }
    let from = v.pending_from.take();
    v.status = VoucherStatus::Active;
    save_voucher(state, &v);
    let mut orgs = orgs_of([&v.holder, &v.issuer]);
    orgs.extend(from.clone());
    Ok(vec![ev(
        "VoucherSignedFor",
        &[&v.id],
        &v.root_id,
        &orgs,
        &serde_json::json!({ "voucher": v.id, "holder": v.holder, "from": from }),
    )])
}

fn reject(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    reason: String,
) -> Result<Vec<Event>, VoucherError> {
    let signer = org::signer_org(state, ctx)?;
    text("reason", &reason)?;
    let mut v = require_voucher(state, &voucher_id)?;
    let tree = require_tree(state, &v.root_id)?;
    check_not_frozen(&tree)?;
    if v.holder != signer.id {
        return Err(VoucherError::NotHolder { org: signer.id, id: v.id, holder: v.holder });
    }
    if v.status != VoucherStatus::Pending {
        return Err(VoucherError::NotPending { id: v.id });
    }
    check_not_matured(&v, today(ctx))?;
    let refused_by = v.holder.clone();
    let mut orgs = orgs_of([&v.holder, &v.issuer]);
    match v.pending_from.take() {
        // A transferred child goes back, active, to the sender: the tree keeps its value.
        Some(from) => {
            orgs.insert(from.clone());
            v.holder = from;
            v.status = VoucherStatus::Active;
        }
        // A refused issue voids the tree.
        None => {
            v.status = VoucherStatus::Rejected { reason: reason.clone() };
        }
    }
    save_voucher(state, &v);
    Ok(vec![ev(
        "VoucherRejected",
        &[&v.id],
        &v.root_id,
        &orgs,
        &serde_json::json!({ "voucher": v.id, "refused_by": refused_by, "holder": v.holder, "reason": reason }),
    )])
}

fn split(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    parts: Vec<SplitPart>,
) -> Result<Vec<Event>, VoucherError> {
    let signer = org::signer_org(state, ctx)?;
    let parent = require_voucher(state, &voucher_id)?;
    split_loaded(ctx, state, signer, parent, parts)
}

/// A whole transfer: a split into one part for `to` (the voucher is read once).
fn transfer(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    to: String,
) -> Result<Vec<Event>, VoucherError> {
    let parent = require_voucher(state, &voucher_id)?;
    let signer = org::signer_org(state, ctx)?;
    let amount = parent.amount;
    split_loaded(ctx, state, signer, parent, vec![SplitPart { to, amount }])
}

fn split_loaded(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    signer: org::Org,
    mut parent: Voucher,
    parts: Vec<SplitPart>,
) -> Result<Vec<Event>, VoucherError> {
    let mut tree = check_movable(state, &parent, &signer.id, today(ctx))?;
    if parts.is_empty() || parts.len() > MAX_PARTS {
        return Err(VoucherError::Invalid { field: "parts".into(), reason: format!("1..={MAX_PARTS} parts") });
    }
    if parent.depth >= MAX_DEPTH {
        return Err(VoucherError::Limit { what: "split depth", limit: MAX_DEPTH as usize });
    }
    if tree.member_count as usize + parts.len() > MAX_TREE {
        return Err(VoucherError::Limit { what: "vouchers in a tree", limit: MAX_TREE });
    }
    let mut sum: Fen = 0;
    for (i, p) in parts.iter().enumerate() {
        if p.amount == 0 {
            return Err(VoucherError::Invalid {
                field: format!("parts[{i}].amount"),
                reason: "must be positive".into(),
            });
        }
        sum = sum.checked_add(p.amount).ok_or(VoucherError::Overflow { field: "parts" })?;
        if p.to != signer.id {
            let o = org::load_org(state, &p.to)?.ok_or_else(|| OrgError::UnknownOrg { org: p.to.clone() })?;
            if !o.has_role(Role::Supplier) {
                return Err(VoucherError::RecipientNotSupplier { org: p.to.clone() });
            }
        }
    }
    if sum != parent.amount {
        return Err(VoucherError::SplitNotConserved { sum, amount: parent.amount });
    }
    let created_on = today(ctx);
    let mut children = Vec::with_capacity(parts.len());
    let mut orgs = orgs_of([&parent.holder, &parent.issuer]);
    for (i, p) in parts.into_iter().enumerate() {
        let id = format!("{}.{}", parent.id, i + 1);
        let own = p.to == signer.id;
        orgs.insert(p.to.clone());
        let child = Voucher {
            id: id.clone(),
            root_id: parent.root_id.clone(),
            parent_id: Some(parent.id.clone()),
            depth: parent.depth + 1,
            issuer: parent.issuer.clone(),
            holder: p.to.clone(),
            pending_from: if own { None } else { Some(signer.id.clone()) },
            amount: p.amount,
            currency: parent.currency.clone(),
            issue_date: parent.issue_date,
            due_date: parent.due_date,
            contract_ref: parent.contract_ref.clone(),
            invoices: parent.invoices.clone(),
            long_term: parent.long_term,
            status: if own { VoucherStatus::Active } else { VoucherStatus::Pending },
            children: Vec::new(),
            offer: None,
            financing: None,
            created_on,
            created_height: ctx.height,
        };
        save_voucher(state, &child);
        tree.member_count += 1;
        children.push(child);
    }
    parent.status = VoucherStatus::Split;
    parent.children = children.iter().map(|c| c.id.clone()).collect();
    save_voucher(state, &parent);
    kv::put(state, &tree_key(&tree.root_id), &tree);
    let mut ids: Vec<&str> = vec![parent.id.as_str()];
    ids.extend(children.iter().map(|c| c.id.as_str()));
    Ok(vec![ev(
        "VoucherSplit",
        &ids,
        &parent.root_id,
        &orgs,
        &SplitEvent {
            children: children
                .iter()
                .map(|c| ChildBrief { amount: c.amount, holder: &c.holder, id: &c.id, status: &c.status })
                .collect(),
            parent: &parent.id,
        },
    )])
}

/// A split's event data: the children in brief (the full records are in state), what a reader of the
/// event needs. Serialized directly (fields in key order, as a JSON object's keys are written).
#[derive(Serialize)]
struct SplitEvent<'a> {
    children: Vec<ChildBrief<'a>>,
    parent: &'a str,
}

#[derive(Serialize)]
struct ChildBrief<'a> {
    amount: Fen,
    holder: &'a str,
    id: &'a str,
    status: &'a VoucherStatus,
}

fn offer_financing(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    funder: String,
    rate: OfferRate,
    agreement_ref: String,
) -> Result<Vec<Event>, VoucherError> {
    let signer = org::signer_org(state, ctx)?;
    let mut v = require_voucher(state, &voucher_id)?;
    check_movable(state, &v, &signer.id, today(ctx))?;
    text("agreement_ref", &agreement_ref)?;
    if funder == signer.id || !org::is_approved_funder(state, &funder)? {
        return Err(VoucherError::FunderNotApproved { org: funder });
    }
    let (discount_rate_bp, sealed_rate) = match rate {
        OfferRate::Clear(rate_bp) => {
            if rate_bp > 10_000 {
                return Err(VoucherError::Invalid {
                    field: "discount_rate_bp".into(),
                    reason: "at most 10000 (100 % a year)".into(),
                });
            }
            (Some(rate_bp), None)
        }
        OfferRate::Sealed(sealed) => {
            terms::check_sealed(state, "rate", &terms::offer_scope(&v.id), &sealed, &[&v.holder, &funder])?;
            (None, Some(sealed))
        }
    };
    // Fail early if the trade background cannot carry this financing; locked only on acceptance.
    allocate(state, &v.invoices, &v.currency, v.amount)?;
    let offer =
        FinancingOffer { funder: funder.clone(), discount_rate_bp, sealed_rate, agreement_ref, offered_on: today(ctx) };
    v.offer = Some(offer.clone());
    save_voucher(state, &v);
    Ok(vec![ev(
        "FinancingOffered",
        &[&v.id],
        &v.root_id,
        &orgs_of([&v.holder, &funder]),
        &serde_json::json!({ "voucher": v.id, "offer": offer, "amount": v.amount }),
    )])
}

fn cancel_offer(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    reason: String,
) -> Result<Vec<Event>, VoucherError> {
    let signer = org::signer_org(state, ctx)?;
    text("reason", &reason)?;
    let mut v = require_voucher(state, &voucher_id)?;
    let offer = v.offer.clone().ok_or_else(|| VoucherError::NoOffer { id: v.id.clone() })?;
    if signer.id != v.holder && signer.id != offer.funder {
        return Err(VoucherError::NotHolder { org: signer.id, id: v.id, holder: v.holder });
    }
    v.offer = None;
    save_voucher(state, &v);
    Ok(vec![ev(
        "FinancingOfferCancelled",
        &[&v.id],
        &v.root_id,
        &orgs_of([&v.holder, &offer.funder]),
        &serde_json::json!({ "voucher": v.id, "by": signer.id, "reason": reason }),
    )])
}

fn accept_financing(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    sealed_terms: Option<Sealed>,
) -> Result<Vec<Event>, VoucherError> {
    let funder = org::require_role(state, ctx, Role::Funder)?;
    let mut v = require_voucher(state, &voucher_id)?;
    let offer = v.offer.clone().ok_or_else(|| VoucherError::NoOffer { id: v.id.clone() })?;
    if offer.funder != funder.id {
        return Err(VoucherError::NotOfferedFunder { org: funder.id, funder: offer.funder, id: v.id });
    }
    if !org::is_approved_funder(state, &funder.id)? {
        return Err(VoucherError::FunderNotApproved { org: funder.id });
    }
    let date = today(ctx);
    // The same checks as a move by the holder, minus the pending offer itself.
    let mut probe = v.clone();
    probe.offer = None;
    let tree = check_movable(state, &probe, &v.holder, date)?;
    let days = u32::try_from(date.days_until(v.due_date)).map_err(|_| VoucherError::Matured {
        id: v.id.clone(),
        due: v.due_date,
        today: date,
    })?;
    // Clear offer: the chain computes the discount. Sealed offer: the funder's API computed and sealed
    // it ([`crate::terms::DiscountTerms`]); the chain checks only who can open it.
    let (rate_bp, interest, net) = match (offer.discount_rate_bp, &sealed_terms) {
        (Some(rate), None) => {
            let (i, n) = discount(v.amount, rate, days).ok_or(VoucherError::Overflow { field: "discount" })?;
            (Some(rate), Some(i), Some(n))
        }
        (None, Some(sealed)) => {
            terms::check_sealed(state, "terms", &terms::financing_scope(&v.id), sealed, &[&v.holder, &funder.id])?;
            (None, None, None)
        }
        (Some(_), Some(_)) => {
            return Err(VoucherError::TermsMode { id: v.id, actual: "in clear", use_call: "AcceptFinancing" })
        }
        (None, None) => {
            return Err(VoucherError::TermsMode { id: v.id, actual: "sealed", use_call: "AcceptFinancingSealed" })
        }
    };
    let allocations = allocate(state, &v.invoices, &v.currency, v.amount)?;
    for a in &allocations {
        invoice::lock_financing(state, &a.number, &v.currency, a.amount, &v.id, ctx.height)?;
    }
    let seller_org = org::load_org(state, &v.holder)?.ok_or_else(|| OrgError::UnknownOrg { org: v.holder.clone() })?;
    let obligor = org::load_org(state, &v.issuer)?.ok_or_else(|| OrgError::UnknownOrg { org: v.issuer.clone() })?;
    let registration_no = format!("REG-{}", v.id);
    let reg = FinancingRegistration {
        registration_no: registration_no.clone(),
        registration_type: registration::REGISTRATION_TYPE.into(),
        term_months: registration::term_months(date, v.due_date),
        transferor: RegistrationParty::of(&seller_org),
        transferee: RegistrationParty::of(&funder),
        obligor: RegistrationParty::of(&obligor),
        main_contract_no: offer.agreement_ref.clone(),
        main_contract_amount: net,
        sealed_terms: sealed_terms.clone(),
        property_value: v.amount,
        currency: v.currency.clone(),
        property_description: format!(
            "应收账款电子凭证 {}（根凭证 {}），面额 {} {}，债务人 {}，到期日 {}，基础合同 {}，发票 {}",
            v.id,
            v.root_id,
            money::format_yuan(v.amount),
            v.currency,
            obligor.name,
            v.due_date,
            v.contract_ref,
            v.invoices.join("、")
        ),
        voucher_id: v.id.clone(),
        root_voucher_id: v.root_id.clone(),
        trade_contract_ref: v.contract_ref.clone(),
        invoices: allocations.clone(),
        financing_date: date,
        due_date: v.due_date,
        discount_rate_bp: rate_bp,
        day_count: registration::DAY_COUNT.into(),
        days,
        discount_interest: interest,
        height: ctx.height,
        tx_id: ctx.tx_id.to_hex(),
    };
    registration::save(state, &reg);
    let seller = v.holder.clone();
    let financing = Financing {
        funder: funder.id.clone(),
        seller: seller.clone(),
        discount_rate_bp: rate_bp,
        days,
        discount_interest: interest,
        net_amount: net,
        sealed_terms,
        date,
        agreement_ref: offer.agreement_ref,
        invoices: allocations,
        registration_no,
    };
    v.holder = funder.id.clone();
    v.offer = None;
    v.financing = Some(financing.clone());
    save_voucher(state, &v);
    let orgs = orgs_of([&seller, &funder.id, &v.issuer]);
    Ok(vec![
        ev(
            "VoucherFinanced",
            &[&v.id],
            &tree.root_id,
            &orgs,
            &serde_json::json!({ "voucher": v.id, "amount": v.amount, "financing": financing }),
        ),
        ev("FinancingRegistered", &[&v.id], &tree.root_id, &orgs, &reg),
    ])
}

fn record_payment(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    root_id: String,
    payment_ref: String,
) -> Result<Vec<Event>, VoucherError> {
    let obligor = org::require_role(state, ctx, Role::CoreEnterprise)?;
    text("payment_ref", &payment_ref)?;
    let root = require_voucher(state, &root_id)?;
    if root.parent_id.is_some() {
        return Err(VoucherError::NotRoot { id: root.id, root: root.root_id });
    }
    let mut tree = require_tree(state, &root_id)?;
    if obligor.id != tree.issuer {
        return Err(VoucherError::NotObligor { org: obligor.id, issuer: tree.issuer, root: root_id });
    }
    if let Some(p) = &tree.payment {
        return Err(VoucherError::AlreadyPaid { root: root_id, date: p.date, payment_ref: p.payment_ref.clone() });
    }
    check_not_frozen(&tree)?;
    match &root.status {
        VoucherStatus::Pending => return Err(VoucherError::NotSigned { id: root.id }),
        VoucherStatus::Rejected { .. } => return Err(VoucherError::Inactive { id: root.id, state: "rejected" }),
        _ => {}
    }
    let date = today(ctx);
    if date < root.due_date {
        return Err(VoucherError::NotDue { root: root_id, due: root.due_date, today: date });
    }
    // Clear: every live leaf is settled to its holder (an unsigned transfer to its sender).
    let mut owed: BTreeMap<String, (Fen, Vec<String>)> = BTreeMap::new();
    let mut total: Fen = 0;
    let mut settled_ids = Vec::new();
    for mut v in lineage(state, &tree.root_id)? {
        if !matches!(v.status, VoucherStatus::Active | VoucherStatus::Pending) {
            continue;
        }
        if let Some(from) = v.pending_from.take() {
            v.holder = from;
        }
        v.status = VoucherStatus::Settled;
        v.offer = None;
        let e = owed.entry(v.holder.clone()).or_default();
        e.0 = e.0.checked_add(v.amount).ok_or(VoucherError::Overflow { field: "clearing" })?;
        e.1.push(v.id.clone());
        total = total.checked_add(v.amount).ok_or(VoucherError::Overflow { field: "clearing" })?;
        settled_ids.push(v.id.clone());
        save_voucher(state, &v);
    }
    if total != root.amount {
        return Err(VoucherError::Conservation { root: root_id, leaves: total, root_amount: root.amount });
    }
    let entries: Vec<ClearingEntry> =
        owed.into_iter().map(|(holder, (amount, vouchers))| ClearingEntry { holder, amount, vouchers }).collect();
    let clearing = Clearing {
        root_id: root_id.clone(),
        obligor: obligor.id.clone(),
        currency: root.currency.clone(),
        total,
        payment_ref: payment_ref.clone(),
        date,
        entries,
    };
    tree.payment = Some(Payment { payment_ref, amount: total, date, late: date > root.due_date, height: ctx.height });
    kv::put(state, &tree_key(&root_id), &tree);
    kv::put(state, &clearing_key(&root_id), &clearing);
    let mut orgs: BTreeSet<String> = clearing.entries.iter().map(|e| e.holder.clone()).collect();
    orgs.insert(obligor.id.clone());
    let ids: Vec<&str> = settled_ids.iter().map(String::as_str).collect();
    let mut events = vec![ev("VoucherPaid", &ids, &root_id, &orgs, &clearing)];
    for e in &clearing.entries {
        events.push(ev(
            "ClearingOwed",
            &e.vouchers.iter().map(String::as_str).collect::<Vec<_>>(),
            &root_id,
            &orgs_of([&e.holder, &obligor.id]),
            &serde_json::json!({ "root": root_id, "holder": e.holder, "amount": e.amount, "currency": clearing.currency, "vouchers": e.vouchers }),
        ));
    }
    Ok(events)
}

fn mark_overdue(ctx: &TxContext, state: &mut dyn StateWrite, root_id: String) -> Result<Vec<Event>, VoucherError> {
    let signer = org::signer_org(state, ctx)?;
    let root = require_voucher(state, &root_id)?;
    if root.parent_id.is_some() {
        return Err(VoucherError::NotRoot { id: root.id, root: root.root_id });
    }
    let mut tree = require_tree(state, &root_id)?;
    let date = today(ctx);
    if !is_overdue(state, &root_id, date)? {
        let reason = if tree.payment.is_some() {
            "paid".to_string()
        } else {
            format!("due {} and today is {date}, or never signed for", root.due_date)
        };
        return Err(VoucherError::NotOverdue { root: root_id, reason });
    }
    if let Some(d) = tree.overdue_marked_on {
        return Err(VoucherError::NotOverdue { root: root_id, reason: format!("already recorded as overdue on {d}") });
    }
    tree.overdue_marked_on = Some(date);
    kv::put(state, &tree_key(&root_id), &tree);
    let mut orgs = tree_orgs(state, &tree)?;
    orgs.insert(signer.id.clone());
    Ok(vec![ev(
        "VoucherOverdue",
        &[&root_id],
        &root_id,
        &orgs,
        &serde_json::json!({ "root": root_id, "obligor": tree.issuer, "due_date": root.due_date, "amount": root.amount, "recorded_on": date, "recorded_by": signer.id }),
    )])
}

fn freeze(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    voucher_id: String,
    reason: String,
    on: bool,
) -> Result<Vec<Event>, VoucherError> {
    let reg = org::require_role(state, ctx, Role::Regulator)?;
    text("reason", &reason)?;
    let v = require_voucher(state, &voucher_id)?;
    let mut tree = require_tree(state, &v.root_id)?;
    match (on, tree.frozen.is_some()) {
        (true, true) => return Err(VoucherError::AlreadyFrozen { root: tree.root_id }),
        (false, false) => return Err(VoucherError::NotFrozen { root: tree.root_id }),
        _ => {}
    }
    tree.frozen = if on {
        Some(Freeze { by: reg.id.clone(), reason: reason.clone(), date: today(ctx), height: ctx.height })
    } else {
        None
    };
    kv::put(state, &tree_key(&tree.root_id), &tree);
    let mut orgs = tree_orgs(state, &tree)?;
    orgs.insert(reg.id.clone());
    let members: Vec<String> = lineage(state, &tree.root_id)?.into_iter().map(|v| v.id).collect();
    let ids: Vec<&str> = members.iter().map(String::as_str).collect();
    let kind = if on { "VoucherTreeFrozen" } else { "VoucherTreeUnfrozen" };
    Ok(vec![ev(
        kind,
        &ids,
        &tree.root_id,
        &orgs,
        &serde_json::json!({ "root": tree.root_id, "by": reg.id, "reason": reason, "vouchers": members }),
    )])
}

pub struct VoucherModule;

impl ModuleCall for VoucherCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for VoucherModule {
    type Call = VoucherCall;
    type Error = VoucherError;

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: VoucherCall) -> Result<Vec<Event>, VoucherError> {
        match call {
            VoucherCall::Issue {
                voucher_no,
                to,
                amount,
                currency,
                due_date,
                contract_ref,
                invoices,
                allow_over_six_months,
            } => issue(
                ctx,
                state,
                voucher_no,
                to,
                amount,
                currency,
                due_date,
                contract_ref,
                invoices,
                allow_over_six_months,
            ),
            VoucherCall::SignFor { voucher_id } => sign_for(ctx, state, voucher_id),
            VoucherCall::Reject { voucher_id, reason } => reject(ctx, state, voucher_id, reason),
            VoucherCall::Split { voucher_id, parts } => split(ctx, state, voucher_id, parts),
            VoucherCall::Transfer { voucher_id, to } => transfer(ctx, state, voucher_id, to),
            VoucherCall::OfferFinancing { voucher_id, funder, discount_rate_bp, agreement_ref } => {
                offer_financing(ctx, state, voucher_id, funder, OfferRate::Clear(discount_rate_bp), agreement_ref)
            }
            VoucherCall::OfferFinancingSealed { voucher_id, funder, rate, agreement_ref } => {
                offer_financing(ctx, state, voucher_id, funder, OfferRate::Sealed(rate), agreement_ref)
            }
            VoucherCall::CancelFinancingOffer { voucher_id, reason } => cancel_offer(ctx, state, voucher_id, reason),
            VoucherCall::AcceptFinancing { voucher_id } => accept_financing(ctx, state, voucher_id, None),
            VoucherCall::AcceptFinancingSealed { voucher_id, terms } => {
                accept_financing(ctx, state, voucher_id, Some(terms))
            }
            VoucherCall::RecordPayment { root_id, payment_ref } => record_payment(ctx, state, root_id, payment_ref),
            VoucherCall::MarkOverdue { root_id } => mark_overdue(ctx, state, root_id),
            VoucherCall::Freeze { voucher_id, reason } => freeze(ctx, state, voucher_id, reason, true),
            VoucherCall::Unfreeze { voucher_id, reason } => freeze(ctx, state, voucher_id, reason, false),
        }
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

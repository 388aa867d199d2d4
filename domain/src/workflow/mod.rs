//! Multi-party financing processes as on-chain state machines, so that every party sees the same truth.
//!
//! Each process instance (a financing application, a pledge application with its margin calls) lives in
//! chain state; every step is a signed call by the party the [`definitions`] table names, and the table
//! decides which call is allowed in which state. Deadlines are stored as block time (ms). The
//! off-chain timer service (`scf-workflows`) submits [`WorkflowCall::Expire`] once a committed block's
//! time is past a deadline; `Expire` succeeds only while the step is still pending and the deadline has
//! passed, so however often (and from however many nodes) a timer fires, the on-chain effect happens
//! once. Symmetrically, a party's call after its deadline is refused: expiry wins even if no timer has
//! fired yet.
//!
//! Approval executes the business effect in the same transaction as the state change by calling the
//! voucher and warehouse modules' own operations: an application is the applicant's signed standing
//! instruction (sell this voucher at no more than the requested rate; pledge this receipt for the
//! approved loan), so the module performs those calls *on behalf of* the applicant's account — whose
//! status, organisation and holdings the voucher and warehouse rules check again at that moment.
//!
//! Every event carries the attributes `instance`, `process`, `state`, `action`, `actor`, the
//! `waiting_org`/`waiting_party` of the new state and its `deadline_ms`, and an `org` attribute for
//! every party, which is what task inboxes and audit trails are built from.

pub mod definitions;
mod financing;
mod maturity;
mod pledge;

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::confidential::Sealed;
use scf_ledger::crypto::PublicKey;
use scf_ledger::module::{BusinessModule, Event, ModuleCall, ModuleError, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::invoice::InvoiceError;
use crate::kv::{self, Rule, StoreError};
use crate::money::Fen;
use crate::org::{self, Org, OrgError};
use crate::voucher::VoucherError;
use crate::warehouse::WarehouseError;
use definitions::{Party, ProcessDef, TransitionDef};

pub use maturity::load_escalation;

pub const MODULE: &str = "workflow";

/// Most documents attached to one step.
pub const MAX_DOCUMENTS: usize = 20;
/// Longest free-text field, in characters.
pub const MAX_TEXT: usize = 500;
/// Most information requests on one application (bounds the record).
pub const MAX_INFO_ROUNDS: usize = 10;
/// Most margin calls kept on one pledge application.
pub const MAX_MARGIN_CALLS: usize = 50;
/// Most devices listed in an IoT snapshot.
pub const MAX_DEVICES: usize = 50;
/// Block-time milliseconds per day.
pub const DAY_MS: u64 = 86_400_000;
/// Where the module's genesis settings live.
const SETTINGS_KEY: &str = "workflow/settings";

/// Genesis section of the `workflow` module (`app_state.workflow`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkflowSettings {
    /// Length, in block-time milliseconds, of the "day" that day-counted deadlines (5 days to answer an
    /// application, …) are measured in. A day on every real network; a test network sets seconds so a
    /// deadline passes while a test watches. Dates (a loan's due date) are calendar days regardless.
    pub day_ms: u64,
}

impl Default for WorkflowSettings {
    fn default() -> Self {
        WorkflowSettings { day_ms: DAY_MS }
    }
}

/// The chain's workflow settings (the defaults on a chain whose genesis has none).
pub fn settings(state: &dyn StateRead) -> std::result::Result<WorkflowSettings, StoreError> {
    Ok(kv::get(state, SETTINGS_KEY)?.unwrap_or_default())
}

/// An off-chain document (application form, contract, inspection report) anchored by its SM3 hash.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Document {
    pub name: String,
    /// SM3 of the document's bytes, 64 lower-case hex digits.
    pub sm3: String,
}

/// One question from the funder and the supplier's answer.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InfoExchange {
    pub question: String,
    pub asked_ms: u64,
    pub answer: Option<String>,
    pub documents: Vec<Document>,
    pub answered_ms: Option<u64>,
}

/// The funder's 查验 of one backing invoice.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InvoiceCheckLine {
    pub number: String,
    /// `authentic`, `not_found` or `reversed` (the 查验 answer).
    pub result: String,
    /// What the invoice can still back, in fen.
    pub available: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InvoiceCheck {
    pub lines: Vec<InvoiceCheckLine>,
    pub passed: bool,
    /// Why it failed, naming the invoice.
    pub failure: Option<String>,
    pub checked_ms: u64,
    pub height: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FinancingApproval {
    /// In clear, or `None` when the figures are sealed in `sealed_terms`.
    pub discount_rate_bp: Option<u32>,
    pub agreement_ref: String,
    pub discount_interest: Option<Fen>,
    /// What the funder must pay the supplier.
    pub net_amount: Option<Fen>,
    /// [`crate::terms::DiscountTerms`] sealed under [`crate::terms::financing_scope`].
    pub sealed_terms: Option<Sealed>,
    pub registration_no: String,
    pub date: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Disbursement {
    /// The bank transfer reference (the payment itself happens off chain).
    pub payment_ref: String,
    /// In clear, or `None` when sealed in `sealed_amount`.
    pub amount: Option<Fen>,
    /// [`crate::terms::AmountTerms`] under [`crate::terms::workflow_scope`] `(id, "disbursement")`.
    pub sealed_amount: Option<Sealed>,
    pub date: Date,
}

/// A supplier's application to a funder for financing one voucher (or split child).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FinancingApplication {
    pub id: String,
    pub voucher_id: String,
    pub root_id: String,
    pub supplier: String,
    /// The account that signed the application; approval sells the voucher on its behalf.
    pub applicant_key: PublicKey,
    pub funder: String,
    pub obligor: String,
    pub amount: Fen,
    pub currency: String,
    pub due_date: Date,
    /// The highest annual discount rate the supplier accepts, in basis points; `None` when sealed.
    pub requested_rate_bp: Option<u32>,
    /// [`crate::terms::RateTerms`] under [`crate::terms::offer_scope`] of the voucher.
    pub sealed_requested_rate: Option<Sealed>,
    pub documents: Vec<Document>,
    pub state: String,
    /// Block time (ms) after which the current step expires.
    pub deadline_ms: Option<u64>,
    pub info: Vec<InfoExchange>,
    pub invoices: Vec<String>,
    pub invoice_check: Option<InvoiceCheck>,
    pub approval: Option<FinancingApproval>,
    pub disbursement: Option<Disbursement>,
    pub received_ms: Option<u64>,
    pub rejection: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IotStatus {
    /// Every bound device reports within its limits.
    Normal,
    /// At least one bound device is in alarm or silent.
    Alert,
}

/// What the warehouse saw of the goods' sensors when it confirmed them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct IotSnapshot {
    pub status: IotStatus,
    pub devices: Vec<String>,
    /// Time of the latest reading considered (ms since the epoch, device time).
    pub observed_ms: u64,
    pub summary: String,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct GoodsConfirmation {
    /// In clear, or `None` when sealed in `sealed_goods_value`.
    pub goods_value: Option<Fen>,
    /// [`crate::terms::AmountTerms`] under [`crate::terms::workflow_scope`] `(id, "goods")`.
    pub sealed_goods_value: Option<Sealed>,
    pub quantity: u64,
    pub unit: String,
    pub iot: IotSnapshot,
    pub date: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PledgeApproval {
    /// In clear, or `None` when sealed in `sealed_loan`.
    pub loan_amount: Option<Fen>,
    /// Loan-to-value limit applied, in basis points of the goods value (质押率); `None` when sealed.
    pub pledge_rate_bp: Option<u32>,
    /// [`crate::terms::LoanTerms`] under [`crate::terms::pledge_scope`] of the receipt.
    pub sealed_loan: Option<Sealed>,
    pub due: Date,
    pub agreement_ref: String,
    pub date: Date,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Repayment {
    pub payment_ref: String,
    pub date: Date,
}

/// A margin-call task on a pledge (its own small process, see [`definitions::MARGIN_CALL`]).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct MarginCall {
    /// 1-based number within the application.
    pub seq: u32,
    pub reason: String,
    pub state: String,
    pub deadline_ms: Option<u64>,
    pub opened_ms: u64,
    pub resolution: Option<String>,
}

/// A depositor's application for a loan against a warehouse receipt.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct PledgeApplication {
    pub id: String,
    pub receipt: String,
    pub depositor: String,
    pub applicant_key: PublicKey,
    pub warehouse: String,
    pub funder: String,
    /// In clear, or `None` when sealed in `sealed_requested_amount`.
    pub requested_amount: Option<Fen>,
    /// [`crate::terms::AmountTerms`] under [`crate::terms::workflow_scope`] `(id, "request")`.
    pub sealed_requested_amount: Option<Sealed>,
    pub currency: String,
    pub documents: Vec<Document>,
    pub state: String,
    pub deadline_ms: Option<u64>,
    pub confirmation: Option<GoodsConfirmation>,
    pub approval: Option<PledgeApproval>,
    pub repayment: Option<Repayment>,
    pub margin_calls: Vec<MarginCall>,
    pub rejection: Option<String>,
    pub created_ms: u64,
    pub updated_ms: u64,
}

impl PledgeApplication {
    /// The margin call still waiting for the funder, if any.
    pub fn open_margin_call(&self) -> Option<&MarginCall> {
        self.margin_calls.iter().find(|m| m.state != "resolved")
    }
}

/// One process instance as stored under `workflow/i/{id}`; ids are unique across processes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "process", rename_all = "snake_case")]
pub enum Instance {
    Financing(FinancingApplication),
    Pledge(PledgeApplication),
}

/// Which deadline an `Expire` call is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The deadline of the instance's current step.
    Step,
    /// The deadline of the open margin call with this sequence number.
    MarginCall { seq: u32 },
}

/// Calls of the `workflow` module.
#[derive(
    Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, strum::IntoStaticStr,
)]
pub enum WorkflowCall {
    /// Supplier (voucher holder) applies to an approved funder; the voucher is reserved by a financing
    /// offer at the requested rate until the application ends.
    ApplyFinancing {
        application_id: String,
        voucher_id: String,
        funder: String,
        requested_rate_bp: u32,
        documents: Vec<Document>,
    },
    /// Funder asks the supplier for more information.
    RequestInfo { application_id: String, question: String },
    /// Supplier answers the open question.
    ProvideInfo { application_id: String, answer: String, documents: Vec<Document> },
    /// Funder runs 查验 on every backing invoice and records the result.
    CheckInvoices { application_id: String },
    /// Funder approves: the voucher is financed in this same transaction.
    ApproveFinancing { application_id: String, discount_rate_bp: u32, agreement_ref: String },
    /// Funder rejects (from `submitted` or `info_requested`).
    RejectFinancing { application_id: String, reason: String },
    /// Funder records paying the net amount (off-chain payment reference).
    RecordDisbursement { application_id: String, payment_ref: String, amount: Fen },
    /// Supplier confirms the money arrived.
    ConfirmReceipt { application_id: String },

    /// Receipt holder applies to a funder for a loan against the receipt.
    ApplyPledge {
        application_id: String,
        receipt: String,
        funder: String,
        requested_amount: Fen,
        currency: String,
        documents: Vec<Document>,
    },
    /// The receipt's warehouse operator confirms the goods, their value and current IoT status.
    ConfirmGoods { application_id: String, goods_value: Fen, iot: IotSnapshot },
    /// Warehouse (before confirming) or funder (after) refuses.
    RejectPledge { application_id: String, reason: String },
    /// Funder approves the loan; the receipt is pledged in this same transaction.
    ApprovePledge { application_id: String, loan_amount: Fen, pledge_rate_bp: u32, due: Date, agreement_ref: String },
    /// Depositor records repaying the loan (off-chain payment reference).
    RecordRepayment { application_id: String, payment_ref: String },
    /// Funder releases the pledge after repayment.
    ReleasePledge { application_id: String },
    /// Anyone opens a margin call once the pledged receipt is flagged by an IoT alert.
    OpenMarginCall { application_id: String, reason: String },
    /// Funder records how the margin call was settled.
    ResolveMarginCall { application_id: String, resolution: String },

    /// Anyone escalates an unpaid voucher tree after its due date: marks it overdue and tells the
    /// funders holding it and the regulator. Once per tree.
    EscalateOverdue { root_id: String },

    /// Anyone (the timer service) applies the expiry of a passed deadline. Refused unless the deadline
    /// has passed and the step is still pending, so the effect happens once.
    Expire { application_id: String, deadline: DeadlineKind },

    /// Supplier withdraws its financing application (from `submitted` or `info_requested`); the
    /// voucher's reservation is released. (Appended last: Borsh numbers variants in order.)
    WithdrawFinancing { application_id: String, reason: String },

    /// Depositor withdraws its pledge application before the funder approves (from `applied` or
    /// `goods_confirmed`); nothing is locked yet, so nothing is released.
    WithdrawPledge { application_id: String, reason: String },

    // Sealed variants (issue #21): the figures travel sealed ([`crate::terms`]) for the parties and
    // every regulator; each is the step of the clear call its [`WorkflowCall::step_name`] names.
    /// [`WorkflowCall::ApplyFinancing`] with the requested rate sealed: [`crate::terms::RateTerms`] under
    /// [`crate::terms::offer_scope`] of the voucher, for the supplier and the funder. The same sealed
    /// value reserves the voucher as its offer.
    ApplyFinancingSealed {
        application_id: String,
        voucher_id: String,
        funder: String,
        requested_rate: Sealed,
        documents: Vec<Document>,
    },
    /// [`WorkflowCall::ApproveFinancing`] with the figures sealed: [`crate::terms::DiscountTerms`] under
    /// [`crate::terms::financing_scope`] of the voucher, for the supplier and the funder. Only for an
    /// application whose requested rate is sealed.
    ApproveFinancingSealed { application_id: String, agreement_ref: String, terms: Sealed },
    /// [`WorkflowCall::RecordDisbursement`] with the amount sealed: [`crate::terms::AmountTerms`] under
    /// [`crate::terms::workflow_scope`] `(id, "disbursement")`, for the supplier and the funder.
    RecordDisbursementSealed { application_id: String, payment_ref: String, amount: Sealed },
    /// [`WorkflowCall::ApplyPledge`] with the requested amount sealed ([`crate::terms::AmountTerms`] under
    /// [`crate::terms::workflow_scope`] `(id, "request")`).
    ApplyPledgeSealed {
        application_id: String,
        receipt: String,
        funder: String,
        requested_amount: Sealed,
        currency: String,
        documents: Vec<Document>,
    },
    /// [`WorkflowCall::ConfirmGoods`] with the goods value sealed ([`crate::terms::AmountTerms`] under
    /// [`crate::terms::workflow_scope`] `(id, "goods")`).
    ConfirmGoodsSealed { application_id: String, goods_value: Sealed, iot: IotSnapshot },
    /// [`WorkflowCall::ApprovePledge`] with the loan and pledge rate sealed ([`crate::terms::LoanTerms`]
    /// under [`crate::terms::pledge_scope`] of the receipt).
    ApprovePledgeSealed { application_id: String, loan: Sealed, due: Date, agreement_ref: String },
}

impl WorkflowCall {
    /// The instance the call acts on: the application, or the voucher tree's root.
    pub fn instance_id(&self) -> &str {
        match self {
            WorkflowCall::EscalateOverdue { root_id } => root_id,
            WorkflowCall::ApplyFinancing { application_id, .. }
            | WorkflowCall::RequestInfo { application_id, .. }
            | WorkflowCall::ProvideInfo { application_id, .. }
            | WorkflowCall::CheckInvoices { application_id }
            | WorkflowCall::ApproveFinancing { application_id, .. }
            | WorkflowCall::RejectFinancing { application_id, .. }
            | WorkflowCall::RecordDisbursement { application_id, .. }
            | WorkflowCall::ConfirmReceipt { application_id }
            | WorkflowCall::ApplyPledge { application_id, .. }
            | WorkflowCall::ConfirmGoods { application_id, .. }
            | WorkflowCall::RejectPledge { application_id, .. }
            | WorkflowCall::WithdrawPledge { application_id, .. }
            | WorkflowCall::ApprovePledge { application_id, .. }
            | WorkflowCall::RecordRepayment { application_id, .. }
            | WorkflowCall::ReleasePledge { application_id }
            | WorkflowCall::OpenMarginCall { application_id, .. }
            | WorkflowCall::ResolveMarginCall { application_id, .. }
            | WorkflowCall::Expire { application_id, .. }
            | WorkflowCall::WithdrawFinancing { application_id, .. }
            | WorkflowCall::ApplyFinancingSealed { application_id, .. }
            | WorkflowCall::ApproveFinancingSealed { application_id, .. }
            | WorkflowCall::RecordDisbursementSealed { application_id, .. }
            | WorkflowCall::ApplyPledgeSealed { application_id, .. }
            | WorkflowCall::ConfirmGoodsSealed { application_id, .. }
            | WorkflowCall::ApprovePledgeSealed { application_id, .. } => application_id,
        }
    }

    /// The call's variant name.
    pub fn name(&self) -> &'static str {
        self.into()
    }

    /// The step as the definitions table spells it: a sealed variant is the step of its clear call.
    pub fn step_name(&self) -> &'static str {
        match self {
            WorkflowCall::ApplyFinancingSealed { .. } => "ApplyFinancing",
            WorkflowCall::ApproveFinancingSealed { .. } => "ApproveFinancing",
            WorkflowCall::RecordDisbursementSealed { .. } => "RecordDisbursement",
            WorkflowCall::ApplyPledgeSealed { .. } => "ApplyPledge",
            WorkflowCall::ConfirmGoodsSealed { .. } => "ConfirmGoods",
            WorkflowCall::ApprovePledgeSealed { .. } => "ApprovePledge",
            other => other.name(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkflowError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Voucher(#[from] VoucherError),
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error(transparent)]
    Confidential(#[from] crate::confidential::ConfidentialError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("{field}: {id} has its figures {actual}; use {use_call}")]
    TermsMode { field: &'static str, id: String, actual: &'static str, use_call: &'static str },
    #[error("application_id: no workflow instance {id:?}")]
    NotFound { id: String },
    #[error("application_id: {id:?} is already used")]
    IdTaken { id: String },
    #[error("application_id: {id} is a {actual} instance, not {expected}")]
    WrongProcess { id: String, actual: &'static str, expected: &'static str },
    #[error("application_id: {call} is not allowed while {id} is {state}")]
    NotAllowed { id: String, state: String, call: &'static str },
    #[error("signer: {org} is not the {party} of {id} ({expected})")]
    NotParty { org: String, party: &'static str, id: String, expected: String },
    #[error(
        "application_id: the deadline of {id} in state {state} passed at {deadline_ms} ms (block time {now_ms} ms)"
    )]
    DeadlinePassed { id: String, state: String, deadline_ms: u64, now_ms: u64 },
    #[error("application_id: {id} in state {state} has no deadline that passed (deadline {deadline_ms:?} ms, block time {now_ms} ms)")]
    NotExpired { id: String, state: String, deadline_ms: Option<u64>, now_ms: u64 },
    #[error("discount_rate_bp: {approved} bp is above the {requested} bp the supplier applied for")]
    RateAboveRequested { approved: u32, requested: u32 },
    #[error("application_id: the backing invoices of {id} have not passed 查验 (run CheckInvoices first)")]
    InvoicesNotChecked { id: String },
    #[error("invoices: {number}: {reason}")]
    InvoiceCheckFailed { number: String, reason: String },
    #[error("loan_amount: {loan} fen exceeds {max} fen ({rate_bp} bp of the goods value {goods_value} fen)")]
    LoanAbovePledgeRate { loan: Fen, max: Fen, rate_bp: u32, goods_value: Fen },
    #[error("receipt: {receipt}: IoT alert: {summary}")]
    IotAlert { receipt: String, summary: String },
    #[error("receipt: {receipt} is not flagged by an alert")]
    ReceiptNotFlagged { receipt: String },
    #[error("application_id: {id} already has margin call {seq} open")]
    MarginCallOpen { id: String, seq: u32 },
    #[error("application_id: {id} has no open margin call")]
    NoMarginCall { id: String },
    #[error("root_id: {root} is not overdue: {reason}")]
    NotOverdue { root: String, reason: String },
    #[error("root_id: {root} was already escalated on {date}")]
    AlreadyEscalated { root: String, date: Date },
    #[error("{field}: {got} fen does not equal the {expected} fen expected")]
    AmountMismatch { field: &'static str, expected: Fen, got: Fen },
    #[error(
        "application_id: {id}: voucher {voucher_id} is no longer reserved for this application (its financing \
         offer was withdrawn); the application can only be rejected, withdrawn or expire"
    )]
    ReservationWithdrawn { id: String, voucher_id: String },
}

impl Rule for WorkflowError {
    fn code(&self) -> &'static str {
        match self {
            WorkflowError::Store(e) => e.code(),
            WorkflowError::Org(e) => e.code(),
            WorkflowError::Voucher(e) => e.code(),
            WorkflowError::Invoice(e) => e.code(),
            WorkflowError::Warehouse(e) => e.code(),
            WorkflowError::Confidential(e) => e.code(),
            WorkflowError::Invalid { .. } => "WORKFLOW_INVALID_FIELD",
            WorkflowError::TermsMode { .. } => "WORKFLOW_TERMS_MODE",
            WorkflowError::NotFound { .. } => "WORKFLOW_NOT_FOUND",
            WorkflowError::IdTaken { .. } => "WORKFLOW_ID_TAKEN",
            WorkflowError::WrongProcess { .. } => "WORKFLOW_WRONG_PROCESS",
            WorkflowError::NotAllowed { .. } => "WORKFLOW_TRANSITION_NOT_ALLOWED",
            WorkflowError::NotParty { .. } => "WORKFLOW_NOT_PARTY",
            WorkflowError::DeadlinePassed { .. } => "WORKFLOW_DEADLINE_PASSED",
            WorkflowError::NotExpired { .. } => "WORKFLOW_NOT_EXPIRED",
            WorkflowError::RateAboveRequested { .. } => "WORKFLOW_RATE_ABOVE_REQUESTED",
            WorkflowError::InvoicesNotChecked { .. } => "WORKFLOW_INVOICES_NOT_CHECKED",
            WorkflowError::InvoiceCheckFailed { .. } => "WORKFLOW_INVOICE_CHECK_FAILED",
            WorkflowError::LoanAbovePledgeRate { .. } => "WORKFLOW_LOAN_ABOVE_PLEDGE_RATE",
            WorkflowError::IotAlert { .. } => "WORKFLOW_IOT_ALERT",
            WorkflowError::ReceiptNotFlagged { .. } => "WORKFLOW_RECEIPT_NOT_FLAGGED",
            WorkflowError::MarginCallOpen { .. } => "WORKFLOW_MARGIN_CALL_OPEN",
            WorkflowError::NoMarginCall { .. } => "WORKFLOW_NO_MARGIN_CALL",
            WorkflowError::NotOverdue { .. } => "WORKFLOW_NOT_OVERDUE",
            WorkflowError::AlreadyEscalated { .. } => "WORKFLOW_ALREADY_ESCALATED",
            WorkflowError::AmountMismatch { .. } => "WORKFLOW_AMOUNT_MISMATCH",
            WorkflowError::ReservationWithdrawn { .. } => "WORKFLOW_RESERVATION_WITHDRAWN",
        }
    }
}

pub(crate) type Result<T> = std::result::Result<T, WorkflowError>;

// ---------------------------------------------------------------------------------------------------
// State layout and read helpers.

fn instance_key(id: &str) -> String {
    format!("workflow/i/{id}")
}

/// A process instance by id.
pub fn load_instance(state: &dyn StateRead, id: &str) -> std::result::Result<Option<Instance>, StoreError> {
    if !valid_id(id) {
        return Ok(None);
    }
    kv::get(state, &instance_key(id))
}

pub(crate) fn save_instance(state: &mut dyn StateWrite, id: &str, i: &Instance) {
    kv::put(state, &instance_key(id), i);
}

pub(crate) fn require_instance(state: &dyn StateRead, id: &str) -> Result<Instance> {
    load_instance(state, id)?.ok_or_else(|| WorkflowError::NotFound { id: id.to_string() })
}

fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 40
        && s.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

// ---------------------------------------------------------------------------------------------------
// Shared checks.

pub(crate) fn check_new_id(state: &dyn StateRead, id: &str) -> Result<()> {
    if !valid_id(id) {
        return Err(invalid("application_id", format!("{id:?} must be 1..=40 of A-Z 0-9 - _")));
    }
    if kv::get::<Instance>(state, &instance_key(id))?.is_some() {
        return Err(WorkflowError::IdTaken { id: id.to_string() });
    }
    Ok(())
}

pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> WorkflowError {
    WorkflowError::Invalid { field: field.into(), reason: reason.into() }
}

pub(crate) fn text(field: &str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.chars().count() > MAX_TEXT {
        return Err(invalid(field, format!("at most {MAX_TEXT} characters")));
    }
    if s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

pub(crate) fn check_documents(field: &str, docs: &[Document]) -> Result<()> {
    if docs.len() > MAX_DOCUMENTS {
        return Err(invalid(field, format!("at most {MAX_DOCUMENTS} documents")));
    }
    for (i, d) in docs.iter().enumerate() {
        text(&format!("{field}[{i}].name"), &d.name)?;
        if d.sm3.len() != 64 || !d.sm3.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return Err(invalid(format!("{field}[{i}].sm3"), "must be 64 lower-case hex digits"));
        }
    }
    Ok(())
}

/// The declared transition for `call` out of `from`, or a refusal naming the state.
pub(crate) fn transition(p: &ProcessDef, id: &str, from: &str, call: &'static str) -> Result<&'static TransitionDef> {
    p.transition(from, call).ok_or_else(|| WorkflowError::NotAllowed {
        id: id.to_string(),
        state: from.to_string(),
        call,
    })
}

/// The signer's organisation, which must be `expected` (the instance's party) and hold the party's role.
pub(crate) fn require_party(
    state: &dyn StateRead,
    ctx: &TxContext,
    id: &str,
    party: Party,
    expected: &str,
) -> Result<Org> {
    let org = org::signer_org(state, ctx)?;
    if party != Party::AnyMember && org.id != expected {
        return Err(WorkflowError::NotParty {
            org: org.id,
            party: party.as_str(),
            id: id.to_string(),
            expected: expected.to_string(),
        });
    }
    if let Some(role) = party.role() {
        if !org.has_role(role) {
            return Err(OrgError::MissingRole { org: org.id, role: role.as_str() }.into());
        }
    }
    Ok(org)
}

/// A party's call is refused once its step's deadline has passed: expiry wins, even before any timer
/// has submitted `Expire`.
pub(crate) fn check_before_deadline(ctx: &TxContext, id: &str, st: &str, deadline_ms: Option<u64>) -> Result<()> {
    match deadline_ms {
        Some(d) if ctx.time_ms > d => {
            Err(WorkflowError::DeadlinePassed { id: id.into(), state: st.into(), deadline_ms: d, now_ms: ctx.time_ms })
        }
        _ => Ok(()),
    }
}

/// `Expire` is valid only after the deadline.
pub(crate) fn check_expired(ctx: &TxContext, id: &str, st: &str, deadline_ms: Option<u64>) -> Result<()> {
    match deadline_ms {
        Some(d) if ctx.time_ms > d => Ok(()),
        _ => Err(WorkflowError::NotExpired { id: id.into(), state: st.into(), deadline_ms, now_ms: ctx.time_ms }),
    }
}

/// The deadline (block time, ms) of entering `st` of process `p` now: `None` if the state has none.
pub(crate) fn deadline_for(
    state: &dyn StateRead,
    p: &ProcessDef,
    st: &str,
    now_ms: u64,
    loan_due: Option<Date>,
) -> Result<Option<u64>> {
    let Some(d) = p.state(st).and_then(|s| s.deadline) else {
        return Ok(None);
    };
    Ok(match d.rule {
        definitions::DeadlineRule::Days(n) => {
            Some(now_ms.saturating_add(u64::from(n).saturating_mul(settings(state)?.day_ms)))
        }
        definitions::DeadlineRule::LoanDue | definitions::DeadlineRule::VoucherDue => loan_due.map(end_of_day_ms),
    })
}

/// The last millisecond of a business day (UTC+8), so a deadline "on the due date" lasts all that day.
pub fn end_of_day_ms(d: Date) -> u64 {
    let next_midnight_local = (i64::from(d.0) + 1) * DAY_MS as i64;
    (next_midnight_local - crate::date::BUSINESS_TZ_OFFSET_MS - 1).max(0) as u64
}

/// A context for a call the workflow makes on behalf of the account that signed the application.
pub(crate) fn on_behalf_of(ctx: &TxContext, key: &PublicKey) -> TxContext {
    TxContext { sender: *key, sender_address: key.address(), ..ctx.clone() }
}

/// Facts of one workflow event, turned into indexable attributes.
pub(crate) struct Facts<'a> {
    pub process: &'static str,
    pub id: &'a str,
    pub state: &'a str,
    pub action: &'a str,
    pub actor: &'a str,
    pub waiting: Option<(Party, &'a str)>,
    pub deadline_ms: Option<u64>,
    pub orgs: Vec<&'a str>,
    pub extra: Vec<(&'static str, &'a str)>,
}

pub(crate) fn workflow_event(kind: &str, f: Facts<'_>, data: &impl Serialize) -> Event {
    let deadline = f.deadline_ms.map(|d| d.to_string());
    let mut attrs: Vec<(&str, &str)> =
        vec![("instance", f.id), ("process", f.process), ("state", f.state), ("action", f.action), ("actor", f.actor)];
    if let Some((party, org)) = f.waiting {
        attrs.push(("waiting_org", org));
        attrs.push(("waiting_party", party.as_str()));
        if let Some(role) = party.role() {
            attrs.push(("waiting_role", role.as_str()));
        }
    }
    if let Some(d) = &deadline {
        attrs.push(("deadline_ms", d));
    }
    attrs.extend(f.extra.iter().copied());
    let mut seen: Vec<&str> = Vec::new();
    for o in f.orgs {
        if !o.is_empty() && !seen.contains(&o) {
            seen.push(o);
            attrs.push(("org", o));
        }
    }
    kv::event(MODULE, kind, &attrs, data)
}

/// Ids of every regulator organisation (told about escalations).
pub(crate) fn regulators(state: &dyn StateRead) -> Result<Vec<String>> {
    Ok(org::orgs_with_role(state, crate::org::Role::Regulator)?.into_iter().map(|o| o.id).collect())
}

pub struct WorkflowModule;

impl ModuleCall for WorkflowCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for WorkflowModule {
    type Call = WorkflowCall;
    type Error = WorkflowError;

    fn init_genesis(state: &mut dyn StateWrite, config: &serde_json::Value) -> std::result::Result<(), ModuleError> {
        if config.is_null() {
            return Ok(());
        }
        let s: WorkflowSettings = serde_json::from_value(config.clone())
            .map_err(|e| ModuleError::new("BAD_GENESIS", format!("app_state.workflow: {e}")))?;
        if s.day_ms == 0 {
            return Err(ModuleError::new("BAD_GENESIS", "app_state.workflow.day_ms: must be positive"));
        }
        kv::put(state, SETTINGS_KEY, &s);
        Ok(())
    }

    fn apply(
        ctx: &TxContext,
        state: &mut dyn StateWrite,
        call: WorkflowCall,
    ) -> std::result::Result<Vec<Event>, WorkflowError> {
        match call {
            WorkflowCall::ApplyFinancing { application_id, voucher_id, funder, requested_rate_bp, documents } => {
                financing::apply(ctx, state, application_id, voucher_id, funder, requested_rate_bp, documents)
            }
            WorkflowCall::RequestInfo { application_id, question } => {
                financing::request_info(ctx, state, application_id, question)
            }
            WorkflowCall::ProvideInfo { application_id, answer, documents } => {
                financing::provide_info(ctx, state, application_id, answer, documents)
            }
            WorkflowCall::CheckInvoices { application_id } => financing::check_invoices(ctx, state, application_id),
            WorkflowCall::ApproveFinancing { application_id, discount_rate_bp, agreement_ref } => {
                financing::approve(ctx, state, application_id, discount_rate_bp, agreement_ref)
            }
            WorkflowCall::RejectFinancing { application_id, reason } => {
                financing::reject(ctx, state, application_id, reason)
            }
            WorkflowCall::WithdrawFinancing { application_id, reason } => {
                financing::withdraw(ctx, state, application_id, reason)
            }
            WorkflowCall::RecordDisbursement { application_id, payment_ref, amount } => {
                financing::record_disbursement(ctx, state, application_id, payment_ref, amount)
            }
            WorkflowCall::ConfirmReceipt { application_id } => financing::confirm_receipt(ctx, state, application_id),
            WorkflowCall::ApplyPledge { application_id, receipt, funder, requested_amount, currency, documents } => {
                pledge::apply(ctx, state, application_id, receipt, funder, requested_amount, currency, documents)
            }
            WorkflowCall::ConfirmGoods { application_id, goods_value, iot } => {
                pledge::confirm_goods(ctx, state, application_id, goods_value, iot)
            }
            WorkflowCall::RejectPledge { application_id, reason } => pledge::reject(ctx, state, application_id, reason),
            WorkflowCall::WithdrawPledge { application_id, reason } => {
                pledge::withdraw(ctx, state, application_id, reason)
            }
            WorkflowCall::ApprovePledge { application_id, loan_amount, pledge_rate_bp, due, agreement_ref } => {
                pledge::approve(ctx, state, application_id, loan_amount, pledge_rate_bp, due, agreement_ref)
            }
            WorkflowCall::RecordRepayment { application_id, payment_ref } => {
                pledge::record_repayment(ctx, state, application_id, payment_ref)
            }
            WorkflowCall::ReleasePledge { application_id } => pledge::release(ctx, state, application_id),
            WorkflowCall::OpenMarginCall { application_id, reason } => {
                pledge::open_margin_call(ctx, state, application_id, reason)
            }
            WorkflowCall::ResolveMarginCall { application_id, resolution } => {
                pledge::resolve_margin_call(ctx, state, application_id, resolution)
            }
            WorkflowCall::ApplyFinancingSealed { application_id, voucher_id, funder, requested_rate, documents } => {
                financing::apply_sealed(ctx, state, application_id, voucher_id, funder, requested_rate, documents)
            }
            WorkflowCall::ApproveFinancingSealed { application_id, agreement_ref, terms } => {
                financing::approve_sealed(ctx, state, application_id, agreement_ref, terms)
            }
            WorkflowCall::RecordDisbursementSealed { application_id, payment_ref, amount } => {
                financing::record_disbursement_sealed(ctx, state, application_id, payment_ref, amount)
            }
            WorkflowCall::ApplyPledgeSealed {
                application_id,
                receipt,
                funder,
                requested_amount,
                currency,
                documents,
            } => {
                pledge::apply_sealed(ctx, state, application_id, receipt, funder, requested_amount, currency, documents)
            }
            WorkflowCall::ConfirmGoodsSealed { application_id, goods_value, iot } => {
                pledge::confirm_goods_sealed(ctx, state, application_id, goods_value, iot)
            }
            WorkflowCall::ApprovePledgeSealed { application_id, loan, due, agreement_ref } => {
                pledge::approve_sealed(ctx, state, application_id, loan, due, agreement_ref)
            }
            WorkflowCall::EscalateOverdue { root_id } => maturity::escalate(ctx, state, root_id),
            WorkflowCall::Expire { application_id, deadline } => {
                org::signer_org(state, ctx)?;
                match (require_instance(state, &application_id)?, deadline) {
                    (Instance::Financing(a), DeadlineKind::Step) => financing::expire(ctx, state, a),
                    (Instance::Pledge(a), DeadlineKind::Step) => pledge::expire(ctx, state, a),
                    (Instance::Pledge(a), DeadlineKind::MarginCall { seq }) => {
                        pledge::expire_margin_call(ctx, state, a, seq)
                    }
                    (Instance::Financing(_), DeadlineKind::MarginCall { .. }) => {
                        Err(WorkflowError::WrongProcess { id: application_id, actual: "financing", expected: "pledge" })
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;

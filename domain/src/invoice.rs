//! E-invoices (数电票, fully digitalised invoices): issue, 查验 (verify), 入账 (book once), 红冲
//! (red-letter reversal) and the financing lock that makes double financing impossible.
//!
//! Why the invoice module owns the financing ledger: an invoice is the trade background that several
//! vouchers (or several funders) could point at. Keeping "how much of this invoice has been financed"
//! on the invoice itself, and letting the voucher module change it only through [`lock_financing`] in
//! the same transaction, gives one place where the rule "financed ≤ unreversed amount" is enforced.
//!
//! Confidentiality: line items and prices live in [`InvoiceLines`], stored under their own key, apart
//! from the header that 查验 and financing need. [`InvoiceCall::IssueSealed`] carries them sealed
//! (SM4-GCM, data key wrapped for each entitled organisation — see [`crate::confidential`]): the chain
//! then stores only ciphertext, commitment and wrapped keys, never the plaintext lines.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::confidential::{self, ConfidentialError};
use crate::date::Date;
use crate::kv::{self, Rule, StoreError};
use crate::money::{self, Fen};
use crate::org::{self, OrgError};
use crate::ubl::{self, UblError};

pub const MODULE: &str = "invoice";

/// Most lines one invoice may carry (bounds the work of one transaction).
pub const MAX_LINES: usize = 1000;
/// Most financing locks one invoice may carry.
pub const MAX_LOCKS: usize = 1000;
/// Longest free-text field (names, remarks, references), in characters.
pub const MAX_TEXT: usize = 200;

/// A party to an invoice as printed on it: name and 统一社会信用代码 / 纳税人识别号.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub tax_id: String,
}

/// A postal address as EN 16931 carries it (BG-5 seller, BG-8 buyer). Empty strings are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default)]
pub struct PostalAddress {
    /// BT-35 / BT-50.
    pub street: String,
    /// BT-36 / BT-51.
    pub additional_street: String,
    /// BT-37 / BT-52.
    pub city: String,
    /// BT-38 / BT-53.
    pub postal_code: String,
    /// BT-39 / BT-54 (province).
    pub subdivision: String,
    /// BT-40 / BT-55: ISO 3166-1 alpha-2, required by EN 16931 whenever an invoice is exported.
    pub country: String,
}

/// What an EN 16931 invoice says about a party beyond its name and tax id. Empty strings are absent.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default)]
pub struct PartyDetails {
    /// Trading name (BT-28 / BT-45), when it differs from the registered name.
    pub trading_name: String,
    /// Legal registration id (BT-30 / BT-47) when it differs from `tax_id`.
    pub legal_id: String,
    /// The tax scheme `tax_id` is registered under: `VAT` (a VAT identifier, BT-31 / BT-48, which
    /// EN 16931 requires to start with a country code) or another scheme (BT-32). Empty: not said.
    pub tax_scheme: String,
    /// Electronic address (BT-34 / BT-49) and its scheme (EAS code).
    pub endpoint: String,
    pub endpoint_scheme: String,
    pub address: PostalAddress,
    /// Buyer's contact (BT-56); the seller's contact name is the issuer (开票人).
    pub contact_name: String,
    /// BT-42 / BT-57.
    pub contact_phone: String,
    /// BT-43 / BT-58.
    pub contact_email: String,
}

/// A payment instruction (EN 16931 BG-16).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default)]
pub struct PaymentMeans {
    /// UNTDID 4461 code (BT-81), e.g. `30` credit transfer, `58` SEPA credit transfer.
    pub code: String,
    /// Remittance information (BT-83).
    pub payment_id: String,
    /// Payee account (BT-84) and its name (BT-85).
    pub account_id: String,
    pub account_name: String,
}

/// EN 16931 data an invoice carries beyond the 数电票 header (all optional; an export that must
/// pass EN 16931 needs at least the parties' country codes and a due date or payment terms).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default)]
pub struct InvoiceDetails {
    pub seller: PartyDetails,
    pub buyer: PartyDetails,
    /// BT-9.
    pub due_date: Option<Date>,
    /// BT-10.
    pub buyer_reference: String,
    /// BT-20.
    pub payment_terms: String,
    pub payment_means: Vec<PaymentMeans>,
}

/// Most payment instructions one invoice may carry.
pub const MAX_PAYMENT_MEANS: usize = 8;

/// One line of an invoice (confidential: item, quantity and price reveal commercial terms).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InvoiceLine {
    /// 项目名称.
    pub item_name: String,
    /// 规格型号 (may be empty).
    pub spec: String,
    /// 单位 (may be empty).
    pub unit: String,
    /// 数量 as a decimal string; absent for services invoiced as a lump sum.
    pub quantity: Option<String>,
    /// 单价 (tax exclusive, yuan) as a decimal string; absent with `quantity`.
    pub unit_price: Option<String>,
    /// 金额: line amount excluding tax, in fen.
    pub amount: Fen,
    /// 税率 in basis points (1300 = 13 %).
    pub tax_rate_bp: u32,
    /// 税额 in fen.
    pub tax_amount: Fen,
}

/// The confidential part of an invoice, stored apart from the header.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InvoiceLines {
    pub lines: Vec<InvoiceLine>,
}

/// What a seller submits to issue an invoice.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct NewInvoice {
    /// 发票号码: 20 digits.
    pub number: String,
    pub issue_date: Date,
    /// ISO 4217 code (BT-5).
    pub currency: String,
    pub seller: Party,
    pub buyer: Party,
    /// The buyer's organisation id on chain, when the buyer is a member (needed to book the invoice and
    /// to use it as the trade background of a voucher).
    pub buyer_org: Option<String>,
    pub lines: Vec<InvoiceLine>,
    /// 合计金额 (excluding tax).
    pub total_amount: Fen,
    /// 合计税额.
    pub total_tax: Fen,
    /// 价税合计.
    pub total_with_tax: Fen,
    pub remarks: String,
    /// 开票人.
    pub issuer: String,
    /// EN 16931 details (addresses, payment); empty for invoices that never travel as UBL.
    #[serde(default)]
    pub details: InvoiceDetails,
}

/// An invoice whose lines travel sealed: the header in clear (lines left empty), the lines as
/// `borsh(InvoiceLines)` sealed by the seller's client for the object
/// [`confidential::Object::InvoiceLines`]. The chain cannot see the lines, so "totals equal the sum of
/// lines" is checked by the sealing client ([`validate_new_invoice`] before sealing) and by every
/// recipient after opening; the chain checks the header, that the totals add up, and the recipients.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct NewSealedInvoice {
    /// Header; `lines` must be empty.
    pub header: NewInvoice,
    pub line_count: u32,
    pub sealed_lines: scf_ledger::confidential::Sealed,
}

/// A booking (入账/报销) by the buyer.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Booking {
    /// The buyer's own reference (e.g. 记账凭证号).
    pub booking_ref: String,
    pub org: String,
    pub date: Date,
    pub height: u64,
    pub tx_id: String,
}

/// A red-letter invoice (红字发票) reversing part or all of this one.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Reversal {
    pub red_number: String,
    /// Amount reversed, tax included.
    pub amount_with_tax: Fen,
    pub reason: String,
    pub date: Date,
    pub height: u64,
}

/// An amount of this invoice pledged as trade background of a financed voucher.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FinancingLock {
    pub voucher_id: String,
    pub amount: Fen,
    pub height: u64,
}

/// The invoice header as stored on chain (no lines).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Invoice {
    pub number: String,
    pub issue_date: Date,
    pub currency: String,
    pub seller: Party,
    pub buyer: Party,
    /// The issuing organisation.
    pub seller_org: String,
    pub buyer_org: Option<String>,
    pub total_amount: Fen,
    pub total_tax: Fen,
    pub total_with_tax: Fen,
    pub remarks: String,
    pub issuer: String,
    pub line_count: u32,
    /// EN 16931 details, as issued.
    #[serde(default)]
    pub details: InvoiceDetails,
    pub booking: Option<Booking>,
    pub reversals: Vec<Reversal>,
    /// Sum of `reversals` amounts.
    pub reversed: Fen,
    pub locks: Vec<FinancingLock>,
    /// Sum of `locks` amounts; never above [`Invoice::unreversed`].
    pub financed: Fen,
    pub height: u64,
}

impl Invoice {
    /// Amount (tax included) not cancelled by red-letter invoices: the most that can back financing.
    pub fn unreversed(&self) -> Fen {
        self.total_with_tax.saturating_sub(self.reversed)
    }
    /// What can still be financed against this invoice.
    pub fn available_for_financing(&self) -> Fen {
        self.unreversed().saturating_sub(self.financed)
    }
    pub fn fully_reversed(&self) -> bool {
        self.reversed >= self.total_with_tax
    }
}

/// The only answers 查验 gives, so that knowing number + date + total reveals nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyResult {
    /// Exists with this date and total, and no red-letter invoice has been issued against it.
    Authentic,
    /// No invoice with this number, date and total.
    NotFound,
    /// Exists, but has been reversed (fully or partially) by a red-letter invoice.
    Reversed,
}

/// Calls of the `invoice` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum InvoiceCall {
    /// Seller issues an invoice with its lines in clear. Kept for clients that sign their own
    /// transactions, tests and benchmarks; the GraphQL API and the demo seeds issue
    /// [`InvoiceCall::IssueSealed`], so that no plaintext line enters a transaction or the state.
    Issue(NewInvoice),
    /// Seller issues an invoice from a UBL 2.1 / EN 16931 XML document, parsed on chain — the whole
    /// document, lines included, travels and rests in clear. Compatibility only, like `Issue`: the API
    /// parses UBL itself ([`crate::ubl::from_ubl_xml`]) and submits `IssueSealed`.
    IssueUbl { xml: String, buyer_org: Option<String> },
    /// Buyer books (入账) the invoice, once.
    Book { number: String, booking_ref: String },
    /// Seller reverses (红冲) part or all of the invoice with a red-letter invoice.
    Reverse { number: String, red_number: String, amount_with_tax: Fen, reason: String },
    /// Seller issues an invoice whose lines are sealed for the entitled organisations only.
    IssueSealed(NewSealedInvoice),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Ubl(#[from] UblError),
    #[error(transparent)]
    Confidential(#[from] ConfidentialError),
    #[error("{field}: {value:?} is not a 20-digit invoice number")]
    BadNumber { field: &'static str, value: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("number: invoice {number} already exists")]
    NumberExists { number: String },
    #[error("number: no invoice {number}")]
    NotFound { number: String },
    #[error("seller.tax_id: {tax_id} is not the credit code of the signing organisation {org}")]
    SellerMismatch { org: String, tax_id: String },
    #[error("buyer.tax_id: {tax_id} is not the credit code of buyer organisation {org}")]
    BuyerMismatch { org: String, tax_id: String },
    #[error("issue_date: {date} is after today {today}")]
    DateInFuture { date: Date, today: Date },
    #[error("lines[{line}].amount: {got} fen, but quantity × unit price is {expected} fen")]
    LineAmountMismatch { line: usize, expected: Fen, got: Fen },
    #[error("lines[{line}].tax_amount: {got} fen, but amount × rate is {expected} fen")]
    LineTaxMismatch { line: usize, expected: Fen, got: Fen },
    #[error("{field}: {got} fen, but the lines sum to {expected} fen")]
    TotalsMismatch { field: &'static str, expected: Fen, got: Fen },
    #[error("signer: {org} is not the buyer of invoice {number}")]
    NotBuyer { org: String, number: String },
    #[error("signer: {org} is not the seller of invoice {number}")]
    NotSeller { org: String, number: String },
    #[error("number: invoice {number} was already booked by {first_org} on {first_date} as {first_ref:?}")]
    AlreadyBooked { number: String, first_ref: String, first_org: String, first_date: Date },
    #[error("number: invoice {number} is fully reversed")]
    Reversed { number: String },
    #[error("amount_with_tax: {requested} fen exceeds the unreversed {remaining} fen of invoice {number}")]
    ReversalExceedsAmount { number: String, remaining: Fen, requested: Fen },
    #[error("amount_with_tax: reversing {requested} fen would leave {remaining_after} fen of invoice {number}, below the {financed} fen already financed")]
    ReversalBelowFinanced { number: String, financed: Fen, remaining_after: Fen, requested: Fen },
    #[error("invoice {number}: financing {requested} fen exceeds the {available} fen still available (unreversed minus already financed)")]
    OverFinanced { number: String, available: Fen, requested: Fen },
    #[error("currency: invoice {number} is in {invoice}, not {wanted}")]
    CurrencyMismatch { number: String, invoice: String, wanted: String },
    #[error("{field}: amount overflows")]
    Overflow { field: &'static str },
}

impl Rule for InvoiceError {
    fn code(&self) -> &'static str {
        match self {
            InvoiceError::Store(e) => e.code(),
            InvoiceError::Org(e) => e.code(),
            InvoiceError::Ubl(e) => e.code(),
            InvoiceError::Confidential(e) => e.code(),
            InvoiceError::BadNumber { .. } => "INVOICE_BAD_NUMBER",
            InvoiceError::Invalid { .. } => "INVOICE_INVALID_FIELD",
            InvoiceError::NumberExists { .. } => "INVOICE_NUMBER_EXISTS",
            InvoiceError::NotFound { .. } => "INVOICE_NOT_FOUND",
            InvoiceError::SellerMismatch { .. } => "INVOICE_SELLER_MISMATCH",
            InvoiceError::BuyerMismatch { .. } => "INVOICE_BUYER_MISMATCH",
            InvoiceError::DateInFuture { .. } => "INVOICE_DATE_IN_FUTURE",
            InvoiceError::LineAmountMismatch { .. } => "INVOICE_LINE_AMOUNT_MISMATCH",
            InvoiceError::LineTaxMismatch { .. } => "INVOICE_LINE_TAX_MISMATCH",
            InvoiceError::TotalsMismatch { .. } => "INVOICE_TOTALS_MISMATCH",
            InvoiceError::NotBuyer { .. } => "INVOICE_NOT_BUYER",
            InvoiceError::NotSeller { .. } => "INVOICE_NOT_SELLER",
            InvoiceError::AlreadyBooked { .. } => "INVOICE_ALREADY_BOOKED",
            InvoiceError::Reversed { .. } => "INVOICE_REVERSED",
            InvoiceError::ReversalExceedsAmount { .. } => "INVOICE_REVERSAL_EXCEEDS_AMOUNT",
            InvoiceError::ReversalBelowFinanced { .. } => "INVOICE_REVERSAL_BELOW_FINANCED",
            InvoiceError::OverFinanced { .. } => "INVOICE_OVER_FINANCED",
            InvoiceError::CurrencyMismatch { .. } => "INVOICE_CURRENCY_MISMATCH",
            InvoiceError::Overflow { .. } => "AMOUNT_OVERFLOW",
        }
    }
}

fn invoice_key(number: &str) -> String {
    format!("invoice/i/{number}")
}
fn lines_key(number: &str) -> String {
    format!("invoice/l/{number}")
}
fn red_key(red_number: &str) -> String {
    format!("invoice/red/{red_number}")
}

/// True for a 数电票 number: exactly 20 ASCII digits.
pub fn valid_number(s: &str) -> bool {
    s.len() == 20 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The invoice header, by number.
pub fn load_invoice(state: &dyn StateRead, number: &str) -> Result<Option<Invoice>, StoreError> {
    if !valid_number(number) {
        return Ok(None);
    }
    kv::get(state, &invoice_key(number))
}

/// The sealed lines of an invoice issued with [`InvoiceCall::IssueSealed`] (ciphertext, commitment,
/// wrapped keys); open them with [`scf_ledger::confidential::open`] and the object's AAD.
pub fn load_sealed_lines(
    state: &dyn StateRead,
    number: &str,
) -> Result<Option<scf_ledger::confidential::Sealed>, StoreError> {
    if !valid_number(number) {
        return Ok(None);
    }
    confidential::load_sealed(state, &confidential::Object::InvoiceLines { number: number.to_string() })
}

/// The confidential lines in clear, by number, for invoices issued with clear lines (the API decides
/// who may see them); `None` for sealed invoices (see [`load_sealed_lines`]).
pub fn load_lines(state: &dyn StateRead, number: &str) -> Result<Option<InvoiceLines>, StoreError> {
    if !valid_number(number) {
        return Ok(None);
    }
    kv::get(state, &lines_key(number))
}

/// 查验: answers only authentic / not found / reversed. A wrong date or total is "not found", so the
/// answer never confirms that a number exists to someone who does not know the invoice.
pub fn verify_invoice(
    state: &dyn StateRead,
    number: &str,
    date: Date,
    total_with_tax: Fen,
) -> Result<VerifyResult, StoreError> {
    Ok(match load_invoice(state, number)? {
        Some(inv) if inv.issue_date == date && inv.total_with_tax == total_with_tax => {
            if inv.reversals.is_empty() {
                VerifyResult::Authentic
            } else {
                VerifyResult::Reversed
            }
        }
        _ => VerifyResult::NotFound,
    })
}

fn require_invoice(state: &dyn StateRead, number: &str) -> Result<Invoice, InvoiceError> {
    if !valid_number(number) {
        return Err(InvoiceError::BadNumber { field: "number", value: number.to_string() });
    }
    load_invoice(state, number)?.ok_or_else(|| InvoiceError::NotFound { number: number.to_string() })
}

/// What `amount` fen of this invoice backing a voucher would leave available, checked without writing.
pub fn check_financing(
    state: &dyn StateRead,
    number: &str,
    currency: &str,
    amount: Fen,
) -> Result<Invoice, InvoiceError> {
    let inv = require_invoice(state, number)?;
    if inv.currency != currency {
        return Err(InvoiceError::CurrencyMismatch {
            number: inv.number,
            invoice: inv.currency,
            wanted: currency.to_string(),
        });
    }
    if inv.fully_reversed() {
        return Err(InvoiceError::Reversed { number: inv.number });
    }
    if amount > inv.available_for_financing() {
        return Err(InvoiceError::OverFinanced {
            number: inv.number.clone(),
            available: inv.available_for_financing(),
            requested: amount,
        });
    }
    Ok(inv)
}

/// Pledge `amount` fen of an invoice to the financing of `voucher_id`. Called by the voucher module in
/// the financing transaction; refuses (and writes nothing) if the invoice would be over-financed.
pub fn lock_financing(
    state: &mut dyn StateWrite,
    number: &str,
    currency: &str,
    amount: Fen,
    voucher_id: &str,
    height: u64,
) -> Result<Invoice, InvoiceError> {
    let mut inv = check_financing(state, number, currency, amount)?;
    if inv.locks.len() >= MAX_LOCKS {
        return Err(InvoiceError::Invalid {
            field: "number".into(),
            reason: format!("invoice {number} already backs {MAX_LOCKS} financings"),
        });
    }
    inv.financed = inv.financed.checked_add(amount).ok_or(InvoiceError::Overflow { field: "financed" })?;
    inv.locks.push(FinancingLock { voucher_id: voucher_id.to_string(), amount, height });
    kv::put(state, &invoice_key(number), &inv);
    Ok(inv)
}

fn text(field: &str, s: &str, required: bool) -> Result<(), InvoiceError> {
    if required && s.trim().is_empty() {
        return Err(InvoiceError::Invalid { field: field.into(), reason: "must not be empty".into() });
    }
    if s.chars().count() > MAX_TEXT {
        return Err(InvoiceError::Invalid { field: field.into(), reason: format!("at most {MAX_TEXT} characters") });
    }
    Ok(())
}

fn valid_tax_id(s: &str) -> bool {
    (15..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

fn check_party(field: &str, p: &Party) -> Result<(), InvoiceError> {
    text(&format!("{field}.name"), &p.name, true)?;
    if !valid_tax_id(&p.tax_id) {
        return Err(InvoiceError::Invalid {
            field: format!("{field}.tax_id"),
            reason: format!("{:?} must be 15..=20 of 0-9 A-Z", p.tax_id),
        });
    }
    Ok(())
}

/// A non-negative decimal: up to 12 integer and 6 fraction digits. Returns (mantissa, scale).
pub fn parse_decimal(s: &str) -> Option<(u128, u32)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if int.is_empty() || int.len() > 12 || frac.len() > 6 || (s.contains('.') && frac.is_empty()) {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut m: u128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        m = m * 10 + u128::from(b - b'0');
    }
    Some((m, frac.len() as u32))
}

/// quantity × unit price in fen, rounded half up.
fn line_value_fen(q: (u128, u32), p: (u128, u32)) -> Option<Fen> {
    let num = q.0.checked_mul(p.0)?.checked_mul(100)?;
    let den = 10u128.checked_pow(q.1 + p.1)?;
    u64::try_from((num + den / 2) / den).ok()
}

/// Tax of a line amount at a rate, rounded half up (the rounding the tax system uses per line).
pub fn line_tax(amount: Fen, rate_bp: u32) -> Option<Fen> {
    let v = (amount as u128).checked_mul(rate_bp as u128)?;
    u64::try_from((v + 5_000) / 10_000).ok()
}

/// Rounding tolerance between a stated and a computed line figure, in fen.
const LINE_TOLERANCE_FEN: u64 = 1;

/// All checks of an invoice that need no state: fields, lines and totals.
pub fn validate_new_invoice(n: &NewInvoice) -> Result<(), InvoiceError> {
    validate_header(n)?;
    validate_lines(n)
}

/// The header of a sealed invoice: fields, no clear lines, a plausible line count and totals that add up.
pub fn validate_sealed_header(n: &NewInvoice, line_count: u32) -> Result<(), InvoiceError> {
    validate_header(n)?;
    if !n.lines.is_empty() {
        return Err(InvoiceError::Invalid {
            field: "header.lines".into(),
            reason: "must be empty: the lines travel sealed".into(),
        });
    }
    if line_count == 0 || line_count as usize > MAX_LINES {
        return Err(InvoiceError::Invalid { field: "line_count".into(), reason: format!("1..={MAX_LINES} lines") });
    }
    let with_tax = n.total_amount.checked_add(n.total_tax).ok_or(InvoiceError::Overflow { field: "total_with_tax" })?;
    if n.total_with_tax != with_tax {
        return Err(InvoiceError::TotalsMismatch {
            field: "total_with_tax",
            expected: with_tax,
            got: n.total_with_tax,
        });
    }
    if with_tax == 0 {
        return Err(InvoiceError::Invalid { field: "total_with_tax".into(), reason: "must be positive".into() });
    }
    Ok(())
}

fn validate_header(n: &NewInvoice) -> Result<(), InvoiceError> {
    if !valid_number(&n.number) {
        return Err(InvoiceError::BadNumber { field: "number", value: n.number.clone() });
    }
    if !money::valid_currency(&n.currency) {
        return Err(InvoiceError::Invalid {
            field: "currency".into(),
            reason: format!("{:?} is not an ISO 4217 code", n.currency),
        });
    }
    check_party("seller", &n.seller)?;
    check_party("buyer", &n.buyer)?;
    if n.seller.tax_id == n.buyer.tax_id {
        return Err(InvoiceError::Invalid {
            field: "buyer.tax_id".into(),
            reason: "seller and buyer must differ".into(),
        });
    }
    text("remarks", &n.remarks, false)?;
    text("issuer", &n.issuer, true)?;
    validate_details(n)
}

fn validate_details(n: &NewInvoice) -> Result<(), InvoiceError> {
    let d = &n.details;
    for (who, p) in [("seller", &d.seller), ("buyer", &d.buyer)] {
        let a = &p.address;
        for (f, v) in [
            ("trading_name", &p.trading_name),
            ("legal_id", &p.legal_id),
            ("tax_scheme", &p.tax_scheme),
            ("endpoint", &p.endpoint),
            ("endpoint_scheme", &p.endpoint_scheme),
            ("contact_name", &p.contact_name),
            ("contact_phone", &p.contact_phone),
            ("contact_email", &p.contact_email),
            ("address.street", &a.street),
            ("address.additional_street", &a.additional_street),
            ("address.city", &a.city),
            ("address.postal_code", &a.postal_code),
            ("address.subdivision", &a.subdivision),
        ] {
            text(&format!("details.{who}.{f}"), v, false)?;
        }
        let country_ok =
            a.country.is_empty() || (a.country.len() == 2 && a.country.bytes().all(|b| b.is_ascii_uppercase()));
        if !country_ok {
            return Err(InvoiceError::Invalid {
                field: format!("details.{who}.address.country"),
                reason: format!("{:?} is not an ISO 3166-1 alpha-2 code", a.country),
            });
        }
        if p.endpoint.is_empty() != p.endpoint_scheme.is_empty() {
            return Err(InvoiceError::Invalid {
                field: format!("details.{who}.endpoint_scheme"),
                reason: "an electronic address and its scheme go together".into(),
            });
        }
    }
    if let Some(due) = d.due_date {
        if due < n.issue_date {
            return Err(InvoiceError::Invalid {
                field: "details.due_date".into(),
                reason: format!("{due} is before the issue date {}", n.issue_date),
            });
        }
    }
    text("details.buyer_reference", &d.buyer_reference, false)?;
    text("details.payment_terms", &d.payment_terms, false)?;
    if d.payment_means.len() > MAX_PAYMENT_MEANS {
        return Err(InvoiceError::Invalid {
            field: "details.payment_means".into(),
            reason: format!("at most {MAX_PAYMENT_MEANS}"),
        });
    }
    for (i, m) in d.payment_means.iter().enumerate() {
        if m.code.is_empty() || m.code.len() > 3 || !m.code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(InvoiceError::Invalid {
                field: format!("details.payment_means[{i}].code"),
                reason: format!("{:?} is not a UNTDID 4461 payment means code", m.code),
            });
        }
        for (f, v) in [("payment_id", &m.payment_id), ("account_id", &m.account_id), ("account_name", &m.account_name)]
        {
            text(&format!("details.payment_means[{i}].{f}"), v, false)?;
        }
    }
    Ok(())
}

fn validate_lines(n: &NewInvoice) -> Result<(), InvoiceError> {
    if n.lines.is_empty() || n.lines.len() > MAX_LINES {
        return Err(InvoiceError::Invalid { field: "lines".into(), reason: format!("1..={MAX_LINES} lines") });
    }
    let (mut sum_amount, mut sum_tax) = (0u64, 0u64);
    for (i, l) in n.lines.iter().enumerate() {
        text(&format!("lines[{i}].item_name"), &l.item_name, true)?;
        text(&format!("lines[{i}].spec"), &l.spec, false)?;
        text(&format!("lines[{i}].unit"), &l.unit, false)?;
        if l.tax_rate_bp > 10_000 {
            return Err(InvoiceError::Invalid {
                field: format!("lines[{i}].tax_rate_bp"),
                reason: "at most 10000 (100 %)".into(),
            });
        }
        match (&l.quantity, &l.unit_price) {
            (None, None) => {}
            (Some(q), Some(p)) => {
                let qd = parse_decimal(q).ok_or_else(|| InvoiceError::Invalid {
                    field: format!("lines[{i}].quantity"),
                    reason: format!("{q:?} is not a decimal (≤12.6 digits)"),
                })?;
                let pd = parse_decimal(p).ok_or_else(|| InvoiceError::Invalid {
                    field: format!("lines[{i}].unit_price"),
                    reason: format!("{p:?} is not a decimal (≤12.6 digits)"),
                })?;
                let expected = line_value_fen(qd, pd).ok_or(InvoiceError::Overflow { field: "lines.amount" })?;
                if expected.abs_diff(l.amount) > LINE_TOLERANCE_FEN {
                    return Err(InvoiceError::LineAmountMismatch { line: i, expected, got: l.amount });
                }
            }
            _ => {
                return Err(InvoiceError::Invalid {
                    field: format!("lines[{i}].quantity"),
                    reason: "quantity and unit_price go together".into(),
                });
            }
        }
        let expected_tax =
            line_tax(l.amount, l.tax_rate_bp).ok_or(InvoiceError::Overflow { field: "lines.tax_amount" })?;
        if expected_tax.abs_diff(l.tax_amount) > LINE_TOLERANCE_FEN {
            return Err(InvoiceError::LineTaxMismatch { line: i, expected: expected_tax, got: l.tax_amount });
        }
        sum_amount = sum_amount.checked_add(l.amount).ok_or(InvoiceError::Overflow { field: "total_amount" })?;
        sum_tax = sum_tax.checked_add(l.tax_amount).ok_or(InvoiceError::Overflow { field: "total_tax" })?;
    }
    if n.total_amount != sum_amount {
        return Err(InvoiceError::TotalsMismatch { field: "total_amount", expected: sum_amount, got: n.total_amount });
    }
    if n.total_tax != sum_tax {
        return Err(InvoiceError::TotalsMismatch { field: "total_tax", expected: sum_tax, got: n.total_tax });
    }
    let with_tax = sum_amount.checked_add(sum_tax).ok_or(InvoiceError::Overflow { field: "total_with_tax" })?;
    if n.total_with_tax != with_tax {
        return Err(InvoiceError::TotalsMismatch {
            field: "total_with_tax",
            expected: with_tax,
            got: n.total_with_tax,
        });
    }
    if with_tax == 0 {
        return Err(InvoiceError::Invalid { field: "total_with_tax".into(), reason: "must be positive".into() });
    }
    Ok(())
}

fn number_taken(state: &dyn StateRead, number: &str) -> Result<bool, StoreError> {
    Ok(kv::get::<Invoice>(state, &invoice_key(number))?.is_some()
        || kv::get::<String>(state, &red_key(number))?.is_some())
}

fn issue(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    n: NewInvoice,
    sealed: Option<(u32, scf_ledger::confidential::Sealed)>,
) -> Result<Vec<Event>, InvoiceError> {
    let seller = org::signer_org(state, ctx)?;
    match &sealed {
        None => validate_new_invoice(&n)?,
        Some((count, _)) => validate_sealed_header(&n, *count)?,
    }
    if n.seller.tax_id != seller.credit_code {
        return Err(InvoiceError::SellerMismatch { org: seller.id, tax_id: n.seller.tax_id });
    }
    if let Some(b) = &n.buyer_org {
        let buyer = org::load_org(state, b)?.ok_or_else(|| OrgError::UnknownOrg { org: b.clone() })?;
        if buyer.credit_code != n.buyer.tax_id {
            return Err(InvoiceError::BuyerMismatch { org: buyer.id, tax_id: n.buyer.tax_id });
        }
        if buyer.id == seller.id {
            return Err(InvoiceError::Invalid {
                field: "buyer_org".into(),
                reason: "seller and buyer must differ".into(),
            });
        }
    }
    let today = Date::from_time_ms(ctx.time_ms);
    if n.issue_date > today {
        return Err(InvoiceError::DateInFuture { date: n.issue_date, today });
    }
    if number_taken(state, &n.number)? {
        return Err(InvoiceError::NumberExists { number: n.number });
    }
    let inv = Invoice {
        number: n.number.clone(),
        issue_date: n.issue_date,
        currency: n.currency,
        seller: n.seller,
        buyer: n.buyer,
        seller_org: seller.id.clone(),
        buyer_org: n.buyer_org,
        total_amount: n.total_amount,
        total_tax: n.total_tax,
        total_with_tax: n.total_with_tax,
        remarks: n.remarks,
        issuer: n.issuer,
        line_count: sealed.as_ref().map_or(n.lines.len() as u32, |(c, _)| *c),
        details: n.details,
        booking: None,
        reversals: Vec::new(),
        reversed: 0,
        locks: Vec::new(),
        financed: 0,
        height: ctx.height,
    };
    // The header goes in first: entitlement to sealed lines is decided from it.
    kv::put(state, &invoice_key(&inv.number), &inv);
    match sealed {
        None => kv::put(state, &lines_key(&inv.number), &InvoiceLines { lines: n.lines }),
        Some((_, s)) => {
            let object = confidential::Object::InvoiceLines { number: inv.number.clone() };
            let mut required = vec![(seller.id.as_str(), "seller")];
            if let Some(b) = &inv.buyer_org {
                required.push((b.as_str(), "buyer"));
            }
            confidential::check_new(state, &object, &s, &required)?;
            confidential::store(state, &object, &s);
        }
    }
    let mut attrs = vec![("invoice", inv.number.as_str()), ("org", seller.id.as_str())];
    if let Some(b) = &inv.buyer_org {
        attrs.push(("org", b.as_str()));
    }
    // The event carries the header only: lines are confidential.
    Ok(vec![kv::event(MODULE, "InvoiceIssued", &attrs, &inv)])
}

fn book(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    number: String,
    booking_ref: String,
) -> Result<Vec<Event>, InvoiceError> {
    let signer = org::signer_org(state, ctx)?;
    text("booking_ref", &booking_ref, true)?;
    let mut inv = require_invoice(state, &number)?;
    if inv.buyer_org.as_deref() != Some(signer.id.as_str()) {
        return Err(InvoiceError::NotBuyer { org: signer.id, number });
    }
    if let Some(b) = &inv.booking {
        return Err(InvoiceError::AlreadyBooked {
            number,
            first_ref: b.booking_ref.clone(),
            first_org: b.org.clone(),
            first_date: b.date,
        });
    }
    if inv.fully_reversed() {
        return Err(InvoiceError::Reversed { number });
    }
    let booking = Booking {
        booking_ref,
        org: signer.id.clone(),
        date: Date::from_time_ms(ctx.time_ms),
        height: ctx.height,
        tx_id: ctx.tx_id.to_hex(),
    };
    inv.booking = Some(booking.clone());
    kv::put(state, &invoice_key(&number), &inv);
    Ok(vec![kv::event(
        MODULE,
        "InvoiceBooked",
        &[("invoice", &number), ("org", &signer.id), ("org", &inv.seller_org)],
        &serde_json::json!({ "number": number, "booking": booking }),
    )])
}

fn reverse(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    number: String,
    red_number: String,
    amount: Fen,
    reason: String,
) -> Result<Vec<Event>, InvoiceError> {
    let signer = org::signer_org(state, ctx)?;
    if !valid_number(&red_number) {
        return Err(InvoiceError::BadNumber { field: "red_number", value: red_number });
    }
    text("reason", &reason, true)?;
    let mut inv = require_invoice(state, &number)?;
    if inv.seller_org != signer.id {
        return Err(InvoiceError::NotSeller { org: signer.id, number });
    }
    if inv.fully_reversed() {
        return Err(InvoiceError::Reversed { number });
    }
    if amount == 0 {
        return Err(InvoiceError::Invalid { field: "amount_with_tax".into(), reason: "must be positive".into() });
    }
    let remaining = inv.unreversed();
    if amount > remaining {
        return Err(InvoiceError::ReversalExceedsAmount { number, remaining, requested: amount });
    }
    // A reversed amount cannot back financing: refuse a reversal that would leave financing unbacked.
    if remaining - amount < inv.financed {
        return Err(InvoiceError::ReversalBelowFinanced {
            number,
            financed: inv.financed,
            remaining_after: remaining - amount,
            requested: amount,
        });
    }
    if number_taken(state, &red_number)? {
        return Err(InvoiceError::NumberExists { number: red_number });
    }
    let rev = Reversal {
        red_number: red_number.clone(),
        amount_with_tax: amount,
        reason,
        date: Date::from_time_ms(ctx.time_ms),
        height: ctx.height,
    };
    inv.reversed += amount;
    inv.reversals.push(rev.clone());
    kv::put(state, &invoice_key(&number), &inv);
    kv::put(state, &red_key(&red_number), &number);
    let mut attrs = vec![("invoice", number.as_str()), ("org", inv.seller_org.as_str())];
    if let Some(b) = &inv.buyer_org {
        attrs.push(("org", b.as_str()));
    }
    let kind = if inv.fully_reversed() { "InvoiceReversed" } else { "InvoicePartiallyReversed" };
    Ok(vec![kv::event(
        MODULE,
        kind,
        &attrs,
        &serde_json::json!({ "number": number, "reversal": rev, "unreversed": inv.unreversed() }),
    )])
}

pub struct InvoiceModule;

impl ModuleCall for InvoiceCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for InvoiceModule {
    type Call = InvoiceCall;
    type Error = InvoiceError;

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: InvoiceCall) -> Result<Vec<Event>, InvoiceError> {
        match call {
            InvoiceCall::Issue(n) => issue(ctx, state, n, None),
            InvoiceCall::IssueUbl { xml, buyer_org } => {
                let mut n = ubl::from_ubl_xml(&xml)?;
                n.buyer_org = buyer_org;
                issue(ctx, state, n, None)
            }
            InvoiceCall::IssueSealed(s) => issue(ctx, state, s.header, Some((s.line_count, s.sealed_lines))),
            InvoiceCall::Book { number, booking_ref } => book(ctx, state, number, booking_ref),
            InvoiceCall::Reverse { number, red_number, amount_with_tax, reason } => {
                reverse(ctx, state, number, red_number, amount_with_tax, reason)
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod fixture;
#[cfg(test)]
mod tests;

//! Warehouse receipts (仓单) with the elements of GB/T 30332-2024, endorsement, split, pledge locks, IoT
//! flags and regulator freezes.
//!
//! The rule that matters most to a funder is the **global anti-double-pledge lock**: the same goods — the
//! same physical warehouse, zone, bin and goods identity — can back at most one active receipt and at
//! most one active pledge, whichever warehouse operator issues the receipt. The lock lives in chain state
//! under a normalised [`goods_keys`] key, so it holds across issuers; a serialised identity locks every
//! serial separately, so two receipts can never share one item.
//!
//! Who may do what:
//! - issue: an org with the `WarehouseOperator` role (it becomes the receipt's 保管人);
//! - endorse (transfer), split, pledge, withdraw (提货): the current holder;
//! - release a pledge: the funder holding it (on repayment);
//! - flag: the receipt's warehouse operator (call [`WarehouseCall::Flag`]), or the IoT alert path of
//!   another module through [`flag_receipt`] / [`flag_goods`] after it has verified the alert;
//! - clear a flag: the receipt's warehouse operator only, with a reason;
//! - freeze / unfreeze: the regulator.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::Hash32;
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::kv::{self, Rule, StoreError};
use crate::money::{valid_currency, Money};
use crate::org::{self, OrgError, OrgStatus, Role};
use crate::provenance::gs1;

pub const MODULE: &str = "warehouse";

/// Longest free-text field (goods name, spec, packaging, ...), in characters.
pub const MAX_TEXT: usize = 128;
/// Longest rights notice (权利提示), in characters.
pub const MAX_NOTICE: usize = 1024;
/// Most serials one receipt may list (each is locked separately).
pub const MAX_SERIALS: usize = 500;
/// Most parts one split may produce.
pub const MAX_SPLIT_PARTS: usize = 50;

/// Where the goods are stored: the physical warehouse (its code, e.g. a GLN or the operator's warehouse
/// code), zone (库区) and bin (货位).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StorageLocation {
    pub warehouse: String,
    pub zone: String,
    pub bin: String,
}

/// What goods these are (货物标识).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GoodsIdentity {
    /// A producer's lot / batch number.
    Lot { lot: String },
    /// GS1 GTIN (8, 12, 13 or 14 digits, check digit validated) plus lot.
    GtinLot { gtin: String, lot: String },
    /// Individually serialised items, optionally of one GTIN.
    Serials { gtin: Option<String>, serials: Vec<String> },
}

/// Insurance on the stored goods (保险).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Insurance {
    pub insurer: String,
    pub policy_number: String,
    pub insured_amount: Money,
    pub valid_until: Date,
}

/// The elements a new receipt carries (GB/T 30332-2024 仓单要素), as given by the warehouse operator.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReceiptTerms {
    /// 仓单编号: 1..=40 of A-Z a-z 0-9 - _; unique on the chain.
    pub number: String,
    /// 存货人: the depositor organisation; it becomes the first holder.
    pub depositor: String,
    /// 货物名称.
    pub goods_name: String,
    /// 规格 / 型号.
    pub spec: String,
    /// Unit the quantity counts (e.g. `kg`, `g`, `t`, `件`, `箱`).
    pub unit: String,
    /// 数量: an integer number of `unit` (use a smaller unit instead of decimals).
    pub quantity: u64,
    /// 包装.
    pub packaging: String,
    /// 存放地点.
    pub location: StorageLocation,
    /// 货物标识.
    pub identity: GoodsIdentity,
    /// 保险, when insured.
    pub insurance: Option<Insurance>,
    /// 仓单有效期: last valid day (business calendar).
    pub valid_until: Date,
    /// 权利提示 / 风险提示 printed on the receipt.
    pub rights_notice: String,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Endorsement {
    pub from: String,
    pub to: String,
    pub date: Date,
    pub height: u64,
    pub tx_id: Hash32,
    pub note: String,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Pledge {
    pub funder: String,
    /// Principal the pledge secures; `None` when sealed in `sealed_loan`.
    pub amount: Option<Money>,
    /// [`crate::terms::LoanTerms`] under [`crate::terms::pledge_scope`] of the receipt, for the holder,
    /// the funder and every regulator.
    pub sealed_loan: Option<scf_ledger::confidential::Sealed>,
    /// Agreed repayment date.
    pub due: Date,
    pub since: Date,
    pub height: u64,
    pub tx_id: Hash32,
}

/// Who raised a flag.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum FlagSource {
    /// The warehouse operator, by hand.
    Operator { org: String },
    /// An IoT alert raised on chain by another module (e.g. `device`), with its alert reference.
    Alert { module: String, alert_id: String },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Flag {
    pub source: FlagSource,
    pub reason: String,
    pub since: Date,
    pub height: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ReceiptStatus {
    Active,
    /// Replaced by its children (split by quantity).
    Split {
        children: Vec<String>,
    },
    /// Goods taken out of the warehouse (提货); the receipt is cancelled.
    Withdrawn {
        date: Date,
        by: String,
    },
}

/// A warehouse receipt as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    pub terms: ReceiptTerms,
    /// 保管人: the issuing warehouse operator organisation.
    pub operator: String,
    /// Current holder (持单人).
    pub holder: String,
    pub status: ReceiptStatus,
    pub pledge: Option<Pledge>,
    pub flag: Option<Flag>,
    /// Regulator freeze reason.
    pub frozen: Option<String>,
    /// 背书记录, oldest first (a split child starts with its parent's history).
    pub endorsements: Vec<Endorsement>,
    /// The receipt this one was split from.
    pub parent: Option<String>,
    pub issued: Date,
    pub issued_height: u64,
}

impl Receipt {
    pub fn is_active(&self) -> bool {
        self.status == ReceiptStatus::Active
    }
    /// The normalised goods keys this receipt locks.
    pub fn goods_keys(&self) -> Vec<String> {
        goods_keys(&self.terms.location, &self.terms.identity)
    }
}

/// One part of a split: its quantity and where / what exactly it is (the parts must be distinct goods:
/// a different bin, sub-lot or serial subset).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SplitPart {
    pub quantity: u64,
    pub location: StorageLocation,
    pub identity: GoodsIdentity,
}

/// Calls of the `warehouse` module. (`Issue` is large; a call is decoded once per transaction, so it is
/// not boxed, keeping the API plain for clients.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum WarehouseCall {
    /// Warehouse operator issues a receipt to the depositor.
    Issue {
        terms: ReceiptTerms,
    },
    /// Holder endorses the receipt to another organisation (背书转让).
    Endorse {
        number: String,
        to: String,
        note: String,
    },
    /// Holder splits the receipt by quantity; children are numbered `{number}-{i}` from 1.
    Split {
        number: String,
        parts: Vec<SplitPart>,
    },
    /// Holder pledges the receipt to an approved funder (质押).
    Pledge {
        number: String,
        funder: String,
        amount: Money,
        due: Date,
    },
    /// The pledgee funder releases the pledge on repayment (解押).
    Release {
        number: String,
    },
    /// Holder withdraws the goods (提货): the receipt is cancelled.
    Withdraw {
        number: String,
    },
    /// The receipt's warehouse operator flags it (e.g. after an inspection or an IoT alarm).
    Flag {
        number: String,
        reason: String,
    },
    /// The receipt's warehouse operator clears a flag, with the reason it is safe again.
    ClearFlag {
        number: String,
        reason: String,
    },
    /// Regulator freezes the receipt.
    Freeze {
        number: String,
        reason: String,
    },
    Unfreeze {
        number: String,
        reason: String,
    },
    /// [`WarehouseCall::Pledge`] with the loan sealed ([`crate::terms::LoanTerms`] under
    /// [`crate::terms::pledge_scope`]) for the holder, the funder and every regulator. (Appended last:
    /// Borsh numbers variants in order.)
    PledgeSealed {
        number: String,
        funder: String,
        loan: scf_ledger::confidential::Sealed,
        due: Date,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WarehouseError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Confidential(#[from] crate::confidential::ConfidentialError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("number: no warehouse receipt {number:?}")]
    NotFound { number: String },
    #[error("number: warehouse receipt {number:?} already exists")]
    NumberTaken { number: String },
    #[error("goods: {goods} already back active receipt {receipt}")]
    GoodsAlreadyReceipted { goods: String, receipt: String },
    #[error("goods: {goods} are already pledged under receipt {receipt}")]
    GoodsAlreadyPledged { goods: String, receipt: String },
    #[error("signer: {org} does not hold receipt {number} (holder is {holder})")]
    NotHolder { number: String, org: String, holder: String },
    #[error("signer: {org} is not the warehouse operator of receipt {number}")]
    NotOperator { number: String, org: String },
    #[error("signer: {org} is not the pledgee of receipt {number}")]
    NotPledgee { number: String, org: String },
    #[error("number: receipt {number} is {state}, not active")]
    Inactive { number: String, state: &'static str },
    #[error("number: receipt {number} is pledged to {funder}")]
    Pledged { number: String, funder: String },
    #[error("number: receipt {number} is not pledged")]
    NotPledged { number: String },
    #[error("number: receipt {number} is flagged: {reason}")]
    Flagged { number: String, reason: String },
    #[error("number: receipt {number} is not flagged")]
    NotFlagged { number: String },
    #[error("number: receipt {number} is frozen by the regulator: {reason}")]
    Frozen { number: String, reason: String },
    #[error("number: receipt {number} is not frozen")]
    NotFrozen { number: String },
    #[error("number: receipt {number} expired on {valid_until}")]
    Expired { number: String, valid_until: Date },
    #[error("funder: {org} is not an approved funder")]
    FunderNotApproved { org: String },
    #[error("parts: quantities sum to {sum}, the receipt holds {quantity}")]
    SplitQuantityMismatch { sum: u128, quantity: u64 },
}

impl Rule for WarehouseError {
    fn code(&self) -> &'static str {
        match self {
            WarehouseError::Store(e) => e.code(),
            WarehouseError::Org(e) => e.code(),
            WarehouseError::Confidential(e) => e.code(),
            WarehouseError::Invalid { .. } => "INVALID_FIELD",
            WarehouseError::NotFound { .. } => "RECEIPT_NOT_FOUND",
            WarehouseError::NumberTaken { .. } => "RECEIPT_NUMBER_TAKEN",
            WarehouseError::GoodsAlreadyReceipted { .. } => "GOODS_ALREADY_RECEIPTED",
            WarehouseError::GoodsAlreadyPledged { .. } => "GOODS_ALREADY_PLEDGED",
            WarehouseError::NotHolder { .. } => "NOT_RECEIPT_HOLDER",
            WarehouseError::NotOperator { .. } => "NOT_RECEIPT_OPERATOR",
            WarehouseError::NotPledgee { .. } => "NOT_PLEDGEE",
            WarehouseError::Inactive { .. } => "RECEIPT_INACTIVE",
            WarehouseError::Pledged { .. } => "RECEIPT_PLEDGED",
            WarehouseError::NotPledged { .. } => "RECEIPT_NOT_PLEDGED",
            WarehouseError::Flagged { .. } => "RECEIPT_FLAGGED",
            WarehouseError::NotFlagged { .. } => "RECEIPT_NOT_FLAGGED",
            WarehouseError::Frozen { .. } => "RECEIPT_FROZEN",
            WarehouseError::NotFrozen { .. } => "RECEIPT_NOT_FROZEN",
            WarehouseError::Expired { .. } => "RECEIPT_EXPIRED",
            WarehouseError::FunderNotApproved { .. } => "FUNDER_NOT_APPROVED",
            WarehouseError::SplitQuantityMismatch { .. } => "SPLIT_QUANTITY_MISMATCH",
        }
    }
}

type Result<T> = std::result::Result<T, WarehouseError>;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> WarehouseError {
    WarehouseError::Invalid { field: field.into(), reason: reason.into() }
}

// ---------------------------------------------------------------------------------------------
// State layout
// ---------------------------------------------------------------------------------------------

fn receipt_key(number: &str) -> String {
    format!("warehouse/r/{number}")
}
fn goods_lock_key(goods: &str) -> String {
    format!("warehouse/goods/{goods}")
}
fn pledge_lock_key(goods: &str) -> String {
    format!("warehouse/pledge/{goods}")
}
fn org_index_key(org: &str) -> String {
    format!("warehouse/org/{org}")
}

/// Normalise one component of a goods key: trimmed, whitespace removed, full-width ASCII folded to
/// half-width, ASCII upper-cased, and the key separators `|` and `/` escaped, so that `a-01`, `Ａ－０１`
/// and ` A-01 ` are the same bin.
pub fn normalise_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let c = match c as u32 {
            0xFF01..=0xFF5E => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            0x3000 => ' ',
            _ => c,
        };
        if c.is_whitespace() {
            continue;
        }
        match c {
            '|' => out.push_str("%7C"),
            '/' => out.push_str("%2F"),
            '%' => out.push_str("%25"),
            _ => out.push(c.to_ascii_uppercase()),
        }
    }
    out
}

/// The normalised goods-lock keys of goods at `location` with `identity`: one key for a lot, one per
/// serial for serialised goods. GTINs are normalised to 14 digits. Invalid GTINs are kept as given
/// (issue rejects them before any key is written).
pub fn goods_keys(location: &StorageLocation, identity: &GoodsIdentity) -> Vec<String> {
    let loc = format!(
        "{}|{}|{}",
        normalise_component(&location.warehouse),
        normalise_component(&location.zone),
        normalise_component(&location.bin)
    );
    let gtin14 = |g: &str| gs1::gtin14(g).unwrap_or_else(|_| normalise_component(g));
    match identity {
        GoodsIdentity::Lot { lot } => vec![format!("{loc}|LOT|{}", normalise_component(lot))],
        GoodsIdentity::GtinLot { gtin, lot } => {
            vec![format!("{loc}|GTIN|{}|LOT|{}", gtin14(gtin), normalise_component(lot))]
        }
        GoodsIdentity::Serials { gtin, serials } => {
            let g = gtin.as_deref().map(gtin14).unwrap_or_default();
            let mut keys: Vec<String> =
                serials.iter().map(|s| format!("{loc}|GTIN|{g}|SER|{}", normalise_component(s))).collect();
            keys.sort();
            keys.dedup();
            keys
        }
    }
}

pub fn load_receipt(state: &dyn StateRead, number: &str) -> std::result::Result<Option<Receipt>, StoreError> {
    kv::get(state, &receipt_key(number))
}

/// The active receipt holding the goods lock `goods` (a key from [`goods_keys`]), if any.
pub fn goods_lock(state: &dyn StateRead, goods: &str) -> std::result::Result<Option<String>, StoreError> {
    kv::get(state, &goods_lock_key(goods))
}

/// The receipt holding the pledge lock on `goods`, if any.
pub fn pledge_lock(state: &dyn StateRead, goods: &str) -> std::result::Result<Option<String>, StoreError> {
    kv::get(state, &pledge_lock_key(goods))
}

/// Every receipt number that ever concerned `org` (as operator, holder or pledgee), oldest first.
pub fn receipts_of(state: &dyn StateRead, org: &str) -> std::result::Result<Vec<String>, StoreError> {
    Ok(kv::get(state, &org_index_key(org))?.unwrap_or_default())
}

/// The active receipt for goods at a location (what an IoT alert bound to a bin looks up).
pub fn receipt_for_goods(
    state: &dyn StateRead,
    location: &StorageLocation,
    identity: &GoodsIdentity,
) -> std::result::Result<Option<Receipt>, StoreError> {
    for key in goods_keys(location, identity) {
        if let Some(n) = goods_lock(state, &key)? {
            return load_receipt(state, &n);
        }
    }
    Ok(None)
}

fn index_org(state: &mut dyn StateWrite, org: &str, number: &str) -> Result<()> {
    let mut list = receipts_of(state, org)?;
    if !list.iter().any(|n| n == number) {
        list.push(number.to_string());
        kv::put(state, &org_index_key(org), &list);
    }
    Ok(())
}

fn save(state: &mut dyn StateWrite, r: &Receipt) {
    kv::put(state, &receipt_key(&r.terms.number), r);
}

fn load(state: &dyn StateRead, number: &str) -> Result<Receipt> {
    load_receipt(state, number)?.ok_or_else(|| WarehouseError::NotFound { number: number.to_string() })
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn check_text(field: &str, s: &str, max: usize, required: bool) -> Result<()> {
    if required && s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if s.chars().any(|c| c.is_control()) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_number(field: &str, n: &str) -> Result<()> {
    if n.is_empty() || n.len() > 40 || !n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(invalid(field, format!("{n:?} must be 1..=40 of A-Z a-z 0-9 - _")));
    }
    Ok(())
}

fn check_location(field: &str, l: &StorageLocation) -> Result<()> {
    check_text(&format!("{field}.warehouse"), &l.warehouse, 64, true)?;
    check_text(&format!("{field}.zone"), &l.zone, 64, true)?;
    check_text(&format!("{field}.bin"), &l.bin, 64, true)?;
    Ok(())
}

fn check_gtin(field: &str, gtin: &str) -> Result<()> {
    gs1::gtin14(gtin).map(|_| ()).map_err(|e| invalid(field, e.to_string()))
}

fn check_identity(field: &str, id: &GoodsIdentity) -> Result<()> {
    match id {
        GoodsIdentity::Lot { lot } => check_text(&format!("{field}.lot"), lot, 64, true),
        GoodsIdentity::GtinLot { gtin, lot } => {
            check_gtin(&format!("{field}.gtin"), gtin)?;
            check_text(&format!("{field}.lot"), lot, 64, true)
        }
        GoodsIdentity::Serials { gtin, serials } => {
            if let Some(g) = gtin {
                check_gtin(&format!("{field}.gtin"), g)?;
            }
            if serials.is_empty() || serials.len() > MAX_SERIALS {
                return Err(invalid(format!("{field}.serials"), format!("1..={MAX_SERIALS} serials")));
            }
            let mut seen = std::collections::BTreeSet::new();
            for (i, s) in serials.iter().enumerate() {
                check_text(&format!("{field}.serials[{i}]"), s, 64, true)?;
                if !seen.insert(normalise_component(s)) {
                    return Err(invalid(format!("{field}.serials[{i}]"), format!("serial {s:?} is listed twice")));
                }
            }
            Ok(())
        }
    }
}

fn check_terms(t: &ReceiptTerms, today: Date) -> Result<()> {
    check_number("terms.number", &t.number)?;
    check_text("terms.goods_name", &t.goods_name, MAX_TEXT, true)?;
    check_text("terms.spec", &t.spec, MAX_TEXT, false)?;
    check_text("terms.unit", &t.unit, 16, true)?;
    check_text("terms.packaging", &t.packaging, MAX_TEXT, false)?;
    check_text("terms.rights_notice", &t.rights_notice, MAX_NOTICE, true)?;
    if t.quantity == 0 {
        return Err(invalid("terms.quantity", "must be positive"));
    }
    check_location("terms.location", &t.location)?;
    check_identity("terms.identity", &t.identity)?;
    if t.valid_until < today {
        return Err(invalid("terms.valid_until", format!("{} is before today {today}", t.valid_until)));
    }
    if let Some(ins) = &t.insurance {
        check_text("terms.insurance.insurer", &ins.insurer, MAX_TEXT, true)?;
        check_text("terms.insurance.policy_number", &ins.policy_number, 64, true)?;
        if ins.insured_amount.fen == 0 {
            return Err(invalid("terms.insurance.insured_amount", "must be positive"));
        }
        if !valid_currency(&ins.insured_amount.currency) {
            return Err(invalid("terms.insurance.insured_amount.currency", "must be an ISO 4217 code"));
        }
        if ins.valid_until < today {
            return Err(invalid("terms.insurance.valid_until", "the policy has already expired"));
        }
    }
    Ok(())
}

fn require_existing_org(state: &dyn StateRead, field: &str, id: &str) -> Result<()> {
    match org::load_org(state, id)? {
        None => Err(OrgError::UnknownOrg { org: id.to_string() }.into()),
        Some(o) => match o.status {
            OrgStatus::Active => Ok(()),
            OrgStatus::Frozen { reason } => Err(invalid(field, format!("organisation {id} is frozen: {reason}"))),
        },
    }
}

fn state_name(s: &ReceiptStatus) -> &'static str {
    match s {
        ReceiptStatus::Active => "active",
        ReceiptStatus::Split { .. } => "split",
        ReceiptStatus::Withdrawn { .. } => "withdrawn",
    }
}

fn require_active(r: &Receipt) -> Result<()> {
    if !r.is_active() {
        return Err(WarehouseError::Inactive { number: r.terms.number.clone(), state: state_name(&r.status) });
    }
    Ok(())
}

fn require_not_frozen(r: &Receipt) -> Result<()> {
    if let Some(reason) = &r.frozen {
        return Err(WarehouseError::Frozen { number: r.terms.number.clone(), reason: reason.clone() });
    }
    Ok(())
}

fn require_not_pledged(r: &Receipt) -> Result<()> {
    if let Some(p) = &r.pledge {
        return Err(WarehouseError::Pledged { number: r.terms.number.clone(), funder: p.funder.clone() });
    }
    Ok(())
}

fn require_not_expired(r: &Receipt, today: Date) -> Result<()> {
    if today > r.terms.valid_until {
        return Err(WarehouseError::Expired { number: r.terms.number.clone(), valid_until: r.terms.valid_until });
    }
    Ok(())
}

fn require_holder(r: &Receipt, org: &str) -> Result<()> {
    if r.holder != org {
        return Err(WarehouseError::NotHolder {
            number: r.terms.number.clone(),
            org: org.to_string(),
            holder: r.holder.clone(),
        });
    }
    Ok(())
}

/// Take the goods locks for `r`, or fail naming the receipt that holds one.
fn take_goods_locks(state: &mut dyn StateWrite, r: &Receipt) -> Result<()> {
    let keys = r.goods_keys();
    for k in &keys {
        if let Some(other) = goods_lock(state, k)? {
            return Err(WarehouseError::GoodsAlreadyReceipted { goods: k.clone(), receipt: other });
        }
    }
    for k in &keys {
        kv::put(state, &goods_lock_key(k), &r.terms.number);
    }
    Ok(())
}

fn release_goods_locks(state: &mut dyn StateWrite, r: &Receipt) -> Result<()> {
    for k in r.goods_keys() {
        if goods_lock(state, &k)?.as_deref() == Some(r.terms.number.as_str()) {
            kv::delete(state, &goods_lock_key(&k));
        }
    }
    Ok(())
}

fn receipt_attrs<'a>(r: &'a Receipt, extra: &[&'a str]) -> Vec<(&'static str, &'a str)> {
    let mut attrs = vec![("receipt", r.terms.number.as_str()), ("org", r.operator.as_str())];
    let mut orgs: Vec<&str> = vec![r.operator.as_str()];
    for o in std::iter::once(r.holder.as_str())
        .chain(r.pledge.as_ref().map(|p| p.funder.as_str()))
        .chain(extra.iter().copied())
    {
        if !orgs.contains(&o) {
            orgs.push(o);
            attrs.push(("org", o));
        }
    }
    attrs
}

fn ev(kind: &str, r: &Receipt, extra_orgs: &[&str], data: &impl Serialize) -> Event {
    let attrs = receipt_attrs(r, extra_orgs);
    kv::event(MODULE, kind, &attrs, data)
}

// ---------------------------------------------------------------------------------------------
// Flags from the IoT alert path
// ---------------------------------------------------------------------------------------------

/// Flag receipt `number` (idempotent: an already flagged receipt keeps its first flag and yields no
/// event). Called by the `Flag` transaction after checking the signer is the receipt's operator, and by
/// an alert module after it verified a device alert bound to this receipt. Emits `ReceiptFlagged`, and a
/// `MarginCall` to the pledgee when the receipt is pledged.
pub fn flag_receipt(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    number: &str,
    source: FlagSource,
    reason: &str,
) -> Result<Vec<Event>> {
    check_text("reason", reason, MAX_NOTICE, true)?;
    let mut r = load(state, number)?;
    require_active(&r)?;
    if r.flag.is_some() {
        return Ok(vec![]);
    }
    let today = Date::from_time_ms(ctx.time_ms);
    r.flag = Some(Flag { source, reason: reason.to_string(), since: today, height: ctx.height });
    save(state, &r);
    let mut events = vec![ev("ReceiptFlagged", &r, &[], &r)];
    if let Some(p) = &r.pledge {
        events.push(kv::event(
            MODULE,
            "MarginCall",
            &[("receipt", number), ("org", &p.funder), ("org", &r.holder), ("org", &r.operator)],
            &serde_json::json!({ "receipt": number, "funder": p.funder, "holder": r.holder, "reason": reason }),
        ));
    }
    Ok(events)
}

/// Flag whatever active receipt holds the goods at `location` with `identity` (an IoT alert bound to a
/// bin or a lot). Returns no events when no active receipt covers those goods.
pub fn flag_goods(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    location: &StorageLocation,
    identity: &GoodsIdentity,
    source: FlagSource,
    reason: &str,
) -> Result<Vec<Event>> {
    match receipt_for_goods(state, location, identity)? {
        Some(r) => flag_receipt(state, ctx, &r.terms.number, source, reason),
        None => Ok(vec![]),
    }
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

/// The principal a pledge secures: in clear, or sealed ([`crate::terms::LoanTerms`]).
enum PledgeAmount {
    Clear(Money),
    Sealed(scf_ledger::confidential::Sealed),
}

fn pledge(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    today: Date,
    number: String,
    funder: String,
    amount: PledgeAmount,
    due: Date,
) -> Result<Vec<Event>> {
    let me = org::signer_org(state, ctx)?;
    let mut r = load(state, &number)?;
    require_holder(&r, &me.id)?;
    require_active(&r)?;
    require_not_frozen(&r)?;
    require_not_expired(&r, today)?;
    require_not_pledged(&r)?;
    if let Some(f) = &r.flag {
        return Err(WarehouseError::Flagged { number, reason: f.reason.clone() });
    }
    if !org::is_approved_funder(state, &funder)? {
        return Err(WarehouseError::FunderNotApproved { org: funder });
    }
    require_existing_org(state, "funder", &funder)?;
    let (amount, sealed_loan) = match amount {
        PledgeAmount::Clear(amount) => {
            if amount.fen == 0 {
                return Err(invalid("amount", "must be positive"));
            }
            if !valid_currency(&amount.currency) {
                return Err(invalid("amount.currency", "must be an ISO 4217 code"));
            }
            (Some(amount), None)
        }
        PledgeAmount::Sealed(loan) => {
            let scope = crate::terms::pledge_scope(&number);
            crate::terms::check_sealed(state, "loan", &scope, &loan, &[&me.id, &funder])?;
            (None, Some(loan))
        }
    };
    if due < today {
        return Err(invalid("due", format!("{due} is before today {today}")));
    }
    let keys = r.goods_keys();
    for k in &keys {
        if let Some(other) = pledge_lock(state, k)? {
            return Err(WarehouseError::GoodsAlreadyPledged { goods: k.clone(), receipt: other });
        }
    }
    for k in &keys {
        kv::put(state, &pledge_lock_key(k), &number);
    }
    r.pledge = Some(Pledge {
        funder: funder.clone(),
        amount,
        sealed_loan,
        due,
        since: today,
        height: ctx.height,
        tx_id: ctx.tx_id,
    });
    save(state, &r);
    index_org(state, &funder, &number)?;
    Ok(vec![ev("ReceiptPledged", &r, &[], &r)])
}

pub struct WarehouseModule;

impl ModuleCall for WarehouseCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for WarehouseModule {
    type Call = WarehouseCall;
    type Error = WarehouseError;

    fn apply(
        ctx: &TxContext,
        state: &mut dyn StateWrite,
        call: WarehouseCall,
    ) -> std::result::Result<Vec<Event>, WarehouseError> {
        let today = Date::from_time_ms(ctx.time_ms);
        match call {
            WarehouseCall::Issue { terms } => {
                let op = org::require_role(state, ctx, Role::WarehouseOperator)?;
                check_terms(&terms, today)?;
                require_existing_org(state, "terms.depositor", &terms.depositor)?;
                if load_receipt(state, &terms.number)?.is_some() {
                    return Err(WarehouseError::NumberTaken { number: terms.number });
                }
                let r = Receipt {
                    holder: terms.depositor.clone(),
                    terms,
                    operator: op.id.clone(),
                    status: ReceiptStatus::Active,
                    pledge: None,
                    flag: None,
                    frozen: None,
                    endorsements: vec![],
                    parent: None,
                    issued: today,
                    issued_height: ctx.height,
                };
                take_goods_locks(state, &r)?;
                save(state, &r);
                index_org(state, &r.operator, &r.terms.number)?;
                index_org(state, &r.holder, &r.terms.number)?;
                Ok(vec![ev("ReceiptIssued", &r, &[], &r)])
            }
            WarehouseCall::Endorse { number, to, note } => {
                let me = org::signer_org(state, ctx)?;
                let mut r = load(state, &number)?;
                require_holder(&r, &me.id)?;
                require_active(&r)?;
                require_not_frozen(&r)?;
                require_not_pledged(&r)?;
                require_not_expired(&r, today)?;
                check_text("note", &note, MAX_TEXT, false)?;
                if to == me.id {
                    return Err(invalid("to", "cannot endorse a receipt to its own holder"));
                }
                require_existing_org(state, "to", &to)?;
                r.endorsements.push(Endorsement {
                    from: me.id.clone(),
                    to: to.clone(),
                    date: today,
                    height: ctx.height,
                    tx_id: ctx.tx_id,
                    note,
                });
                r.holder = to.clone();
                save(state, &r);
                index_org(state, &to, &number)?;
                Ok(vec![ev("ReceiptEndorsed", &r, &[&me.id], &r)])
            }
            WarehouseCall::Split { number, parts } => {
                let me = org::signer_org(state, ctx)?;
                let mut parent = load(state, &number)?;
                require_holder(&parent, &me.id)?;
                require_active(&parent)?;
                require_not_frozen(&parent)?;
                require_not_pledged(&parent)?;
                require_not_expired(&parent, today)?;
                if let Some(f) = &parent.flag {
                    return Err(WarehouseError::Flagged { number, reason: f.reason.clone() });
                }
                if parts.len() < 2 || parts.len() > MAX_SPLIT_PARTS {
                    return Err(invalid("parts", format!("a split needs 2..={MAX_SPLIT_PARTS} parts")));
                }
                let sum: u128 = parts.iter().map(|p| p.quantity as u128).sum();
                if sum != parent.terms.quantity as u128 {
                    return Err(WarehouseError::SplitQuantityMismatch { sum, quantity: parent.terms.quantity });
                }
                let parent_serials: Option<Vec<String>> = match &parent.terms.identity {
                    GoodsIdentity::Serials { serials, .. } => {
                        Some(serials.iter().map(|s| normalise_component(s)).collect())
                    }
                    _ => None,
                };
                let parent_norm_wh = normalise_component(&parent.terms.location.warehouse);
                let mut children = Vec::with_capacity(parts.len());
                for (i, p) in parts.iter().enumerate() {
                    let f = format!("parts[{i}]");
                    if p.quantity == 0 {
                        return Err(invalid(format!("{f}.quantity"), "must be positive"));
                    }
                    check_location(&format!("{f}.location"), &p.location)?;
                    check_identity(&format!("{f}.identity"), &p.identity)?;
                    if normalise_component(&p.location.warehouse) != parent_norm_wh {
                        return Err(invalid(
                            format!("{f}.location.warehouse"),
                            "a split part stays in the parent's warehouse",
                        ));
                    }
                    match (&parent.terms.identity, &p.identity) {
                        (GoodsIdentity::Lot { .. }, GoodsIdentity::Lot { .. }) => {}
                        (GoodsIdentity::GtinLot { gtin: a, .. }, GoodsIdentity::GtinLot { gtin: b, .. })
                            if gs1::gtin14(a).ok() == gs1::gtin14(b).ok() => {}
                        (GoodsIdentity::Serials { gtin: a, .. }, GoodsIdentity::Serials { gtin: b, serials }) => {
                            if a.as_deref().and_then(|g| gs1::gtin14(g).ok())
                                != b.as_deref().and_then(|g| gs1::gtin14(g).ok())
                            {
                                return Err(invalid(format!("{f}.identity.gtin"), "must equal the parent's GTIN"));
                            }
                            let ps = parent_serials.as_deref().unwrap_or(&[]);
                            if let Some(s) = serials.iter().find(|s| !ps.contains(&normalise_component(s))) {
                                return Err(invalid(
                                    format!("{f}.identity.serials"),
                                    format!("serial {s:?} is not on the parent receipt"),
                                ));
                            }
                        }
                        _ => {
                            return Err(invalid(
                                format!("{f}.identity"),
                                "must be the same kind of identity (and GTIN) as the parent's",
                            ))
                        }
                    }
                    let mut terms = parent.terms.clone();
                    terms.number = format!("{number}-{}", i + 1);
                    terms.quantity = p.quantity;
                    terms.location = p.location.clone();
                    terms.identity = p.identity.clone();
                    check_number(&format!("{f}.number"), &terms.number)?;
                    if load_receipt(state, &terms.number)?.is_some() {
                        return Err(WarehouseError::NumberTaken { number: terms.number });
                    }
                    children.push(Receipt {
                        terms,
                        operator: parent.operator.clone(),
                        holder: parent.holder.clone(),
                        status: ReceiptStatus::Active,
                        pledge: None,
                        flag: None,
                        frozen: None,
                        endorsements: parent.endorsements.clone(),
                        parent: Some(number.clone()),
                        issued: today,
                        issued_height: ctx.height,
                    });
                }
                // The parent's goods are replaced by the children's: release first, then every child
                // must take locks no one (including a sibling) holds.
                release_goods_locks(state, &parent)?;
                for c in &children {
                    take_goods_locks(state, c)?;
                    save(state, c);
                    index_org(state, &c.holder, &c.terms.number)?;
                    index_org(state, &c.operator, &c.terms.number)?;
                }
                parent.status =
                    ReceiptStatus::Split { children: children.iter().map(|c| c.terms.number.clone()).collect() };
                save(state, &parent);
                let mut events = vec![ev("ReceiptSplit", &parent, &[], &parent)];
                for c in &children {
                    events.push(ev("ReceiptIssued", c, &[], c));
                }
                Ok(events)
            }
            WarehouseCall::Pledge { number, funder, amount, due } => {
                pledge(ctx, state, today, number, funder, PledgeAmount::Clear(amount), due)
            }
            WarehouseCall::PledgeSealed { number, funder, loan, due } => {
                pledge(ctx, state, today, number, funder, PledgeAmount::Sealed(loan), due)
            }
            WarehouseCall::Release { number } => {
                let me = org::signer_org(state, ctx)?;
                let mut r = load(state, &number)?;
                let Some(p) = r.pledge.clone() else {
                    return Err(WarehouseError::NotPledged { number });
                };
                if p.funder != me.id {
                    return Err(WarehouseError::NotPledgee { number, org: me.id });
                }
                require_not_frozen(&r)?;
                for k in r.goods_keys() {
                    if pledge_lock(state, &k)?.as_deref() == Some(number.as_str()) {
                        kv::delete(state, &pledge_lock_key(&k));
                    }
                }
                r.pledge = None;
                save(state, &r);
                Ok(vec![ev("PledgeReleased", &r, &[&p.funder], &r)])
            }
            WarehouseCall::Withdraw { number } => {
                let me = org::signer_org(state, ctx)?;
                let mut r = load(state, &number)?;
                require_holder(&r, &me.id)?;
                require_active(&r)?;
                require_not_frozen(&r)?;
                require_not_pledged(&r)?;
                release_goods_locks(state, &r)?;
                r.status = ReceiptStatus::Withdrawn { date: today, by: me.id.clone() };
                save(state, &r);
                Ok(vec![ev("ReceiptWithdrawn", &r, &[], &r)])
            }
            WarehouseCall::Flag { number, reason } => {
                let me = org::signer_org(state, ctx)?;
                let r = load(state, &number)?;
                if r.operator != me.id {
                    return Err(WarehouseError::NotOperator { number, org: me.id });
                }
                if r.flag.is_some() {
                    return Err(invalid("number", format!("receipt {number} is already flagged")));
                }
                flag_receipt(state, ctx, &number, FlagSource::Operator { org: me.id.clone() }, &reason)
            }
            WarehouseCall::ClearFlag { number, reason } => {
                let me = org::signer_org(state, ctx)?;
                let mut r = load(state, &number)?;
                if r.operator != me.id {
                    return Err(WarehouseError::NotOperator { number, org: me.id });
                }
                check_text("reason", &reason, MAX_NOTICE, true)?;
                let Some(flag) = r.flag.take() else {
                    return Err(WarehouseError::NotFlagged { number });
                };
                save(state, &r);
                Ok(vec![ev(
                    "FlagCleared",
                    &r,
                    &[],
                    &serde_json::json!({ "receipt": number, "flag": flag, "reason": reason, "by": me.id }),
                )])
            }
            WarehouseCall::Freeze { number, reason } => {
                let reg = org::require_role(state, ctx, Role::Regulator)?;
                check_text("reason", &reason, MAX_NOTICE, true)?;
                let mut r = load(state, &number)?;
                if r.frozen.is_some() {
                    return Err(invalid("number", format!("receipt {number} is already frozen")));
                }
                r.frozen = Some(reason.clone());
                save(state, &r);
                Ok(vec![ev(
                    "ReceiptFrozen",
                    &r,
                    &[&reg.id],
                    &serde_json::json!({ "receipt": number, "reason": reason }),
                )])
            }
            WarehouseCall::Unfreeze { number, reason } => {
                let reg = org::require_role(state, ctx, Role::Regulator)?;
                check_text("reason", &reason, MAX_NOTICE, true)?;
                let mut r = load(state, &number)?;
                if r.frozen.is_none() {
                    return Err(WarehouseError::NotFrozen { number });
                }
                r.frozen = None;
                save(state, &r);
                Ok(vec![ev(
                    "ReceiptUnfrozen",
                    &r,
                    &[&reg.id],
                    &serde_json::json!({ "receipt": number, "reason": reason }),
                )])
            }
        }
    }
}

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;

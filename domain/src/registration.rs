//! The financing registration record: one per financing, with the fields a filing in 中登网
//! (动产融资统一登记公示系统, the PBoC Credit Reference Center's movable-collateral registry) needs for a
//! transfer of receivables (应收账款转让). Produced by the voucher module in the financing transaction,
//! so the record and the financing can never disagree; exported as JSON for the compliance team or a
//! filing tool.
//!
//! Why store it rather than derive it on export: parties' names and credit codes can change later
//! (governance), but a filing must show them as they were when the receivable was assigned.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::kv::{self, StoreError};
use crate::money::Fen;
use crate::org::Org;

/// 登记种类 for a factoring-style assignment of a receivable.
pub const REGISTRATION_TYPE: &str = "应收账款转让";
/// Day-count convention of the discount (written into the record so the figures can be re-derived).
pub const DAY_COUNT: &str = "ACT/360";

/// A party to the filing (出让人 / 受让人 / 债务人) as it stood at financing time.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RegistrationParty {
    pub org_id: String,
    /// 名称.
    pub name: String,
    /// 证件类型.
    pub id_type: String,
    /// 证件号码: 统一社会信用代码.
    pub id_number: String,
}

impl RegistrationParty {
    pub fn of(org: &Org) -> Self {
        RegistrationParty {
            org_id: org.id.clone(),
            name: org.name.clone(),
            id_type: "统一社会信用代码".into(),
            id_number: org.credit_code.clone(),
        }
    }
}

/// An invoice amount pledged as trade background of this financing.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InvoiceAllocation {
    pub number: String,
    pub amount: Fen,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct FinancingRegistration {
    /// Platform registration reference (deterministic: `REG-<voucher id>`).
    pub registration_no: String,
    /// 登记种类.
    pub registration_type: String,
    /// 登记期限 in months (covers the receivable up to its due date, at least 1).
    pub term_months: u32,
    /// 出让人: the holder who sold the receivable.
    pub transferor: RegistrationParty,
    /// 受让人: the funder.
    pub transferee: RegistrationParty,
    /// 债务人: the core enterprise that owes the receivable.
    pub obligor: RegistrationParty,
    /// 主合同号码: the financing (factoring) agreement.
    pub main_contract_no: String,
    /// 主合同金额: what the funder pays (net of discount), in fen; `None` when sealed in `sealed_terms`.
    pub main_contract_amount: Option<Fen>,
    /// 转让财产价值: face amount of the receivable, in fen.
    pub property_value: Fen,
    pub currency: String,
    /// 财产描述.
    pub property_description: String,
    pub voucher_id: String,
    pub root_voucher_id: String,
    /// 基础交易合同.
    pub trade_contract_ref: String,
    pub invoices: Vec<InvoiceAllocation>,
    pub financing_date: Date,
    pub due_date: Date,
    /// `None` when sealed in `sealed_terms`.
    pub discount_rate_bp: Option<u32>,
    pub day_count: String,
    pub days: u32,
    /// `None` when sealed in `sealed_terms`.
    pub discount_interest: Option<Fen>,
    /// The financing's figures ([`crate::terms::DiscountTerms`] under [`crate::terms::financing_scope`]):
    /// rate, interest and 主合同金额, for the transferor, the transferee and every regulator.
    pub sealed_terms: Option<scf_ledger::confidential::Sealed>,
    pub height: u64,
    pub tx_id: String,
}

fn key(voucher_id: &str) -> String {
    format!("registration/{voucher_id}")
}

pub fn save(state: &mut dyn StateWrite, reg: &FinancingRegistration) {
    kv::put(state, &key(&reg.voucher_id), reg);
}

/// The registration record of a financed voucher.
pub fn load_registration(state: &dyn StateRead, voucher_id: &str) -> Result<Option<FinancingRegistration>, StoreError> {
    kv::get(state, &key(voucher_id))
}

/// The record as pretty JSON for export (None if the voucher was never financed).
pub fn export_registration_json(state: &dyn StateRead, voucher_id: &str) -> Result<Option<String>, StoreError> {
    match load_registration(state, voucher_id)? {
        None => Ok(None),
        Some(r) => serde_json::to_string_pretty(&r)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { key: key(voucher_id), reason: e.to_string() }),
    }
}

/// Whole months from `from` until `to` is covered, at least 1.
pub fn term_months(from: Date, to: Date) -> u32 {
    let mut m = 1;
    while from.add_months(m) < to && m < 360 {
        m += 1;
    }
    m
}

//! Sealed financial terms: discount rates, financed and disbursed amounts, pledge amounts and rates
//! (issue #21). Like invoice lines ([`crate::confidential`]), these figures never enter a transaction
//! or the state in clear when the API seals them (the default): the client seals a small Borsh payload
//! with [`scf_ledger::confidential::seal`] for the parties and every regulator, and the chain stores the
//! ciphertext, its SM3 commitment and the wrapped keys next to the business record.
//!
//! What changes for the rules. The chain cannot compare figures it cannot read, so for sealed terms:
//! - validators still enforce everything that does not need the figure: roles, states, deadlines, who
//!   may act, the voucher and receipt moves, the over-financing rule on invoice amounts (face amounts
//!   stay clear), and that every party and every regulator is a recipient;
//! - the figure rules (a rate in 1..=10 000 bp, approved rate ≤ requested rate, interest and net by
//!   ACT/360, disbursement = net, loan ≤ pledge rate × goods value, amounts positive) are checked by
//!   the acting party's API before it seals ([`DiscountTerms::compute`], [`LoanTerms::check`]), and again
//!   by every other party's API when it opens them, which reports a breach instead of showing the
//!   figures as agreed. The regulator, always a recipient, can audit every sealed term.
//!
//! Each sealed value is bound (AAD) to the record it belongs to, so it cannot be replayed onto another
//! voucher or application.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::confidential::{Sealed, WRAPPED_KEY_LEN};
use scf_ledger::state::StateRead;
use serde::{Deserialize, Serialize};

use crate::confidential::{ConfidentialError, MAX_CIPHERTEXT, MAX_RECIPIENTS};
use crate::money::{self, Fen};
use crate::org::{self, Role};

/// Largest sealed terms accepted: the payloads are a few integers.
pub const MAX_TERMS_CIPHERTEXT: usize = 1024;

/// A rate a holder offers (or a supplier applies for) a voucher at, in basis points a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RateTerms {
    pub rate_bp: u32,
}

/// The figures of a financing: ACT/360 discount of the face amount over `days`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct DiscountTerms {
    pub rate_bp: u32,
    pub days: u32,
    pub interest: Fen,
    /// What the funder pays the seller.
    pub net: Fen,
}

/// One amount (a requested loan, a goods value, a disbursement).
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct AmountTerms {
    pub amount: Fen,
}

/// A pledge loan, its currency, and the loan-to-value limit (质押率) it was approved under (none for a
/// receipt its holder pledged directly, outside a pledge application).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LoanTerms {
    pub loan_amount: Fen,
    pub currency: String,
    pub pledge_rate_bp: Option<u32>,
}

/// Why sealed terms do not hold (checked by the API before sealing and after opening).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
}

fn invalid(field: &'static str, reason: impl Into<String>) -> TermsError {
    TermsError::Invalid { field, reason: reason.into() }
}

impl RateTerms {
    /// A rate in 1..=10 000 bp (at most 100 % a year).
    pub fn check(&self, field: &'static str) -> Result<(), TermsError> {
        if self.rate_bp == 0 || self.rate_bp > 10_000 {
            return Err(invalid(field, format!("{} bp; must be 1..=10000 (at most 100 % a year)", self.rate_bp)));
        }
        Ok(())
    }
}

impl DiscountTerms {
    /// The discount of `face` at `rate_bp` over `days`, as the voucher rules compute it in clear.
    pub fn compute(face: Fen, rate_bp: u32, days: u32) -> Result<DiscountTerms, TermsError> {
        if rate_bp > 10_000 {
            return Err(invalid("discount_rate_bp", format!("{rate_bp} bp; at most 10000 (100 % a year)")));
        }
        let (interest, net) = crate::voucher::discount(face, rate_bp, days)
            .ok_or_else(|| invalid("discount_rate_bp", "the discount overflows"))?;
        Ok(DiscountTerms { rate_bp, days, interest, net })
    }

    /// Do these figures agree with `face`, `days` and a requested rate ceiling?
    pub fn check(&self, face: Fen, days: u32, requested_rate_bp: Option<u32>) -> Result<(), TermsError> {
        if self.days != days {
            return Err(invalid("days", format!("sealed {} days, the voucher has {days}", self.days)));
        }
        let expected = DiscountTerms::compute(face, self.rate_bp, days)?;
        if expected != *self {
            return Err(invalid(
                "discount_interest",
                format!(
                    "sealed interest {} and net {}; ACT/360 gives {} and {}",
                    self.interest, self.net, expected.interest, expected.net
                ),
            ));
        }
        if let Some(req) = requested_rate_bp {
            if self.rate_bp > req {
                return Err(invalid(
                    "discount_rate_bp",
                    format!("{} bp is above the {req} bp the supplier applied for", self.rate_bp),
                ));
            }
        }
        Ok(())
    }
}

impl AmountTerms {
    pub fn check(&self, field: &'static str) -> Result<(), TermsError> {
        if self.amount == 0 {
            return Err(invalid(field, "must be positive"));
        }
        Ok(())
    }
}

impl LoanTerms {
    /// The loan is positive, in an ISO 4217 currency, and — under a pledge rate in 1..=10 000 — within
    /// that rate of `goods_value` (when known).
    pub fn check(&self, goods_value: Option<Fen>) -> Result<(), TermsError> {
        if self.loan_amount == 0 {
            return Err(invalid("loan_amount", "must be positive"));
        }
        if !money::valid_currency(&self.currency) {
            return Err(invalid("currency", "must be an ISO 4217 code"));
        }
        let Some(rate) = self.pledge_rate_bp else { return Ok(()) };
        if rate == 0 || rate > 10_000 {
            return Err(invalid("pledge_rate_bp", "must be 1..=10000"));
        }
        let Some(goods_value) = goods_value else { return Ok(()) };
        let max = money::apply_bp(goods_value, rate).ok_or_else(|| invalid("goods_value", "amount overflows"))?;
        if self.loan_amount > max {
            return Err(invalid(
                "loan_amount",
                format!("{} fen is above {max} fen ({rate} bp of the goods value {goods_value} fen)", self.loan_amount),
            ));
        }
        Ok(())
    }
}

/// Scope of the rate a voucher is offered at (every offer on the voucher, and a financing
/// application's requested rate, which reserves the voucher with that offer).
pub fn offer_scope(voucher_id: &str) -> String {
    format!("voucher/{voucher_id}/offer")
}

/// Scope of a voucher's financing figures ([`DiscountTerms`]), shared by the voucher's financing
/// record, its registration record and the approving workflow step.
pub fn financing_scope(voucher_id: &str) -> String {
    format!("voucher/{voucher_id}/financing")
}

/// Scope of a workflow instance's sealed figure `what` (`disbursement`, `request`, `goods`, `loan`).
pub fn workflow_scope(instance_id: &str, what: &str) -> String {
    format!("workflow/{instance_id}/{what}")
}

/// Scope of the loan a warehouse receipt is pledged for ([`LoanTerms`]).
pub fn pledge_scope(receipt: &str) -> String {
    format!("warehouse/{receipt}/pledge")
}

/// The AAD a sealed term of `scope` is bound to: clients seal and open with exactly these bytes.
pub fn aad(scope: &str) -> Vec<u8> {
    format!("terms/{scope}").into_bytes()
}

/// Check newly submitted sealed terms: bounded sizes, each recipient named once and either one of
/// `parties` or a regulator, and every party and every regulator a recipient. `field` names the call's
/// field in errors.
pub fn check_sealed(
    state: &dyn StateRead,
    field: &str,
    scope: &str,
    sealed: &Sealed,
    parties: &[&str],
) -> Result<(), ConfidentialError> {
    let limit = MAX_TERMS_CIPHERTEXT.min(MAX_CIPHERTEXT);
    if sealed.ciphertext.len() < 12 + 16 || sealed.ciphertext.len() > limit {
        return Err(ConfidentialError::Invalid {
            field: format!("{field}.ciphertext"),
            reason: format!("{} bytes; must be 28..={limit}", sealed.ciphertext.len()),
        });
    }
    if sealed.wrapped_keys.len() > MAX_RECIPIENTS {
        return Err(ConfidentialError::Invalid {
            field: format!("{field}.wrapped_keys"),
            reason: format!("at most {MAX_RECIPIENTS} recipients"),
        });
    }
    let regulators: Vec<String> = org::orgs_with_role(state, Role::Regulator)?.into_iter().map(|o| o.id).collect();
    for (i, w) in sealed.wrapped_keys.iter().enumerate() {
        if w.wrapped.len() != WRAPPED_KEY_LEN {
            return Err(ConfidentialError::Invalid {
                field: format!("{field}.wrapped_keys[{}]", w.org),
                reason: format!("{} bytes; an SM2-wrapped data key is {WRAPPED_KEY_LEN}", w.wrapped.len()),
            });
        }
        if sealed.wrapped_keys[..i].iter().any(|o| o.org == w.org) {
            return Err(ConfidentialError::Invalid {
                field: format!("{field}.wrapped_keys[{}]", w.org),
                reason: "organisation named twice".into(),
            });
        }
        if !parties.contains(&w.org.as_str()) && !regulators.contains(&w.org) {
            return Err(ConfidentialError::NotEntitled {
                org: w.org.clone(),
                object: format!("terms {scope}"),
                reason: "not a party or a regulator".into(),
            });
        }
    }
    let must = parties.iter().map(|p| (p.to_string(), "party")).chain(regulators.into_iter().map(|r| (r, "regulator")));
    for (org, why) in must {
        if sealed.wrapped_for(&org).is_none() {
            return Err(ConfidentialError::MissingRecipient { org, object: format!("terms {scope}"), why });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discount_terms_agree_with_the_voucher_rule_and_catch_tampering() {
        let t = DiscountTerms::compute(1_000_000, 360, 90).expect("compute");
        assert_eq!(t, DiscountTerms { rate_bp: 360, days: 90, interest: 9_000, net: 991_000 });
        assert!(t.check(1_000_000, 90, Some(400)).is_ok());
        assert!(t.check(1_000_000, 90, Some(300)).is_err(), "above the requested rate");
        assert!(t.check(1_000_000, 91, None).is_err(), "days differ");
        let forged = DiscountTerms { net: 999_000, ..t };
        assert!(forged.check(1_000_000, 90, None).is_err(), "net does not follow from the rate");
        assert_eq!(DiscountTerms::compute(1_000, 0, 30).map(|t| t.net), Ok(1_000), "a zero rate discounts nothing");
        assert!(DiscountTerms::compute(1, 10_001, 1).is_err());
    }

    #[test]
    fn loan_terms_stay_within_the_pledge_rate() {
        let loan = |loan_amount, rate| LoanTerms { loan_amount, currency: "CNY".into(), pledge_rate_bp: rate };
        assert!(loan(700, Some(7_000)).check(Some(1_000)).is_ok());
        assert!(loan(701, Some(7_000)).check(Some(1_000)).is_err());
        assert!(loan(0, Some(7_000)).check(Some(1_000)).is_err());
        assert!(loan(1, Some(0)).check(Some(1_000)).is_err());
        assert!(loan(5_000, None).check(None).is_ok(), "a direct pledge states no rate");
        assert!(LoanTerms { loan_amount: 1, currency: "yuan".into(), pledge_rate_bp: None }.check(None).is_err());
        assert!(AmountTerms { amount: 0 }.check("goods_value").is_err());
    }
}

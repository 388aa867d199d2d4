//! Money: integer fen (分) with an ISO 4217 currency code. Never floats.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// An amount in the smallest unit (fen for CNY).
pub type Fen = u64;

/// Default currency.
pub const CNY: &str = "CNY";

/// True for a three-letter upper-case ISO 4217 code.
pub fn valid_currency(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// `amount × rate_bp / 10_000`, rounded down, with overflow checking (rates in basis points).
pub fn apply_bp(amount: Fen, rate_bp: u32) -> Option<Fen> {
    let v = (amount as u128).checked_mul(rate_bp as u128)? / 10_000;
    u64::try_from(v).ok()
}

/// Format fen as yuan with two decimals ("1234.56"), for documents and exports.
pub fn format_yuan(fen: Fen) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// Parse a decimal yuan string with at most two fraction digits ("1234.5" → 123450 fen).
pub fn parse_yuan(s: &str) -> Option<Fen> {
    let s = s.trim();
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty()
        || !int.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let int: u64 = int.parse().ok()?;
    let frac_fen: u64 = match frac.len() {
        0 => 0,
        1 => frac.parse::<u64>().ok()? * 10,
        _ => frac.parse().ok()?,
    };
    int.checked_mul(100)?.checked_add(frac_fen)
}

/// A money amount with currency, as stored in business objects.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Money {
    pub fen: Fen,
    pub currency: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn yuan_round_trip() {
        assert_eq!(parse_yuan("1234.56"), Some(123456));
        assert_eq!(parse_yuan("1234.5"), Some(123450));
        assert_eq!(parse_yuan("7"), Some(700));
        assert_eq!(parse_yuan("1.234"), None);
        assert_eq!(parse_yuan("-1"), None);
        assert_eq!(format_yuan(123456), "1234.56");
        assert_eq!(apply_bp(1_000_000, 250), Some(25_000));
        assert!(valid_currency("CNY") && !valid_currency("cny"));
    }
}

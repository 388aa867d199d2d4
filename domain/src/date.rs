//! Calendar dates as integer day numbers (days since 1970-01-01, UTC), with civil conversions done in
//! integer arithmetic (H. Hinnant's algorithms). Block time (ms) converts to a date in China Standard Time
//! (UTC+8), the business calendar of the platform.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

/// Offset of the business calendar from UTC (China Standard Time).
pub const BUSINESS_TZ_OFFSET_MS: i64 = 8 * 3600 * 1000;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Date(pub i32);

impl Date {
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) || !(1900..=9999).contains(&y) {
            return None;
        }
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m as i32 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Date(era * 146097 + doe - 719468))
    }
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719468;
        let era = if z >= 0 { z } else { z - 146096 } / 146097;
        let doe = z - era * 146097;
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }
    /// Parse `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = s.get(r)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        Date::from_ymd(num(0..4)? as i32, num(5..7)?, num(8..10)?)
    }
    /// The business-calendar date of a block time.
    pub fn from_time_ms(ms: u64) -> Date {
        let local = ms as i64 + BUSINESS_TZ_OFFSET_MS;
        Date(local.div_euclid(86_400_000) as i32)
    }
    /// Same day `months` later; the day is clamped to the month's length (Jan 31 + 1 month = Feb 28/29).
    pub fn add_months(self, months: u32) -> Date {
        let (y, m, d) = self.ymd();
        let total = (m - 1) as i64 + months as i64;
        let ny = y + (total / 12) as i32;
        let nm = (total % 12) as u32 + 1;
        let nd = d.min(days_in_month(ny, nm));
        Date::from_ymd(ny, nm, nd).unwrap_or(self)
    }
    pub fn add_days(self, days: i32) -> Date {
        Date(self.0 + days)
    }
    pub fn days_until(self, later: Date) -> i32 {
        later.0 - self.0
    }
}

pub fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}
impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}
impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as Deserialize>::deserialize(d)?;
        Date::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("{s:?} is not a date YYYY-MM-DD")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn civil_round_trip_and_months() {
        for n in -1000..30000 {
            let d = Date(n);
            let (y, m, dd) = d.ymd();
            if (1900..=9999).contains(&y) {
                assert_eq!(Date::from_ymd(y, m, dd), Some(d));
            }
        }
        let d = Date::parse("2026-01-31").expect("date");
        assert_eq!(d.add_months(1).to_string(), "2026-02-28");
        assert_eq!(d.add_months(12).to_string(), "2027-01-31");
        assert_eq!(Date::parse("2024-02-30"), None);
        assert_eq!(Date::parse("2024-2-3"), None);
        // 2026-11-21T16:00:00Z is 2026-11-22 00:00 in Beijing.
        assert_eq!(Date::from_time_ms(1_795_276_800_000).to_string(), "2026-11-22");
    }
}

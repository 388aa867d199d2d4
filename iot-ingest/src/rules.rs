//! The alert rules engine: pure functions over fixed-point (milli-unit) readings.
//!
//! Rules come from the device record on chain ([`scf_domain::device::AlertRule`]). The service keeps one
//! [`RuleState`] per (device, rule) and feeds it every accepted reading ([`on_reading`]) and a periodic
//! clock tick ([`on_tick`], for silence). A rule fires once when its condition becomes true and re-arms
//! only after the condition is false again, so one excursion raises one alert.
//!
//! The state is stored (Borsh) in the ingestion store, written in the same transaction as the reading
//! that moved it and as the alert it fired ([`crate::store`]): after a crash a rule is never "fired"
//! without its alert waiting in the outbox, and never evaluated twice on one reading.

use std::collections::VecDeque;

use borsh::{BorshDeserialize, BorshSerialize};

use scf_domain::device::{AlertRule, ChangeLimit};

use crate::wire::Reading;

/// Most samples a rate-of-change window keeps (older ones are dropped first).
pub const MAX_WINDOW_SAMPLES: usize = 4096;

#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RuleState {
    /// Threshold: device time the value first went out of range in the current excursion.
    pub since: Option<u64>,
    /// Rate of change: (device time, value) samples inside the window.
    pub samples: VecDeque<(u64, i64)>,
    /// Silence: service time of the last accepted reading.
    pub last_seen_ms: Option<u64>,
    /// The rule fired and has not re-armed yet.
    pub fired: bool,
}

/// A rule that fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firing {
    pub reading_type: Option<String>,
    pub value: Option<i64>,
    pub detail: String,
}

/// Feed one accepted reading (`now_ms` is the service clock, used by silence only).
pub fn on_reading(rule: &AlertRule, st: &mut RuleState, reading: &Reading, now_ms: u64) -> Option<Firing> {
    match rule {
        AlertRule::Threshold { reading_type, min, max, for_ms } => {
            let m = reading.measurements.iter().find(|m| &m.kind == reading_type)?;
            let v = m.value_milli;
            let out = max.is_some_and(|hi| v > hi) || min.is_some_and(|lo| v < lo);
            if !out {
                st.since = None;
                st.fired = false;
                return None;
            }
            let since = *st.since.get_or_insert(reading.time_ms);
            let lasted = reading.time_ms.saturating_sub(since);
            if lasted >= *for_ms && !st.fired {
                st.fired = true;
                let bound = match (min, max) {
                    (_, Some(hi)) if v > *hi => format!("> {}", fmt_milli(*hi)),
                    (Some(lo), _) => format!("< {}", fmt_milli(*lo)),
                    _ => "out of range".into(),
                };
                return Some(Firing {
                    reading_type: Some(reading_type.clone()),
                    value: Some(v),
                    detail: format!("{reading_type} {} {} {bound} for {} s", fmt_milli(v), m.uom, lasted / 1000),
                });
            }
            None
        }
        AlertRule::RateOfChange { reading_type, limit, window_ms } => {
            let m = reading.measurements.iter().find(|m| &m.kind == reading_type)?;
            let (t, v) = (reading.time_ms, m.value_milli);
            st.samples.push_back((t, v));
            while st.samples.len() > MAX_WINDOW_SAMPLES {
                st.samples.pop_front();
            }
            while st.samples.front().is_some_and(|(ts, _)| t.saturating_sub(*ts) > *window_ms) {
                st.samples.pop_front();
            }
            let base = st.samples.front().map(|(_, b)| *b).unwrap_or(v);
            let hi = st.samples.iter().map(|(_, x)| *x).max().unwrap_or(v);
            let lo = st.samples.iter().map(|(_, x)| *x).min().unwrap_or(v);
            let change = i128::from(hi) - i128::from(lo);
            let exceeded = match limit {
                ChangeLimit::Absolute { milli } => change > i128::from(*milli),
                ChangeLimit::Permille { permille } => change * 1000 > i128::from(*permille) * i128::from(base).abs(),
            };
            if !exceeded {
                st.fired = false;
                return None;
            }
            if st.fired {
                return None;
            }
            st.fired = true;
            Some(Firing {
                reading_type: Some(reading_type.clone()),
                value: Some(v),
                detail: format!(
                    "{reading_type} changed by {} {} within {} s (from {} to {})",
                    fmt_milli(i64::try_from(change).unwrap_or(i64::MAX)),
                    m.uom,
                    window_ms / 1000,
                    fmt_milli(base),
                    fmt_milli(v)
                ),
            })
        }
        AlertRule::Silence { .. } => {
            st.last_seen_ms = Some(now_ms);
            st.fired = false;
            None
        }
    }
}

/// Advance the clock (silence rules only; others never fire on a tick).
pub fn on_tick(rule: &AlertRule, st: &mut RuleState, now_ms: u64) -> Option<Firing> {
    let AlertRule::Silence { max_gap_ms } = rule else { return None };
    let last = st.last_seen_ms?;
    let gap = now_ms.saturating_sub(last);
    if gap >= *max_gap_ms && !st.fired {
        st.fired = true;
        return Some(Firing { reading_type: None, value: None, detail: format!("device silent for {} s", gap / 1000) });
    }
    None
}

/// Milli-units as a decimal string (8250 → "8.25").
pub fn fmt_milli(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 1000, a % 1000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::Measurement;

    fn r(t_s: u64, kind: &str, v: i64) -> Reading {
        Reading {
            device_id: "D".into(),
            seq: t_s,
            time_ms: t_s * 1000,
            measurements: vec![Measurement { kind: kind.into(), value_milli: v, uom: "Cel".into() }],
        }
    }

    #[test]
    fn threshold_fires_only_after_the_duration_and_once_per_excursion() {
        let rule =
            AlertRule::Threshold { reading_type: "temperature".into(), min: None, max: Some(8000), for_ms: 600_000 };
        let mut st = RuleState::default();
        assert!(on_reading(&rule, &mut st, &r(0, "temperature", 9000), 0).is_none());
        assert!(on_reading(&rule, &mut st, &r(300, "temperature", 9500), 0).is_none());
        let f = on_reading(&rule, &mut st, &r(600, "temperature", 9100), 0).expect("fires at 10 min");
        assert_eq!(f.value, Some(9100));
        assert!(f.detail.contains("> 8"), "{}", f.detail);
        assert!(on_reading(&rule, &mut st, &r(700, "temperature", 9100), 0).is_none(), "once per excursion");
        assert!(on_reading(&rule, &mut st, &r(800, "temperature", 7000), 0).is_none());
        // A short excursion does not fire; a dip back resets the clock.
        assert!(on_reading(&rule, &mut st, &r(900, "temperature", 9000), 0).is_none());
        assert!(on_reading(&rule, &mut st, &r(1400, "temperature", 8000), 0).is_none(), "8.000 is not above 8");
        assert!(on_reading(&rule, &mut st, &r(1500, "temperature", 9000), 0).is_none());
        assert!(on_reading(&rule, &mut st, &r(2100, "temperature", 9000), 0).is_some());
        // Other reading types are ignored.
        let mut st2 = RuleState::default();
        assert!(on_reading(&rule, &mut st2, &r(0, "humidity", 99_000), 0).is_none());
    }

    #[test]
    fn threshold_with_zero_duration_and_minimum() {
        let rule = AlertRule::Threshold { reading_type: "t".into(), min: Some(-25_000), max: None, for_ms: 0 };
        let mut st = RuleState::default();
        assert!(on_reading(&rule, &mut st, &r(0, "t", -20_000), 0).is_none());
        let f = on_reading(&rule, &mut st, &r(1, "t", -25_001), 0).expect("below min");
        assert!(f.detail.contains("< -25"), "{}", f.detail);
    }

    #[test]
    fn rate_of_change_relative_drop() {
        // Weight drop > 2 % within 1 hour.
        let rule = AlertRule::RateOfChange {
            reading_type: "weight".into(),
            limit: ChangeLimit::Permille { permille: 20 },
            window_ms: 3_600_000,
        };
        let mut st = RuleState::default();
        assert!(on_reading(&rule, &mut st, &r(0, "weight", 1_000_000), 0).is_none());
        assert!(on_reading(&rule, &mut st, &r(600, "weight", 985_000), 0).is_none(), "1.5 %");
        assert!(on_reading(&rule, &mut st, &r(1200, "weight", 980_000), 0).is_none(), "exactly 2 % is allowed");
        assert!(on_reading(&rule, &mut st, &r(1800, "weight", 979_000), 0).is_some(), "2.1 %");
        assert!(on_reading(&rule, &mut st, &r(1900, "weight", 978_000), 0).is_none(), "fires once");
        // A slow drift spread beyond the window does not fire.
        let mut st = RuleState::default();
        for i in 0..10u64 {
            assert!(on_reading(&rule, &mut st, &r(i * 3600, "weight", 1_000_000 - i as i64 * 15_000), 0).is_none());
        }
    }

    #[test]
    fn rate_of_change_absolute() {
        let rule = AlertRule::RateOfChange {
            reading_type: "t".into(),
            limit: ChangeLimit::Absolute { milli: 5000 },
            window_ms: 60_000,
        };
        let mut st = RuleState::default();
        assert!(on_reading(&rule, &mut st, &r(0, "t", 2000), 0).is_none());
        assert!(on_reading(&rule, &mut st, &r(30, "t", 7000), 0).is_none());
        assert!(on_reading(&rule, &mut st, &r(50, "t", 7001), 0).is_some());
    }

    #[test]
    fn silence_fires_after_the_gap_and_rearms_on_the_next_reading() {
        let rule = AlertRule::Silence { max_gap_ms: 900_000 };
        let mut st = RuleState::default();
        assert!(on_tick(&rule, &mut st, 10_000_000).is_none(), "never seen: nothing to watch yet");
        on_reading(&rule, &mut st, &r(0, "t", 0), 1_000_000);
        assert!(on_tick(&rule, &mut st, 1_899_999).is_none());
        assert!(on_tick(&rule, &mut st, 1_900_000).is_some());
        assert!(on_tick(&rule, &mut st, 2_900_000).is_none(), "once");
        on_reading(&rule, &mut st, &r(1, "t", 0), 3_000_000);
        assert!(on_tick(&rule, &mut st, 3_900_000).is_some());
        let thr = AlertRule::Threshold { reading_type: "t".into(), min: None, max: Some(1), for_ms: 0 };
        assert!(on_tick(&thr, &mut st, u64::MAX).is_none());
    }

    #[test]
    fn milli_formatting() {
        assert_eq!(fmt_milli(8250), "8.25");
        assert_eq!(fmt_milli(-500), "-0.5");
        assert_eq!(fmt_milli(8000), "8");
        assert_eq!(fmt_milli(i64::MIN), "-9223372036854775.808");
    }
}

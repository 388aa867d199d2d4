//! Per-device sliding replay window on `seq` (the IPsec/DTLS anti-replay scheme).
//!
//! The window remembers the highest sequence number accepted and which of the 64 numbers just below it
//! were seen. A reading is new if its seq is above the highest, or inside the window and not yet seen;
//! anything at or below `highest - 64` is refused as too old. QoS 1 redeliveries and attacker replays
//! alike are therefore refused (and counted) once the original was stored.

use borsh::{BorshDeserialize, BorshSerialize};

/// Width of the window (numbers below the highest that may still arrive late).
pub const WINDOW: u64 = 64;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ReplayWindow {
    /// Highest seq accepted; meaningless while `bitmap == 0`.
    pub highest: u64,
    /// Bit `i` set ⇔ `highest - i` was accepted.
    pub bitmap: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayVerdict {
    New,
    /// Already accepted.
    Seen,
    /// Older than the window.
    TooOld,
}

impl ReplayWindow {
    pub fn check(&self, seq: u64) -> ReplayVerdict {
        if self.bitmap == 0 || seq > self.highest {
            return ReplayVerdict::New;
        }
        let back = self.highest - seq;
        if back >= WINDOW {
            ReplayVerdict::TooOld
        } else if self.bitmap & (1u64 << back) != 0 {
            ReplayVerdict::Seen
        } else {
            ReplayVerdict::New
        }
    }

    /// Record `seq` as accepted (call only after [`check`](Self::check) said `New`).
    pub fn accept(&mut self, seq: u64) {
        if self.bitmap == 0 {
            *self = ReplayWindow { highest: seq, bitmap: 1 };
        } else if seq > self.highest {
            let shift = seq - self.highest;
            self.bitmap = if shift >= WINDOW { 0 } else { self.bitmap << shift };
            self.bitmap |= 1;
            self.highest = seq;
        } else {
            let back = self.highest - seq;
            if back < WINDOW {
                self.bitmap |= 1u64 << back;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn in_order_late_duplicate_and_too_old() {
        let mut w = ReplayWindow::default();
        for s in [1u64, 2, 3, 10] {
            assert_eq!(w.check(s), ReplayVerdict::New);
            w.accept(s);
        }
        assert_eq!(w.check(3), ReplayVerdict::Seen);
        assert_eq!(w.check(5), ReplayVerdict::New, "late but inside the window");
        w.accept(5);
        assert_eq!(w.check(5), ReplayVerdict::Seen);
        w.accept(200);
        assert_eq!(w.check(10), ReplayVerdict::TooOld);
        assert_eq!(w.check(136), ReplayVerdict::TooOld);
        assert_eq!(w.check(137), ReplayVerdict::New);
        assert_eq!(w.check(200), ReplayVerdict::Seen);
    }

    #[test]
    fn seq_zero_is_a_valid_first_reading_and_u64_max_does_not_overflow() {
        let mut w = ReplayWindow::default();
        assert_eq!(w.check(0), ReplayVerdict::New);
        w.accept(0);
        assert_eq!(w.check(0), ReplayVerdict::Seen);
        w.accept(u64::MAX);
        assert_eq!(w.check(u64::MAX), ReplayVerdict::Seen);
        assert_eq!(w.check(0), ReplayVerdict::TooOld);
    }
}

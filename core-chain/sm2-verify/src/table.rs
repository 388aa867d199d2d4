//! Scalar recodings and the precomputed tables that turn scalar multiplication into few point additions.
//!
//! - wNAF (width w): odd digits in (−2^(w−1), 2^(w−1)) with at least w − 1 zeros between non-zero digits,
//!   so k·Q costs ~256 doublings and ~256/(w+1) additions of odd multiples of Q. Used for the key in a
//!   cold verification, interleaved with a wider wNAF of G over the same doublings (Straus/Shamir).
//! - Signed fixed windows (radix 2^w, digits in [−2^(w−1), 2^(w−1))): with a table of every digit times
//!   every power 2^(w·i) of the base, k·Q needs no doubling at all, only one mixed addition per window.
//!   Used for G always and for a key once its table is cached.

use std::sync::OnceLock;

use crate::point::{normalize_batch, Affine, Jacobian, G};

/// Digits of a wNAF recoding, least significant first; a scalar below 2^256 needs at most 256 + w.
pub(crate) const WNAF_LEN: usize = 264;

/// wNAF width for G in a cold verification: 2^(w−2) = 64 odd multiples (4 KiB), ~256/9 additions.
pub(crate) const G_WNAF_WIDTH: u32 = 8;
/// wNAF width for the key in a cold verification (its table is built per call).
pub(crate) const KEY_WNAF_WIDTH: u32 = 5;
/// Fixed-window width for G's comb: 33 windows × 128 points (270 KiB, built once per process).
pub(crate) const G_FIXED_WIDTH: u32 = 8;
/// Fixed-window width for a cached key's table: 52 windows × 16 points (53 KiB per key).
pub(crate) const KEY_FIXED_WIDTH: u32 = 5;

/// wNAF of `k` with window `w` (2 ≤ w ≤ 8), after curve25519-dalek's `non_adjacent_form`. The carry is
/// a pending +1 at the current bit; the loop runs past bit 255 so a final carry becomes a top digit.
pub(crate) fn wnaf(k: &[u64; 4], w: u32) -> [i8; WNAF_LEN] {
    debug_assert!((2..=8).contains(&w));
    let x = [k[0], k[1], k[2], k[3], 0, 0];
    let width = 1u64 << w;
    let mask = width - 1;
    let mut digits = [0i8; WNAF_LEN];
    let mut pos = 0usize;
    let mut carry = 0u64;
    while pos < WNAF_LEN {
        let idx = pos / 64;
        let bit = pos % 64;
        let buf = if bit + w as usize <= 64 { x[idx] >> bit } else { (x[idx] >> bit) | (x[idx + 1] << (64 - bit)) };
        let window = carry + (buf & mask);
        if window & 1 == 0 {
            pos += 1;
            continue;
        }
        if window < width / 2 {
            carry = 0;
            digits[pos] = window as i8;
        } else {
            carry = 1;
            digits[pos] = (window as i64 - width as i64) as i8;
        }
        pos += w as usize;
    }
    digits
}

/// Number of signed windows of width `w` that cover any scalar below 2^256 including the final carry.
pub(crate) const fn window_count(w: u32) -> usize {
    257usize.div_ceil(w as usize)
}

/// Signed radix-2^w digits of `k`, least significant first, each in [−2^(w−1), 2^(w−1)).
pub(crate) fn signed_windows(k: &[u64; 4], w: u32, out: &mut [i8]) {
    debug_assert!((2..=8).contains(&w) && out.len() == window_count(w));
    let x = [k[0], k[1], k[2], k[3], 0, 0];
    let mask = (1u64 << w) - 1;
    let half = 1u64 << (w - 1);
    let mut carry = 0u64;
    for (i, d) in out.iter_mut().enumerate() {
        let pos = i * w as usize;
        let idx = pos / 64;
        let bit = pos % 64;
        let buf = if bit + w as usize <= 64 { x[idx] >> bit } else { (x[idx] >> bit) | (x[idx + 1] << (64 - bit)) };
        let chunk = (buf & mask) + carry;
        if chunk >= half {
            carry = 1;
            *d = (chunk as i64 - (1i64 << w)) as i8;
        } else {
            carry = 0;
            *d = chunk as i8;
        }
    }
    debug_assert_eq!(carry, 0);
}

/// Odd multiples Q, 3Q, …, (2^(w−1) − 1)Q in Jacobian coordinates (no inversion).
pub(crate) fn odd_multiples_jacobian(q: &Affine, w: u32) -> Vec<Jacobian> {
    let count = 1usize << (w - 2);
    let mut out = Vec::with_capacity(count);
    let q1 = Jacobian::from_affine(q);
    let q2 = q1.double();
    out.push(q1);
    for i in 1..count {
        let next = out[i - 1].add(&q2);
        out.push(next);
    }
    out
}

/// G's odd multiples for the cold path's wNAF, affine, built on first use.
pub(crate) fn g_odd_multiples() -> &'static [Affine] {
    static TABLE: OnceLock<Vec<Affine>> = OnceLock::new();
    TABLE.get_or_init(|| normalize_batch(&odd_multiples_jacobian(&G, G_WNAF_WIDTH)))
}

/// Every signed digit times every power 2^(w·i) of one base point: k·base is one mixed addition per
/// non-zero digit of k.
pub(crate) struct FixedBaseTable {
    width: u32,
    /// `points[i·2^(w−1) + j]` = (j + 1)·2^(w·i)·base.
    points: Vec<Affine>,
}

impl FixedBaseTable {
    pub(crate) fn new(base: &Affine, width: u32) -> FixedBaseTable {
        let half = 1usize << (width - 1);
        let windows = window_count(width);
        let mut jac = Vec::with_capacity(windows * half);
        let mut b = Jacobian::from_affine(base);
        for _ in 0..windows {
            let first = jac.len();
            jac.push(b);
            jac.push(b.double());
            for j in 2..half {
                let next = jac[first + j - 1].add(&b);
                jac.push(next);
            }
            // 2^w·b = 2·(2^(w−1)·b), the last multiple doubled.
            b = jac[first + half - 1].double();
        }
        FixedBaseTable { width, points: normalize_batch(&jac) }
    }

    /// Heap bytes held by a table of this width.
    pub(crate) const fn bytes(width: u32) -> usize {
        window_count(width) * (1usize << (width - 1)) * std::mem::size_of::<Affine>()
    }

    /// `acc + k·base`.
    #[inline]
    pub(crate) fn accumulate(&self, mut acc: Jacobian, k: &[u64; 4]) -> Jacobian {
        let mut digits = [0i8; 129];
        let count = window_count(self.width);
        signed_windows(k, self.width, &mut digits[..count]);
        let half = 1usize << (self.width - 1);
        for (i, &d) in digits[..count].iter().enumerate() {
            if d > 0 {
                acc = acc.add_affine(&self.points[i * half + d as usize - 1]);
            } else if d < 0 {
                acc = acc.add_affine(&self.points[i * half + d.unsigned_abs() as usize - 1].neg());
            }
        }
        acc
    }
}

/// G's fixed-window table, built on first use (about a millisecond) and shared by every thread.
pub(crate) fn g_fixed() -> &'static FixedBaseTable {
    static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
    TABLE.get_or_init(|| FixedBaseTable::new(&G, G_FIXED_WIDTH))
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::{BigInt, BigUint};
    use proptest::prelude::*;

    fn value_of(digits: &[i8], step: u32) -> BigInt {
        digits.iter().enumerate().map(|(i, &d)| BigInt::from(d) << (i * step as usize)).sum()
    }
    fn big(k: &[u64; 4]) -> BigInt {
        BigInt::from(BigUint::from_bytes_be(&crate::field::limbs_to_be_bytes(k)))
    }

    proptest! {
        #[test]
        fn wnaf_represents_the_scalar(limbs in any::<[u64; 4]>(), w in 2u32..=8) {
            let d = wnaf(&limbs, w);
            prop_assert_eq!(value_of(&d, 1), big(&limbs));
            let bound = 1i16 << (w - 1);
            let mut last: Option<usize> = None;
            for (i, &x) in d.iter().enumerate() {
                if x != 0 {
                    prop_assert!(x % 2 != 0 && (x as i16).abs() < bound);
                    if let Some(l) = last { prop_assert!(i - l >= w as usize); }
                    last = Some(i);
                }
            }
        }

        #[test]
        fn signed_windows_represent_the_scalar(limbs in any::<[u64; 4]>(), w in 2u32..=8) {
            let mut d = vec![0i8; window_count(w)];
            signed_windows(&limbs, w, &mut d);
            prop_assert_eq!(value_of(&d, w), big(&limbs));
            let half = 1i16 << (w - 1);
            prop_assert!(d.iter().all(|&x| (x as i16) >= -half && (x as i16) < half));
        }
    }

    #[test]
    fn extreme_scalars_recode() {
        for k in [[u64::MAX; 4], [0; 4], [1, 0, 0, 0], crate::scalar::N] {
            for w in 2..=8 {
                assert_eq!(value_of(&wnaf(&k, w), 1), big(&k));
                let mut d = vec![0i8; window_count(w)];
                signed_windows(&k, w, &mut d);
                assert_eq!(value_of(&d, w), big(&k));
            }
        }
    }

    #[test]
    fn fixed_base_table_multiplies() {
        let t = FixedBaseTable::new(&G, 4);
        let three = Jacobian::from_affine(&G).double().add_affine(&G).to_affine();
        assert_eq!(t.accumulate(Jacobian::IDENTITY, &[3, 0, 0, 0]).to_affine(), three);
        assert!(t.accumulate(Jacobian::IDENTITY, &crate::scalar::N).is_identity(), "n·G = O");
        let n_minus_1 = crate::scalar::sub(&crate::scalar::N, &[1, 0, 0, 0]).0;
        assert_eq!(t.accumulate(Jacobian::IDENTITY, &n_minus_1).to_affine(), Some(G.neg()));
        assert_eq!(g_fixed().accumulate(Jacobian::IDENTITY, &n_minus_1).to_affine(), Some(G.neg()));
    }
}

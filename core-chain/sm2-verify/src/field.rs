//! Arithmetic in GF(p) for the SM2 prime p = 2^256 − 2^224 − 2^96 + 2^64 − 1.
//!
//! Elements are four little-endian 64-bit limbs in Montgomery form (a·2^256 mod p), always fully reduced
//! (< p), so equality of limbs is equality of field elements. The prime's lowest limb is 2^64 − 1, which
//! makes −p^−1 mod 2^64 equal to 1: each Montgomery reduction step uses the limb itself as the multiplier
//! and its first product needs no multiplication at all. The README records how this compared with a
//! Solinas-style reduction.
//!
//! Nothing here is constant-time: the values are public (keys, signatures, messages).

/// The field prime, little-endian limbs.
pub(crate) const P: [u64; 4] =
    [0xffff_ffff_ffff_ffff, 0xffff_ffff_0000_0000, 0xffff_ffff_ffff_ffff, 0xffff_fffe_ffff_ffff];

/// 2^512 mod p: multiplying by it (Montgomery) converts into Montgomery form.
const R2: [u64; 4] = [0x0000_0002_0000_0003, 0x0000_0002_ffff_ffff, 0x0000_0001_0000_0001, 0x0000_0004_0000_0002];

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Fe(pub(crate) [u64; 4]);

#[inline(always)]
const fn adc(a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = a as u128 + b as u128 + carry as u128;
    (t as u64, (t >> 64) as u64)
}

/// Subtract with borrow; the borrow is 0 or 1.
#[inline(always)]
const fn sbb(a: u64, b: u64, borrow: u64) -> (u64, u64) {
    let t = (a as u128).wrapping_sub(b as u128 + borrow as u128);
    (t as u64, ((t >> 64) as u64) & 1)
}

#[inline(always)]
const fn mac(acc: u64, a: u64, b: u64, carry: u64) -> (u64, u64) {
    let t = acc as u128 + (a as u128) * (b as u128) + carry as u128;
    (t as u64, (t >> 64) as u64)
}

/// `(hi:a) − p` if that does not go negative, else `a`; `hi` is the bit above the four limbs. Callers
/// guarantee `hi:a < 2p`, so the result is fully reduced.
#[inline(always)]
const fn sub_p_if_needed(a: [u64; 4], hi: u64) -> [u64; 4] {
    let (r0, b) = sbb(a[0], P[0], 0);
    let (r1, b) = sbb(a[1], P[1], b);
    let (r2, b) = sbb(a[2], P[2], b);
    let (r3, b) = sbb(a[3], P[3], b);
    let (_, b) = sbb(hi, 0, b);
    // b = 1: the subtraction went negative, keep a. Select without a branch (the outcome is data-random).
    let keep = 0u64.wrapping_sub(b);
    [
        (a[0] & keep) | (r0 & !keep),
        (a[1] & keep) | (r1 & !keep),
        (a[2] & keep) | (r2 & !keep),
        (a[3] & keep) | (r3 & !keep),
    ]
}

/// Montgomery reduction of a 512-bit value t < p·2^256: returns t·2^−256 mod p.
#[inline(always)]
const fn montgomery_reduce(t: [u64; 8]) -> [u64; 4] {
    let [r0, r1, r2, r3, r4, r5, r6, r7] = t;
    // Round i adds m·p·2^(64i) with m = r_i (because −p^−1 ≡ 1 mod 2^64). The lowest limb of p is
    // 2^64 − 1, so r_i + m·(2^64 − 1) = m·2^64: the limb becomes zero and m carries into the next.
    let (r1, c) = mac(r1, r0, P[1], r0);
    let (r2, c) = mac(r2, r0, P[2], c);
    let (r3, c) = mac(r3, r0, P[3], c);
    let (r4, c2) = adc(r4, c, 0);

    let (r2, c) = mac(r2, r1, P[1], r1);
    let (r3, c) = mac(r3, r1, P[2], c);
    let (r4, c) = mac(r4, r1, P[3], c);
    let (r5, c2) = adc(r5, c, c2);

    let (r3, c) = mac(r3, r2, P[1], r2);
    let (r4, c) = mac(r4, r2, P[2], c);
    let (r5, c) = mac(r5, r2, P[3], c);
    let (r6, c2) = adc(r6, c, c2);

    let (r4, c) = mac(r4, r3, P[1], r3);
    let (r5, c) = mac(r5, r3, P[2], c);
    let (r6, c) = mac(r6, r3, P[3], c);
    let (r7, c2) = adc(r7, c, c2);

    sub_p_if_needed([r4, r5, r6, r7], c2)
}

impl Fe {
    pub(crate) const ZERO: Fe = Fe([0; 4]);
    /// 1 in Montgomery form (2^256 mod p).
    pub(crate) const ONE: Fe = Fe([1, 0xffff_ffff, 0, 0x1_0000_0000]);

    /// Converts canonical little-endian limbs (< p) into Montgomery form.
    pub(crate) const fn from_canonical(limbs: [u64; 4]) -> Fe {
        Fe(limbs).mul(&Fe(R2))
    }

    /// Parses 32 big-endian bytes; `None` when the value is not below p (non-canonical).
    pub(crate) fn from_be_bytes(bytes: &[u8; 32]) -> Option<Fe> {
        let limbs = be_bytes_to_limbs(bytes);
        if !lt(&limbs, &P) {
            return None;
        }
        Some(Fe::from_canonical(limbs))
    }

    /// The canonical (non-Montgomery) little-endian limbs.
    pub(crate) const fn to_canonical(self) -> [u64; 4] {
        montgomery_reduce([self.0[0], self.0[1], self.0[2], self.0[3], 0, 0, 0, 0])
    }

    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        limbs_to_be_bytes(&self.to_canonical())
    }

    #[inline(always)]
    pub(crate) fn is_zero(&self) -> bool {
        (self.0[0] | self.0[1] | self.0[2] | self.0[3]) == 0
    }

    #[inline(always)]
    pub(crate) const fn add(&self, rhs: &Fe) -> Fe {
        let (r0, c) = adc(self.0[0], rhs.0[0], 0);
        let (r1, c) = adc(self.0[1], rhs.0[1], c);
        let (r2, c) = adc(self.0[2], rhs.0[2], c);
        let (r3, c) = adc(self.0[3], rhs.0[3], c);
        Fe(sub_p_if_needed([r0, r1, r2, r3], c))
    }

    #[inline(always)]
    pub(crate) const fn sub(&self, rhs: &Fe) -> Fe {
        let (r0, b) = sbb(self.0[0], rhs.0[0], 0);
        let (r1, b) = sbb(self.0[1], rhs.0[1], b);
        let (r2, b) = sbb(self.0[2], rhs.0[2], b);
        let (r3, b) = sbb(self.0[3], rhs.0[3], b);
        // On borrow add p back; p is masked in without a branch.
        let mask = 0u64.wrapping_sub(b);
        let (r0, c) = adc(r0, P[0] & mask, 0);
        let (r1, c) = adc(r1, P[1] & mask, c);
        let (r2, c) = adc(r2, P[2] & mask, c);
        let (r3, _) = adc(r3, P[3] & mask, c);
        Fe([r0, r1, r2, r3])
    }

    /// `k·self` for a small constant k (≤ 2^31) with one reduction: the product overflows 256 bits by
    /// `top` < k, and top·2^256 ≡ top·(2^224 + 2^96 − 2^64 + 1) mod p, whose limbs are small and positive.
    /// Point doubling multiplies by 3, 4 and 8; this replaces two or three chained additions each.
    #[inline(always)]
    pub(crate) const fn mul_small(&self, k: u64) -> Fe {
        let (l0, c) = mac(0, self.0[0], k, 0);
        let (l1, c) = mac(0, self.0[1], k, c);
        let (l2, c) = mac(0, self.0[2], k, c);
        let (l3, top) = mac(0, self.0[3], k, c);
        // + top·(2^224 + 2^96 − 2^64 + 1) = [top, top·(2^32 − 1), 0, top·2^32].
        let (l0, c) = adc(l0, top, 0);
        let (l1, c) = adc(l1, (top << 32) - top, c);
        let (l2, c) = adc(l2, 0, c);
        let (l3, c) = adc(l3, top << 32, c);
        // A carry out means the sum passed 2^256 by less than top·(2^256 mod p): drop it and add 2^256 mod p
        // once more; for k ≤ 2^31 that cannot carry again.
        let fold = c * 0xffff_ffff; // c·(2^32 − 1)
        let (l0, c2) = adc(l0, c, 0);
        let (l1, c2) = adc(l1, fold, c2);
        let (l2, c2) = adc(l2, 0, c2);
        let (l3, _) = adc(l3, c << 32, c2);
        Fe(sub_p_if_needed([l0, l1, l2, l3], 0))
    }

    #[inline(always)]
    pub(crate) const fn double(&self) -> Fe {
        self.add(self)
    }

    #[inline(always)]
    pub(crate) const fn neg(&self) -> Fe {
        Fe::ZERO.sub(self)
    }

    #[inline(always)]
    pub(crate) const fn mul(&self, rhs: &Fe) -> Fe {
        let a = &self.0;
        let b = &rhs.0;
        let (w0, c) = mac(0, a[0], b[0], 0);
        let (w1, c) = mac(0, a[0], b[1], c);
        let (w2, c) = mac(0, a[0], b[2], c);
        let (w3, w4) = mac(0, a[0], b[3], c);

        let (w1, c) = mac(w1, a[1], b[0], 0);
        let (w2, c) = mac(w2, a[1], b[1], c);
        let (w3, c) = mac(w3, a[1], b[2], c);
        let (w4, w5) = mac(w4, a[1], b[3], c);

        let (w2, c) = mac(w2, a[2], b[0], 0);
        let (w3, c) = mac(w3, a[2], b[1], c);
        let (w4, c) = mac(w4, a[2], b[2], c);
        let (w5, w6) = mac(w5, a[2], b[3], c);

        let (w3, c) = mac(w3, a[3], b[0], 0);
        let (w4, c) = mac(w4, a[3], b[1], c);
        let (w5, c) = mac(w5, a[3], b[2], c);
        let (w6, w7) = mac(w6, a[3], b[3], c);

        Fe(montgomery_reduce([w0, w1, w2, w3, w4, w5, w6, w7]))
    }

    /// Squaring computes each cross product once and doubles the sum: 10 word products instead of 16.
    #[inline(always)]
    pub(crate) const fn square(&self) -> Fe {
        let a = &self.0;
        // Cross products a_i·a_j, i < j.
        let (w1, c) = mac(0, a[0], a[1], 0);
        let (w2, c) = mac(0, a[0], a[2], c);
        let (w3, w4) = mac(0, a[0], a[3], c);

        let (w3, c) = mac(w3, a[1], a[2], 0);
        let (w4, w5) = mac(w4, a[1], a[3], c);

        let (w5, w6) = mac(w5, a[2], a[3], 0);

        // Double them.
        let w7 = w6 >> 63;
        let w6 = (w6 << 1) | (w5 >> 63);
        let w5 = (w5 << 1) | (w4 >> 63);
        let w4 = (w4 << 1) | (w3 >> 63);
        let w3 = (w3 << 1) | (w2 >> 63);
        let w2 = (w2 << 1) | (w1 >> 63);
        let w1 = w1 << 1;

        // Add the squares a_i^2 on the diagonal.
        let (w0, c) = mac(0, a[0], a[0], 0);
        let (w1, c) = adc(w1, 0, c);
        let (w2, c) = mac(w2, a[1], a[1], c);
        let (w3, c) = adc(w3, 0, c);
        let (w4, c) = mac(w4, a[2], a[2], c);
        let (w5, c) = adc(w5, 0, c);
        let (w6, c) = mac(w6, a[3], a[3], c);
        let (w7, _) = adc(w7, 0, c);

        Fe(montgomery_reduce([w0, w1, w2, w3, w4, w5, w6, w7]))
    }

    /// `self` squared `k` times.
    #[inline(always)]
    pub(crate) fn square_n(&self, k: u32) -> Fe {
        let mut x = *self;
        for _ in 0..k {
            x = x.square();
        }
        x
    }

    /// Multiplicative inverse by Fermat (x^(p−2)); zero maps to zero, which callers rule out beforehand.
    ///
    /// p − 2 = 2^256 − 2^224 − 2^96 + 2^64 − 3; in binary from the top: 31 ones, a zero, 128 ones,
    /// 32 zeros, 62 ones, a zero, a one. The chain builds x^(2^k − 1) for the runs of ones.
    pub(crate) fn invert(&self) -> Fe {
        let x1 = *self;
        let x2 = x1.square().mul(&x1); // 2^2 − 1
        let x3 = x2.square().mul(&x1);
        let x6 = x3.square_n(3).mul(&x3);
        let x12 = x6.square_n(6).mul(&x6);
        let x24 = x12.square_n(12).mul(&x12);
        let x30 = x24.square_n(6).mul(&x6);
        let x31 = x30.square().mul(&x1);
        let x62 = x31.square_n(31).mul(&x31);
        let x64 = x62.square_n(2).mul(&x2);
        let x128 = x64.square_n(64).mul(&x64);
        // 31 ones, then a zero, then 128 ones.
        let mut t = x31.square_n(1); // ...0
        t = t.square_n(128).mul(&x128);
        // 32 zeros.
        t = t.square_n(32);
        // 62 ones.
        t = t.square_n(62).mul(&x62);
        // "01"
        t = t.square_n(2).mul(&x1);
        t
    }
}

/// Big-endian bytes to little-endian limbs.
pub(crate) fn be_bytes_to_limbs(bytes: &[u8; 32]) -> [u64; 4] {
    let mut limbs = [0u64; 4];
    for (i, chunk) in bytes.chunks_exact(8).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        limbs[3 - i] = u64::from_be_bytes(w);
    }
    limbs
}

pub(crate) fn limbs_to_be_bytes(limbs: &[u64; 4]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for i in 0..4 {
        out[8 * i..8 * i + 8].copy_from_slice(&limbs[3 - i].to_be_bytes());
    }
    out
}

/// `a < b` for 256-bit little-endian values.
#[inline(always)]
pub(crate) fn lt(a: &[u64; 4], b: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if a[i] != b[i] {
            return a[i] < b[i];
        }
    }
    false
}

/// Montgomery's trick: inverts every element with one field inversion and 3(k−1) multiplications. Zero
/// entries are left at zero and do not disturb the others.
pub(crate) fn batch_invert(values: &mut [Fe]) {
    let mut prefix = Vec::with_capacity(values.len());
    let mut acc = Fe::ONE;
    for v in values.iter() {
        prefix.push(acc);
        if !v.is_zero() {
            acc = acc.mul(v);
        }
    }
    let mut inv = acc.invert();
    for (v, before) in values.iter_mut().zip(prefix).rev() {
        if v.is_zero() {
            continue;
        }
        let this = inv.mul(&before);
        inv = inv.mul(v);
        *v = this;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    fn p() -> BigUint {
        BigUint::from_bytes_be(&limbs_to_be_bytes(&P))
    }
    fn big(fe: &Fe) -> BigUint {
        BigUint::from_bytes_be(&fe.to_be_bytes())
    }
    fn fe(bytes: [u8; 32]) -> Fe {
        let v = BigUint::from_bytes_be(&bytes) % p();
        let mut b = [0u8; 32];
        let raw = v.to_bytes_be();
        b[32 - raw.len()..].copy_from_slice(&raw);
        Fe::from_be_bytes(&b).expect("reduced")
    }

    #[test]
    fn constants_match_their_definitions() {
        let p = p();
        let expect = (BigUint::from(1u8) << 256) - (BigUint::from(1u8) << 224) - (BigUint::from(1u8) << 96)
            + (BigUint::from(1u8) << 64)
            - 1u8;
        assert_eq!(p, expect);
        assert_eq!(big(&Fe::ONE), BigUint::from(1u8));
        assert_eq!(Fe::ONE, Fe::from_canonical([1, 0, 0, 0]));
    }

    #[test]
    fn non_canonical_bytes_are_refused() {
        assert!(Fe::from_be_bytes(&limbs_to_be_bytes(&P)).is_none());
        assert!(Fe::from_be_bytes(&[0xff; 32]).is_none());
        let mut p_minus_1 = P;
        p_minus_1[0] -= 1;
        assert!(Fe::from_be_bytes(&limbs_to_be_bytes(&p_minus_1)).is_some());
    }

    #[test]
    fn edge_values_multiply_correctly() {
        let mut pm1 = P;
        pm1[0] -= 1;
        let m1 = Fe::from_canonical(pm1);
        assert_eq!(m1.mul(&m1), Fe::ONE, "(−1)² = 1");
        assert_eq!(m1.square(), Fe::ONE);
        assert_eq!(m1.add(&Fe::ONE), Fe::ZERO);
        assert_eq!(Fe::ZERO.sub(&Fe::ONE), m1);
        assert_eq!(m1.invert(), m1);
        // −1·k = −k, the largest possible overflow for each k.
        for k in [3u64, 4, 8, 1 << 31] {
            assert_eq!(m1.mul_small(k), Fe::from_canonical([k, 0, 0, 0]).neg());
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arithmetic_matches_bigint(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let (x, y) = (fe(a), fe(b));
            let p = p();
            prop_assert_eq!(big(&x.mul(&y)), big(&x) * big(&y) % &p);
            prop_assert_eq!(big(&x.square()), big(&x) * big(&x) % &p);
            prop_assert_eq!(big(&x.add(&y)), (big(&x) + big(&y)) % &p);
            prop_assert_eq!(big(&x.sub(&y)), (big(&x) + &p - big(&y)) % &p);
            prop_assert_eq!(big(&x.neg()), (&p - big(&x)) % &p);
            for k in [2u64, 3, 4, 8, 1 << 31] {
                prop_assert_eq!(big(&x.mul_small(k)), big(&x) * k % &p);
            }
            if !x.is_zero() {
                prop_assert_eq!(x.invert().mul(&x), Fe::ONE);
            }
        }

        #[test]
        fn batch_inversion_equals_single(values in proptest::collection::vec(any::<[u8; 32]>(), 0..12), zero_at in 0usize..12) {
            let mut xs: Vec<Fe> = values.into_iter().map(fe).collect();
            if zero_at < xs.len() {
                xs[zero_at] = Fe::ZERO;
            }
            let mut inv = xs.clone();
            batch_invert(&mut inv);
            for (x, i) in xs.iter().zip(&inv) {
                if x.is_zero() {
                    prop_assert!(i.is_zero());
                } else {
                    prop_assert_eq!(*i, x.invert());
                }
            }
        }
    }
}

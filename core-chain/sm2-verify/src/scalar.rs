//! The few operations modulo the group order n that verification needs: range checks, r + s, e mod n and
//! r − e. None of them multiplies, so plain 256-bit additions and subtractions suffice.

/// The group order n, little-endian limbs.
pub(crate) const N: [u64; 4] =
    [0x53bb_f409_39d5_4123, 0x7203_df6b_21c6_052b, 0xffff_ffff_ffff_ffff, 0xffff_fffe_ffff_ffff];

/// `a + b` with the carry out.
#[inline(always)]
pub(crate) fn add(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], bool) {
    let mut out = [0u64; 4];
    let mut carry = false;
    for i in 0..4 {
        let (s1, c1) = a[i].overflowing_add(b[i]);
        let (s2, c2) = s1.overflowing_add(carry as u64);
        out[i] = s2;
        carry = c1 | c2;
    }
    (out, carry)
}

/// `a − b` with the borrow out.
#[inline(always)]
pub(crate) fn sub(a: &[u64; 4], b: &[u64; 4]) -> ([u64; 4], bool) {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for i in 0..4 {
        let (d1, b1) = a[i].overflowing_sub(b[i]);
        let (d2, b2) = d1.overflowing_sub(borrow as u64);
        out[i] = d2;
        borrow = b1 | b2;
    }
    (out, borrow)
}

pub(crate) fn is_zero(a: &[u64; 4]) -> bool {
    (a[0] | a[1] | a[2] | a[3]) == 0
}

/// Whether `a` lies in [1, n − 1], the valid range of r and s.
pub(crate) fn in_signature_range(a: &[u64; 4]) -> bool {
    !is_zero(a) && crate::field::lt(a, &N)
}

/// `a mod n` for any 256-bit `a`: n > 2^255, so one subtraction is enough.
pub(crate) fn reduce_once(a: &[u64; 4]) -> [u64; 4] {
    if crate::field::lt(a, &N) {
        *a
    } else {
        sub(a, &N).0
    }
}

/// `(a + b) mod n` for `a, b < n`.
pub(crate) fn add_mod_n(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (s, carry) = add(a, b);
    if carry || !crate::field::lt(&s, &N) {
        sub(&s, &N).0
    } else {
        s
    }
}

/// `(a − b) mod n` for `a, b < n`.
pub(crate) fn sub_mod_n(a: &[u64; 4], b: &[u64; 4]) -> [u64; 4] {
    let (d, borrow) = sub(a, b);
    if borrow {
        add(&d, &N).0
    } else {
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::limbs_to_be_bytes;
    use num_bigint::BigUint;
    use proptest::prelude::*;

    fn big(a: &[u64; 4]) -> BigUint {
        BigUint::from_bytes_be(&limbs_to_be_bytes(a))
    }
    fn below_n(bytes: [u8; 32]) -> [u64; 4] {
        reduce_once(&crate::field::be_bytes_to_limbs(&bytes))
    }

    #[test]
    fn order_is_the_published_one() {
        let n =
            BigUint::parse_bytes(b"FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16).expect("hex");
        assert_eq!(big(&N), n);
        assert!(!in_signature_range(&N));
        assert!(!in_signature_range(&[0; 4]));
        assert!(in_signature_range(&sub(&N, &[1, 0, 0, 0]).0));
        assert!(in_signature_range(&[1, 0, 0, 0]));
    }

    proptest! {
        #[test]
        fn modular_ops_match_bigint(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            let n = big(&N);
            let raw = crate::field::be_bytes_to_limbs(&a);
            prop_assert_eq!(big(&reduce_once(&raw)), BigUint::from_bytes_be(&a) % &n);
            let (x, y) = (below_n(a), below_n(b));
            prop_assert_eq!(big(&add_mod_n(&x, &y)), (big(&x) + big(&y)) % &n);
            prop_assert_eq!(big(&sub_mod_n(&x, &y)), (big(&x) + &n - big(&y)) % &n);
        }
    }
}

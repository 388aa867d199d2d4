//! The verification algorithm of GB/T 32918.2 §7 split into its scalar part, its point part and the
//! final comparison, so the single, cached and batch paths share everything but the multiplication.

use crate::field::{be_bytes_to_limbs, lt, Fe, P};
use crate::point::{Affine, Jacobian};
use crate::scalar::{self, N};
use crate::table::{self, wnaf, FixedBaseTable, G_WNAF_WIDTH, KEY_WNAF_WIDTH, WNAF_LEN};
use crate::Error;

/// What remains to be checked once the scalars are known: (x₁ mod n) must equal `expected_x`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scalars {
    pub(crate) s: [u64; 4],
    pub(crate) t: [u64; 4],
    /// (r − e) mod n: the accepted x₁ satisfy (e + x₁) mod n = r.
    pub(crate) expected_x: [u64; 4],
}

/// Range checks on r and s (each in [1, n − 1]), then t = (r + s) mod n ≠ 0 and (r − e) mod n.
pub(crate) fn scalars(sig: &[u8; 64], e: &[u8; 32]) -> Result<Scalars, Error> {
    let (r, s) = signature_scalars(sig)?;
    let t = scalar::add_mod_n(&r, &s);
    if scalar::is_zero(&t) {
        return Err(Error::ZeroSum);
    }
    let e = scalar::reduce_once(&be_bytes_to_limbs(e));
    Ok(Scalars { s, t, expected_x: scalar::sub_mod_n(&r, &e) })
}

/// r and s as integers, refused unless each is in [1, n − 1].
pub(crate) fn signature_scalars(sig: &[u8; 64]) -> Result<([u64; 4], [u64; 4]), Error> {
    let mut rb = [0u8; 32];
    let mut sb = [0u8; 32];
    rb.copy_from_slice(&sig[..32]);
    sb.copy_from_slice(&sig[32..]);
    let r = be_bytes_to_limbs(&rb);
    let s = be_bytes_to_limbs(&sb);
    if !scalar::in_signature_range(&r) {
        return Err(Error::ScalarOutOfRange { scalar: "r" });
    }
    if !scalar::in_signature_range(&s) {
        return Err(Error::ScalarOutOfRange { scalar: "s" });
    }
    Ok((r, s))
}

/// Decides (x₁ mod n) = expected without computing x₁ = X/Z²: x₁ < p < 2n, so x₁ mod n = v exactly
/// when x₁ = v or (if v + n < p) x₁ = v + n, and x₁ = c is the same as c·Z² = X. That costs a squaring and
/// one or two multiplications where the affine conversion would cost an inversion (~270 of them).
pub(crate) fn check_x(point: &Jacobian, expected: &[u64; 4]) -> Result<(), Error> {
    if point.is_identity() {
        return Err(Error::IdentityPoint);
    }
    let z2 = point.z.square();
    if Fe::from_canonical(*expected).mul(&z2) == point.x {
        return Ok(());
    }
    let (plus_n, carry) = scalar::add(expected, &N);
    if !carry && lt(&plus_n, &P) && Fe::from_canonical(plus_n).mul(&z2) == point.x {
        return Ok(());
    }
    Err(Error::Mismatch)
}

/// Highest index with a non-zero digit in either recoding, if any.
fn top_digit(a: &[i8; WNAF_LEN], b: &[i8; WNAF_LEN]) -> Option<usize> {
    (0..WNAF_LEN).rev().find(|&i| a[i] != 0 || b[i] != 0)
}

/// s·G + t·Q by interleaved wNAF (Straus): one chain of doublings shared by both scalars, G's odd
/// multiples from the static table, Q's odd multiples computed for this call in Jacobian form (mixed
/// additions would need them affine, and one inversion costs more than what mixed additions save here).
pub(crate) fn mul_cold(s: &[u64; 4], t: &[u64; 4], q: &Affine) -> Jacobian {
    let q_table = table::odd_multiples_jacobian(q, KEY_WNAF_WIDTH);
    straus(s, t, |acc, d| {
        let p = &q_table[(d.unsigned_abs() as usize) >> 1];
        if d > 0 {
            acc.add(p)
        } else {
            acc.add(&Jacobian { x: p.x, y: p.y.neg(), z: p.z })
        }
    })
}

/// s·G + t·Q like [`mul_cold`], with Q's odd multiples already affine (the batch path normalises the
/// tables of every key in a batch with one shared inversion).
pub(crate) fn mul_cold_affine(s: &[u64; 4], t: &[u64; 4], q_table: &[Affine]) -> Jacobian {
    straus(s, t, |acc, d| {
        let p = &q_table[(d.unsigned_abs() as usize) >> 1];
        if d > 0 {
            acc.add_affine(p)
        } else {
            acc.add_affine(&p.neg())
        }
    })
}

#[inline(always)]
fn straus(s: &[u64; 4], t: &[u64; 4], add_q: impl Fn(&Jacobian, i8) -> Jacobian) -> Jacobian {
    let g_table = table::g_odd_multiples();
    let ds = wnaf(s, G_WNAF_WIDTH);
    let dt = wnaf(t, KEY_WNAF_WIDTH);
    let mut acc = Jacobian::IDENTITY;
    let Some(top) = top_digit(&ds, &dt) else {
        return acc;
    };
    for i in (0..=top).rev() {
        acc = acc.double();
        let d = ds[i];
        if d > 0 {
            acc = acc.add_affine(&g_table[(d as usize) >> 1]);
        } else if d < 0 {
            acc = acc.add_affine(&g_table[(d.unsigned_abs() as usize) >> 1].neg());
        }
        let d = dt[i];
        if d != 0 {
            acc = add_q(&acc, d);
        }
    }
    acc
}

/// s·G + t·Q from two fixed-window tables: no doublings, one mixed addition per non-zero window digit.
pub(crate) fn mul_warm(s: &[u64; 4], t: &[u64; 4], q_table: &FixedBaseTable) -> Jacobian {
    let acc = table::g_fixed().accumulate(Jacobian::IDENTITY, s);
    q_table.accumulate(acc, t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::field::limbs_to_be_bytes;
    use crate::point::B;
    use num_bigint::BigUint;

    fn pow(x: &Fe, e: &BigUint) -> Fe {
        let mut acc = Fe::ONE;
        for i in (0..e.bits()).rev() {
            acc = acc.square();
            if e.bit(i) {
                acc = acc.mul(x);
            }
        }
        acc
    }

    /// A curve point whose x is `x` (canonical limbs), if x³ − 3x + b is a square (p ≡ 3 mod 4).
    fn point_with_x(x: [u64; 4]) -> Option<Affine> {
        let x = Fe::from_canonical(x);
        let rhs = x.square().mul(&x).sub(&x.double().add(&x)).add(&B);
        let p = BigUint::from_bytes_be(&limbs_to_be_bytes(&P));
        let y = pow(&rhs, &((p + 1u8) >> 2));
        (y.square() == rhs).then_some(Affine { x, y })
    }

    /// Projective representatives of `q` with several Z, as the multiplication would hand them over.
    fn scaled(q: &Affine, z: u64) -> Jacobian {
        let z = Fe::from_canonical([z, 3, 5, 7]);
        let z2 = z.square();
        Jacobian { x: q.x.mul(&z2), y: q.y.mul(&z2).mul(&z), z }
    }

    /// x₁ in [n, p): only x₁ − n is accepted, which the `v + n` branch decides. Signatures cannot reach
    /// this case on purpose (about 2^−128 of points), so the comparison is tested on its own.
    #[test]
    fn x_at_or_above_n_is_compared_modulo_n() {
        let mut found = 0;
        for k in 0..64u64 {
            let x = scalar::add(&N, &[k, 0, 0, 0]).0;
            assert!(lt(&x, &P));
            let Some(q) = point_with_x(x) else { continue };
            assert!(q.is_on_curve());
            for z in [1, 2, 0xdead_beef] {
                let j = scaled(&q, z);
                assert_eq!(check_x(&j, &[k, 0, 0, 0]), Ok(()), "x = n + {k}");
                assert_eq!(check_x(&j, &[k + 1, 0, 0, 0]), Err(Error::Mismatch));
            }
            found += 1;
        }
        assert!(found > 10, "about half of all x are on the curve");
    }

    /// x₁ below n: v is accepted, v + n (when below p) is not a second answer for the same point.
    #[test]
    fn x_below_n_is_compared_directly() {
        let mut found = 0;
        for k in 1..64u64 {
            let Some(q) = point_with_x([k, 0, 0, 0]) else { continue };
            let j = scaled(&q, 77);
            assert_eq!(check_x(&j, &[k, 0, 0, 0]), Ok(()));
            assert_eq!(check_x(&j, &[k - 1, 0, 0, 0]), Err(Error::Mismatch));
            found += 1;
        }
        assert!(found > 10);
        assert_eq!(check_x(&Jacobian::IDENTITY, &[0; 4]), Err(Error::IdentityPoint));
    }
}

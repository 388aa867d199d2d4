//! Points on the SM2 curve y² = x³ − 3x + b over GF(p), in affine and Jacobian coordinates.
//!
//! Jacobian (X, Y, Z) stands for the affine point (X/Z², Y/Z³), so additions need no inversion; the
//! point at infinity is any triple with Z = 0. Because a = −3, doubling uses the 3M + 5S formula
//! (dbl-2001-b). Adding a precomputed affine point ("mixed" addition, Z₂ = 1) costs 8M + 3S against 12M + 4S
//! for two Jacobian points, which is why every precomputed table stores affine points.
//!
//! The formulas branch on the special cases (equal points, opposite points, infinity): verification
//! handles public data only, so variable time is acceptable.

use crate::field::Fe;

/// b of the curve equation, in Montgomery form.
pub(crate) const B: Fe =
    Fe::from_canonical([0xddbc_bd41_4d94_0e93, 0xf397_89f5_15ab_8f92, 0x4d5a_9e4b_cf65_09a7, 0x28e9_fa9e_9d9f_5e34]);

/// The base point G, in Montgomery form.
pub(crate) const G: Affine = Affine {
    x: Fe::from_canonical([0x715a_4589_334c_74c7, 0x8fe3_0bbf_f266_0be1, 0x5f99_0446_6a39_c994, 0x32c4_ae2c_1f19_8119]),
    y: Fe::from_canonical([0x02df_32e5_2139_f0a0, 0xd0a9_877c_c62a_4740, 0x59bd_cee3_6b69_2153, 0xbc37_36a2_f4f6_779c]),
};

/// A finite affine point (the tables never hold infinity: multiples k·P with 0 < k < n of a point of
/// prime order n are never the identity).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

impl Affine {
    /// Whether (x, y) satisfies y² = x³ − 3x + b.
    pub(crate) fn is_on_curve(&self) -> bool {
        let x3 = self.x.square().mul(&self.x);
        let three_x = self.x.double().add(&self.x);
        self.y.square() == x3.sub(&three_x).add(&B)
    }

    #[inline(always)]
    pub(crate) fn neg(&self) -> Affine {
        Affine { x: self.x, y: self.y.neg() }
    }
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

impl Jacobian {
    pub(crate) const IDENTITY: Jacobian = Jacobian { x: Fe::ONE, y: Fe::ONE, z: Fe::ZERO };

    #[inline(always)]
    pub(crate) fn from_affine(p: &Affine) -> Jacobian {
        Jacobian { x: p.x, y: p.y, z: Fe::ONE }
    }

    #[inline(always)]
    pub(crate) fn is_identity(&self) -> bool {
        self.z.is_zero()
    }

    /// dbl-2001-b for a = −3, with the small multiples (×3, ×4, ×8) each done by one reduction. Infinity
    /// doubles to infinity (Z₃ = 2·Y·Z = 0), and so does a point with Y = 0 (none exists on this curve of
    /// prime order, but the formula handles it).
    #[inline(always)]
    pub(crate) fn double(&self) -> Jacobian {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let alpha = self.x.sub(&delta).mul(&self.x.add(&delta)).mul_small(3);
        let beta4 = beta.mul_small(4);
        let x3 = alpha.square().sub(&beta.mul_small(8));
        let z3 = self.y.add(&self.z).square().sub(&gamma).sub(&delta);
        let gamma2_8 = gamma.square().mul_small(8);
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&gamma2_8);
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// self + q for affine q (madd-2004-hmv: 8M + 3S and a single doubling of a field element, where
    /// madd-2007-bl needs five).
    #[inline(always)]
    pub(crate) fn add_affine(&self, q: &Affine) -> Jacobian {
        if self.is_identity() {
            return Jacobian::from_affine(q);
        }
        let z1z1 = self.z.square();
        let h = q.x.mul(&z1z1).sub(&self.x);
        let r = q.y.mul(&self.z).mul(&z1z1).sub(&self.y);
        if h.is_zero() {
            return if r.is_zero() { Jacobian::from_affine(q).double() } else { Jacobian::IDENTITY };
        }
        let hh = h.square();
        let hhh = hh.mul(&h);
        let v = self.x.mul(&hh);
        let x3 = r.square().sub(&hhh).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&hhh));
        let z3 = self.z.mul(&h);
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// self + q for Jacobian q (add-1998-cmo-2: 12M + 4S and a single doubling of a field element).
    #[inline(always)]
    pub(crate) fn add(&self, q: &Jacobian) -> Jacobian {
        if self.is_identity() {
            return *q;
        }
        if q.is_identity() {
            return *self;
        }
        let z1z1 = self.z.square();
        let z2z2 = q.z.square();
        let u1 = self.x.mul(&z2z2);
        let s1 = self.y.mul(&q.z).mul(&z2z2);
        let h = q.x.mul(&z1z1).sub(&u1);
        let r = q.y.mul(&self.z).mul(&z1z1).sub(&s1);
        if h.is_zero() {
            return if r.is_zero() { self.double() } else { Jacobian::IDENTITY };
        }
        let hh = h.square();
        let hhh = hh.mul(&h);
        let v = u1.mul(&hh);
        let x3 = r.square().sub(&hhh).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&hhh));
        let z3 = self.z.mul(&q.z).mul(&h);
        Jacobian { x: x3, y: y3, z: z3 }
    }

    /// The affine form; `None` for infinity. One inversion: use [`normalize_batch`] for many points.
    #[cfg(test)]
    pub(crate) fn to_affine(self) -> Option<Affine> {
        if self.is_identity() {
            return None;
        }
        let zinv = self.z.invert();
        let zinv2 = zinv.square();
        Some(Affine { x: self.x.mul(&zinv2), y: self.y.mul(&zinv2).mul(&zinv) })
    }
}

/// Affine forms of many finite points with a single field inversion (Montgomery's trick). Callers pass
/// only finite points; an infinite one would come out as (0, 0), which is not on the curve.
pub(crate) fn normalize_batch(points: &[Jacobian]) -> Vec<Affine> {
    let mut zs: Vec<Fe> = points.iter().map(|p| p.z).collect();
    crate::field::batch_invert(&mut zs);
    points
        .iter()
        .zip(zs)
        .map(|(p, zinv)| {
            let zinv2 = zinv.square();
            Affine { x: p.x.mul(&zinv2), y: p.y.mul(&zinv2).mul(&zinv) }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small_multiples(k: usize) -> Vec<Affine> {
        let mut out = vec![G];
        let mut acc = Jacobian::from_affine(&G);
        for _ in 1..k {
            acc = acc.add_affine(&G);
            out.push(acc.to_affine().expect("finite"));
        }
        out
    }

    #[test]
    fn generator_is_on_curve_and_b_is_right() {
        assert!(G.is_on_curve());
        assert!(!Affine { x: G.x, y: G.y.add(&Fe::ONE) }.is_on_curve());
    }

    #[test]
    fn addition_formulas_agree_with_each_other() {
        let m = small_multiples(12);
        for (i, a) in m.iter().enumerate() {
            assert!(a.is_on_curve(), "{}G on curve", i + 1);
        }
        let two = Jacobian::from_affine(&G).double().to_affine().expect("2G");
        assert_eq!(two, m[1], "2G by doubling and by addition");
        // (3G + 4G) three ways.
        let j3 = Jacobian::from_affine(&m[2]).double().add(&Jacobian::from_affine(&G)).add(&Jacobian::IDENTITY);
        assert_eq!(j3.to_affine(), Some(m[6]));
        assert_eq!(Jacobian::from_affine(&m[2]).add_affine(&m[3]).to_affine(), Some(m[6]));
        let j4 = Jacobian::from_affine(&m[1]).double();
        assert_eq!(Jacobian::from_affine(&m[2]).add(&j4).to_affine(), Some(m[6]));
        // P + P and P − P through the addition formulas.
        assert_eq!(Jacobian::from_affine(&m[4]).add_affine(&m[4]).to_affine(), Some(m[9]));
        assert!(Jacobian::from_affine(&m[4]).add_affine(&m[4].neg()).is_identity());
        assert!(j4.add(&Jacobian::from_affine(&m[3].neg())).is_identity());
        assert_eq!(j4.add(&j4).to_affine(), Some(small_multiples(8)[7]));
        assert_eq!(Jacobian::IDENTITY.add_affine(&m[0]).to_affine(), Some(G));
        assert!(Jacobian::IDENTITY.double().is_identity());
        assert_eq!(Jacobian::IDENTITY.to_affine(), None);
    }

    #[test]
    fn batch_normalisation_equals_one_by_one() {
        let mut acc = Jacobian::from_affine(&G);
        let mut pts = Vec::new();
        for _ in 0..9 {
            acc = acc.double().add_affine(&G);
            pts.push(acc);
        }
        let batch = normalize_batch(&pts);
        for (p, a) in pts.iter().zip(batch) {
            assert_eq!(p.to_affine(), Some(a));
        }
    }
}

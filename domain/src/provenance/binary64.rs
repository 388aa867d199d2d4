//! Decimal numbers through the nearest IEEE 754 binary64 value and back, in integer arithmetic only:
//! what Python's `float()` then `repr()` (or `int()` for integral values) print, without a float in
//! the domain. Correctly rounded (round half to even) decimal → binary64, and the shortest decimal that
//! rounds back to the same value (the closest such one; ties to an even last digit).

use std::cmp::Ordering;

/// An unsigned big integer, base 2^32, least significant limb first, no trailing zero limbs.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }
    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }
    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }
    fn bits(&self) -> u64 {
        match self.0.last() {
            None => 0,
            Some(top) => (self.0.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }
    fn mul_add_small(&mut self, mul: u32, add: u32) {
        let mut carry = u64::from(add);
        for l in self.0.iter_mut() {
            let v = u64::from(*l) * u64::from(mul) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.0.push(carry as u32);
        }
        self.trim();
    }
    fn mul_pow10(&mut self, mut n: u64) {
        while n >= 9 {
            self.mul_add_small(1_000_000_000, 0);
            n -= 9;
        }
        if n > 0 {
            self.mul_add_small(10u32.pow(n as u32), 0);
        }
    }
    fn shl(&self, bits: u64) -> Big {
        if self.is_zero() {
            return Big(Vec::new());
        }
        let (limbs, rest) = ((bits / 32) as usize, (bits % 32) as u32);
        let mut out = vec![0u32; limbs];
        let mut carry = 0u32;
        for &l in &self.0 {
            if rest == 0 {
                out.push(l);
            } else {
                out.push((l << rest) | carry);
                carry = l >> (32 - rest);
            }
        }
        if carry > 0 {
            out.push(carry);
        }
        Big(out)
    }
    /// `self - other`; `other` must not exceed `self`.
    fn sub(&mut self, other: &Big) {
        let mut borrow = 0i64;
        for (i, l) in self.0.iter_mut().enumerate() {
            let v = i64::from(*l) - i64::from(other.0.get(i).copied().unwrap_or(0)) - borrow;
            borrow = i64::from(v < 0);
            *l = v.rem_euclid(1 << 32) as u32;
        }
        self.trim();
    }
    /// Quotient (which must be below 2^63) and remainder of `self / den`.
    fn div_small_quotient(&self, den: &Big) -> (u64, Big) {
        let mut rem = self.clone();
        let mut q = 0u64;
        let top = self.bits().saturating_sub(den.bits()).min(62);
        for bit in (0..=top).rev() {
            let d = den.shl(bit);
            if rem >= d {
                rem.sub(&d);
                q |= 1 << bit;
            }
        }
        (q, rem)
    }
    fn to_decimal(&self) -> String {
        let mut parts = Vec::new();
        let mut n = self.clone();
        while !n.is_zero() {
            let mut rem = 0u64;
            for l in n.0.iter_mut().rev() {
                let v = (rem << 32) | u64::from(*l);
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            n.trim();
            parts.push(rem);
        }
        let mut out = parts.pop().map(|p| p.to_string()).unwrap_or_else(|| "0".into());
        for p in parts.iter().rev() {
            out.push_str(&format!("{p:09}"));
        }
        out
    }
}

impl PartialOrd for Big {
    fn partial_cmp(&self, other: &Big) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Big {
    fn cmp(&self, other: &Big) -> Ordering {
        self.0.len().cmp(&other.0.len()).then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }
}

/// `x × 2^twos × 10^tens`.
fn scaled(x: &Big, twos: u64, tens: u64) -> Big {
    let mut b = x.shl(twos);
    b.mul_pow10(tens);
    b
}

/// A finite binary64 value: `(-1)^neg × m × 2^e`, `m < 2^53`.
struct Double {
    neg: bool,
    m: u64,
    e: i64,
}

/// Why a decimal has no binary64 value.
pub struct OutOfRange;

/// The binary64 nearest to `±digits × 10^exp10` (`digits` ASCII decimal digits, any number of them).
fn nearest(neg: bool, digits: &str, exp10: i64) -> Result<Double, OutOfRange> {
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(Double { neg, m: 0, e: 0 });
    }
    // Far outside the range the answer is known without big numbers: the largest double is below
    // 1.8e308 and anything under 2.5e-324 rounds to zero.
    let sci = exp10.saturating_add(digits.len() as i64 - 1);
    if sci > 309 {
        return Err(OutOfRange);
    }
    if sci < -330 {
        return Ok(Double { neg, m: 0, e: 0 });
    }
    let mut d = Big(Vec::new());
    for c in digits.bytes() {
        d.mul_add_small(10, u32::from(c - b'0'));
    }
    let (num, den) = if exp10 >= 0 {
        (scaled(&d, 0, exp10 as u64), Big::from_u64(1))
    } else {
        (d, scaled(&Big::from_u64(1), 0, exp10.unsigned_abs()))
    };
    // value = num / den; find e with 2^52 <= value / 2^e < 2^53 (or e = -1074 for subnormals).
    let mut e = num.bits() as i64 - den.bits() as i64 - 53;
    let quotient = |e: i64| {
        let n = num.shl(if e < 0 { e.unsigned_abs() } else { 0 });
        let dd = den.shl(if e > 0 { e as u64 } else { 0 });
        let (q, r) = n.div_small_quotient(&dd);
        (q, r, dd)
    };
    let (mut q, mut r, mut dd) = quotient(e);
    loop {
        if q >= 1 << 53 {
            e += 1;
        } else if q < 1 << 52 && e > -1074 {
            e -= 1;
        } else {
            break;
        }
        (q, r, dd) = quotient(e);
    }
    if e < -1074 {
        e = -1074;
        (q, r, dd) = quotient(e);
    }
    // Round half to even on the remainder.
    match r.shl(1).cmp(&dd) {
        Ordering::Greater => q += 1,
        Ordering::Equal if q & 1 == 1 => q += 1,
        _ => {}
    }
    if q == 1 << 53 {
        q = 1 << 52;
        e += 1;
    }
    if e > 971 {
        return Err(OutOfRange);
    }
    Ok(Double { neg, m: q, e })
}

/// Python's `str(int(x))` when the double is integral, else `repr(x)`.
fn print(x: &Double) -> String {
    if x.m == 0 {
        return "0".into();
    }
    let sign = if x.neg { "-" } else { "" };
    if x.e >= 0 {
        return format!("{sign}{}", Big::from_u64(x.m).shl(x.e as u64).to_decimal());
    }
    let frac_bits = x.e.unsigned_abs();
    if frac_bits < 64 && x.m & ((1u64 << frac_bits) - 1) == 0 {
        return format!("{sign}{}", x.m >> frac_bits);
    }
    let (digits, exp) = shortest(x.m, x.e);
    format!("{sign}{}", python_layout(&digits, exp))
}

/// The shortest digits `d1 d2 … dn` and decimal exponent `k` (value `d1.d2…dn × 10^k`) that round back
/// to the positive, non-integral double `m × 2^e` (`e < 0`).
fn shortest(m: u64, e: i64) -> (String, i64) {
    // Everything over the common denominator 2^s: v = 4m, the rounding interval [4m - lo, 4m + 2],
    // closed when m is even (round half to even reads a halfway value as the even neighbour).
    let s = e.unsigned_abs() + 2;
    let v = Big::from_u64(4 * m);
    let lo = if m == 1 << 52 && e > -1074 { 1 } else { 2 };
    let low = Big::from_u64(4 * m - lo);
    let high = Big::from_u64(4 * m + 2);
    let closed = m.is_multiple_of(2);
    // Decimal exponent of v: 10^k <= v < 10^(k+1), from an estimate refined by comparison.
    let log2 = (64 - m.leading_zeros()) as i64 - 1 + e;
    let mut k = (log2 * 78_913).div_euclid(1 << 18);
    let ge_pow10 = |k: i64| -> bool {
        // v >= 10^k  <=>  4m × 10^max(-k,0) >= 2^s × 10^max(k,0)
        scaled(&v, 0, (-k).max(0) as u64) >= scaled(&Big::from_u64(1), s, k.max(0) as u64)
    };
    while !ge_pow10(k) {
        k -= 1;
    }
    while ge_pow10(k + 1) {
        k += 1;
    }
    let mut n = 0i64;
    loop {
        n += 1;
        // Candidates c × 10^p with n digits: c = floor(v / 10^p) and c + 1.
        let p = k - n + 1;
        let (up10, down10) = (p.max(0) as u64, (-p).max(0) as u64);
        let num = scaled(&v, 0, down10);
        let den = scaled(&Big::from_u64(1), s, up10);
        let (c, rem) = num.div_small_quotient(&den);
        let inside = |c: u64| {
            // c × 10^p compared with the interval, all over 2^s × 10^max(-p,0).
            let cv = scaled(&Big::from_u64(c), s, up10);
            let lo_v = scaled(&low, 0, down10);
            let hi_v = scaled(&high, 0, down10);
            let above_low = match cv.cmp(&lo_v) {
                Ordering::Greater => true,
                Ordering::Equal => closed,
                Ordering::Less => false,
            };
            let below_high = match cv.cmp(&hi_v) {
                Ordering::Less => true,
                Ordering::Equal => closed,
                Ordering::Greater => false,
            };
            above_low && below_high
        };
        let exact = rem.is_zero();
        let closest = || {
            // The closer one; halfway: the even one.
            let mut other = den.clone();
            other.sub(&rem);
            match rem.cmp(&other) {
                Ordering::Less => c,
                Ordering::Greater => c + 1,
                Ordering::Equal if c.is_multiple_of(2) => c,
                Ordering::Equal => c + 1,
            }
        };
        let pick = match (c > 0 && inside(c), !exact && inside(c + 1)) {
            (true, true) => Some(closest()),
            (true, false) => Some(c),
            (false, true) => Some(c + 1),
            // 17 significant digits always identify a double: the closest one does.
            (false, false) if n == 17 => Some(if exact { c } else { closest() }),
            (false, false) => None,
        };
        if let Some(c) = pick {
            let mut digits = c.to_string();
            let mut k = k;
            if digits.len() as i64 > n {
                k += 1; // c + 1 carried into a new digit (…999 → 1000…)
            }
            while digits.len() > 1 && digits.ends_with('0') {
                digits.pop();
            }
            return (digits, k);
        }
    }
}

/// Python `repr` layout of `d1.d2…dn × 10^k`: positional for -4 <= k < 16, else `d.ddde±XX`.
fn python_layout(digits: &str, k: i64) -> String {
    if (-4..16).contains(&k) {
        if k >= 0 {
            let int_len = k as usize + 1;
            let padded = format!("{digits:0<int_len$}");
            let (a, b) = padded.split_at(int_len);
            if b.is_empty() {
                format!("{a}.0")
            } else {
                format!("{a}.{b}")
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-k - 1) as usize))
        }
    } else {
        let (a, b) = digits.split_at(1);
        let m = if b.is_empty() { a.to_string() } else { format!("{a}.{b}") };
        format!("{m}e{}{:02}", if k < 0 { '-' } else { '+' }, k.abs())
    }
}

/// Canonical text of `±int_part.frac_part × 10^exp` (already validated as digits): through the nearest
/// binary64, printed as the GS1 reference prints it.
pub fn canonical(neg: bool, int_part: &str, frac_part: &str, exp: i64) -> Result<String, OutOfRange> {
    let digits = format!("{int_part}{frac_part}");
    let exp10 = exp.saturating_sub(frac_part.len() as i64);
    Ok(print(&nearest(neg, &digits, exp10)?))
}

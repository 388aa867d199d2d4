//! EPCIS number canonicalisation (`scf_domain::provenance::canon::canonical_number`) against the binary64
//! float the CBV 2.0 reference goes through. The domain computes in integers only; the float is the
//! oracle here, outside the domain crate, which has none.

use scf_domain::provenance::canon::canonical_number;

proptest::proptest! {
    /// Against the float the reference goes through (tests only: the domain itself has no float):
    /// integral values print exactly; others print digits that read back as the same double, as few
    /// as Rust's shortest formatting needs (which may differ from Python's only in the choice
    /// between two equally close candidates, where the integer code follows Python).
    #[test]
    fn numbers_read_back_as_the_nearest_double(
        neg in proptest::bool::ANY,
        int_part in "[0-9]{0,20}",
        frac_part in "[0-9]{0,20}",
        exp in -330i64..285,
    ) {
        proptest::prop_assume!(!(int_part.is_empty() && frac_part.is_empty()));
        let text = format!("{}{int_part}.{frac_part}e{exp}", if neg { "-" } else { "" });
        let x: f64 = text.parse().expect("parses");
        proptest::prop_assume!(x.is_finite());
        let got = canonical_number(&text).expect("in range").expect("a number");
        if x == x.trunc() {
            if x.abs() < 9.0e18 {
                proptest::prop_assert_eq!(&got, &(x as i64).to_string(), "{}", text);
            }
        } else {
            let back: f64 = got.parse().expect("reads back");
            proptest::prop_assert_eq!(back.to_bits(), x.to_bits(), "{} printed {}", text, got);
            let digits = |t: &str| {
                let m = t.split(['e', 'E']).next().unwrap_or("");
                m.trim_start_matches(['-', '0', '.']).chars().filter(char::is_ascii_digit).count()
            };
            let rust = format!("{:e}", x.abs());
            proptest::prop_assert_eq!(digits(&got), digits(&rust), "{} printed {} (Rust {})", text, got, rust);
        }
    }
}

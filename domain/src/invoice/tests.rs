//! One test per invoice rule: each fails if its rule is removed.

use super::fixture::{code, date, inv_no, ok, Fx};
use super::*;
use crate::testkit::World;

#[test]
fn issue_stores_header_and_lines_apart_and_event_has_no_lines() {
    let mut fx = Fx::new();
    let n = fx.new_invoice(&inv_no(1), "S1", "CORE", 1_000_000);
    let ev = ok(fx.inv(&fx.s1.clone(), InvoiceCall::Issue(n.clone())));
    assert_eq!(ev[0].kind, "InvoiceIssued");
    let orgs: Vec<&str> = ev[0].attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.as_str()).collect();
    assert_eq!(orgs, ["S1", "CORE"]);
    assert!(!ev[0].data.contains("制动盘"), "lines are confidential and stay out of events");
    let inv = load_invoice(&fx.w.state, &n.number).unwrap().unwrap();
    assert_eq!((inv.total_with_tax, inv.seller_org.as_str(), inv.line_count), (1_130_000, "S1", 1));
    assert_eq!(load_lines(&fx.w.state, &n.number).unwrap().unwrap().lines, n.lines);
}

#[test]
fn number_must_be_20_digits_and_unique() {
    let mut fx = Fx::new();
    let s1 = fx.s1.clone();
    let mut n = fx.new_invoice("1234", "S1", "CORE", 10_000);
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n.clone()))), "INVOICE_BAD_NUMBER");
    n.number = inv_no(1);
    ok(fx.inv(&s1, InvoiceCall::Issue(n.clone())));
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_NUMBER_EXISTS");
}

#[test]
fn totals_must_equal_the_sum_of_lines() {
    let mut fx = Fx::new();
    let s1 = fx.s1.clone();
    let base = fx.new_invoice(&inv_no(1), "S1", "CORE", 10_000);
    let mut n = base.clone();
    n.total_amount += 1;
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_TOTALS_MISMATCH");
    let mut n = base.clone();
    n.total_tax += 1;
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_TOTALS_MISMATCH");
    let mut n = base.clone();
    n.total_with_tax -= 1;
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_TOTALS_MISMATCH");
    ok(fx.inv(&s1, InvoiceCall::Issue(base)));
}

#[test]
fn line_amount_and_tax_are_checked() {
    let mut fx = Fx::new();
    let s1 = fx.s1.clone();
    let base = fx.new_invoice(&inv_no(1), "S1", "CORE", 10_000);
    let mut n = base.clone();
    n.lines[0].quantity = Some("101".into());
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_LINE_AMOUNT_MISMATCH");
    let mut n = base.clone();
    n.lines[0].tax_amount += 5;
    n.total_tax += 5;
    n.total_with_tax += 5;
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_LINE_TAX_MISMATCH");
    let mut n = base;
    n.lines[0].unit_price = None;
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_INVALID_FIELD");
}

#[test]
fn seller_is_the_signer_and_buyer_matches_its_org() {
    let mut fx = Fx::new();
    let n = fx.new_invoice(&inv_no(1), "S1", "CORE", 10_000);
    // (Testkit credit codes depend on the id length: CORE's differs from S1's.)
    let core = fx.core.clone();
    assert_eq!(code(fx.inv(&core, InvoiceCall::Issue(n.clone()))), "INVOICE_SELLER_MISMATCH");
    let mut m = n.clone();
    m.buyer_org = Some("S3".into());
    assert_eq!(code(fx.inv(&fx.s1.clone(), InvoiceCall::Issue(m))), "INVOICE_BUYER_MISMATCH");
    let mut m = n;
    m.issue_date = fx.w.today().add_days(1);
    assert_eq!(code(fx.inv(&fx.s1.clone(), InvoiceCall::Issue(m))), "INVOICE_DATE_IN_FUTURE");
}

#[test]
fn verify_answers_authentic_not_found_or_reversed_only() {
    let mut fx = Fx::new();
    let no = inv_no(7);
    let total = fx.issue_invoice(&no, "S1", "CORE", 10_000);
    let d = fx.w.today();
    assert_eq!(verify_invoice(&fx.w.state, &no, d, total).unwrap(), VerifyResult::Authentic);
    assert_eq!(verify_invoice(&fx.w.state, &no, d, total + 1).unwrap(), VerifyResult::NotFound);
    assert_eq!(verify_invoice(&fx.w.state, &no, d.add_days(-1), total).unwrap(), VerifyResult::NotFound);
    assert_eq!(verify_invoice(&fx.w.state, &inv_no(8), d, total).unwrap(), VerifyResult::NotFound);
    assert_eq!(verify_invoice(&fx.w.state, "garbage", d, total).unwrap(), VerifyResult::NotFound);
    ok(fx.inv(
        &fx.s1.clone(),
        InvoiceCall::Reverse {
            number: no.clone(), red_number: inv_no(9), amount_with_tax: 100, reason: "退货".into()
        },
    ));
    assert_eq!(verify_invoice(&fx.w.state, &no, d, total).unwrap(), VerifyResult::Reversed);
    assert_eq!(serde_json::to_string(&VerifyResult::NotFound).unwrap(), "\"not_found\"");
}

#[test]
fn book_once_by_the_buyer_and_second_attempt_names_the_first() {
    let mut fx = Fx::new();
    let no = inv_no(1);
    fx.issue_invoice(&no, "S1", "CORE", 10_000);
    let s2 = fx.s2.clone();
    assert_eq!(
        code(fx.inv(&s2, InvoiceCall::Book { number: no.clone(), booking_ref: "X".into() })),
        "INVOICE_NOT_BUYER"
    );
    let core = fx.core.clone();
    ok(fx.inv(&core, InvoiceCall::Book { number: no.clone(), booking_ref: "记-2026-0001".into() }));
    let err = fx.inv(&core, InvoiceCall::Book { number: no.clone(), booking_ref: "记-2026-0002".into() }).unwrap_err();
    assert_eq!(err.code, "INVOICE_ALREADY_BOOKED");
    assert!(err.message.contains("记-2026-0001") && err.message.contains("CORE"), "{}", err.message);
    assert_eq!(
        code(fx.inv(&core, InvoiceCall::Book { number: inv_no(2), booking_ref: "X".into() })),
        "INVOICE_NOT_FOUND"
    );
}

#[test]
fn fully_reversed_invoice_cannot_be_booked() {
    let mut fx = Fx::new();
    let no = inv_no(1);
    let total = fx.issue_invoice(&no, "S1", "CORE", 10_000);
    ok(fx.inv(
        &fx.s1.clone(),
        InvoiceCall::Reverse {
            number: no.clone(),
            red_number: inv_no(2),
            amount_with_tax: total,
            reason: "作废".into(),
        },
    ));
    assert_eq!(
        code(fx.inv(&fx.core.clone(), InvoiceCall::Book { number: no, booking_ref: "X".into() })),
        "INVOICE_REVERSED"
    );
}

#[test]
fn reversal_rules() {
    let mut fx = Fx::new();
    let no = inv_no(1);
    let total = fx.issue_invoice(&no, "S1", "CORE", 10_000);
    let s1 = fx.s1.clone();
    let rev = |red: u64, amt: u64| InvoiceCall::Reverse {
        number: inv_no(1),
        red_number: inv_no(red),
        amount_with_tax: amt,
        reason: "退货".into(),
    };
    assert_eq!(code(fx.inv(&fx.core.clone(), rev(2, 100))), "INVOICE_NOT_SELLER");
    assert_eq!(code(fx.inv(&s1, rev(2, total + 1))), "INVOICE_REVERSAL_EXCEEDS_AMOUNT");
    assert_eq!(code(fx.inv(&s1, rev(2, 0))), "INVOICE_INVALID_FIELD");
    let ev = ok(fx.inv(&s1, rev(2, 1_000)));
    assert_eq!(ev[0].kind, "InvoicePartiallyReversed");
    assert_eq!(code(fx.inv(&s1, rev(2, 1_000))), "INVOICE_NUMBER_EXISTS", "red number reuse");
    assert_eq!(code(fx.inv(&s1, rev(1, 1_000))), "INVOICE_NUMBER_EXISTS", "red number = an invoice number");
    assert_eq!(load_invoice(&fx.w.state, &no).unwrap().unwrap().unreversed(), total - 1_000);
    let ev = ok(fx.inv(&s1, rev(3, total - 1_000)));
    assert_eq!(ev[0].kind, "InvoiceReversed");
    assert_eq!(code(fx.inv(&s1, rev(4, 1))), "INVOICE_REVERSED");
    // A red-letter number cannot then be issued as an invoice.
    let n = fx.new_invoice(&inv_no(3), "S1", "CORE", 10_000);
    assert_eq!(code(fx.inv(&s1, InvoiceCall::Issue(n))), "INVOICE_NUMBER_EXISTS");
}

#[test]
fn financing_lock_never_exceeds_the_unreversed_amount() {
    let mut fx = Fx::new();
    let no = inv_no(1);
    let total = fx.issue_invoice(&no, "S1", "CORE", 10_000); // 11_300
    let s1 = fx.s1.clone();
    ok(fx.inv(
        &s1,
        InvoiceCall::Reverse {
            number: no.clone(),
            red_number: inv_no(2),
            amount_with_tax: 1_300,
            reason: "折让".into(),
        },
    ));
    let st = &mut fx.w.state;
    let e = lock_financing(st, &no, "CNY", total - 1_299, "V", 1).unwrap_err();
    assert_eq!(e.code(), "INVOICE_OVER_FINANCED");
    lock_financing(st, &no, "CNY", 6_000, "V.1", 1).unwrap();
    assert_eq!(lock_financing(st, &no, "CNY", 4_001, "V.2", 1).unwrap_err().code(), "INVOICE_OVER_FINANCED");
    assert_eq!(lock_financing(st, &no, "USD", 1, "V.2", 1).unwrap_err().code(), "INVOICE_CURRENCY_MISMATCH");
    lock_financing(st, &no, "CNY", 4_000, "V.2", 1).unwrap();
    let inv = load_invoice(st, &no).unwrap().unwrap();
    assert_eq!((inv.financed, inv.available_for_financing(), inv.locks.len()), (10_000, 0, 2));
    // Reversing financed value is refused: a reversed amount cannot back financing.
    assert_eq!(
        code(fx.inv(
            &s1,
            InvoiceCall::Reverse { number: no, red_number: inv_no(3), amount_with_tax: 1, reason: "x".into() }
        )),
        "INVOICE_REVERSAL_BELOW_FINANCED"
    );
}

#[test]
fn bad_payload_and_unknown_signer_are_typed_errors() {
    let mut fx = Fx::new();
    let e = fx.w.exec(&InvoiceModule, &fx.s1.clone(), &[9, 9, 9]).unwrap_err();
    assert_eq!(e.code, "BAD_PAYLOAD");
    let stranger = World::key("nobody");
    let n = fx.new_invoice(&inv_no(1), "S1", "CORE", 10_000);
    assert_eq!(code(fx.inv(&stranger, InvoiceCall::Issue(n))), "UNKNOWN_ACCOUNT");
}

#[test]
fn decimals_and_rounding() {
    assert_eq!(parse_decimal("12.5"), Some((125, 1)));
    assert_eq!(parse_decimal("1."), None);
    assert_eq!(parse_decimal("-1"), None);
    assert_eq!(parse_decimal("1.1234567"), None);
    assert_eq!(line_tax(10_050, 1300), Some(1_307)); // 1306.5 rounds half up
    assert_eq!(date("2026-01-05"), Fx::new().w.today());
}

//! UBL 2.1 / EN 16931 import and export: round trip, issuing from XML, and errors naming the path.

use proptest::prelude::*;

use super::*;
use crate::invoice::fixture::{code, inv_no, ok, Fx};
use crate::invoice::{InvoiceCall, InvoiceLine};

fn two_rate_invoice(fx: &Fx) -> NewInvoice {
    let mut n = fx.new_invoice(&inv_no(1), "S1", "CORE", 1_234_500);
    n.lines.push(InvoiceLine {
        item_name: "*现代服务*技术服务费 & 运维 <年度>".into(),
        spec: String::new(),
        unit: String::new(),
        quantity: None,
        unit_price: None,
        amount: 50_050,
        tax_rate_bp: 600,
        tax_amount: invoice::line_tax(50_050, 600).unwrap_or(0),
    });
    n.total_amount = n.lines.iter().map(|l| l.amount).sum();
    n.total_tax = n.lines.iter().map(|l| l.tax_amount).sum();
    n.total_with_tax = n.total_amount + n.total_tax;
    n.buyer_org = None;
    n
}

#[test]
fn export_then_import_round_trips() {
    let fx = Fx::new();
    let n = two_rate_invoice(&fx);
    let xml = to_ubl_xml(&n).unwrap();
    assert!(xml.contains("<cbc:ID>26310000000000000001</cbc:ID>"), "{xml}");
    assert!(xml.contains(r#"<cbc:PayableAmount currencyID="CNY">"#));
    assert!(xml.contains("&amp; 运维 &lt;年度&gt;"));
    assert!(xml.contains("<cbc:Percent>6</cbc:Percent>") && xml.contains("<cbc:Percent>13</cbc:Percent>"));
    let back = from_ubl_xml(&xml).unwrap();
    assert_eq!(back, n);
    assert_eq!(to_ubl_xml(&back).unwrap(), xml, "export is deterministic");
}

#[test]
fn issue_from_ubl_on_chain_and_export_stored_invoice() {
    let mut fx = Fx::new();
    let n = two_rate_invoice(&fx);
    let xml = to_ubl_xml(&n).unwrap();
    let s1 = fx.s1.clone();
    ok(fx.inv(&s1, InvoiceCall::IssueUbl { xml: xml.clone(), buyer_org: Some("CORE".into()) }));
    let inv = invoice::load_invoice(&fx.w.state, &n.number).unwrap().unwrap();
    assert_eq!((inv.buyer_org.as_deref(), inv.total_with_tax), (Some("CORE"), n.total_with_tax));
    let lines = invoice::load_lines(&fx.w.state, &n.number).unwrap().unwrap();
    assert_eq!(invoice_to_ubl(&inv, &lines).unwrap(), xml);
    // A bad document is refused by the module with the UBL rule.
    assert_eq!(code(fx.inv(&s1, InvoiceCall::IssueUbl { xml: "<Invoice".into(), buyer_org: None })), "UBL_MALFORMED");
}

fn err(xml: &str) -> UblError {
    match from_ubl_xml(xml) {
        Ok(n) => panic!("expected an error, got {n:?}"),
        Err(e) => e,
    }
}

#[test]
fn errors_name_the_element_path() {
    let fx = Fx::new();
    let n = two_rate_invoice(&fx);
    let xml = to_ubl_xml(&n).unwrap();

    let e = err(&xml.replacen("<cbc:ID>26310000000000000001</cbc:ID>", "", 1));
    assert_eq!(
        (e.code(), e.to_string().as_str()),
        ("UBL_MISSING_ELEMENT", "Invoice/cbc:ID: required element is missing")
    );

    // Second line amount with three decimals.
    let e = err(&xml.replacen(">500.50</cbc:LineExtensionAmount>", ">500.505</cbc:LineExtensionAmount>", 1));
    assert_eq!(e.code(), "UBL_INVALID_VALUE");
    assert!(e.to_string().starts_with("Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount: "), "{e}");

    let e = err(&xml.replacen("<cbc:IssueDate>2026-01-05", "<cbc:IssueDate>2026-13-05", 1));
    assert_eq!(e.to_string(), "Invoice/cbc:IssueDate: \"2026-13-05\" is not a date YYYY-MM-DD (BT-2)");

    let total = money::format_yuan(n.total_with_tax);
    let e = err(&xml.replacen(
        &format!(r#"<cbc:PayableAmount currencyID="CNY">{total}"#),
        r#"<cbc:PayableAmount currencyID="CNY">1.00"#,
        1,
    ));
    assert_eq!(e.code(), "UBL_TOTALS_MISMATCH");
    assert!(e.to_string().starts_with("Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount: "), "{e}");

    let e = err(&xml.replacen(r#"<cbc:PayableAmount currencyID="CNY">"#, r#"<cbc:PayableAmount currencyID="EUR">"#, 1));
    assert_eq!(e.to_string(), "Invoice/cac:LegalMonetaryTotal/cbc:PayableAmount/@currencyID: EUR differs from the document currency CNY (BT-5)");

    let e = err(&xml.replacen("<cbc:DocumentCurrencyCode>CNY", "<cbc:DocumentCurrencyCode>cny", 1));
    assert_eq!(e.to_string(), "Invoice/cbc:DocumentCurrencyCode: \"cny\" is not an ISO 4217 code (BT-5)");

    let e = err(&xml.replacen("<cbc:InvoiceTypeCode>380", "<cbc:InvoiceTypeCode>381", 1));
    assert_eq!(e.code(), "UBL_UNSUPPORTED");

    let e = err(&xml.replacen("<cac:TaxTotal>", "<cac:AllowanceCharge/><cac:TaxTotal>", 1));
    assert_eq!(e.to_string(), "Invoice/cac:AllowanceCharge: not supported: document-level allowances and charges");

    let e = err(&xml.replacen(&n.seller.tax_id, "bad id", 1));
    assert!(
        e.to_string().starts_with("Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID: "),
        "{e}"
    );

    let e = err(&xml.replacen(INVOICE_NS, "urn:example", 1));
    assert_eq!(e.code(), "UBL_INVALID_VALUE");
    assert_eq!(err("<CreditNote/>").to_string(), "CreditNote: root element must be Invoice (UBL 2.1)");
    assert_eq!(err("<!DOCTYPE x [<!ENTITY a \"b\">]><Invoice/>").code(), "UBL_UNSUPPORTED");
    assert_eq!(err("<Invoice><a></b></Invoice>").code(), "UBL_MALFORMED");
    assert_eq!(err("").code(), "UBL_MALFORMED");
    assert_eq!(err(&" ".repeat(MAX_UBL_BYTES + 1)).code(), "UBL_TOO_LARGE");
}

#[test]
fn vat_breakdown_is_checked_against_the_lines() {
    let fx = Fx::new();
    let n = two_rate_invoice(&fx);
    let xml = to_ubl_xml(&n).unwrap();
    // The 6 % subtotal's taxable amount no longer matches its line.
    let e = err(&xml.replacen(
        r#"<cbc:TaxableAmount currencyID="CNY">500.50"#,
        r#"<cbc:TaxableAmount currencyID="CNY">500.00"#,
        1,
    ));
    assert_eq!(e.code(), "UBL_TOTALS_MISMATCH");
    assert!(e.to_string().starts_with("Invoice/cac:TaxTotal/cac:TaxSubtotal[1]/cbc:TaxableAmount: "), "{e}");
    // A line at a rate with no breakdown.
    let at = xml.rfind("<cac:InvoiceLine>").unwrap();
    let (head, tail) = xml.split_at(at);
    let e = err(&format!("{head}{}", tail.replacen("<cbc:Percent>6</cbc:Percent>", "<cbc:Percent>9</cbc:Percent>", 1)));
    assert_eq!(
        e.to_string(),
        "Invoice/cac:TaxTotal/cac:TaxSubtotal[1]/cbc:TaxableAmount: 500.50 but the lines at 6% sum to 0.00"
    );
    // Drop the 6 % breakdown: the 6 % line is named.
    let (a, b) = (xml.find("<cac:TaxSubtotal>").unwrap(), xml.find("</cac:TaxSubtotal>").unwrap());
    let e = err(&format!("{}{}", &xml[..a], &xml[b + "</cac:TaxSubtotal>".len()..]));
    assert_eq!(e.to_string(), "Invoice/cac:InvoiceLine[2]: no VAT breakdown (cac:TaxSubtotal) for rate 6%");
}

#[test]
fn subtotal_tax_is_spread_over_lines_within_one_fen_each() {
    // Two 13 % lines of 0.05 yuan: per-line tax rounds to 1 fen each (2), a subtotal-level
    // computation gives 1 fen: accepted, spread so lines stay within tolerance.
    let fx = Fx::new();
    let mut n = fx.new_invoice(&inv_no(1), "S1", "CORE", 5);
    n.buyer_org = None;
    n.lines[0].quantity = None;
    n.lines[0].unit_price = None;
    n.lines.push(n.lines[0].clone());
    n.total_amount = 10;
    n.total_tax = 2;
    n.total_with_tax = 12;
    let xml = to_ubl_xml(&n).unwrap();
    let one_fen = xml
        .replace(r#"<cbc:TaxAmount currencyID="CNY">0.02"#, r#"<cbc:TaxAmount currencyID="CNY">0.01"#)
        .replace(r#"<cbc:TaxInclusiveAmount currencyID="CNY">0.12"#, r#"<cbc:TaxInclusiveAmount currencyID="CNY">0.11"#)
        .replace(r#"<cbc:PayableAmount currencyID="CNY">0.12"#, r#"<cbc:PayableAmount currencyID="CNY">0.11"#);
    let got = from_ubl_xml(&one_fen).unwrap();
    assert_eq!(got.total_tax, 1);
    assert_eq!(got.lines.iter().map(|l| l.tax_amount).sum::<u64>(), 1);
    invoice::validate_new_invoice(&got).unwrap();
    // Five fen off over two lines is refused.
    let far = xml
        .replace(r#"<cbc:TaxAmount currencyID="CNY">0.02"#, r#"<cbc:TaxAmount currencyID="CNY">0.07"#)
        .replace(r#"<cbc:TaxInclusiveAmount currencyID="CNY">0.12"#, r#"<cbc:TaxInclusiveAmount currencyID="CNY">0.17"#)
        .replace(r#"<cbc:PayableAmount currencyID="CNY">0.12"#, r#"<cbc:PayableAmount currencyID="CNY">0.17"#);
    assert_eq!(err(&far).code(), "UBL_TOTALS_MISMATCH");
}

#[test]
fn percent_formatting() {
    assert_eq!(format_percent(1300), "13");
    assert_eq!(format_percent(650), "6.5");
    assert_eq!(format_percent(25), "0.25");
    assert_eq!(format_percent(0), "0");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Bad input never panics: arbitrary text, and arbitrary damage to a valid document.
    #[test]
    fn import_never_panics(s in ".{0,400}", cut in 0usize..4000, junk in "[<>&/a-z:\"= ]{0,12}") {
        let _ = from_ubl_xml(&s);
        let fx = Fx::new();
        let xml = to_ubl_xml(&two_rate_invoice(&fx)).unwrap();
        let mut at = cut.min(xml.len());
        while !xml.is_char_boundary(at) { at -= 1; }
        let damaged = format!("{}{}{}", &xml[..at], junk, &xml[at..]);
        let _ = from_ubl_xml(&damaged);
        let _ = from_ubl_xml(&xml[..at]);
    }
}

/// A complete EN 16931 document (validated by `tests/standards/ubl_en16931.sh` against the UBL 2.1
/// XSD and the CEN schematron) keeps every field the import reads through import and export.
#[test]
fn en16931_fields_survive_import_and_export() {
    let xml = include_str!("../../tests/data/ubl/en16931_full.xml");
    let n = from_ubl_xml(xml).expect("valid EN 16931 input");
    let d = &n.details;
    assert_eq!(n.seller.tax_id, "CN91320400MA1MHL0B02");
    assert_eq!(d.seller.tax_scheme, "VAT");
    assert_eq!(d.seller.legal_id, "91320400MA1MHL0B02");
    assert_eq!(d.seller.trading_name, "恒力制动");
    assert_eq!((d.seller.endpoint.as_str(), d.seller.endpoint_scheme.as_str()), ("6901234000016", "0088"));
    assert_eq!(d.seller.address.city, "常州");
    assert_eq!(d.seller.address.country, "CN");
    assert_eq!(d.seller.contact_email, "ar@hlbrake.example.cn");
    assert_eq!(n.issuer, "王芳");
    assert_eq!(d.buyer.address.additional_street, "采购中心 3 楼");
    assert_eq!(d.buyer.contact_name, "李伟");
    assert_eq!(d.due_date.map(|x| x.to_string()).as_deref(), Some("2026-06-30"));
    assert_eq!(d.buyer_reference, "HS-PO-2026-0302");
    assert_eq!(d.payment_terms, "验收合格后 120 天内电汇");
    assert_eq!(d.payment_means[0].account_id, "6222021001112223334");
    assert_eq!(n.lines[0].unit, "件");
    assert_eq!(n.lines[1].unit, "HUR");
    invoice::validate_new_invoice(&n).expect("a valid invoice");
    let out = to_ubl_xml(&n).expect("export");
    for kept in [
        "<cbc:CityName>常州</cbc:CityName>",
        "<cbc:IdentificationCode>CN</cbc:IdentificationCode>",
        "<cbc:DueDate>2026-06-30</cbc:DueDate>",
        "<cbc:PaymentMeansCode>30</cbc:PaymentMeansCode>",
        r#"<cbc:EndpointID schemeID="0088">6901234000016</cbc:EndpointID>"#,
        r#"<cbc:InvoicedQuantity unitCode="H87">400</cbc:InvoicedQuantity>"#,
    ] {
        assert!(out.contains(kept), "{kept} missing from\n{out}");
    }
    assert_eq!(from_ubl_xml(&out).expect("re-import"), n);
}

#[test]
fn chinese_units_export_as_rec20_codes_and_travel_as_written() {
    assert_eq!(rec20_unit("件"), "H87");
    assert_eq!(rec20_unit("千克"), "KGM");
    assert_eq!(rec20_unit("KGM"), "KGM");
    assert_eq!(rec20_unit("批次"), "C62");
    let fx = Fx::new();
    let mut n = fx.new_invoice(&inv_no(7), "S1", "CORE", 1_000_000);
    n.lines[0].unit = "批次".into();
    n.lines[0].quantity = Some("2".into());
    n.lines[0].unit_price = Some(money::format_yuan(n.lines[0].amount / 2));
    let xml = to_ubl_xml(&n).expect("export");
    assert!(xml.contains(r#"unitCode="C62""#) && xml.contains("<cbc:Value>批次</cbc:Value>"), "{xml}");
    assert_eq!(from_ubl_xml(&xml).expect("import").lines[0].unit, "批次");
}

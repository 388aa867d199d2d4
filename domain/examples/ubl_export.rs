//! Write UBL 2.1 / EN 16931 exports for validation by `tests/standards/ubl_en16931.sh`.
//!
//! `cargo run -p scf-domain --example ubl_export -- OUT_DIR [INPUT.xml ...]`
//!
//! Writes `OUT_DIR/built-*.xml` for invoices built here (two VAT rates, a 0 % line, a line without
//! quantity, Chinese units, tax ids registered as VAT or as local tax numbers), and for each input
//! UBL document `OUT_DIR/roundtrip-{name}`: imported, exported, and checked to import back to the
//! same invoice. Exits non-zero if an import fails or a round trip changes the invoice.

use scf_domain::date::Date;
use scf_domain::invoice::{
    self, InvoiceDetails, InvoiceLine, NewInvoice, Party, PartyDetails, PaymentMeans, PostalAddress,
};
use scf_domain::ubl;

fn address(street: &str, city: &str, postal: &str, province: &str) -> PostalAddress {
    PostalAddress {
        street: street.into(),
        additional_street: String::new(),
        city: city.into(),
        postal_code: postal.into(),
        subdivision: province.into(),
        country: "CN".into(),
    }
}

fn line(name: &str, unit: &str, qty: Option<&str>, price: Option<&str>, amount: u64, rate: u32) -> InvoiceLine {
    InvoiceLine {
        item_name: name.into(),
        spec: if qty.is_some() { "BD-320".into() } else { String::new() },
        unit: unit.into(),
        quantity: qty.map(str::to_string),
        unit_price: price.map(str::to_string),
        amount,
        tax_rate_bp: rate,
        tax_amount: invoice::line_tax(amount, rate).unwrap_or(0),
    }
}

fn built(number: &str, vat_ids: bool, lines: Vec<InvoiceLine>) -> NewInvoice {
    let total_amount = lines.iter().map(|l| l.amount).sum();
    let total_tax = lines.iter().map(|l| l.tax_amount).sum();
    let (seller_tax, buyer_tax, scheme) = if vat_ids {
        ("CN91320400MA1MHL0B02", "CN91310000MA1FL5HS01", "VAT")
    } else {
        ("91320400MA1MHL0B02", "91310000MA1FL5HS01", "")
    };
    NewInvoice {
        number: number.into(),
        issue_date: Date::parse("2026-03-02").unwrap_or(Date(0)),
        currency: "CNY".into(),
        seller: Party { name: "江苏恒力制动系统有限公司".into(), tax_id: seller_tax.into() },
        buyer: Party { name: "华晟汽车集团有限公司".into(), tax_id: buyer_tax.into() },
        buyer_org: None,
        lines,
        total_amount,
        total_tax,
        total_with_tax: total_amount + total_tax,
        remarks: "采购合同 HS-CG-2026-0117".into(),
        issuer: "王芳".into(),
        details: InvoiceDetails {
            seller: PartyDetails {
                tax_scheme: scheme.into(),
                address: address("常州市新北区汉江路 88 号", "常州", "213022", "江苏省"),
                contact_phone: "+86 519 8512 0000".into(),
                ..PartyDetails::default()
            },
            buyer: PartyDetails {
                tax_scheme: scheme.into(),
                address: address("上海市嘉定区安亭镇墨玉路 1 号", "上海", "201805", ""),
                contact_name: "李伟".into(),
                ..PartyDetails::default()
            },
            due_date: Date::parse("2026-06-30"),
            buyer_reference: String::new(),
            payment_terms: if vat_ids { String::new() } else { "验收合格后 120 天内电汇".into() },
            payment_means: vec![PaymentMeans {
                code: "30".into(),
                payment_id: number.into(),
                account_id: "6222021001112223334".into(),
                account_name: "江苏恒力制动系统有限公司".into(),
            }],
        },
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(out) = args.next() else {
        eprintln!("usage: ubl_export OUT_DIR [INPUT.xml ...]");
        std::process::exit(2);
    };
    let mut failed = false;
    let write = |name: &str, n: &NewInvoice| match ubl::to_ubl_xml(n) {
        Ok(xml) => {
            let path = format!("{out}/{name}");
            if let Err(e) = std::fs::write(&path, xml) {
                eprintln!("{path}: {e}");
                return false;
            }
            println!("wrote {path}");
            true
        }
        Err(e) => {
            eprintln!("{name}: export failed: {e}");
            false
        }
    };
    let set = [
        (
            "built-local-tax-ids.xml",
            built(
                "26312000000000190002",
                false,
                vec![
                    line("*汽车零部件*制动盘", "件", Some("4000"), Some("300.00"), 120_000_000, 1300),
                    line("*汽车零部件*制动卡钳", "套", Some("2000"), Some("400.00"), 80_000_000, 1300),
                    line("*现代服务*技术服务费 & 运维 <年度>", "", None, None, 50_050, 600),
                    line("*农产品*鲜奶", "千克", Some("12.5"), Some("8.00"), 10_000, 0),
                ],
            ),
        ),
        (
            "built-vat-ids.xml",
            built(
                "26312000000000190003",
                true,
                vec![line("*汽车零部件*制动盘", "H87", Some("10"), Some("300.00"), 300_000, 1300)],
            ),
        ),
    ];
    for (name, n) in &set {
        if let Err(e) = invoice::validate_new_invoice(n) {
            eprintln!("{name}: not a valid invoice: {e}");
            failed = true;
            continue;
        }
        failed |= !write(name, n);
        // The export reads back to the same invoice.
        if let Ok(xml) = ubl::to_ubl_xml(n) {
            match ubl::from_ubl_xml(&xml) {
                Ok(back) if back == *n => {}
                Ok(back) => {
                    eprintln!("{name}: round trip changed the invoice:\n  {n:?}\n  {back:?}");
                    failed = true;
                }
                Err(e) => {
                    eprintln!("{name}: export does not import: {e}");
                    failed = true;
                }
            }
        }
    }
    for input in args {
        let base =
            std::path::Path::new(&input).file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
        let text = match std::fs::read_to_string(&input) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("{input}: {e}");
                failed = true;
                continue;
            }
        };
        match ubl::from_ubl_xml(&text) {
            Ok(n) => {
                failed |= !write(&format!("roundtrip-{base}"), &n);
                let again = ubl::to_ubl_xml(&n).ok().and_then(|x| ubl::from_ubl_xml(&x).ok());
                if again.as_ref() != Some(&n) {
                    eprintln!("{input}: importing the export gives a different invoice");
                    failed = true;
                }
            }
            Err(e) => {
                eprintln!("{input}: import failed: {e}");
                failed = true;
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

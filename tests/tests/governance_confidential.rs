//! Confidential invoice lines on the chain (executor + RocksDB, real signed transactions): the seller
//! seals the lines for itself, the buyer and the regulator; the regulator's key opens them from chain
//! state, a competing supplier's cannot; plaintext appears in no transaction, receipt or state value;
//! a funder gains a key only once financing is applied for with it; the commitment proves a disclosed
//! value to anyone.

use scf_domain::confidential::{ConfidentialCall, Object};
use scf_domain::date::Date;
use scf_domain::invoice::{self, InvoiceCall, InvoiceLine, InvoiceLines, NewInvoice, NewSealedInvoice, Party};
use scf_domain::org::Role;
use scf_domain::voucher::VoucherCall;
use scf_ledger::confidential::{self, ConfidentialError, Sealed};
use scf_ledger::crypto::KeyPair;
use scf_tests::{credit_code, org_key, TestChain};

const SECRET_ITEM: &str = "*汽车零部件*制动盘 机密型号 BD-320-SECRET";

fn party(id: &str) -> Party {
    Party { name: format!("{id} 有限公司"), tax_id: credit_code(id) }
}

fn lines() -> InvoiceLines {
    InvoiceLines {
        lines: vec![InvoiceLine {
            item_name: SECRET_ITEM.into(),
            spec: "BD-320".into(),
            unit: "件".into(),
            quantity: Some("1000".into()),
            unit_price: Some("1000.00".into()),
            amount: 100_000_000,
            tax_rate_bp: 1300,
            tax_amount: 13_000_000,
        }],
    }
}

fn header(number: &str) -> NewInvoice {
    NewInvoice {
        number: number.into(),
        issue_date: Date::parse("2026-01-05").expect("date"),
        currency: "CNY".into(),
        seller: party("T1"),
        buyer: party("AUTO"),
        buyer_org: Some("AUTO".into()),
        lines: vec![],
        total_amount: 100_000_000,
        total_tax: 13_000_000,
        total_with_tax: 113_000_000,
        remarks: String::new(),
        issuer: "张三".into(),
        details: Default::default(),
    }
}

/// What the seller's client does: check the whole invoice in clear, then seal the lines.
fn sealed_invoice(number: &str, recipients: &[&str]) -> NewSealedInvoice {
    let mut clear = header(number);
    clear.lines = lines().lines;
    invoice::validate_new_invoice(&clear).expect("valid in clear");
    let object = Object::InvoiceLines { number: number.into() };
    let keys: Vec<(&str, scf_ledger::crypto::PublicKey)> =
        recipients.iter().map(|o| (*o, *org_key(o).public())).collect();
    let (sealed, _) =
        confidential::seal(&object.aad(), &borsh::to_vec(&lines()).expect("encode"), &keys).expect("seal");
    NewSealedInvoice { header: header(number), line_count: 1, sealed_lines: sealed }
}

fn open_as(sealed: &Sealed, number: &str, org: &str, key: &KeyPair) -> Result<InvoiceLines, ConfidentialError> {
    let object = Object::InvoiceLines { number: number.into() };
    let opened = confidential::open(sealed, &object.aad(), org, key)?;
    Ok(borsh::from_slice(&opened.payload).expect("lines decode"))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn regulator_reads_confidential_lines_a_competitor_cannot_and_a_funder_gains_access_on_financing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let orgs: &[(&str, &[Role])] = &[
        ("AUTO", &[Role::CoreEnterprise]),
        ("T1", &[Role::Supplier]),
        ("RIVAL", &[Role::Supplier]),
        ("BANK", &[Role::Funder]),
        ("REG", &[Role::Regulator]),
    ];
    let mut chain = TestChain::new(dir.path(), "2026-01-05", orgs);
    let (auto, t1, rival, bank, reg) =
        (org_key("AUTO"), org_key("T1"), org_key("RIVAL"), org_key("BANK"), org_key("REG"));
    let number = "26312000000000000777";

    // Recipients are checked on chain: a competitor cannot be sealed for, the regulator must be.
    let code = chain.refused(&t1, &InvoiceCall::IssueSealed(sealed_invoice(number, &["T1", "AUTO", "REG", "RIVAL"])));
    assert_eq!(code, "CONFIDENTIAL_NOT_ENTITLED");
    let code = chain.refused(&t1, &InvoiceCall::IssueSealed(sealed_invoice(number, &["T1", "AUTO"])));
    assert_eq!(code, "CONFIDENTIAL_RECIPIENT_MISSING");
    // Clear lines next to a sealed header are refused.
    let mut bad = sealed_invoice(number, &["T1", "AUTO", "REG"]);
    bad.header.lines = lines().lines;
    assert_eq!(chain.refused(&t1, &InvoiceCall::IssueSealed(bad)), "INVOICE_INVALID_FIELD");

    let issue = InvoiceCall::IssueSealed(sealed_invoice(number, &["T1", "AUTO", "REG"]));
    let tx = chain.tx(&t1, &issue);
    let tx_bytes = scf_ledger::codec::encode(&tx);
    let receipt = chain.block(vec![tx]).remove(0);
    assert_eq!(receipt.outcome, scf_ledger::receipt::TxOutcome::Success, "{:?}", receipt.outcome);

    // Plaintext never entered the transaction, the receipt or the state: only ciphertext did.
    let secret = SECRET_ITEM.as_bytes();
    assert!(!contains(&tx_bytes, secret), "plaintext in the transaction");
    assert!(!contains(&scf_ledger::codec::encode(&receipt), secret), "plaintext in the receipt");
    let st = chain.state();
    assert!(invoice::load_lines(&st, number).expect("read").is_none(), "no clear lines stored");
    let sealed = invoice::load_sealed_lines(&st, number).expect("read").expect("sealed lines stored");
    assert!(!contains(&scf_ledger::codec::encode(&sealed), secret), "plaintext in state");
    let header = invoice::load_invoice(&st, number).expect("read").expect("header");
    assert_eq!((header.total_with_tax, header.line_count), (113_000_000, 1));

    // The regulator (observer) opens the lines from chain state; the buyer too.
    assert_eq!(open_as(&sealed, number, "REG", &reg).expect("regulator opens"), lines());
    assert_eq!(open_as(&sealed, number, "AUTO", &auto).expect("buyer opens"), lines());
    // The competing supplier has no wrapped key, and its private key opens nobody else's.
    assert_eq!(
        open_as(&sealed, number, "RIVAL", &rival),
        Err(ConfidentialError::NotARecipient { org: "RIVAL".into() })
    );
    assert_eq!(open_as(&sealed, number, "REG", &rival), Err(ConfidentialError::UnwrapFailed { org: "REG".into() }));
    assert_eq!(open_as(&sealed, number, "BANK", &bank), Err(ConfidentialError::NotARecipient { org: "BANK".into() }));

    // A voucher backed by the invoice; before financing is applied for, the funder is not entitled.
    chain.ok(
        &auto,
        &VoucherCall::Issue {
            voucher_no: "YX-C-1".into(),
            to: "T1".into(),
            amount: 100_000_000,
            currency: "CNY".into(),
            due_date: Date::parse("2026-06-05").expect("date"),
            contract_ref: "HT-C-1".into(),
            invoices: vec![number.into()],
            allow_over_six_months: false,
        },
    );
    chain.ok(&t1, &VoucherCall::SignFor { voucher_id: "YX-C-1".into() });
    let object = Object::InvoiceLines { number: number.into() };
    let for_bank = confidential::rewrap(&sealed, "T1", &t1, "BANK", bank.public()).expect("rewrap");
    let grant = ConfidentialCall::Grant {
        object: object.clone(),
        org: "BANK".into(),
        wrapped_key: for_bank.wrapped.clone(),
        via_voucher: Some("YX-C-1".into()),
    };
    assert_eq!(chain.refused(&t1, &grant), "CONFIDENTIAL_NOT_ENTITLED");
    // A competitor can neither grant itself nor be granted.
    let for_rival = confidential::rewrap(&sealed, "T1", &t1, "RIVAL", rival.public()).expect("rewrap");
    let grant_rival = ConfidentialCall::Grant {
        object: object.clone(),
        org: "RIVAL".into(),
        wrapped_key: for_rival.wrapped,
        via_voucher: Some("YX-C-1".into()),
    };
    assert_eq!(chain.refused(&rival, &grant_rival), "CONFIDENTIAL_NOT_A_RECIPIENT");
    assert_eq!(chain.refused(&t1, &grant_rival), "CONFIDENTIAL_NOT_ENTITLED");

    // Financing applied for with BANK: the holder re-wraps the key; the ciphertext is untouched.
    chain.ok(
        &t1,
        &VoucherCall::OfferFinancing {
            voucher_id: "YX-C-1".into(),
            funder: "BANK".into(),
            discount_rate_bp: 450,
            agreement_ref: "FA-C-1".into(),
        },
    );
    let r = chain.ok(&t1, &grant);
    let ev = r.events.iter().find(|e| e.kind == "AccessGranted").expect("AccessGranted event");
    assert!(ev.attributes.contains(&("org".into(), "BANK".into())));
    assert_eq!(chain.refused(&t1, &grant), "CONFIDENTIAL_ALREADY_GRANTED");
    let after = invoice::load_sealed_lines(&chain.state(), number).expect("read").expect("sealed");
    assert_eq!(after.ciphertext, sealed.ciphertext, "no re-encryption");
    assert_eq!(open_as(&after, number, "BANK", &bank).expect("funder opens"), lines());
    assert!(open_as(&after, number, "RIVAL", &rival).is_err());

    // The funder discloses the unit price to an outsider; the on-chain commitment proves it.
    let opened = confidential::open(&after, &object.aad(), "BANK", &bank).expect("open");
    assert!(confidential::prove_disclosure(&after.commitment, &opened.salt, &opened.payload));
    let mut forged = lines();
    forged.lines[0].unit_price = Some("900.00".into());
    assert!(!confidential::prove_disclosure(&after.commitment, &opened.salt, &borsh::to_vec(&forged).expect("encode")));
}

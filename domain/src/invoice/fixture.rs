//! A shared test world for invoice and voucher tests: a core enterprise, three supplier tiers, an
//! approved bank, a regulator and a tax authority, with helpers to issue invoices and run calls.

use scf_ledger::crypto::KeyPair;
use scf_ledger::module::{Event, ModuleError};

use crate::date::Date;
use crate::invoice::{self, InvoiceCall, InvoiceLine, InvoiceModule, NewInvoice, Party};
use crate::kv;
use crate::org::{self, Role};
use crate::testkit::World;
use crate::voucher::{VoucherCall, VoucherModule};

pub struct Fx {
    pub w: World,
    pub core: KeyPair,
    pub s1: KeyPair,
    pub s2: KeyPair,
    pub s3: KeyPair,
    pub bank: KeyPair,
    pub reg: KeyPair,
}

pub fn inv_no(i: u64) -> String {
    format!("2631{i:016}")
}

pub fn date(s: &str) -> Date {
    Date::parse(s).unwrap_or_else(|| panic!("bad date {s}"))
}

impl Fx {
    pub fn new() -> Fx {
        let mut w = World::new();
        let core = w.add_org("CORE", &[Role::CoreEnterprise]);
        let s1 = w.add_org("S1", &[Role::Supplier]);
        let s2 = w.add_org("S2", &[Role::Supplier]);
        let s3 = w.add_org("S3", &[Role::Supplier]);
        let bank = w.add_org("BANK", &[Role::Funder]);
        let reg = w.add_org("REG", &[Role::Regulator]);
        w.add_org("TAX", &[Role::TaxAuthority]);
        Fx { w, core, s1, s2, s3, bank, reg }
    }

    pub fn party(&self, org_id: &str) -> Party {
        let o = org::load_org(&self.w.state, org_id).ok().flatten().unwrap_or_else(|| panic!("no org {org_id}"));
        Party { name: o.name, tax_id: o.credit_code }
    }

    /// A one-line 13 % invoice of `amount` fen before tax (a multiple of 100: 100 units at amount/100).
    pub fn new_invoice(&self, number: &str, seller: &str, buyer: &str, amount: u64) -> NewInvoice {
        let tax = invoice::line_tax(amount, 1300).unwrap_or(0);
        NewInvoice {
            number: number.to_string(),
            issue_date: self.w.today(),
            currency: "CNY".into(),
            seller: self.party(seller),
            buyer: self.party(buyer),
            buyer_org: Some(buyer.to_string()),
            lines: vec![InvoiceLine {
                item_name: "*汽车零部件*制动盘".into(),
                spec: "BD-320".into(),
                unit: "件".into(),
                quantity: Some("100".into()),
                unit_price: Some(format!("{}.{:02}", amount / 10_000, (amount / 100) % 100)),
                amount,
                tax_rate_bp: 1300,
                tax_amount: tax,
            }],
            total_amount: amount,
            total_tax: tax,
            total_with_tax: amount + tax,
            remarks: "合同 HT-2026-001".into(),
            issuer: "张三".into(),
            details: Default::default(),
        }
    }

    pub fn inv(&mut self, key: &KeyPair, call: InvoiceCall) -> Result<Vec<Event>, ModuleError> {
        self.w.exec(&InvoiceModule, key, &kv::encode_call(&call))
    }

    pub fn v(&mut self, key: &KeyPair, call: VoucherCall) -> Result<Vec<Event>, ModuleError> {
        self.w.exec(&VoucherModule, key, &kv::encode_call(&call))
    }

    /// Issue a standard invoice from `seller` to `buyer`; returns its total with tax.
    pub fn issue_invoice(&mut self, number: &str, seller: &str, buyer: &str, amount: u64) -> u64 {
        let n = self.new_invoice(number, seller, buyer, amount);
        let total = n.total_with_tax;
        let key = World::key(seller);
        if let Err(e) = self.inv(&key, InvoiceCall::Issue(n)) {
            panic!("issue invoice {number}: {e}");
        }
        total
    }
}

/// The error code of a failed call (panics if it succeeded).
pub fn code(r: Result<Vec<Event>, ModuleError>) -> String {
    match r {
        Ok(ev) => panic!("expected an error, got events {ev:?}"),
        Err(e) => e.code,
    }
}

/// The events of a successful call (panics on error).
pub fn ok(r: Result<Vec<Event>, ModuleError>) -> Vec<Event> {
    r.unwrap_or_else(|e| panic!("call failed: {e}"))
}

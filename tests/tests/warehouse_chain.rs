//! Global anti-double-pledge on the chain: two different warehouse operators claim the same goods
//! (same warehouse + location + goods identity); the second receipt is refused whoever issues it, and
//! so is a second pledge; a flagged receipt cannot be newly pledged.

use scf_domain::date::Date;
use scf_domain::money::Money;
use scf_domain::org::Role;
use scf_domain::warehouse::{self, GoodsIdentity, ReceiptTerms, StorageLocation, WarehouseCall};
use scf_tests::{org_key, TestChain};

fn terms(number: &str, depositor: &str, bin: &str, lot: &str) -> ReceiptTerms {
    ReceiptTerms {
        number: number.into(),
        depositor: depositor.into(),
        goods_name: "电解铜".into(),
        spec: "Cu-CATH-1 GB/T 467-2010".into(),
        unit: "kg".into(),
        quantity: 25_000,
        packaging: "捆".into(),
        location: StorageLocation { warehouse: "SH-YS-01".into(), zone: "A".into(), bin: bin.into() },
        identity: GoodsIdentity::Lot { lot: lot.into() },
        insurance: None,
        valid_until: Date::parse("2026-12-31").expect("date"),
        rights_notice: "本仓单可背书转让、质押；质押期间不得提货。".into(),
    }
}

#[test]
fn two_warehouses_cannot_back_the_same_goods_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let orgs: &[(&str, &[Role])] = &[
        ("WH-A", &[Role::WarehouseOperator]),
        ("WH-B", &[Role::WarehouseOperator]),
        ("TRADER", &[Role::Supplier]),
        ("BANK1", &[Role::Funder]),
        ("BANK2", &[Role::Funder]),
    ];
    let mut chain = TestChain::new(dir.path(), "2026-02-02", orgs);
    let (wh_a, wh_b, trader, bank1) = (org_key("WH-A"), org_key("WH-B"), org_key("TRADER"), org_key("BANK1"));

    // A supplier cannot issue a receipt at all.
    assert_eq!(
        chain.refused(&trader, &WarehouseCall::Issue { terms: terms("WR-X", "TRADER", "07", "CU-2026-001") }),
        "MISSING_ROLE"
    );

    chain.ok(&wh_a, &WarehouseCall::Issue { terms: terms("WR-A-0001", "TRADER", "07", "CU-2026-001") });
    // The second operator claims the same goods — differently spelled (case, spaces) — refused.
    let code =
        chain.refused(&wh_b, &WarehouseCall::Issue { terms: terms("WR-B-0001", "TRADER", " 07 ", "cu-2026-001") });
    assert!(code.contains("GOODS") || code.contains("DOUBLE") || code.contains("LOCK"), "refused with {code}");
    assert!(warehouse::load_receipt(&chain.state(), "WR-B-0001").expect("read").is_none(), "nothing written");
    // Other goods in another bin are fine.
    chain.ok(&wh_b, &WarehouseCall::Issue { terms: terms("WR-B-0002", "TRADER", "08", "CU-2026-002") });

    // Pledge once; a second pledge of the same receipt (to another bank) is refused.
    let pledge = |funder: &str| WarehouseCall::Pledge {
        number: "WR-A-0001".into(),
        funder: funder.into(),
        amount: Money { fen: 150_000_000, currency: "CNY".into() },
        due: Date::parse("2026-08-01").expect("date"),
    };
    chain.ok(&trader, &pledge("BANK1"));
    let code = chain.refused(&trader, &pledge("BANK2"));
    assert!(code.contains("PLEDGE"), "refused with {code}");
    // Withdrawing pledged goods is refused.
    let code = chain.refused(&trader, &WarehouseCall::Withdraw { number: "WR-A-0001".into() });
    assert!(code.contains("PLEDGE"), "refused with {code}");
    // Release by the funder, then a flagged receipt cannot be newly pledged until cleared.
    chain.ok(&bank1, &WarehouseCall::Release { number: "WR-A-0001".into() });
    chain.ok(&wh_a, &WarehouseCall::Flag { number: "WR-A-0001".into(), reason: "IoT: 仓位 07 重量下降 3.1 %".into() });
    let code = chain.refused(&trader, &pledge("BANK2"));
    assert!(code.contains("FLAG"), "refused with {code}");
    chain.ok(&wh_a, &WarehouseCall::ClearFlag { number: "WR-A-0001".into(), reason: "复磅确认无短少".into() });
    chain.ok(&trader, &pledge("BANK2"));
    // The goods lock is provable against the state root.
    let keys = warehouse::goods_keys(
        &terms("x", "x", "07", "CU-2026-001").location,
        &terms("x", "x", "07", "CU-2026-001").identity,
    );
    assert!(!keys.is_empty());
    let locked_by = warehouse::goods_lock(&chain.state(), &keys[0]).expect("read");
    assert_eq!(locked_by.as_deref(), Some("WR-A-0001"));
}

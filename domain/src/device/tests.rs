//! One test per device rule (each fails if its rule is removed).

use scf_ledger::crypto::KeyPair;
use scf_ledger::module::{Event, ModuleError};

use super::*;
use crate::date::Date;
use crate::kv::encode_call;
use crate::org::Role;
use crate::testkit::World;
use crate::warehouse::{ReceiptTerms, WarehouseCall, WarehouseModule};
use std::result::Result;

struct Fx {
    w: World,
    wh: KeyPair,
    other: KeyPair,
}

fn fx() -> Fx {
    let mut w = World::new();
    let wh = w.add_org("WH-A", &[Role::WarehouseOperator]);
    w.add_org("TRADER", &[Role::Supplier]);
    let other = w.add_org("OTHER", &[Role::Supplier]);
    Fx { w, wh, other }
}

fn dev_key(n: u32) -> KeyPair {
    KeyPair::from_seed(&format!("device-test/{n}"))
}

fn cold_rule() -> AlertRule {
    AlertRule::Threshold { reading_type: "temperature".into(), min: None, max: Some(8_000), for_ms: 600_000 }
}

fn register(id: &str, key: &KeyPair, binding: Binding) -> DeviceCall {
    DeviceCall::Register {
        device_id: id.into(),
        public_key: *key.public(),
        kind: DeviceKind::Temperature,
        binding,
        rules: vec![cold_rule()],
    }
}

fn lot_binding() -> Binding {
    Binding::Lot { gtin: Some("6901234567892".into()), lot: "L-2026-01".into() }
}

fn obs(seq: u64) -> Observation {
    Observation {
        seq,
        time_ms: 1_767_578_400_000,
        reading_type: Some("temperature".into()),
        value: Some(9_500),
        leaf: Hash32::of(b"leaf"),
    }
}

impl Fx {
    fn run(&mut self, who: &KeyPair, call: DeviceCall) -> Result<Vec<Event>, ModuleError> {
        self.w.exec(&DeviceModule, who, &encode_call(&call))
    }
    fn device(&self, id: &str) -> Device {
        load_device(&self.w.state, id).expect("state").expect("device")
    }
}

#[test]
fn register_records_owner_key_binding_and_rules() {
    let mut f = fx();
    let wh = f.wh.clone();
    let ev = f.run(&wh, register("T-001", &dev_key(1), lot_binding())).expect("register");
    assert_eq!(ev[0].kind, "DeviceRegistered");
    assert_eq!(ev[0].attribute("org"), Some("WH-A"));
    let d = f.device("T-001");
    assert_eq!((d.owner.as_str(), d.public_key, d.is_active()), ("WH-A", *dev_key(1).public(), true));
    assert_eq!(d.rules, vec![cold_rule()]);
    assert_eq!(devices_of(&f.w.state, "WH-A").expect("state"), vec!["T-001".to_string()]);
}

#[test]
fn register_rejects_bad_ids_duplicates_reused_keys_and_bad_rules() {
    let mut f = fx();
    let wh = f.wh.clone();
    let e = f.run(&wh, register("bad/id", &dev_key(1), lot_binding())).unwrap_err();
    assert_eq!(e.code, "INVALID_FIELD");
    assert!(e.message.starts_with("device_id"));
    f.run(&wh, register("T-001", &dev_key(1), lot_binding())).expect("register");
    assert_eq!(f.run(&wh, register("T-001", &dev_key(2), lot_binding())).unwrap_err().code, "DEVICE_EXISTS");
    assert_eq!(f.run(&wh, register("T-002", &dev_key(1), lot_binding())).unwrap_err().code, "DEVICE_KEY_IN_USE");
    let mut call = register("T-003", &dev_key(3), lot_binding());
    if let DeviceCall::Register { rules, .. } = &mut call {
        *rules = vec![AlertRule::Threshold { reading_type: "t".into(), min: Some(5), max: Some(1), for_ms: 0 }];
    }
    let e = f.run(&wh, call).unwrap_err();
    assert!(e.message.starts_with("rules[0].min"), "{e}");
    let e = f
        .run(&wh, register("T-004", &dev_key(4), Binding::Lot { gtin: Some("6901234567891".into()), lot: "L".into() }))
        .unwrap_err();
    assert!(e.message.starts_with("binding.gtin"), "{e}");
    let stranger = KeyPair::from_seed("nobody");
    assert_eq!(f.run(&stranger, register("T-005", &dev_key(5), lot_binding())).unwrap_err().code, "UNKNOWN_ACCOUNT");
}

#[test]
fn only_the_owner_rebinds_sets_rules_and_revokes() {
    let mut f = fx();
    let (wh, other) = (f.wh.clone(), f.other.clone());
    f.run(&wh, register("T-001", &dev_key(1), lot_binding())).expect("register");
    let rebind = DeviceCall::Rebind { device_id: "T-001".into(), binding: Binding::Shipment { id: "SSCC-1".into() } };
    assert_eq!(f.run(&other, rebind.clone()).unwrap_err().code, "NOT_DEVICE_OWNER");
    let revoke = DeviceCall::Revoke { device_id: "T-001".into(), reason: "battery swapped".into() };
    assert_eq!(f.run(&other, revoke.clone()).unwrap_err().code, "NOT_DEVICE_OWNER");
    let set = DeviceCall::SetRules { device_id: "T-001".into(), rules: vec![] };
    assert_eq!(f.run(&other, set.clone()).unwrap_err().code, "NOT_DEVICE_OWNER");
    f.run(&wh, rebind.clone()).expect("rebind");
    assert_eq!(f.device("T-001").binding, Binding::Shipment { id: "SSCC-1".into() });
    f.run(&wh, set).expect("set rules");
    assert!(f.device("T-001").rules.is_empty());
    f.run(&wh, revoke.clone()).expect("revoke");
    assert!(!f.device("T-001").is_active());
    assert_eq!(f.run(&wh, rebind).unwrap_err().code, "DEVICE_REVOKED");
    assert_eq!(f.run(&wh, revoke).unwrap_err().code, "DEVICE_REVOKED");
    // A revoked device's key stays burnt.
    assert_eq!(f.run(&wh, register("T-009", &dev_key(1), lot_binding())).unwrap_err().code, "DEVICE_KEY_IN_USE");
}

fn anchor(batch: u64) -> DeviceCall {
    DeviceCall::AnchorBatch {
        batch,
        root: Hash32::of(&batch.to_le_bytes()),
        count: 10,
        first: ReadingRef { device_id: "T-001".into(), seq: 1 },
        last: ReadingRef { device_id: "T-001".into(), seq: 10 },
    }
}

#[test]
fn anchors_are_consecutive_per_account_and_never_twice() {
    let mut f = fx();
    let wh = f.wh.clone();
    assert_eq!(f.run(&wh, anchor(1)).unwrap_err().code, "ANCHOR_OUT_OF_ORDER");
    f.run(&wh, anchor(0)).expect("batch 0");
    f.run(&wh, anchor(1)).expect("batch 1");
    assert_eq!(f.run(&wh, anchor(1)).unwrap_err().code, "ANCHOR_EXISTS");
    assert_eq!(f.run(&wh, anchor(0)).unwrap_err().code, "ANCHOR_EXISTS");
    let a = load_anchor(&f.w.state, &wh.address(), 1).expect("state").expect("anchor");
    assert_eq!((a.org.as_str(), a.count, a.root), ("WH-A", 10, Hash32::of(&1u64.to_le_bytes())));
    assert_eq!(next_anchor_batch(&f.w.state, &wh.address()).expect("state"), 2);
    // Another account has its own numbering.
    let other = f.other.clone();
    f.run(&other, anchor(0)).expect("other batch 0");
    let mut bad = anchor(2);
    if let DeviceCall::AnchorBatch { count, .. } = &mut bad {
        *count = 0;
    }
    assert!(f.run(&wh, bad).unwrap_err().message.starts_with("count"));
}

fn raise(rule_index: u32) -> DeviceCall {
    DeviceCall::RaiseAlert {
        device_id: "T-001".into(),
        rule_index,
        observation: obs(42),
        detail: "temperature > 8 °C for 10 min".into(),
    }
}

#[test]
fn alert_on_a_lot_flags_the_lot_until_the_owner_clears_it() {
    let mut f = fx();
    let (wh, other) = (f.wh.clone(), f.other.clone());
    f.run(&wh, register("T-001", &dev_key(1), lot_binding())).expect("register");
    assert_eq!(f.run(&other, raise(0)).unwrap_err().code, "NOT_INGESTOR");
    assert!(f.run(&wh, raise(3)).unwrap_err().message.starts_with("rule_index"));
    let ev = f.run(&wh, raise(0)).expect("raise");
    assert_eq!(ev[0].kind, "AlertRaised");
    let flag = lot_flag(&f.w.state, Some("06901234567892"), " l-2026-01 ").expect("state").expect("lot flagged");
    assert_eq!(flag.alert_id, "T-001#1");
    assert_eq!(f.run(&wh, raise(0)).unwrap_err().code, "ALERT_OPEN");
    let clear = DeviceCall::ClearAlert { alert_id: "T-001#1".into(), reason: "goods re-inspected".into() };
    assert_eq!(f.run(&other, clear.clone()).unwrap_err().code, "NOT_DEVICE_OWNER");
    f.run(&wh, clear.clone()).expect("clear");
    assert!(lot_flag(&f.w.state, Some("6901234567892"), "L-2026-01").expect("state").is_none());
    assert_eq!(f.run(&wh, clear).unwrap_err().code, "ALERT_CLEARED");
    // A new excursion opens alert #2.
    f.run(&wh, raise(0)).expect("raise again");
    assert!(load_alert(&f.w.state, "T-001#2").expect("state").is_some());
}

#[test]
fn an_authorised_ingestor_may_raise_alerts_and_a_revoked_one_may_not() {
    let mut f = fx();
    let (wh, other) = (f.wh.clone(), f.other.clone());
    f.run(&wh, register("T-001", &dev_key(1), Binding::Shipment { id: "SSCC-9".into() })).expect("register");
    f.run(&wh, DeviceCall::AuthoriseIngestor { address: other.address() }).expect("authorise");
    f.run(&other, raise(0)).expect("ingestor raises");
    assert_eq!(shipment_flag(&f.w.state, "sscc-9").expect("state").expect("flag").alert_id, "T-001#1");
    f.run(&wh, DeviceCall::RevokeIngestor { address: other.address() }).expect("revoke ingestor");
    f.run(&wh, DeviceCall::ClearAlert { alert_id: "T-001#1".into(), reason: "ok".into() }).expect("clear");
    assert_eq!(f.run(&other, raise(0)).unwrap_err().code, "NOT_INGESTOR");
}

fn receipt_terms(number: &str) -> ReceiptTerms {
    ReceiptTerms {
        number: number.into(),
        depositor: "TRADER".into(),
        goods_name: "冷冻虾 Frozen shrimp".into(),
        spec: "20 kg/carton".into(),
        unit: "kg".into(),
        quantity: 2_000,
        packaging: "carton".into(),
        location: StorageLocation { warehouse: "GLN-6901234000016".into(), zone: "COLD".into(), bin: "C-07".into() },
        identity: GoodsIdentity::Lot { lot: "SHRIMP-01".into() },
        insurance: None,
        valid_until: Date::parse("2026-06-30").expect("date"),
        rights_notice: "本仓单可背书转让、质押。".into(),
    }
}

#[test]
fn alert_on_bound_goods_flags_the_warehouse_receipt() {
    let mut f = fx();
    let wh = f.wh.clone();
    f.w.exec(&WarehouseModule, &wh, &encode_call(&WarehouseCall::Issue { terms: receipt_terms("WR-9") }))
        .expect("issue");
    let t = receipt_terms("WR-9");
    let binding = Binding::WarehouseLocation { location: t.location.clone(), goods: Some(t.identity.clone()) };
    f.run(&wh, register("T-001", &dev_key(1), binding)).expect("register");
    let ev = f.run(&wh, raise(0)).expect("raise");
    assert!(ev.iter().any(|e| e.kind == "ReceiptFlagged"), "{ev:?}");
    let r = warehouse::load_receipt(&f.w.state, "WR-9").expect("state").expect("receipt");
    let flag = r.flag.expect("receipt flagged");
    assert_eq!(flag.source, FlagSource::Alert { module: "device".into(), alert_id: "T-001#1".into() });
    let a = load_alert(&f.w.state, "T-001#1").expect("state").expect("alert");
    assert_eq!(a.flagged, Flagged::Receipt { number: "WR-9".into() });
}

#[test]
fn alert_bound_to_a_receipt_number_flags_it() {
    let mut f = fx();
    let wh = f.wh.clone();
    f.w.exec(&WarehouseModule, &wh, &encode_call(&WarehouseCall::Issue { terms: receipt_terms("WR-10") }))
        .expect("issue");
    f.run(&wh, register("T-001", &dev_key(1), Binding::Receipt { number: "WR-10".into() })).expect("register");
    f.run(&wh, raise(0)).expect("raise");
    assert!(warehouse::load_receipt(&f.w.state, "WR-10").expect("state").expect("receipt").flag.is_some());
}

#[test]
fn revoked_devices_raise_no_alerts() {
    let mut f = fx();
    let wh = f.wh.clone();
    f.run(&wh, register("T-001", &dev_key(1), lot_binding())).expect("register");
    f.run(&wh, DeviceCall::Revoke { device_id: "T-001".into(), reason: "stolen".into() }).expect("revoke");
    assert_eq!(f.run(&wh, raise(0)).unwrap_err().code, "DEVICE_REVOKED");
}

#[test]
fn garbage_payloads_are_typed_errors() {
    let mut f = fx();
    let wh = f.wh.clone();
    let e = f.w.exec(&DeviceModule, &wh, &[0xff, 1, 2]).unwrap_err();
    assert_eq!(e.code, "BAD_PAYLOAD");
}

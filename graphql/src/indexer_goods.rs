//! Read-model rows of the physical-goods side: warehouse receipts (仓单), IoT devices and their
//! alerts. Like the rest of the indexer, rows are re-read from the state *at the block's height* for
//! every object a block's events name, so a rebuild from genesis yields the same rows.

use std::collections::BTreeSet;

use scf_domain::device::{self as ddev, Binding, DeviceKind, DeviceStatus, Flagged};
use scf_domain::warehouse::{self as dwh, GoodsIdentity, ReceiptStatus};
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use sea_orm::{DatabaseTransaction, EntityTrait};

use crate::db::entities::{device, device_alert, warehouse_receipt};
use crate::indexer::IndexError;

/// What one block changes on the goods side.
#[derive(Default)]
pub struct GoodsRows {
    pub receipts: Vec<warehouse_receipt::Model>,
    pub devices: Vec<device::Model>,
    pub alerts: Vec<device_alert::Model>,
}

fn state_err(height: u64, e: impl std::fmt::Display) -> IndexError {
    IndexError::State { height, reason: e.to_string() }
}

fn json(v: &impl serde::Serialize) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn attrs<'a>(a: &'a [(String, String)], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    a.iter().filter(move |(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Rows for block `height` from its receipts and the state after it.
pub fn derive(state: &dyn StateRead, height: u64, receipts: &[Receipt]) -> Result<GoodsRows, IndexError> {
    let mut numbers = BTreeSet::new();
    let mut devices = BTreeSet::new();
    let mut alerts = BTreeSet::new();
    for r in receipts.iter().filter(|r| r.is_success()) {
        for e in &r.events {
            if e.module == dwh::MODULE {
                numbers.extend(attrs(&e.attributes, "receipt").map(str::to_string));
            } else if e.module == ddev::MODULE {
                devices.extend(attrs(&e.attributes, "device").map(str::to_string));
                alerts.extend(attrs(&e.attributes, "alert").map(str::to_string));
            }
        }
    }
    let mut rows = GoodsRows::default();
    let mut seen = BTreeSet::new();
    let mut queue: Vec<String> = numbers.into_iter().collect();
    while let Some(n) = queue.pop() {
        if !seen.insert(n.clone()) {
            continue;
        }
        let Some(r) = dwh::load_receipt(state, &n).map_err(|e| state_err(height, e))? else { continue };
        if let ReceiptStatus::Split { children } = &r.status {
            queue.extend(children.iter().cloned());
        }
        rows.receipts.push(receipt_row(&r, height));
    }
    for id in devices {
        if let Some(d) = ddev::load_device(state, &id).map_err(|e| state_err(height, e))? {
            rows.devices.push(device_row(&d));
        }
    }
    for id in alerts {
        if let Some(a) = ddev::load_alert(state, &id).map_err(|e| state_err(height, e))? {
            rows.alerts.push(alert_row(&a));
        }
    }
    Ok(rows)
}

pub fn receipt_status(s: &ReceiptStatus) -> &'static str {
    match s {
        ReceiptStatus::Active => "active",
        ReceiptStatus::Split { .. } => "split",
        ReceiptStatus::Withdrawn { .. } => "withdrawn",
    }
}

fn receipt_row(r: &dwh::Receipt, height: u64) -> warehouse_receipt::Model {
    let t = &r.terms;
    let (identity_kind, gtin, lot) = match &t.identity {
        GoodsIdentity::Lot { lot } => ("lot", None, Some(lot.clone())),
        GoodsIdentity::GtinLot { gtin, lot } => ("gtin_lot", Some(gtin.clone()), Some(lot.clone())),
        GoodsIdentity::Serials { gtin, .. } => ("serials", gtin.clone(), None),
    };
    warehouse_receipt::Model {
        number: t.number.clone(),
        operator: r.operator.clone(),
        holder: r.holder.clone(),
        depositor: t.depositor.clone(),
        goods_name: t.goods_name.clone(),
        spec: t.spec.clone(),
        unit: t.unit.clone(),
        quantity: i64::try_from(t.quantity).unwrap_or(i64::MAX),
        packaging: t.packaging.clone(),
        warehouse: t.location.warehouse.clone(),
        zone: t.location.zone.clone(),
        bin: t.location.bin.clone(),
        identity_kind: identity_kind.into(),
        gtin,
        lot,
        status: receipt_status(&r.status).into(),
        pledgee: r.pledge.as_ref().map(|p| p.funder.clone()),
        pledge_fen: r.pledge.as_ref().and_then(|p| p.amount.as_ref()).map(|m| i64::try_from(m.fen).unwrap_or(i64::MAX)),
        pledge_currency: r.pledge.as_ref().and_then(|p| p.amount.as_ref()).map(|m| m.currency.clone()),
        pledge_due: r.pledge.as_ref().map(|p| p.due.to_string()),
        flagged: r.flag.is_some(),
        flag_reason: r.flag.as_ref().map(|f| f.reason.clone()),
        frozen: r.frozen.is_some(),
        frozen_reason: r.frozen.clone(),
        parent: r.parent.clone(),
        issued: r.issued.to_string(),
        valid_until: t.valid_until.to_string(),
        updated_height: height as i64,
        detail: json(r),
    }
}

pub fn device_kind(k: &DeviceKind) -> String {
    match k {
        DeviceKind::Temperature => "temperature".into(),
        DeviceKind::Humidity => "humidity".into(),
        DeviceKind::TemperatureHumidity => "temperature_humidity".into(),
        DeviceKind::Weight => "weight".into(),
        DeviceKind::Location => "location".into(),
        DeviceKind::Other { name } => name.clone(),
    }
}

/// (kind, reference) of a binding, as stored in `devices.binding_kind` / `binding_ref`.
pub fn binding_ref(b: &Binding) -> (&'static str, String) {
    match b {
        Binding::WarehouseLocation { location, .. } => {
            ("warehouse_location", format!("{}|{}|{}", location.warehouse, location.zone, location.bin))
        }
        Binding::Receipt { number } => ("receipt", number.clone()),
        Binding::Shipment { id } => ("shipment", id.clone()),
        Binding::Lot { gtin, lot } => ("lot", ddev::lot_key(gtin.as_deref(), lot)),
    }
}

fn device_row(d: &ddev::Device) -> device::Model {
    let (binding_kind, binding_ref) = binding_ref(&d.binding);
    let (status, revoked_reason) = match &d.status {
        DeviceStatus::Active => ("active", None),
        DeviceStatus::Revoked { reason, .. } => ("revoked", Some(reason.clone())),
    };
    device::Model {
        id: d.id.clone(),
        owner: d.owner.clone(),
        kind: device_kind(&d.kind),
        public_key: d.public_key.to_hex(),
        binding_kind: binding_kind.into(),
        binding_ref,
        binding: json(&d.binding),
        rules: json(&d.rules),
        status: status.into(),
        revoked_reason,
        alerts: i64::try_from(d.alerts).unwrap_or(i64::MAX),
        registered_height: d.registered_height as i64,
        updated_height: d.updated_height as i64,
    }
}

pub fn flagged_ref(f: &Flagged) -> (&'static str, Option<String>) {
    match f {
        Flagged::Receipt { number } => ("receipt", Some(number.clone())),
        Flagged::Lot { key } => ("lot", Some(key.clone())),
        Flagged::Shipment { id } => ("shipment", Some(id.clone())),
        Flagged::Nothing => ("nothing", None),
    }
}

pub fn alert_row(a: &ddev::Alert) -> device_alert::Model {
    let (flagged_kind, flagged_ref) = flagged_ref(&a.flagged);
    let (status, cleared_reason, cleared_by, cleared_height) = match &a.status {
        ddev::AlertStatus::Open => ("open", None, None, None),
        ddev::AlertStatus::Cleared { reason, by, height } => {
            ("cleared", Some(reason.clone()), Some(by.clone()), Some(*height as i64))
        }
    };
    device_alert::Model {
        id: a.id.clone(),
        device_id: a.device_id.clone(),
        owner: a.owner.clone(),
        rule_index: a.rule_index as i32,
        rule: json(&a.rule),
        binding: json(&a.binding),
        observation: json(&a.observation),
        detail: a.detail.clone(),
        flagged_kind: flagged_kind.into(),
        flagged_ref,
        status: status.into(),
        cleared_reason,
        cleared_by,
        cleared_height,
        raised_height: a.raised_height as i64,
        raised_time_ms: i64::try_from(a.raised_time_ms).unwrap_or(i64::MAX),
    }
}

/// Replace the rows the block touched (each row is the object's whole current state).
pub async fn write(txn: &DatabaseTransaction, rows: GoodsRows) -> Result<(), sea_orm::DbErr> {
    for r in rows.receipts {
        warehouse_receipt::Entity::delete_by_id(r.number.clone()).exec(txn).await?;
        warehouse_receipt::Entity::insert(warehouse_receipt::ActiveModel::from(r)).exec(txn).await?;
    }
    for d in rows.devices {
        device::Entity::delete_by_id(d.id.clone()).exec(txn).await?;
        device::Entity::insert(device::ActiveModel::from(d)).exec(txn).await?;
    }
    for a in rows.alerts {
        device_alert::Entity::delete_by_id(a.id.clone()).exec(txn).await?;
        device_alert::Entity::insert(device_alert::ActiveModel::from(a)).exec(txn).await?;
    }
    Ok(())
}

/// Drop every goods row (for a rebuild).
pub async fn clear<C: sea_orm::ConnectionTrait>(txn: &C) -> Result<(), sea_orm::DbErr> {
    warehouse_receipt::Entity::delete_many().exec(txn).await?;
    device::Entity::delete_many().exec(txn).await?;
    device_alert::Entity::delete_many().exec(txn).await?;
    Ok(())
}

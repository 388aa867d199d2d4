//! IoT devices, their readings and alerts. A device is visible to its owning organisation, to the
//! parties of a warehouse receipt it is bound to, and to the regulator; an alert to the device owner,
//! the parties of the receipt it flagged, and the regulator. Readings come from the ingestion store
//! through [`crate::readings::Readings`]; devices, bindings, rules and alerts from the read model.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, Subscription};
use futures_util::{Stream, StreamExt};
use scf_domain::device::{self as ddev, AlertRule, Binding, ChangeLimit, DeviceCall, DeviceKind, Observation};
use scf_ledger::crypto::{Address, Hash32, PublicKey};
use sea_orm::sea_query::Query as SqlQuery;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use tokio_stream::wrappers::BroadcastStream;

use super::goods::{receipt_visible, GoodsIdentityInput, GoodsIdentityNode, StorageLocation, StorageLocationInput};
use super::input::*;
use super::provenance::ReadingsSource;
use super::types::TxResult;
use super::{access, api, require_user};
use crate::auth::AuthUser;
use crate::db::entities::{device, device_alert, warehouse_receipt};
use crate::error::{ApiError, ApiResult};
use crate::service::Api;

/// Longest time range one readings query may span (31 days).
const MAX_READINGS_RANGE_MS: u64 = 31 * 24 * 3_600_000;
/// Most readings one query returns.
pub(crate) const MAX_READINGS: usize = 10_000;

/// Receipt numbers the organisation is a party of, as a SQL subquery.
fn party_receipts(org: &str) -> sea_orm::sea_query::SelectStatement {
    SqlQuery::select()
        .column(warehouse_receipt::Column::Number)
        .from(warehouse_receipt::Entity)
        .cond_where(
            Condition::any()
                .add(warehouse_receipt::Column::Operator.eq(org))
                .add(warehouse_receipt::Column::Holder.eq(org))
                .add(warehouse_receipt::Column::Pledgee.eq(org)),
        )
        .to_owned()
}

async fn device_scope(api: &Api, user: &AuthUser) -> ApiResult<Option<Condition>> {
    if access::has_org_role(api, user, "regulator").await? {
        return Ok(None);
    }
    Ok(Some(
        Condition::any().add(device::Column::Owner.eq(user.org_id.clone())).add(
            Condition::all()
                .add(device::Column::BindingKind.eq("receipt"))
                .add(device::Column::BindingRef.in_subquery(party_receipts(&user.org_id))),
        ),
    ))
}

async fn alert_scope(api: &Api, user: &AuthUser) -> ApiResult<Option<Condition>> {
    if access::has_org_role(api, user, "regulator").await? {
        return Ok(None);
    }
    Ok(Some(
        Condition::any().add(device_alert::Column::Owner.eq(user.org_id.clone())).add(
            Condition::all()
                .add(device_alert::Column::FlaggedKind.eq("receipt"))
                .add(device_alert::Column::FlaggedRef.in_subquery(party_receipts(&user.org_id))),
        ),
    ))
}

// ---------------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum BindingKind {
    WarehouseLocation,
    Receipt,
    Shipment,
    Lot,
}

/// What a device watches.
#[derive(SimpleObject, Clone)]
#[graphql(name = "DeviceBinding")]
pub struct BindingNode {
    pub kind: BindingKind,
    /// For `WAREHOUSE_LOCATION`.
    pub location: Option<StorageLocation>,
    /// For `WAREHOUSE_LOCATION` bound to particular goods.
    pub goods: Option<GoodsIdentityNode>,
    /// For `RECEIPT`.
    pub receipt: Option<String>,
    /// For `SHIPMENT`.
    pub shipment: Option<String>,
    /// For `LOT`.
    pub gtin: Option<String>,
    pub lot: Option<String>,
}

impl From<&Binding> for BindingNode {
    fn from(b: &Binding) -> Self {
        let mut n = BindingNode {
            kind: BindingKind::Lot,
            location: None,
            goods: None,
            receipt: None,
            shipment: None,
            gtin: None,
            lot: None,
        };
        match b {
            Binding::WarehouseLocation { location, goods } => {
                n.kind = BindingKind::WarehouseLocation;
                n.location = Some(StorageLocation {
                    warehouse: location.warehouse.clone(),
                    zone: location.zone.clone(),
                    bin: location.bin.clone(),
                });
                n.goods = goods.as_ref().map(GoodsIdentityNode::from);
            }
            Binding::Receipt { number } => {
                n.kind = BindingKind::Receipt;
                n.receipt = Some(number.clone());
            }
            Binding::Shipment { id } => {
                n.kind = BindingKind::Shipment;
                n.shipment = Some(id.clone());
            }
            Binding::Lot { gtin, lot } => {
                n.gtin = gtin.clone();
                n.lot = Some(lot.clone());
            }
        }
        n
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AlertRuleKind {
    /// A reading outside `[min, max]` for at least `forMs`.
    Threshold,
    /// A change of more than the limit within `windowMs`.
    RateOfChange,
    /// No reading for `maxGapMs`.
    Silence,
}

/// An alert rule; values are fixed-point milli-units of the reading's unit (8 °C = 8000).
#[derive(SimpleObject, Clone)]
#[graphql(name = "DeviceAlertRule")]
pub struct AlertRuleNode {
    pub rule: AlertRuleKind,
    pub reading_type: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    pub for_ms: Option<i64>,
    pub limit_milli: Option<i64>,
    pub limit_permille: Option<i32>,
    pub window_ms: Option<i64>,
    pub max_gap_ms: Option<i64>,
}

impl From<&AlertRule> for AlertRuleNode {
    fn from(r: &AlertRule) -> Self {
        let mut n = AlertRuleNode {
            rule: AlertRuleKind::Silence,
            reading_type: None,
            min: None,
            max: None,
            for_ms: None,
            limit_milli: None,
            limit_permille: None,
            window_ms: None,
            max_gap_ms: None,
        };
        match r {
            AlertRule::Threshold { reading_type, min, max, for_ms } => {
                n.rule = AlertRuleKind::Threshold;
                n.reading_type = Some(reading_type.clone());
                n.min = *min;
                n.max = *max;
                n.for_ms = Some(to_i64(*for_ms));
            }
            AlertRule::RateOfChange { reading_type, limit, window_ms } => {
                n.rule = AlertRuleKind::RateOfChange;
                n.reading_type = Some(reading_type.clone());
                match limit {
                    ChangeLimit::Absolute { milli } => n.limit_milli = Some(*milli),
                    ChangeLimit::Permille { permille } => n.limit_permille = Some(*permille as i32),
                }
                n.window_ms = Some(to_i64(*window_ms));
            }
            AlertRule::Silence { max_gap_ms } => n.max_gap_ms = Some(to_i64(*max_gap_ms)),
        }
        n
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviceStatus {
    Active,
    /// Revoked for good: its readings are refused.
    Revoked,
}

/// One accepted reading.
#[derive(SimpleObject, Clone)]
#[graphql(name = "SensorReading")]
pub struct ReadingNode {
    pub time_ms: i64,
    pub reading_type: String,
    pub value: f64,
    pub unit: String,
}

/// A registered IoT device.
pub struct DeviceNode(device::Model);

#[Object(name = "Device")]
impl DeviceNode {
    async fn id(&self) -> &str {
        &self.0.id
    }
    /// Owning organisation.
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    /// `temperature`, `humidity`, `temperature_humidity`, `weight`, `location` or another kind's name.
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// SM2 public key the device signs readings with (hex).
    async fn public_key(&self) -> &str {
        &self.0.public_key
    }
    async fn binding(&self) -> async_graphql::Result<BindingNode> {
        let b: Binding = serde_json::from_str(&self.0.binding).map_err(|e| ApiError::internal("device row", e))?;
        Ok(BindingNode::from(&b))
    }
    async fn rules(&self) -> async_graphql::Result<Vec<AlertRuleNode>> {
        let r: Vec<AlertRule> = serde_json::from_str(&self.0.rules).map_err(|e| ApiError::internal("device row", e))?;
        Ok(r.iter().map(AlertRuleNode::from).collect())
    }
    async fn status(&self) -> DeviceStatus {
        if self.0.status == "revoked" {
            DeviceStatus::Revoked
        } else {
            DeviceStatus::Active
        }
    }
    async fn revoked_reason(&self) -> Option<&str> {
        self.0.revoked_reason.as_deref()
    }
    /// Alerts raised so far.
    async fn alert_count(&self) -> i64 {
        self.0.alerts
    }
    async fn registered_height(&self) -> i64 {
        self.0.registered_height
    }
    async fn updated_height(&self) -> i64 {
        self.0.updated_height
    }
    /// Accepted readings with `fromMs <= timeMs <= toMs` (at most 31 days, 10 000 readings), oldest
    /// first; empty when the server has no readings store.
    async fn readings(&self, ctx: &Context<'_>, from_ms: i64, to_ms: i64) -> async_graphql::Result<Vec<ReadingNode>> {
        let from = u64::try_from(from_ms).map_err(|_| ApiError::bad_input("fromMs", "must not be negative"))?;
        let to = u64::try_from(to_ms).map_err(|_| ApiError::bad_input("toMs", "must not be negative"))?;
        if to < from {
            return Err(ApiError::bad_input("toMs", "must not be before fromMs").into());
        }
        if to - from > MAX_READINGS_RANGE_MS {
            return Err(ApiError::bad_input("toMs", "a range spans at most 31 days").into());
        }
        let points = read_series(ctx, &self.0.id, from, to).await?;
        Ok(points
            .into_iter()
            .map(|p| ReadingNode {
                time_ms: to_i64(p.time_ms),
                reading_type: p.reading_type,
                value: p.value,
                unit: p.unit,
            })
            .collect())
    }
}

/// Readings of one device from the configured store (none without a store), capped at [`MAX_READINGS`].
pub(crate) async fn read_series(
    ctx: &Context<'_>,
    device_id: &str,
    from: u64,
    to: u64,
) -> ApiResult<Vec<crate::readings::ReadingPoint>> {
    let Some(source) = ctx.data_opt::<ReadingsSource>().and_then(|s| s.0.clone()) else { return Ok(vec![]) };
    let id = device_id.to_string();
    let mut points = tokio::task::spawn_blocking(move || source.series(&id, from, to))
        .await
        .map_err(|e| ApiError::internal("readings", e))?
        .map_err(|e| ApiError::internal("readings", e))?;
    points.truncate(MAX_READINGS);
    Ok(points)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum AlertStatus {
    Open,
    Cleared,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum FlaggedKind {
    Receipt,
    Lot,
    Shipment,
    /// The binding had nothing active to flag.
    Nothing,
}

/// The reading that triggered an alert.
#[derive(SimpleObject, Clone)]
#[graphql(name = "AlertObservation")]
pub struct ObservationNode {
    pub seq: i64,
    /// Device time, ms since the epoch.
    pub time_ms: i64,
    pub reading_type: Option<String>,
    /// Milli-units.
    pub value: Option<i64>,
    /// SM3 leaf hash of the signed reading (provable against an anchored batch root).
    pub leaf: String,
}

/// An IoT alert raised on chain.
#[derive(Clone)]
pub struct AlertNode(ddev::Alert);

impl AlertNode {
    fn from_row(m: &device_alert::Model) -> ApiResult<AlertNode> {
        let bad = |e: serde_json::Error| ApiError::internal("alert row", e);
        let (flagged, status) = (
            match m.flagged_kind.as_str() {
                "receipt" => ddev::Flagged::Receipt { number: m.flagged_ref.clone().unwrap_or_default() },
                "lot" => ddev::Flagged::Lot { key: m.flagged_ref.clone().unwrap_or_default() },
                "shipment" => ddev::Flagged::Shipment { id: m.flagged_ref.clone().unwrap_or_default() },
                _ => ddev::Flagged::Nothing,
            },
            match (&m.cleared_reason, &m.cleared_by, m.cleared_height) {
                (Some(reason), Some(by), Some(h)) if m.status == "cleared" => {
                    ddev::AlertStatus::Cleared { reason: reason.clone(), by: by.clone(), height: h as u64 }
                }
                _ => ddev::AlertStatus::Open,
            },
        );
        Ok(AlertNode(ddev::Alert {
            id: m.id.clone(),
            device_id: m.device_id.clone(),
            owner: m.owner.clone(),
            rule_index: m.rule_index as u32,
            rule: serde_json::from_str(&m.rule).map_err(bad)?,
            binding: serde_json::from_str(&m.binding).map_err(bad)?,
            observation: serde_json::from_str(&m.observation).map_err(bad)?,
            detail: m.detail.clone(),
            flagged,
            raised_by: Address([0; 20]),
            raised_height: m.raised_height as u64,
            raised_time_ms: m.raised_time_ms as u64,
            status,
        }))
    }
}

#[Object(name = "IotAlert")]
impl AlertNode {
    /// `{deviceId}#{n}`.
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn device_id(&self) -> &str {
        &self.0.device_id
    }
    /// The device's owning organisation.
    async fn owner(&self) -> &str {
        &self.0.owner
    }
    async fn rule_index(&self) -> i32 {
        self.0.rule_index as i32
    }
    async fn rule(&self) -> AlertRuleNode {
        AlertRuleNode::from(&self.0.rule)
    }
    /// The device's binding when the alert was raised.
    async fn binding(&self) -> BindingNode {
        BindingNode::from(&self.0.binding)
    }
    async fn observation(&self) -> ObservationNode {
        let o = &self.0.observation;
        ObservationNode {
            seq: to_i64(o.seq),
            time_ms: to_i64(o.time_ms),
            reading_type: o.reading_type.clone(),
            value: o.value,
            leaf: o.leaf.to_hex(),
        }
    }
    async fn detail(&self) -> &str {
        &self.0.detail
    }
    async fn flagged_kind(&self) -> FlaggedKind {
        match self.0.flagged {
            ddev::Flagged::Receipt { .. } => FlaggedKind::Receipt,
            ddev::Flagged::Lot { .. } => FlaggedKind::Lot,
            ddev::Flagged::Shipment { .. } => FlaggedKind::Shipment,
            ddev::Flagged::Nothing => FlaggedKind::Nothing,
        }
    }
    /// The flagged receipt number, lot key (`gtin|lot`) or shipment id.
    async fn flagged_ref(&self) -> Option<String> {
        crate::indexer_goods::flagged_ref(&self.0.flagged).1
    }
    async fn status(&self) -> AlertStatus {
        match self.0.status {
            ddev::AlertStatus::Open => AlertStatus::Open,
            ddev::AlertStatus::Cleared { .. } => AlertStatus::Cleared,
        }
    }
    async fn cleared_reason(&self) -> Option<&str> {
        match &self.0.status {
            ddev::AlertStatus::Cleared { reason, .. } => Some(reason),
            ddev::AlertStatus::Open => None,
        }
    }
    async fn cleared_by(&self) -> Option<&str> {
        match &self.0.status {
            ddev::AlertStatus::Cleared { by, .. } => Some(by),
            ddev::AlertStatus::Open => None,
        }
    }
    async fn raised_height(&self) -> i64 {
        self.0.raised_height as i64
    }
    /// Block time of the block that raised it.
    async fn raised_time_ms(&self) -> i64 {
        to_i64(self.0.raised_time_ms)
    }
}

// ---------------------------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------------------------

#[derive(InputObject, Default)]
pub struct DeviceFilter {
    pub owner: Option<String>,
    pub status: Option<DeviceStatus>,
    pub binding_kind: Option<BindingKind>,
    /// Devices bound to this warehouse receipt.
    pub receipt: Option<String>,
    /// Devices bound to this lot (with `gtin` when the binding names one).
    pub lot: Option<String>,
    pub gtin: Option<String>,
}

#[derive(InputObject, Default)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub device_id: Option<String>,
    /// Alerts that flagged this warehouse receipt.
    pub receipt: Option<String>,
    /// Alerts that flagged this lot.
    pub lot: Option<String>,
    pub gtin: Option<String>,
}

fn binding_kind_str(k: BindingKind) -> &'static str {
    match k {
        BindingKind::WarehouseLocation => "warehouse_location",
        BindingKind::Receipt => "receipt",
        BindingKind::Shipment => "shipment",
        BindingKind::Lot => "lot",
    }
}

#[derive(Default)]
pub struct DeviceQuery;

#[Object]
impl DeviceQuery {
    /// Devices the caller may see, ordered by id.
    async fn devices(
        &self,
        ctx: &Context<'_>,
        filter: Option<DeviceFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, DeviceNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let mut q = device::Entity::find();
        if let Some(scope) = device_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(o) = f.owner {
            q = q.filter(device::Column::Owner.eq(o));
        }
        if let Some(s) = f.status {
            q = q.filter(device::Column::Status.eq(if s == DeviceStatus::Revoked { "revoked" } else { "active" }));
        }
        if let Some(k) = f.binding_kind {
            q = q.filter(device::Column::BindingKind.eq(binding_kind_str(k)));
        }
        if let Some(r) = f.receipt {
            q = q.filter(device::Column::BindingKind.eq("receipt")).filter(device::Column::BindingRef.eq(r));
        }
        if let Some(lot) = f.lot {
            q = q
                .filter(device::Column::BindingKind.eq("lot"))
                .filter(device::Column::BindingRef.eq(ddev::lot_key(f.gtin.as_deref(), &lot)));
        }
        if let Some(a) = &after {
            q = q.filter(device::Column::Id.gt(a.clone()));
        }
        let mut rows = q.order_by_asc(device::Column::Id).limit(n + 1).all(&api.db).await.map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), has_next);
        conn.edges.extend(rows.into_iter().map(|r| Edge::new(r.id.clone(), DeviceNode(r))));
        Ok(conn)
    }

    /// One device, for its owner, the parties of the receipt it is bound to, and the regulator. Anyone
    /// else gets NOT_FOUND, as for an id that does not exist (the answer tells no one which ids exist).
    async fn device(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<DeviceNode> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let row = device::Entity::find_by_id(id.clone())
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found(format!("device {id}")))?;
        if let Some(scope) = device_scope(api, user).await? {
            let visible = device::Entity::find_by_id(id.clone()).filter(scope).one(&api.db).await?;
            if visible.is_none() {
                return Err(ApiError::not_found(format!("device {id}")).into());
            }
        }
        Ok(DeviceNode(row))
    }

    /// IoT alerts the caller may see, newest first.
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        filter: Option<AlertFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, AlertNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let mut q = device_alert::Entity::find();
        if let Some(scope) = alert_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(s) = f.status {
            q = q.filter(device_alert::Column::Status.eq(if s == AlertStatus::Open { "open" } else { "cleared" }));
        }
        if let Some(d) = f.device_id {
            q = q.filter(device_alert::Column::DeviceId.eq(d));
        }
        if let Some(r) = f.receipt {
            q = q
                .filter(device_alert::Column::FlaggedKind.eq("receipt"))
                .filter(device_alert::Column::FlaggedRef.eq(r));
        }
        if let Some(lot) = f.lot {
            q = q
                .filter(device_alert::Column::FlaggedKind.eq("lot"))
                .filter(device_alert::Column::FlaggedRef.eq(ddev::lot_key(f.gtin.as_deref(), &lot)));
        }
        // Cursor: "{raised_height}:{id}", newest first.
        if let Some(a) = &after {
            let (h, id) = a
                .split_once(':')
                .and_then(|(h, id)| h.parse::<i64>().ok().map(|h| (h, id.to_string())))
                .ok_or_else(|| ApiError::bad_input("after", "not a cursor of this connection"))?;
            q = q.filter(Condition::any().add(device_alert::Column::RaisedHeight.lt(h)).add(
                Condition::all().add(device_alert::Column::RaisedHeight.eq(h)).add(device_alert::Column::Id.lt(id)),
            ));
        }
        let mut rows = q
            .order_by_desc(device_alert::Column::RaisedHeight)
            .order_by_desc(device_alert::Column::Id)
            .limit(n + 1)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), has_next);
        for r in &rows {
            conn.edges.push(Edge::new(format!("{}:{}", r.raised_height, r.id), AlertNode::from_row(r)?));
        }
        Ok(conn)
    }
}

// ---------------------------------------------------------------------------------------------
// Mutations
// ---------------------------------------------------------------------------------------------

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum DeviceKindInput {
    Temperature,
    Humidity,
    TemperatureHumidity,
    Weight,
    Location,
    /// Another kind, named by `otherKind`.
    Other,
}

/// What to bind a device to: `WAREHOUSE_LOCATION` needs `location` (and optionally `goods`),
/// `RECEIPT` needs `receipt`, `SHIPMENT` needs `shipment`, `LOT` needs `lot` (and optionally `gtin`).
#[derive(InputObject)]
#[graphql(name = "DeviceBindingInput")]
pub struct BindingInput {
    pub kind: BindingKind,
    pub location: Option<StorageLocationInput>,
    pub goods: Option<GoodsIdentityInput>,
    pub receipt: Option<String>,
    pub shipment: Option<String>,
    pub gtin: Option<String>,
    pub lot: Option<String>,
}

impl BindingInput {
    fn into_domain(self, field: &str) -> ApiResult<Binding> {
        let need = |name: &str| ApiError::bad_input(format!("{field}.{name}"), "required for this kind");
        Ok(match self.kind {
            BindingKind::WarehouseLocation => Binding::WarehouseLocation {
                location: self.location.ok_or_else(|| need("location"))?.into(),
                goods: match self.goods {
                    Some(g) => Some(g.into_domain(&format!("{field}.goods"))?),
                    None => None,
                },
            },
            BindingKind::Receipt => Binding::Receipt { number: self.receipt.ok_or_else(|| need("receipt"))? },
            BindingKind::Shipment => Binding::Shipment { id: self.shipment.ok_or_else(|| need("shipment"))? },
            BindingKind::Lot => Binding::Lot { gtin: self.gtin, lot: self.lot.ok_or_else(|| need("lot"))? },
        })
    }
}

/// An alert rule (values in milli-units of the reading's unit: 8 °C = 8000). `THRESHOLD` uses
/// `readingType`, `min`/`max`, `forMs`; `RATE_OF_CHANGE` uses `readingType`, `limitMilli` or
/// `limitPermille`, `windowMs`; `SILENCE` uses `maxGapMs`.
#[derive(InputObject)]
#[graphql(name = "DeviceAlertRuleInput")]
pub struct AlertRuleInput {
    pub rule: AlertRuleKind,
    pub reading_type: Option<String>,
    pub min: Option<i64>,
    pub max: Option<i64>,
    #[graphql(default)]
    pub for_ms: i64,
    pub limit_milli: Option<i64>,
    pub limit_permille: Option<i32>,
    pub window_ms: Option<i64>,
    pub max_gap_ms: Option<i64>,
}

fn non_negative(field: &str, v: i64) -> ApiResult<u64> {
    u64::try_from(v).map_err(|_| ApiError::bad_input(field, "must not be negative"))
}

fn rules_domain(rules: Vec<AlertRuleInput>) -> ApiResult<Vec<AlertRule>> {
    rules
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            let f = |name: &str| format!("rules[{i}].{name}");
            let need = |name: &str| ApiError::bad_input(f(name), "required for this rule");
            Ok(match r.rule {
                AlertRuleKind::Threshold => AlertRule::Threshold {
                    reading_type: r.reading_type.ok_or_else(|| need("readingType"))?,
                    min: r.min,
                    max: r.max,
                    for_ms: non_negative(&f("forMs"), r.for_ms)?,
                },
                AlertRuleKind::RateOfChange => AlertRule::RateOfChange {
                    reading_type: r.reading_type.ok_or_else(|| need("readingType"))?,
                    limit: match (r.limit_milli, r.limit_permille) {
                        (Some(milli), None) => ChangeLimit::Absolute { milli },
                        (None, Some(p)) => ChangeLimit::Permille {
                            permille: u32::try_from(p)
                                .map_err(|_| ApiError::bad_input(f("limitPermille"), "must not be negative"))?,
                        },
                        _ => {
                            return Err(ApiError::bad_input(
                                f("limitMilli"),
                                "give exactly one of limitMilli and limitPermille",
                            ))
                        }
                    },
                    window_ms: non_negative(&f("windowMs"), r.window_ms.ok_or_else(|| need("windowMs"))?)?,
                },
                AlertRuleKind::Silence => AlertRule::Silence {
                    max_gap_ms: non_negative(&f("maxGapMs"), r.max_gap_ms.ok_or_else(|| need("maxGapMs"))?)?,
                },
            })
        })
        .collect()
}

#[derive(InputObject)]
pub struct RegisterDeviceInput {
    /// 1..=64 of `A-Z a-z 0-9 . _ -`.
    pub device_id: String,
    /// The device's SM2 public key (hex, 65 bytes uncompressed).
    pub public_key: String,
    pub kind: DeviceKindInput,
    /// The name of an `OTHER` kind.
    pub other_kind: Option<String>,
    pub binding: BindingInput,
    #[graphql(default)]
    pub rules: Vec<AlertRuleInput>,
}

/// The reading an alert cites.
#[derive(InputObject)]
#[graphql(name = "AlertObservationInput")]
pub struct ObservationInput {
    pub seq: i64,
    pub time_ms: i64,
    pub reading_type: Option<String>,
    /// Milli-units.
    pub value: Option<i64>,
    /// SM3 leaf hash of the signed reading (hex, 32 bytes).
    pub leaf: String,
}

fn hash32(field: &str, s: &str) -> ApiResult<Hash32> {
    let b = hex::decode(s.trim()).map_err(|e| ApiError::bad_input(field, format!("not hex: {e}")))?;
    let arr: [u8; 32] = b.try_into().map_err(|_| ApiError::bad_input(field, "must be 32 bytes"))?;
    Ok(Hash32(arr))
}

fn address(field: &str, s: &str) -> ApiResult<Address> {
    let b = hex::decode(s.trim()).map_err(|e| ApiError::bad_input(field, format!("not hex: {e}")))?;
    let arr: [u8; 20] = b.try_into().map_err(|_| ApiError::bad_input(field, "must be 20 bytes"))?;
    Ok(Address(arr))
}

#[derive(Default)]
pub struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// The caller's organisation registers a device it owns.
    async fn register_device(&self, ctx: &Context<'_>, input: RegisterDeviceInput) -> async_graphql::Result<TxResult> {
        let pk_bytes = hex::decode(input.public_key.trim())
            .map_err(|e| ApiError::bad_input("input.publicKey", format!("not hex: {e}")))?;
        let public_key =
            PublicKey::from_bytes(&pk_bytes).map_err(|e| ApiError::bad_input("input.publicKey", e.to_string()))?;
        let kind = match input.kind {
            DeviceKindInput::Temperature => DeviceKind::Temperature,
            DeviceKindInput::Humidity => DeviceKind::Humidity,
            DeviceKindInput::TemperatureHumidity => DeviceKind::TemperatureHumidity,
            DeviceKindInput::Weight => DeviceKind::Weight,
            DeviceKindInput::Location => DeviceKind::Location,
            DeviceKindInput::Other => DeviceKind::Other {
                name: input
                    .other_kind
                    .ok_or_else(|| ApiError::bad_input("input.otherKind", "required for kind OTHER"))?,
            },
        };
        let call = DeviceCall::Register {
            device_id: input.device_id,
            public_key,
            kind,
            binding: input.binding.into_domain("input.binding")?,
            rules: rules_domain(input.rules)?,
        };
        super::submit(ctx, None, call).await
    }

    /// The owner binds the device to something else.
    async fn rebind_device(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        binding: BindingInput,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, DeviceCall::Rebind { device_id, binding: binding.into_domain("binding")? }).await
    }

    /// The owner replaces the device's alert rules.
    async fn set_device_rules(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        rules: Vec<AlertRuleInput>,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, DeviceCall::SetRules { device_id, rules: rules_domain(rules)? }).await
    }

    /// The owner revokes the device for good.
    async fn revoke_device(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, DeviceCall::Revoke { device_id, reason }).await
    }

    /// The caller's organisation lets an ingestion account (address, hex) raise alerts for its devices.
    async fn authorise_ingestor(&self, ctx: &Context<'_>, address: String) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, DeviceCall::AuthoriseIngestor { address: self::address("address", &address)? }).await
    }

    async fn revoke_ingestor(&self, ctx: &Context<'_>, address: String) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, DeviceCall::RevokeIngestor { address: self::address("address", &address)? }).await
    }

    /// The owner raises an alert by hand (e.g. after an inspection); the ingestion service raises
    /// rule alerts with its own key.
    async fn raise_device_alert(
        &self,
        ctx: &Context<'_>,
        device_id: String,
        rule_index: i32,
        observation: ObservationInput,
        detail: String,
    ) -> async_graphql::Result<TxResult> {
        let observation = Observation {
            seq: non_negative("observation.seq", observation.seq)?,
            time_ms: non_negative("observation.timeMs", observation.time_ms)?,
            reading_type: observation.reading_type,
            value: observation.value,
            leaf: hash32("observation.leaf", &observation.leaf)?,
        };
        let rule_index =
            u32::try_from(rule_index).map_err(|_| ApiError::bad_input("ruleIndex", "must not be negative"))?;
        super::submit(ctx, None, DeviceCall::RaiseAlert { device_id, rule_index, observation, detail }).await
    }

    /// The owner clears an open alert with the reason it is safe again (a flagged receipt is cleared
    /// by its warehouse operator with `clearWarehouseReceiptFlag`).
    async fn clear_device_alert(
        &self,
        ctx: &Context<'_>,
        alert_id: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, DeviceCall::ClearAlert { alert_id, reason }).await
    }
}

// ---------------------------------------------------------------------------------------------
// Subscription
// ---------------------------------------------------------------------------------------------

/// Organisations an alert concerns: the device owner and the parties of a receipt it flagged.
async fn alert_concerns(api: &Api, alert: &ddev::Alert, org: &str) -> bool {
    if alert.owner == org {
        return true;
    }
    if let ddev::Flagged::Receipt { number } = &alert.flagged {
        if let Ok(Some(row)) = warehouse_receipt::Entity::find_by_id(number.clone()).one(&api.db).await {
            return receipt_visible(&row, org);
        }
    }
    false
}

#[derive(Default)]
pub struct DeviceSubscription;

#[Subscription]
impl DeviceSubscription {
    /// Newly raised IoT alerts concerning the caller's organisation (every alert for the regulator).
    async fn iot_alerts(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<AlertNode>>> {
        let api: Arc<Api> = api(ctx)?.clone();
        let user = require_user(ctx)?;
        let all = access::has_org_role(&api, user, "regulator").await?;
        let org = user.org_id.clone();
        let events = api.indexer.subscribe_events();
        let alerts = BroadcastStream::new(events).filter_map(move |r| {
            let api = api.clone();
            let org = org.clone();
            async move {
                let n = r.ok()?;
                if n.module != ddev::MODULE || n.kind != "AlertRaised" {
                    return None;
                }
                let alert: ddev::Alert = serde_json::from_str(&n.data).ok()?;
                if all || alert_concerns(&api, &alert, &org).await {
                    Some(AlertNode(alert))
                } else {
                    None
                }
            }
        });
        Ok(super::while_session_lives(ctx, alerts)?)
    }
}

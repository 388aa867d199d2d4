//! IoT devices signed at the source: the device registry, anchors of reading batches, and alerts.
//!
//! A device is registered on chain by its owning organisation with its SM2 public key, its kind, a
//! binding (a warehouse location, a warehouse receipt, a shipment or a production lot) and its alert
//! rules. The ingestion service (`scf-iot-ingest`) reads the record to verify each reading's COSE_Sign1
//! signature; it never trusts a key it did not read from chain.
//!
//! Decisions worth knowing:
//! - **Rules live on chain with the device** ([`AlertRule`]), so every node and every ingestion instance
//!   evaluates the same rules and an auditor sees what the owner asked for. Values are fixed-point
//!   `i64` milli-units of the reading's unit (8 °C = 8000); the ingestion edge converts CBOR floats.
//! - **Anchors** ([`DeviceCall::AnchorBatch`]) are numbered per anchoring account and must arrive in
//!   order with no gaps, so a restarted ingestion service can never anchor the same batch twice: a
//!   repeated number is refused with `ANCHOR_EXISTS`.
//! - **Alerts** are raised by the device owner's accounts or by an ingestion account the owner
//!   authorised ([`DeviceCall::AuthoriseIngestor`]). An alert cites the triggering reading (device, seq,
//!   time, value and its leaf hash, provable against an anchored batch root). Raising one flags what the
//!   device is bound to: a bound receipt through [`crate::warehouse::flag_receipt`], the active receipt
//!   for bound warehouse goods through [`crate::warehouse::flag_goods`], and a lot or shipment through a
//!   flag record of this module ([`lot_flag`], [`shipment_flag`]). Clearing is the owner's: it closes
//!   the alert and lifts the lot/shipment flag it set; a receipt flag is lifted by the receipt's
//!   warehouse operator with `warehouse::ClearFlag`, as the warehouse rules require.
//! - Only the owner registers, rebinds, changes rules of, revokes and clears alerts of its devices.
//!   Revocation is final; a revoked device's id and key are never reused.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::{Address, Hash32, PublicKey};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::kv::{self, Rule, StoreError};
use crate::org::{self, OrgError};
use crate::warehouse::{self, FlagSource, GoodsIdentity, StorageLocation, WarehouseError};

pub const MODULE: &str = "device";

/// Longest device id. Ids are 1..=64 of `A-Z a-z 0-9 . _ -` so they fit an MQTT topic level.
pub const MAX_DEVICE_ID: usize = 64;
/// Longest reading type / unit / free text reference.
pub const MAX_NAME: usize = 32;
pub const MAX_TEXT: usize = 256;
/// Most alert rules per device.
pub const MAX_RULES: usize = 8;
/// Longest duration/window a rule may use (7 days).
pub const MAX_RULE_WINDOW_MS: u64 = 7 * 24 * 3_600_000;
/// Shortest silence a rule may watch for.
pub const MIN_SILENCE_MS: u64 = 1_000;
/// Most readings one anchored batch may cover.
pub const MAX_BATCH_READINGS: u32 = 1_000_000;

/// What sort of device this is (informational; rules say what is checked).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Temperature,
    Humidity,
    TemperatureHumidity,
    Weight,
    Location,
    Other { name: String },
}

/// What a device watches.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Binding {
    /// A warehouse bin; with `goods`, an alert flags the active receipt for those goods there.
    WarehouseLocation { location: StorageLocation, goods: Option<GoodsIdentity> },
    /// One warehouse receipt by number.
    Receipt { number: String },
    /// A shipment (e.g. a waybill or SSCC).
    Shipment { id: String },
    /// A production lot, optionally of one GTIN.
    Lot { gtin: Option<String>, lot: String },
}

/// How much change a [`AlertRule::RateOfChange`] tolerates.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum ChangeLimit {
    /// Absolute change in milli-units.
    Absolute { milli: i64 },
    /// Change relative to the earliest value in the window, in per mille (20 = 2 %).
    Permille { permille: u32 },
}

/// An alert rule, evaluated by the ingestion service on accepted readings (fixed-point milli-units).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum AlertRule {
    /// `reading_type` outside `[min, max]` continuously for at least `for_ms` (0 = at once).
    Threshold { reading_type: String, min: Option<i64>, max: Option<i64>, for_ms: u64 },
    /// `reading_type` changes by more than `limit` within `window_ms`.
    RateOfChange { reading_type: String, limit: ChangeLimit, window_ms: u64 },
    /// No accepted reading from the device for `max_gap_ms`.
    Silence { max_gap_ms: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeviceStatus {
    Active,
    Revoked { reason: String, height: u64 },
}

/// A registered device as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    /// Owning organisation.
    pub owner: String,
    pub public_key: PublicKey,
    pub kind: DeviceKind,
    pub binding: Binding,
    pub rules: Vec<AlertRule>,
    pub status: DeviceStatus,
    pub registered_height: u64,
    pub updated_height: u64,
    /// Alerts raised so far (the next alert is number `alerts + 1`).
    pub alerts: u64,
}

impl Device {
    pub fn is_active(&self) -> bool {
        matches!(self.status, DeviceStatus::Active)
    }
}

/// A reading by its device and sequence number.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct ReadingRef {
    pub device_id: String,
    pub seq: u64,
}

/// A batch of accepted readings committed by its SM3 Merkle root.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Anchor {
    pub anchorer: Address,
    pub org: String,
    pub batch: u64,
    pub root: Hash32,
    pub count: u32,
    pub first: ReadingRef,
    pub last: ReadingRef,
    pub height: u64,
    pub time_ms: u64,
    pub tx_id: Hash32,
}

/// The reading that triggered an alert (or, for silence, the last one seen).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Observation {
    pub seq: u64,
    /// Device time of the reading, ms since the Unix epoch.
    pub time_ms: u64,
    pub reading_type: Option<String>,
    /// Milli-units.
    pub value: Option<i64>,
    /// SM3 leaf hash of the signed reading (provable against an anchored batch root).
    pub leaf: Hash32,
}

/// What an alert flagged.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "target", rename_all = "snake_case")]
pub enum Flagged {
    Receipt {
        number: String,
    },
    Lot {
        key: String,
    },
    Shipment {
        id: String,
    },
    /// The binding had nothing active to flag (e.g. no receipt for those goods).
    Nothing,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Cleared { reason: String, by: String, height: u64 },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Alert {
    /// `{device_id}#{n}`.
    pub id: String,
    pub device_id: String,
    pub owner: String,
    pub rule_index: u32,
    pub rule: AlertRule,
    pub binding: Binding,
    pub observation: Observation,
    pub detail: String,
    pub flagged: Flagged,
    pub raised_by: Address,
    pub raised_height: u64,
    pub raised_time_ms: u64,
    pub status: AlertStatus,
}

/// A lot or shipment flag set by an alert.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TargetFlag {
    pub alert_id: String,
    pub reason: String,
    pub height: u64,
}

/// Calls of the `device` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum DeviceCall {
    /// The signer's organisation registers a device it owns.
    Register {
        device_id: String,
        public_key: PublicKey,
        kind: DeviceKind,
        binding: Binding,
        rules: Vec<AlertRule>,
    },
    /// The owner binds the device to something else.
    Rebind {
        device_id: String,
        binding: Binding,
    },
    /// The owner replaces the device's alert rules.
    SetRules {
        device_id: String,
        rules: Vec<AlertRule>,
    },
    /// The owner revokes the device for good: its readings are refused from then on.
    Revoke {
        device_id: String,
        reason: String,
    },
    /// The signer's organisation lets an ingestion account (of any organisation) raise alerts for its devices.
    AuthoriseIngestor {
        address: Address,
    },
    RevokeIngestor {
        address: Address,
    },
    /// Commit a batch of accepted readings by its SM3 Merkle root. `batch` numbers are per signer,
    /// from 0, strictly consecutive.
    AnchorBatch {
        batch: u64,
        root: Hash32,
        count: u32,
        first: ReadingRef,
        last: ReadingRef,
    },
    /// Raise an alert for rule `rule_index` of the device.
    RaiseAlert {
        device_id: String,
        rule_index: u32,
        observation: Observation,
        detail: String,
    },
    /// The owner clears an open alert with the reason it is safe again.
    ClearAlert {
        alert_id: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error(transparent)]
    Warehouse(#[from] WarehouseError),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("device_id: no device {id:?}")]
    NotFound { id: String },
    #[error("device_id: device {id:?} is already registered")]
    Exists { id: String },
    #[error("public_key: already the key of device {device:?}")]
    KeyInUse { device: String },
    #[error("device_id: device {id:?} belongs to {owner}, not {org}")]
    NotOwner { id: String, owner: String, org: String },
    #[error("device_id: device {id:?} is revoked")]
    Revoked { id: String },
    #[error("batch: batch {batch} of this account is already anchored")]
    AnchorExists { batch: u64 },
    #[error("batch: expected batch {expected}, got {got}")]
    AnchorOutOfOrder { expected: u64, got: u64 },
    #[error("signer: {address} may not raise alerts for devices of {owner}")]
    NotIngestor { address: Address, owner: String },
    #[error("rule_index: alert {alert} for this rule is still open")]
    AlertOpen { alert: String },
    #[error("alert_id: no alert {id:?}")]
    AlertNotFound { id: String },
    #[error("alert_id: alert {id:?} is already cleared")]
    AlertCleared { id: String },
}

impl Rule for DeviceError {
    fn code(&self) -> &'static str {
        match self {
            DeviceError::Store(e) => e.code(),
            DeviceError::Org(e) => e.code(),
            DeviceError::Warehouse(e) => e.code(),
            DeviceError::Invalid { .. } => "INVALID_FIELD",
            DeviceError::NotFound { .. } => "DEVICE_NOT_FOUND",
            DeviceError::Exists { .. } => "DEVICE_EXISTS",
            DeviceError::KeyInUse { .. } => "DEVICE_KEY_IN_USE",
            DeviceError::NotOwner { .. } => "NOT_DEVICE_OWNER",
            DeviceError::Revoked { .. } => "DEVICE_REVOKED",
            DeviceError::AnchorExists { .. } => "ANCHOR_EXISTS",
            DeviceError::AnchorOutOfOrder { .. } => "ANCHOR_OUT_OF_ORDER",
            DeviceError::NotIngestor { .. } => "NOT_INGESTOR",
            DeviceError::AlertOpen { .. } => "ALERT_OPEN",
            DeviceError::AlertNotFound { .. } => "ALERT_NOT_FOUND",
            DeviceError::AlertCleared { .. } => "ALERT_CLEARED",
        }
    }
}

type Result<T> = std::result::Result<T, DeviceError>;

fn invalid(field: impl Into<String>, reason: impl Into<String>) -> DeviceError {
    DeviceError::Invalid { field: field.into(), reason: reason.into() }
}

// ---------------------------------------------------------------------------------------------
// State keys and read helpers (what the ingestion service and the read model use)
// ---------------------------------------------------------------------------------------------

/// State key of a device record (Borsh [`Device`]); the ingestion service reads it through its chain client.
pub fn device_key(id: &str) -> String {
    format!("device/d/{id}")
}
fn key_index_key(pk: &PublicKey) -> String {
    format!("device/key/{}", pk.address().to_hex())
}
fn org_devices_key(org: &str) -> String {
    format!("device/org/{org}")
}
fn ingestor_key(org: &str, addr: &Address) -> String {
    format!("device/ingestor/{org}/{}", addr.to_hex())
}
/// State key of anchor `batch` of `anchorer` (Borsh [`Anchor`]).
pub fn anchor_key(anchorer: &Address, batch: u64) -> String {
    format!("device/anchor/{}/{batch:020}", anchorer.to_hex())
}
/// State key of the next batch number `anchorer` must use (Borsh `u64`).
pub fn anchor_next_key(anchorer: &Address) -> String {
    format!("device/anchor_next/{}", anchorer.to_hex())
}
fn alert_key(id: &str) -> String {
    format!("device/alert/{id}")
}
fn open_alert_key(device: &str, rule_index: u32) -> String {
    format!("device/open/{device}/{rule_index}")
}
fn lot_flag_key(key: &str) -> String {
    format!("device/flag/lot/{key}")
}
fn shipment_flag_key(id: &str) -> String {
    format!("device/flag/shipment/{}", warehouse::normalise_component(id))
}

/// The normalised key of a lot (GTIN normalised to 14 digits when valid).
pub fn lot_key(gtin: Option<&str>, lot: &str) -> String {
    let g = gtin
        .map(|g| crate::provenance::gs1::gtin14(g).unwrap_or_else(|_| warehouse::normalise_component(g)))
        .unwrap_or_default();
    format!("{g}|{}", warehouse::normalise_component(lot))
}

pub fn load_device(state: &dyn StateRead, id: &str) -> std::result::Result<Option<Device>, StoreError> {
    kv::get(state, &device_key(id))
}
/// Device ids of an organisation, in registration order.
pub fn devices_of(state: &dyn StateRead, org: &str) -> std::result::Result<Vec<String>, StoreError> {
    Ok(kv::get(state, &org_devices_key(org))?.unwrap_or_default())
}
pub fn load_anchor(
    state: &dyn StateRead,
    anchorer: &Address,
    batch: u64,
) -> std::result::Result<Option<Anchor>, StoreError> {
    kv::get(state, &anchor_key(anchorer, batch))
}
pub fn next_anchor_batch(state: &dyn StateRead, anchorer: &Address) -> std::result::Result<u64, StoreError> {
    Ok(kv::get(state, &anchor_next_key(anchorer))?.unwrap_or(0))
}
pub fn load_alert(state: &dyn StateRead, id: &str) -> std::result::Result<Option<Alert>, StoreError> {
    kv::get(state, &alert_key(id))
}
/// The open alert of a device's rule, if any.
pub fn open_alert(
    state: &dyn StateRead,
    device: &str,
    rule_index: u32,
) -> std::result::Result<Option<String>, StoreError> {
    kv::get(state, &open_alert_key(device, rule_index))
}
/// The alert flag on a lot, if any.
pub fn lot_flag(
    state: &dyn StateRead,
    gtin: Option<&str>,
    lot: &str,
) -> std::result::Result<Option<TargetFlag>, StoreError> {
    kv::get(state, &lot_flag_key(&lot_key(gtin, lot)))
}
/// The alert flag on a shipment, if any.
pub fn shipment_flag(state: &dyn StateRead, id: &str) -> std::result::Result<Option<TargetFlag>, StoreError> {
    kv::get(state, &shipment_flag_key(id))
}
pub fn is_ingestor(state: &dyn StateRead, org: &str, addr: &Address) -> std::result::Result<bool, StoreError> {
    Ok(kv::get::<u64>(state, &ingestor_key(org, addr))?.is_some())
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

/// True for a valid device id (also a valid MQTT topic level).
pub fn valid_device_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_DEVICE_ID
        && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
}

fn check_text(field: &str, s: &str, max: usize, required: bool) -> Result<()> {
    if required && s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

fn check_kind(kind: &DeviceKind) -> Result<()> {
    if let DeviceKind::Other { name } = kind {
        check_text("kind.name", name, MAX_NAME, true)?;
    }
    Ok(())
}

fn check_binding(b: &Binding) -> Result<()> {
    match b {
        Binding::WarehouseLocation { location, goods } => {
            check_text("binding.location.warehouse", &location.warehouse, MAX_TEXT, true)?;
            check_text("binding.location.zone", &location.zone, MAX_TEXT, false)?;
            check_text("binding.location.bin", &location.bin, MAX_TEXT, false)?;
            if let Some(GoodsIdentity::Serials { serials, .. }) = goods {
                if serials.is_empty() || serials.len() > 500 {
                    return Err(invalid("binding.goods.serials", "1..=500 serials"));
                }
            }
            Ok(())
        }
        Binding::Receipt { number } => check_text("binding.number", number, MAX_TEXT, true),
        Binding::Shipment { id } => check_text("binding.id", id, MAX_TEXT, true),
        Binding::Lot { gtin, lot } => {
            if let Some(g) = gtin {
                crate::provenance::gs1::gtin14(g).map_err(|e| invalid("binding.gtin", e.to_string()))?;
            }
            check_text("binding.lot", lot, MAX_TEXT, true)
        }
    }
}

/// Check a rule list (also used by the ingestion service before it evaluates rules).
pub fn check_rules(rules: &[AlertRule]) -> Result<()> {
    if rules.len() > MAX_RULES {
        return Err(invalid("rules", format!("at most {MAX_RULES} rules")));
    }
    for (i, r) in rules.iter().enumerate() {
        let f = |name: &str| format!("rules[{i}].{name}");
        match r {
            AlertRule::Threshold { reading_type, min, max, for_ms } => {
                check_text(&f("reading_type"), reading_type, MAX_NAME, true)?;
                match (min, max) {
                    (None, None) => return Err(invalid(f("min"), "a threshold needs min, max or both")),
                    (Some(lo), Some(hi)) if lo >= hi => return Err(invalid(f("min"), "must be below max")),
                    _ => {}
                }
                if *for_ms > MAX_RULE_WINDOW_MS {
                    return Err(invalid(f("for_ms"), format!("at most {MAX_RULE_WINDOW_MS}")));
                }
            }
            AlertRule::RateOfChange { reading_type, limit, window_ms } => {
                check_text(&f("reading_type"), reading_type, MAX_NAME, true)?;
                match limit {
                    ChangeLimit::Absolute { milli } if *milli <= 0 => {
                        return Err(invalid(f("limit.milli"), "must be positive"))
                    }
                    ChangeLimit::Permille { permille } if *permille == 0 || *permille > 1_000_000 => {
                        return Err(invalid(f("limit.permille"), "1..=1000000"))
                    }
                    _ => {}
                }
                if *window_ms == 0 || *window_ms > MAX_RULE_WINDOW_MS {
                    return Err(invalid(f("window_ms"), format!("1..={MAX_RULE_WINDOW_MS}")));
                }
            }
            AlertRule::Silence { max_gap_ms } => {
                if *max_gap_ms < MIN_SILENCE_MS || *max_gap_ms > MAX_RULE_WINDOW_MS {
                    return Err(invalid(f("max_gap_ms"), format!("{MIN_SILENCE_MS}..={MAX_RULE_WINDOW_MS}")));
                }
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

fn device_event(kind: &str, d: &Device, data: &impl Serialize) -> Event {
    kv::event(MODULE, kind, &[("device", &d.id), ("org", &d.owner)], data)
}

/// The device, which the signer's organisation must own.
fn owned(state: &dyn StateRead, ctx: &TxContext, id: &str) -> Result<(Device, String)> {
    let me = org::signer_org(state, ctx)?;
    let d = load_device(state, id)?.ok_or_else(|| DeviceError::NotFound { id: id.to_string() })?;
    if d.owner != me.id {
        return Err(DeviceError::NotOwner { id: id.to_string(), owner: d.owner, org: me.id });
    }
    Ok((d, me.id))
}

fn require_active(d: &Device) -> Result<()> {
    if !d.is_active() {
        return Err(DeviceError::Revoked { id: d.id.clone() });
    }
    Ok(())
}

fn flag_binding(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    alert: &Alert,
    reason: &str,
) -> Result<(Flagged, Vec<Event>)> {
    let source = FlagSource::Alert { module: MODULE.to_string(), alert_id: alert.id.clone() };
    let target = TargetFlag { alert_id: alert.id.clone(), reason: reason.to_string(), height: ctx.height };
    Ok(match &alert.binding {
        Binding::Receipt { number } => match warehouse::load_receipt(state, number)? {
            Some(r) if r.is_active() => {
                let events = warehouse::flag_receipt(state, ctx, number, source, reason)?;
                (Flagged::Receipt { number: number.clone() }, events)
            }
            _ => (Flagged::Nothing, vec![]),
        },
        Binding::WarehouseLocation { location, goods: Some(identity) } => {
            match warehouse::receipt_for_goods(state, location, identity)? {
                Some(r) => {
                    let number = r.terms.number.clone();
                    let events = warehouse::flag_goods(state, ctx, location, identity, source, reason)?;
                    (Flagged::Receipt { number }, events)
                }
                None => (Flagged::Nothing, vec![]),
            }
        }
        Binding::WarehouseLocation { goods: None, .. } => (Flagged::Nothing, vec![]),
        Binding::Lot { gtin, lot } => {
            let key = lot_key(gtin.as_deref(), lot);
            if kv::get::<TargetFlag>(state, &lot_flag_key(&key))?.is_none() {
                kv::put(state, &lot_flag_key(&key), &target);
            }
            (Flagged::Lot { key }, vec![])
        }
        Binding::Shipment { id } => {
            if shipment_flag(state, id)?.is_none() {
                kv::put(state, &shipment_flag_key(id), &target);
            }
            (Flagged::Shipment { id: id.clone() }, vec![])
        }
    })
}

pub struct DeviceModule;

impl ModuleCall for DeviceCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for DeviceModule {
    type Call = DeviceCall;
    type Error = DeviceError;

    fn apply(
        ctx: &TxContext,
        state: &mut dyn StateWrite,
        call: DeviceCall,
    ) -> std::result::Result<Vec<Event>, DeviceError> {
        match call {
            DeviceCall::Register { device_id, public_key, kind, binding, rules } => {
                let me = org::signer_org(state, ctx)?;
                if !valid_device_id(&device_id) {
                    return Err(invalid(
                        "device_id",
                        format!("{device_id:?} must be 1..={MAX_DEVICE_ID} of A-Z a-z 0-9 . _ -"),
                    ));
                }
                if load_device(state, &device_id)?.is_some() {
                    return Err(DeviceError::Exists { id: device_id });
                }
                if let Some(other) = kv::get::<String>(state, &key_index_key(&public_key))? {
                    return Err(DeviceError::KeyInUse { device: other });
                }
                check_kind(&kind)?;
                check_binding(&binding)?;
                check_rules(&rules)?;
                let d = Device {
                    id: device_id.clone(),
                    owner: me.id.clone(),
                    public_key,
                    kind,
                    binding,
                    rules,
                    status: DeviceStatus::Active,
                    registered_height: ctx.height,
                    updated_height: ctx.height,
                    alerts: 0,
                };
                kv::put(state, &device_key(&device_id), &d);
                kv::put(state, &key_index_key(&public_key), &device_id);
                let mut list = devices_of(state, &me.id)?;
                list.push(device_id);
                kv::put(state, &org_devices_key(&me.id), &list);
                Ok(vec![device_event("DeviceRegistered", &d, &d)])
            }
            DeviceCall::Rebind { device_id, binding } => {
                let (mut d, _) = owned(state, ctx, &device_id)?;
                require_active(&d)?;
                check_binding(&binding)?;
                let old = std::mem::replace(&mut d.binding, binding);
                d.updated_height = ctx.height;
                kv::put(state, &device_key(&device_id), &d);
                Ok(vec![device_event(
                    "DeviceRebound",
                    &d,
                    &serde_json::json!({ "device": d.id, "from": old, "to": d.binding }),
                )])
            }
            DeviceCall::SetRules { device_id, rules } => {
                let (mut d, _) = owned(state, ctx, &device_id)?;
                require_active(&d)?;
                check_rules(&rules)?;
                d.rules = rules;
                d.updated_height = ctx.height;
                kv::put(state, &device_key(&device_id), &d);
                Ok(vec![device_event("DeviceRulesSet", &d, &serde_json::json!({ "device": d.id, "rules": d.rules }))])
            }
            DeviceCall::Revoke { device_id, reason } => {
                let (mut d, _) = owned(state, ctx, &device_id)?;
                require_active(&d)?;
                check_text("reason", &reason, MAX_TEXT, true)?;
                d.status = DeviceStatus::Revoked { reason: reason.clone(), height: ctx.height };
                d.updated_height = ctx.height;
                kv::put(state, &device_key(&device_id), &d);
                Ok(vec![device_event("DeviceRevoked", &d, &serde_json::json!({ "device": d.id, "reason": reason }))])
            }
            DeviceCall::AuthoriseIngestor { address } => {
                let me = org::signer_org(state, ctx)?;
                kv::put(state, &ingestor_key(&me.id, &address), &ctx.height);
                Ok(vec![kv::event(
                    MODULE,
                    "IngestorAuthorised",
                    &[("org", &me.id)],
                    &serde_json::json!({ "org": me.id, "address": address }),
                )])
            }
            DeviceCall::RevokeIngestor { address } => {
                let me = org::signer_org(state, ctx)?;
                if !is_ingestor(state, &me.id, &address)? {
                    return Err(invalid("address", format!("{address} is not an ingestor of {}", me.id)));
                }
                kv::delete(state, &ingestor_key(&me.id, &address));
                Ok(vec![kv::event(
                    MODULE,
                    "IngestorRevoked",
                    &[("org", &me.id)],
                    &serde_json::json!({ "org": me.id, "address": address }),
                )])
            }
            DeviceCall::AnchorBatch { batch, root, count, first, last } => {
                let me = org::signer_org(state, ctx)?;
                if count == 0 || count > MAX_BATCH_READINGS {
                    return Err(invalid("count", format!("1..={MAX_BATCH_READINGS}")));
                }
                for (field, r) in [("first.device_id", &first), ("last.device_id", &last)] {
                    if !valid_device_id(&r.device_id) {
                        return Err(invalid(field, "not a valid device id"));
                    }
                }
                let expected = next_anchor_batch(state, &ctx.sender_address)?;
                if batch < expected {
                    return Err(DeviceError::AnchorExists { batch });
                }
                if batch > expected {
                    return Err(DeviceError::AnchorOutOfOrder { expected, got: batch });
                }
                let a = Anchor {
                    anchorer: ctx.sender_address,
                    org: me.id.clone(),
                    batch,
                    root,
                    count,
                    first,
                    last,
                    height: ctx.height,
                    time_ms: ctx.time_ms,
                    tx_id: ctx.tx_id,
                };
                kv::put(state, &anchor_key(&ctx.sender_address, batch), &a);
                kv::put(state, &anchor_next_key(&ctx.sender_address), &(batch + 1));
                Ok(vec![kv::event(
                    MODULE,
                    "BatchAnchored",
                    &[("org", &me.id), ("anchorer", &ctx.sender_address.to_hex()), ("root", &root.to_hex())],
                    &a,
                )])
            }
            DeviceCall::RaiseAlert { device_id, rule_index, observation, detail } => {
                let me = org::signer_org(state, ctx)?;
                let mut d =
                    load_device(state, &device_id)?.ok_or_else(|| DeviceError::NotFound { id: device_id.clone() })?;
                if d.owner != me.id && !is_ingestor(state, &d.owner, &ctx.sender_address)? {
                    return Err(DeviceError::NotIngestor { address: ctx.sender_address, owner: d.owner });
                }
                require_active(&d)?;
                check_text("detail", &detail, MAX_TEXT, true)?;
                if let Some(t) = &observation.reading_type {
                    check_text("observation.reading_type", t, MAX_NAME, true)?;
                }
                let rule =
                    d.rules.get(rule_index as usize).cloned().ok_or_else(|| {
                        invalid("rule_index", format!("device {device_id} has {} rules", d.rules.len()))
                    })?;
                if let Some(open) = open_alert(state, &device_id, rule_index)? {
                    return Err(DeviceError::AlertOpen { alert: open });
                }
                d.alerts += 1;
                let mut alert = Alert {
                    id: format!("{device_id}#{}", d.alerts),
                    device_id: device_id.clone(),
                    owner: d.owner.clone(),
                    rule_index,
                    rule,
                    binding: d.binding.clone(),
                    observation,
                    detail: detail.clone(),
                    flagged: Flagged::Nothing,
                    raised_by: ctx.sender_address,
                    raised_height: ctx.height,
                    raised_time_ms: ctx.time_ms,
                    status: AlertStatus::Open,
                };
                let reason = format!("IoT alert {}: {detail}", alert.id);
                let reason: String = reason.chars().take(MAX_TEXT).collect();
                let (flagged, mut events) = flag_binding(state, ctx, &alert, &reason)?;
                alert.flagged = flagged;
                kv::put(state, &device_key(&device_id), &d);
                kv::put(state, &alert_key(&alert.id), &alert);
                kv::put(state, &open_alert_key(&device_id, rule_index), &alert.id);
                events.insert(
                    0,
                    kv::event(
                        MODULE,
                        "AlertRaised",
                        &[("device", &device_id), ("alert", &alert.id), ("org", &d.owner)],
                        &alert,
                    ),
                );
                Ok(events)
            }
            DeviceCall::ClearAlert { alert_id, reason } => {
                let me = org::signer_org(state, ctx)?;
                let mut a =
                    load_alert(state, &alert_id)?.ok_or_else(|| DeviceError::AlertNotFound { id: alert_id.clone() })?;
                if a.owner != me.id {
                    return Err(DeviceError::NotOwner { id: a.device_id.clone(), owner: a.owner, org: me.id });
                }
                if !matches!(a.status, AlertStatus::Open) {
                    return Err(DeviceError::AlertCleared { id: alert_id });
                }
                check_text("reason", &reason, MAX_TEXT, true)?;
                match &a.flagged {
                    Flagged::Lot { key } => {
                        if kv::get::<TargetFlag>(state, &lot_flag_key(key))?.is_some_and(|f| f.alert_id == a.id) {
                            kv::delete(state, &lot_flag_key(key));
                        }
                    }
                    Flagged::Shipment { id } => {
                        if shipment_flag(state, id)?.is_some_and(|f| f.alert_id == a.id) {
                            kv::delete(state, &shipment_flag_key(id));
                        }
                    }
                    Flagged::Receipt { .. } | Flagged::Nothing => {}
                }
                a.status = AlertStatus::Cleared { reason, by: me.id.clone(), height: ctx.height };
                kv::put(state, &alert_key(&alert_id), &a);
                kv::delete(state, &open_alert_key(&a.device_id, a.rule_index));
                Ok(vec![kv::event(
                    MODULE,
                    "AlertCleared",
                    &[("device", &a.device_id), ("alert", &a.id), ("org", &a.owner)],
                    &a,
                )])
            }
        }
    }
}

#[cfg(test)]
mod tests;

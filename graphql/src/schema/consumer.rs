//! What protects a consumer: warnings on a lot's page (a recall, an IoT alert on the lot), the recall
//! itself (`recallLot`, by the lot's brand owner or the regulator), location master data
//! (`describeLocations`), and the page of one serialised item (`scanSerial`: records an anonymous scan
//! off chain and says whether the label looks copied, see [`crate::serial_scans`]).

use std::sync::Arc;

use async_graphql::{Context, InputObject, Object, SimpleObject};
use scf_domain::device;
use scf_domain::provenance::{self as dprov, gs1, LocationMaster, ProvenanceCall, RecallLot};
use scf_ledger::state::StateRead;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::provenance::{Product, Recorder};
use super::types::TxResult;
use super::{access, api, public_request};
use crate::db::entities::device_alert;
use crate::error::{ApiError, ApiResult};
use crate::serial_scans::{self, Cell, CopySign, RecentScans, Scan};

/// Something a consumer must know about a lot before eating or using it.
#[derive(SimpleObject, Clone)]
pub struct LotWarning {
    /// `recall` (the brand owner or the regulator recalled the lot) or `cold_chain_alert` (an IoT device
    /// bound to the lot raised an alert, e.g. a temperature excursion).
    pub kind: String,
    /// What happened: the recall's reason, or the alert's detail.
    pub reason: String,
    /// When it was recorded on chain: block time, ms since the epoch.
    pub time_ms: i64,
    pub height: i64,
    /// Who recorded it: the recalling organisation, or the organisation owning the alerting device.
    pub recorded_by: Recorder,
    /// The recall's transaction id, or the alert id (`{device}#{n}`).
    pub reference: String,
    /// For alerts: the device that measured it.
    pub device_id: Option<String>,
    /// `open`, or `cleared` for an alert its owner cleared (it still happened).
    pub status: String,
    /// Why an alert was cleared.
    pub cleared_reason: Option<String>,
    /// True when the regulator recalled the lot (not its brand owner).
    pub by_regulator: bool,
}

fn org_name(state: &dyn StateRead, id: &str) -> ApiResult<Recorder> {
    let name = scf_domain::org::load_org(state, id)?.map(|o| o.name).unwrap_or_else(|| id.to_string());
    Ok(Recorder { org_id: id.to_string(), org_name: name })
}

/// The warnings of a lot, most serious first: a recall, then open alerts, then cleared ones (newest first).
pub(crate) async fn lot_warnings(api: &crate::service::Api, gtin14: &str, lot: &str) -> ApiResult<Vec<LotWarning>> {
    let keys = [device::lot_key(Some(gtin14), lot), device::lot_key(None, lot)];
    let alerts = device_alert::Entity::find()
        .filter(device_alert::Column::FlaggedKind.eq("lot"))
        .filter(device_alert::Column::FlaggedRef.is_in(keys))
        .order_by_desc(device_alert::Column::RaisedHeight)
        .all(&api.db)
        .await?;
    let state = api.chain.state(None).map_err(ApiError::from)?;
    let state: &dyn StateRead = state.as_ref();
    let mut out = Vec::new();
    if let Some(r) = dprov::load_recall(state, gtin14, lot)? {
        out.push(LotWarning {
            kind: "recall".into(),
            reason: r.reason,
            time_ms: i64::try_from(r.time_ms).unwrap_or(i64::MAX),
            height: r.height as i64,
            recorded_by: org_name(state, &r.org)?,
            reference: r.tx_id.to_hex(),
            device_id: None,
            status: "open".into(),
            cleared_reason: None,
            by_regulator: r.by_regulator,
        });
    }
    let mut alert_warnings: Vec<LotWarning> = Vec::with_capacity(alerts.len());
    for a in alerts.into_iter().take(20) {
        alert_warnings.push(LotWarning {
            kind: "cold_chain_alert".into(),
            reason: a.detail,
            time_ms: a.raised_time_ms,
            height: a.raised_height,
            recorded_by: org_name(state, &a.owner)?,
            reference: a.id,
            device_id: Some(a.device_id),
            status: a.status,
            cleared_reason: a.cleared_reason,
            by_regulator: false,
        });
    }
    alert_warnings.sort_by_key(|w| (w.status != "open", -w.height));
    out.extend(alert_warnings);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Serial pages
// ---------------------------------------------------------------------------------------------

/// A position the browser's geolocation gave (the client already rounds it; the server coarsens it
/// again to 0.01° before storing).
#[derive(InputObject)]
pub struct ScanLocationInput {
    pub latitude: f64,
    pub longitude: f64,
}

/// One recorded scan of a serial, as shown to anyone (coarse position only).
#[derive(SimpleObject, Clone)]
pub struct SerialScan {
    pub time_ms: i64,
    /// Hundredths of a degree, as stored (≈ 1 km); null when the consumer shared no location.
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// Why a serial looks copied.
#[derive(SimpleObject, Clone)]
pub struct CopyWarning {
    /// `impossible_travel`, `too_many_scans`, `spread`, `unknown_serial` (no event on chain names this
    /// serial: the code was never issued by the brand) or `lot_mismatch` (the link names another lot
    /// than the chain records for this serial).
    pub kind: String,
    /// For `impossible_travel`: the distance between the two scans (km) and the minutes between them.
    pub distance_km: Option<i32>,
    pub minutes: Option<i32>,
    /// For `too_many_scans`: the count; for `spread`: the number of places.
    pub count: Option<i32>,
    /// For `lot_mismatch`: the lot the chain records.
    pub lot: Option<String>,
}

/// The public page of one serialised item.
#[derive(SimpleObject, Clone)]
pub struct SerialPage {
    /// GTIN-14.
    pub gtin: String,
    pub serial: String,
    /// The item's lot: as the chain records it (the transformation that made the item), else as the
    /// link named it.
    pub lot: Option<String>,
    pub product: Product,
    /// True when an anchored event names this serial.
    pub known: bool,
    /// Every recorded scan of this serial, this one included.
    pub scan_count: i64,
    pub first_scan_ms: Option<i64>,
    /// The most recent scans (at most 50), oldest first.
    pub scans: Vec<SerialScan>,
    /// Signs of a copied label (empty: nothing suspicious).
    pub copy_warnings: Vec<CopyWarning>,
    /// The lot's warnings (recall, cold-chain alerts).
    pub lot_warnings: Vec<LotWarning>,
}

fn copy_warning(s: &CopySign) -> CopyWarning {
    let none = CopyWarning { kind: String::new(), distance_km: None, minutes: None, count: None, lot: None };
    match s {
        CopySign::ImpossibleTravel { distance_km, minutes, .. } => CopyWarning {
            kind: "impossible_travel".into(),
            distance_km: Some(distance_km.round() as i32),
            minutes: Some(minutes.round() as i32),
            ..none
        },
        CopySign::TooManyScans { count } => CopyWarning {
            kind: "too_many_scans".into(),
            count: Some(i32::try_from(*count).unwrap_or(i32::MAX)),
            ..none
        },
        CopySign::Spread { places } => {
            CopyWarning { kind: "spread".into(), count: Some(i32::try_from(*places).unwrap_or(i32::MAX)), ..none }
        }
    }
}

/// What the chain says about a serial: whether it is known, its lot, and the product name.
fn serial_facts(
    state: &dyn StateRead,
    gtin: &str,
    serial_key: &str,
) -> ApiResult<(bool, Option<String>, Option<String>)> {
    let events = dprov::events_for_key(state, serial_key)?;
    let known = !events.is_empty();
    let mut lot = None;
    let mut name = None;
    for (role, e) in &events {
        if *role == dprov::KeyRole::Output && lot.is_none() {
            for o in &e.links.outputs {
                if let Ok(gs1::Gs1Key::Lgtin { gtin: g, lot: l }) = gs1::parse_gs1_key(o) {
                    if g == gtin {
                        lot = gs1::percent_decode(&l).ok();
                        break;
                    }
                }
            }
        }
        if name.is_none() {
            let json: serde_json::Value = serde_json::from_str(&e.event_json).unwrap_or(serde_json::Value::Null);
            name = super::provenance::ilmd_value(
                &json,
                &["productName", "descriptionShort", "tradeItemDescription", "regulatedProductName"],
            )
            .map(str::to_string);
        }
    }
    Ok((known, lot, name))
}

#[derive(Default)]
pub struct ConsumerMutation;

#[Object]
impl ConsumerMutation {
    /// Recall a lot (召回): its brand owner — the organisation that commissioned the lot on chain — or
    /// the regulator. Operators and admins of that organisation only; the chain checks it again.
    async fn recall_lot(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        lot: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        let user = access::require_operator(ctx)?;
        let gtin14 = dprov::recall::check_lot(&gtin, &lot).map_err(field_error)?;
        if reason.trim().is_empty() {
            return Err(ApiError::bad_input("reason", "say what happened and what consumers should do").into());
        }
        let regulator = access::has_org_role(api, user, "regulator").await?;
        if !regulator {
            let owner = {
                let state = api.chain.state(None).map_err(ApiError::from)?;
                dprov::brand_owner(state.as_ref(), &gtin14, &lot).map_err(ApiError::from)?
            };
            match owner {
                Some(o) if o == user.org_id => {}
                Some(o) => {
                    return Err(ApiError::forbidden(format!(
                        "only the lot's brand owner ({o}) or the regulator may recall it"
                    ))
                    .into())
                }
                None => {
                    return Err(ApiError::not_found(format!("lot {lot} of {gtin14} (nothing commissions it)")).into())
                }
            }
        }
        let call = ProvenanceCall::Recall(RecallLot { gtin: gtin14, lot, reason });
        Ok(TxResult { receipt: api.submit(user, &call).await? })
    }

    /// Name locations and parties (GLN master data) as the caller's organisation: the consumer page shows
    /// these names instead of `urn:epc:id:sgln:…`. The first organisation to name a GLN owns its name.
    async fn describe_locations(
        &self,
        ctx: &Context<'_>,
        locations: Vec<LocationInput>,
    ) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        let user = access::require_operator(ctx)?;
        if locations.is_empty() || locations.len() > dprov::locations::MAX_LOCATIONS {
            return Err(ApiError::bad_input(
                "locations",
                format!("1..={} locations per call", dprov::locations::MAX_LOCATIONS),
            )
            .into());
        }
        let call = ProvenanceCall::DescribeLocations(
            locations.into_iter().map(|l| LocationMaster { id: l.id, name: l.name, address: l.address }).collect(),
        );
        Ok(TxResult { receipt: api.submit(user, &call).await? })
    }

    /// The public page of a serialised item (`/01/{gtin}/21/{serial}`, optionally with its lot), which
    /// records this scan (anonymous, off chain, coarse location only if given). Rate-limited per client
    /// address like every public request; a reload from the same place within 10 minutes is not counted
    /// again. Scans of serials the chain does not know are not recorded.
    async fn scan_serial(
        &self,
        ctx: &Context<'_>,
        gtin: String,
        serial: String,
        lot: Option<String>,
        location: Option<ScanLocationInput>,
    ) -> async_graphql::Result<SerialPage> {
        public_request(ctx)?;
        let api = api(ctx)?;
        let gtin = gs1::gtin14(&gtin).map_err(|e| ApiError::bad_input("gtin", e.to_string()))?;
        let n = serial.chars().count();
        if n == 0 || n > 20 || serial.chars().any(|c| c.is_control() || c == '/') {
            return Err(ApiError::bad_input("serial", "a serial number has 1..=20 characters, no '/'").into());
        }
        if let Some(l) = &lot {
            dprov::recall::check_lot(&gtin, l).map_err(field_error)?;
        }
        let cell = location.map(|l| Cell::from_degrees(l.latitude, l.longitude)).transpose()?;
        let serial_key = gs1::Gs1Key::Sgtin { gtin: gtin.clone(), serial: gs1::dl_escape(&serial) }.digital_link();
        let (known, chain_lot, name) = {
            let state = api.chain.state(None).map_err(ApiError::from)?;
            serial_facts(state.as_ref(), &gtin, &serial_key)?
        };
        let now = crate::auth::now_ms();
        if known {
            let addr = ctx.data_opt::<crate::ratelimit::ClientAddr>().and_then(|c| c.0);
            let recent = ctx.data_opt::<Arc<RecentScans>>();
            if !recent.is_some_and(|r| r.is_repeat(addr, &serial_key, cell, now)) {
                serial_scans::record(&api.db, &serial_key, &Scan { time_ms: now, cell }).await?;
            }
        }
        let (scans, total, first) = serial_scans::load(&api.db, &serial_key).await?;
        let mut copy_warnings: Vec<CopyWarning> = Vec::new();
        if !known {
            copy_warnings.push(CopyWarning {
                kind: "unknown_serial".into(),
                distance_km: None,
                minutes: None,
                count: None,
                lot: None,
            });
        }
        if let (Some(asked), Some(recorded)) = (&lot, &chain_lot) {
            if asked != recorded {
                copy_warnings.push(CopyWarning {
                    kind: "lot_mismatch".into(),
                    distance_km: None,
                    minutes: None,
                    count: None,
                    lot: Some(recorded.clone()),
                });
            }
        }
        copy_warnings.extend(serial_scans::assess(&scans, total).iter().map(copy_warning));
        let the_lot = chain_lot.or(lot);
        let lot_warnings = match &the_lot {
            Some(l) => lot_warnings(api, &gtin, l).await?,
            None => vec![],
        };
        Ok(SerialPage {
            product: Product { name: name.unwrap_or_else(|| format!("GTIN {gtin}")), gtin: gtin.clone(), brand: None },
            gtin,
            serial,
            lot: the_lot,
            known,
            scan_count: total,
            first_scan_ms: first,
            scans: scans
                .iter()
                .map(|s| SerialScan {
                    time_ms: s.time_ms,
                    latitude: s.cell.map(|c| c.latitude()),
                    longitude: s.cell.map(|c| c.longitude()),
                })
                .collect(),
            copy_warnings,
            lot_warnings,
        })
    }
}

/// A location or party to name.
#[derive(InputObject)]
pub struct LocationInput {
    /// `urn:epc:id:sgln:…`, `urn:epc:id:pgln:…` or its GS1 Digital Link.
    pub id: String,
    pub name: String,
    pub address: Option<String>,
}

fn field_error(e: dprov::ProvenanceError) -> ApiError {
    match e {
        dprov::ProvenanceError::Field { field, reason } => ApiError::bad_input(field, reason),
        other => ApiError::bad_input("lot", other.to_string()),
    }
}

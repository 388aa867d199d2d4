//! Provenance (溯源): the public consumer page of a lot (`lotPage`, what `ui/src/api/client.ts` asks
//! for), a public trace by GS1 Digital Link, the anchored EPCIS events, and EPCIS 2.0 JSON-LD capture.
//!
//! Everything a consumer sees is read from chain state through the domain's read helpers
//! (`provenance::trace_lot`, `events_for_key`), and every step carries an [`EventProofBundle`] the
//! browser checks itself. Public queries are rate-limited per client address
//! ([`crate::ratelimit::RateLimiter`]).
//!
//! Product facts come from the events themselves: EPCIS ILMD (instance/lot master data, e.g.
//! `cbvmda:bestBeforeDate`, `cbvmda:countryOfOrigin`) and `certificationInfo`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, SimpleObject};
use scf_client::Chain;
use scf_domain::date::Date;
use scf_domain::provenance::{self as dprov, gs1, ProvenanceCall, Relation, StoredEvent};
use scf_ledger::crypto::Hash32;
use scf_ledger::state::StateRead;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::Value;

use super::access::require_operator;
use super::devices::read_series;
use super::input::*;

use super::proof::{EventProofBundle, ProofBuilder};
use super::types::TxResult;
use super::{api, require_user};
use crate::db::entities::device;
use crate::error::{ApiError, ApiResult};
use crate::readings::Readings;

/// The source of sensor readings given to the schema (none: series are empty).
#[derive(Clone, Default)]
pub struct ReadingsSource(pub Option<Arc<dyn Readings>>);

/// Recently built lot pages. A page changes only with a new block (events, proofs) or new readings, so
/// one built at the current tip is served again for [`PAGE_TTL`]: a popular product's QR code scanned by
/// many phones at once costs one build per block, not one per scan. Rate limiting still applies per
/// request (it runs before the cache).
#[derive(Default)]
pub struct LotPageCache(std::sync::Mutex<HashMap<(String, String), CachedPage>>);

struct CachedPage {
    height: u64,
    built: std::time::Instant,
    page: Option<LotPage>,
}

/// How long a built lot page is served at the same tip (bounds how stale cold-chain readings may be).
const PAGE_TTL: std::time::Duration = std::time::Duration::from_secs(1);
/// Most lot pages kept.
const PAGE_CACHE_MAX: usize = 1024;

impl LotPageCache {
    fn get(&self, key: &(String, String), height: u64) -> Option<Option<LotPage>> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key).filter(|c| c.height == height && c.built.elapsed() < PAGE_TTL).map(|c| c.page.clone())
    }

    fn put(&self, key: (String, String), height: u64, page: Option<LotPage>) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= PAGE_CACHE_MAX {
            map.retain(|_, c| c.built.elapsed() < PAGE_TTL);
            if map.len() >= PAGE_CACHE_MAX {
                map.clear();
            }
        }
        map.insert(key, CachedPage { height, built: std::time::Instant::now(), page });
    }
}

/// Longest GS1 lot number (AI 10).
const MAX_LOT: usize = 20;
/// Most serialised units of a lot whose journeys a lot page follows.
const MAX_UNITS: usize = 50;
/// Longest span of readings a lot page shows.
const MAX_SERIES_SPAN_MS: u64 = 31 * 24 * 3_600_000;

fn check_lot(field: &str, lot: &str) -> ApiResult<()> {
    let n = lot.chars().count();
    if n == 0 || n > MAX_LOT {
        return Err(ApiError::bad_input(field, format!("a lot number has 1..={MAX_LOT} characters")));
    }
    if lot.chars().any(|c| c.is_control() || c == '/') {
        return Err(ApiError::bad_input(field, "must not contain control characters or '/'"));
    }
    Ok(())
}

fn gtin14(field: &str, gtin: &str) -> ApiResult<String> {
    gs1::gtin14(gtin).map_err(|e| ApiError::bad_input(field, e.to_string()))
}

// ---------------------------------------------------------------------------------------------
// Output types (field names match ui/src/api/types.ts)
// ---------------------------------------------------------------------------------------------

#[derive(SimpleObject, Clone)]
pub struct Product {
    /// GTIN-14.
    pub gtin: String,
    pub name: String,
    pub brand: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct Lot {
    pub number: String,
    /// YYYY-MM-DD (business time zone).
    pub produced_on: Option<String>,
    pub expires_on: Option<String>,
}

#[derive(SimpleObject, Clone)]
pub struct Origin {
    pub name: String,
    pub region: Option<String>,
}

/// The organisation that anchored an event.
#[derive(SimpleObject, Clone)]
pub struct Recorder {
    pub org_id: String,
    pub org_name: String,
}

/// One anchored EPCIS event of a trace, with the proof that its hash is on chain.
#[derive(SimpleObject, Clone)]
pub struct TraceStep {
    /// The event's chain sequence number.
    pub id: String,
    /// CBV business step (`commissioning`, `shipping`, ...), or the event type when it has none.
    pub biz_step: String,
    /// ISO 8601 event time (UTC).
    pub event_time: String,
    /// Business location, else read point (EPC URI).
    pub location: Option<String>,
    /// The location's name from the GLN master data on chain (`describeLocations`), when described.
    pub location_name: Option<String>,
    pub location_address: Option<String>,
    pub recorded_by: Recorder,
    /// The anchored CBV 2.0 event hash.
    pub event_hash: String,
    pub proof: Option<EventProofBundle>,
    /// `ObjectEvent`, `AggregationEvent`, ...
    pub event_type: String,
    /// How the traced key relates to the event: `subject`, `container`, `content`, `ingredient`, `product`.
    pub relation: String,
    pub disposition: Option<String>,
    /// Block height of the anchoring transaction.
    pub height: i64,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "SeriesPoint")]
pub struct SeriesPoint {
    pub time_ms: i64,
    pub value: f64,
}

/// Readings of one quantity from one device bound to the lot, with the band they should stay in.
#[derive(SimpleObject, Clone)]
pub struct SensorSeries {
    pub device_id: String,
    /// `temperature` or `humidity`.
    pub quantity: String,
    pub unit: String,
    /// Lower bound of the allowed band (the device's threshold rule; else the lowest reading).
    pub min: f64,
    /// Upper bound of the allowed band (the device's threshold rule; else the highest reading).
    pub max: f64,
    pub readings: Vec<SeriesPoint>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "ProductCertificate")]
pub struct ProductCertificate {
    /// The certificate's URI as the event cites it (EPCIS `certificationInfo`).
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub valid_until: Option<String>,
}

/// Everything the public consumer page shows for one lot.
#[derive(SimpleObject, Clone)]
pub struct LotPage {
    /// What the consumer must know first: a recall, IoT alerts on the lot (most serious first). Empty
    /// when nothing was recorded against the lot.
    pub warnings: Vec<super::consumer::LotWarning>,
    pub product: Product,
    pub lot: Lot,
    pub origin: Option<Origin>,
    pub steps: Vec<TraceStep>,
    pub sensors: Vec<SensorSeries>,
    pub certificates: Vec<ProductCertificate>,
}

/// A trace of a GS1 key upstream (origin, containers, ingredients) and downstream (products).
#[derive(SimpleObject, Clone)]
#[graphql(name = "ProvenanceTrace")]
pub struct ProvenanceTrace {
    /// The traced key as a canonical Digital Link.
    pub key: String,
    pub upstream: Vec<TraceStep>,
    pub downstream: Vec<TraceStep>,
    pub ingredients: Vec<String>,
    pub products: Vec<String>,
}

/// An anchored EPCIS event.
#[derive(SimpleObject, Clone)]
pub struct EpcisEvent {
    pub seq: i64,
    pub hash: String,
    pub event_type: String,
    pub event_time: String,
    pub biz_step: Option<String>,
    /// The organisation that anchored it.
    pub org: String,
    pub tx_id: String,
    pub height: i64,
    /// The event's self-contained JSON as anchored.
    pub json: String,
}

impl From<&StoredEvent> for EpcisEvent {
    fn from(e: &StoredEvent) -> Self {
        let biz_step = dprov::epcis::parse_event(&e.event_json).ok().and_then(|p| p.biz_step).map(|b| cbv_short(&b));
        EpcisEvent {
            seq: e.seq as i64,
            hash: e.hash.clone(),
            event_type: e.event_type.as_str().to_string(),
            event_time: dprov::canon::Timestamp { utc_ms: e.event_time_ms }.to_hash_text(),
            biz_step,
            org: e.org.clone(),
            tx_id: e.tx_id.to_hex(),
            height: e.height as i64,
            json: e.event_json.clone(),
        }
    }
}

/// Result of capturing an EPCIS document: one transaction per batch of at most 64 events.
#[derive(SimpleObject)]
pub struct EpcisCapture {
    /// CBV 2.0 hashes of the anchored events, in document order.
    pub hashes: Vec<String>,
    pub transactions: Vec<TxResult>,
}

// ---------------------------------------------------------------------------------------------
// Building steps and pages
// ---------------------------------------------------------------------------------------------

fn relation_name(r: Relation) -> &'static str {
    match r {
        Relation::Subject => "subject",
        Relation::Container => "container",
        Relation::Content => "content",
        Relation::Ingredient => "ingredient",
        Relation::Product => "product",
    }
}

/// Turns the domain's trace steps into API steps with recorder names (each organisation read once);
/// proofs are attached afterwards by [`attach_proofs`], once the state view is dropped.
struct StepBuilder<'a> {
    state: &'a dyn StateRead,
    orgs: HashMap<String, String>,
    /// The anchoring transaction and event hash of each step built, for its proof.
    anchors: Vec<(Hash32, String)>,
}

impl<'a> StepBuilder<'a> {
    fn new(state: &'a dyn StateRead) -> Self {
        StepBuilder { state, orgs: HashMap::new(), anchors: Vec::new() }
    }

    fn step(&mut self, s: &dprov::TraceStep) -> ApiResult<TraceStep> {
        let org_name = match self.orgs.get(&s.recorded_by) {
            Some(n) => n.clone(),
            None => {
                let name = scf_domain::org::load_org(self.state, &s.recorded_by)?
                    .map(|o| o.name)
                    .unwrap_or_else(|| s.recorded_by.clone());
                self.orgs.insert(s.recorded_by.clone(), name.clone());
                name
            }
        };
        self.anchors.push((s.tx_id, s.hash.clone()));
        let location = s.biz_location.clone().or_else(|| s.read_point.clone());
        let place = match &location {
            Some(l) => dprov::load_location(self.state, l)?,
            None => None,
        };
        Ok(TraceStep {
            id: s.seq.to_string(),
            biz_step: s.biz_step.as_deref().map(cbv_short).unwrap_or_else(|| s.event_type.as_str().to_string()),
            event_time: s.event_time.clone(),
            location_name: place.as_ref().map(|p| p.name.clone()),
            location_address: place.and_then(|p| p.address),
            location,
            recorded_by: Recorder { org_id: s.recorded_by.clone(), org_name },
            event_hash: s.hash.clone(),
            proof: None,
            event_type: s.event_type.as_str().to_string(),
            relation: relation_name(s.relation).into(),
            disposition: s.disposition.as_deref().map(cbv_short),
            height: s.height as i64,
        })
    }
}

/// Give each step its on-chain proof (each block read once), in the order the steps were built.
async fn attach_proofs(chain: &dyn Chain, steps: &mut [TraceStep], anchors: &[(Hash32, String)]) -> ApiResult<()> {
    let mut proofs = ProofBuilder::new(chain);
    for (step, (tx_id, hash)) in steps.iter_mut().zip(anchors) {
        step.proof = proofs.event_proof(tx_id, hash).await?;
    }
    Ok(())
}

/// A CBV vocabulary value in its short form (`commissioning`), whether written as the GS1 Web URI
/// (`https://ref.gs1.org/cbv/BizStep-commissioning`), the URN or already short.
fn cbv_short(v: &str) -> String {
    for prefix in [
        "https://ref.gs1.org/cbv/BizStep-",
        "https://ref.gs1.org/cbv/Disp-",
        "urn:epcglobal:cbv:bizstep:",
        "urn:epcglobal:cbv:disp:",
    ] {
        if let Some(rest) = v.strip_prefix(prefix) {
            return rest.to_string();
        }
    }
    v.to_string()
}

/// The last segment of a JSON-LD member name (`{urn:…:mda:}bestBeforeDate`, `cbvmda:bestBeforeDate`).
fn local_name(k: &str) -> &str {
    k.rsplit(['}', ':', '#', '/']).next().unwrap_or(k)
}

pub(crate) fn ilmd_value<'v>(event: &'v Value, names: &[&str]) -> Option<&'v str> {
    let ilmd = event.as_object()?.iter().find(|(k, _)| local_name(k) == "ilmd").map(|(_, v)| v)?;
    ilmd.as_object()?.iter().find(|(k, _)| names.contains(&local_name(k))).and_then(|(_, v)| v.as_str())
}

fn certification_uris(event: &Value) -> Vec<String> {
    let Some((_, v)) = event.as_object().and_then(|o| o.iter().find(|(k, _)| local_name(k) == "certificationInfo"))
    else {
        return vec![];
    };
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect(),
        _ => vec![],
    }
}

fn certificate(uri: &str) -> ProductCertificate {
    let without_scheme = uri.split_once("://").map(|(_, r)| r).unwrap_or(uri);
    let issuer = without_scheme.split('/').next().unwrap_or(without_scheme).to_string();
    let name = without_scheme.rsplit('/').find(|s| !s.is_empty()).unwrap_or(uri).to_string();
    ProductCertificate { id: uri.to_string(), name, issuer, valid_until: None }
}

fn day_of(utc_ms: i64) -> String {
    Date::from_time_ms(u64::try_from(utc_ms).unwrap_or(0)).to_string()
}

/// Band of a device's threshold rule for a reading type, in display units.
fn band(rules: &[scf_domain::device::AlertRule], reading_type: &str) -> (Option<f64>, Option<f64>) {
    for r in rules {
        if let scf_domain::device::AlertRule::Threshold { reading_type: t, min, max, .. } = r {
            if t.eq_ignore_ascii_case(reading_type) {
                return (min.map(|v| v as f64 / 1000.0), max.map(|v| v as f64 / 1000.0));
            }
        }
    }
    (None, None)
}

fn quantity_of(reading_type: &str) -> Option<&'static str> {
    match reading_type.to_ascii_lowercase().as_str() {
        "temperature" | "temp" => Some("temperature"),
        "humidity" | "relative_humidity" | "relativehumidity" => Some("humidity"),
        _ => None,
    }
}

async fn sensor_series(
    ctx: &Context<'_>,
    gtin: &str,
    lot: &str,
    from_ms: u64,
    to_ms: u64,
) -> ApiResult<Vec<SensorSeries>> {
    let api = api(ctx)?;
    let keys = [scf_domain::device::lot_key(Some(gtin), lot), scf_domain::device::lot_key(None, lot)];
    let devices = device::Entity::find()
        .filter(device::Column::BindingKind.eq("lot"))
        .filter(device::Column::BindingRef.is_in(keys))
        .all(&api.db)
        .await?;
    let mut out = Vec::new();
    for d in devices {
        let rules: Vec<scf_domain::device::AlertRule> = serde_json::from_str(&d.rules).unwrap_or_default();
        let mut by_quantity: BTreeMap<&'static str, (String, Vec<SeriesPoint>, String)> = BTreeMap::new();
        for p in read_series(ctx, &d.id, from_ms, to_ms).await? {
            let Some(q) = quantity_of(&p.reading_type) else { continue };
            let entry = by_quantity.entry(q).or_insert_with(|| (p.unit.clone(), Vec::new(), p.reading_type.clone()));
            entry.1.push(SeriesPoint { time_ms: i64::try_from(p.time_ms).unwrap_or(i64::MAX), value: p.value });
        }
        for (quantity, (unit, readings, reading_type)) in by_quantity {
            let lo = readings.iter().map(|r| r.value).fold(f64::INFINITY, f64::min);
            let hi = readings.iter().map(|r| r.value).fold(f64::NEG_INFINITY, f64::max);
            let (min, max) = band(&rules, &reading_type);
            out.push(SensorSeries {
                device_id: d.id.clone(),
                quantity: quantity.into(),
                unit,
                min: min.unwrap_or(lo),
                max: max.unwrap_or(hi),
                readings,
            });
        }
    }
    Ok(out)
}

/// Everything of a lot page but its sensor series (which need an await), and the time range the
/// series should cover.
/// A lot page without proofs and sensor series, the series' time range, and its steps' anchors.
type LotPageParts = (LotPage, u64, u64, Vec<(Hash32, String)>);

/// Everything of a lot page read from state (no proofs, no sensor series: they need awaits) and the
/// time range the series should cover, with the anchors of its steps.
fn lot_page_from_state(
    api: &crate::service::Api,
    gtin: String,
    lot: String,
    tip_ms: u64,
) -> ApiResult<Option<LotPageParts>> {
    let state = api.chain.state(None).map_err(ApiError::from)?;
    let state: &dyn StateRead = state.as_ref();
    let trace = dprov::trace_lot(state, &gtin, &lot).map_err(|e| match e {
        dprov::ProvenanceError::Field { field, reason } => ApiError::bad_input(field, reason),
        other => ApiError::internal("trace", other),
    })?;
    // Items serialised out of the same transformation as the lot are units of the lot: their journey
    // (packing, shipping, receiving) is the lot's too.
    let mut units: Vec<String> = Vec::new();
    for s in trace.upstream.iter().filter(|s| s.links.outputs.contains(&trace.key)) {
        for o in &s.links.outputs {
            if let Ok(gs1::Gs1Key::Sgtin { gtin: g, .. }) = gs1::parse_gs1_key(o) {
                if g == gtin && !units.contains(o) && units.len() < MAX_UNITS {
                    units.push(o.clone());
                }
            }
        }
    }
    let mut unit_traces = Vec::with_capacity(units.len());
    for u in &units {
        unit_traces.push(dprov::trace(state, u)?);
    }
    let mut by_seq: BTreeMap<u64, &dprov::TraceStep> = BTreeMap::new();
    for t in std::iter::once(&trace).chain(&unit_traces) {
        for s in t.upstream.iter().chain(&t.downstream) {
            if s.relation != Relation::Product {
                by_seq.entry(s.seq).or_insert(s);
            }
        }
    }
    if by_seq.is_empty() {
        return Ok(None);
    }
    let mut ordered: Vec<&dprov::TraceStep> = by_seq.into_values().collect();
    ordered.sort_by_key(|s| (s.event_time_ms, s.seq));

    let mut builder = StepBuilder::new(state);
    let mut steps = Vec::with_capacity(ordered.len());
    let (mut name, mut brand, mut expires, mut produced, mut region) = (None, None, None, None, None);
    let mut certificates: Vec<ProductCertificate> = Vec::new();
    for s in &ordered {
        steps.push(builder.step(s)?);
        let Some(stored) = dprov::load_event(state, s.seq)? else { continue };
        let json: Value = serde_json::from_str(&stored.event_json).unwrap_or(Value::Null);
        for uri in certification_uris(&json) {
            if !certificates.iter().any(|c| c.id == uri) {
                certificates.push(certificate(&uri));
            }
        }
        region = region.or_else(|| ilmd_value(&json, &["countryOfOrigin"]).map(str::to_string));
        if s.relation == Relation::Subject {
            name = name.or_else(|| {
                ilmd_value(&json, &["productName", "descriptionShort", "tradeItemDescription", "regulatedProductName"])
                    .map(str::to_string)
            });
            brand = brand.or_else(|| ilmd_value(&json, &["brandName"]).map(str::to_string));
            expires = expires.or_else(|| {
                ilmd_value(&json, &["bestBeforeDate", "itemExpirationDate", "expirationDate"]).map(str::to_string)
            });
            produced = produced.or_else(|| ilmd_value(&json, &["productionDate"]).map(str::to_string));
            if produced.is_none() && s.biz_step.as_deref().map(cbv_short).as_deref() == Some("commissioning") {
                produced = Some(day_of(s.event_time_ms));
            }
        }
    }
    let origin = steps.first().map(|s| Origin { name: s.recorded_by.org_name.clone(), region: region.clone() });
    // Readings from the lot's first event up to now (devices stay bound while the goods travel and sit
    // on shelves), the most recent `MAX_SERIES_SPAN_MS` of them.
    let first_ms = ordered.first().map(|s| s.event_time_ms).unwrap_or(0);
    let first_ms = u64::try_from(first_ms).unwrap_or(0);
    let to_ms = tip_ms.max(first_ms);
    let from_ms = first_ms.max(to_ms.saturating_sub(MAX_SERIES_SPAN_MS));
    let page = LotPage {
        warnings: vec![],
        product: Product { name: name.unwrap_or_else(|| format!("GTIN {gtin}")), gtin, brand },
        lot: Lot { number: lot, produced_on: produced, expires_on: expires },
        origin,
        steps,
        sensors: vec![],
        certificates,
    };
    Ok(Some((page, from_ms, to_ms, builder.anchors)))
}

// ---------------------------------------------------------------------------------------------
// Queries and mutations
// ---------------------------------------------------------------------------------------------

/// Which anchored events to list.
#[derive(async_graphql::InputObject, Default)]
pub struct EpcisEventFilter {
    /// With `lot`: events concerning that GTIN + lot.
    pub gtin: Option<String>,
    pub lot: Option<String>,
}

#[derive(Default)]
pub struct ProvenanceQuery;

#[Object]
impl ProvenanceQuery {
    /// The public page of a lot (no sign-in; rate-limited per client address): product, origin, every
    /// anchored step with its on-chain proof, cold-chain readings of devices bound to the lot, and
    /// certificates. Null when nothing is recorded for the lot.
    async fn lot_page(&self, ctx: &Context<'_>, gtin: String, lot: String) -> async_graphql::Result<Option<LotPage>> {
        super::public_request(ctx)?;
        let api = api(ctx)?;
        let gtin = gtin14("gtin", &gtin)?;
        check_lot("lot", &lot)?;
        let tip = api.chain.tip().await.map_err(ApiError::from)?;
        let (height, tip_ms) = tip.map(|t| (t.height, t.time_ms)).unwrap_or((0, 0));
        let key = (gtin.clone(), lot.clone());
        let cache = ctx.data_opt::<Arc<LotPageCache>>();
        if let Some(hit) = cache.and_then(|c| c.get(&key, height)) {
            return Ok(hit);
        }
        // Chain state is not `Sync`: read everything from it before the first await.
        let page = match lot_page_from_state(api, gtin.clone(), lot.clone(), tip_ms)? {
            None => None,
            Some((mut page, from_ms, to_ms, anchors)) => {
                attach_proofs(api.chain.as_ref(), &mut page.steps, &anchors).await?;
                page.sensors = sensor_series(ctx, &gtin, &lot, from_ms, to_ms).await?;
                page.warnings = super::consumer::lot_warnings(api, &gtin, &lot).await?;
                Some(page)
            }
        };
        if let Some(c) = cache {
            c.put(key, height, page.clone());
        }
        Ok(page)
    }

    /// Trace what a GS1 Digital Link names (`https://host/01/{gtin}/10/{lot}`, or just the path
    /// `/01/{gtin}/21/{serial}`, `/00/{sscc}`, ...) upstream and downstream. Public, rate-limited.
    async fn trace(&self, ctx: &Context<'_>, digital_link: String) -> async_graphql::Result<ProvenanceTrace> {
        super::public_request(ctx)?;
        let api = api(ctx)?;
        if digital_link.len() > 2048 {
            return Err(ApiError::bad_input("digitalLink", "at most 2048 characters").into());
        }
        let uri = if digital_link.starts_with('/') {
            format!("https://id.gs1.org{digital_link}")
        } else {
            digital_link.clone()
        };
        let key = gs1::parse_digital_link(&uri).map_err(|e| ApiError::bad_input("digitalLink", e.to_string()))?;
        let (t, mut upstream, mut downstream, anchors) = {
            let state = api.chain.state(None).map_err(ApiError::from)?;
            let state: &dyn StateRead = state.as_ref();
            let t = dprov::trace(state, &key.digital_link())?;
            let mut builder = StepBuilder::new(state);
            let upstream = t.upstream.iter().map(|s| builder.step(s)).collect::<ApiResult<Vec<_>>>()?;
            let downstream = t.downstream.iter().map(|s| builder.step(s)).collect::<ApiResult<Vec<_>>>()?;
            (t, upstream, downstream, builder.anchors)
        };
        let (up_anchors, down_anchors) = anchors.split_at(upstream.len());
        attach_proofs(api.chain.as_ref(), &mut upstream, up_anchors).await?;
        attach_proofs(api.chain.as_ref(), &mut downstream, down_anchors).await?;
        Ok(ProvenanceTrace { key: t.key, upstream, downstream, ingredients: t.ingredients, products: t.products })
    }

    /// Anchored EPCIS events in chain order, optionally only those concerning a GTIN + lot (a lot's
    /// journey, which its consumer page shows anyone). Without a filter, the events the caller's
    /// organisation captured (every organisation's for the regulator).
    #[graphql(complexity = "crate::schema::input::list_cost(first, child_complexity)")]
    async fn epcis_events(
        &self,
        ctx: &Context<'_>,
        filter: Option<EpcisEventFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, EpcisEvent>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = page_size(first)? as usize;
        let after_seq = match &after {
            None => None,
            Some(a) => {
                Some(a.parse::<u64>().map_err(|_| ApiError::bad_input("after", "not a cursor of this connection"))?)
            }
        };
        let f = filter.unwrap_or_default();
        let all = super::access::has_org_role(api, user, "regulator").await?;
        let state = api.chain.state(None).map_err(ApiError::from)?;
        let state: &dyn StateRead = state.as_ref();
        let mut events: Vec<StoredEvent> = Vec::with_capacity(n + 1);
        match (f.gtin, f.lot) {
            (Some(g), Some(l)) => {
                let gtin = gtin14("filter.gtin", &g)?;
                check_lot("filter.lot", &l)?;
                let key = gs1::Gs1Key::Lgtin { gtin, lot: gs1::dl_escape(&l) }.digital_link();
                let mut all: Vec<StoredEvent> =
                    dprov::events_for_key(state, &key)?.into_iter().map(|(_, e)| e).collect();
                all.sort_by_key(|e| e.seq);
                all.dedup_by_key(|e| e.seq);
                events.extend(all.into_iter().filter(|e| after_seq.is_none_or(|a| e.seq > a)).take(n + 1));
            }
            (None, None) => {
                let count = dprov::event_count(state)?;
                let mut seq = after_seq.map(|a| a + 1).unwrap_or(0);
                while seq < count && events.len() <= n {
                    if let Some(e) = dprov::load_event(state, seq)? {
                        if all || e.org == user.org_id {
                            events.push(e);
                        }
                    }
                    seq += 1;
                }
            }
            (Some(_), None) => return Err(ApiError::bad_input("filter.lot", "required with filter.gtin").into()),
            (None, Some(_)) => return Err(ApiError::bad_input("filter.gtin", "required with filter.lot").into()),
        }
        let has_next = events.len() > n;
        events.truncate(n);
        let mut conn = Connection::new(after.is_some(), has_next);
        conn.edges.extend(events.iter().map(|e| Edge::new(e.seq.to_string(), EpcisEvent::from(e))));
        Ok(conn)
    }
}

#[derive(Default)]
pub struct ProvenanceMutation;

#[Object]
impl ProvenanceMutation {
    /// Import an EPCIS 2.0 JSON-LD document (EPCISDocument or a single event), validate every event and
    /// anchor their CBV 2.0 hashes on chain as the caller's organisation (all of a batch or none).
    async fn capture_epcis(&self, ctx: &Context<'_>, document: String) -> async_graphql::Result<EpcisCapture> {
        let api = api(ctx)?;
        let user = require_operator(ctx)?;
        let events = dprov::epcis::import(&document)
            .map_err(|e| ApiError::bad_input(format!("document.{}", e.path), e.reason))?;
        if events.is_empty() {
            return Err(ApiError::bad_input("document", "contains no events").into());
        }
        let hashes = events.iter().map(|e| e.hash.clone()).collect();
        let mut transactions = Vec::new();
        for call in ProvenanceCall::from_events(&events) {
            let receipt = api.submit(user, &call).await?;
            transactions.push(TxResult { receipt });
        }
        Ok(EpcisCapture { hashes, transactions })
    }
}

//! Provenance (溯源): GS1 EPCIS 2.0 events anchored on chain with their CBV 2.0 event hash, indexed by
//! every GS1 key they concern, and traced through aggregation and transformation.
//!
//! Flow: a client imports an EPCIS 2.0 JSON-LD document with [`epcis::import`] (validation names the
//! offending field), and submits each event as a [`ProvenanceCall::Capture`] carrying the event's
//! self-contained JSON and its hash. The module re-validates the event, recomputes the hash (they must
//! agree), refuses an event already anchored, stores the event with the submitting organisation, tx id
//! and height, and indexes it under each GS1 key (EPC, class-level GTIN + lot, SSCC, parent / child,
//! input / output). [`trace`] walks that index.

mod binary64;
pub mod canon;
pub mod digital_link;
pub mod epc;
pub mod epcis;
pub mod gs1;
pub mod hash;
pub mod json;
pub mod locations;
pub mod qr;
pub mod recall;
pub mod vocab;
pub mod xml;

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::{sm3, Hash32};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use crate::kv::{self, Rule, StoreError};
use crate::org::{self, OrgError, Role};

pub use epcis::{EpcisError, EpcisEvent, EventType, SensorReading};
pub use locations::{load_location, LocationMaster, LocationRecord};
pub use recall::{brand_owner, load_recall, Recall, RecallLot};

pub const MODULE: &str = "provenance";

/// Most events one `CaptureBatch` may carry.
pub const MAX_BATCH: usize = 64;
/// Most events a trace visits (a bound on work per query).
pub const MAX_TRACE_EVENTS: usize = 5_000;

/// Roles that may record supply-chain events.
pub const RECORDER_ROLES: &[Role] =
    &[Role::Producer, Role::Supplier, Role::CoreEnterprise, Role::Logistics, Role::WarehouseOperator, Role::Retailer];

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CapturedEvent {
    /// The event's self-contained JSON ([`EpcisEvent::to_json_text`]).
    pub event: String,
    /// Its CBV 2.0 hash as the submitter computed it (`ni:///sha-256;…?ver=CBV2.0`).
    pub hash: String,
}

/// Calls of the `provenance` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum ProvenanceCall {
    Capture(CapturedEvent),
    /// Several events of one document, anchored in order (all or none).
    CaptureBatch(Vec<CapturedEvent>),
    /// The lot's brand owner (or the regulator) recalls a GTIN + lot ([`recall`]).
    Recall(RecallLot),
    /// Names and addresses of locations and parties (GLN master data, [`locations`]).
    DescribeLocations(Vec<LocationMaster>),
}

impl ProvenanceCall {
    /// Capture calls for every event of an imported document, in batches of [`MAX_BATCH`].
    pub fn from_events(events: &[EpcisEvent]) -> Vec<ProvenanceCall> {
        events
            .chunks(MAX_BATCH)
            .map(|c| {
                ProvenanceCall::CaptureBatch(
                    c.iter().map(|e| CapturedEvent { event: e.to_json_text(), hash: e.hash.clone() }).collect(),
                )
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvenanceError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error("event: {0}")]
    Invalid(EpcisError),
    #[error("hash: submitted {submitted}, the event hashes to {computed}")]
    HashMismatch { submitted: String, computed: String },
    #[error("event: already anchored as #{seq} ({hash})")]
    Duplicate { hash: String, seq: u64 },
    #[error("signer: {org} has none of the roles that record provenance events")]
    NotARecorder { org: String },
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    #[error("signer: {org} is not the brand owner of this lot ({owner} commissioned it) nor the regulator")]
    NotBrandOwner { org: String, owner: String },
    #[error("lot: no event on chain commissions {gtin} lot {lot}, so it has no brand owner to recall it")]
    LotUnknown { gtin: String, lot: String },
    #[error("lot: already recalled by {org} at height {height}")]
    AlreadyRecalled { org: String, height: u64 },
    #[error("locations: {id} is described by {org}; only it may change the description")]
    LocationOwned { id: String, org: String },
}

impl Rule for ProvenanceError {
    fn code(&self) -> &'static str {
        match self {
            ProvenanceError::Store(e) => e.code(),
            ProvenanceError::Org(e) => e.code(),
            ProvenanceError::Invalid(_) => "EPCIS_INVALID",
            ProvenanceError::HashMismatch { .. } => "EVENT_HASH_MISMATCH",
            ProvenanceError::Duplicate { .. } => "EVENT_ALREADY_ANCHORED",
            ProvenanceError::NotARecorder { .. } => "NOT_A_RECORDER",
            ProvenanceError::Field { .. } => "INVALID_FIELD",
            ProvenanceError::NotBrandOwner { .. } => "NOT_BRAND_OWNER",
            ProvenanceError::LotUnknown { .. } => "LOT_UNKNOWN",
            ProvenanceError::AlreadyRecalled { .. } => "LOT_ALREADY_RECALLED",
            ProvenanceError::LocationOwned { .. } => "LOCATION_OWNED",
        }
    }
}

/// How an event concerns a key.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, BorshSerialize, BorshDeserialize, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// In `epcList` / `quantityList`.
    Subject,
    /// `parentID` of an aggregation / association / transaction.
    Parent,
    /// In `childEPCs` / `childQuantityList`.
    Child,
    /// Transformation input.
    Input,
    /// Transformation output.
    Output,
}

/// The identifiers an event links, as index keys ([`index_key`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct EventLinks {
    pub subjects: Vec<String>,
    pub parent: Option<String>,
    pub children: Vec<String>,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

impl EventLinks {
    fn of(e: &EpcisEvent) -> EventLinks {
        let keys = |v: &[String]| -> Vec<String> { dedup(v.iter().map(|s| index_key(s)).collect()) };
        let classes = |v: &[epcis::QuantityElement]| -> Vec<String> { v.iter().map(|q| q.epc_class.clone()).collect() };
        let cat =
            |a: &[String], b: &[epcis::QuantityElement]| -> Vec<String> { keys(&[a.to_vec(), classes(b)].concat()) };
        EventLinks {
            subjects: cat(&e.epcs, &e.quantities),
            parent: e.parent_id.as_deref().map(index_key),
            children: cat(&e.child_epcs, &e.child_quantities),
            inputs: cat(&e.input_epcs, &e.input_quantities),
            outputs: cat(&e.output_epcs, &e.output_quantities),
        }
    }
    fn roles(&self) -> Vec<(String, KeyRole)> {
        let mut out: Vec<(String, KeyRole)> = Vec::new();
        out.extend(self.subjects.iter().map(|k| (k.clone(), KeyRole::Subject)));
        out.extend(self.parent.iter().map(|k| (k.clone(), KeyRole::Parent)));
        out.extend(self.children.iter().map(|k| (k.clone(), KeyRole::Child)));
        out.extend(self.inputs.iter().map(|k| (k.clone(), KeyRole::Input)));
        out.extend(self.outputs.iter().map(|k| (k.clone(), KeyRole::Output)));
        out.sort();
        out.dedup();
        out
    }
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}

/// An anchored event as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct StoredEvent {
    /// Chain order of capture (0, 1, 2, ...).
    pub seq: u64,
    pub hash: String,
    pub event_type: EventType,
    /// Event time, UTC milliseconds.
    pub event_time_ms: i64,
    /// The event's self-contained JSON.
    pub event_json: String,
    pub links: EventLinks,
    /// The organisation that anchored it.
    pub org: String,
    pub tx_id: Hash32,
    pub height: u64,
    /// Block time of the anchoring block.
    pub block_time_ms: u64,
}

// ---------------------------------------------------------------------------------------------
// State layout and read helpers
// ---------------------------------------------------------------------------------------------

const SEQ_KEY: &str = "provenance/seq";
fn event_key(seq: u64) -> String {
    format!("provenance/e/{seq:016x}")
}
fn hash_key(hash: &str) -> String {
    let short = hash.strip_prefix("ni:///sha-256;").and_then(|h| h.split('?').next()).unwrap_or(hash);
    format!("provenance/h/{short}")
}
fn gs1_key_state(key: &str) -> String {
    if key.len() > 400 {
        format!("provenance/k/sm3:{}", hex::encode(sm3(key.as_bytes())))
    } else {
        format!("provenance/k/{key}")
    }
}

/// The index key of an identifier: the canonical Digital Link (`https://id.gs1.org/...`) of an EPC URN
/// or Digital Link, so `urn:epc:id:sgtin:…` and `https://brand.example/01/…/21/…` meet; any other URI
/// as written.
pub fn index_key(id: &str) -> String {
    match gs1::parse_gs1_key(id) {
        Ok(k) => k.digital_link(),
        Err(_) => id.to_string(),
    }
}

pub fn event_count(state: &dyn StateRead) -> Result<u64, StoreError> {
    Ok(kv::get(state, SEQ_KEY)?.unwrap_or(0))
}

pub fn load_event(state: &dyn StateRead, seq: u64) -> Result<Option<StoredEvent>, StoreError> {
    kv::get(state, &event_key(seq))
}

/// The anchored event with this CBV 2.0 hash (the "verified on chain" check of a consumer page).
pub fn event_by_hash(state: &dyn StateRead, hash: &str) -> Result<Option<StoredEvent>, StoreError> {
    match kv::get::<u64>(state, &hash_key(hash))? {
        Some(seq) => load_event(state, seq),
        None => Ok(None),
    }
}

/// Every event concerning an identifier (EPC URN, Digital Link or other URI), in chain order, with the
/// role the identifier plays in it.
pub fn events_for_key(state: &dyn StateRead, id: &str) -> Result<Vec<(KeyRole, StoredEvent)>, StoreError> {
    let key = index_key(id);
    let refs: Vec<(u64, KeyRole)> = kv::get(state, &gs1_key_state(&key))?.unwrap_or_default();
    let mut out = Vec::with_capacity(refs.len());
    for (seq, role) in refs {
        if let Some(e) = load_event(state, seq)? {
            out.push((role, e));
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Trace
// ---------------------------------------------------------------------------------------------

/// Why a step is part of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// An event on the traced key itself.
    Subject,
    /// An event on a container (pallet, case, shipment) the key travelled in.
    Container,
    /// An event on something the traced container holds.
    Content,
    /// An event on an ingredient (transformation input), transitively.
    Ingredient,
    /// An event on a product made from the traced key, transitively.
    Product,
}

/// One event of a trace, with who recorded it and its on-chain proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TraceStep {
    pub seq: u64,
    pub event_type: EventType,
    pub event_time: String,
    pub event_time_ms: i64,
    pub action: Option<String>,
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    pub read_point: Option<String>,
    pub biz_location: Option<String>,
    /// The key through which the trace reached this event.
    pub via: String,
    pub relation: Relation,
    pub links: EventLinks,
    pub sensor_readings: Vec<SensorReading>,
    /// Organisation that anchored the event.
    pub recorded_by: String,
    /// On-chain proof: the CBV 2.0 event hash, the anchoring transaction and its block height.
    pub hash: String,
    pub tx_id: Hash32,
    pub height: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Trace {
    /// The traced key (index form).
    pub key: String,
    /// From origin to this key: its own events, its containers' and its ingredients' (transitively),
    /// ordered by event time then chain order.
    pub upstream: Vec<TraceStep>,
    /// From this key on: its own events, its containers' and those of products made from it.
    pub downstream: Vec<TraceStep>,
    /// Ingredient keys reached upstream (first reached first).
    pub ingredients: Vec<String>,
    /// Product keys reached downstream.
    pub products: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Up,
    Down,
}

fn step(e: &StoredEvent, via: &str, relation: Relation) -> TraceStep {
    let parsed = epcis::parse_event(&e.event_json).ok();
    TraceStep {
        seq: e.seq,
        event_type: e.event_type,
        event_time: canon::Timestamp { utc_ms: e.event_time_ms }.to_hash_text(),
        event_time_ms: e.event_time_ms,
        action: parsed.as_ref().and_then(|p| p.action.clone()),
        biz_step: parsed.as_ref().and_then(|p| p.biz_step.clone()),
        disposition: parsed.as_ref().and_then(|p| p.disposition.clone()),
        read_point: parsed.as_ref().and_then(|p| p.read_point.clone()),
        biz_location: parsed.as_ref().and_then(|p| p.biz_location.clone()),
        via: via.to_string(),
        relation,
        links: e.links.clone(),
        sensor_readings: parsed.map(|p| p.sensor_readings).unwrap_or_default(),
        recorded_by: e.org.clone(),
        hash: e.hash.clone(),
        tx_id: e.tx_id,
        height: e.height,
    }
}

fn walk(state: &dyn StateRead, start: &str, dir: Dir) -> Result<(Vec<TraceStep>, Vec<String>), StoreError> {
    // (key, relation, may descend into contents)
    let mut queue: VecDeque<(String, Relation, bool)> = VecDeque::new();
    let mut seen_keys: BTreeSet<String> = BTreeSet::new();
    let mut steps: BTreeMap<u64, TraceStep> = BTreeMap::new();
    let mut related: Vec<String> = Vec::new();
    queue.push_back((start.to_string(), Relation::Subject, true));
    seen_keys.insert(start.to_string());
    while let Some((key, rel, descend)) = queue.pop_front() {
        for (role, e) in events_for_key(state, &key)? {
            if steps.len() >= MAX_TRACE_EVENTS {
                break;
            }
            steps.entry(e.seq).or_insert_with(|| step(&e, &key, rel));
            let mut next: Vec<(String, Relation, bool)> = Vec::new();
            match role {
                KeyRole::Child => {
                    if let Some(p) = &e.links.parent {
                        next.push((p.clone(), Relation::Container, false));
                    }
                }
                KeyRole::Parent if descend => {
                    let r = if rel == Relation::Subject { Relation::Content } else { rel };
                    next.extend(e.links.children.iter().map(|c| (c.clone(), r, true)));
                }
                KeyRole::Output if dir == Dir::Up => {
                    next.extend(e.links.inputs.iter().map(|c| (c.clone(), Relation::Ingredient, true)));
                }
                KeyRole::Input if dir == Dir::Down => {
                    next.extend(e.links.outputs.iter().map(|c| (c.clone(), Relation::Product, true)));
                }
                _ => {}
            }
            for (k, r, d) in next {
                if seen_keys.insert(k.clone()) {
                    if matches!(r, Relation::Ingredient | Relation::Product) {
                        related.push(k.clone());
                    }
                    queue.push_back((k, r, d));
                }
            }
        }
    }
    let mut out: Vec<TraceStep> = steps.into_values().collect();
    out.sort_by_key(|s| (s.event_time_ms, s.seq));
    Ok((out, related))
}

/// Trace a GS1 key (EPC URN or Digital Link: SGTIN, GTIN + lot, SSCC, ...) upstream to its ingredients
/// and downstream to its products. Pure read.
pub fn trace(state: &dyn StateRead, key: &str) -> Result<Trace, StoreError> {
    let key = index_key(key);
    let (upstream, ingredients) = walk(state, &key, Dir::Up)?;
    let (downstream, products) = walk(state, &key, Dir::Down)?;
    Ok(Trace { key, upstream, downstream, ingredients, products })
}

/// Trace a lot by GTIN and lot number.
pub fn trace_lot(state: &dyn StateRead, gtin: &str, lot: &str) -> Result<Trace, ProvenanceError> {
    let gtin = gs1::gtin14(gtin).map_err(|e| ProvenanceError::Field { field: "gtin".into(), reason: e.to_string() })?;
    let key = gs1::Gs1Key::Lgtin { gtin, lot: gs1::dl_escape(lot) }.digital_link();
    Ok(trace(state, &key)?)
}

// ---------------------------------------------------------------------------------------------
// The module
// ---------------------------------------------------------------------------------------------

/// Validate, re-hash, store and index one event. Returns its events.
pub fn anchor(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    org: &str,
    captured: &CapturedEvent,
) -> Result<(StoredEvent, Event), ProvenanceError> {
    let ev = epcis::parse_event(&captured.event).map_err(ProvenanceError::Invalid)?;
    if ev.hash != captured.hash {
        return Err(ProvenanceError::HashMismatch { submitted: captured.hash.clone(), computed: ev.hash });
    }
    if let Some(seq) = kv::get::<u64>(state, &hash_key(&ev.hash))? {
        return Err(ProvenanceError::Duplicate { hash: ev.hash, seq });
    }
    let seq = event_count(state)?;
    let links = EventLinks::of(&ev);
    let stored = StoredEvent {
        seq,
        hash: ev.hash.clone(),
        event_type: ev.event_type,
        event_time_ms: ev.event_time.utc_ms,
        event_json: ev.to_json_text(),
        links: links.clone(),
        org: org.to_string(),
        tx_id: ctx.tx_id,
        height: ctx.height,
        block_time_ms: ctx.time_ms,
    };
    kv::put(state, &event_key(seq), &stored);
    kv::put(state, &hash_key(&ev.hash), &seq);
    kv::put(state, SEQ_KEY, &(seq + 1));
    let roles = links.roles();
    for (key, role) in &roles {
        let sk = gs1_key_state(key);
        let mut refs: Vec<(u64, KeyRole)> = kv::get(state, &sk)?.unwrap_or_default();
        refs.push((seq, *role));
        kv::put(state, &sk, &refs);
    }
    let mut attrs: Vec<(&str, &str)> =
        vec![("org", org), ("hash", &stored.hash), ("event_type", ev.event_type.as_str())];
    for (k, _) in roles.iter().take(32) {
        attrs.push(("gs1_key", k));
    }
    let event = kv::event(
        MODULE,
        "EventAnchored",
        &attrs,
        &serde_json::json!({
            "seq": seq,
            "hash": stored.hash,
            "event_type": ev.event_type.as_str(),
            "event_time": ev.event_time.to_hash_text(),
            "org": org,
            "links": links,
        }),
    );
    Ok((stored, event))
}

pub struct ProvenanceModule;

impl ModuleCall for ProvenanceCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for ProvenanceModule {
    type Call = ProvenanceCall;
    type Error = ProvenanceError;

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: ProvenanceCall) -> Result<Vec<Event>, ProvenanceError> {
        let me = org::signer_org(state, ctx)?;
        let recorder = RECORDER_ROLES.iter().any(|r| me.has_role(*r));
        if let ProvenanceCall::Recall(r) = call {
            if !recorder && !me.has_role(Role::Regulator) {
                return Err(ProvenanceError::NotARecorder { org: me.id });
            }
            return recall::apply(state, ctx, &me, r);
        }
        if !recorder {
            return Err(ProvenanceError::NotARecorder { org: me.id });
        }
        let batch = match call {
            ProvenanceCall::Recall(_) => return Err(ProvenanceError::NotARecorder { org: me.id }),
            ProvenanceCall::DescribeLocations(l) => return locations::apply(state, ctx, &me.id, l),
            ProvenanceCall::Capture(c) => vec![c],
            ProvenanceCall::CaptureBatch(b) => {
                if b.is_empty() || b.len() > MAX_BATCH {
                    return Err(ProvenanceError::Field {
                        field: "events".into(),
                        reason: format!("1..={MAX_BATCH} events per batch"),
                    });
                }
                b
            }
        };
        let mut events = Vec::with_capacity(batch.len());
        for (i, c) in batch.iter().enumerate() {
            let (_, e) = anchor(state, ctx, &me.id, c).map_err(|e| match e {
                ProvenanceError::Invalid(mut inner) if batch.len() > 1 => {
                    inner.path = format!("events[{i}].{}", inner.path);
                    ProvenanceError::Invalid(inner)
                }
                other => other,
            })?;
            events.push(e);
        }
        Ok(events)
    }
}

#[cfg(test)]
mod tests;

//! Recall (召回) of a lot: the lot's brand owner — or the regulator — records on chain that a GTIN + lot
//! must not be consumed, with the reason. The consumer page of the lot shows it above everything else.
//!
//! Who the brand owner is, on chain: the organisation that anchored the event that *brought the lot into
//! being* — the first anchored event (chain order) in which the lot is a transformation output, or the
//! subject of an `ADD` (commissioning) event. Organisations carry no GS1 company prefix on chain, so the
//! prefix cannot say who owns a GTIN; the commissioning record can, and it is signed by the producer.
//! A lot nobody commissioned on chain cannot be recalled by a brand owner (only by the regulator, which
//! supervises every product).
//!
//! A lot is recalled once; the record keeps what (reason), when (block time and height) and who
//! (organisation, and whether it acted as regulator).

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::Hash32;
use scf_ledger::module::{Event, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use super::{epcis, events_for_key, gs1, KeyRole, ProvenanceError, MODULE};
use crate::kv::{self, StoreError};
use crate::org::{Org, Role};

/// Longest recall reason (characters).
pub const MAX_REASON: usize = 500;

/// The call: recall a GTIN + lot.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RecallLot {
    /// GTIN-8/12/13/14 (normalised to 14 digits; the check digit must be right).
    pub gtin: String,
    /// GS1 AI (10) batch/lot number, 1..=20 characters.
    pub lot: String,
    /// What happened and what consumers should do.
    pub reason: String,
}

/// A recall as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Recall {
    /// GTIN-14.
    pub gtin: String,
    pub lot: String,
    pub reason: String,
    /// The organisation that recalled the lot.
    pub org: String,
    /// True when it acted as the regulator rather than as the lot's brand owner.
    pub by_regulator: bool,
    pub height: u64,
    /// Block time of the recall, ms since the Unix epoch.
    pub time_ms: u64,
    pub tx_id: Hash32,
}

fn lot_index_key(gtin14: &str, lot: &str) -> String {
    gs1::Gs1Key::Lgtin { gtin: gtin14.to_string(), lot: gs1::dl_escape(lot) }.digital_link()
}

fn recall_key(gtin14: &str, lot: &str) -> String {
    let key = lot_index_key(gtin14, lot);
    let short = key.strip_prefix("https://id.gs1.org").unwrap_or(&key);
    format!("provenance/recall{short}")
}

fn field(field: &str, reason: impl Into<String>) -> ProvenanceError {
    ProvenanceError::Field { field: field.into(), reason: reason.into() }
}

/// Validate a lot's GTIN and number as the call and the read side name them; the GTIN in 14 digits.
pub fn check_lot(gtin: &str, lot: &str) -> Result<String, ProvenanceError> {
    let gtin = gs1::gtin14(gtin).map_err(|e| field("gtin", e.to_string()))?;
    let n = lot.chars().count();
    if n == 0 || n > 20 {
        return Err(field("lot", "a lot number has 1..=20 characters"));
    }
    if lot.chars().any(|c| c.is_control() || c == '/') {
        return Err(field("lot", "must not contain control characters or '/'"));
    }
    Ok(gtin)
}

/// The recall of a lot, if it was recalled.
pub fn load_recall(state: &dyn StateRead, gtin: &str, lot: &str) -> Result<Option<Recall>, StoreError> {
    let Ok(gtin) = gs1::gtin14(gtin) else { return Ok(None) };
    kv::get(state, &recall_key(&gtin, lot))
}

/// The lot's brand owner: the organisation that anchored the first event creating the lot (a
/// transformation output, or the subject of an `ADD` event). `None` when no such event is anchored.
pub fn brand_owner(state: &dyn StateRead, gtin14: &str, lot: &str) -> Result<Option<String>, StoreError> {
    let mut events = events_for_key(state, &lot_index_key(gtin14, lot))?;
    events.sort_by_key(|(_, e)| e.seq);
    for (role, e) in events {
        let creates = match role {
            KeyRole::Output => true,
            KeyRole::Subject => epcis::parse_event(&e.event_json).ok().and_then(|p| p.action).as_deref() == Some("ADD"),
            _ => false,
        };
        if creates {
            return Ok(Some(e.org));
        }
    }
    Ok(None)
}

/// Apply a recall signed by `me`.
pub(super) fn apply(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    me: &Org,
    call: RecallLot,
) -> Result<Vec<Event>, ProvenanceError> {
    let gtin = check_lot(&call.gtin, &call.lot)?;
    let reason = call.reason.trim();
    if reason.is_empty() {
        return Err(field("reason", "say what happened and what consumers should do"));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(field("reason", format!("at most {MAX_REASON} characters")));
    }
    if reason.chars().any(|c| c.is_control() && c != '\n') {
        return Err(field("reason", "must not contain control characters"));
    }
    let owner = brand_owner(state, &gtin, &call.lot)?;
    let by_regulator = me.has_role(Role::Regulator);
    match &owner {
        Some(o) if *o == me.id => {}
        _ if by_regulator => {}
        Some(o) => return Err(ProvenanceError::NotBrandOwner { org: me.id.clone(), owner: o.clone() }),
        None => return Err(ProvenanceError::LotUnknown { gtin, lot: call.lot }),
    }
    let key = recall_key(&gtin, &call.lot);
    if let Some(prev) = kv::get::<Recall>(state, &key)? {
        return Err(ProvenanceError::AlreadyRecalled { org: prev.org, height: prev.height });
    }
    let recall = Recall {
        gtin: gtin.clone(),
        lot: call.lot.clone(),
        reason: reason.to_string(),
        org: me.id.clone(),
        by_regulator: by_regulator && owner.as_deref() != Some(me.id.as_str()),
        height: ctx.height,
        time_ms: ctx.time_ms,
        tx_id: ctx.tx_id,
    };
    kv::put(state, &key, &recall);
    let lot_key = lot_index_key(&gtin, &call.lot);
    Ok(vec![kv::event(
        MODULE,
        "LotRecalled",
        &[("org", &me.id), ("gs1_key", &lot_key), ("gtin", &gtin), ("lot", &call.lot)],
        &recall,
    )])
}

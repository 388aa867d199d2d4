//! Location and party master data (EPCIS `BusinessLocation` / `ReadPoint` / party vocabulary): the name
//! and address of a GLN (`urn:epc:id:sgln:…`, `urn:epc:id:pgln:…` or its Digital Link), recorded on chain
//! by an organisation that records provenance events, so a consumer page says "沪光乳业 松江工厂" where
//! an event says `urn:epc:id:sgln:6901234.00002.0`.
//!
//! The first organisation to describe a GLN owns its description: only it may change the name later
//! (another organisation cannot rename someone else's site). Every description keeps who recorded it.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::module::{Event, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use serde::{Deserialize, Serialize};

use super::{gs1, ProvenanceError, MODULE};
use crate::kv::{self, StoreError};

/// Most locations one call may describe.
pub const MAX_LOCATIONS: usize = 64;
/// Longest name / address (characters).
pub const MAX_NAME: usize = 100;
pub const MAX_ADDRESS: usize = 200;

/// One location or party as the call describes it.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LocationMaster {
    /// SGLN or PGLN, as an EPC URN or a GS1 Digital Link (`/414/…`, `/417/…`).
    pub id: String,
    pub name: String,
    pub address: Option<String>,
}

/// A described location as stored on chain.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct LocationRecord {
    /// The canonical Digital Link of the GLN.
    pub key: String,
    pub name: String,
    pub address: Option<String>,
    /// The organisation that described it (and alone may change it).
    pub org: String,
    pub height: u64,
}

fn state_key(canonical: &str) -> String {
    let short = canonical.strip_prefix("https://id.gs1.org").unwrap_or(canonical);
    format!("provenance/loc{short}")
}

/// The canonical key of a location or party identifier, if it is one.
pub fn location_key(id: &str) -> Option<String> {
    match gs1::parse_gs1_key(id) {
        Ok(k @ (gs1::Gs1Key::Sgln { .. } | gs1::Gs1Key::Pgln { .. })) => Some(k.digital_link()),
        _ => None,
    }
}

/// The master data of a location or party identifier; for an SGLN with an extension that has no
/// record of its own, the record of its GLN (the site it is part of).
pub fn load_location(state: &dyn StateRead, id: &str) -> Result<Option<LocationRecord>, StoreError> {
    let Ok(key) = gs1::parse_gs1_key(id) else { return Ok(None) };
    let own = match &key {
        gs1::Gs1Key::Sgln { .. } | gs1::Gs1Key::Pgln { .. } => kv::get(state, &state_key(&key.digital_link()))?,
        _ => return Ok(None),
    };
    if own.is_some() {
        return Ok(own);
    }
    if let gs1::Gs1Key::Sgln { gln, ext } = key {
        if !ext.is_empty() && ext != "0" {
            let site = gs1::Gs1Key::Sgln { gln, ext: String::new() };
            return kv::get(state, &state_key(&site.digital_link()));
        }
    }
    Ok(None)
}

fn field(field: String, reason: impl Into<String>) -> ProvenanceError {
    ProvenanceError::Field { field, reason: reason.into() }
}

fn check_text(name: String, s: &str, max: usize) -> Result<(), ProvenanceError> {
    if s.trim().is_empty() {
        return Err(field(name, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(field(name, format!("at most {max} characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(field(name, "must not contain control characters"));
    }
    Ok(())
}

pub(super) fn apply(
    state: &mut dyn StateWrite,
    ctx: &TxContext,
    org: &str,
    locations: Vec<LocationMaster>,
) -> Result<Vec<Event>, ProvenanceError> {
    if locations.is_empty() || locations.len() > MAX_LOCATIONS {
        return Err(field("locations".into(), format!("1..={MAX_LOCATIONS} locations per call")));
    }
    let mut events = Vec::with_capacity(locations.len());
    for (i, l) in locations.into_iter().enumerate() {
        let key = location_key(&l.id)
            .ok_or_else(|| field(format!("locations[{i}].id"), "not an SGLN or PGLN (urn:epc:id:sgln:… / pgln:…)"))?;
        check_text(format!("locations[{i}].name"), &l.name, MAX_NAME)?;
        if let Some(a) = &l.address {
            check_text(format!("locations[{i}].address"), a, MAX_ADDRESS)?;
        }
        let sk = state_key(&key);
        if let Some(prev) = kv::get::<LocationRecord>(state, &sk)? {
            if prev.org != org {
                return Err(ProvenanceError::LocationOwned { id: key, org: prev.org });
            }
        }
        let record = LocationRecord {
            key: key.clone(),
            name: l.name.trim().to_string(),
            address: l.address,
            org: org.into(),
            height: ctx.height,
        };
        kv::put(state, &sk, &record);
        events.push(kv::event(MODULE, "LocationDescribed", &[("org", org), ("gs1_key", &key)], &record));
    }
    Ok(events)
}

//! Typed access to the flat state: Borsh values under string keys, events, call decoding, and the
//! trait that turns a module's rule error into the ledger's `ModuleError`.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::module::Event;
use scf_ledger::state::{StateRead, StateWrite};
use serde::Serialize;

pub use scf_ledger::module::Rule;

/// Failures every module can hit that are not business rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("state: {0}")]
    Backend(String),
    #[error("state: value under {key:?} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("payload: not a valid {module} call: {reason}")]
    BadPayload { module: &'static str, reason: String },
}

impl Rule for StoreError {
    fn code(&self) -> &'static str {
        match self {
            StoreError::Backend(_) => "STATE_BACKEND",
            StoreError::Corrupt { .. } => "STATE_CORRUPT",
            StoreError::BadPayload { .. } => "BAD_PAYLOAD",
        }
    }
}

pub fn get<T: BorshDeserialize>(state: &dyn StateRead, key: &str) -> Result<Option<T>, StoreError> {
    match state.get(key.as_bytes()).map_err(|e| StoreError::Backend(e.0))? {
        None => Ok(None),
        Some(bytes) => borsh::from_slice(&bytes)
            .map(Some)
            .map_err(|e| StoreError::Corrupt { key: key.to_string(), reason: e.to_string() }),
    }
}

pub fn put<T: BorshSerialize>(state: &mut dyn StateWrite, key: &str, value: &T) {
    state.set(key.as_bytes(), scf_ledger::codec::encode(value));
}

pub fn delete(state: &mut dyn StateWrite, key: &str) {
    state.delete(key.as_bytes());
}

/// Encode a call for a transaction payload.
pub fn encode_call<T: BorshSerialize>(call: &T) -> Vec<u8> {
    scf_ledger::codec::encode(call)
}

/// Build an event. `attrs` are indexable facts (object ids, organisations concerned: use the attribute
/// name `org` for every organisation the event concerns); `data` is the full event as JSON.
pub fn event(module: &str, kind: &str, attrs: &[(&str, &str)], data: &impl Serialize) -> Event {
    Event {
        module: module.to_string(),
        kind: kind.to_string(),
        attributes: attrs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        data: serde_json::to_string(data).unwrap_or_else(|_| "null".into()),
    }
}

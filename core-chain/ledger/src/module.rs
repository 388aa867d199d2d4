//! The seam between the ledger and the business: a [`Module`] is a deterministic state machine that the
//! executor calls with a decoded transaction. The ledger knows nothing of vouchers or invoices.

use std::collections::BTreeMap;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{Address, Hash32, PublicKey};
use crate::state::StateWrite;

/// What a module may know about the transaction it executes. Time is the block's, never a clock.
#[derive(Clone, Debug)]
pub struct TxContext {
    pub chain_id: String,
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch (UTC).
    pub time_ms: u64,
    pub tx_id: Hash32,
    pub tx_index: u32,
    pub sender: PublicKey,
    pub sender_address: Address,
}

/// Something that happened, for receipts, the read model, subscriptions and workflows.
/// `attributes` are the indexable facts (object ids, organisations concerned); `data` is the full event
/// as JSON.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Event {
    pub module: String,
    pub kind: String,
    pub attributes: Vec<(String, String)>,
    pub data: String,
}

impl Event {
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A transaction refused by a business rule: a stable machine code naming the rule and a message
/// naming the field and the reason.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ModuleError {
    pub code: String,
    pub message: String,
}

impl ModuleError {
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ModuleError { code: code.into(), message: message.into() }
    }
}

/// A domain module. Implementations must be deterministic: the same state, context and payload always
/// give the same writes, events or error (no IO, clock, randomness, floats or hash-map iteration order).
pub trait Module: Send + Sync {
    /// The name transactions use in `call.module`.
    fn name(&self) -> &'static str;

    /// Initialise state from this module's section of the genesis file.
    fn init_genesis(&self, _state: &mut dyn StateWrite, _config: &serde_json::Value) -> Result<(), ModuleError> {
        Ok(())
    }

    /// Execute one call. On `Err` every write the call made is discarded (the nonce is still consumed).
    fn execute(&self, ctx: &TxContext, state: &mut dyn StateWrite, payload: &[u8]) -> Result<Vec<Event>, ModuleError>;
}

/// The modules a chain runs, by name.
#[derive(Clone, Default)]
pub struct ModuleRegistry {
    modules: BTreeMap<&'static str, Arc<dyn Module>>,
}

impl ModuleRegistry {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with(mut self, module: Arc<dyn Module>) -> Self {
        self.modules.insert(module.name(), module);
        self
    }
    pub fn register(&mut self, module: Arc<dyn Module>) {
        self.modules.insert(module.name(), module);
    }
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Module>> {
        self.modules.get(name)
    }
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.modules.keys().copied()
    }
}

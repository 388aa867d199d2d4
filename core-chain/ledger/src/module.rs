//! The seam between the ledger and the business: a [`Module`] is a deterministic state machine that the
//! executor calls with a decoded transaction. The ledger knows nothing of vouchers or invoices.

use std::collections::BTreeMap;
use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{Address, Hash32, PublicKey};
use crate::executor::TxRejection;
use crate::state::{StateRead, StateWrite};

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

/// A business-rule error: `code()` is a stable SCREAMING_SNAKE name of the rule, `Display` names the
/// field and the reason. Receipts carry both.
pub trait Rule: std::fmt::Display {
    fn code(&self) -> &'static str;
    fn into_module_error(self) -> ModuleError
    where
        Self: Sized,
    {
        ModuleError::new(self.code(), self.to_string())
    }
}

/// A module's call type: the Borsh enum a transaction's payload holds. The module's name comes from
/// the type, so a caller submits a typed call and never spells the name.
pub trait ModuleCall: BorshSerialize + BorshDeserialize + Send + Sync {
    /// The name transactions use in `call.module`.
    const MODULE: &'static str;

    /// The payload bytes of this call (canonical Borsh).
    fn encode_payload(&self) -> Vec<u8> {
        crate::codec::encode(self)
    }
}

/// A business module declared once: its call type (which names it), its error type and how a call
/// changes state. Every `BusinessModule` is a [`Module`] through the blanket impl below, which decodes
/// the payload strictly (canonical Borsh, no trailing bytes) and turns the error into the receipt's
/// code and message.
pub trait BusinessModule: Send + Sync + 'static {
    type Call: ModuleCall;
    type Error: Rule;

    /// Execute one decoded call. Deterministic: no IO, clock, randomness, floats or hash-map order.
    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: Self::Call) -> Result<Vec<Event>, Self::Error>;

    /// Initialise state from this module's section of the genesis file.
    fn init_genesis(_state: &mut dyn StateWrite, _config: &serde_json::Value) -> Result<(), ModuleError> {
        Ok(())
    }
}

/// The refusal of a payload that is not a valid call of `module`.
pub fn bad_payload(module: &str, reason: impl std::fmt::Display) -> ModuleError {
    ModuleError::new("BAD_PAYLOAD", format!("payload: not a valid {module} call: {reason}"))
}

impl<M: BusinessModule> Module for M {
    fn name(&self) -> &'static str {
        M::Call::MODULE
    }
    fn init_genesis(&self, state: &mut dyn StateWrite, config: &serde_json::Value) -> Result<(), ModuleError> {
        M::init_genesis(state, config)
    }
    fn execute(&self, ctx: &TxContext, state: &mut dyn StateWrite, payload: &[u8]) -> Result<Vec<Event>, ModuleError> {
        let call: M::Call = crate::codec::decode_canonical(M::Call::MODULE, payload, crate::tx::MAX_TX_BYTES)
            .map_err(|e| bad_payload(M::Call::MODULE, e))?;
        M::apply(ctx, state, call).map_err(Rule::into_module_error)
    }
}

/// Who may send transactions on a chain: its admission rule, which the business defines (the ledger
/// knows no organisations). Read from state only, so deterministic: the mempool asks it before a
/// signature is verified, and every node asks it again when a block executes the transaction.
pub trait SenderPolicy: Send + Sync {
    /// The sender's quota group (its organisation) when it may send in block `height` at `time_ms`;
    /// otherwise [`TxRejection::UnknownSender`] or [`TxRejection::SenderInactive`]. The executor then
    /// still admits the chain's current validators.
    fn admit(&self, state: &dyn StateRead, sender: &Address, height: u64, time_ms: u64) -> Result<String, TxRejection>;
}

/// The modules a chain runs, by name, and its sender policy.
#[derive(Clone, Default)]
pub struct ModuleRegistry {
    modules: BTreeMap<&'static str, Arc<dyn Module>>,
    sender_policy: Option<Arc<dyn SenderPolicy>>,
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
    /// Admit only the senders `policy` admits (and validators). Without one, the chain is open.
    pub fn with_sender_policy(mut self, policy: Arc<dyn SenderPolicy>) -> Self {
        self.sender_policy = Some(policy);
        self
    }
    pub fn sender_policy(&self) -> Option<&Arc<dyn SenderPolicy>> {
        self.sender_policy.as_ref()
    }
}

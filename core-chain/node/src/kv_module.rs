//! A minimal module that lets a node run, and be tested, without any business rules: `kv` stores a
//! value under a key of the caller's choosing (prefixed, so it cannot touch another module's state),
//! or refuses on request. The consensus, sync, gossip and mempool tests drive it; `scf-node-harness`
//! runs nodes with it.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, ModuleRegistry, Rule, TxContext};
use scf_ledger::state::StateWrite;

/// The calls of the `kv` module.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum KvCall {
    /// Store `value` under `kv/<key>`.
    Put { key: String, value: Vec<u8> },
    /// Always refused (a failed receipt: the nonce is consumed, nothing is written).
    Refuse { reason: String },
}

impl ModuleCall for KvCall {
    const MODULE: &'static str = "kv";
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("key: {0}")]
    Key(&'static str),
    #[error("refused: {0}")]
    Refused(String),
}

impl Rule for KvError {
    fn code(&self) -> &'static str {
        match self {
            KvError::Key(_) => "KV_BAD_KEY",
            KvError::Refused(_) => "KV_REFUSED",
        }
    }
}

pub struct KvModule;

impl BusinessModule for KvModule {
    type Call = KvCall;
    type Error = KvError;

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: KvCall) -> Result<Vec<Event>, KvError> {
        match call {
            KvCall::Put { key, value } => {
                if key.is_empty() || key.len() > 128 {
                    return Err(KvError::Key("1 to 128 bytes"));
                }
                state.set(format!("kv/{key}").as_bytes(), value);
                Ok(vec![Event {
                    module: KvCall::MODULE.into(),
                    kind: "Put".into(),
                    attributes: vec![("key".into(), key), ("sender".into(), ctx.sender_address.to_hex())],
                    data: String::new(),
                }])
            }
            KvCall::Refuse { reason } => Err(KvError::Refused(reason)),
        }
    }
}

/// A registry with the `kv` module only.
pub fn modules() -> ModuleRegistry {
    ModuleRegistry::new().with(std::sync::Arc::new(KvModule))
}

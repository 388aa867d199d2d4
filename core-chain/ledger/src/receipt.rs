//! Receipts: what happened to each transaction in a block.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{Address, Hash32};
use crate::module::Event;

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxOutcome {
    Success,
    /// A business rule refused the call: no state changed, the nonce was consumed.
    Failed {
        code: String,
        message: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    pub tx_id: Hash32,
    pub height: u64,
    pub index: u32,
    pub sender: Address,
    pub module: String,
    pub outcome: TxOutcome,
    pub events: Vec<Event>,
}

impl Receipt {
    pub fn is_success(&self) -> bool {
        matches!(self.outcome, TxOutcome::Success)
    }
    /// The code of the rule that refused the call, if one did.
    pub fn failure_code(&self) -> Option<&str> {
        match &self.outcome {
            TxOutcome::Success => None,
            TxOutcome::Failed { code, .. } => Some(code),
        }
    }
    /// The leaf committed in the block header's receipts root.
    pub fn hash(&self) -> Hash32 {
        Hash32::of(&crate::codec::encode(self))
    }
}

//! The genesis file: chain id, start time, parameters, the initial validator set and each module's
//! initial state. JSON on disk; its hash (SM3 of its canonical JSON) is the parent hash of block 1.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::crypto::{Address, Hash32, PublicKey};

/// Chain-wide limits, stored in state under [`PARAMS_KEY`] so governance can change them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChainParams {
    pub max_tx_bytes: u32,
    pub max_block_txs: u32,
    /// A transaction's expiry may be at most this many blocks ahead of the height it is submitted at.
    pub max_expiry_window: u64,
}

impl Default for ChainParams {
    fn default() -> Self {
        ChainParams { max_tx_bytes: 64 * 1024, max_block_txs: 10_000, max_expiry_window: 100_000 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Validator {
    pub name: String,
    /// SM2 consensus key.
    pub public_key: PublicKey,
    pub power: u64,
    /// libp2p peer id bound to the consensus key (filled in by the network layer's genesis tooling).
    #[serde(default)]
    pub peer_id: Option<String>,
}

impl Validator {
    pub fn address(&self) -> Address {
        self.public_key.address()
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub chain_id: String,
    pub genesis_time_ms: u64,
    #[serde(default)]
    pub params: ChainParams,
    pub validators: Vec<Validator>,
    /// Per-module initial state, keyed by module name.
    #[serde(default)]
    pub app_state: BTreeMap<String, serde_json::Value>,
}

/// State key of the current validator set (borsh `Vec<Validator>`).
pub const VALIDATORS_KEY: &[u8] = b"sys/validators";
/// State key of the chain parameters (borsh [`ChainParams`]).
pub const PARAMS_KEY: &[u8] = b"sys/params";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    #[error("genesis: {field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("genesis: app_state.{module}: no such module")]
    UnknownModule { module: String },
    #[error("genesis: app_state.{module}: {error}")]
    Module { module: String, error: crate::module::ModuleError },
    #[error("genesis: {0}")]
    State(#[from] crate::state::StateError),
}

impl Genesis {
    pub fn from_json(text: &str) -> Result<Self, GenesisError> {
        let g: Genesis = serde_json::from_str(text).map_err(|e| GenesisError::Invalid {
            field: format!("line {} column {}", e.line(), e.column()),
            reason: e.to_string(),
        })?;
        g.validate()?;
        Ok(g)
    }
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
    pub fn validate(&self) -> Result<(), GenesisError> {
        let bad = |field: &str, reason: &str| Err(GenesisError::Invalid { field: field.into(), reason: reason.into() });
        if self.chain_id.is_empty() || self.chain_id.len() > 64 {
            return bad("chain_id", "must be 1..=64 characters");
        }
        if self.validators.is_empty() {
            return bad("validators", "at least one validator is required");
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, v) in self.validators.iter().enumerate() {
            if v.power == 0 {
                return bad(&format!("validators[{i}].power"), "must be positive");
            }
            if !seen.insert(v.public_key) {
                return bad(&format!("validators[{i}].public_key"), "duplicate validator key");
            }
        }
        Ok(())
    }
    /// SM3 of the canonical JSON (compact, keys in struct order / sorted maps).
    pub fn hash(&self) -> Hash32 {
        Hash32::of(&serde_json::to_vec(self).unwrap_or_default())
    }
}

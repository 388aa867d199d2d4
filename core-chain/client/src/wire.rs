//! The node client API's JSON bodies, shared by the server (`scf-node`'s `api.rs`) and
//! [`crate::HttpChain`], so both sides read and write one definition.

use scf_ledger::authenticated::StateProof;
use scf_ledger::block::{Block, BlockHeader, CommitCertificate, TxInclusionProof};
use scf_ledger::receipt::Receipt;
use serde::{Deserialize, Serialize};

use crate::error::{ChainError, Rejection};

/// A typed error body: `{"error":{"kind","message","retryable"}}`.
pub type ApiErrorBody = Rejection;

/// One submission's outcome.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ApiErrorBody>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockResponse {
    pub hash: String,
    pub block: Block,
}

/// `GET /block/{height}/receipts`: the receipts of a committed block's transactions, in block order.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockReceiptsResponse {
    pub height: u64,
    pub receipts: Vec<Receipt>,
}

/// `GET /proof/state`: a state key's value (or its absence) after block `height`, with a proof against
/// that block's state root.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StateProofResponse {
    pub height: u64,
    /// The block's header, whose `state_root` the proof is against (`None` for the genesis state).
    pub header: Option<BlockHeader>,
    pub root: String,
    pub key: String,
    pub value: Option<String>,
    /// The proof as JSON, for verifiers in other languages: `levels` from the root down
    /// (`bitmap`, `siblings`) and the `end` of the path (docs/ledger-format.md).
    pub proof: serde_json::Value,
    /// The same proof as a borsh `StateProof` (hex).
    pub proof_borsh: String,
}

impl StateProofResponse {
    /// The decoded proof (check it with `StateProof::verify(&header.state_root)`).
    pub fn state_proof(&self) -> Result<StateProof, ChainError> {
        let bytes =
            hex::decode(&self.proof_borsh).map_err(|e| ChainError::Protocol(format!("proof_borsh: not hex: {e}")))?;
        borsh::from_slice(&bytes).map_err(|e| ChainError::Protocol(format!("proof_borsh: {e}")))
    }

    /// The proven value, decoded from hex.
    pub fn value_bytes(&self) -> Result<Option<Vec<u8>>, ChainError> {
        self.value
            .as_deref()
            .map(|h| hex::decode(h).map_err(|e| ChainError::Protocol(format!("value: not hex: {e}"))))
            .transpose()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BlockTxIdsResponse {
    pub height: u64,
    pub tx_ids: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TxProofResponse {
    pub proof: TxInclusionProof,
    pub certificate: Option<CommitCertificate>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    pub chain_id: String,
    pub height: u64,
    pub tip_hash: String,
    pub state_root: String,
    pub time_ms: u64,
    pub consensus_height: u64,
    pub consensus_round: i64,
    pub peers: usize,
    pub mempool: usize,
}

/// Where a transaction stands, from one node's point of view (`GET /tx/{id}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum TxStatus {
    /// Admitted to the node's mempool, not yet in a block.
    Pending,
    /// In block `height` at `index`, with its receipt.
    Committed { height: u64, index: u32, receipt: Receipt },
    /// Neither pending there nor committed.
    Unknown,
}

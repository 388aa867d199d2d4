//! A typed client for the node's HTTP API (see [`crate::api`]), for the GraphQL layer, the ingestion
//! service, the benchmark and tests.

use std::time::Duration;

use scf_ledger::authenticated::StateProof;
use scf_ledger::block::{Block, BlockHeader, CommitCertificate, TxInclusionProof};
use scf_ledger::crypto::Hash32;
use scf_ledger::tx::SignedTx;
use serde::{Deserialize, Serialize};

use crate::chain::TxStatus;

/// A typed error body: `{"error":{"kind","message","retryable"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiErrorBody {
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub retryable: bool,
}

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
    pub fn state_proof(&self) -> Result<StateProof, ClientError> {
        let bytes = hex::decode(&self.proof_borsh)
            .map_err(|e| ClientError::Unexpected(format!("proof_borsh: not hex: {e}")))?;
        borsh::from_slice(&bytes).map_err(|e| ClientError::Unexpected(format!("proof_borsh: {e}")))
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

/// How a transaction stands, as the API reports it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RemoteTxStatus {
    Pending,
    Committed { height: u64, index: u32, receipt: scf_ledger::receipt::Receipt },
    Unknown,
}

impl From<TxStatus> for RemoteTxStatus {
    fn from(s: TxStatus) -> Self {
        match s {
            TxStatus::Pending => RemoteTxStatus::Pending,
            TxStatus::Committed { height, index, receipt } => RemoteTxStatus::Committed { height, index, receipt },
            TxStatus::Unknown => RemoteTxStatus::Unknown,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("node API: {0}")]
    Http(#[from] reqwest::Error),
    #[error("node API refused ({status}): {body:?}")]
    Api { status: u16, body: ApiErrorBody },
    #[error("node API: unexpected answer: {0}")]
    Unexpected(String),
    #[error("request not sent: {0}")]
    Request(String),
}

/// Client for one node's API.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ApiErrorBody,
}

impl NodeClient {
    /// `base` like `http://127.0.0.1:28000`.
    pub fn new(base: impl Into<String>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        NodeClient { base: base.into().trim_end_matches('/').to_string(), http }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, ClientError> {
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ClientError::Unexpected(e.to_string()));
        }
        match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
            Ok(env) => Err(ClientError::Api { status: status.as_u16(), body: env.error }),
            Err(_) => Err(ClientError::Unexpected(format!("{status}: {}", String::from_utf8_lossy(&bytes)))),
        }
    }

    /// Submit one transaction; `Ok(tx id)` once admitted to the node's mempool.
    pub async fn submit(&self, tx: &SignedTx) -> Result<Hash32, ClientError> {
        let resp = self
            .http
            .post(format!("{}/tx", self.base))
            .header("content-type", "application/octet-stream")
            .body(tx.to_bytes())
            .send()
            .await?;
        let r: SubmitResult = Self::decode(resp).await?;
        r.tx_id.and_then(|h| Hash32::from_hex(&h).ok()).ok_or_else(|| ClientError::Unexpected("no tx_id".into()))
    }

    /// Submit many transactions (admitted with parallel signature verification) in the binary batch format (requests of at most
    /// [`crate::gossip::MAX_BATCH_TXS`]); one result per transaction, in order.
    pub async fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<SubmitResult>, ClientError> {
        let mut out = Vec::with_capacity(txs.len());
        for chunk in txs.chunks(crate::gossip::MAX_BATCH_TXS) {
            let raws: Vec<Vec<u8>> = chunk.iter().map(SignedTx::to_bytes).collect();
            let body = crate::gossip::encode_batch(&raws).map_err(|e| ClientError::Request(e.to_string()))?;
            let resp = self
                .http
                .post(format!("{}/txs", self.base))
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await?;
            let results: Vec<SubmitResult> = Self::decode(resp).await?;
            out.extend(results);
        }
        Ok(out)
    }

    pub async fn tx_status(&self, id: &Hash32) -> Result<RemoteTxStatus, ClientError> {
        let resp = self.http.get(format!("{}/tx/{}", self.base, id.to_hex())).send().await?;
        Self::decode(resp).await
    }

    pub async fn block(&self, height: u64) -> Result<Option<BlockResponse>, ClientError> {
        let resp = self.http.get(format!("{}/block/{height}", self.base)).send().await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::decode(resp).await.map(Some)
    }

    /// The ids of a committed block's transactions, `None` if the block does not exist yet.
    pub async fn block_tx_ids(&self, height: u64) -> Result<Option<Vec<Hash32>>, ClientError> {
        let resp = self.http.get(format!("{}/block/{height}/tx_ids", self.base)).send().await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let r: BlockTxIdsResponse = Self::decode(resp).await?;
        let ids = r
            .tx_ids
            .iter()
            .map(|h| Hash32::from_hex(h).map_err(|e| ClientError::Unexpected(format!("tx_ids: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ids))
    }

    pub async fn tx_proof(&self, id: &Hash32) -> Result<Option<TxProofResponse>, ClientError> {
        let resp = self.http.get(format!("{}/proof/tx/{}", self.base, id.to_hex())).send().await?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::decode(resp).await.map(Some)
    }

    /// The value of state key `key` after block `height` (the tip when `None`) with its proof.
    pub async fn state_proof(&self, key: &[u8], height: Option<u64>) -> Result<StateProofResponse, ClientError> {
        let mut url = format!("{}/proof/state?key={}", self.base, hex::encode(key));
        if let Some(h) = height {
            url.push_str(&format!("&height={h}"));
        }
        let resp = self.http.get(url).send().await?;
        Self::decode(resp).await
    }

    pub async fn status(&self) -> Result<StatusResponse, ClientError> {
        let resp = self.http.get(format!("{}/status", self.base)).send().await?;
        Self::decode(resp).await
    }
}

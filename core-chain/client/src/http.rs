//! The node's HTTP client API from the outside: [`NodeClient`], a typed client of each endpoint
//! (tools, the benchmark, process tests), and [`HttpChain`], the same node as a [`Chain`] (the
//! ingestion service or an API running on another machine than its node). Over the node's plain API
//! (loopback) or its HTTPS API with mutual 国密 TLS ([`NodeClient::with_tls`]); the TLS configuration
//! comes from the caller (`scf_gmtls::client_config`), so this crate holds no certificate logic.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use scf_ledger::authenticated::StateProof;
use scf_ledger::block::TxInclusionProof;
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::ChainTip;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use serde::Deserialize;
use tokio::sync::broadcast;

use crate::batch::{encode_batch, MAX_BATCH_TXS};
use crate::chain::{Chain, CommittedBlock, RemoteState};
use crate::error::{ChainError, Rejection};
use crate::wire::*;

/// How often [`HttpChain`] asks the node for its tip while someone follows its blocks.
const TIP_POLL: Duration = Duration::from_millis(200);

#[derive(Deserialize)]
struct ErrorEnvelope {
    error: ApiErrorBody,
}

/// Client for one node's API.
#[derive(Clone, Debug)]
pub struct NodeClient {
    base: String,
    http: reqwest::Client,
}

fn http_error(e: reqwest::Error) -> ChainError {
    ChainError::Unavailable(format!("node API: {e}"))
}

/// A node's refusal of a transaction. The node prefixes admission refusals with `tx: `; the message
/// a client shows names the field, as an in-process chain's does.
fn rejection(body: ApiErrorBody) -> ChainError {
    let message = body.message.strip_prefix("tx: ").map(str::to_string).unwrap_or(body.message);
    ChainError::Rejected(Rejection { message, ..body })
}

fn builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).pool_max_idle_per_host(64)
}

impl NodeClient {
    /// `base` like `http://127.0.0.1:28000` (the node's plain API, on its own machine).
    pub fn new(base: impl Into<String>) -> Self {
        let http = builder().build().unwrap_or_default();
        NodeClient { base: base.into().trim_end_matches('/').to_string(), http }
    }

    /// A client of a node's HTTPS API (`https://host:port`, mutual 国密 TLS). `tls` presents this
    /// caller's certificate and trusts the consortium's CAs; the node's certificate must name the host
    /// in `base`.
    pub fn with_tls(base: impl Into<String>, tls: rustls::ClientConfig) -> Result<Self, ChainError> {
        let base = base.into().trim_end_matches('/').to_string();
        if !base.starts_with("https://") {
            return Err(ChainError::Protocol(format!("{base}: a TLS client needs an https:// address")));
        }
        let http = builder()
            .use_preconfigured_tls(tls)
            .https_only(true)
            .build()
            .map_err(|e| ChainError::Protocol(format!("TLS client for {base}: {e}")))?;
        Ok(NodeClient { base, http })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    async fn decode<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, ChainError> {
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(http_error)?;
        if status.is_success() {
            return serde_json::from_slice(&bytes).map_err(|e| ChainError::Protocol(e.to_string()));
        }
        match serde_json::from_slice::<ErrorEnvelope>(&bytes) {
            Ok(env) if status == reqwest::StatusCode::NOT_FOUND => Err(ChainError::NotFound(env.error.message)),
            Ok(env) if status.is_client_error() || env.error.retryable => Err(rejection(env.error)),
            Ok(env) => Err(ChainError::Unavailable(format!("node API {status}: {}", env.error.message))),
            Err(_) => Err(ChainError::Protocol(format!("{status}: {}", String::from_utf8_lossy(&bytes)))),
        }
    }

    async fn get_optional<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<Option<T>, ChainError> {
        let resp = self.http.get(format!("{}{path}", self.base)).send().await.map_err(http_error)?;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::decode(resp).await.map(Some)
    }

    /// Submit one transaction; `Ok(tx id)` once admitted to the node's mempool.
    pub async fn submit(&self, tx: &SignedTx) -> Result<Hash32, ChainError> {
        let resp = self
            .http
            .post(format!("{}/tx", self.base))
            .header("content-type", "application/octet-stream")
            .body(tx.to_bytes())
            .send()
            .await
            .map_err(http_error)?;
        let r: SubmitResult = Self::decode(resp).await?;
        r.tx_id.and_then(|h| Hash32::from_hex(&h).ok()).ok_or_else(|| ChainError::Protocol("no tx_id".into()))
    }

    /// Submit many transactions in the binary batch format (admitted with parallel signature
    /// verification), in requests of at most [`MAX_BATCH_TXS`]; one result per transaction, in order.
    pub async fn submit_batch(&self, txs: &[SignedTx]) -> Result<Vec<SubmitResult>, ChainError> {
        let mut out = Vec::with_capacity(txs.len());
        for chunk in txs.chunks(MAX_BATCH_TXS) {
            let raws: Vec<Vec<u8>> = chunk.iter().map(SignedTx::to_bytes).collect();
            let body =
                encode_batch(&raws).map_err(|e| ChainError::Rejected(Rejection::new("batch", e.to_string(), false)))?;
            let resp = self
                .http
                .post(format!("{}/txs", self.base))
                .header("content-type", "application/octet-stream")
                .body(body)
                .send()
                .await
                .map_err(http_error)?;
            let results: Vec<SubmitResult> = Self::decode(resp).await?;
            out.extend(results);
        }
        Ok(out)
    }

    /// The receipt `tx` would have if committed next (`POST /tx/dry-run`); nothing is submitted.
    pub async fn dry_run(&self, tx: &SignedTx) -> Result<Receipt, ChainError> {
        let resp = self
            .http
            .post(format!("{}/tx/dry-run", self.base))
            .header("content-type", "application/octet-stream")
            .body(tx.to_bytes())
            .send()
            .await
            .map_err(http_error)?;
        Self::decode(resp).await
    }

    pub async fn tx_status(&self, id: &Hash32) -> Result<TxStatus, ChainError> {
        let resp = self.http.get(format!("{}/tx/{}", self.base, id.to_hex())).send().await.map_err(http_error)?;
        Self::decode(resp).await
    }

    pub async fn block(&self, height: u64) -> Result<Option<BlockResponse>, ChainError> {
        self.get_optional(&format!("/block/{height}")).await
    }

    /// The receipts of a committed block's transactions, `None` if the block does not exist yet.
    pub async fn block_receipts(&self, height: u64) -> Result<Option<Vec<Receipt>>, ChainError> {
        Ok(self.get_optional::<BlockReceiptsResponse>(&format!("/block/{height}/receipts")).await?.map(|r| r.receipts))
    }

    /// The ids of a committed block's transactions, `None` if the block does not exist yet.
    pub async fn block_tx_ids(&self, height: u64) -> Result<Option<Vec<Hash32>>, ChainError> {
        let Some(r) = self.get_optional::<BlockTxIdsResponse>(&format!("/block/{height}/tx_ids")).await? else {
            return Ok(None);
        };
        let ids = r
            .tx_ids
            .iter()
            .map(|h| Hash32::from_hex(h).map_err(|e| ChainError::Protocol(format!("tx_ids: {e}"))))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Some(ids))
    }

    pub async fn tx_proof(&self, id: &Hash32) -> Result<Option<TxProofResponse>, ChainError> {
        self.get_optional(&format!("/proof/tx/{}", id.to_hex())).await
    }

    /// The value of state key `key` after block `height` (the tip when `None`) with its proof.
    pub async fn state_proof(&self, key: &[u8], height: Option<u64>) -> Result<StateProofResponse, ChainError> {
        let mut url = format!("{}/proof/state?key={}", self.base, hex::encode(key));
        if let Some(h) = height {
            url.push_str(&format!("&height={h}"));
        }
        let resp = self.http.get(url).send().await.map_err(http_error)?;
        Self::decode(resp).await
    }

    pub async fn status(&self) -> Result<StatusResponse, ChainError> {
        let resp = self.http.get(format!("{}/status", self.base)).send().await.map_err(http_error)?;
        Self::decode(resp).await
    }

    /// The node's committed height, `None` while its API does not answer.
    pub async fn height(&self) -> Option<u64> {
        self.status().await.ok().map(|s| s.height)
    }

    /// Poll until the node has committed height `h` (or `timeout` passes); the height reached.
    pub async fn wait_height(&self, h: u64, timeout: Duration) -> Result<u64, ChainError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let now = self.height().await;
            if let Some(x) = now.filter(|x| *x >= h) {
                return Ok(x);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ChainError::Timeout(timeout));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A committed block with its receipts.
    pub async fn committed_block(&self, height: u64) -> Result<Option<CommittedBlock>, ChainError> {
        if height == 0 {
            return Ok(None);
        }
        let Some(b) = self.block(height).await? else { return Ok(None) };
        let receipts = self
            .block_receipts(height)
            .await?
            .ok_or_else(|| ChainError::Protocol(format!("block {height} has no receipts")))?;
        if receipts.len() != b.block.txs.len() {
            return Err(ChainError::Protocol(format!(
                "block {height}: {} receipts for {} transactions",
                receipts.len(),
                b.block.txs.len()
            )));
        }
        Ok(Some(CommittedBlock::new(b.block, receipts)))
    }
}

/// A node reached over its HTTP client API, as a [`Chain`].
pub struct HttpChain {
    client: NodeClient,
    chain_id: String,
    live: Arc<Mutex<Option<broadcast::Sender<Arc<CommittedBlock>>>>>,
}

impl HttpChain {
    /// Connect to the node at `base` (e.g. `http://127.0.0.1:26658`) and learn its chain id.
    pub async fn connect(base: &str) -> Result<HttpChain, ChainError> {
        Self::connect_with(NodeClient::new(base)).await
    }

    /// Connect through `client`, e.g. [`NodeClient::with_tls`] for a node's HTTPS API on another machine.
    pub async fn connect_with(client: NodeClient) -> Result<HttpChain, ChainError> {
        let chain_id = client.status().await?.chain_id;
        Ok(HttpChain { client, chain_id, live: Arc::new(Mutex::new(None)) })
    }

    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// Announce new blocks while anyone listens: poll the tip, fetch each new block with its receipts.
    async fn poll_blocks(client: NodeClient, tx: broadcast::Sender<Arc<CommittedBlock>>) {
        let mut seen = client.status().await.map(|s| s.height).unwrap_or(0);
        while tx.receiver_count() > 0 {
            tokio::time::sleep(TIP_POLL).await;
            let Ok(status) = client.status().await else { continue };
            while seen < status.height {
                match client.committed_block(seen + 1).await {
                    Ok(Some(b)) => {
                        seen += 1;
                        let _ = tx.send(Arc::new(b));
                    }
                    _ => break,
                }
            }
        }
    }
}

#[async_trait]
impl Chain for HttpChain {
    fn chain_id(&self) -> &str {
        &self.chain_id
    }

    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError> {
        self.client.submit(&tx).await
    }

    async fn receipt(&self, id: &Hash32) -> Result<Option<Receipt>, ChainError> {
        Ok(match self.client.tx_status(id).await? {
            TxStatus::Committed { receipt, .. } => Some(receipt),
            _ => None,
        })
    }

    async fn is_pending(&self, id: &Hash32) -> Result<bool, ChainError> {
        Ok(matches!(self.client.tx_status(id).await?, TxStatus::Pending))
    }

    async fn dry_run(&self, tx: &SignedTx) -> Result<Receipt, ChainError> {
        self.client.dry_run(tx).await
    }

    async fn tip(&self) -> Result<Option<ChainTip>, ChainError> {
        let s = self.client.status().await?;
        let hash = |f: &str, v: &str| Hash32::from_hex(v).map_err(|e| ChainError::Protocol(format!("status.{f}: {e}")));
        Ok(Some(ChainTip {
            height: s.height,
            hash: hash("tip_hash", &s.tip_hash)?,
            time_ms: s.time_ms,
            state_root: hash("state_root", &s.state_root)?,
        }))
    }

    async fn block(&self, height: u64) -> Result<Option<Arc<CommittedBlock>>, ChainError> {
        Ok(self.client.committed_block(height).await?.map(Arc::new))
    }

    async fn tx_proof(&self, id: &Hash32) -> Result<Option<TxInclusionProof>, ChainError> {
        Ok(self.client.tx_proof(id).await?.map(|p| p.proof))
    }

    async fn state_get(&self, key: &[u8], height: Option<u64>) -> Result<Option<Vec<u8>>, ChainError> {
        self.client.state_proof(key, height).await?.value_bytes()
    }

    async fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        self.client.state_proof(key, Some(height)).await?.state_proof()
    }

    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, ChainError> {
        Ok(Box::new(RemoteState { chain: self, height }))
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = live.as_ref().filter(|tx| tx.receiver_count() > 0) {
            return tx.subscribe();
        }
        let (tx, rx) = broadcast::channel(256);
        // Without a runtime nobody can await the receiver either; followers read blocks back instead.
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(Self::poll_blocks(self.client.clone(), tx.clone()));
        }
        *live = Some(tx);
        rx
    }
}

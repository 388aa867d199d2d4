//! What the ingestion service needs from the chain, behind a small trait so this crate never depends on
//! the node: submit a signed transaction, learn its outcome, read a state value (device records, anchor
//! numbers, account nonces), and the tip's height and time.
//!
//! Two implementations: [`InProcessChain`] (an [`Executor`] over a [`MemTreeStore`], one block per
//! submission; for tests, the simulator and the benchmark) and [`HttpChain`] (the node's client API:
//! `POST /tx`, `GET /tx/{id}`, `GET /proof/state?key=HEX`, `GET /status`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use borsh::BorshDeserialize;
use scf_domain::device::{self, Device, DeviceCall};
use scf_domain::kv::encode_call;
use scf_ledger::authenticated::{MemTreeStore, VersionedState};
use scf_ledger::crypto::{Address, Hash32, KeyPair};
use scf_ledger::executor::{ChainTip, Executor};
use scf_ledger::genesis::{Genesis, Validator};
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::state::StateRead;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The chain refused to admit the transaction (bad nonce, signature, expiry, ...).
    #[error("chain refused the transaction: {0}")]
    Rejected(String),
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    #[error("chain answered something unexpected: {0}")]
    Protocol(String),
}

/// A committed transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Committed {
    pub height: u64,
    pub receipt: Receipt,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainStatus {
    pub chain_id: String,
    pub height: u64,
    pub time_ms: u64,
}

#[async_trait]
pub trait ChainClient: Send + Sync {
    /// Submit a signed transaction; `Ok(id)` once admitted.
    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError>;
    /// The transaction's receipt once committed (`None` while pending or unknown).
    async fn committed(&self, id: &Hash32) -> Result<Option<Committed>, ChainError>;
    /// The latest committed value under a state key.
    async fn state_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError>;
    async fn status(&self) -> Result<ChainStatus, ChainError>;
}

/// The ledger's nonce key (`sys/nonce/` ‖ address), read through [`ChainClient::state_value`].
pub fn nonce_key(addr: &Address) -> Vec<u8> {
    let mut k = b"sys/nonce/".to_vec();
    k.extend_from_slice(&addr.0);
    k
}

pub async fn account_nonce(chain: &dyn ChainClient, addr: &Address) -> Result<u64, ChainError> {
    Ok(match chain.state_value(&nonce_key(addr)).await? {
        Some(b) if b.len() == 8 => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        _ => 0,
    })
}

/// The device record, decoded.
pub async fn load_device(chain: &dyn ChainClient, id: &str) -> Result<Option<Device>, ChainError> {
    match chain.state_value(device::device_key(id).as_bytes()).await? {
        None => Ok(None),
        Some(b) => Device::try_from_slice(&b).map(Some).map_err(|e| ChainError::Protocol(format!("device {id}: {e}"))),
    }
}

/// Decode a Borsh state value under a string key.
pub async fn load<T: BorshDeserialize>(chain: &dyn ChainClient, key: &str) -> Result<Option<T>, ChainError> {
    match chain.state_value(key.as_bytes()).await? {
        None => Ok(None),
        Some(b) => T::try_from_slice(&b).map(Some).map_err(|e| ChainError::Protocol(format!("{key}: {e}"))),
    }
}

/// Signs calls for one account, tracking its nonce (re-read from chain after a refusal).
pub struct Signer {
    pub key: KeyPair,
    next_nonce: tokio::sync::Mutex<Option<u64>>,
}

/// How far ahead of the tip a transaction may be included.
pub const EXPIRY_BLOCKS: u64 = 1000;

impl Signer {
    pub fn new(key: KeyPair) -> Self {
        Signer { key, next_nonce: tokio::sync::Mutex::new(None) }
    }

    /// Sign `call` for `module`, submit, and wait for the receipt. A refusal over the nonce (another
    /// client used the same account) re-reads the nonce from chain and retries, at most 3 times.
    pub async fn call(
        &self,
        chain: &dyn ChainClient,
        module: &str,
        payload: Vec<u8>,
        timeout: Duration,
    ) -> Result<Committed, ChainError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.submit_once(chain, module, payload.clone()).await {
                Ok(id) => return wait_committed(chain, &id, timeout).await,
                Err(ChainError::Rejected(m)) if m.contains("nonce") && attempt < 3 => continue,
                Err(e) => return Err(e),
            }
        }
    }

    async fn submit_once(&self, chain: &dyn ChainClient, module: &str, payload: Vec<u8>) -> Result<Hash32, ChainError> {
        let mut guard = self.next_nonce.lock().await;
        let st = chain.status().await?;
        let nonce = match *guard {
            Some(n) => n,
            None => account_nonce(chain, &self.key.address()).await?,
        };
        let tx = TxBody {
            chain_id: st.chain_id,
            sender: *self.key.public(),
            nonce,
            expiry_height: st.height + EXPIRY_BLOCKS,
            call: Call { module: module.to_string(), payload },
        }
        .sign(&self.key);
        match chain.submit(tx).await {
            Ok(id) => {
                *guard = Some(nonce + 1);
                Ok(id)
            }
            Err(e) => {
                *guard = None;
                Err(e)
            }
        }
    }

    pub async fn device_call(
        &self,
        chain: &dyn ChainClient,
        call: &DeviceCall,
        timeout: Duration,
    ) -> Result<Committed, ChainError> {
        self.call(chain, device::MODULE, encode_call(call), timeout).await
    }
}

/// Poll until `id` is committed or `timeout` passes.
pub async fn wait_committed(chain: &dyn ChainClient, id: &Hash32, timeout: Duration) -> Result<Committed, ChainError> {
    let start = Instant::now();
    loop {
        if let Some(c) = chain.committed(id).await? {
            return Ok(c);
        }
        if start.elapsed() > timeout {
            return Err(ChainError::Unavailable(format!("transaction {id} not committed within {timeout:?}")));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The failure code of a receipt, if it failed.
pub fn failure_code(c: &Committed) -> Option<&str> {
    match &c.receipt.outcome {
        TxOutcome::Success => None,
        TxOutcome::Failed { code, .. } => Some(code),
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// In-process chain
// ---------------------------------------------------------------------------------------------

struct Inner {
    store: MemTreeStore,
    tip: ChainTip,
    receipts: HashMap<Hash32, Committed>,
}

/// A one-validator chain in memory: every submission is executed at once as its own block.
pub struct InProcessChain {
    executor: Executor,
    proposer: Address,
    inner: Mutex<Inner>,
}

impl InProcessChain {
    /// Start from a genesis (the validator list is filled with a throwaway key when empty).
    pub fn new(mut genesis: Genesis) -> Result<Arc<Self>, ChainError> {
        let validator = KeyPair::from_seed("scf-iot-ingest/in-process-validator");
        if genesis.validators.is_empty() {
            genesis.validators.push(Validator {
                name: "local".into(),
                public_key: *validator.public(),
                power: 1,
                peer_id: None,
            });
        }
        let executor = Executor::new(genesis.chain_id.clone(), scf_domain::modules());
        let store = MemTreeStore::new();
        let (commit, tip) = executor.init_genesis(&store, &genesis).map_err(|e| ChainError::Rejected(e.to_string()))?;
        store.apply(&commit);
        Ok(Arc::new(InProcessChain {
            executor,
            proposer: validator.address(),
            inner: Mutex::new(Inner { store, tip, receipts: HashMap::new() }),
        }))
    }

    /// A chain whose `org` genesis registers `orgs` (id, roles) with keys `KeyPair::from_seed("org/{id}")`.
    pub fn with_orgs(chain_id: &str, orgs: &[(&str, &[scf_domain::org::Role])]) -> Result<Arc<Self>, ChainError> {
        let list: Vec<serde_json::Value> = orgs
            .iter()
            .enumerate()
            .map(|(i, (id, roles))| {
                serde_json::json!({
                    "id": id,
                    "name": format!("{id} Co., Ltd."),
                    "credit_code": format!("9131000000000{i:05}"),
                    "roles": roles,
                    "public_key": org_key(id).public(),
                })
            })
            .collect();
        let genesis = Genesis {
            chain_id: chain_id.to_string(),
            genesis_time_ms: now_ms().saturating_sub(1000),
            params: Default::default(),
            validators: vec![],
            app_state: [("org".to_string(), serde_json::json!({ "orgs": list }))].into_iter().collect(),
        };
        Self::new(genesis)
    }

    /// Execute `txs` as one block now.
    pub fn execute(&self, txs: Vec<SignedTx>) -> Result<Vec<Hash32>, ChainError> {
        let mut inner = self.inner.lock().map_err(|_| ChainError::Unavailable("lock poisoned".into()))?;
        let time_ms = now_ms().max(inner.tip.time_ms + 1);
        let exec = self
            .executor
            .execute_block(&inner.store, &inner.tip, time_ms, self.proposer, txs, &|_| false)
            .map_err(|e| ChainError::Rejected(e.to_string()))?;
        inner.store.apply(&exec.state);
        inner.tip = ChainTip::of(&exec.block.header);
        let height = inner.tip.height;
        let mut ids = Vec::new();
        for r in exec.receipts {
            ids.push(r.tx_id);
            inner.receipts.insert(r.tx_id, Committed { height, receipt: r });
        }
        Ok(ids)
    }

    pub fn read(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        let inner = self.inner.lock().map_err(|_| ChainError::Unavailable("lock poisoned".into()))?;
        let view = VersionedState { reader: &inner.store, version: Some(inner.tip.height) };
        view.get(key).map_err(|e| ChainError::Unavailable(e.to_string()))
    }
}

/// The deterministic key of organisation `id` in [`InProcessChain::with_orgs`] chains.
pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("org/{id}"))
}

#[async_trait]
impl ChainClient for InProcessChain {
    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError> {
        let ids = self.execute(vec![tx])?;
        ids.into_iter().next().ok_or_else(|| ChainError::Protocol("no receipt".into()))
    }
    async fn committed(&self, id: &Hash32) -> Result<Option<Committed>, ChainError> {
        let inner = self.inner.lock().map_err(|_| ChainError::Unavailable("lock poisoned".into()))?;
        Ok(inner.receipts.get(id).cloned())
    }
    async fn state_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        self.read(key)
    }
    async fn status(&self) -> Result<ChainStatus, ChainError> {
        let inner = self.inner.lock().map_err(|_| ChainError::Unavailable("lock poisoned".into()))?;
        Ok(ChainStatus {
            chain_id: self.executor.chain_id.clone(),
            height: inner.tip.height,
            time_ms: inner.tip.time_ms,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP chain (the node's client API)
// ---------------------------------------------------------------------------------------------

/// The node's HTTP client API at `base` (e.g. `http://127.0.0.1:26658`).
pub struct HttpChain {
    base: String,
    http: reqwest::Client,
}

impl HttpChain {
    pub fn new(base: &str) -> Result<Self, ChainError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        Ok(HttpChain { base: base.trim_end_matches('/').to_string(), http })
    }

    async fn get_json(&self, path: &str) -> Result<serde_json::Value, ChainError> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.map_err(|e| ChainError::Protocol(e.to_string()))?;
        if !status.is_success() && status.as_u16() != 404 {
            return Err(ChainError::Unavailable(format!("{path}: HTTP {status}: {v}")));
        }
        Ok(v)
    }
}

#[async_trait]
impl ChainClient for HttpChain {
    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError> {
        let resp = self
            .http
            .post(format!("{}/tx", self.base))
            .header("content-type", "application/octet-stream")
            .body(tx.to_bytes())
            .send()
            .await
            .map_err(|e| ChainError::Unavailable(e.to_string()))?;
        let status = resp.status();
        let v: serde_json::Value = resp.json().await.map_err(|e| ChainError::Protocol(e.to_string()))?;
        if let Some(id) = v.get("tx_id").and_then(|x| x.as_str()) {
            return Hash32::from_hex(id).map_err(|e| ChainError::Protocol(e.to_string()));
        }
        let msg = v.get("error").map(|e| e.to_string()).unwrap_or_else(|| v.to_string());
        if status.is_server_error() {
            Err(ChainError::Unavailable(msg))
        } else {
            Err(ChainError::Rejected(msg))
        }
    }
    async fn committed(&self, id: &Hash32) -> Result<Option<Committed>, ChainError> {
        let v = self.get_json(&format!("/tx/{}", id.to_hex())).await?;
        if v.get("status").and_then(|s| s.as_str()) != Some("committed") {
            return Ok(None);
        }
        let height =
            v.get("height").and_then(|h| h.as_u64()).ok_or_else(|| ChainError::Protocol("tx: no height".into()))?;
        let receipt: Receipt = serde_json::from_value(v.get("receipt").cloned().unwrap_or_default())
            .map_err(|e| ChainError::Protocol(format!("tx receipt: {e}")))?;
        Ok(Some(Committed { height, receipt }))
    }
    async fn state_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        let v = self.get_json(&format!("/proof/state?key={}", hex::encode(key))).await?;
        match v.get("value") {
            Some(serde_json::Value::String(h)) => {
                hex::decode(h).map(Some).map_err(|e| ChainError::Protocol(e.to_string()))
            }
            _ => Ok(None),
        }
    }
    async fn status(&self) -> Result<ChainStatus, ChainError> {
        let v = self.get_json("/status").await?;
        serde_json::from_value(v).map_err(|e| ChainError::Protocol(format!("status: {e}")))
    }
}

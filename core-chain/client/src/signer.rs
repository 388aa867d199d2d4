//! Signing typed calls for one account, with the account's nonce tracked here and nowhere else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scf_ledger::crypto::{Address, Hash32, KeyPair};
use scf_ledger::executor::nonce_key;
use scf_ledger::module::ModuleCall;
use scf_ledger::receipt::Receipt;
use scf_ledger::tx::{Call, SignedTx, TxBody};

use crate::chain::Chain;
use crate::error::ChainError;

/// How far ahead of the tip a transaction may be included, by default.
pub const DEFAULT_EXPIRY_BLOCKS: u64 = 100;
/// How many times a submission is signed again after a refusal over the nonce.
const NONCE_ATTEMPTS: usize = 3;

/// Signs calls for one account. The next nonce is read from the chain once and then counted here, so
/// consecutive submissions need not wait for each other's commits; a refusal over the nonce (another
/// client used the account, or one of ours left the mempool) re-reads it and signs again.
pub struct Signer {
    key: KeyPair,
    expiry_blocks: u64,
    next_nonce: tokio::sync::Mutex<Option<u64>>,
}

impl Signer {
    pub fn new(key: KeyPair) -> Signer {
        Signer { key, expiry_blocks: DEFAULT_EXPIRY_BLOCKS, next_nonce: tokio::sync::Mutex::new(None) }
    }

    /// Transactions stay valid for `blocks` blocks after the tip they were signed at.
    pub fn with_expiry(mut self, blocks: u64) -> Signer {
        self.expiry_blocks = blocks;
        self
    }

    pub fn key(&self) -> &KeyPair {
        &self.key
    }

    pub fn address(&self) -> Address {
        self.key.address()
    }

    /// Sign `call`, submit it, and return its id once admitted.
    pub async fn submit<C: ModuleCall>(&self, chain: &dyn Chain, call: &C) -> Result<Hash32, ChainError> {
        self.submit_payload(chain, C::MODULE, call.encode_payload()).await.map(|tx| tx.id())
    }

    /// Sign `call`, submit it and wait for its receipt (a business-rule refusal is a receipt).
    pub async fn call<C: ModuleCall>(
        &self,
        chain: &dyn Chain,
        call: &C,
        timeout: Duration,
    ) -> Result<Receipt, ChainError> {
        let id = self.submit(chain, call).await?;
        self.wait(chain, &id, timeout).await
    }

    /// Wait for a transaction this signer submitted; if it left the mempool uncommitted, the tracked
    /// nonce is forgotten so the next submission reads it from the chain again.
    pub async fn wait(&self, chain: &dyn Chain, id: &Hash32, timeout: Duration) -> Result<Receipt, ChainError> {
        let r = chain.wait(id, timeout).await;
        if matches!(r, Err(ChainError::Dropped(_))) {
            self.resync().await;
        }
        r
    }

    /// Sign `call` with the next nonce and count that nonce as used, without submitting: for a caller
    /// that records the transaction durably before handing it to the chain. If the transaction is
    /// then not admitted, call [`Signer::resync`].
    pub async fn sign<C: ModuleCall>(&self, chain: &dyn Chain, call: &C) -> Result<SignedTx, ChainError> {
        let mut next = self.next_nonce.lock().await;
        let tip = chain.tip().await?.ok_or_else(|| ChainError::Unavailable("no genesis yet".into()))?;
        let nonce = match *next {
            Some(n) => n,
            None => committed_nonce(chain, &self.key.address(), tip.height).await?,
        };
        let tx = self.body(chain, nonce, tip.height, C::MODULE, call.encode_payload()).sign(&self.key);
        *next = Some(nonce + 1);
        Ok(tx)
    }

    fn body(&self, chain: &dyn Chain, nonce: u64, height: u64, module: &str, payload: Vec<u8>) -> TxBody {
        TxBody {
            chain_id: chain.chain_id().to_string(),
            sender: *self.key.public(),
            nonce,
            expiry_height: height + self.expiry_blocks,
            call: Call { module: module.to_string(), payload },
        }
    }

    /// Sign and submit a payload for `module`; returns the admitted transaction. For typed calls use
    /// [`Signer::submit`].
    pub async fn submit_payload(
        &self,
        chain: &dyn Chain,
        module: &str,
        payload: Vec<u8>,
    ) -> Result<SignedTx, ChainError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut next = self.next_nonce.lock().await;
            let tip = chain.tip().await?.ok_or_else(|| ChainError::Unavailable("no genesis yet".into()))?;
            let nonce = match *next {
                Some(n) => n,
                None => committed_nonce(chain, &self.key.address(), tip.height).await?,
            };
            let tx = self.body(chain, nonce, tip.height, module, payload.clone()).sign(&self.key);
            match chain.submit(tx.clone()).await {
                Ok(_) => {
                    *next = Some(nonce + 1);
                    return Ok(tx);
                }
                Err(ChainError::Rejected(r)) if r.is_nonce() && attempt < NONCE_ATTEMPTS => *next = None,
                Err(e) => {
                    *next = None;
                    return Err(e);
                }
            }
        }
    }

    /// Forget the tracked nonce: the next submission reads it from the chain.
    pub async fn resync(&self) {
        *self.next_nonce.lock().await = None;
    }
}

/// The account's next nonce as of committed block `height`.
pub async fn committed_nonce(chain: &dyn Chain, addr: &Address, height: u64) -> Result<u64, ChainError> {
    Ok(match chain.state_get(&nonce_key(addr), Some(height)).await? {
        Some(b) => {
            let arr: [u8; 8] = b
                .as_slice()
                .try_into()
                .map_err(|_| ChainError::Protocol(format!("nonce of {addr}: {} bytes, expected 8", b.len())))?;
            u64::from_le_bytes(arr)
        }
        None => 0,
    })
}

/// One [`Signer`] per account for a service that signs for many accounts (custodial keys), with a
/// bound on how many it keeps: an idle signer is dropped when the bound is reached (its nonce is read
/// from the chain again next time), so per-account state cannot grow without limit.
pub struct Signers {
    capacity: usize,
    inner: Mutex<SignersInner>,
}

#[derive(Default)]
struct SignersInner {
    map: HashMap<Address, (Arc<Signer>, u64)>,
    clock: u64,
}

impl Signers {
    pub fn new(capacity: usize) -> Signers {
        Signers { capacity: capacity.max(1), inner: Mutex::new(SignersInner::default()) }
    }

    /// The signer of `key`'s account (made on first use).
    pub fn get(&self, key: &KeyPair) -> Arc<Signer> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.clock += 1;
        let now = inner.clock;
        let addr = key.address();
        if let Some((s, used)) = inner.map.get_mut(&addr) {
            *used = now;
            return s.clone();
        }
        if inner.map.len() >= self.capacity {
            // Drop the least recently used idle signers (no submission in flight holds them).
            let mut idle: Vec<(u64, Address)> =
                inner.map.iter().filter(|(_, (s, _))| Arc::strong_count(s) == 1).map(|(a, (_, u))| (*u, *a)).collect();
            idle.sort();
            let excess = inner.map.len() + 1 - self.capacity;
            for (_, a) in idle.into_iter().take(excess) {
                inner.map.remove(&a);
            }
        }
        let s = Arc::new(Signer::new(key.clone()));
        inner.map.insert(addr, (s.clone(), now));
        s
    }

    /// How many signers are kept.
    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.map.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

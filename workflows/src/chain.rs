//! The seam between the timer service and a chain: what the service reads (committed blocks with their
//! receipts, the tip's time, state at the tip) and the one thing it writes (a signed transaction). A
//! node implements it over its store and mempool; [`StoreChain`] implements it over a local
//! [`scf_store::Store`] with an in-process mempool the caller drains into its next block (tests, the
//! single-process demo).

use std::sync::{Arc, Mutex};

use scf_ledger::receipt::Receipt;
use scf_ledger::state::{StateError, StateRead};
use scf_ledger::tx::SignedTx;
use scf_store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("chain store: {0}")]
    Store(String),
    #[error("chain: block {height} is missing its receipt for transaction {tx}")]
    MissingReceipt { height: u64, tx: String },
    #[error("chain: submit refused: {0}")]
    Submit(String),
    #[error("chain: no genesis yet")]
    NoGenesis,
}

/// The committed tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    pub height: u64,
    /// Block time of the tip (ms since the epoch) — the only clock timers use.
    pub time_ms: u64,
}

/// A committed block as the service consumes it.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    pub height: u64,
    pub time_ms: u64,
    pub receipts: Vec<Receipt>,
}

pub trait Chain {
    fn chain_id(&self) -> &str;
    fn head(&self) -> Result<Head, ChainError>;
    /// The committed block at `height` with its receipts in block order; `None` above the tip.
    fn block(&self, height: u64) -> Result<Option<CommittedBlock>, ChainError>;
    /// A state value at the tip.
    fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError>;
    /// Hand a signed transaction to the mempool.
    fn submit(&self, tx: SignedTx) -> Result<(), ChainError>;
}

/// State at the tip of a [`Chain`], for the domain's read helpers.
pub struct TipState<'a>(pub &'a dyn Chain);

impl StateRead for TipState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.0.state_get(key).map_err(|e| StateError(e.to_string()))
    }
}

/// Transactions waiting for the next block of a local chain.
#[derive(Clone, Default)]
pub struct Mempool(Arc<Mutex<Vec<SignedTx>>>);

impl Mempool {
    /// Everything submitted since the last call, oldest first.
    pub fn take(&self) -> Vec<SignedTx> {
        match self.0.lock() {
            Ok(mut g) => std::mem::take(&mut *g),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
    /// Forget everything submitted (a crash before the transactions reached a block).
    pub fn drop_all(&self) {
        self.take();
    }
    fn push(&self, tx: SignedTx) {
        match self.0.lock() {
            Ok(mut g) => g.push(tx),
            Err(poisoned) => poisoned.into_inner().push(tx),
        }
    }
}

/// A [`Chain`] over a local RocksDB store.
pub struct StoreChain<'a> {
    store: &'a Store,
    chain_id: String,
    mempool: Mempool,
}

impl<'a> StoreChain<'a> {
    pub fn new(store: &'a Store, chain_id: impl Into<String>, mempool: Mempool) -> Self {
        StoreChain { store, chain_id: chain_id.into(), mempool }
    }
}

fn store_err(e: impl std::fmt::Display) -> ChainError {
    ChainError::Store(e.to_string())
}

impl Chain for StoreChain<'_> {
    fn chain_id(&self) -> &str {
        &self.chain_id
    }
    fn head(&self) -> Result<Head, ChainError> {
        let tip = self.store.tip().map_err(store_err)?.ok_or(ChainError::NoGenesis)?;
        Ok(Head { height: tip.height, time_ms: tip.time_ms })
    }
    fn block(&self, height: u64) -> Result<Option<CommittedBlock>, ChainError> {
        let Some(block) = self.store.block(height).map_err(store_err)? else { return Ok(None) };
        let mut receipts = Vec::with_capacity(block.txs.len());
        for tx in &block.txs {
            let id = tx.id();
            let r = self
                .store
                .receipt(&id)
                .map_err(store_err)?
                .ok_or_else(|| ChainError::MissingReceipt { height, tx: id.to_hex() })?;
            receipts.push(r);
        }
        Ok(Some(CommittedBlock { height, time_ms: block.header.time_ms, receipts }))
    }
    fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, ChainError> {
        self.store.get_state(key).map_err(store_err)
    }
    fn submit(&self, tx: SignedTx) -> Result<(), ChainError> {
        self.mempool.push(tx);
        Ok(())
    }
}

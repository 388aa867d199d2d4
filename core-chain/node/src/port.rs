//! The node as a [`scf_client::Chain`]: services running in the node's process (the GraphQL API, the
//! workflow timers, IoT ingestion) use the same port as they would over HTTP, answered here straight
//! from the store, the mempool and the commit announcements.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use scf_client::{ChainError, CommittedBlock, Rejection};
use scf_ledger::authenticated::StateProof;
use scf_ledger::block::TxInclusionProof;
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::ChainTip;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use tokio::sync::broadcast;

use crate::chain::{Chain, TxStatus, WaitError};
use crate::mempool::SubmitError;

impl SubmitError {
    /// The refusal as every client sees it (the node API's error body).
    pub fn rejection(&self) -> Rejection {
        let message = match self {
            SubmitError::Rejected(r) => r.to_string(),
            SubmitError::Decode(e) => e.to_string(),
            other => other.to_string(),
        };
        Rejection { kind: self.kind().to_string(), message, retryable: self.is_retryable() }
    }
}

fn submit_error(e: SubmitError) -> ChainError {
    match e {
        SubmitError::Internal(m) => ChainError::Unavailable(m),
        other => ChainError::Rejected(other.rejection()),
    }
}

fn storage(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

#[async_trait]
impl scf_client::Chain for Chain {
    fn chain_id(&self) -> &str {
        &self.genesis.chain_id
    }

    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError> {
        // Admission verifies the signature: blocking work, kept off the async workers.
        tokio::task::block_in_place(|| Chain::submit(self, &tx)).map_err(submit_error)
    }

    async fn receipt(&self, id: &Hash32) -> Result<Option<Receipt>, ChainError> {
        self.store.receipt(id).map_err(storage)
    }

    async fn is_pending(&self, id: &Hash32) -> Result<bool, ChainError> {
        Ok(self.mempool.contains(id))
    }

    async fn wait(&self, id: &Hash32, timeout: Duration) -> Result<Receipt, ChainError> {
        match self.wait_committed(id, timeout, true).await {
            Ok(TxStatus::Committed { receipt, .. }) => Ok(receipt),
            Ok(TxStatus::Pending) => Err(ChainError::Timeout(timeout)),
            Ok(TxStatus::Unknown) => Err(ChainError::Dropped(id.to_hex())),
            Err(WaitError::Stopped) => Err(ChainError::Unavailable("the node stopped".into())),
            Err(WaitError::Store(e)) => Err(storage(e)),
        }
    }

    async fn dry_run(&self, tx: &SignedTx) -> Result<Receipt, ChainError> {
        let tip = self.tip().map_err(storage)?;
        let store = self.store.as_ref();
        Ok(tokio::task::block_in_place(|| self.executor.dry_run(store, &tip, scf_client::now_ms(), tx))?)
    }

    async fn tip(&self) -> Result<Option<ChainTip>, ChainError> {
        self.store.tip().map_err(storage)
    }

    async fn block(&self, height: u64) -> Result<Option<Arc<CommittedBlock>>, ChainError> {
        Ok(self.committed_block(height).map_err(storage)?.map(Arc::new))
    }

    async fn tx_proof(&self, id: &Hash32) -> Result<Option<TxInclusionProof>, ChainError> {
        self.store.tx_proof(id).map_err(storage)
    }

    async fn state_get(&self, key: &[u8], height: Option<u64>) -> Result<Option<Vec<u8>>, ChainError> {
        self.state(height)?.get(key).map_err(storage)
    }

    async fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        self.store.state_proof(key, height).map_err(storage)
    }

    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, ChainError> {
        Ok(match height {
            Some(h) => Box::new(self.store.state_at(h)),
            None => Box::new(self.store.latest_state().map_err(storage)?),
        })
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        Chain::subscribe(self)
    }
}

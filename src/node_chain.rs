//! One adapter from the BFT node to every service that runs beside it in one process: the GraphQL
//! API ([`scf_graphql::Chain`]), the IoT ingestion service ([`scf_iot_ingest::chain::ChainClient`]) and
//! the workflow timer service ([`scf_workflows::chain::Chain`]). Each of those crates declares the few
//! things it needs from a chain; this file answers them from the node's store and mempool, so none of
//! them depends on the node.

use std::sync::Arc;
use std::time::Duration;

use scf_ledger::authenticated::StateProof;
use scf_ledger::block::{Block, TxInclusionProof};
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::ChainTip;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use scf_node::{SubmitError, TxStatus};
use tokio::sync::broadcast;

/// The node's shared ledger, seen by in-process services.
#[derive(Clone)]
pub struct NodeChain {
    chain: Arc<scf_node::Chain>,
    heights: broadcast::Sender<u64>,
}

impl NodeChain {
    /// Wrap a running node's ledger. Must be called inside a tokio runtime: a task forwards commit
    /// notifications as heights.
    pub fn new(chain: Arc<scf_node::Chain>) -> NodeChain {
        let (heights, _) = broadcast::channel(1024);
        let mut rx = chain.subscribe();
        let tx = heights.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(b) => {
                        let _ = tx.send(b.height);
                    }
                    // Receivers re-read the store from their own position; a lagged height is harmless.
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        NodeChain { chain, heights }
    }

    pub fn inner(&self) -> &Arc<scf_node::Chain> {
        &self.chain
    }

    /// Admit `tx` and wait until it is committed (or `timeout` passes).
    async fn submit_and_wait(&self, tx: SignedTx, timeout: Duration) -> Result<Receipt, scf_graphql::ChainError> {
        use scf_graphql::ChainError;
        let id = self.chain.submit(&tx).map_err(graphql_submit_error)?;
        match self.chain.wait_committed(&id, timeout, true).await {
            Ok(TxStatus::Committed { receipt, .. }) => Ok(receipt),
            Ok(TxStatus::Pending) => Err(ChainError::Timeout(timeout)),
            Ok(TxStatus::Unknown) => {
                Err(ChainError::Unavailable(format!("transaction {id} left the mempool uncommitted")))
            }
            Err(scf_node::WaitError::Stopped) => Err(ChainError::Unavailable("the node stopped".into())),
            Err(scf_node::WaitError::Store(e)) => Err(ChainError::Storage(e.to_string())),
        }
    }
}

fn graphql_submit_error(e: SubmitError) -> scf_graphql::ChainError {
    use scf_graphql::ChainError;
    match e {
        SubmitError::Rejected(r) => ChainError::Rejected(r),
        other => ChainError::Unavailable(other.to_string()),
    }
}

fn storage(e: impl std::fmt::Display) -> scf_graphql::ChainError {
    scf_graphql::ChainError::Storage(e.to_string())
}

impl scf_graphql::Chain for NodeChain {
    fn chain_id(&self) -> &str {
        &self.chain.genesis.chain_id
    }

    fn submit(
        &self,
        tx: SignedTx,
        timeout: Duration,
    ) -> scf_graphql::chain::ChainFuture<'_, Result<Receipt, scf_graphql::ChainError>> {
        Box::pin(self.submit_and_wait(tx, timeout))
    }

    fn tip(&self) -> Result<Option<ChainTip>, scf_graphql::ChainError> {
        self.chain.store.tip().map_err(storage)
    }

    fn block(&self, height: u64) -> Result<Option<Block>, scf_graphql::ChainError> {
        self.chain.store.block(height).map_err(storage)
    }

    fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, scf_graphql::ChainError> {
        self.chain.store.receipt(tx_id).map_err(storage)
    }

    fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, scf_graphql::ChainError> {
        self.chain.store.tx_proof(tx_id).map_err(storage)
    }

    fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, scf_graphql::ChainError> {
        self.chain.store.state_proof(key, height).map_err(storage)
    }

    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, scf_graphql::ChainError> {
        Ok(match height {
            Some(h) => Box::new(self.chain.store.state_at(h)),
            None => Box::new(self.chain.store.latest_state().map_err(storage)?),
        })
    }

    fn subscribe_commits(&self) -> broadcast::Receiver<u64> {
        self.heights.subscribe()
    }
}

#[async_trait::async_trait]
impl scf_iot_ingest::chain::ChainClient for NodeChain {
    async fn submit(&self, tx: SignedTx) -> Result<Hash32, scf_iot_ingest::chain::ChainError> {
        use scf_iot_ingest::chain::ChainError;
        self.chain.submit(&tx).map_err(|e| match e {
            SubmitError::Full { .. } | SubmitError::SenderLimit { .. } | SubmitError::Internal(_) => {
                ChainError::Unavailable(e.to_string())
            }
            other => ChainError::Rejected(other.to_string()),
        })
    }

    async fn committed(
        &self,
        id: &Hash32,
    ) -> Result<Option<scf_iot_ingest::chain::Committed>, scf_iot_ingest::chain::ChainError> {
        match self.chain.tx_status(id) {
            Ok(TxStatus::Committed { height, receipt, .. }) => {
                Ok(Some(scf_iot_ingest::chain::Committed { height, receipt }))
            }
            Ok(_) => Ok(None),
            Err(e) => Err(scf_iot_ingest::chain::ChainError::Unavailable(e.to_string())),
        }
    }

    async fn state_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, scf_iot_ingest::chain::ChainError> {
        let unavailable = |e: String| scf_iot_ingest::chain::ChainError::Unavailable(e);
        let state = self.chain.store.latest_state().map_err(|e| unavailable(e.to_string()))?;
        state.get(key).map_err(|e| unavailable(e.to_string()))
    }

    async fn status(&self) -> Result<scf_iot_ingest::chain::ChainStatus, scf_iot_ingest::chain::ChainError> {
        let tip = self.chain.tip().map_err(|e| scf_iot_ingest::chain::ChainError::Unavailable(e.to_string()))?;
        Ok(scf_iot_ingest::chain::ChainStatus {
            chain_id: self.chain.genesis.chain_id.clone(),
            height: tip.height,
            time_ms: tip.time_ms,
        })
    }
}

impl scf_workflows::chain::Chain for NodeChain {
    fn chain_id(&self) -> &str {
        &self.chain.genesis.chain_id
    }

    fn head(&self) -> Result<scf_workflows::chain::Head, scf_workflows::chain::ChainError> {
        let tip = self.chain.tip().map_err(|e| scf_workflows::chain::ChainError::Store(e.to_string()))?;
        Ok(scf_workflows::chain::Head { height: tip.height, time_ms: tip.time_ms })
    }

    fn block(
        &self,
        height: u64,
    ) -> Result<Option<scf_workflows::chain::CommittedBlock>, scf_workflows::chain::ChainError> {
        use scf_workflows::chain::ChainError;
        let Some(block) = self.chain.store.block(height).map_err(|e| ChainError::Store(e.to_string()))? else {
            return Ok(None);
        };
        let receipts =
            scf_graphql::Chain::block_receipts(self, &block).map_err(|e| ChainError::Store(e.to_string()))?;
        Ok(Some(scf_workflows::chain::CommittedBlock { height, time_ms: block.header.time_ms, receipts }))
    }

    fn state_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, scf_workflows::chain::ChainError> {
        self.chain.store.get_state(key).map_err(|e| scf_workflows::chain::ChainError::Store(e.to_string()))
    }

    fn submit(&self, tx: SignedTx) -> Result<(), scf_workflows::chain::ChainError> {
        self.chain.submit(&tx).map(|_| ()).map_err(|e| scf_workflows::chain::ChainError::Submit(e.to_string()))
    }
}

//! The seam between the API and the node. The API never talks to RocksDB or consensus directly: it
//! submits signed transactions, reads committed blocks (for the indexer) and reads state (for domain
//! read helpers) through [`Chain`]. Today [`crate::devchain::DevChain`] implements it in process; the
//! BFT node (`core-chain/node`) will implement it too, without the API changing.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use scf_ledger::authenticated::StateProof;
use scf_ledger::block::{Block, TxInclusionProof};
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::{ChainTip, TxRejection};
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use tokio::sync::broadcast;

/// Boxed future, so that [`Chain`] stays object safe (`Arc<dyn Chain>`).
pub type ChainFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why the chain did not give an answer. A business-rule refusal is *not* an error here: it is a
/// committed receipt with a failed outcome.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ChainError {
    /// The transaction is not admissible (signature, nonce, expiry, size, module); nothing was committed.
    #[error("transaction rejected: {0}")]
    Rejected(TxRejection),
    /// The transaction was not committed within the caller's deadline (it may still be later).
    #[error("no receipt within {0:?}")]
    Timeout(Duration),
    /// The chain is shutting down or its block producer stopped.
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    /// Storage failure below the chain.
    #[error("chain storage: {0}")]
    Storage(String),
}

/// What the API needs from a node.
pub trait Chain: Send + Sync + 'static {
    /// The chain id transactions must carry.
    fn chain_id(&self) -> &str;
    /// Submit a signed transaction and wait (at most `timeout`) for its receipt in a committed block.
    fn submit(&self, tx: SignedTx, timeout: Duration) -> ChainFuture<'_, Result<Receipt, ChainError>>;
    /// The committed tip (height 0 = genesis only), `None` before genesis.
    fn tip(&self) -> Result<Option<ChainTip>, ChainError>;
    /// A committed block.
    fn block(&self, height: u64) -> Result<Option<Block>, ChainError>;
    /// A committed transaction's receipt.
    fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, ChainError>;
    /// Merkle proof that a transaction is in its block.
    fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, ChainError>;
    /// Sparse Merkle proof of a state key after block `height`.
    fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError>;
    /// Read-only state after block `height` (`None` = the tip), for the domain's read helpers.
    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, ChainError>;
    /// Heights of newly committed blocks, in order. Lagging receivers must re-read from the store.
    fn subscribe_commits(&self) -> broadcast::Receiver<u64>;

    /// Receipts of every transaction of a block, in block order.
    fn block_receipts(&self, block: &Block) -> Result<Vec<Receipt>, ChainError> {
        let mut out = Vec::with_capacity(block.txs.len());
        for tx in &block.txs {
            let id = tx.id();
            match self.receipt(&id)? {
                Some(r) => out.push(r),
                None => return Err(ChainError::Storage(format!("receipt of committed tx {id} is missing"))),
            }
        }
        Ok(out)
    }
}

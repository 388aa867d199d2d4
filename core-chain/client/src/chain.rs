//! The [`Chain`] trait: everything a service beside a node needs from it — submit a signed
//! transaction and learn its receipt, read the tip, committed blocks *with their receipts*, state and
//! proofs at a height, and follow committed blocks in order ([`Follower`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use scf_ledger::authenticated::StateProof;
use scf_ledger::block::{Block, TxInclusionProof};
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::ChainTip;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::{StateError, StateRead};
use scf_ledger::tx::SignedTx;
use tokio::sync::broadcast;

use crate::error::ChainError;

/// A committed block with the receipts of its transactions, in block order: what the indexer, the
/// workflow timers and subscriptions consume, delivered as a fact instead of re-read from storage.
#[derive(Clone, Debug)]
pub struct CommittedBlock {
    pub hash: Hash32,
    pub block: Block,
    pub receipts: Vec<Receipt>,
}

impl CommittedBlock {
    /// Pairs a block with its receipts; `receipts` must be the block's, in block order.
    pub fn new(block: Block, receipts: Vec<Receipt>) -> CommittedBlock {
        CommittedBlock { hash: block.hash(), block, receipts }
    }
    pub fn height(&self) -> u64 {
        self.block.header.height
    }
    /// Block time (ms since the Unix epoch): the only clock business rules and timers use.
    pub fn time_ms(&self) -> u64 {
        self.block.header.time_ms
    }
}

/// Milliseconds since the Unix epoch from the wall clock (block proposals, device timestamps, skew
/// checks). Never used inside execution, where time is the block's.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// How often a waiter that missed a commit notification looks again.
const POLL: Duration = Duration::from_millis(250);

/// A chain, seen by a service: a node in this process, a node over HTTP ([`crate::HttpChain`]), or an
/// in-process test chain ([`crate::InProcessChain`]).
#[async_trait]
pub trait Chain: Send + Sync + 'static {
    /// The chain id transactions must carry.
    fn chain_id(&self) -> &str;

    /// Hand a signed transaction to the mempool; `Ok(id)` once admitted.
    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError>;

    /// A committed transaction's receipt (`None` while pending or unknown).
    async fn receipt(&self, id: &Hash32) -> Result<Option<Receipt>, ChainError>;

    /// Whether the transaction is still waiting in the mempool (`false` once committed or dropped).
    async fn is_pending(&self, id: &Hash32) -> Result<bool, ChainError>;

    /// Wait until `id` is committed, at most `timeout`. Fails early with [`ChainError::Dropped`] when
    /// the transaction is neither pending nor committed (it left the mempool uncommitted).
    async fn wait(&self, id: &Hash32, timeout: Duration) -> Result<Receipt, ChainError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut commits = self.subscribe();
        loop {
            if let Some(r) = self.receipt(id).await? {
                return Ok(r);
            }
            if !self.is_pending(id).await? {
                // Committed between the two reads, or really gone.
                return match self.receipt(id).await? {
                    Some(r) => Ok(r),
                    None => Err(ChainError::Dropped(id.to_hex())),
                };
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ChainError::Timeout(timeout));
            }
            let wake = deadline.min(tokio::time::Instant::now() + POLL);
            if let Ok(Err(broadcast::error::RecvError::Closed)) = tokio::time::timeout_at(wake, commits.recv()).await {
                commits = self.subscribe();
            }
        }
    }

    /// Submit and wait for the receipt.
    async fn submit_and_wait(&self, tx: SignedTx, timeout: Duration) -> Result<Receipt, ChainError> {
        let id = self.submit(tx).await?;
        self.wait(&id, timeout).await
    }

    /// The receipt `tx` would have if it were the next transaction committed, computed on the tip's
    /// state without writing anything. Admission refusals are [`ChainError::Rejected`].
    async fn dry_run(&self, tx: &SignedTx) -> Result<Receipt, ChainError>;

    /// The committed tip (height 0 = genesis only), `None` before genesis.
    async fn tip(&self) -> Result<Option<ChainTip>, ChainError>;

    /// A committed block with its receipts; `None` above the tip (or for height 0).
    async fn block(&self, height: u64) -> Result<Option<Arc<CommittedBlock>>, ChainError>;

    /// Merkle proof that a committed transaction is in its block.
    async fn tx_proof(&self, id: &Hash32) -> Result<Option<TxInclusionProof>, ChainError>;

    /// A state value after block `height` (`None` = the tip).
    async fn state_get(&self, key: &[u8], height: Option<u64>) -> Result<Option<Vec<u8>>, ChainError>;

    /// Sparse Merkle proof of a state key after block `height`.
    async fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError>;

    /// Read-only state after block `height` (`None` = the tip), for the domain's read helpers, which
    /// are synchronous. Local chains answer from their store; a remote chain fetches each key, blocking
    /// the calling thread (on a multi-thread runtime the worker hands its other tasks over first).
    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, ChainError>;

    /// Blocks committed from now on, with their receipts, as they commit. A receiver that lags loses
    /// blocks (never blocks the chain); [`Follower`] fills such gaps from [`Chain::block`].
    fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>>;
}

/// The Borsh value under a string state key at the tip, decoded (`None` when absent).
pub async fn load<T: borsh::BorshDeserialize>(chain: &dyn Chain, key: &str) -> Result<Option<T>, ChainError> {
    match chain.state_get(key.as_bytes(), None).await? {
        None => Ok(None),
        Some(b) => borsh::from_slice(&b).map(Some).map_err(|e| ChainError::Protocol(format!("state {key}: {e}"))),
    }
}

/// Every committed block from a starting height, in order and without gaps: live blocks as they
/// are announced, and blocks missed (before subscribing, or while lagging) read back with
/// [`Chain::block`].
pub struct Follower {
    chain: Arc<dyn Chain>,
    live: broadcast::Receiver<Arc<CommittedBlock>>,
    next: u64,
}

impl Follower {
    /// Follow from block `next` (1 = the first block after genesis).
    pub fn new(chain: Arc<dyn Chain>, next: u64) -> Follower {
        let live = chain.subscribe();
        Follower { chain, live, next }
    }

    /// The height [`Follower::next`] returns next.
    pub fn position(&self) -> u64 {
        self.next
    }

    /// Skip to `next` (after the consumer processed blocks by other means).
    pub fn seek(&mut self, next: u64) {
        self.next = next;
    }

    /// The next block, waiting for it to be committed if need be.
    pub async fn next(&mut self) -> Result<Arc<CommittedBlock>, ChainError> {
        loop {
            match self.live.try_recv() {
                Ok(b) if b.height() == self.next => return Ok(self.advance(b)),
                // Older than wanted: already consumed. Newer: one was missed; read it back below.
                Ok(b) if b.height() < self.next => continue,
                Ok(_) | Err(broadcast::error::TryRecvError::Lagged(_)) | Err(broadcast::error::TryRecvError::Empty) => {
                }
                Err(broadcast::error::TryRecvError::Closed) => self.live = self.chain.subscribe(),
            }
            if let Some(b) = self.chain.block(self.next).await? {
                return Ok(self.advance(b));
            }
            // Not committed yet: wait for an announcement (or poll, should one be lost).
            match tokio::time::timeout(POLL, self.live.recv()).await {
                Ok(Ok(b)) if b.height() == self.next => return Ok(self.advance(b)),
                Ok(Err(broadcast::error::RecvError::Closed)) => self.live = self.chain.subscribe(),
                _ => {}
            }
        }
    }

    fn advance(&mut self, b: Arc<CommittedBlock>) -> Arc<CommittedBlock> {
        self.next = b.height() + 1;
        b
    }
}

/// State read key by key through [`Chain::state_get`] at a fixed height, for chains without local
/// storage.
pub struct RemoteState<'a> {
    pub chain: &'a dyn Chain,
    pub height: Option<u64>,
}

impl StateRead for RemoteState<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        block_on(self.chain.state_get(key, self.height))
            .map_err(|e| StateError(e.to_string()))?
            .map_err(|e| StateError(e.to_string()))
    }
}

/// Run a future to completion from synchronous code: inside a multi-thread runtime the worker hands
/// its other tasks over first; outside any runtime a small one is made for the call.
pub fn block_on<F: std::future::Future>(fut: F) -> Result<F::Output, ChainError> {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => {
            Ok(tokio::task::block_in_place(|| h.block_on(fut)))
        }
        Ok(_) => Err(ChainError::Unavailable(
            "a remote chain's state is read synchronously only on a multi-thread tokio runtime".into(),
        )),
        Err(_) => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ChainError::Unavailable(format!("runtime for a blocking state read: {e}")))?;
            Ok(rt.block_on(fut))
        }
    }
}

//! The node's shared ledger: store, executor, mempool and commit notifications. The consensus app loop
//! writes through it; the client API and [`crate::NodeHandle`] read and submit through it.

use std::sync::{Arc, RwLock};

use scf_ledger::block::{Block, TxInclusionProof};
use scf_ledger::crypto::Hash32;
use scf_ledger::executor::{ChainTip, Executor};
use scf_ledger::genesis::{Genesis, Validator};
use scf_ledger::receipt::Receipt;
use scf_ledger::tx::SignedTx;
use scf_store::{Store, StoreError};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};

use crate::mempool::{Candidate, Mempool, SubmitError};

pub use scf_client::wire::TxStatus;
pub use scf_client::CommittedBlock;

/// Why [`Chain::wait_committed`] could not tell.
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the node stopped")]
    Stopped,
}

/// Consensus progress, updated by the app loop.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConsensusProgress {
    pub height: u64,
    pub round: i64,
    pub peers: usize,
}

/// Everything a node shares between consensus, API and embedding code.
pub struct Chain {
    pub store: Arc<Store>,
    pub executor: Arc<Executor>,
    pub mempool: Mempool,
    pub genesis: Genesis,
    commits: broadcast::Sender<Arc<CommittedBlock>>,
    gossip: RwLock<Option<mpsc::Sender<Vec<u8>>>>,
    pub progress: RwLock<ConsensusProgress>,
}

pub use scf_client::now_ms;

impl Chain {
    pub fn new(store: Arc<Store>, executor: Arc<Executor>, mempool: Mempool, genesis: Genesis) -> Self {
        let (commits, _) = broadcast::channel(1024);
        Chain {
            store,
            executor,
            mempool,
            genesis,
            commits,
            gossip: RwLock::new(None),
            progress: RwLock::new(ConsensusProgress::default()),
        }
    }

    /// Where locally admitted transactions go to be gossiped ([`crate::gossip`]).
    pub(crate) fn set_gossip(&self, tx: mpsc::Sender<Vec<u8>>) {
        if let Ok(mut r) = self.gossip.write() {
            *r = Some(tx);
        }
    }

    /// Receive every block committed from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        self.commits.subscribe()
    }

    pub(crate) fn announce(&self, block: Arc<CommittedBlock>) {
        // No subscriber is fine.
        let _ = self.commits.send(block);
    }

    pub fn tip(&self) -> Result<ChainTip, StoreError> {
        self.store.tip()?.ok_or(StoreError::NoGenesis)
    }

    /// Current validator set (from state).
    pub fn validators(&self) -> Result<Vec<Validator>, StoreError> {
        let state = self.store.latest_state()?;
        Ok(scf_ledger::executor::validator_set(&state)?)
    }

    /// The validator set that validates block `height`, read from the committed tip's state: the
    /// current set, replaced by a governance-scheduled set whose activation height is `<= height`
    /// ([`scf_ledger::validators::validator_set_at`]). Every node reads the same committed state, so a
    /// change takes effect at exactly its activation height everywhere, without a restart.
    pub fn validators_at(&self, height: u64) -> Result<Vec<Validator>, StoreError> {
        let state = self.store.latest_state()?;
        Ok(scf_ledger::validators::validator_set_at(&state, height)?)
    }

    /// Decode and admit wire-encoded transactions (one batch: signatures verified in parallel) and,
    /// if `publish` (they were submitted here, not gossiped from a peer), gossip the admitted ones.
    pub fn submit_raw(&self, raws: Vec<Vec<u8>>, publish: bool) -> Vec<Result<Hash32, SubmitError>> {
        let mut results: Vec<Option<Result<Hash32, SubmitError>>> = Vec::with_capacity(raws.len());
        let mut batch = Vec::new();
        let mut slots = Vec::new();
        for (i, raw) in raws.iter().enumerate() {
            match SignedTx::from_bytes(raw) {
                Ok(tx) => {
                    batch.push(Candidate { tx, len: raw.len() });
                    slots.push(i);
                    results.push(None);
                }
                Err(e) => results.push(Some(Err(SubmitError::Decode(e)))),
            }
        }
        if !batch.is_empty() {
            let admitted = match (self.store.tip(), self.store.latest_state()) {
                (Ok(Some(tip)), Ok(state)) => {
                    self.mempool.admit(&self.executor, &state, tip.height + 1, tip.time_ms, batch)
                }
                (Err(e), _) | (_, Err(e)) => batch.iter().map(|_| Err(SubmitError::Internal(e.to_string()))).collect(),
                (Ok(None), _) => batch.iter().map(|_| Err(SubmitError::Internal("no genesis".into()))).collect(),
            };
            for (slot, r) in slots.into_iter().zip(admitted) {
                if publish && r.is_ok() {
                    self.gossip_tx(raws[slot].clone());
                }
                results[slot] = Some(r);
            }
        }
        results.into_iter().map(|r| r.unwrap_or_else(|| Err(SubmitError::Internal("lost result".into())))).collect()
    }

    /// Admit one signed transaction.
    pub fn submit(&self, tx: &SignedTx) -> Result<Hash32, SubmitError> {
        self.submit_raw(vec![tx.to_bytes()], true)
            .pop()
            .unwrap_or_else(|| Err(SubmitError::Internal("no result".into())))
    }

    fn gossip_tx(&self, raw: Vec<u8>) {
        if let Ok(r) = self.gossip.read() {
            if let Some(tx) = r.as_ref() {
                // Gossip is best effort: a full queue only delays inclusion until this node proposes.
                let _ = tx.try_send(raw);
            }
        }
    }

    /// Wait until `id` is committed, or `timeout` passes, and return the last status seen (committed,
    /// or pending / unknown at the deadline). With `unknown_is_final` it also returns as soon as the
    /// transaction is neither pending nor committed (it left the mempool uncommitted) — for callers
    /// that submitted it just before. Wakes on each committed block, not by polling.
    pub async fn wait_committed(
        &self,
        id: &Hash32,
        timeout: std::time::Duration,
        unknown_is_final: bool,
    ) -> Result<TxStatus, WaitError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut commits = self.subscribe();
        loop {
            let status = self.tx_status(id)?;
            let done = match status {
                TxStatus::Committed { .. } => true,
                TxStatus::Unknown => unknown_is_final,
                TxStatus::Pending => false,
            };
            if done || tokio::time::Instant::now() >= deadline {
                return Ok(status);
            }
            match tokio::time::timeout_at(deadline, commits.recv()).await {
                Ok(Err(broadcast::error::RecvError::Closed)) => return Err(WaitError::Stopped),
                // A commit, lagging behind commits, or the deadline: look at the status again.
                Ok(Ok(_)) | Ok(Err(broadcast::error::RecvError::Lagged(_))) | Err(_) => {}
            }
        }
    }

    pub fn tx_status(&self, id: &Hash32) -> Result<TxStatus, StoreError> {
        if let Some((height, index)) = self.store.tx_location(id)? {
            if let Some(receipt) = self.store.receipt(id)? {
                return Ok(TxStatus::Committed { height, index, receipt });
            }
        }
        Ok(if self.mempool.contains(id) { TxStatus::Pending } else { TxStatus::Unknown })
    }

    pub fn block(&self, height: u64) -> Result<Option<Block>, StoreError> {
        self.store.block(height)
    }

    /// A committed block with its receipts, in block order.
    pub fn committed_block(&self, height: u64) -> Result<Option<CommittedBlock>, StoreError> {
        let Some(block) = self.store.block(height)? else { return Ok(None) };
        Ok(Some(CommittedBlock::new(block.clone(), self.block_receipts(&block)?)))
    }

    /// The receipts of a stored block's transactions, in block order.
    pub fn block_receipts(&self, block: &Block) -> Result<Vec<Receipt>, StoreError> {
        let mut out = Vec::with_capacity(block.txs.len());
        for tx in &block.txs {
            let id = tx.id();
            let r = self.store.receipt(&id)?.ok_or_else(|| StoreError::Corrupt {
                what: format!("receipt of {id} in block {}", block.header.height),
                reason: "missing".into(),
            })?;
            out.push(r);
        }
        Ok(out)
    }

    /// A transaction's inclusion proof together with its block's certificate.
    pub fn tx_proof(
        &self,
        id: &Hash32,
    ) -> Result<Option<(TxInclusionProof, Option<scf_ledger::block::CommitCertificate>)>, StoreError> {
        let Some(proof) = self.store.tx_proof(id)? else { return Ok(None) };
        let cert = self.store.block(proof.header.height)?.and_then(|b| b.certificate);
        Ok(Some((proof, cert)))
    }
}

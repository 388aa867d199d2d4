//! A one-validator chain in this process, for tests and tools: the real [`Executor`] with the modules
//! the caller gives, over any [`BlockStore`] (in memory, or RocksDB for tests that restart), with the
//! node's admission rules at submission and a commit certificate on every block when it has a
//! validator key. No consensus and no network: blocks are produced when the caller says
//! ([`Production::Manual`]) or as soon as transactions arrive ([`Production::Auto`]).

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use scf_ledger::authenticated::{StateProof, VersionedState};
use scf_ledger::block::{CommitCertificate, CommitSignature, TxInclusionProof};
use scf_ledger::block_store::{BlockStore, MemLedger};
use scf_ledger::codec::encode;
use scf_ledger::crypto::{Address, Hash32, KeyPair};
use scf_ledger::executor::{account_nonce, chain_params, ChainTip, Executor, TxRejection};
use scf_ledger::genesis::Genesis;
use scf_ledger::module::ModuleRegistry;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use tokio::sync::{broadcast, Notify};

use crate::chain::{now_ms, Chain, CommittedBlock};
use crate::error::ChainError;

/// Most transactions one block takes.
pub const MAX_BLOCK_TXS: usize = 2_000;

/// When blocks are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Production {
    /// Only when the caller asks ([`InProcessChain::produce`]); tests decide what shares a block.
    Manual,
    /// A task makes a block of whatever was submitted, as soon as something is (needs a tokio runtime).
    Auto,
}

/// An in-process chain. Cheap to clone (shared state).
pub struct InProcessChain<S: BlockStore = MemLedger> {
    inner: Arc<Inner<S>>,
}

impl<S: BlockStore> Clone for InProcessChain<S> {
    fn clone(&self) -> Self {
        InProcessChain { inner: self.inner.clone() }
    }
}

struct Inner<S> {
    store: Arc<S>,
    executor: Executor,
    chain_id: String,
    validator: Option<KeyPair>,
    proposer: Address,
    /// Block time override (ms since the epoch); 0 = wall clock.
    fixed_time_ms: AtomicU64,
    commits: broadcast::Sender<Arc<CommittedBlock>>,
    /// Admitted, not yet in a block: in order, with each sender's next nonce.
    pool: Mutex<Pool>,
    /// One block at a time.
    producing: Mutex<()>,
    wake: Arc<Notify>,
}

impl<S> Drop for Inner<S> {
    fn drop(&mut self) {
        // Lets an automatic producer see the chain is gone (and release the store) and end.
        self.wake.notify_one();
    }
}

#[derive(Default)]
struct Pool {
    txs: Vec<SignedTx>,
    ids: HashSet<Hash32>,
    next_nonce: BTreeMap<Address, u64>,
}

fn storage(e: impl std::fmt::Display) -> ChainError {
    ChainError::storage(e)
}

impl InProcessChain<MemLedger> {
    /// A chain in memory.
    pub fn in_memory(genesis: &Genesis, modules: ModuleRegistry, production: Production) -> Result<Self, ChainError> {
        Self::open(MemLedger::new(), genesis, modules, production)
    }
}

impl<S: BlockStore> InProcessChain<S> {
    /// Apply `genesis` to `store` if it is new (a store of another genesis is refused).
    pub fn open(
        store: S,
        genesis: &Genesis,
        modules: ModuleRegistry,
        production: Production,
    ) -> Result<Self, ChainError> {
        Self::open_with(store, genesis, modules, production, None)
    }

    /// As [`InProcessChain::open`], and every block gets the commit certificate consensus would
    /// attach: `validator`'s precommit over the block hash (round 0). With a genesis whose one
    /// validator is that key, blocks verify end to end (header → certificate → validator set).
    pub fn open_with(
        store: S,
        genesis: &Genesis,
        modules: ModuleRegistry,
        production: Production,
        validator: Option<KeyPair>,
    ) -> Result<Self, ChainError> {
        let executor = Executor::new(genesis.chain_id.clone(), modules);
        store.init_genesis(&executor, genesis).map_err(storage)?;
        let (commits, _) = broadcast::channel(1024);
        let chain = InProcessChain {
            inner: Arc::new(Inner {
                store: Arc::new(store),
                executor,
                chain_id: genesis.chain_id.clone(),
                proposer: validator.as_ref().map(|k| k.address()).unwrap_or(Address([0; 20])),
                validator,
                fixed_time_ms: AtomicU64::new(0),
                commits,
                pool: Mutex::new(Pool::default()),
                producing: Mutex::new(()),
                wake: Arc::new(Notify::new()),
            }),
        };
        if production == Production::Auto {
            let handle = tokio::runtime::Handle::try_current()
                .map_err(|_| ChainError::Unavailable("automatic block production needs a tokio runtime".into()))?;
            handle.spawn(produce_forever(Arc::downgrade(&chain.inner), chain.inner.wake.clone()));
        }
        Ok(chain)
    }

    pub fn store(&self) -> &Arc<S> {
        &self.inner.store
    }

    pub fn executor(&self) -> &Executor {
        &self.inner.executor
    }

    /// Blocks from now on carry this time (still strictly increasing); `None` returns to the wall clock.
    pub fn set_time_ms(&self, time_ms: Option<u64>) {
        self.inner.fixed_time_ms.store(time_ms.unwrap_or(0), Ordering::SeqCst);
    }

    /// The committed tip.
    pub fn tip_now(&self) -> Result<ChainTip, ChainError> {
        self.inner.store.tip().map_err(storage)?.ok_or_else(|| ChainError::Unavailable("no genesis".into()))
    }

    /// Read-only state at the tip (synchronous, for tests).
    pub fn state_now(&self) -> Result<VersionedState<'_, S>, ChainError> {
        Ok(VersionedState { reader: self.inner.store.as_ref(), version: Some(self.tip_now()?.height) })
    }

    /// Admission as the node does it: signature, chain id, size, expiry, module, and the nonce
    /// counted through what is already waiting. Admitted transactions wait for the next block.
    pub fn admit(&self, tx: SignedTx) -> Result<Hash32, ChainError> {
        let id = tx.id();
        let tip = self.tip_now()?;
        let state = VersionedState { reader: self.inner.store.as_ref(), version: Some(tip.height) };
        let params = chain_params(&state).map_err(storage)?;
        self.inner.executor.check_stateless(&tx, encode(&tx).len(), tip.height + 1, &params)?;
        // As a node's mempool: only members' active accounts (and validators), before the signature.
        self.inner.executor.admit_sender(&state, &tx.sender_address(), tip.height + 1, tip.time_ms).map_err(
            |e| match e {
                scf_ledger::executor::ApplyError::Rejected(r) => ChainError::from(r),
                scf_ledger::executor::ApplyError::State(e) => storage(e),
            },
        )?;
        tx.verify_signature().map_err(TxRejection::BadSignature)?;
        let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        if pool.ids.contains(&id) {
            return Err(ChainError::Rejected(crate::error::Rejection::new(
                "duplicate",
                format!("tx: {id} is already pending"),
                false,
            )));
        }
        let addr = tx.sender_address();
        let expected = match pool.next_nonce.get(&addr) {
            Some(n) => *n,
            None => account_nonce(&state, &addr).map_err(storage)?,
        };
        if tx.body.nonce < expected {
            return Err(TxRejection::NonceUsed { expected, got: tx.body.nonce }.into());
        }
        if tx.body.nonce > expected {
            return Err(TxRejection::NonceGap { expected, got: tx.body.nonce }.into());
        }
        pool.next_nonce.insert(addr, expected + 1);
        pool.ids.insert(id);
        pool.txs.push(tx);
        drop(pool);
        self.inner.wake.notify_one();
        Ok(id)
    }

    /// Forget every admitted transaction not yet in a block (a node that crashed before proposing
    /// them); their senders' nonces are free again.
    pub fn discard_pending(&self) {
        *self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()) = Pool::default();
    }

    /// Make a block of everything admitted so far (up to [`MAX_BLOCK_TXS`]); `None` if nothing waits.
    pub fn produce(&self) -> Result<Option<Arc<CommittedBlock>>, ChainError> {
        let _one = self.inner.producing.lock().unwrap_or_else(|p| p.into_inner());
        // The block's transactions stay "pending" (their ids in the pool) until it is committed, so a
        // waiter never sees one as neither pending nor committed.
        let txs = {
            let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
            let n = pool.txs.len().min(MAX_BLOCK_TXS);
            pool.txs.drain(..n).collect::<Vec<SignedTx>>()
        };
        if txs.is_empty() {
            return Ok(None);
        }
        let ids: Vec<Hash32> = txs.iter().map(SignedTx::id).collect();
        let result = self.commit(txs);
        let mut pool = self.inner.pool.lock().unwrap_or_else(|p| p.into_inner());
        for id in &ids {
            pool.ids.remove(id);
        }
        if pool.txs.is_empty() {
            pool.next_nonce.clear();
        }
        result.map(Some)
    }

    /// Execute `txs` as the next block, as given (the caller answers for their admissibility; an
    /// inadmissible one fails the whole block, as a proposer's bad block would).
    pub fn produce_block(&self, txs: Vec<SignedTx>) -> Result<Arc<CommittedBlock>, ChainError> {
        let _one = self.inner.producing.lock().unwrap_or_else(|p| p.into_inner());
        self.commit(txs)
    }

    fn commit(&self, txs: Vec<SignedTx>) -> Result<Arc<CommittedBlock>, ChainError> {
        let inner = &self.inner;
        let tip = self.tip_now()?;
        let time_ms = match inner.fixed_time_ms.load(Ordering::SeqCst) {
            0 => now_ms(),
            t => t,
        }
        .max(tip.time_ms + 1);
        let executed = inner
            .executor
            .execute_block(inner.store.as_ref(), &tip, time_ms, inner.proposer, txs, &|_| false)
            .map_err(|e| ChainError::Rejected(crate::error::Rejection::new("invalid_block", e.to_string(), false)))?;
        inner.store.commit_block(&executed).map_err(storage)?;
        let mut block = executed.block;
        if let Some(key) = &inner.validator {
            let hash = block.hash();
            let height = block.header.height;
            let signature = key.sign(&precommit_signing_bytes(height, 0, &hash, &key.address()));
            let cert = CommitCertificate {
                height,
                round: 0,
                block_hash: hash,
                signatures: vec![CommitSignature { validator: key.address(), signature }],
            };
            inner.store.set_certificate(height, cert.clone()).map_err(storage)?;
            block.certificate = Some(cert);
        }
        let committed = Arc::new(CommittedBlock::new(block, executed.receipts));
        let _ = inner.commits.send(committed.clone());
        Ok(committed)
    }
}

/// The automatic producer: a block whenever something was admitted. It holds the chain only while
/// making a block, so dropping the last handle closes the store and ends the task.
async fn produce_forever<S: BlockStore>(chain: Weak<Inner<S>>, wake: Arc<Notify>) {
    loop {
        wake.notified().await;
        loop {
            let Some(inner) = chain.upgrade() else { return };
            let chain = InProcessChain { inner };
            // RocksDB and SM2 verification are blocking work: keep them off the async workers.
            match tokio::task::spawn_blocking(move || chain.produce()).await {
                Ok(Ok(Some(_))) => continue,
                Ok(Ok(None)) => break,
                Ok(Err(e)) => {
                    tracing::error!(error = %e, "in-process chain: block not committed");
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "in-process chain: block production panicked");
                    break;
                }
            }
        }
    }
}

/// Bytes a precommit signature in a commit certificate covers, as consensus (`scf-node`'s
/// `signing.rs`) defines them: `"SCF-VOTE-v1" ‖ borsh(Vote { Precommit, height, Round::Some(round),
/// NilOrVal::Val(hash), validator })`. The node's tests check this layout against its own encoder,
/// and the UI's verifier against both.
pub fn precommit_signing_bytes(height: u64, round: u32, block_hash: &Hash32, validator: &Address) -> Vec<u8> {
    let mut out = b"SCF-VOTE-v1".to_vec();
    out.push(1); // VoteType::Precommit
    out.extend(height.to_le_bytes());
    out.push(1); // Round::Some
    out.extend(round.to_le_bytes());
    out.push(1); // NilOrVal::Val
    out.extend(block_hash.0);
    out.extend(validator.0);
    out
}

#[async_trait]
impl<S: BlockStore> Chain for InProcessChain<S> {
    fn chain_id(&self) -> &str {
        &self.inner.chain_id
    }

    async fn submit(&self, tx: SignedTx) -> Result<Hash32, ChainError> {
        self.admit(tx)
    }

    async fn receipt(&self, id: &Hash32) -> Result<Option<Receipt>, ChainError> {
        self.inner.store.receipt(id).map_err(storage)
    }

    async fn is_pending(&self, id: &Hash32) -> Result<bool, ChainError> {
        Ok(self.inner.pool.lock().unwrap_or_else(|p| p.into_inner()).ids.contains(id))
    }

    async fn dry_run(&self, tx: &SignedTx) -> Result<Receipt, ChainError> {
        let tip = self.tip_now()?;
        let time_ms = match self.inner.fixed_time_ms.load(Ordering::SeqCst) {
            0 => now_ms(),
            t => t,
        };
        Ok(self.inner.executor.dry_run(self.inner.store.as_ref(), &tip, time_ms, tx)?)
    }

    async fn tip(&self) -> Result<Option<ChainTip>, ChainError> {
        self.inner.store.tip().map_err(storage)
    }

    async fn block(&self, height: u64) -> Result<Option<Arc<CommittedBlock>>, ChainError> {
        let Some(block) = self.inner.store.block(height).map_err(storage)? else { return Ok(None) };
        let mut receipts = Vec::with_capacity(block.txs.len());
        for tx in &block.txs {
            let id = tx.id();
            let r = self
                .inner
                .store
                .receipt(&id)
                .map_err(storage)?
                .ok_or_else(|| ChainError::Storage(format!("block {height}: receipt of {id} is missing")))?;
            receipts.push(r);
        }
        Ok(Some(Arc::new(CommittedBlock::new(block, receipts))))
    }

    async fn tx_proof(&self, id: &Hash32) -> Result<Option<TxInclusionProof>, ChainError> {
        self.inner.store.tx_proof(id).map_err(storage)
    }

    async fn state_get(&self, key: &[u8], height: Option<u64>) -> Result<Option<Vec<u8>>, ChainError> {
        self.state(height)?.get(key).map_err(storage)
    }

    async fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        self.inner.store.state_proof(key, height).map_err(storage)
    }

    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, ChainError> {
        let version = match height {
            Some(h) => h,
            None => self.tip_now()?.height,
        };
        Ok(Box::new(VersionedState { reader: self.inner.store.as_ref(), version: Some(version) }))
    }

    fn subscribe(&self) -> broadcast::Receiver<Arc<CommittedBlock>> {
        self.inner.commits.subscribe()
    }
}

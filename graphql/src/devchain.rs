//! An in-process chain for tests, the demo and development: one block per batch of submissions,
//! executed by the real [`Executor`] with the domain modules and committed to the real RocksDB
//! [`Store`]. It stands in for the BFT node (one validator, no network) behind the same [`Chain`] seam.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scf_ledger::authenticated::StateProof;
use scf_ledger::block::{Block, CommitCertificate, CommitSignature, TxInclusionProof};
use scf_ledger::codec::encode;
use scf_ledger::crypto::{Address, Hash32, KeyPair};
use scf_ledger::executor::{account_nonce, chain_params, ChainTip, Executor};
use scf_ledger::genesis::Genesis;
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use scf_ledger::tx::SignedTx;
use scf_store::Store;
use tokio::sync::{broadcast, mpsc, oneshot};

use crate::chain::{Chain, ChainError, ChainFuture};

/// Most transactions one dev block takes (the executor's own limit is larger).
const MAX_BATCH: usize = 2_000;

type Pending = (SignedTx, oneshot::Sender<Result<Receipt, ChainError>>);

/// In-process single-validator chain. Cheap to clone (shared inner state).
#[derive(Clone)]
pub struct DevChain {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    chain_id: String,
    queue: mpsc::Sender<Pending>,
    commits: broadcast::Sender<u64>,
    /// Block time override (ms since the epoch); 0 = wall clock. Lets tests move the business date
    /// (maturity, overdue) without sleeping.
    fixed_time_ms: Arc<AtomicU64>,
}

fn storage(e: impl std::fmt::Display) -> ChainError {
    ChainError::Storage(e.to_string())
}

impl DevChain {
    /// Open (or create) the store at `path`, apply `genesis` if the store is new (a different genesis is
    /// refused) and start the block producer on the current tokio runtime.
    pub fn open(path: &Path, genesis: &Genesis) -> Result<DevChain, ChainError> {
        Self::open_inner(path, genesis, None)
    }

    /// Like [`DevChain::open`], and every block gets the commit certificate consensus would attach:
    /// `validator`'s precommit over the block hash (round 0). With the single validator of a dev
    /// genesis this makes blocks verifiable end to end (header → certificate → validator set), as the
    /// consumer page's "verified on chain" check needs.
    pub fn open_with_validator(path: &Path, genesis: &Genesis, validator: KeyPair) -> Result<DevChain, ChainError> {
        Self::open_inner(path, genesis, Some(validator))
    }

    fn open_inner(path: &Path, genesis: &Genesis, validator: Option<KeyPair>) -> Result<DevChain, ChainError> {
        let store = Arc::new(Store::open(path).map_err(storage)?);
        let executor = Arc::new(Executor::new(genesis.chain_id.clone(), scf_domain::modules()));
        store.init_genesis(&executor, genesis).map_err(storage)?;
        let (queue, rx) = mpsc::channel(16_384);
        let (commits, _) = broadcast::channel(1024);
        let fixed_time_ms = Arc::new(AtomicU64::new(0));
        let producer = Producer {
            store: store.clone(),
            executor,
            commits: commits.clone(),
            fixed_time_ms: fixed_time_ms.clone(),
            proposer: validator.as_ref().map(|k| k.address()).unwrap_or(Address([0; 20])),
            validator,
        };
        tokio::spawn(producer.run(rx));
        Ok(DevChain {
            inner: Arc::new(Inner { store, chain_id: genesis.chain_id.clone(), queue, commits, fixed_time_ms }),
        })
    }

    /// Blocks from now on carry this time (still strictly increasing); `None` returns to the wall clock.
    pub fn set_time_ms(&self, time_ms: Option<u64>) {
        self.inner.fixed_time_ms.store(time_ms.unwrap_or(0), Ordering::SeqCst);
    }

    /// The underlying store (for tools such as the CLI's inspect commands).
    pub fn store(&self) -> &Arc<Store> {
        &self.inner.store
    }
}

impl Chain for DevChain {
    fn chain_id(&self) -> &str {
        &self.inner.chain_id
    }

    fn submit(&self, tx: SignedTx, timeout: Duration) -> ChainFuture<'_, Result<Receipt, ChainError>> {
        Box::pin(async move {
            let (reply, wait) = oneshot::channel();
            self.inner
                .queue
                .send((tx, reply))
                .await
                .map_err(|_| ChainError::Unavailable("block producer stopped".into()))?;
            match tokio::time::timeout(timeout, wait).await {
                Err(_) => Err(ChainError::Timeout(timeout)),
                Ok(Err(_)) => Err(ChainError::Unavailable("block producer dropped the transaction".into())),
                Ok(Ok(result)) => result,
            }
        })
    }

    fn tip(&self) -> Result<Option<ChainTip>, ChainError> {
        self.inner.store.tip().map_err(storage)
    }

    fn block(&self, height: u64) -> Result<Option<Block>, ChainError> {
        self.inner.store.block(height).map_err(storage)
    }

    fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, ChainError> {
        self.inner.store.receipt(tx_id).map_err(storage)
    }

    fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, ChainError> {
        self.inner.store.tx_proof(tx_id).map_err(storage)
    }

    fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, ChainError> {
        self.inner.store.state_proof(key, height).map_err(storage)
    }

    fn state(&self, height: Option<u64>) -> Result<Box<dyn StateRead + Send + '_>, ChainError> {
        Ok(match height {
            Some(h) => Box::new(self.inner.store.state_at(h)),
            None => Box::new(self.inner.store.latest_state().map_err(storage)?),
        })
    }

    fn subscribe_commits(&self) -> broadcast::Receiver<u64> {
        self.inner.commits.subscribe()
    }
}

/// The block producer: drains the queue, drops inadmissible transactions (answering each with its
/// rejection), executes the rest as one block, commits it, then answers with receipts.
struct Producer {
    store: Arc<Store>,
    executor: Arc<Executor>,
    commits: broadcast::Sender<u64>,
    fixed_time_ms: Arc<AtomicU64>,
    proposer: Address,
    validator: Option<KeyPair>,
}

impl Producer {
    async fn run(self, mut rx: mpsc::Receiver<Pending>) {
        let this = Arc::new(self);
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(p) => batch.push(p),
                    Err(_) => break,
                }
            }
            let worker = this.clone();
            // RocksDB and SM2 verification are blocking work: keep them off the async workers.
            let outcome = tokio::task::spawn_blocking(move || worker.produce(batch)).await;
            if let Err(e) = outcome {
                tracing::error!(error = %e, "dev chain: block production panicked");
            }
        }
    }

    fn now_ms(&self) -> u64 {
        match self.fixed_time_ms.load(Ordering::SeqCst) {
            0 => SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0),
            t => t,
        }
    }

    fn produce(&self, batch: Vec<Pending>) {
        let tip = match self.store.tip() {
            Ok(Some(t)) => t,
            Ok(None) => return answer_all(batch, ChainError::Unavailable("no genesis".into())),
            Err(e) => return answer_all(batch, storage(e)),
        };
        let height = tip.height + 1;
        let state = self.store.state_at(tip.height);
        let params = match chain_params(&state) {
            Ok(p) => p,
            Err(e) => return answer_all(batch, storage(e)),
        };
        // Admission: each transaction on its own, with nonces counted through the batch.
        let mut next_nonce: BTreeMap<Address, u64> = BTreeMap::new();
        let mut admitted = Vec::with_capacity(batch.len());
        for (tx, reply) in batch {
            let check = tx.verify_signature().map_err(scf_ledger::executor::TxRejection::BadSignature).and_then(|()| {
                self.executor.check_stateless(&tx, encode(&tx).len(), height, &params)?;
                let addr = tx.sender_address();
                let expected = match next_nonce.get(&addr) {
                    Some(n) => *n,
                    None => account_nonce(&state, &addr).unwrap_or(0),
                };
                if tx.body.nonce < expected {
                    return Err(scf_ledger::executor::TxRejection::NonceUsed { expected, got: tx.body.nonce });
                }
                if tx.body.nonce > expected {
                    return Err(scf_ledger::executor::TxRejection::NonceGap { expected, got: tx.body.nonce });
                }
                next_nonce.insert(addr, expected + 1);
                Ok(())
            });
            match check {
                Ok(()) => admitted.push((tx, reply)),
                Err(reason) => {
                    let _ = reply.send(Err(ChainError::Rejected(reason)));
                }
            }
        }
        if admitted.is_empty() {
            return;
        }
        let time_ms = self.now_ms().max(tip.time_ms + 1);
        let txs: Vec<SignedTx> = admitted.iter().map(|(tx, _)| tx.clone()).collect();
        let executed =
            match self.executor.execute_block(self.store.as_ref(), &tip, time_ms, self.proposer, txs, &|_| true) {
                Ok(b) => b,
                Err(e) => return answer_all(admitted, storage(e)),
            };
        if let Err(e) = self.store.commit_block(&executed) {
            return answer_all(admitted, storage(e));
        }
        if let Some(key) = &self.validator {
            let hash = executed.block.hash();
            let signature = key.sign(&precommit_signing_bytes(height, 0, &hash, &key.address()));
            let cert = CommitCertificate {
                height,
                round: 0,
                block_hash: hash,
                signatures: vec![CommitSignature { validator: key.address(), signature }],
            };
            if let Err(e) = self.store.set_certificate(height, cert) {
                tracing::warn!(height, error = %e, "dev chain: certificate not stored");
            }
        }
        let _ = self.commits.send(height);
        for ((_, reply), receipt) in admitted.into_iter().zip(executed.receipts) {
            let _ = reply.send(Ok(receipt));
        }
    }
}

fn answer_all(batch: Vec<Pending>, err: ChainError) {
    tracing::warn!(error = %err, "dev chain: batch not committed");
    for (_, reply) in batch {
        let _ = reply.send(Err(err.clone()));
    }
}

/// Bytes a precommit signature in a commit certificate covers, as `core-chain/node/src/signing.rs`
/// defines them: `"SCF-VOTE-v1" ‖ borsh(Vote { Precommit, height, Round::Some(round),
/// NilOrVal::Val(hash), validator })`. Written out here because the API does not link the consensus
/// stack; `scf-tests`' UI fixture checks the same layout against the browser verifier.
fn precommit_signing_bytes(height: u64, round: u32, block_hash: &Hash32, validator: &Address) -> Vec<u8> {
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

//! Block execution: admission checks, parallel signature verification, one overlay per transaction,
//! receipts, and the new state root. Deterministic given (parent state, block).

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::authenticated::{commit_writes, StateCommit, TreeReader, VersionedState};
use crate::block::{Block, BlockHeader};
use crate::codec::encode;
use crate::crypto::{Address, CryptoError, Hash32};
use crate::genesis::{ChainParams, Genesis, GenesisError, Validator, PARAMS_KEY, VALIDATORS_KEY};
use crate::merkle::merkle_root;
use crate::module::{ModuleRegistry, TxContext};
use crate::receipt::{Receipt, TxOutcome};
use crate::state::{Overlay, StateError, StateRead, StateWrite};
use crate::tx::SignedTx;

/// Why a transaction is not admissible. Each reason is its own variant so clients can act on it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxRejection {
    #[error("chain_id: expected {expected:?}, got {got:?}")]
    WrongChainId { expected: String, got: String },
    #[error("signature: {0}")]
    BadSignature(CryptoError),
    #[error("nonce: {got} already used (next is {expected})")]
    NonceUsed { expected: u64, got: u64 },
    #[error("nonce: {got} is ahead of the next nonce {expected}")]
    NonceGap { expected: u64, got: u64 },
    #[error("expiry_height: {expiry_height} has passed (block height {height})")]
    Expired { expiry_height: u64, height: u64 },
    #[error("expiry_height: {expiry_height} is more than {window} blocks ahead of height {height}")]
    ExpiryTooFar { expiry_height: u64, height: u64, window: u64 },
    #[error("size: transaction is {len} bytes, limit is {limit}")]
    Oversize { len: usize, limit: usize },
    #[error("call.module: no module named {module:?}")]
    UnknownModule { module: String },
    /// The sender is no account of a member (nor a validator): the chain takes nothing from it, so an
    /// outsider's key can neither fill the mempool nor write a nonce entry.
    #[error("sender: {address} is not an account of any member")]
    UnknownSender { address: Address },
    /// The sender's account exists but may not send now (removed, frozen, its organisation frozen, its
    /// key retired or expired).
    #[error("sender: {address} may not send transactions: {reason}")]
    SenderInactive { address: Address, reason: String },
}

impl TxRejection {
    /// A stable machine-readable kind (the node API's error kinds).
    pub fn kind(&self) -> &'static str {
        match self {
            TxRejection::WrongChainId { .. } => "wrong_chain_id",
            TxRejection::BadSignature(_) => "bad_signature",
            TxRejection::NonceUsed { .. } => "nonce_used",
            TxRejection::NonceGap { .. } => "nonce_gap",
            TxRejection::Expired { .. } => "expired",
            TxRejection::ExpiryTooFar { .. } => "expiry_too_far",
            TxRejection::Oversize { .. } => "oversize",
            TxRejection::UnknownModule { .. } => "unknown_module",
            TxRejection::UnknownSender { .. } => "unknown_sender",
            TxRejection::SenderInactive { .. } => "sender_inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    #[error("block: transaction {index} ({tx_id}): {reason}")]
    InvalidTx { index: usize, tx_id: Hash32, reason: TxRejection },
    #[error("block: height {got}, expected {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("block: parent_hash does not match the chain tip")]
    WrongParent,
    #[error("block: time_ms {got} is not after the parent's {parent}")]
    TimeNotIncreasing { parent: u64, got: u64 },
    #[error("block: {count} transactions, limit is {limit}")]
    TooManyTxs { count: usize, limit: usize },
    #[error("block: header differs from the result of executing it ({field})")]
    HeaderMismatch { field: &'static str },
    #[error(transparent)]
    State(#[from] StateError),
}

/// The committed tip a new block builds on.
#[derive(
    Clone, Debug, PartialEq, Eq, borsh::BorshSerialize, borsh::BorshDeserialize, serde::Serialize, serde::Deserialize,
)]
pub struct ChainTip {
    pub height: u64,
    pub hash: Hash32,
    pub time_ms: u64,
    pub state_root: Hash32,
}

/// A block ready to store: the block (without certificate), its receipts and its state changes.
#[derive(Debug, Clone)]
pub struct ExecutedBlock {
    pub block: Block,
    pub receipts: Vec<Receipt>,
    pub state: StateCommit,
}

const NONCE_PREFIX: &[u8] = b"sys/nonce/";

/// The quota group of transactions sent by validators' consensus keys.
pub const VALIDATORS_GROUP: &str = "validators";

/// The state key of an account's next nonce: `sys/nonce/` ‖ address.
pub fn nonce_key(addr: &Address) -> Vec<u8> {
    let mut k = NONCE_PREFIX.to_vec();
    k.extend_from_slice(&addr.0);
    k
}

/// The next nonce the account must use.
pub fn account_nonce(state: &dyn StateRead, addr: &Address) -> Result<u64, StateError> {
    Ok(match state.get(&nonce_key(addr))? {
        Some(b) if b.len() == 8 => u64::from_le_bytes(b.try_into().unwrap_or([0; 8])),
        _ => 0,
    })
}

/// The chain parameters in state (defaults before genesis).
pub fn chain_params(state: &dyn StateRead) -> Result<ChainParams, StateError> {
    Ok(match state.get(PARAMS_KEY)? {
        Some(b) => borsh::from_slice(&b).map_err(|e| StateError(format!("sys/params: {e}")))?,
        None => ChainParams::default(),
    })
}

/// The validator set in state.
pub fn validator_set(state: &dyn StateRead) -> Result<Vec<Validator>, StateError> {
    Ok(match state.get(VALIDATORS_KEY)? {
        Some(b) => borsh::from_slice(&b).map_err(|e| StateError(format!("sys/validators: {e}")))?,
        None => Vec::new(),
    })
}

/// Verify signatures of `txs` on all cores, skipping those `known_valid` says were checked before
/// (a node verifies each signature once: at mempool admission, or here for blocks from peers).
pub fn verify_signatures(
    txs: &[SignedTx],
    known_valid: &(dyn Fn(&Hash32) -> bool + Sync),
) -> Vec<Result<(), CryptoError>> {
    txs.par_iter().map(|tx| if known_valid(&tx.id()) { Ok(()) } else { tx.verify_signature() }).collect()
}

pub struct Executor {
    pub chain_id: String,
    pub modules: ModuleRegistry,
}

impl Executor {
    pub fn new(chain_id: impl Into<String>, modules: ModuleRegistry) -> Self {
        Executor { chain_id: chain_id.into(), modules }
    }

    /// Checks that need no state: chain id, size, expiry, module name.
    pub fn check_stateless(
        &self,
        tx: &SignedTx,
        encoded_len: usize,
        height: u64,
        params: &ChainParams,
    ) -> Result<(), TxRejection> {
        if tx.body.chain_id != self.chain_id {
            return Err(TxRejection::WrongChainId { expected: self.chain_id.clone(), got: tx.body.chain_id.clone() });
        }
        if encoded_len > params.max_tx_bytes as usize {
            return Err(TxRejection::Oversize { len: encoded_len, limit: params.max_tx_bytes as usize });
        }
        if tx.body.expiry_height < height {
            return Err(TxRejection::Expired { expiry_height: tx.body.expiry_height, height });
        }
        if tx.body.expiry_height > height.saturating_add(params.max_expiry_window) {
            return Err(TxRejection::ExpiryTooFar {
                expiry_height: tx.body.expiry_height,
                height,
                window: params.max_expiry_window,
            });
        }
        if self.modules.get(&tx.body.call.module).is_none() {
            return Err(TxRejection::UnknownModule { module: tx.body.call.module.clone() });
        }
        Ok(())
    }

    /// Who may send: the registry's [`crate::module::SenderPolicy`] (the chain's members' active accounts)
    /// or, refused by it, a current validator. Gives the sender's quota group (its organisation, or
    /// `validators`). A chain whose modules name no policy is open: every sender is its own group.
    /// Deterministic; needs no signature, so the mempool asks it before verifying one.
    pub fn admit_sender(
        &self,
        state: &dyn StateRead,
        sender: &Address,
        height: u64,
        time_ms: u64,
    ) -> Result<String, ApplyError> {
        let Some(policy) = self.modules.sender_policy() else { return Ok(sender.to_hex()) };
        match policy.admit(state, sender, height, time_ms) {
            Ok(group) => Ok(group),
            Err(refusal) => {
                if validator_set(state)?.iter().any(|v| v.public_key.address() == *sender) {
                    Ok(VALIDATORS_GROUP.to_string())
                } else {
                    Err(ApplyError::Rejected(refusal))
                }
            }
        }
    }

    /// Nonce check against `state` (exact next nonce).
    pub fn check_nonce(state: &dyn StateRead, tx: &SignedTx) -> Result<(), TxRejection> {
        let expected = account_nonce(state, &tx.sender_address()).unwrap_or(0);
        match tx.body.nonce {
            n if n < expected => Err(TxRejection::NonceUsed { expected, got: n }),
            n if n > expected => Err(TxRejection::NonceGap { expected, got: n }),
            _ => Ok(()),
        }
    }

    /// Build state version 0 from the genesis file.
    pub fn init_genesis<R: TreeReader>(
        &self,
        reader: &R,
        genesis: &Genesis,
    ) -> Result<(StateCommit, ChainTip), GenesisError> {
        genesis.validate()?;
        if genesis.chain_id != self.chain_id {
            return Err(GenesisError::Invalid {
                field: "chain_id".into(),
                reason: format!("node runs chain {:?}", self.chain_id),
            });
        }
        let empty = VersionedState { reader, version: None };
        let mut overlay = Overlay::new(&empty);
        overlay.set(VALIDATORS_KEY, encode(&genesis.validators));
        overlay.set(PARAMS_KEY, encode(&genesis.params));
        for module in genesis.app_state.keys() {
            if self.modules.get(module).is_none() {
                return Err(GenesisError::UnknownModule { module: module.clone() });
            }
        }
        // Modules initialise in name order; each sees what earlier ones wrote.
        let null = serde_json::Value::Null;
        for name in self.modules.names().collect::<Vec<_>>() {
            let cfg = genesis.app_state.get(name).unwrap_or(&null);
            if let Some(m) = self.modules.get(name) {
                m.init_genesis(&mut overlay, cfg)
                    .map_err(|error| GenesisError::Module { module: name.to_string(), error })?;
            }
        }
        let writes = overlay.into_writes();
        let commit = commit_writes(reader, 0, writes)?;
        let tip =
            ChainTip { height: 0, hash: genesis.hash(), time_ms: genesis.genesis_time_ms, state_root: commit.root };
        Ok((commit, tip))
    }

    /// Execute `txs` as block `tip.height + 1` and produce the block with its header filled in.
    /// Fails (and the proposer must drop the offending txs) if any transaction is inadmissible.
    pub fn execute_block<R: TreeReader>(
        &self,
        reader: &R,
        tip: &ChainTip,
        time_ms: u64,
        proposer: Address,
        txs: Vec<SignedTx>,
        known_valid: &(dyn Fn(&Hash32) -> bool + Sync),
    ) -> Result<ExecutedBlock, BlockError> {
        self.execute_block_bounded(reader, tip, time_ms, proposer, txs, None, known_valid, &|_| true)
    }

    /// [`Self::execute_block`] for a proposer that must finish in time: before executing transaction
    /// `index > 0` it asks `keep_going(index)`, and on `false` the block ends there (the remaining
    /// transactions are left out, not refused). `tx_ids`, when given, are the ids of `txs` in order
    /// (computed once by the caller); otherwise they are computed here, once, in parallel.
    /// The ledger reads no clock: a time budget lives in the caller's `keep_going`.
    #[allow(clippy::too_many_arguments)]
    pub fn execute_block_bounded<R: TreeReader>(
        &self,
        reader: &R,
        tip: &ChainTip,
        time_ms: u64,
        proposer: Address,
        mut txs: Vec<SignedTx>,
        tx_ids: Option<Vec<Hash32>>,
        known_valid: &(dyn Fn(&Hash32) -> bool + Sync),
        keep_going: &dyn Fn(usize) -> bool,
    ) -> Result<ExecutedBlock, BlockError> {
        let height = tip.height + 1;
        if time_ms <= tip.time_ms {
            return Err(BlockError::TimeNotIncreasing { parent: tip.time_ms, got: time_ms });
        }
        let base = VersionedState { reader, version: Some(tip.height) };
        let params = chain_params(&base)?;
        if txs.len() > params.max_block_txs as usize {
            return Err(BlockError::TooManyTxs { count: txs.len(), limit: params.max_block_txs as usize });
        }
        let ids = match tx_ids {
            Some(ids) if ids.len() == txs.len() => ids,
            _ => txs.par_iter().map(SignedTx::id).collect(),
        };
        // Signatures on all cores, each skipped when this node verified it before (mempool admission).
        let sigs: Vec<Result<(), CryptoError>> = txs
            .par_iter()
            .zip(ids.par_iter())
            .map(|(tx, id)| if known_valid(id) { Ok(()) } else { tx.verify_signature() })
            .collect();
        let mut block_overlay = Overlay::new(&base);
        // A validator set scheduled (by governance) for this height becomes the current set first.
        crate::validators::promote_due(&mut block_overlay, height)?;
        let mut receipts = Vec::with_capacity(txs.len());
        let mut included = txs.len();
        for (index, ((tx, sig), tx_id)) in txs.iter().zip(sigs).zip(ids.iter().copied()).enumerate() {
            if index > 0 && !keep_going(index) {
                included = index;
                break;
            }
            let invalid = |reason| BlockError::InvalidTx { index, tx_id, reason };
            sig.map_err(|e| invalid(TxRejection::BadSignature(e)))?;
            let receipt = self
                .apply_tx(&mut block_overlay, &params, height, time_ms, index as u32, tx_id, tx)
                .map_err(|r| match r {
                    ApplyError::Rejected(reason) => invalid(reason),
                    ApplyError::State(e) => BlockError::State(e),
                })?;
            receipts.push(receipt);
        }
        txs.truncate(included);
        let tx_ids = &ids[..included];
        let writes = block_overlay.into_writes();
        let state = commit_writes(reader, height, writes)?;
        let header = BlockHeader {
            chain_id: self.chain_id.clone(),
            height,
            parent_hash: tip.hash,
            tx_root: merkle_root(tx_ids),
            receipts_root: merkle_root(&receipts.iter().map(Receipt::hash).collect::<Vec<_>>()),
            state_root: state.root,
            time_ms,
            proposer,
        };
        Ok(ExecutedBlock { block: Block { header, txs, certificate: None }, receipts, state })
    }

    /// Admission checks and execution of one transaction whose signature was checked, on `overlay`
    /// (which receives its writes and nonce, or only the nonce if its module refused it).
    #[allow(clippy::too_many_arguments)]
    fn apply_tx(
        &self,
        overlay: &mut Overlay<'_>,
        params: &ChainParams,
        height: u64,
        time_ms: u64,
        index: u32,
        tx_id: Hash32,
        tx: &SignedTx,
    ) -> Result<Receipt, ApplyError> {
        // The encoded size without encoding (a counting writer cannot fail).
        let len = borsh::object_length(tx).unwrap_or(usize::MAX);
        self.check_stateless(tx, len, height, params)?;
        let sender_address = tx.sender_address();
        self.admit_sender(overlay, &sender_address, height, time_ms)?;
        let expected = account_nonce(overlay, &sender_address)?;
        match tx.body.nonce {
            n if n < expected => return Err(TxRejection::NonceUsed { expected, got: n }.into()),
            n if n > expected => return Err(TxRejection::NonceGap { expected, got: n }.into()),
            _ => {}
        }
        let ctx = TxContext {
            chain_id: self.chain_id.clone(),
            height,
            time_ms,
            tx_id,
            tx_index: index,
            sender: tx.body.sender,
            sender_address,
        };
        let module = self
            .modules
            .get(&tx.body.call.module)
            .ok_or_else(|| TxRejection::UnknownModule { module: tx.body.call.module.clone() })?;
        let (outcome, events, writes) = {
            let mut tx_overlay = Overlay::new(&*overlay);
            match module.execute(&ctx, &mut tx_overlay, &tx.body.call.payload) {
                Ok(events) => (TxOutcome::Success, events, tx_overlay.into_writes()),
                Err(e) => (TxOutcome::Failed { code: e.code, message: e.message }, Vec::new(), BTreeMap::new()),
            }
        };
        overlay.apply(writes);
        overlay.set(&nonce_key(&sender_address), (tx.body.nonce + 1).to_le_bytes().to_vec());
        Ok(Receipt {
            tx_id,
            height,
            index,
            sender: sender_address,
            module: tx.body.call.module.clone(),
            outcome,
            events,
        })
    }

    /// The receipt `tx` would have as the first transaction of the next block after `tip` at
    /// `time_ms`, computed on a throwaway overlay: nothing is written. Admission refusals (signature,
    /// nonce, expiry, size, module) come back as the rejection.
    pub fn dry_run<R: TreeReader>(
        &self,
        reader: &R,
        tip: &ChainTip,
        time_ms: u64,
        tx: &SignedTx,
    ) -> Result<Receipt, DryRunError> {
        tx.verify_signature().map_err(|e| DryRunError::Rejected(TxRejection::BadSignature(e)))?;
        let base = VersionedState { reader, version: Some(tip.height) };
        let params = chain_params(&base)?;
        let mut overlay = Overlay::new(&base);
        let height = tip.height + 1;
        crate::validators::promote_due(&mut overlay, height)?;
        self.apply_tx(&mut overlay, &params, height, time_ms.max(tip.time_ms + 1), 0, tx.id(), tx).map_err(
            |e| match e {
                ApplyError::Rejected(r) => DryRunError::Rejected(r),
                ApplyError::State(e) => DryRunError::State(e),
            },
        )
    }

    /// Re-execute a block received from a peer and check that its header is exactly what execution gives.
    pub fn validate_block<R: TreeReader>(
        &self,
        reader: &R,
        tip: &ChainTip,
        block: &Block,
        known_valid: &(dyn Fn(&Hash32) -> bool + Sync),
    ) -> Result<ExecutedBlock, BlockError> {
        self.validate_block_with_ids(reader, tip, block, None, known_valid)
    }

    /// [`Self::validate_block`] with the block's transaction ids already computed by the caller.
    pub fn validate_block_with_ids<R: TreeReader>(
        &self,
        reader: &R,
        tip: &ChainTip,
        block: &Block,
        tx_ids: Option<Vec<Hash32>>,
        known_valid: &(dyn Fn(&Hash32) -> bool + Sync),
    ) -> Result<ExecutedBlock, BlockError> {
        let h = &block.header;
        if h.height != tip.height + 1 {
            return Err(BlockError::WrongHeight { expected: tip.height + 1, got: h.height });
        }
        if h.parent_hash != tip.hash {
            return Err(BlockError::WrongParent);
        }
        let mut exec = self.execute_block_bounded(
            reader,
            tip,
            h.time_ms,
            h.proposer,
            block.txs.clone(),
            tx_ids,
            known_valid,
            &|_| true,
        )?;
        let e = &exec.block.header;
        let field = if e.chain_id != h.chain_id {
            Some("chain_id")
        } else if e.tx_root != h.tx_root {
            Some("tx_root")
        } else if e.receipts_root != h.receipts_root {
            Some("receipts_root")
        } else if e.state_root != h.state_root {
            Some("state_root")
        } else {
            None
        };
        if let Some(field) = field {
            return Err(BlockError::HeaderMismatch { field });
        }
        exec.block.certificate = block.certificate.clone();
        Ok(exec)
    }
}

/// Why one transaction could not be applied: refused, or the state could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplyError {
    #[error(transparent)]
    Rejected(TxRejection),
    #[error(transparent)]
    State(StateError),
}

impl From<TxRejection> for ApplyError {
    fn from(r: TxRejection) -> Self {
        ApplyError::Rejected(r)
    }
}

impl From<StateError> for ApplyError {
    fn from(e: StateError) -> Self {
        ApplyError::State(e)
    }
}

/// Why a dry run gave no receipt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DryRunError {
    #[error("transaction rejected: {0}")]
    Rejected(TxRejection),
    #[error(transparent)]
    State(#[from] StateError),
}

impl ChainTip {
    pub fn of(header: &BlockHeader) -> Self {
        ChainTip { height: header.height, hash: header.hash(), time_ms: header.time_ms, state_root: header.state_root }
    }
}

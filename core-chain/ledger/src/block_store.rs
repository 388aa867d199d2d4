//! Where committed blocks live: the one interface a chain's block producer writes through and its
//! readers read from. `scf-store` implements it over RocksDB; [`MemLedger`] keeps everything in memory
//! (tests, tools). Whatever sits above (the node, the client crate's in-process chain) is written once
//! against this trait.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::authenticated::{prove, KeyHash, MemTreeStore, StateProof, TreeReader, Version};
use crate::block::{Block, CommitCertificate, TxInclusionProof};
use crate::crypto::Hash32;
use crate::executor::{ChainTip, ExecutedBlock, Executor};
use crate::genesis::Genesis;
use crate::receipt::Receipt;
use crate::state::StateError;

/// A durable (or in-memory) home for the chain: genesis, blocks with certificates, receipts, and the
/// authenticated state the executor reads through [`TreeReader`].
pub trait BlockStore: TreeReader + Send + Sync + 'static {
    type Error: std::error::Error + Send + Sync + 'static;

    /// The committed tip (`None` before genesis).
    fn tip(&self) -> Result<Option<ChainTip>, Self::Error>;
    /// Apply `genesis` once; reopening with another genesis is refused.
    fn init_genesis(&self, executor: &Executor, genesis: &Genesis) -> Result<ChainTip, Self::Error>;
    /// Commit an executed block atomically; it must build on the tip.
    fn commit_block(&self, exec: &ExecutedBlock) -> Result<ChainTip, Self::Error>;
    /// Attach the commit certificate of a stored block.
    fn set_certificate(&self, height: u64, cert: CommitCertificate) -> Result<(), Self::Error>;
    fn block(&self, height: u64) -> Result<Option<Block>, Self::Error>;
    /// Height and index of a committed transaction.
    fn tx_location(&self, tx_id: &Hash32) -> Result<Option<(u64, u32)>, Self::Error>;
    fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, Self::Error>;
    /// Inclusion proof of a committed transaction in its block.
    fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, Self::Error>;
    /// A proof of `key`'s value (or absence) in the state after block `height`.
    fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, Self::Error>;
}

/// Why the in-memory ledger refused something.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MemLedgerError {
    #[error("no genesis yet")]
    NoGenesis,
    #[error("genesis: this ledger holds chain {stored:?}; refusing another genesis ({given:?})")]
    GenesisMismatch { stored: String, given: String },
    #[error("genesis: {0}")]
    Genesis(String),
    #[error("block: height {got}, the next is {expected}")]
    NotNext { expected: u64, got: u64 },
    #[error("block {height}: parent hash is not the tip's")]
    WrongParent { height: u64 },
    #[error("block {0} is missing")]
    MissingBlock(u64),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("in-memory ledger: lock poisoned")]
    Poisoned,
}

#[derive(Default)]
struct Chain {
    genesis: Option<Genesis>,
    tip: Option<ChainTip>,
    blocks: Vec<Block>,
    locations: HashMap<Hash32, (u64, u32)>,
    receipts: HashMap<Hash32, Receipt>,
}

/// The whole ledger in memory: nothing survives the process.
#[derive(Default, Clone)]
pub struct MemLedger {
    tree: Arc<MemTreeStore>,
    chain: Arc<RwLock<Chain>>,
}

impl MemLedger {
    pub fn new() -> MemLedger {
        MemLedger::default()
    }

    fn read(&self) -> Result<std::sync::RwLockReadGuard<'_, Chain>, MemLedgerError> {
        self.chain.read().map_err(|_| MemLedgerError::Poisoned)
    }
}

impl TreeReader for MemLedger {
    fn get_node_option(
        &self,
        key: &crate::authenticated::NodeKey,
    ) -> Result<Option<Arc<crate::authenticated::InternalNode>>, StateError> {
        self.tree.get_node_option(key)
    }
    fn get_value_option(&self, max_version: Version, key_hash: KeyHash) -> Result<Option<Vec<u8>>, StateError> {
        self.tree.get_value_option(max_version, key_hash)
    }
}

impl BlockStore for MemLedger {
    type Error = MemLedgerError;

    fn tip(&self) -> Result<Option<ChainTip>, MemLedgerError> {
        Ok(self.read()?.tip.clone())
    }

    fn init_genesis(&self, executor: &Executor, genesis: &Genesis) -> Result<ChainTip, MemLedgerError> {
        let mut chain = self.chain.write().map_err(|_| MemLedgerError::Poisoned)?;
        if let Some(stored) = &chain.genesis {
            if stored.hash() != genesis.hash() {
                return Err(MemLedgerError::GenesisMismatch {
                    stored: stored.chain_id.clone(),
                    given: genesis.chain_id.clone(),
                });
            }
            return chain.tip.clone().ok_or(MemLedgerError::NoGenesis);
        }
        let (commit, tip) =
            executor.init_genesis(self.tree.as_ref(), genesis).map_err(|e| MemLedgerError::Genesis(e.to_string()))?;
        self.tree.apply(&commit);
        chain.genesis = Some(genesis.clone());
        chain.tip = Some(tip.clone());
        Ok(tip)
    }

    fn commit_block(&self, exec: &ExecutedBlock) -> Result<ChainTip, MemLedgerError> {
        let mut chain = self.chain.write().map_err(|_| MemLedgerError::Poisoned)?;
        let tip = chain.tip.clone().ok_or(MemLedgerError::NoGenesis)?;
        let header = &exec.block.header;
        if header.height != tip.height + 1 {
            return Err(MemLedgerError::NotNext { expected: tip.height + 1, got: header.height });
        }
        if header.parent_hash != tip.hash {
            return Err(MemLedgerError::WrongParent { height: header.height });
        }
        self.tree.apply(&exec.state);
        for r in &exec.receipts {
            chain.locations.insert(r.tx_id, (r.height, r.index));
            chain.receipts.insert(r.tx_id, r.clone());
        }
        chain.blocks.push(exec.block.clone());
        let new_tip = ChainTip::of(header);
        chain.tip = Some(new_tip.clone());
        Ok(new_tip)
    }

    fn set_certificate(&self, height: u64, cert: CommitCertificate) -> Result<(), MemLedgerError> {
        let mut chain = self.chain.write().map_err(|_| MemLedgerError::Poisoned)?;
        let block = height
            .checked_sub(1)
            .and_then(|i| chain.blocks.get_mut(i as usize))
            .ok_or(MemLedgerError::MissingBlock(height))?;
        block.certificate = Some(cert);
        Ok(())
    }

    fn block(&self, height: u64) -> Result<Option<Block>, MemLedgerError> {
        Ok(height.checked_sub(1).and_then(|i| self.read().ok()?.blocks.get(i as usize).cloned()))
    }

    fn tx_location(&self, tx_id: &Hash32) -> Result<Option<(u64, u32)>, MemLedgerError> {
        Ok(self.read()?.locations.get(tx_id).copied())
    }

    fn receipt(&self, tx_id: &Hash32) -> Result<Option<Receipt>, MemLedgerError> {
        Ok(self.read()?.receipts.get(tx_id).cloned())
    }

    fn tx_proof(&self, tx_id: &Hash32) -> Result<Option<TxInclusionProof>, MemLedgerError> {
        let Some((height, index)) = self.tx_location(tx_id)? else { return Ok(None) };
        let block = self.block(height)?.ok_or(MemLedgerError::MissingBlock(height))?;
        Ok(block.tx_proof(index as usize))
    }

    fn state_proof(&self, key: &[u8], height: u64) -> Result<StateProof, MemLedgerError> {
        Ok(prove(self.tree.as_ref(), key, height)?)
    }
}

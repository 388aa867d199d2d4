//! Blocks: a header committing to transactions, receipts and the post-state, the transactions, and a
//! slot for the commit certificate that consensus attaches once the block is decided.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::codec::{decode_canonical, encode, DecodeError};
use crate::crypto::{sm3_parts, Address, Hash32, Signature};
use crate::merkle::{merkle_proof, merkle_root, MerkleProof};
use crate::tx::SignedTx;

pub const BLOCK_HASH_PREFIX: &[u8] = b"SCF-BLOCK-v1";
/// Hard upper bound on an encoded block.
pub const MAX_BLOCK_BYTES: usize = 32 * 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct BlockHeader {
    pub chain_id: String,
    pub height: u64,
    pub parent_hash: Hash32,
    /// SM3 Merkle root of the transaction ids, in block order.
    pub tx_root: Hash32,
    /// SM3 Merkle root of the receipt hashes, in block order.
    pub receipts_root: Hash32,
    /// Root of the authenticated state *after* this block.
    pub state_root: Hash32,
    /// Milliseconds since the Unix epoch; strictly greater than the parent's.
    pub time_ms: u64,
    pub proposer: Address,
}

impl BlockHeader {
    /// SM3 over `"SCF-BLOCK-v1" ‖ borsh(header)`.
    pub fn hash(&self) -> Hash32 {
        Hash32(sm3_parts(&[BLOCK_HASH_PREFIX, &encode(self)]))
    }
}

/// One validator's precommit signature in a commit certificate.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitSignature {
    pub validator: Address,
    pub signature: Signature,
}

/// Proof that a block was decided: 2f+1 precommits for `block_hash` at `height`/`round`. What exactly the
/// signatures cover is defined by the consensus layer; the ledger only stores and carries them.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct CommitCertificate {
    pub height: u64,
    pub round: u32,
    pub block_hash: Hash32,
    pub signatures: Vec<CommitSignature>,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Block {
    pub header: BlockHeader,
    pub txs: Vec<SignedTx>,
    pub certificate: Option<CommitCertificate>,
}

/// A transaction's inclusion in a block, checkable with nothing but the header.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct TxInclusionProof {
    pub tx_id: Hash32,
    pub header: BlockHeader,
    pub proof: MerkleProof,
}

impl TxInclusionProof {
    pub fn verify(&self) -> bool {
        self.proof.verify(&self.tx_id, &self.header.tx_root)
    }
}

impl Block {
    pub fn hash(&self) -> Hash32 {
        self.header.hash()
    }
    pub fn tx_ids(&self) -> Vec<Hash32> {
        self.txs.iter().map(SignedTx::id).collect()
    }
    pub fn compute_tx_root(txs: &[SignedTx]) -> Hash32 {
        merkle_root(&txs.iter().map(SignedTx::id).collect::<Vec<_>>())
    }
    pub fn tx_proof(&self, index: usize) -> Option<TxInclusionProof> {
        let ids = self.tx_ids();
        let proof = merkle_proof(&ids, index)?;
        Some(TxInclusionProof { tx_id: ids[index], header: self.header.clone(), proof })
    }
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(self)
    }
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, DecodeError> {
        decode_canonical("block", bytes, MAX_BLOCK_BYTES)
    }
}

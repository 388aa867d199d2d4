//! The "verified on chain" bundle of one anchored event, in exactly the form the browser verifier
//! (`ui/src/verify/bundle.ts`) checks without trusting this server:
//!
//! event hash ∈ receipt events → SM3(receipt bytes) under the header's receipts root → the tx id under
//! the header's tx root → SM3(header bytes) = the certificate's block hash → 2f+1 precommits of the
//! validator set that validated the block.
//!
//! Bytes are the ledger's canonical Borsh encodings (docs/ledger-format.md); proofs are the ledger's
//! own [`merkle_proof`]. Everything is read through the [`Chain`] seam (block, receipts, state), so the
//! same code serves the dev chain and the BFT node.

use std::collections::HashMap;

use async_graphql::SimpleObject;
use scf_ledger::block::Block;
use scf_ledger::codec::encode;
use scf_ledger::crypto::Hash32;
use scf_ledger::merkle::{merkle_proof, MerkleProof};
use scf_ledger::validators::validator_set_at;

use super::explorer::ValidatorNode;
use crate::error::{ApiError, ApiResult};
use scf_client::Chain;

/// One step up an SM3 Merkle proof.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "ProofStep")]
pub struct ProofStepNode {
    pub sibling: String,
    pub sibling_on_left: bool,
}

/// An SM3 Merkle inclusion proof (leaf = SM3(0x00 ‖ item), node = SM3(0x01 ‖ left ‖ right)).
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "MerkleProof")]
pub struct MerkleProofNode {
    pub index: i32,
    pub count: i32,
    pub steps: Vec<ProofStepNode>,
}

impl From<&MerkleProof> for MerkleProofNode {
    fn from(p: &MerkleProof) -> Self {
        MerkleProofNode {
            index: p.index as i32,
            count: p.count as i32,
            steps: p
                .steps
                .iter()
                .map(|s| ProofStepNode { sibling: s.sibling.to_hex(), sibling_on_left: s.sibling_on_left })
                .collect(),
        }
    }
}

/// One precommit signature of a commit certificate.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "CommitSignature")]
pub struct CommitSignatureWire {
    /// Validator address (20 bytes, hex).
    pub validator: String,
    /// SM2 signature (64 bytes r ‖ s, hex).
    pub signature: String,
}

/// A block's commit certificate as the verifier reads it.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "CommitCertificate")]
pub struct CommitCertificateWire {
    pub height: i64,
    pub round: i32,
    pub block_hash: String,
    pub signatures: Vec<CommitSignatureWire>,
}

/// Everything needed to check offline that an event hash was anchored on chain.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "EventProofBundle")]
pub struct EventProofBundle {
    /// The anchored event hash exactly as recorded (`ni:///sha-256;…?ver=CBV2.0`).
    pub event_hash: String,
    /// Canonical Borsh bytes of the anchoring transaction's receipt (hex).
    pub receipt_hex: String,
    /// The receipt hash under the header's receipts root.
    pub receipt_proof: MerkleProofNode,
    /// The transaction id under the header's tx root.
    pub tx_proof: Option<MerkleProofNode>,
    /// Canonical Borsh bytes of the block header (hex); SM3 of them is the block hash.
    pub header_hex: String,
    /// Null while the block has no certificate yet.
    pub certificate: Option<CommitCertificateWire>,
    /// The validator set that validated the block.
    pub validators: Vec<ValidatorNode>,
}

/// What one block contributes to every bundle of events anchored in it.
struct BlockParts {
    block: Block,
    receipt_hashes: Vec<Hash32>,
    header_hex: String,
    certificate: Option<CommitCertificateWire>,
    validators: Vec<ValidatorNode>,
}

/// Builds bundles, reading each block (its receipts and validator set) once per request.
pub struct ProofBuilder<'a> {
    chain: &'a dyn Chain,
    blocks: HashMap<u64, BlockParts>,
}

impl<'a> ProofBuilder<'a> {
    pub fn new(chain: &'a dyn Chain) -> Self {
        ProofBuilder { chain, blocks: HashMap::new() }
    }

    async fn block_parts(&mut self, height: u64) -> ApiResult<Option<&BlockParts>> {
        if !self.blocks.contains_key(&height) {
            let Some(committed) = self.chain.block(height).await? else { return Ok(None) };
            let receipt_hashes = committed.receipts.iter().map(|r| r.hash()).collect();
            let block = committed.block.clone();
            // The set that validated block h is the one state before h scheduled for h.
            let validators = {
                let state = self.chain.state(Some(height.saturating_sub(1)))?;
                validator_set_at(state.as_ref(), height).map_err(|e| ApiError::internal("validator set", e))?
            };
            let certificate = block.certificate.as_ref().map(|c| CommitCertificateWire {
                height: c.height as i64,
                round: c.round as i32,
                block_hash: c.block_hash.to_hex(),
                signatures: c
                    .signatures
                    .iter()
                    .map(|s| CommitSignatureWire { validator: s.validator.to_hex(), signature: s.signature.to_hex() })
                    .collect(),
            });
            let parts = BlockParts {
                header_hex: hex::encode(encode(&block.header)),
                block,
                receipt_hashes,
                certificate,
                validators: validators.into_iter().map(ValidatorNode::from).collect(),
            };
            self.blocks.insert(height, parts);
        }
        Ok(self.blocks.get(&height))
    }

    /// The bundle for `event_hash` anchored by transaction `tx_id`; `None` when the transaction is not
    /// (or no longer) in a committed block, or its receipt does not carry that event hash.
    pub async fn event_proof(&mut self, tx_id: &Hash32, event_hash: &str) -> ApiResult<Option<EventProofBundle>> {
        let Some(receipt) = self.chain.receipt(tx_id).await? else { return Ok(None) };
        if !receipt.is_success() || !receipt.events.iter().any(|e| e.attribute("hash") == Some(event_hash)) {
            return Ok(None);
        }
        let index = receipt.index as usize;
        let receipt_hex = hex::encode(encode(&receipt));
        let Some(parts) = self.block_parts(receipt.height).await? else { return Ok(None) };
        let Some(receipt_proof) = merkle_proof(&parts.receipt_hashes, index) else { return Ok(None) };
        let tx_proof = parts.block.tx_proof(index).map(|p| MerkleProofNode::from(&p.proof));
        Ok(Some(EventProofBundle {
            event_hash: event_hash.to_string(),
            receipt_hex,
            receipt_proof: MerkleProofNode::from(&receipt_proof),
            tx_proof,
            header_hex: parts.header_hex.clone(),
            certificate: parts.certificate.clone(),
            validators: parts.validators.clone(),
        }))
    }
}

//! Commit certificates: conversion between Malachite's certificate and the one the ledger stores with
//! each block, and offline verification of a stored block against a validator set.
//!
//! A certificate signature is an SM2 signature by a validator over the precommit
//! `"SCF-VOTE-v1" ‖ borsh(Vote{Precommit, height, round, Val(block hash), validator address})`
//! (see [`crate::signing::precommit_signing_bytes`]). A block is final when validators holding more than
//! two thirds of the voting power signed such a precommit for its header hash.

use std::collections::BTreeSet;

use malachitebft_core_types::{
    CommitCertificate as MalCertificate, CommitSignature as MalSignature, ExtendedCommitCertificate, Round,
    VoteExtensions,
};
use scf_ledger::block::{Block, CommitCertificate, CommitSignature};
use scf_ledger::crypto::{Address, Signature};
use scf_ledger::genesis::Validator;

use crate::context::{BlockHash, Height, ScfContext, ValidatorAddress};
use crate::signing::precommit_signing_bytes;

/// Why a block's certificate does not prove it final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("certificate: block {height} carries no commit certificate")]
    Missing { height: u64 },
    #[error("certificate.height: {got}, but the block is at height {expected}")]
    WrongHeight { expected: u64, got: u64 },
    #[error("certificate.block_hash: {got}, but the block header hashes to {expected}")]
    WrongBlockHash { expected: String, got: String },
    #[error("certificate.signatures[{index}]: {validator} is not in the validator set")]
    UnknownValidator { index: usize, validator: Address },
    #[error("certificate.signatures[{index}]: {validator} signed twice")]
    DuplicateValidator { index: usize, validator: Address },
    #[error("certificate.signatures[{index}]: SM2 signature of {validator} does not verify")]
    BadSignature { index: usize, validator: Address },
    #[error("certificate: signers hold {signed} of {total} voting power; more than two thirds is required")]
    InsufficientPower { signed: u64, total: u64 },
    #[error("certificate.round: round is not defined")]
    NilRound,
}

/// What a successful check established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateCheck {
    pub height: u64,
    pub round: u32,
    pub block_hash: String,
    pub signers: Vec<String>,
    pub signed_power: u64,
    pub total_power: u64,
}

/// Verify that `block`'s certificate holds valid SM2 precommits for its header hash from validators of
/// `validators` with more than 2/3 of the voting power. Needs no node, database or network.
pub fn verify_certificate(block: &Block, validators: &[Validator]) -> Result<CertificateCheck, CertificateError> {
    let height = block.header.height;
    let cert = block.certificate.as_ref().ok_or(CertificateError::Missing { height })?;
    if cert.height != height {
        return Err(CertificateError::WrongHeight { expected: height, got: cert.height });
    }
    let hash = block.header.hash();
    if cert.block_hash != hash {
        return Err(CertificateError::WrongBlockHash { expected: hash.to_hex(), got: cert.block_hash.to_hex() });
    }
    let total: u64 = validators.iter().map(|v| v.power).sum();
    let mut seen = BTreeSet::new();
    let mut signed = 0u64;
    let mut signers = Vec::new();
    for (index, s) in cert.signatures.iter().enumerate() {
        let v = validators
            .iter()
            .find(|v| v.address() == s.validator)
            .ok_or(CertificateError::UnknownValidator { index, validator: s.validator })?;
        if !seen.insert(s.validator) {
            return Err(CertificateError::DuplicateValidator { index, validator: s.validator });
        }
        let msg = precommit_signing_bytes(height, cert.round, hash, s.validator);
        v.public_key
            .verify(&msg, &s.signature)
            .map_err(|_| CertificateError::BadSignature { index, validator: s.validator })?;
        signed = signed.saturating_add(v.power);
        signers.push(v.name.clone());
    }
    if signed.saturating_mul(3) <= total.saturating_mul(2) {
        return Err(CertificateError::InsufficientPower { signed, total });
    }
    Ok(CertificateCheck {
        height,
        round: cert.round,
        block_hash: hash.to_hex(),
        signers,
        signed_power: signed,
        total_power: total,
    })
}

/// The ledger form of a Malachite commit certificate.
pub fn to_ledger(cert: &MalCertificate<ScfContext>) -> Result<CommitCertificate, CertificateError> {
    let round = cert.round.as_u32().ok_or(CertificateError::NilRound)?;
    Ok(CommitCertificate {
        height: cert.height.0,
        round,
        block_hash: cert.value_id.0,
        signatures: cert
            .commit_signatures
            .iter()
            .map(|s| CommitSignature { validator: s.address.0, signature: Signature::from(s.signature) })
            .collect(),
    })
}

/// The Malachite form of a stored certificate, for serving sync requests.
pub fn to_malachite(cert: &CommitCertificate) -> ExtendedCommitCertificate<ScfContext> {
    let mal = MalCertificate {
        height: Height(cert.height),
        round: Round::new(cert.round),
        value_id: BlockHash(cert.block_hash),
        commit_signatures: cert
            .signatures
            .iter()
            .map(|s| MalSignature::new(ValidatorAddress(s.validator), s.signature.into()))
            .collect(),
    };
    ExtendedCommitCertificate::from_commit_certificate_and_extensions(mal, VoteExtensions::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use scf_ledger::block::BlockHeader;
    use scf_ledger::crypto::{Hash32, KeyPair};

    fn setup(n: usize) -> (Vec<KeyPair>, Vec<Validator>, Block) {
        let keys: Vec<KeyPair> = (0..n).map(|i| KeyPair::from_seed(&format!("val-{i}"))).collect();
        let vals = keys
            .iter()
            .enumerate()
            .map(|(i, k)| Validator { name: format!("v{i}"), public_key: *k.public(), power: 1, peer_id: None })
            .collect();
        let header = BlockHeader {
            chain_id: "c".into(),
            height: 5,
            parent_hash: Hash32([1; 32]),
            tx_root: Hash32::ZERO,
            receipts_root: Hash32::ZERO,
            state_root: Hash32([2; 32]),
            time_ms: 10,
            proposer: keys[0].address(),
        };
        (keys, vals, Block { header, txs: vec![], certificate: None })
    }

    fn sign(keys: &[KeyPair], block: &Block, round: u32) -> CommitCertificate {
        let hash = block.header.hash();
        CommitCertificate {
            height: block.header.height,
            round,
            block_hash: hash,
            signatures: keys
                .iter()
                .map(|k| CommitSignature {
                    validator: k.address(),
                    signature: k.sign(&precommit_signing_bytes(block.header.height, round, hash, k.address())),
                })
                .collect(),
        }
    }

    #[test]
    fn three_of_four_is_final_two_is_not() {
        let (keys, vals, mut block) = setup(4);
        block.certificate = Some(sign(&keys[..3], &block, 1));
        let check = verify_certificate(&block, &vals).expect("3 of 4 signatures are final");
        assert_eq!(check.signed_power, 3);
        block.certificate = Some(sign(&keys[..2], &block, 1));
        assert_eq!(verify_certificate(&block, &vals), Err(CertificateError::InsufficientPower { signed: 2, total: 4 }));
    }

    #[test]
    fn tampered_header_or_signature_is_refused() {
        let (keys, vals, mut block) = setup(4);
        block.certificate = Some(sign(&keys, &block, 0));
        let mut other = block.clone();
        other.header.state_root = Hash32([3; 32]);
        assert!(matches!(verify_certificate(&other, &vals), Err(CertificateError::WrongBlockHash { .. })));
        let mut bad = block.clone();
        if let Some(c) = bad.certificate.as_mut() {
            c.round = 9; // signatures were over round 0
        }
        assert!(matches!(verify_certificate(&bad, &vals), Err(CertificateError::BadSignature { index: 0, .. })));
        let mut dup = block.clone();
        if let Some(c) = dup.certificate.as_mut() {
            let first = c.signatures[0].clone();
            c.signatures[1] = first;
        }
        assert!(matches!(verify_certificate(&dup, &vals), Err(CertificateError::DuplicateValidator { index: 1, .. })));
        assert!(verify_certificate(&block, &vals[..3]).is_err(), "unknown signer refused");
    }
}

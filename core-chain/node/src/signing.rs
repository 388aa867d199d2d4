//! SM2 as Malachite's signing scheme: proposals, votes, proposal parts and validator proofs are signed
//! with the validator's SM2 consensus key (distinguishing ID 1234567812345678, 64-byte r‖s signatures).
//!
//! What each signature covers is fixed here, with a domain-separation prefix per message kind, so that a
//! precommit can be re-checked offline from nothing but a stored block and the validator set
//! ([`crate::certificate::verify_certificate`]).

use async_trait::async_trait;
use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_core_types::{
    NilOrVal, Round, SignedMessage, SigningScheme, ValidatorProof, VoteExtensionScope, VoteType,
};
use malachitebft_signing::{Error as SigningError, Signer, VerificationResult, Verifier};
use scf_ledger::codec::encode;
use scf_ledger::crypto::{CryptoError, Hash32, KeyPair, PublicKey, Signature};

use crate::context::{BlockHash, Height, Proposal, ScfContext, ValidatorAddress, Vote};

pub const VOTE_PREFIX: &[u8] = b"SCF-VOTE-v1";
pub const PROPOSAL_PREFIX: &[u8] = b"SCF-PROPOSAL-v1";
pub const PART_PREFIX: &[u8] = b"SCF-PART-v1";

/// A consensus signature (SM2 r‖s). Its own type because Malachite orders signatures (`Ord`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct ConsensusSignature(pub [u8; 64]);

impl From<Signature> for ConsensusSignature {
    fn from(s: Signature) -> Self {
        ConsensusSignature(s.0)
    }
}

impl From<ConsensusSignature> for Signature {
    fn from(s: ConsensusSignature) -> Self {
        Signature(s.0)
    }
}

/// SM2 over the default distinguishing ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sm2Scheme;

impl SigningScheme for Sm2Scheme {
    type DecodingError = CryptoError;
    type Signature = ConsensusSignature;
    type PublicKey = PublicKey;
    type PrivateKey = KeyPair;

    fn decode_signature(bytes: &[u8]) -> Result<ConsensusSignature, CryptoError> {
        Signature::from_slice(bytes).map(ConsensusSignature::from)
    }
    fn encode_signature(signature: &ConsensusSignature) -> Vec<u8> {
        signature.0.to_vec()
    }
    fn decode_public_key(bytes: &[u8]) -> Result<PublicKey, CryptoError> {
        PublicKey::from_bytes(bytes)
    }
    fn encode_public_key(public_key: &PublicKey) -> Vec<u8> {
        public_key.as_bytes().to_vec()
    }
}

/// Bytes a vote signature covers: `"SCF-VOTE-v1" ‖ borsh(vote)`.
pub fn vote_signing_bytes(vote: &Vote) -> Vec<u8> {
    let mut out = VOTE_PREFIX.to_vec();
    out.extend(encode(vote));
    out
}

/// The precommit a commit signature in a certificate must cover.
pub fn precommit_signing_bytes(height: u64, round: u32, block_hash: Hash32, validator: scf_ledger::Address) -> Vec<u8> {
    vote_signing_bytes(&Vote {
        vote_type: VoteType::Precommit,
        height: Height(height),
        round: Round::new(round),
        value: NilOrVal::Val(BlockHash(block_hash)),
        validator: ValidatorAddress(validator),
    })
}

/// Bytes a proposal signature covers: `"SCF-PROPOSAL-v1" ‖ borsh(proposal)`.
pub fn proposal_signing_bytes(proposal: &Proposal) -> Vec<u8> {
    let mut out = PROPOSAL_PREFIX.to_vec();
    out.extend(encode(proposal));
    out
}

/// Bytes a proposal part signature covers: `"SCF-PART-v1" ‖ borsh(height, round, block hash)`.
pub fn proposal_part_signing_bytes(height: Height, round: Round, block_hash: Hash32) -> Vec<u8> {
    let mut out = PART_PREFIX.to_vec();
    out.extend(encode(&(height, round, block_hash)));
    out
}

fn verdict(pk: &PublicKey, msg: &[u8], sig: &ConsensusSignature) -> VerificationResult {
    VerificationResult::from_bool(pk.verify(msg, &Signature::from(*sig)).is_ok())
}

/// Checks SM2 signatures on consensus messages; stateless.
#[derive(Clone, Copy, Debug, Default)]
pub struct Sm2Verifier;

#[async_trait]
impl Verifier<ScfContext> for Sm2Verifier {
    async fn verify_signed_vote(
        &self,
        vote: &Vote,
        signature: &ConsensusSignature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verdict(public_key, &vote_signing_bytes(vote), signature))
    }

    async fn verify_signed_proposal(
        &self,
        proposal: &Proposal,
        signature: &ConsensusSignature,
        public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        Ok(verdict(public_key, &proposal_signing_bytes(proposal), signature))
    }

    async fn verify_signed_vote_extension(
        &self,
        _scope: &VoteExtensionScope<ScfContext>,
        _extension: &(),
        _signature: &ConsensusSignature,
        _public_key: &PublicKey,
    ) -> Result<VerificationResult, SigningError> {
        // Vote extensions are disabled for this chain: any extension is refused.
        Ok(VerificationResult::Invalid)
    }

    async fn verify_validator_proof(
        &self,
        proof: &ValidatorProof<ScfContext>,
    ) -> Result<VerificationResult, SigningError> {
        let Ok(pk) = PublicKey::from_bytes(&proof.public_key) else {
            return Ok(VerificationResult::Invalid);
        };
        Ok(verdict(&pk, &proof.preimage(), &proof.signature))
    }
}

/// An append-only record of every proposal and vote this validator signed, one line each:
/// `<kind> <height> <round> <value>` (kind `proposal`, `prevote` or `precommit`; value a block hash or
/// `nil`), and the guard that keeps it true that a validator never signs two different messages of one
/// kind for one height and round — across crashes and restarts too. The journal is read back when the
/// node starts. Asked for a vote that differs from the one signed before for the same kind, height and
/// round (a validator that crashed after voting and came back without the block), the signer signs the
/// earlier vote again instead: re-sending what was signed is no equivocation, and consensus carries on. A
/// differing proposal is refused. Each line is written (write(2),
/// no fsync: it survives the process being killed, not a power cut) before the signature is handed to
/// consensus; a write that fails refuses the signature. The fault-injection harness reads the file.
#[derive(Debug)]
pub struct SigningJournal {
    inner: std::sync::Mutex<JournalInner>,
}

#[derive(Debug)]
struct JournalInner {
    file: std::fs::File,
    /// What was signed, by (kind, height, round), for the heights still worth remembering.
    signed: std::collections::BTreeMap<(u64, i64, String), String>,
}

/// Heights below the newest signed one minus this are forgotten (consensus never goes back that far).
const REMEMBERED_HEIGHTS: u64 = 1_000;

impl SigningJournal {
    pub fn open(path: &std::path::Path) -> std::io::Result<SigningJournal> {
        let mut signed = std::collections::BTreeMap::new();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                for line in text.lines() {
                    let mut f = line.split(' ');
                    let (Some(kind), Some(h), Some(r), Some(v)) = (f.next(), f.next(), f.next(), f.next()) else {
                        continue; // a line cut short by a crash: nothing was signed after it
                    };
                    if let (Ok(h), Ok(r)) = (h.parse::<u64>(), r.parse::<i64>()) {
                        signed.insert((h, r, kind.to_string()), v.to_string());
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let mut inner = JournalInner { file, signed };
        inner.forget_old();
        Ok(SigningJournal { inner: std::sync::Mutex::new(inner) })
    }

    /// Record `value` for (kind, height, round) before it is signed. `Ok(None)`: sign it. `Ok(Some(v))`:
    /// something else, `v`, was signed there before — sign nothing new.
    fn record(&self, kind: &str, height: Height, round: Round, value: &str) -> Result<Option<String>, SigningError> {
        use std::io::Write;
        let mut g = self.inner.lock().map_err(|_| SigningError::from_source("signing journal: lock poisoned"))?;
        let key = (height.0, round.as_i64(), kind.to_string());
        if let Some(before) = g.signed.get(&key) {
            return Ok((before != value).then(|| before.clone()));
        }
        let line = format!("{kind} {} {} {value}\n", height.0, round.as_i64());
        g.file.write_all(line.as_bytes()).map_err(|e| SigningError::from_source(format!("signing journal: {e}")))?;
        g.signed.insert(key, value.to_string());
        g.forget_old();
        Ok(None)
    }
}

impl JournalInner {
    fn forget_old(&mut self) {
        let Some(newest) = self.signed.keys().next_back().map(|k| k.0) else { return };
        let keep_from = newest.saturating_sub(REMEMBERED_HEIGHTS);
        self.signed = self.signed.split_off(&(keep_from, i64::MIN, String::new()));
    }
}

/// Signs consensus messages with the node's SM2 consensus key.
#[derive(Clone, Debug)]
pub struct Sm2Signer {
    key: KeyPair,
    journal: Option<std::sync::Arc<SigningJournal>>,
}

impl Sm2Signer {
    pub fn new(key: KeyPair) -> Self {
        Sm2Signer { key, journal: None }
    }
    /// Record every signed proposal and vote in `journal`.
    pub fn with_journal(mut self, journal: SigningJournal) -> Self {
        self.journal = Some(std::sync::Arc::new(journal));
        self
    }
    pub fn address(&self) -> ValidatorAddress {
        ValidatorAddress(self.key.address())
    }
    pub fn public_key(&self) -> PublicKey {
        *self.key.public()
    }
    /// Sign a proposal part's (height, round, block hash).
    pub fn sign_part(&self, height: Height, round: Round, block_hash: Hash32) -> Signature {
        self.key.sign(&proposal_part_signing_bytes(height, round, block_hash))
    }
    /// A validator proof binding this consensus key to a libp2p peer id (Malachite ADR-006).
    pub fn validator_proof(&self, peer_id: Vec<u8>) -> ValidatorProof<ScfContext> {
        let pk = self.key.public().as_bytes().to_vec();
        let sig = self.key.sign(&ValidatorProof::<ScfContext>::signing_bytes(&pk, &peer_id));
        ValidatorProof::new(pk, peer_id, sig.into())
    }
}

#[async_trait]
impl Signer<ScfContext> for Sm2Signer {
    async fn sign_vote(&self, mut vote: Vote) -> Result<SignedMessage<ScfContext, Vote>, SigningError> {
        if let Some(j) = &self.journal {
            let kind = match vote.vote_type {
                VoteType::Prevote => "prevote",
                VoteType::Precommit => "precommit",
            };
            let value = match &vote.value {
                NilOrVal::Nil => "nil".to_string(),
                NilOrVal::Val(v) => v.to_string(),
            };
            if let Some(before) = j.record(kind, vote.height, vote.round, &value)? {
                tracing::warn!(
                    height = %vote.height, round = %vote.round, kind, asked = %value, signed = %before,
                    "asked to vote differently in a round this validator already voted in: signing the earlier vote again"
                );
                vote.value =
                    match before.as_str() {
                        "nil" => NilOrVal::Nil,
                        hex => NilOrVal::Val(BlockHash(Hash32::from_hex(hex).map_err(|e| {
                            SigningError::from_source(format!("signing journal: bad value {hex:?}: {e}"))
                        })?)),
                    };
            }
        }
        let sig = self.key.sign(&vote_signing_bytes(&vote));
        Ok(SignedMessage::new(vote, sig.into()))
    }

    async fn sign_proposal(&self, proposal: Proposal) -> Result<SignedMessage<ScfContext, Proposal>, SigningError> {
        if let Some(j) = &self.journal {
            if let Some(before) = j.record("proposal", proposal.height, proposal.round, &proposal.value.to_string())? {
                return Err(SigningError::from_source(format!(
                    "refusing to sign proposal {} at height {} round {}: this validator already proposed {before} there",
                    proposal.value,
                    proposal.height,
                    proposal.round.as_i64()
                )));
            }
        }
        let sig = self.key.sign(&proposal_signing_bytes(&proposal));
        Ok(SignedMessage::new(proposal, sig.into()))
    }

    async fn sign_vote_extension(
        &self,
        _scope: VoteExtensionScope<ScfContext>,
        _extension: (),
    ) -> Result<SignedMessage<ScfContext, ()>, SigningError> {
        Err(SigningError::from_source("vote extensions are disabled on this chain"))
    }

    async fn sign_validator_proof(
        &self,
        public_key: Vec<u8>,
        peer_id: Vec<u8>,
    ) -> Result<ValidatorProof<ScfContext>, SigningError> {
        if public_key != self.key.public().as_bytes().to_vec() {
            return Err(SigningError::from_source("validator proof: public key is not this signer's"));
        }
        Ok(self.validator_proof(peer_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn vote_signature_round_trip_and_tamper() {
        let key = KeyPair::from_seed("v1");
        let signer = Sm2Signer::new(key.clone());
        let vote = Vote {
            vote_type: VoteType::Precommit,
            height: Height(7),
            round: Round::new(0),
            value: NilOrVal::Val(BlockHash(Hash32([9; 32]))),
            validator: signer.address(),
        };
        let signed = signer.sign_vote(vote.clone()).await.expect("sign");
        let v = Sm2Verifier;
        assert!(v.verify_signed_vote(&vote, &signed.signature, key.public()).await.expect("verify").is_valid());
        let mut other = vote.clone();
        other.height = Height(8);
        assert!(v.verify_signed_vote(&other, &signed.signature, key.public()).await.expect("verify").is_invalid());
        // The certificate path reconstructs exactly these bytes.
        assert_eq!(vote_signing_bytes(&vote), precommit_signing_bytes(7, 0, Hash32([9; 32]), key.address()));
    }

    #[tokio::test]
    async fn a_restarted_validator_never_signs_a_second_vote_for_a_round() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("signed.log");
        let key = KeyPair::from_seed("journal");
        let vote = |value: NilOrVal<BlockHash>| Vote {
            vote_type: VoteType::Prevote,
            height: Height(81),
            round: Round::new(0),
            value,
            validator: ValidatorAddress(key.address()),
        };
        let block = NilOrVal::Val(BlockHash(scf_ledger::Hash32([7; 32])));
        {
            let s = Sm2Signer::new(key.clone()).with_journal(SigningJournal::open(&path).expect("journal"));
            s.sign_vote(vote(block)).await.expect("first prevote");
            s.sign_vote(vote(block)).await.expect("the same prevote again");
        }
        // The process dies and starts again: the journal is read back.
        let s = Sm2Signer::new(key.clone()).with_journal(SigningJournal::open(&path).expect("journal"));
        // Asked for a nil prevote in the round it already prevoted a block in: it signs the earlier
        // prevote again, never the nil one.
        let again = s.sign_vote(vote(NilOrVal::Nil)).await.expect("a vote");
        assert_eq!(again.message.value, block, "the earlier prevote, not a second one");
        s.sign_vote(vote(block)).await.expect("the same prevote after the restart");
        let mut precommit = vote(NilOrVal::Nil);
        precommit.vote_type = VoteType::Precommit;
        s.sign_vote(precommit).await.expect("another kind is another message");
        assert_eq!(std::fs::read_to_string(&path).expect("read").lines().count(), 2);
    }

    #[tokio::test]
    async fn validator_proof_binds_key_to_peer() {
        let key = KeyPair::from_seed("v2");
        let signer = Sm2Signer::new(key);
        let proof = signer.validator_proof(b"peer".to_vec());
        assert!(Sm2Verifier.verify_validator_proof(&proof).await.expect("verify").is_valid());
        let mut forged = proof.clone();
        forged.peer_id = b"other".to_vec();
        assert!(Sm2Verifier.verify_validator_proof(&forged).await.expect("verify").is_invalid());
    }
}

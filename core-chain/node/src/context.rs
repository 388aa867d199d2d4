//! The Malachite [`Context`] of this chain: what a height, a validator, a value, a proposal and a vote are.
//!
//! The consensus value is the *hash* of a block (an SM3 block-header hash), not the block itself: the
//! full block travels as a proposal part (and as sync payload), so the signed proposal and votes stay a
//! few hundred bytes whatever the block size, and a precommit signature commits to exactly the header
//! hash that the ledger's [`scf_ledger::block::CommitCertificate`] carries.

use std::fmt;

use borsh::{BorshDeserialize, BorshSerialize};
use malachitebft_core_types::{self as mct, LinearTimeouts, NilOrVal, Round, SignedExtension, ValueId, VoteType};
use scf_ledger::block::Block;
use scf_ledger::crypto::{Address, Hash32, PublicKey};
use scf_ledger::genesis::Validator as LedgerValidator;

use crate::signing::Sm2Scheme;

/// Block height as Malachite sees it (same numbering as the ledger: block 1 follows genesis).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct Height(pub u64);

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mct::Height for Height {
    const ZERO: Self = Height(0);
    const INITIAL: Self = Height(1);

    fn increment_by(&self, n: u64) -> Self {
        Height(self.0.saturating_add(n))
    }
    fn decrement_by(&self, n: u64) -> Option<Self> {
        self.0.checked_sub(n).map(Height)
    }
    fn as_u64(&self) -> u64 {
        self.0
    }
}

/// A validator's consensus address: the ledger address (SM3 of the SM2 public key, 20 bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct ValidatorAddress(pub Address);

impl fmt::Display for ValidatorAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mct::Address for ValidatorAddress {}

/// The value consensus decides on: a block hash. Also its own id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct BlockHash(pub Hash32);

impl fmt::Display for BlockHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl mct::Value for BlockHash {
    type Id = BlockHash;
    fn id(&self) -> BlockHash {
        *self
    }
}

/// One member of the validator set as consensus sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsensusValidator {
    pub address: ValidatorAddress,
    pub public_key: PublicKey,
    pub power: u64,
}

impl mct::Validator<ScfContext> for ConsensusValidator {
    fn address(&self) -> &ValidatorAddress {
        &self.address
    }
    fn public_key(&self) -> &PublicKey {
        &self.public_key
    }
    fn voting_power(&self) -> u64 {
        self.power
    }
}

/// The validator set, sorted by address so every node derives the same proposer order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidatorSet {
    pub validators: Vec<ConsensusValidator>,
}

impl ValidatorSet {
    /// Build from the ledger's validator list (genesis or state), sorted by address.
    pub fn from_ledger(validators: &[LedgerValidator]) -> Self {
        let mut v: Vec<ConsensusValidator> = validators
            .iter()
            .map(|v| ConsensusValidator {
                address: ValidatorAddress(v.address()),
                public_key: v.public_key,
                power: v.power,
            })
            .collect();
        v.sort_by_key(|a| a.address);
        ValidatorSet { validators: v }
    }

    pub fn get(&self, address: &Address) -> Option<&ConsensusValidator> {
        self.validators.iter().find(|v| v.address.0 == *address)
    }
}

impl mct::ValidatorSet<ScfContext> for ValidatorSet {
    fn count(&self) -> usize {
        self.validators.len()
    }
    fn total_voting_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }
    fn get_by_address(&self, address: &ValidatorAddress) -> Option<&ConsensusValidator> {
        self.validators.iter().find(|v| v.address == *address)
    }
    fn get_by_index(&self, index: usize) -> Option<&ConsensusValidator> {
        self.validators.get(index)
    }
}

/// A signed proposal announces `value` (a block hash) for `height`/`round`.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    pub height: Height,
    pub round: Round,
    pub value: BlockHash,
    pub pol_round: Round,
    pub proposer: ValidatorAddress,
}

impl mct::Proposal<ScfContext> for Proposal {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &BlockHash {
        &self.value
    }
    fn take_value(self) -> BlockHash {
        self.value
    }
    fn pol_round(&self) -> Round {
        self.pol_round
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.proposer
    }
}

/// A prevote or precommit. Vote extensions are not used by this chain (`Extension = ()`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Vote {
    pub vote_type: VoteType,
    pub height: Height,
    pub round: Round,
    pub value: NilOrVal<BlockHash>,
    pub validator: ValidatorAddress,
}

impl mct::Vote<ScfContext> for Vote {
    fn height(&self) -> Height {
        self.height
    }
    fn round(&self) -> Round {
        self.round
    }
    fn value(&self) -> &NilOrVal<BlockHash> {
        &self.value
    }
    fn take_value(self) -> NilOrVal<BlockHash> {
        self.value
    }
    fn vote_type(&self) -> VoteType {
        self.vote_type
    }
    fn validator_address(&self) -> &ValidatorAddress {
        &self.validator
    }
    fn extension(&self) -> Option<&SignedExtension<ScfContext>> {
        None
    }
    fn take_extension(&mut self) -> Option<SignedExtension<ScfContext>> {
        None
    }
    fn extend(self, _extension: SignedExtension<ScfContext>) -> Self {
        self
    }
}

/// The full block behind a proposal, streamed to the other validators in one part.
///
/// `signature` is the proposer's SM2 signature over [`crate::signing::proposal_part_signing_bytes`], so a
/// node only spends time executing blocks that a validator in the set actually proposed.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ProposalPart {
    pub height: Height,
    pub round: Round,
    pub valid_round: Round,
    pub proposer: ValidatorAddress,
    pub block: Block,
    pub signature: scf_ledger::crypto::Signature,
}

impl mct::ProposalPart<ScfContext> for ProposalPart {
    fn is_first(&self) -> bool {
        true
    }
    fn is_last(&self) -> bool {
        true
    }
}

/// The chain's Malachite context. Carries no state: proposer selection is a pure function of the set.
#[derive(Clone, Copy, Debug, Default)]
pub struct ScfContext;

impl mct::Context for ScfContext {
    type Address = ValidatorAddress;
    type Height = Height;
    type ProposalPart = ProposalPart;
    type Proposal = Proposal;
    type Validator = ConsensusValidator;
    type ValidatorSet = ValidatorSet;
    type Timeouts = LinearTimeouts;
    type Value = BlockHash;
    type Vote = Vote;
    type Extension = ();
    type SigningScheme = Sm2Scheme;

    /// Round-robin over the address-sorted set, shifted by height, so each validator proposes in turn
    /// and a failed proposer is skipped in the next round.
    fn select_proposer<'a>(
        &self,
        validator_set: &'a ValidatorSet,
        height: Height,
        round: Round,
    ) -> &'a ConsensusValidator {
        let n = validator_set.validators.len().max(1) as u64;
        let r = round.as_u32().unwrap_or(0) as u64;
        let idx = (height.0.wrapping_add(r) % n) as usize;
        // The engine never runs with an empty set (genesis validation refuses it); index 0 then exists.
        &validator_set.validators[idx.min(validator_set.validators.len().saturating_sub(1))]
    }

    fn new_proposal(
        &self,
        height: Height,
        round: Round,
        value: BlockHash,
        pol_round: Round,
        address: ValidatorAddress,
    ) -> Proposal {
        Proposal { height, round, value, pol_round, proposer: address }
    }

    fn new_prevote(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<ValueId<Self>>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote { vote_type: VoteType::Prevote, height, round, value: value_id, validator: address }
    }

    fn new_precommit(
        &self,
        height: Height,
        round: Round,
        value_id: NilOrVal<ValueId<Self>>,
        address: ValidatorAddress,
    ) -> Vote {
        Vote { vote_type: VoteType::Precommit, height, round, value: value_id, validator: address }
    }
}

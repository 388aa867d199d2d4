//! Committee governance: no single member rules the consortium.
//!
//! The committee is a set of member organisations with weights (genesis, then changed by proposals).
//! An admin account of a member proposes a change; each member votes once (yes / no / abstain, its
//! admin may change the vote until the proposal closes). Thresholds are basis points of the *total*
//! weight of the electorate, frozen when the proposal is made:
//! - participation: `(yes + no + abstain) × 10000 ≥ participation_bp × total`, else the proposal
//!   **expires**;
//! - pass: `yes × 10000 ≥ pass_bp × total`.
//!
//! Anyone may `Close` a proposal after its deadline (block height or block time), or earlier once the
//! current ballot decides it (the pass threshold is met, or cannot be met even if every member that has
//! not voted says yes). A passed proposal executes in the closing transaction; if it can no longer be
//! applied (state moved on) it is recorded as failed with the reason, so a close never gets stuck.
//!
//! Validator changes never edit the current set: they schedule the whole new set at
//! `close height + delay` ([`scf_ledger::validators::schedule`]); the executor promotes it at that height
//! and consensus reads it with [`scf_ledger::validators::validator_set_at`], with no restart.

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::crypto::{Hash32, PublicKey};
use scf_ledger::genesis::{Validator, PARAMS_KEY};
use scf_ledger::module::{BusinessModule, Event, ModuleCall, ModuleError, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use scf_ledger::validators;
use serde::{Deserialize, Serialize};

use crate::kv::{self, Rule, StoreError};
use crate::org::{self, Org, OrgError, OrgStatus, Role};
use crate::{keys, org_ca};

pub const MODULE: &str = "governance";

/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Most open proposals at a time (bounds the open-proposal index).
pub const MAX_OPEN: usize = 256;
/// Most committee members.
pub const MAX_MEMBERS: usize = 256;

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Member {
    pub org: String,
    pub weight: u64,
}

/// Governance parameters (changed by `SetParam` with names `gov.*`).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GovConfig {
    /// Share of the total weight that must vote (any ballot), in basis points.
    pub participation_bp: u32,
    /// Share of the total weight that must vote yes, in basis points.
    pub pass_bp: u32,
    /// Least number of blocks between the close of a validator change and the height it takes effect.
    pub validator_delay_blocks: u64,
}

impl Default for GovConfig {
    fn default() -> Self {
        GovConfig { participation_bp: 5_000, pass_bp: 6_667, validator_delay_blocks: 2 }
    }
}

/// Genesis section of the `governance` module.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GovGenesis {
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(default)]
    pub config: GovConfig,
}

/// An organisation to admit.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct NewOrg {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    pub roles: Vec<Role>,
    pub public_key: PublicKey,
}

/// What a proposal changes.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ProposalKind {
    /// Admit an organisation; a positive `committee_weight` also makes it a committee member.
    AddOrg { org: NewOrg, committee_weight: u64 },
    /// Remove an organisation: its accounts can sign nothing more, it leaves the committee.
    RemoveOrg { org_id: String },
    /// Set a member's weight (0 removes it from the committee; a new org id joins it).
    SetMember { org_id: String, weight: u64 },
    /// Add a validator from `close height + max(activation_delay, validator_delay_blocks)`.
    AddValidator { validator: Validator, activation_delay: u64 },
    /// Remove a validator (by name), with the same delay rule.
    RemoveValidator { name: String, activation_delay: u64 },
    /// Change a parameter: `chain.max_tx_bytes`, `chain.max_block_txs`, `chain.max_expiry_window`,
    /// `gov.participation_bp`, `gov.pass_bp`, `gov.validator_delay_blocks`.
    SetParam { name: String, value: u64 },
    /// Replace an organisation's key; the old key is refused above `retire_at_height`.
    RotateOrgKey { org_id: String, new_key: PublicKey, retire_at_height: u64 },
    /// Replace a validator's consensus key, with the same delay rule as other validator changes.
    RotateValidatorKey { name: String, new_key: PublicKey, activation_delay: u64 },
    /// Trust an organisation's CA certificate (DER) for 国密 TLS between members, from the closing block
    /// on ([`crate::org_ca`]). To replace a CA, add the new one first, then remove the old one.
    AddOrgCa {
        org_id: String,
        #[serde(with = "scf_ledger::tx::hex_bytes")]
        certificate: Vec<u8>,
    },
    /// Stop trusting one of an organisation's CAs (named by its SM3 fingerprint): what it issued is
    /// refused at the next handshake, and nodes close the connections made with it.
    RemoveOrgCa { org_id: String, fingerprint: Hash32 },
    /// Revoke one certificate issued by a recorded CA (RFC 5280 reason name, e.g. `keyCompromise`).
    RevokeCertificate { ca: Hash32, serial: u64, reason: String },
}

/// When voting ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "at", rename_all = "snake_case")]
pub enum Deadline {
    /// Voting is open in blocks up to and including this height.
    Height { height: u64 },
    /// Voting is open in blocks whose time is before this (ms since the epoch).
    Time { time_ms: u64 },
}

impl Deadline {
    fn passed(&self, height: u64, time_ms: u64) -> bool {
        match *self {
            Deadline::Height { height: h } => height > h,
            Deadline::Time { time_ms: t } => time_ms >= t,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ballot {
    Yes,
    No,
    Abstain,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ProposalStatus {
    Open,
    /// Passed and applied.
    Executed {
        height: u64,
    },
    /// Passed, but could no longer be applied.
    Failed {
        height: u64,
        reason: String,
    },
    /// Quorum reached, pass threshold not.
    Rejected {
        height: u64,
    },
    /// Closed without the participation threshold.
    Expired {
        height: u64,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub yes: u64,
    pub no: u64,
    pub abstain: u64,
    /// Weight of members that have not voted.
    pub not_voted: u64,
    pub total: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Proposal {
    pub id: u64,
    pub proposer: String,
    pub title: String,
    pub kind: ProposalKind,
    pub deadline: Deadline,
    /// The committee when the proposal was made: who votes and with what weight.
    pub electorate: Vec<Member>,
    pub participation_bp: u32,
    pub pass_bp: u32,
    pub votes: Vec<(String, Ballot)>,
    pub status: ProposalStatus,
    pub created_height: u64,
    pub created_ms: u64,
}

impl Proposal {
    pub fn tally(&self) -> Tally {
        let mut t = Tally::default();
        for m in &self.electorate {
            t.total = t.total.saturating_add(m.weight);
            match self.votes.iter().find(|(o, _)| *o == m.org).map(|(_, b)| *b) {
                Some(Ballot::Yes) => t.yes = t.yes.saturating_add(m.weight),
                Some(Ballot::No) => t.no = t.no.saturating_add(m.weight),
                Some(Ballot::Abstain) => t.abstain = t.abstain.saturating_add(m.weight),
                None => t.not_voted = t.not_voted.saturating_add(m.weight),
            }
        }
        t
    }
    fn meets(part: u64, total: u64, bp: u32) -> bool {
        (part as u128) * 10_000 >= (bp as u128) * (total as u128)
    }
    /// The outcome the current ballot gives if the proposal closed now.
    pub fn outcome_now(&self) -> Outcome {
        let t = self.tally();
        let voted = t.yes.saturating_add(t.no).saturating_add(t.abstain);
        if !Self::meets(voted, t.total, self.participation_bp) {
            Outcome::Expired
        } else if Self::meets(t.yes, t.total, self.pass_bp) {
            Outcome::Passed
        } else {
            Outcome::Rejected
        }
    }
    /// The current ballot decides the proposal before its deadline.
    pub fn decided_early(&self) -> bool {
        let t = self.tally();
        match self.outcome_now() {
            Outcome::Passed => true,
            Outcome::Rejected => !Self::meets(t.yes.saturating_add(t.not_voted), t.total, self.pass_bp),
            // More votes could still reach participation: only the deadline expires a proposal.
            Outcome::Expired => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Rejected,
    Expired,
}

/// Calls of the `governance` module.
// Decoded once per transaction and never stored in bulk: the size difference between variants is harmless.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub enum GovernanceCall {
    /// An admin of a member organisation proposes a change.
    Propose { title: String, kind: ProposalKind, deadline: Deadline },
    /// An admin of a member organisation casts (or changes) its organisation's vote.
    Vote { proposal_id: u64, ballot: Ballot },
    /// Anyone closes a proposal after its deadline, or once the ballot decides it; a passed proposal
    /// is applied in the same transaction.
    Close { proposal_id: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GovError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Org(#[from] OrgError),
    #[error("signer: {org} is not a committee member")]
    NotMember { org: String },
    #[error("proposal_id: no proposal {id}")]
    UnknownProposal { id: u64 },
    #[error("proposal_id: proposal {id} is closed")]
    Closed { id: u64 },
    #[error("proposal_id: voting on proposal {id} has ended; close it")]
    VotingEnded { id: u64 },
    #[error("proposal_id: proposal {id} is still open and not yet decided (yes {yes} of {total})")]
    NotDecided { id: u64, yes: u64, total: u64 },
    #[error("deadline: {reason}")]
    BadDeadline { reason: String },
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
}

impl Rule for GovError {
    fn code(&self) -> &'static str {
        match self {
            GovError::Store(e) => e.code(),
            GovError::Org(e) => e.code(),
            GovError::NotMember { .. } => "GOV_NOT_MEMBER",
            GovError::UnknownProposal { .. } => "GOV_UNKNOWN_PROPOSAL",
            GovError::Closed { .. } => "GOV_PROPOSAL_CLOSED",
            GovError::VotingEnded { .. } => "GOV_VOTING_ENDED",
            GovError::NotDecided { .. } => "GOV_NOT_DECIDED",
            GovError::BadDeadline { .. } => "GOV_BAD_DEADLINE",
            GovError::Invalid { .. } => "GOV_INVALID",
        }
    }
}

fn invalid(field: &str, reason: impl Into<String>) -> GovError {
    GovError::Invalid { field: field.to_string(), reason: reason.into() }
}

const COMMITTEE_KEY: &str = "gov/committee";
const CONFIG_KEY: &str = "gov/config";
const NEXT_ID_KEY: &str = "gov/next";
const OPEN_KEY: &str = "gov/open";

fn proposal_key(id: u64) -> String {
    format!("gov/p/{id}")
}

pub fn committee(state: &dyn StateRead) -> Result<Vec<Member>, StoreError> {
    Ok(kv::get(state, COMMITTEE_KEY)?.unwrap_or_default())
}
pub fn config(state: &dyn StateRead) -> Result<GovConfig, StoreError> {
    Ok(kv::get(state, CONFIG_KEY)?.unwrap_or_default())
}
pub fn load_proposal(state: &dyn StateRead, id: u64) -> Result<Option<Proposal>, StoreError> {
    kv::get(state, &proposal_key(id))
}
/// Ids of the proposals still open, oldest first.
pub fn open_proposals(state: &dyn StateRead) -> Result<Vec<u64>, StoreError> {
    Ok(kv::get(state, OPEN_KEY)?.unwrap_or_default())
}

fn check_config(c: &GovConfig) -> Result<(), GovError> {
    if c.participation_bp == 0 || c.participation_bp > 10_000 {
        return Err(invalid("gov.participation_bp", "1..=10000"));
    }
    // More than half of the total weight must say yes: two disjoint majorities cannot both pass.
    if c.pass_bp <= 5_000 || c.pass_bp > 10_000 {
        return Err(invalid("gov.pass_bp", "5001..=10000"));
    }
    if c.validator_delay_blocks == 0 {
        return Err(invalid("gov.validator_delay_blocks", "at least 1"));
    }
    Ok(())
}

fn check_members(members: &[Member]) -> Result<(), GovError> {
    if members.is_empty() {
        return Err(invalid("members", "the committee cannot be empty"));
    }
    if members.len() > MAX_MEMBERS {
        return Err(invalid("members", format!("at most {MAX_MEMBERS}")));
    }
    for (i, m) in members.iter().enumerate() {
        if m.weight == 0 {
            return Err(invalid(&format!("members[{i}].weight"), "must be positive"));
        }
        if members[..i].iter().any(|o| o.org == m.org) {
            return Err(invalid(&format!("members[{i}].org"), format!("{} named twice", m.org)));
        }
    }
    Ok(())
}

/// The signer must be an admin account of a committee member.
fn member_admin(state: &dyn StateRead, ctx: &TxContext) -> Result<String, GovError> {
    let (acct, o) = org::signer_at(state, ctx)?;
    if !acct.admin {
        return Err(OrgError::NotAdmin { org: o.id }.into());
    }
    if !committee(state)?.iter().any(|m| m.org == o.id) {
        return Err(GovError::NotMember { org: o.id });
    }
    Ok(o.id)
}

fn validator_height(state: &dyn StateRead, height: u64, requested: u64) -> Result<u64, GovError> {
    let delay = requested.max(config(state)?.validator_delay_blocks);
    let mut at = height.saturating_add(delay);
    if let Some(last) = validators::pending_sets(state).map_err(|e| StoreError::Backend(e.0))?.last() {
        at = at.max(last.height.saturating_add(1));
    }
    Ok(at)
}

fn validator_change(state: &dyn StateRead, kind: &ProposalKind) -> Result<Option<(Vec<Validator>, u64)>, GovError> {
    let mut set = validators::latest_scheduled_set(state).map_err(|e| StoreError::Backend(e.0))?;
    Ok(Some(match kind {
        ProposalKind::AddValidator { validator, activation_delay } => {
            if validator.power == 0 {
                return Err(invalid("validator.power", "must be positive"));
            }
            if set.iter().any(|v| v.name == validator.name || v.public_key == validator.public_key) {
                return Err(invalid("validator", format!("{} (or its key) is already a validator", validator.name)));
            }
            set.push(validator.clone());
            (set, *activation_delay)
        }
        ProposalKind::RemoveValidator { name, activation_delay } => {
            let before = set.len();
            set.retain(|v| v.name != *name);
            if set.len() == before {
                return Err(invalid("name", format!("{name} is not a validator")));
            }
            if set.is_empty() {
                return Err(invalid("name", "the last validator cannot be removed"));
            }
            (set, *activation_delay)
        }
        ProposalKind::RotateValidatorKey { name, new_key, activation_delay } => {
            if set.iter().any(|v| v.public_key == *new_key) {
                return Err(invalid("new_key", "already a validator key"));
            }
            let v = set
                .iter_mut()
                .find(|v| v.name == *name)
                .ok_or_else(|| invalid("name", format!("{name} is not a validator")))?;
            v.public_key = *new_key;
            // The peer id is bound to the old key; the network layer binds the new one.
            v.peer_id = None;
            (set, *activation_delay)
        }
        _ => return Ok(None),
    }))
}

fn updated_params(
    state: &dyn StateRead,
    name: &str,
    value: u64,
) -> Result<(Option<scf_ledger::genesis::ChainParams>, Option<GovConfig>), GovError> {
    let mut params = scf_ledger::executor::chain_params(state).map_err(|e| StoreError::Backend(e.0))?;
    let mut cfg = config(state)?;
    let as_u32 = |v: u64| u32::try_from(v).map_err(|_| invalid("value", format!("{v} does not fit {name}")));
    match name {
        "chain.max_tx_bytes" => {
            let v = as_u32(value)?;
            if !(1024..=scf_ledger::tx::MAX_TX_BYTES as u32).contains(&v) {
                return Err(invalid("value", format!("{name} must be 1024..={}", scf_ledger::tx::MAX_TX_BYTES)));
            }
            params.max_tx_bytes = v;
        }
        "chain.max_block_txs" => {
            let v = as_u32(value)?;
            if v == 0 {
                return Err(invalid("value", format!("{name} must be positive")));
            }
            params.max_block_txs = v;
        }
        "chain.max_expiry_window" => {
            if value == 0 {
                return Err(invalid("value", format!("{name} must be positive")));
            }
            params.max_expiry_window = value;
        }
        "gov.participation_bp" => cfg.participation_bp = as_u32(value)?,
        "gov.pass_bp" => cfg.pass_bp = as_u32(value)?,
        "gov.validator_delay_blocks" => cfg.validator_delay_blocks = value,
        other => return Err(invalid("name", format!("{other:?} is not a parameter governance may change"))),
    }
    if name.starts_with("gov.") {
        check_config(&cfg)?;
        Ok((None, Some(cfg)))
    } else {
        Ok((Some(params), None))
    }
}

fn with_member(mut members: Vec<Member>, org_id: &str, weight: u64) -> Result<Vec<Member>, GovError> {
    match members.iter_mut().find(|m| m.org == org_id) {
        Some(m) => m.weight = weight,
        None => members.push(Member { org: org_id.to_string(), weight }),
    }
    members.retain(|m| m.weight > 0);
    check_members(&members)?;
    Ok(members)
}

/// Checks that a proposal could be applied now (made at proposal time for early feedback, and again
/// when it closes).
fn check_kind(state: &dyn StateRead, kind: &ProposalKind, height: u64) -> Result<(), GovError> {
    match kind {
        ProposalKind::AddOrg { org: o, committee_weight } => {
            if org::load_org(state, &o.id)?.is_some() {
                return Err(invalid("org.id", format!("organisation {} already exists", o.id)));
            }
            if *committee_weight > 0 {
                with_member(committee(state)?, &o.id, *committee_weight)?;
            }
        }
        ProposalKind::RemoveOrg { org_id } => {
            let o = org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.clone() })?;
            if let OrgStatus::Frozen { .. } = o.status {
                return Err(invalid("org_id", format!("{org_id} is already frozen or removed")));
            }
            with_member(committee(state)?, org_id, 0)?;
        }
        ProposalKind::SetMember { org_id, weight } => {
            org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.clone() })?;
            with_member(committee(state)?, org_id, *weight)?;
        }
        ProposalKind::SetParam { name, value } => {
            updated_params(state, name, *value)?;
        }
        ProposalKind::RotateOrgKey { org_id, new_key, retire_at_height } => {
            org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.clone() })?;
            if org::load_account(state, &new_key.address())?.is_some() {
                return Err(invalid("new_key", "already an account key"));
            }
            if *retire_at_height < height {
                return Err(invalid("retire_at_height", format!("{retire_at_height} is before height {height}")));
            }
        }
        ProposalKind::AddValidator { .. }
        | ProposalKind::RemoveValidator { .. }
        | ProposalKind::RotateValidatorKey { .. } => {
            validator_change(state, kind)?;
        }
        ProposalKind::AddOrgCa { org_id, certificate } => {
            org_ca::check_add(state, org_id, certificate, height)?;
        }
        ProposalKind::RemoveOrgCa { org_id, fingerprint } => org_ca::check_remove(state, org_id, fingerprint)?,
        ProposalKind::RevokeCertificate { ca, serial, reason } => {
            org_ca::check_revoke(state, ca, *serial, reason, height)?;
        }
    }
    Ok(())
}

/// Apply a passed proposal.
fn execute_kind(state: &mut dyn StateWrite, p: &Proposal, height: u64) -> Result<Vec<Event>, GovError> {
    check_kind(state, &p.kind, height)?;
    let id = p.id.to_string();
    match &p.kind {
        ProposalKind::AddOrg { org: o, committee_weight } => {
            let ev = org::register_org(
                state,
                Org {
                    id: o.id.clone(),
                    name: o.name.clone(),
                    credit_code: o.credit_code.clone(),
                    roles: o.roles.clone(),
                    public_key: o.public_key,
                    status: OrgStatus::Active,
                },
            )?;
            if *committee_weight > 0 {
                let members = with_member(committee(state)?, &o.id, *committee_weight)?;
                kv::put(state, COMMITTEE_KEY, &members);
            }
            Ok(vec![ev])
        }
        ProposalKind::RemoveOrg { org_id } => {
            let mut o = org::load_org(state, org_id)?.ok_or_else(|| OrgError::UnknownOrg { org: org_id.clone() })?;
            o.status = OrgStatus::Frozen { reason: format!("removed from the consortium by governance proposal {id}") };
            org::save_org(state, &o);
            let members = with_member(committee(state)?, org_id, 0)?;
            kv::put(state, COMMITTEE_KEY, &members);
            let mut events = vec![kv::event(MODULE, "OrgRemoved", &[("org", org_id), ("proposal", &id)], &o)];
            // Its CAs go too: its nodes and users are refused at their next handshake.
            events.extend(org_ca::remove_org(state, org_id)?);
            Ok(events)
        }
        ProposalKind::SetMember { org_id, weight } => {
            let members = with_member(committee(state)?, org_id, *weight)?;
            kv::put(state, COMMITTEE_KEY, &members);
            Ok(vec![kv::event(MODULE, "CommitteeChanged", &[("org", org_id), ("proposal", &id)], &members)])
        }
        ProposalKind::SetParam { name, value } => {
            let (params, cfg) = updated_params(state, name, *value)?;
            if let Some(params) = params {
                state.set(PARAMS_KEY, scf_ledger::codec::encode(&params));
            }
            if let Some(cfg) = cfg {
                kv::put(state, CONFIG_KEY, &cfg);
            }
            Ok(vec![kv::event(
                MODULE,
                "ParamChanged",
                &[("param", name), ("proposal", &id)],
                &serde_json::json!({ "name": name, "value": value }),
            )])
        }
        ProposalKind::RotateOrgKey { org_id, new_key, retire_at_height } => {
            Ok(vec![keys::rotate_org_key(state, org_id, *new_key, *retire_at_height, height)?])
        }
        ProposalKind::AddOrgCa { org_id, certificate } => Ok(vec![org_ca::add(state, org_id, certificate, height)?]),
        ProposalKind::RemoveOrgCa { org_id, fingerprint } => Ok(org_ca::remove(state, org_id, fingerprint)?),
        ProposalKind::RevokeCertificate { ca, serial, reason } => {
            Ok(vec![org_ca::revoke(state, ca, *serial, reason, height)?])
        }
        kind => {
            let Some((set, delay)) = validator_change(state, kind)? else {
                return Err(invalid("kind", "not a validator change"));
            };
            let at = validator_height(state, height, delay)?;
            let reason = format!("governance proposal {id}: {}", p.title);
            validators::schedule(state, at, set.clone(), reason).map_err(|e| invalid("validators", e.to_string()))?;
            let names: Vec<&str> = set.iter().map(|v| v.name.as_str()).collect();
            Ok(vec![kv::event(
                MODULE,
                "ValidatorSetScheduled",
                &[("proposal", &id), ("height", &at.to_string())],
                &serde_json::json!({ "height": at, "validators": names, "proposal": p.id }),
            )])
        }
    }
}

fn propose(
    ctx: &TxContext,
    state: &mut dyn StateWrite,
    title: String,
    kind: ProposalKind,
    deadline: Deadline,
) -> Result<Vec<Event>, GovError> {
    let proposer = member_admin(state, ctx)?;
    if title.trim().is_empty() || title.chars().count() > MAX_TITLE {
        return Err(invalid("title", format!("1..={MAX_TITLE} characters")));
    }
    if deadline.passed(ctx.height, ctx.time_ms) {
        return Err(GovError::BadDeadline { reason: "already passed".into() });
    }
    check_kind(state, &kind, ctx.height)?;
    let mut open = open_proposals(state)?;
    if open.len() >= MAX_OPEN {
        return Err(invalid("kind", format!("at most {MAX_OPEN} open proposals; close some first")));
    }
    let cfg = config(state)?;
    let id: u64 = kv::get(state, NEXT_ID_KEY)?.unwrap_or(1);
    kv::put(state, NEXT_ID_KEY, &(id + 1));
    let p = Proposal {
        id,
        proposer: proposer.clone(),
        title,
        kind,
        deadline,
        electorate: committee(state)?,
        participation_bp: cfg.participation_bp,
        pass_bp: cfg.pass_bp,
        votes: Vec::new(),
        status: ProposalStatus::Open,
        created_height: ctx.height,
        created_ms: ctx.time_ms,
    };
    kv::put(state, &proposal_key(id), &p);
    open.push(id);
    kv::put(state, OPEN_KEY, &open);
    Ok(vec![kv::event(MODULE, "ProposalCreated", &[("proposal", &id.to_string()), ("org", &proposer)], &p)])
}

fn open_proposal(state: &dyn StateRead, id: u64) -> Result<Proposal, GovError> {
    let p = load_proposal(state, id)?.ok_or(GovError::UnknownProposal { id })?;
    if p.status != ProposalStatus::Open {
        return Err(GovError::Closed { id });
    }
    Ok(p)
}

fn vote(ctx: &TxContext, state: &mut dyn StateWrite, id: u64, ballot: Ballot) -> Result<Vec<Event>, GovError> {
    let voter = member_admin(state, ctx)?;
    let mut p = open_proposal(state, id)?;
    if p.deadline.passed(ctx.height, ctx.time_ms) {
        return Err(GovError::VotingEnded { id });
    }
    if !p.electorate.iter().any(|m| m.org == voter) {
        return Err(GovError::NotMember { org: voter });
    }
    match p.votes.iter_mut().find(|(o, _)| *o == voter) {
        Some(v) => v.1 = ballot,
        None => p.votes.push((voter.clone(), ballot)),
    }
    kv::put(state, &proposal_key(id), &p);
    Ok(vec![kv::event(
        MODULE,
        "VoteCast",
        &[("proposal", &id.to_string()), ("org", &voter)],
        &serde_json::json!({ "proposal": id, "org": voter, "ballot": ballot, "tally": p.tally() }),
    )])
}

fn close(ctx: &TxContext, state: &mut dyn StateWrite, id: u64) -> Result<Vec<Event>, GovError> {
    org::signer_at(state, ctx)?;
    let mut p = open_proposal(state, id)?;
    let ended = p.deadline.passed(ctx.height, ctx.time_ms);
    if !ended && !p.decided_early() {
        let t = p.tally();
        return Err(GovError::NotDecided { id, yes: t.yes, total: t.total });
    }
    let tally = p.tally();
    let mut events = Vec::new();
    let kind = match p.outcome_now() {
        Outcome::Expired => {
            p.status = ProposalStatus::Expired { height: ctx.height };
            "ProposalExpired"
        }
        Outcome::Rejected => {
            p.status = ProposalStatus::Rejected { height: ctx.height };
            "ProposalRejected"
        }
        Outcome::Passed => {
            // Applied on a scratch overlay so a proposal that no longer applies leaves no partial writes.
            let applied = {
                let mut scratch = scf_ledger::state::Overlay::new(&*state);
                execute_kind(&mut scratch, &p, ctx.height).map(|ev| (ev, scratch.into_writes()))
            };
            match applied {
                Ok((ev, writes)) => {
                    for (k, v) in writes {
                        match v {
                            Some(v) => state.set(&k, v),
                            None => state.delete(&k),
                        }
                    }
                    events.extend(ev);
                    p.status = ProposalStatus::Executed { height: ctx.height };
                    "ProposalExecuted"
                }
                Err(e) => {
                    p.status = ProposalStatus::Failed { height: ctx.height, reason: format!("{}: {e}", e.code()) };
                    "ProposalFailed"
                }
            }
        }
    };
    kv::put(state, &proposal_key(id), &p);
    let mut open = open_proposals(state)?;
    open.retain(|x| *x != id);
    kv::put(state, OPEN_KEY, &open);
    let mut attrs: Vec<(&str, &str)> = vec![];
    let ids = id.to_string();
    attrs.push(("proposal", &ids));
    for m in &p.electorate {
        attrs.push(("org", &m.org));
    }
    events.insert(
        0,
        kv::event(MODULE, kind, &attrs, &serde_json::json!({ "proposal": id, "status": p.status, "tally": tally })),
    );
    Ok(events)
}

pub struct GovernanceModule;

impl ModuleCall for GovernanceCall {
    const MODULE: &'static str = MODULE;
}

impl BusinessModule for GovernanceModule {
    type Call = GovernanceCall;
    type Error = GovError;

    fn init_genesis(state: &mut dyn StateWrite, cfg: &serde_json::Value) -> Result<(), ModuleError> {
        if cfg.is_null() {
            return Ok(());
        }
        let g: GovGenesis = serde_json::from_value(cfg.clone())
            .map_err(|e| ModuleError::new("BAD_GENESIS", format!("app_state.governance: {e}")))?;
        // Organisations are registered by the `org` module (initialised after this one): members are
        // checked against them when they act.
        check_members(&g.members).map_err(Rule::into_module_error)?;
        check_config(&g.config).map_err(Rule::into_module_error)?;
        kv::put(state, COMMITTEE_KEY, &g.members);
        kv::put(state, CONFIG_KEY, &g.config);
        Ok(())
    }

    fn apply(ctx: &TxContext, state: &mut dyn StateWrite, call: GovernanceCall) -> Result<Vec<Event>, GovError> {
        match call {
            GovernanceCall::Propose { title, kind, deadline } => propose(ctx, state, title, kind, deadline),
            GovernanceCall::Vote { proposal_id, ballot } => vote(ctx, state, proposal_id, ballot),
            GovernanceCall::Close { proposal_id } => close(ctx, state, proposal_id),
        }
    }
}

#[cfg(test)]
mod tests;

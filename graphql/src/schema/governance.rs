//! Committee governance (proposals, votes, tallies, deadlines) and key expiry warnings.
//!
//! Proposals are listed from the read model (the indexer re-reads a proposal from state whenever a
//! governance event names it); the committee and key expiries are read from chain state at the tip.
//! Only admins of committee members propose and vote — the chain checks the same (`NOT_ORG_ADMIN`,
//! `GOV_NOT_MEMBER`); anyone may close a decided or ended proposal. The organisation CAs the consortium
//! trusts for 国密 TLS, and the certificates it revoked, are read from chain state too.

use async_graphql::{Context, Enum, InputObject, Object, OneofObject, SimpleObject};
use scf_ca::{RevocationReason, SmCertificate};
use scf_domain::governance::{self as dgov, Ballot, Deadline, GovernanceCall, NewOrg, ProposalKind};
use scf_domain::org::Role;
use scf_ledger::crypto::{Address, Hash32, PublicKey};
use scf_ledger::genesis::Validator;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::input::*;
use super::types::TxResult;
use super::{access, api, require_user};
use crate::auth::{AuthUser, UserRole};
use crate::db::entities::proposal;
use crate::error::{ApiError, ApiResult};
use crate::indexer_workflow::proposal_status;
use crate::service::Api;

const MAX_LIST: u64 = 500;
const DAY_MS: u64 = 86_400_000;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ProposalStatusFilter {
    Open,
    Executed,
    Failed,
    Rejected,
    Expired,
}

impl ProposalStatusFilter {
    fn as_str(self) -> &'static str {
        match self {
            ProposalStatusFilter::Open => "open",
            ProposalStatusFilter::Executed => "executed",
            ProposalStatusFilter::Failed => "failed",
            ProposalStatusFilter::Rejected => "rejected",
            ProposalStatusFilter::Expired => "expired",
        }
    }
}

#[derive(InputObject, Default)]
pub struct ProposalFilter {
    pub status: Option<ProposalStatusFilter>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Ballot")]
pub enum BallotInput {
    Yes,
    No,
    Abstain,
}

impl From<BallotInput> for Ballot {
    fn from(b: BallotInput) -> Ballot {
        match b {
            BallotInput::Yes => Ballot::Yes,
            BallotInput::No => Ballot::No,
            BallotInput::Abstain => Ballot::Abstain,
        }
    }
}

impl From<Ballot> for BallotInput {
    fn from(b: Ballot) -> BallotInput {
        match b {
            Ballot::Yes => BallotInput::Yes,
            Ballot::No => BallotInput::No,
            Ballot::Abstain => BallotInput::Abstain,
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct CommitteeMember {
    pub org: String,
    pub weight: i64,
}

#[derive(SimpleObject, Clone)]
pub struct VoteNode {
    pub org: String,
    pub ballot: BallotInput,
    pub weight: i64,
}

#[derive(SimpleObject, Clone)]
pub struct TallyNode {
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
    pub not_voted: i64,
    pub total: i64,
}

/// When voting ends: at a block height (inclusive) or a block time.
#[derive(SimpleObject, Clone)]
pub struct ProposalDeadline {
    pub height: Option<i64>,
    pub time_ms: Option<i64>,
}

#[derive(SimpleObject, Clone)]
#[graphql(name = "Proposal")]
pub struct ProposalNode {
    pub id: i64,
    pub proposer: String,
    pub title: String,
    /// `add_org`, `remove_org`, `set_member`, `add_validator`, `remove_validator`, `set_param`,
    /// `rotate_org_key`, `rotate_validator_key`, `add_org_ca`, `remove_org_ca`, `revoke_certificate`.
    pub kind: String,
    /// What the proposal changes, as JSON (an `add_org_ca` certificate as DER in hex; read it from
    /// `certificate`). `remove_org_ca` names the CA by `fingerprint`, `revoke_certificate` by `ca`.
    pub kind_detail: String,
    /// The CA certificate an `add_org_ca` proposal would trust, decoded (null for other kinds).
    pub certificate: Option<ProposedCertificate>,
    /// `open`, `executed`, `failed`, `rejected`, `expired`.
    pub status: String,
    /// Height the proposal was closed at.
    pub closed_height: Option<i64>,
    /// Why a passed proposal could not be applied.
    pub failure: Option<String>,
    pub deadline: ProposalDeadline,
    pub electorate: Vec<CommitteeMember>,
    pub votes: Vec<VoteNode>,
    pub tally: TallyNode,
    pub participation_bp: i32,
    pub pass_bp: i32,
    /// The current ballot already decides the proposal (it may be closed before its deadline).
    pub decided_early: bool,
    /// What closing now would give: `passed`, `rejected` or `expired`.
    pub outcome_now: String,
    pub created_height: i64,
    pub created_ms: i64,
}

impl From<dgov::Proposal> for ProposalNode {
    fn from(p: dgov::Proposal) -> Self {
        let t = p.tally();
        let (closed_height, failure) = match &p.status {
            dgov::ProposalStatus::Open => (None, None),
            dgov::ProposalStatus::Executed { height }
            | dgov::ProposalStatus::Rejected { height }
            | dgov::ProposalStatus::Expired { height } => (Some(to_i64(*height)), None),
            dgov::ProposalStatus::Failed { height, reason } => (Some(to_i64(*height)), Some(reason.clone())),
        };
        let weight = |org: &str| p.electorate.iter().find(|m| m.org == org).map(|m| to_i64(m.weight)).unwrap_or(0);
        ProposalNode {
            id: to_i64(p.id),
            proposer: p.proposer.clone(),
            title: p.title.clone(),
            kind: crate::indexer_workflow::proposal_kind(&p.kind).to_string(),
            kind_detail: serde_json::to_string(&p.kind).unwrap_or_default(),
            certificate: match &p.kind {
                ProposalKind::AddOrgCa { certificate, .. } => Some(ProposedCertificate::of(certificate)),
                _ => None,
            },
            status: proposal_status(&p.status).to_string(),
            closed_height,
            failure,
            deadline: match p.deadline {
                Deadline::Height { height } => ProposalDeadline { height: Some(to_i64(height)), time_ms: None },
                Deadline::Time { time_ms } => ProposalDeadline { height: None, time_ms: Some(to_i64(time_ms)) },
            },
            electorate: p
                .electorate
                .iter()
                .map(|m| CommitteeMember { org: m.org.clone(), weight: to_i64(m.weight) })
                .collect(),
            votes: p
                .votes
                .iter()
                .map(|(org, b)| VoteNode { org: org.clone(), ballot: (*b).into(), weight: weight(org) })
                .collect(),
            tally: TallyNode {
                yes: to_i64(t.yes),
                no: to_i64(t.no),
                abstain: to_i64(t.abstain),
                not_voted: to_i64(t.not_voted),
                total: to_i64(t.total),
            },
            participation_bp: p.participation_bp.min(i32::MAX as u32) as i32,
            pass_bp: p.pass_bp.min(i32::MAX as u32) as i32,
            decided_early: p.status == dgov::ProposalStatus::Open && p.decided_early(),
            outcome_now: match p.outcome_now() {
                dgov::Outcome::Passed => "passed",
                dgov::Outcome::Rejected => "rejected",
                dgov::Outcome::Expired => "expired",
            }
            .to_string(),
            created_height: to_i64(p.created_height),
            created_ms: to_i64(p.created_ms),
        }
    }
}

/// A CA certificate proposed for trust, as a voter checks it against what the organisation sent.
#[derive(SimpleObject, Clone)]
pub struct ProposedCertificate {
    /// SM3 of the DER (hex): how the CA is named once recorded, by removals and revocations.
    pub fingerprint: String,
    /// Subject (RFC 4514); empty when the DER does not decode.
    pub subject: String,
    pub issuer: String,
    pub serial: i64,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// Why the DER does not decode as an SM2 certificate (the chain refuses such a proposal, so this
    /// is null on every stored one).
    pub problem: Option<String>,
}

fn epoch_ms(t: std::time::SystemTime) -> i64 {
    t.duration_since(std::time::UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

impl ProposedCertificate {
    fn of(der: &[u8]) -> Self {
        let fingerprint = Hash32::of(der).to_hex();
        match SmCertificate::from_der(der) {
            Ok(c) => ProposedCertificate {
                fingerprint,
                subject: c.subject(),
                issuer: c.issuer(),
                serial: to_i64(c.serial()),
                not_before_ms: epoch_ms(c.not_before()),
                not_after_ms: epoch_ms(c.not_after()),
                problem: None,
            },
            Err(e) => ProposedCertificate {
                fingerprint,
                subject: String::new(),
                issuer: String::new(),
                serial: 0,
                not_before_ms: 0,
                not_after_ms: 0,
                problem: Some(e.to_string()),
            },
        }
    }
}

/// An organisation CA every member trusts for 国密 TLS (recorded at genesis or by a committee vote).
#[derive(SimpleObject, Clone)]
pub struct CertificateAuthorityNode {
    pub org: String,
    /// Subject (RFC 4514): the issuer name of the certificates it signs.
    pub subject: String,
    /// SM3 of its DER (hex): how `removeOrgCa` and `revokeCertificate` name it.
    pub fingerprint: String,
    pub not_after_ms: i64,
    /// Block height it was recorded at (0 for genesis).
    pub recorded_height: i64,
}

/// A certificate the consortium revoked on chain.
#[derive(SimpleObject, Clone)]
pub struct RevokedCertificateNode {
    /// Fingerprint (hex) of the CA that issued it.
    pub ca_fingerprint: String,
    /// That CA's subject.
    pub issuer: String,
    pub serial: i64,
    /// RFC 5280 CRLReason name, e.g. `keyCompromise`.
    pub reason: String,
    /// Block height of the revocation.
    pub height: i64,
}

fn node_from_row(r: proposal::Model) -> ApiResult<ProposalNode> {
    serde_json::from_str::<dgov::Proposal>(&r.data)
        .map(ProposalNode::from)
        .map_err(|e| ApiError::internal("proposal row", e))
}

/// The committee and its thresholds.
#[derive(SimpleObject, Clone)]
pub struct Committee {
    pub members: Vec<CommitteeMember>,
    pub participation_bp: i32,
    pub pass_bp: i32,
    pub validator_delay_blocks: i64,
}

/// An account key that expires soon (or already has).
#[derive(SimpleObject, Clone)]
pub struct ExpiringKeyNode {
    pub address: String,
    pub org: String,
    pub label: String,
    pub expires_at_ms: i64,
    /// Milliseconds left at the chain's current block time (0 once expired).
    pub ms_left: i64,
    pub expired: bool,
}

#[derive(Default)]
pub struct GovernanceQuery;

#[Object]
impl GovernanceQuery {
    /// Proposals, newest first (any signed-in member may follow governance).
    async fn proposals(
        &self,
        ctx: &Context<'_>,
        filter: Option<ProposalFilter>,
    ) -> async_graphql::Result<Vec<ProposalNode>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let mut q = proposal::Entity::find();
        if let Some(s) = filter.and_then(|f| f.status) {
            q = q.filter(proposal::Column::Status.eq(s.as_str()));
        }
        let rows = q.order_by_desc(proposal::Column::Id).limit(MAX_LIST).all(&api.db).await.map_err(ApiError::from)?;
        Ok(rows.into_iter().map(node_from_row).collect::<ApiResult<Vec<_>>>()?)
    }

    async fn proposal(&self, ctx: &Context<'_>, id: i64) -> async_graphql::Result<ProposalNode> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let row = proposal::Entity::find_by_id(id).one(&api.db).await.map_err(ApiError::from)?;
        match row {
            Some(r) => Ok(node_from_row(r)?),
            None => Err(ApiError::not_found(format!("proposal {id}")).into()),
        }
    }

    /// The governance committee (from chain state at the tip).
    async fn committee(&self, ctx: &Context<'_>) -> async_graphql::Result<Committee> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let state = api.chain.state(None).map_err(ApiError::from)?;
        let members = dgov::committee(state.as_ref()).map_err(ApiError::from)?;
        let cfg = dgov::config(state.as_ref()).map_err(ApiError::from)?;
        Ok(Committee {
            members: members.into_iter().map(|m| CommitteeMember { org: m.org, weight: to_i64(m.weight) }).collect(),
            participation_bp: cfg.participation_bp.min(i32::MAX as u32) as i32,
            pass_bp: cfg.pass_bp.min(i32::MAX as u32) as i32,
            validator_delay_blocks: to_i64(cfg.validator_delay_blocks),
        })
    }

    /// The organisation CAs the consortium trusts for 国密 TLS between members (from chain state at the
    /// tip), in the order they were recorded.
    async fn certificate_authorities(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CertificateAuthorityNode>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let cas = {
            let state = api.chain.state(None).map_err(ApiError::from)?;
            scf_ledger::org_ca::org_cas(state.as_ref()).map_err(|e| ApiError::internal("org CAs", e.0))?
        };
        Ok(cas
            .into_iter()
            .map(|c| CertificateAuthorityNode {
                org: c.org,
                subject: c.subject,
                fingerprint: c.fingerprint.to_hex(),
                not_after_ms: to_i64(c.not_after_ms),
                recorded_height: to_i64(c.height),
            })
            .collect())
    }

    /// Certificates revoked on chain by committee vote (from chain state at the tip), oldest first.
    async fn revoked_certificates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<RevokedCertificateNode>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let revoked = {
            let state = api.chain.state(None).map_err(ApiError::from)?;
            scf_ledger::org_ca::revoked_certs(state.as_ref())
                .map_err(|e| ApiError::internal("revoked certificates", e.0))?
        };
        Ok(revoked
            .into_iter()
            .map(|r| RevokedCertificateNode {
                ca_fingerprint: r.ca.to_hex(),
                issuer: r.issuer,
                serial: to_i64(r.serial),
                reason: r.reason,
                height: to_i64(r.height),
            })
            .collect())
    }

    /// The certificates this member's 国密 TLS endpoints present now (`p2p`: links to other nodes,
    /// `node-api`: the node's HTTPS API, `mqtt`: the devices' TLS front), soonest expiry first, with the
    /// time left from the chain's current block time. Admins only; empty where the server was started
    /// without them (`scf demo`, a member with no TLS endpoint).
    async fn tls_certificates(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TlsCertificateNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        if user.role != UserRole::Admin {
            return Err(ApiError::forbidden("only organisation admins see the TLS certificates").into());
        }
        let Some(certificates) = &api.tls_certificates else {
            return Ok(Vec::new());
        };
        let tip = api.chain.tip().await.map_err(ApiError::from)?.ok_or_else(|| ApiError::not_found("chain tip"))?;
        let now = to_i64(tip.time_ms);
        let mut out: Vec<TlsCertificateNode> = certificates()
            .into_iter()
            .map(|(endpoint, c)| {
                let not_after_ms = epoch_ms(c.not_after());
                TlsCertificateNode {
                    endpoint,
                    subject: c.subject(),
                    issuer: c.issuer(),
                    serial: c.serial().to_string(),
                    not_before_ms: epoch_ms(c.not_before()),
                    not_after_ms,
                    ms_left: not_after_ms.saturating_sub(now),
                    expired: not_after_ms <= now,
                }
            })
            .collect();
        out.sort_by_key(|c| c.not_after_ms);
        Ok(out)
    }

    /// Account keys (organisation keys and users' keys) that expire within `withinDays` of the chain's
    /// current block time, soonest first: the caller's organisation's only, or everyone's for the
    /// regulator.
    async fn expiring_keys(
        &self,
        ctx: &Context<'_>,
        #[graphql(default = 30)] within_days: i32,
    ) -> async_graphql::Result<Vec<ExpiringKeyNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let days = match u64::try_from(within_days) {
            Ok(d) if d <= 3650 => d,
            _ => return Err(ApiError::bad_input("withinDays", "must be 0..=3650").into()),
        };
        let all = access::has_org_role(api, user, "regulator").await?;
        let tip = api.chain.tip().await.map_err(ApiError::from)?.ok_or_else(|| ApiError::not_found("chain tip"))?;
        let keys = {
            let state = api.chain.state(Some(tip.height)).map_err(ApiError::from)?;
            scf_domain::keys::expiring_keys(state.as_ref(), tip.time_ms, days * DAY_MS).map_err(ApiError::from)?
        };
        Ok(keys
            .into_iter()
            .filter(|k| all || k.org == user.org_id)
            .map(|k| ExpiringKeyNode {
                address: k.address.to_hex(),
                org: k.org,
                label: k.label,
                expires_at_ms: to_i64(k.expires_at_ms),
                ms_left: to_i64(k.ms_left),
                expired: k.expired,
            })
            .collect())
    }
}

// ---------------------------------------------------------------------------------------------------
// Mutations.

#[derive(InputObject)]
pub struct AddOrgInput {
    pub id: String,
    pub name: String,
    pub credit_code: String,
    /// Role names: `core_enterprise`, `supplier`, `funder`, `warehouse_operator`, `logistics`,
    /// `tax_authority`, `regulator`, `producer`, `retailer`.
    pub roles: Vec<String>,
    /// SM2 public key (hex) of the organisation's first admin account.
    pub public_key: String,
    #[graphql(default)]
    pub committee_weight: i64,
}

#[derive(InputObject)]
pub struct OrgIdInput {
    pub org_id: String,
}

#[derive(InputObject)]
pub struct SetMemberInput {
    pub org_id: String,
    pub weight: i64,
}

/// A certificate one of this member's 国密 TLS endpoints presents.
#[derive(SimpleObject)]
pub struct TlsCertificateNode {
    /// `p2p`, `node-api` or `mqtt`.
    pub endpoint: String,
    pub subject: String,
    pub issuer: String,
    /// Decimal.
    pub serial: String,
    pub not_before_ms: i64,
    pub not_after_ms: i64,
    /// From the chain's current block time to notAfter (negative once expired).
    pub ms_left: i64,
    pub expired: bool,
}

#[derive(InputObject)]
pub struct AddValidatorInput {
    pub name: String,
    pub public_key: String,
    pub power: i64,
    pub peer_id: Option<String>,
    #[graphql(default)]
    pub activation_delay: i64,
}

#[derive(InputObject)]
pub struct RemoveValidatorInput {
    pub name: String,
    #[graphql(default)]
    pub activation_delay: i64,
}

#[derive(InputObject)]
pub struct SetParamInput {
    pub name: String,
    pub value: i64,
}

#[derive(InputObject)]
pub struct RotateOrgKeyInput {
    pub org_id: String,
    pub new_key: String,
    pub retire_at_height: i64,
}

#[derive(InputObject)]
pub struct RotateValidatorKeyInput {
    pub name: String,
    pub new_key: String,
    #[graphql(default)]
    pub activation_delay: i64,
}

#[derive(InputObject)]
pub struct AddOrgCaInput {
    pub org_id: String,
    /// The organisation's CA certificate (PEM, SM2-with-SM3, self-signed, cA with keyCertSign and
    /// cRLSign).
    pub certificate_pem: String,
}

#[derive(InputObject)]
pub struct RemoveOrgCaInput {
    pub org_id: String,
    /// The CA's fingerprint (hex SM3 of its DER, as `certificateAuthorities` lists it).
    pub fingerprint: String,
}

#[derive(InputObject)]
pub struct RevokeCertificateInput {
    /// Fingerprint (hex) of the recorded CA that issued the certificate.
    pub ca_fingerprint: String,
    /// The certificate's serial number (positive).
    pub serial: i64,
    /// RFC 5280 CRLReason name: `unspecified`, `keyCompromise`, `caCompromise`, `affiliationChanged`,
    /// `superseded`, `cessationOfOperation`, `certificateHold`, `privilegeWithdrawn`.
    pub reason: String,
}

/// What a proposal changes: exactly one of these.
#[derive(OneofObject)]
pub enum ProposalKindInput {
    AddOrg(AddOrgInput),
    RemoveOrg(OrgIdInput),
    SetMember(SetMemberInput),
    AddValidator(AddValidatorInput),
    RemoveValidator(RemoveValidatorInput),
    SetParam(SetParamInput),
    RotateOrgKey(RotateOrgKeyInput),
    RotateValidatorKey(RotateValidatorKeyInput),
    AddOrgCa(AddOrgCaInput),
    RemoveOrgCa(RemoveOrgCaInput),
    RevokeCertificate(RevokeCertificateInput),
}

#[derive(InputObject)]
pub struct ProposeInput {
    pub title: String,
    pub kind: ProposalKindInput,
    /// Voting is open up to and including this block height...
    pub deadline_height: Option<i64>,
    /// ...or in blocks whose time is before this (ms since the epoch). Exactly one of the two.
    pub deadline_time_ms: Option<i64>,
}

fn key(field: &str, hex: &str) -> ApiResult<PublicKey> {
    PublicKey::from_hex(hex.trim()).map_err(|e| ApiError::bad_input(field, format!("not an SM2 public key: {e}")))
}

fn fingerprint(field: &str, hex: &str) -> ApiResult<Hash32> {
    Hash32::from_hex(hex.trim().to_ascii_lowercase().as_str())
        .map_err(|e| ApiError::bad_input(field, format!("not a certificate fingerprint (64 hex digits): {e}")))
}

fn certificate_der(field: &str, pem: &str) -> ApiResult<Vec<u8>> {
    if pem.trim().is_empty() {
        return Err(ApiError::bad_input(field, "paste the CA certificate (PEM)"));
    }
    SmCertificate::from_pem(pem.trim())
        .map(|c| c.der().to_vec())
        .map_err(|e| ApiError::bad_input(field, format!("not an SM2 certificate in PEM: {e}")))
}

fn role(field: &str, name: &str) -> ApiResult<Role> {
    let all = [
        Role::CoreEnterprise,
        Role::Supplier,
        Role::Funder,
        Role::WarehouseOperator,
        Role::Logistics,
        Role::TaxAuthority,
        Role::Regulator,
        Role::Producer,
        Role::Retailer,
    ];
    all.into_iter()
        .find(|r| r.as_str() == name)
        .ok_or_else(|| ApiError::bad_input(field, format!("unknown role {name:?}")))
}

fn proposal_kind(k: ProposalKindInput) -> ApiResult<ProposalKind> {
    Ok(match k {
        ProposalKindInput::AddOrg(o) => ProposalKind::AddOrg {
            org: NewOrg {
                roles: o
                    .roles
                    .iter()
                    .enumerate()
                    .map(|(n, r)| role(&format!("input.kind.addOrg.roles[{n}]"), r))
                    .collect::<ApiResult<Vec<_>>>()?,
                public_key: key("input.kind.addOrg.publicKey", &o.public_key)?,
                id: o.id,
                name: o.name,
                credit_code: o.credit_code,
            },
            committee_weight: non_negative("input.kind.addOrg.committeeWeight", o.committee_weight)?,
        },
        ProposalKindInput::RemoveOrg(o) => ProposalKind::RemoveOrg { org_id: o.org_id },
        ProposalKindInput::SetMember(m) => {
            ProposalKind::SetMember { org_id: m.org_id, weight: non_negative("input.kind.setMember.weight", m.weight)? }
        }
        ProposalKindInput::AddValidator(v) => ProposalKind::AddValidator {
            validator: Validator {
                public_key: key("input.kind.addValidator.publicKey", &v.public_key)?,
                power: non_negative("input.kind.addValidator.power", v.power)?,
                name: v.name,
                peer_id: v.peer_id,
            },
            activation_delay: non_negative("input.kind.addValidator.activationDelay", v.activation_delay)?,
        },
        ProposalKindInput::RemoveValidator(v) => ProposalKind::RemoveValidator {
            name: v.name,
            activation_delay: non_negative("input.kind.removeValidator.activationDelay", v.activation_delay)?,
        },
        ProposalKindInput::SetParam(p) => {
            ProposalKind::SetParam { name: p.name, value: non_negative("input.kind.setParam.value", p.value)? }
        }
        ProposalKindInput::RotateOrgKey(r) => ProposalKind::RotateOrgKey {
            new_key: key("input.kind.rotateOrgKey.newKey", &r.new_key)?,
            retire_at_height: non_negative("input.kind.rotateOrgKey.retireAtHeight", r.retire_at_height)?,
            org_id: r.org_id,
        },
        ProposalKindInput::RotateValidatorKey(r) => ProposalKind::RotateValidatorKey {
            new_key: key("input.kind.rotateValidatorKey.newKey", &r.new_key)?,
            activation_delay: non_negative("input.kind.rotateValidatorKey.activationDelay", r.activation_delay)?,
            name: r.name,
        },
        ProposalKindInput::AddOrgCa(a) => ProposalKind::AddOrgCa {
            certificate: certificate_der("input.kind.addOrgCa.certificatePem", &a.certificate_pem)?,
            org_id: a.org_id,
        },
        ProposalKindInput::RemoveOrgCa(r) => ProposalKind::RemoveOrgCa {
            fingerprint: fingerprint("input.kind.removeOrgCa.fingerprint", &r.fingerprint)?,
            org_id: r.org_id,
        },
        ProposalKindInput::RevokeCertificate(r) => ProposalKind::RevokeCertificate {
            ca: fingerprint("input.kind.revokeCertificate.caFingerprint", &r.ca_fingerprint)?,
            serial: match non_negative("input.kind.revokeCertificate.serial", r.serial)? {
                0 => return Err(ApiError::bad_input("input.kind.revokeCertificate.serial", "serials are positive")),
                n => n,
            },
            reason: r
                .reason
                .trim()
                .parse::<RevocationReason>()
                .map_err(|_| {
                    ApiError::bad_input(
                        "input.kind.revokeCertificate.reason",
                        format!(
                            "{:?} is not an RFC 5280 reason (unspecified, keyCompromise, caCompromise, \
                             affiliationChanged, superseded, cessationOfOperation, certificateHold, \
                             privilegeWithdrawn)",
                            r.reason
                        ),
                    )
                })?
                .as_str()
                .to_string(),
        },
    })
}

/// Admins of committee members only (checked against the read model's users and the chain's committee).
async fn require_member_admin<'a>(ctx: &Context<'a>, api: &Api) -> ApiResult<&'a AuthUser> {
    let user = require_user(ctx)?;
    if user.role != UserRole::Admin {
        return Err(ApiError::forbidden("only organisation admins propose and vote"));
    }
    let member = {
        let state = api.chain.state(None)?;
        dgov::committee(state.as_ref())?.iter().any(|m| m.org == user.org_id)
    };
    if !member {
        return Err(ApiError::forbidden(format!("organisation {} is not a committee member", user.org_id)));
    }
    Ok(user)
}

#[derive(Default)]
pub struct GovernanceMutation;

#[Object]
impl GovernanceMutation {
    /// An admin of a committee member proposes a change.
    async fn propose(&self, ctx: &Context<'_>, input: ProposeInput) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        let user = require_member_admin(ctx, api).await?;
        let title = input.title.trim().to_string();
        if title.is_empty() || title.chars().count() > dgov::MAX_TITLE {
            return Err(
                ApiError::bad_input("input.title", format!("must be 1..={} characters", dgov::MAX_TITLE)).into()
            );
        }
        let deadline = match (input.deadline_height, input.deadline_time_ms) {
            (Some(h), None) => Deadline::Height { height: non_negative("input.deadlineHeight", h)? },
            (None, Some(t)) => Deadline::Time { time_ms: non_negative("input.deadlineTimeMs", t)? },
            _ => {
                return Err(ApiError::bad_input(
                    "input.deadlineHeight",
                    "give exactly one of deadlineHeight and deadlineTimeMs",
                )
                .into())
            }
        };
        let call = GovernanceCall::Propose { title, kind: proposal_kind(input.kind)?, deadline };
        Ok(TxResult { receipt: api.submit(user, &call).await? })
    }

    /// An admin of a committee member casts (or changes) its organisation's vote.
    async fn vote(&self, ctx: &Context<'_>, proposal_id: i64, ballot: BallotInput) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        let user = require_member_admin(ctx, api).await?;
        let call =
            GovernanceCall::Vote { proposal_id: non_negative("proposalId", proposal_id)?, ballot: ballot.into() };
        Ok(TxResult { receipt: api.submit(user, &call).await? })
    }

    /// Anyone closes a proposal after its deadline or once the ballot decides it; a passed proposal is
    /// applied in the same transaction.
    async fn close_proposal(&self, ctx: &Context<'_>, proposal_id: i64) -> async_graphql::Result<TxResult> {
        let call = GovernanceCall::Close { proposal_id: non_negative("proposalId", proposal_id)? };
        super::submit(ctx, None, call).await
    }

    /// An organisation admin records (or clears, with null) when one of its organisation's keys expires
    /// (e.g. its certificate's notAfter); expiring keys are then listed by `expiringKeys`.
    async fn set_key_expiry(
        &self,
        ctx: &Context<'_>,
        address: String,
        expires_at_ms: Option<i64>,
    ) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        if user.role != UserRole::Admin {
            return Err(ApiError::forbidden("only organisation admins manage keys").into());
        }
        let address = Address::from_hex(address.trim())
            .map_err(|e| ApiError::bad_input("address", format!("not an address: {e}")))?;
        let expires_at_ms = expires_at_ms.map(|t| non_negative("expiresAtMs", t)).transpose()?;
        let call = scf_domain::keys::KeyCall::SetExpiry { address, expires_at_ms };
        let receipt = api.submit(user, &call).await?;
        Ok(TxResult { receipt })
    }
}

//! Block explorer: the validator set, chain status, commit certificates, and for a transaction its
//! receipt events and Merkle inclusion proof — everything a client needs to check a fact offline
//! (tx proof → block header → certificate → validator set).
//!
//! Blocks, transactions and certificates come from the chain itself (not the read model) where the
//! read model does not keep them, so what the explorer shows is what a light client would verify.

use async_graphql::{ComplexObject, Context, Object, SimpleObject};
use scf_ledger::block::{BlockHeader, CommitCertificate};
use scf_ledger::codec::encode;
use scf_ledger::crypto::Hash32;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::input::*;
use super::types::{BlockNode, EventNode, TransactionNode};
use super::{access, api, require_user};
use crate::db::entities::{block, event, event_org, transaction};
use crate::error::{ApiError, ApiResult};

/// A consensus validator.
#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Validator")]
pub struct ValidatorNode {
    pub name: String,
    /// The address its commit signatures name (SM3 of the public key, 20 bytes hex).
    pub address: String,
    /// SM2 consensus public key (hex).
    pub public_key: String,
    /// Voting power.
    pub power: i64,
    pub peer_id: Option<String>,
}

impl From<scf_ledger::genesis::Validator> for ValidatorNode {
    fn from(v: scf_ledger::genesis::Validator) -> Self {
        ValidatorNode {
            address: v.address().to_hex(),
            public_key: v.public_key.to_hex(),
            power: v.power.min(i64::MAX as u64) as i64,
            name: v.name,
            peer_id: v.peer_id,
        }
    }
}

/// Where the chain is.
#[derive(SimpleObject, Clone)]
pub struct ChainStatus {
    pub chain_id: String,
    /// Committed height (0 = genesis only).
    pub height: i64,
    /// Hash of the block at `height`.
    pub block_hash: String,
    /// Block time at `height`, ms since the epoch.
    pub time_ms: i64,
    pub state_root: String,
    /// Height the read model has indexed up to (may trail `height` briefly).
    pub indexed_height: Option<i64>,
    /// Total voting power of the current validator set.
    pub total_power: i64,
    pub validator_count: i32,
}

/// One validator's precommit signature in a commit certificate.
#[derive(SimpleObject, Clone)]
pub struct CommitSignatureNode {
    /// Validator address (hex).
    pub validator: String,
    /// The validator's name in the set that validated the block, when known.
    pub validator_name: Option<String>,
    /// SM2 signature (hex) over the precommit for (height, round, block hash).
    pub signature: String,
}

/// The 2f+1 precommits that made a block final.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Certificate")]
pub struct CertificateNode {
    pub height: i64,
    pub round: i32,
    pub block_hash: String,
    pub signatures: Vec<CommitSignatureNode>,
    /// Sum of the power of the validators that signed.
    pub signed_power: i64,
    /// Total power of the set that validated the block.
    pub total_power: i64,
}

/// A block header exactly as hashed, so a client can recompute the block hash.
#[derive(SimpleObject, Clone)]
pub struct BlockHeaderNode {
    pub chain_id: String,
    pub height: i64,
    pub parent_hash: String,
    pub tx_root: String,
    pub receipts_root: String,
    pub state_root: String,
    pub time_ms: i64,
    pub proposer: String,
    /// Canonical (Borsh) encoding of the header, hex: SM3 of these bytes is the block hash.
    pub encoded: String,
}

impl From<&BlockHeader> for BlockHeaderNode {
    fn from(h: &BlockHeader) -> Self {
        BlockHeaderNode {
            chain_id: h.chain_id.clone(),
            height: h.height as i64,
            parent_hash: h.parent_hash.to_hex(),
            tx_root: h.tx_root.to_hex(),
            receipts_root: h.receipts_root.to_hex(),
            state_root: h.state_root.to_hex(),
            time_ms: h.time_ms as i64,
            proposer: h.proposer.to_hex(),
            encoded: hex::encode(encode(h)),
        }
    }
}

/// One step up an SM3 Merkle proof.
#[derive(SimpleObject, Clone)]
pub struct MerkleStep {
    pub sibling: String,
    pub sibling_on_left: bool,
}

/// Proof that a transaction is in its block: leaf = SM3(0x00 ‖ txId), node = SM3(0x01 ‖ left ‖ right),
/// ending at the header's `txRoot`.
#[derive(SimpleObject, Clone)]
pub struct TxInclusionProofNode {
    pub tx_id: String,
    pub index: i32,
    pub count: i32,
    pub steps: Vec<MerkleStep>,
    pub header: BlockHeaderNode,
    pub block_hash: String,
    /// The server checked the proof against the header (clients should check it themselves).
    pub verified: bool,
    /// Canonical (Borsh) encoding of the whole proof, hex, for offline verifiers.
    pub encoded: String,
}

fn certificate_node(cert: &CommitCertificate, set: &[scf_ledger::genesis::Validator]) -> CertificateNode {
    let mut signed_power: u64 = 0;
    let signatures = cert
        .signatures
        .iter()
        .map(|s| {
            let v = set.iter().find(|v| v.address() == s.validator);
            if let Some(v) = v {
                signed_power = signed_power.saturating_add(v.power);
            }
            CommitSignatureNode {
                validator: s.validator.to_hex(),
                validator_name: v.map(|v| v.name.clone()),
                signature: s.signature.to_hex(),
            }
        })
        .collect();
    CertificateNode {
        height: to_i64(cert.height),
        round: cert.round.min(i32::MAX as u32) as i32,
        block_hash: cert.block_hash.to_hex(),
        signatures,
        signed_power: to_i64(signed_power),
        total_power: to_i64(set.iter().fold(0u64, |a, v| a.saturating_add(v.power))),
    }
}

/// The certificate of block `height`, with signers named from the set that validated it (read from
/// the state before the block).
pub(crate) async fn certificate(ctx: &Context<'_>, height: i64) -> async_graphql::Result<Option<CertificateNode>> {
    let api = api(ctx)?;
    let Ok(h) = u64::try_from(height) else { return Ok(None) };
    let Some(b) = api.chain.block(h).await.map_err(ApiError::from)? else { return Ok(None) };
    let Some(cert) = &b.block.certificate else { return Ok(None) };
    let state = api.chain.state(Some(h.saturating_sub(1))).map_err(ApiError::from)?;
    let set = scf_ledger::validators::validator_set_at(state.as_ref(), h)
        .map_err(|e| ApiError::internal("validator set", e))?;
    Ok(Some(certificate_node(cert, &set)))
}

/// The header of block `height` as stored on chain.
pub(crate) async fn header(ctx: &Context<'_>, height: i64) -> async_graphql::Result<Option<BlockHeaderNode>> {
    let api = api(ctx)?;
    let Ok(h) = u64::try_from(height) else { return Ok(None) };
    Ok(api.chain.block(h).await.map_err(ApiError::from)?.map(|b| BlockHeaderNode::from(&b.block.header)))
}

#[derive(Default)]
pub struct ExplorerQuery;

#[Object]
impl ExplorerQuery {
    /// The validator set in effect at the tip, or the set that validates block `height`. Public:
    /// anyone verifying a certificate offline needs these keys.
    async fn validators(&self, ctx: &Context<'_>, height: Option<i64>) -> async_graphql::Result<Vec<ValidatorNode>> {
        let api = api(ctx)?;
        let set = match height {
            None => {
                let state = api.chain.state(None).map_err(ApiError::from)?;
                scf_ledger::validators::current_set(state.as_ref())
            }
            Some(h) => {
                let h = u64::try_from(h).map_err(|_| ApiError::bad_input("height", "must not be negative"))?;
                let tip = api.chain.tip().await.map_err(ApiError::from)?.map(|t| t.height).unwrap_or(0);
                let state = api.chain.state(Some(h.saturating_sub(1).min(tip))).map_err(ApiError::from)?;
                scf_ledger::validators::validator_set_at(state.as_ref(), h)
            }
        }
        .map_err(|e| ApiError::internal("validator set", e))?;
        Ok(set.into_iter().map(ValidatorNode::from).collect())
    }

    /// Chain id, committed height and time, indexed height. Public.
    async fn chain_status(&self, ctx: &Context<'_>) -> async_graphql::Result<ChainStatus> {
        let api = api(ctx)?;
        let tip = api.chain.tip().await.map_err(ApiError::from)?.ok_or_else(|| ApiError::not_found("chain tip"))?;
        let state = api.chain.state(Some(tip.height)).map_err(ApiError::from)?;
        let set =
            scf_ledger::validators::current_set(state.as_ref()).map_err(|e| ApiError::internal("validator set", e))?;
        let indexed = api.indexer.cursor().await.map_err(|e| ApiError::internal("indexer", e))?;
        Ok(ChainStatus {
            chain_id: api.chain.chain_id().to_string(),
            height: to_i64(tip.height),
            block_hash: tip.hash.to_hex(),
            time_ms: to_i64(tip.time_ms),
            state_root: tip.state_root.to_hex(),
            indexed_height: indexed.map(to_i64),
            total_power: to_i64(set.iter().fold(0u64, |a, v| a.saturating_add(v.power))),
            validator_count: set.len() as i32,
        })
    }

    /// A block by its hash (hex).
    async fn block_by_hash(&self, ctx: &Context<'_>, hash: String) -> async_graphql::Result<BlockNode> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let h = hash.trim().to_lowercase();
        if Hash32::from_hex(&h).is_err() {
            return Err(ApiError::bad_input("hash", "expected 64 hex digits").into());
        }
        let row = block::Entity::find().filter(block::Column::Hash.eq(h)).one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(BlockNode::from).ok_or_else(|| ApiError::not_found(format!("block {hash}")))?)
    }
}

/// Events of a transaction the caller may see: all for the regulator, otherwise those that concern
/// the caller's organisation.
async fn visible_events(ctx: &Context<'_>, tx_id: &str) -> ApiResult<Vec<EventNode>> {
    let api = api(ctx)?;
    let user = require_user(ctx)?;
    let mut q = event::Entity::find().filter(event::Column::TxId.eq(tx_id.to_string()));
    if !access::has_org_role(api, user, "regulator").await? {
        let sub = sea_orm::sea_query::Query::select()
            .column(event_org::Column::EventId)
            .from(event_org::Entity)
            .and_where(event_org::Column::OrgId.eq(user.org_id.clone()))
            .to_owned();
        q = q.filter(event::Column::Id.in_subquery(sub));
    }
    let rows = q.order_by_asc(event::Column::Id).all(&api.db).await?;
    Ok(rows.into_iter().map(EventNode::from).collect())
}

/// `rows` as the caller sees them: whole for the regulator and for the organisations a transaction
/// concerns (its sender's account, or one its events name); redacted for everyone else.
pub(crate) async fn as_seen_by(ctx: &Context<'_>, rows: Vec<transaction::Model>) -> ApiResult<Vec<TransactionNode>> {
    let api = api(ctx)?;
    let user = require_user(ctx)?;
    if rows.is_empty() || access::has_org_role(api, user, "regulator").await? {
        return Ok(rows.into_iter().map(TransactionNode::from).collect());
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let named = sea_orm::sea_query::Query::select()
        .column(event_org::Column::EventId)
        .from(event_org::Entity)
        .and_where(event_org::Column::OrgId.eq(user.org_id.clone()))
        .to_owned();
    let concerned: std::collections::HashSet<String> = event::Entity::find()
        .filter(event::Column::TxId.is_in(ids))
        .filter(event::Column::Id.in_subquery(named))
        .all(&api.db)
        .await?
        .into_iter()
        .map(|e| e.tx_id)
        .collect();
    let state = api.chain.state(None).map_err(ApiError::from)?;
    let own = |sender: &str| {
        scf_ledger::crypto::Address::from_hex(sender).ok().is_some_and(|a| {
            scf_domain::org::load_account(state.as_ref(), &a)
                .ok()
                .flatten()
                .is_some_and(|acct| acct.org_id == user.org_id)
        })
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let visible = concerned.contains(&r.id) || own(&r.sender);
            let node = TransactionNode::from(r);
            if visible {
                node
            } else {
                node.redacted()
            }
        })
        .collect())
}

#[ComplexObject]
impl TransactionNode {
    /// Events the transaction emitted (its receipt), as far as they concern the caller's organisation
    /// (all of them for the regulator).
    async fn events(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<EventNode>> {
        Ok(visible_events(ctx, &self.id).await?)
    }

    /// The block that includes the transaction.
    async fn block(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<BlockNode>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let row = block::Entity::find_by_id(self.height).one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(BlockNode::from))
    }

    /// Merkle proof that the transaction is in its block (checkable offline against the header).
    async fn inclusion_proof(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TxInclusionProofNode>> {
        let api = api(ctx)?;
        let id = Hash32::from_hex(&self.id).map_err(|e| ApiError::internal("tx id", e))?;
        let Some(p) = api.chain.tx_proof(&id).await.map_err(ApiError::from)? else { return Ok(None) };
        Ok(Some(TxInclusionProofNode {
            tx_id: p.tx_id.to_hex(),
            index: p.proof.index as i32,
            count: p.proof.count as i32,
            steps: p
                .proof
                .steps
                .iter()
                .map(|s| MerkleStep { sibling: s.sibling.to_hex(), sibling_on_left: s.sibling_on_left })
                .collect(),
            header: BlockHeaderNode::from(&p.header),
            block_hash: p.header.hash().to_hex(),
            verified: p.verify(),
            encoded: hex::encode(encode(&p)),
        }))
    }
}

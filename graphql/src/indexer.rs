//! The indexer: turns committed blocks into read-model rows.
//!
//! Exactly-once by construction: block `h`'s rows and the cursor move to `h` are written in ONE SQL
//! transaction, and a block is only indexed when the cursor says `h - 1`. A crash (even kill -9) either
//! loses the whole transaction or none of it, so a restart resumes at the cursor with no gap and no
//! duplicate. Rows are derived from receipts' events plus the domain's read helpers over the state *at
//! that height*, so a rebuild from height 0 produces the same rows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use scf_domain::{invoice as dinv, org as dorg, voucher as dvou};
use scf_ledger::block::Block;
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::state::StateRead;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::chain::{Chain, ChainError};
use crate::db::entities::*;

/// Why indexing stopped.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("read model: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("state at height {height}: {reason}")]
    State { height: u64, reason: String },
    #[error("block {0} is missing from the chain")]
    MissingBlock(u64),
}

/// A committed block, as subscriptions see it.
#[derive(Clone, Debug, Serialize)]
pub struct BlockNotice {
    pub height: u64,
    pub hash: String,
    pub time_ms: u64,
    pub tx_count: u32,
}

/// An indexed event with the organisations it concerns.
#[derive(Clone, Debug, Serialize)]
pub struct EventNotice {
    pub id: i64,
    pub height: u64,
    pub tx_id: String,
    pub module: String,
    pub kind: String,
    pub attributes: Vec<(String, String)>,
    pub orgs: Vec<String>,
    pub data: String,
}

/// Deterministic event id: the same block always yields the same ids, also after a rebuild.
pub fn event_id(height: u64, tx_index: u32, event_index: u32) -> i64 {
    ((height as i64) << 24) | ((tx_index as i64 & 0x3fff) << 10) | (event_index as i64 & 0x3ff)
}

pub struct Indexer {
    db: DatabaseConnection,
    chain: Arc<dyn Chain>,
    indexed: watch::Sender<Option<u64>>,
    blocks: broadcast::Sender<BlockNotice>,
    events: broadcast::Sender<EventNotice>,
}

const CURSOR_ID: i32 = 1;

impl Indexer {
    pub async fn new(db: DatabaseConnection, chain: Arc<dyn Chain>) -> Result<Arc<Indexer>, IndexError> {
        let (indexed, _) = watch::channel(None);
        let (blocks, _) = broadcast::channel(256);
        let (events, _) = broadcast::channel(4096);
        let ix = Arc::new(Indexer { db, chain, indexed, blocks, events });
        let cursor = ix.cursor().await?;
        ix.indexed.send_replace(cursor);
        Ok(ix)
    }

    /// The last indexed height (`None` = nothing indexed, not even genesis).
    pub async fn cursor(&self) -> Result<Option<u64>, IndexError> {
        Ok(indexer_cursor::Entity::find_by_id(CURSOR_ID).one(&self.db).await?.map(|c| c.height as u64))
    }

    pub fn subscribe_blocks(&self) -> broadcast::Receiver<BlockNotice> {
        self.blocks.subscribe()
    }

    pub fn subscribe_events(&self) -> broadcast::Receiver<EventNotice> {
        self.events.subscribe()
    }

    /// Wait until `height` is indexed (so a mutation's caller reads its own write).
    pub async fn wait_for(&self, height: u64, timeout: Duration) -> bool {
        let mut rx = self.indexed.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|h| h.is_some_and(|h| h >= height))).await.is_ok_and(|r| r.is_ok())
    }

    /// Index every committed block after the cursor; returns the new cursor.
    pub async fn catch_up(&self) -> Result<u64, IndexError> {
        let Some(tip) = self.chain.tip()? else { return Ok(0) };
        let mut next = match self.cursor().await? {
            None => {
                self.index_genesis().await?;
                1
            }
            Some(h) => h + 1,
        };
        while next <= tip.height {
            self.index_block(next).await?;
            next += 1;
        }
        Ok(next - 1)
    }

    /// Follow the chain until the process ends: index on every commit notification, and poll as a
    /// fallback (a lagging broadcast receiver loses notifications, never blocks).
    pub async fn run(self: Arc<Self>) {
        let mut commits = self.chain.subscribe_commits();
        loop {
            if let Err(e) = self.catch_up().await {
                tracing::error!(error = %e, "indexer: catch-up failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            if let Ok(Err(broadcast::error::RecvError::Closed)) =
                tokio::time::timeout(Duration::from_millis(500), commits.recv()).await
            {
                commits = self.chain.subscribe_commits();
            }
        }
    }

    /// Drop every row derived from the chain and index again from genesis. Users and sessions stay.
    pub async fn rebuild(&self) -> Result<u64, IndexError> {
        let txn = self.db.begin().await?;
        block::Entity::delete_many().exec(&txn).await?;
        transaction::Entity::delete_many().exec(&txn).await?;
        event::Entity::delete_many().exec(&txn).await?;
        event_org::Entity::delete_many().exec(&txn).await?;
        organisation::Entity::delete_many().exec(&txn).await?;
        voucher::Entity::delete_many().exec(&txn).await?;
        voucher_party::Entity::delete_many().exec(&txn).await?;
        voucher_visibility::Entity::delete_many().exec(&txn).await?;
        invoice::Entity::delete_many().exec(&txn).await?;
        invoice_party::Entity::delete_many().exec(&txn).await?;
        crate::indexer_workflow::clear(&txn).await?;
        crate::indexer_goods::clear(&txn).await?;
        indexer_cursor::Entity::delete_many().exec(&txn).await?;
        txn.commit().await?;
        self.indexed.send_replace(None);
        self.catch_up().await
    }

    async fn index_genesis(&self) -> Result<(), IndexError> {
        let rows = {
            let state = self.chain.state(Some(0))?;
            let ids = dorg::org_ids(state.as_ref()).map_err(|e| state_err(0, e))?;
            org_rows(state.as_ref(), 0, ids.iter())?
        };
        let txn = self.db.begin().await?;
        if indexer_cursor::Entity::find_by_id(CURSOR_ID).one(&txn).await?.is_some() {
            return Ok(());
        }
        for r in rows {
            upsert_org(&txn, r).await?;
        }
        indexer_cursor::Entity::insert(indexer_cursor::ActiveModel {
            id: Set(CURSOR_ID),
            height: Set(0),
            block_hash: Set(String::new()),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        self.indexed.send_replace(Some(0));
        Ok(())
    }

    async fn index_block(&self, height: u64) -> Result<(), IndexError> {
        let block = self.chain.block(height)?.ok_or(IndexError::MissingBlock(height))?;
        let receipts = self.chain.block_receipts(&block)?;
        let derived = self.derive(height, &block, &receipts)?;

        let txn = self.db.begin().await?;
        let cursor = indexer_cursor::Entity::find_by_id(CURSOR_ID).one(&txn).await?.map(|c| c.height as u64);
        if cursor != Some(height - 1) {
            // Someone else (another indexer, a rebuild) moved the cursor: never write twice.
            return Ok(());
        }
        block::Entity::insert(block::ActiveModel {
            height: Set(height as i64),
            hash: Set(block.hash().to_hex()),
            parent_hash: Set(block.header.parent_hash.to_hex()),
            state_root: Set(block.header.state_root.to_hex()),
            time_ms: Set(block.header.time_ms as i64),
            proposer: Set(block.header.proposer.to_hex()),
            tx_count: Set(block.txs.len() as i32),
        })
        .exec(&txn)
        .await?;
        for r in &receipts {
            let (outcome, code, message) = match &r.outcome {
                TxOutcome::Success => ("success", None, None),
                TxOutcome::Failed { code, message } => ("failed", Some(code.clone()), Some(message.clone())),
            };
            transaction::Entity::insert(transaction::ActiveModel {
                id: Set(r.tx_id.to_hex()),
                height: Set(height as i64),
                tx_index: Set(r.index as i32),
                sender: Set(r.sender.to_hex()),
                module: Set(r.module.clone()),
                outcome: Set(outcome.into()),
                error_code: Set(code),
                error_message: Set(message),
            })
            .exec(&txn)
            .await?;
        }
        for n in &derived.events {
            event::Entity::insert(event::ActiveModel {
                id: Set(n.id),
                height: Set(height as i64),
                tx_id: Set(n.tx_id.clone()),
                tx_index: Set(((n.id >> 10) & 0x3fff) as i32),
                event_index: Set((n.id & 0x3ff) as i32),
                module: Set(n.module.clone()),
                kind: Set(n.kind.clone()),
                attributes: Set(serde_json::to_string(&n.attributes).unwrap_or_else(|_| "[]".into())),
                data: Set(n.data.clone()),
            })
            .exec(&txn)
            .await?;
            for org in &n.orgs {
                event_org::Entity::insert(event_org::ActiveModel { event_id: Set(n.id), org_id: Set(org.clone()) })
                    .exec(&txn)
                    .await?;
            }
        }
        for r in derived.orgs {
            upsert_org(&txn, r).await?;
        }
        for tree in derived.trees {
            write_tree(&txn, tree).await?;
        }
        for inv in derived.invoices {
            write_invoice(&txn, inv).await?;
        }
        crate::indexer_workflow::write(&txn, derived.workflow).await?;
        crate::indexer_goods::write(&txn, derived.goods).await?;
        indexer_cursor::Entity::update(indexer_cursor::ActiveModel {
            id: Set(CURSOR_ID),
            height: Set(height as i64),
            block_hash: Set(block.hash().to_hex()),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;

        self.indexed.send_replace(Some(height));
        let _ = self.blocks.send(BlockNotice {
            height,
            hash: block.hash().to_hex(),
            time_ms: block.header.time_ms,
            tx_count: block.txs.len() as u32,
        });
        for n in derived.events {
            let _ = self.events.send(n);
        }
        Ok(())
    }

    /// Everything block `height` changes in the read model, computed before the SQL transaction opens.
    fn derive(&self, height: u64, block: &Block, receipts: &[Receipt]) -> Result<Derived, IndexError> {
        let state = self.chain.state(Some(height))?;
        let state = state.as_ref();
        let mut events = Vec::new();
        let mut orgs = BTreeSet::new();
        let mut roots = BTreeSet::new();
        let mut invoices = BTreeSet::new();
        for r in receipts {
            for (i, e) in r.events.iter().enumerate() {
                let concerned: BTreeSet<String> =
                    e.attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.clone()).collect();
                match e.module.as_str() {
                    dorg::MODULE => orgs.extend(concerned.iter().cloned()),
                    dvou::MODULE => {
                        roots.extend(e.attributes.iter().filter(|(k, _)| k == "root").map(|(_, v)| v.clone()));
                    }
                    dinv::MODULE => {
                        invoices.extend(e.attributes.iter().filter(|(k, _)| k == "invoice").map(|(_, v)| v.clone()));
                    }
                    _ => {}
                }
                events.push(EventNotice {
                    id: event_id(height, r.index, i as u32),
                    height,
                    tx_id: r.tx_id.to_hex(),
                    module: e.module.clone(),
                    kind: e.kind.clone(),
                    attributes: e.attributes.clone(),
                    orgs: concerned.into_iter().collect(),
                    data: e.data.clone(),
                });
            }
        }
        let mut trees = Vec::new();
        for root in &roots {
            let members = dvou::lineage(state, root).map_err(|e| state_err(height, e))?;
            let frozen = dvou::is_frozen(state, root).map_err(|e| state_err(height, e))?;
            if let Some(r) = members.first() {
                // Financing changes what the root's invoices have left: refresh them with the tree.
                invoices.extend(r.invoices.iter().cloned());
            }
            trees.push(TreeRows { root: root.clone(), members, frozen, height });
        }
        let mut inv_rows = Vec::new();
        for number in &invoices {
            if let Some(inv) = dinv::load_invoice(state, number).map_err(|e| state_err(height, e))? {
                let mut funders = BTreeSet::new();
                for lock in &inv.locks {
                    if let Some(v) = dvou::load_voucher(state, &lock.voucher_id).map_err(|e| state_err(height, e))? {
                        if let Some(f) = v.financing {
                            funders.insert(f.funder);
                        }
                    }
                }
                inv_rows.push((inv, funders, height));
            }
        }
        let workflow = crate::indexer_workflow::derive(state, height, block.header.time_ms, receipts)?;
        let goods = crate::indexer_goods::derive(state, height, receipts)?;
        Ok(Derived { events, orgs: org_rows(state, height, orgs.iter())?, trees, invoices: inv_rows, workflow, goods })
    }
}

struct Derived {
    events: Vec<EventNotice>,
    orgs: Vec<organisation::Model>,
    trees: Vec<TreeRows>,
    invoices: Vec<(dinv::Invoice, BTreeSet<String>, u64)>,
    workflow: crate::indexer_workflow::WorkflowRows,
    goods: crate::indexer_goods::GoodsRows,
}

struct TreeRows {
    root: String,
    members: Vec<dvou::Voucher>,
    frozen: bool,
    height: u64,
}

fn state_err(height: u64, e: impl std::fmt::Display) -> IndexError {
    IndexError::State { height, reason: e.to_string() }
}

fn org_rows<'a>(
    state: &dyn StateRead,
    height: u64,
    ids: impl Iterator<Item = &'a String>,
) -> Result<Vec<organisation::Model>, IndexError> {
    let mut out = Vec::new();
    for id in ids {
        let Some(o) = dorg::load_org(state, id).map_err(|e| state_err(height, e))? else { continue };
        let approved = dorg::is_approved_funder(state, id).map_err(|e| state_err(height, e))?;
        out.push(organisation::Model {
            id: o.id.clone(),
            name: o.name.clone(),
            credit_code: o.credit_code.clone(),
            roles: serde_json::to_string(&o.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>())
                .unwrap_or_else(|_| "[]".into()),
            public_key: o.public_key.to_hex(),
            status: match o.status {
                dorg::OrgStatus::Active => "active".into(),
                dorg::OrgStatus::Frozen { .. } => "frozen".into(),
            },
            approved_funder: approved,
            updated_height: height as i64,
        });
    }
    Ok(out)
}

async fn upsert_org(txn: &DatabaseTransaction, row: organisation::Model) -> Result<(), sea_orm::DbErr> {
    organisation::Entity::delete_by_id(row.id.clone()).exec(txn).await?;
    organisation::Entity::insert(organisation::ActiveModel::from(row)).exec(txn).await?;
    Ok(())
}

/// Status names stored in the read model.
pub fn status_name(s: &dvou::VoucherStatus) -> &'static str {
    match s {
        dvou::VoucherStatus::Pending => "pending",
        dvou::VoucherStatus::Active => "active",
        dvou::VoucherStatus::Rejected { .. } => "rejected",
        dvou::VoucherStatus::Split => "split",
        dvou::VoucherStatus::Settled => "settled",
    }
}

/// True when `a` is `b` or an ancestor or descendant of `b` (ids are dot paths `<root>.<n>.<m>`).
fn related(a: &str, b: &str) -> bool {
    let prefix = |short: &str, long: &str| {
        long.len() > short.len() && long.starts_with(short) && long.as_bytes()[short.len()] == b'.'
    };
    a == b || prefix(a, b) || prefix(b, a)
}

/// Rewrite a lineage tree: voucher rows, the append-only party history, and who may see what
/// (an organisation sees every voucher it holds or held, was offered or issued, and their lineage:
/// ancestors and descendants).
async fn write_tree(txn: &DatabaseTransaction, t: TreeRows) -> Result<(), sea_orm::DbErr> {
    let mut parties: BTreeMap<(String, String), String> = voucher_party::Entity::find()
        .filter(voucher_party::Column::RootId.eq(t.root.clone()))
        .all(txn)
        .await?
        .into_iter()
        .map(|p| ((p.voucher_id, p.org_id), p.relation))
        .collect();
    let mut new_parties = Vec::new();
    for v in &t.members {
        let mut add = |org: &str, relation: &str| {
            let key = (v.id.clone(), org.to_string());
            if !parties.contains_key(&key) {
                parties.insert(key.clone(), relation.to_string());
                new_parties.push(voucher_party::ActiveModel {
                    voucher_id: Set(key.0),
                    org_id: Set(key.1),
                    root_id: Set(t.root.clone()),
                    relation: Set(relation.to_string()),
                });
            }
        };
        add(&v.holder, "holder");
        if v.parent_id.is_none() {
            add(&v.issuer, "issuer");
        }
        if let Some(p) = &v.pending_from {
            add(p, "holder");
        }
        if let Some(o) = &v.offer {
            add(&o.funder, "offered");
        }
        if let Some(f) = &v.financing {
            add(&f.funder, "funder");
        }
    }
    if !new_parties.is_empty() {
        voucher_party::Entity::insert_many(new_parties).exec(txn).await?;
    }
    voucher::Entity::delete_many().filter(voucher::Column::RootId.eq(t.root.clone())).exec(txn).await?;
    let rows: Vec<voucher::ActiveModel> = t
        .members
        .iter()
        .map(|v| {
            voucher::ActiveModel::from(voucher::Model {
                id: v.id.clone(),
                root_id: v.root_id.clone(),
                parent_id: v.parent_id.clone(),
                depth: v.depth as i32,
                issuer: v.issuer.clone(),
                holder: v.holder.clone(),
                pending_from: v.pending_from.clone(),
                amount: v.amount as i64,
                currency: v.currency.clone(),
                issue_date: v.issue_date.to_string(),
                due_date: v.due_date.to_string(),
                status: status_name(&v.status).into(),
                contract_ref: v.contract_ref.clone(),
                invoices: serde_json::to_string(&v.invoices).unwrap_or_else(|_| "[]".into()),
                offered_to: v.offer.as_ref().map(|o| o.funder.clone()),
                financed_by: v.financing.as_ref().map(|f| f.funder.clone()),
                frozen: t.frozen,
                updated_height: t.height as i64,
            })
        })
        .collect();
    if !rows.is_empty() {
        voucher::Entity::insert_many(rows).exec(txn).await?;
    }
    let mut visible = BTreeSet::new();
    for v in &t.members {
        for (pv, org) in parties.keys() {
            if related(pv, &v.id) {
                visible.insert((v.id.clone(), org.clone()));
            }
        }
    }
    voucher_visibility::Entity::delete_many()
        .filter(voucher_visibility::Column::RootId.eq(t.root.clone()))
        .exec(txn)
        .await?;
    let vis: Vec<voucher_visibility::ActiveModel> = visible
        .into_iter()
        .map(|(voucher_id, org_id)| voucher_visibility::ActiveModel {
            voucher_id: Set(voucher_id),
            org_id: Set(org_id),
            root_id: Set(t.root.clone()),
        })
        .collect();
    for chunk in vis.chunks(500) {
        voucher_visibility::Entity::insert_many(chunk.to_vec()).exec(txn).await?;
    }
    Ok(())
}

async fn write_invoice(
    txn: &DatabaseTransaction,
    (inv, funders, height): (dinv::Invoice, BTreeSet<String>, u64),
) -> Result<(), sea_orm::DbErr> {
    invoice::Entity::delete_by_id(inv.number.clone()).exec(txn).await?;
    invoice::Entity::insert(invoice::ActiveModel::from(invoice::Model {
        number: inv.number.clone(),
        issue_date: inv.issue_date.to_string(),
        currency: inv.currency.clone(),
        seller_name: inv.seller.name.clone(),
        seller_tax_id: inv.seller.tax_id.clone(),
        buyer_name: inv.buyer.name.clone(),
        buyer_tax_id: inv.buyer.tax_id.clone(),
        seller_org: inv.seller_org.clone(),
        buyer_org: inv.buyer_org.clone(),
        total_amount: inv.total_amount as i64,
        total_tax: inv.total_tax as i64,
        total_with_tax: inv.total_with_tax as i64,
        reversed: inv.reversed as i64,
        financed: inv.financed as i64,
        booked: inv.booking.is_some(),
        line_count: inv.line_count as i32,
        updated_height: height as i64,
    }))
    .exec(txn)
    .await?;
    invoice_party::Entity::delete_many().filter(invoice_party::Column::Number.eq(inv.number.clone())).exec(txn).await?;
    let mut parties = BTreeMap::new();
    parties.insert(inv.seller_org.clone(), "seller");
    if let Some(b) = &inv.buyer_org {
        parties.entry(b.clone()).or_insert("buyer");
    }
    for f in funders {
        parties.entry(f).or_insert("funder");
    }
    let rows: Vec<invoice_party::ActiveModel> = parties
        .into_iter()
        .map(|(org, rel)| invoice_party::ActiveModel {
            number: Set(inv.number.clone()),
            org_id: Set(org),
            relation: Set(rel.to_string()),
        })
        .collect();
    invoice_party::Entity::insert_many(rows).exec(txn).await?;
    Ok(())
}

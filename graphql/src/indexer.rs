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
use sea_orm::sea_query::{ExprTrait, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseConnection, DatabaseTransaction, EntityTrait, QueryFilter, TransactionTrait,
};

use crate::schema::input::to_i64;
use serde::Serialize;
use tokio::sync::{broadcast, watch};

use crate::db::entities::*;
use scf_client::{Chain, ChainError, CommittedBlock, Follower};

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

/// Delete every row derived from the chain, and the cursor (users and sessions stay).
pub async fn clear_derived<C: sea_orm::ConnectionTrait>(db: &C) -> Result<(), sea_orm::DbErr> {
    block::Entity::delete_many().exec(db).await?;
    transaction::Entity::delete_many().exec(db).await?;
    event::Entity::delete_many().exec(db).await?;
    event_org::Entity::delete_many().exec(db).await?;
    organisation::Entity::delete_many().exec(db).await?;
    voucher::Entity::delete_many().exec(db).await?;
    voucher_party::Entity::delete_many().exec(db).await?;
    voucher_visibility::Entity::delete_many().exec(db).await?;
    invoice::Entity::delete_many().exec(db).await?;
    invoice_party::Entity::delete_many().exec(db).await?;
    crate::indexer_workflow::clear(db).await?;
    crate::indexer_goods::clear(db).await?;
    indexer_cursor::Entity::delete_many().exec(db).await?;
    Ok(())
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
    /// Bumped after every change of `indexed` (a block indexed, a reset): a cache of rows derived from
    /// the chain is current while this has not moved.
    revision: std::sync::atomic::AtomicU64,
    blocks: broadcast::Sender<BlockNotice>,
    events: broadcast::Sender<EventNotice>,
}

const CURSOR_ID: i32 = 1;

impl Indexer {
    pub async fn new(db: DatabaseConnection, chain: Arc<dyn Chain>) -> Result<Arc<Indexer>, IndexError> {
        let (indexed, _) = watch::channel(None);
        let (blocks, _) = broadcast::channel(256);
        let (events, _) = broadcast::channel(4096);
        let ix = Arc::new(Indexer { db, chain, indexed, revision: Default::default(), blocks, events });
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

    fn set_indexed(&self, height: Option<u64>) {
        self.indexed.send_replace(height);
        self.revision.fetch_add(1, std::sync::atomic::Ordering::Release);
    }

    /// Changes whenever the derived rows may have changed (see the field).
    pub fn revision(&self) -> u64 {
        self.revision.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Wait until `height` is indexed (so a mutation's caller reads its own write).
    pub async fn wait_for(&self, height: u64, timeout: Duration) -> bool {
        let mut rx = self.indexed.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|h| h.is_some_and(|h| h >= height))).await.is_ok_and(|r| r.is_ok())
    }

    /// Index every committed block after the cursor; returns the new cursor.
    pub async fn catch_up(&self) -> Result<u64, IndexError> {
        let Some(tip) = self.chain.tip().await? else { return Ok(0) };
        let mut next = match self.cursor().await? {
            None => {
                self.index_genesis().await?;
                1
            }
            Some(h) => h + 1,
        };
        while next <= tip.height {
            let block = self.chain.block(next).await?.ok_or(IndexError::MissingBlock(next))?;
            self.index_block(&block).await?;
            next += 1;
        }
        Ok(next - 1)
    }

    /// Follow the chain until the process ends, indexing each committed block as it is delivered with
    /// its receipts (blocks missed while lagging or down are read back, in order).
    pub async fn run(self: Arc<Self>) {
        loop {
            let next = match self.catch_up().await {
                Ok(h) => h + 1,
                Err(e) => {
                    tracing::error!(error = %e, "indexer: catch-up failed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            let mut follower = Follower::new(self.chain.clone(), next);
            loop {
                let step = match follower.next().await {
                    Ok(block) => self.index_block(&block).await,
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = step {
                    tracing::error!(error = %e, "indexer: block not indexed; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    break;
                }
            }
        }
    }

    /// Drop every row derived from the chain and index again from genesis. Users and sessions stay.
    pub async fn rebuild(&self) -> Result<u64, IndexError> {
        let txn = self.db.begin().await?;
        clear_derived(&txn).await?;
        txn.commit().await?;
        self.set_indexed(None);
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
        self.set_indexed(Some(0));
        Ok(())
    }

    async fn index_block(&self, committed: &CommittedBlock) -> Result<(), IndexError> {
        let (height, block, receipts) = (committed.height(), &committed.block, &committed.receipts);
        let derived = self.derive(height, block, receipts)?;

        let txn = self.db.begin().await?;
        let cursor = indexer_cursor::Entity::find_by_id(CURSOR_ID).one(&txn).await?.map(|c| c.height as u64);
        if cursor != Some(height - 1) {
            // Someone else (another indexer, a rebuild) moved the cursor: never write twice.
            return Ok(());
        }
        block::Entity::insert(block::ActiveModel {
            height: Set(height as i64),
            hash: Set(committed.hash.to_hex()),
            parent_hash: Set(block.header.parent_hash.to_hex()),
            state_root: Set(block.header.state_root.to_hex()),
            time_ms: Set(block.header.time_ms as i64),
            proposer: Set(block.header.proposer.to_hex()),
            tx_count: Set(block.txs.len() as i32),
        })
        .exec(&txn)
        .await?;
        for r in receipts {
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
        write_vouchers(&txn, derived.vouchers).await?;
        let prev_ms = match block::Entity::find_by_id(to_i64(height - 1)).one(&txn).await? {
            Some(b) => u64::try_from(b.time_ms).unwrap_or(0),
            None => committed.time_ms().saturating_sub(1),
        };
        let reminders = crate::indexer_maturity::reminders(&txn, prev_ms, committed.time_ms(), height).await?;
        crate::indexer_workflow::write_notices(&txn, reminders).await?;
        for inv in derived.invoices {
            write_invoice(&txn, inv).await?;
        }
        crate::indexer_workflow::write(&txn, derived.workflow).await?;
        crate::indexer_goods::write(&txn, derived.goods).await?;
        crate::indexer_epcis::write(&txn, derived.epcis).await?;
        // Webhook deliveries are queued in the block's own transaction: none lost, none queued twice.
        crate::webhooks::enqueue(&txn, &derived.events).await?;
        indexer_cursor::Entity::update(indexer_cursor::ActiveModel {
            id: Set(CURSOR_ID),
            height: Set(height as i64),
            block_hash: Set(committed.hash.to_hex()),
        })
        .exec(&txn)
        .await?;
        txn.commit().await?;
        crate::webhooks::wake();

        self.set_indexed(Some(height));
        let _ = self.blocks.send(BlockNotice {
            height,
            hash: committed.hash.to_hex(),
            time_ms: block.header.time_ms,
            tx_count: block.txs.len() as u32,
        });
        for n in derived.events {
            let _ = self.events.send(n);
        }
        Ok(())
    }

    /// Everything block `height` changes in the read model, computed before the SQL transaction opens:
    /// the events, and the records the events name, read from the state after the block (never a
    /// whole voucher tree: a split or transfer reads the vouchers it changed, O(changed)).
    fn derive(&self, height: u64, block: &Block, receipts: &[Receipt]) -> Result<Derived, IndexError> {
        let state = self.chain.state(Some(height))?;
        let state = state.as_ref();
        let mut events = Vec::new();
        let mut orgs = BTreeSet::new();
        let mut changed = VoucherChanges::default();
        let mut invoices = BTreeSet::new();
        for r in receipts {
            for (i, e) in r.events.iter().enumerate() {
                let concerned: BTreeSet<String> =
                    e.attributes.iter().filter(|(k, _)| k == "org").map(|(_, v)| v.clone()).collect();
                match e.module.as_str() {
                    dorg::MODULE => orgs.extend(concerned.iter().cloned()),
                    dvou::MODULE => changed.add(e),
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
        let mut vouchers = Vec::with_capacity(changed.vouchers.len());
        let mut frozen = BTreeMap::new();
        for id in &changed.vouchers {
            let Some(v) = dvou::load_voucher(state, id).map_err(|e| state_err(height, e))? else { continue };
            if !frozen.contains_key(&v.root_id) {
                frozen.insert(v.root_id.clone(), dvou::is_frozen(state, &v.root_id).map_err(|e| state_err(height, e))?);
            }
            vouchers.push(v);
        }
        // Financing and payment change what a tree's invoices have left: refresh them with it.
        for root in &changed.roots {
            if let Some(r) = dvou::load_voucher(state, root).map_err(|e| state_err(height, e))? {
                invoices.extend(r.invoices.iter().cloned());
            }
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
        let epcis = crate::indexer_epcis::derive(state, height, &block.hash().to_hex(), receipts)?;
        Ok(Derived {
            events,
            orgs: org_rows(state, height, orgs.iter())?,
            vouchers: VoucherRows { height, vouchers, frozen, freezes: changed.freezes },
            invoices: inv_rows,
            workflow,
            goods,
            epcis,
        })
    }
}

/// What a block's voucher events say changed: the vouchers they name (`voucher` attributes), the trees
/// they concern (`root`), and freezes of whole trees.
#[derive(Default)]
struct VoucherChanges {
    vouchers: BTreeSet<String>,
    roots: BTreeSet<String>,
    freezes: BTreeMap<String, bool>,
}

impl VoucherChanges {
    fn add(&mut self, e: &scf_ledger::module::Event) {
        for (k, v) in &e.attributes {
            match k.as_str() {
                "voucher" => {
                    self.vouchers.insert(v.clone());
                }
                "root" => {
                    self.roots.insert(v.clone());
                    match e.kind.as_str() {
                        "VoucherTreeFrozen" => {
                            self.freezes.insert(v.clone(), true);
                        }
                        "VoucherTreeUnfrozen" => {
                            self.freezes.insert(v.clone(), false);
                        }
                        _ => {}
                    }
                }
                _ => {}
            }
        }
    }
}

struct Derived {
    events: Vec<EventNotice>,
    orgs: Vec<organisation::Model>,
    vouchers: VoucherRows,
    invoices: Vec<(dinv::Invoice, BTreeSet<String>, u64)>,
    workflow: crate::indexer_workflow::WorkflowRows,
    goods: crate::indexer_goods::GoodsRows,
    epcis: crate::indexer_epcis::EpcisRows,
}

/// The voucher records a block changed, each tree's frozen flag, and the trees frozen or unfrozen.
struct VoucherRows {
    height: u64,
    vouchers: Vec<dvou::Voucher>,
    frozen: BTreeMap<String, bool>,
    freezes: BTreeMap<String, bool>,
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

/// The ancestors of a voucher, from its id (`<root>.<n>.<m>` → `<root>.<n>`, `<root>`).
fn ancestors(id: &str) -> Vec<&str> {
    id.match_indices('.').map(|(i, _)| &id[..i]).collect()
}

/// The organisations a voucher record makes parties of it, and how.
fn parties_of(v: &dvou::Voucher) -> Vec<(&str, &'static str)> {
    let mut out = vec![(v.holder.as_str(), "holder")];
    if v.parent_id.is_none() {
        out.push((v.issuer.as_str(), "issuer"));
    }
    if let Some(p) = &v.pending_from {
        out.push((p.as_str(), "holder"));
    }
    if let Some(o) = &v.offer {
        out.push((o.funder.as_str(), "offered"));
    }
    if let Some(f) = &v.financing {
        out.push((f.funder.as_str(), "funder"));
    }
    out
}

fn voucher_row(v: &dvou::Voucher, frozen: bool, height: u64) -> voucher::Model {
    voucher::Model {
        id: v.id.clone(),
        root_id: v.root_id.clone(),
        parent_id: v.parent_id.clone(),
        depth: v.depth as i32,
        issuer: v.issuer.clone(),
        holder: v.holder.clone(),
        pending_from: v.pending_from.clone(),
        amount: to_i64(v.amount),
        currency: v.currency.clone(),
        issue_date: v.issue_date.to_string(),
        due_date: v.due_date.to_string(),
        status: v.status.state().name().into(),
        contract_ref: v.contract_ref.clone(),
        invoices: serde_json::to_string(&v.invoices).unwrap_or_else(|_| "[]".into()),
        offered_to: v.offer.as_ref().map(|o| o.funder.clone()),
        financed_by: v.financing.as_ref().map(|f| f.funder.clone()),
        frozen,
        updated_height: to_i64(height),
    }
}

/// `LIKE` pattern of a voucher's descendants (`<id>.%`), its own characters taken literally.
fn descendants_pattern(id: &str) -> String {
    let mut p = String::with_capacity(id.len() + 2);
    for c in id.chars() {
        if matches!(c, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push_str(".%");
    p
}

/// Update the rows of the vouchers a block changed, the append-only party history, and who may see
/// what, touching only what changed. An organisation sees every voucher it holds or held, issued,
/// was offered or financed, and their lineage (ancestors and descendants); since parties and vouchers
/// are only ever added, visibility only grows: a new party sees its voucher's lineage, and a new
/// voucher is seen by the parties of its ancestors.
async fn write_vouchers(txn: &DatabaseTransaction, rows: VoucherRows) -> Result<(), sea_orm::DbErr> {
    if rows.vouchers.is_empty() && rows.freezes.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = rows.vouchers.iter().map(|v| v.id.clone()).collect();
    let known: BTreeSet<String> = voucher::Entity::find()
        .filter(voucher::Column::Id.is_in(ids.clone()))
        .all(txn)
        .await?
        .into_iter()
        .map(|m| m.id)
        .collect();
    for v in &rows.vouchers {
        let frozen = rows.frozen.get(&v.root_id).copied().unwrap_or(false);
        voucher::Entity::delete_by_id(v.id.clone()).exec(txn).await?;
        voucher::Entity::insert(voucher::ActiveModel::from(voucher_row(v, frozen, rows.height))).exec(txn).await?;
    }
    for (root, frozen) in &rows.freezes {
        voucher::Entity::update_many()
            .col_expr(voucher::Column::Frozen, sea_orm::sea_query::Expr::value(*frozen))
            .filter(voucher::Column::RootId.eq(root.clone()))
            .exec(txn)
            .await?;
    }
    // Parties: the history only grows.
    let existing: BTreeSet<(String, String)> = voucher_party::Entity::find()
        .filter(voucher_party::Column::VoucherId.is_in(ids))
        .all(txn)
        .await?
        .into_iter()
        .map(|p| (p.voucher_id, p.org_id))
        .collect();
    let mut new_parties: BTreeMap<(String, String), (&str, &'static str)> = BTreeMap::new();
    for v in &rows.vouchers {
        for (org, relation) in parties_of(v) {
            let key = (v.id.clone(), org.to_string());
            if !existing.contains(&key) {
                new_parties.entry(key).or_insert((v.root_id.as_str(), relation));
            }
        }
    }
    if !new_parties.is_empty() {
        let models = new_parties.iter().map(|((voucher_id, org_id), (root, relation))| voucher_party::ActiveModel {
            voucher_id: Set(voucher_id.clone()),
            org_id: Set(org_id.clone()),
            root_id: Set(root.to_string()),
            relation: Set(relation.to_string()),
        });
        voucher_party::Entity::insert_many(models).exec_without_returning(txn).await?;
    }
    // Visibility.
    let mut visible: BTreeSet<(String, String, String)> = BTreeSet::new();
    for ((voucher_id, org), (root, _)) in &new_parties {
        visible.insert((voucher_id.clone(), org.clone(), root.to_string()));
        for a in ancestors(voucher_id) {
            visible.insert((a.to_string(), org.clone(), root.to_string()));
        }
        let below = voucher::Entity::find()
            .filter(voucher::Column::RootId.eq(root.to_string()))
            .filter(
                sea_orm::sea_query::Expr::col(voucher::Column::Id)
                    .like(sea_orm::sea_query::LikeExpr::new(descendants_pattern(voucher_id)).escape('\\')),
            )
            .all(txn)
            .await?;
        for d in below {
            visible.insert((d.id, org.clone(), root.to_string()));
        }
    }
    for v in rows.vouchers.iter().filter(|v| !known.contains(&v.id)) {
        let up: Vec<String> = ancestors(&v.id).into_iter().map(str::to_string).collect();
        if up.is_empty() {
            continue;
        }
        for p in voucher_party::Entity::find().filter(voucher_party::Column::VoucherId.is_in(up)).all(txn).await? {
            visible.insert((v.id.clone(), p.org_id, v.root_id.clone()));
        }
    }
    let vis: Vec<voucher_visibility::ActiveModel> = visible
        .into_iter()
        .map(|(voucher_id, org_id, root_id)| voucher_visibility::ActiveModel {
            voucher_id: Set(voucher_id),
            org_id: Set(org_id),
            root_id: Set(root_id),
        })
        .collect();
    for chunk in vis.chunks(500) {
        voucher_visibility::Entity::insert_many(chunk.to_vec())
            .on_conflict(
                OnConflict::columns([voucher_visibility::Column::VoucherId, voucher_visibility::Column::OrgId])
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(txn)
            .await?;
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
        total_amount: crate::schema::input::to_i64(inv.total_amount),
        total_tax: crate::schema::input::to_i64(inv.total_tax),
        total_with_tax: crate::schema::input::to_i64(inv.total_with_tax),
        reversed: crate::schema::input::to_i64(inv.reversed),
        financed: crate::schema::input::to_i64(inv.financed),
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

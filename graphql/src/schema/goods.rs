//! Warehouse receipts (仓单, GB/T 30332-2024 elements): queries over the read model and one mutation per
//! `WarehouseCall`. A receipt is visible to its warehouse operator (保管人), its current holder, the
//! funder it is pledged to, and the regulator; lists are filtered to that, a single receipt another
//! organisation asks for is FORBIDDEN. The chain enforces who may *do* what again.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use scf_domain::money::Money;
use scf_domain::warehouse::{self as dwh, FlagSource, GoodsIdentity, ReceiptStatus, WarehouseCall};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::access;
use super::input::*;
use super::types::TxResult;
use super::{api, require_user};
use crate::auth::AuthUser;
use crate::db::entities::warehouse_receipt;
use crate::error::{ApiError, ApiResult};
use crate::service::Api;

/// Receipts the user may see (`None` = no restriction): operator, current holder, pledgee; the
/// regulator sees all.
pub(crate) async fn receipt_scope(api: &Api, user: &AuthUser) -> ApiResult<Option<Condition>> {
    if access::has_org_role(api, user, "regulator").await? {
        return Ok(None);
    }
    let org = user.org_id.clone();
    Ok(Some(
        Condition::any()
            .add(warehouse_receipt::Column::Operator.eq(org.clone()))
            .add(warehouse_receipt::Column::Holder.eq(org.clone()))
            .add(warehouse_receipt::Column::Pledgee.eq(org)),
    ))
}

/// Whether the organisation may see this receipt row.
pub(crate) fn receipt_visible(row: &warehouse_receipt::Model, org: &str) -> bool {
    row.operator == org || row.holder == org || row.pledgee.as_deref() == Some(org)
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum WarehouseReceiptStatus {
    Active,
    /// Replaced by its children (split by quantity).
    Split,
    /// Goods taken out (提货); the receipt is cancelled.
    Withdrawn,
}

impl WarehouseReceiptStatus {
    fn as_str(self) -> &'static str {
        match self {
            WarehouseReceiptStatus::Active => "active",
            WarehouseReceiptStatus::Split => "split",
            WarehouseReceiptStatus::Withdrawn => "withdrawn",
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct StorageLocation {
    /// Physical warehouse code.
    pub warehouse: String,
    /// 库区.
    pub zone: String,
    /// 货位.
    pub bin: String,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum GoodsIdentityKind {
    Lot,
    GtinLot,
    Serials,
}

/// 货物标识.
#[derive(SimpleObject, Clone)]
pub struct GoodsIdentityNode {
    pub kind: GoodsIdentityKind,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    pub serials: Vec<String>,
}

impl From<&GoodsIdentity> for GoodsIdentityNode {
    fn from(g: &GoodsIdentity) -> Self {
        match g {
            GoodsIdentity::Lot { lot } => {
                GoodsIdentityNode { kind: GoodsIdentityKind::Lot, gtin: None, lot: Some(lot.clone()), serials: vec![] }
            }
            GoodsIdentity::GtinLot { gtin, lot } => GoodsIdentityNode {
                kind: GoodsIdentityKind::GtinLot,
                gtin: Some(gtin.clone()),
                lot: Some(lot.clone()),
                serials: vec![],
            },
            GoodsIdentity::Serials { gtin, serials } => GoodsIdentityNode {
                kind: GoodsIdentityKind::Serials,
                gtin: gtin.clone(),
                lot: None,
                serials: serials.clone(),
            },
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct ReceiptInsurance {
    pub insurer: String,
    pub policy_number: String,
    /// Fen.
    pub insured_amount: i64,
    pub currency: String,
    pub valid_until: String,
}

#[derive(SimpleObject, Clone)]
pub struct ReceiptPledge {
    pub funder: String,
    /// Principal the pledge secures, fen; `null` when sealed and the caller's organisation cannot open
    /// it here.
    pub amount: Option<i64>,
    pub currency: Option<String>,
    /// Whether the principal travels sealed (for the holder, the funder and every regulator).
    pub sealed: bool,
    pub due: String,
    pub since: String,
    pub height: i64,
}

#[derive(SimpleObject, Clone)]
pub struct ReceiptFlag {
    pub reason: String,
    /// `operator` (by hand) or `alert` (an IoT alert).
    pub source: String,
    /// The flagging organisation (operator) or alert id.
    pub source_ref: String,
    pub since: String,
    pub height: i64,
}

/// 背书记录.
#[derive(SimpleObject, Clone)]
pub struct Endorsement {
    pub from: String,
    pub to: String,
    pub date: String,
    pub height: i64,
    pub tx_id: String,
    pub note: String,
}

/// A warehouse receipt (仓单) as of the last indexed block.
pub struct WarehouseReceiptNode {
    r: dwh::Receipt,
    updated_height: i64,
}

impl WarehouseReceiptNode {
    pub(crate) fn from_row(m: warehouse_receipt::Model) -> ApiResult<Self> {
        let r: dwh::Receipt = serde_json::from_str(&m.detail).map_err(|e| ApiError::internal("receipt row", e))?;
        Ok(WarehouseReceiptNode { r, updated_height: m.updated_height })
    }
}

#[Object(name = "WarehouseReceipt")]
impl WarehouseReceiptNode {
    /// 仓单编号.
    async fn number(&self) -> &str {
        &self.r.terms.number
    }
    /// 保管人: the issuing warehouse operator organisation.
    async fn operator(&self) -> &str {
        &self.r.operator
    }
    /// 持单人.
    async fn holder(&self) -> &str {
        &self.r.holder
    }
    /// 存货人.
    async fn depositor(&self) -> &str {
        &self.r.terms.depositor
    }
    async fn goods_name(&self) -> &str {
        &self.r.terms.goods_name
    }
    async fn spec(&self) -> &str {
        &self.r.terms.spec
    }
    async fn unit(&self) -> &str {
        &self.r.terms.unit
    }
    async fn quantity(&self) -> i64 {
        to_i64(self.r.terms.quantity)
    }
    async fn packaging(&self) -> &str {
        &self.r.terms.packaging
    }
    async fn location(&self) -> StorageLocation {
        let l = &self.r.terms.location;
        StorageLocation { warehouse: l.warehouse.clone(), zone: l.zone.clone(), bin: l.bin.clone() }
    }
    async fn identity(&self) -> GoodsIdentityNode {
        GoodsIdentityNode::from(&self.r.terms.identity)
    }
    async fn insurance(&self) -> Option<ReceiptInsurance> {
        self.r.terms.insurance.as_ref().map(|i| ReceiptInsurance {
            insurer: i.insurer.clone(),
            policy_number: i.policy_number.clone(),
            insured_amount: to_i64(i.insured_amount.fen),
            currency: i.insured_amount.currency.clone(),
            valid_until: i.valid_until.to_string(),
        })
    }
    async fn valid_until(&self) -> String {
        self.r.terms.valid_until.to_string()
    }
    /// 权利提示.
    async fn rights_notice(&self) -> &str {
        &self.r.terms.rights_notice
    }
    async fn status(&self) -> WarehouseReceiptStatus {
        match self.r.status {
            ReceiptStatus::Active => WarehouseReceiptStatus::Active,
            ReceiptStatus::Split { .. } => WarehouseReceiptStatus::Split,
            ReceiptStatus::Withdrawn { .. } => WarehouseReceiptStatus::Withdrawn,
        }
    }
    /// Receipts this one was split into.
    async fn children(&self) -> Vec<String> {
        match &self.r.status {
            ReceiptStatus::Split { children } => children.clone(),
            _ => vec![],
        }
    }
    /// The receipt this one was split from.
    async fn parent(&self) -> Option<&str> {
        self.r.parent.as_deref()
    }
    async fn pledge(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<ReceiptPledge>> {
        let api = api(ctx)?;
        let org = super::caller(ctx).map(|u| u.org_id.as_str()).unwrap_or_default();
        let loan = crate::terms::open_receipt_loan(&self.r, org, &api.org_keys);
        Ok(self.r.pledge.as_ref().map(|p| ReceiptPledge {
            funder: p.funder.clone(),
            amount: loan.as_ref().map(|l| to_i64(l.loan_amount)),
            currency: loan.as_ref().map(|l| l.currency.clone()),
            sealed: p.sealed_loan.is_some(),
            due: p.due.to_string(),
            since: p.since.to_string(),
            height: p.height as i64,
        }))
    }
    async fn flag(&self) -> Option<ReceiptFlag> {
        self.r.flag.as_ref().map(|f| {
            let (source, source_ref) = match &f.source {
                FlagSource::Operator { org } => ("operator", org.clone()),
                FlagSource::Alert { alert_id, .. } => ("alert", alert_id.clone()),
            };
            ReceiptFlag {
                reason: f.reason.clone(),
                source: source.into(),
                source_ref,
                since: f.since.to_string(),
                height: f.height as i64,
            }
        })
    }
    async fn frozen(&self) -> bool {
        self.r.frozen.is_some()
    }
    async fn frozen_reason(&self) -> Option<&str> {
        self.r.frozen.as_deref()
    }
    async fn endorsements(&self) -> Vec<Endorsement> {
        self.r
            .endorsements
            .iter()
            .map(|e| Endorsement {
                from: e.from.clone(),
                to: e.to.clone(),
                date: e.date.to_string(),
                height: e.height as i64,
                tx_id: e.tx_id.to_hex(),
                note: e.note.clone(),
            })
            .collect()
    }
    async fn issued(&self) -> String {
        self.r.issued.to_string()
    }
    async fn updated_height(&self) -> i64 {
        self.updated_height
    }
}

/// Filters over warehouse receipts.
#[derive(InputObject, Default)]
pub struct WarehouseReceiptFilter {
    /// Organisation id of the current holder.
    pub holder: Option<String>,
    /// Organisation id of the warehouse operator (保管人).
    pub warehouse: Option<String>,
    pub status: Option<WarehouseReceiptStatus>,
    /// Goods: part of the goods name, or the exact lot.
    pub goods: Option<String>,
}

#[derive(Default)]
pub struct GoodsQuery;

#[Object]
impl GoodsQuery {
    /// Warehouse receipts the caller may see, ordered by number.
    #[graphql(complexity = "crate::schema::input::list_cost(first, child_complexity)")]
    async fn warehouse_receipts(
        &self,
        ctx: &Context<'_>,
        filter: Option<WarehouseReceiptFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WarehouseReceiptNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let mut q = warehouse_receipt::Entity::find();
        if let Some(scope) = receipt_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(h) = f.holder {
            q = q.filter(warehouse_receipt::Column::Holder.eq(h));
        }
        if let Some(w) = f.warehouse {
            q = q.filter(warehouse_receipt::Column::Operator.eq(w));
        }
        if let Some(s) = f.status {
            q = q.filter(warehouse_receipt::Column::Status.eq(s.as_str()));
        }
        if let Some(g) = f.goods.filter(|g| !g.trim().is_empty()) {
            if g.chars().count() > 128 {
                return Err(ApiError::bad_input("filter.goods", "at most 128 characters").into());
            }
            q = q.filter(
                Condition::any()
                    .add(warehouse_receipt::Column::GoodsName.contains(g.as_str()))
                    .add(warehouse_receipt::Column::Lot.eq(g)),
            );
        }
        if let Some(a) = &after {
            q = q.filter(warehouse_receipt::Column::Number.gt(a.clone()));
        }
        let mut rows = q
            .order_by_asc(warehouse_receipt::Column::Number)
            .limit(n + 1)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), has_next);
        for r in rows {
            let cursor = r.number.clone();
            conn.edges.push(Edge::new(cursor, WarehouseReceiptNode::from_row(r)?));
        }
        Ok(conn)
    }

    /// One warehouse receipt, for its operator, holder and pledgee (and the regulator). Anyone else gets
    /// NOT_FOUND, as for a number that does not exist: the answer must not tell which numbers exist.
    async fn warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
    ) -> async_graphql::Result<WarehouseReceiptNode> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let row = warehouse_receipt::Entity::find_by_id(number.clone())
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .filter(|row| receipt_visible(row, &user.org_id));
        let row = match row {
            Some(row) => row,
            None if access::has_org_role(api, user, "regulator").await? => {
                warehouse_receipt::Entity::find_by_id(number.clone())
                    .one(&api.db)
                    .await
                    .map_err(ApiError::from)?
                    .ok_or_else(|| ApiError::not_found(format!("warehouse receipt {number}")))?
            }
            None => return Err(ApiError::not_found(format!("warehouse receipt {number}")).into()),
        };
        Ok(WarehouseReceiptNode::from_row(row)?)
    }
}

#[derive(InputObject)]
pub struct StorageLocationInput {
    pub warehouse: String,
    pub zone: String,
    pub bin: String,
}

impl From<StorageLocationInput> for dwh::StorageLocation {
    fn from(l: StorageLocationInput) -> Self {
        dwh::StorageLocation { warehouse: l.warehouse, zone: l.zone, bin: l.bin }
    }
}

/// 货物标识: `LOT` needs `lot`; `GTIN_LOT` needs `gtin` and `lot`; `SERIALS` needs `serials` (and
/// optionally `gtin`).
#[derive(InputObject)]
pub struct GoodsIdentityInput {
    pub kind: GoodsIdentityKind,
    pub gtin: Option<String>,
    pub lot: Option<String>,
    #[graphql(default)]
    pub serials: Vec<String>,
}

impl GoodsIdentityInput {
    pub(crate) fn into_domain(self, field: &str) -> ApiResult<GoodsIdentity> {
        let need = |v: Option<String>, name: &str| {
            v.ok_or_else(|| ApiError::bad_input(format!("{field}.{name}"), "required for this kind"))
        };
        Ok(match self.kind {
            GoodsIdentityKind::Lot => GoodsIdentity::Lot { lot: need(self.lot, "lot")? },
            GoodsIdentityKind::GtinLot => {
                GoodsIdentity::GtinLot { gtin: need(self.gtin, "gtin")?, lot: need(self.lot, "lot")? }
            }
            GoodsIdentityKind::Serials => GoodsIdentity::Serials { gtin: self.gtin, serials: self.serials },
        })
    }
}

#[derive(InputObject)]
pub struct InsuranceInput {
    pub insurer: String,
    pub policy_number: String,
    /// Fen.
    pub insured_amount: i64,
    #[graphql(default = "CNY")]
    pub currency: String,
    pub valid_until: String,
}

/// The GB/T 30332-2024 elements of a new receipt.
#[derive(InputObject)]
pub struct ReceiptTermsInput {
    /// 仓单编号: 1..=40 of A-Z a-z 0-9 - _.
    pub number: String,
    /// 存货人: the depositor organisation (first holder).
    pub depositor: String,
    pub goods_name: String,
    #[graphql(default)]
    pub spec: String,
    pub unit: String,
    /// Integer number of `unit`.
    pub quantity: i64,
    #[graphql(default)]
    pub packaging: String,
    pub location: StorageLocationInput,
    pub identity: GoodsIdentityInput,
    pub insurance: Option<InsuranceInput>,
    pub valid_until: String,
    pub rights_notice: String,
}

/// One part of a receipt split: its quantity and exactly which goods it covers.
#[derive(InputObject)]
pub struct ReceiptSplitPartInput {
    pub quantity: i64,
    pub location: StorageLocationInput,
    pub identity: GoodsIdentityInput,
}

#[derive(Default)]
pub struct GoodsMutation;

#[Object]
impl GoodsMutation {
    /// The warehouse operator issues a receipt to the depositor.
    async fn issue_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        input: ReceiptTermsInput,
    ) -> async_graphql::Result<TxResult> {
        let insurance = match input.insurance {
            None => None,
            Some(i) => Some(dwh::Insurance {
                insurer: i.insurer,
                policy_number: i.policy_number,
                insured_amount: Money {
                    fen: positive("input.insurance.insuredAmount", i.insured_amount)?,
                    currency: i.currency,
                },
                valid_until: date("input.insurance.validUntil", &i.valid_until)?,
            }),
        };
        let terms = dwh::ReceiptTerms {
            number: input.number,
            depositor: input.depositor,
            goods_name: input.goods_name,
            spec: input.spec,
            unit: input.unit,
            quantity: positive("input.quantity", input.quantity)?,
            packaging: input.packaging,
            location: input.location.into(),
            identity: input.identity.into_domain("input.identity")?,
            insurance,
            valid_until: date("input.validUntil", &input.valid_until)?,
            rights_notice: input.rights_notice,
        };
        super::submit(ctx, Some("warehouse_operator"), WarehouseCall::Issue { terms }).await
    }

    /// The holder endorses (背书转让) the receipt to another organisation.
    async fn endorse_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
        to: String,
        #[graphql(default)] note: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, WarehouseCall::Endorse { number, to, note }).await
    }

    /// The holder splits the receipt by quantity; children are numbered `{number}-{i}`.
    async fn split_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
        parts: Vec<ReceiptSplitPartInput>,
    ) -> async_graphql::Result<TxResult> {
        let parts = parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| {
                Ok(dwh::SplitPart {
                    quantity: positive(&format!("parts[{i}].quantity"), p.quantity)?,
                    location: p.location.into(),
                    identity: p.identity.into_domain(&format!("parts[{i}].identity"))?,
                })
            })
            .collect::<ApiResult<Vec<_>>>()?;
        super::submit(ctx, None, WarehouseCall::Split { number, parts }).await
    }

    /// The holder pledges (质押) the receipt to an approved funder for `amount` fen until `due`.
    async fn pledge_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
        funder: String,
        amount: i64,
        #[graphql(default = "CNY")] currency: String,
        due: String,
    ) -> async_graphql::Result<TxResult> {
        let amount = Money { fen: positive("amount", amount)?, currency };
        let due = date("due", &due)?;
        // The loan travels sealed for the holder, the funder and every regulator (crate::terms).
        let call = {
            let api = api(ctx)?;
            let state = api.chain.state(None).map_err(ApiError::from)?;
            crate::terms::seal_warehouse_call(state.as_ref(), WarehouseCall::Pledge { number, funder, amount, due })?
        };
        super::submit(ctx, None, call).await
    }

    /// The pledgee funder releases the pledge (解押) on repayment.
    async fn release_warehouse_receipt(&self, ctx: &Context<'_>, number: String) -> async_graphql::Result<TxResult> {
        super::submit(ctx, Some("funder"), WarehouseCall::Release { number }).await
    }

    /// The holder withdraws the goods (提货); the receipt is cancelled.
    async fn withdraw_warehouse_receipt(&self, ctx: &Context<'_>, number: String) -> async_graphql::Result<TxResult> {
        super::submit(ctx, None, WarehouseCall::Withdraw { number }).await
    }

    /// The receipt's warehouse operator flags it.
    async fn flag_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, Some("warehouse_operator"), WarehouseCall::Flag { number, reason }).await
    }

    /// The receipt's warehouse operator clears its flag with the reason it is safe again.
    async fn clear_warehouse_receipt_flag(
        &self,
        ctx: &Context<'_>,
        number: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, Some("warehouse_operator"), WarehouseCall::ClearFlag { number, reason }).await
    }

    /// The regulator freezes the receipt.
    async fn freeze_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, Some("regulator"), WarehouseCall::Freeze { number, reason }).await
    }

    async fn unfreeze_warehouse_receipt(
        &self,
        ctx: &Context<'_>,
        number: String,
        reason: String,
    ) -> async_graphql::Result<TxResult> {
        super::submit(ctx, Some("regulator"), WarehouseCall::Unfreeze { number, reason }).await
    }
}

//! Queries. Lists are Relay connections (forward pagination: `first` ≤ 100, `after` an opaque cursor).

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, InputObject, Object};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::input::*;
use super::types::*;
use super::{access, api, require_user};
use crate::db::entities::{block, invoice, organisation, transaction, user, voucher};
use crate::error::{ApiError, ApiResult};

fn check_date(field: &str, s: &str) -> ApiResult<()> {
    scf_domain::date::Date::parse(s).map(|_| ()).ok_or_else(|| ApiError::bad_input(field, "expected a date YYYY-MM-DD"))
}

/// Filters a user needs over vouchers.
#[derive(InputObject, Default)]
pub struct VoucherFilter {
    /// Organisation id of the current holder.
    pub holder: Option<String>,
    pub status: Option<VoucherStatus>,
    /// Due on or after (YYYY-MM-DD).
    pub due_from: Option<String>,
    /// Due on or before (YYYY-MM-DD).
    pub due_to: Option<String>,
    /// Only this lineage tree.
    pub root_id: Option<String>,
}

#[derive(Default)]
pub struct Query;

#[Object(name = "CoreQuery")]
impl Query {
    /// The caller.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<UserNode> {
        let api = api(ctx)?;
        let user = super::signed_in(ctx)?;
        Ok(UserNode::from_row(crate::auth::user_row(&api.db, &user.id).await?)?)
    }

    /// Consortium members (public directory within the consortium: any signed-in user).
    async fn organisations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<OrganisationNode>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let rows = organisation::Entity::find()
            .order_by_asc(organisation::Column::Id)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(OrganisationNode::from).collect())
    }

    async fn organisation(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<OrganisationNode> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let row = organisation::Entity::find_by_id(id.clone()).one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(OrganisationNode::from).ok_or_else(|| ApiError::not_found(format!("organisation {id}")))?)
    }

    /// Users of the caller's organisation (org admins only).
    async fn users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserNode>> {
        let api = api(ctx)?;
        let me = require_user(ctx)?;
        if me.role != crate::auth::UserRole::Admin {
            return Err(ApiError::forbidden("only organisation admins list users").into());
        }
        let rows = user::Entity::find()
            .filter(user::Column::OrgId.eq(me.org_id.clone()))
            .order_by_asc(user::Column::Username)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(UserNode::from_row).collect::<ApiResult<Vec<_>>>()?)
    }

    /// One voucher, if the caller may see it (otherwise NOT_FOUND, so existence is not revealed).
    async fn voucher(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<VoucherNode> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let mut q = voucher::Entity::find_by_id(id.clone());
        if let Some(scope) = access::voucher_scope(api, user).await? {
            q = q.filter(scope);
        }
        let row = q.one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(VoucherNode::try_from).transpose()?.ok_or_else(|| ApiError::not_found(format!("voucher {id}")))?)
    }

    /// Vouchers the caller may see, ordered by id.
    async fn vouchers(
        &self,
        ctx: &Context<'_>,
        filter: Option<VoucherFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, VoucherNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let mut q = voucher::Entity::find();
        if let Some(scope) = access::voucher_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(h) = f.holder {
            q = q.filter(voucher::Column::Holder.eq(h));
        }
        if let Some(s) = f.status {
            q = q.filter(voucher::Column::Status.eq(s.as_str()));
        }
        if let Some(d) = f.due_from {
            check_date("filter.dueFrom", &d)?;
            q = q.filter(voucher::Column::DueDate.gte(d));
        }
        if let Some(d) = f.due_to {
            check_date("filter.dueTo", &d)?;
            q = q.filter(voucher::Column::DueDate.lte(d));
        }
        if let Some(r) = f.root_id {
            q = q.filter(voucher::Column::RootId.eq(r));
        }
        if let Some(a) = &after {
            q = q.filter(voucher::Column::Id.gt(a.clone()));
        }
        let mut rows = q.order_by_asc(voucher::Column::Id).limit(n + 1).all(&api.db).await.map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), has_next);
        for r in rows {
            conn.edges.push(Edge::new(r.id.clone(), VoucherNode::try_from(r)?));
        }
        Ok(conn)
    }

    /// One invoice header, if the caller may see it.
    async fn invoice(&self, ctx: &Context<'_>, number: String) -> async_graphql::Result<InvoiceNode> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let mut q = invoice::Entity::find_by_id(number.clone());
        if let Some(scope) = access::invoice_scope(api, user).await? {
            q = q.filter(scope);
        }
        let row = q.one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(InvoiceNode::from).ok_or_else(|| ApiError::not_found(format!("invoice {number}")))?)
    }

    /// Invoices the caller may see, ordered by number.
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, InvoiceNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let n = page_size(first)?;
        let mut q = invoice::Entity::find();
        if let Some(scope) = access::invoice_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(a) = &after {
            q = q.filter(invoice::Column::Number.gt(a.clone()));
        }
        let mut rows =
            q.order_by_asc(invoice::Column::Number).limit(n + 1).all(&api.db).await.map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), has_next);
        conn.edges.extend(rows.into_iter().map(|r| Edge::new(r.number.clone(), InvoiceNode::from(r))));
        Ok(conn)
    }

    /// 查验 (public): authentic / not found / reversed, nothing more.
    async fn verify_invoice(
        &self,
        ctx: &Context<'_>,
        number: String,
        issue_date: String,
        total_with_tax: i64,
    ) -> async_graphql::Result<InvoiceVerification> {
        let api = api(ctx)?;
        let date = scf_domain::date::Date::parse(&issue_date)
            .ok_or_else(|| ApiError::bad_input("issueDate", "expected a date YYYY-MM-DD"))?;
        let total =
            u64::try_from(total_with_tax).map_err(|_| ApiError::bad_input("totalWithTax", "must not be negative"))?;
        if !scf_domain::invoice::valid_number(&number) {
            return Err(ApiError::bad_input("number", "an invoice number is 20 digits").into());
        }
        let state = api.chain.state(None).map_err(ApiError::from)?;
        let r = scf_domain::invoice::verify_invoice(state.as_ref(), &number, date, total).map_err(ApiError::from)?;
        Ok(match r {
            scf_domain::invoice::VerifyResult::Authentic => InvoiceVerification::Authentic,
            scf_domain::invoice::VerifyResult::NotFound => InvoiceVerification::NotFound,
            scf_domain::invoice::VerifyResult::Reversed => InvoiceVerification::Reversed,
        })
    }

    /// Blocks, newest first (block explorer: any signed-in user).
    async fn blocks(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, BlockNode>> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let n = page_size(first)?;
        let mut q = block::Entity::find();
        if let Some(a) = &after {
            let h: i64 = a.parse().map_err(|_| ApiError::bad_input("after", "not a cursor of this connection"))?;
            q = q.filter(block::Column::Height.lt(h));
        }
        let mut rows =
            q.order_by_desc(block::Column::Height).limit(n + 1).all(&api.db).await.map_err(ApiError::from)?;
        let has_next = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), has_next);
        conn.edges.extend(rows.into_iter().map(|r| Edge::new(r.height.to_string(), BlockNode::from(r))));
        Ok(conn)
    }

    async fn block(&self, ctx: &Context<'_>, height: i64) -> async_graphql::Result<BlockNode> {
        let api = api(ctx)?;
        require_user(ctx)?;
        let row = block::Entity::find_by_id(height).one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(BlockNode::from).ok_or_else(|| ApiError::not_found(format!("block {height}")))?)
    }

    async fn transaction(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<TransactionNode> {
        let api = api(ctx)?;
        require_user(ctx)?;
        if scf_ledger::crypto::Hash32::from_hex(id.trim()).is_err() {
            return Err(ApiError::bad_input("id", "a transaction id is 64 hex digits").into());
        }
        let row = transaction::Entity::find_by_id(id.trim().to_lowercase())
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found(format!("transaction {id}")))?;
        let mut seen = super::explorer::as_seen_by(ctx, vec![row]).await?;
        Ok(seen.pop().ok_or_else(|| ApiError::not_found(format!("transaction {id}")))?)
    }

    /// Height the read model has indexed up to.
    async fn indexed_height(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        let api = api(ctx)?;
        Ok(api.indexer.cursor().await.map_err(|e| ApiError::internal("indexer", e))?.map(|h| h as i64))
    }
}

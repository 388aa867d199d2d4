//! Who may see what, at the API (the chain enforces who may *do* what).
//!
//! - The regulator sees everything, including confidential invoice lines.
//! - A voucher is visible to an organisation that holds or held it, issued its tree, was offered it or
//!   financed it — and to their lineage (ancestors and descendants). The indexer materialises this as
//!   `voucher_visibility`.
//! - An invoice (header and lines) is visible to its seller, its buyer, a funder it backs, the tax
//!   authority and the regulator.

use std::sync::Arc;

use async_graphql::Context;
use sea_orm::sea_query::Query as SqlQuery;
use sea_orm::{ColumnTrait, Condition, EntityTrait};

use crate::auth::{AuthUser, UserRole};
use crate::db::entities::{invoice, invoice_party, organisation, voucher, voucher_visibility};
use crate::error::{ApiError, ApiResult};
use crate::service::Api;

/// Organisation → (indexer revision read at, its roles).
pub type RolesCache = std::sync::Mutex<std::collections::HashMap<String, (u64, Arc<Vec<String>>)>>;

/// The organisation's on-chain roles, as the read model has them. Nearly every signed-in request asks,
/// so the answer is kept until the indexer next changes the read model (its revision moves); only
/// organisations of signed-in users are asked about, so the map stays as small as the consortium.
pub async fn org_roles(api: &Api, org_id: &str) -> ApiResult<Arc<Vec<String>>> {
    let revision = api.indexer.revision();
    if let Some((at, roles)) = api.roles.lock().map_err(|_| ApiError::internal("roles cache", "poisoned"))?.get(org_id)
    {
        if *at == revision {
            return Ok(roles.clone());
        }
    }
    let roles: Arc<Vec<String>> =
        Arc::new(match organisation::Entity::find_by_id(org_id.to_string()).one(&api.db).await? {
            Some(o) => serde_json::from_str(&o.roles).unwrap_or_default(),
            None => Vec::new(),
        });
    if let Ok(mut cache) = api.roles.lock() {
        cache.insert(org_id.to_string(), (revision, roles.clone()));
    }
    Ok(roles)
}

/// Signed in and allowed to sign transactions (not a viewer).
pub(crate) fn require_operator<'a>(ctx: &Context<'a>) -> ApiResult<&'a AuthUser> {
    let user = super::require_user(ctx)?;
    if user.role == UserRole::Viewer {
        return Err(ApiError::forbidden("viewers cannot change anything"));
    }
    Ok(user)
}

/// The user's organisation holds `role` on chain.
pub(crate) async fn require_org_role(api: &Api, user: &AuthUser, role: &str) -> ApiResult<()> {
    if has_org_role(api, user, role).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!("organisation {} does not have the {role} role", user.org_id)))
    }
}

pub async fn has_org_role(api: &Api, user: &AuthUser, role: &str) -> ApiResult<bool> {
    Ok(org_roles(api, &user.org_id).await?.iter().any(|r| r == role))
}

/// Vouchers the user may see (`None` = no restriction).
pub async fn voucher_scope(api: &Api, user: &AuthUser) -> ApiResult<Option<Condition>> {
    if has_org_role(api, user, "regulator").await? {
        return Ok(None);
    }
    let sub = SqlQuery::select()
        .column(voucher_visibility::Column::VoucherId)
        .from(voucher_visibility::Entity)
        .and_where(voucher_visibility::Column::OrgId.eq(user.org_id.clone()))
        .to_owned();
    Ok(Some(Condition::all().add(voucher::Column::Id.in_subquery(sub))))
}

/// Invoices the user may see (`None` = no restriction).
pub async fn invoice_scope(api: &Api, user: &AuthUser) -> ApiResult<Option<Condition>> {
    let roles = org_roles(api, &user.org_id).await?;
    if roles.iter().any(|r| r == "regulator" || r == "tax_authority") {
        return Ok(None);
    }
    let sub = SqlQuery::select()
        .column(invoice_party::Column::Number)
        .from(invoice_party::Entity)
        .and_where(invoice_party::Column::OrgId.eq(user.org_id.clone()))
        .to_owned();
    Ok(Some(Condition::all().add(invoice::Column::Number.in_subquery(sub))))
}

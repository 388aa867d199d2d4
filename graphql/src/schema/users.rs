//! An organisation's users: changing one's password (a one-time password must be changed first),
//! disabling a user (sessions end, the on-chain account is removed), and the list an admin manages.

use std::sync::atomic::{AtomicBool, Ordering};

use async_graphql::{Context, Object};
use scf_domain::org::OrgCall;
use scf_ledger::crypto::Address;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::types::UserNode;
use super::{api, require_user, signed_in, Caller};
use crate::auth::{self, UserRole};
use crate::db::entities::user;
use crate::error::ApiError;

/// Marks a request that already signed in once: a document with many aliased `login` fields gets one
/// password check, not hundreds.
#[derive(Default)]
pub struct LoginBudget(AtomicBool);

/// The request's one sign-in (requests without a budget — not from HTTP — have none to spend).
pub(crate) fn one_login_per_request(ctx: &Context<'_>) -> Result<(), ApiError> {
    match ctx.data_opt::<LoginBudget>() {
        Some(b) if !b.0.swap(true, Ordering::SeqCst) => Ok(()),
        _ => Err(ApiError::bad_input("login", "one sign-in per request")),
    }
}

#[derive(Default)]
pub struct UsersQuery;

#[Object]
impl UsersQuery {
    /// The users of the caller's organisation (admins only), by username.
    async fn org_users(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<UserNode>> {
        let api = api(ctx)?;
        let me = require_user(ctx)?;
        if me.role != UserRole::Admin {
            return Err(ApiError::forbidden("only organisation admins list users").into());
        }
        let rows = user::Entity::find()
            .filter(user::Column::OrgId.eq(me.org_id.clone()))
            .order_by_asc(user::Column::Username)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(UserNode::from_row).collect::<Result<Vec<_>, _>>()?)
    }
}

#[derive(Default)]
pub struct UsersMutation;

#[Object]
impl UsersMutation {
    /// Change the caller's password (the current one is required). Ends the caller's other sessions;
    /// a one-time password must be changed this way before anything else.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        old_password: String,
        new_password: String,
    ) -> async_graphql::Result<UserNode> {
        let api = api(ctx)?;
        let me = signed_in(ctx)?;
        let token = ctx.data_opt::<Caller>().and_then(|c| c.token.clone()).ok_or(ApiError::Unauthenticated)?;
        let addr = ctx.data_opt::<crate::ratelimit::ClientAddr>().and_then(|c| c.0);
        auth::change_password(api, addr, me, &token, &old_password, &new_password).await?;
        Ok(UserNode::from_row(auth::user_row(&api.db, &me.id).await?)?)
    }

    /// An admin disables a user of its organisation: it can no longer sign in, its sessions end at once,
    /// and its account is removed on chain (`org.RemoveAccount`, signed by the admin), so nothing it
    /// signed before can be followed by more. An admin cannot disable itself.
    async fn disable_user(&self, ctx: &Context<'_>, username: String) -> async_graphql::Result<UserNode> {
        let api = api(ctx)?;
        let me = require_user(ctx)?;
        if me.role != UserRole::Admin {
            return Err(ApiError::forbidden("only organisation admins disable users").into());
        }
        let row = user::Entity::find()
            .filter(user::Column::Username.eq(username.trim()))
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .filter(|u| u.org_id == me.org_id)
            .ok_or_else(|| ApiError::not_found(format!("user {username:?} of organisation {}", me.org_id)))?;
        if row.id == me.id {
            return Err(ApiError::bad_input("username", "an admin cannot disable itself").into());
        }
        if row.disabled_ms.is_some() {
            return Ok(UserNode::from_row(row)?);
        }
        auth::disable_user(&api.db, &api.sessions, &row.id).await?;
        let address = Address::from_hex(&row.address).map_err(|e| ApiError::internal("user address", e))?;
        let shared = user::Entity::find()
            .filter(user::Column::Address.eq(row.address.clone()))
            .filter(user::Column::DisabledMs.is_null())
            .one(&api.db)
            .await
            .map_err(ApiError::from)?;
        // An account another active user still signs with (an organisation key shared by admins) stays.
        if shared.is_none() {
            api.submit(me, &OrgCall::RemoveAccount { address }).await?;
        }
        Ok(UserNode::from_row(auth::user_row(&api.db, &row.id).await?)?)
    }
}

//! GraphQL for integrators: self-signing clients (`nextNonce`, `dryRun`, an admin's
//! `registerAccountKey` for a key the client holds) and webhooks (endpoints, deliveries and their
//! attempts, redelivery, the signing key). The REST side is `crate::rest`; delivery is
//! `crate::webhooks`.

use std::sync::Arc;

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, SimpleObject};
use scf_domain::org::OrgCall;
use scf_ledger::crypto::PublicKey;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect};

use super::input::page_size;
use super::types::{Attribute, EventNode, TxResult};
use super::{api, require_user};
use crate::auth::{now_ms, AuthUser, UserRole};
use crate::db::integration::{webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::error::{ApiError, ApiResult};
use crate::rest::accounts;
use crate::webhooks::{self, Delivery, WebhookKind};

/// What the schema knows of the integration services running beside it.
#[derive(Clone, Default)]
pub struct Integration {
    pub webhooks: Option<Arc<Delivery>>,
}

fn integration<'a>(ctx: &Context<'a>) -> ApiResult<&'a Integration> {
    ctx.data::<Integration>().map_err(|_| ApiError::internal("schema", "Integration missing from context"))
}

fn require_admin<'a>(ctx: &Context<'a>) -> ApiResult<&'a AuthUser> {
    let user = require_user(ctx)?;
    if user.role != UserRole::Admin {
        return Err(ApiError::forbidden("only organisation admins manage this"));
    }
    Ok(user)
}

/// An account's next nonce.
#[derive(SimpleObject)]
pub struct NonceInfo {
    /// The account address (hex).
    pub address: String,
    /// The nonce its next transaction must carry, as of `height`. Transactions still in flight are the
    /// client's to count.
    pub nonce: i64,
    pub height: i64,
}

/// The receipt a transaction would have if committed now.
#[derive(SimpleObject)]
pub struct DryRunResult {
    pub tx_id: String,
    /// The height it was run at (the next block).
    pub height: i64,
    /// `success` or `failed`.
    pub outcome: String,
    /// The domain rule that refused it, when `failed`.
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub events: Vec<EventNode>,
}

/// How webhook receivers verify signatures.
#[derive(SimpleObject)]
pub struct WebhookSigningKey {
    /// `SM2-SM3`.
    pub algorithm: String,
    /// Uncompressed SM2 public key, hex (`04…`).
    pub public_key: String,
    /// Its address, as in the `scf-webhook-key` header.
    pub address: String,
    /// SM2 distinguishing ID used when signing.
    pub distinguishing_id: String,
}

/// A registered webhook endpoint.
#[derive(SimpleObject)]
pub struct WebhookEndpoint {
    pub id: String,
    pub org: String,
    pub url: String,
    pub kinds: Vec<WebhookKind>,
    /// Events of blocks above this height are delivered.
    pub from_height: i64,
    pub created_by: String,
    pub created_ms: i64,
    pub active: bool,
}

impl From<webhook_endpoint::Model> for WebhookEndpoint {
    fn from(m: webhook_endpoint::Model) -> Self {
        let kinds: Vec<String> = serde_json::from_str(&m.kinds).unwrap_or_default();
        WebhookEndpoint {
            kinds: kinds.iter().filter_map(|k| WebhookKind::parse(k)).collect(),
            id: m.id,
            org: m.org,
            url: m.url,
            from_height: m.from_height,
            created_by: m.created_by,
            created_ms: m.created_ms,
            active: m.active,
        }
    }
}

/// One delivery of one event to one endpoint, with every attempt.
pub struct WebhookDelivery(webhook_delivery::Model);

#[Object]
impl WebhookDelivery {
    /// The id receivers see in `scf-webhook-id` (the same for every attempt).
    async fn id(&self) -> &str {
        &self.0.id
    }
    async fn endpoint_id(&self) -> &str {
        &self.0.endpoint_id
    }
    async fn kind(&self) -> &str {
        &self.0.kind
    }
    /// The chain event (see `events`).
    async fn event_id(&self) -> String {
        self.0.event_id.to_string()
    }
    async fn height(&self) -> i64 {
        self.0.height
    }
    /// `PENDING`, `DELIVERED` or `FAILED` (retries exhausted; `redeliverWebhook` queues it again).
    async fn status(&self) -> String {
        self.0.status.to_ascii_uppercase()
    }
    async fn attempts(&self) -> i32 {
        self.0.attempts
    }
    /// When the next attempt is due (ms since the epoch), while pending.
    async fn next_attempt_ms(&self) -> Option<i64> {
        (self.0.status == "pending").then_some(self.0.next_attempt_ms)
    }
    async fn last_status_code(&self) -> Option<i32> {
        self.0.last_status
    }
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn created_ms(&self) -> i64 {
        self.0.created_ms
    }
    async fn delivered_ms(&self) -> Option<i64> {
        self.0.delivered_ms
    }
    /// The exact JSON body sent.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Every attempt, oldest first.
    async fn log(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookAttempt>> {
        let api = api(ctx)?;
        let rows = webhook_attempt::Entity::find()
            .filter(webhook_attempt::Column::DeliveryId.eq(self.0.id.clone()))
            .order_by_asc(webhook_attempt::Column::Id)
            .limit(100)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(WebhookAttempt::from).collect())
    }
}

#[derive(SimpleObject)]
pub struct WebhookAttempt {
    pub attempt: i32,
    pub at_ms: i64,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<i32>,
    /// Why the attempt failed (connection refused, TLS, a non-2xx status…).
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl From<webhook_attempt::Model> for WebhookAttempt {
    fn from(m: webhook_attempt::Model) -> Self {
        WebhookAttempt {
            attempt: m.attempt,
            at_ms: m.at_ms,
            status_code: m.status_code,
            error: m.error,
            duration_ms: m.duration_ms,
        }
    }
}

/// Which deliveries to list.
#[derive(async_graphql::InputObject, Default)]
pub struct WebhookDeliveryFilter {
    pub endpoint_id: Option<String>,
    /// `PENDING`, `DELIVERED` or `FAILED`.
    pub status: Option<String>,
}

#[derive(Default)]
pub struct IntegrationQuery;

#[Object]
impl IntegrationQuery {
    /// The nonce an account's next transaction must carry (public: a client signs before it signs in).
    async fn next_nonce(&self, ctx: &Context<'_>, address: String) -> async_graphql::Result<NonceInfo> {
        let api = api(ctx)?;
        let addr = accounts::parse_address("address", &address)?;
        let (nonce, height) = accounts::account_nonce(api, &addr).await?;
        Ok(NonceInfo {
            address: addr.to_hex(),
            nonce: i64::try_from(nonce).unwrap_or(i64::MAX),
            height: i64::try_from(height).unwrap_or(i64::MAX),
        })
    }

    /// Run a client-signed transaction (hex of its canonical encoding) against the tip's state without
    /// committing it: the receipt it would have. Admission refusals (nonce, expiry, unknown account)
    /// are `BAD_USER_INPUT`.
    async fn dry_run(&self, ctx: &Context<'_>, signed_tx_hex: String) -> async_graphql::Result<DryRunResult> {
        let api = api(ctx)?;
        let tx = accounts::decode_signed("signedTxHex", &signed_tx_hex)?;
        let r = api.chain.dry_run(&tx).await.map_err(ApiError::from)?;
        let (outcome, error_code, error_message) = match &r.outcome {
            scf_ledger::receipt::TxOutcome::Success => ("success", None, None),
            scf_ledger::receipt::TxOutcome::Failed { code, message } => {
                ("failed", Some(code.clone()), Some(message.clone()))
            }
        };
        Ok(DryRunResult {
            tx_id: r.tx_id.to_hex(),
            height: i64::try_from(r.height).unwrap_or(i64::MAX),
            outcome: outcome.into(),
            error_code,
            error_message,
            events: r
                .events
                .iter()
                .enumerate()
                .map(|(i, e)| EventNode {
                    id: crate::indexer::event_id(r.height, r.index, i as u32).to_string(),
                    height: r.height as i64,
                    tx_id: r.tx_id.to_hex(),
                    module: e.module.clone(),
                    kind: e.kind.clone(),
                    attributes: e
                        .attributes
                        .iter()
                        .map(|(n, v)| Attribute { name: n.clone(), value: v.clone() })
                        .collect(),
                    data: e.data.clone(),
                })
                .collect(),
        })
    }

    /// The key webhook bodies are signed with (public).
    async fn webhook_signing_key(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<WebhookSigningKey>> {
        Ok(integration(ctx)?.webhooks.as_ref().map(|d| {
            let pk = d.public_key();
            WebhookSigningKey {
                algorithm: "SM2-SM3".into(),
                public_key: pk.to_hex(),
                address: pk.address().to_hex(),
                distinguishing_id: scf_ledger::crypto::DEFAULT_DIST_ID.into(),
            }
        }))
    }

    /// The organisation's webhook endpoints (admins).
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<WebhookEndpoint>> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let rows = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Org.eq(me.org_id.clone()))
            .order_by_asc(webhook_endpoint::Column::CreatedMs)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(WebhookEndpoint::from).collect())
    }

    /// The organisation's webhook deliveries, newest first (admins).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        filter: Option<WebhookDeliveryFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, WebhookDelivery>> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let n = page_size(first)?;
        let f = filter.unwrap_or_default();
        let mut select = webhook_delivery::Entity::find().filter(webhook_delivery::Column::Org.eq(me.org_id.clone()));
        if let Some(e) = f.endpoint_id {
            select = select.filter(webhook_delivery::Column::EndpointId.eq(e));
        }
        if let Some(s) = f.status {
            let s = s.to_ascii_lowercase();
            if !["pending", "delivered", "failed"].contains(&s.as_str()) {
                return Err(ApiError::bad_input("filter.status", "PENDING, DELIVERED or FAILED").into());
            }
            select = select.filter(webhook_delivery::Column::Status.eq(s));
        }
        if let Some(a) = &after {
            let (created, id) = a
                .split_once('|')
                .and_then(|(c, i)| c.parse::<i64>().ok().map(|c| (c, i.to_string())))
                .ok_or_else(|| ApiError::bad_input("after", "not a cursor of this connection"))?;
            select = select.filter(
                sea_orm::Condition::any().add(webhook_delivery::Column::CreatedMs.lt(created)).add(
                    sea_orm::Condition::all()
                        .add(webhook_delivery::Column::CreatedMs.eq(created))
                        .add(webhook_delivery::Column::Id.lt(id)),
                ),
            );
        }
        let mut rows = select
            .order_by_desc(webhook_delivery::Column::CreatedMs)
            .order_by_desc(webhook_delivery::Column::Id)
            .limit(n + 1)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        let more = rows.len() as u64 > n;
        rows.truncate(n as usize);
        let mut conn = Connection::new(after.is_some(), more);
        conn.edges
            .extend(rows.into_iter().map(|r| Edge::new(format!("{}|{}", r.created_ms, r.id), WebhookDelivery(r))));
        Ok(conn)
    }

    /// One delivery of the organisation, with its attempts (admins).
    async fn webhook_delivery(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<WebhookDelivery> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let row = webhook_delivery::Entity::find_by_id(id)
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .filter(|d| d.org == me.org_id)
            .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
        Ok(WebhookDelivery(row))
    }
}

#[derive(Default)]
pub struct IntegrationMutation;

/// Most endpoints one organisation may register.
const MAX_ENDPOINTS: u64 = 20;

#[Object]
impl IntegrationMutation {
    /// An organisation admin registers a public key the client holds as an account of the organisation
    /// (`org.AddAccount`, signed by the admin's custodial key). The server never sees the private key;
    /// the client signs its own transactions (`nextNonce`, `dryRun`, `submitSignedTransaction`).
    async fn register_account_key(
        &self,
        ctx: &Context<'_>,
        public_key: String,
        label: String,
        #[graphql(default = false)] admin: bool,
    ) -> async_graphql::Result<TxResult> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let pk = PublicKey::from_hex(public_key.trim().trim_start_matches("0x"))
            .map_err(|e| ApiError::bad_input("publicKey", format!("not an uncompressed SM2 public key: {e}")))?;
        if label.trim().is_empty() || label.chars().count() > 64 {
            return Err(ApiError::bad_input("label", "1..=64 characters").into());
        }
        let call = OrgCall::AddAccount { public_key: pk, label: label.trim().to_string(), admin };
        Ok(TxResult { receipt: api.submit(me, &call).await? })
    }

    /// An organisation admin registers an HTTPS endpoint for kinds of events concerning the
    /// organisation. Events of blocks indexed after registration are delivered.
    async fn register_webhook(
        &self,
        ctx: &Context<'_>,
        url: String,
        kinds: Vec<WebhookKind>,
    ) -> async_graphql::Result<WebhookEndpoint> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let d = integration(ctx)?.webhooks.as_ref().ok_or_else(|| ApiError::Conflict {
            rule: None,
            message: "webhooks are not enabled on this server".into(),
        })?;
        let url = url.trim().to_string();
        webhooks::check_endpoint(&url, d.policy()).map_err(|e| ApiError::bad_input("url", e.to_string()))?;
        if kinds.is_empty() {
            return Err(ApiError::bad_input("kinds", "at least one kind").into());
        }
        let count = webhook_endpoint::Entity::find()
            .filter(webhook_endpoint::Column::Org.eq(me.org_id.clone()))
            .filter(webhook_endpoint::Column::Active.eq(true))
            .count(&api.db)
            .await
            .map_err(ApiError::from)?;
        if count >= MAX_ENDPOINTS {
            return Err(ApiError::Conflict {
                rule: None,
                message: format!("kinds: at most {MAX_ENDPOINTS} active endpoints per organisation"),
            }
            .into());
        }
        let mut names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        names.sort();
        names.dedup();
        let from = api.indexer.cursor().await.map_err(|e| ApiError::internal("indexer", e))?.unwrap_or(0);
        let id = format!(
            "wh_{}",
            hex::encode(scf_ledger::crypto::random_bytes::<8>().map_err(|e| ApiError::internal("random", e))?)
        );
        let row = webhook_endpoint::Model {
            id,
            org: me.org_id.clone(),
            url,
            kinds: serde_json::to_string(&names).unwrap_or_else(|_| "[]".into()),
            from_height: i64::try_from(from).unwrap_or(i64::MAX),
            created_by: me.username.clone(),
            created_ms: now_ms(),
            active: true,
        };
        webhook_endpoint::Entity::insert(webhook_endpoint::ActiveModel::from(row.clone()))
            .exec(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(WebhookEndpoint::from(row))
    }

    /// Stop delivering to an endpoint (its pending deliveries are failed).
    async fn delete_webhook(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<bool> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let r = webhook_endpoint::Entity::update_many()
            .col_expr(webhook_endpoint::Column::Active, Expr::value(false))
            .filter(webhook_endpoint::Column::Id.eq(id.clone()))
            .filter(webhook_endpoint::Column::Org.eq(me.org_id.clone()))
            .exec(&api.db)
            .await
            .map_err(ApiError::from)?;
        if r.rows_affected == 0 {
            return Err(ApiError::not_found("webhook endpoint").into());
        }
        webhooks::wake();
        Ok(true)
    }

    /// Queue a delivery again, due now (after it failed, or to have it sent once more).
    async fn redeliver_webhook(
        &self,
        ctx: &Context<'_>,
        delivery_id: String,
    ) -> async_graphql::Result<WebhookDelivery> {
        let api = api(ctx)?;
        let me = require_admin(ctx)?;
        let row = webhook_delivery::Entity::find_by_id(delivery_id.clone())
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .filter(|d| d.org == me.org_id)
            .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
        webhooks::redeliver(&api.db, &row.id).await.map_err(ApiError::from)?;
        let row = webhook_delivery::Entity::find_by_id(delivery_id)
            .one(&api.db)
            .await
            .map_err(ApiError::from)?
            .ok_or_else(|| ApiError::not_found("webhook delivery"))?;
        Ok(WebhookDelivery(row))
    }
}

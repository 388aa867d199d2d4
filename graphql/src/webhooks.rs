//! Webhooks: an organisation's admin registers HTTPS endpoints for kinds of events that concern the
//! organisation; each such event reaches each endpoint at least once, SM2-signed by the member running
//! this API.
//!
//! - Queued in the indexer's block transaction ([`enqueue`]): a block's deliveries exist exactly when
//!   the block is indexed, so none is lost and none is queued twice (the delivery id is
//!   `{endpoint}.{event id}`, and re-indexing the same block inserts nothing new).
//! - Sent from that durable outbox by [`Delivery`], which survives restarts: a delivery is `pending`
//!   until a receiver answers 2xx, retried with exponential backoff, and `failed` after the last
//!   attempt (an admin may redeliver it). Every attempt is logged.
//! - Signed: `SCF-Webhook-Signature: sm2=<hex r‖s>` over `"SCF-WEBHOOK-v1\n" ‖ id ‖ "\n" ‖ timestamp ‖
//!   "\n" ‖ body`, SM2 with SM3 and the default distinguishing ID `1234567812345678`, by the key
//!   published at `GET /webhooks/signing-key` (see docs/api.md).
//!
//! Receivers are untrusted URLs: unless the policy allows private networks, a receiver's host must
//! resolve to public addresses only (checked at registration for IP literals and at every connection
//! for names), so an endpoint cannot be aimed at the API's own network.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use scf_ledger::crypto::{decrypt_at_rest, encrypt_at_rest, KeyPair};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;
use tokio::sync::Notify;

use crate::auth::now_ms;
use crate::db::integration::{member_key, webhook_attempt, webhook_delivery, webhook_endpoint};
use crate::indexer::EventNotice;

/// The prefix of the signed bytes: a signature for anything else never verifies as a webhook's.
pub const SIGNING_PREFIX: &str = "SCF-WEBHOOK-v1";
/// Header carrying the delivery id (the same for every attempt of one event to one endpoint).
pub const HEADER_ID: &str = "scf-webhook-id";
/// Header carrying the attempt's time, Unix milliseconds (signed: a receiver may refuse stale ones).
pub const HEADER_TIMESTAMP: &str = "scf-webhook-timestamp";
/// Header carrying `sm2=<hex of r ‖ s>`.
pub const HEADER_SIGNATURE: &str = "scf-webhook-signature";
/// Header naming the signing key by its address (hex), so a receiver can tell a rotated key.
pub const HEADER_KEY: &str = "scf-webhook-key";
const MEMBER_KEY_PURPOSE: &str = "webhooks";
/// Most deliveries sent at once.
const CONCURRENCY: usize = 16;

/// What an endpoint subscribes to. Each chain event is of at most one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, async_graphql::Enum)]
pub enum WebhookKind {
    /// Any event of the organisation's receivable vouchers (issued, signed for, split, financed, paid…).
    Voucher,
    /// A funder approved or rejected a financing or pledge application.
    FinancingDecision,
    /// A buyer booked one of the organisation's invoices.
    InvoiceBooking,
    /// A warehouse receipt was pledged or released.
    ReceiptPledge,
    /// An IoT alert was raised or cleared on a device of the organisation.
    IotAlert,
    /// A workflow step now waits for the organisation (a financing application to review, …).
    WorkflowTask,
}

impl WebhookKind {
    pub const ALL: [WebhookKind; 6] = [
        WebhookKind::Voucher,
        WebhookKind::FinancingDecision,
        WebhookKind::InvoiceBooking,
        WebhookKind::ReceiptPledge,
        WebhookKind::IotAlert,
        WebhookKind::WorkflowTask,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookKind::Voucher => "VOUCHER",
            WebhookKind::FinancingDecision => "FINANCING_DECISION",
            WebhookKind::InvoiceBooking => "INVOICE_BOOKING",
            WebhookKind::ReceiptPledge => "RECEIPT_PLEDGE",
            WebhookKind::IotAlert => "IOT_ALERT",
            WebhookKind::WorkflowTask => "WORKFLOW_TASK",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookKind> {
        WebhookKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The kind of a chain event and the organisations it is for (`None`: no webhook kind).
pub fn classify(module: &str, kind: &str, attributes: &[(String, String)]) -> Option<(WebhookKind, Vec<String>)> {
    let attr = |name: &str| -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for (k, v) in attributes {
            if k == name && !out.contains(v) {
                out.push(v.clone());
            }
        }
        out
    };
    let orgs = attr("org");
    let found = match (module, kind) {
        ("workflow", "FinancingApproved" | "FinancingRejected" | "PledgeApproved" | "PledgeRejected") => {
            (WebhookKind::FinancingDecision, orgs)
        }
        ("workflow", _) => {
            let waiting = attr("waiting_org");
            if waiting.is_empty() {
                return None;
            }
            (WebhookKind::WorkflowTask, waiting)
        }
        ("voucher", _) => (WebhookKind::Voucher, orgs),
        ("invoice", "InvoiceBooked") => (WebhookKind::InvoiceBooking, orgs),
        ("warehouse", "ReceiptPledged" | "PledgeReleased") => (WebhookKind::ReceiptPledge, orgs),
        ("device", "AlertRaised" | "AlertCleared") => (WebhookKind::IotAlert, orgs),
        _ => return None,
    };
    if found.1.is_empty() {
        None
    } else {
        Some(found)
    }
}

/// Wakes the delivery loop when a block queued deliveries (one per process; waking an idle loop is
/// harmless).
fn bell() -> &'static Notify {
    static BELL: OnceLock<Notify> = OnceLock::new();
    BELL.get_or_init(Notify::new)
}

/// Tell the delivery loop that new deliveries may be due.
pub fn wake() {
    bell().notify_waiters();
}

/// Queue the deliveries of a block's events, inside the indexer's transaction.
pub async fn enqueue<C: ConnectionTrait>(txn: &C, events: &[EventNotice]) -> Result<(), sea_orm::DbErr> {
    let classified: Vec<(&EventNotice, WebhookKind, Vec<String>)> = events
        .iter()
        .filter_map(|e| classify(&e.module, &e.kind, &e.attributes).map(|(k, orgs)| (e, k, orgs)))
        .collect();
    if classified.is_empty() {
        return Ok(());
    }
    let orgs: BTreeSet<String> = classified.iter().flat_map(|(_, _, o)| o.iter().cloned()).collect();
    let endpoints = webhook_endpoint::Entity::find()
        .filter(webhook_endpoint::Column::Active.eq(true))
        .filter(webhook_endpoint::Column::Org.is_in(orgs))
        .all(txn)
        .await?;
    if endpoints.is_empty() {
        return Ok(());
    }
    let mut by_org: BTreeMap<&str, Vec<(&webhook_endpoint::Model, Vec<String>)>> = BTreeMap::new();
    for ep in &endpoints {
        let kinds: Vec<String> = serde_json::from_str(&ep.kinds).unwrap_or_default();
        by_org.entry(ep.org.as_str()).or_default().push((ep, kinds));
    }
    let now = now_ms();
    let mut rows = Vec::new();
    for (e, kind, orgs) in &classified {
        for org in orgs {
            for (ep, kinds) in by_org.get(org.as_str()).map(Vec::as_slice).unwrap_or(&[]) {
                if !kinds.iter().any(|k| k == kind.as_str()) || (e.height as i64) <= ep.from_height {
                    continue;
                }
                let id = format!("{}.{}", ep.id, e.id);
                let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null);
                let body = json!({
                    "id": id,
                    "kind": kind.as_str(),
                    "org": org,
                    "endpointId": ep.id,
                    "event": {
                        "id": e.id,
                        "height": e.height,
                        "txId": e.tx_id,
                        "module": e.module,
                        "kind": e.kind,
                        "attributes": e.attributes,
                        "data": data,
                    },
                });
                rows.push(webhook_delivery::ActiveModel {
                    id: Set(id),
                    endpoint_id: Set(ep.id.clone()),
                    org: Set(org.clone()),
                    event_id: Set(e.id),
                    height: Set(e.height as i64),
                    kind: Set(kind.as_str().to_string()),
                    body: Set(body.to_string()),
                    status: Set("pending".into()),
                    attempts: Set(0),
                    next_attempt_ms: Set(now),
                    last_status: Set(None),
                    last_error: Set(None),
                    created_ms: Set(now),
                    delivered_ms: Set(None),
                });
            }
        }
    }
    for chunk in rows.chunks(200) {
        webhook_delivery::Entity::insert_many(chunk.to_vec())
            .on_conflict(OnConflict::column(webhook_delivery::Column::Id).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Where deliveries may go and how hard to try.
#[derive(Clone, Debug)]
pub struct WebhookPolicy {
    /// Receivers on loopback, private, link-local or unique-local addresses are allowed (a demo, a
    /// test, a member's private network). Off by default: the API would otherwise post into its own
    /// network for whoever registers an endpoint.
    pub allow_private: bool,
    /// Plain `http://` receivers on loopback are allowed (development only; needs `allow_private`).
    pub allow_http_loopback: bool,
    /// Extra trust anchors (PEM) for receivers' certificates, besides the public web roots.
    pub extra_roots_pem: Vec<String>,
    /// Attempts before a delivery is marked `failed`.
    pub max_attempts: u32,
    /// Wait before the second attempt; doubled after each failure ...
    pub base_backoff: Duration,
    /// ... up to this.
    pub max_backoff: Duration,
    /// How long one attempt may take (connect, send, answer).
    pub request_timeout: Duration,
}

impl Default for WebhookPolicy {
    fn default() -> Self {
        WebhookPolicy {
            allow_private: false,
            allow_http_loopback: false,
            extra_roots_pem: Vec::new(),
            // 2 s, 4 s, … capped at an hour: about 13 hours from the first attempt to the last.
            max_attempts: 20,
            base_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(3600),
            request_timeout: Duration::from_secs(10),
        }
    }
}

/// Why an endpoint URL is refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("not an absolute URL: {0}")]
    Syntax(String),
    #[error("must be https:// (plain http only for loopback receivers where the server allows it)")]
    NotHttps,
    #[error("must not carry credentials")]
    Credentials,
    #[error("{0} is a private, loopback or link-local address, which this server does not post to")]
    PrivateAddress(IpAddr),
    #[error("at most 2048 characters")]
    TooLong,
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (v4.octets()[1] & 0xc0) == 64 // 100.64/10, carrier-grade NAT
                || v4.octets()[0] == 0
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private(IpAddr::V4(v4));
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00 // unique local
                || (v6.segments()[0] & 0xffc0) == 0xfe80 // link local
        }
    }
}

/// Check an endpoint URL against the policy (IP literals here; names again at each connection).
pub fn check_endpoint(url: &str, policy: &WebhookPolicy) -> Result<reqwest::Url, EndpointError> {
    if url.len() > 2048 {
        return Err(EndpointError::TooLong);
    }
    let parsed = reqwest::Url::parse(url).map_err(|e| EndpointError::Syntax(e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(EndpointError::Credentials);
    }
    let host = parsed.host().ok_or_else(|| EndpointError::Syntax("no host".into()))?;
    let ip = match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    };
    let loopback = match (ip, host) {
        (Some(ip), _) => ip.is_loopback(),
        (None, url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        _ => false,
    };
    match parsed.scheme() {
        "https" => {}
        "http" if loopback && policy.allow_http_loopback && policy.allow_private => {}
        _ => return Err(EndpointError::NotHttps),
    }
    if !policy.allow_private {
        if let Some(ip) = ip {
            if is_private(ip) {
                return Err(EndpointError::PrivateAddress(ip));
            }
        }
        if loopback {
            return Err(EndpointError::PrivateAddress(IpAddr::from([127, 0, 0, 1])));
        }
    }
    Ok(parsed)
}

/// Resolves receivers' host names, keeping only addresses the policy allows.
struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> { Box::new(e) })?
                .filter(|a| !is_private(a.ip()))
                .collect();
            if addrs.is_empty() {
                let msg = format!("{host} resolves to no public address");
                return Err(msg.into());
            }
            let it: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

/// Why the delivery loop could not start.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("read model: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("member signing key: {0}")]
    Key(String),
    #[error("HTTP client: {0}")]
    Client(String),
}

/// The member's webhook signing key: created on first use, kept sealed under the node key.
pub async fn signing_key(db: &DatabaseConnection, node_key: &[u8; 16]) -> Result<KeyPair, WebhookError> {
    let purpose = MEMBER_KEY_PURPOSE;
    if let Some(row) = member_key::Entity::find_by_id(purpose.to_string()).one(db).await? {
        let sealed = hex::decode(&row.sealed_secret).map_err(|e| WebhookError::Key(e.to_string()))?;
        let secret =
            decrypt_at_rest(node_key, purpose.as_bytes(), &sealed).map_err(|e| WebhookError::Key(e.to_string()))?;
        return KeyPair::from_secret_bytes(&secret).map_err(|e| WebhookError::Key(e.to_string()));
    }
    let key = KeyPair::generate().map_err(|e| WebhookError::Key(e.to_string()))?;
    let sealed = encrypt_at_rest(node_key, purpose.as_bytes(), &key.secret_bytes())
        .map_err(|e| WebhookError::Key(e.to_string()))?;
    member_key::Entity::insert(member_key::ActiveModel {
        purpose: Set(purpose.to_string()),
        public_key: Set(key.public().to_hex()),
        sealed_secret: Set(hex::encode(sealed)),
        created_ms: Set(now_ms()),
    })
    .on_conflict(OnConflict::column(member_key::Column::Purpose).do_nothing().to_owned())
    .exec_without_returning(db)
    .await?;
    // Two processes starting together: whichever row won is the key.
    Box::pin(signing_key(db, node_key)).await
}

/// The bytes a webhook signature covers.
pub fn signed_bytes(id: &str, timestamp_ms: i64, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + id.len() + 40);
    out.extend_from_slice(SIGNING_PREFIX.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(id.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(timestamp_ms.to_string().as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// The delivery loop's state: the outbox, the signing key and the HTTP client.
pub struct Delivery {
    db: DatabaseConnection,
    key: KeyPair,
    client: reqwest::Client,
    policy: WebhookPolicy,
}

impl Delivery {
    pub async fn new(
        db: DatabaseConnection,
        node_key: &[u8; 16],
        policy: WebhookPolicy,
    ) -> Result<Arc<Delivery>, WebhookError> {
        let key = signing_key(&db, node_key).await?;
        let mut builder = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .connect_timeout(policy.request_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("scf-webhooks/", env!("CARGO_PKG_VERSION")));
        if !policy.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        for pem in &policy.extra_roots_pem {
            let cert =
                reqwest::Certificate::from_pem(pem.as_bytes()).map_err(|e| WebhookError::Client(e.to_string()))?;
            builder = builder.add_root_certificate(cert);
        }
        let client = builder.build().map_err(|e| WebhookError::Client(e.to_string()))?;
        Ok(Arc::new(Delivery { db, key, client, policy }))
    }

    pub fn public_key(&self) -> &scf_ledger::crypto::PublicKey {
        self.key.public()
    }

    pub fn policy(&self) -> &WebhookPolicy {
        &self.policy
    }

    /// Send due deliveries until the process ends.
    pub async fn run(self: Arc<Self>) {
        loop {
            // Listen for the bell before reading the outbox: a block indexed meanwhile rings it.
            let bell = bell().notified();
            tokio::pin!(bell);
            bell.as_mut().enable();
            let sent = match self.send_due().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "webhooks: outbox not readable; retrying");
                    0
                }
            };
            if sent == CONCURRENCY {
                continue;
            }
            let wait = match self.next_due().await {
                Ok(Some(at)) => Duration::from_millis(u64::try_from(at - now_ms()).unwrap_or(0)),
                Ok(None) => Duration::from_secs(30),
                Err(_) => Duration::from_secs(1),
            };
            let _ = tokio::time::timeout(wait.min(Duration::from_secs(30)), bell).await;
        }
    }

    async fn next_due(&self) -> Result<Option<i64>, sea_orm::DbErr> {
        Ok(webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .order_by_asc(webhook_delivery::Column::NextAttemptMs)
            .one(&self.db)
            .await?
            .map(|d| d.next_attempt_ms))
    }

    /// Send up to [`CONCURRENCY`] due deliveries at once; returns how many were due.
    pub async fn send_due(&self) -> Result<usize, sea_orm::DbErr> {
        let due = webhook_delivery::Entity::find()
            .filter(webhook_delivery::Column::Status.eq("pending"))
            .filter(webhook_delivery::Column::NextAttemptMs.lte(now_ms()))
            .order_by_asc(webhook_delivery::Column::NextAttemptMs)
            .limit(CONCURRENCY as u64)
            .all(&self.db)
            .await?;
        let n = due.len();
        let results = futures_util::future::join_all(due.into_iter().map(|d| self.attempt(d))).await;
        for r in results {
            r?;
        }
        Ok(n)
    }

    async fn attempt(&self, d: webhook_delivery::Model) -> Result<(), sea_orm::DbErr> {
        let endpoint = webhook_endpoint::Entity::find_by_id(d.endpoint_id.clone()).one(&self.db).await?;
        let attempt = d.attempts + 1;
        let started = std::time::Instant::now();
        let at = now_ms();
        let outcome: Result<u16, String> = match endpoint.filter(|e| e.active) {
            None => Err("endpoint removed".into()),
            Some(ep) => match check_endpoint(&ep.url, &self.policy) {
                Err(e) => Err(format!("endpoint refused: {e}")),
                Ok(url) => self.post(url, &d.id, d.body.as_bytes()).await,
            },
        };
        let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        let (code, error) = match &outcome {
            Ok(c) if (200..300).contains(c) => (Some(i32::from(*c)), None),
            Ok(c) => (Some(i32::from(*c)), Some(format!("HTTP {c}"))),
            Err(e) => (None, Some(e.clone())),
        };
        webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
            id: sea_orm::ActiveValue::NotSet,
            delivery_id: Set(d.id.clone()),
            attempt: Set(attempt),
            at_ms: Set(at),
            status_code: Set(code),
            error: Set(error.clone()),
            duration_ms: Set(duration_ms),
        })
        .exec(&self.db)
        .await?;
        let mut update = webhook_delivery::Entity::update_many()
            .col_expr(webhook_delivery::Column::Attempts, Expr::value(attempt))
            .col_expr(webhook_delivery::Column::LastStatus, Expr::value(code))
            .col_expr(webhook_delivery::Column::LastError, Expr::value(error.clone()));
        if error.is_none() {
            update = update
                .col_expr(webhook_delivery::Column::Status, Expr::value("delivered"))
                .col_expr(webhook_delivery::Column::DeliveredMs, Expr::value(Some(now_ms())));
        } else if attempt as u32 >= self.policy.max_attempts || error.as_deref() == Some("endpoint removed") {
            update = update.col_expr(webhook_delivery::Column::Status, Expr::value("failed"));
        } else {
            let backoff = backoff(&self.policy, attempt as u32);
            update = update.col_expr(
                webhook_delivery::Column::NextAttemptMs,
                Expr::value(now_ms() + i64::try_from(backoff.as_millis()).unwrap_or(i64::MAX / 2)),
            );
        }
        // Only the attempt that read the row moves it: a redelivery meanwhile set a new due time, and an
        // outcome of the attempt before it must not mark the redelivered row failed or delivered.
        update
            .filter(webhook_delivery::Column::Id.eq(d.id.clone()))
            .filter(webhook_delivery::Column::Attempts.eq(d.attempts))
            .filter(webhook_delivery::Column::NextAttemptMs.eq(d.next_attempt_ms))
            .exec(&self.db)
            .await?;
        if let Some(e) = error {
            tracing::info!(delivery = %d.id, attempt, error = %e, "webhook not delivered");
        }
        Ok(())
    }

    async fn post(&self, url: reqwest::Url, id: &str, body: &[u8]) -> Result<u16, String> {
        let ts = now_ms();
        let sig = self.key.sign(&signed_bytes(id, ts, body));
        let resp = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_ID, id)
            .header(HEADER_TIMESTAMP, ts.to_string())
            .header(HEADER_SIGNATURE, format!("sm2={}", sig.to_hex()))
            .header(HEADER_KEY, self.key.address().to_hex())
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| error_chain(&e))?;
        Ok(resp.status().as_u16())
    }
}

/// The wait before attempt `attempt + 1`.
pub fn backoff(policy: &WebhookPolicy, attempt: u32) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1).min(30)).unwrap_or(u32::MAX);
    policy.base_backoff.saturating_mul(factor).min(policy.max_backoff)
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Put a delivery back in the queue, due now (an admin's redelivery). The due time moves (at least
/// by a millisecond), which is how an attempt in flight learns that its outcome is stale.
pub async fn redeliver(db: &DatabaseConnection, id: &str) -> Result<bool, sea_orm::DbErr> {
    let due = match webhook_delivery::Entity::find_by_id(id.to_string()).one(db).await? {
        Some(d) => now_ms().max(d.next_attempt_ms.saturating_add(1)),
        None => return Ok(false),
    };
    let r = webhook_delivery::Entity::update_many()
        .col_expr(webhook_delivery::Column::Status, Expr::value("pending"))
        .col_expr(webhook_delivery::Column::NextAttemptMs, Expr::value(due))
        .filter(webhook_delivery::Column::Id.eq(id.to_string()))
        .exec(db)
        .await?;
    wake();
    Ok(r.rows_affected > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn events_classify_by_kind_and_party() {
        let a = attrs(&[("instance", "APP-1"), ("waiting_org", "BANK"), ("org", "S1"), ("org", "BANK")]);
        assert_eq!(
            classify("workflow", "FinancingApplied", &a),
            Some((WebhookKind::WorkflowTask, vec!["BANK".into()]))
        );
        assert_eq!(
            classify("workflow", "FinancingApproved", &a),
            Some((WebhookKind::FinancingDecision, vec!["S1".into(), "BANK".into()]))
        );
        assert_eq!(classify("workflow", "FinancingCompleted", &attrs(&[("org", "S1")])), None);
        assert_eq!(
            classify("voucher", "VoucherIssued", &attrs(&[("org", "C")])).map(|x| x.0),
            Some(WebhookKind::Voucher)
        );
        assert_eq!(classify("invoice", "InvoiceIssued", &attrs(&[("org", "C")])), None);
        assert_eq!(classify("org", "AccountAdded", &attrs(&[("org", "C")])), None);
    }

    #[test]
    fn endpoints_must_be_public_https_unless_allowed() {
        let strict = WebhookPolicy::default();
        assert!(check_endpoint("https://bank.example.com/hooks", &strict).is_ok());
        assert_eq!(check_endpoint("http://bank.example.com/hooks", &strict), Err(EndpointError::NotHttps));
        assert!(matches!(check_endpoint("https://10.1.2.3/h", &strict), Err(EndpointError::PrivateAddress(_))));
        assert!(matches!(check_endpoint("https://[::1]/h", &strict), Err(EndpointError::PrivateAddress(_))));
        assert!(matches!(check_endpoint("https://localhost/h", &strict), Err(EndpointError::PrivateAddress(_))));
        assert_eq!(check_endpoint("https://u:p@bank.example.com/h", &strict), Err(EndpointError::Credentials));
        let local = WebhookPolicy { allow_private: true, allow_http_loopback: true, ..WebhookPolicy::default() };
        assert!(check_endpoint("http://127.0.0.1:9000/h", &local).is_ok());
        assert_eq!(check_endpoint("http://10.0.0.1:9000/h", &local), Err(EndpointError::NotHttps));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = WebhookPolicy::default();
        assert_eq!(backoff(&p, 1), Duration::from_secs(2));
        assert_eq!(backoff(&p, 2), Duration::from_secs(4));
        assert_eq!(backoff(&p, 40), Duration::from_secs(3600));
    }

    #[test]
    fn signed_bytes_bind_id_time_and_body() {
        assert_eq!(signed_bytes("e.1", 42, b"{}"), b"SCF-WEBHOOK-v1\ne.1\n42\n{}".to_vec());
    }
}

//! `scf-graphql`: the one API business UIs and integrators use — GraphQL over HTTP (axum +
//! async-graphql), backed by a SQL read model (sea-orm) that an indexer fills from committed blocks.
//!
//! Architecture invariants:
//! - It reaches the chain only through the `scf_client::Chain` port (the node in this process, a node
//!   over HTTP, or an in-process test chain); it never opens the node's store.
//! - The read model is derived data: everything but users and sessions can be rebuilt from the chain
//!   ([`indexer::Indexer::rebuild`]).
//! - Access is enforced twice: the chain checks who may *do* what (signer's organisation and role),
//!   this crate checks who may *see* what ([`schema::access`]).

pub mod auth;
pub mod bootstrap;
pub mod db;
pub mod error;
pub mod http;
pub mod indexer;
pub mod indexer_epcis;
pub mod indexer_goods;
pub mod indexer_maturity;
pub mod indexer_workflow;
pub mod public_cache;
pub mod ratelimit;
pub mod readings;
pub mod resolver;
pub mod rest;
pub mod schema;
pub mod sealing;
pub mod serial_scans;
pub mod service;
pub mod terms;
pub mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

pub use readings::{ReadingPoint, Readings};
pub use schema::{build_schema, build_schema_with_readings, sdl, ApiSchema, Limits};
pub use service::Api;

/// Everything needed to run the API over an existing chain.
#[derive(Clone)]
pub struct Config {
    /// Address to listen on, e.g. `127.0.0.1:8080` (port 0 picks a free port).
    pub listen: SocketAddr,
    /// `sqlite://path?mode=rwc` (default in `scf demo`) or `postgres://user:pw@host/db`.
    pub database_url: String,
    /// SM4 key that seals custodial keys at rest. Never logged.
    pub node_key: [u8; 16],
    pub limits: Limits,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// How long a mutation waits for its transaction to commit.
    pub tx_timeout: Duration,
    /// The built web UI (`ui/dist`), served at `/` with `index.html` for client-side routes.
    pub ui_dir: Option<std::path::PathBuf>,
    /// Source of accepted sensor readings (the IoT ingestion store) for cold-chain series.
    pub readings: Option<Arc<dyn Readings>>,
    /// How this server is reached from outside (`https://trace.example.cn`), for the links the GS1
    /// resolver hands out; `None`: from each request's `Host`, over http.
    pub public_url: Option<String>,
    /// Where webhook deliveries may go and how they are retried.
    pub webhooks: webhooks::WebhookPolicy,
    /// A bearer token `/metrics` demands; without one it answers loopback clients only.
    pub metrics_token: Option<String>,
    /// Private keys of the organisations whose sealed invoice lines this API opens for their users
    /// (a member: its own organisation's key, `[api] org_key`). Empty: lines are issued sealed but
    /// read as `linesAccess: NO_KEY`. Never logged.
    pub org_keys: sealing::OrgKeys,
    /// The certificates this member's 国密 TLS endpoints present (node links, node API, MQTT front),
    /// shown to its admins with their expiry (`tlsCertificates`). None: the query answers an empty list.
    pub tls_certificates: Option<service::TlsCertificates>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("database_url", &"<redacted>")
            .field("node_key", &"<redacted>")
            .field("limits", &self.limits)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("tx_timeout", &self.tx_timeout)
            .field("ui_dir", &self.ui_dir)
            .field("readings", &self.readings.is_some())
            .field("public_url", &self.public_url)
            .field("webhooks", &self.webhooks)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "<redacted>"))
            .field("org_keys", &self.org_keys)
            .field("tls_certificates", &self.tls_certificates.is_some())
            .finish()
    }
}

impl Config {
    pub fn new(listen: SocketAddr, database_url: impl Into<String>, node_key: [u8; 16]) -> Config {
        Config {
            listen,
            database_url: database_url.into(),
            node_key,
            limits: Limits::default(),
            max_body_bytes: 256 * 1024,
            tx_timeout: Duration::from_secs(10),
            ui_dir: None,
            readings: None,
            public_url: None,
            webhooks: webhooks::WebhookPolicy::default(),
            metrics_token: None,
            org_keys: sealing::OrgKeys::default(),
            tls_certificates: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("read model database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("indexer: {0}")]
    Index(#[from] indexer::IndexError),
    #[error("listen: {0}")]
    Io(#[from] std::io::Error),
    #[error("webhooks: {0}")]
    Webhooks(#[from] webhooks::WebhookError),
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    pub api: Arc<Api>,
    pub schema: ApiSchema,
    task: tokio::task::JoinHandle<()>,
    indexer_task: tokio::task::JoinHandle<()>,
    webhook_task: tokio::task::JoinHandle<()>,
    chores_task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// Stop serving, the indexer and webhook delivery (committed rows and queued deliveries stay).
    pub fn abort(&self) {
        self.task.abort();
        self.indexer_task.abort();
        self.webhook_task.abort();
        self.chores_task.abort();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.abort();
    }
}

/// Connect the read model, catch the indexer up with the chain, and serve HTTP in the background.
pub async fn start(config: Config, chain: Arc<dyn scf_client::Chain>) -> Result<Server, ServeError> {
    let db = db::connect(&config.database_url).await?;
    let indexer = indexer::Indexer::new(db.clone(), chain.clone()).await?;
    indexer.catch_up().await?;
    let indexer_task = tokio::spawn(indexer.clone().run());
    let api = Arc::new(
        Api::new(db, chain, indexer, config.node_key, config.tx_timeout)
            .with_org_keys(config.org_keys.clone())
            .with_tls_certificates(config.tls_certificates.clone()),
    );
    let limiter =
        Arc::new(ratelimit::RateLimiter::new(config.limits.public_requests_per_minute, config.limits.public_burst));
    rest::epcis::recover_jobs(&api).await?;
    let delivery = webhooks::Delivery::new(api.db.clone(), &config.node_key, config.webhooks.clone()).await?;
    let webhook_task = tokio::spawn(delivery.clone().run());
    let integration = schema::integration::Integration { webhooks: Some(delivery.clone()) };
    let schema = schema::build_schema_integrated(
        api.clone(),
        &config.limits,
        config.readings.clone(),
        limiter.clone(),
        integration,
    );
    let public = Arc::new(public_cache::PublicAnswers::new(limiter.clone()));
    let resolver = resolver::ResolverState {
        api: api.clone(),
        ui_dir: config.ui_dir.clone(),
        public_url: config.public_url.clone(),
        limiter,
    };
    // REST (EPCIS, self-signing helpers) and the GS1 resolver, whose fallback also serves the web UI.
    let state = http::AppState {
        schema: schema.clone(),
        api: api.clone(),
        public,
        metrics_token: config.metrics_token.clone().map(Arc::from),
        graphiql: config.limits.introspection,
    };
    let app = http::router(state, config.max_body_bytes)
        .merge(rest::router(rest::RestState { api: api.clone(), webhooks: Some(delivery) }))
        .merge(resolver::router(resolver));
    let listener = TcpListener::bind(config.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, "GraphQL API listening");
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    let chores_task = tokio::spawn(chores(api.clone()));
    Ok(Server { addr, api, schema, task, indexer_task, webhook_task, chores_task })
}

/// How often expired sessions are deleted.
const PURGE_EVERY: Duration = Duration::from_secs(600);

/// Periodic housekeeping: expired sessions are deleted (they already fail authentication; this keeps
/// the table from growing with every sign-in).
async fn chores(api: Arc<Api>) {
    let mut tick = tokio::time::interval(PURGE_EVERY);
    loop {
        tick.tick().await;
        match auth::purge_expired_sessions(&api.db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired sessions purged"),
            Err(e) => tracing::warn!(error = ?e, "purging expired sessions failed"),
        }
    }
}

/// Run the API until the process ends (for `scf demo` / `scf node`).
pub async fn serve(config: Config, chain: Arc<dyn scf_client::Chain>) -> Result<(), ServeError> {
    let server = start(config, chain).await?;
    let _ = tokio::signal::ctrl_c().await;
    server.abort();
    Ok(())
}

//! `scf node --config FILE --graphql ADDR ...`: a consortium member's node with the GraphQL API (and
//! optionally the web UI) in the same process, reaching the node through its in-process
//! `scf_client::Chain` port. Without `--graphql` the node runs alone.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, Context};

/// The API options of `scf node`.
#[derive(Clone, Debug, clap::Args)]
pub struct ApiArgs {
    /// Serve the GraphQL API (and `/healthz`, `/metrics`) on this address, e.g. 127.0.0.1:8080.
    #[arg(long = "graphql")]
    pub listen: Option<SocketAddr>,
    /// Read model: `sqlite://PATH?mode=rwc` or `postgres://USER:PASSWORD@HOST/DB`.
    #[arg(long, env = "SCF_DATABASE_URL", hide_env_values = true, requires = "listen")]
    pub database_url: Option<String>,
    /// File with the node key (32 hex digits) that seals custodial user keys (SM4-GCM); created with
    /// mode 0600 if missing. Back it up: without it custodial keys cannot be opened.
    #[arg(long, requires = "listen")]
    pub node_key: Option<PathBuf>,
    /// Serve the built web UI from this directory at `/`.
    #[arg(long, requires = "listen")]
    pub ui: Option<PathBuf>,
}

/// Run the node from `config` with the API beside it until Ctrl-C / SIGTERM.
pub fn node_with_api(config: &Path, api: &ApiArgs) -> anyhow::Result<()> {
    let listen = api.listen.ok_or_else(|| anyhow!("--graphql: required to serve the API"))?;
    let database_url = api
        .database_url
        .clone()
        .ok_or_else(|| anyhow!("--database-url: required with --graphql (sqlite://PATH?mode=rwc or postgres://...)"))?;
    let key_path = api
        .node_key
        .clone()
        .ok_or_else(|| anyhow!("--node-key: required with --graphql (a file; created if missing)"))?;
    let node_key = crate::demo::load_or_create_node_key(&key_path)?;
    let cfg = scf_node::NodeConfig::load(config).map_err(|e| anyhow!("{e}"))?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async move {
        let node = scf_node::NodeHandle::start(cfg, scf_domain::modules()).await.map_err(|e| anyhow!("node: {e}"))?;
        let chain: Arc<dyn scf_client::Chain> = node.chain().clone();
        let watch = crate::key_watch::spawn(chain.clone());
        let mut api_cfg = scf_graphql::Config::new(listen, database_url, node_key);
        api_cfg.ui_dir = api.ui.clone();
        let server = scf_graphql::start(api_cfg, chain).await.map_err(|e| anyhow!("API: {e}"))?;
        eprintln!("scf node: GraphQL API on http://{}/graphql", server.addr);
        crate::demo::wait_for_shutdown().await;
        server.abort();
        watch.abort();
        node.shutdown().await;
        Ok(())
    })
}

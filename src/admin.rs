//! `scf admin bootstrap`: an organisation's first admin, without any demo seeds. The admin's custodial
//! key is the organisation's own on-chain key (the one registered at genesis or admitted by governance),
//! so it can sign at once and register the organisation's further users; it gets a one-time password
//! that must be changed at first sign-in.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use scf_client::{Chain, HttpChain};
use scf_ledger::crypto::KeyPair;

use crate::member::MemberConfig;

/// `scf admin bootstrap --config member.toml --username U --key org-key.pem`
#[derive(Clone, Debug, clap::Args)]
pub struct BootstrapArgs {
    /// The member config (its `[api]` read model and node key, its node's client API).
    #[arg(long)]
    pub config: PathBuf,
    /// The first admin's username.
    #[arg(long)]
    pub username: String,
    /// The organisation's on-chain key (PKCS#8 PEM).
    #[arg(long)]
    pub key: PathBuf,
}

fn read_key(path: &Path) -> anyhow::Result<KeyPair> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("--key {}", path.display()))?;
    KeyPair::from_pkcs8_pem(&pem).map_err(|e| anyhow!("--key {}: {e}", path.display()))
}

/// Check `key` is the organisation's key on chain, as the member's node sees it: the organisation's
/// registered key, or an active admin account of it. (Reads state over HTTP: call it off the async
/// workers.)
fn check_org_key(chain: &dyn Chain, org: &str, key: &KeyPair) -> anyhow::Result<()> {
    let state = chain.state(None)?;
    let record = scf_domain::org::load_org(state.as_ref(), org)
        .map_err(|e| anyhow!("reading organisation {org}: {e}"))?
        .ok_or_else(|| anyhow!("org: {org} is not an organisation on this chain (admitted yet?)"))?;
    if record.public_key == *key.public() {
        return Ok(());
    }
    match scf_domain::org::signer(state.as_ref(), &key.address()) {
        Ok((acct, o)) if o.id == org && acct.admin => Ok(()),
        _ => {
            bail!("--key: {} is neither organisation {org}'s key on chain nor one of its admin accounts", key.address())
        }
    }
}

pub fn bootstrap(args: &BootstrapArgs) -> anyhow::Result<()> {
    let cfg = MemberConfig::load(&args.config)?;
    let api = cfg.api.clone().ok_or_else(|| anyhow!("{}: has no [api] section", args.config.display()))?;
    let node_api =
        cfg.node.api.listen.ok_or_else(|| {
            anyhow!("{}: node.api.listen is not set (bootstrap asks the node)", args.config.display())
        })?;
    let key = read_key(&args.key)?;
    let node_key = crate::demo::load_or_create_node_key(&api.node_key)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(async {
        let chain = HttpChain::connect(&format!("http://{node_api}")).await.map_err(|e| {
            anyhow!(
                "node API at {node_api}: {e} (start the member first: scf member --config {})",
                args.config.display()
            )
        })?;
        let chain = std::sync::Arc::new(chain);
        let (c, org, k) = (chain.clone(), cfg.org.clone(), key.clone());
        tokio::task::spawn_blocking(move || check_org_key(c.as_ref(), &org, &k)).await.context("key check")??;
        let db = scf_graphql::db::connect(&api.database_url).await.context("read model database")?;
        let (row, password) = scf_graphql::auth::bootstrap_admin(&db, &node_key, &cfg.org, &args.username, &key)
            .await
            .map_err(|e| anyhow!("{}", e.message()))?;
        println!("admin      {} of organisation {}", row.username, cfg.org);
        println!("account    {}", row.address);
        println!("password   {password}");
        println!("(one-time: it must be changed at the first sign-in)");
        Ok(())
    })
}

//! `scf demo`: the whole platform in one process — one validator node (Malachite, RocksDB), the
//! GraphQL API and read model (SQLite) serving the web UI, an embedded MQTT broker with the ingestion
//! service, simulated devices and the workflow timer service — seeded once from `seeds/`.
//!
//! Data lives under one directory (`--data`, default `./scf-data`):
//! `scf-demo.json` (marker), `keys/` (validator consensus + libp2p keys, the node key sealing custodial
//! keys), `genesis.json`, `chain/` (RocksDB + consensus WAL), `read-model.sqlite`, `ingest/`,
//! `workflows.redb`.
//!
//! Seeding is idempotent: the story's steps become the chain's first blocks (one step per block, stamped
//! with the story's business dates and certified by the demo validator), recorded as done by
//! `chain/seeded` once the last one is committed; a restart finds the marker and seeds nothing; a start
//! interrupted while seeding resumes at the first step not yet in a block. Demo users are created only
//! when their username is not taken.

mod devices;
pub mod prehistory;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use scf_ledger::crypto::KeyPair;
use scf_ledger::genesis::Genesis;
use scf_node::config::{ApiSection, ConsensusSection, P2pSection, SyncSection};
use scf_node::{MempoolConfig, NodeConfig, NodeHandle};

use crate::seed::{self, SeedPlan};

/// Marker file naming a directory as an `scf demo` data directory (only those are ever deleted).
const MARKER: &str = "scf-demo.json";
/// Format of the data directory; bumped when the chain's state layout changes (2: voucher trees keep a
/// member count; 3: own state tree; 4: no holdings list in state), so an older directory is refused
/// with a clear message instead of failing on the first read.
const DATA_VERSION: u64 = 4;

/// What `scf demo` was asked to do.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub port: u16,
    pub data: PathBuf,
    pub reset: bool,
    /// Directory with `consortium.toml` and `story.toml`.
    pub seeds: PathBuf,
    /// The built web UI (`ui/dist`).
    pub ui: PathBuf,
    /// Listen on all interfaces instead of loopback.
    pub public: bool,
    /// The operator confirmed `public` knowing that every demo login is published.
    pub confirm_public: bool,
    /// Serve the node's client API on this address (loopback only).
    pub node_api: Option<SocketAddr>,
}

/// Run the demo until Ctrl-C / SIGTERM.
pub fn run(opts: DemoOptions) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    rt.block_on(run_async(opts))
}

async fn run_async(opts: DemoOptions) -> anyhow::Result<()> {
    if opts.public && !opts.confirm_public {
        anyhow::bail!(
            "--public: the demo's users all share a published password and its keys sign for every \
             organisation, so anyone who reaches port {} could sign in as any of them and commit \
             transactions. Run it on 127.0.0.1 (leave out --public), or add --yes to expose it anyway",
            opts.port
        );
    }
    let ip = if opts.public { [0, 0, 0, 0] } else { [127, 0, 0, 1] };
    let listen = SocketAddr::from((ip, opts.port));
    check_port(listen)?;
    prepare_data_dir(&opts.data, opts.reset)?;
    let data = opts.data.canonicalize().with_context(|| format!("--data {}", opts.data.display()))?;

    let keys = DemoKeys::load_or_create(&data.join("keys"))?;
    let plan = seed::load(&opts.seeds, keys.validator.public()).map_err(|e| anyhow!("seeds: {e}"))?;
    let genesis_path = data.join("genesis.json");
    let genesis = write_or_check_genesis(&genesis_path, &plan.genesis)?;

    let chain_home = data.join("chain");
    {
        let plan = plan.clone();
        let validator = keys.validator.clone();
        let home = chain_home.clone();
        tokio::task::spawn_blocking(move || prehistory::seed_chain(&home, &plan, &validator))
            .await
            .context("seeding task")??;
    }
    let db_url = format!("sqlite://{}?mode=rwc", data.join("read-model.sqlite").display());
    let created = seed_users(&db_url, &keys.node_key, &plan).await?;
    if created > 0 {
        println!("created {created} demo users");
    }

    let mut node_cfg = node_config(&data, &chain_home, &genesis_path);
    if let Some(addr) = opts.node_api {
        if !addr.ip().is_loopback() {
            bail!("--node-api {addr}: the node's client API takes unsigned reads and transactions; serve it on a loopback address");
        }
        node_cfg.api.listen = Some(addr);
    }
    let node = NodeHandle::start(node_cfg, scf_domain::modules()).await.map_err(|e| anyhow!("node: {e}"))?;
    let chain: Arc<dyn scf_client::Chain> = node.chain().clone();
    let watch = crate::key_watch::spawn(chain.clone());

    let iot = devices::start(&data, &plan, chain.clone()).await?;
    let mut api_cfg = scf_graphql::Config::new(listen, db_url, keys.node_key);
    api_cfg.readings = Some(iot.readings());
    // The demo plays every organisation, so its API holds every seeded organisation's key and each
    // role's portal opens the invoice lines sealed for that organisation.
    api_cfg.org_keys =
        scf_graphql::sealing::OrgKeys::new(plan.consortium.org.iter().map(|o| (o.id.clone(), seed::org_key(&o.id))));
    // The demo's webhook receivers (the SDK examples' bank) run on this machine, over plain http.
    api_cfg.webhooks.allow_private = true;
    api_cfg.webhooks.allow_http_loopback = true;
    if opts.ui.join("index.html").is_file() {
        api_cfg.ui_dir = Some(opts.ui.clone());
    } else {
        eprintln!(
            "warning: no built UI at {} (run `npm ci && npm run build` in ui/); serving the API only",
            opts.ui.display()
        );
    }
    let server = scf_graphql::start(api_cfg, chain.clone()).await.map_err(|e| anyhow!("API: {e}"))?;

    let timers = start_timers(&data, &plan, chain.clone())?;

    print_banner(server.addr, &plan, &genesis, opts.public);
    wait_for_shutdown().await;
    println!("stopping …");
    timers.abort();
    iot.shutdown().await;
    server.abort();
    watch.abort();
    node.shutdown().await;
    Ok(())
}

fn check_port(listen: SocketAddr) -> anyhow::Result<()> {
    std::net::TcpListener::bind(listen).map(drop).map_err(|e| {
        anyhow!(
            "--port {}: cannot listen on {listen}: {e} (is another demo running? pick another port with --port)",
            listen.port()
        )
    })
}

/// Create (or with `reset`, recreate) the data directory. Never deletes or writes into a non-empty
/// directory that is not an `scf demo` data directory.
fn prepare_data_dir(dir: &Path, reset: bool) -> anyhow::Result<()> {
    let bad = |e: std::io::Error| anyhow!("--data {}: {e}", dir.display());
    if dir.exists() {
        if !dir.is_dir() {
            bail!("--data {}: exists and is not a directory", dir.display());
        }
        let ours = dir.join(MARKER).is_file();
        let empty = std::fs::read_dir(dir).map_err(bad)?.next().is_none();
        if !ours && !empty {
            bail!(
                "--data {}: exists, is not empty and is not an scf demo data directory (no {MARKER}); \
                 choose another directory",
                dir.display()
            );
        }
        if reset && ours {
            println!("--reset: deleting {}", dir.display());
            std::fs::remove_dir_all(dir).map_err(bad)?;
        } else if ours {
            let text = std::fs::read_to_string(dir.join(MARKER)).map_err(bad)?;
            let version = serde_json::from_str::<serde_json::Value>(&text).ok().and_then(|v| v["version"].as_u64());
            if version != Some(DATA_VERSION) {
                bail!(
                    "--data {}: holds demo data of format {} but this scf writes format {DATA_VERSION} (the \
                     state layout changed); start with --reset to recreate it",
                    dir.display(),
                    version.map(|v| v.to_string()).unwrap_or_else(|| "unknown".into())
                );
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(bad)?;
    let marker = dir.join(MARKER);
    if !marker.is_file() {
        let text = serde_json::json!({ "kind": "scf demo data directory", "version": DATA_VERSION }).to_string();
        std::fs::write(&marker, text).map_err(bad)?;
    }
    // Writable? (a read-only mount fails here with a clear message rather than deep inside RocksDB).
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(bad)?;
    std::fs::remove_file(&probe).map_err(bad)?;
    Ok(())
}

/// Keys the demo node holds, created on first start.
struct DemoKeys {
    validator: KeyPair,
    node_key: [u8; 16],
}

impl DemoKeys {
    fn load_or_create(dir: &Path) -> anyhow::Result<DemoKeys> {
        let consensus = dir.join("consensus.pem");
        if !consensus.is_file() {
            scf_node::keys::generate(dir, "demo-validator", true).map_err(|e| anyhow!("keys: {e}"))?;
        }
        let validator = scf_node::keys::read_consensus_key(&consensus).map_err(|e| anyhow!("keys: {e}"))?;
        let node_key = load_or_create_node_key(&dir.join("node.key"))?;
        Ok(DemoKeys { validator, node_key })
    }
}

/// The SM4 node key that seals custodial keys: 32 hex digits in `path`, created (mode 0600) if missing.
pub fn load_or_create_node_key(path: &Path) -> anyhow::Result<[u8; 16]> {
    if !path.is_file() {
        let mut k = [0u8; 16];
        getrandom::fill(&mut k).map_err(|e| anyhow!("node key: no randomness: {e}"))?;
        crate::files::write_new(path, hex::encode(k).as_bytes(), true)?;
    }
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let raw = hex::decode(text.trim()).map_err(|_| anyhow!("{}: not hex", path.display()))?;
    raw.try_into().map_err(|_| anyhow!("{}: must be 16 bytes (32 hex digits)", path.display()))
}

/// Write the genesis on first start; later, refuse seeds that no longer match the chain.
fn write_or_check_genesis(path: &Path, planned: &Genesis) -> anyhow::Result<Genesis> {
    if path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
        let existing = Genesis::from_json(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
        if existing != *planned {
            bail!(
                "{}: the seeds changed since this data directory was created; start over with --reset",
                path.display()
            );
        }
        return Ok(existing);
    }
    let text = serde_json::to_string_pretty(planned).context("genesis")?;
    std::fs::write(path, text).with_context(|| path.display().to_string())?;
    Ok(planned.clone())
}

/// Create the demo users that do not exist yet; returns how many were created.
pub(crate) async fn seed_users(db_url: &str, node_key: &[u8; 16], plan: &SeedPlan) -> anyhow::Result<usize> {
    let db = scf_graphql::db::connect(db_url).await.map_err(|e| anyhow!("read model {db_url}: {e}"))?;
    let mut created = 0;
    for u in &plan.users {
        let role = scf_graphql::auth::UserRole::parse(&u.role)
            .ok_or_else(|| anyhow!("seeds: user {}: unknown role {:?}", u.username, u.role))?;
        let new = scf_graphql::auth::NewUser {
            org_id: u.org.clone(),
            username: u.username.clone(),
            password: plan.consortium.demo_password.clone(),
            role,
        };
        match scf_graphql::auth::insert_user(&db, node_key, &new, &seed::user_key(&u.org, &u.username)).await {
            Ok(_) => created += 1,
            Err(scf_graphql::error::ApiError::Conflict { .. }) => {}
            Err(e) => bail!("seeds: user {}: {e:?}", u.username),
        }
    }
    Ok(created)
}

pub(crate) fn node_config(data: &Path, home: &Path, genesis: &Path) -> NodeConfig {
    NodeConfig {
        moniker: "demo-validator".into(),
        home: home.to_path_buf(),
        genesis: genesis.to_path_buf(),
        consensus_key: Some(data.join("keys").join("consensus.pem")),
        p2p_key: data.join("keys").join("p2p.key"),
        // One validator: no peers; libp2p still listens (loopback, any free port).
        // No transaction gossip either: there is nobody to gossip with.
        p2p: P2pSection::new("/ip4/127.0.0.1/tcp/0", Vec::new()),
        api: ApiSection::default(),
        // An idle demo chain proposes an empty block every ~3 s rather than every second (the wait is
        // capped at half the propose timeout; with one validator that timeout never expires otherwise).
        consensus: ConsensusSection {
            timeout_propose_ms: 7000,
            empty_block_wait_ms: 3000,
            ..ConsensusSection::default()
        },
        sync: SyncSection::default(),
        mempool: MempoolConfig::default(),
    }
}

/// The workflow timer service: applies deadlines by committed block time, once.
fn start_timers(
    data: &Path,
    plan: &SeedPlan,
    chain: Arc<dyn scf_client::Chain>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let (_, key) = seed::service_key(&plan.consortium.timer_account)
        .ok_or_else(|| anyhow!("seeds: timer_account {:?} is not ORG/account", plan.consortium.timer_account))?;
    let store = scf_workflows::WorkflowStore::open(&data.join("workflows.redb"))
        .map_err(|e| anyhow!("workflows store: {e}"))?;
    let service = scf_workflows::TimerService::new(store, key);
    Ok(tokio::spawn(service.run(chain, Duration::from_secs(1))))
}

fn print_banner(addr: SocketAddr, plan: &SeedPlan, genesis: &Genesis, public: bool) {
    let base = format!("http://{addr}");
    println!();
    if public {
        println!("WARNING: listening on every interface (--public --yes). Anyone who reaches port {}", addr.port());
        println!("  can sign in as any demo user below with the published password, sign transactions for");
        println!("  its organisation, and read every organisation's data. Use it on a trusted network only.");
        println!();
    }
    println!("scf demo is running — chain {} with 1 validator", genesis.chain_id);
    println!("  web UI        {base}/");
    println!("  GraphQL       {base}/graphql");
    let lot = plan.devices.iter().find_map(|d| match &d.binding {
        scf_domain::device::Binding::Lot { gtin: Some(gtin), lot } => Some((gtin.clone(), lot.clone())),
        _ => None,
    });
    if let Some((gtin, lot)) = lot {
        println!("  consumer page {base}/01/{gtin}/10/{lot}");
    }
    println!("  health        {base}/healthz   metrics {base}/metrics");
    println!();
    println!("Demo logins (password: {}):", plan.consortium.demo_password);
    for org in &plan.consortium.org {
        let Some((user, role)) = org.users.iter().find(|(_, r)| r != "viewer").or(org.users.first()) else {
            continue;
        };
        let roles: Vec<String> = org
            .roles
            .iter()
            .map(|r| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
            .collect();
        println!("  {:<28} {:<12} {:<9} {} ({})", roles.join(", "), user, role, org.name, org.id);
    }
    println!();
    println!("Stop with Ctrl-C; start again with the same command (nothing is seeded twice); --reset starts over.");
}

/// Until Ctrl-C or SIGTERM.
pub async fn wait_for_shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

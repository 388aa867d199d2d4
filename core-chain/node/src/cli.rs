//! Command-line entry points for the `scf` binary: `node`, `keygen`, `genesis`, `cluster up|down`,
//! `verify-cert` and `bench chain`. Each takes a clap `Args` struct so the binary only dispatches.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use clap::Args;
use scf_ledger::block::Block;
use scf_ledger::genesis::{ChainParams, Genesis, Validator};
use scf_ledger::module::ModuleRegistry;
use serde::{Deserialize, Serialize};

use crate::config::{ApiSection, ConsensusSection, NodeConfig, P2pSection, SyncSection};
use crate::keys::{self, ValidatorBundle};
use crate::mempool::MempoolConfig;
use crate::node::NodeHandle;

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")
}

/// `scf node --config FILE`
#[derive(Args, Debug, Clone)]
pub struct NodeArgs {
    /// Node config file (TOML).
    #[arg(long)]
    pub config: PathBuf,
}

/// Run one node with `modules` until SIGINT/SIGTERM.
pub fn run_node(args: &NodeArgs, modules: ModuleRegistry) -> anyhow::Result<()> {
    runtime()?.block_on(run_node_async(args, modules))
}

pub async fn run_node_async(args: &NodeArgs, modules: ModuleRegistry) -> anyhow::Result<()> {
    let cfg = NodeConfig::load(&args.config)?;
    let node = NodeHandle::start(cfg, modules).await?;
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    node.shutdown().await;
    Ok(())
}

/// `scf keygen --out DIR --name NAME [--observer]`
#[derive(Args, Debug, Clone)]
pub struct KeygenArgs {
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub name: String,
    /// Only a libp2p identity (a non-voting observer such as the regulator's node).
    #[arg(long)]
    pub observer: bool,
}

pub fn keygen_cmd(args: &KeygenArgs) -> anyhow::Result<()> {
    match keys::generate(&args.out, &args.name, !args.observer)? {
        Some(b) => println!("{}", serde_json::to_string_pretty(&b)?),
        None => {
            // The validators list an observer's peer id in `persistent_peers`: print it.
            let p2p = keys::read_p2p_key(&args.out.join("p2p.key"))?;
            println!("peer id    {}", p2p.public().to_peer_id());
            println!("wrote      {} (an observer's libp2p identity)", args.out.join("p2p.key").display());
        }
    }
    Ok(())
}

/// `scf genesis --chain-id ID --validator FILE… [--org SPEC…] [--app-state FILE] --out FILE`
#[derive(Args, Debug, Clone)]
pub struct GenesisArgs {
    #[arg(long)]
    pub chain_id: String,
    /// Validator bundle (`validator.json` from `scf keygen`); repeat per validator.
    #[arg(long = "validator", required = true)]
    pub validators: Vec<PathBuf>,
    /// Organisation: `id=ORG,name=NAME,credit_code=CODE,roles=supplier+funder,public_key=HEX`, and
    /// optionally `ca=FILE` (its CA certificate, PEM, recorded on chain for `p2p.tls_trust_on_chain`); repeat.
    #[arg(long = "org")]
    pub orgs: Vec<String>,
    /// JSON object merged into `app_state` (module name → module genesis), e.g. approved funders.
    #[arg(long)]
    pub app_state: Option<PathBuf>,
    /// Genesis time (ms since the Unix epoch); default now.
    #[arg(long)]
    pub genesis_time_ms: Option<u64>,
    #[arg(long)]
    pub max_block_txs: Option<u32>,
    #[arg(long)]
    pub out: PathBuf,
}

/// An `--org` spec as the `org` module's genesis entry (checked by the module when the genesis is
/// applied; the `scf` binary also checks each spec against the module's own type first, to name it).
pub fn parse_org(spec: &str) -> anyhow::Result<serde_json::Value> {
    let mut fields = BTreeMap::new();
    for part in spec.split(',') {
        let (k, v) = part.split_once('=').ok_or_else(|| anyhow!("--org {spec:?}: {part:?} is not key=value"))?;
        fields.insert(k.trim().to_string(), v.trim().to_string());
    }
    let get = |k: &str| fields.get(k).cloned().ok_or_else(|| anyhow!("--org {spec:?}: field {k} is missing"));
    let roles: Vec<&str> = fields.get("roles").map(|r| r.split('+').collect()).unwrap_or_default();
    let mut v = serde_json::json!({
        "id": get("id")?,
        "name": get("name")?,
        "credit_code": get("credit_code")?,
        "roles": roles,
        "public_key": get("public_key")?,
    });
    if let Some(path) = fields.get("ca") {
        let pem = std::fs::read_to_string(path).with_context(|| format!("--org {spec:?}: ca={path}"))?;
        scf_ca::SmCertificate::from_pem(&pem).with_context(|| format!("--org {spec:?}: ca={path}"))?;
        v["ca_certs"] = serde_json::json!([pem]);
    }
    Ok(v)
}

/// Build a genesis file from validator bundles (proofs checked) and organisations, and apply it once
/// in memory with `modules` so a module's refusal shows now, not when the first node starts.
pub fn build_genesis(args: &GenesisArgs, modules: ModuleRegistry) -> anyhow::Result<Genesis> {
    let mut validators = Vec::new();
    for p in &args.validators {
        let b = ValidatorBundle::read(p)?;
        b.verify().with_context(|| format!("--validator {}", p.display()))?;
        validators.push(Validator { name: b.name, public_key: b.public_key, power: b.power, peer_id: Some(b.peer_id) });
    }
    let mut app_state: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    if let Some(p) = &args.app_state {
        let text = std::fs::read_to_string(p).with_context(|| format!("--app-state {}", p.display()))?;
        app_state =
            serde_json::from_str(&text).with_context(|| format!("--app-state {}: not a JSON object", p.display()))?;
    }
    if !args.orgs.is_empty() {
        let orgs: Vec<serde_json::Value> = args.orgs.iter().map(|s| parse_org(s)).collect::<anyhow::Result<_>>()?;
        let entry = app_state.entry("org".into()).or_insert_with(|| serde_json::json!({}));
        let obj = entry.as_object_mut().ok_or_else(|| anyhow!("app_state.org: must be an object"))?;
        let list = obj.entry("orgs").or_insert_with(|| serde_json::json!([]));
        let arr = list.as_array_mut().ok_or_else(|| anyhow!("app_state.org.orgs: must be an array"))?;
        arr.extend(orgs);
    }
    let mut params = ChainParams::default();
    if let Some(m) = args.max_block_txs {
        params.max_block_txs = m;
    }
    let g = Genesis {
        chain_id: args.chain_id.clone(),
        genesis_time_ms: args.genesis_time_ms.unwrap_or_else(scf_client::now_ms),
        params,
        validators,
        app_state,
    };
    g.validate()?;
    let ex = scf_ledger::executor::Executor::new(g.chain_id.clone(), modules);
    ex.init_genesis(&scf_ledger::authenticated::MemTreeStore::new(), &g)?;
    Ok(g)
}

pub fn genesis_cmd(args: &GenesisArgs, modules: ModuleRegistry) -> anyhow::Result<()> {
    let g = build_genesis(args, modules)?;
    std::fs::write(&args.out, g.to_json()).with_context(|| format!("--out {}", args.out.display()))?;
    println!(
        "genesis for {} with {} validators written to {} (hash {})",
        g.chain_id,
        g.validators.len(),
        args.out.display(),
        g.hash()
    );
    Ok(())
}

/// `scf cluster up --nodes N --dir DIR [--observers M] [--base-port P]`
#[derive(Args, Debug, Clone)]
pub struct ClusterUpArgs {
    /// Number of validators.
    #[arg(long, default_value_t = 4)]
    pub nodes: usize,
    /// Non-voting observers (e.g. a regulator's node).
    #[arg(long, default_value_t = 0)]
    pub observers: usize,
    #[arg(long)]
    pub dir: PathBuf,
    /// libp2p ports are BASE+i, client API ports BASE+1000+i, transaction gossip ports BASE+2000+i
    /// (loopback).
    #[arg(long, default_value_t = 27000)]
    pub base_port: u16,
    #[arg(long, default_value = "scf-local")]
    pub chain_id: String,
    /// Only (re)start these node indexes (default: all nodes not running).
    #[arg(long = "only")]
    pub only: Vec<usize>,
    /// Wait at most this long for every started node's API to answer.
    #[arg(long, default_value_t = 60)]
    pub wait_secs: u64,
}

/// What `cluster up` wrote, read by `cluster down`, tests and the benchmark.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterFile {
    pub chain_id: String,
    pub nodes: Vec<ClusterNode>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClusterNode {
    pub name: String,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub api: String,
    pub p2p: String,
    /// Transaction gossip listen address (`p2p.tx_listen`).
    #[serde(default)]
    pub tx_p2p: String,
    pub validator: bool,
}

/// One line per node, as `cluster up` prints it.
impl std::fmt::Display for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} api={} p2p={} tx={} validator={}", self.name, self.api, self.p2p, self.tx_p2p, self.validator)
    }
}

impl ClusterFile {
    pub fn read(dir: &Path) -> anyhow::Result<ClusterFile> {
        let p = dir.join("cluster.json");
        let text = std::fs::read_to_string(&p).with_context(|| format!("{}", p.display()))?;
        Ok(serde_json::from_str(&text)?)
    }
}

fn pid_file(node_dir: &Path) -> PathBuf {
    node_dir.join("node.pid")
}

fn read_pid(node_dir: &Path) -> Option<u32> {
    std::fs::read_to_string(pid_file(node_dir)).ok()?.trim().parse().ok()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).map(|s| !s.contains(") Z ")).unwrap_or(false)
}

/// Generate keys, genesis and configs (first time), then start every node that is not running, each
/// as `exe node --config …`; `modules` are the ones those nodes run (the genesis is checked with them).
pub fn cluster_up_with(args: &ClusterUpArgs, exe: &Path, modules: ModuleRegistry) -> anyhow::Result<ClusterFile> {
    if args.nodes == 0 {
        bail!("--nodes: at least one validator is required");
    }
    std::fs::create_dir_all(&args.dir)?;
    let dir = args.dir.canonicalize()?;
    let cluster = if dir.join("cluster.json").exists() {
        ClusterFile::read(&dir)?
    } else {
        generate_cluster(args, &dir, modules)?
    };
    let mut started = Vec::new();
    for (i, n) in cluster.nodes.iter().enumerate() {
        if !args.only.is_empty() && !args.only.contains(&i) {
            continue;
        }
        if read_pid(&n.dir).is_some_and(alive) {
            continue;
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(n.dir.join("node.log"))?;
        let child = Command::new(exe)
            .arg("node")
            .arg("--config")
            .arg(&n.config)
            .env("RUST_LOG", std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("spawning {} node --config {}", exe.display(), n.config.display()))?;
        std::fs::write(pid_file(&n.dir), child.id().to_string())?;
        started.push((n.clone(), child));
    }
    let rt = runtime()?;
    let deadline = Instant::now() + Duration::from_secs(args.wait_secs);
    rt.block_on(async {
        for (n, child) in &mut started {
            let c = scf_client::NodeClient::new(n.api.clone());
            loop {
                if c.status().await.is_ok() {
                    break;
                }
                let log = n.dir.join("node.log");
                if let Ok(Some(status)) = child.try_wait() {
                    bail!(
                        "{} exited ({status}) before answering on {}; the end of {}:\n{}",
                        n.name,
                        n.api,
                        log.display(),
                        log_tail(&log, 40)
                    );
                }
                if Instant::now() > deadline {
                    bail!(
                        "{} did not answer on {} within {}s; the end of {}:\n{}",
                        n.name,
                        n.api,
                        args.wait_secs,
                        log.display(),
                        log_tail(&log, 40)
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    })?;
    Ok(cluster)
}

/// The last `lines` lines of a node's log, for an error that must explain itself after the log's
/// directory is gone (a test's temp dir, a CI clone).
pub fn log_tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(unreadable: {e})"),
    }
}

fn generate_cluster(args: &ClusterUpArgs, dir: &Path, modules: ModuleRegistry) -> anyhow::Result<ClusterFile> {
    let total = args.nodes + args.observers;
    let mut bundles = Vec::new();
    let mut peer_ids = Vec::new();
    let mut names = Vec::new();
    for i in 0..total {
        let validator = i < args.nodes;
        let name = if validator { format!("validator-{i}") } else { format!("observer-{}", i - args.nodes) };
        let nd = dir.join(&name);
        let b = keys::generate(&nd, &name, validator)?;
        let p2p = keys::read_p2p_key(&nd.join("p2p.key"))?;
        peer_ids.push(p2p.public().to_peer_id().to_base58());
        if let Some(b) = b {
            let path = nd.join("validator.json");
            bundles.push(path);
            let _ = b;
        }
        names.push(name);
    }
    let genesis = build_genesis(
        &GenesisArgs {
            chain_id: args.chain_id.clone(),
            validators: bundles,
            orgs: vec![],
            app_state: None,
            genesis_time_ms: None,
            max_block_txs: None,
            out: dir.join("genesis.json"),
        },
        modules,
    )?;
    std::fs::write(dir.join("genesis.json"), genesis.to_json())?;
    issue_node_certificates(dir, &args.chain_id, &names, &peer_ids)?;
    let p2p_port = |i: usize| args.base_port as usize + i;
    let api_port = |i: usize| args.base_port as usize + 1000 + i;
    let tx_port = |i: usize| args.base_port as usize + 2000 + i;
    if tx_port(total) > u16::MAX as usize {
        bail!("--base-port: {} + 2000 + {total} nodes exceeds the highest port", args.base_port);
    }
    let mut nodes = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let nd = dir.join(name);
        let validator = i < args.nodes;
        let peers: Vec<String> = (0..total)
            .filter(|j| *j != i)
            .map(|j| format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", p2p_port(j), peer_ids[j]))
            .collect();
        // Every node, observers included, gossips transactions with every other node, so a transaction
        // submitted anywhere reaches every proposer.
        let tx_peers: Vec<String> = (0..total)
            .filter(|j| *j != i)
            .map(|j| format!("/ip4/127.0.0.1/tcp/{}/p2p/{}", tx_port(j), peer_ids[j]))
            .collect();
        let cfg = NodeConfig {
            moniker: name.clone(),
            home: PathBuf::from("data"),
            genesis: PathBuf::from("../genesis.json"),
            consensus_key: validator.then(|| PathBuf::from("consensus.pem")),
            p2p_key: PathBuf::from("p2p.key"),
            p2p: P2pSection {
                listen: format!("/ip4/127.0.0.1/tcp/{}", p2p_port(i)),
                persistent_peers: peers,
                tx_listen: Some(format!("/ip4/127.0.0.1/tcp/{}", tx_port(i))),
                tx_peers,
                tls_cert: Some(PathBuf::from(NODE_CERT)),
                tls_key: Some(PathBuf::from(NODE_TLS_KEY)),
                tls_trust: Some(PathBuf::from("../ca").join(scf_ca::CaDir::CERT)),
                tls_trust_on_chain: false,
                tls_crls: vec![PathBuf::from("../ca").join(scf_ca::CaDir::CRL)],
            },
            api: ApiSection::plain(format!("127.0.0.1:{}", api_port(i)).parse()?),
            consensus: ConsensusSection { timeout_propose_ms: 1500, ..ConsensusSection::default() },
            sync: SyncSection::default(),
            mempool: MempoolConfig::default(),
        };
        let cfg_path = nd.join("node.toml");
        std::fs::write(&cfg_path, cfg.to_toml())?;
        nodes.push(ClusterNode {
            name: name.clone(),
            dir: nd,
            config: cfg_path,
            api: format!("http://127.0.0.1:{}", api_port(i)),
            p2p: format!("/ip4/127.0.0.1/tcp/{}", p2p_port(i)),
            tx_p2p: format!("/ip4/127.0.0.1/tcp/{}", tx_port(i)),
            validator,
        });
    }
    let cluster = ClusterFile { chain_id: args.chain_id.clone(), nodes };
    std::fs::write(dir.join("cluster.json"), serde_json::to_string_pretty(&cluster)?)?;
    Ok(cluster)
}

/// A local trial's node certificate and its SM2 key, in each node's directory.
pub const NODE_CERT: &str = "node.crt.pem";
pub const NODE_TLS_KEY: &str = "node-tls.key.pem";

/// A local trial's organisation CA (`DIR/ca`, as `scf ca init`) and, for each node, an SM2 key and a node
/// certificate naming its peer id (as `scf ca issue --kind node --san urn:libp2p:peer:<id>`), so the nodes
/// talk 国密 TLS to each other. Revoke one with `scf ca revoke --ca DIR/ca --serial N`: the nodes re-read
/// `DIR/ca/crl.pem` and cut it off.
fn issue_node_certificates(dir: &Path, chain_id: &str, names: &[String], peer_ids: &[String]) -> anyhow::Result<()> {
    let now = std::time::SystemTime::now();
    let mut ca = scf_ca::CaDir::init(&dir.join("ca"), chain_id, None, 3650, now)?;
    for (name, peer) in names.iter().zip(peer_ids) {
        let nd = dir.join(name);
        let key = scf_ledger::crypto::KeyPair::generate()?;
        keys::write_consensus_key(&nd.join(NODE_TLS_KEY), &key)?;
        let cert = ca.issue(
            scf_ca::CertKind::Node,
            &format!("CN={name}"),
            *key.public(),
            365,
            vec![format!("{}{peer}", crate::p2p_tls::PEER_SAN_PREFIX)],
            now,
        )?;
        std::fs::write(nd.join(NODE_CERT), cert.to_pem()?)?;
    }
    Ok(())
}

/// `scf cluster down --dir DIR`
#[derive(Args, Debug, Clone)]
pub struct ClusterDownArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// Only stop these node indexes.
    #[arg(long = "only")]
    pub only: Vec<usize>,
    /// SIGKILL instead of a graceful SIGTERM (crash testing).
    #[arg(long)]
    pub kill: bool,
}

fn signal(pid: u32, sig: &str) -> anyhow::Result<()> {
    Command::new("kill").arg(format!("-{sig}")).arg(pid.to_string()).status().context("running kill")?;
    Ok(())
}

/// Stop the cluster's node processes (by the pids recorded at start).
pub fn cluster_down(args: &ClusterDownArgs) -> anyhow::Result<()> {
    let cluster = ClusterFile::read(&args.dir)?;
    for (i, n) in cluster.nodes.iter().enumerate() {
        if !args.only.is_empty() && !args.only.contains(&i) {
            continue;
        }
        let Some(pid) = read_pid(&n.dir) else { continue };
        if alive(pid) {
            signal(pid, if args.kill { "KILL" } else { "TERM" })?;
            let deadline = Instant::now() + Duration::from_secs(10);
            while alive(pid) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if alive(pid) {
                signal(pid, "KILL")?;
            }
        }
        let _ = std::fs::remove_file(pid_file(&n.dir));
    }
    Ok(())
}

/// `scf verify-cert --genesis FILE (--block FILE | --node URL --height H)`
#[derive(Args, Debug, Clone)]
pub struct VerifyCertArgs {
    /// Genesis file holding the validator set.
    #[arg(long)]
    pub genesis: PathBuf,
    /// A block as JSON (the `block` of `GET /block/{height}`, or that whole answer).
    #[arg(long, conflicts_with = "node")]
    pub block: Option<PathBuf>,
    /// Fetch the block from this node API instead.
    #[arg(long, requires = "height")]
    pub node: Option<String>,
    #[arg(long)]
    pub height: Option<u64>,
}

pub fn verify_cert(args: &VerifyCertArgs) -> anyhow::Result<crate::CertificateCheck> {
    let text =
        std::fs::read_to_string(&args.genesis).with_context(|| format!("--genesis {}", args.genesis.display()))?;
    let genesis = Genesis::from_json(&text)?;
    let block: Block = match (&args.block, &args.node, args.height) {
        (Some(p), _, _) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("--block {}", p.display()))?;
            let v: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("--block {}", p.display()))?;
            let inner = v.get("block").cloned().unwrap_or(v);
            serde_json::from_value(inner).with_context(|| format!("--block {}: not a block", p.display()))?
        }
        (None, Some(url), Some(h)) => {
            runtime()?
                .block_on(scf_client::NodeClient::new(url.clone()).block(h))?
                .ok_or_else(|| anyhow!("--height {h}: no such block on {url}"))?
                .block
        }
        _ => bail!("give --block FILE, or --node URL with --height H"),
    };
    let check = crate::certificate::verify_certificate(&block, &genesis.validators)?;
    Ok(check)
}

pub fn verify_cert_cmd(args: &VerifyCertArgs) -> anyhow::Result<()> {
    let check = verify_cert(args)?;
    println!("{}", serde_json::to_string_pretty(&check)?);
    Ok(())
}

/// Turn transparent huge pages off for this process (Linux; elsewhere a no-op). Call first in `main`.
///
/// mimalloc asks the kernel for huge pages on its arenas, so the first touch of each 2 MiB page has
/// the kernel zero all of it, also where the allocator goes on to use a few KiB. Under load that
/// zeroing was 5–15 % of a node's CPU samples (`clear_page_erms` in perf); with THP off the node used
/// ~7 % less CPU for the same benchmark (docs/benchmarks.md). The flag is inherited by threads and
/// child processes and only changes how memory is backed.
pub fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // Best effort: it cannot fail on a kernel with PR_SET_THP_DISABLE (3.15+); without it the
        // process simply keeps the system's setting.
        let _ = nix::sys::prctl::set_thp_disable(true);
    }
}

/// Log to stderr at `RUST_LOG` (default `info`); a no-op if logging is already set up.
pub fn init_logging() {
    init_logging_with("info");
}

/// Log to stderr at `RUST_LOG`, or at `default` without it; colours only on a terminal. A no-op if
/// logging is already set up.
pub fn init_logging_with(default: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

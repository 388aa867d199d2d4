//! A cluster of `scf node` processes, one per network namespace, with the harness's link proxies
//! between them. Keys and genesis come from the `scf` binary itself (`scf keygen`, `scf genesis`); the
//! node configs are written here for the namespace addresses.
//!
//! Every node runs under libfaketime (Debian `libfaketime`, preloaded; `DONT_FAKE_MONOTONIC=1`): its
//! wall clock is the machine's plus the offset in `<node dir>/clock`, re-read at most once a second, so
//! a clock jump on one node changes nothing else on the machine. The monotonic clock (timeouts) is real.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context as _};
use scf_client::NodeClient;
use scf_ledger::crypto::{Address, KeyPair, PublicKey};
use tokio::task::JoinHandle;

use crate::net::Net;
use crate::proxy::{self, Link, Shape};

pub const P2P_PORT: u16 = 26000;
pub const TX_PORT: u16 = 26100;
pub const API_PORT: u16 = 26200;
/// Debian's libfaketime (multi-threaded build).
pub const LIBFAKETIME: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

/// Consensus timeouts written into every node's config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub propose_ms: u64,
    pub prevote_ms: u64,
    pub precommit_ms: u64,
    pub delta_ms: u64,
}

impl Default for Timeouts {
    /// What `scf cluster up` writes.
    fn default() -> Self {
        Timeouts { propose_ms: 1500, prevote_ms: 1000, precommit_ms: 1000, delta_ms: 500 }
    }
}

/// The consortium of every harness chain: a core enterprise, suppliers moving vouchers, a warehouse that
/// owns the devices, and the ingestion service's own organisation (authorised by the warehouse).
pub const CORE: &str = "CE";
pub const WAREHOUSE: &str = "WH";
pub const INGEST_ORG: &str = "IOT";
pub const SUPPLIERS: usize = 4;

pub fn supplier(i: usize) -> String {
    format!("S{i}")
}

pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("scf-faults/org/{id}"))
}

/// A unique 18-character 统一社会信用代码 for a harness organisation.
pub fn credit_code(id: &str) -> String {
    let h = scf_ledger::crypto::sm3(id.as_bytes());
    format!("9131{}", h[..7].iter().map(|x| format!("{x:02X}")).collect::<String>())
}

pub struct NodeProc {
    pub index: usize,
    pub dir: PathBuf,
    pub config: PathBuf,
    pub api: String,
    child: Option<Child>,
}

impl NodeProc {
    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }
    pub fn client(&self) -> NodeClient {
        NodeClient::new(self.api.clone())
    }
    pub fn signing_journal(&self) -> PathBuf {
        self.dir.join("data").join("signed.log")
    }
}

pub struct Cluster {
    pub dir: PathBuf,
    pub chain_id: String,
    pub nodes: Vec<NodeProc>,
    /// Each validator's consensus account (a block header's `proposer`).
    pub addresses: Vec<Address>,
    pub net: Net,
    scf: PathBuf,
    links: HashMap<(usize, usize), Arc<Link>>,
    proxies: Vec<JoinHandle<()>>,
}

fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8_lossy(&out.stdout).to_string())
}

impl Cluster {
    /// Keys, genesis, configs, namespaces and proxies for `n` validators (nothing started yet).
    pub async fn create(
        scf: &Path,
        dir: &Path,
        net: Net,
        chain_id: &str,
        timeouts: Timeouts,
        seed: u64,
    ) -> anyhow::Result<Cluster> {
        let n = net.n;
        let mut peer_ids = Vec::new();
        let mut bundles = Vec::new();
        let mut addresses = Vec::new();
        for i in 0..n {
            let nd = dir.join(format!("validator-{i}"));
            run(Command::new(scf).args(["keygen", "--node", &format!("validator-{i}"), "--out"]).arg(&nd))?;
            let bundle: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(nd.join("validator.json")).context("validator.json")?)?;
            let pid = bundle["peer_id"].as_str().ok_or_else(|| anyhow!("validator.json: no peer_id"))?;
            peer_ids.push(pid.to_string());
            let pk: PublicKey = serde_json::from_value(bundle["public_key"].clone())
                .map_err(|e| anyhow!("validator.json: public_key: {e}"))?;
            addresses.push(pk.address());
            bundles.push(nd.join("validator.json"));
            std::fs::write(nd.join("clock"), "+0\n")?;
        }
        let mut g = Command::new(scf);
        g.args(["genesis", "--chain-id", chain_id]);
        for b in &bundles {
            g.arg("--validator").arg(b);
        }
        let mut orgs: Vec<(String, &str)> = vec![
            (CORE.into(), "core_enterprise"),
            (WAREHOUSE.into(), "warehouse_operator"),
            (INGEST_ORG.into(), "warehouse_operator"),
        ];
        orgs.extend((0..SUPPLIERS).map(|i| (supplier(i), "supplier")));
        for (id, role) in &orgs {
            g.arg("--org").arg(format!(
                "id={id},name={id} 有限公司,credit_code={},roles={role},public_key={}",
                credit_code(id),
                org_key(id).public().to_hex()
            ));
        }
        g.arg("--out").arg(dir.join("genesis.json"));
        run(&mut g)?;

        // 国密 TLS between the nodes, as a consortium runs them: one CA (`scf ca`), a node certificate each
        // naming its peer id, every node watching the CRL.
        let ca = dir.join("ca");
        run(Command::new(scf).args(["ca", "init", "--org", chain_id, "--out"]).arg(&ca))?;
        for (i, pid) in peer_ids.iter().enumerate() {
            let nd = dir.join(format!("validator-{i}"));
            run(Command::new(scf).args(["keygen", "--out"]).arg(nd.join("tls")))?;
            run(Command::new(scf)
                .args(["ca", "issue", "--ca"])
                .arg(&ca)
                .args(["--kind", "node", "--subject", &format!("CN=validator-{i}"), "--pubkey"])
                .arg(nd.join("tls/key.pub.pem"))
                .arg("--out")
                .arg(nd.join("tls/node.crt.pem"))
                .args(["--san", &format!("urn:libp2p:peer:{pid}")]))?;
        }

        let mut nodes = Vec::new();
        for i in 0..n {
            let nd = dir.join(format!("validator-{i}"));
            let peers = |port: u16| -> Vec<String> {
                (0..n)
                    .filter(|j| *j != i)
                    .map(|j| format!("/ip4/{}/tcp/{port}/p2p/{}", net.proxy_addr(i, j), peer_ids[j]))
                    .collect()
            };
            let me = net.node_addr(i);
            let toml = format!(
                "moniker = \"validator-{i}\"\nhome = \"data\"\ngenesis = \"../genesis.json\"\n\
                 consensus_key = \"consensus.pem\"\np2p_key = \"p2p.key\"\n\n[p2p]\n\
                 listen = \"/ip4/{me}/tcp/{P2P_PORT}\"\npersistent_peers = {}\n\
                 tx_listen = \"/ip4/{me}/tcp/{TX_PORT}\"\ntx_peers = {}\n\
                 tls_cert = \"tls/node.crt.pem\"\ntls_key = \"tls/key.pem\"\ntls_trust = \"../ca/ca.pem\"\n\
                 tls_crls = [\"../ca/crl.pem\"]\n\n[api]\nlisten = \"{me}:{API_PORT}\"\nplain_remote = true\n\n\
                 [consensus]\ntimeout_propose_ms = {}\ntimeout_prevote_ms = {}\ntimeout_precommit_ms = {}\n\
                 timeout_delta_ms = {}\n",
                toml_list(&peers(P2P_PORT)),
                toml_list(&peers(TX_PORT)),
                timeouts.propose_ms,
                timeouts.prevote_ms,
                timeouts.precommit_ms,
                timeouts.delta_ms,
            );
            let config = nd.join("node.toml");
            std::fs::write(&config, toml)?;
            nodes.push(NodeProc { index: i, dir: nd, config, api: format!("http://{me}:{API_PORT}"), child: None });
        }

        let mut links = HashMap::new();
        let mut proxies = Vec::new();
        for i in 0..n {
            for j in (i + 1)..n {
                links.insert((i, j), Link::new(seed ^ ((i as u64) << 32 | j as u64)));
            }
        }
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let link = links.get(&(i.min(j), i.max(j))).cloned().ok_or_else(|| anyhow!("link {i}-{j}"))?;
                for port in [P2P_PORT, TX_PORT] {
                    let listen = SocketAddr::from((net.proxy_addr(i, j), port));
                    let target = SocketAddr::from((net.node_addr(j), port));
                    proxies.push(
                        proxy::serve(listen, target, link.clone()).await.with_context(|| format!("proxy {listen}"))?,
                    );
                }
            }
        }
        Ok(Cluster {
            dir: dir.to_path_buf(),
            chain_id: chain_id.to_string(),
            nodes,
            addresses,
            net,
            scf: scf.to_path_buf(),
            links,
            proxies,
        })
    }

    /// Start node `i` (its disk as it is) in its namespace.
    pub fn start(&mut self, i: usize) -> anyhow::Result<()> {
        let ns = self.net.ns(i);
        let node = self.nodes.get_mut(i).ok_or_else(|| anyhow!("no node {i}"))?;
        if node.running() {
            return Ok(());
        }
        let log = std::fs::OpenOptions::new().create(true).append(true).open(node.dir.join("node.log"))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(&self.scf)
            .arg("node")
            .arg("--config")
            .arg(&node.config)
            .env("RUST_LOG", std::env::var("SCF_FAULTS_NODE_LOG").unwrap_or_else(|_| "warn".into()))
            .env("LD_PRELOAD", LIBFAKETIME)
            .env("FAKETIME_TIMESTAMP_FILE", node.dir.join("clock"))
            .env("FAKETIME_CACHE_DURATION", "1")
            .env("DONT_FAKE_MONOTONIC", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("ip netns exec scf node")?;
        node.child = Some(child);
        Ok(())
    }

    pub fn start_all(&mut self) -> anyhow::Result<()> {
        for i in 0..self.nodes.len() {
            self.start(i)?;
        }
        Ok(())
    }

    /// SIGKILL node `i` (no shutdown of any kind).
    pub fn kill(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut c) = self.nodes.get_mut(i).and_then(|n| n.child.take()) {
            let _ = c.kill();
            let _ = c.wait();
        }
        Ok(())
    }

    /// SIGTERM node `i` and wait for it to exit (SIGKILL after 10 s).
    pub fn stop(&mut self, i: usize) -> anyhow::Result<()> {
        if let Some(mut c) = self.nodes.get_mut(i).and_then(|n| n.child.take()) {
            let _ = Command::new("kill").arg("-TERM").arg(c.id().to_string()).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(c.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        Ok(())
    }

    /// Set node `i`'s wall-clock offset (seconds; takes effect within a second).
    pub fn set_clock(&self, i: usize, offset_s: i64) -> anyhow::Result<()> {
        let node = self.nodes.get(i).ok_or_else(|| anyhow!("no node {i}"))?;
        std::fs::write(node.dir.join("clock"), format!("{offset_s:+}\n"))?;
        Ok(())
    }

    /// Shape every link.
    pub fn shape_all(&self, shape: Shape) {
        for l in self.links.values() {
            l.set(shape);
        }
    }

    /// Shape the link between `i` and `j`.
    pub fn shape(&self, i: usize, j: usize, shape: Shape) {
        if let Some(l) = self.links.get(&(i.min(j), i.max(j))) {
            l.set(shape);
        }
    }

    /// Wait until every running node's API answers.
    pub async fn wait_up(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        for i in 0..self.nodes.len() {
            if !self.nodes[i].running() {
                continue;
            }
            let c = self.nodes[i].client();
            loop {
                if matches!(tokio::time::timeout(Duration::from_secs(2), c.status()).await, Ok(Ok(_))) {
                    break;
                }
                if Instant::now() > deadline {
                    bail!(
                        "validator-{i} did not answer on {} (see {})",
                        self.nodes[i].api,
                        self.nodes[i].dir.join("node.log").display()
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    pub fn clients(&self) -> Vec<NodeClient> {
        self.nodes.iter().map(NodeProc::client).collect()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for n in &mut self.nodes {
            if let Some(mut c) = n.child.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
        for p in &self.proxies {
            p.abort();
        }
    }
}

fn toml_list(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| format!("\"{s}\"")).collect::<Vec<_>>().join(", "))
}

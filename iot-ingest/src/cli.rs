//! Command-line entry points the `scf` binary wires in: `scf ingest` (run the service),
//! `scf device simulate`, `scf bench ingest --json`. Each builds its own Tokio runtime.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use rumqttc::AsyncClient;
use scf_domain::device::Binding;
use scf_ledger::crypto::KeyPair;

use crate::broker::{mqtt_options, BrokerArgs, EmbeddedBroker};
use crate::mqtt_access::Access;
use crate::service::{self, IngestConfig, Partition};
use crate::sim::{cold_chain_rule, register, sim_devices, Publisher};
use scf_client::{now_ms, Chain, HttpChain};

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn read_key(path: &PathBuf) -> anyhow::Result<KeyPair> {
    let pem = std::fs::read_to_string(path).with_context(|| format!("key: cannot read {}", path.display()))?;
    KeyPair::from_pkcs8_pem(&pem).map_err(|e| anyhow::anyhow!("key: {}: {e}", path.display()))
}

/// How to reach a node's HTTPS client API (mutual 国密 TLS): this service's client certificate and the
/// organisation CAs it trusts to certify the node.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct NodeTlsArgs {
    /// Client certificate (PEM) from this organisation's CA (`scf ca issue --kind client`).
    #[arg(long, requires_all = ["node_key", "node_trust"])]
    pub node_cert: Option<PathBuf>,
    /// The key --node-cert certifies (SM2, PKCS#8 PEM).
    #[arg(long, requires = "node_cert")]
    pub node_key: Option<PathBuf>,
    /// PEM bundle of CA certificates: the node's organisation CA, and this service's own (which issued
    /// --node-cert).
    #[arg(long, requires = "node_cert")]
    pub node_trust: Option<PathBuf>,
}

impl NodeTlsArgs {
    /// Connect to `node`: plain for `http://`, mutual 国密 TLS for `https://`.
    pub async fn connect(&self, node: &str) -> anyhow::Result<HttpChain> {
        let client = match (&self.node_cert, &self.node_key, &self.node_trust) {
            (Some(cert), Some(key), Some(trust)) => {
                let read = |what: &str, p: &PathBuf| {
                    std::fs::read_to_string(p).with_context(|| format!("{what}: cannot read {}", p.display()))
                };
                let identity = scf_gmtls::Identity::from_pem(&read("node-cert", cert)?, &read("node-key", key)?)
                    .map_err(|e| anyhow::anyhow!("node-cert: {e}"))?;
                let store = scf_ca::TrustStore::from_pem(&read("node-trust", trust)?)
                    .map_err(|e| anyhow::anyhow!("node-trust: {}: {e}", trust.display()))?;
                let trust = scf_gmtls::Trust::new(store, Arc::new(scf_ca::NoRevocation));
                let tls = scf_gmtls::client_config(Some(&identity), trust, true)
                    .map_err(|e| anyhow::anyhow!("node-cert: {e}"))?;
                scf_client::NodeClient::with_tls(node, (*tls).clone())?
            }
            _ if node.starts_with("https://") => {
                anyhow::bail!("node: {node} is the HTTPS API; give --node-cert, --node-key and --node-trust")
            }
            _ => scf_client::NodeClient::new(node),
        };
        Ok(HttpChain::connect_with(client).await?)
    }
}

/// `scf ingest`: run the ingestion service until interrupted.
#[derive(Clone, Debug, clap::Args)]
pub struct IngestArgs {
    /// Directory of the readings store.
    #[arg(long, default_value = "./scf-data/ingest")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Start the embedded broker on this address (and connect to it) instead of using --broker.
    #[arg(long, requires = "mqtt_passwd")]
    pub embedded_broker: Option<SocketAddr>,
    /// The embedded broker's password file (Mosquitto format; `scf mqtt passwd` or `mosquitto_passwd`
    /// write it). Re-read when it changes.
    #[arg(long, requires = "embedded_broker")]
    pub mqtt_passwd: Option<PathBuf>,
    /// The embedded broker's ACL file (Mosquitto format). Default: each device (username = device id)
    /// publishes only to its own telemetry topic, and nobody else subscribes.
    #[arg(long, requires = "embedded_broker")]
    pub mqtt_acl: Option<PathBuf>,
    /// The node's client API: its plain API on this machine, or `https://HOST:PORT`, its HTTPS API
    /// (mutual 国密 TLS) on another machine, with --node-cert, --node-key and --node-trust.
    #[arg(long, default_value = "http://127.0.0.1:26658")]
    pub node: String,
    #[command(flatten)]
    pub node_tls: NodeTlsArgs,
    /// PKCS#8 PEM key of the ingestion account (signs anchors and alerts).
    #[arg(long)]
    pub key: PathBuf,
    /// MQTT client id (keep it stable across restarts). Default: derived from the key and the partition,
    /// so instances never share one.
    #[arg(long, default_value = "")]
    pub client_id: String,
    /// Shared-subscription group ("" = none). Only for a single instance: a shared subscription spreads
    /// one device's readings over several stores.
    #[arg(long, default_value = "")]
    pub share_group: String,
    /// The devices this instance owns, `index/count` (several instances on one broker, each with its own
    /// key and data directory).
    #[arg(long, default_value = "0/1", value_parser = parse_partition)]
    pub partition: Partition,
    /// Largest allowed device clock skew, ms.
    #[arg(long, default_value_t = 300_000)]
    pub max_skew_ms: u64,
    /// Anchor every N readings...
    #[arg(long, default_value_t = 1000)]
    pub batch_max: u64,
    /// ...or every T milliseconds.
    #[arg(long, default_value_t = 5000)]
    pub batch_interval_ms: u64,
    /// Serve Prometheus /metrics on this address.
    #[arg(long)]
    pub metrics_listen: Option<SocketAddr>,
}

impl IngestArgs {
    /// The service's settings, reading from `broker`.
    pub fn config_for(&self, broker: BrokerArgs) -> IngestConfig {
        let mut c = IngestConfig::new(self.data_dir.clone(), broker);
        c.client_id = self.client_id.clone();
        c.share_group = Some(self.share_group.clone()).filter(|g| !g.is_empty());
        c.partition = self.partition;
        c.max_skew_ms = self.max_skew_ms;
        c.batch_max = self.batch_max.max(1);
        c.batch_interval = Duration::from_millis(self.batch_interval_ms.max(10));
        c.metrics_listen = self.metrics_listen;
        c
    }
}

fn parse_partition(s: &str) -> Result<Partition, String> {
    Partition::parse(s).map_err(|e| e.to_string())
}

pub fn run_ingest(args: IngestArgs) -> anyhow::Result<()> {
    let key = read_key(&args.key)?;
    args.config_for(args.broker.clone()).check()?;
    let access = match &args.mqtt_passwd {
        Some(p) => Some(Access::load(p, args.mqtt_acl.as_deref())?),
        None => None,
    };
    let rt = runtime()?;
    rt.block_on(async move {
        let mut embedded = None;
        let broker = match (args.embedded_broker, access) {
            (Some(a), Some(access)) => {
                let b = EmbeddedBroker::start(a, access).await?;
                eprintln!("scf ingest: embedded MQTT broker on mqtt://{}", b.addr);
                let internal = b.internal_args();
                embedded = Some(b);
                internal
            }
            _ => args.broker.clone(),
        };
        let config = args.config_for(broker);
        // The node may be down when the service (re)starts: wait for it rather than exit, so the readings
        // and alerts in the store go out as soon as it answers.
        let mut wait = Duration::from_millis(200);
        let chain: Arc<dyn Chain> = loop {
            match args.node_tls.connect(&args.node).await {
                Ok(c) => break Arc::new(c),
                Err(e) => {
                    eprintln!("scf ingest: node {} not reachable ({e}); retrying in {wait:?}", args.node);
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(5));
                }
            }
        };
        let subscription = config.subscription();
        let handle = service::start(config, chain, key).await?;
        eprintln!("scf ingest: subscribed to {subscription} ({} stored so far)", handle.store.len()?);
        tokio::signal::ctrl_c().await?;
        handle.shutdown().await;
        drop(embedded);
        Ok(())
    })
}

/// `scf device simulate`: devices that sign readings at the source and publish them.
#[derive(Clone, Debug, clap::Args)]
pub struct SimulateArgs {
    #[arg(long, default_value_t = 10)]
    pub devices: usize,
    /// Readings per second per device.
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Readings per device (0 = until interrupted).
    #[arg(long, default_value_t = 60)]
    pub count: u64,
    /// Owning organisation (topic `scf/{org}/devices/{id}/telemetry`).
    #[arg(long, default_value = "DEMO-WH")]
    pub org: String,
    /// Device id prefix; keys are derived from org and id, so a rerun reuses registered keys.
    #[arg(long, default_value = "SIM")]
    pub prefix: String,
    #[command(flatten)]
    pub broker: BrokerArgs,
    /// Register the devices first (needs --org-key and --node).
    #[arg(long)]
    pub register: bool,
    /// PKCS#8 PEM key of an account of --org (for --register).
    #[arg(long)]
    pub org_key: Option<PathBuf>,
    #[arg(long, default_value = "http://127.0.0.1:26658")]
    pub node: String,
    /// Bind registered devices to this production lot.
    #[arg(long, default_value = "SIM-LOT-1")]
    pub lot: String,
    /// Device 0 reports 12 °C during the middle third of the run.
    #[arg(long)]
    pub excursion: bool,
    /// Re-send one earlier message byte for byte.
    #[arg(long)]
    pub replay: bool,
    /// Send one message signed by a key that is not the device's.
    #[arg(long)]
    pub forge: bool,
    /// Send one message that is not a valid COSE_Sign1.
    #[arg(long)]
    pub malformed: bool,
}

#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct SimSummary {
    pub published: u64,
    pub acked: u64,
    pub excursion_readings: u64,
    pub replayed: u64,
    pub forged: u64,
    pub malformed: u64,
}

pub fn simulate(args: SimulateArgs) -> anyhow::Result<SimSummary> {
    let rt = runtime()?;
    rt.block_on(simulate_async(args))
}

pub async fn simulate_async(args: SimulateArgs) -> anyhow::Result<SimSummary> {
    if !(args.rate > 0.0 && args.rate <= 10_000.0) {
        anyhow::bail!("rate: must be in (0, 10000] readings per second per device");
    }
    if args.devices == 0 || args.devices > 100_000 {
        anyhow::bail!("devices: must be 1..=100000");
    }
    let mut devs = sim_devices(&args.org, &args.prefix, args.devices);
    if args.register {
        let key = read_key(args.org_key.as_ref().context("org-key: required with --register")?)?;
        let chain = HttpChain::connect(&args.node).await?;
        let binding = Binding::Lot { gtin: None, lot: args.lot.clone() };
        register(&chain, &key, &devs, &binding, &[cold_chain_rule(0)]).await?;
    }
    let opts = mqtt_options(&args.broker, &format!("scf-sim-{}-{}", args.org, std::process::id()))?;
    let (client, eventloop) = AsyncClient::new(opts, 1000);
    let p = Publisher::start(client, eventloop);
    let mut s = SimSummary::default();
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now();
    let mut first: Option<(String, Vec<u8>)> = None;
    let mut round = 0u64;
    while args.count == 0 || round < args.count {
        let t = now_ms();
        let hot = args.excursion && args.count > 0 && round >= args.count / 3 && round < 2 * args.count / 3;
        for (i, d) in devs.iter_mut().enumerate() {
            let celsius = if hot && i == 0 { 12.0 } else { 4.0 + ((round + i as u64) % 10) as f64 * 0.1 };
            let m = d.next(t, celsius)?;
            if first.is_none() {
                first = Some((d.topic(), m.clone()));
            }
            p.publish(d.topic(), m).await?;
            s.published += 1;
            if hot && i == 0 {
                s.excursion_readings += 1;
            }
        }
        if round == 1 {
            if let (true, Some((topic, m))) = (args.replay, &first) {
                p.publish(topic.clone(), m.clone()).await?;
                s.replayed += 1;
            }
            if args.forge {
                let d = &mut devs[0];
                let m = d.forged(t)?;
                p.publish(d.topic(), m).await?;
                s.forged += 1;
            }
            if args.malformed {
                p.publish(devs[0].topic(), b"\xa1\x01not cose".to_vec()).await?;
                s.malformed += 1;
            }
        }
        round += 1;
        let next = start + period.mul_f64(round as f64);
        tokio::time::sleep_until(next.into()).await;
    }
    let wait = Instant::now();
    while p.acked() < s.published + s.replayed + s.forged + s.malformed && wait.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    s.acked = p.acked();
    p.stop().await;
    Ok(s)
}

/// `scf bench ingest --json`.
#[derive(Clone, Debug, clap::Args)]
pub struct BenchIngestArgs {
    #[arg(long, default_value_t = 100)]
    pub devices: usize,
    #[arg(long, default_value_t = 20_000)]
    pub readings: u64,
    /// Readings per anchored batch.
    #[arg(long, default_value_t = 1000)]
    pub batch_max: u64,
    /// Print the result as one JSON object (the only output format).
    #[arg(long)]
    pub json: bool,
}

pub fn bench_ingest(args: BenchIngestArgs) -> anyhow::Result<crate::bench::BenchResult> {
    if args.readings == 0 || args.readings > 10_000_000 {
        anyhow::bail!("readings: must be 1..=10000000");
    }
    let rt = runtime()?;
    rt.block_on(crate::bench::run(args.devices, args.readings, args.batch_max))
}

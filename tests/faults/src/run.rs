//! One schedule, start to finish: a fresh cluster in fresh namespaces, the set-up, the load, the
//! schedule's faults, healing, and the checks.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context as _};
use scf_client::{Chain, HttpChain};
use scf_iot_ingest::broker::{mqtt_options, BrokerArgs, MosquittoProcess};
use scf_iot_ingest::service::{self, IngestConfig};
use scf_iot_ingest::sim::Publisher;
use scf_iot_ingest::store::Delivery;
use serde::Serialize;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::check::{self, Violation};
use crate::cluster::{org_key, Cluster, Timeouts, INGEST_ORG, SUPPLIERS};
use crate::load::{self, IotSeen, Seen};
use crate::net::Net;
use crate::proxy::Shape;
use crate::schedule::{generate, Action, Schedule};

#[derive(Clone, Debug)]
pub struct Options {
    /// The `scf` binary the validators run.
    pub scf: PathBuf,
    /// Each seed works in `<work>/seed-<seed>` (removed after a clean run unless `keep`).
    pub work: PathBuf,
    pub keep: bool,
    pub timeouts: Timeouts,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub seed: u64,
    pub schedule: Schedule,
    /// The validator `IsolateLeader` took down, if the schedule had one.
    pub leader: Option<usize>,
    pub committed_txs: usize,
    pub submissions: u64,
    pub readings: u64,
    pub excursions: u64,
    pub checked_height: u64,
    pub violations: Vec<Violation>,
    pub secs: f64,
    pub dir: PathBuf,
}

/// A run tag and address octet unlikely to collide with a concurrent run (checked against the machine).
fn tag_and_octet(seed: u64) -> anyhow::Result<(String, u8)> {
    let pid = u64::from(std::process::id());
    let mix = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ pid.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    let tag: String =
        (0..5).map(|k| b"abcdefghijklmnopqrstuvwxyz0123456789"[((mix >> (k * 6)) % 36) as usize] as char).collect();
    for k in 0..187u64 {
        let octet = 64 + ((mix >> 32).wrapping_add(k) % 187) as u8;
        if Net::octet_free(octet) {
            return Ok((tag, octet));
        }
    }
    Err(anyhow!("no free 10.x/16 for the run's namespaces"))
}

pub async fn run_seed(opts: &Options, seed: u64) -> anyhow::Result<Report> {
    let started = Instant::now();
    let schedule = generate(seed);
    let dir = opts.work.join(format!("seed-{seed}"));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("{}", dir.display()))?;
    }
    std::fs::create_dir_all(&dir)?;
    let (tag, octet) = tag_and_octet(seed)?;
    let net = Net::create(&tag, octet, schedule.validators)?;
    let mut cluster = Cluster::create(&opts.scf, &dir, net, &format!("scf-faults-{seed}"), opts.timeouts, seed).await?;
    cluster.start_all()?;
    cluster.wait_up(Duration::from_secs(60)).await?;
    let mut chains = Vec::new();
    for n in &cluster.nodes {
        chains.push(Arc::new(HttpChain::connect(&n.api).await?));
    }
    let clients = cluster.clients();
    let setup = load::setup(&chains[0], 0).await.context("set-up transactions")?;

    // IoT: a broker on loopback (outside the faults), the ingestion service talking to validator 0.
    let mosquitto = MosquittoProcess::start()?;
    let mut icfg = IngestConfig::new(dir.join("ingest"), BrokerArgs::plain(mosquitto.addr));
    icfg.batch_interval = Duration::from_secs(1);
    icfg.registry_ttl = Duration::from_secs(1);
    icfg.chain_timeout = Duration::from_secs(10);
    let ingest0: Arc<dyn Chain> = chains[0].clone();
    let ingest = service::start(icfg, ingest0, org_key(INGEST_ORG)).await?;
    let publisher = {
        let mut o = mqtt_options(&BrokerArgs::plain(mosquitto.addr), &format!("faults-devices-{seed}"))?;
        o.set_inflight(100);
        let (c, e) = rumqttc::AsyncClient::new(o, 1000);
        Arc::new(Publisher::start(c, e))
    };

    let seen = Arc::new(Seen::default());
    let iot = Arc::new(IotSeen {
        excursions: setup.devices.iter().map(|_| AtomicU64::new(0)).collect(),
        readings: AtomicU64::new(0),
        cleared: setup.devices.iter().map(|_| AtomicU64::new(0)).collect(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let ctx = load::Load {
        chain_id: cluster.chain_id.clone(),
        clients: clients.clone(),
        seen: seen.clone(),
        stop: stop_rx.clone(),
    };
    let mut tasks = Vec::new();
    for i in 0..SUPPLIERS {
        tasks.push(tokio::spawn(load::transfers(
            ctx.clone(),
            i,
            setup.leaves[i].clone(),
            setup.nonces[i],
            Duration::from_millis(500),
        )));
    }
    tasks.push(tokio::spawn(load::iot(
        ctx,
        chains.clone(),
        publisher.clone(),
        setup.devices.clone(),
        setup.wh_nonce,
        iot.clone(),
    )));
    // The schedule's clock starts once the service is receiving readings.
    let t = Instant::now();
    while ingest.stats.accepted() == 0 {
        if t.elapsed() > Duration::from_secs(30) {
            return Err(anyhow!("the ingestion service received no reading in 30 s"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let t0 = Instant::now();
    let mut leader = None;
    for step in &schedule.steps {
        tokio::time::sleep_until(t0 + Duration::from_millis(step.at_ms)).await;
        tracing::info!("seed {seed} t={}ms {:?}", step.at_ms, step.action);
        apply(&mut cluster, &step.action, &mut leader).await?;
    }
    tokio::time::sleep_until(t0 + Duration::from_millis(schedule.heal_ms)).await;
    heal(&mut cluster)?;
    tokio::time::sleep(Duration::from_millis(schedule.settle_ms)).await;
    let _ = stop_tx.send(true);
    for t in tasks {
        let _ = tokio::time::timeout(Duration::from_secs(30), t).await;
    }

    cluster.wait_up(Duration::from_secs(60)).await?;
    let mut violations = Vec::new();
    let (checked_height, v) = check::convergence(&clients, Duration::from_secs(90)).await;
    violations.extend(v);
    let committed = seen.committed();
    violations.extend(check::committed_everywhere(&clients, &committed).await);
    for n in &cluster.nodes {
        violations.extend(check::journal(n.index, &n.signing_journal()));
    }
    // Every excursion's alert: on chain exactly once, and settled in the service's outbox.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let on_chain = load::alerts_settled(chains[0].as_ref(), &setup.devices, &iot).await;
        let pending = ingest.store.outbox_len().unwrap_or(u64::MAX);
        if on_chain.is_ok() && pending == 0 {
            break;
        }
        if Instant::now() > deadline {
            violations.push(Violation {
                invariant: "alert_per_excursion",
                detail: format!("{}; {pending} alerts still in the outbox", on_chain.err().unwrap_or_default()),
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for a in ingest.store.alerts().unwrap_or_default() {
        if let Delivery::Refused { code, .. } = &a.delivery {
            violations.push(Violation {
                invariant: "alert_per_excursion",
                detail: format!("alert {} of {} refused by the chain: {code}", a.id, a.device_id),
            });
        }
    }
    for (id, why) in seen.failed.lock().map(|f| f.clone()).unwrap_or_default() {
        violations.push(Violation { invariant: "load_tx_succeeds", detail: format!("{id}: {why}") });
    }
    let report = Report {
        seed,
        schedule,
        leader,
        committed_txs: committed.len(),
        submissions: seen.submissions.load(Ordering::Relaxed),
        readings: iot.readings.load(Ordering::Relaxed),
        excursions: iot.excursions.iter().map(|e| e.load(Ordering::Relaxed)).sum(),
        checked_height,
        violations,
        secs: started.elapsed().as_secs_f64(),
        dir: dir.clone(),
    };
    if let Ok(p) = Arc::try_unwrap(publisher) {
        p.stop().await;
    }
    ingest.shutdown().await;
    drop(cluster);
    drop(mosquitto);
    if report.violations.is_empty() && !opts.keep {
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(report)
}

async fn apply(cluster: &mut Cluster, action: &Action, leader: &mut Option<usize>) -> anyhow::Result<()> {
    match action {
        Action::LinkDown { node } => cluster.net.link_down(*node)?,
        Action::LinkUp { node } => cluster.net.link_up(*node)?,
        Action::Cut { a, b } => cluster.net.cut(*a, *b)?,
        Action::Mend { a, b } => cluster.net.mend(*a, *b)?,
        Action::IsolateLeader => {
            let l = current_leader(cluster).await.unwrap_or(0);
            *leader = Some(l);
            cluster.net.link_down(l)?;
        }
        Action::HealLeader => {
            if let Some(l) = *leader {
                cluster.net.link_up(l)?;
            }
        }
        Action::Shape { a, b, .. } => cluster.shape(*a, *b, action.shape().unwrap_or_default()),
        Action::Kill { node } => cluster.kill(*node)?,
        Action::Stop { node } => tokio::task::block_in_place(|| cluster.stop(*node))?,
        Action::Start { node } => cluster.start(*node)?,
        Action::Clock { node, offset_s } => cluster.set_clock(*node, *offset_s)?,
    }
    Ok(())
}

/// The validator that proposed the latest block any node reports.
async fn current_leader(cluster: &Cluster) -> Option<usize> {
    let mut best: Option<(u64, usize)> = None;
    for n in &cluster.nodes {
        let c = n.client();
        let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(2), c.status()).await else { continue };
        let Ok(Ok(Some(b))) = tokio::time::timeout(Duration::from_secs(2), c.block(s.height)).await else { continue };
        let Some(i) = cluster.addresses.iter().position(|a| *a == b.block.header.proposer) else { continue };
        if best.is_none_or(|(h, _)| s.height > h) {
            best = Some((s.height, i));
        }
    }
    best.map(|(_, i)| i)
}

/// Undo every fault: links, routes, shapes, clocks, stopped nodes.
fn heal(cluster: &mut Cluster) -> anyhow::Result<()> {
    cluster.net.heal()?;
    cluster.shape_all(Shape::default());
    for i in 0..cluster.nodes.len() {
        cluster.set_clock(i, 0)?;
        cluster.start(i)?;
    }
    Ok(())
}

//! The ingestion service: subscribe (QoS 1, shared subscription), verify, store, acknowledge, batch,
//! anchor, evaluate rules, raise alerts.
//!
//! ```text
//! broker ──PUBLISH──► mqtt task ──channel──► worker: group of messages
//!                                             1. decode (bounded CBOR/COSE)
//!                                             2. registry (chain, cached `registry_ttl`): known, active, owner = topic org
//!                                             3. clock skew
//!                                             4. SM2 verify on all cores (rayon)
//!                                             5. replay window + append, one fsynced redb transaction
//!                                             6. PUBACK every message of the group, in arrival order
//!                                             7. accepted readings → rules task → RaiseAlert transactions
//! anchor task: every `batch_max` readings or `batch_interval`: cut a batch (durable), AnchorBatch tx,
//!              mark anchored; at start, pending batches are first reconciled with the chain.
//! ```
//! A message is acknowledged only after step 5 committed (rejected ones too: redelivering them would
//! not change the verdict). A crash before step 6 makes the broker redeliver: the replay window, stored
//! in the same transaction as the reading, refuses the copy — nothing is lost, nothing stored twice.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS};
use scf_domain::device::{self, Device, DeviceCall, Observation};
use scf_ledger::crypto::KeyPair;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::broker::{mqtt_options, BrokerArgs};
use crate::metrics::{RejectReason, Stats};
use crate::rules::{self, RuleState};
use crate::store::{BatchRecord, Candidate, Store, StoreOutcome};
use crate::wire::{self, Reading, TELEMETRY_FILTER};
use scf_client::{now_ms, Chain, ChainError, Signer};

/// Service configuration (the CLI's `IngestArgs` build one).
#[derive(Clone, Debug)]
pub struct IngestConfig {
    pub data_dir: PathBuf,
    pub broker: BrokerArgs,
    /// MQTT client id; stable across restarts so the broker redelivers unacknowledged messages.
    pub client_id: String,
    /// Shared-subscription group: instances in one group split the load (`$share/{group}/...`).
    /// `None` subscribes without sharing.
    pub share_group: Option<String>,
    /// Largest allowed |device time − service time|.
    pub max_skew_ms: u64,
    /// Anchor after this many readings...
    pub batch_max: u64,
    /// ...or after this long, whichever comes first.
    pub batch_interval: Duration,
    /// How long a device record read from chain is trusted (revocations take effect within it).
    pub registry_ttl: Duration,
    /// Most messages verified and stored together.
    pub group_max: usize,
    pub chain_timeout: Duration,
    /// Clock tick of the silence rules.
    pub rule_tick: Duration,
    /// Serve Prometheus `/metrics` here.
    pub metrics_listen: Option<SocketAddr>,
}

impl IngestConfig {
    pub fn new(data_dir: PathBuf, broker: BrokerArgs) -> Self {
        IngestConfig {
            data_dir,
            broker,
            client_id: "scf-ingest-1".into(),
            share_group: Some("scf-ingest".into()),
            max_skew_ms: 300_000,
            batch_max: 1000,
            batch_interval: Duration::from_secs(5),
            registry_ttl: Duration::from_secs(2),
            group_max: 1024,
            chain_timeout: Duration::from_secs(30),
            rule_tick: Duration::from_secs(1),
            metrics_listen: None,
        }
    }

    pub fn subscription(&self) -> String {
        match &self.share_group {
            Some(g) => format!("$share/{g}/{TELEMETRY_FILTER}"),
            None => TELEMETRY_FILTER.to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("data_dir: {0}")]
    DataDir(String),
    #[error("anchor: {0}")]
    Anchor(String),
}

/// Device records from chain, cached for `ttl`.
pub struct Registry {
    chain: Arc<dyn Chain>,
    ttl: Duration,
    cache: tokio::sync::Mutex<HashMap<String, (Instant, Option<Device>)>>,
}

impl Registry {
    pub fn new(chain: Arc<dyn Chain>, ttl: Duration) -> Self {
        Registry { chain, ttl, cache: tokio::sync::Mutex::new(HashMap::new()) }
    }
    pub async fn get(&self, id: &str) -> Result<Option<Device>, ChainError> {
        {
            let cache = self.cache.lock().await;
            if let Some((at, d)) = cache.get(id) {
                if at.elapsed() < self.ttl {
                    return Ok(d.clone());
                }
            }
        }
        let d: Option<Device> = scf_client::load(self.chain.as_ref(), &device::device_key(id)).await?;
        let mut cache = self.cache.lock().await;
        if cache.len() > 100_000 {
            cache.clear();
        }
        cache.insert(id.to_string(), (Instant::now(), d.clone()));
        Ok(d)
    }
}

/// A running service. Dropping it does not stop it; call [`IngestHandle::shutdown`].
pub struct IngestHandle {
    pub store: Arc<Store>,
    pub stats: Arc<Stats>,
    pub anchorer: scf_ledger::crypto::Address,
    client: AsyncClient,
    tasks: Vec<JoinHandle<()>>,
}

impl IngestHandle {
    /// Stop: disconnect from the broker and end every task.
    pub async fn shutdown(self) {
        let _ = self.client.disconnect().await;
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }

    /// The inclusion proof of a stored reading.
    pub fn proof(
        &self,
        device_id: &str,
        seq: u64,
    ) -> Result<Option<crate::store::ReadingProof>, crate::store::StoreError> {
        self.store.proof(device_id, seq, self.anchorer)
    }
}

struct Incoming {
    publish: Publish,
    received_ms: u64,
}

/// An accepted reading for the rules task.
struct Accepted {
    reading: Reading,
    leaf: scf_ledger::crypto::Hash32,
    received_ms: u64,
}

/// Start the service: open the store, reconcile pending anchors, connect, subscribe.
/// `key` signs anchor and alert transactions (an account of a consortium organisation).
pub async fn start(cfg: IngestConfig, chain: Arc<dyn Chain>, key: KeyPair) -> Result<IngestHandle, IngestError> {
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| IngestError::DataDir(format!("{}: {e}", cfg.data_dir.display())))?;
    if cfg.metrics_listen.is_some() {
        crate::metrics::init_prometheus(cfg.metrics_listen).map_err(IngestError::DataDir)?;
    }
    let store = Arc::new(Store::open(&cfg.data_dir.join("readings.redb"))?);
    let stats = Arc::new(Stats::default());
    let signer = Arc::new(Signer::new(key));
    let anchorer = signer.address();
    let registry = Arc::new(Registry::new(chain.clone(), cfg.registry_ttl));

    let mut opts = mqtt_options(&cfg.broker, &cfg.client_id)?;
    opts.set_manual_acks(true);
    opts.set_clean_session(false);
    opts.set_request_channel_capacity(cfg.group_max.max(64) * 2);
    let (client, mut eventloop) = AsyncClient::new(opts, cfg.group_max.max(64) * 2);

    let (in_tx, in_rx) = mpsc::channel::<Incoming>(cfg.group_max.max(64) * 4);
    let (rule_tx, rule_rx) = mpsc::channel::<Accepted>(65_536);
    let mut tasks = Vec::new();

    // MQTT: poll forever, (re)subscribe on every connection, hand publishes to the worker.
    let sub = cfg.subscription();
    let sub_client = client.clone();
    tasks.push(tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Err(e) = sub_client.subscribe(sub.clone(), QoS::AtLeastOnce).await {
                        tracing::warn!("subscribe: {e}");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(publish))) => {
                    if in_tx.send(Incoming { publish, received_ms: now_ms() }).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!("mqtt: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }));

    let w = Worker {
        cfg: cfg.clone(),
        registry: registry.clone(),
        store: store.clone(),
        stats: stats.clone(),
        client: client.clone(),
        rule_tx,
    };
    tasks.push(tokio::spawn(w.run(in_rx)));

    let a = Anchorer {
        cfg: cfg.clone(),
        chain: chain.clone(),
        store: store.clone(),
        stats: stats.clone(),
        signer: signer.clone(),
    };
    tasks.push(tokio::spawn(a.run()));

    let r = RulesTask {
        cfg: cfg.clone(),
        chain,
        registry,
        stats: stats.clone(),
        signer,
        states: HashMap::new(),
        last: HashMap::new(),
    };
    tasks.push(tokio::spawn(r.run(rule_rx)));

    Ok(IngestHandle { store, stats, anchorer, client, tasks })
}

// ---------------------------------------------------------------------------------------------
// Worker: verify, store, acknowledge
// ---------------------------------------------------------------------------------------------

struct Worker {
    cfg: IngestConfig,
    registry: Arc<Registry>,
    store: Arc<Store>,
    stats: Arc<Stats>,
    client: AsyncClient,
    rule_tx: mpsc::Sender<Accepted>,
}

/// The verdict on one message before storage.
enum Verdict {
    Reject(RejectReason),
    Verify { env: Box<wire::Envelope>, device: Box<Device>, org: String },
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<Incoming>) {
        loop {
            let Some(first) = rx.recv().await else { return };
            let mut group = vec![first];
            while group.len() < self.cfg.group_max {
                match rx.try_recv() {
                    Ok(m) => group.push(m),
                    Err(_) => break,
                }
            }
            if let Err(e) = self.process(group).await {
                // Nothing of the group was acknowledged: the broker redelivers after reconnecting.
                tracing::error!("ingest group failed, not acknowledged: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    async fn classify(&self, m: &Incoming, now: u64) -> Result<Verdict, IngestError> {
        let Some((org, topic_dev)) = wire::parse_topic(&m.publish.topic) else {
            return Ok(Verdict::Reject(RejectReason::TopicMismatch));
        };
        let env = match wire::decode(&m.publish.payload) {
            Ok(e) => e,
            Err(_) => return Ok(Verdict::Reject(RejectReason::Malformed)),
        };
        if env.reading.device_id != topic_dev {
            return Ok(Verdict::Reject(RejectReason::TopicMismatch));
        }
        let Some(device) = self.registry.get(&env.reading.device_id).await? else {
            return Ok(Verdict::Reject(RejectReason::UnknownDevice));
        };
        if !device.is_active() {
            return Ok(Verdict::Reject(RejectReason::Revoked));
        }
        if device.owner != org {
            return Ok(Verdict::Reject(RejectReason::WrongOrg));
        }
        let t = env.reading.time_ms;
        if t.saturating_add(self.cfg.max_skew_ms) < now {
            return Ok(Verdict::Reject(RejectReason::Stale));
        }
        if t > now.saturating_add(self.cfg.max_skew_ms) {
            return Ok(Verdict::Reject(RejectReason::Future));
        }
        Ok(Verdict::Verify { env: Box::new(env), device: Box::new(device), org: org.to_string() })
    }

    async fn process(&self, group: Vec<Incoming>) -> Result<(), IngestError> {
        let now = now_ms();
        let mut verdicts = Vec::with_capacity(group.len());
        for m in &group {
            verdicts.push(self.classify(m, now).await?);
        }
        // SM2 verification on all cores.
        let verdicts = tokio::task::spawn_blocking(move || {
            verdicts
                .into_par_iter()
                .map(|v| match v {
                    Verdict::Verify { env, device, org } => {
                        if env.verify(&device.public_key) {
                            Verdict::Verify { env, device, org }
                        } else {
                            Verdict::Reject(RejectReason::BadSignature)
                        }
                    }
                    r => r,
                })
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| IngestError::Anchor(format!("verify task: {e}")))?;

        let mut candidates = Vec::new();
        let mut slots = Vec::with_capacity(group.len());
        for (m, v) in group.iter().zip(verdicts) {
            match v {
                Verdict::Reject(r) => slots.push(Err(r)),
                Verdict::Verify { env, org, .. } => {
                    slots.push(Ok(candidates.len()));
                    candidates.push(Candidate {
                        org,
                        reading: env.reading,
                        leaf: env.leaf,
                        message: m.publish.payload.to_vec(),
                        received_ms: m.received_ms,
                    });
                }
            }
        }
        let store = self.store.clone();
        let (candidates, outcomes) =
            tokio::task::spawn_blocking(move || store.store(&candidates).map(|o| (candidates, o)))
                .await
                .map_err(|e| IngestError::Anchor(format!("store task: {e}")))??;

        // Durable: acknowledge, in arrival order.
        for m in &group {
            if let Err(e) = self.client.ack(&m.publish).await {
                tracing::warn!("ack: {e}");
            }
        }
        let mut accepted = 0;
        for slot in slots {
            match slot {
                Err(r) => self.stats.reject(r),
                Ok(i) => match outcomes.get(i) {
                    Some(StoreOutcome::Stored { .. }) => {
                        accepted += 1;
                        if let Some(c) = candidates.get(i) {
                            let a = Accepted { reading: c.reading.clone(), leaf: c.leaf, received_ms: c.received_ms };
                            let _ = self.rule_tx.try_send(a);
                        }
                    }
                    Some(StoreOutcome::Replay) => self.stats.reject(RejectReason::Replay),
                    Some(StoreOutcome::TooOld) | None => self.stats.reject(RejectReason::SeqTooOld),
                },
            }
        }
        self.stats.accept(accepted);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Anchoring
// ---------------------------------------------------------------------------------------------

struct Anchorer {
    cfg: IngestConfig,
    chain: Arc<dyn Chain>,
    store: Arc<Store>,
    stats: Arc<Stats>,
    signer: Arc<Signer>,
}

impl Anchorer {
    async fn run(self) {
        let tick = self.cfg.batch_interval.min(Duration::from_millis(200)).max(Duration::from_millis(10));
        let mut last_cut = Instant::now();
        loop {
            if let Err(e) = self.step(&mut last_cut).await {
                tracing::warn!("anchoring: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::time::sleep(tick).await;
        }
    }

    async fn step(&self, last_cut: &mut Instant) -> Result<(), IngestError> {
        // Finish what an earlier run (or a failed attempt) left pending, oldest first.
        for b in self.store.pending_batches()? {
            self.anchor(&b).await?;
        }
        loop {
            let (from, next) = self.store.unbatched()?;
            let n = next.saturating_sub(from);
            let due = n >= self.cfg.batch_max || (n > 0 && last_cut.elapsed() >= self.cfg.batch_interval);
            if !due {
                return Ok(());
            }
            let Some(b) = self.store.cut_batch(self.cfg.batch_max, now_ms())? else { return Ok(()) };
            *last_cut = Instant::now();
            self.anchor(&b).await?;
        }
    }

    /// Anchor `b` unless the chain already has it (a restart after the transaction committed).
    async fn anchor(&self, b: &BatchRecord) -> Result<(), IngestError> {
        let me = self.signer.address();
        if let Some(a) =
            scf_client::load::<device::Anchor>(self.chain.as_ref(), &device::anchor_key(&me, b.batch)).await?
        {
            return self.reconcile(b, &a);
        }
        let call = DeviceCall::AnchorBatch {
            batch: b.batch,
            root: b.root,
            count: u32::try_from(b.count()).map_err(|_| IngestError::Anchor("batch too large".into()))?,
            first: b.first.clone(),
            last: b.last.clone(),
        };
        let r = self.signer.call(self.chain.as_ref(), &call, self.cfg.chain_timeout).await?;
        match r.failure_code() {
            None => {
                self.store.mark_anchored(b.batch, r.tx_id, r.height)?;
                self.stats.anchored();
                Ok(())
            }
            Some("ANCHOR_EXISTS") => {
                match scf_client::load::<device::Anchor>(self.chain.as_ref(), &device::anchor_key(&me, b.batch)).await?
                {
                    Some(a) => self.reconcile(b, &a),
                    None => {
                        Err(IngestError::Anchor(format!("batch {}: chain says anchored but has no record", b.batch)))
                    }
                }
            }
            Some(code) => Err(IngestError::Anchor(format!("batch {}: refused: {code}: {:?}", b.batch, r.outcome))),
        }
    }

    fn reconcile(&self, b: &BatchRecord, a: &device::Anchor) -> Result<(), IngestError> {
        if a.root != b.root || u64::from(a.count) != b.count() {
            return Err(IngestError::Anchor(format!(
                "batch {}: chain holds root {} for this number but the store has {} — the store does not belong to this anchoring key",
                b.batch, a.root, b.root
            )));
        }
        self.store.mark_anchored(b.batch, a.tx_id, a.height)?;
        self.stats.anchored();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Rules and alerts
// ---------------------------------------------------------------------------------------------

struct RulesTask {
    cfg: IngestConfig,
    chain: Arc<dyn Chain>,
    registry: Arc<Registry>,
    stats: Arc<Stats>,
    signer: Arc<Signer>,
    states: HashMap<(String, u32), RuleState>,
    /// Last accepted reading per device (for silence observations).
    last: HashMap<String, (u64, u64, scf_ledger::crypto::Hash32)>,
}

impl RulesTask {
    async fn run(mut self, mut rx: mpsc::Receiver<Accepted>) {
        let mut tick = tokio::time::interval(self.cfg.rule_tick);
        loop {
            tokio::select! {
                m = rx.recv() => {
                    let Some(a) = m else { return };
                    self.on_reading(a).await;
                }
                _ = tick.tick() => self.on_tick().await,
            }
        }
    }

    async fn on_reading(&mut self, a: Accepted) {
        let dev = match self.registry.get(&a.reading.device_id).await {
            Ok(Some(d)) => d,
            _ => return,
        };
        self.last.insert(dev.id.clone(), (a.reading.seq, a.reading.time_ms, a.leaf));
        for (i, rule) in dev.rules.iter().enumerate() {
            let st = self.states.entry((dev.id.clone(), i as u32)).or_default();
            if let Some(f) = rules::on_reading(rule, st, &a.reading, a.received_ms) {
                let obs = Observation {
                    seq: a.reading.seq,
                    time_ms: a.reading.time_ms,
                    reading_type: f.reading_type,
                    value: f.value,
                    leaf: a.leaf,
                };
                self.raise(&dev.id, i as u32, obs, f.detail).await;
            }
        }
    }

    async fn on_tick(&mut self) {
        let now = now_ms();
        let keys: Vec<(String, u32)> = self.states.keys().cloned().collect();
        for (dev_id, i) in keys {
            let Ok(Some(dev)) = self.registry.get(&dev_id).await else { continue };
            let Some(rule) = dev.rules.get(i as usize) else { continue };
            let Some(st) = self.states.get_mut(&(dev_id.clone(), i)) else { continue };
            if let Some(f) = rules::on_tick(rule, st, now) {
                let Some((seq, time_ms, leaf)) = self.last.get(&dev_id).cloned() else { continue };
                let obs = Observation { seq, time_ms, reading_type: None, value: None, leaf };
                self.raise(&dev_id, i, obs, f.detail).await;
            }
        }
    }

    async fn raise(&self, device_id: &str, rule_index: u32, observation: Observation, detail: String) {
        let detail: String = detail.chars().take(device::MAX_TEXT).collect();
        let call = DeviceCall::RaiseAlert { device_id: device_id.to_string(), rule_index, observation, detail };
        match self.signer.call(self.chain.as_ref(), &call, self.cfg.chain_timeout).await {
            Ok(r) => match r.failure_code() {
                None => self.stats.alert(),
                Some("ALERT_OPEN") => tracing::info!("alert for {device_id} rule {rule_index} already open"),
                Some(code) => tracing::warn!("raise alert {device_id}/{rule_index}: {code}"),
            },
            Err(e) => tracing::warn!("raise alert {device_id}/{rule_index}: {e}"),
        }
    }
}

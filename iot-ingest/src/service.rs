//! The ingestion service: subscribe (QoS 1), verify, store, acknowledge, batch, anchor, evaluate rules,
//! send alerts from the outbox.
//!
//! ```text
//! broker ──PUBLISH──► mqtt task ──bounded channel──► worker: group of messages
//!                                             0. partition: a device owned by another instance → ack, skip
//!                                             1. decode (bounded CBOR/COSE)
//!                                             2. registry (chain, cached `registry_ttl`): known, active, owner = topic org
//!                                             3. clock skew
//!                                             4. SM2 verify on all cores (rayon)
//!                                             5. one fsynced redb transaction: replay window, append, rule
//!                                                states, alerts fired → outbox
//!                                             6. PUBACK every message of the group, in arrival order
//! alert task: outbox → sign (recorded before sending) → submit → receipt settles the entry; silence ticks
//! anchor task: every `batch_max` readings or `batch_interval`: cut a batch (durable), AnchorBatch tx,
//!              mark anchored; at start, pending batches are first reconciled with the chain.
//! ```
//! A message is acknowledged only after step 5 committed (rejected ones too: redelivering them would
//! not change the verdict). A group that fails (chain unreachable with no cached device record, store
//! error) is retried, never dropped: the worker stops taking messages, the bounded channel fills, the MQTT
//! task stops reading and the broker holds the rest — back-pressure, not loss. A crash before step 6 makes
//! the broker redeliver: the replay window, stored in the same transaction as the reading, refuses the
//! copy — nothing is lost, nothing stored twice.
//!
//! Alerts are exactly-once or loudly failed: the outbox entry is written with the reading that fired it;
//! its signed transaction is recorded before it is sent and resent byte for byte (same id, same nonce)
//! until the chain has a receipt for it. A new transaction is signed only when the chain proves the
//! recorded one can never commit (its nonce consumed by another transaction, or its expiry height passed),
//! so two transactions for one alert can never both commit. A refusal other than "already open" is kept
//! in the store as `Refused`, logged as an error and counted (`scf_iot_alerts_refused_total`).
//!
//! Several instances on one broker each own the devices of their [`Partition`] (an SM3 hash of the device
//! id): every instance subscribes to every telemetry message and acknowledges, without storing, those of
//! devices it does not own. A device's replay window, rule state and readings therefore live in exactly
//! one store. Each instance signs with its own key, so its batch numbering on chain is its own; a store
//! whose numbering is behind the chain's for its key (two stores sharing a key) is refused at start.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS};
use scf_domain::device::{self, Device, DeviceCall};
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::receipt::Receipt;
use scf_ledger::tx::SignedTx;
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;

use crate::broker::{mqtt_options, BrokerArgs};
use crate::metrics::{RejectReason, Stats};
use crate::store::{BatchRecord, Candidate, Delivery, OutboxAlert, Store, StoreOutcome};
use crate::wire::{self, TELEMETRY_FILTER};
use scf_client::{committed_nonce, now_ms, Chain, ChainError, Signer};

/// The share of devices one instance owns when several run against one broker: device `d` belongs to
/// instance `index` of `count` when the first 8 bytes of SM3(`d`), as a big-endian integer, are
/// `index` modulo `count`. Changing `count` moves devices between stores (and their replay windows and rule
/// states with them): stop every instance first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Partition {
    pub index: u32,
    pub count: u32,
}

impl Partition {
    /// The single instance owning every device.
    pub const ALL: Partition = Partition { index: 0, count: 1 };

    /// Parse `index/count`, e.g. `0/2`.
    pub fn parse(s: &str) -> Result<Partition, IngestError> {
        let bad = |reason: &str| IngestError::Config { field: "partition", reason: format!("{s:?}: {reason}") };
        let (i, n) = s.split_once('/').ok_or_else(|| bad("expected index/count, e.g. 0/2"))?;
        let index: u32 = i.trim().parse().map_err(|_| bad("index is not a number"))?;
        let count: u32 = n.trim().parse().map_err(|_| bad("count is not a number"))?;
        if count == 0 || index >= count {
            return Err(bad("index must be below count, and count at least 1"));
        }
        Ok(Partition { index, count })
    }

    pub fn owns(&self, device_id: &str) -> bool {
        if self.count <= 1 {
            return true;
        }
        let h = Hash32::of(device_id.as_bytes()).0;
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[..8]);
        u64::from_be_bytes(first) % u64::from(self.count) == u64::from(self.index)
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// Service configuration (the CLI's `IngestArgs` build one).
#[derive(Clone, Debug)]
pub struct IngestConfig {
    pub data_dir: PathBuf,
    pub broker: BrokerArgs,
    /// MQTT client id; stable across restarts so the broker redelivers unacknowledged messages. Empty:
    /// derived from the signing account and the partition, so two instances never share one.
    pub client_id: String,
    /// Shared-subscription group (`$share/{group}/...`): the broker spreads messages over the group's
    /// members whatever their device, so it is allowed only for a single instance (a device's readings
    /// must all reach the store that holds its replay window and rule state). `None`: a plain subscription.
    pub share_group: Option<String>,
    /// The devices this instance owns.
    pub partition: Partition,
    /// Largest allowed |device time − service time|.
    pub max_skew_ms: u64,
    /// Anchor after this many readings...
    pub batch_max: u64,
    /// ...or after this long, whichever comes first.
    pub batch_interval: Duration,
    /// How long a device record read from chain is trusted (revocations take effect within it).
    pub registry_ttl: Duration,
    /// How long one registry read may take before the cached record (if any) is used instead.
    pub registry_timeout: Duration,
    /// How old a cached device record may be and still be used while the chain cannot be read.
    pub registry_stale_max: Duration,
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
            client_id: String::new(),
            share_group: None,
            partition: Partition::ALL,
            max_skew_ms: 300_000,
            batch_max: 1000,
            batch_interval: Duration::from_secs(5),
            registry_ttl: Duration::from_secs(2),
            registry_timeout: Duration::from_secs(2),
            registry_stale_max: Duration::from_secs(600),
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

    /// The MQTT client id: the configured one, or one derived from the signing account and partition.
    pub fn client_id_for(&self, account: &scf_ledger::crypto::Address) -> String {
        if !self.client_id.is_empty() {
            return self.client_id.clone();
        }
        let hex = account.to_hex();
        let short = hex.get(..16).unwrap_or(&hex);
        format!("scf-ingest-{short}-p{}of{}", self.partition.index, self.partition.count)
    }

    /// Refuse settings under which instances would corrupt each other's state.
    pub fn check(&self) -> Result<(), IngestError> {
        if self.partition.count > 1 && self.share_group.is_some() {
            return Err(IngestError::Config {
                field: "share_group",
                reason: "a shared subscription splits a device's readings across instances; partitioned \
                         instances each need every message (use no share group)"
                    .into(),
            });
        }
        if self.group_max == 0 {
            return Err(IngestError::Config { field: "group_max", reason: "must be at least 1".into() });
        }
        Ok(())
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
    #[error("{field}: {reason}")]
    Config { field: &'static str, reason: String },
    #[error(
        "key: account {account} has anchored batches up to {chain_next} on chain but this store only knows \
         {store_next}: another ingestion store signs with the same key (give each instance its own key)"
    )]
    KeyInUse { account: String, chain_next: u64, store_next: u64 },
    #[error("alert {id}: the recorded transaction does not decode: {reason}")]
    OutboxTx { id: u64, reason: String },
}

/// Device records from chain, cached for `ttl`. While the chain cannot be read, a cached record up to
/// `stale_max` old is used (readings of known devices keep being stored and acknowledged during an outage;
/// a revocation then takes effect once the chain answers again).
pub struct Registry {
    chain: Arc<dyn Chain>,
    ttl: Duration,
    timeout: Duration,
    stale_max: Duration,
    cache: tokio::sync::Mutex<HashMap<String, (Instant, Option<Device>)>>,
}

impl Registry {
    pub fn new(chain: Arc<dyn Chain>, ttl: Duration) -> Self {
        Registry {
            chain,
            ttl,
            timeout: Duration::from_secs(2),
            stale_max: Duration::from_secs(600),
            cache: tokio::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Bound each chain read by `timeout` and use cached records up to `stale_max` old when reads fail.
    pub fn with_outage_policy(mut self, timeout: Duration, stale_max: Duration) -> Self {
        self.timeout = timeout;
        self.stale_max = stale_max;
        self
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
        let read = tokio::time::timeout(
            self.timeout,
            scf_client::load::<Device>(self.chain.as_ref(), &device::device_key(id)),
        )
        .await
        .unwrap_or(Err(ChainError::Timeout(self.timeout)));
        let mut cache = self.cache.lock().await;
        match read {
            Ok(d) => {
                if cache.len() > 100_000 {
                    cache.clear();
                }
                cache.insert(id.to_string(), (Instant::now(), d.clone()));
                Ok(d)
            }
            Err(e) => match cache.get(id) {
                Some((at, d)) if at.elapsed() < self.stale_max => {
                    tracing::warn!(
                        "registry: {id}: chain read failed ({e}); using the record cached {:?} ago",
                        at.elapsed()
                    );
                    Ok(d.clone())
                }
                _ => Err(e),
            },
        }
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

/// Start the service: open the store, check the key's batch numbering, connect, subscribe.
/// `key` signs anchor and alert transactions (an account of a consortium organisation).
pub async fn start(cfg: IngestConfig, chain: Arc<dyn Chain>, key: KeyPair) -> Result<IngestHandle, IngestError> {
    cfg.check()?;
    std::fs::create_dir_all(&cfg.data_dir)
        .map_err(|e| IngestError::DataDir(format!("{}: {e}", cfg.data_dir.display())))?;
    if cfg.metrics_listen.is_some() {
        crate::metrics::init_prometheus(cfg.metrics_listen).map_err(IngestError::DataDir)?;
    }
    let store = Arc::new(Store::open(&cfg.data_dir.join("readings.redb"))?);
    let stats = Arc::new(Stats::default());
    let signer = Arc::new(Signer::new(key));
    let anchorer = signer.address();
    check_key_owner(chain.as_ref(), &store, &anchorer).await?;
    let registry = Arc::new(
        Registry::new(chain.clone(), cfg.registry_ttl).with_outage_policy(cfg.registry_timeout, cfg.registry_stale_max),
    );

    let client_id = cfg.client_id_for(&anchorer);
    let mut opts = mqtt_options(&cfg.broker, &client_id)?;
    opts.set_manual_acks(true);
    opts.set_clean_session(false);
    opts.set_request_channel_capacity(cfg.group_max.max(64) * 2);
    let (client, mut eventloop) = AsyncClient::new(opts, cfg.group_max.max(64) * 2);

    let (in_tx, in_rx) = mpsc::channel::<Incoming>(cfg.group_max.max(64) * 4);
    let wake = Arc::new(Notify::new());
    let mut tasks = Vec::new();

    // MQTT: poll forever, (re)subscribe on every connection, hand publishes to the worker. `send` waits
    // while the worker is behind: the event loop is not polled, so the broker's in-flight window fills and
    // it stops sending.
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
        registry,
        store: store.clone(),
        stats: stats.clone(),
        client: client.clone(),
        wake: wake.clone(),
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

    let o = AlertSender { cfg: cfg.clone(), chain, store: store.clone(), stats: stats.clone(), signer, wake };
    tasks.push(tokio::spawn(o.run()));

    Ok(IngestHandle { store, stats, anchorer, client, tasks })
}

/// Refuse a store whose batch numbering is behind the chain's for this key: another store anchors with it.
async fn check_key_owner(
    chain: &dyn Chain,
    store: &Store,
    account: &scf_ledger::crypto::Address,
) -> Result<(), IngestError> {
    let chain_next: u64 = scf_client::load(chain, &device::anchor_next_key(account)).await?.unwrap_or(0);
    let store_next = store.next_batch()?;
    if chain_next > store_next {
        return Err(IngestError::KeyInUse { account: account.to_hex(), chain_next, store_next });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Worker: verify, store (with rules and outbox), acknowledge
// ---------------------------------------------------------------------------------------------

struct Worker {
    cfg: IngestConfig,
    registry: Arc<Registry>,
    store: Arc<Store>,
    stats: Arc<Stats>,
    client: AsyncClient,
    wake: Arc<Notify>,
}

/// The verdict on one message before storage.
enum Verdict {
    /// A device of another partition: acknowledged, not stored (its owner receives its own copy).
    NotOurs,
    Reject(RejectReason),
    Verify {
        env: Box<wire::Envelope>,
        device: Box<Device>,
        org: String,
    },
}

const RETRY_MIN: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(5);

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
            // A group is retried until it is stored: nothing of it was acknowledged, and dropping it would
            // leave the broker waiting for acknowledgements it redelivers only on a new connection.
            let mut wait = RETRY_MIN;
            while let Err(e) = self.process(&group).await {
                tracing::error!("ingest group of {} failed, not acknowledged, retrying in {wait:?}: {e}", group.len());
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(RETRY_MAX);
            }
        }
    }

    async fn classify(&self, m: &Incoming, now: u64) -> Result<Verdict, IngestError> {
        let Some((org, topic_dev)) = wire::parse_topic(&m.publish.topic) else {
            return Ok(Verdict::Reject(RejectReason::TopicMismatch));
        };
        if !self.cfg.partition.owns(topic_dev) {
            return Ok(Verdict::NotOurs);
        }
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

    async fn process(&self, group: &[Incoming]) -> Result<(), IngestError> {
        let now = now_ms();
        let mut verdicts = Vec::with_capacity(group.len());
        for m in group {
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
                Verdict::NotOurs => slots.push(Slot::NotOurs),
                Verdict::Reject(r) => slots.push(Slot::Rejected(r)),
                Verdict::Verify { env, org, device } => {
                    slots.push(Slot::Stored(candidates.len()));
                    candidates.push(Candidate {
                        org,
                        reading: env.reading,
                        leaf: env.leaf,
                        message: m.publish.payload.to_vec(),
                        received_ms: m.received_ms,
                        rules: device.rules,
                    });
                }
            }
        }
        let store = self.store.clone();
        let outcomes = tokio::task::spawn_blocking(move || store.store(&candidates))
            .await
            .map_err(|e| IngestError::Anchor(format!("store task: {e}")))??;

        // Durable (readings, rule states and the alerts they fired): acknowledge, in arrival order.
        for m in group {
            if let Err(e) = self.client.ack(&m.publish).await {
                tracing::warn!("ack: {e}");
            }
        }
        self.wake.notify_one();
        let mut accepted = 0;
        for slot in slots {
            match slot {
                Slot::NotOurs => self.stats.other_partition(),
                Slot::Rejected(r) => self.stats.reject(r),
                Slot::Stored(i) => match outcomes.get(i) {
                    Some(StoreOutcome::Stored { .. }) => accepted += 1,
                    Some(StoreOutcome::Replay) => self.stats.reject(RejectReason::Replay),
                    Some(StoreOutcome::TooOld) | None => self.stats.reject(RejectReason::SeqTooOld),
                },
            }
        }
        self.stats.accept(accepted);
        Ok(())
    }
}

enum Slot {
    NotOurs,
    Rejected(RejectReason),
    Stored(usize),
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
            let e = IngestError::Anchor(format!(
                "batch {}: chain holds root {} for this number but the store has {} — the store does not belong to this anchoring key",
                b.batch, a.root, b.root
            ));
            tracing::error!("{e}");
            return Err(e);
        }
        self.store.mark_anchored(b.batch, a.tx_id, a.height)?;
        self.stats.anchored();
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Alerts: the outbox
// ---------------------------------------------------------------------------------------------

struct AlertSender {
    cfg: IngestConfig,
    chain: Arc<dyn Chain>,
    store: Arc<Store>,
    stats: Arc<Stats>,
    signer: Arc<Signer>,
    wake: Arc<Notify>,
}

impl AlertSender {
    async fn run(self) {
        let mut tick = tokio::time::interval(self.cfg.rule_tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut wait = RETRY_MIN;
        loop {
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = tick.tick() => {
                    let store = self.store.clone();
                    match tokio::task::spawn_blocking(move || store.tick(now_ms())).await {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::error!("silence rules: {e}"),
                        Err(e) => tracing::error!("silence rules task: {e}"),
                    }
                }
            }
            match self.drain().await {
                Ok(()) => wait = RETRY_MIN,
                Err(e) => {
                    tracing::warn!("alert outbox: {e}; retrying in {wait:?}");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY_MAX);
                }
            }
        }
    }

    /// Settle every pending alert, oldest first.
    async fn drain(&self) -> Result<(), IngestError> {
        loop {
            self.stats.set_alerts_pending(self.store.outbox_len()?);
            let pending = self.store.pending_alerts(64)?;
            if pending.is_empty() {
                return Ok(());
            }
            for a in pending {
                self.deliver(a).await?;
            }
        }
    }

    async fn deliver(&self, mut a: OutboxAlert) -> Result<(), IngestError> {
        let mut wait = RETRY_MIN;
        loop {
            let tx = match &a.tx {
                Some(bytes) => SignedTx::from_bytes(bytes)
                    .map_err(|e| IngestError::OutboxTx { id: a.id, reason: e.to_string() })?,
                None => {
                    let detail: String = a.detail.chars().take(device::MAX_TEXT).collect();
                    let call = DeviceCall::RaiseAlert {
                        device_id: a.device_id.clone(),
                        rule_index: a.rule_index,
                        observation: a.observation.clone(),
                        detail,
                    };
                    let tx = self.signer.sign(self.chain.as_ref(), &call).await?;
                    // Recorded before it can reach the chain: after a crash the same bytes are resent.
                    self.store.set_alert_tx(a.id, Some(tx.to_bytes()))?;
                    a.tx = Some(tx.to_bytes());
                    tx
                }
            };
            let id = tx.id();
            if let Some(r) = self.chain.receipt(&id).await? {
                return self.settle(&a, &r);
            }
            if self.can_never_commit(&tx).await? {
                tracing::info!("alert {}: transaction {id} can no longer commit; signing a new one", a.id);
                self.store.set_alert_tx(a.id, None)?;
                a.tx = None;
                continue;
            }
            match self.chain.submit(tx.clone()).await {
                Ok(_) => {}
                // Already pending, or waiting for an earlier nonce: the wait below (or a later pass) decides.
                Err(ChainError::Rejected(r)) => tracing::debug!("alert {}: submit: {}", a.id, r.message),
                Err(e) => return Err(e.into()),
            }
            match self.chain.wait(&id, self.cfg.chain_timeout).await {
                Ok(r) => return self.settle(&a, &r),
                Err(ChainError::Dropped(_)) | Err(ChainError::Timeout(_)) => {
                    self.signer.resync().await;
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(RETRY_MAX);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The chain proves `tx` will never commit: no receipt for it, and either its nonce was used by
    /// another transaction or its expiry height has passed. The receipt is read again after the tip, so a
    /// commit racing with these reads is seen.
    async fn can_never_commit(&self, tx: &SignedTx) -> Result<bool, IngestError> {
        let Some(tip) = self.chain.tip().await? else { return Ok(false) };
        let expired = tip.height > tx.body.expiry_height;
        let used = committed_nonce(self.chain.as_ref(), &tx.sender_address(), tip.height).await? > tx.body.nonce;
        if !(expired || used) {
            return Ok(false);
        }
        Ok(self.chain.receipt(&tx.id()).await?.is_none())
    }

    fn settle(&self, a: &OutboxAlert, r: &Receipt) -> Result<(), IngestError> {
        let delivery = match r.failure_code() {
            None => {
                self.stats.alert();
                Delivery::Raised { tx_id: r.tx_id, height: r.height }
            }
            Some("ALERT_OPEN") => {
                tracing::info!("alert {} for {} rule {}: already open on chain", a.id, a.device_id, a.rule_index);
                Delivery::AlreadyOpen { tx_id: r.tx_id, height: r.height }
            }
            Some(code) => {
                tracing::error!(
                    "alert {} for {} rule {} REFUSED by the chain: {code}: {:?}",
                    a.id,
                    a.device_id,
                    a.rule_index,
                    r.outcome
                );
                self.stats.alert_refused();
                Delivery::Refused { tx_id: r.tx_id, height: r.height, code: code.to_string() }
            }
        };
        self.store.settle_alert(a.id, delivery)?;
        Ok(())
    }
}

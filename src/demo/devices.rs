//! The demo's IoT side: an embedded MQTT broker on a free loopback port, the ingestion service (signing
//! anchors and alerts with the consortium's ingestion account), and the seeded devices simulated as
//! firmware would behave: each signs its own readings with its own SM2 key (COSE_Sign1) and publishes
//! them over MQTT, so everything after the publish is the production path.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context};
use rumqttc::AsyncClient;
use scf_client::Chain;
use scf_iot_ingest::broker::{mqtt_options, BrokerArgs, EmbeddedBroker};
use scf_iot_ingest::mqtt_access::{generate_password, set_password, Access};
use scf_iot_ingest::sim::Publisher;
use scf_iot_ingest::wire::{telemetry_topic, DeviceReading, WireValue};
use scf_iot_ingest::{IngestConfig, IngestHandle};
use tokio::task::JoinHandle;

use crate::seed::{self, DemoDevice, SeedPlan};

/// The running IoT side.
pub struct Iot {
    ingest: IngestHandle,
    _broker: EmbeddedBroker,
    simulators: Vec<JoinHandle<()>>,
}

impl Iot {
    pub async fn shutdown(self) {
        for s in &self.simulators {
            s.abort();
        }
        self.ingest.shutdown().await;
    }

    /// The accepted readings, for the API's cold-chain series.
    pub fn readings(&self) -> Arc<dyn scf_graphql::Readings> {
        Arc::new(StoreReadings(self.ingest.store.clone()))
    }
}

/// Most readings one series query returns (a day at one reading every 5 s is 17,280).
const MAX_SERIES: usize = 20_000;

/// [`scf_graphql::Readings`] over the ingestion service's durable store.
struct StoreReadings(Arc<scf_iot_ingest::store::Store>);

impl scf_graphql::Readings for StoreReadings {
    fn series(&self, device_id: &str, from_ms: u64, to_ms: u64) -> Result<Vec<scf_graphql::ReadingPoint>, String> {
        let stored = self.0.device_series(device_id, from_ms, to_ms, MAX_SERIES).map_err(|e| e.to_string())?;
        Ok(stored
            .into_iter()
            .flat_map(|r| {
                let time_ms = r.time_ms;
                r.measurements.into_iter().map(move |m| scf_graphql::ReadingPoint {
                    time_ms,
                    reading_type: m.kind,
                    // Display only: milli-units back to the unit the device used.
                    value: m.value_milli as f64 / 1000.0,
                    unit: m.uom,
                })
            })
            .collect())
    }
}

pub async fn start(data: &Path, plan: &SeedPlan, chain: Arc<dyn Chain>) -> anyhow::Result<Iot> {
    let (_, key) = seed::service_key(&plan.consortium.ingest_account)
        .ok_or_else(|| anyhow!("seeds: ingest_account {:?} is not ORG/account", plan.consortium.ingest_account))?;
    // Each simulated device gets a fresh password in the broker's password file, as a real one would
    // from `scf mqtt passwd`; the default ACL lets it publish only to its own topic.
    let passwd = data.join("mqtt").join("passwd");
    let mut credentials = std::collections::HashMap::new();
    for d in &plan.devices {
        let password = generate_password()?;
        set_password(&passwd, &d.id, &password).with_context(|| format!("MQTT password of device {}", d.id))?;
        credentials.insert(d.id.clone(), password);
    }
    let access = Access::load(&passwd, None).map_err(|e| anyhow!("MQTT broker: {e}"))?;
    let broker =
        EmbeddedBroker::start(([127, 0, 0, 1], 0).into(), access).await.map_err(|e| anyhow!("MQTT broker: {e}"))?;
    let addr = broker.addr;
    let mut cfg = IngestConfig::new(data.join("ingest"), broker.internal_args());
    cfg.client_id = "scf-demo-ingest".into();
    cfg.batch_max = 200;
    cfg.batch_interval = Duration::from_secs(10);
    let ingest = scf_iot_ingest::service::start(cfg, chain, key).await.map_err(|e| anyhow!("IoT ingestion: {e}"))?;
    let started = Instant::now();
    let simulators = plan
        .devices
        .iter()
        .map(|d| {
            let d = d.clone();
            let args = broker.client_args(&d.id, credentials.get(&d.id).map(String::as_str).unwrap_or_default());
            tokio::spawn(async move {
                if let Err(e) = simulate(args, d.clone(), started).await {
                    tracing::warn!(device = %d.id, "simulated device stopped: {e:#}");
                }
            })
        })
        .collect();
    println!(
        "MQTT broker on mqtt://{addr} (username = device id; add one: scf mqtt passwd --file {} --username ID); simulating {} devices",
        passwd.display(),
        plan.devices.len()
    );
    Ok(Iot { ingest, _broker: broker, simulators })
}

/// One device: a reading every `every_s` seconds, the excursion (if any) from `after_s` for `for_s`.
async fn simulate(broker: BrokerArgs, d: DemoDevice, started: Instant) -> anyhow::Result<()> {
    let key = seed::device_key(&d.id);
    let opts = mqtt_options(&broker, &format!("demo-device-{}", d.id))?;
    let (client, eventloop) = AsyncClient::new(opts, 64);
    let publisher = Publisher::start(client, eventloop);
    let topic = telemetry_topic(&d.owner, &d.id);
    let mut tick = tokio::time::interval(Duration::from_secs(d.simulate.every_s));
    // Sequence numbers must rise across restarts too: start from the wall clock in milliseconds.
    let mut seq = 0u64;
    loop {
        tick.tick().await;
        let now = scf_client::now_ms();
        seq = seq.saturating_add(1).max(now);
        let (temperature, humidity) = values(&d, started.elapsed(), seq);
        let reading = DeviceReading {
            device_id: d.id.clone(),
            seq,
            time_ms: now,
            readings: vec![
                ("temperature".into(), WireValue::Float(temperature), "Cel".into()),
                ("humidity".into(), WireValue::Int(humidity), "%RH".into()),
            ],
        };
        let payload = reading.sign(&key).map_err(|e| anyhow!("sign: {e}"))?;
        publisher.publish(topic.clone(), payload).await.map_err(|e| anyhow!("publish: {e}"))?;
    }
}

/// The device's values at `elapsed` since start: nominal with a little deterministic wobble, or the
/// excursion's values while it lasts.
fn values(d: &DemoDevice, elapsed: Duration, seq: u64) -> (f64, i64) {
    let s = &d.simulate;
    let wobble = ((seq / 1000) % 7) as f64 / 10.0 - 0.3;
    let (mut t, mut h) = (s.temperature + wobble, s.humidity + ((seq / 1000) % 3) as i64 - 1);
    if let Some(x) = &s.excursion {
        let secs = elapsed.as_secs();
        if secs >= x.after_s && secs < x.after_s + x.for_s {
            if let Some(xt) = x.temperature {
                t = xt + wobble;
            }
            if let Some(xh) = x.humidity {
                h = xh;
            }
        }
    }
    ((t * 10.0).round() / 10.0, h)
}

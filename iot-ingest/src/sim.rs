//! Simulated devices: each has its own SM2 key and signs on the "device" side exactly as firmware
//! would, so everything after the publish is the real path. Faults can be injected: a temperature
//! excursion, a replay (an earlier message re-sent byte for byte), a forged signature (a valid
//! message signed by a different key) and a malformed payload.

use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, Packet, QoS};
use scf_domain::device::{AlertRule, Binding, DeviceCall, DeviceKind};
use scf_ledger::crypto::KeyPair;

use crate::wire::{telemetry_topic, DeviceReading, WireValue};
use scf_client::{now_ms, Chain, ChainError, InProcessChain, Production, Signer};

/// One simulated device.
#[derive(Clone)]
pub struct SimDevice {
    pub org: String,
    pub id: String,
    pub key: KeyPair,
    pub next_seq: u64,
}

/// `n` devices of `org` named `{prefix}-{i:04}` with keys `KeyPair::from_seed("sim/{org}/{id}")`, so a
/// later run (or a firmware test) can reuse pre-registered keys.
pub fn sim_devices(org: &str, prefix: &str, n: usize) -> Vec<SimDevice> {
    (0..n)
        .map(|i| {
            let id = format!("{prefix}-{i:04}");
            SimDevice { org: org.to_string(), key: KeyPair::from_seed(&format!("sim/{org}/{id}")), id, next_seq: 1 }
        })
        .collect()
}

impl SimDevice {
    pub fn topic(&self) -> String {
        telemetry_topic(&self.org, &self.id)
    }
    /// The next signed reading: temperature in °C (a CBOR float) and humidity (an integer).
    pub fn next(&mut self, time_ms: u64, celsius: f64) -> Result<Vec<u8>, crate::wire::WireError> {
        let r = self.reading(self.next_seq, time_ms, celsius);
        self.next_seq += 1;
        r.sign(&self.key)
    }
    pub fn reading(&self, seq: u64, time_ms: u64, celsius: f64) -> DeviceReading {
        DeviceReading {
            device_id: self.id.clone(),
            seq,
            time_ms,
            readings: vec![
                ("temperature".into(), WireValue::Float(celsius), "Cel".into()),
                ("humidity".into(), WireValue::Int(60), "%RH".into()),
            ],
        }
    }
    /// A well-formed message for this device signed by a key that is not the device's.
    pub fn forged(&mut self, time_ms: u64) -> Result<Vec<u8>, crate::wire::WireError> {
        let r = self.reading(self.next_seq, time_ms, 4.0);
        self.next_seq += 1;
        r.sign(&KeyPair::from_seed(&format!("forger/{}", self.id)))
    }
}

/// A cold-chain rule: temperature above 8 °C for `for_ms`.
pub fn cold_chain_rule(for_ms: u64) -> AlertRule {
    AlertRule::Threshold { reading_type: "temperature".into(), min: None, max: Some(8_000), for_ms }
}

/// The deterministic key of organisation `id` in [`in_process_chain`] chains.
pub fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("org/{id}"))
}

/// A one-validator chain in this process (blocks made as transactions arrive) whose genesis registers
/// `orgs` (id, roles) with keys [`org_key`]: for the benchmark, tests and trying things out.
pub fn in_process_chain(
    chain_id: &str,
    orgs: &[(&str, &[scf_domain::org::Role])],
) -> Result<Arc<InProcessChain>, ChainError> {
    let validator = KeyPair::from_seed("scf-iot-ingest/in-process-validator");
    let validators = vec![scf_ledger::genesis::Validator {
        name: "local".into(),
        public_key: *validator.public(),
        power: 1,
        peer_id: None,
    }];
    let genesis = scf_domain::org::OrgGenesis::of(orgs, |id| *org_key(id).public()).genesis(
        chain_id,
        now_ms().saturating_sub(1000),
        validators,
    );
    InProcessChain::in_memory(&genesis, scf_domain::modules(), Production::Auto).map(Arc::new)
}

/// Why simulated devices could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error(transparent)]
    Chain(#[from] ChainError),
    #[error("register {device}: refused by the device module: {code}: {message}")]
    Refused { device: String, code: String, message: String },
}

/// Register `devices` on chain, signed by their organisation's account `org_key`, all in one go (a
/// device registered before is left as it is).
pub async fn register(
    chain: &dyn Chain,
    org_key: &KeyPair,
    devices: &[SimDevice],
    binding: &Binding,
    rules: &[AlertRule],
) -> Result<(), RegisterError> {
    let signer = Signer::new(org_key.clone());
    for d in devices {
        let call = DeviceCall::Register {
            device_id: d.id.clone(),
            public_key: *d.key.public(),
            kind: DeviceKind::TemperatureHumidity,
            binding: binding.clone(),
            rules: rules.to_vec(),
        };
        let r = signer.call(chain, &call, Duration::from_secs(30)).await?;
        if let scf_ledger::receipt::TxOutcome::Failed { code, message } = r.outcome {
            if code != "DEVICE_EXISTS" {
                return Err(RegisterError::Refused { device: d.id.clone(), code, message });
            }
        }
    }
    Ok(())
}

/// An MQTT publisher with its event loop polled in the background; `acked()` counts PUBACKs.
pub struct Publisher {
    pub client: AsyncClient,
    acks: Arc<std::sync::atomic::AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    pub fn start(client: AsyncClient, mut eventloop: EventLoop) -> Self {
        let acks = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let a = acks.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::PubAck(_))) => {
                        a.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!("publisher: {e}");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        Publisher { client, acks, task }
    }
    pub fn acked(&self) -> u64 {
        self.acks.load(std::sync::atomic::Ordering::Relaxed)
    }
    pub async fn publish(&self, topic: String, payload: Vec<u8>) -> Result<(), rumqttc::ClientError> {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload).await
    }
    pub async fn stop(self) {
        let _ = self.client.disconnect().await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.task.abort();
    }
}

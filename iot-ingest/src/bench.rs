//! `scf bench ingest`: readings per second from publish to durable storage, as a ratio of this
//! machine's SM2-verify ceiling measured in the same run on all cores.
//!
//! Set-up (untimed): an in-process chain, `devices` devices registered, the embedded broker, the
//! ingestion service, and every reading signed in advance. Timed: publish all (QoS 1, one publisher
//! connection) until the store holds every reading. The publisher shares the machine's cores with the
//! broker and the service, as a co-located gateway would.

use std::time::{Duration, Instant};

use rayon::prelude::*;
use rumqttc::AsyncClient;
use scf_domain::device::Binding;
use scf_domain::org::Role;
use serde::Serialize;

use crate::broker::{mqtt_options, EmbeddedBroker};
use crate::mqtt_access::{generate_password, Access, Passwords};
use crate::service::{self, IngestConfig};
use crate::sim::{in_process_chain, org_key, register, sim_devices, Publisher};
use crate::wire;
use scf_client::now_ms;

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct BenchResult {
    pub devices: usize,
    pub readings: u64,
    pub readings_per_s: f64,
    pub rejected: u64,
    /// RustCrypto `sm2` on all cores: the fixed reference of `ratio`.
    pub sm2_verify_ceiling_per_s: f64,
    /// The service's verifier on all cores, device keys warm.
    pub sm2_fast_ceiling_per_s: f64,
    pub ratio: f64,
}

/// SM2 verifications per second on all cores (rayon) over `msgs` (decoded first, untimed), with
/// RustCrypto `sm2` (`fast: false`: the fixed reference the ratio is taken against) or with the
/// verifier the service uses, keys warm as the service sees them (`fast: true`).
pub fn sm2_verify_ceiling(
    msgs: &[Vec<u8>],
    key_of: impl Fn(&str) -> Option<scf_ledger::crypto::PublicKey> + Sync,
    fast: bool,
) -> f64 {
    let envs: Vec<(wire::Envelope, scf_ledger::crypto::PublicKey)> = msgs
        .iter()
        .filter_map(|m| wire::decode(m).ok())
        .filter_map(|e| key_of(&e.reading.device_id).map(|k| (e, k)))
        .collect();
    if envs.is_empty() {
        return 0.0;
    }
    let verify = |(e, k): &(wire::Envelope, scf_ledger::crypto::PublicKey)| {
        if fast {
            e.verify(k)
        } else {
            k.verify_reference(scf_ledger::crypto::DEFAULT_DIST_ID, &e.to_be_signed, &e.signature).is_ok()
        }
    };
    if fast {
        // Untimed: each device's signatures until its table is cached.
        let _ = envs.par_iter().filter(|x| verify(x)).count();
    }
    let mut best = 0.0f64;
    for _ in 0..2 {
        let t = Instant::now();
        let ok = envs.par_iter().filter(|x| verify(x)).count();
        let s = t.elapsed().as_secs_f64();
        if ok == envs.len() && s > 0.0 {
            best = best.max(envs.len() as f64 / s);
        }
    }
    best
}

pub async fn run(devices: usize, readings: u64, batch_max: u64) -> anyhow::Result<BenchResult> {
    let devices = devices.max(1);
    let per_device = readings.div_ceil(devices as u64).max(1);
    let org = "BENCH-WH";
    let chain = in_process_chain("scf-bench", &[(org, &[Role::WarehouseOperator])])?;
    let mut sims = sim_devices(org, "BENCH", devices);
    let binding = Binding::Shipment { id: "BENCH".into() };
    register(chain.as_ref(), &org_key(org), &sims, &binding, &[]).await?;

    // Sign everything before the timed phase, on all cores, interleaved by seq across devices.
    let t0 = now_ms();
    let per_dev: Vec<Vec<(String, Vec<u8>)>> = sims
        .par_iter_mut()
        .map(|d| {
            (0..per_device)
                .filter_map(|i| d.next(t0 + i, 4.0 + (i % 10) as f64 * 0.1).ok().map(|m| (d.topic(), m)))
                .collect()
        })
        .collect();
    let mut msgs = Vec::with_capacity((per_device as usize) * devices);
    for i in 0..per_device as usize {
        for d in &per_dev {
            if let Some(m) = d.get(i) {
                msgs.push(m.clone());
            }
        }
    }
    msgs.truncate(readings as usize);
    let total = msgs.len() as u64;

    let keys: std::collections::HashMap<String, scf_ledger::crypto::PublicKey> =
        sims.iter().map(|d| (d.id.clone(), *d.key.public())).collect();
    let sample: Vec<Vec<u8>> = msgs.iter().take(4000).map(|(_, m)| m.clone()).collect();
    let ceiling = sm2_verify_ceiling(&sample, |id| keys.get(id).copied(), false);
    let fast_ceiling = sm2_verify_ceiling(&sample, |id| keys.get(id).copied(), true);

    // The devices' readings go through the broker's guard (password and ACL checks) as a gateway that
    // may publish for every device; the service reads from the broker directly, as in a member.
    let gateway_password = generate_password()?;
    let access = Access::fixed(
        Passwords::from_plain([("bench-gateway", gateway_password.as_str())])?,
        "user bench-gateway\ntopic write scf/+/devices/+/telemetry\n",
    )?;
    let broker = EmbeddedBroker::start(([127, 0, 0, 1], 0).into(), access).await?;
    let port = broker.addr.port();
    let dir = tempfile::tempdir()?;
    let mut cfg = IngestConfig::new(dir.path().to_path_buf(), broker.internal_args());
    cfg.client_id = format!("bench-ingest-{port}");
    cfg.batch_max = batch_max;
    cfg.batch_interval = Duration::from_secs(1);
    cfg.registry_ttl = Duration::from_secs(600);
    let handle = service::start(cfg, chain.clone(), org_key(org)).await?;

    let mut opts = mqtt_options(&broker.client_args("bench-gateway", &gateway_password), &format!("bench-pub-{port}"))?;
    opts.set_inflight(1000);
    let (client, eventloop) = AsyncClient::new(opts, 10_000);
    let publisher = Publisher::start(client, eventloop);
    // Let the service subscribe before the clock starts.
    let ready = Instant::now();
    while ready.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let start = Instant::now();
    for (topic, m) in msgs {
        publisher.publish(topic, m).await?;
    }
    let deadline = Duration::from_secs(300);
    while handle.store.len()? + handle.stats.rejected_total() < total {
        if start.elapsed() > deadline {
            anyhow::bail!("only {} of {total} readings stored after {deadline:?}", handle.store.len()?);
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    let stored = handle.store.len()?;
    let rate = stored as f64 / secs;
    let rejected = handle.stats.rejected_total();
    publisher.stop().await;
    handle.shutdown().await;
    Ok(BenchResult {
        devices,
        readings: stored,
        readings_per_s: (rate * 10.0).round() / 10.0,
        rejected,
        sm2_verify_ceiling_per_s: (ceiling * 10.0).round() / 10.0,
        sm2_fast_ceiling_per_s: (fast_ceiling * 10.0).round() / 10.0,
        ratio: if ceiling > 0.0 { (rate / ceiling * 1000.0).round() / 1000.0 } else { 0.0 },
    })
}

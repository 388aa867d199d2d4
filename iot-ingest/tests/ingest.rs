//! End-to-end ingestion against real brokers: a Mosquitto started by the test (Debian `mosquitto`) and
//! the embedded rumqttd broker. Devices sign on the "device" side with their own SM2 keys; the chain is
//! the in-process one running the real domain modules.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rumqttc::AsyncClient;
use scf_client::{now_ms, Chain, Signer};
use scf_domain::date::Date;
use scf_domain::device::{self, Binding, DeviceCall};
use scf_domain::org::Role;
use scf_domain::warehouse::{self, FlagSource, GoodsIdentity, ReceiptTerms, StorageLocation, WarehouseCall};
use scf_iot_ingest::broker::{free_port, mqtt_options, start_embedded, BrokerArgs, MosquittoProcess};
use scf_iot_ingest::metrics::{init_prometheus, RejectReason};
use scf_iot_ingest::service::{self, IngestConfig, Partition};
use scf_iot_ingest::sim::{cold_chain_rule, in_process_chain, org_key, register, sim_devices, Publisher, SimDevice};
use scf_iot_ingest::store::{BatchStatus, Store};

const TIMEOUT: Duration = Duration::from_secs(30);

fn embedded() -> std::net::SocketAddr {
    let addr = ([127, 0, 0, 1], free_port().expect("port")).into();
    start_embedded(addr, None).expect("embedded broker");
    addr
}

async fn poll<F: FnMut() -> bool>(what: &str, mut f: F) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < TIMEOUT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn publisher(addr: std::net::SocketAddr, id: &str) -> Publisher {
    let mut o = mqtt_options(&BrokerArgs::plain(addr), id).expect("opts");
    o.set_inflight(500);
    let (c, e) = AsyncClient::new(o, 1000);
    Publisher::start(c, e)
}

fn receipt_terms(number: &str) -> ReceiptTerms {
    ReceiptTerms {
        number: number.into(),
        depositor: "TRADER".into(),
        goods_name: "冷冻虾 Frozen shrimp".into(),
        spec: "20 kg/carton".into(),
        unit: "kg".into(),
        quantity: 2_000,
        packaging: "carton".into(),
        location: StorageLocation { warehouse: "GLN-6901234000016".into(), zone: "COLD".into(), bin: "C-07".into() },
        identity: GoodsIdentity::Lot { lot: "SHRIMP-01".into() },
        insurance: None,
        valid_until: Date::from_time_ms(now_ms()).add_days(180),
        rights_notice: "本仓单可背书转让、质押。".into(),
    }
}

fn config(dir: &Path, addr: std::net::SocketAddr, client_id: &str) -> IngestConfig {
    let mut c = IngestConfig::new(dir.to_path_buf(), BrokerArgs::plain(addr));
    c.client_id = client_id.into();
    c.batch_max = 10;
    c.batch_interval = Duration::from_millis(300);
    c.registry_ttl = Duration::from_millis(0);
    c.max_skew_ms = 60_000;
    c
}

/// Valid readings are accepted, stored, anchored and provable; every kind of bad message is refused
/// and counted by reason; an excursion flags the bound warehouse receipt on chain.
async fn full_story(addr: std::net::SocketAddr, tag: &str) {
    let prom = init_prometheus(None).expect("prometheus");
    let chain =
        in_process_chain("scf-iot-test", &[("WH-A", &[Role::WarehouseOperator]), ("TRADER", &[Role::Supplier])])
            .expect("chain");
    let wh = org_key("WH-A");
    let wh_signer = Signer::new(wh.clone());
    let c = wh_signer
        .call(chain.as_ref(), &WarehouseCall::Issue { terms: receipt_terms("WR-1") }, TIMEOUT)
        .await
        .expect("issue");
    assert_eq!(c.failure_code(), None, "{c:?}");

    let t = receipt_terms("WR-1");
    let cold = Binding::WarehouseLocation { location: t.location.clone(), goods: Some(t.identity.clone()) };
    let mut devs = sim_devices("WH-A", &format!("T{tag}"), 2);
    register(chain.as_ref(), &wh, &devs, &cold, &[cold_chain_rule(2_000)]).await.expect("register");
    let revoked_id = devs[1].id.clone();
    let c = wh_signer
        .call(
            chain.as_ref(),
            &DeviceCall::Revoke { device_id: revoked_id.clone(), reason: "decommissioned".into() },
            TIMEOUT,
        )
        .await
        .expect("revoke");
    assert_eq!(c.failure_code(), None);

    let dir = tempfile::tempdir().expect("tmp");
    let h = service::start(config(dir.path(), addr, &format!("ingest-{tag}")), chain.clone(), wh.clone())
        .await
        .expect("start");
    let p = publisher(addr, &format!("devices-{tag}"));
    tokio::time::sleep(Duration::from_millis(300)).await; // let the subscription settle before QoS 1 traffic

    // 20 good readings.
    let now = now_ms();
    let mut sent = Vec::new();
    for i in 0..20u64 {
        let m = devs[0].next(now + i, 4.0).expect("sign");
        sent.push(m.clone());
        p.publish(devs[0].topic(), m).await.expect("publish");
    }
    poll("20 accepted", || h.stats.accepted() == 20).await;

    // Bad ones, one of each.
    p.publish(devs[0].topic(), sent[3].clone()).await.expect("replay");
    let forged = devs[0].forged(now).expect("forge");
    p.publish(devs[0].topic(), forged).await.expect("forged");
    let mut ghost = SimDevice {
        org: "WH-A".into(),
        id: "GHOST-1".into(),
        key: scf_ledger::crypto::KeyPair::from_seed("ghost"),
        next_seq: 1,
    };
    let m = ghost.next(now, 4.0).expect("sign");
    p.publish(ghost.topic(), m).await.expect("unknown");
    let m = devs[1].next(now, 4.0).expect("sign");
    p.publish(devs[1].topic(), m).await.expect("revoked");
    let m = devs[0].next(now - 3_600_000, 4.0).expect("sign");
    p.publish(devs[0].topic(), m).await.expect("stale");
    let m = devs[0].next(now + 3_600_000, 4.0).expect("sign");
    p.publish(devs[0].topic(), m).await.expect("future");
    p.publish(devs[0].topic(), b"\xd2\x84\x40\xa0\xf6\x40".to_vec()).await.expect("malformed");
    p.publish(devs[0].topic(), b"not cbor at all".to_vec()).await.expect("malformed 2");
    // Signed by the device but published under another organisation's topic.
    let m = devs[0].next(now_ms(), 4.0).expect("sign");
    p.publish(format!("scf/TRADER/devices/{}/telemetry", devs[0].id), m).await.expect("wrong org");
    poll("9 rejections", || h.stats.rejected_total() == 9).await;
    for (r, n) in [
        (RejectReason::Replay, 1),
        (RejectReason::BadSignature, 1),
        (RejectReason::UnknownDevice, 1),
        (RejectReason::Revoked, 1),
        (RejectReason::Stale, 1),
        (RejectReason::Future, 1),
        (RejectReason::Malformed, 2),
        (RejectReason::WrongOrg, 1),
    ] {
        assert_eq!(h.stats.rejected(r), n, "{}", r.as_str());
    }
    assert_eq!(h.stats.accepted(), 20);
    assert_eq!(h.store.len().expect("len"), 20);
    let text = prom.render();
    assert!(text.contains("scf_iot_rejected_total{reason=\"bad_signature\"}"), "{text}");

    // Anchored and provable against the root on chain.
    // Batches are cut every 10 readings or every batch_interval, whichever comes first, so under load
    // the 20 readings may land in more than two batches: wait until every one is in an anchored batch.
    poll("all 20 readings in anchored batches", || {
        let b = h.store.batches().expect("batches");
        b.iter().map(|b| b.count()).sum::<u64>() == 20
            && b.iter().all(|b| matches!(b.status, BatchStatus::Anchored { .. }))
    })
    .await;
    let proof = h.proof(&devs[0].id, 15).expect("proof").expect("reading 15 is batched");
    assert!(proof.verify());
    assert_eq!(proof.reading.message, sent[14]);
    let anchor: device::Anchor = scf_client::load(chain.as_ref(), &device::anchor_key(&h.anchorer, proof.batch))
        .await
        .expect("chain")
        .expect("anchor");
    assert_eq!(anchor.root, proof.root);
    let batch = h.store.batches().expect("batches").into_iter().find(|b| b.batch == proof.batch).expect("batch");
    assert_eq!(u64::from(anchor.count), batch.count());
    assert!(anchor.count >= 1 && anchor.count <= 10, "batches hold at most N = 10 readings");

    // Excursion: above 8 °C for 2 s of device time raises an alert that flags WR-1.
    let start = now_ms();
    for i in 0..4u64 {
        let m = devs[0].next(start + i * 1000, 12.5).expect("sign");
        p.publish(devs[0].topic(), m).await.expect("publish");
    }
    let mut flagged = None;
    let t0 = Instant::now();
    while flagged.is_none() && t0.elapsed() < TIMEOUT {
        let r: Option<warehouse::Receipt> =
            scf_client::load(chain.as_ref(), "warehouse/receipt/WR-1").await.ok().flatten();
        flagged = r.and_then(|r| r.flag);
        if flagged.is_none() {
            flagged = warehouse_flag(&chain).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let flag = flagged.expect("receipt WR-1 flagged by the alert");
    assert_eq!(flag.source, FlagSource::Alert { module: "device".into(), alert_id: format!("{}#1", devs[0].id) });
    assert_eq!(h.stats.alerts_raised.load(std::sync::atomic::Ordering::Relaxed), 1);
    let alert: device::Alert = scf_client::load(chain.as_ref(), &format!("device/alert/{}#1", devs[0].id))
        .await
        .expect("chain")
        .expect("alert");
    assert_eq!(alert.observation.value, Some(12_500));

    p.stop().await;
    h.shutdown().await;
}

/// The receipt's flag, read through the warehouse module's own read helper over the chain's state.
async fn warehouse_flag(chain: &Arc<scf_client::InProcessChain>) -> Option<warehouse::Flag> {
    let state = chain.state(None).ok()?;
    warehouse::load_receipt(state.as_ref(), "WR-1").ok().flatten().and_then(|r| r.flag)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_full_story() {
    let m = MosquittoProcess::start().expect("mosquitto");
    full_story(m.addr, "M").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_full_story() {
    full_story(embedded(), "E").await;
}

/// Kill the service mid-stream (its runtime dropped without any shutdown), restart it on the same
/// store: every reading is stored exactly once and every batch anchored exactly once.
#[test]
fn mosquitto_kill_and_restart_loses_and_duplicates_nothing() {
    let m = MosquittoProcess::start().expect("mosquitto");
    let addr = m.addr;
    let wh = org_key("WH-A");
    let dir = tempfile::tempdir().expect("tmp");
    let total: u64 = 600;
    let devs_rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("rt");
    // The chain makes its blocks on the devices' runtime, which lives through the service's kill.
    let chain = devs_rt
        .block_on(async { in_process_chain("scf-iot-restart", &[("WH-A", &[Role::WarehouseOperator])]) })
        .expect("chain");
    let mut devs = sim_devices("WH-A", "R", 3);
    devs_rt
        .block_on(register(chain.as_ref(), &wh, &devs, &Binding::Shipment { id: "SSCC-1".into() }, &[]))
        .expect("register");

    let svc1 = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let h = svc1
        .block_on(service::start(config(dir.path(), addr, "ingest-restart"), chain.clone(), wh.clone()))
        .expect("start");
    let store = h.store.clone();
    std::thread::sleep(Duration::from_millis(300));

    // Devices publish steadily from their own runtime.
    let pubr = devs_rt.block_on(async { publisher(addr, "devices-restart") });
    let now = now_ms();
    let mut msgs = Vec::new();
    for i in 0..total / 3 {
        for d in devs.iter_mut() {
            msgs.push((d.topic(), d.next(now + i, 4.0).expect("sign")));
        }
    }
    let pub_task = devs_rt.spawn({
        let client = pubr.client.clone();
        async move {
            for (topic, m) in msgs {
                client.publish(topic, rumqttc::QoS::AtLeastOnce, false, m).await.expect("publish");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    });

    // Kill once a third is stored (and at least one batch exists).
    let t0 = Instant::now();
    while store.len().expect("len") < total / 3 {
        assert!(t0.elapsed() < TIMEOUT, "service too slow before kill");
        std::thread::sleep(Duration::from_millis(5));
    }
    let stored_before: Vec<(String, u64)> = {
        let n = store.len().expect("len");
        store.range(0, n).expect("range").into_iter().map(|r| (r.device_id, r.seq)).collect()
    };
    drop(store);
    drop(h);
    svc1.shutdown_background();

    // Restart on the same directory (the old runtime's blocking tasks may still hold the file briefly).
    let svc2 = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let t1 = Instant::now();
    let h2 = loop {
        match svc2.block_on(service::start(config(dir.path(), addr, "ingest-restart"), chain.clone(), wh.clone())) {
            Ok(h) => break h,
            Err(e) => {
                assert!(t1.elapsed() < TIMEOUT, "restart: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    devs_rt.block_on(pub_task).expect("publisher");
    let t2 = Instant::now();
    while h2.store.len().expect("len") < total {
        assert!(t2.elapsed() < TIMEOUT, "only {} of {total} stored after restart", h2.store.len().expect("len"));
        std::thread::sleep(Duration::from_millis(20));
    }
    // Nothing stored twice, nothing acknowledged before the kill lost.
    let all: Vec<(String, u64)> =
        h2.store.range(0, total + 100).expect("range").into_iter().map(|r| (r.device_id, r.seq)).collect();
    assert_eq!(all.len() as u64, total);
    let mut uniq = all.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len() as u64, total, "duplicates stored");
    for r in &stored_before {
        assert!(all.contains(r), "{r:?} was stored before the kill and is gone");
    }
    // Every batch anchored exactly once, contiguous, roots equal to the chain's.
    let t3 = Instant::now();
    loop {
        let b = h2.store.batches().expect("batches");
        let covered: u64 = b.iter().map(|b| b.count()).sum();
        if covered == total && b.iter().all(|b| matches!(b.status, BatchStatus::Anchored { .. })) {
            break;
        }
        assert!(t3.elapsed() < TIMEOUT, "batches not all anchored: {b:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let batches = h2.store.batches().expect("batches");
    let anchorer = wh.address();
    let next = devs_rt
        .block_on(scf_client::load::<u64>(chain.as_ref(), &device::anchor_next_key(&anchorer)))
        .expect("chain")
        .expect("next");
    assert_eq!(next, batches.len() as u64, "chain has exactly the local batches");
    let mut expect_first = 0;
    for b in &batches {
        assert_eq!(b.first_index, expect_first);
        expect_first = b.end_index;
        let a: device::Anchor = devs_rt
            .block_on(scf_client::load(chain.as_ref(), &device::anchor_key(&anchorer, b.batch)))
            .expect("chain")
            .expect("anchor");
        assert_eq!(a.root, b.root);
    }
    assert_eq!(h2.stats.rejected(RejectReason::BadSignature), 0);
    devs_rt.block_on(pubr.stop());
    svc2.block_on(h2.shutdown());
    let _ = Store::open; // the store type is the one under test
}

/// Two instances on one broker, each with its own key, data directory and partition of the devices:
/// every reading is stored by exactly one of them (its device's owner) and anchored exactly once, under
/// that instance's own batch numbering. A third store signing with a key whose batches are already on
/// chain is refused, and so is a shared subscription for partitioned instances.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_broker_anchor_every_reading_once() {
    let m = MosquittoProcess::start().expect("mosquitto");
    let chain =
        in_process_chain("scf-iot-two", &[("WH-A", &[Role::WarehouseOperator]), ("WH-B", &[Role::WarehouseOperator])])
            .expect("chain");
    let (key_a, key_b) = (org_key("WH-A"), org_key("WH-B"));
    let r = Signer::new(key_a.clone())
        .call(chain.as_ref(), &DeviceCall::AuthoriseIngestor { address: key_b.address() }, TIMEOUT)
        .await
        .expect("authorise");
    assert!(r.is_success(), "{r:?}");
    let mut devs = sim_devices("WH-A", "TWO", 8);
    register(chain.as_ref(), &key_a, &devs, &Binding::Shipment { id: "SSCC-2".into() }, &[]).await.expect("register");
    let parts = [Partition { index: 0, count: 2 }, Partition { index: 1, count: 2 }];
    for p in parts {
        assert!(devs.iter().any(|d| p.owns(&d.id)), "partition {p} owns none of the test's devices");
    }

    let dirs = [tempfile::tempdir().expect("tmp"), tempfile::tempdir().expect("tmp")];
    let mut cfgs = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let mut c = config(dirs[i].path(), m.addr, "");
        c.partition = *p;
        cfgs.push(c);
    }
    assert_ne!(cfgs[0].client_id_for(&key_a.address()), cfgs[1].client_id_for(&key_b.address()));
    let mut shared = cfgs[0].clone();
    shared.share_group = Some("g".into());
    assert!(matches!(shared.check(), Err(service::IngestError::Config { field: "share_group", .. })));

    let h0 = service::start(cfgs[0].clone(), chain.clone(), key_a.clone()).await.expect("start 0");
    let h1 = service::start(cfgs[1].clone(), chain.clone(), key_b.clone()).await.expect("start 1");
    let p = publisher(m.addr, "devices-two");
    tokio::time::sleep(Duration::from_millis(300)).await; // let both subscriptions settle

    let per_device = 25u64;
    let total = per_device * devs.len() as u64;
    let now = now_ms();
    for i in 0..per_device {
        for d in devs.iter_mut() {
            let msg = d.next(now + i, 4.0).expect("sign");
            p.publish(d.topic(), msg).await.expect("publish");
        }
    }
    let anchored = |h: &service::IngestHandle| {
        let b = h.store.batches().expect("batches");
        let all = b.iter().all(|b| matches!(b.status, BatchStatus::Anchored { .. }));
        (b.iter().map(|b| b.count()).sum::<u64>(), all)
    };
    poll("every reading stored and anchored by one of the two", || {
        let ((n0, a0), (n1, a1)) = (anchored(&h0), anchored(&h1));
        n0 + n1 == total && a0 && a1
    })
    .await;

    let mut seen = std::collections::HashSet::new();
    for (h, part) in [(&h0, parts[0]), (&h1, parts[1])] {
        let n = h.store.len().expect("len");
        for r in h.store.range(0, n).expect("range") {
            assert!(part.owns(&r.device_id), "{} stored by partition {part}", r.device_id);
            assert!(seen.insert((r.device_id.clone(), r.seq)), "{}/{} stored twice", r.device_id, r.seq);
        }
        // The chain holds exactly this instance's batches, with its roots.
        let next: u64 =
            scf_client::load(chain.as_ref(), &device::anchor_next_key(&h.anchorer)).await.expect("chain").unwrap_or(0);
        let batches = h.store.batches().expect("batches");
        assert_eq!(next, batches.len() as u64);
        for b in &batches {
            let a: device::Anchor = scf_client::load(chain.as_ref(), &device::anchor_key(&h.anchorer, b.batch))
                .await
                .expect("chain")
                .expect("anchor");
            assert_eq!((a.root, u64::from(a.count)), (b.root, b.count()));
        }
    }
    assert_eq!(seen.len() as u64, total);
    assert_eq!(h0.stats.other_partition.load(std::sync::atomic::Ordering::Relaxed) + h0.stats.accepted(), total);

    // A fresh store signing with instance 0's key would restart its numbering at 0: refused.
    let dir3 = tempfile::tempdir().expect("tmp");
    let mut c3 = config(dir3.path(), m.addr, "");
    c3.partition = parts[0];
    match service::start(c3, chain.clone(), key_a.clone()).await {
        Err(service::IngestError::KeyInUse { .. }) => {}
        Err(e) => panic!("expected KeyInUse, got {e}"),
        Ok(_) => panic!("a second store with the same key was accepted"),
    }
    p.stop().await;
    h0.shutdown().await;
    h1.shutdown().await;
}

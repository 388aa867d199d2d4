//! The ingestion service as deployed: `scf ingest` as its own process, talking to a real validator node
//! (`scf node`) over the node's client API, reading from a Mosquitto broker. The process is killed with
//! SIGKILL while devices publish; restarted on the same data directory it loses no reading the broker
//! acknowledged, stores none twice and anchors every batch exactly once on the node's chain.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scf_client::{now_ms, HttpChain};
use scf_domain::device::{self, Binding};
use scf_iot_ingest::broker::{free_port, mqtt_options, BrokerArgs, MosquittoProcess};
use scf_iot_ingest::sim::{register, sim_devices, Publisher};
use scf_iot_ingest::store::{BatchStatus, Store};
use scf_ledger::crypto::KeyPair;

const TIMEOUT: Duration = Duration::from_secs(60);

fn scf() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scf"))
}

fn run(cmd: &mut Command) {
    let out = cmd.output().expect("run scf");
    assert!(out.status.success(), "{:?}: {}", cmd, String::from_utf8_lossy(&out.stderr));
}

/// A child process killed (SIGKILL) on drop.
struct Proc(Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ingest(dir: &Path, node_api: &str, key: &Path, broker: std::net::SocketAddr) -> Proc {
    Proc(
        scf()
            .args(["ingest", "--node", node_api, "--key"])
            .arg(key)
            .arg("--data-dir")
            .arg(dir.join("ingest"))
            .args(["--broker", &format!("mqtt://{broker}"), "--client-id", "ingest-proc"])
            .args(["--batch-max", "25", "--batch-interval-ms", "300"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scf ingest"),
    )
}

#[test]
fn scf_ingest_killed_with_sigkill_against_a_real_node_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // A one-validator network whose genesis has a warehouse operator with a key this test holds.
    let base = free_port().expect("port");
    run(scf().args(["cluster", "up", "--nodes", "1", "--base-port", &base.to_string(), "--dir"]).arg(d));
    run(scf().args(["cluster", "down", "--dir"]).arg(d));
    let wh = KeyPair::from_seed("ingest-process-test/WH");
    let key_path = d.join("wh.pem");
    std::fs::write(&key_path, wh.to_pkcs8_pem().expect("pem").as_bytes()).expect("write key");
    let genesis = d.join("genesis.json");
    let _ = std::fs::remove_file(&genesis);
    run(scf()
        .args(["genesis", "--chain-id", "scf-ingest-test", "--validator"])
        .arg(d.join("validator-0").join("validator.json"))
        .arg("--org")
        .arg(format!(
            "id=WH,name=仓储,credit_code=91310112MA1CMS0W08,roles=warehouse_operator,public_key={}",
            wh.public().to_hex()
        ))
        .arg("--out")
        .arg(&genesis));
    let _ = std::fs::remove_dir_all(d.join("validator-0").join("data"));
    let node_toml = d.join("validator-0").join("node.toml");
    let text = std::fs::read_to_string(&node_toml).expect("node.toml");
    assert!(text.contains("genesis"), "node.toml names its genesis");
    let _node = Proc(
        scf()
            .args(["node", "--config"])
            .arg(&node_toml)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scf node"),
    );
    let api = format!("http://127.0.0.1:{}", base + 1000);
    let mosquitto = MosquittoProcess::start().expect("mosquitto");
    let broker = mosquitto.addr;

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let t0 = Instant::now();
    let chain = loop {
        match rt.block_on(HttpChain::connect(&api)) {
            Ok(c) => break c,
            Err(e) => {
                assert!(t0.elapsed() < TIMEOUT, "node API did not come up: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    };
    // Devices registered through the node's client API (HttpChain), as the warehouse.
    let mut devs = sim_devices("WH", "P", 3);
    rt.block_on(register(&chain, &wh, &devs, &Binding::Shipment { id: "SSCC-P".into() }, &[])).expect("register");

    let mut svc = ingest(d, &api, &key_path, broker);
    let total: u64 = 450;
    let publisher = rt.block_on(async {
        let mut o = mqtt_options(&BrokerArgs::plain(broker), "devices-proc").expect("opts");
        o.set_inflight(200);
        let (c, e) = rumqttc::AsyncClient::new(o, 1000);
        Publisher::start(c, e)
    });
    // Give the service time to subscribe (its session then outlives the process on the broker).
    std::thread::sleep(Duration::from_secs(2));
    let started = Instant::now();
    let mut killed = false;
    for i in 0..total {
        let dev = &mut devs[(i % 3) as usize];
        let msg = dev.next(now_ms(), 4.0 + (i % 5) as f64 / 10.0).expect("sign");
        rt.block_on(publisher.publish(dev.topic(), msg)).expect("publish");
        std::thread::sleep(Duration::from_millis(5));
        if !killed && i == total / 3 {
            // SIGKILL mid-stream; devices keep publishing into the broker meanwhile.
            let _ = svc.0.kill();
            let _ = svc.0.wait();
            killed = true;
            std::thread::sleep(Duration::from_millis(500));
            svc = ingest(d, &api, &key_path, broker);
        }
    }
    let t1 = Instant::now();
    while publisher.acked() < total {
        assert!(t1.elapsed() < TIMEOUT, "broker acknowledged only {} of {total}", publisher.acked());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(started.elapsed() < TIMEOUT);

    // Let the restarted service store and anchor everything, then stop it and read its store.
    let anchor_next = device::anchor_next_key(&wh.address());
    let t2 = Instant::now();
    let store_path = d.join("ingest").join("readings.redb");
    loop {
        let next: Option<u64> = rt.block_on(scf_client::load(&chain, &anchor_next)).expect("chain");
        let anchored: u64 = (0..next.unwrap_or(0))
            .map(|b| {
                let a: Option<device::Anchor> =
                    rt.block_on(scf_client::load(&chain, &device::anchor_key(&wh.address(), b))).expect("chain");
                a.map(|a| u64::from(a.count)).unwrap_or(0)
            })
            .sum();
        if anchored >= total {
            assert_eq!(anchored, total, "more readings anchored than were published");
            break;
        }
        assert!(t2.elapsed() < TIMEOUT, "only {anchored} of {total} readings anchored on chain");
        std::thread::sleep(Duration::from_millis(300));
    }
    drop(svc);
    let store = Store::open(&store_path).expect("open the service's store");
    let all: Vec<(String, u64)> =
        store.range(0, total + 100).expect("range").into_iter().map(|r| (r.device_id, r.seq)).collect();
    let mut uniq = all.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), all.len(), "a reading was stored twice");
    assert_eq!(all.len() as u64, total, "every acknowledged reading is stored");
    let batches = store.batches().expect("batches");
    assert!(batches.iter().all(|b| matches!(b.status, BatchStatus::Anchored { .. })), "{batches:?}");
    let next: u64 = rt.block_on(scf_client::load(&chain, &anchor_next)).expect("chain").expect("next");
    assert_eq!(next, batches.len() as u64, "each local batch anchored once, none twice");
    for b in &batches {
        let a: device::Anchor = rt
            .block_on(scf_client::load(&chain, &device::anchor_key(&wh.address(), b.batch)))
            .expect("chain")
            .expect("a");
        assert_eq!(a.root, b.root, "batch {} root", b.batch);
    }
    rt.block_on(publisher.stop());
}

//! The ingestion service as deployed: `scf ingest` as its own process, talking to a real validator node
//! (`scf node`) over the node's client API, reading from a Mosquitto broker. The process is killed with
//! SIGKILL while devices publish; restarted on the same data directory it loses no reading the broker
//! acknowledged, stores none twice and anchors every batch exactly once on the node's chain. An alert
//! whose reading was acknowledged reaches the chain exactly once across a SIGKILL of the service, also
//! while the node is unreachable (SIGSTOP) for 30 s.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use scf_client::{now_ms, HttpChain};
use scf_client::{Chain, Signer};
use scf_domain::device::{self, Binding, DeviceCall};
use scf_iot_ingest::broker::{free_port, mqtt_options, BrokerArgs, MosquittoProcess};
use scf_iot_ingest::sim::{cold_chain_rule, register, sim_devices, Publisher};
use scf_iot_ingest::store::{Delivery, Store};
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
    ingest_with(dir, node_api, key, broker, &[])
}

fn ingest_with(dir: &Path, node_api: &str, key: &Path, broker: std::net::SocketAddr, extra: &[&str]) -> Proc {
    Proc(
        scf()
            .args(["ingest", "--node", node_api, "--key"])
            .arg(key)
            .arg("--data-dir")
            .arg(dir.join("ingest"))
            .args(["--broker", &format!("mqtt://{broker}"), "--client-id", "ingest-proc"])
            .args(["--batch-max", "25", "--batch-interval-ms", "300"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn scf ingest"),
    )
}

/// Send `signal` (STOP, CONT) to a child process.
fn signal(p: &Proc, signal: &str) {
    let ok = Command::new("kill").arg(format!("-{signal}")).arg(p.0.id().to_string()).status().expect("kill");
    assert!(ok.success(), "kill -{signal} {}", p.0.id());
}

/// A one-validator network (`scf node` process) whose genesis has a warehouse operator whose key the test
/// holds, its client API, and a Mosquitto broker.
struct Net {
    dir: tempfile::TempDir,
    node: Proc,
    api: String,
    key_path: std::path::PathBuf,
    wh: KeyPair,
    broker: std::net::SocketAddr,
    _mosquitto: MosquittoProcess,
    rt: tokio::runtime::Runtime,
    chain: HttpChain,
}

impl Net {
    fn start(chain_id: &str) -> Net {
        let dir = tempfile::tempdir().expect("tmp");
        let d = dir.path();
        let base = free_port().expect("port");
        run(scf().args(["cluster", "up", "--nodes", "1", "--base-port", &base.to_string(), "--dir"]).arg(d));
        run(scf().args(["cluster", "down", "--dir"]).arg(d));
        let wh = KeyPair::from_seed(&format!("{chain_id}/WH"));
        let key_path = d.join("wh.pem");
        std::fs::write(&key_path, wh.to_pkcs8_pem().expect("pem").as_bytes()).expect("write key");
        let genesis = d.join("genesis.json");
        let _ = std::fs::remove_file(&genesis);
        run(scf()
            .args(["genesis", "--chain-id", chain_id, "--validator"])
            .arg(d.join("validator-0").join("validator.json"))
            .arg("--org")
            .arg(format!(
                "id=WH,name=仓储,credit_code=91310112MA1CMS0W08,roles=warehouse_operator,public_key={}",
                wh.public().to_hex()
            ))
            .arg("--out")
            .arg(&genesis));
        let _ = std::fs::remove_dir_all(d.join("validator-0").join("data"));
        let node = Proc(
            scf()
                .args(["node", "--config"])
                .arg(d.join("validator-0").join("node.toml"))
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
        Net { dir, node, api, key_path, wh, broker, _mosquitto: mosquitto, rt, chain }
    }

    fn publisher(&self, id: &str) -> Publisher {
        self.rt.block_on(async {
            let mut o = mqtt_options(&BrokerArgs::plain(self.broker), id).expect("opts");
            o.set_inflight(200);
            let (c, e) = rumqttc::AsyncClient::new(o, 1000);
            Publisher::start(c, e)
        })
    }
}

/// `scf_iot_alerts_pending` from the service's Prometheus endpoint: alerts in its outbox, counted after
/// the readings that fired them were stored and acknowledged.
fn alerts_pending(rt: &tokio::runtime::Runtime, metrics: std::net::SocketAddr) -> Option<u64> {
    let text =
        rt.block_on(async { reqwest::get(format!("http://{metrics}/metrics")).await.ok()?.text().await.ok() })?;
    text.lines().find_map(|l| l.strip_prefix("scf_iot_alerts_pending ")).and_then(|v| v.trim().parse().ok())
}

/// The excursion's reading is acknowledged by the service while the node cannot commit anything (it is
/// stopped with SIGSTOP), the service is killed with SIGKILL, restarted, and the node resumes after
/// `outage`. The alert is raised on chain exactly once; the store records the transaction that raised it.
fn alert_once_across_a_kill(chain_id: &str, outage: Duration) {
    let net = Net::start(chain_id);
    let mut devs = sim_devices("WH", "A", 1);
    let rule = cold_chain_rule(0);
    net.rt
        .block_on(register(&net.chain, &net.wh, &devs, &Binding::Shipment { id: "SSCC-A".into() }, &[rule]))
        .expect("register");
    let metrics = std::net::SocketAddr::from(([127, 0, 0, 1], free_port().expect("port")));
    let metrics_arg = metrics.to_string();
    let extra = ["--metrics-listen", metrics_arg.as_str()];
    let d = net.dir.path();
    let mut svc = ingest_with(d, &net.api, &net.key_path, net.broker, &extra);
    let publisher = net.publisher(&format!("devices-{chain_id}"));
    // A first, normal reading: once it is anchored the service is subscribed and has read the device.
    let anchor_next = device::anchor_next_key(&net.wh.address());
    let t0 = Instant::now();
    let mut last_sent: Option<Instant> = None;
    loop {
        let next: Option<u64> = net.rt.block_on(scf_client::load(&net.chain, &anchor_next)).expect("chain");
        if next.unwrap_or(0) >= 1 {
            break;
        }
        // Until the service has subscribed, the broker keeps no session for it: send again now and then.
        if last_sent.is_none_or(|t| t.elapsed() > Duration::from_secs(2)) {
            let msg = devs[0].next(now_ms(), 4.0).expect("sign");
            net.rt.block_on(publisher.publish(devs[0].topic(), msg)).expect("publish");
            last_sent = Some(Instant::now());
        }
        assert!(t0.elapsed() < TIMEOUT, "first reading never anchored");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The node stops answering; the excursion arrives and is acknowledged by the service.
    signal(&net.node, "STOP");
    let stopped = Instant::now();
    let msg = devs[0].next(now_ms(), 12.0).expect("sign");
    net.rt.block_on(publisher.publish(devs[0].topic(), msg)).expect("publish");
    let t1 = Instant::now();
    while alerts_pending(&net.rt, metrics) != Some(1) {
        assert!(t1.elapsed() < TIMEOUT, "the service did not acknowledge the excursion");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Acknowledged, not yet on chain (no block can commit): kill, and restart during the outage.
    let _ = svc.0.kill();
    let _ = svc.0.wait();
    {
        let store = Store::open(&d.join("ingest").join("readings.redb")).expect("store");
        let pending = store.pending_alerts(10).expect("outbox");
        assert_eq!(pending.len(), 1, "the acknowledged excursion's alert waits in the outbox: {pending:?}");
    }
    svc = ingest_with(d, &net.api, &net.key_path, net.broker, &extra);
    while stopped.elapsed() < outage {
        std::thread::sleep(Duration::from_millis(100));
    }
    signal(&net.node, "CONT");

    let alert_key = format!("device/alert/{}#1", devs[0].id);
    let t2 = Instant::now();
    let alert: device::Alert = loop {
        if let Some(a) = net.rt.block_on(scf_client::load(&net.chain, &alert_key)).expect("chain") {
            break a;
        }
        assert!(t2.elapsed() < TIMEOUT, "the alert never reached the chain");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(alert.observation.value, Some(12_000));
    // Clear it at once, so a second raise (a duplicate transaction still in flight) would be accepted
    // and show up as alert #2.
    let owner = Signer::new(net.wh.clone());
    let clear = DeviceCall::ClearAlert { alert_id: alert.id.clone(), reason: "checked: back in range".into() };
    let r = net.rt.block_on(owner.call(&net.chain, &clear, TIMEOUT)).expect("clear");
    assert!(r.is_success(), "{r:?}");
    // The service settles its outbox; then its store and the chain agree on one alert.
    let t3 = Instant::now();
    let settled = loop {
        let _ = svc.0.kill();
        let _ = svc.0.wait();
        let store = Store::open(&d.join("ingest").join("readings.redb")).expect("store");
        if store.pending_alerts(10).expect("outbox").is_empty() {
            break store.alerts().expect("alerts");
        }
        drop(store);
        assert!(t3.elapsed() < TIMEOUT, "the outbox never settled");
        svc = ingest_with(d, &net.api, &net.key_path, net.broker, &extra);
        std::thread::sleep(Duration::from_secs(1));
    };
    assert_eq!(settled.len(), 1, "{settled:?}");
    let Delivery::Raised { tx_id, height } = settled[0].delivery.clone() else {
        panic!("alert not raised: {:?}", settled[0].delivery)
    };
    assert_eq!(height, alert.raised_height);
    let receipt = net.rt.block_on(net.chain.receipt(&tx_id)).expect("chain").expect("receipt of the raising tx");
    assert!(receipt.is_success());
    let dev: device::Device = net
        .rt
        .block_on(scf_client::load(&net.chain, &device::device_key(&devs[0].id)))
        .expect("chain")
        .expect("device");
    assert_eq!(dev.alerts, 1, "exactly one alert raised for the excursion");
    net.rt.block_on(publisher.stop());
}

#[test]
fn alert_reaches_the_chain_once_when_the_service_dies_before_it_commits() {
    alert_once_across_a_kill("scf-alert-kill", Duration::ZERO);
}

#[test]
fn alert_reaches_the_chain_once_after_the_node_was_unreachable_for_30_s() {
    alert_once_across_a_kill("scf-alert-outage", Duration::from_secs(30));
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
    // The service marks a batch anchored once it has seen the receipt; stopped just after the chain took
    // the last one, it may not have yet (a restart settles it from the chain). The chain is the judge:
    // below, every local batch must be anchored there exactly once with its root.
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

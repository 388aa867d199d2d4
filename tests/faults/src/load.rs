//! The steady load every schedule runs under: voucher transfers between suppliers (each supplier one
//! transaction in flight, resubmitted to any reachable node until some node shows it committed) and IoT
//! readings with periodic cold-chain excursions, each of which must end as exactly one alert on chain.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{anyhow, bail};
use scf_client::wire::TxStatus;
use scf_client::{now_ms, Chain, HttpChain, NodeClient, Signer};
use scf_domain::date::Date;
use scf_domain::device::{self, Binding, DeviceCall};
use scf_domain::invoice::{InvoiceCall, InvoiceLine, NewInvoice, Party};
use scf_domain::voucher::{SplitPart, VoucherCall};
use scf_iot_ingest::sim::{cold_chain_rule, register, sim_devices, Publisher, SimDevice};
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::module::ModuleCall;
use scf_ledger::receipt::TxOutcome;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cluster::{credit_code, org_key, supplier, CORE, INGEST_ORG, SUPPLIERS, WAREHOUSE};

/// Parts a split creates (the voucher module's limit).
pub const PARTS: usize = scf_domain::voucher::MAX_PARTS;
const ROOT_AMOUNT: u64 = 25_000_000;
const INVOICE_AMOUNT: u64 = 100_000_000;
/// Far enough ahead that no harness transaction expires, and within the genesis's `max_expiry_window`
/// (100 000 blocks): a transaction expiring later is refused by the mempool.
const EXPIRY: u64 = 90_000;
const CALL_TIMEOUT: Duration = Duration::from_secs(3);

pub fn sign<C: ModuleCall>(chain_id: &str, key: &KeyPair, nonce: u64, call: &C) -> SignedTx {
    TxBody {
        chain_id: chain_id.to_string(),
        sender: *key.public(),
        nonce,
        expiry_height: EXPIRY,
        call: Call { module: C::MODULE.into(), payload: call.encode_payload() },
    }
    .sign(key)
}

/// What the clients saw: every transaction they saw committed, with its height.
#[derive(Debug, Default)]
pub struct Seen {
    pub committed: Mutex<Vec<(Hash32, u64)>>,
    pub failed: Mutex<Vec<(Hash32, String)>>,
    pub submissions: AtomicU64,
}

impl Seen {
    fn record(&self, id: Hash32, height: u64, outcome: &TxOutcome) {
        if let Ok(mut c) = self.committed.lock() {
            c.push((id, height));
        }
        if let TxOutcome::Failed { code, message } = outcome {
            if let Ok(mut f) = self.failed.lock() {
                f.push((id, format!("{code}: {message}")));
            }
        }
    }
    pub fn committed(&self) -> Vec<(Hash32, u64)> {
        self.committed.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// Submit `tx` to the nodes in turn (from `first`) until one of them shows it committed; `None` if
/// `stop` fires first. A node that does not answer within a few seconds is skipped.
pub async fn until_committed(
    clients: &[NodeClient],
    first: usize,
    tx: &SignedTx,
    seen: &Seen,
    stop: &watch::Receiver<bool>,
) -> Option<(u64, TxOutcome)> {
    let id = tx.id();
    let n = clients.len();
    let mut k = first;
    loop {
        let c = &clients[k % n];
        match tokio::time::timeout(CALL_TIMEOUT, c.tx_status(&id)).await {
            Ok(Ok(TxStatus::Committed { height, receipt, .. })) => {
                seen.record(id, height, &receipt.outcome);
                return Some((height, receipt.outcome));
            }
            Ok(Ok(TxStatus::Pending)) => {}
            Ok(Ok(TxStatus::Unknown)) => {
                seen.submissions.fetch_add(1, Ordering::Relaxed);
                let _ = tokio::time::timeout(CALL_TIMEOUT, c.submit(tx)).await;
            }
            _ => k += 1, // unreachable or failing: try the next node
        }
        if *stop.borrow() {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        // Ask another node now and then: the one asked may be cut off from the committing majority.
        if rand_step(&id, k) {
            k += 1;
        }
    }
}

/// Move on to the next node every third try (a deterministic function of the id, no global randomness).
fn rand_step(id: &Hash32, k: usize) -> bool {
    (id.0[0] as usize + k).is_multiple_of(3)
}

/// Everything set up on a fresh chain before the schedule starts.
pub struct Setup {
    /// Per supplier, the voucher ids it will transfer, in order, and its next nonce.
    pub leaves: Vec<Vec<String>>,
    pub nonces: Vec<u64>,
    /// The warehouse's next nonce (it clears alerts).
    pub wh_nonce: u64,
    pub devices: Vec<SimDevice>,
}

/// Invoices, vouchers split into `PARTS * (1 + second)` leaves per supplier (with `second` second-level
/// splits), the ingestion organisation authorised by the warehouse, and two devices with a cold-chain rule.
pub async fn setup(chain: &HttpChain, second: usize) -> anyhow::Result<Setup> {
    let t = Duration::from_secs(60);
    let today = Date::from_time_ms(now_ms());
    let party = |id: &str| Party { name: format!("{id} 有限公司"), tax_id: credit_code(id) };
    let core = Signer::new(org_key(CORE));
    let sups: Vec<Signer> = (0..SUPPLIERS).map(|i| Signer::new(org_key(&supplier(i)))).collect();
    let ok = |r: scf_ledger::receipt::Receipt, what: &str| -> anyhow::Result<()> {
        match r.outcome {
            TxOutcome::Success => Ok(()),
            TxOutcome::Failed { code, message } => bail!("set-up {what}: {code}: {message}"),
        }
    };
    for (i, s) in sups.iter().enumerate() {
        let id = supplier(i);
        let tax = INVOICE_AMOUNT * 13 / 100;
        let inv = NewInvoice {
            number: format!("{:020}", 44_000_000_000_000_000_000u128 + i as u128),
            issue_date: today.add_days(-1),
            currency: "CNY".into(),
            seller: party(&id),
            buyer: party(CORE),
            buyer_org: Some(CORE.into()),
            lines: vec![InvoiceLine {
                item_name: "*汽车零部件*制动盘".into(),
                spec: "BD-320".into(),
                unit: "件".into(),
                quantity: Some("1000".into()),
                unit_price: Some(format!("{}.{:02}", INVOICE_AMOUNT / 100_000, (INVOICE_AMOUNT / 1000) % 100)),
                amount: INVOICE_AMOUNT,
                tax_rate_bp: 1300,
                tax_amount: tax,
            }],
            total_amount: INVOICE_AMOUNT,
            total_tax: tax,
            total_with_tax: INVOICE_AMOUNT + tax,
            remarks: "faults".into(),
            issuer: "faults".into(),
            details: Default::default(),
        };
        ok(s.call(chain, &InvoiceCall::Issue(inv), t).await?, "invoice")?;
    }
    for i in 0..SUPPLIERS {
        let call = VoucherCall::Issue {
            voucher_no: format!("V{i}"),
            to: supplier(i),
            amount: ROOT_AMOUNT,
            currency: "CNY".into(),
            due_date: today.add_days(90),
            contract_ref: "HT-FAULTS".into(),
            invoices: vec![format!("{:020}", 44_000_000_000_000_000_000u128 + i as u128)],
            allow_over_six_months: false,
        };
        ok(core.call(chain, &call, t).await?, "voucher")?;
    }
    let mut leaves = Vec::new();
    let mut nonces = Vec::new();
    for (i, s) in sups.iter().enumerate() {
        let id = supplier(i);
        let root = format!("V{i}");
        let own = |amount: u64| (0..PARTS).map(|_| SplitPart { to: id.clone(), amount }).collect::<Vec<_>>();
        ok(s.call(chain, &VoucherCall::SignFor { voucher_id: root.clone() }, t).await?, "sign for")?;
        ok(
            s.call(chain, &VoucherCall::Split { voucher_id: root.clone(), parts: own(ROOT_AMOUNT / 50) }, t).await?,
            "split",
        )?;
        let second = second.min(PARTS);
        for c in 1..=second {
            let call = VoucherCall::Split { voucher_id: format!("{root}.{c}"), parts: own(ROOT_AMOUNT / 2500) };
            ok(s.call(chain, &call, t).await?, "second split")?;
        }
        let mut mine: Vec<String> = (second + 1..=PARTS).map(|c| format!("{root}.{c}")).collect();
        for c in 1..=second {
            mine.extend((1..=PARTS).map(|m| format!("{root}.{c}.{m}")));
        }
        leaves.push(mine);
        nonces.push(3 + second as u64);
    }
    let wh = Signer::new(org_key(WAREHOUSE));
    let authorise = DeviceCall::AuthoriseIngestor { address: org_key(INGEST_ORG).address() };
    ok(wh.call(chain, &authorise, t).await?, "authorise ingestor")?;
    let devices = sim_devices(WAREHOUSE, "D", 2);
    register(
        chain,
        &org_key(WAREHOUSE),
        &devices,
        &Binding::Shipment { id: "SSCC-FAULTS".into() },
        &[cold_chain_rule(0)],
    )
    .await
    .map_err(|e| anyhow!("register devices: {e}"))?;
    Ok(Setup { leaves, nonces, wh_nonce: 1 + devices.len() as u64, devices })
}

/// What every load task shares: the chain it signs for, the nodes it submits to, where it records what it
/// saw committed, and the signal to stop.
#[derive(Clone)]
pub struct Load {
    pub chain_id: String,
    pub clients: Vec<NodeClient>,
    pub seen: Arc<Seen>,
    pub stop: watch::Receiver<bool>,
}

/// Supplier `i` transfers its leaves to the next supplier, one transaction in flight, at most one every
/// `pace`, until `stop` or it runs out of leaves.
pub async fn transfers(load: Load, i: usize, leaves: Vec<String>, mut nonce: u64, pace: Duration) {
    let Load { chain_id, clients, seen, stop } = load;
    let key = org_key(&supplier(i));
    let to = supplier((i + 1) % SUPPLIERS);
    for (k, voucher_id) in leaves.into_iter().enumerate() {
        if *stop.borrow() {
            return;
        }
        let started = Instant::now();
        let tx = sign(&chain_id, &key, nonce, &VoucherCall::Transfer { voucher_id, to: to.clone() });
        if until_committed(&clients, i + k, &tx, &seen, &stop).await.is_none() {
            return;
        }
        nonce += 1;
        tokio::time::sleep_until(started + pace).await;
    }
}

/// What the IoT load did: excursions published per device.
#[derive(Debug, Default)]
pub struct IotSeen {
    pub excursions: Vec<AtomicU64>,
    pub readings: AtomicU64,
    pub cleared: Vec<AtomicU64>,
}

/// Devices publish a reading every 500 ms; each device publishes an excursion (12 °C) once its previous
/// alert is on chain and cleared (so the rule's alert is never already open), and the warehouse clears
/// each alert it finds. Every excursion must end as one alert.
pub async fn iot(
    load: Load,
    chains: Vec<Arc<HttpChain>>,
    publisher: Arc<Publisher>,
    mut devices: Vec<SimDevice>,
    wh_nonce: u64,
    iot: Arc<IotSeen>,
) {
    let Load { chain_id, clients, seen, stop } = load;
    let wh = org_key(WAREHOUSE);
    let mut nonce = wh_nonce;
    let mut normal_since: Vec<Instant> = devices.iter().map(|_| Instant::now()).collect();
    let mut tick = 0usize;
    while !*stop.borrow() {
        tick += 1;
        for (d, dev) in devices.iter_mut().enumerate() {
            let sent = iot.excursions[d].load(Ordering::Relaxed);
            let cleared = iot.cleared[d].load(Ordering::Relaxed);
            let hot = sent == cleared && normal_since[d].elapsed() >= Duration::from_secs(3);
            let Ok(msg) = dev.next(now_ms(), if hot { 12.0 } else { 4.0 }) else { continue };
            if publisher.publish(dev.topic(), msg).await.is_ok() {
                iot.readings.fetch_add(1, Ordering::Relaxed);
                if hot {
                    iot.excursions[d].fetch_add(1, Ordering::Relaxed);
                    normal_since[d] = Instant::now();
                }
            }
            // Clear the alert of the last excursion once it is on chain.
            if sent > cleared {
                let chain = &chains[(tick + d) % chains.len()];
                let key = device::device_key(&dev.id);
                let rec =
                    tokio::time::timeout(CALL_TIMEOUT, scf_client::load::<device::Device>(chain.as_ref(), &key)).await;
                if let Ok(Ok(Some(rec))) = rec {
                    if rec.alerts >= sent {
                        let call =
                            DeviceCall::ClearAlert { alert_id: format!("{}#{sent}", dev.id), reason: "checked".into() };
                        let tx = sign(&chain_id, &wh, nonce, &call);
                        if until_committed(&clients, tick, &tx, &seen, &stop).await.is_some() {
                            nonce += 1;
                            iot.cleared[d].store(sent, Ordering::Relaxed);
                        } else {
                            return;
                        }
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Wait until `chain` shows every device with exactly the alerts its excursions should have raised.
pub async fn alerts_settled(chain: &dyn Chain, devices: &[SimDevice], iot: &IotSeen) -> Result<(), String> {
    let mut last = String::new();
    for (d, dev) in devices.iter().enumerate() {
        let want = iot.excursions[d].load(Ordering::Relaxed);
        let rec: Option<device::Device> =
            scf_client::load(chain, &device::device_key(&dev.id)).await.map_err(|e| e.to_string())?;
        let got = rec.map(|r| r.alerts).unwrap_or(0);
        if got != want {
            last = format!("{}: {got} alerts for {want} excursions", dev.id);
        }
    }
    if last.is_empty() {
        Ok(())
    } else {
        Err(last)
    }
}

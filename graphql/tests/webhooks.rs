//! Webhooks end to end: a receiver started by the test (HTTPS, its certificate from a CA the API is
//! told to trust) is registered by three organisations for every kind; business happens through the
//! API, while the receiver refuses (so deliveries are retried), while the API is down (the chain goes
//! on; the indexer catches up when the API is back) and after a restart. The receiver verifies every
//! SM2 signature against the published key and must end with exactly the deliveries the chain's
//! events call for — none lost, and any repeat carrying the same id and body.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{day_ms, invoice_input, org, ISSUE_INVOICE, ISSUE_VOUCHER, NODE_KEY, PASSWORD};
use scf_client::{InProcessChain, Production, Signer};
use scf_domain::org::Role;
use scf_graphql::bootstrap::consortium_with_org_keys;
use scf_graphql::db::entities::{event, user};
use scf_graphql::sealing::OrgKeys;
use scf_graphql::webhooks::{self, WebhookPolicy};
use scf_graphql::{Config, Server};
use scf_ledger::crypto::{PublicKey, Signature};
use scf_store::Store;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the receiver got: per delivery id, the bodies received (all must be equal).
#[derive(Default)]
struct Received {
    bodies: BTreeMap<String, Vec<String>>,
    bad_signatures: Vec<String>,
    refused: usize,
}

struct Receiver {
    addr: SocketAddr,
    ca_pem: String,
    failing: Arc<AtomicBool>,
    received: Arc<Mutex<Received>>,
    key: Arc<Mutex<Option<PublicKey>>>,
}

/// An HTTPS server answering 200 to verified webhook posts (503 while `failing`).
async fn receiver() -> Receiver {
    let ca_key = rcgen::KeyPair::generate().expect("ca key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "scf webhook test CA");
    let ca = ca_params.self_signed(&ca_key).expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("leaf key");
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca, &ca_key)
        .expect("leaf");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let failing = Arc::new(AtomicBool::new(false));
    let received = Arc::new(Mutex::new(Received::default()));
    let key: Arc<Mutex<Option<PublicKey>>> = Arc::new(Mutex::new(None));
    let (f, r, k) = (failing.clone(), received.clone(), key.clone());
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { continue };
            let (acceptor, f, r, k) = (acceptor.clone(), f.clone(), r.clone(), k.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Some((headers, body)) = read_request(&mut tls).await else { return };
                let status = if f.load(Ordering::SeqCst) {
                    r.lock().expect("lock").refused += 1;
                    "503 Service Unavailable"
                } else {
                    record(&r, &k, &headers, &body);
                    "200 OK"
                };
                let _ = tls
                    .write_all(
                        format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes(),
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    Receiver { addr, ca_pem: ca.pem(), failing, received, key }
}

/// One HTTP/1.1 request: lower-cased headers and the body (by Content-Length).
async fn read_request<S: tokio::io::AsyncRead + Unpin>(s: &mut S) -> Option<(BTreeMap<String, String>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let headers: BTreeMap<String, String> = head
        .lines()
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((headers, body))
}

/// Verify the signature the way a receiver documented in docs/api.md does, and keep the delivery.
fn record(r: &Mutex<Received>, key: &Mutex<Option<PublicKey>>, headers: &BTreeMap<String, String>, body: &[u8]) {
    let id = headers.get(webhooks::HEADER_ID).cloned().unwrap_or_default();
    let ts: i64 = headers.get(webhooks::HEADER_TIMESTAMP).and_then(|t| t.parse().ok()).unwrap_or(-1);
    let sig = headers
        .get(webhooks::HEADER_SIGNATURE)
        .and_then(|s| s.strip_prefix("sm2="))
        .and_then(|h| hex::decode(h).ok())
        .and_then(|b| Signature::from_slice(&b).ok());
    let verified = match (key.lock().expect("lock").as_ref(), sig) {
        (Some(pk), Some(sig)) => pk.verify(&webhooks::signed_bytes(&id, ts, body), &sig).is_ok(),
        _ => false,
    };
    let mut r = r.lock().expect("lock");
    if !verified {
        r.bad_signatures.push(id);
        return;
    }
    r.bodies.entry(id).or_default().push(String::from_utf8_lossy(body).to_string());
}

struct Api {
    server: Server,
    url: String,
    client: reqwest::Client,
}

/// Dropping the API stops it as a process exit would: serving, indexing and delivery end, the database stays.
impl Drop for Api {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Api {
    async fn start(db_url: &str, chain: &InProcessChain<Store>, ca_pem: &str, org_keys: &OrgKeys) -> Api {
        let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), db_url, NODE_KEY);
        // The API holds every organisation's key, as `scf demo` does: the funder opens sealed rates.
        config.org_keys = org_keys.clone();
        config.webhooks = WebhookPolicy {
            allow_private: true,
            extra_roots_pem: vec![ca_pem.to_string()],
            base_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(400),
            max_attempts: 10_000,
            ..WebhookPolicy::default()
        };
        let server = scf_graphql::start(config, Arc::new(chain.clone())).await.expect("server");
        let url = format!("http://{}", server.addr);
        Api { server, url, client: reqwest::Client::new() }
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req =
            self.client.post(format!("{}/graphql", self.url)).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r: Value = req.send().await.expect("send").json().await.expect("json");
        assert!(r.get("errors").is_none(), "{query}: {r}");
        r["data"].clone()
    }

    async fn login(&self, username: &str) -> String {
        let d = self
            .gql(
                None,
                "mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }",
                json!({ "u": username, "p": PASSWORD }),
            )
            .await;
        d["login"]["token"].as_str().expect("token").to_string()
    }
}

/// Poll until `done` holds, at most `secs`.
async fn eventually(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn receipt_terms() -> Value {
    json!({
        "number": "WR-1", "depositor": "S1", "goodsName": "冷轧钢卷", "spec": "SPCC 1.0mm×1250mm", "unit": "kg",
        "quantity": 120000, "packaging": "钢卷",
        "location": { "warehouse": "WH-SH-01", "zone": "A", "bin": "A-07" },
        "identity": { "kind": "LOT", "lot": "HG-CR-2605-017" },
        "insurance": { "insurer": "人保财险", "policyNumber": "PICC-1", "insuredAmount": 100000000, "validUntil": "2027-03-01" },
        "validUntil": "2026-12-31", "rightsNotice": "本仓单可背书转让、质押。"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_is_delivered_signed_across_a_restart_without_loss() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("read.sqlite").display());
    let db = scf_graphql::db::connect(&db_url).await.expect("db");
    let orgs = vec![
        org("CORE", &[Role::CoreEnterprise], false),
        org("S1", &[Role::Supplier], false),
        org("BANK", &[Role::Funder], true),
        org("WH", &[Role::WarehouseOperator], false),
        org("REG", &[Role::Regulator], false),
    ];
    let (genesis, validator, org_keys) =
        consortium_with_org_keys(&db, &NODE_KEY, "scf-webhook-test", day_ms("2026-01-04"), &orgs)
            .await
            .expect("consortium");
    let store = Store::open(&dir.path().join("chain")).expect("store");
    let chain = InProcessChain::open_with(store, &genesis, scf_domain::modules(), Production::Auto, Some(validator))
        .expect("chain");
    chain.set_time_ms(Some(day_ms("2026-01-05")));
    let rx = receiver().await;
    let api = Api::start(&db_url, &chain, &rx.ca_pem, &org_keys).await;

    // The published key; receivers verify with it.
    let key: Value = api
        .client
        .get(format!("{}/webhooks/signing-key", api.url))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    let pk = PublicKey::from_hex(key["publicKey"].as_str().expect("key")).expect("public key");
    *rx.key.lock().expect("lock") = Some(pk);

    let (core, s1, bank, wh) = (
        api.login("core-admin").await,
        api.login("s1-admin").await,
        api.login("bank-admin").await,
        api.login("wh-admin").await,
    );
    let all_kinds =
        json!(["VOUCHER", "FINANCING_DECISION", "INVOICE_BOOKING", "RECEIPT_PLEDGE", "IOT_ALERT", "WORKFLOW_TASK"]);
    let register =
        "mutation($u:String!,$k:[WebhookKind!]!){ registerWebhook(url:$u, kinds:$k){ id kinds fromHeight } }";
    let mut endpoints = BTreeMap::new();
    for (name, token) in [("S1", &s1), ("BANK", &bank), ("WH", &wh)] {
        let url = format!("https://127.0.0.1:{}/hooks/{name}", rx.addr.port());
        let d = api.gql(Some(token), register, json!({ "u": url, "k": all_kinds })).await;
        endpoints.insert(d["registerWebhook"]["id"].as_str().expect("id").to_string(), name.to_string());
    }
    // Only admins, only acceptable URLs.
    let r: Value = api
        .client
        .post(format!("{}/graphql", api.url))
        .bearer_auth(&s1)
        .json(&json!({ "query": register, "variables": { "u": "http://bank.example.com/h", "k": ["VOUCHER"] } }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(r["errors"][0]["extensions"]["field"], "url", "{r}");

    // Phase 1: the receiver answers.
    let inv = "26310000000000000201";
    api.gql(Some(&s1), ISSUE_INVOICE, json!({ "i": invoice_input(inv, "S1", "CORE", 10_000_000, "2026-01-05") })).await;
    api.gql(
        Some(&core),
        ISSUE_VOUCHER,
        json!({ "i": { "voucherNo": "YX-WH", "to": "S1", "amount": 10_000_000, "dueDate": "2026-06-30",
                        "contractRef": "HT-WH", "invoices": [inv] } }),
    )
    .await;
    api.gql(Some(&s1), "mutation{ signForVoucher(voucherId:\"YX-WH\"){ height } }", json!({})).await;
    api.gql(
        Some(&core),
        &format!("mutation{{ bookInvoice(number:\"{inv}\", bookingRef:\"BK-1\"){{ height }} }}"),
        json!({}),
    )
    .await;
    api.gql(
        Some(&s1),
        "mutation($i:ApplyFinancingInput!){ applyForFinancing(input:$i){ txId } }",
        json!({ "i": { "applicationId": "APP-WH", "voucherId": "YX-WH", "funder": "BANK", "requestedRateBp": 500,
                       "documents": [{ "name": "申请书.pdf", "sm3": "ab".repeat(32) }] } }),
    )
    .await;
    eventually("first deliveries", 30, || !rx.received.lock().expect("lock").bodies.is_empty()).await;

    // Phase 2: the receiver refuses; deliveries are retried.
    rx.failing.store(true, Ordering::SeqCst);
    // (The invoice backing the voucher issued while the API is down; issuing an invoice notifies no one.)
    let inv2 = "26310000000000000202";
    api.gql(Some(&s1), ISSUE_INVOICE, json!({ "i": invoice_input(inv2, "S1", "CORE", 5_000_000, "2026-01-05") })).await;
    api.gql(
        Some(&wh),
        "mutation($i:ReceiptTermsInput!){ issueWarehouseReceipt(input:$i){ height } }",
        json!({ "i": receipt_terms() }),
    )
    .await;
    api.gql(
        Some(&s1),
        "mutation{ pledgeWarehouseReceipt(number:\"WR-1\", funder:\"BANK\", amount:60000000, due:\"2026-06-05\"){ height } }",
        json!({}),
    )
    .await;
    let device = scf_ledger::crypto::KeyPair::generate().expect("key");
    api.gql(
        Some(&wh),
        "mutation($i:RegisterDeviceInput!){ registerDevice(input:$i){ height } }",
        json!({ "i": { "deviceId": "WH-T1", "publicKey": device.public().to_hex(), "kind": "TEMPERATURE",
                        "binding": { "kind": "RECEIPT", "receipt": "WR-1" },
                        "rules": [{ "rule": "SILENCE", "maxGapMs": 900000 }] } }),
    )
    .await;
    api.gql(
        Some(&wh),
        "mutation($o:AlertObservationInput!){ raiseDeviceAlert(deviceId:\"WH-T1\", ruleIndex:0, observation:$o, detail:\"无读数 15 分钟\"){ height } }",
        json!({ "o": { "seq": 7, "timeMs": day_ms("2026-01-05"), "leaf": "00".repeat(32) } }),
    )
    .await;
    eventually("refused attempts", 30, || rx.received.lock().expect("lock").refused >= 6).await;
    let log = api
        .gql(Some(&bank), "{ webhookDeliveries(filter:{status:\"PENDING\"}, first:50){ nodes { id attempts lastStatusCode log { attempt statusCode } } } }", json!({}))
        .await;
    let pending = log["webhookDeliveries"]["nodes"].as_array().cloned().unwrap_or_default();
    assert!(!pending.is_empty(), "{log}");
    assert!(pending.iter().any(|d| d["lastStatusCode"] == 503), "{log}");

    // Phase 3: the API stops with deliveries queued; the chain goes on without it.
    drop(api);
    let core_key = {
        let row = user::Entity::find()
            .filter(user::Column::Username.eq("core-admin"))
            .one(&db)
            .await
            .expect("db")
            .expect("user");
        scf_graphql::auth::open_key(&NODE_KEY, &row).expect("key")
    };
    let signer = Signer::new(core_key);
    let call = scf_domain::voucher::VoucherCall::Issue {
        voucher_no: "YX-WH2".into(),
        to: "S1".into(),
        amount: 5_000_000,
        currency: "CNY".into(),
        due_date: scf_domain::date::Date::parse("2026-05-31").expect("date"),
        contract_ref: "HT-WH2".into(),
        invoices: vec![inv2.into()],
        allow_over_six_months: false,
    };
    let id = signer.submit(&chain, &call).await.expect("submit while the API is down");
    let receipt = signer.wait(&chain, &id, Duration::from_secs(10)).await.expect("committed");
    assert!(matches!(receipt.outcome, scf_ledger::receipt::TxOutcome::Success), "{receipt:?}");
    rx.failing.store(false, Ordering::SeqCst);

    // Phase 4: a new API process on the same database catches up and delivers everything.
    let api = Api::start(&db_url, &chain, &rx.ca_pem, &org_keys).await;
    let key2: Value = api
        .client
        .get(format!("{}/webhooks/signing-key", api.url))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(key2["publicKey"], key["publicKey"], "the signing key survives a restart");
    let bank = api.login("bank-admin").await;
    api.gql(Some(&bank), "mutation{ checkFinancingInvoices(applicationId:\"APP-WH\"){ txId } }", json!({})).await;
    api.gql(
        Some(&bank),
        "mutation{ approveFinancing(applicationId:\"APP-WH\", discountRateBp:400, agreementRef:\"FA-WH\"){ txId } }",
        json!({}),
    )
    .await;

    // What the chain's events call for, computed from the indexed events.
    let from: BTreeMap<String, i64> = scf_graphql::db::integration::webhook_endpoint::Entity::find()
        .all(&db)
        .await
        .expect("endpoints")
        .into_iter()
        .map(|e| (e.org.clone(), e.from_height))
        .collect();
    let ids_by_org: BTreeMap<String, String> = endpoints.iter().map(|(id, org)| (org.clone(), id.clone())).collect();
    let mut expected: BTreeSet<String> = BTreeSet::new();
    let mut kinds_seen: BTreeSet<(String, String)> = BTreeSet::new();
    for e in event::Entity::find().all(&db).await.expect("events") {
        let attrs: Vec<(String, String)> = serde_json::from_str(&e.attributes).expect("attributes");
        let Some((kind, orgs)) = webhooks::classify(&e.module, &e.kind, &attrs) else { continue };
        for o in orgs {
            if let (Some(ep), Some(h)) = (ids_by_org.get(&o), from.get(&o)) {
                if e.height > *h {
                    expected.insert(format!("{ep}.{}", e.id));
                    kinds_seen.insert((kind.as_str().to_string(), o.clone()));
                }
            }
        }
    }
    for pair in [
        ("VOUCHER", "S1"),
        ("INVOICE_BOOKING", "S1"),
        ("WORKFLOW_TASK", "BANK"),
        ("FINANCING_DECISION", "S1"),
        ("FINANCING_DECISION", "BANK"),
        ("RECEIPT_PLEDGE", "BANK"),
        ("RECEIPT_PLEDGE", "WH"),
        ("IOT_ALERT", "WH"),
    ] {
        assert!(kinds_seen.contains(&(pair.0.to_string(), pair.1.to_string())), "{pair:?} not among {kinds_seen:?}");
    }

    eventually("every expected delivery", 60, || {
        let r = rx.received.lock().expect("lock");
        expected.iter().all(|id| r.bodies.contains_key(id))
    })
    .await;
    {
        let r = rx.received.lock().expect("lock");
        assert!(r.bad_signatures.is_empty(), "unverified deliveries: {:?}", r.bad_signatures);
        let got: BTreeSet<String> = r.bodies.keys().cloned().collect();
        assert_eq!(got, expected, "exactly the expected deliveries, none lost, none extra");
        for (id, bodies) in &r.bodies {
            assert!(bodies.iter().all(|b| b == &bodies[0]), "{id}: a repeat with another body");
            let v: Value = serde_json::from_str(&bodies[0]).expect("json body");
            assert_eq!(v["id"], id.as_str());
            let org = &endpoints[v["endpointId"].as_str().expect("endpoint")];
            assert_eq!(v["org"], org.as_str());
            assert!(webhooks::WebhookKind::parse(v["kind"].as_str().unwrap_or("")).is_some(), "{v}");
        }
    }

    // An admin redelivers one of its deliveries: the receiver gets it again, same id, same body, signed.
    let (again, count) = {
        let r = rx.received.lock().expect("lock");
        let id =
            r.bodies.keys().find(|id| endpoints.get(id.split('.').next().unwrap_or("")).is_some_and(|o| o == "BANK"));
        let id = id.expect("a delivery to BANK").clone();
        let n = r.bodies[&id].len();
        (id, n)
    };
    let d = api
        .gql(Some(&bank), "mutation($d:String!){ redeliverWebhook(deliveryId:$d){ id status } }", json!({ "d": again }))
        .await;
    assert_eq!(d["redeliverWebhook"]["id"], again.as_str(), "{d}");
    eventually("the redelivery", 30, || rx.received.lock().expect("lock").bodies[&again].len() > count).await;
    {
        let r = rx.received.lock().expect("lock");
        assert!(r.bad_signatures.is_empty(), "unverified deliveries: {:?}", r.bad_signatures);
        assert!(r.bodies[&again].iter().all(|b| b == &r.bodies[&again][0]), "a redelivery with another body");
    }
    // Another organisation's admin cannot touch it.
    let s1 = api.login("s1-admin").await;
    let r: Value = api
        .client
        .post(format!("{}/graphql", api.url))
        .bearer_auth(&s1)
        .json(&json!({ "query": "mutation($d:String!){ redeliverWebhook(deliveryId:$d){ id } }", "variables": { "d": again } }))
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(r["errors"][0]["extensions"]["code"], "NOT_FOUND", "{r}");
    drop(api);
}

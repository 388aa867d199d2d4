//! The physical-goods side through GraphQL, on SQLite and on a real PostgreSQL server: a dairy anchors
//! the yogurt lot's EPCIS document and binds a cold-chain logger to the lot; anyone (signed out) opens
//! the lot's page and its proofs verify against the header, the certificate and the validator set;
//! a warehouse issues a receipt that is pledged, flagged, released, split and endorsed, each party
//! seeing only what it may; an IoT alert on a receipt reaches the holder's `iotAlerts` subscription.
//! A separate test drives the public rate limit to RATE_LIMITED.

mod common;
mod pg;

use std::sync::Arc;
use std::time::Duration;

use common::{day_ms, error_code, org, NODE_KEY, PASSWORD};
use futures_util::{SinkExt, StreamExt};
use scf_client::{InProcessChain, Production};
use scf_domain::org::Role;
use scf_graphql::bootstrap::consortium_with_org_keys;
use scf_graphql::{Config, Limits, ReadingPoint, Readings, Server};
use scf_ledger::block::BlockHeader;
use scf_ledger::crypto::{Hash32, PublicKey, Signature};
use scf_ledger::merkle::{MerkleProof, ProofStep};
use scf_ledger::receipt::Receipt;
use scf_store::Store;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

const YOGURT: &str = include_str!("../../seeds/provenance/yogurt-Y260302.jsonld");
const GTIN: &str = "06901234000337";
const LOT: &str = "Y260302";

/// Readings of the lot's logger: 4 °C, then a 9.4 °C excursion, then back to 4 °C.
struct FakeReadings;

impl Readings for FakeReadings {
    fn series(&self, device_id: &str, from_ms: u64, to_ms: u64) -> Result<Vec<ReadingPoint>, String> {
        if device_id != "TL-Y260302" {
            return Ok(vec![]);
        }
        let start = day_ms("2026-03-02");
        Ok([4.0, 4.5, 9.4, 8.8, 4.1]
            .iter()
            .enumerate()
            .map(|(i, v)| ReadingPoint {
                time_ms: start + i as u64 * 600_000,
                reading_type: "temperature".into(),
                value: *v,
                unit: "Cel".into(),
            })
            .chain(std::iter::once(ReadingPoint {
                time_ms: start,
                reading_type: "humidity".into(),
                value: 61.0,
                unit: "%RH".into(),
            }))
            .filter(|p| p.time_ms >= from_ms && p.time_ms <= to_ms)
            .collect())
    }
}

struct World {
    server: Server,
    chain: InProcessChain<Store>,
    url: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl World {
    /// WH (warehouse operator), DEP and OTHER (suppliers), BANK (approved funder), REG (regulator),
    /// DAIRY (producer). Blocks carry the validator's commit certificate.
    async fn start(database_url: Option<String>, limits: Limits) -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_url =
            database_url.unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.path().join("read.sqlite").display()));
        let db = scf_graphql::db::connect(&db_url).await.expect("db");
        let orgs = vec![
            org("WH", &[Role::WarehouseOperator], false),
            org("DEP", &[Role::Supplier], false),
            org("OTHER", &[Role::Supplier], false),
            org("BANK", &[Role::Funder], true),
            org("REG", &[Role::Regulator], false),
            org("DAIRY", &[Role::Producer], false),
        ];
        let (genesis, validator, org_keys) =
            consortium_with_org_keys(&db, &NODE_KEY, "scf-goods-test", day_ms("2026-03-01"), &orgs)
                .await
                .expect("consortium");
        drop(db);
        let store = Store::open(&dir.path().join("chain")).expect("store");
        let chain =
            InProcessChain::open_with(store, &genesis, scf_domain::modules(), Production::Auto, Some(validator))
                .expect("chain");
        chain.set_time_ms(Some(day_ms("2026-03-06")));
        let mut config = Config::new("127.0.0.1:0".parse().expect("addr"), db_url, NODE_KEY);
        config.limits = limits;
        config.readings = Some(Arc::new(FakeReadings));
        // Like `scf demo`, the API holds every organisation's key: it opens each one's sealed pledge loans.
        config.org_keys = org_keys;
        let server = scf_graphql::start(config, Arc::new(chain.clone())).await.expect("server");
        let url = format!("http://{}", server.addr);
        World { server, chain, url, client: reqwest::Client::new(), _dir: dir }
    }

    async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req =
            self.client.post(format!("{}/graphql", self.url)).json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("send").json().await.expect("json body")
    }

    async fn ok(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let r = self.gql(token, query, variables).await;
        assert!(r.get("errors").is_none(), "unexpected errors for {query}: {r}");
        r["data"].clone()
    }

    async fn login(&self, username: &str) -> String {
        let d = self
            .ok(
                None,
                "mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }",
                json!({ "u": username, "p": PASSWORD }),
            )
            .await;
        d["login"]["token"].as_str().expect("token").to_string()
    }
}

const LOT_PAGE: &str = "query LotPage($gtin: String!, $lot: String!) {
  lotPage(gtin: $gtin, lot: $lot) {
    product { gtin name brand }
    lot { number producedOn expiresOn }
    origin { name region }
    steps {
      id bizStep eventTime location eventHash
      recordedBy { orgId orgName }
      proof {
        eventHash receiptHex headerHex
        receiptProof { index count steps { sibling siblingOnLeft } }
        txProof { index count steps { sibling siblingOnLeft } }
        certificate { height round blockHash signatures { validator signature } }
        validators { name publicKey power }
      }
    }
    sensors { deviceId quantity unit min max readings { timeMs value } }
    certificates { id name issuer validUntil }
  }
}";

fn merkle(v: &Value) -> MerkleProof {
    MerkleProof {
        index: v["index"].as_u64().expect("index") as u32,
        count: v["count"].as_u64().expect("count") as u32,
        steps: v["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .map(|s| ProofStep {
                sibling: Hash32::from_hex(s["sibling"].as_str().expect("sibling")).expect("hex"),
                sibling_on_left: s["siblingOnLeft"].as_bool().expect("side"),
            })
            .collect(),
    }
}

/// Bytes a precommit signature covers (core-chain/node/src/signing.rs).
fn precommit(height: u64, round: u32, hash: &[u8], validator: &[u8]) -> Vec<u8> {
    let mut out = b"SCF-VOTE-v1".to_vec();
    out.push(1);
    out.extend(height.to_le_bytes());
    out.push(1);
    out.extend(round.to_le_bytes());
    out.push(1);
    out.extend(hash);
    out.extend(validator);
    out
}

/// Check a bundle the way `ui/src/verify/bundle.ts` does, from its bytes only.
fn verify_bundle(b: &Value) {
    let header: BlockHeader =
        borsh::from_slice(&hex::decode(b["headerHex"].as_str().expect("header")).expect("hex")).expect("header bytes");
    let receipt: Receipt = borsh::from_slice(&hex::decode(b["receiptHex"].as_str().expect("receipt")).expect("hex"))
        .expect("receipt bytes");
    let hash = b["eventHash"].as_str().expect("eventHash");
    assert!(receipt.is_success());
    assert!(receipt.events.iter().any(|e| e.attribute("hash") == Some(hash)), "event hash not in the receipt");
    assert_eq!(receipt.height, header.height);
    let rp = merkle(&b["receiptProof"]);
    assert_eq!(rp.index, receipt.index);
    assert!(rp.verify(&receipt.hash(), &header.receipts_root), "receipt not under the receipts root");
    let tp = merkle(&b["txProof"]);
    assert!(tp.verify(&receipt.tx_id, &header.tx_root), "tx not under the tx root");
    let cert = &b["certificate"];
    assert_eq!(cert["height"].as_u64(), Some(header.height));
    assert_eq!(cert["blockHash"].as_str(), Some(header.hash().to_hex().as_str()), "header hash ≠ certificate");
    let validators = b["validators"].as_array().expect("validators");
    assert_eq!(validators.len(), 1);
    let pk = PublicKey::from_hex(validators[0]["publicKey"].as_str().expect("pk")).expect("public key");
    let sigs = cert["signatures"].as_array().expect("signatures");
    assert_eq!(sigs.len(), 1);
    assert_eq!(sigs[0]["validator"].as_str(), Some(pk.address().to_hex().as_str()));
    let sig =
        Signature::from_slice(&hex::decode(sigs[0]["signature"].as_str().expect("sig")).expect("hex")).expect("sig");
    let msg =
        precommit(header.height, cert["round"].as_u64().expect("round") as u32, &header.hash().0, &pk.address().0);
    pk.verify(&msg, &sig).expect("certificate signature verifies");
}

const RECEIPTS: &str = "query($f:WarehouseReceiptFilter){ warehouseReceipts(filter:$f, first:50){ edges { node { number holder status pledge { funder amount } flag { reason source } } } pageInfo { hasNextPage } } }";

fn numbers(d: &Value) -> Vec<String> {
    d["warehouseReceipts"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["number"].as_str().unwrap_or("").to_string())
        .collect()
}

fn receipt_terms(number: &str) -> Value {
    json!({
        "number": number, "depositor": "DEP", "goodsName": "冷轧钢卷", "spec": "SPCC 1.0mm×1250mm", "unit": "kg",
        "quantity": 120000, "packaging": "钢卷",
        "location": { "warehouse": "WH-SH-01", "zone": "A", "bin": "A-07" },
        "identity": { "kind": "LOT", "lot": "HG-CR-2605-017" },
        "insurance": { "insurer": "人保财险", "policyNumber": "PICC-1", "insuredAmount": 100000000, "validUntil": "2027-03-01" },
        "validUntil": "2026-12-31", "rightsNotice": "本仓单可背书转让、质押。"
    })
}

async fn provenance_story(w: &World) {
    // Unknown lot: null, signed out.
    let d = w.ok(None, LOT_PAGE, json!({ "gtin": GTIN, "lot": LOT })).await;
    assert!(d["lotPage"].is_null(), "{d}");
    let r = w.gql(None, LOT_PAGE, json!({ "gtin": "06901234000338", "lot": LOT })).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    assert_eq!(r["errors"][0]["extensions"]["field"], "gtin");

    let dairy = w.login("dairy-admin").await;
    let r = w
        .gql(
            Some(&dairy),
            "mutation($d:String!){ captureEpcis(document:$d){ hashes } }",
            json!({ "d": "{\"type\":\"EPCISDocument\"}" }),
        )
        .await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT", "{r}");
    let d = w
        .ok(
            Some(&dairy),
            "mutation($d:String!){ captureEpcis(document:$d){ hashes transactions { txId height } } }",
            json!({ "d": YOGURT }),
        )
        .await;
    assert_eq!(d["captureEpcis"]["hashes"].as_array().map(Vec::len), Some(8));
    // Capturing the same document again is refused by the chain.
    let r = w
        .gql(Some(&dairy), "mutation($d:String!){ captureEpcis(document:$d){ hashes } }", json!({ "d": YOGURT }))
        .await;
    assert_eq!(error_code(&r), "CONFLICT", "{r}");

    let logger = scf_ledger::crypto::KeyPair::generate().expect("key");
    w.ok(
        Some(&dairy),
        "mutation($i:RegisterDeviceInput!){ registerDevice(input:$i){ height } }",
        json!({ "i": {
            "deviceId": "TL-Y260302", "publicKey": logger.public().to_hex(), "kind": "TEMPERATURE_HUMIDITY",
            "binding": { "kind": "LOT", "gtin": GTIN, "lot": LOT },
            "rules": [{ "rule": "THRESHOLD", "readingType": "temperature", "min": 2000, "max": 6000, "forMs": 600000 }]
        } }),
    )
    .await;

    // The consumer page, signed out.
    let d = w.ok(None, LOT_PAGE, json!({ "gtin": GTIN, "lot": LOT })).await;
    let page = &d["lotPage"];
    assert_eq!(page["product"]["gtin"], GTIN);
    assert_eq!(page["lot"]["number"], LOT);
    assert_eq!(page["lot"]["expiresOn"], "2026-03-23");
    assert_eq!(page["origin"]["region"], "CN");
    let steps = page["steps"].as_array().expect("steps");
    assert!(steps.len() >= 5, "the lot's own steps and its upstream: {page}");
    let biz: Vec<&str> = steps.iter().map(|s| s["bizStep"].as_str().unwrap_or("")).collect();
    assert!(biz.contains(&"commissioning") && biz.contains(&"shipping"), "{biz:?}");
    for s in steps {
        assert_eq!(s["recordedBy"]["orgId"], "DAIRY");
        assert_eq!(s["recordedBy"]["orgName"], "DAIRY 有限公司");
        assert_eq!(s["proof"]["eventHash"], s["eventHash"]);
        verify_bundle(&s["proof"]);
    }
    let sensors = page["sensors"].as_array().expect("sensors");
    let temp = sensors.iter().find(|s| s["quantity"] == "temperature").expect("temperature series");
    assert_eq!(temp["deviceId"], "TL-Y260302");
    assert_eq!((temp["min"].as_f64(), temp["max"].as_f64()), (Some(2.0), Some(6.0)), "band from the threshold rule");
    assert_eq!(temp["readings"].as_array().map(Vec::len), Some(5));
    assert!(sensors.iter().any(|s| s["quantity"] == "humidity"));
    let certs = page["certificates"].as_array().expect("certificates");
    assert!(certs.iter().any(|c| c["issuer"] == "cert.example.cn"), "{certs:?}");

    // A tampered bundle no longer verifies (the check above can fail).
    let mut bad = steps[0]["proof"].clone();
    let mut hex_receipt = bad["receiptHex"].as_str().expect("hex").to_string();
    let last = hex_receipt.pop().expect("non-empty");
    hex_receipt.push(if last == '0' { '1' } else { '0' });
    bad["receiptHex"] = json!(hex_receipt);
    assert!(std::panic::catch_unwind(|| verify_bundle(&bad)).is_err());

    // Trace by Digital Link (public), and the events list (signed in only).
    let d = w
        .ok(
            None,
            "query($l:String!){ trace(digitalLink:$l){ key upstream { bizStep proof { eventHash } } } }",
            json!({ "l": format!("/01/{GTIN}/10/{LOT}") }),
        )
        .await;
    assert!(d["trace"]["upstream"].as_array().is_some_and(|u| !u.is_empty()));
    let r = w.gql(None, "query{ trace(digitalLink:\"https://x.example/01/123/10/A\"){ key } }", json!({})).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    let q = "query($f:EpcisEventFilter,$a:String){ epcisEvents(filter:$f, first:3, after:$a){ edges { cursor node { seq hash org } } pageInfo { hasNextPage endCursor } } }";
    let r = w.gql(None, q, json!({})).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");
    let d = w.ok(Some(&dairy), q, json!({})).await;
    assert_eq!(d["epcisEvents"]["edges"].as_array().map(Vec::len), Some(3));
    assert_eq!(d["epcisEvents"]["pageInfo"]["hasNextPage"], true);
    let d2 = w.ok(Some(&dairy), q, json!({ "a": d["epcisEvents"]["pageInfo"]["endCursor"] })).await;
    assert_eq!(d2["epcisEvents"]["edges"][0]["node"]["seq"], 3);
    let d = w.ok(Some(&dairy), q, json!({ "f": { "gtin": GTIN, "lot": LOT } })).await;
    assert!(d["epcisEvents"]["edges"].as_array().is_some_and(|e| !e.is_empty()));
}

async fn warehouse_story(w: &World) {
    let wh = w.login("wh-admin").await;
    let dep = w.login("dep-admin").await;
    let bank = w.login("bank-admin").await;
    let reg = w.login("reg-admin").await;
    let other = w.login("other-admin").await;

    let r = w.gql(None, RECEIPTS, json!({})).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");
    // Only a warehouse operator issues (checked at the API before signing).
    let issue = "mutation($i:ReceiptTermsInput!){ issueWarehouseReceipt(input:$i){ height events { kind } } }";
    let r = w.gql(Some(&dep), issue, json!({ "i": receipt_terms("WR-1") })).await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    let d = w.ok(Some(&wh), issue, json!({ "i": receipt_terms("WR-1") })).await;
    assert_eq!(d["issueWarehouseReceipt"]["events"][0]["kind"], "ReceiptIssued");
    // The same goods cannot back a second receipt.
    let r = w.gql(Some(&wh), issue, json!({ "i": receipt_terms("WR-2") })).await;
    assert_eq!(error_code(&r), "CONFLICT");
    assert_eq!(r["errors"][0]["extensions"]["rule"], "GOODS_ALREADY_RECEIPTED");
    let mut bad = receipt_terms("WR-3");
    bad["quantity"] = json!(0);
    let r = w.gql(Some(&wh), issue, json!({ "i": bad })).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.quantity");

    w.ok(
        Some(&dep),
        "mutation{ pledgeWarehouseReceipt(number:\"WR-1\", funder:\"BANK\", amount:60000000, due:\"2026-09-05\"){ height } }",
        json!({}),
    )
    .await;
    // Who sees it: operator, holder, pledgee, regulator; not OTHER.
    for t in [&wh, &dep, &bank, &reg] {
        let d = w.ok(Some(t), RECEIPTS, json!({})).await;
        assert_eq!(numbers(&d), vec!["WR-1"]);
    }
    assert!(numbers(&w.ok(Some(&other), RECEIPTS, json!({})).await).is_empty());
    let one = "query($n:String!){ warehouseReceipt(number:$n){ number holder depositor quantity location { bin } identity { kind lot } insurance { insuredAmount } pledge { funder amount due } endorsements { to } } }";
    // An outsider cannot tell a receipt it may not see from one that does not exist (same code, same text).
    let hidden = w.gql(Some(&other), one, json!({ "n": "WR-1" })).await;
    assert_eq!(error_code(&hidden), "NOT_FOUND");
    let absent = w.gql(Some(&other), one, json!({ "n": "WR-404" })).await;
    assert_eq!(error_code(&absent), "NOT_FOUND");
    assert_eq!(
        hidden["errors"][0]["message"].as_str().map(|m| m.replace("WR-1", "#")),
        absent["errors"][0]["message"].as_str().map(|m| m.replace("WR-404", "#"))
    );
    let d = w.ok(Some(&bank), one, json!({ "n": "WR-1" })).await;
    assert_eq!(d["warehouseReceipt"]["pledge"]["amount"], 60000000);
    assert_eq!(d["warehouseReceipt"]["identity"]["lot"], "HG-CR-2605-017");
    // Filters.
    let d = w.ok(Some(&reg), RECEIPTS, json!({ "f": { "holder": "OTHER" } })).await;
    assert!(numbers(&d).is_empty());
    let d =
        w.ok(Some(&reg), RECEIPTS, json!({ "f": { "warehouse": "WH", "status": "ACTIVE", "goods": "钢卷" } })).await;
    assert_eq!(numbers(&d), vec!["WR-1"]);
    let d = w.ok(Some(&reg), RECEIPTS, json!({ "f": { "status": "WITHDRAWN" } })).await;
    assert!(numbers(&d).is_empty());

    // Withdrawal while pledged is refused; only the pledgee releases.
    let r = w.gql(Some(&dep), "mutation{ withdrawWarehouseReceipt(number:\"WR-1\"){ height } }", json!({})).await;
    assert_eq!(error_code(&r), "CONFLICT");
    let r = w
        .gql(Some(&other), "mutation{ endorseWarehouseReceipt(number:\"WR-1\", to:\"OTHER\"){ height } }", json!({}))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    w.ok(Some(&wh), "mutation{ flagWarehouseReceipt(number:\"WR-1\", reason:\"盘点差异\"){ height } }", json!({}))
        .await;
    let d = w.ok(Some(&dep), RECEIPTS, json!({})).await;
    assert_eq!(d["warehouseReceipts"]["edges"][0]["node"]["flag"]["source"], "operator");
    w.ok(Some(&bank), "mutation{ releaseWarehouseReceipt(number:\"WR-1\"){ height } }", json!({})).await;
    w.ok(Some(&wh), "mutation{ clearWarehouseReceiptFlag(number:\"WR-1\", reason:\"复盘无误\"){ height } }", json!({}))
        .await;
    assert!(numbers(&w.ok(Some(&bank), RECEIPTS, json!({})).await).is_empty(), "released: BANK no longer sees it");

    // Split in two bins, endorse one part to OTHER.
    let part = |bin: &str, q: i64| {
        json!({ "quantity": q, "location": { "warehouse": "WH-SH-01", "zone": "A", "bin": bin },
                "identity": { "kind": "LOT", "lot": "HG-CR-2605-017" } })
    };
    w.ok(
        Some(&dep),
        "mutation($p:[ReceiptSplitPartInput!]!){ splitWarehouseReceipt(number:\"WR-1\", parts:$p){ height } }",
        json!({ "p": [part("A-07", 70000), part("A-08", 50000)] }),
    )
    .await;
    let d = w.ok(Some(&dep), RECEIPTS, json!({})).await;
    assert_eq!(numbers(&d), vec!["WR-1", "WR-1-1", "WR-1-2"]);
    w.ok(
        Some(&dep),
        "mutation{ endorseWarehouseReceipt(number:\"WR-1-2\", to:\"OTHER\", note:\"货款结算\"){ height } }",
        json!({}),
    )
    .await;
    assert_eq!(numbers(&w.ok(Some(&other), RECEIPTS, json!({})).await), vec!["WR-1-2"]);
    let d = w.ok(Some(&other), one, json!({ "n": "WR-1-2" })).await;
    assert_eq!(d["warehouseReceipt"]["endorsements"][0]["to"], "OTHER");

    // Regulator freeze.
    let r = w
        .gql(Some(&wh), "mutation{ freezeWarehouseReceipt(number:\"WR-1-1\", reason:\"x\"){ height } }", json!({}))
        .await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    w.ok(Some(&reg), "mutation{ freezeWarehouseReceipt(number:\"WR-1-1\", reason:\"司法查封\"){ height } }", json!({}))
        .await;
    w.ok(Some(&reg), "mutation{ unfreezeWarehouseReceipt(number:\"WR-1-1\", reason:\"解封\"){ height } }", json!({}))
        .await;
}

async fn next_ws_json(
    ws: &mut (impl StreamExt<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin),
) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(15), ws.next())
            .await
            .expect("message in time")
            .expect("open")
            .expect("ok");
        if let Message::Text(t) = msg {
            let v: Value = serde_json::from_str(t.as_str()).expect("json");
            if v["type"] != "ping" && v["type"] != "pong" {
                return v;
            }
        }
    }
}

async fn device_story(w: &World) {
    let wh = w.login("wh-admin").await;
    let dep = w.login("dep-admin").await;
    let other = w.login("other-admin").await;
    let reg = w.login("reg-admin").await;

    let key = scf_ledger::crypto::KeyPair::generate().expect("key");
    let register = "mutation($i:RegisterDeviceInput!){ registerDevice(input:$i){ height } }";
    let r = w
        .gql(Some(&wh), register, json!({ "i": { "deviceId": "WH-T1", "publicKey": "zz", "kind": "TEMPERATURE", "binding": { "kind": "RECEIPT", "receipt": "WR-1-1" } } }))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "input.publicKey");
    w.ok(
        Some(&wh),
        register,
        json!({ "i": { "deviceId": "WH-T1", "publicKey": key.public().to_hex(), "kind": "TEMPERATURE",
                        "binding": { "kind": "RECEIPT", "receipt": "WR-1-1" },
                        "rules": [{ "rule": "SILENCE", "maxGapMs": 900000 }] } }),
    )
    .await;

    // DEP (holder of WR-1-1) subscribes to IoT alerts.
    let mut req = format!("ws://{}/graphql", w.server.addr).into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", "graphql-transport-ws".parse().expect("header"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket");
    ws.send(Message::text(json!({ "type": "connection_init", "payload": { "token": dep } }).to_string()))
        .await
        .expect("send");
    assert_eq!(next_ws_json(&mut ws).await["type"], "connection_ack");
    ws.send(Message::text(
        json!({ "id": "1", "type": "subscribe", "payload": { "query": "subscription{ iotAlerts { id deviceId flaggedKind flaggedRef status } }" } })
            .to_string(),
    ))
    .await
    .expect("send");
    // Give the server a moment to register the subscription before the alert is raised.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let raise = "mutation($o:AlertObservationInput!){ raiseDeviceAlert(deviceId:\"WH-T1\", ruleIndex:0, observation:$o, detail:\"无读数 15 分钟\"){ height events { kind } } }";
    let obs = json!({ "seq": 7, "timeMs": day_ms("2026-03-06"), "leaf": "00".repeat(32) });
    let r = w.gql(Some(&other), raise, json!({ "o": obs })).await;
    assert_eq!(error_code(&r), "FORBIDDEN", "only the owner or its ingestor raises: {r}");
    let d = w.ok(Some(&wh), raise, json!({ "o": obs })).await;
    let kinds: Vec<&str> =
        d["raiseDeviceAlert"]["events"].as_array().expect("events").iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(kinds.contains(&"AlertRaised") && kinds.contains(&"ReceiptFlagged"), "{kinds:?}");

    let msg = next_ws_json(&mut ws).await;
    assert_eq!(msg["type"], "next", "{msg}");
    let alert = &msg["payload"]["data"]["iotAlerts"];
    assert_eq!(alert["id"], "WH-T1#1");
    assert_eq!(alert["flaggedKind"], "RECEIPT");
    assert_eq!(alert["flaggedRef"], "WR-1-1");

    // Who sees the device and the alert.
    let devices = "query{ devices(first:10){ edges { node { id owner status binding { kind receipt } rules { rule maxGapMs } readings(fromMs:0, toMs:1000) { value } } } } }";
    let ids = |d: &Value| -> Vec<String> {
        d["devices"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert_eq!(ids(&w.ok(Some(&wh), devices, json!({})).await), vec!["WH-T1"]);
    assert_eq!(ids(&w.ok(Some(&dep), devices, json!({})).await), vec!["WH-T1"], "party of the bound receipt");
    assert!(ids(&w.ok(Some(&other), devices, json!({})).await).is_empty());
    assert_eq!(ids(&w.ok(Some(&reg), devices, json!({})).await), vec!["TL-Y260302", "WH-T1"]);
    // Someone else's device reads as one that does not exist.
    let hidden = w.gql(Some(&other), "query{ device(id:\"WH-T1\"){ id } }", json!({})).await;
    let absent = w.gql(Some(&other), "query{ device(id:\"NO-SUCH\"){ id } }", json!({})).await;
    assert_eq!((error_code(&hidden), error_code(&absent)), ("NOT_FOUND".into(), "NOT_FOUND".into()));
    let d = w
        .ok(
            Some(&reg),
            "query{ devices(filter:{lot:\"Y260302\", gtin:\"06901234000337\"}){ edges { node { id kind } } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["devices"]["edges"][0]["node"]["kind"], "temperature_humidity");
    let r = w.gql(Some(&reg), "query{ device(id:\"WH-T1\"){ readings(fromMs:10, toMs:5){ value } } }", json!({})).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "toMs");

    let alerts = "query($f:AlertFilter){ alerts(filter:$f, first:10){ edges { node { id status flaggedRef detail rule { rule } observation { seq leaf } } } } }";
    let count = |d: &Value| d["alerts"]["edges"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(count(&w.ok(Some(&dep), alerts, json!({})).await), 1);
    assert_eq!(count(&w.ok(Some(&other), alerts, json!({})).await), 0);
    assert_eq!(count(&w.ok(Some(&reg), alerts, json!({ "f": { "status": "OPEN", "receipt": "WR-1-1" } })).await), 1);

    // A flagged receipt cannot be pledged until the operator clears it; the owner clears the alert.
    let r = w
        .gql(Some(&dep), "mutation{ pledgeWarehouseReceipt(number:\"WR-1-1\", funder:\"BANK\", amount:100, due:\"2026-09-05\"){ height } }", json!({}))
        .await;
    assert_eq!(r["errors"][0]["extensions"]["rule"], "RECEIPT_FLAGGED");
    let r =
        w.gql(Some(&dep), "mutation{ clearDeviceAlert(alertId:\"WH-T1#1\", reason:\"x\"){ height } }", json!({})).await;
    assert_eq!(error_code(&r), "FORBIDDEN");
    w.ok(Some(&wh), "mutation{ clearDeviceAlert(alertId:\"WH-T1#1\", reason:\"网关恢复\"){ height } }", json!({}))
        .await;
    w.ok(
        Some(&wh),
        "mutation{ clearWarehouseReceiptFlag(number:\"WR-1-1\", reason:\"网关恢复\"){ height } }",
        json!({}),
    )
    .await;
    assert_eq!(count(&w.ok(Some(&reg), alerts, json!({ "f": { "status": "CLEARED" } })).await), 1);

    // Rebind, rules and revoke.
    w.ok(
        Some(&wh),
        "mutation{ rebindDevice(deviceId:\"WH-T1\", binding:{kind:SHIPMENT, shipment:\"SF-1\"}){ height } }",
        json!({}),
    )
    .await;
    w.ok(Some(&wh), "mutation{ setDeviceRules(deviceId:\"WH-T1\", rules:[{rule:THRESHOLD, readingType:\"temperature\", max:8000}]){ height } }", json!({})).await;
    w.ok(Some(&wh), "mutation{ revokeDevice(deviceId:\"WH-T1\", reason:\"报废\"){ height } }", json!({})).await;
    let d = w
        .ok(
            Some(&wh),
            "query{ device(id:\"WH-T1\"){ status binding { kind shipment } rules { rule max } } }",
            json!({}),
        )
        .await;
    assert_eq!(d["device"]["status"], "REVOKED");
    assert_eq!(d["device"]["binding"]["shipment"], "SF-1");
    assert_eq!(d["device"]["rules"][0]["max"], 8000);
    assert!(numbers(&w.ok(Some(&dep), RECEIPTS, json!({})).await).contains(&"WR-1-1".to_string()));
    let _ = ws.close(None).await;
}

async fn goods_story(w: &World) {
    provenance_story(w).await;
    warehouse_story(w).await;
    device_story(w).await;
    // The read model can be rebuilt from the chain with the same goods rows.
    let reg = w.login("reg-admin").await;
    let before = w.ok(Some(&reg), RECEIPTS, json!({})).await;
    w.server.api.indexer.rebuild().await.expect("rebuild");
    assert_eq!(w.ok(Some(&reg), RECEIPTS, json!({})).await, before);
    let _ = &w.chain;
}

fn generous() -> Limits {
    Limits { public_requests_per_minute: 6_000, public_burst: 1_000, ..Limits::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goods_on_sqlite() {
    let w = World::start(None, generous()).await;
    goods_story(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goods_on_postgres() {
    let Some(pg) = pg::Postgres::start() else { return };
    let w = World::start(Some(pg.url("goods")), generous()).await;
    goods_story(&w).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_queries_are_rate_limited_per_address() {
    let w = World::start(None, Limits { public_requests_per_minute: 6, public_burst: 3, ..Limits::default() }).await;
    for _ in 0..3 {
        w.ok(None, LOT_PAGE, json!({ "gtin": GTIN, "lot": LOT })).await;
    }
    let r = w.gql(None, LOT_PAGE, json!({ "gtin": GTIN, "lot": LOT })).await;
    assert_eq!(error_code(&r), "RATE_LIMITED", "{r}");
    assert!(r["errors"][0]["extensions"]["retryAfterMs"].as_u64().is_some_and(|ms| ms > 0));
    let r = w.gql(None, "query{ trace(digitalLink:\"/01/06901234000337/10/Y260302\"){ key } }", json!({})).await;
    assert_eq!(error_code(&r), "RATE_LIMITED");
    // Queries that need a session are not public: they say UNAUTHENTICATED, not RATE_LIMITED.
    let r = w.gql(None, "query{ devices { edges { cursor } } }", json!({})).await;
    assert_eq!(error_code(&r), "UNAUTHENTICATED");
}

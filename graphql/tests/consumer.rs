//! What protects a consumer, through GraphQL on a real chain and read model: a lot's brand owner (the
//! organisation that commissioned it) recalls it — nobody else but the regulator may — and the lot's
//! public page shows the recall first, with what, when and who; an IoT alert on the lot shows too;
//! steps carry location names from GLN master data; the serial page records anonymous scans and warns
//! when one serial is scanned in Shanghai and Beijing minutes apart.

mod common;

use std::time::Duration;

use common::*;
use scf_domain::org::Role;
use serde_json::{json, Value};

const YOGURT: &str = include_str!("../../seeds/provenance/yogurt-Y260302.jsonld");
const GTIN: &str = "06901234000337";
const LOT: &str = "Y260302";

const LOT_PAGE: &str = "query($g:String!,$l:String!){ lotPage(gtin:$g, lot:$l){
  warnings { kind reason timeMs height recordedBy { orgId orgName } reference deviceId status byRegulator }
  steps { location locationName locationAddress }
} }";

const RECALL: &str =
    "mutation($g:String!,$l:String!,$r:String!){ recallLot(gtin:$g, lot:$l, reason:$r){ txId height } }";

const SCAN: &str = "mutation($g:String!,$s:String!,$l:String,$p:ScanLocationInput){
  scanSerial(gtin:$g, serial:$s, lot:$l, location:$p){
    gtin serial lot known scanCount firstScanMs product { name }
    scans { timeMs latitude longitude }
    copyWarnings { kind distanceKm minutes count lot }
    lotWarnings { kind reason recordedBy { orgName } }
  } }";

async fn warnings(h: &Harness) -> Vec<Value> {
    let d = h.ok(None, LOT_PAGE, json!({ "g": GTIN, "l": LOT })).await;
    d["lotPage"]["warnings"].as_array().cloned().unwrap_or_default()
}

async fn token(h: &Harness, admin: &str, username: &str, role: &str) -> String {
    h.ok(
        Some(admin),
        "mutation($u:String!,$p:String!,$r:UserRole!){ createUser(input:{username:$u, password:$p, role:$r}){ id } }",
        json!({ "u": username, "p": PASSWORD, "r": role }),
    )
    .await;
    h.login(username, PASSWORD).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recall_alerts_location_names_and_copied_serials() {
    let h = Harness::start_with(
        None,
        vec![org("DAIRY", &[Role::Producer], false), org("CARRIER", &[Role::Logistics], false)],
        |_| {},
    )
    .await;
    let dairy = h.login("dairy-admin", PASSWORD).await;
    let carrier = h.login("carrier-admin", PASSWORD).await;
    let reg = h.login("reg-admin", PASSWORD).await;
    h.ok(Some(&dairy), "mutation($d:String!){ captureEpcis(document:$d){ hashes } }", json!({ "d": YOGURT })).await;
    assert!(warnings(&h).await.is_empty(), "nothing recorded against the lot yet");

    // --- Who may recall: the brand owner (DAIRY commissioned the lot) or the regulator.
    let vars = json!({ "g": GTIN, "l": LOT, "r": "李斯特菌检出，请勿食用，可凭小票退款" });
    assert_eq!(error_code(&h.gql(None, RECALL, vars.clone()).await), "UNAUTHENTICATED");
    let r = h.gql(Some(&carrier), RECALL, vars.clone()).await;
    assert_eq!(error_code(&r), "FORBIDDEN", "{r}");
    assert!(r["errors"][0]["message"].as_str().unwrap_or("").contains("DAIRY"), "{r}");
    let viewer = token(&h, &dairy, "dairy-viewer", "VIEWER").await;
    assert_eq!(error_code(&h.gql(Some(&viewer), RECALL, vars.clone()).await), "FORBIDDEN");
    let r = h.gql(Some(&dairy), RECALL, json!({ "g": "06901234000338", "l": LOT, "r": "x" })).await;
    assert_eq!(error_code(&r), "BAD_USER_INPUT");
    assert_eq!(r["errors"][0]["extensions"]["field"], "gtin", "{r}");
    let r = h.gql(Some(&dairy), RECALL, json!({ "g": GTIN, "l": LOT, "r": "  " })).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "reason", "{r}");
    assert!(warnings(&h).await.is_empty(), "refused recalls leave no trace");

    let d = h.ok(Some(&dairy), RECALL, vars.clone()).await;
    let height = d["recallLot"]["height"].as_i64().expect("height");
    let w = warnings(&h).await;
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0]["kind"], "recall");
    assert_eq!(w[0]["reason"], "李斯特菌检出，请勿食用，可凭小票退款");
    assert_eq!(w[0]["recordedBy"]["orgName"], "DAIRY 有限公司");
    assert_eq!(w[0]["height"], height);
    assert_eq!(w[0]["byRegulator"], false);
    assert_eq!(
        w[0]["timeMs"].as_u64(),
        Some(scf_client::Chain::block(&h.chain, height as u64).await.expect("block").expect("b").block.header.time_ms)
    );
    // Once only, even for the regulator.
    let r = h.gql(Some(&reg), RECALL, vars.clone()).await;
    assert!(r["errors"][0]["message"].as_str().unwrap_or("").contains("already recalled"), "{r}");

    // --- An IoT alert on the lot shows as a warning, with the device and its owner.
    let logger = scf_ledger::crypto::KeyPair::generate().expect("key");
    h.ok(
        Some(&dairy),
        "mutation($i:RegisterDeviceInput!){ registerDevice(input:$i){ height } }",
        json!({ "i": {
            "deviceId": "TL-Y260302", "publicKey": logger.public().to_hex(), "kind": "TEMPERATURE_HUMIDITY",
            "binding": { "kind": "LOT", "gtin": GTIN, "lot": LOT },
            "rules": [{ "rule": "THRESHOLD", "readingType": "temperature", "max": 8000, "forMs": 20000 }]
        } }),
    )
    .await;
    h.ok(
        Some(&dairy),
        "mutation($o:AlertObservationInput!){ raiseDeviceAlert(deviceId:\"TL-Y260302\", ruleIndex:0, observation:$o, detail:\"11.5 °C for 25 s (max 8 °C)\"){ height } }",
        json!({ "o": { "seq": 7, "timeMs": day_ms("2026-01-05"), "readingType": "temperature", "value": 11500, "leaf": "00".repeat(32) } }),
    )
    .await;
    let mut w = Vec::new();
    for _ in 0..20 {
        w = warnings(&h).await;
        if w.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(w.len(), 2, "the recall and the alert: {w:?}");
    assert_eq!(w[0]["kind"], "recall", "a recall comes first");
    assert_eq!(w[1]["kind"], "cold_chain_alert");
    assert_eq!(w[1]["deviceId"], "TL-Y260302");
    assert_eq!(w[1]["status"], "open");
    assert_eq!(w[1]["recordedBy"]["orgId"], "DAIRY");
    assert!(w[1]["reason"].as_str().unwrap_or("").contains("11.5 °C"), "{w:?}");

    // --- Location names from GLN master data (the raw id stays available).
    h.ok(
        Some(&dairy),
        "mutation($l:[LocationInput!]!){ describeLocations(locations:$l){ height } }",
        json!({ "l": [{ "id": "urn:epc:id:sgln:6901234.00002.0", "name": "沪光乳业 松江工厂", "address": "上海市松江区" }] }),
    )
    .await;
    let r = h
        .gql(
            Some(&carrier),
            "mutation($l:[LocationInput!]!){ describeLocations(locations:$l){ height } }",
            json!({ "l": [{ "id": "urn:epc:id:sgln:6901234.00002.0", "name": "假工厂" }] }),
        )
        .await;
    assert!(r["errors"][0]["message"].as_str().unwrap_or("").contains("DAIRY"), "only DAIRY renames its site: {r}");
    let d = h.ok(None, LOT_PAGE, json!({ "g": GTIN, "l": LOT })).await;
    let steps = d["lotPage"]["steps"].as_array().expect("steps");
    let named: Vec<&Value> = steps.iter().filter(|s| s["location"] == "urn:epc:id:sgln:6901234.00002.0").collect();
    assert!(!named.is_empty(), "{steps:?}");
    for s in named {
        assert_eq!(s["locationName"], "沪光乳业 松江工厂");
        assert_eq!(s["locationAddress"], "上海市松江区");
    }
    // A sub-location of the site without its own record is named by its site.
    assert!(steps
        .iter()
        .any(|s| s["location"] == "urn:epc:id:sgln:6901234.00002.2" && s["locationName"] == "沪光乳业 松江工厂"));

    // --- Serial pages.
    let scan = |serial: &str, lot: Option<&str>, at: Option<(f64, f64)>| {
        let p = at.map(|(a, b)| json!({ "latitude": a, "longitude": b }));
        json!({ "g": GTIN, "s": serial, "l": lot, "p": p })
    };
    // A serial the brand never issued: warned, and not recorded.
    let d = h.ok(None, SCAN, scan("FAKE1", None, Some((31.23, 121.47)))).await;
    let p = &d["scanSerial"];
    assert_eq!(p["known"], false);
    assert_eq!(p["scanCount"], 0);
    assert_eq!(p["copyWarnings"][0]["kind"], "unknown_serial");

    // A genuine serial, scanned in Shanghai: no copy warning, but the lot's recall.
    let d = h.ok(None, SCAN, scan("Y0001", None, Some((31.230_449, 121.473_701)))).await;
    let p = &d["scanSerial"];
    assert_eq!((p["known"].as_bool(), p["lot"].as_str()), (Some(true), Some(LOT)), "{p}");
    assert_eq!(p["scanCount"], 1);
    assert_eq!(p["copyWarnings"], json!([]));
    assert_eq!(p["lotWarnings"][0]["kind"], "recall");
    assert_eq!(p["scans"][0]["latitude"], 31.23, "stored to 0.01° only");
    assert_eq!(p["scans"][0]["longitude"], 121.47);
    // A reload from the same place is not a new scan.
    let d = h.ok(None, SCAN, scan("Y0001", None, Some((31.2304, 121.4737)))).await;
    assert_eq!(d["scanSerial"]["scanCount"], 1);
    // Minutes later in Beijing, with the lot in the link (GS1 path order 01/10/21): a copied label.
    let d = h.ok(None, SCAN, scan("Y0001", Some(LOT), Some((39.9042, 116.4074)))).await;
    let p = &d["scanSerial"];
    assert_eq!(p["scanCount"], 2);
    let w = &p["copyWarnings"][0];
    assert_eq!(w["kind"], "impossible_travel", "{p}");
    assert!((1000..1100).contains(&w["distanceKm"].as_i64().unwrap_or(0)), "{w}");
    assert!(w["minutes"].as_i64().unwrap_or(99) <= 1, "{w}");
    // The link naming another lot than the chain records.
    let d = h.ok(None, SCAN, scan("Y0002", Some("OTHER1"), None)).await;
    assert!(d["scanSerial"]["copyWarnings"]
        .as_array()
        .expect("w")
        .iter()
        .any(|w| w["kind"] == "lot_mismatch" && w["lot"] == LOT));
    // Bad input names the field.
    let r = h.gql(None, SCAN, scan("Y/1", None, None)).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "serial", "{r}");
    let r = h.gql(None, SCAN, scan("Y0001", None, Some((95.0, 0.0)))).await;
    assert_eq!(r["errors"][0]["extensions"]["field"], "location.latitude", "{r}");
}

/// The scan store keeps the newest `MAX_KEPT` scans of a serial and counts every scan.
#[tokio::test]
async fn serial_scan_storage_is_bounded_per_serial() {
    use scf_graphql::serial_scans::{load, record, Cell, Scan, MAX_KEPT};
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("r.sqlite").display());
    let db = scf_graphql::db::connect(&url).await.expect("db");
    let at = |i: i64, cell: Option<Cell>| Scan { time_ms: i * 60_000, cell };
    let shanghai = Some(Cell { lat_e2: 3123, lon_e2: 12147 });
    assert_eq!(load(&db, "none").await.expect("load"), (vec![], 0, None));
    for i in 0..(MAX_KEPT as i64 + 5) {
        record(&db, "k", &at(i, shanghai)).await.expect("record");
    }
    record(&db, "other", &at(0, None)).await.expect("record");
    let (scans, total, first) = load(&db, "k").await.expect("load");
    assert_eq!((scans.len() as u64, total, first), (MAX_KEPT, MAX_KEPT as i64 + 5, Some(0)));
    assert_eq!(scans[0].time_ms, 5 * 60_000, "the oldest were dropped");
    assert_eq!(scans[0].cell, shanghai);
}

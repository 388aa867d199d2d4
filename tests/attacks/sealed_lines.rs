//! Issue #21: invoice lines neither travel nor rest in clear. A competitor with a node (or anyone who
//! reads the node's client API) walks every block, every receipt and the invoice's state keys of a
//! real `scf demo`, after invoices were issued through GraphQL (`issueInvoice` and `issueInvoiceUbl`)
//! with distinctive item names, specs and unit prices, and finds none of them — nor the seeded demo
//! invoices' items — in the raw bytes, the decoded transaction payloads or the state values; the
//! entitled organisations still read the lines through GraphQL, a non-entitled one does not.
//!
//! Fails if the API goes back to clear lines (`InvoiceCall::Issue` / `IssueUbl`), or the seeds do.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use scf_domain::date::Date;
use scf_domain::invoice::{InvoiceDetails, InvoiceLine, NewInvoice, Party, PartyDetails, PostalAddress};
use serde_json::{json, Value};

use super::support::{free_port, gql, ok, LogOnPanic, Proc};
use super::{login, PASSWORD};

const SELLER_TAX_ID: &str = "91320400MA1MHL0B02"; // HLBRAKE
const BUYER_TAX_ID: &str = "91310000MA1FL5HS01"; // HSAUTO

/// What the issued invoices say that nobody outside the entitled organisations may read.
const SECRET_ITEM: &str = "*机密零件*SEALTEST-PIVOT-ALPHA";
const SECRET_SPEC: &str = "SPEC-SECRET-7Q";
const SECRET_PRICE: &str = "4321.9876";
const SECRET_UBL_ITEM: &str = "*机密零件*SEALTEST-UBL-OMEGA";
const SECRET_UBL_SPEC: &str = "UBL-SECRET-9Z";
const SECRET_UBL_PRICE: &str = "1234.5678";
/// The seeded demo invoices' items (seeds/story.toml): issued sealed too.
const SEEDED: &[&str] = &["*汽车零部件*制动盘", "制动卡钳", "制动总泵", "电子驻车制动器", "BD-320", "CP-88", "EPB-7"];

const NUMBER: &str = "26312099000000000001";
const UBL_NUMBER: &str = "26312099000000000002";

fn start_demo(data: &Path, port: u16, node_port: u16) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_scf"))
            .args(["demo", "--port", &port.to_string(), "--node-api", &format!("127.0.0.1:{node_port}"), "--data"])
            .arg(data)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::fs::File::create(data.with_extension("out")).expect("stdout file"))
            .stderr(std::fs::File::create(data.with_extension("log")).expect("log file"))
            .spawn()
            .expect("spawn scf demo"),
    )
}

/// `quantity × unit price` in fen, rounded half up, and 13 % tax on it (the chain's rounding).
fn amounts(quantity: u128, price_e4: u128) -> (i64, i64) {
    let amount = ((quantity * price_e4 * 100 + 5_000) / 10_000) as i64;
    (amount, (amount * 1300 + 5_000) / 10_000)
}

fn yesterday() -> Date {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis() as u64;
    Date::from_time_ms(now).add_days(-1)
}

fn ubl_invoice() -> String {
    let (amount, tax) = amounts(3, 12_345_678);
    let address = |city: &str| PostalAddress { city: city.into(), country: "CN".into(), ..PostalAddress::default() };
    let n = NewInvoice {
        number: UBL_NUMBER.into(),
        issue_date: yesterday(),
        currency: "CNY".into(),
        seller: Party { name: "江苏恒力制动系统有限公司".into(), tax_id: SELLER_TAX_ID.into() },
        buyer: Party { name: "华晟汽车集团有限公司".into(), tax_id: BUYER_TAX_ID.into() },
        buyer_org: None,
        lines: vec![InvoiceLine {
            item_name: SECRET_UBL_ITEM.into(),
            spec: SECRET_UBL_SPEC.into(),
            unit: "件".into(),
            quantity: Some("3".into()),
            unit_price: Some(SECRET_UBL_PRICE.into()),
            amount: amount as u64,
            tax_rate_bp: 1300,
            tax_amount: tax as u64,
        }],
        total_amount: amount as u64,
        total_tax: tax as u64,
        total_with_tax: (amount + tax) as u64,
        remarks: String::new(),
        issuer: "王芳".into(),
        details: InvoiceDetails {
            seller: PartyDetails { address: address("常州"), ..PartyDetails::default() },
            buyer: PartyDetails { address: address("上海"), ..PartyDetails::default() },
            due_date: Some(yesterday().add_days(60)),
            ..InvoiceDetails::default()
        },
    };
    scf_domain::ubl::to_ubl_xml(&n).expect("UBL")
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn base64(s: &str) -> Option<Vec<u8>> {
    let s = s.trim_end_matches('=');
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

/// Every byte string a JSON document carries: the raw text, every string decoded as hex and as
/// base64 where it is one, and every array of bytes (`Vec<u8>` serialised as numbers).
fn byte_views(v: &Value, out: &mut Vec<Vec<u8>>) {
    match v {
        Value::String(s) => {
            if s.len() >= 8 && s.len() % 2 == 0 {
                if let Ok(b) = hex::decode(s) {
                    out.push(b);
                }
            }
            if s.len() >= 8 {
                if let Some(b) = base64(s) {
                    out.push(b);
                }
            }
        }
        Value::Array(a) => {
            if !a.is_empty() && a.iter().all(|x| x.as_u64().is_some_and(|n| n <= 255)) {
                out.push(a.iter().filter_map(Value::as_u64).map(|n| n as u8).collect());
            } else {
                a.iter().for_each(|x| byte_views(x, out));
            }
        }
        Value::Object(m) => m.values().for_each(|x| byte_views(x, out)),
        _ => {}
    }
}

/// Fetch `path` from the node's client API: the raw body, and every byte view of it.
async fn node_get(http: &reqwest::Client, node: &str, path: &str) -> (String, Vec<Vec<u8>>) {
    let r = http.get(format!("{node}{path}")).send().await.expect("node API");
    assert!(r.status().is_success(), "GET {path}: {}", r.status());
    let text = r.text().await.expect("body");
    let v: Value = serde_json::from_str(&text).expect("JSON");
    let mut views = vec![text.clone().into_bytes()];
    byte_views(&v, &mut views);
    (text, views)
}

fn assert_no_secret(what: &str, views: &[Vec<u8>], secrets: &[&str]) {
    for s in secrets {
        for b in views {
            assert!(!contains(b, s.as_bytes()), "{s:?} appears in clear in {what}");
        }
    }
}

fn assert_no_bytes(what: &str, views: &[Vec<u8>], secrets: &[Vec<u8>]) {
    for s in secrets {
        for b in views {
            assert!(!contains(b, s), "{s:02x?} (a sealed figure, little-endian) appears in clear in {what}");
        }
    }
}

const LINES: &str = "query($n:String!){ invoice(number:$n){ lineCount linesAccess sealedFor \
                     lines { itemName spec unitPrice amount } } }";

#[test]
fn invoice_lines_never_travel_or_rest_in_clear_on_a_running_member() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("demo");
    let (port, node_port) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{port}");
    let node = format!("http://127.0.0.1:{node_port}");
    let mut demo = start_demo(&data, port, node_port);
    let _log_on_panic = LogOnPanic(data.with_extension("log"));
    let log = || std::fs::read_to_string(data.with_extension("log")).unwrap_or_default();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("rt");
    let http = reqwest::Client::new();
    let t0 = Instant::now();
    while !rt.block_on(async { http.get(format!("{url}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) })
    {
        if let Ok(Some(status)) = demo.0.try_wait() {
            panic!("scf demo exited ({status}): {}", log());
        }
        assert!(t0.elapsed() < Duration::from_secs(180), "demo did not come up: {}", log());
        std::thread::sleep(Duration::from_millis(250));
    }

    rt.block_on(async {
        let seller = login(&http, &url, "chen.jie", PASSWORD).await; // HLBRAKE operator
        let buyer = login(&http, &url, "li.na", PASSWORD).await; // HSAUTO operator
        let regulator = login(&http, &url, "inspector", PASSWORD).await; // PBOC-SH viewer
        let tax = login(&http, &url, "tax.officer", PASSWORD).await; // SH-TAX viewer
        let rival = login(&http, &url, "zhao.lei", PASSWORD).await; // JDCAST, a competing supplier
        let bank = login(&http, &url, "xu.jing", PASSWORD).await; // ICBC-SH, no financing applied for

        // 1. Issue through GraphQL, both ways.
        let (amount, tax_fen) = amounts(2, 43_219_876);
        let input = json!({
            "number": NUMBER, "issueDate": yesterday().to_string(),
            "seller": { "name": "江苏恒力制动系统有限公司", "taxId": SELLER_TAX_ID },
            "buyer": { "name": "华晟汽车集团有限公司", "taxId": BUYER_TAX_ID },
            "buyerOrg": "HSAUTO",
            "lines": [{ "itemName": SECRET_ITEM, "spec": SECRET_SPEC, "unit": "件", "quantity": "2",
                        "unitPrice": SECRET_PRICE, "amount": amount, "taxRateBp": 1300, "taxAmount": tax_fen }],
            "totalAmount": amount, "totalTax": tax_fen, "totalWithTax": amount + tax_fen,
            "remarks": "合同 HT-SEAL-1", "issuer": "陈杰"
        });
        let q = "mutation($i:IssueInvoiceInput!){ issueInvoice(input:$i){ height } }";
        ok(&gql(&http, &url, Some(&seller), q, json!({ "i": input })).await);
        let q = "mutation($x:String!){ issueInvoiceUbl(xml:$x, buyerOrg:\"HSAUTO\"){ height } }";
        let r = gql(&http, &url, Some(&seller), q, json!({ "x": ubl_invoice() })).await;
        let ubl_height = ok(&r)["issueInvoiceUbl"]["height"].as_u64().expect("height");

        // 2. Entitled organisations read the lines through GraphQL (their keys open them) ...
        for (who, token) in [("seller", &seller), ("buyer", &buyer), ("regulator", &regulator), ("tax", &tax)] {
            let d = ok(&gql(&http, &url, Some(token), LINES, json!({ "n": NUMBER })).await).clone();
            assert_eq!(d["invoice"]["linesAccess"], "OPENED", "{who}: {d}");
            assert_eq!(d["invoice"]["lines"][0]["itemName"], SECRET_ITEM, "{who}: {d}");
            assert_eq!(d["invoice"]["lines"][0]["unitPrice"], SECRET_PRICE, "{who}: {d}");
            let d = ok(&gql(&http, &url, Some(token), LINES, json!({ "n": UBL_NUMBER })).await).clone();
            assert_eq!(d["invoice"]["lines"][0]["spec"], SECRET_UBL_SPEC, "{who}: {d}");
        }
        let d = ok(&gql(&http, &url, Some(&seller), LINES, json!({ "n": NUMBER })).await).clone();
        let sealed_for: Vec<&str> =
            d["invoice"]["sealedFor"].as_array().expect("sealedFor").iter().filter_map(Value::as_str).collect();
        for org in ["HLBRAKE", "HSAUTO", "PBOC-SH", "SH-TAX"] {
            assert!(sealed_for.contains(&org), "lines not sealed for {org}: {sealed_for:?}");
        }
        assert!(!sealed_for.contains(&"JDCAST") && !sealed_for.contains(&"ICBC-SH"), "{sealed_for:?}");
        // ... a competitor and an uninvolved bank do not: they do not even see the invoice.
        for (who, token) in [("rival", &rival), ("bank", &bank)] {
            let r = gql(&http, &url, Some(token), LINES, json!({ "n": NUMBER })).await;
            assert!(r["data"]["invoice"].is_null(), "{who} sees the invoice: {r}");
            assert!(!r.to_string().contains(SECRET_ITEM), "{who} read the lines: {r}");
        }

        // Financing rates and pledge amounts (sealed_terms): a financing and a pledge through GraphQL.
        let figures = super::sealed_terms::run(&http, &url, PASSWORD).await;

        // 3. What a node operator reads: every block and receipt from 1 to the tip, and the state.
        let (status, _) = node_get(&http, &node, "/status").await;
        let status: Value = serde_json::from_str(&status).expect("status");
        let tip = status["height"].as_u64().expect("height");
        assert!(tip >= ubl_height, "tip {tip} below the issuing block {ubl_height}");
        let mut secrets =
            vec![SECRET_ITEM, SECRET_SPEC, SECRET_PRICE, SECRET_UBL_ITEM, SECRET_UBL_SPEC, SECRET_UBL_PRICE];
        secrets.extend_from_slice(SEEDED);
        secrets.extend(figures.text.iter().map(String::as_str));
        let mut payloads = 0;
        for h in 1..=tip {
            let (_, views) = node_get(&http, &node, &format!("/block/{h}")).await;
            payloads += views.len();
            assert_no_secret(&format!("block {h}"), &views, &secrets);
            assert_no_bytes(&format!("block {h}"), &views, &figures.bytes);
            let (_, views) = node_get(&http, &node, &format!("/block/{h}/receipts")).await;
            assert_no_secret(&format!("the receipts of block {h}"), &views, &secrets);
            assert_no_bytes(&format!("the receipts of block {h}"), &views, &figures.bytes);
        }
        assert!(payloads > tip as usize, "no transaction payloads decoded");
        for number in [NUMBER, UBL_NUMBER, "26312000000000180001", "26312000000000180002", "26312000000000180003"] {
            let proof = |key: String| {
                let path = format!("/proof/state?key={}&height={tip}", hex::encode(key.as_bytes()));
                let (http, node) = (http.clone(), node.clone());
                async move { node_get(&http, &node, &path).await }
            };
            let (sealed, views) = proof(format!("conf/invoice-lines/{number}")).await;
            let sealed: Value = serde_json::from_str(&sealed).expect("proof");
            assert!(sealed["value"].is_string(), "invoice {number}: no sealed lines in state: {sealed}");
            assert_no_secret(&format!("the sealed lines of {number} in state"), &views, &secrets);
            let (clear, _) = proof(format!("invoice/l/{number}")).await;
            let clear: Value = serde_json::from_str(&clear).expect("proof");
            assert!(clear["value"].is_null(), "invoice {number}: clear lines in state: {clear}");
            let (_, views) = proof(format!("invoice/i/{number}")).await;
            assert_no_secret(&format!("the header of {number} in state"), &views, &secrets);
        }
        // The financing's and the pledge's records: no figure in their bytes, and every figure field
        // decodes as `None` next to its sealed value.
        use super::sealed_terms::{FA, PLEDGE, RECEIPT, VOUCHER};
        let mut values = std::collections::HashMap::new();
        for key in [
            format!("workflow/i/{FA}"),
            format!("workflow/i/{PLEDGE}"),
            format!("voucher/v/{VOUCHER}"),
            format!("registration/{VOUCHER}"),
            format!("warehouse/r/{RECEIPT}"),
        ] {
            let path = format!("/proof/state?key={}&height={tip}", hex::encode(key.as_bytes()));
            let (text, views) = node_get(&http, &node, &path).await;
            assert_no_secret(&format!("{key} in state"), &views, &secrets);
            assert_no_bytes(&format!("{key} in state"), &views, &figures.bytes);
            let v: Value = serde_json::from_str(&text).expect("proof");
            if let Some(h) = v["value"].as_str() {
                values.insert(key, hex::decode(h).expect("hex value"));
            }
        }
        super::sealed_terms::check_state(&|k| values.get(k).cloned());
    });
}

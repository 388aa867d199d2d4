//! Attacks on a running member: the real `scf demo` binary (node, API and read model in one process)
//! in a temporary data directory, driven over HTTP and graphql-ws the way an anonymous client or a
//! competitor in the consortium would. Each attack fails if its defence is taken away:
//!
//! - a flood of signed junk from fresh keys (anonymous and signed in) is refused by the chain's
//!   admission before any signature is checked, leaves no nonce entry, and legitimate mutations and
//!   the public lot page keep answering (their p99 is printed: `cargo test -p scf --test attacks --
//!   --nocapture`);
//! - public queries over WebSocket spend the client's rate budget like HTTP ones, and an oversized
//!   WebSocket message closes the connection;
//! - one request with many aliased `login` fields checks one password;
//! - a disabled user's old token is refused over HTTP, and its open subscription ends;
//! - `scf demo --public`, whose logins are published, does not start without `--yes`;
//! - on the demo's MQTT broker, an anonymous client is refused, and a device of the consortium (added
//!   to the password file while the broker runs) can neither publish as another device nor subscribe to
//!   telemetry, directly or through the ingestion service's shared subscription;
//! - invoice lines issued through GraphQL (and the seeded ones) appear in clear in no block, receipt or
//!   state value read over the node's client API, while entitled organisations read them through
//!   GraphQL (`sealed_lines.rs`).

#[path = "../support/member.rs"]
mod support;

mod sealed_lines;
mod sealed_terms;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use scf_ledger::crypto::KeyPair;
use scf_ledger::tx::{Call, TxBody};
use serde_json::{json, Value};
use support::{free_port, gql, ok, LogOnPanic, Proc};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

const PASSWORD: &str = "scf-demo-2026";
const LOT_PAGE: &str = "{ lotPage(gtin: \"06901234000337\", lot: \"Y260302\") { __typename } }";
const SUBMIT: &str = "mutation($t:String!){ submitSignedTransaction(signedTxHex:$t){ txId } }";

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

fn start_demo(data: &Path, port: u16) -> Proc {
    Proc(
        Command::new(env!("CARGO_BIN_EXE_scf"))
            .args(["demo", "--port", &port.to_string(), "--data"])
            .arg(data)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::fs::File::create(data.with_extension("out")).expect("stdout file"))
            .stderr(std::fs::File::create(data.with_extension("log")).expect("log file"))
            .spawn()
            .expect("spawn scf demo"),
    )
}

async fn login(http: &reqwest::Client, url: &str, user: &str, password: &str) -> String {
    let q = "mutation($u:String!,$p:String!){ login(username:$u,password:$p){ token } }";
    let r = gql(http, url, None, q, json!({ "u": user, "p": password })).await;
    ok(&r)["login"]["token"].as_str().expect("token").to_string()
}

fn code(r: &Value) -> &str {
    r["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
}

fn p99(mut ms: Vec<f64>) -> f64 {
    ms.sort_by(|a, b| a.total_cmp(b));
    ms.get(((ms.len() as f64 * 0.99).ceil() as usize).saturating_sub(1)).copied().unwrap_or(f64::NAN)
}

/// A transaction from a key no member registered, signed properly, for a real module.
fn junk(chain_id: &str, expiry_height: u64) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let tx = TxBody {
        chain_id: chain_id.to_string(),
        sender: *key.public(),
        nonce: 0,
        expiry_height,
        call: Call { module: "voucher".into(), payload: vec![0; 64] },
    }
    .sign(&key);
    (hex::encode(tx.to_bytes()), key.address().to_hex())
}

async fn connect(url: &str, token: Option<&str>) -> Ws {
    let mut req = format!("{}/graphql", url.replace("http://", "ws://")).into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connect");
    let payload = token.map_or(json!({}), |t| json!({ "token": t }));
    ws.send(Message::Text(json!({ "type": "connection_init", "payload": payload }).to_string().into()))
        .await
        .expect("send");
    let ack = next_json(&mut ws, Duration::from_secs(10)).await.expect("ack");
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

/// The next graphql-ws JSON message within `wait`; `None` when the socket closed or nothing came.
async fn next_json(ws: &mut Ws, wait: Duration) -> Option<Value> {
    loop {
        let msg = tokio::time::timeout(wait, ws.next()).await.ok()??.ok()?;
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json message");
                if v["type"] == "ping" {
                    ws.send(Message::Text(json!({ "type": "pong" }).to_string().into())).await.ok()?;
                    continue;
                }
                return Some(v);
            }
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

#[test]
fn attacks_on_a_running_member_are_refused_and_it_keeps_serving() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = dir.path().join("demo");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut demo = start_demo(&data, port);
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
        let admin = login(&http, &url, "zhang.wei", PASSWORD).await;
        let operator = login(&http, &url, "chen.jie", PASSWORD).await;
        let status = gql(&http, &url, None, "{ chainStatus { chainId height } }", json!({})).await;
        let chain_id = ok(&status)["chainStatus"]["chainId"].as_str().expect("chain id").to_string();
        let height = ok(&status)["chainStatus"]["height"].as_u64().expect("height");

        // 1. A flood of signed junk from fresh keys: a signed-in competitor (no public budget to spend)
        //    and anonymous clients, while the core enterprise's admin creates users (each one an on-chain
        //    account) and a consumer opens the public lot page.
        // Each party comes from its own loopback address, as they would from their own machines: the
        // anonymous flood from 127.0.0.2, the consumer from 127.0.0.3.
        let from = |ip: [u8; 4]| {
            reqwest::Client::builder().local_address(std::net::IpAddr::from(ip)).build().expect("client")
        };
        let (strangers, consumer) = (from([127, 0, 0, 2]), from([127, 0, 0, 3]));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flood = |http: reqwest::Client, token: Option<String>, at_least: usize| {
            let (url, chain_id, stop) = (url.clone(), chain_id.clone(), stop.clone());
            tokio::spawn(async move {
                let mut out = Vec::new();
                while out.len() < at_least || !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (hex, address) = junk(&chain_id, height + 500);
                    let r = gql(&http, &url, token.as_deref(), SUBMIT, json!({ "t": hex })).await;
                    out.push((address, r));
                }
                out
            })
        };
        // The same two requests with no flood, for comparison.
        let create = "mutation($u:String!){ createUser(input:{username:$u, password:\"long enough pw\", role:OPERATOR}){ id } }";
        let (mut quiet_legit, mut quiet_lot) = (Vec::new(), Vec::new());
        for i in 0..10 {
            let t = Instant::now();
            ok(&gql(&http, &url, Some(&admin), create, json!({ "u": format!("quiet-legit-{i}") })).await);
            quiet_legit.push(t.elapsed().as_secs_f64() * 1e3);
            let t = Instant::now();
            ok(&gql(&consumer, &url, None, LOT_PAGE, json!({})).await);
            quiet_lot.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let started = Instant::now();
        let floods: Vec<_> = (0..4)
            .map(|_| flood(http.clone(), Some(operator.clone()), 100))
            .chain((0..2).map(|_| flood(strangers.clone(), None, 40)))
            .collect();
        let mut legit_ms = Vec::new();
        let mut lot_ms = Vec::new();
        for i in 0..25 {
            let t = Instant::now();
            let r = gql(&http, &url, Some(&admin), create, json!({ "u": format!("flood-legit-{i}") })).await;
            legit_ms.push(t.elapsed().as_secs_f64() * 1e3);
            ok(&r);
            let t = Instant::now();
            let r = gql(&consumer, &url, None, LOT_PAGE, json!({})).await;
            lot_ms.push(t.elapsed().as_secs_f64() * 1e3);
            ok(&r);
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut refused = 0usize;
        let mut limited = 0usize;
        let mut addresses = Vec::new();
        for f in floods {
            for (address, r) in f.await.expect("flood task") {
                assert!(r["data"].is_null() || r["data"]["submitSignedTransaction"].is_null(), "junk accepted: {r}");
                match code(&r) {
                    "RATE_LIMITED" => limited += 1,
                    _ => {
                        let e = &r["errors"][0];
                        assert_eq!(e["extensions"]["field"], "sender", "refused as a stranger: {r}");
                        assert!(e["message"].as_str().is_some_and(|m| m.contains("not an account")), "{r}");
                        refused += 1;
                    }
                }
                addresses.push(address);
            }
        }
        let flood_secs = started.elapsed().as_secs_f64();
        assert!(limited > 0, "anonymous junk beyond the burst is rate-limited");
        // No junk left a trace: nonce 0 for every sampled stranger (a refused transaction that was still
        // included would have consumed nonce 0).
        let tip = gql(&http, &url, None, "{ chainStatus { height } }", json!({})).await;
        assert!(ok(&tip)["chainStatus"]["height"].as_u64().is_some_and(|h| h > height), "the chain moved on");
        for a in addresses.iter().step_by(37) {
            let r = gql(&http, &url, Some(&admin), "query($a:String!){ nextNonce(address:$a){ nonce } }", json!({ "a": a }))
                .await;
            assert_eq!(ok(&r)["nextNonce"]["nonce"], 0, "{a}");
        }
        println!(
            "flood: {} junk submissions in {flood_secs:.1} s ({refused} refused as strangers, {limited} rate-limited); \
             legitimate createUser p99 {:.0} ms (n={}; {:.0} ms without the flood, n={}); \
             public lot page p99 {:.0} ms (n={}; {:.0} ms without, n={})",
            refused + limited,
            p99(legit_ms.clone()),
            legit_ms.len(),
            p99(quiet_legit.clone()),
            quiet_legit.len(),
            p99(lot_ms.clone()),
            lot_ms.len(),
            p99(quiet_lot.clone()),
            quiet_lot.len()
        );

        // 2. Public queries over WebSocket spend the client address's budget (30 at once, then 2 a second).
        let mut ws = connect(&url, None).await;
        for i in 0..40 {
            let sub = json!({ "id": format!("q{i}"), "type": "subscribe", "payload": { "query": LOT_PAGE } });
            ws.send(Message::Text(sub.to_string().into())).await.expect("send");
        }
        let mut ws_limited = 0;
        let mut answers = 0;
        while answers < 40 {
            let Some(m) = next_json(&mut ws, Duration::from_secs(20)).await else { break };
            if m["type"] == "next" || m["type"] == "error" {
                answers += 1;
                if m.to_string().contains("RATE_LIMITED") {
                    ws_limited += 1;
                }
            }
        }
        assert!(ws_limited > 0, "40 lot pages at once over WebSocket: some must be rate-limited");
        // An oversized message (beyond the HTTP body limit) closes the socket instead of being read.
        let big = json!({ "id": "big", "type": "subscribe", "payload": { "query": LOT_PAGE, "variables": { "x": "a".repeat(2 << 20) } } });
        let _ = ws.send(Message::Text(big.to_string().into())).await;
        let mut closed = false;
        for _ in 0..5 {
            match next_json(&mut ws, Duration::from_secs(10)).await {
                None => {
                    closed = true;
                    break;
                }
                Some(m) if m["id"] == "big" => panic!("an oversized message was read: {m}"),
                Some(_) => {}
            }
        }
        assert!(closed, "an oversized WebSocket message closes the connection");

        // 3. Aliased logins: one request, one password check.
        let aliases: String = (0..50)
            .map(|i| format!("l{i}: login(username:\"wang.fang\", password:\"guess-{i}\") {{ token }} "))
            .collect();
        let r = gql(&http, &url, None, &format!("mutation {{ {aliases} }}"), json!({})).await;
        let errors = r["errors"].as_array().expect("errors");
        let per_request =
            errors.iter().filter(|e| e["message"].as_str().is_some_and(|m| m.contains("one sign-in per request"))).count();
        assert_eq!(per_request, 49, "49 of 50 aliased logins refused without a password check: {r}");

        // 4. A disabled user: its old token over HTTP, and its open subscription.
        ok(&gql(&http, &url, Some(&admin), create, json!({ "u": "soon-gone" })).await);
        let gone = login(&http, &url, "soon-gone", "long enough pw").await;
        let mut ws = connect(&url, Some(&gone)).await;
        let sub = json!({ "id": "b", "type": "subscribe", "payload": { "query": "subscription { newBlocks { height } }" } });
        ws.send(Message::Text(sub.to_string().into())).await.expect("send");
        let first = next_json(&mut ws, Duration::from_secs(30)).await.expect("a block while signed in");
        assert_eq!(first["type"], "next", "{first}");
        let disable = "mutation($u:String!){ disableUser(username:$u){ username } }";
        ok(&gql(&http, &url, Some(&admin), disable, json!({ "u": "soon-gone" })).await);
        let r = gql(&http, &url, Some(&gone), "{ me { username } }", json!({})).await;
        assert!(r["data"]["me"].is_null(), "a disabled user's token reads nothing: {r}");
        let mut ended = false;
        for _ in 0..20 {
            match next_json(&mut ws, Duration::from_secs(30)).await {
                Some(m) if m["type"] == "next" && m["payload"]["errors"].is_array() => {
                    assert!(m.to_string().contains("UNAUTHENTICATED"), "{m}");
                    ended = true;
                    break;
                }
                Some(m) if m["type"] == "error" || m["type"] == "complete" => {
                    ended = true;
                    break;
                }
                Some(_) => {}
                None => {
                    ended = true;
                    break;
                }
            }
        }
        assert!(ended, "the disabled user's subscription kept delivering blocks");

        mqtt_attacks(&data).await;
    });
    drop(demo);
}

/// The demo's broker (its address is on the demo's standard output).
async fn mqtt_attacks(data: &Path) {
    use rumqttc::{
        AsyncClient, ConnectReturnCode, ConnectionError, Event, Incoming, MqttOptions, QoS, SubscribeReasonCode,
    };
    let out = std::fs::read_to_string(data.with_extension("out")).expect("demo output");
    let addr = out
        .lines()
        .find_map(|l| l.strip_prefix("MQTT broker on mqtt://"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|a| a.trim_end_matches(';').parse::<std::net::SocketAddr>().ok())
        .unwrap_or_else(|| panic!("no MQTT broker address in the demo's output: {out}"));
    let wait = Duration::from_secs(15);
    let options = |id: &str, login: Option<(&str, &str)>| {
        let mut o = MqttOptions::new(id, addr.ip().to_string(), addr.port());
        o.set_keep_alive(Duration::from_secs(30));
        if let Some((u, p)) = login {
            o.set_credentials(u, p);
        }
        o
    };
    // Anonymous: refused at CONNECT.
    let (_c, mut ev) = AsyncClient::new(options("anon-spy", None), 10);
    let refused = tokio::time::timeout(wait, async {
        loop {
            match ev.poll().await {
                Err(ConnectionError::ConnectionRefused(code)) => return Some(code),
                Ok(Event::Incoming(Incoming::ConnAck(_))) => return None,
                Ok(_) => {}
                Err(e) => panic!("anonymous MQTT client: {e}"),
            }
        }
    })
    .await
    .expect("an answer to CONNECT");
    assert_eq!(refused, Some(ConnectReturnCode::NotAuthorized), "an anonymous MQTT client");

    // A competitor's device, added to the broker's password file while it runs.
    let mut add = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["mqtt", "passwd", "--password-stdin", "--username", "RIVAL-DEV-1", "--file"])
        .arg(data.join("mqtt").join("passwd"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("scf mqtt passwd");
    std::io::Write::write_all(&mut add.stdin.take().expect("stdin"), b"rival-secret-1\n").expect("password");
    assert!(add.wait().expect("wait").success());
    let (rival, mut ev) = AsyncClient::new(options("rival", Some(("RIVAL-DEV-1", "rival-secret-1"))), 10);
    let connected = tokio::time::timeout(wait, async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .expect("CONNACK");
    assert_eq!(connected, Ok(()), "a device in the password file connects without a broker restart");
    for filter in ["scf/+/devices/+/telemetry", "$share/scf-ingest/scf/+/devices/+/telemetry", "#"] {
        rival.subscribe(filter, QoS::AtLeastOnce).await.expect("subscribe");
        let codes = tokio::time::timeout(wait, async {
            loop {
                match ev.poll().await {
                    Ok(Event::Incoming(Incoming::SubAck(s))) => return s.return_codes,
                    Ok(Event::Incoming(Incoming::Publish(p))) => panic!("the rival received telemetry on {}", p.topic),
                    Ok(_) => {}
                    Err(e) => panic!("subscribe {filter}: {e}"),
                }
            }
        })
        .await
        .expect("SUBACK");
        assert_eq!(codes, vec![SubscribeReasonCode::Failure], "the rival subscribing to {filter}");
    }
    // Publishing as the demo's warehouse sensor: the broker closes the connection, unacknowledged.
    rival
        .publish("scf/CMST-WH/devices/CMST-TH-A07/telemetry", QoS::AtLeastOnce, false, b"forged".to_vec())
        .await
        .expect("queue");
    let answer = tokio::time::timeout(wait, async {
        loop {
            match ev.poll().await {
                Ok(Event::Incoming(Incoming::PubAck(_))) => return "acknowledged",
                Ok(Event::Incoming(Incoming::Publish(p))) => panic!("the rival received telemetry on {}", p.topic),
                Ok(_) => {}
                Err(_) => return "closed",
            }
        }
    })
    .await
    .expect("an answer to PUBLISH");
    assert_eq!(answer, "closed", "a publish on another device's topic");
}

#[test]
fn the_demo_with_published_logins_is_not_exposed_without_confirmation() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = Command::new(env!("CARGO_BIN_EXE_scf"))
        .args(["demo", "--public", "--port", &free_port().to_string(), "--data"])
        .arg(dir.path().join("demo"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run scf demo");
    assert!(!out.status.success(), "scf demo --public started without --yes");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--yes") && err.contains("published password"), "{err}");
    assert!(!dir.path().join("demo").exists(), "nothing was created before the refusal");
}

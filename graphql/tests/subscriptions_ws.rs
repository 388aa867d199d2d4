//! Subscriptions over a real graphql-ws (graphql-transport-ws) websocket against the served router:
//! `newBlocks` delivers each committed block, `myEvents` delivers the events that concern the caller's
//! organisation and nothing else, and a subscription without a valid token is refused.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(h: &Harness, token: Option<&str>) -> Ws {
    let url = format!("ws://{}/graphql", h.server.addr);
    let mut req = url.into_client_request().expect("request");
    req.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("graphql-transport-ws"));
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.expect("websocket connect");
    let payload = match token {
        Some(t) => json!({ "token": t }),
        None => json!({}),
    };
    send(&mut ws, json!({ "type": "connection_init", "payload": payload })).await;
    let ack = next_json(&mut ws).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    ws
}

async fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string().into())).await.expect("send");
}

/// The next JSON message (pings are answered and skipped), within 10 s.
async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("a message within 10 s")
            .expect("stream open")
            .expect("websocket message");
        match msg {
            Message::Text(t) => {
                let v: Value = serde_json::from_str(t.as_str()).expect("json message");
                if v["type"] == "ping" {
                    send(ws, json!({ "type": "pong" })).await;
                    continue;
                }
                return v;
            }
            Message::Ping(p) => ws.send(Message::Pong(p)).await.expect("pong"),
            Message::Close(c) => panic!("closed: {c:?}"),
            _ => {}
        }
    }
}

async fn subscribe(ws: &mut Ws, id: &str, query: &str) {
    send(ws, json!({ "id": id, "type": "subscribe", "payload": { "query": query } })).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_blocks_and_my_events_are_delivered_over_graphql_ws() {
    let h = Harness::start(None).await;
    let s1 = h.login("s1-admin", PASSWORD).await;
    let s2 = h.login("s2-admin", PASSWORD).await;

    let mut ws1 = connect(&h, Some(&s1)).await;
    subscribe(&mut ws1, "blocks", "subscription { newBlocks { height hash txCount } }").await;
    subscribe(&mut ws1, "events", "subscription { myEvents { module kind txId height } }").await;
    let mut ws2 = connect(&h, Some(&s2)).await;
    subscribe(&mut ws2, "events", "subscription { myEvents { module kind txId } }").await;
    // Subscriptions are registered once the server has read the messages; a round trip proves it.
    for ws in [&mut ws1, &mut ws2] {
        send(ws, json!({ "type": "ping" })).await;
        assert_eq!(next_json(ws).await["type"], "pong");
    }

    // S1 issues an invoice: a block, and an event concerning S1 (and the buyer CORE) — not S2.
    let d = h
        .ok(
            Some(&s1),
            "mutation($i:IssueInvoiceInput!){ issueInvoice(input:$i){ txId height } }",
            json!({ "i": invoice_input("26310000000000000201", "S1", "CORE", 1_000_000, "2026-01-05") }),
        )
        .await;
    let tx = d["issueInvoice"]["txId"].clone();
    let height = d["issueInvoice"]["height"].clone();
    let mut got_block = false;
    let mut got_event = false;
    while !(got_block && got_event) {
        let m = next_json(&mut ws1).await;
        assert_eq!(m["type"], "next", "{m}");
        match m["id"].as_str() {
            Some("blocks") => {
                let b = &m["payload"]["data"]["newBlocks"];
                assert_eq!(b["height"], height, "{m}");
                assert_eq!(b["txCount"], 1);
                assert_eq!(b["hash"].as_str().map(str::len), Some(64));
                got_block = true;
            }
            Some("events") => {
                let e = &m["payload"]["data"]["myEvents"];
                assert_eq!(e["module"], "invoice", "{m}");
                assert_eq!(e["txId"], tx);
                got_event = true;
            }
            other => panic!("unexpected subscription id {other:?}: {m}"),
        }
    }

    // S2 issues an invoice: S2's first event is that one — S1's invoice was never sent to S2.
    let d = h
        .ok(
            Some(&s2),
            "mutation($i:IssueInvoiceInput!){ issueInvoice(input:$i){ txId } }",
            json!({ "i": invoice_input("26310000000000000202", "S2", "CORE", 2_000_000, "2026-01-05") }),
        )
        .await;
    let m = next_json(&mut ws2).await;
    assert_eq!(m["id"], "events", "{m}");
    assert_eq!(m["payload"]["data"]["myEvents"]["txId"], d["issueInvoice"]["txId"], "{m}");

    // Without a valid token the subscription is refused with UNAUTHENTICATED.
    let mut anon = connect(&h, Some("not-a-token")).await;
    subscribe(&mut anon, "x", "subscription { newBlocks { height } }").await;
    let m = next_json(&mut anon).await;
    assert_eq!(m["id"], "x", "{m}");
    assert!(m["payload"]["data"].is_null(), "{m}");
    assert_eq!(m["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{m}");
}

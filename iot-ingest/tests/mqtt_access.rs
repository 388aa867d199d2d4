//! Who may use the broker: the same password file and ACL file, written by `set_password` (what
//! `scf mqtt passwd` runs), given to the embedded broker and to a real Mosquitto (Debian's 2.0). Each
//! attack must fail on both:
//! - an anonymous client, and a wrong password, are refused at CONNECT;
//! - a device publishing on another device's topic reaches no subscriber;
//! - a device subscribing to all telemetry, or joining the ingestion service's shared subscription,
//!   gets no readings (a SUBACK failure from the embedded broker; Mosquitto 2.0 grants the subscription
//!   and filters every delivery) and takes none away from the service;
//! - a device's own readings reach the ingestion identity.

use std::time::Duration;

use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Incoming, QoS, SubscribeReasonCode};
use scf_iot_ingest::broker::{mqtt_options, BrokerArgs, EmbeddedBroker, MosquittoProcess};
use scf_iot_ingest::mqtt_access::{set_password, Access, DEFAULT_ACL};

const WAIT: Duration = Duration::from_secs(10);
const TELEMETRY: &str = "scf/+/devices/+/telemetry";

struct Files {
    _dir: tempfile::TempDir,
    passwd: std::path::PathBuf,
    acl: std::path::PathBuf,
}

/// Devices T-1 and T-2 (default ACL) and the ingestion identity `ingest`, which reads telemetry.
fn files() -> Files {
    let dir = tempfile::tempdir().expect("tmp");
    let passwd = dir.path().join("passwd");
    let acl = dir.path().join("acl");
    for u in ["T-1", "T-2", "ingest"] {
        set_password(&passwd, u, &format!("pw-{u}")).expect("passwd");
    }
    std::fs::write(&acl, format!("{DEFAULT_ACL}\nuser ingest\ntopic read {TELEMETRY}\n")).expect("acl");
    Files { _dir: dir, passwd, acl }
}

fn login(addr: std::net::SocketAddr, user: Option<(&str, &str)>) -> BrokerArgs {
    let mut a = BrokerArgs::plain(addr);
    if let Some((u, p)) = user {
        a.username = Some(u.into());
        a.password = Some(p.into());
    }
    a
}

/// Connect; Ok with the client once the broker accepted, Err with its CONNACK refusal.
async fn connect(args: &BrokerArgs, id: &str) -> Result<(AsyncClient, EventLoop), ConnectReturnCode> {
    let opts = mqtt_options(args, id).expect("options");
    let (client, mut events) = AsyncClient::new(opts, 100);
    let answer = tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
                Err(e) => panic!("{id}: connection failed without a CONNACK: {e}"),
            }
        }
    })
    .await
    .expect("CONNACK within 10 s");
    answer.map(|()| (client, events))
}

/// Subscribe and return the SUBACK's codes.
async fn subscribe(client: &AsyncClient, events: &mut EventLoop, filter: &str) -> Vec<SubscribeReasonCode> {
    client.subscribe(filter, QoS::AtLeastOnce).await.expect("subscribe");
    tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::SubAck(s))) => return s.return_codes,
                Ok(_) => {}
                Err(e) => panic!("subscribe {filter}: {e}"),
            }
        }
    })
    .await
    .expect("SUBACK within 10 s")
}

/// Publish with QoS 1 and drive the connection until PUBACK (true) or until the broker closes it (false).
async fn publish(client: &AsyncClient, events: &mut EventLoop, topic: &str, payload: &str) -> bool {
    client.publish(topic, QoS::AtLeastOnce, false, payload.as_bytes().to_vec()).await.expect("queue");
    tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::PubAck(_))) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .expect("an answer within 10 s")
}

/// Everything `events` receives within `for_how_long`, as (topic, payload).
async fn received(events: &mut EventLoop, for_how_long: Duration) -> Vec<(String, String)> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(for_how_long, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::Publish(p))) => {
                    got.push((p.topic.clone(), String::from_utf8_lossy(&p.payload).into_owned()))
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    })
    .await;
    got
}

/// `strict`: the broker refuses unauthorised subscriptions in the SUBACK (the embedded broker's guard);
/// Mosquitto 2.0 grants them to MQTT 3.1.1 clients and filters every delivery instead.
async fn attacks_fail(addr: std::net::SocketAddr, broker: &str, strict: bool) {
    let t1 = login(addr, Some(("T-1", "pw-T-1")));
    let t2 = login(addr, Some(("T-2", "pw-T-2")));
    let own = |d: &str| format!("scf/WH-A/devices/{d}/telemetry");

    // Anonymous, wrong password, unknown user: refused at CONNECT.
    for (args, what) in [
        (login(addr, None), "anonymous"),
        (login(addr, Some(("T-1", "pw-T-2"))), "wrong password"),
        (login(addr, Some(("nobody", "pw"))), "unknown user"),
    ] {
        let code = connect(&args, &format!("attacker-{}", what.replace(' ', "-"))).await.err();
        assert!(
            matches!(code, Some(ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNamePassword)),
            "{broker}: {what} client got {code:?}"
        );
    }

    // The ingestion identity subscribes: through its shared group (`--share-group scf-ingest`) on the
    // embedded broker; plainly (the service's default) on Mosquitto, where a client that joins the
    // group takes its share of the messages even though the ACL then drops them (docs/operations.md §3.1).
    let shared = format!("$share/scf-ingest/{TELEMETRY}");
    let (ing, mut ing_events) = connect(&login(addr, Some(("ingest", "pw-ingest"))), "ingest-1").await.expect("ingest");
    let codes = subscribe(&ing, &mut ing_events, if strict { &shared } else { TELEMETRY }).await;
    assert!(matches!(codes[..], [SubscribeReasonCode::Success(_)]), "{broker}: ingest subscription {codes:?}");

    // A device may not read telemetry, not even by joining the service's shared subscription.
    let (spy, mut spy_events) = connect(&t1, "spy").await.expect("T-1 connects");
    for filter in [TELEMETRY.to_string(), shared.clone(), "#".into(), own("T-2")] {
        let codes = subscribe(&spy, &mut spy_events, &filter).await;
        if strict {
            assert_eq!(codes, vec![SubscribeReasonCode::Failure], "{broker}: T-1 subscribing to {filter}");
        }
    }

    // T-1 publishes as T-2: nobody receives it.
    let (forger, mut forger_events) = connect(&t1, "forger").await.expect("T-1 connects");
    let acked = publish(&forger, &mut forger_events, &own("T-2"), "forged").await;
    // Then T-2 publishes its own readings: every one reaches the service, none is taken by the spy
    // (which, had it joined the shared group, would receive every other message).
    let (dev2, mut dev2_events) = connect(&t2, "dev2").await.expect("T-2 connects");
    for i in 0..6 {
        assert!(
            publish(&dev2, &mut dev2_events, &own("T-2"), &format!("genuine-{i}")).await,
            "{broker}: T-2's own publish"
        );
    }
    let seen = received(&mut ing_events, Duration::from_secs(2)).await;
    for i in 0..6 {
        assert!(seen.contains(&(own("T-2"), format!("genuine-{i}"))), "{broker}: ingest saw {seen:?}");
    }
    assert!(!seen.iter().any(|(_, p)| p == "forged"), "{broker}: a forged reading reached ingest: {seen:?}");
    let spied = received(&mut spy_events, Duration::from_millis(300)).await;
    assert!(spied.is_empty(), "{broker}: the spy received {spied:?}");
    eprintln!("{broker}: forged publish {}", if acked { "acknowledged and dropped" } else { "closed the connection" });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_enforces_passwords_and_acls() {
    let f = files();
    let b = EmbeddedBroker::start(([127, 0, 0, 1], 0).into(), Access::load(&f.passwd, Some(&f.acl)).expect("access"))
        .await
        .expect("broker");
    attacks_fail(b.addr, "embedded", true).await;

    // A device added to the file while the broker runs can connect without a restart.
    assert!(connect(&login(b.addr, Some(("T-3", "pw-T-3"))), "t3").await.is_err(), "T-3 is not in the file yet");
    tokio::time::sleep(Duration::from_millis(1100)).await; // a later modification time on coarse clocks
    set_password(&f.passwd, "T-3", "pw-T-3").expect("add T-3");
    assert!(connect(&login(b.addr, Some(("T-3", "pw-T-3"))), "t3").await.is_ok(), "T-3 after the file changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mosquitto_enforces_the_same_files() {
    let f = files();
    let m = MosquittoProcess::start_with_access(&f.passwd, &f.acl).expect("mosquitto");
    attacks_fail(m.addr, "mosquitto", false).await;
}

/// The guard refuses what is not MQTT 3.1.1 and bounds what a client may send before CONNECT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guard_refuses_malformed_and_oversized_clients() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = files();
    let b = EmbeddedBroker::start(([127, 0, 0, 1], 0).into(), Access::load(&f.passwd, None).expect("access"))
        .await
        .expect("broker");
    // MQTT 5 CONNECT (level 5): CONNACK 1, unacceptable protocol version.
    let mut s = tokio::net::TcpStream::connect(b.addr).await.expect("tcp");
    s.write_all(&[0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3c, 0x00, 0x00, 0x00])
        .await
        .expect("write");
    let mut answer = [0u8; 4];
    s.read_exact(&mut answer).await.expect("CONNACK");
    assert_eq!(answer, [0x20, 0x02, 0x00, 0x01]);
    // A CONNECT that announces 200 MB: closed without reading it.
    let mut s = tokio::net::TcpStream::connect(b.addr).await.expect("tcp");
    s.write_all(&[0x10, 0xff, 0xff, 0xff, 0x7f]).await.expect("write");
    let n = tokio::time::timeout(WAIT, s.read(&mut answer)).await.expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "oversized CONNECT: {n:?}");
    // Something that is not CONNECT first: closed.
    let mut s = tokio::net::TcpStream::connect(b.addr).await.expect("tcp");
    s.write_all(&[0xc0, 0x00]).await.expect("write");
    let n = tokio::time::timeout(WAIT, s.read(&mut answer)).await.expect("closed in time");
    assert!(matches!(n, Ok(0) | Err(_)), "PINGREQ before CONNECT: {n:?}");
}

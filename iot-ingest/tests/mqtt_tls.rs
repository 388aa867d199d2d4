//! Devices over 国密 TLS to the embedded broker (guard::serve_tls): an MQTT client library (rumqttc) with
//! the RFC 8998 client configuration and a device certificate from the organisation CA connects without a
//! password and publishes its readings, which reach the ingestion identity; a certificate from another
//! CA, a revoked one, none at all, or a username that is not the certificate's device is refused; the
//! ACL still applies to the certified device.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use rumqttc::{
    AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, Incoming, MqttOptions, QoS, Transport,
};
use scf_ca::{CaDir, CertKind, RevocationReason, RevokedSerials, SharedRevocations, TrustStore, VerifiedCrl};
use scf_gmtls::{Identity, Trust};
use scf_iot_ingest::broker::{mqtt_options, BrokerArgs, EmbeddedBroker, MqttTls};
use scf_iot_ingest::mqtt_access::{set_password, Access, DEFAULT_ACL};
use scf_ledger::crypto::KeyPair;

const WAIT: Duration = Duration::from_secs(10);
const TELEMETRY: &str = "scf/+/devices/+/telemetry";

struct Setup {
    _dir: tempfile::TempDir,
    ca: CaDir,
    ca_pem: String,
    broker: EmbeddedBroker,
    revocations: Arc<SharedRevocations>,
    live: Arc<scf_gmtls::live::LiveConnections>,
}

fn issue(ca: &mut CaDir, kind: CertKind, cn: &str, sans: Vec<String>) -> (Identity, u64) {
    let key = KeyPair::generate().expect("key");
    let cert = ca.issue(kind, &format!("CN={cn}"), *key.public(), 30, sans, SystemTime::now()).expect("issue");
    let serial = cert.serial();
    (Identity::new(cert, &key).expect("identity"), serial)
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tmp");
    let passwd = dir.path().join("passwd");
    let acl = dir.path().join("acl");
    set_password(&passwd, "ingest", "pw-ingest").expect("passwd");
    std::fs::write(&acl, format!("{DEFAULT_ACL}\nuser ingest\ntopic read {TELEMETRY}\n")).expect("acl");
    let access = Access::load(&passwd, Some(&acl)).expect("access");
    let mut ca = CaDir::init(&dir.path().join("ca"), "WH", None, 365, SystemTime::now()).expect("ca");
    let ca_pem = ca.authority().certificate().to_pem().expect("pem");
    let (server, _) = issue(&mut ca, CertKind::Tls, "mqtt", vec!["localhost".into()]);
    let revocations = Arc::new(SharedRevocations::new(RevokedSerials::new()));
    let trust = Trust::new(TrustStore::from_pem(&ca_pem).expect("trust"), revocations.clone());
    let mut broker = EmbeddedBroker::start(([127, 0, 0, 1], 0).into(), access).await.expect("broker");
    let tls = MqttTls::new(([127, 0, 0, 1], 0).into(), scf_gmtls::CurrentIdentity::new(server), trust).expect("tls");
    let live = tls.live.clone();
    broker.serve_tls(tls).await.expect("tls listener");
    Setup { _dir: dir, ca, ca_pem, broker, revocations, live }
}

/// A device client over 国密 TLS presenting `identity` (if any), trusting `ca_pem` for the broker.
fn tls_options(s: &Setup, ca_pem: &str, identity: Option<&Identity>, username: Option<&str>, id: &str) -> MqttOptions {
    let addr = s.broker.tls_addr.expect("tls addr");
    let mut opts = MqttOptions::new(id, "localhost", addr.port());
    opts.set_keep_alive(Duration::from_secs(30));
    if let Some(u) = username {
        opts.set_credentials(u, "");
    }
    let trust = Trust::new(TrustStore::from_pem(ca_pem).expect("trust"), Arc::new(scf_ca::NoRevocation));
    let config = scf_gmtls::client_config(identity, trust, true).expect("client config");
    opts.set_transport(Transport::tls_with_config(rumqttc::TlsConfiguration::Rustls(config)));
    opts
}

/// Connect; Ok once the broker accepted, Err with the refusal (CONNACK code or transport error).
async fn connect(opts: MqttOptions) -> Result<(AsyncClient, EventLoop), String> {
    let (client, mut events) = AsyncClient::new(opts, 100);
    tokio::time::timeout(WAIT, async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Incoming::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code)) => return Err(format!("{code:?}")),
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .expect("an answer in time")?;
    Ok((client, events))
}

/// The ingestion identity, subscribed to all telemetry (plain listener, password).
async fn ingestor(s: &Setup) -> EventLoop {
    let mut args = BrokerArgs::plain(s.broker.addr);
    args.username = Some("ingest".into());
    args.password = Some("pw-ingest".into());
    let (client, events) = connect(mqtt_options(&args, "ingest-1").expect("options")).await.expect("ingest connects");
    client.subscribe(TELEMETRY, QoS::AtLeastOnce).await.expect("subscribe");
    let mut events = events;
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(Event::Incoming(Incoming::SubAck(_))) = events.poll().await {
                return;
            }
        }
    })
    .await
    .expect("suback");
    events
}

/// The topics the ingestor receives until `until` arrives (or panics after WAIT).
async fn received_until(events: &mut EventLoop, until: &str) -> Vec<String> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        loop {
            if let Ok(Event::Incoming(Incoming::Publish(p))) = events.poll().await {
                seen.push(p.topic.clone());
                if p.topic == until {
                    return;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{until} not received; got {seen:?}"));
    seen
}

/// Keep a client's event loop running (it sends what the client queued).
fn drive(mut events: EventLoop) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move { while events.poll().await.is_ok() {} })
}

#[tokio::test]
async fn a_certified_device_publishes_without_a_password_and_the_acl_still_applies() {
    let mut s = setup().await;
    let mut ingest = ingestor(&s).await;
    let (dev, _) = issue(&mut s.ca, CertKind::Device, "T-1", vec![]);
    let (client, events) = connect(tls_options(&s, &s.ca_pem, Some(&dev), None, "t1")).await.expect("device connects");
    let _d = drive(events);
    // Another device's topic first: outside the ACL, the guard closes the connection and it never arrives.
    client.publish("scf/WH/devices/T-2/telemetry", QoS::AtMostOnce, false, b"forged".to_vec()).await.expect("queue");
    let (client, events) = connect(tls_options(&s, &s.ca_pem, Some(&dev), Some("T-1"), "t1b")).await.expect("again");
    let _d2 = drive(events);
    client.publish("scf/WH/devices/T-1/telemetry", QoS::AtLeastOnce, false, b"reading".to_vec()).await.expect("queue");
    let seen = received_until(&mut ingest, "scf/WH/devices/T-1/telemetry").await;
    assert!(!seen.iter().any(|t| t.contains("T-2")), "a device wrote to another device's topic: {seen:?}");
}

#[tokio::test]
async fn strangers_revoked_devices_and_borrowed_names_are_refused() {
    let mut s = setup().await;
    // No certificate at all.
    let err = connect(tls_options(&s, &s.ca_pem, None, Some("T-1"), "anon")).await.err().expect("refused");
    assert!(!err.is_empty());
    // A device certificate from another organisation's CA.
    let dir = tempfile::tempdir().expect("tmp");
    let mut other = CaDir::init(&dir.path().join("ca"), "OTHER", None, 365, SystemTime::now()).expect("ca");
    let (foreign, _) = issue(&mut other, CertKind::Device, "T-1", vec![]);
    let both = format!("{}{}", s.ca_pem, other.authority().certificate().to_pem().expect("pem"));
    assert!(connect(tls_options(&s, &both, Some(&foreign), None, "f")).await.is_err(), "foreign CA accepted");
    // A certified device that claims another device's name.
    let (dev, serial) = issue(&mut s.ca, CertKind::Device, "T-1", vec![]);
    let err = connect(tls_options(&s, &s.ca_pem, Some(&dev), Some("T-2"), "b")).await.err().expect("refused");
    assert_eq!(err, format!("{:?}", ConnectReturnCode::NotAuthorized));
    // The same device, connected, then revoked while the broker runs (as its CRL watcher does): its open
    // connection is closed at once, and it is refused at its next handshake.
    let (_client, mut open) = connect(tls_options(&s, &s.ca_pem, Some(&dev), None, "ok")).await.expect("connects");
    let crl = s.ca.revoke(serial, RevocationReason::KeyCompromise, SystemTime::now()).expect("revoke");
    let store = TrustStore::from_pem(&s.ca_pem).expect("trust");
    let crl = VerifiedCrl::from_pem(&crl, &store, SystemTime::now()).expect("crl");
    s.revocations.update(|r| r.apply_crl(&crl));
    assert!(s.live.sweep("test", s.revocations.as_ref()) >= 1, "the open connection is flagged");
    tokio::time::timeout(WAIT, async { while open.poll().await.is_ok() {} })
        .await
        .expect("the revoked device's open connection is closed");
    assert!(connect(tls_options(&s, &s.ca_pem, Some(&dev), None, "rev")).await.is_err(), "revoked device accepted");
}

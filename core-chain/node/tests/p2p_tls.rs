//! 国密 TLS between nodes (src/p2p_tls.rs), on real libp2p swarms over loopback TCP: members connect and
//! are identified by the peer id their certificate names; a node with a foreign certificate, a revoked
//! one, or one naming another peer is refused at the handshake; a connection whose certificate is revoked
//! while open is closed; a Noise node cannot talk to a 国密 TLS node.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use libp2p::futures::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{dummy, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, SwarmBuilder};
use scf_ca::{CaDir, CertKind, RevocationReason, RevokedSerials, SharedRevocations, TrustStore, VerifiedCrl};
use scf_gmtls::Identity;
use scf_ledger::crypto::KeyPair;
use scf_node::p2p_tls::{P2pTls, PEER_SAN_PREFIX};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

#[derive(Debug)]
enum Ev {
    Connected(PeerId),
    Closed(PeerId),
    DialFailed(String),
    IncomingFailed(String),
}

struct Node {
    key: Keypair,
    tls: P2pTls,
    serial: u64,
}

impl Node {
    fn id(&self) -> PeerId {
        self.key.public().to_peer_id()
    }
}

/// A node whose certificate, from `ca`, names `named` (its own peer id unless given), trusting `trust`.
fn node(ca: &mut CaDir, trust: &str, name: &str, named: Option<PeerId>) -> Node {
    let key = Keypair::generate_ed25519();
    let me = key.public().to_peer_id();
    let sm2 = KeyPair::generate().expect("key");
    let san = format!("{PEER_SAN_PREFIX}{}", named.unwrap_or(me));
    let cert = ca
        .issue(CertKind::Node, &format!("CN={name}"), *sm2.public(), 30, vec![san], SystemTime::now())
        .expect("issue");
    let serial = cert.serial();
    let identity = Identity::new(cert, &sm2).expect("identity");
    let store = TrustStore::from_pem(trust).expect("trust");
    let revocations = Arc::new(SharedRevocations::new(RevokedSerials::new()));
    let tls = P2pTls::new(&identity, store, revocations, Vec::new(), me).expect("tls").expect("configured");
    Node { key, tls, serial }
}

fn swarm(n: &Node) -> Swarm<dummy::Behaviour> {
    SwarmBuilder::with_existing_identity(n.key.clone())
        .with_tokio()
        .with_other_transport(|k| n.tls.transport(k))
        .expect("transport")
        .with_behaviour(|_| dummy::Behaviour)
        .expect("behaviour")
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(600)))
        .build()
}

/// Run `swarm` in a task: listen on loopback (returning the address), dial what is sent, report events.
async fn run(
    mut swarm: Swarm<dummy::Behaviour>,
) -> (Multiaddr, mpsc::UnboundedSender<Multiaddr>, mpsc::UnboundedReceiver<Ev>) {
    swarm.listen_on("/ip4/127.0.0.1/tcp/0".parse().expect("addr")).expect("listen");
    let addr = loop {
        if let SwarmEvent::NewListenAddr { address, .. } = swarm.select_next_some().await {
            break address;
        }
    };
    let (dial_tx, mut dial_rx) = mpsc::unbounded_channel::<Multiaddr>();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                Some(a) = dial_rx.recv() => { let _ = swarm.dial(a); }
                e = swarm.select_next_some() => {
                    let ev = match e {
                        SwarmEvent::ConnectionEstablished { peer_id, .. } => Ev::Connected(peer_id),
                        SwarmEvent::ConnectionClosed { peer_id, .. } => Ev::Closed(peer_id),
                        SwarmEvent::OutgoingConnectionError { error, .. } => Ev::DialFailed(format!("{error:?}")),
                        SwarmEvent::IncomingConnectionError { error, .. } => Ev::IncomingFailed(format!("{error:?}")),
                        _ => continue,
                    };
                    if ev_tx.send(ev).is_err() {
                        return;
                    }
                }
            }
        }
    });
    (addr, dial_tx, ev_rx)
}

async fn next(rx: &mut mpsc::UnboundedReceiver<Ev>) -> Ev {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("an event in time").expect("swarm running")
}

/// A connection refused by the listener at the handshake, naming `reason`: the listener reports the
/// failed incoming connection, and the dialler's dial fails — or, since TLS 1.3 clients finish their
/// handshake before the server has checked their certificate, the connection it saw open is closed at once.
async fn refused(listener: &mut mpsc::UnboundedReceiver<Ev>, dialler: &mut mpsc::UnboundedReceiver<Ev>, reason: &str) {
    match next(listener).await {
        Ev::IncomingFailed(e) => assert!(e.contains(reason), "refused, but not for {reason}: {e}"),
        e => panic!("the listener accepted the connection: {e:?}"),
    }
    match next(dialler).await {
        Ev::DialFailed(_) => {}
        Ev::Connected(p) => match next(dialler).await {
            Ev::Closed(q) => assert_eq!(p, q),
            e => panic!("the refused dialler's connection stayed open: {e:?}"),
        },
        e => panic!("dialler: {e:?}"),
    }
}

fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    addr.clone().with(Protocol::P2p(peer))
}

fn ca(dir: &std::path::Path, org: &str) -> (CaDir, String) {
    let ca = CaDir::init(&dir.join(org), org, None, 365, SystemTime::now()).expect("ca");
    let pem = ca.authority().certificate().to_pem().expect("pem");
    (ca, pem)
}

#[tokio::test]
async fn members_connect_and_are_identified_by_their_certificate() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ca1, pem1) = ca(dir.path(), "org-a");
    let (a, b) = (node(&mut ca1, &pem1, "a", None), node(&mut ca1, &pem1, "b", None));
    let (addr_a, _, mut ev_a) = run(swarm(&a)).await;
    let (_, dial_b, mut ev_b) = run(swarm(&b)).await;
    dial_b.send(with_peer(&addr_a, a.id())).expect("dial");
    match next(&mut ev_b).await {
        Ev::Connected(p) => assert_eq!(p, a.id()),
        e => panic!("b: {e:?}"),
    }
    match next(&mut ev_a).await {
        Ev::Connected(p) => assert_eq!(p, b.id(), "a knows b by the peer id b's certificate names"),
        e => panic!("a: {e:?}"),
    }
}

#[tokio::test]
async fn a_certificate_from_a_foreign_ca_is_refused_at_the_handshake() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ca1, pem1) = ca(dir.path(), "org-a");
    let (mut ca2, pem2) = ca(dir.path(), "stranger");
    let a = node(&mut ca1, &pem1, "a", None);
    // The stranger trusts org-a too, so the only refusal is a's.
    let stranger = node(&mut ca2, &format!("{pem1}{pem2}"), "s", None);
    let (addr_a, _, mut ev_a) = run(swarm(&a)).await;
    let (_, dial_s, mut ev_s) = run(swarm(&stranger)).await;
    dial_s.send(with_peer(&addr_a, a.id())).expect("dial");
    refused(&mut ev_a, &mut ev_s, "UnknownIssuer").await;
}

#[tokio::test]
async fn a_revoked_certificate_is_cut_off_and_refused_when_it_redials() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ca1, pem1) = ca(dir.path(), "org-a");
    let (a, b) = (node(&mut ca1, &pem1, "a", None), node(&mut ca1, &pem1, "b", None));
    let (addr_a, _, mut ev_a) = run(swarm(&a)).await;
    let (_, dial_b, mut ev_b) = run(swarm(&b)).await;
    dial_b.send(with_peer(&addr_a, a.id())).expect("dial");
    assert!(matches!(next(&mut ev_b).await, Ev::Connected(_)));
    assert!(matches!(next(&mut ev_a).await, Ev::Connected(_)));

    // The CA revokes b; a learns it from the CRL (as its watcher would on a CRL file change).
    let crl = ca1.revoke(b.serial, RevocationReason::KeyCompromise, SystemTime::now()).expect("revoke");
    let store = TrustStore::from_pem(&pem1).expect("trust");
    let crl = VerifiedCrl::from_pem(&crl, &store, SystemTime::now()).expect("crl verifies");
    a.tls.revocations().update(|r| r.apply_crl(&crl));
    assert_eq!(a.tls.sweep(), 1, "the open connection with b is marked");
    match next(&mut ev_a).await {
        Ev::Closed(p) => assert_eq!(p, b.id()),
        e => panic!("a: {e:?}"),
    }
    assert!(matches!(next(&mut ev_b).await, Ev::Closed(_)));

    dial_b.send(with_peer(&addr_a, a.id())).expect("redial");
    refused(&mut ev_a, &mut ev_b, "Revoked").await;
}

#[tokio::test]
async fn a_certificate_naming_another_peer_is_useless_without_that_peers_key() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ca1, pem1) = ca(dir.path(), "org-a");
    let (mut ca2, pem2) = ca(dir.path(), "org-b");
    let both = format!("{pem1}{pem2}");
    let victim = node(&mut ca1, &both, "victim", None);
    let a = node(&mut ca1, &both, "a", None);
    // Another member's CA certifies m as the victim's node. m holds its own ed25519 key, not the victim's.
    let m = node(&mut ca2, &both, "m", Some(victim.id()));

    // m listening: a dialler expecting the victim gets no session — m cannot sign for the victim's key.
    let (addr_m, _, _ev_m) = run(swarm(&m)).await;
    let (addr_a, dial_a, mut ev_a) = run(swarm(&a)).await;
    dial_a.send(with_peer(&addr_m, victim.id())).expect("dial");
    match next(&mut ev_a).await {
        Ev::DialFailed(e) => assert!(e.contains("holds the key of"), "{e}"),
        e => panic!("a: {e:?}"),
    }
    // m dialling: the listener refuses it for the same reason, whatever m's dialler expected.
    let (_, dial_m, mut ev_m) = run(swarm(&m)).await;
    dial_m.send(with_peer(&addr_a, a.id())).expect("dial");
    refused(&mut ev_a, &mut ev_m, "holds the key of").await;
    // The victim itself, with its certificate and key, still connects.
    let (_, dial_v, mut ev_v) = run(swarm(&victim)).await;
    dial_v.send(with_peer(&addr_a, a.id())).expect("dial");
    assert!(matches!(next(&mut ev_v).await, Ev::Connected(p) if p == a.id()));
    assert!(matches!(next(&mut ev_a).await, Ev::Connected(p) if p == victim.id()));
}

#[tokio::test]
async fn a_noise_node_cannot_talk_to_a_gm_tls_node() {
    let dir = tempfile::tempdir().expect("tmp");
    let (mut ca1, pem1) = ca(dir.path(), "org-a");
    let a = node(&mut ca1, &pem1, "a", None);
    let (addr_a, _, mut ev_a) = run(swarm(&a)).await;
    let noise = SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(libp2p::tcp::Config::default(), libp2p::noise::Config::new, libp2p::yamux::Config::default)
        .expect("tcp")
        .with_behaviour(|_| dummy::Behaviour)
        .expect("behaviour")
        .build();
    let (_, dial_n, mut ev_n) = run(noise).await;
    dial_n.send(with_peer(&addr_a, a.id())).expect("dial");
    assert!(matches!(next(&mut ev_n).await, Ev::DialFailed(_)));
    assert!(matches!(next(&mut ev_a).await, Ev::IncomingFailed(_)));
}

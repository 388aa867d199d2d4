//! Certificate rotation without a restart (src/rotation.rs): replacing an endpoint's certificate and key
//! files makes new handshakes present the new certificate while a connection opened before keeps working
//! (the overlap); a replacement the trusted CAs do not vouch for, or a key that is not the certificate's,
//! is refused and the current certificate kept.

mod common;

use std::time::{Duration, Instant};

use common::{trust, Org, STEP};
use scf_ca::CertKind;
use scf_gmtls::tokio_rustls::{TlsAcceptor, TlsConnector};
use scf_gmtls::{client_config, server_config_rotating, ClientAuth, CurrentIdentity, Trust};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server presenting whatever `current` holds; echoes bytes until the peer closes.
async fn server(current: std::sync::Arc<CurrentIdentity>, trust: Trust) -> std::net::SocketAddr {
    let acceptor = TlsAcceptor::from(server_config_rotating(current, trust, ClientAuth::None).expect("config"));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut buf = [0u8; 64];
                while let Ok(n) = tls.read(&mut buf).await {
                    if n == 0 || tls.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

type Conn = scf_gmtls::tokio_rustls::client::TlsStream<TcpStream>;

/// Connect and return the connection with the serial of the certificate the server presented.
async fn connect(addr: std::net::SocketAddr, trust: Trust) -> (Conn, u64) {
    let connector = TlsConnector::from(client_config(None, trust, true).expect("client"));
    let tcp = TcpStream::connect(addr).await.expect("tcp");
    let name = scf_gmtls::rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let tls = tokio::time::timeout(STEP, connector.connect(name, tcp)).await.expect("in time").expect("handshake");
    let der = tls.get_ref().1.peer_certificates().expect("certificates")[0].clone();
    let serial = scf_ca::SmCertificate::from_der(der.as_ref()).expect("cert").serial();
    (tls, serial)
}

async fn echo(conn: &mut Conn, msg: &[u8]) -> Vec<u8> {
    conn.write_all(msg).await.expect("write");
    let mut buf = vec![0u8; msg.len()];
    tokio::time::timeout(STEP, conn.read_exact(&mut buf)).await.expect("in time").expect("read");
    buf
}

#[tokio::test]
async fn a_replaced_certificate_is_presented_from_the_next_handshake_and_open_connections_continue() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut org = Org::new(dir.path(), "WH");
    let mut stranger = Org::new(dir.path(), "X");
    let (trusted, _) = trust(&[&org]);
    let (first, first_key) = org.identity(CertKind::Tls, "mqtt", &["localhost"]);
    let (cert, key) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let write = |id: &scf_gmtls::Identity, k: &scf_ledger::crypto::KeyPair| {
        std::fs::write(&key, k.to_pkcs8_pem().expect("pem")).expect("key");
        std::fs::write(&cert, id.certificate().to_pem().expect("pem")).expect("cert");
    };
    write(&first, &first_key);
    let current = CurrentIdentity::new(first.clone());
    let addr = server(current.clone(), trusted.clone()).await;
    tokio::spawn(scf_gmtls::rotation::watch_identity(
        "test",
        cert.clone(),
        key.clone(),
        current.clone(),
        trusted.clone(),
        |_| Ok(()),
    ));
    let (mut old, serial) = connect(addr, trusted.clone()).await;
    assert_eq!(serial, first.certificate().serial());

    // A certificate from a CA the endpoint does not trust: refused, the current one stays.
    let (foreign, foreign_key) = stranger.identity(CertKind::Tls, "mqtt", &["localhost"]);
    write(&foreign, &foreign_key);
    // A key that is not the new certificate's: refused too.
    let (second, second_key) = org.identity(CertKind::Tls, "mqtt", &["localhost"]);
    std::fs::write(&cert, second.certificate().to_pem().expect("pem")).expect("cert");
    std::fs::write(&key, first_key.to_pkcs8_pem().expect("pem")).expect("key");
    // Give the watcher a few polls over the bad files; new handshakes still see the first certificate.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(connect(addr, trusted.clone()).await.1, first.certificate().serial());

    // The right pair: presented from the next handshake on.
    write(&second, &second_key);
    let deadline = Instant::now() + STEP;
    loop {
        let (_, serial) = connect(addr, trusted.clone()).await;
        if serial == second.certificate().serial() {
            break;
        }
        assert!(Instant::now() < deadline, "the new certificate was not presented within {STEP:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(current.get().certificate().serial(), second.certificate().serial());
    // The connection opened with the first certificate keeps working.
    assert_eq!(echo(&mut old, b"still here").await, b"still here");
}

#[test]
fn expiry_is_counted_from_not_after() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut org = Org::new(dir.path(), "WH");
    let (id, _) = org.identity(CertKind::Tls, "mqtt", &["localhost"]);
    let not_after = id.certificate().not_after();
    assert_eq!(scf_gmtls::rotation::expires_in(&id, not_after - Duration::from_secs(100)), 100);
    assert_eq!(scf_gmtls::rotation::expires_in(&id, not_after + Duration::from_secs(5)), -5);
}

/// A member organisation admitted while the endpoint runs: its CA certificate is added to the trust
/// bundle file, and its clients are accepted from the next handshake on; a broken bundle changes nothing;
/// the CA removed again is refused again.
#[tokio::test]
async fn an_organisation_added_to_the_trust_bundle_is_accepted_without_a_restart() {
    let dir = tempfile::tempdir().expect("tmp");
    let mut a = Org::new(dir.path(), "A");
    let mut b = Org::new(dir.path(), "B");
    let bundle = dir.path().join("trust.pem");
    std::fs::write(&bundle, a.ca_pem()).expect("bundle");
    let (server_trust, _) = trust(&[&a]);
    let (server_id, _) = a.identity(CertKind::Tls, "node", &["localhost"]);
    let (addr, _seen) = common::echo_server(&server_id, server_trust.clone(), ClientAuth::Required).await;
    tokio::spawn(scf_gmtls::crl_files::watch_trust("test", "tls_trust", bundle.clone(), server_trust.clone()));
    let (client_trust, _) = trust(&[&a, &b]);
    let (client, _) = b.identity(CertKind::Client, "bank-service", &[]);
    let ping = || common::ping(addr, Some(&client), client_trust.clone(), "localhost", "hello");
    assert!(ping().await.is_err(), "B is not trusted yet");

    let until = |want_ok: bool| async move {
        let deadline = Instant::now() + STEP;
        loop {
            if ping().await.is_ok() == want_ok {
                return;
            }
            assert!(Instant::now() < deadline, "the bundle change did not take effect within {STEP:?}");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    };
    std::fs::write(&bundle, format!("{}{}", a.ca_pem(), b.ca_pem())).expect("bundle");
    until(true).await;
    std::fs::write(&bundle, "not a certificate").expect("bundle");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(ping().await.is_ok(), "a broken bundle must not drop the CAs trusted before");
    std::fs::write(&bundle, a.ca_pem()).expect("bundle");
    until(false).await;
}

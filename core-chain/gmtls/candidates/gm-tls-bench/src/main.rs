//! Handshake latency and bulk throughput of `gm-tls` over loopback, mutual TLS with SM2 certificates from
//! `scf-ca`. Prints one JSON object.

use std::time::{Instant, SystemTime};

use gm_tls::{TlsAcceptor, TlsConfig, TlsConnector};
use scf_ca::{CaDir, CertKind};
use scf_ledger::crypto::KeyPair;

const HANDSHAKES: usize = 200;
const BULK_BYTES: usize = 64 << 20;
const CHUNK: usize = 16 << 10;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let now = SystemTime::now();
    let mut ca = CaDir::init(&dir.path().join("ca"), "Bench Org", None, 30, now)?;
    let write = |name: &str, data: String| std::fs::write(dir.path().join(name), data);
    let server_key = KeyPair::generate()?;
    let client_key = KeyPair::generate()?;
    let server = ca.issue(CertKind::Tls, "CN=server", *server_key.public(), 10, vec!["localhost".into()], now)?;
    let client = ca.issue(CertKind::Client, "CN=client", *client_key.public(), 10, vec![], now)?;
    write("server.pem", server.to_pem()?)?;
    write("server.key", server_key.to_pkcs8_pem()?)?;
    write("client.pem", client.to_pem()?)?;
    write("client.key", client_key.to_pkcs8_pem()?)?;
    let p = |n: &str| dir.path().join(n);
    let ca_pem = dir.path().join("ca").join(CaDir::CERT);
    let acceptor = TlsAcceptor::new(TlsConfig::load(p("server.pem"), p("server.key"), ca_pem.clone())?.with_require_client_auth(true))?;
    let connector = TlsConnector::new(TlsConfig::load(p("client.pem"), p("client.key"), ca_pem)?.with_domain("localhost".into()))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;

    let server_task = tokio::spawn(async move {
        for _ in 0..HANDSHAKES {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let mut tls = acceptor.accept(tcp).await?;
            let ping = tls.read_application_data().await?;
            tls.write_application_data(&ping).await?;
        }
        let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
        let mut tls = acceptor.accept(tcp).await?;
        let mut got = 0usize;
        while got < BULK_BYTES {
            got += tls.read_application_data().await?.len();
        }
        tls.write_application_data(b"done").await?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });

    let mut times = Vec::with_capacity(HANDSHAKES);
    for _ in 0..HANDSHAKES {
        let start = Instant::now();
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let mut tls = connector.connect(tcp).await?;
        tls.write_application_data(b"ping").await?;
        let pong = tls.read_application_data().await?;
        assert_eq!(pong, b"ping");
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
    let mut tls = connector.connect(tcp).await?;
    let chunk = vec![0x5au8; CHUNK];
    let start = Instant::now();
    let mut sent = 0;
    while sent < BULK_BYTES {
        tls.write_application_data(&chunk).await?;
        sent += CHUNK;
    }
    let done = tls.read_application_data().await?;
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(done, b"done");
    server_task.await?.map_err(|e| e.to_string())?;
    times.sort_by(|a, b| a.total_cmp(b));
    println!(
        "{{\"impl\":\"gm-tls 0.2.16\",\"handshakes\":{HANDSHAKES},\"handshake_p50_ms\":{:.3},\"handshake_p99_ms\":{:.3},\"bulk_mib\":{},\"throughput_mib_s\":{:.1}}}",
        times[HANDSHAKES / 2],
        times[HANDSHAKES * 99 / 100],
        BULK_BYTES >> 20,
        (BULK_BYTES as f64 / (1 << 20) as f64) / secs
    );
    Ok(())
}

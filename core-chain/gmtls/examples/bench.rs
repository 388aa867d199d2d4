//! Handshake latency and bulk throughput over loopback TCP, mutual TLS 1.3, for scf-gmtls (RFC 8998 suite)
//! and, as a reference point, rustls with its ring provider (TLS13_AES_128_GCM_SHA256, X25519, ECDSA P-256).
//! Same workload as core-chain/gmtls/candidates/gm-tls-bench: 200 sequential handshakes each followed by a
//! 5-byte round trip, then 64 MiB written in 16 KiB chunks on one connection; TCP_NODELAY on every socket;
//! no session resumption (scf-gmtls never resumes, and the reference is configured alike). One JSON object
//! per stack.
//!
//!   cargo run --release -p scf-gmtls --example bench

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use scf_ca::{CaDir, CertKind, RevokedSerials, SharedRevocations, TrustStore};
use scf_gmtls::tokio_rustls::{TlsAcceptor, TlsConnector};
use scf_gmtls::{client_config, server_config, ClientAuth, Identity, Trust};
use scf_ledger::crypto::KeyPair;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const HANDSHAKES: usize = 200;
const BULK: usize = 64 << 20;
const CHUNK: usize = 16 << 10;

type AnyError = Box<dyn std::error::Error + Send + Sync>;

async fn measure(
    name: &str,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    server_name: &str,
) -> Result<(), AnyError> {
    let acceptor = TlsAcceptor::from(server);
    let connector = TlsConnector::from(client);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server_task = tokio::spawn(async move {
        for _ in 0..HANDSHAKES {
            let (tcp, _) = listener.accept().await?;
            tcp.set_nodelay(true)?;
            let mut tls = acceptor.accept(tcp).await?;
            let mut ping = [0u8; 5];
            tls.read_exact(&mut ping).await?;
            tls.write_all(&ping).await?;
            tls.flush().await?;
        }
        let (tcp, _) = listener.accept().await?;
        tcp.set_nodelay(true)?;
        let mut tls = acceptor.accept(tcp).await?;
        let mut buf = vec![0u8; CHUNK];
        let mut got = 0;
        while got < BULK {
            let n = tls.read(&mut buf).await?;
            if n == 0 {
                return Err::<(), AnyError>("bulk transfer ended early".into());
            }
            got += n;
        }
        tls.write_all(b"done!").await?;
        tls.flush().await?;
        Ok(())
    });
    let name_owned = ServerName::try_from(server_name.to_string())?;
    let mut times = Vec::with_capacity(HANDSHAKES);
    for _ in 0..HANDSHAKES {
        let start = Instant::now();
        let tcp = tokio::net::TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let mut tls = connector.connect(name_owned.clone(), tcp).await?;
        tls.write_all(b"ping!").await?;
        tls.flush().await?;
        let mut pong = [0u8; 5];
        tls.read_exact(&mut pong).await?;
        times.push(start.elapsed());
    }
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    tcp.set_nodelay(true)?;
    let mut tls = connector.connect(name_owned, tcp).await?;
    let chunk = vec![0x5au8; CHUNK];
    let start = Instant::now();
    for _ in 0..BULK / CHUNK {
        tls.write_all(&chunk).await?;
    }
    tls.flush().await?;
    let mut done = [0u8; 5];
    tls.read_exact(&mut done).await?;
    let secs = start.elapsed().as_secs_f64();
    server_task.await??;
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{}",
        serde_json::json!({
            "impl": name,
            "handshakes": HANDSHAKES,
            "handshake_p50_ms": (ms(times[HANDSHAKES / 2]) * 1000.0).round() / 1000.0,
            "handshake_p99_ms": (ms(times[HANDSHAKES * 99 / 100]) * 1000.0).round() / 1000.0,
            "bulk_mib": BULK >> 20,
            "throughput_mib_s": ((BULK as f64 / f64::from(1 << 20)) / secs * 10.0).round() / 10.0,
        })
    );
    Ok(())
}

fn sm_configs() -> Result<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>), AnyError> {
    let dir = tempfile::tempdir()?;
    let now = SystemTime::now() - Duration::from_secs(60);
    let mut ca = CaDir::init(dir.path(), "Bench Org", None, 30, now)?;
    let (server_key, client_key) = (KeyPair::generate()?, KeyPair::generate()?);
    let server = ca.issue(CertKind::Tls, "CN=server", *server_key.public(), 10, vec!["localhost".into()], now)?;
    let client = ca.issue(CertKind::Client, "CN=client", *client_key.public(), 10, vec![], now)?;
    let store = TrustStore::from_pem(&ca.authority().certificate().to_pem()?)?;
    let trust = Trust::new(store, Arc::new(SharedRevocations::new(RevokedSerials::new())));
    let server_cfg = server_config(&Identity::new(server, &server_key)?, trust.clone(), ClientAuth::Required)?;
    let client_cfg = client_config(Some(&Identity::new(client, &client_key)?), trust, true)?;
    Ok((server_cfg, client_cfg))
}

fn ring_configs() -> Result<(Arc<rustls::ServerConfig>, Arc<rustls::ClientConfig>), AnyError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    let ca = ca_params.self_signed(&ca_key)?;
    let leaf = |names: Vec<String>| -> Result<(CertificateDer<'static>, PrivateKeyDer<'static>), AnyError> {
        let key = rcgen::KeyPair::generate()?;
        let cert = rcgen::CertificateParams::new(names)?.signed_by(&key, &ca, &ca_key)?;
        Ok((cert.der().clone(), PrivateKeyDer::try_from(key.serialize_der())?))
    };
    let (server_cert, server_key) = leaf(vec!["localhost".into()])?;
    let (client_cert, client_key) = leaf(vec!["client".into()])?;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone())?;
    let roots = Arc::new(roots);
    let client_verifier =
        rustls::server::WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone()).build()?;
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_client_cert_verifier(client_verifier)
        .with_single_cert(vec![server_cert], server_key)?;
    let client_cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])?
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![client_cert], client_key)?;
    let mut server_cfg = server_cfg;
    server_cfg.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    server_cfg.send_tls13_tickets = 0;
    let mut client_cfg = client_cfg;
    client_cfg.resumption = rustls::client::Resumption::disabled();
    Ok((Arc::new(server_cfg), Arc::new(client_cfg)))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), AnyError> {
    let (s, c) = sm_configs()?;
    measure("scf-gmtls (rustls 0.23 + RustCrypto SM2/SM3/SM4-GCM)", s, c, "localhost").await?;
    let (s, c) = ring_configs()?;
    measure("rustls 0.23 + ring (AES-128-GCM, X25519, ECDSA P-256)", s, c, "localhost").await?;
    Ok(())
}

#![allow(dead_code)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use scf_ca::{CaDir, CertKind, RevokedSerials, SharedRevocations, TrustStore};
use scf_gmtls::tokio_rustls::{TlsAcceptor, TlsConnector};
use scf_gmtls::{client_config, server_config, ClientAuth, Identity, Trust};
use scf_ledger::crypto::KeyPair;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// Bounds every network step so a broken peer fails the test instead of hanging it.
pub const STEP: Duration = Duration::from_secs(20);

pub struct Org {
    pub ca: CaDir,
}

impl Org {
    pub fn new(dir: &Path, name: &str) -> Self {
        Org { ca: CaDir::init(&dir.join(name), name, None, 30, SystemTime::now() - Duration::from_secs(60)).unwrap() }
    }
    pub fn identity(&mut self, kind: CertKind, cn: &str, sans: &[&str]) -> (Identity, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let cert = self
            .ca
            .issue(
                kind,
                &format!("CN={cn}"),
                *key.public(),
                10,
                sans.iter().map(|s| s.to_string()).collect(),
                SystemTime::now() - Duration::from_secs(30),
            )
            .unwrap();
        (Identity::new(cert, &key).unwrap(), key)
    }
    pub fn ca_pem(&self) -> String {
        self.ca.authority().certificate().to_pem().unwrap()
    }
}

/// Trust in the given organisations' CAs, with a revocation set the test can change later.
pub fn trust(orgs: &[&Org]) -> (Trust, Arc<SharedRevocations>) {
    let pem: String = orgs.iter().map(|o| o.ca_pem()).collect();
    let revocations = Arc::new(SharedRevocations::new(RevokedSerials::new()));
    (Trust::new(TrustStore::from_pem(&pem).unwrap(), revocations.clone()), revocations)
}

/// An echo server: for each connection, reads one line and answers `echo: <line>`. Handshake and I/O
/// results are sent back so tests can assert what the server saw.
pub async fn echo_server(
    identity: &Identity,
    trust: Trust,
    client_auth: ClientAuth,
) -> (std::net::SocketAddr, tokio::sync::mpsc::UnboundedReceiver<Result<String, String>>) {
    let config = server_config(identity, trust.clone(), client_auth).unwrap();
    let acceptor = TlsAcceptor::from(config);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            let trust = trust.clone();
            tokio::spawn(async move {
                let result = serve_one(&acceptor, &trust, tcp).await;
                let _ = tx.send(result);
            });
        }
    });
    (addr, rx)
}

async fn serve_one<S: AsyncRead + AsyncWrite + Unpin>(
    acceptor: &TlsAcceptor,
    trust: &Trust,
    io: S,
) -> Result<String, String> {
    let tls = acceptor.accept(io).await.map_err(|e| e.to_string())?;
    let peer = scf_gmtls::peer_identity(trust, tls.get_ref().1)
        .map(|v| format!("{} from {}", v.certificate.subject(), v.organization))
        .unwrap_or_else(|| "anonymous".into());
    let mut tls = BufReader::new(tls);
    let mut line = String::new();
    tls.read_line(&mut line).await.map_err(|e| e.to_string())?;
    tls.get_mut().write_all(format!("echo: {line}").as_bytes()).await.map_err(|e| e.to_string())?;
    tls.get_mut().flush().await.map_err(|e| e.to_string())?;
    Ok(format!("{peer}: {}", line.trim_end()))
}

/// Connect, send one line, return the answer and the negotiated suite and group.
pub async fn ping(
    addr: std::net::SocketAddr,
    identity: Option<&Identity>,
    trust: Trust,
    server_name: &str,
    line: &str,
) -> Result<(String, u16, u16), String> {
    let config = client_config(identity, trust, true).map_err(|e| e.to_string())?;
    let connector = TlsConnector::from(config);
    let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name =
        scf_gmtls::rustls::pki_types::ServerName::try_from(server_name.to_string()).map_err(|e| e.to_string())?;
    exchange(&connector, name, tcp, line).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    connector: &TlsConnector,
    name: scf_gmtls::rustls::pki_types::ServerName<'static>,
    io: S,
    line: &str,
) -> Result<(String, u16, u16), String> {
    let tls = tokio::time::timeout(STEP, connector.connect(name, io))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    let (_, conn) = tls.get_ref();
    let suite = conn.negotiated_cipher_suite().map(|s| u16::from(s.suite())).unwrap_or(0);
    let group = conn.negotiated_key_exchange_group().map(|g| u16::from(g.name())).unwrap_or(0);
    let mut tls = BufReader::new(tls);
    tls.get_mut().write_all(format!("{line}\n").as_bytes()).await.map_err(|e| e.to_string())?;
    tls.get_mut().flush().await.map_err(|e| e.to_string())?;
    let mut answer = String::new();
    tokio::time::timeout(STEP, tls.read_line(&mut answer))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    if answer.is_empty() {
        return Err("connection closed without an answer".into());
    }
    Ok((answer.trim_end().to_string(), suite, group))
}

/// What the echo server saw for the next connection (bounded, so a test never waits forever).
pub async fn next_seen(
    seen: &mut tokio::sync::mpsc::UnboundedReceiver<Result<String, String>>,
) -> Result<String, String> {
    tokio::time::timeout(STEP, seen.recv()).await.expect("the server saw no connection").expect("server running")
}

//! Interoperability with an independent implementation: Tongsuo, the OpenSSL fork maintained for 国密, whose
//! libssl (TLS 1.3 with TLS_SM4_GCM_SM3, curveSM2, sm2sig_sm3 — RFC 8998, strict mode) ships linked into
//! the `tongsuopy` wheel on PyPI. `tests/tongsuo/fetch-tongsuo.sh` unpacks it (cached) and
//! `tests/tongsuo/tongsuo_peer.py` drives it through ctypes. The tests fetch it when `SCF_TONGSUO` does not
//! name the library and fail — never skip — when it cannot be had.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::SystemTime;

use common::*;
use scf_ca::{CaDir, CertKind, RevocationReason};
use scf_gmtls::{ClientAuth, CURVE_SM2_ID, TLS_SM4_GCM_SM3_ID};
use scf_ledger::crypto::KeyPair;

fn here(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn tongsuo() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        if let Some(path) = std::env::var_os("SCF_TONGSUO").filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        let script = here("tests/tongsuo/fetch-tongsuo.sh");
        let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().expect("run fetch-tongsuo.sh");
        assert!(out.status.success(), "fetching Tongsuo failed; the interop tests need it (see {})", script.display());
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.lines().last().expect("fetch-tongsuo.sh prints the library path").trim())
    })
}

fn peer(mode: &str) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg(here("tests/tongsuo/tongsuo_peer.py")).arg("--lib").arg(tongsuo()).arg(mode);
    cmd
}

/// Certificate and PKCS#8 key files for a Tongsuo peer, issued by `org`.
fn files(dir: &Path, org: &mut Org, kind: CertKind, cn: &str, sans: &[&str]) -> (PathBuf, PathBuf, u64) {
    let key = KeyPair::generate().unwrap();
    let now = SystemTime::now() - std::time::Duration::from_secs(30);
    let cert = org
        .ca
        .issue(kind, &format!("CN={cn}"), *key.public(), 10, sans.iter().map(|s| s.to_string()).collect(), now)
        .unwrap();
    let (c, k) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
    std::fs::write(&c, cert.to_pem().unwrap()).unwrap();
    std::fs::write(&k, key.to_pkcs8_pem().unwrap()).unwrap();
    (c, k, cert.serial())
}

struct Running(Child);
impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start a Tongsuo server; returns its port and a receiver of everything else it prints.
fn start_server(cert: &Path, key: &Path, ca: &Path) -> (Running, u16, mpsc::Receiver<String>) {
    let mut child = peer("server")
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg("--ca")
        .arg(ca)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the Tongsuo server");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx.recv_timeout(STEP).expect("the Tongsuo server did not start");
    let port = first.strip_prefix("listening ").and_then(|p| p.parse().ok()).expect("listening PORT");
    (Running(child), port, rx)
}

fn rest(rx: &mpsc::Receiver<String>) -> String {
    let mut out = String::new();
    while let Ok(line) = rx.recv_timeout(STEP) {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn run_client(port: u16, cert: &Path, key: &Path, ca: &Path, message: &str) -> (bool, String) {
    let out = peer("client")
        .args(["--port", &port.to_string(), "--message", message, "--cert"])
        .arg(cert)
        .arg("--key")
        .arg(key)
        .arg("--ca")
        .arg(ca)
        .output()
        .expect("run the Tongsuo client");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_tongsuo_library_is_the_sm_capable_build() {
    let out = peer("version").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("OpenSSL 1.1.1"), "Tongsuo 8.x reports its OpenSSL base");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scf_client_and_tongsuo_server_authenticate_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let mut supplier = Org::new(tmp.path(), "Supplier B");
    let (cert, key, _) = files(tmp.path(), &mut bank, CertKind::Node, "tongsuo-node", &["127.0.0.1"]);
    let (client_id, _) = supplier.identity(CertKind::Node, "scf-node", &[]);
    // The Tongsuo side trusts both organisation CAs, like an scf node does.
    let bundle = tmp.path().join("trusted.pem");
    std::fs::write(&bundle, format!("{}{}", bank.ca_pem(), supplier.ca_pem())).unwrap();
    let (_server, port, said) = start_server(&cert, &key, &bundle);
    let (t, _) = trust(&[&bank, &supplier]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let (answer, suite, group) = ping(addr, Some(&client_id), t, "127.0.0.1", "ping from rustls").await.unwrap();
    assert_eq!(answer, "echo: ping from rustls");
    assert_eq!((suite, group), (TLS_SM4_GCM_SM3_ID, CURVE_SM2_ID));
    let printed = rest(&said);
    assert!(printed.contains("cipher TLS_SM4_GCM_SM3\nreceived ping from rustls"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tongsuo_client_and_scf_server_authenticate_each_other_until_revoked() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (cert, key, serial) = files(tmp.path(), &mut bank, CertKind::Node, "tongsuo-client", &[]);
    let (server_id, _) = bank.identity(CertKind::Node, "scf-node", &["127.0.0.1"]);
    let ca = bank.ca.dir().join(CaDir::CERT);
    let (t, revocations) = trust(&[&bank]);
    let (addr, mut seen) = echo_server(&server_id, t.clone(), ClientAuth::Required).await;

    let (c, k, a) = (cert.clone(), key.clone(), ca.clone());
    let (ok, printed) =
        tokio::task::spawn_blocking(move || run_client(addr.port(), &c, &k, &a, "ping from tongsuo")).await.unwrap();
    assert!(ok, "{printed}");
    assert!(printed.contains("cipher TLS_SM4_GCM_SM3\nreceived echo: ping from tongsuo"), "{printed}");
    assert_eq!(next_seen(&mut seen).await.unwrap(), "CN=tongsuo-client,O=Bank A from Bank A: ping from tongsuo");

    let crl = bank.ca.revoke(serial, RevocationReason::KeyCompromise, SystemTime::now()).unwrap();
    let verified = scf_ca::VerifiedCrl::from_pem(&crl, &t.store(), SystemTime::now()).unwrap();
    revocations.update(|r| r.apply_crl(&verified));
    let (ok, printed) =
        tokio::task::spawn_blocking(move || run_client(addr.port(), &cert, &key, &ca, "again")).await.unwrap();
    assert!(!ok && !printed.contains("received echo: again"), "{printed}");
    let refused = next_seen(&mut seen).await.unwrap_err();
    assert!(refused.contains("Revoked"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scf_client_refuses_a_tongsuo_server_certified_by_a_foreign_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let mut mallory = Org::new(tmp.path(), "Mallory");
    let (cert, key, _) = files(tmp.path(), &mut mallory, CertKind::Node, "impostor", &["127.0.0.1"]);
    let (client_id, _) = bank.identity(CertKind::Node, "scf-node", &[]);
    let bundle = tmp.path().join("trusted.pem");
    std::fs::write(&bundle, format!("{}{}", bank.ca_pem(), mallory.ca_pem())).unwrap();
    let (_server, port, _) = start_server(&cert, &key, &bundle);
    let (t, _) = trust(&[&bank]);
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let err = ping(addr, Some(&client_id), t, "127.0.0.1", "hello?").await.unwrap_err();
    assert!(err.contains("UnknownIssuer"), "{err}");
}

/// Tongsuo, too, refuses an scf server whose certificate its CA file does not vouch for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tongsuo_client_refuses_an_scf_server_from_a_ca_it_does_not_trust() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let mut other = Org::new(tmp.path(), "Other C");
    let (cert, key, _) = files(tmp.path(), &mut bank, CertKind::Node, "tongsuo-client", &[]);
    let (server_id, _) = other.identity(CertKind::Node, "scf-node", &["127.0.0.1"]);
    let (t, _) = trust(&[&bank, &other]);
    let (addr, mut seen) = echo_server(&server_id, t, ClientAuth::Required).await;
    let ca = bank.ca.dir().join(CaDir::CERT);
    let (ok, printed) =
        tokio::task::spawn_blocking(move || run_client(addr.port(), &cert, &key, &ca, "x")).await.unwrap();
    assert!(!ok && printed.contains("certificate verify failed"), "{printed}");
    assert!(next_seen(&mut seen).await.is_err());
}

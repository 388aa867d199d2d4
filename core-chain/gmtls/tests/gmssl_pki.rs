//! GmSSL 3.1.1 as a second independent judge of the CA's certificates and CRLs (OpenSSL 3.0 cannot verify
//! SM2 CRLs signed with the standard ID). GmSSL is built from a PyPI source package by
//! `tests/gmssl/build-gmssl.sh` and cached; the tests build it when `SCF_GMSSL` does not name a binary, and
//! fail — never skip — when it cannot be had.
//!
//! GmSSL's TLS 1.3 is not used for handshake interop: it accepts only one handshake message per record and
//! tries to decrypt the dummy change_cipher_spec record, so it cannot talk to rustls (or OpenSSL-based
//! stacks); docs/gm-crypto-evaluation.md has the details. Tongsuo covers the handshake (tongsuo_interop.rs).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use common::*;
use scf_ca::{CaDir, CertKind, RevocationReason};
use scf_ledger::crypto::PublicKey;

const PASS: &str = "interop-test";

fn gmssl() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(path) = std::env::var_os("SCF_GMSSL").filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/gmssl/build-gmssl.sh");
        let out = Command::new("bash").arg(&script).stderr(Stdio::inherit()).output().expect("run build-gmssl.sh");
        assert!(out.status.success(), "building GmSSL failed; the interop tests need it (see {})", script.display());
        let stdout = String::from_utf8_lossy(&out.stdout);
        PathBuf::from(stdout.lines().last().expect("build-gmssl.sh prints the binary path").trim())
    })
}

/// A GmSSL key pair (encrypted PKCS#8 as GmSSL writes it) and a certificate for it from `org`'s CA.
fn gmssl_identity(dir: &Path, org: &mut Org, kind: CertKind, cn: &str, sans: &[&str]) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{cn}.key"));
    let public = dir.join(format!("{cn}.pub"));
    let status = Command::new(gmssl())
        .args(["sm2keygen", "-pass", PASS, "-out"])
        .arg(&key)
        .arg("-pubout")
        .arg(&public)
        .status()
        .unwrap();
    assert!(status.success(), "gmssl sm2keygen");
    let public = PublicKey::from_pem(&std::fs::read_to_string(&public).unwrap()).unwrap();
    let now = std::time::SystemTime::now() - std::time::Duration::from_secs(30);
    let cert =
        org.ca.issue(kind, &format!("CN={cn}"), public, 10, sans.iter().map(|s| s.to_string()).collect(), now).unwrap();
    let cert_path = dir.join(format!("{cn}.pem"));
    std::fs::write(&cert_path, cert.to_pem().unwrap()).unwrap();
    (cert_path, key)
}

/// GmSSL checks the CA's CRL signature independently of both rustls and OpenSSL.
#[test]
fn gmssl_verifies_the_ca_crl_and_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let mut bank = Org::new(tmp.path(), "Bank A");
    let (gm_cert, _) = gmssl_identity(tmp.path(), &mut bank, CertKind::Node, "gmssl-node", &[]);
    let serial = scf_ca::SmCertificate::from_pem(&std::fs::read_to_string(&gm_cert).unwrap()).unwrap().serial();
    let crl_pem = bank.ca.revoke(serial, RevocationReason::Superseded, std::time::SystemTime::now()).unwrap();
    let (_, der) = pem_to_der(&crl_pem);
    let crl = tmp.path().join("crl.der");
    std::fs::write(&crl, &der).unwrap();
    let ca = bank.ca.dir().join(CaDir::CERT);
    let out = Command::new(gmssl()).args(["crlverify", "-in"]).arg(&crl).arg("-cacert").arg(&ca).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("Verification success"), "{text}");
    let out = Command::new(gmssl()).args(["certverify", "-in"]).arg(&gm_cert).arg("-cacert").arg(&ca).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("Verification success"), "{text}");
    // One flipped bit in the signed part and GmSSL refuses the CRL.
    let mut bad = der.clone();
    bad[40] ^= 1;
    std::fs::write(&crl, &bad).unwrap();
    let out = Command::new(gmssl()).args(["crlverify", "-in"]).arg(&crl).arg("-cacert").arg(&ca).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!text.contains("Verification success"), "{text}");
}

fn pem_to_der(pem: &str) -> (String, Vec<u8>) {
    use std::io::{Read, Write};
    let mut child = Command::new("openssl")
        .args(["crl", "-outform", "DER"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl");
    child.stdin.take().unwrap().write_all(pem.as_bytes()).unwrap();
    let mut der = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut der).unwrap();
    assert!(child.wait().unwrap().success());
    ("X509 CRL".into(), der)
}

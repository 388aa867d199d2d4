//! OpenSSL 3 as an independent judge of what the CA writes.
//!
//! OpenSSL 3.0 verifies SM2 signatures with an empty distinguishing ID unless given
//! `-vfyopt distid:1234567812345678`; certificates and CRLs here are signed with the GM/T 0009/0015 default
//! ID, so every `openssl verify` passes that option (and one test shows what happens without it).

mod common;

use std::fs;

use common::*;
use der::{Decode, DecodePem, Encode};
use scf_ca::{CaDir, CertKind, RevocationReason};

const DISTID: &str = "distid:1234567812345678";

#[test]
fn openssl_parses_every_kind_as_sm2_with_sm3_with_its_usages() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(&tmp.path().join("ca"), "Bank A");
    let expect: [(CertKind, &[&str], &str); 5] = [
        (CertKind::Node, &["node1.bank-a.example"], "TLS Web Server Authentication, TLS Web Client Authentication"),
        (CertKind::Tls, &["api.bank-a.example", "127.0.0.1"], "TLS Web Server Authentication"),
        (CertKind::Client, &[], "TLS Web Client Authentication"),
        (CertKind::User, &["alice@bank-a.example"], "TLS Web Client Authentication"),
        (CertKind::Device, &["urn://device/sensor-7"], "TLS Web Client Authentication"),
    ];
    for (kind, sans, eku) in expect {
        let (cert, _) = issue(&mut ca, kind, &format!("{kind}-1"), sans);
        let file = tmp.path().join(format!("{kind}.pem"));
        fs::write(&file, cert.to_pem().unwrap()).unwrap();
        let (ok, text) = openssl(&["x509", "-in", file.to_str().unwrap(), "-noout", "-text"], tmp.path());
        assert!(ok, "{kind}: {text}");
        assert_eq!(text.matches("Signature Algorithm: SM2-with-SM3").count(), 2, "{kind}: {text}");
        assert!(text.contains("Public Key Algorithm: id-ecPublicKey"), "{kind}: {text}");
        assert!(text.contains("ASN1 OID: SM2"), "{kind}: {text}");
        assert!(text.contains("Version: 3 (0x2)"), "{kind}: {text}");
        assert!(text.contains(&format!("Subject: O = Bank A, CN = {kind}-1")), "{kind}: {text}");
        assert!(text.contains("CA:FALSE"), "{kind}: {text}");
        assert!(text.contains(eku), "{kind} EKU: {text}");
        let ku = if kind == CertKind::User { "Digital Signature, Non Repudiation" } else { "Digital Signature\n" };
        assert!(text.contains(ku), "{kind} key usage: {text}");
        for san in sans {
            assert!(text.contains(san), "{kind} SAN {san}: {text}");
        }
    }
    let (ok, text) = openssl(&["x509", "-in", "ca/ca.pem", "-noout", "-text"], tmp.path());
    assert!(ok && text.contains("CA:TRUE, pathlen:0") && text.contains("Certificate Sign, CRL Sign"), "{text}");
}

#[test]
fn openssl_verifies_the_chain_with_the_standard_distinguishing_id() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(&tmp.path().join("ca"), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    fs::write(tmp.path().join("node.pem"), cert.to_pem().unwrap()).unwrap();
    let at = attime();
    let (ok, text) =
        openssl(&["verify", "-attime", &at, "-vfyopt", DISTID, "-CAfile", "ca/ca.pem", "node.pem"], tmp.path());
    assert!(ok && text.contains("node.pem: OK"), "{text}");
    // OpenSSL 3.0's own default (empty ID) does not match GM/T 0015 certificates.
    let (ok, text) = openssl(&["verify", "-attime", &at, "-CAfile", "ca/ca.pem", "node.pem"], tmp.path());
    assert!(!ok && text.contains("certificate signature failure"), "{text}");
}

#[test]
fn openssl_refuses_a_certificate_from_a_foreign_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let _ours = new_ca(&tmp.path().join("ours"), "Bank A");
    let mut foreign = new_ca(&tmp.path().join("foreign"), "Mallory Ltd");
    let (cert, _) = issue(&mut foreign, CertKind::Node, "node-x", &[]);
    fs::write(tmp.path().join("x.pem"), cert.to_pem().unwrap()).unwrap();
    let (ok, text) =
        openssl(&["verify", "-attime", &attime(), "-vfyopt", DISTID, "-CAfile", "ours/ca.pem", "x.pem"], tmp.path());
    assert!(!ok && text.contains("unable to get local issuer certificate"), "{text}");
}

#[test]
fn openssl_refuses_a_certificate_outside_its_validity() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(&tmp.path().join("ca"), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    fs::write(tmp.path().join("node.pem"), cert.to_pem().unwrap()).unwrap();
    let late = (t0() + days(400)).duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let (ok, text) =
        openssl(&["verify", "-attime", &late, "-vfyopt", DISTID, "-CAfile", "ca/ca.pem", "node.pem"], tmp.path());
    assert!(!ok && text.contains("certificate has expired"), "{text}");
}

/// The CRL lists the revoked serial with its reason, and its signature verifies in OpenSSL over the exact
/// signed bytes with the standard ID.
#[test]
fn openssl_reads_the_crl_and_verifies_its_signature() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(&tmp.path().join("ca"), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    ca.revoke(cert.serial(), RevocationReason::KeyCompromise, t0() + days(1)).unwrap();
    let (ok, text) = openssl(&["crl", "-in", "ca/crl.pem", "-noout", "-text"], tmp.path());
    assert!(ok, "{text}");
    assert!(text.contains("Version 2 (0x1)") && text.contains("Signature Algorithm: SM2-with-SM3"), "{text}");
    assert!(text.contains(&format!("Serial Number: {:02X}", cert.serial())), "{text}");
    assert!(text.contains("Key Compromise"), "{text}");
    assert!(text.contains("X509v3 CRL Number: \n                2"), "{text}");

    let crl_pem = fs::read_to_string(tmp.path().join("ca").join(CaDir::CRL)).unwrap();
    let crl: x509_cert::crl::CertificateList = x509_cert::crl::CertificateList::from_pem(crl_pem.as_bytes()).unwrap();
    fs::write(tmp.path().join("tbs.der"), crl.tbs_cert_list.to_der().unwrap()).unwrap();
    fs::write(tmp.path().join("sig.der"), crl.signature.raw_bytes()).unwrap();
    let (ok, text) = openssl(&["x509", "-in", "ca/ca.pem", "-pubkey", "-noout", "-out", "capub.pem"], tmp.path());
    assert!(ok, "{text}");
    let verify = |sigopt: Option<&str>| {
        let mut args = vec!["dgst", "-sm3", "-verify", "capub.pem", "-signature", "sig.der"];
        if let Some(o) = sigopt {
            args.extend(["-sigopt", o]);
        }
        args.push("tbs.der");
        openssl(&args, tmp.path())
    };
    let (ok, text) = verify(Some(DISTID));
    assert!(ok && text.contains("Verified OK"), "{text}");
    let (ok, _) = verify(None);
    assert!(!ok, "an empty distinguishing ID must not verify a GM/T 0015 signature");
    assert!(x509_cert::Certificate::from_der(cert.der()).is_ok());
}

/// OpenSSL 3.0 applies `-vfyopt` to certificates only, so `-crl_check` cannot verify any SM2 CRL signed with
/// the standard ID (openssl/openssl#23471). Revocation is therefore checked by the Rust verifier; this test
/// fails — and says so — the day the installed OpenSSL can do it, so the project can rely on it then.
#[test]
fn openssl_3_crl_check_cannot_verify_standard_sm2_crl_signatures() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(&tmp.path().join("ca"), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    ca.revoke(cert.serial(), RevocationReason::KeyCompromise, t0() + days(1)).unwrap();
    fs::write(tmp.path().join("node.pem"), cert.to_pem().unwrap()).unwrap();
    let at = (t0() + days(2)).duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string();
    let (ok, text) = openssl(
        &[
            "verify",
            "-attime",
            &at,
            "-vfyopt",
            DISTID,
            "-crl_check",
            "-CRLfile",
            "ca/crl.pem",
            "-CAfile",
            "ca/ca.pem",
            "node.pem",
        ],
        tmp.path(),
    );
    assert!(!ok, "{text}");
    assert!(
        text.contains("CRL signature failure"),
        "OpenSSL now verifies SM2 CRLs ({text}); use `openssl verify -crl_check` in these tests instead"
    );
}

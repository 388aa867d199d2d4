//! The Rust verifier: trust, tampering, validity, purpose and revocation, as a TLS or P2P peer check sees them.

mod common;

use std::fs;

use common::*;
use scf_ca::cli::{run, CaArgs, CaCommand, KindArg, PurposeArg};
use scf_ca::{
    Authority, CaDir, CaError, CertKind, IssueRequest, NoRevocation, Purpose, RevocationReason, RevokedSerials,
    SharedRevocations, SmCertificate, TrustStore, Validity, VerifiedCrl,
};
use scf_ledger::crypto::KeyPair;

fn trust(ca: &CaDir) -> TrustStore {
    TrustStore::from_pem(&ca.authority().certificate().to_pem().unwrap()).unwrap()
}

#[test]
fn a_node_certificate_verifies_for_both_tls_sides_and_names_its_organisation() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (cert, key) = issue(&mut ca, CertKind::Node, "node-1", &["node1.bank-a.example"]);
    let store = trust(&ca);
    for purpose in [Purpose::ServerAuth, Purpose::ClientAuth, Purpose::Signing] {
        let v = store.verify(cert.der(), purpose, t0() + days(1), &NoRevocation).unwrap();
        assert_eq!(v.organization, "Bank A");
        assert_eq!(v.certificate.public_key(), key.public());
        assert_eq!(v.certificate.subject(), "CN=node-1,O=Bank A");
    }
    assert_eq!(cert.subject_alt_names().unwrap(), vec!["node1.bank-a.example".to_string()]);
}

#[test]
fn each_kind_is_refused_for_a_tls_side_its_profile_does_not_allow() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let store = trust(&ca);
    let at = t0() + days(1);
    for (kind, sans, server_ok, client_ok) in [
        (CertKind::Tls, vec!["api.example"], true, false),
        (CertKind::Client, vec![], false, true),
        (CertKind::User, vec![], false, true),
        (CertKind::Device, vec![], false, true),
    ] {
        let (cert, _) = issue(&mut ca, kind, &format!("{kind}-1"), &sans);
        let server = store.verify(cert.der(), Purpose::ServerAuth, at, &NoRevocation);
        let client = store.verify(cert.der(), Purpose::ClientAuth, at, &NoRevocation);
        assert_eq!(server.is_ok(), server_ok, "{kind} as server: {server:?}");
        assert_eq!(client.is_ok(), client_ok, "{kind} as client: {client:?}");
        let refused = if server_ok { client } else { server };
        assert!(
            matches!(refused, Err(CaError::Extension { extension: "extendedKeyUsage", .. })),
            "{kind}: {refused:?}"
        );
    }
}

#[test]
fn a_tampered_certificate_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    let store = trust(&ca);
    let at = t0() + days(1);
    // Change one letter of the subject's CN: still well-formed DER, no longer what the CA signed.
    let mut der = cert.der().to_vec();
    let pos = der.windows(6).position(|w| w == b"node-1").expect("CN in DER");
    der[pos + 5] = b'2';
    let err = store.verify(&der, Purpose::ServerAuth, at, &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::BadSignature { .. }), "{err}");
    assert!(err.to_string().contains("CN=node-2"), "{err}");
    // Flip a bit in the signature value itself.
    let mut der = cert.der().to_vec();
    let last = der.len() - 1;
    der[last] ^= 1;
    let err = store.verify(&der, Purpose::ServerAuth, at, &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::BadSignature { .. }), "{err}");
    // Truncation is a decoding error, not a panic.
    let err = store.verify(&cert.der()[..cert.der().len() / 2], Purpose::ServerAuth, at, &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::Encoding { what: "certificate", .. }), "{err}");
}

#[test]
fn a_certificate_from_a_foreign_ca_with_the_same_name_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let ours = new_ca(&tmp.path().join("ours"), "Bank A");
    // Same organisation name, different key: an impostor CA.
    let mut impostor =
        CaDir::init_with_key(&tmp.path().join("imp"), "Bank A", None, 3650, t0(), KeyPair::from_seed("impostor"))
            .unwrap();
    let (cert, _) = issue(&mut impostor, CertKind::Node, "node-1", &[]);
    let err = trust(&ours).verify(cert.der(), Purpose::ServerAuth, t0() + days(1), &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::UnknownIssuer { .. } | CaError::BadSignature { .. }), "{err}");
    let mut other = new_ca(&tmp.path().join("other"), "Mallory Ltd");
    let (cert, _) = issue(&mut other, CertKind::Node, "node-1", &[]);
    let err = trust(&ours).verify(cert.der(), Purpose::ServerAuth, t0() + days(1), &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::UnknownIssuer { ref issuer, .. } if issuer.contains("Mallory")), "{err}");
}

#[test]
fn validity_is_checked_at_the_given_time() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Device, "sensor-1", &[]);
    let store = trust(&ca);
    let before = t0() - days(1);
    let err = store.verify(cert.der(), Purpose::Signing, before, &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::NotYetValid { .. }), "{err}");
    let after = t0() + days(366);
    let err = store.verify(cert.der(), Purpose::Signing, after, &NoRevocation).unwrap_err();
    assert!(matches!(err, CaError::Expired { .. }), "{err}");
    assert!(store.verify(cert.der(), Purpose::Signing, t0() + days(364), &NoRevocation).is_ok());
}

#[test]
fn revocation_through_a_verified_crl_and_through_a_shared_set() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (revoked, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    let (kept, _) = issue(&mut ca, CertKind::Node, "node-2", &[]);
    let store = trust(&ca);
    let at = t0() + days(2);
    let shared = SharedRevocations::default();
    assert!(store.verify(revoked.der(), Purpose::ServerAuth, at, &shared).is_ok());

    let pem = ca.revoke(revoked.serial(), RevocationReason::KeyCompromise, t0() + days(1)).unwrap();
    let crl = VerifiedCrl::from_pem(&pem, &store, at).unwrap();
    assert_eq!(crl.crl_number, Some(2));
    assert_eq!(crl.revoked.get(&revoked.serial()), Some(&RevocationReason::KeyCompromise));
    shared.update(|s| s.apply_crl(&crl));

    let err = store.verify(revoked.der(), Purpose::ServerAuth, at, &shared).unwrap_err();
    assert!(matches!(err, CaError::Revoked { serial, .. } if serial == revoked.serial()), "{err}");
    assert!(err.to_string().contains("keyCompromise"), "{err}");
    assert!(store.verify(kept.der(), Purpose::ServerAuth, at, &shared).is_ok());

    let mut by_hand = RevokedSerials::new();
    by_hand.insert(&ca.authority().certificate().subject(), kept.serial(), RevocationReason::Superseded);
    assert!(matches!(store.verify(kept.der(), Purpose::ServerAuth, at, &by_hand), Err(CaError::Revoked { .. })));
}

#[test]
fn a_crl_is_refused_when_tampered_stale_or_from_an_untrusted_issuer() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(&tmp.path().join("a"), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    let pem = ca.revoke(cert.serial(), RevocationReason::Superseded, t0()).unwrap();
    let store = trust(&ca);
    let der = pem_der(&pem);

    let mut bad = der.clone();
    let pos = bad.len() - 80; // inside the signed part (revoked list / extensions)
    bad[pos] ^= 0x01;
    assert!(VerifiedCrl::from_der(&bad, &store, t0()).is_err());

    let err = VerifiedCrl::from_der(&der, &store, t0() + days(8)).unwrap_err();
    assert!(err.to_string().contains("nextUpdate has passed"), "{err}");

    let other = new_ca(&tmp.path().join("b"), "Bank B");
    let err = VerifiedCrl::from_der(&der, &trust(&other), t0()).unwrap_err();
    assert!(err.to_string().contains("not a trusted CA"), "{err}");
}

fn pem_der(pem: &str) -> Vec<u8> {
    let (_, der) = der::pem::decode_vec(pem.as_bytes()).unwrap();
    der
}

#[test]
fn issuance_refuses_bad_requests_with_the_field_named() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let key = *KeyPair::from_seed("k").public();
    let cases: Vec<(CertKind, &str, Vec<String>, &str)> = vec![
        (CertKind::Node, "CN=n,O=Bank B", vec![], "subject: O=\"Bank B\" but this CA certifies only \"Bank A\""),
        (CertKind::Tls, "CN=api", vec![], "san: a tls certificate needs at least one name"),
        (CertKind::Node, "not a name", vec![], "subject:"),
        (CertKind::Node, "CN=n", vec!["bad host!".into()], "san: \"bad host!\" is not a DNS name"),
        (CertKind::Node, "", vec![], "subject: must be 1 to"),
    ];
    for (kind, subject, sans, want) in cases {
        let err = ca.issue(kind, subject, key, 30, sans, t0()).unwrap_err();
        assert!(err.to_string().starts_with(want), "{subject}: got {err}, want {want}");
    }
    let err = ca.issue(CertKind::Node, "CN=n", key, 4000, vec![], t0()).unwrap_err();
    assert!(err.to_string().contains("validity: must lie within the CA certificate's validity"), "{err}");
    // Nothing was recorded by the refused requests.
    assert!(ca.issued().is_empty());
}

#[test]
fn revocation_refuses_unknown_and_repeated_serials() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    let err = ca.revoke(99, RevocationReason::Unspecified, t0()).unwrap_err();
    assert_eq!(err.to_string(), "serial 99: was not issued by this CA");
    ca.revoke(cert.serial(), RevocationReason::Unspecified, t0()).unwrap();
    let err = ca.revoke(cert.serial(), RevocationReason::Unspecified, t0()).unwrap_err();
    assert_eq!(err.to_string(), format!("serial {}: is already revoked", cert.serial()));
}

#[test]
fn serials_are_unique_across_reopening_the_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (a, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    drop(ca);
    let mut ca = CaDir::open(tmp.path()).unwrap();
    let (b, _) = issue(&mut ca, CertKind::Node, "node-2", &[]);
    assert_eq!((a.serial(), b.serial()), (2, 3));
    assert!(CaDir::init(tmp.path(), "Bank A", None, 10, t0()).unwrap_err().to_string().contains("refusing to replace"));
}

#[test]
fn a_key_that_is_not_the_certificates_is_refused_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    new_ca(tmp.path(), "Bank A");
    fs::write(tmp.path().join(CaDir::KEY), KeyPair::from_seed("other").to_pkcs8_pem().unwrap()).unwrap();
    let err = CaDir::open(tmp.path()).unwrap_err();
    assert_eq!(err.to_string(), "ca.key: does not match the public key of ca.pem");
}

#[test]
fn a_trust_anchor_must_be_a_self_signed_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (leaf, _) = issue(&mut ca, CertKind::Node, "node-1", &[]);
    let err = TrustStore::from_pem(&leaf.to_pem().unwrap()).unwrap_err();
    assert!(err.to_string().contains("self-issued"), "{err}");
    let auth = Authority::init("Org", None, Validity::days_from(t0(), 10), KeyPair::from_seed("x")).unwrap();
    let req = IssueRequest {
        kind: CertKind::Node,
        subject: "CN=Org CA,O=Org".into(),
        public_key: *KeyPair::from_seed("y").public(),
        validity: Validity::days_from(t0(), 5),
        subject_alt_names: vec![],
    };
    assert!(auth.issue(5, &req).unwrap_err().to_string().contains("must differ from the CA's own subject"));
    let parsed = SmCertificate::from_pem(&auth.certificate().to_pem().unwrap()).unwrap();
    assert_eq!(parsed.serial(), 1);
}

#[test]
fn the_cli_handlers_init_issue_verify_and_revoke() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ca");
    let now = t0();
    let say = |command| run(CaArgs { command }, now);
    say(CaCommand::Init { org: "Warehouse W".into(), out: dir.clone(), subject: None, days: 365 }).unwrap();
    let key = KeyPair::from_seed("device");
    fs::write(tmp.path().join("dev.pub"), key.public().to_pem().unwrap()).unwrap();
    let out = say(CaCommand::Issue {
        ca: dir.clone(),
        kind: KindArg::Device,
        subject: "CN=sensor-9".into(),
        pubkey: tmp.path().join("dev.pub"),
        out: tmp.path().join("dev.pem"),
        days: 30,
        sans: vec![],
    })
    .unwrap();
    assert!(out.contains("serial 2"), "{out}");
    let verify = |purpose| {
        run(
            CaArgs {
                command: CaCommand::Verify {
                    trust: dir.join(CaDir::CERT),
                    cert: tmp.path().join("dev.pem"),
                    purpose,
                    crls: vec![dir.join(CaDir::CRL)],
                },
            },
            now + days(1),
        )
    };
    assert!(verify(PurposeArg::Client).unwrap().starts_with("OK: CN=sensor-9,O=Warehouse W (serial 2)"));
    assert!(verify(PurposeArg::Server).is_err());
    // The public key can also be given as hex.
    fs::write(tmp.path().join("dev.hex"), key.public().to_hex()).unwrap();
    let issued = say(CaCommand::Issue {
        ca: dir.clone(),
        kind: KindArg::User,
        subject: "CN=alice".into(),
        pubkey: tmp.path().join("dev.hex"),
        out: tmp.path().join("alice.pem"),
        days: 30,
        sans: vec![],
    });
    assert!(issued.unwrap().contains("serial 3"));
    let err = say(CaCommand::Revoke { ca: dir.clone(), serial: 2, reason: "bogus".into() }).unwrap_err();
    assert!(err.to_string().starts_with("reason: \"bogus\" is not one of unspecified, keyCompromise"), "{err}");
    say(CaCommand::Revoke { ca: dir.clone(), serial: 2, reason: "keyCompromise".into() }).unwrap();
    let err = verify(PurposeArg::Client).unwrap_err();
    assert!(matches!(err, CaError::Revoked { serial: 2, .. }), "{err}");
    let err = say(CaCommand::Issue {
        ca: dir.clone(),
        kind: KindArg::Node,
        subject: "CN=n".into(),
        pubkey: tmp.path().join("missing.pub"),
        out: tmp.path().join("n.pem"),
        days: 30,
        sans: vec![],
    })
    .unwrap_err();
    assert!(err.to_string().contains("missing.pub"), "{err}");
}

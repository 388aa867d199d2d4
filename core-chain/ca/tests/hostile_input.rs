//! Whatever bytes a peer sends as its certificate or CRL, verification answers with an error — never a panic,
//! never acceptance of something the CA did not sign.

mod common;

use common::*;
use proptest::prelude::*;
use scf_ca::{CertKind, NoRevocation, Purpose, TrustStore, VerifiedCrl};

fn fixture() -> (TrustStore, Vec<u8>, Vec<u8>, tempfile::TempDir) {
    let tmp = tempfile::tempdir().unwrap();
    let mut ca = new_ca(tmp.path(), "Bank A");
    let (cert, _) = issue(&mut ca, CertKind::Node, "node-1", &["urn:libp2p:peer:12D3KooWExample"]);
    let crl = ca.revoke(cert.serial(), scf_ca::RevocationReason::Superseded, t0()).unwrap();
    let (_, crl_der) = der::pem::decode_vec(crl.as_bytes()).unwrap();
    let store = TrustStore::from_pem(&ca.authority().certificate().to_pem().unwrap()).unwrap();
    (store, cert.der().to_vec(), crl_der, tmp)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_mutated_certificate_never_verifies_and_never_panics(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (store, good, _, _tmp) = fixture();
        let mut der = good.clone();
        for (at, value) in &edits {
            let i = at.index(der.len());
            der[i] = *value;
        }
        if truncate {
            der.truncate(cut.index(der.len()));
        }
        let result = store.verify(&der, Purpose::ServerAuth, t0() + days(1), &NoRevocation);
        if der != good {
            prop_assert!(result.is_err(), "accepted a modified certificate");
        }
    }

    #[test]
    fn a_mutated_crl_is_refused_and_never_panics(
        at in any::<prop::sample::Index>(),
        value in any::<u8>(),
    ) {
        let (store, _, good, _tmp) = fixture();
        let mut der = good.clone();
        let i = at.index(der.len());
        der[i] = value;
        let result = VerifiedCrl::from_der(&der, &store, t0());
        if der != good {
            prop_assert!(result.is_err(), "accepted a modified CRL");
        }
    }
}

#[test]
fn urn_subject_alternative_names_carry_a_libp2p_peer_id() {
    let (store, good, _, _tmp) = fixture();
    let v = store.verify(&good, Purpose::ClientAuth, t0() + days(1), &NoRevocation).unwrap();
    assert_eq!(v.certificate.subject_alt_names().unwrap(), vec!["urn:libp2p:peer:12D3KooWExample".to_string()]);
}

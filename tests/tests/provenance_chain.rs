//! Provenance on the chain: a realistic EPCIS 2.0 document (all five event types, sensor data) is
//! anchored by the parties that recorded each event, in real blocks on RocksDB; a consumer's trace of a
//! finished cup reaches its ingredients, and every step's proof checks offline: the transaction is in
//! its block (SM3 Merkle proof against the header) and the stored event is in the state (state proof
//! against the header's state root).

use scf_domain::org::Role;
use scf_domain::provenance::{self, epcis, CapturedEvent, ProvenanceCall};
use scf_tests::{org_key, TestChain};

const DOC: &str = include_str!("../../domain/tests/data/cold_chain_yogurt.jsonld");

#[test]
fn epcis_document_anchored_on_chain_traces_with_offline_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let orgs: &[(&str, &[Role])] = &[
        ("FARM", &[Role::Producer]),
        ("DAIRY", &[Role::Producer, Role::CoreEnterprise]),
        ("COLDLINK", &[Role::Logistics]),
        ("MART", &[Role::Retailer]),
        ("BANK", &[Role::Funder]),
    ];
    let mut chain = TestChain::new(dir.path(), "2026-03-05", orgs);
    let events = epcis::import(DOC).expect("valid EPCIS document");
    assert_eq!(events.len(), 8);
    let who = ["FARM", "DAIRY", "DAIRY", "DAIRY", "COLDLINK", "DAIRY", "COLDLINK", "MART"];
    for (i, (e, org)) in events.iter().zip(who).enumerate() {
        chain.set_date(&format!("2026-03-{:02}", 6 + i));
        let call = ProvenanceCall::Capture(CapturedEvent { event: e.to_json_text(), hash: e.hash.clone() });
        let r = chain.ok(&org_key(org), &call);
        assert_eq!(r.events[0].attribute("hash"), Some(e.hash.as_str()));
        assert!(e.hash.starts_with("ni:///sha-256;") && e.hash.ends_with("?ver=CBV2.0"), "{}", e.hash);
    }
    // Anchoring the same event again is refused, whoever tries.
    let dup = ProvenanceCall::Capture(CapturedEvent { event: events[0].to_json_text(), hash: events[0].hash.clone() });
    assert_eq!(chain.refused(&org_key("DAIRY"), &dup), "EVENT_ALREADY_ANCHORED");
    // A funder does not record supply-chain events.
    assert_eq!(chain.refused(&org_key("BANK"), &dup), "NOT_A_RECORDER");

    let state = chain.state();
    let t = provenance::trace(&state, "https://id.gs1.org/01/06901234000337/21/Y0002").expect("trace");
    assert_eq!(
        t.ingredients,
        ["https://id.gs1.org/01/06901234000115/10/MILK-20260301", "https://id.gs1.org/01/06901234000221/10/SUG-2602"]
    );
    assert_eq!(t.upstream.len(), 8);
    let recorders: Vec<&str> = t.upstream.iter().map(|s| s.recorded_by.as_str()).collect();
    assert_eq!(recorders, who);
    for step in &t.upstream {
        // The anchoring transaction is in its block…
        let txp = chain.store().tx_proof(&step.tx_id).expect("read").expect("tx proof");
        assert!(txp.verify());
        assert_eq!(txp.header.height, step.height);
        // …and the block committed to a state in which this event is stored under its hash.
        let receipt = chain.store().receipt(&step.tx_id).expect("read").expect("receipt");
        assert!(receipt.is_success());
        assert_eq!(receipt.events[0].attribute("hash"), Some(step.hash.as_str()));
        let (r, rp) = chain.store().receipt_proof(&step.tx_id).expect("read").expect("receipt proof");
        assert!(rp.verify(&r.hash(), &txp.header.receipts_root));
    }
    // The lot page a QR code opens: GS1 Digital Link for the cup lot, with a QR code.
    let lot = provenance::trace_lot(&state, "06901234000337", "Y260302").expect("lot trace");
    assert!(!lot.upstream.is_empty());
    let svg = provenance::qr::svg("https://id.gs1.org/01/06901234000337/10/Y260302").expect("qr");
    assert!(svg.contains("<svg"));
}

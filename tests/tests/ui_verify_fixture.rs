//! Cross-implementation fixture for the in-browser verifier (`ui/src/verify/`): a real chain on RocksDB
//! anchors EPCIS events, several in one block so the Merkle proofs have real depth and an odd node, and
//! the block gets a commit certificate signed by the validator. Everything the consumer page needs to
//! check an event offline is written as JSON to `ui/src/verify/__fixtures__/chain-proof.json`: header
//! bytes, receipt bytes, receipt and transaction proofs, the certificate and the validator set, plus
//! Merkle and SM2 test vectors. The UI's vitest suite verifies that bundle with its own TypeScript code
//! and checks that tampering with any part of it is caught.
//!
//! The checked-in file must equal what this test produces; regenerate it with
//! `SCF_UPDATE_UI_FIXTURE=1 cargo test -p scf-tests --test ui_verify_fixture`.

use std::path::PathBuf;

use scf_domain::org::Role;
use scf_domain::provenance::{epcis, CapturedEvent, ProvenanceCall};
use scf_ledger::block::{CommitCertificate, CommitSignature};
use scf_ledger::codec::encode;
use scf_ledger::crypto::{Address, Hash32, KeyPair};
use scf_ledger::merkle::{merkle_proof, merkle_root};
use scf_tests::{org_key, TestChain};
use serde_json::{json, Value};

const DOC: &str = include_str!("../../domain/tests/data/cold_chain_yogurt.jsonld");

/// Bytes a precommit signature in a commit certificate covers, as defined by
/// `core-chain/node/src/signing.rs` (`precommit_signing_bytes`):
/// `"SCF-VOTE-v1" ‖ borsh(Vote { Precommit, height, Round::Some(round), NilOrVal::Val(hash), validator })`.
/// Written out by hand because this crate does not depend on the node (and its consensus stack).
fn precommit_signing_bytes(height: u64, round: u32, block_hash: &Hash32, validator: &Address) -> Vec<u8> {
    let mut out = b"SCF-VOTE-v1".to_vec();
    out.push(1); // VoteType::Precommit
    out.extend(height.to_le_bytes());
    out.push(1); // Round::Some
    out.extend(round.to_le_bytes());
    out.push(1); // NilOrVal::Val
    out.extend(block_hash.0);
    out.extend(validator.0);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../ui/src/verify/__fixtures__/chain-proof.json")
}

/// Merkle roots and every proof for trees of 0..=9 items (item i = SM3(u64 LE i)).
fn merkle_vectors() -> Value {
    let trees: Vec<Value> = (0..=9u64)
        .map(|n| {
            let items: Vec<Hash32> = (0..n).map(|i| Hash32::of(&i.to_le_bytes())).collect();
            let proofs: Vec<Value> = (0..items.len())
                .map(|i| serde_json::to_value(merkle_proof(&items, i).expect("index in range")).expect("json"))
                .collect();
            json!({ "items": items, "root": merkle_root(&items), "proofs": proofs })
        })
        .collect();
    Value::Array(trees)
}

fn build_fixture() -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let orgs: &[(&str, &[Role])] = &[
        ("FARM", &[Role::Producer]),
        ("DAIRY", &[Role::Producer, Role::CoreEnterprise]),
        ("COLDLINK", &[Role::Logistics]),
        ("MART", &[Role::Retailer]),
        ("TRUCKS", &[Role::Logistics]),
    ];
    let mut chain = TestChain::new(dir.path(), "2026-03-05", orgs);
    let events = epcis::import(DOC).expect("valid EPCIS document");
    // One block before, so the anchoring block is not block 1.
    chain.set_date("2026-03-06");
    let first = &events[0];
    let call = ProvenanceCall::Capture(CapturedEvent { event: first.to_json_text(), hash: first.hash.clone() });
    chain.ok(&org_key("FARM"), &call);

    // Five events from five recorders in one block: proofs of depth 3 with a promoted odd node.
    chain.set_date("2026-03-07");
    let picked = [1usize, 2, 4, 7, 6];
    let recorders = ["DAIRY", "FARM", "COLDLINK", "MART", "TRUCKS"];
    let txs: Vec<_> = picked
        .iter()
        .zip(recorders)
        .map(|(&i, org)| {
            let e = &events[i];
            let call = ProvenanceCall::Capture(CapturedEvent { event: e.to_json_text(), hash: e.hash.clone() });
            chain.tx(&org_key(org), &call)
        })
        .collect();
    let receipts = chain.block(txs);
    for r in &receipts {
        assert!(r.is_success(), "anchoring failed: {:?}", r.outcome);
    }
    let height = chain.tip().height;
    let block = chain.store().block(height).expect("read").expect("block");
    let block_hash = block.header.hash();

    // The certificate consensus would attach: the validator's precommit for this header hash.
    let round = 0u32;
    let validator = chain.validator.address();
    let signature = chain.validator.sign(&precommit_signing_bytes(height, round, &block_hash, &validator));
    let cert =
        CommitCertificate { height, round, block_hash, signatures: vec![CommitSignature { validator, signature }] };
    chain.store().set_certificate(height, cert).expect("store certificate");
    let block = chain.store().block(height).expect("read").expect("block");
    let cert = block.certificate.clone().expect("certificate stored");

    let genesis = chain.store().genesis().expect("read").expect("genesis");
    let validators: Vec<Value> = genesis
        .validators
        .iter()
        .map(|v| json!({ "name": v.name, "public_key": v.public_key, "power": v.power, "address": v.address() }))
        .collect();

    let mut event_bundles = Vec::new();
    for (k, &i) in picked.iter().enumerate() {
        let e = &events[i];
        let tx_id = block.txs[k].id();
        let (receipt, receipt_proof) = chain.store().receipt_proof(&tx_id).expect("read").expect("receipt proof");
        assert!(receipt_proof.verify(&receipt.hash(), &block.header.receipts_root));
        assert_eq!(receipt.events[0].attribute("hash"), Some(e.hash.as_str()));
        let tx_proof = chain.store().tx_proof(&tx_id).expect("read").expect("tx proof");
        assert!(tx_proof.verify());
        event_bundles.push(json!({
            "event_hash": e.hash,
            "recorded_by": recorders[k],
            "tx_id": tx_id,
            "receipt_hex": hex(&encode(&receipt)),
            "receipt_hash": receipt.hash(),
            "receipt": receipt,
            "receipt_proof": receipt_proof,
            "tx_proof": tx_proof.proof,
        }));
    }

    // An SM2 signature over a known message by a known key (default distinguishing ID).
    let signer = KeyPair::from_seed("ui/sm2-vector");
    let message = "供应链金融 SCF UI verifier test vector".as_bytes();
    let sm2_vector = json!({
        "public_key": signer.public(),
        "message_hex": hex(message),
        "signature": signer.sign(message),
    });

    json!({
        "generated_by": "tests/tests/ui_verify_fixture.rs (SCF_UPDATE_UI_FIXTURE=1 cargo test -p scf-tests --test ui_verify_fixture)",
        "chain_id": block.header.chain_id,
        "validators": validators,
        "block": {
            "header_hex": hex(&encode(&block.header)),
            "header": block.header,
            "hash": block_hash,
            "certificate": cert,
            "precommit_signing_bytes_hex": hex(&precommit_signing_bytes(height, round, &block_hash, &validator)),
        },
        "events": event_bundles,
        "sm2_vector": sm2_vector,
        "merkle_vectors": merkle_vectors(),
    })
}

#[test]
fn ui_verifier_fixture_matches_the_chain() {
    let fixture = build_fixture();
    let text = format!("{}\n", serde_json::to_string_pretty(&fixture).expect("json"));
    let path = fixture_path();
    if std::env::var("SCF_UPDATE_UI_FIXTURE").as_deref() == Ok("1") {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create fixture directory");
        }
        std::fs::write(&path, &text).expect("write fixture");
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == text,
        "{} is missing or differs from what the chain produces now; regenerate it with \
         `SCF_UPDATE_UI_FIXTURE=1 cargo test -p scf-tests --test ui_verify_fixture`, then run `npm test` in ui/",
        path.display()
    );
}

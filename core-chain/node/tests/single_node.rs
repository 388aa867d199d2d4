//! One validator in process (the `scf demo` shape): transactions go through the mempool, Malachite
//! decides blocks, blocks are stored with an SM2 commit certificate that verifies offline, and the
//! client API answers over HTTP.
//!
//! Only one node per test binary: Malachite registers its metrics in a process-global registry.

use std::time::Duration;

use scf_client::wire::TxStatus as RemoteTxStatus;
use scf_client::NodeClient;
use scf_ledger::crypto::KeyPair;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_node::config::{ApiSection, ConsensusSection, NodeConfig, P2pSection, SyncSection};
use scf_node::{verify_certificate, MempoolConfig, NodeHandle, SubmitError, TxStatus};

fn tx(chain_id: &str, key: &KeyPair, nonce: u64) -> SignedTx {
    TxBody {
        chain_id: chain_id.into(),
        sender: *key.public(),
        nonce,
        expiry_height: 10_000,
        call: Call { module: "kv".into(), payload: vec![] },
    }
    .sign(key)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn single_validator_commits_with_verifiable_certificates() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kd = dir.path().join("keys");
    let bundle = scf_node::keys::generate(&kd, "solo", true).expect("keygen").expect("validator bundle");
    let genesis = scf_node::cli::build_genesis(
        &scf_node::cli::GenesisArgs {
            chain_id: "solo-chain".into(),
            validators: vec![kd.join("validator.json")],
            orgs: vec![],
            app_state: None,
            genesis_time_ms: None,
            max_block_txs: None,
            out: dir.path().join("genesis.json"),
        },
        scf_node::kv_module::modules(),
    )
    .expect("genesis");
    assert_eq!(genesis.validators[0].peer_id.as_deref(), Some(bundle.peer_id.as_str()));
    std::fs::write(dir.path().join("genesis.json"), genesis.to_json()).expect("write genesis");
    let cfg = NodeConfig {
        moniker: "solo".into(),
        home: dir.path().join("data"),
        genesis: dir.path().join("genesis.json"),
        consensus_key: Some(kd.join("consensus.pem")),
        p2p_key: kd.join("p2p.key"),
        p2p: P2pSection::new("/ip4/127.0.0.1/tcp/0", vec![]),
        api: ApiSection::plain("127.0.0.1:0".parse().expect("addr")),
        consensus: ConsensusSection { empty_block_wait_ms: 200, ..ConsensusSection::default() },
        sync: SyncSection::default(),
        mempool: MempoolConfig {
            max_txs: 1000,
            max_per_sender: 50,
            verified_cache: 10_000,
            ..MempoolConfig::default()
        },
    };
    let node = NodeHandle::start(cfg, scf_node::kv_module::modules()).await.expect("node starts");

    // Several senders, several nonces each.
    let keys: Vec<KeyPair> = (0..3).map(|i| KeyPair::from_seed(&format!("sender-{i}"))).collect();
    let mut ids = Vec::new();
    for n in 0..5 {
        for k in &keys {
            ids.push(node.submit(&tx("solo-chain", k, n)).expect("admitted"));
        }
    }
    // Replays and bad input are refused with typed errors.
    // A replay is a duplicate while the original is pending, or a used nonce once it has committed
    // (the single validator may already have committed it).
    assert!(matches!(
        node.submit(&tx("solo-chain", &keys[0], 0)),
        Err(SubmitError::Duplicate { .. })
            | Err(SubmitError::Rejected(scf_ledger::executor::TxRejection::NonceUsed { .. }))
    ));
    assert_eq!(node.submit(&tx("other-chain", &keys[0], 9)).map_err(|e| e.kind()), Err("wrong_chain_id"));

    for id in &ids {
        let st = node.wait_committed(id, Duration::from_secs(60)).await.expect("status");
        assert!(matches!(st, TxStatus::Committed { .. }), "{id} not committed: {st:?}");
    }
    // A used nonce is refused after commit.
    assert_eq!(node.submit(&tx("solo-chain", &keys[1], 0)).map_err(|e| e.kind()), Err("nonce_used"));

    // Every stored block carries a certificate that verifies against the genesis validator set.
    let tip = node.tip().expect("tip");
    assert!(tip.height >= 1);
    for h in 1..=tip.height {
        let block = node.block(h).expect("read").expect("block stored");
        let check = verify_certificate(&block, &genesis.validators).expect("certificate verifies");
        assert_eq!(check.signed_power, 1);
        let mut forged = block.clone();
        forged.header.time_ms += 1;
        assert!(verify_certificate(&forged, &genesis.validators).is_err(), "certificate bound to the header");
    }

    // Client API.
    let api = NodeClient::new(format!("http://{}", node.api_addr().expect("api addr")));
    let status = api.status().await.expect("status");
    assert_eq!(status.chain_id, "solo-chain");
    assert!(status.height >= tip.height);
    match api.tx_status(&ids[0]).await.expect("tx status") {
        RemoteTxStatus::Committed { height, .. } => {
            let proof = api.tx_proof(&ids[0]).await.expect("proof").expect("proof exists");
            assert!(proof.proof.verify());
            assert_eq!(proof.proof.header.height, height);
            assert!(proof.certificate.is_some());
        }
        other => panic!("expected committed, got {other:?}"),
    }
    // State proofs: a sender's nonce is proven against the block header's state root, and so is the
    // absence of a key nobody wrote; the JSON form has the same path as the borsh one.
    let nonce_key = [b"sys/nonce/".as_slice(), &keys[0].address().0].concat();
    let r = api.state_proof(&nonce_key, Some(tip.height)).await.expect("state proof");
    let header = r.header.clone().expect("header of a block");
    let proof = r.state_proof().expect("decodes");
    assert!(proof.verify(&header.state_root), "nonce proof against the header's state root");
    assert_eq!(proof.value.as_deref(), Some(5u64.to_le_bytes().as_slice()), "five transactions from keys[0]");
    assert_eq!(r.proof["levels"].as_array().map(Vec::len), Some(proof.proof.levels.len()));
    let mut tampered = proof.clone();
    tampered.value = Some(6u64.to_le_bytes().to_vec());
    assert!(!tampered.verify(&header.state_root), "another value does not verify");
    let absent = api.state_proof(b"sys/nobody", None).await.expect("absence proof");
    let p = absent.state_proof().expect("decodes");
    assert!(p.value.is_none());
    let root_now = node.block(absent.height).expect("read").expect("block").header.state_root;
    assert!(p.verify(&root_now), "absence proof");
    match api.state_proof(b"k", Some(1_000_000)).await {
        Err(scf_client::ChainError::NotFound(_)) => {}
        other => panic!("expected 404 above the tip, got {other:?}"),
    }

    let late = tx("solo-chain", &keys[2], 5);
    let id = api.submit(&late).await.expect("submit over HTTP");
    assert_eq!(id, late.id());
    match api.submit(&late).await {
        Err(scf_client::ChainError::Rejected(r)) => assert_eq!(r.kind, "duplicate"),
        other => panic!("expected a typed duplicate error, got {other:?}"),
    }
    assert!(api.block(1).await.expect("block").is_some());
    assert!(api.block(1_000_000).await.expect("block").is_none());
    // A batch in the binary format: one result per transaction, the bad one refused by itself.
    let good = tx("solo-chain", &keys[2], 6);
    let stale = tx("solo-chain", &keys[0], 0);
    let results = api.submit_batch(&[good.clone(), stale]).await.expect("binary batch");
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].tx_id.as_deref(), Some(good.id().to_hex().as_str()));
    assert_eq!(results[1].error.as_ref().map(|e| e.kind.as_str()), Some("nonce_used"), "{results:?}");
    // A truncated binary batch is a typed 400 naming the body.
    let resp = reqwest::Client::new()
        .post(format!("http://{}/txs", node.api_addr().expect("api addr")))
        .header("content-type", "application/octet-stream")
        .body(vec![2u8, 0, 0, 0, 9, 0])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 400);
    assert!(resp.text().await.expect("body").contains("body:"));
    // Block transaction ids match the block.
    let block_at = |h| node.block(h).expect("read").expect("block");
    let ids_1 = api.block_tx_ids(1).await.expect("ids").expect("block 1");
    assert_eq!(ids_1, block_at(1).txs.iter().map(SignedTx::id).collect::<Vec<_>>());
    assert!(api.block_tx_ids(1_000_000).await.expect("ids").is_none());
    node.shutdown().await;
}

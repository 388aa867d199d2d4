//! Transactions, blocks, execution and state proofs on the in-memory tree store.

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::authenticated::{prove, root_at, MemTreeStore};
use scf_ledger::block::Block;
use scf_ledger::codec::{encode, DecodeError};
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::executor::{BlockError, ChainTip, Executor, TxRejection};
use scf_ledger::genesis::{ChainParams, Genesis, Validator};
use scf_ledger::module::{Event, Module, ModuleError, ModuleRegistry, TxContext};
use scf_ledger::receipt::TxOutcome;
use scf_ledger::state::StateWrite;
use scf_ledger::tx::{Call, SignedTx, TxBody, MAX_TX_BYTES};

#[derive(BorshSerialize, BorshDeserialize)]
struct Put {
    key: String,
    value: String,
}

/// A module that stores key/value pairs and refuses empty values (to exercise failed receipts).
struct KvModule;
impl Module for KvModule {
    fn name(&self) -> &'static str {
        "kv"
    }
    fn execute(&self, ctx: &TxContext, state: &mut dyn StateWrite, payload: &[u8]) -> Result<Vec<Event>, ModuleError> {
        let p: Put = borsh::from_slice(payload).map_err(|e| ModuleError::new("BAD_PAYLOAD", e.to_string()))?;
        state.set(format!("kv/{}", p.key).as_bytes(), p.value.clone().into_bytes());
        if p.value.is_empty() {
            return Err(ModuleError::new("EMPTY_VALUE", "value: must not be empty"));
        }
        Ok(vec![Event {
            module: "kv".into(),
            kind: "Put".into(),
            attributes: vec![("key".into(), p.key)],
            data: format!("{}", ctx.height),
        }])
    }
}

fn executor() -> Executor {
    Executor::new("test-chain", ModuleRegistry::new().with(Arc::new(KvModule)))
}

fn genesis(validator: &KeyPair) -> Genesis {
    Genesis {
        chain_id: "test-chain".into(),
        genesis_time_ms: 1_000,
        params: ChainParams::default(),
        validators: vec![Validator { name: "v0".into(), public_key: *validator.public(), power: 1, peer_id: None }],
        app_state: Default::default(),
    }
}

fn put_tx(key: &KeyPair, nonce: u64, k: &str, v: &str) -> SignedTx {
    TxBody {
        chain_id: "test-chain".into(),
        sender: *key.public(),
        nonce,
        expiry_height: 100,
        call: Call { module: "kv".into(), payload: encode(&Put { key: k.into(), value: v.into() }) },
    }
    .sign(key)
}

fn never(_: &Hash32) -> bool {
    false
}

fn boot() -> (Executor, MemTreeStore, ChainTip, KeyPair) {
    let exec = executor();
    let store = MemTreeStore::new();
    let v = KeyPair::from_seed("validator");
    let (commit, tip) = exec.init_genesis(&store, &genesis(&v)).expect("genesis");
    store.apply(&commit);
    (exec, store, tip, v)
}

#[test]
fn tx_encoding_is_canonical_and_bounded() {
    let key = KeyPair::from_seed("alice");
    let tx = put_tx(&key, 0, "a", "1");
    let bytes = tx.to_bytes();
    assert_eq!(SignedTx::from_bytes(&bytes).expect("decode"), tx);
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(matches!(SignedTx::from_bytes(&trailing), Err(DecodeError::TrailingBytes { extra: 1, .. })));
    assert!(matches!(SignedTx::from_bytes(&bytes[..bytes.len() - 1]), Err(DecodeError::Malformed { .. })));
    assert!(matches!(SignedTx::from_bytes(&vec![0u8; MAX_TX_BYTES + 1]), Err(DecodeError::Oversize { .. })));
    // A public key that is not a curve point is refused at decode time.
    let mut bad_key = bytes.clone();
    let pos = 4 + "test-chain".len() + 1;
    bad_key[pos] ^= 0xff;
    assert!(SignedTx::from_bytes(&bad_key).is_err());
    // Every truncation is an error, never a panic.
    for n in 0..bytes.len() {
        assert!(SignedTx::from_bytes(&bytes[..n]).is_err());
    }
    // The id covers the body, not the signature bytes.
    let resigned = SignedTx { body: tx.body.clone(), signature: key.sign(b"unrelated") };
    assert_eq!(resigned.id(), tx.id());
    assert!(resigned.verify_signature().is_err());
}

#[test]
fn block_encoding_round_trips_and_tx_proofs_verify() {
    let (exec, store, tip, v) = boot();
    let alice = KeyPair::from_seed("alice");
    let txs: Vec<SignedTx> = (0..7).map(|n| put_tx(&alice, n, &format!("k{n}"), "v")).collect();
    let out = exec.execute_block(&store, &tip, 2_000, v.address(), txs, &never).expect("block");
    let bytes = out.block.to_bytes();
    assert_eq!(Block::from_bytes(&bytes).expect("decode"), out.block);
    let mut trailing = bytes.clone();
    trailing.push(1);
    assert!(Block::from_bytes(&trailing).is_err());
    for i in 0..7 {
        let p = out.block.tx_proof(i).expect("proof");
        assert!(p.verify());
        let mut forged = p.clone();
        forged.tx_id = Hash32::of(b"forged");
        assert!(!forged.verify());
    }
}

#[test]
fn admission_rules_each_have_their_own_error() {
    let (exec, store, tip, v) = boot();
    let alice = KeyPair::from_seed("alice");
    let ok = put_tx(&alice, 0, "a", "1");

    let mut wrong_chain = ok.body.clone();
    wrong_chain.chain_id = "other".into();
    let wrong_chain = wrong_chain.sign(&alice);
    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![wrong_chain], &never).unwrap_err();
    assert!(matches!(err, BlockError::InvalidTx { reason: TxRejection::WrongChainId { .. }, .. }), "{err}");

    let bad_sig = SignedTx { body: ok.body.clone(), signature: alice.sign(b"x") };
    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![bad_sig], &never).unwrap_err();
    assert!(matches!(err, BlockError::InvalidTx { reason: TxRejection::BadSignature(_), .. }), "{err}");

    let mut expired = ok.body.clone();
    expired.expiry_height = 0;
    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![expired.sign(&alice)], &never).unwrap_err();
    assert!(matches!(err, BlockError::InvalidTx { reason: TxRejection::Expired { .. }, .. }), "{err}");

    let mut big = ok.body.clone();
    big.call.payload = encode(&Put { key: "big".into(), value: "x".repeat(70_000) });
    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![big.sign(&alice)], &never).unwrap_err();
    assert!(matches!(err, BlockError::InvalidTx { reason: TxRejection::Oversize { .. }, .. }), "{err}");

    let mut unknown = ok.body.clone();
    unknown.call.module = "nope".into();
    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![unknown.sign(&alice)], &never).unwrap_err();
    assert!(matches!(err, BlockError::InvalidTx { reason: TxRejection::UnknownModule { .. }, .. }), "{err}");

    let gap = put_tx(&alice, 5, "a", "1");
    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![gap], &never).unwrap_err();
    assert!(
        matches!(err, BlockError::InvalidTx { reason: TxRejection::NonceGap { expected: 0, got: 5 }, .. }),
        "{err}"
    );

    let err = exec.execute_block(&store, &tip, 2_000, v.address(), vec![ok.clone(), ok.clone()], &never).unwrap_err();
    assert!(
        matches!(err, BlockError::InvalidTx { index: 1, reason: TxRejection::NonceUsed { expected: 1, got: 0 }, .. }),
        "{err}"
    );

    let err = exec.execute_block(&store, &tip, 1_000, v.address(), vec![ok], &never).unwrap_err();
    assert!(matches!(err, BlockError::TimeNotIncreasing { .. }), "{err}");
}

#[test]
fn failed_tx_changes_no_state_but_consumes_its_nonce() {
    let (exec, store, tip, v) = boot();
    let alice = KeyPair::from_seed("alice");
    let txs = vec![put_tx(&alice, 0, "a", ""), put_tx(&alice, 1, "b", "2")];
    let out = exec.execute_block(&store, &tip, 2_000, v.address(), txs, &never).expect("block");
    assert!(matches!(&out.receipts[0].outcome, TxOutcome::Failed { code, .. } if code == "EMPTY_VALUE"));
    assert!(out.receipts[1].is_success());
    assert_eq!(out.receipts[1].events[0].attribute("key"), Some("b"));
    store.apply(&out.state);
    let state = scf_ledger::authenticated::VersionedState { reader: &store, version: Some(1) };
    use scf_ledger::state::StateRead;
    assert_eq!(state.get(b"kv/a").expect("get"), None, "failed tx wrote nothing");
    assert_eq!(state.get(b"kv/b").expect("get"), Some(b"2".to_vec()));
    assert_eq!(scf_ledger::executor::account_nonce(&state, &alice.address()).expect("nonce"), 2);
}

#[test]
fn state_proofs_prove_values_and_absence_and_blocks_revalidate() {
    let (exec, store, tip, v) = boot();
    let alice = KeyPair::from_seed("alice");
    let out =
        exec.execute_block(&store, &tip, 2_000, v.address(), vec![put_tx(&alice, 0, "a", "1")], &never).expect("block");
    // A peer re-executing the same block gets the same header.
    let again = exec.validate_block(&store, &tip, &out.block, &never).expect("validates");
    assert_eq!(again.block.header, out.block.header);
    let mut tampered = out.block.clone();
    tampered.header.state_root = Hash32::of(b"lie");
    assert!(matches!(
        exec.validate_block(&store, &tip, &tampered, &never),
        Err(BlockError::HeaderMismatch { field: "state_root" })
    ));
    store.apply(&out.state);
    let root = root_at(&store, 1).expect("root");
    assert_eq!(root, out.block.header.state_root);
    let p = prove(&store, b"kv/a", 1).expect("proof");
    assert_eq!(p.value.as_deref(), Some(&b"1"[..]));
    assert!(p.verify(&root));
    let absent = prove(&store, b"kv/zzz", 1).expect("proof");
    assert_eq!(absent.value, None);
    assert!(absent.verify(&root));
    let mut lie = p.clone();
    lie.value = Some(b"2".to_vec());
    assert!(!lie.verify(&root));
    // An empty block still has a root at its height.
    let tip1 = ChainTip::of(&out.block.header);
    let empty = exec.execute_block(&store, &tip1, 3_000, v.address(), vec![], &never).expect("empty block");
    store.apply(&empty.state);
    assert_eq!(root_at(&store, 2).expect("root 2"), empty.block.header.state_root);
    assert_eq!(empty.block.header.state_root, root);
}

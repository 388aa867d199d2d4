//! The ledger on RocksDB: thousands of signed transactions executed and committed, the database
//! reopened, and the same state root and proofs found; and a writer killed with SIGKILL mid-stream
//! leaves the last committed block intact.

use std::sync::Arc;

use borsh::{BorshDeserialize, BorshSerialize};
use scf_ledger::codec::encode;
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::executor::{ChainTip, Executor};
use scf_ledger::genesis::{ChainParams, Genesis, Validator};
use scf_ledger::module::{Event, Module, ModuleError, ModuleRegistry, TxContext};
use scf_ledger::state::{StateRead, StateWrite};
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_store::Store;

#[derive(BorshSerialize, BorshDeserialize)]
struct Transfer {
    to: u32,
    amount: u64,
}

/// A toy balance module: every account starts with 1_000_000 and transfers to numbered accounts.
struct Bank;
impl Module for Bank {
    fn name(&self) -> &'static str {
        "bank"
    }
    fn execute(&self, ctx: &TxContext, state: &mut dyn StateWrite, payload: &[u8]) -> Result<Vec<Event>, ModuleError> {
        let t: Transfer = borsh::from_slice(payload).map_err(|e| ModuleError::new("BAD_PAYLOAD", e.to_string()))?;
        let from_key = format!("bank/{}", ctx.sender_address);
        let to_key = format!("bank/n{}", t.to);
        let get = |s: &dyn StateWrite, k: &str| -> Result<u64, ModuleError> {
            Ok(s.get(k.as_bytes())
                .map_err(|e| ModuleError::new("STATE", e.0))?
                .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
                .unwrap_or(1_000_000))
        };
        let from = get(state, &from_key)?;
        if t.amount > from {
            return Err(ModuleError::new("INSUFFICIENT_FUNDS", format!("amount: {} exceeds balance {from}", t.amount)));
        }
        let to = get(state, &to_key)?;
        state.set(from_key.as_bytes(), (from - t.amount).to_le_bytes().to_vec());
        state.set(to_key.as_bytes(), (to + t.amount).to_le_bytes().to_vec());
        Ok(vec![])
    }
}

fn executor() -> Executor {
    Executor::new("it-chain", ModuleRegistry::new().with(Arc::new(Bank)))
}

fn genesis() -> Genesis {
    Genesis {
        chain_id: "it-chain".into(),
        genesis_time_ms: 1_700_000_000_000,
        params: ChainParams::default(),
        validators: vec![Validator {
            name: "v0".into(),
            public_key: *KeyPair::from_seed("v0").public(),
            power: 1,
            peer_id: None,
        }],
        app_state: Default::default(),
    }
}

fn transfer(key: &KeyPair, nonce: u64, to: u32, amount: u64) -> SignedTx {
    TxBody {
        chain_id: "it-chain".into(),
        sender: *key.public(),
        nonce,
        expiry_height: 10_000,
        call: Call { module: "bank".into(), payload: encode(&Transfer { to, amount }) },
    }
    .sign(key)
}

fn never(_: &Hash32) -> bool {
    false
}

/// Run `blocks` blocks of `per_block` transfers from `senders` accounts on top of the store's tip.
fn run_blocks(store: &Store, exec: &Executor, senders: &[KeyPair], blocks: u64, per_block: usize) -> ChainTip {
    let proposer = KeyPair::from_seed("v0").address();
    let mut tip = store.tip().expect("tip").expect("genesis applied");
    for _ in 0..blocks {
        let state = store.state_at(tip.height);
        let mut txs = Vec::with_capacity(per_block);
        for i in 0..per_block {
            let sender = &senders[i % senders.len()];
            let base = scf_ledger::executor::account_nonce(&state, &sender.address()).expect("nonce");
            let nonce = base + (i / senders.len()) as u64;
            // Every 50th transfer overdraws and fails: failed receipts are part of the history too.
            let amount = if (tip.height as usize + i).is_multiple_of(50) { 10_000_000 } else { (i as u64 % 97) + 1 };
            txs.push(transfer(sender, nonce, (i % 13) as u32, amount));
        }
        let out = exec.execute_block(store, &tip, tip.time_ms + 1_000, proposer, txs, &never).expect("execute");
        tip = store.commit_block(&out).expect("commit");
    }
    tip
}

#[test]
fn thousands_of_signed_txs_survive_a_reopen_with_the_same_root_and_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exec = executor();
    let senders: Vec<KeyPair> = (0..20).map(|i| KeyPair::from_seed(&format!("sender/{i}"))).collect();
    let (tip, proof_before, some_tx) = {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&exec, &genesis()).expect("genesis");
        let tip = run_blocks(&store, &exec, &senders, 25, 200);
        assert_eq!(tip.height, 25);
        let block = store.block(12).expect("read").expect("block 12");
        let some_tx = block.txs[17].id();
        let proof = store.state_proof(b"bank/n3", tip.height).expect("proof");
        (tip, proof, some_tx)
    };
    // Reopen: same tip, same root, same proof; proofs verify without the node.
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.tip().expect("tip"), Some(tip.clone()));
    assert_eq!(store.init_genesis(&exec, &genesis()).expect("idempotent genesis"), tip, "genesis is applied once");
    let proof_after = store.state_proof(b"bank/n3", tip.height).expect("proof");
    assert_eq!(proof_after.root, tip.state_root);
    assert_eq!(proof_after.value, proof_before.value);
    assert!(proof_after.verify(&tip.state_root));
    let absent = store.state_proof(b"bank/nobody", tip.height).expect("absence proof");
    assert!(absent.value.is_none() && absent.verify(&tip.state_root));
    let txp = store.tx_proof(&some_tx).expect("read").expect("tx proof");
    assert!(txp.verify());
    assert_eq!(txp.header.height, 12);
    let receipt = store.receipt(&some_tx).expect("read").expect("receipt");
    assert_eq!((receipt.height, receipt.index), (12, 17));
    let (r, rp) = store.receipt_proof(&some_tx).expect("read").expect("receipt proof");
    assert!(rp.verify(&r.hash(), &txp.header.receipts_root));
    // Conservation across all 5,000 transfers: total balance over touched accounts is unchanged.
    let state = store.state_at(tip.height);
    let bal = |k: &str| {
        state.get(k.as_bytes()).expect("get").map(|b| u64::from_le_bytes(b.try_into().expect("8"))).unwrap_or(1_000_000)
    };
    let total: u64 = senders.iter().map(|s| bal(&format!("bank/{}", s.address()))).sum::<u64>()
        + (0..13).map(|n| bal(&format!("bank/n{n}"))).sum::<u64>();
    assert_eq!(total, 33 * 1_000_000);
    // Replaying the same blocks from genesis into a fresh database gives the same root.
    let dir2 = tempfile::tempdir().expect("tempdir");
    let replica = Store::open(dir2.path()).expect("open replica");
    let mut rtip = replica.init_genesis(&exec, &genesis()).expect("genesis");
    for h in 1..=tip.height {
        let b = store.block(h).expect("read").expect("block");
        let out = exec.validate_block(&replica, &rtip, &b, &never).expect("replay validates");
        rtip = replica.commit_block(&out).expect("commit");
    }
    assert_eq!(rtip, tip);
    // The history at an older height is still provable.
    let old = store.state_proof(b"bank/n3", 10).expect("old proof");
    let h10 = store.block(10).expect("read").expect("block 10").header;
    assert!(old.verify(&h10.state_root));
}

#[test]
fn a_different_genesis_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let exec = executor();
    store.init_genesis(&exec, &genesis()).expect("genesis");
    let mut other = genesis();
    other.genesis_time_ms += 1;
    let err = store.init_genesis(&exec, &other).unwrap_err();
    assert!(err.to_string().contains("genesis"), "{err}");
}

/// Child half of the crash test: commits blocks forever, reporting progress in a file.
#[test]
fn crash_child_writer() {
    let Ok(dir) = std::env::var("SCF_CRASH_CHILD_DIR") else { return };
    let exec = executor();
    let store = Store::open(std::path::Path::new(&dir)).expect("open");
    store.init_genesis(&exec, &genesis()).expect("genesis");
    let senders: Vec<KeyPair> = (0..4).map(|i| KeyPair::from_seed(&format!("crash/{i}"))).collect();
    loop {
        let tip = run_blocks(&store, &exec, &senders, 1, 100);
        std::fs::write(format!("{dir}.progress"), tip.height.to_string()).expect("progress");
    }
}

#[test]
fn kill_dash_nine_mid_stream_leaves_the_last_committed_block_intact() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let progress = format!("{}.progress", db.display());
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "crash_child_writer", "--nocapture", "--test-threads=1"])
        .env("SCF_CRASH_CHILD_DIR", &db)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let h: u64 = std::fs::read_to_string(&progress).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        if h >= 8 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "child made no progress");
        assert!(child.try_wait().expect("wait").is_none(), "child exited early");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let store = Store::open(&db).expect("reopen after kill -9");
    let tip = store.tip().expect("tip").expect("tip exists");
    assert!(tip.height >= 8);
    // The tip's block is fully there, its header matches the tip, every receipt is present, and the
    // state root recorded in it is the root of the stored tree.
    let block = store.block(tip.height).expect("read").expect("tip block");
    assert_eq!(block.header.hash(), tip.hash);
    for tx in &block.txs {
        assert!(store.receipt(&tx.id()).expect("read").is_some());
    }
    assert_eq!(scf_ledger::authenticated::root_at(&store, tip.height).expect("root"), tip.state_root);
    assert!(
        store.block(tip.height + 1).expect("read").is_none()
            || store.tip().expect("tip").map(|t| t.height) == Some(tip.height)
    );
    // And the chain continues from there.
    let exec = executor();
    let senders: Vec<KeyPair> = (0..4).map(|i| KeyPair::from_seed(&format!("crash/{i}"))).collect();
    let next = run_blocks(&store, &exec, &senders, 2, 10);
    assert_eq!(next.height, tip.height + 2);
}

/// The store keeps the latest values and tree nodes in memory: reads at the tip come from there, reads
/// at older heights must still see the history, and a fresh open (empty caches) must read the same.
#[test]
fn cached_tip_reads_agree_with_history_and_with_a_cold_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exec = executor();
    let senders: Vec<KeyPair> = (0..5).map(|i| KeyPair::from_seed(&format!("cache/{i}"))).collect();
    let keys: Vec<String> = (0..13).map(|n| format!("bank/n{n}")).chain(["bank/nobody".to_string()]).collect();
    let read_all = |store: &Store, height: u64| -> Vec<Option<Vec<u8>>> {
        let state = store.state_at(height);
        keys.iter().map(|k| state.get(k.as_bytes()).expect("get")).collect()
    };
    let (tip, at_5, at_tip) = {
        let store = Store::open(dir.path()).expect("open");
        store.init_genesis(&exec, &genesis()).expect("genesis");
        run_blocks(&store, &exec, &senders, 5, 40);
        let at_5 = read_all(&store, 5);
        // Reading at the tip fills the cache; the next blocks change most of those keys.
        let tip = run_blocks(&store, &exec, &senders, 6, 40);
        assert_eq!(read_all(&store, 5), at_5, "height 5 still reads as it did, though the tip moved");
        assert_ne!(read_all(&store, tip.height), at_5, "the transfers changed balances");
        for h in 0..=tip.height {
            let root = store.block(h).ok().flatten().map(|b| b.header.state_root);
            let p = store.state_proof(b"bank/n3", h).expect("proof");
            if let Some(root) = root {
                assert!(p.verify(&root), "proof at height {h}");
            }
        }
        (tip.clone(), at_5, read_all(&store, tip.height))
    };
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.tip().expect("tip"), Some(tip.clone()));
    assert_eq!(read_all(&store, tip.height), at_tip, "a cold open reads the same tip state");
    assert_eq!(read_all(&store, 5), at_5);
    // And the chain continues from the reopened store with the same rules.
    let next = run_blocks(&store, &exec, &senders, 1, 40);
    assert_eq!(next.height, tip.height + 1);
    // Every key ever written maps back from its tree key (preimages are written for new keys only).
    let written = keys[..13].iter().cloned().chain(senders.iter().map(|s| format!("bank/{}", s.address())));
    for k in written {
        let kh = scf_ledger::authenticated::key_hash(k.as_bytes());
        assert_eq!(store.state_key(&kh).expect("preimage"), Some(k.clone().into_bytes()), "{k}");
    }
    let never_written = scf_ledger::authenticated::key_hash(b"bank/nobody");
    assert_eq!(store.state_key(&never_written).expect("preimage"), None);
}

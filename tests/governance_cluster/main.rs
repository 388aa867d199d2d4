//! Validator-set changes by committee vote on a live cluster of real node processes (loopback), with no
//! restart: four genesis validators, a fifth node already running with its own consensus key (not yet
//! in any set), a committee of four organisations.
//!
//! 1. While transactions keep committing, the committee adds the fifth validator and removes
//!    validator-1. From each activation height on, certificates hold exactly the new set's signatures:
//!    the new validator signs (and proposes), the removed one's signatures no longer appear; every
//!    certificate verifies offline against the set `validator_set_at` gives for its height.
//! 2. A validator's consensus key is rotated by vote: after the activation height its old key's
//!    signatures are refused (gone from certificates, and a precommit signed with it does not verify);
//!    the operator restarts that node with the new key and it votes again.
//! 3. An observer (no consensus key) started only now catches up from its peers by value sync — across
//!    all three set changes, verifying each synced certificate against that height's set — reaches the
//!    same state root and then follows new blocks.
//!
//! All nodes keep identical block hashes and state roots throughout. (A proposal without quorum
//! expiring, and an organisation key refused after its retirement height, are executor-level rules
//! covered by `tests/tests/governance_chain.rs`.)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scf_client::wire::TxStatus as RemoteTxStatus;
use scf_client::NodeClient;
use scf_domain::governance::{Ballot, Deadline, GovernanceCall, ProposalKind};
use scf_domain::org::Role;
use scf_ledger::block::{Block, CommitSignature};
use scf_ledger::crypto::{Address, Hash32, KeyPair};
use scf_ledger::genesis::{Genesis, Validator};
use scf_ledger::receipt::Receipt;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_node::certificate::CertificateError;
use scf_node::cli::{cluster_down, cluster_up_with, ClusterDownArgs, ClusterFile, ClusterUpArgs};
use scf_node::config::NodeConfig;
use scf_node::keys::{read_consensus_key, read_p2p_key, write_consensus_key};
use scf_node::verify_certificate;

const BASE_PORT: u16 = 21_700;
const CHAIN_ID: &str = "gov-cluster-test";
/// Node indexes in the cluster: 0–3 genesis validators, 4 the joining validator, 5 the late observer.
const JOINER: usize = 4;
const LATE_OBSERVER: usize = 5;
const REMOVED: usize = 1;
const ROTATED: usize = 3;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_scf"))
}

fn cluster_args(dir: &Path, only: Vec<usize>) -> ClusterUpArgs {
    ClusterUpArgs {
        nodes: 4,
        observers: 2,
        dir: dir.to_path_buf(),
        base_port: BASE_PORT,
        chain_id: CHAIN_ID.into(),
        only,
        wait_secs: 60,
    }
}

/// `cluster up` builds its own runtime to wait for the nodes, so it runs on a blocking thread.
async fn up(dir: &Path, only: Vec<usize>) -> ClusterFile {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        cluster_up_with(&cluster_args(&dir, only), exe(), scf_domain::modules()).expect("cluster up")
    })
    .await
    .expect("join")
}

async fn down(dir: &Path, only: Vec<usize>) {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || {
        cluster_down(&ClusterDownArgs { dir, only, kill: false }).expect("cluster down")
    })
    .await
    .expect("join")
}

/// Stops every node when the test ends, pass or fail.
struct Cleanup(PathBuf);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = cluster_down(&ClusterDownArgs { dir: self.0.clone(), only: vec![], kill: true });
    }
}

fn org_key(id: &str) -> KeyPair {
    KeyPair::from_seed(&format!("gov-cluster/org/{id}"))
}

const LOAD_SENDERS: usize = 3;

fn load_key(i: usize) -> KeyPair {
    KeyPair::from_seed(&format!("gov-cluster/load-{i}"))
}

fn credit_code(id: &str) -> String {
    let h = scf_ledger::crypto::sm3(id.as_bytes());
    format!("9131{}", h[..7].iter().map(|x| format!("{x:02X}")).collect::<String>())
}

const MEMBERS: &[&str] = &["A", "B", "C", "D"];

/// Organisations A–D (committee members, weight 1 each) and governance thresholds in the genesis file
/// `cluster up` generated, before any node has started.
fn add_committee(dir: &Path) {
    let path = dir.join("genesis.json");
    let mut g = Genesis::from_json(&std::fs::read_to_string(&path).expect("genesis")).expect("parse genesis");
    // The load's senders are accounts of A, B and C: the chain takes transactions from members only.
    let orgs: Vec<serde_json::Value> = MEMBERS
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let accounts: Vec<serde_json::Value> = (i < LOAD_SENDERS)
                .then(|| serde_json::json!({ "public_key": load_key(i).public(), "label": "load" }))
                .into_iter()
                .collect();
            serde_json::json!({
                "id": id, "name": format!("{id} 有限公司"), "credit_code": credit_code(id),
                "roles": [Role::CoreEnterprise], "public_key": org_key(id).public(), "accounts": accounts,
            })
        })
        .collect();
    g.app_state.insert("org".into(), serde_json::json!({ "orgs": orgs }));
    g.app_state.insert(
        "governance".into(),
        serde_json::json!({
            "members": MEMBERS.iter().map(|m| serde_json::json!({"org": m, "weight": 1})).collect::<Vec<_>>(),
            "config": {"participation_bp": 5000, "pass_bp": 6667, "validator_delay_blocks": 3}
        }),
    );
    g.validate().expect("genesis stays valid");
    std::fs::write(&path, g.to_json()).expect("write genesis");
}

fn edit_config(cluster: &ClusterFile, i: usize, f: impl FnOnce(&mut NodeConfig)) {
    let path = &cluster.nodes[i].config;
    let mut cfg: NodeConfig = toml::from_str(&std::fs::read_to_string(path).expect("config")).expect("parse config");
    f(&mut cfg);
    std::fs::write(path, cfg.to_toml()).expect("write config");
}

/// Give node `JOINER` (generated as an observer) a consensus key of its own. `cluster up` already made
/// it a transaction gossip peer of every node (observers gossip too). Returns the validator entry a
/// proposal adds.
fn prepare_joiner(cluster: &ClusterFile) -> Validator {
    let node = &cluster.nodes[JOINER];
    let key = KeyPair::from_seed("gov-cluster/validator-joiner");
    write_consensus_key(&node.dir.join("consensus.pem"), &key).expect("write key");
    edit_config(cluster, JOINER, |c| {
        c.consensus_key = Some(PathBuf::from("consensus.pem"));
        assert_eq!(c.p2p.tx_peers.len(), cluster.nodes.len() - 1, "the joiner gossips with every node");
    });
    let peer_id = read_p2p_key(&node.dir.join("p2p.key")).expect("p2p key").public().to_peer_id().to_base58();
    Validator { name: "validator-4".into(), public_key: *key.public(), power: 1, peer_id: Some(peer_id) }
}

/// Signs transactions with locally tracked nonces.
struct Signer {
    key: KeyPair,
    nonce: u64,
}

impl Signer {
    fn new(key: KeyPair) -> Self {
        Signer { key, nonce: 0 }
    }
    fn tx<C: borsh::BorshSerialize>(&mut self, module: &str, call: &C) -> SignedTx {
        let tx = TxBody {
            chain_id: CHAIN_ID.into(),
            sender: *self.key.public(),
            nonce: self.nonce,
            expiry_height: 50_000,
            call: Call { module: module.into(), payload: scf_domain::kv::encode_call(call) },
        }
        .sign(&self.key);
        self.nonce += 1;
        tx
    }
}

async fn receipt(c: &NodeClient, id: &Hash32, timeout: Duration) -> Receipt {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(RemoteTxStatus::Committed { receipt, .. }) = c.tx_status(id).await {
            return receipt;
        }
        assert!(Instant::now() < deadline, "{id} not committed on {}", c.base());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submit `tx` and wait for its successful receipt.
async fn run_ok(c: &NodeClient, tx: SignedTx, timeout: Duration) -> Receipt {
    let id = c.submit(&tx).await.unwrap_or_else(|e| panic!("submit to {}: {e}", c.base()));
    let r = receipt(c, &id, timeout).await;
    assert!(r.is_success(), "{} failed: {:?}", r.module, r.outcome);
    r
}

/// Propose a validator change, vote it through (A, B, C) and close it. Returns the activation height.
async fn pass_validator_change(c: &NodeClient, signers: &mut [Signer], kind: ProposalKind) -> u64 {
    let r = pass(c, signers, kind).await;
    r.events
        .iter()
        .find(|e| e.kind == "ValidatorSetScheduled")
        .and_then(|e| e.attribute("height"))
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("the proposal did not schedule a set: {:?}", r.events))
}

/// Propose `kind`, vote it through (A, B, C), close it (D); the closing receipt.
async fn pass(c: &NodeClient, signers: &mut [Signer], kind: ProposalKind) -> Receipt {
    let t = Duration::from_secs(90);
    let propose = GovernanceCall::Propose {
        title: "committee decision".into(),
        kind,
        deadline: Deadline::Height { height: 1_000_000 },
    };
    let r = run_ok(c, signers[0].tx("governance", &propose), t).await;
    let id: u64 = r.events[0].attribute("proposal").and_then(|p| p.parse().ok()).expect("proposal id");
    for s in signers[..3].iter_mut() {
        let v = s.tx("governance", &GovernanceCall::Vote { proposal_id: id, ballot: Ballot::Yes });
        run_ok(c, v, t).await;
    }
    let r = run_ok(c, signers[3].tx("governance", &GovernanceCall::Close { proposal_id: id }), t).await;
    assert!(r.events.iter().any(|e| e.kind == "ProposalExecuted"), "proposal {id} not executed: {:?}", r.events);
    r
}

async fn block(c: &NodeClient, h: u64) -> Block {
    c.block(h).await.expect("block request").unwrap_or_else(|| panic!("{} has no block {h}", c.base())).block
}

/// Same block hash and state root at every height in `range` on every node.
async fn assert_same(nodes: &[&NodeClient], range: std::ops::RangeInclusive<u64>) {
    for h in range {
        let mut seen: Option<(Hash32, Hash32)> = None;
        for c in nodes {
            let b = block(c, h).await;
            let this = (b.header.hash(), b.header.state_root);
            match &seen {
                None => seen = Some(this),
                Some(s) => assert_eq!(s, &this, "divergence at height {h} on {}", c.base()),
            }
        }
    }
}

fn signers_of(b: &Block) -> BTreeSet<Address> {
    b.certificate.as_ref().map(|c| c.signatures.iter().map(|s| s.validator).collect()).unwrap_or_default()
}

/// Keeps several senders' transactions flowing until stopped; counts submissions.
fn spawn_load(clients: Vec<NodeClient>, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut senders: Vec<Signer> = (0..LOAD_SENDERS).map(|i| Signer::new(load_key(i))).collect();
        let mut i = 0usize;
        while !stop.load(Ordering::Relaxed) {
            let s = &mut senders[i % LOAD_SENDERS];
            // An `org` call the module refuses: ordered, executed, receipted and stored all the same.
            let tx = s.tx("org", &());
            let c = &clients[i % clients.len()];
            if c.submit(&tx).await.is_ok() {
                sent.fetch_add(1, Ordering::Relaxed);
            } else {
                s.nonce -= 1; // not admitted (e.g. that node is restarting): reuse the nonce
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn validators_join_leave_and_rotate_keys_by_vote_without_restart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    // Generate keys, genesis and configs only (no index matches `only`): edit them before any start.
    let cluster = up(&dir, vec![usize::MAX]).await;
    add_committee(&dir);
    let joiner = prepare_joiner(&cluster);
    let genesis =
        Genesis::from_json(&std::fs::read_to_string(dir.join("genesis.json")).expect("genesis")).expect("parse");
    // Before the first start: nodes started by a `cluster up` that then fails are stopped too.
    let _cleanup = Cleanup(dir.clone());
    up(&dir, (0..=JOINER).collect()).await;
    let c: Vec<NodeClient> = cluster.nodes.iter().map(|n| NodeClient::new(n.api.clone())).collect();
    let t = Duration::from_secs(120);
    for n in &c[..=JOINER] {
        n.wait_height(2, t).await.unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", n.base(), 2));
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let load = spawn_load(vec![c[0].clone(), c[2].clone()], stop.clone(), sent.clone());
    let mut committee: Vec<Signer> = MEMBERS.iter().map(|m| Signer::new(org_key(m))).collect();
    let address = |i: usize| -> Address {
        read_consensus_key(&cluster.nodes[i].dir.join("consensus.pem")).expect("consensus key").address()
    };
    let joiner_addr = joiner.public_key.address();
    let removed_addr = address(REMOVED);
    let rotated_addr = address(ROTATED);

    // 1. Add validator-4, then remove validator-1, by vote, while the load keeps committing.
    let add_at = pass_validator_change(
        &c[0],
        &mut committee,
        ProposalKind::AddValidator { validator: joiner.clone(), activation_delay: 0 },
    )
    .await;
    let remove_at = pass_validator_change(
        &c[2],
        &mut committee,
        ProposalKind::RemoveValidator { name: "validator-1".into(), activation_delay: 0 },
    )
    .await;
    assert!(remove_at > add_at, "changes take effect in order ({add_at}, {remove_at})");

    // 2. Rotate validator-3's consensus key by vote; the node keeps its old key until its operator
    // restarts it with the new one after the activation height.
    let new_key = KeyPair::from_seed("gov-cluster/validator-3/rotated");
    let rotate_at = pass_validator_change(
        &c[0],
        &mut committee,
        ProposalKind::RotateValidatorKey {
            name: "validator-3".into(),
            new_key: *new_key.public(),
            activation_delay: 0,
        },
    )
    .await;
    assert!(rotate_at > remove_at);
    // Past the rotation, validators 0, 2 and 4 (3 of 4) keep the chain going on their own.
    c[0].wait_height(rotate_at + 2, t)
        .await
        .unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", c[0].base(), rotate_at + 2));
    let rotated_dir = &cluster.nodes[ROTATED].dir;
    down(&dir, vec![ROTATED]).await;
    // The operator keeps the retired key aside (a key file is never overwritten) and installs the new one.
    std::fs::rename(rotated_dir.join("consensus.pem"), rotated_dir.join("consensus.pem.retired"))
        .expect("keep old key");
    write_consensus_key(&rotated_dir.join("consensus.pem"), &new_key).expect("write rotated key");
    up(&dir, vec![ROTATED]).await;
    let sent_before = sent.load(Ordering::Relaxed);
    let h_mid = c[0].height().await.expect("height");
    c[0].wait_height(h_mid + 12, t)
        .await
        .unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", c[0].base(), h_mid + 12));
    assert!(sent.load(Ordering::Relaxed) > sent_before, "load kept flowing");
    stop.store(true, Ordering::Relaxed);
    load.await.expect("load task");

    // 3. Check every certificate against the set of its height, on every live node.
    let h_end = c[0].height().await.expect("height");
    let live: Vec<&NodeClient> = c[..=JOINER].iter().collect();
    for n in &live {
        n.wait_height(h_end, t).await.unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", n.base(), h_end));
    }
    assert_same(&live, 1..=h_end).await;
    let names: Vec<String> = genesis.validators.iter().map(|v| v.name.clone()).collect();
    assert_eq!(names, ["validator-0", "validator-1", "validator-2", "validator-3"]);
    let set_at = |h: u64| -> Vec<Validator> {
        let mut set = genesis.validators.clone();
        if h >= add_at {
            set.push(joiner.clone());
        }
        if h >= remove_at {
            set.retain(|v| v.name != "validator-1");
        }
        if h >= rotate_at {
            for v in set.iter_mut().filter(|v| v.name == "validator-3") {
                v.public_key = *new_key.public();
                v.peer_id = None;
            }
        }
        set
    };
    let mut joiner_signed = 0;
    let mut joiner_proposed = 0;
    let mut rotated_new_key_signed = 0;
    let mut load_txs = 0;
    for h in 1..=h_end {
        let b = block(&c[0], h).await;
        let expected = set_at(h);
        let check = verify_certificate(&b, &expected).unwrap_or_else(|e| panic!("certificate of block {h}: {e}"));
        let signers = signers_of(&b);
        load_txs += b.txs.iter().filter(|t| t.body.call.module == "org").count();
        if h < add_at {
            assert!(!signers.contains(&joiner_addr), "validator-4 signed block {h} before joining at {add_at}");
            assert!(!check.signers.contains(&"validator-4".to_string()));
        } else {
            joiner_signed += usize::from(signers.contains(&joiner_addr));
            joiner_proposed += usize::from(b.header.proposer == joiner_addr);
        }
        if h >= remove_at {
            assert!(!signers.contains(&removed_addr), "removed validator-1 signed block {h} (removed at {remove_at})");
            assert_ne!(b.header.proposer, removed_addr, "removed validator-1 proposed block {h}");
        }
        if h >= rotate_at {
            assert!(
                !signers.contains(&rotated_addr),
                "validator-3's retired key signed block {h} (rotated at {rotate_at})"
            );
            rotated_new_key_signed += usize::from(signers.contains(&new_key.address()));
        }
        if h < rotate_at {
            assert!(!signers.contains(&new_key.address()));
        }
    }
    eprintln!(
        "added at {add_at}, removed at {remove_at}, rotated at {rotate_at}, checked 1..={h_end}: validator-4 signed \
         {joiner_signed} and proposed {joiner_proposed} blocks, validator-3's new key signed {rotated_new_key_signed}, \
         {load_txs} load transactions"
    );
    assert!(joiner_signed > 0, "validator-4 never signed a certificate after joining at {add_at}");
    assert!(joiner_proposed > 0, "validator-4 never proposed after joining at {add_at}");
    assert!(rotated_new_key_signed > 0, "validator-3 never signed with its new key after the restart");
    assert!(load_txs > 0, "transactions kept committing");

    // The retired key is refused: its precommit for a block after the rotation does not verify.
    let mut forged = block(&c[0], h_end).await;
    assert_eq!(address(ROTATED), new_key.address(), "node 3 now runs the new key");
    if let Some(cert) = forged.certificate.as_mut() {
        let round = cert.round;
        let hash = forged.header.hash();
        cert.signatures.retain(|s| s.validator != new_key.address());
        let retired = retired_key(&cluster);
        cert.signatures.push(CommitSignature {
            validator: retired.address(),
            signature: retired.sign(&scf_node::signing::precommit_signing_bytes(h_end, round, hash, retired.address())),
        });
    }
    assert!(
        matches!(verify_certificate(&forged, &set_at(h_end)), Err(CertificateError::UnknownValidator { .. })),
        "a precommit by the retired key must be refused"
    );

    // 4. A late observer: value sync from genesis across every set change, then it follows.
    up(&dir, vec![LATE_OBSERVER]).await;
    let obs = &c[LATE_OBSERVER];
    obs.wait_height(h_end, t).await.unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", obs.base(), h_end));
    let mut all = live.clone();
    all.push(obs);
    assert_same(&all, 1..=h_end).await;
    let h_follow = c[0].height().await.expect("height") + 3;
    c[0].wait_height(h_follow, t)
        .await
        .unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", c[0].base(), h_follow));
    obs.wait_height(h_follow, t)
        .await
        .unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", obs.base(), h_follow));
    assert_same(&all, h_end..=h_follow).await;
    let status = obs.status().await.expect("status");
    let leader = c[0].block(status.height).await.expect("req").expect("block");
    assert_eq!(status.state_root, leader.block.header.state_root.to_hex(), "observer's state root");
    down(&dir, vec![]).await;
}

/// validator-3's key before the rotation, kept by the test (its node's file now holds the new key).
fn retired_key(cluster: &ClusterFile) -> KeyPair {
    let kept = cluster.nodes[ROTATED].dir.join("consensus.pem.retired");
    read_consensus_key(&kept).expect("retired key kept by the test")
}

// ---------------------------------------------------------------------------------------------------
// Trust from chain: the organisation CAs the nodes' 国密 TLS links trust, and the certificates they
// refuse, are decided by committee vote and recorded on chain; no node restarts and no file is copied.

const TRUST_BASE_PORT: u16 = 21_900;

/// Wait until every node in `which` reports `peers` consensus peers.
async fn wait_peers(c: &[NodeClient], which: &[usize], peers: usize, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut seen = Vec::new();
        for &i in which {
            seen.push(c[i].status().await.map(|s| s.peers).unwrap_or(usize::MAX));
        }
        if seen.iter().all(|p| *p == peers) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: peers of nodes {which:?} are {seen:?}, expected {peers}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn height(c: &NodeClient) -> u64 {
    c.status().await.map(|s| s.height).unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn organisation_cas_and_revocations_recorded_on_chain_govern_the_node_links_without_restart() {
    use scf_ca::{CaDir, CertKind};
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let args = ClusterUpArgs {
        nodes: 4,
        observers: 1,
        dir: dir.clone(),
        base_port: TRUST_BASE_PORT,
        chain_id: CHAIN_ID.into(),
        only: vec![usize::MAX],
        wait_secs: 60,
    };
    let generate = args.clone();
    let cluster = tokio::task::spawn_blocking(move || cluster_up_with(&generate, exe(), scf_domain::modules()))
        .await
        .expect("join")
        .expect("cluster up");
    add_committee(&dir);

    // Organisation A's CA is the one `cluster up` made (it certified validators 0–2); organisation D
    // gets its own CA and certifies validator-3 with it. Both go into genesis; no node has a trust file.
    let now = std::time::SystemTime::now();
    let mut d_ca = CaDir::init(&dir.join("ca-d"), "D", None, 3650, now).expect("D's CA");
    let v3 = &cluster.nodes[3];
    let v3_tls = read_consensus_key(&v3.dir.join(scf_node::cli::NODE_TLS_KEY)).expect("validator-3 TLS key");
    let v3_peer = read_p2p_key(&v3.dir.join("p2p.key")).expect("p2p key").public().to_peer_id().to_base58();
    let issue = |ca: &mut CaDir| {
        let cert = ca
            .issue(
                CertKind::Node,
                "CN=validator-3",
                *v3_tls.public(),
                30,
                vec![format!("urn:libp2p:peer:{v3_peer}")],
                now,
            )
            .expect("issue");
        std::fs::write(v3.dir.join(scf_node::cli::NODE_CERT), cert.to_pem().expect("pem")).expect("write cert");
        cert.serial()
    };
    let first_serial = issue(&mut d_ca);
    let a_pem = std::fs::read_to_string(dir.join("ca").join(CaDir::CERT)).expect("A's CA");
    let d_pem = std::fs::read_to_string(dir.join("ca-d").join(CaDir::CERT)).expect("D's CA");
    let path = dir.join("genesis.json");
    let mut g = Genesis::from_json(&std::fs::read_to_string(&path).expect("genesis")).expect("parse");
    let orgs = g.app_state.get_mut("org").and_then(|o| o.get_mut("orgs")).and_then(|o| o.as_array_mut()).expect("orgs");
    orgs[0]["ca_certs"] = serde_json::json!([a_pem]);
    orgs[3]["ca_certs"] = serde_json::json!([d_pem]);
    std::fs::write(&path, g.to_json()).expect("write genesis");
    // Validator-0 also serves its client API over HTTPS to members, trusting the same on-chain CAs; D's
    // back office calls it with a client certificate from D's CA.
    let https_port = TRUST_BASE_PORT + 3000;
    let server_key = KeyPair::from_seed("trust-chain/https-server");
    let mut a_ca = CaDir::open(&dir.join("ca")).expect("A's CA");
    let server = a_ca
        .issue(CertKind::Tls, "CN=validator-0-api", *server_key.public(), 30, vec!["127.0.0.1".into()], now)
        .expect("server certificate");
    let v0 = &cluster.nodes[0].dir;
    std::fs::write(v0.join("api.crt.pem"), server.to_pem().expect("pem")).expect("write");
    std::fs::write(v0.join("api.key.pem"), server_key.to_pkcs8_pem().expect("pkcs8")).expect("write");
    let d_client_key = KeyPair::from_seed("trust-chain/d-back-office");
    let d_client = d_ca
        .issue(CertKind::Client, "CN=d-back-office", *d_client_key.public(), 30, vec![], now)
        .expect("client certificate");
    let d_client = scf_gmtls::Identity::new(d_client, &d_client_key).expect("identity");
    // Node 4 joins last, certified by A's CA: the validators do not list it anywhere; it lists them.
    let newcomer = read_p2p_key(&cluster.nodes[4].dir.join("p2p.key")).expect("p2p key").public().to_peer_id();
    for i in 0..5 {
        edit_config(&cluster, i, |c| {
            c.p2p.tls_trust = None;
            c.p2p.tls_crls.clear();
            c.p2p.tls_trust_on_chain = true;
            if i < 4 {
                let listed = |a: &String| a.ends_with(&format!("/p2p/{newcomer}"));
                c.p2p.persistent_peers.retain(|a| !listed(a));
                c.p2p.tx_peers.retain(|a| !listed(a));
            }
            if i == 0 {
                c.api.https_listen = Some(format!("127.0.0.1:{https_port}").parse().expect("addr"));
                c.api.tls_cert = Some("api.crt.pem".into());
                c.api.tls_key = Some("api.key.pem".into());
                c.api.tls_trust_on_chain = true;
            }
        });
    }
    let d_fp = scf_domain::org_ca::fingerprint(scf_ca::SmCertificate::from_pem(&d_pem).expect("D's CA parses").der());

    let _cleanup = Cleanup(dir.clone());
    let start = args.clone();
    tokio::task::spawn_blocking(move || {
        cluster_up_with(&ClusterUpArgs { only: (0..4).collect(), ..start }, exe(), scf_domain::modules())
    })
    .await
    .expect("join")
    .expect("cluster start");
    let c: Vec<NodeClient> = cluster.nodes.iter().map(|n| NodeClient::new(n.api.clone())).collect();
    for n in &c[..4] {
        n.wait_height(2, Duration::from_secs(120)).await.unwrap_or_else(|e| panic!("{}: {e}", n.base()));
    }
    wait_peers(&c, &[0, 1, 2, 3], 3, "all four connected over 国密 TLS with trust from genesis").await;
    let log0 = || std::fs::read_to_string(cluster.nodes[0].dir.join("node.log")).unwrap_or_default();
    assert!(log0().contains("trusting the organisation CAs recorded on chain"), "{}", log0());
    let mut committee: Vec<Signer> = MEMBERS.iter().map(|m| Signer::new(org_key(m))).collect();
    let client_trust = scf_gmtls::Trust::new(
        scf_ca::TrustStore::from_pem(&format!("{a_pem}{d_pem}")).expect("trust"),
        std::sync::Arc::new(scf_ca::NoRevocation),
    );
    let tls = scf_gmtls::client_config(Some(&d_client), client_trust, true).expect("client config");
    let d_office = NodeClient::with_tls(format!("https://127.0.0.1:{https_port}"), (*tls).clone()).expect("client");
    d_office.status().await.expect("D's back office calls validator-0 over HTTPS, trusted from chain");

    // 1. The committee revokes validator-3's certificate on chain: every node cuts it off at the block
    // that records it; the other three go on committing.
    pass(
        &c[0],
        &mut committee,
        ProposalKind::RevokeCertificate { ca: d_fp, serial: first_serial, reason: "keyCompromise".into() },
    )
    .await;
    wait_peers(&c, &[0, 1, 2], 2, "validator-3 cut off after the on-chain revocation").await;
    wait_peers(&c, &[3], 0, "validator-3 isolated").await;
    let h = height(&c[0]).await;
    c[0].wait_height(h + 3, Duration::from_secs(60)).await.expect("the other three keep committing");
    assert!(log0().contains("trust re-read from chain"), "{}", log0());

    // 2. D's operator issues validator-3 a new certificate from D's CA and replaces the file: the node
    // presents it from its next handshake, the others accept it, and validator-3 catches up.
    let second_serial = issue(&mut d_ca);
    assert_ne!(first_serial, second_serial);
    wait_peers(&c, &[0, 1, 2, 3], 3, "validator-3 back with its new certificate").await;
    let h = height(&c[0]).await;
    c[3].wait_height(h, Duration::from_secs(60)).await.expect("validator-3 catches up");

    // 3. The committee stops trusting D's CA: everything it issued is refused, open links close.
    d_office.status().await.expect("D's back office still calls while D's CA is trusted");
    pass(&c[1], &mut committee, ProposalKind::RemoveOrgCa { org_id: "D".into(), fingerprint: d_fp }).await;
    wait_peers(&c, &[0, 1, 2], 2, "validator-3 cut off after D's CA was removed").await;
    wait_peers(&c, &[3], 0, "validator-3 isolated again").await;
    // ...and so is D's back office, on its open connection and on a new one.
    match d_office.status().await {
        Err(scf_client::ChainError::Rejected(r)) => assert_eq!(r.kind, "certificate_revoked", "{r:?}"),
        Err(scf_client::ChainError::Unavailable(_)) => {}
        other => panic!("D's back office must be refused once D's CA is removed: {other:?}"),
    }
    let again = NodeClient::with_tls(format!("https://127.0.0.1:{https_port}"), (*tls).clone()).expect("client");
    assert!(again.status().await.is_err(), "a new handshake with D's certificate is refused");
    let h = height(&c[0]).await;
    c[1].wait_height(h + 3, Duration::from_secs(60)).await.expect("the other three keep committing");

    // 4. A node nobody listed, certified by a CA recorded on chain, connects (consensus and gossip),
    // syncs, and a transaction submitted to it commits: admission is the chain's CAs, not peer lists.
    let start = args.clone();
    tokio::task::spawn_blocking(move || {
        cluster_up_with(&ClusterUpArgs { only: vec![4], ..start }, exe(), scf_domain::modules())
    })
    .await
    .expect("join")
    .expect("newcomer start");
    wait_peers(&c, &[0, 1, 2], 3, "the newcomer is connected to the three").await;
    let h = height(&c[0]).await;
    c[4].wait_height(h, Duration::from_secs(60)).await.expect("the newcomer syncs");
    let mut sender = Signer::new(load_key(0));
    sender.nonce = 0;
    let id = c[4].submit(&sender.tx("org", &())).await.expect("submitted to the newcomer");
    let r = receipt(&c[0], &id, Duration::from_secs(60)).await;
    assert_eq!(r.module, "org", "the newcomer's transaction reached the validators by gossip and committed");
    let top = height(&c[2]).await.min(h + 3);
    let clients: Vec<&NodeClient> = c[..3].iter().collect();
    assert_same(&clients, 1..=top).await;
}

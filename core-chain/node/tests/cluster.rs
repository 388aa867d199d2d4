//! Four validator processes and one observer on loopback, driven through `cluster up/down` and the
//! client API: commits from several senders with identical state roots everywhere, kill -9 of a
//! validator under load, catch-up after restart, a halt (no blocks, no divergence) with two of four
//! down, recovery when one comes back, and no committed transaction lost. Transactions reach the
//! proposers over libp2p transaction gossip, including ones submitted only to the observer — also
//! before any of its peers was up (a one-validator cluster whose observer starts first).

use std::path::Path;
use std::time::{Duration, Instant};

use scf_client::wire::TxStatus as RemoteTxStatus;
use scf_client::NodeClient;
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::genesis::Genesis;
use scf_ledger::tx::{Call, SignedTx, TxBody};
use scf_node::cli::{cluster_down, cluster_up_with, ClusterDownArgs, ClusterFile, ClusterUpArgs};

const BASE_PORT: u16 = 21_400;

fn exe() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_scf-node-harness"))
}

/// `cluster up` builds its own runtime to wait for the nodes, so it runs on a blocking thread.
async fn up(dir: &Path, only: Vec<usize>) -> ClusterFile {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || up_blocking(&dir, only)).await.expect("join")
}

async fn down(dir: &Path, only: Vec<usize>, kill: bool) {
    let dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || cluster_down(&ClusterDownArgs { dir, only, kill }).expect("cluster down"))
        .await
        .expect("join")
}

fn up_blocking(dir: &Path, only: Vec<usize>) -> ClusterFile {
    cluster_up_with(
        &ClusterUpArgs {
            nodes: 4,
            observers: 1,
            dir: dir.to_path_buf(),
            base_port: BASE_PORT,
            chain_id: "cluster-test".into(),
            only,
            wait_secs: 60,
        },
        exe(),
        scf_node::kv_module::modules(),
    )
    .expect("cluster up")
}

/// Stops every node when the test ends, pass or fail.
struct Cleanup<'a>(&'a Path);
impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let _ = cluster_down(&ClusterDownArgs { dir: self.0.to_path_buf(), only: vec![], kill: true });
    }
}

fn tx(key: &KeyPair, nonce: u64) -> SignedTx {
    TxBody {
        chain_id: "cluster-test".into(),
        sender: *key.public(),
        nonce,
        expiry_height: 100_000,
        call: Call { module: "kv".into(), payload: vec![] },
    }
    .sign(key)
}

async fn wait_committed(nodes: &[&NodeClient], ids: &[Hash32], timeout: Duration) {
    let deadline = Instant::now() + timeout;
    for c in nodes {
        for id in ids {
            loop {
                if matches!(c.tx_status(id).await, Ok(RemoteTxStatus::Committed { .. })) {
                    break;
                }
                assert!(Instant::now() < deadline, "{id} not committed on {}", c.base());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Same block hash and state root at height `h` on every node.
async fn assert_same_at(nodes: &[&NodeClient], h: u64) {
    let mut seen: Option<(String, Hash32)> = None;
    for c in nodes {
        let b = c.block(h).await.expect("block request").unwrap_or_else(|| panic!("{} has no block {h}", c.base()));
        let this = (b.hash.clone(), b.block.header.state_root);
        match &seen {
            None => seen = Some(this),
            Some(s) => assert_eq!(s, &this, "divergence at height {h} on {}", c.base()),
        }
    }
}

async fn submit_round_robin(clients: &[&NodeClient], txs: &[SignedTx]) -> Vec<Hash32> {
    let mut ids = Vec::new();
    for (i, t) in txs.iter().enumerate() {
        let c = clients[i % clients.len()];
        ids.push(c.submit(t).await.unwrap_or_else(|e| panic!("submit to {}: {e}", c.base())));
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_validators_survive_crashes_and_halt_without_quorum() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let _cleanup = Cleanup(&dir);
    let cluster = up(&dir, vec![]).await;
    let genesis =
        Genesis::from_json(&std::fs::read_to_string(dir.join("genesis.json")).expect("genesis")).expect("parse");
    let c: Vec<NodeClient> = cluster.nodes.iter().map(|n| NodeClient::new(n.api.clone())).collect();
    let all: Vec<&NodeClient> = c.iter().collect();
    let t = Duration::from_secs(90);
    for n in &all {
        n.wait_height(2, t).await.unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", n.base(), 2));
    }

    // 1. Several senders through different nodes; committed everywhere (observer included).
    let keys: Vec<KeyPair> = (0..4).map(|i| KeyPair::from_seed(&format!("cluster-sender-{i}"))).collect();
    let mut nonce = [0u64; 4];
    let batch = |n: usize, nonce: &mut [u64; 4]| -> Vec<SignedTx> {
        let mut out = Vec::new();
        for _ in 0..n {
            for (i, k) in keys.iter().enumerate() {
                out.push(tx(k, nonce[i]));
                nonce[i] += 1;
            }
        }
        out
    };
    let first = batch(5, &mut nonce);
    let mut committed = submit_round_robin(&all[..4], &first).await;
    wait_committed(&all, &committed, t).await;
    let h = c[0].height().await.expect("height");
    for n in &all {
        n.wait_height(h, t).await.unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", n.base(), h));
    }
    assert_same_at(&all, h).await;
    let block = c[0].block(h).await.expect("req").expect("block");
    scf_node::verify_certificate(&block.block, &genesis.validators).expect("certificate from the cluster verifies");

    // 1b. Transactions submitted only to the observer (which never proposes) reach the validators over
    // libp2p transaction gossip and commit everywhere.
    let via_observer: Vec<SignedTx> = (0..3).map(|n| tx(&KeyPair::from_seed("cluster-observer-sender"), n)).collect();
    let ids = submit_round_robin(&[all[4]], &via_observer).await;
    wait_committed(&all, &ids, t).await;

    // 2. kill -9 validator 3 under load: the other three keep committing.
    let load = batch(5, &mut nonce);
    let (early, late) = load.split_at(load.len() / 2);
    committed.extend(submit_round_robin(&all[..3], early).await);
    down(&dir, vec![3], true).await;
    committed.extend(submit_round_robin(&all[..3], late).await);
    let live = [all[0], all[1], all[2], all[4]];
    wait_committed(&live, &committed, t).await;
    let h_live = c[0].height().await.expect("height");
    assert!(h_live > h, "chain kept committing with one validator down");

    // 3. Restart it: it catches up to the same chain.
    up(&dir, vec![3]).await;
    c[3].wait_height(h_live, t)
        .await
        .unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", c[3].base(), h_live));
    assert_same_at(&all, h_live).await;
    wait_committed(&[&c[3]], &committed, t).await;

    // 4. Stop two of four: no new blocks, no divergence.
    down(&dir, vec![2, 3], false).await;
    let stalled_tx = batch(1, &mut nonce);
    let stalled_ids = submit_round_robin(&[all[0], all[1]], &stalled_tx).await;
    // Allow a block already decided before the stop to land, then require silence.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let h_stop = c[0].height().await.expect("height");
    let watch_until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < watch_until {
        assert_eq!(c[0].height().await, Some(h_stop), "a block was committed without a quorum");
        assert!(c[1].height().await.is_some_and(|x| x <= h_stop));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    for id in &stalled_ids {
        assert!(!matches!(c[0].tx_status(id).await, Ok(RemoteTxStatus::Committed { .. })));
    }
    assert_same_at(&[all[0], all[1], all[4]], h_stop.min(c[1].height().await.unwrap_or(0))).await;

    // 5. Bring one back: progress resumes and the waiting transactions commit.
    up(&dir, vec![2]).await;
    c[0].wait_height(h_stop + 1, t)
        .await
        .unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", c[0].base(), h_stop + 1));
    committed.extend(stalled_ids);
    let live = [all[0], all[1], all[2], all[4]];
    wait_committed(&live, &committed, t).await;

    // 6. Nothing committed was lost; everyone agrees.
    let h_end = c[0].height().await.expect("height");
    for n in &live {
        n.wait_height(h_end, t).await.unwrap_or_else(|e| panic!("{} did not reach height {}: {e}", n.base(), h_end));
    }
    assert_same_at(&live, h_end).await;
    down(&dir, vec![], false).await;
}

/// A transaction submitted to an observer while none of its peers is up is kept in its mempool and,
/// once the validator starts and subscribes, sent to it (catch-up on the gossip port), so it commits.
/// Without the catch-up it would wait forever: an observer never proposes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_transaction_submitted_to_a_lone_observer_commits_once_the_validator_starts() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    let args = |only: Vec<usize>| ClusterUpArgs {
        nodes: 1,
        observers: 1,
        dir: dir.clone(),
        base_port: 21_600,
        chain_id: "cluster-test".into(),
        only,
        wait_secs: 60,
    };
    let start = |only: Vec<usize>| {
        let a = args(only);
        tokio::task::spawn_blocking(move || {
            cluster_up_with(&a, exe(), scf_node::kv_module::modules()).expect("cluster up")
        })
    };
    // Node 1 is the observer; it starts alone.
    let _cleanup = Cleanup(&dir);
    let cluster = start(vec![1]).await.expect("join");
    let validator = NodeClient::new(cluster.nodes[0].api.clone());
    let observer = NodeClient::new(cluster.nodes[1].api.clone());
    assert!(!cluster.nodes[1].validator, "node 1 is the observer");
    assert!(validator.status().await.is_err(), "the validator is not running yet");

    let key = KeyPair::from_seed("lone-observer-sender");
    let ids = submit_round_robin(&[&observer], &[tx(&key, 0), tx(&key, 1)]).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for id in &ids {
        assert!(!matches!(observer.tx_status(id).await, Ok(RemoteTxStatus::Committed { .. })));
    }

    start(vec![0]).await.expect("join");
    wait_committed(&[&validator, &observer], &ids, Duration::from_secs(60)).await;
    down(&dir, vec![], false).await;
}

/// Poll `f` until it holds; panics with `what` after `timeout`.
async fn until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !f().await {
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The nodes of `cluster up` talk 国密 TLS with certificates from the cluster's CA; revoking one node's
/// certificate (as `scf ca revoke` does) cuts it off from the others, which keep committing, and its
/// redials are refused at the handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_certificate_is_revoked_is_cut_off_and_the_others_go_on() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("c");
    let _cleanup = Cleanup(&dir);
    let args = ClusterUpArgs {
        nodes: 4,
        observers: 0,
        dir: dir.clone(),
        base_port: 21_850,
        chain_id: "cluster-test".into(),
        only: vec![],
        wait_secs: 60,
    };
    let cluster = tokio::task::spawn_blocking(move || {
        cluster_up_with(&args, exe(), scf_node::kv_module::modules()).expect("cluster up")
    })
    .await
    .expect("join");
    let clients: Vec<NodeClient> = cluster.nodes.iter().map(|n| NodeClient::new(n.api.clone())).collect();
    let log = std::fs::read_to_string(cluster.nodes[0].dir.join("node.log")).unwrap_or_default();
    assert!(log.contains("p2p: 国密 TLS"), "cluster up configures 国密 TLS between nodes");
    until("every node connected to the three others", Duration::from_secs(60), || async {
        let mut all = true;
        for c in &clients {
            all &= c.status().await.is_ok_and(|s| s.peers == 3);
        }
        all
    })
    .await;

    let pem = std::fs::read_to_string(cluster.nodes[3].dir.join(scf_node::cli::NODE_CERT)).expect("cert");
    let serial = scf_ca::SmCertificate::from_pem(&pem).expect("cert").serial();
    let mut ca = scf_ca::CaDir::open(&dir.join("ca")).expect("ca");
    ca.revoke(serial, scf_ca::RevocationReason::KeyCompromise, std::time::SystemTime::now()).expect("revoke");

    until("the others drop validator-3", Duration::from_secs(30), || async {
        let mut all = true;
        for c in &clients[..3] {
            all &= c.status().await.is_ok_and(|s| s.peers == 2);
        }
        all && clients[3].status().await.is_ok_and(|s| s.peers == 0)
    })
    .await;
    let cut_at = clients[3].status().await.expect("status").height;
    until("three validators keep committing", Duration::from_secs(60), || async {
        clients[0].status().await.is_ok_and(|s| s.height >= cut_at + 5)
    })
    .await;
    let s3 = clients[3].status().await.expect("status");
    assert_eq!(s3.peers, 0, "validator-3's redials are refused");
    assert!(s3.height <= cut_at + 1, "validator-3 got no further blocks ({} after {cut_at})", s3.height);
    let log0 = cluster.nodes[0].dir.join("node.log");
    until("validator-0 logs a refused handshake with validator-3", Duration::from_secs(60), || async {
        std::fs::read_to_string(&log0).unwrap_or_default().contains("invalid peer certificate: Revoked")
    })
    .await;
    assert_eq!(clients[3].status().await.expect("status").peers, 0);
}

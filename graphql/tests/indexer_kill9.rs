//! The indexer survives `kill -9`: a child process indexing a chain of a few hundred blocks into a
//! SQLite read model is killed with SIGKILL mid-stream; the rows it left are exactly the blocks up to its
//! cursor, and a new indexer resumes there and ends with every block, transaction and event once — no
//! gap, no duplicate.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use scf_client::{Chain, InProcessChain, Production};
use scf_domain::kv::encode_call;
use scf_domain::org::{OrgCall, Role};
use scf_graphql::bootstrap::consortium;
use scf_graphql::db::entities::{block, event, indexer_cursor, transaction, user};
use scf_graphql::indexer::Indexer;
use scf_ledger::crypto::KeyPair;
use scf_ledger::genesis::Genesis;
use scf_ledger::tx::{Call, TxBody};
use scf_store::Store;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder};

const BLOCKS: u64 = 400;
const CHILD_ENV: &str = "SCF_INDEXER_CHILD_DIR";

fn db_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("read.sqlite").display())
}

fn genesis_file(dir: &Path) -> PathBuf {
    dir.join("genesis.json")
}

/// Open the chain, waiting for a previous holder of the RocksDB lock (a dropped chain's producer,
/// a killed child) to let go.
async fn open_chain(dir: &Path, genesis: &Genesis) -> InProcessChain<Store> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let opened = Store::open(&dir.join("chain")).map_err(|e| e.to_string()).and_then(|store| {
            InProcessChain::open(store, genesis, scf_domain::modules(), Production::Auto).map_err(|e| e.to_string())
        });
        match opened {
            Ok(c) => return c,
            Err(e) => {
                assert!(Instant::now() < deadline, "chain store stays locked: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

/// Child half: index the chain until killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_child() {
    let Ok(dir) = std::env::var(CHILD_ENV) else { return };
    let dir = PathBuf::from(dir);
    let genesis: Genesis =
        serde_json::from_slice(&std::fs::read(genesis_file(&dir)).expect("genesis file")).expect("genesis json");
    let chain = open_chain(&dir, &genesis).await;
    let db = scf_graphql::db::connect(&db_url(&dir)).await.expect("db");
    let indexer = Indexer::new(db, Arc::new(chain)).await.expect("indexer");
    indexer.run().await;
}

async fn cursor(db: &sea_orm::DatabaseConnection) -> Option<u64> {
    indexer_cursor::Entity::find_by_id(1).one(db).await.ok().flatten().map(|c| c.height as u64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_killed_with_sigkill_resumes_without_gaps_or_duplicates() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let url = db_url(dir);
    let db = scf_graphql::db::connect(&url).await.expect("db");
    let orgs = vec![org("CORE", &[Role::CoreEnterprise], false), org("S1", &[Role::Supplier], false)];
    let (genesis, _) = consortium(&db, &NODE_KEY, "scf-kill9", day_ms("2026-01-04"), &orgs).await.expect("consortium");
    std::fs::write(genesis_file(dir), serde_json::to_vec(&genesis).expect("json")).expect("write genesis");

    // A chain of BLOCKS blocks, one transaction (with events) each, before any indexing.
    let admin = user::Entity::find().filter(user::Column::Username.eq("s1-admin")).one(&db).await.expect("q");
    let key = scf_graphql::auth::open_key(&NODE_KEY, &admin.expect("s1 admin")).expect("key");
    let mut receipts = Vec::new();
    {
        let chain = open_chain(dir, &genesis).await;
        for nonce in 0..BLOCKS {
            let new = KeyPair::generate().expect("keygen");
            let call = OrgCall::AddAccount { public_key: *new.public(), label: format!("k{nonce}"), admin: false };
            let body = TxBody {
                chain_id: genesis.chain_id.clone(),
                sender: *key.public(),
                nonce,
                expiry_height: nonce + 50,
                call: Call { module: scf_domain::org::MODULE.into(), payload: encode_call(&call) },
            };
            let r = chain.submit_and_wait(body.sign(&key), Duration::from_secs(10)).await.expect("commit");
            assert!(r.is_success(), "{r:?}");
            receipts.push(r);
        }
        assert_eq!(chain.tip().await.expect("tip").map(|t| t.height), Some(BLOCKS));
    }
    let total_events: usize = receipts.iter().map(|r| r.events.len()).sum();
    assert!(total_events >= BLOCKS as usize);

    // The child indexes; kill it with SIGKILL somewhere in the middle.
    let mut child = std::process::Command::new(std::env::current_exe().expect("exe"))
        .args(["--exact", "indexer_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn child");
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if cursor(&db).await.is_some_and(|h| h >= 40) {
            break;
        }
        assert!(Instant::now() < deadline, "child indexer made no progress");
        assert!(child.try_wait().expect("wait").is_none(), "child exited early");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");

    // What the killed indexer left is consistent: exactly the blocks up to its cursor.
    let at_kill = cursor(&db).await.expect("cursor after kill");
    assert!(at_kill < BLOCKS, "the child finished before it was killed (cursor {at_kill}); not a mid-stream kill");
    assert_eq!(block::Entity::find().count(&db).await.expect("count"), at_kill);
    let max = block::Entity::find().order_by_desc(block::Column::Height).one(&db).await.expect("max");
    assert_eq!(max.map(|b| b.height as u64), Some(at_kill));
    assert_eq!(transaction::Entity::find().count(&db).await.expect("count"), at_kill);

    // A new indexer resumes at the cursor and catches up.
    let chain = open_chain(dir, &genesis).await;
    let indexer = Indexer::new(db.clone(), Arc::new(chain)).await.expect("indexer");
    assert_eq!(indexer.cursor().await.expect("cursor"), Some(at_kill));
    assert_eq!(indexer.catch_up().await.expect("catch up"), BLOCKS);
    let heights: Vec<i64> = block::Entity::find()
        .order_by_asc(block::Column::Height)
        .all(&db)
        .await
        .expect("blocks")
        .into_iter()
        .map(|b| b.height)
        .collect();
    assert_eq!(heights, (1..=BLOCKS as i64).collect::<Vec<_>>(), "no gap, no duplicate");
    let txs = transaction::Entity::find().all(&db).await.expect("txs");
    assert_eq!(txs.len(), receipts.len());
    for r in &receipts {
        let row = txs.iter().find(|t| t.id == r.tx_id.to_hex()).expect("every transaction indexed");
        assert_eq!(row.height as u64, r.height);
    }
    assert_eq!(event::Entity::find().count(&db).await.expect("events") as usize, total_events);
    // Catching up again changes nothing.
    assert_eq!(indexer.catch_up().await.expect("idempotent"), BLOCKS);
    assert_eq!(block::Entity::find().count(&db).await.expect("count"), BLOCKS);
}

//! The service's durable state in one `redb` file: the schedule of timers (task id, due block time,
//! action, state), the transactions fired for them, the pledge applications open on each receipt (what
//! an IoT alert's margin call applies to), and the last block height fully processed. Each processed
//! block is one write transaction together with the height, so a restart resumes exactly where the last
//! commit stopped. What users read about processes (inboxes, audit trails, notices) is the API's SQL
//! read model, not this.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use scf_domain::workflow::WorkflowCall;
use serde::{Deserialize, Serialize};

/// task id → JSON [`Task`].
pub(crate) const TASKS: TableDefinition<&str, &[u8]> = TableDefinition::new("tasks");
/// fired transaction id (hex) → task id.
pub(crate) const FIRED: TableDefinition<&str, &str> = TableDefinition::new("fired_txs");
/// `{receipt}\0{application id}` → state of a pledge application while it is `pledged` or `overdue`.
pub(crate) const PLEDGES: TableDefinition<&str, &str> = TableDefinition::new("pledges_by_receipt");
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const META_HEIGHT: &str = "last_height";

#[derive(Debug, thiserror::Error)]
pub enum WorkflowsError {
    #[error("schedule database: {0}")]
    Db(String),
    #[error("schedule database: record {key:?} is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    #[error(transparent)]
    Chain(#[from] scf_client::ChainError),
    #[error("chain: no genesis yet")]
    NoGenesis,
    #[error("chain state: {0}")]
    State(String),
}

pub(crate) fn db_err<E: Into<redb::Error>>(e: E) -> WorkflowsError {
    WorkflowsError::Db(e.into().to_string())
}

pub(crate) fn decode<T: for<'de> Deserialize<'de>>(key: &str, bytes: &[u8]) -> Result<T, WorkflowsError> {
    serde_json::from_slice(bytes).map_err(|e| WorkflowsError::Corrupt { key: key.to_string(), reason: e.to_string() })
}

pub(crate) fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// What a timer does when it fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// Submit this workflow call (an `Expire`, an `EscalateOverdue`, an `OpenMarginCall`).
    Submit { call: WorkflowCall },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TaskState {
    Scheduled,
    /// Recorded *before* the transaction was handed to the mempool; `Done` once a receipt is seen.
    /// Fired again only if the transaction can no longer be included (past its expiry height).
    Fired {
        tx_id: String,
        at_height: u64,
        expiry_height: u64,
        attempts: u32,
    },
    Done {
        height: u64,
        outcome: String,
    },
    Cancelled {
        reason: String,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    pub id: String,
    /// Fires once a committed block's time is past this (ms since the epoch).
    pub due_ms: u64,
    pub action: Action,
    pub state: TaskState,
    pub scheduled_height: u64,
}

/// The durable schedule.
pub struct WorkflowStore {
    pub(crate) db: Database,
}

impl WorkflowStore {
    /// Open (or create) the database file.
    pub fn open(path: &Path) -> Result<Self, WorkflowsError> {
        let db = Database::create(path).map_err(db_err)?;
        let w = db.begin_write().map_err(db_err)?;
        {
            w.open_table(TASKS).map_err(db_err)?;
            w.open_table(FIRED).map_err(db_err)?;
            w.open_table(PLEDGES).map_err(db_err)?;
            w.open_table(META).map_err(db_err)?;
        }
        w.commit().map_err(db_err)?;
        Ok(WorkflowStore { db })
    }

    /// The last block height whose effects are stored.
    pub fn last_height(&self) -> Result<u64, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(META).map_err(db_err)?;
        Ok(t.get(META_HEIGHT).map_err(db_err)?.map(|g| g.value()).unwrap_or(0))
    }

    /// Every task of the schedule, by id.
    pub fn tasks(&self) -> Result<Vec<Task>, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(TASKS).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    pub fn task(&self, id: &str) -> Result<Option<Task>, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(TASKS).map_err(db_err)?;
        let v = t.get(id).map_err(db_err)?;
        v.map(|g| decode(id, g.value())).transpose()
    }
}

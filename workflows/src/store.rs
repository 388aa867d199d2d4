//! The service's durable state in one `redb` file: the schedule of timers (task id, due block time,
//! action, state), the last block height fully processed, and the read model the GraphQL layer queries
//! (instances with whom they wait for, notices, audit trail). Each processed block is one write
//! transaction together with the height, so a restart resumes exactly where the last commit stopped.

use std::path::Path;

use redb::{Database, ReadableTable, TableDefinition};
use scf_domain::workflow::WorkflowCall;
use serde::{Deserialize, Serialize};

/// task id → JSON [`Task`].
pub(crate) const TASKS: TableDefinition<&str, &[u8]> = TableDefinition::new("tasks");
/// fired transaction id (hex) → task id.
pub(crate) const FIRED: TableDefinition<&str, &str> = TableDefinition::new("fired_txs");
/// instance id → JSON [`InstanceView`].
pub(crate) const INSTANCES: TableDefinition<&str, &[u8]> = TableDefinition::new("instances");
/// `{instance}\0{height:020}{tx:06}{event:04}` → JSON [`AuditEntry`].
pub(crate) const AUDIT: TableDefinition<&str, &[u8]> = TableDefinition::new("audit");
/// `{org}\0{notice id}` → JSON [`Notice`].
pub(crate) const NOTICES: TableDefinition<&str, &[u8]> = TableDefinition::new("notices");
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
    /// Remind the obligor and holders of a voucher tree of its due date (no transaction).
    Remind { root: String, due_date: String, days_before: u32 },
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

/// One process instance as the inbox sees it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceView {
    pub id: String,
    /// `financing`, `pledge`, `margin_call` or `maturity`.
    pub process: String,
    pub state: String,
    pub terminal: bool,
    pub waiting_org: Option<String>,
    pub waiting_party: Option<String>,
    pub waiting_role: Option<String>,
    pub deadline_ms: Option<u64>,
    pub orgs: Vec<String>,
    pub voucher: Option<String>,
    pub root: Option<String>,
    pub receipt: Option<String>,
    /// For a margin call: its pledge application.
    pub application: Option<String>,
    pub updated_height: u64,
    pub updated_ms: u64,
}

/// One fact of an instance's history: who, when, what, in which transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub instance: String,
    pub height: u64,
    pub tx_index: u32,
    pub tx_id: String,
    /// Block time (ms since the epoch).
    pub time_ms: u64,
    /// Signing account address (hex).
    pub sender: String,
    /// The acting organisation, when the event names it.
    pub actor_org: Option<String>,
    pub module: String,
    pub kind: String,
    pub action: Option<String>,
    pub state: Option<String>,
    /// The event's full JSON.
    pub data: String,
}

/// Something an organisation should know (not necessarily act on).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: String,
    pub org: String,
    pub kind: String,
    pub subject: String,
    pub message: String,
    pub time_ms: u64,
    pub height: u64,
}

/// The durable schedule and read model.
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
            w.open_table(INSTANCES).map_err(db_err)?;
            w.open_table(AUDIT).map_err(db_err)?;
            w.open_table(NOTICES).map_err(db_err)?;
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

    pub fn instance(&self, id: &str) -> Result<Option<InstanceView>, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(INSTANCES).map_err(db_err)?;
        let v = t.get(id).map_err(db_err)?;
        v.map(|g| decode(id, g.value())).transpose()
    }

    /// Every instance, by id.
    pub fn instances(&self) -> Result<Vec<InstanceView>, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(INSTANCES).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// The audit trail of an instance, oldest first.
    pub fn audit_trail(&self, instance: &str) -> Result<Vec<AuditEntry>, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(AUDIT).map_err(db_err)?;
        let (from, to) = (format!("{instance}\0"), format!("{instance}\u{1}"));
        let mut out = Vec::new();
        for item in t.range(from.as_str()..to.as_str()).map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// Notices for an organisation, oldest first.
    pub fn notices(&self, org: &str) -> Result<Vec<Notice>, WorkflowsError> {
        let r = self.db.begin_read().map_err(db_err)?;
        let t = r.open_table(NOTICES).map_err(db_err)?;
        let (from, to) = (format!("{org}\0"), format!("{org}\u{1}"));
        let mut out: Vec<Notice> = Vec::new();
        for item in t.range(from.as_str()..to.as_str()).map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            out.push(decode(k.value(), v.value())?);
        }
        out.sort_by_key(|n| (n.height, n.time_ms));
        Ok(out)
    }
}

//! The timer service: consumes committed blocks in order, keeps the schedule up to date, and fires due
//! timers by **committed block time** (never the wall clock).
//!
//! Exactly once: a timer is recorded as fired (with its transaction id) in the schedule *before* the
//! transaction is handed to the mempool, so a restart never fires it again; it is fired anew only if
//! that transaction can no longer be included (past its expiry height) without a receipt. On chain,
//! `Expire`/`EscalateOverdue` succeed only while the step is still pending, so even several services
//! (one per node) firing the same deadline change the state once.

use redb::{ReadableTable, WriteTransaction};
use scf_client::{Chain, CommittedBlock, Signer};
use scf_domain::date::Date;
use scf_domain::voucher;
use scf_domain::workflow::{self, definitions, end_of_day_ms, DeadlineKind, WorkflowCall};
use scf_ledger::crypto::{Hash32, KeyPair};
use scf_ledger::module::Event;
use scf_ledger::receipt::{Receipt, TxOutcome};

use crate::store::*;

/// Blocks a fired transaction stays valid for.
pub const TX_VALIDITY_BLOCKS: u64 = 20;

/// What one [`TimerService::poll`] did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PollReport {
    /// Height the service has processed up to.
    pub processed_to: u64,
    /// Ids of the tasks fired in this poll (submitted transactions and reminders).
    pub fired: Vec<String>,
    /// Transactions handed to the mempool.
    pub submitted: Vec<Hash32>,
}

pub struct TimerService {
    store: WorkflowStore,
    signer: Signer,
}

impl TimerService {
    /// `key` is an account of a member organisation: it signs the timer transactions.
    pub fn new(store: WorkflowStore, key: KeyPair) -> Self {
        TimerService { store, signer: Signer::new(key).with_expiry(TX_VALIDITY_BLOCKS) }
    }

    pub fn store(&self) -> &WorkflowStore {
        &self.store
    }

    /// Stop the service, keeping its database (for the caller to reopen).
    pub fn into_store(self) -> WorkflowStore {
        self.store
    }

    /// Catch up with the chain, then fire every timer whose deadline the tip's block time has passed.
    pub async fn poll(&mut self, chain: &dyn Chain) -> Result<PollReport, WorkflowsError> {
        let head = chain.tip().await?.ok_or(WorkflowsError::NoGenesis)?;
        let mut h = self.store.last_height()?;
        while h < head.height {
            h += 1;
            match chain.block(h).await? {
                Some(block) => self.apply_block(&block)?,
                None => self.set_height(h)?,
            }
        }
        let mut report = PollReport { processed_to: h, ..PollReport::default() };
        self.fire_due(chain, head.height, head.time_ms, &mut report).await?;
        Ok(report)
    }

    /// Poll once a `period` until `stop` is set (a member process runs this as a task).
    pub async fn run(mut self, chain: std::sync::Arc<dyn Chain>, period: std::time::Duration) {
        let mut tick = tokio::time::interval(period);
        loop {
            tick.tick().await;
            match self.poll(chain.as_ref()).await {
                Ok(r) if !r.fired.is_empty() => tracing::info!(fired = ?r.fired, "workflow deadlines applied"),
                Ok(_) => {}
                Err(e) => tracing::warn!("workflow timers: {e}"),
            }
        }
    }

    fn set_height(&self, h: u64) -> Result<(), WorkflowsError> {
        let w = self.store.db.begin_write().map_err(db_err)?;
        w.open_table(META).map_err(db_err)?.insert(META_HEIGHT, h).map_err(db_err)?;
        w.commit().map_err(db_err)
    }

    /// One block, one write transaction (schedule, read model and height together).
    fn apply_block(&self, block: &CommittedBlock) -> Result<(), WorkflowsError> {
        let w = self.store.db.begin_write().map_err(db_err)?;
        for r in &block.receipts {
            settle_fired(&w, r)?;
            if r.is_success() {
                apply_receipt(&w, block, r)?;
            }
        }
        w.open_table(META).map_err(db_err)?.insert(META_HEIGHT, block.height()).map_err(db_err)?;
        w.commit().map_err(db_err)
    }

    async fn fire_due(
        &mut self,
        chain: &dyn Chain,
        height: u64,
        now_ms: u64,
        report: &mut PollReport,
    ) -> Result<(), WorkflowsError> {
        let due: Vec<Task> = self
            .store
            .tasks()?
            .into_iter()
            .filter(|t| match &t.state {
                TaskState::Scheduled => now_ms > t.due_ms,
                TaskState::Fired { expiry_height, .. } => height > *expiry_height,
                _ => false,
            })
            .collect();
        for mut task in due {
            match task.action.clone() {
                Action::Submit { call } => {
                    let attempts = match &task.state {
                        TaskState::Fired { attempts, .. } => attempts + 1,
                        _ => 1,
                    };
                    if attempts > 1 {
                        // The earlier transaction can no longer be included: its nonce is free again.
                        self.signer.resync().await;
                    }
                    let tx = self.signer.sign(chain, &call).await?;
                    // Another member's timer may have applied the deadline already (every member runs
                    // timers): ask the chain what the call would do before sending it. A race between
                    // two members is still settled by the chain, which refuses the second.
                    if let Ok(r) = chain.dry_run(&tx).await {
                        if let Some(code) = r.failure_code() {
                            tracing::info!(task = %task.id, code, "deadline already applied or no longer due");
                            self.signer.resync().await;
                            let w = self.store.db.begin_write().map_err(db_err)?;
                            task.state = TaskState::Done { height, outcome: format!("not needed: {code}") };
                            put(&w, TASKS, &task.id, &task)?;
                            w.commit().map_err(db_err)?;
                            continue;
                        }
                    }
                    let expiry_height = tx.body.expiry_height;
                    let tx_id = tx.id();
                    // Record "fired" durably first: a crash after this never fires the task again.
                    let w = self.store.db.begin_write().map_err(db_err)?;
                    task.state = TaskState::Fired { tx_id: tx_id.to_hex(), at_height: height, expiry_height, attempts };
                    put(&w, TASKS, &task.id, &task)?;
                    w.open_table(FIRED)
                        .map_err(db_err)?
                        .insert(tx_id.to_hex().as_str(), task.id.as_str())
                        .map_err(db_err)?;
                    w.commit().map_err(db_err)?;
                    if let Err(e) = chain.submit(tx).await {
                        // Recorded as fired: it is fired anew once past its expiry height.
                        self.signer.resync().await;
                        return Err(e.into());
                    }
                    report.fired.push(task.id);
                    report.submitted.push(tx_id);
                }
            }
        }
        Ok(())
    }
}

fn put<T: serde::Serialize>(
    w: &WriteTransaction,
    table: redb::TableDefinition<&str, &[u8]>,
    key: &str,
    v: &T,
) -> Result<(), WorkflowsError> {
    w.open_table(table).map_err(db_err)?.insert(key, encode(v).as_slice()).map_err(db_err)?;
    Ok(())
}

fn get<T: for<'de> serde::Deserialize<'de>>(
    w: &WriteTransaction,
    table: redb::TableDefinition<&str, &[u8]>,
    key: &str,
) -> Result<Option<T>, WorkflowsError> {
    let t = w.open_table(table).map_err(db_err)?;
    let v = t.get(key).map_err(db_err)?;
    v.map(|g| decode(key, g.value())).transpose()
}

/// A receipt for one of our fired transactions closes its task, whatever the outcome (a refusal
/// means someone else already applied the deadline, or the step moved on).
fn settle_fired(w: &WriteTransaction, r: &Receipt) -> Result<(), WorkflowsError> {
    let tx = r.tx_id.to_hex();
    let task_id = {
        let t = w.open_table(FIRED).map_err(db_err)?;
        let v = t.get(tx.as_str()).map_err(db_err)?;
        v.map(|g| g.value().to_string())
    };
    let Some(task_id) = task_id else { return Ok(()) };
    if let Some(mut task) = get::<Task>(w, TASKS, &task_id)? {
        let outcome = match &r.outcome {
            TxOutcome::Success => "success".to_string(),
            TxOutcome::Failed { code, .. } => format!("refused: {code}"),
        };
        task.state = TaskState::Done { height: r.height, outcome };
        put(w, TASKS, &task_id, &task)?;
    }
    Ok(())
}

/// Schedule a task unless a task with this id exists (deterministic ids make replays harmless).
fn schedule(w: &WriteTransaction, id: String, due_ms: u64, action: Action, height: u64) -> Result<(), WorkflowsError> {
    if get::<Task>(w, TASKS, &id)?.is_some() {
        return Ok(());
    }
    put(w, TASKS, &id.clone(), &Task { id, due_ms, action, state: TaskState::Scheduled, scheduled_height: height })
}

/// Cancel every still-scheduled task whose id starts with `prefix`, except `keep`.
fn cancel_prefix(w: &WriteTransaction, prefix: &str, keep: Option<&str>, reason: &str) -> Result<(), WorkflowsError> {
    let mut hits: Vec<Task> = Vec::new();
    {
        let t = w.open_table(TASKS).map_err(db_err)?;
        let end = format!("{prefix}\u{10FFFF}");
        for item in t.range(prefix..end.as_str()).map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let task: Task = decode(k.value(), v.value())?;
            if task.state == TaskState::Scheduled && Some(task.id.as_str()) != keep {
                hits.push(task);
            }
        }
    }
    for mut task in hits {
        task.state = TaskState::Cancelled { reason: reason.to_string() };
        put(w, TASKS, &task.id.clone(), &task)?;
    }
    Ok(())
}

fn apply_receipt(w: &WriteTransaction, block: &CommittedBlock, r: &Receipt) -> Result<(), WorkflowsError> {
    for e in &r.events {
        if e.module == workflow::MODULE {
            if let Some(id) = e.attribute("instance") {
                workflow_event(w, block, e, id)?;
            }
        } else if e.kind == "MarginCall" {
            margin_call_alert(w, block, r, e)?;
        } else if e.module == voucher::MODULE {
            voucher_event(w, block, e)?;
        }
    }
    Ok(())
}

/// A workflow event: keep the instance's deadline timer (one per step, cancelled when the step moves
/// on) and, for a pledge, whether its receipt is pledged under it.
fn workflow_event(w: &WriteTransaction, block: &CommittedBlock, e: &Event, id: &str) -> Result<(), WorkflowsError> {
    let process = e.attribute("process").unwrap_or_default();
    let state = e.attribute("state").unwrap_or_default();
    let terminal = definitions::process(process).and_then(|p| p.state(state)).is_some_and(|s| s.terminal);
    let deadline_ms = e.attribute("deadline_ms").and_then(|d| d.parse::<u64>().ok());
    if process == "pledge" {
        if let Some(receipt) = e.attribute("receipt") {
            let key = format!("{receipt}\0{id}");
            let mut t = w.open_table(PLEDGES).map_err(db_err)?;
            if matches!(state, "pledged" | "overdue") {
                t.insert(key.as_str(), state).map_err(db_err)?;
            } else {
                t.remove(key.as_str()).map_err(db_err)?;
            }
        }
    }
    let prefix = format!("expire/{id}/");
    let keep = match (deadline_ms, terminal) {
        (Some(d), false) => {
            let deadline = match (process, e.attribute("margin_call").and_then(|s| s.parse().ok())) {
                ("margin_call", Some(seq)) => DeadlineKind::MarginCall { seq },
                _ => DeadlineKind::Step,
            };
            let application_id = e.attribute("application").unwrap_or(id).to_string();
            let task_id = format!("{prefix}{state}/{d}");
            schedule(
                w,
                task_id.clone(),
                d,
                Action::Submit { call: WorkflowCall::Expire { application_id, deadline } },
                block.height(),
            )?;
            Some(task_id)
        }
        _ => None,
    };
    cancel_prefix(w, &prefix, keep.as_deref(), &format!("{id} moved to {state}"))
}

/// An IoT alert flagged a pledged receipt: open a margin call on each pledge application holding it.
fn margin_call_alert(
    w: &WriteTransaction,
    block: &CommittedBlock,
    r: &Receipt,
    e: &Event,
) -> Result<(), WorkflowsError> {
    let Some(receipt) = e.attribute("receipt") else { return Ok(()) };
    let reason = serde_json::from_str::<serde_json::Value>(&e.data)
        .ok()
        .and_then(|v| v.get("reason").and_then(|x| x.as_str()).map(str::to_string))
        .unwrap_or_else(|| "IoT alert on pledged goods".into());
    let apps: Vec<String> = {
        let t = w.open_table(PLEDGES).map_err(db_err)?;
        let (from, to) = (format!("{receipt}\0"), format!("{receipt}\u{1}"));
        let mut out = Vec::new();
        for item in t.range(from.as_str()..to.as_str()).map_err(db_err)? {
            let (k, _) = item.map_err(db_err)?;
            if let Some((_, app)) = k.value().split_once('\0') {
                out.push(app.to_string());
            }
        }
        out
    };
    for app in apps {
        schedule(
            w,
            format!("margin/{app}/{:020}-{:06}", r.height, r.index),
            0,
            Action::Submit { call: WorkflowCall::OpenMarginCall { application_id: app, reason: reason.clone() } },
            block.height(),
        )?;
    }
    Ok(())
}

/// Voucher events drive the maturity process: the overdue escalation is scheduled at issue (end of the
/// due date) and cancelled by payment.
fn voucher_event(w: &WriteTransaction, block: &CommittedBlock, e: &Event) -> Result<(), WorkflowsError> {
    let Some(root) = e.attribute("root") else { return Ok(()) };
    match e.kind.as_str() {
        "VoucherIssued" => {
            let v: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
            let Some(due) = v.get("due_date").and_then(|d| d.as_str()).and_then(Date::parse) else { return Ok(()) };
            schedule(
                w,
                format!("escalate/{root}"),
                end_of_day_ms(due),
                Action::Submit { call: WorkflowCall::EscalateOverdue { root_id: root.to_string() } },
                block.height(),
            )
        }
        "VoucherPaid" => cancel_prefix(w, &format!("escalate/{root}"), None, "paid"),
        _ => Ok(()),
    }
}

//! The timer service: consumes committed blocks in order, keeps the schedule and the read model up to
//! date, and fires due timers by **committed block time** (never the wall clock).
//!
//! Exactly once: a timer is recorded as fired (with its transaction id) in the schedule *before* the
//! transaction is handed to the mempool, so a restart never fires it again; it is fired anew only if
//! that transaction can no longer be included (past its expiry height) without a receipt. On chain,
//! `Expire`/`EscalateOverdue` succeed only while the step is still pending, so even several services
//! (one per node) firing the same deadline change the state once.

use std::collections::BTreeSet;

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
                Action::Remind { root, due_date, days_before } => {
                    let w = self.store.db.begin_write().map_err(db_err)?;
                    remind(&w, chain, &root, &due_date, days_before, height, now_ms)?;
                    task.state = TaskState::Done { height, outcome: "reminded".into() };
                    put(&w, TASKS, &task.id, &task)?;
                    w.commit().map_err(db_err)?;
                    report.fired.push(task.id);
                }
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

fn attr_all<'a>(e: &'a Event, name: &str) -> Vec<&'a str> {
    e.attributes.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
}

fn apply_receipt(w: &WriteTransaction, block: &CommittedBlock, r: &Receipt) -> Result<(), WorkflowsError> {
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for e in &r.events {
        if e.module == workflow::MODULE {
            if let Some(id) = e.attribute("instance") {
                workflow_event(w, block, e, id)?;
                touched.insert(id.to_string());
            }
        } else if e.kind == "MarginCall" {
            margin_call_alert(w, block, r, e)?;
        } else if e.module == voucher::MODULE {
            if let Some(root) = voucher_event(w, block, e)? {
                touched.insert(root);
            }
        }
    }
    // The audit trail: every event of the transaction, under each instance it touched.
    for id in &touched {
        for (n, e) in r.events.iter().enumerate() {
            let entry = AuditEntry {
                instance: id.clone(),
                height: r.height,
                tx_index: r.index,
                tx_id: r.tx_id.to_hex(),
                time_ms: block.time_ms(),
                sender: r.sender.to_hex(),
                actor_org: e.attribute("actor").map(str::to_string),
                module: e.module.clone(),
                kind: e.kind.clone(),
                action: e.attribute("action").map(str::to_string),
                state: e.attribute("state").filter(|_| e.attribute("instance") == Some(id)).map(str::to_string),
                data: e.data.clone(),
            };
            let key = format!("{id}\0{:020}{:06}{:04}", r.height, r.index, n);
            put(w, AUDIT, &key, &entry)?;
        }
    }
    Ok(())
}

/// A workflow event: update the instance's view and its deadline timer.
fn workflow_event(w: &WriteTransaction, block: &CommittedBlock, e: &Event, id: &str) -> Result<(), WorkflowsError> {
    let process = e.attribute("process").unwrap_or_default().to_string();
    let state = e.attribute("state").unwrap_or_default().to_string();
    let terminal = definitions::process(&process).and_then(|p| p.state(&state)).is_some_and(|s| s.terminal);
    let deadline_ms = e.attribute("deadline_ms").and_then(|d| d.parse::<u64>().ok());
    let previous: Option<InstanceView> = get(w, INSTANCES, id)?;
    let view = InstanceView {
        id: id.to_string(),
        process: process.clone(),
        state: state.clone(),
        terminal,
        waiting_org: e.attribute("waiting_org").map(str::to_string),
        waiting_party: e.attribute("waiting_party").map(str::to_string),
        waiting_role: e.attribute("waiting_role").map(str::to_string),
        deadline_ms,
        orgs: attr_all(e, "org").into_iter().map(str::to_string).collect(),
        voucher: e.attribute("voucher").map(str::to_string).or(previous.as_ref().and_then(|p| p.voucher.clone())),
        root: e.attribute("root").map(str::to_string),
        receipt: e.attribute("receipt").map(str::to_string),
        application: e.attribute("application").map(str::to_string),
        updated_height: block.height(),
        updated_ms: block.time_ms(),
    };
    put(w, INSTANCES, id, &view)?;
    // Tell parties who are not the one waiting, for the steps they should know of.
    match e.kind.as_str() {
        "MarginCallOpened" | "MarginCallEscalated" | "PledgeLoanOverdue" | "OverdueEscalated" => {
            for org in &view.orgs {
                if Some(org) != view.waiting_org.as_ref() {
                    let n = Notice {
                        id: format!("{}/{}", e.kind, id),
                        org: org.clone(),
                        kind: e.kind.clone(),
                        subject: id.to_string(),
                        message: format!("{} {}: {}", process, id, e.kind),
                        time_ms: block.time_ms(),
                        height: block.height(),
                    };
                    put(w, NOTICES, &format!("{org}\0{}", n.id), &n)?;
                }
            }
        }
        _ => {}
    }
    if process == "maturity" {
        return Ok(());
    }
    let prefix = format!("expire/{id}/");
    let keep = match (deadline_ms, terminal) {
        (Some(d), false) => {
            let deadline = match (process.as_str(), e.attribute("margin_call").and_then(|s| s.parse().ok())) {
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

/// An IoT alert flagged a pledged receipt: open a margin call on the pledge application at once.
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
    let apps: Vec<InstanceView> = {
        let t = w.open_table(INSTANCES).map_err(db_err)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(db_err)? {
            let (k, v) = item.map_err(db_err)?;
            let i: InstanceView = decode(k.value(), v.value())?;
            if i.process == "pledge"
                && i.receipt.as_deref() == Some(receipt)
                && matches!(i.state.as_str(), "pledged" | "overdue")
            {
                out.push(i);
            }
        }
        out
    };
    for app in apps {
        schedule(
            w,
            format!("margin/{}/{:020}-{:06}", app.id, r.height, r.index),
            0,
            Action::Submit {
                call: WorkflowCall::OpenMarginCall { application_id: app.id.clone(), reason: reason.clone() },
            },
            block.height(),
        )?;
    }
    Ok(())
}

/// Voucher events drive the maturity process: reminders and the overdue escalation are scheduled at
/// issue and cancelled by payment. Returns the root whose maturity trail the event belongs to.
fn voucher_event(w: &WriteTransaction, block: &CommittedBlock, e: &Event) -> Result<Option<String>, WorkflowsError> {
    let Some(root) = e.attribute("root").map(str::to_string) else { return Ok(None) };
    match e.kind.as_str() {
        "VoucherIssued" => {
            let v: serde_json::Value = serde_json::from_str(&e.data).unwrap_or_default();
            let due = v.get("due_date").and_then(|d| d.as_str()).and_then(Date::parse);
            let Some(due) = due else { return Ok(None) };
            let view = InstanceView {
                id: root.clone(),
                process: "maturity".into(),
                state: "outstanding".into(),
                terminal: false,
                waiting_org: None,
                waiting_party: None,
                waiting_role: None,
                deadline_ms: Some(end_of_day_ms(due)),
                orgs: attr_all(e, "org").into_iter().map(str::to_string).collect(),
                voucher: Some(root.clone()),
                root: Some(root.clone()),
                receipt: None,
                application: None,
                updated_height: block.height(),
                updated_ms: block.time_ms(),
            };
            put(w, INSTANCES, &root, &view)?;
            for &days in definitions::MATURITY.reminders_days_before {
                let at = end_of_day_ms(due.add_days(-(days as i32) - 1));
                schedule(
                    w,
                    format!("remind/{root}/{days:03}"),
                    at,
                    Action::Remind { root: root.clone(), due_date: due.to_string(), days_before: days },
                    block.height(),
                )?;
            }
            schedule(
                w,
                format!("escalate/{root}"),
                end_of_day_ms(due),
                Action::Submit { call: WorkflowCall::EscalateOverdue { root_id: root.clone() } },
                block.height(),
            )?;
            Ok(Some(root))
        }
        "VoucherPaid" => {
            cancel_prefix(w, &format!("remind/{root}/"), None, "paid")?;
            cancel_prefix(w, &format!("escalate/{root}"), None, "paid")?;
            if let Some(mut view) = get::<InstanceView>(w, INSTANCES, &root)? {
                view.state = "cleared".into();
                view.terminal = true;
                view.waiting_org = None;
                view.waiting_party = None;
                view.waiting_role = None;
                view.deadline_ms = None;
                view.updated_height = block.height();
                view.updated_ms = block.time_ms();
                put(w, INSTANCES, &root, &view)?;
            }
            Ok(Some(root))
        }
        _ => Ok(get::<InstanceView>(w, INSTANCES, &root)?.map(|_| root)),
    }
}

/// A maturity reminder: the obligor's inbox shows the tree until it is paid; holders get a notice.
fn remind(
    w: &WriteTransaction,
    chain: &dyn Chain,
    root: &str,
    due_date: &str,
    days_before: u32,
    height: u64,
    now_ms: u64,
) -> Result<(), WorkflowsError> {
    let state = chain.state(None)?;
    let state = state.as_ref();
    let tree = voucher::load_tree(state, root).map_err(|e| WorkflowsError::State(e.to_string()))?;
    let Some(tree) = tree else { return Ok(()) };
    if tree.payment.is_some() {
        return Ok(());
    }
    let mut holders = BTreeSet::new();
    for v in voucher::lineage(state, root).map_err(|e| WorkflowsError::State(e.to_string()))? {
        if v.is_live_leaf() {
            holders.insert(v.holder);
        }
    }
    if let Some(mut view) = get::<InstanceView>(w, INSTANCES, root)? {
        view.waiting_org = Some(tree.issuer.clone());
        view.waiting_party = Some("obligor".into());
        view.waiting_role = Some("core_enterprise".into());
        view.updated_ms = now_ms;
        put(w, INSTANCES, root, &view)?;
    }
    for org in std::iter::once(tree.issuer.clone()).chain(holders) {
        let n = Notice {
            id: format!("remind/{root}/{days_before:03}"),
            org: org.clone(),
            kind: "MaturityReminder".into(),
            subject: root.to_string(),
            message: format!("voucher {root} is due on {due_date} ({days_before} day(s) left)"),
            time_ms: now_ms,
            height,
        };
        put(w, NOTICES, &format!("{org}\0{}", n.id), &n)?;
    }
    Ok(())
}

//! Read-model rows for the multi-party workflows and for governance, derived from one block's events
//! (and, for proposals, the state at that height). The indexer writes them in the same SQL transaction
//! as the block and its cursor, so they share its exactly-once guarantee.
//!
//! Every `workflow` event names its instance, process, new state, the call and acting organisation,
//! whom the instance now waits for and until when, and every party (`org` attributes) — enough to build
//! "waiting for me" and the audit trail without the off-chain timer service's store.

use std::collections::{BTreeMap, BTreeSet};

use scf_domain::governance as dgov;
use scf_domain::workflow::{self as dwf, definitions};
use scf_ledger::receipt::Receipt;
use scf_ledger::state::StateRead;
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue::Set, ColumnTrait, DatabaseTransaction, EntityTrait, QueryFilter};

use crate::schema::input::to_i64;

use crate::db::entities::{notice, proposal, workflow_audit, workflow_instance, workflow_party};
use crate::indexer::{event_id, IndexError};

/// What one block adds to the workflow and governance tables.
#[derive(Default)]
pub struct WorkflowRows {
    instances: BTreeMap<String, workflow_instance::Model>,
    parties: BTreeSet<(String, String)>,
    /// By (instance, event id): an event is in the trail of every instance its transaction touched.
    audit: BTreeMap<(String, i64), workflow_audit::Model>,
    proposals: Vec<proposal::Model>,
    notices: Vec<notice::Model>,
    /// Voucher trees paid in this block: their maturity instance (if escalated) is cleared.
    paid_roots: BTreeSet<String>,
}

/// Steps every party should hear of, not only the one the instance now waits for.
const ANNOUNCED: &[&str] = &["MarginCallOpened", "MarginCallEscalated", "PledgeLoanOverdue", "OverdueEscalated"];

fn attr<'a>(attrs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn json_str(v: &serde_json::Value, name: &str) -> Option<String> {
    v.get(name).and_then(|x| x.as_str()).map(str::to_string)
}

fn json_i64(v: &serde_json::Value, name: &str) -> i64 {
    v.get(name).and_then(|x| x.as_u64()).map(|n| n.min(i64::MAX as u64) as i64).unwrap_or(0)
}

/// The instance's terminal flag, from the process definitions.
pub fn is_terminal(process: &str, state: &str) -> bool {
    definitions::process(process).and_then(|p| p.state(state)).is_some_and(|s| s.terminal)
}

/// Status name of a proposal as stored.
pub fn proposal_status(s: &dgov::ProposalStatus) -> &'static str {
    match s {
        dgov::ProposalStatus::Open => "open",
        dgov::ProposalStatus::Executed { .. } => "executed",
        dgov::ProposalStatus::Failed { .. } => "failed",
        dgov::ProposalStatus::Rejected { .. } => "rejected",
        dgov::ProposalStatus::Expired { .. } => "expired",
    }
}

/// Kind name of a proposal as stored.
pub fn proposal_kind(k: &dgov::ProposalKind) -> &'static str {
    match k {
        dgov::ProposalKind::AddOrg { .. } => "add_org",
        dgov::ProposalKind::RemoveOrg { .. } => "remove_org",
        dgov::ProposalKind::SetMember { .. } => "set_member",
        dgov::ProposalKind::AddValidator { .. } => "add_validator",
        dgov::ProposalKind::RemoveValidator { .. } => "remove_validator",
        dgov::ProposalKind::SetParam { .. } => "set_param",
        dgov::ProposalKind::RotateOrgKey { .. } => "rotate_org_key",
        dgov::ProposalKind::RotateValidatorKey { .. } => "rotate_validator_key",
        dgov::ProposalKind::AddOrgCa { .. } => "add_org_ca",
        dgov::ProposalKind::RemoveOrgCa { .. } => "remove_org_ca",
        dgov::ProposalKind::RevokeCertificate { .. } => "revoke_certificate",
    }
}

/// Rows for block `height` (time `time_ms`) from its receipts and the state after it.
pub fn derive(
    state: &dyn StateRead,
    height: u64,
    time_ms: u64,
    receipts: &[Receipt],
) -> Result<WorkflowRows, IndexError> {
    let mut rows = WorkflowRows::default();
    let mut proposal_ids = BTreeSet::new();
    for r in receipts {
        // Instances a workflow event of this transaction touched: (id, process, subject).
        let mut touched: Vec<(String, String, String)> = Vec::new();
        for (i, e) in r.events.iter().enumerate() {
            if e.module == dgov::MODULE {
                if let Some(p) = attr(&e.attributes, "proposal").and_then(|p| p.parse::<u64>().ok()) {
                    proposal_ids.insert(p);
                }
                continue;
            }
            if e.module == scf_domain::voucher::MODULE {
                // A voucher tree's events are the audit trail of its maturity process.
                if let Some(root) = attr(&e.attributes, "root") {
                    let row = other_event_row(root, definitions::MATURITY.id, root, r, i, e, height, time_ms);
                    rows.audit.insert((root.to_string(), row.event_id), row);
                    if e.kind == "VoucherPaid" {
                        rows.paid_roots.insert(root.to_string());
                    }
                }
                continue;
            }
            if e.module != dwf::MODULE {
                continue;
            }
            let a = &e.attributes;
            let (Some(id), Some(process), Some(st)) = (attr(a, "instance"), attr(a, "process"), attr(a, "state"))
            else {
                continue;
            };
            let data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null);
            let subject = attr(a, "voucher")
                .or(attr(a, "receipt"))
                .or(attr(a, "root"))
                .map(str::to_string)
                .unwrap_or_else(|| id.to_string());
            let actor = attr(a, "actor").unwrap_or_default().to_string();
            touched.push((id.to_string(), process.to_string(), subject.clone()));
            let eid = event_id(height, r.index, i as u32);
            rows.audit.insert(
                (id.to_string(), eid),
                workflow_audit::Model {
                    event_id: eid,
                    instance_id: id.to_string(),
                    process: process.to_string(),
                    subject: subject.clone(),
                    kind: e.kind.clone(),
                    action: attr(a, "action").unwrap_or_default().to_string(),
                    actor_org: actor.clone(),
                    signer: r.sender.to_hex(),
                    state: st.to_string(),
                    tx_id: r.tx_id.to_hex(),
                    height: height as i64,
                    time_ms: time_ms.min(i64::MAX as u64) as i64,
                },
            );
            for (k, v) in a {
                if k == "org" {
                    rows.parties.insert((id.to_string(), v.clone()));
                    if ANNOUNCED.contains(&e.kind.as_str()) && attr(a, "waiting_org") != Some(v.as_str()) {
                        rows.notices.push(notice::Model {
                            org_id: v.clone(),
                            id: format!("{}/{id}", e.kind),
                            kind: e.kind.clone(),
                            subject: id.to_string(),
                            message: format!("{process} {id}: {}", e.kind),
                            time_ms: to_i64(time_ms),
                            height: to_i64(height),
                        });
                    }
                }
            }
            // Who is who: from the instance body the event carries.
            let (applicant, funder, warehouse, obligor, amount, currency, parent) = match process {
                "financing" => (
                    json_str(&data, "supplier").unwrap_or_default(),
                    json_str(&data, "funder"),
                    None,
                    json_str(&data, "obligor"),
                    json_i64(&data, "amount"),
                    json_str(&data, "currency").unwrap_or_default(),
                    None,
                ),
                "pledge" => (
                    json_str(&data, "depositor").unwrap_or_default(),
                    json_str(&data, "funder"),
                    json_str(&data, "warehouse"),
                    None,
                    json_i64(&data, "requested_amount"),
                    json_str(&data, "currency").unwrap_or_default(),
                    None,
                ),
                "margin_call" => {
                    let parent = attr(a, "application").map(str::to_string);
                    // The pledge application's parties, from the row this block or an earlier one wrote.
                    let app = parent.as_ref().and_then(|p| rows.instances.get(p)).cloned();
                    let from_state = match (&app, &parent) {
                        (None, Some(p)) => match dwf::load_instance(state, p).map_err(|e| state_err(height, e))? {
                            Some(dwf::Instance::Pledge(pa)) => Some((
                                pa.depositor,
                                pa.funder,
                                pa.warehouse,
                                pa.requested_amount.unwrap_or(0),
                                pa.currency,
                            )),
                            _ => None,
                        },
                        _ => None,
                    };
                    match (app, from_state) {
                        (Some(p), _) => (p.applicant, p.funder, p.warehouse, None, p.amount, p.currency, parent),
                        (None, Some((d, f, w, amt, cur))) => {
                            (d, Some(f), Some(w), None, amt.min(i64::MAX as u64) as i64, cur, parent)
                        }
                        (None, None) => (String::new(), None, None, None, 0, String::new(), parent),
                    }
                }
                _ => (
                    json_str(&data, "obligor").unwrap_or_default(),
                    None,
                    None,
                    json_str(&data, "obligor"),
                    json_i64(&data, "outstanding"),
                    "CNY".to_string(),
                    None,
                ),
            };
            let created_height = rows.instances.get(id).map(|p| p.created_height).unwrap_or(height as i64);
            rows.instances.insert(
                id.to_string(),
                workflow_instance::Model {
                    id: id.to_string(),
                    process: process.to_string(),
                    state: st.to_string(),
                    terminal: is_terminal(process, st),
                    subject,
                    parent_id: parent,
                    applicant,
                    funder,
                    warehouse,
                    obligor,
                    amount,
                    currency,
                    waiting_org: attr(a, "waiting_org").map(str::to_string),
                    waiting_party: attr(a, "waiting_party").map(str::to_string),
                    waiting_role: attr(a, "waiting_role").map(str::to_string),
                    deadline_ms: attr(a, "deadline_ms").and_then(|d| d.parse::<i64>().ok()),
                    created_height,
                    updated_height: height as i64,
                    updated_ms: time_ms.min(i64::MAX as u64) as i64,
                    data: e.data.clone(),
                },
            );
        }
        // Every other event of the transaction belongs to the trail of each instance it touched.
        for (id, process, subject) in &touched {
            for (i, e) in r.events.iter().enumerate().filter(|(_, e)| e.module != dwf::MODULE) {
                let row = other_event_row(id, process, subject, r, i, e, height, time_ms);
                rows.audit.entry((id.clone(), row.event_id)).or_insert(row);
            }
        }
    }
    for id in proposal_ids {
        let Some(p) = dgov::load_proposal(state, id).map_err(|e| state_err(height, e))? else { continue };
        rows.proposals.push(proposal::Model {
            id: id.min(i64::MAX as u64) as i64,
            proposer: p.proposer.clone(),
            title: p.title.clone(),
            kind: proposal_kind(&p.kind).to_string(),
            status: proposal_status(&p.status).to_string(),
            created_height: p.created_height.min(i64::MAX as u64) as i64,
            updated_height: height as i64,
            data: serde_json::to_string(&p).unwrap_or_else(|_| "{}".into()),
        });
    }
    Ok(rows)
}

/// An audit row for an event that is not the instance's own step (a voucher's, a receipt's).
#[allow(clippy::too_many_arguments)]
fn other_event_row(
    instance: &str,
    process: &str,
    subject: &str,
    r: &Receipt,
    i: usize,
    e: &scf_ledger::module::Event,
    height: u64,
    time_ms: u64,
) -> workflow_audit::Model {
    workflow_audit::Model {
        event_id: event_id(height, r.index, i as u32),
        instance_id: instance.to_string(),
        process: process.to_string(),
        subject: subject.to_string(),
        kind: e.kind.clone(),
        action: String::new(),
        actor_org: attr(&e.attributes, "actor").unwrap_or_default().to_string(),
        signer: r.sender.to_hex(),
        state: String::new(),
        tx_id: r.tx_id.to_hex(),
        height: to_i64(height),
        time_ms: to_i64(time_ms),
    }
}

fn state_err(height: u64, e: impl std::fmt::Display) -> IndexError {
    IndexError::State { height, reason: e.to_string() }
}

/// Write the rows inside the block's SQL transaction. Instances keep their first `created_height`.
pub async fn write(txn: &DatabaseTransaction, rows: WorkflowRows) -> Result<(), sea_orm::DbErr> {
    for (id, mut row) in rows.instances {
        if let Some(old) = workflow_instance::Entity::find_by_id(id.clone()).one(txn).await? {
            row.created_height = old.created_height.min(row.created_height);
            workflow_instance::Entity::delete_by_id(id).exec(txn).await?;
        }
        workflow_instance::Entity::insert(workflow_instance::ActiveModel::from(row)).exec(txn).await?;
    }
    for (instance_id, org_id) in rows.parties {
        let exists =
            workflow_party::Entity::find_by_id((instance_id.clone(), org_id.clone())).one(txn).await?.is_some();
        if !exists {
            workflow_party::Entity::insert(workflow_party::ActiveModel {
                instance_id: Set(instance_id),
                org_id: Set(org_id),
            })
            .exec(txn)
            .await?;
        }
    }
    let audit: Vec<workflow_audit::Model> = rows.audit.into_values().collect();
    for chunk in audit.chunks(200) {
        let models: Vec<workflow_audit::ActiveModel> =
            chunk.iter().cloned().map(workflow_audit::ActiveModel::from).collect();
        if !models.is_empty() {
            workflow_audit::Entity::insert_many(models).exec(txn).await?;
        }
    }
    for root in rows.paid_roots {
        let cleared = "cleared";
        workflow_instance::Entity::update_many()
            .col_expr(workflow_instance::Column::State, Expr::value(cleared))
            .col_expr(workflow_instance::Column::Terminal, Expr::value(is_terminal(definitions::MATURITY.id, cleared)))
            .col_expr(workflow_instance::Column::WaitingOrg, Expr::value(Option::<String>::None))
            .col_expr(workflow_instance::Column::WaitingParty, Expr::value(Option::<String>::None))
            .col_expr(workflow_instance::Column::WaitingRole, Expr::value(Option::<String>::None))
            .col_expr(workflow_instance::Column::DeadlineMs, Expr::value(Option::<i64>::None))
            .filter(workflow_instance::Column::Id.eq(root))
            .filter(workflow_instance::Column::Process.eq(definitions::MATURITY.id))
            .exec(txn)
            .await?;
    }
    for p in rows.proposals {
        proposal::Entity::delete_by_id(p.id).exec(txn).await?;
        proposal::Entity::insert(proposal::ActiveModel::from(p)).exec(txn).await?;
    }
    write_notices(txn, rows.notices).await
}

/// Record notices; one already given (same organisation and id) stays as first given.
pub async fn write_notices(txn: &DatabaseTransaction, notices: Vec<notice::Model>) -> Result<(), sea_orm::DbErr> {
    for chunk in notices.chunks(200) {
        let models: Vec<notice::ActiveModel> = chunk.iter().cloned().map(notice::ActiveModel::from).collect();
        notice::Entity::insert_many(models)
            .on_conflict(OnConflict::columns([notice::Column::OrgId, notice::Column::Id]).do_nothing().to_owned())
            .exec_without_returning(txn)
            .await?;
    }
    Ok(())
}

/// Tables this module fills, for a rebuild.
pub async fn clear<C: sea_orm::ConnectionTrait>(txn: &C) -> Result<(), sea_orm::DbErr> {
    workflow_instance::Entity::delete_many().exec(txn).await?;
    workflow_party::Entity::delete_many().exec(txn).await?;
    workflow_audit::Entity::delete_many().exec(txn).await?;
    proposal::Entity::delete_many().exec(txn).await?;
    notice::Entity::delete_many().exec(txn).await?;
    Ok(())
}

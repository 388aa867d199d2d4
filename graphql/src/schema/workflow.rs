//! Multi-party workflows (voucher financing, receipt pledge with margin calls, maturity): "waiting for
//! me", audit trails, financing applications, and one mutation per `WorkflowCall`.
//!
//! Everything here reads the read model the indexer builds from `workflow` events (and the voucher
//! table for maturity), so it needs neither the timer service nor its store. Who may make a step is
//! decided by the process table (`scf_domain::workflow::definitions`): the API resolves the step's party
//! against the instance before signing anything, and the chain checks again.

use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, SimpleObject};
use scf_domain::date::Date;
use scf_domain::workflow::definitions::{self, Party, ProcessDef};
use scf_domain::workflow::{self as dwf, DeadlineKind, Document, IotSnapshot, IotStatus, WorkflowCall};
use sea_orm::sea_query::Query as SqlQuery;
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::access::{require_operator, require_org_role};
use super::input::*;
use super::types::TxResult;
use super::{access, api, require_user};
use crate::auth::{AuthUser, UserRole};
use crate::db::entities::{notice, voucher, workflow_audit, workflow_instance, workflow_party};
use crate::error::{ApiError, ApiResult};
use crate::service::Api;

const MAX_LIST: u64 = 500;

// ---------------------------------------------------------------------------------------------------
// Output types.

/// One process instance as of the last indexed block.
#[derive(SimpleObject, Clone)]
#[graphql(name = "WorkflowInstance", complex)]
pub struct WorkflowInstanceNode {
    pub id: String,
    /// `financing`, `pledge`, `margin_call`, `maturity`.
    pub process: String,
    pub state: String,
    pub terminal: bool,
    /// The voucher (financing), receipt (pledge, margin call) or root voucher (maturity).
    pub subject: String,
    /// The pledge application of a margin call.
    pub parent_id: Option<String>,
    /// Supplier (financing), depositor (pledge) or obligor (maturity).
    pub applicant: String,
    pub funder: Option<String>,
    pub warehouse: Option<String>,
    pub obligor: Option<String>,
    /// The amount column of the read model (0 for a sealed pledge request); see `amount`.
    #[graphql(skip)]
    pub row_amount: i64,
    pub currency: String,
    pub waiting_org: Option<String>,
    pub waiting_party: Option<String>,
    pub waiting_role: Option<String>,
    /// Block time (ms) after which the current step expires.
    pub deadline_ms: Option<i64>,
    pub created_height: i64,
    pub updated_height: i64,
    pub updated_ms: i64,
    /// The instance as its last event described it (JSON); see `data`.
    #[graphql(skip)]
    pub raw_data: String,
}

impl From<workflow_instance::Model> for WorkflowInstanceNode {
    fn from(m: workflow_instance::Model) -> Self {
        WorkflowInstanceNode {
            id: m.id,
            process: m.process,
            state: m.state,
            terminal: m.terminal,
            subject: m.subject,
            parent_id: m.parent_id,
            applicant: m.applicant,
            funder: m.funder,
            warehouse: m.warehouse,
            obligor: m.obligor,
            row_amount: m.amount,
            currency: m.currency,
            waiting_org: m.waiting_org,
            waiting_party: m.waiting_party,
            waiting_role: m.waiting_role,
            deadline_ms: m.deadline_ms,
            created_height: m.created_height,
            updated_height: m.updated_height,
            updated_ms: m.updated_ms,
            raw_data: m.data,
        }
    }
}

#[ComplexObject]
impl WorkflowInstanceNode {
    /// The instance as its last event described it (JSON), with the sealed figures (rates, amounts)
    /// the caller's organisation can open filled in.
    async fn data(&self, ctx: &Context<'_>) -> async_graphql::Result<String> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        Ok(crate::terms::open_instance_json(&self.process, &self.raw_data, &user.org_id, &api.org_keys))
    }

    /// Fen: the voucher's face amount (financing), the requested loan (pledge; `null` when sealed and
    /// not openable by the caller's organisation), the outstanding amount (maturity).
    async fn amount(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<i64>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        Ok(opened_amount(&self.process, self.row_amount, &self.raw_data, &user.org_id, &api.org_keys))
    }

    /// Calls the process table allows from the current state (with the party that makes each).
    async fn next_steps(&self) -> Vec<StepNode> {
        definitions::process(&self.process).map(|p| steps_from(p, &self.state)).unwrap_or_default()
    }

    /// Who did what, when, in which transaction — oldest first. The instance's own steps; with
    /// `allEvents`, also every other event of their transactions (the voucher financed, the receipt
    /// pledged) and, for a maturity instance, every event of its voucher tree.
    async fn audit(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] all_events: bool,
    ) -> async_graphql::Result<Vec<AuditEntryNode>> {
        let api = api(ctx)?;
        let rows = steps_only(workflow_audit::Entity::find(), all_events)
            .filter(workflow_audit::Column::InstanceId.eq(self.id.clone()))
            .order_by_asc(workflow_audit::Column::EventId)
            .limit(MAX_LIST)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(AuditEntryNode::from).collect())
    }
}

/// The amount of a read-model row as organisation `org` reads it: a sealed pledge request is opened
/// if it can be (`None` otherwise); every other amount is in clear.
fn opened_amount(process: &str, row_amount: i64, data: &str, org: &str, keys: &crate::sealing::OrgKeys) -> Option<i64> {
    if process != "pledge" {
        return Some(row_amount);
    }
    match serde_json::from_str::<dwf::PledgeApplication>(data) {
        Ok(mut a) if a.sealed_requested_amount.is_some() => {
            crate::terms::open_pledge(&mut a, org, keys);
            a.requested_amount.map(to_i64)
        }
        _ => Some(row_amount),
    }
}

/// Only the instances' own steps (rows with the call that made them), unless `all` events are asked for.
fn steps_only(q: sea_orm::Select<workflow_audit::Entity>, all: bool) -> sea_orm::Select<workflow_audit::Entity> {
    if all {
        q
    } else {
        q.filter(workflow_audit::Column::Action.ne(""))
    }
}

/// A call allowed from a state.
#[derive(SimpleObject, Clone)]
pub struct StepNode {
    /// The `WorkflowCall` (or voucher call, for maturity) name, e.g. `ApproveFinancing`.
    pub call: String,
    /// Who makes it (`supplier`, `funder`, `any member`, ...).
    pub party: String,
    /// State after the call.
    pub to: String,
    pub effect: String,
}

fn steps_from(p: &ProcessDef, state: &str) -> Vec<StepNode> {
    p.transitions
        .iter()
        .filter(|t| t.from == state)
        .map(|t| StepNode {
            call: t.call.to_string(),
            party: t.actor.as_str().to_string(),
            to: t.to.to_string(),
            effect: t.effect.to_string(),
        })
        .collect()
}

/// One line of an audit trail.
#[derive(SimpleObject, Clone)]
#[graphql(name = "WorkflowAuditEntry")]
pub struct AuditEntryNode {
    pub event_id: String,
    pub instance_id: String,
    pub process: String,
    pub subject: String,
    /// Event kind, e.g. `FinancingApproved`.
    pub kind: String,
    /// The call, e.g. `ApproveFinancing` or `Expire`.
    pub action: String,
    /// Organisation that acted.
    pub actor_org: String,
    /// Account address that signed.
    pub signer: String,
    /// State after the step.
    pub state: String,
    pub tx_id: String,
    pub height: i64,
    /// Block time, ms since the epoch.
    pub time_ms: i64,
}

impl From<workflow_audit::Model> for AuditEntryNode {
    fn from(m: workflow_audit::Model) -> Self {
        AuditEntryNode {
            event_id: m.event_id.to_string(),
            instance_id: m.instance_id,
            process: m.process,
            subject: m.subject,
            kind: m.kind,
            action: m.action,
            actor_org: m.actor_org,
            signer: m.signer,
            state: m.state,
            tx_id: m.tx_id,
            height: m.height,
            time_ms: m.time_ms,
        }
    }
}

/// Something waiting for the caller's organisation.
#[derive(SimpleObject, Clone)]
pub struct TaskNode {
    pub instance_id: String,
    pub process: String,
    pub process_title: String,
    pub state: String,
    pub subject: String,
    /// The party the caller's organisation acts as.
    pub party: String,
    /// Calls the caller's organisation may make now.
    pub actions: Vec<String>,
    pub deadline_ms: Option<i64>,
    /// The deadline passed (at the chain's current block time).
    pub overdue: bool,
    /// The caller may act (viewers only see).
    pub can_act: bool,
    /// Fen; `null` for a sealed pledge request the caller's organisation cannot open here.
    pub amount: Option<i64>,
    pub currency: String,
    /// The instance (null for a voucher maturity that has no workflow event yet).
    pub instance: Option<WorkflowInstanceNode>,
}

#[derive(SimpleObject, Clone)]
pub struct DocumentNode {
    pub name: String,
    pub sm3: String,
}

#[derive(SimpleObject, Clone)]
pub struct InfoExchangeNode {
    pub question: String,
    pub asked_ms: i64,
    pub answer: Option<String>,
    pub documents: Vec<DocumentNode>,
    pub answered_ms: Option<i64>,
}

#[derive(SimpleObject, Clone)]
pub struct InvoiceCheckLineNode {
    pub number: String,
    /// `authentic`, `not_found` or `reversed`.
    pub result: String,
    pub available: i64,
}

#[derive(SimpleObject, Clone)]
pub struct InvoiceCheckNode {
    pub passed: bool,
    pub failure: Option<String>,
    pub lines: Vec<InvoiceCheckLineNode>,
    pub checked_ms: i64,
}

/// The figures are `null` when they are sealed and the caller's organisation cannot open them here.
#[derive(SimpleObject, Clone)]
pub struct FinancingApprovalNode {
    pub discount_rate_bp: Option<i32>,
    pub agreement_ref: String,
    pub discount_interest: Option<i64>,
    pub net_amount: Option<i64>,
    pub registration_no: String,
    pub date: String,
}

#[derive(SimpleObject, Clone)]
pub struct DisbursementNode {
    pub payment_ref: String,
    /// `null` when sealed and not openable here.
    pub amount: Option<i64>,
    pub date: String,
}

/// A supplier's application to a funder for financing one voucher.
#[derive(SimpleObject, Clone)]
#[graphql(name = "FinancingApplication")]
pub struct FinancingApplicationNode {
    pub id: String,
    pub voucher_id: String,
    pub root_id: String,
    pub supplier: String,
    pub funder: String,
    pub obligor: String,
    pub amount: i64,
    pub currency: String,
    pub due_date: String,
    /// `null` when sealed and not openable here.
    pub requested_rate_bp: Option<i32>,
    /// How the caller read the sealed figures (rates, interest, net, disbursement): `clear` (none is
    /// sealed), `opened`, `no_key` (this API does not hold the organisation's key), `not_a_recipient`
    /// or `cannot_open`.
    pub terms_access: String,
    /// Set when opened figures break a rule the chain cannot check on sealed figures (approved rate
    /// above the requested one, interest or net not by ACT/360, disbursement not the net).
    pub terms_breach: Option<String>,
    pub state: String,
    pub deadline_ms: Option<i64>,
    pub documents: Vec<DocumentNode>,
    pub info: Vec<InfoExchangeNode>,
    pub invoices: Vec<String>,
    pub invoice_check: Option<InvoiceCheckNode>,
    pub approval: Option<FinancingApprovalNode>,
    pub disbursement: Option<DisbursementNode>,
    pub received_ms: Option<i64>,
    pub rejection: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

fn docs(d: &[Document]) -> Vec<DocumentNode> {
    d.iter().map(|d| DocumentNode { name: d.name.clone(), sm3: d.sm3.clone() }).collect()
}

impl FinancingApplicationNode {
    /// The node of `a` as organisation `org` reads it: sealed figures opened where it can.
    pub fn read(mut a: dwf::FinancingApplication, org: &str, keys: &crate::sealing::OrgKeys) -> Self {
        let (access, breach) = crate::terms::open_financing(&mut a, org, keys);
        FinancingApplicationNode {
            terms_access: access.as_str().to_string(),
            terms_breach: breach,
            documents: docs(&a.documents),
            info: a
                .info
                .iter()
                .map(|x| InfoExchangeNode {
                    question: x.question.clone(),
                    asked_ms: to_i64(x.asked_ms),
                    answer: x.answer.clone(),
                    documents: docs(&x.documents),
                    answered_ms: x.answered_ms.map(to_i64),
                })
                .collect(),
            invoice_check: a.invoice_check.as_ref().map(|c| InvoiceCheckNode {
                passed: c.passed,
                failure: c.failure.clone(),
                lines: c
                    .lines
                    .iter()
                    .map(|l| InvoiceCheckLineNode {
                        number: l.number.clone(),
                        result: l.result.clone(),
                        available: to_i64(l.available),
                    })
                    .collect(),
                checked_ms: to_i64(c.checked_ms),
            }),
            approval: a.approval.as_ref().map(|x| FinancingApprovalNode {
                discount_rate_bp: x.discount_rate_bp.map(|r| r.min(i32::MAX as u32) as i32),
                agreement_ref: x.agreement_ref.clone(),
                discount_interest: x.discount_interest.map(to_i64),
                net_amount: x.net_amount.map(to_i64),
                registration_no: x.registration_no.clone(),
                date: x.date.to_string(),
            }),
            disbursement: a.disbursement.as_ref().map(|x| DisbursementNode {
                payment_ref: x.payment_ref.clone(),
                amount: x.amount.map(to_i64),
                date: x.date.to_string(),
            }),
            id: a.id,
            voucher_id: a.voucher_id,
            root_id: a.root_id,
            supplier: a.supplier,
            funder: a.funder,
            obligor: a.obligor,
            amount: to_i64(a.amount),
            currency: a.currency,
            due_date: a.due_date.to_string(),
            requested_rate_bp: a.requested_rate_bp.map(|r| r.min(i32::MAX as u32) as i32),
            state: a.state,
            deadline_ms: a.deadline_ms.map(to_i64),
            invoices: a.invoices,
            received_ms: a.received_ms.map(to_i64),
            rejection: a.rejection,
            created_ms: to_i64(a.created_ms),
            updated_ms: to_i64(a.updated_ms),
        }
    }
}

/// A party to a registration filing as it stood at financing time.
#[derive(SimpleObject, Clone)]
pub struct RegistrationPartyNode {
    pub org_id: String,
    /// 名称.
    pub name: String,
    /// 证件类型.
    pub id_type: String,
    /// 证件号码 (统一社会信用代码).
    pub id_number: String,
}

impl From<&scf_domain::registration::RegistrationParty> for RegistrationPartyNode {
    fn from(p: &scf_domain::registration::RegistrationParty) -> Self {
        RegistrationPartyNode {
            org_id: p.org_id.clone(),
            name: p.name.clone(),
            id_type: p.id_type.clone(),
            id_number: p.id_number.clone(),
        }
    }
}

#[derive(SimpleObject, Clone)]
pub struct RegistrationInvoiceNode {
    pub number: String,
    /// Fen of the invoice pledged as trade background.
    pub amount: i64,
}

/// The registration record of one financing (see `financingRegistration`).
#[derive(SimpleObject, Clone)]
#[graphql(name = "FinancingRegistration")]
pub struct FinancingRegistrationNode {
    pub registration_no: String,
    /// 登记种类.
    pub registration_type: String,
    /// 登记期限, months.
    pub term_months: i32,
    /// 出让人.
    pub transferor: RegistrationPartyNode,
    /// 受让人.
    pub transferee: RegistrationPartyNode,
    /// 债务人.
    pub obligor: RegistrationPartyNode,
    /// 主合同号码.
    pub main_contract_no: String,
    /// 主合同金额, fen; `null` when sealed and not openable by the caller's organisation here.
    pub main_contract_amount: Option<i64>,
    /// 转让财产价值, fen.
    pub property_value: i64,
    pub currency: String,
    /// 财产描述.
    pub property_description: String,
    pub voucher_id: String,
    pub root_voucher_id: String,
    pub trade_contract_ref: String,
    pub invoices: Vec<RegistrationInvoiceNode>,
    pub financing_date: String,
    pub due_date: String,
    pub discount_rate_bp: Option<i32>,
    pub day_count: String,
    pub days: i32,
    pub discount_interest: Option<i64>,
    pub height: i64,
    pub tx_id: String,
    /// `clear`, `opened`, `no_key`, `not_a_recipient` or `cannot_open` (see FinancingApplication).
    pub terms_access: String,
    /// SM3 commitment of the sealed figures (hex), so whoever discloses them can prove what was sealed.
    pub terms_commitment: Option<String>,
    /// The whole record as JSON, for a filing tool or the compliance archive: the fields above with
    /// snake_case names, figures as this caller reads them, the commitment instead of the ciphertext.
    pub json: String,
}

impl FinancingRegistrationNode {
    fn new(r: scf_domain::registration::FinancingRegistration, access: &str) -> ApiResult<Self> {
        let commitment = r.sealed_terms.as_ref().map(|s| s.commitment.to_hex());
        let mut json = serde_json::to_value(&r).map_err(|e| ApiError::internal("registration json", e))?;
        if let Some(o) = json.as_object_mut() {
            o.remove("sealed_terms");
            o.insert("terms_commitment".into(), serde_json::json!(commitment));
        }
        let json = serde_json::to_string_pretty(&json).map_err(|e| ApiError::internal("registration json", e))?;
        Ok(FinancingRegistrationNode {
            registration_no: r.registration_no,
            registration_type: r.registration_type,
            term_months: i32::try_from(r.term_months).unwrap_or(i32::MAX),
            transferor: (&r.transferor).into(),
            transferee: (&r.transferee).into(),
            obligor: (&r.obligor).into(),
            main_contract_no: r.main_contract_no,
            main_contract_amount: r.main_contract_amount.map(to_i64),
            property_value: to_i64(r.property_value),
            currency: r.currency,
            property_description: r.property_description,
            voucher_id: r.voucher_id,
            root_voucher_id: r.root_voucher_id,
            trade_contract_ref: r.trade_contract_ref,
            invoices: r
                .invoices
                .iter()
                .map(|i| RegistrationInvoiceNode { number: i.number.clone(), amount: to_i64(i.amount) })
                .collect(),
            financing_date: r.financing_date.to_string(),
            due_date: r.due_date.to_string(),
            discount_rate_bp: r.discount_rate_bp.map(|b| i32::try_from(b).unwrap_or(i32::MAX)),
            day_count: r.day_count,
            days: i32::try_from(r.days).unwrap_or(i32::MAX),
            discount_interest: r.discount_interest.map(to_i64),
            height: to_i64(r.height),
            tx_id: r.tx_id,
            terms_access: access.to_string(),
            terms_commitment: commitment,
            json,
        })
    }
}

#[derive(InputObject, Default)]
pub struct FinancingFilter {
    /// Only applications in this state (`submitted`, `info_requested`, `approved`, ...).
    pub state: Option<String>,
    pub supplier: Option<String>,
    pub funder: Option<String>,
    pub voucher_id: Option<String>,
    /// Only applications not yet in a final state.
    #[graphql(default)]
    pub open_only: bool,
}

// ---------------------------------------------------------------------------------------------------
// Access.

/// Instances the user may see (`None` = all, for the regulator): those their organisation is a party to.
async fn instance_scope(api: &Api, user: &AuthUser) -> ApiResult<Option<Condition>> {
    if access::has_org_role(api, user, "regulator").await? {
        return Ok(None);
    }
    let sub = SqlQuery::select()
        .column(workflow_party::Column::InstanceId)
        .from(workflow_party::Entity)
        .and_where(workflow_party::Column::OrgId.eq(user.org_id.clone()))
        .to_owned();
    Ok(Some(Condition::all().add(workflow_instance::Column::Id.in_subquery(sub))))
}

async fn chain_time_ms(api: &Api) -> ApiResult<i64> {
    Ok(api.chain.tip().await?.map(|t| to_i64(t.time_ms)).unwrap_or(0))
}

#[derive(Default)]
pub struct WorkflowQuery;

/// Something an organisation should know without having to act on it.
#[derive(SimpleObject, Clone)]
#[graphql(name = "Notice")]
pub struct NoticeNode {
    /// `remind/<root>/<days>` or `<kind>/<instance>`.
    pub id: String,
    /// `MaturityReminder`, `MarginCallOpened`, `MarginCallEscalated`, `PledgeLoanOverdue`, `OverdueEscalated`.
    pub kind: String,
    /// The instance or voucher tree it is about.
    pub subject: String,
    pub message: String,
    /// Block time of the block that made it.
    pub time_ms: i64,
    pub height: i64,
}

#[Object]
impl WorkflowQuery {
    /// Notices for the caller's organisation, newest first: maturity reminders of voucher trees it owes
    /// or holds, and workflow steps it is a party of without being the one to act.
    #[graphql(complexity = "crate::schema::input::list_cost(first, child_complexity)")]
    async fn my_notices(&self, ctx: &Context<'_>, first: Option<i32>) -> async_graphql::Result<Vec<NoticeNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let rows = notice::Entity::find()
            .filter(notice::Column::OrgId.eq(user.org_id.clone()))
            .order_by_desc(notice::Column::Height)
            .order_by_asc(notice::Column::Id)
            .limit(page_size(first)?)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows
            .into_iter()
            .map(|n| NoticeNode {
                id: n.id,
                kind: n.kind,
                subject: n.subject,
                message: n.message,
                time_ms: n.time_ms,
                height: n.height,
            })
            .collect())
    }

    /// "Waiting for me": open steps the caller's organisation must take (in the role the step needs),
    /// most urgent deadline first, plus voucher trees the organisation owes that are not paid yet.
    async fn my_tasks(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<TaskNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let roles = access::org_roles(api, &user.org_id).await?;
        let now = chain_time_ms(api).await?;
        let can_act = user.role != UserRole::Viewer;
        let rows = workflow_instance::Entity::find()
            .filter(workflow_instance::Column::Terminal.eq(false))
            .filter(workflow_instance::Column::WaitingOrg.eq(user.org_id.clone()))
            .limit(MAX_LIST)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        let mut tasks = Vec::new();
        let mut escalated_roots = std::collections::BTreeSet::new();
        for r in rows {
            if r.waiting_role.as_ref().is_some_and(|role| !roles.contains(role)) {
                continue;
            }
            if r.process == "maturity" {
                escalated_roots.insert(r.id.clone());
            }
            let Some(p) = definitions::process(&r.process) else { continue };
            let party = r.waiting_party.clone().unwrap_or_default();
            let actions = p
                .transitions
                .iter()
                .filter(|t| t.from == r.state && t.actor.as_str() == party)
                .map(|t| t.call.to_string())
                .collect();
            tasks.push(TaskNode {
                instance_id: r.id.clone(),
                process: r.process.clone(),
                process_title: p.title.to_string(),
                state: r.state.clone(),
                subject: r.subject.clone(),
                party,
                actions,
                deadline_ms: r.deadline_ms,
                overdue: r.deadline_ms.is_some_and(|d| d < now),
                can_act,
                amount: opened_amount(&r.process, r.amount, &r.data, &user.org_id, &api.org_keys),
                currency: r.currency.clone(),
                instance: Some(WorkflowInstanceNode::from(r)),
            });
        }
        // Maturity: every unpaid root the organisation issued waits for it (as obligor) until paid.
        if roles.iter().any(|r| r == "core_enterprise") {
            let roots = voucher::Entity::find()
                .filter(voucher::Column::Issuer.eq(user.org_id.clone()))
                .filter(voucher::Column::ParentId.is_null())
                .filter(voucher::Column::Status.is_in(["pending", "active", "split"]))
                .limit(MAX_LIST)
                .all(&api.db)
                .await
                .map_err(ApiError::from)?;
            // A split root keeps its `split` status after the tree is paid: its clearing record says paid.
            let state = api.chain.state(None).map_err(ApiError::from)?;
            for v in roots {
                if escalated_roots.contains(&v.id) {
                    continue;
                }
                let paid = scf_domain::voucher::load_clearing(state.as_ref(), &v.id)
                    .map_err(|e| ApiError::internal("clearing", e))?
                    .is_some();
                if paid {
                    continue;
                }
                let deadline = Date::parse(&v.due_date).map(|d| to_i64(dwf::end_of_day_ms(d)));
                tasks.push(TaskNode {
                    instance_id: v.id.clone(),
                    process: definitions::MATURITY.id.to_string(),
                    process_title: definitions::MATURITY.title.to_string(),
                    state: "outstanding".into(),
                    subject: v.id.clone(),
                    party: Party::Obligor.as_str().into(),
                    actions: vec!["voucher.RecordPayment".into()],
                    deadline_ms: deadline,
                    overdue: deadline.is_some_and(|d| d < now),
                    can_act,
                    amount: Some(v.amount),
                    currency: v.currency.clone(),
                    instance: None,
                });
            }
        }
        tasks.sort_by(|a, b| {
            (a.deadline_ms.unwrap_or(i64::MAX), &a.instance_id)
                .cmp(&(b.deadline_ms.unwrap_or(i64::MAX), &b.instance_id))
        });
        Ok(tasks)
    }

    /// The 中登网 registration record (动产融资统一登记公示系统, 应收账款转让) of a financed voucher, as
    /// the chain wrote it in the financing transaction: for its transferor (the seller), transferee (the
    /// funder) and obligor, and for regulators. The sealed figures (rate, interest, 主合同金额) are filled
    /// in when the caller's organisation can open them. `null` when there is no such record the
    /// caller may see (the same answer whether it does not exist or is not the caller's).
    async fn financing_registration(
        &self,
        ctx: &Context<'_>,
        voucher_id: String,
    ) -> async_graphql::Result<Option<FinancingRegistrationNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let reg = {
            let state = api.chain.state(None).map_err(ApiError::from)?;
            scf_domain::registration::load_registration(state.as_ref(), &voucher_id).map_err(ApiError::from)?
        };
        let Some(mut reg) = reg else { return Ok(None) };
        let party = [&reg.transferor.org_id, &reg.transferee.org_id, &reg.obligor.org_id]
            .into_iter()
            .any(|o| *o == user.org_id);
        if !party && !access::has_org_role(api, user, "regulator").await? {
            return Ok(None);
        }
        let access = crate::terms::open_registration(&mut reg, &user.org_id, &api.org_keys);
        Ok(Some(FinancingRegistrationNode::new(reg, access.as_str())?))
    }

    /// One instance the caller's organisation is a party to.
    async fn workflow_instance(&self, ctx: &Context<'_>, id: String) -> async_graphql::Result<WorkflowInstanceNode> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let mut q = workflow_instance::Entity::find_by_id(id.clone());
        if let Some(scope) = instance_scope(api, user).await? {
            q = q.filter(scope);
        }
        let row = q.one(&api.db).await.map_err(ApiError::from)?;
        Ok(row.map(WorkflowInstanceNode::from).ok_or_else(|| ApiError::not_found(format!("workflow instance {id}")))?)
    }

    /// The audit trail of one instance (`instanceId`) or of everything about a voucher, receipt or
    /// voucher root (`subject`), oldest first, as far as the caller's organisation is a party. The
    /// processes' own steps; with `allEvents`, also the other events of their transactions.
    async fn workflow_audit(
        &self,
        ctx: &Context<'_>,
        instance_id: Option<String>,
        subject: Option<String>,
        #[graphql(default)] all_events: bool,
    ) -> async_graphql::Result<Vec<AuditEntryNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let mut q = steps_only(workflow_audit::Entity::find(), all_events);
        match (&instance_id, &subject) {
            (Some(id), None) => {
                // A margin call's trail belongs to its pledge application too.
                q = q.filter(
                    Condition::any()
                        .add(workflow_audit::Column::InstanceId.eq(id.clone()))
                        .add(workflow_audit::Column::InstanceId.starts_with(format!("{id}#"))),
                );
            }
            (None, Some(s)) => q = q.filter(workflow_audit::Column::Subject.eq(s.clone())),
            _ => return Err(ApiError::bad_input("instanceId", "give exactly one of instanceId and subject").into()),
        }
        if !access::has_org_role(api, user, "regulator").await? {
            let sub = SqlQuery::select()
                .column(workflow_party::Column::InstanceId)
                .from(workflow_party::Entity)
                .and_where(workflow_party::Column::OrgId.eq(user.org_id.clone()))
                .to_owned();
            q = q.filter(workflow_audit::Column::InstanceId.in_subquery(sub));
        }
        let rows = q
            .order_by_asc(workflow_audit::Column::EventId)
            .limit(MAX_LIST)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        Ok(rows.into_iter().map(AuditEntryNode::from).collect())
    }

    /// Financing applications the caller's organisation is a party to (all, for the regulator),
    /// newest first. Details are read from chain state at the tip.
    async fn financing_applications(
        &self,
        ctx: &Context<'_>,
        filter: Option<FinancingFilter>,
    ) -> async_graphql::Result<Vec<FinancingApplicationNode>> {
        let api = api(ctx)?;
        let user = require_user(ctx)?;
        let f = filter.unwrap_or_default();
        let mut q = workflow_instance::Entity::find().filter(workflow_instance::Column::Process.eq("financing"));
        if let Some(scope) = instance_scope(api, user).await? {
            q = q.filter(scope);
        }
        if let Some(s) = f.state {
            if definitions::FINANCING.state(&s).is_none() {
                return Err(ApiError::bad_input("filter.state", format!("{s:?} is not a financing state")).into());
            }
            q = q.filter(workflow_instance::Column::State.eq(s));
        }
        if let Some(s) = f.supplier {
            q = q.filter(workflow_instance::Column::Applicant.eq(s));
        }
        if let Some(s) = f.funder {
            q = q.filter(workflow_instance::Column::Funder.eq(s));
        }
        if let Some(s) = f.voucher_id {
            q = q.filter(workflow_instance::Column::Subject.eq(s));
        }
        if f.open_only {
            q = q.filter(workflow_instance::Column::Terminal.eq(false));
        }
        let rows = q
            .order_by_desc(workflow_instance::Column::CreatedHeight)
            .order_by_asc(workflow_instance::Column::Id)
            .limit(MAX_LIST)
            .all(&api.db)
            .await
            .map_err(ApiError::from)?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            match serde_json::from_str::<dwf::FinancingApplication>(&r.data) {
                Ok(a) => out.push(FinancingApplicationNode::read(a, &user.org_id, &api.org_keys)),
                Err(e) => return Err(ApiError::internal("financing application row", e).into()),
            }
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------------------------------------------
// Mutations.

#[derive(InputObject, Clone)]
pub struct DocumentInput {
    pub name: String,
    /// SM3 of the document's bytes, 64 lower-case hex digits.
    pub sm3: String,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum IotStatusInput {
    Normal,
    Alert,
}

#[derive(InputObject, Clone)]
pub struct IotSnapshotInput {
    pub status: IotStatusInput,
    #[graphql(default)]
    pub devices: Vec<String>,
    /// Time of the latest reading considered, ms since the epoch.
    pub observed_ms: i64,
    #[graphql(default)]
    pub summary: String,
}

impl IotSnapshotInput {
    fn into_domain(self) -> ApiResult<IotSnapshot> {
        Ok(IotSnapshot {
            status: match self.status {
                IotStatusInput::Normal => IotStatus::Normal,
                IotStatusInput::Alert => IotStatus::Alert,
            },
            devices: self.devices,
            observed_ms: non_negative("iot.observedMs", self.observed_ms)?,
            summary: self.summary,
        })
    }
}

#[derive(InputObject)]
pub struct ApplyFinancingInput {
    /// New application id (A-Z 0-9 - _).
    pub application_id: String,
    pub voucher_id: String,
    pub funder: String,
    /// Highest annual discount rate accepted, basis points.
    pub requested_rate_bp: i32,
    #[graphql(default)]
    pub documents: Vec<DocumentInput>,
}

#[derive(InputObject)]
pub struct ApplyPledgeInput {
    pub application_id: String,
    pub receipt: String,
    pub funder: String,
    /// Fen.
    pub requested_amount: i64,
    #[graphql(default = "CNY")]
    pub currency: String,
    #[graphql(default)]
    pub documents: Vec<DocumentInput>,
}

fn documents(field: &str, d: Vec<DocumentInput>) -> ApiResult<Vec<Document>> {
    if d.len() > dwf::MAX_DOCUMENTS {
        return Err(ApiError::bad_input(field, format!("at most {} documents", dwf::MAX_DOCUMENTS)));
    }
    Ok(d.into_iter().map(|d| Document { name: d.name, sm3: d.sm3 }).collect())
}

/// The organisation a party of `row` is.
fn party_org(row: &workflow_instance::Model, party: Party) -> Option<&str> {
    match party {
        Party::Supplier | Party::Depositor => Some(row.applicant.as_str()),
        Party::Funder => row.funder.as_deref(),
        Party::Warehouse => row.warehouse.as_deref(),
        Party::Obligor => row.obligor.as_deref(),
        Party::Regulator | Party::AnyMember => None,
    }
}

/// Which party makes `call` on `row` now: from the instance's own process and state if the table lists
/// the call there, else from the first process that declares the call (margin calls on a pledge).
fn step_party(row: &workflow_instance::Model, call: &str) -> Option<Party> {
    let own = definitions::process(&row.process).and_then(|p| p.transition(&row.state, call)).map(|t| t.actor);
    own.or_else(|| {
        definitions::PROCESSES.iter().flat_map(|p| p.transitions.iter()).find(|t| t.call == call).map(|t| t.actor)
    })
}

/// API-side check of a step before anything is signed: a signed-in non-viewer whose organisation is
/// the party the process table names for `call` on the instance (and holds the party's role). An
/// instance the read model does not know is left to the chain (NOT_FOUND or the rule that applies).
async fn require_step(api: &Api, user: &AuthUser, instance_id: &str, call: &str) -> ApiResult<()> {
    let Some(row) = workflow_instance::Entity::find_by_id(instance_id.to_string()).one(&api.db).await? else {
        return Ok(());
    };
    let Some(party) = step_party(&row, call) else { return Ok(()) };
    if let Some(role) = party.role() {
        if !access::has_org_role(api, user, role.as_str()).await? {
            return Err(ApiError::forbidden(format!(
                "{call} is made by the {}; organisation {} does not have the {} role",
                party.as_str(),
                user.org_id,
                role.as_str()
            )));
        }
    }
    match party_org(&row, party) {
        Some(org) if org != user.org_id => Err(ApiError::forbidden(format!(
            "{call} on {instance_id} is made by the {} ({org}), not {}",
            party.as_str(),
            user.org_id
        ))),
        _ => Ok(()),
    }
}

/// API-side checks of a call before anything is signed: applying for financing needs the supplier
/// role and the voucher (as far as the read model knows); every other step is made by the party the
/// process table names for it.
async fn check_step(api: &Api, user: &AuthUser, call: &WorkflowCall) -> ApiResult<()> {
    if let WorkflowCall::ApplyPledge { .. } = call {
        // A new instance: the chain checks the holder, the receipt and the funder.
        return Ok(());
    }
    if let WorkflowCall::ApplyFinancing { voucher_id, .. } = call {
        require_org_role(api, user, "supplier").await?;
        if let Some(v) = voucher::Entity::find_by_id(voucher_id.clone()).one(&api.db).await? {
            if v.holder != user.org_id {
                return Err(ApiError::forbidden(format!(
                    "organisation {} does not hold voucher {voucher_id}",
                    user.org_id
                )));
            }
        }
        return Ok(());
    }
    require_step(api, user, call.instance_id(), call.step_name()).await
}

/// Every workflow mutation: check the step, then sign and commit the call.
async fn step(ctx: &Context<'_>, call: WorkflowCall) -> async_graphql::Result<TxResult> {
    let api = api(ctx)?;
    let user = require_operator(ctx)?;
    check_step(api, user, &call).await?;
    // Rates and amounts travel sealed (crate::terms): the clear call was built and checked, now seal it.
    let today = crate::terms::chain_today(api).await?;
    let call = {
        let state = api.chain.state(None).map_err(ApiError::from)?;
        crate::terms::seal_workflow_call(state.as_ref(), &user.org_id, &api.org_keys, today, call)?
    };
    let receipt = api.submit(user, &call).await?;
    // Applying for financing offers the voucher to the funder: give it a key to the backing invoices'
    // sealed lines, as `offerFinancing` does.
    if let WorkflowCall::ApplyFinancing { voucher_id, funder, .. }
    | WorkflowCall::ApplyFinancingSealed { voucher_id, funder, .. } = &call
    {
        super::mutation::grant_funder(ctx, voucher_id, funder).await;
    }
    Ok(TxResult { receipt })
}

/// The workflow mutations as a table: each line names the mutation, its arguments and the
/// `WorkflowCall` it makes; [`step`] does the rest.
macro_rules! workflow_mutations {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($($(#[$arg_attr:meta])* $arg:ident: $ty:ty),*) => $variant:ident { $($body:tt)* };
    )*) => {
        #[derive(Default)]
        pub struct WorkflowMutation;

        #[Object]
        impl WorkflowMutation {
            $(
                $(#[doc = $doc])*
                async fn $name(
                    &self,
                    ctx: &Context<'_>,
                    $($(#[$arg_attr])* $arg: $ty),*
                ) -> async_graphql::Result<TxResult> {
                    step(ctx, WorkflowCall::$variant { $($body)* }).await
                }
            )*
        }
    };
}

workflow_mutations! {
    /// Supplier (holder of the voucher) applies to an approved funder for financing; the voucher is
    /// reserved by a financing offer at the requested rate.
    apply_for_financing(input: ApplyFinancingInput) => ApplyFinancing {
        requested_rate_bp: non_negative_u32("input.requestedRateBp", input.requested_rate_bp)?,
        documents: documents("input.documents", input.documents)?,
        application_id: input.application_id,
        voucher_id: input.voucher_id,
        funder: input.funder,
    };
    /// Funder asks the supplier for more information.
    request_financing_info(application_id: String, question: String) => RequestInfo { application_id, question };
    /// Supplier answers the funder's open question.
    provide_financing_info(application_id: String, answer: String, #[graphql(default)] documents: Vec<DocumentInput>)
        => ProvideInfo { application_id, answer, documents: self::documents("documents", documents)? };
    /// Funder runs 查验 on every backing invoice and records the result.
    check_financing_invoices(application_id: String) => CheckInvoices { application_id };
    /// Funder approves at a rate no higher than requested; the voucher is financed in this transaction.
    approve_financing(application_id: String, discount_rate_bp: i32, agreement_ref: String) => ApproveFinancing {
        application_id,
        discount_rate_bp: non_negative_u32("discountRateBp", discount_rate_bp)?,
        agreement_ref,
    };
    /// Funder rejects the application.
    reject_financing(application_id: String, reason: String) => RejectFinancing { application_id, reason };
    /// Supplier withdraws its own application; the voucher's reservation is released.
    withdraw_financing(application_id: String, reason: String) => WithdrawFinancing { application_id, reason };
    /// Funder records paying the net amount (the payment itself happens off chain).
    record_disbursement(application_id: String, payment_ref: String, amount: i64) => RecordDisbursement {
        application_id,
        payment_ref,
        amount: fen("amount", amount)?,
    };
    /// Supplier confirms the money arrived.
    confirm_financing_receipt(application_id: String) => ConfirmReceipt { application_id };
    /// Receipt holder applies to a funder for a loan against a warehouse receipt (仓单质押).
    apply_for_pledge(input: ApplyPledgeInput) => ApplyPledge {
        requested_amount: fen("input.requestedAmount", input.requested_amount)?,
        documents: documents("input.documents", input.documents)?,
        application_id: input.application_id,
        receipt: input.receipt,
        funder: input.funder,
        currency: input.currency,
    };
    /// The receipt's warehouse operator confirms the goods, their value and their IoT status.
    confirm_pledge_goods(application_id: String, goods_value: i64, iot: IotSnapshotInput) => ConfirmGoods {
        application_id,
        goods_value: fen("goodsValue", goods_value)?,
        iot: iot.into_domain()?,
    };
    /// Warehouse (before confirming the goods) or funder (after) refuses the pledge.
    reject_pledge(application_id: String, reason: String) => RejectPledge { application_id, reason };
    /// Depositor withdraws its pledge application before the funder approves.
    withdraw_pledge(application_id: String, reason: String) => WithdrawPledge { application_id, reason };
    /// Funder approves the loan (≤ pledge rate × goods value); the receipt is pledged in this transaction.
    approve_pledge(application_id: String, loan_amount: i64, pledge_rate_bp: i32, due: String, agreement_ref: String)
        => ApprovePledge {
            application_id,
            loan_amount: fen("loanAmount", loan_amount)?,
            pledge_rate_bp: non_negative_u32("pledgeRateBp", pledge_rate_bp)?,
            due: date("due", &due)?,
            agreement_ref,
        };
    /// Depositor records repaying the loan.
    record_pledge_repayment(application_id: String, payment_ref: String) => RecordRepayment {
        application_id,
        payment_ref,
    };
    /// Funder releases the pledge after repayment.
    release_pledge(application_id: String) => ReleasePledge { application_id };
    /// Any member opens a margin call once the pledged receipt is flagged by an IoT alert.
    open_margin_call(application_id: String, reason: String) => OpenMarginCall { application_id, reason };
    /// Funder records how the margin call was settled.
    resolve_margin_call(application_id: String, resolution: String) => ResolveMarginCall { application_id, resolution };
    /// Any member escalates an unpaid voucher tree after its due date (once per tree).
    escalate_overdue(root_id: String) => EscalateOverdue { root_id };
    /// Any member applies a passed deadline: of the instance's current step, or of margin call
    /// `marginCallSeq`. Refused unless the deadline has passed and the step is still pending.
    expire_workflow_deadline(application_id: String, margin_call_seq: Option<i32>) => Expire {
        application_id,
        deadline: match margin_call_seq {
            None => DeadlineKind::Step,
            Some(s) => DeadlineKind::MarginCall { seq: non_negative_u32("marginCallSeq", s)? },
        },
    };
}

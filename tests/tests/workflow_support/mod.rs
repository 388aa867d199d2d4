//! Shared set-up of the workflow end-to-end tests: a consortium on a real chain (RocksDB, signed
//! transactions, controllable block date) and a timer service on its own redb file that can be stopped
//! and restarted like a process.

#![allow(dead_code)]

use std::path::PathBuf;

use scf_domain::date::Date;
use scf_domain::invoice::{InvoiceCall, NewInvoice};
use scf_domain::org::Role;
use scf_domain::voucher::VoucherCall;
use scf_domain::workflow::{self, Instance, WorkflowCall};
use scf_graphql::db::entities::{notice, workflow_audit, workflow_instance};
use scf_ledger::crypto::KeyPair;
use scf_ledger::receipt::Receipt;
use scf_tests::{org_key, TestChain};
use scf_workflows::{PollReport, TimerService, WorkflowStore};

pub const ORGS: &[(&str, &[Role])] = &[
    ("CORE", &[Role::CoreEnterprise]),
    ("S1", &[Role::Supplier]),
    ("S2", &[Role::Supplier]),
    ("BANK", &[Role::Funder]),
    ("WH", &[Role::WarehouseOperator]),
    ("DEP", &[Role::Supplier]),
    ("REG", &[Role::Regulator]),
    ("OPS", &[Role::Logistics]),
];

pub fn key(org: &str) -> KeyPair {
    org_key(org)
}

pub fn date(s: &str) -> Date {
    Date::parse(s).expect("date")
}

pub fn invoice(number: &str, seller: &str, buyer: &str, amount: u64, day: &str) -> NewInvoice {
    scf_tests::sample_invoice(number, seller, buyer, amount, day)
}

/// CORE issues voucher `no` (backed by a fresh invoice from S1) to S1, who signs for it.
pub fn signed_voucher(chain: &mut TestChain, no: &str, inv: &str, amount: u64, due: &str) {
    let today = chain_date(chain);
    chain.ok(&key("S1"), &InvoiceCall::Issue(invoice(inv, "S1", "CORE", amount, &today)));
    chain.ok(
        &key("CORE"),
        &VoucherCall::Issue {
            voucher_no: no.into(),
            to: "S1".into(),
            amount,
            currency: "CNY".into(),
            due_date: date(due),
            contract_ref: "HT-2026-001".into(),
            invoices: vec![inv.into()],
            allow_over_six_months: false,
        },
    );
    chain.ok(&key("S1"), &VoucherCall::SignFor { voucher_id: no.into() });
}

/// The business date of the next block.
pub fn chain_date(chain: &TestChain) -> String {
    Date::from_time_ms(chain.tip().time_ms).to_string()
}

pub fn wf(chain: &mut TestChain, org: &str, call: WorkflowCall) -> Receipt {
    chain.ok(&key(org), &call)
}

pub fn wf_refused(chain: &mut TestChain, org: &str, call: WorkflowCall) -> String {
    chain.refused(&key(org), &call)
}

pub fn instance(chain: &TestChain, id: &str) -> Instance {
    workflow::load_instance(&chain.state(), id).expect("read").unwrap_or_else(|| panic!("no instance {id}"))
}

pub fn state_of(chain: &TestChain, id: &str) -> String {
    match instance(chain, id) {
        Instance::Financing(a) => a.state,
        Instance::Pledge(a) => a.state,
    }
}

/// Runs a future of the timer service (the in-process chain answers at once: no IO to wait for).
pub fn run<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime").block_on(f)
}

/// A timer service "process": its database file survives `restart`.
pub struct Timer {
    pub path: PathBuf,
    service: Option<TimerService>,
    signer: String,
}

impl Timer {
    pub fn start(path: PathBuf, signer: &str) -> Timer {
        let store = WorkflowStore::open(&path).expect("open schedule");
        Timer { path, service: Some(TimerService::new(store, key(signer))), signer: signer.into() }
    }

    pub fn service(&self) -> &TimerService {
        self.service.as_ref().expect("service running")
    }

    pub fn store(&self) -> &WorkflowStore {
        self.service().store()
    }

    /// Run the service until it has nothing more to do: each pass catches up with the chain and fires
    /// what is due; whatever it submitted is committed in the next block. Returns the ids of the tasks
    /// fired and the receipts of the blocks made for them.
    pub fn poll(&mut self, chain: &mut TestChain) -> (Vec<String>, Vec<Receipt>) {
        let mut fired = Vec::new();
        let mut receipts = Vec::new();
        for _ in 0..10 {
            let service = self.service.as_mut().expect("service running");
            let report: PollReport = run(service.poll(&chain.chain)).expect("poll");
            fired.extend(report.fired);
            match chain.chain.produce().expect("block") {
                None => return (fired, receipts),
                Some(block) => receipts.extend(block.receipts.iter().cloned()),
            }
        }
        panic!("timer service did not settle");
    }

    /// Stop the process (dropping its database handle).
    pub fn stop(&mut self) {
        self.service = None;
    }

    /// Start again on the same database file.
    pub fn restart(&mut self) {
        self.service = None;
        let store = WorkflowStore::open(&self.path).expect("reopen schedule");
        self.service = Some(TimerService::new(store, key(&self.signer)));
    }
}

/// What users read about the processes: the API's SQL read model (SQLite), indexed from the test chain
/// by the API's own indexer, caught up before every read.
pub struct ReadModel {
    rt: tokio::runtime::Runtime,
    indexer: std::sync::Arc<scf_graphql::indexer::Indexer>,
    db: sea_orm::DatabaseConnection,
    _dir: tempfile::TempDir,
}

impl ReadModel {
    pub fn new(chain: &TestChain) -> ReadModel {
        let dir = tempfile::tempdir().expect("tempdir");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("read.sqlite").display());
        let chain: std::sync::Arc<dyn scf_client::Chain> = std::sync::Arc::new(chain.chain.clone());
        let (db, indexer) = rt.block_on(async {
            let db = scf_graphql::db::connect(&url).await.expect("read model");
            let indexer = scf_graphql::indexer::Indexer::new(db.clone(), chain).await.expect("indexer");
            (db, indexer)
        });
        ReadModel { rt, indexer, db, _dir: dir }
    }

    fn sync(&self) {
        self.rt.block_on(self.indexer.catch_up()).expect("index");
    }

    /// Open instances waiting for `org`, most urgent deadline first (no deadline last).
    pub fn inbox_for_org(&self, org: &str) -> Vec<workflow_instance::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
        self.sync();
        let mut rows = self
            .rt
            .block_on(
                workflow_instance::Entity::find()
                    .filter(workflow_instance::Column::Terminal.eq(false))
                    .filter(workflow_instance::Column::WaitingOrg.eq(org))
                    .all(&self.db),
            )
            .expect("inbox");
        rows.sort_by_key(|i| (i.deadline_ms.unwrap_or(i64::MAX), i.id.clone()));
        rows
    }

    /// Open instances waiting for `org` acting in `role`.
    pub fn inbox_for_role(&self, org: &str, role: &str) -> Vec<workflow_instance::Model> {
        self.inbox_for_org(org).into_iter().filter(|i| i.waiting_role.as_deref().is_none_or(|r| r == role)).collect()
    }

    /// Open instances waiting for the organisation of the account `address`, in the roles it holds.
    pub fn inbox_for_user(
        &self,
        state: &dyn scf_ledger::state::StateRead,
        address: &scf_ledger::crypto::Address,
    ) -> Vec<workflow_instance::Model> {
        let Ok((_, o)) = scf_domain::org::signer(state, address) else { return Vec::new() };
        self.inbox_for_org(&o.id)
            .into_iter()
            .filter(|i| i.waiting_role.as_deref().is_none_or(|r| o.roles.iter().any(|x| x.as_str() == r)))
            .collect()
    }

    pub fn instance(&self, id: &str) -> Option<workflow_instance::Model> {
        use sea_orm::EntityTrait;
        self.sync();
        self.rt.block_on(workflow_instance::Entity::find_by_id(id.to_string()).one(&self.db)).expect("instance")
    }

    /// The audit trail of an instance, in chain order.
    pub fn audit_trail(&self, id: &str) -> Vec<workflow_audit::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        self.sync();
        self.rt
            .block_on(
                workflow_audit::Entity::find()
                    .filter(workflow_audit::Column::InstanceId.eq(id))
                    .order_by_asc(workflow_audit::Column::EventId)
                    .all(&self.db),
            )
            .expect("audit")
    }

    /// Notices for an organisation, oldest first.
    pub fn notices(&self, org: &str) -> Vec<notice::Model> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
        self.sync();
        self.rt
            .block_on(
                notice::Entity::find()
                    .filter(notice::Column::OrgId.eq(org))
                    .order_by_asc(notice::Column::Height)
                    .order_by_asc(notice::Column::Id)
                    .all(&self.db),
            )
            .expect("notices")
    }
}

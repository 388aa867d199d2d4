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

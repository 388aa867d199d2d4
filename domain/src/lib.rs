//! `scf-domain`: the business rules of supply-chain finance and traceability, as pure deterministic
//! modules the chain executes.
//!
//! Architecture invariant: this crate knows nothing about RocksDB, MQTT, HTTP, clocks or randomness, and
//! uses no floats. Every operation sees a [`scf_ledger::state::StateWrite`] and a
//! [`scf_ledger::module::TxContext`] (block height and time, signer) and either returns events or a typed
//! error whose `code()` names the rule it broke.
#![forbid(unsafe_code)]

pub mod confidential;
pub mod date;
pub mod device;
pub mod governance;
pub mod invoice;
pub mod keys;
pub mod kv;
pub mod money;
pub mod org;
pub mod org_ca;
pub mod provenance;
pub mod registration;
pub mod terms;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod ubl;
pub mod voucher;
pub mod warehouse;
pub mod workflow;

use std::sync::Arc;

use scf_ledger::module::ModuleRegistry;

/// Every domain module, ready to register with the executor, and the chain's admission rule: only
/// members' active accounts (and validators) may send transactions.
pub fn modules() -> ModuleRegistry {
    ModuleRegistry::new()
        .with_sender_policy(Arc::new(org::MemberAccounts))
        .with(Arc::new(org::OrgModule))
        .with(Arc::new(confidential::ConfidentialModule))
        .with(Arc::new(governance::GovernanceModule))
        .with(Arc::new(keys::KeysModule))
        .with(Arc::new(voucher::VoucherModule))
        .with(Arc::new(invoice::InvoiceModule))
        .with(Arc::new(warehouse::WarehouseModule))
        .with(Arc::new(provenance::ProvenanceModule))
        .with(Arc::new(workflow::WorkflowModule))
        .with(Arc::new(device::DeviceModule))
}

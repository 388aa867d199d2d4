//! `scf-workflows`: the off-chain half of the multi-party financing processes.
//!
//! The processes themselves (states, transitions, who acts, deadlines) are declared in
//! [`scf_domain::workflow::definitions`] and enforced on chain by the `workflow` module. This crate
//! runs what cannot live on chain: the timers — driven by committed block time, kept in a durable
//! schedule, fired once — and the read side the GraphQL API calls: task inboxes ("waiting for me"),
//! notices and audit trails, plus the Mermaid diagrams in `docs/workflows.md`.
//!
//! Architecture invariant: nothing here decides a business rule; a timer only submits a call the
//! chain accepts once. Nothing here knows HTTP.

pub mod diagram;
mod inbox;
pub mod service;
pub mod store;

pub use service::{PollReport, TimerService};
pub use store::{Action, AuditEntry, InstanceView, Notice, Task, TaskState, WorkflowStore, WorkflowsError};

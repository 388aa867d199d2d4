//! `scf-workflows`: the off-chain half of the multi-party financing processes.
//!
//! The processes themselves (states, transitions, who acts, deadlines) are declared in
//! [`scf_domain::workflow::definitions`] and enforced on chain by the `workflow` module. This crate
//! runs what cannot live on chain: the timers — driven by committed block time, kept in a durable
//! schedule, fired once — plus the Mermaid diagrams in `docs/workflows.md`. What users read about the
//! processes (inboxes, audit trails, notices) is the API's SQL read model, derived from the same blocks.
//!
//! Architecture invariant: nothing here decides a business rule; a timer only submits a call the
//! chain accepts once. It reaches the chain through `scf_client::Chain`. Nothing here knows HTTP.

pub mod diagram;
pub mod service;
pub mod store;

pub use service::{PollReport, TimerService};
pub use store::{Action, Task, TaskState, WorkflowStore, WorkflowsError};

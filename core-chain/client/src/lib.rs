//! `scf-client`: the one port to the chain. Every service that runs beside a node — the GraphQL API,
//! the workflow timers, the IoT ingestion service, the `scf` binary's tools — reaches the chain through
//! the [`Chain`] trait and nothing else:
//! - [`Chain`]: submit a signed transaction and wait for its receipt, the tip, committed blocks with
//!   their receipts, state and proofs at a height, and a stream of committed blocks ([`Follower`]);
//! - [`ChainError`]: the one error those calls return;
//! - [`Signer`]: signs typed calls ([`scf_ledger::module::ModuleCall`]: the module's name comes from
//!   the call's type) and owns the account's nonce;
//! - three implementations: the node itself (in `scf-node`, for services in the node's process),
//!   [`HttpChain`] (a node's HTTP client API, typed in [`NodeClient`]), and [`InProcessChain`] (the
//!   real executor over a [`scf_ledger::block_store::BlockStore`], for tests and tools).
//!
//! Architecture invariant: this crate depends on the ledger only. It knows no business module, no
//! RocksDB, no consensus.

pub mod batch;
pub mod chain;
pub mod error;
pub mod http;
pub mod in_process;
pub mod signer;
pub mod wire;

pub use chain::{block_on, load, now_ms, Chain, CommittedBlock, Follower, RemoteState};
pub use error::{ChainError, Rejection};
pub use http::{HttpChain, NodeClient};
pub use in_process::{InProcessChain, Production};
pub use signer::{committed_nonce, Signer, Signers};

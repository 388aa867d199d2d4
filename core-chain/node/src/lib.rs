//! `scf-node`: one member of the consortium network.
//!
//! Ordering is Malachite's Tendermint (`arc-malachitebft-app-channel` 0.8.2) over its libp2p network,
//! with SM2 as the signing scheme for proposals, votes and validator proofs ([`signing`]). This crate is
//! the *application* Malachite drives ([`app`]): it builds blocks from a fair, admission-checked
//! [`mempool`], re-executes peers' blocks through the ledger's executor, and stores each decided block
//! with its commit certificate (2f+1 SM2 precommits) that [`certificate::verify_certificate`] checks
//! offline. Nodes that were down, and observers, catch up through Malachite's value sync.
//!
//! Around it: the TOML [`config`], key files and validator bundles ([`keys`]), genesis building and
//! local clusters ([`cli`]), transaction gossip over its own libp2p swarm ([`gossip`]), the HTTP client API ([`api`]: plain on loopback, and over mutual 国密 TLS for other machines in [`https`]), the in-process
//! [`NodeHandle`] used by `scf demo`, and `scf bench chain` ([`bench`]).
//!
//! Architecture invariant: nothing here decides — consensus is Malachite's; business rules are the
//! domain modules run by `scf-ledger`'s executor. This crate only wires them and stores results.

pub mod api;
pub(crate) mod app;
pub mod certificate;
pub mod chain;
pub mod chain_trust;
pub mod cli;
pub mod codec;
pub mod config;
pub mod context;
pub mod gossip;
pub mod https;
pub mod keys;
pub mod kv_module;
pub mod mempool;
pub mod node;
pub mod p2p_tls;
pub mod port;
pub mod signing;

pub use app::ProduceConfig;
pub use certificate::{verify_certificate, CertificateCheck, CertificateError};
pub use chain::{Chain, CommittedBlock, TxStatus, WaitError};
pub use config::NodeConfig;
pub use mempool::{MempoolConfig, SubmitError};
pub use node::{NodeError, NodeHandle};

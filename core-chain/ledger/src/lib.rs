//! `scf-ledger`: the ledger half of the chain — what transactions, blocks and state are, how they are
//! signed (SM2), hashed (SM3), encrypted at rest (SM4-GCM), executed through domain [`module::Module`]s
//! and proven (SM3 Merkle proofs for transactions, sparse Merkle proofs for state).
//!
//! No IO lives here: storage (RocksDB) is `scf-store`, consensus and networking sit above. Anything a
//! light client needs to check a fact offline is in this crate.

pub mod authenticated;
pub mod block;
pub mod block_store;
pub mod codec;
pub mod confidential;
pub mod crypto;
pub mod executor;
pub mod genesis;
pub mod merkle;
pub mod module;
pub mod org_ca;
pub mod receipt;
pub mod state;
pub mod tx;
pub mod validators;

pub use crypto::{Address, Hash32, KeyPair, PublicKey, Signature};

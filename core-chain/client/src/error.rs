//! The one error every chain call returns. A business-rule refusal is *not* an error here: it is a
//! committed receipt with a failed outcome.

use std::time::Duration;

use scf_ledger::executor::TxRejection;
use serde::{Deserialize, Serialize};

/// Why a transaction was not admitted: a stable machine-readable `kind` (the node API's error kinds:
/// `nonce_used`, `nonce_gap`, `bad_signature`, `mempool_full`, …), a message naming the field and the
/// reason, and whether the same bytes may be accepted later (back-pressure rather than a bad
/// transaction).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejection {
    pub kind: String,
    pub message: String,
    #[serde(default)]
    pub retryable: bool,
}

impl Rejection {
    pub fn new(kind: impl Into<String>, message: impl Into<String>, retryable: bool) -> Rejection {
        Rejection { kind: kind.into(), message: message.into(), retryable }
    }

    /// Whether the refusal is about the nonce (another client used the account, or a transaction of
    /// ours left the mempool): re-reading the account's nonce and signing again may succeed.
    pub fn is_nonce(&self) -> bool {
        matches!(self.kind.as_str(), "nonce_used" | "nonce_gap" | "nonce_taken")
    }
}

impl From<TxRejection> for Rejection {
    fn from(r: TxRejection) -> Rejection {
        Rejection { kind: r.kind().to_string(), message: r.to_string(), retryable: false }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The transaction is not admissible (signature, nonce, expiry, size, module, mempool policy);
    /// nothing was committed.
    #[error("transaction rejected: {0}")]
    Rejected(Rejection),
    /// The transaction was not committed within the caller's deadline (it may still be later).
    #[error("no receipt within {0:?}")]
    Timeout(Duration),
    /// The transaction left the mempool without being committed (expired or evicted).
    #[error("transaction {0} left the mempool uncommitted")]
    Dropped(String),
    /// The chain is shutting down, unreachable, or its block producer stopped.
    #[error("chain unavailable: {0}")]
    Unavailable(String),
    /// Storage failure below the chain.
    #[error("chain storage: {0}")]
    Storage(String),
    /// What was asked for does not exist there (a block above the tip, an unknown transaction).
    #[error("not found: {0}")]
    NotFound(String),
    /// The chain answered something this client cannot read.
    #[error("chain answered something unexpected: {0}")]
    Protocol(String),
}

impl ChainError {
    pub(crate) fn storage(e: impl std::fmt::Display) -> ChainError {
        ChainError::Storage(e.to_string())
    }
}

impl From<scf_ledger::executor::DryRunError> for ChainError {
    fn from(e: scf_ledger::executor::DryRunError) -> ChainError {
        match e {
            scf_ledger::executor::DryRunError::Rejected(r) => r.into(),
            scf_ledger::executor::DryRunError::State(e) => ChainError::Storage(e.to_string()),
        }
    }
}

impl From<TxRejection> for ChainError {
    fn from(r: TxRejection) -> ChainError {
        ChainError::Rejected(r.into())
    }
}

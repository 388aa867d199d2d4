//! The API's shared state and the one path every write takes: build a transaction for the caller,
//! sign it with their custodial key (or accept a client-signed one), submit it, wait for the receipt
//! and for the indexer to reach its block, so the caller reads its own write.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use scf_ledger::crypto::{Address, KeyPair};
use scf_ledger::executor::account_nonce;
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::tx::{Call, SignedTx, TxBody};
use sea_orm::DatabaseConnection;

use crate::auth::{self, AuthUser, UserRole};
use crate::chain::Chain;
use crate::error::{ApiError, ApiResult};
use crate::indexer::Indexer;

/// How far ahead of the tip a custodial transaction may be included.
const EXPIRY_WINDOW: u64 = 100;

pub struct Api {
    pub db: DatabaseConnection,
    pub chain: Arc<dyn Chain>,
    pub indexer: Arc<Indexer>,
    node_key: [u8; 16],
    pub tx_timeout: Duration,
    /// One lock per signing account: nonces are read and used under it, so two concurrent mutations
    /// of one user never pick the same nonce.
    account_locks: Mutex<HashMap<Address, Arc<tokio::sync::Mutex<()>>>>,
}

impl Api {
    pub fn new(
        db: DatabaseConnection,
        chain: Arc<dyn Chain>,
        indexer: Arc<Indexer>,
        node_key: [u8; 16],
        tx_timeout: Duration,
    ) -> Api {
        Api { db, chain, indexer, node_key, tx_timeout, account_locks: Mutex::new(HashMap::new()) }
    }

    pub fn node_key(&self) -> &[u8; 16] {
        &self.node_key
    }

    fn account_lock(&self, addr: Address) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.account_locks.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(addr).or_default().clone()
    }

    /// Sign `payload` for `module` with the user's custodial key and commit it.
    pub async fn submit_as(&self, user: &AuthUser, module: &str, payload: Vec<u8>) -> ApiResult<Receipt> {
        if user.role == UserRole::Viewer {
            return Err(ApiError::forbidden("viewers cannot submit transactions"));
        }
        let row = auth::user_row(&self.db, &user.id).await?;
        let key = auth::open_key(&self.node_key, &row)?;
        self.submit_with_key(&key, module, payload).await
    }

    /// Sign with a key the service holds (the user's custodial key) and commit.
    pub async fn submit_with_key(&self, key: &KeyPair, module: &str, payload: Vec<u8>) -> ApiResult<Receipt> {
        let lock = self.account_lock(key.address());
        let _guard = lock.lock().await;
        let (nonce, height) = {
            let tip = self.chain.tip()?.ok_or_else(|| ApiError::internal("chain", "no genesis"))?;
            let state = self.chain.state(Some(tip.height))?;
            let nonce = account_nonce(state.as_ref(), &key.address()).map_err(|e| ApiError::internal("nonce", e))?;
            (nonce, tip.height)
        };
        let body = TxBody {
            chain_id: self.chain.chain_id().to_string(),
            sender: *key.public(),
            nonce,
            expiry_height: height + EXPIRY_WINDOW,
            call: Call { module: module.to_string(), payload },
        };
        self.commit(body.sign(key)).await
    }

    /// Commit a transaction signed elsewhere.
    pub async fn submit_signed(&self, tx: SignedTx) -> ApiResult<Receipt> {
        let lock = self.account_lock(tx.sender_address());
        let _guard = lock.lock().await;
        self.commit(tx).await
    }

    async fn commit(&self, tx: SignedTx) -> ApiResult<Receipt> {
        let receipt = self.chain.submit(tx, self.tx_timeout).await?;
        if !self.indexer.wait_for(receipt.height, self.tx_timeout).await {
            tracing::warn!(height = receipt.height, "read model did not reach the block in time");
        }
        match &receipt.outcome {
            TxOutcome::Success => Ok(receipt),
            TxOutcome::Failed { code, message } => Err(ApiError::from_rule(code, message)),
        }
    }
}

//! The API's shared state and the one path every write takes: sign the caller's typed call with their
//! custodial key (or accept a client-signed transaction), submit it, wait for the receipt and for the
//! indexer to reach its block, so the caller reads its own write.

use std::sync::Arc;
use std::time::Duration;

use scf_client::{Chain, ChainError, Signers};
use scf_ledger::crypto::KeyPair;
use scf_ledger::module::ModuleCall;
use scf_ledger::receipt::{Receipt, TxOutcome};
use scf_ledger::tx::SignedTx;
use sea_orm::DatabaseConnection;

use crate::auth::{self, AuthUser, UserRole};
use crate::error::{ApiError, ApiResult};
use crate::indexer::Indexer;
use crate::sealing::OrgKeys;

/// How many custodial accounts keep a signer (and so a tracked nonce) at once; an idle one beyond this
/// is dropped and reads its nonce from the chain again next time.
const SIGNERS: usize = 4096;

pub struct Api {
    pub db: DatabaseConnection,
    pub chain: Arc<dyn Chain>,
    pub indexer: Arc<Indexer>,
    node_key: [u8; 16],
    pub tx_timeout: Duration,
    signers: Signers,
    /// Failed sign-ins, per account and client address.
    pub logins: auth::LoginThrottle,
    /// Organisation keys this API opens sealed invoice lines with (see [`crate::sealing`]).
    pub org_keys: OrgKeys,
    /// The certificates this member's 国密 TLS endpoints present now, for expiry warnings.
    pub tls_certificates: Option<TlsCertificates>,
    /// Sessions resolved in the last second (see [`auth::SessionCache`]).
    pub sessions: auth::SessionCache,
    /// Organisations' roles as the read model has them, each with the indexer revision it was read at
    /// (see [`crate::schema::access::org_roles`]).
    pub(crate) roles: crate::schema::access::RolesCache,
}

/// What this member's 国密 TLS endpoints present now: (endpoint name, certificate). Called at each
/// request, so a rotated certificate shows at once.
pub type TlsCertificates = Arc<dyn Fn() -> Vec<(String, scf_ca::SmCertificate)> + Send + Sync>;

impl Api {
    pub fn new(
        db: DatabaseConnection,
        chain: Arc<dyn Chain>,
        indexer: Arc<Indexer>,
        node_key: [u8; 16],
        tx_timeout: Duration,
    ) -> Api {
        Api {
            db,
            chain,
            indexer,
            node_key,
            tx_timeout,
            signers: Signers::new(SIGNERS),
            logins: Default::default(),
            org_keys: OrgKeys::default(),
            tls_certificates: None,
            sessions: Default::default(),
            roles: Default::default(),
        }
    }

    /// The organisation keys sealed invoice lines are opened with.
    pub fn with_org_keys(mut self, org_keys: OrgKeys) -> Api {
        self.org_keys = org_keys;
        self
    }

    pub fn with_tls_certificates(mut self, certificates: Option<TlsCertificates>) -> Api {
        self.tls_certificates = certificates;
        self
    }

    pub fn node_key(&self) -> &[u8; 16] {
        &self.node_key
    }

    /// Whether the user's custodial account is active on chain (not removed or frozen, its organisation
    /// not frozen): a session of a user whose account is gone is no session.
    pub fn account_active(&self, user: &AuthUser) -> bool {
        let Ok(address) = scf_ledger::crypto::Address::from_hex(&user.address) else { return false };
        match self.chain.state(None) {
            Ok(state) => scf_domain::org::signer(state.as_ref(), &address).is_ok_and(|(_, o)| o.id == user.org_id),
            Err(_) => false,
        }
    }

    /// Sign `call` with the user's custodial key and commit it. The module comes from the call's type.
    pub async fn submit<C: ModuleCall>(&self, user: &AuthUser, call: &C) -> ApiResult<Receipt> {
        if user.role == UserRole::Viewer {
            return Err(ApiError::forbidden("viewers cannot submit transactions"));
        }
        let row = auth::user_row(&self.db, &user.id).await?;
        let key = auth::open_key(&self.node_key, &row)?;
        self.submit_with_key(&key, call).await
    }

    /// Sign with a key the service holds (a custodial key) and commit. Back-pressure from the node (a
    /// full mempool, the organisation's quota, the sender's limit: retryable refusals) is waited out,
    /// with backoff, within the transaction timeout, so a user's action is not failed by a burst.
    pub async fn submit_with_key<C: ModuleCall>(&self, key: &KeyPair, call: &C) -> ApiResult<Receipt> {
        let signer = self.signers.get(key);
        let deadline = tokio::time::Instant::now() + self.tx_timeout;
        let mut pause = Duration::from_millis(50);
        let id = loop {
            match signer.submit(self.chain.as_ref(), call).await {
                Ok(id) => break id,
                Err(ChainError::Rejected(r)) if r.retryable && tokio::time::Instant::now() + pause < deadline => {
                    tracing::info!(kind = %r.kind, reason = %r.message, "node busy; submitting again shortly");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
                Err(e) => return Err(e.into()),
            }
        };
        let receipt = signer.wait(self.chain.as_ref(), &id, self.tx_timeout).await?;
        self.settle(receipt).await
    }

    /// Commit a transaction signed elsewhere.
    pub async fn submit_signed(&self, tx: SignedTx) -> ApiResult<Receipt> {
        let receipt = self.chain.submit_and_wait(tx, self.tx_timeout).await?;
        self.settle(receipt).await
    }

    /// Wait for the read model to reach the receipt's block; a refusal by a rule becomes the error.
    async fn settle(&self, receipt: Receipt) -> ApiResult<Receipt> {
        if !self.indexer.wait_for(receipt.height, self.tx_timeout).await {
            tracing::warn!(height = receipt.height, "read model did not reach the block in time");
        }
        match &receipt.outcome {
            TxOutcome::Success => Ok(receipt),
            TxOutcome::Failed { code, message } => Err(ApiError::from_rule(code, message)),
        }
    }
}
